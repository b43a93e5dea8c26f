/* tern ISA v2: decoded instruction form, encode/decode, validation.
 * Field positions come from isa_table.h (the single source of truth).
 * Semantics and timing: docs/ISA.md. */
#ifndef TERN_ISA_H
#define TERN_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "tern/hwcfg.h"
#include "tern/isa_table.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tern_op {
#define X(n, v, q) TERN_OP_##n = v,
  TERN_OPCODES(X)
#undef X
  TERN_OP_COUNT
};

enum tern_mem {
#define X(n, v) TERN_MEM_##n = v,
  TERN_MEMS(X)
#undef X
  TERN_MEM_COUNT
};

enum tern_vop {
#define X(n, v, k) TERN_VOP_##n = v,
  TERN_VOPS(X)
#undef X
  TERN_VOP_COUNT
};

enum tern_vmode {
  TERN_VMODE_VEC = 0,      /* src2 inner stride 1, row stride SRC_RS */
  TERN_VMODE_BCASTROW = 1, /* src2 inner stride 1, row stride 0 (same vector each row) */
  TERN_VMODE_PERROW = 2,   /* src2 inner stride 0, row stride 1 (one word per row) */
  TERN_VMODE_CONST = 3     /* src2 inner stride 0, row stride 0 (one word) */
};

enum tern_queue { TERN_Q_LOAD = 0, TERN_Q_COMPUTE = 1, TERN_Q_STORE = 2, TERN_Q_COUNT = 3 };

enum tern_tokq {
#define X(n, v) TERN_TOK_##n = v,
  TERN_TOKQS(X)
#undef X
  TERN_TOK_COUNT
};

/* Decoded instruction. Fields not used by an opcode are zero. */
typedef struct tern_insn {
  uint8_t op;
  uint8_t pop_prev, pop_next, push_prev, push_next;
  /* SYNC */
  uint8_t queue;
  /* LOAD / STORE */
  uint8_t mem;
  uint16_t sram_addr, sram_stride, y_size, x_size, dram_stride;
  uint32_t dram_addr;
  /* GEMM */
  uint8_t reset;
  uint16_t wbuf_addr, abuf_addr, acc_addr, m, abuf_stride, acc_stride;
  /* VEC */
  uint8_t vop, mode, shift;
  uint16_t dst, src1, src2, n, rows, dst_rs, src_rs;
} tern_insn;

/* A raw 128-bit instruction word. */
typedef struct tern_word {
  uint64_t w[2];
} tern_word;

/* Encode; returns 0, or -1 with a message naming the field and its range
 * when a value does not fit its field. */
int tern_encode(const tern_insn *in, tern_word *out, char *err, size_t errlen);
/* Decode; returns 0, or -1 on an unknown opcode / sub-opcode / nonzero
 * reserved bits, with a message. */
int tern_decode(const tern_word *in, tern_insn *out, char *err, size_t errlen);

/* Queue an instruction is dispatched to (0 load, 1 compute, 2 store). */
int tern_insn_queue(const tern_insn *in);

const char *tern_op_name(int op);
const char *tern_vop_name(int vop);
const char *tern_mem_name(int mem);
/* kind letter of a vop: 'E','Q','R','S','L','M' (see isa_table.h), 0 if invalid */
char tern_vop_kind(int vop);

/* Word size in bytes of a memory for a configuration. */
uint32_t tern_mem_word_bytes(const tern_hwcfg *cfg, int mem);
/* OUT8 addresses at most the first 65536 bytes of OUT (16-bit SRAM fields). */
#define TERN_OUT8_MAX_BYTES 65536u

/* Depth in words of a memory for a configuration (OUT8: bytes, at most
 * TERN_OUT8_MAX_BYTES). */
uint32_t tern_mem_depth(const tern_hwcfg *cfg, int mem);

/* Static validation of a whole program against a configuration: every
 * address range in bounds, token flags legal for the queue, VEC overlap rule,
 * exactly one END and it is last, program fits IMEM.  Returns 0 or -1 with
 * "insn N (OP): field F = V, expected ..." in err. */
int tern_validate(const tern_hwcfg *cfg, const tern_insn *prog, size_t n, uint64_t dram_bytes,
                  char *err, size_t errlen);

/* Field table access (used by tools/gen_isa_vh.c and the tests). */
typedef struct tern_field_desc {
  const char *format, *name;
  int lsb, width;
} tern_field_desc;
extern const tern_field_desc tern_fields[];
extern const size_t tern_nfields;

#ifdef __cplusplus
}
#endif
#endif
