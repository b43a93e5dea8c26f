/* The programs of one transformer step (include/tern/compiler_tfm.h):
 *
 *   tern_tfm_mem_plan / tern_tfm_kv_addrs   the persistent DRAM map
 *   tern_compile_tfm_prog                   EMBED and HEAD (here), FFN
 *                                           (tfm_ffn.c, relocated), ATTN
 *                                           (tfm_attn.c, cc_compile_tfm_attn)
 *   tern_tfm_prog_tiles                     weight tiles of a program (the
 *                                           residency planner's input)
 *
 * EMBED (E1), per token row r < M, all rows of a token block at once:
 *   LOAD OUT   the int8 embedding row of tokens[r] (dim_pad bytes) from the
 *              private copy of the table ([vocab][dim_pad] int8)
 *   MAC8       widening to int32: ROWS 1, B = the rows, scalar stream = an OUT
 *              byte holding 1 (a constant OUT word)
 *   MULSHR     PERROW by the row's scale word embed_c[tokens[r]], shift 16
 *   STORE      ACC -> x (mem->x_addr, row stride dim_pad*4)
 *
 * HEAD (H1-H5) for the last row (logits row 0) or all M rows:
 *   LOAD x rows, TNORM final norm (H1), quant_row into OUT (H2), Dh (H3);
 *   H4 as MAC8 over B = W8^T (dim x vocab int8, the transposed LM head or
 *   embedding), cut into tiles of kp dims x nv OUT words (nv*C vocabulary
 *   entries): each tile is one contiguous LOAD OUT (the private image holds
 *   W8^T tile by tile, in the order the program uses them), double-buffered
 *   in OUT; the tiles of one vocabulary chunk accumulate (MODE 1) into the
 *   chunk's logits; H5 = MULSHR by the chunk's head_c words (a LOAD ACC of
 *   the int32 [vocab_pad] head_c row of the image, BCASTROW, shift 16), then
 *   PERROW by Dh (shift 30); STORE to mem->logits_addr (row stride
 *   vocab_pad*4).  Tile shape: the (nv, kp) that fits ACC / OUT with the
 *   fewest instructions. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/numerics.h"

static uint64_t al64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

/* ---- the persistent map ----------------------------------------------------- */

int tern_tfm_mem_plan(const tern_tfm_config *cfg, const tern_hwcfg *hw, int rows, int ctx,
                      tern_tfm_mem *out, char *err, size_t errlen) {
  char e[256];
  if (!cfg || !hw || !out) return tern_err(err, errlen, "tern_tfm_mem_plan: null argument");
  memset(out, 0, sizeof *out);
  if (tern_tfm_check(cfg, cfg->name, e, sizeof e))
    return tern_err(err, errlen, "memory plan: bad model config: %s", e);
  if (tern_hwcfg_check(hw, e, sizeof e))
    return tern_err(err, errlen, "memory plan: bad hardware config: %s", e);
  if (rows < 1 || rows > CC_VEC_FIELD_MAX)
    return tern_err(err, errlen, "memory plan: rows = %d, expected 1 .. %d", rows,
                    CC_VEC_FIELD_MAX);
  if (ctx == 0) ctx = cfg->max_seq;
  int maxc = cfg->max_seq < TERN_TFM_MAX_CTX ? cfg->max_seq : TERN_TFM_MAX_CTX;
  if (ctx < 1 || ctx > maxc)
    return tern_err(err, errlen, "memory plan: ctx = %d, expected 1 .. %d (max_seq = %d)", ctx,
                    maxc, cfg->max_seq);
  const int C = hw->cols;
  int unit = cc_lcm(hw->rows, C);
  out->rows = rows;
  out->ctx = ctx;
  out->ctx_pad = cc_round_up(ctx, C);
  out->dim_pad = cc_round_up(cfg->dim, unit);
  out->hd_pad = cc_tfm_hd_pad(cfg->head_dim, C);
  out->vocab_pad = cc_round_up(cfg->vocab, C);
  out->passes = cfg->layers * cfg->repeat;
  if ((long)out->dim_pad * 4 > 65535)
    return tern_err(err, errlen,
                    "memory plan: dim %d (padded %d): x rows of %ld bytes exceed the 16-bit "
                    "DRAM_STRIDE",
                    cfg->dim, out->dim_pad, (long)out->dim_pad * 4);
  if (out->ctx_pad > 65535)
    return tern_err(err, errlen,
                    "memory plan: ctx = %d (padded %d): K^T cache rows exceed the 16-bit "
                    "DRAM_STRIDE",
                    ctx, out->ctx_pad);
  uint64_t pos = 0;
  out->x_addr = 0;
  pos = al64((uint64_t)rows * (uint64_t)out->dim_pad * 4);
  out->logits_addr = (uint32_t)pos;
  pos = al64(pos + (uint64_t)rows * (uint64_t)out->vocab_pad * 4);
  uint64_t kt = al64((uint64_t)out->hd_pad * (uint64_t)out->ctx_pad);
  uint64_t ks = al64((uint64_t)out->ctx_pad * 4);
  uint64_t pass = (uint64_t)cfg->kv_heads * (2 * kt + 2 * ks);
  out->kv_addr = (uint32_t)pos;
  pos += (uint64_t)out->passes * pass;
  pos = (pos + 4095) & ~(uint64_t)4095;
  if (pos > 0xffffffffull - 4096 || pass > 0xffffffffull)
    return tern_err(err, errlen,
                    "memory plan: the persistent map needs %llu bytes (KV caches of %d passes x "
                    "%d positions), more than 32-bit DRAM addresses reach; use a smaller ctx",
                    (unsigned long long)pos, out->passes, ctx);
  if (pos > hw->dram_bytes)
    return tern_err(err, errlen,
                    "memory plan: the persistent map needs %llu bytes, hwcfg dram_bytes = %llu",
                    (unsigned long long)pos, (unsigned long long)hw->dram_bytes);
  out->kv_pass_bytes = (uint32_t)pass;
  out->kt_bytes = out->v_bytes = (uint32_t)kt;
  out->ks_bytes = out->vs_bytes = (uint32_t)ks;
  out->priv_base = (uint32_t)pos;
  return 0;
}

