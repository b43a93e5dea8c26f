// Checkpoints (include/tern/ckpt.h, include/tern/safetensors.h): round trips
// of every tiny preset shape, the 2B4T packed layout checked against a matrix
// packed here from the layout's definition (not by the exporter), float
// master weights ternarised at import, HF config mapping, sharded
// checkpoints, hostile files (named errors, no crash), and a fuzz test.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tern/ckpt.h"
#include "tern/generate.h"
#include "tern/half.h"
#include "tern/numerics.h"
#include "tern/safetensors.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"

#include "fuzz_seed.h"

namespace {

std::string TmpDir() {
  char d[] = "/tmp/tern_ckpt_XXXXXX";
  EXPECT_NE(mkdtemp(d), nullptr);
  return d;
}

void RmRf(const std::string &d) {
  std::string cmd = "rm -rf '" + d + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

std::string ReadFile(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void WriteFile(const std::string &p, const std::string &s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

tern_tfm_model Seeded(const tern_tfm_config &c) {
  tern_tfm_model m;
  char err[512];
  EXPECT_EQ(tern_tfm_generate(&c, &m, 0, err, sizeof err), 0) << err;
  return m;
}

tern_tfm_config Cfg(const char *text) {
  tern_tfm_config c;
  char err[512];
  EXPECT_EQ(tern_tfm_parse_string(text, "test", &c, err, sizeof err), 0) << err;
  return c;
}

tern_tfm_config PresetCfg(const char *name) {
  tern_tfm_config c;
  char err[512];
  EXPECT_EQ(tern_tfm_preset(name, &c, err, sizeof err), 0) << err;
  return c;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

void ExpectNormEq(const tern_tfm_norm &a, const tern_tfm_norm &b, int n, const char *what) {
  ASSERT_EQ(a.g == nullptr, b.g == nullptr) << what;
  ASSERT_EQ(a.b == nullptr, b.b == nullptr) << what;
  if (a.g) {
    EXPECT_EQ(std::memcmp(a.g, b.g, (size_t)n * 4), 0) << what;
  }
  if (a.b) {
    EXPECT_EQ(std::memcmp(a.b, b.b, (size_t)n * 4), 0) << what;
  }
}

void ExpectLinEq(const tern_tpacked &a, const tern_tpacked &b, const char *what) {
  ASSERT_EQ(a.codes == nullptr, b.codes == nullptr) << what;
  if (!a.codes) return;
  EXPECT_EQ(a.k, b.k) << what;
  EXPECT_EQ(a.n, b.n) << what;
  EXPECT_TRUE(SameBits(a.beta, b.beta)) << what << ": beta " << a.beta << " vs " << b.beta;
  EXPECT_EQ(std::memcmp(a.codes, b.codes, tern_tpacked_bytes(a.k, a.n)), 0) << what;
}

void ExpectRowsEq(const tern_i8rows &a, const tern_i8rows &b, const char *what) {
  ASSERT_EQ(a.q == nullptr, b.q == nullptr) << what;
  if (!a.q) return;
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  EXPECT_EQ(std::memcmp(a.q, b.q, (size_t)a.rows * (size_t)a.cols), 0) << what;
  EXPECT_EQ(std::memcmp(a.scale, b.scale, (size_t)a.rows * 4), 0) << what;
}

void ExpectFfnEq(const tern_tfm_config &c, const tern_tfm_ffn &a, const tern_tfm_ffn &b) {
  ExpectLinEq(a.gate, b.gate, "gate");
  ExpectLinEq(a.up, b.up, "up");
  ExpectLinEq(a.down, b.down, "down");
  if (c.subln) ExpectNormEq(a.subln, b.subln, c.ffn, "ffn subln");
}

// Every tensor and the description, bit for bit.
void ExpectModelEq(const tern_tfm_model &a, const tern_tfm_model &b) {
  char pa[4096], pb[4096];
  tern_tfm_print_string(pa, sizeof pa, &a.cfg);
  tern_tfm_print_string(pb, sizeof pb, &b.cfg);
  EXPECT_STREQ(pa, pb);
  const tern_tfm_config &c = a.cfg;
  ExpectRowsEq(a.embed, b.embed, "embedding");
  ExpectRowsEq(a.lm_head, b.lm_head, "lm head");
  ExpectNormEq(a.final_norm, b.final_norm, c.dim, "final norm");
  if (c.share_ffn) ExpectFfnEq(c, a.shared_ffn, b.shared_ffn);
  int qd = c.heads * c.head_dim;
  for (int l = 0; l < c.layers; l++) {
    const tern_tfm_block &x = a.block[l], &y = b.block[l];
    ExpectNormEq(x.attn_norm, y.attn_norm, c.dim, "attn norm");
    ExpectLinEq(x.wq, y.wq, "wq");
    ExpectLinEq(x.wk, y.wk, "wk");
    ExpectLinEq(x.wv, y.wv, "wv");
    ExpectLinEq(x.wo, y.wo, "wo");
    if (c.subln) ExpectNormEq(x.attn_subln, y.attn_subln, qd, "attn subln");
    ExpectNormEq(x.ffn_norm, y.ffn_norm, c.dim, "ffn norm");
    ExpectFfnEq(c, *x.ffn, *y.ffn);
    EXPECT_EQ(c.share_ffn ? &b.shared_ffn : &y.own_ffn, y.ffn);
  }
}

const char *kOddShapes =
    "[model]\nname = odd\nvocab = 300\ndim = 24\nlayers = 3\nheads = 3\nkv_heads = 1\n"
    "head_dim = 6\nffn = 37\nffn_type = swiglu\nnorm = layernorm\nnorm_bias = true\n"
    "tie_embeddings = false\nshare_ffn = true\nrepeat = 2\nwindow = 5\nsubln = true\n"
    "max_seq = 64\nseed = 9\n";

// --- round trips -------------------------------------------------------------------------

TEST(Ckpt, SafetensorsRoundTripEveryTinyShape) {
  std::vector<tern_tfm_config> cfgs = {PresetCfg("tiny"), PresetCfg("nemotron4-style-tiny"),
                                       PresetCfg("starcoder2-style-tiny"), Cfg(kOddShapes)};
  for (auto &c : cfgs) {
    SCOPED_TRACE(c.name);
    tern_tfm_model m = Seeded(c);
    std::string d = TmpDir() + "/ck";
    char err[1024];
    ASSERT_EQ(tern_tfm_ckpt_save(&m, d.c_str(), TERN_CKPT_SAFETENSORS, err, sizeof err), 0) << err;
    tern_tfm_model r;
    tern_ckpt_info info;
    ASSERT_EQ(tern_tfm_ckpt_load(d.c_str(), &r, &info, err, sizeof err), 0) << err;
    EXPECT_EQ(info.config_from_tern, 1);
    EXPECT_EQ(info.ternarised, 0);
    EXPECT_EQ(info.quantised_rows, 0);
    ExpectModelEq(m, r);
    // the single file path and the directory give the same model
    tern_tfm_model r2;
    ASSERT_EQ(tern_tfm_ckpt_load((d + "/model.safetensors").c_str(), &r2, nullptr, err, sizeof err), 0)
        << err;
    ExpectModelEq(m, r2);
    // and the float reference's logits are identical (same weights, same code)
    tern_tfm_ctx *x1 = tern_tfm_ctx_new(&m, 16, err, sizeof err);
    tern_tfm_ctx *x2 = tern_tfm_ctx_new(&r, 16, err, sizeof err);
    ASSERT_TRUE(x1 && x2);
    int toks[4] = {1, 72, 105, 33};
    std::vector<float> l1(c.vocab), l2(c.vocab);
    ASSERT_EQ(tern_tfm_prefill(x1, toks, 4, l1.data(), 0, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_tfm_prefill(x2, toks, 4, l2.data(), 0, err, sizeof err), 0) << err;
    EXPECT_EQ(std::memcmp(l1.data(), l2.data(), l1.size() * 4), 0);
    tern_tfm_ctx_free(x1);
    tern_tfm_ctx_free(x2);
    tern_tfm_free(&r2);
    tern_tfm_free(&r);
    tern_tfm_free(&m);
    RmRf(d.substr(0, d.size() - 3));
  }
}

// --- a checkpoint built tensor by tensor ------------------------------------------------

struct Tensor {
  tern_st_dtype dt;
  std::vector<uint64_t> shape;
  std::string bytes;
};
typedef std::map<std::string, Tensor> Tensors;

Tensors ReadAll(const std::string &path) {
  Tensors t;
  char err[512];
  tern_st *st = tern_st_open(path.c_str(), err, sizeof err);
  EXPECT_NE(st, nullptr) << err;
  if (!st) return t;
  for (int i = 0; i < tern_st_count(st); i++) {
    const tern_st_tensor *x = tern_st_at(st, i);
    Tensor v{x->dtype, std::vector<uint64_t>(x->shape, x->shape + x->ndim),
             std::string((const char *)x->data, (size_t)x->nbytes)};
    t[x->name] = v;
  }
  tern_st_close(st);
  return t;
}

void WriteAll(const std::string &path, const Tensors &t) {
  tern_st_writer *w = tern_st_writer_new();
  char err[512];
  for (auto &kv : t)
    ASSERT_EQ(tern_st_writer_add(w, kv.first.c_str(), kv.second.dt, (int)kv.second.shape.size(),
                                 kv.second.shape.data(), kv.second.bytes.data(),
                                 kv.second.bytes.size(), err, sizeof err),
              0)
        << err;
  ASSERT_EQ(tern_st_writer_write(w, path.c_str(), err, sizeof err), 0) << err;
  tern_st_writer_free(w);
}

std::string F32Bytes(const std::vector<float> &v) {
  return std::string((const char *)v.data(), v.size() * 4);
}

uint16_t ToBf16(float f) {  // round to nearest even (finite values)
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return (uint16_t)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// The 2B4T layout from its definition: out x in ternary t, R = ceil(out/4),
// byte [p][i] = sum_j (t[p + jR][i] + 1) << 2j.  Independent of put_lin.
TEST(Ckpt, PackedLayoutMatchesTheDefinition) {
  tern_tfm_config c = PresetCfg("tiny");
  tern_tfm_model m = Seeded(c);
  std::string dir = TmpDir();
  char err[1024];
  ASSERT_EQ(tern_tfm_ckpt_save(&m, dir.c_str(), TERN_CKPT_SAFETENSORS, err, sizeof err), 0) << err;
  Tensors t = ReadAll(dir + "/model.safetensors");
  // layer 0 k_proj: out = kv_heads * head_dim = 32, in = 64; a hand-made pattern
  const int out = 32, in = 64, R = out / 4;
  std::vector<int> w((size_t)out * in);
  std::mt19937 rng(7);
  for (auto &x : w) x = (int)(rng() % 3) - 1;
  std::string packed((size_t)R * in, '\0');
  for (int p = 0; p < R; p++)
    for (int i = 0; i < in; i++) {
      unsigned b = 0;
      for (int j = 0; j < 4; j++) b |= (unsigned)(w[(size_t)(p + j * R) * in + i] + 1) << (2 * j);
      packed[(size_t)p * in + i] = (char)b;
    }
  t["model.layers.0.self_attn.k_proj.weight"].bytes = packed;
  double ws = 4.0;  // beta = 0.25
  t["model.layers.0.self_attn.k_proj.weight_scale"] = {TERN_ST_F64, {1}, std::string((char *)&ws, 8)};
  WriteAll(dir + "/model.safetensors", t);
  tern_tfm_model r;
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &r, nullptr, err, sizeof err), 0) << err;
  const tern_tpacked &k = r.block[0].wk;
  EXPECT_EQ(k.beta, 0.25f);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++)
      ASSERT_EQ(tern_tpacked_get(k.codes, (size_t)i * out + o), w[(size_t)o * in + i])
          << "row " << o << " col " << i;
  // the hand example: byte 0b10'01'00'10 = rows 0, 8, 16, 24 of column 0 are +1, -1, 0, +1
  t["model.layers.0.self_attn.k_proj.weight"].bytes[0] = (char)0x92;
  WriteAll(dir + "/model.safetensors", t);
  tern_tfm_model r2;
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &r2, nullptr, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_tpacked_get(r2.block[0].wk.codes, 0 * out + 0), 1);
  EXPECT_EQ(tern_tpacked_get(r2.block[0].wk.codes, 0 * out + 8), -1);
  EXPECT_EQ(tern_tpacked_get(r2.block[0].wk.codes, 0 * out + 16), 0);
  EXPECT_EQ(tern_tpacked_get(r2.block[0].wk.codes, 0 * out + 24), 1);
  // code 3 is not a weight
  t["model.layers.0.self_attn.k_proj.weight"].bytes[5] = (char)0xFF;
  WriteAll(dir + "/model.safetensors", t);
  tern_tfm_model r3;
  EXPECT_NE(tern_tfm_ckpt_load(dir.c_str(), &r3, nullptr, err, sizeof err), 0);
  EXPECT_NE(std::strstr(err, "k_proj.weight': weight [0, 5] has code 3"), nullptr) << err;
  tern_tfm_free(&r2);
  tern_tfm_free(&r);
  tern_tfm_free(&m);
  RmRf(dir);
}

// An HF LLaMA-style checkpoint with float master weights (no tern section):
// the description is mapped from config.json, the linears are ternarised with
// tern_ternarize over tern's [in][out] order, the embedding quantised per row.
TEST(Ckpt, FloatMastersAreTernarisedAtImport) {
  std::string dir = TmpDir();
  const int V = 40, d = 16, L = 2, H = 4, KV = 2, hd = 4, F = 24;
  WriteFile(dir + "/config.json",
            "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
            "\"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 24, "
            "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
            "\"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0, "
            "\"tie_word_embeddings\": false, \"max_position_embeddings\": 128}");
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  Tensors t;
  std::map<std::string, std::vector<float>> masters;
  int half = 0; /* the next float tensor: 0 F32, 1 BF16, 2 F16 */
  auto fl = [&](const std::string &n, std::vector<uint64_t> sh, bool bf16) {
    size_t cnt = 1;
    for (auto s : sh) cnt *= s;
    std::vector<float> v(cnt);
    for (auto &x : v) x = nd(rng);
    if (!bf16 && (half++ % 5) == 4) { /* every fifth float tensor as F16 */
      std::string b(cnt * 2, '\0');
      for (size_t i = 0; i < cnt; i++) {
        uint16_t h = tern_f32_to_f16(v[i]);
        std::memcpy(&b[i * 2], &h, 2);
        v[i] = tern_f16_to_f32(h);
      }
      t[n] = {TERN_ST_F16, sh, b};
    } else if (bf16) {
      std::string b(cnt * 2, '\0');
      for (size_t i = 0; i < cnt; i++) {
        uint16_t h = ToBf16(v[i]);
        std::memcpy(&b[i * 2], &h, 2);
        v[i] = tern_bf16_to_f32(h);
      }
      t[n] = {TERN_ST_BF16, sh, b};
    } else {
      t[n] = {TERN_ST_F32, sh, F32Bytes(v)};
    }
    masters[n] = v;
  };
  fl("model.embed_tokens.weight", {V, d}, true);
  fl("lm_head.weight", {V, d}, false);
  fl("model.norm.weight", {d}, false);
  for (int l = 0; l < L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    fl(p + "input_layernorm.weight", {d}, false);
    fl(p + "post_attention_layernorm.weight", {d}, true);
    fl(p + "self_attn.q_proj.weight", {H * hd, d}, true);
    fl(p + "self_attn.k_proj.weight", {KV * hd, d}, false);
    fl(p + "self_attn.v_proj.weight", {KV * hd, d}, false);
    fl(p + "self_attn.o_proj.weight", {d, H * hd}, false);
    fl(p + "mlp.gate_proj.weight", {F, d}, false);
    fl(p + "mlp.up_proj.weight", {F, d}, true);
    fl(p + "mlp.down_proj.weight", {d, F}, false);
  }
  WriteAll(dir + "/model.safetensors", t);
  tern_tfm_model m;
  tern_ckpt_info info;
  char err[1024];
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &m, &info, err, sizeof err), 0) << err;
  EXPECT_EQ(info.config_from_tern, 0);
  EXPECT_STREQ(info.arch, "LlamaForCausalLM");
  EXPECT_EQ(info.ternarised, L * 7);
  EXPECT_EQ(info.quantised_rows, 2);
  EXPECT_NE(std::strstr(info.note, "post-training ternarisation"), nullptr) << info.note;
  EXPECT_EQ(m.cfg.ffn_type, TERN_FFN_SWIGLU);
  EXPECT_EQ(m.cfg.tie_embeddings, 0);
  EXPECT_EQ(m.cfg.kv_heads, KV);
  EXPECT_EQ(m.cfg.head_dim, hd);
  EXPECT_FLOAT_EQ(m.cfg.eps, 1e-6f);
  // q_proj of layer 1 against tern_ternarize of the transposed master
  const std::vector<float> &q = masters["model.layers.1.self_attn.q_proj.weight"];
  std::vector<float> tr((size_t)d * H * hd);
  for (int o = 0; o < H * hd; o++)
    for (int i = 0; i < d; i++) tr[(size_t)i * H * hd + o] = q[(size_t)o * d + i];
  std::vector<int8_t> w(tr.size());
  float beta = tern_ternarize(tr.data(), tr.size(), w.data());
  EXPECT_TRUE(SameBits(beta, m.block[1].wq.beta));
  for (size_t i = 0; i < w.size(); i++) ASSERT_EQ(tern_tpacked_get(m.block[1].wq.codes, i), w[i]);
  // embedding row 3: absmax int8 of the bf16 values
  const std::vector<float> &e = masters["model.embed_tokens.weight"];
  float amax = 0;
  for (int i = 0; i < d; i++) amax = std::fmax(amax, std::fabs(e[3 * d + i]));
  EXPECT_TRUE(SameBits(m.embed.scale[3], amax / 127.0f));
  for (int i = 0; i < d; i++)
    EXPECT_EQ(m.embed.q[3 * d + i], (int8_t)std::lround(e[3 * d + i] / (amax / 127.0f)));
  // a norm read from bf16 is exact
  EXPECT_EQ(m.block[0].ffn_norm.g[5], masters["model.layers.0.post_attention_layernorm.weight"][5]);
  // it runs: the integer reference agrees with the float reference on top-1 often enough
  tern_tfm_free(&m);
  RmRf(dir);
}

// --- hostile and broken checkpoints -----------------------------------------------------

std::string Exported(const char *preset) {
  tern_tfm_model m = Seeded(PresetCfg(preset));
  std::string dir = TmpDir();
  char err[1024];
  EXPECT_EQ(tern_tfm_ckpt_save(&m, dir.c_str(), TERN_CKPT_SAFETENSORS, err, sizeof err), 0) << err;
  tern_tfm_free(&m);
  return dir;
}

std::string LoadErr(const std::string &path) {
  tern_tfm_model m;
  char err[1024] = "";
  int rc = tern_tfm_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err);
  if (rc == 0) {
    tern_tfm_free(&m);
    return "";
  }
  EXPECT_NE(err[0], 0);
  return err;
}

