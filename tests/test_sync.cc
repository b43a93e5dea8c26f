// Sync-pass tests (engineer "cc").  An independent checker replays the token
// semantics of docs/ISA.md (k-th pop on a direction waits for the k-th push;
// queues execute in order; non-GEMM compute waits for the GEMM pipeline;
// a GEMM only waits for the previous compute instruction to start) and asserts
// every cross-queue hazard (RAW/WAR/WAW on any SRAM word, the LUT or a DRAM
// byte) is ordered by a chain of tokens.  Its footprint code is written from
// docs/ISA.md, not shared with compiler/sync.c.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/mlp.h"
#include "tern/program.h"

#include "fuzz_seed.h"

namespace {

enum Space { WB, AB, AC, OU, LU, DR };
struct Access {
  int sp;
  uint64_t addr;
  bool write;
};

int queue_of(const tern_insn &in) {
  if (in.op == TERN_OP_LOAD) return 0;
  if (in.op == TERN_OP_STORE) return 2;
  if (in.op == TERN_OP_SYNC) return in.queue;
  return 1;
}

uint64_t wbytes(const tern_hwcfg &c, int mem) {
  switch (mem) {
    case TERN_MEM_WBUF: return (uint64_t)c.rows * c.cols / 4;
    case TERN_MEM_ABUF: return (uint64_t)c.rows;
    case TERN_MEM_ACC: return (uint64_t)c.cols * 4;
    case TERN_MEM_OUT8: return 1;  // byte view of OUT
    default: return (uint64_t)c.cols;
  }
}

int mem_space(int mem) { return mem == 0 ? WB : mem == 1 ? AB : mem == 2 ? AC : OU; }

// Straight from docs/ISA.md "Semantics".
void footprint(const tern_hwcfg &c, const tern_insn &in, std::vector<Access> &v) {
  v.clear();
  switch (in.op) {
    case TERN_OP_LOAD:
    case TERN_OP_STORE: {
      bool ld = in.op == TERN_OP_LOAD;
      uint64_t wb = wbytes(c, in.mem);
      for (uint64_t r = 0; r < in.y_size; r++)
        for (uint64_t i = 0; i < in.x_size; i++) {
          uint64_t a = in.sram_addr + r * in.sram_stride + i;
          // OUT8 addresses bytes; hazards are tracked per OUT word (byte / C)
          if (in.mem == TERN_MEM_OUT8) a /= (uint64_t)c.cols;
          v.push_back({mem_space(in.mem), a, ld});
          for (uint64_t b = 0; b < wb; b++)
            v.push_back({DR, in.dram_addr + r * in.dram_stride + i * wb + b, !ld});
        }
      break;
    }
    case TERN_OP_GEMM:
      v.push_back({WB, in.wbuf_addr, false});
      for (uint64_t i = 0; i < in.m; i++) {
        v.push_back({AB, in.abuf_addr + i * in.abuf_stride, false});
        if (!in.reset) v.push_back({AC, in.acc_addr + i * in.acc_stride, false});
        v.push_back({AC, in.acc_addr + i * in.acc_stride, true});
      }
      break;
    case TERN_OP_VEC: {
      int vop = in.vop;
      if (vop == TERN_VOP_MAC8) {
        // a_k = byte k%C of OUT[SRC2 + k/C], b = OUT[SRC1 + k*SRC_RS + i]
        for (uint64_t k = 0; k < in.rows; k++) {
          v.push_back({OU, in.src2 + k / (uint64_t)c.cols, false});
          for (uint64_t i = 0; i < in.n; i++) v.push_back({OU, in.src1 + k * in.src_rs + i, false});
        }
        for (uint64_t i = 0; i < in.n; i++) {
          if (in.mode == 1) v.push_back({AC, in.dst + i, false});
          v.push_back({AC, in.dst + i, true});
        }
        break;
      }
      if (vop == TERN_VOP_LUTLD) {
        for (uint64_t i = 0; i < in.n; i++) v.push_back({AC, in.src1 + i, false});
        v.push_back({LU, 0, true});
        break;
      }
      bool scalar = vop == TERN_VOP_RECIP || vop == TERN_VOP_RSQRT;
      bool reduce = vop == TERN_VOP_RSUM || vop == TERN_VOP_RSUMSQ || vop == TERN_VOP_RMAXABS;
      bool uses_b = !reduce && vop != TERN_VOP_LUT;
      uint64_t n = scalar ? 1 : in.n;
      for (uint64_t r = 0; r < in.rows; r++) {
        for (uint64_t i = 0; i < n; i++) {
          v.push_back({AC, in.src1 + r * in.src_rs + i, false});
          if (uses_b) {
            uint64_t b = in.mode == TERN_VMODE_VEC        ? in.src2 + r * in.src_rs + i
                         : in.mode == TERN_VMODE_BCASTROW ? in.src2 + i
                         : in.mode == TERN_VMODE_PERROW   ? in.src2 + r
                                                          : in.src2;
            v.push_back({AC, b, false});
          }
        }
        if (vop == TERN_VOP_QUANT)
          for (uint64_t i = 0; i < n; i++) v.push_back({OU, in.dst + r * in.dst_rs + i, true});
        else if (scalar || reduce)
          v.push_back({AC, in.dst + r * in.dst_rs, true});
        else
          for (uint64_t i = 0; i < n; i++) v.push_back({AC, in.dst + r * in.dst_rs + i, true});
      }
      if (vop == TERN_VOP_LUT) v.push_back({LU, 0, false});
      break;
    }
    default: break;
  }
}

struct CheckResult {
  std::string error;        // token protocol error (pop without an earlier push)
  long hazards = 0;         // cross-queue conflicting pairs examined
  long violations = 0;      // unordered ones
  std::string first_violation;
};

CheckResult check_program(const tern_hwcfg &c, const tern_insn *p, size_t n) {
  CheckResult res;
  using Vec = std::array<long, 3>;
  std::vector<Vec> S(n), F(n);
  long prev[3] = {-1, -1, -1};
  std::vector<long> pushes[4];
  size_t pops[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    const tern_insn &in = p[i];
    int q = queue_of(in);
    Vec s = {-1, -1, -1};
    auto join = [&s](const Vec &o) {
      for (int k = 0; k < 3; k++) s[k] = std::max(s[k], o[k]);
    };
    long pv = prev[q];
    if (pv >= 0) {
      if (q == 1 && in.op == TERN_OP_GEMM && p[pv].op == TERN_OP_GEMM)
        join(S[pv]);  // back-to-back GEMMs: only the start of the previous is known
      else
        join(F[pv]);
    }
    // pops: directions per docs/ISA.md
    std::vector<int> popd, pushd;
    if (q == 0) {
      if (in.pop_next) popd.push_back(TERN_TOK_C2L);
      if (in.push_next) pushd.push_back(TERN_TOK_L2C);
      if (in.pop_prev || in.push_prev) res.error = "load-queue insn with a prev flag";
    } else if (q == 1) {
      if (in.pop_prev) popd.push_back(TERN_TOK_L2C);
      if (in.pop_next) popd.push_back(TERN_TOK_S2C);
      if (in.push_prev) pushd.push_back(TERN_TOK_C2L);
      if (in.push_next) pushd.push_back(TERN_TOK_C2S);
    } else {
      if (in.pop_prev) popd.push_back(TERN_TOK_C2S);
      if (in.push_prev) pushd.push_back(TERN_TOK_S2C);
      if (in.pop_next || in.push_next) res.error = "store-queue insn with a next flag";
    }
    for (int d : popd) {
      size_t k = pops[d]++;
      if (k >= pushes[d].size()) {
        res.error = "insn " + std::to_string(i) + " pops token " + std::to_string(k) +
                    " of direction " + std::to_string(d) + " with no earlier push";
        return res;
      }
      join(F[pushes[d][k]]);
    }
    S[i] = s;
    F[i] = s;
    F[i][q] = std::max(F[i][q], (long)i);
    for (int d : pushd) pushes[d].push_back((long)i);
    prev[q] = (long)i;
  }
  // hazards, per address
  std::map<std::pair<int, uint64_t>, std::vector<std::pair<long, bool>>> users;
  std::vector<Access> fp;
  for (size_t i = 0; i < n; i++) {
    footprint(c, p[i], fp);
    for (const Access &a : fp) {
      auto &u = users[{a.sp, a.addr}];
      if (!u.empty() && u.back().first == (long)i) {
        u.back().second = u.back().second || a.write;
      } else {
        u.push_back({(long)i, a.write});
      }
    }
  }
  for (auto &kv : users) {
    auto &u = kv.second;
    for (size_t x = 0; x < u.size(); x++)
      for (size_t y = x + 1; y < u.size(); y++) {
        long a = u[x].first, b = u[y].first;
        if (!(u[x].second || u[y].second)) continue;
        int qa = queue_of(p[a]);
        if (qa == queue_of(p[b])) continue;
        res.hazards++;
        if (S[b][qa] < a) {
          if (!res.violations)
            res.first_violation = "insn " + std::to_string(b) + " vs earlier insn " +
                                  std::to_string(a) + " on space " +
                                  std::to_string(kv.first.first) + " addr " +
                                  std::to_string(kv.first.second);
          res.violations++;
        }
      }
  }
  return res;
}

std::vector<tern_hwcfg> configs() {
  return {tern_hwcfg_small(4, 4), tern_hwcfg_small(8, 8), tern_hwcfg_default()};
}

}  // namespace

