// Fuzz targets for the three parsers (tern_asm_text, tern_program_read,
// tern_words_decode): seeded mutation (bit flips, truncation, insertion,
// duplication, byte overwrite) of the corpus in tests/corpus/.  Every input
// must either parse (and then round-trip) or fail with -1 and a non-empty
// message; never crash.  A few thousand iterations normally, 100x more with
// TERN_FUZZ_LONG set, fresh seeds then (tests/fuzz_seed.h); a failing or
// crashing input is saved under build/fuzz-repro/, and the cases kept in
// tests/regress/ParsersFuzz.<Name>/ are replayed first.  Build with
// -fsanitize=address,undefined to make memory errors visible.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/program.h"

#include "fuzz_seed.h"

#include <zlib.h>

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

struct Seed {
  std::string name;
  std::vector<uint8_t> bytes;
};

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

std::string corpus_dir() {
  const char *e = getenv("TERN_CORPUS_DIR");
  return e ? e : std::string(TERN_ROOT) + "/tests/corpus";
}

std::vector<Seed> load_corpus() {
  std::vector<Seed> seeds;
  std::string dir = corpus_dir();
  DIR *d = opendir(dir.c_str());
  if (!d) return seeds;
  while (struct dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    Seed s{n, read_all(dir + "/" + n)};
    seeds.push_back(s);
  }
  closedir(d);
  std::sort(seeds.begin(), seeds.end(), [](const Seed &a, const Seed &b) { return a.name < b.name; });
  return seeds;
}

bool ends_with(const std::string &s, const char *suf) {
  size_t n = strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

std::vector<uint8_t> mutate(std::mt19937_64 &g, std::vector<uint8_t> d) {
  int nmut = 1 + (int)(g() % 4);
  for (int m = 0; m < nmut; m++) {
    switch (g() % 6) {
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
      case 3:  // overwrite a byte with an interesting value
        if (!d.empty()) {
          static const uint8_t vals[] = {0, 0xff, 0x7f, 0x80, '=', ' ', '\n', '#', 'x', '9'};
          d[g() % d.size()] = vals[g() % sizeof vals];
        }
        break;
      case 4:  // duplicate a chunk
        if (!d.empty()) {
          size_t a = g() % d.size(), k = 1 + g() % std::min<size_t>(64, d.size() - a);
          std::vector<uint8_t> chunk(d.begin() + (long)a, d.begin() + (long)(a + k));
          size_t at = g() % (d.size() + 1);
          d.insert(d.begin() + (long)at, chunk.begin(), chunk.end());
        }
        break;
      default:  // overwrite a 32-bit little-endian field with a large value
        if (d.size() >= 4) {
          size_t at = g() % (d.size() - 3);
          uint32_t v = (uint32_t)g();
          if (g() % 2) v |= 0x80000000u;
          for (int i = 0; i < 4; i++) d[at + i] = (uint8_t)(v >> (8 * i));
        }
        break;
    }
  }
  return d;
}

std::string tmp_path() {
  const char *t = getenv("TMPDIR");
  if (!t && access("/dev/shm", W_OK) == 0) t = "/dev/shm";
  return std::string(t ? t : "/tmp") + "/tern_fuzz_" + std::to_string((long)getpid()) + ".tbin";
}

// ---- the three targets -------------------------------------------------------

void fuzz_asm(const std::vector<uint8_t> &in) {
  std::string text(in.begin(), in.end());  // embedded NULs end the text early: fine
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[512];
  err[0] = 0;
  int rc = tern_asm_text(text.c_str(), "fuzz.s", &v, &n, err, sizeof err);
  if (rc != 0) {
    ASSERT_EQ(rc, -1);
    ASSERT_GT(strlen(err), 0u);
    ASSERT_EQ(v, nullptr);
    return;
  }
  // success: disassembly re-assembles to the same instructions
  std::string back;
  for (size_t i = 0; i < n; i++) {
    char line[512];
    tern_disasm_insn(&v[i], line, sizeof line);
    back += line;
    back += "\n";
  }
  tern_insn *w = nullptr;
  size_t m = 0;
  ASSERT_EQ(tern_asm_text(back.c_str(), "back.s", &w, &m, err, sizeof err), 0) << err << "\n" << back;
  ASSERT_EQ(m, n);
  for (size_t i = 0; i < n; i++) ASSERT_EQ(memcmp(&v[i], &w[i], sizeof v[i]), 0) << i;
  free(v);
  free(w);
}

void fuzz_words(const std::vector<uint8_t> &in) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[512];
  err[0] = 0;
  int rc = tern_words_decode(in.data(), in.size(), &v, &n, err, sizeof err);
  if (rc != 0) {
    ASSERT_EQ(rc, -1);
    ASSERT_GT(strlen(err), 0u);
    ASSERT_NE(strstr(err, "byte offset"), nullptr) << err;
    return;
  }
  ASSERT_EQ(n * 16, in.size());
  for (size_t i = 0; i < n; i++) {  // re-encoding gives the same bytes
    tern_word w;
    ASSERT_EQ(tern_encode(&v[i], &w, err, sizeof err), 0) << err;
    for (int b = 0; b < 8; b++) {
      ASSERT_EQ((uint8_t)(w.w[0] >> (8 * b)), in[16 * i + b]);
      ASSERT_EQ((uint8_t)(w.w[1] >> (8 * b)), in[16 * i + 8 + b]);
    }
  }
  free(v);
}

