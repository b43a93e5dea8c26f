// RTL (Verilated tern_top through sim/rtl_shim.cpp) against the golden ISA
// simulator: DRAM results bit for bit and every counter, cycle for cycle.
// The shared libraries for the 4x4 and 8x8 test configurations are built by
// `make rtl-test-libs` (sim/rtl.mk) and loaded here with dlopen.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler.h"
#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/program.h"

#include "fuzz_seed.h"

namespace {

// ---------------------------------------------------------------- library access
struct RtlLib {
  void *h = nullptr;
  std::string path, err;
  void (*built_config)(tern_hwcfg *) = nullptr;
  tern_rtl *(*create)(const tern_hwcfg *, char *, size_t) = nullptr;
  int (*load)(tern_rtl *, const tern_word *, size_t, char *, size_t) = nullptr;
  int (*run)(tern_rtl *, uint8_t *, uint64_t, const tern_run_opts *, tern_counters *, char *,
             size_t) = nullptr;
  void (*destroy)(tern_rtl *) = nullptr;
};

// Loaded once per configuration and never closed (Verilator's static state).
const RtlLib &rtl_lib(const tern_hwcfg &cfg) {
  static std::map<std::string, RtlLib> cache;
  char name[256];
  tern_hwcfg_rtl_name(&cfg, name, sizeof name);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  RtlLib L;
  const char *dir = getenv("TERN_RTL_DIR");
  L.path = std::string(dir && *dir ? dir : TERN_ROOT "/build/rtl") + "/" + name + "/libtern_rtl.so";
  L.h = dlopen(L.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!L.h) {
    const char *de = dlerror();
    L.err = "cannot load " + L.path + " (build it with `make rtl-test-libs`): " +
            (de ? de : "dlopen failed");
  } else {
    L.built_config = (void (*)(tern_hwcfg *))dlsym(L.h, "tern_rtl_built_config");
    L.create = (tern_rtl * (*)(const tern_hwcfg *, char *, size_t)) dlsym(L.h, "tern_rtl_create");
    L.load = (int (*)(tern_rtl *, const tern_word *, size_t, char *, size_t))dlsym(L.h, "tern_rtl_load");
    L.run = (int (*)(tern_rtl *, uint8_t *, uint64_t, const tern_run_opts *, tern_counters *,
                     char *, size_t))dlsym(L.h, "tern_rtl_run");
    L.destroy = (void (*)(tern_rtl *))dlsym(L.h, "tern_rtl_destroy");
    if (!L.built_config || !L.create || !L.load || !L.run || !L.destroy)
      L.err = L.path + ": a tern_rtl_* symbol is missing";
  }
  return cache.emplace(name, L).first->second;
}

struct Result {
  int rc = -1;
  std::string err;
  std::vector<uint8_t> dram;
  tern_counters cnt{};
};

std::vector<tern_word> encode_all(const std::vector<tern_insn> &prog) {
  std::vector<tern_word> w(prog.size());
  char err[256];
  for (size_t i = 0; i < prog.size(); i++) {
    if (tern_encode(&prog[i], &w[i], err, sizeof err) != 0) {
      ADD_FAILURE() << "encode insn " << i << ": " << err;
      return {};
    }
  }
  return w;
}

Result run_rtl_words(const tern_hwcfg &cfg, const std::vector<tern_word> &words,
                     const std::vector<uint8_t> &dram0, const tern_run_opts *opts) {
  Result r;
  r.dram = dram0;
  const RtlLib &L = rtl_lib(cfg);
  if (!L.err.empty()) {
    r.err = L.err;
    return r;
  }
  char err[1024] = "";
  tern_rtl *h = L.create(&cfg, err, sizeof err);
  if (!h) {
    r.err = std::string("create: ") + err;
    return r;
  }
  if (L.load(h, words.data(), words.size(), err, sizeof err) != 0) {
    r.err = std::string("load: ") + err;
  } else {
    r.rc = L.run(h, r.dram.data(), r.dram.size(), opts, &r.cnt, err, sizeof err);
    if (r.rc != 0) r.err = err;
  }
  L.destroy(h);
  return r;
}

Result run_rtl(const tern_hwcfg &cfg, const std::vector<tern_insn> &prog,
               const std::vector<uint8_t> &dram0, const tern_run_opts *opts = nullptr) {
  return run_rtl_words(cfg, encode_all(prog), dram0, opts);
}

Result run_isa(const tern_hwcfg &cfg, const std::vector<tern_insn> &prog,
               const std::vector<uint8_t> &dram0, const tern_run_opts *opts = nullptr) {
  Result r;
  r.dram = dram0;
  char err[1024] = "";
  r.rc = tern_isasim_run(&cfg, prog.data(), prog.size(), r.dram.data(), r.dram.size(), opts,
                         &r.cnt, err, sizeof err);
  if (r.rc != 0) r.err = err;
  return r;
}

// Compare DRAM and every counter; returns "" or a description of the differences.
std::string diff(const Result &isa, const Result &rtl) {
  std::string d;
  char buf[256];
  for (int i = 0; i < TERN_NCOUNTERS; i++) {
    if (isa.cnt.v[i] != rtl.cnt.v[i]) {
      snprintf(buf, sizeof buf, "  counter %s: isasim %llu, rtl %llu\n", tern_counter_name(i),
               (unsigned long long)isa.cnt.v[i], (unsigned long long)rtl.cnt.v[i]);
      d += buf;
    }
  }
  size_t ndiff = 0, first = 0;
  for (size_t i = 0; i < isa.dram.size() && i < rtl.dram.size(); i++) {
    if (isa.dram[i] != rtl.dram[i]) {
      if (!ndiff) first = i;
      ndiff++;
    }
  }
  if (ndiff) {
    snprintf(buf, sizeof buf, "  DRAM: %zu bytes differ, first at 0x%zx: isasim 0x%02x, rtl 0x%02x\n",
             ndiff, first, isa.dram[first], rtl.dram[first]);
    d += buf;
  }
  return d;
}

// Validate, run on both backends, compare.  Returns the RTL result.
Result check_same(const tern_hwcfg &cfg, const std::vector<tern_insn> &prog,
                  const std::vector<uint8_t> &dram0, const std::string &label) {
  char err[1024];
  if (tern_validate(&cfg, prog.data(), prog.size(), dram0.size(), err, sizeof err) != 0) {
    ADD_FAILURE() << label << ": test program does not validate: " << err;
    return Result();
  }
  // a valid program has no cycle without progress (docs/ISA.md "Watchdog"): a watchdog of one
  // cycle checks progress_o and the ISA simulator's notion of it on every comparison
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  o.watchdog = 1;
  Result isa = run_isa(cfg, prog, dram0, &o);
  Result rtl = run_rtl(cfg, prog, dram0, &o);
  EXPECT_EQ(isa.rc, 0) << label << ": isasim: " << isa.err;
  EXPECT_EQ(rtl.rc, 0) << label << ": rtl: " << rtl.err;
  if (isa.rc == 0 && rtl.rc == 0) {
    std::string d = diff(isa, rtl);
    EXPECT_EQ(d, "") << label << ": RTL and ISA simulator disagree (" << prog.size()
                     << " instructions, CYCLES isasim " << isa.cnt.v[TERN_CNT_CYCLES] << " rtl "
                     << rtl.cnt.v[TERN_CNT_CYCLES] << "):\n"
                     << d;
  }
  return rtl;
}

// ---------------------------------------------------------------- program building
enum { PP = 1, PN = 2, UP = 4, UN = 8 };  // pop_prev, pop_next, push_prev, push_next

tern_insn base(int op, int flags) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = (uint8_t)op;
  in.pop_prev = (flags & PP) != 0;
  in.pop_next = (flags & PN) != 0;
  in.push_prev = (flags & UP) != 0;
  in.push_next = (flags & UN) != 0;
  return in;
}
tern_insn dma(int op, int mem, int sram, int sstride, int y, int x, uint32_t dram, int dstride,
              int flags) {
  tern_insn in = base(op, flags);
  in.mem = (uint8_t)mem;
  in.sram_addr = (uint16_t)sram;
  in.sram_stride = (uint16_t)sstride;
  in.y_size = (uint16_t)y;
  in.x_size = (uint16_t)x;
  in.dram_addr = dram;
  in.dram_stride = (uint16_t)dstride;
  return in;
}
tern_insn ld(int mem, int sram, int sstride, int y, int x, uint32_t dram, int dstride, int flags) {
  return dma(TERN_OP_LOAD, mem, sram, sstride, y, x, dram, dstride, flags);
}
tern_insn st(int mem, int sram, int sstride, int y, int x, uint32_t dram, int dstride, int flags) {
  return dma(TERN_OP_STORE, mem, sram, sstride, y, x, dram, dstride, flags);
}
tern_insn gemm(int w, int a, int acc, int m, int astride, int accstride, int reset, int flags) {
  tern_insn in = base(TERN_OP_GEMM, flags);
  in.wbuf_addr = (uint16_t)w;
  in.abuf_addr = (uint16_t)a;
  in.acc_addr = (uint16_t)acc;
  in.m = (uint16_t)m;
  in.abuf_stride = (uint16_t)astride;
  in.acc_stride = (uint16_t)accstride;
  in.reset = (uint8_t)reset;
  return in;
}
tern_insn vec(int vop, int mode, int dst, int src1, int src2, int n, int rows, int dst_rs,
              int src_rs, int shift, int flags) {
  tern_insn in = base(TERN_OP_VEC, flags);
  in.vop = (uint8_t)vop;
  in.mode = (uint8_t)mode;
  in.dst = (uint16_t)dst;
  in.src1 = (uint16_t)src1;
  in.src2 = (uint16_t)src2;
  in.n = (uint16_t)n;
  in.rows = (uint16_t)rows;
  in.dst_rs = (uint16_t)dst_rs;
  in.src_rs = (uint16_t)src_rs;
  in.shift = (uint8_t)shift;
  return in;
}
tern_insn sync(int q, int flags) {
  tern_insn in = base(TERN_OP_SYNC, flags);
  in.queue = (uint8_t)q;
  return in;
}
tern_insn end() { return base(TERN_OP_END, 0); }

