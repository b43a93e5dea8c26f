// Shared GoogleTest helpers for the model description tests of both model
// families (transformer: tests/test_tfm.cc, tests/tfm_fixtures.h; recurrent:
// tests/test_rnn.cc).  One template serves both: the family's C API is
// reached through the overloads below.  Header-only.
#ifndef TERN_TESTS_MODEL_FIXTURES_H
#define TERN_TESTS_MODEL_FIXTURES_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tern/rnn.h"
#include "tern/tfm.h"

#include "fuzz_seed.h"

namespace tern_test {

// ---- the family's C API under one name ------------------------------------------

inline int ParseString(const char *t, const char *w, tern_tfm_config *c, char *e, size_t n) {
  return tern_tfm_parse_string(t, w, c, e, n);
}
inline int ParseString(const char *t, const char *w, tern_rnn_config *c, char *e, size_t n) {
  return tern_rnn_parse_string(t, w, c, e, n);
}
inline int PrintString(char *b, size_t n, const tern_tfm_config *c) {
  return tern_tfm_print_string(b, n, c);
}
inline int PrintString(char *b, size_t n, const tern_rnn_config *c) {
  return tern_rnn_print_string(b, n, c);
}
inline int Check(const tern_tfm_config *c, const char *w, char *e, size_t n) {
  return tern_tfm_check(c, w, e, n);
}
inline int Check(const tern_rnn_config *c, const char *w, char *e, size_t n) {
  return tern_rnn_check(c, w, e, n);
}
inline int Preset(const char *name, tern_tfm_config *c, char *e, size_t n) {
  return tern_tfm_preset(name, c, e, n);
}
inline int Preset(const char *name, tern_rnn_config *c, char *e, size_t n) {
  return tern_rnn_preset(name, c, e, n);
}

// ---- description helpers ----------------------------------------------------------

// The printed description (tern_*_print_string), checked to fit.
template <class Cfg>
std::string PrintCfg(const Cfg &c) {
  char buf[2048];
  int n = PrintString(buf, sizeof buf, &c);
  EXPECT_GT(n, 0);
  EXPECT_LT(n, (int)sizeof buf);
  return std::string(buf);
}

// A built-in preset, which must parse.
template <class Cfg>
Cfg PresetOf(const char *name) {
  Cfg c;
  char err[512];
  EXPECT_EQ(Preset(name, &c, err, sizeof err), 0) << err;
  return c;
}

// text (named "test"), which must parse.
template <class Cfg>
Cfg ParseOk(const std::string &text) {
  Cfg c;
  char err[512];
  EXPECT_EQ(ParseString(text.c_str(), "test", &c, err, sizeof err), 0) << err << "\n" << text;
  return c;
}

// text (named "test"), which must be refused with a message: the message.
template <class Cfg>
std::string ParseErr(const std::string &text) {
  Cfg c;
  char err[512] = "";
  int rc = ParseString(text.c_str(), "test", &c, err, sizeof err);
  EXPECT_NE(rc, 0) << "accepted:\n" << text;
  EXPECT_NE(err[0], 0);
  return std::string(err);
}

// Replaces the line starting with "key =" by "key = value" (or appends it).
inline std::string WithField(std::string text, const std::string &key, const std::string &value) {
  std::string pat = "\n" + key + " =";
  size_t p = text.find(pat);
  std::string line = key + " = " + value + "\n";
  if (p == std::string::npos) return text + line;
  size_t e = text.find('\n', p + 1);
  return text.substr(0, p + 1) + line + text.substr(e + 1);
}

// ---- parser fuzzing (tests/test_parsers_fuzz.cc pattern) ------------------------------

// splitmix64 draws in [0, n)
struct FuzzRng {
  uint64_t s;
  uint64_t operator()(uint64_t n) {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) % n;
  }
};

// 1..4 mutations: a byte changed, inserted or erased, a token inserted, the
// text cut, a line duplicated.
inline void Mutate(std::string &t, FuzzRng &rnd, const std::vector<const char *> &tokens) {
  int nm = 1 + (int)rnd(4);
  for (int k = 0; k < nm; k++) {
    size_t pos = t.empty() ? 0 : rnd(t.size() + 1);
    switch (rnd(6)) {
      case 0: if (!t.empty() && pos < t.size()) t[pos] = (char)rnd(256); break;
      case 1: t.insert(pos, 1, (char)(1 + rnd(255))); break;
      case 2: if (pos < t.size()) t.erase(pos, 1 + rnd(8)); break;
      case 3: t.insert(pos, tokens[rnd(tokens.size())]); break;
      case 4: t = t.substr(0, pos); break;
      case 5: {  // duplicate a line
        size_t a = t.rfind('\n', pos ? pos - 1 : 0), b = t.find('\n', pos);
        a = a == std::string::npos ? 0 : a + 1;
        if (b != std::string::npos) t.insert(a, t.substr(a, b - a + 1));
        break;
      }
    }
  }
}

// One text through the parser: refused with -1 and a message naming the
// input ("fuzz"), or accepted (returns 1): then it passes the checks and
// round-trips through the printer (same text, same bytes).  (Strings with NUL
// are cut by the C API: the C-string prefix is parsed.)
template <class Cfg>
int FuzzParseOne(const std::string &t) {
  Cfg c;
  char err[512];
  err[0] = 0;
  int rc = ParseString(t.c_str(), "fuzz", &c, err, sizeof err);
  if (rc != 0) {
    EXPECT_EQ(rc, -1);
    EXPECT_NE(err[0], 0) << "error without a message for:\n" << t;
    EXPECT_EQ(strncmp(err, "fuzz", 4), 0) << err;
    return 0;
  }
  EXPECT_EQ(Check(&c, "fuzz", err, sizeof err), 0) << err;
  std::string text = PrintCfg(c);
  Cfg back;
  EXPECT_EQ(ParseString(text.c_str(), "print", &back, err, sizeof err), 0) << err << "\n" << text;
  EXPECT_EQ(memcmp(&c, &back, sizeof c), 0) << text;
  EXPECT_EQ(PrintCfg(back), text);
  return 1;
}

// Seeded mutations of seeds through FuzzParseOne: never crashes, and both
// outcomes must occur.  Seeds, counts, reproducers and the regression cases
// of tests/regress/<test>/ (replayed first): tests/fuzz_seed.h.
template <class Cfg>
void FuzzParser(const std::vector<std::string> &seeds, const std::vector<const char *> &tokens,
                uint64_t fixed_seed, int iters, int long_iters) {
  ASSERT_FALSE(seeds.empty());
  FuzzCase fc(fixed_seed, iters, long_iters);
  for (const RegressCase &rc : fc.Regressions()) {
    SCOPED_TRACE(rc.dir);
    for (const auto &part : rc.parts) FuzzParseOne<Cfg>(part.second);
  }
  FuzzRng rnd{fc.seed()};
  int accepted = 0;
  const int n = (int)fc.count();
  for (int it = 0; it < n; it++) {
    std::string t = seeds[rnd(seeds.size())];
    Mutate(t, rnd, tokens);
    fc.Input(it, {Bytes("model.tern", t)});
    accepted += FuzzParseOne<Cfg>(t);
    if (fc.Failed()) return;
  }
  EXPECT_GT(accepted, n / 50);  // the mutations still leave many valid inputs
  EXPECT_LT(accepted, n);       // and are not all harmless
}

}  // namespace tern_test

#endif
