/* include/tern/tokenizer.h: Hugging Face tokenizer.json with a BPE model,
 * read with libjansson.  Two shapes are accepted (docs/TOKENIZERS.md lists
 * every field read and what is refused):
 *   byte-level   pre_tokenizer ByteLevel (GPT-2), or Sequence [Split {Regex:
 *                a known pattern, behavior Isolated}, ByteLevel {use_regex:
 *                false}] (LLaMA-3, Qwen2); no normalizer.
 *   metaspace    normalizer Sequence [Prepend "\xe2\x96\x81", Replace " " ->
 *                "\xe2\x96\x81"] and no pre_tokenizer (LLaMA-2 as converted by
 *                transformers), or pre_tokenizer Metaspace; byte_fallback.
 * Field semantics: tokenizers (Rust) models/bpe/{model,serialization}.rs,
 * pre_tokenizers/{byte_level,metaspace,split}.rs, normalizers/, decoders/,
 * processors/template.rs, tokenizer/added_vocabulary.rs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "tern/err.h"
#include "tokenizer_internal.h"

#define SPACE_MARK "\xe2\x96\x81"

typedef struct {
  const char *what;
  char *err;
  size_t errlen;
  /* what the normalizer / pre_tokenizer / decoder say */
  int byte_level, bl_prefix, bl_regex;
  const tok_pre *pre; /* from a Split */
  int escape, prefix, prefix_cond, meta_split;
} hf_ctx;

static const char *jtype(const json_t *v) {
  if (!v) return "missing";
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
  }
  return "?";
}

/* Optional boolean field: absent / null -> def. */
static int get_bool(hf_ctx *c, const json_t *o, const char *obj, const char *key, int def,
                    int *out) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return 0;
  }
  if (!json_is_boolean(v))
    return tern_err(c->err, c->errlen, "%s: %s.%s is %s; expected true or false", c->what, obj,
                    key, jtype(v));
  *out = json_is_true(v);
  return 0;
}

