// Golden ISA simulator tests: hand-computed cycle counts (derived from the
// Timing section of docs/ISA.md in the comments), data results of GEMM and
// every VEC op against values computed here, counters, deadlock, watchdog,
// and equivalence of the fast-forwarding and the cycle-by-cycle modes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/isasim.h"
#include "tern/program.h"

namespace {

// int32 saturation, written independently of models/numerics.c
int32_t sat(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }

struct SimRun {
  int rc = -1;
  std::string err;
  tern_counters cnt;
  std::vector<uint8_t> dram;
  uint64_t operator[](int i) const { return cnt.v[i]; }
};

SimRun run_text(const tern_hwcfg &cfg, const std::string &text, std::vector<uint8_t> dram = {},
             const tern_run_opts *opts = nullptr) {
  SimRun r;
  memset(&r.cnt, 0, sizeof r.cnt);
  if (dram.empty()) dram.assign(1 << 16, 0);
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[1024] = "";
  if (tern_asm_text(text.c_str(), "t.s", &v, &n, err, sizeof err) != 0) {
    r.err = std::string("asm: ") + err;
    return r;
  }
  r.rc = tern_isasim_run(&cfg, v, n, dram.data(), dram.size(), opts, &r.cnt, err, sizeof err);
  r.err = err;
  r.dram = dram;
  free(v);
  return r;
}

tern_hwcfg cfg4() { return tern_hwcfg_small(4, 4); }  // R=C=4 bw=4 lat=8 qdepth=4, GEMM_LAT=7

int32_t rd32(const std::vector<uint8_t> &d, size_t off) {
  uint32_t u = (uint32_t)d[off] | (uint32_t)d[off + 1] << 8 | (uint32_t)d[off + 2] << 16 |
               (uint32_t)d[off + 3] << 24;
  return (int32_t)u;
}
void wr32(std::vector<uint8_t> &d, size_t off, int32_t v) {
  uint32_t u = (uint32_t)v;
  for (int i = 0; i < 4; i++) d[off + i] = (uint8_t)(u >> (8 * i));
}

}  // namespace

TEST(IsaSim, SingleLoad) {
  // LOAD ABUF y=1 x=2 on 4x4: WB = 4, beat = min(4,4) = 4, B = 8/4 = 2,
  // D = 1 + B + LAT = 1 + 2 + 8 = 11.
  // t0 fetch LOAD; t1 LOAD starts (busy 1..11), fetch END; t2 END starts
  // (busy 2); t12 load idle -> done: CYCLES = 1 + D = 12.
  SimRun r = run_text(cfg4(), "load mem=abuf sram=0 sstride=0 y=1 x=2 dram=0 dstride=0\nend\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 12u);
  EXPECT_EQ(r[TERN_CNT_LOAD_BUSY], 11u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], 1u);
  EXPECT_EQ(r[TERN_CNT_STORE_BUSY], 0u);
  EXPECT_EQ(r[TERN_CNT_INSN_LOAD], 1u);
  EXPECT_EQ(r[TERN_CNT_INSN_COMPUTE], 1u);
  EXPECT_EQ(r[TERN_CNT_ABUF_WR], 2u);
  EXPECT_EQ(r[TERN_CNT_DRAM_RD_BYTES], 8u);
  EXPECT_EQ(r[TERN_CNT_LOAD_STALL] + r[TERN_CNT_COMPUTE_STALL] + r[TERN_CNT_FETCH_STALL], 0u);
  // LOAD ACC y=2 x=3: WB = 16, beat 4, B = 6*16/4 = 24, D = 33, CYCLES = 34
  SimRun a = run_text(cfg4(), "load mem=acc sram=0 sstride=5 y=2 x=3 dram=0 dstride=64\nend\n");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(a[TERN_CNT_CYCLES], 34u);
  EXPECT_EQ(a[TERN_CNT_ACC_WR], 6u);
  EXPECT_EQ(a[TERN_CNT_DRAM_RD_BYTES], 96u);
  // Default 16x16 (bw 16, lat 32): LOAD WBUF x=2: WB = 64, beat 16, B = 8, D = 41, CYCLES 42
  SimRun b = run_text(tern_hwcfg_default(), "load mem=wbuf y=1 x=2\nend\n");
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(b[TERN_CNT_CYCLES], 42u);
  EXPECT_EQ(b[TERN_CNT_WBUF_WR], 2u);
}

