/* Transformer step runner: include/tern/tfm_exec.h. */
#include "tern/tfm_exec.h"

#include <stdlib.h>
#include <string.h>

#include "rt_util.h"
#include "tern/err.h"
#include "tern/program.h"

/* FFN and HEAD programs do not depend on the position or the tokens: compiled
 * once per (kind, block, M, all_logits, residency) and kept.  A program is one or several parts
 * (tern_compile_tfm_parts: one that does not fit IMEM is cut into parts that
 * run back to back). */
typedef struct prog_cache_ent {
  tern_tfm_prog_kind kind;
  int block, M, all_logits;
  tern_tfm_wres wres;
  tern_program *parts;
  int nparts;
} prog_cache_ent;

struct tern_tfm_exec {
  const tern_tfm_qmodel *q;
  tern_tfm_exec_opts o;
  tern_tfm_mem mem;
  tern_session *s;
  uint8_t *dram;
  uint64_t dram_bytes;
  int pos;
  /* residency state: what the resident WBUF regions hold */
  int res_cap, stream_base;
  int shared_valid;   /* shared FFN tiles are in WBUF [0, shared_tiles) */
  int owner_attn;     /* block whose ATTN tiles are in the block region (-1 none) */
  int owner_ffn;      /* block whose FFN tiles are in the block region (-1 none) */
  int *tiles_attn, *tiles_ffn; /* per block: canonical tile counts */
  prog_cache_ent *fc;
  int nfc, capfc;
};


void tern_tfm_exec_opts_default(tern_tfm_exec_opts *o) {
  memset(o, 0, sizeof *o);
  o->backend = "isa";
  o->hw = tern_hwcfg_default();
  o->max_rows = 1;
  o->residency = 1;
}

void tern_tfm_step_stats_free(tern_tfm_step_stats *s) {
  if (!s) return;
  free(s->prog);
  s->prog = NULL;
  s->nprog = 0;
}

const tern_tfm_mem *tern_tfm_exec_mem(const tern_tfm_exec *e) { return e ? &e->mem : NULL; }
const uint8_t *tern_tfm_exec_dram(const tern_tfm_exec *e) { return e ? e->dram : NULL; }
int tern_tfm_exec_pos(const tern_tfm_exec *e) { return e ? e->pos : 0; }

int tern_tfm_exec_seek(tern_tfm_exec *e, int pos, char *err, size_t errlen) {
  if (!e) return tern_err(err, errlen, "tern_tfm_exec_seek: null argument");
  if (pos < 0 || pos > e->mem.ctx)
    return tern_err(err, errlen, "tern_tfm_exec_seek: pos = %d, expected 0 .. %d (ctx)", pos,
                    e->mem.ctx);
  e->pos = pos;
  return 0;
}

void tern_tfm_exec_free(tern_tfm_exec *e) {
  if (!e) return;
  if (e->s) tern_session_close(e->s);
  for (int i = 0; i < e->nfc; i++) tern_tfm_parts_free(e->fc[i].parts, e->fc[i].nparts);
  free(e->fc);
  free(e->tiles_attn);
  free(e->tiles_ffn);
  free(e->dram);
  free(e);
}


