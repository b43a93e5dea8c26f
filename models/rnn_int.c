/* Integer reference of the recurrent LMs (include/tern/rnn.h, integer
 * section; docs/NUMERICS.md "Recurrent operations (integer)").
 *
 * Every value computed at run time goes through the vector-unit primitives
 * of models/numerics.c (tern_v_*, tern_r_*, tern_lut_index), the ternary
 * GEMM, or DOT8 (tern_v_dot8: attention and the LM head).  The transformer's
 * step functions (tern_tfm_norm_int, tern_tfm_quant_row,
 * tern_tfm_bitlinear_int, tern_tfm_rope_int, tern_tfm_softmax_exp,
 * tern_tfm_softmax_recip) are reused, and so are models/tfm_int.c's
 * constructors of the BitLinear / norm / row constants, its LM head (H1-H5)
 * and its fidelity loop (models/tfm_int_internal.h).  Floating point only builds constants
 * and tables, and is used by the fidelity comparison.  Every row is computed
 * in position order, so a prefill of n tokens equals n decodes bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/rnn.h"
#include "tern/tfm_int.h"
#include "tfm_int_internal.h"

/* ---- tables --------------------------------------------------------------------- */

void tern_rnn_sqrt_sigmoid_table(int32_t t[256]) {
  for (int i = 0; i < 256; i++) {
    double x = ((double)(i - 128) + 0.5) / 16.0;
    t[i] = (int32_t)floor(sqrt(1.0 / (1.0 + exp(-x))) * 32768.0 + 0.5);
  }
}

void tern_rnn_expneg_table(int32_t t[256]) {
  for (int i = 0; i < 256; i++) t[i] = (int32_t)floor(exp(-(double)i / 64.0) * 16777216.0 + 0.5);
}

static double psi(double l) { return l <= 0.0 ? 1.0 : sqrt(-expm1(-2.0 * l) / (2.0 * l)); }

void tern_rnn_psi_table(int32_t t[256]) {
  for (int i = 0; i < 256; i++) t[i] = (int32_t)floor(psi(((double)i + 0.5) / 64.0) * 32768.0 + 0.5);
}

void tern_rnn_luts_init(tern_rnn_luts *T) {
  tern_sigmoid_table(T->sigmoid);
  tern_gelu_table(T->gelu);
  tern_rnn_sqrt_sigmoid_table(T->sqrt_sigmoid);
  tern_rnn_expneg_table(T->expneg);
  tern_rnn_psi_table(T->psi);
  tern_exp_hi_table(T->exp_hi);
  tern_exp_lo_table(T->exp_lo);
}

int tern_rnn_lambda_consts(float lambda, int32_t *spc, int32_t *sqc) {
  double L = (double)lambda;
  if (!isfinite(L)) return -1;
  double x = -L;
  double sp = x > 30.0 ? x : log1p(exp(x)); /* softplus(-Lambda) in double */
  if (!(8.0 * sp < TERN_RNN_L_MAX)) return -1;
  *spc = tern_round_sat32(ldexp(8.0 * sp, TERN_RNN_L_FRAC));
  *sqc = tern_round_sat32(ldexp(sqrt(16.0 * sp), TERN_RNN_L_FRAC));
  return 0;
}

/* ---- step functions ---------------------------------------------------------------- */

/* Interpolated LUT read (I1-I6): the tables hold f at the bucket midpoints
 * x_i = (i - 128 + 0.5)/16, so with u = t - 128 (Q12) the two neighbouring
 * midpoints are entries LUT(u, 8) and LUT(u + 256, 8) of the same table, and
 * fr = u mod 256 the position between them. */
int32_t tern_rnn_lut_interp(const int32_t *T, int32_t t) {
  /* I1 */ int32_t u = tern_v_sub(t, 128);
  /* I2 */ int32_t t0 = T[tern_lut_index(u, TERN_LUT_SHIFT)];
  /* I3 */ int32_t t1 = T[tern_lut_index(tern_v_add(u, 256), TERN_LUT_SHIFT)];
  /* I4 */ int32_t k = tern_v_mulshr(tern_v_sub(u, 128), 1, 8); /* floor(u / 256) */
  /* I5 */ int32_t fr = tern_v_sub(u, tern_v_mulshr(k, 256, 0)); /* [0, 256) */
  /* I6 */ return tern_v_add(t0, tern_v_mulshr(tern_v_sub(t1, t0), fr, 8));
}

#define ONE24 (1 << 24)
#define ONE15 (1 << 15)