void PutLe64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; i++) s[(size_t)i] = (char)(v >> (8 * i));
}

TEST(Ckpt, BrokenFilesNameFileTensorAndField) {
  std::string dir = Exported("tiny");
  std::string st = dir + "/model.safetensors", orig = ReadFile(st);
  auto with = [&](const std::string &bytes) {
    WriteFile(st, bytes);
    return LoadErr(dir);
  };
  // header length beyond the file / beyond the limit
  std::string s = orig;
  PutLe64(s, (uint64_t)orig.size());
  EXPECT_NE(with(s).find("header length"), std::string::npos);
  PutLe64(s, 1ull << 62);
  EXPECT_NE(with(s).find("header length"), std::string::npos);
  // truncated: data of the last tensors missing
  EXPECT_NE(with(orig.substr(0, orig.size() - 100)).find("outside the data area"), std::string::npos);
  EXPECT_NE(with(orig.substr(0, 5)).find("at least the 8-byte header length"), std::string::npos);
  // a wrong shape
  WriteFile(st, orig);
  Tensors t = ReadAll(dir + "/model.safetensors");
  ASSERT_FALSE(t.empty());
  Tensors t2 = t;
  t2["model.norm.weight"].shape = {32};
  t2["model.norm.weight"].bytes.resize(128);
  WriteAll(st, t2);
  std::string e = LoadErr(dir);
  EXPECT_NE(e.find("tensor 'model.norm.weight': shape [32] (F32), expected [64]"), std::string::npos) << e;
  // a missing tensor
  t2 = t;
  t2.erase("model.layers.3.mlp.down_proj.weight");
  WriteAll(st, t2);
  e = LoadErr(dir);
  EXPECT_NE(e.find("tensor 'model.layers.3.mlp.down_proj.weight' is missing"), std::string::npos) << e;
  // a non-finite scale
  t2 = t;
  double inf = INFINITY;
  t2["model.layers.1.mlp.up_proj.weight_scale"].bytes = std::string((char *)&inf, 8);
  WriteAll(st, t2);
  e = LoadErr(dir);
  EXPECT_NE(e.find("up_proj.weight_scale' is inf, expected a positive finite 1/beta"), std::string::npos) << e;
  // an LM head next to tied embeddings is not silently ignored
  t2 = t;
  t2["lm_head.weight"] = t["model.embed_tokens.weight"];
  WriteAll(st, t2);
  EXPECT_NE(LoadErr(dir).find("ties its embeddings"), std::string::npos);
  WriteAll(st, t);
  // config.json: not JSON, a field out of range, an unknown architecture
  std::string cj = ReadFile(dir + "/config.json");
  WriteFile(dir + "/config.json", "{\"vocab_size\": ");
  EXPECT_NE(LoadErr(dir).find("config.json: not valid JSON"), std::string::npos);
  WriteFile(dir + "/config.json",
            "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 256}");
  EXPECT_NE(LoadErr(dir).find("field 'architectures' is [\"GPT2LMHeadModel\"]"), std::string::npos);
  WriteFile(dir + "/config.json",
            "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 256, \"hidden_size\": "
            "99999999, \"num_hidden_layers\": 1, \"num_attention_heads\": 1, "
            "\"intermediate_size\": 4}");
  EXPECT_NE(LoadErr(dir).find("field 'hidden_size' is not an integer in 1..65536"), std::string::npos);
  // the tern description and the HF fields disagree
  std::string bad = cj;
  size_t vs = bad.find("\"hidden_size\": 64");
  ASSERT_NE(vs, std::string::npos);
  bad.replace(vs, 17, "\"hidden_size\": 65");
  WriteFile(dir + "/config.json", bad);
  EXPECT_NE(LoadErr(dir).find("field 'hidden_size' disagrees with tern.model"), std::string::npos);
  WriteFile(dir + "/config.json", cj);
  EXPECT_EQ(LoadErr(dir), "");
  RmRf(dir);
}

