/* GGUF checkpoints (models/ckpt_internal.h): llama.cpp tensor names, the
 * llama / bitnet / BitNet-fork architectures' metadata mapped to a tern
 * description (or tern's own, stored under "tern.model"), ternary tensors in
 * I2_S / TQ1_0 / TQ2_0 or float, and export (I2_S where the shape allows,
 * exact float otherwise).  The file is memory-mapped by models/gguf.c; every
 * tensor is decoded straight into tern's form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_internal.h"
#include "tern/err.h"
#include "tern/gguf.h"

/* ---- names (llama.cpp src/llama-arch.cpp LLM_TENSOR_NAMES) ------------------------ */

static const char *gg_name(ck_role r, int layer, char *buf, size_t n) {
  static const char *const blk[] = {
      [CK_ATTN_G] = "attn_norm.weight",        [CK_ATTN_B] = "attn_norm.bias",
      [CK_WQ] = "attn_q.weight",               [CK_WK] = "attn_k.weight",
      [CK_WV] = "attn_v.weight",               [CK_WO] = "attn_output.weight",
      [CK_ASUB_G] = "attn_sub_norm.weight",    [CK_ASUB_B] = "attn_sub_norm.bias",
      [CK_FFN_G] = "ffn_norm.weight",          [CK_FFN_B] = "ffn_norm.bias",
      [CK_GATE] = "ffn_gate.weight",           [CK_UP] = "ffn_up.weight",
      [CK_DOWN] = "ffn_down.weight",           [CK_FSUB_G] = "ffn_sub_norm.weight",
      [CK_FSUB_B] = "ffn_sub_norm.bias"};
  switch (r) {
    case CK_EMBED: snprintf(buf, n, "token_embd.weight"); break;
    case CK_LM_HEAD: snprintf(buf, n, "output.weight"); break;
    case CK_FINAL_G: snprintf(buf, n, "output_norm.weight"); break;
    case CK_FINAL_B: snprintf(buf, n, "output_norm.bias"); break;
    default: snprintf(buf, n, "blk.%d.%s", layer, blk[r]); break;
  }
  return buf;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct gg_src {
  tern_gguf *g;
  int permute_qk; /* arch llama: q/k rows in llama.cpp's interleaved-RoPE order */
  int heads, kv_heads, hd;
} gg_src;

static const tern_gguf_tensor *gg_get(ck_src *s, const char *name, char *err, size_t errlen) {
  const tern_gguf_tensor *t = tern_gguf_find_tensor(((gg_src *)s->impl)->g, name);
  if (!t) tern_err(err, errlen, "%s: tensor '%s' is missing", s->path, name);
  return t;
}

static int gg_has(ck_src *s, const char *name) {
  return tern_gguf_find_tensor(((gg_src *)s->impl)->g, name) != NULL;
}

static int gg_shape_err(ck_src *s, const tern_gguf_tensor *t, const char *want, char *err,
                        size_t errlen) {
  char got[128] = "";
  size_t o = 0;
  for (uint32_t d = 0; d < t->n_dims && o < sizeof got - 24; d++)
    o += (size_t)snprintf(got + o, sizeof got - o, "%s%llu", d ? ", " : "",
                          (unsigned long long)t->ne[d]);
  const char *tn = tern_ggml_type_name(t->type);
  return tern_err(err, errlen, "%s: tensor '%s': ne [%s] (%s), expected %s", s->path, t->name, got,
                  tn ? tn : "?", want);
}

static int is_float_type(uint32_t t) {
  return t == TERN_GGML_F32 || t == TERN_GGML_F16 || t == TERN_GGML_BF16 || t == TERN_GGML_Q8_0;
}

static int gg_vec(ck_src *s, const char *name, int n, float *out, char *err, size_t errlen) {
  const tern_gguf_tensor *t = gg_get(s, name, err, errlen);
  if (!t) return -1;
  if (t->n_dims != 1 || t->ne[0] != (uint64_t)n || !is_float_type(t->type)) {
    char w[64];
    snprintf(w, sizeof w, "[%d] of f32, f16, bf16 or q8_0", n);
    return gg_shape_err(s, t, w, err, errlen);
  }
  if (tern_gguf_decode_f32(((gg_src *)s->impl)->g, t, out, err, errlen)) return -1;
  for (int i = 0; i < n; i++)
    if (!isfinite(out[i]))
      return tern_err(err, errlen, "%s: tensor '%s': element %d is not finite", s->path, name, i);
  return 0;
}

static int gg_rows(ck_src *s, const char *name, int rows, int cols, tern_i8rows *e, int *quantised,
                   char *err, size_t errlen) {
  gg_src *g = s->impl;
  const tern_gguf_tensor *t = gg_get(s, name, err, errlen);
  if (!t) return -1;
  if (t->n_dims != 2 || t->ne[0] != (uint64_t)cols || t->ne[1] != (uint64_t)rows ||
      !(t->type == TERN_GGML_I8 || is_float_type(t->type))) {
    char w[112];
    snprintf(w, sizeof w, "[%d, %d] of i8 (with %s_scale) or f32, f16, bf16, q8_0", cols, rows, name);
    return gg_shape_err(s, t, w, err, errlen);
  }
  if (ck_alloc_rows(rows, cols, e)) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  if (t->type == TERN_GGML_I8) {
    char sn[96];
    snprintf(sn, sizeof sn, "%s_scale", name);
    const tern_gguf_tensor *sc = tern_gguf_find_tensor(g->g, sn);
    if (!sc)
      return tern_err(err, errlen, "%s: tensor '%s' is i8 but '%s' (its per-row scales) is missing",
                      s->path, name, sn);
    if (sc->n_dims != 1 || sc->ne[0] != (uint64_t)rows || sc->type != TERN_GGML_F32) {
      char w[48];
      snprintf(w, sizeof w, "[%d] of f32", rows);
      return gg_shape_err(s, sc, w, err, errlen);
    }
    memcpy(e->q, t->data, (size_t)rows * (size_t)cols);
    memcpy(e->scale, sc->data, (size_t)rows * sizeof(float));
    for (int r = 0; r < rows; r++)
      if (!isfinite(e->scale[r]) || !(e->scale[r] > 0.0f))
        return tern_err(err, errlen, "%s: tensor '%s': row %d scale is %g, expected a positive "
                        "finite value", s->path, sn, r, (double)e->scale[r]);
    const uint8_t *m128 = memchr(e->q, 0x80, (size_t)rows * (size_t)cols);
    if (m128) {
      size_t at = (size_t)(m128 - (const uint8_t *)e->q);
      return tern_err(err, errlen, "%s: tensor '%s': row %zu column %zu is -128, expected -127..127",
                      s->path, name, at / (size_t)cols, at % (size_t)cols);
    }
    return 0;
  }
  /* float rows, decoded and quantised one row at a time (never the whole table in float) */
  uint64_t rb;
  if (tern_ggml_nbytes(t->type, (uint64_t)cols, &rb, name, err, errlen)) return -1;
  float *row = ck_malloc((size_t)cols * sizeof(float));
  if (!row) return tern_err(err, errlen, "out of memory");
  char what[160];
  snprintf(what, sizeof what, "%s: tensor '%s'", s->path, name);
  for (int r = 0; r < rows; r++) {
    if (tern_ggml_to_f32(t->type, (const uint8_t *)t->data + (size_t)r * rb, rb, (uint64_t)cols, row,
                         what, err, errlen)) {
      free(row);
      return -1;
    }
    for (int i = 0; i < cols; i++)
      if (!isfinite(row[i])) {
        free(row);
        return tern_err(err, errlen, "%s: element [%d, %d] is not finite", what, r, i);
      }
    ck_quant_row(row, cols, e->q + (size_t)r * (size_t)cols, &e->scale[r]);
  }
  free(row);
  *quantised = 1;
  return 0;
}

typedef struct i2s_job {
  const uint8_t *src;
  uint8_t *codes;
  size_t rb, ob, G;
  uint32_t bad;
} i2s_job;

/* bytes [lo*64, hi*64) of every row */
static void i2s_range(void *ctx, size_t lo, size_t hi) {
  i2s_job *j = ctx;
  size_t rb = j->rb, ob = j->ob, G = j->G;
  uint32_t bad = 0;
  for (size_t P = lo * 64; P < hi * 64 && P < rb; P += 64) {
    size_t pe = P + 64 < rb ? P + 64 : rb;
    for (size_t g0 = 0; g0 < G; g0 += 16) {
      size_t ge = g0 + 16 < G ? g0 + 16 : G;
      size_t p = P;
      /* eight byte columns at a time (they share p / 32: P and 8 divide 32) */
      for (; p + 8 <= pe; p += 8) {
        size_t i0 = (p / 32) * 128 + p % 32;
        for (size_t g = g0; g < ge; g++) {
          const uint8_t *h = j->src + 4 * g * rb + p;
          uint64_t r[4], o[4];
          for (int t = 0; t < 4; t++) memcpy(&r[t], h + (size_t)t * rb, 8);
          ck_codes4x4_x8(r, o, &bad);
          for (int f = 0; f < 4; f++)
            for (int c = 0; c < 8; c++)
              j->codes[(i0 + (size_t)c + 32 * (size_t)(3 - f)) * ob + g] = (uint8_t)(o[f] >> (8 * c));
        }
      }
      for (; p < pe; p++) {
        size_t i0 = (p / 32) * 128 + p % 32;
        for (size_t g = g0; g < ge; g++) {
          const uint8_t *h = j->src + 4 * g * rb + p;
          uint32_t w = ck_codes4x4((uint32_t)h[0] | (uint32_t)h[rb] << 8 | (uint32_t)h[2 * rb] << 16 |
                                       (uint32_t)h[3 * rb] << 24,
                                   &bad);
          for (int f = 0; f < 4; f++)
            j->codes[(i0 + 32 * (size_t)(3 - f)) * ob + g] = (uint8_t)(w >> (8 * f));
        }
      }
    }
  }
  if (bad) __atomic_fetch_or(&j->bad, 1u, __ATOMIC_RELAXED);
}

/* I2_S (docs/GGUF.md) straight into tern's codes, when in % 128 == 0 and
 * out % 4 == 0 (every published shape): row r holds in/4 bytes; byte
 * p = 32c + q of a row carries elements i = 128c + q + 32k at bits 6-2k.  Four
 * rows' byte p give, through ck_codes4x4, the tern bytes of four inputs i
 * (field f -> k = 3 - f) for those four output rows.  Tiles of 16 row groups x
 * 64 bytes keep reads and writes in cache; ranges of tiles run in parallel.
 * 0, or -1 if a code 3 is present (the caller then takes the general decoder,
 * which names it). */
static int i2s_to_tern(const uint8_t *src, int in, int out, uint8_t *codes) {
  i2s_job j = {src, codes, (size_t)in / 4, (size_t)out / 4, (size_t)out / 4, 0};
  ck_parallel_for((j.rb + 63) / 64, i2s_range, &j);
  return j.bad ? -1 : 0;
}

static int gg_linear(ck_src *s, const char *name, ck_role r, int in, int out, tern_tpacked *tp,
                     int *ternarised, char *err, size_t errlen) {
  gg_src *g = s->impl;
  const tern_gguf_tensor *t = gg_get(s, name, err, errlen);
  if (!t) return -1;
  int tern = t->type == TERN_GGML_I2_S || t->type == TERN_GGML_TQ1_0 || t->type == TERN_GGML_TQ2_0;
  if (t->n_dims != 2 || t->ne[0] != (uint64_t)in || t->ne[1] != (uint64_t)out ||
      !(tern || is_float_type(t->type))) {
    char w[112];
    snprintf(w, sizeof w, "[%d, %d] of i2_s, tq1_0, tq2_0 or f32, f16, bf16, q8_0", in, out);
    return gg_shape_err(s, t, w, err, errlen);
  }
  size_t n = (size_t)in * (size_t)out;
  int perm = g->permute_qk && (r == CK_WQ || r == CK_WK);
  int heads = r == CK_WQ ? g->heads : g->kv_heads;
  int rc;
  char e2[512];
  if (t->type == TERN_GGML_I2_S && in % 128 == 0 && out % 4 == 0 && !perm) {
    float scale;
    memcpy(&scale, (const uint8_t *)t->data + n / 4, 4); /* the float32 after the codes */
    tp->k = in;
    tp->n = out;
    tp->beta = scale;
    tp->codes = ck_malloc(tern_tpacked_bytes(in, out));
    if (!tp->codes) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
    if (isfinite(scale) && scale > 0.0f && !i2s_to_tern(t->data, in, out, tp->codes)) return 0;
    free(tp->codes); /* a bad code or scale: the general decoder below names it */
    tp->codes = NULL;
  }
  if (tern) {
    int8_t *c = ck_malloc(n);
    float scale;
    if (!c) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
    rc = tern_gguf_decode_ternary(g->g, t, c, &scale, err, errlen);
    if (!rc && !(isfinite(scale) && scale > 0.0f))
      rc = tern_err(err, errlen, "%s: tensor '%s': scale %g, expected a positive finite value",
                    s->path, name, (double)scale);
    if (!rc && perm) ck_rope_unpermute(c, sizeof *c, heads, g->hd, in);
    if (!rc && ck_linear_from_codes(c, in, out, scale, tp, e2, sizeof e2))
      rc = tern_err(err, errlen, "%s: tensor '%s': %s", s->path, name, e2);
    free(c);
    return rc;
  }
  float *w = ck_malloc(n * sizeof(float));
  if (!w) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  rc = tern_gguf_decode_f32(g->g, t, w, err, errlen);
  if (!rc && perm) ck_rope_unpermute(w, sizeof *w, heads, g->hd, in);
  if (!rc && ck_linear_from_float(w, in, out, tp, ternarised, e2, sizeof e2))
    rc = tern_err(err, errlen, "%s: tensor '%s': %s", s->path, name, e2);
  free(w);
  return rc;
}

static void gg_release(ck_src *s, const char *name) {
  char sn[96];
  gg_src *g = s->impl;
  const tern_gguf_tensor *t = tern_gguf_find_tensor(g->g, name);
  if (t) ck_release_pages(t->data, t->nbytes);
  snprintf(sn, sizeof sn, "%s_scale", name);
  if ((t = tern_gguf_find_tensor(g->g, sn))) ck_release_pages(t->data, t->nbytes);
}

/* ---- configuration ------------------------------------------------------------------- */

#define GG_KEY(buf, arch, suffix) snprintf(buf, sizeof buf, "%s.%s", arch, suffix)

/* optional u32 key (absent: *v unchanged) */
static int opt_u32(const tern_gguf *g, const char *key, long lo, long hi, int *v, char *err,
                   size_t errlen) {
  if (!tern_gguf_find_kv(g, key)) return 0;
  uint32_t x;
  if (tern_gguf_get_u32(g, key, &x, err, errlen)) return -1;
  if ((long)x < lo || (long)x > hi)
    return tern_err(err, errlen, "%s: key '%s' is %u, expected %ld..%ld", tern_gguf_path(g), key, x,
                    lo, hi);
  *v = (int)x;
  return 0;
}

static int req_u32(const tern_gguf *g, const char *key, long lo, long hi, int *v, char *err,
                   size_t errlen) {
  if (!tern_gguf_find_kv(g, key))
    return tern_err(err, errlen, "%s: key '%s' is missing", tern_gguf_path(g), key);
  return opt_u32(g, key, lo, hi, v, err, errlen);
}

static int opt_f32(const tern_gguf *g, const char *key, double *v, char *err, size_t errlen) {
  if (!tern_gguf_find_kv(g, key)) return 0;
  float x;
  if (tern_gguf_get_f32(g, key, &x, err, errlen)) return -1;
  *v = x;
  return 0;
}

/* tern's description stored by tern export, or NULL */
static int tern_text(const tern_gguf *g, char **text, char *err, size_t errlen) {
  *text = NULL;
  if (!tern_gguf_find_kv(g, "tern.model")) return 0;
  tern_gguf_str s;
  if (tern_gguf_get_str(g, "tern.model", &s, err, errlen)) return -1;
  if (s.len > 65536) return tern_err(err, errlen, "%s: key 'tern.model' is %zu bytes, expected at "
                                     "most 65536", tern_gguf_path(g), s.len);
  *text = malloc(s.len + 1);
  if (!*text) return tern_err(err, errlen, "out of memory");
  memcpy(*text, s.ptr, s.len);
  (*text)[s.len] = 0;
  if (strlen(*text) != s.len) {
    free(*text);
    *text = NULL;
    return tern_err(err, errlen, "%s: key 'tern.model' holds a NUL byte", tern_gguf_path(g));
  }
  return 0;
}

static int gg_config_of(const tern_gguf *g, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                        size_t errlen) {
  const char *path = tern_gguf_path(g);
  tern_gguf_str as;
  char arch[48], key[160];
  if (tern_gguf_get_str(g, "general.architecture", &as, err, errlen)) return -1;
  snprintf(arch, sizeof arch, "%.*s", (int)(as.len < 47 ? as.len : 47), as.ptr);
  snprintf(info->arch, sizeof info->arch, "%s", arch);
  char *text;
  if (tern_gguf_find_kv(g, "tern.family")) {
    tern_gguf_str fs;
    if (tern_gguf_get_str(g, "tern.family", &fs, err, errlen)) return -1;
    if (!(fs.len == 11 && !memcmp(fs.ptr, "transformer", 11)))
      return tern_err(err, errlen, "%s: a %.*s checkpoint (tern.family), not a transformer", path,
                      (int)(fs.len < 20 ? fs.len : 20), fs.ptr);
  }
  if (tern_text(g, &text, err, errlen)) return -1;
  if (text) {
    char what[600];
    snprintf(what, sizeof what, "%s (tern.model)", path);
    int rc = tern_tfm_parse_string(text, what, c, err, errlen);
    free(text);
    info->config_from_tern = 1;
    return rc;
  }
  int llama = !strcmp(arch, "llama");
  int bitnet = !strcmp(arch, "bitnet");
  int fork = !strcmp(arch, "bitnet-b1.58") || !strcmp(arch, "bitnet-25");
  if (!llama && !bitnet && !fork)
    return tern_err(err, errlen, "%s: key 'general.architecture' is '%s', expected llama, bitnet, "
                    "bitnet-b1.58 or bitnet-25", path, arch);
  tern_tfm_config_init(c);
  tern_gguf_str nm;
  if (tern_gguf_find_kv(g, "general.name") && !tern_gguf_get_str(g, "general.name", &nm, NULL, 0)) {
    char tmp[TERN_TFM_NAME_MAX];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(nm.len < 63 ? nm.len : 63), nm.ptr);
    ck_sanitize_name(tmp, c->name, sizeof c->name);
  } else {
    snprintf(c->name, sizeof c->name, "%s", arch);
    ck_sanitize_name(c->name, c->name, sizeof c->name);
  }
  snprintf(c->source, sizeof c->source, "imported GGUF (%s)", arch);
  GG_KEY(key, arch, "embedding_length");
  if (req_u32(g, key, 1, 65536, &c->dim, err, errlen)) return -1;
  GG_KEY(key, arch, "block_count");
  if (req_u32(g, key, 1, 1024, &c->layers, err, errlen)) return -1;
  GG_KEY(key, arch, "attention.head_count");
  if (req_u32(g, key, 1, 1024, &c->heads, err, errlen)) return -1;
  GG_KEY(key, arch, "feed_forward_length");
  if (req_u32(g, key, 1, 1 << 18, &c->ffn, err, errlen)) return -1;
  c->kv_heads = c->heads;
  GG_KEY(key, arch, "attention.head_count_kv");
  if (opt_u32(g, key, 1, 1024, &c->kv_heads, err, errlen)) return -1;
  c->head_dim = c->dim % c->heads ? 0 : c->dim / c->heads;
  GG_KEY(key, arch, "attention.key_length");
  if (opt_u32(g, key, 2, 4096, &c->head_dim, err, errlen)) return -1;
  int rot = c->head_dim;
  GG_KEY(key, arch, "rope.dimension_count");
  if (opt_u32(g, key, 0, 4096, &rot, err, errlen)) return -1;
  if (rot != c->head_dim)
    return tern_err(err, errlen, "%s: key '%s' is %d, expected the head size %d (tern rotates the "
                    "whole head)", path, key, rot, c->head_dim);
  int ctx = c->max_seq;
  GG_KEY(key, arch, "context_length");
  if (opt_u32(g, key, 1, INT32_MAX, &ctx, err, errlen)) return -1;
  c->max_seq = ctx > (1 << 24) ? (1 << 24) : ctx;
  double eps = c->eps, theta = c->rope_theta;
  GG_KEY(key, arch, "attention.layer_norm_rms_epsilon");
  if (opt_f32(g, key, &eps, err, errlen)) return -1;
  GG_KEY(key, arch, "rope.freq_base");
  if (opt_f32(g, key, &theta, err, errlen)) return -1;
  c->eps = (float)eps;
  c->rope_theta = theta;
  GG_KEY(key, arch, "rope.scaling.factor");
  double f = 1.0;
  if (opt_f32(g, key, &f, err, errlen)) return -1;
  if (f != 1.0 && f != 0.0)
    return tern_err(err, errlen, "%s: key '%s' is %g, expected 1 (tern implements plain RoPE)",
                    path, key, f);
  /* vocabulary: the embedding's rows */
  const tern_gguf_tensor *te = tern_gguf_find_tensor(g, "token_embd.weight");
  if (!te || te->n_dims != 2 || te->ne[1] < 2 || te->ne[1] > (1u << 20))
    return tern_err(err, errlen, "%s: tensor 'token_embd.weight' is missing or not [dim, vocab] "
                    "with vocab 2..1048576", path);
  c->vocab = (int)te->ne[1];
  c->tie_embeddings = tern_gguf_find_tensor(g, "output.weight") == NULL;
  c->subln = tern_gguf_find_tensor(g, "blk.0.attn_sub_norm.weight") != NULL;
  /* llama / bitnet (1bitLLM): SiLU-gated FFN; the fork's b1.58 2B4T: squared ReLU
     (llama.cpp build_bitnet, the fork's build_bitnet_158) */
  c->ffn_type = fork ? TERN_FFN_RELU2_GLU : TERN_FFN_SWIGLU;
  return tern_tfm_check(c, path, err, errlen);
}

