/* Transformer checkpoints (include/tern/ckpt.h): the mapping between a tern
 * model and the tensor roles every format names (models/ckpt_internal.h),
 * the conversions the formats share, and the public API. */
#define _DEFAULT_SOURCE /* madvise (MADV_DONTNEED): posix_madvise ignores DONTNEED on glibc */
#include "tern/ckpt.h"

#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt_internal.h"
#include "tern/err.h"
#include "tern/numerics.h"

/* ---- shared conversions ----------------------------------------------------------- */

void ck_quant_row(const float *x, int cols, int8_t *q, float *scale) {
  float amax = 0.0f;
  for (int i = 0; i < cols; i++) amax = fmaxf(amax, fabsf(x[i]));
  float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
  *scale = sc;
  for (int i = 0; i < cols; i++) {
    float r = roundf(x[i] / sc);
    q[i] = (int8_t)(r > 127.0f ? 127 : (r < -127.0f ? -127 : (int)r));
  }
}

int ck_alloc_rows(int rows, int cols, tern_i8rows *e) {
  e->rows = rows;
  e->cols = cols;
  e->q = ck_malloc((size_t)rows * (size_t)cols);
  e->scale = ck_malloc((size_t)rows * sizeof(float));
  return e->q && e->scale ? 0 : -1;
}

static int pack_into(const int8_t *w_io, int in, int out, tern_tpacked *t, char *err,
                     size_t errlen) {
  size_t nb = tern_tpacked_bytes(in, out);
  t->k = in;
  t->n = out;
  t->codes = ck_malloc(nb);
  if (!t->codes) return tern_err(err, errlen, "out of memory (%d x %d codes)", in, out);
  tern_tpack(w_io, (size_t)in * (size_t)out, t->codes);
  return 0;
}

int ck_linear_from_codes(const int8_t *c, int in, int out, float beta, tern_tpacked *t, char *err,
                         size_t errlen) {
  size_t n = (size_t)in * (size_t)out;
  int8_t *w = ck_malloc(n);
  if (!w) return tern_err(err, errlen, "out of memory (%d x %d codes)", in, out);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) w[(size_t)i * (size_t)out + (size_t)o] = c[(size_t)o * (size_t)in + (size_t)i];
  t->beta = beta;
  int rc = pack_into(w, in, out, t, err, errlen);
  free(w);
  return rc;
}

int ck_linear_from_float(const float *w, int in, int out, tern_tpacked *t, int *ternarised,
                         char *err, size_t errlen) {
  size_t n = (size_t)in * (size_t)out;
  /* every element, not only those before the first that makes the matrix
   * inexact: tern_ternarize must not see a NaN or an infinity (fuzz_ckpt_gguf
   * found a NaN behind the first inexact element, UB in its int conversion) */
  for (size_t k = 0; k < n; k++)
    if (!isfinite(w[k])) return tern_err(err, errlen, "element %zu is not finite", k);
  float s = 0.0f;
  int exact = 1;
  for (size_t k = 0; k < n && exact; k++) {
    float a = fabsf(w[k]);
    if (a == 0.0f) continue;
    if (s == 0.0f) s = a;
    exact = a == s;
  }
  int8_t *c = ck_malloc(n);
  if (!c) return tern_err(err, errlen, "out of memory (%d x %d weights)", in, out);
  int rc;
  if (exact && s > 0.0f) {
    for (size_t k = 0; k < n; k++) c[k] = (int8_t)(w[k] > 0.0f ? 1 : (w[k] < 0.0f ? -1 : 0));
    rc = ck_linear_from_codes(c, in, out, s, t, err, errlen);
    *ternarised = 0;
  } else {
    float *m = ck_malloc(n * sizeof(float));
    if (!m) {
      free(c);
      return tern_err(err, errlen, "out of memory (%d x %d weights)", in, out);
    }
    for (int o = 0; o < out; o++)
      for (int i = 0; i < in; i++) m[(size_t)i * (size_t)out + (size_t)o] = w[(size_t)o * (size_t)in + (size_t)i];
    t->beta = tern_ternarize(m, n, c); /* c in tern's [in][out] order */
    free(m);
    rc = pack_into(c, in, out, t, err, errlen);
    *ternarised = 1;
  }
  free(c);
  return rc;
}

void ck_codes_out_in(const tern_tpacked *t, int8_t *c) {
  for (int i = 0; i < t->k; i++)
    for (int o = 0; o < t->n; o++)
      c[(size_t)o * (size_t)t->k + (size_t)i] = (int8_t)tern_tpacked_get(t->codes, (size_t)i * (size_t)t->n + (size_t)o);
}