// Seeds (tests/fuzz_seed.h): 1..120 in make test, a fresh run of 6000 in
// make fuzz; program i has the seed (run seed + i).
TEST(Sync, RandomProgramsAreRaceFree) {
  tern_test::FuzzCase fc(1, 120, 6000, "programs per configuration");
  long hazards = 0;
  int vops[TERN_VOP_COUNT] = {0}, modes[4] = {0}, syncs = 0, relays = 0;
  int mac8_modes[2] = {0, 0}, load_mem[TERN_MEM_COUNT] = {0}, store_mem[TERN_MEM_COUNT] = {0};
  for (const tern_hwcfg &c : configs())
    for (long i = 0; i < fc.count() && !::testing::Test::HasFailure(); i++) {
      const uint64_t seed = fc.seed() + (uint64_t)i;
      tern_program p;
      char err[512];
      int n = 20 + (int)(seed * 37 % 181);
      ASSERT_EQ(0, tern_random_program(&c, seed, n, &p, err, sizeof err)) << err;
      ASSERT_EQ(0, tern_validate(&c, p.insns, p.n_insns, p.dram_size, err, sizeof err)) << err;
      EXPECT_EQ(TERN_OP_END, p.insns[p.n_insns - 1].op);
      CheckResult r = check_program(c, p.insns, p.n_insns);
      EXPECT_EQ("", r.error) << "seed " << seed;
      EXPECT_EQ(0, r.violations) << "seed " << seed << ": " << r.first_violation;
      hazards += r.hazards;
      for (size_t i = 0; i < p.n_insns; i++) {
        const tern_insn &in = p.insns[i];
        if (in.op == TERN_OP_VEC) {
          vops[in.vop]++;
          if (in.vop == TERN_VOP_MAC8) mac8_modes[in.mode]++;
          else modes[in.mode]++;
        }
        if (in.op == TERN_OP_LOAD) load_mem[in.mem]++;
        if (in.op == TERN_OP_STORE) store_mem[in.mem]++;
        if (in.op == TERN_OP_SYNC) syncs++;
        if (in.op == TERN_OP_SYNC && in.queue == 1 && in.pop_next && in.push_prev) relays++;
      }
      tern_program_free(&p);
    }
  EXPECT_GT(hazards, 1000);
  for (int v = 0; v < TERN_VOP_COUNT; v++) EXPECT_GT(vops[v], 0) << "vop " << v << " never generated";
  for (int m = 0; m < 4; m++) EXPECT_GT(modes[m], 0) << "mode " << m;
  EXPECT_GT(mac8_modes[0], 0) << "MAC8 set";
  EXPECT_GT(mac8_modes[1], 0) << "MAC8 acc";
  for (int m = 0; m < TERN_MEM_COUNT; m++) EXPECT_GT(load_mem[m], 0) << "LOAD mem " << m;
  for (int m : {TERN_MEM_ACC, TERN_MEM_OUT, TERN_MEM_OUT8})
    EXPECT_GT(store_mem[m], 0) << "STORE mem " << m;
  EXPECT_GT(syncs, 0);
  EXPECT_GT(relays, 0) << "store->load relays never exercised";
}