int ck_gguf_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                   size_t errlen) {
  tern_gguf *g = tern_gguf_open(path, err, errlen);
  if (!g) return -1;
  int rc = gg_config_of(g, c, info, err, errlen);
  tern_gguf_close(g);
  return rc;
}

int ck_gguf_read(const char *path, const ck_rope *rope, ck_read_fn read, const void *cfg,
                 void *model, tern_ckpt_info *info, char *err, size_t errlen) {
  tern_gguf *g = tern_gguf_open(path, err, errlen);
  if (!g) return -1;
  for (size_t i = 0; i < tern_gguf_n_tensors(g); i++)
    info->file_bytes += tern_gguf_tensor_at(g, i)->nbytes;
  gg_src gs = {g, 0, 0, 0, 0};
  if (rope) gs = (gg_src){g, rope->permuted, rope->heads, rope->kv_heads, rope->hd};
  ck_src s = {path, gg_name, "blk.%d.", gg_has, gg_vec, gg_rows, gg_linear, gg_release, &gs};
  int rc = read(&s, cfg, model, info, err, errlen);
  tern_gguf_close(g);
  return rc;
}

/* ---- export ----------------------------------------------------------------------------- */

typedef struct gk_state {
  tern_gguf_writer *w;
  int permute_qk, heads, kv_heads, hd;
} gk_state;

