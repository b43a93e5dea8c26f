/* Bounded whole-file reads (include/tern/io.h). */
#include "tern/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/err.h"

int tern_read_file(const char *path, size_t max, const char *expected, uint8_t **buf, size_t *len,
                   char *err, size_t errlen) {
  *buf = NULL;
  if (len) *len = 0;
  if (!path) return tern_err(err, errlen, "read: NULL path");
  if (!expected) expected = "a smaller file";
  FILE *f = fopen(path, "rb");
  if (!f) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return tern_err(err, errlen, "%s: cannot stat: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    fclose(f);
    return tern_err(err, errlen, "%s: is a directory, expected %s", path, expected);
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > (uint64_t)max) {
    fclose(f);
    return tern_err(err, errlen, "%s: file is %lld bytes, larger than %zu, expected %s", path,
                    (long long)st.st_size, max, expected);
  }
  /* a regular file: its size (+1 to see growth); otherwise start small */
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 65536;
  if (cap > max + 2) cap = max + 2;
  uint8_t *b = malloc(cap);
  size_t n = 0;
  int rc = 0;
  if (!b) rc = tern_err(err, errlen, "%s: out of memory for %zu bytes", path, cap);
  while (!rc) {
    size_t want = cap - 1 - n;
    size_t got = fread(b + n, 1, want, f);
    n += got;
    if (n > max) {
      rc = tern_err(err, errlen, "%s: file is larger than %zu bytes, expected %s", path, max,
                    expected);
      break;
    }
    if (got < want) { /* end of file, or an error */
      if (ferror(f)) rc = tern_err(err, errlen, "%s: read error: %s", path, strerror(errno));
      break;
    }
    /* buffer full (n == cap - 1 <= max): grow geometrically, to at most max + 2 */
    size_t nc = cap > (max + 2) / 2 ? max + 2 : cap * 2;
    uint8_t *nb = realloc(b, nc);
    if (!nb) {
      rc = tern_err(err, errlen, "%s: out of memory for %zu bytes", path, nc);
      break;
    }
    b = nb;
    cap = nc;
  }
  fclose(f);
  if (rc) {
    free(b);
    return -1;
  }
  b[n] = 0;
  *buf = b;
  if (len) *len = n;
  return 0;
}
