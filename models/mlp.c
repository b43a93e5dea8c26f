/* The slice's model (include/tern/mlp.h, docs/NUMERICS.md):
 *   x -> [RMSNorm -> BitLinear(d->f) -> act -> BitLinear(f->d) -> +x] x L
 * Weight generation, the .twt weight file, the float32 BitNet b1.58
 * reference, the integer constants and the bit-exact integer reference. */
#include "tern/err.h"
#include "prng.h"
#include "tern/mlp.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tern/numerics.h"

/* ---- limits and errors -------------------------------------------------- */

#define MLP_MAX_DIM 65536          /* d, f */
#define MLP_MAX_LAYERS 1024
#define MLP_MAX_WEIGHTS (1ull << 31) /* total ternary weights, 2*d*f*layers */

/* Validates cfg; `who` prefixes the message (e.g. "config" or a file name). */
static int check_config(const tern_mlp_config *cfg, const char *who, char *err, size_t errlen) {
  if (cfg->d < 1 || cfg->d > MLP_MAX_DIM)
    return tern_err(err, errlen, "%s: field 'd' is %d, expected 1..%d", who, cfg->d, MLP_MAX_DIM);
  if (cfg->f < 1 || cfg->f > MLP_MAX_DIM)
    return tern_err(err, errlen, "%s: field 'f' is %d, expected 1..%d", who, cfg->f, MLP_MAX_DIM);
  if (cfg->layers < 1 || cfg->layers > MLP_MAX_LAYERS)
    return tern_err(err, errlen, "%s: field 'layers' is %d, expected 1..%d", who, cfg->layers,
                MLP_MAX_LAYERS);
  if (cfg->act != TERN_ACT_RELU2 && cfg->act != TERN_ACT_SILU)
    return tern_err(err, errlen, "%s: field 'act' is %d, expected 0 (relu2) or 1 (silu)", who,
                (int)cfg->act);
  if (!(cfg->eps > 0.0f && cfg->eps <= 1.0f))
    return tern_err(err, errlen, "%s: field 'eps' is %g, expected a number in (0, 1]", who,
                (double)cfg->eps);
  uint64_t nw = 2ull * (uint64_t)cfg->d * (uint64_t)cfg->f * (uint64_t)cfg->layers;
  if (nw > MLP_MAX_WEIGHTS)
    return tern_err(err, errlen,
                "%s: fields 'd', 'f', 'layers' give %llu ternary weights, expected at most %llu",
                who, (unsigned long long)nw, (unsigned long long)MLP_MAX_WEIGHTS);
  return 0;
}

tern_mlp_config tern_mlp_default_config(void) {
  tern_mlp_config c;
  c.d = 256;
  c.f = 1024;
  c.layers = 4;
  c.act = TERN_ACT_RELU2;
  c.seed = 1;
  c.eps = 1e-5f;
  return c;
}

/* PRNG: splitmix64 -> uniform doubles -> Box-Muller (models/prng.h). */

#define INPUT_STREAM_XOR 0x5445524E494E5054ull /* "TERNINPT" */

/* ---- model memory ---------------------------------------------------------- */

void tern_mlp_free(tern_mlp_model *m) {
  if (!m) return;
  if (m->layer) {
    for (int l = 0; l < m->cfg.layers; l++) {
      free(m->layer[l].g);
      free(m->layer[l].w1.w);
      free(m->layer[l].w2.w);
    }
  }
  free(m->layer);
  m->layer = NULL;
}

/* Allocates the layer arrays for a validated cfg (contents uninitialised). */
static int alloc_model(tern_mlp_model *m, const tern_mlp_config *cfg, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->layer = calloc((size_t)cfg->layers, sizeof *m->layer);
  if (!m->layer) return tern_err(err, errlen, "out of memory (%d layers)", cfg->layers);
  size_t d = (size_t)cfg->d, f = (size_t)cfg->f;
  for (int l = 0; l < cfg->layers; l++) {
    tern_mlp_layer *L = &m->layer[l];
    L->g = malloc(d * sizeof(float));
    L->w1.k = cfg->d;
    L->w1.n = cfg->f;
    L->w1.w = malloc(d * f);
    L->w2.k = cfg->f;
    L->w2.n = cfg->d;
    L->w2.w = malloc(f * d);
    if (!L->g || !L->w1.w || !L->w2.w) {
      tern_mlp_free(m);
      return tern_err(err, errlen, "out of memory (layer %d, d=%d, f=%d)", l, cfg->d, cfg->f);
    }
  }
  return 0;
}

