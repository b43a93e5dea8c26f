/* Float32 reference of the recurrent LMs (include/tern/rnn.h, docs/MODELS.md
 * "Recurrent models (issue 4)"): embedding, RMSNorm, Griffin's recurrent
 * block (GeLU(Linear_y x) * RG-LRU(Conv1D(Linear_x x)) -> Linear_out), local
 * MQA with a ring K/V of `window` positions, the MatMul-free MLGRU, the gated
 * MLPs, the final norm and the LM head.  Every projection is a BitLinear with
 * the fake quantisation of models/tfm_float.c.  All per-token work is done
 * row by row in position order, so a prefill of n tokens and n decodes of
 * one token perform the same float operations in the same order. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_common.h"
#include "tern/err.h"
#include "tern/rnn.h"

struct tern_rnn_ctx {
  const tern_rnn_model *m;
  int pos;
  int ring;        /* K/V slots of an attention block: min(window, max_seq) */
  uint64_t nstate; /* floats */
  float *state;
  uint64_t *off;   /* per block: offset of its state */
  uint64_t macs;
  tern_rnn_trace_fn trace;
  void *trace_user;
};

/* ---- context ----------------------------------------------------------------- */

void tern_rnn_ctx_free(tern_rnn_ctx *ctx) {
  if (!ctx) return;
  free(ctx->state);
  free(ctx->off);
  free(ctx);
}

tern_rnn_ctx *tern_rnn_ctx_new(const tern_rnn_model *m, char *err, size_t errlen) {
  if (!m || !m->block || !m->embed.q) {
    tern_err(err, errlen, "tern_rnn_ctx_new: model not generated");
    return NULL;
  }
  const tern_rnn_config *c = &m->cfg;
  tern_rnn_ctx *x = calloc(1, sizeof *x);
  if (!x) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  x->m = m;
  x->ring = c->window < c->max_seq ? c->window : c->max_seq;
  x->nstate = tern_rnn_state_floats(c);
  x->off = calloc((size_t)c->layers, sizeof *x->off);
  x->state = calloc((size_t)(x->nstate ? x->nstate : 1), sizeof(float));
  if (!x->off || !x->state) {
    tern_rnn_ctx_free(x);
    tern_err(err, errlen, "out of memory for the recurrent state");
    return NULL;
  }
  uint64_t o = 0, w = (uint64_t)c->lru_width, hd = (uint64_t)tern_rnn_head_dim(c);
  for (int b = 0; b < c->layers; b++) {
    x->off[b] = o;
    switch (m->block[b].kind) {
      case TERN_RNN_RECURRENT: o += w * (uint64_t)c->conv_width; break;
      case TERN_RNN_ATTENTION: o += 2 * (uint64_t)x->ring * hd; break;
      case TERN_RNN_MLGRU_BLK: o += w; break;
      default: break;
    }
  }
  return x;
}

void tern_rnn_ctx_reset(tern_rnn_ctx *ctx) {
  if (!ctx) return;
  ctx->pos = 0;
  memset(ctx->state, 0, (size_t)ctx->nstate * sizeof(float));
}

int tern_rnn_ctx_pos(const tern_rnn_ctx *ctx) { return ctx ? ctx->pos : 0; }
uint64_t tern_rnn_ctx_state_floats(const tern_rnn_ctx *ctx) { return ctx ? ctx->nstate : 0; }
void tern_rnn_ctx_get_state(const tern_rnn_ctx *ctx, float *out) {
  if (ctx && out) memcpy(out, ctx->state, (size_t)ctx->nstate * sizeof(float));
}
uint64_t tern_rnn_ctx_last_macs(const tern_rnn_ctx *ctx) { return ctx ? ctx->macs : 0; }

void tern_rnn_ctx_set_trace(tern_rnn_ctx *ctx, tern_rnn_trace_fn fn, void *user) {
  if (!ctx) return;
  ctx->trace = fn;
  ctx->trace_user = user;
}

/* ---- building blocks ------------------------------------------------------------ */

