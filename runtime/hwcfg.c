/* Hardware configurations: defaults, the small RTL test sizes, checks,
 * the canonical RTL build name and key=value overrides. */
#include "tern/err.h"
#include "tern/hwcfg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tern_hwcfg tern_hwcfg_default(void) {
  tern_hwcfg c;
  memset(&c, 0, sizeof c);
  c.rows = 16;
  c.cols = 16;
  c.wbuf_depth = 256;
  c.abuf_depth = 4096;
  c.acc_depth = 4096;
  c.out_depth = 2048;
  c.qdepth = 8;
  c.imem_depth = 65536;
  c.dram_bw = 16;
  c.psum_bits = 32;
  c.dram_lat = 32;
  c.dram_bytes = (uint64_t)256 << 20;
  c.clock_mhz = 200.0;
  return c;
}

tern_hwcfg tern_hwcfg_small(int rows, int cols) {
  tern_hwcfg c;
  memset(&c, 0, sizeof c);
  c.rows = rows;
  c.cols = cols;
  c.wbuf_depth = 64;
  c.abuf_depth = 512;
  c.acc_depth = 1024;
  c.out_depth = 512;
  c.qdepth = 4;
  c.imem_depth = 8192;
  c.dram_bw = rows;
  c.psum_bits = 32;
  c.dram_lat = 8;
  c.dram_bytes = (uint64_t)16 << 20;
  c.clock_mhz = 200.0;
  if (rows == 4 && cols == 4) {
    c.abuf_depth = 256;
    c.acc_depth = 512;
    c.out_depth = 256;
    c.dram_bw = 4;
  }
  return c;
}

static int is_pow2(long v) { return v > 0 && (v & (v - 1)) == 0; }

int tern_hwcfg_psum_bits(const tern_hwcfg *c) {
  return c->psum_bits == 0 ? 32 : c->psum_bits < 0 ? tern_hwcfg_psum_min(c->rows) : c->psum_bits;
}

int tern_hwcfg_psum_min(int rows) {
  int b = 9;
  while (rows > 1) {
    rows >>= 1;
    b++;
  }
  return b;
}

int tern_hwcfg_check(const tern_hwcfg *c, char *err, size_t errlen) {
  if (!is_pow2(c->rows) || c->rows < 2 || c->rows > 64) {
    tern_err(err, errlen, "rows = %d, expected a power of two in 2..64", c->rows);
    return -1;
  }
  if (!is_pow2(c->cols) || c->cols < 2 || c->cols > 64) {
    tern_err(err, errlen, "cols = %d, expected a power of two in 2..64", c->cols);
    return -1;
  }
  if (256 % c->cols != 0) {
    tern_err(err, errlen, "cols = %d, expected a divisor of 256 (LUT load)", c->cols);
    return -1;
  }
  struct {
    const char *name;
    int v;
  } depths[] = {{"wbuf_depth", c->wbuf_depth}, {"abuf_depth", c->abuf_depth},
                {"acc_depth", c->acc_depth},   {"out_depth", c->out_depth},
                {"imem_depth", c->imem_depth}};
  for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
    if (depths[i].v < 1 || depths[i].v > 65536) {
      tern_err(err, errlen, "%s = %d, expected 1..65536", depths[i].name, depths[i].v);
      return -1;
    }
  }
  if (c->qdepth < 1) {
    tern_err(err, errlen, "qdepth = %d, expected >= 1", c->qdepth);
    return -1;
  }
  if (!is_pow2(c->dram_bw) || c->dram_bw > 128) {
    tern_err(err, errlen, "dram_bw = %d, expected a power of two in 1..128", c->dram_bw);
    return -1;
  }
  if (c->psum_bits > 0 &&
      (c->psum_bits < tern_hwcfg_psum_min(c->rows) || c->psum_bits > 32)) {
    tern_err(err, errlen,
             "psum_bits = %d, expected %d..32 for %d rows (a column sums %d products of at most "
             "128 in magnitude: 9 + log2(rows) bits hold every partial sum exactly)",
             c->psum_bits, tern_hwcfg_psum_min(c->rows), c->rows, c->rows);
    return -1;
  }
  if (c->dram_lat < 1 || c->dram_lat > TERN_HW_DRAM_LAT_MAX) {
    /* the RTL harness keeps every beat in flight: at most dram_lat of them */
    tern_err(err, errlen, "dram_lat = %d, expected 1..%d", c->dram_lat, TERN_HW_DRAM_LAT_MAX);
    return -1;
  }
  if (c->dram_bytes < 1) {
    tern_err(err, errlen, "dram_bytes = %" PRIu64 ", expected >= 1", c->dram_bytes);
    return -1;
  }
  if (!(c->clock_mhz > 0.0)) {
    tern_err(err, errlen, "clock_mhz = %g, expected > 0", c->clock_mhz);
    return -1;
  }
  return 0;
}

