/* `tern compare`: include/tern/compare.h. */
#include "tern/compare.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tern/ckpt.h"
#include "tern/compiler_tfm.h"
#include "rt_util.h"
#include "tern/err.h"
#include "tern/isa.h"
#include "tern/program.h"
#include "tern/rnn.h"
#include "tern/rnn_exec.h"
#include "tern/tfm.h"
#include "tern/tfm_exec.h"
#include "tern/tfm_int.h"

static const char *const default_models[] = {"tiny", "hawk-tiny", "griffin-tiny"};



void tern_compare_config_default(tern_compare_config *c) {
  memset(c, 0, sizeof *c);
  c->n_models = (int)(sizeof default_models / sizeof default_models[0]);
  for (int i = 0; i < c->n_models; i++) c->models[i] = default_models[i];
  c->n_contexts = 8;
  for (int i = 0; i < c->n_contexts; i++) c->contexts[i] = 64 << i;
  c->backend = "isa";
  c->hw = tern_hwcfg_default();
  c->tech = "45nm";
  c->prefill = 4;
}

/* ---- command line ----------------------------------------------------------- */

const char *tern_compare_usage(void) {
  return "usage: tern compare [MODEL ...] [--contexts L,L,...] [--backend isa|rtl] [--array RxC]\n"
         "                    [--set key=value]... [--tech NODE] [--prefill N] [--report DIR]\n"
         "                    [--watchdog N] [--max-cycles N]\n"
         "Decode cost per token against the context length, measured on the accelerator: for\n"
         "every model and context L, one decode step of the token at position L-1 (after a\n"
         "short real prefill and a seek to L-1; the counters do not depend on data values,\n"
         "tests/test_compare.cc).  Prints per model: cycles/token, uJ/token, ternary weight,\n"
         "KV-cache and recurrent-state DRAM bytes per token, each with its source, and a\n"
         "one-line verdict (cycles/token at the largest context / at the smallest).\n"
         "  MODEL              presets or model files, transformer or recurrent (default:\n"
         "                     tiny hawk-tiny griffin-tiny, ~200K parameters each)\n"
         "  --contexts LIST    increasing context lengths, comma-separated (default\n"
         "                     64,128,256,512,1024,2048,4096,8192)\n"
         "  --backend isa|rtl  ISA simulator (default; its cycle model equals the RTL's) or\n"
         "                     the Verilated RTL\n"
         "  --array RxC        accelerator array (default 16x16; 4x4 and 8x8 are the small\n"
         "                     test configurations)\n"
         "  --set key=value    accelerator parameter, repeatable; the transformer's attention\n"
         "                     keeps a row's scores in ACC, so 8192 positions need\n"
         "                     --set acc_depth=8192 (a context that does not fit is skipped\n"
         "                     with the compiler's message)\n"
         "  --tech NODE        energy table reports/tech/NODE.tsv: 45nm (default) or 7nm\n"
         "  --prefill N        real prefill tokens before the seek (default 4)\n"
         "  --report DIR       write DIR/compare.md, compare.html, compare.png (energy and\n"
         "                     cycles per token against context) and bytes.png (KV-cache and\n"
         "                     state bytes per token)\n" TERN_RUN_OPTS_HELP;
}

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out, char *err,
                     size_t errlen) {
  char *end = NULL;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || end == s || *end || errno || v < lo || v > hi)
    return tern_err(err, errlen, "%s: '%s', expected an integer in %ld..%ld", flag, s ? s : "",
                    lo, hi);
  *out = (int)v;
  return 0;
}

static int parse_contexts(const char *s, tern_compare_config *c, char *err, size_t errlen) {
  char buf[512];
  if (!s || !*s || strlen(s) >= sizeof buf)
    return tern_err(err, errlen, "--contexts: '%s', expected comma-separated context lengths "
                                 "such as 64,128,256",
                    s ? s : "");
  snprintf(buf, sizeof buf, "%s", s);
  c->n_contexts = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (c->n_contexts == TERN_COMPARE_MAX_CONTEXTS)
      return tern_err(err, errlen, "--contexts: more than %d values", TERN_COMPARE_MAX_CONTEXTS);
    int v;
    char e2[256];
    if (parse_int("--contexts", t, 2, TERN_TFM_MAX_CTX, &v, e2, sizeof e2))
      return tern_err(err, errlen, "%s", e2);
    if (c->n_contexts && v <= c->contexts[c->n_contexts - 1])
      return tern_err(err, errlen, "--contexts: %d after %d, expected strictly increasing values",
                      v, c->contexts[c->n_contexts - 1]);
    c->contexts[c->n_contexts++] = v;
  }
  if (!c->n_contexts)
    return tern_err(err, errlen, "--contexts: '%s', expected at least one context length", s);
  return 0;
}

