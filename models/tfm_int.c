/* Integer reference of the transformer LMs (include/tern/tfm_int.h,
 * docs/NUMERICS.md "Transformer operations (integer, v2)").
 *
 * Every value computed at run time goes through one of the vector-unit
 * primitives of models/numerics.c (tern_v_*, tern_r_*, tern_lut_index), the
 * ternary GEMM, or the proposed ISA v2 op tern_v_dot8.  Floating point is
 * used only at model-build time (constants and tables) and in the fidelity
 * tool's comparison. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/tfm_int.h"
#include "tern/rnn.h" /* tern_rnn_lut_interp (the recurrent models' gated MLP) */
#include "tfm_int_internal.h"

static int floor_log2(int v) {
  int L = 0;
  while ((v >> (L + 1)) > 0) L++;
  return L;
}

/* models/tfm_int_internal.h: the build-time helpers shared with models/rnn_int.c */
int32_t tern_round_sat32(double v) {
  if (!(v == v)) return 0;
  double r = round(v);
  if (r >= 2147483647.0) return INT32_MAX;
  if (r <= -2147483648.0) return INT32_MIN;
  return (int32_t)r;
}

/* ---- tables -------------------------------------------------------------------- */

void tern_gelu_table(int32_t table[256]) {
  for (int i = 0; i < 256; i++) {
    double x = ((double)(i - 128) + 0.5) / 16.0;
    double p = 0.5 * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    table[i] = (int32_t)floor(p * 32768.0 + 0.5);
  }
}

void tern_exp_hi_table(int32_t table[256]) {
  int32_t lo[256];
  tern_exp_lo_table(lo);
  for (int i = 0; i < 256; i++)
    table[i] = i > 128 ? (1 << TERN_TFM_EXP_HI_FRAC)
                       : (int32_t)floor(ldexp(exp((double)(i - 128) / 4.0), TERN_TFM_EXP_HI_FRAC) +
                                        0.5);
  /* monotone clamp (integer): hi[k] * lo[255] <= hi[k+1] * lo[0], so that
   * e = rs(hi * lo, 24) never decreases across a coarse bucket boundary */
  for (int k = 127; k >= 0; k--) {
    int64_t cap = (int64_t)table[k + 1] * lo[0] / lo[255];
    if (table[k] > cap) table[k] = (int32_t)cap;
  }
}

void tern_exp_lo_table(int32_t table[256]) {
  for (int i = 0; i < 256; i++)
    table[i] = (int32_t)floor(32768.0 * exp(((double)i + 0.5) / 1024.0) + 0.5);
}

void tern_tfm_rope_table(double theta, int head_dim, int npos, int32_t *cos_q, int32_t *sin_q) {
  int half = head_dim / 2;
  for (int p = 0; p < npos; p++)
    for (int i = 0; i < half; i++) {
      double ang = (double)p * pow(theta, -2.0 * (double)i / (double)head_dim);
      size_t k = (size_t)p * (size_t)half + (size_t)i;
      cos_q[k] = (int32_t)floor(cos(ang) * 16384.0 + 0.5);
      sin_q[k] = (int32_t)floor(sin(ang) * 16384.0 + 0.5);
    }
}

/* tern_v_dot8 on contiguous rows, for the LM head: |a b| <= 2^14, so for
 * n < 2^17 the int32 sum cannot overflow and tern_v_dot8's saturation never
 * applies; the result is the same int32.  Written so that GCC vectorises it
 * (no intrinsics; the same bits on every target). */
#if defined(__GNUC__) && !defined(__clang__)
#define TFM_VECTORIZE __attribute__((optimize("tree-vectorize")))
#else
#define TFM_VECTORIZE /* clang (the fuzzing build) vectorises at -O2 and has no such attribute */
#endif
TFM_VECTORIZE static int32_t dot8_rows(const int8_t *a, const int8_t *b, size_t n) {
  if (n >= (1u << 17)) return tern_v_dot8(a, 1, b, 1, n);
  int32_t s = 0;
  for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
  return s;
}

/* ---- the integer definitions ------------------------------------------------------ */

void tern_tfm_norm_int(const tern_tfm_qnorm *q, const int32_t *x, int32_t *y) {
  int n = q->n;
  const int32_t *src = x;
  if (q->layer) {
    /* L1 */ int32_t S1 = tern_r_sum(x, (size_t)n, 1, 0);
    /* L2 */ int32_t mu = tern_v_mulshr(S1, q->inv_n, 30);
    /* L3 */ for (int i = 0; i < n; i++) y[i] = tern_v_sub(x[i], mu);
    src = y;
  }
  /* N1 */ int32_t S = tern_r_sumsq(src, (size_t)n, 1, q->ss_shift);
  /* N2 */ S = tern_v_add(S, q->eps_c);
  /* N3 */ int32_t r = tern_v_rsqrt(S, q->rs_num, q->rs_shift);
  for (int i = 0; i < n; i++) {
    /* N4 */ int32_t t = tern_v_mulshr(src[i], r, 12);
    /* N5 */ y[i] = tern_v_mulshr(t, q->g_q[i], 22);
  }
  if (q->b_q)
    /* N6 */ for (int i = 0; i < n; i++) y[i] = tern_v_add(y[i], q->b_q[i]);
}

int32_t tern_tfm_quant_row(const int32_t *x, int n, int8_t *q) {
  int32_t A = tern_v_max(tern_r_maxabs(x, (size_t)n, 1), TERN_AMIN);
  int32_t R = tern_v_recip(A, 127, TERN_QSHIFT);
  for (int i = 0; i < n; i++) q[i] = tern_v_quant(x[i], R, TERN_QSHIFT);
  return A;
}

/* acc[n] = sum_k q[k] * W[k][n], int32 wrap-around (the PE array's adders). */
static void gemm_packed(const int8_t *q, const tern_tpacked *w, int32_t *acc) {
  int K = w->k, N = w->n;
  uint32_t *a = (uint32_t *)acc;
  for (int n = 0; n < N; n++) a[n] = 0;
  for (int k = 0; k < K; k++) {
    int v = q[k];
    if (!v) continue;
    size_t base = (size_t)k * (size_t)N;
    for (int n = 0; n < N; n++) {
      int c = tern_tpacked_get(w->codes, base + (size_t)n);
      if (c > 0) a[n] += (uint32_t)v;
      else if (c < 0) a[n] -= (uint32_t)v;
    }
  }
}

void tern_tfm_bitlinear_int(const tern_tfm_qlinear *l, const int8_t *q, int32_t A, int32_t *acc,
                            int32_t *y) {
  int32_t D = tern_v_mulshr(A, l->beta_c, l->s_d);
  /* The CPU kernel's sums are exact (|acc| <= 127 K < 2^31 for K <= 2^22,
   * checked at packing), so they equal the wrap-around sums of gemm_packed.
   * A kernel failure (only out of memory or a variant this CPU lacks, both
   * excluded by tern_tfm_qmodel_set_kernel) falls back to the definition. */
  if (l->kernel == TERN_TFM_KERNEL_SCALAR || !l->pk.data ||
      tern_cpu_gemv((tern_cpu_variant)l->kernel, &l->pk, q, acc, NULL, 0) != 0)
    gemm_packed(q, l->w, acc);
  for (int n = 0; n < l->w->n; n++) y[n] = tern_v_mulshr(acc[n], D, 16);
}

void tern_tfm_rope_int(int32_t *v, int head_dim, const int32_t *cos_q, const int32_t *sin_q) {
  int half = head_dim / 2;
  for (int i = 0; i < half; i++) {
    int32_t x0 = v[i], x1 = v[i + half];
    v[i] = tern_v_sub(tern_v_mulshr(x0, cos_q[i], TERN_TFM_ROPE_FRAC),
                      tern_v_mulshr(x1, sin_q[i], TERN_TFM_ROPE_FRAC));
    v[i + half] = tern_v_add(tern_v_mulshr(x0, sin_q[i], TERN_TFM_ROPE_FRAC),
                             tern_v_mulshr(x1, cos_q[i], TERN_TFM_ROPE_FRAC));
  }
}