/* "_p<bits>" when the partial sums are not 32 bits wide, else "" */
static void psum_suffix(const tern_hwcfg *c, char p[16]) {
  p[0] = 0;
  if (tern_hwcfg_psum_bits(c) != 32) snprintf(p, 16, "_p%d", tern_hwcfg_psum_bits(c));
}

void tern_hwcfg_rtl_name(const tern_hwcfg *c, char *buf, size_t len) {
  char p[16];
  psum_suffix(c, p);
  snprintf(buf, len, "r%dc%d_w%d_a%d_c%d_o%d_q%d_i%d_b%d%s", c->rows, c->cols, c->wbuf_depth,
           c->abuf_depth, c->acc_depth, c->out_depth, c->qdepth, c->imem_depth, c->dram_bw, p);
}

void tern_hwcfg_array_name(const tern_hwcfg *c, char *buf, size_t len) {
  char p[16];
  psum_suffix(c, p);
  snprintf(buf, len, "r%dc%d%s", c->rows, c->cols, p);
}

/* Parse an unsigned integer (decimal or 0x hex) with an optional K/M/G
 * binary suffix; the whole string must be consumed. */
static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s) return -1;
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10, end++;
  else if (*end == 'M' || *end == 'm') shift = 20, end++;
  else if (*end == 'G' || *end == 'g') shift = 30, end++;
  if (*end != '\0') return -1;
  if (shift && v > (UINT64_MAX >> shift)) return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

int tern_parse_array(const char *s, int *rows, int *cols, char *err, size_t errlen) {
  unsigned r = 0, c = 0;
  char extra;
  if (!s || sscanf(s, "%ux%u%c", &r, &c, &extra) != 2 || r == 0 || c == 0 || r > 4096 || c > 4096) {
    tern_err(err, errlen, "array '%s': expected RxC, e.g. 16x16", s ? s : "(null)");
    return -1;
  }
  *rows = (int)r;
  *cols = (int)c;
  return 0;
}

int tern_hwcfg_set(tern_hwcfg *c, const char *key, const char *value, char *err, size_t errlen) {
  struct {
    const char *name;
    int *field;
  } ints[] = {{"rows", &c->rows},           {"cols", &c->cols},
              {"wbuf_depth", &c->wbuf_depth}, {"abuf_depth", &c->abuf_depth},
              {"acc_depth", &c->acc_depth},   {"out_depth", &c->out_depth},
              {"qdepth", &c->qdepth},         {"imem_depth", &c->imem_depth},
              {"dram_bw", &c->dram_bw},       {"dram_lat", &c->dram_lat},
              {"psum_bits", &c->psum_bits}};
  if (!key) key = "";
  if (!strcmp(key, "psum_bits") && value && !strcmp(value, "min")) {
    c->psum_bits = -1; /* 9 + log2(rows), whatever rows becomes */
    return 0;
  }
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    if (strcmp(key, ints[i].name) != 0) continue;
    uint64_t v;
    if (parse_u64(value, &v) != 0 || v > 0x7fffffff) {
      tern_err(err, errlen, "%s = '%s': expected a non-negative integer", key, value ? value : "");
      return -1;
    }
    *ints[i].field = (int)v;
    return 0;
  }
  if (!strcmp(key, "dram_bytes")) {
    uint64_t v;
    if (parse_u64(value, &v) != 0) {
      tern_err(err, errlen, "dram_bytes = '%s': expected a byte count (e.g. 16777216, 0x1000000, 16M)",
              value ? value : "");
      return -1;
    }
    c->dram_bytes = v;
    return 0;
  }
  if (!strcmp(key, "clock_mhz")) {
    char *end = NULL;
    errno = 0;
    double v = value ? strtod(value, &end) : 0.0;
    if (!value || errno || end == value || *end != '\0' || !(v > 0.0) || v > 1e6) {
      tern_err(err, errlen, "clock_mhz = '%s': expected a positive number", value ? value : "");
      return -1;
    }
    c->clock_mhz = v;
    return 0;
  }
  tern_err(err, errlen,
          "unknown hardware config key '%s' (expected rows, cols, wbuf_depth, abuf_depth, acc_depth, "
          "out_depth, qdepth, imem_depth, dram_bw, dram_lat, dram_bytes, clock_mhz, psum_bits)",
          key);
  return -1;
}
