/* MIX program of a recurrent block (include/tern/compiler_rnn.h, issue 4):
 * the temporal-mixing half B1-B2 of a Griffin recurrent block ('r') or an
 * MLGRU block ('m') for M rows, in place on x (mem->tm.x_addr), with the
 * block's recurrent state in DRAM (mem->state_addr[block]); exactly
 * tern_rnn_mix_int (models/rnn_int.c mix_recurrent / mix_mlgru,
 * docs/NUMERICS.md "Recurrent operations (integer)" and "The MIX program").
 * On the passes of compile.c:
 *
 *   build (here) -> pad -> tile (+ here) -> alloc (+ here) -> emit (here) -> sync -> validate
 *
 * 'r' graph, per token row (op order = emission order = weight stream order):
 *   TNORM mn (x -> h)                        B1 (N1-N5)
 *   QUANT q1                                 P1
 *   LINEAR wx -> EXT xb rows                 P2 (own emission: into the window area)
 *   RNN conv (EXT -> xc)                     C1-C3
 *   QUANT q2 (xc)                            the one quant_row of P5 / P6
 *   LINEAR gx (or gx.0 .. gx.{nb-1})         P6
 *   RNN lru_ix (gx, xc -> ix in HN)          R13
 *   LINEAR ga (or ga.0 ..)                   P5
 *   RNN lru_a (ga -> m*ix in place, a)       R1-R12
 *   RNN lru_h (a, m*ix -> HN, H0)            R14, row by row
 *   LINEAR wy (q1 reloaded into ABUF)        P3
 *   RNN gelu, RNN p7 (yb -> o in place)      P4, P7 o = MULSHR(h, yb, 18)
 *   QUANT q3, LINEAR wout, ADD x             P8, P9, B2
 * 'm' graph: TNORM, QUANT q1 (M1), LINEAR wf, wc (M2), RNN mlgru_h (G1-G5, G5
 * row by row), LINEAR wg (q1 reloaded, M2), RNN mlgru_o (G6, G7), QUANT, LINEAR
 * wmo (M3), ADD (B2).  W_y / W_g run after the recurrence's inputs are
 * computed; the int8 row q1 is still in its DRAM scratch and is loaded into
 * ABUF again (mb * dim bytes).  The recurrence (lru_a + lru_h, mlgru_h: the
 * long element-wise stretch) is emitted between the weight chunks of W_y /
 * W_g (emit_reload_linear), so the load unit keeps streaming that matrix
 * while the vector unit runs it; their tensors are live through that LINEAR.
 *
 * Every step but R14 / G5 is row-parallel: one VEC instruction per step over
 * all rows of a token block.  The recurrence is two VEC instructions per row:
 * h_r = ADD(MULSHR(h_{r-1}, a_r, 24), (m ix)_r) (G5 likewise with fs, shift 15).
 *
 * ACC state area (after the token area; mix_tile):
 *   H0   W words        h before the token block (W = lru_pad / cols)
 *   EXT  (cw-1+Mb) x W  'r': the Conv1D window (cw-1 rows, oldest first) followed
 *                       by the block's xb rows, so tap k of row r reads EXT row r+k
 *   HN   Mb x W         h after each row of the block
 * H0 and the window rows are contiguous, like h and the window in DRAM: one
 * LOAD at the program start, one STORE at its end.  After the Conv1D of a token
 * block the window takes the last cw-1 rows of EXT; after R14 / G5, H0 takes
 * the last HN row.  Until then the xb rows of EXT (after the Conv1D) and the HN
 * rows (before the recurrence) are scratch: ix, a LUTI temporary, the
 * piece-major gate products.  Padding lanes stay 0 (zero weight columns, zero
 * constants, zero state padding).
 *
 * The block-diagonal gates W_a, W_x are one quant_row and one beta each
 * (tern_rnn_bdlinear_int), so they equal a dense lru_width x lru_width
 * BitLinear with zero off-diagonal blocks.  Only diagonal PIECES of it are
 * compiled: PS = lcm(S, lcm(rows, cols)) values (whole gate blocks of S; the
 * piece is the gate block itself for every larger preset at 16x16, two of
 * the tiny presets' S = 24 blocks at 16x16), np = lru_width / PS matrices of
 * PS x PS (the all-zero tiles outside the pieces are neither stored, loaded
 * nor run): the quantised row is loaded into ABUF piece-major
 * ([piece][row][PS/rows]) so that each piece is a plain matrix for
 * cc_emit_matrix_gemms, and with several rows the piece-major products are
 * copied back to row-major.  When PS does not divide lru_width (or is all of
 * it) the dense matrix is used.
 *
 * Tables (LUTLD between uses, one table at a time, per token block in the
 * order sigmoid, sqrt-sigmoid, exp(-l), psi, GELU; 'm' only the sigmoid) and
 * per-channel vectors (Conv1D taps and bias, b_a, b_x, spc, sqc) are ACC
 * constants, or, when ACC is short (4x4, or for more rows per token block at
 * 1B scale), paged: kept in the private DRAM image and loaded into one of
 * one or two ACC pages right before each use (mix_tile picks the placement
 * with the most rows per token block). */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/compiler_rnn.h"
#include "tern/numerics.h"

/* RNN op steps (cc_op.rnn) */
enum { RS_CONV = 0, RS_LRU_IX, RS_LRU_A, RS_LRU_H, RS_GELU, RS_P7, RS_MLGRU_H, RS_MLGRU_O };
/* tables */
enum { LUT_GELU = 0, LUT_SIG = 1, LUT_SQS = 2, LUT_EXP = 3, LUT_PSI = 4, NLUT = 5 };
static const char *const lut_names[NLUT] = {"lut.gelu", "lut.sig", "lut.sqs", "lut.exp", "lut.psi"};
/* BitLinears */
enum { L_WX = 0, L_WY, L_WOUT, L_GA, L_GX, L_WF, L_WC, L_WG, L_WMO, NL };
static const char *const lin_names[NL] = {"wx", "wy", "wout", "ga", "gx", "wf", "wc", "wg", "wmo"};

typedef struct mix_ext {
  const tern_rnn_qmodel *q;
  const tern_rnn_qblock *B;
  const tern_rnn_mem *mem;
  int block, kind, d, w, cw, S, nb;
  int split;            /* gates as np diagonal PS x PS matrices (pieces) */
  int PS, np;           /* piece: lcm(S, lcm(rows, cols)) values, whole gate blocks */
  tern_qlinear lin[NL]; /* the MLP compiler's constant format */
  int8_t **codes;       /* unpacked matrices (freed at the end) */
  int ncodes, capcodes;
  /* graph */
  int mat_wx;     /* the LINEAR into the window area */
  int mat_reload; /* wy / wg: LINEAR on q1 after the recurrence (ABUF reloaded) */
  int t_q1;
  int gmat0[2]; /* split: matrix of block 0 of ga, gx (blocks consecutive) */
  int t_q2;     /* split: the quantised Conv1D output (own QUANT) */
  /* tile / alloc */
  int W; /* ACC words of an lru row */
  int a_h0, a_ext, a_hn, state_words;
  uint32_t state_addr;
  int state_rows; /* DRAM rows of the state: cw ('r') or 1 ('m') */
  /* paged constants (when everything does not fit ACC next to one token
   * row): the tables (page_luts) and / or the per-channel vectors (page_vecs)
   * live in DRAM and are loaded into one of npages ACC pages right before use */
  int page_luts, page_vecs, npages;
  int npg, cappg;
  struct mix_page_const {
    char name[TERN_NAME_LEN];
    int words;
    int32_t *lanes;
    uint32_t dram;
  } * pg;
  int page_words;
  int pool_words; /* constants loaded by the pool LOAD (all but the pages) */
  /* emit */
  int lut;         /* table in the LUT (-1: unknown) */
  int page_has[2]; /* paged constant in each page (-1: none) */
  int page_next;
  cc_insnbuf cap; /* the recurrence's instructions, interleaved with W_y / W_g */
} mix_ext;

