// FFN half of a transformer block compiled to the ISA (compiler/tfm_ffn.c):
// bit-exact against the integer reference (tern_tfm_ffn_half_int, the steps
// F0-F10 of models/tfm_int.c) on the ISA simulator for the tiny presets and
// extra feature configs, M = 1 and 5, 4x4 and 8x8; RTL vs ISA simulator on
// 4x4.  Every preset's block: tests/test_tfm_step.cc.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler_tfm.h"
#include "tern/hwcfg.h"
#include "tern/numerics.h"
#include "tern/program.h"
#include "tern/rnn.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"
#include "tfm_fixtures.h"

namespace {

using FullModel = tern_test::QModel;



// SwiGLU with odd widths (padding of dim and ffn on every array size);
// LayerNorm with bias + SubLN + SwiGLU (the SubLN's centring needs the
// padding lanes re-zeroed).
const char *kSwiglu =
    "[model]\nname = swiglu\nvocab = 64\ndim = 36\nlayers = 2\nheads = 2\nkv_heads = 1\n"
    "ffn = 70\nffn_type = swiglu\nmax_seq = 16\nseed = 5\n";
// one FFN shared by all blocks (MobiLlama): every block's program uses it
const char *kShared =
    "[model]\nname = shared\nvocab = 64\ndim = 32\nlayers = 3\nheads = 2\nkv_heads = 1\n"
    "ffn = 48\nffn_type = swiglu\nshare_ffn = true\nmax_seq = 16\nseed = 13\n";



// Compiles the FFN half, writes x (garbage in the padding lanes), returns the DRAM image.
bool prepare(const tern_tfm_ffn_half &h, const tern_hwcfg &hw, int M,
             const std::vector<int32_t> &x, tern_program *p, std::vector<uint8_t> *dram) {
  char err[512];
  tern_compile_opts o{};
  o.tokens = M;
  if (tern_compile_tfm_ffn_half(&h, &hw, &o, p, err, sizeof err)) {
    ADD_FAILURE() << "compile: " << err;
    return false;
  }
  const tern_tensor_ref *tx = tern_program_find_tensor(p, "x");
  const tern_tensor_ref *ty = tern_program_find_tensor(p, "y");
  if (!tx || !ty) {
    ADD_FAILURE() << "tensor map lacks x or y";
    return false;
  }
  int d = h.cfg->dim;
  EXPECT_EQ(tx->rows, (uint32_t)M);
  EXPECT_EQ(tx->cols, (uint32_t)d);
  EXPECT_EQ(tx->row_stride % 4, 0u);
  dram->assign(p->dram_size, 0);
  if (tern_program_init_dram(p, dram->data(), dram->size(), err, sizeof err)) {
    ADD_FAILURE() << err;
    return false;
  }
  for (int r = 0; r < M; r++)
    for (uint32_t c = 0; c < tx->row_stride / 4; c++) {
      int32_t v = c < (uint32_t)d ? x[(size_t)r * d + c] : (int32_t)(0x5a5a5a5a + c * 977 + r);
      std::memcpy(&(*dram)[tx->dram_addr + (size_t)r * tx->row_stride + 4 * c], &v, 4);
    }
  return true;
}

// Compares "y" in dram with ref; returns the number of mismatches (reports the first few).
int compare_y(const tern_program &p, const std::vector<uint8_t> &dram, int M, int d,
              const std::vector<int32_t> &ref) {
  const tern_tensor_ref *ty = tern_program_find_tensor(&p, "y");
  int bad = 0;
  for (int r = 0; r < M; r++)
    for (int c = 0; c < d; c++) {
      int32_t got = tern_test::Rd32(&dram[ty->dram_addr + (size_t)r * ty->row_stride + 4 * c]);
      if (got != ref[(size_t)r * d + c] && bad++ < 5)
        ADD_FAILURE() << "y[" << r << "][" << c << "] = " << got << ", reference "
                      << ref[(size_t)r * d + c];
    }
  return bad;
}

// Compile + ISA simulator vs integer reference.
void check_isa(const tern_tfm_ffn_half &h, const tern_hwcfg &hw, int M, uint32_t seed,
               tern_counters *cnt_out = nullptr) {
  SCOPED_TRACE(testing::Message() << h.cfg->name << " " << hw.rows << "x" << hw.cols
                                  << " M=" << M);
  int d = h.cfg->dim;
  std::vector<int32_t> x = tern_test::MakeInput(M, d, seed), ref((size_t)M * d);
  char err[512];
  ASSERT_EQ(0, tern_tfm_ffn_half_int(&h, x.data(), M, ref.data(), err, sizeof err)) << err;
  // the FFN changes the stream (a test of y == x could not fail otherwise)
  int changed = 0;
  for (size_t i = 0; i < ref.size(); i++) changed += ref[i] != x[i];
  EXPECT_GT(changed, (int)ref.size() / 2);
  tern_program p;
  std::vector<uint8_t> dram;
  ASSERT_TRUE(prepare(h, hw, M, x, &p, &dram));
  tern_counters cnt;
  tern_run_opts ro{};
  int rc = tern_isasim_run(&p.cfg, p.insns, p.n_insns, dram.data(), dram.size(), &ro, &cnt, err,
                           sizeof err);
  EXPECT_EQ(rc, 0) << err;
  if (rc == 0) {
    EXPECT_EQ(0, compare_y(p, dram, M, d, ref));
    EXPECT_EQ(cnt.v[TERN_CNT_GEMM_ROWS] > 0, true);
    if (cnt_out) *cnt_out = cnt;
  }
  tern_program_free(&p);
}

// tern_hwcfg_small(rc, rc) with the default's IMEM depth: the FFN of the
// nemotron/starcoder tiny presets is 8192 GEMMs per token block on 4x4
// (one per tile), more than the small config's 8192-entry IMEM.
tern_hwcfg small_deep(int rc) {
  tern_hwcfg hw = tern_hwcfg_small(rc, rc);
  hw.imem_depth = 65536;
  return hw;
}

void check_model_isa(const tern_tfm_config &c, int block) {
  FullModel fm(c);
  ASSERT_TRUE(fm.ok);
  tern_tfm_ffn_half h;
  char err[512];
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&fm.q, block, &h, err, sizeof err)) << err;
  for (int rc : {4, 8}) {
    tern_hwcfg hw = small_deep(rc);
    for (int M : {1, 5}) check_isa(h, hw, M, 100u + (uint32_t)M + (uint32_t)rc);
  }
}

}  // namespace

