// `tern compare` (runtime/compare.c, reports/report.c): the method's premise
// -- a decode step measured after a short prefill and a seek to position L-1
// costs exactly what it costs after a real (L-1)-token prefill, counter for
// counter, because the accelerator's timing and events do not depend on data
// values -- for the transformer and each recurrent kind; the KV / state split
// of the DRAM bytes; weights that do not depend on max_seq; the argument
// parser's messages; and a small end-to-end comparison with its report.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tern/compare.h"
#include "tern/counters.h"
#include "tern/energy.h"
#include "tern/isa.h"
#include "tern/report.h"
#include "tern/rnn.h"
#include "tern/tfm.h"

namespace {

struct Model {
  tern_compare_model *m = nullptr;
  Model(const char *name, int max_context) {
    char err[1024] = "";
    m = tern_compare_model_new(name, max_context, err, sizeof err);
    EXPECT_NE(m, nullptr) << name << ": " << err;
  }
  ~Model() { tern_compare_model_free(m); }
};

struct Point {
  tern_compare_point p;
  Point() { memset(&p, 0, sizeof p); }
  ~Point() { tern_compare_point_free(&p); }
};

int Measure(const tern_compare_model *m, int L, int prefill, Point *pt, std::string *err,
            const tern_hwcfg *hw = nullptr) {
  char e[1024] = "";
  tern_hwcfg h = hw ? *hw : tern_hwcfg_default();
  int rc = tern_compare_measure(m, "isa", &h, nullptr, nullptr, L, prefill, &pt->p, e, sizeof e);
  *err = e;
  return rc;
}

// Every counter of every program of the two decode steps; the number of
// differences (the first few reported).
int DiffCounters(const tern_compare_point &a, const tern_compare_point &b, const char *what) {
  EXPECT_EQ(a.nprog, b.nprog) << what;
  if (a.nprog != b.nprog) return 1;
  int bad = 0;
  for (int i = 0; i < a.nprog; i++)
    for (int k = 0; k < TERN_NCOUNTERS; k++)
      if (a.prog[i].v[k] != b.prog[i].v[k] && ++bad <= 5)
        ADD_FAILURE() << what << ": program " << i << " counter " << tern_counter_name(k)
                      << ": real prefill " << a.prog[i].v[k] << ", prefill + seek "
                      << b.prog[i].v[k];
  return bad;
}

// Real (L-1)-token prefill, then the decode at L-1, against a 4-token prefill +
// seek to L-1 + the decode: identical counters, all of them, program by
// program; and the split bytes.  Then the decode 16 positions later (the
// attention reads cached positions in words of 16 lanes at 16x16): its
// counters differ iff the model's mixer reads a growing context (so the
// comparison above can tell steps apart).
void SeekEqualsRealPrefill(const char *name, bool grows_at_40) {
  const int L = 40;
  Model m(name, L + 16);
  ASSERT_NE(m.m, nullptr);
  Point real, seek, next;
  std::string err;
  ASSERT_EQ(Measure(m.m, L, L - 1, &real, &err), 0) << name << ": " << err;
  ASSERT_EQ(Measure(m.m, L, 4, &seek, &err), 0) << name << ": " << err;
  ASSERT_GT(real.p.nprog, 3) << name;
  EXPECT_EQ(DiffCounters(real.p, seek.p, name), 0) << name;
  for (int k = 0; k < TERN_NCOUNTERS; k++)
    EXPECT_EQ(real.p.total.v[k], seek.p.total.v[k]) << name << " " << tern_counter_name(k);
  EXPECT_EQ(real.p.kv_rd, seek.p.kv_rd) << name;
  EXPECT_EQ(real.p.kv_wr, seek.p.kv_wr) << name;
  EXPECT_EQ(real.p.state_rd, seek.p.state_rd) << name;
  EXPECT_EQ(real.p.state_wr, seek.p.state_wr) << name;
  EXPECT_EQ(real.p.weight_bytes, seek.p.weight_bytes) << name;
  EXPECT_GT(real.p.weight_bytes, 0u) << name;
  // the split is part of the run's DRAM bytes
  EXPECT_LE(real.p.weight_bytes + real.p.kv_rd + real.p.kv_wr + real.p.state_rd +
                real.p.state_wr,
            real.p.dram_rd + real.p.dram_wr)
      << name;
  ASSERT_EQ(Measure(m.m, L + 16, 4, &next, &err), 0) << name << ": " << err;
  if (grows_at_40) {
    EXPECT_GT(next.p.cycles, seek.p.cycles) << name << ": one more position, more cycles";
    EXPECT_GT(next.p.kv_rd, seek.p.kv_rd) << name;
  } else {
    EXPECT_EQ(next.p.cycles, seek.p.cycles) << name << ": cost independent of the position";
    EXPECT_EQ(next.p.kv_rd, seek.p.kv_rd) << name;
  }
}

TEST(CompareSeek, TransformerCountersEqualRealPrefill) {
  SeekEqualsRealPrefill("tiny", true);
  Model m("tiny", 64);
  ASSERT_NE(m.m, nullptr);
  Point p;
  std::string err;
  ASSERT_EQ(Measure(m.m, 40, 4, &p, &err), 0) << err;
  EXPECT_GT(p.p.kv_rd, 0u);   // the ATTN programs read the cache
  EXPECT_GT(p.p.kv_wr, 0u);   // and append this position's K, V
  EXPECT_EQ(p.p.state_rd + p.p.state_wr, 0u);
}

TEST(CompareSeek, HawkCountersEqualRealPrefill) {
  SeekEqualsRealPrefill("hawk-tiny", false);
  Model m("hawk-tiny", 64);
  ASSERT_NE(m.m, nullptr);
  Point p;
  std::string err;
  ASSERT_EQ(Measure(m.m, 40, 4, &p, &err), 0) << err;
  EXPECT_GT(p.p.state_rd, 0u);
  EXPECT_GT(p.p.state_wr, 0u);
  EXPECT_EQ(p.p.kv_rd + p.p.kv_wr, 0u);
}

// griffin-tiny's window is 32: at 40 and 56 its local attention reads 32
// positions (three 16-position words both times), so the step costs the same.
TEST(CompareSeek, GriffinCountersEqualRealPrefill) { SeekEqualsRealPrefill("griffin-tiny", false); }

TEST(CompareSeek, MatmulFreeCountersEqualRealPrefill) {
  SeekEqualsRealPrefill("matmulfree-tiny", false);
}

// A Griffin of local-attention blocks only ('a' pattern): the recurrent
// runner's KV path with the window, whose reads grow until the window is full.
TEST(CompareSeek, LocalAttentionOnlyGriffin) {
  char path[] = "/tmp/tern_compare_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const char text[] =
      "[model]\nname = griffin-a-tiny\narch = griffin\nvocab = 256\ndim = 64\nlayers = 2\n"
      "heads = 4\nlru_width = 96\nffn = 192\nwindow = 64\npattern = a\n";
  ASSERT_EQ(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  SeekEqualsRealPrefill(path, true);
  unlink(path);
}

// The KV split comes from the executed DMAs: one more context position adds
// exactly one position's K column and V row per KV head and pass to the reads
// (contexts 128, 256, 384: equal steps of whole 16-lane words).
TEST(CompareSeek, TransformerKvBytesGrowLinearly) {
  Model m("tiny", 512);
  ASSERT_NE(m.m, nullptr);
  Point a, b, c;
  std::string err;
  ASSERT_EQ(Measure(m.m, 128, 4, &a, &err), 0) << err;
  ASSERT_EQ(Measure(m.m, 256, 4, &b, &err), 0) << err;
  ASSERT_EQ(Measure(m.m, 384, 4, &c, &err), 0) << err;
  // equal steps of context add equal KV reads; writes (one position) stay the same
  EXPECT_EQ(b.p.kv_rd - a.p.kv_rd, c.p.kv_rd - b.p.kv_rd);
  EXPECT_GT(b.p.kv_rd, a.p.kv_rd);
  EXPECT_EQ(a.p.kv_wr, c.p.kv_wr);
  EXPECT_EQ(a.p.weight_bytes, c.p.weight_bytes);
}

// tern compare --backend rtl: the Verilated RTL (8x8 test configuration)
// gives the ISA simulator's counters, every one, for the seek measurement of
// the transformer and a recurrent model.
TEST(CompareSeek, RtlEqualsIsa) {
  const tern_hwcfg hw = tern_hwcfg_small(8, 8);
  for (const char *name : {"tiny", "griffin-tiny"}) {
    Model m(name, 64);
    ASSERT_NE(m.m, nullptr);
    Point isa, rtl;
    char e[1024] = "";
    ASSERT_EQ(tern_compare_measure(m.m, "isa", &hw, nullptr, nullptr, 40, 4, &isa.p, e, sizeof e), 0)
        << name << ": " << e;
    ASSERT_EQ(tern_compare_measure(m.m, "rtl", &hw, nullptr, nullptr, 40, 4, &rtl.p, e, sizeof e), 0)
        << name << ": " << e;
    EXPECT_EQ(DiffCounters(isa.p, rtl.p, name), 0) << name;
    EXPECT_EQ(isa.p.kv_rd, rtl.p.kv_rd) << name;
    EXPECT_EQ(isa.p.state_rd, rtl.p.state_rd) << name;
  }
}

// The demo measures 8192 positions with acc_depth = 8192 (the attention keeps
// a row's scores in ACC): a deeper ACC changes no counter at a context that
// fits the default one, and the energy table charges it at the same class.
TEST(CompareSeek, DeeperAccChangesNoCounter) {
  Model m("tiny", 4096);
  ASSERT_NE(m.m, nullptr);
  tern_hwcfg deep = tern_hwcfg_default();
  deep.acc_depth = 8192;
  Point a, b;
  std::string err;
  ASSERT_EQ(Measure(m.m, 4096, 4, &a, &err), 0) << err;
  ASSERT_EQ(Measure(m.m, 4096, 4, &b, &err, &deep), 0) << err;
  EXPECT_EQ(DiffCounters(a.p, b.p, "acc_depth 4096 vs 8192"), 0);
  tern_hwcfg def = tern_hwcfg_default();
  EXPECT_EQ(tern_energy_sram_class(tern_energy_buffer_bytes(&def, TERN_MEM_ACC)),
            tern_energy_sram_class(tern_energy_buffer_bytes(&deep, TERN_MEM_ACC)));
}

TEST(CompareSeek, BadPrefillAndTooLongContext) {
  Model m("tiny", 8192);
  ASSERT_NE(m.m, nullptr);
  Point p;
  std::string err;
  EXPECT_NE(Measure(m.m, 40, 40, &p, &err), 0);
  EXPECT_NE(err.find("prefill 40 at context 40"), std::string::npos) << err;
  EXPECT_NE(Measure(m.m, 40, 0, &p, &err), 0);
  // 8192 positions of scores do not fit the default ACC: the compiler says so
  EXPECT_NE(Measure(m.m, 8192, 4, &p, &err), 0);
  EXPECT_NE(err.find("acc_depth"), std::string::npos) << err;
}

// The max_seq copy: the weights and every integer constant but the RoPE
// tables are those of the preset (per-tensor PRNG streams).
TEST(CompareModel, WeightsDoNotDependOnMaxSeq) {
  tern_tfm_config a, b;
  char err[512];
  ASSERT_EQ(tern_tfm_load_config("tiny", &a, err, sizeof err), 0) << err;
  b = a;
  b.max_seq = 8192;
  tern_tfm_model ma, mb;
  memset(&ma, 0, sizeof ma);
  memset(&mb, 0, sizeof mb);
  ASSERT_EQ(tern_tfm_generate(&a, &ma, 0, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_tfm_generate(&b, &mb, 0, err, sizeof err), 0) << err;
  auto same = [](const tern_tpacked &x, const tern_tpacked &y) {
    return x.k == y.k && x.n == y.n && x.beta == y.beta &&
           !memcmp(x.codes, y.codes, tern_tpacked_bytes(x.k, x.n));
  };
  for (int l = 0; l < a.layers; l++) {
    EXPECT_TRUE(same(ma.block[l].wq, mb.block[l].wq)) << l;
    EXPECT_TRUE(same(ma.block[l].wk, mb.block[l].wk)) << l;
    EXPECT_TRUE(same(ma.block[l].wv, mb.block[l].wv)) << l;
    EXPECT_TRUE(same(ma.block[l].wo, mb.block[l].wo)) << l;
    EXPECT_TRUE(same(ma.block[l].ffn->up, mb.block[l].ffn->up)) << l;
    EXPECT_TRUE(same(ma.block[l].ffn->down, mb.block[l].ffn->down)) << l;
  }
  EXPECT_EQ(memcmp(ma.embed.q, mb.embed.q, (size_t)a.vocab * a.dim), 0);
  EXPECT_EQ(memcmp(ma.embed.scale, mb.embed.scale, (size_t)a.vocab * sizeof(float)), 0);
  tern_tfm_free(&ma);
  tern_tfm_free(&mb);
  Model m("tiny", 8192);  // the compare model says what it changed
  ASSERT_NE(m.m, nullptr);
  EXPECT_STREQ(tern_compare_model_name(m.m), "tiny");
  EXPECT_FALSE(tern_compare_model_is_recurrent(m.m));
  char e2[1024];
  EXPECT_EQ(tern_compare_model_new("no-such-model", 64, e2, sizeof e2), nullptr);
  EXPECT_NE(std::string(e2).find("no-such-model"), std::string::npos) << e2;
}

int ParseArgs(std::vector<const char *> args, tern_compare_config *c, std::string *err) {
  args.insert(args.begin(), "compare");
  args.insert(args.begin(), "tern");
  char e[1024] = "";
  int help = 0;
  int rc = tern_compare_parse_args((int)args.size(), const_cast<char **>(args.data()), c, &help,
                                   e, sizeof e);
  *err = e;
  return rc;
}

TEST(CompareCli, DefaultsAndErrors) {
  tern_compare_config c;
  std::string err;
  ASSERT_EQ(ParseArgs({}, &c, &err), 0) << err;
  ASSERT_EQ(c.n_models, 3);
  EXPECT_STREQ(c.models[0], "tiny");
  EXPECT_STREQ(c.models[1], "hawk-tiny");
  EXPECT_STREQ(c.models[2], "griffin-tiny");
  ASSERT_EQ(c.n_contexts, 8);
  EXPECT_EQ(c.contexts[0], 64);
  EXPECT_EQ(c.contexts[7], 8192);
  EXPECT_STREQ(c.backend, "isa");
  EXPECT_EQ(c.hw.rows, 16);
  ASSERT_EQ(ParseArgs({"hawk-tiny", "--contexts", "16,32", "--set", "acc_depth=8192", "--array",
                       "8x8", "--backend", "rtl", "--prefill", "2", "--report", "/tmp/x"},
                      &c, &err),
            0)
      << err;
  EXPECT_EQ(c.n_models, 1);
  EXPECT_EQ(c.n_contexts, 2);
  EXPECT_EQ(c.contexts[1], 32);
  EXPECT_EQ(c.hw.rows, 8);
  EXPECT_EQ(c.hw.acc_depth, 1024);  // --array 8x8 after --set replaces the configuration
  EXPECT_STREQ(c.report_dir, "/tmp/x");
  struct {
    std::vector<const char *> args;
    const char *msg;
  } bad[] = {
      {{"--contexts", "64,32"}, "--contexts: 32 after 64, expected strictly increasing"},
      {{"--contexts", "64,x"}, "--contexts: 'x', expected an integer"},
      {{"--contexts", ""}, "--contexts: '', expected comma-separated"},
      {{"--contexts", "4"}, "expected every context > --prefill (4)"},
      {{"--backend", "cpu"}, "--backend: 'cpu', expected isa or rtl"},
      {{"--set", "acc_depth"}, "--set: 'acc_depth', expected key=value"},
      {{"--set", "nosuch=3"}, "--set nosuch=3"},
      {{"--array", "3x3"}, "--array 3x3: rows = 3"},
      {{"--prefill", "0"}, "--prefill: '0', expected an integer in 1..4096"},
      {{"--tokens", "3"}, "unknown option '--tokens' for tern compare"},
      {{"--report"}, "--report: missing value"},
  };
  for (auto &b : bad) {
    EXPECT_NE(ParseArgs(b.args, &c, &err), 0) << b.msg;
    EXPECT_NE(err.find(b.msg), std::string::npos) << "got: " << err << "\nexpected: " << b.msg;
  }
}

TEST(CompareRun, BadModelFailsBeforeRunning) {
  tern_compare_config c;
  tern_compare_config_default(&c);
  c.n_models = 2;
  c.models[0] = "tiny";
  c.models[1] = "no-such-model";
  tern_compare_result r;
  char err[2048] = "";
  EXPECT_EQ(tern_compare_run(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::string(err).find("MODEL 'no-such-model': not a transformer"), std::string::npos)
      << err;
  EXPECT_EQ(r.nmodels, 0);
  tern_compare_result_free(&r);
  tern_compare_config_default(&c);
  c.tech = "9nm";
  EXPECT_EQ(tern_compare_run(&c, &r, nullptr, err, sizeof err), -2);
  EXPECT_NE(std::string(err).find("--tech"), std::string::npos) << err;
  tern_compare_result_free(&r);
}

// A small comparison end to end: two contexts of the transformer and of Hawk,
// the verdict from the runs, the report files.
TEST(CompareRun, SmallRunAndReport) {
  tern_compare_config c;
  tern_compare_config_default(&c);
  c.n_models = 2;
  c.models[0] = "tiny";
  c.models[1] = "hawk-tiny";
  c.n_contexts = 3;
  c.contexts[0] = 16;
  c.contexts[1] = 128;
  c.contexts[2] = 8192;  // does not fit the default ACC for the transformer: recorded, skipped
  tern_compare_result r;
  char err[1024] = "";
  ASSERT_EQ(tern_compare_run(&c, &r, nullptr, err, sizeof err), 0) << err;
  ASSERT_EQ(r.nmodels, 2);
  const tern_compare_model_result &t = r.model[0], &h = r.model[1];
  EXPECT_FALSE(t.recurrent);
  EXPECT_TRUE(h.recurrent);
  EXPECT_EQ(t.first, 0);
  EXPECT_EQ(t.last, 1);
  EXPECT_FALSE(t.pt[2].measured);
  EXPECT_NE(std::string(t.pt[2].note).find("acc_depth"), std::string::npos) << t.pt[2].note;
  EXPECT_EQ(h.last, 2);  // the recurrent model needs no ACC for the context
  EXPECT_GT(t.cycles_ratio, 1.2);
  EXPECT_DOUBLE_EQ(h.cycles_ratio, 1.0);
  EXPECT_GT(t.pt[1].energy_pj, t.pt[0].energy_pj);
  EXPECT_DOUBLE_EQ(h.pt[2].energy_pj, h.pt[0].energy_pj);
  EXPECT_NE(std::string(r.verdict).find("hawk-tiny 8192/16 = 1.00 (flat)"), std::string::npos)
      << r.verdict;
  EXPECT_NE(std::string(r.verdict).find("tiny 128/16 = "), std::string::npos) << r.verdict;
  EXPECT_NE(std::string(r.verdict).find("(grows; larger contexts not measured)"), std::string::npos) << r.verdict;
  char dir[] = "/tmp/tern_compare_rep_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(tern_compare_report_write(dir, &r, err, sizeof err), 0) << err;
  for (const char *f : {"compare.md", "compare.html", "compare.png", "bytes.png", "compare.dat"}) {
    struct stat st;
    std::string p = std::string(dir) + "/" + f;
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    EXPECT_GT(st.st_size, 100) << p;
  }
  FILE *f = fopen((std::string(dir) + "/compare.md").c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string md;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) md.append(buf, n);
  fclose(f);
  EXPECT_NE(md.find(r.verdict), std::string::npos);
  EXPECT_NE(md.find("Context 8192 not measured"), std::string::npos);
  EXPECT_NE(md.find("tests/test_compare.cc"), std::string::npos);
  std::string cmd = std::string("rm -rf '") + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  tern_compare_result_free(&r);
}

}  // namespace
