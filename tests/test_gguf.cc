// GGUF reader / writer (include/tern/gguf.h, models/gguf.c, docs/GGUF.md):
// round trips of every value and tensor type, hand-built byte sequences whose
// decoded values are derived from the documented layouts (so the layouts are
// checked, not only self-consistency), fp16 / bf16 edge values, every refusal
// of the untrusted-input checks, and a seeded mutation fuzzer
// (GgufFuzz.MutatedFiles, 100x longer with TERN_FUZZ_LONG, seeds and
// reproducers as tests/fuzz_seed.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tern/gguf.h"

#include "fuzz_seed.h"

namespace {

// ---- helpers ------------------------------------------------------------------------

std::string tmp_dir() {
  const char *t = getenv("TMPDIR");
  if (!t && access("/dev/shm", W_OK) == 0) t = "/dev/shm";
  return t ? t : "/tmp";
}

std::string tmp_path(const char *tag) {
  static int seq = 0;
  return tmp_dir() + "/tern_gguf_" + std::to_string((long)getpid()) + "_" + std::to_string(seq++) + "_" +
         tag + ".gguf";
}

std::vector<uint8_t> read_all(const std::string &path) {
  std::vector<uint8_t> d;
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return d;
  uint8_t buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) d.insert(d.end(), buf, buf + n);
  fclose(f);
  return d;
}

void write_all(const std::string &path, const std::vector<uint8_t> &d) {
  FILE *f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!d.empty()) {
    ASSERT_EQ(fwrite(d.data(), 1, d.size(), f), d.size());
  }
  ASSERT_EQ(fclose(f), 0);
}

struct Closer {
  void operator()(tern_gguf *g) const { tern_gguf_close(g); }
};
using Gguf = std::unique_ptr<tern_gguf, Closer>;
struct WFree {
  void operator()(tern_gguf_writer *w) const { tern_gguf_writer_free(w); }
};
using Writer = std::unique_ptr<tern_gguf_writer, WFree>;

// A file with a temporary name, removed at scope exit.
struct TmpFile {
  std::string path;
  explicit TmpFile(const char *tag) : path(tmp_path(tag)) {}
  ~TmpFile() { remove(path.c_str()); }
};

Gguf open_ok(const std::string &path) {
  char err[512] = "";
  Gguf g(tern_gguf_open(path.c_str(), err, sizeof err));
  EXPECT_NE(g, nullptr) << err;
  return g;
}

// Opens bytes that must be refused; returns the message.
std::string refuse(const std::vector<uint8_t> &bytes) {
  TmpFile f("bad");
  write_all(f.path, bytes);
  char err[512] = "";
  tern_gguf *g = tern_gguf_open(f.path.c_str(), err, sizeof err);
  EXPECT_EQ(g, nullptr) << "accepted";
  tern_gguf_close(g);
  EXPECT_GT(strlen(err), 0u);
  EXPECT_NE(strstr(err, f.path.c_str()), nullptr) << err;  // names the file
  return err;
}

bool has(const std::string &s, const char *sub) { return s.find(sub) != std::string::npos; }

uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// Builds GGUF bytes field by field, exactly as docs/GGUF.md lays them out.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes &u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Bytes &u16(uint16_t v) { return u8((uint8_t)v).u8((uint8_t)(v >> 8)); }
  Bytes &u32(uint32_t v) {
    for (int i = 0; i < 4; i++) u8((uint8_t)(v >> (8 * i)));
    return *this;
  }
  Bytes &u64(uint64_t v) {
    for (int i = 0; i < 8; i++) u8((uint8_t)(v >> (8 * i)));
    return *this;
  }
  Bytes &str(const std::string &s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes &raw(const std::vector<uint8_t> &v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Bytes &header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  Bytes &kv_u32(const std::string &k, uint32_t v) { return str(k).u32(4).u32(v); }
  Bytes &kv_str(const std::string &k, const std::string &v) { return str(k).u32(8).str(v); }
  Bytes &tinfo(const std::string &name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32((uint32_t)ne.size());
    for (uint64_t x : ne) u64(x);
    return u32(type).u64(offset);
  }
  Bytes &pad(size_t a) {
    while (b.size() % a) u8(0);
    return *this;
  }
};

// One valid file: key "general.architecture", one F32 tensor "w" of 4 floats
// {1, 2, 3, 4} at offset 0, and a TQ2_0 tensor "t" of 256 zero codes.
std::vector<uint8_t> small_file() {
  Bytes x;
  x.header(2, 1).kv_str("general.architecture", "tern");
  x.tinfo("w", {4}, 0, 0).tinfo("t", {256}, 35, 32).pad(32);
  for (float f : {1.0f, 2.0f, 3.0f, 4.0f}) x.u32(f32_bits(f));
  x.pad(32);
  for (int i = 0; i < 64; i++) x.u8(0x55);  // code 1 everywhere: 0
  x.u16(0x3c00);                            // d = 1.0
  return x.b;
}

// Everything the writer can express: every value type, arrays of every
// fixed-size type and of strings, every tensor type tern encodes.
struct Sample {
  std::vector<float> f32v, f16v, bf16v, q8v;
  std::vector<int8_t> i8v, tq1, tq2, i2s;
  float s_tq1 = 0.0123f, s_tq2 = 0.5f, s_i2s = 0.0371f;
};

Sample make_sample(uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Sample s;
  for (int i = 0; i < 24; i++) s.f32v.push_back(nd(g));
  s.f32v[0] = -0.0f;
  s.f32v[1] = INFINITY;
  s.f32v[2] = bits_f32(0x7fc12345u);  // a NaN with a payload
  s.f32v[3] = bits_f32(0x00000001u);  // the smallest subnormal
  for (int i = 0; i < 64; i++) s.f16v.push_back(nd(g) * 100.0f);
  for (int i = 0; i < 64; i++) s.bf16v.push_back(nd(g) * 1e30f);
  for (int i = 0; i < 96; i++) s.q8v.push_back(nd(g));
  for (int i = 0; i < 40; i++) s.i8v.push_back((int8_t)(g() & 0xff));
  for (int i = 0; i < 512; i++) s.tq1.push_back((int8_t)((int)(g() % 3) - 1));
  for (int i = 0; i < 768; i++) s.tq2.push_back((int8_t)((int)(g() % 3) - 1));
  for (int i = 0; i < 384; i++) s.i2s.push_back((int8_t)((int)(g() % 3) - 1));
  for (int i = 256; i < 512; i++) s.tq2[i] = 0;  // an all-zero block in the middle
  return s;
}

void add_sample(tern_gguf_writer *w, const Sample &s, uint32_t alignment) {
  char err[512];
#define OK(x) ASSERT_EQ((x), 0) << err
  if (alignment != 32) {
    OK(tern_gguf_add_u32(w, "general.alignment", alignment, err, sizeof err));
  }
  OK(tern_gguf_add_str(w, "general.architecture", "bitnet", 6, err, sizeof err));
  OK(tern_gguf_add_u32(w, "bitnet.block_count", 30, err, sizeof err));
  OK(tern_gguf_add_i32(w, "test.i32", -123456, err, sizeof err));
  OK(tern_gguf_add_u64(w, "test.u64", 0xfedcba9876543210ull, err, sizeof err));
  OK(tern_gguf_add_f32(w, "test.f32", 1e-5f, err, sizeof err));
  OK(tern_gguf_add_bool(w, "test.bool", 1, err, sizeof err));
  uint8_t u8 = 200;
  int8_t i8 = -100;
  uint16_t u16 = 60000;
  int16_t i16 = -30000;
  int64_t i64 = INT64_MIN;
  double f64 = -2.5e300;
  OK(tern_gguf_add_scalar(w, "test.u8", TERN_GGUF_U8, &u8, err, sizeof err));
  OK(tern_gguf_add_scalar(w, "test.i8", TERN_GGUF_I8, &i8, err, sizeof err));
  OK(tern_gguf_add_scalar(w, "test.u16", TERN_GGUF_U16, &u16, err, sizeof err));
  OK(tern_gguf_add_scalar(w, "test.i16", TERN_GGUF_I16, &i16, err, sizeof err));
  OK(tern_gguf_add_scalar(w, "test.i64", TERN_GGUF_I64, &i64, err, sizeof err));
  OK(tern_gguf_add_scalar(w, "test.f64", TERN_GGUF_F64, &f64, err, sizeof err));
  const char *toks[] = {"<s>", "", "hello", "a\0b"};
  size_t lens[] = {3, 0, 5, 3};
  OK(tern_gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, lens, 4, err, sizeof err));
  float scores[] = {0.0f, -1.5f, 2.25f, -0.0f};
  OK(tern_gguf_add_arr(w, "tokenizer.ggml.scores", TERN_GGUF_F32, scores, 4, err, sizeof err));
  int32_t types[] = {3, 1, 1, 6};
  OK(tern_gguf_add_arr(w, "tokenizer.ggml.token_type", TERN_GGUF_I32, types, 4, err, sizeof err));
  uint8_t a_u8[] = {0, 255, 7};
  int8_t a_i8[] = {-128, 127};
  uint16_t a_u16[] = {65535};
  int16_t a_i16[] = {-32768, 1};
  uint32_t a_u32[] = {0xffffffffu, 0};
  uint64_t a_u64[] = {1, 0xffffffffffffffffull};
  int64_t a_i64[] = {-1, INT64_MAX};
  double a_f64[] = {3.141592653589793, -0.0};
  uint8_t a_bool[] = {1, 0, 1};
  OK(tern_gguf_add_arr(w, "arr.u8", TERN_GGUF_U8, a_u8, 3, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.i8", TERN_GGUF_I8, a_i8, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.u16", TERN_GGUF_U16, a_u16, 1, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.i16", TERN_GGUF_I16, a_i16, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.u32", TERN_GGUF_U32, a_u32, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.u64", TERN_GGUF_U64, a_u64, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.i64", TERN_GGUF_I64, a_i64, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.f64", TERN_GGUF_F64, a_f64, 2, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.bool", TERN_GGUF_BOOL, a_bool, 3, err, sizeof err));
  OK(tern_gguf_add_arr(w, "arr.empty", TERN_GGUF_F32, nullptr, 0, err, sizeof err));
  OK(tern_gguf_add_arr_str(w, "arr.nostr", nullptr, nullptr, 0, err, sizeof err));

  uint64_t ne_f32[] = {6, 4}, ne_f16[] = {8, 2, 2, 2}, ne_bf16[] = {64}, ne_q8[] = {32, 3},
           ne_i8[] = {5, 4, 2}, ne_tq1[] = {256, 2}, ne_tq2[] = {256, 3}, ne_i2s[] = {128, 3};
  OK(tern_gguf_add_tensor_f32(w, "f32", TERN_GGML_F32, 2, ne_f32, s.f32v.data(), err, sizeof err));
  OK(tern_gguf_add_tensor_f32(w, "f16", TERN_GGML_F16, 4, ne_f16, s.f16v.data(), err, sizeof err));
  OK(tern_gguf_add_tensor_f32(w, "bf16", TERN_GGML_BF16, 1, ne_bf16, s.bf16v.data(), err, sizeof err));
  OK(tern_gguf_add_tensor_f32(w, "q8_0", TERN_GGML_Q8_0, 2, ne_q8, s.q8v.data(), err, sizeof err));
  OK(tern_gguf_add_tensor(w, "i8", TERN_GGML_I8, 3, ne_i8, s.i8v.data(), 40, err, sizeof err));
  OK(tern_gguf_add_tensor_ternary(w, "blk.0.tq1", TERN_GGML_TQ1_0, 2, ne_tq1, s.tq1.data(), s.s_tq1, err,
                                  sizeof err));
  OK(tern_gguf_add_tensor_ternary(w, "blk.0.tq2", TERN_GGML_TQ2_0, 2, ne_tq2, s.tq2.data(), s.s_tq2, err,
                                  sizeof err));
  OK(tern_gguf_add_tensor_ternary(w, "blk.0.i2s", TERN_GGML_I2_S, 2, ne_i2s, s.i2s.data(), s.s_i2s, err,
                                  sizeof err));
#undef OK
}

