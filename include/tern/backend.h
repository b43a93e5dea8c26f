/* Backends that execute a program: the golden ISA simulator (sim/isasim.c)
 * and the Verilated RTL (sim/rtl_shim.cpp, built as one shared library per
 * RTL configuration and loaded with dlopen by runtime/backend_rtl.c). */
#ifndef TERN_BACKEND_H
#define TERN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of one run (docs/ISA.md "Watchdog").  A cycle without progress is
 * one in which no unit is active: no instruction is fetched, starts, is busy
 * or finishes, no GEMM row is in the array and no DRAM request is outstanding.
 * A valid program has none (such a cycle changes no state, so it repeats
 * forever): the watchdog reports a deadlock after `watchdog` of them in a row,
 * whatever the program's length or dram_lat.  max_cycles bounds the whole run. */
typedef struct tern_run_opts {
  uint64_t max_cycles;     /* the run fails when not done after this many cycles;
                              0 = TERN_MAX_CYCLES_DEFAULT */
  uint64_t watchdog;       /* consecutive cycles without progress before reporting a
                              deadlock; 0 = TERN_WATCHDOG_DEFAULT */
  const char *trace_path;  /* RTL only: FST waveform, NULL = none */
} tern_run_opts;

#define TERN_WATCHDOG_DEFAULT 4096ull           /* cycles; docs/ISA.md "Watchdog" */
#define TERN_MAX_CYCLES_DEFAULT (1ull << 40)    /* cycles */
/* Ranges of the command-line flags (tern_run_opts_flag) */
#define TERN_WATCHDOG_FLAG_MAX 1000000000000ull     /* 10^12 */
#define TERN_MAX_CYCLES_FLAG_MAX 1000000000000000ull /* 10^15 */

/* The run-option flags of every command that runs programs (tern run, exec,
 * bench-gemm, generate, fidelity, compare, sweep), for their usage texts. */
#define TERN_RUN_OPTS_HELP                                                                   \
  "  --watchdog N       report a deadlock after N consecutive cycles in which no unit\n"    \
  "                     makes progress (1..10^12, default 4096; docs/ISA.md \"Watchdog\")\n" \
  "  --max-cycles N     fail a program that is not done after N cycles\n"                  \
  "                     (1..10^15, default 2^40)\n"

/* 1 if flag is "--watchdog" or "--max-cycles", else 0. */
int tern_run_opts_is_flag(const char *flag);
/* Sets the field of o that flag names from value: a decimal integer in the
 * flag's range (above).  0, or -1 with a message naming the flag, the value
 * and the range (an unknown flag, a sign, a non-digit or an overflow are
 * errors). */
int tern_run_opts_flag(tern_run_opts *o, const char *flag, const char *value, char *err,
                       size_t errlen);

/* ---- golden ISA simulator ---------------------------------------------- */
/* Runs a validated program on dram (dram_bytes long, already initialised)
 * and fills counters.  Returns 0, or -1 with a message (deadlock with the
 * queue/pc/token that waits, watchdog, token counter overflow, ...). */
int tern_isasim_run(const tern_hwcfg *cfg, const tern_insn *prog, size_t n, uint8_t *dram,
                    uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out, char *err,
                    size_t errlen);

/* ---- RTL shim: the C API every librtl_<name>.so exports ----------------- */
typedef struct tern_rtl tern_rtl;
/* Parameters the library was built with (rows, cols, depths, bw). */
void tern_rtl_built_config(tern_hwcfg *cfg);
tern_rtl *tern_rtl_create(const tern_hwcfg *cfg, char *err, size_t errlen);
/* Load a program into IMEM (encoded words). */
int tern_rtl_load(tern_rtl *h, const tern_word *words, size_t n, char *err, size_t errlen);
/* Reset, run until done / error / watchdog, reading and writing dram.  dram_lat
 * from cfg passed to create. */
int tern_rtl_run(tern_rtl *h, uint8_t *dram, uint64_t dram_bytes, const tern_run_opts *opts,
                 tern_counters *out, char *err, size_t errlen);
void tern_rtl_destroy(tern_rtl *h);

/* ---- which RTL libraries may be built on demand ------------------------- */
/* An RTL library is built (make rtl-lib) only for a configuration someone
 * asked for: one named with tern_rtl_build_allow (the CLI names the
 * configuration of --array / --set), or any once tern_rtl_build_allow_all(1)
 * was called (every CLI command but `tern exec`, whose configuration comes
 * from the untrusted .tbin header; the tests).  A library that exists is
 * loaded (and rebuilt if older than its sources) whatever the list says.
 * Otherwise the run fails with a message naming the configuration and the
 * command that builds it.  Process-wide; not thread-safe against runs. */
void tern_rtl_build_allow(const tern_hwcfg *cfg);
void tern_rtl_build_allow_all(int yes);

/* ---- uniform entry point used by the runtime ---------------------------- */
/* backend: "isa" or "rtl".  The program is validated (tern_validate) against
 * cfg and dram_bytes on both backends before it runs.  For "rtl" the library
 * for cfg is looked up in $TERN_RTL_DIR (default <repo>/build/rtl) and built
 * with make if missing and allowed (above). */
int tern_backend_run(const char *backend, const tern_hwcfg *cfg, const tern_insn *prog, size_t n,
                     uint8_t *dram, uint64_t dram_bytes, const tern_run_opts *opts,
                     tern_counters *out, char *err, size_t errlen);

/* ---- sessions: several programs back to back on one machine ------------- */
/* A session keeps the machine's on-chip state between programs: WBUF, ABUF,
 * ACC, OUT and the LUT keep their contents from the end of one run to the
 * start of the next (DRAM is the caller's buffer and persists anyway).  Per
 * run the control state starts afresh: pc 0, empty FIFOs, token counters 0,
 * counters 0, and the program is loaded into IMEM.  Used by the transformer
 * step runner (weights left in WBUF by one program are reused by the next,
 * include/tern/compiler_tfm.h tern_tfm_wres).  The ISA simulator and the RTL
 * give the same SRAM contents after every run of a race-free program. */
typedef struct tern_session tern_session;
/* backend "isa" or "rtl" (built on demand like tern_backend_run).  NULL with a message.
 * Every tern_session_run validates its program like tern_backend_run. */
tern_session *tern_session_open(const char *backend, const tern_hwcfg *cfg, char *err,
                                size_t errlen);
int tern_session_run(tern_session *s, const tern_insn *prog, size_t n, uint8_t *dram,
                     uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out,
                     char *err, size_t errlen);
void tern_session_close(tern_session *s);

#ifdef __cplusplus
}
#endif
#endif
