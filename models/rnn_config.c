/* Recurrent model description (issue 4): the INI text format (libinih), its
 * printer, the shape checks and the parameter count (include/tern/rnn.h,
 * docs/MODELS.md "Recurrent models (issue 4)").  Same conventions as
 * models/tfm_config.c: every error names the input, the line (parser), the
 * field and the expected values. */
#include "tern/err.h"
#include "tern/rnn.h"

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
#define MAX_WIDTH (1 << 18)
#define MAX_LAYERS 1024
#define MAX_HEADS 1024
#define MAX_CONV 16
#define MAX_FFN (1 << 18)
#define MAX_SEQ (1 << 24)
#define MAX_FILE (1 << 20)
#define SOURCE_CHARS (TERN_TFM_SOURCE_MAX - 1)
#define PATTERN_CHARS (TERN_RNN_PATTERN_MAX - 1)

const char *tern_rnn_arch_name(tern_rnn_arch a) {
  switch (a) {
    case TERN_RNN_HAWK: return "hawk";
    case TERN_RNN_GRIFFIN: return "griffin";
    case TERN_RNN_MLGRU: return "mlgru";
  }
  return "?";
}

void tern_rnn_config_init(tern_rnn_config *c) {
  memset(c, 0, sizeof *c);
  c->arch = TERN_RNN_HAWK;
  c->heads = 1;
  c->conv_width = 4;
  c->window = 1024;
  strcpy(c->pattern, "r");
  c->tie_embeddings = 1;
  c->max_seq = 65536;
  c->eps = 1e-6f;
  c->seed = 1;
}

char tern_rnn_block_kind(const tern_rnn_config *c, int b) {
  size_t n = strlen(c->pattern);
  if (!n || b < 0) return '?';
  return c->pattern[(size_t)b % n];
}

/* ---- checks -------------------------------------------------------------- */

static int name_ok(const char *s) {
  if (!s[0]) return 0;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')) return 0;
  return 1;
}

static int source_ok(const char *s) {
  size_t n = strlen(s);
  if (n > SOURCE_CHARS) return 0;
  if (n && (s[0] == ' ' || s[n - 1] == ' ')) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ';') return 0;
  return 1;
}

static const char *pattern_letters(tern_rnn_arch a) {
  switch (a) {
    case TERN_RNN_HAWK: return "r";
    case TERN_RNN_GRIFFIN: return "ra";
    case TERN_RNN_MLGRU: return "m";
  }
  return "";
}

static const char *pattern_expect(tern_rnn_arch a) {
  switch (a) {
    case TERN_RNN_HAWK: return "r (hawk: recurrent blocks only)";
    case TERN_RNN_GRIFFIN: return "r (recurrent) and a (local attention) for griffin";
    case TERN_RNN_MLGRU: return "m (mlgru)";
  }
  return "?";
}

static int pattern_ok(const char *p, tern_rnn_arch a) {
  size_t n = strlen(p);
  if (n < 1 || n > PATTERN_CHARS) return 0;
  const char *ok = pattern_letters(a);
  for (size_t i = 0; i < n; i++)
    if (!strchr(ok, p[i])) return 0;
  return 1;
}

#define RANGE(field, lo, hi)                                                                  \
  do {                                                                                        \
    if (c->field < (lo) || c->field > (hi))                                                   \
      return tern_err(err, errlen, "%s: field '%s' is %d, expected %d..%d", what, #field,     \
                      (int)c->field, (int)(lo), (int)(hi));                                   \
  } while (0)