std::vector<uint8_t> sample_bytes(uint64_t seed, uint32_t alignment) {
  Writer w(tern_gguf_writer_new());
  add_sample(w.get(), make_sample(seed), alignment);
  TmpFile f("sample");
  char err[512];
  EXPECT_EQ(tern_gguf_write(w.get(), f.path.c_str(), err, sizeof err), 0) << err;
  return read_all(f.path);
}

// ---- type table -----------------------------------------------------------------------

TEST(GgufTypes, NumbersNamesAndSizes) {
  // ggml/include/ggml.h (llama.cpp) and the BitNet fork's constants.py
  EXPECT_STREQ(tern_ggml_type_name(0), "f32");
  EXPECT_STREQ(tern_ggml_type_name(1), "f16");
  EXPECT_STREQ(tern_ggml_type_name(8), "q8_0");
  EXPECT_STREQ(tern_ggml_type_name(24), "i8");
  EXPECT_STREQ(tern_ggml_type_name(30), "bf16");
  EXPECT_STREQ(tern_ggml_type_name(34), "tq1_0");
  EXPECT_STREQ(tern_ggml_type_name(35), "tq2_0");
  EXPECT_STREQ(tern_ggml_type_name(36), "i2_s");
  EXPECT_EQ(tern_ggml_type_name(38), nullptr);
  EXPECT_EQ(tern_ggml_type_name(4), nullptr);
  char err[256];
  uint64_t nb = 0;
  struct {
    uint32_t type;
    uint64_t n, bytes;
  } cases[] = {{0, 3, 12},     {1, 3, 6},      {30, 5, 10},   {8, 64, 68},   {24, 7, 7},
               {34, 256, 54},  {35, 512, 132}, {36, 128, 64}, {36, 256, 96}, {14, 256, 210},
               {12, 256, 144}, {2, 32, 18},    {28, 2, 16},   {36, 4, 33}};
  for (auto &c : cases) {
    ASSERT_EQ(tern_ggml_nbytes(c.type, c.n, &nb, "t", err, sizeof err), 0) << err;
    EXPECT_EQ(nb, c.bytes) << tern_ggml_type_name(c.type);
  }
  EXPECT_EQ(tern_ggml_nbytes(34, 255, &nb, "x", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "256-element block")) << err;
  EXPECT_EQ(tern_ggml_nbytes(39, 32, &nb, "x", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "ambiguous")) << err;
  EXPECT_EQ(tern_ggml_nbytes(0, UINT64_MAX / 2, &nb, "x", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "overflows")) << err;
  EXPECT_STREQ(tern_gguf_vtype_name(TERN_GGUF_U32), "uint32");
  EXPECT_STREQ(tern_gguf_vtype_name(TERN_GGUF_F64), "float64");
  EXPECT_STREQ(tern_gguf_vtype_name(99), "?");
  EXPECT_EQ(tern_gguf_vtype_size(TERN_GGUF_I64), 8u);
  EXPECT_EQ(tern_gguf_vtype_size(TERN_GGUF_STRING), 0u);
}

// ---- fp16 / bf16 ----------------------------------------------------------------------

// Reference fp16 rounding: the nearest of the finite fp16 values by binary
// search over the (monotonic) positive encodings, ties to the even encoding.
uint16_t ref_f16(float f) {
  if (std::isnan(f)) return 0x7e00;
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  double a = std::fabs((double)f);
  if (a >= 65520.0) return sign | 0x7c00;
  uint16_t lo = 0, hi = 0x7bff;
  while (lo < hi) {  // largest encoding <= a
    uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
    if ((double)tern_f16_to_f32(mid) <= a)
      lo = mid;
    else
      hi = (uint16_t)(mid - 1);
  }
  if (lo == 0x7bff) return sign | lo;
  double dl = a - tern_f16_to_f32(lo), dh = tern_f16_to_f32((uint16_t)(lo + 1)) - a;
  uint16_t r = dl < dh ? lo : dh < dl ? (uint16_t)(lo + 1) : (lo & 1) ? (uint16_t)(lo + 1) : lo;
  return sign | r;
}

TEST(GgufFp16, EdgeValues) {
  struct {
    float f;
    uint16_t h;
  } cases[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3c00},
      {-2.0f, 0xc000},
      {65504.0f, 0x7bff},   // largest finite
      {65519.99f, 0x7bff},  // below the midpoint to infinity
      {65520.0f, 0x7c00},   // the midpoint: ties to even = infinity
      {1e10f, 0x7c00},
      {INFINITY, 0x7c00},
      {-INFINITY, 0xfc00},
      {std::ldexp(1.0f, -14), 0x0400},         // smallest normal
      {std::ldexp(1023.0f, -24), 0x03ff},      // largest subnormal
      {std::ldexp(1.0f, -24), 0x0001},         // smallest subnormal
      {std::ldexp(1.0f, -25), 0x0000},         // half of it: ties to even = 0
      {std::ldexp(1.0000001f, -25), 0x0001},   // just above half
      {std::ldexp(3.0f, -25), 0x0002},         // 1.5 ulp: ties to even = 2
      {std::ldexp(5.0f, -25), 0x0002},         // 2.5 ulp: ties to even = 2
      {1.0f + std::ldexp(1.0f, -11), 0x3c00},  // tie between 0x3c00 and 0x3c01: even
      {1.0f + std::ldexp(3.0f, -11), 0x3c02},  // tie between 0x3c01 and 0x3c02: even
      {1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20), 0x3c01},
      {2047.0f * std::ldexp(1.0f, -11) + 1.0f, 0x4000},  // rounds up across the exponent
  };
  for (auto &c : cases) {
    EXPECT_EQ(tern_f32_to_f16(c.f), c.h) << c.f;
    EXPECT_EQ(ref_f16(c.f), c.h) << "reference " << c.f;
  }
  EXPECT_EQ(tern_f32_to_f16(bits_f32(0x00000001u)), 0x0000);  // fp32 subnormal underflows
  uint16_t n = tern_f32_to_f16(NAN);
  EXPECT_EQ(n & 0x7c00, 0x7c00);
  EXPECT_NE(n & 0x03ff, 0);
  EXPECT_NE(tern_f32_to_f16(bits_f32(0x7f800001u)) & 0x03ff, 0);  // signalling NaN stays NaN
  EXPECT_EQ(tern_f32_to_f16(bits_f32(0xffc00000u)) & 0x8000, 0x8000);
  // every fp16 value converts to float32 exactly and back to itself
  for (uint32_t h = 0; h < 65536; h++) {
    float f = tern_f16_to_f32((uint16_t)h);
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
      EXPECT_TRUE(std::isnan(f)) << h;
      EXPECT_TRUE(std::isnan(tern_f16_to_f32(tern_f32_to_f16(f)))) << h;
      continue;
    }
    ASSERT_EQ(tern_f32_to_f16(f), h) << h;
  }
  EXPECT_EQ(tern_f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(tern_f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(tern_f16_to_f32(0xfbff), -65504.0f);
  // random floats across the whole range against the reference (and the
  // compiler's own _Float16 conversion where it has one)
  std::mt19937_64 g(7);
  for (int i = 0; i < 20000; i++) {
    float f = bits_f32((uint32_t)g());
    if (i % 2) f = std::ldexp((float)(g() % 100000) / 1000.0f, (int)(g() % 50) - 30);
    if (std::isnan(f)) continue;
    ASSERT_EQ(tern_f32_to_f16(f), ref_f16(f)) << f;
#if defined(__FLT16_MAX__)
    _Float16 hw = (_Float16)f;
    uint16_t hb;
    memcpy(&hb, &hw, 2);
    ASSERT_EQ(tern_f32_to_f16(f), hb) << f;
#endif
  }
}

TEST(GgufBf16, EdgeValues) {
  struct {
    uint32_t f;
    uint16_t h;
  } cases[] = {
      {0x3f800000u, 0x3f80},                         // 1.0
      {0x3f808000u, 0x3f80},                         // tie, even stays
      {0x3f818000u, 0x3f82},                         // tie, odd rounds up
      {0x3f808001u, 0x3f81},                         // above the tie
      {0x3f807fffu, 0x3f80},                         // below the tie
      {0x7f7fffffu, 0x7f80},                         // largest float rounds to infinity
      {0x7f800000u, 0x7f80},                         // infinity
      {0xff800000u, 0xff80}, {0x00008000u, 0x0000},  // subnormal tie to even (0)
      {0x00018000u, 0x0002},                         // subnormal tie to even (2)
      {0x00010000u, 0x0001},                         // smallest bf16 subnormal, kept
      {0x80000000u, 0x8000},                         // -0
  };
  for (auto &c : cases) EXPECT_EQ(tern_f32_to_bf16(bits_f32(c.f)), c.h) << std::hex << c.f;
  EXPECT_EQ(tern_f32_to_bf16(bits_f32(0x7f800001u)), 0x7fc0);  // NaN: quiet, stays NaN
  EXPECT_EQ(tern_f32_to_bf16(bits_f32(0xffffffffu)), 0xffff);
  for (uint32_t h = 0; h < 65536; h++) {
    float f = tern_bf16_to_f32((uint16_t)h);
    ASSERT_EQ(f32_bits(f), h << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(tern_f32_to_bf16(f), h);
    }
  }
}

// ---- hand-built layouts -----------------------------------------------------------------

// TQ2_0 (llama.cpp ggml-common.h block_tq2_0 {qs[64]; d}; ggml-quants.c
// dequantize_row_tq2_0): element 128 h + 32 l + m is in bits 2l..2l+1 of
// qs[32 h + m], code 0/1/2 = -1/0/+1.
TEST(GgufLayout, HandBuiltTQ2_0) {
  std::vector<uint8_t> blk(66, 0x55);  // 0b01010101: code 1 (= 0) in every field
  blk[0] =
      0x86;  // 0b10'00'01'10: l0 = 2 (+1) elem 0, l1 = 1 (0) elem 32, l2 = 0 (-1) elem 64, l3 = 2 elem 96
  blk[37] = 0x19;  // 0b00'01'10'01: h 1, m 5: elem 133 = 0, 165 = +1, 197 = 0, 229 = -1
  blk[64] = 0x00;
  blk[65] = 0x38;  // d = fp16 0x3800 = 0.5
  std::vector<int8_t> want(256, 0);
  want[0] = +1, want[64] = -1, want[96] = +1, want[165] = +1, want[229] = -1;
  std::vector<int8_t> got(256, 7);
  float scale = 0;
  char err[256];
  ASSERT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ2_0, blk.data(), 66, 256, got.data(), &scale, "hand", err, sizeof err),
      0)
      << err;
  EXPECT_EQ(got, want);
  EXPECT_EQ(scale, 0.5f);
  std::vector<uint8_t> enc(66);
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, want.data(), 256, 0.5f, enc.data(), 66, err, sizeof err),
            0);
  EXPECT_EQ(enc, blk);
  std::vector<float> f(256);
  ASSERT_EQ(tern_ggml_to_f32(TERN_GGML_TQ2_0, blk.data(), 66, 256, f.data(), "hand", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "no float32 decoder")) << err;
}

