/* safetensors checkpoints (models/ckpt_internal.h): the Hugging Face tensor
 * names, the BitNet b1.58 2B4T packed ternary layout, float masters, int8 or
 * float embeddings, config.json (tern's description or the HF fields), and
 * export in the same layout. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt_internal.h"
#include "model_common.h"
#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/safetensors.h"

#define CK_MAX_CONFIG (1u << 20) /* bytes of config.json */

/* ---- names ------------------------------------------------------------------------ */

/* Hugging Face (LLaMA / BitNet b1.58 2B4T) tensor names. */
static const char *hf_name(ck_role r, int layer, char *buf, size_t n) {
  static const char *const blk[] = {
      [CK_ATTN_G] = "input_layernorm.weight",       [CK_ATTN_B] = "input_layernorm.bias",
      [CK_WQ] = "self_attn.q_proj.weight",          [CK_WK] = "self_attn.k_proj.weight",
      [CK_WV] = "self_attn.v_proj.weight",          [CK_WO] = "self_attn.o_proj.weight",
      [CK_ASUB_G] = "self_attn.attn_sub_norm.weight", [CK_ASUB_B] = "self_attn.attn_sub_norm.bias",
      [CK_FFN_G] = "post_attention_layernorm.weight", [CK_FFN_B] = "post_attention_layernorm.bias",
      [CK_GATE] = "mlp.gate_proj.weight",           [CK_UP] = "mlp.up_proj.weight",
      [CK_DOWN] = "mlp.down_proj.weight",           [CK_FSUB_G] = "mlp.ffn_sub_norm.weight",
      [CK_FSUB_B] = "mlp.ffn_sub_norm.bias"};
  switch (r) {
    case CK_EMBED: snprintf(buf, n, "model.embed_tokens.weight"); break;
    case CK_LM_HEAD: snprintf(buf, n, "lm_head.weight"); break;
    case CK_FINAL_G: snprintf(buf, n, "model.norm.weight"); break;
    case CK_FINAL_B: snprintf(buf, n, "model.norm.bias"); break;
    default: snprintf(buf, n, "model.layers.%d.%s", layer, blk[r]); break;
  }
  return buf;
}

/* ---- safetensors ------------------------------------------------------------------- */

static const tern_st_tensor *st_get(ck_src *s, const char *name, char *err, size_t errlen) {
  const tern_st_tensor *t = tern_st_find(s->impl, name);
  if (!t) tern_err(err, errlen, "%s: tensor '%s' is missing", s->path, name);
  return t;
}

static int st_has(ck_src *s, const char *name) { return tern_st_find(s->impl, name) != NULL; }

static void st_release(ck_src *s, const char *name) {
  char sn[300];
  const tern_st_tensor *t = tern_st_find(s->impl, name);
  if (t) ck_release_pages(t->data, t->nbytes);
  snprintf(sn, sizeof sn, "%s_scale", name);
  if ((t = tern_st_find(s->impl, sn))) ck_release_pages(t->data, t->nbytes);
}

static int st_shape_err(ck_src *s, const tern_st_tensor *t, const char *want, char *err,
                        size_t errlen) {
  char got[160] = "";
  size_t o = 0;
  for (int d = 0; d < t->ndim && o < sizeof got - 24; d++)
    o += (size_t)snprintf(got + o, sizeof got - o, "%s%llu", d ? ", " : "",
                          (unsigned long long)t->shape[d]);
  return tern_err(err, errlen, "%s: tensor '%s': shape [%s] (%s), expected %s",
                  tern_st_file(s->impl, t), t->name, got, tern_st_dtype_name(t->dtype), want);
}

static int st_is2(const tern_st_tensor *t, uint64_t a, uint64_t b) {
  return t->ndim == 2 && t->shape[0] == a && t->shape[1] == b;
}

static int st_vec(ck_src *s, const char *name, int n, float *out, char *err, size_t errlen) {
  const tern_st_tensor *t = st_get(s, name, err, errlen);
  if (!t) return -1;
  if (!tern_st_is_float(t->dtype) || t->ndim != 1 || t->shape[0] != (uint64_t)n) {
    char w[64];
    snprintf(w, sizeof w, "[%d] of F32, F16, BF16 or F64", n);
    return st_shape_err(s, t, w, err, errlen);
  }
  for (int i = 0; i < n; i++) {
    out[i] = (float)tern_st_get_double(t, (uint64_t)i);
    if (!isfinite(out[i]))
      return tern_err(err, errlen, "%s: tensor '%s': element %d is %g, expected a finite value",
                      tern_st_file(s->impl, t), name, i, (double)out[i]);
  }
  return 0;
}

