// Shared GoogleTest fixtures for the transformer tests: a generated +
// quantised model, and config helpers (on tests/model_fixtures.h).
// Header-only (tests/*.cc include it).
#ifndef TERN_TESTS_TFM_FIXTURES_H
#define TERN_TESTS_TFM_FIXTURES_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "model_fixtures.h"
#include "tern/backend.h"
#include "tern/isasim.h"
#include "tern/program.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"

namespace tern_test {

inline tern_tfm_config PresetConfig(const char *name) { return PresetOf<tern_tfm_config>(name); }

inline tern_tfm_config ParseConfig(const std::string &text) {
  return ParseOk<tern_tfm_config>(text);
}

// Seeded weights (tern_tfm_generate) and their integer quantisation.
struct QModel {
  tern_tfm_model m;
  tern_tfm_qmodel q;
  bool ok = false;
  explicit QModel(const tern_tfm_config &c) { Init(c); }
  explicit QModel(const char *preset) { Init(PresetConfig(preset)); }
  ~QModel() {
    tern_tfm_qmodel_free(&q);
    tern_tfm_free(&m);
  }
  QModel(const QModel &) = delete;
  QModel &operator=(const QModel &) = delete;

 private:
  void Init(const tern_tfm_config &c) {
    std::memset(&m, 0, sizeof m);
    std::memset(&q, 0, sizeof q);
    char err[512];
    if (tern_tfm_generate(&c, &m, 0, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    if (tern_tfm_quantize(&m, &q, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    ok = true;
  }
};

// Deterministic Q12 input rows of the compiler tests: mostly |x| < 3 ([-3, 3]
// in Q12), one value in 16 scaled by `big`.  `salt` varies the stream.
inline std::vector<int32_t> MakeInput(int M, int d, uint32_t seed, uint32_t salt = 1,
                                      int32_t big = 5) {
  std::vector<int32_t> x((size_t)M * d);
  uint32_t s = seed * 2654435761u + salt;
  for (size_t i = 0; i < x.size(); i++) {
    s = s * 1103515245u + 12345u;
    int32_t v = (int32_t)((s >> 8) % 24577u) - 12288;
    if ((s >> 28) == 0) v *= big;
    x[i] = v;
  }
  return x;
}

// Little-endian int32 of a DRAM image.
inline int32_t Rd32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

// LayerNorm with bias + SubLN + SwiGLU, odd widths (the SubLN's centring needs
// the padding lanes re-zeroed): used by the FFN and the step tests.
constexpr const char *kLnSubln =
    "[model]\nname = lnsubln\nvocab = 64\ndim = 36\nlayers = 2\nheads = 2\n"
    "ffn = 70\nffn_type = swiglu\nnorm = layernorm\nnorm_bias = true\nsubln = true\n"
    "max_seq = 16\nseed = 9\n";

// Runs program parts[0..np) in order on session s (nullptr: one stand-alone
// ISA simulator run per part) over dram, grown to each part's dram_size with
// its segments written first.  Checks that every part fits imem_depth and that
// the parts after the first carry no segments; counters are summed into *cnt
// and instructions into *n_insns (both reset first).  0, or -1 with the
// failure reported (what names the program).
inline int RunParts(tern_session *s, std::vector<uint8_t> *dram, const tern_program *parts, int np,
                    int imem_depth, tern_counters *cnt, size_t *n_insns, const std::string &what) {
  char err[768];
  *cnt = tern_counters{};
  *n_insns = 0;
  int rc = 0;
  for (int k = 0; k < np && !rc; k++) {
    const tern_program &p = parts[k];
    EXPECT_LE(p.n_insns, (size_t)imem_depth) << what << " part " << k;
    if (k > 0) {
      EXPECT_EQ(p.n_segs, 0u) << what << " part " << k;
    }
    *n_insns += p.n_insns;
    if (dram->size() < p.dram_size) dram->resize(p.dram_size, 0);
    rc = tern_program_init_dram(&p, dram->data(), dram->size(), err, sizeof err);
    EXPECT_EQ(rc, 0) << what << ": " << err;
    tern_run_opts ro{};
    tern_counters c1{};
    if (!rc)
      rc = s ? tern_session_run(s, p.insns, p.n_insns, dram->data(), dram->size(), &ro, &c1, err,
                                sizeof err)
             : tern_isasim_run(&p.cfg, p.insns, p.n_insns, dram->data(), dram->size(), &ro, &c1,
                               err, sizeof err);
    EXPECT_EQ(rc, 0) << "run " << what << " part " << k << ": " << err;
    for (int i = 0; i < TERN_NCOUNTERS; i++) cnt->v[i] += c1.v[i];
  }
  return rc;
}

// Element-wise comparison against a reference: the number of differing
// elements; the first five are reported as failures naming `what`.
inline int CountDiff(const std::vector<int32_t> &a, const std::vector<int32_t> &b,
                     const char *what) {
  EXPECT_EQ(a.size(), b.size());
  int bad = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); i++)
    if (a[i] != b[i] && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "] = " << a[i] << ", reference " << b[i];
  return bad;
}

}  // namespace tern_test

#endif
