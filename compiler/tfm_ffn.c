/* Lowering of the FFN half of a transformer block (issue 3, step 4) onto the
 * MLP compiler's passes (compile.c):
 *
 *   build (here) -> pad -> tile -> alloc -> emit (here) -> sync -> validate
 *
 * Graph, per token row (docs/NUMERICS.md "Transformer operations", F0-F10):
 *   TNORM fn (x -> hn)                      L1-L3 (LayerNorm), N1-N6
 *   QUANT q1 (hn -> q1, A1)                 F1, shared by up and gate
 *   LINEAR up (q1, A1 -> u)                 F2
 *   LINEAR gate (q1, A1 -> g)               F3 (GLU types)
 *   FFN_ACT act (u[, g] -> m)               F4-F6
 *   TNORM sn (m -> mn)                      F7 (SubLN)
 *   QUANT q2 (m -> q2, A2)                  F8
 *   LINEAR down (q2, A2 -> yd)              F9
 *   ADD (x += yd)                           F10
 * QUANT / LINEAR / ADD are emitted by the MLP emitter (cc_emit_op); the
 * constant pool comes from the cc_ctx.consts_fn hook; tiling, weight-chunk
 * streaming, token blocking, the int8 QUANT->OUT->STORE->LOAD->ABUF round trip
 * and the sync pass are the MLP compiler's, unchanged. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/compiler_tfm.h"
#include "tern/numerics.h"

enum { LIN_GATE = 0, LIN_UP = 1, LIN_DOWN = 2 };

typedef struct ffn_ext {
  const tern_tfm_ffn_half *h;
  tern_qlinear lin[3];   /* gate, up, down in the MLP's constant format */
  int8_t *codes[3];      /* unpacked K x N codes (the compiler's matrix input) */
  const int32_t *lut;    /* sigmoid (SwiGLU) or GELU table, NULL otherwise */
} ffn_ext;

static const ffn_ext *ext_of(const cc_ctx *c) { return (const ffn_ext *)c->ext; }

int cc_tfm_check_lin(const tern_tfm_qlinear *l, int K, int N, const char *half,
                     const char *name, char *err, size_t errlen) {
  if (!l->w || !l->w->codes)
    return tern_err(err, errlen, "compile: %s %s: no weights", half, name);
  if (l->w->k != K || l->w->n != N)
    return tern_err(err, errlen, "compile: %s %s: shape %d x %d, expected %d x %d", half, name,
                    l->w->k, l->w->n, K, N);
  if (l->s_d < 0 || l->beta_c <= 0)
    return tern_err(err, errlen,
                    "compile: %s %s: beta_c = %d, s_d = %d, expected beta_c > 0, s_d >= 0", half,
                    name, l->beta_c, l->s_d);
  return 0;
}

int cc_tfm_check_norm(const tern_tfm_qnorm *n, int width, const char *name, char *err,
                      size_t errlen) {
  if (!n->g_q || n->n != width)
    return tern_err(err, errlen, "compile: %s: %s, n = %d, expected gains over %d values", name,
                    n->g_q ? "gains present" : "no gains", n->n, width);
  if (n->ss_shift < 0 || n->ss_shift > 62 || n->rs_shift < 0 || n->rs_shift > 62)
    return tern_err(err, errlen, "compile: %s: ss_shift = %d, rs_shift = %d, expected 0..62", name,
                    n->ss_shift, n->rs_shift);
  return 0;
}

int cc_tfm_unpack_lin(const tern_tfm_qlinear *src, size_t n, int8_t *dst, const char *half,
                      const char *name, char *err, size_t errlen) {
  if (tern_tunpack(src->w->codes, n, dst))
    return tern_err(err, errlen, "compile: %s %s: reserved weight code 10 in the packed matrix",
                    half, name);
  return 0;
}

void cc_tfm_lin_consts(tern_qlinear *dst, int32_t beta_c, int beta_frac, int s_d) {
  dst->w = NULL;
  dst->beta_c = beta_c;
  dst->beta_frac = beta_frac;
  dst->s_d = s_d;
  dst->s_out = 16;
}