TEST(IsaSim, OnlyEnd) {
  // t0 fetch END; t1 END starts; t2 done.
  SimRun r = run_text(cfg4(), "end\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 2u);
  EXPECT_EQ(r[TERN_CNT_INSN_COMPUTE], 1u);
}

TEST(IsaSim, GemmBackToBack) {
  // G1 m=3: starts t1, D = 1+3 = 4 (busy 1..4), drain = 1+3+7 = 11.
  // G2 m=2: starts t5 (GEMMs do not wait for the drain), busy 5..7, drain = 5+2+7 = 14.
  // END visible from t3, compute idle from t8, waits for drain: stalls t8..13 (6),
  // starts t14, done t15.
  SimRun r = run_text(cfg4(),
                   "gemm w=0 a=0 acc=0 m=3 astride=1 accstride=1 reset\n"
                   "gemm w=1 a=0 acc=8 m=2 astride=1 accstride=1\n"
                   "end\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 15u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], 4u + 3u + 1u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_STALL], 6u);
  EXPECT_EQ(r[TERN_CNT_GEMM_ROWS], 5u);
  EXPECT_EQ(r[TERN_CNT_WBUF_RD], 2u);
  EXPECT_EQ(r[TERN_CNT_ABUF_RD], 5u);
  EXPECT_EQ(r[TERN_CNT_ACC_RD], 2u);  // only the RESET = 0 GEMM reads ACC
  EXPECT_EQ(r[TERN_CNT_ACC_WR], 5u);
  EXPECT_EQ(r[TERN_CNT_PE_ADDS], 0u);  // all-zero tiles
  EXPECT_EQ(r[TERN_CNT_PE_SKIPS], 5u * 16u);
  EXPECT_EQ(r[TERN_CNT_INSN_COMPUTE], 3u);
}

TEST(IsaSim, GemmWithPush) {
  // GEMM m=2 push_next: D = M + GEMM_LAT = 9 (busy 1..9), drain 10; pushes C2S at 9.
  // STORE (fetched t1, visible t2) stalls t2..9 (8 cycles), starts t10:
  // ACC x=1: WB 16, B = 4, D = 2 + 4 = 6 (busy 10..15).  END starts t10 (drain 10).
  // Done at t16.
  SimRun r = run_text(cfg4(),
                   "gemm w=0 a=0 acc=0 m=2 astride=1 accstride=1 reset push_next\n"
                   "store mem=acc sram=0 sstride=0 y=1 x=1 dram=0x100 dstride=0 pop_prev\n"
                   "end\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 16u);
  EXPECT_EQ(r[TERN_CNT_STORE_STALL], 8u);
  EXPECT_EQ(r[TERN_CNT_STORE_BUSY], 6u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], 10u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_STALL], 0u);
  EXPECT_EQ(r[TERN_CNT_DRAM_WR_BYTES], 16u);
  EXPECT_EQ(r[TERN_CNT_ACC_RD], 1u);
  EXPECT_EQ(r[TERN_CNT_INSN_STORE], 1u);
}

TEST(IsaSim, VecDurations) {
  // A single compute instruction X then END: X busy 1..D, END starts at D+1,
  // done at D+2.  (Distinct src/dst so every op is valid.)
  struct {
    const char *insn;
    uint64_t d;
  } cases[] = {
      {"vec op=add mode=vec dst=100 src1=0 src2=50 n=3 rows=2 dst_rs=3 src_rs=3", 1 + 6 + 4},
      {"vec op=mulshr mode=const dst=100 src1=0 src2=50 n=5 rows=1 shift=3", 1 + 5 + 4},
      {"vec op=lut dst=100 src1=0 n=2 rows=2 dst_rs=2 src_rs=2", 1 + 4 + 4},
      {"vec op=quant mode=perrow dst=0 src1=0 src2=50 n=2 rows=2 dst_rs=2 src_rs=2", 1 + 4 + 4},
      {"vec op=rsum dst=100 src1=0 n=4 rows=1", 1 + 4 + 4},
      {"vec op=rmaxabs dst=100 src1=0 n=3 rows=3 dst_rs=1 src_rs=3", 1 + 9 + 4},
      {"vec op=recip mode=perrow dst=100 src1=0 src2=50 n=1 rows=3 dst_rs=1 src_rs=1", 1 + 3 * 68},
      {"vec op=rsqrt mode=const dst=100 src1=0 src2=50 n=1 rows=2 dst_rs=1 src_rs=1", 1 + 2 * 100},
      {"vec op=lutld src1=0 n=64 rows=1", 1 + 64 + 4},
      {"sync q=compute", 1},
  };
  for (auto &c : cases) {
    SimRun r = run_text(cfg4(), std::string(c.insn) + "\nend\n");
    ASSERT_EQ(r.rc, 0) << c.insn << ": " << r.err;
    EXPECT_EQ(r[TERN_CNT_CYCLES], c.d + 2) << c.insn;
    EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], c.d + 1) << c.insn;
  }
  // SYNC in the load and store queues
  SimRun s = run_text(cfg4(), "sync q=load\nsync q=store\nend\n");
  ASSERT_EQ(s.rc, 0) << s.err;
  // t0 fetch S0, t1 S0 starts + fetch S1, t2 S1 starts + fetch END, t3 END, t4 done
  EXPECT_EQ(s[TERN_CNT_CYCLES], 4u);
  EXPECT_EQ(s[TERN_CNT_INSN_LOAD], 1u);
  EXPECT_EQ(s[TERN_CNT_INSN_STORE], 1u);
  EXPECT_EQ(s[TERN_CNT_LOAD_BUSY], 1u);
  EXPECT_EQ(s[TERN_CNT_STORE_BUSY], 1u);
}

TEST(IsaSim, VecAfterGemmWaitsForDrain) {
  // GEMM m=1 (no push) busy 1..2, drain = 1+1+7 = 9.  VEC (visible t3) can
  // start at t9: compute stalls t3..8 (6).  VEC add n=1 rows=1: D = 6, busy
  // 9..14.  END starts t15, done t16.
  SimRun r = run_text(cfg4(),
                   "gemm w=0 a=0 acc=0 m=1 reset\n"
                   "vec op=add dst=10 src1=0 src2=1 n=1 rows=1\n"
                   "end\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 16u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_STALL], 6u);
}

TEST(IsaSim, TokenPingPong) {
  // L0 push_next: busy 1..10 (D = 1+1+8), pushes L2C visible t11.
  // G1 pop_prev push_prev (visible t2): compute stalls t2..10 (9), starts t11,
  //   D = M + GEMM_LAT = 8 (busy 11..18), drain 19, pushes C2L visible t19.
  // L2 pop_next (visible t3): load busy until 10, stalls t11..18 (8), starts t19
  //   (busy 19..28).  END starts t19 (drain reached), done at t29.
  SimRun r = run_text(cfg4(),
                   "load mem=abuf y=1 x=1 push_next\n"
                   "gemm w=0 a=0 acc=0 m=1 reset pop_prev push_prev\n"
                   "load mem=abuf sram=1 y=1 x=1 pop_next\n"
                   "end\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 29u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_STALL], 9u);
  EXPECT_EQ(r[TERN_CNT_LOAD_STALL], 8u);
  EXPECT_EQ(r[TERN_CNT_LOAD_BUSY], 20u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], 9u);
  EXPECT_EQ(r[TERN_CNT_INSN_LOAD], 2u);
  EXPECT_EQ(r[TERN_CNT_INSN_COMPUTE], 2u);

  // Through all three queues and back: compute -> store -> compute.
  // S0 sync q=compute push_next: t1 (D 1), C2S visible t2.
  // S1 store sync pop_prev push_prev: visible t2, starts t2, S2C visible t3.
  // S2 sync q=compute pop_next: visible t3, starts t3.  END visible t4, starts t4, done t5.
  SimRun p = run_text(cfg4(), "sync q=compute push_next\nsync q=store pop_prev push_prev\nsync q=compute pop_next\nend\n");
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_EQ(p[TERN_CNT_CYCLES], 5u);
  EXPECT_EQ(p[TERN_CNT_STORE_STALL] + p[TERN_CNT_COMPUTE_STALL], 0u);
}

TEST(IsaSim, FetchStallFullFifo) {
  // QDEPTH 2, five LOADs of D = 10 each.  t0 fetch L0; t1 L0 starts, fetch L1;
  // t2 fetch L2 (count 1); t3..11 FIFO full at cycle start (L1 pops at t11, seen
  // at t12) -> 9 stalls; t12 fetch L3; t13..21 stall (L2 starts t21) -> 9;
  // t22 fetch L4; t23 fetch END; loads run back to back: L4 busy 41..50, done t51.
  tern_hwcfg c = cfg4();
  c.qdepth = 2;
  std::string t;
  for (int i = 0; i < 5; i++) t += "load mem=abuf sram=" + std::to_string(i) + " y=1 x=1\n";
  t += "end\n";
  SimRun r = run_text(c, t);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 51u);
  EXPECT_EQ(r[TERN_CNT_FETCH_STALL], 18u);
  EXPECT_EQ(r[TERN_CNT_LOAD_BUSY], 50u);
  EXPECT_EQ(r[TERN_CNT_LOAD_STALL], 0u);
  EXPECT_EQ(r[TERN_CNT_INSN_LOAD], 5u);
}