int tern_compare_parse_args(int argc, char **argv, tern_compare_config *c, int *help, char *err,
                            size_t errlen) {
  tern_compare_config_default(c);
  *help = 0;
  int user_models = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *help = 1;
      return 0;
    }
    if (a[0] != '-') {
      if (user_models == TERN_COMPARE_MAX_MODELS)
        return tern_err(err, errlen, "MODEL: more than %d models", TERN_COMPARE_MAX_MODELS);
      c->models[user_models++] = a;
      c->n_models = user_models;
      continue;
    }
    static const char *const with_value[] = {"--contexts", "--backend",  "--array",
                                             "--set",      "--tech",     "--prefill",
                                             "--report",   "--watchdog", "--max-cycles"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
      if (!strcmp(a, with_value[k])) known = 1;
    if (!known)
      return tern_err(err, errlen,
                      "unknown option '%s' for tern compare, expected --contexts, --backend, "
                      "--array, --set, --tech, --prefill, --report, --watchdog or --max-cycles "
                      "(tern compare --help)",
                      a);
    if (i + 1 >= argc) return tern_err(err, errlen, "%s: missing value", a);
    const char *v = argv[++i];
    char e2[512];
    if (!strcmp(a, "--contexts")) {
      if (parse_contexts(v, c, err, errlen)) return -1;
    } else if (!strcmp(a, "--backend")) {
      if (strcmp(v, "isa") && strcmp(v, "rtl"))
        return tern_err(err, errlen, "--backend: '%s', expected isa or rtl", v);
      c->backend = v;
    } else if (!strcmp(a, "--array")) {
      int r, cc;
      if (tern_parse_array(v, &r, &cc, e2, sizeof e2)) return tern_err(err, errlen, "--array: %s", e2);
      if ((r == 4 && cc == 4) || (r == 8 && cc == 8)) {
        c->hw = tern_hwcfg_small(r, cc); /* the RTL test configurations, as tern generate */
      } else {
        c->hw.rows = r;
        c->hw.cols = cc;
      }
      if (tern_hwcfg_check(&c->hw, e2, sizeof e2))
        return tern_err(err, errlen, "--array %s: %s", v, e2);
    } else if (!strcmp(a, "--set")) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v)
        return tern_err(err, errlen, "--set: '%s', expected key=value (e.g. acc_depth=8192)", v);
      char key[64];
      size_t kl = (size_t)(eq - v);
      if (kl >= sizeof key) return tern_err(err, errlen, "--set: key of '%s' too long", v);
      memcpy(key, v, kl);
      key[kl] = 0;
      if (tern_hwcfg_set(&c->hw, key, eq + 1, e2, sizeof e2))
        return tern_err(err, errlen, "--set %s: %s", v, e2);
    } else if (!strcmp(a, "--tech")) {
      c->tech = v;
    } else if (!strcmp(a, "--prefill")) {
      if (parse_int("--prefill", v, 1, 4096, &c->prefill, err, errlen)) return -1;
    } else if (!strcmp(a, "--report")) {
      if (!*v) return tern_err(err, errlen, "--report: empty, expected a directory");
      c->report_dir = v;
    } else if (tern_run_opts_flag(&c->run, a, v, err, errlen)) {
      return -1;
    }
  }
  char e2[512];
  if (tern_hwcfg_check(&c->hw, e2, sizeof e2))
    return tern_err(err, errlen, "tern compare: hardware configuration: %s", e2);
  if (c->contexts[0] <= c->prefill)
    return tern_err(err, errlen,
                    "--contexts: %d, expected every context > --prefill (%d): the measured token "
                    "is at position context-1, after the prefill",
                    c->contexts[0], c->prefill);
  return 0;
}

/* ---- models -------------------------------------------------------------------- */

