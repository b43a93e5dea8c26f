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
 *
 * In split mode (cc_split_begin, tern_compile_tfm_parts) sync and validate
 * cut a stream longer than imem_depth into parts (see "program parts" below).
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

/* ---- program parts (tern_compile_tfm_parts) ---------------------------------
 * Split mode of this thread: cc_pass_sync cuts an emitted instruction stream
 * that does not fit IMEM into consecutive pieces, each synced on its own (the
 * session drains every run before the next starts, so a dependency across a
 * cut needs no token) and ended by END; cc_pass_validate puts piece 0 into the
 * program and pieces 1.. into extra programs with no DRAM segments (piece 0's
 * run initialises the private image; nothing runs in between) and the same
 * dram_size and tensor map.  Bit-exact by construction: the session keeps
 * WBUF, ABUF, ACC, OUT, the LUT and DRAM from one run to the next. */
static _Thread_local int split_on;
static _Thread_local tern_program *split_extra;
static _Thread_local int split_n;

void cc_split_begin(void) {
  split_on = 1;
  split_extra = NULL;
  split_n = 0;
}

int cc_split_end(tern_program **extra) {
  int n = split_n;
  *extra = split_extra;
  split_on = 0;
  split_extra = NULL;
  split_n = 0;
  return n;
}

static void free_pieces(cc_ctx *c) {
  for (int i = 0; i < c->npieces; i++) free(c->pieces[i].v);
  free(c->pieces);
  c->pieces = NULL;
  c->npieces = 0;
}

static int sync_piece(cc_ctx *c, const tern_insn *v, size_t n, cc_insnbuf *out, char *err,
                      size_t errlen) {
  tern_insn *o;
  size_t no;
  if (tern_insert_sync(c->cfg, v, n, &o, &no, err, errlen)) return -1;
  tern_insn end;
  memset(&end, 0, sizeof end);
  end.op = TERN_OP_END;
  out->v = o;
  out->n = out->cap = no;
  cc_buf_push(out, &end);
  return 0;
}

/* cut c->ins into pieces of at most imem_depth instructions after sync + END */
static int split_insns(cc_ctx *c, char *err, size_t errlen) {
  const size_t cap = (size_t)c->cfg->imem_depth, n = c->ins.n;
  if (cap < 64)
    return tern_err(err, errlen,
                    "compile: imem_depth = %d is too small to split a program into parts "
                    "(expected >= 64)",
                    c->cfg->imem_depth);
  /* balanced pieces with room for the sync pass's relay SYNCs and END */
  size_t room = cap - 1 - cap / 16;
  size_t k = (n + room - 1) / room, want = (n + k - 1) / k;
  int capp = 0;
  for (size_t s0 = 0; s0 < n;) {
    size_t len = want < n - s0 ? want : n - s0;
    cc_insnbuf b = {0};
    for (;;) {
      if (sync_piece(c, c->ins.v + s0, len, &b, err, errlen)) return -1;
      if (b.n <= cap) break;
      size_t over = b.n - cap;
      free(b.v);
      b.v = NULL;
      if (len <= over + 1)
        return tern_err(err, errlen, "compile: cannot cut the program into parts of <= %d "
                        "instructions (imem_depth)", c->cfg->imem_depth);
      len -= over + (len > 64 ? len / 64 : 1);
    }
    if (c->npieces == capp) {
      capp = capp ? 2 * capp : 8;
      c->pieces = realloc(c->pieces, (size_t)capp * sizeof *c->pieces);
      if (!c->pieces) abort();
    }
    c->pieces[c->npieces++] = b;
    s0 += len;
  }
  return 0;
}

int cc_pass_sync(cc_ctx *c, char *err, size_t errlen) {
  free_pieces(c);
  if (split_on && c->ins.n + 1 > (size_t)c->cfg->imem_depth) {
    if (split_insns(c, err, errlen)) {
      free_pieces(c);
      return -1;
    }
    return 0;
  }
  cc_insnbuf b = {0};
  if (sync_piece(c, c->ins.v, c->ins.n, &b, err, errlen)) return -1;
  if (split_on && b.n > (size_t)c->cfg->imem_depth) { /* relay SYNCs pushed it over */
    free(b.v);
    if (split_insns(c, err, errlen)) {
      free_pieces(c);
      return -1;
    }
    return 0;
  }
  free(c->ins.v);
  c->ins = b;
  return 0;
}

static int validate_piece(cc_ctx *c, const cc_insnbuf *b, char *err, size_t errlen) {
  char e[512];
  if (b->n > (size_t)c->cfg->imem_depth) {
    /* a real limit of ISA v1 (no loops), not a compiler bug: say what to change */
    long gemms = 0;
    for (size_t i = 0; i < b->n; i++) gemms += b->v[i].op == TERN_OP_GEMM;
    return tern_err(err, errlen,
                    "compile: program needs %zu instructions, imem_depth = %d (%ld GEMMs: one per "
                    "%dx%d weight tile per token block, %d block(s) of <= %d tokens); use a larger "
                    "array or split the graph into several programs (tern_compile_tfm_parts)",
                    b->n, c->cfg->imem_depth, gemms, c->cfg->rows, c->cfg->cols, c->nblocks,
                    c->Mb);
  }
  if (tern_validate(c->cfg, b->v, b->n, c->prog->dram_size, e, sizeof e)) {
    tern_err(err, errlen, "compile: generated program invalid (compiler bug): %s", e);
    return -1;
  }
  return 0;
}

int cc_pass_validate(cc_ctx *c, char *err, size_t errlen) {
  if (!c->npieces) {
    if (validate_piece(c, &c->ins, err, errlen)) return -1;
    for (size_t i = 0; i < c->ins.n; i++) tern_program_add_insn(c->prog, &c->ins.v[i]);
    return 0;
  }
  for (int k = 0; k < c->npieces; k++)
    if (validate_piece(c, &c->pieces[k], err, errlen)) {
      free_pieces(c);
      return -1;
    }
  for (size_t i = 0; i < c->pieces[0].n; i++) tern_program_add_insn(c->prog, &c->pieces[0].v[i]);
  tern_program *x = calloc((size_t)c->npieces - 1, sizeof *x);
  if (!x) abort();
  for (int k = 1; k < c->npieces; k++) {
    tern_program *p = &x[k - 1];
    tern_program_init(p);
    p->cfg = c->prog->cfg;
    p->dram_size = c->prog->dram_size;
    for (size_t t = 0; t < c->prog->n_tensors; t++) tern_program_add_tensor(p, &c->prog->tensors[t]);
    for (size_t i = 0; i < c->pieces[k].n; i++) tern_program_add_insn(p, &c->pieces[k].v[i]);
  }
  split_extra = x;
  split_n = c->npieces - 1;
  free_pieces(c);
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