/* TNORM op: out = [y, S, r] (+ [S1, mu, c] for LayerNorm) */
int cc_tfm_add_norm(cc_ctx *c, const char *name, const tern_tfm_qnorm *nq, int in, int width) {
  char nm[TERN_NAME_LEN];
#define TT(kind, cols, sfx) (snprintf(nm, sizeof nm, "%s.%s", name, sfx), cc_add_tensor(c, nm, kind, cols))
  int y = TT(CC_T_I32, width, "y"), S = TT(CC_T_SCALAR, 1, "S"), r = TT(CC_T_SCALAR, 1, "r");
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_TNORM;
  o.tnorm = nq;
  o.mask = -1;
  snprintf(o.name, sizeof o.name, "%s", name);
  if (nq->layer) {
    int s1 = TT(CC_T_SCALAR, 1, "S1"), mu = TT(CC_T_SCALAR, 1, "mu");
    int cc = TT(CC_T_I32, width, "c");
    cc_op_io(&o, (int[]){in}, 1, (int[]){y, S, r, s1, mu, cc}, 6, 5);
  } else {
    cc_op_io(&o, (int[]){in}, 1, (int[]){y, S, r}, 3, 2);
  }
#undef TT
  cc_add_op(c, &o);
  return y;
}

/* QUANT op (the MLP's step 12): out = [q, A], temp R */
void cc_tfm_add_quant(cc_ctx *c, const char *name, int in, int width, int *q, int *A) {
  char nm[TERN_NAME_LEN];
  snprintf(nm, sizeof nm, "%s", name);
  *q = cc_add_tensor(c, nm, CC_T_I8, width);
  snprintf(nm, sizeof nm, "%s.A", name);
  *A = cc_add_tensor(c, nm, CC_T_SCALAR, 1);
  snprintf(nm, sizeof nm, "%s.R", name);
  int R = cc_add_tensor(c, nm, CC_T_SCALAR, 1);
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_QUANT;
  snprintf(o.name, sizeof o.name, "%s", name);
  cc_op_io(&o, (int[]){in}, 1, (int[]){*q, *A, R}, 3, 1);
  cc_add_op(c, &o);
}

/* LINEAR op (the MLP's steps 13, GEMM, 14a): out = [y], temp D */
int cc_tfm_add_linear(cc_ctx *c, const char *name, const tern_qlinear *lin, const int8_t *codes,
                      int K, int N, int q, int A) {
  char nm[TERN_NAME_LEN];
  int m = cc_add_matrix(c, name, codes, K, N);
  snprintf(nm, sizeof nm, "%s.y", name);
  int y = cc_add_tensor(c, nm, CC_T_I32, N);
  snprintf(nm, sizeof nm, "%s.D", name);
  int D = cc_add_tensor(c, nm, CC_T_SCALAR, 1);
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_LINEAR;
  o.lin = lin;
  o.mat = m;
  snprintf(o.name, sizeof o.name, "%s", name);
  cc_op_io(&o, (int[]){q, A}, 2, (int[]){y, D}, 2, 1);
  cc_add_op(c, &o);
  return y;
}