static mix_ext *ext_of(const cc_ctx *c) { return (mix_ext *)c->ext; }

static int8_t *new_codes(mix_ext *e, size_t n) {
  if (e->ncodes == e->capcodes) {
    e->capcodes = e->capcodes ? 2 * e->capcodes : 16;
    e->codes = realloc(e->codes, (size_t)e->capcodes * sizeof *e->codes);
    if (!e->codes) abort();
  }
  int8_t *p = calloc(n ? n : 1, 1);
  if (!p) return NULL;
  e->codes[e->ncodes++] = p;
  return p;
}

/* ---- build ------------------------------------------------------------------------ */

static int set_lin(mix_ext *e, int l, const tern_tfm_qlinear *src, int K, int N, int8_t **codes,
                   char *err, size_t errlen) {
  if (cc_tfm_check_lin(src, K, N, "mix", lin_names[l], err, errlen)) return -1;
  size_t n = (size_t)K * (size_t)N;
  int8_t *p = new_codes(e, n);
  if (!p)
    return tern_err(err, errlen, "compile: mix %s: out of memory (%zu codes)", lin_names[l], n);
  if (cc_tfm_unpack_lin(src, n, p, "mix", lin_names[l], err, errlen)) return -1;
  cc_tfm_lin_consts(&e->lin[l], src->beta_c, src->beta_frac, src->s_d);
  *codes = p;
  return 0;
}

static int set_gate(mix_ext *e, int l, const tern_rnn_qbd *g, char *err, size_t errlen) {
  const tern_tblockdiag *t = g->t;
  if (!t || !t->codes || t->blocks != e->nb || t->size != e->S)
    return tern_err(err, errlen,
                    "compile: mix %s: expected %d blocks of %d x %d (lru_width / "
                    "lru_block), got %d of %d",
                    lin_names[l], e->nb, e->S, e->S, t ? t->blocks : 0, t ? t->size : 0);
  if (g->beta_c <= 0 || g->s_d < 0)
    return tern_err(err, errlen,
                    "compile: mix %s: beta_c = %d, s_d = %d, expected beta_c > 0, "
                    "s_d >= 0",
                    lin_names[l], g->beta_c, g->s_d);
  cc_tfm_lin_consts(&e->lin[l], g->beta_c, g->s_d + 16, g->s_d);
  return 0;
}

/* codes of diagonal piece h (PS x PS: PS / S gate blocks), or of the dense
 * matrix (h < 0) */
static int8_t *gate_codes(mix_ext *e, const tern_tblockdiag *t, int h) {
  int S = e->S, n = h < 0 ? e->w : e->PS;
  size_t SS = (size_t)S * (size_t)S;
  int8_t *p = new_codes(e, (size_t)n * (size_t)n);
  if (!p) return NULL;
  int b0 = h < 0 ? 0 : h * (e->PS / S), b1 = h < 0 ? e->nb : b0 + e->PS / S;
  for (int b = b0; b < b1; b++) {
    size_t o = (size_t)(b - b0) * (size_t)S; /* the block's offset in the matrix */
    for (int k = 0; k < S; k++)
      for (int j = 0; j < S; j++)
        p[(o + (size_t)k) * (size_t)n + o + (size_t)j] =
            (int8_t)tern_tpacked_get(t->codes, (size_t)b * SS + (size_t)k * S + (size_t)j);
  }
  return p;
}

static void rnn_op(cc_ctx *c, const char *name, int step, const int *in, int nin, const int *out,
                   int nout, int ntemp) {
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_RNN;
  o.rnn = step;
  o.mask = -1;
  snprintf(o.name, sizeof o.name, "%s", name);
  cc_op_io(&o, in, nin, out, nout, ntemp);
  cc_add_op(c, &o);
}

static int tmp(cc_ctx *c, const char *name, int cols) {
  return cc_add_tensor(c, name, CC_T_I32, cols);
}

/* the gate LINEAR(s) of l (L_GA / L_GX) on q2, A2; returns the output tensor */
static int add_gate(cc_ctx *c, int l, int q2, int a2, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  const tern_tblockdiag *t = (l == L_GA ? e->B->ga : e->B->gx).t;
  char nm[TERN_NAME_LEN];
  if (!e->split) {
    int8_t *p = gate_codes(e, t, -1);
    if (!p) return tern_err(err, errlen, "compile: mix %s: out of memory", lin_names[l]);
    return cc_tfm_add_linear(c, lin_names[l], &e->lin[l], p, e->w, e->w, q2, a2);
  }
  snprintf(nm, sizeof nm, "%s.y", lin_names[l]);
  int y = tmp(c, nm, e->w);
  snprintf(nm, sizeof nm, "%s.D", lin_names[l]);
  int D = cc_add_tensor(c, nm, CC_T_SCALAR, 1);
  for (int h = 0; h < e->np; h++) {
    int8_t *p = gate_codes(e, t, h);
    if (!p) return tern_err(err, errlen, "compile: mix %s: out of memory", lin_names[l]);
    snprintf(nm, sizeof nm, "%s.%d", lin_names[l], h);
    int m = cc_add_matrix(c, nm, p, e->PS, e->PS);
    if (h == 0) e->gmat0[l == L_GA ? 0 : 1] = m;
    cc_op o;
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_LINEAR;
    o.lin = &e->lin[l];
    o.mat = m;
    o.mask = -1;
    snprintf(o.name, sizeof o.name, "%s", nm);
    cc_op_io(&o, (int[]){q2, a2}, 2, (int[]){y, D}, 2, 1);
    cc_add_op(c, &o);
  }
  return y;
}

/* The recurrence (lru_a, lru_h / mlgru_h) is emitted between the weight chunks
 * of the next LINEAR (W_y / W_g, mix_own): its tensors are live through it. */
static void live_through(cc_op *o, const int *t, int n) {
  for (int i = 0; i < n; i++) {
    o->out[o->nout++] = t[i];
    o->ntemp++;
  }
}