static void rmsnorm(const float *x, const float *g, int n, float eps, float *y) {
  float ss = 0.0f;
  for (int i = 0; i < n; i++) ss += x[i] * x[i];
  float rms = sqrtf(ss / (float)n + eps);
  for (int i = 0; i < n; i++) y[i] = x[i] / rms * g[i];
}

static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

static float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

float tern_rnn_softplus(float x) {
  if (x > 20.0f) return x;
  if (x < -20.0f) return expf(x);
  return log1pf(expf(x));
}

/* per-token absmax int8 quantisation of x[0..K) (models/tfm_float.c) */
static float quant_row(const float *x, int K, int *xq) {
  float amax = 0.0f;
  for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[k]));
  float gamma = fmaxf(amax, 1e-5f);
  float scale = 127.0f / gamma;
  for (int k = 0; k < K; k++) {
    float r = roundf(x[k] * scale);
    xq[k] = (int)fminf(fmaxf(r, -128.0f), 127.0f);
  }
  return gamma;
}

typedef struct scratch {
  int *xq;
  int32_t *acc;
} scratch;

/* BitLinear exactly as models/tfm_float.c: y = (xq . W) * beta * gamma / 127 */
static void bitlinear(tern_rnn_ctx *ctx, const float *x, const tern_tpacked *t, float *y,
                      scratch *s) {
  int K = t->k, N = t->n;
  float gamma = quant_row(x, K, s->xq);
  for (int n = 0; n < N; n++) s->acc[n] = 0;
  for (int k = 0; k < K; k++) {
    int xq = s->xq[k];
    if (xq == 0) continue;
    size_t base = (size_t)k * (size_t)N;
    for (int n = 0; n < N; n++) s->acc[n] += xq * tern_tpacked_get(t->codes, base + (size_t)n);
  }
  for (int n = 0; n < N; n++) y[n] = (float)s->acc[n] * t->beta * gamma / 127.0f;
  ctx->macs += (uint64_t)K * (uint64_t)N;
}

/* Block-diagonal BitLinear: one quantisation of the whole row (one gamma),
 * block h maps x[h*S .. h*S+S) to y[h*S .. h*S+S). */
static void bitlinear_bd(tern_rnn_ctx *ctx, const float *x, const tern_tblockdiag *t, float *y,
                         scratch *s) {
  int S = t->size, W = t->blocks * t->size;
  float gamma = quant_row(x, W, s->xq);
  for (int n = 0; n < W; n++) s->acc[n] = 0;
  for (int h = 0; h < t->blocks; h++) {
    size_t cbase = (size_t)h * (size_t)S * (size_t)S;
    for (int k = 0; k < S; k++) {
      int xq = s->xq[h * S + k];
      if (xq == 0) continue;
      size_t base = cbase + (size_t)k * (size_t)S;
      int32_t *acc = s->acc + (size_t)h * (size_t)S;
      for (int n = 0; n < S; n++) acc[n] += xq * tern_tpacked_get(t->codes, base + (size_t)n);
    }
  }
  for (int n = 0; n < W; n++) y[n] = (float)s->acc[n] * t->beta * gamma / 127.0f;
  ctx->macs += (uint64_t)W * (uint64_t)S;
}

void tern_rnn_rglru_step(int n, const float *ga, const float *gx, const float *b_a,
                         const float *b_x, const float *lambda, const float *x, float *h,
                         float *a_out) {
  for (int j = 0; j < n; j++) {
    float r = sigmoidf_(ga[j] + b_a[j]);
    float i = sigmoidf_(gx[j] + b_x[j]);
    float log_a = -TERN_RNN_RGLRU_C * r * tern_rnn_softplus(-lambda[j]);
    float a = expf(log_a);
    float mult = sqrtf(fmaxf(1.0f - a * a, 0.0f));
    h[j] = a * h[j] + mult * (i * x[j]);
    if (a_out) a_out[j] = a;
  }
}

