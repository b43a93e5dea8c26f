/* The library behind the `tern` CLI (runtime/run.c): run a model end to end
 * on a backend, check it bit for bit against the integer reference and
 * against the float reference, and compute the metrics the CLI and the
 * report print.  Also the CLI's argument parser, so it can be tested
 * without the binary. */
#ifndef TERN_RUNTIME_H
#define TERN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "tern/backend.h"
#include "tern/counters.h"
#include "tern/energy.h"
#include "tern/hwcfg.h"
#include "tern/mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_run_config {
  const char *backend;       /* "isa" or "rtl" */
  tern_hwcfg hw;
  int tokens;                /* M >= 1 */
  tern_mlp_config model;     /* used when weights_path is NULL */
  const char *weights_path;  /* .twt file or NULL (generate from model) */
  uint64_t input_seed;       /* tern_mlp_input seed */
  const char *tech;          /* "45nm" (default) or "7nm" */
  const char *trace_path;    /* RTL FST trace or NULL */
  tern_run_opts limits;      /* watchdog, max_cycles of the run (0 = defaults; --watchdog,
                                --max-cycles); its trace_path is not used (trace_path above) */
} tern_run_config;

void tern_run_config_default(tern_run_config *rc);

typedef struct tern_run_result {
  /* what ran */
  char backend[8];
  tern_hwcfg hw;
  tern_mlp_config model;
  int tokens;
  size_t n_insns;
  uint64_t dram_bytes;             /* DRAM allocated */
  /* integer check */
  int bit_exact;                   /* 1 if every output equals tern_mlp_forward_int */
  uint64_t n_values;               /* M * d */
  uint64_t n_mismatch;             /* number of differing values */
  int mm_token, mm_elem;           /* first mismatch (token, element), -1 if none */
  int32_t mm_got, mm_expected;
  /* float check: backend output (Q12 -> float) vs tern_mlp_forward_float */
  double max_abs_err, cosine;
  /* metrics */
  tern_counters cnt;
  uint64_t macs;                   /* M * sum K*N over the matrices (true, unpadded) */
  uint64_t weights;                /* ternary weights of the model */
  double ideal_cycles;             /* macs / (rows * cols) */
  double utilisation;              /* ideal_cycles / CYCLES */
  double tokens_per_s;             /* M / (CYCLES / clock) */
  double dram_bytes_per_token;     /* (DRAM_RD_BYTES + DRAM_WR_BYTES) / M */
  /* energy */
  tern_tech tech;
  char tech_node[16];
  tern_energy energy;              /* whole run; divide by tokens for per token */
} tern_run_result;

/* Generate/load the model, quantise, compile for M tokens, run on the
 * backend, check and measure.  Returns 0 when it ran (res->bit_exact says
 * whether the output matched), -1 with a message on any failure. */
int tern_run(const tern_run_config *rc, tern_run_result *res, char *err, size_t errlen);

/* Print the human summary of a run (what `tern run` prints). */
void tern_run_print(const tern_run_result *r, void *file /* FILE* */);

/* ---- CLI argument parsing (runtime/tern.c calls it) -------------------- */

typedef enum tern_cli_cmd {
  TERN_CMD_NONE = 0, /* no command: top-level help */
  TERN_CMD_RUN,
  TERN_CMD_GEN_WEIGHTS,
  TERN_CMD_COMPILE,
  TERN_CMD_EXEC,
  TERN_CMD_ASM,
  TERN_CMD_DISASM,
  TERN_CMD_BENCH_GEMM,
  TERN_CMD_MODELS,
  TERN_CMD_FIDELITY,
  TERN_CMD_GENERATE,
  TERN_CMD_COUNT
} tern_cli_cmd;

typedef struct tern_cli {
  tern_cli_cmd cmd;
  int help;                 /* --help / -h given */
  tern_run_config run;      /* backend, hw, tokens, model, weights, input seed, tech, trace,
                               limits (--watchdog, --max-cycles: every command that runs
                               programs on isa / rtl) */
  int have_input_seed;      /* --input-seed given (exec: seeded instead of zero input) */
  int have_hw;              /* --array or --set given (exec: the configuration the program
                               must have; the only one whose RTL library may be built) */
  const char *report_dir;   /* --report */
  const char *out;          /* -o */
  const char *in;           /* positional input file (exec, asm, disasm) */
  const char *dump_after;   /* --dump-after */
  int gemm_m, gemm_k, gemm_n; /* bench-gemm */
  int prompts;              /* fidelity: fixed prompts to run (1..8) */
  const char *text;         /* fidelity --text FILE: bits per byte (include/tern/quality.h) */
  long text_bytes;          /* --bytes N (0 = all) */
  int window;               /* --window W (0 = max_seq) */
  long accel_bytes;         /* --accel-bytes N (0 = as --bytes) */
  const char *fid_backend;  /* fidelity --backend isa|rtl (NULL: references only) */
  /* generate (MODEL in `in`) */
  const char *prompt;       /* --prompt TEXT (required) */
  int gen_tokens;           /* --tokens N (default 16) */
  const char *gen_backend;  /* --backend cpu|isa|rtl (default cpu) */
  double temperature;       /* --temperature T (default 0 = greedy) */
  int top_k;                /* --top-k K (default 0 = all) */
  uint64_t gen_seed;        /* --seed S (default 0) */
  int gen_residency;        /* --residency on|off (default on) */
} tern_cli;

/* argv[0] is the program, argv[1] the command.  Returns 0, or -1 with a
 * message naming the flag and the expected value (the CLI exits 2). */
int tern_cli_parse(int argc, char **argv, tern_cli *cli, char *err, size_t errlen);
const char *tern_cli_cmd_name(tern_cli_cmd c);
/* Usage text of a command (TERN_CMD_NONE: the top level). */
const char *tern_cli_usage(tern_cli_cmd c);

#ifdef __cplusplus
}
#endif
#endif
