/* include/tern/tokenizer.h: the vocabulary (pieces, hash, types), special
 * tokens, creation from GGUF-style arrays, the encode pipeline (special
 * tokens -> fragments -> normalisation -> pre-tokenization -> model) and
 * decoding.  The merge loops are in tokenizer_merge.c, the pre-tokenizers in
 * tokenizer_pre.c, tokenizer.json in tokenizer_hf.c; the facts each step
 * follows, with their sources, are in docs/TOKENIZERS.md. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tokenizer_internal.h"

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's space */
#define MAX_ARENA ((size_t)256 << 20)

/* ---- small helpers ------------------------------------------------------------------------- */

const char *tok_esc(char *dst, size_t cap, const char *s, size_t n) {
  size_t o = 0, i = 0;
  if (!cap) return dst;
  for (; i < n && o + 8 < cap && o < 48; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      dst[o++] = (char)c;
    else
      o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
  }
  if (i < n && o + 4 < cap) {
    memcpy(dst + o, "...", 3);
    o += 3;
  }
  dst[o < cap ? o : cap - 1] = 0;
  return dst;
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* ---- tok_map ------------------------------------------------------------------------------- */

int tok_map_init(tok_map *m, size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap <<= 1;
  m->key = malloc(cap * sizeof *m->key);
  m->a = malloc(cap * sizeof *m->a);
  m->b = malloc(cap * sizeof *m->b);
  m->mask = cap - 1;
  m->n = 0;
  if (!m->key || !m->a || !m->b) {
    tok_map_free(m);
    return -1;
  }
  memset(m->key, 0xff, cap * sizeof *m->key);
  return 0;
}

void tok_map_free(tok_map *m) {
  free(m->key);
  free(m->a);
  free(m->b);
  memset(m, 0, sizeof *m);
}

static int map_grow(tok_map *m) {
  tok_map g;
  if (tok_map_init(&g, (size_t)(m->mask + 1)) != 0) return -1;
  for (uint64_t i = 0; i <= m->mask; i++)
    if (m->key[i] != UINT64_MAX) tok_map_put(&g, m->key[i], m->a[i], m->b[i]);
  tok_map_free(m);
  *m = g;
  return 0;
}

int tok_map_put(tok_map *m, uint64_t key, int32_t a, int32_t b) {
  if (!m->key && tok_map_init(m, 8) != 0) return -1;
  if ((m->n + 1) * 2 > m->mask + 1 && map_grow(m) != 0) return -1;
  uint64_t i = mix64(key) & m->mask;
  while (m->key[i] != UINT64_MAX) {
    if (m->key[i] == key) return 0;
    i = (i + 1) & m->mask;
  }
  m->key[i] = key;
  m->a[i] = a;
  m->b[i] = b;
  m->n++;
  return 1;
}

long tok_map_get(const tok_map *m, uint64_t key) {
  if (!m->key) return -1;
  uint64_t i = mix64(key) & m->mask;
  while (m->key[i] != UINT64_MAX) {
    if (m->key[i] == key) return (long)i;
    i = (i + 1) & m->mask;
  }
  return -1;
}

/* ---- vocabulary ---------------------------------------------------------------------------- */

tern_tok *tok_alloc(tern_tok_kind kind, const char *what) {
  tern_tok *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->kind = kind;
  t->bos = t->eos = t->unk = -1;
  for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
  snprintf(t->what, sizeof t->what, "%s", what && *what ? what : "tokenizer");
  return t;
}

int tok_find(const tern_tok *t, const char *s, size_t n) {
  if (!t->ht || n == 0 || n > (size_t)t->max_len) return -1;
  uint64_t i = hash_bytes(s, n) & t->ht_mask;
  for (;;) {
    int32_t id = t->ht[i];
    if (id < 0) return -1;
    if (t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0) return id;
    i = (i + 1) & t->ht_mask;
  }
}

int tok_mergeable(const tern_tok *t, int id) {
  int ty = t->type[id];
  return ty == TERN_TOK_TYPE_NORMAL || ty == TERN_TOK_TYPE_UNDEFINED ||
         ty == TERN_TOK_TYPE_USER_DEFINED;
}

int tok_set_pieces(tern_tok *t, int n, const char *const *piece, const size_t *len,
                   const char *f_tokens, char *err, size_t errlen) {
  char e1[64];
  if (n < 1 || n > TERN_TOK_MAX_VOCAB)
    return tern_err(err, errlen, "%s: %s has %d pieces; expected 1 to %d", t->what, f_tokens, n,
                    TERN_TOK_MAX_VOCAB);
  if (!piece || !len)
    return tern_err(err, errlen, "%s: %s: no pieces given; expected %d", t->what, f_tokens, n);
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (len[i] > TERN_TOK_MAX_PIECE)
      return tern_err(err, errlen, "%s: %s[%d] is %zu bytes long; expected at most %d", t->what,
                      f_tokens, i, len[i], TERN_TOK_MAX_PIECE);
    if (len[i] && !piece[i])
      return tern_err(err, errlen, "%s: %s[%d]: NULL piece of %zu bytes", t->what, f_tokens, i,
                      len[i]);
    total += len[i];
    if (total > MAX_ARENA)
      return tern_err(err, errlen, "%s: %s: pieces total more than %zu bytes; expected at most that",
                      t->what, f_tokens, MAX_ARENA);
  }
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap <<= 1;
  t->n = n;
  t->arena = malloc(total ? total : 1);
  t->off = malloc((size_t)n * sizeof *t->off);
  t->len = malloc((size_t)n * sizeof *t->len);
  t->score = calloc((size_t)n, sizeof *t->score);
  t->type = malloc((size_t)n);
  t->ht = malloc(cap * sizeof *t->ht);
  if (!t->arena || !t->off || !t->len || !t->score || !t->type || !t->ht)
    return tern_err(err, errlen, "%s: %s: out of memory for %d pieces", t->what, f_tokens, n);
  memset(t->ht, 0xff, cap * sizeof *t->ht);
  t->ht_mask = cap - 1;
  memset(t->type, TERN_TOK_TYPE_NORMAL, (size_t)n);
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    t->off[i] = (uint32_t)o;
    t->len[i] = (uint16_t)len[i];
    if (len[i]) memcpy(t->arena + o, piece[i], len[i]);
    o += len[i];
    if ((int)len[i] > t->max_len) t->max_len = (int)len[i];
  }
  for (int i = 0; i < n; i++) {
    if (!len[i]) continue; /* an empty piece is never looked up */
    uint64_t h = hash_bytes(t->arena + t->off[i], len[i]) & t->ht_mask;
    while (t->ht[h] >= 0) {
      int j = t->ht[h];
      if (t->len[j] == len[i] && memcmp(t->arena + t->off[j], t->arena + t->off[i], len[i]) == 0)
        return tern_err(err, errlen, "%s: %s[%d] and %s[%d] are both \"%s\"; expected unique pieces",
                        t->what, f_tokens, j, f_tokens, i,
                        tok_esc(e1, sizeof e1, piece[i], len[i]));
      h = (h + 1) & t->ht_mask;
    }
    t->ht[h] = i;
  }
  return 0;
}

