/* Internal: what the transformer and recurrent model sides share
 * (models/model_common.h): the description format helpers, seeded weight
 * tensors, preset tables and the generation loop. */
#include "model_common.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "prng.h"
#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/io.h"
#include "tern/numerics.h"

/* ---- description format: checks ------------------------------------------------ */

int tern_mc_name_ok(const char *s) {
  if (!s[0]) return 0;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')) return 0;
  return 1;
}

int tern_mc_source_ok(const char *s) {
  size_t n = strlen(s);
  if (n > TERN_MC_SOURCE_CHARS) return 0;
  if (n && (s[0] == ' ' || s[n - 1] == ' ')) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ';') return 0;
  return 1;
}

int tern_mc_check_name_source(const char name[TERN_TFM_NAME_MAX],
                              const char source[TERN_TFM_SOURCE_MAX], const char *what, char *err,
                              size_t errlen) {
  if (memchr(name, 0, TERN_TFM_NAME_MAX) == NULL || !tern_mc_name_ok(name))
    return tern_err(err, errlen,
                    "%s: field 'name' is invalid, expected 1..%d characters of [A-Za-z0-9._-]",
                    what, TERN_TFM_NAME_MAX - 1);
  if (memchr(source, 0, TERN_TFM_SOURCE_MAX) == NULL || !tern_mc_source_ok(source))
    return tern_err(err, errlen,
                    "%s: field 'source' is invalid, expected at most %d printable characters "
                    "without ';'",
                    what, TERN_MC_SOURCE_CHARS);
  return 0;
}

int tern_mc_check_eps(float eps, const char *what, char *err, size_t errlen) {
  if (!(eps > 0.0f && eps <= 1.0f))
    return tern_err(err, errlen, "%s: field 'eps' is %g, expected a number in (0, 1]", what,
                    (double)eps);
  return 0;
}

/* ---- description format: parser ------------------------------------------------ */

/* fgets-like reader over the text; counts lines; a line that does not fit the
 * buffer is an error (inih would silently split it). */
static char *reader(char *str, int num, void *stream) {
  tern_mc_ini *s = stream;
  if (!*s->p) return NULL;
  s->line++;
  const char *nl = strchr(s->p, '\n');
  size_t len = nl ? (size_t)(nl - s->p) + 1 : strlen(s->p);
  size_t cap = (size_t)(num > 3 ? num - 3 : 0);
  if (len > cap + 1 || (len == cap + 1 && !nl)) {
    if (!s->failed)
      tern_err(s->err, s->errlen, "%s:%d: line is longer than %zu characters", s->what, s->line,
               cap);
    s->failed = 1;
    str[0] = '\n';
    str[1] = 0;
  } else {
    memcpy(str, s->p, len);
    str[len] = 0;
  }
  s->p += len;
  return str;
}

