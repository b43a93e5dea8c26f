/* The checkpoint loaders behind fuzz_ckpt_st.c and fuzz_ckpt_gguf.c
 * (models/ckpt_*.c, include/tern/ckpt.h): the family the checkpoint's tern
 * description names picks tern_rnn_ckpt_load or tern_tfm_ckpt_load (the
 * transformer loader also when there is none: it maps Hugging Face / llama.cpp
 * fields); a model that loads gets its tokenizer (tern_ckpt_tokenizer: the
 * GGUF vocabulary, tokenizer.json, or bytes), which encodes and decodes a
 * short text.  Every step succeeds or fails with a message. */
#ifndef TERN_FUZZ_CKPT_H
#define TERN_FUZZ_CKPT_H

#include "fuzz.h"
#include "tern/ckpt.h"
#include "tern/rnn.h"
#include "tern/tfm.h"
#include "tern/tokenizer.h"

static inline void fz_ckpt_load(const char *path) {
  char err[FZ_ERRLEN] = "", fam[16] = "";
  int frc = tern_ckpt_family(path, fam, sizeof fam, err, sizeof err);
  fz_expect_rc(frc, err, "tern_ckpt_family");
  int vocab = 0;
  err[0] = 0;
  if (frc == 0 && !strcmp(fam, "recurrent")) {
    tern_rnn_model m;
    int rc = tern_rnn_ckpt_load(path, &m, NULL, err, sizeof err);
    fz_expect_rc(rc, err, "tern_rnn_ckpt_load");
    if (rc) return;
    vocab = m.cfg.vocab;
    tern_rnn_free(&m);
  } else {
    tern_tfm_model m;
    int rc = tern_tfm_ckpt_load(path, &m, NULL, err, sizeof err);
    fz_expect_rc(rc, err, "tern_tfm_ckpt_load");
    if (rc) return;
    vocab = m.cfg.vocab;
    tern_tfm_free(&m);
  }
  err[0] = 0;
  tern_tok *t = tern_ckpt_tokenizer(path, vocab, err, sizeof err);
  fz_expect_ptr(t, err, "tern_ckpt_tokenizer");
  if (!t) return;
  static const char text[] = "Hello, world! <s> 12 \xe2\x96\x81x \xff";
  int ids[256];
  err[0] = 0;
  int n = tern_tok_encode(t, text, sizeof text - 1, 0, ids, 256, err, sizeof err);
  if (n < 0 && !err[0]) fz_fail("tern_tok_encode failed without a message");
  if (n >= 0) {
    char out[1024];
    err[0] = 0;
    if (tern_tok_decode(t, ids, n, out, sizeof out, err, sizeof err) < 0)
      fz_fail("ids from tern_tok_encode do not decode: %s", err);
  }
  tern_tok_free(t);
}

#endif
