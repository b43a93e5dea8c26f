// Integer transformer reference (models/tfm_int.c): tables, the integer
// definitions on hand cases, decode-with-int8-KV-cache == prefill bit for bit
// for every preset feature, and the float-vs-integer fidelity of the tiny
// presets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tern/numerics.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"
#include "tfm_fixtures.h"

namespace {

// distance of v from the nearest .5 rounding tie
double tie_distance(double v) { return std::fabs(v - std::floor(v) - 0.5); }

using Model = tern_test::QModel;



// Feature configs beyond the presets: MQA + sliding window + -LS repeat +
// shared FFN + untied SwiGLU; GQA LayerNorm-with-bias GELU; MHA ReLU^2 SubLN.
const char *kMqa =
    "[model]\nname = mqa\nvocab = 200\ndim = 48\nlayers = 2\nheads = 4\nkv_heads = 1\n"
    "ffn = 96\nffn_type = swiglu\nwindow = 5\nrepeat = 2\nshare_ffn = true\n"
    "tie_embeddings = false\nmax_seq = 40\nseed = 7\n";
const char *kGelu =
    "[model]\nname = gelu\nvocab = 256\ndim = 40\nlayers = 2\nheads = 4\nkv_heads = 2\n"
    "head_dim = 12\nffn = 72\nffn_type = gelu\nnorm = layernorm\nnorm_bias = true\n"
    "window = 7\nrope_theta = 100000\nmax_seq = 40\nseed = 11\n";
const char *kMha =
    "[model]\nname = mha\nvocab = 256\ndim = 32\nlayers = 3\nheads = 2\n"
    "ffn = 80\nffn_type = relu2\nsubln = true\nmax_seq = 40\nseed = 3\n";

std::vector<int> seq_tokens(int n, int vocab, unsigned seed) {
  std::vector<int> t(n);
  unsigned s = seed;
  for (int i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    t[i] = (int)((s >> 8) % (unsigned)vocab);
  }
  return t;
}

// prefill of all tokens (all logits) vs prefill of 1 + decode one by one vs
// two prefill chunks: logits and the int8 cache identical.
void check_decode_equals_prefill(const tern_tfm_config &c, int n) {
  Model M(c);
  ASSERT_TRUE(M.ok);
  char err[512];
  int V = c.vocab;
  std::vector<int> tok = seq_tokens(n, V, 1234u);
  tern_tfm_ictx *a = tern_tfm_ictx_new(&M.q, n, err, sizeof err);
  tern_tfm_ictx *b = tern_tfm_ictx_new(&M.q, n, err, sizeof err);
  tern_tfm_ictx *s = tern_tfm_ictx_new(&M.q, n, err, sizeof err);
  ASSERT_TRUE(a && b && s) << err;
  std::vector<int32_t> all((size_t)n * V), one(V), chunk(V);
  ASSERT_EQ(tern_tfm_iprefill(a, tok.data(), n, all.data(), 1, err, sizeof err), 0) << err;
  for (int i = 0; i < n; i++) {
    if (i == 0)
      ASSERT_EQ(tern_tfm_iprefill(b, tok.data(), 1, one.data(), 0, err, sizeof err), 0) << err;
    else
      ASSERT_EQ(tern_tfm_idecode(b, tok[i], one.data(), err, sizeof err), 0) << err;
    ASSERT_EQ(0, std::memcmp(one.data(), all.data() + (size_t)i * V, V * sizeof(int32_t)))
        << c.name << ": decode step " << i << " differs from prefill";
  }
  int h = n / 3;
  ASSERT_EQ(tern_tfm_iprefill(s, tok.data(), h, chunk.data(), 0, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_tfm_iprefill(s, tok.data() + h, n - h, chunk.data(), 0, err, sizeof err), 0)
      << err;
  EXPECT_EQ(0, std::memcmp(chunk.data(), all.data() + (size_t)(n - 1) * V, V * sizeof(int32_t)));
  EXPECT_EQ(tern_tfm_ictx_pos(a), n);
  EXPECT_EQ(tern_tfm_ictx_pos(b), n);
  int passes = c.layers * c.repeat, kvd = c.kv_heads * c.head_dim;
  for (int p = 0; p < passes; p++) {
    EXPECT_EQ(0, std::memcmp(tern_tfm_ictx_k(a, p), tern_tfm_ictx_k(b, p), (size_t)n * kvd));
    EXPECT_EQ(0, std::memcmp(tern_tfm_ictx_v(a, p), tern_tfm_ictx_v(b, p), (size_t)n * kvd));
    EXPECT_EQ(0, std::memcmp(tern_tfm_ictx_kscale(a, p), tern_tfm_ictx_kscale(b, p),
                             (size_t)n * c.kv_heads * sizeof(int32_t)));
    EXPECT_EQ(0, std::memcmp(tern_tfm_ictx_vscale(a, p), tern_tfm_ictx_vscale(b, p),
                             (size_t)n * c.kv_heads * sizeof(int32_t)));
  }
  // the cache holds real int8 data (not all zero) and scales >= the absmax floor
  const int8_t *k0 = tern_tfm_ictx_k(a, 0);
  int nz = 0;
  for (int i = 0; i < n * kvd; i++) nz += k0[i] != 0;
  EXPECT_GT(nz, n * kvd / 2);
  for (int i = 0; i < n * c.kv_heads; i++) EXPECT_GE(tern_tfm_ictx_kscale(a, 0)[i], TERN_AMIN);
  EXPECT_EQ(tern_tfm_ictx_k(a, passes), nullptr);
  tern_tfm_ictx_free(a);
  tern_tfm_ictx_free(b);
  tern_tfm_ictx_free(s);
}

void report(const char *name, const tern_tfm_fidelity_result &r) {
  std::printf("[ fidelity ] %-22s logit cosine min %.6f mean %.6f, top-1 %d/%d, "
              "last-pass residual max err %.4f (RMS %.3f)\n",
              name, r.min_cosine, r.mean_cosine, r.top1_agree, r.n_prompts,
              r.layer_max_err[r.passes - 1], r.layer_rms[r.passes - 1]);
}

}  // namespace

// ---- tables -------------------------------------------------------------------------

TEST(TfmInt, ExpTables) {
  int32_t hi[256], lo[256];
  tern_exp_hi_table(hi);
  tern_exp_lo_table(lo);
  EXPECT_EQ(hi[128], 1 << 24);  // exp(0), Q24
  EXPECT_EQ(hi[124], (int32_t)std::floor(16777216.0 * std::exp(-1.0) + 0.5));  // 6171992.5..
  EXPECT_EQ(hi[0], 0);           // exp(-32)
  EXPECT_EQ(hi[200], 1 << 24);   // unreachable (z <= 0), defined as exp(0)
  EXPECT_EQ(lo[0], 32784);       // exp(0.5/1024)
  EXPECT_EQ(lo[255], 42054);     // exp(255.5/1024)
  for (int i = 1; i <= 128; i++) EXPECT_GE(hi[i], hi[i - 1]) << i;
  for (int i = 1; i < 256; i++) EXPECT_GT(lo[i], lo[i - 1]) << i;
  // the monotone clamp touches only entries whose e rounds to 0 (k <= 82)
  for (int k = 0; k < 128; k++) EXPECT_LE((int64_t)hi[k] * lo[255], (int64_t)hi[k + 1] * lo[0]);
  for (int k = 83; k <= 128; k++) {
    double v = 16777216.0 * std::exp((k - 128) / 4.0);
    EXPECT_EQ(hi[k], (int32_t)std::floor(v + 0.5)) << k;
    EXPECT_GT(tie_distance(v), 1e-6) << "hi " << k;  // any faithful exp() gives the same bits
  }
  for (int k = 0; k <= 82; k++) EXPECT_EQ(tern_v_mulshr(hi[k], lo[255], 24), 0) << k;
  for (int i = 0; i < 256; i++)
    EXPECT_GT(tie_distance(32768.0 * std::exp((i + 0.5) / 1024.0)), 1e-6) << "lo " << i;
}

TEST(TfmInt, GeluTable) {
  int32_t t[256];
  tern_gelu_table(t);
  EXPECT_EQ(t[0], 0);
  EXPECT_EQ(t[127], 15976);  // Phi(-1/32)
  EXPECT_EQ(t[128], 16792);  // Phi(1/32)
  EXPECT_EQ(t[255], 32768);
  for (int i = 0; i < 256; i++) {
    EXPECT_EQ(t[i] + t[255 - i], 32768) << i;  // Phi(-x) = 1 - Phi(x)
    if (i) {
      EXPECT_GE(t[i], t[i - 1]);
    }
    double x = (i - 128 + 0.5) / 16.0;
    double p = 0.5 * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    if (p * 32768.0 > 1.0 && p * 32768.0 < 32767.0) {
      EXPECT_GT(tie_distance(p * 32768.0), 1e-6) << i;
    }
  }
}

TEST(TfmInt, RopeTable) {
  const int hd = 16, np = 5, half = hd / 2;
  std::vector<int32_t> c(np * half), s(np * half);
  tern_tfm_rope_table(10000.0, hd, np, c.data(), s.data());
  for (int i = 0; i < half; i++) {  // position 0: identity
    EXPECT_EQ(c[i], 16384);
    EXPECT_EQ(s[i], 0);
  }
  EXPECT_EQ(c[half + 0], 8852);   // cos(1) * 2^14 = 8852.3
  EXPECT_EQ(s[half + 0], 13787);  // sin(1) * 2^14 = 13786.7
  // pair 1 of position 1: angle 10000^(-1/8) = 0.316228
  EXPECT_EQ(c[half + 1], (int32_t)std::floor(std::cos(std::pow(10000.0, -0.125)) * 16384 + 0.5));
  EXPECT_EQ(s[half + 1], (int32_t)std::floor(std::sin(std::pow(10000.0, -0.125)) * 16384 + 0.5));
  for (int p = 0; p < np; p++)
    for (int i = 0; i < half; i++) {
      double r = std::hypot((double)c[p * half + i], (double)s[p * half + i]);
      EXPECT_NEAR(r, 16384.0, 1.0);
    }
  // applying: [1, 0] rotated by angle 1 -> [cos 1, sin 1] in Q12
  int32_t v[2] = {4096, 0};
  tern_tfm_rope_int(v, 2, &c[half], &s[half]);
  EXPECT_EQ(v[0], 2213);  // 4096 * 8852 / 2^14 = 2213.0
  EXPECT_EQ(v[1], 3447);  // 3446.75
  int32_t w[4] = {-4096, 100, 8192, -3};
  int32_t w0[4] = {-4096, 100, 8192, -3};
  tern_tfm_rope_int(w, 4, &c[0], &s[0]);  // position 0
  for (int i = 0; i < 4; i++) EXPECT_EQ(w[i], w0[i]);
}

// ---- integer definitions on hand cases -------------------------------------------------

TEST(TfmInt, SoftmaxHandCases) {
  int32_t hi[256], lo[256];
  tern_exp_hi_table(hi);
  tern_exp_lo_table(lo);
  int32_t e[4];
  int32_t s1[2] = {0, -4096};  // scores 0 and -1.0
  int32_t E = tern_tfm_softmax_exp(hi, lo, s1, 2, e);
  EXPECT_EQ(e[0], 32784);  // hi[128] * lo[0] / 2^24
  EXPECT_EQ(e[1], 12061);  // hi[124] * lo[0] / 2^24 = 12060.9 (exp(-1) 2^15 = 12054.6)
  EXPECT_EQ(E, 32784 + 12061);
  // max subtraction: a shift of every score gives the same bits, also all negative
  int32_t s2[2] = {-100000, -104096};
  int32_t e2[2];
  EXPECT_EQ(tern_tfm_softmax_exp(hi, lo, s2, 2, e2), E);
  EXPECT_EQ(e2[0], e[0]);
  EXPECT_EQ(e2[1], e[1]);
  // equal scores: uniform
  int32_t s3[3] = {777, 777, 777};
  EXPECT_EQ(tern_tfm_softmax_exp(hi, lo, s3, 3, e), 3 * 32784);
  for (int j = 0; j < 3; j++) EXPECT_EQ(e[j], 32784);
  // far below the maximum: exactly 0
  int32_t s4[2] = {40 * 4096, 0};
  tern_tfm_softmax_exp(hi, lo, s4, 2, e);
  EXPECT_EQ(e[0], 32784);
  EXPECT_EQ(e[1], 0);
  // one score: p = 1
  int32_t s5 = -5;
  EXPECT_EQ(tern_tfm_softmax_exp(hi, lo, &s5, 1, e), 32784);
  EXPECT_EQ(tern_v_mulshr(e[0], tern_tfm_softmax_recip(32784), 31), 32768);
  // z mod 1024 on a non-multiple: z = -6244 = -7 * 1024 + 924: hi[121] * lo[(924 - 512) / 4 + 128]
  int32_t s6[2] = {0, -6144 - 100};
  tern_tfm_softmax_exp(hi, lo, s6, 2, e);
  int32_t zf = (-6244) - 1024 * (int32_t)std::floor(-6244 / 1024.0);
  EXPECT_EQ(zf, 924);
  EXPECT_EQ(e[1], tern_v_mulshr(hi[128 - 7], lo[((zf - 512) >> 2) + 128], 24));
  EXPECT_NEAR(e[1] / 32768.0, std::exp(-6244 / 4096.0), 0.002);
}

TEST(TfmInt, SoftmaxSumAndMonotone) {
  int32_t hi[256], lo[256];
  tern_exp_hi_table(hi);
  tern_exp_lo_table(lo);
  unsigned st = 99;
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + trial % 60;
    std::vector<int32_t> s(n), e(n);
    for (int j = 0; j < n; j++) {
      st = st * 1103515245u + 12345u;
      s[j] = (int32_t)((st >> 4) % 60000u) - 40000;  // scores in [-9.8, 4.9)
    }
    int32_t E = tern_tfm_softmax_exp(hi, lo, s.data(), n, e.data());
    int32_t G = tern_tfm_softmax_recip(E);
    int64_t sum = 0;
    double mx = *std::max_element(s.begin(), s.end()) / 4096.0, fsum = 0;
    for (int j = 0; j < n; j++) fsum += std::exp(s[j] / 4096.0 - mx);
    for (int j = 0; j < n; j++) {
      int32_t p = tern_v_mulshr(e[j], G, 31);  // Q15 probability
      sum += p;
      EXPECT_NEAR(p / 32768.0, std::exp(s[j] / 4096.0 - mx) / fsum, 0.002) << trial << " " << j;
      for (int k = 0; k < n; k++)
        if (s[j] < s[k]) {
          EXPECT_LE(e[j], e[k]) << "not monotone: " << trial;
        }
    }
    EXPECT_LE(std::llabs(sum - 32768), n) << "probabilities must sum to 2^15 within n LSB";
  }
}