static int build_ffn(cc_ctx *c, char *err, size_t errlen) {
  ffn_ext *e = (ffn_ext *)c->ext;
  const tern_tfm_ffn_half *h = e->h;
  const tern_tfm_config *tc = h->cfg;
  int d = tc->dim, F = tc->ffn;
  if (d < 1 || F < 1) {
    tern_err(err, errlen, "compile: ffn config dim = %d, ffn = %d, expected both >= 1", d, F);
    return -1;
  }
  if (tc->ffn_type < TERN_FFN_SWIGLU || tc->ffn_type > TERN_FFN_GELU) {
    tern_err(err, errlen,
           "compile: ffn config ffn_type = %d, expected 0 (swiglu), 1 (relu2_glu), 2 (relu2) or "
           "3 (gelu)",
           (int)tc->ffn_type);
    return -1;
  }
  int glu = tern_ffn_is_glu(tc->ffn_type);
  if (cc_tfm_check_norm(h->norm, d, "ffn norm", err, errlen)) return -1;
  if (tc->subln && cc_tfm_check_norm(&h->ffn->subln, F, "ffn subln", err, errlen)) return -1;
  const tern_tfm_qlinear *src[3] = {&h->ffn->gate, &h->ffn->up, &h->ffn->down};
  static const char *names[3] = {"gate", "up", "down"};
  int KN[3][2] = {{d, F}, {d, F}, {F, d}};
  for (int i = 0; i < 3; i++) {
    if (i == LIN_GATE && !glu) continue;
    if (cc_tfm_check_lin(src[i], KN[i][0], KN[i][1], "ffn", names[i], err, errlen)) return -1;
    size_t n = (size_t)KN[i][0] * (size_t)KN[i][1];
    e->codes[i] = malloc(n ? n : 1);
    if (!e->codes[i]) {
      tern_err(err, errlen, "compile: ffn %s: out of memory (%zu codes)", names[i], n);
      return -1;
    }
    if (cc_tfm_unpack_lin(src[i], n, e->codes[i], "ffn", names[i], err, errlen)) return -1;
    cc_tfm_lin_consts(&e->lin[i], src[i]->beta_c, src[i]->beta_frac, src[i]->s_d);
  }
  if (tc->ffn_type == TERN_FFN_SWIGLU || tc->ffn_type == TERN_FFN_GELU) {
    e->lut = tc->ffn_type == TERN_FFN_SWIGLU ? h->sigmoid_lut : h->gelu_lut;
    if (!e->lut) {
      tern_err(err, errlen, "compile: ffn_type %s needs its table, which is NULL",
             tern_ffn_type_name(tc->ffn_type));
      return -1;
    }
  }
  c->d = d;
  c->x = cc_add_tensor(c, "x", CC_T_I32, d);
  int hn = cc_tfm_add_norm(c, "fn", h->norm, c->x, d);
  int q1, a1;
  cc_tfm_add_quant(c, "q1", hn, d, &q1, &a1);
  int u = cc_tfm_add_linear(c, "up", &e->lin[LIN_UP], e->codes[LIN_UP], d, F, q1, a1);
  int g = -1;
  if (glu) g = cc_tfm_add_linear(c, "gate", &e->lin[LIN_GATE], e->codes[LIN_GATE], d, F, q1, a1);
  int m = cc_add_tensor(c, "m", CC_T_I32, F);
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_FFN_ACT;
  o.ffn_type = (int)tc->ffn_type;
  snprintf(o.name, sizeof o.name, "act.%s", tern_ffn_type_name(tc->ffn_type));
  if (h->lut_interp && tc->ffn_type != TERN_FFN_SWIGLU) {
    tern_err(err, errlen, "compile: ffn lut_interp = 1 with ffn_type %s, expected swiglu",
             tern_ffn_type_name(tc->ffn_type));
    return -1;
  }
  if (h->lut_interp) { /* I1-I6 temporaries */
    int t1 = cc_add_tensor(c, "act.t1", CC_T_I32, F), t2 = cc_add_tensor(c, "act.t2", CC_T_I32, F);
    int t3 = cc_add_tensor(c, "act.t3", CC_T_I32, F);
    cc_op_io(&o, (int[]){u, g}, 2, (int[]){m, t1, t2, t3}, 4, 3);
  } else if (glu)
    cc_op_io(&o, (int[]){u, g}, 2, (int[]){m}, 1, 0);
  else
    cc_op_io(&o, (int[]){u}, 1, (int[]){m}, 1, 0);
  cc_add_op(c, &o);
  if (tc->subln) m = cc_tfm_add_norm(c, "sn", &h->ffn->subln, m, F);
  int q2, a2;
  cc_tfm_add_quant(c, "q2", m, F, &q2, &a2);
  int yd = cc_tfm_add_linear(c, "down", &e->lin[LIN_DOWN], e->codes[LIN_DOWN], F, d, q2, a2);
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_ADD;
  snprintf(o.name, sizeof o.name, "add");
  cc_op_io(&o, (int[]){c->x, yd}, 2, (int[]){c->x}, 1, 0);
  cc_add_op(c, &o);
  return 0;
}

/* padding-lane mask of a width (1 on real lanes); only when width != padded width */
void cc_tfm_mask_name(char *nm, size_t n, int width) { snprintf(nm, n, "mask%d", width); }

