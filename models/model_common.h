/* Internal (not installed): the pieces the transformer side (models/tfm_*.c)
 * and the recurrent side (models/rnn_*.c) share, so that one implementation
 * serves both:
 *   - the model description format: libinih driver with line-numbered
 *     errors, field lookup, the field parsers (integers, booleans, name,
 *     source, eps, seed), the common checks, file reading, float printing;
 *   - seeded weights (docs/NUMERICS.md "Weight generation", docs/MODELS.md
 *     "Weights"): per-tensor PRNG streams, absmean-ternarised packed
 *     matrices, int8 per-row tables, float vectors;
 *   - the built-in preset tables (lookup, unknown-model message, listing);
 *   - the sampling / generation loop of the float references.
 * Every message is the one the public APIs document; both sides format them
 * here, so they stay identical. */
#ifndef TERN_MODELS_MODEL_COMMON_H
#define TERN_MODELS_MODEL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tern/tfm.h"

/* ---- description format --------------------------------------------------- */

#define TERN_MC_MAX_FILE (1 << 20)                  /* bytes of a description file */
#define TERN_MC_SOURCE_CHARS (TERN_TFM_SOURCE_MAX - 1) /* characters of field 'source' */
#define TERN_MC_MAX_FIELDS 32

/* name: [A-Za-z0-9._-]+; source: printable ASCII without ';' (inih's inline
 * comment) and without a leading/trailing blank, at most TERN_MC_SOURCE_CHARS */
int tern_mc_name_ok(const char *s);
int tern_mc_source_ok(const char *s);

/* tern_*_check parts: 'name' and 'source' (NUL-terminated within their
 * arrays and valid), 'eps' in (0, 1].  0 or -1 with the message. */
int tern_mc_check_name_source(const char name[TERN_TFM_NAME_MAX],
                              const char source[TERN_TFM_SOURCE_MAX], const char *what, char *err,
                              size_t errlen);
int tern_mc_check_eps(float eps, const char *what, char *err, size_t errlen);

/* In a check function with (c, what, err, errlen): c->field in lo..hi. */
#define TERN_MC_RANGE(field, lo, hi)                                                         \
  do {                                                                                       \
    if (c->field < (lo) || c->field > (hi))                                                  \
      return tern_err(err, errlen, "%s: field '%s' is %d, expected %d..%d", what, #field,    \
                      (int)c->field, (int)(lo), (int)(hi));                                  \
  } while (0)

/* Parser state of one text: the field table and which fields were given. */
typedef struct tern_mc_ini {
  const char *p;    /* remaining text */
  const char *what; /* input name for messages */
  int line;         /* line the reader returned last */
  char *err;
  size_t errlen;
  int failed;
  const char *const *fields; /* field names */
  int nfields;
  int field;                 /* index of the field being parsed */
  int have[TERN_MC_MAX_FIELDS];
} tern_mc_ini;

/* "what:line: " + the message into err (first error only); marks the parse
 * failed; returns 0 (inih: handler error). */
