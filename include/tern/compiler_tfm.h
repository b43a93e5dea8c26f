/* Compiler for transformer sub-blocks (compiler/tfm_ffn.c).  Issue 3, step 4:
 * the FFN half of one block, which uses only ISA v1 ops (attention needs the
 * proposed v2 op DOT8 and comes later).
 *
 * The program computes, for M token rows, exactly what the integer reference
 * (models/tfm_int.c, tern_tfm_ffn_half_int; docs/NUMERICS.md F0-F10) computes:
 *   y = x + down(quant(SubLN?(act(up(q), gate(q))))),  q = quant(Norm_ffn(x))
 * Tensor map:
 *   "x" : input,  I32 Q12, M x dim (row stride dim_pad * 4 bytes)
 *   "y" : output, I32 Q12, M x dim (same layout)
 * The passes are the MLP compiler's (pad, tile, alloc, sync, validate and the
 * weight streaming / token blocking / int8 round trip of emit); opts->dump_after
 * accepts build, pad, tile, alloc, emit, sync, validate. */
#ifndef TERN_COMPILER_TFM_H
#define TERN_COMPILER_TFM_H

#include <stddef.h>

#include "tern/compiler.h"
#include "tern/hwcfg.h"
#include "tern/program.h"
#include "tern/tfm_int.h"

#ifdef __cplusplus
extern "C" {
#endif

/* FFN half of block `block` of a quantised model (0 <= block < layers).
 * Returns 0 or -1 with a message. */
int tern_compile_tfm_ffn(const tern_tfm_qmodel *q, int block, const tern_hwcfg *cfg,
                         const tern_compile_opts *opts, tern_program *out, char *err,
                         size_t errlen);

/* Same from a view (tern_tfm_ffn_half_of, or tern_tfm_qffn_block_half for a
 * block generated alone with tern_tfm_generate_block). */
int tern_compile_tfm_ffn_half(const tern_tfm_ffn_half *h, const tern_hwcfg *cfg,
                              const tern_compile_opts *opts, tern_program *out, char *err,
                              size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
