/* Transformer model description: the INI text format (libinih), its printer,
 * the shape checks and the parameter count (include/tern/tfm.h,
 * docs/MODELS.md). */
#include "tern/err.h"
#include "tern/tfm.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VOCAB (1 << 20)
#define MAX_DIM 65536
#define MAX_LAYERS 1024
#define MAX_HEADS 1024
#define MAX_HEAD_DIM 4096
#define MAX_FFN (1 << 18)
#define MAX_REPEAT 16
#define MAX_SEQ (1 << 24)
#define MAX_FILE (1 << 20)
#define SOURCE_CHARS (TERN_TFM_SOURCE_MAX - 1)

const char *tern_ffn_type_name(tern_ffn_type t) {
  switch (t) {
    case TERN_FFN_SWIGLU: return "swiglu";
    case TERN_FFN_RELU2_GLU: return "relu2_glu";
    case TERN_FFN_RELU2: return "relu2";
    case TERN_FFN_GELU: return "gelu";
  }
  return "?";
}

const char *tern_norm_type_name(tern_norm_type t) {
  switch (t) {
    case TERN_NORM_RMS: return "rmsnorm";
    case TERN_NORM_LAYER: return "layernorm";
  }
  return "?";
}

void tern_tfm_config_init(tern_tfm_config *c) {
  memset(c, 0, sizeof *c);
  c->ffn_type = TERN_FFN_SWIGLU;
  c->norm = TERN_NORM_RMS;
  c->rope_theta = 10000.0;
  c->tie_embeddings = 1;
  c->repeat = 1;
  c->max_seq = 2048;
  c->eps = 1e-5f;
  c->seed = 1;
}

/* ---- checks -------------------------------------------------------------- */

static int name_ok(const char *s) {
  if (!s[0]) return 0;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')) return 0;
  return 1;
}

/* printable ASCII, no ';' (inih's inline comment), no leading/trailing blank */
static int source_ok(const char *s) {
  size_t n = strlen(s);
  if (n > SOURCE_CHARS) return 0;
  if (n && (s[0] == ' ' || s[n - 1] == ' ')) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ';') return 0;
  return 1;
}

#define RANGE(field, lo, hi)                                                                  \
  do {                                                                                        \
    if (c->field < (lo) || c->field > (hi))                                                   \
      return tern_err(err, errlen, "%s: field '%s' is %d, expected %d..%d", what, #field,         \
                  (int)c->field, (int)(lo), (int)(hi));                                       \
  } while (0)

int tern_tfm_check(const tern_tfm_config *c, const char *what, char *err, size_t errlen) {
  if (!what) what = "config";
  if (!c) return tern_err(err, errlen, "%s: null config", what);
  if (memchr(c->name, 0, sizeof c->name) == NULL || !name_ok(c->name))
    return tern_err(err, errlen,
                "%s: field 'name' is invalid, expected 1..%d characters of [A-Za-z0-9._-]", what,
                TERN_TFM_NAME_MAX - 1);
  if (memchr(c->source, 0, sizeof c->source) == NULL || !source_ok(c->source))
    return tern_err(err, errlen,
                "%s: field 'source' is invalid, expected at most %d printable characters "
                "without ';'",
                what, SOURCE_CHARS);
  RANGE(vocab, 2, MAX_VOCAB);
  RANGE(dim, 1, MAX_DIM);
  RANGE(layers, 1, MAX_LAYERS);
  RANGE(heads, 1, MAX_HEADS);
  RANGE(kv_heads, 1, c->heads);
  if (c->heads % c->kv_heads != 0)
    return tern_err(err, errlen, "%s: field 'kv_heads' is %d, expected a divisor of heads = %d",
                what, c->kv_heads, c->heads);
  RANGE(head_dim, 2, MAX_HEAD_DIM);
  if (c->head_dim % 2 != 0)
    return tern_err(err, errlen, "%s: field 'head_dim' is %d, expected an even number (RoPE pairs)",
                what, c->head_dim);
  if ((int64_t)c->heads * c->head_dim > MAX_DIM)
    return tern_err(err, errlen, "%s: fields 'heads' x 'head_dim' = %lld, expected at most %d", what,
                (long long)c->heads * c->head_dim, MAX_DIM);
  RANGE(ffn, 1, MAX_FFN);
  if ((int)c->ffn_type < 0 || (int)c->ffn_type > 3)
    return tern_err(err, errlen,
                "%s: field 'ffn_type' is %d, expected swiglu, relu2_glu, relu2 or gelu", what,
                (int)c->ffn_type);
  if ((int)c->norm < 0 || (int)c->norm > 1)
    return tern_err(err, errlen, "%s: field 'norm' is %d, expected rmsnorm or layernorm", what,
                (int)c->norm);
  RANGE(norm_bias, 0, 1);
  RANGE(subln, 0, 1);
  if (!(c->rope_theta > 1.0 && c->rope_theta <= 1e12))
    return tern_err(err, errlen, "%s: field 'rope_theta' is %g, expected a number in (1, 1e12]",
                what, c->rope_theta);
  RANGE(max_seq, 1, MAX_SEQ);
  RANGE(window, 0, MAX_SEQ);
  RANGE(tie_embeddings, 0, 1);
  RANGE(repeat, 1, MAX_REPEAT);
  RANGE(share_ffn, 0, 1);
  if (!(c->eps > 0.0f && c->eps <= 1.0f))
    return tern_err(err, errlen, "%s: field 'eps' is %g, expected a number in (0, 1]", what,
                (double)c->eps);
  return 0;
}

