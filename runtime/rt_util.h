/* Small helpers shared by the runtime's drivers (step runners, generate,
 * compare); internal to libtern. */
#ifndef TERN_RT_UTIL_H
#define TERN_RT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tern/backend.h"
#include "tern/counters.h"
#include "tern/program.h"

/* wall clock in ms (CLOCK_MONOTONIC): the runtime's timing lines, never a modelled figure */
static inline double rt_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* tern_err with a caller-chosen return code (-2: bad configuration) */
int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* mkdir -p: creates dir and its parents (0777) and checks that it is a
 * directory.  Messages name the path that failed. */
int rt_mkdir_p(const char *dir, char *err, size_t errlen);

/* Grows a host DRAM image (*dram, *have bytes, new bytes zero) to hold
 * `need` bytes, doubling from 1 MiB, never beyond `max` (the hwcfg's
 * dram_bytes; more is an error naming it).  `who` prefixes the messages. */
int rt_dram_reserve(uint8_t **dram, uint64_t *have, uint64_t need, uint64_t max, const char *who,
                    char *err, size_t errlen);

/* Runs parts[0..n) back to back on session s (the DRAM image grown by
 * rt_dram_reserve as needed, each part's segments written first), adding the
 * counters to *cnt and the instructions to *n_insns.  Also checks that each
 * part's DMA bytes (tern_program_dma_bytes) equal its DRAM counters, which
 * the runners' splits of the DRAM bytes by region rely on.  `what` names the
 * program in messages. */
int rt_run_parts(tern_session *s, const char *backend, const tern_hwcfg *hw,
                 const tern_run_opts *ro, uint8_t **dram, uint64_t *dram_bytes,
                 const tern_program *parts, int n, const char *who, const char *what,
                 tern_counters *cnt, size_t *n_insns, char *err, size_t errlen);

/* The first RTL source (rtl/ *.sv and *.vh, sim/rtl_*, sim/hang.c and sim/rtl.mk: what a
 * Verilated library and a synthesis are built from) modified after mtime, its
 * path in buf; NULL when none is: a cached build or result is up to date. */
const char *rt_rtl_newer_source(time_t mtime, char *buf, size_t n);

#endif
