// Integer reference of the recurrent LMs (models/rnn_int.c, docs/NUMERICS.md
// "Recurrent operations (integer)"): tables, each step function against
// double math within the documented bounds, prefill == decodes bit for bit
// (with the state), float-vs-integer fidelity of the tiny presets, and a
// state whose size does not depend on the context.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tern/numerics.h"
#include "tern/rnn.h"
#include "tern/tfm_int.h"

namespace {

double tie_distance(double v) { return std::fabs(v - std::floor(v) - 0.5); }
double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return std::log1p(std::exp(x)); }
// error bound of the interpolated sigmoid (tern_rnn_lut_interp), argument t real:
// linear interpolation between midpoints 1/16 apart: max sigma'' h^2 / 8 = 4.7e-5, plus
// the table's and the MULSHR's rounding (2 x 2^-16); outside [-7.97, 7.97] the
// clamped end entry: sigma(-7.97) = 3.5e-4
double dsig(double t) { return std::fabs(t) < 7.9 ? 1e-4 : 3.6e-4; }

struct Model {
  tern_rnn_model m;
  tern_rnn_qmodel *q = nullptr;
  explicit Model(const char *name) {
    tern_rnn_config c;
    char err[512];
    memset(&m, 0, sizeof m);
    EXPECT_EQ(tern_rnn_preset(name, &c, err, sizeof err), 0) << err;
    EXPECT_EQ(tern_rnn_generate(&c, &m, 64u << 20, err, sizeof err), 0) << err;
    q = tern_rnn_quantize(&m, err, sizeof err);
    EXPECT_NE(q, nullptr) << err;
  }
  ~Model() {
    tern_rnn_qmodel_free(q);
    tern_rnn_free(&m);
  }
};

