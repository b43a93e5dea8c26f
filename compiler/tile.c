/* Pass "tile": choose the token block Mb (the largest number of token rows
 * whose ACC / ABUF / OUT working set fits next to the constant pool) and
 * cut every matrix into weight chunks of at most wbuf_depth/2 tiles (one
 * contiguous LOAD each, double-buffered in the two WBUF halves; with WBUF
 * residency, cc_tile_chunks, the resident tiles and the two halves of the
 * streaming region).
 * Any M >= 1, K, N; a clear error when even one token does not fit. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"


int cc_pass_tile(cc_ctx *c, char *err, size_t errlen) {
  const tern_hwcfg *h = c->cfg;
  if (c->M < 1) {
    tern_err(err, errlen, "compile: tokens = %d, expected >= 1", c->M);
    return -1;
  }
  if (cc_build_consts(c) != 0) {
    tern_err(err, errlen, "compile: constant pool construction failed");
    return -1;
  }
  cc_assign_token_offsets(c);
  int max_abuf = 0, max_out = 0;
  for (int i = 0; i < c->nmat; i++)
    if (c->mat[i].kt > max_abuf) max_abuf = c->mat[i].kt;
  for (int i = 0; i < c->nt; i++) {
    const cc_tensor *t = &c->t[i];
    if (t->kind == CC_T_I8 && !c->is_gemm && t->cols_pad / h->cols > max_out)
      max_out = t->cols_pad / h->cols;
    /* reductions run over a whole row in one VEC instruction */
    if (t->kind == CC_T_I32 && t->cols_pad / h->cols > CC_VEC_FIELD_MAX && !c->is_gemm) {
      tern_err(err, errlen,
             "compile: tensor %s has %d ACC words per token; row reductions need <= %d (VEC field N)",
             t->name, t->cols_pad / h->cols, CC_VEC_FIELD_MAX);
      return -1;
    }
  }
  long acc_free = (long)h->acc_depth - c->const_words;
  if (acc_free < c->tok_words) {
    tern_err(err, errlen,
           "compile: ACC too small for one token: needs %ld words (%d constants + %d per token), "
           "acc_depth = %d",
           (long)c->const_words + c->tok_words, c->const_words, c->tok_words, h->acc_depth);
    return -1;
  }
  if (h->abuf_depth < max_abuf) {
    tern_err(err, errlen,
           "compile: ABUF too small for one token: needs %d words (K_pad/rows), abuf_depth = %d",
           max_abuf, h->abuf_depth);
    return -1;
  }
  if (max_out && h->out_depth < max_out) {
    tern_err(err, errlen,
           "compile: OUT too small for one token: needs %d words (K_pad/cols), out_depth = %d",
           max_out, h->out_depth);
    return -1;
  }
  if (h->wbuf_depth < 2) {
    tern_err(err, errlen,
           "compile: WBUF too small for double buffering: needs 2 tiles, wbuf_depth = %d",
           h->wbuf_depth);
    return -1;
  }
  long mb = c->M;
  if (mb > CC_VEC_FIELD_MAX) mb = CC_VEC_FIELD_MAX;
  if (c->tok_words && acc_free / c->tok_words < mb) mb = acc_free / c->tok_words;
  if (max_abuf && h->abuf_depth / max_abuf < mb) mb = h->abuf_depth / max_abuf;
  if (max_out && h->out_depth / max_out < mb) mb = h->out_depth / max_out;
  c->Mb = (int)mb;
  c->nblocks = (c->M + c->Mb - 1) / c->Mb;
  return cc_tile_chunks(c, err, errlen);
}

static void push_chunk(cc_ctx *c, int *cap, cc_chunk ch) {
  if (c->nchunk == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    c->chunk = realloc(c->chunk, (size_t)*cap * sizeof *c->chunk);
    if (!c->chunk) abort();
  }
  c->chunk[c->nchunk++] = ch;
}

/* The weight stream of one token block: the matrices of the LINEAR ops in op
 * order, each in [n_tile][k_tile] order (the canonical tile order), cut into
 * chunks of <= chunk_tiles tiles.  Without residency every chunk streams
 * through the two halves of WBUF.  With c->wres (include/tern/compiler_tfm.h)
 * the first res_tiles tiles of the canonical order are resident at WBUF
 * res_base + index, and the rest stream through the halves of
 * [stream_base, wbuf_depth). */
