// Compiler tests (engineer "cc"): the MLP compiled for the ISA simulator must
// match tern_mlp_forward_int bit for bit; tiling / chunking with tiny buffers;
// "does not fit" errors; tern_compile_gemm against a direct C matmul; the
// prefill / GEMV schedule efficiency acceptance checks.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/mlp.h"
#include "tern/numerics.h"
#include "tern/program.h"

namespace {

struct Model {
  tern_mlp_model m{};
  tern_qmlp q{};
  bool ok = false;
  Model(int d, int f, int layers, tern_act act, uint64_t seed) {
    tern_mlp_config c = tern_mlp_default_config();
    c.d = d;
    c.f = f;
    c.layers = layers;
    c.act = act;
    c.seed = seed;
    char err[256];
    if (tern_mlp_generate(&c, &m, err, sizeof err) != 0) {
      ADD_FAILURE() << err;
      return;
    }
    if (tern_mlp_quantize(&m, &q, err, sizeof err) != 0) {
      ADD_FAILURE() << err;
      return;
    }
    ok = true;
  }
  ~Model() {
    if (ok) tern_qmlp_free(&q);
    tern_mlp_free(&m);
  }
};

uint64_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

// Runs a program on the ISA simulator; dram is sized to the program.
bool run_isa(const tern_program &p, std::vector<uint8_t> &dram, tern_counters *cnt,
             std::string *msg) {
  char err[512];
  if (tern_program_init_dram(&p, dram.data(), dram.size(), err, sizeof err)) {
    *msg = err;
    return false;
  }
  tern_run_opts o{};
  if (tern_isasim_run(&p.cfg, p.insns, p.n_insns, dram.data(), dram.size(), &o, cnt, err,
                      sizeof err)) {
    *msg = err;
    return false;
  }
  return true;
}

// Compile + run the MLP on the ISA simulator and compare with the integer reference.
void check_mlp(const tern_hwcfg &cfg, int d, int f, int layers, tern_act act, int M,
               uint64_t seed = 7, int *mb_blocks = nullptr, size_t *wbuf_loads = nullptr) {
  SCOPED_TRACE(testing::Message() << "cfg " << cfg.rows << "x" << cfg.cols << " acc "
                                  << cfg.acc_depth << " abuf " << cfg.abuf_depth << " wbuf "
                                  << cfg.wbuf_depth << " d=" << d << " f=" << f << " L=" << layers
                                  << " act=" << act << " M=" << M);
  Model mdl(d, f, layers, act, seed);
  ASSERT_TRUE(mdl.ok);
  tern_program p;
  char err[512];
  tern_compile_opts o{};
  o.tokens = M;
  ASSERT_EQ(0, tern_compile_mlp(&mdl.q, &cfg, &o, &p, err, sizeof err)) << err;
  const tern_tensor_ref *x = tern_program_find_tensor(&p, "x");
  const tern_tensor_ref *y = tern_program_find_tensor(&p, "y");
  ASSERT_NE(x, nullptr);
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(x->rows, (uint32_t)M);
  EXPECT_EQ(x->cols, (uint32_t)d);
  std::vector<float> xf((size_t)M * d);
  tern_mlp_input(&mdl.m.cfg, M, seed + 1, xf.data());
  std::vector<int32_t> xi((size_t)M * d), ref((size_t)M * d);
  for (size_t i = 0; i < xi.size(); i++) xi[i] = tern_to_fx(xf[i]);
  tern_mlp_forward_int(&mdl.q, xi.data(), M, ref.data());
  std::vector<uint8_t> dram(p.dram_size, 0);
  // garbage in the padding lanes must not matter (the compiler masks them)
  for (int r = 0; r < M; r++)
    for (uint32_t c = 0; c < x->row_stride / 4; c++) {
      int32_t v = c < (uint32_t)d ? xi[(size_t)r * d + c] : (int32_t)(0x5a5a5a5a + c * 977 + r);
      memcpy(&dram[x->dram_addr + (size_t)r * x->row_stride + 4 * c], &v, 4);
    }
  tern_counters cnt;
  std::string msg;
  ASSERT_TRUE(run_isa(p, dram, &cnt, &msg)) << msg;
  int bad = 0;
  for (int r = 0; r < M && bad < 5; r++)
    for (int c = 0; c < d && bad < 5; c++) {
      int32_t got = (int32_t)rd32(&dram[y->dram_addr + (size_t)r * y->row_stride + 4 * c]);
      if (got != ref[(size_t)r * d + c]) {
        ADD_FAILURE() << "y[" << r << "][" << c << "] = " << got << ", reference "
                      << ref[(size_t)r * d + c];
        bad++;
      }
    }
  if (wbuf_loads) {
    size_t n = 0;
    for (size_t i = 0; i < p.n_insns; i++)
      n += p.insns[i].op == TERN_OP_LOAD && p.insns[i].mem == TERN_MEM_WBUF;
    *wbuf_loads = n;
  }
  if (mb_blocks) {
    // number of token blocks = number of STOREs of y
    int n = 0;
    for (size_t i = 0; i < p.n_insns; i++)
      n += p.insns[i].op == TERN_OP_STORE && p.insns[i].mem == TERN_MEM_ACC &&
           p.insns[i].dram_addr >= y->dram_addr;
    *mb_blocks = n;
  }
  tern_program_free(&p);
}

tern_hwcfg set(tern_hwcfg c, const char *k, const char *v) {
  char err[256];
  EXPECT_EQ(0, tern_hwcfg_set(&c, k, v, err, sizeof err)) << err;
  return c;
}

}  // namespace

