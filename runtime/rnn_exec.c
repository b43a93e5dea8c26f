/* Recurrent step runner: include/tern/rnn_exec.h. */
#include "tern/rnn_exec.h"

#include <stdlib.h>
#include <string.h>

#include "rt_util.h"
#include "tern/err.h"
#include "tern/isa.h"
#include "tern/program.h"

/* MIX, MLP and HEAD programs do not depend on the position or the tokens:
 * compiled once per (kind, block, M) and kept (one or several parts). */
typedef struct prog_cache_ent {
  tern_rnn_prog_kind kind;
  int block, M, all; /* all: HEAD with every row's logits */
  tern_program *parts;
  int nparts;
} prog_cache_ent;

struct tern_rnn_exec {
  const tern_rnn_qmodel *q;
  tern_rnn_exec_opts o;
  tern_rnn_mem mem;
  int has_attn;
  int max_pos; /* positions the runner holds (tern_rnn_exec_ctx) */
  uint32_t kv_lo, kv_hi; /* KV region [kv_lo, kv_hi) of the 'a' blocks' passes */
  tern_session *s;
  uint8_t *dram;
  uint64_t dram_bytes;
  int pos;
  int all_logits; /* the step being run wants every row's logits */
  prog_cache_ent *pc;
  int npc, cappc;
};


const char *tern_rnn_prog_kind_name(tern_rnn_prog_kind k) {
  switch (k) {
    case TERN_RNN_PROG_EMBED: return "EMBED";
    case TERN_RNN_PROG_MIX: return "MIX";
    case TERN_RNN_PROG_ATTN: return "ATTN";
    case TERN_RNN_PROG_MLP: return "MLP";
    case TERN_RNN_PROG_HEAD: return "HEAD";
  }
  return "?";
}

void tern_rnn_exec_opts_default(tern_rnn_exec_opts *o) {
  memset(o, 0, sizeof *o);
  o->backend = "isa";
  o->hw = tern_hwcfg_default();
  o->max_rows = 1;
}

void tern_rnn_step_stats_free(tern_rnn_step_stats *s) {
  if (!s) return;
  free(s->prog);
  s->prog = NULL;
  s->nprog = 0;
}

const tern_rnn_mem *tern_rnn_exec_mem(const tern_rnn_exec *e) { return e ? &e->mem : NULL; }
const uint8_t *tern_rnn_exec_dram(const tern_rnn_exec *e) { return e ? e->dram : NULL; }
int tern_rnn_exec_pos(const tern_rnn_exec *e) { return e ? e->pos : 0; }
int tern_rnn_exec_ctx(const tern_rnn_exec *e) { return e ? e->max_pos : 0; }

int tern_rnn_exec_seek(tern_rnn_exec *e, int pos, char *err, size_t errlen) {
  if (!e) return tern_err(err, errlen, "tern_rnn_exec_seek: null argument");
  if (pos < 0 || pos > e->max_pos)
    return tern_err(err, errlen, "tern_rnn_exec_seek: pos = %d, expected 0 .. %d (%s)", pos,
                    e->max_pos, e->has_attn ? "ctx" : "max_seq");
  e->pos = pos;
  return 0;
}

void tern_rnn_exec_free(tern_rnn_exec *e) {
  if (!e) return;
  if (e->s) tern_session_close(e->s);
  for (int i = 0; i < e->npc; i++) tern_tfm_parts_free(e->pc[i].parts, e->pc[i].nparts);
  free(e->pc);
  free(e->dram);
  free(e);
}


void tern_rnn_exec_reset(tern_rnn_exec *e) {
  if (!e) return;
  e->pos = 0;
  if (e->mem.state_bytes) memset(e->dram + e->mem.state_base, 0, e->mem.state_bytes);
  if (e->kv_hi > e->kv_lo) memset(e->dram + e->kv_lo, 0, e->kv_hi - e->kv_lo);
}

