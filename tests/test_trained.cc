// The shipped trained checkpoints (models/trained/*/, issue 11): each loads,
// tern's C float reference reproduces the logits recorded at training time
// (bit for bit the C-order copy the trainer computed from the file alone;
// within float rounding the PyTorch model's own), the GGUF and the
// safetensors copy are the same model with the same logits on the integer
// reference (cpu) and the ISA simulator, and the accelerator's logits equal
// the integer reference's on trained weights.
#include <gtest/gtest.h>

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tern/ckpt.h"
#include "tern/rnn.h"
#include "tern/rnn_exec.h"
#include "tern/tfm.h"
#include "tern/tfm_exec.h"
#include "tern/tfm_int.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

std::vector<std::string> Shipped() {
  std::vector<std::string> out;
  std::string root = std::string(TERN_ROOT) + "/models/trained";
  DIR *d = opendir(root.c_str());
  if (!d) return out;
  while (struct dirent *e = readdir(d)) {
    std::string n = e->d_name, p = root + "/" + n;
    struct stat sb;
    if (n[0] != '.' && !stat((p + "/reference.json").c_str(), &sb)) out.push_back(p);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

struct Ref {
  std::string prompt;
  std::vector<int> tokens;
  std::vector<float> logits, c_order;
};

std::vector<Ref> ReadRefs(const std::string &dir, bool *glibc) {
  std::vector<Ref> refs;
  json_error_t je;
  json_t *j = json_load_file((dir + "/reference.json").c_str(), 0, &je);
  EXPECT_NE(j, nullptr) << dir << ": " << je.text;
  if (!j) return refs;
  const char *ex = json_string_value(json_object_get(j, "expf"));
  *glibc = ex && !strcmp(ex, "glibc");
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(j, "prompts"), i, p) {
    Ref r;
    r.prompt = json_string_value(json_object_get(p, "prompt"));
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(p, "tokens"), k, v) r.tokens.push_back((int)json_integer_value(v));
    json_array_foreach(json_object_get(p, "logits"), k, v) r.logits.push_back((float)json_number_value(v));
    json_array_foreach(json_object_get(p, "logits_c_order"), k, v)
      r.c_order.push_back((float)json_number_value(v));
    refs.push_back(r);
  }
  json_decref(j);
  return refs;
}

std::string Family(const std::string &path) {
  char fam[16] = "", err[512];
  EXPECT_EQ(tern_ckpt_family(path.c_str(), fam, sizeof fam, err, sizeof err), 0) << err;
  return fam;
}

// float reference logits of the last position of a prompt
std::vector<float> FloatLogits(const std::string &path, const std::vector<int> &toks, int *vocab) {
  char err[1024];
  std::vector<float> out;
  if (Family(path) == "recurrent") {
    tern_rnn_model m;
    EXPECT_EQ(tern_rnn_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err), 0) << err;
    tern_rnn_ctx *x = tern_rnn_ctx_new(&m, err, sizeof err);
    out.resize((size_t)m.cfg.vocab);
    EXPECT_EQ(tern_rnn_prefill(x, toks.data(), (int)toks.size(), out.data(), 0, err, sizeof err), 0) << err;
    *vocab = m.cfg.vocab;
    tern_rnn_ctx_free(x);
    tern_rnn_free(&m);
  } else {
    tern_tfm_model m;
    EXPECT_EQ(tern_tfm_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err), 0) << err;
    tern_tfm_ctx *x = tern_tfm_ctx_new(&m, 0, err, sizeof err);
    out.resize((size_t)m.cfg.vocab);
    EXPECT_EQ(tern_tfm_prefill(x, toks.data(), (int)toks.size(), out.data(), 0, err, sizeof err), 0) << err;
    *vocab = m.cfg.vocab;
    tern_tfm_ctx_free(x);
    tern_tfm_free(&m);
  }
  return out;
}

TEST(Trained, ShippedCheckpointsExist) {
  std::vector<std::string> s = Shipped();
  bool tiny = false;
  for (auto &d : s) tiny |= d.size() >= 5 && d.substr(d.size() - 5) == "/tiny";
  EXPECT_TRUE(tiny) << "models/trained/tiny (the default model of make demo) is missing";
  for (auto &d : s) {
    struct stat sb;
    EXPECT_EQ(stat((d + "/model.safetensors").c_str(), &sb), 0) << d;
    EXPECT_EQ(stat((d + "/model.gguf").c_str(), &sb), 0) << d << ": the GGUF copy is missing";
    EXPECT_EQ(stat((d + "/COMMAND").c_str(), &sb), 0) << d;
    EXPECT_EQ(stat((d + "/train.log").c_str(), &sb), 0) << d;
    EXPECT_EQ(stat((d + "/loss.png").c_str(), &sb), 0) << d;
  }
}

