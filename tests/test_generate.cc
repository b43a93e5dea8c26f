// `tern generate` (runtime/generate.c), its CLI parsing (runtime/run.c), and
// the integer reference on the CPU kernels (models/tfm_int.c): kernel choice
// does not change a bit of the logits.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tern/cpu_kernels.h"
#include "tern/generate.h"
#include "tern/report.h"
#include "tern/runtime.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"
#include "tfm_fixtures.h"

namespace {
int Parse(std::vector<const char *> args, tern_cli *cli, std::string *err) {
  char e[512] = "";
  args.insert(args.begin(), "tern");
  int rc = tern_cli_parse((int)args.size(), const_cast<char **>(args.data()), cli, e, sizeof e);
  *err = e;
  return rc;
}

const char *const kTinyPresets[] = {"tiny", "nemotron4-style-tiny", "starcoder2-style-tiny"};

using Model = tern_test::QModel;

// All-position logits of a fresh prefill of tokens.
std::vector<int32_t> Prefill(const tern_tfm_qmodel *q, const std::vector<int> &tokens,
                             bool all) {
  char err[512];
  std::vector<int32_t> lg((all ? tokens.size() : 1) * (size_t)q->cfg.vocab);
  tern_tfm_ictx *x = tern_tfm_ictx_new(q, (int)tokens.size(), err, sizeof err);
  EXPECT_NE(x, nullptr) << err;
  if (!x) return {};
  EXPECT_EQ(tern_tfm_iprefill(x, tokens.data(), (int)tokens.size(), lg.data(), all ? 1 : 0, err,
                              sizeof err),
            0)
      << err;
  tern_tfm_ictx_free(x);
  return lg;
}

std::vector<int> PromptTokens(const char *text, int vocab) {
  std::vector<int> t(strlen(text));
  int n = tern_tfm_fidelity_tokens(text, vocab, t.data(), (int)t.size());
  t.resize((size_t)n);
  return t;
}

int Generate(const char *model, const char *prompt, int tokens, double temp, int top_k,
             uint64_t seed, int kernel, tern_gen_result *r, std::string *err,
             const char *backend = "cpu") {
  tern_gen_config c;
  tern_gen_config_default(&c);
  c.model = model;
  c.prompt = prompt;
  c.tokens = tokens;
  c.temperature = temp;
  c.top_k = top_k;
  c.seed = seed;
  c.kernel = kernel;
  c.backend = backend;
  char e[512] = "";
  int rc = tern_generate(&c, r, nullptr, e, sizeof e);
  *err = e;
  return rc;
}
}  // namespace

TEST(CliGenerate, ParsesFlags) {
  tern_cli cli;
  std::string err;
  ASSERT_EQ(Parse({"generate", "tiny", "--prompt", "Hello", "--tokens", "5", "--backend", "cpu",
                   "--temperature", "0.7", "--top-k", "12", "--seed", "42"},
                  &cli, &err),
            0)
      << err;
  EXPECT_EQ(cli.cmd, TERN_CMD_GENERATE);
  EXPECT_STREQ(cli.in, "tiny");
  EXPECT_STREQ(cli.prompt, "Hello");
  EXPECT_EQ(cli.gen_tokens, 5);
  EXPECT_STREQ(cli.gen_backend, "cpu");
  EXPECT_DOUBLE_EQ(cli.temperature, 0.7);
  EXPECT_EQ(cli.top_k, 12);
  EXPECT_EQ(cli.gen_seed, 42u);
  ASSERT_EQ(Parse({"generate", "mobilellm-125m", "--prompt=Hi", "--backend=rtl"}, &cli, &err), 0)
      << err;
  EXPECT_EQ(cli.gen_tokens, 16);
  EXPECT_STREQ(cli.gen_backend, "rtl");
  EXPECT_EQ(cli.temperature, 0.0);
  EXPECT_EQ(cli.top_k, 0);
  EXPECT_STREQ(tern_cli_cmd_name(TERN_CMD_GENERATE), "generate");
  EXPECT_NE(std::string(tern_cli_usage(TERN_CMD_GENERATE)).find("--top-k"), std::string::npos);
}

