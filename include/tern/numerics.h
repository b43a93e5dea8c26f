/* Integer numerics of tern (docs/NUMERICS.md).  ONE implementation of each
 * operation; the integer reference (models/), the ISA simulator (sim/) and
 * the compiler's constant folding (compiler/) all call these.  The RTL
 * implements the same definitions and is checked bit for bit. */
#ifndef TERN_NUMERICS_H
#define TERN_NUMERICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scalar primitives (exact definitions) ---------------------------- */

/* Saturate an int64 to int32. */
int32_t tern_sat32(int64_t v);
/* Round-half-up arithmetic right shift: s == 0 ? v : (v + 2^(s-1)) >> s.
 * s in 0..62. (v + 2^(s-1) is computed without overflow for |v| < 2^62.) */
int64_t tern_rshift_round(int64_t v, int s);
/* Saturating int64 add. */
int64_t tern_add_sat64(int64_t a, int64_t b);
/* floor(sqrt(v)) for v >= 0. */
uint64_t tern_isqrt64(uint64_t v);

/* Ternary weight codes (2 bits): 0 -> 0, 1 -> +1, 3 -> -1, 2 -> 0 (reserved). */
#define TERN_W_ZERO 0u
#define TERN_W_POS 1u
#define TERN_W_NEG 3u
int tern_wcode_value(unsigned code);
unsigned tern_wcode_of(int v); /* v in {-1,0,1} */

/* ---- vector-unit operations, one lane ---------------------------------- */
/* Element-wise: dst = f(a, b).  LUT uses tern_lut_index and a table. */
int32_t tern_v_add(int32_t a, int32_t b);    /* sat32(a + b) */
int32_t tern_v_sub(int32_t a, int32_t b);    /* sat32(a - b) */
int32_t tern_v_max(int32_t a, int32_t b);
int32_t tern_v_min(int32_t a, int32_t b);
int32_t tern_v_mulshr(int32_t a, int32_t b, int shift); /* sat32(rshift_round(a*b, shift)) */
int8_t tern_v_quant(int32_t a, int32_t b, int shift);   /* clamp(rshift_round(a*b,shift),-128,127) */
int tern_lut_index(int32_t a, int shift);               /* clamp((a >> shift) + 128, 0, 255), floor shift */
/* Scalar ops (lane 0): */
/* num = min(max(b,0) * 2^shift, 2^63-1) (saturating), shift 0..62 */
int32_t tern_v_recip(int32_t a, int32_t b, int shift); /* sat32(floor(num / max(a,1))) */
int32_t tern_v_rsqrt(int32_t a, int32_t b, int shift); /* sat32(isqrt(floor(num / max(a,1)))) */
/* Row reductions over n values: */
int32_t tern_r_sum(const int32_t *a, size_t n, size_t stride, int shift);   /* sat32(rshift_round(sat64 sum, shift)) */
int32_t tern_r_sumsq(const int32_t *a, size_t n, size_t stride, int shift); /* sat32(rshift_round(sat64 sum of a*a, shift)) */
int32_t tern_r_maxabs(const int32_t *a, size_t n, size_t stride);           /* min(max |a|, INT32_MAX) */

/* ---- BitNet b1.58 quantisation (docs/NUMERICS.md) ---------------------- */

/* Fixed-point formats. */
#define TERN_FX 12          /* residual stream and activations: Q(TERN_FX) int32 */
#define TERN_QSHIFT 30      /* activation quantisation: q = quant(u, R, 30) */
#define TERN_AMIN 64        /* absmax floor in Q12 LSBs (BitNet's clamp(min=eps)) */
#define TERN_LUT_SHIFT 8    /* LUT index = (x >> 8) + 128: 1/16 steps over [-8, 8) */
#define TERN_SIGMOID_FRAC 15 /* sigmoid table entries in Q15 */

/* Absmean ternarisation of a float matrix (n values): beta = max(mean|W|, 1e-5),
 * code = clamp(round(W / beta), -1, 1) (round half away from zero).
 * Writes codes as {-1,0,1} ints; returns beta. */
float tern_ternarize(const float *w, size_t n, int8_t *q);

/* Per-token activation quantisation parameters from a row's absmax A
 * (Q12 LSBs): R = recip(max(A, TERN_AMIN), 127, TERN_QSHIFT). */
int32_t tern_act_recip(int32_t amax);

/* BitLinear scale constant (docs/NUMERICS.md): beta_frac = the largest integer
 * <= 62 with round(beta/127 * 2^beta_frac) < 2^30 (in double), *beta_c that
 * value.  Returns beta_frac, or -1 if beta is not finite and > 0 (or even
 * 2^0 gives >= 2^30). */
int tern_beta_const(float beta, int32_t *beta_c);

/* Real value to Q(TERN_FX), round half away from zero, saturating. */
int32_t tern_to_fx(float x);
float tern_from_fx(int32_t x);

/* The 256-entry sigmoid table used by SiLU: entry i = round(sigmoid(((i-128)+0.5)/16) * 2^15),
 * computed in double; no entry lies near a rounding tie (tested), so any
 * correctly working exp() gives the same bits.  The table is part of the
 * program's DRAM image: the RTL never recomputes it. */
void tern_sigmoid_table(int32_t table[256]);


/* ---- proposed ISA v2 vector op (issue 3, docs/NUMERICS.md "Transformer
 * operations (integer, v2)") ------------------------------------------------ */

/* DOT8 (proposed ISA v2 vector op): int8 x int8 dot product of n pairs,
 * a[i*sa] * b[i*sb], summed exactly (int64) and saturated to int32.  With
 * n <= 131071 the exact sum always fits an int32 accumulator (|a*b| <= 2^14),
 * so the hardware needs no saturation logic in that range.  Used for the
 * activation-by-activation products (Q.K^T, P.V) and the 8-bit LM head. */
int32_t tern_v_dot8(const int8_t *a, size_t sa, const int8_t *b, size_t sb, size_t n);

/* MAC8 (ISA v2 VOP 13, docs/ISA.md), one output lane:
 * sat32(acc + sum_{k<n} a[k*sa] * b[k*sb]) with int8 a, b, the sum exact (int64).
 * The ISA simulator calls it with acc = 0 (MODE set) or the old ACC lane
 * (MODE acc), a = the scalar stream (bytes of OUT from word SRC2 on, sa = 1),
 * b = byte l of the B words (sb = SRC_RS * C).  For n <= 4095 (the ROWS field)
 * |sum| < 2^26, so with acc = 0 it equals tern_v_dot8 and never saturates. */
int32_t tern_v_mac8(int32_t acc, const int8_t *a, size_t sa, const int8_t *b, size_t sb,
                    size_t n);

#ifdef __cplusplus
}
#endif
#endif
