/* Design-space sweeps (runtime/sweep.c; issue 5 items 3-4, docs/SWEEP.md):
 * `tern sweep SPEC` runs one workload (a model preset or file, a prefill and
 * a number of decode steps) on many accelerator configurations with the
 * cycle model (the ISA simulator, whose cycle model equals the RTL's), RTL
 * validation on chosen points and FPGA synthesis per distinct RTL
 * configuration (include/tern/synth.h), and writes one JSON file per point;
 * `tern sweep-merge DIR` merges the point files (from any number of
 * machines) into DIR/sweep.csv, DIR/sweep.json and the report.
 *
 * SPEC is an INI file (libinih, the model description parser of
 * models/model_common.c):
 *
 *   [workload]
 *   name = sweep-tiny          ; optional, default the file's base name
 *   model = tiny               ; preset (tern models) or model file (relative to the spec)
 *   prefill = 8                ; prefill tokens (one step of M = prefill)
 *   decode = 8                 ; decode steps of one token after the prefill
 *   backend = isa              ; isa (default) or rtl for every point
 *   tech = 45nm                ; energy table reports/tech/<tech>.tsv
 *   rtl_validate = first 2     ; none (default), all, first N, or point indices "0, 3, 5"
 *   synth = ice40              ; none (default), generic, ice40, ecp5, xilinx
 *   synth_device = hx8k        ; ice40: hx8k (default) or up5k
 *   synth_fmax = true          ; ice40: nextpnr-ice40 + icetime for Fmax (default false)
 *   synth_timeout = 1800       ; seconds per tool run
 *   synth_set = acc_depth=32 out_depth=32 ; synthesise each point with these changes
 *   synth_scope = design       ; design (default: the whole accelerator) or array (the
 *                              ; PE array alone: seconds per array size, no buffers)
 *                              ;   (labelled in the point and the report; default none)
 *   [hw]                       ; optional: the base configuration of every point
 *   wbuf_depth = 64            ;   (default tern_hwcfg_default(); any key of --set, or array)
 *   [grid]                     ; the cartesian product, first key outermost
 *   array = 4x4, 8x8, 16x16    ;   (array = RxC sets rows and cols)
 *   dram_bw = 4, 8, 16
 *   ; or, instead of [grid], a list of points:
 *   [points]
 *   point = array=4x4 dram_bw=4
 *   point = array=8x8 dram_bw=8 wbuf_depth=128
 *
 * Every error names the file, the line, the field and the expected value. */
#ifndef TERN_SWEEP_H
#define TERN_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/backend.h"
#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_SWEEP_MAX_KEYS 16     /* grid keys */
#define TERN_SWEEP_MAX_VALUES 64   /* values of one grid key */
#define TERN_SWEEP_MAX_POINTS 4096
#define TERN_SWEEP_LABEL 160

typedef struct tern_sweep_spec {
  char path[1024];    /* the spec file as given ("<string>" when parsed from text) */
  char name[64];      /* [workload] name */
  char model[1024];   /* preset name, or a model file (resolved against the spec's directory) */
  int prefill, decode;
  char backend[8];    /* "isa" or "rtl" */
  char tech[32];
  int synth;          /* -1 none, else a tern_synth_target */
  char synth_device[16];
  int synth_fmax;     /* 1: place and route for Fmax (ice40) */
  int synth_timeout;  /* seconds, 0 = the synth driver's default */
  int synth_array_only; /* synth_scope = array: the PE array alone (tern synth --array-only),
                           one run per array size; 0 (design): the whole accelerator */
  char synth_set[128]; /* "key=value ..." applied to each point's configuration before synthesis
                          (buffer depths, qdepth, imem_depth; "" = synthesise it as measured) */
  tern_hwcfg base;    /* [hw] applied to tern_hwcfg_default() */
  int npoints;
  tern_hwcfg *hw;     /* npoints configurations (owned) */
  char (*label)[TERN_SWEEP_LABEL]; /* npoints "array=4x4 dram_bw=4" (owned) */
  unsigned char *rtl; /* npoints flags: 1 = validate on the RTL (owned) */
  tern_run_opts run;  /* watchdog / max_cycles of every program of every point: not in the spec,
                         from tern sweep --watchdog / --max-cycles (0 = defaults); the job lists
                         pass them on to each point's command */
} tern_sweep_spec;

/* Parses spec text; what names it in messages ("file"), base_dir resolves a
 * relative model file (may be NULL).  0, or -1 with "what:line: ...". */
int tern_sweep_spec_parse(const char *text, const char *what, const char *base_dir,
                          tern_sweep_spec *s, char *err, size_t errlen);
int tern_sweep_spec_load(const char *path, tern_sweep_spec *s, char *err, size_t errlen);
void tern_sweep_spec_free(tern_sweep_spec *s);