/* One float scale stored beside a tensor: name with ".weight" -> ".weight_scale". */
static const tern_st_tensor *st_scale_of(ck_src *s, const char *name, char *sn, size_t n) {
  snprintf(sn, n, "%s_scale", name);
  return tern_st_find(s->impl, sn);
}

static int st_rows(ck_src *s, const char *name, int rows, int cols, tern_i8rows *e, int *quantised,
                   char *err, size_t errlen) {
  const tern_st_tensor *t = st_get(s, name, err, errlen);
  if (!t) return -1;
  char want[96];
  snprintf(want, sizeof want, "[%d, %d] of I8 (with %s_scale) or F32/F16/BF16", rows, cols, name);
  if (!st_is2(t, (uint64_t)rows, (uint64_t)cols) ||
      !(t->dtype == TERN_ST_I8 || tern_st_is_float(t->dtype)))
    return st_shape_err(s, t, want, err, errlen);
  if (ck_alloc_rows(rows, cols, e)) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  if (t->dtype == TERN_ST_I8) {
    char sn[256];
    const tern_st_tensor *sc = st_scale_of(s, name, sn, sizeof sn);
    if (!sc) return tern_err(err, errlen, "%s: tensor '%s' is I8 but '%s' (its per-row scales) is "
                             "missing", tern_st_file(s->impl, t), name, sn);
    char w2[64];
    snprintf(w2, sizeof w2, "[%d] of F32, F16, BF16 or F64", rows);
    if (!tern_st_is_float(sc->dtype) || sc->ndim != 1 || sc->shape[0] != (uint64_t)rows)
      return st_shape_err(s, sc, w2, err, errlen);
    memcpy(e->q, t->data, (size_t)rows * (size_t)cols);
    for (int r = 0; r < rows; r++) {
      e->scale[r] = (float)tern_st_get_double(sc, (uint64_t)r);
      if (!isfinite(e->scale[r]) || !(e->scale[r] > 0.0f))
        return tern_err(err, errlen, "%s: tensor '%s': row %d scale is %g, expected a positive "
                        "finite value", tern_st_file(s->impl, sc), sn, r, (double)e->scale[r]);
    }
    const uint8_t *m128 = memchr(e->q, 0x80, (size_t)rows * (size_t)cols);
    if (m128) {
      size_t at = (size_t)(m128 - (const uint8_t *)e->q);
      return tern_err(err, errlen, "%s: tensor '%s': row %zu column %zu is -128, expected -127..127 "
                      "(symmetric int8 rows)", tern_st_file(s->impl, t), name, at / (size_t)cols,
                      at % (size_t)cols);
    }
    return 0;
  }
  float *row = malloc((size_t)cols * sizeof(float));
  if (!row) return tern_err(err, errlen, "out of memory");
  for (int r = 0; r < rows; r++) {
    for (int i = 0; i < cols; i++) {
      row[i] = (float)tern_st_get_double(t, (uint64_t)r * (uint64_t)cols + (uint64_t)i);
      if (!isfinite(row[i])) {
        free(row);
        return tern_err(err, errlen, "%s: tensor '%s': element [%d, %d] is not finite",
                        tern_st_file(s->impl, t), name, r, i);
      }
    }
    ck_quant_row(row, cols, e->q + (size_t)r * (size_t)cols, &e->scale[r]);
  }
  free(row);
  *quantised = 1;
  return 0;
}

/* The BitNet b1.58 2B4T packing -> tern's codes.  src: [R][in] bytes, R =
 * ceil(out/4), byte [p][i] holding (w + 1) of output rows p + jR in bits 2j,
 * 2j+1; codes: tern's [in][out] (tern_tpack layout).  w: in*out bytes of
 * scratch for the general path.  0, or 1 with the first weight whose code is
 * 3 (not a weight) in *bad_o, *bad_i.
 *
 * When R is a multiple of 4 (out % 16 == 0, every published shape), four
 * consecutive rows p of column i fill one tern byte for each j, so the
 * conversion is a gather in 64x64 tiles plus a bitwise code change and a 4x4
 * transpose of 2-bit fields (the import of a 2B4T-sized model converts ~500
 * MB of codes). */
