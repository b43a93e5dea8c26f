/* The watchdog's hang report, shared by both backends (sim/hang.c): the ISA
 * simulator (sim/isasim.c) and the RTL shim (sim/rtl_shim.cpp, which links
 * its own copy) fill a tern_hang from their state and print it with
 * tern_hang_describe, so a deadlock reads the same on both, word for word.
 *
 * A cycle without progress (docs/ISA.md "Watchdog") is one in which no unit
 * is active: nothing starts, is busy or finishes, no GEMM row is in the
 * array, no DRAM request is outstanding and fetch pushes nothing.  Such a
 * cycle changes no state, so every later cycle repeats it: the machine is
 * deadlocked, each non-empty queue waiting on a token that nobody will push. */
#ifndef TERN_HANG_H
#define TERN_HANG_H

#include <stddef.h>
#include <stdint.h>

#include "tern/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The instruction at the head of a FIFO (or at the fetch pc). */
typedef struct tern_hang_insn {
  size_t pc;
  int op;                /* TERN_OP_* */
  int queue;             /* TERN_Q_* it is dispatched to */
  int pop_prev, pop_next;
} tern_hang_insn;

typedef struct tern_hang {
  uint64_t watchdog;         /* consecutive cycles without progress (the limit reached) */
  uint64_t since;            /* the first of them */
  int fifo_count[3];         /* load, compute, store */
  int qdepth;
  tern_hang_insn head[3];    /* valid where fifo_count[q] > 0 */
  uint32_t tok[4];           /* L2C, C2L, C2S, S2C */
  int end_fetched;
  size_t pc;                 /* fetch pc */
  tern_hang_insn fetch;      /* IMEM[pc] when !end_fetched */
} tern_hang;

/* "watchdog: no progress for W cycles (cycles A..B), a deadlock: load queue
 * empty; compute queue waits at pc 1 (SYNC) on token L2C = 0; store queue
 * empty; fetch finished; tokens L2C=0 C2L=0 C2S=0 S2C=0" */
void tern_hang_describe(const tern_hang *h, char *buf, size_t len);

/* Opcode, queue and pop flags of an encoded instruction (the RTL shim reads
 * IMEM words; fields from include/tern/isa_table.h). */
tern_hang_insn tern_hang_insn_of_word(const tern_word *w, size_t pc);

#ifdef __cplusplus
}
#endif
#endif
