/* CPU backend ternary GEMV / GEMM kernels: packing, variant selection,
 * the portable C kernel and the driver.  The SIMD kernels live in
 * runtime/cpu_kernels_x86.c.  Layout and exactness: include/tern/cpu_kernels.h. */
#include "tern/err.h"
#include "tern/cpu_kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels_impl.h"

/* ---- packing ----------------------------------------------------------------- */

static int wmat_alloc(tern_cpu_wmat *w, size_t n, size_t k, const char *who, char *err,
                      size_t errlen) {
  memset(w, 0, sizeof *w);
  if (n == 0 || n > TERN_CPU_MAX_N)
    return tern_err(err, errlen, "%s: N = %zu, expected 1..%u", who, n, (unsigned)TERN_CPU_MAX_N);
  if (k == 0 || k > TERN_CPU_MAX_K)
    return tern_err(err, errlen, "%s: K = %zu, expected 1..%u", who, k, (unsigned)TERN_CPU_MAX_K);
  size_t kp = (k + TERN_CPU_KBLOCK - 1) / TERN_CPU_KBLOCK * TERN_CPU_KBLOCK;
  size_t rb = kp / 4;
  size_t bytes = n * rb; /* n <= 2^26, rb <= 2^20: no overflow in 64-bit size_t */
  uint8_t *d = aligned_alloc(64, bytes);
  if (!d) return tern_err(err, errlen, "%s: out of memory for %zu x %zu weights (%zu bytes)", who, n, k, bytes);
  memset(d, 0x55, bytes); /* every 2-bit field = 1 = offset code of weight 0 */
  w->n = n;
  w->k = k;
  w->kp = kp;
  w->row_bytes = rb;
  w->data = d;
  return 0;
}

/* Set weight (n, k) to value v in {-1,0,1}; the field is 1 (weight 0) before. */
static inline void wmat_set(tern_cpu_wmat *w, size_t n, size_t k, int v) {
  size_t b = k / TERN_CPU_KBLOCK, r = k % TERN_CPU_KBLOCK;
  size_t s = r / 64, j = r % 64;
  uint8_t *p = w->data + n * w->row_bytes + b * TERN_CPU_BLOCK_BYTES + j;
  unsigned sh = (unsigned)(2 * s);
  *p = (uint8_t)((*p & ~(3u << sh)) | ((unsigned)(v + 1) << sh));
}

int tern_cpu_wmat_get(const tern_cpu_wmat *w, size_t n, size_t k) {
  size_t b = k / TERN_CPU_KBLOCK, r = k % TERN_CPU_KBLOCK;
  size_t s = r / 64, j = r % 64;
  const uint8_t *p = w->data + n * w->row_bytes + b * TERN_CPU_BLOCK_BYTES + j;
  return (int)((*p >> (2 * s)) & 3u) - 1;
}

int tern_cpu_wmat_pack(tern_cpu_wmat *w, const int8_t *codes, size_t n, size_t k, char *err,
                       size_t errlen) {
  if (!w) return tern_err(err, errlen, "tern_cpu_wmat_pack: NULL matrix");
  if (!codes) {
    memset(w, 0, sizeof *w);
    return tern_err(err, errlen, "tern_cpu_wmat_pack: NULL codes");
  }
  if (wmat_alloc(w, n, k, "tern_cpu_wmat_pack", err, errlen)) return -1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < k; j++) {
      int v = codes[i * k + j];
      if (v < -1 || v > 1) {
        tern_cpu_wmat_free(w);
        return tern_err(err, errlen,
                    "tern_cpu_wmat_pack: code[%zu] (row %zu, col %zu) = %d, expected -1, 0 or 1",
                    i * k + j, i, j, v);
      }
      if (v) wmat_set(w, i, j, v);
    }
  return 0;
}

int tern_cpu_wmat_pack_kn(tern_cpu_wmat *w, const int8_t *codes, size_t k, size_t n, char *err,
                          size_t errlen) {
  if (!w) return tern_err(err, errlen, "tern_cpu_wmat_pack_kn: NULL matrix");
  if (!codes) {
    memset(w, 0, sizeof *w);
    return tern_err(err, errlen, "tern_cpu_wmat_pack_kn: NULL codes");
  }
  if (wmat_alloc(w, n, k, "tern_cpu_wmat_pack_kn", err, errlen)) return -1;
  for (size_t kk = 0; kk < k; kk++)
    for (size_t nn = 0; nn < n; nn++) {
      int v = codes[kk * n + nn];
      if (v < -1 || v > 1) {
        tern_cpu_wmat_free(w);
        return tern_err(err, errlen,
                    "tern_cpu_wmat_pack_kn: code[%zu] (k %zu, n %zu) = %d, expected -1, 0 or 1",
                    kk * n + nn, kk, nn, v);
      }
      if (v) wmat_set(w, nn, kk, v);
    }
  return 0;
}