int cc_tfm_add_mask(cc_ctx *c, int width) {
  int wp = cc_round_up(width, c->unit);
  if (wp == width) return 0;
  char nm[TERN_NAME_LEN];
  cc_tfm_mask_name(nm, sizeof nm, width);
  for (int i = 0; i < c->ncst; i++)
    if (!strcmp(c->cst[i].name, nm)) return 0;
  int32_t *v = calloc((size_t)wp, sizeof(int32_t));
  if (!v) return -1;
  for (int i = 0; i < width; i++) v[i] = 1;
  cc_add_const(c, nm, wp / c->cfg->cols, v, 0);
  free(v);
  return 0;
}

int cc_tfm_add_norm_consts(cc_ctx *c, const char *p, const tern_tfm_qnorm *nq) {
  char nm[TERN_NAME_LEN];
  int wp = cc_round_up(nq->n, c->unit), words = wp / c->cfg->cols;
  if (nq->layer) {
    snprintf(nm, sizeof nm, "%s.inv_n", p);
    cc_add_const(c, nm, 1, NULL, nq->inv_n);
    if (cc_tfm_add_mask(c, nq->n)) return -1;
  }
  snprintf(nm, sizeof nm, "%s.eps", p);
  cc_add_const(c, nm, 1, NULL, nq->eps_c);
  snprintf(nm, sizeof nm, "%s.rsnum", p);
  cc_add_const(c, nm, 1, NULL, nq->rs_num);
  int32_t *v = calloc((size_t)wp, sizeof(int32_t));
  if (!v) return -1;
  for (int i = 0; i < nq->n; i++) v[i] = nq->g_q[i];
  snprintf(nm, sizeof nm, "%s.g", p);
  cc_add_const(c, nm, words, v, 0);
  if (nq->b_q) {
    for (int i = 0; i < nq->n; i++) v[i] = nq->b_q[i];
    snprintf(nm, sizeof nm, "%s.b", p);
    cc_add_const(c, nm, words, v, 0);
  }
  free(v);
  return 0;
}

static int ffn_consts(cc_ctx *c) {
  const ffn_ext *e = ext_of(c);
  const tern_tfm_ffn_half *h = e->h;
  char nm[TERN_NAME_LEN + 8];
  cc_add_const(c, "zero", 1, NULL, 0);
  cc_add_const(c, "amin", 1, NULL, TERN_AMIN);
  cc_add_const(c, "c127", 1, NULL, 127);
  if (cc_tfm_add_mask(c, c->d)) return -1;
  if (cc_tfm_add_norm_consts(c, "fn", h->norm)) return -1;
  if (h->cfg->subln && cc_tfm_add_norm_consts(c, "sn", &h->ffn->subln)) return -1;
  for (int i = 0; i < c->nmat; i++) {
    int l = !strcmp(c->mat[i].name, "gate") ? LIN_GATE : !strcmp(c->mat[i].name, "up") ? LIN_UP
                                                                                       : LIN_DOWN;
    snprintf(nm, sizeof nm, "%s.beta", c->mat[i].name);
    cc_add_const(c, nm, 1, NULL, e->lin[l].beta_c);
  }
  if (e->lut) cc_add_const(c, "lut", TERN_LUT_ENTRIES / c->cfg->cols, e->lut, 0);
  if (h->lut_interp) cc_add_luti_consts(c);
  c->acc_tok_base = c->const_words;
  return 0;
}


