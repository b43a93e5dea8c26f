// `tern synth` (runtime/synth.c, include/tern/synth.h): the argument
// parser's messages, a missing tool, the JSON round trip, the array's
// multiplier / DSP check on iCE40 (UP5K, DSP mapping on), ECP5 and Xilinx
// (array alone: seconds per target), the whole accelerator through the
// generic flow at the smallest configuration (every unit present, the units
// add up to the total), and one iCE40 place-and-route of the 4x4 array on
// HX8K (Fmax and the critical path in words).  Yosys runs take seconds at
// these sizes; the whole-design iCE40 runs at 4x4 and 8x8 are measured by
// hand (docs/SYNTH.md) because they take minutes.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "tern/synth.h"

namespace {

std::string out_dir(const char *name) {
  // per process: test binaries of several build directories may run at once
  std::string d = std::string(TERN_ROOT) + "/build/test_synth/" + std::to_string((long)getpid()) + "/" + name;
  return d;
}

// Whole-design runs take minutes (docs/SYNTH.md "Limits"): only with TERN_SYNTH_FULL=1.
bool full_runs() {
  const char *e = getenv("TERN_SYNTH_FULL");
  return e && !strcmp(e, "1");
}

bool have_tool(const char *name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return system(cmd.c_str()) == 0;
}

struct Args {
  std::vector<std::string> s;
  std::vector<char *> v;
  explicit Args(std::initializer_list<const char *> a) {
    s.push_back("tern");
    s.push_back("synth");
    for (const char *x : a) s.push_back(x);
    for (auto &x : s) v.push_back(&x[0]);
  }
  int argc() { return (int)v.size(); }
  char **argv() { return v.data(); }
};

// tern_synth_opts keeps pointers into argv (o->device, the JSON path), so
// the arguments of every parse stay alive until the process ends: a deque
// never moves its elements, and Args' char pointers point into its strings.
int parse(std::initializer_list<const char *> a, tern_synth_opts *o, std::string *err) {
  static std::deque<Args> keep;
  Args &args = keep.emplace_back(a);
  const char *json = nullptr;
  int help = 0;
  char e[1024] = "";
  int rc = tern_synth_parse_args(args.argc(), args.argv(), o, &json, &help, e, sizeof e);
  *err = e;
  return rc;
}

}  // namespace

