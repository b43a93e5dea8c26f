/* Internal (not installed): the pieces of the checkpoint code
 * (include/tern/ckpt.h) that the formats share.
 *   models/ckpt_tfm.c   the mapping: roles, reading and writing a tern model
 *                       through a ck_src / ck_sink, the public API
 *   models/ckpt_st.c    safetensors + config.json (Hugging Face layout)
 *   models/ckpt_gguf.c  GGUF (llama.cpp / BitNet fork layout)
 * A format is a name scheme plus readers (ck_src) and writers (ck_sink) of
 * three kinds of tensor: float vectors (norms), int8 rows with per-row scales
 * (embedding, LM head) and ternary matrices with one scale (every linear). */
#ifndef TERN_MODELS_CKPT_INTERNAL_H
#define TERN_MODELS_CKPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_common.h"
#include "tern/ckpt.h"
#include "tern/tfm.h"

/* The tensors of a tern transformer (per layer where it applies). */
typedef enum ck_role {
  CK_EMBED, CK_LM_HEAD, CK_FINAL_G, CK_FINAL_B,
  CK_ATTN_G, CK_ATTN_B, CK_WQ, CK_WK, CK_WV, CK_WO, CK_ASUB_G, CK_ASUB_B,
  CK_FFN_G, CK_FFN_B, CK_GATE, CK_UP, CK_DOWN, CK_FSUB_G, CK_FSUB_B
} ck_role;

typedef struct ck_src ck_src;
struct ck_src {
  const char *path;
  const char *(*name)(ck_role r, int layer, char *buf, size_t n);
  const char *blk; /* printf format of a block's name prefix: "model.layers.%d." / "blk.%d." */
  int (*has)(ck_src *s, const char *name);
  /* n floats (gains, biases) */
  int (*vec)(ck_src *s, const char *name, int n, float *out, char *err, size_t errlen);
  /* rows x cols int8 rows with per-row scales (embedding, LM head); *quantised = 1 when the
     file held floats that were quantised per row */
  int (*rows)(ck_src *s, const char *name, int rows, int cols, tern_i8rows *e, int *quantised,
              char *err, size_t errlen);
  /* BitLinear in -> out of role r as tern's packed [in][out] codes and beta; *ternarised = 1
     when the file held float master weights that were ternarised with absmean */
  int (*linear)(ck_src *s, const char *name, ck_role r, int in, int out, tern_tpacked *t,
                int *ternarised, char *err, size_t errlen);
  /* optional: the tensor (and what belongs to it) will not be read again */
  void (*release)(ck_src *s, const char *name);
  void *impl;
};

typedef struct ck_sink ck_sink;
struct ck_sink {
  const char *(*name)(ck_role r, int layer, char *buf, size_t n);
  const char *blk;
  int (*vec)(ck_sink *s, const char *name, const float *v, int n, char *err, size_t errlen);
  int (*rows)(ck_sink *s, const char *name, const tern_i8rows *e, char *err, size_t errlen);
  int (*linear)(ck_sink *s, const char *name, ck_role r, const tern_tpacked *t, char *err,
                size_t errlen);
  void *impl;
};

/* Reads every tensor of a model of configuration c (shapes from c). */
int ck_read_model(ck_src *s, const tern_tfm_config *c, tern_tfm_model *m, tern_ckpt_info *info,
                  char *err, size_t errlen);
/* Writes every tensor of m, in the order ck_read_model reads them. */
int ck_write_model(ck_sink *s, const tern_tfm_model *m, char *err, size_t errlen);

/* ---- shared conversions ---------------------------------------------------------- */

/* Per-row absmax int8, exactly as the seeded embeddings (tern_mc_gen_i8rows):
 * scale = amax/127 (1 for a zero row), q = clamp(roundf(x/scale), -127, 127). */
void ck_quant_row(const float *x, int cols, int8_t *q, float *scale);
int ck_alloc_rows(int rows, int cols, tern_i8rows *e);
/* A linear from float weights w[o*in + i] ([out][in], the files' order):
 * when every value is 0 or +-s for one s > 0 (a matrix already ternary, as
 * llama.cpp's BitNet conversion writes them) the codes are the signs and
 * beta = s exactly (*ternarised = 0); otherwise absmean (tern_ternarize over
 * tern's [in][out] order, *ternarised = 1). */
int ck_linear_from_float(const float *w, int in, int out, tern_tpacked *t, int *ternarised,
                         char *err, size_t errlen);
/* Four bytes of four consecutive rows t (byte t of w at bits 8t), each
 * holding four 2-bit weights stored as w+1 (0 -1, 1 0, 2 +1; 3 is not a
 * weight: *bad gets a nonzero bit), to tern's codes with the 4x4 matrix of
 * 2-bit fields transposed: byte f of the result holds field f of row t at bits
 * 2t (tern_tpack's layout for four consecutive output rows).  The kernel of
 * both packed-format imports (BitNet 2B4T in safetensors, I2_S in GGUF). */
static inline uint32_t ck_codes4x4(uint32_t w, uint32_t *bad) {
  uint32_t lo = w & 0x55555555u, hi = (w >> 1) & 0x55555555u;
  *bad |= hi & lo;
  w = (~lo & 0x55555555u) | (~(hi | lo) & 0x55555555u) << 1; /* 0 -> 11, 1 -> 00, 2 -> 01 */
  uint32_t x = (w ^ (w >> 6)) & 0x00CC00CCu;                 /* swap within 2x2 blocks */
  w ^= x ^ (x << 6);
  x = (w ^ (w >> 12)) & 0x0000F0F0u;                         /* swap the 2x2 blocks */
  return w ^ x ^ (x << 12);
}

/* tern_mc_parallel_for (models/model_common.h) splits the conversions. */
#define ck_parallel_for tern_mc_parallel_for

