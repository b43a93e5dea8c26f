/* tern_compile_gemm's graph and emission: one BitLinear GEMM without vector
 * ops (benchmarks and tiling tests).  int8 "a" (M x K, row stride K_pad bytes)
 * times ternary codes (K x N) into int32 "acc" (M x N, row stride N_pad*4).
 * Same tiling, chunking and double buffering as the MLP; every finished
 * column strip of ACC is stored while the next strip computes. */
#include <string.h>

#include "cc_internal.h"

int cc_pass_build_gemm(cc_ctx *c, const int8_t *codes, int K, int N, char *err, size_t errlen) {
  if (!codes || K < 1 || N < 1) {
    tern_err(err, errlen, "compile_gemm: K = %d, N = %d, codes %s; expected K, N >= 1 and codes", K,
           N, codes ? "given" : "NULL");
    return -1;
  }
  for (long i = 0; i < (long)K * N; i++)
    if (codes[i] < -1 || codes[i] > 1) {
      tern_err(err, errlen, "compile_gemm: codes[%ld] = %d, expected -1, 0 or 1", i, codes[i]);
      return -1;
    }
  c->x = cc_add_tensor(c, "a", CC_T_I8, K);
  c->y = cc_add_tensor(c, "acc", CC_T_I32, N);
  int m = cc_add_matrix(c, "w", codes, K, N);
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_LINEAR;
  o.mat = m;
  snprintf(o.name, sizeof o.name, "gemm");
  o.in[0] = c->x;
  o.nin = 1;
  o.out[0] = c->y;
  o.nout = 1;
  cc_add_op(c, &o);
  return 0;
}

int cc_pass_emit_gemm(cc_ctx *c, char *err, size_t errlen) {
  const cc_matrix *m = &c->mat[0];
  if (m->K_pad > 65535 || (long)m->N_pad * 4 > 65535) {
    tern_err(err, errlen,
           "compile_gemm: K_pad = %d bytes or N_pad*4 = %d bytes exceeds the 16-bit DRAM_STRIDE",
           m->K_pad, m->N_pad * 4);
    return -1;
  }
  c->ins.n = 0;
  cc_emit_chunk_load(c, 0, 0);
  int acc = cc_acc_addr(c, c->y);
  for (int b = 0; b < c->nblocks; b++) {
    int m0 = b * c->Mb, mb = c->M - m0 < c->Mb ? c->M - m0 : c->Mb;
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ABUF, 0, m->kt, mb, m->kt,
                c->dram_x + (uint32_t)m0 * (uint32_t)m->K_pad, m->K_pad);
    cc_emit_matrix_gemms(c, b, mb, 0, 0, acc, 1,
                         c->dram_y + (uint32_t)m0 * (uint32_t)m->N_pad * 4, m->N_pad * 4);
  }
  return 0;
}