int cc_tile_chunks(cc_ctx *c, char *err, size_t errlen) {
  const tern_hwcfg *h = c->cfg;
  int depth = h->wbuf_depth;
  int total = 0;
  for (int o = 0; o < c->nop; o++)
    if (c->op[o].kind == CC_OP_LINEAR) {
      const cc_matrix *m = &c->mat[c->op[o].mat];
      total += m->kt * m->nt;
    }
  c->total_tiles = total;
  int rb = 0, rt = 0, sb = 0;
  if (c->wres) {
    const tern_tfm_wres *w = c->wres;
    rb = w->res_base;
    rt = w->res_tiles;
    sb = w->stream_base;
    if (w->res_loaded != 0 && w->res_loaded != 1)
      return tern_err(err, errlen, "compile: wres.res_loaded = %d, expected 0 or 1", w->res_loaded);
    if (rt < 0 || rt > total)
      return tern_err(err, errlen,
                      "compile: wres.res_tiles = %d, expected 0 .. %d (the program's weight tiles)",
                      rt, total);
    if (sb < 0 || depth - sb < 2)
      return tern_err(err, errlen,
                      "compile: wres.stream_base = %d, expected 0 .. %d (a streaming region of >= 2 "
                      "tiles below wbuf_depth = %d)",
                      sb, depth - 2, depth);
    if (rt > 0) {
      if (rb < 0 || rb + rt > depth)
        return tern_err(err, errlen,
                        "compile: wres.res_base = %d with res_tiles = %d: resident region outside "
                        "WBUF (expected 0 <= res_base and res_base + res_tiles <= wbuf_depth = %d)",
                        rb, rt, depth);
      if (rb + rt > sb)
        return tern_err(err, errlen,
                        "compile: wres.res_base = %d, res_tiles = %d: resident region [%d, %d) "
                        "overlaps the streaming region [stream_base = %d, %d)",
                        rb, rt, rb, rb + rt, sb, depth);
    }
  }
  c->wbuf_stream_base = sb;
  c->wbuf_half = (depth - sb) / 2;
  c->chunk_tiles = c->wbuf_half;
  c->wl_next = 0;
  free(c->chunk);
  c->chunk = NULL;
  c->nchunk = 0;
  c->nstream = 0;
  int cap = 0, canon = 0;
  for (int o = 0; o < c->nop; o++) {
    if (c->op[o].kind != CC_OP_LINEAR) continue;
    cc_matrix *m = &c->mat[c->op[o].mat];
    int tiles = m->kt * m->nt;
    int res = rt - canon < 0 ? 0 : rt - canon < tiles ? rt - canon : tiles;
    m->chunk0 = c->nchunk;
    m->nchunks = 0;
    for (int t0 = 0; t0 < res; t0 += c->chunk_tiles) {
      int t1 = t0 + c->chunk_tiles < res ? t0 + c->chunk_tiles : res;
      push_chunk(c, &cap, (cc_chunk){c->op[o].mat, t0, t1, 1, rb + canon + t0, -1});
      m->nchunks++;
    }
    for (int t0 = res; t0 < tiles; t0 += c->chunk_tiles) {
      int t1 = t0 + c->chunk_tiles < tiles ? t0 + c->chunk_tiles : tiles;
      push_chunk(c, &cap, (cc_chunk){c->op[o].mat, t0, t1, 0, 0, c->nstream++});
      m->nchunks++;
    }
    canon += tiles;
  }
  return 0;
}

void cc_dump_tile(const cc_ctx *c, FILE *f) {
  fprintf(f, "# tile: M = %d tokens, token block Mb = %d, %d block(s)\n", c->M, c->Mb, c->nblocks);
  fprintf(f, "# ACC per token: %d words; constants: %d words; acc_depth = %d\n", c->tok_words,
          c->const_words, c->cfg->acc_depth);
  fprintf(f, "# weight chunks of <= %d tiles (half the streaming region), %d per block, %d tiles\n",
          c->chunk_tiles, c->nchunk, c->total_tiles);
  if (c->wres && c->wres->res_tiles > 0)
    fprintf(f, "# resident: canonical tiles 0..%d at WBUF %d.. (%s); streaming WBUF [%d, %d)\n",
            c->wres->res_tiles - 1, c->wres->res_base,
            c->wres->res_loaded ? "already loaded" : "loaded by this program", c->wbuf_stream_base,
            c->cfg->wbuf_depth);
  for (int i = 0; i < c->nmat; i++) {
    const cc_matrix *m = &c->mat[i];
    fprintf(f, "matrix %-10s %d x %d tiles ([n][k] order), %d chunk(s) from stream index %d\n",
            m->name, m->nt, m->kt, m->nchunks, m->chunk0);
  }
  for (int i = 0; i < c->nchunk; i++) {
    const cc_chunk *ch = &c->chunk[i];
    if (ch->res)
      fprintf(f, "chunk %3d %-10s tiles %d..%d -> WBUF %d.. (resident)\n", i,
              c->mat[ch->mat].name, ch->t0, ch->t1 - 1, ch->wbase);
    else
      fprintf(f, "chunk %3d %-10s tiles %d..%d -> WBUF half %d (alternating globally)\n", i,
              c->mat[ch->mat].name, ch->t0, ch->t1 - 1, ch->sidx % 2);
  }
}
