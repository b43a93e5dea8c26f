/* Checkpoints (issue 11): trained and imported transformer weights in
 * safetensors (Hugging Face layout with config.json) and GGUF, read into the
 * same tern_tfm_model the seeded presets produce, so everything downstream
 * (float and integer references, compiler, ISA simulator, RTL) is unchanged;
 * and written back in both formats (docs/MODELS.md "Checkpoints").
 *   models/ckpt_tfm.c   the mapping: config, tensor roles, layouts, export
 *
 * Layouts read (every fact and its source in docs/MODELS.md):
 *   - ternary linears packed as BitNet b1.58 2B4T stores them: uint8
 *     [ceil(out/4), in], 2 bits per weight as w+1, byte row p holding output
 *     rows p, p+R, p+2R, p+3R (R = ceil(out/4)) in bits 0-1 .. 6-7, with a
 *     `weight_scale` = 1/beta beside it;
 *   - float master weights (F32/F16/BF16) [out, in], ternarised at import
 *     with absmean (tern_ternarize), reported in tern_ckpt_info;
 *   - embeddings / LM head as int8 rows with a per-row `weight_scale` (tern's
 *     exact form) or as floats, quantised per row at import (absmax int8,
 *     docs/MODELS.md "Weights");
 *   - norms as floats.
 * Every file is untrusted: shapes are checked against the configuration
 * before anything is read, and errors name the file, tensor and field. */
#ifndef TERN_CKPT_H
#define TERN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "tern/tfm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_ckpt_format {
  TERN_CKPT_SAFETENSORS = 0, /* directory: model.safetensors + config.json */
  TERN_CKPT_GGUF = 1         /* one .gguf file */
} tern_ckpt_format;

typedef struct tern_ckpt_info {
  char path[512];
  char format[16];       /* "safetensors" or "gguf" */
  char arch[64];         /* config.json architectures[0] / GGUF general.architecture */
  int config_from_tern;  /* 1: the tern description stored in the file; 0: mapped from its fields */
  int tensors;           /* tensors read */
  int ternarised;        /* linears ternarised at import (float master weights) */
  int quantised_rows;    /* embedding / LM-head tables quantised to int8 rows at import */
  uint64_t file_bytes;   /* tensor data bytes in the file(s) */
  char note[512];        /* what the import changed, e.g. post-training ternarisation */
} tern_ckpt_info;

/* 1 if path looks like a checkpoint (a directory with config.json, a
 * .safetensors, .index.json or .gguf file), else 0. */
int tern_ckpt_is_path(const char *path);

/* Reads a checkpoint into m (free with tern_tfm_free).  info may be NULL.
 * 0, or -1 with a message naming the file, tensor and field. */
int tern_tfm_ckpt_load(const char *path, tern_tfm_model *m, tern_ckpt_info *info, char *err,
                       size_t errlen);
/* Only the configuration (no tensor data is read). */
int tern_tfm_ckpt_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                         size_t errlen);

/* Memory budget of tern_tfm_load_model / tern_rnn_load_model: the weights
 * as tern holds them (tern_tfm_model_bytes / tern_rnn_model_bytes) plus the
 * float KV cache (transformers: every block pass, max_seq positions) or the
 * recurrent state, checked from the configuration before anything is
 * allocated.  Default TERN_MODEL_BUDGET_DEFAULT; the CLI's --max-mem BYTES
 * sets it for any command; 0 = no limit.  Process-wide. */
#define TERN_MODEL_BUDGET_DEFAULT ((uint64_t)4 << 30)
void tern_model_set_budget(uint64_t bytes);
uint64_t tern_model_budget(void);

/* The model entry of every driver (generate, fidelity, compare): a
 * checkpoint path (tern_ckpt_is_path) is read, with cfg->max_seq (if cfg)
 * replacing the file's (the weights do not depend on it); a preset name or
 * a description file gets seeded weights (tern_tfm_generate of *cfg). */
int tern_tfm_load_model(const char *name_or_path, const tern_tfm_config *cfg, tern_tfm_model *m,
                        char *err, size_t errlen);

/* ---- recurrent models (models/ckpt_rnn.c) ----------------------------------------
 * Hawk / Griffin / MLGRU checkpoints: tern's description (family
 * "recurrent") and tern's tensor names (docs/MODELS.md "Checkpoints"), in
 * either format.  Same conventions as the transformer functions above. */
struct tern_rnn_config;
struct tern_rnn_model;
/* "transformer" or "recurrent" (what the checkpoint's tern description says;
 * transformer when it carries none). */
int tern_ckpt_family(const char *path, char *family, size_t n, char *err, size_t errlen);
int tern_rnn_ckpt_config(const char *path, struct tern_rnn_config *c, tern_ckpt_info *info,
                         char *err, size_t errlen);
int tern_rnn_ckpt_load(const char *path, struct tern_rnn_model *m, tern_ckpt_info *info, char *err,
                       size_t errlen);
int tern_rnn_ckpt_save(const struct tern_rnn_model *m, const char *out, tern_ckpt_format fmt,
                       char *err, size_t errlen);
int tern_rnn_load_model(const char *name_or_path, const struct tern_rnn_config *cfg,
                        struct tern_rnn_model *m, char *err, size_t errlen);

/* The tokenizer of a checkpoint: the vocabulary a GGUF file embeds
 * (tokenizer.ggml.model llama = SentencePiece, gpt2 = byte-level BPE), a
 * tokenizer.json beside a safetensors checkpoint's config.json, and bytes
 * (token = byte) when the checkpoint has neither.  Its vocabulary must fit the
 * model's.  NULL with a message. */
struct tern_tok;
struct tern_tok *tern_ckpt_tokenizer(const char *path, int vocab, char *err, size_t errlen);

/* Writes m: TERN_CKPT_SAFETENSORS into directory `out` (created if needed:
 * model.safetensors + config.json), TERN_CKPT_GGUF into the file `out`.
 * Reading it back gives the identical model (tested bit for bit). */
int tern_tfm_ckpt_save(const tern_tfm_model *m, const char *out, tern_ckpt_format fmt, char *err,
                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
