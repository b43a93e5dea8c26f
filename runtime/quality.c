/* Bits per byte of the float reference, the integer reference and the
 * accelerator: include/tern/quality.h. */
#include "tern/quality.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_util.h"
#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/tfm.h"
#include "tern/tfm_exec.h"
#include "tern/rnn.h"
#include "tern/rnn_exec.h"
#include "tern/tfm_int.h"

#define Q_MAX_TEXT (64u << 20)

void tern_quality_config_default(tern_quality_config *c) {
  memset(c, 0, sizeof *c);
  c->hw = tern_hwcfg_default();
}

static int read_text(const char *path, uint8_t **buf, size_t *n, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)Q_MAX_TEXT) {
    fclose(f);
    return tern_err(err, errlen, "%s: expected a regular file of at most %u bytes", path, Q_MAX_TEXT);
  }
  *buf = malloc((size_t)sb.st_size + 1);
  if (!*buf) {
    fclose(f);
    return tern_err(err, errlen, "out of memory");
  }
  *n = fread(*buf, 1, (size_t)sb.st_size, f);
  int bad = ferror(f) || *n != (size_t)sb.st_size;
  fclose(f);
  return bad ? tern_err(err, errlen, "%s: read error", path) : 0;
}

/* -log2 softmax(x)[t], in double */
static double bits_f(const float *x, int V, int t) {
  double mx = x[0];
  for (int v = 1; v < V; v++) mx = fmax(mx, (double)x[v]);
  double s = 0.0;
  for (int v = 0; v < V; v++) s += exp((double)x[v] - mx);
  return (mx + log(s) - (double)x[t]) / log(2.0);
}

static double bits_i(const int32_t *x, int V, int t) {
  double mx = x[0] / 4096.0;
  for (int v = 1; v < V; v++) mx = fmax(mx, x[v] / 4096.0);
  double s = 0.0;
  for (int v = 0; v < V; v++) s += exp(x[v] / 4096.0 - mx);
  return (mx + log(s) - x[t] / 4096.0) / log(2.0);
}

static int argmax_f(const float *x, int V) { return tern_tfm_argmax(x, V); }

/* The model under test: a transformer or a recurrent model, each with its
 * float reference, integer reference and (optional) accelerator runner. */
typedef struct qm {
  int rnn;
  tern_tfm_model tm;
  tern_tfm_qmodel tq;
  tern_tfm_ctx *tf;
  tern_tfm_ictx *ti;
  tern_tfm_exec *tx;
  tern_rnn_model rm;
  tern_rnn_qmodel *rq;
  tern_rnn_ctx *rf;
  tern_rnn_ictx *ri;
  tern_rnn_exec *rx;
} qm;

static int qm_open(qm *m, const char *model, int rnn, const tern_tfm_config *tc,
                   const tern_rnn_config *rc, int W, const char *backend, const tern_hwcfg *hw,
                   const tern_run_opts *ro, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->rnn = rnn;
  if (rnn) {
    if (tern_rnn_load_model(model, rc, &m->rm, err, errlen) ||
        !(m->rq = tern_rnn_quantize(&m->rm, err, errlen)) ||
        !(m->rf = tern_rnn_ctx_new(&m->rm, err, errlen)) ||
        !(m->ri = tern_rnn_ictx_new(m->rq, err, errlen)))
      return -1;
    if (backend) {
      tern_rnn_exec_opts eo;
      tern_rnn_exec_opts_default(&eo);
      eo.backend = backend;
      eo.hw = *hw;
      eo.ctx = W;
      eo.max_rows = W;
      eo.run = *ro;
      if (!(m->rx = tern_rnn_exec_new(m->rq, &eo, err, errlen))) return -1;
    }
    return 0;
  }
  if (tern_tfm_load_model(model, tc, &m->tm, err, errlen) ||
      tern_tfm_quantize(&m->tm, &m->tq, err, errlen) ||
      !(m->tf = tern_tfm_ctx_new(&m->tm, W, err, errlen)) ||
      !(m->ti = tern_tfm_ictx_new(&m->tq, W, err, errlen)))
    return -1;
  if (backend) {
    tern_tfm_exec_opts eo;
    tern_tfm_exec_opts_default(&eo);
    eo.backend = backend;
    eo.hw = *hw;
    eo.ctx = W;
    eo.max_rows = W;
    eo.run = *ro;
    if (!(m->tx = tern_tfm_exec_new(&m->tq, &eo, err, errlen))) return -1;
  }
  return 0;
}

static void qm_close(qm *m) {
  tern_tfm_exec_free(m->tx);
  tern_tfm_ictx_free(m->ti);
  tern_tfm_ctx_free(m->tf);
  tern_tfm_qmodel_free(&m->tq);
  tern_tfm_free(&m->tm);
  tern_rnn_exec_free(m->rx);
  tern_rnn_ictx_free(m->ri);
  tern_rnn_ctx_free(m->rf);
  tern_rnn_qmodel_free(m->rq);
  tern_rnn_free(&m->rm);
}

