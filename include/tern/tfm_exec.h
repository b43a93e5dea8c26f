/* Transformer step runner (runtime/tfm_exec.c): runs a transformer LM token
 * by token on the accelerator (backend "isa" or "rtl").  One step (a prefill
 * of M tokens or a decode of one) is the sequence of programs of
 * include/tern/compiler_tfm.h — EMBED, then ATTN and FFN of every block pass,
 * then HEAD — run back to back on one backend session, so DRAM (the residual
 * stream, the KV caches) and the on-chip SRAMs (weights left in WBUF)
 * persist from program to program and from step to step.
 *
 * Weight residency (opts.residency): the runner plans which weight tiles stay
 * in WBUF.  Blocks that run several times in a row (MobileLLM-LS, repeat > 1)
 * load the first tiles of their ATTN and FFN programs into a resident region
 * in the first pass and reuse them in the later passes; a shared FFN
 * (MobiLlama) keeps its tiles resident across blocks and steps.  What does not
 * fit streams as usual, so the DRAM weight bytes per token show how much of
 * the saving a WBUF size keeps. */
#ifndef TERN_TFM_EXEC_H
#define TERN_TFM_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "tern/backend.h"
#include "tern/compiler_tfm.h"
#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/tfm_int.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_tfm_exec_opts {
  const char *backend;  /* "isa" or "rtl" */
  tern_hwcfg hw;
  int ctx;              /* KV cache positions (0 = cfg.max_seq) */
  int max_rows;         /* largest M of a step (the prefill length), >= 1 */
  int residency;        /* 1: plan WBUF residency (see above); 0: every program streams */
  int stream_tiles;     /* WBUF tiles kept for streaming when residency is on (0 = auto:
                           min(256, wbuf_depth / 2)) */
  tern_run_opts run;    /* watchdog etc. for every program */
} tern_tfm_exec_opts;

void tern_tfm_exec_opts_default(tern_tfm_exec_opts *o);

/* One program of a step, as run. */
typedef struct tern_tfm_prog_stat {
  tern_tfm_prog_kind kind;
  int block, pass;
  size_t n_insns;
  tern_tfm_wres wres;
  tern_counters cnt;
  uint64_t weight_bytes; /* DRAM bytes loaded into WBUF = WBUF_WR x tile bytes */
  uint64_t kv_rd, kv_wr; /* DRAM bytes of the KV caches read / written (the DMAs whose address
                            is in the KV region, tern_program_dma_bytes; the runner checks that
                            all DMAs' bytes equal the DRAM counters) */
} tern_tfm_prog_stat;

typedef struct tern_tfm_step_stats {
  int pos, M;
  int nprog;
  tern_tfm_prog_stat *prog;  /* nprog entries, in run order (owned) */
  tern_counters total;       /* sum over the programs (CYCLES = sum of the programs' cycles) */
  uint64_t weight_bytes;     /* ternary weight bytes from DRAM in this step */
  uint64_t kv_rd, kv_wr;     /* KV cache bytes read / written in this step (sum of the programs') */
  uint64_t head_bytes;       /* DRAM bytes read by the HEAD program (int8 LM head, norm, x) */
  uint64_t embed_bytes;      /* DRAM bytes read by the EMBED program */
  uint64_t attn_cycles, ffn_cycles, embed_cycles, head_cycles;
  double compile_ms, run_ms; /* wall clock of this process (not a modelled figure) */
} tern_tfm_step_stats;

void tern_tfm_step_stats_free(tern_tfm_step_stats *s);

typedef struct tern_tfm_exec tern_tfm_exec;

/* q must outlive the runner.  NULL with a message. */
tern_tfm_exec *tern_tfm_exec_new(const tern_tfm_qmodel *q, const tern_tfm_exec_opts *o, char *err,
                                 size_t errlen);
void tern_tfm_exec_free(tern_tfm_exec *e);
/* Positions consumed so far. */
int tern_tfm_exec_pos(const tern_tfm_exec *e);
/* Runs M tokens at positions pos .. pos+M-1 and returns the logits (Q12, vocab
 * values) of the last row.  st may be NULL; otherwise it is filled (free with
 * tern_tfm_step_stats_free).  0 or -1 with a message. */
int tern_tfm_exec_step(tern_tfm_exec *e, const int *tokens, int M, int32_t *logits,
                       tern_tfm_step_stats *st, char *err, size_t errlen);
/* The same, with the logits of all M rows (M x vocab, row after row): the
 * HEAD program computes every row's logits (H1-H5 per row), e.g. for bits
 * per byte over a window in one prefill step. */
int tern_tfm_exec_step_all(tern_tfm_exec *e, const int *tokens, int M, int32_t *logits,
                           tern_tfm_step_stats *st, char *err, size_t errlen);
/* Sets the position of the next step to pos (0 .. ctx) without running
 * anything: DRAM (the KV caches) is left as it is, so the positions before
 * pos that no step wrote hold whatever the cache held (zero in a fresh
 * runner).  Used to measure a decode step at a long context (tern compare)
 * without running the steps before it.  0 or -1 with a message. */
int tern_tfm_exec_seek(tern_tfm_exec *e, int pos, char *err, size_t errlen);
/* The persistent DRAM map and buffer (for tests that read the KV caches). */
const tern_tfm_mem *tern_tfm_exec_mem(const tern_tfm_exec *e);
const uint8_t *tern_tfm_exec_dram(const tern_tfm_exec *e);

#ifdef __cplusplus
}
#endif
#endif