int tok_add_merge(tern_tok *t, const char *a, size_t na, const char *b, size_t nb, int rank,
                  const char *f_merges, const char *f_tokens, char *err, size_t errlen) {
  char e1[64], e2[64], buf[2 * TERN_TOK_MAX_PIECE];
  int la = tok_find(t, a, na), lb = tok_find(t, b, nb);
  if (la < 0 || lb < 0)
    return tern_err(err, errlen, "%s: %s[%d] \"%s %s\": \"%s\" is not in %s; expected two pieces",
                    t->what, f_merges, rank, tok_esc(e1, sizeof e1, a, na),
                    tok_esc(e2, sizeof e2, b, nb),
                    la < 0 ? e1 : e2, f_tokens);
  memcpy(buf, a, na);
  memcpy(buf + na, b, nb);
  int r = tok_find(t, buf, na + nb);
  if (r < 0)
    return tern_err(err, errlen,
                    "%s: %s[%d] \"%s %s\": the merged piece is not in %s; expected it to be",
                    t->what, f_merges, rank, tok_esc(e1, sizeof e1, a, na),
                    tok_esc(e2, sizeof e2, b, nb), f_tokens);
  /* a repeated pair keeps its first (lowest) rank, as llama.cpp's bpe_ranks.emplace */
  if (tok_map_put(&t->merges, (uint64_t)la << 32 | (uint32_t)lb, rank, r) < 0)
    return tern_err(err, errlen, "%s: %s: out of memory at merge %d", t->what, f_merges, rank);
  t->n_merges++;
  return 0;
}

