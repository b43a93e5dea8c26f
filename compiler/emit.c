/* Pass "emit": instructions, without token flags (the sync pass adds them).
 * Per token block, per op, exactly the VEC sequence of docs/NUMERICS.md
 * (one VEC instruction per step over all rows of the block).  GEMM loop per
 * LINEAR: for each weight chunk (the LOAD of the NEXT chunk of the global
 * weight stream is emitted first so DMA overlaps compute), for each tile of
 * the chunk in [n_tile][k_tile] order: GEMM(tile, M = mb, RESET at k 0).
 * Quantised activations go QUANT -> OUT -> STORE -> DRAM scratch -> LOAD ABUF. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/numerics.h"

int cc_insn_queue(const tern_insn *in) {
  switch (in->op) {
    case TERN_OP_LOAD: return TERN_Q_LOAD;
    case TERN_OP_STORE: return TERN_Q_STORE;
    case TERN_OP_SYNC: return in->queue;
    default: return TERN_Q_COMPUTE;
  }
}

void cc_buf_push(cc_insnbuf *b, const tern_insn *in) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 256;
    b->v = realloc(b->v, b->cap * sizeof *b->v);
    if (!b->v) abort();
  }
  b->v[b->n++] = *in;
}

void cc_emit_dma(cc_ctx *c, int op, int mem, int sram, int sstride, int y, int x, uint32_t dram,
                 int dstride) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = (uint8_t)op;
  in.mem = (uint8_t)mem;
  in.sram_addr = (uint16_t)sram;
  in.sram_stride = (uint16_t)(y > 1 ? sstride : 0);
  in.y_size = (uint16_t)y;
  in.x_size = (uint16_t)x;
  in.dram_addr = dram;
  in.dram_stride = (uint16_t)(y > 1 ? dstride : 0);
  cc_buf_push(&c->ins, &in);
}

void cc_emit_gemm(cc_ctx *c, int w, int a, int acc, int m, int astride, int accstride, int reset) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = TERN_OP_GEMM;
  in.wbuf_addr = (uint16_t)w;
  in.abuf_addr = (uint16_t)a;
  in.acc_addr = (uint16_t)acc;
  in.m = (uint16_t)m;
  in.abuf_stride = (uint16_t)(m > 1 ? astride : 0);
  in.acc_stride = (uint16_t)(m > 1 ? accstride : 0);
  in.reset = (uint8_t)(reset != 0);
  cc_buf_push(&c->ins, &in);
}

/* one VEC instruction, fields as given (row strides only matter with rows > 1) */
static void push_vec(cc_ctx *c, int vop, int mode, int dst, int src1, int src2, int n, int rows,
                     int dst_rs, int src_rs, int shift) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = TERN_OP_VEC;
  in.vop = (uint8_t)vop;
  in.mode = (uint8_t)mode;
  in.dst = (uint16_t)dst;
  in.src1 = (uint16_t)src1;
  in.src2 = (uint16_t)src2;
  in.n = (uint16_t)n;
  in.rows = (uint16_t)rows;
  in.dst_rs = (uint16_t)(rows > 1 ? dst_rs : 0);
  in.src_rs = (uint16_t)(rows > 1 ? src_rs : 0);
  in.shift = (uint8_t)shift;
  cc_buf_push(&c->ins, &in);
}

/* One logical VEC step; split when N, ROWS or a row stride exceed the 12-bit fields. */
int cc_emit_vec(cc_ctx *c, int vop, int mode, int dst, int src1, int src2, int n, int rows,
                int dst_rs, int src_rs, int shift, char *err, size_t errlen) {
  const int MX = CC_VEC_FIELD_MAX;
  char kind = tern_vop_kind(vop);
  if (rows > 1 && (dst_rs > MX || src_rs > MX)) { /* one instruction per row */
    for (int r = 0; r < rows; r++) {
      int s2 = src2;
      if (mode == TERN_VMODE_VEC) s2 += r * src_rs;
      if (mode == TERN_VMODE_PERROW) s2 += r;
      int m2 = mode == TERN_VMODE_PERROW ? TERN_VMODE_CONST : mode;
      if (cc_emit_vec(c, vop, m2, dst + r * dst_rs, src1 + r * src_rs, s2, n, 1, 0, 0, shift, err,
                      errlen))
        return -1;
    }
    return 0;
  }
  if (rows > MX) {
    for (int r0 = 0; r0 < rows; r0 += MX) {
      int rr = rows - r0 < MX ? rows - r0 : MX;
      int s2 = src2;
      if (mode == TERN_VMODE_VEC) s2 += r0 * src_rs;
      if (mode == TERN_VMODE_PERROW) s2 += r0;
      if (cc_emit_vec(c, vop, mode, dst + r0 * dst_rs, src1 + r0 * src_rs, s2, n, rr, dst_rs,
                      src_rs, shift, err, errlen))
        return -1;
    }
    return 0;
  }
  if (n > MX) {
    if (kind != 'E' && kind != 'Q') {
      tern_err(err, errlen, "compile: VEC %s over %d words per row exceeds the N field (max %d)",
             tern_vop_name(vop), n, MX);
      return -1;
    }
    for (int i0 = 0; i0 < n; i0 += MX) {
      int nn = n - i0 < MX ? n - i0 : MX;
      int s2 = src2 + ((mode == TERN_VMODE_VEC || mode == TERN_VMODE_BCASTROW) ? i0 : 0);
      if (cc_emit_vec(c, vop, mode, dst + i0, src1 + i0, s2, nn, rows, dst_rs, src_rs, shift, err,
                      errlen))
        return -1;
    }
    return 0;
  }
  push_vec(c, vop, mode, dst, src1, src2, n, rows, dst_rs, src_rs, shift);
  return 0;
}