TEST(TfmInt, NormHandCases) {
  // LayerNorm with bias (g = 1, b = [0, 0, 0, 0.5]), constants written by hand
  tern_tfm_qnorm q;
  std::memset(&q, 0, sizeof q);
  int32_t gq[4] = {16384, 16384, 16384, 16384}, bq[4] = {0, 0, 0, 2048};
  q.n = 4;
  q.layer = 1;
  q.inv_n = 1 << 28;              // round(2^30 / 4)
  q.ss_shift = 6 + 2;
  q.eps_c = 3;                    // round(1e-5 * 2^18 * 4/4)
  q.rs_num = 4;
  q.rs_shift = 58 - 2;
  q.g_q = gq;
  q.b_q = bq;
  int32_t x[4] = {4096, 8192, 12288, 16384}, y[4];  // 1, 2, 3, 4
  tern_tfm_norm_int(&q, x, y);
  // mean 2.5, var 1.25: (x - 2.5) / sqrt(1.25 + 1e-5) = -1.34164, -0.44721, 0.44721, 1.34164
  const double ref[4] = {-1.341635, -0.447212, 0.447212, 1.341635 + 0.5};
  for (int i = 0; i < 4; i++) EXPECT_NEAR(y[i] / 4096.0, ref[i], 1.5 / 4096) << i;
  EXPECT_EQ(y[1], -y[2]);
  // shift invariance of LayerNorm (exact: the mean is an integer here)
  int32_t x2[4] = {4096 + 40960, 8192 + 40960, 12288 + 40960, 16384 + 40960}, y2[4];
  tern_tfm_norm_int(&q, x2, y2);
  for (int i = 0; i < 4; i++) EXPECT_EQ(y2[i], y[i]);
  // RMSNorm, no bias: [3, 4] / sqrt(12.5) = [0.848528, 1.131371]
  q.layer = 0;
  q.b_q = nullptr;
  int32_t r[4] = {3 * 4096, 4 * 4096, 0, 0}, ry[4];
  q.n = 2;
  q.ss_shift = 6 + 1;
  q.rs_num = 2;
  q.rs_shift = 58 - 1;
  tern_tfm_norm_int(&q, r, ry);
  EXPECT_NEAR(ry[0] / 4096.0, 0.848528, 1.0 / 4096);
  EXPECT_NEAR(ry[1] / 4096.0, 1.131371, 1.0 / 4096);
  // gains: g = 2 doubles (Q14 32768)
  int32_t g2[2] = {32768, 32768};
  q.g_q = g2;
  int32_t ry2[2];
  tern_tfm_norm_int(&q, r, ry2);
  EXPECT_NEAR(ry2[0], 2 * ry[0], 1);
  EXPECT_NEAR(ry2[1], 2 * ry[1], 1);
}