int tok_finish(tern_tok *t, char *err, size_t errlen) {
  /* byte pieces */
  for (int b = 0; b < 256; b++) {
    char buf[8];
    int id;
    if (t->byte_level) {
      int k = tok_byte_utf8(b, buf);
      id = tok_find(t, buf, (size_t)k);
      t->byte_id[b] = id >= 0 && tok_mergeable(t, id) ? id : -1;
    } else {
      snprintf(buf, sizeof buf, "<0x%02X>", b);
      id = tok_find(t, buf, 6);
      t->byte_id[b] = id >= 0 && t->type[id] == TERN_TOK_TYPE_BYTE ? id : -1;
    }
  }
  if (tok_build_specials(t) != 0)
    return tern_err(err, errlen, "%s: out of memory for the special tokens", t->what);
  const char *k = t->kind == TERN_TOK_SPM ? "spm" : t->kind == TERN_TOK_BPE ? "bpe" : "bytes";
  int o = snprintf(t->desc, sizeof t->desc, "%s (%s): %d pieces", k, t->what, t->n);
  if (t->kind == TERN_TOK_BPE && o > 0 && (size_t)o < sizeof t->desc)
    o += snprintf(t->desc + o, sizeof t->desc - (size_t)o, ", %d merges, %s%s%s", t->n_merges,
                  t->byte_level ? "byte-level, pre-tokenizer " : "metaspace",
                  t->byte_level ? (t->pre ? t->pre->name : "none") : "",
                  t->byte_fallback ? ", byte fallback" : "");
  if (o > 0 && (size_t)o < sizeof t->desc)
    snprintf(t->desc + o, sizeof t->desc - (size_t)o, ", %d special, bos %d, eos %d, unk %d",
             t->n_special, t->bos, t->eos, t->unk);
  return 0;
}

static int check_id(const tern_tok *t, int id, const char *field, char *err, size_t errlen) {
  if (id < -1 || id >= t->n)
    return tern_err(err, errlen, "%s: %s = %d; expected -1 (none) or 0 to %d", t->what, field, id,
                    t->n - 1);
  return 0;
}

static int set_types(tern_tok *t, const int32_t *type, char *err, size_t errlen) {
  if (type) {
    for (int i = 0; i < t->n; i++) {
      if (type[i] < 0 || type[i] > TERN_TOK_TYPE_BYTE)
        return tern_err(err, errlen, "%s: tokenizer.ggml.token_type[%d] = %d; expected 0 to 6",
                        t->what, i, (int)type[i]);
      t->type[i] = (uint8_t)type[i];
    }
    return 0;
  }
  for (int i = 0; i < t->n; i++) {
    const char *p = t->arena + t->off[i];
    if (t->kind == TERN_TOK_SPM && t->len[i] == 6 && memcmp(p, "<0x", 3) == 0 && p[5] == '>' &&
        isxdigit((unsigned char)p[3]) && isxdigit((unsigned char)p[4]))
      t->type[i] = TERN_TOK_TYPE_BYTE;
  }
  if (t->bos >= 0) t->type[t->bos] = TERN_TOK_TYPE_CONTROL;
  if (t->eos >= 0) t->type[t->eos] = TERN_TOK_TYPE_CONTROL;
  if (t->unk >= 0) t->type[t->unk] = TERN_TOK_TYPE_UNKNOWN;
  return 0;
}

/* ---- creation ------------------------------------------------------------------------------ */