tern_tfm_exec *tern_tfm_exec_new(const tern_tfm_qmodel *q, const tern_tfm_exec_opts *o, char *err,
                                 size_t errlen) {
  if (!q || !o) {
    tern_err(err, errlen, "tern_tfm_exec_new: null argument");
    return NULL;
  }
  if (!o->backend || (strcmp(o->backend, "isa") && strcmp(o->backend, "rtl"))) {
    tern_err(err, errlen, "backend: '%s', expected isa or rtl", o->backend ? o->backend : "");
    return NULL;
  }
  if (o->max_rows < 1) {
    tern_err(err, errlen, "tern_tfm_exec: max_rows = %d, expected >= 1", o->max_rows);
    return NULL;
  }
  if (tern_hwcfg_check(&o->hw, err, errlen)) return NULL;
  tern_tfm_exec *e = calloc(1, sizeof *e);
  if (!e) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  e->q = q;
  e->o = *o;
  e->owner_attn = e->owner_ffn = -1;
  const tern_tfm_config *cfg = &q->cfg;
  if (tern_tfm_mem_plan(cfg, &o->hw, o->max_rows, o->ctx, &e->mem, err, errlen)) goto fail;
  if (rt_dram_reserve(&e->dram, &e->dram_bytes, e->mem.priv_base, e->o.hw.dram_bytes,
                         "tern_tfm_exec", err, errlen)) goto fail;
  /* residency plan inputs: tile counts per block (decode shapes: M does not change them) */
  e->stream_base = 0;
  e->res_cap = 0;
  if (o->residency && (cfg->repeat > 1 || cfg->share_ffn)) {
    int depth = o->hw.wbuf_depth;
    int st = o->stream_tiles > 0 ? o->stream_tiles : (depth / 2 < 256 ? depth / 2 : 256);
    if (st < 2 || st > depth) {
      tern_err(err, errlen, "stream_tiles = %d, expected 2 .. wbuf_depth (%d)", st, depth);
      goto fail;
    }
    e->stream_base = depth - st;
    e->res_cap = depth - st;
    e->tiles_attn = calloc((size_t)cfg->layers, sizeof(int));
    e->tiles_ffn = calloc((size_t)cfg->layers, sizeof(int));
    if (!e->tiles_attn || !e->tiles_ffn) {
      tern_err(err, errlen, "out of memory");
      goto fail;
    }
    for (int b = 0; b < cfg->layers; b++) {
      tern_tfm_prog_spec sp;
      memset(&sp, 0, sizeof sp);
      sp.block = b;
      sp.pass = b * cfg->repeat;
      sp.M = 1;
      sp.kind = TERN_TFM_PROG_ATTN;
      e->tiles_attn[b] = tern_tfm_prog_tiles(q, &sp, &o->hw, err, errlen);
      sp.kind = TERN_TFM_PROG_FFN;
      e->tiles_ffn[b] = tern_tfm_prog_tiles(q, &sp, &o->hw, err, errlen);
      if (e->tiles_attn[b] < 0 || e->tiles_ffn[b] < 0) goto fail;
    }
  }
  e->s = tern_session_open(o->backend, &o->hw, err, errlen);
  if (!e->s) goto fail;
  return e;
fail:
  tern_tfm_exec_free(e);
  return NULL;
}

static int imin(int a, int b) { return a < b ? a : b; }

/* Residency of the ATTN / FFN program of block b (any of its passes). */
static tern_tfm_wres plan_wres(tern_tfm_exec *e, tern_tfm_prog_kind kind, int b) {
  tern_tfm_wres w;
  memset(&w, 0, sizeof w);
  if (e->res_cap <= 0) return w;
  const tern_tfm_config *cfg = &e->q->cfg;
  w.stream_base = e->stream_base;
  int shared = cfg->share_ffn ? imin(e->tiles_ffn[0], e->res_cap) : 0;
  int cap_b = e->res_cap - shared;
  int resA = cfg->repeat > 1 ? imin(e->tiles_attn[b], cap_b) : 0;
  int resF = cfg->repeat > 1 && !cfg->share_ffn ? imin(e->tiles_ffn[b], cap_b - resA) : 0;
  if (kind == TERN_TFM_PROG_ATTN) {
    w.res_base = shared;
    w.res_tiles = resA;
    w.res_loaded = resA > 0 && e->owner_attn == b;
  } else if (cfg->share_ffn) {
    w.res_base = 0;
    w.res_tiles = shared;
    w.res_loaded = shared > 0 && e->shared_valid;
  } else {
    w.res_base = shared + resA;
    w.res_tiles = resF;
    w.res_loaded = resF > 0 && e->owner_ffn == b;
  }
  return w;
}

static void note_wres(tern_tfm_exec *e, tern_tfm_prog_kind kind, int b, const tern_tfm_wres *w) {
  if (w->res_tiles <= 0) return;
  if (kind == TERN_TFM_PROG_ATTN) e->owner_attn = b;
  else if (e->q->cfg.share_ffn) e->shared_valid = 1;
  else e->owner_ffn = b;
}

static int push_stat(tern_tfm_step_stats *st, const tern_tfm_prog_stat *ps) {
  tern_tfm_prog_stat *v = realloc(st->prog, (size_t)(st->nprog + 1) * sizeof *v);
  if (!v) return -1;
  st->prog = v;
  st->prog[st->nprog++] = *ps;
  return 0;
}

/* Compile (or fetch) and run one program (all its parts, in order, their
 * counters summed into one statistics entry); accumulate its statistics. */
static const char *kind_name(tern_tfm_prog_kind k) {
  static const char *const n[] = {"EMBED", "ATTN", "FFN", "HEAD"};
  return (unsigned)k < 4 ? n[k] : "?";
}

