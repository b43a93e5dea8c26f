/* The compiler's pass list (FINN-style: each pass one function in its own
 * file, each with a printer selected by opts->dump_after):
 *
 *   build     graph IR from the quantised model          ir.c    (gemm.c for tern_compile_gemm)
 *   pad       dims to multiples of lcm(rows, cols)       pad.c
 *   tile      token block Mb, weight chunks              tile.c
 *   alloc     SRAM regions, DRAM image, tensor map       alloc.c
 *   emit      instructions, no token flags               emit.c  (gemm.c)
 *   sync      dependency tokens (tern_insert_sync)       sync.c
 *   validate  tern_validate, then END is in place        compile.c
 */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"

void cc_dump_build(const cc_ctx *c, FILE *f) { cc_dump_ir(c, f, "build"); }
void cc_dump_pad(const cc_ctx *c, FILE *f) { cc_dump_ir(c, f, "pad"); }
void cc_dump_prog(const cc_ctx *c, FILE *f) {
  fprintf(f, "# %zu instructions\n", c->ins.n);
  cc_dump_insns(c->ins.v, c->ins.n, f);
}

int cc_pass_sync(cc_ctx *c, char *err, size_t errlen) {
  tern_insn *o;
  size_t n;
  if (tern_insert_sync(c->cfg, c->ins.v, c->ins.n, &o, &n, err, errlen)) return -1;
  tern_insn end;
  memset(&end, 0, sizeof end);
  end.op = TERN_OP_END;
  free(c->ins.v);
  c->ins.v = o;
  c->ins.n = c->ins.cap = n;
  cc_buf_push(&c->ins, &end);
  return 0;
}

int cc_pass_validate(cc_ctx *c, char *err, size_t errlen) {
  char e[512];
  if (c->ins.n > (size_t)c->cfg->imem_depth) {
    /* a real limit of ISA v1 (no loops), not a compiler bug: say what to change */
    long gemms = 0;
    for (size_t i = 0; i < c->ins.n; i++) gemms += c->ins.v[i].op == TERN_OP_GEMM;
    return tern_err(err, errlen,
                    "compile: program needs %zu instructions, imem_depth = %d (%ld GEMMs: one per "
                    "%dx%d weight tile per token block, %d block(s) of <= %d tokens); use a larger "
                    "array or split the graph into several programs",
                    c->ins.n, c->cfg->imem_depth, gemms, c->cfg->rows, c->cfg->cols, c->nblocks,
                    c->Mb);
  }
  if (tern_validate(c->cfg, c->ins.v, c->ins.n, c->prog->dram_size, e, sizeof e)) {
    tern_err(err, errlen, "compile: generated program invalid (compiler bug): %s", e);
    return -1;
  }
  for (size_t i = 0; i < c->ins.n; i++) tern_program_add_insn(c->prog, &c->ins.v[i]);
  return 0;
}

/* tile-count probe of this thread (tern_tfm_prog_tiles): 0 off, 1 on */
static _Thread_local int probe_on;
static _Thread_local long probe_tiles;

void cc_probe_tiles_begin(void) {
  probe_on = 1;
  probe_tiles = -1;
}

long cc_probe_tiles_end(void) {
  probe_on = 0;
  return probe_tiles;
}

int cc_run_passes(cc_ctx *c, const cc_pass *ps, int np, const tern_compile_opts *opts,
                      char *err, size_t errlen) {
  const char *want = opts ? opts->dump_after : NULL;
  FILE *f = opts && opts->dump_to ? opts->dump_to : stderr;
  if (want) {
    int ok = 0;
    for (int i = 0; i < np; i++) ok |= !strcmp(want, ps[i].name);
    if (!ok) {
      tern_err(err, errlen,
             "compile: --dump-after %s: unknown pass, expected build, pad, tile, alloc, emit, "
             "sync or validate",
             want);
      return -1;
    }
  }
  for (int i = 0; i < np; i++) {
    if (ps[i].run(c, err, errlen)) return -1;
    if (want && !strcmp(want, ps[i].name)) ps[i].dump(c, f);
    if (probe_on && !strcmp(ps[i].name, "tile")) {
      long t = 0;
      for (int o = 0; o < c->nop; o++)
        if (c->op[o].kind == CC_OP_LINEAR) {
          const cc_matrix *m = &c->mat[c->op[o].mat];
          t += (long)m->kt * m->nt;
        }
      probe_tiles = t;
      tern_err(err, errlen, "tile probe");
      return -1;
    }
  }
  return 0;
}

int cc_compile_common(cc_ctx *c, const tern_hwcfg *cfg, const tern_compile_opts *opts,
                          tern_program *out, char *err, size_t errlen) {
  char e[256];
  tern_program_init(out);
  if (!cfg) {
    tern_err(err, errlen, "compile: hardware config is NULL");
    return -1;
  }
  if (tern_hwcfg_check(cfg, e, sizeof e)) {
    tern_err(err, errlen, "compile: bad hardware config: %s", e);
    return -1;
  }
  if (!opts) {
    tern_err(err, errlen, "compile: opts is NULL (need tokens >= 1)");
    return -1;
  }
  memset(c, 0, sizeof *c);
  c->cfg = cfg;
  c->M = opts->tokens;
  c->x = c->y = -1;
  out->cfg = *cfg;
  c->prog = out;
  return 0;
}

int tern_compile_mlp(const tern_qmlp *q, const tern_hwcfg *cfg, const tern_compile_opts *opts,
                     tern_program *out, char *err, size_t errlen) {
  static const cc_pass ps[] = {
      {"build", cc_pass_build_mlp, cc_dump_build}, {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", cc_pass_tile, cc_dump_tile},     {"alloc", cc_pass_alloc, cc_dump_alloc},
      {"emit", cc_pass_emit, cc_dump_prog},        {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  cc_ctx c;
  if (!q) {
    tern_err(err, errlen, "compile: model is NULL");
    return -1;
  }
  if (cc_compile_common(&c, cfg, opts, out, err, errlen)) return -1;
  c.q = q;
  int rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), opts, err, errlen);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}

static int build_gemm(cc_ctx *c, char *err, size_t errlen) {
  return cc_pass_build_gemm(c, c->gcodes, c->gK, c->gN, err, errlen);
}

int tern_compile_gemm(const int8_t *codes, int K, int N, const tern_hwcfg *cfg,
                      const tern_compile_opts *opts, tern_program *out, char *err, size_t errlen) {
  static const cc_pass ps[] = {
      {"build", build_gemm, cc_dump_build},    {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", cc_pass_tile, cc_dump_tile}, {"alloc", cc_pass_alloc, cc_dump_alloc},
      {"emit", cc_pass_emit_gemm, cc_dump_prog}, {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  cc_ctx c;
  if (cc_compile_common(&c, cfg, opts, out, err, errlen)) return -1;
  c.is_gemm = 1;
  c.gcodes = codes;
  c.gK = K;
  c.gN = N;
  int rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), opts, err, errlen);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}
