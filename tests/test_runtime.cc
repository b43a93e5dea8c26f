// Runtime: tern_run end to end on the ISA simulator, and the CLI argument parser.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/report.h"
#include "tern/runtime.h"

namespace {

struct Argv {
  std::vector<std::string> s;
  std::vector<char *> p;
  explicit Argv(std::initializer_list<const char *> a) {
    s.emplace_back("tern");
    for (const char *x : a) s.emplace_back(x);
    for (auto &x : s) p.push_back(&x[0]);
    p.push_back(nullptr);
  }
  int argc() const { return (int)s.size(); }
  char **argv() { return p.data(); }
};

// tern_cli keeps pointers into argv (as tern.c's main() relies on), so the
// arguments of every Parse stay alive until the process ends: a deque never
// moves its elements, and Argv's char pointers point into its own strings.
int Parse(std::initializer_list<const char *> a, tern_cli *cli, std::string *msg) {
  static std::deque<Argv> keep;
  Argv &v = keep.emplace_back(a);
  char err[1024] = "";
  int rc = tern_cli_parse(v.argc(), v.argv(), cli, err, sizeof err);
  *msg = err;
  return rc;
}

void ExpectBad(std::initializer_list<const char *> a, const std::string &needle1,
               const std::string &needle2 = "") {
  tern_cli cli;
  std::string msg;
  EXPECT_NE(Parse(a, &cli, &msg), 0) << "accepted: " << needle1;
  EXPECT_NE(msg.find(needle1), std::string::npos) << msg;
  if (!needle2.empty()) {
    EXPECT_NE(msg.find(needle2), std::string::npos) << msg;
  }
}

}  // namespace

TEST(RuntimeCli, GoodArguments) {
  tern_cli cli;
  std::string msg;
  ASSERT_EQ(Parse({"run", "--backend", "isa", "--array", "8x8", "--tokens", "4", "--d", "64",
                   "--f=128", "--layers", "2", "--act", "silu", "--seed", "7", "--set",
                   "dram_bw=32", "--set", "clock_mhz=500", "--tech", "7nm", "--report", "out/x",
                   "--input-seed", "0x10"},
                  &cli, &msg),
            0)
      << msg;
  EXPECT_EQ(cli.cmd, TERN_CMD_RUN);
  EXPECT_STREQ(cli.run.backend, "isa");
  EXPECT_EQ(cli.run.hw.rows, 8);
  EXPECT_EQ(cli.run.hw.cols, 8);
  EXPECT_EQ(cli.run.hw.dram_bw, 32);  // --set after --array 8x8 (the small test config) wins
  EXPECT_EQ(cli.run.hw.wbuf_depth, tern_hwcfg_small(8, 8).wbuf_depth);
  EXPECT_DOUBLE_EQ(cli.run.hw.clock_mhz, 500.0);
  EXPECT_EQ(cli.run.tokens, 4);
  EXPECT_EQ(cli.run.model.d, 64);
  EXPECT_EQ(cli.run.model.f, 128);
  EXPECT_EQ(cli.run.model.layers, 2);
  EXPECT_EQ(cli.run.model.act, TERN_ACT_SILU);
  EXPECT_EQ(cli.run.model.seed, 7u);
  EXPECT_STREQ(cli.run.tech, "7nm");
  EXPECT_STREQ(cli.report_dir, "out/x");
  EXPECT_EQ(cli.run.input_seed, 16u);

  ASSERT_EQ(Parse({"bench-gemm", "--M", "64", "--K", "768", "--N", "768", "--backend", "rtl"},
                  &cli, &msg),
            0)
      << msg;
  EXPECT_EQ(cli.cmd, TERN_CMD_BENCH_GEMM);
  EXPECT_EQ(cli.gemm_m, 64);
  EXPECT_EQ(cli.gemm_k, 768);
  EXPECT_EQ(cli.gemm_n, 768);
  ASSERT_EQ(Parse({"run", "--array", "32x16"}, &cli, &msg), 0) << msg;
  EXPECT_EQ(cli.run.hw.rows, 32);
  EXPECT_EQ(cli.run.hw.cols, 16);
  EXPECT_EQ(cli.run.hw.wbuf_depth, tern_hwcfg_default().wbuf_depth);
  ASSERT_EQ(Parse({"disasm", "prog.tbin"}, &cli, &msg), 0) << msg;
  EXPECT_STREQ(cli.in, "prog.tbin");
  ASSERT_EQ(Parse({"asm", "in.s", "-o", "out.bin"}, &cli, &msg), 0) << msg;
  EXPECT_STREQ(cli.out, "out.bin");
  ASSERT_EQ(Parse({"run", "--help"}, &cli, &msg), 0);
  EXPECT_TRUE(cli.help);
  ASSERT_EQ(Parse({"models"}, &cli, &msg), 0);
  EXPECT_EQ(cli.cmd, TERN_CMD_MODELS);
  ASSERT_EQ(Parse({}, &cli, &msg), 0);
  EXPECT_EQ(cli.cmd, TERN_CMD_NONE);
  for (int c = 0; c < TERN_CMD_COUNT; c++)
    EXPECT_NE(std::string(tern_cli_usage((tern_cli_cmd)c)).find("usage: tern"), std::string::npos);
}