struct tern_compare_model {
  int rnn;
  char name[64];
  char note[256];
  /* transformer */
  tern_tfm_config tcfg;
  tern_tfm_model tm;
  tern_tfm_qmodel tq;
  int tq_ok;
  /* recurrent */
  tern_rnn_config rcfg;
  tern_rnn_model rm;
  tern_rnn_qmodel *rq;
};

void tern_compare_model_free(tern_compare_model *m) {
  if (!m) return;
  if (m->rnn) {
    tern_rnn_qmodel_free(m->rq);
    tern_rnn_free(&m->rm);
  } else {
    if (m->tq_ok) tern_tfm_qmodel_free(&m->tq);
    tern_tfm_free(&m->tm);
  }
  free(m);
}

const char *tern_compare_model_name(const tern_compare_model *m) { return m ? m->name : ""; }
int tern_compare_model_is_recurrent(const tern_compare_model *m) { return m ? m->rnn : 0; }

tern_compare_model *tern_compare_model_new(const char *name, int max_context, char *err,
                                           size_t errlen) {
  tern_compare_model *m = calloc(1, sizeof *m);
  if (!m) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  char e1[512], e2[512];
  if (tern_tfm_load_config(name, &m->tcfg, e1, sizeof e1) == 0) {
    snprintf(m->name, sizeof m->name, "%s", m->tcfg.name);
    if (m->tcfg.max_seq < max_context) {
      snprintf(m->note, sizeof m->note,
               "max_seq %d raised to %d in a copy of the config (the weights do not depend on "
               "max_seq: per-tensor PRNG streams)",
               m->tcfg.max_seq, max_context);
      m->tcfg.max_seq = max_context;
    }
    if (tern_tfm_load_model(name, &m->tcfg, &m->tm, err, errlen) ||
        tern_tfm_quantize(&m->tm, &m->tq, err, errlen)) {
      tern_compare_model_free(m);
      return NULL;
    }
    m->tq_ok = 1;
    return m;
  }
  if (tern_rnn_load_config(name, &m->rcfg, e2, sizeof e2) != 0) {
    /* neither: say both (a preset name of neither family, or a bad file) */
    tern_err(err, errlen, "MODEL '%s': not a transformer (%s) nor a recurrent model (%s)", name,
             e1, e2);
    free(m);
    return NULL;
  }
  m->rnn = 1;
  snprintf(m->name, sizeof m->name, "%s", m->rcfg.name);
  if (m->rcfg.max_seq < max_context) {
    snprintf(m->note, sizeof m->note,
             "max_seq %d raised to %d in a copy of the config (the weights do not depend on "
             "max_seq)",
             m->rcfg.max_seq, max_context);
    m->rcfg.max_seq = max_context;
  }
  if (tern_rnn_load_model(name, &m->rcfg, &m->rm, err, errlen)) {
    free(m);
    return NULL;
  }
  m->rq = tern_rnn_quantize(&m->rm, err, errlen);
  if (!m->rq) {
    tern_rnn_free(&m->rm);
    free(m);
    return NULL;
  }
  return m;
}

/* ---- one measurement -------------------------------------------------------------- */

void tern_compare_point_free(tern_compare_point *p) {
  if (!p) return;
  free(p->prog);
  p->prog = NULL;
  p->nprog = 0;
}

static const char prompt_text[] = "The quick brown fox jumps over the lazy dog. Hello, tern! ";

static int *make_tokens(int n, int vocab) {
  int *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
  if (!t) return NULL;
  int len = (int)sizeof prompt_text - 1;
  for (int i = 0; i < n; i++) t[i] = (unsigned char)prompt_text[i % len] % vocab;
  return t;
}

static double energy_of(const tern_tech *t, const tern_hwcfg *hw, const tern_counters *c) {
  if (!t) return 0.0;
  tern_energy en;
  char e[256];
  if (tern_energy_compute(t, hw, c, 0, 0, 1, &en, e, sizeof e)) return 0.0;
  return en.total_pj;
}

static int push_prog(tern_compare_point *pt, const tern_counters *c) {
  tern_counters *v = realloc(pt->prog, (size_t)(pt->nprog + 1) * sizeof *v);
  if (!v) return -1;
  pt->prog = v;
  pt->prog[pt->nprog++] = *c;
  return 0;
}

/* Adds one step's figures to a point (the sums over the decode steps of
 * tern_compare_measure_seq; a single step for tern_compare_measure). */
