// CPU backend ternary GEMV/GEMM kernels (include/tern/cpu_kernels.h): every
// variant this CPU supports against a naive reference and against the
// portable kernel, bit for bit; packers; errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tern/cpu_kernels.h"

namespace {

struct Wmat {
  tern_cpu_wmat w{};
  ~Wmat() { tern_cpu_wmat_free(&w); }
};

std::vector<tern_cpu_variant> supported_variants() {
  std::vector<tern_cpu_variant> v;
  for (int i = TERN_CPU_PORTABLE; i < TERN_CPU_NVARIANTS; i++)
    if (tern_cpu_variant_supported((tern_cpu_variant)i)) v.push_back((tern_cpu_variant)i);
  return v;
}

// Naive reference: y[i][n] = sum_k x[i][k] * w[n][k] in int64, checked to fit int32.
std::vector<int32_t> naive(const std::vector<int8_t> &w, size_t n, size_t k,
                           const std::vector<int8_t> &x, size_t m) {
  std::vector<int32_t> y(m * n);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      int64_t s = 0;
      for (size_t kk = 0; kk < k; kk++) s += (int64_t)x[i * k + kk] * w[j * k + kk];
      EXPECT_EQ(s, (int64_t)(int32_t)s);
      y[i * n + j] = (int32_t)s;
    }
  return y;
}

enum WKind { W_RANDOM, W_ZERO, W_PLUS, W_MINUS, W_SPARSE };
enum XKind { X_RANDOM, X_MIN, X_MAX, X_ALT };

std::vector<int8_t> make_w(std::mt19937 &g, size_t n, size_t k, WKind kind) {
  std::vector<int8_t> w(n * k);
  std::uniform_int_distribution<int> d(-1, 1), sp(0, 9);
  for (auto &v : w) switch (kind) {
    case W_RANDOM: v = (int8_t)d(g); break;
    case W_ZERO: v = 0; break;
    case W_PLUS: v = 1; break;
    case W_MINUS: v = -1; break;
    case W_SPARSE: v = sp(g) == 0 ? (int8_t)(d(g) | 1) : 0; break;
  }
  return w;
}

std::vector<int8_t> make_x(std::mt19937 &g, size_t m, size_t k, XKind kind) {
  std::vector<int8_t> x(m * k);
  std::uniform_int_distribution<int> d(-128, 127);
  for (size_t i = 0; i < x.size(); i++) switch (kind) {
    case X_RANDOM: x[i] = (int8_t)d(g); break;
    case X_MIN: x[i] = -128; break;
    case X_MAX: x[i] = 127; break;
    case X_ALT: x[i] = (i % 2) ? 127 : -128; break;
  }
  return x;
}

// Checks every supported variant (GEMM with m vectors, and GEMV per vector
// when m is small) against the naive reference and the portable kernel.
void check_all(const std::vector<int8_t> &w, size_t n, size_t k, const std::vector<int8_t> &x,
               size_t m, const std::string &what) {
  Wmat W;
  char err[256] = "";
  ASSERT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), n, k, err, sizeof err), 0) << err;
  std::vector<int32_t> ref = naive(w, n, k, x, m);
  std::vector<int32_t> port(m * n, 0x7eadbeef);
  ASSERT_EQ(tern_cpu_gemm(TERN_CPU_PORTABLE, &W.w, x.data(), m, k, port.data(), n, err, sizeof err), 0)
      << err;
  ASSERT_EQ(port, ref) << what << " portable vs naive";
  for (tern_cpu_variant v : supported_variants()) {
    std::vector<int32_t> y(m * n, 0x5a5a5a5a);
    ASSERT_EQ(tern_cpu_gemm(v, &W.w, x.data(), m, k, y.data(), n, err, sizeof err), 0) << err;
    ASSERT_EQ(y, port) << what << " " << tern_cpu_variant_name(v) << " gemm m=" << m
                       << " vs portable";
    if (m <= 3) {
      for (size_t i = 0; i < m; i++) {
        std::vector<int32_t> yv(n, 0x11111111);
        ASSERT_EQ(tern_cpu_gemv(v, &W.w, x.data() + i * k, yv.data(), err, sizeof err), 0) << err;
        ASSERT_EQ(0, memcmp(yv.data(), ref.data() + i * n, n * sizeof(int32_t)))
            << what << " " << tern_cpu_variant_name(v) << " gemv vector " << i;
      }
    }
  }
}

}  // namespace