static int mix_build(cc_ctx *c, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  const tern_rnn_qblock *B = e->B;
  int d = e->d, w = e->w;
  if (cc_tfm_check_norm(&B->mix_norm, d, "mix norm", err, errlen)) return -1;
  if (B->mix_norm.layer || B->mix_norm.b_q)
    return tern_err(err, errlen,
                    "compile: mix norm: layer = %d, bias %s, expected an RMSNorm "
                    "without bias",
                    B->mix_norm.layer, B->mix_norm.b_q ? "present" : "absent");
  int8_t *cd[NL] = {0};
  c->d = d;
  c->x = cc_add_tensor(c, "x", CC_T_I32, d);
  int hn = cc_tfm_add_norm(c, "mn", &B->mix_norm, c->x, d);
  int q1, a1, q3, a3, o, yo;
  cc_tfm_add_quant(c, "q1", hn, d, &q1, &a1);
  e->t_q1 = q1;
  if (e->kind == TERN_RNN_RECURRENT) {
    if (set_lin(e, L_WX, &B->wx, d, w, &cd[L_WX], err, errlen) ||
        set_lin(e, L_WY, &B->wy, d, w, &cd[L_WY], err, errlen) ||
        set_lin(e, L_WOUT, &B->wout, w, d, &cd[L_WOUT], err, errlen) ||
        set_gate(e, L_GA, &B->ga, err, errlen) || set_gate(e, L_GX, &B->gx, err, errlen))
      return -1;
    if (!B->conv_w || !B->conv_b || !B->b_a || !B->b_x || !B->spc || !B->sqc)
      return tern_err(err, errlen, "compile: mix: block %d has no Conv1D / gate constants",
                      e->block);
    /* P2: xb into the window area (own emission); out = [D] */
    e->mat_wx = cc_add_matrix(c, "wx", cd[L_WX], d, w);
    cc_op lo;
    memset(&lo, 0, sizeof lo);
    lo.kind = CC_OP_LINEAR;
    lo.lin = &e->lin[L_WX];
    lo.mat = e->mat_wx;
    lo.mask = -1;
    snprintf(lo.name, sizeof lo.name, "wx");
    cc_op_io(&lo, (int[]){q1, a1}, 2, (int[]){cc_add_tensor(c, "wx.D", CC_T_SCALAR, 1)}, 1, 1);
    cc_add_op(c, &lo);
    int xc = tmp(c, "xc", w), ct = tmp(c, "conv.t", w);
    rnn_op(c, "conv", RS_CONV, NULL, 0, (int[]){xc, ct}, 2, 1);
    int q2, a2;
    cc_tfm_add_quant(c, "q2", xc, w, &q2, &a2);
    e->t_q2 = q2;
    int gx = add_gate(c, L_GX, q2, a2, err, errlen);
    if (gx < 0) return -1;
    int t1 = tmp(c, "ix.t1", w), t2 = tmp(c, "ix.t2", w);
    rnn_op(c, "lru_ix", RS_LRU_IX, (int[]){gx, xc}, 2, (int[]){t1, t2}, 2, 2);
    int ga = add_gate(c, L_GA, q2, a2, err, errlen);
    if (ga < 0) return -1;
    int ah = tmp(c, "a", w), R = tmp(c, "lru.r", w);
    t1 = tmp(c, "lru.t1", w);
    rnn_op(c, "lru_a", RS_LRU_A, (int[]){ga}, 1, (int[]){ga, ah, R, t1}, 4, 2);
    rnn_op(c, "lru_h", RS_LRU_H, (int[]){ga, ah}, 2, NULL, 0, 0);
    int yb = cc_tfm_add_linear(c, "wy", &e->lin[L_WY], cd[L_WY], d, w, q1, a1);
    e->mat_reload = c->op[c->nop - 1].mat;
    live_through(&c->op[c->nop - 1], (int[]){ga, ah, R, t1}, 4);
    int g0 = tmp(c, "gelu.s", w);
    t1 = tmp(c, "gelu.t1", w), t2 = tmp(c, "gelu.t2", w);
    rnn_op(c, "gelu", RS_GELU, (int[]){yb}, 1, (int[]){yb, g0, t1, t2}, 4, 3);
    rnn_op(c, "p7", RS_P7, (int[]){yb}, 1, (int[]){yb}, 1, 0);
    o = yb;
    cc_tfm_add_quant(c, "q3", o, w, &q3, &a3);
    yo = cc_tfm_add_linear(c, "wout", &e->lin[L_WOUT], cd[L_WOUT], w, d, q3, a3);
  } else {
    if (set_lin(e, L_WF, &B->wf, d, w, &cd[L_WF], err, errlen) ||
        set_lin(e, L_WC, &B->wc, d, w, &cd[L_WC], err, errlen) ||
        set_lin(e, L_WG, &B->wg, d, w, &cd[L_WG], err, errlen) ||
        set_lin(e, L_WMO, &B->wmo, w, d, &cd[L_WMO], err, errlen))
      return -1;
    int f = cc_tfm_add_linear(c, "wf", &e->lin[L_WF], cd[L_WF], d, w, q1, a1);
    int cc = cc_tfm_add_linear(c, "wc", &e->lin[L_WC], cd[L_WC], d, w, q1, a1);
    int t1 = tmp(c, "mg.t1", w), t2 = tmp(c, "mg.t2", w), t3 = tmp(c, "mg.t3", w);
    rnn_op(c, "mlgru_h", RS_MLGRU_H, (int[]){f, cc}, 2, (int[]){f, cc, t1, t2, t3}, 5, 3);
    int g = cc_tfm_add_linear(c, "wg", &e->lin[L_WG], cd[L_WG], d, w, q1, a1);
    e->mat_reload = c->op[c->nop - 1].mat;
    live_through(&c->op[c->nop - 1], (int[]){f, cc, t1, t2, t3}, 5);
    t1 = tmp(c, "mo.t1", w), t2 = tmp(c, "mo.t2", w), t3 = tmp(c, "mo.t3", w);
    rnn_op(c, "mlgru_o", RS_MLGRU_O, (int[]){g}, 1, (int[]){g, t1, t2, t3}, 4, 3);
    o = g;
    cc_tfm_add_quant(c, "q3", o, w, &q3, &a3);
    yo = cc_tfm_add_linear(c, "wmo", &e->lin[L_WMO], cd[L_WMO], w, d, q3, a3);
  }
  cc_op ao;
  memset(&ao, 0, sizeof ao);
  ao.kind = CC_OP_ADD;
  ao.mask = -1;
  snprintf(ao.name, sizeof ao.name, "add");
  cc_op_io(&ao, (int[]){c->x, yo}, 2, (int[]){c->x}, 1, 0);
  cc_add_op(c, &ao);
  return 0;
}

/* ---- constants ---------------------------------------------------------------------- */

/* a table or vector constant: resident, or paged (DRAM, loaded on use) */
static void big_const(cc_ctx *c, int paged, const char *name, int words, const int32_t *lanes) {
  mix_ext *e = ext_of(c);
  if (!paged) {
    cc_add_const(c, name, words, lanes, 0);
    return;
  }
  if (e->npg == e->cappg) {
    e->cappg = e->cappg ? 2 * e->cappg : 16;
    e->pg = realloc(e->pg, (size_t)e->cappg * sizeof *e->pg);
    if (!e->pg) abort();
  }
  struct mix_page_const *k = &e->pg[e->npg++];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "%s", name);
  k->words = words;
  size_t n = (size_t)words * (size_t)c->cfg->cols;
  k->lanes = malloc(n * sizeof *k->lanes);
  if (!k->lanes) abort();
  memcpy(k->lanes, lanes, n * sizeof *k->lanes);
  if (words > e->page_words) e->page_words = words;
}

static void vec_const(cc_ctx *c, const char *name, const int32_t *v, int n, int32_t *buf, int wp) {
  memset(buf, 0, (size_t)wp * sizeof *buf);
  memcpy(buf, v, (size_t)n * sizeof *buf);
  big_const(c, ext_of(c)->page_vecs, name, wp / c->cfg->cols, buf);
}

