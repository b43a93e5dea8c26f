/* FPGA synthesis of the accelerator RTL (issue 5; runtime/synth.c): Yosys
 * for generic / iCE40 / ECP5 / Xilinx, resources per unit, the array's
 * multiplier / DSP count (must be 0), and for iCE40 nextpnr-ice40 + icetime
 * Fmax with the critical path in words.  Where no open place-and-route
 * exists (ECP5 and Xilinx with the Debian tools) the result carries Yosys'
 * logic-depth estimate instead, labelled as such.
 *
 * The driver writes a Yosys script into opts.outdir and runs the tools as
 * child processes (logs kept there); nothing is hand-counted. */
#ifndef TERN_SYNTH_H
#define TERN_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_synth_target {
  TERN_SYNTH_GENERIC = 0, /* yosys `synth` (internal cells: $_AND_ ... counted as LUT-equivalents) */
  TERN_SYNTH_ICE40 = 1,   /* synth_ice40: SB_LUT4, SB_DFF*, SB_CARRY, SB_RAM40_4K, SB_MAC16 */
  TERN_SYNTH_ECP5 = 2,    /* synth_ecp5: LUT4, TRELLIS_FF, CCU2C, DP16KD, MULT18X18D */
  TERN_SYNTH_XILINX = 3   /* synth_xilinx: LUT1..6, FD*, CARRY4, RAMB18/36, DSP48E1 */
} tern_synth_target;

const char *tern_synth_target_name(tern_synth_target t); /* "generic", "ice40", ... */
/* "generic|ice40|ecp5|xilinx" -> target; -1 with a message naming the value. */
int tern_synth_target_parse(const char *s, tern_synth_target *t, char *err, size_t errlen);

typedef struct tern_synth_opts {
  tern_synth_target target;
  tern_hwcfg hw;        /* rows, cols, buffer depths, qdepth, imem_depth, dram_bw: RTL params */
  const char *device;   /* ice40: "hx8k" (default) or "up5k"; others ignore it */
  int pnr;              /* ice40: 1 = nextpnr-ice40 + icepack + icetime for Fmax */
  double target_mhz;    /* nextpnr --freq (default 100) */
  const char *outdir;   /* scripts, logs, netlist, synth.json (created) */
  int timeout_s;        /* per tool run; 0 = 1800 */
  int array_only;       /* (addition) 1: synthesise tern_array alone (units array and PE only;
                           seconds instead of minutes: the multiplier / DSP check of the tests) */
} tern_synth_opts;

void tern_synth_opts_default(tern_synth_opts *o);
/* Buffer depths `tern synth` starts from (addition): rows x cols with
 * WBUF 64, ABUF 512, ACC 32, OUT 32, QDEPTH 4, IMEM 256, DRAM_BW = rows.
 * ACC and OUT are multi-ported register arrays (flip-flops on every target,
 * docs/SYNTH.md), so their depth is kept small by default; --set changes it. */
tern_hwcfg tern_synth_hw_default(int rows, int cols);

/* Units of the report, in this order. */
enum {
  TERN_SYNTH_U_ARRAY = 0,   /* tern_array incl. all PEs */
  TERN_SYNTH_U_PE = 1,      /* one tern_pe (array / (rows*cols) where flattened) */
  TERN_SYNTH_U_VEC = 2,     /* tern_vec */
  TERN_SYNTH_U_DMA = 3,     /* tern_dma_load + tern_dma_store */
  TERN_SYNTH_U_SCRATCH = 4, /* WBUF, ABUF, ACC, OUT, IMEM storage */
  TERN_SYNTH_U_CONTROL = 5, /* fetch, FIFOs, decode, counters, the rest */
  TERN_SYNTH_U_TOTAL = 6,
  TERN_SYNTH_NUNITS = 7
};