int tern_mc_perr(tern_mc_ini *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Looks up field `name` in s->fields: its index (also in s->field, and
 * marked given), or -1 after the error (unknown field, given twice). */
int tern_mc_field(tern_mc_ini *s, const char *name);

/* Field parsers: store the value and return 1, or return 0 after the error
 * naming the current field (s->field) and the expected values. */
int tern_mc_int(tern_mc_ini *s, const char *value, long lo, long hi, int *out);
int tern_mc_bool(tern_mc_ini *s, const char *value, int *out);
int tern_mc_name(tern_mc_ini *s, const char *value, char out[TERN_TFM_NAME_MAX]);
int tern_mc_source(tern_mc_ini *s, const char *value, char out[TERN_TFM_SOURCE_MAX]);
int tern_mc_eps(tern_mc_ini *s, const char *value, float *out);
int tern_mc_seed(tern_mc_ini *s, const char *value, uint64_t *out);

/* Parses text (named what) with handler(user, section, name, value) (the
 * libinih handler); s is set up with the field table.  0, or -1 with the
 * message (the handler's, a syntax error or an over-long line). */
int tern_mc_ini_parse(tern_mc_ini *s, const char *text, const char *what,
                      const char *const *fields, int nfields,
                      int (*handler)(void *user, const char *section, const char *name,
                                     const char *value),
                      void *user, char *err, size_t errlen);

/* After a successful parse: every field of required[0..n) given, else -1
 * with "what: field 'x' is missing (required: a, b, ...)". */
int tern_mc_required(const tern_mc_ini *s, const int *required, int n, char *err,
                     size_t errlen);

/* Reads a description file (at most TERN_MC_MAX_FILE bytes, no NUL) into a
 * malloc'd NUL-terminated *text.  0, or -1 with the message. */
/* A whole text file of at most max bytes (no NUL byte), NUL-terminated;
 * `expected` completes "file is larger than N bytes, expected ...". */
int tern_mc_read_file(const char *path, size_t max, const char *expected, char **text, size_t *len,
                      char *err, size_t errlen);
int tern_mc_read_text(const char *path, char **text, char *err, size_t errlen);

/* shortest %g form that reads back to the same value (doubles: integers as %.0f) */
void tern_mc_fmt_float(char *out, size_t n, float v);
void tern_mc_fmt_double(char *out, size_t n, double v);

/* ---- seeded weights -------------------------------------------------------------- */

/* Output number tensor_id + 1 of the splitmix64 stream seeded with seed ^ family
 * (family: "TERNTFMW", "TERNRNNW" as a 64-bit big-endian constant). */
uint64_t tern_mc_stream_seed(uint64_t seed, uint64_t family, uint32_t tensor_id);

/* n floats (float)(mean + std * N(0,1)) from the stream; NULL if out of memory */
float *tern_mc_gen_floats(uint64_t stream, int n, double mean, double std);

/* count master weights N(0, 1/fan_in) from the stream, absmean-ternarised
 * (tern_ternarize: *beta), packed 2 bits each into malloc'd *codes.  0 or -1
 * (out of memory; *codes may be allocated). */
int tern_mc_gen_codes(uint64_t stream, size_t count, int fan_in, float *beta, uint8_t **codes);

/* [k][n] ternary matrix, fan-in k */
int tern_mc_gen_tern(uint64_t stream, int k, int n, tern_tpacked *t);

/* rows x cols N(0, std^2), int8 per-row absmax: scale = max|row| / 127,
 * q = clamp(round(x / scale), -127, 127).  0 or -1 (out of memory). */
int tern_mc_gen_i8rows(uint64_t stream, int rows, int cols, double std, tern_i8rows *e);

/* The token embedding and, untied, the LM head: vocab x dim int8 rows,
 * N(0, 1/dim) (tern_mc_gen_i8rows) from the two streams.  0 or -1 (out of
 * memory; free with tern_mc_free_i8rows). */
int tern_mc_gen_embeddings(uint64_t embed_stream, uint64_t lm_head_stream, int vocab, int dim,
                           int tie_embeddings, tern_i8rows *embed, tern_i8rows *lm_head);
void tern_mc_free_i8rows(tern_i8rows *e);

/* tern_*_generate: the weights of model `name` (bytes) within max_bytes (0:
 * no limit), else -1 with a message naming block_fn (the block-by-block
 * generator). */
/* The process-wide model memory budget (tern_model_set_budget): weights + state
 * bytes against it; what names the input (file or preset) in the message. */
int tern_mc_check_budget(const char *name, const char *what, uint64_t weights, uint64_t state,
                         const char *state_name, char *err, size_t errlen);
int tern_mc_check_bytes(const char *name, uint64_t bytes, uint64_t max_bytes,
                        const char *block_fn, char *err, size_t errlen);

/* tern_*_generate_block: block bi of 0..layers-1, else -1 with the message */
int tern_mc_check_block(int bi, int layers, char *err, size_t errlen);

/* ---- presets ------------------------------------------------------------------- */

typedef struct tern_mc_preset {
  const char *name;
  const char *text; /* model description */
} tern_mc_preset;

/* index of the preset called name, or -1 */
int tern_mc_preset_find(const tern_mc_preset *t, int n, const char *name);
/* name / text of preset i, NULL out of range */
const char *tern_mc_preset_name(const tern_mc_preset *t, int n, int i);
const char *tern_mc_preset_text(const tern_mc_preset *t, int n, int i);

/* Parses preset `name` with parse(text, "preset 'name'", cfg, err, errlen);
 * an unknown name: -1 with "unknown <kind> 'name', expected a preset (a, b,
 * ...) or a model file". */
int tern_mc_preset_parse(const tern_mc_preset *t, int n, const char *kind, const char *name,
                         int (*parse)(const char *text, const char *what, void *cfg, char *err,
                                      size_t errlen),
                         void *cfg, char *err, size_t errlen);

/* tern_*_load_config: name_or_path is read as a file when it is not a
 * preset and has a '/' or a '.' */
int tern_mc_is_file_name(const tern_mc_preset *t, int n, const char *name_or_path);

/* 1.23B / 4.5M / 6.7K / 89 */
void tern_mc_human(char *buf, size_t n, uint64_t v);

/* ---- generation ------------------------------------------------------------------ */

/* The argument checks every tern_*_generate_tokens shares: a prompt of at
 * least one token, n_new >= 0.  0 or -1 with the message. */
int tern_mc_generate_check(int n_prompt, int n_new, char *err, size_t errlen);

/* prefill(ctx, prompt) then n_new tokens: sampled (sampler) or greedy
 * (argmax), each but the last decoded with prefill(ctx, &token, 1).  The
 * context must be reset; prefill returns the last position's logits. */
int tern_mc_generate_loop(void *ctx,
                          int (*prefill)(void *ctx, const int *tokens, int n, float *logits,
                                         char *err, size_t errlen),
                          int vocab, const int *prompt, int n_prompt, int n_new,
                          tern_tfm_sampler *sampler, int *out_tokens, char *err, size_t errlen);

/* Runs fn(ctx, lo, hi) over [0, n) split into contiguous ranges, one per
 * online CPU (at most 8; the calling thread takes one), and waits.  fn must
 * write disjoint outputs for disjoint ranges.  One call when n is small or a
 * thread cannot be started.  Used for the work that dominates a large model:
 * seeded weight generation, checkpoint conversion. */
void tern_mc_parallel_for(size_t n, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx);

#endif
