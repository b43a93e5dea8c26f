// The recurrent presets' blocks at their real shapes through the transformer
// programs of the view (include/tern/rnn.h, tern_rnn_qmodel.view): griffin's
// local MQA block (ATTN program) and every preset's gated MLP (FFN program,
// interpolated table read), compiled as parts and run on an ISA simulator
// session at the default 16x16, bit-exact against the integer reference
// (tern_rnn_mix_int, tern_tfm_ffn_half_int).  The mixers of the 'r' and 'm'
// blocks (tern_compile_rnn_mix): tests/test_rnn_mix.cc.  To keep the models
// small the configs keep the preset's block shapes but have one layer and a
// byte vocabulary.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler_rnn.h"
#include "tern/rnn.h"
#include "tfm_fixtures.h"

namespace {

struct RnnModel {
  tern_rnn_model m;
  tern_rnn_qmodel *q = nullptr;
  explicit RnnModel(const tern_rnn_config &c) {
    char err[512];
    std::memset(&m, 0, sizeof m);
    EXPECT_EQ(0, tern_rnn_generate(&c, &m, 0, err, sizeof err)) << err;
    q = tern_rnn_quantize(&m, err, sizeof err);
    EXPECT_NE(q, nullptr) << err;
  }
  ~RnnModel() {
    tern_rnn_qmodel_free(q);
    tern_rnn_free(&m);
  }
};

// The preset's block shapes, one layer of temporal-mixer kind `kind`, vocab 256.
tern_rnn_config OneLayer(const char *preset, char kind) {
  tern_rnn_config c;
  char err[512];
  EXPECT_EQ(0, tern_rnn_preset(preset, &c, err, sizeof err)) << err;
  c.layers = 1;
  c.vocab = 256;
  c.pattern[0] = kind;
  c.pattern[1] = 0;
  c.max_seq = 64;
  EXPECT_EQ(0, tern_rnn_check(&c, c.name, err, sizeof err)) << err;
  return c;
}

// Compiles (as parts) and runs one program on the session; cycles added to *cyc.
void RunParts(tern_session *s, std::vector<uint8_t> *dram, const tern_rnn_qmodel *q,
              const tern_rnn_mem &mem, const tern_tfm_prog_spec &sp, const tern_hwcfg &hw,
              uint64_t *cyc) {
  char err[768];
  tern_program *parts = nullptr;
  int np = 0;
  tern_compile_opts o{};
  o.tokens = sp.M;
  ASSERT_EQ(0, tern_compile_tfm_parts(&q->view, &mem.tm, &sp, &hw, &o, &parts, &np, err, sizeof err))
      << err;
  tern_counters cnt;
  size_t n_insns = 0;
  EXPECT_EQ(0, tern_test::RunParts(s, dram, parts, np, hw.imem_depth, &cnt, &n_insns,
                                   std::string("kind ") + std::to_string(sp.kind)));
  *cyc += cnt.v[TERN_CNT_CYCLES];
  tern_tfm_parts_free(parts, np);
}

// MIX ('a' only: the transformer ATTN program) when attn, then the MLP, of
// block 0 for one decode row at position 0, against the reference.
void CheckBlock(const char *preset, char kind) {
  SCOPED_TRACE(testing::Message() << preset << " block kind " << kind);
  auto t0 = std::chrono::steady_clock::now();
  RnnModel M(OneLayer(preset, kind));
  ASSERT_TRUE(M.q);
  const tern_rnn_qmodel *q = M.q;
  const int d = q->cfg.dim;
  char err[512];
  tern_hwcfg hw = tern_hwcfg_default();
  hw.dram_bytes = (uint64_t)1 << 30;
  tern_rnn_mem mem;
  ASSERT_EQ(0, tern_rnn_mem_plan(q, &hw, 1, 16, &mem, err, sizeof err)) << err;
  std::vector<int32_t> x = tern_test::MakeInput(1, d, 7), ref = x, y(x.size());
  std::vector<uint8_t> st(tern_rnn_block_state_bytes(q, 0), 0);
  if (kind == TERN_RNN_ATTENTION) {
    ASSERT_EQ(0, tern_rnn_mix_int(q, 0, st.data(), 0, ref.data(), 1, err, sizeof err)) << err;
  }
  tern_tfm_ffn_half h;
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&q->view, 0, &h, err, sizeof err)) << err;
  ASSERT_EQ(0, tern_tfm_ffn_half_int(&h, ref.data(), 1, y.data(), err, sizeof err)) << err;
  tern_session *s = tern_session_open("isa", &hw, err, sizeof err);
  ASSERT_NE(s, nullptr) << err;
  std::vector<uint8_t> dram(mem.tm.priv_base, 0);
  for (int c = 0; c < d; c++) std::memcpy(&dram[mem.tm.x_addr + 4 * (size_t)c], &x[c], 4);
  tern_tfm_prog_spec sp;
  std::memset(&sp, 0, sizeof sp);
  sp.M = 1;
  uint64_t cyc = 0;
  if (kind == TERN_RNN_ATTENTION) {
    sp.kind = TERN_TFM_PROG_ATTN;
    RunParts(s, &dram, q, mem, sp, hw, &cyc);
  }
  sp.kind = TERN_TFM_PROG_FFN;
  RunParts(s, &dram, q, mem, sp, hw, &cyc);
  tern_session_close(s);
  int bad = 0;
  for (int c = 0; c < d; c++) {
    int32_t got = tern_test::Rd32(&dram[mem.tm.x_addr + 4 * (size_t)c]);
    if (got != y[c] && bad++ < 5) ADD_FAILURE() << "x[" << c << "] = " << got << ", reference " << y[c];
  }
  EXPECT_EQ(bad, 0);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("[ RnnBlock ] %-16s %-5s dim %4d ffn %4d: %llu cycles, %.2f s\n", preset,
              kind == TERN_RNN_ATTENTION ? "a+mlp" : "mlp", d,
              q->cfg.ffn, (unsigned long long)cyc, std::chrono::duration<double>(t1 - t0).count());
}

}  // namespace

TEST(RnnBlocks, GriffinLocalAttentionAndMlpAtPresetShapes) {
  for (const char *p : {"griffin-100m", "griffin-1b"}) CheckBlock(p, TERN_RNN_ATTENTION);
}

TEST(RnnBlocks, GatedMlpAtPresetShapes) {
  CheckBlock("hawk-100m", TERN_RNN_RECURRENT);
  CheckBlock("hawk-1b", TERN_RNN_RECURRENT);
  CheckBlock("matmulfree-370m", TERN_RNN_MLGRU_BLK);
}