int tern_rnn_check(const tern_rnn_config *c, const char *what, char *err, size_t errlen) {
  if (!what) what = "config";
  if (!c) return tern_err(err, errlen, "%s: null config", what);
  if (memchr(c->name, 0, sizeof c->name) == NULL || !name_ok(c->name))
    return tern_err(err, errlen,
                    "%s: field 'name' is invalid, expected 1..%d characters of [A-Za-z0-9._-]",
                    what, TERN_TFM_NAME_MAX - 1);
  if (memchr(c->source, 0, sizeof c->source) == NULL || !source_ok(c->source))
    return tern_err(err, errlen,
                    "%s: field 'source' is invalid, expected at most %d printable characters "
                    "without ';'",
                    what, SOURCE_CHARS);
  if ((int)c->arch < 0 || (int)c->arch > 2)
    return tern_err(err, errlen, "%s: field 'arch' is %d, expected hawk, griffin or mlgru", what,
                    (int)c->arch);
  RANGE(vocab, 2, MAX_VOCAB);
  RANGE(dim, 1, MAX_DIM);
  RANGE(layers, 1, MAX_LAYERS);
  RANGE(heads, 1, MAX_HEADS);
  RANGE(lru_width, 1, MAX_WIDTH);
  RANGE(lru_block, 1, c->lru_width);
  if (c->lru_width % c->lru_block != 0)
    return tern_err(err, errlen, "%s: field 'lru_block' is %d, expected a divisor of lru_width = %d",
                    what, c->lru_block, c->lru_width);
  if (c->arch == TERN_RNN_MLGRU && c->lru_width % c->heads != 0)
    return tern_err(err, errlen, "%s: field 'heads' is %d, expected a divisor of lru_width = %d",
                    what, c->heads, c->lru_width);
  RANGE(conv_width, 1, MAX_CONV);
  RANGE(ffn, 1, MAX_FFN);
  RANGE(window, 1, MAX_SEQ);
  if (memchr(c->pattern, 0, sizeof c->pattern) == NULL || !pattern_ok(c->pattern, c->arch))
    return tern_err(err, errlen, "%s: field 'pattern' is '%.*s', expected 1..%d letters of %s",
                    what, PATTERN_CHARS, c->pattern, PATTERN_CHARS, pattern_expect(c->arch));
  if (strchr(c->pattern, TERN_RNN_ATTENTION)) {
    if (c->dim % c->heads != 0)
      return tern_err(err, errlen,
                      "%s: field 'heads' is %d, expected a divisor of dim = %d (attention head "
                      "size dim / heads)",
                      what, c->heads, c->dim);
    if ((c->dim / c->heads) % 2 != 0)
      return tern_err(err, errlen,
                      "%s: field 'heads' is %d, expected dim / heads (= %d) to be even (RoPE "
                      "pairs)",
                      what, c->heads, c->dim / c->heads);
  }
  RANGE(tie_embeddings, 0, 1);
  RANGE(max_seq, 1, MAX_SEQ);
  if (!(c->eps > 0.0f && c->eps <= 1.0f))
    return tern_err(err, errlen, "%s: field 'eps' is %g, expected a number in (0, 1]", what,
                    (double)c->eps);
  return 0;
}

/* ---- parser --------------------------------------------------------------- */

enum {
  F_NAME, F_SOURCE, F_ARCH, F_VOCAB, F_DIM, F_LAYERS, F_HEADS, F_LRU_WIDTH, F_LRU_BLOCK,
  F_CONV_WIDTH, F_FFN, F_WINDOW, F_PATTERN, F_TIE, F_MAX_SEQ, F_EPS, F_SEED, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "name", "source", "arch", "vocab", "dim", "layers", "heads", "lru_width", "lru_block",
    "conv_width", "ffn", "window", "pattern", "tie_embeddings", "max_seq", "eps", "seed"};

static const int required[] = {F_NAME, F_ARCH, F_VOCAB, F_DIM, F_LAYERS};

typedef struct parse_state {
  const char *p;
  const char *what;
  int line;
  int have[F_COUNT];
  tern_rnn_config *c;
  char *err;
  size_t errlen;
  int failed;
} parse_state;

/* fgets-like reader; a line that does not fit inih's buffer is an error */
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