static void free_pages(mix_ext *e) {
  for (int i = 0; i < e->npg; i++) free(e->pg[i].lanes);
  e->npg = 0;
  e->page_words = 0;
}

static int mix_consts(cc_ctx *c) {
  mix_ext *e = ext_of(c);
  const tern_rnn_qblock *B = e->B;
  const tern_rnn_luts *T = &e->q->T;
  char nm[TERN_NAME_LEN + 8];
  free_pages(e);
  cc_add_const(c, "zero", 1, NULL, 0);
  cc_add_const(c, "amin", 1, NULL, TERN_AMIN);
  cc_add_const(c, "c127", 1, NULL, 127);
  cc_add_const(c, "cm1", 1, NULL, -1);
  cc_add_const(c, "c1", 1, NULL, 1);
  cc_add_const(c, "one15", 1, NULL, 1 << 15);
  if (cc_tfm_add_mask(c, c->d)) return -1;
  if (cc_tfm_add_norm_consts(c, "mn", &B->mix_norm)) return -1;
  for (int l = 0; l < NL; l++)
    if (e->lin[l].beta_c) {
      snprintf(nm, sizeof nm, "%s.beta", lin_names[l]);
      cc_add_const(c, nm, 1, NULL, e->lin[l].beta_c);
    }
  cc_add_luti_consts(c);
  if (e->kind == TERN_RNN_RECURRENT) {
    cc_add_const(c, "lmax", 1, NULL, 4 * (1 << 24) - 1);
    cc_add_const(c, "c2p25", 1, NULL, 128 << 18);
    cc_add_const(c, "c2p17", 1, NULL, 1 << 17);
    cc_add_const(c, "c2p18", 1, NULL, 1 << 18);
    cc_add_const(c, "third", 1, NULL, 5592405); /* round(2^24 / 3) */
    cc_add_const(c, "one24", 1, NULL, 1 << 24);
  }
  const int32_t *tabs[NLUT] = {T->gelu, T->sigmoid, T->sqrt_sigmoid, T->expneg, T->psi};
  for (int i = 0; i < NLUT; i++)
    if (e->kind == TERN_RNN_RECURRENT || i == LUT_SIG)
      big_const(c, e->page_luts, lut_names[i], TERN_LUT_ENTRIES / c->cfg->cols, tabs[i]);
  if (e->kind == TERN_RNN_RECURRENT) {
    int wp = cc_round_up(e->w, c->unit);
    int32_t *v = calloc((size_t)wp, sizeof *v);
    if (!v) return -1;
    for (int k = 0; k < e->cw; k++) {
      snprintf(nm, sizeof nm, "conv.w%d", k);
      vec_const(c, nm, B->conv_w + (size_t)k * e->w, e->w, v, wp);
    }
    vec_const(c, "conv.b", B->conv_b, e->w, v, wp);
    vec_const(c, "b_a", B->b_a, e->w, v, wp);
    vec_const(c, "b_x", B->b_x, e->w, v, wp);
    vec_const(c, "spc", B->spc, e->w, v, wp);
    vec_const(c, "sqc", B->sqc, e->w, v, wp);
    free(v);
  }
  e->pool_words = c->const_words; /* the pages after it are not loaded from DRAM */
  if (e->npg) cc_add_const(c, "pages", e->npages * e->page_words, NULL, 0);
  c->acc_tok_base = c->const_words;
  return 0;
}

/* ---- tile: token block next to the state area ----------------------------------------- */

/* token block for the current constant placement: 0, or -1 with the reason */
static int tile_try(cc_ctx *c, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  const tern_hwcfg *h = c->cfg;
  if (cc_pass_tile(c, err, errlen)) return -1;
  e->W = cc_round_up(e->w, c->unit) / h->cols;
  int rec = e->kind == TERN_RNN_RECURRENT;
  /* H0 + window rows, then per token row: its EXT row ('r') and HN row */
  long fixed = (long)c->const_words + (long)e->W * (rec ? e->cw : 1);
  long per_row = (long)c->tok_words + (long)e->W * (rec ? 2 : 1);
  long mb = (h->acc_depth - fixed) / per_row;
  if (mb > c->Mb) mb = c->Mb;
  if (mb < 1)
    return tern_err(
        err, errlen,
        "compile: mix: ACC too small for one token row: needs %ld words (%d constants%s, "
        "%d per row, %ld for the recurrent state of lru_pad %d), acc_depth = %d",
        fixed + per_row, c->const_words, e->npg ? " with the tables and vectors paged" : "",
        c->tok_words, (long)e->W * (rec ? e->cw + 1 : 2), e->W * h->cols, h->acc_depth);
  c->Mb = (int)mb;
  c->nblocks = (c->M + c->Mb - 1) / c->Mb;
  e->a_h0 = c->acc_tok_base + c->tok_words * c->Mb;
  e->a_ext = e->a_h0 + e->W;
  e->a_hn = rec ? e->a_ext + (e->cw - 1 + c->Mb) * e->W : e->a_ext;
  e->state_words = (e->a_hn + c->Mb * e->W) - e->a_h0;
  return 0;
}

/* Constant placement: all resident, or the per-channel vectors paged (two
 * pages, then one), or the tables too; the placement with the largest token
 * block wins (every token block streams all weights once), the least paging
 * among equals. */
static int mix_tile(cc_ctx *c, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  static const int tries[5][3] = {{0, 0, 0}, {0, 1, 2}, {0, 1, 1}, {1, 1, 2}, {1, 1, 1}};
  int best = -1, best_mb = 0;
  for (int i = 0; i < 5 && best_mb < c->M; i++) {
    e->page_luts = tries[i][0];
    e->page_vecs = tries[i][1];
    e->npages = tries[i][2];
    if (tile_try(c, err, errlen) == 0 && c->Mb > best_mb) {
      best = i;
      best_mb = c->Mb;
    }
  }
  if (best < 0) return -1; /* the message of the last (most paged) try */
  e->page_luts = tries[best][0];
  e->page_vecs = tries[best][1];
  e->npages = tries[best][2];
  if (tile_try(c, err, errlen)) return -1;
  if (e->W != e->mem->lru_pad / c->cfg->cols)
    return tern_err(err, errlen,
                    "compile: mix: lru_width %d pads to %d lanes, the memory "
                    "plan's lru_pad = %d",
                    e->w, e->W * c->cfg->cols, e->mem->lru_pad);
  return 0;
}

static void mix_dump_tile(const cc_ctx *c, FILE *f) {
  const mix_ext *e = ext_of(c);
  cc_dump_tile(c, f);
  fprintf(f, "# mix block %d ('%c'): lru_width %d (%d words)", e->block, e->kind, e->w, e->W);
  if (e->kind == TERN_RNN_RECURRENT && e->split)
    fprintf(f, ", gates (%d blocks of %d): %d diagonal piece(s) of %d x %d\n", e->nb, e->S, e->np,
            e->PS, e->PS);
  else if (e->kind == TERN_RNN_RECURRENT)
    fprintf(f, ", gates (%d blocks of %d): dense\n", e->nb, e->S);
  else
    fprintf(f, "\n");
  fprintf(f, "# ACC state: h0 %d, window/xb rows %d, h rows %d, %d words\n", e->a_h0, e->a_ext,
          e->a_hn, e->state_words);
  if (e->npg)
    fprintf(f, "# paged constants: %s%s%s in %d page(s) of %d words\n",
            e->page_luts ? "tables" : "", e->page_luts && e->page_vecs ? " and " : "",
            e->page_vecs ? "vectors" : "", e->npages, e->page_words);
}

