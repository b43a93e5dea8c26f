/* Lowering of the ATTENTION half of a transformer block pass (issue 3) onto the
 * MLP compiler's passes (compile.c), against the persistent DRAM map of a step
 * (include/tern/compiler_tfm.h):
 *
 *   build (here) -> pad -> tile (+ here) -> alloc (+ here) -> emit (here) -> sync -> validate
 *
 * For the M rows of a step at positions pos .. pos+M-1, in place on x
 * (mem->x_addr), exactly the integer reference tern_tfm_attn_half_int
 * (docs/NUMERICS.md A1-A20, O1-O4, and "Attention on the accelerator"):
 *
 *   TNORM an (x -> an)                     L1-L3 (LayerNorm), N1-N6
 *   QUANT q1 (an -> q1, A1)                one quantisation for Q, K, V
 *   LINEAR wq, wk, wv (q1, A1 -> q, k, v)  columns remapped to the head layout
 *   ATTN (q, k, v -> att)                  RoPE; K/V -> int8 cache + scales;
 *                                          A7-A20 per head with MAC8;
 *                                          LayerNorm SubLN's centring (L1-L3)
 *   TNORM sn (att -> sn.y)                 SubLN N1-N6 (cfg.subln)
 *   QUANT q2, LINEAR wo (rows remapped)    O2, O3
 *   ADD (x += wo.y)                        O4
 *
 * Head layout (cc_tfm_hd_pad): each Q and K head is [x0 half padded to a
 * multiple of C lanes][x1 half, same], so the rotate-half pairs (i, i + hd/2)
 * sit in the same lane of two words and RoPE is word-wise; V heads are
 * [hd values][zeros].  The padding columns of Wq/Wk/Wv are zero, so the
 * padding lanes of q, k, v, the int8 rows and att are exactly 0 and every
 * dot product, sum and max is the reference's.  QUANT / LINEAR / ADD and the
 * norms are the FFN half's emitters (emit.c, tfm_ffn.c); weight streaming,
 * token blocking and the int8 round trip are the MLP compiler's. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/numerics.h"

enum { L_WQ = 0, L_WK = 1, L_WV = 2, L_WO = 3 };
enum { LUT_NONE = 0, LUT_HI = 1, LUT_LO = 2 };

typedef struct attn_ext {
  const tern_tfm_qmodel *q;
  const tern_tfm_qblock *B;
  const tern_tfm_mem *mem;
  int pass, pos, M;
  int H, KH, G, hd, hd_pad, hdw, hw, window;
  tern_qlinear lin[4];
  int8_t *codes[4];
  /* SubLN over the padded head layout: the block's constants with n = H*hd_pad,
   * remapped gains / biases and layer = 0 (the LayerNorm centring is part of
   * the ATTN op, which knows the layout's padding lanes) */
  tern_tfm_qnorm sub;
  int sub_ln;
  int32_t *rope; /* M rows of hd_pad values: cos lanes [0, hw*C), sin lanes [hw*C, 2*hw*C) */
  uint32_t rope_dram;
  uint32_t *kt, *v, *ks, *vs; /* KV cache addresses of the pass, per KV head */
  int kt_uni;                 /* KT[g] = KT[0] + g*hd_pad*ctx_pad: one K scatter per row */
  int sc_uni;                 /* KS[0..KH), VS[0..KH) at a uniform stride sc_stride */
  uint32_t sc_stride;
  /* tensors */
  int tq, tk, tv, tatt, trope, tkas, taqs, ts1, tmu;
  /* tile: buffer plan */
  int single;       /* K^T and V of a block's positions loaded once per KV head */
  int nbuf;         /* single: 2 = the next KV head's K^T / V / scale rows load
                       into a second buffer while this one computes */
  int CW;           /* single: NWU; else positions (words) per K^T / V chunk */
  int NWU, NWR;     /* max words of a block's union / of one row's position range */
  int o_v8, o_qq, o_kv, o_qw, o_end; /* OUT regions (K8 at 0); buffer b of K^T at
                                        o_kv + b*2*hd_pad*CW, its V at + hd_pad*CW */
  int a_scr, scr_words;              /* ACC scratch after the token area */
  /* emit */
  int lut;
} attn_ext;

static attn_ext *ext_of(const cc_ctx *c) { return (attn_ext *)c->ext; }

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* ---- positions ------------------------------------------------------------------ */

static int j0_of(const attn_ext *e, int t) {
  return e->window > 0 && t - e->window + 1 > 0 ? t - e->window + 1 : 0;
}
/* words [pb, pe) of positions (multiples of C) that row t attends to */
static void row_range(const attn_ext *e, int C, int t, int *pb, int *pe) {
  *pb = j0_of(e, t) / C * C;
  *pe = (t / C + 1) * C;
}
/* union of the rows of a token block (j0 and t grow with the row) */
static void block_range(const attn_ext *e, int C, int m0, int mb, int *PB, int *PE) {
  int a, b;
  row_range(e, C, e->pos + m0, PB, &a);
  row_range(e, C, e->pos + m0 + mb - 1, &b, PE);
}

/* lanes [lo, hi] of a word are inside a row's positions; masking constants */
static void mask_names(char *m01, char *mneg, size_t n, int lo, int hi) {
  snprintf(m01, n, "mask01.%d.%d", lo, hi);
  snprintf(mneg, n, "maskneg.%d.%d", lo, hi);
}

/* the partial words of row t: (word offset in the row's range, lo, hi), at most 2 */
static int row_masks(const attn_ext *e, int C, int t, int w[2], int lo[2], int hi[2]) {
  int pb, pe, n = 0;
  row_range(e, C, t, &pb, &pe);
  int nw = (pe - pb) / C, l = j0_of(e, t) - pb, h = t - (pe - C);
  if (nw == 1) {
    if (l > 0 || h < C - 1) w[n] = 0, lo[n] = l, hi[n] = h, n++;
    return n;
  }
  if (l > 0) w[n] = 0, lo[n] = l, hi[n] = C - 1, n++;
  if (h < C - 1) w[n] = nw - 1, lo[n] = 0, hi[n] = h, n++;
  return n;
}

/* ---- build ------------------------------------------------------------------------- */

/* lane of head dimension i in the rotate-half layout (Q, K) / the plain one (V) */
static int lane_rot(const attn_ext *e, int i) {
  return i < e->hd / 2 ? i : e->hd_pad / 2 + (i - e->hd / 2);
}

/* unpack a BitLinear's codes and remap its columns (cols_rot: Q/K, else V) or
 * rows (Wo) into the head layout */
