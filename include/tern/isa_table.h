/* tern ISA v2 — THE single source of truth for instruction fields.
 *
 * Every instruction is 128 bits, stored little-endian as two uint64 words
 * (bits 0..63 in w[0], 64..127 in w[1]).  This file is an X-macro table:
 *   - include/tern/isa.h expands it into C enums and encode/decode code;
 *   - tools/gen_isa_vh.c expands it into rtl/tern_isa.vh (Verilog localparams),
 *     and `make test` regenerates that file and fails if it differs.
 * Change a field here and nowhere else.
 *
 * TERN_OPCODES(X): X(NAME, value, queue)   queue: 0 load, 1 compute, 2 store,
 *                                          -1 = named by the SYNC q field
 */
#ifndef TERN_ISA_TABLE_H
#define TERN_ISA_TABLE_H

#define TERN_ISA_VERSION 2

#define TERN_OPCODES(X)  \
  X(SYNC,  0, -1)        \
  X(LOAD,  1,  0)        \
  X(STORE, 2,  2)        \
  X(GEMM,  3,  1)        \
  X(VEC,   4,  1)        \
  X(END,   5,  1)

/* TERN_FIELDS(X): X(FORMAT, FIELD, lsb, width)
 * FORMAT ALL applies to every instruction. */
#define TERN_FIELDS(X)                    \
  X(ALL,   OP,          0,  4)            \
  X(ALL,   POP_PREV,    4,  1)            \
  X(ALL,   POP_NEXT,    5,  1)            \
  X(ALL,   PUSH_PREV,   6,  1)            \
  X(ALL,   PUSH_NEXT,   7,  1)            \
  X(SYNC,  QUEUE,       8,  2)            \
  X(DMA,   MEM,         8,  3)            \
  X(DMA,   SRAM_ADDR,  16, 16)            \
  X(DMA,   SRAM_STRIDE,32, 16)            \
  X(DMA,   Y_SIZE,     48, 16)            \
  X(DMA,   DRAM_ADDR,  64, 32)            \
  X(DMA,   X_SIZE,     96, 16)            \
  X(DMA,   DRAM_STRIDE,112,16)            \
  X(GEMM,  RESET,       8,  1)            \
  X(GEMM,  WBUF_ADDR,  16, 16)            \
  X(GEMM,  ABUF_ADDR,  32, 16)            \
  X(GEMM,  ACC_ADDR,   48, 16)            \
  X(GEMM,  M,          64, 16)            \
  X(GEMM,  ABUF_STRIDE,80, 16)            \
  X(GEMM,  ACC_STRIDE, 96, 16)            \
  X(VEC,   VOP,         8,  6)            \
  X(VEC,   MODE,       14,  2)            \
  X(VEC,   DST,        16, 16)            \
  X(VEC,   SRC1,       32, 16)            \
  X(VEC,   SRC2,       48, 16)            \
  X(VEC,   N,          64, 12)            \
  X(VEC,   ROWS,       76, 12)            \
  X(VEC,   DST_RS,     88, 12)            \
  X(VEC,   SRC_RS,    100, 12)            \
  X(VEC,   SHIFT,     112,  6)

/* Memories addressable by LOAD/STORE (field MEM). Word sizes depend on the
 * hardware configuration (see docs/ISA.md, "Machine state").  OUT8 (v2) is a
 * byte view of OUT: word = 1 byte, SRAM address = byte address. */
#define TERN_MEMS(X) \
  X(WBUF, 0)         \
  X(ABUF, 1)         \
  X(ACC,  2)         \
  X(OUT,  3)         \
  X(OUT8, 4)

/* Vector sub-opcodes (field VOP): X(NAME, value, kind)
 * kind: E element-wise (1 word/cycle), Q element-wise writing OUT (int8),
 *       R row reduction (result broadcast to one ACC word per row),
 *       S scalar (lane 0 of src1/src2, result broadcast, fixed cycles/row),
 *       L LUT load,
 *       M int8 x int8 multiply-accumulate from OUT into ACC (v2). */
#define TERN_VOPS(X)          \
  X(ADD,     0, E)            \
  X(SUB,     1, E)            \
  X(MAX,     2, E)            \
  X(MIN,     3, E)            \
  X(MULSHR,  4, E)            \
  X(LUT,     5, E)            \
  X(QUANT,   6, Q)            \
  X(RSUM,    7, R)            \
  X(RSUMSQ,  8, R)            \
  X(RMAXABS, 9, R)            \
  X(RECIP,  10, S)            \
  X(RSQRT,  11, S)            \
  X(LUTLD,  12, L)            \
  X(MAC8,   13, M)

/* src2 addressing modes (field MODE): inner stride, row stride */
#define TERN_VMODES(X) \
  X(VEC,      0)       \
  X(BCASTROW, 1)       \
  X(PERROW,   2)       \
  X(CONST,    3)

/* Dependency-token directions, indexed as in the counters and the RTL. */
#define TERN_TOKQS(X) \
  X(L2C, 0)           \
  X(C2L, 1)           \
  X(C2S, 2)           \
  X(S2C, 3)

/* Fixed timing constants of the ISA (cycles); see docs/ISA.md "Timing". */
#define TERN_T_RECIP_PER_ROW  68
#define TERN_T_RSQRT_PER_ROW 100
#define TERN_T_VEC_PIPE        4   /* element-wise / reduction drain */
#define TERN_T_GEMM_PIPE_EXTRA 3   /* GEMM latency = ROWS + this */
#define TERN_LUT_ENTRIES     256

#endif