// A safetensors file from raw bytes: 8-byte length, JSON header, data.
std::string RawSt(const std::string &json, size_t data_bytes) {
  std::string s(8, '\0');
  PutLe64(s, json.size());
  return s + json + std::string(data_bytes, '\x01');
}

std::string StErr(const std::string &bytes) {
  std::string d = TmpDir(), p = d + "/x.safetensors";
  WriteFile(p, bytes);
  char err[1024] = "";
  tern_st *st = tern_st_open(p.c_str(), err, sizeof err);
  tern_st_close(st);
  RmRf(d);
  return st ? "" : err;
}

TEST(Ckpt, SafetensorsHeaderChecks) {
  EXPECT_EQ(StErr(RawSt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8)), "");
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12))
                .find("tensors 'a' and 'b' overlap"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8))
                .find("span 8 bytes, expected 12"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8))
                .find("field 'dtype' is 'Q4'"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
                        "\"data_offsets\":[0,8]}}", 8)).find("overflows"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8))
                .find("shape[0] is not a non-negative integer"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8))
                .find("field 'x' is unknown"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"a\":1,\"a\":2}", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(StErr(RawSt("[1,2]", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(StErr(RawSt("{\"__metadata__\":{\"k\":3}}", 0)).find("is not a string"), std::string::npos);
}

TEST(Ckpt, ShardedIndex) {
  std::string dir = Exported("nemotron4-style-tiny");
  Tensors t = ReadAll(dir + "/model.safetensors");
  tern_tfm_model whole;
  char err[1024];
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &whole, nullptr, err, sizeof err), 0) << err;
  Tensors a, b;
  std::string map;
  int i = 0;
  for (auto &kv : t) {
    bool first = (i++ % 2) == 0;
    (first ? a : b)[kv.first] = kv.second;
    map += std::string(map.empty() ? "" : ", ") + "\"" + kv.first + "\": \"" +
           (first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors") + "\"";
  }
  WriteAll(dir + "/model-00001-of-00002.safetensors", a);
  WriteAll(dir + "/model-00002-of-00002.safetensors", b);
  std::string index = "{\"metadata\": {\"total_size\": 1}, \"weight_map\": {" + map + "}}";
  WriteFile(dir + "/model.safetensors.index.json", index);
  unlink((dir + "/model.safetensors").c_str());
  tern_tfm_model sh;
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &sh, nullptr, err, sizeof err), 0) << err;
  ExpectModelEq(whole, sh);
  tern_tfm_free(&sh);
  // a shard outside the directory, a tensor in the wrong shard
  std::string evil = index;
  size_t p = evil.find("model-00002-of-00002");
  evil.replace(p, 20, "../../../etc/passwd!");
  WriteFile(dir + "/model.safetensors.index.json", evil);
  EXPECT_NE(LoadErr(dir).find("expected a file name in the same directory"), std::string::npos);
  std::string wrong = index;
  p = wrong.find("model-00001-of-00002");
  wrong.replace(p, 20, "model-00002-of-00002");
  WriteFile(dir + "/model.safetensors.index.json", wrong);
  EXPECT_NE(LoadErr(dir).find("as weight_map says"), std::string::npos);
  tern_tfm_free(&whole);
  RmRf(dir);
}

