// `tern sweep` (runtime/sweep.c, reports/report.c): the spec parser (good
// specs, and bad fields / values whose message names file:line and the
// field), a 2-point sweep with the cycle model whose figures equal tern
// generate's counters, point files round-tripping through the merge into the
// CSV with the right columns, the Pareto front on a hand-made set, the
// emitted Slurm / GNU parallel / make job lists, and RTL validation of a
// point on the 4x4 RTL test configuration.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tern/compare.h"
#include "tern/generate.h"
#include "tern/report.h"
#include "tern/sweep.h"
#include "tern/synth.h"
#include "model_fixtures.h"

namespace {

struct Spec {
  tern_sweep_spec s;
  char err[2048] = "";
  int rc;
  Spec(const std::string &text, const char *what = "spec.ini") {
    rc = tern_sweep_spec_parse(text.c_str(), what, nullptr, &s, err, sizeof err);
  }
  ~Spec() { tern_sweep_spec_free(&s); }
};

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tmpdir(const char *tag) {
  char buf[256];
  snprintf(buf, sizeof buf, "/tmp/tern_sweep_%s_XXXXXX", tag);
  char *d = mkdtemp(buf);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

const char *kSmallHw =
    "[hw]\n"
    "wbuf_depth = 64\n"
    "abuf_depth = 512\n"
    "acc_depth = 1024\n"
    "out_depth = 512\n"
    "qdepth = 4\n"
    "imem_depth = 2048\n";

TEST(Sweep, SpecGridExpandsInOrder) {
  Spec sp(std::string("[workload]\nname = t\nmodel = tiny\nprefill = 4\ndecode = 2\n"
                      "rtl_validate = first 2\n") +
          kSmallHw + "[grid]\narray = 4x4, 8x8\ndram_bw = 4, 8, 16\n");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  const tern_sweep_spec &s = sp.s;
  EXPECT_STREQ(s.name, "t");
  EXPECT_EQ(s.prefill, 4);
  EXPECT_EQ(s.decode, 2);
  EXPECT_STREQ(s.backend, "isa");
  EXPECT_EQ(s.synth, -1);
  ASSERT_EQ(s.npoints, 6);
  // the first key is outermost, the last varies fastest
  EXPECT_STREQ(s.label[0], "array=4x4 dram_bw=4");
  EXPECT_STREQ(s.label[2], "array=4x4 dram_bw=16");
  EXPECT_STREQ(s.label[4], "array=8x8 dram_bw=8");
  EXPECT_EQ(s.hw[4].rows, 8);
  EXPECT_EQ(s.hw[4].cols, 8);
  EXPECT_EQ(s.hw[4].dram_bw, 8);
  EXPECT_EQ(s.hw[0].wbuf_depth, 64); // [hw] is the base of every point
  EXPECT_EQ(s.hw[5].imem_depth, 2048);
  EXPECT_EQ(s.hw[5].clock_mhz, tern_hwcfg_default().clock_mhz);
  EXPECT_EQ(s.rtl[0], 1);
  EXPECT_EQ(s.rtl[1], 1);
  EXPECT_EQ(s.rtl[2], 0);
}

TEST(Sweep, SpecPointsAndOptions) {
  Spec sp("[workload]\nmodel = hawk-tiny\nbackend = isa\ntech = 7nm\nsynth = ice40\n"
          "synth_device = up5k\nsynth_fmax = true\nrtl_validate = 1\n"
          "synth_set = acc_depth=32 out_depth=32\n"
          "[points]\npoint = array=4x4 dram_bw=4\npoint = rows=8 cols=16 clock_mhz=150.5\n",
          "dir/my-sweep.ini");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  const tern_sweep_spec &s = sp.s;
  EXPECT_STREQ(s.name, "my-sweep"); // the file's base name
  EXPECT_STREQ(s.tech, "7nm");
  EXPECT_EQ(s.synth, 1); // TERN_SYNTH_ICE40
  EXPECT_STREQ(s.synth_device, "up5k");
  EXPECT_EQ(s.synth_fmax, 1);
  EXPECT_STREQ(s.synth_set, "acc_depth=32 out_depth=32");
  EXPECT_EQ(s.synth_array_only, 0); // synth_scope = design by default
  ASSERT_EQ(s.npoints, 2);
  EXPECT_EQ(s.hw[1].rows, 8);
  EXPECT_EQ(s.hw[1].cols, 16);
  EXPECT_DOUBLE_EQ(s.hw[1].clock_mhz, 150.5);
  EXPECT_EQ(s.hw[1].dram_bw, tern_hwcfg_default().dram_bw);
  EXPECT_EQ(s.rtl[0], 0);
  EXPECT_EQ(s.rtl[1], 1);
}

TEST(Sweep, SpecErrorsNameFileLineAndField) {
  const std::string w = "[workload]\nmodel = tiny\n";
  struct Case {
    std::string text;
    const char *want;
  } cases[] = {
      {w + "[grid]\nrowz = 4, 8\n", "spec.ini:4: [grid] unknown field 'rowz', expected one of array"},
      {w + "[grid]\narray = 4x4, 4y4\n", "spec.ini:4: [grid] field 'array': array '4y4': expected RxC"},
      {w + "[grid]\ndram_bw = 4, 3\n", "spec.ini:4: point 1 (dram_bw=3): dram_bw = 3, expected a power of two"},
      {w + "[grid]\narray = 4x4\ndram_bw = 4, 8,\n", "spec.ini:5: [grid] field 'dram_bw' is '4, 8,', expected a comma-separated list"},
      {w + "[grid]\narray = 4x4, 4x4\n", "spec.ini:4: [grid] field 'array': value '4x4' is given twice"},
      {w + "[grid]\narray = 4x4\nrows = 8\n", "spec.ini:5: [grid] field 'rows' with 'array' (line 4)"},
      {w + "prefill = 0\n[grid]\narray = 4x4\n", "spec.ini:3: field 'prefill' is '0', expected an integer in 1..4096"},
      {w + "backend = cpu\n[grid]\narray = 4x4\n", "spec.ini:3: field 'backend' is 'cpu', expected isa or rtl"},
      {w + "synth = vivado\n[grid]\narray = 4x4\n", "spec.ini:3: field 'synth' is 'vivado', expected none, generic, ice40, ecp5 or xilinx"},
      {w + "tech = 3nm\n[grid]\narray = 4x4\n", "spec.ini:3: field 'tech' is '3nm'"},
      {w + "rtl_validate = 0, 5\n[grid]\narray = 4x4, 8x8\n", "spec.ini:3: field 'rtl_validate' is '0, 5', expected none, all, first N or a comma-separated list of point indices in 0..1"},
      {w + "rtl_validate = first 3\n[grid]\narray = 4x4\n", "spec.ini:3: field 'rtl_validate' is 'first 3', expected first N with N in 1..1"},
      {w + "colour = red\n", "spec.ini:3: [workload] unknown field 'colour'"},
      {w + "model = tiny\n", "spec.ini:3: [workload] field 'model' is given twice"},
      {w + "[hw]\nwbuf_depth = lots\n[grid]\narray = 4x4\n", "spec.ini:4: [hw] field 'wbuf_depth': wbuf_depth = 'lots': expected a non-negative integer"},
      {w + "[hw]\nacc_depth = 0\n[grid]\narray = 4x4\n", "spec.ini:6: point 0 (array=4x4): acc_depth = 0, expected 1..65536"},
      {w + "[points]\npoint = array=4x4 dram_bw\n", "spec.ini:4: [points] point item 'dram_bw', expected key=value"},
      {w + "[points]\npoint = array=4x4\npoint = dram_bw=6\n", "spec.ini:5: point 1 (dram_bw=6): dram_bw = 6, expected a power of two"},
      {w + "[points]\nspot = array=4x4\n", "spec.ini:4: [points] unknown field 'spot'"},
      {w + "[grid]\narray = 4x4\n[points]\npoint = array=8x8\n", "spec.ini:6: [points] after [grid] (line 4): expected one of them"},
      {w + "synth_set = acc_depth\n[grid]\narray = 4x4\n", "spec.ini:3: field 'synth_set' item 'acc_depth', expected key=value"},
      {w + "synth_set = dram_bw=4\n[grid]\narray = 4x4\n", "spec.ini:3: field 'synth_set' item 'dram_bw=4': expected a buffer depth"},
      {w + "synth_set = acc_depth=x\n[grid]\narray = 4x4\n", "spec.ini:3: [workload] synth_set field 'acc_depth': acc_depth = 'x'"},
      {w + "synth_scope = chip\n[grid]\narray = 4x4\n", "spec.ini:3: field 'synth_scope' is 'chip', expected design (the whole accelerator) or array"},
      {w + "synth_scope = array\nsynth_set = acc_depth=32\n[grid]\narray = 4x4\n", "spec.ini: [workload] synth_set = 'acc_depth=32' with synth_scope = array"},
      {w + "[fpga]\nlut = 1\n", "spec.ini:4: section '[fpga]' is unknown, expected [workload], [hw], [grid] or [points]"},
      {"model = tiny\n", "spec.ini:1: field 'model' outside a section"},
      {w, "spec.ini: no points, expected a [grid] section"},
      {"[workload]\nprefill = 4\n[grid]\narray = 4x4\n", "spec.ini: [workload] field 'model' is missing"},
      {"[workload]\nmodel = nosuchmodel\n[grid]\narray = 4x4\n", "spec.ini: [workload] field 'model' is 'nosuchmodel': not a transformer"},
  };
  for (const Case &c : cases) {
    Spec sp(c.text);
    EXPECT_EQ(sp.rc, -1) << c.text;
    EXPECT_NE(std::string(sp.err).find(c.want), std::string::npos)
        << "spec:\n" << c.text << "message: " << sp.err << "\nwanted: " << c.want;
  }
}

TEST(Sweep, ParetoFrontOnHandMadeSet) {
  // (tokens/s, LUTs): maximise the first, minimise the second
  const double a[] = {10, 20, 15, 5, 20, 30, 100, 10};
  const double b[] = {100, 200, 300, 50, 150, 1000, 10, 100};
  const int valid[] = {1, 1, 1, 1, 1, 1, 0, 1};
  int front[8];
  int n = tern_sweep_pareto(8, a, b, valid, front);
  // (5,50) (10,100) x2 (20,150) (30,1000) are on it; (20,200) is dominated by
  // (20,150), (15,300) by (20,150); the invalid point (100,10) does not count
  const int want[] = {1, 0, 0, 1, 1, 1, -1, 1};
  for (int i = 0; i < 8; i++) EXPECT_EQ(front[i], want[i]) << i;
  EXPECT_EQ(n, 5);
  // with the invalid point valid, it dominates everything but nothing else
  int f2[8];
  EXPECT_EQ(tern_sweep_pareto(8, a, b, nullptr, f2), 1);
  EXPECT_EQ(f2[6], 1);
}

// the two points of a small sweep on the cycle model, merged; the figures
// equal tern generate's counters for the same prompt length and steps
TEST(Sweep, TwoPointSweepMergesIntoCsv) {
  Spec sp(std::string("[workload]\nname = two\nmodel = tiny\nprefill = 4\ndecode = 2\n") +
          kSmallHw + "[grid]\narray = 4x4, 8x8\n");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  std::string dir = tmpdir("two");
  char err[2048] = "";
  tern_sweep_point p[2];
  for (int k = 0; k < 2; k++) {
    ASSERT_EQ(tern_sweep_run_point(&sp.s, k, dir.c_str(), &p[k], nullptr, err, sizeof err), 0)
        << err;
    char path[512];
    snprintf(path, sizeof path, "%s/points/p%04d.json", dir.c_str(), k);
    tern_sweep_point back;
    ASSERT_EQ(tern_sweep_point_read(path, &back, err, sizeof err), 0) << err;
    EXPECT_EQ(back.index, k);
    EXPECT_EQ(back.decode_cycles, p[k].decode_cycles);
    EXPECT_EQ(back.prefill_cycles, p[k].prefill_cycles);
    EXPECT_DOUBLE_EQ(back.decode_uj_per_token, p[k].decode_uj_per_token);
    EXPECT_STREQ(back.rtl_name, p[k].rtl_name);
    EXPECT_STREQ(back.label, p[k].label);

    // the same run through tern generate (its counters do not depend on the
    // tokens): step 0 is the prefill, steps 1 and 2 the decode steps
    tern_gen_config gc;
    tern_gen_config_default(&gc);
    gc.model = "tiny";
    gc.prompt = "abcd";
    gc.tokens = 3;
    gc.backend = "isa";
    gc.float_check = 0;
    gc.hw = sp.s.hw[k];
    tern_gen_result gr;
    ASSERT_EQ(tern_generate(&gc, &gr, nullptr, err, sizeof err), 0) << err;
    ASSERT_EQ(gr.n_steps, 3);
    EXPECT_EQ(p[k].prefill_cycles, gr.step[0].cycles);
    EXPECT_EQ(p[k].decode_cycles, gr.step[1].cycles + gr.step[2].cycles);
    EXPECT_NEAR(p[k].decode_uj_per_token, (gr.step[1].energy_pj + gr.step[2].energy_pj) / 2e6,
                1e-9);
    EXPECT_DOUBLE_EQ(p[k].decode_dram_rd_bytes_per_token + p[k].decode_dram_wr_bytes_per_token,
                     (gr.step[1].dram_bytes + gr.step[2].dram_bytes) / 2.0);
    tern_gen_result_free(&gr);
    EXPECT_DOUBLE_EQ(p[k].decode_tokens_per_s, 200e6 * 2 / (double)p[k].decode_cycles);
    EXPECT_GT(p[k].decode_array_util, 0.0);
    EXPECT_LE(p[k].decode_array_util, 1.0);
    EXPECT_GT(p[k].decode_dram_roofline, 0.0);
    EXPECT_LE(p[k].decode_dram_roofline, 1.0);
  }
  EXPECT_NE(p[0].decode_cycles, p[1].decode_cycles);

  tern_sweep_result r;
  ASSERT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), 0) << err;
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.n_expected, 2);
  EXPECT_EQ(r.n_missing, 0);
  EXPECT_EQ(r.has_synth, 0);
  EXPECT_EQ(r.pareto[0], -1); // no synthesis numbers
  std::string csv = slurp(dir + "/sweep.csv");
  std::vector<std::string> lines;
  std::stringstream ss(csv);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << csv;
  const char *cols[] = {"index,", ",label,", ",rows,", ",cols,", ",dram_bw,", ",prefill_cycles,",
                        ",decode_cycles_per_token,", ",decode_tokens_per_s,",
                        ",decode_uj_per_token,", ",decode_array_util,", ",synth_luts,",
                        ",synth_fmax_mhz,", ",rtl_equal,", ",pareto"};
  for (const char *c : cols) EXPECT_NE(lines[0].find(c), std::string::npos) << c;
  EXPECT_EQ(lines[1].rfind("0,2,two,array=4x4,tiny,", 0), 0u) << lines[1];
  EXPECT_NE(lines[2].find(std::to_string(p[1].decode_cycles)), std::string::npos);
  std::string js = slurp(dir + "/sweep.json");
  EXPECT_NE(js.find("\"pareto\": -1"), std::string::npos);
  // the report (no synthesis: the LUT plot is skipped with a note)
  ASSERT_EQ(tern_sweep_report_write(dir.c_str(), &r, err, sizeof err), 0) << err;
  std::string md = slurp(dir + "/report.md");
  EXPECT_NE(md.find("Skipped: no point has synthesis results"), std::string::npos);
  struct stat st;
  EXPECT_EQ(stat((dir + "/energy.png").c_str(), &st), 0);
  EXPECT_EQ(stat((dir + "/util.png").c_str(), &st), 0);
  tern_sweep_result_free(&r);

  // a missing point and a duplicate index
  remove((dir + "/points/p0001.json").c_str());
  ASSERT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), 0) << err;
  EXPECT_EQ(r.n, 1);
  EXPECT_EQ(r.n_missing, 1);
  EXPECT_EQ(r.missing[0], 1);
  tern_sweep_result_free(&r);
  std::string c0 = slurp(dir + "/points/p0000.json");
  std::ofstream(dir + "/points/p0007.json") << c0;
  EXPECT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("two point files with index 0"), std::string::npos) << err;
  std::ofstream(dir + "/points/p0007.json") << "{\"index\": 1, \"decode_cycles\": \"x\"}";
  EXPECT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("p0007.json: \"decode_cycles\" is a string, expected a number"),
            std::string::npos)
      << err;
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

