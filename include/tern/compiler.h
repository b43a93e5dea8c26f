/* Compiler: graph IR -> program (compiler/).  The pass list is in
 * compiler/compile.c and docs/ARCHITECTURE.md; `tern compile --dump-after PASS`
 * prints the output of any pass. */
#ifndef TERN_COMPILER_H
#define TERN_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/hwcfg.h"
#include "tern/mlp.h"
#include "tern/program.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_compile_opts {
  int tokens;               /* M >= 1 */
  const char *dump_after;   /* pass name or NULL */
  FILE *dump_to;            /* where dumps go (stderr if NULL) */
} tern_compile_opts;

/* Compile the MLP graph for cfg.  The program's tensor map names:
 *   "x"  : input, I32 Q12, M x d (row stride in bytes as given in the map)
 *   "y"  : output, I32 Q12, M x d
 * Returns 0 or -1 with a message (e.g. a buffer too small for one token). */
int tern_compile_mlp(const tern_qmlp *q, const tern_hwcfg *cfg, const tern_compile_opts *opts,
                     tern_program *out, char *err, size_t errlen);

/* A single BitLinear GEMM (for benchmarks and tiling tests): int8 activations
 * "a" (M x K) times a ternary K x N matrix into int32 "acc" (M x N), no
 * vector ops.  codes: K*N in {-1,0,1}. */
int tern_compile_gemm(const int8_t *codes, int K, int N, const tern_hwcfg *cfg,
                      const tern_compile_opts *opts, tern_program *out, char *err, size_t errlen);

/* Dependency-token insertion pass: given instructions in program order with
 * all token flags clear, derive RAW/WAR/WAW hazards between queues from the
 * memory ranges each instruction touches (SRAM words and DRAM bytes) and set
 * push/pop flags, inserting SYNC instructions where a consumer needs more
 * than one pop or a store->load dependency must be relayed through compute.
 * Output is race-free and deadlock-free by construction. */
int tern_insert_sync(const tern_hwcfg *cfg, const tern_insn *in, size_t n, tern_insn **out,
                     size_t *nout, char *err, size_t errlen);

/* Random valid program for differential testing: random LOAD/GEMM/VEC/STORE
 * within the configuration's buffers and a DRAM window, passed through
 * tern_insert_sync, ending with END.  Also fills a random initial DRAM image
 * of dram_bytes. */
int tern_random_program(const tern_hwcfg *cfg, uint64_t seed, int n_insns, tern_program *out,
                        char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