TEST(Synth, ParseArgs) {
  tern_synth_opts o;
  std::string err;
  ASSERT_EQ(parse({"--target", "ice40", "--array", "8x8", "--set", "acc_depth=64", "--device", "up5k",
                   "--no-pnr"},
                  &o, &err),
            0)
      << err;
  EXPECT_EQ(o.target, TERN_SYNTH_ICE40);
  EXPECT_EQ(o.hw.rows, 8);
  EXPECT_EQ(o.hw.cols, 8);
  EXPECT_EQ(o.hw.acc_depth, 64);
  EXPECT_EQ(o.hw.dram_bw, 8);  // synth default: rows
  EXPECT_STREQ(o.device, "up5k");
  EXPECT_EQ(o.pnr, 0);
  // --set before --array still applies
  ASSERT_EQ(parse({"--set", "wbuf_depth=16", "--target", "xilinx", "--array", "2x4"}, &o, &err), 0) << err;
  EXPECT_EQ(o.hw.wbuf_depth, 16);
  EXPECT_EQ(o.hw.rows, 2);
  EXPECT_EQ(o.hw.cols, 4);

  EXPECT_NE(parse({"--target", "vivado"}, &o, &err), 0);
  EXPECT_NE(err.find("target"), std::string::npos) << err;
  EXPECT_NE(err.find("vivado"), std::string::npos) << err;
  EXPECT_NE(err.find("ice40"), std::string::npos) << err;

  EXPECT_NE(parse({"--array", "4x4"}, &o, &err), 0);
  EXPECT_NE(err.find("--target"), std::string::npos) << err;

  EXPECT_NE(parse({"--target", "ice40", "--array", "4by4"}, &o, &err), 0);
  EXPECT_NE(err.find("--array"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--array", "3x4"}, &o, &err), 0);
  EXPECT_NE(err.find("rows"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--set", "acc_depth=0"}, &o, &err), 0);
  EXPECT_NE(err.find("acc_depth"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--set", "bogus=1"}, &o, &err), 0);
  EXPECT_NE(err.find("bogus"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--device", "hx1k"}, &o, &err), 0);
  EXPECT_NE(err.find("--device"), std::string::npos) << err;
  EXPECT_NE(err.find("up5k"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--freq", "fast"}, &o, &err), 0);
  EXPECT_NE(err.find("--freq"), std::string::npos) << err;
  EXPECT_NE(parse({"--target", "ice40", "--speed", "1"}, &o, &err), 0);
  EXPECT_NE(err.find("--speed"), std::string::npos) << err;

  tern_synth_target t;
  char e[256];
  EXPECT_EQ(tern_synth_target_parse("ecp5", &t, e, sizeof e), 0);
  EXPECT_EQ(t, TERN_SYNTH_ECP5);
  EXPECT_STREQ(tern_synth_target_name(TERN_SYNTH_XILINX), "xilinx");
}

TEST(Synth, RunRejectsBadOptions) {
  tern_synth_opts o;
  tern_synth_opts_default(&o);
  tern_synth_result r;
  char err[1024] = "";
  o.target = TERN_SYNTH_ICE40;
  o.device = "lp1k";
  std::string dir = out_dir("bad");
  o.outdir = dir.c_str();
  EXPECT_NE(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("device"), std::string::npos) << err;
  tern_synth_opts_default(&o);
  o.outdir = dir.c_str();
  o.hw.cols = 6;
  EXPECT_NE(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("cols"), std::string::npos) << err;
}

TEST(Synth, MissingToolIsNamed) {
  const char *old = getenv("TERN_YOSYS");
  std::string saved = old ? old : "";
  setenv("TERN_YOSYS", "/nonexistent/yosys", 1);
  tern_synth_opts o;
  tern_synth_opts_default(&o);
  std::string dir = out_dir("missing");
  o.outdir = dir.c_str();
  tern_synth_result r;
  char err[1024] = "";
  int rc = tern_synth_run(&o, &r, nullptr, err, sizeof err);
  if (old) setenv("TERN_YOSYS", saved.c_str(), 1);
  else unsetenv("TERN_YOSYS");
  EXPECT_NE(rc, 0);
  EXPECT_NE(std::string(err).find("yosys"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("/nonexistent/yosys"), std::string::npos) << err;

  // not in PATH at all: the message says how to install it
  const char *path = getenv("PATH");
  std::string savedp = path ? path : "";
  setenv("PATH", "/nonexistent", 1);
  rc = tern_synth_run(&o, &r, nullptr, err, sizeof err);
  setenv("PATH", savedp.c_str(), 1);
  EXPECT_NE(rc, 0);
  EXPECT_NE(std::string(err).find("yosys not found"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("apt-get install yosys"), std::string::npos) << err;
}

TEST(Synth, JsonRoundTrip) {
  tern_synth_result a;
  memset(&a, 0, sizeof a);
  a.target = TERN_SYNTH_ECP5;
  snprintf(a.device, sizeof a.device, "-");
  a.hw = tern_synth_hw_default(8, 4);
  a.hw.acc_depth = 128;
  for (int u = 0; u < TERN_SYNTH_NUNITS; u++) {
    tern_synth_unit &x = a.unit[u];
    x.luts = 1000 + u;
    x.ffs = 2000 + u;
    x.carries = 300 + u;
    x.brams = u;
    x.dsps = u == TERN_SYNTH_U_VEC ? 4 : 0;
    x.muls = u == TERN_SYNTH_U_VEC ? 12 : 0;
    x.lutrams = 7 * u;
    x.other = 11 * u + 1;
  }
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
    a.mem[m].brams = m;
    a.mem[m].ffs = 100 * m;
    a.mem[m].luts = 5 * m + 3;
  }
  a.luts_per_pe = 31.25;
  a.ffs_per_pe = 1.0 / 3.0;
  a.array_mul_free = 1;
  a.fmax_mhz = 113.63999999;
  snprintf(a.timing_source, sizeof a.timing_source, "yosys logic depth (estimate; \"quoted\")");
  snprintf(a.critical_path, sizeof a.critical_path, "from in_q[3] \\ back\nslash to psum_o[31]");
  a.logic_depth = 35;
  a.fits = 0;
  snprintf(a.fit_note, sizeof a.fit_note, "does not fit: 9000/7680");
  a.seconds = 12.5;
  std::string dir = out_dir("json");
  char err[1024] = "";
  std::string cmd = "mkdir -p '" + dir + "'";
  ASSERT_EQ(system(cmd.c_str()), 0);
  std::string path = dir + "/r.json";
  FILE *f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(tern_synth_write_json(f, &a), 0);
  fclose(f);
  tern_synth_result b;
  ASSERT_EQ(tern_synth_read_json(path.c_str(), &b, err, sizeof err), 0) << err;
  EXPECT_EQ(b.target, a.target);
  EXPECT_STREQ(b.device, a.device);
  EXPECT_EQ(memcmp(&b.hw.rows, &a.hw.rows, sizeof(int) * 9), 0);  // rows .. dram_bw
  EXPECT_EQ(memcmp(b.unit, a.unit, sizeof a.unit), 0);
  EXPECT_EQ(memcmp(b.mem, a.mem, sizeof a.mem), 0);
  EXPECT_EQ(b.luts_per_pe, a.luts_per_pe);
  EXPECT_EQ(b.ffs_per_pe, a.ffs_per_pe);
  EXPECT_EQ(b.array_mul_free, 1);
  EXPECT_EQ(b.fmax_mhz, a.fmax_mhz);
  EXPECT_STREQ(b.timing_source, a.timing_source);
  EXPECT_STREQ(b.critical_path, a.critical_path);
  EXPECT_EQ(b.logic_depth, 35);
  EXPECT_EQ(b.fits, 0);
  EXPECT_STREQ(b.fit_note, a.fit_note);
  EXPECT_EQ(b.seconds, a.seconds);

  // broken files name the file and the problem
  f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("{\"target\": \"ice40\", \"hw\": {\"rows\": 4,", f);
  fclose(f);
  EXPECT_NE(tern_synth_read_json(path.c_str(), &b, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find(path), std::string::npos) << err;
  f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("{\"target\": \"quartus\", \"hw\": {\"rows\": 4, \"cols\": 4}}", f);
  fclose(f);
  EXPECT_NE(tern_synth_read_json(path.c_str(), &b, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("target"), std::string::npos) << err;
  EXPECT_NE(tern_synth_read_json((dir + "/none.json").c_str(), &b, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("none.json"), std::string::npos) << err;
}

// The check: the array has no multiplier and no DSP on every FPGA
// target, with DSP inference on (iCE40 UP5K: synth_ice40 -dsp).  The array
// alone, 4x4: a few seconds per target.
TEST(Synth, ArrayHasNoMultiplierOnEveryTarget) {
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  const tern_synth_target targets[] = {TERN_SYNTH_ICE40, TERN_SYNTH_ECP5, TERN_SYNTH_XILINX};
  for (tern_synth_target t : targets) {
    SCOPED_TRACE(tern_synth_target_name(t));
    tern_synth_opts o;
    tern_synth_opts_default(&o);
    o.target = t;
    o.hw = tern_synth_hw_default(4, 4);
    o.device = "up5k";
    o.pnr = 0;
    o.array_only = 1;
    std::string dir = out_dir((std::string("array_") + tern_synth_target_name(t)).c_str());
    o.outdir = dir.c_str();
    tern_synth_result r;
    char err[2048] = "";
    ASSERT_EQ(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0) << err;
    const tern_synth_unit &a = r.unit[TERN_SYNTH_U_ARRAY];
    EXPECT_EQ(a.dsps, 0u);
    EXPECT_EQ(a.muls, 0u);
    EXPECT_EQ(r.array_mul_free, 1);
    // one 32-bit psum register per PE, nothing else is a flip-flop
    EXPECT_EQ(a.ffs, 32u * 16u);
    EXPECT_EQ(r.ffs_per_pe, 32.0);
    // one 32-bit adder per PE on the carry chains: every psum bit has an adder
    // cell (iCE40: a sum LUT4 beside each SB_CARRY; ECP5: a CCU2C adds 2 bits;
    // Xilinx: a CARRY4 adds 4 bits)
    const unsigned bits_per_carry = t == TERN_SYNTH_ICE40 ? 1 : t == TERN_SYNTH_ECP5 ? 2 : 4;
    EXPECT_GE(a.carries * bits_per_carry, 16u * 31u);
    if (t == TERN_SYNTH_ICE40) {
      EXPECT_GE(a.luts, 16u * 31u);
    }
    EXPECT_GT(a.luts, 0u);
    EXPECT_EQ(r.unit[TERN_SYNTH_U_PE].ffs, 32u);
    EXPECT_EQ(r.unit[TERN_SYNTH_U_PE].luts * 16, a.luts);  // the array is PEs only
    EXPECT_GT(r.logic_depth, 5);
    EXPECT_NE(std::string(r.timing_source).find("estimate"), std::string::npos) << r.timing_source;
  }
}

// psum_bits (the array's partial-sum width, rtl/tern_array.sv PSUM_W): at the
// narrowest exact width for 4 rows (11 bits) a PE holds 11 flip-flops and an
// 11-bit adder, against 32 of each at full width.
TEST(Synth, NarrowPartialSumsShrinkThePe) {
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  double luts[2];
  const int bits[2] = {32, 11};
  for (int i = 0; i < 2; i++) {
    tern_synth_opts o;
    tern_synth_opts_default(&o);
    o.target = TERN_SYNTH_ICE40;
    o.hw = tern_synth_hw_default(4, 4);
    o.hw.psum_bits = bits[i];
    o.pnr = 0;
    o.array_only = 1;
    std::string dir = out_dir((std::string("psum") + std::to_string(bits[i])).c_str());
    o.outdir = dir.c_str();
    tern_synth_result r;
    char err[2048] = "";
    ASSERT_EQ(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0) << err;
    EXPECT_EQ(r.ffs_per_pe, (double)bits[i]);
    EXPECT_EQ(r.unit[TERN_SYNTH_U_PE].carries, (uint64_t)bits[i] - 1);  // one carry chain
    EXPECT_EQ(r.array_mul_free, 1);
    luts[i] = r.luts_per_pe;
  }
  EXPECT_LT(luts[1], luts[0] * 0.6) << luts[1] << " vs " << luts[0];
}

// The check can fail: a PE that multiplies (a copy of the RTL with code * a
// in tern_pe) is reported as not multiplier-free, on generic ($mul cells)
// and on ECP5 (DSP cells).
TEST(Synth, ArrayMultiplierIsDetected) {
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  std::string dir = out_dir("mulpe");
  std::string rtl = dir + "/rtl";
  std::string cmd = "rm -rf '" + rtl + "' && mkdir -p '" + rtl + "' && cp '" TERN_ROOT "/rtl/tern_array.sv' '" + rtl + "/'";
  ASSERT_EQ(system(cmd.c_str()), 0);
  FILE *f = fopen((rtl + "/tern_pe.sv").c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("module tern_pe #(parameter integer W = 32) (input logic clk_i, input logic [1:0] code_i,\n"
        "  input logic [7:0] act_i, input logic [W-1:0] psum_i, output logic [W-1:0] psum_o);\n"
        "  always_ff @(posedge clk_i)\n"
        "    psum_o <= psum_i + $signed({{(W-8){act_i[7]}}, act_i}) * $signed({{(W-2){code_i[1]}}, code_i});\n"
        "endmodule\n",
        f);
  fclose(f);
  setenv("TERN_SYNTH_RTL", rtl.c_str(), 1);
  const tern_synth_target targets[] = {TERN_SYNTH_GENERIC, TERN_SYNTH_ECP5};
  for (tern_synth_target t : targets) {
    SCOPED_TRACE(tern_synth_target_name(t));
    tern_synth_opts o;
    tern_synth_opts_default(&o);
    o.target = t;
    o.hw = tern_synth_hw_default(2, 2);
    o.array_only = 1;
    std::string od = dir + "/" + tern_synth_target_name(t);
    o.outdir = od.c_str();
    tern_synth_result r;
    char err[2048] = "";
    int rc = tern_synth_run(&o, &r, nullptr, err, sizeof err);
    EXPECT_EQ(rc, 0) << err;
    if (rc != 0) continue;
    EXPECT_EQ(r.array_mul_free, 0);
    EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].muls, 4u);  // one per PE, as written
    if (t == TERN_SYNTH_ECP5) {
      EXPECT_GT(r.unit[TERN_SYNTH_U_ARRAY].dsps, 0u);
    }
  }
  unsetenv("TERN_SYNTH_RTL");
}

// The whole accelerator through the generic flow at the smallest
// configuration: every unit is there and the units add up to the total.
// About 70 s of CPU: TERN_SYNTH_FULL=1 only.
TEST(Synth, WholeDesignUnitsGeneric) {
  if (!full_runs()) GTEST_SKIP() << "whole-design synthesis takes minutes: TERN_SYNTH_FULL=1";
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  tern_synth_opts o;
  tern_synth_opts_default(&o);
  o.target = TERN_SYNTH_GENERIC;
  o.hw = tern_synth_hw_default(2, 2);
  o.hw.wbuf_depth = 2;
  o.hw.abuf_depth = 2;
  o.hw.acc_depth = 2;
  o.hw.out_depth = 2;
  o.hw.imem_depth = 2;
  o.hw.qdepth = 2;
  std::string dir = out_dir("whole_generic");
  o.outdir = dir.c_str();
  tern_synth_result r;
  char err[2048] = "";
  ASSERT_EQ(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0) << err;
  for (int u = 0; u < TERN_SYNTH_NUNITS; u++) {
    SCOPED_TRACE(tern_synth_unit_name(u));
    EXPECT_GT(r.unit[u].luts, 0u);
    EXPECT_GT(r.unit[u].ffs, 0u);
  }
  for (int m = 0; m < TERN_SYNTH_NMEMS; m++) {
    SCOPED_TRACE(tern_synth_mem_name(m));
    EXPECT_GT(r.mem[m].ffs, 0u);  // generic: no block RAM, memories are flip-flops
    EXPECT_STREQ(tern_synth_mem_where(&r.mem[m]), "flip-flops");
  }
  // ACC holds depth x cols x 32 bits, IMEM depth x 128
  EXPECT_GE(r.mem[TERN_SYNTH_M_ACC].ffs, 2u * 2u * 32u);
  EXPECT_GE(r.mem[TERN_SYNTH_M_IMEM].ffs, 2u * 128u);
  tern_synth_unit sum;
  memset(&sum, 0, sizeof sum);
  for (int u = 0; u < TERN_SYNTH_U_TOTAL; u++) {
    if (u == TERN_SYNTH_U_PE) continue;
    sum.luts += r.unit[u].luts;
    sum.ffs += r.unit[u].ffs;
    sum.muls += r.unit[u].muls;
  }
  EXPECT_EQ(sum.luts, r.unit[TERN_SYNTH_U_TOTAL].luts);
  EXPECT_EQ(sum.ffs, r.unit[TERN_SYNTH_U_TOTAL].ffs);
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].ffs, 4u * 32u);
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].muls, 0u);
  EXPECT_EQ(r.array_mul_free, 1);
  // the vector unit does multiply (MULSHR / QUANT / MAC8): the check sees multipliers
  EXPECT_GT(r.unit[TERN_SYNTH_U_VEC].muls, 0u);
  // the CLI's JSON file is in the output directory and reads back
  tern_synth_result b;
  ASSERT_EQ(tern_synth_read_json((dir + "/synth.json").c_str(), &b, err, sizeof err), 0) << err;
  EXPECT_EQ(memcmp(b.unit, r.unit, sizeof r.unit), 0);
}

// ACC and OUT (2 writes + 3 reads per cycle) are built from one-write
// one-read banks and a live-value table (rtl/tern_mpram.sv) so that they map
// to block RAM: tern_acc_ram alone (256 words of 64 bits) through each FPGA
// flow has 2 x 3 banks of block RAM, and flip-flops for the table and the
// ports only, not for the 256 x 64 data bits.  Seconds per target.
TEST(Synth, MultiPortScratchpadMapsToBlockRam) {
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  struct T {
    const char *synth, *bram, *ff;
  } targets[] = {{"synth_ice40", "SB_RAM40_4K", "SB_DFF"},
                 {"synth_ecp5", "16KD", "TRELLIS_FF"},  // DP16KD / PDPW16KD
                 {"synth_xilinx -noiopad", "RAMB", "FD"}};
  for (const T &t : targets) {
    SCOPED_TRACE(t.synth);
    std::string dir = out_dir((std::string("mpram_") + (t.synth + 6)).substr(0, 20).c_str());
    ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
    FILE *f = fopen((dir + "/m.ys").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f,
            "read_verilog -sv " TERN_ROOT "/rtl/tern_mpram.sv " TERN_ROOT "/rtl/tern_acc_ram.sv\n"
            "chparam -set DEPTH 256 -set WIDTH 64 -set AW 8 tern_acc_ram\n"
            "%s -top tern_acc_ram -flatten\n"
            "tee -q -o stat.txt stat\n",
            t.synth);
    fclose(f);
    ASSERT_EQ(system(("cd '" + dir + "' && yosys -q -l yosys.log -s m.ys >/dev/null 2>&1").c_str()), 0)
        << dir << "/yosys.log";
    // "     SB_RAM40_4K                    24" lines of the stat
    FILE *st = fopen((dir + "/stat.txt").c_str(), "r");
    ASSERT_NE(st, nullptr);
    char line[512], type[256];
    unsigned long n, brams = 0, ffs = 0;
    while (fgets(line, sizeof line, st))
      if (sscanf(line, " %255s %lu", type, &n) == 2) {
        if (strstr(type, t.bram)) brams += n;
        else if (!strncmp(type, t.ff, strlen(t.ff))) ffs += n;
      }
    fclose(st);
    EXPECT_GE(brams, 6u);  // one bank (or more) per (write port, read port)
    // flip-flops: the live-value table (256) and registers on the ports (Yosys
    // keeps each bank's read register, and on iCE40 / ECP5 a copy of each write
    // port to give the read-first result of a same-word read and write: a few
    // per data bit and port), never the 256 x 64 data bits
    EXPECT_GE(ffs, 256u);
    EXPECT_LE(ffs, 256u + 16u * 64u);
  }
}

// The whole accelerator on iCE40 at 4x4: every scratchpad in block RAM, no
// DSP in the array.
// Minutes: TERN_SYNTH_FULL=1 only.
TEST(Synth, WholeDesignIce40Memories) {
  if (!full_runs()) GTEST_SKIP() << "whole-design synthesis takes minutes: TERN_SYNTH_FULL=1";
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  tern_synth_opts o;
  tern_synth_opts_default(&o);
  o.target = TERN_SYNTH_ICE40;
  o.hw = tern_synth_hw_default(4, 4);  // ACC and OUT 32 words (a 4-word memory stays flip-flops)
  o.pnr = 0;
  std::string dir = out_dir("whole_ice40");
  o.outdir = dir.c_str();
  tern_synth_result r;
  char err[2048] = "";
  ASSERT_EQ(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0) << err;
  EXPECT_GT(r.mem[TERN_SYNTH_M_WBUF].brams, 0u);
  EXPECT_GT(r.mem[TERN_SYNTH_M_ABUF].brams, 0u);
  EXPECT_GT(r.mem[TERN_SYNTH_M_IMEM].brams, 0u);
  EXPECT_GT(r.mem[TERN_SYNTH_M_ACC].brams, 0u);
  EXPECT_GT(r.mem[TERN_SYNTH_M_OUT].brams, 0u);
  EXPECT_LT(r.mem[TERN_SYNTH_M_ACC].ffs, 32u * 4u * 32u);  // the table and ports, not the data
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].dsps, 0u);
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].muls, 0u);
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].ffs, 16u * 32u);
  for (int u = 0; u < TERN_SYNTH_NUNITS; u++) EXPECT_GT(r.unit[u].luts, 0u) << tern_synth_unit_name(u);
}

// One place-and-route: the 4x4 array in the serial-I/O wrapper on HX8K.
TEST(Synth, Ice40PlaceAndRouteArray4x4) {
  if (!have_tool("yosys") || !have_tool("nextpnr-ice40") || !have_tool("icetime"))
    GTEST_SKIP() << "yosys / nextpnr-ice40 / icetime not installed";
  tern_synth_opts o;
  tern_synth_opts_default(&o);
  o.target = TERN_SYNTH_ICE40;
  o.hw = tern_synth_hw_default(4, 4);
  o.device = "hx8k";
  o.pnr = 1;
  o.array_only = 1;
  std::string dir = out_dir("pnr_hx8k_4x4");
  o.outdir = dir.c_str();
  tern_synth_result r;
  char err[2048] = "";
  ASSERT_EQ(tern_synth_run(&o, &r, nullptr, err, sizeof err), 0) << err;
  EXPECT_EQ(r.fits, 1) << r.fit_note;
  EXPECT_GT(r.fmax_mhz, 30.0);
  EXPECT_LT(r.fmax_mhz, 400.0);
  EXPECT_NE(std::string(r.timing_source).find("icetime"), std::string::npos) << r.timing_source;
  std::string cp = r.critical_path;
  EXPECT_NE(cp.find("from "), std::string::npos) << cp;
  EXPECT_NE(cp.find("carry chain"), std::string::npos) << cp;
  EXPECT_NE(cp.find("psum register"), std::string::npos) << cp;
  EXPECT_NE(std::string(r.fit_note).find("/7680"), std::string::npos) << r.fit_note;
  EXPECT_EQ(r.unit[TERN_SYNTH_U_ARRAY].dsps, 0u);
}

// processes whose working directory is dir (the tools run in the output directory)
static int procs_in(const std::string &dir) {
  int n = 0;
  DIR *d = opendir("/proc");
  if (!d) return -1;
  while (struct dirent *e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char link[300], buf[1024];
    snprintf(link, sizeof link, "/proc/%s/cwd", e->d_name);
    ssize_t k = readlink(link, buf, sizeof buf - 1);
    if (k > 0) {
      buf[k] = 0;
      if (dir == buf) n++;
    }
  }
  closedir(d);
  return n;
}

// A signal to the synthesising process while Yosys runs (in its own process
// group, for the timeout) kills Yosys too and then ends the process with
// that signal, instead of leaving yosys/abc running.
TEST(Synth, InterruptKillsTheTools) {
  if (!have_tool("yosys")) GTEST_SKIP() << "yosys not installed";
  std::string dir = out_dir("interrupt");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    tern_synth_opts o;
    tern_synth_opts_default(&o);
    o.target = TERN_SYNTH_GENERIC;
    o.hw = tern_synth_hw_default(4, 4);
    o.pnr = 0;
    o.outdir = dir.c_str();
    tern_synth_result r;
    char err[2048] = "";
    FILE *devnull = fopen("/dev/null", "w");
    tern_synth_run(&o, &r, devnull, err, sizeof err);  // the whole design: a minute or more
    _exit(0);
  }
  int seen = 0;
  for (int i = 0; i < 300 && !seen; i++) {  // up to 30 s for yosys to start
    seen = procs_in(dir) > 0;
    if (!seen) usleep(100 * 1000);
  }
  ASSERT_TRUE(seen) << "yosys did not start in " << dir;
  usleep(300 * 1000);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << "status " << st;
  int left = 0;
  for (int i = 0; i < 20 && (left = procs_in(dir)) > 0; i++) usleep(100 * 1000);
  EXPECT_EQ(left, 0) << "tool processes still running in " << dir;
}
