/* Integer numerics of tern: the one definition of every primitive
 * (include/tern/numerics.h, docs/NUMERICS.md, docs/ISA.md "Semantics").
 *
 * Everything here is exact integer arithmetic on int64/uint64 and never
 * relies on implementation-defined behaviour of signed shifts or on signed
 * overflow: floor shifts of negative numbers are written as ~(~v >> s). */
#include "tern/numerics.h"

#include <math.h>

/* floor(v / 2^s) for any int64 v, s in 0..63. */
static int64_t floor_shift64(int64_t v, int s) {
  if (s <= 0) return v;
  if (s > 63) s = 63;
  if (v >= 0) return (int64_t)((uint64_t)v >> s);
  return ~(int64_t)((uint64_t)~v >> s);
}

int32_t tern_sat32(int64_t v) {
  if (v > INT32_MAX) return INT32_MAX;
  if (v < INT32_MIN) return INT32_MIN;
  return (int32_t)v;
}

/* (v + 2^(s-1)) >> s == floor(v / 2^s) + bit (s-1) of v: exact for every
 * int64 v, no intermediate overflow. */
int64_t tern_rshift_round(int64_t v, int s) {
  if (s <= 0) return v;
  if (s > 63) s = 63;
  int64_t q = floor_shift64(v, s);
  int64_t half = (int64_t)(((uint64_t)v >> (s - 1)) & 1u);
  return q + half;
}

int64_t tern_add_sat64(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

uint64_t tern_isqrt64(uint64_t v) {
  /* bit-by-bit (digit) method: exact floor(sqrt(v)) */
  uint64_t res = 0;
  uint64_t bit = (uint64_t)1 << 62;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= res + bit) {
      v -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  return res;
}

int tern_wcode_value(unsigned code) {
  switch (code & 3u) {
    case TERN_W_POS: return 1;
    case TERN_W_NEG: return -1;
    default: return 0; /* 00 and the reserved 10 */
  }
}

unsigned tern_wcode_of(int v) {
  if (v > 0) return TERN_W_POS;
  if (v < 0) return TERN_W_NEG;
  return TERN_W_ZERO;
}

/* ---- vector unit -------------------------------------------------------- */

int32_t tern_v_add(int32_t a, int32_t b) { return tern_sat32((int64_t)a + (int64_t)b); }

int32_t tern_v_sub(int32_t a, int32_t b) { return tern_sat32((int64_t)a - (int64_t)b); }

int32_t tern_v_max(int32_t a, int32_t b) { return a > b ? a : b; }
int32_t tern_v_min(int32_t a, int32_t b) { return a < b ? a : b; }

int32_t tern_v_mulshr(int32_t a, int32_t b, int shift) {
  return tern_sat32(tern_rshift_round((int64_t)a * (int64_t)b, shift));
}

int8_t tern_v_quant(int32_t a, int32_t b, int shift) {
  int64_t v = tern_rshift_round((int64_t)a * (int64_t)b, shift);
  if (v > 127) v = 127;
  if (v < -128) v = -128;
  return (int8_t)v;
}

int tern_lut_index(int32_t a, int shift) {
  int64_t i = floor_shift64(a, shift) + 128;
  if (i < 0) i = 0;
  if (i > 255) i = 255;
  return (int)i;
}

/* num = min(max(b,0) * 2^shift, 2^63-1), computed without overflow. */
static uint64_t scalar_num(int32_t b, int shift) {
  if (b <= 0) return 0;
  if (shift < 0) shift = 0;
  if (shift >= 63) return (uint64_t)INT64_MAX;
  uint64_t ub = (uint64_t)b;
  if (ub > ((uint64_t)INT64_MAX >> shift)) return (uint64_t)INT64_MAX;
  return ub << shift;
}

int32_t tern_v_recip(int32_t a, int32_t b, int shift) {
  uint64_t num = scalar_num(b, shift);
  uint64_t den = a < 1 ? 1u : (uint64_t)a;
  uint64_t q = num / den;
  return q > (uint64_t)INT32_MAX ? INT32_MAX : (int32_t)q;
}

int32_t tern_v_rsqrt(int32_t a, int32_t b, int shift) {
  uint64_t num = scalar_num(b, shift);
  uint64_t den = a < 1 ? 1u : (uint64_t)a;
  uint64_t r = tern_isqrt64(num / den);
  return r > (uint64_t)INT32_MAX ? INT32_MAX : (int32_t)r;
}

/* ---- reductions ---------------------------------------------------------- */

int32_t tern_r_sum(const int32_t *a, size_t n, size_t stride, int shift) {
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s = tern_add_sat64(s, a[i * stride]);
  return tern_sat32(tern_rshift_round(s, shift));
}

int32_t tern_r_sumsq(const int32_t *a, size_t n, size_t stride, int shift) {
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t v = a[i * stride];
    s = tern_add_sat64(s, v * v); /* |v*v| <= 2^62: no overflow */
  }
  return tern_sat32(tern_rshift_round(s, shift));
}