TEST(TfmInt, QuantRowAndBitlinear) {
  int32_t x[3] = {4096, -2048, 1024};  // 1, -0.5, 0.25
  int8_t q[3];
  EXPECT_EQ(tern_tfm_quant_row(x, 3, q), 4096);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -63);  // -63.5 rounds half up
  EXPECT_EQ(q[2], 32);   // 31.75
  int32_t z[2] = {0, 0};
  int8_t qz[2];
  EXPECT_EQ(tern_tfm_quant_row(z, 2, qz), TERN_AMIN);
  EXPECT_EQ(qz[0], 0);
  // BitLinear 3 -> 2: W = [[1, -1], [0, 1], [-1, -1]], beta = 0.5
  int8_t w[6] = {1, -1, 0, 1, -1, -1};
  uint8_t codes[2];
  tern_tpack(w, 6, codes);
  tern_tpacked tp = {3, 2, 0.5f, codes};
  tern_tfm_qlinear l;
  l.w = &tp;
  l.beta_frac = 37;  // round(0.5/127 * 2^38) = 1082228903 >= 2^30, so 37
  l.beta_c = (int32_t)std::llround(std::ldexp(0.5 / 127.0, 37));
  l.s_d = 37 - 16;
  int32_t acc[2], y[2];
  tern_tfm_bitlinear_int(&l, q, 4096, acc, y);
  EXPECT_EQ(acc[0], 127 - 32);
  EXPECT_EQ(acc[1], -127 - 63 - 32);
  // y = acc * beta * gamma / 127 with gamma = 1: 0.374016, -0.874016
  EXPECT_NEAR(y[0] / 4096.0, 95 * 0.5 / 127, 1.0 / 4096);
  EXPECT_NEAR(y[1] / 4096.0, -222 * 0.5 / 127, 1.0 / 4096);
}

