/* The tokenizer of a checkpoint (include/tern/ckpt.h tern_ckpt_tokenizer):
 * the vocabulary a GGUF file embeds (tokenizer.ggml.*), a Hugging Face
 * tokenizer.json beside a safetensors checkpoint's config.json, or bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt_internal.h"
#include "tern/err.h"
#include "tern/gguf.h"
#include "tern/tokenizer.h"

/* optional id key: absent -> -1 */
static int opt_id(const tern_gguf *g, const char *key, int *id, char *err, size_t errlen) {
  *id = -1;
  if (!tern_gguf_find_kv(g, key)) return 0;
  uint32_t v;
  if (tern_gguf_get_u32(g, key, &v, err, errlen)) return -1;
  *id = v > (uint32_t)INT32_MAX ? -2 : (int)v;
  return 0;
}

/* tokenizer.ggml.model llama (SentencePiece) or gpt2 (byte-level BPE):
 * llama.cpp's keys (gguf-py/gguf/constants.py Keys.Tokenizer). */
static tern_tok *gguf_tok(const char *path, int vocab, char *err, size_t errlen) {
  tern_gguf *g = tern_gguf_open(path, err, errlen);
  if (!g) return NULL;
  tern_tok *t = NULL;
  const char **piece = NULL, **merge = NULL;
  size_t *len = NULL, *mlen = NULL;
  float *score = NULL;
  int32_t *type = NULL;
  tern_gguf_str model;
  if (!tern_gguf_find_kv(g, "tokenizer.ggml.model")) {
    t = tern_tok_new_bytes();
    if (!t) tern_err(err, errlen, "out of memory");
    goto done;
  }
  if (tern_gguf_get_str(g, "tokenizer.ggml.model", &model, err, errlen)) goto done;
  int spm = model.len == 5 && !memcmp(model.ptr, "llama", 5);
  int bpe = model.len == 4 && !memcmp(model.ptr, "gpt2", 4);
  if (!spm && !bpe) {
    tern_err(err, errlen, "%s: key 'tokenizer.ggml.model' is '%.*s', expected llama "
             "(SentencePiece) or gpt2 (byte-level BPE)", path, (int)(model.len < 40 ? model.len : 40),
             model.ptr);
    goto done;
  }
  int et;
  uint64_t n;
  if (tern_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, err, errlen)) goto done;
  if (et != TERN_GGUF_STRING || n < 1 || n > (uint64_t)vocab) {
    tern_err(err, errlen, "%s: key 'tokenizer.ggml.tokens' has %llu %s elements, expected 1..%d "
             "strings (the model's vocabulary)", path, (unsigned long long)n,
             tern_gguf_vtype_name(et), vocab);
    goto done;
  }
  piece = calloc((size_t)n, sizeof *piece);
  len = calloc((size_t)n, sizeof *len);
  if (!piece || !len) {
    tern_err(err, errlen, "out of memory");
    goto done;
  }
  for (uint64_t i = 0; i < n; i++) {
    tern_gguf_str s;
    if (tern_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &s, err, errlen)) goto done;
    piece[i] = s.ptr;
    len[i] = s.len;
  }
  if (tern_gguf_find_kv(g, "tokenizer.ggml.token_type")) {
    uint64_t c;
    const void *p = tern_gguf_arr_data(g, "tokenizer.ggml.token_type", TERN_GGUF_I32, &c, err, errlen);
    if (!p) goto done;
    if (c != n) {
      tern_err(err, errlen, "%s: key 'tokenizer.ggml.token_type' has %llu elements, expected %llu",
               path, (unsigned long long)c, (unsigned long long)n);
      goto done;
    }
    if (!(type = malloc((size_t)n * sizeof *type))) goto oom;
    memcpy(type, p, (size_t)n * sizeof *type);
  }
  int bos, eos, unk;
  if (opt_id(g, "tokenizer.ggml.bos_token_id", &bos, err, errlen) ||
      opt_id(g, "tokenizer.ggml.eos_token_id", &eos, err, errlen) ||
      opt_id(g, "tokenizer.ggml.unknown_token_id", &unk, err, errlen))
    goto done;
  if (spm) {
    uint64_t c;
    const void *p = tern_gguf_arr_data(g, "tokenizer.ggml.scores", TERN_GGUF_F32, &c, err, errlen);
    if (!p) goto done;
    if (c != n) {
      tern_err(err, errlen, "%s: key 'tokenizer.ggml.scores' has %llu elements, expected %llu",
               path, (unsigned long long)c, (unsigned long long)n);
      goto done;
    }
    if (!(score = malloc((size_t)n * sizeof *score))) goto oom;
    memcpy(score, p, (size_t)n * sizeof *score);
    t = tern_tok_new_spm((int)n, piece, len, score, type, bos, eos, unk, path, err, errlen);
    int asp = 1;
    if (t && tern_gguf_find_kv(g, "tokenizer.ggml.add_space_prefix") &&
        !tern_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &asp, err, errlen))
      tern_tok_set_add_space_prefix(t, asp);
  } else {
    uint64_t nm = 0;
    if (tern_gguf_find_kv(g, "tokenizer.ggml.merges")) {
      if (tern_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &nm, err, errlen)) goto done;
      if (et != TERN_GGUF_STRING || nm > (1u << 22)) {
        tern_err(err, errlen, "%s: key 'tokenizer.ggml.merges' is not an array of at most 2^22 "
                 "strings", path);
        goto done;
      }
    }
    merge = calloc((size_t)nm + 1, sizeof *merge);
    mlen = calloc((size_t)nm + 1, sizeof *mlen);
    if (!merge || !mlen) goto oom;
    for (uint64_t i = 0; i < nm; i++) {
      tern_gguf_str s;
      if (tern_gguf_arr_str(g, "tokenizer.ggml.merges", i, &s, err, errlen)) goto done;
      merge[i] = s.ptr;
      mlen[i] = s.len;
    }
    char pre[64] = "";
    tern_gguf_str ps;
    if (tern_gguf_find_kv(g, "tokenizer.ggml.pre")) {
      if (tern_gguf_get_str(g, "tokenizer.ggml.pre", &ps, err, errlen)) goto done;
      snprintf(pre, sizeof pre, "%.*s", (int)(ps.len < 63 ? ps.len : 63), ps.ptr);
    }
    t = tern_tok_new_bpe((int)n, piece, len, type, (int)nm, merge, mlen, pre, bos, eos, path, err,
                         errlen);
  }
  goto done;