int32_t tern_tfm_softmax_exp(const int32_t *exp_hi, const int32_t *exp_lo, const int32_t *s, int n,
                             int32_t *e) {
  if (n <= 0) return 0;
  /* S1 */ int32_t M = tern_r_maxabs(s, (size_t)n, 1);
  /* S2 */ for (int j = 0; j < n; j++) e[j] = tern_v_add(s[j], M); /* >= 0 */
  /* S3 */ int32_t mx = tern_r_maxabs(e, (size_t)n, 1);              /* = max(s) + M */
  for (int j = 0; j < n; j++) {
    /* S4 */ int32_t z = tern_v_sub(e[j], mx); /* s - max(s) <= 0, Q12 */
    /* S5 */ int32_t hi = exp_hi[tern_lut_index(z, 10)];
    /* S6 */ int32_t zc = tern_v_mulshr(tern_v_sub(z, 512), 1, 10); /* floor(z / 1024) */
    /* S7 */ int32_t f = tern_v_sub(z, tern_v_mulshr(zc, 1024, 0));  /* z mod 1024 */
    /* S8 */ int32_t lo = exp_lo[tern_lut_index(tern_v_sub(f, 512), 2)];
    /* S9 */ e[j] = tern_v_mulshr(hi, lo, TERN_TFM_EXP_HI_FRAC);
  }
  /* S10 */ return tern_r_sum(e, (size_t)n, 1, 0);
}

int32_t tern_tfm_softmax_recip(int32_t E) { return tern_v_recip(E, 1, 46); }

/* ---- constants -------------------------------------------------------------------- */

int tern_tfm_qlinear_init(const tern_tpacked *w, int K, int N, int kernel, tern_tfm_qlinear *ql,
                          const char *what, char *err, size_t errlen) {
  memset(ql, 0, sizeof *ql);
  if (!w->codes) return tern_err(err, errlen, "%s: no weights", what);
  if (w->k != K || w->n != N)
    return tern_err(err, errlen, "%s: shape %dx%d, expected %dx%d", what, w->k, w->n, K, N);
  ql->w = w;
  int32_t c = 0;
  int bf = tern_beta_const(w->beta, &c);
  if (bf < 0)
    return tern_err(err, errlen, "%s: beta is %g, expected a finite value > 0", what, (double)w->beta);
  if (bf < 16)
    return tern_err(err, errlen, "%s: beta = %g is too large: beta_frac = %d, expected >= 16", what,
                (double)w->beta, bf);
  ql->beta_c = c;
  ql->beta_frac = bf;
  ql->s_d = bf - 16;
  char e2[256];
  if (tern_cpu_wmat_from_codes2(&ql->pk, w->codes, (size_t)K, (size_t)N, e2, sizeof e2) != 0) {
    tern_cpu_wmat_free(&ql->pk);
    return tern_err(err, errlen, "%s: packing for the CPU kernels: %s", what, e2);
  }
  ql->kernel = kernel;
  return 0;
}

/* tern_tfm_quantize selects the kernel afterwards (tern_tfm_qmodel_set_kernel) */
static int qlinear(const tern_tpacked *w, int K, int N, tern_tfm_qlinear *ql, const char *what,
                   char *err, size_t errlen) {
  return tern_tfm_qlinear_init(w, K, N, TERN_TFM_KERNEL_SCALAR, ql, what, err, errlen);
}

void tern_tfm_qlinear_free(tern_tfm_qlinear *l) { tern_cpu_wmat_free(&l->pk); }

void tern_tfm_qnorm_free(tern_tfm_qnorm *n) {
  free(n->g_q);
  free(n->b_q);
  n->g_q = n->b_q = NULL;
}

int tern_tfm_qnorm_init(const tern_tfm_norm *nm, int n, float eps, int layer, tern_tfm_qnorm *q,
                        const char *what, char *err, size_t errlen) {
  memset(q, 0, sizeof *q);
  if (!nm->g) return tern_err(err, errlen, "%s: no gains", what);
  int L = floor_log2(n);
  q->n = n;
  q->layer = layer;
  q->inv_n = tern_round_sat32(ldexp(1.0, 30) / (double)n);
  q->ss_shift = TERN_TFM_NORM_SS + L;
  double eps_c = round((double)eps * ldexp(1.0, 18) * (double)n / ldexp(1.0, L));
  if (eps_c < 1.0) eps_c = 1.0;
  q->eps_c = tern_round_sat32(eps_c);
  q->rs_num = n;
  q->rs_shift = 58 - L;
  q->g_q = malloc((size_t)n * sizeof(int32_t));
  if (!q->g_q) return tern_err(err, errlen, "%s: out of memory", what);
  for (int i = 0; i < n; i++) {
    if (!isfinite(nm->g[i]) || fabs((double)nm->g[i]) >= 131072.0) {
      tern_tfm_qnorm_free(q);
      return tern_err(err, errlen, "%s: gain %d is %g, expected a finite value with |g| < 2^17", what,
                  i, (double)nm->g[i]);
    }
    q->g_q[i] = tern_round_sat32((double)nm->g[i] * 16384.0);
  }
  if (nm->b) {
    q->b_q = malloc((size_t)n * sizeof(int32_t));
    if (!q->b_q) {
      tern_tfm_qnorm_free(q);
      return tern_err(err, errlen, "%s: out of memory", what);
    }
    for (int i = 0; i < n; i++) q->b_q[i] = tern_to_fx(nm->b[i]);
  }
  return 0;
}

static int qnorm(const tern_tfm_config *c, const tern_tfm_norm *nm, int n, tern_tfm_qnorm *q,
                 const char *what, char *err, size_t errlen) {
  return tern_tfm_qnorm_init(nm, n, c->eps, c->norm == TERN_NORM_LAYER, q, what, err, errlen);
}

static void qffn_free(tern_tfm_qffn *f) {
  tern_tfm_qnorm_free(&f->subln);
  tern_tfm_qlinear_free(&f->gate);
  tern_tfm_qlinear_free(&f->up);
  tern_tfm_qlinear_free(&f->down);
}

static int qffn(const tern_tfm_config *c, const tern_tfm_ffn *f, tern_tfm_qffn *q,
                const char *who, char *err, size_t errlen) {
  char what[96];
  memset(q, 0, sizeof *q);
  if (tern_ffn_is_glu(c->ffn_type)) {
    snprintf(what, sizeof what, "%s gate", who);
    if (qlinear(&f->gate, c->dim, c->ffn, &q->gate, what, err, errlen)) return -1;
  }
  snprintf(what, sizeof what, "%s up", who);
  if (qlinear(&f->up, c->dim, c->ffn, &q->up, what, err, errlen)) return -1;
  snprintf(what, sizeof what, "%s down", who);
  if (qlinear(&f->down, c->ffn, c->dim, &q->down, what, err, errlen)) return -1;
  if (c->subln) {
    snprintf(what, sizeof what, "%s subln", who);
    if (qnorm(c, &f->subln, c->ffn, &q->subln, what, err, errlen)) return -1;
  }
  return 0;
}