int tern_mlp_generate(const tern_mlp_config *cfg, tern_mlp_model *m, char *err, size_t errlen) {
  if (!cfg || !m) return tern_err(err, errlen, "tern_mlp_generate: null argument");
  memset(m, 0, sizeof *m);
  if (check_config(cfg, "config", err, errlen)) return -1;
  if (alloc_model(m, cfg, err, errlen)) return -1;
  size_t d = (size_t)cfg->d, f = (size_t)cfg->f;
  float *master = malloc(d * f * sizeof(float));
  if (!master) {
    tern_mlp_free(m);
    return tern_err(err, errlen, "out of memory (master weights %zu x %zu)", d, f);
  }
  tern_rng r = {cfg->seed};
  /* one stream, fixed order: per layer g[d], W1[d][f], W2[f][d] */
  for (int l = 0; l < cfg->layers; l++) {
    tern_mlp_layer *L = &m->layer[l];
    for (size_t i = 0; i < d; i++) L->g[i] = (float)(1.0 + 0.1 * tern_normal01(&r));
    double s1 = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < d * f; i++) master[i] = (float)(s1 * tern_normal01(&r));
    L->w1.beta = tern_ternarize(master, d * f, L->w1.w);
    double s2 = 1.0 / sqrt((double)f);
    for (size_t i = 0; i < f * d; i++) master[i] = (float)(s2 * tern_normal01(&r));
    L->w2.beta = tern_ternarize(master, f * d, L->w2.w);
  }
  free(master);
  return 0;
}

void tern_mlp_input(const tern_mlp_config *cfg, int M, uint64_t seed, float *x) {
  if (!cfg || !x || M <= 0 || cfg->d <= 0) return;
  tern_rng r = {seed ^ INPUT_STREAM_XOR};
  size_t n = (size_t)M * (size_t)cfg->d;
  for (size_t i = 0; i < n; i++) x[i] = (float)tern_normal01(&r);
}

/* ---- weight file (.twt) ---------------------------------------------------- */

#define TWT_MAGIC "TERNWT01"
#define TWT_VERSION 1u
#define TWT_HEADER 44u    /* magic 8, version, d, f, layers, act (4 each), seed 8, eps 4, ntensors 4 */
#define TWT_NAME 32u
#define TWT_TENSOR_HDR 44u /* name 32, dtype, rows, cols */
#define TWT_F32 1u
#define TWT_TERNARY2 2u

typedef struct {
  unsigned char *p;
  size_t n, cap;
  int oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}
