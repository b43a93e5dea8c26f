/* `tern compare` (runtime/compare.c; issue 4 "Comparison report"): decode
 * cost per token against the context length for transformer and recurrent
 * presets on the accelerator, measured from runs.
 *
 * For every model and context L it runs ONE decode step on a backend (isa or
 * rtl): the token at position L-1, which attends to / has seen L positions.
 * Reaching position L-1 by a real (L-1)-token prefill would be slow at
 * L = 8192, so a fresh step runner prefills `prefill` tokens (positions
 * 0 .. prefill-1), seeks to L-1 (tern_tfm_exec_seek / tern_rnn_exec_seek:
 * the KV-cache positions that no step wrote hold zeros, the recurrent state
 * holds what the prefill left) and runs the decode step.  This is exact for
 * the cost because the accelerator's cycles and event counters do not depend
 * on data values (docs/ISA.md: every duration and counter is a function of
 * the instruction fields and the weights' zero pattern); tests/test_compare.cc
 * checks it: after a real (L-1)-token prefill and after the short prefill +
 * seek the decode step's programs have identical counters, all of them, for
 * the transformer and each recurrent kind.
 *
 * Every number comes from the run: cycles and all DRAM bytes from the
 * counters, energy = counters x the technology table (runtime/energy.c),
 * ternary weight bytes = WBUF_WR x tile bytes.  The KV-cache and recurrent
 * state bytes are the DRAM bytes of the executed LOAD / STORE instructions
 * whose address lies in the KV / state region of the memory plan (programs
 * are straight-line, every DMA runs once); per program the classified bytes
 * are checked to sum to its DRAM_RD_BYTES / DRAM_WR_BYTES counters. */
#ifndef TERN_COMPARE_H
#define TERN_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/backend.h"
#include "tern/counters.h"
#include "tern/energy.h"
#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_COMPARE_MAX_MODELS 8
#define TERN_COMPARE_MAX_CONTEXTS 24

typedef struct tern_compare_config {
  const char *models[TERN_COMPARE_MAX_MODELS]; /* presets or description files */
  int n_models;                  /* default 3: tiny hawk-tiny griffin-tiny */
  int contexts[TERN_COMPARE_MAX_CONTEXTS];     /* strictly increasing, each > prefill */
  int n_contexts;                /* default 8: 64, 128, ..., 8192 */
  const char *backend;           /* "isa" (default) or "rtl" */
  tern_hwcfg hw;                 /* default tern_hwcfg_default() (16x16) */
  const char *tech;              /* energy table node: "45nm" (default) or "7nm" */
  int prefill;                   /* real prefill tokens before the seek (default 4) */
  const char *report_dir;        /* --report DIR or NULL */
  tern_run_opts run;             /* watchdog / max_cycles of every program (0 = defaults;
                                    --watchdog, --max-cycles) */
} tern_compare_config;

void tern_compare_config_default(tern_compare_config *c);

/* `tern compare [MODEL ...] [--contexts L,L,...] [--backend isa|rtl]
 * [--array RxC] [--set k=v]... [--tech NODE] [--prefill N] [--report DIR]
 * [--watchdog N] [--max-cycles N]`.
 * argv[1] is "compare".  *help = 1 for --help / -h.  0, or -1 with a message
 * naming the flag and the expected value. */
int tern_compare_parse_args(int argc, char **argv, tern_compare_config *c, int *help, char *err,
                            size_t errlen);
const char *tern_compare_usage(void);

/* ---- one model, one context ------------------------------------------------ */

/* A loaded model: a transformer (include/tern/tfm.h) or a recurrent model
 * (include/tern/rnn.h), generated from its seed and quantised.  max_context:
 * the largest context it will be measured at; when it exceeds the model's
 * max_seq the model is generated from a copy of its config with max_seq =
 * max_context (the weights do not depend on max_seq: every tensor has its
 * own PRNG stream, docs/MODELS.md "Weights"), and note says so. */
typedef struct tern_compare_model tern_compare_model;
tern_compare_model *tern_compare_model_new(const char *name_or_path, int max_context, char *err,
                                           size_t errlen);
void tern_compare_model_free(tern_compare_model *m);
const char *tern_compare_model_name(const tern_compare_model *m);
int tern_compare_model_is_recurrent(const tern_compare_model *m);

