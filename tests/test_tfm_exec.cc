// The transformer step runner (runtime/tfm_exec.c): steps bit-exact against
// the integer reference, and the WBUF residency plan — a repeated block
// (MobileLLM-LS style) fetches its weights from DRAM once, not twice, when
// WBUF holds them; a shared FFN (MobiLlama style) is fetched once per
// session; a smaller WBUF keeps part of the saving.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tern/tfm_exec.h"
#include "tfm_fixtures.h"

namespace {

using tern_test::ParseConfig;
using tern_test::QModel;

const char *kBase =
    "vocab = 256\ndim = 64\nlayers = 2\nheads = 4\nkv_heads = 2\nffn = 192\n"
    "ffn_type = relu2_glu\nnorm = rmsnorm\nsubln = true\nrope_theta = 10000\n"
    "tie_embeddings = true\nmax_seq = 64\nseed = 3\n";

struct StepRun {
  std::vector<uint64_t> weight_bytes;  // per step
  std::vector<uint64_t> cycles;
  bool exact = true;
};

// Prefill 3 tokens, then 3 decodes; every step's logits against the reference.
StepRun RunSteps(const tern_tfm_qmodel *q, int wbuf, int residency, const char *backend = "isa") {
  StepRun out;
  char err[512];
  tern_tfm_exec_opts o;
  tern_tfm_exec_opts_default(&o);
  o.backend = backend;
  o.hw = tern_hwcfg_small(8, 8);
  o.hw.wbuf_depth = wbuf;
  o.max_rows = 3;
  o.ctx = 8;
  o.residency = residency;
  tern_tfm_exec *e = tern_tfm_exec_new(q, &o, err, sizeof err);
  EXPECT_NE(e, nullptr) << err;
  if (!e) return out;
  tern_tfm_ictx *ic = tern_tfm_ictx_new(q, 8, err, sizeof err);
  EXPECT_NE(ic, nullptr) << err;
  const int V = q->cfg.vocab;
  std::vector<int32_t> la(V), li(V);
  int toks[3] = {'a', 'b', 'c'};
  for (int s = 0; s < 4; s++) {
    int M = s == 0 ? 3 : 1;
    const int *t = s == 0 ? toks : &toks[s - 1];
    tern_tfm_step_stats st;
    EXPECT_EQ(tern_tfm_exec_step(e, t, M, la.data(), &st, err, sizeof err), 0) << err;
    EXPECT_EQ(tern_tfm_iprefill(ic, t, M, li.data(), 0, err, sizeof err), 0) << err;
    if (la != li) out.exact = false;
    out.weight_bytes.push_back(st.weight_bytes);
    out.cycles.push_back(st.total.v[TERN_CNT_CYCLES]);
    tern_tfm_step_stats_free(&st);
  }
  tern_tfm_ictx_free(ic);
  tern_tfm_exec_free(e);
  return out;
}

}  // namespace

TEST(TfmExec, RepeatedBlockFetchesWeightsOnce) {
  QModel plain(ParseConfig(std::string("[model]\nname = t1\n") + kBase));
  QModel ls(ParseConfig(std::string("[model]\nname = t1-ls\nrepeat = 2\n") + kBase));
  ASSERT_TRUE(plain.ok && ls.ok);
  // WBUF 2048 tiles of 8x8 holds a whole block (and a 256-tile stream area)
  StepRun p = RunSteps(&plain.q, 2048, 1);
  StepRun on = RunSteps(&ls.q, 2048, 1);
  StepRun off = RunSteps(&ls.q, 2048, 0);
  StepRun part = RunSteps(&ls.q, 512, 1);  // resident region 256 tiles: part of a block
  EXPECT_TRUE(p.exact);
  EXPECT_TRUE(on.exact);
  EXPECT_TRUE(off.exact);
  EXPECT_TRUE(part.exact);
  for (int s = 0; s < 4; s++) {
    SCOPED_TRACE(s);
    // same weights (the seed draws them per block), fetched once per step
    EXPECT_EQ(on.weight_bytes[s], p.weight_bytes[s]);
    EXPECT_EQ(off.weight_bytes[s], 2 * p.weight_bytes[s]);
    EXPECT_GT(part.weight_bytes[s], on.weight_bytes[s]);
    EXPECT_LT(part.weight_bytes[s], off.weight_bytes[s]);
    // compute doubles: the -LS step takes longer than the plain one
    EXPECT_GT(on.cycles[s], p.cycles[s]);
  }
}