void tern_tfm_kv_addrs(const tern_tfm_mem *m, int pass, int g, uint32_t *kt, uint32_t *v,
                       uint32_t *ks, uint32_t *vs) {
  uint32_t KH = (m->kt_bytes + m->v_bytes + m->ks_bytes + m->vs_bytes)
                    ? m->kv_pass_bytes / (m->kt_bytes + m->v_bytes + m->ks_bytes + m->vs_bytes)
                    : 0;
  uint32_t base = m->kv_addr + (uint32_t)pass * m->kv_pass_bytes;
  if (kt) *kt = base + (uint32_t)g * m->kt_bytes;
  base += KH * m->kt_bytes;
  if (v) *v = base + (uint32_t)g * m->v_bytes;
  base += KH * m->v_bytes;
  if (ks) *ks = base + (uint32_t)g * m->ks_bytes;
  base += KH * m->ks_bytes;
  if (vs) *vs = base + (uint32_t)g * m->vs_bytes;
}

/* ---- shared by EMBED and HEAD ------------------------------------------------ */

/* the image ends at pos: 32-bit addresses and the configured DRAM */
static int image_end(cc_ctx *c, uint64_t pos, char *err, size_t errlen) {
  if (pos > 0xffffffffull)
    return tern_err(err, errlen,
                    "compile: DRAM image of %llu bytes exceeds 4 GiB (32-bit DRAM_ADDR)",
                    (unsigned long long)pos);
  if (c->cfg->dram_bytes && pos > c->cfg->dram_bytes)
    return tern_err(err, errlen,
                    "compile: program needs %llu bytes of DRAM, hwcfg dram_bytes = %llu",
                    (unsigned long long)pos, (unsigned long long)c->cfg->dram_bytes);
  c->dram_end = (uint32_t)pos;
  c->prog->dram_size = pos;
  return 0;
}

static void put32(uint8_t *d, int32_t v) {
  uint32_t u = (uint32_t)v;
  d[0] = (uint8_t)u;
  d[1] = (uint8_t)(u >> 8);
  d[2] = (uint8_t)(u >> 16);
  d[3] = (uint8_t)(u >> 24);
}

static int check_dim_pad(const cc_ctx *c, const tern_tfm_mem *mem, char *err, size_t errlen) {
  if (c->d_pad != mem->dim_pad)
    return tern_err(err, errlen,
                    "compile: x row of %d values (dim %d padded to lcm(rows, cols)) does not match "
                    "the memory plan's dim_pad = %d (plan the map for this hardware configuration)",
                    c->d_pad, c->d, mem->dim_pad);
  return 0;
}

/* the constant pool segment (as alloc.c lays it out) at pos; returns the next free byte */
static uint64_t put_consts(cc_ctx *c, uint64_t pos) {
  const int C = c->cfg->cols;
  c->dram_const = (uint32_t)pos;
  if (!c->const_words) return pos;
  size_t wb = (size_t)C * 4, n = (size_t)c->const_words * wb;
  uint8_t *buf = calloc(n, 1);
  if (!buf) abort();
  for (int i = 0; i < c->ncst; i++)
    for (int j = 0; j < c->cst[i].words * C; j++)
      put32(buf + (size_t)c->cst[i].addr * wb + (size_t)j * 4, c->cst[i].lanes[j]);
  tern_program_add_segment(c->prog, c->dram_const, buf, (uint32_t)n);
  cc_add_tensor_ref(c->prog, "consts", c->dram_const, TERN_DT_I32, (uint32_t)c->const_words,
                    (uint32_t)C, (uint32_t)wb);
  free(buf);
  return al64(pos + n);
}

/* ---- EMBED -------------------------------------------------------------------- */

typedef struct embed_ext {
  const tern_tfm_qmodel *q;
  const tern_tfm_mem *mem;
  const int *tokens;
  int dW;                      /* ACC and OUT words per row (dim_pad / C) */
  uint32_t d_one, d_sc, d_tab; /* DRAM: the 1 byte, the scale words, the table */
  int o_rows, a_sc;            /* OUT word of row 0 (word 0 holds the 1), ACC scale words */
} embed_ext;