int tern_mc_perr(tern_mc_ini *s, const char *fmt, ...) {
  if (!s->failed && s->err && s->errlen) {
    int n = snprintf(s->err, s->errlen, "%s:%d: ", s->what, s->line);
    if (n >= 0 && (size_t)n < s->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  s->failed = 1;
  return 0; /* inih: handler error */
}

int tern_mc_field(tern_mc_ini *s, const char *name) {
  int f = -1;
  for (int i = 0; i < s->nfields; i++)
    if (!strcmp(name, s->fields[i])) f = i;
  if (f < 0) {
    char list[400];
    size_t n = 0;
    list[0] = 0;
    for (int i = 0; i < s->nfields && n < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", s->fields[i]);
    tern_mc_perr(s, "unknown field '%.40s', expected one of %s", name, list);
    return -1;
  }
  if (s->have[f]) {
    tern_mc_perr(s, "field '%s' is given twice", name);
    return -1;
  }
  s->have[f] = 1;
  s->field = f;
  return f;
}

int tern_mc_int(tern_mc_ini *s, const char *value, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long x = *value ? strtol(value, &end, 10) : 0;
  if (!*value || errno || *end || end == value || x < lo || x > hi)
    return tern_mc_perr(s, "field '%s' is '%.40s', expected an integer in %ld..%ld",
                        s->fields[s->field], value, lo, hi);
  *out = (int)x;
  return 1;
}

int tern_mc_bool(tern_mc_ini *s, const char *value, int *out) {
  if (!strcmp(value, "true") || !strcmp(value, "1")) return *out = 1, 1;
  if (!strcmp(value, "false") || !strcmp(value, "0")) return *out = 0, 1;
  return tern_mc_perr(s, "field '%s' is '%.40s', expected true or false", s->fields[s->field],
                      value);
}

int tern_mc_name(tern_mc_ini *s, const char *value, char out[TERN_TFM_NAME_MAX]) {
  if (strlen(value) >= TERN_TFM_NAME_MAX || !tern_mc_name_ok(value))
    return tern_mc_perr(s, "field 'name' is '%.40s', expected 1..%d characters of [A-Za-z0-9._-]",
                        value, TERN_TFM_NAME_MAX - 1);
  strcpy(out, value);
  return 1;
}

int tern_mc_source(tern_mc_ini *s, const char *value, char out[TERN_TFM_SOURCE_MAX]) {
  if (!tern_mc_source_ok(value))
    return tern_mc_perr(s,
                        "field 'source' is invalid, expected at most %d printable characters "
                        "without ';'",
                        TERN_MC_SOURCE_CHARS);
  strcpy(out, value);
  return 1;
}

int tern_mc_eps(tern_mc_ini *s, const char *value, float *out) {
  char *end;
  errno = 0;
  float x = strtof(value, &end);
  if (!*value || *end || errno || !(x > 0.0f && x <= 1.0f))
    return tern_mc_perr(s, "field 'eps' is '%.40s', expected a number in (0, 1]", value);
  *out = x;
  return 1;
}

int tern_mc_seed(tern_mc_ini *s, const char *value, uint64_t *out) {
  if (*value && value[0] != '-' && value[0] != '+') {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(value, &end, 0);
    if (!*end && !errno) {
      *out = (uint64_t)x;
      return 1;
    }
  }
  return tern_mc_perr(s, "field 'seed' is '%.40s', expected an unsigned 64-bit integer", value);
}

int tern_mc_ini_parse(tern_mc_ini *s, const char *text, const char *what,
                      const char *const *fields, int nfields,
                      int (*handler)(void *user, const char *section, const char *name,
                                     const char *value),
                      void *user, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->p = text;
  s->what = what;
  s->err = err;
  s->errlen = errlen;
  s->fields = fields;
  s->nfields = nfields < TERN_MC_MAX_FIELDS ? nfields : TERN_MC_MAX_FIELDS;
  int rc = ini_parse_stream(reader, s, handler, user);
  if (rc == 0 && !s->failed) return 0;
  if (!s->failed) {
    if (rc > 0)
      tern_err(err, errlen, "%s:%d: syntax error, expected 'field = value', '[model]' or a comment",
               what, rc);
    else
      tern_err(err, errlen, "%s: parser error %d", what, rc);
  }
  return -1;
}

int tern_mc_required(const tern_mc_ini *s, const int *required, int n, char *err,
                     size_t errlen) {
  for (int i = 0; i < n; i++) {
    if (s->have[required[i]]) continue;
    char list[400];
    size_t k = 0;
    list[0] = 0;
    for (int j = 0; j < n && k < sizeof list; j++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", j ? ", " : "",
                            s->fields[required[j]]);
    return tern_err(err, errlen, "%s: field '%s' is missing (required: %s)", s->what,
                    s->fields[required[i]], list);
  }
  return 0;
}

int tern_mc_read_file(const char *path, size_t max, const char *expected, char **text, size_t *len,
                      char *err, size_t errlen) {
  *text = NULL;
  uint8_t *buf;
  size_t n;
  if (tern_read_file(path, max, expected, &buf, &n, err, errlen)) return -1;
  if (memchr(buf, 0, n)) {
    free(buf);
    return tern_err(err, errlen, "%s: file contains a NUL byte, expected %s", path, expected);
  }
  *text = (char *)buf;
  if (len) *len = n;
  return 0;
}

int tern_mc_read_text(const char *path, char **text, char *err, size_t errlen) {
  return tern_mc_read_file(path, TERN_MC_MAX_FILE, "a model description", text, NULL, err, errlen);
}

void tern_mc_fmt_float(char *out, size_t n, float v) {
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(out, n, "%.*g", prec, (double)v);
    if (strtof(out, NULL) == v) return;
  }
}

void tern_mc_fmt_double(char *out, size_t n, double v) {
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, n, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, n, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return;
  }
}

/* ---- seeded weights -------------------------------------------------------------- */

uint64_t tern_mc_stream_seed(uint64_t seed, uint64_t family, uint32_t tensor_id) {
  return tern_splitmix_mix((seed ^ family) + (uint64_t)(tensor_id + 1ull) * TERN_SPLITMIX_GAMMA);
}

float *tern_mc_gen_floats(uint64_t stream, int n, double mean, double std) {
  float *v = malloc((size_t)n * sizeof(float));
  if (!v) return NULL;
  tern_rng r = {stream};
  for (int i = 0; i < n; i++) v[i] = (float)(mean + std * tern_normal01(&r));
  return v;
}

int tern_mc_gen_codes(uint64_t stream, size_t count, int fan_in, float *beta, uint8_t **codes) {
  *codes = malloc((count + 3) / 4);
  float *master = malloc(count * sizeof(float));
  int8_t *q = malloc(count);
  if (!*codes || !master || !q) {
    free(master);
    free(q);
    return -1;
  }
  tern_rng r = {stream};
  double s = 1.0 / sqrt((double)fan_in);
  for (size_t i = 0; i < count; i++) master[i] = (float)(s * tern_normal01(&r));
  *beta = tern_ternarize(master, count, q);
  tern_tpack(q, count, *codes);
  free(master);
  free(q);
  return 0;
}

int tern_mc_gen_tern(uint64_t stream, int k, int n, tern_tpacked *t) {
  t->k = k;
  t->n = n;
  t->beta = 0.0f;
  return tern_mc_gen_codes(stream, (size_t)k * (size_t)n, k, &t->beta, &t->codes);
}

int tern_mc_gen_i8rows(uint64_t stream, int rows, int cols, double std, tern_i8rows *e) {
  e->rows = rows;
  e->cols = cols;
  e->q = malloc((size_t)rows * (size_t)cols);
  e->scale = malloc((size_t)rows * sizeof(float));
  float *row = malloc((size_t)cols * sizeof(float));
  if (!e->q || !e->scale || !row) {
    free(row);
    return -1;
  }
  tern_rng r = {stream};
  for (int v = 0; v < rows; v++) {
    float amax = 0.0f;
    for (int i = 0; i < cols; i++) {
      row[i] = (float)(std * tern_normal01(&r));
      amax = fmaxf(amax, fabsf(row[i]));
    }
    float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
    e->scale[v] = sc;
    int8_t *q = e->q + (size_t)v * (size_t)cols;
    for (int i = 0; i < cols; i++) {
      float x = roundf(row[i] / sc);
      q[i] = (int8_t)(x > 127.0f ? 127 : (x < -127.0f ? -127 : (int)x));
    }
  }
  free(row);
  return 0;
}

int tern_mc_gen_embeddings(uint64_t embed_stream, uint64_t lm_head_stream, int vocab, int dim,
                           int tie_embeddings, tern_i8rows *embed, tern_i8rows *lm_head) {
  double std = 1.0 / sqrt((double)dim);
  if (tern_mc_gen_i8rows(embed_stream, vocab, dim, std, embed)) return -1;
  if (!tie_embeddings && tern_mc_gen_i8rows(lm_head_stream, vocab, dim, std, lm_head)) return -1;
  return 0;
}

void tern_mc_free_i8rows(tern_i8rows *e) {
  free(e->q);
  free(e->scale);
  e->q = NULL;
  e->scale = NULL;
}

static uint64_t model_budget = TERN_MODEL_BUDGET_DEFAULT;
void tern_model_set_budget(uint64_t bytes) { model_budget = bytes; }
uint64_t tern_model_budget(void) { return model_budget; }

int tern_mc_check_budget(const char *name, const char *what, uint64_t weights, uint64_t state,
                         const char *state_name, char *err, size_t errlen) {
  uint64_t total = weights + state;
  if (!model_budget || total <= model_budget) return 0;
  return tern_err(err, errlen,
                  "%s: model '%s' needs about %.2f GiB (weights %.2f GiB + %s %.2f GiB), more than "
                  "the memory budget of %.2f GiB: expected a smaller model, or raise the budget "
                  "with --max-mem BYTES",
                  what, name, total / 1073741824.0, weights / 1073741824.0, state_name,
                  state / 1073741824.0, model_budget / 1073741824.0);
}

int tern_mc_check_bytes(const char *name, uint64_t bytes, uint64_t max_bytes,
                        const char *block_fn, char *err, size_t errlen) {
  if (max_bytes && bytes > max_bytes)
    return tern_err(err, errlen,
                    "model '%s' needs %llu bytes of weights, more than the limit of %llu "
                    "(generate it block by block with %s)",
                    name, (unsigned long long)bytes, (unsigned long long)max_bytes, block_fn);
  return 0;
}

int tern_mc_check_block(int bi, int layers, char *err, size_t errlen) {
  if (bi < 0 || bi >= layers)
    return tern_err(err, errlen, "block %d: expected 0..%d (field 'layers' is %d)", bi,
                    layers - 1, layers);
  return 0;
}

/* ---- presets ------------------------------------------------------------------- */

int tern_mc_preset_find(const tern_mc_preset *t, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(t[i].name, name)) return i;
  return -1;
}

