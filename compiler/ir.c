/* Graph IR of the compiler: named tensors with shapes and a list of ops
 * (NORM_QUANT, QUANT, LINEAR, ACT, ADD).  The MLP graph is built from a
 * quantised model (tern_qmlp); the ops are generic enough to express
 * transformer / recurrent blocks later (attention would add ops, not
 * change these).  Pass "build". */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"


int cc_round_up(int v, int m) { return (v + m - 1) / m * m; }

static int gcd(int a, int b) {
  while (b) {
    int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

int cc_lcm(int a, int b) { return a / gcd(a, b) * b; }

int cc_ilog2(int v) {
  int l = 0;
  while ((v >> (l + 1)) > 0) l++;
  return l;
}

static void *grow(void *p, int *cap, int need, size_t elt) {
  if (need <= *cap) return p;
  int nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void *q = realloc(p, (size_t)nc * elt);
  if (!q) abort();
  memset((char *)q + (size_t)*cap * elt, 0, (size_t)(nc - *cap) * elt);
  *cap = nc;
  return q;
}

int cc_add_tensor(cc_ctx *c, const char *name, cc_tkind kind, int cols) {
  c->t = grow(c->t, &c->capt, c->nt + 1, sizeof *c->t);
  cc_tensor *t = &c->t[c->nt];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->kind = kind;
  t->cols = cols;
  t->cols_pad = cols;
  t->first = t->last = -1;
  return c->nt++;
}

int cc_add_op(cc_ctx *c, const cc_op *op) {
  c->op = grow(c->op, &c->capop, c->nop + 1, sizeof *c->op);
  c->op[c->nop] = *op;
  return c->nop++;
}

int cc_add_matrix(cc_ctx *c, const char *name, const int8_t *codes, int K, int N) {
  c->mat = grow(c->mat, &c->capmat, c->nmat + 1, sizeof *c->mat);
  cc_matrix *m = &c->mat[c->nmat];
  memset(m, 0, sizeof *m);
  snprintf(m->name, sizeof m->name, "%s", name);
  m->codes = codes;
  m->K = K;
  m->N = N;
  m->K_pad = K;
  m->N_pad = N;
  return c->nmat++;
}

void cc_ctx_free(cc_ctx *c) {
  free(c->t);
  free(c->op);
  free(c->mat);
  free(c->chunk);
  for (int i = 0; i < c->ncst; i++) free(c->cst[i].lanes);
  free(c->cst);
  free(c->ins.v);
  memset(c, 0, sizeof *c);
}

/* in / out may be NULL with nin / nout 0 (the RNN mixer's conv and lru_h
 * steps read or write only the op's own state); memcpy's arguments must be
 * valid pointers even for 0 bytes (C11 7.24.1), so empty lists are not copied. */
void cc_op_io(cc_op *o, const int *in, int nin, const int *out, int nout, int ntemp) {
  if (nin > 0) memcpy(o->in, in, sizeof(int) * (size_t)nin);
  o->nin = nin;
  if (nout > 0) memcpy(o->out, out, sizeof(int) * (size_t)nout);
  o->nout = nout;
  o->ntemp = ntemp;
}

/* x -> [NORM_QUANT -> LINEAR(w1) -> ACT -> QUANT -> LINEAR(w2) -> ADD] x L */
int cc_pass_build_mlp(cc_ctx *c, char *err, size_t errlen) {
  const tern_qmlp *q = c->q;
  const tern_mlp_config *mc = &q->cfg;
  if (mc->d < 1 || mc->f < 1 || mc->layers < 1) {
    tern_err(err, errlen, "compile: model config d = %d, f = %d, layers = %d, expected all >= 1",
           mc->d, mc->f, mc->layers);
    return -1;
  }
  if (mc->act != TERN_ACT_RELU2 && mc->act != TERN_ACT_SILU) {
    tern_err(err, errlen, "compile: model config act = %d, expected 0 (relu2) or 1 (silu)",
           (int)mc->act);
    return -1;
  }
  c->d = mc->d;
  c->x = cc_add_tensor(c, "x", CC_T_I32, mc->d);
  char nm[TERN_NAME_LEN];
#define T(kind, cols, fmt) (snprintf(nm, sizeof nm, "l%d." fmt, l), cc_add_tensor(c, nm, kind, cols))
  for (int l = 0; l < mc->layers; l++) {
    const tern_qlayer *ql = &q->layer[l];
    const tern_qlinear *lins[2] = {&ql->l1, &ql->l2};
    int want[2][2] = {{mc->d, mc->f}, {mc->f, mc->d}};
    for (int i = 0; i < 2; i++) {
      if (!lins[i]->w || !lins[i]->w->w || lins[i]->w->k != want[i][0] ||
          lins[i]->w->n != want[i][1]) {
        tern_err(err, errlen, "compile: layer %d w%d shape %d x %d, expected %d x %d", l, i + 1,
               lins[i]->w ? lins[i]->w->k : -1, lins[i]->w ? lins[i]->w->n : -1, want[i][0],
               want[i][1]);
        return -1;
      }
    }
    if (!ql->norm.g_q) {
      tern_err(err, errlen, "compile: layer %d norm gains g_q missing", l);
      return -1;
    }
    int q1 = T(CC_T_I8, mc->d, "q1"), t1 = T(CC_T_SCALAR, 1, "T");
    int u = T(CC_T_I32, mc->d, "u"), s = T(CC_T_SCALAR, 1, "S"), r = T(CC_T_SCALAR, 1, "r");
    int a1 = T(CC_T_SCALAR, 1, "A1"), r1 = T(CC_T_SCALAR, 1, "R1");
    cc_op o;
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_NORM_QUANT;
    o.layer = l;
    o.norm = &ql->norm;
    snprintf(o.name, sizeof o.name, "l%d.norm", l);
    cc_op_io(&o, (int[]){c->x}, 1, (int[]){q1, t1, u, s, r, a1, r1}, 7, 5);
    cc_add_op(c, &o);

    snprintf(nm, sizeof nm, "l%d.w1", l);
    int m1 = cc_add_matrix(c, nm, ql->l1.w->w, mc->d, mc->f);
    int y1 = T(CC_T_I32, mc->f, "y1"), d1 = T(CC_T_SCALAR, 1, "D1");
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_LINEAR;
    o.layer = l;
    o.lin = &ql->l1;
    o.mat = m1;
    snprintf(o.name, sizeof o.name, "l%d.w1", l);
    cc_op_io(&o, (int[]){q1, t1}, 2, (int[]){y1, d1}, 2, 1);
    cc_add_op(c, &o);

    int h = T(CC_T_I32, mc->f, "h");
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_ACT;
    o.layer = l;
    o.act = mc->act;
    snprintf(o.name, sizeof o.name, "l%d.act", l);
    cc_op_io(&o, (int[]){y1}, 1, (int[]){h}, 1, 0);
    cc_add_op(c, &o);

    int q2 = T(CC_T_I8, mc->f, "q2"), a2 = T(CC_T_SCALAR, 1, "A2"), r2 = T(CC_T_SCALAR, 1, "R2");
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_QUANT;
    o.layer = l;
    snprintf(o.name, sizeof o.name, "l%d.quant", l);
    cc_op_io(&o, (int[]){h}, 1, (int[]){q2, a2, r2}, 3, 1);
    cc_add_op(c, &o);

    snprintf(nm, sizeof nm, "l%d.w2", l);
    int m2 = cc_add_matrix(c, nm, ql->l2.w->w, mc->f, mc->d);
    int y2 = T(CC_T_I32, mc->d, "y2"), d2 = T(CC_T_SCALAR, 1, "D2");
    memset(&o, 0, sizeof o);
    o.kind = CC_OP_LINEAR;
    o.layer = l;
    o.lin = &ql->l2;
    o.mat = m2;
    snprintf(o.name, sizeof o.name, "l%d.w2", l);
    cc_op_io(&o, (int[]){q2, a2}, 2, (int[]){y2, d2}, 2, 1);
    cc_add_op(c, &o);

    memset(&o, 0, sizeof o);
    o.kind = CC_OP_ADD;
    o.layer = l;
    snprintf(o.name, sizeof o.name, "l%d.add", l);
    cc_op_io(&o, (int[]){c->x, y2}, 2, (int[]){c->x}, 1, 0);
    cc_add_op(c, &o);
  }
#undef T
  return 0;
}

static const char *kind_name(cc_tkind k) {
  switch (k) {
    case CC_T_I32: return "i32";
    case CC_T_I8: return "i8";
    case CC_T_SCALAR: return "scalar";
  }
  return "?";
}

static const char *op_name(cc_opkind k) {
  switch (k) {
    case CC_OP_NORM_QUANT: return "NORM_QUANT";
    case CC_OP_QUANT: return "QUANT";
    case CC_OP_LINEAR: return "LINEAR";
    case CC_OP_ACT: return "ACT";
    case CC_OP_ADD: return "ADD";
    case CC_OP_TNORM: return "TNORM";
    case CC_OP_FFN_ACT: return "FFN_ACT";
    case CC_OP_ATTN: return "ATTN";
    case CC_OP_RNN: return "RNN";
  }
  return "?";
}

void cc_dump_ir(const cc_ctx *c, FILE *f, const char *title) {
  fprintf(f, "# IR after %s: %d tensors, %d ops, %d matrices, M = %d tokens\n", title, c->nt,
          c->nop, c->nmat, c->M);
  for (int i = 0; i < c->nt; i++) {
    const cc_tensor *t = &c->t[i];
    fprintf(f, "tensor %-10s %-6s [%d x %d]", t->name, kind_name(t->kind), c->M, t->cols);
    if (t->cols_pad != t->cols) fprintf(f, " pad %d", t->cols_pad);
    fprintf(f, "\n");
  }
  for (int i = 0; i < c->nmat; i++) {
    const cc_matrix *m = &c->mat[i];
    fprintf(f, "matrix %-10s ternary [%d x %d]", m->name, m->K, m->N);
    if (m->K_pad != m->K || m->N_pad != m->N) fprintf(f, " pad %d x %d", m->K_pad, m->N_pad);
    fprintf(f, "\n");
  }
  for (int i = 0; i < c->nop; i++) {
    const cc_op *o = &c->op[i];
    fprintf(f, "op %3d %-10s %-10s in(", i, op_name(o->kind), o->name);
    for (int j = 0; j < o->nin; j++) fprintf(f, "%s%s", j ? ", " : "", c->t[o->in[j]].name);
    fprintf(f, ") out(");
    for (int j = 0; j < o->nout - o->ntemp; j++)
      fprintf(f, "%s%s", j ? ", " : "", c->t[o->out[j]].name);
    fprintf(f, ")");
    if (o->ntemp) {
      fprintf(f, " temp(");
      for (int j = o->nout - o->ntemp; j < o->nout; j++)
        fprintf(f, "%s%s", j > o->nout - o->ntemp ? ", " : "", c->t[o->out[j]].name);
      fprintf(f, ")");
    }
    if (o->kind == CC_OP_LINEAR && o->lin)
      fprintf(f, " w=%s beta_c=%d s_d=%d s_out=%d", c->mat[o->mat].name, o->lin->beta_c,
              o->lin->s_d, o->lin->s_out);
    if (o->kind == CC_OP_ACT) fprintf(f, " act=%s", o->act == TERN_ACT_SILU ? "silu" : "relu2");
    if (o->kind == CC_OP_NORM_QUANT && o->norm)
      fprintf(f, " ss_shift=%d eps_c=%d rs_num=%d rs_shift=%d t1_shift=%d g_frac=%d",
              o->norm->ss_shift, o->norm->eps_c, o->norm->rs_num, o->norm->rs_shift,
              o->norm->t1_shift, o->norm->g_frac);
    fprintf(f, "\n");
  }
}