static void put_u32(wbuf *b, uint32_t v) {
  unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  put(b, c, 4);
}
static void put_u64(wbuf *b, uint64_t v) {
  put_u32(b, (uint32_t)v);
  put_u32(b, (uint32_t)(v >> 32));
}
static void put_f32(wbuf *b, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put_u32(b, u);
}
static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p) {
  return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static float get_f32(const unsigned char *p) {
  uint32_t u = get_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void tensor_name(char out[TWT_NAME], int layer, int which) {
  static const char *const suffix[3] = {"g", "w1", "w2"};
  memset(out, 0, TWT_NAME);
  snprintf(out, TWT_NAME, "layer%d.%s", layer, suffix[which]);
}

static void put_tensor_hdr(wbuf *b, int layer, int which, uint32_t dtype, uint32_t rows,
                           uint32_t cols) {
  char name[TWT_NAME];
  tensor_name(name, layer, which);
  put(b, name, TWT_NAME);
  put_u32(b, dtype);
  put_u32(b, rows);
  put_u32(b, cols);
}

static void put_ternary(wbuf *b, const tern_tmatrix *t) {
  put_f32(b, t->beta);
  size_t n = (size_t)t->k * (size_t)t->n;
  unsigned char acc = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= (unsigned char)(tern_wcode_of(t->w[i]) << (2 * (i % 4)));
    if (i % 4 == 3) {
      put(b, &acc, 1);
      acc = 0;
    }
  }
  if (n % 4) put(b, &acc, 1);
}

/* expected file size for a validated config */
static uint64_t twt_size(const tern_mlp_config *c) {
  uint64_t d = (uint64_t)c->d, f = (uint64_t)c->f;
  uint64_t per_layer = TWT_TENSOR_HDR + 4 * d                 /* g */
                       + 2 * (TWT_TENSOR_HDR + 4 + (d * f + 3) / 4); /* w1, w2 */
  return TWT_HEADER + (uint64_t)c->layers * per_layer + 4;
}

int tern_mlp_save(const tern_mlp_model *m, const char *path, char *err, size_t errlen) {
  if (!m || !path || !m->layer) return tern_err(err, errlen, "tern_mlp_save: null argument");
  if (check_config(&m->cfg, path, err, errlen)) return -1;
  const tern_mlp_config *c = &m->cfg;
  for (int l = 0; l < c->layers; l++) {
    const tern_mlp_layer *L = &m->layer[l];
    if (L->w1.k != c->d || L->w1.n != c->f || L->w2.k != c->f || L->w2.n != c->d)
      return tern_err(err, errlen, "%s: layer %d: matrix shapes %dx%d, %dx%d, expected %dx%d, %dx%d",
                  path, l, L->w1.k, L->w1.n, L->w2.k, L->w2.n, c->d, c->f, c->f, c->d);
  }
  wbuf b = {0};
  put(&b, TWT_MAGIC, 8);
  put_u32(&b, TWT_VERSION);
  put_u32(&b, (uint32_t)c->d);
  put_u32(&b, (uint32_t)c->f);
  put_u32(&b, (uint32_t)c->layers);
  put_u32(&b, (uint32_t)c->act);
  put_u64(&b, c->seed);
  put_f32(&b, c->eps);
  put_u32(&b, (uint32_t)(3 * c->layers));
  for (int l = 0; l < c->layers; l++) {
    const tern_mlp_layer *L = &m->layer[l];
    put_tensor_hdr(&b, l, 0, TWT_F32, 1, (uint32_t)c->d);
    for (int i = 0; i < c->d; i++) put_f32(&b, L->g[i]);
    put_tensor_hdr(&b, l, 1, TWT_TERNARY2, (uint32_t)c->d, (uint32_t)c->f);
    put_ternary(&b, &L->w1);
    put_tensor_hdr(&b, l, 2, TWT_TERNARY2, (uint32_t)c->f, (uint32_t)c->d);
    put_ternary(&b, &L->w2);
  }
  if (!b.oom) put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)(b.n)));
  if (b.oom) {
    free(b.p);
    return tern_err(err, errlen, "%s: out of memory building the weight file", path);
  }
  FILE *fp = fopen(path, "wb");
  if (!fp) {
    int e = errno;
    free(b.p);
    return tern_err(err, errlen, "%s: cannot open for writing: %s", path, strerror(e));
  }
  size_t wr = fwrite(b.p, 1, b.n, fp);
  int cl = fclose(fp);
  size_t n = b.n;
  free(b.p);
  if (wr != n || cl != 0) return tern_err(err, errlen, "%s: write failed (%zu of %zu bytes)", path, wr, n);
  return 0;
}

/* Reads a whole file whose length must be exactly `cap` (derived from the
 * validated header, described by `what`): nothing is allocated from an
 * unchecked length. */
static int read_file(const char *path, uint64_t cap, const char *what, unsigned char **out,
                     size_t *len, char *err, size_t errlen) {
  *out = NULL;
  *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  if (fseek(fp, 0, SEEK_END) != 0) {
    fclose(fp);
    return tern_err(err, errlen, "%s: cannot seek", path);
  }
  long sz = ftell(fp);
  if (sz < 0 || fseek(fp, 0, SEEK_SET) != 0) {
    fclose(fp);
    return tern_err(err, errlen, "%s: cannot determine the file size", path);
  }
  if ((uint64_t)sz != cap) {
    fclose(fp);
    return tern_err(err, errlen, "%s: %s: file is %ld bytes, expected %llu (%s)", path,
                (uint64_t)sz < cap ? "truncated" : "trailing bytes", sz, (unsigned long long)cap,
                what);
  }
  unsigned char *p = malloc(sz ? (size_t)sz : 1);
  if (!p) {
    fclose(fp);
    return tern_err(err, errlen, "%s: out of memory (%ld bytes)", path, sz);
  }
  size_t rd = fread(p, 1, (size_t)sz, fp);
  fclose(fp);
  if (rd != (size_t)sz) {
    free(p);
    return tern_err(err, errlen, "%s: read %zu of %ld bytes", path, rd, sz);
  }
  *out = p;
  *len = (size_t)sz;
  return 0;
}

