/* Compiler for the recurrent LMs (issue 4; include/tern/rnn.h).  One decode /
 * prefill step is, as for the transformers (include/tern/compiler_tfm.h), a
 * SEQUENCE of programs run back to back on one backend session:
 *
 *   EMBED(tokens)          the transformer EMBED program of q->view
 *   for block b = 0 .. layers-1:
 *     MIX(b, pos, M)       'r' (Griffin recurrent block) and 'm' (MLGRU):
 *                          tern_compile_rnn_mix below; 'a' (Griffin local
 *                          MQA): the transformer ATTN program of q->view
 *                          (block b, pass b, its window)
 *     MLP(b, M)            the transformer FFN program of q->view (gated MLP,
 *                          interpolated table read)
 *   HEAD(M)                the transformer HEAD program of q->view
 *
 * Each program equals the integer reference (models/rnn_int.c): MIX is B1-B2
 * of every row in order (tern_rnn_mix_int), MLP is B3-B4 (the FFN half of the
 * view).  Running all rows' MIX before all rows' MLP is exact: the mixer of
 * row t does not read the MLP output of row t-1 of the same block.
 *
 * Persistent DRAM map (tern_rnn_mem): the transformer map of the view (x,
 * logits, a KV cache per block pass of which only the 'a' blocks' are used)
 * plus the recurrent state of every 'r' / 'm' block, then priv_base.
 * State of block b in DRAM, int32 words, lru_pad = lru_width rounded up to
 * lcm(hw rows, hw cols), padding lanes zero:
 *   'r': h[lru_pad] (Q18), then window[conv_width-1][lru_pad] (Q12, oldest row first)
 *   'm': h[lru_pad] (Q18)
 * All zero = the zero state of position 0.  The values equal the integer
 * reference's state (tern_rnn_ictx_get_state, which has no padding). */
#ifndef TERN_COMPILER_RNN_H
#define TERN_COMPILER_RNN_H

#include <stddef.h>
#include <stdint.h>

#include "tern/compiler.h"
#include "tern/compiler_tfm.h"
#include "tern/hwcfg.h"
#include "tern/program.h"
#include "tern/rnn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_RNN_MEM_LAYERS 1024 /* the config parser's largest `layers` */

typedef struct tern_rnn_mem {
  tern_tfm_mem tm;     /* x, logits, KV caches (pass b = block b); tm.priv_base is
                          moved above the state */
  int lru_pad;         /* lru_width rounded up to lcm(rows, cols) */
  uint32_t state_base; /* first state byte (64-byte aligned) */
  uint32_t state_bytes;/* all blocks' state (0 for a model of 'a' blocks only) */
  uint32_t state_addr[TERN_RNN_MEM_LAYERS]; /* block b's state; 0 for 'a' blocks */
} tern_rnn_mem;

/* Plan the map for q on hw, for steps of up to `rows` rows and an attention
 * context of `ctx` positions (0 = cfg.max_seq; models without 'a' blocks
 * need no context and may pass any ctx >= 1).  Runs tern_rnn_check on the
 * config first.  0 or -1 with a message naming the field. */
int tern_rnn_mem_plan(const tern_rnn_qmodel *q, const tern_hwcfg *hw, int rows, int ctx,
                      tern_rnn_mem *out, char *err, size_t errlen);

/* MIX program of block b ('r' or 'm') for M rows (1 <= M <= mem->tm.rows) as
 * one or several PARTS (as tern_compile_tfm_parts: cut when longer than IMEM,
 * part 0 carries every DRAM segment, run them in order on one session, free
 * with tern_tfm_parts_free).  The program reads x (mem->tm.x_addr, M rows)
 * and block b's state, and writes x += mixer(RMSNorm_mix(x)) row by row and
 * the new state.  Its private image lies at or above mem->tm.priv_base.
 * Rejects, with a message naming the field (e.g. "field 'conv_width' is 0,
 * expected 1 .. 16"): a config tern_rnn_check rejects (conv_width 0, heads not
 * dividing the width, lru_block not dividing lru_width, ...), a block that is
 * not 'r' / 'm', M out of range, a memory plan of another shape. */
int tern_compile_rnn_mix(const tern_rnn_qmodel *q, const tern_rnn_mem *mem, int block, int M,
                         const tern_hwcfg *cfg, const tern_compile_opts *opts,
                         tern_program **parts, int *nparts, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
