/* include/tern/err.h */
#include "tern/err.h"

#include <stdio.h>

int tern_verr(char *err, size_t errlen, const char *fmt, va_list ap) {
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  return -1;
}

int tern_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tern_verr(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}