int tern_mlp_load(tern_mlp_model *m, const char *path, char *err, size_t errlen) {
  if (!m || !path) return tern_err(err, errlen, "tern_mlp_load: null argument");
  memset(m, 0, sizeof *m);
  /* The header is read first (TWT_HEADER bytes), the whole file only once its
   * length matches what the validated header implies. */
  FILE *fp = fopen(path, "rb");
  if (!fp) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  unsigned char h[TWT_HEADER];
  size_t got = fread(h, 1, TWT_HEADER, fp);
  fclose(fp);
  if (got < 8 || memcmp(h, TWT_MAGIC, 8) != 0) {
    char seen[9] = {0};
    for (size_t i = 0; i < 8 && i < got; i++) seen[i] = (h[i] >= 32 && h[i] < 127) ? (char)h[i] : '?';
    return tern_err(err, errlen, "%s: field 'magic' is \"%s\" (%zu bytes), expected \"%s\"", path, seen,
                got < 8 ? got : (size_t)8, TWT_MAGIC);
  }
  if (got < TWT_HEADER)
    return tern_err(err, errlen, "%s: truncated header: file is %zu bytes, expected at least %u", path,
                got, TWT_HEADER);
  uint32_t version = get_u32(h + 8);
  if (version != TWT_VERSION)
    return tern_err(err, errlen, "%s: field 'version' is %u, expected %u", path, version, TWT_VERSION);
  uint32_t ud = get_u32(h + 12), uf = get_u32(h + 16), ul = get_u32(h + 20), ua = get_u32(h + 24);
  if (ud > MLP_MAX_DIM || uf > MLP_MAX_DIM || ul > MLP_MAX_LAYERS || ua > 1) {
    const char *fld = ud > MLP_MAX_DIM ? "d" : uf > MLP_MAX_DIM ? "f" : ul > MLP_MAX_LAYERS ? "layers" : "act";
    uint32_t val = ud > MLP_MAX_DIM ? ud : uf > MLP_MAX_DIM ? uf : ul > MLP_MAX_LAYERS ? ul : ua;
    uint32_t mx = ud > MLP_MAX_DIM ? MLP_MAX_DIM : uf > MLP_MAX_DIM ? MLP_MAX_DIM : ul > MLP_MAX_LAYERS ? MLP_MAX_LAYERS : 1;
    return tern_err(err, errlen, "%s: field '%s' is %u, expected 0..%u", path, fld, val, mx);
  }
  tern_mlp_config cfg;
  cfg.d = (int)ud;
  cfg.f = (int)uf;
  cfg.layers = (int)ul;
  cfg.act = (tern_act)ua;
  cfg.seed = get_u64(h + 28);
  cfg.eps = get_f32(h + 36);
  if (check_config(&cfg, path, err, errlen)) return -1;
  uint32_t nt = get_u32(h + 40);
  if (nt != 3u * ul)
    return tern_err(err, errlen, "%s: field 'ntensors' is %u, expected %u (3 per layer)", path, nt, 3u * ul);
  uint64_t want = twt_size(&cfg);

  unsigned char *p;
  size_t len;
  char what[96];
  snprintf(what, sizeof what, "from the header: d=%d, f=%d, layers=%d", cfg.d, cfg.f, cfg.layers);
  if (read_file(path, want, what, &p, &len, err, errlen)) return -1;
  if (alloc_model(m, &cfg, err, errlen)) {
    free(p);
    return -1;
  }
  size_t off = TWT_HEADER;
  int rc = 0;
  for (int l = 0; l < cfg.layers && rc == 0; l++) {
    for (int which = 0; which < 3 && rc == 0; which++) {
      char name[TWT_NAME];
      tensor_name(name, l, which);
      if (memcmp(p + off, name, TWT_NAME) != 0) {
        char seen[TWT_NAME + 1];
        for (size_t i = 0; i < TWT_NAME; i++) {
          unsigned char ch = p[off + i];
          seen[i] = ch == 0 ? 0 : (ch >= 32 && ch < 127) ? (char)ch : '?';
        }
        seen[TWT_NAME] = 0;
        rc = tern_err(err, errlen, "%s: tensor %d at offset %zu: field 'name' is \"%s\", expected \"%s\" (NUL padded)",
                  path, 3 * l + which, off, seen, name);
        break;
      }
      uint32_t dtype = get_u32(p + off + 32), rows = get_u32(p + off + 36), cols = get_u32(p + off + 40);
      uint32_t wdt = which == 0 ? TWT_F32 : TWT_TERNARY2;
      uint32_t wr = which == 0 ? 1u : which == 1 ? ud : uf;
      uint32_t wc = which == 0 ? ud : which == 1 ? uf : ud;
      if (dtype != wdt) {
        rc = tern_err(err, errlen, "%s: tensor '%s': field 'dtype' is %u, expected %u (%s)", path, name,
                  dtype, wdt, wdt == TWT_F32 ? "f32" : "ternary2");
        break;
      }
      if (rows != wr || cols != wc) {
        rc = tern_err(err, errlen, "%s: tensor '%s': field 'shape' is %ux%u, expected %ux%u", path, name,
                  rows, cols, wr, wc);
        break;
      }
      off += TWT_TENSOR_HDR;
      tern_mlp_layer *L = &m->layer[l];
      if (which == 0) {
        for (uint32_t i = 0; i < ud; i++) {
          float g = get_f32(p + off + 4 * (size_t)i);
          if (!isfinite(g)) {
            rc = tern_err(err, errlen, "%s: tensor '%s': element %u is not finite, expected a finite f32",
                      path, name, i);
            break;
          }
          L->g[i] = g;
        }
        off += 4 * (size_t)ud;
        continue;
      }
      tern_tmatrix *t = which == 1 ? &L->w1 : &L->w2;
      float beta = get_f32(p + off);
      if (!(isfinite(beta) && beta > 0.0f)) {
        rc = tern_err(err, errlen, "%s: tensor '%s': field 'beta' is %g, expected a finite value > 0",
                  path, name, (double)beta);
        break;
      }
      t->beta = beta;
      off += 4;
      size_t n = (size_t)rows * cols, nb = (n + 3) / 4;
      for (size_t i = 0; i < n; i++) {
        unsigned code = (p[off + i / 4] >> (2 * (i % 4))) & 3u;
        if (code == 2u) {
          rc = tern_err(err, errlen, "%s: tensor '%s': code %zu (row %zu, col %zu) is the reserved value 10 (binary), expected 00, 01 or 11",
                    path, name, i, i / cols, i % cols);
          break;
        }
        t->w[i] = (int8_t)tern_wcode_value(code);
      }
      if (rc) break;
      if (n % 4 && (p[off + nb - 1] >> (2 * (n % 4))) != 0) {
        rc = tern_err(err, errlen, "%s: tensor '%s': padding bits of the last byte are 0x%02x, expected 0",
                  path, name, p[off + nb - 1] >> (2 * (n % 4)));
        break;
      }
      off += nb;
    }
  }
  if (rc == 0) {
    uint32_t stored = get_u32(p + off), calc = (uint32_t)crc32(0L, p, (uInt)off);
    if (stored != calc)
      rc = tern_err(err, errlen, "%s: field 'crc32' is 0x%08x, expected 0x%08x (CRC-32 of bytes 0..%zu)",
                path, stored, calc, off - 1);
  }
  free(p);
  if (rc) tern_mlp_free(m);
  return rc;
}