/* ---- one point ------------------------------------------------------------------- */

/* The fields of a point file, X(type, name): I int64, U uint64, D double,
 * S string, B 0/1.  The JSON object and the CSV columns have these keys in
 * this order. */
#define TERN_SWEEP_FIELDS(X)                                                                  \
  X(I, index) X(I, n_points) X(S, sweep) X(S, label) X(S, model) X(S, family)                 \
  X(U, params_total) X(U, params_ternary) X(S, backend) X(S, tech)                            \
  X(I, rows) X(I, cols) X(I, pes) X(I, wbuf_depth) X(I, abuf_depth) X(I, acc_depth)           \
  X(I, out_depth) X(I, qdepth) X(I, imem_depth) X(I, dram_bw) X(I, psum_bits) X(I, dram_lat)  \
  X(U, dram_bytes)                                                                            \
  X(D, clock_mhz) X(S, rtl_name)                                                              \
  X(I, prefill_tokens) X(U, prefill_cycles) X(D, prefill_tokens_per_s)                        \
  X(D, prefill_uj_per_token) X(U, prefill_dram_rd_bytes) X(U, prefill_dram_wr_bytes)          \
  X(U, prefill_weight_bytes) X(D, prefill_array_util)                                         \
  X(I, decode_tokens) X(U, decode_cycles) X(D, decode_cycles_per_token)                       \
  X(D, decode_tokens_per_s) X(D, decode_uj_per_token) X(D, decode_dram_rd_bytes_per_token)    \
  X(D, decode_dram_wr_bytes_per_token) X(D, decode_weight_bytes_per_token)                    \
  X(D, decode_array_util) X(D, decode_dram_roofline)                                          \
  X(S, synth_target) X(S, synth_device) X(S, synth_scope) X(S, synth_set)                     \
  X(S, synth_rtl_name)                                                                        \
  X(B, synth_cached) X(S, synth_error)                                                        \
  X(U, synth_luts) X(U, synth_ffs) X(U, synth_carries) X(U, synth_brams) X(U, synth_dsps)     \
  X(U, synth_array_luts) X(U, synth_array_ffs) X(U, synth_array_dsps) X(D, synth_luts_per_pe) \
  X(D, synth_ffs_per_pe) X(I, synth_array_mul_free) X(D, synth_fmax_mhz)                      \
  X(S, synth_timing_source) X(I, synth_logic_depth) X(I, synth_fits) X(D, synth_seconds)      \
  X(D, decode_tokens_per_s_at_fmax)                                                           \
  X(B, rtl_validated) X(U, rtl_prefill_cycles) X(U, rtl_decode_cycles) X(B, rtl_equal)        \
  X(S, rtl_note) X(D, rtl_seconds) X(D, run_seconds) X(S, host)

#define TERN_SWEEP_T_I int64_t
#define TERN_SWEEP_T_U uint64_t
#define TERN_SWEEP_T_D double
#define TERN_SWEEP_T_B int
#define TERN_SWEEP_STR 256

typedef struct tern_sweep_point {
#define TERN_SWEEP_DECL_I(n) int64_t n;
#define TERN_SWEEP_DECL_U(n) uint64_t n;
#define TERN_SWEEP_DECL_D(n) double n;
#define TERN_SWEEP_DECL_B(n) int n;
#define TERN_SWEEP_DECL_S(n) char n[TERN_SWEEP_STR];
#define TERN_SWEEP_DECL(t, n) TERN_SWEEP_DECL_##t(n)
  TERN_SWEEP_FIELDS(TERN_SWEEP_DECL)
#undef TERN_SWEEP_DECL
} tern_sweep_point;

/* Runs point k of s: the workload with the cycle model (s->backend), the RTL
 * when s->rtl[k] (every counter of every program must be equal), synthesis
 * when s->synth >= 0 (cached per configuration and target in
 * outdir/synth/<target>[-<device>][-pnr]/<rtl name>/, serialised with a
 * lock file when points run in parallel), and writes
 * outdir/points/p<k>.json (4 digits).  log (may be NULL) gets progress
 * lines.  Returns 0; 1 when the point was written but its RTL validation
 * differed or failed or its synthesis failed (the point file says why); -1
 * with a message when nothing was written; -2 for bad arguments. */
int tern_sweep_run_point(const tern_sweep_spec *s, int k, const char *outdir,
                         tern_sweep_point *p, FILE *log, char *err, size_t errlen);

/* Point file I/O (flat JSON object, keys of TERN_SWEEP_FIELDS). */
int tern_sweep_point_write(FILE *f, const tern_sweep_point *p);
int tern_sweep_point_read(const char *path, tern_sweep_point *p, char *err, size_t errlen);