void tern_tfm_qmodel_free(tern_tfm_qmodel *q) {
  if (!q) return;
  if (q->block) {
    for (int b = 0; b < q->cfg.layers; b++) {
      tern_tfm_qblock *B = &q->block[b];
      tern_tfm_qnorm_free(&B->attn_norm);
      tern_tfm_qnorm_free(&B->attn_subln);
      tern_tfm_qnorm_free(&B->ffn_norm);
      tern_tfm_qlinear_free(&B->wq);
      tern_tfm_qlinear_free(&B->wk);
      tern_tfm_qlinear_free(&B->wv);
      tern_tfm_qlinear_free(&B->wo);
      qffn_free(&B->own_ffn);
    }
  }
  free(q->block);
  qffn_free(&q->shared_ffn);
  tern_tfm_qnorm_free(&q->final_norm);
  if (q->head_c != q->embed_c) free(q->head_c);
  free(q->embed_c);
  memset(q, 0, sizeof *q);
}

int tern_tfm_row_consts(const tern_i8rows *r, int vocab, int dim, int32_t **out, const char *what,
                        char *err, size_t errlen) {
  if (!r->q || !r->scale || r->rows != vocab || r->cols != dim)
    return tern_err(err, errlen, "%s: expected %dx%d int8 rows", what, vocab, dim);
  int32_t *c = malloc((size_t)vocab * sizeof(int32_t));
  if (!c) return tern_err(err, errlen, "%s: out of memory", what);
  for (int v = 0; v < vocab; v++) {
    double s = (double)r->scale[v];
    if (!(isfinite(s) && s >= 0.0 && s < 8.0)) {
      free(c);
      return tern_err(err, errlen, "%s: row %d scale is %g, expected a finite value in [0, 8)", what,
                  v, s);
    }
    c[v] = tern_round_sat32(ldexp(s, TERN_TFM_EMB_FRAC));
  }
  *out = c;
  return 0;
}

int tern_tfm_quantize(const tern_tfm_model *m, tern_tfm_qmodel *q, char *err, size_t errlen) {
  if (!m || !q) return tern_err(err, errlen, "tern_tfm_quantize: null argument");
  memset(q, 0, sizeof *q);
  if (!m->block || !m->embed.q) return tern_err(err, errlen, "tern_tfm_quantize: model not generated");
  const tern_tfm_config *c = &m->cfg;
  if (tern_tfm_check(c, c->name, err, errlen)) return -1;
  q->cfg = *c;
  q->m = m;
  int d = c->dim, qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
  char what[96];
  if (tern_tfm_row_consts(&m->embed, c->vocab, d, &q->embed_c, "embedding", err, errlen)) goto bad;
  if (c->tie_embeddings) {
    q->head_c = q->embed_c;
  } else if (tern_tfm_row_consts(&m->lm_head, c->vocab, d, &q->head_c, "lm_head", err, errlen)) {
    goto bad;
  }
  if (qnorm(c, &m->final_norm, d, &q->final_norm, "final norm", err, errlen)) goto bad;
  if (c->share_ffn && qffn(c, &m->shared_ffn, &q->shared_ffn, "shared ffn", err, errlen))
    goto bad;
  q->block = calloc((size_t)c->layers, sizeof *q->block);
  if (!q->block) {
    tern_err(err, errlen, "out of memory (%d blocks)", c->layers);
    goto bad;
  }
  for (int b = 0; b < c->layers; b++) {
    const tern_tfm_block *MB = &m->block[b];
    tern_tfm_qblock *B = &q->block[b];
#define BL(field, K, N, name)                                                  \
  do {                                                                         \
    snprintf(what, sizeof what, "block %d %s", b, name);                       \
    if (qlinear(&MB->field, K, N, &B->field, what, err, errlen)) goto bad;     \
  } while (0)
#define NM(field, n, name)                                                     \
  do {                                                                         \
    snprintf(what, sizeof what, "block %d %s", b, name);                       \
    if (qnorm(c, &MB->field, n, &B->field, what, err, errlen)) goto bad;       \
  } while (0)
    NM(attn_norm, d, "attn norm");
    NM(ffn_norm, d, "ffn norm");
    if (c->subln) NM(attn_subln, qd, "attn subln");
    BL(wq, d, qd, "wq");
    BL(wk, d, kvd, "wk");
    BL(wv, d, kvd, "wv");
    BL(wo, qd, d, "wo");
#undef BL
#undef NM
    if (c->share_ffn) {
      B->ffn = &q->shared_ffn;
    } else {
      snprintf(what, sizeof what, "block %d ffn", b);
      if (qffn(c, &MB->own_ffn, &B->own_ffn, what, err, errlen)) goto bad;
      B->ffn = &B->own_ffn;
    }
  }
  q->att_c = tern_round_sat32(ldexp(1.0, 36) / (16129.0 * sqrt((double)c->head_dim)));
  q->head_dq_c = tern_round_sat32(ldexp(1.0, 30) / 127.0);
  q->pv_c = tern_round_sat32(ldexp(1.0, 30) / 16129.0);
  tern_sigmoid_table(q->sigmoid_lut);
  tern_gelu_table(q->gelu_lut);
  tern_exp_hi_table(q->exp_hi);
  tern_exp_lo_table(q->exp_lo);
  q->kernel = TERN_TFM_KERNEL_SCALAR;
  if (tern_tfm_qmodel_set_kernel(q, TERN_CPU_AUTO, err, errlen)) goto bad;
  return 0;
bad:
  tern_tfm_qmodel_free(q);
  return -1;
}

static void qffn_set_kernel(tern_tfm_qffn *f, int k) {
  f->gate.kernel = f->up.kernel = f->down.kernel = k;
}

int tern_tfm_qmodel_set_kernel(tern_tfm_qmodel *q, int kernel, char *err, size_t errlen) {
  if (!q || !q->block) return tern_err(err, errlen, "tern_tfm_qmodel_set_kernel: model not quantised");
  int k = kernel;
  if (k != TERN_TFM_KERNEL_SCALAR) {
    char e2[256];
    if (k < 0 || k >= TERN_CPU_NVARIANTS)
      return tern_err(err, errlen, "kernel %d: expected a tern_cpu_variant (0..%d) or %d (scalar)",
                  kernel, TERN_CPU_NVARIANTS - 1, TERN_TFM_KERNEL_SCALAR);
    k = tern_cpu_variant_resolve((tern_cpu_variant)k, e2, sizeof e2);
    if (k < 0) return tern_err(err, errlen, "CPU kernel: %s", e2);
  }
  q->kernel = k;
  qffn_set_kernel(&q->shared_ffn, k);
  for (int b = 0; b < q->cfg.layers; b++) {
    tern_tfm_qblock *B = &q->block[b];
    B->wq.kernel = B->wk.kernel = B->wv.kernel = B->wo.kernel = k;
    qffn_set_kernel(&B->own_ffn, k);
  }
  return 0;
}

const char *tern_tfm_kernel_name(int kernel) {
  return kernel == TERN_TFM_KERNEL_SCALAR ? "scalar" : tern_cpu_variant_name((tern_cpu_variant)kernel);
}

/* ---- context -------------------------------------------------------------------------- */

struct tern_tfm_ictx {
  const tern_tfm_qmodel *q;
  int max_seq, pos, passes, qd, kvd;
  int8_t *kc, *vc;          /* [passes][max_seq][kvd] */
  int32_t *ks, *vs;         /* [passes][max_seq][kv_heads] */
  int32_t *rcos, *rsin;     /* [max_seq][head_dim/2], Q14 */
  tern_tfm_itrace_fn trace;
  void *trace_user;
};

void tern_tfm_ictx_free(tern_tfm_ictx *x) {
  if (!x) return;
  free(x->kc);
  free(x->vc);
  free(x->ks);
  free(x->vs);
  free(x->rcos);
  free(x->rsin);
  free(x);
}