TEST(TfmFfn, IsaTinyRelu2GluSubln) { check_model_isa(tern_test::PresetConfig("tiny"), 1); }
TEST(TfmFfn, IsaNemotronTinyLayerNormRelu2) { check_model_isa(tern_test::PresetConfig("nemotron4-style-tiny"), 0); }
TEST(TfmFfn, IsaStarcoder2TinyLayerNormBiasGelu) {
  check_model_isa(tern_test::PresetConfig("starcoder2-style-tiny"), 2);
}
TEST(TfmFfn, IsaSwigluPadded) { check_model_isa(tern_test::ParseConfig(kSwiglu), 1); }
TEST(TfmFfn, IsaLayerNormBiasSublnSwigluPadded) { check_model_isa(tern_test::ParseConfig(tern_test::kLnSubln), 0); }
TEST(TfmFfn, IsaSharedFfn) {
  check_model_isa(tern_test::ParseConfig(kShared), 0);
  check_model_isa(tern_test::ParseConfig(kShared), 2);
}

// The entry point on the whole model gives the same program as the view.
TEST(TfmFfn, CompileFromModelEqualsView) {
  FullModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  tern_compile_opts o{};
  o.tokens = 3;
  char err[512];
  tern_program a, b;
  ASSERT_EQ(0, tern_compile_tfm_ffn(&fm.q, 2, &hw, &o, &a, err, sizeof err)) << err;
  tern_tfm_ffn_half h;
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&fm.q, 2, &h, err, sizeof err)) << err;
  ASSERT_EQ(0, tern_compile_tfm_ffn_half(&h, &hw, &o, &b, err, sizeof err)) << err;
  ASSERT_EQ(a.n_insns, b.n_insns);
  EXPECT_EQ(0, std::memcmp(a.insns, b.insns, a.n_insns * sizeof *a.insns));
  // a different block has different weights: a different image
  tern_program c3;
  ASSERT_EQ(0, tern_compile_tfm_ffn(&fm.q, 3, &hw, &o, &c3, err, sizeof err)) << err;
  bool same = a.n_segs == c3.n_segs;
  for (size_t i = 0; same && i < a.n_segs; i++)
    same = a.segs[i].len == c3.segs[i].len &&
           !std::memcmp(a.segs[i].data, c3.segs[i].data, a.segs[i].len);
  EXPECT_FALSE(same);
  tern_program_free(&a);
  tern_program_free(&b);
  tern_program_free(&c3);
}

TEST(TfmFfn, Errors) {
  FullModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  tern_compile_opts o{};
  o.tokens = 1;
  char err[512];
  tern_program p;
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 4, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("block 4"), std::string::npos) << err;
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, -1, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(0, tern_compile_tfm_ffn(nullptr, 0, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 0, nullptr, &o, &p, err, sizeof err));
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 0, &hw, nullptr, &p, err, sizeof err));
  o.tokens = 0;
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 0, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("tokens"), std::string::npos) << err;
  o.tokens = 1;
  tern_hwcfg tiny_acc = hw;
  tiny_acc.acc_depth = 64;
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 0, &tiny_acc, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("ACC"), std::string::npos) << err;
  o.dump_after = "nope";
  EXPECT_NE(0, tern_compile_tfm_ffn(&fm.q, 0, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("nope"), std::string::npos) << err;
  // a view with a wrong norm width is rejected, naming it
  tern_tfm_ffn_half h;
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&fm.q, 0, &h, err, sizeof err)) << err;
  tern_tfm_qnorm bad = *h.norm;
  bad.n = 7;
  h.norm = &bad;
  o.dump_after = nullptr;
  EXPECT_NE(0, tern_compile_tfm_ffn_half(&h, &hw, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("ffn norm"), std::string::npos) << err;
}