// One load of a mutated checkpoint: it opens (counted in *ok) or is refused
// with a message (counted in *refused); a crash is the failure this looks for.
void TryLoad(const std::string &path, int it, int *ok, int *refused) {
  tern_tfm_model m;
  char err[1024] = "";
  if (tern_tfm_ckpt_load(path.c_str(), &m, nullptr, err, sizeof err) == 0) {
    ++*ok;
    tern_tfm_free(&m);
  } else {
    ++*refused;
    ASSERT_NE(err[0], 0) << "iteration " << it;
  }
}

// Seeded mutations of a valid checkpoint (file bytes and config.json): every
// load either succeeds or fails with a message; never a crash (run under
// ASan+UBSan by make sanitize).  ~600 iterations, 100x with TERN_FUZZ_LONG.
// A regression case (tests/regress/<test>/<case>/, tests/fuzz_seed.h): its
// files written into a fresh directory, which is loaded (or the one file).
void ReplayCkptCases(const tern_test::FuzzCase &fc, bool dir_load) {
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    SCOPED_TRACE(c.dir);
    std::string d = tern_test::FuzzTmpDir("ckpt");
    for (const auto &part : c.parts) WriteFile(d + "/" + part.first, part.second);
    int ok = 0, refused = 0;
    std::string path = dir_load || c.parts.empty() ? d : d + "/" + c.parts[0].first;
    TryLoad(path, -1, &ok, &refused);
    RmRf(d);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Seeded mutations of a valid checkpoint (file bytes and config.json): every
// load either succeeds or fails with a message; never a crash (run under
// ASan+UBSan by make sanitize).  ~600 iterations, 100x with TERN_FUZZ_LONG;
// seeds, reproducers and regression cases as tests/fuzz_seed.h.
TEST(CkptFuzz, MutatedSafetensorsAndConfig) {
  tern_test::FuzzCase fc(20261207, 600, 60000);
  ASSERT_NO_FATAL_FAILURE(ReplayCkptCases(fc, true));
  std::string dir = tern_test::FuzzTmpDir("ckpt");  // tmpfs: no writeback waits
  {
    tern_tfm_model m = Seeded(PresetCfg("tiny"));
    char err[1024];
    ASSERT_EQ(tern_tfm_ckpt_save(&m, dir.c_str(), TERN_CKPT_SAFETENSORS, err, sizeof err), 0) << err;
    tern_tfm_free(&m);
  }
  std::string st = dir + "/model.safetensors", cj = dir + "/config.json";
  std::string orig = ReadFile(st), ocfg = ReadFile(cj);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = (hl << 8) | (uint8_t)orig[(size_t)i];
  const int iters = (int)fc.count();
  std::mt19937_64 rng(fc.seed());
  int ok = 0, refused = 0;
  for (int it = 0; it < iters; it++) {
    std::string s = orig, c = ocfg;
    int kind = (int)(rng() % 6);
    size_t hdr_end = 8 + (size_t)hl;
    if (kind == 0) {  // flip bits in the header
      for (int k = 0; k < 1 + (int)(rng() % 4); k++) s[rng() % hdr_end] ^= (char)(1u << (rng() % 8));
    } else if (kind == 1) {  // truncate
      s.resize(rng() % s.size());
    } else if (kind == 2) {  // overwrite header digits
      size_t p = 8 + rng() % (size_t)hl;
      if (s[p] >= '0' && s[p] <= '9') s[p] = "0123456789"[rng() % 10];
      else s[p] = (char)(rng() & 0xFF);
    } else if (kind == 3) {  // random data bytes (codes 3, NaN scales...)
      for (int k = 0; k < 50; k++) s[hdr_end + rng() % (s.size() - hdr_end)] = (char)(rng() & 0xFF);
    } else if (kind == 4) {  // mutate config.json
      for (int k = 0; k < 1 + (int)(rng() % 3); k++) c[rng() % c.size()] = (char)(32 + rng() % 95);
    } else {  // header length field
      PutLe64(s, rng() % (hl * 2 + 16));
    }
    WriteFile(st, s);
    WriteFile(cj, c);
    fc.Input(it, {tern_test::File("model.safetensors", st), tern_test::File("config.json", cj)});
    TryLoad(dir, it, &ok, &refused);
    if (fc.Failed()) break;
  }
  if (!::testing::Test::HasFailure()) {
    EXPECT_GT(refused, iters / 10);
    EXPECT_GT(ok, 0);
  }
  RmRf(dir);
}

}  // namespace

