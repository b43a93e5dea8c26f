/* Float32 reference of the transformer LMs (include/tern/tfm.h,
 * docs/MODELS.md "Float reference"): embedding lookup, RMSNorm / LayerNorm,
 * SubLN, RoPE (rotate-half), causal MHA/GQA/MQA with an optional sliding
 * window and a float KV cache, the FFN variants, residuals, the final norm
 * and the LM head; BitLinear fake-quantised exactly as models/mlp.c. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model_common.h"
#include "tern/err.h"
#include "prng.h"
#include "tern/tfm.h"

struct tern_tfm_ctx {
  const tern_tfm_model *m;
  int max_seq, pos, passes;
  int qd, kvd;
  float *kc, *vc;       /* [passes][max_seq][kvd] */
  float *rope_cos, *rope_sin; /* [max_seq][head_dim/2] */
  tern_tfm_trace_fn trace, attn_trace;
  void *trace_user, *attn_user;
};

/* ---- context ----------------------------------------------------------------- */

void tern_tfm_ctx_free(tern_tfm_ctx *ctx) {
  if (!ctx) return;
  free(ctx->kc);
  free(ctx->vc);
  free(ctx->rope_cos);
  free(ctx->rope_sin);
  free(ctx);
}

tern_tfm_ctx *tern_tfm_ctx_new(const tern_tfm_model *m, int max_seq, char *err, size_t errlen) {
  if (!m || !m->block || !m->embed.q) {
    tern_err(err, errlen, "tern_tfm_ctx_new: model not generated");
    return NULL;
  }
  const tern_tfm_config *c = &m->cfg;
  if (max_seq <= 0) max_seq = c->max_seq;
  if (max_seq > c->max_seq) {
    tern_err(err, errlen, "context of %d positions: expected at most max_seq = %d of '%s'", max_seq,
         c->max_seq, c->name);
    return NULL;
  }
  tern_tfm_ctx *x = calloc(1, sizeof *x);
  if (!x) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  x->m = m;
  x->max_seq = max_seq;
  x->passes = c->layers * c->repeat;
  x->qd = c->heads * c->head_dim;
  x->kvd = c->kv_heads * c->head_dim;
  size_t kv = (size_t)x->passes * (size_t)max_seq * (size_t)x->kvd;
  size_t half = (size_t)(c->head_dim / 2);
  x->kc = malloc(kv * sizeof(float));
  x->vc = malloc(kv * sizeof(float));
  x->rope_cos = malloc((size_t)max_seq * half * sizeof(float));
  x->rope_sin = malloc((size_t)max_seq * half * sizeof(float));
  if (!x->kc || !x->vc || !x->rope_cos || !x->rope_sin) {
    tern_tfm_ctx_free(x);
    tern_err(err, errlen, "out of memory for the KV cache (%zu floats)", 2 * kv);
    return NULL;
  }
  /* RoPE, rotate-half convention: pair (i, i + hd/2) rotates by pos * theta^(-2i/hd) */
  for (int p = 0; p < max_seq; p++)
    for (size_t i = 0; i < half; i++) {
      double ang = (double)p * pow(c->rope_theta, -2.0 * (double)i / (double)c->head_dim);
      x->rope_cos[(size_t)p * half + i] = (float)cos(ang);
      x->rope_sin[(size_t)p * half + i] = (float)sin(ang);
    }
  return x;
}

void tern_tfm_ctx_reset(tern_tfm_ctx *ctx) {
  if (ctx) ctx->pos = 0;
}

int tern_tfm_ctx_pos(const tern_tfm_ctx *ctx) { return ctx ? ctx->pos : 0; }

void tern_tfm_ctx_set_trace(tern_tfm_ctx *ctx, tern_tfm_trace_fn fn, void *user) {
  if (!ctx) return;
  ctx->trace = fn;
  ctx->trace_user = user;
}

void tern_tfm_ctx_set_attn_trace(tern_tfm_ctx *ctx, tern_tfm_trace_fn fn, void *user) {
  if (!ctx) return;
  ctx->attn_trace = fn;
  ctx->attn_user = user;
}

