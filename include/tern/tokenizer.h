/* Tokenizers (issue 11 item 4; docs/TOKENIZERS.md): text <-> token ids for
 * real checkpoints, beside the byte-level tokenizer of the built-in models.
 *
 *   TERN_TOK_BYTES  token = byte (the built-in models' tokenizer).
 *   TERN_TOK_SPM    a SentencePiece-style vocabulary as a GGUF file embeds
 *                   it (tokenizer.ggml.model = "llama"): pieces with scores,
 *                   "\xe2\x96\x81" (U+2581) for a space, <0xXX> byte pieces;
 *                   encoded as llama.cpp's llm_tokenizer_spm (highest-score
 *                   adjacent merge first).
 *   TERN_TOK_BPE    merge-ranked BPE: GPT-2 / LLaMA-3 byte-level BPE (GGUF
 *                   tokenizer.ggml.model = "gpt2", or a Hugging Face
 *                   tokenizer.json with a ByteLevel pre-tokenizer), or the
 *                   LLaMA-2 style tokenizer.json (Metaspace / "\xe2\x96\x81"
 *                   normaliser, byte_fallback).
 *
 *   models/tokenizer.c        vocabulary, special tokens, encode / decode
 *   models/tokenizer_special.c  special tokens in the text (Aho-Corasick)
 *   models/tokenizer_merge.c  the SPM and BPE merge loops (priority queues)
 *   models/tokenizer_pre.c    UTF-8, GPT-2 byte alphabet, regex pre-tokenizers (PCRE2)
 *   models/tokenizer_hf.c     tokenizer.json (libjansson)
 *
 * Every vocabulary and tokenizer.json is untrusted: sizes are bounded
 * (TERN_TOK_MAX_*), every merge must name vocabulary pieces, and every error
 * message names the source (the `what` argument or the file), the field, the
 * value and what was expected.  Encoding is O(n log n) in the text length
 * (linked symbols and a binary heap); invalid UTF-8 in the text is encoded
 * byte by byte (byte pieces), never rejected.  A tern_tok is immutable after
 * creation (the two setters aside) and may be shared between threads. */
#ifndef TERN_TOKENIZER_H
#define TERN_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_tok tern_tok;

typedef enum tern_tok_kind { TERN_TOK_BYTES = 0, TERN_TOK_SPM = 1, TERN_TOK_BPE = 2 } tern_tok_kind;

/* Token types: the values of GGUF tokenizer.ggml.token_type (llama.cpp
 * include/llama.h, llama_token_type). */
enum {
  TERN_TOK_TYPE_UNDEFINED = 0, /* treated as NORMAL */
  TERN_TOK_TYPE_NORMAL = 1,
  TERN_TOK_TYPE_UNKNOWN = 2,      /* <unk>: never formed by merging, not decoded */
  TERN_TOK_TYPE_CONTROL = 3,      /* <s>, </s>, <|begin_of_text|>: matched in text only with
                                     TERN_TOK_PARSE_SPECIAL, not decoded */
  TERN_TOK_TYPE_USER_DEFINED = 4, /* always matched in text before the model runs, decoded as is */
  TERN_TOK_TYPE_UNUSED = 5,       /* never produced, decoded as nothing */
  TERN_TOK_TYPE_BYTE = 6          /* <0xXX>: one byte */
};

/* Limits on untrusted input (refused with a message beyond them). */
#define TERN_TOK_MAX_VOCAB (1 << 22)          /* pieces */
#define TERN_TOK_MAX_PIECE 1024               /* bytes of one piece */
#define TERN_TOK_MAX_MERGES (1 << 23)         /* BPE merges */
#define TERN_TOK_MAX_FILE ((size_t)64 << 20)  /* bytes of a tokenizer.json */
#define TERN_TOK_MAX_TEXT ((size_t)256 << 20) /* bytes of one text to encode */

/* Flags of tern_tok_encode (passing 1 / 0 for "add BOS" works). */
#define TERN_TOK_ADD_BOS 1       /* put the BOS id first (error if the tokenizer has none) */
#define TERN_TOK_PARSE_SPECIAL 2 /* control tokens written in the text ("<|eot_id|>") become
                                    their ids; without it they are encoded as plain text */

/* token = byte: vocabulary 256, no BOS / EOS.  NULL only when out of memory. */
tern_tok *tern_tok_new_bytes(void);

/* A SentencePiece-style vocabulary as GGUF stores it: n pieces (piece[i],
 * len[i] bytes, need not be NUL-terminated), score[i] (higher merges first),
 * type[i] (TERN_TOK_TYPE_*; NULL: <0xXX> pieces are BYTE, bos / eos CONTROL,
 * unk UNKNOWN, the rest NORMAL).  bos / eos / unk: ids or -1 for none.
 * `what` names the source in messages (e.g. "model.gguf").  Pieces must be
 * unique.  The space prefix ("add_space_prefix") is on; see
 * tern_tok_set_add_space_prefix. */