// TQ1_0 (block_tq1_0 {qs[48]; qh[4]; d}; quantize_row_tq1_0_ref /
// dequantize_row_tq1_0): a byte holds ceil(q * 256 / 243) where q is five
// trits (code + 1), the first the most significant.  qs[m], m < 32: elements
// m + 32 t; qs[32 + m]: elements 160 + m + 16 t; qh[j]: elements 240 + j + 4 t
// (four trits, then a zero trit).
TEST(GgufLayout, HandBuiltTQ1_0) {
  // all-zero codes: trits 1,1,1,1,1: q = 81+27+9+3+1 = 121 -> ceil(121*256/243) = ceil(127.47) = 128;
  // qh: (27+9+3+1)*3 = 120 -> ceil(126.42) = 127
  std::vector<uint8_t> blk(54, 128);
  for (int j = 48; j < 52; j++) blk[j] = 127;
  // qs[0]: trits 2,1,1,1,0: q = 162+27+9+3+0 = 201 -> ceil(211.75) = 212: elem 0 = +1, elem 128 = -1
  blk[0] = 212;
  // qs[40] (m = 8 of the second part): trits 0,2,1,1,1: q = 0+54+9+3+1 = 67 -> ceil(70.58) = 71:
  // elem 160+8 = -1, 176+8 = +1
  blk[40] = 71;
  // qh[2]: trits 1,1,2,0 then 0: q = (27+9+6+0)*3 = 126 -> ceil(132.74) = 133: elem 250 = +1, 254 = -1
  blk[50] = 133;
  blk[52] = 0x00;
  blk[53] = 0xb8;  // d = fp16 0xb800 = -0.5 (a negative scale is legal)
  std::vector<int8_t> want(256, 0);
  want[0] = +1, want[128] = -1, want[168] = -1, want[184] = +1, want[250] = +1, want[254] = -1;
  std::vector<int8_t> got(256, 7);
  float scale = 0;
  char err[256];
  ASSERT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ1_0, blk.data(), 54, 256, got.data(), &scale, "hand", err, sizeof err),
      0)
      << err;
  EXPECT_EQ(got, want);
  EXPECT_EQ(scale, -0.5f);
  std::vector<uint8_t> enc(54);
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ1_0, want.data(), 256, -0.5f, enc.data(), 54, err, sizeof err),
            0);
  EXPECT_EQ(enc, blk);
  // every byte value decodes to valid trits (the format has no invalid byte)
  std::vector<uint8_t> any(54);
  for (int v = 0; v < 256; v += 1) {
    for (int j = 0; j < 52; j++) any[j] = (uint8_t)(v + j);
    any[52] = 0, any[53] = 0x3c;
    ASSERT_EQ(
        tern_ggml_to_ternary(TERN_GGML_TQ1_0, any.data(), 54, 256, got.data(), &scale, "x", err, sizeof err),
        0);
    for (int8_t c : got) ASSERT_TRUE(c >= -1 && c <= 1);
  }
}

// I2_S (the BitNet fork's src/ggml-bitnet-mad.cpp quantize_i2_s, x86 /
// 128-element blocks): element 32 g + j of a block in bits 7-6 (g 0), 5-4,
// 3-2, 1-0 (g 3) of byte j; code 0/1/2 = -1/0/+1; after n/4 bytes a float32
// scale, then 28 reserved bytes (the fork's ggml_nbytes: n/4 + 32).
TEST(GgufLayout, HandBuiltI2_S) {
  std::vector<uint8_t> b(64, 0);
  for (int j = 0; j < 32; j++) b[j] = 0x55;  // all code 1 (= 0)
  b[0] = 0x91;                               // 0b10'01'00'01: elem 0 = +1, 32 = 0, 64 = -1, 96 = 0
  b[31] = 0x46;                              // 0b01'00'01'10: elem 31 = 0, 63 = -1, 95 = 0, 127 = +1
  b[32] = 0x00, b[33] = 0x00, b[34] = 0x80, b[35] = 0x3e;  // 0.25f little-endian
  std::vector<int8_t> want(128, 0);
  want[0] = +1, want[64] = -1, want[63] = -1, want[127] = +1;
  std::vector<int8_t> got(128, 7);
  float scale = 0;
  char err[256];
  ASSERT_EQ(
      tern_ggml_to_ternary(TERN_GGML_I2_S, b.data(), 64, 128, got.data(), &scale, "hand", err, sizeof err), 0)
      << err;
  EXPECT_EQ(got, want);
  EXPECT_EQ(scale, 0.25f);
  std::vector<uint8_t> enc(64, 0xaa);
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_I2_S, want.data(), 128, 0.25f, enc.data(), 64, err, sizeof err),
            0);
  EXPECT_EQ(enc, b);
  b[5] = 0xff;  // code 3: never written by quantize_i2_s
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_I2_S, b.data(), 64, 128, got.data(), &scale, "hand", err, sizeof err),
      -1);
  EXPECT_TRUE(has(err, "I2_S code 3 at element 5 (byte 5)")) << err;
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_I2_S, b.data(), 33, 4, got.data(), &scale, "hand", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "128-element blocks")) << err;
}

// Q8_0 (block_q8_0 {d; qs[32]}, dequantize_row_q8_0: value = qs * d).
TEST(GgufLayout, HandBuiltQ8_0AndFloats) {
  std::vector<uint8_t> b(34, 0);
  b[0] = 0x00, b[1] = 0x38;  // d = 0.5
  b[2] = 0xfd;               // -3 -> -1.5
  b[3] = 0x7f;               // 127 -> 63.5
  b[33] = 0x80;              // -128 -> -64
  std::vector<float> f(32, 1.0f);
  char err[256];
  ASSERT_EQ(tern_ggml_to_f32(TERN_GGML_Q8_0, b.data(), 34, 32, f.data(), "hand", err, sizeof err), 0) << err;
  EXPECT_EQ(f[0], -1.5f);
  EXPECT_EQ(f[1], 63.5f);
  EXPECT_EQ(f[2], 0.0f);
  EXPECT_EQ(f[31], -64.0f);
  uint8_t h[] = {0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x00, 0x80};  // F16 1, -2; BF16 1, -0
  ASSERT_EQ(tern_ggml_to_f32(TERN_GGML_F16, h, 4, 2, f.data(), "h", err, sizeof err), 0);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  ASSERT_EQ(tern_ggml_to_f32(TERN_GGML_BF16, h + 4, 4, 2, f.data(), "h", err, sizeof err), 0);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f32_bits(f[1]), 0x80000000u);
  uint8_t i8[] = {0x80, 0xff, 0x01};
  ASSERT_EQ(tern_ggml_to_f32(TERN_GGML_I8, i8, 3, 3, f.data(), "h", err, sizeof err), 0);
  EXPECT_EQ(f[0], -128.0f);
  EXPECT_EQ(f[1], -1.0f);
  EXPECT_EQ(f[2], 1.0f);
  EXPECT_EQ(tern_ggml_to_f32(TERN_GGML_F16, h, 3, 2, f.data(), "h", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "h: 3 bytes, but 2 elements of type f16 take 4")) << err;
  // the encoder follows quantize_row_q8_0_ref: d = absmax / 127, q = round(x / d)
  float x[32] = {0};
  x[0] = 2.54f, x[1] = -1.0f, x[2] = 0.004f;
  std::vector<uint8_t> q(34);
  ASSERT_EQ(tern_ggml_from_f32(TERN_GGML_Q8_0, x, 32, q.data(), 34, err, sizeof err), 0);
  uint16_t d = (uint16_t)(q[0] | q[1] << 8);
  EXPECT_EQ(d, tern_f32_to_f16(2.54f / 127.0f));
  EXPECT_EQ((int8_t)q[2], 127);
  EXPECT_EQ((int8_t)q[3], -50);
  EXPECT_EQ((int8_t)q[4], 0);
  float tiny[32];  // absmax subnormal: 1/d overflows; the encoder divides instead
  for (int j = 0; j < 32; j++) tiny[j] = (j % 2 ? -1.0f : 1.0f) * std::ldexp(1.0f, -140) * (float)j;
  ASSERT_EQ(tern_ggml_from_f32(TERN_GGML_Q8_0, tiny, 32, q.data(), 34, err, sizeof err), 0) << err;
  EXPECT_EQ((int8_t)q[2 + 31], -127);
  EXPECT_EQ((int8_t)q[2 + 0], 0);
  x[5] = NAN;
  EXPECT_EQ(tern_ggml_from_f32(TERN_GGML_Q8_0, x, 32, q.data(), 34, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "Q8_0 element 5")) << err;
}

