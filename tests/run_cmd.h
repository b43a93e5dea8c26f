// Runs a shell command for the CLI tests, stdout and stderr captured.
#ifndef TERN_TESTS_RUN_CMD_H
#define TERN_TESTS_RUN_CMD_H

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace tern_test {

// Runs cmd (a shell command line) with stdout+stderr into *out; returns its
// exit status, 128 + the signal if a signal ended it, -1 if it could not run.
inline int RunCmd(const std::string &cmd, std::string *out) {
  out->clear();
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = pclose(p);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

}  // namespace tern_test

#endif