static const char *get_type(const json_t *o) {
  json_t *v = json_object_get(o, "type");
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int is_mark(const json_t *v) {
  return json_is_string(v) && strcmp(json_string_value(v), SPACE_MARK) == 0;
}

/* ---- normalizer ---------------------------------------------------------------------------- */

static int one_normalizer(hf_ctx *c, const json_t *n, const char *field) {
  char e1[64];
  const char *ty = get_type(n);
  if (!json_is_object(n) || !ty)
    return tern_err(c->err, c->errlen, "%s: %s is %s without a \"type\"; expected a normalizer",
                    c->what, field, jtype(n));
  if (strcmp(ty, "Prepend") == 0) {
    if (!is_mark(json_object_get(n, "prepend")))
      return tern_err(c->err, c->errlen, "%s: %s.prepend: expected \"\\u2581\"", c->what, field);
    c->prefix = TOK_PREFIX_EACH;
    c->prefix_cond = 0;
    return 0;
  }
  if (strcmp(ty, "Replace") == 0) {
    json_t *pat = json_object_get(json_object_get(n, "pattern"), "String");
    if (!json_is_string(pat) || strcmp(json_string_value(pat), " ") != 0 ||
        !is_mark(json_object_get(n, "content")))
      return tern_err(c->err, c->errlen,
                      "%s: %s: a Replace other than {\"String\": \" \"} -> \"\\u2581\"; expected "
                      "only that one",
                      c->what, field);
    c->escape = 1;
    return 0;
  }
  return tern_err(c->err, c->errlen,
                  "%s: %s.type = \"%s\" is not supported; expected Prepend \"\\u2581\" and Replace "
                  "\" \" -> \"\\u2581\" (LLaMA-2), or no normalizer",
                  c->what, field, tok_esc(e1, sizeof e1, ty, strlen(ty)));
}

static int normalizer(hf_ctx *c, const json_t *n) {
  if (!n || json_is_null(n)) return 0;
  const char *ty = get_type(n);
  if (ty && strcmp(ty, "Sequence") == 0) {
    json_t *list = json_object_get(n, "normalizers");
    if (!json_is_array(list))
      return tern_err(c->err, c->errlen, "%s: normalizer.normalizers is %s; expected an array",
                      c->what, list ? jtype(list) : "missing");
    for (size_t i = 0; i < json_array_size(list); i++) {
      char f[64];
      snprintf(f, sizeof f, "normalizer.normalizers[%zu]", i);
      if (one_normalizer(c, json_array_get(list, i), f) != 0) return -1;
    }
    return 0;
  }
  return one_normalizer(c, n, "normalizer");
}

/* ---- pre_tokenizer ------------------------------------------------------------------------- */

static int one_pre(hf_ctx *c, const json_t *p, const char *field) {
  char e1[64], names[512];
  const char *ty = get_type(p);
  if (!json_is_object(p) || !ty)
    return tern_err(c->err, c->errlen, "%s: %s is %s without a \"type\"; expected a pre-tokenizer",
                    c->what, field, jtype(p));
  if (strcmp(ty, "ByteLevel") == 0) {
    if (get_bool(c, p, field, "add_prefix_space", 1, &c->bl_prefix) != 0 ||
        get_bool(c, p, field, "use_regex", 1, &c->bl_regex) != 0)
      return -1;
    c->byte_level = 1;
    return 0;
  }
  if (strcmp(ty, "Split") == 0) {
    json_t *re = json_object_get(json_object_get(p, "pattern"), "Regex");
    json_t *beh = json_object_get(p, "behavior");
    int invert;
    if (get_bool(c, p, field, "invert", 0, &invert) != 0) return -1;
    if (!json_is_string(re))
      return tern_err(c->err, c->errlen, "%s: %s.pattern: expected {\"Regex\": a known pattern}",
                      c->what, field);
    if (!json_is_string(beh) || strcmp(json_string_value(beh), "Isolated") != 0 || invert)
      return tern_err(c->err, c->errlen,
                      "%s: %s: behavior / invert other than \"Isolated\" / false; expected those",
                      c->what, field);
    const tok_pre *pre = tok_pre_find_hf(json_string_value(re));
    if (!pre) {
      tok_pre_names(names, sizeof names);
      const char *r = json_string_value(re);
      return tern_err(c->err, c->errlen,
                      "%s: %s.pattern.Regex \"%s\" is not a known pre-tokenizer pattern; expected "
                      "the LLaMA-3 or Qwen2 pattern (docs/TOKENIZERS.md; known: %s)",
                      c->what, field, tok_esc(e1, sizeof e1, r, strlen(r)), names);
    }
    if (c->pre)
      return tern_err(c->err, c->errlen, "%s: %s: a second Split; expected at most one", c->what,
                      field);
    c->pre = pre;
    return 0;
  }
  if (strcmp(ty, "Metaspace") == 0) {
    if (!is_mark(json_object_get(p, "replacement")))
      return tern_err(c->err, c->errlen, "%s: %s.replacement: expected \"\\u2581\"", c->what,
                      field);
    json_t *ps = json_object_get(p, "prepend_scheme");
    int aps;
    if (ps && !json_is_null(ps)) {
      const char *s = json_is_string(ps) ? json_string_value(ps) : "";
      if (strcmp(s, "first") == 0) c->prefix = TOK_PREFIX_FIRST;
      else if (strcmp(s, "always") == 0) c->prefix = TOK_PREFIX_EACH;
      else if (strcmp(s, "never") == 0) c->prefix = TOK_PREFIX_NONE;
      else
        return tern_err(c->err, c->errlen,
                        "%s: %s.prepend_scheme = \"%s\"; expected \"first\", \"always\" or \"never\"",
                        c->what, field, tok_esc(e1, sizeof e1, s, strlen(s)));
    } else {
      if (get_bool(c, p, field, "add_prefix_space", 1, &aps) != 0) return -1;
      c->prefix = aps ? TOK_PREFIX_EACH : TOK_PREFIX_NONE;
    }
    if (get_bool(c, p, field, "split", 1, &c->meta_split) != 0) return -1;
    c->escape = 1;
    c->prefix_cond = 1;
    return 0;
  }
  return tern_err(c->err, c->errlen,
                  "%s: %s.type = \"%s\" is not supported; expected ByteLevel, Split (a known "
                  "regex), Metaspace or a Sequence of them",
                  c->what, field, tok_esc(e1, sizeof e1, ty, strlen(ty)));
}

static int pre_tokenizer(hf_ctx *c, const json_t *p) {
  if (!p || json_is_null(p)) return 0;
  const char *ty = get_type(p);
  if (ty && strcmp(ty, "Sequence") == 0) {
    json_t *list = json_object_get(p, "pretokenizers");
    if (!json_is_array(list))
      return tern_err(c->err, c->errlen, "%s: pre_tokenizer.pretokenizers is %s; expected an array",
                      c->what, list ? jtype(list) : "missing");
    for (size_t i = 0; i < json_array_size(list); i++) {
      char f[64];
      snprintf(f, sizeof f, "pre_tokenizer.pretokenizers[%zu]", i);
      if (one_pre(c, json_array_get(list, i), f) != 0) return -1;
    }
    return 0;
  }
  return one_pre(c, p, "pre_tokenizer");
}

/* ---- decoder (checked: its effect is implied by the mode) ---------------------------------- */

static int decoder(hf_ctx *c, const json_t *d, const char *field, int depth) {
  static const char *const ok[] = {"ByteLevel", "Metaspace", "Replace", "ByteFallback", "Fuse",
                                   "Strip"};
  char e1[64];
  if (!d || json_is_null(d)) return 0;
  const char *ty = get_type(d);
  if (ty && strcmp(ty, "Sequence") == 0 && depth == 0) {
    json_t *list = json_object_get(d, "decoders");
    if (!json_is_array(list))
      return tern_err(c->err, c->errlen, "%s: decoder.decoders is %s; expected an array", c->what,
                      list ? jtype(list) : "missing");
    for (size_t i = 0; i < json_array_size(list); i++) {
      char f[64];
      snprintf(f, sizeof f, "decoder.decoders[%zu]", i);
      if (decoder(c, json_array_get(list, i), f, 1) != 0) return -1;
    }
    return 0;
  }
  for (size_t i = 0; ty && i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(ty, ok[i]) == 0) return 0;
  return tern_err(c->err, c->errlen,
                  "%s: %s.type = \"%s\" is not supported; expected ByteLevel, Metaspace or a "
                  "Sequence of Replace, ByteFallback, Fuse, Strip",
                  c->what, field, ty ? tok_esc(e1, sizeof e1, ty, strlen(ty)) : "(none)");
}

/* ---- BOS from the post_processor ----------------------------------------------------------- */

static int template_bos(const tern_tok *t, const json_t *pp, int depth) {
  const char *ty = get_type(pp);
  if (!ty || depth > 4) return -1;
  if (strcmp(ty, "Sequence") == 0) {
    json_t *list = json_object_get(pp, "processors");
    for (size_t i = 0; i < json_array_size(list); i++) {
      int b = template_bos(t, json_array_get(list, i), depth + 1);
      if (b >= 0) return b;
    }
    return -1;
  }
  if (strcmp(ty, "TemplateProcessing") != 0) return -1;
  json_t *first = json_array_get(json_object_get(pp, "single"), 0);
  json_t *name = json_object_get(json_object_get(first, "SpecialToken"), "id");
  if (!json_is_string(name)) return -1;
  json_t *ids = json_object_get(
      json_object_get(json_object_get(pp, "special_tokens"), json_string_value(name)), "ids");
  json_t *id0 = json_array_get(ids, 0);
  if (json_is_integer(id0) && json_integer_value(id0) >= 0 && json_integer_value(id0) < t->n)
    return (int)json_integer_value(id0);
  const char *s = json_string_value(name);
  return tok_find(t, s, strlen(s));
}

/* ---- the whole file ------------------------------------------------------------------------ */

static int get_id(hf_ctx *c, const json_t *v, const char *field, const char *key, int *out) {
  char e1[64];
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) >= TERN_TOK_MAX_VOCAB) {
    if (json_is_integer(v))
      return tern_err(c->err, c->errlen, "%s: %s \"%s\": id %lld; expected 0 to %d", c->what,
                      field, tok_esc(e1, sizeof e1, key, strlen(key)),
                      (long long)json_integer_value(v), TERN_TOK_MAX_VOCAB - 1);
    return tern_err(c->err, c->errlen, "%s: %s \"%s\": id is %s; expected an integer 0 to %d",
                    c->what, field, tok_esc(e1, sizeof e1, key, strlen(key)), jtype(v),
                    TERN_TOK_MAX_VOCAB - 1);
  }
  *out = (int)json_integer_value(v);
  return 0;
}

