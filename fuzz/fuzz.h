/* Helpers shared by the libFuzzer harnesses in fuzz/ (docs/FUZZING.md).
 *
 * A harness is one C file with LLVMFuzzerTestOneInput, built with
 * clang -fsanitize=fuzzer,address,undefined against build/fuzz/libtern.a.
 * Besides the sanitizers it checks each reader's error contract: a reader
 * returns success, or failure with a non-empty message; anything else is a
 * finding (fz_fail aborts, so libFuzzer saves the input as a crash).
 *
 * Hermetic: a reader that takes only a path gets the input through a file in
 * a private directory made under $TMPDIR (default /tmp) at the first call and
 * removed at exit; nothing else is written.  Harnesses never print on
 * success (libFuzzer's own lines are the output). */
#ifndef TERN_FUZZ_H
#define TERN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FZ_ERRLEN 1024

/* A finding that is not a sanitizer report: print it and abort. */
#define fz_fail(...)                                                     \
  do {                                                                   \
    fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);                \
    fprintf(stderr, __VA_ARGS__);                                        \
    fputc('\n', stderr);                                                 \
    abort();                                                             \
  } while (0)

/* A reader's result: rc 0 (fine), or rc -1 with a message in err. */
static inline void fz_expect_rc(int rc, const char *err, const char *fn) {
  if (rc == 0) return;
  if (rc != -1) fz_fail("%s returned %d, expected 0 or -1", fn, rc);
  if (!err[0]) fz_fail("%s failed without a message", fn);
}
/* The same for a reader that returns a pointer (NULL = failure). */
static inline void fz_expect_ptr(const void *p, const char *err, const char *fn) {
  if (!p && !err[0]) fz_fail("%s returned NULL without a message", fn);
}

/* The input as a NUL-terminated string (embedded NULs end it early: fine). */
static inline char *fz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  if (size) memcpy(s, data, size);
  s[size] = 0;
  return s;
}

/* ---- the private scratch directory --------------------------------------------- */

static char fz_dir_path[512];

static void fz_rm_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      fz_rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void fz_cleanup(void) {
  if (fz_dir_path[0]) fz_rm_tree(fz_dir_path);
}

/* $TMPDIR/tern-fuzz-XXXXXX, made once per process. */
static inline const char *fz_dir(void) {
  if (!fz_dir_path[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(fz_dir_path, sizeof fz_dir_path, "%s/tern-fuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(fz_dir_path)) {
      perror(fz_dir_path);
      abort();
    }
    atexit(fz_cleanup);
  }
  return fz_dir_path;
}

/* The files fz_file wrote since the last fz_clear. */
static char fz_written[16][640];
static int fz_nwritten;

/* Removes them: every harness calls it before returning, so no file of one
 * input is seen by the next (a shard the next index names, say). */
static inline void fz_clear(void) {
  for (int i = 0; i < fz_nwritten; i++) unlink(fz_written[i]);
  fz_nwritten = 0;
}

/* Writes size bytes to <dir>/<rel> (rel may name one subdirectory level,
 * made as needed) and returns the full path in buf. */
static inline const char *fz_file(const char *rel, const void *data, size_t size, char *buf,
                                  size_t buflen) {
  snprintf(buf, buflen, "%s/%s", fz_dir(), rel);
  const char *slash = strrchr(rel, '/');
  if (slash) {
    char d[600];
    snprintf(d, sizeof d, "%s/%.*s", fz_dir(), (int)(slash - rel), rel);
    mkdir(d, 0700);
  }
  FILE *f = fopen(buf, "wb");
  if (!f) {
    perror(buf);
    abort();
  }
  if (size && fwrite(data, 1, size, f) != size) abort();
  if (fclose(f)) abort();
  if (fz_nwritten < 16) snprintf(fz_written[fz_nwritten++], sizeof fz_written[0], "%s", buf);
  return buf;
}

/* Splits the input at the separator into at most max parts (the last part
 * takes the rest); returns the number of parts.  Multi-file inputs (a
 * checkpoint directory, a tokenizer and its text) are written as
 * part0 SEP part1 ... so that mutations of one part leave the others alone. */
#define FZ_SEP "\n#--tern-fuzz-part--#\n"
static inline int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len,
                           int max) {
  const size_t sl = sizeof FZ_SEP - 1;
  int n = 0;
  size_t at = 0;
  while (n < max - 1) {
    const uint8_t *hit = NULL;
    for (size_t i = at; i + sl <= size; i++)
      if (data[i] == FZ_SEP[0] && !memcmp(data + i, FZ_SEP, sl)) {
        hit = data + i;
        break;
      }
    if (!hit) break;
    part[n] = data + at;
    len[n] = (size_t)(hit - (data + at));
    n++;
    at = (size_t)(hit - data) + sl;
  }
  part[n] = size ? data + at : data;
  len[n] = size - at;
  return n + 1;
}

/* Both formats whose last 4 bytes are a CRC-32 (little-endian) of the rest
 * (.tbin, .twt): run `one` on the input as it is, then on a copy whose CRC
 * is recomputed, so mutations reach the checks behind the CRC. */
static inline void fz_with_fixed_crc(const uint8_t *data, size_t size,
                                     void (*one)(const uint8_t *, size_t)) {
  one(data, size);
  if (size < 16) return;
  uint8_t *c = malloc(size);
  if (!c) abort();
  memcpy(c, data, size);
  uint32_t crc = (uint32_t)crc32(0L, c, (uInt)(size - 4));
  for (int i = 0; i < 4; i++) c[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  one(c, size);
  free(c);
}

#endif