static int embed_build(cc_ctx *c, char *err, size_t errlen) {
  const embed_ext *e = c->ext;
  const tern_tfm_config *tc = &e->q->cfg;
  if (!e->tokens)
    return tern_err(err, errlen, "compile: embed: tokens is NULL (need M = %d ids)", c->M);
  for (int r = 0; r < c->M; r++)
    if (e->tokens[r] < 0 || e->tokens[r] >= tc->vocab)
      return tern_err(err, errlen, "compile: embed: tokens[%d] = %d, expected 0 .. %d (vocab)", r,
                      e->tokens[r], tc->vocab - 1);
  const tern_i8rows *E = &e->q->m->embed;
  if (!E->q || E->rows != tc->vocab || E->cols != tc->dim || !e->q->embed_c)
    return tern_err(err, errlen, "compile: embed: the model has no %d x %d int8 embedding rows",
                    tc->vocab, tc->dim);
  c->d = tc->dim;
  c->x = cc_add_tensor(c, "x", CC_T_I32, tc->dim);
  return 0;
}

static int embed_tile(cc_ctx *c, char *err, size_t errlen) {
  embed_ext *e = (embed_ext *)c->ext;
  const tern_hwcfg *h = c->cfg;
  if (check_dim_pad(c, e->mem, err, errlen)) return -1;
  e->dW = c->d_pad / h->cols;
  long mb = c->M;
  if (mb > CC_VEC_FIELD_MAX) mb = CC_VEC_FIELD_MAX;
  if (h->acc_depth / (e->dW + 1) < mb) mb = h->acc_depth / (e->dW + 1);
  if ((h->out_depth - 1) / e->dW < mb) mb = (h->out_depth - 1) / e->dW;
  if (mb < 1)
    return tern_err(err, errlen,
                    "compile: embed: one row needs %d ACC words (acc_depth = %d) and %d OUT words "
                    "(out_depth = %d)",
                    e->dW + 1, h->acc_depth, e->dW + 1, h->out_depth);
  c->Mb = (int)mb;
  c->nblocks = (c->M + c->Mb - 1) / c->Mb;
  e->o_rows = 1;
  e->a_sc = c->Mb * e->dW;
  return 0;
}

static int embed_alloc(cc_ctx *c, char *err, size_t errlen) {
  embed_ext *e = (embed_ext *)c->ext;
  const tern_tfm_qmodel *q = e->q;
  const int C = c->cfg->cols, d = c->d, dp = c->d_pad, V = q->cfg.vocab;
  tern_program *p = c->prog;
  uint64_t pos = al64(e->mem->priv_base);
  c->dram_x = c->dram_y = e->mem->x_addr;
  cc_add_tensor_ref(p, "x", c->dram_x, TERN_DT_I32, (uint32_t)c->M, (uint32_t)d, (uint32_t)dp * 4);
  /* the OUT word whose byte 0 is 1: the MAC8 scalar stream */
  uint8_t *one = calloc((size_t)C, 1);
  if (!one) abort();
  one[0] = 1;
  e->d_one = (uint32_t)pos;
  tern_program_add_segment(p, e->d_one, one, (uint32_t)C);
  cc_add_tensor_ref(p, "one", e->d_one, TERN_DT_I8, 1, (uint32_t)C, (uint32_t)C);
  free(one);
  pos = al64(pos + (uint64_t)C);
  /* embed_c of every row's token, one ACC word (all lanes) per row */
  size_t nsc = (size_t)c->M * (size_t)C * 4;
  uint8_t *sc = malloc(nsc);
  if (!sc) abort();
  for (int r = 0; r < c->M; r++)
    for (int l = 0; l < C; l++) put32(sc + ((size_t)r * C + l) * 4, q->embed_c[e->tokens[r]]);
  e->d_sc = (uint32_t)pos;
  tern_program_add_segment(p, e->d_sc, sc, (uint32_t)nsc);
  cc_add_tensor_ref(p, "embed_scale", e->d_sc, TERN_DT_I32, (uint32_t)c->M, (uint32_t)C,
                    (uint32_t)C * 4);
  free(sc);
  pos = al64(pos + nsc);
  /* the int8 table, rows padded to dim_pad with zeros */
  uint64_t nt = (uint64_t)V * (uint64_t)dp;
  if (pos + nt > 0xffffffffull)
    return tern_err(err, errlen,
                    "compile: embed: table of %llu bytes exceeds 32-bit DRAM addresses",
                    (unsigned long long)nt);
  uint8_t *tab = calloc((size_t)nt, 1);
  if (!tab)
    return tern_err(err, errlen, "compile: embed: out of memory (%llu bytes)",
                    (unsigned long long)nt);
  for (int v = 0; v < V; v++)
    memcpy(tab + (size_t)v * dp, q->m->embed.q + (size_t)v * d, (size_t)d);
  e->d_tab = (uint32_t)pos;
  tern_program_add_segment(p, e->d_tab, tab, (uint32_t)nt);
  cc_add_tensor_ref(p, "embed", e->d_tab, TERN_DT_I8, (uint32_t)V, (uint32_t)d, (uint32_t)dp);
  free(tab);
  pos = al64(pos + nt);
  return image_end(c, pos, err, errlen);
}