static int run_one(tern_tfm_exec *e, const tern_tfm_prog_spec *sp, tern_tfm_step_stats *st,
                   char *err, size_t errlen) {
  tern_program *tmp = NULL, *parts = NULL;
  int ntmp = 0, nparts = 0;
  int cached = -1;
  double t0 = rt_now_ms();
  int cacheable = sp->kind == TERN_TFM_PROG_FFN || sp->kind == TERN_TFM_PROG_HEAD;
  if (cacheable) {
    for (int i = 0; i < e->nfc; i++)
      if (e->fc[i].kind == sp->kind && e->fc[i].block == sp->block && e->fc[i].M == sp->M &&
          e->fc[i].all_logits == sp->all_logits &&
          !memcmp(&e->fc[i].wres, &sp->wres, sizeof sp->wres))
        cached = i;
  }
  if (cached >= 0) {
    parts = e->fc[cached].parts;
    nparts = e->fc[cached].nparts;
  } else {
    tern_compile_opts co;
    memset(&co, 0, sizeof co);
    co.tokens = sp->M;
    char e2[768];
    if (tern_compile_tfm_parts(e->q, &e->mem, sp, &e->o.hw, &co, &tmp, &ntmp, e2, sizeof e2)) {
      return tern_err(err, errlen, "compile %s (block %d, pass %d, pos %d, M %d): %s",
                      sp->kind == TERN_TFM_PROG_EMBED  ? "EMBED"
                      : sp->kind == TERN_TFM_PROG_ATTN ? "ATTN"
                      : sp->kind == TERN_TFM_PROG_FFN  ? "FFN"
                                                       : "HEAD",
                      sp->block, sp->pass, sp->pos, sp->M, e2);
    }
    parts = tmp;
    nparts = ntmp;
    if (cacheable) {
      if (e->nfc == e->capfc) {
        e->capfc = e->capfc ? 2 * e->capfc : 8;
        prog_cache_ent *v = realloc(e->fc, (size_t)e->capfc * sizeof *v);
        if (!v) {
          tern_tfm_parts_free(tmp, ntmp);
          return tern_err(err, errlen, "out of memory");
        }
        e->fc = v;
      }
      prog_cache_ent *c = &e->fc[e->nfc++];
      c->kind = sp->kind;
      c->all_logits = sp->all_logits;
      c->block = sp->block;
      c->M = sp->M;
      c->wres = sp->wres;
      c->parts = tmp; /* moved */
      c->nparts = ntmp;
      tmp = NULL;
      ntmp = 0;
    }
  }
  double t1 = rt_now_ms();
  tern_tfm_prog_stat ps;
  memset(&ps, 0, sizeof ps);
  ps.kind = sp->kind;
  ps.block = sp->block;
  ps.pass = sp->pass;
  ps.wres = sp->wres;
  int rc = rt_run_parts(e->s, e->o.backend, &e->o.hw, &e->o.run, &e->dram, &e->dram_bytes, parts,
                        nparts, "tern_tfm_exec", kind_name(sp->kind), &ps.cnt, &ps.n_insns, err,
                        errlen);
  uint64_t kv_lo = e->mem.kv_addr, kv_hi = kv_lo + (uint64_t)e->mem.passes * e->mem.kv_pass_bytes;
  for (int k = 0; !rc && k < nparts; k++)
    tern_program_dma_bytes(&parts[k], &e->o.hw, kv_lo, kv_hi, &ps.kv_rd, &ps.kv_wr, NULL, NULL);
  double t2 = rt_now_ms();
  tern_tfm_parts_free(tmp, ntmp);
  if (rc) return -1;
  ps.weight_bytes =
      ps.cnt.v[TERN_CNT_WBUF_WR] * (uint64_t)(e->o.hw.rows * e->o.hw.cols / 4);
  st->compile_ms += t1 - t0;
  st->run_ms += t2 - t1;
  for (int k = 0; k < TERN_NCOUNTERS; k++) st->total.v[k] += ps.cnt.v[k];
  st->weight_bytes += ps.weight_bytes;
  st->kv_rd += ps.kv_rd;
  st->kv_wr += ps.kv_wr;
  uint64_t cyc = ps.cnt.v[TERN_CNT_CYCLES];
  switch (sp->kind) {
    case TERN_TFM_PROG_EMBED:
      st->embed_cycles += cyc;
      st->embed_bytes += ps.cnt.v[TERN_CNT_DRAM_RD_BYTES];
      break;
    case TERN_TFM_PROG_ATTN: st->attn_cycles += cyc; break;
    case TERN_TFM_PROG_FFN: st->ffn_cycles += cyc; break;
    case TERN_TFM_PROG_HEAD:
      st->head_cycles += cyc;
      st->head_bytes += ps.cnt.v[TERN_CNT_DRAM_RD_BYTES];
      break;
  }
  if (push_stat(st, &ps)) return tern_err(err, errlen, "out of memory");
  return 0;
}