/* The global weight stream: item G = blk * nchunk + g (token block blk, chunk g). */
static long stream_items(const cc_ctx *c) { return (long)c->nblocks * c->nchunk; }

static int item_needs_load(const cc_ctx *c, long G) {
  const cc_chunk *ch = &c->chunk[G % c->nchunk];
  if (!ch->res) return 1;
  return G / c->nchunk == 0 && !c->wres->res_loaded; /* resident: once, unless already there */
}

/* WBUF word of the first tile of item G */
static int item_wbase(const cc_ctx *c, long G) {
  const cc_chunk *ch = &c->chunk[G % c->nchunk];
  if (ch->res) return ch->wbase;
  long s = G / c->nchunk * c->nstream + ch->sidx;
  return c->wbuf_stream_base + (int)(s % 2) * c->wbuf_half;
}

/* Double buffering: streaming item s goes to half s % 2, so it may be loaded
 * only once the item s - 2 (same half) has been consumed.  While the GEMMs of
 * item G are being emitted, the streaming items in flight are at most the
 * first one at or after G (s_next, consumed now or next) and the one after
 * it: a prefetch may go up to s_next + 1.  (A resident chunk without a LOAD
 * before a streaming one must not let the prefetch run two items ahead.) */
static int prefetch_ok(const cc_ctx *c, long G) {
  long W = c->wl_next;
  if (W >= stream_items(c)) return 0;
  const cc_chunk *w = &c->chunk[W % c->nchunk];
  if (w->res) return 1;
  long sw = W / c->nchunk * c->nstream + w->sidx;
  for (long H = G; H < stream_items(c); H++) {
    const cc_chunk *h = &c->chunk[H % c->nchunk];
    if (h->res) continue;
    return sw <= H / c->nchunk * c->nstream + h->sidx + 1;
  }
  return 1;
}

static void skip_no_load(cc_ctx *c) {
  while (c->wl_next < stream_items(c) && !item_needs_load(c, c->wl_next)) c->wl_next++;
}

static void emit_item_load(cc_ctx *c) {
  long G = c->wl_next++;
  const cc_chunk *ch = &c->chunk[G % c->nchunk];
  const cc_matrix *m = &c->mat[ch->mat];
  uint32_t tb = cc_word_bytes(c->cfg, TERN_MEM_WBUF);
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_WBUF, item_wbase(c, G), 0, 1, ch->t1 - ch->t0,
              m->dram + (uint32_t)ch->t0 * tb, 0);
  skip_no_load(c);
}

void cc_emit_chunk_load(cc_ctx *c, int blk, int g) {
  long G = (long)blk * c->nchunk + g;
  int any = 0;
  skip_no_load(c);
  while (c->wl_next < stream_items(c) && c->wl_next <= G) {
    emit_item_load(c);
    any = 1;
  }
  if (!any && prefetch_ok(c, G)) emit_item_load(c);
}

void cc_emit_matrix_gemms(cc_ctx *c, int blk, int mb, int mat, int abuf, int acc, int store_strip,
                          uint32_t store_dram, int store_dstride) {
  const cc_matrix *m = &c->mat[mat];
  for (int g = m->chunk0; g < m->chunk0 + m->nchunks; g++) {
    long G = (long)blk * c->nchunk + g;
    /* this chunk's LOAD (normally emitted already), then the prefetch of the
     * next item of the global weight stream that needs a LOAD (across
     * matrices and token blocks), so weight DMA overlaps these GEMMs */
    skip_no_load(c);
    while (c->wl_next < stream_items(c) && c->wl_next <= G) emit_item_load(c);
    if (prefetch_ok(c, G)) emit_item_load(c);
    const cc_chunk *ch = &c->chunk[g];
    int base = item_wbase(c, G);
    for (int t = ch->t0; t < ch->t1; t++) {
      int n = t / m->kt, k = t % m->kt;
      cc_emit_gemm(c, base + (t - ch->t0), abuf + k, acc + n, mb, m->kt, m->nt, k == 0);
      if (store_strip && k == m->kt - 1) /* column strip done: store it while the next runs */
        cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, acc + n, m->nt, mb, 1,
                    store_dram + (uint32_t)n * (uint32_t)c->cfg->cols * 4, store_dstride);
    }
  }
}

