/* Pass "pad": every activation width and both matrix dimensions are padded
 * to a multiple of lcm(rows, cols).  Padded weights are zero codes, padded
 * gains are zero (alloc packs them), so every sum, max and product of the
 * integer sequence is unchanged (docs/NUMERICS.md "Padding"). */
#include "cc_internal.h"

int cc_pass_pad(cc_ctx *c, char *err, size_t errlen) {
  const tern_hwcfg *h = c->cfg;
  if (h->rows < 1 || h->cols < 1) {
    tern_err(err, errlen, "compile: hwcfg rows = %d, cols = %d, expected >= 1", h->rows, h->cols);
    return -1;
  }
  c->unit = cc_lcm(h->rows, h->cols);
  for (int i = 0; i < c->nt; i++) {
    cc_tensor *t = &c->t[i];
    t->cols_pad = t->kind == CC_T_SCALAR ? 1 : cc_round_up(t->cols, c->unit);
  }
  for (int i = 0; i < c->nmat; i++) {
    cc_matrix *m = &c->mat[i];
    m->K_pad = cc_round_up(m->K, c->unit);
    m->N_pad = cc_round_up(m->N, c->unit);
    m->kt = m->K_pad / h->rows;
    m->nt = m->N_pad / h->cols;
  }
  c->d_pad = c->d ? cc_round_up(c->d, c->unit) : 0;
  return 0;
}