const char *tern_mc_preset_name(const tern_mc_preset *t, int n, int i) {
  return i >= 0 && i < n ? t[i].name : NULL;
}

const char *tern_mc_preset_text(const tern_mc_preset *t, int n, int i) {
  return i >= 0 && i < n ? t[i].text : NULL;
}

int tern_mc_preset_parse(const tern_mc_preset *t, int n, const char *kind, const char *name,
                         int (*parse)(const char *text, const char *what, void *cfg, char *err,
                                      size_t errlen),
                         void *cfg, char *err, size_t errlen) {
  int i = tern_mc_preset_find(t, n, name);
  if (i >= 0) {
    char what[96];
    snprintf(what, sizeof what, "preset '%s'", name);
    return parse(t[i].text, what, cfg, err, errlen);
  }
  char list[1024];
  size_t k = 0;
  list[0] = 0;
  for (int j = 0; j < n && k < sizeof list; j++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", j ? ", " : "", t[j].name);
  return tern_err(err, errlen, "unknown %s '%s', expected a preset (%s) or a model file", kind,
                  name, list);
}

int tern_mc_is_file_name(const tern_mc_preset *t, int n, const char *name_or_path) {
  return tern_mc_preset_find(t, n, name_or_path) < 0 &&
         (strchr(name_or_path, '/') || strchr(name_or_path, '.'));
}

void tern_mc_human(char *buf, size_t n, uint64_t v) {
  if (v >= 1000000000ull) snprintf(buf, n, "%.2fB", (double)v / 1e9);
  else if (v >= 1000000ull) snprintf(buf, n, "%.1fM", (double)v / 1e6);
  else if (v >= 1000ull) snprintf(buf, n, "%.1fK", (double)v / 1e3);
  else snprintf(buf, n, "%" PRIu64, v);
}

/* ---- generation ------------------------------------------------------------------ */

int tern_mc_generate_check(int n_prompt, int n_new, char *err, size_t errlen) {
  if (n_prompt < 1) return tern_err(err, errlen, "empty prompt: expected at least 1 token");
  if (n_new < 0) return tern_err(err, errlen, "%d new tokens: expected >= 0", n_new);
  return 0;
}

int tern_mc_generate_loop(void *ctx,
                          int (*prefill)(void *ctx, const int *tokens, int n, float *logits,
                                         char *err, size_t errlen),
                          int vocab, const int *prompt, int n_prompt, int n_new,
                          tern_tfm_sampler *sampler, int *out_tokens, char *err, size_t errlen) {
  float *lg = malloc((size_t)vocab * sizeof(float));
  if (!lg) return tern_err(err, errlen, "out of memory");
  int rc = prefill(ctx, prompt, n_prompt, lg, err, errlen);
  for (int i = 0; rc == 0 && i < n_new; i++) {
    int t = sampler ? tern_tfm_sample(sampler, lg, vocab) : tern_tfm_argmax(lg, vocab);
    out_tokens[i] = t;
    if (i + 1 < n_new) rc = prefill(ctx, &t, 1, lg, err, errlen);
  }
  free(lg);
  return rc;
}

/* ---- parallel loop ------------------------------------------------------------------ */

typedef struct pf_job {
  void (*fn)(void *, size_t, size_t);
  void *ctx;
  size_t lo, hi;
} pf_job;

static void *pf_run(void *a) {
  pf_job *j = a;
  j->fn(j->ctx, j->lo, j->hi);
  return NULL;
}

void tern_mc_parallel_for(size_t n, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t t = cpus < 1 ? 1 : (cpus > 8 ? 8 : (size_t)cpus);
  if (t > n) t = n;
  if (t <= 1) {
    if (n) fn(ctx, 0, n);
    return;
  }
  pf_job job[8];
  pthread_t th[8];
  int started[8] = {0};
  for (size_t k = 0; k < t; k++) job[k] = (pf_job){fn, ctx, n * k / t, n * (k + 1) / t};
  for (size_t k = 1; k < t; k++) started[k] = !pthread_create(&th[k], NULL, pf_run, &job[k]);
  fn(ctx, job[0].lo, job[0].hi);
  for (size_t k = 1; k < t; k++) {
    if (started[k]) pthread_join(th[k], NULL);
    else fn(ctx, job[k].lo, job[k].hi); /* could not start: do it here */
  }
}