TEST(CpuKernels, ReportsVariants) {
  // The portable kernel always runs; the best variant is supported.
  EXPECT_TRUE(tern_cpu_variant_supported(TERN_CPU_PORTABLE));
  EXPECT_TRUE(tern_cpu_variant_supported(tern_cpu_variant_best()));
  for (int i = 0; i < TERN_CPU_NVARIANTS; i++)
    EXPECT_EQ(tern_cpu_variant_parse(tern_cpu_variant_name((tern_cpu_variant)i)), i);
  EXPECT_EQ(tern_cpu_variant_parse("sse9"), -1);
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_TRUE(tern_cpu_variant_supported(TERN_CPU_AVX2));
  }
  if (__builtin_cpu_supports("avx512bw")) {
    EXPECT_TRUE(tern_cpu_variant_supported(TERN_CPU_AVX512BW));
  }
#endif
}

TEST(CpuKernels, PackRoundTripAndLayout) {
  std::mt19937 g(1);
  for (size_t k : {1, 3, 64, 255, 256, 257, 700}) {
    for (size_t n : {1, 5, 17}) {
      auto w = make_w(g, n, k, W_RANDOM);
      Wmat W;
      char err[256];
      ASSERT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), n, k, err, sizeof err), 0) << err;
      EXPECT_EQ(W.w.kp % TERN_CPU_KBLOCK, 0u);
      EXPECT_GE(W.w.kp, k);
      EXPECT_LT(W.w.kp - k, (size_t)TERN_CPU_KBLOCK);
      EXPECT_EQ(W.w.row_bytes, W.w.kp / 4);
      EXPECT_EQ((uintptr_t)W.w.data % 64, 0u);
      std::vector<int8_t> back(n * k, 9);
      tern_cpu_wmat_unpack(&W.w, back.data());
      EXPECT_EQ(back, w);
      // The documented layout: block b, byte j, bits 2s+1:2s hold u = w + 1
      // for k = 256b + 64s + j; padding holds u = 1.
      for (size_t r = 0; r < n; r++)
        for (size_t kk = 0; kk < W.w.kp; kk++) {
          size_t b = kk / 256, s = (kk % 256) / 64, j = kk % 64;
          unsigned u = (W.w.data[r * W.w.row_bytes + b * 64 + j] >> (2 * s)) & 3u;
          ASSERT_EQ((int)u, kk < k ? w[r * k + kk] + 1 : 1) << "row " << r << " k " << kk;
        }
      // K x N packer and the 2-bit WBUF-code converter give the same matrix.
      std::vector<int8_t> kn(k * n);
      std::vector<uint8_t> c2((k * n + 3) / 4, 0);
      for (size_t r = 0; r < n; r++)
        for (size_t kk = 0; kk < k; kk++) {
          int v = w[r * k + kk];
          kn[kk * n + r] = (int8_t)v;
          size_t i = kk * n + r;
          unsigned code = v == 0 ? 0u : v == 1 ? 1u : 3u;
          c2[i / 4] = (uint8_t)(c2[i / 4] | (code << (2 * (i % 4))));
        }
      Wmat W2, W3;
      ASSERT_EQ(tern_cpu_wmat_pack_kn(&W2.w, kn.data(), k, n, err, sizeof err), 0) << err;
      ASSERT_EQ(tern_cpu_wmat_from_codes2(&W3.w, c2.data(), k, n, err, sizeof err), 0) << err;
      ASSERT_EQ(0, memcmp(W.w.data, W2.w.data, n * W.w.row_bytes));
      ASSERT_EQ(0, memcmp(W.w.data, W3.w.data, n * W.w.row_bytes));
    }
  }
}

