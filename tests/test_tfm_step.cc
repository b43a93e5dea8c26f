// The programs of one transformer step (include/tern/compiler_tfm.h,
// compiler/tfm_prog.c) on the ISA simulator: the persistent memory plan,
// EMBED and HEAD bit-exact against their integer references, the FFN
// relocated in place, WBUF weight residency across the programs of one
// session, a whole step sequence (EMBED -> (ATTN, FFN) x passes -> HEAD)
// against tern_tfm_iprefill / tern_tfm_idecode, ATTN + FFN of one block
// of every preset against the references (at 16x16, cut into parts by
// tern_compile_tfm_parts where a program exceeds IMEM), and programs cut
// into parts (full steps, RTL = ISA, the step runner with residency).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler_tfm.h"
#include "tern/hwcfg.h"
#include "tern/tfm_exec.h"
#include "tern/program.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"
#include "tfm_fixtures.h"

namespace {

using tern_test::QModel;



int32_t rd32(const std::vector<uint8_t> &d, uint64_t a) { return tern_test::Rd32(&d[a]); }
void wr32(std::vector<uint8_t> *d, uint64_t a, int32_t v) { std::memcpy(&(*d)[a], &v, 4); }

tern_tfm_mem plan(const tern_tfm_config &c, const tern_hwcfg &hw, int rows, int ctx = 0) {
  tern_tfm_mem m;
  char err[512];
  EXPECT_EQ(0, tern_tfm_mem_plan(&c, &hw, rows, ctx, &m, err, sizeof err)) << err;
  return m;
}

// x rows (dim values each, padding lanes filled with garbage) into the map.
void put_x(std::vector<uint8_t> *dram, const tern_tfm_mem &m, const std::vector<int32_t> &x, int M,
           int d) {
  for (int r = 0; r < M; r++)
    for (int c = 0; c < m.dim_pad; c++)
      wr32(dram, m.x_addr + (uint64_t)r * m.dim_pad * 4 + 4 * (uint64_t)c,
           c < d ? x[(size_t)r * d + c] : (int32_t)(0x5a5a5a5a + c * 977 + r));
}

std::vector<int32_t> get_x(const std::vector<uint8_t> &dram, const tern_tfm_mem &m, int M, int d) {
  std::vector<int32_t> x((size_t)M * d);
  for (int r = 0; r < M; r++)
    for (int c = 0; c < d; c++)
      x[(size_t)r * d + c] = rd32(dram, m.x_addr + (uint64_t)r * m.dim_pad * 4 + 4 * (uint64_t)c);
  return x;
}

// "compile + init_dram + run" of one program of a step on a persistent DRAM
// buffer (grown, zero-filled, as programs need more), on a session or, when s
// is NULL, on a fresh ISA simulator.
struct Runner {
  const tern_tfm_qmodel *q;
  tern_tfm_mem mem;
  tern_hwcfg hw;
  tern_session *s = nullptr;
  std::vector<uint8_t> dram;
  tern_counters cnt{};
  size_t n_insns = 0;

  Runner(const tern_tfm_qmodel *qm, const tern_hwcfg &h, int rows, int ctx = 0, bool session = true,
         const char *backend = "isa")
      : q(qm), hw(h) {
    mem = plan(qm->cfg, h, rows, ctx);
    dram.assign(mem.priv_base, 0);
    char err[512];
    if (session) {
      s = tern_session_open(backend, &hw, err, sizeof err);
      EXPECT_NE(s, nullptr) << err;
    }
  }
  ~Runner() { tern_session_close(s); }
  Runner(const Runner &) = delete;
  Runner &operator=(const Runner &) = delete;

  // use_parts: compile with tern_compile_tfm_parts and run every part in order
  // on the session (cnt and n_insns are the sums over the parts, nparts their
  // number, max_parts the most parts of one program so far)
  bool use_parts = false;
  int nparts = 1, max_parts = 1;

  // 0 on success; otherwise a failure has been reported
  int run(const tern_tfm_prog_spec &sp, std::string *err_out = nullptr) {
    char err[768];
    tern_program one, *parts = &one;
    int np = 1;
    tern_compile_opts o{};
    o.tokens = sp.M;
    int crc = use_parts ? tern_compile_tfm_parts(q, &mem, &sp, &hw, &o, &parts, &np, err, sizeof err)
                        : tern_compile_tfm_prog(q, &mem, &sp, &hw, &o, &one, err, sizeof err);
    if (crc) {
      if (err_out)
        *err_out = err;
      else
        ADD_FAILURE() << "compile kind " << sp.kind << ": " << err;
      return -1;
    }
    EXPECT_TRUE(np == 1 || s) << "parts need a session";
    nparts = np;
    if (np > max_parts) max_parts = np;
    int rc = tern_test::RunParts(s, &dram, parts, np, hw.imem_depth, &cnt, &n_insns,
                                 "kind " + std::to_string(sp.kind));
    if (use_parts)
      tern_tfm_parts_free(parts, np);
    else
      tern_program_free(&one);
    return rc;
  }

  std::vector<int32_t> logits(int rows) const {
    int V = q->cfg.vocab;
    std::vector<int32_t> l((size_t)rows * V);
    for (int r = 0; r < rows; r++)
      for (int v = 0; v < V; v++)
        l[(size_t)r * V + v] =
            rd32(dram, mem.logits_addr + (uint64_t)r * mem.vocab_pad * 4 + 4 * (uint64_t)v);
    return l;
  }
};

tern_tfm_prog_spec spec(tern_tfm_prog_kind k, int M) {
  tern_tfm_prog_spec s;
  std::memset(&s, 0, sizeof s);
  s.kind = k;
  s.M = M;
  return s;
}

// A small configuration whose OUT cannot hold the LM head in one tile.
tern_hwcfg small_out(int rc, int out_depth) {
  tern_hwcfg hw = tern_hwcfg_small(rc, rc);
  hw.imem_depth = 65536;
  hw.out_depth = out_depth;
  return hw;
}

}  // namespace

// ---- memory plan -------------------------------------------------------------

