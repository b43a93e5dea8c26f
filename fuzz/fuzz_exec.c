/* Raw instruction words → decode → validate → golden ISA simulator
 * (compiler/program.c tern_words_decode, compiler/isa.c tern_validate,
 * sim/isasim.c).  The input is n 16-byte little-endian words (a .bin of
 * `tern asm`); the bytes past the last whole word choose the configuration:
 * none or a first byte of 0 mod 4 the 4x4 test configuration, 1 the 8x8,
 * 2 the 8x8 with the narrowest exact partial sums, 3 the 16x16 default.
 * DRAM is 1 MiB of zeros.  Decoded words re-encode to the input; a program
 * that validates runs to its end or stops with a message (deadlock,
 * watchdog, cycle limit), never with a sanitizer report. */
#include "fuzz.h"
#include "tern/backend.h"
#include "tern/isa.h"
#include "tern/isasim.h"
#include "tern/program.h"

#define DRAM_BYTES (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t nw = size / 16, tail = size % 16;
  int sel = tail ? data[nw * 16] & 3 : 0;
  tern_hwcfg cfg = sel == 0 ? tern_hwcfg_small(4, 4) : sel == 3 ? tern_hwcfg_default() : tern_hwcfg_small(8, 8);
  if (sel == 2) cfg.psum_bits = -1;
  cfg.dram_bytes = DRAM_BYTES;

  tern_insn *v = NULL;
  size_t n = 0;
  char err[FZ_ERRLEN] = "";
  int rc = tern_words_decode(data, nw * 16, &v, &n, err, sizeof err);
  fz_expect_rc(rc, err, "tern_words_decode");
  if (rc) return 0;
  if (n != nw) fz_fail("decoded %zu instructions from %zu words", n, nw);
  for (size_t i = 0; i < n; i++) {
    tern_word w;
    if (tern_encode(&v[i], &w, err, sizeof err)) fz_fail("insn %zu decodes but does not encode: %s", i, err);
    for (int b = 0; b < 16; b++)
      if ((uint8_t)(w.w[b / 8] >> (8 * (b % 8))) != data[16 * i + (size_t)b])
        fz_fail("insn %zu: byte %d differs after decode + encode", i, b);
  }
  err[0] = 0;
  rc = tern_validate(&cfg, v, n, DRAM_BYTES, err, sizeof err);
  fz_expect_rc(rc, err, "tern_validate");
  if (rc == 0) {
    uint8_t *dram = calloc(1, DRAM_BYTES);
    if (!dram) abort();
    tern_run_opts o = {.max_cycles = 1u << 22, .watchdog = 20000, .trace_path = NULL};
    tern_counters c;
    err[0] = 0;
    fz_expect_rc(tern_isasim_run(&cfg, v, n, dram, DRAM_BYTES, &o, &c, err, sizeof err), err,
                 "tern_isasim_run");
    free(dram);
  }
  free(v);
  return 0;
}