const char *kTiny[] = {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"};

TEST(RnnIntTables, MonotoneEndpointsAndNoTies) {
  int32_t ss[256], en[256], ps[256], sg[256];
  tern_rnn_sqrt_sigmoid_table(ss);
  tern_rnn_expneg_table(en);
  tern_rnn_psi_table(ps);
  tern_sigmoid_table(sg);
  EXPECT_EQ(en[0], 1 << 24);
  EXPECT_EQ(en[255], (int32_t)std::floor(std::exp(-255.0 / 64) * 16777216.0 + 0.5));
  EXPECT_EQ(ss[0], (int32_t)std::floor(std::sqrt(sigm(-127.5 / 16)) * 32768.0 + 0.5));
  EXPECT_EQ(ss[255], (int32_t)std::floor(std::sqrt(sigm(127.5 / 16)) * 32768.0 + 0.5));
  EXPECT_LT(ps[0], 32768);
  EXPECT_GT(ps[0], 32768 - 200);  // psi(1/128) = 1 - ~1/256
  EXPECT_NEAR(ps[255] / 32768.0, std::sqrt(-std::expm1(-2 * 255.5 / 64) / (2 * 255.5 / 64)), 1e-4);
  for (int i = 1; i < 256; i++) {
    EXPECT_GE(ss[i], ss[i - 1]) << i;  // non-decreasing (equal entries near 1)
    if (i < 200) {
      EXPECT_GT(ss[i], ss[i - 1]) << i;
    }
    EXPECT_LT(en[i], en[i - 1]) << i;
    EXPECT_LT(ps[i], ps[i - 1]) << i;
    // sqrt-sigmoid is consistent with the sigmoid table: ss^2 ~ sg * 2^15
    EXPECT_NEAR((double)ss[i] * ss[i] / 32768.0, (double)sg[i], 2.0) << i;
  }
  // no entry within 1e-6 of a rounding tie: any faithful libm gives the same bits
  for (int i = 0; i < 256; i++) {
    double x = ((double)(i - 128) + 0.5) / 16.0, l = ((double)i + 0.5) / 64.0;
    EXPECT_GT(tie_distance(std::sqrt(sigm(x)) * 32768.0), 1e-6) << i;
    if (i > 0) {
      EXPECT_GT(tie_distance(std::exp(-i / 64.0) * 16777216.0), 1e-6) << i;
    }
    EXPECT_GT(tie_distance(std::sqrt(-std::expm1(-2 * l) / (2 * l)) * 32768.0), 1e-6) << i;
  }
}

// The interpolated read of the sigmoid and GELU tables is within dsig of the function.
TEST(RnnIntTables, InterpolatedLutAgainstDouble) {
  int32_t sg[256], ge[256];
  tern_sigmoid_table(sg);
  tern_gelu_table(ge);
  double worst = 0;
  for (int32_t t = -40000; t <= 40000; t += 7) {
    double x = t / 4096.0;
    double es = std::fabs(tern_rnn_lut_interp(sg, t) / 32768.0 - sigm(x));
    double phi = 0.5 * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    double eg = std::fabs(tern_rnn_lut_interp(ge, t) / 32768.0 - phi);
    ASSERT_LE(es, dsig(x)) << t;
    ASSERT_LE(eg, 2.5e-4) << t;  // Phi'' of the tanh form is < 0.5: 0.5/2048 + rounding
    if (std::fabs(x) < 7.9) worst = std::max(worst, es);
  }
  // saturated arguments do not wrap
  EXPECT_EQ(tern_rnn_lut_interp(sg, INT32_MAX), sg[255]);
  EXPECT_EQ(tern_rnn_lut_interp(sg, INT32_MIN), sg[0]);
  printf("interpolated sigmoid: max error %.3g in [-7.9, 7.9]\n", worst);
}

TEST(RnnIntTables, LambdaConstantsAndTheirRange) {
  int32_t spc, sqc;
  ASSERT_EQ(tern_rnn_lambda_consts(3.0f, &spc, &sqc), 0);
  double sp = softplus(-3.0);
  EXPECT_EQ(spc, (int32_t)std::llround(8 * sp * 16777216.0));
  EXPECT_EQ(sqc, (int32_t)std::llround(std::sqrt(16 * sp) * 16777216.0));
  EXPECT_EQ(tern_rnn_lambda_consts(0.44f, &spc, &sqc), 0);   // 8 softplus = 3.98
  EXPECT_NE(tern_rnn_lambda_consts(0.43f, &spc, &sqc), 0);   // 8 softplus >= 4
  EXPECT_NE(tern_rnn_lambda_consts(-5.0f, &spc, &sqc), 0);
  EXPECT_NE(tern_rnn_lambda_consts(NAN, &spc, &sqc), 0);
  EXPECT_EQ(tern_rnn_lambda_consts(80.0f, &spc, &sqc), 0);   // a -> 1: l = 0
  EXPECT_EQ(spc, 0);
}

// RG-LRU step (R1-R14) against double math.  Bounds (docs/NUMERICS.md):
//  a   : |a - exp(-8 sp r)| <= 8 sp dsig(ta) + 2^-21   (interpolated sigmoid)
//  a   : with r the integer value, |a - exp(-8 sp r_int)| <= 2^-21 (range reduction + cubic)
//  m   : |m - sqrt(1 - a^2)| <= 0.012 sqrt(1 - a^2) + 2^-20 (psi table), plus sqrt(16 sp) 0.0186
//        when r's argument is below the table's range (-8: sqrt(sigmoid) clamps at 0.0186)
//  h   : |h' - (a h + m i x)| <= |h| da + |i x| dm + m (|x| di + 2^-13) + 2^-16 (i x rounded to Q12)
TEST(RnnIntSteps, RgLruAgainstDouble) {
  tern_rnn_luts T;
  tern_rnn_luts_init(&T);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> N(0, 1);
  std::uniform_real_distribution<double> U(0, 1);
  const int n = 4000;
  double worst_a = 0, worst_at = 0, worst_m = 0, worst_h = 0;
  for (int j = 0; j < n; j++) {
    // Lambda as the generator (a^8 in [0.9, 0.999]) plus wider values up to the limit
    double ac = j % 2 ? 0.9 + 0.099 * U(rng) : 0.0185 + 0.98 * U(rng);
    double a0 = std::pow(ac, 1.0 / 8), lam = std::log(a0 / (1 - a0));
    int32_t spc, sqc;
    if (tern_rnn_lambda_consts((float)lam, &spc, &sqc)) continue;
    double sp = softplus(-(double)(float)lam);
    int32_t ga = tern_to_fx((float)(2 * N(rng))), gx = tern_to_fx((float)(2 * N(rng)));
    int32_t ba = tern_to_fx((float)(0.1 * N(rng))), bx = tern_to_fx((float)(0.1 * N(rng)));
    int32_t x = tern_to_fx((float)(3 * N(rng)));
    int32_t h = (int32_t)std::llround(5 * N(rng) * 262144.0), h0 = h;
    int32_t a, m;
    tern_rnn_rglru_step_int(&T, 1, &ga, &gx, &ba, &bx, &spc, &sqc, &x, &h, &a, &m);
    double ta = (ga + ba) / 4096.0, tx = (gx + bx) / 4096.0;
    double r = sigm(ta), ii = sigm(tx);
    double ad = std::exp(-8 * sp * r), md = std::sqrt(1 - ad * ad);
    double rt = tern_rnn_lut_interp(T.sigmoid, ga + ba) / 32768.0;
    double at = std::exp(-(spc / 16777216.0) * rt);
    double da = 8 * sp * dsig(ta) + std::ldexp(1, -21);
    double dm = 0.012 * md + std::ldexp(1, -20) + (ta < -8 ? std::sqrt(16 * sp) * 0.0186 : 0.0);
    double di = dsig(tx);
    double hd = ad * (h0 / 262144.0) + md * ii * (x / 4096.0);
    double dh = std::fabs(h0 / 262144.0) * da + std::fabs(ii * x / 4096.0) * dm +
                md * (std::fabs(x / 4096.0) * di + std::ldexp(1, -13)) + std::ldexp(1, -16);
    double ea = std::fabs(a / 16777216.0 - ad), eat = std::fabs(a / 16777216.0 - at);
    double em = std::fabs(m / 16777216.0 - md), eh = std::fabs(h / 262144.0 - hd);
    ASSERT_LE(ea, da) << j;
    ASSERT_LE(eat, std::ldexp(1, -21)) << j << " a " << a << " at " << at;
    ASSERT_LE(em, dm) << j << " m " << m / 16777216.0 << " md " << md;
    ASSERT_LE(eh, dh) << j;
    worst_a = std::max(worst_a, ea / da);
    worst_at = std::max(worst_at, eat);
    worst_m = std::max(worst_m, em / dm);
    worst_h = std::max(worst_h, eh / dh);
  }
  printf("rglru: worst a err/bound %.3f, a vs table-r double %.3g, m err/bound %.3f, h err/bound %.3f\n",
         worst_a, worst_at, worst_m, worst_h);
}

// Conv1D (C1-C3): |y - (sum w x + b)| <= sum_k |x_k| 2^-15 (taps Q14) + (cw + 1) 0.5 LSB + 0.5 LSB (bias)
TEST(RnnIntSteps, Conv1dAgainstDoubleAndWindowShift) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> N(0, 1);
  const int n = 257, cw = 4;
  std::vector<float> wf(cw * n), bf(n);
  std::vector<int32_t> wq(cw * n), bq(n), win((cw - 1) * n), x(n), y(n);
  for (int i = 0; i < cw * n; i++) {
    wf[i] = (float)(N(rng) / 2);
    wq[i] = (int32_t)std::llround(wf[i] * 16384.0);
  }
  for (int i = 0; i < n; i++) {
    bf[i] = (float)(0.1 * N(rng));
    bq[i] = tern_to_fx(bf[i]);
  }
  std::vector<std::vector<int32_t>> hist;
  for (int t = 0; t < 7; t++) {
    for (int j = 0; j < n; j++) x[j] = tern_to_fx((float)(4 * N(rng)));
    tern_rnn_conv1d_int(n, cw, wq.data(), bq.data(), win.data(), x.data(), y.data());
    hist.push_back(x);
    for (int j = 0; j < n; j++) {
      double s = bf[j], bound = 0.5 / 4096 * (cw + 2);
      for (int k = 0; k < cw; k++) {
        int tt = t - (cw - 1) + k;
        double xv = tt >= 0 ? hist[tt][j] / 4096.0 : 0.0;  // zero before position 0
        s += (double)wf[k * n + j] * xv;
        bound += std::fabs(xv) * std::ldexp(1, -15);
      }
      ASSERT_LE(std::fabs(y[j] / 4096.0 - s), bound) << t << " " << j;
    }
    // the window holds the last cw-1 inputs, oldest first
    for (int k = 0; k < cw - 1; k++) {
      int tt = t - (cw - 2) + k;
      for (int j = 0; j < n; j++) ASSERT_EQ(win[k * n + j], tt >= 0 ? hist[tt][j] : 0);
    }
  }
}