/* ---- float32 reference ------------------------------------------------------ */

/* BitLinear as BitNet b1.58's training code: per-token absmax int8 fake
 * quantisation of the input (scale = 127/gamma, xq = clamp(roundf(x*scale))),
 * ternary weights, y = (xq . Wq) * beta * gamma / 127 evaluated left to right
 * in float32 (the integer dot product is exact). */
static void bitlinear_float(const float *x, const tern_tmatrix *t, float *y, int32_t *acc) {
  int K = t->k, N = t->n;
  float amax = 0.0f;
  for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[k]));
  float gamma = fmaxf(amax, 1e-5f);
  float scale = 127.0f / gamma;
  for (int n = 0; n < N; n++) acc[n] = 0;
  for (int k = 0; k < K; k++) {
    float r = roundf(x[k] * scale);
    int xq = (int)fminf(fmaxf(r, -128.0f), 127.0f);
    if (xq == 0) continue;
    const int8_t *w = t->w + (size_t)k * (size_t)N;
    for (int n = 0; n < N; n++) acc[n] += xq * w[n];
  }
  for (int n = 0; n < N; n++) y[n] = (float)acc[n] * t->beta * gamma / 127.0f;
}

void tern_mlp_forward_float(const tern_mlp_model *m, const float *x, int M, float *out) {
  if (!m || !m->layer || !x || !out || M <= 0) return;
  const tern_mlp_config *c = &m->cfg;
  int d = c->d, f = c->f;
  size_t big = (size_t)(d > f ? d : f);
  float *xn = malloc(big * sizeof(float));
  float *h = malloc(big * sizeof(float));
  float *y = malloc(big * sizeof(float));
  int32_t *acc = malloc(big * sizeof(int32_t));
  if (!xn || !h || !y || !acc) {
    fprintf(stderr, "tern_mlp_forward_float: out of memory\n");
    memset(out, 0, (size_t)M * (size_t)d * sizeof(float));
    goto done;
  }
  for (int t = 0; t < M; t++) {
    float *xr = out + (size_t)t * (size_t)d;
    memcpy(xr, x + (size_t)t * (size_t)d, (size_t)d * sizeof(float));
    for (int l = 0; l < c->layers; l++) {
      const tern_mlp_layer *L = &m->layer[l];
      /* RMSNorm */
      float ss = 0.0f;
      for (int i = 0; i < d; i++) ss += xr[i] * xr[i];
      float rms = sqrtf(ss / (float)d + c->eps);
      for (int i = 0; i < d; i++) xn[i] = xr[i] / rms * L->g[i];
      /* BitLinear d -> f, activation */
      bitlinear_float(xn, &L->w1, h, acc);
      for (int i = 0; i < f; i++) {
        float v = h[i];
        if (c->act == TERN_ACT_RELU2) {
          v = fmaxf(v, 0.0f);
          h[i] = v * v;
        } else {
          h[i] = v / (1.0f + expf(-v));
        }
      }
      /* BitLinear f -> d, residual */
      bitlinear_float(h, &L->w2, y, acc);
      for (int i = 0; i < d; i++) xr[i] += y[i];
    }
  }
done:
  free(xn);
  free(h);
  free(y);
  free(acc);
}