tern_tok *tern_tok_new_bytes(void) {
  tern_tok *t = tok_alloc(TERN_TOK_BYTES, "bytes");
  if (!t) return NULL;
  t->n = 256;
  snprintf(t->desc, sizeof t->desc, "bytes: 256 pieces (token = byte), no bos / eos");
  return t;
}

tern_tok *tern_tok_new_spm(int n, const char *const *piece, const size_t *len, const float *score,
                           const int32_t *type, int bos, int eos, int unk, const char *what,
                           char *err, size_t errlen) {
  tern_tok *t = tok_alloc(TERN_TOK_SPM, what);
  if (!t) {
    tern_err(err, errlen, "%s: out of memory", what ? what : "tokenizer");
    return NULL;
  }
  if (tok_set_pieces(t, n, piece, len, "tokenizer.ggml.tokens", err, errlen) != 0) goto fail;
  if (check_id(t, bos, "tokenizer.ggml.bos_token_id", err, errlen) != 0 ||
      check_id(t, eos, "tokenizer.ggml.eos_token_id", err, errlen) != 0 ||
      check_id(t, unk, "tokenizer.ggml.unknown_token_id", err, errlen) != 0)
    goto fail;
  t->bos = bos;
  t->eos = eos;
  t->unk = unk;
  for (int i = 0; score && i < n; i++) {
    if (!isfinite(score[i])) {
      tern_err(err, errlen, "%s: tokenizer.ggml.scores[%d] = %g; expected a finite number",
               t->what, i, (double)score[i]);
      goto fail;
    }
    t->score[i] = score[i];
  }
  if (set_types(t, type, err, errlen) != 0) goto fail;
  t->escape_spaces = 1;
  t->prefix = TOK_PREFIX_EACH;
  t->byte_fallback = 1;
  t->add_bos_default = 1;
  if (tok_finish(t, err, errlen) != 0) goto fail;
  return t;
fail:
  tern_tok_free(t);
  return NULL;
}

tern_tok *tern_tok_new_bpe(int n, const char *const *piece, const size_t *len,
                           const int32_t *type, int n_merges, const char *const *merge,
                           const size_t *merge_len, const char *pre, int bos, int eos,
                           const char *what, char *err, size_t errlen) {
  char e1[64], names[512];
  tern_tok *t = tok_alloc(TERN_TOK_BPE, what);
  if (!t) {
    tern_err(err, errlen, "%s: out of memory", what ? what : "tokenizer");
    return NULL;
  }
  if (tok_set_pieces(t, n, piece, len, "tokenizer.ggml.tokens", err, errlen) != 0) goto fail;
  if (check_id(t, bos, "tokenizer.ggml.bos_token_id", err, errlen) != 0 ||
      check_id(t, eos, "tokenizer.ggml.eos_token_id", err, errlen) != 0)
    goto fail;
  t->bos = bos;
  t->eos = eos;
  if (set_types(t, type, err, errlen) != 0) goto fail;
  if (!pre || !*pre) pre = "default";
  t->pre = tok_pre_find(pre);
  if (!t->pre) {
    tok_pre_names(names, sizeof names);
    tern_err(err, errlen, "%s: tokenizer.ggml.pre = \"%s\" is not a known pre-tokenizer; expected one of %s",
             t->what, tok_esc(e1, sizeof e1, pre, strlen(pre)), names);
    goto fail;
  }
  if (n_merges < 0 || n_merges > TERN_TOK_MAX_MERGES || (n_merges > 0 && (!merge || !merge_len))) {
    tern_err(err, errlen, "%s: tokenizer.ggml.merges has %d entries; expected 0 to %d", t->what,
             n_merges, TERN_TOK_MAX_MERGES);
    goto fail;
  }
  if (tok_map_init(&t->merges, (size_t)n_merges) != 0) {
    tern_err(err, errlen, "%s: out of memory for %d merges", t->what, n_merges);
    goto fail;
  }
  for (int i = 0; i < n_merges; i++) {
    const char *m = merge[i];
    size_t ml = merge_len[i], sp = 1;
    if (ml > 2 * TERN_TOK_MAX_PIECE + 1 || (ml && !m)) {
      tern_err(err, errlen, "%s: tokenizer.ggml.merges[%d] is %zu bytes long; expected at most %d",
               t->what, i, ml, 2 * TERN_TOK_MAX_PIECE + 1);
      goto fail;
    }
    while (sp < ml && m[sp] != ' ') sp++;
    if (ml < 3 || sp >= ml - 1) {
      tern_err(err, errlen, "%s: tokenizer.ggml.merges[%d] = \"%s\"; expected \"left right\"",
               t->what, i, tok_esc(e1, sizeof e1, m ? m : "", ml));
      goto fail;
    }
    if (tok_add_merge(t, m, sp, m + sp + 1, ml - sp - 1, i, "tokenizer.ggml.merges",
                      "tokenizer.ggml.tokens", err, errlen) != 0)
      goto fail;
  }
  t->byte_level = 1;
  t->ignore_merges = t->pre->ignore_merges;
  t->add_bos_default = t->pre->add_bos;
  if (tok_pre_compile(t, t->pre, err, errlen) != 0 || tok_finish(t, err, errlen) != 0) goto fail;
  return t;
fail:
  tern_tok_free(t);
  return NULL;
}

