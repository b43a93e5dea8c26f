/* Transformer model description: the INI text format (libinih), its printer,
 * the shape checks and the parameter count (include/tern/tfm.h,
 * docs/MODELS.md). */
#include "model_common.h"
#include "tern/err.h"
#include "tern/tfm.h"

#include <errno.h>
#include <inttypes.h>
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

#define RANGE TERN_MC_RANGE

int tern_tfm_check(const tern_tfm_config *c, const char *what, char *err, size_t errlen) {
  if (!what) what = "config";
  if (!c) return tern_err(err, errlen, "%s: null config", what);
  if (tern_mc_check_name_source(c->name, c->source, what, err, errlen)) return -1;
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
  return tern_mc_check_eps(c->eps, what, err, errlen);
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
  tern_mc_ini ini;
  tern_tfm_config *c;
} parse_state;

static int handler(void *user, const char *section, const char *name, const char *value) {
  tern_mc_ini *s = &((parse_state *)user)->ini;
  tern_tfm_config *c = ((parse_state *)user)->c;
  if (strcmp(section, "model") != 0) {
    if (!section[0])
      return tern_mc_perr(s, "field '%s' outside a section, expected a [model] section first",
                          name);
    return tern_mc_perr(s, "section '[%s]' is unknown, expected [model]", section);
  }
  int f = tern_mc_field(s, name);
  if (f < 0) return 0;
  switch (f) {
    case F_NAME: return tern_mc_name(s, value, c->name);
    case F_SOURCE: return tern_mc_source(s, value, c->source);
    case F_VOCAB: return tern_mc_int(s, value, 2, MAX_VOCAB, &c->vocab);
    case F_DIM: return tern_mc_int(s, value, 1, MAX_DIM, &c->dim);
    case F_LAYERS: return tern_mc_int(s, value, 1, MAX_LAYERS, &c->layers);
    case F_HEADS: return tern_mc_int(s, value, 1, MAX_HEADS, &c->heads);
    case F_KV_HEADS: return tern_mc_int(s, value, 1, MAX_HEADS, &c->kv_heads);
    case F_HEAD_DIM: return tern_mc_int(s, value, 2, MAX_HEAD_DIM, &c->head_dim);
    case F_FFN: return tern_mc_int(s, value, 1, MAX_FFN, &c->ffn);
    case F_FFN_TYPE: {
      int t = -1;
      for (int i = 0; i < 4; i++)
        if (!strcmp(value, tern_ffn_type_name((tern_ffn_type)i))) t = i;
      if (t < 0)
        return tern_mc_perr(
            s, "field 'ffn_type' is '%.40s', expected swiglu, relu2_glu, relu2 or gelu", value);
      c->ffn_type = (tern_ffn_type)t;
      break;
    }
    case F_NORM:
      if (!strcmp(value, "rmsnorm")) c->norm = TERN_NORM_RMS;
      else if (!strcmp(value, "layernorm")) c->norm = TERN_NORM_LAYER;
      else return tern_mc_perr(s, "field 'norm' is '%.40s', expected rmsnorm or layernorm", value);
      break;
    case F_NORM_BIAS: return tern_mc_bool(s, value, &c->norm_bias);
    case F_SUBLN: return tern_mc_bool(s, value, &c->subln);
    case F_ROPE_THETA: {
      char *end;
      errno = 0;
      double x = strtod(value, &end);
      if (!*value || *end || errno || !(x > 1.0 && x <= 1e12))
        return tern_mc_perr(s, "field 'rope_theta' is '%.40s', expected a number in (1, 1e12]",
                            value);
      c->rope_theta = x;
      break;
    }
    case F_WINDOW: return tern_mc_int(s, value, 0, MAX_SEQ, &c->window);
    case F_TIE: return tern_mc_bool(s, value, &c->tie_embeddings);
    case F_REPEAT: return tern_mc_int(s, value, 1, MAX_REPEAT, &c->repeat);
    case F_SHARE_FFN: return tern_mc_bool(s, value, &c->share_ffn);
    case F_MAX_SEQ: return tern_mc_int(s, value, 1, MAX_SEQ, &c->max_seq);
    case F_EPS: return tern_mc_eps(s, value, &c->eps);
    case F_SEED: return tern_mc_seed(s, value, &c->seed);
    default: break;
  }
  return 1;
}

int tern_tfm_parse_string(const char *text, const char *what, tern_tfm_config *c, char *err,
                          size_t errlen) {
  if (!what) what = "<string>";
  if (!text || !c) return tern_err(err, errlen, "%s: null argument", what);
  if (err && errlen) err[0] = 0;
  tern_tfm_config_init(c);
  parse_state ps = {.c = c};
  const tern_mc_ini *s = &ps.ini;
  if (tern_mc_ini_parse(&ps.ini, text, what, field_names, F_COUNT, handler, &ps, err, errlen) ||
      tern_mc_required(s, required, (int)(sizeof required / sizeof required[0]), err, errlen))
    return -1;
  if (!s->have[F_KV_HEADS]) c->kv_heads = c->heads;
  if (!s->have[F_HEAD_DIM]) {
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
  char *text;
  if (tern_mc_read_text(path, &text, err, errlen)) return -1;
  int rc = tern_tfm_parse_string(text, path, c, err, errlen);
  free(text);
  return rc;
}

/* ---- printer ------------------------------------------------------------- */

int tern_tfm_print_string(char *buf, size_t n, const tern_tfm_config *c) {
  char theta[40], eps[40];
  tern_mc_fmt_double(theta, sizeof theta, c->rope_theta);
  tern_mc_fmt_float(eps, sizeof eps, c->eps);
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