// merge + report of point files with synthesis numbers (hand-made: the
// synthesis itself is tested in suite Synth): the front in the CSV / JSON and
// the Pareto plot in the report
TEST(Sweep, MergeMarksTheParetoFrontAndPlotsIt) {
  std::string dir = tmpdir("pareto");
  ASSERT_EQ(system(("mkdir -p '" + dir + "/points'").c_str()), 0);
  const double tps[] = {3000, 6000, 5000, 9000};
  const uint64_t luts[] = {4000, 9000, 12000, 30000};
  for (int k = 0; k < 4; k++) {
    tern_sweep_point p;
    memset(&p, 0, sizeof p);
    p.index = k;
    p.n_points = 5; // point 4 is missing
    snprintf(p.sweep, sizeof p.sweep, "hand");
    snprintf(p.label, sizeof p.label, "array=%dx%d", 4 << k, 4 << k);
    snprintf(p.model, sizeof p.model, "tiny");
    snprintf(p.backend, sizeof p.backend, "isa");
    snprintf(p.tech, sizeof p.tech, "45nm");
    p.rows = p.cols = 4 << k;
    p.pes = p.rows * p.cols;
    p.dram_bw = 8;
    p.clock_mhz = 200;
    p.decode_tokens = 2;
    p.decode_tokens_per_s = tps[k];
    p.decode_cycles_per_token = 200e6 / tps[k];
    p.decode_uj_per_token = 10 + k;
    p.decode_array_util = 0.1 / (k + 1);
    p.prefill_array_util = 0.2 / (k + 1);
    snprintf(p.synth_target, sizeof p.synth_target, "ice40");
    p.synth_luts = luts[k];
    p.synth_luts_per_pe = 40;
    p.synth_array_mul_free = 1;
    char path[512];
    snprintf(path, sizeof path, "%s/points/p%04d.json", dir.c_str(), k);
    FILE *f = fopen(path, "w");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(tern_sweep_point_write(f, &p), 0);
    fclose(f);
  }
  tern_sweep_result r;
  char err[2048] = "";
  ASSERT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), 0) << err;
  EXPECT_EQ(r.has_synth, 1);
  EXPECT_EQ(r.n_missing, 1);
  EXPECT_EQ(r.missing[0], 4);
  const int want[] = {1, 1, 0, 1}; // (5000 t/s, 12000 LUTs) is dominated by (6000, 9000)
  for (int k = 0; k < 4; k++) EXPECT_EQ(r.pareto[k], want[k]) << k;
  std::string csv = slurp(dir + "/sweep.csv");
  EXPECT_NE(csv.find(",0\n"), std::string::npos);
  ASSERT_EQ(tern_sweep_report_write(dir.c_str(), &r, err, sizeof err), 0) << err;
  struct stat st;
  EXPECT_EQ(stat((dir + "/pareto.png").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1000);
  std::string front = slurp(dir + "/pareto_front.dat");
  EXPECT_NE(front.find("0 4000 3000 \"array=4x4\"\n1 9000 6000 \"array=8x8\"\n3 30000 9000"),
            std::string::npos)
      << front;
  std::string md = slurp(dir + "/report.md");
  EXPECT_NE(md.find("3 of the points with synthesis numbers are on the Pareto front"),
            std::string::npos);
  EXPECT_NE(md.find("1 point files are missing: 4"), std::string::npos);
  EXPECT_NE(md.find("![decode tokens/s against LUTs with the Pareto front (front points "
                    "labelled; every point numbered by its index, the # column below)](pareto.png)"),
            std::string::npos);
  tern_sweep_result_free(&r);
  EXPECT_EQ(system(("rm -rf '" + dir + "'").c_str()), 0);
}

