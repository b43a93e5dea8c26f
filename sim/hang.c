/* The watchdog's hang report (include/tern/hang.h).  Part of libtern and,
 * compiled separately by sim/rtl.mk, of every RTL library: it uses only the
 * C library and isa_table.h, so the RTL shim can link it without libtern. */
#include "tern/hang.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

enum {
#define X(fmt, name, lsb, width) HF_##fmt##_##name##_LSB = lsb, HF_##fmt##_##name##_W = width,
  TERN_FIELDS(X)
#undef X
};

static unsigned field(const tern_word *w, int lsb, int width) {
  return (unsigned)((w->w[lsb / 64] >> (lsb % 64)) & ((1ull << width) - 1));
}

static const char *op_name(int op) {
  switch (op) {
#define X(n, v, q) \
  case v: return #n;
    TERN_OPCODES(X)
#undef X
    default: return "invalid opcode";
  }
}

tern_hang_insn tern_hang_insn_of_word(const tern_word *w, size_t pc) {
  tern_hang_insn in;
  in.pc = pc;
  in.op = (int)field(w, HF_ALL_OP_LSB, HF_ALL_OP_W);
  in.pop_prev = (int)field(w, HF_ALL_POP_PREV_LSB, HF_ALL_POP_PREV_W);
  in.pop_next = (int)field(w, HF_ALL_POP_NEXT_LSB, HF_ALL_POP_NEXT_W);
  switch (in.op) {
#define X(n, v, q)                                                                    \
  case v:                                                                            \
    in.queue = (q) < 0 ? (int)field(w, HF_SYNC_QUEUE_LSB, HF_SYNC_QUEUE_W) : (q); \
    break;
    TERN_OPCODES(X)
#undef X
    default: in.queue = TERN_Q_COMPUTE; break; /* the RTL's fetch routes unknown opcodes there */
  }
  return in;
}

static const char *const qname[3] = {"load", "compute", "store"};
static const char *const tokname[4] = {"L2C", "C2L", "C2S", "S2C"};

/* Token counter popped by a flag of an instruction in queue q, or -1. */
static int tok_pop_prev(int q) { return q == TERN_Q_COMPUTE ? TERN_TOK_L2C : q == TERN_Q_STORE ? TERN_TOK_C2S : -1; }
static int tok_pop_next(int q) { return q == TERN_Q_LOAD ? TERN_TOK_C2L : q == TERN_Q_COMPUTE ? TERN_TOK_S2C : -1; }

/* appends to buf at *o, never past len */
static void add(char *buf, size_t len, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t len, size_t *o, const char *fmt, ...) {
  if (*o >= len) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *o, len - *o, fmt, ap);
  va_end(ap);
  if (k > 0) *o += (size_t)k;
  if (*o >= len) *o = len - 1;
}

static void describe_queue(const tern_hang *h, int q, char *buf, size_t len, size_t *o) {
  if (h->fifo_count[q] <= 0) {
    add(buf, len, o, "%s queue empty", qname[q]);
    return;
  }
  const tern_hang_insn *in = &h->head[q];
  int miss[2], n = 0;
  int tp = in->pop_prev ? tok_pop_prev(q) : -1, tn = in->pop_next ? tok_pop_next(q) : -1;
  if (tp >= 0 && h->tok[tp] == 0) miss[n++] = tp;
  if (tn >= 0 && h->tok[tn] == 0) miss[n++] = tn;
  if (n == 0) {
    /* impossible in a deadlock of a correct machine: say what was seen */
    add(buf, len, o, "%s queue holds pc %zu (%s) at its head but does not start (no token missing)",
        qname[q], in->pc, op_name(in->op));
    return;
  }
  add(buf, len, o, "%s queue waits at pc %zu (%s) on token%s %s = 0", qname[q], in->pc,
      op_name(in->op), n > 1 ? "s" : "", tokname[miss[0]]);
  if (n > 1) add(buf, len, o, ", %s = 0", tokname[miss[1]]);
}

void tern_hang_describe(const tern_hang *h, char *buf, size_t len) {
  if (!buf || len == 0) return;
  buf[0] = 0;
  size_t o = 0;
  add(buf, len, &o, "watchdog: no progress for %" PRIu64 " cycles (cycles %" PRIu64 "..%" PRIu64
                    "), a deadlock: ",
      h->watchdog, h->since, h->since + (h->watchdog ? h->watchdog - 1 : 0));
  for (int q = 0; q < 3; q++) {
    describe_queue(h, q, buf, len, &o);
    add(buf, len, &o, "; ");
  }
  if (h->end_fetched) {
    add(buf, len, &o, "fetch finished");
  } else {
    int fq = h->fetch.queue >= 0 && h->fetch.queue < 3 ? h->fetch.queue : TERN_Q_COMPUTE;
    add(buf, len, &o, "fetch blocked at pc %zu (%s, %s FIFO full: %d of %d)", h->pc,
        op_name(h->fetch.op), qname[fq], h->fifo_count[fq], h->qdepth);
  }
  add(buf, len, &o, "; tokens L2C=%u C2L=%u C2S=%u S2C=%u", h->tok[0], h->tok[1], h->tok[2],
      h->tok[3]);
}