/* ---- merge ------------------------------------------------------------------------- */

typedef struct tern_sweep_result {
  char dir[1024];
  int n;                   /* point files read, sorted by index */
  tern_sweep_point *pt;    /* owned */
  int *pareto;             /* per point: 1 on the front (max decode tokens/s, min LUTs),
                              0 dominated, -1 no synthesis numbers */
  int n_expected;          /* n_points recorded in the files (the largest) */
  int n_missing;           /* indices 0 .. n_expected-1 without a file */
  int missing[16];         /* the first of them */
  int has_synth;           /* any point with synthesis numbers */
} tern_sweep_result;

void tern_sweep_result_free(tern_sweep_result *r);

/* Reads DIR/points/p*.json and writes DIR/sweep.csv (one row per point,
 * the columns of TERN_SWEEP_FIELDS plus pareto) and DIR/sweep.json (an
 * array of the point objects, each with "pareto").  0, or -1 with a message
 * (no point file, an unreadable one, two files with the same index). */
int tern_sweep_merge(const char *dir, tern_sweep_result *r, char *err, size_t errlen);

/* Pareto front of n points, maximising a[] and minimising b[]; points with
 * valid[i] == 0 (valid may be NULL) are not on it (front[i] = -1).  front[i]
 * = 1 when no other valid point j has a[j] >= a[i] and b[j] <= b[i] with one
 * of them strict; 0 otherwise.  Returns the number of points on the front. */
int tern_sweep_pareto(int n, const double *a, const double *b, const int *valid, int *front);

/* ---- running many points ---------------------------------------------------------- */

typedef enum tern_sweep_emit_kind {
  TERN_SWEEP_EMIT_MAKE = 0,     /* DIR/Makefile: one target per point; make -jN */
  TERN_SWEEP_EMIT_SLURM = 1,    /* DIR/sweep.slurm: a Slurm job array, one task per point */
  TERN_SWEEP_EMIT_PARALLEL = 2  /* DIR/sweep.jobs (GNU parallel command list, one line per
                                   point) and DIR/sweep-parallel.sh (local or --sshloginfile) */
} tern_sweep_emit_kind;

int tern_sweep_emit_parse(const char *s, tern_sweep_emit_kind *k, char *err, size_t errlen);

/* Writes the job description of kind k for spec_path (absolute) into
 * outdir (absolute) to f; tern_exe is the absolute path of the tern binary
 * the jobs run.  For PARALLEL this is the command list; the wrapper script
 * comes from tern_sweep_emit_files. */
int tern_sweep_emit_text(FILE *f, tern_sweep_emit_kind k, const tern_sweep_spec *s,
                         const char *spec_path, const char *outdir, const char *tern_exe);
/* Creates outdir (points/, logs/) and writes the file(s) of kind k; the path
 * of the main file into path (may be NULL).  0 or -1 with a message. */
int tern_sweep_emit_files(tern_sweep_emit_kind k, const tern_sweep_spec *s, const char *spec_path,
                          const char *outdir, const char *tern_exe, char *path, size_t pathlen,
                          char *err, size_t errlen);

/* ---- the command line ---------------------------------------------------------------- */

typedef struct tern_sweep_args {
  const char *spec;
  const char *out;      /* --out DIR (default reports/out/sweep-<name>) */
  int jobs;             /* --jobs N (default 2) */
  int emit;             /* -1 none, else a tern_sweep_emit_kind */
  int point;            /* --point K, -1 = all */
  tern_run_opts run;    /* --watchdog N, --max-cycles N (0 = defaults) */
} tern_sweep_args;

const char *tern_sweep_usage(void);
const char *tern_sweep_merge_usage(void);
/* argv[1] is "sweep".  *help = 1 for --help.  0 or -1 with a message naming
 * the flag and the expected value. */
int tern_sweep_parse_args(int argc, char **argv, tern_sweep_args *a, int *help, char *err,
                          size_t errlen);

/* `tern sweep` without --point and --emit: writes DIR/Makefile and runs
 * `make -f DIR/Makefile -k -j jobs points` (each point is `tern_exe sweep
 * SPEC --point K --out DIR`, its output in DIR/logs/); the caller merges.
 * Returns 0, 1 when a point failed (make's status), -1 / -2 with a message. */
int tern_sweep_run_local(const tern_sweep_spec *s, const char *spec_path, const char *outdir,
                         int jobs, const char *tern_exe, FILE *out, char *err, size_t errlen);

/* The commands: `tern sweep ...` and `tern sweep-merge DIR` (argv[1] is the
 * command; exit status 0 ok, 1 a point failed / differed / is missing, 2 bad
 * arguments or spec). */
int tern_sweep_main(int argc, char **argv);
int tern_sweep_merge_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