/* ---- integer constants ------------------------------------------------------ */

static int floor_log2(int v) {
  int L = 0;
  while ((v >> (L + 1)) > 0) L++;
  return L;
}

static int32_t round_sat32(double v) {
  double r = round(v); /* half away from zero */
  if (!(r == r)) return 0;
  if (r >= 2147483647.0) return INT32_MAX;
  if (r <= -2147483648.0) return INT32_MIN;
  return (int32_t)r;
}

/* beta_frac = largest integer <= 62 with round(beta/127 * 2^beta_frac) < 2^30 (in double). */
static int qlinear(const tern_tmatrix *w, int a_frac_shift, tern_qlinear *ql, const char *what,
                   char *err, size_t errlen) {
  memset(ql, 0, sizeof *ql);
  ql->w = w;
  int32_t c = 0;
  int bf = tern_beta_const(w->beta, &c);
  if (bf < 0)
    return tern_err(err, errlen, "%s: beta is %g, expected a finite value > 0", what, (double)w->beta);
  if (bf < a_frac_shift)
    return tern_err(err, errlen, "%s: beta = %g is too large: beta_frac = %d, expected >= %d", what,
                (double)w->beta, bf, a_frac_shift);
  ql->beta_c = c;
  ql->beta_frac = bf;
  ql->s_d = bf - a_frac_shift;
  ql->s_out = 16;
  return 0;
}

