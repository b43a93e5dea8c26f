/* SIMD ternary GEMV/GEMM kernels for x86-64: AVX2, AVX-VNNI, AVX-512BW and
 * AVX-512 VNNI, compiled with GCC target attributes (no -march flag) and
 * chosen at run time (runtime/cpu_kernels.c).  Layout and exactness argument:
 * include/tern/cpu_kernels.h.
 *
 * A "tile" computes R output rows for MV activation vectors over the whole K:
 * per 64-byte weight block it loads each row's packed bytes once, extracts
 * the four 2-bit slices (shift by 2s, mask 3 -> offset codes u in {0,1,2}),
 * and multiplies them with the matching 64 (or 32) activations of each vector:
 *   AVX2 / AVX-512BW:  vpmaddubsw(u, x) -> int16 pairs in [-512, 508], summed
 *                      over one block (8 or 4 of them: |.| <= 4096, no int16
 *                      overflow), then vpmaddwd(., 1) -> int32 accumulators;
 *   VNNI:              vpdpbusd(acc, u, x) straight into int32.
 * u is the unsigned operand and x the signed one, as both instructions want. */
#include <stddef.h>
#include <stdint.h>

#include "cpu_kernels_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include <cpuid.h>
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))
#define T_AVX2 __attribute__((target("avx2")))
#define T_AVXVNNI __attribute__((target("avx2,avxvnni")))
#define T_512BW __attribute__((target("avx512f,avx512bw")))
#define T_512VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* Software prefetch of the same block in the next row group: rows are read
 * R at a time, each a short page-sized stream, which the hardware prefetchers
 * pick up late; a hint never faults, so running past the matrix is harmless. */
#define PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

typedef void (*tile_fn)(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp, size_t nb,
                        int32_t *out);

/* ---- 256-bit ------------------------------------------------------------------ */

AI T_AVX2 int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

AI T_AVX2 void tile_avx2(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp, size_t nb,
                         int32_t *out, const int R, const int MV) {
  const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  __m256i acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) acc[r][q] = _mm256_setzero_si256();
  for (size_t b = 0; b < nb; b++) {
    __m256i a16[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++) a16[r][q] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256i wv[4];
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        wv[r] = _mm256_loadu_si256((const __m256i *)(w + r * rb + b * 64 + 32 * h));
        if (h == 0) PREFETCH(w + (R + r) * rb + b * 64);
      }
#pragma GCC unroll 4
      for (int s = 0; s < 4; s++) {
        __m256i xv[4];
#pragma GCC unroll 4
        for (int q = 0; q < MV; q++)
          xv[q] = _mm256_load_si256((const __m256i *)(xp + q * kp + b * 256 + 64 * s + 32 * h));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
          __m256i u = _mm256_and_si256(_mm256_srli_epi16(wv[r], 2 * s), m3);
#pragma GCC unroll 4
          for (int q = 0; q < MV; q++)
            a16[r][q] = _mm256_add_epi16(a16[r][q], _mm256_maddubs_epi16(u, xv[q]));
        }
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++)
        acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(a16[r][q], ones));
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) out[r * MV + q] = hsum256(acc[r][q]);
}

AI T_AVXVNNI int32_t hsum256v(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

AI T_AVXVNNI void tile_avxvnni(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp,
                               size_t nb, int32_t *out, const int R, const int MV) {
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256i acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) acc[r][q] = _mm256_setzero_si256();
  for (size_t b = 0; b < nb; b++) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256i wv[4];
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        wv[r] = _mm256_loadu_si256((const __m256i *)(w + r * rb + b * 64 + 32 * h));
        if (h == 0) PREFETCH(w + (R + r) * rb + b * 64);
      }
#pragma GCC unroll 4
      for (int s = 0; s < 4; s++) {
        __m256i xv[4];
#pragma GCC unroll 4
        for (int q = 0; q < MV; q++)
          xv[q] = _mm256_load_si256((const __m256i *)(xp + q * kp + b * 256 + 64 * s + 32 * h));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
          __m256i u = _mm256_and_si256(_mm256_srli_epi16(wv[r], 2 * s), m3);
#pragma GCC unroll 4
          for (int q = 0; q < MV; q++) acc[r][q] = _mm256_dpbusd_avx_epi32(acc[r][q], u, xv[q]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) out[r * MV + q] = hsum256v(acc[r][q]);
}