void tern_tok_free(tern_tok *t) {
  if (!t) return;
  free(t->arena);
  free(t->off);
  free(t->len);
  free(t->score);
  free(t->type);
  free(t->tflags);
  free(t->ht);
  tok_map_free(&t->merges);
  tok_map_free(&t->ac);
  free(t->ac_fail);
  free(t->ac_all);
  free(t->ac_ud);
  for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
  free(t);
}

/* ---- accessors ----------------------------------------------------------------------------- */

int tern_tok_vocab(const tern_tok *t) { return t ? t->n : 0; }
int tern_tok_bos(const tern_tok *t) { return t ? t->bos : -1; }
int tern_tok_eos(const tern_tok *t) { return t ? t->eos : -1; }
int tern_tok_unk(const tern_tok *t) { return t ? t->unk : -1; }
int tern_tok_add_bos(const tern_tok *t) { return t && t->bos >= 0 && t->add_bos_default; }
tern_tok_kind tern_tok_kind_of(const tern_tok *t) { return t ? t->kind : TERN_TOK_BYTES; }
const char *tern_tok_describe(const tern_tok *t) { return t ? t->desc : ""; }

int tern_tok_find(const tern_tok *t, const char *piece, size_t len) {
  if (!t || !piece) return -1;
  if (t->kind == TERN_TOK_BYTES) return len == 1 ? (unsigned char)piece[0] : -1;
  return tok_find(t, piece, len);
}

int tern_tok_type(const tern_tok *t, int id) {
  if (!t || id < 0 || id >= t->n) return -1;
  return t->kind == TERN_TOK_BYTES ? TERN_TOK_TYPE_BYTE : t->type[id];
}

int tern_tok_set_special(tern_tok *t, int bos, int eos, char *err, size_t errlen) {
  if (!t) return tern_err(err, errlen, "tokenizer: NULL");
  if (check_id(t, bos, "bos", err, errlen) != 0 || check_id(t, eos, "eos", err, errlen) != 0)
    return -1;
  t->bos = bos;
  t->eos = eos;
  return 0;
}

void tern_tok_set_add_space_prefix(tern_tok *t, int on) {
  if (t && t->kind == TERN_TOK_SPM) t->prefix = on ? TOK_PREFIX_EACH : TOK_PREFIX_NONE;
}

/* ---- the encode pipeline ------------------------------------------------------------------- */

typedef int (*unit_fn)(void *ctx, const char *s, size_t n, int id);

typedef struct {
  unit_fn fn;
  void *ctx;
} unit_sink;

static int piece_to_unit(void *ctx, const char *s, size_t n) {
  unit_sink *u = ctx;
  return u->fn(u->ctx, s, n, -1);
}

