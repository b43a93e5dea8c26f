// Attention half of a transformer block compiled to the ISA (compiler/tfm_attn.c):
// bit-exact against the integer reference tern_tfm_attn_half_int on the ISA
// simulator — x after the half AND the int8 KV cache + scales read back from
// DRAM — for a prefill of M rows at pos 0 followed by single-row decode steps,
// all programs of a sequence on one persistent DRAM and one ISA session (SRAM
// contents carry over, as in a real step).  Tiny preset (GQA, SubLN) at 16x16,
// 8x8, 4x4; GQA + sliding window + LayerNorm with bias + LayerNorm SubLN +
// a head_dim whose halves need padding, beyond the window; MQA + window +
// repeat (a later pass); the chunked K^T/V path (small OUT); bad inputs; and
// the masking identity of the softmax (docs/NUMERICS.md "Attention on the
// accelerator") on the numerics primitives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/compiler_tfm.h"
#include "tern/hwcfg.h"
#include "tern/numerics.h"
#include "tern/program.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"
#include "tfm_fixtures.h"

namespace {

using tern_test::ParseConfig;
using tern_test::QModel;

// GQA (4 heads / 2 KV heads), sliding window 7, LayerNorm with bias, SubLN
// (a LayerNorm: its centring needs the head layout's padding lanes re-zeroed),
// head_dim 12 (halves of 6 lanes padded to C), odd dim.
const char *kGqaWinLn =
    "[model]\nname = gqa-win-ln\nvocab = 64\ndim = 44\nlayers = 2\nheads = 4\nkv_heads = 2\n"
    "head_dim = 12\nffn = 40\nffn_type = gelu\nnorm = layernorm\nnorm_bias = true\n"
    "subln = true\nwindow = 7\nmax_seq = 32\nseed = 21\n";
// MQA (4 heads / 1 KV head), window 5, every block run twice (repeat 2): pass 1
// is the second run of block 0 and has its own cache.
const char *kMqa =
    "[model]\nname = mqa\nvocab = 64\ndim = 32\nlayers = 1\nheads = 4\nkv_heads = 1\n"
    "ffn = 48\nffn_type = swiglu\nwindow = 5\nrepeat = 2\nmax_seq = 24\nseed = 7\n";

// MHA with 3 heads of head_dim 12, RMSNorm SubLN: on a 32x4 array the head
// layout (3 x 16 lanes) is padded further to lcm(32, 4) = 32 lanes, so att has
// lanes past the heads (zeroed explicitly); on 16x4 MQA's k/v tensors do.
const char *kMha3 =
    "[model]\nname = mha3\nvocab = 64\ndim = 36\nlayers = 1\nheads = 3\nkv_heads = 3\n"
    "head_dim = 12\nffn = 40\nffn_type = relu2\nsubln = true\nmax_seq = 16\nseed = 3\n";



// lane of head dimension i in the K^T cache (rotate-half halves padded to C)
int lane_rot(int i, int hd, int hd_pad) { return i < hd / 2 ? i : hd_pad / 2 + i - hd / 2; }

struct Seq {
  const tern_tfm_qmodel *q;
  tern_hwcfg hw;
  tern_tfm_mem mem;
  int pass;
  tern_tfm_ictx *ref = nullptr;
  tern_session *sess = nullptr;
  std::vector<uint8_t> dram;
  uint32_t seed = 1;
  long cycles = 0, mac8 = 0;

  Seq(const tern_tfm_qmodel *q_, const tern_hwcfg &hw_, int rows, int ctx, int pass_)
      : q(q_), hw(hw_), pass(pass_) {
    char err[512];
    EXPECT_EQ(0, tern_tfm_mem_plan(&q->cfg, &hw, rows, ctx, &mem, err, sizeof err)) << err;
    ref = tern_tfm_ictx_new(q, mem.ctx, err, sizeof err);
    EXPECT_NE(ref, nullptr) << err;
    sess = tern_session_open("isa", &hw, err, sizeof err);
    EXPECT_NE(sess, nullptr) << err;
    // the runtime zeroes the persistent map once (the cache scales start at 0)
    dram.assign(mem.priv_base, 0);
  }
  ~Seq() {
    tern_tfm_ictx_free(ref);
    tern_session_close(sess);
  }

