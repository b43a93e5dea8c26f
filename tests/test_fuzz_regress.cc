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