typedef struct b4t_job {
  const uint8_t *src;
  uint8_t *codes;
  size_t in, ob, R4;
  uint32_t bad[1];
} b4t_job;

/* input columns [lo*64, hi*64) of the fast path */
static void b4t_range(void *ctx, size_t lo, size_t hi) {
  b4t_job *j = ctx;
  size_t st = j->in, R4 = j->R4, ob = j->ob;
  uint32_t bad = 0;
  for (size_t I = lo * 64; I < hi * 64 && I < st; I += 64) {
    size_t ie = I + 64 < st ? I + 64 : st;
    for (size_t G = 0; G < R4; G += 16) {
      size_t ge = G + 16 < R4 ? G + 16 : R4;
      size_t i = I;
      /* eight input columns at a time: the same code change and 4x4 transpose of 2-bit
         fields as ck_codes4x4, on the four rows' 8-byte words (every byte is a column) */
      for (; i + 8 <= ie; i += 8) {
        for (size_t g = G; g < ge; g++) {
          const uint8_t *p = j->src + 4 * g * st + i;
          uint64_t r[4], o[4];
          for (int t = 0; t < 4; t++) memcpy(&r[t], p + (size_t)t * st, 8);
          ck_codes4x4_x8(r, o, &bad);
          for (int c = 0; c < 8; c++) {
            uint8_t *d = j->codes + (i + (size_t)c) * ob + g;
            d[0] = (uint8_t)(o[0] >> (8 * c));
            d[R4] = (uint8_t)(o[1] >> (8 * c));
            d[2 * R4] = (uint8_t)(o[2] >> (8 * c));
            d[3 * R4] = (uint8_t)(o[3] >> (8 * c));
          }
        }
      }
      for (; i < ie; i++) {
        uint8_t *d = j->codes + i * ob;
        for (size_t g = G; g < ge; g++) {
          const uint8_t *p = j->src + 4 * g * st + i;
          /* 2-bit field j of row t sits at bit 8t + 2j */
          uint32_t w = ck_codes4x4((uint32_t)p[0] | (uint32_t)p[st] << 8 |
                                       (uint32_t)p[2 * st] << 16 | (uint32_t)p[3 * st] << 24,
                                   &bad);
          d[g] = (uint8_t)w;
          d[R4 + g] = (uint8_t)(w >> 8);
          d[2 * R4 + g] = (uint8_t)(w >> 16);
          d[3 * R4 + g] = (uint8_t)(w >> 24);
        }
      }
    }
  }
  if (bad) __atomic_fetch_or(&j->bad[0], 1u, __ATOMIC_RELAXED);
}

static int unpack_2b4t(const uint8_t *src, int in, int out, uint8_t *codes, int8_t *w,
                       uint64_t *bad_o, int *bad_i) {
  uint64_t R = ((uint64_t)out + 3) / 4;
  if (R % 4 == 0) {
    b4t_job j;
    memset(&j, 0, sizeof j);
    j.src = src;
    j.codes = codes;
    j.in = (size_t)in;
    j.ob = (size_t)out / 4;
    j.R4 = (size_t)R / 4;
    ck_parallel_for(((size_t)in + 63) / 64, b4t_range, &j);
    uint32_t bad = j.bad[0];
    if (!bad) return 0;
  }
  /* general path (and the location of a bad code) */
  for (uint64_t p = 0; p < R; p++)
    for (int i = 0; i < in; i++) {
      unsigned b = src[p * (uint64_t)in + (uint64_t)i];
      for (int j = 0; j < 4; j++) {
        uint64_t o = p + (uint64_t)j * R;
        unsigned v = (b >> (2 * j)) & 3u;
        if (o >= (uint64_t)out) continue; /* padding rows */
        if (v == 3u) {
          *bad_o = o;
          *bad_i = i;
          return 1;
        }
        w[(size_t)i * (size_t)out + (size_t)o] = (int8_t)((int)v - 1);
      }
    }
  tern_tpack(w, (size_t)in * (size_t)out, codes);
  return 0;
}