int tern_cpu_wmat_from_codes2(tern_cpu_wmat *w, const uint8_t *codes2, size_t k, size_t n,
                              char *err, size_t errlen) {
  if (!w) return tern_err(err, errlen, "tern_cpu_wmat_from_codes2: NULL matrix");
  if (!codes2) {
    memset(w, 0, sizeof *w);
    return tern_err(err, errlen, "tern_cpu_wmat_from_codes2: NULL codes");
  }
  if (wmat_alloc(w, n, k, "tern_cpu_wmat_from_codes2", err, errlen)) return -1;
  for (size_t kk = 0; kk < k; kk++)
    for (size_t nn = 0; nn < n; nn++) {
      size_t i = kk * n + nn;
      unsigned c = (codes2[i / 4] >> (2 * (i % 4))) & 3u;
      if (c == 2) {
        tern_cpu_wmat_free(w);
        return tern_err(err, errlen,
                    "tern_cpu_wmat_from_codes2: code %zu (k %zu, n %zu) is the reserved code 10, "
                    "expected 00, 01 or 11",
                    i, kk, nn);
      }
      if (c) wmat_set(w, nn, kk, c == 1 ? 1 : -1);
    }
  return 0;
}

void tern_cpu_wmat_free(tern_cpu_wmat *w) {
  if (!w) return;
  free(w->data);
  memset(w, 0, sizeof *w);
}

void tern_cpu_wmat_unpack(const tern_cpu_wmat *w, int8_t *codes) {
  for (size_t i = 0; i < w->n; i++)
    for (size_t j = 0; j < w->k; j++) codes[i * w->k + j] = (int8_t)tern_cpu_wmat_get(w, i, j);
}

/* ---- variants ----------------------------------------------------------------- */

static const char *const variant_names[TERN_CPU_NVARIANTS] = {"auto",     "portable",
                                                               "avx2",     "avxvnni",
                                                               "avx512bw", "avx512vnni"};

const char *tern_cpu_variant_name(tern_cpu_variant v) {
  if ((int)v < 0 || v >= TERN_CPU_NVARIANTS) return "?";
  return variant_names[v];
}

int tern_cpu_variant_parse(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < TERN_CPU_NVARIANTS; i++)
    if (strcmp(name, variant_names[i]) == 0) return i;
  return -1;
}

int tern_cpu_variant_supported(tern_cpu_variant v) {
  switch (v) {
  case TERN_CPU_AUTO:
  case TERN_CPU_PORTABLE: return 1;
  default: return tern_cpu_x86_supported((int)v);
  }
}

tern_cpu_variant tern_cpu_variant_best(void) {
  static const tern_cpu_variant order[] = {TERN_CPU_AVX512VNNI, TERN_CPU_AVX512BW,
                                           TERN_CPU_AVXVNNI, TERN_CPU_AVX2};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if (tern_cpu_variant_supported(order[i])) return order[i];
  return TERN_CPU_PORTABLE;
}

int tern_cpu_variant_resolve(tern_cpu_variant v, char *err, size_t errlen) {
  if ((int)v < 0 || v >= TERN_CPU_NVARIANTS)
    return tern_err(err, errlen, "cpu kernel: variant %d, expected 0..%d", (int)v,
                TERN_CPU_NVARIANTS - 1);
  if (v == TERN_CPU_AUTO) {
    const char *e = getenv("TERN_CPU_KERNEL");
    if (!e || !*e) return (int)tern_cpu_variant_best();
    int p = tern_cpu_variant_parse(e);
    if (p < 0)
      return tern_err(err, errlen,
                  "TERN_CPU_KERNEL='%s': unknown kernel, expected auto, portable, avx2, avxvnni, "
                  "avx512bw or avx512vnni",
                  e);
    if (p == TERN_CPU_AUTO) return (int)tern_cpu_variant_best();
    v = (tern_cpu_variant)p;
  }
  if (!tern_cpu_variant_supported(v))
    return tern_err(err, errlen, "cpu kernel '%s' is not supported by this CPU (best: %s)",
                tern_cpu_variant_name(v), tern_cpu_variant_name(tern_cpu_variant_best()));
  return (int)v;
}