int cc_tfm_emit_tnorm(cc_ctx *c, const cc_op *o, int mb, char *err, size_t errlen) {
  const tern_tfm_qnorm *nq = o->tnorm;
  char nm[TERN_NAME_LEN + 8];
  int X = cc_acc_addr(c, o->in[0]), W = c->t[o->in[0]].words;
  int Y = cc_acc_addr(c, o->out[0]), S = cc_acc_addr(c, o->out[1]), r = cc_acc_addr(c, o->out[2]);
  int src = X;
  if (nq->layer) {
    int S1 = cc_acc_addr(c, o->out[3]), mu = cc_acc_addr(c, o->out[4]);
    int Cc = cc_acc_addr(c, o->out[5]);
    snprintf(nm, sizeof nm, "%s.inv_n", o->name);
    V(RSUM, VEC, S1, X, X, W, mb, 1, W, 0);                       /* L1 */
    V(MULSHR, CONST, mu, S1, cc_const_addr(c, nm), 1, mb, 1, 1, 30); /* L2 */
    V(SUB, PERROW, Cc, X, mu, W, mb, W, W, 0);                    /* L3 */
    if (cc_round_up(nq->n, c->unit) != nq->n) { /* padding lanes are -mu: back to 0 */
      cc_tfm_mask_name(nm, sizeof nm, nq->n);
      V(MULSHR, BCASTROW, Cc, Cc, cc_const_addr(c, nm), W, mb, W, W, 0);
    }
    src = Cc;
  }
  snprintf(nm, sizeof nm, "%s.eps", o->name);
  int eps = cc_const_addr(c, nm);
  snprintf(nm, sizeof nm, "%s.rsnum", o->name);
  int rsn = cc_const_addr(c, nm);
  snprintf(nm, sizeof nm, "%s.g", o->name);
  int g = cc_const_addr(c, nm);
  V(RSUMSQ, VEC, S, src, src, W, mb, 1, W, nq->ss_shift);   /* N1 */
  V(ADD, CONST, S, S, eps, 1, mb, 1, 1, 0);                 /* N2 */
  V(RSQRT, CONST, r, S, rsn, 1, mb, 1, 1, nq->rs_shift);    /* N3 */
  V(MULSHR, PERROW, Y, src, r, W, mb, W, W, 12);            /* N4 */
  V(MULSHR, BCASTROW, Y, Y, g, W, mb, W, W, 22);            /* N5 */
  if (nq->b_q) {
    snprintf(nm, sizeof nm, "%s.b", o->name);
    V(ADD, BCASTROW, Y, Y, cc_const_addr(c, nm), W, mb, W, W, 0); /* N6 */
  }
  return 0;
}

static int emit_ffn_act(cc_ctx *c, const cc_op *o, int mb, char *err, size_t errlen) {
  int U = cc_acc_addr(c, o->in[0]), W = c->t[o->in[0]].words;
  int G = o->nin > 1 ? cc_acc_addr(c, o->in[1]) : -1;
  int Mo = cc_acc_addr(c, o->out[0]);
  int zero = cc_const_addr(c, "zero");
  switch ((tern_ffn_type)o->ffn_type) {
    case TERN_FFN_SWIGLU:
      if (o->nout > 1) { /* F4 interpolated (I1-I6) */
        if (cc_emit_luti(c, Mo, G, cc_acc_addr(c, o->out[1]), cc_acc_addr(c, o->out[2]),
                         cc_acc_addr(c, o->out[3]), W, mb, err, errlen))
          return -1;
      } else
        V(LUT, VEC, Mo, G, G, W, mb, W, W, TERN_LUT_SHIFT);        /* F4 s = sigmoid(g) */
      V(MULSHR, VEC, Mo, Mo, G, W, mb, W, W, TERN_SIGMOID_FRAC);   /* F5 sg = g*s */
      V(MULSHR, VEC, Mo, Mo, U, W, mb, W, W, TERN_FX);             /* F6 m = sg*u */
      return 0;
    case TERN_FFN_RELU2_GLU:
      V(MAX, CONST, G, G, zero, W, mb, W, W, 0);                   /* F4 r = max(g, 0) */
      V(MULSHR, VEC, Mo, G, G, W, mb, W, W, TERN_FX);              /* F5 r2 = r*r */
      V(MULSHR, VEC, Mo, Mo, U, W, mb, W, W, TERN_FX);             /* F6 m = r2*u */
      return 0;
    case TERN_FFN_RELU2:
      V(MAX, CONST, U, U, zero, W, mb, W, W, 0);                   /* F4 r = max(u, 0) */
      V(MULSHR, VEC, Mo, U, U, W, mb, W, W, TERN_FX);              /* F5 m = r*r */
      return 0;
    case TERN_FFN_GELU:
      V(LUT, VEC, Mo, U, U, W, mb, W, W, TERN_LUT_SHIFT);          /* F4 p = Phi(u) */
      V(MULSHR, VEC, Mo, Mo, U, W, mb, W, W, TERN_SIGMOID_FRAC);   /* F5 m = u*p */
      return 0;
  }
  tern_err(err, errlen, "compile: op %s: ffn_type %d unknown", o->name, o->ffn_type);
  return -1;
}

