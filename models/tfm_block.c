/* Block-alone models and the EMBED / HEAD integer references
 * (include/tern/tfm_int.h, last section).  The references are the E1 and
 * H1-H5 steps of tern_tfm_iprefill (models/tfm_int.c) as functions of their
 * own, for the compiler's EMBED and HEAD programs; the full-step test checks
 * the programs against tern_tfm_iprefill itself. */
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/tfm_int.h"

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
  for (int i = all_logits ? 0 : M - 1; i < M; i++) {
    /* H1 */ tern_tfm_norm_int(&q->final_norm, x + (size_t)i * d, h);
    /* H2 */ int32_t A = tern_tfm_quant_row(h, d, qb);
    /* H3 */ int32_t Dh = tern_v_mulshr(A, q->head_dq_c, 12);
    int32_t *lo = logits + (all_logits ? (size_t)i * (size_t)c->vocab : 0);
    for (int v = 0; v < c->vocab; v++) {
      /* H4 */ int32_t dot = tern_v_dot8(qb, 1, W + (size_t)v * (size_t)d, 1, (size_t)d);
      /* H5 */ lo[v] = tern_v_mulshr(tern_v_mulshr(dot, q->head_c[v], 16), Dh, 30);
    }
  }
  free(h);
  free(qb);
  return 0;
}

int tern_tfm_block_model_new(const tern_tfm_config *cfg, int b, tern_tfm_block_model *out,
                             char *err, size_t errlen) {
  if (!cfg || !out) return tern_err(err, errlen, "tern_tfm_block_model_new: null argument");
  memset(out, 0, sizeof *out);
  if (tern_tfm_check(cfg, cfg->name, err, errlen)) return -1;
  if (b < 0 || b >= cfg->layers)
    return tern_err(err, errlen, "block %d: expected 0..%d (field 'layers' is %d)", b,
                    cfg->layers - 1, cfg->layers);
  tern_tfm_config c1 = *cfg;
  c1.layers = 1;
  c1.repeat = 1;
  if (c1.vocab > 256) c1.vocab = 256;
  out->block = b;
  out->full = *cfg;
  /* embedding, final norm, the shared FFN (its streams do not depend on the
   * layer count) and block 0 */
  if (tern_tfm_generate(&c1, &out->m, 0, err, errlen)) return -1;
  if (b != 0) {
    tern_tfm_block_free(&out->m.block[0]);
    if (tern_tfm_generate_block(cfg, b, &out->m.block[0], err, errlen)) {
      tern_tfm_free(&out->m);
      return -1;
    }
    out->m.block[0].ffn = cfg->share_ffn ? &out->m.shared_ffn : &out->m.block[0].own_ffn;
  }
  if (tern_tfm_quantize(&out->m, &out->q, err, errlen)) {
    tern_tfm_free(&out->m);
    return -1;
  }
  return 0;
}

void tern_tfm_block_model_free(tern_tfm_block_model *bm) {
  if (!bm) return;
  tern_tfm_qmodel_free(&bm->q);
  tern_tfm_free(&bm->m);
  memset(bm, 0, sizeof *bm);
}