/* ---- 512-bit ------------------------------------------------------------------ */

AI T_512BW void tile_avx512bw(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp, size_t nb,
                           int32_t *out, const int R, const int MV) {
  const __m512i m3 = _mm512_set1_epi8(3), ones = _mm512_set1_epi16(1);
  __m512i acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) acc[r][q] = _mm512_setzero_si512();
  for (size_t b = 0; b < nb; b++) {
    __m512i a16[4][4], wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      wv[r] = _mm512_loadu_si512((const void *)(w + r * rb + b * 64));
      PREFETCH(w + (R + r) * rb + b * 64);
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++) a16[r][q] = _mm512_setzero_si512();
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
      __m512i xv[4];
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++)
        xv[q] = _mm512_load_si512((const void *)(xp + q * kp + b * 256 + 64 * s));
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        __m512i u = _mm512_and_si512(_mm512_srli_epi16(wv[r], 2 * s), m3);
#pragma GCC unroll 4
        for (int q = 0; q < MV; q++)
          a16[r][q] = _mm512_add_epi16(a16[r][q], _mm512_maddubs_epi16(u, xv[q]));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++)
        acc[r][q] = _mm512_add_epi32(acc[r][q], _mm512_madd_epi16(a16[r][q], ones));
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) out[r * MV + q] = _mm512_reduce_add_epi32(acc[r][q]);
}

AI T_512VNNI void tile_avx512vnni(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp,
                               size_t nb, int32_t *out, const int R, const int MV) {
  const __m512i m3 = _mm512_set1_epi8(3);
  __m512i acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) acc[r][q] = _mm512_setzero_si512();
  for (size_t b = 0; b < nb; b++) {
    __m512i wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      wv[r] = _mm512_loadu_si512((const void *)(w + r * rb + b * 64));
      PREFETCH(w + (R + r) * rb + b * 64);
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
      __m512i xv[4];
#pragma GCC unroll 4
      for (int q = 0; q < MV; q++)
        xv[q] = _mm512_load_si512((const void *)(xp + q * kp + b * 256 + 64 * s));
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        __m512i u = _mm512_and_si512(_mm512_srli_epi16(wv[r], 2 * s), m3);
#pragma GCC unroll 4
        for (int q = 0; q < MV; q++) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], u, xv[q]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < MV; q++) out[r * MV + q] = _mm512_reduce_add_epi32(acc[r][q]);
}

/* ---- instantiation: R in {1, RG}, MV in 1..4 ----------------------------------- */

#define INST(ISA, TGT, R, MV)                                                                \
  static TGT void ISA##_r##R##_m##MV(const uint8_t *w, size_t rb, const int8_t *xp, size_t kp, \
                                     size_t nb, int32_t *out) {                              \
    tile_##ISA(w, rb, xp, kp, nb, out, R, MV);                                               \
  }
