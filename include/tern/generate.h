/* `tern generate` (runtime/generate.c): prefill a byte prompt and decode N
 * tokens on a backend.  Backend cpu runs the integer reference of
 * include/tern/tfm_int.h (the bit-exact reference of the accelerator path; its
 * BitLinear GEMMs run on the SIMD kernels of include/tern/cpu_kernels.h) with
 * the float reference (include/tern/tfm.h) in lockstep: both are fed the same
 * token at every step, and every step's integer top-1 is compared with the
 * float top-1.  Backends isa and rtl run the compiled programs on the ISA
 * simulator or the Verilated RTL through the step runner (include/tern/tfm_exec.h),
 * with the integer reference in lockstep: every step's logits must equal the
 * reference's bit for bit (the verdict printed per token), and the cycle,
 * DRAM and energy counters of each step are reported.  Recurrent models
 * (include/tern/rnn.h, issue 4) run the same way with their own integer and
 * float references (tern_rnn_iprefill / idecode, tern_rnn_prefill / decode)
 * and, on isa / rtl, the recurrent step runner (include/tern/rnn_exec.h; no
 * weight residency: `residency` is ignored).  Their steps are reported in the
 * transformers' fields: a block's temporal mixer (recurrent block, MLGRU or
 * local attention) counts as its "attention half", its MLP as the "FFN
 * half".
 *
 * Sampling: temperature 0 (default) or top_k 1 is greedy on the integer
 * logits (tern_tfm_iargmax, lowest index on ties).  Otherwise the float
 * reference's sampler tern_tfm_sample (seeded splitmix64, top-k then
 * temperature softmax) runs on the integer logits converted to real values,
 * (float)logit / 4096 (Q12). */
#ifndef TERN_GENERATE_H
#define TERN_GENERATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/backend.h"
#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_GEN_MAX_TOKENS 65504 /* TERN_TFM_MAX_CTX: the largest context */

typedef struct tern_gen_config {
  const char *model;   /* preset name (tern models) or a model description file */
  const char *prompt;  /* bytes; tokens as tern_tfm_fidelity_tokens */
  int tokens;          /* tokens to generate (>= 1) */
  const char *backend; /* "cpu" (default when NULL), "isa", "rtl" */
  double temperature;  /* >= 0; 0 = greedy */
  int top_k;           /* >= 0; 0 = all tokens */
  uint64_t seed;       /* sampler seed */
  int kernel;          /* tern_cpu_variant (TERN_CPU_AUTO = default) or TERN_TFM_KERNEL_SCALAR */
  int float_check;     /* run the float reference in lockstep (default 1) */
  /* isa / rtl backends */
  tern_hwcfg hw;       /* accelerator configuration (default tern_hwcfg_default) */
  int residency;       /* WBUF weight residency for repeated / shared weights (default 1) */
  const char *tech;    /* energy table: "45nm" (default) or "7nm" */
  tern_run_opts run;   /* watchdog / max_cycles of every program (0 = defaults; --watchdog,
                          --max-cycles) */
} tern_gen_config;

void tern_gen_config_default(tern_gen_config *c);

typedef struct tern_gen_step {
  int token;            /* the chosen token (fed to both models next) */
  int int_top1;         /* integer argmax */
  int32_t int_logit;    /* its integer logit, Q12 */
  int float_top1;       /* float argmax (-1 without the float check) */
  int agree;            /* int_top1 == float_top1 */
  double gap;           /* float logit[float_top1] - float logit[int_top1] (0 if agree) */
  /* isa / rtl backends */
  int bit_exact;        /* accelerator logits == integer reference logits (all vocab values) */
  uint64_t cycles;      /* cycles of the step (sum over its programs) */
  uint64_t weight_bytes;/* ternary weight bytes fetched from DRAM in the step */
  uint64_t dram_bytes;  /* all DRAM bytes read + written in the step */
  uint64_t dram_rd_bytes; /* DRAM bytes read in the step (the decode roofline's numerator) */
  double energy_pj;     /* energy of the step (counters x technology table) */
  int pos, M;           /* positions pos .. pos+M-1 */
  uint64_t attn_cycles, ffn_cycles; /* attention / FFN halves of every block pass (recurrent
                                       models: temporal mixers / MLPs) */
  double attn_pj, ffn_pj;           /* their energy */
  /* recurrent models on isa / rtl (0 otherwise): DRAM bytes of the step's DMAs */
  uint64_t state_bytes; /* recurrent state (h, Conv1D windows) read + written */
  uint64_t kv_bytes;    /* KV caches of griffin's local attention blocks read + written */
} tern_gen_step;

/* One block pass of the last step (isa / rtl). */
typedef struct tern_gen_layer {
  int pass, block;
  uint64_t attn_cycles, ffn_cycles;
  double attn_pj, ffn_pj;
  uint64_t weight_bytes;       /* ternary weight bytes fetched from DRAM by the two programs */
  uint64_t attn_dram_bytes;    /* all DRAM bytes of the attention program (KV cache included) */
} tern_gen_layer;

typedef struct tern_gen_result {
  char model[64];
  char kernel[16];      /* kernel name of the BitLinear GEMMs */
  int vocab;
  int n_prompt;
  int n_steps;          /* == tokens */
  tern_gen_step *step;  /* n_steps */
  int agree;            /* steps whose integer and float top-1 agree */
  double prefill_ms;    /* integer prefill, wall clock (CLOCK_MONOTONIC) */
  double decode_ms;     /* all integer decode calls, wall clock */
  int n_decode;         /* decode calls (tokens - 1) */
  /* isa / rtl backends */
  int recurrent;        /* 1 for a recurrent model (include/tern/rnn.h) */
  int accel;            /* 1 when the steps ran on the accelerator */
  int bit_exact_steps;  /* steps whose logits equal the integer reference's */
  uint64_t attn_cycles, ffn_cycles, other_cycles; /* over all steps */
  tern_gen_layer *layer;  /* per block pass, of the last step */
  int n_layer;
  char tech_path[512];    /* energy table used */
} tern_gen_result;

void tern_gen_result_free(tern_gen_result *r);

/* Runs the generation; prints the per-step lines and the text to out (may be
 * NULL).  Returns 0; -2 with a message for a bad configuration or an
 * unsupported backend (the CLI exits 2); -1 with a message when it fails while
 * running (the CLI exits 1). */
int tern_generate(const tern_gen_config *c, tern_gen_result *r, FILE *out, char *err,
                  size_t errlen);

/* Escaped text of tokens: printable ASCII as is, backslash as \\, \n \t \r,
 * other bytes as \xHH, tokens >= 256 as <id>.  NUL-terminated, truncated to
 * outlen; returns the length it needs (snprintf convention). */
size_t tern_gen_escape(const int *tokens, int n, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
