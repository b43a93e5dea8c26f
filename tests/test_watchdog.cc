// The watchdog (docs/ISA.md "Watchdog", issue 12 item 2): progress is any
// unit's activity, the same on the ISA simulator and the RTL; a valid
// program has no cycle without progress, however long it runs or however
// long DRAM takes; a deadlock is reported after TERN_WATCHDOG_DEFAULT cycles
// with the same words on both backends (the waiting unit, the queue state,
// the instruction); --watchdog / --max-cycles are run options of every
// command that runs programs.
//
// The RTL libraries: the 4x4 test configuration (make rtl-test-libs) and the
// default 16x16 one (make rtl-default-lib); `make test` builds both.
#include <gtest/gtest.h>

#include "run_cmd.h"
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compare.h"
#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/program.h"
#include "tern/runtime.h"
#include "tern/sweep.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

struct Outcome {
  int rc = -1;
  std::string err;  // without the backend's prefix ("isasim: ", "RTL: run failed: ")
  tern_counters cnt{};
  std::vector<uint8_t> dram;
  double ms = 0;    // wall clock of tern_session_open + tern_session_run
};

std::vector<tern_insn> assemble(const std::string &text) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[1024] = "";
  if (tern_asm_text(text.c_str(), "watchdog.s", &v, &n, err, sizeof err) != 0) {
    ADD_FAILURE() << "asm: " << err << "\n" << text;
    return {};
  }
  std::vector<tern_insn> p(v, v + n);
  free(v);
  return p;
}

std::string strip_prefix(std::string e) {
  for (const char *p : {"RTL: run failed: ", "isasim: "})
    if (e.compare(0, strlen(p), p) == 0) e = e.substr(strlen(p));
  return e;
}

Outcome run(const char *backend, const tern_hwcfg &cfg, const std::vector<tern_insn> &prog,
        std::vector<uint8_t> dram, const tern_run_opts *opts = nullptr) {
  Outcome r;
  r.dram = std::move(dram);
  char err[2048] = "";
  auto t0 = std::chrono::steady_clock::now();
  tern_session *s = tern_session_open(backend, &cfg, err, sizeof err);
  if (!s) {
    r.err = std::string("session: ") + err;
    return r;
  }
  r.rc = tern_session_run(s, prog.data(), prog.size(), r.dram.data(), r.dram.size(), opts,
                          &r.cnt, err, sizeof err);
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  tern_session_close(s);
  if (r.rc != 0) r.err = strip_prefix(err);
  return r;
}

// Both backends: both succeed and agree on every counter and every DRAM byte.
void expect_same(const Outcome &isa, const Outcome &rtl, const std::string &label) {
  ASSERT_EQ(isa.rc, 0) << label << ": isa: " << isa.err;
  ASSERT_EQ(rtl.rc, 0) << label << ": rtl: " << rtl.err;
  for (int i = 0; i < TERN_NCOUNTERS; i++)
    EXPECT_EQ(isa.cnt.v[i], rtl.cnt.v[i]) << label << ": counter " << tern_counter_name(i);
  EXPECT_TRUE(isa.dram == rtl.dram) << label << ": DRAM differs";
}

tern_run_opts opts(uint64_t watchdog, uint64_t max_cycles = 0) {
  tern_run_opts o;
  memset(&o, 0, sizeof o);
  o.watchdog = watchdog;
  o.max_cycles = max_cycles;
  return o;
}

// "(cycles A..B)" of a watchdog report
bool report_window(const std::string &e, uint64_t *a, uint64_t *b) {
  size_t p = e.find("(cycles ");
  unsigned long long x, y;
  if (p == std::string::npos || sscanf(e.c_str() + p, "(cycles %llu..%llu)", &x, &y) != 2)
    return false;
  *a = x;
  *b = y;
  return true;
}


}  // namespace

