// The recurrent step runner (runtime/rnn_exec.c): the tiny Hawk, Griffin and
// MatMul-free models prefill and decode on the ISA simulator (16x16, 8x8) and
// the Verilated RTL (8x8); every step's logits equal the integer reference
// (models/rnn_int.c) bit for bit, the state in DRAM after every step equals
// the reference's state (and griffin's KV caches its ring), the RTL's cycles
// equal the ISA simulator's, and the state / KV DRAM bytes split of the
// programs' DMAs adds up to the DRAM counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tern/compiler_rnn.h"
#include "tern/rnn.h"
#include "tern/rnn_exec.h"
#include "tern/tfm_exec.h"
#include "tfm_fixtures.h"

namespace {

struct RModel {
  tern_rnn_model m;
  tern_rnn_qmodel *q = nullptr;
  bool ok = false;
  explicit RModel(const tern_rnn_config &c) {
    char err[512];
    memset(&m, 0, sizeof m);
    EXPECT_EQ(tern_rnn_generate(&c, &m, 64u << 20, err, sizeof err), 0) << err;
    q = tern_rnn_quantize(&m, err, sizeof err);
    EXPECT_NE(q, nullptr) << err;
    ok = q != nullptr;
  }
  ~RModel() {
    tern_rnn_qmodel_free(q);
    tern_rnn_free(&m);
  }
};

tern_rnn_config Preset(const char *name) {
  tern_rnn_config c;
  char err[512];
  EXPECT_EQ(tern_rnn_preset(name, &c, err, sizeof err), 0) << err;
  return c;
}

tern_rnn_config Parse(const std::string &text) {
  tern_rnn_config c;
  char err[512];
  EXPECT_EQ(tern_rnn_parse_string(text.c_str(), "test", &c, err, sizeof err), 0) << err;
  return c;
}

int32_t Rd32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

// The runner's DRAM state against the reference's (tern_rnn_ictx_get_state):
// per block, the layout of include/tern/compiler_rnn.h ('r', 'm') or the KV
// cache of the view's ATTN program ('a': the positions the ring still holds).
// Returns the number of differing values (and reports the first ones unless quiet).
int CompareState(const tern_rnn_qmodel *q, const tern_rnn_exec *e, const tern_rnn_ictx *ic,
                 const std::string &where, bool quiet = false) {
  const tern_rnn_config &c = q->cfg;
  const tern_rnn_mem *mem = tern_rnn_exec_mem(e);
  const uint8_t *d = tern_rnn_exec_dram(e);
  std::vector<uint8_t> ref(tern_rnn_ictx_state_bytes(ic));
  tern_rnn_ictx_get_state(ic, ref.data());
  int bad = 0;
  auto cmp = [&](int32_t got, int32_t want, int b, const char *what, int i, int j) {
    if (got == want) return;
    if (++bad <= 5 && !quiet)
      ADD_FAILURE() << where << ": block " << b << " " << what << "[" << i << "][" << j
                    << "] = " << got << ", reference " << want;
  };
  const int w = c.lru_width, P = mem->lru_pad, pos = tern_rnn_ictx_pos(ic);
  for (int b = 0; b < c.layers; b++) {
    const uint8_t *r = ref.data() + tern_rnn_ictx_state_off(ic, b);
    char k = tern_rnn_block_kind(&c, b);
    if (k == TERN_RNN_ATTENTION) {
      const int R = c.window < c.max_seq ? c.window : c.max_seq, hd = tern_rnn_head_dim(&c);
      const int hp = mem->tm.hd_pad, cp = mem->tm.ctx_pad;
      uint32_t kt, v, ks, vs;
      tern_tfm_kv_addrs(&mem->tm, b, 0, &kt, &v, &ks, &vs);
      const int8_t *rk = (const int8_t *)(r + 8 * R), *rv = rk + (size_t)R * hd;
      for (int j = pos - R > 0 ? pos - R : 0; j < pos; j++) {
        int s = j % R;
        cmp(Rd32(d + ks + 4 * j), Rd32(r + 4 * s), b, "KS", j, 0);
        cmp(Rd32(d + vs + 4 * j), Rd32(r + 4 * (R + s)), b, "VS", j, 0);
        for (int i = 0; i < hd; i++) {
          int row = i < hd / 2 ? i : hp / 2 + i - hd / 2;  // rotate-half layout of K^T
          cmp((int8_t)d[kt + (size_t)row * cp + j], rk[(size_t)s * hd + i], b, "K", j, i);
          cmp((int8_t)d[v + (size_t)j * hp + i], rv[(size_t)s * hd + i], b, "V", j, i);
        }
      }
      continue;
    }
    int rows = k == TERN_RNN_RECURRENT ? c.conv_width : 1;  // h, then the conv window
    for (int row = 0; row < rows; row++)
      for (int i = 0; i < P; i++) {
        int32_t got = Rd32(d + mem->state_addr[b] + 4 * ((size_t)row * P + i));
        int32_t want = i < w ? Rd32(r + 4 * ((size_t)row * w + i)) : 0;  // padding lanes 0
        cmp(got, want, b, row == 0 ? "h" : "window", row, i);
      }
  }
  return bad;
}

struct StepRun {
  std::vector<uint64_t> cycles, state_bytes, kv_bytes;
  int exact_steps = 0, steps = 0;
};

std::vector<int> Tokens(int n) {
  std::vector<int> t((size_t)n);
  for (int i = 0; i < n; i++) t[(size_t)i] = (i * 37 + 11) % 256;
  return t;
}

// Prefill `prompt` tokens, then `decodes` decode steps fed the next tokens;
// every step's logits and state against the integer reference.
StepRun RunChecked(const tern_rnn_qmodel *q, const char *backend, const tern_hwcfg &hw, int prompt,
               int decodes, const std::string &name) {
  StepRun out;
  char err[768];
  tern_rnn_exec_opts o;
  tern_rnn_exec_opts_default(&o);
  o.backend = backend;
  o.hw = hw;
  o.max_rows = prompt;
  o.ctx = prompt + decodes;
  tern_rnn_exec *e = tern_rnn_exec_new(q, &o, err, sizeof err);
  EXPECT_NE(e, nullptr) << err;
  if (!e) return out;
  tern_rnn_ictx *ic = tern_rnn_ictx_new(q, err, sizeof err);
  EXPECT_NE(ic, nullptr) << err;
  const int V = q->cfg.vocab;
  std::vector<int> toks = Tokens(prompt + decodes);
  std::vector<int32_t> la((size_t)V), li((size_t)V);
  for (int s = 0; s <= decodes; s++) {
    std::string where = name + " " + backend + " " + std::to_string(hw.rows) + "x" +
                        std::to_string(hw.cols) + " step " + std::to_string(s);
    int M = s == 0 ? prompt : 1;
    const int *t = s == 0 ? toks.data() : &toks[(size_t)(prompt + s - 1)];
    tern_rnn_step_stats st;
    int rc = tern_rnn_exec_step(e, t, M, la.data(), &st, err, sizeof err);
    EXPECT_EQ(rc, 0) << where << ": " << err;
    if (rc) break;
    EXPECT_EQ(tern_rnn_iprefill(ic, t, M, li.data(), 0, err, sizeof err), 0) << err;
    out.steps++;
    bool exact = la == li;
    EXPECT_TRUE(exact) << where << ": logits differ from the integer reference";
    out.exact_steps += exact;
    EXPECT_EQ(CompareState(q, e, ic, where), 0);
    EXPECT_EQ(tern_rnn_exec_pos(e), tern_rnn_ictx_pos(ic));
    // the DMA split adds up to the counters
    EXPECT_EQ(st.dram.state_rd + st.dram.kv_rd + st.dram.other_rd,
              st.total.v[TERN_CNT_DRAM_RD_BYTES])
        << where;
    EXPECT_EQ(st.dram.state_wr + st.dram.kv_wr + st.dram.other_wr,
              st.total.v[TERN_CNT_DRAM_WR_BYTES])
        << where;
    EXPECT_EQ(st.pos, tern_rnn_exec_pos(e) - M);
    EXPECT_EQ(st.M, M);
    // the program sequence; MIX / MLP / HEAD are kept from the previous decode
    EXPECT_EQ(st.nprog, 2 + 2 * q->cfg.layers);
    for (int i = 0; i < st.nprog && st.nprog == 2 + 2 * q->cfg.layers; i++) {
      const tern_rnn_prog_stat &p = st.prog[i];
      int b = (i - 1) / 2;
      char k = i == 0 || i == st.nprog - 1 ? 0 : tern_rnn_block_kind(&q->cfg, b);
      tern_rnn_prog_kind want = i == 0                ? TERN_RNN_PROG_EMBED
                                : i == st.nprog - 1   ? TERN_RNN_PROG_HEAD
                                : i % 2 == 0          ? TERN_RNN_PROG_MLP
                                : k == TERN_RNN_ATTENTION ? TERN_RNN_PROG_ATTN
                                                      : TERN_RNN_PROG_MIX;
      EXPECT_EQ(p.kind, want) << where << " program " << i;
      EXPECT_EQ(p.block, k ? b : -1);
      EXPECT_EQ(p.mixer, k);
      bool keep = want == TERN_RNN_PROG_MIX || want == TERN_RNN_PROG_MLP ||
                  want == TERN_RNN_PROG_HEAD;
      EXPECT_EQ(p.cached, s >= 2 && keep ? 1 : 0) << where << " program " << i;
    }
    // every step reads and writes the whole recurrent state once (h, the Conv1D window)
    EXPECT_EQ(st.dram.state_rd, tern_rnn_exec_mem(e)->state_bytes) << where;
    EXPECT_EQ(st.dram.state_wr, tern_rnn_exec_mem(e)->state_bytes) << where;
    EXPECT_GT(st.weight_bytes, 0u);
    EXPECT_EQ(st.total.v[TERN_CNT_CYCLES], st.mix_cycles + st.attn_cycles + st.mlp_cycles +
                                               st.embed_cycles + st.head_cycles);
    out.cycles.push_back(st.total.v[TERN_CNT_CYCLES]);
    out.state_bytes.push_back(st.state_bytes);
    out.kv_bytes.push_back(st.kv_bytes);
    tern_rnn_step_stats_free(&st);
  }
  tern_rnn_ictx_free(ic);
  tern_rnn_exec_free(e);
  return out;
}

bool HasKind(const tern_rnn_config &c, char k) {
  for (int b = 0; b < c.layers; b++)
    if (tern_rnn_block_kind(&c, b) == k) return true;
  return false;
}

const char *const kTiny[] = {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"};

}  // namespace

// Griffin with local attention blocks only (pattern "a"): EMBED, ATTN, MLP,
// HEAD of the view, no MIX program; past the window of 8 positions the
// ATTN program reads the last 8 cached positions as the reference's ring.
TEST(RnnExec, GriffinAttentionOnlyPastTheWindow) {
  tern_rnn_config c = Parse(
      "[model]\nname = griffin-a\narch = griffin\nvocab = 256\ndim = 64\nlayers = 2\nheads = 4\n"
      "lru_width = 96\nffn = 192\nwindow = 8\npattern = a\nmax_seq = 65536\nseed = 5\n");
  RModel M(c);
  ASSERT_TRUE(M.ok);
  StepRun r = RunChecked(M.q, "isa", tern_hwcfg_small(8, 8), 6, 6, "griffin-a");
  EXPECT_EQ(r.exact_steps, 7);
  ASSERT_EQ(r.kv_bytes.size(), 7u);
  for (int s = 0; s < 7; s++) {
    EXPECT_GT(r.kv_bytes[(size_t)s], 0u) << s;
    EXPECT_EQ(r.state_bytes[(size_t)s], 0u) << s;  // no recurrent block
  }
}

// The acceptance runs: prefill 6 tokens, 3 decodes, isa 16x16 and 8x8 and rtl 8x8.
TEST(RnnExec, TinyPresetsBitExactIsaAndRtl) {
  for (const char *name : kTiny) {
    SCOPED_TRACE(name);
    RModel M(Preset(name));
    ASSERT_TRUE(M.ok);
    StepRun i16 = RunChecked(M.q, "isa", tern_hwcfg_default(), 6, 3, name);
    StepRun i8 = RunChecked(M.q, "isa", tern_hwcfg_small(8, 8), 6, 3, name);
    StepRun r8 = RunChecked(M.q, "rtl", tern_hwcfg_small(8, 8), 6, 3, name);
    EXPECT_EQ(i16.exact_steps, 4);
    EXPECT_EQ(i8.exact_steps, 4);
    EXPECT_EQ(r8.exact_steps, 4);
    EXPECT_EQ(i8.cycles, r8.cycles) << "RTL and ISA simulator cycles per step differ";
    EXPECT_EQ(i8.state_bytes, r8.state_bytes);
    const tern_rnn_config &c = M.q->cfg;
    for (size_t s = 0; s < i8.cycles.size(); s++) {
      // every recurrent block reads and writes its state (h, the conv window) in DRAM
      if (HasKind(c, 'r') || HasKind(c, 'm')) {
        EXPECT_GT(i8.state_bytes[s], 0u) << s;
      }
      EXPECT_EQ(i8.kv_bytes[s] > 0, HasKind(c, 'a')) << s;
    }
    // a decode step's state traffic does not depend on the position
    for (size_t s = 2; s < i8.state_bytes.size(); s++)
      EXPECT_EQ(i8.state_bytes[s], i8.state_bytes[1]) << s;
  }
}

// griffin-tiny past its window of 32 positions (the 'a' block's ring wraps).
TEST(RnnExec, GriffinTinyPastTheWindow) {
  RModel M(Preset("griffin-tiny"));
  ASSERT_TRUE(M.ok);
  ASSERT_EQ(M.q->cfg.window, 32);
  StepRun r = RunChecked(M.q, "isa", tern_hwcfg_small(8, 8), 30, 5, "griffin-tiny");
  EXPECT_EQ(r.exact_steps, 6);
}

// seek: a decode step at a long context without running the steps before
// it.  A model of recurrent blocks only does not depend on the position at
// all: after seek the logits still equal the reference's (which never
// sought), and the cycles of a decode step are the same at every position.
TEST(RnnExec, SeekRecurrentIsFlat) {
  for (const char *name : {"hawk-tiny", "matmulfree-tiny"}) {
    SCOPED_TRACE(name);
    RModel M(Preset(name));
    ASSERT_TRUE(M.ok);
    char err[768];
    tern_rnn_exec_opts o;
    tern_rnn_exec_opts_default(&o);
    o.hw = tern_hwcfg_small(8, 8);
    o.max_rows = 3;
    tern_rnn_exec *e = tern_rnn_exec_new(M.q, &o, err, sizeof err);
    ASSERT_NE(e, nullptr) << err;
    EXPECT_EQ(tern_rnn_exec_ctx(e), M.q->cfg.max_seq);
    tern_rnn_ictx *ic = tern_rnn_ictx_new(M.q, err, sizeof err);
    ASSERT_NE(ic, nullptr) << err;
    std::vector<int32_t> la(256), li(256);
    std::vector<int> t = Tokens(6);
    tern_rnn_step_stats st;
    ASSERT_EQ(tern_rnn_exec_step(e, t.data(), 3, la.data(), nullptr, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_rnn_iprefill(ic, t.data(), 3, li.data(), 0, err, sizeof err), 0) << err;
    EXPECT_EQ(la, li);
    std::vector<uint64_t> cyc;
    const int at[] = {3, 1000, 65535};
    for (int s = 0; s < 3; s++) {
      if (s > 0) {
        std::vector<uint8_t> before(tern_rnn_exec_mem(e)->state_bytes);
        const tern_rnn_mem *mem = tern_rnn_exec_mem(e);
        memcpy(before.data(), tern_rnn_exec_dram(e) + mem->state_base, before.size());
        ASSERT_EQ(tern_rnn_exec_seek(e, at[s], err, sizeof err), 0) << err;
        EXPECT_EQ(tern_rnn_exec_pos(e), at[s]);
        EXPECT_EQ(memcmp(before.data(), tern_rnn_exec_dram(e) + mem->state_base, before.size()),
                  0);
      }
      ASSERT_EQ(tern_rnn_exec_step(e, &t[(size_t)(3 + s)], 1, la.data(), &st, err, sizeof err), 0)
          << err;
      ASSERT_EQ(tern_rnn_idecode(ic, t[(size_t)(3 + s)], li.data(), err, sizeof err), 0) << err;
      EXPECT_EQ(la, li) << "decode at position " << at[s];
      EXPECT_EQ(CompareState(M.q, e, ic, std::string(name) + " after seek"), 0);
      EXPECT_EQ(st.pos, at[s]);
      cyc.push_back(st.total.v[TERN_CNT_CYCLES]);
      tern_rnn_step_stats_free(&st);
    }
    EXPECT_EQ(cyc[1], cyc[0]);
    EXPECT_EQ(cyc[2], cyc[0]);
    // position 65535 is the last one max_seq allows: one more step, then full
    EXPECT_EQ(tern_rnn_exec_step(e, &t[0], 1, la.data(), nullptr, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("max_seq"), std::string::npos) << err;
    EXPECT_EQ(tern_rnn_exec_seek(e, 65537, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("expected 0 .. 65536"), std::string::npos) << err;
    // the comparison sees a state one token ahead
    ASSERT_EQ(tern_rnn_idecode(ic, 'z', li.data(), err, sizeof err), 0) << err;
    EXPECT_GT(CompareState(M.q, e, ic, "", true), 0);
    // reset: position 0, state zero, the same logits as a fresh reference
    tern_rnn_exec_reset(e);
    tern_rnn_ictx_reset(ic);
    EXPECT_EQ(tern_rnn_exec_pos(e), 0);
    EXPECT_EQ(CompareState(M.q, e, ic, std::string(name) + " after reset"), 0);
    ASSERT_EQ(tern_rnn_exec_step(e, t.data(), 2, la.data(), nullptr, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_rnn_iprefill(ic, t.data(), 2, li.data(), 0, err, sizeof err), 0) << err;
    EXPECT_EQ(la, li);
    tern_rnn_ictx_free(ic);
    tern_rnn_exec_free(e);
  }
}

// griffin's local attention after a seek reads the `window` cached positions
// before it: decode cycles grow up to the window and stay flat after it (equal
// at positions with the same alignment to the array's columns: the cache is
// read in words of C positions).
TEST(RnnExec, SeekAttentionFlatPastTheWindow) {
  tern_rnn_config c = Parse(
      "[model]\nname = griffin-a\narch = griffin\nvocab = 256\ndim = 64\nlayers = 1\nheads = 4\n"
      "lru_width = 96\nffn = 192\nwindow = 16\npattern = a\nmax_seq = 65536\nseed = 5\n");
  RModel M(c);
  ASSERT_TRUE(M.ok);
  char err[768];
  tern_rnn_exec_opts o;
  tern_rnn_exec_opts_default(&o);
  o.hw = tern_hwcfg_small(8, 8);
  o.ctx = 200;
  tern_rnn_exec *e = tern_rnn_exec_new(M.q, &o, err, sizeof err);
  ASSERT_NE(e, nullptr) << err;
  EXPECT_EQ(tern_rnn_exec_ctx(e), 200);
  std::vector<int32_t> la(256);
  int tok = 'x';
  std::vector<uint64_t> cyc, kv;
  for (int p : {0, 15, 47, 127, 199}) {  // 15 + 8k: a window of 16 = two words
    ASSERT_EQ(tern_rnn_exec_seek(e, p, err, sizeof err), 0) << err;
    tern_rnn_step_stats st;
    ASSERT_EQ(tern_rnn_exec_step(e, &tok, 1, la.data(), &st, err, sizeof err), 0) << err;
    cyc.push_back(st.total.v[TERN_CNT_CYCLES]);
    kv.push_back(st.kv_bytes);
    tern_rnn_step_stats_free(&st);
  }
  EXPECT_LT(cyc[0], cyc[1]);
  EXPECT_LT(kv[0], kv[1]);
  for (int i = 2; i < 5; i++) {
    EXPECT_EQ(cyc[(size_t)i], cyc[1]) << i;
    EXPECT_EQ(kv[(size_t)i], kv[1]) << i;
  }
  EXPECT_EQ(tern_rnn_exec_seek(e, 201, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("ctx"), std::string::npos) << err;
  EXPECT_EQ(tern_rnn_exec_step(e, &tok, 1, la.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("ctx"), std::string::npos) << err;
  tern_rnn_exec_free(e);
}

TEST(RnnExec, BadInput) {
  RModel M(Preset("hawk-tiny"));
  ASSERT_TRUE(M.ok);
  char err[768];
  tern_rnn_exec_opts o;
  tern_rnn_exec_opts_default(&o);
  o.hw = tern_hwcfg_small(8, 8);
  o.backend = "gpu";
  EXPECT_EQ(tern_rnn_exec_new(M.q, &o, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("expected isa or rtl"), std::string::npos) << err;
  o.backend = "isa";
  o.max_rows = 0;
  EXPECT_EQ(tern_rnn_exec_new(M.q, &o, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("max_rows"), std::string::npos) << err;
  o.max_rows = 2;
  tern_rnn_exec *e = tern_rnn_exec_new(M.q, &o, err, sizeof err);
  ASSERT_NE(e, nullptr) << err;
  std::vector<int32_t> lg(256);
  int t[3] = {1, 2, 256};
  EXPECT_EQ(tern_rnn_exec_step(e, t, 3, lg.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("max_rows"), std::string::npos) << err;
  EXPECT_EQ(tern_rnn_exec_step(e, &t[2], 1, lg.data(), nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("expected 0 .. 255"), std::string::npos) << err;
  EXPECT_EQ(tern_rnn_exec_seek(e, -1, err, sizeof err), -1);
  EXPECT_EQ(tern_rnn_exec_pos(e), 0);
  tern_rnn_exec_free(e);
}

// tern_tfm_exec_seek: the transformer runner's position moves, nothing runs;
// bounded by the KV cache's ctx.
TEST(RnnExec, TransformerSeek) {
  tern_test::QModel m(tern_test::ParseConfig(
      "[model]\nname = t1\nvocab = 256\ndim = 64\nlayers = 1\nheads = 4\nkv_heads = 2\n"
      "ffn = 128\nffn_type = relu2\nmax_seq = 64\nseed = 3\n"));
  ASSERT_TRUE(m.ok);
  char err[768];
  tern_tfm_exec_opts o;
  tern_tfm_exec_opts_default(&o);
  o.hw = tern_hwcfg_small(8, 8);
  o.ctx = 40;
  tern_tfm_exec *e = tern_tfm_exec_new(&m.q, &o, err, sizeof err);
  ASSERT_NE(e, nullptr) << err;
  std::vector<int32_t> lg(256);
  int tok = 'a';
  std::vector<uint64_t> cyc;
  for (int p : {0, 16, 39}) {
    ASSERT_EQ(tern_tfm_exec_seek(e, p, err, sizeof err), 0) << err;
    EXPECT_EQ(tern_tfm_exec_pos(e), p);
    tern_tfm_step_stats st;
    ASSERT_EQ(tern_tfm_exec_step(e, &tok, 1, lg.data(), &st, err, sizeof err), 0) << err;
    EXPECT_EQ(st.pos, p);
    cyc.push_back(st.total.v[TERN_CNT_CYCLES]);
    tern_tfm_step_stats_free(&st);
  }
  EXPECT_LT(cyc[0], cyc[1]);  // the attention reads more cached positions
  EXPECT_LT(cyc[1], cyc[2]);
  EXPECT_EQ(tern_tfm_exec_pos(e), 40);
  EXPECT_EQ(tern_tfm_exec_seek(e, 41, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("expected 0 .. 40 (ctx)"), std::string::npos) << err;
  EXPECT_EQ(tern_tfm_exec_seek(e, -1, err, sizeof err), -1);
  tern_tfm_exec_free(e);
}