/* rotate-half RoPE (base 10000) of nheads heads of size hd at position pos */
static void rope(float *v, int nheads, int hd, int pos) {
  int half = hd / 2;
  for (int i = 0; i < half; i++) {
    double ang = (double)pos * pow(10000.0, -2.0 * (double)i / (double)hd);
    float cs = (float)cos(ang), sn = (float)sin(ang);
    for (int h = 0; h < nheads; h++) {
      float *p = v + (size_t)h * (size_t)hd;
      float x0 = p[i], x1 = p[i + half];
      p[i] = x0 * cs - x1 * sn;
      p[i + half] = x0 * sn + x1 * cs;
    }
  }
}

/* ---- temporal mixers (one row h of dim floats at position t -> out, dim floats) ------- */

typedef struct bufs {
  float *b1, *b2, *b3, *b4, *sc;
  scratch s;
} bufs;

static void mix_recurrent(tern_rnn_ctx *ctx, const tern_rnn_block *B, float *st, const float *h,
                          float *out, bufs *u) {
  const tern_rnn_config *c = &ctx->m->cfg;
  int w = c->lru_width, cw = c->conv_width;
  float *hs = st, *win = st + w; /* h, then (cw-1) rows of past conv inputs, oldest first */
  float *xb = u->b1, *yb = u->b2, *xc = u->b3, *ga = u->b4, *gx = u->sc;
  bitlinear(ctx, h, &B->wx, xb, &u->s);
  bitlinear(ctx, h, &B->wy, yb, &u->s);
  for (int j = 0; j < w; j++) yb[j] = gelu_tanh(yb[j]);
  /* causal depthwise Conv1D: taps 0..cw-2 on the stored inputs, tap cw-1 on the new one */
  for (int j = 0; j < w; j++) {
    float acc = 0.0f;
    for (int k = 0; k < cw - 1; k++) acc += B->conv_w[(size_t)k * w + j] * win[(size_t)k * w + j];
    acc += B->conv_w[(size_t)(cw - 1) * w + j] * xb[j];
    xc[j] = acc + B->conv_b[j];
  }
  if (cw > 1) {
    memmove(win, win + w, (size_t)(cw - 2) * (size_t)w * sizeof(float));
    memcpy(win + (size_t)(cw - 2) * w, xb, (size_t)w * sizeof(float));
  }
  bitlinear_bd(ctx, xc, &B->gate_a, ga, &u->s);
  bitlinear_bd(ctx, xc, &B->gate_x, gx, &u->s);
  tern_rnn_rglru_step(w, ga, gx, B->b_a, B->b_x, B->lambda, xc, hs, NULL);
  for (int j = 0; j < w; j++) xb[j] = hs[j] * yb[j];
  bitlinear(ctx, xb, &B->wout, out, &u->s);
}

static void mix_attention(tern_rnn_ctx *ctx, const tern_rnn_block *B, float *st, int t,
                          const float *h, float *out, bufs *u) {
  const tern_rnn_config *c = &ctx->m->cfg;
  int d = c->dim, hd = tern_rnn_head_dim(c), R = ctx->ring;
  float *kc = st, *vc = st + (size_t)R * (size_t)hd;
  float *q = u->b1, *a = u->b2, *sc = u->sc;
  float *ki = kc + (size_t)(t % R) * hd, *vi = vc + (size_t)(t % R) * hd;
  bitlinear(ctx, h, &B->wq, q, &u->s);
  bitlinear(ctx, h, &B->wk, ki, &u->s);
  bitlinear(ctx, h, &B->wv, vi, &u->s);
  rope(q, c->heads, hd, t);
  rope(ki, 1, hd, t);
  int j0 = t - c->window + 1 > 0 ? t - c->window + 1 : 0;
  float inv = 1.0f / sqrtf((float)hd);
  for (int hh = 0; hh < c->heads; hh++) {
    const float *qh = q + (size_t)hh * hd;
    float mx = -FLT_MAX;
    for (int j = j0; j <= t; j++) {
      const float *kj = kc + (size_t)(j % R) * hd;
      float s = 0.0f;
      for (int e = 0; e < hd; e++) s += qh[e] * kj[e];
      s *= inv;
      sc[j - j0] = s;
      mx = fmaxf(mx, s);
    }
    float sum = 0.0f;
    for (int j = j0; j <= t; j++) {
      sc[j - j0] = expf(sc[j - j0] - mx);
      sum += sc[j - j0];
    }
    float *ah = a + (size_t)hh * hd;
    for (int e = 0; e < hd; e++) ah[e] = 0.0f;
    for (int j = j0; j <= t; j++) {
      float pj = sc[j - j0] / sum;
      const float *vj = vc + (size_t)(j % R) * hd;
      for (int e = 0; e < hd; e++) ah[e] += pj * vj[e];
    }
    ctx->macs += 2 * (uint64_t)(t - j0 + 1) * (uint64_t)hd;
  }
  bitlinear(ctx, a, &B->wo, out, &u->s);
  (void)d;
}