const float *tern_tfm_ctx_k(const tern_tfm_ctx *ctx, int pass) {
  if (!ctx || pass < 0 || pass >= ctx->passes) return NULL;
  return ctx->kc + (size_t)pass * (size_t)ctx->max_seq * (size_t)ctx->kvd;
}

const float *tern_tfm_ctx_v(const tern_tfm_ctx *ctx, int pass) {
  if (!ctx || pass < 0 || pass >= ctx->passes) return NULL;
  return ctx->vc + (size_t)pass * (size_t)ctx->max_seq * (size_t)ctx->kvd;
}

/* ---- building blocks ------------------------------------------------------------ */

/* RMSNorm: ss = sum x^2 (index order), rms = sqrtf(ss/n + eps), y = x / rms * g (+ b).
 * LayerNorm: mean, var = sum (x-mean)^2 / n, y = (x - mean) / sqrtf(var + eps) * g (+ b). */
static void norm_row(const tern_tfm_config *c, const tern_tfm_norm *nm, const float *x, int n,
                     float *y) {
  if (c->norm == TERN_NORM_RMS) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float rms = sqrtf(ss / (float)n + c->eps);
    for (int i = 0; i < n; i++) y[i] = x[i] / rms * nm->g[i];
  } else {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += x[i];
    float mean = s / (float)n;
    float v = 0.0f;
    for (int i = 0; i < n; i++) v += (x[i] - mean) * (x[i] - mean);
    float sd = sqrtf(v / (float)n + c->eps);
    for (int i = 0; i < n; i++) y[i] = (x[i] - mean) / sd * nm->g[i];
  }
  if (nm->b)
    for (int i = 0; i < n; i++) y[i] += nm->b[i];
}

/* Scratch of one BitLinear: int32 accumulators. */
typedef struct bl_scratch {
  int32_t *acc;
} bl_scratch;

/* BitLinear exactly as models/mlp.c's bitlinear_float, on packed codes:
 * gamma = max(max|x|, 1e-5), xq = clamp(roundf(x * 127/gamma), -128, 127),
 * acc = xq . Wq (exact), y = acc * beta * gamma / 127 (left to right). */
static void bitlinear(const float *x, const tern_tpacked *t, float *y, bl_scratch *s) {
  int K = t->k, N = t->n;
  float amax = 0.0f;
  for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[k]));
  float gamma = fmaxf(amax, 1e-5f);
  float scale = 127.0f / gamma;
  for (int n = 0; n < N; n++) s->acc[n] = 0;
  for (int k = 0; k < K; k++) {
    float r = roundf(x[k] * scale);
    int xq = (int)fminf(fmaxf(r, -128.0f), 127.0f);
    if (xq == 0) continue;
    size_t base = (size_t)k * (size_t)N;
    for (int n = 0; n < N; n++) s->acc[n] += xq * tern_tpacked_get(t->codes, base + (size_t)n);
  }
  for (int n = 0; n < N; n++) y[n] = (float)s->acc[n] * t->beta * gamma / 127.0f;
}

