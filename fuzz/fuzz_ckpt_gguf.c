/* GGUF checkpoints (models/ckpt_gguf.c, ckpt_tfm.c, ckpt_rnn.c, ckpt_tok.c):
 * the input is one .gguf file (tern, llama, bitnet architectures; tensors
 * I2_S / TQ1_0 / TQ2_0 / F32 / F16 / BF16 / Q8_0; an embedded SentencePiece
 * or BPE vocabulary), loaded as fuzz_ckpt.h says. */
#include "fuzz_ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600];
  fz_file("m.gguf", data, size, path, sizeof path);
  fz_ckpt_load(path);
  return 0;
}