TEST(CliGenerate, BadArguments) {
  tern_cli cli;
  std::string err;
  struct Case {
    std::vector<const char *> args;
    const char *want1, *want2;
  } cases[] = {
      {{"generate", "--prompt", "x"}, "MODEL is required", ""},
      {{"generate", "tiny"}, "--prompt", "required"},
      {{"generate", "tiny", "--prompt", ""}, "--prompt", "at least one byte"},
      {{"generate", "tiny", "--prompt", "x", "--tokens", "0"}, "--tokens", "1..65504"},
      {{"generate", "tiny", "--prompt", "x", "--tokens", "abc"}, "--tokens", "expected an integer"},
      {{"generate", "tiny", "--prompt", "x", "--backend", "gpu"}, "--backend", "cpu, isa or rtl"},
      {{"generate", "tiny", "--prompt", "x", "--temperature", "-0.5"}, "--temperature", ">= 0"},
      {{"generate", "tiny", "--prompt", "x", "--temperature", "nan"}, "--temperature", "finite"},
      {{"generate", "tiny", "--prompt", "x", "--temperature", "1x"}, "--temperature", "number"},
      {{"generate", "tiny", "--prompt", "x", "--top-k", "-1"}, "--top-k", "expected an integer"},
      {{"generate", "tiny", "--prompt", "x", "--seed", "-3"}, "--seed", "unsigned"},
      {{"generate", "tiny", "--prompt", "x", "--prompts", "3"}, "--prompts", "unknown flag"},
      {{"generate", "tiny", "--prompt", "x", "other"}, "other", "unexpected"},
      {{"generate", "tiny", "--prompt"}, "--prompt", "needs a value"},
  };
  for (auto &c : cases) {
    EXPECT_NE(Parse(c.args, &cli, &err), 0) << c.want1;
    EXPECT_NE(err.find(c.want1), std::string::npos) << err;
    EXPECT_NE(err.find(c.want2), std::string::npos) << err;
  }
  // the MLP commands keep their own --backend values
  EXPECT_NE(Parse({"run", "--backend", "cpu"}, &cli, &err), 0);
  EXPECT_NE(err.find("expected isa or rtl"), std::string::npos) << err;
}

// The kernel choice (scalar definition, portable C, every SIMD variant this
// CPU has) gives the same logits bit for bit at every position.
TEST(GenerateKernel, BitIdenticalAcrossKernels) {
  for (const char *name : kTinyPresets) {
    Model M(name);
    ASSERT_TRUE(M.ok) << name;
    std::vector<int> toks = PromptTokens("int main(void) { return 0; } // kernels", M.q.cfg.vocab);
    char err[512];
    ASSERT_EQ(tern_tfm_qmodel_set_kernel(&M.q, TERN_TFM_KERNEL_SCALAR, err, sizeof err), 0) << err;
    EXPECT_STREQ(tern_tfm_kernel_name(M.q.kernel), "scalar");
    std::vector<int32_t> ref = Prefill(&M.q, toks, true);
    ASSERT_FALSE(ref.empty());
    std::vector<int> variants = {TERN_CPU_PORTABLE, (int)tern_cpu_variant_best()};
    for (int v = TERN_CPU_AVX2; v < TERN_CPU_NVARIANTS; v++)
      if (tern_cpu_variant_supported((tern_cpu_variant)v)) variants.push_back(v);
    for (int v : variants) {
      ASSERT_EQ(tern_tfm_qmodel_set_kernel(&M.q, v, err, sizeof err), 0) << err;
      EXPECT_EQ(M.q.kernel, v);
      EXPECT_EQ(M.q.block[0].wq.kernel, v);
      EXPECT_EQ(M.q.block[0].ffn->down.kernel, v);
      std::vector<int32_t> got = Prefill(&M.q, toks, true);
      ASSERT_EQ(got.size(), ref.size());
      EXPECT_EQ(memcmp(got.data(), ref.data(), ref.size() * sizeof(int32_t)), 0)
          << name << " kernel " << tern_cpu_variant_name((tern_cpu_variant)v);
    }
  }
}

