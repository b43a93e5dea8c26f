/* safetensors checkpoints (models/ckpt_st.c, ckpt_tfm.c, ckpt_rnn.c,
 * ckpt_tok.c): a directory with config.json, model.safetensors and
 * optionally tokenizer.json, given as the parts (fuzz.h FZ_SEP) config.json,
 * model.safetensors[, tokenizer.json]; loaded as fuzz_ckpt.h says. */
#include "fuzz_ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[3];
  size_t len[3];
  int np = fz_split(data, size, part, len, 3);
  char path[600], dir[600];
  fz_file("ck/config.json", part[0], len[0], path, sizeof path);
  if (np > 1) fz_file("ck/model.safetensors", part[1], len[1], path, sizeof path);
  if (np > 2) fz_file("ck/tokenizer.json", part[2], len[2], path, sizeof path);
  snprintf(dir, sizeof dir, "%s/ck", fz_dir());
  fz_ckpt_load(dir);
  fz_clear();
  return 0;
}