static int embed_emit(cc_ctx *c, char *err, size_t errlen) {
  const embed_ext *e = c->ext;
  const int dW = e->dW;
  const uint32_t row = (uint32_t)c->d_pad * 4;
  c->ins.n = 0;
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, 0, 0, 1, 1, e->d_one, 0);
  for (int b = 0; b < c->nblocks; b++) {
    int m0 = b * c->Mb, mb = c->M - m0 < c->Mb ? c->M - m0 : c->Mb;
    for (int r = 0; r < mb; r++)
      cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, e->o_rows + r * dW, 0, 1, dW,
                  e->d_tab + (uint32_t)e->tokens[m0 + r] * (uint32_t)c->d_pad, 0);
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, e->a_sc, 0, 1, mb,
                e->d_sc + (uint32_t)m0 * (uint32_t)c->cfg->cols * 4, 0);
    cc_emit_mac8(c, 0, e->o_rows, 0, mb * dW, 1, 0, 0);   /* int8 -> int32 */
    V(MULSHR, PERROW, 0, 0, e->a_sc, dW, mb, dW, dW, 16); /* E1 */
    cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, 0, dW, mb, dW, c->dram_x + (uint32_t)m0 * row,
                (int)row);
  }
  return 0;
}

static void embed_dump_tile(const cc_ctx *c, FILE *f) {
  fprintf(f, "# embed tile: M = %d rows, blocks of %d rows (%d block(s))\n", c->M, c->Mb,
          c->nblocks);
}

static void embed_dump_alloc(const cc_ctx *c, FILE *f) {
  const embed_ext *e = c->ext;
  fprintf(f,
          "# embed alloc: ACC rows [0, %d), scale words %d..; OUT word 0 = the 1, rows from %d\n",
          c->Mb * e->dW, e->a_sc, e->o_rows);
  fprintf(f, "DRAM x 0x%08x (in place), one 0x%08x, scales 0x%08x, table 0x%08x, end 0x%08x\n",
          c->dram_x, e->d_one, e->d_sc, e->d_tab, c->dram_end);
}