TEST(GenerateKernel, SetKernelErrors) {
  Model M("tiny");
  ASSERT_TRUE(M.ok);
  char err[512] = "";
  int before = M.q.kernel;
  EXPECT_NE(tern_tfm_qmodel_set_kernel(&M.q, 99, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("expected a tern_cpu_variant"), std::string::npos) << err;
  EXPECT_EQ(M.q.kernel, before);
  for (int v = TERN_CPU_AVX2; v < TERN_CPU_NVARIANTS; v++)
    if (!tern_cpu_variant_supported((tern_cpu_variant)v)) {
      EXPECT_NE(tern_tfm_qmodel_set_kernel(&M.q, v, err, sizeof err), 0) << v;
      EXPECT_EQ(M.q.kernel, before);
    }
}

// Greedy generation is deterministic, independent of the kernel, and every
// step's integer top-1 (and its logit) equals a fresh prefill of the prompt
// plus the tokens generated so far (the decode path = the prefill path).
TEST(Generate, GreedyDeterministicAndMatchesPrefill) {
  for (const char *name : kTinyPresets) {
    const char *prompt = "The quick brown fox";
    const int N = 10;
    tern_gen_result a, b, s;
    std::string err;
    ASSERT_EQ(Generate(name, prompt, N, 0.0, 0, 0, TERN_CPU_AUTO, &a, &err), 0) << err;
    ASSERT_EQ(Generate(name, prompt, N, 0.0, 0, 7, TERN_CPU_AUTO, &b, &err), 0) << err;
    ASSERT_EQ(Generate(name, prompt, N, 0.0, 0, 0, TERN_TFM_KERNEL_SCALAR, &s, &err), 0) << err;
    ASSERT_EQ(a.n_steps, N);
    EXPECT_EQ(a.n_decode, N - 1);
    EXPECT_EQ(a.n_prompt, (int)strlen(prompt));
    EXPECT_STREQ(s.kernel, "scalar");
    Model M(name);
    ASSERT_TRUE(M.ok);
    std::vector<int> seq = PromptTokens(prompt, M.q.cfg.vocab);
    int agree = 0;
    for (int i = 0; i < N; i++) {
      EXPECT_EQ(a.step[i].token, b.step[i].token) << name << " step " << i;
      EXPECT_EQ(a.step[i].token, s.step[i].token) << name << " step " << i;
      EXPECT_EQ(a.step[i].int_logit, s.step[i].int_logit) << name << " step " << i;
      EXPECT_EQ(a.step[i].token, a.step[i].int_top1);
      std::vector<int32_t> lg = Prefill(&M.q, seq, false);
      ASSERT_FALSE(lg.empty());
      int top = tern_tfm_iargmax(lg.data(), M.q.cfg.vocab);
      EXPECT_EQ(a.step[i].int_top1, top) << name << " step " << i;
      EXPECT_EQ(a.step[i].int_logit, lg[(size_t)top]) << name << " step " << i;
      EXPECT_GE(a.step[i].float_top1, 0);
      EXPECT_EQ(a.step[i].agree, a.step[i].float_top1 == a.step[i].int_top1);
      if (a.step[i].agree) EXPECT_EQ(a.step[i].gap, 0.0);
      else EXPECT_GE(a.step[i].gap, 0.0);
      agree += a.step[i].agree;
      seq.push_back(a.step[i].token);
    }
    EXPECT_EQ(a.agree, agree);
    tern_gen_result_free(&a);
    tern_gen_result_free(&b);
    tern_gen_result_free(&s);
  }
}

// Seeded sampling: the same seed gives the same tokens, another seed other
// tokens, and every sampled token is among the top-k integer logits of a
// fresh prefill of the sequence so far.
TEST(Generate, SampledDeterministicAndRespectsTopK) {
  const char *name = "tiny";
  const char *prompt = "Once upon a time";
  const int N = 12, K = 4;
  tern_gen_result a, b, c;
  std::string err;
  ASSERT_EQ(Generate(name, prompt, N, 1.5, K, 1234, TERN_CPU_AUTO, &a, &err), 0) << err;
  ASSERT_EQ(Generate(name, prompt, N, 1.5, K, 1234, TERN_CPU_PORTABLE, &b, &err), 0) << err;
  ASSERT_EQ(Generate(name, prompt, N, 1.5, K, 99, TERN_CPU_AUTO, &c, &err), 0) << err;
  Model M(name);
  ASSERT_TRUE(M.ok);
  std::vector<int> seq = PromptTokens(prompt, M.q.cfg.vocab);
  int differ_seed = 0, not_top1 = 0;
  for (int i = 0; i < N; i++) {
    EXPECT_EQ(a.step[i].token, b.step[i].token) << "step " << i;
    differ_seed += a.step[i].token != c.step[i].token;
    not_top1 += a.step[i].token != a.step[i].int_top1;
    std::vector<int32_t> lg = Prefill(&M.q, seq, false);
    ASSERT_FALSE(lg.empty());
    int32_t chosen = lg[(size_t)a.step[i].token];
    int above = 0;
    for (int v = 0; v < M.q.cfg.vocab; v++) above += lg[(size_t)v] > chosen;
    EXPECT_LT(above, K) << "step " << i << ": token " << a.step[i].token << " is not in the top " << K;
    EXPECT_EQ(a.step[i].int_top1, tern_tfm_iargmax(lg.data(), M.q.cfg.vocab));
    seq.push_back(a.step[i].token);
  }
  EXPECT_GT(differ_seed, 0);
  EXPECT_GT(not_top1, 0);  // temperature 1.5 over 4 candidates: it did sample
  // top-k 1 is greedy whatever the temperature
  tern_gen_result g, k1;
  ASSERT_EQ(Generate(name, prompt, N, 0.0, 0, 0, TERN_CPU_AUTO, &g, &err), 0) << err;
  ASSERT_EQ(Generate(name, prompt, N, 3.0, 1, 5, TERN_CPU_AUTO, &k1, &err), 0) << err;
  for (int i = 0; i < N; i++) EXPECT_EQ(g.step[i].token, k1.step[i].token) << "step " << i;
  for (tern_gen_result *r : {&a, &b, &c, &g, &k1}) tern_gen_result_free(r);
}

// The acceptance path of issue 3: the tiny byte-level model prefills a prompt
// and decodes several tokens on the ISA simulator (16x16 and 4x4) and on the
// Verilated RTL (8x8, a test configuration); every step's logits equal the
// integer reference's bit for bit, the tokens equal the cpu backend's, and
// the RTL's cycle count of every step equals the ISA simulator's.
TEST(Generate, AcceleratorBackendsBitExact) {
  const char *prompt = "Hello";
  const int N = 4;
  tern_gen_result cpu;
  std::string err;
  ASSERT_EQ(Generate("tiny", prompt, N, 0.0, 0, 0, TERN_CPU_AUTO, &cpu, &err), 0) << err;
  struct Case {
    const char *backend;
    int rows;
  } cases[] = {{"isa", 16}, {"isa", 4}, {"isa", 8}, {"rtl", 8}};
  std::vector<uint64_t> isa8, rtl8;
  for (const Case &k : cases) {
    tern_gen_config c;
    tern_gen_config_default(&c);
    c.model = "tiny";
    c.prompt = prompt;
    c.tokens = N;
    c.backend = k.backend;
    if (k.rows != 16) c.hw = tern_hwcfg_small(k.rows, k.rows);
    tern_gen_result r;
    char e[512] = "";
    ASSERT_EQ(tern_generate(&c, &r, nullptr, e, sizeof e), 0)
        << k.backend << " " << k.rows << ": " << e;
    EXPECT_EQ(r.accel, 1);
    EXPECT_EQ(r.bit_exact_steps, N) << k.backend << " " << k.rows;
    for (int i = 0; i < N; i++) {
      EXPECT_EQ(r.step[i].token, cpu.step[i].token) << k.backend << " step " << i;
      EXPECT_EQ(r.step[i].bit_exact, 1);
      EXPECT_GT(r.step[i].cycles, 0u);
      EXPECT_GT(r.step[i].weight_bytes, 0u);
      EXPECT_GT(r.step[i].energy_pj, 0.0);
      if (k.rows == 8) (!strcmp(k.backend, "rtl") ? rtl8 : isa8).push_back(r.step[i].cycles);
    }
    EXPECT_GT(r.attn_cycles, 0u);
    EXPECT_GT(r.ffn_cycles, 0u);
    tern_gen_result_free(&r);
  }
  EXPECT_EQ(isa8, rtl8) << "RTL and ISA simulator cycle counts per step differ";
  tern_gen_result_free(&cpu);
}

TEST(Generate, BadConfig) {
  tern_gen_result r;
  std::string err;
  EXPECT_EQ(Generate("no-such-model", "Hi", 2, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("no-such-model"), std::string::npos) << err;
  EXPECT_EQ(Generate("tiny", "", 2, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("--prompt"), std::string::npos) << err;
  EXPECT_EQ(Generate("tiny", "Hi", 0, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("--tokens"), std::string::npos) << err;
  EXPECT_EQ(Generate("tiny", "Hi", 2, -1.0, 0, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("--temperature"), std::string::npos) << err;
  EXPECT_EQ(Generate("tiny", "Hi", 2, 0.0, -2, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("--top-k"), std::string::npos) << err;
  EXPECT_EQ(Generate("tiny", "Hi", 2, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err, "gpu"), -2);
  EXPECT_NE(err.find("expected cpu, isa or rtl"), std::string::npos) << err;
  // context: tiny's max_seq bounds prompt + tokens - 1
  tern_tfm_config c;
  char e[512];
  ASSERT_EQ(tern_tfm_preset("tiny", &c, e, sizeof e), 0) << e;
  EXPECT_EQ(Generate("tiny", "Hi", c.max_seq, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err), -2);
  EXPECT_NE(err.find("max_seq"), std::string::npos) << err;
}

TEST(Generate, EscapesText) {
  int t[] = {'a', '\\', '\n', 0x01, 0xff, ' ', 300};
  char buf[64];
  size_t n = tern_gen_escape(t, 7, buf, sizeof buf);
  EXPECT_STREQ(buf, "a\\\\\\n\\x01\\xff <300>");
  EXPECT_EQ(n, strlen(buf));
  char small[4];
  EXPECT_EQ(tern_gen_escape(t, 7, small, sizeof small), n);
  EXPECT_STREQ(small, "a\\\\");
}

// tern generate --report: the per-step table, the context and per-pass plots
// (gnuplot), and the fidelity section.
TEST(Generate, AcceleratorReport) {
  tern_gen_config c;
  tern_gen_config_default(&c);
  c.model = "tiny";
  c.prompt = "Hi";
  c.tokens = 3;
  c.backend = "isa";
  c.hw = tern_hwcfg_small(8, 8);
  tern_gen_result r;
  char e[512] = "";
  ASSERT_EQ(tern_generate(&c, &r, nullptr, e, sizeof e), 0) << e;
  tern_tfm_fidelity_result fid;
  std::memset(&fid, 0, sizeof fid);
  ASSERT_EQ(tern_tfm_fidelity("tiny", 2, nullptr, &fid, e, sizeof e), 0) << e;
  char dir[] = "/tmp/tern_genrep_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(tern_gen_report_write(dir, &c, &r, &fid, e, sizeof e), 0) << e;
  for (const char *f : {"report.md", "report.html", "steps.dat", "context.png", "layers.png"}) {
    std::string p = std::string(dir) + "/" + f;
    FILE *fp = fopen(p.c_str(), "rb");
    EXPECT_NE(fp, nullptr) << p;
    if (fp) fclose(fp);
  }
  std::string md;
  {
    FILE *fp = fopen((std::string(dir) + "/report.md").c_str(), "rb");
    ASSERT_NE(fp, nullptr);
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof b, fp)) > 0) md.append(b, n);
    fclose(fp);
  }
  EXPECT_NE(md.find("3/3 bit-exact"), std::string::npos);
  EXPECT_NE(md.find("| 2 | 3..3 |"), std::string::npos) << md.substr(0, 2000);
  EXPECT_NE(md.find("Fidelity"), std::string::npos);
  EXPECT_NE(md.find("pass 3: residual max abs error"), std::string::npos);
  // the cpu backend has no counters: the report refuses it
  tern_gen_result cpu;
  c.backend = "cpu";
  ASSERT_EQ(tern_generate(&c, &cpu, nullptr, e, sizeof e), 0) << e;
  EXPECT_EQ(tern_gen_report_write(dir, &c, &cpu, nullptr, e, sizeof e), -1);
  EXPECT_NE(std::string(e).find("isa or rtl"), std::string::npos) << e;
  tern_gen_result_free(&cpu);
  tern_tfm_fidelity_result_free(&fid);
  tern_gen_result_free(&r);
  std::string rm = std::string("rm -rf '") + dir + "'";
  EXPECT_EQ(system(rm.c_str()), 0);
}

// Recurrent models (issue 4) generate on the cpu backend: the integer
// reference with the float reference in lockstep.
TEST(Generate, RecurrentCpu) {
  for (const char *model : {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"}) {
    tern_gen_result r;
    std::string err;
    ASSERT_EQ(Generate(model, "Hello", 4, 0.0, 0, 0, TERN_CPU_AUTO, &r, &err), 0)
        << model << ": " << err;
    EXPECT_EQ(r.n_steps, 4);
    EXPECT_EQ(r.vocab, 256);
    EXPECT_EQ(r.accel, 0);
    EXPECT_GE(r.agree, 3) << model;  // random-weight byte models: near-ties are possible
    for (int i = 0; i < 4; i++) EXPECT_GE(r.step[i].float_top1, 0);
    tern_gen_result_free(&r);
  }
}

// `tern generate <recurrent> --backend isa|rtl`: the recurrent step runner
// (runtime/rnn_exec.c) with the integer reference in lockstep; every step is
// bit-exact, the tokens equal the cpu backend's, the recurrent state's DRAM
// bytes are reported (and do not change from one decode step to the next),
// the RTL's cycles equal the ISA simulator's, and the report is written.
TEST(Generate, RecurrentAcceleratorBitExact) {
  const char *prompt = "Hello";
  const int N = 4;
  for (const char *model : {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"}) {
    SCOPED_TRACE(model);
    tern_gen_result cpu;
    std::string err;
    ASSERT_EQ(Generate(model, prompt, N, 0.0, 0, 0, TERN_CPU_AUTO, &cpu, &err), 0) << err;
    std::vector<uint64_t> isa8, rtl8;
    for (const char *be : {"isa", "rtl"}) {
      if (!strcmp(be, "rtl") && strcmp(model, "hawk-tiny")) continue;  // tests/test_rnn_exec.cc
      tern_gen_config c;
      tern_gen_config_default(&c);
      c.model = model;
      c.prompt = prompt;
      c.tokens = N;
      c.backend = be;
      c.hw = tern_hwcfg_small(8, 8);
      tern_gen_result r;
      char e[512] = "";
      ASSERT_EQ(tern_generate(&c, &r, nullptr, e, sizeof e), 0) << be << ": " << e;
      EXPECT_EQ(r.accel, 1);
      EXPECT_EQ(r.bit_exact_steps, N) << be;
      EXPECT_EQ(r.n_layer, 3);
      for (int i = 0; i < N; i++) {
        EXPECT_EQ(r.step[i].token, cpu.step[i].token) << be << " step " << i;
        EXPECT_EQ(r.step[i].bit_exact, 1);
        EXPECT_GT(r.step[i].cycles, 0u);
        EXPECT_GT(r.step[i].weight_bytes, 0u);
        EXPECT_GT(r.step[i].energy_pj, 0.0);
        EXPECT_GT(r.step[i].state_bytes, 0u);
        EXPECT_EQ(r.step[i].kv_bytes > 0, !strcmp(model, "griffin-tiny"));
        EXPECT_EQ(r.step[i].state_bytes, r.step[0].state_bytes) << "step " << i;
        EXPECT_EQ(r.step[i].pos, i == 0 ? 0 : 5 + i - 1);
        (!strcmp(be, "rtl") ? rtl8 : isa8).push_back(r.step[i].cycles);
      }
      EXPECT_GT(r.attn_cycles, 0u);  // the temporal mixers
      EXPECT_GT(r.ffn_cycles, 0u);   // the MLPs
      if (!strcmp(model, "hawk-tiny") && !strcmp(be, "isa")) {
        char dir[] = "/tmp/tern_genrep_rnn_XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        ASSERT_EQ(tern_gen_report_write(dir, &c, &r, nullptr, e, sizeof e), 0) << e;
        for (const char *f : {"report.md", "steps.dat", "layers.dat"}) {
          std::string p = std::string(dir) + "/" + f;
          FILE *fp = fopen(p.c_str(), "rb");
          EXPECT_NE(fp, nullptr) << p;
          if (fp) fclose(fp);
        }
        std::string rm = std::string("rm -rf '") + dir + "'";
        EXPECT_EQ(system(rm.c_str()), 0);
      }
      tern_gen_result_free(&r);
    }
    if (!rtl8.empty()) {
      EXPECT_EQ(isa8, rtl8) << "RTL and ISA simulator cycle counts per step differ";
    }
    tern_gen_result_free(&cpu);
  }
}