static int mix_alloc(cc_ctx *c, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  if (cc_pass_alloc(c, err, errlen)) return -1;
  if (e->npg) { /* the paged constants after the image */
    const int C = c->cfg->cols;
    uint64_t pos = ((uint64_t)c->dram_end + 63) & ~(uint64_t)63, start = pos;
    size_t total = 0;
    for (int i = 0; i < e->npg; i++) total += (size_t)e->pg[i].words * C * 4;
    uint8_t *buf = calloc(total, 1);
    if (!buf) return tern_err(err, errlen, "compile: mix: out of memory");
    for (int i = 0; i < e->npg; i++) {
      e->pg[i].dram = (uint32_t)pos;
      for (int j = 0; j < e->pg[i].words * C; j++) {
        uint32_t u = (uint32_t)e->pg[i].lanes[j];
        uint8_t *d = buf + (pos - start) + 4 * (size_t)j;
        d[0] = (uint8_t)u, d[1] = (uint8_t)(u >> 8), d[2] = (uint8_t)(u >> 16),
        d[3] = (uint8_t)(u >> 24);
      }
      pos += (uint64_t)e->pg[i].words * C * 4;
    }
    if (pos > 0xffffffffull || (c->cfg->dram_bytes && pos > c->cfg->dram_bytes)) {
      free(buf);
      return tern_err(err, errlen,
                      "compile: program needs %llu bytes of DRAM, hwcfg dram_bytes = %llu",
                      (unsigned long long)pos, (unsigned long long)c->cfg->dram_bytes);
    }
    tern_program_add_segment(c->prog, (uint32_t)start, buf, (uint32_t)total);
    cc_add_tensor_ref(c->prog, "paged_consts", (uint32_t)start, TERN_DT_I32,
                      (uint32_t)(total / ((size_t)C * 4)), (uint32_t)C, (uint32_t)C * 4);
    free(buf);
    c->dram_end = (uint32_t)pos;
    c->prog->dram_size = pos;
  }
  cc_add_tensor_ref(c->prog, "state", e->state_addr, TERN_DT_I32, (uint32_t)e->state_rows,
                    (uint32_t)e->w, (uint32_t)e->mem->lru_pad * 4);
  return 0;
}

static void mix_dump_alloc(const cc_ctx *c, FILE *f) {
  const mix_ext *e = ext_of(c);
  cc_dump_alloc(c, f);
  fprintf(f, "DRAM state 0x%08x (%d rows of %d values)\n", e->state_addr, e->state_rows,
          e->mem->lru_pad);
}

/* ---- emit ------------------------------------------------------------------------------ */

/* ACC word of constant `name`; a paged one is loaded into the next page first
 * (unless a page still holds it) */
static int K(cc_ctx *c, const char *name) {
  mix_ext *e = ext_of(c);
  for (int i = 0; i < e->npg; i++) {
    if (strcmp(e->pg[i].name, name)) continue;
    int base = cc_const_addr(c, "pages");
    for (int p = 0; p < e->npages; p++)
      if (e->page_has[p] == i) return base + p * e->page_words;
    int p = e->page_next;
    e->page_next = (p + 1) % e->npages;
    e->page_has[p] = i;
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, base + p * e->page_words, 0, 1, e->pg[i].words,
                e->pg[i].dram, 0);
    return base + p * e->page_words;
  }
  return cc_const_addr(c, name);
}
static int lut_use(cc_ctx *c, int which, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  if (e->lut == which) return 0;
  int a = K(c, lut_names[which]);
  V(LUTLD, VEC, 0, a, a, TERN_LUT_ENTRIES / c->cfg->cols, 1, 0, 0, 0);
  e->lut = which;
  return 0;
}

#define A(i) cc_acc_addr(c, op->in[i])
#define O(i) cc_acc_addr(c, op->out[i])

/* t = K - t exactly (SUB with the constant first): -t, then + K (K > 0, so the
 * saturated case t = INT32_MIN also gives INT32_MAX) */
static int neg_add(cc_ctx *c, int t, int W, int mb, const char *k, char *err, size_t errlen) {
  V(MULSHR, CONST, t, t, K(c, "cm1"), W, mb, W, W, 0);
  V(ADD, CONST, t, t, K(c, k), W, mb, W, W, 0);
  return 0;
}

/* R14 / G5 row by row: HN[r] = ADD(MULSHR(h_{r-1}, G[r], sh), P[r]); then H0 = HN[mb-1] */
static int recurrence(cc_ctx *c, int G, int P, int sh, int mb, char *err, size_t errlen) {
  const mix_ext *e = ext_of(c);
  int W = e->W;
  for (int r = 0; r < mb; r++) {
    int prev = r ? e->a_hn + (r - 1) * W : e->a_h0, hn = e->a_hn + r * W;
    V(MULSHR, VEC, hn, prev, G + r * W, W, 1, 0, 0, sh);
    V(ADD, VEC, hn, hn, P + r * W, W, 1, 0, 0, 0);
  }
  return 0;
}