void cc_emit_mac8(cc_ctx *c, int dst, int src1, int src2, int n, int rows, int src_rs, int mode) {
  const int MX = CC_VEC_FIELD_MAX, C = c->cfg->cols;
  if (n > MX) {
    for (int i0 = 0; i0 < n; i0 += MX)
      cc_emit_mac8(c, dst + i0, src1 + i0, src2, n - i0 < MX ? n - i0 : MX, rows, src_rs, mode);
    return;
  }
  if (rows > MX) {
    int piece = MX / C * C;
    for (int k0 = 0; k0 < rows; k0 += piece)
      cc_emit_mac8(c, dst, src1 + k0 * src_rs, src2 + k0 / C, n,
                   rows - k0 < piece ? rows - k0 : piece, src_rs, k0 ? 1 : mode);
    return;
  }
  push_vec(c, TERN_VOP_MAC8, mode, dst, src1, src2, n, rows, 0, src_rs, 0);
}

/* int8 tensor t, just written to OUT[0..]: OUT -> DRAM scratch -> ABUF[0..] */
static void materialize_i8(cc_ctx *c, int t, int mb) {
  const cc_tensor *q = &c->t[t];
  int ow = q->cols_pad / c->cfg->cols, aw = q->cols_pad / c->cfg->rows;
  cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_OUT, 0, ow, mb, ow, q->scratch, q->cols_pad);
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ABUF, 0, aw, mb, aw, q->scratch, q->cols_pad);
}


static int emit_op(cc_ctx *c, const cc_op *o, int blk, int mb, char *err, size_t errlen) {
  const int C = c->cfg->cols;
  char nm[TERN_NAME_LEN + 8];
  switch (o->kind) {
    case CC_OP_NORM_QUANT: {
      const tern_qnorm *nq = o->norm;
      int X = cc_acc_addr(c, o->in[0]), W = c->t[o->in[0]].words;
      int T = cc_acc_addr(c, o->out[1]), U = cc_acc_addr(c, o->out[2]);
      int S = cc_acc_addr(c, o->out[3]), r = cc_acc_addr(c, o->out[4]);
      int A = cc_acc_addr(c, o->out[5]), R = cc_acc_addr(c, o->out[6]);
      snprintf(nm, sizeof nm, "l%d.eps", o->layer);
      int eps = cc_const_addr(c, nm);
      snprintf(nm, sizeof nm, "l%d.rsnum", o->layer);
      int rsn = cc_const_addr(c, nm);
      snprintf(nm, sizeof nm, "l%d.g", o->layer);
      int g = cc_const_addr(c, nm);
      V(RSUMSQ, VEC, S, X, X, W, mb, 1, W, nq->ss_shift);                  /* 1 */
      V(ADD, CONST, S, S, eps, 1, mb, 1, 1, 0);                            /* 2 */
      V(RSQRT, CONST, r, S, rsn, 1, mb, 1, 1, nq->rs_shift);               /* 3 */
      V(MULSHR, BCASTROW, U, X, g, W, mb, W, W, nq->g_frac);               /* 4 */
      V(RMAXABS, VEC, A, U, U, W, mb, 1, W, 0);                            /* 5 */
      V(MAX, CONST, A, A, cc_const_addr(c, "amin"), 1, mb, 1, 1, 0);
      V(RECIP, CONST, R, A, cc_const_addr(c, "c127"), 1, mb, 1, 1, TERN_QSHIFT); /* 6 */
      V(QUANT, PERROW, 0, U, R, W, mb, W, W, TERN_QSHIFT);                 /* 7 */
      V(MULSHR, PERROW, T, A, r, 1, mb, 1, 1, nq->t1_shift);               /* 8 */
      materialize_i8(c, o->out[0], mb);
      return 0;
    }
    case CC_OP_QUANT: {
      int H = cc_acc_addr(c, o->in[0]), W = c->t[o->in[0]].words;
      int A = cc_acc_addr(c, o->out[1]), R = cc_acc_addr(c, o->out[2]);
      V(RMAXABS, VEC, A, H, H, W, mb, 1, W, 0); /* 12 */
      V(MAX, CONST, A, A, cc_const_addr(c, "amin"), 1, mb, 1, 1, 0);
      V(RECIP, CONST, R, A, cc_const_addr(c, "c127"), 1, mb, 1, 1, TERN_QSHIFT);
      V(QUANT, PERROW, 0, H, R, W, mb, W, W, TERN_QSHIFT);
      materialize_i8(c, o->out[0], mb);
      return 0;
    }
    case CC_OP_LINEAR: {
      const cc_matrix *m = &c->mat[o->mat];
      int Sc = cc_acc_addr(c, o->in[1]), Y = cc_acc_addr(c, o->out[0]);
      int D = cc_acc_addr(c, o->out[1]), W = c->t[o->out[0]].words;
      snprintf(nm, sizeof nm, "%s.beta", m->name);
      V(MULSHR, CONST, D, Sc, cc_const_addr(c, nm), 1, mb, 1, 1, o->lin->s_d); /* 9 / 13 */
      cc_emit_matrix_gemms(c, blk, mb, o->mat, 0, Y, 0, 0, 0);
      V(MULSHR, PERROW, Y, Y, D, W, mb, W, W, o->lin->s_out); /* 10 / 14 */
      return 0;
    }
    case CC_OP_ACT: {
      int Y = cc_acc_addr(c, o->in[0]), H = cc_acc_addr(c, o->out[0]), W = c->t[o->in[0]].words;
      if (o->act == TERN_ACT_RELU2) {
        V(MAX, CONST, Y, Y, cc_const_addr(c, "zero"), W, mb, W, W, 0);
        V(MULSHR, VEC, H, Y, Y, W, mb, W, W, TERN_FX);
      } else {
        V(LUT, VEC, H, Y, Y, W, mb, W, W, TERN_LUT_SHIFT);
        V(MULSHR, VEC, H, H, Y, W, mb, W, W, TERN_SIGMOID_FRAC); /* y*s == s*y */
      }
      return 0;
    }
    case CC_OP_ADD: {
      int X = cc_acc_addr(c, o->in[0]), Y = cc_acc_addr(c, o->in[1]), W = c->t[o->in[0]].words;
      V(ADD, VEC, X, X, Y, W, mb, W, W, 0); /* 14b */
      return 0;
    }
    case CC_OP_TNORM:
    case CC_OP_FFN_ACT:
    case CC_OP_ATTN:
    case CC_OP_RNN:
      tern_err(err, errlen,
               "compile: op %s: transformer / recurrent ops are emitted by "
               "compiler/tfm_{ffn,attn}.c, rnn_mix.c",
               o->name);
      return -1;
  }
  (void)C;
  return 0;
}

