/* Decoder-only transformer LMs (issue 3, model side): the model description
 * (a small INI text format, docs/MODELS.md), the presets, seeded weights with
 * packed 2-bit ternary matrices, and the float32 reference (BitNet b1.58
 * BitLinear fake quantisation, RoPE, MHA/GQA/MQA with a KV cache).
 *   models/tfm_config.c   parse / print / check / parameter count
 *   models/tfm_presets.c  built-in presets (as text in the same format)
 *   models/tfm_weights.c  PRNG streams, packed ternary, int8 embeddings
 *   models/tfm_float.c    float reference, sampler, byte tokenizer */
#ifndef TERN_TFM_H
#define TERN_TFM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- model description --------------------------------------------------- */

typedef enum tern_ffn_type {
  TERN_FFN_SWIGLU = 0,    /* down(silu(gate x) * up x) */
  TERN_FFN_RELU2_GLU = 1, /* down(relu(gate x)^2 * up x)   (BitNet b1.58 2B4T) */
  TERN_FFN_RELU2 = 2,     /* down(relu(up x)^2)            (Nemotron-4, Primer) */
  TERN_FFN_GELU = 3       /* down(gelu_tanh(up x))         (StarCoder2) */
} tern_ffn_type;

typedef enum tern_norm_type { TERN_NORM_RMS = 0, TERN_NORM_LAYER = 1 } tern_norm_type;

#define TERN_TFM_NAME_MAX 64
#define TERN_TFM_SOURCE_MAX 161 /* 160 characters: a line of the format is at most 196 */

typedef struct tern_tfm_config {
  char name[TERN_TFM_NAME_MAX];     /* [A-Za-z0-9._-]+ */
  char source[TERN_TFM_SOURCE_MAX]; /* source paper (free text, one line) */
  int vocab;          /* 256 = byte level */
  int dim;            /* model width d */
  int layers;         /* distinct blocks (weights) */
  int heads;          /* query heads */
  int kv_heads;       /* K/V heads: == heads MHA, 1 MQA, otherwise GQA */
  int head_dim;       /* default dim / heads; even (RoPE) */
  int ffn;            /* FFN hidden width */
  tern_ffn_type ffn_type;
  tern_norm_type norm;
  int norm_bias;      /* norms carry an additive bias (LayerNorm with bias) */
  int subln;          /* BitNet 2B4T SubLN: norm before o_proj and before down_proj */
  double rope_theta;  /* RoPE base */
  int window;         /* sliding attention window in positions (incl. self); 0 = full causal */
  int tie_embeddings; /* LM head = embedding matrix */
  int repeat;         /* each block runs `repeat` times in a row (MobileLLM-LS: 2) */
  int share_ffn;      /* one FFN (gate/up/down + FFN SubLN) shared by all blocks (MobiLlama) */
  int max_seq;        /* KV cache capacity (positions) */
  float eps;          /* norm epsilon */
  uint64_t seed;      /* weight seed */
} tern_tfm_config;

/* Defaults for every optional field (name/vocab/dim/... zero: must be set). */
void tern_tfm_config_init(tern_tfm_config *c);

/* Parse the text format.  `what` names the input in messages (file name).
 * Errors: "<what>:<line>: field '<f>' is '<v>', expected <...>" or, for the
 * shape checks, "<what>: field '<f>' ...".  Returns 0 or -1. */
int tern_tfm_parse_string(const char *text, const char *what, tern_tfm_config *c, char *err,
                          size_t errlen);
int tern_tfm_parse_file(const char *path, tern_tfm_config *c, char *err, size_t errlen);
/* Shape / range checks of a config (also run by the parsers). */
int tern_tfm_check(const tern_tfm_config *c, const char *what, char *err, size_t errlen);
/* Writes every field as the text format (parses back to the same config). */
int tern_tfm_print(FILE *f, const tern_tfm_config *c);
/* Same into a buffer; returns the length it needs (snprintf convention). */
int tern_tfm_print_string(char *buf, size_t n, const tern_tfm_config *c);

const char *tern_ffn_type_name(tern_ffn_type t);
const char *tern_norm_type_name(tern_norm_type t);
static inline int tern_ffn_is_glu(tern_ffn_type t) {
  return t == TERN_FFN_SWIGLU || t == TERN_FFN_RELU2_GLU;
}

/* Parameter count (docs/MODELS.md "Parameter counting"): weights stored once
 * (a repeated block or the shared FFN counts once). */