static int emit_rnn(cc_ctx *c, const cc_op *op, int mb, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  int W = e->W, HN = e->a_hn;
  /* the xb rows of EXT: free scratch of mb rows once the Conv1D has read them */
  int XS = e->a_ext + (e->cw - 1) * W;
  switch (op->rnn) {
    case RS_CONV: { /* C1-C2 over EXT, then C3: the window takes EXT rows [mb, mb+cw-1) */
      int XC = O(0), T = O(1), X0 = e->a_ext;
      char nm[24];
      V(MULSHR, BCASTROW, XC, X0, K(c, "conv.w0"), W, mb, W, W, TERN_RNN_CONV_FRAC);
      V(ADD, BCASTROW, XC, XC, K(c, "conv.b"), W, mb, W, W, 0); /* b + tap 0 */
      for (int k = 1; k < e->cw; k++) {
        snprintf(nm, sizeof nm, "conv.w%d", k);
        V(MULSHR, BCASTROW, T, X0 + k * W, K(c, nm), W, mb, W, W, TERN_RNN_CONV_FRAC);
        V(ADD, VEC, XC, XC, T, W, mb, W, W, 0);
      }
      int nw = e->cw - 1, zero = K(c, "zero");
      if (nw > 0 && mb >= nw) {
        V(ADD, CONST, X0, X0 + mb * W, zero, W, nw, W, W, 0);
      } else {
        for (int j = 0; j < nw; j++)
          V(ADD, CONST, X0 + j * W, X0 + (j + mb) * W, zero, W, 1, 0, 0, 0);
      }
      return 0;
    }
    case RS_LRU_IX: { /* R13: ix = MULSHR(LUTI_sig(gx + b_x), xc, 15) into the HN rows */
      int GX = A(0), XC = A(1);
      V(ADD, BCASTROW, GX, GX, K(c, "b_x"), W, mb, W, W, 0);
      if (lut_use(c, LUT_SIG, err, errlen)) return -1;
      if (cc_emit_luti(c, GX, GX, O(0), O(1), XS, W, mb, err, errlen)) return -1;
      V(MULSHR, VEC, HN, GX, XC, W, mb, W, W, 15);
      return 0;
    }
    case RS_LRU_A: { /* R1-R12 and m*ix (ix in HN): ga -> m*ix (in place), a */
      int GA = A(0), AH = O(1), R = O(2), T1 = O(3), T3 = XS;
      V(ADD, BCASTROW, GA, GA, K(c, "b_a"), W, mb, W, W, 0); /* R1 ta */
      if (lut_use(c, LUT_SIG, err, errlen)) return -1;
      if (cc_emit_luti(c, R, GA, T1, AH, T3, W, mb, err, errlen)) return -1; /* R2 r */
      if (lut_use(c, LUT_SQS, err, errlen)) return -1;
      if (cc_emit_luti(c, GA, GA, T1, AH, T3, W, mb, err, errlen)) return -1; /* R3 sr */
      V(MULSHR, BCASTROW, R, R, K(c, "spc"), W, mb, W, W, 15);                /* R4 */
      V(MIN, CONST, R, R, K(c, "lmax"), W, mb, W, W, 0);                      /* l */
      V(SUB, CONST, T1, R, K(c, "c2p25"), W, mb, W, W, 0);                    /* R5 lc */
      if (lut_use(c, LUT_EXP, err, errlen)) return -1;
      V(LUT, VEC, AH, T1, T1, W, mb, W, W, 18); /* ehi */
      if (lut_use(c, LUT_PSI, err, errlen)) return -1;
      V(LUT, VEC, T3, T1, T1, W, mb, W, W, 18);                /* psi */
      V(SUB, CONST, T1, R, K(c, "c2p17"), W, mb, W, W, 0);     /* R6 */
      V(MULSHR, CONST, T1, T1, K(c, "c1"), W, mb, W, W, 18);   /* k */
      V(MULSHR, CONST, T1, T1, K(c, "c2p18"), W, mb, W, W, 0); /* R7 */
      V(SUB, VEC, R, R, T1, W, mb, W, W, 0);                   /* f */
      V(MULSHR, CONST, T1, R, K(c, "third"), W, mb, W, W, 24); /* R8 */
      if (neg_add(c, T1, W, mb, "one24", err, errlen)) return -1;
      V(MULSHR, VEC, T1, T1, R, W, mb, W, W, 25); /* R9 */
      if (neg_add(c, T1, W, mb, "one24", err, errlen)) return -1;
      V(MULSHR, VEC, T1, T1, R, W, mb, W, W, 24); /* R10 elo */
      if (neg_add(c, T1, W, mb, "one24", err, errlen)) return -1;
      V(MULSHR, VEC, AH, AH, T1, W, mb, W, W, 24);               /* R11 a */
      V(MULSHR, BCASTROW, GA, GA, K(c, "sqc"), W, mb, W, W, 15); /* R12 */
      V(MULSHR, VEC, GA, GA, T3, W, mb, W, W, 15);               /* m */
      V(MULSHR, VEC, GA, GA, HN, W, mb, W, W, 18);               /* m*ix */
      return 0;
    }
    case RS_LRU_H: /* R14 row by row into HN (ix no longer needed), then H0 */
      if (recurrence(c, A(1), A(0), 24, mb, err, errlen)) return -1;
      V(ADD, CONST, e->a_h0, HN + (mb - 1) * W, K(c, "zero"), W, 1, 0, 0, 0);
      return 0;
    case RS_GELU: { /* P4 */
      int YB = A(0);
      if (lut_use(c, LUT_GELU, err, errlen)) return -1;
      if (cc_emit_luti(c, O(1), YB, O(2), O(3), XS, W, mb, err, errlen)) return -1;
      V(MULSHR, VEC, YB, YB, O(1), W, mb, W, W, TERN_SIGMOID_FRAC);
      return 0;
    }
    case RS_P7: /* o = MULSHR(h, yb, 18), in place on yb */
      V(MULSHR, VEC, A(0), A(0), HN, W, mb, W, W, TERN_RNN_H_FRAC);
      return 0;
    case RS_MLGRU_H: { /* G1-G5 (om*cs in HN, then h rows), then H0 */
      int F = A(0), CC = A(1), T1 = O(2), T2 = O(3), T3 = O(4);
      if (lut_use(c, LUT_SIG, err, errlen)) return -1;
      if (cc_emit_luti(c, F, F, T1, T2, T3, W, mb, err, errlen)) return -1;   /* G1 fs */
      if (cc_emit_luti(c, HN, CC, T1, T2, T3, W, mb, err, errlen)) return -1; /* G2 s */
      V(MULSHR, VEC, CC, CC, HN, W, mb, W, W, 15);                            /* G3 cs */
      V(MULSHR, CONST, HN, F, K(c, "cm1"), W, mb, W, W, 0);                   /* G4 om = */
      V(ADD, CONST, HN, HN, K(c, "one15"), W, mb, W, W, 0);                   /* 2^15 - fs */
      V(MULSHR, VEC, HN, HN, CC, W, mb, W, W, 9);
      for (int r = 0; r < mb; r++) { /* G5: h_r = fs_r h_{r-1} (in F) + (om cs)_r */
        int prev = r ? HN + (r - 1) * W : e->a_h0;
        V(MULSHR, VEC, F + r * W, F + r * W, prev, W, 1, 0, 0, 15);
        V(ADD, VEC, HN + r * W, HN + r * W, F + r * W, W, 1, 0, 0, 0);
      }
      V(ADD, CONST, e->a_h0, HN + (mb - 1) * W, K(c, "zero"), W, 1, 0, 0, 0);
      return 0;
    }
    case RS_MLGRU_O: { /* G6, G7: o = MULSHR(LUTI_sig(g), h, 21), in place on g */
      int G = A(0);
      if (lut_use(c, LUT_SIG, err, errlen)) return -1;
      if (cc_emit_luti(c, G, G, O(1), O(2), O(3), W, mb, err, errlen)) return -1;
      V(MULSHR, VEC, G, G, HN, W, mb, W, W, 21);
      return 0;
    }
  }
  return tern_err(err, errlen, "compile: mix: op %s: step %d unknown", op->name, op->rnn);
}

/* P2: xb rows into EXT rows cw-1 .. (the MLP's LINEAR with another output address) */
static int emit_wx(cc_ctx *c, const cc_op *op, int blk, int mb, char *err, size_t errlen) {
  const mix_ext *e = ext_of(c);
  int W = e->W, Y = e->a_ext + (e->cw - 1) * W, D = O(0);
  V(MULSHR, CONST, D, A(1), K(c, "wx.beta"), 1, mb, 1, 1, op->lin->s_d);
  cc_emit_matrix_gemms(c, blk, mb, op->mat, 0, Y, 0, 0, 0);
  V(MULSHR, PERROW, Y, Y, D, W, mb, W, W, op->lin->s_out);
  return 0;
}

