/* Hugging Face tokenizer.json (models/tokenizer_hf.c over Jansson; BPE
 * model, ByteLevel / Metaspace / Split pre-tokenizers through PCRE2, added
 * and special tokens, byte fallback) and the tokenizer itself
 * (models/tokenizer*.c: special-token matching, the merge loops, decode).
 * Parts (fuzz.h FZ_SEP): tokenizer.json, then the text to encode (a fixed
 * text when absent).  A tokenizer that loads encodes the text with and
 * without special tokens and BOS; the ids decode, and split agrees with
 * encode on success. */
#include "fuzz.h"
#include "tern/tokenizer.h"

static int count_unit(void *ctx, const char *piece, size_t len, int id) {
  (void)piece, (void)len, (void)id;
  ++*(int *)ctx;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[2];
  size_t len[2];
  int np = fz_split(data, size, part, len, 2);
  static const char dflt[] = "Hello world, it's 2026!  <|endoftext|> caf\xc3\xa9 \xe2\x96\x81 \xff\xfe";
  const char *text = np > 1 ? (const char *)part[1] : dflt;
  size_t tlen = np > 1 ? len[1] : sizeof dflt - 1;
  char err[FZ_ERRLEN] = "";
  tern_tok *t = tern_tok_parse_hf((const char *)part[0], len[0], "fuzz.json", err, sizeof err);
  fz_expect_ptr(t, err, "tern_tok_parse_hf");
  if (!t) return 0;
  static int ids[1 << 16];
  static char out[1 << 18];
  for (int flags = 0; flags < 4; flags++) {
    err[0] = 0;
    int n = tern_tok_encode(t, text, tlen, flags, ids, 1 << 16, err, sizeof err);
    if (n < 0) {
      if (!err[0]) fz_fail("tern_tok_encode (flags %d) failed without a message", flags);
      continue;
    }
    for (int i = 0; i < n; i++)
      if (ids[i] < 0 || ids[i] >= tern_tok_vocab(t)) fz_fail("id %d outside the vocabulary", ids[i]);
    err[0] = 0;
    if (tern_tok_decode(t, ids, n, out, sizeof out, err, sizeof err) < 0)
      fz_fail("ids from tern_tok_encode do not decode: %s", err);
    int units = 0;
    err[0] = 0;
    if (tern_tok_split(t, text, tlen, flags & TERN_TOK_PARSE_SPECIAL, count_unit, &units, err, sizeof err) < 0)
      fz_fail("tern_tok_split fails where tern_tok_encode succeeds: %s", err);
  }
  for (int id = 0; id < tern_tok_vocab(t) && id < 4096; id++) {
    err[0] = 0;
    if (tern_tok_piece(t, id, out, sizeof out, err, sizeof err) < 0) fz_fail("piece %d: %s", id, err);
  }
  tern_tok_free(t);
  return 0;
}