/* One fragment of text (between special tokens): normalisation and pre-tokenization. */
static int fragment(const tern_tok *t, const char *s, size_t n, int at_start, unit_fn fn,
                    void *ctx, char *err, size_t errlen) {
  if (t->kind == TERN_TOK_BYTES) return fn(ctx, s, n, -1);
  if (t->escape_spaces) {
    char *buf = malloc(n * 3 + 4);
    if (!buf) return tern_err(err, errlen, "%s: out of memory for %zu bytes of text", t->what, n);
    size_t o = 0;
    int pre = t->prefix == TOK_PREFIX_EACH || (t->prefix == TOK_PREFIX_FIRST && at_start);
    if (pre && t->prefix_cond && (s[0] == ' ' || (n >= 3 && memcmp(s, SPACE_MARK, 3) == 0))) pre = 0;
    if (pre) {
      memcpy(buf, SPACE_MARK, 3);
      o = 3;
    }
    for (size_t i = 0; i < n; i++) {
      if (s[i] == ' ') {
        memcpy(buf + o, SPACE_MARK, 3);
        o += 3;
      } else {
        buf[o++] = s[i];
      }
    }
    int rc = 0;
    if (!t->meta_split) {
      rc = fn(ctx, buf, o, -1);
    } else { /* HF Metaspace split: every word starts at a U+2581 (MergedWithNext) */
      size_t w = 0;
      for (size_t i = 1; i + 3 <= o && rc == 0; i++) {
        if (memcmp(buf + i, SPACE_MARK, 3) == 0) {
          rc = fn(ctx, buf + w, i - w, -1);
          w = i;
          i += 2;
        }
      }
      if (rc == 0) rc = fn(ctx, buf + w, o - w, -1);
    }
    free(buf);
    return rc;
  }
  /* byte-level BPE */
  char *buf = NULL;
  if (t->bl_prefix_space && s[0] != ' ') {
    buf = malloc(n + 1);
    if (!buf) return tern_err(err, errlen, "%s: out of memory for %zu bytes of text", t->what, n);
    buf[0] = ' ';
    memcpy(buf + 1, s, n);
    s = buf;
    n++;
  }
  int rc;
  if (t->n_re == 0) {
    rc = fn(ctx, s, n, -1);
  } else {
    unit_sink u = {fn, ctx};
    rc = tok_pre_split(t, s, n, piece_to_unit, &u, err, errlen);
  }
  free(buf);
  return rc;
}

#define SPECIAL_WINDOW ((size_t)1 << 16)

static int pipeline(const tern_tok *t, const char *text, size_t len, int flags, unit_fn fn,
                    void *ctx, char *err, size_t errlen) {
  size_t frag = 0, i = 0;
  int ps = (flags & TERN_TOK_PARSE_SPECIAL) != 0;
  int32_t *best = NULL;
  size_t w0 = 0, w1 = 0;
  if (t->n_special && len) {
    best = malloc((len < SPECIAL_WINDOW ? len : SPECIAL_WINDOW) * sizeof *best);
    if (!best) return tern_err(err, errlen, "%s: out of memory for %zu bytes of text", t->what, len);
  }
  while (best && i < len) {
    if (i >= w1) { /* leftmost-longest: scan windows left to right */
      w0 = i;
      w1 = len - i < SPECIAL_WINDOW ? len : i + SPECIAL_WINDOW;
      tok_specials_window(t, text, len, w0, w1, ps, best);
    }
    int id = best[i - w0];
    if (id < 0) {
      i++;
      continue;
    }
    size_t m = t->len[id], fend = i;
    uint8_t fl = t->tflags ? t->tflags[id] : 0;
    if (fl & TOK_LSTRIP)
      while (fend > frag && isspace((unsigned char)text[fend - 1])) fend--;
    if (fend > frag && fragment(t, text + frag, fend - frag, frag == 0, fn, ctx, err, errlen) != 0)
      goto fail;
    if (fn(ctx, text + i, m, id) != 0) goto fail;
    i += m;
    if (fl & TOK_RSTRIP)
      while (i < len && isspace((unsigned char)text[i])) i++;
    frag = i;
  }
  free(best);
  best = NULL;
  if (len > frag && fragment(t, text + frag, len - frag, frag == 0, fn, ctx, err, errlen) != 0)
    return -1;
  return 0;
fail:
  free(best);
  return -1;
}