std::vector<uint8_t> random_dram(size_t n, uint32_t seed, int lo = 0, int hi = 255) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<uint8_t> v(n);
  for (auto &b : v) b = (uint8_t)d(g);
  return v;
}

// ACC words of small int32 values (so that products do not saturate trivially)
void fill_i32(std::vector<uint8_t> &dram, uint32_t addr, size_t count, uint32_t seed, int lo,
              int hi) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (size_t i = 0; i < count; i++) {
    int32_t v = d(g);
    memcpy(&dram[addr + 4 * i], &v, 4);
  }
}

// random ternary codes (never the reserved 10)
void fill_codes(std::vector<uint8_t> &dram, uint32_t addr, size_t bytes, uint32_t seed) {
  std::mt19937 g(seed);
  static const uint8_t codes[3] = {0, 1, 3};
  for (size_t i = 0; i < bytes; i++) {
    uint8_t b = 0;
    for (int k = 0; k < 4; k++) b |= (uint8_t)(codes[g() % 3] << (2 * k));
    dram[addr + i] = b;
  }
}

std::vector<tern_hwcfg> test_cfgs() { return {tern_hwcfg_small(4, 4), tern_hwcfg_small(8, 8)}; }

std::string cfg_label(const tern_hwcfg &c) {
  return std::to_string(c.rows) + "x" + std::to_string(c.cols);
}

const uint32_t DRAM_TEST = 1u << 16;

// ---------------------------------------------------------------- tests

// Hand-computed timing from docs/ISA.md (independent of the ISA simulator).
TEST(Rtl, LoadSyncStoreTimingByHand) {
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);  // BW 4, ACC word 16 bytes -> 4 beats/word
  cfg.dram_lat = 8;
  std::vector<uint8_t> dram = random_dram(DRAM_TEST, 1);
  std::vector<tern_insn> p = {
      ld(TERN_MEM_ACC, 10, 5, 2, 3, 0x100, 200, UN),     // B = 24, D = 33: cycles 1..33
      sync(TERN_Q_COMPUTE, PP | UN),                     // starts 34
      st(TERN_MEM_ACC, 10, 5, 2, 3, 0x4000, 48, PP),     // starts 35, D = 26: 35..60
      end(),                                             // starts 35
  };
  Result r = check_same(cfg, p, dram, "timing");
  ASSERT_EQ(r.rc, 0) << r.err;
  const uint64_t want[][2] = {
      {TERN_CNT_CYCLES, 61},       {TERN_CNT_LOAD_BUSY, 33},      {TERN_CNT_LOAD_STALL, 0},
      {TERN_CNT_COMPUTE_BUSY, 2},  {TERN_CNT_COMPUTE_STALL, 32},  {TERN_CNT_STORE_BUSY, 26},
      {TERN_CNT_STORE_STALL, 32},  {TERN_CNT_FETCH_STALL, 0},     {TERN_CNT_INSN_LOAD, 1},
      {TERN_CNT_INSN_COMPUTE, 2},  {TERN_CNT_INSN_STORE, 1},      {TERN_CNT_ACC_WR, 6},
      {TERN_CNT_ACC_RD, 6},        {TERN_CNT_DRAM_RD_BYTES, 96},  {TERN_CNT_DRAM_WR_BYTES, 96},
  };
  for (auto &w : want)
    EXPECT_EQ(r.cnt.v[w[0]], w[1]) << "counter " << tern_counter_name((int)w[0]);
  // the data moved: rows of 48 bytes from 0x100 (stride 200) to 0x4000 (stride 48)
  for (int row = 0; row < 2; row++)
    for (int b = 0; b < 48; b++)
      ASSERT_EQ(r.dram[0x4000 + 48 * row + b], dram[0x100 + 200 * row + b])
          << "row " << row << " byte " << b;
}