tern_tfm_ictx *tern_tfm_ictx_new(const tern_tfm_qmodel *q, int max_seq, char *err,
                                 size_t errlen) {
  if (!q || !q->block) {
    tern_err(err, errlen, "tern_tfm_ictx_new: model not quantised");
    return NULL;
  }
  const tern_tfm_config *c = &q->cfg;
  if (max_seq <= 0) max_seq = c->max_seq;
  if (max_seq > c->max_seq || max_seq > TERN_TFM_MAX_CTX) {
    tern_err(err, errlen, "context of %d positions: expected at most %d (max_seq of '%s', and %d)",
         max_seq, c->max_seq, c->name, TERN_TFM_MAX_CTX);
    return NULL;
  }
  tern_tfm_ictx *x = calloc(1, sizeof *x);
  if (!x) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  x->q = q;
  x->max_seq = max_seq;
  x->passes = c->layers * c->repeat;
  x->qd = c->heads * c->head_dim;
  x->kvd = c->kv_heads * c->head_dim;
  size_t kv = (size_t)x->passes * (size_t)max_seq * (size_t)x->kvd;
  size_t ns = (size_t)x->passes * (size_t)max_seq * (size_t)c->kv_heads;
  size_t rt = (size_t)max_seq * (size_t)(c->head_dim / 2);
  x->kc = malloc(kv);
  x->vc = malloc(kv);
  x->ks = malloc(ns * sizeof(int32_t));
  x->vs = malloc(ns * sizeof(int32_t));
  x->rcos = malloc(rt * sizeof(int32_t));
  x->rsin = malloc(rt * sizeof(int32_t));
  if (!x->kc || !x->vc || !x->ks || !x->vs || !x->rcos || !x->rsin) {
    tern_tfm_ictx_free(x);
    tern_err(err, errlen, "out of memory for the int8 KV cache (%zu bytes)", 2 * kv);
    return NULL;
  }
  tern_tfm_rope_table(c->rope_theta, c->head_dim, max_seq, x->rcos, x->rsin);
  return x;
}

void tern_tfm_ictx_reset(tern_tfm_ictx *x) {
  if (x) x->pos = 0;
}
int tern_tfm_ictx_pos(const tern_tfm_ictx *x) { return x ? x->pos : 0; }
void tern_tfm_ictx_set_trace(tern_tfm_ictx *x, tern_tfm_itrace_fn fn, void *user) {
  if (!x) return;
  x->trace = fn;
  x->trace_user = user;
}
const int8_t *tern_tfm_ictx_k(const tern_tfm_ictx *x, int p) {
  if (!x || p < 0 || p >= x->passes) return NULL;
  return x->kc + (size_t)p * (size_t)x->max_seq * (size_t)x->kvd;
}
const int8_t *tern_tfm_ictx_v(const tern_tfm_ictx *x, int p) {
  if (!x || p < 0 || p >= x->passes) return NULL;
  return x->vc + (size_t)p * (size_t)x->max_seq * (size_t)x->kvd;
}
const int32_t *tern_tfm_ictx_kscale(const tern_tfm_ictx *x, int p) {
  if (!x || p < 0 || p >= x->passes) return NULL;
  return x->ks + (size_t)p * (size_t)x->max_seq * (size_t)x->q->cfg.kv_heads;
}
const int32_t *tern_tfm_ictx_vscale(const tern_tfm_ictx *x, int p) {
  if (!x || p < 0 || p >= x->passes) return NULL;
  return x->vs + (size_t)p * (size_t)x->max_seq * (size_t)x->q->cfg.kv_heads;
}

int tern_tfm_iargmax(const int32_t *l, int n) {
  int b = 0;
  for (int i = 1; i < n; i++)
    if (l[i] > l[b]) b = i;
  return b;
}

/* ---- forward ---------------------------------------------------------------------------- */

/* FFN of one normed row h (Q12, dim): m (Q12, ffn) -> down -> y (Q12, dim). */
static void ffn_row(const tern_tfm_config *c, const int32_t *sigmoid_lut, const int32_t *gelu_lut,
                    int interp,
                    const tern_tfm_qffn *f, const int32_t *h, int32_t *u, int32_t *g, int32_t *t,
                    int8_t *qb, int32_t *acc, int32_t *y) {
  int d = c->dim, F = c->ffn;
  /* F1 */ int32_t A = tern_tfm_quant_row(h, d, qb);
  /* F2 */ tern_tfm_bitlinear_int(&f->up, qb, A, acc, u);
  switch (c->ffn_type) {
    case TERN_FFN_SWIGLU:
      /* F3 */ tern_tfm_bitlinear_int(&f->gate, qb, A, acc, g);
      for (int j = 0; j < F; j++) {
        /* F4 */ int32_t s = interp ? tern_rnn_lut_interp(sigmoid_lut, g[j])
                                    : sigmoid_lut[tern_lut_index(g[j], TERN_LUT_SHIFT)];
        /* F5 */ int32_t sg = tern_v_mulshr(g[j], s, TERN_SIGMOID_FRAC);
        /* F6 */ u[j] = tern_v_mulshr(sg, u[j], TERN_FX);
      }
      break;
    case TERN_FFN_RELU2_GLU:
      /* F3 */ tern_tfm_bitlinear_int(&f->gate, qb, A, acc, g);
      for (int j = 0; j < F; j++) {
        /* F4 */ int32_t r = tern_v_max(g[j], 0);
        /* F5 */ int32_t r2 = tern_v_mulshr(r, r, TERN_FX);
        /* F6 */ u[j] = tern_v_mulshr(r2, u[j], TERN_FX);
      }
      break;
    case TERN_FFN_RELU2:
      for (int j = 0; j < F; j++) {
        /* F4 */ int32_t r = tern_v_max(u[j], 0);
        /* F5 */ u[j] = tern_v_mulshr(r, r, TERN_FX);
      }
      break;
    case TERN_FFN_GELU:
      for (int j = 0; j < F; j++) {
        /* F4 */ int32_t p = gelu_lut[tern_lut_index(u[j], TERN_LUT_SHIFT)];
        /* F5 */ u[j] = tern_v_mulshr(u[j], p, TERN_SIGMOID_FRAC);
      }
      break;
  }
  const int32_t *m = u;
  if (c->subln) {
    /* F7 */ tern_tfm_norm_int(&f->subln, u, t);
    m = t;
  }
  /* F8 */ A = tern_tfm_quant_row(m, F, qb);
  /* F9 */ tern_tfm_bitlinear_int(&f->down, qb, A, acc, y);
}

/* ---- the FFN half of one block on its own (compiler reference) -------------------- */

int tern_tfm_ffn_half_of(const tern_tfm_qmodel *q, int block, tern_tfm_ffn_half *h, char *err,
                         size_t errlen) {
  if (!q || !h || !q->block) return tern_err(err, errlen, "tern_tfm_ffn_half_of: null argument");
  if (block < 0 || block >= q->cfg.layers)
    return tern_err(err, errlen, "block %d: expected 0..%d (field 'layers' is %d)", block,
                q->cfg.layers - 1, q->cfg.layers);
  h->cfg = &q->cfg;
  h->norm = &q->block[block].ffn_norm;
  h->ffn = q->block[block].ffn;
  h->sigmoid_lut = q->sigmoid_lut;
  h->gelu_lut = q->gelu_lut;
  h->lut_interp = q->ffn_lut_interp;
  return 0;
}

int tern_tfm_quantize_ffn_block(const tern_tfm_config *c, const tern_tfm_block *blk, int b,
                                tern_tfm_qffn_block *out, char *err, size_t errlen) {
  if (!c || !blk || !out) return tern_err(err, errlen, "tern_tfm_quantize_ffn_block: null argument");
  memset(out, 0, sizeof *out);
  if (!blk->ffn)
    return tern_err(err, errlen,
                "block %d: no FFN weights (share_ffn = %d: the shared FFN is not part of a block "
                "generated alone)",
                b, c->share_ffn);
  out->cfg = *c;
  char what[96];
  snprintf(what, sizeof what, "block %d ffn norm", b);
  if (qnorm(c, &blk->ffn_norm, c->dim, &out->norm, what, err, errlen)) return -1;
  snprintf(what, sizeof what, "block %d ffn", b);
  if (qffn(c, blk->ffn, &out->ffn, what, err, errlen)) {
    tern_tfm_qffn_block_free(out);
    return -1;
  }
  tern_sigmoid_table(out->sigmoid_lut);
  tern_gelu_table(out->gelu_lut);
  return 0;
}