TEST(TfmStep, MemPlanLayout) {
  tern_tfm_config c = tern_test::PresetConfig("tiny");  // dim 64, hd 16, kv 2, 4 layers
  tern_hwcfg hw = tern_hwcfg_default();
  char err[512];
  tern_tfm_mem m;
  ASSERT_EQ(0, tern_tfm_mem_plan(&c, &hw, 5, 40, &m, err, sizeof err)) << err;
  EXPECT_EQ(m.rows, 5);
  EXPECT_EQ(m.ctx, 40);
  EXPECT_EQ(m.ctx_pad, 48);
  EXPECT_EQ(m.dim_pad, 64);
  EXPECT_EQ(m.hd_pad, 32);  // each rotate-half of 8 padded to 16 lanes
  EXPECT_EQ(m.vocab_pad, 256);
  EXPECT_EQ(m.passes, 4);
  // regions in order, disjoint, 64-byte aligned
  EXPECT_GE(m.logits_addr, m.x_addr + 5u * 64 * 4);
  EXPECT_GE(m.kv_addr, m.logits_addr + 5u * 256 * 4);
  EXPECT_GE(m.kt_bytes, 32u * 48);
  EXPECT_GE(m.v_bytes, 48u * 32);
  EXPECT_GE(m.ks_bytes, 48u * 4);
  EXPECT_GE(m.vs_bytes, 48u * 4);
  EXPECT_EQ(m.kv_pass_bytes, 2 * (m.kt_bytes + m.v_bytes + m.ks_bytes + m.vs_bytes));
  EXPECT_GE(m.priv_base, m.kv_addr + 4 * m.kv_pass_bytes);
  uint32_t prev_end = m.kv_addr;
  for (int p = 0; p < m.passes; p++) {
    uint32_t a[2][4];
    for (int g = 0; g < 2; g++) tern_tfm_kv_addrs(&m, p, g, &a[g][0], &a[g][1], &a[g][2], &a[g][3]);
    // pass p: KT[0] KT[1] V[0] V[1] KS[0] KS[1] VS[0] VS[1], back to back
    EXPECT_EQ(a[0][0], prev_end);
    EXPECT_EQ(a[1][0], a[0][0] + m.kt_bytes);
    EXPECT_EQ(a[0][1], a[1][0] + m.kt_bytes);
    EXPECT_EQ(a[1][1], a[0][1] + m.v_bytes);
    EXPECT_EQ(a[0][2], a[1][1] + m.v_bytes);
    EXPECT_EQ(a[1][2], a[0][2] + m.ks_bytes);
    EXPECT_EQ(a[0][3], a[1][2] + m.ks_bytes);
    EXPECT_EQ(a[1][3], a[0][3] + m.vs_bytes);
    prev_end = a[1][3] + m.vs_bytes;
    for (int g = 0; g < 2; g++)
      for (int k = 0; k < 4; k++) EXPECT_EQ(a[g][k] % 64, 0u);
  }
  EXPECT_EQ(prev_end, m.kv_addr + 4 * m.kv_pass_bytes);
  // ctx 0 = max_seq; 8x8: hd_pad 16, ctx rounded to 8
  tern_hwcfg h8 = tern_hwcfg_small(8, 8);
  ASSERT_EQ(0, tern_tfm_mem_plan(&c, &h8, 1, 0, &m, err, sizeof err)) << err;
  EXPECT_EQ(m.ctx, 256);
  EXPECT_EQ(m.hd_pad, 16);
  // a width the array does not divide: padded like the FFN compile pads it
  tern_tfm_config lc = tern_test::ParseConfig(tern_test::kLnSubln);
  ASSERT_EQ(0, tern_tfm_mem_plan(&lc, &h8, 1, 0, &m, err, sizeof err)) << err;
  EXPECT_EQ(m.dim_pad, 40);
  EXPECT_EQ(m.hd_pad, 2 * 16);  // head_dim 18: halves of 9 padded to 16
  EXPECT_EQ(m.vocab_pad, 64);
}

TEST(TfmStep, MemPlanErrors) {
  tern_tfm_config c = tern_test::PresetConfig("tiny");
  tern_hwcfg hw = tern_hwcfg_default();
  char err[512];
  tern_tfm_mem m;
  EXPECT_NE(0, tern_tfm_mem_plan(&c, &hw, 1, 257, &m, err, sizeof err));
  EXPECT_NE(std::string(err).find("ctx = 257"), std::string::npos) << err;
  EXPECT_NE(0, tern_tfm_mem_plan(&c, &hw, 0, 0, &m, err, sizeof err));
  EXPECT_NE(std::string(err).find("rows = 0"), std::string::npos) << err;
  tern_hwcfg tinydram = hw;
  tinydram.dram_bytes = 4096;
  EXPECT_NE(0, tern_tfm_mem_plan(&c, &tinydram, 1, 0, &m, err, sizeof err));
  EXPECT_NE(std::string(err).find("dram_bytes"), std::string::npos) << err;
  EXPECT_NE(0, tern_tfm_mem_plan(nullptr, &hw, 1, 0, &m, err, sizeof err));
}

// ---- EMBED -------------------------------------------------------------------------

void check_embed(const tern_tfm_config &c, const tern_hwcfg &hw, int M, int expect_blocks_min) {
  SCOPED_TRACE(testing::Message() << c.name << " " << hw.rows << "x" << hw.cols << " out "
                                  << hw.out_depth << " M=" << M);
  QModel fm(c);
  ASSERT_TRUE(fm.ok);
  std::vector<int> tok(M);
  for (int i = 0; i < M; i++) tok[i] = (i * 37 + 11) % c.vocab;
  tok[M - 1] = c.vocab - 1;
  std::vector<int32_t> ref((size_t)M * c.dim);
  char err[512];
  ASSERT_EQ(0, tern_tfm_embed_int(&fm.q, tok.data(), M, ref.data(), err, sizeof err)) << err;
  Runner rn(&fm.q, hw, M, 0, false);
  // garbage in x (and its padding): the program overwrites the whole rows
  put_x(&rn.dram, rn.mem, tern_test::MakeInput(M, c.dim, 3), M, c.dim);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_EMBED, M);
  sp.tokens = tok.data();
  ASSERT_EQ(0, rn.run(sp));
  EXPECT_EQ(0, tern_test::CountDiff(get_x(rn.dram, rn.mem, M, c.dim), ref, "x"));
  for (int r = 0; r < M; r++)
    for (int l = c.dim; l < rn.mem.dim_pad; l++)
      EXPECT_EQ(0, rd32(rn.dram, rn.mem.x_addr + ((uint64_t)r * rn.mem.dim_pad + l) * 4));
  // the widening really is a MAC8 per token block
  EXPECT_GE(rn.cnt.v[TERN_CNT_VOP_MAC8], (uint64_t)M * rn.mem.dim_pad / hw.cols);
  EXPECT_GE(rn.cnt.v[TERN_CNT_INSN_STORE], (uint64_t)expect_blocks_min);
}

TEST(TfmStep, EmbedTiny) {
  check_embed(tern_test::PresetConfig("tiny"), tern_hwcfg_default(), 1, 1);
  check_embed(tern_test::PresetConfig("tiny"), tern_hwcfg_default(), 5, 1);
  // OUT of 20 words at 8x8: 2 rows of 8 words per block -> 3 blocks
  check_embed(tern_test::PresetConfig("tiny"), small_out(8, 20), 5, 3);
}

// 33 rows of 128 words at 4x4: one MAC8 would need N = 4224 > 4095 (split in two)
TEST(TfmStep, EmbedWideRowsMac8Split) {
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  hw.acc_depth = hw.out_depth = 8192;
  check_embed(tern_test::ParseConfig(
                  "[model]\nname = wide\nvocab = 64\ndim = 512\nlayers = 1\n"
                  "heads = 4\nkv_heads = 1\nffn = 32\nffn_type = relu2\nmax_seq = 64\nseed = 3\n"),
              hw, 33, 1);
}