  // One ATTN program at (pos, M); compares x and the cache of positions < pos+M.
  void Step(int pos, int M) {
    SCOPED_TRACE(testing::Message() << q->cfg.name << " " << hw.rows << "x" << hw.cols
                                    << " pass " << pass << " pos " << pos << " M " << M);
    ASSERT_TRUE(ref && sess);
    const tern_tfm_config &c = q->cfg;
    int d = c.dim, block = pass / c.repeat;
    std::vector<int32_t> x = tern_test::MakeInput(M, d, seed++, 7, 4), y((size_t)M * d);
    char err[512];
    ASSERT_EQ(0, tern_tfm_attn_half_int(q, block, pass, ref, pos, x.data(), M, y.data(), err,
                                        sizeof err))
        << err;
    int changed = 0;
    for (size_t i = 0; i < y.size(); i++) changed += y[i] != x[i];
    EXPECT_GT(changed, (int)y.size() / 2);  // the half changes the stream
    tern_tfm_prog_spec s;
    std::memset(&s, 0, sizeof s);
    s.kind = TERN_TFM_PROG_ATTN;
    s.block = block;
    s.pass = pass;
    s.pos = pos;
    s.M = M;
    tern_compile_opts o{};
    o.tokens = M;
    tern_program p;
    ASSERT_EQ(0, tern_compile_tfm_prog(q, &mem, &s, &hw, &o, &p, err, sizeof err)) << err;
    if (dram.size() < p.dram_size) dram.resize(p.dram_size, 0xa5);
    ASSERT_EQ(0, tern_program_init_dram(&p, dram.data(), dram.size(), err, sizeof err)) << err;
    for (int r = 0; r < M; r++)  // x rows, garbage in the padding lanes
      for (int j = 0; j < mem.dim_pad; j++) {
        int32_t v = j < d ? x[(size_t)r * d + j] : (int32_t)(0x3c3c3c3c + 977 * j + r);
        std::memcpy(&dram[mem.x_addr + (size_t)r * mem.dim_pad * 4 + 4 * j], &v, 4);
      }
    tern_counters cnt;
    tern_run_opts ro{};
    int rc = tern_session_run(sess, p.insns, p.n_insns, dram.data(), dram.size(), &ro, &cnt, err,
                              sizeof err);
    tern_program_free(&p);
    ASSERT_EQ(0, rc) << err;
    cycles += (long)cnt.v[TERN_CNT_CYCLES];
    mac8 += (long)cnt.v[TERN_CNT_VOP_MAC8];
    EXPECT_GT(cnt.v[TERN_CNT_VOP_MAC8], 0u);
    int bad = 0;
    for (int r = 0; r < M; r++)
      for (int j = 0; j < d; j++) {
        int32_t got = tern_test::Rd32(&dram[mem.x_addr + (size_t)r * mem.dim_pad * 4 + 4 * j]);
        if (got != y[(size_t)r * d + j] && bad++ < 5)
          ADD_FAILURE() << "x[" << r << "][" << j << "] = " << got << ", reference "
                        << y[(size_t)r * d + j];
      }
    EXPECT_EQ(bad, 0);
    CheckCache(pos + M);
  }

