/* IEEE binary16 and bfloat16 <-> float32: include/tern/half.h. */
#include "tern/half.h"

#include <string.h>

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

float tern_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13)); /* inf, NaN (payload kept) */
  if (e) return bits_f32(sign | ((e + 112) << 23) | (m << 13));   /* normal: rebias 15 -> 127 */
  if (!m) return bits_f32(sign);                                  /* +-0 */
  uint32_t s = 0;                                                 /* subnormal m * 2^-24 */
  while (!(m & 0x400)) {
    m <<= 1;
    s++;
  }
  return bits_f32(sign | ((113 - s) << 23) | ((m & 0x3ff) << 13));
}

uint16_t tern_f32_to_f16(float f) {
  uint32_t u = f32_bits(f), a = u & 0x7fffffffu;
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff)); /* quiet NaN */
  if (a >= 0x38800000u) { /* >= 2^-14: a normal fp16 unless it rounds past 65504 */
    uint32_t e = (a >> 23) - 112;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    uint32_t h = (e << 10) | ((a >> 13) & 0x3ff), rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* carries into the exponent, up to inf */
    return (uint16_t)(sign | h);
  }
  if (a <= 0x33000000u) return sign; /* <= 2^-25: rounds (ties to even) to zero */
  uint32_t m = (a & 0x7fffff) | 0x800000, shift = 126 - (a >> 23); /* 14..24 */
  uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

float tern_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t tern_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);                 /* nearest even */
}

