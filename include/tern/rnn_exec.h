/* Recurrent step runner (runtime/rnn_exec.c): runs a recurrent LM (Hawk,
 * Griffin, MatMul-free MLGRU; include/tern/rnn.h) token by token on the
 * accelerator (backend "isa" or "rtl").  One step (a prefill of M tokens or
 * a decode of one) is the program sequence of include/tern/compiler_rnn.h,
 * run back to back on one backend session:
 *
 *   EMBED(tokens)                  transformer EMBED program of q->view
 *   for block b = 0 .. layers-1:
 *     MIX(b, M)      'r' / 'm'     tern_compile_rnn_mix
 *     ATTN(b, pos, M) 'a'          transformer ATTN program of q->view (pass b,
 *                                  sliding window cfg.window)
 *     MLP(b, M)                    transformer FFN program of q->view
 *   HEAD(M)                        transformer HEAD program of q->view
 *
 * DRAM persists from program to program and from step to step: the residual
 * stream, the recurrent state of every 'r' / 'm' block (tern_rnn_mem) and the
 * KV caches of the 'a' blocks (linear in the position, ctx positions; the
 * window bounds what an ATTN program reads).  The state and KV regions are
 * zero in a new runner and after tern_rnn_exec_reset.
 *
 * No weight residency: every program streams its weights from DRAM (a
 * recurrent preset has no repeated block or shared FFN to keep in WBUF).
 * Programs that do not depend on the position are compiled once per
 * (kind, block, M) and kept: MIX, MLP, HEAD; EMBED (the tokens) and ATTN (the
 * position: RoPE rows, cache positions) are compiled every step, as in the
 * transformer runner (include/tern/tfm_exec.h). */
#ifndef TERN_RNN_EXEC_H
#define TERN_RNN_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "tern/backend.h"
#include "tern/compiler_rnn.h"
#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/rnn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_rnn_exec_opts {
  const char *backend; /* "isa" or "rtl" */
  tern_hwcfg hw;
  int ctx;             /* KV cache positions of the 'a' blocks (0 = cfg.max_seq); a model
                          without 'a' blocks has no KV cache and runs up to cfg.max_seq */
  int max_rows;        /* largest M of a step (the prefill length), >= 1 */
  tern_run_opts run;   /* watchdog etc. for every program */
} tern_rnn_exec_opts;

void tern_rnn_exec_opts_default(tern_rnn_exec_opts *o);

typedef enum tern_rnn_prog_kind {
  TERN_RNN_PROG_EMBED = 0,
  TERN_RNN_PROG_MIX = 1,  /* temporal mixer of an 'r' or 'm' block (tern_compile_rnn_mix) */
  TERN_RNN_PROG_ATTN = 2, /* temporal mixer of an 'a' block (the view's ATTN program) */
  TERN_RNN_PROG_MLP = 3,  /* MLP of any block (the view's FFN program) */
  TERN_RNN_PROG_HEAD = 4
} tern_rnn_prog_kind;

const char *tern_rnn_prog_kind_name(tern_rnn_prog_kind k); /* "EMBED", "MIX", ... */

/* DRAM bytes of the DMA instructions of the programs, by region of the
 * persistent map.  The programs are straight-line (ISA v2 has no branches),
 * so every LOAD / STORE in them runs exactly once: these are the bytes the
 * DRAM_RD_BYTES / DRAM_WR_BYTES counters count (same beat rule), split by
 * the DRAM address of the instruction (tested: the split sums to the
 * counters). */
typedef struct tern_rnn_dram_split {
  uint64_t state_rd, state_wr; /* the recurrent state (tern_rnn_mem state_base ..) */
  uint64_t kv_rd, kv_wr;       /* the KV caches of the 'a' blocks */
  uint64_t other_rd, other_wr; /* x, logits, the private images (weights, constants, scratch) */
} tern_rnn_dram_split;