void cc_add_luti_consts(cc_ctx *c) {
  for (int i = 0; i < c->ncst; i++)
    if (!strcmp(c->cst[i].name, "luti.c128")) return;
  cc_add_const(c, "luti.c128", 1, NULL, 128);
  cc_add_const(c, "luti.c256", 1, NULL, 256);
  cc_add_const(c, "luti.one", 1, NULL, 1);
}

int cc_emit_luti(cc_ctx *c, int dst, int src, int t1, int t2, int t3, int W, int rows, char *err,
                 size_t errlen) {
  int c128 = cc_const_addr(c, "luti.c128"), c256 = cc_const_addr(c, "luti.c256");
  int one = cc_const_addr(c, "luti.one");
  V(SUB, CONST, t1, src, c128, W, rows, W, W, 0);             /* I1 u = t - 128 */
  V(LUT, VEC, dst, t1, t1, W, rows, W, W, TERN_LUT_SHIFT);     /* I2 t0 */
  V(ADD, CONST, t2, t1, c256, W, rows, W, W, 0);
  V(LUT, VEC, t2, t2, t2, W, rows, W, W, TERN_LUT_SHIFT);      /* I3 t1 */
  V(SUB, CONST, t3, t1, c128, W, rows, W, W, 0);
  V(MULSHR, CONST, t3, t3, one, W, rows, W, W, 8);             /* I4 k = floor(u / 256) */
  V(MULSHR, CONST, t3, t3, c256, W, rows, W, W, 0);
  V(SUB, VEC, t1, t1, t3, W, rows, W, W, 0);                   /* I5 fr (over u) */
  V(SUB, VEC, t2, t2, dst, W, rows, W, W, 0);
  V(MULSHR, VEC, t2, t2, t1, W, rows, W, W, 8);
  V(ADD, VEC, dst, dst, t2, W, rows, W, W, 0);                 /* I6 */
  return 0;
}

/* the FFN half's own op kind for cc_tfm_emit_blocks (1: not mine) */
static int ffn_own_op(cc_ctx *c, const cc_op *op, int m0, int mb, char *err, size_t errlen) {
  (void)m0;
  return op->kind == CC_OP_FFN_ACT ? emit_ffn_act(c, op, mb, err, errlen) : 1;
}

static int emit_ffn(cc_ctx *c, char *err, size_t errlen) {
  return cc_tfm_emit_blocks(c, ext_of(c)->lut ? cc_const_addr(c, "lut") : -1, ffn_own_op, err,
                            errlen);
}

int cc_tfm_emit_blocks(cc_ctx *c, int lut, cc_tfm_op_fn own, char *err, size_t errlen) {
  const int C = c->cfg->cols;
  int dW = c->d_pad / C;
  for (int i = 0; i < c->nt; i++)
    if ((c->t[i].kind == CC_T_I8 && c->t[i].cols_pad > 65535) ||
        (i == c->x && (long)c->d_pad * 4 > 65535))
      return tern_err(err, errlen,
                      "compile: tensor %s: DRAM row of %ld bytes exceeds the 16-bit DRAM_STRIDE",
                      c->t[i].name, (long)c->t[i].cols_pad * (c->t[i].kind == CC_T_I8 ? 1 : 4));
  c->ins.n = 0;
  if (c->const_words)
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, 0, 0, 1, c->const_words, c->dram_const, 0);
  if (lut >= 0) V(LUTLD, VEC, 0, lut, lut, TERN_LUT_ENTRIES / C, 1, 0, 0, 0);
  if (c->nchunk) cc_emit_chunk_load(c, 0, 0);
  int X = cc_acc_addr(c, c->x);
  char nm[TERN_NAME_LEN];
  cc_tfm_mask_name(nm, sizeof nm, c->d);
  for (int b = 0; b < c->nblocks; b++) {
    int m0 = b * c->Mb, mb = c->M - m0 < c->Mb ? c->M - m0 : c->Mb;
    uint32_t row = (uint32_t)c->d_pad * 4;
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, X, dW, mb, dW, c->dram_x + (uint32_t)m0 * row,
                (int)row);
    if (c->d_pad != c->d) /* zero the padding lanes whatever the runtime left there */
      V(MULSHR, BCASTROW, X, X, cc_const_addr(c, nm), dW, mb, dW, dW, 0);
    for (int o = 0; o < c->nop; o++) {
      const cc_op *op = &c->op[o];
      int rc = op->kind == CC_OP_TNORM ? cc_tfm_emit_tnorm(c, op, mb, err, errlen)
                                       : own(c, op, m0, mb, err, errlen);
      if (rc == 1) rc = cc_emit_op(c, op, b, mb, err, errlen);
      if (rc) return -1;
    }
    cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, X, dW, mb, dW, c->dram_y + (uint32_t)m0 * row,
                (int)row);
  }
  return 0;
}
#undef V

