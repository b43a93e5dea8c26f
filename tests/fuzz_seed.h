// Seeds, replay commands, reproducers and regression cases of the fuzz and
// random-program tests (the mutation fuzzers, RtlRandom.*, Sync.Random*).
// docs/ARCHITECTURE.md "Fuzzing: seeds, replays, reproducers, regression cases".
//
//   tern_test::FuzzCase fc(kFixedSeed, normal_count, long_count);
//
// - seed: TERN_FUZZ_SEED if set (decimal or 0x hex); else a fresh 64-bit seed
//   from /dev/urandom under TERN_FUZZ_LONG (`make fuzz`); else kFixedSeed, so
//   `make test` checks the same inputs on every run.
// - count: TERN_FUZZ_COUNT if set; else long_count under TERN_FUZZ_LONG; else
//   normal_count.
// - The constructor prints one line with both and the command that replays
//   the run,
//     [ seed     ] Suite.Name: seed 0x... (fresh), 25000 programs; replay:
//     TERN_FUZZ_SEED=0x... TERN_FUZZ_COUNT=25000 build/tern_tests --gtest_filter=Suite.Name
//   and every failure of the test carries the seed and that command (a
//   gtest scoped trace).
// - fc.Input(it, {parts}) at the start of iteration `it`: its input as named
//   parts (bytes, or a file already on disk; not copied).  A crash (SIGSEGV,
//   SIGBUS, SIGFPE, SIGILL, SIGABRT) before the iteration ends writes them to
//   build/fuzz-repro/<Suite.Name>-<seed>-<it>/ with a README (the handler
//   only opens, reads and writes; paths and text are prepared beforehand).
// - fc.Failed(note) at the end of every iteration: if the test failed during
//   it, saves the same directory (with the failure messages), adds a failure
//   naming it and returns true.
// - fc.Regressions(): the cases of tests/regress/<dir>/ (default dir: the
//   test's full name), each a directory of part files, which the test
//   replays through the same checks before fuzzing: a reproducer copied
//   there is a regression test of every `make test`.
#ifndef TERN_TESTS_FUZZ_SEED_H
#define TERN_TESTS_FUZZ_SEED_H

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace tern_test {

// TERN_FUZZ_LONG set and not "0": the long runs of `make fuzz`.
inline bool FuzzLong() {
  const char *e = getenv("TERN_FUZZ_LONG");
  return e && *e && strcmp(e, "0") != 0;
}

// A 64-bit number from an environment variable (decimal, or hex with 0x);
// false if unset.  A malformed value fails the test (a replay must not
// silently run something else).
inline bool FuzzEnvU64(const char *name, uint64_t *v) {
  const char *e = getenv(name);
  if (!e || !*e) return false;
  char *end = nullptr;
  errno = 0;
  unsigned long long x = strtoull(e, &end, 0);
  if (errno || !end || *end || *e == '-') {
    ADD_FAILURE() << name << "=" << e << ": expected a non-negative integer (decimal or 0x hex)";
    return false;
  }
  *v = (uint64_t)x;
  return true;
}

// 64 fresh bits: /dev/urandom, or the clock and the pid if it cannot be read.
inline uint64_t FreshSeed() {
  uint64_t s = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, &s, sizeof s);
    close(fd);
    if (n == (ssize_t)sizeof s && s) return s;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
  s += 0x9e3779b97f4a7c15ull;  // splitmix64 finaliser
  s = (s ^ (s >> 30)) * 0xbf58476d1ce4e5b9ull;
  s = (s ^ (s >> 27)) * 0x94d049bb133111ebull;
  return s ^ (s >> 31);
}

inline std::string Hex64(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%016" PRIx64, v);
  return b;
}

// Where fuzz scratch files go: $TMPDIR, else /dev/shm (a file rewritten with
// O_TRUNC on ext4 waits for its writeback: ~3 ms per iteration), else /tmp.
inline std::string FuzzTmpRoot() {
  const char *t = getenv("TMPDIR");
  if (!t && access("/dev/shm", W_OK) == 0) t = "/dev/shm";
  return t ? t : "/tmp";
}
// A scratch file of this process.
inline std::string FuzzTmpPath(const std::string &tag) {
  return FuzzTmpRoot() + "/tern_fuzz_" + std::to_string((long)getpid()) + "_" + tag;
}
// A fresh scratch directory (mkdtemp); the caller removes it.
inline std::string FuzzTmpDir(const std::string &tag) {
  std::string t = FuzzTmpRoot() + "/tern_fuzz_" + tag + "_XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  const char *d = mkdtemp(b.data());
  EXPECT_NE(d, nullptr) << t << ": " << strerror(errno);
  return d ? d : FuzzTmpRoot();
}