static int gk_vec(ck_sink *s, const char *name, const float *v, int n, char *err, size_t errlen) {
  uint64_t ne[1] = {(uint64_t)n};
  return tern_gguf_add_tensor_f32(((gk_state *)s->impl)->w, name, TERN_GGML_F32, 1, ne, v, err,
                                  errlen);
}

static int gk_rows(ck_sink *s, const char *name, const tern_i8rows *e, char *err, size_t errlen) {
  char sn[96];
  snprintf(sn, sizeof sn, "%s_scale", name);
  uint64_t ne[2] = {(uint64_t)e->cols, (uint64_t)e->rows}, n1[1] = {(uint64_t)e->rows};
  tern_gguf_writer *w = ((gk_state *)s->impl)->w;
  if (tern_gguf_add_tensor(w, name, TERN_GGML_I8, 2, ne, e->q, ne[0] * ne[1], err, errlen))
    return -1;
  return tern_gguf_add_tensor_f32(w, sn, TERN_GGML_F32, 1, n1, e->scale, err, errlen);
}


/* I2_S (one float32 scale: exact) when the element count is a multiple of
 * its 128-element block; otherwise F32 holding code * beta, which the reader
 * recognises as exactly ternary (ck_linear_from_float), so it is exact too. */
static int gk_linear(ck_sink *s, const char *name, ck_role r, const tern_tpacked *t, char *err,
                     size_t errlen) {
  gk_state *k = s->impl;
  size_t n = (size_t)t->k * (size_t)t->n;
  int8_t *c = ck_malloc(n);
  if (!c) return tern_err(err, errlen, "out of memory (tensor '%s')", name);
  ck_codes_out_in(t, c);
  if (k->permute_qk && (r == CK_WQ || r == CK_WK))
    ck_rope_permute(c, sizeof *c, r == CK_WQ ? k->heads : k->kv_heads, k->hd, t->k);
  uint64_t ne[2] = {(uint64_t)t->k, (uint64_t)t->n};
  int rc;
  if (n % 128 == 0) {
    rc = tern_gguf_add_tensor_ternary(k->w, name, TERN_GGML_I2_S, 2, ne, c, t->beta, err, errlen);
  } else {
    float *f = ck_malloc(n * sizeof(float));
    if (!f) {
      free(c);
      return tern_err(err, errlen, "out of memory (tensor '%s')", name);
    }
    for (size_t i = 0; i < n; i++) f[i] = (float)c[i] * t->beta;
    rc = tern_gguf_add_tensor_f32(k->w, name, TERN_GGML_F32, 2, ne, f, err, errlen);
    free(f);
  }
  free(c);
  return rc;
}