void fuzz_tbin(const std::vector<uint8_t> &in, const std::string &path) {
  FILE *f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!in.empty()) {
    ASSERT_EQ(fwrite(in.data(), 1, in.size(), f), in.size());
  }
  fclose(f);
  tern_program p;
  char err[512];
  err[0] = 0;
  int rc = tern_program_read(&p, path.c_str(), err, sizeof err);
  if (rc != 0) {
    ASSERT_EQ(rc, -1);
    ASSERT_GT(strlen(err), 0u);
    ASSERT_NE(strstr(err, path.c_str()), nullptr) << err;
    return;
  }
  // success: writing it back gives the same bytes
  ASSERT_EQ(tern_program_write(&p, path.c_str(), err, sizeof err), 0) << err;
  ASSERT_TRUE(read_all(path) == in);
  tern_program_free(&p);
}

// All three targets on one input (the replay of a regression case).
void fuzz_all(const std::vector<uint8_t> &in, const std::string &path) {
  fuzz_asm(in);
  if (::testing::Test::HasFatalFailure()) return;
  fuzz_words(in);
  if (::testing::Test::HasFatalFailure()) return;
  fuzz_tbin(in, path);
}

// Seeds: tests/fuzz_seed.h (fixed in make test, fresh in make fuzz).  First
// the regression cases of tests/regress/ParsersFuzz.<Name>/ through all three
// targets, then the mutants of every corpus file of the kind.
void run_fuzz(const char *ext, int per_seed_default) {
  std::vector<Seed> seeds = load_corpus();
  ASSERT_FALSE(seeds.empty()) << "no corpus in " << corpus_dir();
  tern_test::FuzzCase fc(0x7e2a5eedull ^ (uint64_t)strlen(ext), per_seed_default,
                         100L * per_seed_default, "mutants per corpus file");
  std::string path = tmp_path();
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    for (const auto &part : c.parts) {
      SCOPED_TRACE(c.dir + "/" + part.first);
      fuzz_all(std::vector<uint8_t>(part.second.begin(), part.second.end()), path);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  const long iters = fc.count();
  std::mt19937_64 g(fc.seed());
  const std::string part = std::string("input") + ext;
  int used = 0;
  long n = 0;  // iterations over all corpus files: the reproducer's number
  for (const Seed &s : seeds) {
    if (!ends_with(s.name, ext)) continue;
    used++;
    for (long it = 0; it < iters; it++, n++) {
      std::vector<uint8_t> m = it == 0 ? s.bytes : mutate(g, s.bytes);
      if (!strcmp(ext, ".tbin") && it % 2 == 1 && m.size() >= 4) {
        // half of the .tbin mutants get a valid CRC so the parser goes deeper
        uLong c = crc32(0L, Z_NULL, 0);
        c = crc32(c, m.data(), (uInt)(m.size() - 4));
        for (int i = 0; i < 4; i++) m[m.size() - 4 + i] = (uint8_t)(c >> (8 * i));
      }
      fc.Input(n, {tern_test::Bytes(part.c_str(), m)});
      // every mutant goes to the target of its kind, and every tenth to all three
      bool all = it % 10 == 0;
      if (all || !strcmp(ext, ".s")) fuzz_asm(m);
      if (!::testing::Test::HasFatalFailure() && (all || !strcmp(ext, ".bin"))) fuzz_words(m);
      if (!::testing::Test::HasFatalFailure() && (all || !strcmp(ext, ".tbin"))) fuzz_tbin(m, path);
      if (fc.Failed(s.name + " mutant " + std::to_string(it))) break;
    }
    if (::testing::Test::HasFailure()) break;
  }
  remove(path.c_str());
  EXPECT_GT(used, 0) << "no " << ext << " seed in " << corpus_dir();
}

}  // namespace

TEST(ParsersFuzz, CorpusSeedsAreWhatTheyClaim) {
  std::vector<Seed> seeds = load_corpus();
  ASSERT_FALSE(seeds.empty()) << corpus_dir();
  char err[512];
  for (const Seed &s : seeds) {
    if (ends_with(s.name, ".s")) {
      std::string t(s.bytes.begin(), s.bytes.end());
      tern_insn *v = nullptr;
      size_t n = 0;
      int rc = tern_asm_text(t.c_str(), s.name.c_str(), &v, &n, err, sizeof err);
      if (s.name == "errors.s") {
        EXPECT_EQ(rc, -1);
        EXPECT_NE(strstr(err, "errors.s:2: unknown key 'bogus' for gemm"), nullptr) << err;
      } else {
        EXPECT_EQ(rc, 0) << err;
        EXPECT_GT(n, 0u);
      }
      free(v);
    } else if (ends_with(s.name, ".tbin")) {
      tern_program p;
      ASSERT_EQ(tern_program_read(&p, (corpus_dir() + "/" + s.name).c_str(), err, sizeof err), 0) << err;
      // and it runs on the ISA simulator
      std::vector<uint8_t> dram(1 << 16, 0);
      ASSERT_EQ(tern_program_init_dram(&p, dram.data(), dram.size(), err, sizeof err), 0) << err;
      tern_counters c;
      EXPECT_EQ(tern_isasim_run(&p.cfg, p.insns, p.n_insns, dram.data(), dram.size(), nullptr, &c, err,
                                sizeof err),
                0)
          << s.name << ": " << err;
      EXPECT_GT(c.v[TERN_CNT_CYCLES], 0u);
      tern_program_free(&p);
    } else if (ends_with(s.name, ".bin")) {
      tern_insn *v = nullptr;
      size_t n = 0;
      EXPECT_EQ(tern_words_decode(s.bytes.data(), s.bytes.size(), &v, &n, err, sizeof err), 0) << err;
      free(v);
    }
  }
}

TEST(ParsersFuzz, AsmText) { run_fuzz(".s", 1000); }
TEST(ParsersFuzz, WordsDecode) { run_fuzz(".bin", 2000); }
TEST(ParsersFuzz, ProgramRead) { run_fuzz(".tbin", 700); }