TEST(IsaSim, StoreTiming) {
  // STORE OUT x=3 on 4x4: WB 4, beat 4, B = 3, D = 2 + 3 = 5 (busy 1..5); END at t2; done t6.
  SimRun r = run_text(cfg4(), "store mem=out y=1 x=3 dram=0x40\nend\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 6u);
  EXPECT_EQ(r[TERN_CNT_OUT_RD], 3u);
  EXPECT_EQ(r[TERN_CNT_DRAM_WR_BYTES], 12u);
}

TEST(IsaSim, GemmData) {
  tern_hwcfg c = cfg4();
  std::mt19937 g(7);
  std::vector<uint8_t> dram(1 << 16, 0);
  // two tiles at 0x0 and 0x4 (R*C/4 = 4 bytes each); activations at 0x100 (3 words of 4 int8)
  int wv[2][4][4];
  int nnz[2] = {0, 0};
  for (int t = 0; t < 2; t++) {
    for (int i = 0; i < 16; i++) {
      unsigned code = g() % 4;  // includes the reserved 10 -> 0
      dram[4 * t + i / 4] |= (uint8_t)(code << (2 * (i % 4)));
      int v = code == 1 ? 1 : code == 3 ? -1 : 0;
      wv[t][i / 4][i % 4] = v;
      nnz[t] += v != 0;
    }
  }
  int8_t a[3][4];
  for (int m = 0; m < 3; m++)
    for (int k = 0; k < 4; k++) {
      a[m][k] = (int8_t)(g() % 256 - 128);
      if (m == 0 && k == 0) a[m][k] = -128;
      dram[0x100 + 4 * m + k] = (uint8_t)a[m][k];
    }
  // ACC rows 0,2,4 = a * W0 ; then += a * W1
  SimRun r = run_text(c,
                   "load mem=wbuf sram=0 y=1 x=2 dram=0\n"
                   "load mem=abuf sram=0 y=1 x=3 dram=0x100 push_next\n"
                   "gemm w=0 a=0 acc=0 m=3 astride=1 accstride=2 reset pop_prev\n"
                   "gemm w=1 a=0 acc=0 m=3 astride=1 accstride=2 push_next\n"
                   "gemm w=1 a=2 acc=9 m=1 astride=0 accstride=0 reset push_next\n"
                   "store mem=acc sram=0 sstride=0 y=1 x=10 dram=0x1000 pop_prev\n"
                   "end\n",
                   dram);
  ASSERT_EQ(r.rc, 0) << r.err;
  for (int m = 0; m < 3; m++)
    for (int n = 0; n < 4; n++) {
      int32_t e = 0;
      for (int k = 0; k < 4; k++) e += a[m][k] * (wv[0][k][n] + wv[1][k][n]);
      EXPECT_EQ(rd32(r.dram, 0x1000 + 16 * (2 * m) + 4 * n), e) << m << "," << n;
      EXPECT_EQ(rd32(r.dram, 0x1000 + 16 * (2 * m + 1) + 4 * n), 0);
    }
  for (int n = 0; n < 4; n++) {
    int32_t e = 0;
    for (int k = 0; k < 4; k++) e += a[2][k] * wv[1][k][n];
    EXPECT_EQ(rd32(r.dram, 0x1000 + 16 * 9 + 4 * n), e);
  }
  EXPECT_EQ(r[TERN_CNT_PE_ADDS], 3u * nnz[0] + 3u * nnz[1] + 1u * nnz[1]);
  EXPECT_EQ(r[TERN_CNT_PE_SKIPS], 7u * 16 - r[TERN_CNT_PE_ADDS]);
  EXPECT_EQ(r[TERN_CNT_ACC_RD], 3u + 10u);  // GEMM 2 accumulates, STORE 10 words
  EXPECT_EQ(r[TERN_CNT_ACC_WR], 7u);
  EXPECT_EQ(r[TERN_CNT_WBUF_WR], 2u);
  EXPECT_EQ(r[TERN_CNT_ABUF_WR], 3u);
}

TEST(IsaSim, GemmWrapsInt32) {
  // ACC preloaded with INT32_MAX; RESET = 0 GEMM adds +a: wraps
  tern_hwcfg c = cfg4();
  std::vector<uint8_t> dram(1 << 16, 0);
  dram[0] = 0x01;  // code (k=0, n=0) = +1
  dram[0x100] = 5; // a[0] = 5
  for (int l = 0; l < 4; l++) wr32(dram, 0x200 + 4 * l, INT32_MAX);
  SimRun r = run_text(c,
                   "load mem=wbuf y=1 x=1 dram=0\n"
                   "load mem=abuf y=1 x=1 dram=0x100\n"
                   "load mem=acc y=1 x=1 dram=0x200 push_next\n"
                   "gemm w=0 a=0 acc=0 m=1 pop_prev push_next\n"
                   "store mem=acc y=1 x=1 dram=0x300 pop_prev\nend\n",
                   dram);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(rd32(r.dram, 0x300), (int32_t)((uint32_t)INT32_MAX + 5u));
  EXPECT_EQ(rd32(r.dram, 0x304), INT32_MAX);
}

namespace {
int64_t rs(int64_t v, int s) { return s == 0 ? v : (v + (int64_t(1) << (s - 1))) >> s; }
int32_t sat32(int64_t v) { return (int32_t)std::min<int64_t>(INT32_MAX, std::max<int64_t>(INT32_MIN, v)); }
uint64_t isqrt(uint64_t v) {
  uint64_t r = 0;
  for (int b = 31; b >= 0; b--) {
    uint64_t c = r | (uint64_t(1) << b);
    if (c * c <= v) r = c;
  }
  return r;
}
uint64_t num_of(int32_t b, int s) {
  if (b <= 0) return 0;
  uint64_t lim = (uint64_t)INT64_MAX;
  if ((uint64_t)b > (lim >> s)) return lim;
  return (uint64_t)b << s;
}
}  // namespace

TEST(IsaSim, VecData) {
  tern_hwcfg c = cfg4();  // 4 lanes
  const int C = 4;
  std::mt19937 g(11);
  std::vector<uint8_t> dram(1 << 16, 0);
  // ACC words 0..15 at DRAM 0 (moderate values; a few extremes), LUT source words 200..263 at 0x400
  int32_t acc[16][4];
  for (int w = 0; w < 16; w++)
    for (int l = 0; l < C; l++) {
      int32_t v = (int32_t)(g() % 2000001) - 1000000;
      if (w == 1 && l == 1) v = INT32_MAX;
      if (w == 5 && l == 2) v = INT32_MIN + 1;
      acc[w][l] = v;
      wr32(dram, 16 * w + 4 * l, v);
    }
  acc[12][0] = 12345;  // recip denominators / numerators (lane 0)
  acc[13][0] = 700;
  acc[0][0] = 77;
  acc[2][0] = -5;  // max(a,1) = 1 in recip row 1? (src1 row r = word r)
  acc[1][0] = 3;
  for (int w : {0, 1, 2, 12, 13}) wr32(dram, 16 * w, acc[w][0]);
  int32_t lut[256];
  for (int i = 0; i < 256; i++) {
    lut[i] = (int32_t)(g() % 100000) - 50000;
    wr32(dram, 0x400 + 4 * i, lut[i]);
  }
  std::string prog =
      "load mem=acc sram=0 y=1 x=16 dram=0\n"
      "load mem=acc sram=200 y=1 x=64 dram=0x400 push_next\n"
      "vec op=add mode=vec dst=100 src1=0 src2=4 n=2 rows=2 dst_rs=2 src_rs=2 pop_prev\n"
      "vec op=sub mode=bcastrow dst=104 src1=0 src2=8 n=2 rows=2 dst_rs=2 src_rs=2\n"
      "vec op=max mode=perrow dst=108 src1=0 src2=8 n=2 rows=2 dst_rs=2 src_rs=2\n"
      "vec op=min mode=const dst=112 src1=0 src2=9 n=2 rows=2 dst_rs=2 src_rs=2\n"
      "vec op=mulshr mode=vec dst=116 src1=0 src2=4 n=2 rows=2 dst_rs=2 src_rs=2 shift=7\n"
      "vec op=quant mode=perrow dst=0 src1=0 src2=12 n=2 rows=2 dst_rs=2 src_rs=2 shift=12\n"
      "vec op=rsum dst=120 src1=0 n=2 rows=2 dst_rs=1 src_rs=2 shift=2\n"
      "vec op=rsumsq dst=122 src1=0 n=2 rows=2 dst_rs=1 src_rs=2 shift=20\n"
      "vec op=rmaxabs dst=124 src1=0 n=3 rows=2 dst_rs=1 src_rs=3\n"
      "vec op=recip mode=perrow dst=126 src1=0 src2=12 n=1 rows=2 dst_rs=1 src_rs=1 shift=20\n"
      "vec op=rsqrt mode=const dst=128 src1=0 src2=13 n=1 rows=3 dst_rs=1 src_rs=1 shift=30\n"
      "vec op=lutld src1=200 n=64 rows=1\n"
      "vec op=lut dst=132 src1=0 n=4 rows=1 shift=12\n"
      "vec op=add mode=vec dst=10 src1=10 src2=10 n=2 rows=1\n"  // in place x + x
      "vec op=add mode=const dst=136 src1=10 src2=10 n=2 rows=1 push_next\n"
      "store mem=acc sram=100 y=1 x=40 dram=0x1000 pop_prev\n"
      "store mem=out sram=0 y=1 x=4 dram=0x2000\n"
      "end\n";
  SimRun r = run_text(c, prog, dram);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto A = [&](int w, int l) { return (int64_t)acc[w][l]; };
  auto got = [&](int w, int l) { return rd32(r.dram, 0x1000 + 16 * (w - 100) + 4 * l); };
  for (int row = 0; row < 2; row++)
    for (int i = 0; i < 2; i++)
      for (int l = 0; l < C; l++) {
        int w1 = row * 2 + i;
        EXPECT_EQ(got(100 + w1, l), sat((int64_t)A(w1, l) + A(4 + w1, l)));  // ADD saturates
        EXPECT_EQ(got(104 + w1, l), sat((int64_t)A(w1, l) - A(8 + i, l)));  // SUB saturates
        EXPECT_EQ(got(108 + w1, l), (int32_t)std::max(A(w1, l), A(8 + row, l)));
        EXPECT_EQ(got(112 + w1, l), (int32_t)std::min(A(w1, l), A(9, l)));
        EXPECT_EQ(got(116 + w1, l), sat32(rs(A(w1, l) * A(4 + w1, l), 7)));
        int64_t q = rs(A(w1, l) * A(12 + row, l), 12);
        q = std::min<int64_t>(127, std::max<int64_t>(-128, q));
        EXPECT_EQ((int8_t)r.dram[0x2000 + 4 * w1 + l], (int8_t)q);
      }
  for (int row = 0; row < 2; row++) {
    int64_t s = 0, sq = 0, mx = 0;
    for (int i = 0; i < 2; i++)
      for (int l = 0; l < C; l++) {
        s += A(2 * row + i, l);
        sq += A(2 * row + i, l) * A(2 * row + i, l);
      }
    for (int i = 0; i < 3; i++)
      for (int l = 0; l < C; l++) mx = std::max<int64_t>(mx, std::llabs(A(3 * row + i, l)));
    for (int l = 0; l < C; l++) {
      EXPECT_EQ(got(120 + row, l), sat32(rs(s, 2)));
      EXPECT_EQ(got(122 + row, l), sat32(rs(sq, 20)));
      EXPECT_EQ(got(124 + row, l), (int32_t)std::min<int64_t>(mx, INT32_MAX));
      int64_t den = std::max<int64_t>(A(row, 0), 1);
      EXPECT_EQ(got(126 + row, l), sat32((int64_t)(num_of(acc[12 + row][0], 20) / (uint64_t)den)));
    }
  }
  EXPECT_EQ(got(124, 0), INT32_MAX);  // |INT32_MAX| in row 0's words 0..2
  for (int row = 0; row < 3; row++) {
    int64_t den = std::max<int64_t>(A(row, 0), 1);
    uint64_t q = num_of(acc[13][0], 30) / (uint64_t)den;
    for (int l = 0; l < C; l++) EXPECT_EQ(got(128 + row, l), sat32((int64_t)isqrt(q))) << row;
  }
  for (int i = 0; i < 4; i++)
    for (int l = 0; l < C; l++) {
      int64_t idx = (A(i, l) >> 12) + 128;
      idx = std::min<int64_t>(255, std::max<int64_t>(0, idx));
      EXPECT_EQ(got(132 + i, l), lut[idx]) << i << "," << l;
    }
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < C; l++) {
      int32_t twice = (int32_t)((uint32_t)acc[10 + i][l] * 2u);
      EXPECT_EQ(got(136 + i, l), (int32_t)((uint32_t)twice + (uint32_t)(int32_t)((uint32_t)acc[10][l] * 2u)));
    }
  // counters
  EXPECT_EQ(r[TERN_CNT_VOP_ADD], 4u + 2u + 2u);
  EXPECT_EQ(r[TERN_CNT_VOP_QUANT], 4u);
  EXPECT_EQ(r[TERN_CNT_VOP_RECIP], 2u);
  EXPECT_EQ(r[TERN_CNT_VOP_RSQRT], 3u);
  EXPECT_EQ(r[TERN_CNT_VOP_LUTLD], 64u);
  EXPECT_EQ(r[TERN_CNT_VOP_RMAXABS], 6u);
  EXPECT_EQ(r[TERN_CNT_OUT_WR], 4u);
  EXPECT_EQ(r[TERN_CNT_OUT_RD], 4u);
  // ACC_RD: add 4+4, sub 4+4, max 4+2, min 4+1, mulshr 4+4, quant 4+2, rsum 4,
  // rsumsq 4, rmaxabs 6, recip 4, rsqrt 6, lutld 64, lut 4, add 2+2, add 2+1, store 40
  EXPECT_EQ(r[TERN_CNT_ACC_RD], 8u + 8 + 6 + 5 + 8 + 6 + 4 + 4 + 6 + 4 + 6 + 64 + 4 + 4 + 3 + 40);
  // ACC_WR: loads 16+64, E ops 4*5 + 4 (lut) + 2 + 2, R 2*3, S 2+3
  EXPECT_EQ(r[TERN_CNT_ACC_WR], 80u + 20 + 4 + 4 + 6 + 5);
}