// DMA of every memory with strides, through GEMM where the memory has no STORE path.
TEST(Rtl, DmaStrides) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int R = cfg.rows, C = cfg.cols;
    std::vector<uint8_t> dram = random_dram(DRAM_TEST, 2);
    fill_codes(dram, 0x1000, 4 * (size_t)R * C / 4 * 3, 3);
    // ACC round trip with strides on both sides, several shapes
    std::vector<tern_insn> p = {
        ld(TERN_MEM_ACC, 3, 7, 3, 2, 0x200, 300, 0),
        ld(TERN_MEM_ACC, 40, 1, 1, 5, 0x900, 0, UN),
        sync(TERN_Q_COMPUTE, PP | UN),
        st(TERN_MEM_ACC, 3, 7, 3, 2, 0x8000, 1000, PP),
        st(TERN_MEM_ACC, 40, 2, 2, 2, 0xA000, 64 * C, UP),
        // WBUF (tile) and ABUF with strides, then GEMM results stored
        ld(TERN_MEM_WBUF, 1, 3, 2, 1, 0x1000, R * C / 4 + 8, 0),
        ld(TERN_MEM_ABUF, 5, 4, 3, 1, 0x3000, 3 * R, UN),
        sync(TERN_Q_COMPUTE, PN),
        gemm(1, 5, 100, 3, 4, 2, 1, PP),
        gemm(4, 5, 100, 3, 4, 2, 0, UN),
        st(TERN_MEM_ACC, 100, 2, 3, 1, 0xC000, 5 * 4 * C, PP),
        end(),
    };
    check_same(cfg, p, dram, "dma " + cfg_label(cfg));
  }
}

TEST(Rtl, GemmBackToBackAndAccumulate) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int R = cfg.rows, C = cfg.cols;
    std::vector<uint8_t> dram = random_dram(DRAM_TEST, 4);
    fill_codes(dram, 0x1000, 4 * (size_t)R * C / 4, 5);
    std::vector<tern_insn> p = {
        ld(TERN_MEM_WBUF, 0, 1, 1, 4, 0x1000, 0, 0),
        ld(TERN_MEM_ABUF, 0, 1, 1, 8, 0x3000, 0, UN),
        gemm(0, 0, 0, 8, 1, 1, 1, PP),   // 8 rows, reset
        gemm(1, 0, 0, 8, 1, 1, 0, 0),    // back to back, accumulate into the same words
        gemm(2, 7, 16, 1, 1, 1, 1, 0),   // M = 1
        gemm(3, 0, 0, 4, 2, 1, 0, 0),    // strided activations
        gemm(3, 1, 16, 3, 0, 0, 0, 0),   // the same ACC word three times (forwarding)
        gemm(0, 0, 20, 2, 1, 1, 1, UN),  // push: D = M + GEMM_LAT
        st(TERN_MEM_ACC, 0, 1, 1, 8, 0x8000, 0, PP),
        st(TERN_MEM_ACC, 16, 1, 1, 6, 0x9000, 0, 0),
        end(),
    };
    check_same(cfg, p, dram, "gemm " + cfg_label(cfg));
  }
}

// The array's partial sums at their narrowest exact width (psum_bits = 9 +
// log2(rows), rtl/tern_array.sv PSUM_W): the extreme column sums +128*R (codes
// -1, activations -128) and -128*R (codes +1), and accumulation in ACC beyond
// the array's width (4 GEMMs into the same words: 4 * 128 * R), equal to the
// ISA simulator (32-bit arithmetic throughout) and to the values by hand.
TEST(Rtl, NarrowPartialSumsAtTheExtremes) {
  for (tern_hwcfg cfg : test_cfgs()) {
    const int R = cfg.rows, C = cfg.cols;
    cfg.psum_bits = tern_hwcfg_psum_min(R);  // 11 at 4 rows, 12 at 8
    std::vector<uint8_t> dram(DRAM_TEST, 0);
    const size_t tile = (size_t)R * C / 4;     // bytes of one weight tile (2-bit codes)
    memset(&dram[0x1000], 0xff, tile);         // tile 0: every code 11 = -1
    memset(&dram[0x1000 + tile], 0x55, tile);  // tile 1: every code 01 = +1
    memset(&dram[0x3000], 0x80, (size_t)R);    // ABUF word 0: -128 in every row
    memset(&dram[0x3000 + R], 0x7f, (size_t)R);  // word 1: 127
    std::vector<tern_insn> p = {
        ld(TERN_MEM_WBUF, 0, 1, 1, 2, 0x1000, 0, 0),
        ld(TERN_MEM_ABUF, 0, 1, 1, 2, 0x3000, 0, UN),
        gemm(0, 0, 0, 1, 1, 1, 1, PP),  // ACC 0: (-1)(-128) R = +128 R
        gemm(1, 0, 1, 1, 1, 1, 1, 0),   // ACC 1: (+1)(-128) R = -128 R
        gemm(0, 1, 2, 1, 1, 1, 1, 0),   // ACC 2: (-1)(127) R = -127 R
        gemm(0, 0, 3, 1, 1, 1, 1, 0),   // ACC 3: +128 R, then three more times
        gemm(0, 0, 3, 1, 1, 1, 0, 0),
        gemm(0, 0, 3, 1, 1, 1, 0, 0),
        gemm(0, 0, 3, 1, 1, 1, 0, UN),
        st(TERN_MEM_ACC, 0, 1, 1, 4, 0x8000, 0, PP),
        end(),
    };
    Result r = check_same(cfg, p, dram, "narrow psum " + cfg_label(cfg));
    ASSERT_EQ(r.rc, 0) << r.err;
    const int32_t want[4] = {128 * R, -128 * R, -127 * R, 4 * 128 * R};
    for (int w = 0; w < 4; w++)
      for (int n = 0; n < C; n++) {
        int32_t v;
        memcpy(&v, &r.dram[0x8000 + ((size_t)w * C + n) * 4], 4);
        EXPECT_EQ(v, want[w]) << cfg_label(cfg) << " ACC word " << w << " lane " << n;
      }
  }
}

