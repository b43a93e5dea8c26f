/* Recurrent model description (issue 4): the INI text format (libinih), its
 * printer, the shape checks and the parameter count (include/tern/rnn.h,
 * docs/MODELS.md "Recurrent models (issue 4)").  Same conventions as
 * models/tfm_config.c: every error names the input, the line (parser), the
 * field and the expected values. */
#include "model_common.h"
#include "tern/err.h"
#include "tern/rnn.h"

#include <inttypes.h>
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

#define RANGE TERN_MC_RANGE

int tern_rnn_check(const tern_rnn_config *c, const char *what, char *err, size_t errlen) {
  if (!what) what = "config";
  if (!c) return tern_err(err, errlen, "%s: null config", what);
  if (tern_mc_check_name_source(c->name, c->source, what, err, errlen)) return -1;
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
  return tern_mc_check_eps(c->eps, what, err, errlen);
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
  tern_mc_ini ini;
  tern_rnn_config *c;
} parse_state;

static int handler(void *user, const char *section, const char *name, const char *value) {
  tern_mc_ini *s = &((parse_state *)user)->ini;
  tern_rnn_config *c = ((parse_state *)user)->c;
  if (strcmp(section, "model") != 0) {
    if (!section[0])
      return tern_mc_perr(s, "field '%.40s' outside a section, expected a [model] section first",
                          name);
    return tern_mc_perr(s, "section '[%.40s]' is unknown, expected [model]", section);
  }
  int f = tern_mc_field(s, name);
  if (f < 0) return 0;
  switch (f) {
    case F_NAME: return tern_mc_name(s, value, c->name);
    case F_SOURCE: return tern_mc_source(s, value, c->source);
    case F_ARCH: {
      int a = -1;
      for (int i = 0; i < 3; i++)
        if (!strcmp(value, tern_rnn_arch_name((tern_rnn_arch)i))) a = i;
      if (a < 0)
        return tern_mc_perr(s, "field 'arch' is '%.40s', expected hawk, griffin or mlgru", value);
      c->arch = (tern_rnn_arch)a;
      break;
    }
    case F_VOCAB: return tern_mc_int(s, value, 2, MAX_VOCAB, &c->vocab);
    case F_DIM: return tern_mc_int(s, value, 1, MAX_DIM, &c->dim);
    case F_LAYERS: return tern_mc_int(s, value, 1, MAX_LAYERS, &c->layers);
    case F_HEADS: return tern_mc_int(s, value, 1, MAX_HEADS, &c->heads);
    case F_LRU_WIDTH: return tern_mc_int(s, value, 1, MAX_WIDTH, &c->lru_width);
    case F_LRU_BLOCK: return tern_mc_int(s, value, 1, MAX_WIDTH, &c->lru_block);
    case F_CONV_WIDTH: return tern_mc_int(s, value, 1, MAX_CONV, &c->conv_width);
    case F_FFN: return tern_mc_int(s, value, 1, MAX_FFN, &c->ffn);
    case F_WINDOW: return tern_mc_int(s, value, 1, MAX_SEQ, &c->window);
    case F_PATTERN: {
      size_t n = strlen(value);
      int ok = n >= 1 && n <= PATTERN_CHARS;
      for (size_t i = 0; ok && i < n; i++)
        if (!strchr("ram", value[i])) ok = 0;
      if (!ok)
        return tern_mc_perr(s,
                            "field 'pattern' is '%.40s', expected 1..%d letters of r "
                            "(recurrent), a (local attention) or m (mlgru)",
                            value, PATTERN_CHARS);
      strcpy(c->pattern, value);
      break;
    }
    case F_TIE: return tern_mc_bool(s, value, &c->tie_embeddings);
    case F_MAX_SEQ: return tern_mc_int(s, value, 1, MAX_SEQ, &c->max_seq);
    case F_EPS: return tern_mc_eps(s, value, &c->eps);
    case F_SEED: return tern_mc_seed(s, value, &c->seed);
    default: break;
  }
  return 1;
}

int tern_rnn_parse_string(const char *text, const char *what, tern_rnn_config *c, char *err,
                          size_t errlen) {
  if (!what) what = "<string>";
  if (!text || !c) return tern_err(err, errlen, "%s: null argument", what);
  if (err && errlen) err[0] = 0;
  tern_rnn_config_init(c);
  parse_state ps = {.c = c};
  const tern_mc_ini *s = &ps.ini;
  if (tern_mc_ini_parse(&ps.ini, text, what, field_names, F_COUNT, handler, &ps, err, errlen) ||
      tern_mc_required(s, required, (int)(sizeof required / sizeof required[0]), err, errlen))
    return -1;
  /* per-arch defaults (docs/MODELS.md) */
  int mlgru = c->arch == TERN_RNN_MLGRU;
  if (!s->have[F_LRU_WIDTH]) {
    if (mlgru) c->lru_width = c->dim;
    else {
      int w = (int)((int64_t)c->dim * 4 / 3 / c->heads * c->heads);
      c->lru_width = w > 0 ? w : c->heads;
    }
  }
  if (!s->have[F_LRU_BLOCK]) {
    if (mlgru) c->lru_block = c->lru_width; /* unused: MLGRU has no gate blocks */
    else if (c->lru_width % c->heads != 0)
      return tern_err(err, errlen,
                      "%s: field 'heads' is %d, expected a divisor of lru_width = %d (or give "
                      "lru_block)",
                      what, c->heads, c->lru_width);
    else c->lru_block = c->lru_width / c->heads;
  }
  if (!s->have[F_FFN]) {
    if (mlgru) {
      int64_t f = (int64_t)c->dim * 8 / 3;
      f = 256 * ((f + 255) / 256);
      c->ffn = (int)(f > MAX_FFN ? MAX_FFN : f);
    } else {
      int64_t f = (int64_t)c->dim * 3;
      c->ffn = (int)(f > MAX_FFN ? MAX_FFN : f);
    }
  }
  if (!s->have[F_PATTERN])
    strcpy(c->pattern, c->arch == TERN_RNN_GRIFFIN ? "rra" : (mlgru ? "m" : "r"));
  if (!s->have[F_TIE]) c->tie_embeddings = mlgru ? 0 : 1;
  return tern_rnn_check(c, what, err, errlen);
}

int tern_rnn_parse_file(const char *path, tern_rnn_config *c, char *err, size_t errlen) {
  if (!path || !c) return tern_err(err, errlen, "tern_rnn_parse_file: null argument");
  char *text;
  if (tern_mc_read_text(path, &text, err, errlen)) return -1;
  int rc = tern_rnn_parse_string(text, path, c, err, errlen);
  free(text);
  return rc;
}

/* ---- printer ------------------------------------------------------------- */

int tern_rnn_print_string(char *buf, size_t n, const tern_rnn_config *c) {
  char eps[40];
  tern_mc_fmt_float(eps, sizeof eps, c->eps);
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