/* ck_codes4x4 on eight columns at once: r[t] holds byte c of row t for
 * columns c = 0..7 (little-endian 64-bit words); o[f] gets, in byte c, the
 * tern byte of field f of column c (field f of row t at bits 2t). */
static inline void ck_codes4x4_x8(const uint64_t r_in[4], uint64_t o[4], uint32_t *bad) {
  const uint64_t m1 = 0x5555555555555555ull, k3 = 0x3333333333333333ull,
                 kc = 0xCCCCCCCCCCCCCCCCull, k0f = 0x0F0F0F0F0F0F0F0Full,
                 kf0 = 0xF0F0F0F0F0F0F0F0ull;
  uint64_t r[4];
  for (int t = 0; t < 4; t++) { /* w+1 -> tern code per field (0 -> 11, 1 -> 00, 2 -> 01) */
    uint64_t lo = r_in[t] & m1, hi = (r_in[t] >> 1) & m1;
    *bad |= (hi & lo) != 0;
    r[t] = (~lo & m1) | (~(hi | lo) & m1) << 1;
  }
  /* row t field f -> word f bits 2t: swap within row pairs, then between them */
  uint64_t a0 = (r[0] & k3) | ((r[1] << 2) & kc), a1 = ((r[0] >> 2) & k3) | (r[1] & kc);
  uint64_t a2 = (r[2] & k3) | ((r[3] << 2) & kc), a3 = ((r[2] >> 2) & k3) | (r[3] & kc);
  o[0] = (a0 & k0f) | ((a2 << 4) & kf0);
  o[1] = (a1 & k0f) | ((a3 << 4) & kf0);
  o[2] = ((a0 >> 4) & k0f) | (a2 & kf0);
  o[3] = ((a1 >> 4) & k0f) | (a3 & kf0);
}

/* Drops the resident pages of a tensor that was read (madvise DONTNEED on
 * the whole pages inside [p, p+n)), so an import holds one copy of the
 * weights; the mapping stays readable. */
void ck_release_pages(const void *p, uint64_t n);

/* A linear from codes c[o*in + i] in {-1, 0, 1} ([out][in]) and its beta. */
int ck_linear_from_codes(const int8_t *c, int in, int out, float beta, tern_tpacked *t, char *err,
                         size_t errlen);
/* tern's codes as [out][in] int8 (the files' order). */
void ck_codes_out_in(const tern_tpacked *t, int8_t *c);

/* llama.cpp's conversion of a LLaMA checkpoint permutes the rows of q_proj /
 * k_proj for its interleaved RoPE (convert_hf_to_gguf.py LlamaModel.permute):
 * within every head of size hd, row a*hd/2 + b moves to 2b + a.  These map a
 * [out][in] matrix of elements of esz bytes between the two orders. */
void ck_rope_unpermute(void *c, size_t esz, int heads, int hd, int in);
void ck_rope_permute(void *c, size_t esz, int heads, int hd, int in);

/* malloc that never asks for 0 bytes (a zero-sized tensor is legal) */
static inline void *ck_malloc(size_t n) { return malloc(n ? n : 1); }

int ck_is_dir(const char *p);
int ck_ends_with(const char *s, const char *suffix);
/* tern's name rules ([A-Za-z0-9._-], 1..63 characters) applied to src */
void ck_sanitize_name(const char *src, char *dst, size_t n);

/* ---- formats ---------------------------------------------------------------------- */

/* Opens a checkpoint's tensors as a ck_src, runs read(s, cfg, model, info)
 * (the family's mapping: ck_read_model, ck_read_rnn) and closes it.  For
 * GGUF, rope (may be NULL) says whether q/k rows are in llama.cpp's
 * permuted order and the head counts to undo it. */
typedef int (*ck_read_fn)(ck_src *s, const void *cfg, void *model, tern_ckpt_info *info,
                          char *err, size_t errlen);
typedef struct ck_rope {
  int permuted, heads, kv_heads, hd;
} ck_rope;
int ck_st_read(const char *path, ck_read_fn read, const void *cfg, void *model,
               tern_ckpt_info *info, char *err, size_t errlen);
int ck_gguf_read(const char *path, const ck_rope *rope, ck_read_fn read, const void *cfg,
                 void *model, tern_ckpt_info *info, char *err, size_t errlen);

int ck_st_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                 size_t errlen);
int ck_st_save(const tern_tfm_model *m, const char *dir, char *err, size_t errlen);

/* The tern description a checkpoint carries (config.json "tern" or GGUF
 * "tern.model"; malloc'd, NULL if none) and its family: "transformer" (also
 * when not stated) or "recurrent". */
int ck_st_tern_desc(const char *path, char **ini, char family[16], char *err, size_t errlen);
int ck_gguf_tern_desc(const char *path, char **ini, char family[16], char *err, size_t errlen);

/* Recurrent models (models/ckpt_rnn.c): the mapping over a ck_src / ck_sink,
 * and each format's write around it. */
struct tern_rnn_model;
struct tern_rnn_config;
int ck_read_rnn(ck_src *s, const struct tern_rnn_config *c, struct tern_rnn_model *m,
                tern_ckpt_info *info, char *err, size_t errlen);
int ck_write_rnn(ck_sink *s, const struct tern_rnn_model *m, char *err, size_t errlen);
int ck_st_rnn_save(const struct tern_rnn_model *m, const char *ini, const char *dir, char *err,
                   size_t errlen);
int ck_gguf_rnn_save(const struct tern_rnn_model *m, const char *ini, const char *path, char *err,
                     size_t errlen);

int ck_gguf_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                   size_t errlen);
int ck_gguf_save(const tern_tfm_model *m, const char *path, char *err, size_t errlen);

#endif