static tern_tok *build(hf_ctx *c, json_t *root) {
  char e1[64], e2[64];
  const char *what = c->what;
  char *err = c->err;
  size_t errlen = c->errlen;
  const char **piece = NULL;
  size_t *plen = NULL;
  uint8_t *ptype = NULL, *pflags = NULL;
  tern_tok *t = NULL;

  if (!json_is_object(root)) {
    tern_err(err, errlen, "%s: the top level is %s; expected an object", what, jtype(root));
    return NULL;
  }
  json_t *model = json_object_get(root, "model");
  if (!json_is_object(model)) {
    tern_err(err, errlen, "%s: model is %s; expected an object with a BPE model", what,
             model ? jtype(model) : "missing");
    return NULL;
  }
  const char *mty = get_type(model);
  if (mty && strcmp(mty, "BPE") != 0) {
    tern_err(err, errlen,
             "%s: model.type = \"%s\"; expected \"BPE\" (WordPiece, Unigram and WordLevel are not "
             "supported)",
             what, tok_esc(e1, sizeof e1, mty, strlen(mty)));
    return NULL;
  }
  json_t *vocab = json_object_get(model, "vocab");
  json_t *merges = json_object_get(model, "merges");
  if (!json_is_object(vocab) || !json_is_array(merges)) {
    tern_err(err, errlen, "%s: model.vocab is %s and model.merges %s; expected an object and an array",
             what, vocab ? jtype(vocab) : "missing", merges ? jtype(merges) : "missing");
    return NULL;
  }
  json_t *added = json_object_get(root, "added_tokens");
  if (added && !json_is_null(added) && !json_is_array(added)) {
    tern_err(err, errlen, "%s: added_tokens is %s; expected an array", what, jtype(added));
    return NULL;
  }
  size_t nv = json_object_size(vocab), na = json_array_size(added);
  if (nv == 0 || nv + na > TERN_TOK_MAX_VOCAB) {
    tern_err(err, errlen, "%s: model.vocab has %zu pieces and added_tokens %zu; expected 1 to %d in all",
             what, nv, na, TERN_TOK_MAX_VOCAB);
    return NULL;
  }
  /* ids: the largest id bounds the table; every id below it must have a piece */
  int n = 0;
  const char *key;
  json_t *val;
  json_object_foreach(vocab, key, val) {
    int id;
    if (get_id(c, val, "model.vocab", key, &id) != 0) return NULL;
    if (id + 1 > n) n = id + 1;
  }
  for (size_t i = 0; i < na; i++) {
    json_t *a = json_array_get(added, i);
    json_t *content = json_object_get(a, "content");
    int id;
    if (!json_is_object(a) || !json_is_string(content)) {
      tern_err(err, errlen, "%s: added_tokens[%zu] is %s without a string \"content\"; expected {\"id\", \"content\", ...}",
               what, i, jtype(a));
      return NULL;
    }
    if (get_id(c, json_object_get(a, "id"), "added_tokens", json_string_value(content), &id) != 0)
      return NULL;
    if (id + 1 > n) n = id + 1;
  }
  if ((size_t)n > nv + na) {
    tern_err(err, errlen,
             "%s: ids go up to %d but model.vocab and added_tokens hold %zu pieces; expected ids "
             "0 to %zu without gaps",
             what, n - 1, nv + na, nv + na - 1);
    return NULL;
  }
  piece = calloc((size_t)n, sizeof *piece);
  plen = calloc((size_t)n, sizeof *plen);
  ptype = calloc((size_t)n, 1);
  pflags = calloc((size_t)n, 1);
  if (!piece || !plen || !ptype || !pflags) {
    tern_err(err, errlen, "%s: out of memory for %d pieces", what, n);
    goto fail;
  }
  json_object_foreach(vocab, key, val) {
    int id = (int)json_integer_value(val);
    if (piece[id]) {
      tern_err(err, errlen, "%s: model.vocab: \"%s\" and \"%s\" both have id %d; expected unique ids",
               what, tok_esc(e1, sizeof e1, piece[id], plen[id]),
               tok_esc(e2, sizeof e2, key, strlen(key)), id);
      goto fail;
    }
    piece[id] = key;
    plen[id] = strlen(key);
    ptype[id] = TERN_TOK_TYPE_NORMAL;
  }
  for (size_t i = 0; i < na; i++) {
    json_t *a = json_array_get(added, i);
    json_t *content = json_object_get(a, "content");
    const char *s = json_string_value(content);
    size_t sl = json_string_length(content);
    int id = (int)json_integer_value(json_object_get(a, "id"));
    int special, single, lstrip, rstrip;
    char f[48];
    snprintf(f, sizeof f, "added_tokens[%zu]", i);
    if (get_bool(c, a, f, "special", 0, &special) != 0 ||
        get_bool(c, a, f, "single_word", 0, &single) != 0 ||
        get_bool(c, a, f, "lstrip", 0, &lstrip) != 0 ||
        get_bool(c, a, f, "rstrip", 0, &rstrip) != 0)
      goto fail;
    if (single) {
      tern_err(err, errlen, "%s: %s \"%s\": single_word = true is not supported; expected false",
               what, f, tok_esc(e1, sizeof e1, s, sl));
      goto fail;
    }
    if (sl == 0) {
      tern_err(err, errlen, "%s: %s: empty content; expected a non-empty string", what, f);
      goto fail;
    }
    if (piece[id] && (plen[id] != sl || memcmp(piece[id], s, sl) != 0)) {
      tern_err(err, errlen, "%s: %s \"%s\" has id %d, which model.vocab gives to \"%s\"; expected the same piece",
               what, f, tok_esc(e1, sizeof e1, s, sl), id, tok_esc(e2, sizeof e2, piece[id], plen[id]));
      goto fail;
    }
    piece[id] = s;
    plen[id] = sl;
    ptype[id] = special ? TERN_TOK_TYPE_CONTROL : TERN_TOK_TYPE_USER_DEFINED;
    pflags[id] = (uint8_t)((lstrip ? TOK_LSTRIP : 0) | (rstrip ? TOK_RSTRIP : 0));
  }
  for (int i = 0; i < n; i++)
    if (!piece[i]) {
      tern_err(err, errlen, "%s: id %d has no piece in model.vocab or added_tokens; expected ids 0 to %d without gaps",
               what, i, n - 1);
      goto fail;
    }

  t = tok_alloc(TERN_TOK_BPE, what);
  if (!t) {
    tern_err(err, errlen, "%s: out of memory", what);
    goto fail;
  }
  if (tok_set_pieces(t, n, piece, plen, "model.vocab", err, errlen) != 0) goto fail;
  memcpy(t->type, ptype, (size_t)n);
  t->tflags = pflags;
  pflags = NULL;

  /* model options */
  json_t *drop = json_object_get(model, "dropout");
  if (drop && !json_is_null(drop) && !(json_is_number(drop) && json_number_value(drop) == 0.0)) {
    tern_err(err, errlen, "%s: model.dropout is %s; expected null or 0 (tern encodes deterministically)",
             what, jtype(drop));
    goto fail;
  }
  static const char *const affix[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (int k = 0; k < 2; k++) {
    json_t *v = json_object_get(model, affix[k]);
    if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) {
      tern_err(err, errlen, "%s: model.%s is %s; expected null (not supported)", what, affix[k],
               jtype(v));
      goto fail;
    }
  }
  if (get_bool(c, model, "model", "fuse_unk", 0, &t->fuse_unk) != 0 ||
      get_bool(c, model, "model", "byte_fallback", 0, &t->byte_fallback) != 0 ||
      get_bool(c, model, "model", "ignore_merges", 0, &t->ignore_merges) != 0)
    goto fail;
  json_t *unk = json_object_get(model, "unk_token");
  if (unk && !json_is_null(unk)) {
    const char *s = json_string_value(unk);
    if (!s || (t->unk = tok_find(t, s, json_string_length(unk))) < 0) {
      tern_err(err, errlen, "%s: model.unk_token %s%s%s is not in model.vocab; expected a piece", what,
               s ? "\"" : "", s ? tok_esc(e1, sizeof e1, s, strlen(s)) : jtype(unk), s ? "\"" : "");
      goto fail;
    }
    if (t->type[t->unk] == TERN_TOK_TYPE_NORMAL) t->type[t->unk] = TERN_TOK_TYPE_UNKNOWN;
  }

  /* normalizer, pre_tokenizer, decoder -> the mode */
  if (normalizer(c, json_object_get(root, "normalizer")) != 0 ||
      pre_tokenizer(c, json_object_get(root, "pre_tokenizer")) != 0 ||
      decoder(c, json_object_get(root, "decoder"), "decoder", 0) != 0)
    goto fail;
  if (c->byte_level) {
    if (c->escape || c->prefix != TOK_PREFIX_NONE) {
      tern_err(err, errlen, "%s: a ByteLevel pre_tokenizer with a Metaspace / U+2581 normalizer; expected one of the two",
               what);
      goto fail;
    }
    if (c->pre && c->bl_regex) {
      tern_err(err, errlen, "%s: pre_tokenizer: a Split followed by ByteLevel with use_regex = true; expected use_regex false after a Split",
               what);
      goto fail;
    }
    t->byte_level = 1;
    t->bl_prefix_space = c->bl_prefix;
    const tok_pre *p = c->pre ? c->pre : c->bl_regex ? tok_pre_find("gpt-2") : NULL;
    if (p && tok_pre_compile(t, p, err, errlen) != 0) goto fail;
  } else if (c->escape) {
    if (c->pre) {
      tern_err(err, errlen, "%s: a Split pre_tokenizer with a Metaspace / U+2581 normalizer; expected no Split",
               what);
      goto fail;
    }
    t->escape_spaces = 1;
    t->prefix = c->prefix;
    t->prefix_cond = c->prefix_cond;
    t->meta_split = c->meta_split;
    for (int i = 0; i < n; i++) { /* byte_fallback pieces */
      const char *p = t->arena + t->off[i];
      if (t->byte_fallback && t->type[i] == TERN_TOK_TYPE_NORMAL && t->len[i] == 6 &&
          memcmp(p, "<0x", 3) == 0 && p[5] == '>')
        t->type[i] = TERN_TOK_TYPE_BYTE;
    }
  } else {
    tern_err(err, errlen,
             "%s: neither a ByteLevel pre_tokenizer nor a Metaspace pre_tokenizer / U+2581 "
             "normalizer; expected one of them (docs/TOKENIZERS.md)",
             what);
    goto fail;
  }

  /* merges: "left right" strings or [left, right] pairs, rank = index */
  size_t nm = json_array_size(merges);
  if (nm > TERN_TOK_MAX_MERGES) {
    tern_err(err, errlen, "%s: model.merges has %zu entries; expected at most %d", what, nm,
             TERN_TOK_MAX_MERGES);
    goto fail;
  }
  if (tok_map_init(&t->merges, nm) != 0) {
    tern_err(err, errlen, "%s: out of memory for %zu merges", what, nm);
    goto fail;
  }
  for (size_t i = 0; i < nm; i++) {
    json_t *m = json_array_get(merges, i);
    const char *a, *b;
    size_t la, lb;
    if (json_is_string(m)) {
      const char *s = json_string_value(m);
      size_t sl = json_string_length(m), sp = 1;
      while (sp < sl && s[sp] != ' ') sp++;
      if (sl < 3 || sp >= sl - 1) {
        tern_err(err, errlen, "%s: model.merges[%zu] = \"%s\"; expected \"left right\"", what, i,
                 tok_esc(e1, sizeof e1, s, sl));
        goto fail;
      }
      a = s;
      la = sp;
      b = s + sp + 1;
      lb = sl - sp - 1;
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
      a = json_string_value(json_array_get(m, 0));
      la = json_string_length(json_array_get(m, 0));
      b = json_string_value(json_array_get(m, 1));
      lb = json_string_length(json_array_get(m, 1));
    } else {
      tern_err(err, errlen, "%s: model.merges[%zu] is %s; expected \"left right\" or [left, right]",
               what, i, jtype(m));
      goto fail;
    }
    if (la > TERN_TOK_MAX_PIECE || lb > TERN_TOK_MAX_PIECE) {
      tern_err(err, errlen, "%s: model.merges[%zu]: a half of more than %d bytes; expected a piece",
               what, i, TERN_TOK_MAX_PIECE);
      goto fail;
    }
    if (tok_add_merge(t, a, la, b, lb, (int)i, "model.merges", "model.vocab", err, errlen) != 0)
      goto fail;
  }

  /* BOS from the template, EOS by name */
  t->bos = template_bos(t, json_object_get(root, "post_processor"), 0);
  if (t->bos >= 0) {
    t->add_bos_default = 1;
    if (t->type[t->bos] == TERN_TOK_TYPE_NORMAL) t->type[t->bos] = TERN_TOK_TYPE_CONTROL;
  }
  static const char *const eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>",
                                          "<eos>"};
  for (size_t k = 0; k < sizeof eos_names / sizeof eos_names[0] && t->eos < 0; k++) {
    int id = tok_find(t, eos_names[k], strlen(eos_names[k]));
    if (id >= 0 && t->type[id] == TERN_TOK_TYPE_CONTROL) t->eos = id;
  }
  if (tok_finish(t, err, errlen) != 0) goto fail;
  free(piece);
  free(plen);
  free(ptype);
  return t;