// Every VEC op, with every src2 mode for the E ops.
TEST(Rtl, EachVecOp) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int C = cfg.cols;
    const int ACCW = 4 * C;  // bytes per ACC word
    std::vector<uint8_t> dram(DRAM_TEST, 0);
    // 0..63: data a, 64..127: data b, 128..: LUT source (256/C words), 200..: results
    fill_i32(dram, 0x0, 64 * C, 6, -300000, 300000);
    fill_i32(dram, 64 * ACCW, 64 * C, 7, -4000, 4000);
    fill_i32(dram, 128 * ACCW, 256, 8, -2000000000, 2000000000);
    for (int vop = 0; vop < TERN_VOP_COUNT; vop++) {
      char kind = tern_vop_kind(vop);
      if (kind == 'M') continue;  // MAC8 reads OUT: Rtl.Mac8Shapes
      int modes = (kind == 'E' && vop != TERN_VOP_LUT) || kind == 'Q' ? 4 : 1;
      for (int mode = 0; mode < modes; mode++) {
        std::vector<tern_insn> p;
        p.push_back(ld(TERN_MEM_ACC, 0, 1, 1, 128 + 256 / C, 0, 0, UN));
        if (vop == TERN_VOP_LUT)
          p.push_back(vec(TERN_VOP_LUTLD, 0, 0, 128, 0, 256 / C, 1, 0, 0, 0, PP));
        int shift = vop == TERN_VOP_RECIP || vop == TERN_VOP_RSQRT ? 20
                    : vop == TERN_VOP_LUT                         ? 12
                    : vop == TERN_VOP_MULSHR || vop == TERN_VOP_QUANT ? 9
                                                                      : 3;
        const int rows = 3, n = (kind == 'S') ? 1 : 4;
        int flags = vop == TERN_VOP_LUT ? UN : PP | UN;
        if (kind == 'L') {
          p.push_back(vec(vop, 0, 0, 128, 0, 256 / C, 1, 0, 0, 0, PP));
          // LUTLD writes no ACC: make the LUT visible through a LUT op
          p.push_back(vec(TERN_VOP_LUT, 0, 200, 0, 0, 8, 2, 8, 8, 11, UN));
        } else {
          p.push_back(vec(vop, mode, 200, 0, 64, n, rows, n, n, shift, flags));
        }
        if (kind == 'Q')
          p.push_back(st(TERN_MEM_OUT, 200, 1, 1, rows * n, 0x8000, 0, PP));
        else if (kind == 'L')
          p.push_back(st(TERN_MEM_ACC, 200, 1, 1, 16, 0x8000, 0, PP));
        else if (kind == 'E')
          p.push_back(st(TERN_MEM_ACC, 200, n, rows, n, 0x8000, 4 * C * n, PP));
        else  // R, S: one word per row at dst + r*dst_rs
          p.push_back(st(TERN_MEM_ACC, 200, n, rows, 1, 0x8000, ACCW, PP));
        p.push_back(end());
        check_same(cfg, p, dram,
                   std::string("vec ") + tern_vop_name(vop) + " mode " + std::to_string(mode) +
                       " " + cfg_label(cfg));
      }
    }
  }
}

// Double-buffered load -> compute -> store loop using all four token queues.
TEST(Rtl, TokenPingPong) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int R = cfg.rows, C = cfg.cols;
    std::vector<uint8_t> dram = random_dram(DRAM_TEST, 9);
    fill_codes(dram, 0x1000, (size_t)R * C / 4, 10);
    std::vector<tern_insn> p;
    p.push_back(ld(TERN_MEM_ACC, 16, 1, 1, 1, 0x2000, 0, 0));
    p.push_back(ld(TERN_MEM_WBUF, 0, 1, 1, 1, 0x1000, 0, 0));
    // prime: compute gives the load two free buffers, the store side one
    p.push_back(sync(TERN_Q_COMPUTE, UP));
    p.push_back(sync(TERN_Q_COMPUTE, UP));
    p.push_back(sync(TERN_Q_STORE, UP));
    p.push_back(sync(TERN_Q_STORE, UP));
    const int iters = 6;
    for (int i = 0; i < iters; i++) {
      int buf = i % 2;
      p.push_back(ld(TERN_MEM_ABUF, 8 * buf, 1, 1, 4, 0x3000 + 64 * R * i, 0, PN | UN));
      p.push_back(gemm(0, 8 * buf, 8 * buf, 4, 1, 1, 1, PP | PN));
      p.push_back(vec(TERN_VOP_ADD, TERN_VMODE_CONST, 8 * buf, 8 * buf, 16, 4, 1, 4, 4, 0,
                      UP | UN));
      p.push_back(st(TERN_MEM_ACC, 8 * buf, 1, 1, 4, 0x8000 + 16 * C * i, 0, PP | UP));
    }
    // drain the primed tokens so the counters end balanced
    p.push_back(sync(TERN_Q_LOAD, PN));
    p.push_back(sync(TERN_Q_LOAD, PN));
    p.push_back(sync(TERN_Q_COMPUTE, PN));
    p.push_back(sync(TERN_Q_COMPUTE, PN));
    p.push_back(end());
    check_same(cfg, p, dram, "pingpong " + cfg_label(cfg));
  }
}

// SYNC in each queue, fetch stalls on a full FIFO, and several DRAM latencies.
TEST(Rtl, SyncQueuesFetchStallAndLatencies) {
  for (tern_hwcfg cfg : test_cfgs()) {
    for (int lat : {1, 2, 8, 33}) {
      cfg.dram_lat = lat;
      std::vector<uint8_t> dram = random_dram(DRAM_TEST, 11);
      std::vector<tern_insn> p;
      for (int i = 0; i < 7; i++) p.push_back(ld(TERN_MEM_ACC, i, 1, 1, 1, 64 * i, 0, 0));
      p.push_back(sync(TERN_Q_LOAD, UN));
      p.push_back(sync(TERN_Q_COMPUTE, PP | UN));
      p.push_back(sync(TERN_Q_COMPUTE, UN));
      for (int i = 0; i < 7; i++)
        p.push_back(st(TERN_MEM_ACC, i, 1, 1, 1, 0x8000 + 256 * i, 0, i == 0 ? PP : 0));
      p.push_back(sync(TERN_Q_STORE, PP | UP));
      p.push_back(sync(TERN_Q_COMPUTE, PN));
      p.push_back(end());
      check_same(cfg, p, dram, "sync " + cfg_label(cfg) + " lat " + std::to_string(lat));
    }
  }
}

TEST(Rtl, WatchdogOnDeadlock) {
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);
  std::vector<uint8_t> dram(DRAM_TEST, 0);
  // compute waits for an L2C token that the load queue never pushes
  std::vector<tern_insn> p = {ld(TERN_MEM_ACC, 0, 1, 1, 1, 0, 0, 0), sync(TERN_Q_COMPUTE, PP),
                              end()};
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  o.watchdog = 500;
  Result r = run_rtl(cfg, p, dram, &o);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("watchdog"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("L2C=0"), std::string::npos) << r.err;
  // max_cycles too
  o.watchdog = 0;
  o.max_cycles = 300;
  r = run_rtl(cfg, p, dram, &o);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("max_cycles"), std::string::npos) << r.err;
}