static int remap(attn_ext *e, int l, const tern_tfm_qlinear *src, int heads, char *err,
                 size_t errlen) {
  static const char *names[4] = {"wq", "wk", "wv", "wo"};
  int K = src->w->k, N = src->w->n;
  size_t n = (size_t)K * (size_t)N;
  int8_t *raw = malloc(n ? n : 1);
  int Kn = l == L_WO ? heads * e->hd_pad : K, Nn = l == L_WO ? N : heads * e->hd_pad;
  e->codes[l] = calloc((size_t)Kn * (size_t)Nn, 1);
  if (!raw || !e->codes[l]) {
    free(raw);
    return tern_err(err, errlen, "compile: attention %s: out of memory (%zu codes)", names[l], n);
  }
  if (cc_tfm_unpack_lin(src, n, raw, "attention", names[l], err, errlen)) {
    free(raw);
    return -1;
  }
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) {
      int h = (l == L_WO ? k : j) / e->hd, i = (l == L_WO ? k : j) % e->hd;
      int pl = h * e->hd_pad + (l == L_WQ || l == L_WK ? lane_rot(e, i) : i);
      if (l == L_WO)
        e->codes[l][(size_t)pl * Nn + j] = raw[(size_t)k * N + j];
      else
        e->codes[l][(size_t)k * Nn + pl] = raw[(size_t)k * N + j];
    }
  free(raw);
  cc_tfm_lin_consts(&e->lin[l], src->beta_c, src->beta_frac, src->s_d);
  return 0;
}

static int attn_build(cc_ctx *c, char *err, size_t errlen) {
  attn_ext *e = ext_of(c);
  const tern_tfm_config *tc = &e->q->cfg;
  const tern_tfm_qblock *B = e->B;
  int d = tc->dim, H = e->H, KH = e->KH, hd = e->hd, hp = e->hd_pad;
  if (cc_tfm_check_norm(&B->attn_norm, d, "attn norm", err, errlen)) return -1;
  if (tc->subln && cc_tfm_check_norm(&B->attn_subln, H * hd, "attn subln", err, errlen)) return -1;
  const tern_tfm_qlinear *src[4] = {&B->wq, &B->wk, &B->wv, &B->wo};
  static const char *names[4] = {"wq", "wk", "wv", "wo"};
  int KN[4][2] = {{d, H * hd}, {d, KH * hd}, {d, KH * hd}, {H * hd, d}};
  int heads[4] = {H, KH, KH, H};
  for (int l = 0; l < 4; l++) {
    if (cc_tfm_check_lin(src[l], KN[l][0], KN[l][1], "attention", names[l], err, errlen)) return -1;
    if (remap(e, l, src[l], heads[l], err, errlen)) return -1;
  }
  if (tc->subln) { /* the SubLN's gains and biases in the head layout */
    const tern_tfm_qnorm *sn = &B->attn_subln;
    e->sub = *sn;
    e->sub.n = H * hp;
    e->sub.layer = 0;
    e->sub_ln = sn->layer;
    e->sub.g_q = calloc((size_t)H * hp, sizeof(int32_t));
    e->sub.b_q = sn->b_q ? calloc((size_t)H * hp, sizeof(int32_t)) : NULL;
    if (!e->sub.g_q || (sn->b_q && !e->sub.b_q))
      return tern_err(err, errlen, "compile: attention subln: out of memory");
    for (int h = 0; h < H; h++)
      for (int i = 0; i < hd; i++) {
        e->sub.g_q[h * hp + i] = sn->g_q[h * hd + i];
        if (sn->b_q) e->sub.b_q[h * hp + i] = sn->b_q[h * hd + i];
      }
  }
  const int C = c->cfg->cols;
  c->d = d;
  c->x = cc_add_tensor(c, "x", CC_T_I32, d);
  int an = cc_tfm_add_norm(c, "an", &B->attn_norm, c->x, d);
  int q1, a1;
  cc_tfm_add_quant(c, "q1", an, d, &q1, &a1);
  e->tq = cc_tfm_add_linear(c, "wq", &e->lin[L_WQ], e->codes[L_WQ], d, H * hp, q1, a1);
  e->tk = cc_tfm_add_linear(c, "wk", &e->lin[L_WK], e->codes[L_WK], d, KH * hp, q1, a1);
  e->tv = cc_tfm_add_linear(c, "wv", &e->lin[L_WV], e->codes[L_WV], d, KH * hp, q1, a1);
  e->tatt = cc_add_tensor(c, "att", CC_T_I32, H * hp);
  e->trope = cc_add_tensor(c, "att.rope", CC_T_I32, hp);         /* cos | sin of the row */
  e->tkas = cc_add_tensor(c, "att.kvscale", CC_T_I32, 4 * KH * C); /* A_k, A_v; their RECIPs */
  e->taqs = cc_add_tensor(c, "att.qscale", CC_T_I32, 3 * H * C);   /* A_q, RECIP, Sq per head */
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_ATTN;
  o.mask = -1;
  snprintf(o.name, sizeof o.name, "attn");
  if (e->sub_ln) {
    e->ts1 = cc_add_tensor(c, "att.S1", CC_T_SCALAR, 1);
    e->tmu = cc_add_tensor(c, "att.mu", CC_T_SCALAR, 1);
    cc_op_io(&o, (int[]){e->tq, e->tk, e->tv}, 3,
          (int[]){e->tatt, e->trope, e->tkas, e->taqs, e->ts1, e->tmu}, 6, 5);
  } else {
    cc_op_io(&o, (int[]){e->tq, e->tk, e->tv}, 3, (int[]){e->tatt, e->trope, e->tkas, e->taqs}, 4,
          3);
  }
  cc_add_op(c, &o);
  int m = e->tatt;
  if (tc->subln) m = cc_tfm_add_norm(c, "sn", &e->sub, m, H * hp);
  int q2, a2;
  cc_tfm_add_quant(c, "q2", m, H * hp, &q2, &a2);
  int yo = cc_tfm_add_linear(c, "wo", &e->lin[L_WO], e->codes[L_WO], H * hp, d, q2, a2);
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_ADD;
  o.mask = -1;
  snprintf(o.name, sizeof o.name, "add");
  cc_op_io(&o, (int[]){c->x, yo}, 2, (int[]){c->x}, 1, 0);
  cc_add_op(c, &o);
  return 0;
}

/* ---- constants --------------------------------------------------------------------- */

static int has_const(const cc_ctx *c, const char *nm) {
  for (int i = 0; i < c->ncst; i++)
    if (!strcmp(c->cst[i].name, nm)) return 1;
  return 0;
}