/* every row's logits of n tokens from a fresh context / state */
static int qm_float(qm *m, const int *tok, int n, float *out, char *err, size_t errlen) {
  if (m->rnn) {
    tern_rnn_ctx_reset(m->rf);
    return tern_rnn_prefill(m->rf, tok, n, out, 1, err, errlen);
  }
  tern_tfm_ctx_reset(m->tf);
  return tern_tfm_prefill(m->tf, tok, n, out, 1, err, errlen);
}

static int qm_int(qm *m, const int *tok, int n, int32_t *out, char *err, size_t errlen) {
  if (m->rnn) {
    tern_rnn_ictx_reset(m->ri);
    return tern_rnn_iprefill(m->ri, tok, n, out, 1, err, errlen);
  }
  tern_tfm_ictx_reset(m->ti);
  return tern_tfm_iprefill(m->ti, tok, n, out, 1, err, errlen);
}

/* one prefill step of n tokens on the accelerator, every row's logits */
static int qm_accel(qm *m, const int *tok, int n, int32_t *out, uint64_t *cycles, char *err,
                    size_t errlen) {
  int e;
  if (m->rnn) {
    tern_rnn_step_stats st;
    memset(&st, 0, sizeof st);
    tern_rnn_exec_reset(m->rx);
    e = tern_rnn_exec_step_all(m->rx, tok, n, out, &st, err, errlen);
    *cycles += st.total.v[TERN_CNT_CYCLES];
    tern_rnn_step_stats_free(&st);
    return e;
  }
  tern_tfm_step_stats st;
  memset(&st, 0, sizeof st);
  e = tern_tfm_exec_seek(m->tx, 0, err, errlen) ||
      tern_tfm_exec_step_all(m->tx, tok, n, out, &st, err, errlen);
  *cycles += st.total.v[TERN_CNT_CYCLES];
  tern_tfm_step_stats_free(&st);
  return e ? -1 : 0;
}


