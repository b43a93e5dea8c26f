// The model (models/mlp.c): config validation, the documented PRNG, weight
// files (round trip and corrupt files), the integer constants, a hand-checked
// integer forward pass, float vs integer agreement, determinism.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <string>
#include <vector>

#include "tern/mlp.h"
#include "tern/numerics.h"

namespace {

std::string tmp_path(const char *name) {
  return std::string("/tmp/tern_test_mlp_") + std::to_string((long)getpid()) + "_" + name;
}

std::vector<unsigned char> read_all(const std::string &p) {
  std::vector<unsigned char> v;
  FILE *f = fopen(p.c_str(), "rb");
  if (!f) return v;
  int c;
  while ((c = fgetc(f)) != EOF) v.push_back((unsigned char)c);
  fclose(f);
  return v;
}

void write_all(const std::string &p, const std::vector<unsigned char> &v) {
  FILE *f = fopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!v.empty()) {
    ASSERT_EQ(fwrite(v.data(), 1, v.size(), f), v.size());
  }
  fclose(f);
}

void put32(std::vector<unsigned char> &v, size_t off, uint32_t x) {
  for (int i = 0; i < 4; i++) v[off + i] = (unsigned char)(x >> (8 * i));
}

void fix_crc(std::vector<unsigned char> &v) {
  uint32_t c = (uint32_t)crc32(0L, v.data(), (uInt)(v.size() - 4));
  put32(v, v.size() - 4, c);
}

bool same_model(const tern_mlp_model &a, const tern_mlp_model &b) {
  if (a.cfg.d != b.cfg.d || a.cfg.f != b.cfg.f || a.cfg.layers != b.cfg.layers ||
      a.cfg.act != b.cfg.act || a.cfg.seed != b.cfg.seed || a.cfg.eps != b.cfg.eps)
    return false;
  size_t d = a.cfg.d, f = a.cfg.f;
  for (int l = 0; l < a.cfg.layers; l++) {
    const tern_mlp_layer &x = a.layer[l], &y = b.layer[l];
    if (memcmp(x.g, y.g, d * sizeof(float)) || memcmp(x.w1.w, y.w1.w, d * f) ||
        memcmp(x.w2.w, y.w2.w, d * f) || x.w1.beta != y.w1.beta || x.w2.beta != y.w2.beta ||
        x.w1.k != y.w1.k || x.w1.n != y.w1.n || x.w2.k != y.w2.k || x.w2.n != y.w2.n)
      return false;
  }
  return true;
}

tern_mlp_config small_cfg(int d, int f, int layers, tern_act act, uint64_t seed) {
  tern_mlp_config c = tern_mlp_default_config();
  c.d = d;
  c.f = f;
  c.layers = layers;
  c.act = act;
  c.seed = seed;
  return c;
}

// The PRNG exactly as docs/NUMERICS.md describes it, written independently.
struct DocRng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double u() { return (double)(next() >> 11) / 9007199254740992.0; }
  double normal() {
    double u1 = 1.0 - u(), u2 = u();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
};

struct Stats {
  double cos = 0, max_abs = 0, rms_ref = 0;
};

Stats compare(const std::vector<float> &ref, const std::vector<float> &got) {
  double dot = 0, na = 0, nb = 0, mx = 0;
  for (size_t i = 0; i < ref.size(); i++) {
    dot += (double)ref[i] * got[i];
    na += (double)ref[i] * ref[i];
    nb += (double)got[i] * got[i];
    mx = std::max(mx, std::fabs((double)ref[i] - got[i]));
  }
  Stats s;
  s.cos = dot / std::sqrt(na * nb);
  s.max_abs = mx;
  s.rms_ref = std::sqrt(na / ref.size());
  return s;
}

