/* Energy model: event counters x a per-technology energy table
 * (reports/tech/<node>.tsv), plus FP16 / INT8 MAC-array baselines.
 * runtime/energy.c.  Every assumption is spelled out in the table files'
 * comments and in tern_energy_assumptions(). */
#ifndef TERN_ENERGY_H
#define TERN_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#include "tern/counters.h"
#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Keys of a technology table, X(enum suffix, key in the file, unit in the file). */
#define TERN_TECH_KEYS(X)              \
  X(INT8_ADD, "int8_add", "pJ/op")     \
  X(INT32_ADD, "int32_add", "pJ/op")   \
  X(INT8_MUL, "int8_mul", "pJ/op")     \
  X(INT32_MUL, "int32_mul", "pJ/op")   \
  X(FP16_ADD, "fp16_add", "pJ/op")     \
  X(FP16_MUL, "fp16_mul", "pJ/op")     \
  X(FP32_ADD, "fp32_add", "pJ/op")     \
  X(FP32_MUL, "fp32_mul", "pJ/op")     \
  X(SRAM_8KB, "sram_8kb_64b", "pJ/64b") \
  X(SRAM_32KB, "sram_32kb_64b", "pJ/64b") \
  X(SRAM_1MB, "sram_1mb_64b", "pJ/64b") \
  X(DRAM, "dram_64b", "pJ/64b")        \
  X(INT8_MAC, "int8_mac", "pJ/op")

enum tern_tech_key {
#define X(e, k, u) TERN_TK_##e,
  TERN_TECH_KEYS(X)
#undef X
  TERN_TK_COUNT
};

typedef struct tern_tech {
  char path[512];                    /* file it was read from */
  double pj[TERN_TK_COUNT];          /* energy in pJ (per op or per 64-bit access) */
  char source[TERN_TK_COUNT][192];   /* the source column */
  int line[TERN_TK_COUNT];           /* line of the file */
  char title[192];                   /* first comment line ("# ...") of the file, without "# " */
} tern_tech;

const char *tern_tech_key_name(int key);
const char *tern_tech_key_unit(int key);

/* Parse a table.  Format: '#' comment lines and blank lines are ignored;
 * every other line is exactly four TAB-separated fields
 *   key <TAB> value <TAB> unit <TAB> source
 * value a finite number >= 0 in pJ, unit exactly the key's unit
 * ("pJ/op" or "pJ/64b"), source non-empty.  Unknown key, duplicate key,
 * bad value/unit or a wrong field count -> -1 with "file:line: ...";
 * a missing key -> -1 with "file:line: end of file: missing key ...". */
int tern_tech_parse(const char *text, const char *fname, tern_tech *t, char *err, size_t errlen);
int tern_tech_load(const char *path, tern_tech *t, char *err, size_t errlen);
/* Node name ("45nm", "7nm") -> path <repo>/reports/tech/<node>.tsv
 * ($TERN_TECH_DIR overrides the directory).  Rejects names with '/' . */
int tern_tech_path(const char *node, char *buf, size_t len, char *err, size_t errlen);

/* Energy components of a run. */
#define TERN_ENERGY_COMPONENTS(X)                                           \
  X(ARRAY, "array adds")                                                    \
  X(SKIP, "array zero skips")                                               \
  X(WBUF, "WBUF SRAM")                                                      \
  X(ABUF, "ABUF SRAM")                                                      \
  X(ACC, "ACC SRAM")                                                        \
  X(OUT, "OUT SRAM")                                                        \
  X(LUT, "LUT SRAM")                                                        \
  X(VALU, "vector ALU")                                                     \
  X(MAC8, "vector int8 MACs")                                               \
  X(DRAM, "DRAM")

enum tern_energy_component {
#define X(e, s) TERN_EC_##e,
  TERN_ENERGY_COMPONENTS(X)
#undef X
  TERN_EC_COUNT
};

const char *tern_energy_component_name(int c);

typedef struct tern_energy {
  double pj[TERN_EC_COUNT]; /* whole run, per component */
  double total_pj;          /* sum of pj[] */
  /* which SRAM size class (TERN_TK_SRAM_*) each buffer was charged at */
  int wbuf_class, abuf_class, acc_class, out_class;
  /* baselines for the same work (whole run) */
  uint64_t macs;            /* M * sum K*N */
  uint64_t weights;         /* ternary weights of the model */
  int tokens;               /* M */
  double tern_arith_pj;     /* = pj[ARRAY]: the ternary array's adds */
  double tern_wdram_pj;     /* weights read once from DRAM at 2 bits each */
  double fp16_arith_pj;     /* macs * (fp16_mul + fp16_add) */
  double fp16_wdram_pj;     /* weights read once at 16 bits each */
  double int8_arith_pj;     /* macs * (int8_mul + int32_add) */
  double int8_wdram_pj;     /* weights read once at 8 bits each */
} tern_energy;

/* bytes of each on-chip buffer for a configuration */
uint64_t tern_energy_buffer_bytes(const tern_hwcfg *cfg, int mem /* TERN_MEM_* */);
/* TERN_TK_SRAM_8KB / 32KB / 1MB: the smallest size class that holds bytes
 * (1 MB for anything larger: an extrapolation, flagged by the report). */
int tern_energy_sram_class(uint64_t bytes);

/* counters x table.  macs/weights/tokens feed the baselines. */
int tern_energy_compute(const tern_tech *t, const tern_hwcfg *cfg, const tern_counters *c,
                        uint64_t macs, uint64_t weights, int tokens, tern_energy *e, char *err,
                        size_t errlen);

/* Human-readable list of the modelling assumptions (static text, lines
 * separated by '\n'), printed by the CLI and the report. */
const char *tern_energy_assumptions(void);

#ifdef __cplusplus
}
#endif
#endif
