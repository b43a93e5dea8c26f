/* Pass "tile": choose the token block Mb (the largest number of token rows
 * whose ACC / ABUF / OUT working set fits next to the constant pool) and
 * cut every matrix into weight chunks of at most wbuf_depth/2 tiles (one
 * contiguous LOAD each, double-buffered in the two WBUF halves).
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
  c->chunk_tiles = h->wbuf_depth / 2;
  c->wbuf_half = h->wbuf_depth / 2;
  /* weight stream of one block: matrices in op order, chunks in [n][k] tile order */
  free(c->chunk);
  c->chunk = NULL;
  c->nchunk = 0;
  int cap = 0;
  for (int o = 0; o < c->nop; o++) {
    if (c->op[o].kind != CC_OP_LINEAR) continue;
    cc_matrix *m = &c->mat[c->op[o].mat];
    int tiles = m->kt * m->nt;
    m->chunk0 = c->nchunk;
    m->nchunks = 0;
    for (int t0 = 0; t0 < tiles; t0 += c->chunk_tiles) {
      if (c->nchunk == cap) {
        cap = cap ? cap * 2 : 16;
        c->chunk = realloc(c->chunk, (size_t)cap * sizeof *c->chunk);
        if (!c->chunk) abort();
      }
      int t1 = t0 + c->chunk_tiles < tiles ? t0 + c->chunk_tiles : tiles;
      c->chunk[c->nchunk++] = (cc_chunk){c->op[o].mat, t0, t1};
      m->nchunks++;
    }
  }
  return 0;
}

void cc_dump_tile(const cc_ctx *c, FILE *f) {
  fprintf(f, "# tile: M = %d tokens, token block Mb = %d, %d block(s)\n", c->M, c->Mb, c->nblocks);
  fprintf(f, "# ACC per token: %d words; constants: %d words; acc_depth = %d\n", c->tok_words,
          c->const_words, c->cfg->acc_depth);
  fprintf(f, "# weight chunks of <= %d tiles (wbuf_depth/2), %d per block\n", c->chunk_tiles,
          c->nchunk);
  for (int i = 0; i < c->nmat; i++) {
    const cc_matrix *m = &c->mat[i];
    fprintf(f, "matrix %-10s %d x %d tiles ([n][k] order), %d chunk(s) from stream index %d\n",
            m->name, m->nt, m->kt, m->nchunks, m->chunk0);
  }
  for (int i = 0; i < c->nchunk; i++)
    fprintf(f, "chunk %3d %-10s tiles %d..%d -> WBUF half %d (alternating globally)\n", i,
            c->mat[c->chunk[i].mat].name, c->chunk[i].t0, c->chunk[i].t1 - 1, i % 2);
}
