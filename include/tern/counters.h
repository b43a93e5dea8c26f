/* Event counters.  The RTL implements each as a 64-bit register readable
 * through the harness; the ISA simulator computes the same values.  The
 * counting rule of every counter is in docs/ISA.md "Counters"; RTL and ISA
 * simulator must agree on all of them exactly. */
#ifndef TERN_COUNTERS_H
#define TERN_COUNTERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_COUNTER_LIST(X) \
  X(CYCLES)                  \
  X(LOAD_BUSY)               \
  X(LOAD_STALL)              \
  X(COMPUTE_BUSY)            \
  X(COMPUTE_STALL)           \
  X(STORE_BUSY)              \
  X(STORE_STALL)             \
  X(FETCH_STALL)             \
  X(INSN_LOAD)               \
  X(INSN_COMPUTE)            \
  X(INSN_STORE)              \
  X(GEMM_ROWS)               \
  X(PE_ADDS)                 \
  X(PE_SKIPS)                \
  X(WBUF_RD)                 \
  X(WBUF_WR)                 \
  X(ABUF_RD)                 \
  X(ABUF_WR)                 \
  X(ACC_RD)                  \
  X(ACC_WR)                  \
  X(OUT_RD)                  \
  X(OUT_WR)                  \
  X(DRAM_RD_BYTES)           \
  X(DRAM_WR_BYTES)           \
  X(VOP_ADD)                 \
  X(VOP_SUB)                 \
  X(VOP_MAX)                 \
  X(VOP_MIN)                 \
  X(VOP_MULSHR)              \
  X(VOP_LUT)                 \
  X(VOP_QUANT)               \
  X(VOP_RSUM)                \
  X(VOP_RSUMSQ)              \
  X(VOP_RMAXABS)             \
  X(VOP_RECIP)               \
  X(VOP_RSQRT)               \
  X(VOP_LUTLD)               \
  X(VOP_MAC8)

enum tern_counter {
#define X(n) TERN_CNT_##n,
  TERN_COUNTER_LIST(X)
#undef X
  TERN_NCOUNTERS
};

/* VOP_<name> counter index = TERN_CNT_VOP_ADD + vop */

typedef struct tern_counters {
  uint64_t v[TERN_NCOUNTERS];
} tern_counters;

const char *tern_counter_name(int i);

#ifdef __cplusplus
}
#endif
#endif