TEST(TfmStep, EmbedNemotronUntiedAndPadded) {
  check_embed(tern_test::PresetConfig("nemotron4-style-tiny"), tern_hwcfg_small(4, 4), 5, 1);
  check_embed(tern_test::ParseConfig(tern_test::kLnSubln), tern_hwcfg_small(8, 8), 3, 1);
}

TEST(TfmStep, EmbedBadToken) {
  QModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_default();
  tern_tfm_mem m = plan(fm.q.cfg, hw, 2);
  int tok[2] = {3, 256};
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_EMBED, 2);
  sp.tokens = tok;
  char err[512];
  tern_program p;
  EXPECT_NE(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("tokens[1] = 256"), std::string::npos) << err;
  sp.tokens = nullptr;
  EXPECT_NE(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("tokens"), std::string::npos) << err;
  sp.tokens = tok;
  sp.M = 3;  // more rows than the plan holds
  EXPECT_NE(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("M = 3"), std::string::npos) << err;
  // a plan for another array does not match this program's padding
  tern_tfm_config lc = tern_test::ParseConfig(tern_test::kLnSubln);
  QModel lm(lc);
  ASSERT_TRUE(lm.ok);
  tern_hwcfg h8 = tern_hwcfg_small(8, 8), h4 = tern_hwcfg_small(4, 4);
  tern_tfm_mem m8 = plan(lc, h8, 1);
  sp.M = 1;
  EXPECT_NE(0, tern_compile_tfm_prog(&lm.q, &m8, &sp, &h4, nullptr, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("dim_pad"), std::string::npos) << err;
}

// ---- HEAD ------------------------------------------------------------------------------

void check_head(const tern_tfm_config &c, const tern_hwcfg &hw, int M, int all, int min_tiles) {
  SCOPED_TRACE(testing::Message() << c.name << " " << hw.rows << "x" << hw.cols << " out "
                                  << hw.out_depth << " M=" << M << " all=" << all);
  QModel fm(c);
  ASSERT_TRUE(fm.ok);
  std::vector<int32_t> x = tern_test::MakeInput(M, c.dim, 40u + (uint32_t)M);
  int rows = all ? M : 1;
  std::vector<int32_t> ref((size_t)rows * c.vocab);
  char err[512];
  ASSERT_EQ(0, tern_tfm_head_int(&fm.q, x.data(), M, all, ref.data(), err, sizeof err)) << err;
  Runner rn(&fm.q, hw, M, 0, false);
  put_x(&rn.dram, rn.mem, x, M, c.dim);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_HEAD, M);
  sp.all_logits = all;
  ASSERT_EQ(0, rn.run(sp));
  EXPECT_EQ(0, tern_test::CountDiff(rn.logits(rows), ref, "logits"));
  // the LM head ran as MAC8s over at least min_tiles B tiles (chunked)
  EXPECT_GE(rn.cnt.v[TERN_CNT_INSN_LOAD], (uint64_t)min_tiles);
  EXPECT_EQ(rn.cnt.v[TERN_CNT_VOP_MAC8] * (uint64_t)hw.cols,
            (uint64_t)rows * c.dim * rn.mem.vocab_pad);
  // the logits are not trivially equal (a head that wrote zeros would fail)
  int nz = 0;
  for (int32_t v : ref) nz += v != 0;
  EXPECT_GT(nz, (int)ref.size() / 2);
}

TEST(TfmStep, HeadTiedTiny) {
  tern_tfm_config c = tern_test::PresetConfig("tiny");
  check_head(c, tern_hwcfg_default(), 1, 0, 1);
  check_head(c, tern_hwcfg_default(), 5, 1, 1);
  // OUT of 40 words at 8x8: x row 8 words, B tiles of 16 words: 64 dims x 2
  // words or pieces of dims; many tiles, several vocabulary chunks
  check_head(c, small_out(8, 40), 1, 0, 16);
  check_head(c, small_out(8, 40), 5, 1, 16);
  check_head(c, small_out(8, 40), 5, 0, 16);
}

TEST(TfmStep, HeadUntiedNemotron) {
  tern_tfm_config c = tern_test::PresetConfig("nemotron4-style-tiny");  // dim 128, LayerNorm
  check_head(c, tern_hwcfg_small(4, 4), 3, 1, 2);
  // OUT 60 words at 4x4: x row 32 words, B tiles of <= 14 words: dims in pieces, one row per block
  check_head(c, small_out(4, 60), 1, 0, 32);
  check_head(c, small_out(4, 60), 2, 1, 32);
}

TEST(TfmStep, HeadPaddedLayerNormBias) {
  check_head(tern_test::ParseConfig(tern_test::kLnSubln), small_out(8, 24), 4, 1, 4);
}

TEST(TfmStep, HeadBufferTooSmall) {
  QModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = small_out(8, 9);  // x row 8 words + 2 x 8-byte tiles do not fit
  tern_tfm_mem m = plan(fm.q.cfg, hw, 1);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_HEAD, 1);
  char err[512];
  tern_program p;
  EXPECT_NE(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("out_depth = 9"), std::string::npos) << err;
}

// ---- FFN relocated in place -------------------------------------------------------------