void tern_rnn_rglru_step_int(const tern_rnn_luts *T, int n, const int32_t *ga, const int32_t *gx,
                             const int32_t *b_a, const int32_t *b_x, const int32_t *spc,
                             const int32_t *sqc, const int32_t *x, int32_t *h, int32_t *a_out,
                             int32_t *m_out) {
  const int32_t third = 5592405; /* round(2^24 / 3) */
  for (int j = 0; j < n; j++) {
    /* R1 */ int32_t ta = tern_v_add(ga[j], b_a[j]);
    /* R2 */ int32_t r = tern_rnn_lut_interp(T->sigmoid, ta);      /* Q15 */
    /* R3 */ int32_t sr = tern_rnn_lut_interp(T->sqrt_sigmoid, ta); /* Q15 */
    /* R4 */ int32_t l = tern_v_min(tern_v_mulshr(r, spc[j], 15), 4 * ONE24 - 1); /* Q24 */
    /* R5 */ int32_t lc = tern_v_sub(l, 128 << 18);
    int32_t ehi = T->expneg[tern_lut_index(lc, 18)];
    int32_t ps = T->psi[tern_lut_index(lc, 18)];
    /* R6 */ int32_t k = tern_v_mulshr(tern_v_sub(l, 1 << 17), 1, 18); /* floor(l / 2^18) */
    /* R7 */ int32_t f = tern_v_sub(l, tern_v_mulshr(k, 1 << 18, 0));  /* [0, 2^18) */
    /* R8 */ int32_t p = tern_v_sub(ONE24, tern_v_mulshr(f, third, 24)); /* 1 - f/3 */
    /* R9 */ p = tern_v_sub(ONE24, tern_v_mulshr(f, p, 25));             /* 1 - f/2 (1 - f/3) */
    /* R10 */ int32_t elo = tern_v_sub(ONE24, tern_v_mulshr(f, p, 24));  /* exp(-f) */
    /* R11 */ int32_t a = tern_v_mulshr(ehi, elo, 24);                    /* Q24 */
    /* R12 */ int32_t m = tern_v_mulshr(tern_v_mulshr(sr, sqc[j], 15), ps, 15); /* Q24 */
    /* R13 */ int32_t tx = tern_v_add(gx[j], b_x[j]);
    int32_t ig = tern_rnn_lut_interp(T->sigmoid, tx);         /* Q15 */
    int32_t ix = tern_v_mulshr(ig, x[j], 15);                            /* Q12 */
    /* R14 */ h[j] = tern_v_add(tern_v_mulshr(a, h[j], 24), tern_v_mulshr(m, ix, 18));
    if (a_out) a_out[j] = a;
    if (m_out) m_out[j] = m;
  }
}

void tern_rnn_conv1d_int(int n, int cw, const int32_t *w_q, const int32_t *b_q, int32_t *win,
                         const int32_t *x, int32_t *y) {
  for (int j = 0; j < n; j++) {
    /* C1 */ int32_t acc = b_q[j];
    for (int k = 0; k < cw - 1; k++)
      /* C2 */ acc = tern_v_add(acc, tern_v_mulshr(w_q[(size_t)k * n + j], win[(size_t)k * n + j],
                                                   TERN_RNN_CONV_FRAC));
    /* C2 */ y[j] = tern_v_add(acc, tern_v_mulshr(w_q[(size_t)(cw - 1) * n + j], x[j],
                                                  TERN_RNN_CONV_FRAC));
  }
  /* C3: the window shifts (copies: LOAD/STORE of state rows) */
  if (cw > 1) {
    memmove(win, win + n, (size_t)(cw - 2) * (size_t)n * sizeof(int32_t));
    memcpy(win + (size_t)(cw - 2) * n, x, (size_t)n * sizeof(int32_t));
  }
}

void tern_rnn_mlgru_step_int(const tern_rnn_luts *T, int n, const int32_t *f, const int32_t *c,
                             const int32_t *g, int32_t *h, int32_t *o) {
  for (int j = 0; j < n; j++) {
    /* G1 */ int32_t fs = tern_rnn_lut_interp(T->sigmoid, f[j]);
    /* G2 */ int32_t s = tern_rnn_lut_interp(T->sigmoid, c[j]);
    /* G3 */ int32_t cs = tern_v_mulshr(c[j], s, 15);                        /* SiLU, Q12 */
    /* G4 */ int32_t om = tern_v_sub(ONE15, fs);                               /* 1 - f, Q15 */
    /* G5 */ h[j] = tern_v_add(tern_v_mulshr(fs, h[j], 15), tern_v_mulshr(om, cs, 9)); /* Q18 */
    /* G6 */ int32_t gs = tern_rnn_lut_interp(T->sigmoid, g[j]);
    /* G7 */ o[j] = tern_v_mulshr(gs, h[j], 21);                               /* Q12 */
  }
}

void tern_rnn_bdlinear_int(const tern_tblockdiag *t, int32_t beta_c, int s_d, const int32_t *x,
                           int8_t *qb, int32_t *acc, int32_t *y) {
  int S = t->size, W = t->blocks * t->size;
  int32_t A = tern_tfm_quant_row(x, W, qb);
  int32_t D = tern_v_mulshr(A, beta_c, s_d);
  uint32_t *ua = (uint32_t *)acc;
  for (int nn = 0; nn < W; nn++) ua[nn] = 0;
  for (int hb = 0; hb < t->blocks; hb++) {
    size_t cbase = (size_t)hb * (size_t)S * (size_t)S;
    uint32_t *ab = ua + (size_t)hb * S;
    for (int k = 0; k < S; k++) {
      int v = qb[hb * S + k];
      if (!v) continue;
      size_t base = cbase + (size_t)k * (size_t)S;
      for (int nn = 0; nn < S; nn++) {
        int cc = tern_tpacked_get(t->codes, base + (size_t)nn);
        if (cc > 0) ab[nn] += (uint32_t)v;
        else if (cc < 0) ab[nn] -= (uint32_t)v;
      }
    }
  }
  for (int nn = 0; nn < W; nn++) y[nn] = tern_v_mulshr(acc[nn], D, 16);
}

/* ---- constants ------------------------------------------------------------------------- */

static int ring_of(const tern_rnn_config *c) { return c->window < c->max_seq ? c->window : c->max_seq; }

static int32_t *qvec(const float *v, int n, double scale, int fx) {
  int32_t *o = malloc((size_t)n * sizeof(int32_t));
  if (!o) return NULL;
  for (int i = 0; i < n; i++) o[i] = fx ? tern_to_fx(v[i]) : tern_round_sat32((double)v[i] * scale);
  return o;
}