/* One program of a step, as run (all its parts). */
typedef struct tern_rnn_prog_stat {
  tern_rnn_prog_kind kind;
  int block;             /* -1 for EMBED and HEAD */
  char mixer;            /* 'r', 'a' or 'm' of block (MIX, ATTN, MLP), 0 for EMBED / HEAD */
  int nparts;            /* parts (tern_compile_tfm_parts: cut at imem_depth) */
  int cached;            /* 1: compiled in an earlier step and kept */
  size_t n_insns;
  tern_counters cnt;     /* summed over the parts */
  uint64_t weight_bytes; /* DRAM bytes loaded into WBUF = WBUF_WR x tile bytes */
  tern_rnn_dram_split dram;
} tern_rnn_prog_stat;

typedef struct tern_rnn_step_stats {
  int pos, M;
  int nprog;
  tern_rnn_prog_stat *prog;  /* nprog entries, in run order (owned) */
  tern_counters total;       /* sum over the programs (CYCLES = sum of the programs' cycles) */
  tern_rnn_dram_split dram;  /* sum over the programs */
  uint64_t weight_bytes;     /* ternary weight bytes from DRAM in this step */
  uint64_t state_bytes;      /* DRAM bytes of the recurrent state read + written in this step
                                (dram.state_rd + dram.state_wr, from the programs' DMAs) */
  uint64_t kv_bytes;         /* DRAM bytes of the 'a' blocks' KV caches read + written */
  uint64_t embed_bytes;      /* DRAM bytes read by the EMBED program */
  uint64_t head_bytes;       /* DRAM bytes read by the HEAD program (int8 LM head, norm, x) */
  uint64_t mix_cycles;       /* MIX programs ('r' / 'm' blocks) */
  uint64_t attn_cycles;      /* ATTN programs ('a' blocks) */
  uint64_t mlp_cycles, embed_cycles, head_cycles;
  double compile_ms, run_ms; /* wall clock of this process (not a modelled figure) */
} tern_rnn_step_stats;

void tern_rnn_step_stats_free(tern_rnn_step_stats *s);

typedef struct tern_rnn_exec tern_rnn_exec;

/* q must outlive the runner.  NULL with a message (bad backend, max_rows,
 * hardware configuration, a memory plan that does not fit, ...). */
tern_rnn_exec *tern_rnn_exec_new(const tern_rnn_qmodel *q, const tern_rnn_exec_opts *o,
                                 char *err, size_t errlen);
void tern_rnn_exec_free(tern_rnn_exec *e);
/* Position 0, state and KV caches zero (the compiled programs are kept). */
void tern_rnn_exec_reset(tern_rnn_exec *e);
/* Positions consumed so far (or set by seek). */
int tern_rnn_exec_pos(const tern_rnn_exec *e);
/* Largest position count the runner holds: the KV cache's ctx for a model
 * with 'a' blocks, cfg.max_seq otherwise. */
int tern_rnn_exec_ctx(const tern_rnn_exec *e);
/* Sets the position of the next step to pos (0 .. tern_rnn_exec_ctx) without
 * running anything; the state and the KV caches are left unchanged.  Used to
 * measure a decode step at a long context (tern compare): a recurrent block's
 * cost does not depend on the position, an 'a' block's ATTN reads the window
 * before pos.  0 or -1 with a message. */
int tern_rnn_exec_seek(tern_rnn_exec *e, int pos, char *err, size_t errlen);
/* Runs M tokens at positions pos .. pos+M-1 and returns the logits (Q12,
 * vocab values) of the last row.  st may be NULL; otherwise it is filled
 * (free with tern_rnn_step_stats_free).  0 or -1 with a message. */
int tern_rnn_exec_step(tern_rnn_exec *e, const int *tokens, int M, int32_t *logits,
                       tern_rnn_step_stats *st, char *err, size_t errlen);
/* The same with the logits of all M rows (M x vocab, row after row). */
int tern_rnn_exec_step_all(tern_rnn_exec *e, const int *tokens, int M, int32_t *logits,
                           tern_rnn_step_stats *st, char *err, size_t errlen);
/* The persistent DRAM map and buffer (tests read the state and KV caches:
 * block b's state at mem->state_addr[b], layout in include/tern/compiler_rnn.h). */
const tern_rnn_mem *tern_rnn_exec_mem(const tern_rnn_exec *e);
const uint8_t *tern_rnn_exec_dram(const tern_rnn_exec *e);

#ifdef __cplusplus
}
#endif
#endif