// A whole file written byte by byte from the spec (docs/GGUF.md "File
// layout"): the reader finds every field, and the writer produces the same
// bytes for the same content.
TEST(GgufLayout, HandBuiltFile) {
  std::vector<uint8_t> bytes = small_file();
  TmpFile f("hand");
  write_all(f.path, bytes);
  Gguf g = open_ok(f.path);
  ASSERT_TRUE(g);
  EXPECT_EQ(tern_gguf_version(g.get()), 3u);
  EXPECT_EQ(tern_gguf_alignment(g.get()), 32u);
  // header 24 + kv (8+20 +4 +8+4 = 44) + infos (8+1+4+8+4+8 = 33, twice) = 134 -> data at 160
  EXPECT_EQ(tern_gguf_data_offset(g.get()), 160u);
  ASSERT_EQ(tern_gguf_n_kv(g.get()), 1u);
  tern_gguf_str s;
  char err[256];
  ASSERT_EQ(tern_gguf_get_str(g.get(), "general.architecture", &s, err, sizeof err), 0) << err;
  EXPECT_EQ(std::string(s.ptr, s.len), "tern");
  ASSERT_EQ(tern_gguf_n_tensors(g.get()), 2u);
  const tern_gguf_tensor *w = tern_gguf_tensor_at(g.get(), 0);
  EXPECT_STREQ(w->name, "w");
  EXPECT_EQ(w->n_dims, 1u);
  EXPECT_EQ(w->ne[0], 4u);
  EXPECT_EQ(w->ne[1], 1u);
  EXPECT_EQ(w->nbytes, 16u);
  float v[4];
  ASSERT_EQ(tern_gguf_decode_f32(g.get(), w, v, err, sizeof err), 0) << err;
  EXPECT_EQ(v[3], 4.0f);
  const tern_gguf_tensor *t = tern_gguf_find_tensor(g.get(), "t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->offset, 32u);
  std::vector<int8_t> codes(256, 9);
  float scale;
  ASSERT_EQ(tern_gguf_decode_ternary(g.get(), t, codes.data(), &scale, err, sizeof err), 0) << err;
  EXPECT_EQ(codes, std::vector<int8_t>(256, 0));
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(tern_gguf_find_tensor(g.get(), "missing"), nullptr);
  EXPECT_EQ(tern_gguf_get_tensor(g.get(), "missing", &t, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "no tensor 'missing'")) << err;

  Writer wr(tern_gguf_writer_new());
  ASSERT_EQ(tern_gguf_add_str(wr.get(), "general.architecture", "tern", 4, err, sizeof err), 0);
  float fv[] = {1, 2, 3, 4};
  uint64_t ne4[] = {4}, ne256[] = {256};
  ASSERT_EQ(tern_gguf_add_tensor_f32(wr.get(), "w", TERN_GGML_F32, 1, ne4, fv, err, sizeof err), 0) << err;
  std::vector<int8_t> zeros(256, 0);
  ASSERT_EQ(tern_gguf_add_tensor_ternary(wr.get(), "t", TERN_GGML_TQ2_0, 1, ne256, zeros.data(), 1.0f, err,
                                         sizeof err),
            0)
      << err;
  TmpFile f2("hand2");
  ASSERT_EQ(tern_gguf_write(wr.get(), f2.path.c_str(), err, sizeof err), 0) << err;
  std::vector<uint8_t> mine = read_all(f2.path);
  // the writer pads the last tensor to the alignment too
  std::vector<uint8_t> want = bytes;
  while (want.size() % 32) want.push_back(0);
  EXPECT_EQ(mine, want);
}

// ---- round trips ------------------------------------------------------------------------

void check_sample(const std::string &path, const Sample &s, uint32_t alignment) {
  Gguf g = open_ok(path);
  ASSERT_TRUE(g);
  char err[512];
  EXPECT_EQ(tern_gguf_alignment(g.get()), alignment);
  EXPECT_EQ(tern_gguf_data_offset(g.get()) % alignment, 0u);
  // scalars, read back bit for bit
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  int64_t i64;
  float f32;
  double f64;
  int b;
  ASSERT_EQ(tern_gguf_get_u32(g.get(), "bitnet.block_count", &u32, err, sizeof err), 0) << err;
  EXPECT_EQ(u32, 30u);
  ASSERT_EQ(tern_gguf_get_i32(g.get(), "test.i32", &i32, err, sizeof err), 0) << err;
  EXPECT_EQ(i32, -123456);
  ASSERT_EQ(tern_gguf_get_u64(g.get(), "test.u64", &u64, err, sizeof err), 0) << err;
  EXPECT_EQ(u64, 0xfedcba9876543210ull);
  ASSERT_EQ(tern_gguf_get_f32(g.get(), "test.f32", &f32, err, sizeof err), 0) << err;
  EXPECT_EQ(f32_bits(f32), f32_bits(1e-5f));
  ASSERT_EQ(tern_gguf_get_bool(g.get(), "test.bool", &b, err, sizeof err), 0) << err;
  EXPECT_EQ(b, 1);
  ASSERT_EQ(tern_gguf_get_i64(g.get(), "test.i64", &i64, err, sizeof err), 0) << err;
  EXPECT_EQ(i64, INT64_MIN);
  ASSERT_EQ(tern_gguf_get_f64(g.get(), "test.f64", &f64, err, sizeof err), 0) << err;
  EXPECT_EQ(f64, -2.5e300);
  // widening / lossless conversions
  ASSERT_EQ(tern_gguf_get_u32(g.get(), "test.u8", &u32, err, sizeof err), 0) << err;
  EXPECT_EQ(u32, 200u);
  ASSERT_EQ(tern_gguf_get_i32(g.get(), "test.i8", &i32, err, sizeof err), 0) << err;
  EXPECT_EQ(i32, -100);
  ASSERT_EQ(tern_gguf_get_u32(g.get(), "test.u16", &u32, err, sizeof err), 0) << err;
  EXPECT_EQ(u32, 60000u);
  ASSERT_EQ(tern_gguf_get_i64(g.get(), "test.i16", &i64, err, sizeof err), 0) << err;
  EXPECT_EQ(i64, -30000);
  ASSERT_EQ(tern_gguf_get_u64(g.get(), "bitnet.block_count", &u64, err, sizeof err), 0) << err;
  EXPECT_EQ(u64, 30u);
  ASSERT_EQ(tern_gguf_get_i32(g.get(), "bitnet.block_count", &i32, err, sizeof err), 0) << err;
  EXPECT_EQ(i32, 30);
  ASSERT_EQ(tern_gguf_get_f64(g.get(), "test.f32", &f64, err, sizeof err), 0) << err;
  EXPECT_EQ(f64, (double)1e-5f);
  // and their refusals
  EXPECT_EQ(tern_gguf_get_u32(g.get(), "general.architecture", &u32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, ": key 'general.architecture': type string, expected uint32")) << err;
  EXPECT_TRUE(has(err, path.c_str())) << err;
  EXPECT_EQ(tern_gguf_get_u32(g.get(), "test.u64", &u32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "value 18364758544493064720 (uint64) is out of range for uint32 [0, 4294967295]"))
      << err;
  EXPECT_EQ(tern_gguf_get_u32(g.get(), "test.i32", &u32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "value -123456 (int32) is out of range for uint32")) << err;
  EXPECT_EQ(tern_gguf_get_i32(g.get(), "test.i64", &i32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "value -9223372036854775808 (int64) is out of range for int32")) << err;
  EXPECT_EQ(tern_gguf_get_i64(g.get(), "test.u64", &i64, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_get_f32(g.get(), "test.f64", &f32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "is not exactly a float32")) << err;
  EXPECT_EQ(tern_gguf_get_f32(g.get(), "test.u8", &f32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "type uint8, expected float32")) << err;
  EXPECT_EQ(tern_gguf_get_bool(g.get(), "test.u8", &b, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_get_u32(g.get(), "no.such.key", &u32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "key 'no.such.key' not found")) << err;
  EXPECT_EQ(tern_gguf_get_u32(g.get(), "arr.u32", &u32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "type array of uint32, expected uint32")) << err;
  tern_gguf_str str;
  ASSERT_EQ(tern_gguf_get_str(g.get(), "general.architecture", &str, err, sizeof err), 0);
  EXPECT_EQ(std::string(str.ptr, str.len), "bitnet");
  // arrays
  int et;
  uint64_t cnt;
  ASSERT_EQ(tern_gguf_get_arr(g.get(), "tokenizer.ggml.tokens", &et, &cnt, err, sizeof err), 0) << err;
  EXPECT_EQ(et, TERN_GGUF_STRING);
  ASSERT_EQ(cnt, 4u);
  const char *toks[] = {"<s>", "", "hello", "a\0b"};
  size_t lens[] = {3, 0, 5, 3};
  for (uint64_t i = 0; i < 4; i++) {
    ASSERT_EQ(tern_gguf_arr_str(g.get(), "tokenizer.ggml.tokens", i, &str, err, sizeof err), 0) << err;
    EXPECT_EQ(std::string(str.ptr, str.len), std::string(toks[i], lens[i]));
  }
  EXPECT_EQ(tern_gguf_arr_str(g.get(), "tokenizer.ggml.tokens", 4, &str, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "index 4 out of range (4 strings)")) << err;
  EXPECT_EQ(tern_gguf_arr_str(g.get(), "tokenizer.ggml.scores", 0, &str, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "array of float32, expected array of string")) << err;
  const void *p = tern_gguf_arr_data(g.get(), "tokenizer.ggml.scores", TERN_GGUF_F32, &cnt, err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  ASSERT_EQ(cnt, 4u);
  float sc[4];
  memcpy(sc, p, sizeof sc);
  EXPECT_EQ(sc[2], 2.25f);
  EXPECT_EQ(f32_bits(sc[3]), 0x80000000u);
  p = tern_gguf_arr_data(g.get(), "tokenizer.ggml.token_type", TERN_GGUF_I32, &cnt, err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  int32_t tt[4];
  memcpy(tt, p, sizeof tt);
  EXPECT_EQ(tt[0], 3);
  EXPECT_EQ(tt[3], 6);
  EXPECT_EQ(tern_gguf_arr_data(g.get(), "tokenizer.ggml.token_type", TERN_GGUF_F32, &cnt, err, sizeof err),
            nullptr);
  EXPECT_TRUE(has(err, "array of int32, expected array of float32")) << err;
  EXPECT_EQ(tern_gguf_arr_data(g.get(), "tokenizer.ggml.tokens", TERN_GGUF_STRING, &cnt, err, sizeof err),
            nullptr);
  EXPECT_EQ(tern_gguf_arr_data(g.get(), "test.u8", TERN_GGUF_U8, &cnt, err, sizeof err), nullptr);
  EXPECT_TRUE(has(err, "type uint8, expected array")) << err;
  struct {
    const char *key;
    int type;
    std::vector<uint8_t> bytes;
  } arrs[] = {
      {"arr.u8", TERN_GGUF_U8, {0, 255, 7}},
      {"arr.i8", TERN_GGUF_I8, {0x80, 0x7f}},
      {"arr.u16", TERN_GGUF_U16, {0xff, 0xff}},
      {"arr.i16", TERN_GGUF_I16, {0x00, 0x80, 0x01, 0x00}},
      {"arr.u32", TERN_GGUF_U32, {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
      {"arr.u64", TERN_GGUF_U64, {1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255}},
      {"arr.i64",
       TERN_GGUF_I64,
       {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0x7f}},
      {"arr.f64", TERN_GGUF_F64, {0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x80}},
      {"arr.bool", TERN_GGUF_BOOL, {1, 0, 1}},
      {"arr.empty", TERN_GGUF_F32, {}}};
  for (auto &a : arrs) {
    const uint8_t *d = (const uint8_t *)tern_gguf_arr_data(g.get(), a.key, a.type, &cnt, err, sizeof err);
    ASSERT_NE(d, nullptr) << a.key << ": " << err;
    ASSERT_EQ(cnt * tern_gguf_vtype_size(a.type), a.bytes.size()) << a.key;
    EXPECT_EQ(std::vector<uint8_t>(d, d + a.bytes.size()), a.bytes) << a.key;
  }
  ASSERT_EQ(tern_gguf_get_arr(g.get(), "arr.nostr", &et, &cnt, err, sizeof err), 0);
  EXPECT_EQ(et, TERN_GGUF_STRING);
  EXPECT_EQ(cnt, 0u);
  // every key by index, in the order written
  ASSERT_EQ(tern_gguf_n_kv(g.get()), alignment != 32 ? 27u : 26u);
  const tern_gguf_kv *kv0 = tern_gguf_kv_at(g.get(), alignment != 32 ? 1 : 0);
  EXPECT_EQ(std::string(kv0->key.ptr, kv0->key.len), "general.architecture");
  EXPECT_EQ(tern_gguf_kv_at(g.get(), 99), nullptr);

  // tensors: shapes, data pointers, values
  ASSERT_EQ(tern_gguf_n_tensors(g.get()), 8u);
  const char *names[] = {"f32", "f16", "bf16", "q8_0", "i8", "blk.0.tq1", "blk.0.tq2", "blk.0.i2s"};
  for (size_t i = 0; i < 8; i++) {
    const tern_gguf_tensor *t = tern_gguf_tensor_at(g.get(), i);
    EXPECT_STREQ(t->name, names[i]);
    EXPECT_EQ(tern_gguf_find_tensor(g.get(), names[i]), t);
    EXPECT_EQ(t->offset % alignment, 0u);
    const tern_gguf_tensor *t0 = tern_gguf_tensor_at(g.get(), 0);
    EXPECT_EQ((uint64_t)((const uint8_t *)t->data - (const uint8_t *)t0->data), t->offset - t0->offset);
  }
  const tern_gguf_tensor *t;
  ASSERT_EQ(tern_gguf_get_tensor(g.get(), "f16", &t, err, sizeof err), 0);
  EXPECT_EQ(t->n_dims, 4u);
  EXPECT_EQ(t->ne[0], 8u);
  EXPECT_EQ(t->ne[3], 2u);
  EXPECT_EQ(t->n_elements, 64u);
  EXPECT_EQ(t->type, (uint32_t)TERN_GGML_F16);

  std::vector<float> out;
  auto dec = [&](const char *name) {
    const tern_gguf_tensor *tt = tern_gguf_find_tensor(g.get(), name);
    out.assign(tt->n_elements, 0.0f);
    EXPECT_EQ(tern_gguf_decode_f32(g.get(), tt, out.data(), err, sizeof err), 0) << name << ": " << err;
  };
  dec("f32");
  for (size_t i = 0; i < s.f32v.size(); i++) EXPECT_EQ(f32_bits(out[i]), f32_bits(s.f32v[i])) << i;
  dec("f16");
  for (size_t i = 0; i < s.f16v.size(); i++)
    EXPECT_EQ(f32_bits(out[i]), f32_bits(tern_f16_to_f32(tern_f32_to_f16(s.f16v[i])))) << i;
  dec("bf16");
  for (size_t i = 0; i < s.bf16v.size(); i++)
    EXPECT_EQ(f32_bits(out[i]), f32_bits(tern_bf16_to_f32(tern_f32_to_bf16(s.bf16v[i])))) << i;
  dec("q8_0");
  for (size_t blk = 0; blk < 3; blk++) {  // d and q computed independently of the encoder
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(s.q8v[32 * blk + j]));
    float d = amax / 127.0f, id = 1.0f / d, dh = tern_f16_to_f32(tern_f32_to_f16(d));
    for (int j = 0; j < 32; j++) {
      float q = std::round(s.q8v[32 * blk + j] * id);
      EXPECT_EQ(out[32 * blk + j], q * dh) << blk << " " << j;
      EXPECT_LE(std::fabs(out[32 * blk + j] - s.q8v[32 * blk + j]), d * 0.5f + amax * 1e-3f);
    }
  }
  dec("i8");
  for (size_t i = 0; i < s.i8v.size(); i++) EXPECT_EQ(out[i], (float)s.i8v[i]);

  struct {
    const char *name;
    const std::vector<int8_t> *codes;
    float scale;
  } tern[] = {{"blk.0.tq1", &s.tq1, tern_f16_to_f32(tern_f32_to_f16(s.s_tq1))},
              {"blk.0.tq2", &s.tq2, tern_f16_to_f32(tern_f32_to_f16(s.s_tq2))},
              {"blk.0.i2s", &s.i2s, s.s_i2s}};
  for (auto &c : tern) {
    const tern_gguf_tensor *tt = tern_gguf_find_tensor(g.get(), c.name);
    std::vector<int8_t> codes(tt->n_elements, 9);
    float scale = 0;
    ASSERT_EQ(tern_gguf_decode_ternary(g.get(), tt, codes.data(), &scale, err, sizeof err), 0)
        << c.name << err;
    EXPECT_EQ(codes, *c.codes) << c.name;
    EXPECT_EQ(f32_bits(scale), f32_bits(c.scale)) << c.name;
    // a ternary tensor has no float decoder and vice versa
    std::vector<float> fl(tt->n_elements);
    EXPECT_EQ(tern_gguf_decode_f32(g.get(), tt, fl.data(), err, sizeof err), -1);
    EXPECT_TRUE(has(err, c.name)) << err;
  }
  std::vector<int8_t> codes(64);
  float scale;
  EXPECT_EQ(tern_gguf_decode_ternary(g.get(), tern_gguf_find_tensor(g.get(), "f16"), codes.data(), &scale,
                                     err, sizeof err),
            -1);
  EXPECT_TRUE(has(err, "tensor 'f16': type f16 has no ternary decoder")) << err;
}

TEST(GgufRoundTrip, EveryTypeDefaultAlignment) {
  Sample s = make_sample(1);
  Writer w(tern_gguf_writer_new());
  add_sample(w.get(), s, 32);
  TmpFile f("rt");
  char err[512];
  ASSERT_EQ(tern_gguf_write(w.get(), f.path.c_str(), err, sizeof err), 0) << err;
  check_sample(f.path, s, 32);
  // writing twice gives the same bytes, and no temporary file is left behind
  TmpFile f2("rt2");
  ASSERT_EQ(tern_gguf_write(w.get(), f2.path.c_str(), err, sizeof err), 0) << err;
  EXPECT_EQ(read_all(f.path), read_all(f2.path));
  struct stat st;
  EXPECT_NE(stat((f.path + ".tmp." + std::to_string((long)getpid())).c_str(), &st), 0);
}

TEST(GgufRoundTrip, EveryTypeOtherAlignments) {
  for (uint32_t a : {1u, 8u, 64u, 4096u}) {
    Sample s = make_sample(a);
    Writer w(tern_gguf_writer_new());
    add_sample(w.get(), s, a);
    TmpFile f("align");
    char err[512];
    ASSERT_EQ(tern_gguf_write(w.get(), f.path.c_str(), err, sizeof err), 0) << err;
    check_sample(f.path, s, a);
  }
}

TEST(GgufRoundTrip, TernaryScaleAndZeroBlocks) {
  // all-zero tensors keep a finite scale; a TQ block's d is the scale rounded to fp16
  char err[256];
  std::vector<int8_t> z(512, 0), got(512);
  std::vector<uint8_t> buf(132);
  float scale;
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, z.data(), 512, 0.1f, buf.data(), 132, err, sizeof err),
            0);
  ASSERT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ2_0, buf.data(), 132, 512, got.data(), &scale, "z", err, sizeof err),
      0);
  EXPECT_EQ(scale, tern_f16_to_f32(tern_f32_to_f16(0.1f)));
  EXPECT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, z.data(), 512, 1e6f, buf.data(), 132, err, sizeof err),
            -1);
  EXPECT_TRUE(has(err, "overflows the fp16 block scale")) << err;
  EXPECT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, z.data(), 512, NAN, buf.data(), 132, err, sizeof err),
            -1);
  z[7] = 2;
  EXPECT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, z.data(), 512, 1.0f, buf.data(), 132, err, sizeof err),
            -1);
  EXPECT_TRUE(has(err, "code 2 at element 7")) << err;
  EXPECT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, z.data(), 512, 1.0f, buf.data(), 131, err, sizeof err),
            -1);
  EXPECT_EQ(tern_ggml_from_ternary(TERN_GGML_F16, z.data(), 512, 1.0f, buf.data(), 132, err, sizeof err), -1);
  EXPECT_EQ(tern_ggml_from_f32(TERN_GGML_TQ2_0, nullptr, 256, buf.data(), 66, err, sizeof err), -1);
}