// The first case: a valid single LOAD of 65535 x 256 words (16.8 M
// cycles of DMA with no instruction event after its start) was killed by the
// 1 M-cycle watchdog on both backends.  Every cycle of it has a beat request
// or beats in DRAM latency: it runs to the end, cycle-exact between the two.
TEST(Watchdog, LongLoadIsNotKilledOnEitherBackend) {
  const std::string text = "load mem=abuf sram=0 sstride=0 y=65535 x=256 dram=0 dstride=0\nend\n";
  // 4x4: ABUF word 4 bytes, beat min(dram_bw 4, 4) = 4, B = 65535 * 256 beats;
  // LOAD D = 1 + B + lat, the program LOAD, END takes 1 + D cycles (docs/ISA.md)
  tern_hwcfg c4 = tern_hwcfg_small(4, 4);
  std::vector<tern_insn> p = assemble(text);
  std::vector<uint8_t> dram(4096);
  for (size_t i = 0; i < dram.size(); i++) dram[i] = (uint8_t)(i * 7 + 3);
  char err[1024];
  ASSERT_EQ(tern_validate(&c4, p.data(), p.size(), dram.size(), err, sizeof err), 0) << err;
  const uint64_t B = 65535ull * 256;
  Outcome isa = run("isa", c4, p, dram);
  ASSERT_EQ(isa.rc, 0) << isa.err;
  EXPECT_EQ(isa.cnt.v[TERN_CNT_CYCLES], 2 + B + (uint64_t)c4.dram_lat);
  EXPECT_EQ(isa.cnt.v[TERN_CNT_ABUF_WR], B);
  Outcome rtl = run("rtl", c4, p, dram);
  expect_same(isa, rtl, "4x4 LOAD of 65535 x 256 words");
  printf("[ info ] 4x4 LOAD of 65535 x 256 words: %llu cycles, RTL %.1f s\n",
         (unsigned long long)rtl.cnt.v[TERN_CNT_CYCLES], rtl.ms / 1e3);
  // the default 16x16 configuration on the ISA simulator (the same B: ABUF word 16 bytes,
  // beat 16); the RTL at 16x16 would take ~minutes for 16.8 M cycles
  tern_hwcfg c16 = tern_hwcfg_default();
  Outcome big = run("isa", c16, p, dram);
  ASSERT_EQ(big.rc, 0) << big.err;
  EXPECT_EQ(big.cnt.v[TERN_CNT_CYCLES], 2 + B + (uint64_t)c16.dram_lat);
}

// The second case: dram_lat above 10^6 (every LOAD waits that long
// with nothing but outstanding DRAM requests) was killed on the ISA
// simulator by the watchdog and refused by the RTL library (1..100000).
TEST(Watchdog, DramLatencyAboveOneMillionRuns) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  c.dram_lat = 2000000;
  char err[1024];
  ASSERT_EQ(tern_hwcfg_check(&c, err, sizeof err), 0) << err;
  std::vector<tern_insn> p = assemble(
      "load mem=acc sram=0 y=1 x=2 dram=0 push_next\n"
      "sync q=compute pop_prev push_next\n"
      "store mem=acc sram=0 y=1 x=2 dram=0x200 pop_prev\n"
      "end\n");
  std::vector<uint8_t> dram(4096);
  for (size_t i = 0; i < 128; i++) dram[i] = (uint8_t)(i * 13 + 1);
  Outcome isa = run("isa", c, p, dram);
  Outcome rtl = run("rtl", c, p, dram);
  expect_same(isa, rtl, "dram_lat 2000000");
  // LOAD: 4x4 ACC word = 16 bytes = 4 beats, 2 words: B = 8, D = 1 + 8 + 2e6
  EXPECT_GT(isa.cnt.v[TERN_CNT_CYCLES], 2000009u);
  EXPECT_EQ(0, memcmp(isa.dram.data() + 0x200, dram.data(), 32)) << "LOAD then STORE copies 32 bytes";
  printf("[ info ] dram_lat 2000000: %llu cycles, RTL %.1f s\n",
         (unsigned long long)rtl.cnt.v[TERN_CNT_CYCLES], rtl.ms / 1e3);
  // the range is checked, naming the field and the range
  c.dram_lat = TERN_HW_DRAM_LAT_MAX + 1;
  EXPECT_EQ(tern_hwcfg_check(&c, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("dram_lat = 16777217, expected 1..16777216"), std::string::npos)
      << err;
}

