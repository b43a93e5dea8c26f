/* `tern generate`: include/tern/generate.h. */
#include "tern/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tern/ckpt.h"
#include "tern/cpu_kernels.h"
#include "tern/energy.h"
#include "rt_util.h"
#include "tern/err.h"
#include "tern/tfm.h"
#include "tern/rnn.h"
#include "tern/rnn_exec.h"
#include "tern/tfm_exec.h"
#include "tern/tfm_int.h"
#include "tern/tokenizer.h"



void tern_gen_config_default(tern_gen_config *c) {
  memset(c, 0, sizeof *c);
  c->tokens = 16;
  c->backend = "cpu";
  c->kernel = TERN_CPU_AUTO;
  c->float_check = 1;
  c->hw = tern_hwcfg_default();
  c->residency = 1;
  c->tech = "45nm";
}

void tern_gen_result_free(tern_gen_result *r) {
  if (!r) return;
  free(r->step);
  r->step = NULL;
  free(r->layer);
  r->layer = NULL;
  r->n_layer = 0;
}

static size_t put(char *out, size_t outlen, size_t at, const char *s) {
  size_t l = strlen(s);
  for (size_t i = 0; i < l; i++)
    if (at + i + 1 < outlen) out[at + i] = s[i];
  return at + l;
}

size_t tern_gen_escape(const int *tokens, int n, char *out, size_t outlen) {
  size_t at = 0;
  char b[24];
  for (int i = 0; i < n; i++) {
    int t = tokens[i];
    if (t >= 256 || t < 0) snprintf(b, sizeof b, "<%d>", t);
    else if (t == '\\') snprintf(b, sizeof b, "\\\\");
    else if (t == '\n') snprintf(b, sizeof b, "\\n");
    else if (t == '\t') snprintf(b, sizeof b, "\\t");
    else if (t == '\r') snprintf(b, sizeof b, "\\r");
    else if (t >= 0x20 && t < 0x7f) snprintf(b, sizeof b, "%c", (char)t);
    else snprintf(b, sizeof b, "\\x%02x", (unsigned)t);
    at = put(out, outlen, at, b);
  }
  if (outlen) out[at < outlen ? at : outlen - 1] = 0;
  return at;
}

/* The text of ids: the byte tokens escaped as tern_gen_escape, or, with a
 * tokenizer, the decoded bytes escaped the same way (one token: its piece);
 * ids the tokenizer does not have (a model vocabulary larger than the
 * tokenizer's) print as <id>.  malloc'd, NULL if out of memory. */
/* A growing string (ids_text). */
typedef struct gstr {
  char *p;
  size_t n, cap;
  int oom;
} gstr;

static void gs_put(gstr *g, const char *s, size_t len) {
  if (g->oom) return;
  if (g->n + len + 1 > g->cap) {
    size_t c = (g->n + len + 1) * 2;
    char *q = realloc(g->p, c);
    if (!q) {
      g->oom = 1;
      return;
    }
    g->p = q;
    g->cap = c;
  }
  memcpy(g->p + g->n, s, len);
  g->n += len;
  g->p[g->n] = 0;
}

/* bytes escaped as tern_gen_escape escapes byte tokens */
static void gs_put_bytes(gstr *g, const char *b, int len) {
  char e[8];
  for (int i = 0; i < len; i++) {
    int v = (unsigned char)b[i];
    tern_gen_escape(&v, 1, e, sizeof e);
    gs_put(g, e, strlen(e));
  }
}

/* what the tokenizer gives for ids (decode, or one token's piece), escaped */
static void gs_put_decoded(gstr *g, const struct tern_tok *tok, const int *ids, int n, int piece) {
  int len = piece ? tern_tok_piece(tok, ids[0], NULL, 0, NULL, 0)
                  : tern_tok_decode(tok, ids, n, NULL, 0, NULL, 0);
  char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!b) {
    g->oom = 1;
    return;
  }
  if (piece) tern_tok_piece(tok, ids[0], b, (size_t)len + 1, NULL, 0);
  else tern_tok_decode(tok, ids, n, b, (size_t)len + 1, NULL, 0);
  gs_put_bytes(g, b, len);
  free(b);
}

