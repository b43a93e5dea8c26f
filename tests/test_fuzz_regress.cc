// Regression inputs of the coverage-guided fuzzers (fuzz/, docs/FUZZING.md):
// every input a harness found a bug with is kept in fuzz/regress/<harness>/
// and replayed here through the same library call, with the outcome the fix
// gives (refused, and the message says why).  Without the fix these fail in
// the normal build (the input was accepted, or the message differs) and
// abort under ASan/UBSan (make sanitize, and make test's sanitizer subset).
// `build/fuzz/bin/<harness> fuzz/regress/<harness>/*` replays them in the
// harness itself.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tern/ckpt.h"
#include "tern/synth.h"
#include "tern/tfm.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

std::vector<char> ReadAll(const std::string &path) {
  std::vector<char> d;
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return d;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) d.insert(d.end(), buf, buf + n);
  fclose(f);
  return d;
}

std::string Regress(const char *harness, const char *name) {
  return std::string(TERN_ROOT) + "/fuzz/regress/" + harness + "/" + name;
}

// The input under a name the reader accepts (the loaders pick the format by
// the file name's extension), in $TMPDIR.
std::string Staged(const std::string &src, const char *ext) {
  const char *t = getenv("TMPDIR");
  std::string dst = std::string(t && *t ? t : "/tmp") + "/tern_fuzz_regress_" +
                    std::to_string((long)getpid()) + ext;
  std::vector<char> d = ReadAll(src);
  EXPECT_FALSE(d.empty()) << src;
  FILE *f = fopen(dst.c_str(), "wb");
  EXPECT_NE(f, nullptr) << dst;
  if (f) {
    if (!d.empty()) fwrite(d.data(), 1, d.size(), f);
    fclose(f);
  }
  return dst;
}

}  // namespace

// fuzz_ckpt_gguf: an F32 linear whose first elements make it inexact (so it
// is ternarised at import) and a NaN after them.  The finiteness check ran
// only up to the first inexact element, so the NaN reached tern_ternarize
// (UB: NaN converted to int).  Now every element is checked first.
TEST(FuzzRegress, CkptGgufNanAfterInexactFloatLinear) {
  std::string p = Staged(Regress("fuzz_ckpt_gguf", "nan-after-inexact-f32-linear.gguf"), ".gguf");
  tern_tfm_model m;
  char err[1024] = "";
  EXPECT_EQ(tern_tfm_ckpt_load(p.c_str(), &m, nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("is not finite"), std::string::npos) << err;
  remove(p.c_str());
}

// fuzz_json: a synthesis result (the sweep's synthesis cache) with
// "psum_bits": 1e308 and a real LUT count.  tern_synth_read_json converted
// every number to int / uint64_t unchecked (UB for 1e308); now an integer
// field must be a JSON integer in its range, and the message names it.
TEST(FuzzRegress, SynthJsonNumbersOutOfRange) {
  std::string path = Regress("fuzz_json", "synth-psum-bits-1e308.json");
  tern_synth_result r;
  char err[1024] = "";
  EXPECT_EQ(tern_synth_read_json(path.c_str(), &r, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("hw.psum_bits: expected an integer in"), std::string::npos) << err;
  // the same file with psum_bits fixed: the real "carries" is refused next
  std::vector<char> d = ReadAll(path);
  std::string t(d.begin(), d.end());
  t.replace(t.find("1e308"), 5, "12");
  std::string p2 = Staged(path, ".json");
  FILE *f = fopen(p2.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  fwrite(t.data(), 1, t.size(), f);
  fclose(f);
  EXPECT_EQ(tern_synth_read_json(p2.c_str(), &r, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("unit.array.carries: expected an integer in 0.."), std::string::npos) << err;
  remove(p2.c_str());
}