static void tern_rnn_qblock_free(tern_rnn_qblock *B) {
  tern_tfm_qnorm_free(&B->mix_norm);
  tern_tfm_qnorm_free(&B->mlp_norm);
  tern_tfm_qlinear *ls[] = {&B->wx, &B->wy, &B->wout, &B->wq, &B->wk, &B->wv, &B->wo,
                            &B->wf, &B->wc, &B->wg,   &B->wmo, &B->gate, &B->up, &B->down};
  for (size_t i = 0; i < sizeof ls / sizeof *ls; i++) tern_tfm_qlinear_free(ls[i]);
  free(B->conv_w);
  free(B->conv_b);
  free(B->b_a);
  free(B->b_x);
  free(B->spc);
  free(B->sqc);
}

void tern_rnn_qmodel_free(tern_rnn_qmodel *q) {
  if (!q) return;
  if (q->block)
    for (int b = 0; b < q->cfg.layers; b++) tern_rnn_qblock_free(&q->block[b]);
  free(q->block);
  free(q->view_b);
  tern_tfm_qnorm_free(&q->final_norm);
  if (q->head_c != q->embed_c) free(q->head_c);
  free(q->embed_c);
  free(q);
}

static int qbd_init(const tern_tblockdiag *t, int blocks, int size, tern_rnn_qbd *o, const char *what,
                    char *err, size_t errlen) {
  if (!t->codes || t->blocks != blocks || t->size != size)
    return tern_err(err, errlen, "%s: expected %d blocks of %dx%d", what, blocks, size, size);
  o->t = t;
  int bf = tern_beta_const(t->beta, &o->beta_c);
  if (bf < 16)
    return tern_err(err, errlen, "%s: beta is %g, expected a finite value > 0 with beta_frac >= 16",
                    what, (double)t->beta);
  o->s_d = bf - 16;
  return 0;
}

/* The transformer view (include/tern/rnn.h, tern_rnn_qmodel.view): shallow
 * copies of what the transformer step programs read. */
static int build_view(tern_rnn_qmodel *q, char *err, size_t errlen) {
  const tern_rnn_config *c = &q->cfg;
  const tern_rnn_model *m = q->m;
  tern_tfm_config *vc = &q->view_m.cfg;
  tern_tfm_config_init(vc);
  snprintf(vc->name, sizeof vc->name, "%s", c->name);
  snprintf(vc->source, sizeof vc->source, "%s", c->source);
  vc->vocab = c->vocab;
  vc->dim = c->dim;
  vc->layers = c->layers;
  int griffin = c->arch == TERN_RNN_GRIFFIN;
  vc->heads = griffin ? c->heads : 1;
  vc->kv_heads = 1;
  vc->head_dim = griffin ? tern_rnn_head_dim(c) : 2;
  vc->ffn = c->ffn;
  vc->ffn_type = TERN_FFN_SWIGLU;
  vc->norm = TERN_NORM_RMS;
  vc->norm_bias = 0;
  vc->subln = 0;
  vc->rope_theta = 10000.0;
  vc->window = griffin ? c->window : 0;
  vc->tie_embeddings = c->tie_embeddings;
  vc->repeat = 1;
  vc->share_ffn = 0;
  vc->max_seq = c->max_seq;
  vc->eps = c->eps;
  vc->seed = c->seed;
  char e2[256];
  if (tern_tfm_check(vc, c->name, e2, sizeof e2))
    return tern_err(err, errlen, "%s: no transformer view for the accelerator programs: %s",
                    c->name, e2);
  q->view_m.embed = m->embed;
  q->view_m.lm_head = m->lm_head;
  q->view_b = calloc((size_t)c->layers, sizeof *q->view_b);
  if (!q->view_b) return tern_err(err, errlen, "out of memory (%d blocks)", c->layers);
  tern_tfm_qmodel *v = &q->view;
  memset(v, 0, sizeof *v);
  v->cfg = *vc;
  v->m = &q->view_m;
  v->embed_c = q->embed_c;
  v->head_c = q->head_c;
  v->final_norm = q->final_norm;
  v->block = q->view_b;
  for (int b = 0; b < c->layers; b++) {
    const tern_rnn_qblock *B = &q->block[b];
    tern_tfm_qblock *vb = &q->view_b[b];
    vb->attn_norm = B->mix_norm;
    vb->ffn_norm = B->mlp_norm;
    vb->wq = B->wq;
    vb->wk = B->wk;
    vb->wv = B->wv;
    vb->wo = B->wo;
    vb->own_ffn.gate = B->gate;
    vb->own_ffn.up = B->up;
    vb->own_ffn.down = B->down;
    vb->ffn = &vb->own_ffn;
  }
  v->att_c = q->att_c;
  v->head_dq_c = q->head_dq_c;
  v->pv_c = q->pv_c;
  memcpy(v->sigmoid_lut, c->arch == TERN_RNN_MLGRU ? q->T.sigmoid : q->T.gelu,
         sizeof v->sigmoid_lut);
  memcpy(v->gelu_lut, q->T.gelu, sizeof v->gelu_lut);
  memcpy(v->exp_hi, q->T.exp_hi, sizeof v->exp_hi);
  memcpy(v->exp_lo, q->T.exp_lo, sizeof v->exp_lo);
  v->kernel = q->block[0].gate.kernel;
  v->ffn_lut_interp = 1;
  return 0;
}

