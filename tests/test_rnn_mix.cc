// MIX programs of the recurrent blocks (include/tern/compiler_rnn.h,
// compiler/rnn_mix.c): the temporal-mixing half of a Griffin recurrent block
// ('r') or an MLGRU block ('m') on the ISA simulator and the RTL, against the
// integer reference tern_rnn_mix_int — x and the block's state bit for bit,
// for a prefill followed by decodes on one session (the state lives in DRAM
// between the programs) — at 4x4, 8x8 and 16x16; token blocks, paged
// constants, odd and random shapes; the block shapes of the larger presets at
// 16x16 (compiled into parts); and the shape checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler_rnn.h"
#include "tern/hwcfg.h"
#include "tern/program.h"
#include "tern/rnn.h"
#include "tfm_fixtures.h"

namespace {

// A generated, quantised recurrent model.
struct RModel {
  tern_rnn_model m;
  tern_rnn_qmodel *q = nullptr;
  explicit RModel(const tern_rnn_config &c) {
    std::memset(&m, 0, sizeof m);
    char err[512];
    if (tern_rnn_generate(&c, &m, 0, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    q = tern_rnn_quantize(&m, err, sizeof err);
    EXPECT_NE(q, nullptr) << err;
  }
  ~RModel() {
    tern_rnn_qmodel_free(q);
    tern_rnn_free(&m);
  }
  RModel(const RModel &) = delete;
  RModel &operator=(const RModel &) = delete;
};

tern_rnn_config preset(const char *name) {
  tern_rnn_config c;
  char err[512];
  EXPECT_EQ(tern_rnn_preset(name, &c, err, sizeof err), 0) << err;
  return c;
}

int32_t rd32(const std::vector<uint8_t> &d, uint64_t a) { return tern_test::Rd32(&d[a]); }
void wr32(std::vector<uint8_t> *d, uint64_t a, int32_t v) { std::memcpy(&(*d)[a], &v, 4); }

// MIX programs of one model on one session, DRAM persistent across runs.
struct MixRunner {
  const tern_rnn_qmodel *q;
  tern_hwcfg hw;
  int compile_acc = 0;  // compile for a smaller ACC than the machine's (0: the machine's)
  tern_rnn_mem mem;
  tern_session *s = nullptr;
  std::vector<uint8_t> dram;
  tern_counters cnt{};
  size_t n_insns = 0;
  int nparts = 0;
  bool ok = false;

  MixRunner(const tern_rnn_qmodel *qm, const tern_hwcfg &h, int rows, const char *backend = "isa")
      : q(qm), hw(h) {
    char err[512];
    if (tern_rnn_mem_plan(q, &hw, rows, 8, &mem, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    dram.assign(mem.tm.priv_base, 0);
    s = tern_session_open(backend, &hw, err, sizeof err);
    EXPECT_NE(s, nullptr) << err;
    ok = s != nullptr;
  }
  ~MixRunner() { tern_session_close(s); }
  MixRunner(const MixRunner &) = delete;
  MixRunner &operator=(const MixRunner &) = delete;

  // x rows (dim values, padding lanes garbage) into the map
  void put_x(const std::vector<int32_t> &x, int M) {
    int d = q->cfg.dim;
    for (int r = 0; r < M; r++)
      for (int c = 0; c < mem.tm.dim_pad; c++)
        wr32(&dram, mem.tm.x_addr + ((uint64_t)r * mem.tm.dim_pad + c) * 4,
             c < d ? x[(size_t)r * d + c] : (int32_t)(0x5a5a5a5a + c * 977 + r));
  }
  std::vector<int32_t> get_x(int M) const {
    int d = q->cfg.dim;
    std::vector<int32_t> x((size_t)M * d);
    for (int r = 0; r < M; r++)
      for (int c = 0; c < d; c++)
        x[(size_t)r * d + c] = rd32(dram, mem.tm.x_addr + ((uint64_t)r * mem.tm.dim_pad + c) * 4);
    return x;
  }
  // block b's state in the reference layout (no padding); pad_nonzero counts
  // nonzero padding lanes
  std::vector<int32_t> get_state(int b, int *pad_nonzero) const {
    int w = q->cfg.lru_width, rows = q->block[b].kind == TERN_RNN_RECURRENT ? q->cfg.conv_width : 1;
    std::vector<int32_t> st((size_t)rows * w);
    *pad_nonzero = 0;
    for (int r = 0; r < rows; r++)
      for (int j = 0; j < mem.lru_pad; j++) {
        int32_t v = rd32(dram, mem.state_addr[b] + ((uint64_t)r * mem.lru_pad + j) * 4);
        if (j < w)
          st[(size_t)r * w + j] = v;
        else
          *pad_nonzero += v != 0;
      }
    return st;
  }

  // block b's state from the reference layout (padding lanes 0)
  void put_state(int b, const std::vector<int32_t> &st) {
    int w = q->cfg.lru_width, rows = (int)(st.size() / (size_t)w);
    for (int r = 0; r < rows; r++)
      for (int j = 0; j < mem.lru_pad; j++)
        wr32(&dram, mem.state_addr[b] + ((uint64_t)r * mem.lru_pad + j) * 4,
             j < w ? st[(size_t)r * w + j] : 0);
  }

  // compile MIX(b, M) into parts and run them in order: 0 or -1 (failure reported)
  int run(int b, int M) {
    char err[768];
    tern_program *parts = nullptr;
    int np = 0;
    tern_compile_opts o{};
    o.tokens = M;
    tern_hwcfg chw = hw;
    if (compile_acc) chw.acc_depth = compile_acc;
    if (tern_compile_rnn_mix(q, &mem, b, M, &chw, &o, &parts, &np, err, sizeof err)) {
      ADD_FAILURE() << "compile MIX block " << b << " M " << M << ": " << err;
      return -1;
    }
    nparts = np;
    int rc = tern_test::RunParts(s, &dram, parts, np, hw.imem_depth, &cnt, &n_insns,
                                 "MIX block " + std::to_string(b));
    tern_tfm_parts_free(parts, np);
    return rc;
  }
};

struct StepStat {
  uint64_t cycles = 0, dram_rd = 0, compute_busy = 0;
  size_t insns = 0;
  int parts = 0;
};

// Steps of M rows each (positions continue) of block b on the backend(s):
// after every step x and the DRAM state equal tern_rnn_mix_int's.  With two
// backends, the second runs the same programs and every counter must be
// equal.  random_state: start from a random state (h Q18 in (-4, 4), the
// window Q12 in (-3, 3)) instead of zeros.  Returns the statistics of the
// last step.
StepStat check_mix(const tern_rnn_qmodel *q, int b, const tern_hwcfg &hw,
                   const std::vector<int> &steps, const char *backend = "isa",
                   const char *backend2 = nullptr, bool random_state = false, int compile_acc = 0) {
  StepStat st;
  const tern_rnn_config &c = q->cfg;
  int rows = 1;
  for (int M : steps) rows = M > rows ? M : rows;
  MixRunner r1(q, hw, rows, backend);
  if (!r1.ok) return st;
  r1.compile_acc = compile_acc;
  std::unique_ptr<MixRunner> r2;
  if (backend2) {
    r2.reset(new MixRunner(q, hw, rows, backend2));
    if (!r2->ok) return st;
    r2->compile_acc = compile_acc;
  }
  std::vector<uint8_t> ref(tern_rnn_block_state_bytes(q, b), 0);
  if (random_state) {
    std::vector<int32_t> st(ref.size() / 4);
    uint32_t s = 12345u + (uint32_t)b;
    for (size_t i = 0; i < st.size(); i++) {
      s = s * 1103515245u + 12345u;
      int32_t v = (int32_t)((s >> 4) % 24577u) - 12288; /* Q12 (-3, 3) */
      st[i] = i < (size_t)c.lru_width ? v * 85 : v;     /* h: Q18 (-4, 4) */
    }
    std::memcpy(ref.data(), st.data(), ref.size());
    r1.put_state(b, st);
    if (r2) r2->put_state(b, st);
  }
  char err[512];
  int pos = 0;
  for (size_t k = 0; k < steps.size(); k++) {
    int M = steps[k];
    SCOPED_TRACE(testing::Message() << c.name << " block " << b << " step " << k << " (M " << M
                                    << ", pos " << pos << ") on " << hw.rows << "x" << hw.cols);
    std::vector<int32_t> x = tern_test::MakeInput(M, c.dim, 100 + (uint32_t)k, (uint32_t)b + 1);
    r1.put_x(x, M);
    if (r1.run(b, M)) return st;
    if (r2) {
      r2->put_x(x, M);
      if (r2->run(b, M)) return st;
      for (int i = 0; i < TERN_NCOUNTERS; i++)
        EXPECT_EQ(r1.cnt.v[i], r2->cnt.v[i]) << "counter " << tern_counter_name(i);
      EXPECT_TRUE(r1.dram == r2->dram) << "DRAM differs between " << backend << " and " << backend2;
    }
    EXPECT_EQ(0, tern_rnn_mix_int(q, b, ref.data(), pos, x.data(), M, err, sizeof err)) << err;
    EXPECT_EQ(0, tern_test::CountDiff(r1.get_x(M), x, "x"));
    int padnz = 0;
    std::vector<int32_t> s = r1.get_state(b, &padnz);
    std::vector<int32_t> sr(ref.size() / 4);
    std::memcpy(sr.data(), ref.data(), ref.size());
    EXPECT_EQ(0, tern_test::CountDiff(s, sr, "state"));
    EXPECT_EQ(padnz, 0) << "nonzero padding lanes in the DRAM state";
    pos += M;
    st.cycles = r1.cnt.v[TERN_CNT_CYCLES];
    st.dram_rd = r1.cnt.v[TERN_CNT_DRAM_RD_BYTES];
    st.compute_busy = r1.cnt.v[TERN_CNT_COMPUTE_BUSY];
    st.insns = r1.n_insns;
    st.parts = r1.nparts;
  }
  // the state is nontrivial (the comparison above is not of zeros)
  int nz = 0;
  for (uint8_t v : ref) nz += v != 0;
  EXPECT_GT(nz, 0);
  return st;
}

const char *kTiny[] = {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"};

// the compiler's "tile" dump of MIX(b, M) (token block, constant placement);
// "" if it does not compile
std::string tile_dump(const tern_rnn_qmodel *q, const tern_hwcfg &hw, int b, int M) {
  char err[512], *buf = nullptr;
  size_t len = 0;
  tern_rnn_mem mem;
  EXPECT_EQ(0, tern_rnn_mem_plan(q, &hw, M, 8, &mem, err, sizeof err)) << err;
  FILE *f = open_memstream(&buf, &len);
  tern_compile_opts o{};
  o.tokens = M;
  o.dump_after = "tile";
  o.dump_to = f;
  tern_program *parts = nullptr;
  int np = 0;
  int rc = tern_compile_rnn_mix(q, &mem, b, M, &hw, &o, &parts, &np, err, sizeof err);
  tern_tfm_parts_free(parts, np);
  std::fclose(f);
  std::string s(rc == 0 && buf ? buf : "");
  std::free(buf);
  return s;
}

// token block rows of a tile dump (0 if none)
int dump_mb(const std::string &d) {
  size_t p = d.find("token block Mb = ");
  return p == std::string::npos ? 0 : std::atoi(d.c_str() + p + 17);
}

// The largest acc_depth <= hw.acc_depth (steps of 8 words) whose MIX(b, M)
// tile dump satisfies ok; 0 if none compiles that way.
template <class F>
int find_acc(const tern_rnn_qmodel *q, tern_hwcfg hw, int b, int M, F ok) {
  for (int acc = hw.acc_depth; acc >= 64; acc -= 8) {
    hw.acc_depth = acc;
    std::string d = tile_dump(q, hw, b, M);
    if (!d.empty() && ok(d)) return acc;
  }
  return 0;
}

}  // namespace

// Block 0 of the three tiny presets: a prefill of 5 rows, then 3 decodes, on one
// ISA session, bit-exact (x and state) at 4x4, 8x8 and 16x16.
TEST(RnnMix, TinyPresetsBitExact) {
  for (const char *name : kTiny) {
    RModel rm(preset(name));
    ASSERT_NE(rm.q, nullptr);
    for (int rc : {4, 8, 16}) {
      tern_hwcfg hw = rc == 16 ? tern_hwcfg_default() : tern_hwcfg_small(rc, rc);
      StepStat st = check_mix(rm.q, 0, hw, {5, 1, 1, 1});
      if (rc == 16)
        std::printf(
            "[ RnnMix   ] %-16s block 0 ('%c') decode MIX at 16x16: %zu instructions, "
            "%llu cycles (compute busy %llu, DRAM read %llu bytes)\n",
            name, rm.q->block[0].kind, st.insns, (unsigned long long)st.cycles,
            (unsigned long long)st.compute_busy, (unsigned long long)st.dram_rd);
    }
  }
}

// Token blocks smaller than the step (a small ACC): the Conv1D window and h
// cross token-block boundaries inside one program, and a prefill of more rows
// than the window (cw - 1 = 3) with several rows per block.
TEST(RnnMix, TokenBlocksAndPrefillSplits) {
  RModel rm(preset("hawk-tiny"));
  ASSERT_NE(rm.q, nullptr);
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  // 3 .. 6 rows per token block (at least the window's cw - 1 = 3), then 2 rows
  int acc = find_acc(rm.q, hw, 1, 7,
                     [](const std::string &d) { return dump_mb(d) >= 3 && dump_mb(d) < 7; });
  ASSERT_GT(acc, 0);
  hw.acc_depth = acc;
  check_mix(rm.q, 1, hw, {7, 2, 1, 4});
  acc = find_acc(rm.q, hw, 1, 7, [](const std::string &d) { return dump_mb(d) == 2; });
  ASSERT_GT(acc, 0);
  hw.acc_depth = acc;
  check_mix(rm.q, 1, hw, {7, 2, 1, 4});
}

// Constants that do not fit next to the token rows are paged (loaded into one or
// two ACC pages right before each use): the per-channel vectors, or the tables
// too; the placement with the most rows per token block is chosen.  Each
// placement is found by shrinking ACC, then run bit-exact.
TEST(RnnMix, PagedConstants) {
  RModel rm(preset("hawk-tiny"));
  ASSERT_NE(rm.q, nullptr);
  struct Case {
    int rc;
    std::vector<int> steps;
    const char *expect;
  } cases[] = {
      {8, {2, 1, 2}, "paged constants: vectors in 2 page(s)"},
      {8, {2, 1, 2}, "paged constants: vectors in 1 page(s)"},
      {8, {5, 1}, "paged constants: tables and vectors in 2 page(s)"},
      {8, {5, 1}, "paged constants: tables and vectors in 1 page(s)"},
      {4, {3, 1}, "paged constants: tables and vectors in 2 page(s)"},
  };
  // the default 8x8 ACC holds everything
  EXPECT_EQ(tile_dump(rm.q, tern_hwcfg_small(8, 8), 0, 5).find("paged"), std::string::npos);
  EXPECT_NE(tile_dump(rm.q, tern_hwcfg_small(4, 4), 0, 3).find(cases[4].expect), std::string::npos);
  int found = 0;
  for (const Case &k : cases) {
    SCOPED_TRACE(k.expect);
    tern_hwcfg hw = k.rc == 8 ? tern_hwcfg_small(8, 8) : tern_hwcfg_small(4, 4);
    std::string want = k.expect;
    int acc = find_acc(rm.q, hw, 0, k.steps[0],
                       [&](const std::string &d) { return d.find(want) != std::string::npos; });
    std::printf("[ RnnMix   ] %dx%d, %-48s acc_depth %d\n", k.rc, k.rc, k.expect, acc);
    if (!acc) continue;
    found++;
    hw.acc_depth = acc;
    check_mix(rm.q, 0, hw, k.steps);
  }
  EXPECT_GE(found, 4);
}

// The RTL (the test builds at 8x8 and 4x4) runs the same programs: DRAM and
// every counter equal the ISA simulator's after every program (also with paged
// constants and several token blocks: programs compiled for a smaller ACC; and
// a program cut into parts).
TEST(RnnMix, RtlEqualsIsa) {
  for (const char *name : {"hawk-tiny", "matmulfree-tiny"}) {
    RModel rm(preset(name));
    ASSERT_NE(rm.q, nullptr);
    StepStat st = check_mix(rm.q, 0, tern_hwcfg_small(8, 8), {3, 1}, "isa", "rtl");
    EXPECT_GT(st.cycles, 0u);
  }
  RModel rm(preset("hawk-tiny"));
  ASSERT_NE(rm.q, nullptr);
  int acc = find_acc(rm.q, tern_hwcfg_small(8, 8), 0, 3, [](const std::string &d) {
    return d.find("paged constants: tables and vectors in 1 page(s)") != std::string::npos &&
           dump_mb(d) < 3;
  });
  ASSERT_GT(acc, 0);
  StepStat st = check_mix(rm.q, 0, tern_hwcfg_small(8, 8), {3, 1}, "isa", "rtl", false, acc);
  EXPECT_GT(st.cycles, 0u);
  // 4x4 (the other test RTL build): paged tables and vectors, 5 rows cut into parts
  st = check_mix(rm.q, 0, tern_hwcfg_small(4, 4), {1, 5}, "isa", "rtl");
  EXPECT_GT(st.cycles, 0u);
  EXPECT_GE(st.parts, 2);
}

// The block shapes of the larger presets (a copy with layers = 1, vocab = 256):
// one decode from a random state at 16x16, compiled into parts, on the ISA
// simulator, bit-exact.
TEST(RnnMix, LargerPresetShapesDecode16x16) {
  for (const char *name :
       {"hawk-100m", "griffin-100m", "matmulfree-370m", "hawk-1b", "griffin-1b"}) {
    auto t0 = std::chrono::steady_clock::now();
    tern_rnn_config c = preset(name);
    c.layers = 1;
    c.vocab = 256;
    RModel rm(c);
    ASSERT_NE(rm.q, nullptr);
    auto t1 = std::chrono::steady_clock::now();
    StepStat st = check_mix(rm.q, 0, tern_hwcfg_default(), {1}, "isa", nullptr, true);
    auto t2 = std::chrono::steady_clock::now();
    tern_hwcfg hw = tern_hwcfg_default();
    std::printf(
        "[ RnnMix   ] %-16s ('%c', d %d, lru %d/%d): model %.2f s, MIX compile+isa %.2f s, "
        "%d part(s), %zu instructions, %llu cycles (compute busy %llu), DRAM read %llu "
        "bytes (%.1f %% of the cycles at %d B/cycle)\n",
        name, rm.q->block[0].kind, c.dim, c.lru_width, c.lru_block,
        std::chrono::duration<double>(t1 - t0).count(),
        std::chrono::duration<double>(t2 - t1).count(), st.parts, st.insns,
        (unsigned long long)st.cycles, (unsigned long long)st.compute_busy,
        (unsigned long long)st.dram_rd,
        st.cycles ? 100.0 * (double)st.dram_rd / hw.dram_bw / (double)st.cycles : 0.0, hw.dram_bw);
  }
}

// Bad shapes and arguments: the compiler (and the memory plan) refuse them with a
// message naming the field.  The model is quantised from a valid config and its
// cfg changed afterwards, as a hand-built model would be.
TEST(RnnMix, RejectsBadShapes) {
  char err[512];
  tern_hwcfg hw = tern_hwcfg_small(8, 8);
  tern_program *parts = nullptr;
  int np = -1;
  auto compile_err = [&](tern_rnn_qmodel *q, const tern_rnn_mem &mem, int b, int M,
                         const tern_hwcfg &h) -> std::string {
    err[0] = 0;
    EXPECT_NE(0, tern_compile_rnn_mix(q, &mem, b, M, &h, nullptr, &parts, &np, err, sizeof err));
    EXPECT_EQ(parts, nullptr);
    EXPECT_EQ(np, 0);
    return err;
  };
  auto plan_err = [&](const tern_rnn_qmodel *q) -> std::string {
    tern_rnn_mem m;
    err[0] = 0;
    EXPECT_NE(0, tern_rnn_mem_plan(q, &hw, 2, 8, &m, err, sizeof err));
    return err;
  };
  {
    RModel rm(preset("hawk-tiny"));
    ASSERT_NE(rm.q, nullptr);
    tern_rnn_mem mem;
    ASSERT_EQ(0, tern_rnn_mem_plan(rm.q, &hw, 2, 8, &mem, err, sizeof err)) << err;
    const tern_rnn_config good = rm.q->cfg;
    rm.q->cfg.conv_width = 0;
    std::string e = compile_err(rm.q, mem, 0, 1, hw);
    EXPECT_NE(e.find("'conv_width' is 0"), std::string::npos) << e;
    e = plan_err(rm.q);
    EXPECT_NE(e.find("'conv_width' is 0"), std::string::npos) << e;
    rm.q->cfg = good;
    rm.q->cfg.lru_block = 25;  // does not divide lru_width = 96
    e = compile_err(rm.q, mem, 0, 1, hw);
    EXPECT_NE(e.find("'lru_block' is 25"), std::string::npos) << e;
    EXPECT_NE(e.find("lru_width = 96"), std::string::npos) << e;
    e = plan_err(rm.q);
    EXPECT_NE(e.find("'lru_block' is 25"), std::string::npos) << e;
    rm.q->cfg = good;
    // arguments: M, block, a plan for another array
    e = compile_err(rm.q, mem, 0, 3, hw);
    EXPECT_NE(e.find("M = 3, expected 1 .. 2"), std::string::npos) << e;
    e = compile_err(rm.q, mem, 0, 0, hw);
    EXPECT_NE(e.find("M = 0"), std::string::npos) << e;
    e = compile_err(rm.q, mem, 3, 1, hw);
    EXPECT_NE(e.find("block = 3, expected 0 .. 2"), std::string::npos) << e;
    tern_rnn_mem m16;
    tern_hwcfg h16 = tern_hwcfg_default();
    ASSERT_EQ(0, tern_rnn_mem_plan(rm.q, &h16, 2, 8, &m16, err, sizeof err)) << err;
    m16.lru_pad = 112;  // not lru_width rounded up to lcm(rows, cols)
    e = compile_err(rm.q, m16, 0, 1, h16);
    EXPECT_NE(e.find("lru_pad = 112"), std::string::npos) << e;
    m16.lru_pad = 96;
    m16.state_addr[0] = 0;  // no state for block 0
    e = compile_err(rm.q, m16, 0, 1, h16);
    EXPECT_NE(e.find("state_addr[0] = 0x0"), std::string::npos) << e;
  }
  {
    // heads: the MLGRU's heads must divide lru_width (tern_rnn_check).  For hawk
    // and griffin heads does not shape the MIX program once lru_block is set
    // (the parser takes an explicit lru_block with any heads), so it is not
    // checked there.
    RModel rm(preset("matmulfree-tiny"));
    ASSERT_NE(rm.q, nullptr);
    tern_rnn_mem mem;
    ASSERT_EQ(0, tern_rnn_mem_plan(rm.q, &hw, 2, 8, &mem, err, sizeof err)) << err;
    rm.q->cfg.heads = 5;  // lru_width = 64
    std::string e = compile_err(rm.q, mem, 0, 1, hw);
    EXPECT_NE(e.find("'heads' is 5"), std::string::npos) << e;
    EXPECT_NE(e.find("lru_width = 64"), std::string::npos) << e;
    e = plan_err(rm.q);
    EXPECT_NE(e.find("'heads' is 5"), std::string::npos) << e;
  }
  {
    // griffin's local-attention block is not a MIX program
    RModel rm(preset("griffin-tiny"));
    ASSERT_NE(rm.q, nullptr);
    tern_rnn_mem mem;
    ASSERT_EQ(0, tern_rnn_mem_plan(rm.q, &hw, 2, 8, &mem, err, sizeof err)) << err;
    std::string e = compile_err(rm.q, mem, 2, 1, hw);
    EXPECT_NE(e.find("block 2 is 'a'"), std::string::npos) << e;
    // and a too small ACC says what it needs
    tern_hwcfg tiny = hw;
    tiny.acc_depth = 160;
    e = compile_err(rm.q, mem, 0, 1, tiny);
    EXPECT_NE(e.find("acc_depth = 160"), std::string::npos) << e;
  }
}

// Widths that are not multiples of the array (padding lanes in x, the state and
// every lru row), Conv1D widths 1 (no window) and 2, gate blocks split or dense,
// and an MLGRU of another width than dim.
TEST(RnnMix, OddShapes) {
  const char *texts[] = {
      "[model]\nname = odd3\narch = hawk\nvocab = 256\ndim = 40\nlayers = 1\nheads = 5\n"
      "lru_width = 100\nconv_width = 3\nffn = 64\nseed = 7\n",
      "[model]\nname = odd1\narch = griffin\nvocab = 256\ndim = 40\nlayers = 2\nheads = 2\n"
      "lru_width = 60\nlru_block = 12\nconv_width = 1\nffn = 64\npattern = ra\nseed = 8\n",
      "[model]\nname = odd2\narch = hawk\nvocab = 256\ndim = 24\nlayers = 1\nheads = 1\n"
      "lru_width = 48\nconv_width = 2\nffn = 32\nseed = 9\n",
      "[model]\nname = oddm\narch = mlgru\nvocab = 256\ndim = 40\nlayers = 1\nheads = 4\n"
      "lru_width = 52\nffn = 64\nseed = 10\n",
  };
  for (const char *t : texts) {
    tern_rnn_config c;
    char err[512];
    ASSERT_EQ(0, tern_rnn_parse_string(t, "test", &c, err, sizeof err)) << err;
    RModel rm(c);
    ASSERT_NE(rm.q, nullptr);
    for (int rc : {4, 8, 16}) {
      tern_hwcfg hw = rc == 16 ? tern_hwcfg_default() : tern_hwcfg_small(rc, rc);
      check_mix(rm.q, 0, hw, {5, 1, 2}, "isa", nullptr, true);
    }
  }
}

// Random shapes (fixed seed): widths, gate blocks, Conv1D widths, array sizes,
// ACC sizes (down to paging and one row per token block) and step sequences,
// all bit-exact against the reference.
TEST(RnnMix, RandomShapes) {
  std::mt19937 rng(20261127u);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int runs = 0, by_rc[3] = {0, 0, 0}, small_acc = 0, paged = 0, multi_block = 0;
  for (int i = 0; i < 16; i++) {
    bool mlgru = i % 4 == 3;
    int dim = pick(3, 40) * 2, nb = pick(1, 5), S = 4 * pick(1, 8), cw = pick(1, 5);
    int w = mlgru ? pick(4, 80) : nb * S;
    char text[512];
    std::snprintf(text, sizeof text,
                  "[model]\nname = rnd%d\narch = %s\nvocab = 256\ndim = %d\nlayers = 1\nheads = 1\n"
                  "lru_width = %d\nlru_block = %d\nconv_width = %d\nffn = 16\nseed = %d\n",
                  i, mlgru ? "mlgru" : "hawk", dim, w, mlgru ? w : S, cw, 100 + i);
    tern_rnn_config c;
    char err[512];
    ASSERT_EQ(0, tern_rnn_parse_string(text, "test", &c, err, sizeof err)) << err << "\n" << text;
    RModel rm(c);
    ASSERT_NE(rm.q, nullptr);
    int rc = 4 << pick(0, 2);
    std::vector<int> steps;
    for (int k = pick(1, 3); k > 0; k--) steps.push_back(pick(1, 6));
    int Mx = *std::max_element(steps.begin(), steps.end());
    tern_hwcfg hw = rc == 16 ? tern_hwcfg_default() : tern_hwcfg_small(rc, rc);
    if (tile_dump(rm.q, hw, 0, Mx).empty()) {  // too wide for the small array's ACC
      rc = 16;
      hw = tern_hwcfg_default();
    }
    if (pick(0, 1)) {  // a smaller ACC: the smallest that compiles (steps of 8), or half way
      int full = hw.acc_depth, acc = 64;
      for (;; acc += 8) {
        hw.acc_depth = acc;
        if (acc >= full || !tile_dump(rm.q, hw, 0, Mx).empty()) break;
      }
      hw.acc_depth = pick(0, 1) ? acc : (acc + full) / 2;
    }
    SCOPED_TRACE(testing::Message() << text << rc << "x" << rc << " acc_depth " << hw.acc_depth);
    std::string d = tile_dump(rm.q, hw, 0, Mx);
    by_rc[rc == 4 ? 0 : rc == 8 ? 1 : 2]++;
    small_acc += hw.acc_depth < (rc == 16 ? 4096 : rc == 8 ? 1024 : 512);
    paged += d.find("paged") != std::string::npos;
    multi_block += dump_mb(d) < Mx;
    check_mix(rm.q, 0, hw, steps, "isa", nullptr, true);
    runs++;
  }
  EXPECT_EQ(runs, 16);
  std::printf(
      "[ RnnMix   ] random shapes: %d at 4x4, %d at 8x8, %d at 16x16; %d with a smaller ACC, "
      "%d paged, %d with several token blocks\n",
      by_rc[0], by_rc[1], by_rc[2], small_acc, paged, multi_block);
}