static void add_counters(tern_counters *a, const tern_counters *b) {
  for (int i = 0; i < TERN_NCOUNTERS; i++) a->v[i] += b->v[i];
}

static int add_tfm(tern_compare_point *pt, const tern_tfm_step_stats *st, char *err,
                   size_t errlen) {
  pt->cycles += st->total.v[TERN_CNT_CYCLES];
  pt->weight_bytes += st->weight_bytes;
  pt->mixer_cycles += st->attn_cycles;
  add_counters(&pt->total, &st->total);
  /* the KV split: the ATTN programs' DMAs in the KV region (tfm_exec checks that
   * the DMAs' bytes equal the run's DRAM counters) */
  pt->kv_rd += st->kv_rd;
  pt->kv_wr += st->kv_wr;
  for (int i = 0; i < st->nprog; i++)
    if (push_prog(pt, &st->prog[i].cnt)) return tern_err(err, errlen, "out of memory");
  return 0;
}

static int add_rnn(tern_compare_point *pt, const tern_rnn_step_stats *st, char *err,
                   size_t errlen) {
  pt->cycles += st->total.v[TERN_CNT_CYCLES];
  pt->weight_bytes += st->weight_bytes;
  pt->mixer_cycles += st->mix_cycles + st->attn_cycles;
  add_counters(&pt->total, &st->total);
  pt->kv_rd += st->dram.kv_rd;
  pt->kv_wr += st->dram.kv_wr;
  pt->state_rd += st->dram.state_rd;
  pt->state_wr += st->dram.state_wr;
  for (int i = 0; i < st->nprog; i++) {
    const tern_rnn_prog_stat *ps = &st->prog[i];
    const tern_rnn_dram_split *d = &ps->dram;
    /* the runner's split must be the counters' bytes */
    if (d->state_rd + d->kv_rd + d->other_rd != ps->cnt.v[TERN_CNT_DRAM_RD_BYTES] ||
        d->state_wr + d->kv_wr + d->other_wr != ps->cnt.v[TERN_CNT_DRAM_WR_BYTES])
      return tern_err(err, errlen,
                      "%s block %d: the runner's DRAM split (%" PRIu64 " / %" PRIu64
                      " bytes read / written) differs from the counters (%" PRIu64 " / %" PRIu64
                      ")",
                      tern_rnn_prog_kind_name(ps->kind), ps->block,
                      d->state_rd + d->kv_rd + d->other_rd, d->state_wr + d->kv_wr + d->other_wr,
                      ps->cnt.v[TERN_CNT_DRAM_RD_BYTES], ps->cnt.v[TERN_CNT_DRAM_WR_BYTES]);
    if (push_prog(pt, &ps->cnt)) return tern_err(err, errlen, "out of memory");
  }
  return 0;
}

/* On a fresh runner with `ctx` positions: a P-token prefill (its figures into
 * pre when not NULL), a seek to seek_pos when >= 0, then `decode` one-token
 * steps whose figures are summed into dec.  tok holds P + decode tokens. */
static int measure_tfm(const tern_compare_model *m, const char *backend, const tern_hwcfg *hw,
                       const tern_run_opts *ro, int ctx, int P, int seek_pos, int decode, const int *tok,
                       tern_compare_point *pre, tern_compare_point *dec, char *err,
                       size_t errlen) {
  tern_tfm_exec_opts o;
  tern_tfm_exec_opts_default(&o);
  o.backend = backend;
  o.hw = *hw;
  o.ctx = ctx;
  o.max_rows = P;
  if (ro) o.run = *ro;
  int rc = -1;
  int32_t *lg = malloc((size_t)m->tcfg.vocab * sizeof *lg);
  tern_tfm_exec *e = lg ? tern_tfm_exec_new(&m->tq, &o, err, errlen) : NULL;
  tern_tfm_step_stats st;
  memset(&st, 0, sizeof st);
  if (!e) {
    if (!lg) tern_err(err, errlen, "out of memory");
    goto out;
  }
  if (tern_tfm_exec_step(e, tok, P, lg, pre ? &st : NULL, err, errlen)) goto out;
  if (pre && add_tfm(pre, &st, err, errlen)) goto out;
  tern_tfm_step_stats_free(&st);
  if (seek_pos >= 0 && tern_tfm_exec_seek(e, seek_pos, err, errlen)) goto out;
  for (int i = 0; i < decode; i++) {
    if (tern_tfm_exec_step(e, &tok[P + i], 1, lg, &st, err, errlen) ||
        add_tfm(dec, &st, err, errlen))
      goto out;
    tern_tfm_step_stats_free(&st);
  }
  rc = 0;
out:
  tern_tfm_step_stats_free(&st);
  tern_tfm_exec_free(e);
  free(lg);
  return rc;
}