void check_ffn_inplace(const tern_tfm_config &c, int block, const tern_hwcfg &hw, int M) {
  SCOPED_TRACE(testing::Message() << c.name << " block " << block << " " << hw.rows << "x"
                                  << hw.cols << " M=" << M);
  QModel fm(c);
  ASSERT_TRUE(fm.ok);
  tern_tfm_ffn_half h;
  char err[512];
  ASSERT_EQ(0, tern_tfm_ffn_half_of(&fm.q, block, &h, err, sizeof err)) << err;
  std::vector<int32_t> x = tern_test::MakeInput(M, c.dim, 9u + (uint32_t)M), ref(x.size());
  ASSERT_EQ(0, tern_tfm_ffn_half_int(&h, x.data(), M, ref.data(), err, sizeof err)) << err;
  Runner rn(&fm.q, hw, M + 2, 0, false);  // a plan with more rows than this step
  put_x(&rn.dram, rn.mem, x, M, c.dim);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_FFN, M);
  sp.block = block;
  ASSERT_EQ(0, rn.run(sp));
  std::vector<int32_t> got = get_x(rn.dram, rn.mem, M, c.dim);
  EXPECT_EQ(0, tern_test::CountDiff(got, ref, "x"));
  // same result as the stand-alone FFN program (tests/test_tfm_ffn.cc's path)
  tern_program p;
  tern_compile_opts o{};
  o.tokens = M;
  ASSERT_EQ(0, tern_compile_tfm_ffn_half(&h, &hw, &o, &p, err, sizeof err)) << err;
  std::vector<uint8_t> d2(p.dram_size, 0);
  ASSERT_EQ(0, tern_program_init_dram(&p, d2.data(), d2.size(), err, sizeof err)) << err;
  const tern_tensor_ref *tx = tern_program_find_tensor(&p, "x");
  const tern_tensor_ref *ty = tern_program_find_tensor(&p, "y");
  ASSERT_TRUE(tx && ty);
  for (int r = 0; r < M; r++)
    for (int k = 0; k < c.dim; k++)
      wr32(&d2, tx->dram_addr + (uint64_t)r * tx->row_stride + 4 * k, x[(size_t)r * c.dim + k]);
  tern_counters cnt;
  tern_run_opts ro{};
  ASSERT_EQ(0, tern_isasim_run(&p.cfg, p.insns, p.n_insns, d2.data(), d2.size(), &ro, &cnt, err,
                               sizeof err))
      << err;
  std::vector<int32_t> old((size_t)M * c.dim);
  for (int r = 0; r < M; r++)
    for (int k = 0; k < c.dim; k++)
      old[(size_t)r * c.dim + k] = rd32(d2, ty->dram_addr + (uint64_t)r * ty->row_stride + 4 * k);
  EXPECT_EQ(0, tern_test::CountDiff(got, old, "x vs stand-alone y"));
  // the weight traffic is the same: relocation only moves addresses
  EXPECT_EQ(cnt.v[TERN_CNT_WBUF_WR], rn.cnt.v[TERN_CNT_WBUF_WR]);
  EXPECT_EQ(cnt.v[TERN_CNT_CYCLES] > 0, true);
  // every padding lane of x is zero after the program (the next program may rely on it)
  for (int r = 0; r < M; r++)
    for (int l = c.dim; l < rn.mem.dim_pad; l++)
      EXPECT_EQ(0, rd32(rn.dram, rn.mem.x_addr + ((uint64_t)r * rn.mem.dim_pad + l) * 4));
  tern_program_free(&p);
}

TEST(TfmStep, FfnInPlace) {
  for (int rc : {4, 8}) {
    tern_hwcfg hw = tern_hwcfg_small(rc, rc);
    hw.imem_depth = 65536;
    for (int M : {1, 5}) {
      check_ffn_inplace(tern_test::PresetConfig("tiny"), 1, hw, M);
      check_ffn_inplace(tern_test::ParseConfig(tern_test::kLnSubln), 0, hw, M);
    }
  }
}

// ---- WBUF residency ------------------------------------------------------------------------

struct ResRun {
  std::vector<int32_t> x;
  tern_counters cnt;
};

// FFN(block) on x (fresh rows of seed) with residency w on runner rn.
ResRun run_ffn(Runner *rn, int block, int M, const tern_tfm_wres &w, uint32_t seed,
               std::vector<int32_t> *ref) {
  const tern_tfm_config &c = rn->q->cfg;
  std::vector<int32_t> x = tern_test::MakeInput(M, c.dim, seed);
  tern_tfm_ffn_half h;
  char err[512];
  EXPECT_EQ(0, tern_tfm_ffn_half_of(rn->q, block, &h, err, sizeof err)) << err;
  ref->assign(x.size(), 0);
  EXPECT_EQ(0, tern_tfm_ffn_half_int(&h, x.data(), M, ref->data(), err, sizeof err)) << err;
  put_x(&rn->dram, rn->mem, x, M, c.dim);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_FFN, M);
  sp.block = block;
  sp.wres = w;
  ResRun r;
  r.cnt = {};
  if (rn->run(sp) == 0) {
    r.x = get_x(rn->dram, rn->mem, M, c.dim);
    r.cnt = rn->cnt;
  }
  return r;
}

// stream_base < 0: 3 + res + 1 (a gap below and above the resident region)
void check_residency(const tern_tfm_config &c, int block, tern_hwcfg hw, int M, int res_num,
                     int res_den, uint64_t want_blocks, int res_base = 3, int stream_base = -1) {
  SCOPED_TRACE(testing::Message() << c.name << " " << hw.rows << "x" << hw.cols << " wbuf "
                                  << hw.wbuf_depth << " acc " << hw.acc_depth << " M=" << M
                                  << " resident " << res_num << "/" << res_den);
  QModel fm(c);
  ASSERT_TRUE(fm.ok);
  char err[512];
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_FFN, M);
  sp.block = block;
  int tiles = tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err);
  ASSERT_GT(tiles, 0) << err;
  int res = tiles * res_num / res_den;
  ASSERT_GT(res, 0);
  uint64_t tb = (uint64_t)hw.rows * hw.cols / 4;
  Runner rn(&fm.q, hw, M);
  ASSERT_NE(rn.s, nullptr);
  tern_tfm_wres none{0, 0, 0, 0};
  tern_tfm_wres w0{res_base, res, 0, stream_base < 0 ? res_base + res + 1 : stream_base};
  tern_tfm_wres w1 = w0;
  w1.res_loaded = 1;
  std::vector<int32_t> ref;
  ResRun a = run_ffn(&rn, block, M, none, 1, &ref);
  EXPECT_EQ(0, tern_test::CountDiff(a.x, ref, "x (no residency)"));
  ResRun b = run_ffn(&rn, block, M, w0, 2, &ref);
  EXPECT_EQ(0, tern_test::CountDiff(b.x, ref, "x (res_loaded 0)"));
  ResRun d = run_ffn(&rn, block, M, w1, 3, &ref);
  EXPECT_EQ(0, tern_test::CountDiff(d.x, ref, "x (res_loaded 1)"));
  // the resident tiles are fetched once, and not at all by the second program
  EXPECT_EQ(b.cnt.v[TERN_CNT_WBUF_WR] - d.cnt.v[TERN_CNT_WBUF_WR], (uint64_t)res);
  EXPECT_EQ(b.cnt.v[TERN_CNT_DRAM_RD_BYTES] - d.cnt.v[TERN_CNT_DRAM_RD_BYTES], (uint64_t)res * tb);
  uint64_t blocks = want_blocks;  // token blocks: without residency every tile once per block
  EXPECT_EQ(a.cnt.v[TERN_CNT_WBUF_WR], blocks * (uint64_t)tiles);
  EXPECT_EQ(a.cnt.v[TERN_CNT_WBUF_WR] - b.cnt.v[TERN_CNT_WBUF_WR], (blocks - 1) * (uint64_t)res);
  EXPECT_EQ(d.cnt.v[TERN_CNT_WBUF_WR], blocks * (uint64_t)(tiles - res));
  // the second program really reads WBUF state it did not load: on a fresh
  // session (WBUF zero) the same program computes something else
  Runner fresh(&fm.q, hw, M);
  ResRun e = run_ffn(&fresh, block, M, w1, 3, &ref);
  int diff = 0;
  for (size_t i = 0; i < e.x.size() && i < ref.size(); i++) diff += e.x[i] != ref[i];
  EXPECT_GT(diff, 0) << "res_loaded = 1 on a fresh session should not reproduce the reference";
}