void tern_qmlp_free(tern_qmlp *q) {
  if (!q) return;
  if (q->layer) {
    for (int l = 0; l < q->cfg.layers; l++) free(q->layer[l].norm.g_q);
  }
  free(q->layer);
  q->layer = NULL;
}

int tern_mlp_quantize(const tern_mlp_model *m, tern_qmlp *q, char *err, size_t errlen) {
  if (!m || !q || !m->layer) return tern_err(err, errlen, "tern_mlp_quantize: null argument");
  memset(q, 0, sizeof *q);
  const tern_mlp_config *c = &m->cfg;
  if (check_config(c, "model config", err, errlen)) return -1;
  q->cfg = *c;
  q->layer = calloc((size_t)c->layers, sizeof *q->layer);
  if (!q->layer) return tern_err(err, errlen, "out of memory (%d layers)", c->layers);
  int d = c->d, L2 = floor_log2(d);
  double eps_c = round((double)c->eps * 4096.0 * (double)d / ldexp(1.0, L2));
  if (eps_c < 1.0) eps_c = 1.0;
  if (eps_c > 2147483647.0) eps_c = 2147483647.0;
  for (int l = 0; l < c->layers; l++) {
    const tern_mlp_layer *ml = &m->layer[l];
    tern_qlayer *ql = &q->layer[l];
    if (ml->w1.k != d || ml->w1.n != c->f || ml->w2.k != c->f || ml->w2.n != d) {
      tern_qmlp_free(q);
      return tern_err(err, errlen, "layer %d: matrix shapes %dx%d, %dx%d, expected %dx%d, %dx%d", l,
                  ml->w1.k, ml->w1.n, ml->w2.k, ml->w2.n, d, c->f, c->f, d);
    }
    tern_qnorm *n = &ql->norm;
    n->g_q = malloc((size_t)d * sizeof(int32_t));
    if (!n->g_q) {
      tern_qmlp_free(q);
      return tern_err(err, errlen, "out of memory (gains of layer %d)", l);
    }
    for (int i = 0; i < d; i++) n->g_q[i] = round_sat32((double)ml->g[i] * 16384.0);
    n->g_frac = 14;
    n->ss_shift = 12 + L2;
    n->eps_c = (int32_t)eps_c;
    n->rs_num = d;
    n->rs_shift = 44 - L2;
    n->t1_shift = 8;
    char what[64];
    snprintf(what, sizeof what, "layer %d w1", l);
    if (qlinear(&ml->w1, 8, &ql->l1, what, err, errlen)) {
      tern_qmlp_free(q);
      return -1;
    }
    snprintf(what, sizeof what, "layer %d w2", l);
    if (qlinear(&ml->w2, 16, &ql->l2, what, err, errlen)) {
      tern_qmlp_free(q);
      return -1;
    }
  }
  tern_sigmoid_table(q->sigmoid_lut);
  return 0;
}

/* ---- bit-exact integer reference ---------------------------------------------- */

/* acc[n] = sum_k q[k] * w[k][n], int32 wrap-around (the PE array's adders). */
static void gemm_ternary(const int8_t *q, const tern_tmatrix *t, int32_t *acc) {
  int K = t->k, N = t->n;
  for (int n = 0; n < N; n++) acc[n] = 0;
  for (int k = 0; k < K; k++) {
    int32_t a = q[k];
    if (a == 0) continue;
    const int8_t *w = t->w + (size_t)k * (size_t)N;
    for (int n = 0; n < N; n++) {
      if (w[n] > 0) acc[n] = tern_v_add(acc[n], a);
      else if (w[n] < 0) acc[n] = tern_v_sub(acc[n], a);
    }
  }
}