// MLGRU (G1-G7), interpolated sigmoid (dsig):
//  |h' - (f h + (1 - f) c)| <= |h - c| dsig(f) + (1 - f + dsig(f)) (|c| dsig(c) + 2^-13) + 2^-17
//  |o - sigma(g) h'| <= |h'| dsig(g) + |dh| + 2^-12
TEST(RnnIntSteps, MlgruAgainstDouble) {
  tern_rnn_luts T;
  tern_rnn_luts_init(&T);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> N(0, 1);
  for (int j = 0; j < 5000; j++) {
    int32_t f = tern_to_fx((float)(3 * N(rng))), c = tern_to_fx((float)(3 * N(rng)));
    int32_t g = tern_to_fx((float)(3 * N(rng)));
    int32_t h = (int32_t)std::llround(4 * N(rng) * 262144.0), h0 = h, o;
    tern_rnn_mlgru_step_int(&T, 1, &f, &c, &g, &h, &o);
    double fr = sigm(f / 4096.0), cr = c / 4096.0 * sigm(c / 4096.0), hr = h0 / 262144.0;
    double hd = fr * hr + (1 - fr) * cr;
    double df = dsig(f / 4096.0), dc = dsig(c / 4096.0), dg = dsig(g / 4096.0);
    double bh = std::fabs(hr - cr) * df + (1 - fr + df) * std::fabs(c / 4096.0) * dc +
                (1 - fr + df) * std::ldexp(1, -13) + std::ldexp(1, -17);  // SiLU Q12 rounding, G5
    ASSERT_LE(std::fabs(h / 262144.0 - hd), bh) << j;
    double od = sigm(g / 4096.0) * hd;
    ASSERT_LE(std::fabs(o / 4096.0 - od), std::fabs(hd) * dg + bh + std::ldexp(1, -12)) << j;
  }
}