// One named part of an input: bytes, or a file that holds them.
struct FuzzPart {
  std::string name;
  const void *data = nullptr;
  size_t size = 0;
  const char *path = nullptr;  // when set: the bytes are in this file
};
inline FuzzPart Bytes(const char *name, const std::string &s) {
  return FuzzPart{name, s.data(), s.size(), nullptr};
}
inline FuzzPart Bytes(const char *name, const std::vector<uint8_t> &v) {
  return FuzzPart{name, v.data(), v.size(), nullptr};
}
inline FuzzPart File(const char *name, const std::string &path) {
  return FuzzPart{name, nullptr, 0, path.c_str()};
}

// A regression case: a directory of part files.
struct RegressCase {
  std::string dir;  // path, for messages
  std::vector<std::pair<std::string, std::string>> parts;  // name, bytes (sorted by name)
  const std::string *Part(const std::string &name) const {
    for (const auto &p : parts)
      if (p.first == name) return &p.second;
    return nullptr;
  }
};

inline std::string ReadWhole(const std::string &path, bool *ok = nullptr) {
  std::string d;
  FILE *f = fopen(path.c_str(), "rb");
  if (ok) *ok = f != nullptr;
  if (!f) return d;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) d.append(buf, n);
  fclose(f);
  return d;
}

// $TERN_REGRESS_DIR (default tests/regress)
inline std::string RegressRoot() {
  const char *e = getenv("TERN_REGRESS_DIR");
  return e && *e ? e : TERN_ROOT "/tests/regress";
}

// The regression cases in <RegressRoot>/<subdir>/: every directory there, with
// its files (but README) as parts, in name order.
inline std::vector<RegressCase> RegressCases(const std::string &subdir) {
  std::vector<RegressCase> cases;
  std::string root = RegressRoot() + "/" + subdir;
  DIR *d = opendir(root.c_str());
  if (!d) return cases;
  std::vector<std::string> names;
  while (struct dirent *e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string &n : names) {
    RegressCase c;
    c.dir = root + "/" + n;
    DIR *cd = opendir(c.dir.c_str());
    if (!cd) continue;  // a plain file: not a case
    std::vector<std::string> files;
    while (struct dirent *e = readdir(cd))
      if (e->d_name[0] != '.' && strcmp(e->d_name, "README") != 0) files.push_back(e->d_name);
    closedir(cd);
    std::sort(files.begin(), files.end());
    for (const std::string &f : files) c.parts.emplace_back(f, ReadWhole(c.dir + "/" + f));
    cases.push_back(c);
  }
  printf("[ regress  ] %s: %zu case(s)\n", root.c_str(), cases.size());
  return cases;
}

class FuzzCase;
namespace detail {
inline FuzzCase *&active() {
  static FuzzCase *a = nullptr;
  return a;
}
}  // namespace detail

class FuzzCase {
 public:
  // unit: what one iteration is, for the printed line ("inputs", "programs").
  // regress_dir: the subdirectory of tests/regress/ (default: the test's name).
  FuzzCase(uint64_t fixed_seed, long normal_count, long long_count, const char *unit = "inputs",
           const char *regress_dir = nullptr) {
    const ::testing::TestInfo *ti = ::testing::UnitTest::GetInstance()->current_test_info();
    test_ = ti ? std::string(ti->test_suite_name()) + "." + ti->name() : "unknown";
    regress_dir_ = regress_dir ? regress_dir : test_;
    const char *how = "fixed";
    seed_ = fixed_seed;
    if (FuzzEnvU64("TERN_FUZZ_SEED", &seed_)) {
      how = "TERN_FUZZ_SEED";
    } else if (FuzzLong()) {
      seed_ = FreshSeed();
      how = "fresh";
    }
    uint64_t c = 0;
    count_ = FuzzEnvU64("TERN_FUZZ_COUNT", &c) ? (long)c : FuzzLong() ? long_count : normal_count;
    replay_ = "TERN_FUZZ_SEED=" + Hex64(seed_) + " TERN_FUZZ_COUNT=" + std::to_string(count_) +
              " build/tern_tests --gtest_filter=" + test_;
    printf("[ seed     ] %s: seed %s (%s), %ld %s; replay: %s\n", test_.c_str(), Hex64(seed_).c_str(),
           how, count_, unit, replay_.c_str());
    fflush(stdout);
    trace_ = new ::testing::ScopedTrace(__FILE__, __LINE__,
                                        "fuzz seed " + Hex64(seed_) + "; replay: " + replay_);
    const char *rd = getenv("TERN_FUZZ_REPRO_DIR");
    repro_root_ = rd && *rd ? rd : TERN_ROOT "/build/fuzz-repro";
    repro_base_ = repro_root_ + "/" + test_ + "-" + Hex64(seed_) + "-";
    readme_head_ = "test:      " + test_ + "\nseed:      " + Hex64(seed_) +
                   "  (TERN_FUZZ_SEED)\ncount:     " + std::to_string(count_) +
                   "  (TERN_FUZZ_COUNT)\nreplay:    " + replay_ +
                   "\nregress:   cp -r <this directory> " + RegressRoot() + "/" + regress_dir_ +
                   "/<name>   (replayed by every make test: docs/ARCHITECTURE.md \"Testing\")\n";
    Install();
  }
  ~FuzzCase() {
    Uninstall();
    delete trace_;
  }
  FuzzCase(const FuzzCase &) = delete;
  FuzzCase &operator=(const FuzzCase &) = delete;