/* The text of ids: the byte tokens escaped as tern_gen_escape, or, with a
 * tokenizer, the decoded bytes escaped the same way (piece: one token's
 * piece); ids the tokenizer does not have (a model vocabulary larger than
 * the tokenizer's) print as <id>.  malloc'd, NULL if out of memory. */
static char *ids_text(const struct tern_tok *tok, const int *ids, int n, int piece) {
  if (!tok) {
    size_t need = tern_gen_escape(ids, n, NULL, 0) + 1;
    char *t = malloc(need);
    if (t) tern_gen_escape(ids, n, t, need);
    return t;
  }
  gstr g = {NULL, 0, 0, 0};
  gs_put(&g, "", 0); /* "" for no ids */
  int all_in = 1;
  for (int i = 0; i < n; i++) all_in &= ids[i] >= 0 && ids[i] < tern_tok_vocab(tok);
  if (all_in && !piece) {
    gs_put_decoded(&g, tok, ids, n, 0); /* the whole sequence: the tokenizer drops its space prefix */
  } else {
    for (int i = 0; i < n; i++) {
      if (ids[i] >= 0 && ids[i] < tern_tok_vocab(tok)) {
        gs_put_decoded(&g, tok, &ids[i], 1, 1);
      } else {
        char e[24];
        snprintf(e, sizeof e, "<%d>", ids[i]);
        gs_put(&g, e, strlen(e));
      }
    }
  }
  if (g.oom) {
    free(g.p);
    return NULL;
  }
  return g.p;
}

/* Ternary multiply-accumulates of one token: every block pass runs its four
 * attention projections and its FFN (a repeated block or a shared FFN counts
 * each time it runs). */
static uint64_t macs_per_token(const tern_tfm_config *c) {
  uint64_t d = (uint64_t)c->dim, hd = (uint64_t)c->head_dim;
  uint64_t attn = d * hd * (2 * (uint64_t)c->heads + 2 * (uint64_t)c->kv_heads);
  uint64_t ffn = (tern_ffn_is_glu(c->ffn_type) ? 3 : 2) * d * (uint64_t)c->ffn;
  return (uint64_t)c->layers * (uint64_t)c->repeat * (attn + ffn);
}

/* What the energy baselines need of the model: ternary multiply-accumulates
 * per token and ternary weights (a recurrent model uses each ternary weight
 * once per token: its MACs are its ternary parameter count). */
typedef struct gen_work {
  uint64_t macs_per_token, ternary;
  int passes; /* block passes of a step (layers x repeat) */
} gen_work;

static double energy_of(const tern_tech *t, const tern_hwcfg *hw, const gen_work *w,
                        const tern_counters *cnt, int M, char *err, size_t errlen, int *bad) {
  tern_energy en;
  if (tern_energy_compute(t, hw, cnt, w->macs_per_token * (uint64_t)M, w->ternary, M, &en, err,
                          errlen)) {
    *bad = 1;
    return 0.0;
  }
  return en.total_pj;
}

/* Energy of a step, of its halves, and the per-pass table of the last step. */
static int step_energy(const tern_tech *t, const tern_hwcfg *hw, const gen_work *w,
                       const tern_tfm_step_stats *ss, tern_gen_step *st, tern_gen_result *r,
                       char *err, size_t errlen) {
  int bad = 0;
  st->energy_pj = energy_of(t, hw, w, &ss->total, ss->M, err, errlen, &bad);
  int passes = w->passes;
  tern_gen_layer *L = calloc((size_t)passes, sizeof *L);
  if (!L) return tern_err(err, errlen, "out of memory");
  for (int i = 0; i < ss->nprog; i++) {
    const tern_tfm_prog_stat *p = &ss->prog[i];
    if (p->kind != TERN_TFM_PROG_ATTN && p->kind != TERN_TFM_PROG_FFN) continue;
    if (p->pass < 0 || p->pass >= passes) continue;
    tern_gen_layer *l = &L[p->pass];
    l->pass = p->pass;
    l->block = p->block;
    double pj = energy_of(t, hw, w, &p->cnt, ss->M, err, errlen, &bad);
    l->weight_bytes += p->weight_bytes;
    if (p->kind == TERN_TFM_PROG_ATTN) {
      l->attn_cycles = p->cnt.v[TERN_CNT_CYCLES];
      l->attn_pj = pj;
      l->attn_dram_bytes = p->cnt.v[TERN_CNT_DRAM_RD_BYTES] + p->cnt.v[TERN_CNT_DRAM_WR_BYTES];
      st->attn_pj += pj;
    } else {
      l->ffn_cycles = p->cnt.v[TERN_CNT_CYCLES];
      l->ffn_pj = pj;
      st->ffn_pj += pj;
    }
  }
  free(r->layer);
  r->layer = L;
  r->n_layer = passes;
  return bad ? -1 : 0;
}