TEST(TfmInt, QuantizeConstants) {
  Model M(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(M.ok);
  const tern_tfm_qmodel &q = M.q;
  EXPECT_EQ(q.att_c, (int32_t)std::llround(std::ldexp(1.0, 36) / (16129.0 * 4.0)));  // hd 16
  EXPECT_EQ(q.pv_c, 66572);
  EXPECT_EQ(q.head_c, q.embed_c);  // tied
  EXPECT_EQ(q.block[0].attn_norm.ss_shift, 6 + 6);  // d = 64
  EXPECT_EQ(q.block[0].attn_norm.eps_c, 3);         // round(1e-5 * 2^18) = 2.6
  for (int b = 0; b < q.cfg.layers; b++) {
    EXPECT_GE(q.block[b].wq.beta_c, 1 << 29);
    EXPECT_LT(q.block[b].wq.beta_c, 1 << 30);
    EXPECT_EQ(q.block[b].wq.s_d, q.block[b].wq.beta_frac - 16);
    EXPECT_NE(q.block[b].attn_subln.g_q, nullptr);  // tiny has SubLN
  }
  for (int v = 0; v < q.cfg.vocab; v++)
    EXPECT_EQ(q.embed_c[v], (int32_t)std::llround(std::ldexp(M.m.embed.scale[v], 28)));
  // embedding lookup (E1): MULSHR(q8, embed_c, 16) = q8 * scale in Q12 within 0.5 LSB + the
  // 2^-28 rounding of the scale; token 65 ('A')
  const int8_t *row = M.m.embed.q + (size_t)65 * q.cfg.dim;
  for (int j = 0; j < q.cfg.dim; j++) {
    double want = row[j] * (double)M.m.embed.scale[65] * 4096.0;
    EXPECT_NEAR(tern_v_mulshr(row[j], q.embed_c[65], 16), want, 0.5 + 1e-3) << j;
  }
}

// ---- the integer model ----------------------------------------------------------------------

TEST(TfmInt, DecodeEqualsPrefillTiny) { check_decode_equals_prefill(tern_test::PresetConfig("tiny"), 24); }
TEST(TfmInt, DecodeEqualsPrefillNemotron) {
  check_decode_equals_prefill(tern_test::PresetConfig("nemotron4-style-tiny"), 20);
}
TEST(TfmInt, DecodeEqualsPrefillStarcoderBeyondWindow) {
  check_decode_equals_prefill(tern_test::PresetConfig("starcoder2-style-tiny"), 70);  // window 64
}
TEST(TfmInt, DecodeEqualsPrefillMqaWindowRepeatShared) {
  check_decode_equals_prefill(tern_test::ParseConfig(kMqa), 23);
}
TEST(TfmInt, DecodeEqualsPrefillGeluLayerNormBias) { check_decode_equals_prefill(tern_test::ParseConfig(kGelu), 21); }
TEST(TfmInt, DecodeEqualsPrefillMhaSubln) { check_decode_equals_prefill(tern_test::ParseConfig(kMha), 17); }

TEST(TfmInt, WindowLimitsAttention) {
  // with window 5, the logits at position t do not depend on tokens before t - 4 ... in the
  // first block; later blocks see further through the residual stream.  With ONE layer and
  // no repeat the dependence is exactly the window.
  std::string t = kMqa;
  t.replace(t.find("layers = 2"), 10, "layers = 1");
  t.replace(t.find("repeat = 2"), 10, "repeat = 1");
  tern_tfm_config c = tern_test::ParseConfig(t);
  Model M(c);
  ASSERT_TRUE(M.ok);
  char err[512];
  std::vector<int> a = seq_tokens(12, c.vocab, 5), b = a;
  b[0] = (b[0] + 1) % c.vocab;  // outside the window of position 11 (sees 7..11)
  b[6] = (b[6] + 1) % c.vocab;
  std::vector<int32_t> la(c.vocab), lb(c.vocab);
  tern_tfm_ictx *x = tern_tfm_ictx_new(&M.q, 12, err, sizeof err);
  ASSERT_NE(x, nullptr) << err;
  ASSERT_EQ(tern_tfm_iprefill(x, a.data(), 12, la.data(), 0, err, sizeof err), 0) << err;
  tern_tfm_ictx_reset(x);
  ASSERT_EQ(tern_tfm_iprefill(x, b.data(), 12, lb.data(), 0, err, sizeof err), 0) << err;
  EXPECT_EQ(la, lb);
  tern_tfm_ictx_reset(x);
  b[7] = (b[7] + 1) % c.vocab;  // inside the window
  ASSERT_EQ(tern_tfm_iprefill(x, b.data(), 12, lb.data(), 0, err, sizeof err), 0) << err;
  EXPECT_NE(la, lb);
  tern_tfm_ictx_free(x);
}

TEST(TfmInt, Errors) {
  Model M(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(M.ok);
  char err[512];
  EXPECT_EQ(tern_tfm_ictx_new(&M.q, 257, err, sizeof err), nullptr);
  EXPECT_NE(std::strstr(err, "max_seq"), nullptr) << err;
  tern_tfm_ictx *x = tern_tfm_ictx_new(&M.q, 3, err, sizeof err);
  ASSERT_NE(x, nullptr) << err;
  std::vector<int32_t> l(256);
  int bad[2] = {1, 256};
  EXPECT_EQ(tern_tfm_iprefill(x, bad, 2, l.data(), 0, err, sizeof err), -1);
  EXPECT_NE(std::strstr(err, "token 256 at index 1"), nullptr) << err;
  int ok[3] = {1, 2, 3};
  EXPECT_EQ(tern_tfm_iprefill(x, ok, 3, l.data(), 0, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_tfm_idecode(x, 4, l.data(), err, sizeof err), -1);
  EXPECT_NE(std::strstr(err, "KV cache full"), nullptr) << err;
  EXPECT_EQ(tern_tfm_iprefill(x, ok, 0, l.data(), 0, err, sizeof err), -1);
  tern_tfm_ictx_free(x);
  tern_tfm_fidelity_result r;
  EXPECT_EQ(tern_tfm_fidelity("no-such-model", 2, nullptr, &r, err, sizeof err), -1);
  EXPECT_NE(std::strstr(err, "no-such-model"), nullptr) << err;
  EXPECT_EQ(tern_tfm_fidelity("tiny", 0, nullptr, &r, err, sizeof err), -1);
  EXPECT_NE(std::strstr(err, "n_prompts"), nullptr) << err;
  EXPECT_EQ(tern_tfm_fidelity("tiny", 9, nullptr, &r, err, sizeof err), -1);
}

TEST(TfmInt, FidelityTokens) {
  int t[8];
  EXPECT_EQ(tern_tfm_fidelity_tokens("Hi!", 256, t, 8), 3);
  EXPECT_EQ(t[0], 'H');
  EXPECT_EQ(tern_tfm_fidelity_tokens("Hi!", 32000, t, 8), 3);
  EXPECT_EQ(t[2], '!');
  EXPECT_EQ(tern_tfm_fidelity_tokens("Hi!", 100, t, 8), 3);
  EXPECT_EQ(t[0], 'H' % 100);
  EXPECT_EQ(tern_tfm_fidelity_tokens("Hello", 256, t, 2), 2);
  for (int i = 0; i < TERN_TFM_FID_PROMPTS; i++) ASSERT_NE(tern_tfm_fidelity_prompt(i), nullptr);
  EXPECT_EQ(tern_tfm_fidelity_prompt(TERN_TFM_FID_PROMPTS), nullptr);
}

// ---- fidelity -------------------------------------------------------------------------------

TEST(TfmInt, FidelityTinyDefault) {
  tern_tfm_fidelity_result r;
  char err[512];
  ASSERT_EQ(tern_tfm_fidelity(tern_tfm_default_preset(), TERN_TFM_FID_PROMPTS, nullptr, &r, err,
                              sizeof err),
            0)
      << err;
  ASSERT_EQ(r.n_prompts, TERN_TFM_FID_PROMPTS);
  for (int i = 0; i < r.n_prompts; i++) {
    EXPECT_GE(r.cosine[i], 0.99) << "prompt " << i << ": " << tern_tfm_fidelity_prompt(i);
    EXPECT_GE(r.min_step_cosine[i], 0.99) << "prompt " << i;
    EXPECT_LT(r.cosine[i], 1.0) << "integer and float must not be identical";
  }
  EXPECT_GE(r.top1_agree, 6) << "top-1 agreement " << r.top1_agree << "/8";
  for (int i = 0; i < r.n_prompts; i++) {
    // a disagreement is a near-tie of the float logits, never a different answer
    EXPECT_LT(r.top1_gap[i], 0.2) << "prompt " << i;
    if (r.top1[i]) {
      EXPECT_EQ(r.top1_gap[i], 0.0);
    }
  }
  for (int p = 0; p < r.passes; p++) {
    EXPECT_GT(r.layer_max_err[p], 0.0);
    EXPECT_LT(r.layer_max_err[p], 0.5 * r.layer_rms[p] + 0.1) << "pass " << p;
  }
  report("tiny", r);
  tern_tfm_fidelity_result_free(&r);
}

TEST(TfmInt, FidelityOtherTinyPresets) {
  for (const char *name : {"nemotron4-style-tiny", "starcoder2-style-tiny"}) {
    tern_tfm_fidelity_result r;
    char err[512];
    ASSERT_EQ(tern_tfm_fidelity(name, TERN_TFM_FID_PROMPTS, nullptr, &r, err, sizeof err), 0)
        << err;
    for (int i = 0; i < r.n_prompts; i++) {
      EXPECT_GE(r.cosine[i], 0.99) << name << " prompt " << i;
      EXPECT_LT(r.top1_gap[i], 0.2) << name << " prompt " << i;
    }
    report(name, r);
    tern_tfm_fidelity_result_free(&r);
  }
}

TEST(TfmInt, FidelityFeatureConfigs) {
  for (const char *text : {kMqa, kGelu, kMha}) {
    tern_tfm_config c = tern_test::ParseConfig(text);
    Model M(c);
    ASSERT_TRUE(M.ok);
    tern_tfm_fidelity_result r;
    char err[512];
    ASSERT_EQ(tern_tfm_fidelity_model(&M.m, 4, nullptr, &r, err, sizeof err), 0) << err;
    EXPECT_EQ(r.passes, c.layers * c.repeat);
    for (int i = 0; i < r.n_prompts; i++) EXPECT_GE(r.cosine[i], 0.99) << c.name << " " << i;
    report(c.name, r);
    tern_tfm_fidelity_result_free(&r);
  }
}

TEST(TfmInt, FidelityReportPrints) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  tern_tfm_fidelity_result r;
  char err[512];
  ASSERT_EQ(tern_tfm_fidelity("tiny", 2, f, &r, err, sizeof err), 0) << err;
  std::fclose(f);
  std::string s(buf, len);
  std::free(buf);
  EXPECT_NE(s.find("prompt 1 The quick brown fox"), std::string::npos) << s;
  EXPECT_NE(s.find("pass   3"), std::string::npos) << s;
  EXPECT_EQ(r.n_prompts, 2);
  tern_tfm_fidelity_result_free(&r);
}