TEST(IsaSim, DeadlockIsAnError) {
  SimRun r = run_text(cfg4(), "gemm w=0 a=0 acc=0 m=1 reset pop_prev\nend\n");
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("deadlock"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("compute queue waits at pc 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("L2C"), std::string::npos) << r.err;
  // store waits for C2S that never comes
  SimRun s = run_text(cfg4(), "store mem=out y=1 x=1 pop_prev\nend\n");
  EXPECT_EQ(s.rc, -1);
  EXPECT_NE(s.err.find("store queue waits at pc 0"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("C2S"), std::string::npos) << s.err;
  // fetch blocked behind a full FIFO whose head waits forever
  tern_hwcfg c = cfg4();
  c.qdepth = 1;
  SimRun f = run_text(c, "load mem=abuf y=1 x=1 pop_next\nload mem=abuf y=1 x=1\nsync q=compute push_prev\nend\n");
  EXPECT_EQ(f.rc, -1);
  EXPECT_NE(f.err.find("fetch blocked at pc 1"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("C2L"), std::string::npos) << f.err;
}

TEST(IsaSim, WatchdogMaxCyclesAndInvalid) {
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  o.watchdog = 1;
  // LOAD D = 11: no start/finish for 10 cycles, but its beats are requested or in DRAM
  // latency in every one of them: progress (docs/ISA.md "Watchdog"), not a hang
  SimRun r = run_text(cfg4(), "load mem=abuf y=1 x=2\nend\n", {}, &o);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 12u);
  // a deadlock: the watchdog fires after exactly `watchdog` cycles without progress.  SYNC is
  // fetched in cycle 0, END in cycle 1; from cycle 2 nothing moves
  o.watchdog = 5;
  r = run_text(cfg4(), "sync q=compute pop_prev\nend\n", {}, &o);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("watchdog: no progress for 5 cycles (cycles 2..6), a deadlock"),
            std::string::npos)
      << r.err;
  o.watchdog = 0;
  o.max_cycles = 11;  // needs 12
  r = run_text(cfg4(), "load mem=abuf y=1 x=2\nend\n", {}, &o);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("max_cycles"), std::string::npos) << r.err;
  o.max_cycles = 12;
  r = run_text(cfg4(), "load mem=abuf y=1 x=2\nend\n", {}, &o);
  EXPECT_EQ(r.rc, 0) << r.err;
  // invalid program is rejected before running
  r = run_text(cfg4(), "load mem=abuf y=1 x=2 dram=0xffff\nend\n");
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("DRAM range"), std::string::npos) << r.err;
}