TEST(RnnIntSteps, BlockDiagonalBitLinearIsPerBlock) {
  Model M("hawk-tiny");
  const tern_tblockdiag &t = M.m.block[0].gate_a;
  int W = t.blocks * t.size;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> N(0, 1);
  std::vector<int32_t> x(W), acc(W), y(W);
  std::vector<int8_t> qb(W);
  for (auto &v : x) v = tern_to_fx((float)N(rng));
  int32_t bc;
  int bf = tern_beta_const(t.beta, &bc);
  ASSERT_GE(bf, 16);
  tern_rnn_bdlinear_int(&t, bc, bf - 16, x.data(), qb.data(), acc.data(), y.data());
  std::vector<int8_t> q2(W);
  int32_t A = tern_tfm_quant_row(x.data(), W, q2.data());
  int32_t D = tern_v_mulshr(A, bc, bf - 16);
  for (int n = 0; n < W; n++) {
    int hb = n / t.size, nn = n % t.size;
    int64_t s = 0;
    for (int k = 0; k < t.size; k++)
      s += q2[hb * t.size + k] *
           tern_tpacked_get(t.codes, (size_t)hb * t.size * t.size + (size_t)k * t.size + nn);
    ASSERT_EQ(acc[n], s) << n;
    ASSERT_EQ(y[n], tern_v_mulshr((int32_t)s, D, 16)) << n;
    // and close to the real product: acc * beta * A / (127 * 4096) in Q12
    double real = (double)s * t.beta * A / 127.0;
    ASSERT_NEAR(y[n], real, 1.0 + std::fabs(real) * 1e-6) << n;
  }
}