fail:
  tern_tok_free(t);
  free(piece);
  free(plen);
  free(ptype);
  free(pflags);
  return NULL;
}

tern_tok *tern_tok_parse_hf(const char *json, size_t len, const char *what, char *err,
                            size_t errlen) {
  if (!what || !*what) what = "tokenizer.json";
  if (!json) {
    tern_err(err, errlen, "%s: NULL text", what);
    return NULL;
  }
  if (len > TERN_TOK_MAX_FILE) {
    tern_err(err, errlen, "%s: %zu bytes; expected at most %zu", what, len, TERN_TOK_MAX_FILE);
    return NULL;
  }
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    tern_err(err, errlen, "%s: line %d column %d: %s; expected valid JSON", what, je.line,
             je.column, je.text);
    return NULL;
  }
  hf_ctx c = {0};
  c.what = what;
  c.err = err;
  c.errlen = errlen;
  tern_tok *t = build(&c, root);
  json_decref(root);
  return t;
}

tern_tok *tern_tok_load_hf(const char *path, char *err, size_t errlen) {
  if (!path) {
    tern_err(err, errlen, "tokenizer.json: NULL path");
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    tern_err(err, errlen, "%s: not a regular file; expected a tokenizer.json", path);
    return NULL;
  }
  if ((uint64_t)st.st_size > TERN_TOK_MAX_FILE) {
    fclose(f);
    tern_err(err, errlen, "%s: %lld bytes; expected at most %zu", path, (long long)st.st_size,
             TERN_TOK_MAX_FILE);
    return NULL;
  }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    tern_err(err, errlen, "%s: out of memory for %zu bytes", path, cap);
    return NULL;
  }
  size_t r;
  while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0) n += r;
  int bad = ferror(f) || n == cap; /* n == cap: the file grew while being read */
  fclose(f);
  if (bad) {
    free(buf);
    tern_err(err, errlen, "%s: read error or the file changed size while being read", path);
    return NULL;
  }
  tern_tok *t = tern_tok_parse_hf(buf, n, path, err, errlen);
  free(buf);
  return t;
}