/* The architecture a tern description maps to (what llama.cpp would also run). */
static const char *export_arch(const tern_tfm_config *c) {
  int plain = c->norm == TERN_NORM_RMS && !c->norm_bias && !c->window && c->repeat == 1 &&
              !c->share_ffn;
  if (plain && !c->subln && c->ffn_type == TERN_FFN_SWIGLU) return "llama";
  if (plain && c->subln && c->ffn_type == TERN_FFN_SWIGLU) return "bitnet";
  if (plain && c->subln && c->ffn_type == TERN_FFN_RELU2_GLU) return "bitnet-b1.58";
  return "tern"; /* only tern reads it (tern.model carries the description) */
}

int ck_gguf_save(const tern_tfm_model *m, const char *path, char *err, size_t errlen) {
  const tern_tfm_config *c = &m->cfg;
  tern_gguf_writer *w = tern_gguf_writer_new();
  if (!w) return tern_err(err, errlen, "out of memory");
  char ini[4096], key[160];
  if (tern_tfm_print_string(ini, sizeof ini, c) >= (int)sizeof ini) {
    tern_gguf_writer_free(w);
    return tern_err(err, errlen, "model description longer than %zu bytes", sizeof ini);
  }
  const char *arch = export_arch(c);
  int rc = tern_gguf_add_str(w, "general.architecture", arch, strlen(arch), err, errlen) ||
           tern_gguf_add_str(w, "general.name", c->name, strlen(c->name), err, errlen) ||
           tern_gguf_add_str(w, "tern.model", ini, strlen(ini), err, errlen);
#define U32(sfx, v) (GG_KEY(key, arch, sfx), tern_gguf_add_u32(w, key, (uint32_t)(v), err, errlen))
#define F32(sfx, v) (GG_KEY(key, arch, sfx), tern_gguf_add_f32(w, key, (float)(v), err, errlen))
  rc = rc || U32("vocab_size", c->vocab) || U32("context_length", c->max_seq) ||
       U32("embedding_length", c->dim) || U32("block_count", c->layers) ||
       U32("feed_forward_length", c->ffn) || U32("attention.head_count", c->heads) ||
       U32("attention.head_count_kv", c->kv_heads) || U32("attention.key_length", c->head_dim) ||
       U32("attention.value_length", c->head_dim) || U32("rope.dimension_count", c->head_dim) ||
       F32("rope.freq_base", c->rope_theta) || F32("attention.layer_norm_rms_epsilon", c->eps);
#undef U32
#undef F32
  gk_state k = {w, !strcmp(arch, "llama"), c->heads, c->kv_heads, c->head_dim};
  ck_sink sk = {gg_name, "blk.%d.", gk_vec, gk_rows, gk_linear, &k};
  if (!rc) rc = ck_write_model(&sk, m, err, errlen);
  if (!rc) rc = tern_gguf_write(w, path, err, errlen);
  tern_gguf_writer_free(w);
  return rc ? -1 : 0;
}