// Acceptance: a deadlock on the default 16x16 RTL is reported within 1 s of
// wall time (measured here with a steady clock: opening the RTL library,
// constructing the model, reset, loading IMEM and simulating until the
// watchdog fires), after exactly TERN_WATCHDOG_DEFAULT cycles without
// progress, naming the waiting unit, the queue state and the instruction,
// in the same words as the ISA simulator.
TEST(Watchdog, DeadlockOn16x16ReportedWithinOneSecond) {
  tern_hwcfg c = tern_hwcfg_default();
  // compute waits for an L2C token that the load queue never pushes
  std::vector<tern_insn> p = assemble(
      "load mem=acc sram=0 y=1 x=1 dram=0\n"
      "sync q=compute pop_prev\n"
      "end\n");
  std::vector<uint8_t> dram(4096, 0);
  Outcome rtl = run("rtl", c, p, dram);
  ASSERT_EQ(rtl.rc, -1);
  printf("[ info ] 16x16 RTL deadlock reported after %.1f ms: %s\n", rtl.ms, rtl.err.c_str());
  uint64_t a = 0, b = 0;
  ASSERT_TRUE(report_window(rtl.err, &a, &b)) << rtl.err;
  EXPECT_EQ(b - a + 1, (uint64_t)TERN_WATCHDOG_DEFAULT) << rtl.err;
  EXPECT_LT(rtl.ms, 1000.0) << "the deadlock took " << rtl.ms << " ms to report";
  EXPECT_EQ(rtl.err.find("watchdog: no progress for 4096 cycles"), 0u) << rtl.err;
  EXPECT_NE(rtl.err.find("compute queue waits at pc 1 (SYNC) on token L2C = 0"), std::string::npos)
      << rtl.err;
  EXPECT_NE(rtl.err.find("load queue empty"), std::string::npos) << rtl.err;
  EXPECT_NE(rtl.err.find("fetch finished"), std::string::npos) << rtl.err;
  Outcome isa = run("isa", c, p, dram);
  ASSERT_EQ(isa.rc, -1);
  EXPECT_EQ(isa.err, rtl.err);
  // the window starts in the first cycle without progress: the LOAD (D = 1 + 64/16 + 32 = 37
  // cycles from its start in cycle 1) finishes in cycle 37, nothing moves from cycle 38 on
  EXPECT_EQ(a, 38u) << rtl.err;
}

// The report names the waiting unit, the queue state and the instruction in
// the same words on both backends, for each way a machine can hang.
TEST(Watchdog, HangReportIsTheSameOnBothBackends) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);  // qdepth 4
  struct Case {
    const char *what, *text;
    std::vector<std::string> expect;
  } cases[] = {
      {"compute waits for L2C",
       "load mem=acc sram=0 y=1 x=1 dram=0\nsync q=compute pop_prev\nend\n",
       {"compute queue waits at pc 1 (SYNC) on token L2C = 0", "load queue empty",
        "store queue empty", "fetch finished", "tokens L2C=0 C2L=0 C2S=0 S2C=0"}},
      {"store waits for C2S", "store mem=out sram=0 y=1 x=1 dram=0 pop_prev\nend\n",
       {"store queue waits at pc 0 (STORE) on token C2S = 0", "compute queue empty"}},
      {"GEMM waits for two tokens", "gemm w=0 a=0 acc=0 m=1 reset pop_prev pop_next\nend\n",
       {"compute queue waits at pc 0 (GEMM) on tokens L2C = 0, S2C = 0"}},
      {"fetch blocked behind a full FIFO",
       "load mem=abuf y=1 x=1 pop_next\nload mem=abuf y=1 x=1\nload mem=abuf y=1 x=1\n"
       "load mem=abuf y=1 x=1\nload mem=abuf y=1 x=1\nsync q=compute push_prev\nend\n",
       {"load queue waits at pc 0 (LOAD) on token C2L = 0",
        "fetch blocked at pc 4 (LOAD, load FIFO full: 4 of 4)"}},
      {"VEC after a GEMM: the array drains (progress), then VEC waits for L2C",
       "gemm w=0 a=0 acc=0 m=3 reset\n"
       "vec op=add mode=const dst=8 src1=8 src2=20 n=1 rows=1 dst_rs=1 src_rs=1 pop_prev\nend\n",
       {"compute queue waits at pc 1 (VEC) on token L2C = 0"}},
      {"a STORE runs, the next waits for C2S",
       "store mem=acc sram=0 y=1 x=4 dram=0x100\nstore mem=acc sram=0 y=1 x=1 dram=0x200 pop_prev\n"
       "end\n",
       {"store queue waits at pc 1 (STORE) on token C2S = 0"}},
      {"a token pushed, the wrong one popped",
       "sync q=load push_next\nsync q=compute pop_prev push_next\nsync q=compute pop_prev\nend\n",
       {"compute queue waits at pc 2 (SYNC) on token L2C = 0", "tokens L2C=0 C2L=0 C2S=1 S2C=0"}},
  };
  tern_run_opts o = opts(100);
  for (const Case &k : cases) {
    std::vector<tern_insn> p = assemble(k.text);
    std::vector<uint8_t> dram(4096, 0);
    char err[1024];
    ASSERT_EQ(tern_validate(&c, p.data(), p.size(), dram.size(), err, sizeof err), 0)
        << k.what << ": " << err;
    Outcome isa = run("isa", c, p, dram, &o);
    Outcome rtl = run("rtl", c, p, dram, &o);
    ASSERT_EQ(isa.rc, -1) << k.what;
    ASSERT_EQ(rtl.rc, -1) << k.what << ": " << rtl.err;
    EXPECT_EQ(isa.err, rtl.err) << k.what;
    EXPECT_EQ(rtl.err.find("watchdog: no progress for 100 cycles (cycles "), 0u) << rtl.err;
    EXPECT_NE(rtl.err.find("a deadlock"), std::string::npos) << rtl.err;
    for (const std::string &e : k.expect)
      EXPECT_NE(rtl.err.find(e), std::string::npos) << k.what << ": '" << e << "' not in\n" << rtl.err;
    uint64_t a, b;
    ASSERT_TRUE(report_window(rtl.err, &a, &b)) << rtl.err;
    EXPECT_EQ(b - a + 1, 100u);
  }
}