// Runs both references on M seeded tokens; returns stats of the outputs and
// of the layers' contribution (out - x).
void float_vs_int(const tern_mlp_config &cfg, int M, Stats *out_stats, Stats *delta_stats) {
  char err[256];
  tern_mlp_model m;
  ASSERT_EQ(tern_mlp_generate(&cfg, &m, err, sizeof err), 0) << err;
  tern_qmlp q;
  ASSERT_EQ(tern_mlp_quantize(&m, &q, err, sizeof err), 0) << err;
  size_t n = (size_t)M * cfg.d;
  std::vector<float> x(n), yf(n), yi(n), df(n), di(n);
  tern_mlp_input(&cfg, M, 42, x.data());
  std::vector<int32_t> xi(n), oi(n);
  for (size_t i = 0; i < n; i++) xi[i] = tern_to_fx(x[i]);
  tern_mlp_forward_float(&m, x.data(), M, yf.data());
  tern_mlp_forward_int(&q, xi.data(), M, oi.data());
  for (size_t i = 0; i < n; i++) {
    yi[i] = tern_from_fx(oi[i]);
    df[i] = yf[i] - x[i];
    di[i] = yi[i] - tern_from_fx(xi[i]);
  }
  *out_stats = compare(yf, yi);
  *delta_stats = compare(df, di);
  tern_qmlp_free(&q);
  tern_mlp_free(&m);
}

}  // namespace

TEST(Mlp, DefaultConfig) {
  tern_mlp_config c = tern_mlp_default_config();
  EXPECT_EQ(c.d, 256);
  EXPECT_EQ(c.f, 1024);
  EXPECT_EQ(c.layers, 4);
  EXPECT_EQ(c.act, TERN_ACT_RELU2);
  EXPECT_EQ(c.seed, 1u);
  EXPECT_FLOAT_EQ(c.eps, 1e-5f);
  EXPECT_EQ(tern_mlp_weight_count(&c), 2ull * 256 * 1024 * 4);
  EXPECT_EQ(tern_mlp_macs(&c, 8), 8ull * 2 * 256 * 1024 * 4);
  EXPECT_EQ(tern_mlp_macs(&c, 0), 0u);
}

