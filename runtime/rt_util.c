/* runtime/rt_util.h */
#include "rt_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/err.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tern_verr(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

int rt_mkdir_p(const char *dir, char *err, size_t errlen) {
  char buf[1200];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return tern_err(err, errlen, "directory name too long: %.80s...", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return tern_err(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return tern_err(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    return tern_err(err, errlen, "%s: exists and is not a directory", buf);
  return 0;
}

int rt_dram_reserve(uint8_t **dram, uint64_t *have, uint64_t need, uint64_t max, const char *who,
                    char *err, size_t errlen) {
  if (need <= *have) return 0;
  if (need > max)
    return tern_err(err, errlen,
                    "%s: the programs need %llu bytes of DRAM, hw dram_bytes = %llu "
                    "(raise it with dram_bytes=...)",
                    who, (unsigned long long)need, (unsigned long long)max);
  uint64_t n = *have ? *have : ((uint64_t)1 << 20);
  while (n < need) n *= 2;
  if (n > max) n = max;
  uint8_t *d = realloc(*dram, (size_t)n);
  if (!d)
    return tern_err(err, errlen, "%s: out of memory (%llu bytes of DRAM)", who,
                    (unsigned long long)n);
  memset(d + *have, 0, (size_t)(n - *have));
  *dram = d;
  *have = n;
  return 0;
}

int rt_run_parts(tern_session *s, const char *backend, const tern_hwcfg *hw,
                 const tern_run_opts *ro, uint8_t **dram, uint64_t *dram_bytes,
                 const tern_program *parts, int n, const char *who, const char *what,
                 tern_counters *cnt, size_t *n_insns, char *err, size_t errlen) {
  for (int k = 0; k < n; k++) {
    const tern_program *p = &parts[k];
    if (rt_dram_reserve(dram, dram_bytes, p->dram_size, hw->dram_bytes, who, err, errlen) ||
        tern_program_init_dram(p, *dram, *dram_bytes, err, errlen))
      return -1;
    *n_insns += p->n_insns;
    char e2[768];
    tern_counters c1;
    memset(&c1, 0, sizeof c1);
    if (tern_session_run(s, p->insns, p->n_insns, *dram, *dram_bytes, ro, &c1, e2, sizeof e2))
      return tern_err(err, errlen, "run %s on %s (part %d of %d): %s", what, backend, k + 1, n,
                      e2);
    for (int i = 0; i < TERN_NCOUNTERS; i++) cnt->v[i] += c1.v[i];
    uint64_t rd = 0, wr = 0;
    tern_program_dma_bytes(p, hw, 0, 0, NULL, NULL, &rd, &wr);
    if (rd != c1.v[TERN_CNT_DRAM_RD_BYTES] || wr != c1.v[TERN_CNT_DRAM_WR_BYTES])
      return tern_err(err, errlen,
                      "run %s on %s (part %d of %d): the DMA instructions move %llu / %llu bytes "
                      "(read / written), the DRAM counters say %llu / %llu (simulator bug)",
                      what, backend, k + 1, n, (unsigned long long)rd, (unsigned long long)wr,
                      (unsigned long long)c1.v[TERN_CNT_DRAM_RD_BYTES],
                      (unsigned long long)c1.v[TERN_CNT_DRAM_WR_BYTES]);
  }
  return 0;
}

const char *rt_rtl_newer_source(time_t mtime, char *buf, size_t n) {
  static const char *const dirs[] = {TERN_ROOT "/rtl", TERN_ROOT "/sim"};
  for (int d = 0; d < 2; d++) {
    DIR *dp = opendir(dirs[d]);
    if (!dp) continue;
    struct dirent *e;
    while ((e = readdir(dp))) {
      const char *nm = e->d_name, *dot = strrchr(nm, '.');
      int src = d == 0 ? dot && (!strcmp(dot, ".sv") || !strcmp(dot, ".vh"))
                       : !strncmp(nm, "rtl_", 4) || !strcmp(nm, "rtl.mk") || !strcmp(nm, "hang.c");
      struct stat st;
      snprintf(buf, n, "%s/%s", dirs[d], nm);
      if (src && stat(buf, &st) == 0 && st.st_mtime > mtime) {
        closedir(dp);
        return buf;
      }
    }
    closedir(dp);
  }
  return NULL;
}