static int measure_rnn(const tern_compare_model *m, const char *backend, const tern_hwcfg *hw,
                       const tern_run_opts *ro, int ctx, int P, int seek_pos, int decode, const int *tok,
                       tern_compare_point *pre, tern_compare_point *dec, char *err,
                       size_t errlen) {
  tern_rnn_exec_opts o;
  tern_rnn_exec_opts_default(&o);
  o.backend = backend;
  o.hw = *hw;
  o.ctx = ctx;
  o.max_rows = P;
  if (ro) o.run = *ro;
  int rc = -1;
  int32_t *lg = malloc((size_t)m->rcfg.vocab * sizeof *lg);
  tern_rnn_exec *e = lg ? tern_rnn_exec_new(m->rq, &o, err, errlen) : NULL;
  tern_rnn_step_stats st;
  memset(&st, 0, sizeof st);
  if (!e) {
    if (!lg) tern_err(err, errlen, "out of memory");
    goto out;
  }
  if (tern_rnn_exec_step(e, tok, P, lg, pre ? &st : NULL, err, errlen)) goto out;
  if (pre && add_rnn(pre, &st, err, errlen)) goto out;
  tern_rnn_step_stats_free(&st);
  if (seek_pos >= 0 && tern_rnn_exec_seek(e, seek_pos, err, errlen)) goto out;
  for (int i = 0; i < decode; i++) {
    if (tern_rnn_exec_step(e, &tok[P + i], 1, lg, &st, err, errlen) ||
        add_rnn(dec, &st, err, errlen))
      goto out;
    tern_rnn_step_stats_free(&st);
  }
  rc = 0;
out:
  tern_rnn_step_stats_free(&st);
  tern_rnn_exec_free(e);
  free(lg);
  return rc;
}

int tern_compare_measure(const tern_compare_model *m, const char *backend, const tern_hwcfg *hw,
                         const tern_run_opts *ro, const tern_tech *tech, int context, int prefill,
                         tern_compare_point *pt, char *err, size_t errlen) {
  if (!m || !backend || !hw || !pt) return tern_err(err, errlen, "tern_compare_measure: null argument");
  memset(pt, 0, sizeof *pt);
  pt->context = context;
  pt->prefill = prefill;
  if (prefill < 1 || prefill > context - 1)
    return tern_err(err, errlen, "prefill %d at context %d: expected 1 .. context-1 (%d)", prefill,
                    context, context - 1);
  int vocab = m->rnn ? m->rcfg.vocab : m->tcfg.vocab;
  int *tok = make_tokens(prefill + 1, vocab);
  if (!tok) return tern_err(err, errlen, "out of memory");
  double t0 = rt_now_ms();
  int rc = m->rnn ? measure_rnn(m, backend, hw, ro, context, prefill, context - 1, 1, tok, NULL,
                                pt, err, errlen)
                  : measure_tfm(m, backend, hw, ro, context, prefill, context - 1, 1, tok, NULL,
                                pt, err, errlen);
  free(tok);
  if (rc) {
    tern_compare_point_free(pt);
    return -1;
  }
  pt->run_ms = rt_now_ms() - t0;
  pt->dram_rd = pt->total.v[TERN_CNT_DRAM_RD_BYTES];
  pt->dram_wr = pt->total.v[TERN_CNT_DRAM_WR_BYTES];
  pt->energy_pj = energy_of(tech, hw, &pt->total);
  pt->measured = 1;
  return 0;
}