int cc_emit_op(cc_ctx *c, const cc_op *o, int blk, int mb, char *err, size_t errlen) {
  return emit_op(c, o, blk, mb, err, errlen);
}

int cc_pass_emit(cc_ctx *c, char *err, size_t errlen) {
  const tern_hwcfg *h = c->cfg;
  const int C = h->cols;
  int dW = c->d_pad / C;
  if ((long)c->d_pad * 4 > 65535) {
    tern_err(err, errlen, "compile: d_pad = %d: row of %d bytes exceeds the 16-bit DRAM_STRIDE",
           c->d_pad, c->d_pad * 4);
    return -1;
  }
  c->ins.n = 0;
  if (c->const_words) cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, 0, 0, 1, c->const_words, c->dram_const, 0);
  if (c->q->cfg.act == TERN_ACT_SILU)
    V(LUTLD, VEC, 0, cc_const_addr(c, "lut"), cc_const_addr(c, "lut"), TERN_LUT_ENTRIES / C, 1, 0,
      0, 0);
  if (c->nchunk) cc_emit_chunk_load(c, 0, 0);
  int X = cc_acc_addr(c, c->x);
  for (int b = 0; b < c->nblocks; b++) {
    int m0 = b * c->Mb, mb = c->M - m0 < c->Mb ? c->M - m0 : c->Mb;
    uint32_t row = (uint32_t)c->d_pad * 4;
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, X, dW, mb, dW, c->dram_x + (uint32_t)m0 * row,
                (int)row);
    if (c->d_pad != c->d) /* zero the padding lanes whatever the runtime left there */
      V(MULSHR, BCASTROW, X, X, cc_const_addr(c, "mask"), dW, mb, dW, dW, 0);
    for (int o = 0; o < c->nop; o++)
      if (emit_op(c, &c->op[o], b, mb, err, errlen)) return -1;
    cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, X, dW, mb, dW, c->dram_y + (uint32_t)m0 * row,
                (int)row);
  }
  return 0;
}

void cc_dump_insns(const tern_insn *v, size_t n, FILE *f) {
  char buf[256];
  for (size_t i = 0; i < n; i++) {
    tern_disasm_insn(&v[i], buf, sizeof buf);
    fprintf(f, "%6zu  %s\n", i, buf);
  }
}