void tern_mlp_forward_int(const tern_qmlp *qm, const int32_t *x_in, int M, int32_t *out) {
  if (!qm || !qm->layer || !x_in || !out || M <= 0) return;
  const tern_mlp_config *c = &qm->cfg;
  const size_t d = (size_t)c->d, f = (size_t)c->f;
  int32_t *u = malloc(d * sizeof(int32_t));
  int32_t *acc = malloc((d > f ? d : f) * sizeof(int32_t));
  int32_t *y = malloc(f * sizeof(int32_t));
  int32_t *h = malloc(f * sizeof(int32_t));
  int8_t *q = malloc(d > f ? d : f);
  if (!u || !acc || !y || !h || !q) {
    fprintf(stderr, "tern_mlp_forward_int: out of memory\n");
    memset(out, 0, (size_t)M * d * sizeof(int32_t));
    goto done;
  }
  for (int t = 0; t < M; t++) {
    int32_t *x = out + (size_t)t * d; /* the residual stream, Q12 */
    memcpy(x, x_in + (size_t)t * d, d * sizeof(int32_t));
    for (int l = 0; l < c->layers; l++) {
      const tern_qnorm *nq = &qm->layer[l].norm;
      const tern_qlinear *l1 = &qm->layer[l].l1, *l2 = &qm->layer[l].l2;
      int32_t S, r, A, R, T, D;
      /*  1 */ S = tern_r_sumsq(x, d, 1, nq->ss_shift);
      /*  2 */ S = tern_v_add(S, nq->eps_c);
      /*  3 */ r = tern_v_rsqrt(S, nq->rs_num, nq->rs_shift);
      /*  4 */ for (size_t i = 0; i < d; i++) u[i] = tern_v_mulshr(x[i], nq->g_q[i], nq->g_frac);
      /*  5 */ A = tern_r_maxabs(u, d, 1);
      /*    */ A = tern_v_max(A, TERN_AMIN);
      /*  6 */ R = tern_v_recip(A, 127, TERN_QSHIFT);
      /*  7 */ for (size_t i = 0; i < d; i++) q[i] = tern_v_quant(u[i], R, TERN_QSHIFT);
      /*  8 */ T = tern_v_mulshr(A, r, nq->t1_shift);
      /*  9 */ D = tern_v_mulshr(T, l1->beta_c, l1->s_d);
      /*  — */ gemm_ternary(q, l1->w, acc);
      /* 10 */ for (size_t i = 0; i < f; i++) y[i] = tern_v_mulshr(acc[i], D, l1->s_out);
      /* 11 */ if (c->act == TERN_ACT_RELU2) {
                 for (size_t i = 0; i < f; i++) y[i] = tern_v_max(y[i], 0);
                 for (size_t i = 0; i < f; i++) h[i] = tern_v_mulshr(y[i], y[i], TERN_FX);
               } else {
                 for (size_t i = 0; i < f; i++)
                   h[i] = qm->sigmoid_lut[tern_lut_index(y[i], TERN_LUT_SHIFT)];
                 for (size_t i = 0; i < f; i++) h[i] = tern_v_mulshr(y[i], h[i], TERN_SIGMOID_FRAC);
               }
      /* 12 */ A = tern_r_maxabs(h, f, 1);
      /*    */ A = tern_v_max(A, TERN_AMIN);
      /*    */ R = tern_v_recip(A, 127, TERN_QSHIFT);
      /*    */ for (size_t i = 0; i < f; i++) q[i] = tern_v_quant(h[i], R, TERN_QSHIFT);
      /* 13 */ D = tern_v_mulshr(A, l2->beta_c, l2->s_d);
      /*  — */ gemm_ternary(q, l2->w, acc);
      /* 14 */ for (size_t i = 0; i < d; i++) acc[i] = tern_v_mulshr(acc[i], D, l2->s_out);
      /*    */ for (size_t i = 0; i < d; i++) x[i] = tern_v_add(x[i], acc[i]);
    }
  }
done:
  free(u);
  free(acc);
  free(y);
  free(h);
  free(q);
}

/* ---- work counts ----------------------------------------------------------- */

uint64_t tern_mlp_macs(const tern_mlp_config *cfg, int M) {
  if (!cfg || M <= 0 || cfg->d <= 0 || cfg->f <= 0 || cfg->layers <= 0) return 0;
  return (uint64_t)M * tern_mlp_weight_count(cfg);
}

/* Ternary weights of the matmuls (2*d*f per layer); the d gains per layer are not counted. */
uint64_t tern_mlp_weight_count(const tern_mlp_config *cfg) {
  if (!cfg || cfg->d <= 0 || cfg->f <= 0 || cfg->layers <= 0) return 0;
  return 2ull * (uint64_t)cfg->d * (uint64_t)cfg->f * (uint64_t)cfg->layers;
}
