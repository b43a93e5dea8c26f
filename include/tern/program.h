/* A compiled program (.tbin): instructions + DRAM image + tensor map +
 * the hardware configuration it was compiled for.  File format in
 * docs/ISA.md "Program files". */
#ifndef TERN_PROGRAM_H
#define TERN_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "tern/hwcfg.h"
#include "tern/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_PROG_MAGIC "TERNPROG"
#define TERN_PROG_VERSION 1
#define TERN_NAME_LEN 32

enum tern_dtype { TERN_DT_I8 = 0, TERN_DT_I32 = 1, TERN_DT_W2 = 2, TERN_DT_RAW = 3 };

/* A named tensor placed in DRAM: rows x cols elements, row stride in bytes. */
typedef struct tern_tensor_ref {
  char name[TERN_NAME_LEN];
  uint32_t dram_addr;
  uint32_t dtype;
  uint32_t rows, cols;
  uint32_t row_stride; /* bytes */
} tern_tensor_ref;

/* Initial DRAM contents: one segment. */
typedef struct tern_segment {
  uint32_t dram_addr;
  uint32_t len;
  uint8_t *data;
} tern_segment;

typedef struct tern_program {
  tern_hwcfg cfg; /* the configuration it was compiled for */
  tern_insn *insns;
  size_t n_insns;
  tern_segment *segs;
  size_t n_segs;
  tern_tensor_ref *tensors;
  size_t n_tensors;
  uint64_t dram_size; /* bytes of DRAM the program touches (image high-water mark) */
} tern_program;

void tern_program_init(tern_program *p);
void tern_program_free(tern_program *p);
/* Append helpers (grow arrays; abort on out-of-memory). */
size_t tern_program_add_insn(tern_program *p, const tern_insn *in);
void tern_program_add_segment(tern_program *p, uint32_t addr, const void *data, uint32_t len);
void tern_program_add_tensor(tern_program *p, const tern_tensor_ref *t);
const tern_tensor_ref *tern_program_find_tensor(const tern_program *p, const char *name);

/* TERN_DRAM_MAX (tern/hwcfg.h): DRAM addresses are 32 bits, no program touches more. */
/* Bytes of one row of cols elements of a dtype (W2: 2 bits per code, rounded up). */
uint64_t tern_tensor_row_bytes(uint32_t dtype, uint32_t cols);
/* One past the tensor's last byte: addr + (rows-1) * row_stride + one row. */
uint64_t tern_tensor_end(const tern_tensor_ref *t);
/* Untrusted geometry: dtype known, row_stride >= one row's bytes (rows > 1), the
 * tensor inside the 32-bit DRAM space.  0, or -1 naming the tensor and field. */
int tern_tensor_check(const tern_tensor_ref *t, char *err, size_t errlen);
/* DRAM bytes a program needs, overflow-checked: its dram_size, every segment's
 * end and every tensor's end (each checked as above), rounded up to 64 bytes
 * (64 for an empty program).  Every caller that allocates a program's DRAM uses
 * this.  0, or -1 with the field and expected range. */
int tern_program_dram_need(const tern_program *p, uint64_t *need, char *err, size_t errlen);
/* Copy segments into a DRAM buffer of size dram_bytes (zero elsewhere is the
 * caller's job).  Returns 0 or -1 if a segment does not fit. */
int tern_program_init_dram(const tern_program *p, uint8_t *dram, uint64_t dram_bytes, char *err,
                           size_t errlen);

/* DRAM bytes moved by the program's LOAD (*rd) and STORE (*wr) instructions
 * whose DRAM address lies in [lo, hi), by the DRAM_RD_BYTES / DRAM_WR_BYTES
 * counters' rule (docs/ISA.md "Counters": beats x beat bytes), added to the
 * four sums (any may be NULL); *all_rd / *all_wr get every DMA's bytes.
 * A program has no branches, so every DMA in it runs exactly once: this
 * splits a run's DRAM counters by region of the memory map. */
void tern_program_dma_bytes(const tern_program *p, const tern_hwcfg *hw, uint64_t lo, uint64_t hi,
                            uint64_t *rd, uint64_t *wr, uint64_t *all_rd, uint64_t *all_wr);

/* Largest .tbin file read: a full 4 GiB DRAM image plus IMEM-sized code and the tensor map. */
#define TERN_PROG_MAX_FILE ((size_t)TERN_DRAM_MAX + ((size_t)64 << 20))
/* .tbin I/O; errors name the file, the field / offset and the expected value. */
int tern_program_write(const tern_program *p, const char *path, char *err, size_t errlen);
int tern_program_read(tern_program *p, const char *path, char *err, size_t errlen);
/* The same from memory (len bytes of a .tbin; `what` names it in messages):
 * tern_program_read is this on the file's bytes (fuzz/fuzz_tbin.c uses it). */
int tern_program_parse(tern_program *p, const uint8_t *bytes, size_t len, const char *what,
                       char *err, size_t errlen);

/* Assembly text <-> instructions.  Text syntax: docs/ISA.md "Assembly".
 * Errors carry "file:line: ...". */
int tern_asm_text(const char *text, const char *fname, tern_insn **out, size_t *n, char *err,
                  size_t errlen);
/* Disassemble one instruction into buf (single line, no newline). */
void tern_disasm_insn(const tern_insn *in, char *buf, size_t len);
/* Raw words file (.bin: n x 16 bytes little-endian) decode; errors carry the byte offset. */
int tern_words_decode(const uint8_t *bytes, size_t len, tern_insn **out, size_t *n, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