static int attn_consts(cc_ctx *c) {
  attn_ext *e = ext_of(c);
  const int C = c->cfg->cols;
  const tern_tfm_qblock *B = e->B;
  char nm[TERN_NAME_LEN + 8], nm2[TERN_NAME_LEN + 8];
  cc_add_const(c, "zero", 1, NULL, 0);
  cc_add_const(c, "amin", 1, NULL, TERN_AMIN);
  cc_add_const(c, "c127", 1, NULL, 127);
  cc_add_const(c, "c1", 1, NULL, 1);
  cc_add_const(c, "c512", 1, NULL, 512);
  cc_add_const(c, "c1024", 1, NULL, 1024);
  cc_add_const(c, "attc", 1, NULL, e->q->att_c);
  cc_add_const(c, "pvc", 1, NULL, e->q->pv_c);
  if (cc_tfm_add_mask(c, c->d)) return -1;
  if (cc_tfm_add_norm_consts(c, "an", &B->attn_norm)) return -1;
  if (e->q->cfg.subln && cc_tfm_add_norm_consts(c, "sn", &e->sub)) return -1;
  int aw = cc_round_up(e->H * e->hd_pad, c->unit);
  int32_t *v = calloc((size_t)aw + 2 * (size_t)C, sizeof(int32_t));
  if (!v) return -1;
  if (e->sub_ln) { /* the LayerNorm SubLN's mean and its real lanes */
    cc_add_const(c, "att.inv_n", 1, NULL, B->attn_subln.inv_n);
    for (int h = 0; h < e->H; h++)
      for (int i = 0; i < e->hd; i++) v[h * e->hd_pad + i] = 1;
    cc_add_const(c, "att.mask", aw / C, v, 0);
  }
  static const char *lnames[4] = {"wq", "wk", "wv", "wo"};
  for (int l = 0; l < 4; l++) {
    snprintf(nm, sizeof nm, "%s.beta", lnames[l]);
    cc_add_const(c, nm, 1, NULL, e->lin[l].beta_c);
  }
  cc_add_const(c, "exp_hi", TERN_LUT_ENTRIES / C, e->q->exp_hi, 0);
  cc_add_const(c, "exp_lo", TERN_LUT_ENTRIES / C, e->q->exp_lo, 0);
  /* masks of the partial words of every row; one-hot lanes of the scale RMW */
  for (int r = 0; r < e->M; r++) {
    int t = e->pos + r, w[2], lo[2], hi[2];
    int n = row_masks(e, C, t, w, lo, hi);
    for (int k = 0; k < n; k++) {
      mask_names(nm, nm2, sizeof nm, lo[k], hi[k]);
      if (has_const(c, nm)) continue;
      for (int l = 0; l < C; l++) {
        int in = l >= lo[k] && l <= hi[k];
        v[l] = in;
        v[C + l] = in ? 0 : -(1 << 30);
      }
      cc_add_const(c, nm, 1, v, 0);
      cc_add_const(c, nm2, 1, v + C, 0);
    }
    snprintf(nm, sizeof nm, "oh%d", t % C);
    if (has_const(c, nm)) continue;
    for (int l = 0; l < C; l++) v[l] = l == t % C;
    cc_add_const(c, nm, 1, v, 0);
  }
  free(v);
  c->acc_tok_base = c->const_words;
  return 0;
}

/* ---- tile: token block and the OUT / ACC buffer plan -------------------------------- */

typedef struct plan {
  int single, nbuf, CW, NWU, NWR, o_v8, o_qq, o_kv, o_qw, o_end, scr;
} plan;

/* buffer plan for token blocks of mb rows; 0 if it fits OUT and ACC, else -1
 * with the reason in why */
static int plan_for(const cc_ctx *c, const attn_ext *e, int mb, int max_out, plan *p, char *why,
                    size_t wlen) {
  const tern_hwcfg *h = c->cfg;
  const int C = h->cols;
  memset(p, 0, sizeof *p);
  for (int m0 = 0; m0 < e->M; m0 += mb) {
    int PB, PE, n = imin(mb, e->M - m0);
    block_range(e, C, m0, n, &PB, &PE);
    p->NWU = imax(p->NWU, (PE - PB) / C);
    for (int r = 0; r < n; r++) {
      int pb, pe;
      row_range(e, C, e->pos + m0 + r, &pb, &pe);
      p->NWR = imax(p->NWR, (pe - pb) / C);
    }
  }
  int o0 = imax(mb * max_out, 2 * mb * e->KH * e->hdw);
  p->o_v8 = mb * e->KH * e->hdw;
  p->o_qq = o0;
  p->o_kv = o0 + mb * e->H * e->hdw;
  long fixed = (long)p->o_kv + (long)e->G * p->NWR;
  long kv = 2L * e->hd_pad * p->NWU;
  long acc0 = (long)c->const_words + (long)mb * c->tok_words;
  int rope = 3 * e->H * e->hw, rmw = 4 * e->KH, att1 = 4 * e->G * p->NWR + 7 * e->G;
  if ((long)mb * e->KH * e->hd_pad > (long)TERN_OUT8_MAX_BYTES) { /* the K scatter's bytes */
    snprintf(why, wlen,
             "the int8 K rows of %d token rows (%d KV heads x %d lanes each) exceed the %u "
             "bytes OUT8 addresses",
             mb, e->KH, e->hd_pad, TERN_OUT8_MAX_BYTES);
    return -1;
  }
  p->nbuf = 1;
  if (fixed + kv <= h->out_depth && p->NWU <= CC_VEC_FIELD_MAX) {
    p->single = 1;
    p->CW = p->NWU;
    if (fixed + 2 * kv <= h->out_depth &&
        acc0 + imax(imax(rope, rmw), 4 * p->NWU + att1) <= h->acc_depth)
      p->nbuf = 2;
  } else if (fixed + 2L * e->hd_pad <= h->out_depth) {
    p->CW = (int)imin((int)((h->out_depth - fixed) / (2L * e->hd_pad)), p->NWR);
    p->CW = imin(p->CW, CC_VEC_FIELD_MAX);
  } else {
    snprintf(why, wlen,
             "OUT too small for one token row: needs %ld words (%ld for the int8 q, k, v and P "
             "of %d row(s), 2 x hd_pad = %d per position word of K^T and V), out_depth = %d",
             fixed + 2L * e->hd_pad, fixed, mb, 2 * e->hd_pad, h->out_depth);
    return -1;
  }
  p->o_qw = p->o_kv + p->nbuf * 2 * e->hd_pad * p->CW;
  p->o_end = p->o_qw + e->G * p->NWR;
  p->scr = imax(imax(rope, rmw), 2 * p->nbuf * p->NWU + att1);
  long acc = acc0 + p->scr;
  if (acc > h->acc_depth) {
    snprintf(why, wlen,
             "ACC too small for one token row: needs %ld words (%d constants, %ld per token "
             "block of %d row(s), %d of attention scratch for %d position words), acc_depth = %d",
             acc, c->const_words, (long)mb * c->tok_words, mb, p->scr, p->NWR, h->acc_depth);
    return -1;
  }
  return 0;
}