// synth_scope = array with a real synthesis (generic gates: about a second per
// array size): one synthesis per array size whatever the other parameters,
// the PE array's numbers (32 FFs per PE, no multiplier), the cache, a cache
// older than an RTL source synthesised again, and the report's axis saying
// what the LUTs cover.
TEST(Sweep, ArrayScopeSynthesisPerArraySize) {
  if (system("command -v yosys >/dev/null 2>&1") != 0) GTEST_SKIP() << "yosys not installed";
  Spec sp(std::string("[workload]\nname = arr\nmodel = tiny\nprefill = 2\ndecode = 1\n"
                      "synth = generic\nsynth_scope = array\n") +
          kSmallHw + "[grid]\narray = 2x2, 2x4\ndram_bw = 4, 8\n");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  EXPECT_EQ(sp.s.synth_array_only, 1);
  std::string dir = tmpdir("arr");
  char err[2048] = "";
  tern_sweep_point p[4];
  for (int k = 0; k < 4; k++)
    ASSERT_EQ(tern_sweep_run_point(&sp.s, k, dir.c_str(), &p[k], nullptr, err, sizeof err), 0)
        << err;
  // points 0, 1: 2x2 at dram_bw 4 and 8 -> one synthesis, the second cached
  EXPECT_STREQ(p[0].synth_rtl_name, "r2c2-array");
  EXPECT_STREQ(p[1].synth_rtl_name, "r2c2-array");
  EXPECT_STREQ(p[2].synth_rtl_name, "r2c4-array");
  EXPECT_EQ(p[0].synth_cached, 0);
  EXPECT_EQ(p[1].synth_cached, 1);
  EXPECT_EQ(p[3].synth_cached, 1);
  for (int k = 0; k < 4; k++) {
    EXPECT_STREQ(p[k].synth_scope, "array");
    EXPECT_EQ(p[k].synth_ffs, 32u * (uint64_t)p[k].pes) << k; // psum registers only
    EXPECT_EQ(p[k].synth_luts, p[k].synth_array_luts) << k;
    EXPECT_EQ(p[k].synth_array_mul_free, 1) << k;
    EXPECT_DOUBLE_EQ(p[k].synth_luts_per_pe, p[0].synth_luts_per_pe) << k;
  }
  EXPECT_EQ(p[2].synth_luts, 2 * p[0].synth_luts);
  // a result older than an RTL source is not reused
  std::string res = dir + "/synth/generic/r2c2-array/sweep-synth.json";
  ASSERT_EQ(system(("touch -d '2001-01-01' '" + res + "'").c_str()), 0);
  tern_sweep_point again;
  ASSERT_EQ(tern_sweep_run_point(&sp.s, 1, dir.c_str(), &again, nullptr, err, sizeof err), 0)
      << err;
  EXPECT_EQ(again.synth_cached, 0);
  EXPECT_EQ(again.synth_luts, p[1].synth_luts);

  tern_sweep_result r;
  ASSERT_EQ(tern_sweep_merge(dir.c_str(), &r, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_sweep_report_write(dir.c_str(), &r, err, sizeof err), 0) << err;
  tern_sweep_result_free(&r);
  std::string gp = slurp(dir + "/pareto.gp");
  EXPECT_NE(gp.find("LUTs (Yosys synth_generic, PE array alone)"), std::string::npos) << gp;
  std::string md = slurp(dir + "/report.md");
  EXPECT_NE(md.find("the vector unit, DMA, scratchpads and control are not included"),
            std::string::npos);
  EXPECT_NE(slurp(dir + "/sweep.csv").find(",synth_scope,"), std::string::npos);
}

TEST(Sweep, EmittedJobListsRunEveryPoint) {
  Spec sp("[workload]\nname = em\nmodel = tiny\n[grid]\narray = 4x4, 8x8\ndram_bw = 4, 8\n");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  auto text = [&](tern_sweep_emit_kind k) {
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    EXPECT_EQ(tern_sweep_emit_text(f, k, &sp.s, "/abs/spec.ini", "/abs/out", "/abs/tern"), 0);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    return s;
  };
  std::string slurm = text(TERN_SWEEP_EMIT_SLURM);
  EXPECT_NE(slurm.find("#SBATCH --array=0-3\n"), std::string::npos) << slurm;
  EXPECT_NE(slurm.find("/abs/tern sweep /abs/spec.ini --point \"$SLURM_ARRAY_TASK_ID\" --out "
                       "/abs/out\n"),
            std::string::npos)
      << slurm;
  EXPECT_NE(slurm.find("/abs/tern sweep-merge /abs/out"), std::string::npos);
  std::string par = text(TERN_SWEEP_EMIT_PARALLEL);
  for (int k = 0; k < 4; k++) {
    char line[256];
    snprintf(line, sizeof line,
             "/abs/tern sweep /abs/spec.ini --point %d --out /abs/out >/abs/out/logs/p%04d.log "
             "2>&1\n",
             k, k);
    EXPECT_NE(par.find(line), std::string::npos) << par;
  }
  EXPECT_EQ(std::count(par.begin(), par.end(), '\n'), 4);
  std::string mk = text(TERN_SWEEP_EMIT_MAKE);
  EXPECT_NE(mk.find("$(OUT)/points/p0003.json"), std::string::npos);
  EXPECT_NE(mk.find("$(TERN) sweep $(SPEC) --point $* --out $(OUT)"), std::string::npos);
  EXPECT_NE(mk.find("$(TERN) sweep-merge $(OUT)"), std::string::npos);

  // the files, and the GNU parallel wrapper with --sshloginfile
  std::string dir = tmpdir("emit");
  char err[1024] = "", path[1200];
  ASSERT_EQ(tern_sweep_emit_files(TERN_SWEEP_EMIT_PARALLEL, &sp.s, "/abs/spec.ini", dir.c_str(),
                                  "/abs/tern", path, sizeof path, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(std::string(path), dir + "/sweep.jobs");
  std::string sh = slurp(dir + "/sweep-parallel.sh");
  EXPECT_NE(sh.find("--sshloginfile"), std::string::npos);
  EXPECT_NE(sh.find("parallel --joblog " + dir + "/logs/parallel.joblog \"$@\" < " + dir +
                    "/sweep.jobs"),
            std::string::npos)
      << sh;
  EXPECT_EQ(tern_sweep_emit_files(TERN_SWEEP_EMIT_SLURM, &sp.s, "/abs/my spec.ini", dir.c_str(),
                                  "/abs/tern", path, sizeof path, err, sizeof err),
            -1);
  EXPECT_NE(std::string(err).find("the spec path '/abs/my spec.ini': expected a path of"),
            std::string::npos)
      << err;
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

TEST(Sweep, CommandLineMessages) {
  tern_sweep_args a;
  int help;
  char err[512];
  auto parse = [&](std::vector<const char *> v) {
    v.insert(v.begin(), {"tern", "sweep"});
    return tern_sweep_parse_args((int)v.size(), const_cast<char **>(v.data()), &a, &help, err,
                                 sizeof err);
  };
  ASSERT_EQ(parse({"s.ini", "--jobs", "3", "--out", "o", "--point", "0007"}), 0) << err;
  EXPECT_EQ(a.jobs, 3);
  EXPECT_EQ(a.point, 7);
  EXPECT_STREQ(a.out, "o");
  EXPECT_EQ(parse({"s.ini", "--emit", "pbs"}), -1);
  EXPECT_STREQ(err, "--emit: 'pbs', expected slurm, parallel or make");
  EXPECT_EQ(parse({"s.ini", "--jobs", "0"}), -1);
  EXPECT_STREQ(err, "--jobs: '0', expected an integer in 1..256");
  EXPECT_EQ(parse({"--jobs", "2"}), -1);
  EXPECT_NE(std::string(err).find("missing SPEC"), std::string::npos);
  EXPECT_EQ(parse({"s.ini", "--emit", "slurm", "--point", "1"}), -1);
  EXPECT_EQ(parse({"s.ini", "--frobnicate"}), -1);
  EXPECT_NE(std::string(err).find("unknown option '--frobnicate'"), std::string::npos);
}

// RTL validation of a point on the 4x4 RTL test configuration (built by
// `make rtl-test-libs`): every counter of every program equal
TEST(Sweep, RtlValidatedPointIsEqualToTheCycle) {
  tern_hwcfg t4 = tern_hwcfg_small(4, 4);
  char hw[512];
  snprintf(hw, sizeof hw,
           "[hw]\nwbuf_depth = %d\nabuf_depth = %d\nacc_depth = %d\nout_depth = %d\nqdepth = %d\n"
           "imem_depth = %d\ndram_lat = %d\n",
           t4.wbuf_depth, t4.abuf_depth, t4.acc_depth, t4.out_depth, t4.qdepth, t4.imem_depth,
           t4.dram_lat);
  Spec sp(std::string("[workload]\nmodel = tiny\nprefill = 2\ndecode = 1\nrtl_validate = all\n") +
          hw + "[points]\npoint = array=4x4 dram_bw=4\n");
  ASSERT_EQ(sp.rc, 0) << sp.err;
  char n1[128], n2[128];
  tern_hwcfg_rtl_name(&sp.s.hw[0], n1, sizeof n1);
  tern_hwcfg_rtl_name(&t4, n2, sizeof n2);
  ASSERT_STREQ(n1, n2); // the prebuilt test library
  std::string dir = tmpdir("rtl");
  char err[2048] = "";
  tern_sweep_point p;
  ASSERT_EQ(tern_sweep_run_point(&sp.s, 0, dir.c_str(), &p, nullptr, err, sizeof err), 0)
      << err << " / " << p.rtl_note;
  EXPECT_EQ(p.rtl_validated, 1);
  EXPECT_EQ(p.rtl_equal, 1) << p.rtl_note;
  EXPECT_EQ(p.rtl_prefill_cycles, p.prefill_cycles);
  EXPECT_EQ(p.rtl_decode_cycles, p.decode_cycles);
  EXPECT_NE(std::string(p.rtl_note).find("counters of all"), std::string::npos) << p.rtl_note;
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

// ---- parser fuzzing (the pattern of tests/test_parsers_fuzz.cc) -------------

// One spec text: refused with -1 and a message naming the input ("fuzz..."),
// or accepted with points that are all valid configurations (returns 1).
int SpecParseOne(const std::string &t) {
  tern_sweep_spec s;
  char err[2048] = "";
  int rc = tern_sweep_spec_parse(t.c_str(), "fuzz", nullptr, &s, err, sizeof err);
  if (rc != 0) {
    EXPECT_EQ(rc, -1) << t;
    EXPECT_EQ(strncmp(err, "fuzz", 4), 0) << err << "\nfor:\n" << t;
    return 0;
  }
  EXPECT_GE(s.npoints, 1) << t;
  for (int k = 0; k < s.npoints; k++)
    EXPECT_EQ(tern_hwcfg_check(&s.hw[k], err, sizeof err), 0) << err << "\n" << t;
  tern_sweep_spec_free(&s);
  return 1;
}

// Seeded mutations of the example specs: never crashes; a refused text gets -1
// and a message naming the input ("fuzz..."); an accepted one has points that
// are all valid configurations.
TEST(SweepFuzz, SpecParser) {
  std::vector<std::string> seeds = {
      slurp(TERN_ROOT "/reports/sweeps/sweep-tiny.ini"),
      std::string("[workload]\nmodel = hawk-tiny\nsynth = generic\nsynth_scope = array\n"
                  "rtl_validate = 0, 1\n[points]\npoint = array=4x4 dram_bw=4 psum_bits=min\n"
                  "point = rows=8 cols=16 clock_mhz=150.5 psum_bits=32\n"),
      std::string("[workload]\nmodel = tiny\nsynth_set = acc_depth=32 out_depth=32\n") +
          kSmallHw + "[grid]\narray = 4x4, 8x8\nqdepth = 2, 4\n"};
  ASSERT_GT(seeds[0].size(), 100u);
  const std::vector<const char *> tokens = {
      "=", "\n", "[", "]", "[grid]", "[points]", "[hw]", "[workload]", ",", " ", ";", "x",
      "0", "-1", "min", "4x4", "99999999999", "point = ", "array", "psum_bits", "synth_scope",
      "design", "first 3", "all", "none", "\t", "\r\n"};
  tern_test::FuzzCase fc(4242, 1500, 50000);
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    SCOPED_TRACE(c.dir);
    for (const auto &part : c.parts) SpecParseOne(part.second);
  }
  tern_test::FuzzRng rnd{fc.seed()};
  const int iters = (int)fc.count();
  int accepted = 0;
  for (int it = 0; it < iters; it++) {
    std::string t = seeds[rnd(seeds.size())];
    tern_test::Mutate(t, rnd, tokens);
    fc.Input(it, {tern_test::Bytes("spec.ini", t)});
    accepted += SpecParseOne(t);
    if (fc.Failed()) return;
  }
  EXPECT_GT(accepted, iters / 50);
  EXPECT_LT(accepted, iters);
}

// The JSON readers of point files and synthesis results (what sweep-merge and
// the synthesis cache read back): mutated files either read or fail with -1
// and a message naming the file.
TEST(SweepFuzz, PointAndSynthJsonReaders) {
  std::string dir = tmpdir("fuzzjson");
  tern_sweep_point p;
  memset(&p, 0, sizeof p);
  p.index = 3;
  p.n_points = 8;
  snprintf(p.label, sizeof p.label, "array=8x8 \"q\" \\ x");
  snprintf(p.synth_scope, sizeof p.synth_scope, "array");
  p.decode_tokens_per_s = 1234.5;
  p.synth_luts = 2624;
  p.psum_bits = 12;
  tern_synth_result sr;
  memset(&sr, 0, sizeof sr);
  sr.target = TERN_SYNTH_ICE40;
  sr.hw = tern_synth_hw_default(8, 8);
  sr.unit[TERN_SYNTH_U_ARRAY].luts = 2624;
  sr.luts_per_pe = 41;
  sr.fmax_mhz = 107.5;
  snprintf(sr.critical_path, sizeof sr.critical_path, "from \"a\" to b");
  std::string seeds[2];
  for (int w = 0; w < 2; w++) {
    std::string path = dir + (w ? "/seed_synth.json" : "/seed_point.json");
    FILE *f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(w ? tern_synth_write_json(f, &sr) : tern_sweep_point_write(f, &p), 0);
    fclose(f);
    seeds[w] = slurp(path);
    ASSERT_GT(seeds[w].size(), 50u);
  }
  // the seeds themselves read back
  char err[2048];
  tern_sweep_point pb;
  ASSERT_EQ(tern_sweep_point_read((dir + "/seed_point.json").c_str(), &pb, err, sizeof err), 0)
      << err;
  EXPECT_STREQ(pb.label, p.label);
  EXPECT_EQ(pb.psum_bits, 12);
  tern_synth_result sb;
  ASSERT_EQ(tern_synth_read_json((dir + "/seed_synth.json").c_str(), &sb, err, sizeof err), 0)
      << err;
  EXPECT_EQ(sb.hw.rows, 8);
  EXPECT_EQ(sb.hw.psum_bits, 32);
  const std::vector<const char *> tokens = {"{", "}", "\"", ":", ",", "[", "]", "\\", "\\u00",
                                            "1e999", "-", "null", "true", "\"unit\"", "\n"};
  tern_test::FuzzCase fc(777, 1500, 40000);
  std::string path = tern_test::FuzzTmpPath("fuzz.json");  // tmpfs: no writeback waits
  // regression cases: both readers on every file
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    SCOPED_TRACE(c.dir);
    for (const auto &part : c.parts) {
      FILE *f = fopen(path.c_str(), "wb");
      ASSERT_NE(f, nullptr);
      fwrite(part.second.data(), 1, part.second.size(), f);
      fclose(f);
      for (int w = 0; w < 2; w++) {
        err[0] = 0;
        int rc = w ? tern_synth_read_json(path.c_str(), &sb, err, sizeof err)
                   : tern_sweep_point_read(path.c_str(), &pb, err, sizeof err);
        if (rc != 0) {
          ASSERT_EQ(rc, -1) << part.first;
          ASSERT_NE(std::string(err).find(path), std::string::npos) << part.first << ": " << err;
        }
      }
    }
  }
  tern_test::FuzzRng rnd{fc.seed()};
  const int iters = (int)fc.count();
  int ok[2] = {0, 0}, bad[2] = {0, 0};
  for (int it = 0; it < iters; it++) {
    int w = (int)rnd(2);
    std::string t = seeds[w];
    tern_test::Mutate(t, rnd, tokens);
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(t.data(), 1, t.size(), f);
    fclose(f);
    fc.Input(it, {tern_test::Bytes(w ? "synth.json" : "point.json", t)});
    err[0] = 0;
    int rc = w ? tern_synth_read_json(path.c_str(), &sb, err, sizeof err)
               : tern_sweep_point_read(path.c_str(), &pb, err, sizeof err);
    if (rc == 0) {
      ok[w]++;
    } else {
      bad[w]++;
      EXPECT_EQ(rc, -1);
      EXPECT_NE(std::string(err).find(path), std::string::npos) << err;
    }
    if (fc.Failed()) break;
  }
  remove(path.c_str());
  if (::testing::Test::HasFailure()) return;
  for (int w = 0; w < 2; w++) {
    EXPECT_GT(ok[w], 0) << w;
    EXPECT_GT(bad[w], 0) << w;
  }
  EXPECT_EQ(system(("rm -rf '" + dir + "'").c_str()), 0);
}

}  // namespace