TEST(IsaSim, LongTransferIsFast) {
  // ~16.7 M-cycle LOAD: fast-forward makes this instantaneous, and the default watchdog does
  // not stop it (every cycle has a beat request or beats in DRAM latency).
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  tern_hwcfg c = tern_hwcfg_default();
  c.acc_depth = 65536;
  c.dram_bw = 1;
  std::vector<uint8_t> dram(4u << 20, 0);
  SimRun r = run_text(c, "load mem=acc sram=0 sstride=0 y=1 x=65535 dram=0\nend\n", dram, &o);
  ASSERT_EQ(r.rc, 0) << r.err;
  uint64_t B = 65535ull * 64;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 1 + 1 + B + 32);
}

namespace {
// Random race-free, deadlock-free programs: loads push L2C, some compute
// instructions pop it and push C2S, stores pop C2S (every pop after its push
// in program order, no back-pressure tokens), random sizes and SYNCs.
std::string random_program(std::mt19937 &g, const tern_hwcfg &c, int n) {
  std::string t;
  int l2c = 0, c2s = 0;
  auto R = [&](int lo, int hi) { return lo + (int)(g() % (unsigned)(hi - lo + 1)); };
  for (int i = 0; i < n; i++) {
    int k = R(0, 9);
    if (k <= 2) {
      const char *mem[] = {"wbuf", "abuf", "acc"};
      int m = R(0, 2);
      int depth = m == 0 ? c.wbuf_depth : m == 1 ? c.abuf_depth : 256;
      int x = R(1, 8);
      t += std::string("load mem=") + mem[m] + " sram=" + std::to_string(R(0, depth - x)) + " y=1 x=" +
           std::to_string(x) + " dram=" + std::to_string(R(0, 1000) * 4);
      if (R(0, 1)) { t += " push_next"; l2c++; }
    } else if (k <= 4) {
      int m = R(1, 6);
      t += "gemm w=" + std::to_string(R(0, c.wbuf_depth - 1)) + " a=" + std::to_string(R(0, 100)) +
           " acc=" + std::to_string(R(300, 400)) + " m=" + std::to_string(m) + " astride=1 accstride=1";
      if (R(0, 1)) t += " reset";
      if (l2c && R(0, 1)) { t += " pop_prev"; l2c--; }
      if (R(0, 2) == 0) { t += " push_next"; c2s++; }
    } else if (k <= 6) {
      const char *ops[] = {"add", "mulshr", "rsum", "recip", "quant", "max"};
      int o = R(0, 5);
      std::string op = ops[o];
      int rows = R(1, 3), n2 = (op == "recip") ? 1 : R(1, 4);
      t += "vec op=" + op + " mode=" + std::to_string(R(0, 3)) + " dst=" + std::to_string(R(0, 50)) +
           " src1=" + std::to_string(R(100, 150)) + " src2=" + std::to_string(R(200, 250)) + " n=" +
           std::to_string(n2) + " rows=" + std::to_string(rows) + " dst_rs=" + std::to_string(n2) +
           " src_rs=" + std::to_string(n2) + " shift=" + std::to_string(R(0, 20));
      if (l2c && R(0, 1)) { t += " pop_prev"; l2c--; }
      if (R(0, 2) == 0) { t += " push_next"; c2s++; }
    } else if (k <= 8) {
      int m = R(0, 1);
      t += std::string("store mem=") + (m ? "out" : "acc") + " sram=" + std::to_string(R(0, 100)) +
           " y=" + std::to_string(R(1, 2)) + " sstride=3 x=" + std::to_string(R(1, 3)) +
           " dram=" + std::to_string(0x8000 + R(0, 1000) * 4) + " dstride=64";
      if (c2s && R(0, 1)) { t += " pop_prev"; c2s--; }
    } else {
      t += "sync q=" + std::to_string(R(0, 2));
    }
    t += "\n";
  }
  return t + "end\n";
}
}  // namespace