static int attn_tile(cc_ctx *c, char *err, size_t errlen) {
  attn_ext *e = ext_of(c);
  const tern_hwcfg *h = c->cfg;
  if (cc_pass_tile(c, err, errlen)) return -1;
  int max_out = 0;
  for (int i = 0; i < c->nt; i++)
    if (c->t[i].kind == CC_T_I8) max_out = imax(max_out, c->t[i].cols_pad / h->cols);
  plan p;
  char why[384];
  int mb = c->Mb;
  for (; mb >= 1; mb--)
    if (plan_for(c, e, mb, max_out, &p, why, sizeof why) == 0) break;
  if (mb < 1) {
    plan_for(c, e, 1, max_out, &p, why, sizeof why);
    return tern_err(err, errlen, "compile: attention (pass %d, positions %d..%d): %s", e->pass,
                    e->pos, e->pos + e->M - 1, why);
  }
  if (p.NWR > CC_VEC_FIELD_MAX)
    return tern_err(err, errlen,
                    "compile: attention: a row attends to %d position words, the VEC N field "
                    "holds at most %d (use a smaller ctx or a window)",
                    p.NWR, CC_VEC_FIELD_MAX);
  c->Mb = mb;
  c->nblocks = (c->M + mb - 1) / mb;
  e->single = p.single;
  e->nbuf = p.nbuf;
  e->CW = p.CW;
  e->NWU = p.NWU;
  e->NWR = p.NWR;
  e->o_v8 = p.o_v8;
  e->o_qq = p.o_qq;
  e->o_kv = p.o_kv;
  e->o_qw = p.o_qw;
  e->o_end = p.o_end;
  e->scr_words = p.scr;
  e->a_scr = c->acc_tok_base + c->tok_words * c->Mb;
  return 0;
}

static void attn_dump_tile(const cc_ctx *c, FILE *f) {
  const attn_ext *e = ext_of(c);
  cc_dump_tile(c, f);
  fprintf(f,
          "# attention: pass %d, positions %d..%d, %d heads / %d KV heads, head_dim %d -> %d "
          "lanes (%d words)\n",
          e->pass, e->pos, e->pos + e->M - 1, e->H, e->KH, e->hd, e->hd_pad, e->hdw);
  fprintf(f,
          "# K^T / V: %s, %d position words per chunk, %d buffer(s); <= %d words per block, <= "
          "%d per row\n",
          e->single ? "one load per KV head and token block" : "chunks per row", e->CW, e->nbuf,
          e->NWU, e->NWR);
  fprintf(f, "# OUT: K8 0, V8 %d, Qq %d, K^T/V %d, P %d, end %d (out_depth %d)\n", e->o_v8,
          e->o_qq, e->o_kv, e->o_qw, e->o_end, c->cfg->out_depth);
  fprintf(f, "# ACC scratch: %d words at %d\n", e->scr_words, e->a_scr);
}

/* ---- alloc: the RoPE rows of the step in the private image -------------------------- */

static uint64_t al64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

static int attn_alloc(cc_ctx *c, char *err, size_t errlen) {
  attn_ext *e = ext_of(c);
  if (cc_pass_alloc(c, err, errlen)) return -1;
  uint64_t pos = al64(c->prog->dram_size > c->dram_end ? c->prog->dram_size : c->dram_end);
  size_t n = (size_t)e->M * (size_t)e->hd_pad * 4;
  uint8_t *b = malloc(n);
  if (!b) return tern_err(err, errlen, "compile: attention: out of memory");
  for (size_t i = 0; i < (size_t)e->M * (size_t)e->hd_pad; i++) {
    uint32_t u = (uint32_t)e->rope[i];
    b[4 * i] = (uint8_t)u;
    b[4 * i + 1] = (uint8_t)(u >> 8);
    b[4 * i + 2] = (uint8_t)(u >> 16);
    b[4 * i + 3] = (uint8_t)(u >> 24);
  }
  e->rope_dram = (uint32_t)pos;
  if (pos + n > 0xffffffffull) {
    free(b);
    return tern_err(err, errlen, "compile: DRAM image exceeds 4 GiB (32-bit DRAM_ADDR)");
  }
  tern_program_add_segment(c->prog, e->rope_dram, b, (uint32_t)n);
  free(b);
  cc_add_tensor_ref(c->prog, "rope", e->rope_dram, TERN_DT_I32, (uint32_t)e->M,
                    (uint32_t)e->hd_pad, (uint32_t)e->hd_pad * 4);
  pos = al64(pos + n);
  if (c->cfg->dram_bytes && pos > c->cfg->dram_bytes)
    return tern_err(err, errlen, "compile: program needs %llu bytes of DRAM, hwcfg dram_bytes = %llu",
                    (unsigned long long)pos, (unsigned long long)c->cfg->dram_bytes);
  c->dram_end = (uint32_t)pos;
  c->prog->dram_size = pos;
  return 0;
}

/* ---- emit ----------------------------------------------------------------------------- */

static int lutld(cc_ctx *c, int which, char *err, size_t errlen) {
  attn_ext *e = ext_of(c);
  if (e->lut == which) return 0;
  int a = cc_const_addr(c, which == LUT_HI ? "exp_hi" : "exp_lo");
  V(LUTLD, VEC, 0, a, a, TERN_LUT_ENTRIES / c->cfg->cols, 1, 0, 0, 0);
  e->lut = which;
  return 0;
}

/* rotate-half RoPE of `rows` heads (head stride hdw words) of one token row */
static int emit_rope(cc_ctx *c, int x0, int rows, int cs, char *err, size_t errlen) {
  const attn_ext *e = ext_of(c);
  int hw = e->hw, hdw = e->hdw, x1 = x0 + hw, sn = cs + hw;
  int T1 = e->a_scr, T2 = T1 + e->H * hw, T3 = T2 + e->H * hw;
  V(MULSHR, BCASTROW, T1, x0, cs, hw, rows, hw, hdw, TERN_TFM_ROPE_FRAC); /* x0 cos */
  V(MULSHR, BCASTROW, T2, x1, sn, hw, rows, hw, hdw, TERN_TFM_ROPE_FRAC); /* x1 sin */
  V(SUB, VEC, T1, T1, T2, hw, rows, hw, hw, 0);                           /* x0' */
  V(MULSHR, BCASTROW, T2, x0, sn, hw, rows, hw, hdw, TERN_TFM_ROPE_FRAC); /* x0 sin */
  V(MULSHR, BCASTROW, T3, x1, cs, hw, rows, hw, hdw, TERN_TFM_ROPE_FRAC); /* x1 cos */
  V(ADD, VEC, x1, T2, T3, hw, rows, hdw, hw, 0);                          /* x1' */
  V(ADD, CONST, x0, T1, cc_const_addr(c, "zero"), hw, rows, hdw, hw, 0);  /* x0 = x0' */
  return 0;
}