tern_rnn_exec *tern_rnn_exec_new(const tern_rnn_qmodel *q, const tern_rnn_exec_opts *o,
                                 char *err, size_t errlen) {
  if (!q || !o) {
    tern_err(err, errlen, "tern_rnn_exec_new: null argument");
    return NULL;
  }
  if (!o->backend || (strcmp(o->backend, "isa") && strcmp(o->backend, "rtl"))) {
    tern_err(err, errlen, "backend: '%s', expected isa or rtl", o->backend ? o->backend : "");
    return NULL;
  }
  if (o->max_rows < 1) {
    tern_err(err, errlen, "tern_rnn_exec: max_rows = %d, expected >= 1", o->max_rows);
    return NULL;
  }
  if (o->ctx < 0) {
    tern_err(err, errlen, "tern_rnn_exec: ctx = %d, expected >= 0 (0 = max_seq)", o->ctx);
    return NULL;
  }
  if (tern_hwcfg_check(&o->hw, err, errlen)) return NULL;
  tern_rnn_exec *e = calloc(1, sizeof *e);
  if (!e) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  e->q = q;
  e->o = *o;
  const tern_rnn_config *c = &q->cfg;
  if (tern_rnn_mem_plan(q, &o->hw, o->max_rows, o->ctx, &e->mem, err, errlen)) goto fail;
  int first_a = -1, last_a = -1;
  for (int b = 0; b < c->layers; b++)
    if (tern_rnn_block_kind(c, b) == TERN_RNN_ATTENTION) {
      if (first_a < 0) first_a = b;
      last_a = b;
    }
  e->has_attn = first_a >= 0;
  e->max_pos = e->has_attn ? e->mem.tm.ctx : c->max_seq;
  if (e->has_attn) {
    e->kv_lo = e->mem.tm.kv_addr + (uint32_t)first_a * e->mem.tm.kv_pass_bytes;
    e->kv_hi = e->mem.tm.kv_addr + (uint32_t)(last_a + 1) * e->mem.tm.kv_pass_bytes;
  }
  if (rt_dram_reserve(&e->dram, &e->dram_bytes, e->mem.tm.priv_base, e->o.hw.dram_bytes,
                         "tern_rnn_exec", err, errlen)) goto fail;
  e->s = tern_session_open(o->backend, &o->hw, err, errlen);
  if (!e->s) goto fail;
  return e;
fail:
  tern_rnn_exec_free(e);
  return NULL;
}

/* Bytes a LOAD / STORE moves (the simulator's beat rule: beats x beat bytes). */
static void split_dram(const tern_rnn_exec *e, const tern_program *p, tern_rnn_dram_split *d) {
  uint64_t ard = 0, awr = 0, srd = 0, swr = 0, krd = 0, kwr = 0;
  tern_program_dma_bytes(p, &e->o.hw, e->mem.state_base,
                         (uint64_t)e->mem.state_base + e->mem.state_bytes, &srd, &swr, &ard, &awr);
  tern_program_dma_bytes(p, &e->o.hw, e->kv_lo, e->kv_hi, &krd, &kwr, NULL, NULL);
  d->state_rd += srd;
  d->state_wr += swr;
  d->kv_rd += krd;
  d->kv_wr += kwr;
  d->other_rd += ard - srd - krd;
  d->other_wr += awr - swr - kwr;
}

static void add_split(tern_rnn_dram_split *a, const tern_rnn_dram_split *b) {
  a->state_rd += b->state_rd;
  a->state_wr += b->state_wr;
  a->kv_rd += b->kv_rd;
  a->kv_wr += b->kv_wr;
  a->other_rd += b->other_rd;
  a->other_wr += b->other_wr;
}

static int push_stat(tern_rnn_step_stats *st, const tern_rnn_prog_stat *ps) {
  tern_rnn_prog_stat *v = realloc(st->prog, (size_t)(st->nprog + 1) * sizeof *v);
  if (!v) return -1;
  st->prog = v;
  st->prog[st->nprog++] = *ps;
  return 0;
}

static int compile_prog(tern_rnn_exec *e, tern_rnn_prog_kind kind, int block, int pos, int M,
                        const int *tokens, tern_program **parts, int *nparts, char *err,
                        size_t errlen) {
  tern_compile_opts co;
  memset(&co, 0, sizeof co);
  co.tokens = M;
  char e2[768];
  int rc;
  if (kind == TERN_RNN_PROG_MIX) {
    rc = tern_compile_rnn_mix(e->q, &e->mem, block, M, &e->o.hw, &co, parts, nparts, e2,
                              sizeof e2);
  } else {
    tern_tfm_prog_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = kind == TERN_RNN_PROG_EMBED  ? TERN_TFM_PROG_EMBED
              : kind == TERN_RNN_PROG_ATTN ? TERN_TFM_PROG_ATTN
              : kind == TERN_RNN_PROG_MLP  ? TERN_TFM_PROG_FFN
                                           : TERN_TFM_PROG_HEAD;
    sp.block = sp.pass = block < 0 ? 0 : block;
    sp.pos = pos;
    sp.M = M;
    sp.tokens = tokens;
    sp.all_logits = kind == TERN_RNN_PROG_HEAD && e->all_logits;
    rc = tern_compile_tfm_parts(&e->q->view, &e->mem.tm, &sp, &e->o.hw, &co, parts, nparts, e2,
                                sizeof e2);
  }
  if (rc)
    return tern_err(err, errlen, "compile %s (block %d, pos %d, M %d): %s",
                    tern_rnn_prog_kind_name(kind), block, pos, M, e2);
  /* the private image must not touch the persistent map (state, KV caches, x) */
  for (int k = 0; k < *nparts; k++)
    for (size_t i = 0; i < (*parts)[k].n_segs; i++)
      if ((*parts)[k].segs[i].dram_addr < e->mem.tm.priv_base) {
        uint32_t a = (*parts)[k].segs[i].dram_addr;
        tern_tfm_parts_free(*parts, *nparts);
        *parts = NULL;
        *nparts = 0;
        return tern_err(err, errlen,
                        "compile %s (block %d, M %d): a DRAM segment at 0x%x lies below "
                        "priv_base 0x%x (it would overwrite the persistent map)",
                        tern_rnn_prog_kind_name(kind), block, M, a, e->mem.tm.priv_base);
      }
  return 0;
}