TEST(IsaSim, FastForwardEqualsStepping) {
  std::mt19937 g(2024);
  for (int it = 0; it < 60; it++) {
    tern_hwcfg c = it % 2 ? tern_hwcfg_small(4, 4) : tern_hwcfg_small(8, 8);
    c.qdepth = 1 + it % 4;
    std::string prog = random_program(g, c, 5 + it % 40);
    std::vector<uint8_t> dram(1 << 16);
    for (auto &b : dram) b = (uint8_t)g();
    unsetenv("TERN_ISASIM_NOSKIP");
    SimRun a = run_text(c, prog, dram);
    setenv("TERN_ISASIM_NOSKIP", "1", 1);
    SimRun b = run_text(c, prog, dram);
    unsetenv("TERN_ISASIM_NOSKIP");
    ASSERT_EQ(a.rc, 0) << a.err << "\n" << prog;
    ASSERT_EQ(b.rc, 0) << b.err;
    for (int i = 0; i < TERN_NCOUNTERS; i++)
      ASSERT_EQ(a[i], b[i]) << tern_counter_name(i) << "\n" << prog;
    ASSERT_TRUE(a.dram == b.dram);
    // conservation: busy + stall <= cycles per unit
    EXPECT_LE(a[TERN_CNT_LOAD_BUSY] + a[TERN_CNT_LOAD_STALL], a[TERN_CNT_CYCLES]);
    EXPECT_LE(a[TERN_CNT_COMPUTE_BUSY] + a[TERN_CNT_COMPUTE_STALL], a[TERN_CNT_CYCLES]);
    EXPECT_LE(a[TERN_CNT_STORE_BUSY] + a[TERN_CNT_STORE_STALL], a[TERN_CNT_CYCLES]);
  }
}

// ---- ISA v2: MAC8, LOAD into OUT, the OUT8 byte view, sessions -------------

// MAC8 against the formula of docs/ISA.md, written out here: for i < N, lane l,
// a_k = int8 byte k%C of OUT[SRC2 + k/C], b = int8 byte l of OUT[SRC1 + k*SRC_RS + i],
// ACC[DST+i][l] = sat32((acc ? old : 0) + sum_k a_k * b).
TEST(IsaSim, Mac8DataTimingAndCounters) {
  tern_hwcfg c = cfg4();  // C = 4, OUT 256 words, BW 4, lat 8
  const int C = 4;
  std::mt19937 g(21);
  std::vector<uint8_t> dram(1 << 16, 0);
  // OUT image: 64 words (256 bytes) at DRAM 0x100 with a few extremes; ACC words 0..7 at 0x800
  for (int b = 0; b < 256; b++) dram[0x100 + b] = (uint8_t)g();
  dram[0x100 + 4 * 40] = 0x80;  // -128
  dram[0x100 + 0] = 0x80;
  // the second MAC8 (acc into words 0..1, stream = OUT words 4..5, B = words 10..11):
  // word 1 lane 1 (INT32_MAX - 3) gains 5*100*127 and saturates, lane 2 (INT32_MIN + 2)
  // gains 5*100*(-128) and saturates
  for (int k = 0; k < 5; k++) dram[0x100 + 4 * 4 + k] = 100;
  dram[0x100 + 4 * 11 + 1] = 127;
  dram[0x100 + 4 * 11 + 2] = 0x80;
  std::vector<int32_t> acc0(8 * C);
  for (int i = 0; i < 8 * C; i++) {
    acc0[i] = (int32_t)(g() % 2000001) - 1000000;
    if (i == 5) acc0[i] = INT32_MAX - 3;  // MODE acc saturates upwards
    if (i == 6) acc0[i] = INT32_MIN + 2;  // ... and downwards
    wr32(dram, 0x800 + 4 * i, acc0[i]);
  }
  struct M {
    int mode, dst, src1, src2, n, rows, src_rs;
  } ms[] = {
      {0, 20, 40, 0, 3, 9, 2},    // set, K = 9 (3 stream words), strided B rows
      {1, 0, 10, 4, 2, 5, 0},     // acc, SRC_RS = 0: every k reads the same B words
      {1, 24, 0, 60, 1, 16, 3},   // acc into words loaded from DRAM? (24 = fresh zeros)
      {0, 30, 63, 40, 1, 1, 7},   // K = 1
  };
  std::string prog =
      "load mem=out sram=0 sstride=0 y=1 x=64 dram=0x100 dstride=0\n"
      "load mem=acc sram=0 sstride=0 y=1 x=8 dram=0x800 dstride=0 push_next\n"
      "sync q=compute pop_prev\n";
  for (const M &m : ms) {
    char line[256];
    snprintf(line, sizeof line,
             "vec op=mac8 mode=%s dst=%d src1=%d src2=%d n=%d rows=%d src_rs=%d\n",
             m.mode ? "acc" : "set", m.dst, m.src1, m.src2, m.n, m.rows, m.src_rs);
    prog += line;
  }
  prog += "sync q=compute push_next\nstore mem=acc sram=0 y=1 x=32 dram=0x1000 pop_prev\nend\n";
  SimRun r = run_text(c, prog, dram);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto out = [&](int w, int l) { return (int8_t)dram[0x100 + C * w + l]; };
  std::vector<int32_t> acc(32 * C, 0);
  for (int i = 0; i < 8 * C; i++) acc[i] = acc0[i];
  uint64_t vop = 0, ord = 0, ard = 0, awr = 8 /* LOAD ACC */, busy_vec = 0;
  for (const M &m : ms) {
    for (int i = 0; i < m.n; i++)
      for (int l = 0; l < C; l++) {
        int64_t s = m.mode ? acc[(m.dst + i) * C + l] : 0;
        for (int k = 0; k < m.rows; k++)
          s += (int64_t)out(m.src2 + k / C, k % C) * out(m.src1 + k * m.src_rs + i, l);
        acc[(m.dst + i) * C + l] = sat(s);
      }
    vop += (uint64_t)m.rows * m.n;
    ord += (uint64_t)m.rows * m.n + (uint64_t)m.n * ((m.rows + C - 1) / C);
    if (m.mode) ard += (uint64_t)m.n;
    awr += (uint64_t)m.n;
    busy_vec += 1 + (uint64_t)m.rows * m.n + 4;  // D = 1 + ROWS*N + VEC_PIPE
  }
  for (int w = 0; w < 32; w++)
    for (int l = 0; l < C; l++)
      EXPECT_EQ(rd32(r.dram, 0x1000 + 16 * w + 4 * l), acc[w * C + l]) << "word " << w << " lane " << l;
  EXPECT_EQ(rd32(r.dram, 0x1000 + 4 * 5), INT32_MAX) << "MODE acc saturates (word 1 lane 1)";
  EXPECT_EQ(rd32(r.dram, 0x1000 + 4 * 6), INT32_MIN) << "MODE acc saturates (word 1 lane 2)";
  EXPECT_EQ(r[TERN_CNT_VOP_MAC8], vop);
  EXPECT_EQ(r[TERN_CNT_OUT_RD], ord);
  EXPECT_EQ(r[TERN_CNT_OUT_WR], 64u);          // LOAD OUT words
  EXPECT_EQ(r[TERN_CNT_ACC_RD], ard + 32u);    // + STORE
  EXPECT_EQ(r[TERN_CNT_ACC_WR], awr);          // 8 loaded + MAC8 words
  // compute: 2 SYNC + 4 MAC8 + END busy cycles
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], busy_vec + 3u);
  EXPECT_EQ(r[TERN_CNT_INSN_COMPUTE], 7u);
}

