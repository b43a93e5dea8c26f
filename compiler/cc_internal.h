/* Internal interfaces of the compiler (all compiler passes, engineer "cc").
 * The pass list is in compiler/compile.c:
 *   build -> pad -> tile -> alloc -> emit -> sync -> validate
 * Every pass reads and extends one cc_ctx and has a printer (--dump-after). */
#ifndef TERN_CC_INTERNAL_H
#define TERN_CC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/compiler.h"
#include "tern/compiler_tfm.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/mlp.h"
#include "tern/program.h"

#define CC_VEC_FIELD_MAX 4095 /* N, ROWS, DST_RS, SRC_RS are 12-bit fields */

/* ---- graph IR ------------------------------------------------------------ */

/* Where a tensor lives. */
typedef enum cc_tkind {
  CC_T_I32 = 0,    /* int32 activations, ACC resident (Q12) */
  CC_T_I8 = 1,     /* int8 quantised activations: OUT -> DRAM scratch -> ABUF */
  CC_T_SCALAR = 2, /* one int32 per token (broadcast in all lanes of one ACC word) */
} cc_tkind;

typedef struct cc_tensor {
  char name[TERN_NAME_LEN];
  cc_tkind kind;
  int cols;     /* logical width (1 for scalars) */
  int cols_pad; /* after the pad pass */
  /* liveness (op indices, filled by alloc) */
  int first, last;
  /* alloc results */
  int words;        /* ACC words per token (I32/SCALAR), 0 for I8 */
  int tok_off;      /* per-token offset in the token area (units of Mb words) */
  uint32_t scratch; /* I8: DRAM scratch region (bytes), row stride cols_pad */
} cc_tensor;

typedef enum cc_opkind {
  CC_OP_NORM_QUANT = 0, /* steps 1-8: in x; out q (I8), T (SCALAR); temps u,S,r,A,R */
  CC_OP_QUANT = 1,      /* step 12: in h; out q (I8), A (SCALAR); temp R */
  CC_OP_LINEAR = 2,     /* step 9/13 + GEMM + step 10/14a: in q, scale; out y; temp D */
  CC_OP_ACT = 3,        /* step 11: in y; out h */
  CC_OP_ADD = 4,        /* step 14b: x += y (in place) */
  /* transformer FFN half (compiler/tfm_ffn.c, docs/NUMERICS.md L1-L3, N1-N6, F4-F6) */
  CC_OP_TNORM = 5,      /* in x; out y (I32); temps S1, mu, c (LayerNorm), S, r */
  CC_OP_FFN_ACT = 6,    /* in u[, g]; out m (I32) by ffn_type */
  /* attention (tfm_attn.c): RoPE, K/V quantisation into the cache, A7-A20 per
   * head (MAC8), LayerNorm SubLN centring; in q, k, v; out att; temps */
  CC_OP_ATTN = 7,
  /* recurrent MIX program (rnn_mix.c): one step of the RG-LRU / Conv1D / MLGRU
   * sequences, which one in cc_op.rnn */
  CC_OP_RNN = 8,
} cc_opkind;

struct tern_tfm_qnorm; /* include/tern/tfm_int.h */

#define CC_MAX_IO 8
typedef struct cc_op {
  cc_opkind kind;
  char name[TERN_NAME_LEN];
  int layer;
  int in[CC_MAX_IO], nin;   /* tensor ids */
  int out[CC_MAX_IO], nout; /* outputs then temporaries */
  int ntemp;                /* the last ntemp entries of out[] are temporaries */
  const tern_qnorm *norm;   /* NORM_QUANT */
  const tern_qlinear *lin;  /* LINEAR */
  int mat;                  /* LINEAR: matrix index */
  tern_act act;             /* ACT */
  const struct tern_tfm_qnorm *tnorm; /* TNORM (constants named "<op name>.<const>") */
  int ffn_type;             /* FFN_ACT: tern_ffn_type */
  int mask;                 /* TNORM: re-zero the padding lanes after centring (-1 = none) */
  int rnn;                  /* RNN: the step (rnn_mix.c) */
} cc_op;