TEST(CpuKernels, PackRejectsBadInput) {
  char err[256] = "";
  Wmat W;
  std::vector<int8_t> w = {0, 1, -1, 2, 0, 0};
  EXPECT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), 2, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("code[3] (row 1, col 0) = 2"), std::string::npos) << err;
  EXPECT_EQ(W.w.data, nullptr);
  EXPECT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), 0, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("N = 0"), std::string::npos) << err;
  EXPECT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), 2, 0, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("K = 0"), std::string::npos) << err;
  EXPECT_EQ(tern_cpu_wmat_pack(&W.w, nullptr, 2, 3, err, sizeof err), -1);
  uint8_t c2[2] = {0x02, 0x00}; // code 0 = 10 (reserved)
  EXPECT_EQ(tern_cpu_wmat_from_codes2(&W.w, c2, 2, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("reserved code 10"), std::string::npos) << err;
  w[3] = -2;
  EXPECT_EQ(tern_cpu_wmat_pack_kn(&W.w, w.data(), 2, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("(k 1, n 0) = -2"), std::string::npos) << err;
}

TEST(CpuKernels, GemmRejectsBadArguments) {
  char err[256] = "";
  std::vector<int8_t> w(4 * 5, 1), x(10, 1);
  std::vector<int32_t> y(20);
  Wmat W;
  ASSERT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), 4, 5, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_cpu_gemm(TERN_CPU_PORTABLE, &W.w, x.data(), 2, 4, y.data(), 4, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("ldx = 4, expected >= K = 5"), std::string::npos) << err;
  EXPECT_EQ(tern_cpu_gemm(TERN_CPU_PORTABLE, &W.w, x.data(), 2, 5, y.data(), 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("ldy = 3, expected >= N = 4"), std::string::npos) << err;
  EXPECT_EQ(tern_cpu_gemv(TERN_CPU_PORTABLE, &W.w, nullptr, y.data(), err, sizeof err), -1);
  EXPECT_EQ(tern_cpu_gemv(TERN_CPU_PORTABLE, nullptr, x.data(), y.data(), err, sizeof err), -1);
  EXPECT_EQ(tern_cpu_gemv((tern_cpu_variant)42, &W.w, x.data(), y.data(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("variant 42"), std::string::npos) << err;
  // Forcing a variant through the environment: unknown names are errors.
  const char *old = getenv("TERN_CPU_KERNEL");
  std::string saved = old ? old : "";
  setenv("TERN_CPU_KERNEL", "sse9", 1);
  EXPECT_EQ(tern_cpu_gemv(TERN_CPU_AUTO, &W.w, x.data(), y.data(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("TERN_CPU_KERNEL='sse9'"), std::string::npos) << err;
  setenv("TERN_CPU_KERNEL", "portable", 1);
  EXPECT_EQ(tern_cpu_variant_resolve(TERN_CPU_AUTO, err, sizeof err), (int)TERN_CPU_PORTABLE);
  EXPECT_EQ(tern_cpu_gemv(TERN_CPU_AUTO, &W.w, x.data(), y.data(), err, sizeof err), 0) << err;
  for (int i = 0; i < 4; i++) EXPECT_EQ(y[i], 5);
  if (old) setenv("TERN_CPU_KERNEL", saved.c_str(), 1); else unsetenv("TERN_CPU_KERNEL");
  EXPECT_EQ(tern_cpu_variant_resolve(TERN_CPU_AUTO, err, sizeof err),
            old ? tern_cpu_variant_resolve((tern_cpu_variant)tern_cpu_variant_parse(saved.c_str()),
                                           err, sizeof err)
                : (int)tern_cpu_variant_best());
  for (int v = TERN_CPU_PORTABLE; v < TERN_CPU_NVARIANTS; v++)
    if (!tern_cpu_variant_supported((tern_cpu_variant)v)) {
      EXPECT_EQ(tern_cpu_gemv((tern_cpu_variant)v, &W.w, x.data(), y.data(), err, sizeof err), -1);
      EXPECT_NE(std::string(err).find("not supported"), std::string::npos) << err;
    }
}

TEST(CpuKernels, GemvRaggedShapesRandom) {
  std::mt19937 g(2024);
  const size_t ks[] = {1, 2, 15, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 513, 1000, 2049};
  const size_t ns[] = {1, 2, 3, 4, 5, 7, 9, 13, 33};
  for (size_t k : ks)
    for (size_t n : ns) {
      auto w = make_w(g, n, k, W_RANDOM);
      auto x = make_x(g, 1, k, X_RANDOM);
      check_all(w, n, k, x, 1, "K=" + std::to_string(k) + " N=" + std::to_string(n));
    }
}

TEST(CpuKernels, ExtremesAndUniformWeights) {
  std::mt19937 g(7);
  // K = 4099 with all +1/-1 weights and x = -128 gives |y| = 524672 per row;
  // the int16 block sums inside the AVX2/AVX-512BW kernels sit at their bound.
  for (size_t k : {1, 256, 1000, 4099})
    for (WKind wk : {W_ZERO, W_PLUS, W_MINUS, W_SPARSE, W_RANDOM})
      for (XKind xk : {X_MIN, X_MAX, X_ALT, X_RANDOM}) {
        size_t n = 6;
        auto w = make_w(g, n, k, wk);
        auto x = make_x(g, 2, k, xk);
        check_all(w, n, k, x, 2,
                  "K=" + std::to_string(k) + " wkind " + std::to_string(wk) + " xkind " +
                      std::to_string(xk));
      }
  // Spot values: all +1 weights and x = -128 sum to -128*K; all -1 and 127 to -127*K.
  Wmat W;
  char err[256];
  size_t k = 777;
  std::vector<int8_t> w(3 * k, 1), x(k, -128);
  ASSERT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), 3, k, err, sizeof err), 0);
  for (tern_cpu_variant v : supported_variants()) {
    int32_t y[3];
    ASSERT_EQ(tern_cpu_gemv(v, &W.w, x.data(), y, err, sizeof err), 0) << err;
    for (int i = 0; i < 3; i++) EXPECT_EQ(y[i], -128 * (int32_t)k) << tern_cpu_variant_name(v);
  }
}

TEST(CpuKernels, GemmAllM) {
  std::mt19937 g(99);
  for (size_t m = 1; m <= 70; m++) {
    size_t k = 1 + (m * 37) % 600, n = 1 + (m * 11) % 23;
    auto w = make_w(g, n, k, m % 5 == 0 ? W_SPARSE : W_RANDOM);
    auto x = make_x(g, m, k, m % 7 == 0 ? X_ALT : X_RANDOM);
    check_all(w, n, k, x, m, "M=" + std::to_string(m) + " K=" + std::to_string(k) + " N=" +
                                 std::to_string(n));
  }
}

TEST(CpuKernels, GemmStridesAndLargeRowChunks) {
  // ldx > K and ldy > N, and enough rows (N = 300, K = 1500) that the GEMM
  // splits N into several L2 chunks; y outside the N columns is untouched.
  std::mt19937 g(5);
  size_t m = 9, k = 1500, n = 300, ldx = 1520, ldy = 311;
  auto w = make_w(g, n, k, W_RANDOM);
  auto xd = make_x(g, m, k, X_RANDOM);
  std::vector<int8_t> x(m * ldx, 99);
  for (size_t i = 0; i < m; i++) memcpy(&x[i * ldx], &xd[i * k], k);
  std::vector<int32_t> ref = naive(w, n, k, xd, m);
  Wmat W;
  char err[256];
  ASSERT_EQ(tern_cpu_wmat_pack(&W.w, w.data(), n, k, err, sizeof err), 0);
  for (tern_cpu_variant v : supported_variants()) {
    std::vector<int32_t> y(m * ldy, -7);
    ASSERT_EQ(tern_cpu_gemm(v, &W.w, x.data(), m, ldx, y.data(), ldy, err, sizeof err), 0) << err;
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < ldy; j++)
        ASSERT_EQ(y[i * ldy + j], j < n ? ref[i * n + j] : -7)
            << tern_cpu_variant_name(v) << " i " << i << " j " << j;
  }
}