static int st_linear(ck_src *s, const char *name, ck_role r, int in, int out, tern_tpacked *tp,
                     int *ternarised, char *err, size_t errlen) {
  (void)r;
  const tern_st_tensor *t = st_get(s, name, err, errlen);
  if (!t) return -1;
  size_t count = (size_t)in * (size_t)out;
  uint64_t R = ((uint64_t)out + 3) / 4;
  char want[160];
  snprintf(want, sizeof want, "[%llu, %d] of U8 (2B4T packed, with %s_scale) or [%d, %d] of "
           "F32/F16/BF16", (unsigned long long)R, in, name, out, in);
  tp->k = in;
  tp->n = out;
  int8_t *w = ck_malloc(count);
  if (!w) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  int rc = 0;
  if (t->dtype == TERN_ST_U8 && st_is2(t, R, (uint64_t)in)) {
    char sn[256];
    const tern_st_tensor *sc = st_scale_of(s, name, sn, sizeof sn);
    if (!sc) {
      rc = tern_err(err, errlen, "%s: tensor '%s' is packed ternary but '%s' is missing",
                    tern_st_file(s->impl, t), name, sn);
      goto done;
    }
    if (!tern_st_is_float(sc->dtype) || sc->numel != 1 || sc->ndim > 1) {
      rc = st_shape_err(s, sc, "[1] or [] of F32, F16, BF16 or F64", err, errlen);
      goto done;
    }
    double ws = tern_st_get_double(sc, 0);
    if (!isfinite(ws) || !(ws > 0.0)) {
      rc = tern_err(err, errlen, "%s: tensor '%s' is %g, expected a positive finite 1/beta",
                    tern_st_file(s->impl, sc), sn, ws);
      goto done;
    }
    tp->beta = (float)(1.0 / ws);
    size_t nb = tern_tpacked_bytes(in, out);
    tp->codes = ck_malloc(nb);
    if (!tp->codes) {
      rc = tern_err(err, errlen, "out of memory (tensor '%s')", name);
      goto done;
    }
    uint64_t bo;
    int bi;
    if (unpack_2b4t(t->data, in, out, tp->codes, w, &bo, &bi))
      rc = tern_err(err, errlen, "%s: tensor '%s': weight [%llu, %d] has code 3, expected 0, 1, 2 "
                    "(w + 1)", tern_st_file(s->impl, t), name, (unsigned long long)bo, bi);
    goto done;
  } else if (tern_st_is_float(t->dtype) && st_is2(t, (uint64_t)out, (uint64_t)in)) {
    float *m = ck_malloc(count * sizeof(float));
    if (!m) {
      rc = tern_err(err, errlen, "out of memory (tensor '%s')", name);
      goto done;
    }
    for (size_t k = 0; k < count; k++) m[k] = (float)tern_st_get_double(t, k);
    char e2[256];
    if (ck_linear_from_float(m, in, out, tp, ternarised, e2, sizeof e2))
      rc = tern_err(err, errlen, "%s: tensor '%s': %s", tern_st_file(s->impl, t), name, e2);
    free(m);
    goto done;
  } else {
    rc = st_shape_err(s, t, want, err, errlen);
  }
done:
  if (rc) {
    free(tp->codes);
    tp->codes = NULL;
  }
  free(w);
  return rc;
}

/* ---- configuration ------------------------------------------------------------------ */

/* The directory holding config.json for a safetensors path. */
static void st_dir(const char *path, char *dir, size_t n) {
  if (ck_is_dir(path)) {
    snprintf(dir, n, "%s", path);
    return;
  }
  const char *sl = strrchr(path, '/');
  if (!sl) snprintf(dir, n, ".");
  else snprintf(dir, n, "%.*s", (int)(sl - path), path);
}

static json_t *load_json(const char *path, char *err, size_t errlen) {
  char *buf;
  size_t n;
  if (tern_mc_read_file(path, CK_MAX_CONFIG, "a config.json", &buf, &n, err, errlen)) return NULL;
  json_error_t je;
  json_t *j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
  free(buf);
  if (!j) tern_err(err, errlen, "%s: not valid JSON (line %d: %s)", path, je.line, je.text);
  else if (!json_is_object(j)) {
    json_decref(j);
    j = NULL;
    tern_err(err, errlen, "%s: not a JSON object", path);
  }
  return j;
}