TEST(Compiler, MlpSingleTokenAllConfigs) {
  for (int rc : {4, 8, 16}) {
    tern_hwcfg cfg = rc == 16 ? tern_hwcfg_default() : tern_hwcfg_small(rc, rc);
    check_mlp(cfg, 20, 52, 1, TERN_ACT_RELU2, 1);
    check_mlp(cfg, 20, 52, 2, TERN_ACT_SILU, 1);
  }
}

TEST(Compiler, MlpTokenCounts) {
  tern_hwcfg cfg = tern_hwcfg_small(8, 8);
  for (int M : {1, 3, 17, 64}) {
    check_mlp(cfg, 20, 52, 2, TERN_ACT_RELU2, M);
    check_mlp(cfg, 20, 52, 1, TERN_ACT_SILU, M);
  }
}

TEST(Compiler, MlpRaggedShapesAndLayers) {
  tern_hwcfg c4 = tern_hwcfg_small(4, 4);
  check_mlp(c4, 20, 52, 3, TERN_ACT_SILU, 3);
  check_mlp(c4, 7, 13, 2, TERN_ACT_RELU2, 5);
  tern_hwcfg c16 = tern_hwcfg_default();
  check_mlp(c16, 20, 52, 3, TERN_ACT_RELU2, 17);
  check_mlp(c16, 64, 160, 2, TERN_ACT_SILU, 64);
  // non-square array: lcm(rows, cols) padding
  tern_hwcfg r48 = set(set(tern_hwcfg_small(8, 8), "rows", "4"), "dram_bw", "4");
  check_mlp(r48, 20, 52, 2, TERN_ACT_SILU, 9);
}

TEST(Compiler, MlpTinyBuffersBlockAndChunk) {
  // ACC fits only a few tokens, WBUF holds 2x2 tiles: token blocking and weight
  // chunking across matrices / layers / blocks all kick in.
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  c = set(c, "acc_depth", "160");
  c = set(c, "wbuf_depth", "4");
  c = set(c, "abuf_depth", "64");
  c = set(c, "out_depth", "64");
  int blocks = 0;
  size_t wl = 0;
  check_mlp(c, 20, 52, 2, TERN_ACT_SILU, 17, 3, &blocks, &wl);
  EXPECT_GT(blocks, 2);
  EXPECT_GT(wl, (size_t)(4 * blocks));
  check_mlp(c, 20, 52, 1, TERN_ACT_RELU2, 64, 5, &blocks, &wl);
  EXPECT_GT(blocks, 4);
  // odd number of chunks per block: the WBUF halves alternate across blocks
  tern_hwcfg c2 = set(c, "wbuf_depth", "6");
  check_mlp(c2, 20, 28, 1, TERN_ACT_RELU2, 11, 9, &blocks, &wl);
  EXPECT_GT(blocks, 1);
}