void tern_tfm_qffn_block_free(tern_tfm_qffn_block *q) {
  if (!q) return;
  tern_tfm_qnorm_free(&q->norm);
  qffn_free(&q->ffn);
}

tern_tfm_ffn_half tern_tfm_qffn_block_half(const tern_tfm_qffn_block *q) {
  tern_tfm_ffn_half h;
  h.cfg = &q->cfg;
  h.norm = &q->norm;
  h.ffn = &q->ffn;
  h.sigmoid_lut = q->sigmoid_lut;
  h.gelu_lut = q->gelu_lut;
  h.lut_interp = 0;
  return h;
}

int tern_tfm_ffn_half_int(const tern_tfm_ffn_half *hf, const int32_t *x, int M, int32_t *y,
                          char *err, size_t errlen) {
  if (!hf || !hf->cfg || !hf->norm || !hf->ffn || !x || !y || M < 0)
    return tern_err(err, errlen, "tern_tfm_ffn_half_int: null argument or M < 0");
  const tern_tfm_config *c = hf->cfg;
  int d = c->dim, F = c->ffn;
  size_t big = (size_t)(d > F ? d : F);
  int32_t *h = malloc(big * sizeof(int32_t)), *t1 = malloc(big * sizeof(int32_t));
  int32_t *t2 = malloc(big * sizeof(int32_t)), *t3 = malloc(big * sizeof(int32_t));
  int32_t *acc = malloc(big * sizeof(int32_t));
  int8_t *qb = malloc(big);
  int rc = 0;
  if (!h || !t1 || !t2 || !t3 || !acc || !qb) {
    rc = tern_err(err, errlen, "tern_tfm_ffn_half_int: out of memory (dim %d, ffn %d)", d, F);
  } else {
    for (int i = 0; i < M; i++) {
      const int32_t *xr = x + (size_t)i * (size_t)d;
      int32_t *yr = y + (size_t)i * (size_t)d;
      /* F0 */ tern_tfm_norm_int(hf->norm, xr, h);
      ffn_row(c, hf->sigmoid_lut, hf->gelu_lut, hf->lut_interp, hf->ffn, h, t1, t2, t3, qb, acc, h);
      /* F10 */ for (int j = 0; j < d; j++) yr[j] = tern_v_add(xr[j], h[j]);
    }
  }
  free(h);
  free(t1);
  free(t2);
  free(t3);
  free(acc);
  free(qb);
  return rc;
}

/* ---- the attention half of one block pass (A1-A20, O1-O4) --------------------- */

/* Scratch of the attention half for n rows (iprefill also runs the FFN in the
 * row buffers, so their width is at least `big`). */
typedef struct attn_ws {
  int32_t *qr, *a;             /* n x heads*head_dim: Q after RoPE, attention output */
  int32_t *h, *t1, *t2, *t3, *acc; /* big */
  int8_t *qb;                  /* big */
  int32_t *sc, *ex;            /* max_seq: scores, softmax numerators */
  int8_t *qw;                  /* max_seq: int8 P */
} attn_ws;

static void attn_ws_free(attn_ws *w) {
  free(w->qr);
  free(w->a);
  free(w->h);
  free(w->t1);
  free(w->t2);
  free(w->t3);
  free(w->acc);
  free(w->qb);
  free(w->sc);
  free(w->ex);
  free(w->qw);
  memset(w, 0, sizeof *w);
}

static int attn_ws_alloc(attn_ws *w, const tern_tfm_ictx *ctx, int n, int big) {
  const tern_tfm_config *c = &ctx->q->cfg;
  if (c->dim > big) big = c->dim;
  if (ctx->qd > big) big = ctx->qd;
  if (ctx->kvd > big) big = ctx->kvd;
  size_t nq = (size_t)n * (size_t)ctx->qd, b = (size_t)big, ms = (size_t)ctx->max_seq;
  memset(w, 0, sizeof *w);
  w->qr = malloc(nq * sizeof(int32_t));
  w->a = malloc(nq * sizeof(int32_t));
  w->h = malloc(b * sizeof(int32_t));
  w->t1 = malloc(b * sizeof(int32_t));
  w->t2 = malloc(b * sizeof(int32_t));
  w->t3 = malloc(b * sizeof(int32_t));
  w->acc = malloc(b * sizeof(int32_t));
  w->qb = malloc(b);
  w->sc = malloc(ms * sizeof(int32_t));
  w->ex = malloc(ms * sizeof(int32_t));
  w->qw = malloc(ms);
  if (!w->qr || !w->a || !w->h || !w->t1 || !w->t2 || !w->t3 || !w->acc || !w->qb || !w->sc ||
      !w->ex || !w->qw) {
    attn_ws_free(w);
    return -1;
  }
  return 0;
}

/* y = x + o_proj(attention(Norm_attn(x))) for n rows (Q12, row stride dim; y
 * may be x) at positions pos .. pos+n-1 of block pass p, which also writes the
 * int8 K/V and their scales of those positions into pass p's cache.  Every
 * row's attention reads cache entries <= its position only, all written
 * before (A1-A6 for all rows first). */