static int compile_embed(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                         const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                         const tern_compile_opts *opts, tern_program *out, char *err,
                         size_t errlen) {
  static const cc_pass ps[] = {
      {"build", embed_build, cc_dump_build},        {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", embed_tile, embed_dump_tile},        {"alloc", embed_alloc, embed_dump_alloc},
      {"emit", embed_emit, cc_dump_prog},           {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  cc_ctx c;
  if (cc_compile_common(&c, cfg, opts, out, err, errlen)) return -1;
  embed_ext e;
  memset(&e, 0, sizeof e);
  e.q = q;
  e.mem = mem;
  e.tokens = s->tokens;
  c.ext = &e;
  c.mem = mem;
  int rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), opts, err, errlen);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}

/* ---- HEAD ----------------------------------------------------------------------- */

typedef struct head_ext {
  const tern_tfm_qmodel *q;
  const tern_tfm_mem *mem;
  int all;            /* logits of all M rows */
  int Mh;             /* rows processed: all ? M : 1 */
  int hq, A, Dh, R;   /* tensors (hn = op 0's output) */
  int dW, VW;         /* words per x row, per vocabulary row */
  int nv, kp;         /* tile: nv OUT words (nv*C entries) x kp dims */
  int nch, npc;       /* vocabulary chunks, dim pieces per chunk */
  int o_q, o_b[2];    /* OUT: quantised rows, B tile buffers */
  int a_l[2], a_h[2]; /* ACC: logits chunk buffers (Mb rows of nv words), head_c chunks */
  uint32_t d_hc, d_w; /* DRAM: head_c [vocab_pad] int32, W8^T tiles */
  uint32_t *tile_off; /* nch * npc byte offsets from d_w */
} head_ext;

static int head_consts(cc_ctx *c) {
  const head_ext *e = c->ext;
  cc_add_const(c, "amin", 1, NULL, TERN_AMIN);
  cc_add_const(c, "c127", 1, NULL, 127);
  cc_add_const(c, "hdq", 1, NULL, e->q->head_dq_c);
  if (cc_tfm_add_mask(c, c->d)) return -1;
  if (cc_tfm_add_norm_consts(c, "hn", &e->q->final_norm)) return -1;
  c->acc_tok_base = c->const_words;
  return 0;
}

static int head_build(cc_ctx *c, char *err, size_t errlen) {
  head_ext *e = (head_ext *)c->ext;
  const tern_tfm_qmodel *q = e->q;
  const tern_tfm_config *tc = &q->cfg;
  const tern_tfm_qnorm *fn = &q->final_norm;
  const tern_i8rows *W = tc->tie_embeddings ? &q->m->embed : &q->m->lm_head;
  if (!W->q || W->rows != tc->vocab || W->cols != tc->dim || !q->head_c)
    return tern_err(err, errlen, "compile: head: the model has no %d x %d int8 %s rows", tc->vocab,
                    tc->dim, tc->tie_embeddings ? "embedding" : "lm_head");
  if (!fn->g_q || fn->n != tc->dim)
    return tern_err(err, errlen,
                    "compile: head: final norm: %s, n = %d, expected gains over %d values",
                    fn->g_q ? "gains present" : "no gains", fn->n, tc->dim);
  c->d = tc->dim;
  c->x = cc_add_tensor(c, "x", CC_T_I32, tc->dim);
  int hn = cc_tfm_add_norm(c, "hn", fn, c->x, tc->dim);
  e->hq = cc_add_tensor(c, "hq", CC_T_I8, tc->dim);
  e->A = cc_add_tensor(c, "hq.A", CC_T_SCALAR, 1);
  e->Dh = cc_add_tensor(c, "hq.Dh", CC_T_SCALAR, 1);
  e->R = cc_add_tensor(c, "hq.R", CC_T_SCALAR, 1);
  cc_op o;
  memset(&o, 0, sizeof o);
  o.kind = CC_OP_QUANT;
  snprintf(o.name, sizeof o.name, "hq");
  o.in[0] = hn;
  o.nin = 1;
  int outs[4] = {e->hq, e->A, e->Dh, e->R};
  memcpy(o.out, outs, sizeof outs);
  o.nout = 4;
  o.ntemp = 1;
  cc_add_op(c, &o);
  return 0;
}

/* Rows per block (Mb) and the tile shape: the largest row block that fits,
 * then the (nv, kp) with the fewest instructions. */
static int head_tile(cc_ctx *c, char *err, size_t errlen) {
  head_ext *e = (head_ext *)c->ext;
  const tern_hwcfg *h = c->cfg;
  const int C = h->cols, MX = CC_VEC_FIELD_MAX, dim = c->d;
  if (check_dim_pad(c, e->mem, err, errlen)) return -1;
  if (e->mem->vocab_pad != cc_round_up(e->q->cfg.vocab, C))
    return tern_err(err, errlen,
                    "compile: head: the memory plan's vocab_pad = %d, expected %d (vocab %d "
                    "rounded up to cols)",
                    e->mem->vocab_pad, cc_round_up(e->q->cfg.vocab, C), e->q->cfg.vocab);
  if (cc_build_consts(c)) return tern_err(err, errlen, "compile: head: constant pool failed");
  cc_assign_token_offsets(c);
  e->dW = c->d_pad / C;
  e->VW = e->mem->vocab_pad / C;
  int kmin = dim < C ? dim : C;
  int rb = e->Mh < MX ? e->Mh : MX;
  for (; rb >= 1; rb--) {
    long acc_av = (long)h->acc_depth - c->const_words - (long)rb * c->tok_words;
    long bw = ((long)h->out_depth - (long)rb * e->dW) / 2;
    if (acc_av < 2L * rb + 2 || bw < kmin) continue;
    long nvmax = acc_av / (2L * rb + 2);
    if (nvmax > e->VW) nvmax = e->VW;
    if (nvmax > MX) nvmax = MX;
    long best = -1;
    for (long nv = 1; nv <= nvmax; nv++) {
      long kp;
      if ((long)dim * nv <= bw && dim <= MX) {
        kp = dim;
      } else {
        long k = bw / nv;
        if (k > MX) k = MX;
        kp = k / C * C;
        if (kp < C) break; /* larger nv only makes it smaller */
      }
      long pieces = (dim + kp - 1) / kp, chunks = (e->VW + nv - 1) / nv;
      long stores = (long)e->mem->vocab_pad * 4 <= 65535 ? 1 : rb;
      long est = chunks * pieces * (1 + rb) + chunks * (3 + stores);
      if (best < 0 || est < best) {
        best = est;
        e->nv = (int)nv;
        e->kp = (int)kp;
      }
    }
    if (best >= 0) break;
  }
  if (rb < 1)
    return tern_err(err, errlen,
                    "compile: head: one row does not fit: needs %d + %d ACC words (constants + "
                    "row) + 4 for the logits, acc_depth = %d; %d OUT words (the quantised row) + 2 "
                    "x %d (B tiles), out_depth = %d",
                    c->const_words, c->tok_words, h->acc_depth, e->dW, kmin, h->out_depth);
  c->Mb = rb;
  c->nblocks = (e->Mh + rb - 1) / rb;
  e->nch = (e->VW + e->nv - 1) / e->nv;
  e->npc = (dim + e->kp - 1) / e->kp;
  int bwords = e->kp * e->nv;
  e->o_q = 0;
  e->o_b[0] = rb * e->dW;
  e->o_b[1] = e->o_b[0] + bwords;
  int top = c->acc_tok_base + c->tok_words * rb;
  e->a_l[0] = top;
  e->a_l[1] = top + rb * e->nv;
  e->a_h[0] = top + 2 * rb * e->nv;
  e->a_h[1] = e->a_h[0] + e->nv;
  return 0;
}

/* words of chunk j, rows of piece p */
static int chunk_words(const head_ext *e, int j) {
  return j == e->nch - 1 ? e->VW - j * e->nv : e->nv;
}
static int piece_rows(const head_ext *e, int dim, int p) {
  return p == e->npc - 1 ? dim - p * e->kp : e->kp;
}

static int head_alloc(cc_ctx *c, char *err, size_t errlen) {
  head_ext *e = (head_ext *)c->ext;
  const tern_tfm_qmodel *q = e->q;
  const tern_tfm_mem *mem = e->mem;
  const int C = c->cfg->cols, dim = c->d, V = q->cfg.vocab;
  tern_program *p = c->prog;
  c->dram_x = mem->x_addr;
  c->dram_y = mem->logits_addr;
  cc_add_tensor_ref(p, "x", c->dram_x, TERN_DT_I32, (uint32_t)c->M, (uint32_t)dim,
                    (uint32_t)c->d_pad * 4);
  cc_add_tensor_ref(p, "logits", c->dram_y, TERN_DT_I32, (uint32_t)e->Mh, (uint32_t)V,
                    (uint32_t)mem->vocab_pad * 4);
  uint64_t pos = put_consts(c, al64(mem->priv_base));
  /* head_c, int32 [vocab_pad] */
  size_t nhc = (size_t)mem->vocab_pad * 4;
  uint8_t *hc = calloc(nhc, 1);
  if (!hc) abort();
  for (int v = 0; v < V; v++) put32(hc + (size_t)v * 4, q->head_c[v]);
  e->d_hc = (uint32_t)pos;
  tern_program_add_segment(p, e->d_hc, hc, (uint32_t)nhc);
  cc_add_tensor_ref(p, "head_c", e->d_hc, TERN_DT_I32, 1, (uint32_t)V, (uint32_t)nhc);
  free(hc);
  pos = al64(pos + nhc);
  /* W8^T tile by tile: tile (j, p) = dims [p*kp, +rows) x vocabulary words [j*nv, +words) */
  const int8_t *W = q->cfg.tie_embeddings ? q->m->embed.q : q->m->lm_head.q;
  uint64_t total = (uint64_t)mem->vocab_pad * (uint64_t)dim;
  if (pos + total > 0xffffffffull)
    return tern_err(err, errlen, "compile: head: W8^T of %llu bytes exceeds 32-bit DRAM addresses",
                    (unsigned long long)total);
  uint8_t *img = calloc((size_t)total ? (size_t)total : 1, 1);
  e->tile_off = malloc((size_t)e->nch * (size_t)e->npc * sizeof *e->tile_off);
  if (!img || !e->tile_off) {
    free(img);
    return tern_err(err, errlen, "compile: head: out of memory (%llu bytes)",
                    (unsigned long long)total);
  }
  uint64_t off = 0;
  for (int j = 0; j < e->nch; j++) {
    int nw = chunk_words(e, j);
    for (int pc = 0; pc < e->npc; pc++) {
      int kr = piece_rows(e, dim, pc);
      e->tile_off[(size_t)j * e->npc + pc] = (uint32_t)off;
      for (int k = 0; k < kr; k++)
        for (int i = 0; i < nw * C; i++) {
          int v = j * e->nv * C + i, dk = pc * e->kp + k;
          if (v < V) img[off + (size_t)k * nw * C + i] = (uint8_t)W[(size_t)v * dim + dk];
        }
      off += (uint64_t)kr * (uint64_t)nw * (uint64_t)C;
    }
  }
  e->d_w = (uint32_t)pos;
  tern_program_add_segment(p, e->d_w, img, (uint32_t)total);
  cc_add_tensor_ref(p, "head_w8t", e->d_w, TERN_DT_I8, (uint32_t)dim, (uint32_t)V,
                    (uint32_t)mem->vocab_pad);
  free(img);
  pos = al64(pos + total);
  return image_end(c, pos, err, errlen);
}

static void head_tile_load(cc_ctx *c, long gt) {
  const head_ext *e = c->ext;
  long nt = (long)e->nch * e->npc;
  int t = (int)(gt % nt), j = t / e->npc, pc = t % e->npc;
  int words = piece_rows(e, c->d, pc) * chunk_words(e, j);
  cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_OUT, e->o_b[gt % 2], 0, 1, words, e->d_w + e->tile_off[t],
              0);
}