static void rope(const tern_tfm_ctx *ctx, float *v, int nheads, int pos) {
  int hd = ctx->m->cfg.head_dim, half = hd / 2;
  const float *cs = ctx->rope_cos + (size_t)pos * (size_t)half;
  const float *sn = ctx->rope_sin + (size_t)pos * (size_t)half;
  for (int h = 0; h < nheads; h++) {
    float *p = v + (size_t)h * (size_t)hd;
    for (int i = 0; i < half; i++) {
      float x0 = p[i], x1 = p[i + half];
      p[i] = x0 * cs[i] - x1 * sn[i];
      p[i + half] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

static float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

/* ---- forward ---------------------------------------------------------------------- */

int tern_tfm_prefill(tern_tfm_ctx *ctx, const int *tokens, int n, float *logits, int all_logits,
                     char *err, size_t errlen) {
  if (!ctx || !tokens || !logits) return tern_err(err, errlen, "tern_tfm_prefill: null argument");
  const tern_tfm_model *m = ctx->m;
  const tern_tfm_config *c = &m->cfg;
  if (n < 1) return tern_err(err, errlen, "prefill of %d tokens: expected at least 1", n);
  if (n > ctx->max_seq - ctx->pos)
    return tern_err(err, errlen,
                "KV cache full: %d positions used + %d tokens exceeds the context of %d", ctx->pos,
                n, ctx->max_seq);
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= c->vocab)
      return tern_err(err, errlen, "token %d at index %d is out of range, expected 0..%d", tokens[i],
                  i, c->vocab - 1);
  int d = c->dim, qd = ctx->qd, kvd = ctx->kvd, hd = c->head_dim, F = c->ffn;
  int big = d > qd ? d : qd;
  if (F > big) big = F;
  if (c->vocab > big) big = c->vocab;
  size_t nd = (size_t)n * (size_t)d;
  float *x = malloc(nd * sizeof(float));
  float *q = malloc((size_t)n * (size_t)qd * sizeof(float));
  float *a = malloc((size_t)n * (size_t)qd * sizeof(float));
  float *h = malloc((size_t)big * sizeof(float));
  float *t1 = malloc((size_t)big * sizeof(float));
  float *t2 = malloc((size_t)big * sizeof(float));
  float *sc = malloc((size_t)ctx->max_seq * sizeof(float));
  bl_scratch bs = {malloc((size_t)big * sizeof(int32_t))};
  int rc = 0;
  if (!x || !q || !a || !h || !t1 || !t2 || !sc || !bs.acc) {
    rc = tern_err(err, errlen, "out of memory (prefill of %d tokens)", n);
    goto done;
  }
  /* embedding lookup: the int8 rows dequantised */
  for (int i = 0; i < n; i++) {
    const int8_t *e = m->embed.q + (size_t)tokens[i] * (size_t)d;
    float s = m->embed.scale[tokens[i]];
    for (int j = 0; j < d; j++) x[(size_t)i * d + j] = (float)e[j] * s;
  }
  float inv_sqrt_hd = 1.0f / sqrtf((float)hd);
  int group = c->heads / c->kv_heads;
  for (int p = 0; p < ctx->passes; p++) {
    const tern_tfm_block *B = &m->block[p / c->repeat];
    float *kc = ctx->kc + (size_t)p * (size_t)ctx->max_seq * (size_t)kvd;
    float *vc = ctx->vc + (size_t)p * (size_t)ctx->max_seq * (size_t)kvd;
    /* attention: norm, Q/K/V projections, RoPE, append to the cache */
    for (int i = 0; i < n; i++) {
      int t = ctx->pos + i;
      norm_row(c, &B->attn_norm, x + (size_t)i * d, d, h);
      float *qi = q + (size_t)i * qd;
      float *ki = kc + (size_t)t * kvd, *vi = vc + (size_t)t * kvd;
      bitlinear(h, &B->wq, qi, &bs);
      bitlinear(h, &B->wk, ki, &bs);
      bitlinear(h, &B->wv, vi, &bs);
      rope(ctx, qi, c->heads, t);
      rope(ctx, ki, c->kv_heads, t);
    }
    /* causal (optionally sliding-window) softmax attention over the cache */
    for (int i = 0; i < n; i++) {
      int t = ctx->pos + i;
      int j0 = c->window > 0 && t - c->window + 1 > 0 ? t - c->window + 1 : 0;
      for (int hh = 0; hh < c->heads; hh++) {
        const float *qh = q + (size_t)i * qd + (size_t)hh * hd;
        int kvh = hh / group;
        float mx = -FLT_MAX;
        for (int j = j0; j <= t; j++) {
          const float *kj = kc + (size_t)j * kvd + (size_t)kvh * hd;
          float s = 0.0f;
          for (int e = 0; e < hd; e++) s += qh[e] * kj[e];
          s *= inv_sqrt_hd;
          sc[j] = s;
          mx = fmaxf(mx, s);
        }
        float sum = 0.0f;
        for (int j = j0; j <= t; j++) {
          sc[j] = expf(sc[j] - mx);
          sum += sc[j];
        }
        float *ah = a + (size_t)i * qd + (size_t)hh * hd;
        for (int e = 0; e < hd; e++) ah[e] = 0.0f;
        for (int j = j0; j <= t; j++) {
          float pj = sc[j] / sum;
          const float *vj = vc + (size_t)j * kvd + (size_t)kvh * hd;
          for (int e = 0; e < hd; e++) ah[e] += pj * vj[e];
        }
      }
    }
    if (ctx->attn_trace) ctx->attn_trace(ctx->attn_user, p, n, a);
    /* output projection (after SubLN), residual; FFN (SubLN before down), residual */
    for (int i = 0; i < n; i++) {
      float *xr = x + (size_t)i * d;
      float *ai = a + (size_t)i * qd;
      if (c->subln) {
        norm_row(c, &B->attn_subln, ai, qd, t1);
        bitlinear(t1, &B->wo, h, &bs);
      } else {
        bitlinear(ai, &B->wo, h, &bs);
      }
      for (int j = 0; j < d; j++) xr[j] += h[j];
      const tern_tfm_ffn *f = B->ffn;
      norm_row(c, &B->ffn_norm, xr, d, h);
      bitlinear(h, &f->up, t1, &bs);
      switch (c->ffn_type) {
        case TERN_FFN_SWIGLU:
          bitlinear(h, &f->gate, t2, &bs);
          for (int j = 0; j < F; j++) t1[j] = t2[j] / (1.0f + expf(-t2[j])) * t1[j];
          break;
        case TERN_FFN_RELU2_GLU:
          bitlinear(h, &f->gate, t2, &bs);
          for (int j = 0; j < F; j++) {
            float r = fmaxf(t2[j], 0.0f);
            t1[j] = r * r * t1[j];
          }
          break;
        case TERN_FFN_RELU2:
          for (int j = 0; j < F; j++) {
            float r = fmaxf(t1[j], 0.0f);
            t1[j] = r * r;
          }
          break;
        case TERN_FFN_GELU:
          for (int j = 0; j < F; j++) t1[j] = gelu_tanh(t1[j]);
          break;
      }
      if (c->subln) {
        norm_row(c, &f->subln, t1, F, t2);
        bitlinear(t2, &f->down, h, &bs);
      } else {
        bitlinear(t1, &f->down, h, &bs);
      }
      for (int j = 0; j < d; j++) xr[j] += h[j];
    }
    if (ctx->trace) ctx->trace(ctx->trace_user, p, n, x);
  }
  /* final norm and LM head (int8 rows dequantised: logit = scale[v] * sum_i hn_i q[v][i]) */
  {
    const tern_i8rows *W = c->tie_embeddings ? &m->embed : &m->lm_head;
    for (int i = all_logits ? 0 : n - 1; i < n; i++) {
      norm_row(c, &m->final_norm, x + (size_t)i * d, d, h);
      float *lo = logits + (all_logits ? (size_t)i * (size_t)c->vocab : 0);
      for (int v = 0; v < c->vocab; v++) {
        const int8_t *w = W->q + (size_t)v * (size_t)d;
        float s = 0.0f;
        for (int j = 0; j < d; j++) s += h[j] * (float)w[j];
        lo[v] = s * W->scale[v];
      }
    }
  }
  ctx->pos += n;
done:
  free(x);
  free(q);
  free(a);
  free(h);
  free(t1);
  free(t2);
  free(sc);
  free(bs.acc);
  return rc;
}

int tern_tfm_decode(tern_tfm_ctx *ctx, int token, float *logits, char *err, size_t errlen) {
  return tern_tfm_prefill(ctx, &token, 1, logits, 0, err, errlen);
}

/* ---- sampling ---------------------------------------------------------------------- */

int tern_tfm_argmax(const float *logits, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (logits[i] > logits[best]) best = i;
  return best;
}

void tern_tfm_sampler_init(tern_tfm_sampler *s, uint64_t seed, float temperature, int top_k) {
  s->state = seed;
  s->temperature = temperature;
  s->top_k = top_k;
}

/* top-k by repeated selection (largest first, lowest index on ties), softmax
 * at the temperature in double, one uniform draw of the splitmix64 stream. */
int tern_tfm_sample(tern_tfm_sampler *s, const float *logits, int n) {
  if (n <= 0) return 0;
  if (!(s->temperature > 0.0f) || s->top_k == 1) return tern_tfm_argmax(logits, n);
  int k = s->top_k <= 0 || s->top_k > n ? n : s->top_k;
  int *idx = malloc((size_t)n * sizeof(int));
  double *pr = malloc((size_t)k * sizeof(double));
  if (!idx || !pr) {
    free(idx);
    free(pr);
    return tern_tfm_argmax(logits, n);
  }
  for (int i = 0; i < n; i++) idx[i] = i;
  for (int r = 0; r < k; r++) { /* partial selection sort */
    int b = r;
    for (int i = r + 1; i < n; i++)
      if (logits[idx[i]] > logits[idx[b]] || (logits[idx[i]] == logits[idx[b]] && idx[i] < idx[b]))
        b = i;
    int tmp = idx[r];
    idx[r] = idx[b];
    idx[b] = tmp;
  }
  double mx = (double)logits[idx[0]], sum = 0.0;
  for (int r = 0; r < k; r++) {
    pr[r] = exp(((double)logits[idx[r]] - mx) / (double)s->temperature);
    sum += pr[r];
  }
  tern_rng rng = {s->state};
  double u = tern_uniform01(&rng) * sum;
  s->state = rng.s;
  int pick = idx[k - 1];
  double acc = 0.0;
  for (int r = 0; r < k; r++) {
    acc += pr[r];
    if (u < acc) {
      pick = idx[r];
      break;
    }
  }
  free(idx);
  free(pr);
  return pick;
}

/* ---- byte tokenizer and generation ------------------------------------------------------ */

int tern_tfm_tokenize_bytes(const char *text, int *tokens, int max_tokens) {
  int n = 0;
  if (!text) return 0;
  for (const unsigned char *p = (const unsigned char *)text; *p && n < max_tokens; p++)
    tokens[n++] = *p;
  return n;
}

int tern_tfm_detokenize_bytes(const int *tokens, int n, char *out, size_t outlen) {
  if (!out || outlen == 0) return 0;
  size_t k = 0;
  for (int i = 0; i < n && k + 1 < outlen; i++) {
    int t = tokens[i];
    out[k++] = (char)(t >= 1 && t < 256 ? t : '?');
  }
  out[k] = 0;
  return (int)k;
}

static int prefill_last(void *ctx, const int *tokens, int n, float *logits, char *err,
                        size_t errlen) {
  return tern_tfm_prefill(ctx, tokens, n, logits, 0, err, errlen);
}

int tern_tfm_generate_tokens(tern_tfm_ctx *ctx, const int *prompt, int n_prompt, int n_new,
                             tern_tfm_sampler *sampler, int *out_tokens, char *err,
                             size_t errlen) {
  if (!ctx || !prompt || (n_new > 0 && !out_tokens))
    return tern_err(err, errlen, "tern_tfm_generate_tokens: null argument");
  if (tern_mc_generate_check(n_prompt, n_new, err, errlen)) return -1;
  if ((int64_t)n_prompt + n_new > ctx->max_seq)
    return tern_err(err, errlen, "prompt %d + %d new tokens exceeds the context of %d", n_prompt,
                n_new, ctx->max_seq);
  tern_tfm_ctx_reset(ctx);
  return tern_mc_generate_loop(ctx, prefill_last, ctx->m->cfg.vocab, prompt, n_prompt, n_new,
                               sampler, out_tokens, err, errlen);
}