/* Integer field of config.json in lo..hi; absent: *out unchanged unless required. */
static int cfg_int(const json_t *j, const char *what, const char *key, long lo, long hi, int required,
                   int *out, char *err, size_t errlen) {
  json_t *v = json_object_get(j, key);
  if (!v) return required ? tern_err(err, errlen, "%s: field '%s' is missing", what, key) : 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return tern_err(err, errlen, "%s: field '%s' is not an integer in %ld..%ld", what, key, lo, hi);
  *out = (int)json_integer_value(v);
  return 0;
}

static int cfg_num(const json_t *j, const char *what, const char *key, double *out, char *err,
                   size_t errlen) {
  json_t *v = json_object_get(j, key);
  if (!v) return 0;
  if (!json_is_number(v)) return tern_err(err, errlen, "%s: field '%s' is not a number", what, key);
  *out = json_number_value(v);
  return 0;
}

/* Maps the fields of a Hugging Face config.json (LLaMA / MobileLLM / BitNet). */
static int hf_config(const json_t *j, const char *what, const char *name, tern_tfm_config *c,
                     tern_ckpt_info *info, char *err, size_t errlen) {
  tern_tfm_config_init(c);
  ck_sanitize_name(name, c->name, sizeof c->name);
  json_t *arch = json_object_get(j, "architectures");
  const char *a = json_is_array(arch) ? json_string_value(json_array_get(arch, 0)) : NULL;
  snprintf(info->arch, sizeof info->arch, "%s", a ? a : "?");
  static const char *const known[] = {"BitNetForCausalLM", "BitnetForCausalLM", "LlamaForCausalLM",
                                      "MobileLLMForCausalLM"};
  int ok = 0;
  for (size_t i = 0; a && i < sizeof known / sizeof *known; i++) ok |= !strcmp(a, known[i]);
  if (!ok)
    return tern_err(err, errlen, "%s: field 'architectures' is [%s%s%s], expected one of "
                    "BitNetForCausalLM, BitnetForCausalLM, LlamaForCausalLM, MobileLLMForCausalLM",
                    what, a ? "\"" : "", a ? a : "missing", a ? "\"" : "");
  if (cfg_int(j, what, "vocab_size", 2, 1 << 20, 1, &c->vocab, err, errlen) ||
      cfg_int(j, what, "hidden_size", 1, 65536, 1, &c->dim, err, errlen) ||
      cfg_int(j, what, "num_hidden_layers", 1, 1024, 1, &c->layers, err, errlen) ||
      cfg_int(j, what, "num_attention_heads", 1, 1024, 1, &c->heads, err, errlen) ||
      cfg_int(j, what, "intermediate_size", 1, 1 << 18, 1, &c->ffn, err, errlen))
    return -1;
  c->kv_heads = c->heads;
  c->head_dim = c->dim % c->heads ? 0 : c->dim / c->heads;
  if (cfg_int(j, what, "num_key_value_heads", 1, 1024, 0, &c->kv_heads, err, errlen) ||
      cfg_int(j, what, "head_dim", 2, 4096, 0, &c->head_dim, err, errlen))
    return -1;
  int maxpos = c->max_seq;
  if (cfg_int(j, what, "max_position_embeddings", 1, INT_MAX, 0, &maxpos, err, errlen)) return -1;
  c->max_seq = maxpos > (1 << 24) ? (1 << 24) : maxpos;
  double eps = c->eps, theta = c->rope_theta;
  if (cfg_num(j, what, "rms_norm_eps", &eps, err, errlen) ||
      cfg_num(j, what, "rope_theta", &theta, err, errlen))
    return -1;
  c->eps = (float)eps;
  c->rope_theta = theta;
  json_t *rs = json_object_get(j, "rope_scaling");
  if (rs && !json_is_null(rs)) {
    json_t *f = json_object_get(rs, "factor");
    if (!(json_is_number(f) && json_number_value(f) == 1.0))
      return tern_err(err, errlen, "%s: field 'rope_scaling' is set, expected null or factor 1.0 "
                      "(tern implements plain RoPE)", what);
  }
  json_t *ab = json_object_get(j, "attention_bias"), *mb = json_object_get(j, "mlp_bias");
  if (json_is_true(ab) || json_is_true(mb))
    return tern_err(err, errlen, "%s: field '%s' is true, expected false (BitLinear has no bias)",
                    what, json_is_true(ab) ? "attention_bias" : "mlp_bias");
  json_t *act = json_object_get(j, "hidden_act");
  const char *hs = json_is_string(act) ? json_string_value(act) : "silu";
  if (!strcmp(hs, "silu") || !strcmp(hs, "swish")) c->ffn_type = TERN_FFN_SWIGLU;
  else if (!strcmp(hs, "relu2")) c->ffn_type = TERN_FFN_RELU2_GLU;
  else
    return tern_err(err, errlen, "%s: field 'hidden_act' is '%s', expected silu or relu2 (gated "
                    "FFNs of LLaMA / BitNet)", what, hs);
  json_t *tie = json_object_get(j, "tie_word_embeddings");
  if (!tie) tie = json_object_get(j, "share_embedding"); /* MobileLLM's config */
  c->tie_embeddings = tie ? json_is_true(tie) : 0;
  /* BitNet b1.58 2B4T: SubLN inside the attention and the FFN */
  json_t *mt = json_object_get(j, "model_type");
  c->subln = json_is_string(mt) && !strcmp(json_string_value(mt), "bitnet") &&
             !strcmp(a, "BitNetForCausalLM");
  snprintf(c->source, sizeof c->source, "imported %s checkpoint", a);
  return tern_tfm_check(c, what, err, errlen);
}

