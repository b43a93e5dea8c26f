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

/* ===== Whole-model lowering (issue 3): one decode/prefill step of a transformer
 * LM is a SEQUENCE of programs that run back to back on one backend session
 * (include/tern/backend.h, tern_session_*): DRAM and the on-chip SRAMs (WBUF in
 * particular) persist from one program to the next.
 *
 *   EMBED(tokens)            x[r] = embedding row of tokens[r]          (E1)
 *   for pass p = 0 .. layers*repeat-1, block b = p / repeat:
 *     ATTN(b, p, pos, M)     x += attention half (norm .. o_proj), K/V of the
 *                            M new positions written into pass p's KV cache
 *     FFN(b, M)              x += FFN half (F0-F10)
 *   HEAD(M)                  logits of the last row (or all rows)       (H1-H5)
 *
 * Persistent DRAM map (tern_tfm_mem): the residual stream x (I32 Q12, rows x
 * dim_pad, row stride dim_pad*4; read and written in place by every program),
 * the KV caches of every pass, the logits.  Every program's private image
 * (weights, constants, int8 scratch) lives at or above priv_base; the private
 * images of different programs MAY OVERLAP: the runtime writes a program's
 * segments into DRAM right before running it (a host preload, not counted in
 * the accelerator's DRAM counters), so nothing private survives a program.
 *
 * KV cache of pass p (int8, written by ATTN, read by ATTN of later steps):
 *   KT[g][i][j]  int8, g < kv_heads, i < hd_pad (head dim in the compiler's
 *                rotate-half layout, see docs/NUMERICS.md), j < ctx_pad
 *                (positions as bytes: one DRAM row per dim, transposed so that
 *                Q.K^T is a MAC8 over dims with positions as lanes)
 *   V[g][j][e]   int8, position-major, e < hd_pad
 *   KS[g][j], VS[g][j]  int32 Q12 scales per position (A_k, A_v)
 * ctx_pad = ctx rounded up to cols; hd_pad from tern_tfm_mem_plan. */

typedef struct tern_tfm_mem {
  int rows;            /* x / logits rows the map holds (max M of a step) */
  int ctx;             /* positions every KV cache holds (<= cfg.max_seq) */
  int ctx_pad;         /* ctx rounded up to hw cols */
  int dim_pad;         /* x row width in values (dim rounded up as the FFN compile pads it) */
  int hd_pad;          /* per-head K/V width in the cache layout */
  int vocab_pad;       /* logits row width in values */
  int passes;          /* layers * repeat */
  uint32_t x_addr;     /* residual stream */
  uint32_t logits_addr;/* I32 Q12 logits, rows x vocab_pad (row stride vocab_pad*4) */
  uint32_t kv_addr;    /* KV cache of pass 0; pass p at kv_addr + p*kv_pass_bytes */
  uint32_t kv_pass_bytes;
  uint32_t kt_bytes, v_bytes, ks_bytes, vs_bytes; /* per KV head, in that order per pass:
                                                     KT[all g] | V[all g] | KS[all g] | VS[all g] */
  uint32_t priv_base;  /* programs' private images start here */
} tern_tfm_mem;

/* Plan the persistent map for cfg on hw, for steps of up to `rows` rows and a
 * cache of `ctx` positions (0 = cfg.max_seq).  0 or -1 with a message (e.g.
 * ctx > max_seq, or the map does not fit 32-bit DRAM addresses). */
int tern_tfm_mem_plan(const tern_tfm_config *cfg, const tern_hwcfg *hw, int rows, int ctx,
                      tern_tfm_mem *out, char *err, size_t errlen);
/* DRAM addresses of pass p, KV head g: K^T, V, K scales, V scales. */
void tern_tfm_kv_addrs(const tern_tfm_mem *m, int pass, int g, uint32_t *kt, uint32_t *v,
                       uint32_t *ks, uint32_t *vs);