static int exec_step(tern_tfm_exec *e, const int *tokens, int M, int32_t *logits, int all,
                     tern_tfm_step_stats *st_out, char *err, size_t errlen) {
  if (!e || !tokens || !logits) return tern_err(err, errlen, "tern_tfm_exec_step: null argument");
  const tern_tfm_config *cfg = &e->q->cfg;
  if (M < 1 || M > e->mem.rows)
    return tern_err(err, errlen, "tern_tfm_exec_step: M = %d, expected 1 .. %d (max_rows)", M,
                    e->mem.rows);
  if (e->pos + M > e->mem.ctx)
    return tern_err(err, errlen,
                    "tern_tfm_exec_step: positions %d .. %d, the KV cache holds %d (ctx)", e->pos,
                    e->pos + M - 1, e->mem.ctx);
  for (int i = 0; i < M; i++)
    if (tokens[i] < 0 || tokens[i] >= cfg->vocab)
      return tern_err(err, errlen, "token %d: %d, expected 0 .. %d", i, tokens[i],
                      cfg->vocab - 1);
  tern_tfm_step_stats st;
  memset(&st, 0, sizeof st);
  st.pos = e->pos;
  st.M = M;
  tern_tfm_prog_spec sp;
  memset(&sp, 0, sizeof sp);
  sp.M = M;
  sp.pos = e->pos;
  sp.kind = TERN_TFM_PROG_EMBED;
  sp.tokens = tokens;
  int rc = run_one(e, &sp, &st, err, errlen);
  sp.tokens = NULL;
  int passes = cfg->layers * cfg->repeat;
  for (int p = 0; !rc && p < passes; p++) {
    int b = p / cfg->repeat;
    sp.block = b;
    sp.pass = p;
    sp.kind = TERN_TFM_PROG_ATTN;
    sp.wres = plan_wres(e, sp.kind, b);
    rc = run_one(e, &sp, &st, err, errlen);
    if (!rc) note_wres(e, sp.kind, b, &sp.wres);
    if (rc) break;
    sp.kind = TERN_TFM_PROG_FFN;
    sp.wres = plan_wres(e, sp.kind, b);
    rc = run_one(e, &sp, &st, err, errlen);
    if (!rc) note_wres(e, sp.kind, b, &sp.wres);
  }
  if (!rc) {
    memset(&sp.wres, 0, sizeof sp.wres);
    sp.kind = TERN_TFM_PROG_HEAD;
    sp.block = sp.pass = 0;
    sp.all_logits = all;
    rc = run_one(e, &sp, &st, err, errlen);
  }
  for (int r = 0; !rc && r < (all ? M : 1); r++) {
    const uint8_t *lp = e->dram + e->mem.logits_addr + (size_t)r * (size_t)e->mem.vocab_pad * 4;
    int32_t *lo = logits + (size_t)r * (size_t)cfg->vocab;
    for (int v = 0; v < cfg->vocab; v++) {
      uint32_t u = (uint32_t)lp[4 * v] | (uint32_t)lp[4 * v + 1] << 8 |
                   (uint32_t)lp[4 * v + 2] << 16 | (uint32_t)lp[4 * v + 3] << 24;
      lo[v] = (int32_t)u;
    }
  }
  if (!rc) e->pos += M;
  if (st_out && !rc) *st_out = st;
  else tern_tfm_step_stats_free(&st);
  return rc ? -1 : 0;
}

int tern_tfm_exec_step(tern_tfm_exec *e, const int *tokens, int M, int32_t *logits,
                       tern_tfm_step_stats *st_out, char *err, size_t errlen) {
  return exec_step(e, tokens, M, logits, 0, st_out, err, errlen);
}

int tern_tfm_exec_step_all(tern_tfm_exec *e, const int *tokens, int M, int32_t *logits,
                           tern_tfm_step_stats *st_out, char *err, size_t errlen) {
  return exec_step(e, tokens, M, logits, 1, st_out, err, errlen);
}