/* The config of a safetensors checkpoint: tern's description if the file
 * carries one ("tern": {"model": INI}), else mapped from the HF fields. */
int ck_st_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                     size_t errlen) {
  char dir[PATH_MAX], cp[PATH_MAX + 16];
  st_dir(path, dir, sizeof dir);
  snprintf(cp, sizeof cp, "%s/config.json", dir);
  json_t *j = load_json(cp, err, errlen);
  if (!j) return -1;
  int rc;
  json_t *t = json_object_get(j, "tern");
  json_t *fam = t ? json_object_get(t, "family") : NULL;
  if (fam && !(json_is_string(fam) && !strcmp(json_string_value(fam), "transformer"))) {
    tern_err(err, errlen, "%s: a %s checkpoint (tern.family), not a transformer", cp,
             json_is_string(fam) ? json_string_value(fam) : "?");
    json_decref(j);
    return -1;
  }
  if (t) {
    json_t *mt = json_object_get(t, "model");
    json_t *fmt = json_object_get(t, "format");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1 || !json_is_string(mt)) {
      rc = tern_err(err, errlen, "%s: field 'tern' is not {\"format\": 1, \"model\": description "
                    "text}", cp);
    } else {
      char what[PATH_MAX + 32];
      snprintf(what, sizeof what, "%s (tern.model)", cp);
      rc = tern_tfm_parse_string(json_string_value(mt), what, c, err, errlen);
      info->config_from_tern = 1;
      json_t *arch = json_object_get(j, "architectures");
      const char *a = json_is_array(arch) ? json_string_value(json_array_get(arch, 0)) : NULL;
      snprintf(info->arch, sizeof info->arch, "%s", a ? a : "tern");
      /* the HF fields beside it must agree (a hand-edited file is caught) */
      struct {
        const char *key;
        int v;
      } chk[] = {{"vocab_size", c->vocab},         {"hidden_size", c->dim},
                 {"num_hidden_layers", c->layers}, {"num_attention_heads", c->heads},
                 {"num_key_value_heads", c->kv_heads}, {"intermediate_size", c->ffn}};
      for (size_t i = 0; !rc && i < sizeof chk / sizeof *chk; i++) {
        json_t *v = json_object_get(j, chk[i].key);
        if (v && (!json_is_integer(v) || json_integer_value(v) != chk[i].v))
          rc = tern_err(err, errlen, "%s: field '%s' disagrees with tern.model (%d)", cp,
                        chk[i].key, chk[i].v);
      }
    }
  } else {
    const char *base = strrchr(dir, '/');
    rc = hf_config(j, cp, base ? base + 1 : dir, c, info, err, errlen);
  }
  json_decref(j);
  return rc;
}

