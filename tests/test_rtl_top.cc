// `tern rtl-top` and rtl/tern.core (runtime/rtl_top.c, issue 5 item 5): the
// generated wrapper lints clean with verilator -Wall together with rtl/*.sv
// for two configurations (and a broken one does not), Yosys elaborates it
// read as plain Verilog, its source list is rtl/*.sv, bad --array / --set /
// --name give a message naming the field; the FuseSoC core file passes the
// CAPI2 structure check of scripts/check_core.py (FuseSoC is not packaged
// for Debian), lists the same files in the same order, its lint target's
// verilator command is clean, and broken copies of it are rejected.
#include <gtest/gtest.h>

#include "run_cmd.h"

#include <glob.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "tern/counters.h"
#include "tern/rtl_top.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

const std::string kRoot = TERN_ROOT;

bool HaveTool(const char *cmd) {
  std::string c = std::string("command -v ") + cmd + " >/dev/null 2>&1";
  return system(c.c_str()) == 0;
}

using tern_test::RunCmd;

std::string ReadFile(const std::string &path) {
  std::string s;
  FILE *f = fopen(path.c_str(), "r");
  if (!f) return s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

void WriteFile(const std::string &path, const std::string &s) {
  FILE *f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(fwrite(s.data(), 1, s.size(), f), s.size());
  ASSERT_EQ(fclose(f), 0);
}

struct TempDir {
  std::string path;
  TempDir() {
    char d[] = "/tmp/tern_rtl_top_XXXXXX";
    if (mkdtemp(d)) path = d;
  }
  ~TempDir() {
    if (!path.empty()) {
      std::string c = "rm -rf '" + path + "'";
      if (system(c.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path.c_str());
    }
  }
};

std::vector<std::string> RtlSvFiles() {
  std::vector<std::string> v;
  glob_t g;
  if (glob((kRoot + "/rtl/*.sv").c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) v.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return v;
}

std::string RtlSvArgs() {
  std::string s;
  for (const std::string &f : RtlSvFiles()) s += " '" + f + "'";
  return s;
}

// tern rtl-top argv -> config, via the command's own parser; the config
// points into the argument strings, so they live as long as the test
// (a deque of vectors: elements never move and are freed at exit, where the
// raw pointers kept before were reported as leaks by LeakSanitizer)
std::vector<std::string> *Keep(std::vector<std::string> args) {
  static std::deque<std::vector<std::string>> kept;
  args.insert(args.begin(), {"tern", "rtl-top"});
  kept.push_back(std::move(args));
  return &kept.back();
}

int Parse(const std::vector<std::string> &args, tern_rtl_top_config *c, std::string *err) {
  std::vector<std::string> *kept = Keep(args);
  std::vector<char *> av;
  for (std::string &a : *kept) av.push_back(&a[0]);
  char e[1024] = "";
  int help = 0;
  int rc = tern_rtl_top_parse_args((int)av.size(), av.data(), c, &help, e, sizeof e);
  *err = e;
  return rc;
}

std::string Lint(const std::string &module, const std::string &file) {
  std::string out;
  int rc = RunCmd("verilator --lint-only -Wall --top-module " + module + " -I'" + kRoot + "/rtl'" +
                   RtlSvArgs() + " '" + file + "'",
               &out);
  return rc == 0 && out.empty() ? "" : "exit " + std::to_string(rc) + ": " + out;
}

TEST(RtlTop, SourcesAreTheRtlDirectory) {
  std::vector<std::string> want = RtlSvFiles(), got;
  ASSERT_GE(want.size(), 8u);
  for (const char *const *s = tern_rtl_top_sources(); *s; s++) got.push_back(kRoot + "/" + *s);
  EXPECT_EQ(got.back(), kRoot + "/rtl/tern_top.sv");  // top last
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  struct stat st;
  EXPECT_EQ(stat((kRoot + "/" + tern_rtl_top_include()).c_str(), &st), 0);
}

// 4x4 and 8x8 (the RTL test configurations) with the default module and file
// names, plus a 16x8 with --set, its own name and a file name that differs
TEST(RtlTop, GeneratedTopLintsCleanWithRtl) {
  if (!HaveTool("verilator")) GTEST_SKIP() << "verilator not installed (make test installs it)";
  TempDir td;
  ASSERT_FALSE(td.path.empty());
  struct Case {
    std::vector<std::string> args;
    std::string module, file;
    int bw;
  };
  const Case cases[] = {
      {{"--array", "4x4"}, "tern_top_r4c4_w64_a256_c512_o256_q4_i8192_b4", "", 4},
      {{"--array", "8x8"}, "tern_top_r8c8_w64_a512_c1024_o512_q4_i8192_b8", "", 8},
      {{"--array", "16x8", "--set", "wbuf_depth=32", "--set", "dram_bw=32", "--name", "my_accel",
        "-o", td.path + "/accel_top.v"},
       "my_accel",
       td.path + "/accel_top.v",
       32},
  };
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  for (const Case &k : cases) {
    tern_rtl_top_config c;
    std::string err;
    ASSERT_EQ(Parse(k.args, &c, &err), 0) << err;
    char path[1024], e[1024] = "";
    // default file name: <module>.v in the current directory
    ASSERT_EQ(chdir(td.path.c_str()), 0);
    int rc = tern_rtl_top_write_file(&c, path, sizeof path, e, sizeof e);
    ASSERT_EQ(chdir(cwd), 0);
    ASSERT_EQ(rc, 0) << e;
    std::string file = k.file.empty() ? td.path + "/" + k.module + ".v" : k.file;
    if (k.file.empty()) {
      EXPECT_EQ(std::string(path), k.module + ".v");
    }
    std::string v = ReadFile(file);
    ASSERT_FALSE(v.empty()) << file;
    EXPECT_NE(v.find("module " + k.module + " ("), std::string::npos);
    EXPECT_NE(v.find(".ROWS      (" + std::to_string(c.hw.rows) + ")"), std::string::npos);
    EXPECT_NE(v.find(".DRAM_BW   (" + std::to_string(k.bw) + ")"), std::string::npos);
    EXPECT_NE(v.find("input  wire [" + std::to_string(8 * k.bw - 1) + ":0]"), std::string::npos);
    // the header lists every source file and every counter
    for (const char *const *s = tern_rtl_top_sources(); *s; s++)
      EXPECT_NE(v.find(std::string("//   ") + *s + "\n"), std::string::npos) << *s;
    for (int i = 0; i < TERN_NCOUNTERS; i++)
      EXPECT_NE(v.find(tern_counter_name(i)), std::string::npos) << tern_counter_name(i);
    EXPECT_EQ(v.find("lint_off DECLFILENAME") != std::string::npos, !k.file.empty());
    EXPECT_EQ(Lint(k.module, file), "") << file;
  }
  // the check can fail: a wrapper that leaves a tern_top output unconnected
  std::string v = ReadFile(td.path + "/" + cases[1].module + ".v");
  size_t at = v.find("      .dbg_state_o  (dbg_state_o)\n");
  ASSERT_NE(at, std::string::npos);
  v.erase(at, strlen("      .dbg_state_o  (dbg_state_o)\n"));
  at = v.find("(dbg_fifo_o),");
  ASSERT_NE(at, std::string::npos);
  v.replace(at, strlen("(dbg_fifo_o),"), "(dbg_fifo_o)");
  std::string bad = td.path + "/broken/" + cases[1].module + ".v";
  ASSERT_EQ(mkdir((td.path + "/broken").c_str(), 0755), 0);
  WriteFile(bad, v);
  std::string msg = Lint(cases[1].module, bad);
  EXPECT_NE(msg.find("PINMISSING"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dbg_state_o"), std::string::npos) << msg;
}

// a vendor flow that reads the wrapper as Verilog-2001 (no -sv) and the RTL as
// SystemVerilog: Yosys elaborates the hierarchy with the fixed parameters
TEST(RtlTop, YosysElaboratesWrapperAsVerilog2001) {
  if (!HaveTool("yosys")) GTEST_SKIP() << "yosys not installed (make test installs it)";
  TempDir td;
  ASSERT_FALSE(td.path.empty());
  tern_rtl_top_config c;
  std::string err;
  std::string file = td.path + "/t4.v";
  ASSERT_EQ(Parse({"--array", "4x4", "--name", "t4", "-o", file}, &c, &err), 0) << err;
  char e[1024] = "";
  ASSERT_EQ(tern_rtl_top_write_file(&c, nullptr, 0, e, sizeof e), 0) << e;
  std::string srcs;
  for (const char *const *s = tern_rtl_top_sources(); *s; s++) srcs += " " + kRoot + "/" + *s;
  std::string out;
  int rc = RunCmd("yosys -p 'read_verilog -sv -I" + kRoot + "/rtl" + srcs + "; read_verilog " + file +
                   "; hierarchy -check -top t4'",
               &out);
  EXPECT_EQ(rc, 0) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_NE(out.find("Top module:  \\t4"), std::string::npos);
  EXPECT_EQ(out.find("Warning:"), std::string::npos) << out.substr(out.find("Warning:"), 400);
  EXPECT_NE(out.find("Parameter \\ROWS = 4"), std::string::npos);
}

TEST(RtlTop, BadArgumentsNameTheField) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {{"--array", "3x4"}, {"--array 3x4", "rows = 3", "power of two"}},
      {{"--array", "8by8"}, {"--array", "expected RxC"}},
      {{"--array", "128x4"}, {"rows = 128", "2..64"}},
      {{"--set", "wbuf_depth=0"}, {"wbuf_depth = 0", "1..65536"}},
      {{"--set", "acc_depth=lots"}, {"acc_depth", "lots", "non-negative integer"}},
      {{"--set", "dram_bw=24"}, {"dram_bw = 24", "power of two"}},
      {{"--set", "qdepth=300"}, {"qdepth = 300", "1..255"}},
      {{"--set", "dram_lat=8"}, {"dram_lat", "run-time", "expected rows, cols"}},
      {{"--set", "clock_mhz=100"}, {"clock_mhz", "run-time"}},
      {{"--set", "depth=4"}, {"unknown key 'depth'", "wbuf_depth"}},
      {{"--set", "wbuf_depth"}, {"--set", "key=value"}},
      {{"--name", "9lives"}, {"--name", "9lives", "Verilog identifier"}},
      {{"--name", "tern_pe"}, {"--name", "tern_pe", "module of rtl/"}},
      {{"--name", "a-b"}, {"--name", "a-b"}},
      {{"-o", ""}, {"-o", "empty"}},
      {{"-o"}, {"-o", "missing value"}},
      {{"--bogus", "1"}, {"--bogus", "expected --array, --set, --name or -o"}},
  };
  for (const Case &k : cases) {
    tern_rtl_top_config c;
    std::string err;
    std::string label;
    for (const std::string &a : k.args) label += a + " ";
    EXPECT_EQ(Parse(k.args, &c, &err), -1) << label;
    for (const std::string &w : k.want) EXPECT_NE(err.find(w), std::string::npos) << label << ": " << err;
  }
  // a file that cannot be written: the message names it, nothing is left
  tern_rtl_top_config c;
  std::string err;
  ASSERT_EQ(Parse({"-o", "/nonexistent-dir/x.v"}, &c, &err), 0) << err;
  char e[1024] = "";
  EXPECT_EQ(tern_rtl_top_write_file(&c, nullptr, 0, e, sizeof e), -1);
  EXPECT_NE(std::string(e).find("/nonexistent-dir/x.v: cannot write"), std::string::npos) << e;
  // the writer refuses a configuration the parser would refuse
  tern_rtl_top_config_default(&c);
  c.hw.cols = 6;
  EXPECT_EQ(tern_rtl_top_write(&c, stdout, e, sizeof e), -1);
  EXPECT_NE(std::string(e).find("cols = 6"), std::string::npos) << e;
  // and the defaults are the 16x16 configuration
  ASSERT_EQ(Parse({}, &c, &err), 0) << err;
  char name[256];
  tern_rtl_top_module_name(&c.hw, name, sizeof name);
  EXPECT_STREQ(name, "tern_top_r16c16_w256_a4096_c4096_o2048_q8_i65536_b16");
}

std::string Python() {
  for (const char *py : {"/usr/bin/python3", "python3"}) {  // Debian python3-yaml first
    std::string c = std::string(py) + " -c 'import yaml' >/dev/null 2>&1";
    if (system(c.c_str()) == 0) return py;
  }
  return "";
}

TEST(RtlTop, FuseSocCoreFile) {
  const std::string py = Python();
  if (py.empty()) GTEST_SKIP() << "python3 with the yaml module not found (apt-get install python3-yaml)";
  const std::string chk = py + " '" + kRoot + "/scripts/check_core.py' ";
  const std::string core = kRoot + "/rtl/tern.core";
  std::string out;
  ASSERT_EQ(RunCmd(chk + "'" + core + "'", &out), 0) << out;
  EXPECT_NE(out.find("CAPI2 ok: tern:accel:tern_top:0.1.0"), std::string::npos) << out;
  EXPECT_NE(out.find("targets default, lint, synth"), std::string::npos) << out;
  // the core lists the sources of tern rtl-top, in the same order
  ASSERT_EQ(RunCmd(chk + "'" + core + "' --files", &out), 0) << out;
  std::string want;
  for (const char *const *s = tern_rtl_top_sources(); *s; s++) want += std::string(*s).substr(4) + "\n";
  EXPECT_EQ(out, want);
  // the lint target's verilator command (as Edalize builds it) is clean
  if (HaveTool("verilator")) {
    ASSERT_EQ(RunCmd(chk + "'" + core + "' --lint-cmd lint", &out), 0) << out;
    EXPECT_NE(out.find("-Wall\n"), std::string::npos) << out;
    EXPECT_NE(out.find("-GROWS=4\n"), std::string::npos) << out;
    std::string cmd;
    size_t p = 0, q;
    while ((q = out.find('\n', p)) != std::string::npos) {
      cmd += "'" + out.substr(p, q - p) + "' ";
      p = q + 1;
    }
    std::string lint;
    EXPECT_EQ(RunCmd(cmd, &lint), 0) << cmd << "\n" << lint;
    EXPECT_EQ(lint, "") << cmd;
  }
  // broken copies (next to copies of the RTL files) are rejected, naming the problem
  TempDir td;
  ASSERT_FALSE(td.path.empty());
  std::string cp = "cp '" + kRoot + "/rtl/'*.sv '" + kRoot + "/rtl/'*.vh '" + td.path + "/'";
  ASSERT_EQ(system(cp.c_str()), 0);
  const std::string text = ReadFile(core);
  struct Mut {
    std::string from, to, want;
  };
  const Mut muts[] = {
      {"      - ROWS=4\n      - COLS=4\n      - WBUF_DEPTH=64\n      - ABUF_DEPTH=256\n      - ACC_DEPTH=512\n"
       "      - OUT_DEPTH=256\n      - QDEPTH=4\n      - IMEM_DEPTH=8192\n      - DRAM_BW=4\n\n  synth:",
       "      - ROWZ=4\n\n  synth:", "'ROWZ' is not a parameter"},
      {"      - tern_fifo.sv\n", "", "differ from the .sv files"},
      {"      - tern_top.sv\n", "      - tern_top.sv\n      - tern_missing.sv\n", "'tern_missing.sv': no such file"},
      {"    paramtype: vlogparam\n  COLS:", "    paramtype: vlogparm\n  COLS:", "parameters.ROWS.paramtype"},
      {"name: tern:accel:tern_top:0.1.0", "name: tern_top", "VLNV"},
      {"CAPI=2:\n", "CAPI=1:\n", "line 1"},
      {"    filesets:\n      - rtl\n    toplevel", "    filesets:\n      - rtl_files\n    toplevel",
       "'rtl_files' is not a fileset"},
      {"        mode: lint-only", "        mode: lint_only", "tools.verilator.mode"},
  };
  for (const Mut &m : muts) {
    size_t at = text.find(m.from);
    ASSERT_NE(at, std::string::npos) << m.from;
    std::string t = text;
    t.replace(at, m.from.size(), m.to);
    WriteFile(td.path + "/tern.core", t);
    EXPECT_EQ(RunCmd(chk + "'" + td.path + "/tern.core'", &out), 1) << m.want << ": " << out;
    EXPECT_NE(out.find(m.want), std::string::npos) << out;
  }
  // the unchanged copy passes there too
  WriteFile(td.path + "/tern.core", text);
  EXPECT_EQ(RunCmd(chk + "'" + td.path + "/tern.core'", &out), 0) << out;
}

}  // namespace