static void rope_perm(void *c, size_t esz, int heads, int hd, int in, int to_interleaved) {
  int half = hd / 2;
  size_t row = (size_t)in * esz;
  uint8_t *tmp = ck_malloc((size_t)hd * row);
  if (!tmp) return;
  for (int h = 0; h < heads; h++) {
    uint8_t *blk = (uint8_t *)c + (size_t)h * (size_t)hd * row;
    memcpy(tmp, blk, (size_t)hd * row);
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < half; b++) {
        size_t rot = (size_t)(a * half + b), inter = (size_t)(2 * b + a);
        size_t dst = to_interleaved ? inter : rot, src = to_interleaved ? rot : inter;
        memcpy(blk + dst * row, tmp + src * row, row);
      }
  }
  free(tmp);
}

void ck_rope_unpermute(void *c, size_t esz, int heads, int hd, int in) {
  rope_perm(c, esz, heads, hd, in, 0);
}
void ck_rope_permute(void *c, size_t esz, int heads, int hd, int in) {
  rope_perm(c, esz, heads, hd, in, 1);
}

void ck_release_pages(const void *p, uint64_t n) {
  long pg = sysconf(_SC_PAGESIZE);
  if (!p || !n || pg <= 0) return;
  uintptr_t b = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
  uintptr_t e = ((uintptr_t)p + (uintptr_t)n) & ~((uintptr_t)pg - 1);
  if (e > b) madvise((void *)b, (size_t)(e - b), MADV_DONTNEED);
}

int ck_is_dir(const char *p) {
  struct stat sb;
  return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}

int ck_ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

void ck_sanitize_name(const char *src, char *dst, size_t n) {
  size_t o = 0;
  for (const char *p = src; *p && o + 1 < n && o < TERN_TFM_NAME_MAX - 1; p++) {
    char ch = *p;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '-';
    dst[o++] = ok ? ch : '-';
  }
  if (!o) dst[o++] = 'm';
  dst[o] = 0;
}

/* ---- the mapping (format-independent) ---------------------------------------------- */

/* Reads of a ck_role done: let the format drop its pages. */
static void release(ck_src *s, const char *name) {
  if (s->release) s->release(s, name);
}

static int read_norm(ck_src *s, ck_role rg, ck_role rb, int layer, int n, const tern_tfm_config *c,
                     tern_tfm_norm *nm, char *err, size_t errlen) {
  char nb[256];
  nm->g = malloc((size_t)n * sizeof(float));
  if (!nm->g) return tern_err(err, errlen, "out of memory");
  if (s->vec(s, s->name(rg, layer, nb, sizeof nb), n, nm->g, err, errlen)) return -1;
  if (!c->norm_bias) return 0;
  nm->b = malloc((size_t)n * sizeof(float));
  if (!nm->b) return tern_err(err, errlen, "out of memory");
  return s->vec(s, s->name(rb, layer, nb, sizeof nb), n, nm->b, err, errlen);
}

static int read_lin(ck_src *s, ck_role r, int layer, int in, int out, tern_tpacked *t,
                    tern_ckpt_info *info, char *err, size_t errlen) {
  char nb[256];
  int tz = 0;
  if (s->linear(s, s->name(r, layer, nb, sizeof nb), r, in, out, t, &tz, err, errlen)) return -1;
  release(s, nb);
  info->ternarised += tz;
  info->tensors++;
  return 0;
}

static int read_ffn(ck_src *s, const tern_tfm_config *c, int layer, tern_tfm_ffn *f,
                    tern_ckpt_info *info, char *err, size_t errlen) {
  if (tern_ffn_is_glu(c->ffn_type) &&
      read_lin(s, CK_GATE, layer, c->dim, c->ffn, &f->gate, info, err, errlen))
    return -1;
  if (read_lin(s, CK_UP, layer, c->dim, c->ffn, &f->up, info, err, errlen) ||
      read_lin(s, CK_DOWN, layer, c->ffn, c->dim, &f->down, info, err, errlen))
    return -1;
  return c->subln ? read_norm(s, CK_FSUB_G, CK_FSUB_B, layer, c->ffn, c, &f->subln, err, errlen) : 0;
}