typedef struct tern_tfm_params {
  uint64_t ternary;   /* BitLinear weights of all blocks (q, k, v, o, FFN) */
  uint64_t norm;      /* norm gains and biases (incl. SubLN and the final norm) */
  uint64_t embedding; /* vocab * dim (int8) */
  uint64_t lm_head;   /* vocab * dim if untied, else 0 */
  uint64_t total;     /* sum of the above */
  uint64_t non_embedding; /* ternary + norm */
} tern_tfm_params;
tern_tfm_params tern_tfm_param_count(const tern_tfm_config *c);

/* ---- presets --------------------------------------------------------------- */

int tern_tfm_preset_count(void);
const char *tern_tfm_preset_name(int i);
/* The preset's text (the same format the parser reads). */
const char *tern_tfm_preset_text(int i);
/* Look up by name (case-sensitive) and parse. */
int tern_tfm_preset(const char *name, tern_tfm_config *c, char *err, size_t errlen);
/* Name of the default model of `make demo`. */
const char *tern_tfm_default_preset(void);
/* Loads NAME as a preset, or else as a file path. */
int tern_tfm_load_config(const char *name_or_path, tern_tfm_config *c, char *err, size_t errlen);
/* Table: name, params (total / non-embedding), shape, source.  Returns 0. */
int tern_tfm_list_presets(FILE *f);

/* ---- weights ---------------------------------------------------------------- */

/* Packed ternary matrix, BitLinear(K -> N): y[n] = sum_k x[k] * W[k][n] * beta.
 * Codes row-major [k][n], 4 per byte: code i in bits 2(i%4)+1:2(i%4) of byte
 * i/4 (the .twt / WBUF layout): 00 0, 01 +1, 11 -1, 10 reserved. */
typedef struct tern_tpacked {
  int k, n;
  float beta;
  uint8_t *codes; /* ceil(k*n/4) bytes */
} tern_tpacked;

size_t tern_tpacked_bytes(int k, int n);
/* Pack {-1,0,1} values; unused bits of the last byte are 0. */
void tern_tpack(const int8_t *w, size_t count, uint8_t *codes);
static inline int tern_tpacked_get(const uint8_t *codes, size_t i) {
  unsigned c = (codes[i >> 2] >> (2 * (i & 3))) & 3u;
  return c == 1u ? 1 : (c == 3u ? -1 : 0);
}
/* Unpack; returns -1 if a reserved code (10) is present, else 0. */
int tern_tunpack(const uint8_t *codes, size_t count, int8_t *w);

/* int8 matrix with one float scale per row (per-row absmax: w = q * scale[r]). */
typedef struct tern_i8rows {
  int rows, cols;
  int8_t *q;
  float *scale;
} tern_i8rows;

typedef struct tern_tfm_norm {
  float *g; /* gains */
  float *b; /* biases (NULL unless cfg.norm_bias) */
} tern_tfm_norm;

typedef struct tern_tfm_ffn {
  tern_tpacked gate;  /* dim -> ffn (GLU types only; codes NULL otherwise) */
  tern_tpacked up;    /* dim -> ffn */
  tern_tpacked down;  /* ffn -> dim */
  tern_tfm_norm subln; /* over ffn (cfg.subln) */
} tern_tfm_ffn;

typedef struct tern_tfm_block {
  tern_tfm_norm attn_norm;  /* over dim */
  tern_tpacked wq;          /* dim -> heads*head_dim */
  tern_tpacked wk, wv;      /* dim -> kv_heads*head_dim */
  tern_tpacked wo;          /* heads*head_dim -> dim */
  tern_tfm_norm attn_subln; /* over heads*head_dim (cfg.subln) */
  tern_tfm_norm ffn_norm;   /* over dim */
  tern_tfm_ffn *ffn;        /* own FFN, or the model's shared one */
  tern_tfm_ffn own_ffn;
} tern_tfm_block;

typedef struct tern_tfm_model {
  tern_tfm_config cfg;
  tern_i8rows embed;   /* vocab x dim */
  tern_i8rows lm_head; /* vocab x dim; q == NULL when tied (use embed) */
  tern_tfm_norm final_norm;
  tern_tfm_ffn shared_ffn; /* cfg.share_ffn */
  tern_tfm_block *block;   /* cfg.layers */
} tern_tfm_model;

/* Generates every tensor from cfg.seed.  Each tensor has its own PRNG stream
 * (docs/MODELS.md "Weights"), so one block can be generated on its own
 * (tern_tfm_generate_block) for streaming the large presets.  Refuses models
 * whose packed weights exceed max_bytes (0 = no limit). */