int tern_compare_measure_seq(const tern_compare_model *m, const char *backend,
                             const tern_hwcfg *hw, const tern_run_opts *ro, const tern_tech *tech,
                             int prefill, int decode,
                             tern_compare_point *pre, tern_compare_point *dec, char *err,
                             size_t errlen) {
  if (!m || !backend || !hw || !pre || !dec)
    return tern_err(err, errlen, "tern_compare_measure_seq: null argument");
  memset(pre, 0, sizeof *pre);
  memset(dec, 0, sizeof *dec);
  int maxseq = m->rnn ? m->rcfg.max_seq : m->tcfg.max_seq;
  if (prefill < 1 || decode < 1 || prefill + decode > maxseq)
    return tern_err(err, errlen,
                    "prefill %d + decode %d tokens: expected prefill >= 1, decode >= 1 and "
                    "prefill + decode <= the model's max_seq (%d)",
                    prefill, decode, maxseq);
  int ctx = prefill + decode;
  pre->context = prefill;
  pre->prefill = prefill;
  dec->context = ctx;
  dec->prefill = prefill;
  int vocab = m->rnn ? m->rcfg.vocab : m->tcfg.vocab;
  int *tok = make_tokens(ctx, vocab);
  if (!tok) return tern_err(err, errlen, "out of memory");
  double t0 = rt_now_ms();
  int rc = m->rnn ? measure_rnn(m, backend, hw, ro, ctx, prefill, -1, decode, tok, pre, dec, err,
                                errlen)
                  : measure_tfm(m, backend, hw, ro, ctx, prefill, -1, decode, tok, pre, dec, err,
                                errlen);
  free(tok);
  if (rc) {
    tern_compare_point_free(pre);
    tern_compare_point_free(dec);
    return -1;
  }
  double ms = rt_now_ms() - t0;
  tern_compare_point *both[2] = {pre, dec};
  for (int i = 0; i < 2; i++) {
    tern_compare_point *p = both[i];
    p->run_ms = ms;
    p->dram_rd = p->total.v[TERN_CNT_DRAM_RD_BYTES];
    p->dram_wr = p->total.v[TERN_CNT_DRAM_WR_BYTES];
    p->energy_pj = energy_of(tech, hw, &p->total);
    p->measured = 1;
  }
  return 0;
}

/* ---- the comparison ------------------------------------------------------------------ */

void tern_compare_result_free(tern_compare_result *r) {
  if (!r) return;
  for (int i = 0; i < r->nmodels; i++) {
    for (int k = 0; k < r->model[i].npoints; k++) tern_compare_point_free(&r->model[i].pt[k]);
    free(r->model[i].pt);
  }
  free(r->model);
  r->model = NULL;
  r->nmodels = 0;
}

static void print_table(FILE *out, const tern_compare_model_result *mr) {
  fprintf(out, "  %8s %13s %9s %10s %10s %10s %10s %10s\n", "context", "cycles/token", "uJ/token",
          "weight B", "KV B", "state B", "other B", "DRAM B");
  for (int k = 0; k < mr->npoints; k++) {
    const tern_compare_point *p = &mr->pt[k];
    if (!p->measured) {
      fprintf(out, "  %8d  not measured: %s\n", p->context, p->note);
      continue;
    }
    uint64_t all = p->dram_rd + p->dram_wr;
    uint64_t kv = p->kv_rd + p->kv_wr, stb = p->state_rd + p->state_wr;
    uint64_t known = p->weight_bytes + kv + stb;
    fprintf(out, "  %8d %13" PRIu64 " %9.3f %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
                 " %10" PRIu64 "\n",
            p->context, p->cycles, p->energy_pj / 1e6, p->weight_bytes, kv, stb,
            all > known ? all - known : 0, all);
  }
}