int ck_read_model(ck_src *s, const tern_tfm_config *c, tern_tfm_model *m, tern_ckpt_info *info,
                      char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->cfg = *c;
  char nb[256];
  int qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
  int rc = -1, qz = 0;
  if (!(m->block = calloc((size_t)c->layers, sizeof *m->block))) {
    tern_err(err, errlen, "out of memory");
    goto fail;
  }
  if (s->rows(s, s->name(CK_EMBED, 0, nb, sizeof nb), c->vocab, c->dim, &m->embed, &qz, err, errlen))
    goto fail;
  release(s, nb);
  info->quantised_rows += qz;
  if (!c->tie_embeddings) {
    qz = 0;
    if (s->rows(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb), c->vocab, c->dim, &m->lm_head, &qz, err,
                errlen))
      goto fail;
    info->quantised_rows += qz;
  } else if (s->has(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb))) {
    tern_err(err, errlen, "%s: tensor '%s' is present but the model ties its embeddings "
             "(tie_word_embeddings); refusing to ignore it", s->path, nb);
    goto fail;
  }
  if (read_norm(s, CK_FINAL_G, CK_FINAL_B, 0, c->dim, c, &m->final_norm, err, errlen)) goto fail;
  if (c->share_ffn && read_ffn(s, c, 0, &m->shared_ffn, info, err, errlen)) goto fail;
  for (int b = 0; b < c->layers; b++) {
    tern_tfm_block *B = &m->block[b];
    if (read_norm(s, CK_ATTN_G, CK_ATTN_B, b, c->dim, c, &B->attn_norm, err, errlen) ||
        read_lin(s, CK_WQ, b, c->dim, qd, &B->wq, info, err, errlen) ||
        read_lin(s, CK_WK, b, c->dim, kvd, &B->wk, info, err, errlen) ||
        read_lin(s, CK_WV, b, c->dim, kvd, &B->wv, info, err, errlen) ||
        read_lin(s, CK_WO, b, qd, c->dim, &B->wo, info, err, errlen) ||
        (c->subln && read_norm(s, CK_ASUB_G, CK_ASUB_B, b, qd, c, &B->attn_subln, err, errlen)) ||
        read_norm(s, CK_FFN_G, CK_FFN_B, b, c->dim, c, &B->ffn_norm, err, errlen))
      goto fail;
    if (!c->share_ffn && read_ffn(s, c, b, &B->own_ffn, info, err, errlen)) goto fail;
    B->ffn = c->share_ffn ? &m->shared_ffn : &B->own_ffn;
  }
  if (info->ternarised)
    snprintf(info->note, sizeof info->note,
             "%d linear layers were float master weights and were ternarised at import (absmean, "
             "per matrix)%s", info->ternarised,
             strstr(info->arch, "itNet") || strstr(info->arch, "itnet")
                 ? ""
                 : "; WARNING: post-training ternarisation of a model not trained for ternary "
                   "weights loses quality (expect a large loss increase)");
  return 0;
fail:
  tern_tfm_free(m);
  return rc;
}

/* ---- writing (format-independent) ------------------------------------------------ */

static int put_norm(ck_sink *s, ck_role rg, ck_role rb, int layer, const tern_tfm_norm *nm, int n,
                    char *err, size_t errlen) {
  char nb[256];
  if (s->vec(s, s->name(rg, layer, nb, sizeof nb), nm->g, n, err, errlen)) return -1;
  return nm->b ? s->vec(s, s->name(rb, layer, nb, sizeof nb), nm->b, n, err, errlen) : 0;
}

static int put_lin(ck_sink *s, ck_role r, int layer, const tern_tpacked *t, char *err,
                   size_t errlen) {
  char nb[256];
  return s->linear(s, s->name(r, layer, nb, sizeof nb), r, t, err, errlen);
}

static int put_ffn(ck_sink *s, const tern_tfm_config *c, int layer, const tern_tfm_ffn *f,
                   char *err, size_t errlen) {
  if (tern_ffn_is_glu(c->ffn_type) && put_lin(s, CK_GATE, layer, &f->gate, err, errlen)) return -1;
  if (put_lin(s, CK_UP, layer, &f->up, err, errlen) || put_lin(s, CK_DOWN, layer, &f->down, err, errlen))
    return -1;
  return c->subln ? put_norm(s, CK_FSUB_G, CK_FSUB_B, layer, &f->subln, c->ffn, err, errlen) : 0;
}

int ck_write_model(ck_sink *s, const tern_tfm_model *m, char *err, size_t errlen) {
  const tern_tfm_config *c = &m->cfg;
  char nb[256];
  int qd = c->heads * c->head_dim;
  if (s->rows(s, s->name(CK_EMBED, 0, nb, sizeof nb), &m->embed, err, errlen) ||
      (!c->tie_embeddings && s->rows(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb), &m->lm_head, err, errlen)) ||
      put_norm(s, CK_FINAL_G, CK_FINAL_B, 0, &m->final_norm, c->dim, err, errlen) ||
      (c->share_ffn && put_ffn(s, c, 0, &m->shared_ffn, err, errlen)))
    return -1;
  for (int b = 0; b < c->layers; b++) {
    const tern_tfm_block *B = &m->block[b];
    if (put_norm(s, CK_ATTN_G, CK_ATTN_B, b, &B->attn_norm, c->dim, err, errlen) ||
        put_lin(s, CK_WQ, b, &B->wq, err, errlen) || put_lin(s, CK_WK, b, &B->wk, err, errlen) ||
        put_lin(s, CK_WV, b, &B->wv, err, errlen) || put_lin(s, CK_WO, b, &B->wo, err, errlen) ||
        (c->subln && put_norm(s, CK_ASUB_G, CK_ASUB_B, b, &B->attn_subln, qd, err, errlen)) ||
        put_norm(s, CK_FFN_G, CK_FFN_B, b, &B->ffn_norm, c->dim, err, errlen) ||
        (!c->share_ffn && put_ffn(s, c, b, B->ffn, err, errlen)))
      return -1;
  }
  return 0;
}