TEST(IsaSim, Mac8DurationByHand) {
  // MAC8 N=2 K=3 alone: D = 1 + 6 + 4 = 11: fetched t0, busy t1..t11, END t2 in parallel? no:
  // END is in the compute queue too, so it starts at t12, done at t13.
  SimRun r = run_text(cfg4(), "vec op=mac8 mode=set dst=0 src1=0 src2=9 n=2 rows=3 src_rs=2\nend\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r[TERN_CNT_CYCLES], 13u);
  EXPECT_EQ(r[TERN_CNT_COMPUTE_BUSY], 12u);
  EXPECT_EQ(r[TERN_CNT_VOP_MAC8], 6u);
  EXPECT_EQ(r[TERN_CNT_OUT_RD], 6u + 2u);  // B words + the stream word once per output word
  EXPECT_EQ(r[TERN_CNT_ACC_RD], 0u);
  EXPECT_EQ(r[TERN_CNT_ACC_WR], 2u);
  SimRun a = run_text(cfg4(), "vec op=mac8 mode=acc dst=0 src1=0 src2=9 n=3 rows=9 src_rs=3\nend\n");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(a[TERN_CNT_CYCLES], 1u + 27u + 4u + 2u);
  EXPECT_EQ(a[TERN_CNT_OUT_RD], 27u + 3u * 3u);
  EXPECT_EQ(a[TERN_CNT_ACC_RD], 3u);
}

// One K column into a transposed K cache (docs/ISA.md "OUT8"): STORE OUT8 with
// x = 1, sstride 1, y = hd rows, DRAM stride ctx_pad; and LOAD OUT8 scattering bytes.
TEST(IsaSim, Out8ByteViewLoadAndStore) {
  tern_hwcfg c = cfg4();  // C = 4: byte b of OUT is word b/4, lane b%4
  std::vector<uint8_t> dram(1 << 16, 0);
  std::mt19937 g(5);
  for (int b = 0; b < 64; b++) dram[0x200 + b] = (uint8_t)g();
  for (int b = 0; b < 16; b++) dram[0x300 + b] = (uint8_t)(0xa0 + b);
  const int hd = 6, ctx_pad = 40, t = 7;
  char prog[1024];
  snprintf(prog, sizeof prog,
           "load mem=out sram=10 y=1 x=4 dram=0x200\n"          // k row: OUT words 10..13
           "load mem=out8 sram=81 sstride=5 y=3 x=2 dram=0x300 dstride=7\n"  // bytes 81,82 86,87 91,92
           "sync q=load push_next\n"
           "sync q=compute pop_prev push_next\n"
           "store mem=out8 sram=41 sstride=1 y=%d x=1 dram=%d dstride=%d pop_prev\n"
           "store mem=out sram=20 y=1 x=3 dram=0x600\n"
           "end\n",
           hd, 0x400 + t, ctx_pad);
  SimRun r = run_text(c, prog, dram);
  ASSERT_EQ(r.rc, 0) << r.err;
  // byte 41 = word 10 lane 1 = DRAM 0x200 + 1
  for (int j = 0; j < hd; j++)
    EXPECT_EQ(r.dram[0x400 + t + j * ctx_pad], dram[0x200 + 1 + j]) << "K column byte " << j;
  for (int j = 0; j < hd; j++)  // neighbours untouched
    EXPECT_EQ(r.dram[0x400 + t + 1 + j * ctx_pad], 0) << j;
  // OUT words 20..22 = bytes 80..91
  const int want[12] = {0, 0xa0, 0xa1, 0, 0, 0, 0xa7, 0xa8, 0, 0, 0, 0xae};
  for (int b = 0; b < 12; b++) EXPECT_EQ(r.dram[0x600 + b], want[b]) << "byte " << 80 + b;
  // counters: OUT_WR = 4 words + 6 bytes, OUT_RD = 6 bytes + 3 words, DRAM in bytes
  EXPECT_EQ(r[TERN_CNT_OUT_WR], 4u + 6u);
  EXPECT_EQ(r[TERN_CNT_OUT_RD], 6u + 3u);
  EXPECT_EQ(r[TERN_CNT_DRAM_RD_BYTES], 16u + 6u);
  EXPECT_EQ(r[TERN_CNT_DRAM_WR_BYTES], 6u + 12u);
  // timing: STORE OUT8 y=6 x=1: B = 6 beats of 1 byte, D = 2 + 6 = 8
  SimRun s = run_text(c, "store mem=out8 sram=3 sstride=1 y=6 x=1 dram=0x10 dstride=3\nend\n");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(s[TERN_CNT_STORE_BUSY], 8u);
  EXPECT_EQ(s[TERN_CNT_CYCLES], 1u + 8u);
  // LOAD OUT8 y=2 x=3: B = 6, D = 1 + 6 + 8
  SimRun l = run_text(c, "load mem=out8 sram=3 sstride=9 y=2 x=3 dram=0x10 dstride=3\nend\n");
  ASSERT_EQ(l.rc, 0) << l.err;
  EXPECT_EQ(l[TERN_CNT_LOAD_BUSY], 15u);
}

// Sessions (include/tern/backend.h): program A leaves weights in WBUF, activations in
// ABUF, words in ACC and OUT; program B (no loads) computes from them.  B's results
// equal those of A+B as one program; B's counters start from zero.
namespace {
std::vector<tern_insn> asm_prog(const std::string &t) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[512];
  EXPECT_EQ(tern_asm_text(t.c_str(), "s.s", &v, &n, err, sizeof err), 0) << err;
  std::vector<tern_insn> p(v, v + n);
  free(v);
  return p;
}
}  // namespace