// ---- refusals ---------------------------------------------------------------------------

TEST(GgufErrors, HeaderMagicAndVersion) {
  std::vector<uint8_t> b = small_file();
  b[0] = 'X';
  EXPECT_TRUE(has(refuse(b), "bad magic 'XGUF'"));
  b = small_file();
  b[4] = 1;
  EXPECT_TRUE(has(refuse(b), "GGUF version 1 is not supported"));
  b = small_file();
  b[4] = 0, b[7] = 3;  // 0x03000000: a big-endian version 3
  EXPECT_TRUE(has(refuse(b), "big-endian"));
  b = small_file();
  b[4] = 4;
  EXPECT_TRUE(has(refuse(b), "GGUF version 4 (2 or 3 expected)"));
  b = small_file();
  b[4] = 2;  // version 2: the same layout, read
  TmpFile f("v2");
  write_all(f.path, b);
  Gguf g = open_ok(f.path);
  ASSERT_TRUE(g);
  EXPECT_EQ(tern_gguf_version(g.get()), 2u);
  EXPECT_TRUE(has(refuse({}), "shorter than the 24-byte GGUF header"));
  char err[256] = "";
  EXPECT_EQ(tern_gguf_open("/nonexistent/x.gguf", err, sizeof err), nullptr);
  EXPECT_TRUE(has(err, "/nonexistent/x.gguf: cannot open")) << err;
  EXPECT_EQ(tern_gguf_open(tmp_dir().c_str(), err, sizeof err), nullptr);
  EXPECT_TRUE(has(err, "not a regular file")) << err;
}