TEST(TfmFfn, DumpAfterBuild) {
  FullModel fm(tern_test::PresetConfig("starcoder2-style-tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  tern_compile_opts o{};
  o.tokens = 2;
  o.dump_after = "build";
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  o.dump_to = f;
  char err[512];
  tern_program p;
  ASSERT_EQ(0, tern_compile_tfm_ffn(&fm.q, 0, &hw, &o, &p, err, sizeof err)) << err;
  fclose(f);
  std::string s(buf, len);
  free(buf);
  EXPECT_NE(s.find("TNORM"), std::string::npos) << s;
  EXPECT_NE(s.find("FFN_ACT"), std::string::npos) << s;
  EXPECT_NE(s.find("act.gelu"), std::string::npos) << s;
  EXPECT_NE(s.find("matrix up"), std::string::npos) << s;
  tern_program_free(&p);
}

// One decode token through block 0's FFN (and attention) of every preset,
// the shared FFN of MobiLlama included: TfmStep.EveryPresetOneBlockDecode
// (tests/test_tfm_step.cc, on block-alone models).

// RTL vs ISA simulator: the tiny preset's FFN on 4x4, every counter and the
// whole DRAM image equal.
TEST(TfmFfn, RtlEqualsIsaTiny4x4) {
  FullModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_tfm_ffn_half h;
  char err[512];
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&fm.q, 0, &h, err, sizeof err)) << err;
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  for (int M : {1, 3}) {
    SCOPED_TRACE(testing::Message() << "M=" << M);
    std::vector<int32_t> x = tern_test::MakeInput(M, h.cfg->dim, 77u + (uint32_t)M), ref(x.size());
    ASSERT_EQ(0, tern_tfm_ffn_half_int(&h, x.data(), M, ref.data(), err, sizeof err)) << err;
    tern_program p;
    std::vector<uint8_t> d_isa;
    ASSERT_TRUE(prepare(h, hw, M, x, &p, &d_isa));
    std::vector<uint8_t> d_rtl = d_isa;
    tern_counters c_isa, c_rtl;
    tern_run_opts ro{};
    ASSERT_EQ(0, tern_backend_run("isa", &p.cfg, p.insns, p.n_insns, d_isa.data(), d_isa.size(),
                                  &ro, &c_isa, err, sizeof err))
        << err;
    ASSERT_EQ(0, tern_backend_run("rtl", &p.cfg, p.insns, p.n_insns, d_rtl.data(), d_rtl.size(),
                                  &ro, &c_rtl, err, sizeof err))
        << err;
    for (int i = 0; i < TERN_NCOUNTERS; i++)
      EXPECT_EQ(c_isa.v[i], c_rtl.v[i]) << "counter " << tern_counter_name(i);
    EXPECT_TRUE(d_isa == d_rtl) << "DRAM images differ";
    EXPECT_EQ(0, compare_y(p, d_rtl, M, h.cfg->dim, ref));
    tern_program_free(&p);
  }
}

// The recurrent models' gated MLP is this FFN half seen through the
// transformer view of the integer recurrent model (include/tern/rnn.h): SwiGLU
// structure with the GELU (hawk/griffin) or sigmoid (mlgru) table read
// interpolated (docs/NUMERICS.md I1-I6), on 4x4 and 8x8, M = 1 and 5.
TEST(TfmFfn, IsaRecurrentMlpInterpolatedTable) {
  for (const char *name : {"hawk-tiny", "matmulfree-tiny"}) {
    SCOPED_TRACE(name);
    tern_rnn_config c;
    tern_rnn_model m;
    std::memset(&m, 0, sizeof m);
    char err[512];
    ASSERT_EQ(0, tern_rnn_preset(name, &c, err, sizeof err)) << err;
    ASSERT_EQ(0, tern_rnn_generate(&c, &m, 0, err, sizeof err)) << err;
    tern_rnn_qmodel *q = tern_rnn_quantize(&m, err, sizeof err);
    ASSERT_TRUE(q) << err;
    tern_tfm_ffn_half h;
    ASSERT_EQ(0, tern_tfm_ffn_half_of(&q->view, 1, &h, err, sizeof err)) << err;
    ASSERT_EQ(h.lut_interp, 1);
    for (int rc : {4, 8}) {
      tern_hwcfg hw = small_deep(rc);
      for (int M : {1, 5}) check_isa(h, hw, M, 300u + (uint32_t)M + (uint32_t)rc);
    }
    tern_rnn_qmodel_free(q);
    tern_rnn_free(&m);
  }
}