TEST(Rtl, ErrorsAreReported) {
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);
  std::vector<uint8_t> dram(4096, 0);
  // DRAM out of range (not validated on purpose)
  Result r = run_rtl(cfg, {ld(TERN_MEM_ACC, 0, 1, 1, 1, 4090, 0, 0), end()}, dram);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("DRAM read out of range"), std::string::npos) << r.err;
  // invalid opcode in IMEM -> error code 3
  std::vector<tern_word> w = encode_all({sync(TERN_Q_LOAD, 0), end()});
  ASSERT_EQ(w.size(), 2u);
  w[0].w[0] = (w[0].w[0] & ~0xfull) | 0x7;
  r = run_rtl_words(cfg, w, dram, nullptr);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("RTL error 3"), std::string::npos) << r.err;
  // configuration mismatch is refused by create
  const RtlLib &L = rtl_lib(cfg);
  ASSERT_EQ(L.err, "");
  tern_hwcfg bad = cfg;
  bad.acc_depth *= 2;
  char err[512] = "";
  EXPECT_EQ(L.create(&bad, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("acc_depth"), std::string::npos) << err;
  tern_hwcfg built;
  L.built_config(&built);
  EXPECT_EQ(built.rows, 4);
  EXPECT_EQ(built.acc_depth, cfg.acc_depth);
}

TEST(Rtl, TraceWritesFst) {
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);
  std::vector<uint8_t> dram = random_dram(DRAM_TEST, 12);
  std::string path = std::string(TERN_ROOT) + "/build/test_rtl_trace.fst";
  remove(path.c_str());
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  o.trace_path = path.c_str();
  std::vector<tern_insn> p = {ld(TERN_MEM_ACC, 0, 1, 1, 2, 0x100, 0, UN),
                              sync(TERN_Q_COMPUTE, PP | UN), st(TERN_MEM_ACC, 0, 1, 1, 2, 0x800, 0, PP),
                              end()};
  Result r = run_rtl(cfg, p, dram, &o);
  ASSERT_EQ(r.rc, 0) << r.err;
  struct stat sb;
  ASSERT_EQ(stat(path.c_str(), &sb), 0) << "no FST file at " << path;
  EXPECT_GT(sb.st_size, 200) << path;
  FILE *f = fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  int first = fgetc(f);
  fclose(f);
  EXPECT_EQ(first, 0) << "FST files start with a header block (type 0)";
  // the same run without tracing gives the same result
  Result r2 = run_rtl(cfg, p, dram);
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_EQ(diff(r, r2), "");
  remove(path.c_str());
  // an unwritable path is an error, not a crash
  o.trace_path = "/nonexistent-dir/x.fst";
  r = run_rtl(cfg, p, dram, &o);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.err.find("trace"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------- ISA v2
// Tokens by the sync pass (compiler/sync.c), then END.
std::vector<tern_insn> synced(const tern_hwcfg &cfg, const std::vector<tern_insn> &body) {
  tern_insn *o = nullptr;
  size_t n = 0;
  char err[512];
  if (tern_insert_sync(&cfg, body.data(), body.size(), &o, &n, err, sizeof err) != 0) {
    ADD_FAILURE() << "sync: " << err;
    return {end()};
  }
  std::vector<tern_insn> p(o, o + n);
  free(o);
  p.push_back(end());
  return p;
}

tern_insn mac8(int mode, int dst, int src1, int src2, int n, int rows, int src_rs) {
  return vec(TERN_VOP_MAC8, mode, dst, src1, src2, n, rows, 0, src_rs, 0, 0);
}

// MAC8 shapes around the lane count (K = 1, C-1, C, C+1, 2C+3, long), SRC_RS 0,
// both modes, saturation of MODE acc, B rows overlapping the stream; OUT loaded
// by LOAD OUT and LOAD OUT8, results stored from ACC.
TEST(Rtl, Mac8Shapes) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int C = cfg.cols;
    std::vector<uint8_t> dram = random_dram(DRAM_TEST, 31);
    for (int i = 0; i < 64; i++) dram[0x2000 + 7 * i] = (i & 1) ? 0x80 : 0x7f;  // extremes
    // ACC words 0..15 near the int32 limits for MODE acc
    for (int i = 0; i < 16 * C; i++) {
      int32_t v = (i % 3 == 0) ? INT32_MAX - (i % 7) : (i % 3 == 1) ? INT32_MIN + (i % 5) : i * 1000;
      memcpy(&dram[0x6000 + 4 * i], &v, 4);
    }
    std::vector<tern_insn> b = {
        ld(TERN_MEM_OUT, 0, 1, 1, 200, 0x2000, 0, 0),          // OUT words 0..199
        ld(TERN_MEM_OUT8, 200 * C + 5, 3, 9, 1, 0x3001, 5, 0),  // scattered bytes in words 200..
        ld(TERN_MEM_ACC, 0, 1, 1, 16, 0x6000, 0, 0),
    };
    struct Sh {
      int mode, dst, src1, src2, n, rows, src_rs;
    } sh[] = {
        {0, 20, 0, 150, 1, 1, 0},         {1, 21, 3, 151, 2, C - 1, 1},
        {0, 24, 10, 152, 3, C, 3},        {1, 0, 30, 160, 4, C + 1, 5},
        {1, 4, 50, 170, 2, 2 * C + 3, 0}, {0, 30, 1, 2, 5, 37, 4},
        {1, 8, 0, 200, 3, 9 * C + 1, 1},  {0, 40, 199, 201, 1, 60, 0},
        {1, 12, 100, 40, 4, 23, 2},
    };
    for (const Sh &m : sh) b.push_back(mac8(m.mode, m.dst, m.src1, m.src2, m.n, m.rows, m.src_rs));
    b.push_back(st(TERN_MEM_ACC, 0, 1, 1, 48, 0x8000, 0, 0));
    std::vector<tern_insn> p = synced(cfg, b);
    Result r = check_same(cfg, p, dram, "mac8 " + cfg_label(cfg));
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.cnt.v[TERN_CNT_VOP_MAC8] > 0, true);
    // one MAC8 by hand (independent of both simulators): word 20 = K=1 product
    for (int l = 0; l < C; l++) {
      int32_t got;
      memcpy(&got, &r.dram[0x8000 + 20 * 4 * C + 4 * l], 4);
      EXPECT_EQ(got, (int32_t)(int8_t)dram[0x2000 + 150 * C] * (int8_t)dram[0x2000 + l]) << l;
    }
  }
}