/* DMA of the 2*KH scale words of position word w: ACC [a, a + 2KH) <-> KS/VS */
static void scale_dma(cc_ctx *c, int op, int a, int w) {
  const attn_ext *e = ext_of(c);
  uint32_t off = (uint32_t)w * (uint32_t)c->cfg->cols * 4;
  if (e->sc_uni) {
    cc_emit_dma(c, op, TERN_MEM_ACC, a, 1, 2 * e->KH, 1, e->ks[0] + off, (int)e->sc_stride);
    return;
  }
  for (int j = 0; j < 2 * e->KH; j++)
    cc_emit_dma(c, op, TERN_MEM_ACC, a + j, 0, 1, 1,
                (j < e->KH ? e->ks[j] : e->vs[j - e->KH]) + off, 0);
}

/* RoPE, K/V quantisation and the cache writes of the rows of one token block */
static int emit_kv(cc_ctx *c, int m0, int mb, char *err, size_t errlen) {
  const attn_ext *e = ext_of(c);
  const int C = c->cfg->cols;
  int KH = e->KH, hdw = e->hdw, hp = e->hd_pad;
  int Q = cc_acc_addr(c, e->tq), QW = c->t[e->tq].words;
  int K = cc_acc_addr(c, e->tk), KW = c->t[e->tk].words;
  int Vv = cc_acc_addr(c, e->tv), VW = c->t[e->tv].words;
  int RO = cc_acc_addr(c, e->trope), RW = c->t[e->trope].words;
  int KA = cc_acc_addr(c, e->tkas), KR = KA + c->Mb * 2 * KH;
  int T0 = e->pos + m0;
  /* RoPE rows of the block (cos | sin), then per row: Q heads, K heads */
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, RO, RW, mb, 2 * e->hw,
              e->rope_dram + (uint32_t)m0 * (uint32_t)hp * 4, hp * 4);
  for (int r = 0; r < mb; r++) {
    if (emit_rope(c, Q + r * QW, e->H, RO + r * RW, err, errlen)) return -1;
    if (emit_rope(c, K + r * KW, KH, RO + r * RW, err, errlen)) return -1;
  }
  /* quant_row of every (row, KV head): A_k, A_v at KA[r][2KH], RECIPs at KR[j][r] */
  for (int g = 0; g < KH; g++) {
    V(RMAXABS, VEC, KA + g, K + g * hdw, K + g * hdw, hdw, mb, 2 * KH, KW, 0);
    V(RMAXABS, VEC, KA + KH + g, Vv + g * hdw, Vv + g * hdw, hdw, mb, 2 * KH, VW, 0);
  }
  V(MAX, CONST, KA, KA, cc_const_addr(c, "amin"), mb * 2 * KH, 1, 0, 0, 0);
  for (int j = 0; j < 2 * KH; j++)
    V(RECIP, CONST, KR + j * mb, KA + j, cc_const_addr(c, "c127"), 1, mb, 1, 2 * KH, TERN_QSHIFT);
  for (int g = 0; g < KH; g++) { /* int8 K at OUT [r][g][hd_pad], V at o_v8 + [r][g][hd_pad] */
    V(QUANT, PERROW, g * hdw, K + g * hdw, KR + g * mb, hdw, mb, KH * hdw, KW, TERN_QSHIFT);
    V(QUANT, PERROW, e->o_v8 + g * hdw, Vv + g * hdw, KR + (KH + g) * mb, hdw, mb, KH * hdw, VW,
      TERN_QSHIFT);
  }
  /* K^T: one byte per (KV head, dim) into column t of KT[g] (OUT8 scatter) */
  for (int r = 0; r < mb; r++) {
    int t = T0 + r;
    if (e->kt_uni)
      cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_OUT8, r * KH * hdw * C, 1, KH * hp, 1,
                  e->kt[0] + (uint32_t)t, e->mem->ctx_pad);
    else
      for (int g = 0; g < KH; g++)
        cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_OUT8, (r * KH + g) * hdw * C, 1, hp, 1,
                    e->kt[g] + (uint32_t)t, e->mem->ctx_pad);
  }
  /* V rows */
  for (int g = 0; g < KH; g++)
    cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_OUT, e->o_v8 + g * hdw, KH * hdw, mb, hdw,
                e->v[g] + (uint32_t)T0 * (uint32_t)hp, hp);
  /* scales: read-modify-write of the DRAM words holding positions T0 .. T0+mb-1:
   * new = old + onehot_{t%C} * (A - old) */
  int OLD = e->a_scr, DIFF = OLD + 2 * KH;
  char nm[16];
  for (int w = T0 / C; w <= (T0 + mb - 1) / C; w++) {
    scale_dma(c, TERN_OP_LOAD, OLD, w);
    for (int t = imax(T0, w * C); t < imin(T0 + mb, (w + 1) * C); t++) {
      snprintf(nm, sizeof nm, "oh%d", t % C);
      V(SUB, VEC, DIFF, KA + (t - T0) * 2 * KH, OLD, 2 * KH, 1, 0, 0, 0);
      V(MULSHR, CONST, DIFF, DIFF, cc_const_addr(c, nm), 2 * KH, 1, 0, 0, 0);
      V(ADD, VEC, OLD, OLD, DIFF, 2 * KH, 1, 0, 0, 0);
    }
    scale_dma(c, TERN_OP_STORE, OLD, w);
  }
  return 0;
}