/* ---- parser --------------------------------------------------------------- */

enum {
  F_NAME, F_SOURCE, F_VOCAB, F_DIM, F_LAYERS, F_HEADS, F_KV_HEADS, F_HEAD_DIM, F_FFN,
  F_FFN_TYPE, F_NORM, F_NORM_BIAS, F_SUBLN, F_ROPE_THETA, F_WINDOW, F_TIE, F_REPEAT,
  F_SHARE_FFN, F_MAX_SEQ, F_EPS, F_SEED, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "name", "source", "vocab", "dim", "layers", "heads", "kv_heads",
    "head_dim", "ffn", "ffn_type", "norm", "norm_bias", "subln", "rope_theta",
    "window", "tie_embeddings", "repeat", "share_ffn", "max_seq", "eps", "seed"};

static const int required[] = {F_NAME, F_VOCAB, F_DIM, F_LAYERS, F_HEADS, F_FFN, F_FFN_TYPE};

typedef struct parse_state {
  const char *p;    /* remaining text */
  const char *what; /* file name for messages */
  int line;         /* line the reader returned last */
  int have[F_COUNT];
  tern_tfm_config *c;
  char *err;
  size_t errlen;
  int failed;
} parse_state;

/* fgets-like reader over the text; counts lines; a line that does not fit the
 * buffer is an error (inih would silently split it). */