// ---- GGUF ------------------------------------------------------------------------------

#include "tern/gguf.h"

namespace {

const char *kLlamaShape =
    "[model]\nname = llama-like\nvocab = 260\ndim = 32\nlayers = 2\nheads = 4\nkv_heads = 2\n"
    "ffn = 64\nffn_type = swiglu\ntie_embeddings = false\nmax_seq = 64\nseed = 5\n";
const char *kBitnetShape =
    "[model]\nname = bitnet-like\nvocab = 256\ndim = 32\nlayers = 2\nheads = 4\nffn = 64\n"
    "ffn_type = swiglu\nsubln = true\nmax_seq = 64\nseed = 6\n";

TEST(CkptGguf, RoundTripEveryShapeAndAcrossFormats) {
  std::vector<tern_tfm_config> cfgs = {PresetCfg("tiny"), PresetCfg("nemotron4-style-tiny"),
                                       PresetCfg("starcoder2-style-tiny"), Cfg(kOddShapes),
                                       Cfg(kLlamaShape), Cfg(kBitnetShape)};
  const char *arch[] = {"bitnet-b1.58", "tern", "tern", "tern", "llama", "bitnet"};
  for (size_t k = 0; k < cfgs.size(); k++) {
    tern_tfm_config &c = cfgs[k];
    SCOPED_TRACE(c.name);
    tern_tfm_model m = Seeded(c);
    std::string d = TmpDir(), g = d + "/m.gguf", st = d + "/st", g2 = d + "/m2.gguf";
    char err[1024];
    ASSERT_EQ(tern_tfm_ckpt_save(&m, g.c_str(), TERN_CKPT_GGUF, err, sizeof err), 0) << err;
    tern_tfm_model r;
    tern_ckpt_info info;
    ASSERT_EQ(tern_tfm_ckpt_load(g.c_str(), &r, &info, err, sizeof err), 0) << err;
    EXPECT_STREQ(info.format, "gguf");
    EXPECT_STREQ(info.arch, arch[k]);
    EXPECT_EQ(info.ternarised, 0);
    ExpectModelEq(m, r);
    // gguf -> safetensors -> gguf -> model: still identical
    ASSERT_EQ(tern_tfm_ckpt_save(&r, st.c_str(), TERN_CKPT_SAFETENSORS, err, sizeof err), 0) << err;
    tern_tfm_model r2, r3;
    ASSERT_EQ(tern_tfm_ckpt_load(st.c_str(), &r2, nullptr, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_tfm_ckpt_save(&r2, g2.c_str(), TERN_CKPT_GGUF, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_tfm_ckpt_load(g2.c_str(), &r3, nullptr, err, sizeof err), 0) << err;
    ExpectModelEq(m, r3);
    tern_tfm_free(&r3);
    tern_tfm_free(&r2);
    tern_tfm_free(&r);
    tern_tfm_free(&m);
    RmRf(d);
  }
}

// The same float weights as an HF LLaMA safetensors checkpoint and as a
// llama.cpp-style GGUF (arch llama, q/k rows permuted as convert_hf_to_gguf.py
// LlamaModel.permute does, no tern.model): both import to the same model.
TEST(CkptGguf, ForeignLlamaGgufMatchesTheSafetensorsCheckpoint) {
  const int V = 48, d = 16, L = 2, H = 4, KV = 2, hd = 4, F = 24;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 0.5f);
  std::string dir = TmpDir();
  WriteFile(dir + "/config.json",
            "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 48, \"hidden_size\": 16, "
            "\"intermediate_size\": 24, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
            "\"num_key_value_heads\": 2, \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-05, "
            "\"rope_theta\": 10000.0, \"tie_word_embeddings\": false, "
            "\"max_position_embeddings\": 64}");
  Tensors st;
  tern_gguf_writer *w = tern_gguf_writer_new();
  char err[1024];
  auto add_u32 = [&](const char *k, uint32_t v) { ASSERT_EQ(tern_gguf_add_u32(w, k, v, err, sizeof err), 0) << err; };
  ASSERT_EQ(tern_gguf_add_str(w, "general.architecture", "llama", 5, err, sizeof err), 0);
  add_u32("llama.embedding_length", d);
  add_u32("llama.block_count", L);
  add_u32("llama.attention.head_count", H);
  add_u32("llama.attention.head_count_kv", KV);
  add_u32("llama.feed_forward_length", F);
  add_u32("llama.context_length", 64);
  ASSERT_EQ(tern_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f, err, sizeof err), 0);
  // one tensor in both files; perm_heads > 0: GGUF rows permuted for RoPE
  auto both = [&](const std::string &hf, const std::string &gg, int rows, int cols, int perm_heads) {
    std::vector<float> v((size_t)rows * cols);
    for (auto &x : v) x = nd(rng);
    std::vector<uint64_t> sh = {(uint64_t)rows, (uint64_t)cols};
    if (cols == 0) sh = {(uint64_t)rows};
    size_t cnt = cols ? (size_t)rows * cols : (size_t)rows;
    v.resize(cnt);
    st[hf] = {TERN_ST_F32, sh, F32Bytes(v)};
    std::vector<float> g = v;
    if (perm_heads) {  // GGUF row h*hd + 2b + a = HF row h*hd + a*hd/2 + b
      for (int h = 0; h < perm_heads; h++)
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < hd / 2; b++)
            for (int i = 0; i < cols; i++)
              g[(size_t)(h * hd + 2 * b + a) * cols + i] = v[(size_t)(h * hd + a * hd / 2 + b) * cols + i];
    }
    uint64_t ne2[2] = {(uint64_t)cols, (uint64_t)rows}, ne1[1] = {(uint64_t)rows};
    ASSERT_EQ(tern_gguf_add_tensor_f32(w, gg.c_str(), TERN_GGML_F32, cols ? 2 : 1, cols ? ne2 : ne1,
                                       g.data(), err, sizeof err), 0) << err;
  };
  both("model.embed_tokens.weight", "token_embd.weight", V, d, 0);
  both("lm_head.weight", "output.weight", V, d, 0);
  both("model.norm.weight", "output_norm.weight", d, 0, 0);
  for (int l = 0; l < L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    both(p + "input_layernorm.weight", b + "attn_norm.weight", d, 0, 0);
    both(p + "self_attn.q_proj.weight", b + "attn_q.weight", H * hd, d, H);
    both(p + "self_attn.k_proj.weight", b + "attn_k.weight", KV * hd, d, KV);
    both(p + "self_attn.v_proj.weight", b + "attn_v.weight", KV * hd, d, 0);
    both(p + "self_attn.o_proj.weight", b + "attn_output.weight", d, H * hd, 0);
    both(p + "post_attention_layernorm.weight", b + "ffn_norm.weight", d, 0, 0);
    both(p + "mlp.gate_proj.weight", b + "ffn_gate.weight", F, d, 0);
    both(p + "mlp.up_proj.weight", b + "ffn_up.weight", F, d, 0);
    both(p + "mlp.down_proj.weight", b + "ffn_down.weight", d, F, 0);
  }
  WriteAll(dir + "/model.safetensors", st);
  ASSERT_EQ(tern_gguf_write(w, (dir + "/m.gguf").c_str(), err, sizeof err), 0) << err;
  tern_gguf_writer_free(w);
  tern_tfm_model a, b;
  tern_ckpt_info ia, ib;
  ASSERT_EQ(tern_tfm_ckpt_load(dir.c_str(), &a, &ia, err, sizeof err), 0) << err;
  ASSERT_EQ(tern_tfm_ckpt_load((dir + "/m.gguf").c_str(), &b, &ib, err, sizeof err), 0) << err;
  EXPECT_EQ(ib.config_from_tern, 0);
  EXPECT_EQ(ib.ternarised, L * 7);
  EXPECT_EQ(ia.ternarised, L * 7);
  // the descriptions differ only in name and source
  snprintf(b.cfg.name, sizeof b.cfg.name, "%s", a.cfg.name);
  snprintf(b.cfg.source, sizeof b.cfg.source, "%s", a.cfg.source);
  ExpectModelEq(a, b);
  tern_tfm_free(&a);
  tern_tfm_free(&b);
  RmRf(dir);
}