TEST(IsaSim, SessionKeepsSramAcrossRuns) {
  tern_hwcfg c = cfg4();
  std::vector<uint8_t> dram(1 << 16, 0);
  std::mt19937 g(8);
  for (int i = 0; i < 0x1000; i++) dram[i] = (uint8_t)g();
  for (int i = 0; i < 16; i++) dram[0x100 + i] &= 0x55;  // codes 00/01 only in tile 0
  const std::string a =
      "load mem=wbuf sram=3 y=1 x=2 dram=0x100\n"
      "load mem=abuf sram=5 y=1 x=4 dram=0x200\n"
      "load mem=acc sram=40 y=1 x=3 dram=0x300\n"
      "load mem=out sram=7 y=1 x=8 dram=0x400\n"
      "load mem=acc sram=100 y=1 x=64 dram=0x800\n"
      "sync q=load push_next\nsync q=compute pop_prev\n"
      "vec op=lutld src1=100 n=64 rows=1\n";
  const std::string b =
      "gemm w=3 a=5 acc=40 m=3 astride=1 accstride=1\n"
      "gemm w=4 a=6 acc=50 m=2 astride=1 accstride=1 reset\n"
      "vec op=mac8 mode=acc dst=41 src1=7 src2=12 n=2 rows=11 src_rs=1\n"
      "vec op=lut dst=60 src1=40 n=3 rows=1 shift=20\n"
      "vec op=quant mode=const dst=30 src1=40 src2=42 n=3 rows=1 shift=40\n"
      "sync q=compute push_next\n"
      "store mem=acc sram=40 y=1 x=24 dram=0x4000 pop_prev\n"
      "store mem=out8 sram=28 sstride=1 y=1 x=40 dram=0x5003\n";
  std::vector<tern_insn> pa = asm_prog(a + "end\n"), pb = asm_prog(b + "end\n"),
                         pab = asm_prog(a + b + "end\n");
  char err[512] = "";
  // one program
  std::vector<uint8_t> d1 = dram;
  tern_counters cab;
  ASSERT_EQ(tern_isasim_run(&c, pab.data(), pab.size(), d1.data(), d1.size(), nullptr, &cab, err,
                            sizeof err), 0) << err;
  // A then B in one session (public API and the machine object)
  tern_session *s = tern_session_open("isa", &c, err, sizeof err);
  ASSERT_NE(s, nullptr) << err;
  std::vector<uint8_t> d2 = dram;
  tern_counters ca, cb;
  ASSERT_EQ(tern_session_run(s, pa.data(), pa.size(), d2.data(), d2.size(), nullptr, &ca, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_session_run(s, pb.data(), pb.size(), d2.data(), d2.size(), nullptr, &cb, err, sizeof err), 0) << err;
  EXPECT_TRUE(d1 == d2) << "A then B in a session differs from A+B";
  EXPECT_NE(memcmp(d2.data() + 0x4000, dram.data() + 0x4000, 24 * 16), 0);
  EXPECT_EQ(cb.v[TERN_CNT_DRAM_RD_BYTES], 0u);           // B loads nothing
  EXPECT_EQ(cb.v[TERN_CNT_INSN_LOAD], 0u);
  EXPECT_EQ(cb.v[TERN_CNT_VOP_MAC8], 22u);
  EXPECT_EQ(ca.v[TERN_CNT_VOP_MAC8], 0u);               // counters start afresh
  EXPECT_EQ(ca.v[TERN_CNT_VOP_LUTLD] + cb.v[TERN_CNT_VOP_LUTLD], cab.v[TERN_CNT_VOP_LUTLD]);
  for (int i = TERN_CNT_GEMM_ROWS; i < TERN_NCOUNTERS; i++)  // event counters add up
    EXPECT_EQ(ca.v[i] + cb.v[i], cab.v[i]) << tern_counter_name(i);
  // a bad program fails without disturbing the session
  std::vector<tern_insn> bad = asm_prog("vec op=mac8 mode=3 n=1 rows=1\nend\n");
  EXPECT_EQ(tern_session_run(s, bad.data(), bad.size(), d2.data(), d2.size(), nullptr, &cb, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("MODE = 3"), std::string::npos) << err;
  // B again: the same SRAM state gives the same stores except the MAC8 accumulated twice
  std::vector<uint8_t> d3 = d2;
  ASSERT_EQ(tern_session_run(s, pb.data(), pb.size(), d3.data(), d3.size(), nullptr, &cb, err, sizeof err), 0) << err;
  EXPECT_EQ(memcmp(d3.data() + 0x5000, d2.data() + 0x5000, 64), 0);
  tern_session_close(s);
  // B alone on a fresh machine sees zeroed SRAMs: different results
  std::vector<uint8_t> d4 = dram;
  tern_isasim *m = tern_isasim_new(&c, err, sizeof err);
  ASSERT_NE(m, nullptr) << err;
  ASSERT_EQ(tern_isasim_exec(m, pb.data(), pb.size(), d4.data(), d4.size(), nullptr, &cb, err, sizeof err), 0) << err;
  EXPECT_FALSE(d4 == d1);
  for (int i = 0; i < 24 * 16; i++) ASSERT_EQ(d4[0x4000 + i], 0) << "fresh ACC is zero, byte " << i;
  tern_isasim_free(m);
  // bad backend / configuration
  EXPECT_EQ(tern_session_open("fpga", &c, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("expected isa or rtl"), std::string::npos) << err;
  tern_hwcfg badc = c;
  badc.cols = 3;
  EXPECT_EQ(tern_session_open("isa", &badc, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("cols"), std::string::npos) << err;
}
