/* runtime/rt_util.h */
#include "rt_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"

int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tern_verr(err, errlen, fmt, ap);
  va_end(ap);
  return code;
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