static void mix_mlgru(tern_rnn_ctx *ctx, const tern_rnn_block *B, float *hs, const float *h,
                      float *out, bufs *u) {
  int w = ctx->m->cfg.lru_width;
  float *f = u->b1, *cc = u->b2, *g = u->b3;
  bitlinear(ctx, h, &B->wf, f, &u->s);
  bitlinear(ctx, h, &B->wc, cc, &u->s);
  bitlinear(ctx, h, &B->wg, g, &u->s);
  for (int j = 0; j < w; j++) {
    float fj = sigmoidf_(f[j]);
    float cj = cc[j] / (1.0f + expf(-cc[j])); /* SiLU */
    hs[j] = fj * hs[j] + (1.0f - fj) * cj;
    g[j] = sigmoidf_(g[j]) * hs[j];
  }
  bitlinear(ctx, g, &B->wmo, out, &u->s);
}

static void mlp(tern_rnn_ctx *ctx, const tern_rnn_block *B, const float *h, float *out,
                bufs *u) {
  const tern_rnn_config *c = &ctx->m->cfg;
  float *g = u->b1, *up = u->b2;
  bitlinear(ctx, h, &B->gate, g, &u->s);
  bitlinear(ctx, h, &B->up, up, &u->s);
  if (c->arch == TERN_RNN_MLGRU)
    for (int j = 0; j < c->ffn; j++) g[j] = g[j] / (1.0f + expf(-g[j])) * up[j];
  else
    for (int j = 0; j < c->ffn; j++) g[j] = gelu_tanh(g[j]) * up[j];
  bitlinear(ctx, g, &B->down, out, &u->s);
}

/* ---- forward ---------------------------------------------------------------------- */