TEST(Trained, FloatReferenceReproducesTheTrainingLogits) {
  for (const std::string &d : Shipped()) {
    SCOPED_TRACE(d);
    bool glibc = false;
    std::vector<Ref> refs = ReadRefs(d, &glibc);
    ASSERT_FALSE(refs.empty());
    for (const Ref &r : refs) {
      SCOPED_TRACE(r.prompt);
      int V = 0;
      std::vector<float> l = FloatLogits(d, r.tokens, &V);
      ASSERT_EQ(r.logits.size(), (size_t)V);
      float mx = 0, worst = 0;
      for (int v = 0; v < V; v++) {
        mx = std::fmax(mx, std::fabs(r.logits[(size_t)v]));
        worst = std::fmax(worst, std::fabs(l[(size_t)v] - r.logits[(size_t)v]));
      }
      // PyTorch sums in another order (BLAS): float rounding only
      EXPECT_LE(worst, 1e-4f * std::fmax(mx, 1.0f)) << "max |C - PyTorch| " << worst;
      EXPECT_EQ(tern_tfm_argmax(l.data(), V), tern_tfm_argmax(r.logits.data(), V));
      // the C-order copy (the file alone, tern's loop order, glibc expf): bit for bit
      if (glibc && r.c_order.size() == (size_t)V) {
        EXPECT_EQ(std::memcmp(l.data(), r.c_order.data(), (size_t)V * 4), 0);
      }
    }
  }
}

// The GGUF and safetensors copies: the same model, the same logits on the
// integer reference and on the ISA simulator (4x4 array).
TEST(Trained, GgufAndSafetensorsGiveIdenticalLogitsOnCpuAndIsa) {
  for (const std::string &d : Shipped()) {
    SCOPED_TRACE(d);
    std::string g = d + "/model.gguf";
    char err[1024];
    bool glibc;
    std::vector<Ref> refs = ReadRefs(d, &glibc);
    ASSERT_FALSE(refs.empty());
    const std::vector<int> &toks = refs[0].tokens;
    int M = (int)toks.size();
    std::vector<std::vector<int32_t>> cpu(2), isa(2);
    for (int k = 0; k < 2; k++) {
      const std::string &path = k ? g : d;
      tern_hwcfg hw = tern_hwcfg_small(4, 4);
      hw.acc_depth = 2048;  // small (d 192, 12 heads) needs 588 ACC words per token row at 4x4
      hw.abuf_depth = 1024;
      if (Family(d) == "recurrent") {
        tern_rnn_model m;
        ASSERT_EQ(tern_rnn_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err), 0) << err;
        tern_rnn_qmodel *q = tern_rnn_quantize(&m, err, sizeof err);
        ASSERT_NE(q, nullptr) << err;
        tern_rnn_ictx *ic = tern_rnn_ictx_new(q, err, sizeof err);
        cpu[k].resize((size_t)m.cfg.vocab);
        ASSERT_EQ(tern_rnn_iprefill(ic, toks.data(), M, cpu[k].data(), 0, err, sizeof err), 0) << err;
        tern_rnn_exec_opts o;
        tern_rnn_exec_opts_default(&o);
        o.backend = "isa";
        o.hw = hw;
        o.ctx = M;
        o.max_rows = M;
        tern_rnn_exec *x = tern_rnn_exec_new(q, &o, err, sizeof err);
        ASSERT_NE(x, nullptr) << err;
        isa[k].resize((size_t)m.cfg.vocab);
        ASSERT_EQ(tern_rnn_exec_step(x, toks.data(), M, isa[k].data(), nullptr, err, sizeof err), 0) << err;
        tern_rnn_exec_free(x);
        tern_rnn_ictx_free(ic);
        tern_rnn_qmodel_free(q);
        tern_rnn_free(&m);
      } else {
        tern_tfm_model m;
        ASSERT_EQ(tern_tfm_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err), 0) << err;
        tern_tfm_qmodel q;
        ASSERT_EQ(tern_tfm_quantize(&m, &q, err, sizeof err), 0) << err;
        tern_tfm_ictx *ic = tern_tfm_ictx_new(&q, M, err, sizeof err);
        cpu[k].resize((size_t)m.cfg.vocab);
        ASSERT_EQ(tern_tfm_iprefill(ic, toks.data(), M, cpu[k].data(), 0, err, sizeof err), 0) << err;
        tern_tfm_exec_opts o;
        tern_tfm_exec_opts_default(&o);
        o.backend = "isa";
        o.hw = hw;
        o.ctx = M;
        o.max_rows = M;
        tern_tfm_exec *x = tern_tfm_exec_new(&q, &o, err, sizeof err);
        ASSERT_NE(x, nullptr) << err;
        isa[k].resize((size_t)m.cfg.vocab);
        ASSERT_EQ(tern_tfm_exec_step(x, toks.data(), M, isa[k].data(), nullptr, err, sizeof err), 0) << err;
        tern_tfm_exec_free(x);
        tern_tfm_ictx_free(ic);
        tern_tfm_qmodel_free(&q);
        tern_tfm_free(&m);
      }
    }
    EXPECT_EQ(cpu[0], cpu[1]) << "integer reference: safetensors vs GGUF";
    EXPECT_EQ(isa[0], isa[1]) << "ISA simulator: safetensors vs GGUF";
    EXPECT_EQ(cpu[0], isa[0]) << "ISA simulator vs integer reference on trained weights";
  }
}

}  // namespace