static int perr(parse_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
  return 0;
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
  tern_rnn_config *c = s->c;
  if (strcmp(section, "model") != 0) {
    if (!section[0])
      return perr(s, "field '%.40s' outside a section, expected a [model] section first", name);
    return perr(s, "section '[%.40s]' is unknown, expected [model]", section);
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
    case F_ARCH: {
      int a = -1;
      for (int i = 0; i < 3; i++)
        if (!strcmp(value, tern_rnn_arch_name((tern_rnn_arch)i))) a = i;
      if (a < 0) return perr(s, "field 'arch' is '%.40s', expected hawk, griffin or mlgru", value);
      c->arch = (tern_rnn_arch)a;
      break;
    }
    case F_VOCAB: INT_FIELD(vocab, 2, MAX_VOCAB); break;
    case F_DIM: INT_FIELD(dim, 1, MAX_DIM); break;
    case F_LAYERS: INT_FIELD(layers, 1, MAX_LAYERS); break;
    case F_HEADS: INT_FIELD(heads, 1, MAX_HEADS); break;
    case F_LRU_WIDTH: INT_FIELD(lru_width, 1, MAX_WIDTH); break;
    case F_LRU_BLOCK: INT_FIELD(lru_block, 1, MAX_WIDTH); break;
    case F_CONV_WIDTH: INT_FIELD(conv_width, 1, MAX_CONV); break;
    case F_FFN: INT_FIELD(ffn, 1, MAX_FFN); break;
    case F_WINDOW: INT_FIELD(window, 1, MAX_SEQ); break;
    case F_PATTERN: {
      size_t n = strlen(value);
      int ok = n >= 1 && n <= PATTERN_CHARS;
      for (size_t i = 0; ok && i < n; i++)
        if (!strchr("ram", value[i])) ok = 0;
      if (!ok)
        return perr(s,
                    "field 'pattern' is '%.40s', expected 1..%d letters of r (recurrent), a "
                    "(local attention) or m (mlgru)",
                    value, PATTERN_CHARS);
      strcpy(c->pattern, value);
      break;
    }
    case F_TIE:
      if (parse_bool(value, &iv))
        return perr(s, "field '%s' is '%.40s', expected true or false", fn, value);
      c->tie_embeddings = iv;
      break;
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
  return 1;
}

int tern_rnn_parse_string(const char *text, const char *what, tern_rnn_config *c, char *err,
                          size_t errlen) {
  if (!what) what = "<string>";
  if (!text || !c) return tern_err(err, errlen, "%s: null argument", what);
  if (err && errlen) err[0] = 0;
  tern_rnn_config_init(c);
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
        tern_err(err, errlen,
                 "%s:%d: syntax error, expected 'field = value', '[model]' or a comment", what,
                 rc);
      else
        tern_err(err, errlen, "%s: parser error %d", what, rc);
    }
    return -1;
  }
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!s.have[required[i]])
      return tern_err(err, errlen,
                      "%s: field '%s' is missing (required: name, arch, vocab, dim, layers)",
                      what, field_names[required[i]]);
  /* per-arch defaults (docs/MODELS.md) */
  int mlgru = c->arch == TERN_RNN_MLGRU;
  if (!s.have[F_LRU_WIDTH]) {
    if (mlgru) c->lru_width = c->dim;
    else {
      int w = (int)((int64_t)c->dim * 4 / 3 / c->heads * c->heads);
      c->lru_width = w > 0 ? w : c->heads;
    }
  }
  if (!s.have[F_LRU_BLOCK]) {
    if (mlgru) c->lru_block = c->lru_width; /* unused: MLGRU has no gate blocks */
    else if (c->lru_width % c->heads != 0)
      return tern_err(err, errlen,
                      "%s: field 'heads' is %d, expected a divisor of lru_width = %d (or give "
                      "lru_block)",
                      what, c->heads, c->lru_width);
    else c->lru_block = c->lru_width / c->heads;
  }
  if (!s.have[F_FFN]) {
    if (mlgru) {
      int64_t f = (int64_t)c->dim * 8 / 3;
      f = 256 * ((f + 255) / 256);
      c->ffn = (int)(f > MAX_FFN ? MAX_FFN : f);
    } else {
      int64_t f = (int64_t)c->dim * 3;
      c->ffn = (int)(f > MAX_FFN ? MAX_FFN : f);
    }
  }
  if (!s.have[F_PATTERN])
    strcpy(c->pattern, c->arch == TERN_RNN_GRIFFIN ? "rra" : (mlgru ? "m" : "r"));
  if (!s.have[F_TIE]) c->tie_embeddings = mlgru ? 0 : 1;
  return tern_rnn_check(c, what, err, errlen);
}

int tern_rnn_parse_file(const char *path, tern_rnn_config *c, char *err, size_t errlen) {
  if (!path || !c) return tern_err(err, errlen, "tern_rnn_parse_file: null argument");
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
    rc = tern_err(err, errlen, "%s: file is larger than %d bytes, expected a model description",
                  path, MAX_FILE);
  else if (memchr(buf, 0, n))
    rc = tern_err(err, errlen, "%s: file contains a NUL byte, expected text", path);
  else {
    buf[n] = 0;
    rc = tern_rnn_parse_string(buf, path, c, err, errlen);
  }
  free(buf);
  return rc;
}