TEST(TfmExec, SharedFfnStaysResidentAcrossBlocksAndSteps) {
  QModel sh(ParseConfig(std::string("[model]\nname = t1-sh\nshare_ffn = true\n") + kBase));
  ASSERT_TRUE(sh.ok);
  StepRun on = RunSteps(&sh.q, 2048, 1);
  StepRun off = RunSteps(&sh.q, 2048, 0);
  EXPECT_TRUE(on.exact);
  EXPECT_TRUE(off.exact);
  // FFN tiles of one block at 8x8: (64x192 gate, 64x192 up, 192x64 down) / 64 weights per tile
  const uint64_t ffn_bytes = 3 * (64 / 8) * (192 / 8) * (8 * 8 / 4);
  const int layers = 2;
  // step 0: the shared FFN is fetched by block 0 only; later steps never fetch it
  EXPECT_EQ(on.weight_bytes[0], off.weight_bytes[0] - (layers - 1) * ffn_bytes);
  for (int s = 1; s < 4; s++)
    EXPECT_EQ(on.weight_bytes[s], off.weight_bytes[s] - layers * ffn_bytes) << s;
}

TEST(TfmExec, RtlEqualsIsaWithResidency) {
  QModel ls(ParseConfig(std::string("[model]\nname = t1-ls\nrepeat = 2\n") + kBase));
  ASSERT_TRUE(ls.ok);
  // the 8x8 test RTL configuration has WBUF 64 tiles: residency 32 + streaming 32
  StepRun isa = RunSteps(&ls.q, 64, 1, "isa");
  StepRun rtl = RunSteps(&ls.q, 64, 1, "rtl");
  EXPECT_TRUE(isa.exact);
  EXPECT_TRUE(rtl.exact);
  EXPECT_EQ(isa.cycles, rtl.cycles);
  EXPECT_EQ(isa.weight_bytes, rtl.weight_bytes);
}

TEST(TfmExec, BadInput) {
  QModel m(ParseConfig(std::string("[model]\nname = t1\n") + kBase));
  ASSERT_TRUE(m.ok);
  char err[512];
  tern_tfm_exec_opts o;
  tern_tfm_exec_opts_default(&o);
  o.hw = tern_hwcfg_small(8, 8);
  o.backend = "gpu";
  EXPECT_EQ(tern_tfm_exec_new(&m.q, &o, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("expected isa or rtl"), std::string::npos) << err;
  o.backend = "isa";
  o.ctx = 65;  // max_seq is 64
  EXPECT_EQ(tern_tfm_exec_new(&m.q, &o, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("ctx"), std::string::npos) << err;
  o.ctx = 4;
  o.max_rows = 2;
  tern_tfm_exec *e = tern_tfm_exec_new(&m.q, &o, err, sizeof err);
  ASSERT_NE(e, nullptr) << err;
  std::vector<int32_t> lg(256);
  int t[3] = {1, 2, 300};
  EXPECT_EQ(tern_tfm_exec_step(e, t, 3, lg.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("max_rows"), std::string::npos) << err;
  EXPECT_EQ(tern_tfm_exec_step(e, &t[2], 1, lg.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("expected 0 .. 255"), std::string::npos) << err;
  EXPECT_EQ(tern_tfm_exec_step(e, t, 2, lg.data(), nullptr, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_tfm_exec_step(e, t, 2, lg.data(), nullptr, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_tfm_exec_step(e, t, 1, lg.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("KV cache holds 4"), std::string::npos) << err;
  tern_tfm_exec_free(e);
}