TEST(Sync, CheckerCatchesMissingTokens) {
  // Strip the tokens of synced random programs: the checker must see races;
  // re-running tern_insert_sync on the stripped program must remove them.
  int caught = 0;
  tern_hwcfg c = tern_hwcfg_small(8, 8);
  for (uint64_t seed = 1; seed <= 40; seed++) {
    tern_program p;
    char err[512];
    ASSERT_EQ(0, tern_random_program(&c, seed, 120, &p, err, sizeof err)) << err;
    std::vector<tern_insn> bare;
    for (size_t i = 0; i + 1 < p.n_insns; i++) {
      tern_insn in = p.insns[i];
      if (in.op == TERN_OP_SYNC) continue;
      in.pop_prev = in.pop_next = in.push_prev = in.push_next = 0;
      bare.push_back(in);
    }
    CheckResult r0 = check_program(c, bare.data(), bare.size());
    caught += r0.violations > 0;
    tern_insn *o = nullptr;
    size_t no = 0;
    ASSERT_EQ(0, tern_insert_sync(&c, bare.data(), bare.size(), &o, &no, err, sizeof err)) << err;
    CheckResult r1 = check_program(c, o, no);
    EXPECT_EQ("", r1.error);
    EXPECT_EQ(0, r1.violations) << r1.first_violation;
    // dropping any one pop flag of the synced program must break it or leave it
    // provably ordered by other tokens; dropping all of them must break it
    free(o);
    tern_program_free(&p);
  }
  EXPECT_GE(caught, 35);
}