int tern_quality(const tern_quality_config *c, tern_quality_result *r, FILE *out, char *err,
                 size_t errlen) {
  if (!c || !r || !c->model || !c->text)
    return rt_fail(err, errlen, -2, "tern_quality: model and text are required");
  memset(r, 0, sizeof *r);
  int accel = c->backend && *c->backend;
  if (accel && strcmp(c->backend, "isa") && strcmp(c->backend, "rtl"))
    return rt_fail(err, errlen, -2, "--backend: '%s', expected isa or rtl", c->backend);
  tern_tfm_config cfg;
  tern_rnn_config rcfg;
  int rnn = 0;
  memset(&rcfg, 0, sizeof rcfg);
  if (tern_tfm_load_config(c->model, &cfg, err, errlen)) {
    char e2[512];
    if (tern_rnn_load_config(c->model, &rcfg, e2, sizeof e2)) return -2; /* the transformer's message */
    rnn = 1;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "%s", rcfg.name);
    cfg.vocab = rcfg.vocab;
    cfg.max_seq = rcfg.max_seq;
  }
  if (cfg.vocab != 256)
    return rt_fail(err, errlen, -2, "%s: vocab %d; bits per byte needs a byte-level model (vocab "
                   "256)", c->model, cfg.vocab);
  int maxw = cfg.max_seq < TERN_TFM_MAX_CTX ? cfg.max_seq : TERN_TFM_MAX_CTX;
  int W = c->window ? c->window : (maxw < TERN_QUALITY_WINDOW ? maxw : TERN_QUALITY_WINDOW);
  if (W < 1 || W > maxw)
    return rt_fail(err, errlen, -2, "--window %d, expected 1..%d (max_seq of '%s')", W, maxw,
                   cfg.name);
  if (accel) {
    char e2[512];
    if (tern_hwcfg_check(&c->hw, e2, sizeof e2))
      return rt_fail(err, errlen, -2, "hardware configuration: %s", e2);
  }
  uint8_t *text = NULL;
  size_t n = 0;
  if (read_text(c->text, &text, &n, err, errlen)) return -2;
  if (c->max_bytes && c->max_bytes < n) n = c->max_bytes;
  if (n < 2) {
    free(text);
    return rt_fail(err, errlen, -2, "%s: %zu bytes, expected at least 2", c->text, n);
  }
  size_t accel_n = accel ? (c->accel_bytes && c->accel_bytes < n ? c->accel_bytes : n) : 0;
  qm m;
  memset(&m, 0, sizeof m);
  int *tok = malloc(((size_t)W + 1) * sizeof(int));
  float *lf = malloc((size_t)W * 256 * sizeof(float));
  int32_t *li = malloc((size_t)W * 256 * sizeof(int32_t));
  int32_t *la = malloc((size_t)W * 256 * sizeof(int32_t));
  int rc = 0;
  if (!tok || !lf || !li || !la) {
    rc = rt_fail(err, errlen, -1, "out of memory");
    goto done;
  }
  if (qm_open(&m, c->model, rnn, &cfg, &rcfg, W, accel ? c->backend : NULL, &c->hw, &c->run, err,
              errlen)) {
    rc = -1;
    goto done;
  }
  snprintf(r->model, sizeof r->model, "%s", cfg.name);
  r->bytes = n;
  r->window = W;
  double sf = 0, si = 0, sa = 0, sis = 0;
  size_t agree = 0;
  if (out)
    fprintf(out, "quality of '%s' on %s: %zu bytes, windows of %d + 1 bytes (%d fed, stride %d)%s\n",
            cfg.name, c->text, n, W, W, W, accel ? "" : "; references only");
  /* window: W + 1 bytes from s (stride W); the first len - 1 are fed, each predicts the next */
  for (size_t s = 0; s + 1 < n; s += (size_t)W) {
    int len = (int)(n - s < (size_t)W + 1 ? n - s : (size_t)W + 1);
    for (int i = 0; i < len; i++) tok[i] = text[s + (size_t)i];
    double t0 = rt_now_ms();
    if (qm_float(&m, tok, len - 1, lf, err, errlen)) {
      rc = -1;
      goto done;
    }
    double t1 = rt_now_ms();
    if (qm_int(&m, tok, len - 1, li, err, errlen)) {
      rc = -1;
      goto done;
    }
    double t2 = rt_now_ms();
    r->seconds_float += (t1 - t0) / 1e3;
    r->seconds_int += (t2 - t1) / 1e3;
    for (int i = 0; i + 1 < len; i++) {
      const float *x = lf + (size_t)i * 256;
      const int32_t *y = li + (size_t)i * 256;
      sf += bits_f(x, 256, tok[i + 1]);
      si += bits_i(y, 256, tok[i + 1]);
      agree += tern_tfm_iargmax(y, 256) == argmax_f(x, 256);
      r->predicted++;
    }
    if (accel && s + 1 < accel_n) {
      /* one prefill step of the window's first alen - 1 bytes: the logits of every row */
      int alen = (int)(accel_n - s < (size_t)len ? accel_n - s : (size_t)len);
      if (qm_accel(&m, tok, alen - 1, la, &r->accel_cycles, err, errlen)) {
        rc = -1;
        goto done;
      }
      for (int i = 0; i + 1 < alen; i++) {
        const int32_t *x = la + (size_t)i * 256, *y = li + (size_t)i * 256;
        r->accel_bit_exact += !memcmp(x, y, 256 * sizeof(int32_t));
        sa += bits_i(x, 256, tok[i + 1]);
        sis += bits_i(y, 256, tok[i + 1]);
        r->accel_predicted++;
      }
      r->seconds_accel += (rt_now_ms() - t2) / 1e3;
    }
  }
  r->bpb_float = sf / (double)r->predicted;
  r->bpb_int = si / (double)r->predicted;
  r->top1_agree = (double)agree / (double)r->predicted;
  r->rel_cost = (r->bpb_int - r->bpb_float) / r->bpb_float;
  if (r->accel_predicted) {
    r->bpb_accel = sa / (double)r->accel_predicted;
    r->bpb_int_slice = sis / (double)r->accel_predicted;
  }
  if (out) {
    fprintf(out, "  %-34s %10s %12s\n", "model", "bits/byte", "bytes");
    fprintf(out, "  %-34s %10.4f %12zu   (%.1f s)\n", "tern float reference", r->bpb_float,
            r->predicted, r->seconds_float);
    fprintf(out, "  %-34s %10.4f %12zu   (%.1f s)\n", "tern integer reference", r->bpb_int,
            r->predicted, r->seconds_int);
    if (r->accel_predicted) {
      char lab[64];
      snprintf(lab, sizeof lab, "accelerator (%s, %dx%d)", c->backend, c->hw.rows, c->hw.cols);
      fprintf(out, "  %-34s %10.4f %12zu   (%.1f s, %llu cycles)\n", lab, r->bpb_accel,
              r->accel_predicted, r->seconds_accel, (unsigned long long)r->accel_cycles);
      fprintf(out, "  %-34s %10.4f %12zu\n", "integer reference, same bytes", r->bpb_int_slice,
              r->accel_predicted);
      fprintf(out, "  accelerator logits bit-exact with the integer reference: %zu/%zu positions\n",
              r->accel_bit_exact, r->accel_predicted);
    }
    fprintf(out, "  integer pipeline cost: %+.2f %% bits per byte relative to the float reference; "
                 "top-1 agreement %.2f %%\n", 100.0 * r->rel_cost, 100.0 * r->top1_agree);
  }
  if (r->accel_predicted && r->accel_bit_exact != r->accel_predicted)
    rc = rt_fail(err, errlen, -1, "accelerator logits differ from the integer reference at %zu of "
                 "%zu positions", r->accel_predicted - r->accel_bit_exact, r->accel_predicted);
done:
  qm_close(&m);
  free(tok);
  free(lf);
  free(li);
  free(la);
  free(text);
  return rc;
}