TEST(GgufErrors, TruncatedAtEveryOffset) {
  std::vector<uint8_t> full = small_file();  // data ends at 160 + 32 + 66 = 258
  const size_t end = 258;
  for (size_t n = 0; n < full.size(); n++) {
    std::vector<uint8_t> b(full.begin(), full.begin() + (long)n);
    TmpFile f("trunc");
    write_all(f.path, b);
    char err[512] = "";
    tern_gguf *g = tern_gguf_open(f.path.c_str(), err, sizeof err);
    if (n >= end) {
      EXPECT_NE(g, nullptr) << n << ": " << err;
    } else {
      EXPECT_EQ(g, nullptr) << n;
      EXPECT_GT(strlen(err), 0u) << n;
      EXPECT_NE(strstr(err, f.path.c_str()), nullptr) << err;
    }
    tern_gguf_close(g);
  }
  // the same for the writer's sample: every cut before the end of the last tensor is refused
  std::vector<uint8_t> s = sample_bytes(3, 32);
  TmpFile f("sample_full");
  write_all(f.path, s);
  Gguf g = open_ok(f.path);
  ASSERT_TRUE(g);
  uint64_t last_end = 0;
  for (size_t i = 0; i < tern_gguf_n_tensors(g.get()); i++) {
    const tern_gguf_tensor *t = tern_gguf_tensor_at(g.get(), i);
    last_end = std::max(last_end, tern_gguf_data_offset(g.get()) + t->offset + t->nbytes);
  }
  for (size_t n = 0; n < s.size(); n += 1) {
    std::vector<uint8_t> b(s.begin(), s.begin() + (long)n);
    TmpFile tf("trunc2");
    write_all(tf.path, b);
    char err[512] = "";
    tern_gguf *h = tern_gguf_open(tf.path.c_str(), err, sizeof err);
    EXPECT_EQ(h != nullptr, n >= last_end) << n << ": " << err;
    if (!h) {
      EXPECT_GT(strlen(err), 0u);
    }
    tern_gguf_close(h);
  }
}

TEST(GgufErrors, HugeCountsAndLengths) {
  Bytes x;
  x.header(1ull << 60, 0);
  x.b.resize(200, 0);
  EXPECT_TRUE(has(refuse(x.b), "tensor count 1152921504606846976 cannot fit in the 176 bytes"));
  Bytes y;
  y.header(0, 1ull << 60);
  y.b.resize(100, 0);
  EXPECT_TRUE(has(refuse(y.b), "key/value count 1152921504606846976 cannot fit"));
  Bytes z;
  z.header(0, 1).u64(1ull << 62).raw({'a', 'b', 'c', 'd'});
  z.b.resize(64, 0);
  EXPECT_TRUE(
      has(refuse(z.b), "key of 4611686018427387904 bytes at byte offset 32 exceeds the 32 bytes left"));
  Bytes v;  // a string value 2^62 bytes long
  v.header(0, 1).str("k").u32(8).u64(1ull << 62);
  v.b.resize(80, 0);
  EXPECT_TRUE(has(refuse(v.b), "key 'k': string value of 4611686018427387904 bytes"));
  Bytes a;  // an array of 2^61 uint64
  a.header(0, 1).str("k").u32(9).u32(10).u64(1ull << 61);
  a.b.resize(80, 0);
  EXPECT_TRUE(has(refuse(a.b), "key 'k': array of 2305843009213693952 uint64 values"));
  Bytes s;  // an array of 2^61 strings
  s.header(0, 1).str("k").u32(9).u32(8).u64(1ull << 61);
  s.b.resize(80, 0);
  EXPECT_TRUE(has(refuse(s.b), "array of 2305843009213693952 strings cannot fit"));
  Bytes t;  // a tensor name 2^62 long
  t.header(1, 0).u64(1ull << 62);
  t.b.resize(80, 0);
  EXPECT_TRUE(has(refuse(t.b), "tensor 0: name of 4611686018427387904 bytes"));
}

std::vector<uint8_t> one_tensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes,
                                uint32_t n_dims_override = 0) {
  Bytes x;
  x.header(1, 0);
  x.str("w").u32(n_dims_override ? n_dims_override : (uint32_t)ne.size());
  for (uint64_t v : ne) x.u64(v);
  x.u32(type).u64(offset).pad(32);
  x.b.resize(x.b.size() + data_bytes, 0);
  return x.b;
}

