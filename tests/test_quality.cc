// Fidelity as model quality (include/tern/quality.h): bits per byte of the
// float and integer references and of the accelerator on a text, against a
// direct computation from the references' logits; bad inputs are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tern/quality.h"
#include "tern/tfm.h"

namespace {

std::string WriteText(const std::string &s) {
  char p[] = "/tmp/tern_quality_XXXXXX";
  int fd = mkstemp(p);
  EXPECT_GE(fd, 0);
  FILE *f = fdopen(fd, "wb");
  fwrite(s.data(), 1, s.size(), f);
  fclose(f);
  return p;
}

const char *kText =
    "The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with a "
    "single step. Those who cannot remember the past are condemned to repeat it.\n";

// The protocol by hand on the float reference: windows of W + 1 bytes, stride W.
double FloatBpbByHand(const std::string &t, int W) {
  tern_tfm_config c;
  char err[512];
  EXPECT_EQ(tern_tfm_preset("tiny", &c, err, sizeof err), 0);
  tern_tfm_model m;
  EXPECT_EQ(tern_tfm_generate(&c, &m, 0, err, sizeof err), 0);
  tern_tfm_ctx *x = tern_tfm_ctx_new(&m, W, err, sizeof err);
  double bits = 0;
  size_t cnt = 0;
  for (size_t s = 0; s + 1 < t.size(); s += (size_t)W) {
    int len = (int)std::min((size_t)W + 1, t.size() - s);
    // one position at a time through decode (not the all-logits prefill)
    tern_tfm_ctx_reset(x);
    std::vector<float> l(256);
    for (int i = 0; i + 1 < len; i++) {
      int tok = (unsigned char)t[s + (size_t)i];
      EXPECT_EQ(tern_tfm_decode(x, tok, l.data(), err, sizeof err), 0) << err;
      double mx = -1e30, z = 0;
      for (float v : l) mx = std::fmax(mx, v);
      for (float v : l) z += std::exp(v - mx);
      bits += (mx + std::log(z) - l[(unsigned char)t[s + (size_t)i + 1]]) / std::log(2.0);
      cnt++;
    }
  }
  tern_tfm_ctx_free(x);
  tern_tfm_free(&m);
  return bits / (double)cnt;
}

TEST(Quality, BitsPerByteOfReferencesAndAccelerator) {
  std::string text = kText;
  std::string p = WriteText(text);
  tern_quality_config c;
  tern_quality_config_default(&c);
  c.model = "tiny";
  c.text = p.c_str();
  c.window = 40;
  c.backend = "isa";
  c.accel_bytes = 60;
  c.hw = tern_hwcfg_small(4, 4);
  tern_quality_result r;
  char err[1024];
  ASSERT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), 0) << err;
  EXPECT_EQ(r.bytes, text.size());
  EXPECT_EQ(r.predicted, text.size() - 1);  // every byte but the first, once
  EXPECT_NEAR(r.bpb_float, FloatBpbByHand(text, 40), 1e-4);
  EXPECT_GT(r.bpb_int, 0.0);
  EXPECT_LT(std::fabs(r.rel_cost), 0.05);
  // 60 bytes: window 0 = bytes 0..40 (40 predicted), window 1 = bytes 40..59 (19 predicted)
  EXPECT_EQ(r.accel_predicted, 59u);
  EXPECT_EQ(r.accel_bit_exact, r.accel_predicted);
  EXPECT_DOUBLE_EQ(r.bpb_accel, r.bpb_int_slice);
  EXPECT_GT(r.accel_cycles, 0u);
  remove(p.c_str());
}

// A recurrent model: the same protocol, the recurrent step runner's every-row logits.
TEST(Quality, RecurrentModelOnTheAccelerator) {
  std::string text = kText;
  std::string p = WriteText(text);
  for (const char *m : {"hawk-tiny", "griffin-tiny"}) {
    SCOPED_TRACE(m);
    tern_quality_config c;
    tern_quality_config_default(&c);
    c.model = m;
    c.text = p.c_str();
    c.window = 48;
    c.backend = "isa";
    c.accel_bytes = 100;
    c.hw = tern_hwcfg_small(4, 4);
    tern_quality_result r;
    char err[1024];
    ASSERT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), 0) << err;
    EXPECT_EQ(r.predicted, text.size() - 1);
    EXPECT_EQ(r.window, 48);
    EXPECT_EQ(r.accel_predicted, 99u);
    EXPECT_EQ(r.accel_bit_exact, r.accel_predicted);
    EXPECT_DOUBLE_EQ(r.bpb_accel, r.bpb_int_slice);
    EXPECT_LT(std::fabs(r.rel_cost), 0.05);
  }
  remove(p.c_str());
}

TEST(Quality, RefusesBadInputs) {
  std::string p = WriteText("x");
  tern_quality_config c;
  tern_quality_config_default(&c);
  tern_quality_result r;
  char err[1024];
  c.model = "tiny";
  c.text = p.c_str();
  EXPECT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::strstr(err, "expected at least 2"), nullptr) << err;
  c.text = "/nonexistent/file";
  EXPECT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::strstr(err, "/nonexistent/file: cannot open"), nullptr) << err;
  c.text = p.c_str();
  c.model = "mobilellm-125m";
  EXPECT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::strstr(err, "needs a byte-level model"), nullptr) << err;
  c.model = "tiny";
  c.window = 1000;
  EXPECT_EQ(tern_quality(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::strstr(err, "--window 1000, expected 1..256"), nullptr) << err;
  remove(p.c_str());
}

}  // namespace
