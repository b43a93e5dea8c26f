/* Hardware configuration of the modelled accelerator (every number a
 * parameter).  The RTL takes the same values as Verilog parameters; the
 * ISA simulator and the compiler read them from this struct. */
#ifndef TERN_HWCFG_H
#define TERN_HWCFG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_hwcfg {
  int rows, cols;      /* array R x C; powers of two, 2..64; vector lanes = cols */
  int wbuf_depth;      /* weight buffer, in tiles (one tile = rows*cols 2-bit codes) */
  int abuf_depth;      /* activation buffer, in words of rows int8 */
  int acc_depth;       /* accumulator / vector memory, in words of cols int32 */
  int out_depth;       /* output buffer, in words of cols int8 */
  int qdepth;          /* instruction FIFO depth per queue */
  int imem_depth;      /* instruction memory, in 128-bit instructions */
  int dram_bw;         /* DRAM bytes per cycle per channel (read and write); power of two */
  int psum_bits;       /* the array's partial-sum width, 9 + log2(rows) .. 32 (0 means 32,
                          -1 the minimum for the rows; --set psum_bits=min):
                          results are identical for every value, only the PEs' adders change
                          (rtl/tern_array.sv PSUM_W; docs/SYNTH.md) */
  int dram_lat;        /* DRAM read latency in cycles, 1..TERN_HW_DRAM_LAT_MAX (harness/runtime
                          parameter) */
  uint64_t dram_bytes; /* DRAM size the runtime allocates */
  double clock_mhz;    /* clock used to turn cycles into tokens/s */
} tern_hwcfg;

/* Largest dram_lat (2^24 cycles): a DMA waiting on DRAM counts as progress
 * for the watchdog, so any latency up to this runs on both backends; the RTL
 * harness holds at most dram_lat beats in flight. */
#define TERN_HW_DRAM_LAT_MAX 16777216

/* Defaults: 16x16, see docs/ARCHITECTURE.md. */
tern_hwcfg tern_hwcfg_default(void);
/* Small configurations used by the RTL tests: "4x4" and "8x8". */
tern_hwcfg tern_hwcfg_small(int rows, int cols);

/* Check every field; returns 0 or -1 with "field = value, expected ..." */
int tern_hwcfg_check(const tern_hwcfg *c, char *err, size_t errlen);

/* The partial-sum width in effect (psum_bits; 0 -> 32, -1 -> the minimum) and the smallest
 * exact one for the rows: 9 + log2(rows) (|sum of rows products| <= 128*rows). */
int tern_hwcfg_psum_bits(const tern_hwcfg *c);
int tern_hwcfg_psum_min(int rows);

/* Canonical name of the parameters that are baked into an RTL build
 * (rows, cols, depths, qdepth, imem, bw, and psum_bits when not 32), e.g.
 * "r16c16_w256_a4096_c4096_o2048_q8_i65536_b16" or "..._b4_p11".
 * dram_lat, dram_bytes and clock are run-time and not part of it. */
void tern_hwcfg_rtl_name(const tern_hwcfg *c, char *buf, size_t len);
/* The parameters of the PE array alone: "r4c4", or "r4c4_p11" with 11-bit partial sums. */
void tern_hwcfg_array_name(const tern_hwcfg *c, char *buf, size_t len);

/* Parse "RxC" into rows/cols; returns 0 or -1 with a message. */
int tern_parse_array(const char *s, int *rows, int *cols, char *err, size_t errlen);

/* Apply "key=value" overrides, e.g. "wbuf_depth=512".  Returns 0 or -1. */
int tern_hwcfg_set(tern_hwcfg *c, const char *key, const char *value, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