tern_rnn_qmodel *tern_rnn_quantize(const tern_rnn_model *m, char *err, size_t errlen) {
  if (!m || !m->block || !m->embed.q) {
    tern_err(err, errlen, "tern_rnn_quantize: model not generated");
    return NULL;
  }
  const tern_rnn_config *c = &m->cfg;
  if (tern_rnn_check(c, c->name, err, errlen)) return NULL;
  tern_rnn_qmodel *q = calloc(1, sizeof *q);
  if (!q) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  q->cfg = *c;
  q->m = m;
  char e2[256];
  int kernel = tern_cpu_variant_resolve(TERN_CPU_AUTO, e2, sizeof e2);
  if (kernel < 0) kernel = TERN_TFM_KERNEL_SCALAR;
  int d = c->dim, w = c->lru_width, hd = tern_rnn_head_dim(c), F = c->ffn, cw = c->conv_width;
  char what[96];
  if (tern_tfm_row_consts(&m->embed, c->vocab, d, &q->embed_c, "embedding", err, errlen))
    goto bad;
  if (c->tie_embeddings) q->head_c = q->embed_c;
  else if (tern_tfm_row_consts(&m->lm_head, c->vocab, d, &q->head_c, "lm_head", err, errlen))
    goto bad;
  /* RMSNorm (layer = 0); the recurrent norms have no bias */
  if (tern_tfm_qnorm_init(&m->final_norm, d, c->eps, 0, &q->final_norm, "final norm", err, errlen))
    goto bad;
  q->block = calloc((size_t)c->layers, sizeof *q->block);
  if (!q->block) {
    tern_err(err, errlen, "out of memory (%d blocks)", c->layers);
    goto bad;
  }
  for (int b = 0; b < c->layers; b++) {
    const tern_rnn_block *MB = &m->block[b];
    tern_rnn_qblock *B = &q->block[b];
    B->kind = MB->kind;
#define BL(field, K, N, name)                                                        \
  do {                                                                               \
    snprintf(what, sizeof what, "block %d %s", b, name);                             \
    if (tern_tfm_qlinear_init(&MB->field, K, N, kernel, &B->field, what, err, errlen)) goto bad; \
  } while (0)
    snprintf(what, sizeof what, "block %d mix norm", b);
    if (tern_tfm_qnorm_init(&MB->mix_norm, d, c->eps, 0, &B->mix_norm, what, err, errlen)) goto bad;
    snprintf(what, sizeof what, "block %d mlp norm", b);
    if (tern_tfm_qnorm_init(&MB->mlp_norm, d, c->eps, 0, &B->mlp_norm, what, err, errlen)) goto bad;
    BL(gate, d, F, "mlp gate");
    BL(up, d, F, "mlp up");
    BL(down, F, d, "mlp down");
    if (B->kind == TERN_RNN_RECURRENT) {
      BL(wx, d, w, "W_x");
      BL(wy, d, w, "W_y");
      BL(wout, w, d, "W_out");
      int nb = tern_rnn_gate_blocks(c);
      snprintf(what, sizeof what, "block %d W_a", b);
      if (qbd_init(&MB->gate_a, nb, c->lru_block, &B->ga, what, err, errlen)) goto bad;
      snprintf(what, sizeof what, "block %d W_x gate", b);
      if (qbd_init(&MB->gate_x, nb, c->lru_block, &B->gx, what, err, errlen)) goto bad;
      B->conv_w = qvec(MB->conv_w, cw * w, 16384.0, 0);
      B->conv_b = qvec(MB->conv_b, w, 0, 1);
      B->b_a = qvec(MB->b_a, w, 0, 1);
      B->b_x = qvec(MB->b_x, w, 0, 1);
      B->spc = malloc((size_t)w * sizeof(int32_t));
      B->sqc = malloc((size_t)w * sizeof(int32_t));
      if (!B->conv_w || !B->conv_b || !B->b_a || !B->b_x || !B->spc || !B->sqc) {
        tern_err(err, errlen, "out of memory (block %d)", b);
        goto bad;
      }
      for (int i = 0; i < cw * w; i++)
        if (!isfinite(MB->conv_w[i]) || fabs((double)MB->conv_w[i]) >= 65536.0) {
          tern_err(err, errlen, "block %d conv_w[%d][%d] is %g, expected a finite value with |w| < 2^16",
                   b, i / w, i % w, (double)MB->conv_w[i]);
          goto bad;
        }
      for (int j = 0; j < w; j++)
        if (tern_rnn_lambda_consts(MB->lambda[j], &B->spc[j], &B->sqc[j])) {
          tern_err(err, errlen,
                   "block %d lambda[%d] is %g, expected a finite value with 8 softplus(-lambda) < 4 "
                   "(lambda > 0.434)",
                   b, j, (double)MB->lambda[j]);
          goto bad;
        }
    } else if (B->kind == TERN_RNN_ATTENTION) {
      BL(wq, d, d, "W_q");
      BL(wk, d, hd, "W_k");
      BL(wv, d, hd, "W_v");
      BL(wo, d, d, "W_o");
    } else {
      BL(wf, d, w, "W_f");
      BL(wc, d, w, "W_c");
      BL(wg, d, w, "W_g");
      BL(wmo, w, d, "W_o");
    }
#undef BL
  }
  q->att_c = tern_round_sat32(ldexp(1.0, 36) / (16129.0 * sqrt((double)hd)));
  q->head_dq_c = tern_round_sat32(ldexp(1.0, 30) / 127.0);
  q->pv_c = tern_round_sat32(ldexp(1.0, 30) / 16129.0);
  tern_rnn_luts_init(&q->T);
  if (build_view(q, err, errlen)) goto bad;
  return q;
bad:
  tern_rnn_qmodel_free(q);
  return NULL;
}

/* ---- context ----------------------------------------------------------------------------- */