// OUT8: K-cache column scatter (STORE OUT8 x=1, DRAM stride ctx_pad), byte loads at
// every lane, OUT words stored back; plus LOAD OUT at every beat split.
TEST(Rtl, Out8AndLoadOut) {
  for (tern_hwcfg cfg : test_cfgs()) {
    for (int lat : {1, 5}) {
      cfg.dram_lat = lat;
      const int C = cfg.cols;
      std::vector<uint8_t> dram = random_dram(DRAM_TEST, 40 + lat);
      std::vector<tern_insn> b = {
          ld(TERN_MEM_OUT, 4, 2, 3, 2, 0x100, 40, 0),               // words 4,5 6,7 8,9 from 3 rows
          ld(TERN_MEM_OUT8, 3, 1, 2 * C + 1, 1, 0x400, 1, 0),        // bytes 3 .. 2C+3, one by one
          ld(TERN_MEM_OUT8, 4 * C + 1, C + 1, 5, 3, 0x500, 7, 0),    // rows of 3 bytes, odd strides
          st(TERN_MEM_OUT8, 4 * C + 2, 1, 2 * C, 1, 0x9003, 37, 0),  // one K column, ctx_pad 37
          st(TERN_MEM_OUT, 0, 1, 1, 12, 0xA000, 0, 0),
          st(TERN_MEM_OUT8, 5 * C - 1, 3, 4, 2, 0xB001, 3, 0),       // overlapping DRAM rows
      };
      std::vector<tern_insn> p = synced(cfg, b);
      Result r = check_same(cfg, p, dram, "out8 " + cfg_label(cfg) + " lat " + std::to_string(lat));
      ASSERT_EQ(r.rc, 0) << r.err;
      // the K column: byte j of the column = OUT byte 4C+2+j
      for (int j = 0; j < 2 * C; j++) {
        int ob = 4 * C + 2 + j;  // which load wrote it?
        EXPECT_EQ(r.dram[0x9003 + 37 * j], r.dram[0xA000 + ob]) << "column byte " << j;
      }
      EXPECT_EQ(r.cnt.v[TERN_CNT_OUT_WR], 6u + (uint64_t)(2 * C + 1) + 15u);
      EXPECT_EQ(r.cnt.v[TERN_CNT_OUT_RD], (uint64_t)(2 * C) + 12u + 8u);
    }
  }
}