static void attn_half(tern_tfm_ictx *ctx, int p, int pos, const int32_t *x, int n, int32_t *y,
                      attn_ws *w) {
  const tern_tfm_qmodel *Q = ctx->q;
  const tern_tfm_config *c = &Q->cfg;
  const tern_tfm_qblock *B = &Q->block[p / c->repeat];
  int d = c->dim, qd = ctx->qd, kvd = ctx->kvd, hd = c->head_dim, H = c->heads;
  int KH = c->kv_heads, half = hd / 2, group = H / KH;
  size_t cbase = (size_t)p * (size_t)ctx->max_seq;
  int8_t *kc = ctx->kc + cbase * (size_t)kvd;
  int8_t *vc = ctx->vc + cbase * (size_t)kvd;
  int32_t *ks = ctx->ks + cbase * (size_t)KH;
  int32_t *vs = ctx->vs + cbase * (size_t)KH;
  int32_t *qr = w->qr, *a = w->a, *h = w->h, *t1 = w->t1, *t2 = w->t2, *acc = w->acc;
  int32_t *sc = w->sc, *ex = w->ex;
  int8_t *qb = w->qb, *qw = w->qw;
  /* A1-A6: norm, Q/K/V (one quantisation), RoPE, int8 K/V into the cache */
  for (int i = 0; i < n; i++) {
    int t = pos + i;
    tern_tfm_norm_int(&B->attn_norm, x + (size_t)i * d, h);
    int32_t A = tern_tfm_quant_row(h, d, qb);
    int32_t *qi = qr + (size_t)i * qd;
    tern_tfm_bitlinear_int(&B->wq, qb, A, acc, qi);
    tern_tfm_bitlinear_int(&B->wk, qb, A, acc, t1);
    tern_tfm_bitlinear_int(&B->wv, qb, A, acc, t2);
    const int32_t *cs = ctx->rcos + (size_t)t * (size_t)half;
    const int32_t *sn = ctx->rsin + (size_t)t * (size_t)half;
    for (int hh = 0; hh < H; hh++) tern_tfm_rope_int(qi + (size_t)hh * hd, hd, cs, sn);
    for (int kh = 0; kh < KH; kh++) {
      tern_tfm_rope_int(t1 + (size_t)kh * hd, hd, cs, sn);
      ks[(size_t)t * KH + kh] =
          tern_tfm_quant_row(t1 + (size_t)kh * hd, hd, kc + (size_t)t * kvd + (size_t)kh * hd);
      vs[(size_t)t * KH + kh] =
          tern_tfm_quant_row(t2 + (size_t)kh * hd, hd, vc + (size_t)t * kvd + (size_t)kh * hd);
    }
  }
  /* A7-A20: attention per row and head over the cached positions j0..t */
  for (int i = 0; i < n; i++) {
    int t = pos + i;
    int j0 = c->window > 0 && t - c->window + 1 > 0 ? t - c->window + 1 : 0;
    int cnt = t - j0 + 1;
    for (int hh = 0; hh < H; hh++) {
      int kh = hh / group;
      /* A7 */ int32_t Aq = tern_tfm_quant_row(qr + (size_t)i * qd + (size_t)hh * hd, hd, qb);
      /* A8 */ int32_t Sq = tern_v_mulshr(Aq, Q->att_c, 14);
      for (int j = j0; j <= t; j++) {
        /* A9 */ int32_t dot = tern_v_dot8(qb, 1, kc + (size_t)j * kvd + (size_t)kh * hd, 1,
                                           (size_t)hd);
        /* A10 */ int32_t P = tern_v_mulshr(dot, ks[(size_t)j * KH + kh], 12);
        /* A11 */ sc[j - j0] = tern_v_mulshr(P, Sq, 22);
      }
      /* A12 */ int32_t E = tern_tfm_softmax_exp(Q->exp_hi, Q->exp_lo, sc, cnt, ex);
      for (int j = j0; j <= t; j++)
        /* A13 */ ex[j - j0] = tern_v_mulshr(ex[j - j0], vs[(size_t)j * KH + kh],
                                             TERN_TFM_EXP_FRAC);
      /* A14 */ int32_t Aw = tern_v_max(tern_r_maxabs(ex, (size_t)cnt, 1), TERN_AMIN);
      /* A15 */ int32_t Rw = tern_v_recip(Aw, 127, TERN_QSHIFT);
      /* A16 */ for (int j = 0; j < cnt; j++) qw[j] = tern_v_quant(ex[j], Rw, TERN_QSHIFT);
      /* A17 */ int32_t G = tern_tfm_softmax_recip(E);
      /* A18 */ int32_t Hs = tern_v_mulshr(tern_v_mulshr(Aw, Q->pv_c, 6), G, 30);
      int32_t *ah = a + (size_t)i * qd + (size_t)hh * hd;
      const int8_t *v0 = vc + (size_t)j0 * kvd + (size_t)kh * hd;
      for (int e = 0; e < hd; e++) {
        /* A19 */ int32_t o = tern_v_dot8(qw, 1, v0 + e, (size_t)kvd, (size_t)cnt);
        /* A20 */ ah[e] = tern_v_mulshr(o, Hs, 25);
      }
    }
  }
  /* O1-O4 per row: SubLN, quantisation, o_proj, residual */
  for (int i = 0; i < n; i++) {
    const int32_t *xr = x + (size_t)i * d;
    int32_t *yr = y + (size_t)i * d;
    const int32_t *ai = a + (size_t)i * qd;
    if (c->subln) {
      /* O1 */ tern_tfm_norm_int(&B->attn_subln, ai, t1);
      ai = t1;
    }
    /* O2 */ int32_t A = tern_tfm_quant_row(ai, qd, qb);
    /* O3 */ tern_tfm_bitlinear_int(&B->wo, qb, A, acc, h);
    /* O4 */ for (int j = 0; j < d; j++) yr[j] = tern_v_add(xr[j], h[j]);
  }
}

int tern_tfm_attn_half_int(const tern_tfm_qmodel *q, int block, int pass, tern_tfm_ictx *ctx,
                           int pos, const int32_t *x, int M, int32_t *y, char *err,
                           size_t errlen) {
  if (!q || !ctx || !x || !y)
    return tern_err(err, errlen, "tern_tfm_attn_half_int: null argument");
  if (ctx->q != q)
    return tern_err(err, errlen, "tern_tfm_attn_half_int: the context belongs to another model");
  const tern_tfm_config *c = &q->cfg;
  if (pass < 0 || pass >= ctx->passes)
    return tern_err(err, errlen, "pass %d: expected 0..%d (layers * repeat = %d)", pass,
                    ctx->passes - 1, ctx->passes);
  if (block != pass / c->repeat)
    return tern_err(err, errlen, "block %d: pass %d runs block pass / repeat = %d", block, pass,
                    pass / c->repeat);
  if (M < 1) return tern_err(err, errlen, "M = %d rows: expected at least 1", M);
  if (pos < 0 || pos > ctx->max_seq - M)
    return tern_err(err, errlen,
                    "positions %d..%d: expected pos >= 0 and pos + M <= the context of %d", pos,
                    pos + M - 1, ctx->max_seq);
  attn_ws w;
  if (attn_ws_alloc(&w, ctx, M, 0))
    return tern_err(err, errlen, "out of memory (attention half of %d rows)", M);
  attn_half(ctx, pass, pos, x, M, y, &w);
  attn_ws_free(&w);
  return 0;
}

/* E1 and H1-H5 (the compiler's EMBED and HEAD programs are tested against these) */
int tern_tfm_embed_int(const tern_tfm_qmodel *q, const int *tokens, int M, int32_t *x, char *err,
                       size_t errlen) {
  if (!q || !q->m || !q->embed_c || !tokens || !x || M < 0)
    return tern_err(err, errlen, "tern_tfm_embed_int: null argument or M < 0");
  const int d = q->cfg.dim;
  for (int i = 0; i < M; i++)
    if (tokens[i] < 0 || tokens[i] >= q->cfg.vocab)
      return tern_err(err, errlen, "token %d at index %d is out of range, expected 0..%d",
                      tokens[i], i, q->cfg.vocab - 1);
  for (int i = 0; i < M; i++) {
    const int8_t *e = q->m->embed.q + (size_t)tokens[i] * (size_t)d;
    int32_t ec = q->embed_c[tokens[i]];
    /* E1 */ for (int j = 0; j < d; j++)
      x[(size_t)i * d + j] = tern_v_mulshr(e[j], ec, 16);
  }
  return 0;
}

void tern_tfm_lm_head_rows(const tern_tfm_qnorm *final_norm, const int8_t *W,
                           const int32_t *row_c, int32_t head_dq_c, int d, int vocab,
                           const int32_t *x, int M, int all_logits, int32_t *logits, int32_t *h,
                           int8_t *qb) {
  for (int i = all_logits ? 0 : M - 1; i < M; i++) {
    /* H1 */ tern_tfm_norm_int(final_norm, x + (size_t)i * d, h);
    /* H2 */ int32_t A = tern_tfm_quant_row(h, d, qb);
    /* H3 */ int32_t Dh = tern_v_mulshr(A, head_dq_c, 12);
    int32_t *lo = logits + (all_logits ? (size_t)i * (size_t)vocab : 0);
    for (int v = 0; v < vocab; v++) {
      /* H4 */ int32_t dot = dot8_rows(qb, W + (size_t)v * (size_t)d, (size_t)d);
      /* H5 */ lo[v] = tern_v_mulshr(tern_v_mulshr(dot, row_c[v], 16), Dh, 30);
    }
  }
}