tern_tok *tern_tok_new_spm(int n, const char *const *piece, const size_t *len, const float *score,
                           const int32_t *type, int bos, int eos, int unk, const char *what,
                           char *err, size_t errlen);

/* Byte-level BPE as GGUF stores it: pieces in the GPT-2 byte-to-unicode
 * alphabet, type as above (may be NULL), merges "left right" in rank order
 * (rank = index; split at the first space after the first byte; both halves
 * and their concatenation must be pieces), pre = the pre-tokenizer name of
 * tokenizer.ggml.pre ("gpt-2", "llama-bpe", "qwen2", "default", ... see
 * docs/TOKENIZERS.md; NULL or "" = "default", as llama.cpp).  An unknown name
 * is refused with the list of known ones. */
tern_tok *tern_tok_new_bpe(int n, const char *const *piece, const size_t *len,
                           const int32_t *type, int n_merges, const char *const *merge,
                           const size_t *merge_len, const char *pre, int bos, int eos,
                           const char *what, char *err, size_t errlen);

/* A Hugging Face tokenizer.json with a BPE model (file at most
 * TERN_TOK_MAX_FILE bytes).  BOS = the special token the post_processor's
 * TemplateProcessing puts first, if any; EOS = the first special added token
 * among "</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<eos>" (the
 * file does not say; override with tern_tok_set_special). */
tern_tok *tern_tok_load_hf(const char *tokenizer_json_path, char *err, size_t errlen);
/* The same from memory; `what` names the source in messages. */
tern_tok *tern_tok_parse_hf(const char *json, size_t len, const char *what, char *err,
                            size_t errlen);

/* Encodes len bytes of text (any bytes; need not be NUL-terminated).
 * Returns the number of ids, or -1 (message in err) when more than max_ids
 * would be needed, the text is longer than TERN_TOK_MAX_TEXT or a character
 * has neither a piece, byte pieces nor an unk id.  ids == NULL with
 * max_ids == 0 only counts. */
int tern_tok_encode(const tern_tok *t, const char *text, size_t len, int flags, int *ids,
                    int max_ids, char *err, size_t errlen);

/* Decodes ids to bytes, snprintf-style: writes at most outlen - 1 bytes and a
 * NUL (the text may itself contain NUL bytes) and returns the full length, or
 * -1 (message in err) for an id outside [0, vocab).  CONTROL / UNKNOWN /
 * UNUSED tokens give nothing; with a space prefix (SPM, Metaspace) the first
 * space of the output is the prefix and is dropped, so that
 * decode(encode(x)) == x for text without special tokens. */
int tern_tok_decode(const tern_tok *t, const int *ids, int n, char *out, size_t outlen,
                    char *err, size_t errlen);

/* The bytes one token stands for inside a text (no prefix dropped), for
 * streaming output; snprintf-style as tern_tok_decode. */
int tern_tok_piece(const tern_tok *t, int id, char *out, size_t outlen, char *err,
                   size_t errlen);

/* The pre-tokenization of text: calls fn once per unit the model then
 * encodes separately, in order: a special token (id >= 0, its text) or a
 * piece of text after normalisation (id = -1; the bytes the merges start
 * from, before the GPT-2 byte mapping: e.g. " world" for GPT-2,
 * "\xe2\x96\x81Hello" for SPM).  fn returns 0, or -1 to stop (then this
 * returns -1).  Returns the number of units, or -1. */
typedef int (*tern_tok_split_fn)(void *ctx, const char *piece, size_t len, int id);
int tern_tok_split(const tern_tok *t, const char *text, size_t len, int flags,
                   tern_tok_split_fn fn, void *ctx, char *err, size_t errlen);

int tern_tok_vocab(const tern_tok *t);
int tern_tok_bos(const tern_tok *t); /* -1: none */
int tern_tok_eos(const tern_tok *t); /* -1: none */
int tern_tok_unk(const tern_tok *t); /* -1: none */
/* Whether the model expects a BOS first (SPM: yes; "llama-bpe": yes; a
 * tokenizer.json whose template starts with a special token: yes). */
int tern_tok_add_bos(const tern_tok *t);
tern_tok_kind tern_tok_kind_of(const tern_tok *t);
/* The id of the piece with exactly these bytes, or -1. */
int tern_tok_find(const tern_tok *t, const char *piece, size_t len);
/* TERN_TOK_TYPE_* of id, or -1 if out of range. */
int tern_tok_type(const tern_tok *t, int id);
/* One line: kind, pre-tokenizer / normaliser, pieces, merges, bos / eos. */
const char *tern_tok_describe(const tern_tok *t);

/* Overrides BOS / EOS (-1: none); 0, or -1 if an id is out of range. */
int tern_tok_set_special(tern_tok *t, int bos, int eos, char *err, size_t errlen);
/* SPM only: GGUF tokenizer.ggml.add_space_prefix (default on). */
void tern_tok_set_add_space_prefix(tern_tok *t, int on);

void tern_tok_free(tern_tok *t);

#ifdef __cplusplus
}
#endif
#endif
