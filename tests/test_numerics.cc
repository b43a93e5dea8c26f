// Known values for every integer primitive of models/numerics.c, with the
// edges: negative halves, saturation, shift 0, INT32_MIN, division by 0,
// isqrt neighbours, LUT index clamps, ternarisation and the sigmoid table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "tern/numerics.h"

TEST(Numerics, Sat32) {
  EXPECT_EQ(tern_sat32(0), 0);
  EXPECT_EQ(tern_sat32(INT32_MAX), INT32_MAX);
  EXPECT_EQ(tern_sat32((int64_t)INT32_MAX + 1), INT32_MAX);
  EXPECT_EQ(tern_sat32(INT32_MIN), INT32_MIN);
  EXPECT_EQ(tern_sat32((int64_t)INT32_MIN - 1), INT32_MIN);
  EXPECT_EQ(tern_sat32(INT64_MAX), INT32_MAX);
  EXPECT_EQ(tern_sat32(INT64_MIN), INT32_MIN);
}

TEST(Numerics, RshiftRoundHalfUp) {
  EXPECT_EQ(tern_rshift_round(5, 0), 5);
  EXPECT_EQ(tern_rshift_round(-5, 0), -5);
  EXPECT_EQ(tern_rshift_round(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(tern_rshift_round(-5, 1), -2);  // -2.5 -> -2 (half up, not away from 0)
  EXPECT_EQ(tern_rshift_round(-3, 1), -1);  // -1.5 -> -1
  EXPECT_EQ(tern_rshift_round(-1, 1), 0);   // -0.5 -> 0
  EXPECT_EQ(tern_rshift_round(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(tern_rshift_round(-6, 2), -1);  // -1.5 -> -1
  EXPECT_EQ(tern_rshift_round(6, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(tern_rshift_round(-9, 2), -2);  // -2.25 -> -2
  // no overflow at the int64 edges
  EXPECT_EQ(tern_rshift_round(INT64_MAX, 1), (int64_t)1 << 62);
  EXPECT_EQ(tern_rshift_round(INT64_MIN, 1), -((int64_t)1 << 62));
  EXPECT_EQ(tern_rshift_round(INT64_MAX, 62), 2);
  EXPECT_EQ(tern_rshift_round(INT64_MIN, 62), -2);
  EXPECT_EQ(tern_rshift_round(INT64_MIN, 63), -1);
}

TEST(Numerics, AddSat64) {
  EXPECT_EQ(tern_add_sat64(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(tern_add_sat64(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(tern_add_sat64(INT64_MAX, INT64_MIN), -1);
  EXPECT_EQ(tern_add_sat64(40, 2), 42);
}

TEST(Numerics, Isqrt64) {
  EXPECT_EQ(tern_isqrt64(0), 0u);
  EXPECT_EQ(tern_isqrt64(1), 1u);
  EXPECT_EQ(tern_isqrt64(2), 1u);
  EXPECT_EQ(tern_isqrt64(3), 1u);
  EXPECT_EQ(tern_isqrt64(4), 2u);
  EXPECT_EQ(tern_isqrt64(UINT64_MAX), 4294967295u);
  const uint64_t big = 4294967295ull * 4294967295ull;
  EXPECT_EQ(tern_isqrt64(big), 4294967295u);
  EXPECT_EQ(tern_isqrt64(big - 1), 4294967294u);
  for (uint64_t r : {2ull, 3ull, 1000ull, 65535ull, 65536ull, 3037000499ull, 123456789ull}) {
    EXPECT_EQ(tern_isqrt64(r * r), r);
    EXPECT_EQ(tern_isqrt64(r * r - 1), r - 1);
    EXPECT_EQ(tern_isqrt64(r * r + 1), r);
    EXPECT_EQ(tern_isqrt64(r * r + 2 * r), r);  // (r+1)^2 - 1
  }
}

TEST(Numerics, WeightCodes) {
  EXPECT_EQ(tern_wcode_value(0), 0);
  EXPECT_EQ(tern_wcode_value(1), 1);
  EXPECT_EQ(tern_wcode_value(3), -1);
  EXPECT_EQ(tern_wcode_value(2), 0);
  EXPECT_EQ(tern_wcode_of(-1), TERN_W_NEG);
  EXPECT_EQ(tern_wcode_of(0), TERN_W_ZERO);
  EXPECT_EQ(tern_wcode_of(1), TERN_W_POS);
}

TEST(Numerics, ElementWise) {
  EXPECT_EQ(tern_v_add(INT32_MAX, 1), INT32_MAX);  // saturates
  EXPECT_EQ(tern_v_add(-3, 5), 2);
  EXPECT_EQ(tern_v_sub(INT32_MIN, 1), INT32_MIN);  // saturates
  EXPECT_EQ(tern_v_sub(3, 5), -2);
  EXPECT_EQ(tern_v_add(INT32_MIN, -1), INT32_MIN);
  EXPECT_EQ(tern_v_add(INT32_MAX, INT32_MIN), -1);
  EXPECT_EQ(tern_v_sub(INT32_MAX, -1), INT32_MAX);
  EXPECT_EQ(tern_v_sub(0, INT32_MIN), INT32_MAX);
  EXPECT_EQ(tern_v_sub(-1, INT32_MIN), INT32_MAX);
  EXPECT_EQ(tern_v_max(-3, 5), 5);
  EXPECT_EQ(tern_v_max(INT32_MIN, -1), -1);
  EXPECT_EQ(tern_v_min(-3, 5), -3);
}

TEST(Numerics, Mulshr) {
  EXPECT_EQ(tern_v_mulshr(3, 4, 0), 12);
  EXPECT_EQ(tern_v_mulshr(INT32_MIN, INT32_MIN, 0), INT32_MAX);  // 2^62 saturates
  EXPECT_EQ(tern_v_mulshr(INT32_MIN, INT32_MAX, 0), INT32_MIN);
  EXPECT_EQ(tern_v_mulshr(INT32_MIN, INT32_MIN, 62), 1);
  EXPECT_EQ(tern_v_mulshr(INT32_MIN, INT32_MIN, 31), INT32_MAX);  // 2^31 saturates
  EXPECT_EQ(tern_v_mulshr(INT32_MIN, INT32_MIN, 32), 1 << 30);
  EXPECT_EQ(tern_v_mulshr(3, -1, 1), -1);  // -1.5 -> -1
  EXPECT_EQ(tern_v_mulshr(-1, 1, 1), 0);   // -0.5 -> 0
  EXPECT_EQ(tern_v_mulshr(1, 1, 1), 1);    // 0.5 -> 1
  EXPECT_EQ(tern_v_mulshr(4096, 4096, 12), 4096);  // 1.0 * 1.0 in Q12
  EXPECT_EQ(tern_v_mulshr(-6144, 6144, 12), -9216);  // -1.5 * 1.5
}

TEST(Numerics, Quant) {
  EXPECT_EQ(tern_v_quant(1000, 1, 0), 127);
  EXPECT_EQ(tern_v_quant(-1000, 1, 0), -128);
  EXPECT_EQ(tern_v_quant(-128, 1, 0), -128);
  EXPECT_EQ(tern_v_quant(-129, 1, 0), -128);
  EXPECT_EQ(tern_v_quant(128, 1, 0), 127);
  EXPECT_EQ(tern_v_quant(-3, 1, 1), -1);  // -1.5 -> -1
  EXPECT_EQ(tern_v_quant(3, 1, 1), 2);    // 1.5 -> 2
  EXPECT_EQ(tern_v_quant(INT32_MIN, INT32_MIN, 0), 127);
  // the activation quantiser: |u| <= A gives |q| <= 127
  const int32_t A = 123457, R = tern_act_recip(A);
  EXPECT_EQ(tern_v_quant(A, R, TERN_QSHIFT), 127);
  EXPECT_EQ(tern_v_quant(-A, R, TERN_QSHIFT), -127);
  EXPECT_EQ(tern_v_quant(0, R, TERN_QSHIFT), 0);
}

TEST(Numerics, LutIndex) {
  EXPECT_EQ(tern_lut_index(0, 8), 128);
  EXPECT_EQ(tern_lut_index(-1, 8), 127);  // floor(-1/256) = -1
  EXPECT_EQ(tern_lut_index(255, 8), 128);
  EXPECT_EQ(tern_lut_index(256, 8), 129);
  EXPECT_EQ(tern_lut_index(-256, 8), 127);
  EXPECT_EQ(tern_lut_index(-257, 8), 126);
  EXPECT_EQ(tern_lut_index(-32768, 8), 0);
  EXPECT_EQ(tern_lut_index(-32769, 8), 0);  // clamp low
  EXPECT_EQ(tern_lut_index(32767, 8), 255);
  EXPECT_EQ(tern_lut_index(32768, 8), 255);  // clamp high
  EXPECT_EQ(tern_lut_index(INT32_MIN, 8), 0);
  EXPECT_EQ(tern_lut_index(INT32_MAX, 8), 255);
  EXPECT_EQ(tern_lut_index(-128, 0), 0);
  EXPECT_EQ(tern_lut_index(-129, 0), 0);
  EXPECT_EQ(tern_lut_index(127, 0), 255);
  EXPECT_EQ(tern_lut_index(INT32_MIN, 31), 127);
  EXPECT_EQ(tern_lut_index(INT32_MAX, 31), 128);
  EXPECT_EQ(tern_lut_index(-1, 63), 127);
}

TEST(Numerics, Recip) {
  EXPECT_EQ(tern_v_recip(3, 10, 0), 3);
  EXPECT_EQ(tern_v_recip(0, 10, 0), 10);   // divisor max(a,1)
  EXPECT_EQ(tern_v_recip(-5, 10, 0), 10);  // divisor max(a,1)
  EXPECT_EQ(tern_v_recip(2, -7, 5), 0);    // numerator max(b,0)
  EXPECT_EQ(tern_v_recip(3, 1, 1), 0);     // floor(2/3)
  EXPECT_EQ(tern_v_recip(3, 2, 1), 1);     // floor(4/3)
  EXPECT_EQ(tern_v_recip(64, 127, 30), 127 << 24);
  EXPECT_EQ(tern_v_recip(1, 1, 30), 1 << 30);
  EXPECT_EQ(tern_v_recip(1, 1, 31), INT32_MAX);  // 2^31 saturates
  EXPECT_EQ(tern_v_recip(1, INT32_MAX, 62), INT32_MAX);
  EXPECT_EQ(tern_v_recip(INT32_MAX, INT32_MAX, 62), INT32_MAX);
  EXPECT_EQ(tern_v_recip(INT32_MAX, 1, 31), 1);  // 2^31 / (2^31-1)
  EXPECT_EQ(tern_act_recip(0), 127 << 24);       // floored at TERN_AMIN
  EXPECT_EQ(tern_act_recip(TERN_AMIN - 1), 127 << 24);
  EXPECT_EQ(tern_act_recip(INT32_MAX), 63);      // floor(127*2^30/(2^31-1))
  EXPECT_EQ(tern_act_recip(4096), (int32_t)((127ll << 30) / 4096));
}

TEST(Numerics, Rsqrt) {
  EXPECT_EQ(tern_v_rsqrt(1, 16, 0), 4);
  EXPECT_EQ(tern_v_rsqrt(1, 15, 0), 3);
  EXPECT_EQ(tern_v_rsqrt(1, 17, 0), 4);
  EXPECT_EQ(tern_v_rsqrt(0, 16, 0), 4);   // divisor max(a,1)
  EXPECT_EQ(tern_v_rsqrt(5, -16, 3), 0);  // numerator max(b,0)
  EXPECT_EQ(tern_v_rsqrt(4, 1, 60), 1 << 29);
  EXPECT_EQ(tern_v_rsqrt(1, 1, 62), INT32_MAX);  // isqrt(2^62) = 2^31 saturates
  EXPECT_EQ(tern_v_rsqrt(4, 1, 62), 1 << 30);
  // saturating numerator: 4*2^62 -> 2^63-1; (2^63-1)/(2^31-1) = 2^32+2; isqrt -> 65536
  EXPECT_EQ(tern_v_rsqrt(INT32_MAX, 4, 62), 65536);
  // RMSNorm use: S = 4096 (mean x^2 = 1.0 in Q12 with d = 2^L) -> r = 2^16
  EXPECT_EQ(tern_v_rsqrt(4096 >> 0, 256, 44 - 8), 65536);
}

TEST(Numerics, Reductions) {
  const int32_t a[] = {1, -2, 3, -4, 5, -6};
  EXPECT_EQ(tern_r_sum(a, 6, 1, 0), -3);
  EXPECT_EQ(tern_r_sum(a, 6, 1, 1), -1);  // -1.5 -> -1
  EXPECT_EQ(tern_r_sum(a, 3, 2, 0), 9);   // stride 2: 1+3+5
  EXPECT_EQ(tern_r_sumsq(a, 6, 1, 0), 91);
  EXPECT_EQ(tern_r_sumsq(a, 6, 1, 2), 23);  // 22.75 -> 23
  EXPECT_EQ(tern_r_maxabs(a, 6, 1), 6);
  EXPECT_EQ(tern_r_maxabs(a, 3, 2), 5);
  EXPECT_EQ(tern_r_maxabs(a, 0, 1), 0);
  const int32_t big[] = {INT32_MAX, INT32_MAX, INT32_MAX};
  EXPECT_EQ(tern_r_sum(big, 3, 1, 0), INT32_MAX);
  EXPECT_EQ(tern_r_sum(big, 3, 1, 2), (int32_t)((3ll * INT32_MAX + 2) >> 2));
  const int32_t mins[] = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
  EXPECT_EQ(tern_r_maxabs(mins, 4, 1), INT32_MAX);
  EXPECT_EQ(tern_r_sum(mins, 4, 1, 0), INT32_MIN);
  EXPECT_EQ(tern_r_sum(mins, 4, 1, 33), -1);
  // 4 * 2^62 = 2^64 saturates the int64 accumulator to 2^63-1 (wrapping would give 0)
  EXPECT_EQ(tern_r_sumsq(mins, 4, 1, 62), 2);
  EXPECT_EQ(tern_r_sumsq(mins, 1, 1, 62), 1);
}

TEST(Numerics, TernarizeHandExample) {
  const float w[] = {0.5f, -1.0f, 0.1f, 2.0f, -0.25f, 0.0f};
  int8_t q[6];
  float beta = tern_ternarize(w, 6, q);
  EXPECT_NEAR(beta, 3.85f / 6.0f, 1e-6f);
  const int8_t want[] = {1, -1, 0, 1, 0, 0};
  for (int i = 0; i < 6; i++) EXPECT_EQ(q[i], want[i]) << i;
  // halves round away from zero: beta = 1
  const float h[] = {1.5f, -0.5f, 0.5f, -1.0f, 0.49f, -1.01f};
  beta = tern_ternarize(h, 6, q);
  EXPECT_FLOAT_EQ(beta, 5.0f / 6.0f);
  const float h2[] = {0.5f, -0.5f, 1.0f, -2.0f};  // mean |.| = 1
  beta = tern_ternarize(h2, 4, q);
  EXPECT_FLOAT_EQ(beta, 1.0f);
  EXPECT_EQ(q[0], 1);
  EXPECT_EQ(q[1], -1);
  EXPECT_EQ(q[2], 1);
  EXPECT_EQ(q[3], -1);
  // all zero: beta clamps to 1e-5, codes 0
  const float z[] = {0.0f, 0.0f, 0.0f};
  beta = tern_ternarize(z, 3, q);
  EXPECT_FLOAT_EQ(beta, 1e-5f);
  for (int i = 0; i < 3; i++) EXPECT_EQ(q[i], 0);
}

TEST(Numerics, FixedPoint) {
  EXPECT_EQ(tern_to_fx(1.0f), 4096);
  EXPECT_EQ(tern_to_fx(-1.0f), -4096);
  EXPECT_EQ(tern_to_fx(0.5f / 4096.0f), 1);     // half away from zero
  EXPECT_EQ(tern_to_fx(-0.5f / 4096.0f), -1);
  EXPECT_EQ(tern_to_fx(0.49f / 4096.0f), 0);
  EXPECT_EQ(tern_to_fx(1e10f), INT32_MAX);
  EXPECT_EQ(tern_to_fx(-1e10f), INT32_MIN);
  EXPECT_EQ(tern_to_fx(INFINITY), INT32_MAX);
  EXPECT_EQ(tern_to_fx(NAN), 0);
  EXPECT_FLOAT_EQ(tern_from_fx(6144), 1.5f);
  EXPECT_FLOAT_EQ(tern_from_fx(-2048), -0.5f);
}

TEST(Numerics, SigmoidTable) {
  int32_t t[256];
  tern_sigmoid_table(t);
  for (int i = 0; i < 256; i++) {
    double x = ((i - 128) + 0.5) / 16.0;
    double v = 32768.0 / (1.0 + std::exp(-x));
    // not within 1e-6 of a rounding tie: the table is robust to libm differences
    EXPECT_GT(std::fabs(v - std::floor(v) - 0.5), 1e-6) << i;
    EXPECT_EQ(t[i], (int32_t)std::lround(v)) << i;
    EXPECT_EQ(t[i] + t[255 - i], 32768) << i;  // sigmoid(-x) = 1 - sigmoid(x)
    if (i) {
      EXPECT_GE(t[i], t[i - 1]) << i;
    }
  }
  EXPECT_EQ(t[128], 16640);  // sigmoid(1/32) * 2^15 = 16639.99...
  EXPECT_EQ(t[0], 11);       // sigmoid(-7.96875) * 2^15 = 11.3
  EXPECT_EQ(t[255], 32757);
}

// ---- proposed ISA v2: DOT8 (int8 x int8 dot product) ---------------------------------

TEST(Numerics, Dot8KnownValues) {
  const int8_t a[4] = {1, -2, 3, 127};
  const int8_t b[4] = {4, 5, -6, 127};
  EXPECT_EQ(tern_v_dot8(a, 1, b, 1, 4), 4 - 10 - 18 + 16129);
  EXPECT_EQ(tern_v_dot8(a, 1, b, 1, 0), 0);  // empty: 0
  EXPECT_EQ(tern_v_dot8(a, 1, b, 1, 1), 4);
  // strides: a column of a row-major 3x2 matrix
  const int8_t m[6] = {1, 10, 2, 20, 3, 30};
  const int8_t w[3] = {1, -1, 2};
  EXPECT_EQ(tern_v_dot8(w, 1, m + 1, 2, 3), 10 - 20 + 60);
  EXPECT_EQ(tern_v_dot8(m, 2, m, 2, 3), 1 + 4 + 9);
  // extremes: (-128)^2 is the largest product
  std::vector<int8_t> lo(131071, (int8_t)-128);
  EXPECT_EQ(tern_v_dot8(lo.data(), 1, lo.data(), 1, lo.size()), 131071 * 16384);  // < 2^31
  std::vector<int8_t> lo2(131072, (int8_t)-128);
  EXPECT_EQ(tern_v_dot8(lo2.data(), 1, lo2.data(), 1, lo2.size()), INT32_MAX);  // saturates
  std::vector<int8_t> hi(200000, (int8_t)127);
  EXPECT_EQ(tern_v_dot8(lo2.data(), 1, hi.data(), 1, 131072), -2130706432);  // -131072*16256
  std::vector<int8_t> big(140000, (int8_t)-128);
  EXPECT_EQ(tern_v_dot8(big.data(), 1, hi.data(), 1, big.size()), INT32_MIN);  // saturates low
}