  // int8 K^T (rotate-half layout, zero padding lanes), V, and the scales of positions < n
  void CheckCache(int n) {
    const tern_tfm_config &c = q->cfg;
    int KH = c.kv_heads, hd = c.head_dim, hp = mem.hd_pad, kvd = KH * hd;
    const int8_t *K = tern_tfm_ictx_k(ref, pass), *V = tern_tfm_ictx_v(ref, pass);
    const int32_t *KS = tern_tfm_ictx_kscale(ref, pass), *VS = tern_tfm_ictx_vscale(ref, pass);
    int bad = 0;
    for (int g = 0; g < KH; g++) {
      uint32_t kt, v, ks, vs;
      tern_tfm_kv_addrs(&mem, pass, g, &kt, &v, &ks, &vs);
      for (int j = 0; j < n; j++) {
        for (int l = 0; l < hp; l++) {
          int want = 0;
          for (int i = 0; i < hd; i++)
            if (lane_rot(i, hd, hp) == l) want = K[(size_t)j * kvd + g * hd + i];
          int got = (int8_t)dram[kt + (size_t)l * mem.ctx_pad + j];
          if (got != want && bad++ < 5)
            ADD_FAILURE() << "K^T[" << g << "][" << l << "][" << j << "] = " << got
                          << ", reference " << want;
          int wv = l < hd ? V[(size_t)j * kvd + g * hd + l] : 0;
          int gv = (int8_t)dram[v + (size_t)j * hp + l];
          if (gv != wv && bad++ < 5)
            ADD_FAILURE() << "V[" << g << "][" << j << "][" << l << "] = " << gv << ", reference "
                          << wv;
        }
        int32_t gk = tern_test::Rd32(&dram[ks + 4 * (size_t)j]);
        int32_t gs = tern_test::Rd32(&dram[vs + 4 * (size_t)j]);
        if (gk != KS[(size_t)j * KH + g] && bad++ < 5)
          ADD_FAILURE() << "KS[" << g << "][" << j << "] = " << gk << ", reference "
                        << KS[(size_t)j * KH + g];
        if (gs != VS[(size_t)j * KH + g] && bad++ < 5)
          ADD_FAILURE() << "VS[" << g << "][" << j << "] = " << gs << ", reference "
                        << VS[(size_t)j * KH + g];
      }
    }
    EXPECT_EQ(bad, 0);
  }
};

// prefill of P rows at pos 0, then `decode` single-row steps
void run_seq(const tern_tfm_qmodel &q, const tern_hwcfg &hw, int pass, int P, int decode,
             int ctx) {
  Seq s(&q, hw, P, ctx, pass);
  s.Step(0, P);
  for (int i = 0; i < decode && !testing::Test::HasFatalFailure(); i++) s.Step(P + i, 1);
}

tern_hwcfg small(int n) {
  tern_hwcfg h = tern_hwcfg_small(n, n);
  h.imem_depth = 65536;  // prefill programs of the tiny models exceed the RTL test configs' 8192
  return h;
}

TEST(TfmAttn, TinyPreset16x16) {
  QModel m("tiny");
  ASSERT_TRUE(m.ok);
  run_seq(m.q, tern_hwcfg_default(), 0, 6, 3, 32);
  run_seq(m.q, tern_hwcfg_default(), 3, 3, 2, 32);  // the last block
}

TEST(TfmAttn, TinyPreset8x8And4x4) {
  QModel m("tiny");
  ASSERT_TRUE(m.ok);
  run_seq(m.q, small(8), 1, 5, 3, 24);
  run_seq(m.q, small(4), 2, 4, 2, 16);
}

// rows != cols: widths padded to lcm(rows, cols) beyond the head layout
TEST(TfmAttn, AsymmetricArrays) {
  QModel a(ParseConfig(kMha3)), b(ParseConfig(kMqa));
  ASSERT_TRUE(a.ok && b.ok);
  tern_hwcfg h = tern_hwcfg_small(32, 4);
  h.imem_depth = 65536;
  run_seq(a.q, h, 0, 4, 2, 16);
  h = tern_hwcfg_small(16, 4);
  h.imem_depth = 65536;
  run_seq(b.q, h, 1, 3, 2, 16);
  h = tern_hwcfg_small(4, 16);
  h.imem_depth = 65536;
  run_seq(a.q, h, 0, 3, 2, 16);
}

// The RTL runs the same programs (MAC8, LOAD OUT, OUT8 scatter, the scale
// read-modify-write) with the same DRAM result and every counter equal:
// a prefill of 3 rows at pos 0, then a decode step on the resulting cache.
TEST(TfmAttn, RtlEqualsIsaTiny4x4) {
  QModel m("tiny");
  ASSERT_TRUE(m.ok);
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  tern_tfm_mem mem;
  char err[512];
  ASSERT_EQ(0, tern_tfm_mem_plan(&m.q.cfg, &hw, 3, 16, &mem, err, sizeof err)) << err;
  std::vector<uint8_t> d_isa(mem.priv_base, 0);
  int pos = 0;
  for (int M : {3, 1}) {
    SCOPED_TRACE(testing::Message() << "pos " << pos << " M " << M);
    tern_tfm_prog_spec s;
    std::memset(&s, 0, sizeof s);
    s.kind = TERN_TFM_PROG_ATTN;
    s.block = 1;
    s.pass = 1;
    s.pos = pos;
    s.M = M;
    tern_compile_opts o{};
    o.tokens = M;
    tern_program p;
    ASSERT_EQ(0, tern_compile_tfm_prog(&m.q, &mem, &s, &hw, &o, &p, err, sizeof err)) << err;
    if (d_isa.size() < p.dram_size) d_isa.resize(p.dram_size, 0);
    ASSERT_EQ(0, tern_program_init_dram(&p, d_isa.data(), d_isa.size(), err, sizeof err)) << err;
    std::vector<int32_t> x = tern_test::MakeInput(M, m.q.cfg.dim, 99u + (uint32_t)pos, 7, 4);
    for (int r = 0; r < M; r++)
      std::memcpy(&d_isa[mem.x_addr + (size_t)r * mem.dim_pad * 4], &x[(size_t)r * m.q.cfg.dim],
                  (size_t)m.q.cfg.dim * 4);
    std::vector<uint8_t> d_rtl = d_isa;
    tern_counters c_isa, c_rtl;
    tern_run_opts ro{};
    ASSERT_EQ(0, tern_backend_run("isa", &p.cfg, p.insns, p.n_insns, d_isa.data(), d_isa.size(),
                                  &ro, &c_isa, err, sizeof err))
        << err;
    ASSERT_EQ(0, tern_backend_run("rtl", &p.cfg, p.insns, p.n_insns, d_rtl.data(), d_rtl.size(),
                                  &ro, &c_rtl, err, sizeof err))
        << err;
    tern_program_free(&p);
    for (int i = 0; i < TERN_NCOUNTERS; i++)
      EXPECT_EQ(c_isa.v[i], c_rtl.v[i]) << "counter " << tern_counter_name(i);
    EXPECT_GT(c_rtl.v[TERN_CNT_VOP_MAC8], 0u);
    EXPECT_TRUE(d_isa == d_rtl) << "DRAM images differ";
    pos += M;
  }
}

TEST(TfmAttn, GqaWindowLayerNormBeyondWindow) {
  QModel m(ParseConfig(kGqaWinLn));
  ASSERT_TRUE(m.ok);
  // prefill 9 > window 7 rows, then decode to position 13
  run_seq(m.q, tern_hwcfg_default(), 1, 9, 5, 32);
  run_seq(m.q, small(8), 0, 9, 3, 32);
  run_seq(m.q, small(4), 1, 3, 6, 16);
}

// A preset with a sliding window (64) beyond it: a prefill of 70 rows (token
// blocks whose rows see different windows), then decode steps at 70, 71.
TEST(TfmAttn, Starcoder2TinyBeyondWindow) {
  QModel m("starcoder2-style-tiny");
  ASSERT_TRUE(m.ok);
  run_seq(m.q, tern_hwcfg_default(), 2, 70, 2, 96);
}

TEST(TfmAttn, MqaRepeatedPass) {
  QModel m(ParseConfig(kMqa));
  ASSERT_TRUE(m.ok);
  run_seq(m.q, tern_hwcfg_default(), 1, 7, 3, 24);
  run_seq(m.q, small(4), 1, 2, 5, 24);
}


// The tile pass's buffer plan as text (--dump-after tile).
std::string tile_dump(const tern_tfm_qmodel &q, const tern_tfm_mem &mem, const tern_hwcfg &hw,
                      int pass, int pos, int M) {
  tern_tfm_prog_spec s;
  std::memset(&s, 0, sizeof s);
  s.kind = TERN_TFM_PROG_ATTN;
  s.block = pass / q.cfg.repeat;
  s.pass = pass;
  s.pos = pos;
  s.M = M;
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  tern_compile_opts o{};
  o.tokens = M;
  o.dump_after = "tile";
  o.dump_to = f;
  tern_program p;
  char err[512];
  int rc = tern_compile_tfm_prog(&q, &mem, &s, &hw, &o, &p, err, sizeof err);
  fclose(f);
  std::string out(buf ? buf : "");
  free(buf);
  EXPECT_EQ(rc, 0) << err;
  if (!rc) tern_program_free(&p);
  return out;
}

// OUT too small for the K^T / V rows of the context at once: per-row chunks of
// positions (Q.K^T per chunk, P.V accumulated with MAC8 mode 1), still exact.
TEST(TfmAttn, ChunkedContextSmallOut) {
  QModel m("tiny");
  ASSERT_TRUE(m.ok);
  tern_hwcfg hw = small(8);
  hw.out_depth = 128;
  {
    tern_tfm_mem mem;
    char err[512];
    ASSERT_EQ(0, tern_tfm_mem_plan(&m.q.cfg, &hw, 10, 48, &mem, err, sizeof err)) << err;
    std::string d = tile_dump(m.q, mem, hw, 0, 30, 1);
    EXPECT_NE(d.find("chunks per row"), std::string::npos) << d;
    EXPECT_NE(d.find("3 position words per chunk"), std::string::npos) << d;
  }
  Seq s(&m.q, hw, 10, 48, 0);
  s.Step(0, 10);
  for (int pos = 10, M = 2; pos < 26 && !HasFatalFailure(); pos += M, M = 1 + pos % 3)
    s.Step(pos, M);  // decode and small prefill chunks
}

// Clear errors: OUT too small for one chunk, a memory plan of another
// hardware configuration, positions outside the plan, block / pass mismatch.
TEST(TfmAttn, BadInputs) {
  QModel m("tiny");
  ASSERT_TRUE(m.ok);
  tern_hwcfg hw = small(8);
  tern_tfm_mem mem;
  char err[512];
  ASSERT_EQ(0, tern_tfm_mem_plan(&m.q.cfg, &hw, 4, 64, &mem, err, sizeof err)) << err;
  tern_tfm_prog_spec s;
  std::memset(&s, 0, sizeof s);
  s.kind = TERN_TFM_PROG_ATTN;
  s.M = 1;
  tern_compile_opts o{};
  o.tokens = 1;
  tern_program p;
  auto fails = [&](const tern_hwcfg &h, const tern_tfm_mem &mm, const char *want) {
    err[0] = 0;
    EXPECT_EQ(-1, tern_compile_tfm_prog(&m.q, &mm, &s, &h, &o, &p, err, sizeof err)) << want;
    EXPECT_NE(std::string(err).find(want), std::string::npos) << err;
  };
  tern_hwcfg tiny_out = hw;
  tiny_out.out_depth = 40;  // < one row's int8 q/k/v plus 2 x hd_pad words of K^T / V
  fails(tiny_out, mem, "OUT too small for one token row");
  fails(tiny_out, mem, "out_depth = 40");
  tern_hwcfg small_acc = hw;
  small_acc.acc_depth = 200;  // the constants and one row fit, not the scores of 61 positions
  s.pos = 60;
  fails(small_acc, mem, "ACC too small for one token row");
  fails(small_acc, mem, "8 position words), acc_depth = 200");
  s.pos = 0;
  tern_tfm_mem m2 = mem;
  m2.hd_pad = 8;
  fails(hw, m2, "hd_pad = 8, expected 16");
  s.pos = 63;
  s.M = 2;
  fails(hw, mem, "pos = 63 with M = 2");
  s.pos = 0;
  s.M = 1;
  s.pass = 1;
  s.block = 0;
  fails(hw, mem, "block = 0, expected pass / repeat = 1");
}

// The masking of docs/NUMERICS.md "Attention on the accelerator", on the
// numerics primitives in the order the compiled program applies them: scores
// of a row padded to whole words, lanes outside [lo, hi] replaced by
// s*0 - 2^30 (whatever they held), then S1-S10 over all lanes, give the
// reference's e on the valid lanes, e = 0 on the others and the same E, for
// every valid row with |s| < 2^30 and max s >= -2^30 + 2^17.
TEST(TfmAttn, MaskingIsExact) {
  int32_t hi[256], lo[256];
  tern_exp_hi_table(hi);
  tern_exp_lo_table(lo);
  int32_t lomax = 0;
  for (int i = 0; i < 256; i++) lomax = lo[i] > lomax ? lo[i] : lomax;
  // index 0 of the coarse table (z < -127*1024) gives e = rs(hi[0]*lo, 24) = 0
  EXPECT_LT((int64_t)hi[0] * lomax, (int64_t)1 << 23);
  EXPECT_EQ(0, tern_v_mulshr(hi[0], lomax, 24));
  const int C = 16;
  uint32_t rs = 12345;
  auto rnd = [&]() { return rs = rs * 1664525u + 1013904223u; };
  int checked = 0;
  for (int it = 0; it < 3000; it++) {
    int W = 1 + (int)(rnd() % 4), n = W * C;
    int a = (int)(rnd() % (uint32_t)n), b = (int)(rnd() % (uint32_t)n);
    if (a > b) std::swap(a, b);
    std::vector<int32_t> s(n), ref(n), e(n);
    int kind = (int)(rnd() % 5);
    for (int j = 0; j < n; j++) {
      int32_t v;
      switch (kind) {
        case 0: v = (int32_t)(rnd() % 40001u) - 20000; break;        // |s| ~ 5 (Q12)
        case 1: v = (int32_t)(rnd() % 2000001u) - 1000000; break;    // wide
        case 2: v = (int32_t)(rnd() & 0x7fffffffu) - (1 << 30); break; // |s| < 2^30
        case 3: v = (1 << 30) - 1 - (int32_t)(rnd() % 100u); break;  // near +2^30
        default: v = -(1 << 30) + (1 << 17) + (int32_t)(rnd() % 1000u); break; // lowest max
      }
      if (v >= (1 << 30)) v = (1 << 30) - 1;
      if (v <= -(1 << 30)) v = -(1 << 30) + 1;
      bool in = j >= a && j <= b;
      s[j] = in ? v : (int32_t)rnd();  // garbage outside (unwritten cache positions)
    }
    int32_t mx = INT32_MIN;
    for (int j = a; j <= b; j++) mx = s[j] > mx ? s[j] : mx;
    if (mx < -(1 << 30) + (1 << 17)) continue;
    int cnt = b - a + 1;
    int32_t Eref = tern_tfm_softmax_exp(hi, lo, &s[a], cnt, &ref[a]);
    // the compiled sequence
    std::vector<int32_t> z(n);
    for (int j = 0; j < n; j++) {
      bool in = j >= a && j <= b;
      z[j] = tern_v_add(tern_v_mulshr(s[j], in ? 1 : 0, 0), in ? 0 : -(1 << 30));
    }
    int32_t M = tern_r_maxabs(z.data(), (size_t)n, 1);                  // S1
    for (int j = 0; j < n; j++) z[j] = tern_v_add(z[j], M);            // S2
    int32_t X = tern_r_maxabs(z.data(), (size_t)n, 1);                  // S3
    for (int j = 0; j < n; j++) {
      int32_t zz = tern_v_sub(z[j], X);                                 // S4
      int32_t h = hi[tern_lut_index(zz, 10)];                           // S5
      int32_t t2 = tern_v_mulshr(tern_v_sub(zz, 512), 1, 10);           // S6
      t2 = tern_v_mulshr(t2, 1024, 0);                                  // S7
      int32_t f = tern_v_sub(tern_v_sub(zz, t2), 512);                  // S8
      e[j] = tern_v_mulshr(h, lo[tern_lut_index(f, 2)], 24);            // S9
    }
    int32_t E = tern_r_sum(e.data(), (size_t)n, 1, 0);                  // S10
    ASSERT_EQ(E, Eref) << "it " << it;
    for (int j = 0; j < n; j++)
      ASSERT_EQ(e[j], j >= a && j <= b ? ref[j] : 0) << "it " << it << " lane " << j;
    checked++;
  }
  EXPECT_GT(checked, 2000);
}

}  // namespace