static int head_emit(cc_ctx *c, char *err, size_t errlen) {
  const head_ext *e = c->ext;
  const int C = c->cfg->cols, W = e->dW, dim = c->d;
  const uint32_t row = (uint32_t)c->d_pad * 4, lrow = (uint32_t)e->mem->vocab_pad * 4;
  const cc_op *norm = &c->op[0];
  int X = cc_acc_addr(c, c->x), H = cc_acc_addr(c, norm->out[0]);
  int A = cc_acc_addr(c, e->A), R = cc_acc_addr(c, e->R), Dh = cc_acc_addr(c, e->Dh);
  long nt = (long)e->nch * e->npc, ntot = nt * c->nblocks;
  char nm[TERN_NAME_LEN];
  cc_tfm_mask_name(nm, sizeof nm, c->d);
  c->ins.n = 0;
  if (c->const_words)
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, 0, 0, 1, c->const_words, c->dram_const, 0);
  head_tile_load(c, 0);
  long gt = 0, loaded = 1, gc = 0;
  for (int b = 0; b < c->nblocks; b++) {
    int r0 = b * c->Mb, rb = e->Mh - r0 < c->Mb ? e->Mh - r0 : c->Mb;
    int srow = e->all ? r0 : c->M - 1; /* x row of processed row r0 */
    cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, X, W, rb, W, c->dram_x + (uint32_t)srow * row,
                (int)row);
    if (c->d_pad != c->d) V(MULSHR, BCASTROW, X, X, cc_const_addr(c, nm), W, rb, W, W, 0);
    if (cc_tfm_emit_tnorm(c, norm, rb, err, errlen)) return -1; /* H1 */
    V(RMAXABS, VEC, A, H, H, W, rb, 1, W, 0);                   /* H2 */
    V(MAX, CONST, A, A, cc_const_addr(c, "amin"), 1, rb, 1, 1, 0);
    V(RECIP, CONST, R, A, cc_const_addr(c, "c127"), 1, rb, 1, 1, TERN_QSHIFT);
    V(QUANT, PERROW, e->o_q, H, R, W, rb, W, W, TERN_QSHIFT);
    V(MULSHR, CONST, Dh, A, cc_const_addr(c, "hdq"), 1, rb, 1, 1, 12); /* H3 */
    for (int j = 0; j < e->nch; j++, gc++) {
      int nw = chunk_words(e, j), L = e->a_l[gc % 2], Hc = e->a_h[gc % 2];
      cc_emit_dma(c, TERN_OP_LOAD, TERN_MEM_ACC, Hc, 0, 1, nw,
                  e->d_hc + (uint32_t)j * (uint32_t)e->nv * (uint32_t)C * 4, 0);
      for (int pc = 0; pc < e->npc; pc++, gt++) {
        while (loaded <= gt + 1 && loaded < ntot) head_tile_load(c, loaded++); /* prefetch */
        int kr = piece_rows(e, dim, pc);
        for (int r = 0; r < rb; r++) /* H4 */
          cc_emit_mac8(c, L + r * e->nv, e->o_b[gt % 2], e->o_q + r * W + pc * e->kp / C, nw, kr,
                       nw, pc > 0);
      }
      V(MULSHR, BCASTROW, L, L, Hc, nw, rb, e->nv, e->nv, 16); /* H5 */
      V(MULSHR, PERROW, L, L, Dh, nw, rb, e->nv, e->nv, 30);
      uint32_t dst = c->dram_y + (uint32_t)j * (uint32_t)e->nv * (uint32_t)C * 4;
      if (lrow <= 65535) {
        cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, L, e->nv, rb, nw, dst + (uint32_t)r0 * lrow,
                    (int)lrow);
      } else {
        for (int r = 0; r < rb; r++)
          cc_emit_dma(c, TERN_OP_STORE, TERN_MEM_ACC, L + r * e->nv, 0, 1, nw,
                      dst + (uint32_t)(r0 + r) * lrow, 0);
      }
    }
  }
  return 0;
}