int tern_rnn_prefill(tern_rnn_ctx *ctx, const int *tokens, int n, float *logits, int all_logits,
                     char *err, size_t errlen) {
  if (!ctx || !tokens || !logits) return tern_err(err, errlen, "tern_rnn_prefill: null argument");
  const tern_rnn_model *m = ctx->m;
  const tern_rnn_config *c = &m->cfg;
  if (n < 1) return tern_err(err, errlen, "prefill of %d tokens: expected at least 1", n);
  if (n > c->max_seq - ctx->pos)
    return tern_err(err, errlen,
                    "context full: %d positions used + %d tokens exceeds max_seq = %d of '%s'",
                    ctx->pos, n, c->max_seq, c->name);
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= c->vocab)
      return tern_err(err, errlen, "token %d at index %d is out of range, expected 0..%d",
                      tokens[i], i, c->vocab - 1);
  int d = c->dim;
  int big = d;
  if (c->lru_width > big) big = c->lru_width;
  if (c->ffn > big) big = c->ffn;
  if (c->vocab > big) big = c->vocab;
  if (ctx->ring > big) big = ctx->ring;
  size_t nd = (size_t)n * (size_t)d;
  float *x = malloc(nd * sizeof(float));
  float *hn = malloc((size_t)d * sizeof(float));
  float *o = malloc((size_t)d * sizeof(float));
  bufs u;
  u.b1 = malloc((size_t)big * sizeof(float));
  u.b2 = malloc((size_t)big * sizeof(float));
  u.b3 = malloc((size_t)big * sizeof(float));
  u.b4 = malloc((size_t)big * sizeof(float));
  u.sc = malloc((size_t)big * sizeof(float));
  u.s.xq = malloc((size_t)big * sizeof(int));
  u.s.acc = malloc((size_t)big * sizeof(int32_t));
  int rc = 0;
  if (!x || !hn || !o || !u.b1 || !u.b2 || !u.b3 || !u.b4 || !u.sc || !u.s.xq || !u.s.acc) {
    rc = tern_err(err, errlen, "out of memory (prefill of %d tokens)", n);
    goto done;
  }
  ctx->macs = 0;
  for (int i = 0; i < n; i++) {
    const int8_t *e = m->embed.q + (size_t)tokens[i] * (size_t)d;
    float s = m->embed.scale[tokens[i]];
    for (int j = 0; j < d; j++) x[(size_t)i * d + j] = (float)e[j] * s;
  }
  for (int b = 0; b < c->layers; b++) {
    const tern_rnn_block *B = &m->block[b];
    float *st = ctx->state + ctx->off[b];
    for (int i = 0; i < n; i++) { /* the recurrence runs over the rows in order */
      float *xr = x + (size_t)i * d;
      rmsnorm(xr, B->mix_norm.g, d, c->eps, hn);
      switch (B->kind) {
        case TERN_RNN_RECURRENT: mix_recurrent(ctx, B, st, hn, o, &u); break;
        case TERN_RNN_ATTENTION: mix_attention(ctx, B, st, ctx->pos + i, hn, o, &u); break;
        default: mix_mlgru(ctx, B, st, hn, o, &u); break;
      }
      for (int j = 0; j < d; j++) xr[j] += o[j];
      rmsnorm(xr, B->mlp_norm.g, d, c->eps, hn);
      mlp(ctx, B, hn, o, &u);
      for (int j = 0; j < d; j++) xr[j] += o[j];
    }
    if (ctx->trace) ctx->trace(ctx->trace_user, b, n, x);
  }
  {
    const tern_i8rows *W = c->tie_embeddings ? &m->embed : &m->lm_head;
    for (int i = all_logits ? 0 : n - 1; i < n; i++) {
      rmsnorm(x + (size_t)i * d, m->final_norm.g, d, c->eps, hn);
      float *lo = logits + (all_logits ? (size_t)i * (size_t)c->vocab : 0);
      for (int v = 0; v < c->vocab; v++) {
        const int8_t *w = W->q + (size_t)v * (size_t)d;
        float s = 0.0f;
        for (int j = 0; j < d; j++) s += hn[j] * (float)w[j];
        lo[v] = s * W->scale[v];
      }
      ctx->macs += (uint64_t)c->vocab * (uint64_t)d;
    }
  }
  ctx->pos += n;
done:
  free(x);
  free(hn);
  free(o);
  free(u.b1);
  free(u.b2);
  free(u.b3);
  free(u.b4);
  free(u.sc);
  free(u.s.xq);
  free(u.s.acc);
  return rc;
}

int tern_rnn_decode(tern_rnn_ctx *ctx, int token, float *logits, char *err, size_t errlen) {
  return tern_rnn_prefill(ctx, &token, 1, logits, 0, err, errlen);
}

static int prefill_last(void *ctx, const int *tokens, int n, float *logits, char *err,
                        size_t errlen) {
  return tern_rnn_prefill(ctx, tokens, n, logits, 0, err, errlen);
}

int tern_rnn_generate_tokens(tern_rnn_ctx *ctx, const int *prompt, int n_prompt, int n_new,
                             tern_tfm_sampler *sampler, int *out_tokens, char *err,
                             size_t errlen) {
  if (!ctx || !prompt || (n_new > 0 && !out_tokens))
    return tern_err(err, errlen, "tern_rnn_generate_tokens: null argument");
  if (tern_mc_generate_check(n_prompt, n_new, err, errlen)) return -1;
  const tern_rnn_config *c = &ctx->m->cfg;
  if ((int64_t)n_prompt + n_new > c->max_seq)
    return tern_err(err, errlen, "prompt %d + %d new tokens exceeds max_seq = %d", n_prompt,
                    n_new, c->max_seq);
  tern_rnn_ctx_reset(ctx);
  return tern_mc_generate_loop(ctx, prefill_last, c->vocab, prompt, n_prompt, n_new, sampler,
                               out_tokens, err, errlen);
}