// A valid program has no cycle without progress (docs/ISA.md "Watchdog"):
// with --watchdog 1 a compiled MLP (loads, GEMMs, vector ops and stores
// overlapping under dependency tokens) runs bit-exact on both backends.
TEST(Watchdog, ValidProgramsRunWithAWatchdogOfOneCycle) {
  for (const char *be : {"isa", "rtl"}) {
    tern_run_config rc;
    tern_run_config_default(&rc);
    rc.backend = be;
    rc.hw = tern_hwcfg_small(4, 4);
    rc.model.d = 16;
    rc.model.f = 32;
    rc.model.layers = 1;
    rc.tokens = 3;
    rc.limits.watchdog = 1;
    tern_run_result *res = new tern_run_result;
    char err[2048] = "";
    ASSERT_EQ(tern_run(&rc, res, err, sizeof err), 0) << be << ": " << err;
    EXPECT_TRUE(res->bit_exact) << be;
    delete res;
  }
}

// max_cycles, the separate overall limit, on both backends: a deadlock hits
// it when it comes before the watchdog; a valid program needs its exact
// cycle count.
TEST(Watchdog, MaxCyclesOnBothBackends) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  std::vector<uint8_t> dram(4096, 0);
  std::vector<tern_insn> dead = assemble("load mem=acc sram=0 y=1 x=1 dram=0\nsync q=compute pop_prev\nend\n");
  std::vector<tern_insn> ok = assemble("load mem=abuf y=1 x=2\nend\n");  // 1 + (1 + 2 + 8) = 12 cycles
  for (const char *be : {"isa", "rtl"}) {
    tern_run_opts o = opts(1000, 300);
    Outcome r = run(be, c, dead, dram, &o);
    EXPECT_EQ(r.rc, -1) << be;
    EXPECT_NE(r.err.find("max_cycles"), std::string::npos) << be << ": " << r.err;
    EXPECT_EQ(r.err.find("watchdog"), std::string::npos) << be << ": " << r.err;
    o = opts(0, 11);
    r = run(be, c, ok, dram, &o);
    EXPECT_EQ(r.rc, -1) << be;
    EXPECT_NE(r.err.find("max_cycles"), std::string::npos) << be << ": " << r.err;
    o = opts(0, 12);
    r = run(be, c, ok, dram, &o);
    EXPECT_EQ(r.rc, 0) << be << ": " << r.err;
    EXPECT_EQ(r.cnt.v[TERN_CNT_CYCLES], 12u) << be;
  }
}