int ck_st_read(const char *path, ck_read_fn read, const void *cfg, void *model,
               tern_ckpt_info *info, char *err, size_t errlen) {
  tern_st *st = tern_st_open(path, err, errlen);
  if (!st) return -1;
  info->file_bytes = tern_st_data_bytes(st);
  ck_src s = {path, hf_name, "model.layers.%d.", st_has, st_vec, st_rows, st_linear, st_release, st};
  int rc = read(&s, cfg, model, info, err, errlen);
  tern_st_close(st);
  return rc;
}

/* ---- export -------------------------------------------------------------------------- */

static int sk_vec(ck_sink *s, const char *name, const float *v, int n, char *err, size_t errlen) {
  uint64_t sh[1] = {(uint64_t)n};
  return tern_st_writer_add(s->impl, name, TERN_ST_F32, 1, sh, v, (uint64_t)n * 4, err, errlen);
}

/* int8 rows + "<name>_scale" F32 [rows]: tern's exact embedding */
static int sk_rows(ck_sink *s, const char *name, const tern_i8rows *e, char *err, size_t errlen) {
  char sb[280];
  snprintf(sb, sizeof sb, "%s_scale", name);
  uint64_t sh[2] = {(uint64_t)e->rows, (uint64_t)e->cols};
  if (tern_st_writer_add(s->impl, name, TERN_ST_I8, 2, sh, e->q, sh[0] * sh[1], err, errlen)) return -1;
  return sk_vec(s, sb, e->scale, e->rows, err, errlen);
}

/* 2B4T packing of tern's [in][out] codes; weight_scale = 1/beta in F64 (so
 * (float)(1.0 / weight_scale) gives beta back exactly). */
static int sk_linear(ck_sink *s, const char *name, ck_role r, const tern_tpacked *t, char *err,
                     size_t errlen) {
  (void)r;
  char sb[280];
  snprintf(sb, sizeof sb, "%s_scale", name);
  int in = t->k, out = t->n;
  uint64_t R = ((uint64_t)out + 3) / 4;
  size_t pb = (size_t)(R * (uint64_t)in);
  uint8_t *p = ck_malloc(pb);
  if (!p) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  for (uint64_t q = 0; q < R; q++)
    for (int i = 0; i < in; i++) {
      unsigned b = 0;
      for (int j = 0; j < 4; j++) {
        uint64_t o = q + (uint64_t)j * R;
        int v = o < (uint64_t)out ? tern_tpacked_get(t->codes, (size_t)i * (size_t)out + o) : 0;
        b |= (unsigned)(v + 1) << (2 * j);
      }
      p[q * (uint64_t)in + (uint64_t)i] = (uint8_t)b;
    }
  uint64_t sh[2] = {R, (uint64_t)in}, one[1] = {1};
  double ws = 1.0 / (double)t->beta;
  int rc = tern_st_writer_add(s->impl, name, TERN_ST_U8, 2, sh, p, R * (uint64_t)in, err, errlen) ||
           tern_st_writer_add(s->impl, sb, TERN_ST_F64, 1, one, &ws, 8, err, errlen);
  free(p);
  return rc ? -1 : 0;
}

static int write_config_json(const tern_tfm_config *c, const char *path, char *err, size_t errlen) {
  char ini[4096];
  if (tern_tfm_print_string(ini, sizeof ini, c) >= (int)sizeof ini)
    return tern_err(err, errlen, "model description longer than %zu bytes", sizeof ini);
  const char *act = c->ffn_type == TERN_FFN_SWIGLU ? "silu"
                    : c->ffn_type == TERN_FFN_RELU2_GLU ? "relu2"
                    : c->ffn_type == TERN_FFN_RELU2 ? "relu2-ungated" : "gelu_pytorch_tanh";
  json_t *j = json_pack(
      "{s:[s], s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:f, s:b, s:i, s:{s:i, s:s}}",
      "architectures", "BitNetForCausalLM", "model_type", "bitnet", "vocab_size", c->vocab,
      "hidden_size", c->dim, "intermediate_size", c->ffn, "num_hidden_layers", c->layers,
      "num_attention_heads", c->heads, "num_key_value_heads", c->kv_heads, "head_dim", c->head_dim,
      "hidden_act", act, "rms_norm_eps", (double)c->eps, "rope_theta", c->rope_theta,
      "tie_word_embeddings", c->tie_embeddings, "max_position_embeddings", c->max_seq, "tern",
      "format", 1, "model", ini);
  if (!j) return tern_err(err, errlen, "out of memory");
  int rc = json_dump_file(j, path, JSON_INDENT(2));
  json_decref(j);
  return rc ? tern_err(err, errlen, "%s: write error", path) : 0;
}