/* A9-A20 of heads g*G .. g*G+G-1 of token row r (block row; position T0 + r) */
static int emit_row(cc_ctx *c, int g, int buf, int r, int T0, int PB, int NWb, char *err,
                    size_t errlen) {
  attn_ext *e = ext_of(c);
  const int C = c->cfg->cols;
  int G = e->G, H = e->H, hdw = e->hdw, hp = e->hd_pad;
  int t = T0 + r, pb, pe;
  row_range(e, C, t, &pb, &pe);
  int nw = (pe - pb) / C, off = (pb - PB) / C;
  int AB = cc_acc_addr(c, e->taqs), SQ = AB + 2 * c->Mb * H;
  int ATT = cc_acc_addr(c, e->tatt) + r * c->t[e->tatt].words + g * G * hdw;
  int QQ = e->o_qq + r * H * hdw + g * G * hdw; /* int8 q of head g*G (OUT) */
  int KSR = e->a_scr + buf * 2 * e->NWU, VSR = KSR + e->NWU;
  int KB = e->o_kv + buf * 2 * hp * e->CW, VB = KB + hp * e->CW;
  int SC = e->a_scr + e->nbuf * 2 * e->NWU, T1 = SC + G * e->NWR, T2 = T1 + G * e->NWR;
  int T3 = T2 + G * e->NWR;
  int SM = T3 + G * e->NWR, MX = SM + G, SE = MX + G, SAW = SE + G, SRW = SAW + G, SG = SRW + G;
  int SH = SG + G;
  char m01[32], mneg[32];
  /* A9: dot_j = sum_i qq_i K^T[i][j] (MAC8 over the head dims, positions as lanes) */
  if (e->single) {
    for (int hi = 0; hi < G; hi++)
      cc_emit_mac8(c, SC + hi * nw, KB + off, QQ + hi * hdw, nw, hp, NWb, 0);
  } else {
    for (int k0 = 0; k0 < nw; k0 += e->CW) {
      int cw = imin(e->CW, nw - k0);
      cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, KB, cw, hp, cw,
                  e->kt[g] + (uint32_t)(pb + k0 * C), e->mem->ctx_pad);
      for (int hi = 0; hi < G; hi++)
        cc_emit_mac8(c, SC + hi * nw + k0, KB, QQ + hi * hdw, cw, hp, cw, 0);
    }
  }
  V(MULSHR, BCASTROW, SC, SC, KSR + off, nw, G, nw, nw, 12);        /* A10 * A_k[j] */
  V(MULSHR, PERROW, SC, SC, SQ + r * H + g * G, nw, G, nw, nw, 22); /* A11 * Sq */
  /* positions outside [j0, t] in the partial words: s = s*0 - 2^30 */
  int w[2], lo[2], hi[2], n = row_masks(e, C, t, w, lo, hi);
  for (int k = 0; k < n; k++) {
    mask_names(m01, mneg, sizeof m01, lo[k], hi[k]);
    V(MULSHR, CONST, SC + w[k], SC + w[k], cc_const_addr(c, m01), 1, G, nw, nw, 0);
    V(ADD, CONST, SC + w[k], SC + w[k], cc_const_addr(c, mneg), 1, G, nw, nw, 0);
  }
  V(RMAXABS, VEC, SM, SC, SC, nw, G, 1, nw, 0); /* S1 */
  V(ADD, PERROW, SC, SC, SM, nw, G, nw, nw, 0);  /* S2 */
  V(RMAXABS, VEC, MX, SC, SC, nw, G, 1, nw, 0); /* S3 */
  V(SUB, PERROW, SC, SC, MX, nw, G, nw, nw, 0);  /* S4 z */
  /* S5 (coarse table) and S6-S8 (fine table) in the order of the LUT's content */
  int hi_first = e->lut != LUT_LO;
  if (hi_first) {
    if (lutld(c, LUT_HI, err, errlen)) return -1;
    V(LUT, VEC, T1, SC, SC, nw, G, nw, nw, 10); /* S5 hi */
  }
  V(SUB, CONST, T2, SC, cc_const_addr(c, "c512"), nw, G, nw, nw, 0);  /* S6 */
  V(MULSHR, CONST, T2, T2, cc_const_addr(c, "c1"), nw, G, nw, nw, 10); /* zc = floor(z/1024) */
  V(MULSHR, CONST, T2, T2, cc_const_addr(c, "c1024"), nw, G, nw, nw, 0); /* S7 */
  V(SUB, VEC, T3, SC, T2, nw, G, nw, nw, 0);                          /* f = z mod 1024 */
  V(SUB, CONST, T3, T3, cc_const_addr(c, "c512"), nw, G, nw, nw, 0);   /* S8 */
  if (lutld(c, LUT_LO, err, errlen)) return -1;
  V(LUT, VEC, T2, T3, T3, nw, G, nw, nw, 2); /* lo */
  if (!hi_first) {
    if (lutld(c, LUT_HI, err, errlen)) return -1;
    V(LUT, VEC, T1, SC, SC, nw, G, nw, nw, 10); /* S5 hi */
  }
  V(MULSHR, VEC, T1, T1, T2, nw, G, nw, nw, TERN_TFM_EXP_HI_FRAC);       /* S9 e */
  V(RSUM, VEC, SE, T1, T1, nw, G, 1, nw, 0);                             /* S10 E */
  V(MULSHR, BCASTROW, T1, T1, VSR + off, nw, G, nw, nw, TERN_TFM_EXP_FRAC); /* A13 w */
  V(RMAXABS, VEC, SAW, T1, T1, nw, G, 1, nw, 0);                         /* A14 */
  V(MAX, CONST, SAW, SAW, cc_const_addr(c, "amin"), G, 1, 0, 0, 0);
  V(RECIP, CONST, SRW, SAW, cc_const_addr(c, "c127"), 1, G, 1, 1, TERN_QSHIFT); /* A15 */
  V(QUANT, PERROW, e->o_qw, T1, SRW, nw, G, nw, nw, TERN_QSHIFT);        /* A16 qw -> OUT */
  V(RECIP, CONST, SG, SE, cc_const_addr(c, "c1"), 1, G, 1, 1, 46);       /* A17 */
  V(MULSHR, CONST, SH, SAW, cc_const_addr(c, "pvc"), G, 1, 0, 0, 6);     /* A18 */
  V(MULSHR, VEC, SH, SH, SG, G, 1, 0, 0, 30);
  /* A19: o_e = sum_j qw_j V[j][e] (MAC8 over positions, head dims as lanes) */
  if (e->single) {
    for (int hi2 = 0; hi2 < G; hi2++)
      cc_emit_mac8(c, ATT + hi2 * hdw, VB + off * C * hdw, e->o_qw + hi2 * nw, hdw, nw * C,
                   hdw, 0);
  } else {
    for (int k0 = 0; k0 < nw; k0 += e->CW) {
      int cw = imin(e->CW, nw - k0);
      cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, VB, hdw, cw * C, hdw,
                  e->v[g] + (uint32_t)(pb + k0 * C) * (uint32_t)hp, hp);
      for (int hi2 = 0; hi2 < G; hi2++)
        cc_emit_mac8(c, ATT + hi2 * hdw, VB, e->o_qw + hi2 * nw + k0, hdw, cw * C, hdw,
                     k0 ? 1 : 0);
    }
  }
  V(MULSHR, PERROW, ATT, ATT, SH, hdw, G, hdw, hdw, 25); /* A20 */
  return 0;
}