TEST(TfmStep, ResidencyFull) {
  tern_hwcfg hw = tern_hwcfg_small(8, 8);  // tiny block: 8+24+24 x ... tiles
  hw.wbuf_depth = 1024;
  check_residency(tern_test::PresetConfig("tiny"), 2, hw, 1, 1, 1, 1);
  check_residency(tern_test::PresetConfig("tiny"), 2, hw, 5, 1, 1, 1);
}

TEST(TfmStep, ResidencyPartialSeveralTokenBlocks) {
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  hw.wbuf_depth = 1024;
  check_residency(tern_test::PresetConfig("tiny"), 0, hw, 1, 1, 3, 1);
  // ACC of 160 words: one token row per block -> 5 blocks; resident tiles are
  // loaded once, streaming tiles once per block
  hw.acc_depth = 160;
  check_residency(tern_test::PresetConfig("tiny"), 0, hw, 5, 2, 5, 5);
  check_residency(tern_test::ParseConfig(tern_test::kLnSubln), 1, hw, 5, 1, 2, 5);
}

// A resident region that ends inside a matrix, or spans several chunks, with
// a streaming region smaller than the rest of the weights (the halves are
// reused): the prefetch must not run two streaming items ahead when a
// resident chunk (no LOAD) comes first — it did, and overwrote the streaming
// half still to be read (found by the runner's -LS residency test).
TEST(TfmStep, ResidencyPartialMatrixSmallStream) {
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  hw.wbuf_depth = 512;  // streaming halves of 128 tiles; the FFN has 576
  for (int M : {1, 3}) {
    check_residency(tern_test::PresetConfig("tiny"), 0, hw, M, 1, 9, 1, 0, 256);  // 64 tiles
    check_residency(tern_test::PresetConfig("tiny"), 0, hw, M, 1, 3, 1, 0, 256);  // 192: 2 chunks
  }
}

// ATTN programs with resident weights: block 0 at position 0 loads them, at
// position 1 (another program: pos is compiled in) reuses them.
TEST(TfmStep, ResidencyAttention) {
  QModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  hw.wbuf_depth = 512;
  const int d = fm.q.cfg.dim;
  char err[512];
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_ATTN, 1);
  int tiles = tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err);
  ASSERT_GT(tiles, 0) << err;
  int res = tiles * 3 / 4;
  tern_tfm_ictx *ctx = tern_tfm_ictx_new(&fm.q, 16, err, sizeof err);
  ASSERT_NE(ctx, nullptr) << err;
  Runner rn(&fm.q, hw, 1, 16);
  ASSERT_NE(rn.s, nullptr);
  uint64_t wr[2];
  for (int pos = 0; pos < 2; pos++) {
    SCOPED_TRACE(testing::Message() << "pos " << pos);
    std::vector<int32_t> x = tern_test::MakeInput(1, d, 70u + (uint32_t)pos), ref(x.size());
    ASSERT_EQ(
        0, tern_tfm_attn_half_int(&fm.q, 0, 0, ctx, pos, x.data(), 1, ref.data(), err, sizeof err))
        << err;
    put_x(&rn.dram, rn.mem, x, 1, d);
    sp.pos = pos;
    sp.wres = {0, res, pos, res + 1};
    ASSERT_EQ(0, rn.run(sp));
    EXPECT_EQ(0, tern_test::CountDiff(get_x(rn.dram, rn.mem, 1, d), ref, "x"));
    wr[pos] = rn.cnt.v[TERN_CNT_WBUF_WR];
  }
  EXPECT_EQ(wr[0], (uint64_t)tiles);
  EXPECT_EQ(wr[0] - wr[1], (uint64_t)res);
  tern_tfm_ictx_free(ctx);
}

TEST(TfmStep, ResidencyBadWres) {
  QModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg hw = tern_hwcfg_small(8, 8);  // wbuf_depth 64
  tern_tfm_mem m = plan(fm.q.cfg, hw, 1);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_FFN, 1);
  sp.block = 0;
  char err[512];
  int tiles = tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err);
  ASSERT_GT(tiles, 8) << err;
  struct Case {
    tern_tfm_wres w;
    const char *needle;
  } cases[] = {
      {{0, tiles + 1, 0, 62}, "res_tiles"},  // more than the program has
      {{0, 8, 0, 4}, "overlaps"},            // resident [0, 8) vs streaming [4, 64)
      {{60, 8, 0, 62}, "res_base"},          // beyond WBUF
      {{-1, 4, 0, 62}, "res_base"},         {{0, 4, 0, 63}, "stream_base"},  // 1 streaming tile
      {{0, 0, 0, -2}, "stream_base"},       {{0, 4, 2, 62}, "res_loaded"},
      {{0, -1, 0, 62}, "res_tiles"},
  };
  for (const Case &k : cases) {
    sp.wres = k.w;
    tern_program p;
    EXPECT_NE(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err))
        << k.needle;
    EXPECT_NE(std::string(err).find(k.needle), std::string::npos) << err;
  }
  // a valid one compiles
  sp.wres = {0, 8, 0, 8};
  tern_program p;
  ASSERT_EQ(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err)) << err;
  tern_program_free(&p);
}

TEST(TfmStep, ProgTiles) {
  QModel fm(tern_test::PresetConfig("tiny"));  // dim 64, ffn 192, relu2_glu
  ASSERT_TRUE(fm.ok);
  char err[512];
  for (int rc : {4, 8, 16}) {
    tern_hwcfg hw = rc == 16 ? tern_hwcfg_default() : tern_hwcfg_small(rc, rc);
    tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_FFN, 1);
    sp.block = 1;
    int t = 64 / rc * 192 / rc;
    EXPECT_EQ(tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err), 3 * t) << err;
    sp.M = 4;
    EXPECT_EQ(tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err), 3 * t) << err;
    sp.kind = TERN_TFM_PROG_EMBED;
    EXPECT_EQ(tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err), 0);
    sp.kind = TERN_TFM_PROG_HEAD;
    EXPECT_EQ(tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err), 0);
    // ATTN through its own passes, and both equal the weight tiles of the
    // compiled program's tensor map
    for (int k : {TERN_TFM_PROG_FFN, TERN_TFM_PROG_ATTN}) {
      sp = spec((tern_tfm_prog_kind)k, 1);
      sp.block = 3;
      sp.pass = 3;
      int t2 = tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err);
      EXPECT_GT(t2, 0) << err;
      tern_tfm_mem m = plan(fm.q.cfg, hw, 1);
      tern_program p;
      ASSERT_EQ(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err)) << err;
      long w = 0;
      for (size_t i = 0; i < p.n_tensors; i++)
        if (p.tensors[i].dtype == TERN_DT_W2) w += p.tensors[i].rows;
      EXPECT_EQ(w, t2) << "kind " << k;
      tern_program_free(&p);
    }
    sp = spec(TERN_TFM_PROG_FFN, 1);
    sp.block = 9;
    EXPECT_EQ(tern_tfm_prog_tiles(&fm.q, &sp, &hw, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("block = 9"), std::string::npos) << err;
  }
}