/* A ternary matrix placed in DRAM as WBUF tiles ordered [n_tile][k_tile]. */
typedef struct cc_matrix {
  char name[TERN_NAME_LEN];
  const int8_t *codes; /* K x N row-major, values -1/0/1 */
  int K, N, K_pad, N_pad, kt, nt;
  uint32_t dram; /* alloc */
  int chunk0, nchunks; /* tile: chunks of this matrix in the per-block weight stream */
} cc_matrix;

/* One contiguous weight LOAD: tiles [t0, t1) of a matrix.  res = 1: the
 * tiles are WBUF-resident (cc_ctx.wres) at WBUF words [wbase, wbase + t1 - t0),
 * loaded in token block 0 only (and not at all when wres->res_loaded); res = 0:
 * streamed, sidx-th streaming chunk of a token block (alternating halves of the
 * streaming region). */
typedef struct cc_chunk {
  int mat, t0, t1;
  int res, wbase, sidx;
} cc_chunk;

/* An ACC-resident constant word (all lanes equal) or vector (gains, LUT). */
typedef struct cc_const {
  char name[TERN_NAME_LEN];
  int words;
  int32_t *lanes; /* words * cols values */
  int addr;       /* ACC word */
} cc_const;

typedef struct cc_insnbuf {
  tern_insn *v;
  size_t n, cap;
} cc_insnbuf;

typedef struct cc_ctx {
  const tern_hwcfg *cfg;
  const tern_qmlp *q; /* NULL for the GEMM-only graph */
  int M;              /* tokens */
  int unit;           /* lcm(rows, cols) */
  int is_gemm;        /* tern_compile_gemm graph */
  const int8_t *gcodes; /* tern_compile_gemm input */
  int gK, gN;
  /* IR */
  cc_tensor *t;
  int nt, capt;
  cc_op *op;
  int nop, capop;
  cc_matrix *mat;
  int nmat, capmat;
  int x;  /* residual stream tensor (MLP), or "a" (GEMM) */
  int y;  /* output tensor of the GEMM graph */
  int d, d_pad;
  /* tile */
  int Mb, nblocks;
  int chunk_tiles;
  cc_chunk *chunk; /* per-block weight stream */
  int nchunk;
  int nstream;      /* streaming (res = 0) chunks per token block */
  int total_tiles;  /* weight tiles of one token block (the canonical tile order) */
  long wl_next;     /* emit: first global stream item (blk * nchunk + g) whose LOAD is not emitted */
  int tok_words; /* peak ACC words per token (alloc, used by tile) */
  /* alloc */
  cc_const *cst;
  int ncst, capcst;
  int acc_tok_base; /* first ACC word of the token area */
  int const_words;
  uint32_t dram_const, dram_x, dram_y, dram_end;
  int wbuf_half;        /* tiles per streaming half */
  int wbuf_stream_base; /* streaming region [wbuf_stream_base, wbuf_depth) */
  /* emit */
  cc_insnbuf ins;
  /* the result */
  tern_program *prog;
  /* graphs other than the MLP (compiler/tfm_ffn.c): constant pool builder
   * called by cc_build_consts instead of the MLP's, and its private data */
  int (*consts_fn)(struct cc_ctx *c);
  const void *ext;
  /* Transformer step programs (include/tern/compiler_tfm.h), set by the
   * graph's entry point before the passes run; NULL for the MLP / GEMM / the
   * stand-alone FFN half (whose behaviour is unchanged):
   *  mem : relocation.  alloc puts x (I32, M rows, row stride mem->dim_pad*4)
   *        at mem->x_addr and the output in place on it (dram_y = dram_x), and
   *        the program's private image (constants, weights, int8 scratch) at
   *        mem->priv_base and above; d_pad must equal mem->dim_pad, M <= mem->rows.
   *  wres: WBUF residency (tile validates it against the program's tiles;
   *        emit uses resident / streaming chunks as described at cc_chunk). */
  const tern_tfm_mem *mem;
  const tern_tfm_wres *wres;
  /* split mode (cc_split_begin): the synced pieces of a program that does not
   * fit IMEM (sync -> validate) */
  cc_insnbuf *pieces;
  int npieces;
} cc_ctx;

/* Per-head width of the K/V cache and of the compiler's Q/K head layout:
 * rotate-half RoPE pairs (i, i + hd/2) sit in the same lane of different
 * words, each half padded to a multiple of C lanes (tern_tfm_mem.hd_pad). */
static inline int cc_tfm_hd_pad(int head_dim, int cols) {
  return 2 * ((head_dim / 2 + cols - 1) / cols * cols);
}