static char *reader(char *str, int num, void *stream) {
  parse_state *s = stream;
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

static int perr(parse_state *s, const char *fmt, ...) {
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

static int parse_int(const char *v, long lo, long hi, int *out) {
  if (!*v) return -1;
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || *end || end == v || x < lo || x > hi) return -1;
  *out = (int)x;
  return 0;
}

static int parse_bool(const char *v, int *out) {
  if (!strcmp(v, "true") || !strcmp(v, "1")) return *out = 1, 0;
  if (!strcmp(v, "false") || !strcmp(v, "0")) return *out = 0, 0;
  return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  parse_state *s = user;
  tern_tfm_config *c = s->c;
  if (strcmp(section, "model") != 0) {
    if (!section[0]) return perr(s, "field '%s' outside a section, expected a [model] section first", name);
    return perr(s, "section '[%s]' is unknown, expected [model]", section);
  }
  int f = -1;
  for (int i = 0; i < F_COUNT; i++)
    if (!strcmp(name, field_names[i])) f = i;
  if (f < 0) {
    char list[400];
    size_t n = 0;
    list[0] = 0;
    for (int i = 0; i < F_COUNT && n < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", field_names[i]);
    return perr(s, "unknown field '%.40s', expected one of %s", name, list);
  }
  if (s->have[f]) return perr(s, "field '%s' is given twice", name);
  s->have[f] = 1;
  const char *fn = field_names[f];
  int iv = 0;
#define INT_FIELD(member, lo, hi)                                                              \
  do {                                                                                         \
    if (parse_int(value, lo, hi, &iv))                                                         \
      return perr(s, "field '%s' is '%.40s', expected an integer in %ld..%ld", fn, value,      \
                  (long)(lo), (long)(hi));                                                     \
    c->member = iv;                                                                            \
  } while (0)
#define BOOL_FIELD(member)                                                                     \
  do {                                                                                         \
    if (parse_bool(value, &iv))                                                                \
      return perr(s, "field '%s' is '%.40s', expected true or false", fn, value);              \
    c->member = iv;                                                                            \
  } while (0)
  switch (f) {
    case F_NAME:
      if (strlen(value) >= TERN_TFM_NAME_MAX || !name_ok(value))
        return perr(s, "field 'name' is '%.40s', expected 1..%d characters of [A-Za-z0-9._-]",
                    value, TERN_TFM_NAME_MAX - 1);
      strcpy(c->name, value);
      break;
    case F_SOURCE:
      if (!source_ok(value))
        return perr(s, "field 'source' is invalid, expected at most %d printable characters "
                       "without ';'",
                    SOURCE_CHARS);
      strcpy(c->source, value);
      break;
    case F_VOCAB: INT_FIELD(vocab, 2, MAX_VOCAB); break;
    case F_DIM: INT_FIELD(dim, 1, MAX_DIM); break;
    case F_LAYERS: INT_FIELD(layers, 1, MAX_LAYERS); break;
    case F_HEADS: INT_FIELD(heads, 1, MAX_HEADS); break;
    case F_KV_HEADS: INT_FIELD(kv_heads, 1, MAX_HEADS); break;
    case F_HEAD_DIM: INT_FIELD(head_dim, 2, MAX_HEAD_DIM); break;
    case F_FFN: INT_FIELD(ffn, 1, MAX_FFN); break;
    case F_FFN_TYPE: {
      int t = -1;
      for (int i = 0; i < 4; i++)
        if (!strcmp(value, tern_ffn_type_name((tern_ffn_type)i))) t = i;
      if (t < 0)
        return perr(s, "field 'ffn_type' is '%.40s', expected swiglu, relu2_glu, relu2 or gelu",
                    value);
      c->ffn_type = (tern_ffn_type)t;
      break;
    }
    case F_NORM:
      if (!strcmp(value, "rmsnorm")) c->norm = TERN_NORM_RMS;
      else if (!strcmp(value, "layernorm")) c->norm = TERN_NORM_LAYER;
      else return perr(s, "field 'norm' is '%.40s', expected rmsnorm or layernorm", value);
      break;
    case F_NORM_BIAS: BOOL_FIELD(norm_bias); break;
    case F_SUBLN: BOOL_FIELD(subln); break;
    case F_ROPE_THETA: {
      char *end;
      errno = 0;
      double x = strtod(value, &end);
      if (!*value || *end || errno || !(x > 1.0 && x <= 1e12))
        return perr(s, "field 'rope_theta' is '%.40s', expected a number in (1, 1e12]", value);
      c->rope_theta = x;
      break;
    }
    case F_WINDOW: INT_FIELD(window, 0, MAX_SEQ); break;
    case F_TIE: BOOL_FIELD(tie_embeddings); break;
    case F_REPEAT: INT_FIELD(repeat, 1, MAX_REPEAT); break;
    case F_SHARE_FFN: BOOL_FIELD(share_ffn); break;
    case F_MAX_SEQ: INT_FIELD(max_seq, 1, MAX_SEQ); break;
    case F_EPS: {
      char *end;
      errno = 0;
      float x = strtof(value, &end);
      if (!*value || *end || errno || !(x > 0.0f && x <= 1.0f))
        return perr(s, "field 'eps' is '%.40s', expected a number in (0, 1]", value);
      c->eps = x;
      break;
    }
    case F_SEED: {
      char *end;
      errno = 0;
      if (!*value || value[0] == '-' || value[0] == '+') goto bad_seed;
      unsigned long long x = strtoull(value, &end, 0);
      if (*end || errno) goto bad_seed;
      c->seed = (uint64_t)x;
      break;
    bad_seed:
      return perr(s, "field 'seed' is '%.40s', expected an unsigned 64-bit integer", value);
    }
    default: break;
  }
#undef INT_FIELD
#undef BOOL_FIELD
  return 1;
}

int tern_tfm_parse_string(const char *text, const char *what, tern_tfm_config *c, char *err,
                          size_t errlen) {
  if (!what) what = "<string>";
  if (!text || !c) return tern_err(err, errlen, "%s: null argument", what);
  if (err && errlen) err[0] = 0;
  tern_tfm_config_init(c);
  parse_state s;
  memset(&s, 0, sizeof s);
  s.p = text;
  s.what = what;
  s.c = c;
  s.err = err;
  s.errlen = errlen;
  int rc = ini_parse_stream(reader, &s, handler, &s);
  if (rc != 0 || s.failed) {
    if (!s.failed) {
      if (rc > 0)
        tern_err(err, errlen, "%s:%d: syntax error, expected 'field = value', '[model]' or a comment",
             what, rc);
      else
        tern_err(err, errlen, "%s: parser error %d", what, rc);
    }
    return -1;
  }
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!s.have[required[i]])
      return tern_err(err, errlen, "%s: field '%s' is missing (required: name, vocab, dim, layers, "
                               "heads, ffn, ffn_type)",
                  what, field_names[required[i]]);
  if (!s.have[F_KV_HEADS]) c->kv_heads = c->heads;
  if (!s.have[F_HEAD_DIM]) {
    if (c->dim % c->heads != 0)
      return tern_err(err, errlen,
                  "%s: field 'heads' is %d, expected a divisor of dim = %d (or give head_dim)",
                  what, c->heads, c->dim);
    c->head_dim = c->dim / c->heads;
  }
  return tern_tfm_check(c, what, err, errlen);
}

int tern_tfm_parse_file(const char *path, tern_tfm_config *c, char *err, size_t errlen) {
  if (!path || !c) return tern_err(err, errlen, "tern_tfm_parse_file: null argument");
  FILE *f = fopen(path, "rb");
  if (!f) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  char *buf = malloc(MAX_FILE + 1);
  if (!buf) {
    fclose(f);
    return tern_err(err, errlen, "%s: out of memory", path);
  }
  size_t n = fread(buf, 1, MAX_FILE + 1, f);
  int rerr = ferror(f);
  fclose(f);
  int rc;
  if (rerr) rc = tern_err(err, errlen, "%s: read error", path);
  else if (n > MAX_FILE)
    rc = tern_err(err, errlen, "%s: file is larger than %d bytes, expected a model description", path,
              MAX_FILE);
  else if (memchr(buf, 0, n))
    rc = tern_err(err, errlen, "%s: file contains a NUL byte, expected text", path);
  else {
    buf[n] = 0;
    rc = tern_tfm_parse_string(buf, path, c, err, errlen);
  }
  free(buf);
  return rc;
}

/* ---- printer ------------------------------------------------------------- */

/* shortest %g form that reads back to the same value */
static void fmt_float(char *out, size_t n, float v) {
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(out, n, "%.*g", prec, (double)v);
    if (strtof(out, NULL) == v) return;
  }
}
static void fmt_double(char *out, size_t n, double v) {
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, n, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, n, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return;
  }
}