/* scale rows (and single mode: K^T, V rows) of KV head g for positions [PB, PB + NWb*C) */
static void load_group(cc_ctx *c, int g, int PB, int NWb) {
  const attn_ext *e = ext_of(c);
  const int C = c->cfg->cols;
  int buf = g % e->nbuf, hp = e->hd_pad, hdw = e->hdw;
  int KSR = e->a_scr + buf * 2 * e->NWU, VSR = KSR + e->NWU;
  int KB = e->o_kv + buf * 2 * hp * e->CW, VB = KB + hp * e->CW;
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, KSR, 0, 1, NWb, e->ks[g] + (uint32_t)PB * 4, 0);
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, VSR, 0, 1, NWb, e->vs[g] + (uint32_t)PB * 4, 0);
  if (!e->single) return;
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, KB, NWb, hp, NWb, e->kt[g] + (uint32_t)PB,
              e->mem->ctx_pad);
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, VB, hdw, NWb * C, hdw,
              e->v[g] + (uint32_t)PB * (uint32_t)hp, hp);
}

static int emit_attn(cc_ctx *c, int m0, int mb, char *err, size_t errlen) {
  attn_ext *e = ext_of(c);
  const int C = c->cfg->cols;
  int H = e->H, hdw = e->hdw;
  int Q = cc_acc_addr(c, e->tq), QW = c->t[e->tq].words;
  int ATT = cc_acc_addr(c, e->tatt), AW = c->t[e->tatt].words;
  int AQ = cc_acc_addr(c, e->taqs), RQ = AQ + c->Mb * H, SQ = RQ + c->Mb * H;
  int T0 = e->pos + m0;
  if (emit_kv(c, m0, mb, err, errlen)) return -1;
  /* A7: quant_row of every (row, head) of q -> OUT o_qq [r][h][hd_pad]; A8 Sq */
  if (QW == H * hdw) {
    V(RMAXABS, VEC, AQ, Q, Q, hdw, mb * H, 1, hdw, 0);
    V(MAX, CONST, AQ, AQ, cc_const_addr(c, "amin"), mb * H, 1, 0, 0, 0);
    V(RECIP, CONST, RQ, AQ, cc_const_addr(c, "c127"), 1, mb * H, 1, 1, TERN_QSHIFT);
    V(QUANT, PERROW, e->o_qq, Q, RQ, hdw, mb * H, hdw, hdw, TERN_QSHIFT);
  } else {
    for (int h = 0; h < H; h++)
      V(RMAXABS, VEC, AQ + h, Q + h * hdw, Q + h * hdw, hdw, mb, H, QW, 0);
    V(MAX, CONST, AQ, AQ, cc_const_addr(c, "amin"), mb * H, 1, 0, 0, 0);
    for (int h = 0; h < H; h++) {
      V(RECIP, CONST, RQ + h * mb, AQ + h, cc_const_addr(c, "c127"), 1, mb, 1, H, TERN_QSHIFT);
      V(QUANT, PERROW, e->o_qq + h * hdw, Q + h * hdw, RQ + h * mb, hdw, mb, H * hdw, QW,
        TERN_QSHIFT);
    }
  }
  V(MULSHR, CONST, SQ, AQ, cc_const_addr(c, "attc"), mb * H, 1, 0, 0, 14);
  if (AW > H * hdw) /* lanes past the heads (padding to lcm(R, C)): no MAC8 writes them */
    V(MULSHR, CONST, ATT + H * hdw, ATT + H * hdw, cc_const_addr(c, "zero"), AW - H * hdw, mb, AW,
      AW, 0);
  int PB, PE;
  block_range(e, C, m0, mb, &PB, &PE);
  int NWb = (PE - PB) / C;
  /* per KV head: its K / V scale rows (ACC) and, in single mode, its K^T and V
   * rows of the block's positions (OUT); with two buffers the loads of the next
   * KV head are emitted before this one's compute, so they overlap it */
  load_group(c, 0, PB, NWb);
  for (int g = 0; g < e->KH; g++) {
    if (e->nbuf > 1 && g + 1 < e->KH) load_group(c, g + 1, PB, NWb);
    for (int r = 0; r < mb; r++)
      if (emit_row(c, g, g % e->nbuf, r, T0, PB, NWb, err, errlen)) return -1;
    if (e->nbuf == 1 && g + 1 < e->KH) load_group(c, g + 1, PB, NWb);
  }
  if (e->sub_ln) { /* L1-L3 of the LayerNorm SubLN; padding lanes back to 0 */
    int S1 = cc_acc_addr(c, e->ts1), MU = cc_acc_addr(c, e->tmu);
    V(RSUM, VEC, S1, ATT, ATT, AW, mb, 1, AW, 0);
    V(MULSHR, CONST, MU, S1, cc_const_addr(c, "att.inv_n"), 1, mb, 1, 1, 30);
    V(SUB, PERROW, ATT, ATT, MU, AW, mb, AW, AW, 0);
    V(MULSHR, BCASTROW, ATT, ATT, cc_const_addr(c, "att.mask"), AW, mb, AW, AW, 0);
  }
  return 0;
}

/* the attention half's own op kind for cc_tfm_emit_blocks (1: not mine) */
static int attn_own_op(cc_ctx *c, const cc_op *op, int m0, int mb, char *err, size_t errlen) {
  return op->kind == CC_OP_ATTN ? emit_attn(c, m0, mb, err, errlen) : 1;
}

static int attn_emit(cc_ctx *c, char *err, size_t errlen) {
  ext_of(c)->lut = LUT_NONE;
  return cc_tfm_emit_blocks(c, -1, attn_own_op, err, errlen);
}

/* ---- driver ------------------------------------------------------------------------------ */