TEST(GgufErrors, TensorInfos) {
  EXPECT_TRUE(
      has(refuse(one_tensor({4}, 0, 16, 64)), "tensor 'w': offset 16 is not a multiple of the alignment 32"));
  EXPECT_TRUE(
      has(refuse(one_tensor({4}, 100, 0, 64)), "tensor 'w': ggml type 100 (not a ggml type tern knows)"));
  EXPECT_TRUE(has(refuse(one_tensor({32}, 39, 0, 64)), "ambiguous"));
  EXPECT_TRUE(has(refuse(one_tensor({4}, 0, 0, 15)),
                  "tensor 'w': offset 0 + 16 bytes exceeds the data section (15 bytes)"));
  EXPECT_TRUE(has(refuse(one_tensor({4}, 0, 1ull << 63, 64)), "exceeds the data section (64 bytes)"));
  // an offset + size that wraps around 2^64 is still outside
  EXPECT_TRUE(has(refuse(one_tensor({16}, 0, 0xffffffffffffffe0ull, 64)),
                  "offset 18446744073709551584 + 64 bytes exceeds the data section (64 bytes)"));
  EXPECT_TRUE(has(refuse(one_tensor({}, 0, 0, 64)), "n_dims 0 (1..4 expected)"));
  EXPECT_TRUE(has(refuse(one_tensor({1, 1, 1, 1, 1}, 0, 0, 64)), "n_dims 5 (1..4 expected)"));
  EXPECT_TRUE(has(refuse(one_tensor({4, 0}, 0, 0, 64)), "ne[1] = 0 (1..9223372036854775807 expected)"));
  EXPECT_TRUE(has(refuse(one_tensor({1ull << 32, 1ull << 32}, 0, 0, 64)), "element count"));
  EXPECT_TRUE(has(refuse(one_tensor({1ull << 61}, 28, 0, 64)), "byte size overflows"));
  EXPECT_TRUE(has(refuse(one_tensor({100}, 35, 0, 4096)),
                  "ne[0] = 100 is not a multiple of the 256-element block of type tq2_0"));
  EXPECT_TRUE(has(refuse(one_tensor({6}, 36, 0, 64)),
                  "6 elements of type i2_s: not a multiple of its 4-element block"));
  // the example of the brief
  EXPECT_TRUE(has(refuse(one_tensor({1000}, 0, 32, 3000)),
                  "offset 32 + 4000 bytes exceeds the data section (3000 bytes)"));
  Bytes d;  // duplicate tensor names
  d.header(2, 0).tinfo("blk.0.attn_q.weight", {4}, 0, 0).tinfo("blk.0.attn_q.weight", {4}, 0, 32).pad(32);
  d.b.resize(d.b.size() + 64, 0);
  EXPECT_TRUE(has(refuse(d.b), "tensor 'blk.0.attn_q.weight' appears twice (tensor 0 and tensor 1)"));
  Bytes o;  // overlapping tensors
  o.header(2, 0).tinfo("a", {16}, 0, 0).tinfo("b", {4}, 0, 32).pad(32);
  o.b.resize(o.b.size() + 128, 0);
  EXPECT_TRUE(has(refuse(o.b), "tensors 'a' (offset 0, 64 bytes) and 'b' (offset 32) overlap"));
  Bytes e;  // empty and overlong names, NUL in a name
  e.header(1, 0).tinfo("", {4}, 0, 0).pad(32);
  e.b.resize(e.b.size() + 64, 0);
  EXPECT_TRUE(has(refuse(e.b), "tensor 0 has an empty name"));
  Bytes l;
  l.header(1, 0).tinfo(std::string(64, 'n'), {4}, 0, 0).pad(32);
  l.b.resize(l.b.size() + 64, 0);
  EXPECT_TRUE(has(refuse(l.b), "is 64 bytes long (at most 63"));
  Bytes z;
  z.header(1, 0).tinfo(std::string("a\0b", 3), {4}, 0, 0).pad(32);
  z.b.resize(z.b.size() + 64, 0);
  EXPECT_TRUE(has(refuse(z.b), "contains a NUL byte"));
  // the data section must start inside the file when there are tensors
  Bytes p;
  p.header(1, 0).tinfo("w", {4}, 0, 0);
  EXPECT_TRUE(has(refuse(p.b), "past the end of the file"));
}

TEST(GgufErrors, KeyValues) {
  Bytes d;  // duplicate keys
  d.header(0, 2).kv_u32("llama.block_count", 3).kv_u32("llama.block_count", 4);
  EXPECT_TRUE(has(refuse(d.b), "key 'llama.block_count' appears twice (key 0 and key 1)"));
  Bytes n;  // nested array
  n.header(0, 1).str("k").u32(9).u32(9).u64(1).u32(4).u64(1).u32(7);
  EXPECT_TRUE(has(refuse(n.b), "key 'k': array of arrays"));
  Bytes t;  // unknown value type
  t.header(0, 1).str("k").u32(13).u64(0);
  EXPECT_TRUE(has(refuse(t.b), "key 'k': value type 13 (0..12 expected)"));
  Bytes at;  // unknown array element type
  at.header(0, 1).str("k").u32(9).u32(77).u64(0);
  EXPECT_TRUE(has(refuse(at.b), "key 'k': array element type 77"));
  Bytes b;  // bool other than 0 / 1
  b.header(0, 1).str("k").u32(7).u8(2);
  b.b.resize(40, 0);
  EXPECT_TRUE(has(refuse(b.b), "key 'k': bool value 2"));
  Bytes ab;
  ab.header(0, 1).str("k").u32(9).u32(7).u64(3).u8(1).u8(0).u8(5);
  EXPECT_TRUE(has(refuse(ab.b), "bool value 5 at byte offset"));
  Bytes e;  // empty key
  e.header(0, 1).str("").u32(4).u32(1);
  e.b.resize(40, 0);
  EXPECT_TRUE(has(refuse(e.b), "key 0 is empty"));
  Bytes z;
  z.header(0, 1).str(std::string("a\0b", 3)).u32(4).u32(1);
  EXPECT_TRUE(has(refuse(z.b), "contains a NUL byte"));
  Bytes al;  // alignment: a power of two, uint32
  al.header(0, 1).kv_u32("general.alignment", 24);
  EXPECT_TRUE(has(refuse(al.b), "key 'general.alignment': 24 is not a power of two"));
  Bytes a0;
  a0.header(0, 1).kv_u32("general.alignment", 0);
  EXPECT_TRUE(has(refuse(a0.b), "0 is not a power of two"));
  Bytes a64;
  a64.header(0, 1).str("general.alignment").u32(10).u64(32);
  EXPECT_TRUE(has(refuse(a64.b), "key 'general.alignment': type uint64, expected uint32"));
  // alignment 64 applies to offsets and the data section
  Bytes ok;
  ok.header(1, 1).kv_u32("general.alignment", 64).tinfo("w", {4}, 0, 32).pad(64);
  ok.b.resize(ok.b.size() + 128, 0);
  EXPECT_TRUE(has(refuse(ok.b), "offset 32 is not a multiple of the alignment 64"));
  // keys with unprintable bytes are shown safely
  Bytes u;
  u.header(0, 2).kv_u32(std::string("k\x01\xff", 3), 1).kv_u32(std::string("k\x01\xff", 3), 1);
  EXPECT_TRUE(has(refuse(u.b),
                  "key 'k?"
                  "?' appears twice"));
}

TEST(GgufErrors, TernaryScalesAndCodes) {
  char err[512];
  std::vector<int8_t> codes(768, 0);
  for (int i = 0; i < 768; i += 3) codes[i] = 1;
  for (int i = 256; i < 512; i++) codes[i] = 0;  // block 1 all zero
  std::vector<uint8_t> b(198);
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ2_0, codes.data(), 768, 0.25f, b.data(), 198, err, sizeof err),
            0);
  // an all-zero block may carry any d
  b[66 + 64] = 0x12, b[66 + 65] = 0x7c;  // even a NaN
  uint64_t ne[] = {256, 3};
  Writer w(tern_gguf_writer_new());
  ASSERT_EQ(tern_gguf_add_tensor(w.get(), "blk.3.ffn_up.weight", TERN_GGML_TQ2_0, 2, ne, b.data(), 198, err,
                                 sizeof err),
            0);
  b[2 * 66 + 64] = 0x00, b[2 * 66 + 65] = 0x35;  // block 2: d 0.3125 instead of 0.25 (0x3400)
  ASSERT_EQ(tern_gguf_add_tensor(w.get(), "blk.4.ffn_up.weight", TERN_GGML_TQ2_0, 2, ne, b.data(), 198, err,
                                 sizeof err),
            0);
  TmpFile f("scales");
  ASSERT_EQ(tern_gguf_write(w.get(), f.path.c_str(), err, sizeof err), 0) << err;
  Gguf g = open_ok(f.path);
  ASSERT_TRUE(g);
  std::vector<int8_t> out(768);
  float scale = 0;
  ASSERT_EQ(tern_gguf_decode_ternary(g.get(), tern_gguf_find_tensor(g.get(), "blk.3.ffn_up.weight"),
                                     out.data(), &scale, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(scale, 0.25f);
  EXPECT_EQ(out, codes);
  EXPECT_EQ(tern_gguf_decode_ternary(g.get(), tern_gguf_find_tensor(g.get(), "blk.4.ffn_up.weight"),
                                     out.data(), &scale, err, sizeof err),
            -1);
  std::string e = err;
  EXPECT_TRUE(has(e, f.path.c_str())) << e;
  EXPECT_TRUE(
      has(e,
          "tensor 'blk.4.ffn_up.weight': TQ2_0 block 2 has scale d 0.3125 (fp16 0x3500) but block 0 has "
          "0.25 (0x3400): tern needs one scale per matrix"))
      << e;
  // TQ1_0: the same rule
  std::vector<uint8_t> t1(108);
  std::vector<int8_t> c1(512, 1);
  ASSERT_EQ(tern_ggml_from_ternary(TERN_GGML_TQ1_0, c1.data(), 512, 2.0f, t1.data(), 108, err, sizeof err),
            0);
  t1[54 + 52] = 0x00, t1[54 + 53] = 0x3c;  // block 1: 1.0
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ1_0, t1.data(), 108, 512, out.data(), &scale, "x", err, sizeof err),
      -1);
  EXPECT_TRUE(has(err, "TQ1_0 block 1 has scale d 1 (fp16 0x3c00) but block 0 has 2 (0x4000)")) << err;
  // a non-finite d on a block that is not all zero
  t1[54 + 52] = 0x00, t1[54 + 53] = 0x7c;
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ1_0, t1.data(), 108, 512, out.data(), &scale, "x", err, sizeof err),
      -1);
  EXPECT_TRUE(has(err, "TQ1_0 block 1 has a non-finite scale d (fp16 0x7c00)")) << err;
  // TQ2_0 code 3
  b[2 * 66 + 64] = 0x00, b[2 * 66 + 65] = 0x34;
  b[66 * 2 + 10] = 0xc0;  // bits 6-7 of qs[10] in block 2: element 512 + 96 + 10
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_TQ2_0, b.data(), 198, 768, out.data(), &scale, "x", err, sizeof err),
      -1);
  EXPECT_TRUE(has(err, "TQ2_0 block 2 holds code 3 at element 618")) << err;
  // I2_S scale must be finite
  std::vector<uint8_t> i2(64, 0x55);
  i2[32] = 0, i2[33] = 0, i2[34] = 0xc0, i2[35] = 0x7f;
  EXPECT_EQ(
      tern_ggml_to_ternary(TERN_GGML_I2_S, i2.data(), 64, 128, out.data(), &scale, "x", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "I2_S scale nan is not finite")) << err;
}