int tern_tfm_head_int(const tern_tfm_qmodel *q, const int32_t *x, int M, int all_logits,
                      int32_t *logits, char *err, size_t errlen) {
  if (!q || !q->m || !q->head_c || !x || !logits || M < 1)
    return tern_err(err, errlen, "tern_tfm_head_int: null argument or M < 1");
  const tern_tfm_config *c = &q->cfg;
  const int d = c->dim;
  const int8_t *W = c->tie_embeddings ? q->m->embed.q : q->m->lm_head.q;
  int32_t *h = malloc((size_t)d * sizeof(int32_t));
  int8_t *qb = malloc((size_t)d);
  if (!h || !qb) {
    free(h);
    free(qb);
    return tern_err(err, errlen, "tern_tfm_head_int: out of memory (dim %d)", d);
  }
  tern_tfm_lm_head_rows(&q->final_norm, W, q->head_c, q->head_dq_c, d, c->vocab, x, M, all_logits,
                        logits, h, qb);
  free(h);
  free(qb);
  return 0;
}

int tern_tfm_iprefill(tern_tfm_ictx *ctx, const int *tokens, int n, int32_t *logits,
                      int all_logits, char *err, size_t errlen) {
  if (!ctx || !tokens || !logits) return tern_err(err, errlen, "tern_tfm_iprefill: null argument");
  const tern_tfm_qmodel *Q = ctx->q;
  const tern_tfm_config *c = &Q->cfg;
  if (n < 1) return tern_err(err, errlen, "prefill of %d tokens: expected at least 1", n);
  if (n > ctx->max_seq - ctx->pos)
    return tern_err(err, errlen,
                "KV cache full: %d positions used + %d tokens exceeds the context of %d", ctx->pos,
                n, ctx->max_seq);
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= c->vocab)
      return tern_err(err, errlen, "token %d at index %d is out of range, expected 0..%d", tokens[i],
                  i, c->vocab - 1);
  int d = c->dim;
  size_t nd = (size_t)n * (size_t)d;
  int32_t *x = malloc(nd * sizeof(int32_t));
  attn_ws w;
  int rc = 0;
  if (!x || attn_ws_alloc(&w, ctx, n, c->ffn)) {
    free(x);
    return tern_err(err, errlen, "out of memory (prefill of %d tokens)", n);
  }
  int32_t *h = w.h, *t1 = w.t1, *t2 = w.t2, *t3 = w.t3, *acc = w.acc;
  int8_t *qb = w.qb;
  /* E1: embedding lookup (tokens checked above) */
  tern_tfm_embed_int(Q, tokens, n, x, err, errlen);
  for (int p = 0; p < ctx->passes; p++) {
    const tern_tfm_qblock *B = &Q->block[p / c->repeat];
    /* A1-A20, O1-O4: the attention half, in place on x */
    attn_half(ctx, p, ctx->pos, x, n, x, &w);
    /* F0-F10: the FFN half, per row */
    for (int i = 0; i < n; i++) {
      int32_t *xr = x + (size_t)i * d;
      /* F0 */ tern_tfm_norm_int(&B->ffn_norm, xr, h);
      ffn_row(&Q->cfg, Q->sigmoid_lut, Q->gelu_lut, Q->ffn_lut_interp, B->ffn, h, t1, t2, t3, qb, acc, h); /* h is read (F1) before y is written */
      /* F10 */ for (int j = 0; j < d; j++) xr[j] = tern_v_add(xr[j], h[j]);
    }
    if (ctx->trace) ctx->trace(ctx->trace_user, p, n, x);
  }
  /* H1-H5: final norm, int8 quantisation, int8 LM head, Q12 logits */
  rc = tern_tfm_head_int(Q, x, n, all_logits, logits, err, errlen);
  ctx->pos += n;
  free(x);
  attn_ws_free(&w);
  return rc;
}

int tern_tfm_idecode(tern_tfm_ictx *ctx, int token, int32_t *logits, char *err, size_t errlen) {
  return tern_tfm_iprefill(ctx, &token, 1, logits, 0, err, errlen);
}

/* ---- fidelity ---------------------------------------------------------------------------- */

static const char *const fid_prompts[TERN_TFM_FID_PROMPTS] = {
    "Hello, world!",
    "The quick brown fox",
    "int main(void) {",
    "1 + 1 = 2, 2 + 2 =",
    "Once upon a time",
    "ternary weights {-1, 0, +1}",
    "def f(x): return x*x",
    "tern: 1.58-bit LM",
};

const char *tern_tfm_fidelity_prompt(int i) {
  return i >= 0 && i < TERN_TFM_FID_PROMPTS ? fid_prompts[i] : NULL;
}

int tern_tfm_fidelity_tokens(const char *text, int vocab, int *tokens, int max_tokens) {
  int n = 0;
  if (!text || vocab < 1) return 0;
  for (const unsigned char *p = (const unsigned char *)text; *p && n < max_tokens; p++)
    tokens[n++] = vocab >= 256 ? (int)*p : (int)*p % vocab;
  return n;
}

void tern_tfm_fidelity_result_free(tern_tfm_fidelity_result *r) {
  if (!r) return;
  free(r->layer_max_err);
  free(r->layer_rms);
  r->layer_max_err = r->layer_rms = NULL;
}

/* per-pass residual rows of the current call, float and int */
typedef struct fid_trace {
  int dim, passes, cap;  /* cap: rows per pass */
  float *f;              /* [passes][cap][dim] */
  int32_t *x;            /* [passes][cap][dim] */
  int nf, nx;            /* rows of the last call */
} fid_trace;

static void fid_ftrace(void *user, int pass, int n, const float *x) {
  fid_trace *t = user;
  if (pass < 0 || pass >= t->passes || n > t->cap) return;
  memcpy(t->f + (size_t)pass * t->cap * t->dim, x, (size_t)n * t->dim * sizeof(float));
  t->nf = n;
}

static void fid_itrace(void *user, int pass, int n, const int32_t *x) {
  fid_trace *t = user;
  if (pass < 0 || pass >= t->passes || n > t->cap) return;
  memcpy(t->x + (size_t)pass * t->cap * t->dim, x, (size_t)n * t->dim * sizeof(int32_t));
  t->nx = n;
}

static double cosine_fi(const float *f, const int32_t *x, int n) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; i++) {
    double a = (double)f[i], b = (double)x[i] / 4096.0;
    ab += a * b;
    aa += a * a;
    bb += b * b;
  }
  if (aa == 0.0 || bb == 0.0) return aa == bb ? 1.0 : 0.0;
  return ab / sqrt(aa * bb);
}

void tern_fid_lengths(int n_prompts, int ctxlen, int *steps, int *maxlen) {
  int s = TERN_TFM_FID_DECODE, ml = 0;
  for (int i = 0; i < n_prompts && i < TERN_TFM_FID_PROMPTS; i++) {
    int l = (int)strlen(fid_prompts[i]);
    if (l > ml) ml = l;
  }
  if (s > ctxlen - 1) s = ctxlen - 1;
  if (ml > ctxlen - s) ml = ctxlen - s;
  *steps = s;
  *maxlen = ml;
}