/* The two model families behind one interface: a transformer (tfm_*) or a
 * recurrent model (rnn_*, issue 4). */
typedef struct gen_models {
  int rnn;
  tern_tfm_ictx *ic;
  tern_tfm_ctx *fc;
  tern_rnn_ictx *ric;
  tern_rnn_ctx *rfc;
} gen_models;

static int g_iprefill(gen_models *g, const int *t, int n, int32_t *l, char *err, size_t errlen) {
  return g->rnn ? tern_rnn_iprefill(g->ric, t, n, l, 0, err, errlen)
                : tern_tfm_iprefill(g->ic, t, n, l, 0, err, errlen);
}
static int g_idecode(gen_models *g, int t, int32_t *l, char *err, size_t errlen) {
  return g->rnn ? tern_rnn_idecode(g->ric, t, l, err, errlen)
                : tern_tfm_idecode(g->ic, t, l, err, errlen);
}
static int g_has_float(const gen_models *g) { return g->rnn ? g->rfc != NULL : g->fc != NULL; }
static int g_prefill(gen_models *g, const int *t, int n, float *l, char *err, size_t errlen) {
  return g->rnn ? tern_rnn_prefill(g->rfc, t, n, l, 0, err, errlen)
                : tern_tfm_prefill(g->fc, t, n, l, 0, err, errlen);
}
static int g_decode(gen_models *g, int t, float *l, char *err, size_t errlen) {
  return g->rnn ? tern_rnn_decode(g->rfc, t, l, err, errlen)
                : tern_tfm_decode(g->fc, t, l, err, errlen);
}

/* The accelerator behind one interface: the transformer step runner
 * (include/tern/tfm_exec.h) or the recurrent one (include/tern/rnn_exec.h).
 * A recurrent step's statistics are handed on in the transformer runner's
 * form, so the energy, the per-pass table, the summary lines and the report
 * are the same code: a block's temporal mixer (MIX of an 'r' / 'm' block, the
 * local attention ATTN of an 'a' block) is its "attention half" entry, its
 * MLP the "FFN half", pass = block. */
typedef struct gen_accel {
  tern_tfm_exec *tx;
  tern_rnn_exec *rx;
} gen_accel;

static int rnn_stats_as_tfm(const tern_rnn_step_stats *r, tern_tfm_step_stats *t) {
  memset(t, 0, sizeof *t);
  t->prog = calloc((size_t)(r->nprog > 0 ? r->nprog : 1), sizeof *t->prog);
  if (!t->prog) return -1;
  t->nprog = r->nprog;
  for (int i = 0; i < r->nprog; i++) {
    const tern_rnn_prog_stat *a = &r->prog[i];
    tern_tfm_prog_stat *b = &t->prog[i];
    switch (a->kind) {
      case TERN_RNN_PROG_EMBED: b->kind = TERN_TFM_PROG_EMBED; break;
      case TERN_RNN_PROG_MIX:
      case TERN_RNN_PROG_ATTN: b->kind = TERN_TFM_PROG_ATTN; break;
      case TERN_RNN_PROG_MLP: b->kind = TERN_TFM_PROG_FFN; break;
      case TERN_RNN_PROG_HEAD: b->kind = TERN_TFM_PROG_HEAD; break;
    }
    b->block = b->pass = a->block < 0 ? 0 : a->block;
    b->n_insns = a->n_insns;
    b->cnt = a->cnt;
    b->weight_bytes = a->weight_bytes;
  }
  t->pos = r->pos;
  t->M = r->M;
  t->total = r->total;
  t->weight_bytes = r->weight_bytes;
  t->head_bytes = r->head_bytes;
  t->embed_bytes = r->embed_bytes;
  t->attn_cycles = r->mix_cycles + r->attn_cycles;
  t->ffn_cycles = r->mlp_cycles;
  t->embed_cycles = r->embed_cycles;
  t->head_cycles = r->head_cycles;
  t->compile_ms = r->compile_ms;
  t->run_ms = r->run_ms;
  return 0;
}