int32_t tern_r_maxabs(const int32_t *a, size_t n, size_t stride) {
  int64_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t v = a[i * stride];
    if (v < 0) v = -v;
    if (v > m) m = v;
  }
  return m > INT32_MAX ? INT32_MAX : (int32_t)m;
}

/* ---- BitNet b1.58 quantisation ------------------------------------------ */

/* round half away from zero, as C's roundf/round */
float tern_ternarize(const float *w, size_t n, int8_t *q) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += fabs((double)w[i]);
  float beta = n ? (float)(s / (double)n) : 0.0f;
  if (!(beta >= 1e-5f)) beta = 1e-5f; /* also catches NaN */
  for (size_t i = 0; i < n; i++) {
    float r = roundf(w[i] / beta);
    q[i] = (int8_t)(r > 1.0f ? 1 : (r < -1.0f ? -1 : (int)r));
  }
  return beta;
}

int32_t tern_act_recip(int32_t amax) {
  return tern_v_recip(tern_v_max(amax, TERN_AMIN), 127, TERN_QSHIFT);
}

int32_t tern_to_fx(float x) {
  if (isnan(x)) return 0;
  double v = round((double)x * (double)(1 << TERN_FX));
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

float tern_from_fx(int32_t x) { return (float)((double)x / (double)(1 << TERN_FX)); }

/* entry i = round(sigmoid(((i-128)+0.5)/16) * 2^15), in double.  The
 * arguments are exact binary fractions in [-8, 8); the products are never
 * within 1e-6 of a .5 tie (checked by tests/test_numerics.cc), so any
 * faithfully rounded exp() gives the same table.  The table is part of the
 * program's DRAM image: nothing downstream recomputes it. */
void tern_sigmoid_table(int32_t table[256]) {
  for (int i = 0; i < 256; i++) {
    double x = ((double)(i - 128) + 0.5) / 16.0;
    double s = 1.0 / (1.0 + exp(-x));
    table[i] = (int32_t)floor(s * (double)(1 << TERN_SIGMOID_FRAC) + 0.5);
  }
}

/* ---- proposed ISA v2 vector op ------------------------------------------- */

int32_t tern_v_dot8(const int8_t *a, size_t sa, const int8_t *b, size_t sb, size_t n) {
  int64_t s = 0; /* |sum| <= n * 2^14: no int64 overflow for any size_t n < 2^49 */
  for (size_t i = 0; i < n; i++) s += (int64_t)a[i * sa] * (int64_t)b[i * sb];
  return tern_sat32(s);
}

int32_t tern_v_mac8(int32_t acc, const int8_t *a, size_t sa, const int8_t *b, size_t sb,
                    size_t n) {
  int64_t s = acc; /* |acc| < 2^31 plus |sum| <= n * 2^14: exact in int64 for n < 2^48 */
  for (size_t k = 0; k < n; k++) s += (int64_t)a[k * sa] * (int64_t)b[k * sb];
  return tern_sat32(s);
}

int tern_beta_const(float beta, int32_t *beta_c) {
  double b = (double)beta / 127.0;
  if (!(isfinite(b) && b > 0.0)) return -1;
  for (int s = 62; s >= 0; s--) {
    double c = round(ldexp(b, s));
    if (c < 1073741824.0) {
      *beta_c = (int32_t)c;
      return s;
    }
  }
  return -1;
}
