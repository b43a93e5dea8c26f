/* Small helpers shared by the runtime's drivers (step runners, generate,
 * compare); internal to libtern. */
#ifndef TERN_RT_UTIL_H
#define TERN_RT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* wall clock in ms (CLOCK_MONOTONIC): the runtime's timing lines, never a modelled figure */
static inline double rt_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* tern_err with a caller-chosen return code (-2: bad configuration) */
int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Grows a host DRAM image (*dram, *have bytes, new bytes zero) to hold
 * `need` bytes, doubling from 1 MiB, never beyond `max` (the hwcfg's
 * dram_bytes; more is an error naming it).  `who` prefixes the messages. */
int rt_dram_reserve(uint8_t **dram, uint64_t *have, uint64_t need, uint64_t max, const char *who,
                    char *err, size_t errlen);

#endif