typedef enum tern_tfm_prog_kind {
  TERN_TFM_PROG_EMBED = 0,
  TERN_TFM_PROG_ATTN = 1,
  TERN_TFM_PROG_FFN = 2,
  TERN_TFM_PROG_HEAD = 3,
} tern_tfm_prog_kind;

/* Weight residency in WBUF across programs of one session.  WBUF words
 * [res_base, res_base + res_tiles) hold the FIRST res_tiles weight tiles of
 * this program, in the program's canonical tile order (its matrices in
 * execution order, each in the compiler's [n_tile][k_tile] order).  With
 * res_loaded = 0 the program loads those tiles into that region (so a later
 * program can reuse them); with res_loaded = 1 they are already there (an
 * earlier program of the session with the same weights loaded them) and the
 * program does not fetch them from DRAM.  The other tiles stream through
 * WBUF [stream_base, wbuf_depth) as before.  res_tiles = 0: no residency
 * (stream_base is then normally 0). */
typedef struct tern_tfm_wres {
  int res_base, res_tiles, res_loaded;
  int stream_base;
} tern_tfm_wres;

typedef struct tern_tfm_prog_spec {
  tern_tfm_prog_kind kind;
  int block;            /* ATTN, FFN: block index (weights) */
  int pass;             /* ATTN: pass index (KV cache) = block*repeat + r */
  int pos;              /* ATTN: position of row 0; rows are pos .. pos+M-1 */
  int M;                /* rows of this step, 1 .. mem->rows */
  const int *tokens;    /* EMBED: M token ids */
  int all_logits;       /* HEAD: 1 = logits of all M rows, 0 = last row only (at logits row 0) */
  tern_tfm_wres wres;   /* ATTN, FFN */
} tern_tfm_prog_spec;

/* Number of weight tiles a program streams (its canonical tile order), for the
 * residency planner.  0 for EMBED / HEAD (their int8 rows are not WBUF tiles). */
int tern_tfm_prog_tiles(const tern_tfm_qmodel *q, const tern_tfm_prog_spec *s,
                        const tern_hwcfg *cfg, char *err, size_t errlen);

/* Compile one program of a step against the persistent map.  The program's
 * tensor map names "x" (at mem->x_addr), "logits" (HEAD) and its private
 * regions.  0 or -1 with a message naming the field (e.g. "head_dim 24 is
 * not ..." or an OUT/ACC buffer too small for the context). */
int tern_compile_tfm_prog(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                          const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                          const tern_compile_opts *opts, tern_program *out, char *err,
                          size_t errlen);

/* The same program as one or several PARTS that run back to back on one
 * session (ISA v2 has no loops, so a program holds at most imem_depth
 * instructions; at 16x16 the ATTN / FFN programs of the billion-parameter
 * presets need 74k..330k).  *parts gets a malloc'ed array of *nparts >= 1
 * programs, to run in order and free with tern_tfm_parts_free.  A program that
 * fits is returned as one part, identical to tern_compile_tfm_prog's; one that
 * does not is cut, after emission, into consecutive instruction ranges of at
 * most imem_depth instructions each (synced separately, each ended by END).
 * Part 0 carries every DRAM segment of the private image; parts 1.. carry none
 * (run them right after part 0 with nothing in between, as a step does) and
 * have the same dram_size and tensor map.  Exact because a session keeps WBUF,
 * ABUF, ACC, OUT, the LUT and DRAM from one run to the next
 * (docs/ISA.md "Sessions"); weight residency (s->wres) works unchanged.
 * 0 or -1 with a message naming the field, as tern_compile_tfm_prog. */
int tern_compile_tfm_parts(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                           const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                           const tern_compile_opts *opts, tern_program **parts, int *nparts,
                           char *err, size_t errlen);
void tern_tfm_parts_free(tern_program *parts, int n);

#ifdef __cplusplus
}
#endif
#endif
