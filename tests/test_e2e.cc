// End-to-end differential tests of the whole slice: the MLP graph compiled
// for several shapes and token counts, run on the RTL (Verilator) and on the
// ISA simulator, on two array sizes.  Each run must be bit-exact against the
// integer reference, and the RTL and the ISA simulator must agree on every
// counter (CYCLES included).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tern/counters.h"
#include "tern/runtime.h"

namespace {

struct Shape {
  int rows;
  int tokens, d, f, layers;
  tern_act act;
};

void RunBoth(const Shape &s) {
  tern_run_config rc;
  tern_run_config_default(&rc);
  rc.hw = tern_hwcfg_small(s.rows, s.rows);
  rc.tokens = s.tokens;
  rc.model.d = s.d;
  rc.model.f = s.f;
  rc.model.layers = s.layers;
  rc.model.act = s.act;
  rc.model.seed = 100u + (unsigned)s.d;
  auto isa = std::make_unique<tern_run_result>();
  auto rtl = std::make_unique<tern_run_result>();
  char err[2048] = "";
  rc.backend = "isa";
  ASSERT_EQ(tern_run(&rc, isa.get(), err, sizeof err), 0) << err;
  rc.backend = "rtl";
  ASSERT_EQ(tern_run(&rc, rtl.get(), err, sizeof err), 0) << err;
  EXPECT_TRUE(isa->bit_exact) << "ISA sim: first mismatch token " << isa->mm_token << " elem "
                              << isa->mm_elem << " got " << isa->mm_got << " expected "
                              << isa->mm_expected;
  EXPECT_TRUE(rtl->bit_exact) << "RTL: first mismatch token " << rtl->mm_token << " elem "
                              << rtl->mm_elem << " got " << rtl->mm_got << " expected "
                              << rtl->mm_expected;
  for (int i = 0; i < TERN_NCOUNTERS; i++)
    EXPECT_EQ(rtl->cnt.v[i], isa->cnt.v[i]) << "counter " << tern_counter_name(i);
  EXPECT_GE(rtl->cosine, 0.99);
  EXPECT_GT(rtl->cnt.v[TERN_CNT_CYCLES], 0u);
}

}  // namespace

TEST(EndToEnd, Mlp4x4SingleToken) { RunBoth({4, 1, 16, 32, 1, TERN_ACT_RELU2}); }
TEST(EndToEnd, Mlp4x4RaggedTwoLayers) { RunBoth({4, 3, 18, 42, 2, TERN_ACT_RELU2}); }
TEST(EndToEnd, Mlp4x4Silu) { RunBoth({4, 5, 24, 40, 1, TERN_ACT_SILU}); }
TEST(EndToEnd, Mlp8x8SingleToken) { RunBoth({8, 1, 40, 72, 2, TERN_ACT_RELU2}); }
TEST(EndToEnd, Mlp8x8ManyTokens) { RunBoth({8, 17, 36, 60, 1, TERN_ACT_SILU}); }
TEST(EndToEnd, Mlp8x8Ragged) { RunBoth({8, 6, 20, 52, 3, TERN_ACT_RELU2}); }