/* helpers (ir.c) */
int cc_add_tensor(cc_ctx *c, const char *name, cc_tkind kind, int cols);
int cc_add_op(cc_ctx *c, const cc_op *op);
/* set an op's inputs, outputs and how many of the outputs are temporaries */
void cc_op_io(cc_op *o, const int *in, int nin, const int *out, int nout, int ntemp);
int cc_add_matrix(cc_ctx *c, const char *name, const int8_t *codes, int K, int N);
void cc_ctx_free(cc_ctx *c);
int cc_round_up(int v, int m);
int cc_lcm(int a, int b);
#include "tern/err.h" /* errors: tern_err */
int cc_ilog2(int v);

/* passes */
int cc_pass_build_mlp(cc_ctx *c, char *err, size_t errlen);      /* ir.c */
int cc_pass_build_gemm(cc_ctx *c, const int8_t *codes, int K, int N, char *err,
                       size_t errlen);                              /* gemm.c */
int cc_pass_pad(cc_ctx *c, char *err, size_t errlen);              /* pad.c */
int cc_pass_tile(cc_ctx *c, char *err, size_t errlen);             /* tile.c */
/* the weight-stream chunks of one token block (with c->wres: residency,
 * validated here); part of cc_pass_tile, for graphs with their own tile pass */
int cc_tile_chunks(cc_ctx *c, char *err, size_t errlen);            /* tile.c */
int cc_pass_alloc(cc_ctx *c, char *err, size_t errlen);            /* alloc.c */
int cc_pass_emit(cc_ctx *c, char *err, size_t errlen);             /* emit.c */
int cc_pass_emit_gemm(cc_ctx *c, char *err, size_t errlen);        /* gemm.c */
/* The pass list machinery (compile.c): a compile entry point is a table of
 * named passes run in order, each with an optional --dump-after printer. */
typedef struct cc_pass {
  const char *name;
  int (*run)(cc_ctx *c, char *err, size_t errlen);
  void (*dump)(const cc_ctx *c, FILE *f);
} cc_pass;
/* Checks cfg and opts, initialises out and c (c->cfg, M, prog). */
int cc_compile_common(cc_ctx *c, const tern_hwcfg *cfg, const tern_compile_opts *opts,
                      tern_program *out, char *err, size_t errlen);
/* Runs ps[0..np) in order, dumping after opts->dump_after (unknown name: error). */
int cc_run_passes(cc_ctx *c, const cc_pass *ps, int np, const tern_compile_opts *opts, char *err,
                  size_t errlen);
void cc_dump_build(const cc_ctx *c, FILE *f); /* IR after build */
void cc_dump_pad(const cc_ctx *c, FILE *f);   /* IR after pad */
void cc_dump_prog(const cc_ctx *c, FILE *f);  /* instruction list */
int cc_pass_sync(cc_ctx *c, char *err, size_t errlen);             /* compile.c */
int cc_pass_validate(cc_ctx *c, char *err, size_t errlen);         /* compile.c */

/* printers */
void cc_dump_ir(const cc_ctx *c, FILE *f, const char *title);
void cc_dump_tile(const cc_ctx *c, FILE *f);
void cc_dump_alloc(const cc_ctx *c, FILE *f);
void cc_dump_insns(const tern_insn *v, size_t n, FILE *f);

/* liveness + per-token offsets (alloc.c; also used by tile to size Mb) */
int cc_assign_token_offsets(cc_ctx *c);

/* ACC word of tensor t for token-row 0 of a block; row stride = t->words */
int cc_acc_addr(const cc_ctx *c, int tensor);
int cc_const_addr(const cc_ctx *c, const char *name);
int cc_build_consts(cc_ctx *c);
/* append a constant (words ACC words; vals = words*cols lanes, or all = fill) */
int cc_add_const(cc_ctx *c, const char *name, int words, const int32_t *vals, int32_t fill);

/* instruction emission helpers (emit.c) */
void cc_buf_push(cc_insnbuf *b, const tern_insn *in);
void cc_emit_dma(cc_ctx *c, int op, int mem, int sram, int sstride, int y, int x, uint32_t dram,
                 int dstride);
