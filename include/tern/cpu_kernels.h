/* CPU backend: ternary matrix-vector (GEMV) and small matrix-matrix (GEMM)
 * kernels on int8 activations, exact in int32.
 *
 *   y[n] = sum_{k<K} x[k] * w[n][k]          x int8, w in {-1,0,+1}, y int32
 *
 * Every variant (portable C, AVX2, AVX-VNNI, AVX-512BW, AVX-512 VNNI) gives
 * the same bits: the arithmetic is exact integer arithmetic with no rounding
 * and no saturation (see "Exactness" below).
 *
 * ---- Packed weight layout (tern_cpu_wmat) --------------------------------
 * Row-major N x K, 2 bits per weight, 4 weights per byte.  Each row is padded
 * to Kp = round_up(K, 256) weights = Kp/4 bytes and is split into blocks of
 * 256 weights = 64 bytes.  Inside block b of row n, byte j (0..63) holds the
 * weights for k = 256*b + 64*s + j in bits 2s+1:2s (s = 0..3).  So shifting
 * a 64-byte (or 32-byte) vector of a block right by 2s and masking with 3
 * yields 64 (or 32) consecutive weights in the natural k order.
 * The 2-bit field holds the OFFSET code u = w + 1 (0 -> -1, 1 -> 0, 2 -> +1;
 * 3 never occurs), which is NOT the accelerator's WBUF code (00 0, 01 +1,
 * 11 -1); tern_cpu_wmat_from_codes2 converts.  Padding weights (k >= K) hold
 * u = 1 (w = 0).  Row n starts at data + n*row_bytes; data is 64-byte aligned.
 *
 * ---- Exactness ------------------------------------------------------------
 * The kernels compute sum_k u[k]*x[k] - sum_k x[k] (u unsigned in {0,1,2},
 * x signed int8), the form that vpmaddubsw / vpdpbusd take (first operand
 * unsigned bytes, second signed bytes).  A vpmaddubsw pair sum lies in
 * [-512, 508], so its int16 saturation never triggers; vpdpbusd (not the
 * saturating vpdpbusds) sums in wrapping int32, and the partial sums are
 * bounded by 256*K < 2^31 for K <= TERN_CPU_MAX_K, so nothing wraps.
 *
 * ---- Variant selection ------------------------------------------------------
 * TERN_CPU_AUTO picks the environment variable TERN_CPU_KERNEL if set
 * (portable, avx2, avxvnni, avx512bw, avx512vnni; an unknown or unsupported
 * name is an error reported by tern_cpu_variant_resolve), otherwise the
 * fastest variant the CPU supports (checked with __builtin_cpu_supports; the
 * SIMD code is compiled with GCC target attributes, no -march flag needed).
 */
#ifndef TERN_CPU_KERNELS_H
#define TERN_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_CPU_KBLOCK 256          /* weights per packed block */
#define TERN_CPU_BLOCK_BYTES 64      /* bytes per packed block */
#define TERN_CPU_MAX_K (1u << 22)    /* largest K (keeps 256*K < 2^31) */
#define TERN_CPU_MAX_N (1u << 26)

typedef enum tern_cpu_variant {
  TERN_CPU_AUTO = 0,
  TERN_CPU_PORTABLE = 1,   /* plain C11, no intrinsics */
  TERN_CPU_AVX2 = 2,       /* vpmaddubsw + vpmaddwd, 256-bit */
  TERN_CPU_AVXVNNI = 3,    /* vpdpbusd (VEX), 256-bit */
  TERN_CPU_AVX512BW = 4,   /* vpmaddubsw + vpmaddwd, 512-bit */
  TERN_CPU_AVX512VNNI = 5, /* vpdpbusd (EVEX), 512-bit */
  TERN_CPU_NVARIANTS = 6
} tern_cpu_variant;

typedef struct tern_cpu_wmat {
  size_t n, k;       /* output rows, input length */
  size_t kp;         /* K rounded up to a multiple of TERN_CPU_KBLOCK */
  size_t row_bytes;  /* kp / 4 */
  uint8_t *data;     /* n * row_bytes bytes, 64-byte aligned; owned */
} tern_cpu_wmat;

/* ---- packing (all return 0, or -1 with a message in err; w is left empty
 *      on error and must be released with tern_cpu_wmat_free either way) -- */
/* From int8 codes in {-1,0,1}, row-major N x K: codes[n*K + k]. */
int tern_cpu_wmat_pack(tern_cpu_wmat *w, const int8_t *codes, size_t n, size_t k, char *err,
                       size_t errlen);
/* From int8 codes in {-1,0,1}, row-major K x N: codes[k*N + n] (the layout of
 * tern_tmatrix in tern/mlp.h, BitLinear K -> N). */
int tern_cpu_wmat_pack_kn(tern_cpu_wmat *w, const int8_t *codes, size_t k, size_t n, char *err,
                          size_t errlen);
/* From 2-bit accelerator codes (docs/ISA.md WBUF layout, docs/NUMERICS.md
 * ternary2 tensors): a K x N row-major matrix, code i = k*N + n in bits
 * 2(i%4)+1:2(i%4) of byte i/4, 00 0, 01 +1, 11 -1, 10 rejected. */
int tern_cpu_wmat_from_codes2(tern_cpu_wmat *w, const uint8_t *codes2, size_t k, size_t n,
                              char *err, size_t errlen);
void tern_cpu_wmat_free(tern_cpu_wmat *w);
/* Weight value (-1, 0, 1) at row n, column k (no bounds check beyond assert). */
int tern_cpu_wmat_get(const tern_cpu_wmat *w, size_t n, size_t k);
/* Back to int8 codes, row-major N x K. */
void tern_cpu_wmat_unpack(const tern_cpu_wmat *w, int8_t *codes);

/* ---- variants ------------------------------------------------------------ */
const char *tern_cpu_variant_name(tern_cpu_variant v);
/* Name -> variant ("auto" allowed); -1 if unknown. */
int tern_cpu_variant_parse(const char *name);
/* 1 if this CPU can run v (AUTO and PORTABLE always 1). */
int tern_cpu_variant_supported(tern_cpu_variant v);
/* The best variant this CPU supports (ignores TERN_CPU_KERNEL). */
tern_cpu_variant tern_cpu_variant_best(void);
/* AUTO -> TERN_CPU_KERNEL or the best; any other value is checked.
 * Returns the concrete variant, or -1 with a message (unknown name in the
 * environment variable, variant not supported by this CPU). */
int tern_cpu_variant_resolve(tern_cpu_variant v, char *err, size_t errlen);

/* ---- kernels --------------------------------------------------------------- */
/* GEMV: y[n] = sum_k x[k] * w[n][k] for n < w->n; x has w->k int8 values.
 * Returns 0, or -1 with a message (bad arguments, unsupported variant, out of
 * memory). */
int tern_cpu_gemv(tern_cpu_variant v, const tern_cpu_wmat *w, const int8_t *x, int32_t *y,
                  char *err, size_t errlen);
/* GEMM for m activation vectors: x[i*ldx + k] (i < m, k < K),
 * y[i*ldy + n] = sum_k x[i*ldx + k] * w[n][k].  ldx >= K, ldy >= N. */
int tern_cpu_gemm(tern_cpu_variant v, const tern_cpu_wmat *w, const int8_t *x, size_t m,
                  size_t ldx, int32_t *y, size_t ldy, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