int tok_out_push(tok_out *o, int id, char *err, size_t errlen) {
  if (o->ids && o->n >= o->max)
    return tern_err(err, errlen, "%s: the text needs more than max_ids = %d ids", o->what, o->max);
  if (o->n == INT_MAX) return tern_err(err, errlen, "%s: more than %d ids", o->what, INT_MAX);
  if (o->ids) o->ids[o->n] = id;
  o->n++;
  return 0;
}

typedef struct {
  const tern_tok *t;
  tok_out *o;
  char *err;
  size_t errlen;
} enc_ctx;

static int enc_unit(void *ctx, const char *s, size_t n, int id) {
  enc_ctx *c = ctx;
  if (id >= 0) return tok_out_push(c->o, id, c->err, c->errlen);
  switch (c->t->kind) {
    case TERN_TOK_BYTES:
      for (size_t i = 0; i < n; i++)
        if (tok_out_push(c->o, (unsigned char)s[i], c->err, c->errlen) != 0) return -1;
      return 0;
    case TERN_TOK_SPM:
      return tok_spm_encode(c->t, s, n, c->o, c->err, c->errlen);
    case TERN_TOK_BPE:
      return tok_bpe_word(c->t, s, n, c->o, c->err, c->errlen);
  }
  return -1;
}

static int check_text(const tern_tok *t, const char *text, size_t len, char *err, size_t errlen) {
  if (!t) return tern_err(err, errlen, "tokenizer: NULL");
  if (!text && len) return tern_err(err, errlen, "%s: NULL text of %zu bytes", t->what, len);
  if (len > TERN_TOK_MAX_TEXT)
    return tern_err(err, errlen, "%s: text of %zu bytes; expected at most %zu", t->what, len,
                    TERN_TOK_MAX_TEXT);
  return 0;
}

int tern_tok_encode(const tern_tok *t, const char *text, size_t len, int flags, int *ids,
                    int max_ids, char *err, size_t errlen) {
  if (check_text(t, text, len, err, errlen) != 0) return -1;
  if (max_ids < 0 || (!ids && max_ids != 0))
    return tern_err(err, errlen, "%s: max_ids = %d with ids %s; expected ids != NULL and max_ids >= 0, or NULL and 0 to count",
                    t->what, max_ids, ids ? "given" : "NULL");
  tok_out o = {ids, max_ids, 0, t->what};
  if (flags & TERN_TOK_ADD_BOS) {
    if (t->bos < 0)
      return tern_err(err, errlen, "%s: BOS requested (TERN_TOK_ADD_BOS) but the tokenizer has none",
                      t->what);
    if (tok_out_push(&o, t->bos, err, errlen) != 0) return -1;
  }
  enc_ctx c = {t, &o, err, errlen};
  if (pipeline(t, text, len, flags, enc_unit, &c, err, errlen) != 0) return -1;
  return o.n;
}

typedef struct {
  tern_tok_split_fn fn;
  void *ctx;
  int count;
  const char *what;
  char *err;
  size_t errlen;
} split_ctx;

static int split_unit(void *ctx, const char *s, size_t n, int id) {
  split_ctx *c = ctx;
  if (c->count == INT_MAX) return tern_err(c->err, c->errlen, "%s: more than %d units", c->what, INT_MAX);
  c->count++;
  if (c->fn && c->fn(c->ctx, s, n, id) != 0)
    return tern_err(c->err, c->errlen, "%s: tern_tok_split: the callback stopped at unit %d",
                    c->what, c->count - 1);
  return 0;
}

int tern_tok_split(const tern_tok *t, const char *text, size_t len, int flags,
                   tern_tok_split_fn fn, void *ctx, char *err, size_t errlen) {
  if (check_text(t, text, len, err, errlen) != 0) return -1;
  split_ctx c = {fn, ctx, 0, t->what, err, errlen};
  if (pipeline(t, text, len, flags, split_unit, &c, err, errlen) != 0) return -1;
  return c.count;
}

/* ---- decoding ------------------------------------------------------------------------------ */

typedef struct {
  char *out;
  size_t cap, n;
  int strip; /* the next byte written is the space prefix: drop it if it is ' ' */
} sink;