static void head_dump_tile(const cc_ctx *c, FILE *f) {
  const head_ext *e = c->ext;
  fprintf(f,
          "# head tile: %d row(s) (%s), blocks of %d; %d vocabulary chunk(s) of %d words x %d "
          "piece(s) of %d dims; tiles of %d OUT words\n",
          e->Mh, e->all ? "all rows" : "last row", c->Mb, e->nch, e->nv, e->npc, e->kp,
          e->kp * e->nv);
}

static void head_dump_alloc(const cc_ctx *c, FILE *f) {
  const head_ext *e = c->ext;
  cc_dump_alloc(c, f);
  fprintf(
      f,
      "OUT quantised rows at %d, B tiles at %d and %d; ACC logits at %d / %d, head_c at %d / %d\n",
      e->o_q, e->o_b[0], e->o_b[1], e->a_l[0], e->a_l[1], e->a_h[0], e->a_h[1]);
  fprintf(f, "DRAM head_c 0x%08x, W8^T tiles 0x%08x, logits 0x%08x\n", e->d_hc, e->d_w, c->dram_y);
}

static int compile_head(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                        const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                        const tern_compile_opts *opts, tern_program *out, char *err,
                        size_t errlen) {
  static const cc_pass ps[] = {
      {"build", head_build, cc_dump_build},
      {"pad", cc_pass_pad, cc_dump_pad},
      {"tile", head_tile, head_dump_tile},
      {"alloc", head_alloc, head_dump_alloc},
      {"emit", head_emit, cc_dump_prog},
      {"sync", cc_pass_sync, cc_dump_prog},
      {"validate", cc_pass_validate, cc_dump_prog},
  };
  cc_ctx c;
  if (cc_compile_common(&c, cfg, opts, out, err, errlen)) return -1;
  head_ext e;
  memset(&e, 0, sizeof e);
  e.q = q;
  e.mem = mem;
  e.all = s->all_logits != 0;
  e.Mh = e.all ? s->M : 1;
  c.ext = &e;
  c.consts_fn = head_consts;
  c.mem = mem;
  int rc = cc_run_passes(&c, ps, (int)(sizeof ps / sizeof ps[0]), opts, err, errlen);
  free(e.tile_off);
  cc_ctx_free(&c);
  if (rc) tern_program_free(out);
  return rc;
}

/* ---- dispatcher -------------------------------------------------------------------- */

static const char *kind_name(int k) {
  switch (k) {
    case TERN_TFM_PROG_EMBED:
      return "EMBED";
    case TERN_TFM_PROG_ATTN:
      return "ATTN";
    case TERN_TFM_PROG_FFN:
      return "FFN";
    case TERN_TFM_PROG_HEAD:
      return "HEAD";
  }
  return "?";
}

static int check_spec(const tern_tfm_qmodel *q, const tern_tfm_prog_spec *s, int rows, char *err,
                      size_t errlen) {
  if (!q || !q->block || !q->m)
    return tern_err(err, errlen, "compile: model is NULL or not quantised");
  if (!s) return tern_err(err, errlen, "compile: program spec is NULL");
  if (s->kind < TERN_TFM_PROG_EMBED || s->kind > TERN_TFM_PROG_HEAD)
    return tern_err(err, errlen,
                    "compile: spec kind = %d, expected 0 (EMBED), 1 (ATTN), 2 (FFN) or 3 (HEAD)",
                    (int)s->kind);
  if (s->M < 1 || (rows > 0 && s->M > rows))
    return tern_err(err, errlen,
                    "compile: %s: spec M = %d, expected 1 .. %d (the memory plan's rows)",
                    kind_name(s->kind), s->M, rows > 0 ? rows : CC_VEC_FIELD_MAX);
  if ((s->kind == TERN_TFM_PROG_ATTN || s->kind == TERN_TFM_PROG_FFN) &&
      (s->block < 0 || s->block >= q->cfg.layers))
    return tern_err(err, errlen, "compile: %s: spec block = %d, expected 0 .. %d (layers = %d)",
                    kind_name(s->kind), s->block, q->cfg.layers - 1, q->cfg.layers);
  return 0;
}

