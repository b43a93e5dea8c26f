/* .tbin program files (compiler/program.c tern_program_parse, the reader of
 * tern_program_read): header, hardware configuration, instructions, DRAM
 * segments, tensor map, CRC-32.  Each input is parsed as it is and once more
 * with its last four bytes replaced by the right CRC, so mutations get past
 * the checksum to the fields behind it.  A program that parses is validated
 * against its own configuration and its segments copied into a DRAM image. */
#include "fuzz.h"
#include "tern/isa.h"
#include "tern/program.h"

static void one(const uint8_t *d, size_t n) {
  tern_program p;
  char err[FZ_ERRLEN] = "";
  int rc = tern_program_parse(&p, d, n, "fuzz.tbin", &err[0], sizeof err);
  fz_expect_rc(rc, err, "tern_program_parse");
  if (rc) return;
  err[0] = 0;
  fz_expect_rc(tern_validate(&p.cfg, p.insns, p.n_insns, p.dram_size, err, sizeof err), err,
               "tern_validate");
  if (p.dram_size && p.dram_size <= (1u << 20)) {
    uint8_t *dram = calloc(1, (size_t)p.dram_size);
    if (!dram) abort();
    err[0] = 0;
    fz_expect_rc(tern_program_init_dram(&p, dram, p.dram_size, err, sizeof err), err,
                 "tern_program_init_dram");
    free(dram);
  }
  tern_program_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_with_fixed_crc(data, size, one);
  return 0;
}