typedef struct tern_compare_point {
  int context;           /* L: the decode step of the token at position L-1 */
  int measured;          /* 1: ran; 0: not measured, note says why */
  char note[512];
  int prefill;           /* real prefill tokens before the seek */
  uint64_t cycles;       /* CYCLES summed over the step's programs */
  double energy_pj;      /* counters x technology table */
  uint64_t weight_bytes; /* ternary weights from DRAM: WBUF_WR x tile bytes */
  uint64_t kv_rd, kv_wr;       /* KV-cache DMA bytes (transformer ATTN, griffin's 'a' blocks) */
  uint64_t state_rd, state_wr; /* recurrent-state DMA bytes ('r' / 'm' MIX programs) */
  uint64_t dram_rd, dram_wr;   /* DRAM_RD_BYTES, DRAM_WR_BYTES counters of the step */
  uint64_t mixer_cycles; /* token-mixer programs: ATTN (transformer, 'a'), MIX ('r', 'm') */
  tern_counters total;   /* all counters of the step */
  int nprog;
  tern_counters *prog;   /* per program, in run order (owned) */
  double run_ms;         /* wall clock of the measurement (not a modelled figure) */
} tern_compare_point;

void tern_compare_point_free(tern_compare_point *p);

/* Runs the measurement above on a fresh runner: prefill tokens (1 ..
 * context-1; a fixed byte text) at positions 0 .. prefill-1, seek to
 * context-1, one decode step.  prefill = context-1 is the real prefill (no
 * seek).  tech may be NULL (energy_pj 0); ro (watchdog, max_cycles of every
 * program) may be NULL for the defaults.  0, or -1 with a message (the
 * compiler's, e.g. a buffer that is too small for the context). */
int tern_compare_measure(const tern_compare_model *m, const char *backend, const tern_hwcfg *hw,
                         const tern_run_opts *ro, const tern_tech *tech, int context, int prefill,
                         tern_compare_point *pt, char *err, size_t errlen);

/* A real run without a seek (tern sweep, include/tern/sweep.h): on a fresh
 * runner with prefill + decode positions, a prefill of `prefill` tokens
 * (positions 0 .. prefill-1; the same fixed byte text) then `decode` decode
 * steps of one token each.  pre gets the prefill step, dec the sums over the
 * decode steps (cycles, counters, bytes, energy; prog: every program of every
 * decode step in run order); both are owned by the caller (free with
 * tern_compare_point_free).  tech and ro may be NULL.  0, or -1 with a message. */
int tern_compare_measure_seq(const tern_compare_model *m, const char *backend,
                             const tern_hwcfg *hw, const tern_run_opts *ro, const tern_tech *tech,
                             int prefill, int decode,
                             tern_compare_point *pre, tern_compare_point *dec, char *err,
                             size_t errlen);

/* ---- the whole comparison ---------------------------------------------------- */

typedef struct tern_compare_model_result {
  char name[64];
  char family[64];       /* "transformer", "hawk (recurrent)", ... */
  int recurrent;
  uint64_t params_total, params_ternary;
  char note[256];        /* e.g. max_seq raised in a config copy */
  int npoints;
  tern_compare_point *pt; /* one per context (owned) */
  int first, last;       /* indices of the first / last measured point (-1 none) */
  double cycles_ratio, energy_ratio; /* last / first measured point */
} tern_compare_model_result;

typedef struct tern_compare_result {
  char backend[8];
  tern_hwcfg hw;
  tern_tech tech;
  int prefill;
  int nmodels;
  tern_compare_model_result *model; /* owned */
  char verdict[1024];    /* one line, computed from the runs */
} tern_compare_result;

void tern_compare_result_free(tern_compare_result *r);

/* Runs every model at every context, prints the tables and the verdict to out
 * (may be NULL).  A context that cannot be measured (e.g. the compiler says a
 * buffer is too small for it) is recorded with its message and skipped.
 * Returns 0; -2 with a message for a bad configuration (the CLI exits 2); -1
 * when a run fails or a model has no measured context. */
int tern_compare_run(const tern_compare_config *c, tern_compare_result *r, FILE *out, char *err,
                     size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
