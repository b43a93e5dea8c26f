/* Energy model: counters x technology table (include/tern/energy.h). */
#include "tern/err.h"
#include "tern/energy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/isa.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

static const char *const key_names[TERN_TK_COUNT] = {
#define X(e, k, u) k,
    TERN_TECH_KEYS(X)
#undef X
};
static const char *const key_units[TERN_TK_COUNT] = {
#define X(e, k, u) u,
    TERN_TECH_KEYS(X)
#undef X
};
static const char *const comp_names[TERN_EC_COUNT] = {
#define X(e, s) s,
    TERN_ENERGY_COMPONENTS(X)
#undef X
};

const char *tern_tech_key_name(int key) {
  return key >= 0 && key < TERN_TK_COUNT ? key_names[key] : "?";
}
const char *tern_tech_key_unit(int key) {
  return key >= 0 && key < TERN_TK_COUNT ? key_units[key] : "?";
}
const char *tern_energy_component_name(int c) {
  return c >= 0 && c < TERN_EC_COUNT ? comp_names[c] : "?";
}

/* Copy one line (without '\n' / '\r') into buf; returns its length or -1 if too long. */
static int take_line(const char *s, size_t n, char *buf, size_t cap) {
  while (n > 0 && (s[n - 1] == '\r')) n--;
  if (n + 1 > cap) return -1;
  memcpy(buf, s, n);
  buf[n] = 0;
  return (int)n;
}

int tern_tech_parse(const char *text, const char *fname, tern_tech *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s", fname ? fname : "<table>");
  const char *fn = t->path;
  int seen[TERN_TK_COUNT] = {0};
  int lineno = 0;
  const char *p = text;
  char line[1024];
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    lineno++;
    if (take_line(p, len, line, sizeof line) < 0) {
      tern_err(err, errlen, "%s:%d: line longer than %zu characters", fn, lineno, sizeof line - 1);
      return -1;
    }
    p = nl ? nl + 1 : p + len;
    /* blank or comment */
    const char *q = line;
    while (*q == ' ' || *q == '\t') q++;
    if (*q == 0) continue;
    if (*q == '#') {
      if (t->title[0] == 0) {
        q++;
        while (*q == ' ') q++;
        snprintf(t->title, sizeof t->title, "%s", q);
      }
      continue;
    }
    /* split on TAB: exactly 4 fields */
    char *f[5] = {0};
    int nf = 0;
    char *s = line;
    f[nf++] = s;
    for (; *s; s++) {
      if (*s == '\t') {
        *s = 0;
        if (nf >= 5) break;
        f[nf++] = s + 1;
      }
    }
    if (nf != 4) {
      tern_err(err, errlen,
              "%s:%d: expected 4 TAB-separated fields (key, value, unit, source), got %d", fn,
              lineno, nf > 4 ? 5 : nf);
      return -1;
    }
    int key = -1;
    for (int k = 0; k < TERN_TK_COUNT; k++)
      if (strcmp(f[0], key_names[k]) == 0) key = k;
    if (key < 0) {
      char known[512] = "";
      for (int k = 0; k < TERN_TK_COUNT; k++) {
        strncat(known, key_names[k], sizeof known - strlen(known) - 1);
        if (k + 1 < TERN_TK_COUNT) strncat(known, ", ", sizeof known - strlen(known) - 1);
      }
      tern_err(err, errlen, "%s:%d: unknown key '%s', expected one of: %s", fn, lineno, f[0],
              known);
      return -1;
    }
    if (seen[key]) {
      tern_err(err, errlen, "%s:%d: duplicate key '%s' (first on line %d)", fn, lineno, f[0],
              t->line[key]);
      return -1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(f[1], &end);
    if (f[1][0] == 0 || end == f[1] || *end != 0 || errno != 0 || !isfinite(v) || v < 0) {
      tern_err(err, errlen, "%s:%d: key '%s': value '%s', expected a finite number >= 0 (pJ)", fn,
              lineno, f[0], f[1]);
      return -1;
    }
    if (strcmp(f[2], key_units[key]) != 0) {
      tern_err(err, errlen, "%s:%d: key '%s': unit '%s', expected '%s'", fn, lineno, f[0], f[2],
              key_units[key]);
      return -1;
    }
    const char *src = f[3];
    while (isspace((unsigned char)*src)) src++;
    if (*src == 0) {
      tern_err(err, errlen, "%s:%d: key '%s': empty source, expected where the number comes from",
              fn, lineno, f[0]);
      return -1;
    }
    seen[key] = 1;
    t->pj[key] = v;
    t->line[key] = lineno;
    snprintf(t->source[key], sizeof t->source[key], "%s", src);
  }
  for (int k = 0; k < TERN_TK_COUNT; k++) {
    if (!seen[k]) {
      tern_err(err, errlen, "%s:%d: end of file: missing key '%s' (unit %s)", fn, lineno + 1,
              key_names[k], key_units[k]);
      return -1;
    }
  }
  return 0;
}