/* split gates: quant_row of xc (P5/P6), OUT -> DRAM scratch -> ABUF piece-major */
static int emit_gate_quant(cc_ctx *c, const cc_op *op, int mb, char *err, size_t errlen) {
  const mix_ext *e = ext_of(c);
  const tern_hwcfg *h = c->cfg;
  int W = e->W, H = A(0), Am = O(1), R = O(2);
  const cc_tensor *q = &c->t[op->out[0]];
  V(RMAXABS, VEC, Am, H, H, W, mb, 1, W, 0);
  V(MAX, CONST, Am, Am, K(c, "amin"), 1, mb, 1, 1, 0);
  V(RECIP, CONST, R, Am, K(c, "c127"), 1, mb, 1, 1, TERN_QSHIFT);
  V(QUANT, PERROW, 0, H, R, W, mb, W, W, TERN_QSHIFT);
  int ow = q->cols_pad / h->cols, aw = q->cols_pad / h->rows, sr = e->PS / h->rows;
  cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_OUT, 0, ow, mb, ow, q->scratch, q->cols_pad);
  if (mb == 1) {
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ABUF, 0, aw, 1, aw, q->scratch, q->cols_pad);
  } else {
    for (int b = 0; b < e->np; b++)
      cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ABUF, b * mb * sr, sr, mb, sr,
                  q->scratch + (uint32_t)(b * e->PS), q->cols_pad);
  }
  return 0;
}

/* split gates: piece b of gate g (GEMMs into the piece-major temporary, copied
 * back to row-major with several rows); D before block 0, the scaling after the last */
static int emit_gate_block(cc_ctx *c, const cc_op *op, int g, int b, int blk, int mb, char *err,
                           size_t errlen) {
  const mix_ext *e = ext_of(c);
  const tern_hwcfg *h = c->cfg;
  /* piece-major products of several rows: the xb rows of EXT (free after the Conv1D) */
  int W = e->W, Y = O(0), D = O(1), T = e->a_ext + (e->cw - 1) * W;
  int sr = e->PS / h->rows, sc = e->PS / h->cols;
  if (b == 0) V(MULSHR, CONST, D, A(1), K(c, g ? "gx.beta" : "ga.beta"), 1, mb, 1, 1, op->lin->s_d);
  if (mb == 1) {
    cc_emit_matrix_gemms(c, blk, 1, op->mat, b * sr, Y + b * sc, 0, 0, 0);
  } else {
    cc_emit_matrix_gemms(c, blk, mb, op->mat, b * mb * sr, T + b * mb * sc, 0, 0, 0);
    V(ADD, CONST, Y + b * sc, T + b * mb * sc, K(c, "zero"), sc, mb, W, sc, 0);
  }
  if (b == e->np - 1) V(MULSHR, PERROW, Y, Y, D, W, mb, W, W, op->lin->s_out);
  return 0;
}

/* W_y / W_g: q1 back into ABUF, then the LINEAR with the captured recurrence
 * spread over its weight chunks (after each chunk's GEMMs, its share): the
 * load unit keeps streaming this matrix while the vector unit runs the
 * element-wise steps, which neither read nor write what the LINEAR does */
static int emit_reload_linear(cc_ctx *c, const cc_op *op, int blk, int mb, char *err,
                              size_t errlen) {
  mix_ext *e = ext_of(c);
  const cc_tensor *q = &c->t[e->t_q1];
  cc_matrix *m = &c->mat[op->mat];
  if (m->nchunks < 2) { /* one chunk: nothing to interleave with, the recurrence first */
    for (size_t i = 0; i < e->cap.n; i++) cc_buf_push(&c->ins, &e->cap.v[i]);
    e->cap.n = 0;
  }
  int aw = q->cols_pad / c->cfg->rows;
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ABUF, 0, aw, mb, aw, q->scratch, q->cols_pad);
  int Y = O(0), D = O(1), Wy = c->t[op->out[0]].words;
  char nm[TERN_NAME_LEN + 8];
  snprintf(nm, sizeof nm, "%s.beta", m->name);
  V(MULSHR, CONST, D, A(1), K(c, nm), 1, mb, 1, 1, op->lin->s_d); /* 13 */
  int g0 = m->chunk0, ng = m->nchunks;
  size_t done = 0, ncap = e->cap.n;
  for (int i = 0; i < ng; i++) {
    m->chunk0 = g0 + i;
    m->nchunks = 1;
    cc_emit_matrix_gemms(c, blk, mb, op->mat, 0, Y, 0, 0, 0);
    for (size_t upto = ncap * (size_t)(i + 1) / (size_t)ng; done < upto; done++)
      cc_buf_push(&c->ins, &e->cap.v[done]);
  }
  m->chunk0 = g0;
  m->nchunks = ng;
  for (; done < ncap; done++) cc_buf_push(&c->ins, &e->cap.v[done]);
  e->cap.n = 0;
  V(MULSHR, PERROW, Y, Y, D, Wy, mb, Wy, Wy, op->lin->s_out); /* 14 */
  return 0;
}

static int mix_own(cc_ctx *c, const cc_op *op, int m0, int mb, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  int blk = m0 / c->Mb;
  if (op->kind == CC_OP_RNN) {
    if (op->rnn != RS_LRU_A && op->rnn != RS_LRU_H && op->rnn != RS_MLGRU_H)
      return emit_rnn(c, op, mb, err, errlen);
    cc_insnbuf keep = c->ins; /* capture into e->cap (emit_reload_linear) */
    c->ins = e->cap;
    int rc = emit_rnn(c, op, mb, err, errlen);
    e->cap = c->ins;
    c->ins = keep;
    return rc;
  }
  if (op->kind == CC_OP_LINEAR && e->kind == TERN_RNN_RECURRENT) {
    if (op->mat == e->mat_wx) return emit_wx(c, op, blk, mb, err, errlen);
    for (int g = 0; e->split && g < 2; g++)
      if (op->mat >= e->gmat0[g] && op->mat < e->gmat0[g] + e->np)
        return emit_gate_block(c, op, g, op->mat - e->gmat0[g], blk, mb, err, errlen);
  }
  if (op->kind == CC_OP_LINEAR && op->mat == e->mat_reload)
    return emit_reload_linear(c, op, blk, mb, err, errlen);
  if (op->kind == CC_OP_QUANT && e->split && op->out[0] == e->t_q2)
    return emit_gate_quant(c, op, mb, err, errlen);
  return 1;
}
#undef A
#undef O

/* LOAD / STORE of the state rows (H0 and the window rows of ACC <-> DRAM) */
static void state_dma(cc_ctx *c, int opc) {
  const mix_ext *e = ext_of(c);
  int words = e->state_rows * e->W;
  if (words <= 65535) {
    cc_emit_dma(c, opc, TERN_MEM_ACC, e->a_h0, 0, 1, words, e->state_addr, 0);
    return;
  }
  for (int r = 0; r < e->state_rows; r++)
    cc_emit_dma(c, opc, TERN_MEM_ACC, e->a_h0 + r * e->W, 0, 1, e->W,
                e->state_addr + (uint32_t)r * (uint32_t)e->mem->lru_pad * 4, 0);
}

/* move the instructions [from, n) to position at (< from) */
static void insert_last_at(cc_ctx *c, size_t from, size_t at) {
  size_t k = c->ins.n - from;
  tern_insn *t = malloc(k * sizeof *t);
  if (!t) abort();
  memcpy(t, c->ins.v + from, k * sizeof *t);
  memmove(c->ins.v + at + k, c->ins.v + at, (from - at) * sizeof *t);
  memcpy(c->ins.v + at, t, k * sizeof *t);
  free(t);
}