/* ---- portable kernel ------------------------------------------------------------ */
/* Plain C, no intrinsics: per byte, four 2-bit offset codes u in {0,1,2};
 * acc += u * x over 64 lane accumulators (a fixed-length loop with no
 * dependence between lanes, which compilers vectorise when they can), then
 * y = sum(acc) - sum(x).  Same formulation as the SIMD kernels, exact. */
static void gemm_portable(const tern_cpu_wmat *w, const int8_t *xp, size_t m,
                          const int32_t *sumx, int32_t *y, size_t ldy) {
  const size_t nb = w->kp / TERN_CPU_KBLOCK;
  for (size_t n = 0; n < w->n; n++) {
    const uint8_t *wr = w->data + n * w->row_bytes;
    for (size_t i = 0; i < m; i++) {
      const int8_t *xr = xp + i * w->kp;
      int32_t lane[64] = {0};
      for (size_t b = 0; b < nb; b++) {
        const uint8_t *wb = wr + b * TERN_CPU_BLOCK_BYTES;
        const int8_t *xb = xr + b * TERN_CPU_KBLOCK;
        for (int s = 0; s < 4; s++)
          for (int j = 0; j < 64; j++)
            lane[j] += (int32_t)((wb[j] >> (2 * s)) & 3u) * (int32_t)xb[64 * s + j];
      }
      int32_t acc = 0;
      for (int j = 0; j < 64; j++) acc += lane[j];
      y[i * ldy + n] = acc - sumx[i];
    }
  }
}

/* ---- driver --------------------------------------------------------------------- */

int tern_cpu_gemm(tern_cpu_variant v, const tern_cpu_wmat *w, const int8_t *x, size_t m,
                  size_t ldx, int32_t *y, size_t ldy, char *err, size_t errlen) {
  if (!w || !w->data || w->n == 0 || w->k == 0 || w->kp % TERN_CPU_KBLOCK ||
      w->row_bytes != w->kp / 4 || w->kp < w->k)
    return tern_err(err, errlen, "cpu gemm: weight matrix is empty or not packed by tern_cpu_wmat_*");
  if (m == 0) return 0;
  if (!x || !y) return tern_err(err, errlen, "cpu gemm: NULL %s", !x ? "activations" : "output");
  if (ldx < w->k)
    return tern_err(err, errlen, "cpu gemm: ldx = %zu, expected >= K = %zu", ldx, w->k);
  if (ldy < w->n)
    return tern_err(err, errlen, "cpu gemm: ldy = %zu, expected >= N = %zu", ldy, w->n);
  if (m > ((size_t)1 << 40) / w->kp)
    return tern_err(err, errlen, "cpu gemm: M = %zu too large for K = %zu", m, w->k);
  int rv = tern_cpu_variant_resolve(v, err, errlen);
  if (rv < 0) return -1;

  /* Activations copied into zero-padded, 64-byte aligned rows of kp bytes,
   * so the kernels never read past the caller's buffers. */
  size_t xbytes = m * w->kp;
  int8_t *xp = aligned_alloc(64, xbytes);
  int32_t *sumx = malloc(m * sizeof *sumx);
  if (!xp || !sumx) {
    free(xp);
    free(sumx);
    return tern_err(err, errlen, "cpu gemm: out of memory for %zu padded activation bytes", xbytes);
  }
  for (size_t i = 0; i < m; i++) {
    const int8_t *xr = x + i * ldx;
    int8_t *d = xp + i * w->kp;
    int32_t s = 0;
    for (size_t k = 0; k < w->k; k++) s += xr[k];
    memcpy(d, xr, w->k);
    memset(d + w->k, 0, w->kp - w->k);
    sumx[i] = s;
  }
  if (rv == TERN_CPU_PORTABLE)
    gemm_portable(w, xp, m, sumx, y, ldy);
  else
    tern_cpu_x86_gemm(rv, w, xp, m, sumx, y, ldy);
  free(xp);
  free(sumx);
  return 0;
}

int tern_cpu_gemv(tern_cpu_variant v, const tern_cpu_wmat *w, const int8_t *x, int32_t *y,
                  char *err, size_t errlen) {
  return tern_cpu_gemm(v, w, x, 1, w ? w->k : 0, y, w ? w->n : 0, err, errlen);
}