TEST(Compiler, DoesNotFitErrors) {
  Model mdl(20, 52, 1, TERN_ACT_RELU2, 1);
  ASSERT_TRUE(mdl.ok);
  tern_compile_opts o{};
  o.tokens = 4;
  tern_program p;
  char err[512] = "";
  tern_hwcfg c = set(tern_hwcfg_small(4, 4), "acc_depth", "40");
  EXPECT_EQ(-1, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("ACC"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("acc_depth = 40"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("words"), std::string::npos) << err;
  c = set(tern_hwcfg_small(4, 4), "abuf_depth", "8");
  EXPECT_EQ(-1, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("ABUF"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("needs 13 words"), std::string::npos) << err;
  c = set(tern_hwcfg_small(4, 4), "wbuf_depth", "1");
  EXPECT_EQ(-1, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("WBUF"), std::string::npos) << err;
  o.tokens = 0;
  c = tern_hwcfg_small(4, 4);
  EXPECT_EQ(-1, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("tokens = 0"), std::string::npos) << err;
}

TEST(Compiler, DumpAfterEveryPass) {
  Model mdl(21, 50, 1, TERN_ACT_SILU, 1);
  ASSERT_TRUE(mdl.ok);
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  const char *passes[] = {"build", "pad", "tile", "alloc", "emit", "sync", "validate"};
  const char *expect[] = {"NORM_QUANT", "pad 24", "token block", "DRAM weights", "gemm", "pop", "end"};
  for (int i = 0; i < 7; i++) {
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tern_compile_opts o{};
    o.tokens = 3;
    o.dump_after = passes[i];
    o.dump_to = f;
    tern_program p;
    char err[512];
    ASSERT_EQ(0, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err)) << err;
    fclose(f);
    EXPECT_NE(std::string(buf).find(expect[i]), std::string::npos) << passes[i] << ":\n" << buf;
    free(buf);
    tern_program_free(&p);
  }
  tern_compile_opts o{};
  o.tokens = 1;
  o.dump_after = "nosuch";
  tern_program p;
  char err[512];
  EXPECT_EQ(-1, tern_compile_mlp(&mdl.q, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("nosuch"), std::string::npos);
}

namespace {

struct GemmRun {
  tern_counters cnt{};
  uint64_t ideal = 0, weight_bytes = 0;
};

// Compile + run a GEMM and compare with a direct matmul.
void check_gemm(const tern_hwcfg &cfg, int M, int K, int N, uint64_t seed, GemmRun *out = nullptr) {
  SCOPED_TRACE(testing::Message() << "gemm M=" << M << " K=" << K << " N=" << N << " on "
                                  << cfg.rows << "x" << cfg.cols);
  uint64_t s = seed;
  auto rnd = [&s]() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(s >> 33);
  };
  std::vector<int8_t> w((size_t)K * N), a((size_t)M * K);
  for (auto &v : w) v = (int8_t)((int)(rnd() % 3) - 1);
  for (auto &v : a) v = (int8_t)(rnd() & 0xff);
  a[0] = -128;
  tern_compile_opts o{};
  o.tokens = M;
  tern_program p;
  char err[512];
  ASSERT_EQ(0, tern_compile_gemm(w.data(), K, N, &cfg, &o, &p, err, sizeof err)) << err;
  const tern_tensor_ref *ta = tern_program_find_tensor(&p, "a");
  const tern_tensor_ref *tc = tern_program_find_tensor(&p, "acc");
  ASSERT_TRUE(ta && tc);
  std::vector<uint8_t> dram(p.dram_size, 0);
  for (int r = 0; r < M; r++)
    for (uint32_t k = 0; k < ta->row_stride; k++)  // garbage in the K padding
      dram[ta->dram_addr + (size_t)r * ta->row_stride + k] =
          k < (uint32_t)K ? (uint8_t)a[(size_t)r * K + k] : (uint8_t)(rnd() & 0xff);
  GemmRun g;
  std::string msg;
  ASSERT_TRUE(run_isa(p, dram, &g.cnt, &msg)) << msg;
  int bad = 0;
  for (int r = 0; r < M && bad < 5; r++)
    for (int n = 0; n < N && bad < 5; n++) {
      int32_t ref = 0;
      for (int k = 0; k < K; k++) ref += (int32_t)a[(size_t)r * K + k] * w[(size_t)k * N + n];
      int32_t got = (int32_t)rd32(&dram[tc->dram_addr + (size_t)r * tc->row_stride + 4 * n]);
      if (got != ref) {
        ADD_FAILURE() << "acc[" << r << "][" << n << "] = " << got << ", expected " << ref;
        bad++;
      }
    }
  int kt = (K + cfg.rows - 1) / cfg.rows, nt = (N + cfg.cols - 1) / cfg.cols;
  g.ideal = (uint64_t)M * kt * nt;
  g.weight_bytes = (uint64_t)kt * nt * cfg.rows * cfg.cols / 4;
  if (out) *out = g;
  tern_program_free(&p);
}

}  // namespace

TEST(Compiler, GemmRaggedMatchesMatmul) {
  tern_hwcfg c4 = tern_hwcfg_small(4, 4), c8 = tern_hwcfg_small(8, 8);
  check_gemm(c4, 1, 1, 1, 1);
  check_gemm(c4, 3, 5, 7, 2);
  check_gemm(c4, 17, 37, 23, 3);
  check_gemm(c8, 9, 100, 45, 4);
  check_gemm(tern_hwcfg_default(), 5, 130, 70, 5);
  // tiny buffers: many token blocks and 1-tile chunks
  tern_hwcfg t = set(set(set(c4, "wbuf_depth", "2"), "acc_depth", "24"), "abuf_depth", "40");
  check_gemm(t, 29, 33, 19, 6);
  tern_hwcfg t2 = set(set(c8, "wbuf_depth", "5"), "acc_depth", "16");
  check_gemm(t2, 13, 20, 61, 7);
}

TEST(Compiler, GemmBadInput) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  int8_t w[4] = {0, 1, 2, -1};
  tern_compile_opts o{};
  o.tokens = 1;
  tern_program p;
  char err[256];
  EXPECT_EQ(-1, tern_compile_gemm(w, 2, 2, &c, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("codes[2] = 2"), std::string::npos) << err;
  EXPECT_EQ(-1, tern_compile_gemm(w, 0, 2, &c, &o, &p, err, sizeof err));
  tern_hwcfg small = set(c, "abuf_depth", "2");
  std::vector<int8_t> big(64 * 4, 1);
  EXPECT_EQ(-1, tern_compile_gemm(big.data(), 64, 4, &small, &o, &p, err, sizeof err));
  EXPECT_NE(std::string(err).find("ABUF"), std::string::npos) << err;
}

// Acceptance: prefill GEMM >= 90% of ideal cycles; GEMV within 1.25x of the
// weight streaming time.
TEST(Compiler, GemmScheduleEfficiency) {
  tern_hwcfg c = tern_hwcfg_default();
  GemmRun pre, gemv;
  check_gemm(c, 64, 768, 768, 11, &pre);
  double eff = (double)pre.ideal / (double)pre.cnt.v[TERN_CNT_CYCLES];
  RecordProperty("prefill_efficiency", std::to_string(eff));
  printf("prefill M=64 K=N=768: %llu cycles, ideal %llu, efficiency %.3f\n",
         (unsigned long long)pre.cnt.v[TERN_CNT_CYCLES], (unsigned long long)pre.ideal, eff);
  EXPECT_GE(eff, 0.90);
  check_gemm(c, 1, 768, 768, 12, &gemv);
  double bound = (double)gemv.weight_bytes / c.dram_bw;
  double ratio = (double)gemv.cnt.v[TERN_CNT_CYCLES] / bound;
  printf("gemv M=1 K=N=768: %llu cycles, weight_bytes/dram_bw %.0f, ratio %.3f\n",
         (unsigned long long)gemv.cnt.v[TERN_CNT_CYCLES], bound, ratio);
  EXPECT_LE(ratio, 1.25);
}

// The built-in demo model on the default 16x16 configuration (fits IMEM,
// bit-exact, decode and prefill).
TEST(Compiler, DefaultModelDefaultConfig) {
  tern_mlp_config d = tern_mlp_default_config();
  tern_hwcfg c = tern_hwcfg_default();
  for (int M : {1, 64}) check_mlp(c, d.d, d.f, d.layers, d.act, M, d.seed);
  check_mlp(c, d.d, d.f, 1, TERN_ACT_SILU, 130, 3);
}