TEST(RuntimeCli, BadArguments) {
  ExpectBad({"frobnicate"}, "unknown command 'frobnicate'");
  ExpectBad({"run", "--backend", "fpga"}, "--backend", "expected isa or rtl");
  ExpectBad({"run", "--array", "16"}, "--array", "RxC");
  ExpectBad({"run", "--array", "3x3"}, "--array", "power of two");
  ExpectBad({"run", "--tokens", "0"}, "--tokens", "1..65535");
  ExpectBad({"run", "--tokens", "many"}, "--tokens", "expected an integer");
  ExpectBad({"run", "--tokens"}, "--tokens needs a value");
  ExpectBad({"run", "--d", "-3"}, "--d", "expected an integer");
  ExpectBad({"run", "--act", "gelu"}, "--act", "relu2 or silu");
  ExpectBad({"run", "--seed", "-1"}, "--seed", "unsigned");
  ExpectBad({"run", "--set", "dram_bw"}, "--set", "key=value");
  ExpectBad({"run", "--set", "warp=9"}, "--set warp=9", "unknown hardware config key");
  ExpectBad({"run", "--set", "dram_bw=3"}, "dram_bw", "power of two");
  ExpectBad({"run", "--tech", "3nm"}, "--tech", "45nm or 7nm");
  ExpectBad({"run", "--tech", "../x"}, "--tech");
  ExpectBad({"run", "--trace", "x.fst"}, "--trace", "--backend rtl");
  ExpectBad({"run", "--frob"}, "unknown flag '--frob'");
  ExpectBad({"run", "-o", "x"}, "unknown flag '-o'");          // not a run flag
  ExpectBad({"run", "stray"}, "unexpected argument 'stray'");
  ExpectBad({"gen-weights"}, "-o FILE is required");
  ExpectBad({"compile", "--dump-after"}, "--dump-after needs a value");
  ExpectBad({"compile", "--dump-after", "bogus", "-o", "p.tbin"}, "--dump-after", "expected build");
  ExpectBad({"asm", "in.s"}, "-o FILE is required");
  ExpectBad({"disasm"}, "input file is required");
  ExpectBad({"exec"}, "input file is required");
  ExpectBad({"bench-gemm", "--M", "1", "--K", "8"}, "--N is required");
  ExpectBad({"bench-gemm", "--M", "0", "--K", "8", "--N", "8"}, "--M", "expected an integer");
  ExpectBad({"models", "--d", "3"}, "unknown flag '--d'");
}