// A bitnet-arch GGUF built tensor by tensor with each linear type tern reads
// (TQ2_0, TQ1_0, I2_S ternary; F16, BF16, Q8_0 and F32 floats holding code x
// beta) and each embedding type (F16, BF16, Q8_0, F32 rows): codes exact; beta
// exact for I2_S and F32, the fp16 scale for TQ*, the rounded value for the
// float types (their values are exactly 0 or +-s, so s is taken as beta);
// the embedding rows quantise back to the same int8 codes (within one for
// the 8-bit-mantissa types).
struct GgufCase {
  uint32_t lin, emb;
};

class CkptGgufTypes : public ::testing::TestWithParam<GgufCase> {};

TEST_P(CkptGgufTypes, EveryLinearAndEmbeddingType) {
  const GgufCase k = GetParam();
  // TQ blocks run along ne[0] (the input): every input width a multiple of 256
  tern_tfm_config c = Cfg("[model]\nname = tq\nvocab = 256\ndim = 256\nlayers = 2\nheads = 4\n"
                          "ffn = 256\nffn_type = swiglu\nsubln = true\nmax_seq = 64\nseed = 6\n");
  tern_tfm_model m = Seeded(c);
  std::string dir = TmpDir(), g = dir + "/b.gguf";
  char err[1024];
  tern_gguf_writer *w = tern_gguf_writer_new();
  ASSERT_EQ(tern_gguf_add_str(w, "general.architecture", "bitnet", 6, err, sizeof err), 0);
  const char *keys[] = {"bitnet.embedding_length", "bitnet.block_count", "bitnet.attention.head_count",
                        "bitnet.feed_forward_length", "bitnet.context_length"};
  uint32_t v[] = {256, 2, 4, 256, 64};
  for (int i = 0; i < 5; i++) ASSERT_EQ(tern_gguf_add_u32(w, keys[i], v[i], err, sizeof err), 0);
  std::vector<float> emb((size_t)c.vocab * c.dim);
  for (int r = 0; r < c.vocab; r++)
    for (int i = 0; i < c.dim; i++)
      emb[(size_t)r * c.dim + i] = (float)m.embed.q[(size_t)r * c.dim + i] * 0.01f;
  uint64_t ne[2] = {(uint64_t)c.dim, (uint64_t)c.vocab};
  ASSERT_EQ(tern_gguf_add_tensor_f32(w, "token_embd.weight", k.emb, 2, ne, emb.data(), err, sizeof err), 0) << err;
  bool tern = k.lin == TERN_GGML_TQ2_0 || k.lin == TERN_GGML_TQ1_0 || k.lin == TERN_GGML_I2_S;
  auto lin = [&](const std::string &name, const tern_tpacked &t) {
    std::vector<int8_t> cc((size_t)t.k * t.n);
    for (int i = 0; i < t.k; i++)
      for (int o = 0; o < t.n; o++) cc[(size_t)o * t.k + i] = (int8_t)tern_tpacked_get(t.codes, (size_t)i * t.n + o);
    uint64_t n2[2] = {(uint64_t)t.k, (uint64_t)t.n};
    if (tern) {
      ASSERT_EQ(tern_gguf_add_tensor_ternary(w, name.c_str(), k.lin, 2, n2, cc.data(), t.beta, err, sizeof err), 0) << err;
    } else {
      std::vector<float> f(cc.size());
      for (size_t i = 0; i < f.size(); i++) f[i] = (float)cc[i] * t.beta;
      ASSERT_EQ(tern_gguf_add_tensor_f32(w, name.c_str(), k.lin, 2, n2, f.data(), err, sizeof err), 0) << err;
    }
  };
  auto vec = [&](const std::string &name, const float *x, int n) {
    uint64_t n1[1] = {(uint64_t)n};
    ASSERT_EQ(tern_gguf_add_tensor_f32(w, name.c_str(), TERN_GGML_F32, 1, n1, x, err, sizeof err), 0) << err;
  };
  vec("output_norm.weight", m.final_norm.g, c.dim);
  for (int l = 0; l < 2; l++) {
    std::string b = "blk." + std::to_string(l) + ".";
    const tern_tfm_block &B = m.block[l];
    vec(b + "attn_norm.weight", B.attn_norm.g, c.dim);
    lin(b + "attn_q.weight", B.wq);
    lin(b + "attn_k.weight", B.wk);
    lin(b + "attn_v.weight", B.wv);
    lin(b + "attn_output.weight", B.wo);
    vec(b + "attn_sub_norm.weight", B.attn_subln.g, c.dim);
    vec(b + "ffn_norm.weight", B.ffn_norm.g, c.dim);
    lin(b + "ffn_gate.weight", B.ffn->gate);
    lin(b + "ffn_up.weight", B.ffn->up);
    lin(b + "ffn_down.weight", B.ffn->down);
    vec(b + "ffn_sub_norm.weight", B.ffn->subln.g, c.ffn);
  }
  ASSERT_EQ(tern_gguf_write(w, g.c_str(), err, sizeof err), 0) << err;
  tern_gguf_writer_free(w);
  tern_tfm_model r;
  tern_ckpt_info info;
  ASSERT_EQ(tern_tfm_ckpt_load(g.c_str(), &r, &info, err, sizeof err), 0) << err;
  EXPECT_EQ(r.cfg.subln, 1);
  EXPECT_EQ(r.cfg.ffn_type, TERN_FFN_SWIGLU);
  EXPECT_EQ(info.quantised_rows, 1);
  EXPECT_EQ(info.ternarised, 0); /* values exactly 0 or +-s: taken as ternary, not re-quantised */
  for (int l = 0; l < 2; l++) {
    const tern_tpacked *a[] = {&m.block[l].wq, &m.block[l].wk, &m.block[l].wo, &m.block[l].ffn->down};
    const tern_tpacked *b[] = {&r.block[l].wq, &r.block[l].wk, &r.block[l].wo, &r.block[l].ffn->down};
    for (int i = 0; i < 4; i++) {
      EXPECT_EQ(std::memcmp(a[i]->codes, b[i]->codes, tern_tpacked_bytes(a[i]->k, a[i]->n)), 0);
      float want = a[i]->beta;
      if (k.lin == TERN_GGML_TQ2_0 || k.lin == TERN_GGML_TQ1_0 || k.lin == TERN_GGML_F16)
        want = tern_f16_to_f32(tern_f32_to_f16(a[i]->beta));
      else if (k.lin == TERN_GGML_BF16)
        want = tern_bf16_to_f32(tern_f32_to_bf16(a[i]->beta));
      if (k.lin == TERN_GGML_Q8_0)  /* 127 * fp16(beta / 127): within the fp16 step */
        EXPECT_NEAR(b[i]->beta, a[i]->beta, a[i]->beta * 2e-3);
      else
        EXPECT_EQ(b[i]->beta, want);
    }
  }
  if (k.emb == TERN_GGML_F16 || k.emb == TERN_GGML_F32) {
    EXPECT_EQ(std::memcmp(m.embed.q, r.embed.q, (size_t)c.vocab * c.dim), 0);
  } else { /* bf16 / Q8_0 keep 8 bits of the value: a code may move by one */
    for (size_t i = 0; i < (size_t)c.vocab * c.dim; i++)
      ASSERT_LE(std::abs(m.embed.q[i] - r.embed.q[i]), 1) << "element " << i;
  }
  tern_tfm_free(&r);
  tern_tfm_free(&m);
  RmRf(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Types, CkptGgufTypes,
    ::testing::Values(GgufCase{TERN_GGML_TQ2_0, TERN_GGML_F16}, GgufCase{TERN_GGML_TQ1_0, TERN_GGML_BF16},
                      GgufCase{TERN_GGML_I2_S, TERN_GGML_Q8_0}, GgufCase{TERN_GGML_F16, TERN_GGML_F32},
                      GgufCase{TERN_GGML_BF16, TERN_GGML_F16}, GgufCase{TERN_GGML_Q8_0, TERN_GGML_F16},
                      GgufCase{TERN_GGML_F32, TERN_GGML_BF16}));

// Seeded mutations of an exported GGUF: load succeeds or fails with a message.
TEST(CkptFuzz, MutatedGguf) {
  tern_test::FuzzCase fc(7202612, 600, 60000);
  ASSERT_NO_FATAL_FAILURE(ReplayCkptCases(fc, false));
  tern_tfm_model m = Seeded(PresetCfg("tiny"));
  std::string dir = tern_test::FuzzTmpDir("ckpt"), g = dir + "/t.gguf";
  char err[1024];
  ASSERT_EQ(tern_tfm_ckpt_save(&m, g.c_str(), TERN_CKPT_GGUF, err, sizeof err), 0) << err;
  tern_tfm_free(&m);
  std::string orig = ReadFile(g);
  const int iters = (int)fc.count();
  std::mt19937_64 rng(fc.seed());
  int ok = 0, refused = 0;
  for (int it = 0; it < iters; it++) {
    std::string s = orig;
    int kind = (int)(rng() % 4);
    size_t head = std::min<size_t>(s.size(), 4096);
    if (kind == 0) {
      for (int k = 0; k < 1 + (int)(rng() % 4); k++) s[rng() % head] ^= (char)(1u << (rng() % 8));
    } else if (kind == 1) {
      s.resize(rng() % s.size());
    } else if (kind == 2) {
      for (int k = 0; k < 40; k++) s[rng() % s.size()] = (char)(rng() & 0xFF);
    } else {
      size_t p = rng() % head;
      for (int k = 0; k < 8 && p + (size_t)k < s.size(); k++) s[p + (size_t)k] = (char)0xFF;
    }
    WriteFile(g, s);
    fc.Input(it, {tern_test::File("t.gguf", g)});
    TryLoad(g, it, &ok, &refused);
    if (fc.Failed()) break;
  }
  if (!::testing::Test::HasFailure()) {
    EXPECT_GT(refused, iters / 10);
    EXPECT_GT(ok, 0);
  }
  RmRf(dir);
}

}  // namespace