/* Compile (or fetch) and run one program (all its parts, in order, their
 * counters summed into one statistics entry); accumulate its statistics. */
static int run_one(tern_rnn_exec *e, tern_rnn_prog_kind kind, int block, int M,
                   const int *tokens, tern_rnn_step_stats *st, char *err, size_t errlen) {
  tern_program *tmp = NULL, *parts = NULL;
  int ntmp = 0, nparts = 0, cached = -1;
  double t0 = rt_now_ms();
  int cacheable = kind == TERN_RNN_PROG_MIX || kind == TERN_RNN_PROG_MLP ||
                  kind == TERN_RNN_PROG_HEAD;
  if (cacheable)
    for (int i = 0; i < e->npc; i++)
      if (e->pc[i].kind == kind && e->pc[i].block == block && e->pc[i].M == M &&
          e->pc[i].all == (kind == TERN_RNN_PROG_HEAD && e->all_logits))
        cached = i;
  if (cached >= 0) {
    parts = e->pc[cached].parts;
    nparts = e->pc[cached].nparts;
  } else {
    if (compile_prog(e, kind, block, e->pos, M, tokens, &tmp, &ntmp, err, errlen)) return -1;
    parts = tmp;
    nparts = ntmp;
    if (cacheable) {
      if (e->npc == e->cappc) {
        int cap = e->cappc ? 2 * e->cappc : 8;
        prog_cache_ent *v = realloc(e->pc, (size_t)cap * sizeof *v);
        if (!v) {
          tern_tfm_parts_free(tmp, ntmp);
          return tern_err(err, errlen, "out of memory");
        }
        e->pc = v;
        e->cappc = cap;
      }
      prog_cache_ent *c = &e->pc[e->npc++];
      c->kind = kind;
      c->block = block;
      c->M = M;
      c->all = kind == TERN_RNN_PROG_HEAD && e->all_logits;
      c->parts = tmp; /* moved */
      c->nparts = ntmp;
      tmp = NULL;
      ntmp = 0;
    }
  }
  double t1 = rt_now_ms();
  tern_rnn_prog_stat ps;
  memset(&ps, 0, sizeof ps);
  ps.kind = kind;
  ps.block = block;
  ps.mixer = block >= 0 ? tern_rnn_block_kind(&e->q->cfg, block) : 0;
  ps.nparts = nparts;
  ps.cached = cached >= 0;
  char what[64];
  snprintf(what, sizeof what, "%s (block %d)", tern_rnn_prog_kind_name(kind), block);
  int rc = rt_run_parts(e->s, e->o.backend, &e->o.hw, &e->o.run, &e->dram, &e->dram_bytes, parts,
                        nparts, "tern_rnn_exec", what, &ps.cnt, &ps.n_insns, err, errlen);
  for (int k = 0; !rc && k < nparts; k++) split_dram(e, &parts[k], &ps.dram);
  double t2 = rt_now_ms();
  tern_tfm_parts_free(tmp, ntmp);
  if (rc) return -1;
  ps.weight_bytes = ps.cnt.v[TERN_CNT_WBUF_WR] * (uint64_t)(e->o.hw.rows * e->o.hw.cols / 4);
  st->compile_ms += t1 - t0;
  st->run_ms += t2 - t1;
  for (int k = 0; k < TERN_NCOUNTERS; k++) st->total.v[k] += ps.cnt.v[k];
  add_split(&st->dram, &ps.dram);
  st->weight_bytes += ps.weight_bytes;
  uint64_t cyc = ps.cnt.v[TERN_CNT_CYCLES];
  switch (kind) {
    case TERN_RNN_PROG_EMBED:
      st->embed_cycles += cyc;
      st->embed_bytes += ps.cnt.v[TERN_CNT_DRAM_RD_BYTES];
      break;
    case TERN_RNN_PROG_MIX: st->mix_cycles += cyc; break;
    case TERN_RNN_PROG_ATTN: st->attn_cycles += cyc; break;
    case TERN_RNN_PROG_MLP: st->mlp_cycles += cyc; break;
    case TERN_RNN_PROG_HEAD:
      st->head_cycles += cyc;
      st->head_bytes += ps.cnt.v[TERN_CNT_DRAM_RD_BYTES];
      break;
  }
  if (push_stat(st, &ps)) return tern_err(err, errlen, "out of memory");
  return 0;
}