typedef struct tern_synth_unit {
  uint64_t luts;     /* LUTs (LUT4 / LUT6 cells; generic: logic gates) */
  uint64_t ffs;      /* flip-flops */
  uint64_t carries;  /* carry cells (SB_CARRY, CCU2C, CARRY4) */
  uint64_t brams;    /* block RAM cells */
  uint64_t dsps;     /* DSP / hard multiplier cells */
  uint64_t muls;     /* $mul cells as written (netlist after proc + opt_expr, before
                        technology mapping turns them into DSPs or LUT multipliers) */
  uint64_t lutrams;  /* LUT-RAM cells (ECP5 TRELLIS_DPR16X4, Xilinx RAM32M/RAM64M/SRL...) */
  uint64_t other;    /* any other cell (ECP5 PFUMX/L6MUX21, Xilinx MUXF7/8, I/O buffers) */
} tern_synth_unit;

/* The scratchpad memories inside TERN_SYNTH_U_SCRATCH (addition): each is
 * moved into its own Yosys submodule before RAM mapping, so the report
 * shows where each one went (block RAM, LUT RAM or flip-flops). */
enum {
  TERN_SYNTH_M_WBUF = 0,
  TERN_SYNTH_M_ABUF = 1,
  TERN_SYNTH_M_ACC = 2,
  TERN_SYNTH_M_OUT = 3,
  TERN_SYNTH_M_IMEM = 4,
  TERN_SYNTH_NMEMS = 5
};
const char *tern_synth_mem_name(int m); /* "wbuf", "abuf", "acc", "out", "imem" */
const char *tern_synth_unit_name(int u); /* "array", "pe", "vec", "dma", "scratch", "control", "total" */
/* "block RAM", "LUT RAM", "flip-flops", "-" (absent) */
const char *tern_synth_mem_where(const tern_synth_unit *m);

typedef struct tern_synth_result {
  tern_synth_target target;
  char device[16];
  tern_hwcfg hw;
  tern_synth_unit unit[TERN_SYNTH_NUNITS];
  tern_synth_unit mem[TERN_SYNTH_NMEMS]; /* (addition) per scratchpad memory */
  double luts_per_pe, ffs_per_pe;
  int array_mul_free;        /* 1: the array has 0 DSP and 0 multiplier cells */
  /* timing */
  double fmax_mhz;           /* > 0 when place-and-route ran */
  char timing_source[128];   /* "icetime after nextpnr-ice40 --hx8k" or "yosys logic depth (estimate)" */
  char critical_path[512];   /* in words: from which register to which, through what */
  int logic_depth;           /* Yosys' longest combinational path in cells (estimate), -1 unknown */
  int fits;                  /* ice40: 1 = placed on the device; -1 not tried */
  char fit_note[256];        /* utilisation or why it does not fit */
  double seconds;            /* wall clock of the tools */
} tern_synth_result;

/* Runs the flow.  log (may be NULL) gets one line per tool step.  0, or -1
 * with a message naming the tool, the log file and the first error line. */
int tern_synth_run(const tern_synth_opts *o, tern_synth_result *r, FILE *log, char *err,
                   size_t errlen);
/* The result as a table (text) and as JSON (one object; keys as the struct). */
void tern_synth_print(FILE *f, const tern_synth_result *r);
int tern_synth_write_json(FILE *f, const tern_synth_result *r);
/* Reads a JSON written by tern_synth_write_json (sweeps merge result files). */
int tern_synth_read_json(const char *path, tern_synth_result *r, char *err, size_t errlen);

/* (addition) The `tern synth` command line (argv[1] = "synth"):
 *   --target generic|ice40|ecp5|xilinx --array RxC [--set key=value]...
 *   [--device hx8k|up5k] [--no-pnr] [--freq MHZ] [--timeout S] [--out DIR] [--json FILE]
 * --set is applied after --array, whatever the order.  *json_path gets the
 * --json value (NULL if absent).  0, or -1 with a message naming the option. */
int tern_synth_parse_args(int argc, char **argv, tern_synth_opts *o, const char **json_path,
                          int *help, char *err, size_t errlen);
const char *tern_synth_usage(void);

#ifdef __cplusplus
}
#endif
#endif
