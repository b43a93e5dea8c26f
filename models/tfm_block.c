/* Block-alone models (include/tern/tfm_int.h, last section): one block of a
 * preset with the embedding, final norm and shared FFN, for tests that must
 * not generate a whole billion-parameter model. */
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/tfm_int.h"

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