static int exec_step(tern_rnn_exec *e, const int *tokens, int M, int32_t *logits, int all,
                       tern_rnn_step_stats *st_out, char *err, size_t errlen) {
  if (e) e->all_logits = all;
  if (!e || !tokens || !logits) return tern_err(err, errlen, "tern_rnn_exec_step: null argument");
  const tern_rnn_config *cfg = &e->q->cfg;
  if (M < 1 || M > e->mem.tm.rows)
    return tern_err(err, errlen, "tern_rnn_exec_step: M = %d, expected 1 .. %d (max_rows)", M,
                    e->mem.tm.rows);
  if (M > e->max_pos - e->pos)
    return tern_err(err, errlen, "tern_rnn_exec_step: positions %d .. %d, the runner holds %d (%s)",
                    e->pos, e->pos + M - 1, e->max_pos,
                    e->has_attn ? "the KV caches' ctx" : "max_seq");
  for (int i = 0; i < M; i++)
    if (tokens[i] < 0 || tokens[i] >= cfg->vocab)
      return tern_err(err, errlen, "token %d: %d, expected 0 .. %d", i, tokens[i],
                      cfg->vocab - 1);
  tern_rnn_step_stats st;
  memset(&st, 0, sizeof st);
  st.pos = e->pos;
  st.M = M;
  int rc = run_one(e, TERN_RNN_PROG_EMBED, -1, M, tokens, &st, err, errlen);
  for (int b = 0; !rc && b < cfg->layers; b++) {
    tern_rnn_prog_kind mk =
        tern_rnn_block_kind(cfg, b) == TERN_RNN_ATTENTION ? TERN_RNN_PROG_ATTN : TERN_RNN_PROG_MIX;
    rc = run_one(e, mk, b, M, NULL, &st, err, errlen);
    if (!rc) rc = run_one(e, TERN_RNN_PROG_MLP, b, M, NULL, &st, err, errlen);
  }
  if (!rc) rc = run_one(e, TERN_RNN_PROG_HEAD, -1, M, NULL, &st, err, errlen);
  for (int r = 0; !rc && r < (all ? M : 1); r++) {
    const uint8_t *lp = e->dram + e->mem.tm.logits_addr + (size_t)r * (size_t)e->mem.tm.vocab_pad * 4;
    int32_t *lo = logits + (size_t)r * (size_t)cfg->vocab;
    for (int v = 0; v < cfg->vocab; v++) {
      uint32_t u = (uint32_t)lp[4 * v] | (uint32_t)lp[4 * v + 1] << 8 |
                   (uint32_t)lp[4 * v + 2] << 16 | (uint32_t)lp[4 * v + 3] << 24;
      lo[v] = (int32_t)u;
    }
  }
  if (!rc) {
    e->pos += M;
    st.state_bytes = st.dram.state_rd + st.dram.state_wr;
    st.kv_bytes = st.dram.kv_rd + st.dram.kv_wr;
  }
  if (st_out && !rc) *st_out = st;
  else tern_rnn_step_stats_free(&st);
  return rc ? -1 : 0;
}

int tern_rnn_exec_step(tern_rnn_exec *e, const int *tokens, int M, int32_t *logits,
                       tern_rnn_step_stats *st_out, char *err, size_t errlen) {
  return exec_step(e, tokens, M, logits, 0, st_out, err, errlen);
}

int tern_rnn_exec_step_all(tern_rnn_exec *e, const int *tokens, int M, int32_t *logits,
                           tern_rnn_step_stats *st_out, char *err, size_t errlen) {
  return exec_step(e, tokens, M, logits, 1, st_out, err, errlen);
}
