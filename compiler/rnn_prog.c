/* Persistent DRAM map of a recurrent LM's step programs
 * (include/tern/compiler_rnn.h): the transformer map of the model's view
 * (x, logits, KV caches for griffin's local attention blocks) followed by
 * the recurrent state of every 'r' / 'm' block. */
#include <string.h>

#include "cc_internal.h"
#include "tern/compiler_rnn.h"

static uint64_t al64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

static int has_attention(const tern_rnn_config *c) {
  for (int b = 0; b < c->layers; b++)
    if (tern_rnn_block_kind(c, b) == TERN_RNN_ATTENTION) return 1;
  return 0;
}

int tern_rnn_mem_plan(const tern_rnn_qmodel *q, const tern_hwcfg *hw, int rows, int ctx,
                      tern_rnn_mem *out, char *err, size_t errlen) {
  char e[256];
  if (!q || !hw || !out) return tern_err(err, errlen, "tern_rnn_mem_plan: null argument");
  memset(out, 0, sizeof *out);
  const tern_rnn_config *c = &q->cfg;
  if (tern_rnn_check(c, c->name, e, sizeof e))
    return tern_err(err, errlen, "memory plan: bad model config: %s", e);
  if (c->layers > TERN_RNN_MEM_LAYERS)
    return tern_err(err, errlen, "memory plan: field 'layers' is %d, expected at most %d",
                    c->layers, TERN_RNN_MEM_LAYERS);
  /* no attention block: no KV cache is read or written, one position suffices */
  if (!has_attention(c)) ctx = 1;
  if (tern_tfm_mem_plan(&q->view.cfg, hw, rows, ctx, &out->tm, err, errlen)) return -1;
  int unit = cc_lcm(hw->rows, hw->cols);
  out->lru_pad = cc_round_up(c->lru_width, unit);
  uint64_t pos = al64(out->tm.priv_base), row = (uint64_t)out->lru_pad * 4;
  out->state_base = (uint32_t)pos;
  for (int b = 0; b < c->layers; b++) {
    char k = tern_rnn_block_kind(c, b);
    if (k == TERN_RNN_ATTENTION) continue;
    out->state_addr[b] = (uint32_t)pos;
    pos = al64(pos + row * (uint64_t)(k == TERN_RNN_RECURRENT ? c->conv_width : 1));
  }
  out->state_bytes = (uint32_t)(pos - out->state_base);
  pos = (pos + 4095) & ~(uint64_t)4095;
  if (pos > 0xffffffffull - 4096 || pos > hw->dram_bytes)
    return tern_err(err, errlen,
                    "memory plan: the persistent map with the recurrent state needs %llu bytes, "
                    "hwcfg dram_bytes = %llu",
                    (unsigned long long)pos, (unsigned long long)hw->dram_bytes);
  out->tm.priv_base = (uint32_t)pos;
  return 0;
}