static int accel_step(gen_accel *a, const int *tok, int M, int32_t *la, tern_tfm_step_stats *ss,
                      tern_gen_step *st, char *err, size_t errlen) {
  if (a->tx) return tern_tfm_exec_step(a->tx, tok, M, la, ss, err, errlen);
  tern_rnn_step_stats rs;
  if (tern_rnn_exec_step(a->rx, tok, M, la, &rs, err, errlen)) return -1;
  st->state_bytes = rs.state_bytes;
  st->kv_bytes = rs.kv_bytes;
  int rc = rnn_stats_as_tfm(&rs, ss);
  tern_rnn_step_stats_free(&rs);
  return rc ? tern_err(err, errlen, "out of memory") : 0;
}

int tern_generate(const tern_gen_config *c, tern_gen_result *r, FILE *out, char *err,
                  size_t errlen) {
  if (!c || !r) return rt_fail(err, errlen, -2, "tern_generate: null argument");
  memset(r, 0, sizeof *r);
  const char *be = c->backend ? c->backend : "cpu";
  int accel = !strcmp(be, "isa") || !strcmp(be, "rtl");
  if (strcmp(be, "cpu") && !accel)
    return rt_fail(err, errlen, -2, "--backend: '%s', expected cpu, isa or rtl", be);
  if (!c->model || !*c->model)
    return rt_fail(err, errlen, -2, "MODEL: empty, expected a preset name (tern models) or a file");
  if (!c->prompt || !*c->prompt)
    return rt_fail(err, errlen, -2, "--prompt: empty, expected at least one byte of text");
  if (c->tokens < 1)
    return rt_fail(err, errlen, -2, "--tokens: %d, expected an integer >= 1", c->tokens);
  if (!(c->temperature >= 0.0) || !isfinite(c->temperature))
    return rt_fail(err, errlen, -2, "--temperature: %g, expected a finite number >= 0",
                 c->temperature);
  if (c->top_k < 0) return rt_fail(err, errlen, -2, "--top-k: %d, expected an integer >= 0", c->top_k);

  tern_tfm_config cfg;
  tern_rnn_config rcfg;
  gen_models g;
  memset(&g, 0, sizeof g);
  memset(&cfg, 0, sizeof cfg);
  if (tern_tfm_load_config(c->model, &cfg, err, errlen)) {
    /* a recurrent model (issue 4)?  Otherwise keep the transformer's message */
    char e2[512];
    if (tern_rnn_load_config(c->model, &rcfg, e2, sizeof e2)) return -2;
    g.rnn = 1;
    r->recurrent = 1;
    snprintf(cfg.name, sizeof cfg.name, "%s", rcfg.name);
    cfg.vocab = rcfg.vocab;
    cfg.dim = rcfg.dim;
    cfg.max_seq = rcfg.max_seq;
  }
  /* a checkpoint brings its tokenizer (byte-level models: none, token = byte) */
  struct tern_tok *tok = NULL;
  if (!g.rnn && tern_ckpt_is_path(c->model)) {
    char e2[512];
    tok = tern_ckpt_tokenizer(c->model, cfg.vocab, e2, sizeof e2);
    if (!tok) return rt_fail(err, errlen, -2, "tokenizer: %s", e2);
    if (tern_tok_kind_of(tok) == TERN_TOK_BYTES) {
      tern_tok_free(tok);
      tok = NULL;
    }
  }
  int plen = (int)strlen(c->prompt) + (tok ? 1 : 0); /* tokens <= bytes (+ BOS) */
  int ctxmax = cfg.max_seq < TERN_TFM_MAX_CTX ? cfg.max_seq : TERN_TFM_MAX_CTX;
  /* positions used: the prompt plus every generated token but the last */
  if ((long)plen + (long)c->tokens - 1 > (long)ctxmax)
    return tern_tok_free(tok), rt_fail(err, errlen, -2,
                 "--tokens %d with a %d-byte prompt needs %ld positions, expected at most %d "
                 "(max_seq of '%s')",
                 c->tokens, plen, (long)plen + c->tokens - 1, ctxmax, cfg.name);
  int need = plen + c->tokens - 1;

  int rc = 0;
  tern_tfm_model m;
  tern_tfm_qmodel q;
  memset(&m, 0, sizeof m);
  memset(&q, 0, sizeof q);
  tern_rnn_model rm;
  tern_rnn_qmodel *rq = NULL;
  memset(&rm, 0, sizeof rm);
  int *prompt = NULL;
  int *gen = NULL;
  int32_t *li = NULL;
  float *lf = NULL, *ls = NULL;
  gen_accel ax = {NULL, NULL};
  gen_work work;
  memset(&work, 0, sizeof work);
  int32_t *la = NULL;
  tern_tech tech;
  if (accel) {
    char e2[512];
    if (tern_hwcfg_check(&c->hw, e2, sizeof e2))
      return rt_fail(err, errlen, -2, "hardware configuration: %s", e2);
    char tp[600];
    if (tern_tech_path(c->tech ? c->tech : "45nm", tp, sizeof tp, e2, sizeof e2) ||
        tern_tech_load(tp, &tech, e2, sizeof e2))
      return rt_fail(err, errlen, -2, "--tech: %s", e2);
    snprintf(r->tech_path, sizeof r->tech_path, "%s", tech.path);
  }
  if (g.rnn) {
    work.macs_per_token = work.ternary = tern_rnn_param_count(&rcfg).ternary;
    work.passes = rcfg.layers;
  } else {
    work.macs_per_token = macs_per_token(&cfg);
    work.ternary = tern_tfm_param_count(&cfg).ternary;
    work.passes = cfg.layers * cfg.repeat;
  }
  if (g.rnn) {
    if (tern_rnn_load_model(c->model, &rcfg, &rm, err, errlen)) return -1;
    rq = tern_rnn_quantize(&rm, err, errlen);
    if (!rq) {
      tern_rnn_free(&rm);
      return -1;
    }
  } else {
    if (tern_tfm_load_model(c->model, &cfg, &m, err, errlen)) return -1;
    if (tern_tfm_quantize(&m, &q, err, errlen)) {
      tern_tfm_free(&m);
      return -1;
    }
    if (c->kernel != TERN_CPU_AUTO && tern_tfm_qmodel_set_kernel(&q, c->kernel, err, errlen)) {
      rc = -2;
      goto done;
    }
  }
  int V = cfg.vocab;
  prompt = malloc((size_t)plen * sizeof(int));
  gen = malloc((size_t)c->tokens * sizeof(int));
  li = malloc((size_t)V * sizeof(int32_t));
  lf = malloc((size_t)V * sizeof(float));
  ls = malloc((size_t)V * sizeof(float));
  r->step = calloc((size_t)c->tokens, sizeof *r->step);
  if (!prompt || !gen || !li || !lf || !ls || !r->step) {
    rc = rt_fail(err, errlen, -1, "out of memory (generate %d tokens)", c->tokens);
    goto done;
  }
  int n;
  if (tok) {
    char e2[512];
    n = tern_tok_encode(tok, c->prompt, strlen(c->prompt),
                        tern_tok_add_bos(tok) && tern_tok_bos(tok) >= 0 ? TERN_TOK_ADD_BOS : 0, prompt,
                        plen, e2, sizeof e2);
    if (n < 1) {
      rc = rt_fail(err, errlen, -2, "--prompt: %s", n < 0 ? e2 : "encodes to no token");
      goto done;
    }
  } else {
    n = tern_tfm_fidelity_tokens(c->prompt, V, prompt, plen);
  }
  if (g.rnn) g.ric = tern_rnn_ictx_new(rq, err, errlen);
  else g.ic = tern_tfm_ictx_new(&q, need, err, errlen);
  if (!g.ric && !g.ic) {
    rc = -1;
    goto done;
  }
  if (accel) {
    la = malloc((size_t)V * sizeof(int32_t));
    if (la && g.rnn) {
      tern_rnn_exec_opts ro;
      tern_rnn_exec_opts_default(&ro);
      ro.backend = be;
      ro.hw = c->hw;
      ro.ctx = need;
      ro.max_rows = n;
      ro.run = c->run;
      ax.rx = tern_rnn_exec_new(rq, &ro, err, errlen);
    } else if (la) {
      tern_tfm_exec_opts eo;
      tern_tfm_exec_opts_default(&eo);
      eo.backend = be;
      eo.hw = c->hw;
      eo.ctx = need;
      eo.max_rows = n;
      eo.residency = c->residency;
      eo.run = c->run;
      ax.tx = tern_tfm_exec_new(&q, &eo, err, errlen);
    }
    if (!ax.tx && !ax.rx) {
      if (!la) tern_err(err, errlen, "out of memory");
      rc = -1;
      goto done;
    }
    r->accel = 1;
  }
  if (c->float_check) {
    if (g.rnn) g.rfc = tern_rnn_ctx_new(&rm, err, errlen);
    else g.fc = tern_tfm_ctx_new(&m, need, err, errlen);
    if (!g_has_float(&g)) {
      rc = -1;
      goto done;
    }
  }
  snprintf(r->model, sizeof r->model, "%s", cfg.name);
  snprintf(r->kernel, sizeof r->kernel, "%s", g.rnn ? "rnn-int" : tern_tfm_kernel_name(q.kernel));
  r->vocab = V;
  r->n_prompt = n;
  tern_tfm_sampler smp;
  tern_tfm_sampler_init(&smp, c->seed, (float)c->temperature, c->top_k);
  int greedy = !(c->temperature > 0.0) || c->top_k == 1;
  if (out) {
    if (accel) {
      char hn[128];
      tern_hwcfg_rtl_name(&c->hw, hn, sizeof hn);
      fprintf(out, "generate '%s' on the %s backend (%s, %s; %dx%d array, WBUF %d tiles, "
                   "DRAM %d B/cycle, %.0f MHz): %d prompt tokens, %d new tokens, %s\n",
              cfg.name, be, !strcmp(be, "rtl") ? "Verilated RTL" : "ISA simulator", hn,
              c->hw.rows, c->hw.cols, c->hw.wbuf_depth, c->hw.dram_bw, c->hw.clock_mhz, n,
              c->tokens, greedy ? "greedy" : "sampled");
      fprintf(out, "  integer reference in lockstep (BitLinear kernel %s): every step's logits "
                   "must match bit for bit\n",
              r->kernel);
    } else
      fprintf(out, "generate '%s' on the cpu backend (integer reference, BitLinear kernel %s): "
                   "%d prompt tokens, %d new tokens, %s\n",
              cfg.name, r->kernel, n, c->tokens, greedy ? "greedy" : "sampled");
    if (!greedy)
      fprintf(out, "  sampler: temperature %g, top-k %d (0 = all), seed %llu, on integer logits / 4096\n",
              c->temperature, c->top_k, (unsigned long long)c->seed);
    uint64_t tw = work.ternary;
    char rn[160] = "";
    if (g.rnn && strchr(rcfg.pattern, TERN_RNN_ATTENTION))
      snprintf(rn, sizeof rn, "; recurrent model (issue 4): state of fixed size, local attention "
                              "blocks read a KV window of %d positions", rcfg.window);
    else if (g.rnn)
      snprintf(rn, sizeof rn, "; recurrent model (issue 4): state of fixed size, no KV cache");
    fprintf(out, "  ternary weights: %llu = %llu bytes at 2 bits; int8 LM head %llu bytes%s\n",
            (unsigned long long)tw, (unsigned long long)(tw / 4),
            (unsigned long long)((uint64_t)cfg.vocab * (uint64_t)cfg.dim), rn);
    fprintf(out, "  float reference in lockstep: %s\n",
            c->float_check ? "yes (fed the same tokens)" : "no");
  }
  for (int s = 0; s < c->tokens; s++) {
    double t0 = rt_now_ms();
    if (s == 0) {
      if (g_iprefill(&g, prompt, n, li, err, errlen)) {
        rc = -1;
        goto done;
      }
      r->prefill_ms = rt_now_ms() - t0;
      if (g_has_float(&g) && g_prefill(&g, prompt, n, lf, err, errlen)) {
        rc = -1;
        goto done;
      }
    } else {
      if (g_idecode(&g, gen[s - 1], li, err, errlen)) {
        rc = -1;
        goto done;
      }
      r->decode_ms += rt_now_ms() - t0;
      r->n_decode++;
      if (g_has_float(&g) && g_decode(&g, gen[s - 1], lf, err, errlen)) {
        rc = -1;
        goto done;
      }
    }
    tern_gen_step *st = &r->step[s];
    if (accel) {
      tern_tfm_step_stats ss;
      int tk = s == 0 ? 0 : gen[s - 1];
      if (accel_step(&ax, s == 0 ? prompt : &tk, s == 0 ? n : 1, la, &ss, st, err, errlen)) {
        rc = -1;
        goto done;
      }
      st->bit_exact = !memcmp(la, li, (size_t)V * sizeof(int32_t));
      r->bit_exact_steps += st->bit_exact;
      st->cycles = ss.total.v[TERN_CNT_CYCLES];
      st->weight_bytes = ss.weight_bytes;
      st->dram_bytes = ss.total.v[TERN_CNT_DRAM_RD_BYTES] + ss.total.v[TERN_CNT_DRAM_WR_BYTES];
      st->dram_rd_bytes = ss.total.v[TERN_CNT_DRAM_RD_BYTES];
      r->attn_cycles += ss.attn_cycles;
      r->ffn_cycles += ss.ffn_cycles;
      r->other_cycles += ss.embed_cycles + ss.head_cycles;
      st->pos = ss.pos;
      st->M = ss.M;
      st->attn_cycles = ss.attn_cycles;
      st->ffn_cycles = ss.ffn_cycles;
      if (step_energy(&tech, &c->hw, &work, &ss, st, r, err, errlen)) {
        tern_tfm_step_stats_free(&ss);
        rc = -1;
        goto done;
      }
      tern_tfm_step_stats_free(&ss);
      /* the accelerator's logits drive generation (equal to li when bit-exact) */
      memcpy(li, la, (size_t)V * sizeof(int32_t));
    }
    st->int_top1 = tern_tfm_iargmax(li, V);
    st->int_logit = li[st->int_top1];
    if (greedy) {
      st->token = st->int_top1;
    } else {
      for (int v = 0; v < V; v++) ls[v] = (float)li[v] / 4096.0f;
      st->token = tern_tfm_sample(&smp, ls, V);
    }
    gen[s] = st->token;
    st->float_top1 = -1;
    if (g_has_float(&g)) {
      st->float_top1 = tern_tfm_argmax(lf, V);
      st->agree = st->float_top1 == st->int_top1;
      st->gap = st->agree ? 0.0 : (double)lf[st->float_top1] - (double)lf[st->int_top1];
      r->agree += st->agree;
    }
    r->n_steps = s + 1;
    if (out) {
      char *tb = ids_text(tok, &st->token, 1, 1), *ib = ids_text(tok, &st->int_top1, 1, 1);
      fprintf(out, "  step %3d: token %5d '%s'  integer top-1 %5d '%s' logit %d (Q12, %.4f)", s,
              st->token, tb ? tb : "?", st->int_top1, ib ? ib : "?", st->int_logit,
              (double)st->int_logit / 4096.0);
      free(tb);
      free(ib);
      if (accel)
        fprintf(out, "  %s: %s, %llu cycles", be,
                st->bit_exact ? "bit-exact" : "MISMATCH vs integer reference",
                (unsigned long long)st->cycles);
      if (g_has_float(&g) && st->agree) fprintf(out, "  float: agree\n");
      else if (g_has_float(&g)) {
        char *fb = ids_text(tok, &st->float_top1, 1, 1);
        fprintf(out, "  float: differs (float top-1 %d '%s', gap %.4f)\n", st->float_top1,
                fb ? fb : "?", st->gap);
        free(fb);
      } else fputc('\n', out);
    }
  }
  if (out) {
    char *pt = ids_text(tok, prompt, n, 0), *gt = ids_text(tok, gen, c->tokens, 0);
    if (pt && gt) {
      if (tok) fprintf(out, "tokenizer: %s\n", tern_tok_describe(tok));
      fprintf(out, "prompt:    \"%s\"\n", pt);
      fprintf(out, "generated: \"%s\"\n", gt);
    }
    free(pt);
    free(gt);
    if (g_has_float(&g))
      fprintf(out, "integer vs float top-1: %d/%d steps agree\n", r->agree, r->n_steps);
    if (accel) {
      fprintf(out, "%s vs integer reference: %d/%d steps bit-exact (all %d logits each)\n", be,
              r->bit_exact_steps, r->n_steps, V);
      const tern_gen_step *p0 = &r->step[0];
      double mhz = c->hw.clock_mhz;
      fprintf(out, "prefill (%s counters): %d tokens in %llu cycles = %.1f tokens/s at %.0f MHz, "
                   "%.3f uJ/token (%s table), DRAM weight bytes %llu\n",
              be, n, (unsigned long long)p0->cycles,
              p0->cycles ? n * mhz * 1e6 / (double)p0->cycles : 0.0, mhz,
              p0->energy_pj / 1e6 / n, c->tech ? c->tech : "45nm",
              (unsigned long long)p0->weight_bytes);
      if (r->n_steps > 1) {
        uint64_t cy = 0, wb = 0, db = 0, rb = 0;
        double pj = 0;
        for (int s = 1; s < r->n_steps; s++) {
          cy += r->step[s].cycles;
          wb += r->step[s].weight_bytes;
          db += r->step[s].dram_bytes;
          rb += r->step[s].dram_rd_bytes;
          pj += r->step[s].energy_pj;
        }
        int nd = r->n_steps - 1;
        fprintf(out, "decode (%s counters, mean of %d steps): %.0f cycles/token = %.1f tokens/s at "
                     "%.0f MHz, %.3f uJ/token, DRAM weight bytes/token %.0f, all DRAM bytes/token "
                     "%.0f\n",
                be, nd, (double)cy / nd, cy ? nd * mhz * 1e6 / (double)cy : 0.0, mhz,
                pj / 1e6 / nd, (double)wb / nd, (double)db / nd);
        double floor_cy = (double)rb / c->hw.dram_bw;
        fprintf(out, "decode roofline: DRAM bytes read / dram_bw = %.0f cycles/token, i.e. the "
                     "decode runs at %.1f %% of the DRAM-bandwidth roofline (counters + dram_bw)\n",
                floor_cy / nd, cy ? 100.0 * floor_cy / (double)cy : 0.0);
        if (g.rnn) {
          uint64_t sb = 0, kb = 0;
          for (int s = 1; s < r->n_steps; s++) {
            sb += r->step[s].state_bytes;
            kb += r->step[s].kv_bytes;
          }
          fprintf(out, "recurrent state in DRAM (h and Conv1D windows between steps, on chip "
                       "within a step): %.0f bytes read + written per decode step; local-attention "
                       "KV caches: %.0f bytes per decode step (the programs' DMAs)\n",
                  (double)sb / nd, (double)kb / nd);
        }
      }
      uint64_t all = r->attn_cycles + r->ffn_cycles + r->other_cycles;
      if (all)
        fprintf(out, "cycle shares over all steps: %s %.1f %%, %s %.1f %%, "
                     "embedding + LM head %.1f %%\n",
                g.rnn ? "temporal mixers (recurrent / local attention)" : "attention half",
                100.0 * r->attn_cycles / all, g.rnn ? "MLPs" : "FFN half", 100.0 * r->ffn_cycles / all,
                100.0 * r->other_cycles / all);
    }
    if (!accel) {
      fprintf(out, "timing (wall clock, CLOCK_MONOTONIC, integer reference only): prefill %d "
                   "tokens %.2f ms",
              n, r->prefill_ms);
      if (r->n_decode > 0)
        fprintf(out, "; decode %.3f ms/token = %.1f tokens/s over %d decode steps",
                r->decode_ms / r->n_decode,
                r->decode_ms > 0 ? 1e3 * r->n_decode / r->decode_ms : 0.0, r->n_decode);
      fputc('\n', out);
    }
  }
  if (accel && r->bit_exact_steps != r->n_steps && !rc)
    rc = rt_fail(err, errlen, -1, "%s: %d of %d steps differ from the integer reference", be,
               r->n_steps - r->bit_exact_steps, r->n_steps);
done:
  tern_tok_free(tok);
  if (rc && r->n_steps == 0) tern_gen_result_free(r);
  free(prompt);
  free(gen);
  free(li);
  free(lf);
  free(ls);
  tern_tfm_exec_free(ax.tx);
  tern_rnn_exec_free(ax.rx);
  free(la);
  tern_tfm_ictx_free(g.ic);
  tern_tfm_ctx_free(g.fc);
  tern_rnn_ictx_free(g.ric);
  tern_rnn_ctx_free(g.rfc);
  tern_rnn_qmodel_free(rq);
  tern_rnn_free(&rm);
  tern_tfm_qmodel_free(&q);
  tern_tfm_free(&m);
  return rc;
}