  uint64_t seed() const { return seed_; }
  long count() const { return count_; }
  const std::string &replay() const { return replay_; }
  const std::string &test() const { return test_; }

  // The input of iteration it.  Not copied: the bytes (and file names) must
  // stay alive until Failed() (or the next Input), which the loop calls at the
  // end of every iteration.
  void Input(long it, std::initializer_list<FuzzPart> parts) {
    nslots_ = 0;
    for (const FuzzPart &p : parts) SetPart(p);
    it_ = it;
    parts_ = PartCount();
  }
  // Adds a part to the current input, or replaces the one of the same name
  // (e.g. a text drawn after the file was parsed).
  void SetPart(const FuzzPart &p) {
    size_t k = 0;
    while (k < nslots_ && slots_[k].name != p.name) k++;
    if (k == slots_.size()) slots_.emplace_back();
    slots_[k] = p;
    if (k == nslots_) nslots_++;
  }

  // After an iteration: true (and a saved reproducer) if the test failed in it.
  // note: what else the README should say (e.g. the configuration).
  bool Failed(const std::string &note = "") {
    if (nslots_ == 0) return false;
    std::string msgs = FailuresSince(parts_);
    if (msgs.empty()) {
      nslots_ = 0;  // the parts may die now
      return false;
    }
    std::string dir = Save("what:      failure" + (note.empty() ? "" : ": " + note) + "\n" + msgs);
    ADD_FAILURE() << test_ << ": iteration " << it_ << " failed; its input is saved in " << dir
                  << " (README: the replay command and how to make it a regression test)";
    nslots_ = 0;
    return true;
  }

  // Write the current input now (e.g. an RTL mismatch found outside Input's
  // bookkeeping); returns the directory.
  std::string Save(const std::string &what) {
    std::string dir = repro_base_ + std::to_string(it_);
    MkdirP(dir);
    for (size_t k = 0; k < nslots_; k++) {
      const FuzzPart &s = slots_[k];
      std::string to = dir + "/" + s.name;
      std::string bytes = s.path ? ReadWhole(s.path) : std::string((const char *)s.data, s.size);
      FILE *f = fopen(to.c_str(), "wb");
      if (f) {
        fwrite(bytes.data(), 1, bytes.size(), f);
        fclose(f);
      }
    }
    std::string readme = readme_head_ + "iteration: " + std::to_string(it_) + "\n" + what;
    FILE *f = fopen((dir + "/README").c_str(), "w");
    if (f) {
      fputs(readme.c_str(), f);
      fclose(f);
    }
    printf("[ repro    ] %s: iteration %ld saved in %s\n", test_.c_str(), it_, dir.c_str());
    fflush(stdout);
    return dir;
  }

  // tests/regress/<dir>/*/ of this test (RegressCases below).
  std::vector<RegressCase> Regressions() const { return RegressCases(regress_dir_); }

  // test part results (failures, skips) recorded so far in the running test
  static int PartCount() {
    const ::testing::TestInfo *ti = ::testing::UnitTest::GetInstance()->current_test_info();
    return ti ? ti->result()->total_part_count() : 0;
  }
  // the messages of the failures recorded from part `from` on ("" if none)
  static std::string FailuresSince(int from) {
    const ::testing::TestInfo *ti = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string m;
    if (!ti) return m;
    const ::testing::TestResult *r = ti->result();
    for (int i = from; i < r->total_part_count(); i++) {
      const ::testing::TestPartResult &t = r->GetTestPartResult(i);
      if (!t.failed()) continue;
      m += std::string(t.file_name() ? t.file_name() : "?") + ":" + std::to_string(t.line_number()) +
           ": " + t.message() + "\n";
    }
    return m;
  }


 private:

  static void MkdirP(const std::string &path) {
    for (size_t i = 1; i <= path.size(); i++)
      if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0755);
  }

  // ---- crash handling (async-signal-safe from here on) ----
  static void PutStr(int fd, const char *s) {
    size_t n = strlen(s);
    while (n) {
      ssize_t w = write(fd, s, n);
      if (w <= 0) return;
      s += w;
      n -= (size_t)w;
    }
  }
  static void Utoa(uint64_t v, char *buf) {  // decimal, NUL-terminated
    char t[24];
    int n = 0;
    do {
      t[n++] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) buf[i] = t[n - 1 - i];
    buf[n] = 0;
  }
  static void Cat(char *dst, size_t cap, const char *src) {
    size_t n = strlen(dst);
    while (*src && n + 1 < cap) dst[n++] = *src++;
    dst[n] = 0;
  }
  void OnCrash(int sig) {
    char dir[4096] = "", num[24], path[4608];
    if (nslots_ == 0) {  // between iterations: in the test's own code
      Utoa((uint64_t)sig, num);
      PutStr(2, "\n[ repro    ] ");
      PutStr(2, test_.c_str());
      PutStr(2, ": crash (signal ");
      PutStr(2, num);
      PutStr(2, ") outside an iteration's input (nothing saved); replay: ");
      PutStr(2, replay_.c_str());
      PutStr(2, "\n");
      return;
    }
    Cat(dir, sizeof dir, repro_root_.c_str());
    mkdir(dir, 0755);
    dir[0] = 0;
    Cat(dir, sizeof dir, repro_base_.c_str());
    Utoa((uint64_t)it_, num);
    Cat(dir, sizeof dir, num);
    mkdir(dir, 0755);
    for (size_t k = 0; k < nslots_; k++) {
      const FuzzPart &s = slots_[k];
      path[0] = 0;
      Cat(path, sizeof path, dir);
      Cat(path, sizeof path, "/");
      Cat(path, sizeof path, s.name.c_str());
      int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0) continue;
      if (s.path) {
        int in = open(s.path, O_RDONLY);
        char buf[8192];
        ssize_t n;
        while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
          if (write(out, buf, (size_t)n) != n) break;
        if (in >= 0) close(in);
      } else {
        const char *p = (const char *)s.data;
        size_t n = s.size;
        while (n) {
          ssize_t w = write(out, p, n);
          if (w <= 0) break;
          p += w;
          n -= (size_t)w;
        }
      }
      close(out);
    }
    path[0] = 0;
    Cat(path, sizeof path, dir);
    Cat(path, sizeof path, "/README");
    int rf = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    Utoa((uint64_t)sig, num);
    if (rf >= 0) {
      PutStr(rf, readme_head_.c_str());
      Utoa((uint64_t)it_, path);
      PutStr(rf, "iteration: ");
      PutStr(rf, path);
      PutStr(rf, "\nwhat:      crash (signal ");
      PutStr(rf, num);
      PutStr(rf, ")\n");
      close(rf);
    }
    PutStr(2, "\n[ repro    ] ");
    PutStr(2, test_.c_str());
    PutStr(2, ": crash (signal ");
    PutStr(2, num);
    PutStr(2, ") in iteration ");
    Utoa((uint64_t)it_, num);
    PutStr(2, num);
    PutStr(2, "; input saved in ");
    PutStr(2, dir);
    PutStr(2, "\n[ repro    ] replay: ");
    PutStr(2, replay_.c_str());
    PutStr(2, "\n");
  }
  static void Handler(int sig) {
    FuzzCase *c = detail::active();
    if (c) c->OnCrash(sig);
    signal(sig, SIG_DFL);
    raise(sig);
  }
  static const int *Signals(int *n) {
    static const int s[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    *n = (int)(sizeof s / sizeof s[0]);
    return s;
  }
  void Install() {
    static std::vector<char> altstack(1 << 16);  // for stack overflows
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack.data();
    ss.ss_size = altstack.size();
    sigaltstack(&ss, nullptr);
    int n;
    const int *sigs = Signals(&n);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = Handler;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < n && i < 8; i++) sigaction(sigs[i], &sa, &old_[i]);
    prev_ = detail::active();
    detail::active() = this;
  }
  void Uninstall() {
    int n;
    const int *sigs = Signals(&n);
    for (int i = 0; i < n && i < 8; i++) sigaction(sigs[i], &old_[i], nullptr);
    detail::active() = prev_;
  }

  std::string test_, regress_dir_, replay_, repro_root_, repro_base_, readme_head_;
  uint64_t seed_ = 0;
  long count_ = 0, it_ = -1;
  int parts_ = 0;
  std::vector<FuzzPart> slots_;
  size_t nslots_ = 0;
  ::testing::ScopedTrace *trace_ = nullptr;
  FuzzCase *prev_ = nullptr;
  struct sigaction old_[8];
};

}  // namespace tern_test

#endif