TEST(Mlp, ConfigValidationNamesTheField) {
  struct Case {
    tern_mlp_config c;
    const char *field;
  };
  tern_mlp_config base = small_cfg(8, 8, 1, TERN_ACT_RELU2, 1);
  std::vector<Case> cases;
  Case k{base, "'d'"};
  k.c.d = 0;
  cases.push_back(k);
  k = {base, "'d'"};
  k.c.d = -3;
  cases.push_back(k);
  k = {base, "'f'"};
  k.c.f = 0;
  cases.push_back(k);
  k = {base, "'layers'"};
  k.c.layers = 0;
  cases.push_back(k);
  k = {base, "'act'"};
  k.c.act = (tern_act)7;
  cases.push_back(k);
  k = {base, "'eps'"};
  k.c.eps = 0.0f;
  cases.push_back(k);
  k = {base, "'eps'"};
  k.c.eps = NAN;
  cases.push_back(k);
  k = {base, "'d', 'f', 'layers'"};
  k.c.d = 65536;
  k.c.f = 65536;
  cases.push_back(k);
  for (const Case &cs : cases) {
    char err[256] = "";
    tern_mlp_model m;
    EXPECT_NE(tern_mlp_generate(&cs.c, &m, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find(cs.field), std::string::npos) << err;
    EXPECT_EQ(m.layer, nullptr);
  }
}

TEST(Mlp, PrngMatchesTheDocumentedProcedure) {
  tern_mlp_config c = small_cfg(6, 5, 2, TERN_ACT_SILU, 12345);
  char err[256];
  tern_mlp_model m;
  ASSERT_EQ(tern_mlp_generate(&c, &m, err, sizeof err), 0) << err;
  // one stream from the seed: per layer g[d], W1 master [d][f], W2 master [f][d]
  DocRng r{c.seed};
  for (int l = 0; l < c.layers; l++) {
    for (int i = 0; i < c.d; i++)
      EXPECT_EQ(m.layer[l].g[i], (float)(1.0 + 0.1 * r.normal())) << l << " " << i;
    std::vector<float> w1(c.d * c.f), w2(c.f * c.d);
    for (float &v : w1) v = (float)(r.normal() / std::sqrt((double)c.d));
    for (float &v : w2) v = (float)(r.normal() / std::sqrt((double)c.f));
    std::vector<int8_t> q1(w1.size()), q2(w2.size());
    EXPECT_EQ(m.layer[l].w1.beta, tern_ternarize(w1.data(), w1.size(), q1.data()));
    EXPECT_EQ(m.layer[l].w2.beta, tern_ternarize(w2.data(), w2.size(), q2.data()));
    EXPECT_EQ(memcmp(q1.data(), m.layer[l].w1.w, q1.size()), 0);
    EXPECT_EQ(memcmp(q2.data(), m.layer[l].w2.w, q2.size()), 0);
  }
  // inputs: stream seeded with seed ^ "TERNINPT"
  std::vector<float> x(3 * c.d);
  tern_mlp_input(&c, 3, 99, x.data());
  DocRng ri{99ull ^ 0x5445524E494E5054ull};
  for (float v : x) EXPECT_EQ(v, (float)ri.normal());
  // the first splitmix64 output for state 0 (reference value of the algorithm)
  DocRng z{0};
  EXPECT_EQ(z.next(), 0xE220A8397B1DCDAFull);
  tern_mlp_free(&m);
}

TEST(Mlp, GeneratedWeightStatistics) {
  tern_mlp_config c = tern_mlp_default_config();
  char err[256];
  tern_mlp_model m;
  ASSERT_EQ(tern_mlp_generate(&c, &m, err, sizeof err), 0) << err;
  for (int l = 0; l < c.layers; l++) {
    // beta = E|W| = sigma * sqrt(2/pi) with sigma = 1/sqrt(fan_in)
    EXPECT_NEAR(m.layer[l].w1.beta * std::sqrt(256.0), std::sqrt(2.0 / M_PI), 0.01);
    EXPECT_NEAR(m.layer[l].w2.beta * std::sqrt(1024.0), std::sqrt(2.0 / M_PI), 0.01);
    // zeros: P(|z| < 0.5 * 0.798) = 0.310
    size_t z = 0, n = (size_t)c.d * c.f;
    for (size_t i = 0; i < n; i++) z += m.layer[l].w1.w[i] == 0;
    EXPECT_NEAR((double)z / n, 0.310, 0.01);
    double gs = 0;
    for (int i = 0; i < c.d; i++) gs += m.layer[l].g[i];
    EXPECT_NEAR(gs / c.d, 1.0, 0.03);
  }
  tern_mlp_free(&m);
}

TEST(Mlp, Determinism) {
  tern_mlp_config c = small_cfg(40, 72, 2, TERN_ACT_SILU, 7);
  char err[256];
  tern_mlp_model a, b, other;
  ASSERT_EQ(tern_mlp_generate(&c, &a, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_mlp_generate(&c, &b, err, sizeof err), 0) << err;
  EXPECT_TRUE(same_model(a, b));
  tern_mlp_config c2 = c;
  c2.seed = 8;
  ASSERT_EQ(tern_mlp_generate(&c2, &other, err, sizeof err), 0) << err;
  EXPECT_NE(memcmp(a.layer[0].w1.w, other.layer[0].w1.w, (size_t)c.d * c.f), 0);
  tern_qmlp qa, qb;
  ASSERT_EQ(tern_mlp_quantize(&a, &qa, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_mlp_quantize(&b, &qb, err, sizeof err), 0) << err;
  const int M = 5;
  std::vector<float> x(M * c.d), fa(M * c.d), fb(M * c.d);
  tern_mlp_input(&c, M, 3, x.data());
  std::vector<int32_t> xi(x.size()), ia(x.size()), ib(x.size());
  for (size_t i = 0; i < x.size(); i++) xi[i] = tern_to_fx(x[i]);
  tern_mlp_forward_float(&a, x.data(), M, fa.data());
  tern_mlp_forward_float(&b, x.data(), M, fb.data());
  tern_mlp_forward_int(&qa, xi.data(), M, ia.data());
  tern_mlp_forward_int(&qb, xi.data(), M, ib.data());
  EXPECT_EQ(memcmp(fa.data(), fb.data(), fa.size() * 4), 0);
  EXPECT_EQ(ia, ib);
  // tokens are independent: token 3 alone gives the same bits as in the batch
  std::vector<int32_t> one(c.d);
  tern_mlp_forward_int(&qa, xi.data() + 3 * c.d, 1, one.data());
  EXPECT_EQ(memcmp(one.data(), ia.data() + 3 * c.d, c.d * 4), 0);
  tern_qmlp_free(&qa);
  tern_qmlp_free(&qb);
  tern_mlp_free(&a);
  tern_mlp_free(&b);
  tern_mlp_free(&other);
}

TEST(Mlp, QuantizeConstants) {
  char err[256];
  for (int d : {256, 255, 1, 100}) {
    tern_mlp_config c = small_cfg(d, 48, 2, TERN_ACT_RELU2, 5);
    tern_mlp_model m;
    ASSERT_EQ(tern_mlp_generate(&c, &m, err, sizeof err), 0) << err;
    tern_qmlp q;
    ASSERT_EQ(tern_mlp_quantize(&m, &q, err, sizeof err), 0) << err;
    int L = 0;
    while ((2 << L) <= d) L++;
    for (int l = 0; l < c.layers; l++) {
      const tern_qlayer &ql = q.layer[l];
      EXPECT_EQ(ql.norm.g_frac, 14);
      EXPECT_EQ(ql.norm.ss_shift, 12 + L);
      EXPECT_EQ(ql.norm.rs_shift, 44 - L);
      EXPECT_EQ(ql.norm.rs_num, d);
      EXPECT_EQ(ql.norm.t1_shift, 8);
      int32_t want_eps = (int32_t)std::max(1.0, std::round(1e-5f * 4096.0 * d / (1 << L)));
      EXPECT_EQ(ql.norm.eps_c, want_eps);
      for (int i = 0; i < d; i++)
        EXPECT_EQ(ql.norm.g_q[i], (int32_t)std::lround(m.layer[l].g[i] * 16384.0));
      const tern_qlinear *lin[2] = {&ql.l1, &ql.l2};
      const tern_tmatrix *w[2] = {&m.layer[l].w1, &m.layer[l].w2};
      for (int j = 0; j < 2; j++) {
        double b = w[j]->beta / 127.0;
        EXPECT_EQ(lin[j]->w, w[j]);
        EXPECT_LT(lin[j]->beta_c, 1 << 30);
        EXPECT_EQ(lin[j]->beta_c, (int32_t)std::round(std::ldexp(b, lin[j]->beta_frac)));
        // largest such beta_frac: one more would reach 2^30
        if (lin[j]->beta_frac < 62) {
          EXPECT_GE(std::round(std::ldexp(b, lin[j]->beta_frac + 1)), 1073741824.0);
        }
        EXPECT_EQ(lin[j]->s_d, lin[j]->beta_frac - (j == 0 ? 8 : 16));
        EXPECT_EQ(lin[j]->s_out, 16);
      }
    }
    int32_t lut[256];
    tern_sigmoid_table(lut);
    EXPECT_EQ(memcmp(lut, q.sigmoid_lut, sizeof lut), 0);
    tern_qmlp_free(&q);
    tern_mlp_free(&m);
  }
}

// A one-wide model computed by hand (values below were worked out from the
// table in docs/NUMERICS.md independently of models/mlp.c).
TEST(Mlp, HandComputedIntegerLayer) {
  tern_mlp_config c = small_cfg(1, 2, 1, TERN_ACT_RELU2, 0);
  float g[1] = {1.0f};
  int8_t w1[2] = {1, -1}, w2[2] = {1, 1};
  tern_mlp_layer layer;
  layer.g = g;
  layer.w1 = {1, 2, 0.5f, w1};
  layer.w2 = {2, 1, 0.25f, w2};
  tern_mlp_model m{c, &layer};
  tern_qmlp q;
  char err[256];
  ASSERT_EQ(tern_mlp_quantize(&m, &q, err, sizeof err), 0) << err;
  // x = 1.0: S = 4096 + eps_c 1; r = isqrt(floor(2^44 / 4097)) = 65528; u = 4096; A = 4096;
  // R = floor(127 * 2^30 / 4096) = 33292288; q = 127; T = rs(4096*65528, 8) = 1048448;
  // beta 0.5: beta/127 * 2^bf < 2^30 -> bf = 37, beta_c = round(0.5/127 * 2^37) = 541098242,
  // s_d = 29: D = rs(1048448 * 541098242, 29) = 1056703;
  // acc = (127, -127); y = rs(127 * 1056703, 16) = 2048 (0.5), -2048 -> relu2 h = (1024, 0);
  // A = 1024, R = floor(127*2^30/1024) = 133169152, q = (127, 0);
  // beta 0.25 -> bf = 38, beta_c = 541098242, s_d = 22: D = rs(1024*541098242, 22) = 132104;
  // acc = 127; y = rs(127 * 132104, 16) = 256 (0.0625); x = 4096 + 256 = 4352.
  EXPECT_EQ(q.layer[0].l1.beta_frac, 37);
  EXPECT_EQ(q.layer[0].l1.beta_c, 541098242);
  EXPECT_EQ(q.layer[0].l2.beta_c, 541098242);
  EXPECT_EQ(q.layer[0].l2.beta_frac, 38);
  int32_t x = 4096, y = 0;
  tern_mlp_forward_int(&q, &x, 1, &y);
  EXPECT_EQ(y, 4352);
  // float reference: xn = 1/sqrt(1 + 1e-5); y1 = (127, -127)/127 * 0.5 * xn; h = 0.25 xn^2;
  // y2 = h (quantised to 127 exactly) * 0.25; out = 1 + 0.0625 / (1 + 1e-5)
  float xf = 1.0f, yf = 0.0f;
  tern_mlp_forward_float(&m, &xf, 1, &yf);
  EXPECT_NEAR(yf, 1.0 + 0.0625 / (1 + 1e-5), 1e-6);
  tern_qmlp_free(&q);
}

TEST(Mlp, FloatVsIntDefaultModel) {
  Stats o, dlt;
  float_vs_int(tern_mlp_default_config(), 8, &o, &dlt);
  printf("[ info ] default model, 8 tokens: output cosine %.6f, max |err| %.5f (rms %.3f); "
         "layers' contribution cosine %.6f, max |err| %.5f (rms %.3f)\n",
         o.cos, o.max_abs, o.rms_ref, dlt.cos, dlt.max_abs, dlt.rms_ref);
  EXPECT_GE(o.cos, 0.99);
  EXPECT_GE(dlt.cos, 0.99);
}

TEST(Mlp, FloatVsIntRandomSmallConfigs) {
  struct C {
    int d, f, layers;
    tern_act act;
  } cs[] = {{5, 7, 2, TERN_ACT_RELU2},  {5, 7, 2, TERN_ACT_SILU},   {17, 33, 3, TERN_ACT_RELU2},
            {17, 33, 3, TERN_ACT_SILU}, {48, 80, 2, TERN_ACT_SILU}, {100, 37, 1, TERN_ACT_RELU2},
            {129, 300, 2, TERN_ACT_SILU}, {64, 256, 4, TERN_ACT_RELU2}};
  uint64_t seed = 100;
  for (const C &c : cs) {
    Stats o, dlt;
    float_vs_int(small_cfg(c.d, c.f, c.layers, c.act, seed++), 6, &o, &dlt);
    printf("[ info ] d=%d f=%d L=%d %s: output cosine %.6f max |err| %.5f; contribution cosine "
           "%.6f max |err| %.5f\n",
           c.d, c.f, c.layers, c.act == TERN_ACT_RELU2 ? "relu2" : "silu", o.cos, o.max_abs,
           dlt.cos, dlt.max_abs);
    EXPECT_GE(o.cos, 0.99) << c.d << "x" << c.f;
    EXPECT_GE(dlt.cos, 0.98) << c.d << "x" << c.f;
  }
  // and a few drawn at random (fixed seed, so the run is reproducible)
  uint64_t s = 0x1234;
  auto next = [&s](int lo, int hi) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int)((s >> 33) % (uint64_t)(hi - lo + 1));
  };
  for (int i = 0; i < 6; i++) {
    int d = next(1, 90), f = next(1, 200), layers = next(1, 3);
    tern_act act = next(0, 1) ? TERN_ACT_SILU : TERN_ACT_RELU2;
    Stats o, dlt;
    float_vs_int(small_cfg(d, f, layers, act, 1000 + i), 4, &o, &dlt);
    printf("[ info ] random d=%d f=%d L=%d %s: output cosine %.6f max |err| %.5f\n", d, f, layers,
           act == TERN_ACT_RELU2 ? "relu2" : "silu", o.cos, o.max_abs);
    EXPECT_GE(o.cos, 0.99) << d << "x" << f;
  }
}

TEST(Mlp, WeightFileRoundTrip) {
  char err[256];
  for (tern_act act : {TERN_ACT_RELU2, TERN_ACT_SILU}) {
    tern_mlp_config c = small_cfg(13, 21, 3, act, 77);
    c.eps = 1e-4f;
    tern_mlp_model m, back;
    ASSERT_EQ(tern_mlp_generate(&c, &m, err, sizeof err), 0) << err;
    std::string p = tmp_path("rt.twt");
    ASSERT_EQ(tern_mlp_save(&m, p.c_str(), err, sizeof err), 0) << err;
    ASSERT_EQ(tern_mlp_load(&back, p.c_str(), err, sizeof err), 0) << err;
    EXPECT_TRUE(same_model(m, back));
    // the loaded model computes the same bits
    tern_qmlp qa, qb;
    ASSERT_EQ(tern_mlp_quantize(&m, &qa, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_mlp_quantize(&back, &qb, err, sizeof err), 0) << err;
    std::vector<float> x(2 * c.d);
    tern_mlp_input(&c, 2, 5, x.data());
    std::vector<int32_t> xi(x.size()), ya(x.size()), yb(x.size());
    for (size_t i = 0; i < x.size(); i++) xi[i] = tern_to_fx(x[i]);
    tern_mlp_forward_int(&qa, xi.data(), 2, ya.data());
    tern_mlp_forward_int(&qb, xi.data(), 2, yb.data());
    EXPECT_EQ(ya, yb);
    EXPECT_NE(ya, xi);  // the layers did something
    tern_qmlp_free(&qa);
    tern_qmlp_free(&qb);
    // file size as documented: 44 + L * (44 + 4d + 2 * (44 + 4 + ceil(d f / 4))) + 4
    EXPECT_EQ(read_all(p).size(), 44u + 3u * (44 + 4 * 13 + 2 * (48 + (13 * 21 + 3) / 4)) + 4);
    tern_mlp_free(&m);
    tern_mlp_free(&back);
    remove(p.c_str());
  }
}

TEST(Mlp, WeightFileCorruption) {
  char err[512];
  tern_mlp_config c = small_cfg(5, 7, 2, TERN_ACT_RELU2, 3);
  tern_mlp_model m, back;
  ASSERT_EQ(tern_mlp_generate(&c, &m, err, sizeof err), 0) << err;
  std::string p = tmp_path("good.twt"), bad = tmp_path("bad.twt");
  ASSERT_EQ(tern_mlp_save(&m, p.c_str(), err, sizeof err), 0) << err;
  const std::vector<unsigned char> good = read_all(p);
  ASSERT_GT(good.size(), 100u);

  auto expect_error = [&](const std::vector<unsigned char> &bytes, const char *needle,
                          const std::string &what) {
    write_all(bad, bytes);
    err[0] = 0;
    int rc = tern_mlp_load(&back, bad.c_str(), err, sizeof err);
    EXPECT_NE(rc, 0) << what;
    EXPECT_EQ(back.layer, nullptr) << what;
    std::string e(err);
    EXPECT_NE(e.find(bad), std::string::npos) << what << ": " << e;  // names the file
    if (needle) {
      EXPECT_NE(e.find(needle), std::string::npos) << what << ": " << e;
    }
  };

  // missing file
  EXPECT_NE(tern_mlp_load(&back, "/nonexistent/x.twt", err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("/nonexistent/x.twt"), std::string::npos) << err;

  std::vector<unsigned char> v = good;
  v[3] ^= 0x20;
  expect_error(v, "'magic'", "magic");
  v = good;
  put32(v, 8, 2);
  fix_crc(v);
  expect_error(v, "'version' is 2, expected 1", "version");
  v = good;
  put32(v, 12, 0);
  fix_crc(v);
  expect_error(v, "'d' is 0", "d = 0");
  v = good;
  put32(v, 24, 2);
  fix_crc(v);
  expect_error(v, "'act'", "act");
  v = good;
  put32(v, 40, 5);
  fix_crc(v);
  expect_error(v, "'ntensors' is 5, expected 6", "ntensors");
  // header claims a huge model: rejected from the length, nothing allocated from it
  v = good;
  put32(v, 16, 60000);
  fix_crc(v);
  expect_error(v, "truncated", "huge f");

  // truncated at every length
  for (size_t n = 0; n < good.size(); n++)
    expect_error(std::vector<unsigned char>(good.begin(), good.begin() + n), nullptr,
                 "truncated to " + std::to_string(n));
  // trailing garbage
  v = good;
  v.push_back(0);
  expect_error(v, "trailing", "trailing byte");
  // every single flipped byte (two patterns) is detected
  for (size_t i = 0; i < good.size(); i++) {
    for (unsigned char pat : {0x01, 0xFF}) {
      v = good;
      v[i] ^= pat;
      expect_error(v, nullptr, "flip at " + std::to_string(i));
    }
  }
  // CRC alone
  v = good;
  v[good.size() - 1] ^= 0x80;
  expect_error(v, "'crc32'", "crc");

  // layout (d=5, f=7): layer0.g header at 44, data 88..107; layer0.w1 header at 108,
  // dtype 140, rows 144, cols 148, beta 152, codes 156..164
  ASSERT_EQ(memcmp(good.data() + 108, "layer0.w1", 10), 0);
  v = good;
  put32(v, 144, 7);
  put32(v, 148, 5);
  fix_crc(v);
  expect_error(v, "'shape' is 7x5, expected 5x7", "bad shape");
  v = good;
  put32(v, 140, 1);
  fix_crc(v);
  expect_error(v, "'dtype' is 1, expected 2", "bad dtype");
  v = good;
  v[108 + 6] = '9';
  fix_crc(v);
  expect_error(v, "expected \"layer0.w1\"", "bad name");
  v = good;
  put32(v, 152, 0);  // beta = 0.0f
  fix_crc(v);
  expect_error(v, "'beta'", "beta 0");
  v = good;
  v[156] = (unsigned char)((v[156] & ~3u) | 2u);  // reserved code 10 at index 0
  fix_crc(v);
  expect_error(v, "reserved", "reserved code");
  v = good;
  v[164] |= 0x80;  // 35 codes: bits 6..7 of the 9th byte are padding
  fix_crc(v);
  expect_error(v, "padding", "padding bits");
  v = good;
  uint32_t nanbits = 0x7fc00000u;
  put32(v, 88, nanbits);
  fix_crc(v);
  expect_error(v, "not finite", "NaN gain");

  // and the good file still loads
  ASSERT_EQ(tern_mlp_load(&back, p.c_str(), err, sizeof err), 0) << err;
  EXPECT_TRUE(same_model(m, back));
  tern_mlp_free(&back);
  tern_mlp_free(&m);
  remove(p.c_str());
  remove(bad.c_str());
}

TEST(Mlp, QuantizeRejectsOversizedBeta) {
  tern_mlp_config c = small_cfg(1, 1, 1, TERN_ACT_RELU2, 0);
  float g[1] = {1.0f};
  int8_t w1[1] = {1}, w2[1] = {1};
  tern_mlp_layer layer;
  layer.g = g;
  layer.w1 = {1, 1, 1e9f, w1};  // beta/127 ~ 2^22.9: beta_frac < 8
  layer.w2 = {1, 1, 0.5f, w2};
  tern_mlp_model m{c, &layer};
  tern_qmlp q;
  char err[256] = "";
  EXPECT_NE(tern_mlp_quantize(&m, &q, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("layer 0 w1"), std::string::npos) << err;
  EXPECT_EQ(q.layer, nullptr);
}