#define INST_ISA(ISA, TGT, RG)                                                              \
  INST(ISA, TGT, 1, 1)                                                                       \
  INST(ISA, TGT, 1, 2)                                                                       \
  INST(ISA, TGT, 1, 3)                                                                       \
  INST(ISA, TGT, 1, 4)                                                                       \
  INST(ISA, TGT, RG, 1)                                                                      \
  INST(ISA, TGT, RG, 2)                                                                      \
  INST(ISA, TGT, RG, 3)                                                                      \
  INST(ISA, TGT, RG, 4)                                                                      \
  static const tile_fn ISA##_tiles[2][5] = {                                                 \
      {0, ISA##_r1_m1, ISA##_r1_m2, ISA##_r1_m3, ISA##_r1_m4},                               \
      {0, ISA##_r##RG##_m1, ISA##_r##RG##_m2, ISA##_r##RG##_m3, ISA##_r##RG##_m4}};

/* Row groups (RG): 2 rows on AVX2 / AVX-512BW (int32 accumulators plus int16
 * block sums), 4 rows with VNNI; see maxacc in drive() for the register limit. */
INST_ISA(avx2, T_AVX2, 2)
INST_ISA(avxvnni, T_AVXVNNI, 4)
INST_ISA(avx512bw, T_512BW, 2)
INST_ISA(avx512vnni, T_512VNNI, 4)

/* GEMV (MV = 1) uses the row-group tile for 4 rows where registers allow. */
/* maxacc: largest R*MV for which the RG-row tile is used; a group of mv
 * vectors with RG*mv > maxacc uses the 1-row tiles.  The values below were
 * picked by measurement (build/bench_cpu, GEMM M=64): limiting AVX2 to 4 and
 * AVX-VNNI to 8 was not faster (AVX-VNNI was 20 % slower), so none limits. */
static void drive(const tile_fn tiles[2][5], int RG, int maxacc, const tern_cpu_wmat *w,
                  const int8_t *xp, size_t m, const int32_t *sumx, int32_t *y, size_t ldy) {
  const size_t rb = w->row_bytes, kp = w->kp, nb = kp / 256, N = w->n;
  /* Rows per chunk: the chunk's packed weights (~64 KiB) stay in L2 while every
   * group of 4 activation vectors streams over them. */
  size_t chunk = m <= 4 ? N : (65536 / rb) / (size_t)RG * (size_t)RG;
  if (chunk < (size_t)RG) chunk = (size_t)RG;
  int32_t out[16];
  for (size_t n0 = 0; n0 < N; n0 += chunk) {
    size_t n1 = n0 + chunk < N ? n0 + chunk : N;
    for (size_t i0 = 0; i0 < m; i0 += 4) {
      int mv = (int)(m - i0 < 4 ? m - i0 : 4);
      const int8_t *xq = xp + i0 * kp;
      size_t n = n0;
      for (; RG * mv <= maxacc && n + (size_t)RG <= n1; n += (size_t)RG) {
        tiles[1][mv](w->data + n * rb, rb, xq, kp, nb, out);
        for (int r = 0; r < RG; r++)
          for (int q = 0; q < mv; q++)
            y[(i0 + (size_t)q) * ldy + n + (size_t)r] = out[r * mv + q] - sumx[i0 + (size_t)q];
      }
      for (; n < n1; n++) {
        tiles[0][mv](w->data + n * rb, rb, xq, kp, nb, out);
        for (int q = 0; q < mv; q++)
          y[(i0 + (size_t)q) * ldy + n] = out[q] - sumx[i0 + (size_t)q];
      }
    }
  }
}

/* AVX-VNNI (VEX-encoded VPDPBUSD): CPUID.(EAX=7,ECX=1):EAX bit 4 (Intel SDM
 * vol. 2A, "CPUID").  Asked directly because clang 14's __builtin_cpu_supports
 * does not know "avxvnni" (the fuzzing build is clang); the OS's saving of
 * the YMM state is checked by the "avx2" test it is paired with. */
static int has_avxvnni(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
  return (a >> 4) & 1u;
}

int tern_cpu_x86_supported(int v) {
  __builtin_cpu_init();
  switch (v) {
  case TERN_CPU_AVX2: return __builtin_cpu_supports("avx2") != 0;
  case TERN_CPU_AVXVNNI:
    return __builtin_cpu_supports("avx2") && has_avxvnni();
  case TERN_CPU_AVX512BW:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  case TERN_CPU_AVX512VNNI:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
  default: return 0;
  }
}

void tern_cpu_x86_gemm(int v, const tern_cpu_wmat *w, const int8_t *xp, size_t m,
                       const int32_t *sumx, int32_t *y, size_t ldy) {
  switch (v) {
  case TERN_CPU_AVX2: drive(avx2_tiles, 2, 8, w, xp, m, sumx, y, ldy); break;
  case TERN_CPU_AVXVNNI: drive(avxvnni_tiles, 4, 16, w, xp, m, sumx, y, ldy); break;
  case TERN_CPU_AVX512BW: drive(avx512bw_tiles, 2, 8, w, xp, m, sumx, y, ldy); break;
  case TERN_CPU_AVX512VNNI: drive(avx512vnni_tiles, 4, 16, w, xp, m, sumx, y, ldy); break;
  default: break; /* unreachable: the driver resolves the variant first */
  }
}

#else /* not x86-64 GCC: only the portable kernel */

int tern_cpu_x86_supported(int v) {
  (void)v;
  return 0;
}

void tern_cpu_x86_gemm(int v, const tern_cpu_wmat *w, const int8_t *xp, size_t m,
                       const int32_t *sumx, int32_t *y, size_t ldy) {
  (void)v, (void)w, (void)xp, (void)m, (void)sumx, (void)y, (void)ldy;
}

#endif