int tern_tfm_print_string(char *buf, size_t n, const tern_tfm_config *c) {
  char theta[40], eps[40];
  fmt_double(theta, sizeof theta, c->rope_theta);
  fmt_float(eps, sizeof eps, c->eps);
  return snprintf(buf, n,
                  "# tern transformer model description (docs/MODELS.md)\n"
                  "[model]\n"
                  "name = %s\n"
                  "source = %s\n"
                  "vocab = %d\n"
                  "dim = %d\n"
                  "layers = %d\n"
                  "heads = %d\n"
                  "kv_heads = %d\n"
                  "head_dim = %d\n"
                  "ffn = %d\n"
                  "ffn_type = %s\n"
                  "norm = %s\n"
                  "norm_bias = %s\n"
                  "subln = %s\n"
                  "rope_theta = %s\n"
                  "window = %d\n"
                  "tie_embeddings = %s\n"
                  "repeat = %d\n"
                  "share_ffn = %s\n"
                  "max_seq = %d\n"
                  "eps = %s\n"
                  "seed = %" PRIu64 "\n",
                  c->name, c->source, c->vocab, c->dim, c->layers, c->heads, c->kv_heads,
                  c->head_dim, c->ffn, tern_ffn_type_name(c->ffn_type), tern_norm_type_name(c->norm),
                  c->norm_bias ? "true" : "false", c->subln ? "true" : "false", theta,
                  c->window, c->tie_embeddings ? "true" : "false", c->repeat,
                  c->share_ffn ? "true" : "false", c->max_seq, eps, c->seed);
}

int tern_tfm_print(FILE *f, const tern_tfm_config *c) {
  char buf[1024];
  int n = tern_tfm_print_string(buf, sizeof buf, c);
  if (n < 0 || (size_t)n >= sizeof buf) return -1;
  return fputs(buf, f) < 0 ? -1 : 0;
}

/* ---- parameter count ------------------------------------------------------ */

tern_tfm_params tern_tfm_param_count(const tern_tfm_config *c) {
  tern_tfm_params p;
  memset(&p, 0, sizeof p);
  uint64_t d = (uint64_t)c->dim, L = (uint64_t)c->layers, f = (uint64_t)c->ffn;
  uint64_t qd = (uint64_t)c->heads * (uint64_t)c->head_dim;
  uint64_t kvd = (uint64_t)c->kv_heads * (uint64_t)c->head_dim;
  uint64_t nb = c->norm_bias ? 2 : 1;
  uint64_t attn = d * qd + 2 * d * kvd + qd * d;
  uint64_t ffn = (tern_ffn_is_glu(c->ffn_type) ? 3 : 2) * d * f;
  uint64_t nffn = c->share_ffn ? 1 : L;
  p.ternary = L * attn + nffn * ffn;
  /* per block: attention norm + FFN norm (+ attention SubLN); FFN SubLN with its FFN;
   * plus the final norm */
  p.norm = nb * (L * (2 * d + (c->subln ? qd : 0)) + (c->subln ? nffn * f : 0) + d);
  p.embedding = (uint64_t)c->vocab * d;
  p.lm_head = c->tie_embeddings ? 0 : (uint64_t)c->vocab * d;
  p.non_embedding = p.ternary + p.norm;
  p.total = p.non_embedding + p.embedding + p.lm_head;
  return p;
}