oom:
  tern_err(err, errlen, "out of memory");
done:
  free(piece);
  free(len);
  free(merge);
  free(mlen);
  free(score);
  free(type);
  tern_gguf_close(g); /* the tokenizer copied what it keeps */
  return t;
}

tern_tok *tern_ckpt_tokenizer(const char *path, int vocab, char *err, size_t errlen) {
  if (!path) {
    tern_err(err, errlen, "tern_ckpt_tokenizer: null path");
    return NULL;
  }
  tern_tok *t;
  if (ck_ends_with(path, ".gguf")) {
    t = gguf_tok(path, vocab, err, errlen);
  } else {
    char dir[4096], tj[4200];
    if (ck_is_dir(path)) {
      snprintf(dir, sizeof dir, "%s", path);
    } else {
      const char *sl = strrchr(path, '/');
      snprintf(dir, sizeof dir, "%.*s", sl ? (int)(sl - path) : 1, sl ? path : ".");
    }
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    struct stat sb;
    t = !stat(tj, &sb) ? tern_tok_load_hf(tj, err, errlen) : tern_tok_new_bytes();
    if (!t && err && !*err) tern_err(err, errlen, "out of memory");
  }
  if (!t) return NULL;
  if (tern_tok_vocab(t) > vocab) {
    tern_err(err, errlen, "%s: the tokenizer has %d tokens, more than the model's vocabulary of %d",
             path, tern_tok_vocab(t), vocab);
    tern_tok_free(t);
    return NULL;
  }
  return t;
}