// ISA v2: OUT is written by the load queue (LOAD OUT / OUT8) and by compute (QUANT),
// read by compute (MAC8) and the store queue (STORE OUT / OUT8).  Each hazard below
// must get exactly the expected token; an unrelated pair gets none.
namespace {
std::vector<tern_insn> asm_lines(const char *t) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[512];
  EXPECT_EQ(0, tern_asm_text(t, "h.s", &v, &n, err, sizeof err)) << err;
  std::vector<tern_insn> p(v, v + n);
  free(v);
  return p;
}
}  // namespace

TEST(Sync, OutHazardsOfIsaV2) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);  // C = 4: OUT8 byte b is OUT word b/4
  struct Case {
    const char *name, *text;
    int dir;  // expected token direction between the two instructions, -1 = none
  } cases[] = {
      {"RAW LOAD OUT -> MAC8 B", "load mem=out sram=8 y=1 x=2\nvec op=mac8 dst=0 src1=9 src2=40 n=1 rows=2\n", TERN_TOK_L2C},
      {"RAW LOAD OUT8 -> MAC8 stream", "load mem=out8 sram=163 y=1 x=1\nvec op=mac8 dst=0 src1=9 src2=40 n=1 rows=5\n", TERN_TOK_L2C},
      {"RAW LOAD OUT8 -> MAC8 stream word 2", "load mem=out8 sram=168 y=1 x=1\nvec op=mac8 dst=0 src1=9 src2=40 n=1 rows=9\n", TERN_TOK_L2C},
      {"no hazard: stream ends before", "load mem=out8 sram=168 y=1 x=1\nvec op=mac8 dst=0 src1=9 src2=40 n=1 rows=8\n", -1},
      {"WAR MAC8 -> LOAD OUT", "vec op=mac8 dst=0 src1=9 src2=40 n=2 rows=3 src_rs=4\nload mem=out sram=18 y=1 x=1\n", TERN_TOK_C2L},
      {"no hazard: between B rows", "vec op=mac8 dst=0 src1=9 src2=40 n=2 rows=3 src_rs=4\nload mem=out sram=11 y=1 x=2\n", -1},
      {"WAW QUANT -> LOAD OUT8", "vec op=quant dst=30 src1=0 src2=1 n=1 rows=1\nload mem=out8 sram=121 y=1 x=1\n", TERN_TOK_C2L},
      {"WAW LOAD OUT -> QUANT", "load mem=out sram=30 y=1 x=1\nvec op=quant dst=30 src1=0 src2=1 n=1 rows=1\n", TERN_TOK_L2C},
      {"RAW QUANT -> STORE OUT8", "vec op=quant dst=30 src1=0 src2=1 n=1 rows=1\nstore mem=out8 sram=123 y=1 x=1\n", TERN_TOK_C2S},
      {"RAW MAC8 -> STORE ACC", "vec op=mac8 dst=7 src1=9 src2=40 n=2 rows=3\nstore mem=acc sram=8 y=1 x=1\n", TERN_TOK_C2S},
      {"WAR STORE ACC -> MAC8 set", "store mem=acc sram=8 y=1 x=1\nvec op=mac8 dst=7 src1=9 src2=40 n=2 rows=3\n", TERN_TOK_S2C},
      {"RAW LOAD ACC -> MAC8 acc", "load mem=acc sram=8 y=1 x=1\nvec op=mac8 mode=acc dst=7 src1=9 src2=40 n=2 rows=3\n", TERN_TOK_L2C},
  };
  for (const Case &cs : cases) {
    std::vector<tern_insn> in = asm_lines(cs.text);
    ASSERT_EQ(in.size(), 2u) << cs.name;
    tern_insn *o = nullptr;
    size_t no = 0;
    char err[512];
    ASSERT_EQ(0, tern_insert_sync(&c, in.data(), in.size(), &o, &no, err, sizeof err)) << cs.name << ": " << err;
    ASSERT_EQ(no, 2u) << cs.name << ": no SYNC needed for a single dependency";
    int push = -1, pop = -1;
    if (o[0].push_next) push = queue_of(o[0]) == 0 ? TERN_TOK_L2C : TERN_TOK_C2S;
    if (o[0].push_prev) push = queue_of(o[0]) == 1 ? TERN_TOK_C2L : TERN_TOK_S2C;
    if (o[1].pop_prev) pop = queue_of(o[1]) == 1 ? TERN_TOK_L2C : TERN_TOK_C2S;
    if (o[1].pop_next) pop = queue_of(o[1]) == 0 ? TERN_TOK_C2L : TERN_TOK_S2C;
    EXPECT_EQ(push, cs.dir) << cs.name;
    EXPECT_EQ(pop, cs.dir) << cs.name;
    CheckResult r = check_program(c, o, no);
    EXPECT_EQ(0, r.violations) << cs.name << ": " << r.first_violation;
    CheckResult bare = check_program(c, in.data(), in.size());
    EXPECT_EQ(bare.violations > 0, cs.dir >= 0) << cs.name << ": the independent checker sees the hazard";
    free(o);
  }
  // STORE OUT8 -> LOAD OUT of the same word: relayed through a compute SYNC
  std::vector<tern_insn> in = asm_lines("store mem=out8 sram=40 y=1 x=1\nload mem=out sram=10 y=1 x=1\n");
  tern_insn *o = nullptr;
  size_t no = 0;
  char err[512];
  ASSERT_EQ(0, tern_insert_sync(&c, in.data(), in.size(), &o, &no, err, sizeof err)) << err;
  ASSERT_EQ(no, 3u);
  EXPECT_EQ(o[1].op, TERN_OP_SYNC);
  EXPECT_EQ(o[1].queue, TERN_Q_COMPUTE);
  EXPECT_EQ(0, check_program(c, o, no).violations);
  free(o);
}