// Sessions: program A leaves WBUF/ABUF/ACC/OUT/LUT contents, program B (no loads)
// computes from them.  The RTL session and the ISA-simulator session agree on DRAM
// and every counter after each run, and B's result equals A+B as one program.
TEST(Rtl, SessionsKeepSram) {
  for (const tern_hwcfg &cfg : test_cfgs()) {
    const int R = cfg.rows, C = cfg.cols;
    std::vector<uint8_t> dram = random_dram(DRAM_TEST, 77);
    fill_codes(dram, 0x1000, 3 * (size_t)R * C / 4, 78);
    fill_i32(dram, 0x3000, 64 * C, 79, -100000, 100000);
    std::vector<tern_insn> a = {
        ld(TERN_MEM_WBUF, 2, 1, 1, 3, 0x1000, 0, 0),
        ld(TERN_MEM_ABUF, 0, 1, 1, 8, 0x2000, 0, 0),
        ld(TERN_MEM_ACC, 0, 1, 1, 64, 0x3000, 0, 0),
        ld(TERN_MEM_OUT, 10, 1, 1, 40, 0x5000, 0, 0),
        vec(TERN_VOP_LUTLD, 0, 0, 0, 0, 256 / C, 1, 0, 0, 0, 0),
    };
    std::vector<tern_insn> b = {
        gemm(2, 0, 100, 4, 1, 1, 1, 0),
        gemm(3, 4, 100, 4, 1, 1, 0, 0),
        gemm(4, 1, 3, 3, 2, 1, 0, 0),
        vec(TERN_VOP_MAC8, 1, 40, 10, 30, 3, 2 * C + 1, 0, 1, 0, 0),
        vec(TERN_VOP_LUT, 0, 110, 0, 0, 4, 1, 0, 0, 10, 0),
        vec(TERN_VOP_QUANT, TERN_VMODE_CONST, 60, 0, 1, 4, 1, 4, 4, 18, 0),
        st(TERN_MEM_ACC, 0, 1, 1, 120, 0x8000, 0, 0),
        st(TERN_MEM_OUT8, 10 * C, 1, 50 * C, 1, 0xC000, 1, 0),
        st(TERN_MEM_OUT8, 60 * C, 1, 4 * C, 1, 0xD000, 1, 0),
    };
    std::vector<tern_insn> ab = a;
    ab.insert(ab.end(), b.begin(), b.end());
    std::vector<tern_insn> pa = synced(cfg, a), pb = synced(cfg, b), pab = synced(cfg, ab);
    Result one = run_isa(cfg, pab, dram);
    ASSERT_EQ(one.rc, 0) << one.err;
    char err[1024] = "";
    tern_session *si = tern_session_open("isa", &cfg, err, sizeof err);
    ASSERT_NE(si, nullptr) << err;
    tern_session *sr = tern_session_open("rtl", &cfg, err, sizeof err);
    ASSERT_NE(sr, nullptr) << err;
    Result ri, rr;
    ri.dram = rr.dram = dram;
    const std::vector<tern_insn> *progs[] = {&pa, &pb, &pb};
    for (int k = 0; k < 3; k++) {
      const std::vector<tern_insn> &p = *progs[k];
      ri.rc = tern_session_run(si, p.data(), p.size(), ri.dram.data(), ri.dram.size(), nullptr,
                               &ri.cnt, err, sizeof err);
      ASSERT_EQ(ri.rc, 0) << err;
      rr.rc = tern_session_run(sr, p.data(), p.size(), rr.dram.data(), rr.dram.size(), nullptr,
                               &rr.cnt, err, sizeof err);
      ASSERT_EQ(rr.rc, 0) << err;
      EXPECT_EQ(diff(ri, rr), "") << cfg_label(cfg) << " run " << k;
      if (k == 1) {
        EXPECT_TRUE(rr.dram == one.dram) << cfg_label(cfg) << ": A then B differs from A+B";
        EXPECT_EQ(rr.cnt.v[TERN_CNT_DRAM_RD_BYTES], 0u);
      }
    }
    // a traced run on the kept model, then an untraced one: same results
    std::string path = std::string(TERN_ROOT) + "/build/test_rtl_session_" + cfg_label(cfg) + ".fst";
    tern_run_opts o;
    memset(&o, 0, sizeof o);
    o.trace_path = path.c_str();
    Result t1 = rr, t2 = rr;
    ASSERT_EQ(tern_session_run(sr, pb.data(), pb.size(), t1.dram.data(), t1.dram.size(), &o,
                               &t1.cnt, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_session_run(sr, pb.data(), pb.size(), t2.dram.data(), t2.dram.size(), nullptr,
                               &t2.cnt, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_session_run(si, pb.data(), pb.size(), ri.dram.data(), ri.dram.size(), nullptr,
                               &ri.cnt, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_session_run(si, pb.data(), pb.size(), ri.dram.data(), ri.dram.size(), nullptr,
                               &ri.cnt, err, sizeof err), 0) << err;
    EXPECT_EQ(diff(ri, t2), "") << cfg_label(cfg) << " after a traced run";
    struct stat sb;
    EXPECT_EQ(stat(path.c_str(), &sb), 0) << path;
    remove(path.c_str());
    tern_session_close(si);
    tern_session_close(sr);
  }
}

// ---------------------------------------------------------------- random programs
// Seeds (tests/fuzz_seed.h): fixed in `make test`, fresh in `make fuzz`,
// TERN_FUZZ_SEED replays.  Program i of a run has the seed (run seed + i) and
// depends on nothing else, so one program replays alone with
// TERN_FUZZ_SEED=<its seed> TERN_FUZZ_COUNT=1.  A mismatch or crash saves the
// program (.tbin, plus hwcfg.txt with what the .tbin does not hold) under
// build/fuzz-repro/; tests/regress/rtl/ holds the ones kept (RtlRegress.Corpus).

// The overrides a .tbin does not carry (its header has the buffers, bandwidth
// and DRAM latency), as tern_hwcfg_set lines.
std::string hwcfg_extra(const tern_hwcfg &cfg) {
  return "psum_bits=" + std::to_string(tern_hwcfg_psum_bits(&cfg)) + "\n";
}

std::string rtl_name(const tern_hwcfg &cfg) {
  char n[256];
  tern_hwcfg_rtl_name(&cfg, n, sizeof n);
  return n;
}

double now_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Pairs (triples) of random programs back to back in one session: the second
// and third programs read whatever SRAM (and LUT) contents the previous ones
// left.  RTL and ISA sessions agree.  Program k of pair p has the seed
// (run seed + 10 p + k).
TEST(RtlRandom, SessionPairs) {
  tern_test::FuzzCase fc(7000, 12, 400, "session pairs per configuration", "rtl");
  const std::string tmp = tern_test::FuzzTmpPath("session");
  long failures = 0;
  for (const tern_hwcfg &cfg0 : test_cfgs()) {
    char err[1024] = "";
    for (long pair = 0; pair < fc.count() && failures == 0; pair++) {
      tern_hwcfg cfg = cfg0;
      cfg.dram_lat = 1 + (int)(pair % 7);
      tern_program prog[3];
      std::string path[3];
      for (int k = 0; k < 3; k++) {
        uint64_t seed = fc.seed() + (uint64_t)pair * 10 + (uint64_t)k;
        ASSERT_EQ(tern_random_program(&cfg, seed, 40, &prog[k], err, sizeof err), 0) << err;
        path[k] = tmp + "_" + std::to_string(k) + ".tbin";
        ASSERT_EQ(tern_program_write(&prog[k], path[k].c_str(), err, sizeof err), 0) << err;
      }
      const std::string extra = hwcfg_extra(cfg);
      fc.Input(pair, {tern_test::File("0.tbin", path[0]), tern_test::File("1.tbin", path[1]),
                      tern_test::File("2.tbin", path[2]), tern_test::Bytes("hwcfg.txt", extra)});
      tern_session *si = tern_session_open("isa", &cfg, err, sizeof err);
      ASSERT_NE(si, nullptr) << err;
      tern_session *sr = tern_session_open("rtl", &cfg, err, sizeof err);
      ASSERT_NE(sr, nullptr) << err;
      Result ri, rr;
      ri.dram.assign(prog[0].dram_size, 0);
      ASSERT_EQ(tern_program_init_dram(&prog[0], ri.dram.data(), ri.dram.size(), err, sizeof err), 0) << err;
      rr.dram = ri.dram;
      for (int k = 0; k < 3; k++) {
        const tern_program &pk = prog[k];
        ri.rc = tern_session_run(si, pk.insns, pk.n_insns, ri.dram.data(), ri.dram.size(),
                                 nullptr, &ri.cnt, err, sizeof err);
        EXPECT_EQ(ri.rc, 0) << err;
        rr.rc = tern_session_run(sr, pk.insns, pk.n_insns, rr.dram.data(), rr.dram.size(),
                                 nullptr, &rr.cnt, err, sizeof err);
        EXPECT_EQ(rr.rc, 0) << err;
        EXPECT_EQ(diff(ri, rr), "") << cfg_label(cfg) << " pair " << pair << " program " << k
                                    << " (seed " << tern_test::Hex64(fc.seed() + (uint64_t)pair * 10 + (uint64_t)k)
                                    << ")";
        if (::testing::Test::HasFailure()) break;
      }
      tern_session_close(si);
      tern_session_close(sr);
      for (tern_program &pk : prog) tern_program_free(&pk);
      if (fc.Failed(rtl_name(cfg) + ", session pair " + std::to_string(pair))) failures++;
    }
  }
  for (int k = 0; k < 3; k++) remove((tmp + "_" + std::to_string(k) + ".tbin").c_str());
}

// Random valid programs from tern_random_program on one RTL configuration.
// Prints one line: configuration, programs, mismatches, instructions, cycles,
// wall time, seed (scripts/fuzz.sh adds them up).
void random_programs(const tern_hwcfg &cfg0, uint64_t fixed_seed, long normal, long long_count) {
  tern_test::FuzzCase fc(fixed_seed, normal, long_count, "programs", "rtl");
  const std::string tbin = tern_test::FuzzTmpPath("program.tbin"), extra = hwcfg_extra(cfg0);
  long failures = 0, ran = 0;
  size_t total_insns = 0;
  uint64_t total_cycles = 0;
  const double t0 = now_s();
  for (long i = 0; i < fc.count() && failures < 3; i++) {
    tern_hwcfg cfg = cfg0;
    const uint64_t seed = fc.seed() + (uint64_t)i;
    cfg.dram_lat = 1 + (int)(seed % 13);
    tern_program prog;
    tern_program_init(&prog);
    char err[1024] = "";
    int n_insns = 8 + (int)(seed * 7 % 64);
    const std::string label = "random " + cfg_label(cfg) + " program " + std::to_string(i) +
                              " seed " + tern_test::Hex64(seed) + " lat " +
                              std::to_string(cfg.dram_lat) + " (alone: TERN_FUZZ_SEED=" +
                              tern_test::Hex64(seed) + " TERN_FUZZ_COUNT=1 build/tern_tests --gtest_filter=" +
                              fc.test() + ")";
    if (tern_random_program(&cfg, seed, n_insns, &prog, err, sizeof err) != 0) {
      ADD_FAILURE() << label << ": tern_random_program: " << err;
      tern_program_free(&prog);
      failures++;
      continue;
    }
    uint64_t bytes = prog.dram_size ? prog.dram_size : 4096;
    bytes = (bytes + 4095) & ~(uint64_t)4095;
    std::vector<uint8_t> dram(bytes, 0);
    if (tern_program_init_dram(&prog, dram.data(), bytes, err, sizeof err) != 0) {
      ADD_FAILURE() << label << ": init dram: " << err;
      tern_program_free(&prog);
      failures++;
      continue;
    }
    // the program as a file before the run: what a crash or a mismatch saves
    ASSERT_EQ(tern_program_write(&prog, tbin.c_str(), err, sizeof err), 0) << err;
    fc.Input(i, {tern_test::File("program.tbin", tbin), tern_test::Bytes("hwcfg.txt", extra)});
    std::vector<tern_insn> p(prog.insns, prog.insns + prog.n_insns);
    total_insns += p.size();
    Result r = check_same(cfg, p, dram, label);
    tern_program_free(&prog);
    if (fc.Failed(label)) failures++;
    total_cycles += r.cnt.v[TERN_CNT_CYCLES];
    ran++;
  }
  remove(tbin.c_str());
  printf("[ rtl      ] %s %s: %ld random programs, %ld mismatches, %zu instructions, %llu cycles "
         "compared, %.1f s, seed %s\n",
         cfg_label(cfg0).c_str(), rtl_name(cfg0).c_str(), ran, failures, total_insns,
         (unsigned long long)total_cycles, now_s() - t0, tern_test::Hex64(fc.seed()).c_str());
}

// Counts: make test / make fuzz.  scripts/fuzz.sh runs these, the mutation
// fuzzers and Sync.Random* in two processes: 144,000 programs RTL vs ISA in
// 7.5 minutes on 2 cores (16x16 ~31 ms a program, 8x8 ~3-4 ms, 4x4 ~2-3 ms).
TEST(RtlRandom, Programs4x4) { random_programs(tern_hwcfg_small(4, 4), 1000, 400, 50000); }
TEST(RtlRandom, Programs8x8) { random_programs(tern_hwcfg_small(8, 8), 50000, 300, 35000); }
// the narrowest exact partial sums (psum_bits 9 + log2(rows)) give the same bits and cycles
TEST(RtlRandom, Programs4x4NarrowPartialSums) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  c.psum_bits = tern_hwcfg_psum_min(4);
  random_programs(c, 90000, 150, 30000);
}
TEST(RtlRandom, Programs8x8NarrowPartialSums) {
  tern_hwcfg c = tern_hwcfg_small(8, 8);
  c.psum_bits = tern_hwcfg_psum_min(8);
  random_programs(c, 130000, 100, 25000);
}
// The default 16x16 configuration: make fuzz only (its library is built by
// make fuzz and make demo, not by make test).
TEST(RtlRandom, Programs16x16) { random_programs(tern_hwcfg_default(), 170000, 0, 4000); }

// ---------------------------------------------------------------- regression corpus
// tests/regress/rtl/<case>/: one or more .tbin files run in name order on one
// RTL session and one ISA-simulator session (the SRAMs carry over; DRAM is
// the first program's image, then whatever the runs leave), with the
// overrides of an optional hwcfg.txt (tern_hwcfg_set lines, e.g.
// psum_bits=11) on the first program's configuration.  DRAM and every counter
// must agree after every program.  A reproducer from build/fuzz-repro/
// becomes a case by copying its directory here.
TEST(RtlRegress, Corpus) {
  std::vector<tern_test::RegressCase> cases = tern_test::RegressCases("rtl");
  EXPECT_GE(cases.size(), 1u) << "tests/regress/rtl/ holds at least the hand-made case";
  int programs = 0;
  for (const tern_test::RegressCase &c : cases) {
    SCOPED_TRACE(c.dir);
    std::vector<tern_program> progs;
    char err[1024] = "";
    for (const auto &part : c.parts) {
      const std::string &n = part.first;
      if (n.size() < 5 || n.compare(n.size() - 5, 5, ".tbin") != 0) continue;
      progs.emplace_back();
      ASSERT_EQ(tern_program_read(&progs.back(), (c.dir + "/" + n).c_str(), err, sizeof err), 0) << err;
    }
    ASSERT_FALSE(progs.empty()) << "no .tbin in " << c.dir;
    tern_hwcfg cfg = progs[0].cfg;
    if (const std::string *x = c.Part("hwcfg.txt")) {
      size_t a = 0;
      while (a < x->size()) {
        size_t b = x->find('\n', a);
        if (b == std::string::npos) b = x->size();
        std::string line = x->substr(a, b - a);
        a = b + 1;
        size_t eq = line.find('=');
        if (line.empty() || line[0] == '#') continue;
        ASSERT_NE(eq, std::string::npos) << "hwcfg.txt: '" << line << "', expected key=value";
        ASSERT_EQ(tern_hwcfg_set(&cfg, line.substr(0, eq).c_str(), line.substr(eq + 1).c_str(), err,
                                 sizeof err), 0)
            << "hwcfg.txt: " << err;
      }
    }
    uint64_t bytes = 4096;
    for (const tern_program &p : progs) bytes = std::max<uint64_t>(bytes, p.dram_size);
    bytes = (bytes + 4095) & ~(uint64_t)4095;
    Result ri, rr;
    ri.dram.assign(bytes, 0);
    ASSERT_EQ(tern_program_init_dram(&progs[0], ri.dram.data(), bytes, err, sizeof err), 0) << err;
    rr.dram = ri.dram;
    tern_session *si = tern_session_open("isa", &cfg, err, sizeof err);
    ASSERT_NE(si, nullptr) << err;
    tern_session *sr = tern_session_open("rtl", &cfg, err, sizeof err);
    ASSERT_NE(sr, nullptr) << err;
    for (size_t k = 0; k < progs.size(); k++) {
      const tern_program &p = progs[k];
      EXPECT_EQ(tern_validate(&cfg, p.insns, p.n_insns, bytes, err, sizeof err), 0)
          << "program " << k << ": " << err;
      ri.rc = tern_session_run(si, p.insns, p.n_insns, ri.dram.data(), bytes, nullptr, &ri.cnt, err,
                               sizeof err);
      EXPECT_EQ(ri.rc, 0) << "program " << k << " isasim: " << err;
      rr.rc = tern_session_run(sr, p.insns, p.n_insns, rr.dram.data(), bytes, nullptr, &rr.cnt, err,
                               sizeof err);
      EXPECT_EQ(rr.rc, 0) << "program " << k << " rtl: " << err;
      EXPECT_EQ(diff(ri, rr), "") << "program " << k << " (" << rtl_name(cfg) << ")";
      EXPECT_GT(rr.cnt.v[TERN_CNT_CYCLES], 0u);
      programs++;
    }
    tern_session_close(si);
    tern_session_close(sr);
    printf("[ regress  ] %s: %zu program(s) on %s, dram_lat %d\n", c.dir.c_str(), progs.size(),
           rtl_name(cfg).c_str(), cfg.dram_lat);
    for (tern_program &p : progs) tern_program_free(&p);
  }
  printf("[ regress  ] %zu case(s), %d programs: RTL == ISA simulator\n", cases.size(), programs);
}

}  // namespace