// --watchdog / --max-cycles: decimal cycles in a range, every bad value
// refused with a message naming the flag, the value and the range.
TEST(Watchdog, RunOptionFlagsParse) {
  tern_run_opts o = opts(0);
  char err[512];
  ASSERT_EQ(tern_run_opts_flag(&o, "--watchdog", "4096", err, sizeof err), 0) << err;
  EXPECT_EQ(o.watchdog, 4096u);
  ASSERT_EQ(tern_run_opts_flag(&o, "--watchdog", "1000000000000", err, sizeof err), 0) << err;
  EXPECT_EQ(o.watchdog, 1000000000000ull);
  ASSERT_EQ(tern_run_opts_flag(&o, "--max-cycles", "1000000000000000", err, sizeof err), 0) << err;
  EXPECT_EQ(o.max_cycles, 1000000000000000ull);
  ASSERT_EQ(tern_run_opts_flag(&o, "--max-cycles", "1", err, sizeof err), 0) << err;
  EXPECT_EQ(o.max_cycles, 1u);
  for (const char *bad : {"0", "", "-1", "+5", " 5", "5 ", "1e6", "0x10", "4k", "abc", "1000000000001",
                          "18446744073709551615", "18446744073709551616",
                          "99999999999999999999999999999"}) {
    tern_run_opts before = o;
    EXPECT_EQ(tern_run_opts_flag(&o, "--watchdog", bad, err, sizeof err), -1) << "'" << bad << "'";
    EXPECT_EQ(std::string(err), std::string("--watchdog: '") + bad +
                                     "', expected a number of cycles in 1..1000000000000 (10^12)");
    EXPECT_EQ(o.watchdog, before.watchdog);
  }
  EXPECT_EQ(tern_run_opts_flag(&o, "--max-cycles", "1000000000000001", err, sizeof err), -1);
  EXPECT_STREQ(err, "--max-cycles: '1000000000000001', expected a number of cycles in "
                    "1..1000000000000000 (10^15)");
  EXPECT_EQ(tern_run_opts_flag(&o, "--max-cycles", nullptr, err, sizeof err), -1);
  EXPECT_EQ(tern_run_opts_flag(&o, "--watchdogs", "5", err, sizeof err), -1);
  EXPECT_TRUE(tern_run_opts_is_flag("--watchdog"));
  EXPECT_FALSE(tern_run_opts_is_flag("--watch"));

  // every command that runs programs takes them (tern_cli_parse, compare, sweep)
  auto cli = [&](std::vector<const char *> args, tern_cli *out) {
    args.insert(args.begin(), "tern");
    return tern_cli_parse((int)args.size(), (char **)args.data(), out, err, sizeof err);
  };
  tern_cli cl;
  ASSERT_EQ(cli({"run", "--watchdog", "77", "--max-cycles=88"}, &cl), 0) << err;
  EXPECT_EQ(cl.run.limits.watchdog, 77u);
  EXPECT_EQ(cl.run.limits.max_cycles, 88u);
  ASSERT_EQ(cli({"exec", "p.tbin", "--watchdog=5"}, &cl), 0) << err;
  EXPECT_EQ(cl.run.limits.watchdog, 5u);
  ASSERT_EQ(cli({"bench-gemm", "--M", "1", "--K", "4", "--N", "4", "--max-cycles", "9"}, &cl), 0)
      << err;
  EXPECT_EQ(cl.run.limits.max_cycles, 9u);
  ASSERT_EQ(cli({"generate", "tiny", "--prompt", "a", "--backend", "isa", "--watchdog", "6"}, &cl),
            0)
      << err;
  EXPECT_EQ(cl.run.limits.watchdog, 6u);
  ASSERT_EQ(cli({"fidelity", "tiny", "--text", "t.txt", "--backend", "isa", "--watchdog", "7"},
                &cl),
            0)
      << err;
  EXPECT_EQ(cl.run.limits.watchdog, 7u);
  EXPECT_EQ(cli({"exec", "p.tbin", "--watchdog", "0"}, &cl), -1);
  EXPECT_NE(std::string(err).find("--watchdog: '0', expected a number of cycles in 1..1000000000000"),
            std::string::npos)
      << err;
  EXPECT_EQ(cli({"run", "--max-cycles", "-3"}, &cl), -1);
  EXPECT_NE(std::string(err).find("--max-cycles: '-3'"), std::string::npos) << err;
  EXPECT_EQ(cli({"exec", "p.tbin", "--watchdog"}, &cl), -1);
  EXPECT_NE(std::string(err).find("flag --watchdog needs a value"), std::string::npos) << err;
  EXPECT_EQ(cli({"asm", "in.s", "-o", "o.bin", "--watchdog", "5"}, &cl), -1);  // runs nothing
  EXPECT_NE(std::string(err).find("unknown flag '--watchdog'"), std::string::npos) << err;

  tern_compare_config cc;
  int help = 0;
  std::vector<const char *> ca = {"tern", "compare", "--watchdog", "12", "--max-cycles", "34"};
  ASSERT_EQ(tern_compare_parse_args((int)ca.size(), (char **)ca.data(), &cc, &help, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(cc.run.watchdog, 12u);
  EXPECT_EQ(cc.run.max_cycles, 34u);
  ca = {"tern", "compare", "--watchdog", "x"};
  EXPECT_EQ(tern_compare_parse_args((int)ca.size(), (char **)ca.data(), &cc, &help, err, sizeof err),
            -1);
  EXPECT_NE(std::string(err).find("--watchdog: 'x', expected a number of cycles"), std::string::npos)
      << err;

  tern_sweep_args sa;
  std::vector<const char *> sw = {"tern", "sweep", "s.ini", "--watchdog", "56", "--max-cycles", "78"};
  ASSERT_EQ(tern_sweep_parse_args((int)sw.size(), (char **)sw.data(), &sa, &help, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(sa.run.watchdog, 56u);
  EXPECT_EQ(sa.run.max_cycles, 78u);
  sw = {"tern", "sweep", "s.ini", "--max-cycles", "99999999999999999999"};
  EXPECT_EQ(tern_sweep_parse_args((int)sw.size(), (char **)sw.data(), &sa, &help, err, sizeof err),
            -1);
  EXPECT_NE(std::string(err).find("--max-cycles: '99999999999999999999', expected a number of "
                                  "cycles in 1..1000000000000000"),
            std::string::npos)
      << err;
}

// The sweep's job lists pass the run options on to every point's command.
TEST(Watchdog, SweepJobListsPassRunOptions) {
  tern_sweep_spec s;
  char err[1024] = "";
  ASSERT_EQ(tern_sweep_spec_parse("[workload]\nname = wd\nmodel = tiny\n[grid]\narray = 4x4, 8x8\n",
                                  "wd.ini", nullptr, &s, err, sizeof err),
            0)
      << err;
  s.run = opts(321, 654);
  for (tern_sweep_emit_kind k :
       {TERN_SWEEP_EMIT_MAKE, TERN_SWEEP_EMIT_SLURM, TERN_SWEEP_EMIT_PARALLEL}) {
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_EQ(tern_sweep_emit_text(f, k, &s, "/abs/spec.ini", "/abs/out", "/abs/tern"), 0);
    fclose(f);
    std::string t(buf, len);
    free(buf);
    EXPECT_NE(t.find("--out " + std::string(k == TERN_SWEEP_EMIT_MAKE ? "$(OUT)" : "/abs/out") +
                     " --watchdog 321 --max-cycles 654"),
              std::string::npos)
        << t;
  }
  tern_sweep_spec_free(&s);
}

// The CLI: a deadlocked program file exits 1 with the report on both
// backends; a bad --watchdog exits 2 naming the flag and the range.
TEST(Watchdog, CliExecReportsADeadlockAndExitsNonZero) {
  tern_program p;
  tern_program_init(&p);
  p.cfg = tern_hwcfg_small(4, 4);
  for (const tern_insn &in : assemble("load mem=acc sram=0 y=1 x=1 dram=0\nsync q=compute pop_prev\nend\n"))
    tern_program_add_insn(&p, &in);
  p.dram_size = 4096;
  std::string path = std::string(TERN_ROOT) + "/build/test_watchdog_dead.tbin";
  char err[1024];
  ASSERT_EQ(tern_program_write(&p, path.c_str(), err, sizeof err), 0) << err;
  tern_program_free(&p);
  const std::string tern = std::string(TERN_ROOT) + "/build/tern";
  for (const char *be : {"isa", "rtl"}) {
    std::string out;
    int st = tern_test::RunCmd(tern + " exec " + path + " --backend " + be + " --watchdog 50", &out);
    EXPECT_EQ(st, 1) << be << ": " << out;
    EXPECT_NE(out.find("watchdog: no progress for 50 cycles"), std::string::npos) << be << ": " << out;
    EXPECT_NE(out.find("compute queue waits at pc 1 (SYNC) on token L2C = 0"), std::string::npos)
        << be << ": " << out;
    st = tern_test::RunCmd(tern + " exec " + path + " --backend " + be + " --watchdog 5000 --max-cycles 100",
                 &out);
    EXPECT_EQ(st, 1) << be << ": " << out;
    EXPECT_NE(out.find("max_cycles"), std::string::npos) << be << ": " << out;
  }
  std::string out;
  EXPECT_EQ(tern_test::RunCmd(tern + " exec " + path + " --watchdog 1x", &out), 2) << out;
  EXPECT_NE(out.find("--watchdog: '1x', expected a number of cycles in 1..1000000000000 (10^12)"),
            std::string::npos)
      << out;
  EXPECT_EQ(tern_test::RunCmd(tern + " generate tiny --prompt a --watchdog 9", &out), 2) << out;
  EXPECT_NE(out.find("only with --backend isa or rtl"), std::string::npos) << out;
  remove(path.c_str());
}