int tern_compare_run(const tern_compare_config *c, tern_compare_result *r, FILE *out, char *err,
                     size_t errlen) {
  if (!c || !r) return rt_fail(err, errlen, -2, "tern_compare_run: null argument");
  memset(r, 0, sizeof *r);
  char e2[1024];
  const char *be = c->backend ? c->backend : "isa";
  if (strcmp(be, "isa") && strcmp(be, "rtl"))
    return rt_fail(err, errlen, -2, "--backend: '%s', expected isa or rtl", be);
  if (c->n_models < 1 || c->n_models > TERN_COMPARE_MAX_MODELS)
    return rt_fail(err, errlen, -2, "MODEL: %d models, expected 1 .. %d", c->n_models,
                 TERN_COMPARE_MAX_MODELS);
  if (c->n_contexts < 1 || c->n_contexts > TERN_COMPARE_MAX_CONTEXTS)
    return rt_fail(err, errlen, -2, "--contexts: %d values, expected 1 .. %d", c->n_contexts,
                 TERN_COMPARE_MAX_CONTEXTS);
  for (int k = 0; k < c->n_contexts; k++) {
    if (c->contexts[k] <= c->prefill || c->contexts[k] > TERN_TFM_MAX_CTX ||
        (k && c->contexts[k] <= c->contexts[k - 1]))
      return rt_fail(err, errlen, -2,
                   "--contexts: %d, expected strictly increasing values in %d .. %d (> --prefill)",
                   c->contexts[k], c->prefill + 1, TERN_TFM_MAX_CTX);
  }
  if (tern_hwcfg_check(&c->hw, e2, sizeof e2))
    return rt_fail(err, errlen, -2, "hardware configuration: %s", e2);
  for (int i = 0; i < c->n_models; i++) { /* every name first: fail before running anything */
    tern_tfm_config tc;
    tern_rnn_config rc;
    char e1[512];
    if (!c->models[i] || (tern_tfm_load_config(c->models[i], &tc, e1, sizeof e1) &&
                          tern_rnn_load_config(c->models[i], &rc, e2, sizeof e2)))
      return rt_fail(err, errlen, -2, "MODEL '%s': not a transformer (%s) nor a recurrent model (%s)",
                   c->models[i] ? c->models[i] : "", e1, e2);
  }
  char tp[600];
  if (tern_tech_path(c->tech ? c->tech : "45nm", tp, sizeof tp, e2, sizeof e2) ||
      tern_tech_load(tp, &r->tech, e2, sizeof e2))
    return rt_fail(err, errlen, -2, "--tech: %s", e2);
  snprintf(r->backend, sizeof r->backend, "%s", be);
  r->hw = c->hw;
  r->prefill = c->prefill;
  r->model = calloc((size_t)c->n_models, sizeof *r->model);
  if (!r->model) return rt_fail(err, errlen, -1, "out of memory");
  const int maxL = c->contexts[c->n_contexts - 1];
  const int rtl = !strcmp(be, "rtl");
  if (out) {
    char hn[128];
    tern_hwcfg_rtl_name(&c->hw, hn, sizeof hn);
    fprintf(out, "compare on the %s backend (%s, %s; %dx%d array, DRAM %d B/cycle, %.0f MHz), "
                 "energy: counters x %s\n",
            be, rtl ? "Verilated RTL" : "ISA simulator, whose cycle model equals the RTL's", hn,
            c->hw.rows, c->hw.cols, c->hw.dram_bw, c->hw.clock_mhz, r->tech.path);
    fprintf(out, "method: per context L one decode step of the token at position L-1, on a fresh "
                 "runner after a real %d-token prefill and a seek to L-1 (positions the prefill "
                 "did not write hold zeros); the counters do not depend on data values "
                 "(tests/test_compare.cc: identical counters after a real (L-1)-token prefill)\n",
            c->prefill);
  }
  int rc = 0, failed = -1;
  for (int i = 0; i < c->n_models && !rc; i++) {
    tern_compare_model_result *mr = &r->model[i];
    mr->first = mr->last = -1;
    tern_compare_model *m = tern_compare_model_new(c->models[i], maxL, e2, sizeof e2);
    if (!m) {
      rc = rt_fail(err, errlen, -2, "%s", e2);
      break;
    }
    r->nmodels = i + 1;
    snprintf(mr->name, sizeof mr->name, "%s", m->name);
    snprintf(mr->note, sizeof mr->note, "%.250s", m->note);
    mr->recurrent = m->rnn;
    if (m->rnn) {
      tern_rnn_params pc = tern_rnn_param_count(&m->rcfg);
      mr->params_total = pc.total;
      mr->params_ternary = pc.ternary;
      snprintf(mr->family, sizeof mr->family, "%s, recurrent, pattern %s",
               tern_rnn_arch_name(m->rcfg.arch), m->rcfg.pattern);
    } else {
      tern_tfm_params pc = tern_tfm_param_count(&m->tcfg);
      mr->params_total = pc.total;
      mr->params_ternary = pc.ternary;
      snprintf(mr->family, sizeof mr->family, "transformer%s",
               m->tcfg.window ? ", sliding window" : "");
    }
    mr->pt = calloc((size_t)c->n_contexts, sizeof *mr->pt);
    if (!mr->pt) {
      tern_compare_model_free(m);
      rc = rt_fail(err, errlen, -1, "out of memory");
      break;
    }
    mr->npoints = c->n_contexts;
    if (out) {
      fprintf(out, "\nmodel %s (%s; %.1fK parameters, %.1fK ternary)%s%s\n", mr->name, mr->family,
              mr->params_total / 1e3, mr->params_ternary / 1e3, mr->note[0] ? "; " : "",
              mr->note);
      fflush(out);
    }
    for (int k = 0; k < c->n_contexts; k++) {
      tern_compare_point *p = &mr->pt[k];
      if (tern_compare_measure(m, be, &c->hw, &c->run, &r->tech, c->contexts[k], c->prefill, p,
                               e2, sizeof e2)) {
        p->context = c->contexts[k];
        p->prefill = c->prefill;
        p->measured = 0;
        snprintf(p->note, sizeof p->note, "%.500s", e2);
        continue;
      }
      if (mr->first < 0) mr->first = k;
      mr->last = k;
    }
    tern_compare_model_free(m);
    if (out) print_table(out, mr);
    if (mr->first < 0) {
      if (failed < 0) failed = i; /* the other models still run */
      continue;
    }
    const tern_compare_point *a = &mr->pt[mr->first], *b = &mr->pt[mr->last];
    mr->cycles_ratio = a->cycles ? (double)b->cycles / (double)a->cycles : 0.0;
    mr->energy_ratio = a->energy_pj > 0 ? b->energy_pj / a->energy_pj : 0.0;
  }
  if (rc) return rc;
  if (failed >= 0) {
    const tern_compare_model_result *mr = &r->model[failed];
    return rt_fail(err, errlen, -1, "%s: no context could be measured (context %d: %s)", mr->name,
                 mr->pt[0].context, mr->pt[0].note);
  }
  /* verdict: per model, cycles/token at its largest measured context / at its smallest;
   * "flat" within 5 % */
  size_t at = 0;
  at += (size_t)snprintf(r->verdict, sizeof r->verdict,
                         "decode cycles/token at the largest / the smallest context:");
  for (int i = 0; i < r->nmodels && at < sizeof r->verdict; i++) {
    const tern_compare_model_result *mr = &r->model[i];
    double q = mr->cycles_ratio;
    int skipped = mr->npoints - 1 - mr->last; /* larger contexts that were not measured */
    if (mr->first == mr->last)
      at += (size_t)snprintf(r->verdict + at, sizeof r->verdict - at, "%s %s: only %d measured",
                             i ? ";" : "", mr->name, mr->pt[mr->first].context);
    else
      at += (size_t)snprintf(r->verdict + at, sizeof r->verdict - at,
                             "%s %s %d/%d = %.2f (%s%s)", i ? ";" : "", mr->name,
                             mr->pt[mr->last].context, mr->pt[mr->first].context, q,
                             q <= 1.05 && q >= 0.95 ? "flat" : q > 1.0 ? "grows" : "shrinks",
                             skipped ? "; larger contexts not measured" : "");
  }
  for (int i = 0; i < r->nmodels && at < sizeof r->verdict; i++)
    at += (size_t)snprintf(r->verdict + at, sizeof r->verdict - at, "%s %s %.2f",
                           i ? "," : ". Energy/token, same ratio:", r->model[i].name,
                           r->model[i].energy_ratio);
  if (out) {
    fprintf(out,
            "\nsources: cycles/token = CYCLES counter summed over the step's programs (%s); "
            "uJ/token = the counters x %s; weight B = ternary weight bytes = WBUF_WR x tile bytes "
            "(counters); KV B / state B = DRAM bytes read + written by the LOAD/STORE "
            "instructions of the step whose address lies in the KV-cache / recurrent-state "
            "region of the memory plan (each program's classified bytes are checked equal to its "
            "DRAM_RD/WR_BYTES counters); other B = the rest (x, constants, int8 embedding row and "
            "LM head); DRAM B = DRAM_RD_BYTES + DRAM_WR_BYTES counters\n",
            rtl ? "RTL counters" : "ISA simulator", r->tech.path);
    fprintf(out, "verdict: %s\n", r->verdict);
  }
  return 0;
}