TEST(Sync, RejectsFlaggedInputAndMisplacedEnd) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  tern_insn v[2];
  memset(v, 0, sizeof v);
  v[0].op = TERN_OP_GEMM;
  v[0].m = 1;
  v[0].push_next = 1;
  v[1].op = TERN_OP_END;
  tern_insn *o;
  size_t n;
  char err[256];
  EXPECT_EQ(-1, tern_insert_sync(&c, v, 2, &o, &n, err, sizeof err));
  EXPECT_NE(std::string(err).find("insn 0"), std::string::npos) << err;
  v[0].push_next = 0;
  std::swap(v[0], v[1]);
  EXPECT_EQ(-1, tern_insert_sync(&c, v, 2, &o, &n, err, sizeof err));
  EXPECT_NE(std::string(err).find("END"), std::string::npos) << err;
  memset(v, 0, sizeof v);
  v[0].op = TERN_OP_LOAD;
  v[0].mem = TERN_MEM_ACC;
  v[0].sram_addr = 600;  // acc_depth 512
  v[0].x_size = v[0].y_size = 1;
  EXPECT_EQ(-1, tern_insert_sync(&c, v, 1, &o, &n, err, sizeof err));
  EXPECT_NE(std::string(err).find("beyond"), std::string::npos) << err;
}