// ---- the tokenizer of a checkpoint -------------------------------------------------------

#include "tern/tokenizer.h"

namespace {

// A GGUF holding only a SentencePiece vocabulary (tokenizer.ggml.*).  Scores
// make the merges of "hello" go: (▁,h) -1 -> ▁h; (l,l) -2 -> ll; (▁h,e) -3 ->
// ▁he; (ll,o) -4 -> llo; (▁he,llo) -5 -> ▁hello: one piece, id 12.
std::string SpmGguf(const std::string &dir, const char *model_kind, int n_tokens) {
  const char *pieces[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "h", "e", "l", "o",
                          "\xe2\x96\x81h", "ll", "\xe2\x96\x81he", "llo", "\xe2\x96\x81hello"};
  float scores[] = {0, 0, 0, -10, -10, -10, -10, -10, -1, -2, -3, -4, -5};
  int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<const char *> p(pieces, pieces + 13);
  for (int i = 13; i < n_tokens; i++) p.push_back(strdup(("x" + std::to_string(i)).c_str()));
  std::vector<float> sc(scores, scores + 13);
  std::vector<int32_t> ty(types, types + 13);
  sc.resize((size_t)n_tokens, -20.0f);
  ty.resize((size_t)n_tokens, 1);
  char err[512];
  tern_gguf_writer *w = tern_gguf_writer_new();
  EXPECT_EQ(tern_gguf_add_str(w, "general.architecture", "llama", 5, err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_str(w, "tokenizer.ggml.model", model_kind, strlen(model_kind), err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_arr_str(w, "tokenizer.ggml.tokens", p.data(), nullptr, p.size(), err, sizeof err), 0) << err;
  EXPECT_EQ(tern_gguf_add_arr(w, "tokenizer.ggml.scores", TERN_GGUF_F32, sc.data(), sc.size(), err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_arr(w, "tokenizer.ggml.token_type", TERN_GGUF_I32, ty.data(), ty.size(), err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1, err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2, err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0, err, sizeof err), 0);
  std::string path = dir + "/tok.gguf";
  EXPECT_EQ(tern_gguf_write(w, path.c_str(), err, sizeof err), 0) << err;
  tern_gguf_writer_free(w);
  for (size_t i = 13; i < p.size(); i++) free((void *)p[i]);
  return path;
}

TEST(CkptTok, GgufVocabularyTokenizerJsonAndBytes) {
  std::string dir = TmpDir();
  char err[1024];
  // GGUF SentencePiece vocabulary
  std::string g = SpmGguf(dir, "llama", 13);
  tern_tok *t = tern_ckpt_tokenizer(g.c_str(), 256, err, sizeof err);
  ASSERT_NE(t, nullptr) << err;
  EXPECT_EQ(tern_tok_kind_of(t), TERN_TOK_SPM);
  int ids[8];
  ASSERT_EQ(tern_tok_encode(t, "hello", 5, TERN_TOK_ADD_BOS, ids, 8, err, sizeof err), 2) << err;
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 12);
  char out[32];
  EXPECT_EQ(tern_tok_decode(t, ids + 1, 1, out, sizeof out, err, sizeof err), 5);
  EXPECT_STREQ(out, "hello");
  tern_tok_free(t);
  // a vocabulary larger than the model's, an unknown tokenizer kind
  EXPECT_EQ(tern_ckpt_tokenizer(g.c_str(), 12, err, sizeof err), nullptr);
  EXPECT_NE(std::strstr(err, "expected 1..12 strings"), nullptr) << err;
  g = SpmGguf(dir, "wordpiece", 13);
  EXPECT_EQ(tern_ckpt_tokenizer(g.c_str(), 256, err, sizeof err), nullptr);
  EXPECT_NE(std::strstr(err, "'tokenizer.ggml.model' is 'wordpiece'"), nullptr) << err;
  // a safetensors checkpoint: bytes without tokenizer.json, the json beside config.json
  std::string ck = Exported("tiny");
  t = tern_ckpt_tokenizer(ck.c_str(), 256, err, sizeof err);
  ASSERT_NE(t, nullptr) << err;
  EXPECT_EQ(tern_tok_kind_of(t), TERN_TOK_BYTES);
  tern_tok_free(t);
  WriteFile(ck + "/tokenizer.json", ReadFile(std::string(TERN_ROOT) + "/tests/tokenizer_data/gpt2_tiny.json"));
  t = tern_ckpt_tokenizer((ck + "/model.safetensors").c_str(), 256, err, sizeof err);
  ASSERT_NE(t, nullptr) << err;
  EXPECT_EQ(tern_tok_kind_of(t), TERN_TOK_BPE);
  EXPECT_EQ(tern_tok_vocab(t), 25);
  tern_tok_free(t);
  // tern generate encodes the prompt with it and prints pieces; ids beyond its vocabulary as <id>
  {
    tern_gen_config gc;
    tern_gen_config_default(&gc);
    gc.model = ck.c_str();
    gc.prompt = "Hello world";  /* "Hello" " world": ids 16, 21 */
    gc.tokens = 3;
    tern_gen_result res;
    char *buf = nullptr;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    ASSERT_EQ(tern_generate(&gc, &res, mf, err, sizeof err), 0) << err;
    fclose(mf);
    std::string out(buf, len);
    free(buf);
    EXPECT_NE(out.find("tokenizer: bpe"), std::string::npos) << out;
    EXPECT_NE(out.find("prompt:    \"Hello world\""), std::string::npos) << out;
    EXPECT_EQ(res.n_prompt, 2);  // "Hello" " world": two merged pieces
    for (int i = 0; i < res.n_steps; i++)
      if (res.step[i].token >= 25) {
        EXPECT_NE(out.find("<" + std::to_string(res.step[i].token) + ">"), std::string::npos) << out;
      }
    tern_gen_result_free(&res);
  }
  WriteFile(ck + "/tokenizer.json", "{\"model\": ");
  EXPECT_EQ(tern_ckpt_tokenizer(ck.c_str(), 256, err, sizeof err), nullptr);
  EXPECT_NE(std::strstr(err, "tokenizer.json"), nullptr) << err;
  RmRf(ck);
  RmRf(dir);
}

}  // namespace

// ---- recurrent models ------------------------------------------------------------------

#include "tern/rnn.h"

namespace {

void ExpectVecEq(const float *a, const float *b, int n, const char *what) {
  ASSERT_EQ(a == nullptr, b == nullptr) << what;
  if (a) {
    EXPECT_EQ(std::memcmp(a, b, (size_t)n * 4), 0) << what;
  }
}

void ExpectGateEq(const tern_tblockdiag &a, const tern_tblockdiag &b) {
  ASSERT_EQ(a.codes == nullptr, b.codes == nullptr);
  if (!a.codes) return;
  EXPECT_EQ(a.blocks, b.blocks);
  EXPECT_EQ(a.size, b.size);
  EXPECT_TRUE(SameBits(a.beta, b.beta));
  EXPECT_EQ(std::memcmp(a.codes, b.codes, tern_tpacked_bytes(a.blocks * a.size, a.size)), 0);
}

void ExpectRnnEq(const tern_rnn_model &a, const tern_rnn_model &b) {
  char pa[4096], pb[4096];
  tern_rnn_print_string(pa, sizeof pa, &a.cfg);
  tern_rnn_print_string(pb, sizeof pb, &b.cfg);
  EXPECT_STREQ(pa, pb);
  const tern_rnn_config &c = a.cfg;
  ExpectRowsEq(a.embed, b.embed, "embedding");
  ExpectRowsEq(a.lm_head, b.lm_head, "lm head");
  ExpectVecEq(a.final_norm.g, b.final_norm.g, c.dim, "final norm");
  int w = c.lru_width;
  for (int l = 0; l < c.layers; l++) {
    const tern_rnn_block &x = a.block[l], &y = b.block[l];
    EXPECT_EQ(x.kind, y.kind);
    ExpectVecEq(x.mix_norm.g, y.mix_norm.g, c.dim, "mix norm");
    ExpectVecEq(x.mlp_norm.g, y.mlp_norm.g, c.dim, "mlp norm");
    const tern_tpacked *ta[] = {&x.wx, &x.wy, &x.wout, &x.wq, &x.wk, &x.wv, &x.wo, &x.wf, &x.wc,
                                &x.wg, &x.wmo, &x.gate, &x.up, &x.down};
    const tern_tpacked *tb[] = {&y.wx, &y.wy, &y.wout, &y.wq, &y.wk, &y.wv, &y.wo, &y.wf, &y.wc,
                                &y.wg, &y.wmo, &y.gate, &y.up, &y.down};
    for (int i = 0; i < 14; i++) ExpectLinEq(*ta[i], *tb[i], "linear");
    ExpectVecEq(x.conv_w, y.conv_w, c.conv_width * w, "conv_w");
    ExpectVecEq(x.conv_b, y.conv_b, w, "conv_b");
    ExpectGateEq(x.gate_a, y.gate_a);
    ExpectGateEq(x.gate_x, y.gate_x);
    ExpectVecEq(x.b_a, y.b_a, w, "b_a");
    ExpectVecEq(x.b_x, y.b_x, w, "b_x");
    ExpectVecEq(x.lambda, y.lambda, w, "lambda");
  }
}

TEST(CkptRnn, RoundTripEveryTinyRecurrentPresetInBothFormats) {
  for (const char *name : {"hawk-tiny", "griffin-tiny", "matmulfree-tiny"}) {
    SCOPED_TRACE(name);
    tern_rnn_config c;
    char err[1024];
    ASSERT_EQ(tern_rnn_preset(name, &c, err, sizeof err), 0) << err;
    tern_rnn_model m;
    ASSERT_EQ(tern_rnn_generate(&c, &m, 0, err, sizeof err), 0) << err;
    std::string d = TmpDir();
    for (tern_ckpt_format f : {TERN_CKPT_SAFETENSORS, TERN_CKPT_GGUF}) {
      std::string out = d + (f == TERN_CKPT_GGUF ? "/m.gguf" : "/st");
      ASSERT_EQ(tern_rnn_ckpt_save(&m, out.c_str(), f, err, sizeof err), 0) << err;
      char fam[16];
      ASSERT_EQ(tern_ckpt_family(out.c_str(), fam, sizeof fam, err, sizeof err), 0) << err;
      EXPECT_STREQ(fam, "recurrent");
      tern_rnn_model r;
      ASSERT_EQ(tern_rnn_ckpt_load(out.c_str(), &r, nullptr, err, sizeof err), 0) << err;
      ExpectRnnEq(m, r);
      tern_rnn_free(&r);
      // a transformer reader refuses it by name
      tern_tfm_model t;
      EXPECT_NE(tern_tfm_ckpt_load(out.c_str(), &t, nullptr, err, sizeof err), 0);
      EXPECT_NE(std::strstr(err, "a recurrent checkpoint"), nullptr) << err;
    }
    // a transformer checkpoint is not a recurrent one
    std::string tk = Exported("tiny");
    tern_rnn_model r;
    EXPECT_NE(tern_rnn_ckpt_load(tk.c_str(), &r, nullptr, err, sizeof err), 0);
    EXPECT_NE(std::strstr(err, "not a recurrent checkpoint"), nullptr) << err;
    RmRf(tk);
    tern_rnn_free(&m);
    RmRf(d);
  }
}

}  // namespace
