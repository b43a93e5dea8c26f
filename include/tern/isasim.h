/* The golden ISA simulator as a machine object whose on-chip memories
 * (WBUF, ABUF, ACC, OUT, LUT) outlive one run: the "isa" backend of
 * tern_session_* (include/tern/backend.h).  tern_isasim_run is the one-shot
 * wrapper (new, exec, free).  sim/isasim.c. */
#ifndef TERN_ISASIM_H
#define TERN_ISASIM_H

#include <stddef.h>
#include <stdint.h>

#include "tern/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_isasim tern_isasim;

/* A machine for cfg with every SRAM zeroed (the RTL's power-on state in
 * simulation).  NULL with a message on a bad configuration / out of memory. */
tern_isasim *tern_isasim_new(const tern_hwcfg *cfg, char *err, size_t errlen);
/* Run one validated program.  SRAM contents are those left by the previous
 * run; pc, FIFOs, token counters and counters start afresh.  Same contract
 * as tern_isasim_run otherwise. */
int tern_isasim_exec(tern_isasim *m, const tern_insn *prog, size_t n, uint8_t *dram,
                     uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out,
                     char *err, size_t errlen);
void tern_isasim_free(tern_isasim *m);

#ifdef __cplusplus
}
#endif
#endif