int tern_fid_run(const tern_fid_pair *fp, int n_prompts, int steps, int maxlen, FILE *out,
                 tern_tfm_fidelity_result *res, char *err, size_t errlen) {
  int passes = fp->passes, V = fp->vocab, d = fp->dim;
  fid_trace tr = {d, passes, maxlen, NULL, NULL, 0, 0};
  tr.f = malloc((size_t)passes * maxlen * d * sizeof(float));
  tr.x = malloc((size_t)passes * maxlen * d * sizeof(int32_t));
  float *lf = malloc((size_t)V * sizeof(float));
  int32_t *li = malloc((size_t)V * sizeof(int32_t));
  int *tok = malloc((size_t)(maxlen > 0 ? maxlen : 1) * sizeof(int));
  double *sumsq = calloc((size_t)passes, sizeof(double));
  double *cnt = calloc((size_t)passes, sizeof(double));
  res->layer_max_err = calloc((size_t)passes, sizeof(double));
  res->layer_rms = calloc((size_t)passes, sizeof(double));
  int rc = 0;
  if (!tr.f || !tr.x || !lf || !li || !tok || !sumsq || !cnt || !res->layer_max_err ||
      !res->layer_rms) {
    rc = tern_err(err, errlen, "out of memory (fidelity of '%s')", fp->name);
    goto done;
  }
  fp->set_traces(fp->user, fid_ftrace, fid_itrace, &tr);
  res->n_prompts = n_prompts;
  res->passes = passes;
  res->min_cosine = 2.0;
  if (out)
    fprintf(out, "fidelity of '%s' (integer vs float reference): %d prompts, prefill + %d decode steps\n",
            fp->name, n_prompts, steps);
  for (int pi = 0; pi < n_prompts; pi++) {
    int n = tern_tfm_fidelity_tokens(fid_prompts[pi], V, tok, maxlen);
    double mincos = 2.0;
    int agree = 0;
    for (int s = 0; s <= steps; s++) {
      tr.nf = tr.nx = 0;
      /* s > 0: both fed the float model's greedy token */
      int next = s == 0 ? 0 : tern_tfm_argmax(lf, V);
      if (fp->step(fp->user, s, tok, n, next, lf, li, err, errlen)) {
        rc = -1;
        goto done;
      }
      int rows = tr.nf < tr.nx ? tr.nf : tr.nx;
      for (int p = 0; p < passes; p++) {
        const float *f = tr.f + (size_t)p * maxlen * d;
        const int32_t *x = tr.x + (size_t)p * maxlen * d;
        for (size_t k = 0; k < (size_t)rows * d; k++) {
          double e = fabs((double)x[k] / 4096.0 - (double)f[k]);
          if (e > res->layer_max_err[p]) res->layer_max_err[p] = e;
          sumsq[p] += (double)f[k] * (double)f[k];
          cnt[p] += 1.0;
        }
      }
      double cs = cosine_fi(lf, li, V);
      if (cs < mincos) mincos = cs;
      if (s == steps) {
        res->cosine[pi] = cs;
        int fa = tern_tfm_argmax(lf, V), ia = tern_tfm_iargmax(li, V);
        agree = fa == ia;
        res->top1_gap[pi] = (double)lf[fa] - (double)lf[ia];
      }
    }
    res->min_step_cosine[pi] = mincos;
    res->top1[pi] = agree;
    res->top1_agree += agree;
    if (res->cosine[pi] < res->min_cosine) res->min_cosine = res->cosine[pi];
    res->mean_cosine += res->cosine[pi] / n_prompts;
    if (out)
      fprintf(out,
              "  prompt %d %-30s %2d tokens: logit cosine %.6f (min over steps %.6f), top-1 %s",
              pi, fid_prompts[pi], n, res->cosine[pi], mincos, agree ? "agrees" : "differs");
    if (out && !agree)
      fprintf(out, " (the integer choice is %.4f below the float top-1 in float logits)",
              res->top1_gap[pi]);
    if (out) fputc('\n', out);
  }
  for (int p = 0; p < passes; p++) res->layer_rms[p] = cnt[p] > 0 ? sqrt(sumsq[p] / cnt[p]) : 0;
  if (out)
    fprintf(out, "  logit cosine min %.6f mean %.6f, top-1 agreement %d/%d\n", res->min_cosine,
            res->mean_cosine, res->top1_agree, n_prompts);
done:
  if (rc) tern_tfm_fidelity_result_free(res);
  free(tr.f);
  free(tr.x);
  free(lf);
  free(li);
  free(tok);
  free(sumsq);
  free(cnt);
  return rc;
}

/* the float and integer transformer contexts of tern_tfm_fidelity_model */
typedef struct tfm_fid_pair {
  tern_tfm_ctx *fc;
  tern_tfm_ictx *ic;
} tfm_fid_pair;

static void tfm_fid_set_traces(void *user, tern_fid_ftrace_fn ft, tern_fid_itrace_fn it, void *tr) {
  tfm_fid_pair *p = user;
  tern_tfm_ctx_set_trace(p->fc, ft, tr);
  tern_tfm_ictx_set_trace(p->ic, it, tr);
}

static int tfm_fid_step(void *user, int s, const int *tok, int n, int next, float *lf, int32_t *li,
                        char *err, size_t errlen) {
  tfm_fid_pair *p = user;
  if (s == 0) {
    tern_tfm_ctx_reset(p->fc);
    tern_tfm_ictx_reset(p->ic);
    if (tern_tfm_prefill(p->fc, tok, n, lf, 0, err, errlen) ||
        tern_tfm_iprefill(p->ic, tok, n, li, 0, err, errlen))
      return -1;
  } else if (tern_tfm_decode(p->fc, next, lf, err, errlen) ||
             tern_tfm_idecode(p->ic, next, li, err, errlen)) {
    return -1;
  }
  return 0;
}

int tern_tfm_fidelity_model(const tern_tfm_model *m, int n_prompts, FILE *out,
                            tern_tfm_fidelity_result *res, char *err, size_t errlen) {
  if (!m || !res) return tern_err(err, errlen, "tern_tfm_fidelity: null argument");
  memset(res, 0, sizeof *res);
  if (n_prompts < 1 || n_prompts > TERN_TFM_FID_PROMPTS)
    return tern_err(err, errlen, "n_prompts is %d, expected 1..%d", n_prompts, TERN_TFM_FID_PROMPTS);
  const tern_tfm_config *c = &m->cfg;
  tern_tfm_qmodel q;
  if (tern_tfm_quantize(m, &q, err, errlen)) return -1;
  int steps, maxlen;
  tern_fid_lengths(n_prompts, c->max_seq < TERN_TFM_MAX_CTX ? c->max_seq : TERN_TFM_MAX_CTX,
                   &steps, &maxlen);
  int need = maxlen + steps;
  tfm_fid_pair p = {NULL, NULL};
  p.fc = tern_tfm_ctx_new(m, need, err, errlen);
  p.ic = p.fc ? tern_tfm_ictx_new(&q, need, err, errlen) : NULL;
  int rc = -1;
  if (p.fc && p.ic) {
    tern_fid_pair fp = {c->name, c->layers * c->repeat, c->vocab, c->dim, &p,
                        tfm_fid_set_traces, tfm_fid_step};
    rc = tern_fid_run(&fp, n_prompts, steps, maxlen, out, res, err, errlen);
  }
  if (!rc && out) {
    fprintf(out, "  residual stream after each block pass: max |int - float| (float RMS)\n");
    for (int pp = 0; pp < res->passes; pp++)
      fprintf(out, "    pass %3d (block %3d): %.5f (%.4f)\n", pp, pp / c->repeat,
              res->layer_max_err[pp], res->layer_rms[pp]);
  }
  tern_tfm_ctx_free(p.fc);
  tern_tfm_ictx_free(p.ic);
  tern_tfm_qmodel_free(&q);
  return rc;
}

int tern_tfm_fidelity(const char *preset_or_file, int n_prompts, FILE *out,
                      tern_tfm_fidelity_result *res, char *err, size_t errlen) {
  if (!preset_or_file || !res) return tern_err(err, errlen, "tern_tfm_fidelity: null argument");
  memset(res, 0, sizeof *res);
  tern_tfm_config c;
  if (tern_tfm_load_config(preset_or_file, &c, err, errlen)) return -1;
  tern_tfm_model m;
  memset(&m, 0, sizeof m);
  if (tern_tfm_load_model(preset_or_file, &c, &m, err, errlen)) return -1;
  int rc = tern_tfm_fidelity_model(&m, n_prompts, out, res, err, errlen);
  tern_tfm_free(&m);
  return rc;
}