int tern_tech_load(const char *path, tern_tech *t, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    tern_err(err, errlen, "%s: cannot open technology table: %s", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    tern_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 >= cap) {
      if (cap > (1u << 24)) {
        free(buf);
        fclose(f);
        tern_err(err, errlen, "%s: file larger than 16 MB, expected a small TSV table", path);
        return -1;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        tern_err(err, errlen, "%s: out of memory", path);
        return -1;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  buf[n] = 0;
  if (memchr(buf, 0, n)) {
    free(buf);
    tern_err(err, errlen, "%s: contains a NUL byte, expected a text TSV table", path);
    return -1;
  }
  int rc = tern_tech_parse(buf, path, t, err, errlen);
  free(buf);
  return rc;
}

int tern_tech_path(const char *node, char *buf, size_t len, char *err, size_t errlen) {
  if (!node || !*node || strchr(node, '/') || strchr(node, '.')) {
    tern_err(err, errlen, "--tech: '%s', expected a node name such as 45nm or 7nm",
            node ? node : "");
    return -1;
  }
  const char *dir = getenv("TERN_TECH_DIR");
  if (!dir || !*dir) dir = TERN_ROOT "/reports/tech";
  int n = snprintf(buf, len, "%s/%s.tsv", dir, node);
  if (n < 0 || (size_t)n >= len) {
    tern_err(err, errlen, "technology table path too long");
    return -1;
  }
  return 0;
}

uint64_t tern_energy_buffer_bytes(const tern_hwcfg *cfg, int mem) {
  return (uint64_t)tern_mem_word_bytes(cfg, mem) * tern_mem_depth(cfg, mem);
}

int tern_energy_sram_class(uint64_t bytes) {
  if (bytes <= 8u * 1024) return TERN_TK_SRAM_8KB;
  if (bytes <= 32u * 1024) return TERN_TK_SRAM_32KB;
  return TERN_TK_SRAM_1MB;
}

int tern_energy_compute(const tern_tech *t, const tern_hwcfg *cfg, const tern_counters *c,
                        uint64_t macs, uint64_t weights, int tokens, tern_energy *e, char *err,
                        size_t errlen) {
  memset(e, 0, sizeof *e);
  if (cfg->rows <= 0 || cfg->cols <= 0) {
    tern_err(err, errlen, "energy: configuration rows = %d, cols = %d, expected >= 1", cfg->rows,
            cfg->cols);
    return -1;
  }
  if (tokens <= 0) {
    tern_err(err, errlen, "energy: tokens = %d, expected >= 1", tokens);
    return -1;
  }
  const uint64_t *v = c->v;
  const double R = cfg->rows, C = cfg->cols;
  /* word widths in units of 64 bits */
  const double w_wbuf = R * C * 2.0 / 64.0, w_abuf = R * 8.0 / 64.0;
  const double w_acc = C * 32.0 / 64.0, w_out = C * 8.0 / 64.0;
  e->wbuf_class = tern_energy_sram_class(tern_energy_buffer_bytes(cfg, TERN_MEM_WBUF));
  e->abuf_class = tern_energy_sram_class(tern_energy_buffer_bytes(cfg, TERN_MEM_ABUF));
  e->acc_class = tern_energy_sram_class(tern_energy_buffer_bytes(cfg, TERN_MEM_ACC));
  e->out_class = tern_energy_sram_class(tern_energy_buffer_bytes(cfg, TERN_MEM_OUT));
  const double a32 = t->pj[TERN_TK_INT32_ADD], m32 = t->pj[TERN_TK_INT32_MUL];

  e->pj[TERN_EC_ARRAY] = (double)v[TERN_CNT_PE_ADDS] * a32;
  e->pj[TERN_EC_SKIP] = 0.0;
  e->pj[TERN_EC_WBUF] =
      (double)(v[TERN_CNT_WBUF_RD] + v[TERN_CNT_WBUF_WR]) * w_wbuf * t->pj[e->wbuf_class];
  e->pj[TERN_EC_ABUF] =
      (double)(v[TERN_CNT_ABUF_RD] + v[TERN_CNT_ABUF_WR]) * w_abuf * t->pj[e->abuf_class];
  e->pj[TERN_EC_ACC] =
      (double)(v[TERN_CNT_ACC_RD] + v[TERN_CNT_ACC_WR]) * w_acc * t->pj[e->acc_class];
  e->pj[TERN_EC_OUT] =
      (double)(v[TERN_CNT_OUT_RD] + v[TERN_CNT_OUT_WR]) * w_out * t->pj[e->out_class];
  /* LUT: 256 x 32 bit = 1 KB -> 8 KB class; one 32-bit read per lane (LUT), one 32-bit write
   * per lane (LUTLD). */
  e->pj[TERN_EC_LUT] = (double)(v[TERN_CNT_VOP_LUT] + v[TERN_CNT_VOP_LUTLD]) * C * (32.0 / 64.0) *
                       t->pj[TERN_TK_SRAM_8KB];
  /* vector ALU: VOP counters count words of C lanes (E, Q, R kinds) or rows (S kind) */
  double valu = 0;
  valu += (double)(v[TERN_CNT_VOP_ADD] + v[TERN_CNT_VOP_SUB] + v[TERN_CNT_VOP_MAX] +
                   v[TERN_CNT_VOP_MIN]) *
          C * a32;
  valu += (double)(v[TERN_CNT_VOP_MULSHR] + v[TERN_CNT_VOP_QUANT]) * C * m32;
  valu += (double)(v[TERN_CNT_VOP_RSUM] + v[TERN_CNT_VOP_RMAXABS]) * C * a32;
  valu += (double)v[TERN_CNT_VOP_RSUMSQ] * C * (m32 + a32);
  valu += (double)(v[TERN_CNT_VOP_RECIP] + v[TERN_CNT_VOP_RSQRT]) * 64.0 * a32;
  e->pj[TERN_EC_VALU] = valu;
  /* MAC8 (ISA v2): each VOP_MAC8 event is one B word = C int8 x int8 products
   * accumulated into 32-bit lanes */
  e->pj[TERN_EC_MAC8] = (double)v[TERN_CNT_VOP_MAC8] * C * t->pj[TERN_TK_INT8_MAC];
  e->pj[TERN_EC_DRAM] = (double)(v[TERN_CNT_DRAM_RD_BYTES] + v[TERN_CNT_DRAM_WR_BYTES]) * 8.0 /
                        64.0 * t->pj[TERN_TK_DRAM];
  e->total_pj = 0;
  for (int i = 0; i < TERN_EC_COUNT; i++) e->total_pj += e->pj[i];

  e->macs = macs;
  e->weights = weights;
  e->tokens = tokens;
  e->tern_arith_pj = e->pj[TERN_EC_ARRAY];
  const double dram_bit = t->pj[TERN_TK_DRAM] / 64.0;
  e->tern_wdram_pj = (double)weights * 2.0 * dram_bit;
  e->fp16_arith_pj = (double)macs * (t->pj[TERN_TK_FP16_MUL] + t->pj[TERN_TK_FP16_ADD]);
  e->fp16_wdram_pj = (double)weights * 16.0 * dram_bit;
  e->int8_arith_pj = (double)macs * (t->pj[TERN_TK_INT8_MUL] + a32);
  e->int8_wdram_pj = (double)weights * 8.0 * dram_bit;
  return 0;
}

const char *tern_energy_assumptions(void) {
  return "array: each PE add/subtract (PE_ADDS) is charged one INT32 add, because the PE adds the "
         "int8 activation into a 32-bit partial sum (rtl/tern_pe.sv); an INT8 add would "
         "understate it\n"
         "array zero skips (PE_SKIPS): 0 pJ (the PE passes its partial sum on; clock and register "
         "energy are not modelled)\n"
         "SRAM: (reads + writes) x word bits / 64 x the 64-bit read energy of the smallest size "
         "class (8 KB, 32 KB, 1 MB) that holds the buffer; writes cost the same as reads; an OUT8 "
         "byte access (byte enable) is charged as a whole OUT word\n"
         "LUT (256 x 32 bit): one 32-bit 8 KB-class access per lane for LUT and LUTLD\n"
         "vector ALU, per lane: ADD/SUB/MAX/MIN, RSUM, RMAXABS = INT32 add; MULSHR, QUANT = INT32 "
         "mul; RSUMSQ = INT32 mul + INT32 add; RECIP/RSQRT = 64 INT32 adds per row (sequential "
         "divider / square root)\n"
         "vector int8 MACs (MAC8): VOP_MAC8 x C lanes x int8_mac (one 8-bit multiply + one 32-bit "
         "add per lane)\n"
         "DRAM: (read + written bytes) x 8 / 64 x the per-64-bit DRAM energy\n"
         "not modelled: clock tree, registers, FIFOs, instruction fetch, leakage\n"
         "baselines: the same M*K*N MACs; FP16 MAC = FP16 mul + FP16 add; INT8 MAC = INT8 mul + "
         "INT32 add (32-bit accumulator, like the ternary array); weight DRAM = every weight read "
         "once per forward pass at 16 / 8 / 2 bits";
}