static int mix_emit(cc_ctx *c, char *err, size_t errlen) {
  mix_ext *e = ext_of(c);
  e->lut = -1;
  e->page_has[0] = e->page_has[1] = -1;
  e->page_next = 0;
  e->cap.n = 0;
  if (cc_tfm_emit_blocks(c, -1, mix_own, err, errlen)) return -1;
  /* the pool LOAD without the pages; the state LOAD first, its STORE last */
  tern_insn *v0 = c->ins.v;
  if (c->ins.n && v0->op == TERN_OP_LOAD && v0->mem == TERN_MEM_ACC && v0->sram_addr == 0 &&
      v0->dram_addr == c->dram_const)
    v0->x_size = (uint16_t)e->pool_words;
  size_t n0 = c->ins.n;
  state_dma(c, TERN_OP_LOAD);
  insert_last_at(c, n0, 0);
  state_dma(c, TERN_OP_STORE);
  return 0;
}

/* ---- driver --------------------------------------------------------------------------- */

static int check_inputs(const tern_rnn_qmodel *q, const tern_rnn_mem *mem, int block, int M,
                        const tern_hwcfg *hw, char *err, size_t errlen) {
  char e[256];
  if (!q || !q->block || !q->m)
    return tern_err(err, errlen, "compile: mix: model is NULL or not quantised");
  if (!mem) return tern_err(err, errlen, "compile: mix: memory plan is NULL (tern_rnn_mem_plan)");
  if (!hw) return tern_err(err, errlen, "compile: hardware config is NULL");
  const tern_rnn_config *c = &q->cfg;
  if (tern_rnn_check(c, c->name, e, sizeof e))
    return tern_err(err, errlen, "compile: mix: bad model config: %s", e);
  if (tern_hwcfg_check(hw, e, sizeof e))
    return tern_err(err, errlen, "compile: bad hardware config: %s", e);
  if (c->layers > TERN_RNN_MEM_LAYERS)
    return tern_err(err, errlen, "compile: mix: field 'layers' is %d, expected at most %d",
                    c->layers, TERN_RNN_MEM_LAYERS);
  if (block < 0 || block >= c->layers)
    return tern_err(err, errlen, "compile: mix: block = %d, expected 0 .. %d (layers = %d)", block,
                    c->layers - 1, c->layers);
  char k = tern_rnn_block_kind(c, block);
  if (k != TERN_RNN_RECURRENT && k != TERN_RNN_MLGRU_BLK)
    return tern_err(err, errlen,
                    "compile: mix: block %d is '%c' (local attention), expected 'r' or "
                    "'m' (compile an 'a' block as the transformer ATTN program of q->view)",
                    block, k);
  if (q->block[block].kind != k)
    return tern_err(err, errlen,
                    "compile: mix: block %d of the model is '%c', the pattern says '%c'", block,
                    q->block[block].kind, k);
  if (M < 1 || M > mem->tm.rows)
    return tern_err(err, errlen, "compile: mix: M = %d, expected 1 .. %d (the memory plan's rows)",
                    M, mem->tm.rows);
  int unit = cc_lcm(hw->rows, hw->cols);
  if (mem->lru_pad != cc_round_up(c->lru_width, unit) ||
      mem->tm.dim_pad != cc_round_up(c->dim, unit))
    return tern_err(
        err, errlen,
        "compile: mix: memory plan lru_pad = %d, dim_pad = %d, expected %d, "
        "%d (lru_width %d, dim %d padded to lcm(rows, cols) = %d: plan the map for this "
        "model and hardware configuration)",
        mem->lru_pad, mem->tm.dim_pad, cc_round_up(c->lru_width, unit), cc_round_up(c->dim, unit),
        c->lru_width, c->dim, unit);
  uint64_t rows = k == TERN_RNN_RECURRENT ? (uint64_t)c->conv_width : 1;
  uint64_t a = mem->state_addr[block], end = a + rows * (uint64_t)mem->lru_pad * 4;
  if (!a || a < mem->state_base || end > (uint64_t)mem->state_base + mem->state_bytes ||
      end > mem->tm.priv_base)
    return tern_err(err, errlen,
                    "compile: mix: memory plan state_addr[%d] = 0x%llx (%llu bytes), "
                    "expected inside the state region [0x%x, 0x%llx) below priv_base 0x%x",
                    block, (unsigned long long)a, (unsigned long long)(end - a), mem->state_base,
                    (unsigned long long)mem->state_base + mem->state_bytes, mem->tm.priv_base);
  return 0;
}

static int compile_mix(const tern_rnn_qmodel *q, const tern_rnn_mem *mem, int block, int M,
                       const tern_hwcfg *cfg, const tern_compile_opts *opts, tern_program *out,
                       char *err, size_t errlen) {
  static const cc_pass ps[] = {
      {"build", mix_build, cc_dump_build},
      {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", mix_tile, mix_dump_tile},
      {"alloc", mix_alloc, mix_dump_alloc},
      {"emit", mix_emit, cc_dump_prog},
      {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  tern_program_init(out);
  if (check_inputs(q, mem, block, M, cfg, err, errlen)) return -1;
  tern_compile_opts o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  o.tokens = M;
  cc_ctx c;
  if (cc_compile_common(&c, cfg, &o, out, err, errlen)) return -1;
  const tern_rnn_config *rc = &q->cfg;
  mix_ext e;
  memset(&e, 0, sizeof e);
  e.q = q;
  e.B = &q->block[block];
  e.mem = mem;
  e.block = block;
  e.kind = e.B->kind;
  e.d = rc->dim;
  e.w = rc->lru_width;
  e.cw = e.kind == TERN_RNN_RECURRENT ? rc->conv_width : 0;
  e.S = rc->lru_block;
  e.nb = tern_rnn_gate_blocks(rc);
  /* pieces of whole gate blocks whose size is a multiple of lcm(rows, cols) */
  long piece = cc_lcm(e.S, cc_lcm(cfg->rows, cfg->cols));
  e.split = e.kind == TERN_RNN_RECURRENT && piece < e.w && e.w % piece == 0;
  e.PS = e.split ? (int)piece : e.w;
  e.np = e.w / e.PS;
  e.mat_wx = e.mat_reload = e.gmat0[0] = e.gmat0[1] = e.t_q1 = e.t_q2 = -1;
  e.state_addr = mem->state_addr[block];
  e.state_rows = e.kind == TERN_RNN_RECURRENT ? e.cw : 1;
  c.ext = &e;
  c.consts_fn = mix_consts;
  c.mem = &mem->tm;
  int rc2 = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), &o, err, errlen);
  for (int i = 0; i < e.ncodes; i++) free(e.codes[i]);
  free(e.codes);
  free_pages(&e);
  free(e.pg);
  free(e.cap.v);
  cc_ctx_free(&c);
  if (rc2) tern_program_free(out);
  return rc2;
}

int tern_compile_rnn_mix(const tern_rnn_qmodel *q, const tern_rnn_mem *mem, int block, int M,
                         const tern_hwcfg *cfg, const tern_compile_opts *opts, tern_program **parts,
                         int *nparts, char *err, size_t errlen) {
  if (!parts || !nparts) return tern_err(err, errlen, "compile: parts / nparts is NULL");
  *parts = NULL;
  *nparts = 0;
  tern_program p0;
  cc_split_begin();
  int rc = compile_mix(q, mem, block, M, cfg, opts, &p0, err, errlen);
  return cc_split_collect(rc, &p0, parts, nparts);
}