void cc_emit_gemm(cc_ctx *c, int w, int a, int acc, int m, int astride, int accstride, int reset);
int cc_emit_vec(cc_ctx *c, int vop, int mode, int dst, int src1, int src2, int n, int rows,
                int dst_rs, int src_rs, int shift, char *err, size_t errlen);
/* weight stream: emit the LOADs of the stream items (token block, chunk) up to
 * and including (blk, g) not emitted yet, skipping resident chunks that need
 * no load; if there were none, the next item that needs one (so
 * cc_emit_chunk_load(c, 0, 0) starts the stream) */
void cc_emit_chunk_load(cc_ctx *c, int blk, int g);
/* emit the GEMMs of one matrix for a block: loads of the next chunk interleaved */
void cc_emit_matrix_gemms(cc_ctx *c, int blk, int mb, int mat, int abuf, int acc, int store_strip,
                          uint32_t store_dram, int store_dstride);
/* MAC8 (kind M): ACC[dst + i] (mode 0 set / 1 accumulate) += sum_k a_k * B[k][i]
 * for i < n, k < rows; a_k = byte k%C of OUT[src2 + k/C], B[k][i] = OUT word
 * src1 + k*src_rs + i.  Splits n > 4095 into pieces; rows > 4095 into pieces of
 * a multiple of C rows accumulated with mode 1. */
void cc_emit_mac8(cc_ctx *c, int dst, int src1, int src2, int n, int rows, int src_rs, int mode);
/* pack a matrix into WBUF tiles ([n_tile][k_tile]) */
uint8_t *cc_pack_matrix(const cc_ctx *c, const cc_matrix *m, size_t *len);
uint32_t cc_word_bytes(const tern_hwcfg *cfg, int mem);
/* the MLP emitter of one op (QUANT, LINEAR, ACT, ADD, NORM_QUANT) for token block blk */
int cc_emit_op(cc_ctx *c, const cc_op *o, int blk, int mb, char *err, size_t errlen);
int cc_insn_queue(const tern_insn *in);
/* tensor map entry */
void cc_add_tensor_ref(tern_program *p, const char *name, uint32_t addr, uint32_t dtype,
                       uint32_t rows, uint32_t cols, uint32_t stride);

/* Program parts (tern_compile_tfm_parts): between begin and end, a compile of
 * this thread whose instruction stream does not fit imem_depth is cut into
 * consecutive parts (compile.c, cc_pass_sync / cc_pass_validate): the output
 * program holds part 0 (and every DRAM segment), end returns the number of
 * further parts and hands over their array (calloc'ed, programs to free with
 * tern_program_free; no segments, same dram_size and tensor map).  Without
 * begin, compiles behave as before (the IMEM error). */
void cc_split_begin(void);
int cc_split_end(tern_program **extra);
/* Ends the split of a compile that returned rc into p0 and hands the parts
 * over as one malloc'ed array (*parts, *nparts; p0 is moved into it).  Returns
 * rc (0, or -1 with nothing to free). */
int cc_split_collect(int rc, tern_program *p0, tern_program **parts, int *nparts);

/* Tile-count probe (tern_tfm_prog_tiles): between begin and end, cc_run_passes
 * stops every compile of this thread after its "tile" pass (returning -1 with
 * the message "tile probe") and records the pass's weight tiles; end returns
 * them (-1 if no tile pass ran) and switches the probe off. */
void cc_probe_tiles_begin(void);
long cc_probe_tiles_end(void);

/* ---- transformer graph helpers (tfm_ffn.c), shared by the FFN, attention
 * (tfm_attn.c) and LM head (tfm_prog.c) lowerings ---------------------------- */
/* TNORM op (L1-L3, N1-N6) over in (width values): returns its output y.  The
 * constants must be added by cc_tfm_add_norm_consts(c, name, nq). */
int cc_tfm_add_norm(cc_ctx *c, const char *name, const struct tern_tfm_qnorm *nq, int in,
                    int width);
/* QUANT op (the MLP's step 12 / quant_row, materialised to ABUF): q (I8), A (scalar). */
void cc_tfm_add_quant(cc_ctx *c, const char *name, int in, int width, int *q, int *A);
/* LINEAR op: matrix "name" (K x N codes), output tensor "<name>.y"; lin in the MLP's
 * constant format; its "<name>.beta" constant is the graph's job. */