// End to end on the ISA simulator: small MLP on the 4x4 test configuration.
TEST(RuntimeRun, SmallMlpIsaBitExact) {
  tern_run_config rc;
  tern_run_config_default(&rc);
  rc.backend = "isa";
  rc.hw = tern_hwcfg_small(4, 4);
  rc.tokens = 3;
  rc.model.d = 32;
  rc.model.f = 64;
  rc.model.layers = 2;
  rc.model.act = TERN_ACT_RELU2;
  rc.model.seed = 5;
  rc.input_seed = 9;
  tern_run_result *r = new tern_run_result;
  char err[2048] = "";
  ASSERT_EQ(tern_run(&rc, r, err, sizeof err), 0) << err;
  EXPECT_TRUE(r->bit_exact) << "first mismatch token " << r->mm_token << " elem " << r->mm_elem
                            << " got " << r->mm_got << " expected " << r->mm_expected;
  EXPECT_EQ(r->n_values, 3u * 32);
  EXPECT_EQ(r->n_mismatch, 0u);
  EXPECT_GE(r->cosine, 0.99);
  EXPECT_TRUE(std::isfinite(r->max_abs_err));
  const uint64_t cyc = r->cnt.v[TERN_CNT_CYCLES];
  ASSERT_GT(cyc, 0u);
  EXPECT_EQ(r->macs, 3u * 2 * 2 * 32 * 64);
  EXPECT_DOUBLE_EQ(r->ideal_cycles, r->macs / 16.0);
  EXPECT_GT(r->utilisation, 0.0);
  EXPECT_LE(r->utilisation, 1.0);
  EXPECT_DOUBLE_EQ(r->tokens_per_s, 3 * 200e6 / (double)cyc);
  EXPECT_DOUBLE_EQ(r->dram_bytes_per_token,
                   (r->cnt.v[TERN_CNT_DRAM_RD_BYTES] + r->cnt.v[TERN_CNT_DRAM_WR_BYTES]) / 3.0);
  // every non-zero weight of every token is one PE add; zero codes are skips
  EXPECT_EQ(r->cnt.v[TERN_CNT_PE_ADDS] + r->cnt.v[TERN_CNT_PE_SKIPS] >= r->macs, true);
  EXPECT_GT(r->energy.total_pj, 0.0);
  EXPECT_GT(r->energy.fp16_arith_pj, r->energy.tern_arith_pj);
  // the run's ISA-sim cycle model is deterministic
  tern_run_result *r2 = new tern_run_result;
  ASSERT_EQ(tern_run(&rc, r2, err, sizeof err), 0) << err;
  EXPECT_EQ(r2->cnt.v[TERN_CNT_CYCLES], cyc);

  // the report writes its files
  char dir[] = "/tmp/tern_report_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string sub = std::string(dir) + "/a/b";
  int rep = tern_report_write(sub.c_str(), r, err, sizeof err);
  for (const char *f : {"report.md", "report.html", "cycles.dat", "cycles.gp", "energy.dat", "energy.gp"}) {
    FILE *fp = fopen((sub + "/" + f).c_str(), "r");
    EXPECT_NE(fp, nullptr) << f;
    if (fp) fclose(fp);
  }
  if (rep == 0) {
    for (const char *f : {"cycles.png", "energy.png"}) {
      FILE *fp = fopen((sub + "/" + f).c_str(), "r");
      EXPECT_NE(fp, nullptr) << f;
      if (fp) fclose(fp);
    }
  } else {
    // only acceptable failure: gnuplot missing on this machine
    EXPECT_NE(std::string(err).find("gnuplot"), std::string::npos) << err;
  }
  delete r;
  delete r2;
}

TEST(RuntimeRun, SiluOn8x8) {
  tern_run_config rc;
  tern_run_config_default(&rc);
  rc.hw = tern_hwcfg_small(8, 8);
  rc.tokens = 2;
  rc.model.d = 48;  // not a multiple of 16: exercises padding
  rc.model.f = 80;
  rc.model.layers = 1;
  rc.model.act = TERN_ACT_SILU;
  rc.model.seed = 11;
  tern_run_result *r = new tern_run_result;
  char err[2048] = "";
  ASSERT_EQ(tern_run(&rc, r, err, sizeof err), 0) << err;
  EXPECT_TRUE(r->bit_exact) << "first mismatch token " << r->mm_token << " elem " << r->mm_elem
                            << " got " << r->mm_got << " expected " << r->mm_expected;
  EXPECT_GE(r->cosine, 0.99);
  delete r;
}