/* ---- printer ------------------------------------------------------------- */

static void fmt_float(char *out, size_t n, float v) {
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(out, n, "%.*g", prec, (double)v);
    if (strtof(out, NULL) == v) return;
  }
}

int tern_rnn_print_string(char *buf, size_t n, const tern_rnn_config *c) {
  char eps[40];
  fmt_float(eps, sizeof eps, c->eps);
  return snprintf(buf, n,
                  "# tern recurrent model description (docs/MODELS.md)\n"
                  "[model]\n"
                  "name = %s\n"
                  "source = %s\n"
                  "arch = %s\n"
                  "vocab = %d\n"
                  "dim = %d\n"
                  "layers = %d\n"
                  "heads = %d\n"
                  "lru_width = %d\n"
                  "lru_block = %d\n"
                  "conv_width = %d\n"
                  "ffn = %d\n"
                  "window = %d\n"
                  "pattern = %s\n"
                  "tie_embeddings = %s\n"
                  "max_seq = %d\n"
                  "eps = %s\n"
                  "seed = %" PRIu64 "\n",
                  c->name, c->source, tern_rnn_arch_name(c->arch), c->vocab, c->dim, c->layers,
                  c->heads, c->lru_width, c->lru_block, c->conv_width, c->ffn, c->window,
                  c->pattern, c->tie_embeddings ? "true" : "false", c->max_seq, eps, c->seed);
}

int tern_rnn_print(FILE *f, const tern_rnn_config *c) {
  char buf[1024];
  int n = tern_rnn_print_string(buf, sizeof buf, c);
  if (n < 0 || (size_t)n >= sizeof buf) return -1;
  return fputs(buf, f) < 0 ? -1 : 0;
}

/* ---- parameter count and state size ---------------------------------------- */

tern_rnn_params tern_rnn_param_count(const tern_rnn_config *c) {
  tern_rnn_params p;
  memset(&p, 0, sizeof p);
  uint64_t d = (uint64_t)c->dim, w = (uint64_t)c->lru_width, f = (uint64_t)c->ffn;
  uint64_t lb = (uint64_t)c->lru_block, cw = (uint64_t)c->conv_width;
  uint64_t hd = c->heads > 0 ? d / (uint64_t)c->heads : 0;
  for (int b = 0; b < c->layers; b++) {
    switch (tern_rnn_block_kind(c, b)) {
      case TERN_RNN_RECURRENT:
        p.ternary += 3 * d * w + 2 * w * lb;  /* wx, wy, wout; W_a, W_x */
        p.other += cw * w + w + 2 * w + w;    /* conv taps + bias, b_a, b_x, Lambda */
        break;
      case TERN_RNN_ATTENTION: p.ternary += 2 * d * d + 2 * d * hd; break;
      case TERN_RNN_MLGRU_BLK: p.ternary += 4 * d * w; break;
      default: break;
    }
    p.ternary += 3 * d * f; /* MLP gate, up, down */
    p.other += 2 * d;       /* two RMSNorm gains */
  }
  p.other += d; /* final norm */
  p.embedding = (uint64_t)c->vocab * d;
  p.lm_head = c->tie_embeddings ? 0 : (uint64_t)c->vocab * d;
  p.non_embedding = p.ternary + p.other;
  p.total = p.non_embedding + p.embedding + p.lm_head;
  return p;
}

uint64_t tern_rnn_state_floats(const tern_rnn_config *c) {
  uint64_t s = 0, w = (uint64_t)c->lru_width;
  uint64_t ring = (uint64_t)(c->window < c->max_seq ? c->window : c->max_seq);
  uint64_t hd = c->heads > 0 ? (uint64_t)(c->dim / c->heads) : 0;
  for (int b = 0; b < c->layers; b++) {
    switch (tern_rnn_block_kind(c, b)) {
      case TERN_RNN_RECURRENT: s += w + (uint64_t)(c->conv_width - 1) * w; break;
      case TERN_RNN_ATTENTION: s += 2 * ring * hd; break;
      case TERN_RNN_MLGRU_BLK: s += w; break;
      default: break;
    }
  }
  return s;
}
