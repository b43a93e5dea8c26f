/* Internal (not installed): the tern_tok structure and the helpers the four
 * tokenizer files share (include/tern/tokenizer.h lists them). */
#ifndef TERN_MODELS_TOKENIZER_INTERNAL_H
#define TERN_MODELS_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tern/tokenizer.h"

#define TOK_MAX_RE 4 /* regexes of one pre-tokenizer (llama.cpp "default" has 4) */

/* Open-addressing map uint64 key -> two int32 values (BPE merges: (left id,
 * right id) -> (rank, result id); special-token trie: (node, byte) -> child). */
typedef struct tok_map {
  uint64_t *key; /* UINT64_MAX = empty */
  int32_t *a, *b;
  uint64_t mask;
  size_t n;
} tok_map;

int tok_map_init(tok_map *m, size_t expected);
void tok_map_free(tok_map *m);
/* Inserts key if absent (values a, b); returns 1 if inserted, 0 if present, -1 out of memory. */
int tok_map_put(tok_map *m, uint64_t key, int32_t a, int32_t b);
/* Index of key or -1. */
long tok_map_get(const tok_map *m, uint64_t key);

/* How the space prefix of SPM / Metaspace is added to a text fragment (a
 * fragment = text between special tokens). */
enum { TOK_PREFIX_NONE = 0, TOK_PREFIX_FIRST = 1 /* only at text offset 0 */,
       TOK_PREFIX_EACH = 2 /* every fragment (llama.cpp, HF Prepend normaliser) */ };

enum { TOK_LSTRIP = 1, TOK_RSTRIP = 2 };

/* One named pre-tokenizer (models/tokenizer_pre.c). */
typedef struct tok_pre {
  const char *name;
  const char *aliases; /* space-separated, may be NULL */
  int n_re;
  const char *re[TOK_MAX_RE];      /* as compiled (PCRE2) */
  const char *hf_re;               /* the pattern as a tokenizer.json Split stores it, or NULL */
  const char *hf_re2;              /* another spelling of it, or NULL */
  int ignore_merges;               /* llama.cpp sets it for the llama-bpe family */
  int add_bos;
} tok_pre;

struct tern_tok {
  tern_tok_kind kind;
  int n; /* pieces */
  char *arena;
  uint32_t *off;
  uint16_t *len;
  float *score;
  uint8_t *type;
  uint8_t *tflags; /* tokenizer.json added_tokens: TOK_LSTRIP | TOK_RSTRIP; NULL if none */
  int32_t *ht; /* piece bytes -> id, -1 empty */
  uint64_t ht_mask;
  int max_len;
  int bos, eos, unk;
  int add_bos_default;

  /* SPM and Metaspace-BPE: "\xe2\x96\x81" for ' ', prefix per TOK_PREFIX_* */
  int escape_spaces;
  int prefix;
  int prefix_cond; /* only if the fragment does not already start with U+2581 (HF Metaspace) */
  /* BPE */
  int byte_level;       /* 1: GPT-2 byte alphabet; 0: characters with byte fallback */
  int byte_fallback;    /* unknown character -> <0xXX> pieces (SPM always tries them) */
  int fuse_unk;         /* consecutive unknown characters -> one unk */
  int ignore_merges;    /* a pre-token that is a piece is emitted as is */
  int meta_split;       /* Metaspace split = true: words start at each U+2581 */
  int bl_prefix_space;  /* ByteLevel add_prefix_space: ' ' before a fragment not starting with one */
  int n_merges;
  tok_map merges;
  int byte_id[256];     /* byte-level: id of the byte's GPT-2 character; else id of <0xXX>; -1 */
  const tok_pre *pre;
  pcre2_code *re[TOK_MAX_RE];
  int n_re;
  /* special tokens (CONTROL, UNKNOWN, USER_DEFINED): an Aho-Corasick automaton
   * of the reversed tokens, run right to left over the text, gives the longest
   * special token starting at each position in O(1) amortised per byte */
  tok_map ac;        /* (node << 8 | byte) -> child */
  int32_t *ac_fail;  /* node -> failure link */
  int32_t *ac_all;   /* node -> longest special token ending the reversed path here, or -1 */
  int32_t *ac_ud;    /* the same among USER_DEFINED tokens only */
  int32_t ac_root[256];
  int ac_nodes;
  int n_special;
  int special_max; /* bytes of the longest special token */

  char what[160];
  char desc[320];
};

/* ---- models/tokenizer.c ---- */
/* Creation shared by GGUF and tokenizer.json: copies and checks the pieces
 * (f_tokens names the field in messages). */
tern_tok *tok_alloc(tern_tok_kind kind, const char *what);
int tok_set_pieces(tern_tok *t, int n, const char *const *piece, const size_t *len,
                   const char *f_tokens, char *err, size_t errlen);
int tok_find(const tern_tok *t, const char *s, size_t n); /* any type */
int tok_mergeable(const tern_tok *t, int id);             /* NORMAL / UNDEFINED / USER_DEFINED */
int tok_finish(tern_tok *t, char *err, size_t errlen);    /* byte ids, special trie, describe */
int tok_add_merge(tern_tok *t, const char *a, size_t na, const char *b, size_t nb, int rank,
                  const char *f_merges, const char *f_tokens, char *err, size_t errlen);
/* s escaped for a message: printable ASCII kept, the rest \xNN, at most ~48 chars */
const char *tok_esc(char *dst, size_t cap, const char *s, size_t n);

/* ---- models/tokenizer_special.c ---- */
int tok_build_specials(tern_tok *t); /* 0, or -1 out of memory */
/* best[j - w0] for j in [w0, w1): the longest special token starting at j that
 * is eligible (USER_DEFINED; all three types with parse_special), or -1. */
void tok_specials_window(const tern_tok *t, const char *text, size_t len, size_t w0, size_t w1,
                         int parse_special, int32_t *best);

/* ---- models/tokenizer_merge.c ---- */
typedef struct tok_out {
  int *ids; /* NULL: count only */
  int max;
  int n;
  const char *what;
} tok_out;
int tok_out_push(tok_out *o, int id, char *err, size_t errlen);
int tok_spm_encode(const tern_tok *t, const char *s, size_t n, tok_out *o, char *err,
                   size_t errlen);
int tok_bpe_word(const tern_tok *t, const char *s, size_t n, tok_out *o, char *err,
                 size_t errlen);

/* ---- models/tokenizer_pre.c ---- */
/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid (RFC 3629:
 * no overlongs, no surrogates, at most U+10FFFF). */
int tok_utf8_len(const unsigned char *s, size_t avail);
/* GPT-2 bytes_to_unicode: code point of byte b; inverse (-1 if none). */
uint32_t tok_byte_cp(int b);
int tok_cp_byte(uint32_t cp);
/* UTF-8 of the byte's GPT-2 character into out[2]; returns 1 or 2. */
int tok_byte_utf8(int b, char *out);
const tok_pre *tok_pre_find(const char *name);
const tok_pre *tok_pre_find_hf(const char *pattern);
void tok_pre_names(char *dst, size_t cap); /* "gpt-2, llama-bpe, ..." */
int tok_pre_compile(tern_tok *t, const tok_pre *p, char *err, size_t errlen);
/* Splits s[0..n) with t's regexes; calls fn for each piece (raw bytes of s). */
typedef int (*tok_piece_fn)(void *ctx, const char *s, size_t n);
int tok_pre_split(const tern_tok *t, const char *s, size_t n, tok_piece_fn fn, void *ctx,
                  char *err, size_t errlen);

#endif