// ---- a whole step: EMBED -> (ATTN, FFN) x passes -> HEAD on one DRAM -------------------

// Runs the programs of one step (M tokens at pos) on rn's session and DRAM.
int run_step(Runner *rn, const int *tokens, int M, int pos, int all_logits) {
  const tern_tfm_config &c = rn->q->cfg;
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_EMBED, M);
  sp.tokens = tokens;
  if (rn->run(sp)) return -1;
  for (int p = 0; p < c.layers * c.repeat; p++) {
    sp = spec(TERN_TFM_PROG_ATTN, M);
    sp.block = p / c.repeat;
    sp.pass = p;
    sp.pos = pos;
    if (rn->run(sp)) return -1;
    sp = spec(TERN_TFM_PROG_FFN, M);
    sp.block = p / c.repeat;
    if (rn->run(sp)) return -1;
  }
  sp = spec(TERN_TFM_PROG_HEAD, M);
  sp.all_logits = all_logits;
  return rn->run(sp);
}

// prefill of 5 tokens, then 3 decode steps, bit-exact against the integer
// reference; use_parts: compiled with tern_compile_tfm_parts (*max_parts gets
// the most parts any program of the steps was cut into)
void check_full_step_cfg(const tern_tfm_config &cfg, tern_hwcfg hw, bool use_parts = false,
                         int *max_parts = nullptr) {
  SCOPED_TRACE(testing::Message() << cfg.name << " " << hw.rows << "x" << hw.cols << " imem "
                                  << hw.imem_depth);
  QModel fm(cfg);
  ASSERT_TRUE(fm.ok);
  const int V = fm.q.cfg.vocab, ctxn = 16;
  char err[512];
  tern_tfm_ictx *ctx = tern_tfm_ictx_new(&fm.q, ctxn, err, sizeof err);
  ASSERT_NE(ctx, nullptr) << err;
  Runner rn(&fm.q, hw, 5, ctxn);
  rn.use_parts = use_parts;
  ASSERT_NE(rn.s, nullptr);
  const int prompt[5] = {72, 101, 108, 108, 111};
  std::vector<int32_t> ref((size_t)5 * V);
  ASSERT_EQ(0, tern_tfm_iprefill(ctx, prompt, 5, ref.data(), 1, err, sizeof err)) << err;
  ASSERT_EQ(0, run_step(&rn, prompt, 5, 0, 1));
  EXPECT_EQ(0, tern_test::CountDiff(rn.logits(5), ref, "prefill logits"));
  int tok = tern_tfm_iargmax(ref.data() + 4 * V, V);
  for (int s = 0; s < 3; s++) {
    SCOPED_TRACE(testing::Message() << "decode step " << s << " token " << tok);
    std::vector<int32_t> r1(V);
    ASSERT_EQ(0, tern_tfm_idecode(ctx, tok, r1.data(), err, sizeof err)) << err;
    ASSERT_EQ(0, run_step(&rn, &tok, 1, 5 + s, 0));
    EXPECT_EQ(0, tern_test::CountDiff(rn.logits(1), r1, "decode logits"));
    tok = tern_tfm_iargmax(r1.data(), V);
  }
  tern_tfm_ictx_free(ctx);
  if (max_parts) *max_parts = rn.max_parts;
}

void check_full_step(const char *preset, tern_hwcfg hw) {
  check_full_step_cfg(tern_test::PresetConfig(preset), hw);
}

TEST(TfmStep, FullStepTiny16x16) { check_full_step("tiny", tern_hwcfg_default()); }
TEST(TfmStep, FullStepTiny8x8) {
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  hw.imem_depth = 65536;
  check_full_step("tiny", hw);
}

// ---- one block of every preset: ATTN + FFN, one decode step ---------------------------

// ATTN then FFN of block 0 at position 0 (M = 1) on hw; 0, or -1 with the
// compile error in *why (the other failures are reported).
int block_decode(const tern_tfm_block_model &bm, const tern_hwcfg &hw, std::string *why,
                 uint64_t *cycles, bool use_parts = false, int *nparts = nullptr) {
  const tern_tfm_qmodel *q = &bm.q;
  const int d = q->cfg.dim, ctxn = 16;
  char err[512];
  std::vector<int32_t> x = tern_test::MakeInput(1, d, 5), ref(x.size());
  tern_tfm_ictx *ctx = tern_tfm_ictx_new(q, ctxn, err, sizeof err);
  EXPECT_NE(ctx, nullptr) << err;
  if (!ctx) return -2;
  tern_tfm_ffn_half h;
  EXPECT_EQ(0, tern_tfm_attn_half_int(q, 0, 0, ctx, 0, x.data(), 1, ref.data(), err, sizeof err))
      << err;
  EXPECT_EQ(0, tern_tfm_ffn_half_of(q, 0, &h, err, sizeof err)) << err;
  EXPECT_EQ(0, tern_tfm_ffn_half_int(&h, ref.data(), 1, ref.data(), err, sizeof err)) << err;
  tern_tfm_ictx_free(ctx);
  Runner rn(q, hw, 1, ctxn);
  rn.use_parts = use_parts;
  put_x(&rn.dram, rn.mem, x, 1, d);
  tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_ATTN, 1);
  if (rn.run(sp, why)) return -1;
  *cycles = rn.cnt.v[TERN_CNT_CYCLES];
  if (nparts) nparts[0] = rn.nparts;
  sp = spec(TERN_TFM_PROG_FFN, 1);
  if (rn.run(sp, why)) return -1;
  *cycles += rn.cnt.v[TERN_CNT_CYCLES];
  if (nparts) nparts[1] = rn.nparts;
  EXPECT_EQ(0, tern_test::CountDiff(get_x(rn.dram, rn.mem, 1, d), ref, "x after ATTN + FFN"));
  return 0;
}