static void put(sink *k, const char *s, size_t n) {
  if (n && k->strip) {
    k->strip = 0;
    if (s[0] == ' ') {
      s++;
      n--;
    }
  }
  if (k->out && k->n + 1 < k->cap) {
    size_t room = k->cap - 1 - k->n;
    memcpy(k->out + k->n, s, n < room ? n : room);
  }
  k->n += n;
}

static int hexval(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : c >= 'a' && c <= 'f'   ? c - 'a' + 10
                                                               : -1;
}

static void render(const tern_tok *t, int id, sink *k) {
  if (t->kind == TERN_TOK_BYTES) {
    char c = (char)id;
    put(k, &c, 1);
    return;
  }
  const char *p = t->arena + t->off[id];
  size_t n = t->len[id];
  switch (t->type[id]) {
    case TERN_TOK_TYPE_CONTROL:
    case TERN_TOK_TYPE_UNKNOWN:
    case TERN_TOK_TYPE_UNUSED:
      return;
    case TERN_TOK_TYPE_USER_DEFINED:
      put(k, p, n);
      return;
    case TERN_TOK_TYPE_BYTE:
      if (n == 6 && memcmp(p, "<0x", 3) == 0 && p[5] == '>' && hexval(p[3]) >= 0 &&
          hexval(p[4]) >= 0) {
        char c = (char)(hexval(p[3]) * 16 + hexval(p[4]));
        put(k, &c, 1);
      } else {
        put(k, p, n);
      }
      return;
    default:
      break;
  }
  if (t->escape_spaces) {
    size_t a = 0;
    for (size_t i = 0; i + 3 <= n; i++) {
      if (memcmp(p + i, SPACE_MARK, 3) == 0) {
        put(k, p + a, i - a);
        put(k, " ", 1);
        a = i + 3;
        i += 2;
      }
    }
    put(k, p + a, n - a);
    return;
  }
  if (t->byte_level) { /* GPT-2 alphabet -> bytes; a piece outside it is copied as is (HF) */
    char buf[TERN_TOK_MAX_PIECE];
    size_t o = 0, i = 0;
    while (i < n) {
      int l = tok_utf8_len((const unsigned char *)p + i, n - i);
      uint32_t cp = 0;
      if (l == 1) cp = (unsigned char)p[i];
      else if (l == 2) cp = ((uint32_t)(p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f);
      int b = l == 1 || l == 2 ? tok_cp_byte(cp) : -1;
      if (b < 0) break;
      buf[o++] = (char)b;
      i += (size_t)l;
    }
    if (i == n) put(k, buf, o);
    else put(k, p, n);
    return;
  }
  put(k, p, n);
}

static int decode_ids(const tern_tok *t, const int *ids, int n, int strip, char *out,
                      size_t outlen, char *err, size_t errlen) {
  if (!t) return tern_err(err, errlen, "tokenizer: NULL");
  if (n < 0 || (n > 0 && !ids))
    return tern_err(err, errlen, "%s: decode of %d ids%s; expected n >= 0", t->what, n,
                    ids ? "" : " (NULL)");
  sink k = {out, outlen, 0, strip};
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->n)
      return tern_err(err, errlen, "%s: id %d at position %d; expected 0 to %d", t->what, ids[i],
                      i, t->n - 1);
    render(t, ids[i], &k);
  }
  if (out && outlen) out[k.n < outlen ? k.n : outlen - 1] = 0;
  if (k.n > INT_MAX) return tern_err(err, errlen, "%s: decoded text over %d bytes", t->what, INT_MAX);
  return (int)k.n;
}

int tern_tok_decode(const tern_tok *t, const int *ids, int n, char *out, size_t outlen,
                    char *err, size_t errlen) {
  int strip = t && t->escape_spaces && t->prefix != TOK_PREFIX_NONE;
  return decode_ids(t, ids, n, strip, out, outlen, err, errlen);
}

int tern_tok_piece(const tern_tok *t, int id, char *out, size_t outlen, char *err,
                   size_t errlen) {
  return decode_ids(t, &id, 1, 0, out, outlen, err, errlen);
}