/* ---- the tern description and recurrent models ---------------------------------------- */

int ck_gguf_tern_desc(const char *path, char **ini, char family[16], char *err, size_t errlen) {
  *ini = NULL;
  snprintf(family, 16, "transformer");
  tern_gguf *g = tern_gguf_open(path, err, errlen);
  if (!g) return -1;
  int rc = 0;
  if (tern_gguf_find_kv(g, "tern.family")) {
    tern_gguf_str fs;
    if (!(rc = tern_gguf_get_str(g, "tern.family", &fs, err, errlen)))
      snprintf(family, 16, "%.*s", (int)(fs.len < 15 ? fs.len : 15), fs.ptr);
  }
  if (!rc) rc = tern_text(g, ini, err, errlen);
  tern_gguf_close(g);
  return rc;
}

int ck_gguf_rnn_save(const struct tern_rnn_model *m, const char *ini, const char *path, char *err,
                     size_t errlen) {
  tern_gguf_writer *w = tern_gguf_writer_new();
  if (!w) return tern_err(err, errlen, "out of memory");
  const char *arch = "tern-recurrent";
  int rc = tern_gguf_add_str(w, "general.architecture", arch, strlen(arch), err, errlen) ||
           tern_gguf_add_str(w, "tern.family", "recurrent", 9, err, errlen) ||
           tern_gguf_add_str(w, "tern.model", ini, strlen(ini), err, errlen);
  gk_state k = {w, 0, 0, 0, 0};
  ck_sink sk = {gg_name, "blk.%d.", gk_vec, gk_rows, gk_linear, &k};
  if (!rc) rc = ck_write_rnn(&sk, m, err, errlen);
  if (!rc) rc = tern_gguf_write(w, path, err, errlen);
  tern_gguf_writer_free(w);
  return rc ? -1 : 0;
}