struct tern_rnn_ictx {
  const tern_rnn_qmodel *q;
  int pos, ring;
  size_t nbytes;
  uint8_t *state;
  size_t *off; /* per block */
  tern_rnn_itrace_fn trace;
  void *trace_user;
};

void tern_rnn_ictx_free(tern_rnn_ictx *x) {
  if (!x) return;
  free(x->state);
  free(x->off);
  free(x);
}

tern_rnn_ictx *tern_rnn_ictx_new(const tern_rnn_qmodel *q, char *err, size_t errlen) {
  if (!q) {
    tern_err(err, errlen, "tern_rnn_ictx_new: model not quantised");
    return NULL;
  }
  const tern_rnn_config *c = &q->cfg;
  tern_rnn_ictx *x = calloc(1, sizeof *x);
  if (!x || !(x->off = calloc((size_t)c->layers, sizeof *x->off))) {
    tern_rnn_ictx_free(x);
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  x->q = q;
  x->ring = ring_of(c);
  size_t o = 0;
  for (int b = 0; b < c->layers; b++) {
    x->off[b] = o;
    o += tern_rnn_block_state_bytes(q, b);
  }
  x->nbytes = o;
  x->state = calloc(o ? o : 1, 1);
  if (!x->state) {
    tern_rnn_ictx_free(x);
    tern_err(err, errlen, "out of memory for the recurrent state (%zu bytes)", o);
    return NULL;
  }
  return x;
}

void tern_rnn_ictx_reset(tern_rnn_ictx *x) {
  if (!x) return;
  x->pos = 0;
  memset(x->state, 0, x->nbytes);
}
int tern_rnn_ictx_pos(const tern_rnn_ictx *x) { return x ? x->pos : 0; }
size_t tern_rnn_ictx_state_bytes(const tern_rnn_ictx *x) { return x ? x->nbytes : 0; }
size_t tern_rnn_ictx_state_off(const tern_rnn_ictx *x, int b) {
  return x && b >= 0 && b < x->q->cfg.layers ? x->off[b] : 0;
}
void tern_rnn_ictx_get_state(const tern_rnn_ictx *x, void *out) {
  if (x && out) memcpy(out, x->state, x->nbytes);
}
void tern_rnn_ictx_set_trace(tern_rnn_ictx *x, tern_rnn_itrace_fn fn, void *user) {
  if (!x) return;
  x->trace = fn;
  x->trace_user = user;
}

/* ---- forward ------------------------------------------------------------------------------- */

typedef struct ws {
  int32_t *b1, *b2, *b3, *b4, *b5, *acc, *sc, *ex;
  int8_t *qb, *qw;
  int32_t *cs, *sn;
} ws;

static void mix_recurrent(const tern_rnn_qmodel *Q, const tern_rnn_qblock *B, uint8_t *st, const int32_t *h,
                          int32_t *out, ws *u) {
  const tern_rnn_config *c = &Q->cfg;
  int d = c->dim, w = c->lru_width;
  int32_t *hs = (int32_t *)st, *win = hs + w;
  int32_t *xb = u->b1, *yb = u->b2, *xc = u->b3, *ga = u->b4, *gx = u->b5;
  /* P1 */ int32_t A = tern_tfm_quant_row(h, d, u->qb);
  /* P2 */ tern_tfm_bitlinear_int(&B->wx, u->qb, A, u->acc, xb);
  /* P3 */ tern_tfm_bitlinear_int(&B->wy, u->qb, A, u->acc, yb);
  for (int j = 0; j < w; j++)
    /* P4 */ yb[j] = tern_v_mulshr(yb[j], tern_rnn_lut_interp(Q->T.gelu, yb[j]), 15);
  /* C1-C3 */ tern_rnn_conv1d_int(w, c->conv_width, B->conv_w, B->conv_b, win, xb, xc);
  /* P5 */ tern_rnn_bdlinear_int(B->ga.t, B->ga.beta_c, B->ga.s_d, xc, u->qb, u->acc, ga);
  /* P6 */ tern_rnn_bdlinear_int(B->gx.t, B->gx.beta_c, B->gx.s_d, xc, u->qb, u->acc, gx);
  /* R1-R14 */ tern_rnn_rglru_step_int(&Q->T, w, ga, gx, B->b_a, B->b_x, B->spc, B->sqc, xc, hs,
                                       NULL, NULL);
  /* P7 */ for (int j = 0; j < w; j++) xb[j] = tern_v_mulshr(hs[j], yb[j], TERN_RNN_H_FRAC);
  /* P8 */ A = tern_tfm_quant_row(xb, w, u->qb);
  /* P9 */ tern_tfm_bitlinear_int(&B->wout, u->qb, A, u->acc, out);
}

static void rope_row(int hd, int t, int32_t *cs, int32_t *sn) {
  /* the row of position t of tern_tfm_rope_table(10000, hd, .) (same expression) */
  int half = hd / 2;
  for (int i = 0; i < half; i++) {
    double ang = (double)t * pow(10000.0, -2.0 * (double)i / (double)hd);
    cs[i] = (int32_t)floor(cos(ang) * 16384.0 + 0.5);
    sn[i] = (int32_t)floor(sin(ang) * 16384.0 + 0.5);
  }
}

static void mix_attention(const tern_rnn_qmodel *Q, const tern_rnn_qblock *B, uint8_t *st, int R, int t,
                          const int32_t *h, int32_t *out, ws *u) {
  const tern_rnn_config *c = &Q->cfg;
  int d = c->dim, hd = tern_rnn_head_dim(c), H = c->heads;
  int32_t *ks = (int32_t *)st, *vs = ks + R;
  int8_t *kc = (int8_t *)(vs + R), *vc = kc + (size_t)R * hd;
  int32_t *q = u->b1, *k = u->b2, *v = u->b3, *a = u->b4;
  int slot = t % R;
  /* A1-A3: one quantisation of the normed row, Q, K, V */
  int32_t A = tern_tfm_quant_row(h, d, u->qb);
  tern_tfm_bitlinear_int(&B->wq, u->qb, A, u->acc, q);
  tern_tfm_bitlinear_int(&B->wk, u->qb, A, u->acc, k);
  tern_tfm_bitlinear_int(&B->wv, u->qb, A, u->acc, v);
  /* A4: RoPE (rotate-half, base 10000) */
  rope_row(hd, t, u->cs, u->sn);
  for (int hh = 0; hh < H; hh++) tern_tfm_rope_int(q + (size_t)hh * hd, hd, u->cs, u->sn);
  tern_tfm_rope_int(k, hd, u->cs, u->sn);
  /* A5: int8 K, V into the ring slot */
  ks[slot] = tern_tfm_quant_row(k, hd, kc + (size_t)slot * hd);
  vs[slot] = tern_tfm_quant_row(v, hd, vc + (size_t)slot * hd);
  int j0 = t - c->window + 1 > 0 ? t - c->window + 1 : 0;
  int cnt = t - j0 + 1;
  for (int hh = 0; hh < H; hh++) {
    /* A7 */ int32_t Aq = tern_tfm_quant_row(q + (size_t)hh * hd, hd, u->qb);
    /* A8 */ int32_t Sq = tern_v_mulshr(Aq, Q->att_c, 14);
    for (int j = j0; j <= t; j++) {
      int s = j % R;
      /* A9 */ int32_t dot = tern_v_dot8(u->qb, 1, kc + (size_t)s * hd, 1, (size_t)hd);
      /* A10 */ int32_t P = tern_v_mulshr(dot, ks[s], 12);
      /* A11 */ u->sc[j - j0] = tern_v_mulshr(P, Sq, 22);
    }
    /* A12 */ int32_t E = tern_tfm_softmax_exp(Q->T.exp_hi, Q->T.exp_lo, u->sc, cnt, u->ex);
    for (int j = j0; j <= t; j++)
      /* A13 */ u->ex[j - j0] = tern_v_mulshr(u->ex[j - j0], vs[j % R], TERN_TFM_EXP_FRAC);
    /* A14 */ int32_t Aw = tern_v_max(tern_r_maxabs(u->ex, (size_t)cnt, 1), TERN_AMIN);
    /* A15 */ int32_t Rw = tern_v_recip(Aw, 127, TERN_QSHIFT);
    /* A16 */ for (int j = 0; j < cnt; j++) u->qw[j] = tern_v_quant(u->ex[j], Rw, TERN_QSHIFT);
    /* A17 */ int32_t G = tern_tfm_softmax_recip(E);
    /* A18 */ int32_t Hs = tern_v_mulshr(tern_v_mulshr(Aw, Q->pv_c, 6), G, 30);
    int32_t *ah = a + (size_t)hh * hd;
    for (int e = 0; e < hd; e++) {
      /* A19 (the ring: positions j0..t in order, slots wrap) */
      int32_t o = 0;
      int s0 = j0 % R, n1 = R - s0 < cnt ? R - s0 : cnt;
      o = tern_v_mac8(o, u->qw, 1, vc + (size_t)s0 * hd + e, (size_t)hd, (size_t)n1);
      if (cnt > n1) o = tern_v_mac8(o, u->qw + n1, 1, vc + e, (size_t)hd, (size_t)(cnt - n1));
      /* A20 */ ah[e] = tern_v_mulshr(o, Hs, 25);
    }
  }
  /* O2-O3 */ A = tern_tfm_quant_row(a, d, u->qb);
  tern_tfm_bitlinear_int(&B->wo, u->qb, A, u->acc, out);
}

static void mix_mlgru(const tern_rnn_qmodel *Q, const tern_rnn_qblock *B, uint8_t *st, const int32_t *h,
                      int32_t *out, ws *u) {
  const tern_rnn_config *c = &Q->cfg;
  int w = c->lru_width;
  int32_t *f = u->b1, *cc = u->b2, *g = u->b3, *o = u->b4;
  /* M1 */ int32_t A = tern_tfm_quant_row(h, c->dim, u->qb);
  /* M2 */ tern_tfm_bitlinear_int(&B->wf, u->qb, A, u->acc, f);
  tern_tfm_bitlinear_int(&B->wc, u->qb, A, u->acc, cc);
  tern_tfm_bitlinear_int(&B->wg, u->qb, A, u->acc, g);
  /* G1-G7 */ tern_rnn_mlgru_step_int(&Q->T, w, f, cc, g, (int32_t *)st, o);
  /* M3 */ A = tern_tfm_quant_row(o, w, u->qb);
  tern_tfm_bitlinear_int(&B->wmo, u->qb, A, u->acc, out);
}

static void mlp(const tern_rnn_qmodel *Q, const tern_rnn_qblock *B, const int32_t *h, int32_t *out, ws *u) {
  const tern_rnn_config *c = &Q->cfg;
  int32_t *g = u->b1, *up = u->b2;
  /* F1 */ int32_t A = tern_tfm_quant_row(h, c->dim, u->qb);
  /* F2-F3 */ tern_tfm_bitlinear_int(&B->up, u->qb, A, u->acc, up);
  tern_tfm_bitlinear_int(&B->gate, u->qb, A, u->acc, g);
  const int32_t *lut = c->arch == TERN_RNN_MLGRU ? Q->T.sigmoid : Q->T.gelu;
  for (int j = 0; j < c->ffn; j++) {
    /* F4 */ int32_t s = tern_rnn_lut_interp(lut, g[j]);
    /* F5 */ int32_t sg = tern_v_mulshr(g[j], s, TERN_SIGMOID_FRAC);
    /* F6 */ g[j] = tern_v_mulshr(sg, up[j], TERN_FX);
  }
  /* F8-F9 */ A = tern_tfm_quant_row(g, c->ffn, u->qb);
  tern_tfm_bitlinear_int(&B->down, u->qb, A, u->acc, out);
}

static int ws_alloc(ws *u, size_t big) {
  memset(u, 0, sizeof *u);
  int32_t **bs[] = {&u->b1, &u->b2, &u->b3, &u->b4, &u->b5, &u->acc, &u->sc, &u->ex, &u->cs, &u->sn};
  int ok = 1;
  for (size_t i = 0; i < sizeof bs / sizeof *bs; i++) ok = (*bs[i] = malloc(big * sizeof(int32_t))) && ok;
  u->qb = malloc(big);
  u->qw = malloc(big);
  return ok && u->qb && u->qw ? 0 : -1;
}

static void ws_free(ws *u) {
  int32_t *bs[] = {u->b1, u->b2, u->b3, u->b4, u->b5, u->acc, u->sc, u->ex, u->cs, u->sn};
  for (size_t i = 0; i < sizeof bs / sizeof *bs; i++) free(bs[i]);
  free(u->qb);
  free(u->qw);
}


static size_t ws_big(const tern_rnn_config *c) {
  size_t big = (size_t)c->dim;
  if ((size_t)c->lru_width > big) big = (size_t)c->lru_width;
  if ((size_t)c->ffn > big) big = (size_t)c->ffn;
  if ((size_t)ring_of(c) > big) big = (size_t)ring_of(c);
  return big;
}

/* B1-B2 of block b for one row at position t */
static void mix_row(const tern_rnn_qmodel *Q, int b, uint8_t *st, int t, int32_t *xr, int32_t *hn,
                    int32_t *o, ws *u) {
  const tern_rnn_qblock *B = &Q->block[b];
  /* B1 */ tern_tfm_norm_int(&B->mix_norm, xr, hn);
  switch (B->kind) {
    case TERN_RNN_RECURRENT: mix_recurrent(Q, B, st, hn, o, u); break;
    case TERN_RNN_ATTENTION: mix_attention(Q, B, st, ring_of(&Q->cfg), t, hn, o, u); break;
    default: mix_mlgru(Q, B, st, hn, o, u); break;
  }
  /* B2 */ for (int j = 0; j < Q->cfg.dim; j++) xr[j] = tern_v_add(xr[j], o[j]);
}

size_t tern_rnn_block_state_bytes(const tern_rnn_qmodel *q, int b) {
  const tern_rnn_config *c = &q->cfg;
  size_t w = (size_t)c->lru_width, hd = (size_t)tern_rnn_head_dim(c), R = (size_t)ring_of(c);
  switch (q->block[b].kind) {
    case TERN_RNN_RECURRENT: return 4 * w * (size_t)c->conv_width;
    case TERN_RNN_ATTENTION: return 8 * R + ((2 * R * hd + 3) & ~(size_t)3);
    default: return 4 * w;
  }
}

int tern_rnn_mix_int(const tern_rnn_qmodel *q, int b, void *state, int pos, int32_t *x, int M,
                     char *err, size_t errlen) {
  if (!q || !state || !x || M < 1 || b < 0 || b >= q->cfg.layers || pos < 0)
    return tern_err(err, errlen, "tern_rnn_mix_int: null argument, M < 1, pos < 0 or block out of range");
  const tern_rnn_config *c = &q->cfg;
  ws u;
  int32_t *hn = malloc((size_t)c->dim * sizeof(int32_t)), *o = malloc((size_t)c->dim * sizeof(int32_t));
  int rc = 0;
  if (ws_alloc(&u, ws_big(c)) || !hn || !o)
    rc = tern_err(err, errlen, "out of memory (block %d)", b);
  else
    for (int i = 0; i < M; i++) mix_row(q, b, state, pos + i, x + (size_t)i * c->dim, hn, o, &u);
  ws_free(&u);
  free(hn);
  free(o);
  return rc;
}

int tern_rnn_iprefill(tern_rnn_ictx *ctx, const int *tokens, int n, int32_t *logits,
                      int all_logits, char *err, size_t errlen) {
  if (!ctx || !tokens || !logits) return tern_err(err, errlen, "tern_rnn_iprefill: null argument");
  const tern_rnn_qmodel *Q = ctx->q;
  const tern_rnn_config *c = &Q->cfg;
  const tern_rnn_model *m = Q->m;
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
  int32_t *x = malloc((size_t)n * d * sizeof(int32_t));
  int32_t *hn = malloc((size_t)d * sizeof(int32_t)), *o = malloc((size_t)d * sizeof(int32_t));
  ws u;
  int rc = 0;
  if (ws_alloc(&u, ws_big(c)) || !x || !hn || !o) {
    rc = tern_err(err, errlen, "out of memory (prefill of %d tokens)", n);
    goto done;
  }
  /* E1 */
  for (int i = 0; i < n; i++) {
    const int8_t *e = m->embed.q + (size_t)tokens[i] * (size_t)d;
    int32_t ec = Q->embed_c[tokens[i]];
    for (int j = 0; j < d; j++) x[(size_t)i * d + j] = tern_v_mulshr(e[j], ec, 16);
  }
  for (int b = 0; b < c->layers; b++) {
    const tern_rnn_qblock *B = &Q->block[b];
    uint8_t *st = ctx->state + ctx->off[b];
    for (int i = 0; i < n; i++) {
      int32_t *xr = x + (size_t)i * d;
      mix_row(Q, b, st, ctx->pos + i, xr, hn, o, &u); /* B1-B2 */
      /* B3 */ tern_tfm_norm_int(&B->mlp_norm, xr, hn);
      mlp(Q, B, hn, o, &u);
      /* B4 */ for (int j = 0; j < d; j++) xr[j] = tern_v_add(xr[j], o[j]);
    }
    if (ctx->trace) ctx->trace(ctx->trace_user, b, n, x);
  }
  /* H1-H5: the transformers' LM head (tern_tfm_head_int) */
  tern_tfm_lm_head_rows(&Q->final_norm, c->tie_embeddings ? m->embed.q : m->lm_head.q, Q->head_c,
                        Q->head_dq_c, d, c->vocab, x, n, all_logits, logits, hn, u.qb);
  ctx->pos += n;
done:
  free(x);
  free(hn);
  free(o);
  ws_free(&u);
  return rc;
}

int tern_rnn_idecode(tern_rnn_ictx *ctx, int token, int32_t *logits, char *err, size_t errlen) {
  return tern_rnn_iprefill(ctx, &token, 1, logits, 0, err, errlen);
}

/* ---- fidelity ------------------------------------------------------------------------------ */

/* the float and integer recurrent contexts, driven by models/tfm_int.c's
 * fidelity loop (the same prompts, steps and comparison as the transformers) */
typedef struct rnn_fid_pair {
  tern_rnn_ctx *fc;
  tern_rnn_ictx *ic;
} rnn_fid_pair;

static void rnn_fid_set_traces(void *user, tern_fid_ftrace_fn ft, tern_fid_itrace_fn it, void *tr) {
  rnn_fid_pair *p = user;
  tern_rnn_ctx_set_trace(p->fc, ft, tr);
  tern_rnn_ictx_set_trace(p->ic, it, tr);
}

static int rnn_fid_step(void *user, int s, const int *tok, int n, int next, float *lf, int32_t *li,
                        char *err, size_t errlen) {
  rnn_fid_pair *p = user;
  if (s == 0) {
    tern_rnn_ctx_reset(p->fc);
    tern_rnn_ictx_reset(p->ic);
    if (tern_rnn_prefill(p->fc, tok, n, lf, 0, err, errlen) ||
        tern_rnn_iprefill(p->ic, tok, n, li, 0, err, errlen))
      return -1;
  } else if (tern_rnn_decode(p->fc, next, lf, err, errlen) ||
             tern_rnn_idecode(p->ic, next, li, err, errlen)) {
    return -1;
  }
  return 0;
}

int tern_rnn_fidelity_model(const tern_rnn_model *m, int n_prompts, FILE *out,
                            tern_tfm_fidelity_result *res, char *err, size_t errlen) {
  if (!m || !res) return tern_err(err, errlen, "tern_rnn_fidelity: null argument");
  memset(res, 0, sizeof *res);
  if (n_prompts < 1 || n_prompts > TERN_TFM_FID_PROMPTS)
    return tern_err(err, errlen, "n_prompts is %d, expected 1..%d", n_prompts, TERN_TFM_FID_PROMPTS);
  const tern_rnn_config *c = &m->cfg;
  tern_rnn_qmodel *q = tern_rnn_quantize(m, err, errlen);
  if (!q) return -1;
  int steps, maxlen;
  tern_fid_lengths(n_prompts, c->max_seq, &steps, &maxlen);
  rnn_fid_pair p = {NULL, NULL};
  p.fc = tern_rnn_ctx_new(m, err, errlen);
  p.ic = p.fc ? tern_rnn_ictx_new(q, err, errlen) : NULL;
  int rc = -1;
  if (p.fc && p.ic) {
    tern_fid_pair fp = {c->name, c->layers, c->vocab, c->dim, &p, rnn_fid_set_traces, rnn_fid_step};
    rc = tern_fid_run(&fp, n_prompts, steps, maxlen, out, res, err, errlen);
  }
  if (!rc && out) {
    fprintf(out, "  residual stream after each block: max |int - float| (float RMS)\n");
    for (int b = 0; b < res->passes; b++)
      fprintf(out, "    block %3d (%c): %.5f (%.4f)\n", b, tern_rnn_block_kind(c, b),
              res->layer_max_err[b], res->layer_rms[b]);
  }
  tern_rnn_ctx_free(p.fc);
  tern_rnn_ictx_free(p.ic);
  tern_rnn_qmodel_free(q);
  return rc;
}

int tern_rnn_fidelity(const char *preset_or_file, int n_prompts, FILE *out,
                      tern_tfm_fidelity_result *res, char *err, size_t errlen) {
  if (!preset_or_file || !res) return tern_err(err, errlen, "tern_rnn_fidelity: null argument");
  memset(res, 0, sizeof *res);
  tern_rnn_config c;
  if (tern_rnn_load_config(preset_or_file, &c, err, errlen)) return -1;
  tern_rnn_model m;
  memset(&m, 0, sizeof m);
  if (tern_rnn_load_model(preset_or_file, &c, &m, err, errlen)) return -1;
  int rc = tern_rnn_fidelity_model(&m, n_prompts, out, res, err, errlen);
  tern_rnn_free(&m);
  return rc;
}