/* ---- driver (the pass list of compile.c with this graph's build / emit) ---- */

static int compile_ffn(const tern_tfm_ffn_half *h, const tern_tfm_mem *mem,
                       const tern_tfm_wres *wres, const tern_hwcfg *cfg,
                       const tern_compile_opts *opts, tern_program *out, char *err,
                       size_t errlen) {
  static const cc_pass ps[] = {
      {"build", build_ffn, cc_dump_build},     {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", cc_pass_tile, cc_dump_tile},    {"alloc", cc_pass_alloc, cc_dump_alloc},
      {"emit", emit_ffn, cc_dump_prog},        {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  if (!out) {
    tern_err(err, errlen, "compile: output program is NULL");
    return -1;
  }
  tern_program_init(out);
  if (!h || !h->cfg || !h->norm || !h->ffn) {
    tern_err(err, errlen, "compile: ffn half is NULL or incomplete (cfg, norm, ffn)");
    return -1;
  }
  cc_ctx c;
  if (cc_compile_common(&c, cfg, opts, out, err, errlen)) return -1;
  ffn_ext ext;
  memset(&ext, 0, sizeof ext);
  ext.h = h;
  c.ext = &ext;
  c.consts_fn = ffn_consts;
  c.mem = mem;
  c.wres = wres;
  int rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), opts, err, errlen);
  for (int i = 0; i < 3; i++) free(ext.codes[i]);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}

int tern_compile_tfm_ffn_half(const tern_tfm_ffn_half *h, const tern_hwcfg *cfg,
                              const tern_compile_opts *opts, tern_program *out, char *err,
                              size_t errlen) {
  return compile_ffn(h, NULL, NULL, cfg, opts, out, err, errlen);
}

/* The FFN program of a step (tern_compile_tfm_prog): x in place at mem->x_addr,
 * private image from mem->priv_base, weight residency wres (may be NULL). */
int cc_compile_tfm_ffn_prog(const tern_tfm_ffn_half *h, const tern_tfm_mem *mem,
                            const tern_tfm_wres *wres, const tern_hwcfg *cfg,
                            const tern_compile_opts *opts, tern_program *out, char *err,
                            size_t errlen) {
  if (!mem) {
    if (out) tern_program_init(out);
    tern_err(err, errlen, "compile: ffn program: memory plan is NULL");
    return -1;
  }
  return compile_ffn(h, mem, wres, cfg, opts, out, err, errlen);
}

int tern_compile_tfm_ffn(const tern_tfm_qmodel *q, int block, const tern_hwcfg *cfg,
                         const tern_compile_opts *opts, tern_program *out, char *err,
                         size_t errlen) {
  tern_tfm_ffn_half h;
  char e2[256];
  if (out) tern_program_init(out);
  if (!q) {
    tern_err(err, errlen, "compile: model is NULL");
    return -1;
  }
  if (tern_tfm_ffn_half_of(q, block, &h, e2, sizeof e2)) {
    tern_err(err, errlen, "compile: %s", e2);
    return -1;
  }
  return tern_compile_tfm_ffn_half(&h, cfg, opts, out, err, errlen);
}