int tern_tfm_generate(const tern_tfm_config *cfg, tern_tfm_model *m, uint64_t max_bytes,
                      char *err, size_t errlen);
/* Block b alone (its own FFN unless share_ffn).  Free with tern_tfm_block_free. */
int tern_tfm_generate_block(const tern_tfm_config *cfg, int b, tern_tfm_block *blk, char *err,
                            size_t errlen);
void tern_tfm_block_free(tern_tfm_block *blk);
void tern_tfm_free(tern_tfm_model *m);
/* Bytes the generated model occupies (packed codes + int8 + floats). */
uint64_t tern_tfm_model_bytes(const tern_tfm_config *cfg);
/* The tensor-stream seed of tensor id (docs/MODELS.md). */
uint64_t tern_tfm_stream_seed(uint64_t seed, uint32_t tensor_id);

/* ---- float reference ------------------------------------------------------- */

typedef struct tern_tfm_ctx tern_tfm_ctx;

/* A context holds the model (borrowed) and a float KV cache for max_seq
 * positions (0 = cfg.max_seq) per block pass (layers * repeat). */
tern_tfm_ctx *tern_tfm_ctx_new(const tern_tfm_model *m, int max_seq, char *err, size_t errlen);
void tern_tfm_ctx_free(tern_tfm_ctx *ctx);
void tern_tfm_ctx_reset(tern_tfm_ctx *ctx); /* empties the KV cache */
int tern_tfm_ctx_pos(const tern_tfm_ctx *ctx); /* positions in the cache */

/* Optional per-block-pass trace of the residual stream: called after every
 * block pass p (0 .. layers*repeat-1) with the n rows (n x dim) just computed. */
typedef void (*tern_tfm_trace_fn)(void *user, int pass, int n, const float *x);
void tern_tfm_ctx_set_trace(tern_tfm_ctx *ctx, tern_tfm_trace_fn fn, void *user);
/* Same for the attention output of every block pass (n x heads*head_dim,
 * before SubLN and the output projection). */
void tern_tfm_ctx_set_attn_trace(tern_tfm_ctx *ctx, tern_tfm_trace_fn fn, void *user);
/* The float KV cache of block pass p: K and V rows [position][kv_heads*head_dim]
 * (K after RoPE).  NULL if p is out of range. */
const float *tern_tfm_ctx_k(const tern_tfm_ctx *ctx, int pass);
const float *tern_tfm_ctx_v(const tern_tfm_ctx *ctx, int pass);

/* Runs n tokens at positions pos .. pos+n-1 (layer by layer, all n rows at
 * once, as a prefill).  logits: vocab floats of the last position, or n*vocab
 * if all_logits.  Returns 0, or -1 with a message (bad token, cache full). */
int tern_tfm_prefill(tern_tfm_ctx *ctx, const int *tokens, int n, float *logits, int all_logits,
                     char *err, size_t errlen);
/* One token with the KV cache: logits (vocab). */
int tern_tfm_decode(tern_tfm_ctx *ctx, int token, float *logits, char *err, size_t errlen);

/* Greedy: index of the largest logit (lowest index on ties). */
int tern_tfm_argmax(const float *logits, int n);

/* Seeded temperature / top-k sampler (splitmix64 stream of `seed`).
 * temperature <= 0 or top_k == 1 is greedy; top_k <= 0 means all tokens. */
typedef struct tern_tfm_sampler {
  uint64_t state;
  float temperature;
  int top_k;
} tern_tfm_sampler;
void tern_tfm_sampler_init(tern_tfm_sampler *s, uint64_t seed, float temperature, int top_k);
int tern_tfm_sample(tern_tfm_sampler *s, const float *logits, int n);

/* Byte-level tokenizer (vocab 256): token = byte value. */
int tern_tfm_tokenize_bytes(const char *text, int *tokens, int max_tokens);
/* Writes the bytes of tokens < 256 (others as '?'), NUL-terminated; returns length. */
int tern_tfm_detokenize_bytes(const int *tokens, int n, char *out, size_t outlen);

/* Convenience: prefill `prompt` then generate n_new tokens (sampler NULL =
 * greedy).  out_tokens gets n_new tokens.  Resets the context first. */
int tern_tfm_generate_tokens(tern_tfm_ctx *ctx, const int *prompt, int n_prompt, int n_new,
                             tern_tfm_sampler *sampler, int *out_tokens, char *err,
                             size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