TEST(GgufErrors, Writer) {
  char err[512];
  Writer w(tern_gguf_writer_new());
  ASSERT_EQ(tern_gguf_add_u32(w.get(), "a.b", 1, err, sizeof err), 0);
  EXPECT_EQ(tern_gguf_add_u32(w.get(), "a.b", 2, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "key 'a.b' is already set")) << err;
  EXPECT_EQ(tern_gguf_add_u32(w.get(), "", 2, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_add_u64(w.get(), "general.alignment", 32, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "must be a uint32")) << err;
  EXPECT_EQ(tern_gguf_add_u32(w.get(), "general.alignment", 48, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "48 is not a power of two")) << err;
  uint8_t two = 2;
  EXPECT_EQ(tern_gguf_add_scalar(w.get(), "x", TERN_GGUF_BOOL, &two, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_add_scalar(w.get(), "x", TERN_GGUF_STRING, &two, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_add_arr(w.get(), "x", TERN_GGUF_ARRAY, &two, 1, err, sizeof err), -1);
  uint64_t ne[] = {4};
  float v[4] = {0};
  EXPECT_EQ(tern_gguf_add_tensor(w.get(), std::string(64, 'x').c_str(), 0, 1, ne, v, 16, err, sizeof err),
            -1);
  EXPECT_TRUE(has(err, "at most 63")) << err;
  EXPECT_EQ(tern_gguf_add_tensor(w.get(), "w", 0, 1, ne, v, 12, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "12 bytes of data, 4 elements of type f32 take 16")) << err;
  EXPECT_EQ(tern_gguf_add_tensor(w.get(), "w", 0, 0, ne, v, 16, err, sizeof err), -1);
  EXPECT_EQ(tern_gguf_add_tensor(w.get(), "w", 38, 1, ne, v, 16, err, sizeof err), -1);
  ASSERT_EQ(tern_gguf_add_tensor(w.get(), "w", 0, 1, ne, v, 16, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_gguf_add_tensor(w.get(), "w", 0, 1, ne, v, 16, err, sizeof err), -1);
  EXPECT_TRUE(has(err, "tensor 'w' is already added")) << err;
  EXPECT_EQ(tern_gguf_add_tensor_f32(w.get(), "t", TERN_GGML_TQ2_0, 1, ne, v, err, sizeof err), -1);
  std::vector<int8_t> c(128, 0);
  uint64_t ne128[] = {128};
  EXPECT_EQ(
      tern_gguf_add_tensor_ternary(w.get(), "t", TERN_GGML_Q8_0, 1, ne128, c.data(), 1.0f, err, sizeof err),
      -1);
  // I/O errors name the file
  EXPECT_EQ(tern_gguf_write(w.get(), "/nonexistent/dir/out.gguf", err, sizeof err), -1);
  EXPECT_TRUE(has(err, "/nonexistent/dir/out.gguf: cannot create")) << err;
  std::string dir = tmp_dir() + "/tern_gguf_dir_" + std::to_string((long)getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  EXPECT_EQ(tern_gguf_write(w.get(), dir.c_str(), err, sizeof err), -1);  // rename onto a directory
  EXPECT_TRUE(has(err, "cannot rename")) << err;
  struct stat st;
  EXPECT_NE(stat((dir + ".tmp." + std::to_string((long)getpid())).c_str(), &st), 0);  // temporary removed
  rmdir(dir.c_str());
}

// ---- fuzz ---------------------------------------------------------------------------

std::vector<uint8_t> mutate(std::mt19937_64 &g, std::vector<uint8_t> d) {
  int nmut = 1 + (int)(g() % 4);
  for (int m = 0; m < nmut; m++) {
    switch (g() % 7) {
      case 0:  // bit flip
        if (!d.empty()) d[g() % d.size()] ^= (uint8_t)(1u << (g() % 8));
        break;
      case 1:  // truncate
        if (!d.empty()) d.resize(g() % d.size());
        break;
      case 2: {  // insert random bytes
        size_t at = d.empty() ? 0 : g() % (d.size() + 1);
        size_t k = 1 + g() % 16;
        std::vector<uint8_t> ins(k);
        for (auto &b : ins) b = (uint8_t)g();
        d.insert(d.begin() + (long)at, ins.begin(), ins.end());
        break;
      }
      case 3:  // overwrite a byte with 0x00, 0xff or a random value
        if (!d.empty()) {
          uint8_t v = g() % 3 == 0 ? 0x00 : g() % 2 ? 0xff : (uint8_t)g();
          d[g() % d.size()] = v;
        }
        break;
      case 4:  // overwrite a 64-bit field (a count, length or offset) with a hostile value
        if (d.size() >= 8) {
          static const uint64_t vals[] = {
              0, 1, 0xffffffffffffffffull, 1ull << 62, 1ull << 32, 0x7fffffffffffffffull, 255};
          uint64_t v = g() % 2 ? vals[g() % 7] : g() % 4096;
          size_t at = g() % (d.size() - 7);
          for (int i = 0; i < 8; i++) d[at + i] = (uint8_t)(v >> (8 * i));
        }
        break;
      case 5:  // overwrite a 32-bit field (a type, n_dims, alignment)
        if (d.size() >= 4) {
          uint32_t v = g() % 2 ? (uint32_t)(g() % 40) : (uint32_t)g();
          size_t at = g() % (d.size() - 3);
          for (int i = 0; i < 4; i++) d[at + i] = (uint8_t)(v >> (8 * i));
        }
        break;
      default:  // duplicate a chunk
        if (!d.empty()) {
          size_t a = g() % d.size(), k = 1 + g() % std::min<size_t>(64, d.size() - a);
          std::vector<uint8_t> chunk(d.begin() + (long)a, d.begin() + (long)(a + k));
          size_t at = g() % (d.size() + 1);
          d.insert(d.begin() + (long)at, chunk.begin(), chunk.end());
        }
        break;
    }
  }
  return d;
}

struct FuzzStats {
  long inputs = 0, opened = 0, decoded = 0, refused_decodes = 0;
};

// Opens one input; on success touches every key and decodes every tensor.
void fuzz_one(const std::vector<uint8_t> &in, const std::string &path, FuzzStats &st) {
  st.inputs++;
  FILE *f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!in.empty()) {
    ASSERT_EQ(fwrite(in.data(), 1, in.size(), f), in.size());
  }
  ASSERT_EQ(fclose(f), 0);
  char err[512];
  err[0] = 0;
  Gguf g(tern_gguf_open(path.c_str(), err, sizeof err));
  if (!g) {
    ASSERT_GT(strlen(err), 0u);
    ASSERT_NE(strstr(err, path.c_str()), nullptr) << err;
    return;
  }
  st.opened++;
  uint64_t sum = 0;
  for (size_t i = 0; i < tern_gguf_n_kv(g.get()); i++) {
    const tern_gguf_kv *kv = tern_gguf_kv_at(g.get(), i);
    std::string key(kv->key.ptr, kv->key.len);
    for (uint64_t j = 0; j < kv->nbytes; j++) sum += kv->data[j];
    if (kv->type == TERN_GGUF_ARRAY && kv->elem_type == TERN_GGUF_STRING) {
      for (uint64_t j = 0; j < kv->count; j++) {
        tern_gguf_str s;
        ASSERT_EQ(tern_gguf_arr_str(g.get(), key.c_str(), j, &s, err, sizeof err), 0) << err;
        for (size_t k = 0; k < s.len; k++) sum += (uint8_t)s.ptr[k];
      }
    }
    uint32_t u32;
    int rc = tern_gguf_get_u32(g.get(), key.c_str(), &u32, err, sizeof err);
    if (rc) {
      ASSERT_GT(strlen(err), 0u);
    }
  }
  for (size_t i = 0; i < tern_gguf_n_tensors(g.get()); i++) {
    const tern_gguf_tensor *t = tern_gguf_tensor_at(g.get(), i);
    ASSERT_LE(t->nbytes, tern_gguf_file_size(g.get()));
    std::vector<float> fl(t->n_elements);
    std::vector<int8_t> codes(t->n_elements);
    float scale;
    err[0] = 0;
    int rf = tern_gguf_decode_f32(g.get(), t, fl.data(), err, sizeof err);
    ASSERT_TRUE(rf == 0 || (rf == -1 && strlen(err) > 0)) << rf;
    err[0] = 0;
    int rt = tern_gguf_decode_ternary(g.get(), t, codes.data(), &scale, err, sizeof err);
    ASSERT_TRUE(rt == 0 || (rt == -1 && strlen(err) > 0)) << rt;
    if (rt == 0) {
      for (int8_t c : codes) ASSERT_TRUE(c >= -1 && c <= 1);
      ASSERT_TRUE(std::isfinite(scale));
    }
    st.decoded += (rf == 0) + (rt == 0);
    st.refused_decodes += (rf != 0) + (rt != 0);
  }
  (void)sum;
}

TEST(GgufFuzz, MutatedFiles) {
  std::vector<std::vector<uint8_t>> seeds = {sample_bytes(11, 32), sample_bytes(12, 8), small_file()};
  tern_test::FuzzCase fc(0x6775f00dull, 700, 70000, "mutants per seed file");
  std::string path = tmp_path("fuzz");
  FuzzStats st;
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    for (const auto &part : c.parts) {
      SCOPED_TRACE(c.dir + "/" + part.first);
      fuzz_one(std::vector<uint8_t>(part.second.begin(), part.second.end()), path, st);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  st = FuzzStats();
  std::mt19937_64 g(fc.seed());
  long n = 0;
  for (size_t s = 0; s < seeds.size(); s++) {
    for (long it = 0; it < fc.count(); it++, n++) {
      std::vector<uint8_t> m = it == 0 ? seeds[s] : mutate(g, seeds[s]);
      fc.Input(n, {tern_test::Bytes("input.gguf", m)});
      fuzz_one(m, path, st);
      if (fc.Failed("seed file " + std::to_string(s) + " mutant " + std::to_string(it))) {
        remove(path.c_str());
        return;
      }
    }
  }
  remove(path.c_str());
  printf("gguf fuzz: %ld inputs, %ld opened, %ld tensor decodes succeeded, %ld refused cleanly\n", st.inputs,
         st.opened, st.decoded, st.refused_decodes);
  EXPECT_GT(st.opened, st.inputs / 20);  // the mutations must not only produce unreadable files
}

}  // namespace