TEST(TfmStep, EveryPresetOneBlockDecode) {
  int n = tern_tfm_preset_count();
  ASSERT_GE(n, 1);
  int done = 0, split = 0;
  for (int i = 0; i < n; i++) {
    tern_tfm_config c = tern_test::PresetConfig(tern_tfm_preset_name(i));
    SCOPED_TRACE(c.name);
    auto t0 = std::chrono::steady_clock::now();
    tern_tfm_block_model bm;
    char err[512];
    ASSERT_EQ(0, tern_tfm_block_model_new(&c, 0, &bm, err, sizeof err)) << err;
    auto t1 = std::chrono::steady_clock::now();
    tern_hwcfg hw = tern_hwcfg_default();
    hw.dram_bytes = (uint64_t)1 << 30;
    std::string why;
    uint64_t cycles = 0;
    // ISA v2 has no loops: one GEMM instruction per 16x16 weight tile, and the
    // ATTN / FFN of the billion-parameter presets have more tiles than the
    // 65536 IMEM entries: tern_compile_tfm_parts cuts them into parts that run
    // back to back on the session, bit-exact (checked in block_decode)
    int np[2] = {1, 1};
    int rc = block_decode(bm, hw, &why, &cycles, true, np);
    EXPECT_EQ(rc, 0) << why;
    if (np[0] > 1 || np[1] > 1) {
      // one program: the compiler says exactly why it cannot
      tern_tfm_mem m = plan(bm.q.cfg, hw, 1, 16);
      tern_tfm_prog_spec sp = spec(np[1] > 1 ? TERN_TFM_PROG_FFN : TERN_TFM_PROG_ATTN, 1);
      tern_program p;
      EXPECT_NE(0, tern_compile_tfm_prog(&bm.q, &m, &sp, &hw, nullptr, &p, err, sizeof err));
      EXPECT_NE(std::string(err).find("imem_depth = 65536"), std::string::npos) << err;
      split++;
    }
    auto t2 = std::chrono::steady_clock::now();
    std::printf(
        "[ TfmStep  ] %-22s dim %5d ffn %5d heads %2d/%-2d on %2dx%-2d: block %.2f s, "
        "compile+isa %.2f s, %llu cycles (ATTN %d part(s) + FFN %d part(s))\n",
        c.name, c.dim, c.ffn, c.heads, c.kv_heads, hw.rows, hw.cols,
        std::chrono::duration<double>(t1 - t0).count(),
        std::chrono::duration<double>(t2 - t1).count(), (unsigned long long)cycles, np[0], np[1]);
    done += rc == 0;
    tern_tfm_block_model_free(&bm);
  }
  EXPECT_EQ(done, n);
  EXPECT_GE(split, 5);  // bitnet-b1.58-700m/1.3b/3b/2b4t, mobillama-0.5b
}

// The RTL runs the same sequence: every program of a prefill and a decode step
// of the tiny preset on an "rtl" and an "isa" session (4x4, the test RTL
// build) leaves the same DRAM and every counter equal.
void check_rtl_equals_isa(const tern_tfm_config &cfg, tern_hwcfg hw, bool use_parts = false,
                          int *max_parts = nullptr) {
  QModel fm(cfg);
  ASSERT_TRUE(fm.ok);
  Runner ri(&fm.q, hw, 3, 8, true, "isa"), rr(&fm.q, hw, 3, 8, true, "rtl");
  ri.use_parts = rr.use_parts = use_parts;
  char err[512];
  tern_tfm_ictx *ctx = tern_tfm_ictx_new(&fm.q, 8, err, sizeof err);
  ASSERT_NE(ctx, nullptr) << err;
  ASSERT_NE(ri.s, nullptr);
  ASSERT_NE(rr.s, nullptr);
  const tern_tfm_config &c = fm.q.cfg;
  const int tok[3] = {84, 101, 114};
  int n = 0;
  for (int step = 0; step < 2; step++) {
    int M = step == 0 ? 3 : 1, pos = step == 0 ? 0 : 3;
    std::vector<tern_tfm_prog_spec> seq;
    tern_tfm_prog_spec sp = spec(TERN_TFM_PROG_EMBED, M);
    sp.tokens = tok + (step == 0 ? 0 : 2);
    seq.push_back(sp);
    for (int p = 0; p < c.layers; p++) {
      sp = spec(TERN_TFM_PROG_ATTN, M);
      sp.block = sp.pass = p;
      sp.pos = pos;
      seq.push_back(sp);
      sp = spec(TERN_TFM_PROG_FFN, M);
      sp.block = p;
      seq.push_back(sp);
    }
    sp = spec(TERN_TFM_PROG_HEAD, M);
    seq.push_back(sp);
    for (const tern_tfm_prog_spec &q : seq) {
      SCOPED_TRACE(testing::Message()
                   << "step " << step << " program kind " << q.kind << " block " << q.block);
      ASSERT_EQ(0, ri.run(q));
      ASSERT_EQ(0, rr.run(q));
      EXPECT_EQ(ri.nparts, rr.nparts);
      for (int i = 0; i < TERN_NCOUNTERS; i++)
        EXPECT_EQ(ri.cnt.v[i], rr.cnt.v[i]) << "counter " << tern_counter_name(i);
      ASSERT_TRUE(ri.dram == rr.dram) << "DRAM differs";
      n++;
    }
    // and the logits are the reference's
    std::vector<int32_t> ref(c.vocab);
    ASSERT_EQ(0,
              tern_tfm_iprefill(ctx, tok + (step == 0 ? 0 : 2), M, ref.data(), 0, err, sizeof err))
        << err;
    EXPECT_EQ(0, tern_test::CountDiff(rr.logits(1), ref, "RTL logits"));
  }
  EXPECT_EQ(n, 2 * (2 + 2 * c.layers));
  tern_tfm_ictx_free(ctx);
  if (max_parts) *max_parts = rr.max_parts;
}

TEST(TfmStep, RtlEqualsIsaStepTiny4x4) {
  check_rtl_equals_isa(tern_test::PresetConfig("tiny"), tern_hwcfg_small(4, 4));
}

// ---- programs cut into parts (tern_compile_tfm_parts) -------------------------------

// A block whose ATTN and FFN need more instructions than IMEM holds at 8x8
// (imem_depth 8192, the test RTL build): dim 384, ffn 512 -> FFN 3 x 48 x 64
// = 9216 GEMMs, ATTN 4 x 48 x 48 = 9216.  One layer keeps the RTL run short.
const char *kSplit8x8 =
    "[model]\nname = split8\nvocab = 128\ndim = 384\nlayers = 1\nheads = 4\nkv_heads = 2\n"
    "ffn = 512\nffn_type = relu2_glu\nmax_seq = 16\nseed = 5\n";