static int ensure_dir(const char *dir, char *err, size_t errlen) {
  if (mkdir(dir, 0777) && errno != EEXIST)
    return tern_err(err, errlen, "%s: cannot create the directory: %s", dir, strerror(errno));
  if (!ck_is_dir(dir)) return tern_err(err, errlen, "%s: exists and is not a directory", dir);
  return 0;
}

int ck_st_save(const tern_tfm_model *m, const char *dir, char *err, size_t errlen) {
  const tern_tfm_config *c = &m->cfg;
  if (ensure_dir(dir, err, errlen)) return -1;
  tern_st_writer *w = tern_st_writer_new();
  if (!w) return tern_err(err, errlen, "out of memory");
  ck_sink sk = {hf_name, "model.layers.%d.", sk_vec, sk_rows, sk_linear, w};
  int rc = tern_st_writer_meta(w, "format", "pt", err, errlen) ||
           tern_st_writer_meta(w, "tern", "model description in config.json (tern.model)", err,
                               errlen) ||
           ck_write_model(&sk, m, err, errlen);
  char p[PATH_MAX + 32];
  if (!rc) {
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    rc = tern_st_writer_write(w, p, err, errlen);
  }
  tern_st_writer_free(w);
  if (!rc) {
    snprintf(p, sizeof p, "%s/config.json", dir);
    rc = write_config_json(c, p, err, errlen);
  }
  return rc ? -1 : 0;
}


/* ---- the tern description and recurrent models ---------------------------------------- */

int ck_st_tern_desc(const char *path, char **ini, char family[16], char *err, size_t errlen) {
  char dir[PATH_MAX], cp[PATH_MAX + 16];
  *ini = NULL;
  snprintf(family, 16, "transformer");
  st_dir(path, dir, sizeof dir);
  snprintf(cp, sizeof cp, "%s/config.json", dir);
  json_t *j = load_json(cp, err, errlen);
  if (!j) return -1;
  json_t *t = json_object_get(j, "tern"), *mt = t ? json_object_get(t, "model") : NULL,
         *fam = t ? json_object_get(t, "family") : NULL;
  int rc = 0;
  if (fam && !json_is_string(fam))
    rc = tern_err(err, errlen, "%s: field 'tern.family' is not a string", cp);
  else if (fam)
    snprintf(family, 16, "%.15s", json_string_value(fam));
  if (!rc && json_is_string(mt) && !(*ini = strdup(json_string_value(mt))))
    rc = tern_err(err, errlen, "out of memory");
  json_decref(j);
  return rc;
}

int ck_st_rnn_save(const struct tern_rnn_model *m, const char *ini, const char *dir, char *err,
                   size_t errlen) {
  if (ensure_dir(dir, err, errlen)) return -1;
  tern_st_writer *w = tern_st_writer_new();
  if (!w) return tern_err(err, errlen, "out of memory");
  ck_sink sk = {hf_name, "model.layers.%d.", sk_vec, sk_rows, sk_linear, w};
  char p[PATH_MAX + 32];
  int rc = tern_st_writer_meta(w, "format", "pt", err, errlen) || ck_write_rnn(&sk, m, err, errlen);
  if (!rc) {
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    rc = tern_st_writer_write(w, p, err, errlen);
  }
  tern_st_writer_free(w);
  if (rc) return -1;
  json_t *j = json_pack("{s:[s], s:s, s:{s:i, s:s, s:s}}", "architectures",
                        "TernRecurrentForCausalLM", "model_type", "tern-recurrent", "tern", "format",
                        1, "family", "recurrent", "model", ini);
  if (!j) return tern_err(err, errlen, "out of memory");
  snprintf(p, sizeof p, "%s/config.json", dir);
  rc = json_dump_file(j, p, JSON_INDENT(2));
  json_decref(j);
  return rc ? tern_err(err, errlen, "%s: write error", p) : 0;
}