// Seeds as above: 1001..1060 in make test, 6000 fresh ones in make fuzz.
TEST(Sync, RandomProgramsRunWithoutDeadlock) {
  tern_test::FuzzCase fc(1001, 60, 6000, "programs per configuration");
  for (const tern_hwcfg &c : configs())
    for (long i = 0; i < fc.count() && !::testing::Test::HasFailure(); i++) {
      const uint64_t seed = fc.seed() + (uint64_t)i;
      tern_program p;
      char err[512];
      ASSERT_EQ(0, tern_random_program(&c, seed, 200, &p, err, sizeof err)) << "seed " << seed << ": " << err;
      std::vector<uint8_t> dram(p.dram_size, 0);
      ASSERT_EQ(0, tern_program_init_dram(&p, dram.data(), dram.size(), err, sizeof err)) << err;
      tern_run_opts o{};
      o.watchdog = 200000;
      tern_counters cnt;
      EXPECT_EQ(0, tern_isasim_run(&c, p.insns, p.n_insns, dram.data(), dram.size(), &o, &cnt,
                                   err, sizeof err))
          << "seed " << seed << ": " << err;
      tern_program_free(&p);
    }
}

TEST(Sync, CompiledProgramsAreRaceFree) {
  tern_mlp_config mc = tern_mlp_default_config();
  mc.d = 20;
  mc.f = 52;
  mc.layers = 2;
  mc.act = TERN_ACT_SILU;
  tern_mlp_model m;
  tern_qmlp q;
  char err[512];
  ASSERT_EQ(0, tern_mlp_generate(&mc, &m, err, sizeof err)) << err;
  ASSERT_EQ(0, tern_mlp_quantize(&m, &q, err, sizeof err)) << err;
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  ASSERT_EQ(0, tern_hwcfg_set(&c, "acc_depth", "160", err, sizeof err));
  ASSERT_EQ(0, tern_hwcfg_set(&c, "wbuf_depth", "4", err, sizeof err));
  tern_compile_opts o{};
  o.tokens = 9;
  tern_program p;
  ASSERT_EQ(0, tern_compile_mlp(&q, &c, &o, &p, err, sizeof err)) << err;
  CheckResult r = check_program(c, p.insns, p.n_insns);
  EXPECT_EQ("", r.error);
  EXPECT_EQ(0, r.violations) << r.first_violation;
  EXPECT_GT(r.hazards, 100);
  tern_program_free(&p);
  std::vector<int8_t> w(37 * 29);
  for (size_t i = 0; i < w.size(); i++) w[i] = (int8_t)((int)(i * 7 % 3) - 1);
  ASSERT_EQ(0, tern_compile_gemm(w.data(), 37, 29, &c, &o, &p, err, sizeof err)) << err;
  r = check_program(c, p.insns, p.n_insns);
  EXPECT_EQ("", r.error);
  EXPECT_EQ(0, r.violations) << r.first_violation;
  tern_program_free(&p);
  tern_qmlp_free(&q);
  tern_mlp_free(&m);
}

TEST(Sync, ScalesToLongPrograms) {
  // ~100k instructions through the sync pass in well under a few seconds.
  tern_hwcfg c = tern_hwcfg_default();
  char err[512];
  std::vector<tern_insn> bare;
  for (uint64_t seed : {77, 78}) {
    tern_program p;
    ASSERT_EQ(0, tern_random_program(&c, seed, 50000, &p, err, sizeof err)) << err;
    for (size_t i = 0; i + 1 < p.n_insns; i++) {
      tern_insn in = p.insns[i];
      if (in.op == TERN_OP_SYNC) continue;
      in.pop_prev = in.pop_next = in.push_prev = in.push_next = 0;
      bare.push_back(in);
    }
    tern_program_free(&p);
  }
  ASSERT_GT(bare.size(), (size_t)90000);
  auto t0 = std::chrono::steady_clock::now();
  tern_insn *o = nullptr;
  size_t n = 0;
  ASSERT_EQ(0, tern_insert_sync(&c, bare.data(), bare.size(), &o, &n, err, sizeof err)) << err;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("sync pass: %zu -> %zu instructions in %.3f s\n", bare.size(), n, s);
  EXPECT_LT(s, 5.0);
  EXPECT_GT(n, bare.size());
  free(o);
}