int tern_compile_tfm_prog(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                          const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                          const tern_compile_opts *opts, tern_program *out, char *err,
                          size_t errlen) {
  if (!out) return tern_err(err, errlen, "compile: output program is NULL");
  tern_program_init(out);
  if (!mem) return tern_err(err, errlen, "compile: memory plan is NULL (tern_tfm_mem_plan)");
  if (check_spec(q, s, mem->rows, err, errlen)) return -1;
  tern_compile_opts o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  o.tokens = s->M;
  switch (s->kind) {
    case TERN_TFM_PROG_EMBED:
      return compile_embed(q, mem, s, cfg, &o, out, err, errlen);
    case TERN_TFM_PROG_HEAD:
      return compile_head(q, mem, s, cfg, &o, out, err, errlen);
    case TERN_TFM_PROG_ATTN:
      return cc_compile_tfm_attn(q, mem, s, cfg, &o, out, err, errlen);
    case TERN_TFM_PROG_FFN: {
      tern_tfm_ffn_half h;
      char e2[256];
      if (tern_tfm_ffn_half_of(q, s->block, &h, e2, sizeof e2))
        return tern_err(err, errlen, "compile: %s", e2);
      return cc_compile_tfm_ffn_prog(&h, mem, &s->wres, cfg, &o, out, err, errlen);
    }
  }
  return tern_err(err, errlen, "compile: spec kind = %d unknown", (int)s->kind);
}

int tern_compile_tfm_parts(const tern_tfm_qmodel *q, const tern_tfm_mem *mem,
                           const tern_tfm_prog_spec *s, const tern_hwcfg *cfg,
                           const tern_compile_opts *opts, tern_program **parts, int *nparts,
                           char *err, size_t errlen) {
  if (!parts || !nparts) return tern_err(err, errlen, "compile: parts / nparts is NULL");
  *parts = NULL;
  *nparts = 0;
  tern_program p0;
  cc_split_begin();
  int rc = tern_compile_tfm_prog(q, mem, s, cfg, opts, &p0, err, errlen);
  return cc_split_collect(rc, &p0, parts, nparts);
}

int cc_split_collect(int rc, tern_program *p0, tern_program **parts, int *nparts) {
  tern_program *extra = NULL;
  int nx = cc_split_end(&extra);
  if (rc) {
    tern_tfm_parts_free(extra, nx);
    return -1;
  }
  tern_program *v = calloc((size_t)nx + 1, sizeof *v);
  if (!v) abort();
  v[0] = *p0; /* moved */
  for (int i = 0; i < nx; i++) v[i + 1] = extra[i];
  free(extra);
  *parts = v;
  *nparts = nx + 1;
  return 0;
}

void tern_tfm_parts_free(tern_program *parts, int n) {
  if (!parts) return;
  for (int i = 0; i < n; i++) tern_program_free(&parts[i]);
  free(parts);
}

int tern_tfm_prog_tiles(const tern_tfm_qmodel *q, const tern_tfm_prog_spec *s,
                        const tern_hwcfg *cfg, char *err, size_t errlen) {
  if (check_spec(q, s, 0, err, errlen)) return -1;
  if (!cfg) return tern_err(err, errlen, "compile: hardware config is NULL");
  if (s->kind == TERN_TFM_PROG_EMBED || s->kind == TERN_TFM_PROG_HEAD) return 0;
  tern_compile_opts o;
  memset(&o, 0, sizeof o);
  o.tokens = s->M;
  tern_program p;
  tern_tfm_prog_spec sp = *s;
  memset(&sp.wres, 0, sizeof sp.wres); /* the tile count does not depend on residency */
  char e2[512];
  int rc;
  cc_probe_tiles_begin();
  if (s->kind == TERN_TFM_PROG_FFN) {
    tern_tfm_ffn_half h;
    rc = tern_tfm_ffn_half_of(q, s->block, &h, e2, sizeof e2);
    if (!rc) rc = tern_compile_tfm_ffn_half(&h, cfg, &o, &p, e2, sizeof e2);
  } else {
    /* the tiles do not depend on the map: a plan just big enough for this
     * spec, not limited by the configured DRAM size */
    tern_hwcfg big = *cfg;
    big.dram_bytes = TERN_DRAM_MAX;
    int ctx = s->pos + s->M < q->cfg.max_seq ? s->pos + s->M : q->cfg.max_seq;
    tern_tfm_mem mem;
    rc = tern_tfm_mem_plan(&q->cfg, &big, s->M, ctx < 1 ? 1 : ctx, &mem, e2, sizeof e2);
    if (!rc) rc = cc_compile_tfm_attn(q, &mem, &sp, &big, &o, &p, e2, sizeof e2);
  }
  long t = cc_probe_tiles_end();
  if (rc == 0) tern_program_free(&p);
  if (t < 0)
    return tern_err(err, errlen, "compile: %s program (block %d): %s", kind_name(s->kind), s->block,
                    rc ? e2 : "no tile pass ran");
  if (t > 0x7fffffffL) return tern_err(err, errlen, "compile: %ld weight tiles", t);
  return (int)t;
}