TEST(TfmStep, PartsFullStepsTinyImem) {
  // 8x8 with IMEM for 512 instructions: every ATTN and FFN of the tiny preset
  // (and of a LayerNorm / SubLN / SwiGLU model) is cut into several parts
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  hw.imem_depth = 256;
  int mp = 0;
  check_full_step_cfg(tern_test::PresetConfig("tiny"), hw, true, &mp);
  EXPECT_GE(mp, 3);
  mp = 0;
  std::string ln(tern_test::kLnSubln);  // the prompt's token ids need vocab > 111
  ln.replace(ln.find("vocab = 64"), 10, "vocab = 128");
  check_full_step_cfg(tern_test::ParseConfig(ln.c_str()), hw, true, &mp);
  EXPECT_GE(mp, 2);
  // a program that fits is one part, the same program as tern_compile_tfm_prog's
  QModel fm(tern_test::PresetConfig("tiny"));
  ASSERT_TRUE(fm.ok);
  tern_hwcfg h2 = tern_hwcfg_small(8, 8);
  tern_tfm_mem m = plan(fm.q.cfg, h2, 1);
  char err[512];
  for (int k : {TERN_TFM_PROG_ATTN, TERN_TFM_PROG_FFN}) {
    tern_tfm_prog_spec sp = spec((tern_tfm_prog_kind)k, 1);
    tern_program one, *parts = nullptr;
    int np = 0;
    ASSERT_EQ(0, tern_compile_tfm_prog(&fm.q, &m, &sp, &h2, nullptr, &one, err, sizeof err)) << err;
    ASSERT_EQ(0, tern_compile_tfm_parts(&fm.q, &m, &sp, &h2, nullptr, &parts, &np, err, sizeof err))
        << err;
    ASSERT_EQ(np, 1);
    ASSERT_EQ(parts[0].n_insns, one.n_insns);
    EXPECT_EQ(0, std::memcmp(parts[0].insns, one.insns, one.n_insns * sizeof(tern_insn)));
    EXPECT_EQ(parts[0].n_segs, one.n_segs);
    EXPECT_EQ(parts[0].dram_size, one.dram_size);
    tern_program_free(&one);
    tern_tfm_parts_free(parts, np);
    // cut: every part fits, only part 0 has segments, the instructions add up
    tern_hwcfg h3 = h2;
    h3.imem_depth = 256;
    ASSERT_EQ(0, tern_compile_tfm_parts(&fm.q, &m, &sp, &h3, nullptr, &parts, &np, err, sizeof err))
        << err;
    EXPECT_GE(np, 2);
    for (int i = 0; i < np; i++) {
      EXPECT_LE(parts[i].n_insns, 256u);
      EXPECT_EQ(parts[i].insns[parts[i].n_insns - 1].op, TERN_OP_END);
      EXPECT_EQ(parts[i].dram_size, parts[0].dram_size);
      if (i) {
        EXPECT_EQ(parts[i].n_segs, 0u);
      }
    }
    tern_tfm_parts_free(parts, np);
    // errors keep naming the field
    sp.M = 9;
    EXPECT_NE(0, tern_compile_tfm_parts(&fm.q, &m, &sp, &h3, nullptr, &parts, &np, err, sizeof err));
    EXPECT_NE(std::string(err).find("M = 9"), std::string::npos) << err;
    EXPECT_EQ(parts, nullptr);
    EXPECT_EQ(np, 0);
    h3.imem_depth = 32;
    sp.M = 1;
    EXPECT_NE(0, tern_compile_tfm_parts(&fm.q, &m, &sp, &h3, nullptr, &parts, &np, err, sizeof err));
    EXPECT_NE(std::string(err).find("imem_depth"), std::string::npos) << err;
  }
}

TEST(TfmStep, PartsRtlEqualsIsa8x8) {
  // ATTN and FFN cut into parts; the RTL and the ISA simulator agree on DRAM and
  // every counter after every program (all its parts), and the logits are the
  // reference's
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  int mp = 0;
  check_rtl_equals_isa(tern_test::ParseConfig(kSplit8x8), hw, true, &mp);
  EXPECT_GE(mp, 2);
}

// The step runner (runtime/tfm_exec.c) runs every part of a cut program; with
// a repeated block (WBUF residency on) the steps are bit-exact, fetch the same
// weight bytes as with one program each (resident tiles survive the cuts), and
// the statistics hold one entry per program with the parts' counters summed.
TEST(TfmStep, PartsStepRunnerWithResidency) {
  QModel ls(tern_test::ParseConfig(
      "[model]\nname = t1-ls\nrepeat = 2\nvocab = 128\ndim = 64\nlayers = 2\nheads = 4\n"
      "kv_heads = 2\nffn = 192\nffn_type = relu2_glu\nsubln = true\nmax_seq = 16\nseed = 3\n"));
  ASSERT_TRUE(ls.ok);
  char err[512];
  const int V = ls.q.cfg.vocab, passes = ls.q.cfg.layers * ls.q.cfg.repeat;
  std::vector<uint64_t> wb[2];
  for (int imem : {65536, 256}) {
    SCOPED_TRACE(imem);
    tern_tfm_exec_opts o;
    tern_tfm_exec_opts_default(&o);
    o.hw = tern_hwcfg_small(8, 8);
    o.hw.imem_depth = imem;
    o.hw.wbuf_depth = 2048;
    o.max_rows = 3;
    o.ctx = 8;
    o.residency = 1;
    tern_tfm_exec *e = tern_tfm_exec_new(&ls.q, &o, err, sizeof err);
    ASSERT_NE(e, nullptr) << err;
    tern_tfm_ictx *ic = tern_tfm_ictx_new(&ls.q, 8, err, sizeof err);
    ASSERT_NE(ic, nullptr) << err;
    std::vector<int32_t> la(V), li(V);
    int toks[3] = {'a', 'b', 'c'};
    for (int s = 0; s < 3; s++) {
      int M = s == 0 ? 3 : 1;
      const int *t = s == 0 ? toks : &toks[s - 1];
      tern_tfm_step_stats st;
      ASSERT_EQ(tern_tfm_exec_step(e, t, M, la.data(), &st, err, sizeof err), 0) << err;
      ASSERT_EQ(tern_tfm_iprefill(ic, t, M, li.data(), 0, err, sizeof err), 0) << err;
      EXPECT_EQ(0, tern_test::CountDiff(la, li, "runner logits"));
      EXPECT_EQ(st.nprog, 2 + 2 * passes);
      uint64_t cyc = 0, attn = 0, ffn = 0;
      size_t maxn = 0;
      for (int i = 0; i < st.nprog; i++) {
        cyc += st.prog[i].cnt.v[TERN_CNT_CYCLES];
        if (st.prog[i].kind == TERN_TFM_PROG_ATTN) attn += st.prog[i].cnt.v[TERN_CNT_CYCLES];
        if (st.prog[i].kind == TERN_TFM_PROG_FFN) ffn += st.prog[i].cnt.v[TERN_CNT_CYCLES];
        if (st.prog[i].n_insns > maxn) maxn = st.prog[i].n_insns;
      }
      EXPECT_EQ(cyc, st.total.v[TERN_CNT_CYCLES]);
      EXPECT_EQ(attn, st.attn_cycles);
      EXPECT_EQ(ffn, st.ffn_cycles);
      if (imem == 256) {
        EXPECT_GT(maxn, 256u) << "no program was cut";
      }
      wb[imem == 256].push_back(st.weight_bytes);
      tern_tfm_step_stats_free(&st);
    }
    tern_tfm_ictx_free(ic);
    tern_tfm_exec_free(e);
  }
  ASSERT_EQ(wb[0].size(), 3u);
  EXPECT_GT(wb[0][0], 0u);
  EXPECT_EQ(wb[0], wb[1]);
}