static int check_inputs(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                        const tern_tfm_prog_spec *s, const tern_hwcfg *cfg, char *err,
                        size_t errlen) {
  if (!q || !q->block || !q->m) return tern_err(err, errlen, "compile: model is NULL or not quantised");
  if (!mem) return tern_err(err, errlen, "compile: attention: memory plan is NULL (tern_tfm_mem_plan)");
  if (!s) return tern_err(err, errlen, "compile: attention: program spec is NULL");
  if (!cfg) return tern_err(err, errlen, "compile: hardware config is NULL");
  const tern_tfm_config *tc = &q->cfg;
  int passes = tc->layers * tc->repeat, C = cfg->cols;
  if (s->kind != TERN_TFM_PROG_ATTN)
    return tern_err(err, errlen, "compile: attention: spec kind = %d, expected %d (ATTN)",
                    (int)s->kind, (int)TERN_TFM_PROG_ATTN);
  if (s->pass < 0 || s->pass >= passes)
    return tern_err(err, errlen, "compile: attention: spec pass = %d, expected 0 .. %d (layers * repeat = %d)",
                    s->pass, passes - 1, passes);
  if (s->block != s->pass / tc->repeat)
    return tern_err(err, errlen, "compile: attention: spec block = %d, expected pass / repeat = %d",
                    s->block, s->pass / tc->repeat);
  if (s->M < 1 || s->M > mem->rows)
    return tern_err(err, errlen, "compile: attention: spec M = %d, expected 1 .. %d (the memory plan's rows)",
                    s->M, mem->rows);
  if (s->pos < 0 || s->pos > mem->ctx - s->M)
    return tern_err(err, errlen,
                    "compile: attention: spec pos = %d with M = %d, expected 0 <= pos and pos + M "
                    "<= %d (the memory plan's ctx)",
                    s->pos, s->M, mem->ctx);
  if (tc->head_dim < 2 || tc->head_dim % 2)
    return tern_err(err, errlen, "compile: attention: head_dim = %d, expected an even number >= 2 "
                    "(rotate-half RoPE pairs i, i + head_dim/2)", tc->head_dim);
  if (tc->kv_heads < 1 || tc->heads % tc->kv_heads)
    return tern_err(err, errlen, "compile: attention: heads = %d, kv_heads = %d, expected kv_heads "
                    "dividing heads", tc->heads, tc->kv_heads);
  if (mem->passes != passes)
    return tern_err(err, errlen, "compile: attention: memory plan passes = %d, expected %d (layers * repeat)",
                    mem->passes, passes);
  if (mem->hd_pad != cc_tfm_hd_pad(tc->head_dim, C))
    return tern_err(err, errlen, "compile: attention: memory plan hd_pad = %d, expected %d "
                    "(head_dim %d in halves padded to %d lanes)", mem->hd_pad,
                    cc_tfm_hd_pad(tc->head_dim, C), tc->head_dim, C);
  if (mem->ctx_pad % C || mem->ctx_pad < mem->ctx || mem->ctx_pad > 65535)
    return tern_err(err, errlen, "compile: attention: memory plan ctx_pad = %d, expected a multiple "
                    "of %d, >= ctx = %d and <= 65535 (DRAM_STRIDE of the K^T rows)", mem->ctx_pad,
                    C, mem->ctx);
  uint64_t kt = (uint64_t)mem->hd_pad * (uint64_t)mem->ctx_pad, ks = (uint64_t)mem->ctx_pad * 4;
  if (mem->kt_bytes < kt || mem->v_bytes < kt || mem->ks_bytes < ks || mem->vs_bytes < ks)
    return tern_err(err, errlen, "compile: attention: memory plan kt/v/ks/vs_bytes = %u/%u/%u/%u, "
                    "expected >= %llu/%llu/%llu/%llu", mem->kt_bytes, mem->v_bytes, mem->ks_bytes,
                    mem->vs_bytes, (unsigned long long)kt, (unsigned long long)kt,
                    (unsigned long long)ks, (unsigned long long)ks);
  return 0;
}

int cc_compile_tfm_attn(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                        const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                        const tern_compile_opts *opts, tern_program *out, char *err,
                        size_t errlen) {
  static const cc_pass ps[] = {
      {"build", attn_build, cc_dump_build},  {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", attn_tile, attn_dump_tile},   {"alloc", attn_alloc, cc_dump_alloc},
      {"emit", attn_emit, cc_dump_prog},     {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  if (!out) return tern_err(err, errlen, "compile: output program is NULL");
  tern_program_init(out);
  if (check_inputs(q, mem, s, cfg, err, errlen)) return -1;
  tern_compile_opts o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  o.tokens = s->M;
  cc_ctx c;
  if (cc_compile_common(&c, cfg, &o, out, err, errlen)) return -1;
  const tern_tfm_config *tc = &q->cfg;
  attn_ext e;
  memset(&e, 0, sizeof e);
  e.q = q;
  e.B = &q->block[s->block];
  e.mem = mem;
  e.pass = s->pass;
  e.pos = s->pos;
  e.M = s->M;
  e.H = tc->heads;
  e.KH = tc->kv_heads;
  e.G = tc->heads / tc->kv_heads;
  e.hd = tc->head_dim;
  e.hd_pad = mem->hd_pad;
  e.hdw = e.hd_pad / cfg->cols;
  e.hw = e.hdw / 2;
  e.window = tc->window;
  int rc = -1;
  int half = e.hd / 2, hp = e.hd_pad, KH = e.KH;
  int32_t *cs = malloc((size_t)(s->pos + s->M) * (size_t)half * sizeof(int32_t));
  int32_t *sn = malloc((size_t)(s->pos + s->M) * (size_t)half * sizeof(int32_t));
  e.rope = calloc((size_t)s->M * (size_t)hp, sizeof(int32_t));
  e.kt = malloc(4 * (size_t)KH * sizeof(uint32_t));
  if (!cs || !sn || !e.rope || !e.kt) {
    tern_err(err, errlen, "compile: attention: out of memory");
    goto done;
  }
  e.v = e.kt + KH;
  e.ks = e.v + KH;
  e.vs = e.ks + KH;
  /* RoPE rows of the step's positions: the reference's table (same function) */
  tern_tfm_rope_table(tc->rope_theta, e.hd, s->pos + s->M, cs, sn);
  for (int r = 0; r < s->M; r++)
    for (int i = 0; i < half; i++) {
      size_t k = (size_t)(s->pos + r) * (size_t)half + (size_t)i;
      e.rope[(size_t)r * hp + i] = cs[k];
      e.rope[(size_t)r * hp + hp / 2 + i] = sn[k];
    }
  for (int g = 0; g < KH; g++) tern_tfm_kv_addrs(mem, s->pass, g, &e.kt[g], &e.v[g], &e.ks[g], &e.vs[g]);
  e.kt_uni = 1;
  for (int g = 0; g < KH; g++)
    e.kt_uni &= e.kt[g] == e.kt[0] + (uint32_t)g * (uint32_t)hp * (uint32_t)mem->ctx_pad;
  e.sc_stride = KH > 1 ? e.ks[1] - e.ks[0] : e.vs[0] - e.ks[0];
  e.sc_uni = e.sc_stride <= 65535;
  for (int j = 0; j < 2 * KH; j++)
    e.sc_uni &= (j < KH ? e.ks[j] : e.vs[j - KH]) == e.ks[0] + (uint32_t)j * e.sc_stride;
  c.ext = &e;
  c.consts_fn = attn_consts;
  c.mem = mem;
  c.wres = &s->wres;
  rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), &o, err, errlen);
done:
  free(cs);
  free(sn);
  free(e.rope);
  free(e.kt);
  for (int l = 0; l < 4; l++) free(e.codes[l]);
  free(e.sub.g_q);
  free(e.sub.b_q);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}