TEST(RuntimeRun, Errors) {
  tern_run_config rc;
  tern_run_config_default(&rc);
  tern_run_result *r = new tern_run_result;
  char err[2048] = "";
  rc.backend = "gpu";
  EXPECT_NE(tern_run(&rc, r, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("expected isa or rtl"), std::string::npos) << err;
  rc.backend = "isa";
  rc.tokens = 0;
  EXPECT_NE(tern_run(&rc, r, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("tokens"), std::string::npos) << err;
  rc.tokens = 1;
  rc.weights_path = "/nonexistent/w.twt";
  EXPECT_NE(tern_run(&rc, r, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("/nonexistent/w.twt"), std::string::npos) << err;
  rc.weights_path = nullptr;
  rc.tech = "5nm";
  EXPECT_NE(tern_run(&rc, r, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("5nm.tsv"), std::string::npos) << err;
  rc.tech = "45nm";
  rc.hw.rows = 3;
  EXPECT_NE(tern_run(&rc, r, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("rows"), std::string::npos) << err;
  // unknown backend through the uniform entry point
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  tern_counters c;
  EXPECT_NE(tern_backend_run("gpu", &hw, nullptr, 0, nullptr, 0, nullptr, &c, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("expected isa or rtl"), std::string::npos) << err;
  delete r;
}

// tern_backend_run("rtl") error paths, with stand-in libraries built by gcc in a
// private $TERN_RTL_DIR: a missing symbol and a configuration mismatch.
namespace {
bool BuildFakeRtl(const std::string &dir, const tern_hwcfg &cfg, bool all_symbols, int built_rows) {
  char name[256];
  tern_hwcfg_rtl_name(&cfg, name, sizeof name);
  std::string sub = dir + "/" + name;
  std::string src = dir + "/fake_" + name + ".c";
  FILE *f = fopen(src.c_str(), "w");
  if (!f) return false;
  fprintf(f,
          "#include \"tern/backend.h\"\n"
          "void tern_rtl_built_config(tern_hwcfg *c) {\n"
          "  c->rows = %d; c->cols = %d; c->wbuf_depth = %d; c->abuf_depth = %d;\n"
          "  c->acc_depth = %d; c->out_depth = %d; c->qdepth = %d; c->imem_depth = %d;\n"
          "  c->dram_bw = %d; }\n",
          built_rows, cfg.cols, cfg.wbuf_depth, cfg.abuf_depth, cfg.acc_depth, cfg.out_depth,
          cfg.qdepth, cfg.imem_depth, cfg.dram_bw);
  if (all_symbols)
    fprintf(f,
            "tern_rtl *tern_rtl_create(const tern_hwcfg *c, char *e, size_t n) { (void)c; (void)e; (void)n; return 0; }\n"
            "int tern_rtl_load(tern_rtl *h, const tern_word *w, size_t n, char *e, size_t l) { (void)h; (void)w; (void)n; (void)e; (void)l; return -1; }\n"
            "int tern_rtl_run(tern_rtl *h, uint8_t *d, uint64_t b, const tern_run_opts *o, tern_counters *c, char *e, size_t l) { (void)h; (void)d; (void)b; (void)o; (void)c; (void)e; (void)l; return -1; }\n"
            "void tern_rtl_destroy(tern_rtl *h) { (void)h; }\n");
  fclose(f);
  std::string cmd = "mkdir -p '" + sub + "' && gcc -shared -fPIC -I" TERN_ROOT "/include -o '" +
                    sub + "/libtern_rtl.so' '" + src + "'";
  return system(cmd.c_str()) == 0;
}
}  // namespace

TEST(RuntimeBackend, RtlLibraryErrors) {
  char dir[] = "/tmp/tern_rtlfake_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  tern_hwcfg a = tern_hwcfg_small(4, 4);
  a.qdepth = 5;  // names no real build
  tern_hwcfg b = a;
  b.qdepth = 6;
  ASSERT_TRUE(BuildFakeRtl(dir, a, false, a.rows));
  ASSERT_TRUE(BuildFakeRtl(dir, b, true, 8));
  const char *old = getenv("TERN_RTL_DIR");
  std::string saved = old ? old : "";
  setenv("TERN_RTL_DIR", dir, 1);
  tern_insn end = {};
  end.op = TERN_OP_END;
  uint8_t dram[64] = {};
  tern_counters c;
  char err[2048] = "";
  EXPECT_NE(tern_backend_run("rtl", &a, &end, 1, dram, sizeof dram, nullptr, &c, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("symbol tern_rtl_create missing"), std::string::npos) << err;
  EXPECT_NE(tern_backend_run("rtl", &b, &end, 1, dram, sizeof dram, nullptr, &c, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("was built for rows=8"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("expected rows=4"), std::string::npos) << err;
  if (old) setenv("TERN_RTL_DIR", saved.c_str(), 1);
  else unsetenv("TERN_RTL_DIR");
  std::string rm = std::string("rm -rf '") + dir + "'";
  EXPECT_EQ(system(rm.c_str()), 0);
}

// The same run on the RTL (4x4 test library, built by `make rtl-test-libs` or on demand)
// and on the ISA simulator: same outputs (both bit-exact) and every counter equal.
TEST(RuntimeRun, RtlAndIsaAgree) {
  tern_run_config rc;
  tern_run_config_default(&rc);
  rc.hw = tern_hwcfg_small(4, 4);
  rc.tokens = 2;
  rc.model.d = 16;
  rc.model.f = 32;
  rc.model.layers = 1;
  rc.model.seed = 3;
  tern_run_result *ri = new tern_run_result, *rr = new tern_run_result;
  char err[2048] = "";
  rc.backend = "isa";
  ASSERT_EQ(tern_run(&rc, ri, err, sizeof err), 0) << err;
  rc.backend = "rtl";
  ASSERT_EQ(tern_run(&rc, rr, err, sizeof err), 0) << err;
  EXPECT_TRUE(ri->bit_exact);
  EXPECT_TRUE(rr->bit_exact);
  for (int i = 0; i < TERN_NCOUNTERS; i++)
    EXPECT_EQ(rr->cnt.v[i], ri->cnt.v[i]) << tern_counter_name(i);
  EXPECT_DOUBLE_EQ(rr->energy.total_pj, ri->energy.total_pj);
  delete ri;
  delete rr;
}