// prefill of n tokens == n decodes, bit for bit, logits and the whole state;
// griffin-tiny goes past its window of 32 (ring wrap).
TEST(RnnIntModel, PrefillEqualsDecodesAndChunks) {
  char err[512];
  for (const char *name : kTiny) {
    Model M(name);
    ASSERT_NE(M.q, nullptr);
    const int n = 40, V = M.m.cfg.vocab;
    std::vector<int> tok(n);
    for (int i = 0; i < n; i++) tok[i] = (i * 37 + 11) % V;
    tern_rnn_ictx *a = tern_rnn_ictx_new(M.q, err, sizeof err);
    tern_rnn_ictx *b = tern_rnn_ictx_new(M.q, err, sizeof err);
    tern_rnn_ictx *c = tern_rnn_ictx_new(M.q, err, sizeof err);
    ASSERT_TRUE(a && b && c) << err;
    std::vector<int32_t> la((size_t)n * V), lb(V), lc((size_t)n * V);
    ASSERT_EQ(tern_rnn_iprefill(a, tok.data(), n, la.data(), 1, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_rnn_iprefill(c, tok.data(), 17, lc.data(), 1, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_rnn_iprefill(c, tok.data() + 17, n - 17, lc.data() + (size_t)17 * V, 1, err,
                                sizeof err), 0) << err;
    for (int i = 0; i < n; i++) {
      ASSERT_EQ(tern_rnn_idecode(b, tok[i], lb.data(), err, sizeof err), 0) << err;
      ASSERT_EQ(memcmp(lb.data(), la.data() + (size_t)i * V, V * sizeof(int32_t)), 0)
          << name << " position " << i;
    }
    EXPECT_EQ(la, lc) << name;
    EXPECT_EQ(tern_rnn_ictx_pos(a), n);
    size_t sb = tern_rnn_ictx_state_bytes(a);
    std::vector<uint8_t> sa(sb), sbb(sb), sc(sb);
    tern_rnn_ictx_get_state(a, sa.data());
    tern_rnn_ictx_get_state(b, sbb.data());
    tern_rnn_ictx_get_state(c, sc.data());
    EXPECT_EQ(sa, sbb) << name;
    EXPECT_EQ(sa, sc) << name;
    // the state is not trivially zero
    size_t nz = 0;
    for (uint8_t v : sa) nz += v != 0;
    EXPECT_GT(nz, sb / 4) << name;
    // reset gives the first logits again
    tern_rnn_ictx_reset(b);
    ASSERT_EQ(tern_rnn_idecode(b, tok[0], lb.data(), err, sizeof err), 0) << err;
    EXPECT_EQ(memcmp(lb.data(), la.data(), V * sizeof(int32_t)), 0);
    tern_rnn_ictx_free(a);
    tern_rnn_ictx_free(b);
    tern_rnn_ictx_free(c);
  }
}

// The state has a fixed size (no KV cache growth): the documented layout, the
// same before and after 300 tokens, and a recurrent model's logits after a
// long context depend on the old tokens only through that state.
TEST(RnnIntModel, StateIsConstantInContext) {
  char err[512];
  const size_t expect[] = {
      3 * (4 * 96 * 4),                        // hawk-tiny: 3 x (h + 3 window rows) x 96 x int32
      2 * (4 * 96 * 4) + (8 * 32 + 2 * 32 * 16), // griffin-tiny: 2 r + ring of 32 x hd 16
      3 * (4 * 64)};                           // matmulfree-tiny: 3 x h[64]
  for (int k = 0; k < 3; k++) {
    Model M(kTiny[k]);
    ASSERT_NE(M.q, nullptr);
    tern_rnn_ictx *a = tern_rnn_ictx_new(M.q, err, sizeof err);
    ASSERT_NE(a, nullptr) << err;
    EXPECT_EQ(tern_rnn_ictx_state_bytes(a), expect[k]) << kTiny[k];
    std::vector<int> tok(300);
    for (int i = 0; i < 300; i++) tok[i] = (i * 13 + 5) % 256;
    std::vector<int32_t> l(256);
    ASSERT_EQ(tern_rnn_iprefill(a, tok.data(), 300, l.data(), 0, err, sizeof err), 0) << err;
    EXPECT_EQ(tern_rnn_ictx_state_bytes(a), expect[k]);
    // a second context fed the same tokens reaches the same state and next logits
    std::vector<uint8_t> s1(expect[k]);
    tern_rnn_ictx_get_state(a, s1.data());
    std::vector<int32_t> l1(256), l2(256);
    ASSERT_EQ(tern_rnn_idecode(a, 65, l1.data(), err, sizeof err), 0) << err;
    tern_rnn_ictx *b = tern_rnn_ictx_new(M.q, err, sizeof err);
    ASSERT_EQ(tern_rnn_iprefill(b, tok.data(), 300, l.data(), 0, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_rnn_idecode(b, 65, l2.data(), err, sizeof err), 0) << err;
    EXPECT_EQ(l1, l2);
    tern_rnn_ictx_free(a);
    tern_rnn_ictx_free(b);
  }
}

TEST(RnnIntModel, BadInputsNameTheField) {
  char err[512];
  Model M("hawk-tiny");
  ASSERT_NE(M.q, nullptr);
  tern_rnn_ictx *a = tern_rnn_ictx_new(M.q, err, sizeof err);
  int bad = 256;
  std::vector<int32_t> l(256);
  EXPECT_NE(tern_rnn_iprefill(a, &bad, 1, l.data(), 0, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("out of range, expected 0..255"), std::string::npos) << err;
  tern_rnn_ictx_free(a);
  float old = M.m.block[1].lambda[5];
  M.m.block[1].lambda[5] = -2.0f;
  tern_rnn_qmodel *q = tern_rnn_quantize(&M.m, err, sizeof err);
  EXPECT_EQ(q, nullptr);
  EXPECT_NE(std::string(err).find("block 1 lambda[5] is -2"), std::string::npos) << err;
  M.m.block[1].lambda[5] = old;
  q = tern_rnn_quantize(&M.m, err, sizeof err);
  EXPECT_NE(q, nullptr) << err;
  tern_rnn_qmodel_free(q);
}

// Fidelity over the 8 fixed prompts (prefill + 4 decode steps): logit cosine
// >= 0.99 on every prompt (measured >= 0.9993), top-1 disagreements only on
// near-ties, residual error bounded per block.
TEST(RnnIntModel, FidelityOfTheTinyPresets) {
  char err[512];
  for (const char *name : kTiny) {
    tern_tfm_fidelity_result r;
    ASSERT_EQ(tern_rnn_fidelity(name, TERN_TFM_FID_PROMPTS, stdout, &r, err, sizeof err), 0) << err;
    EXPECT_EQ(r.passes, 3);
    for (int p = 0; p < r.n_prompts; p++) {
      EXPECT_GE(r.cosine[p], 0.99) << name << " prompt " << p;
      EXPECT_GE(r.min_step_cosine[p], 0.99) << name << " prompt " << p;
      if (!r.top1[p]) {
        EXPECT_LT(r.top1_gap[p], 0.2) << name << " prompt " << p;
      }
    }
    EXPECT_GE(r.min_cosine, 0.998) << name;  // measured 0.99931..0.99962
    EXPECT_GE(r.top1_agree, 7) << name;
    for (int b = 0; b < r.passes; b++) {
      EXPECT_GT(r.layer_rms[b], 0.1);
      EXPECT_LT(r.layer_max_err[b], 0.35 * r.layer_rms[b]) << name << " block " << b;
    }
    tern_tfm_fidelity_result_free(&r);
  }
}

}  // namespace

// The accelerator's decomposition of a block (include/tern/compiler_rnn.h):
// all rows' mixer (tern_rnn_mix_int, B1-B2) and then all rows' MLP (the FFN
// half of the transformer view, interpolated table read, B3-B4) equal the
// reference, which runs B1-B4 row by row: residual stream after every block
// (trace) for a prompt that passes griffin-tiny's window.
namespace {
struct Trace {
  std::vector<std::vector<int32_t>> x;
};
void OnBlock(void *u, int, int n, const int32_t *x) {
  auto *t = static_cast<Trace *>(u);
  t->x.emplace_back(x, x + (size_t)n * 64);
}
}  // namespace

TEST(RnnIntModel, BlocksEqualMixThenViewMlp) {
  for (const char *name : {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"}) {
    SCOPED_TRACE(name);
    Model M(name);
    ASSERT_TRUE(M.q);
    const tern_rnn_config &c = M.q->cfg;
    ASSERT_EQ(c.dim, 64);
    char err[512];
    const int n = 40;
    std::vector<int> tok(n);
    for (int i = 0; i < n; i++) tok[i] = (i * 37 + 11) % 256;
    tern_rnn_ictx *ctx = tern_rnn_ictx_new(M.q, err, sizeof err);
    ASSERT_TRUE(ctx) << err;
    Trace tr;
    tern_rnn_ictx_set_trace(ctx, OnBlock, &tr);
    std::vector<int32_t> logits(c.vocab);
    ASSERT_EQ(0, tern_rnn_iprefill(ctx, tok.data(), n, logits.data(), 0, err, sizeof err)) << err;
    ASSERT_EQ((int)tr.x.size(), c.layers);
    std::vector<uint8_t> ref_state(tern_rnn_ictx_state_bytes(ctx));
    tern_rnn_ictx_get_state(ctx, ref_state.data());
    // the decomposition, from the embedded rows
    std::vector<int32_t> x((size_t)n * c.dim), y(x.size());
    for (int i = 0; i < n; i++)
      for (int j = 0; j < c.dim; j++)
        x[(size_t)i * c.dim + j] = tern_v_mulshr(M.m.embed.q[(size_t)tok[i] * c.dim + j],
                                                 M.q->embed_c[tok[i]], 16);
    for (int b = 0; b < c.layers; b++) {
      std::vector<uint8_t> st(tern_rnn_block_state_bytes(M.q, b), 0);
      ASSERT_EQ(0, tern_rnn_mix_int(M.q, b, st.data(), 0, x.data(), n, err, sizeof err)) << err;
      tern_tfm_ffn_half h;
      ASSERT_EQ(0, tern_tfm_ffn_half_of(&M.q->view, b, &h, err, sizeof err)) << err;
      EXPECT_EQ(h.lut_interp, 1);
      ASSERT_EQ(0, tern_tfm_ffn_half_int(&h, x.data(), n, y.data(), err, sizeof err)) << err;
      x = y;
      EXPECT_EQ(x, tr.x[b]) << "block " << b;
      size_t off = tern_rnn_ictx_state_off(ctx, b);
      EXPECT_EQ(0, std::memcmp(st.data(), ref_state.data() + off, st.size())) << "state of block " << b;
    }
    tern_rnn_ictx_free(ctx);
  }
}