int cc_tfm_add_linear(cc_ctx *c, const char *name, const tern_qlinear *lin, const int8_t *codes,
                      int K, int N, int q, int A);
/* constants "<p>.eps", "<p>.rsnum", "<p>.g" (+ "<p>.b", "<p>.inv_n" and the padding
 * mask for LayerNorm) */
int cc_tfm_add_norm_consts(cc_ctx *c, const char *p, const struct tern_tfm_qnorm *nq);
/* A BitLinear's codes unpacked to K x N int8 (-1/0/1) into dst (K*N bytes);
 * -1 with "compile: <half> <name>: reserved weight code 10 ..." */
int cc_tfm_unpack_lin(const struct tern_tfm_qlinear *src, size_t n, int8_t *dst, const char *half,
                      const char *name, char *err, size_t errlen);
/* the MLP compiler's constant format of a BitLinear (no codes: the compiler's
 * matrix holds them; output shift 16) */
void cc_tfm_lin_consts(tern_qlinear *dst, int32_t beta_c, int beta_frac, int s_d);
/* padding-lane mask constant of a width ("mask<width>"; only if width is padded) */
int cc_tfm_add_mask(cc_ctx *c, int width);
void cc_tfm_mask_name(char *nm, size_t n, int width);
/* Interpolated LUT read (docs/NUMERICS.md I1-I6) of the table in the LUT over
 * rows x W words: dst = LUTI(src); t1..t3 are scratch of the same shape (all
 * row stride W, distinct from src and dst).  Needs the constants of
 * cc_add_luti_consts ("luti.c128", "luti.c256", "luti.one"; added once). */
void cc_add_luti_consts(cc_ctx *c);
int cc_emit_luti(cc_ctx *c, int dst, int src, int t1, int t2, int t3, int W, int rows, char *err,
                 size_t errlen);
/* emit a TNORM op for mb rows */
int cc_tfm_emit_tnorm(cc_ctx *c, const cc_op *o, int mb, char *err, size_t errlen);
/* entry checks of a half's BitLinear (half: "ffn" / "attention") and norm;
 * the messages name the matrix or norm, the value and the expected one */
struct tern_tfm_qlinear;
int cc_tfm_check_lin(const struct tern_tfm_qlinear *l, int K, int N, const char *half,
                     const char *name, char *err, size_t errlen);
int cc_tfm_check_norm(const struct tern_tfm_qnorm *n, int width, const char *name, char *err,
                      size_t errlen);
/* The emitter of a transformer half (tfm_ffn.c): DRAM row checks, the
 * constant pool LOAD, LUTLD of the table at ACC word lut (-1: none), the first
 * weight chunk; then per token block of <= Mb rows, LOAD the x rows, re-zero their padding lanes, emit every op in order
 * (TNORM here, the half's own kinds through `own` — which returns 1 for a kind
 * that is not its own — the rest through cc_emit_op), STORE the x rows. */
typedef int (*cc_tfm_op_fn)(cc_ctx *c, const cc_op *op, int m0, int mb, char *err, size_t errlen);
int cc_tfm_emit_blocks(cc_ctx *c, int lut, cc_tfm_op_fn own, char *err, size_t errlen);

/* ---- step programs (tfm_prog.c) and the attention half (tfm_attn.c) -------- */
int cc_compile_tfm_ffn_prog(const tern_tfm_ffn_half *h, const tern_tfm_mem *mem,
                            const tern_tfm_wres *wres, const tern_hwcfg *cfg,
                            const tern_compile_opts *opts, tern_program *out, char *err,
                            size_t errlen); /* tfm_ffn.c */
int cc_compile_tfm_attn(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                        const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                        const tern_compile_opts *opts, tern_program *out, char *err,
                        size_t errlen); /* tfm_attn.c */

/* Emit one VEC instruction or return -1 from the enclosing function (which
 * must have cc_ctx *c, char *err, size_t errlen in scope).  Used by the
 * emitters of the NUMERICS.md op sequences (emit.c, tfm_ffn.c). */
#define V(vop, mode, dst, s1, s2, n, rows, drs, srs, sh)                                        \
  do {                                                                                          \
    if (cc_emit_vec(c, TERN_VOP_##vop, TERN_VMODE_##mode, dst, s1, s2, n, rows, drs, srs, sh, \
                    err, errlen))                                                               \
      return -1;                                                                                \
  } while (0)

#endif