/* ---- public ------------------------------------------------------------------------- */

int tern_ckpt_is_path(const char *path) {
  if (!path) return 0;
  if (ck_is_dir(path)) {
    char p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/config.json", path);
    return !stat(p, &sb);
  }
  return ck_ends_with(path, ".safetensors") || ck_ends_with(path, ".index.json") ||
         ck_ends_with(path, ".gguf");
}

static int is_gguf(const char *path) { return ck_ends_with(path, ".gguf"); }

static void info_init(tern_ckpt_info *info, const char *path, const char *fmt) {
  memset(info, 0, sizeof *info);
  snprintf(info->path, sizeof info->path, "%s", path);
  snprintf(info->format, sizeof info->format, "%s", fmt);
}

int tern_tfm_ckpt_config(const char *path, tern_tfm_config *c, tern_ckpt_info *info, char *err,
                         size_t errlen) {
  tern_ckpt_info local;
  if (!info) info = &local;
  if (!path || !c) return tern_err(err, errlen, "tern_tfm_ckpt_config: null argument");
  info_init(info, path, is_gguf(path) ? "gguf" : "safetensors");
  return is_gguf(path) ? ck_gguf_config(path, c, info, err, errlen)
                       : ck_st_config(path, c, info, err, errlen);
}

static int read_tfm(ck_src *s, const void *cfg, void *model, tern_ckpt_info *info, char *err,
                    size_t errlen) {
  return ck_read_model(s, cfg, model, info, err, errlen);
}

int tern_tfm_ckpt_load(const char *path, tern_tfm_model *m, tern_ckpt_info *info, char *err,
                       size_t errlen) {
  tern_ckpt_info local;
  if (!info) info = &local;
  if (!path || !m) return tern_err(err, errlen, "tern_tfm_ckpt_load: null argument");
  memset(m, 0, sizeof *m);
  tern_tfm_config c;
  if (tern_tfm_ckpt_config(path, &c, info, err, errlen)) return -1;
  ck_rope rope = {!strcmp(info->arch, "llama"), c.heads, c.kv_heads, c.head_dim};
  return is_gguf(path) ? ck_gguf_read(path, &rope, read_tfm, &c, m, info, err, errlen)
                       : ck_st_read(path, read_tfm, &c, m, info, err, errlen);
}

int tern_tfm_load_model(const char *name_or_path, const tern_tfm_config *cfg, tern_tfm_model *m,
                        char *err, size_t errlen) {
  if (!name_or_path || !m) return tern_err(err, errlen, "tern_tfm_load_model: null argument");
  tern_tfm_config c;
  if (!tern_ckpt_is_path(name_or_path)) {
    if (!cfg) return tern_err(err, errlen, "tern_tfm_load_model: '%s' needs a config", name_or_path);
    c = *cfg;
  } else if (tern_tfm_ckpt_config(name_or_path, &c, NULL, err, errlen)) {
    return -1;
  } else if (cfg) {
    c.max_seq = cfg->max_seq;
  }
  if (tern_tfm_check(&c, name_or_path, err, errlen)) return -1;
  uint64_t kv = (uint64_t)c.layers * (uint64_t)c.repeat * (uint64_t)c.max_seq *
                (uint64_t)c.kv_heads * (uint64_t)c.head_dim * 2 * sizeof(float);
  if (tern_mc_check_budget(c.name, name_or_path, tern_tfm_model_bytes(&c), kv,
                           "KV cache at max_seq", err, errlen))
    return -1;
  if (!tern_ckpt_is_path(name_or_path)) return tern_tfm_generate(cfg, m, 0, err, errlen);
  if (tern_tfm_ckpt_load(name_or_path, m, NULL, err, errlen)) return -1;
  if (cfg) m->cfg.max_seq = cfg->max_seq;
  return 0;
}

int tern_tfm_ckpt_save(const tern_tfm_model *m, const char *out, tern_ckpt_format fmt, char *err,
                       size_t errlen) {
  if (!m || !out || !m->block) return tern_err(err, errlen, "tern_tfm_ckpt_save: null argument");
  if (fmt == TERN_CKPT_GGUF) return ck_gguf_save(m, out, err, errlen);
  return ck_st_save(m, out, err, errlen);
}
