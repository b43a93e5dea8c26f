/* Pass "alloc": on-chip regions and the DRAM image.
 *  ACC : [0, const_words) constant pool (one LOAD per program), then the token
 *        area: every I32 / scalar tensor gets a per-token offset (first fit over
 *        op-index liveness), a tensor of w words/token lives at
 *        acc_tok_base + tok_off*Mb, row r at + r*w.
 *  ABUF: int8 activations of the current matrix at 0, token row r at r*K_pad/rows.
 *  OUT : quantised activations at 0, token row r at r*K_pad/cols.
 *  WBUF: two halves [0, depth/2) and [depth/2, depth) for alternating chunks
 *        (with residency, c->wres: the resident tiles at res_base.., the two
 *        halves of [stream_base, depth); cc_tile_chunks in tile.c).
 *  DRAM: constant pool | packed weights (per matrix, [n_tile][k_tile]) |
 *        x (M x d_pad int32) | y | int8 scratch per quantised tensor (Mb x K_pad).
 *        Relocated (c->mem, a program of a transformer step, compiler_tfm.h):
 *        x at mem->x_addr, written in place (no y), and constant pool |
 *        weights | scratch from mem->priv_base. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "tern/numerics.h"

uint32_t cc_word_bytes(const tern_hwcfg *cfg, int mem) {
  switch (mem) {
    case TERN_MEM_WBUF: return (uint32_t)(cfg->rows * cfg->cols / 4);
    case TERN_MEM_ABUF: return (uint32_t)cfg->rows;
    case TERN_MEM_ACC: return (uint32_t)(cfg->cols * 4);
    case TERN_MEM_OUT: return (uint32_t)cfg->cols;
  }
  return 0;
}

static int add_const(cc_ctx *c, const char *name, int words, const int32_t *vals, int32_t fill) {
  if (c->ncst == c->capcst) {
    c->capcst = c->capcst ? c->capcst * 2 : 16;
    c->cst = realloc(c->cst, (size_t)c->capcst * sizeof *c->cst);
    if (!c->cst) abort();
  }
  cc_const *k = &c->cst[c->ncst];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "%s", name);
  k->words = words;
  size_t n = (size_t)words * (size_t)c->cfg->cols;
  k->lanes = malloc(n * sizeof(int32_t));
  if (!k->lanes) abort();
  for (size_t i = 0; i < n; i++) k->lanes[i] = vals ? vals[i] : fill;
  k->addr = c->const_words;
  c->const_words += words;
  return c->ncst++;
}

int cc_add_const(cc_ctx *c, const char *name, int words, const int32_t *vals, int32_t fill) {
  return add_const(c, name, words, vals, fill);
}

int cc_const_addr(const cc_ctx *c, const char *name) {
  for (int i = 0; i < c->ncst; i++)
    if (!strcmp(c->cst[i].name, name)) return c->cst[i].addr;
  fprintf(stderr, "tern compiler: internal error: constant %s missing\n", name);
  abort();
}

int cc_build_consts(cc_ctx *c) {
  for (int i = 0; i < c->ncst; i++) free(c->cst[i].lanes);
  c->ncst = 0;
  c->const_words = 0;
  if (c->is_gemm) return 0;
  if (c->consts_fn) return c->consts_fn(c);
  const int C = c->cfg->cols;
  const tern_qmlp *q = c->q;
  add_const(c, "zero", 1, NULL, 0);
  add_const(c, "amin", 1, NULL, TERN_AMIN);
  add_const(c, "c127", 1, NULL, 127);
  int dw = c->d_pad / C;
  int32_t *v = calloc((size_t)c->d_pad + 256, sizeof(int32_t));
  if (!v) abort();
  if (c->d_pad != c->d) {
    for (int i = 0; i < c->d_pad; i++) v[i] = i < c->d;
    add_const(c, "mask", dw, v, 0);
  }
  char nm[TERN_NAME_LEN];
  for (int l = 0; l < q->cfg.layers; l++) {
    const tern_qlayer *ql = &q->layer[l];
    snprintf(nm, sizeof nm, "l%d.eps", l);
    add_const(c, nm, 1, NULL, ql->norm.eps_c);
    snprintf(nm, sizeof nm, "l%d.rsnum", l);
    add_const(c, nm, 1, NULL, ql->norm.rs_num);
    for (int i = 0; i < c->d_pad; i++) v[i] = i < c->d ? ql->norm.g_q[i] : 0;
    snprintf(nm, sizeof nm, "l%d.g", l);
    add_const(c, nm, dw, v, 0);
    snprintf(nm, sizeof nm, "l%d.w1.beta", l);
    add_const(c, nm, 1, NULL, ql->l1.beta_c);
    snprintf(nm, sizeof nm, "l%d.w2.beta", l);
    add_const(c, nm, 1, NULL, ql->l2.beta_c);
  }
  if (q->cfg.act == TERN_ACT_SILU) {
    for (int i = 0; i < 256; i++) v[i] = q->sigmoid_lut[i];
    add_const(c, "lut", 256 / C, v, 0);
  }
  free(v);
  c->acc_tok_base = c->const_words;
  return 0;
}

/* Liveness over op indices, then first fit of per-token offsets. */
int cc_assign_token_offsets(cc_ctx *c) {
  const int C = c->cfg->cols;
  for (int i = 0; i < c->nt; i++) {
    c->t[i].first = c->t[i].last = -1;
    c->t[i].words = c->t[i].kind == CC_T_I8 ? 0 : c->t[i].kind == CC_T_SCALAR ? 1 : c->t[i].cols_pad / C;
  }
  for (int o = 0; o < c->nop; o++) {
    const cc_op *op = &c->op[o];
    for (int j = 0; j < op->nin + op->nout; j++) {
      int id = j < op->nin ? op->in[j] : op->out[j - op->nin];
      cc_tensor *t = &c->t[id];
      if (t->first < 0 || o < t->first) t->first = o;
      if (o > t->last) t->last = o;
    }
  }
  /* the residual stream / graph input is live for the whole block */
  if (c->x >= 0 && c->x < c->nt) {
    c->t[c->x].first = -1;
    c->t[c->x].last = c->nop;
  }
  int peak = 0;
  for (int i = 0; i < c->nt; i++) {
    cc_tensor *t = &c->t[i];
    if (!t->words) continue;
    int off = 0, moved = 1;
    while (moved) {
      moved = 0;
      for (int j = 0; j < i; j++) {
        const cc_tensor *u = &c->t[j];
        if (!u->words || u->last < t->first || t->last < u->first) continue;
        if (off < u->tok_off + u->words && u->tok_off < off + t->words) {
          off = u->tok_off + u->words;
          moved = 1;
        }
      }
    }
    t->tok_off = off;
    if (off + t->words > peak) peak = off + t->words;
  }
  c->tok_words = peak;
  return peak;
}

int cc_acc_addr(const cc_ctx *c, int tensor) {
  return c->acc_tok_base + c->t[tensor].tok_off * c->Mb;
}

uint8_t *cc_pack_matrix(const cc_ctx *c, const cc_matrix *m, size_t *len) {
  const int R = c->cfg->rows, C = c->cfg->cols;
  size_t tb = (size_t)R * C / 4;
  size_t n = tb * (size_t)m->kt * (size_t)m->nt;
  uint8_t *b = calloc(n ? n : 1, 1);
  if (!b) abort();
  for (int nt = 0; nt < m->nt; nt++)
    for (int kt = 0; kt < m->kt; kt++) {
      uint8_t *tile = b + tb * ((size_t)nt * m->kt + kt);
      for (int k = 0; k < R; k++)
        for (int j = 0; j < C; j++) {
          int gk = kt * R + k, gn = nt * C + j;
          if (gk >= m->K || gn >= m->N) continue;
          unsigned code = tern_wcode_of(m->codes[(size_t)gk * m->N + gn]);
          int i = k * C + j;
          tile[i / 4] |= (uint8_t)(code << (2 * (i % 4)));
        }
    }
  *len = n;
  return b;
}

static uint32_t align64(uint64_t v) { return (uint32_t)((v + 63) & ~(uint64_t)63); }

void cc_add_tensor_ref(tern_program *p, const char *name, uint32_t addr, uint32_t dtype,
                       uint32_t rows, uint32_t cols, uint32_t stride) {
  tern_tensor_ref t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "%s", name);
  t.dram_addr = addr;
  t.dtype = dtype;
  t.rows = rows;
  t.cols = cols;
  t.row_stride = stride;
  tern_program_add_tensor(p, &t);
}

int cc_pass_alloc(cc_ctx *c, char *err, size_t errlen) {
  const tern_hwcfg *h = c->cfg;
  const int C = h->cols;
  tern_program *p = c->prog;
  const tern_tfm_mem *mem = c->mem;
  if (mem) { /* relocated: x in place in the persistent map, the image above priv_base */
    if (c->is_gemm || c->d_pad != mem->dim_pad) {
      tern_err(err, errlen,
               "compile: x row of %d values (dim %d padded) does not match the memory plan's "
               "dim_pad = %d (plan the map for this hardware configuration)",
               c->d_pad, c->d, mem->dim_pad);
      return -1;
    }
    if (c->M > mem->rows) {
      tern_err(err, errlen, "compile: tokens = %d, expected <= %d (the memory plan's rows)", c->M,
               mem->rows);
      return -1;
    }
  }
  uint64_t pos = mem ? align64(mem->priv_base) : 0;
  /* constant pool */
  c->dram_const = (uint32_t)pos;
  if (c->const_words) {
    size_t wb = (size_t)C * 4, n = (size_t)c->const_words * wb;
    uint8_t *buf = calloc(n, 1);
    if (!buf) abort();
    for (int i = 0; i < c->ncst; i++) {
      const cc_const *k = &c->cst[i];
      for (int j = 0; j < k->words * C; j++) {
        uint32_t v = (uint32_t)k->lanes[j];
        uint8_t *d = buf + (size_t)k->addr * wb + (size_t)j * 4;
        d[0] = (uint8_t)v;
        d[1] = (uint8_t)(v >> 8);
        d[2] = (uint8_t)(v >> 16);
        d[3] = (uint8_t)(v >> 24);
      }
    }
    tern_program_add_segment(p, c->dram_const, buf, (uint32_t)n);
    cc_add_tensor_ref(p, "consts", c->dram_const, TERN_DT_I32, (uint32_t)c->const_words, (uint32_t)C,
                   (uint32_t)wb);
    free(buf);
    pos = align64(pos + n);
  }
  /* weights */
  for (int i = 0; i < c->nmat; i++) {
    cc_matrix *m = &c->mat[i];
    size_t len;
    uint8_t *b = cc_pack_matrix(c, m, &len);
    m->dram = (uint32_t)pos;
    if (pos + len > 0xffffffffu) {
      free(b);
      tern_err(err, errlen, "compile: DRAM image exceeds 4 GiB (32-bit DRAM_ADDR)");
      return -1;
    }
    tern_program_add_segment(p, m->dram, b, (uint32_t)len);
    cc_add_tensor_ref(p, m->name, m->dram, TERN_DT_W2, (uint32_t)(m->kt * m->nt),
                   (uint32_t)(h->rows * C), (uint32_t)cc_word_bytes(h, TERN_MEM_WBUF));
    free(b);
    pos = align64(pos + len);
  }
  /* graph input / output */
  if (c->is_gemm) {
    const cc_tensor *a = &c->t[c->x], *y = &c->t[c->y];
    c->dram_x = (uint32_t)pos;
    cc_add_tensor_ref(p, "a", c->dram_x, TERN_DT_I8, (uint32_t)c->M, (uint32_t)a->cols,
                   (uint32_t)a->cols_pad);
    pos = align64(pos + (uint64_t)c->M * a->cols_pad);
    c->dram_y = (uint32_t)pos;
    cc_add_tensor_ref(p, "acc", c->dram_y, TERN_DT_I32, (uint32_t)c->M, (uint32_t)y->cols,
                   (uint32_t)y->cols_pad * 4);
    pos = align64(pos + (uint64_t)c->M * y->cols_pad * 4);
  } else if (mem) {
    c->dram_x = c->dram_y = mem->x_addr;
    cc_add_tensor_ref(p, "x", c->dram_x, TERN_DT_I32, (uint32_t)c->M, (uint32_t)c->d,
                      (uint32_t)c->d_pad * 4);
  } else {
    c->dram_x = (uint32_t)pos;
    cc_add_tensor_ref(p, "x", c->dram_x, TERN_DT_I32, (uint32_t)c->M, (uint32_t)c->d,
                   (uint32_t)c->d_pad * 4);
    pos = align64(pos + (uint64_t)c->M * c->d_pad * 4);
    c->dram_y = (uint32_t)pos;
    cc_add_tensor_ref(p, "y", c->dram_y, TERN_DT_I32, (uint32_t)c->M, (uint32_t)c->d,
                   (uint32_t)c->d_pad * 4);
    pos = align64(pos + (uint64_t)c->M * c->d_pad * 4);
  }
  if (!c->is_gemm) {
    for (int i = 0; i < c->nt; i++) {
      cc_tensor *t = &c->t[i];
      if (t->kind != CC_T_I8) continue;
      t->scratch = (uint32_t)pos;
      cc_add_tensor_ref(p, t->name, t->scratch, TERN_DT_I8, (uint32_t)c->Mb, (uint32_t)t->cols,
                     (uint32_t)t->cols_pad);
      pos = align64(pos + (uint64_t)c->Mb * t->cols_pad);
    }
  }
  if (pos > 0xffffffffu) {
    tern_err(err, errlen, "compile: DRAM image of %llu bytes exceeds 4 GiB (32-bit DRAM_ADDR)",
           (unsigned long long)pos);
    return -1;
  }
  if (h->dram_bytes && pos > h->dram_bytes) {
    tern_err(err, errlen, "compile: program needs %llu bytes of DRAM, hwcfg dram_bytes = %llu",
           (unsigned long long)pos, (unsigned long long)h->dram_bytes);
    return -1;
  }
  c->dram_end = (uint32_t)pos;
  p->dram_size = pos;
  return 0;
}

void cc_dump_alloc(const cc_ctx *c, FILE *f) {
  const tern_hwcfg *h = c->cfg;
  fprintf(f, "# alloc: Mb = %d; ACC constants [0, %d), token area from %d (%d words/token)\n",
          c->Mb, c->const_words, c->acc_tok_base, c->tok_words);
  for (int i = 0; i < c->ncst; i++)
    fprintf(f, "ACC  const  %-12s words %5d..%5d (lane0 = %d)\n", c->cst[i].name, c->cst[i].addr,
            c->cst[i].addr + c->cst[i].words - 1, c->cst[i].lanes[0]);
  for (int i = 0; i < c->nt; i++) {
    const cc_tensor *t = &c->t[i];
    if (t->words)
      fprintf(f, "ACC  tensor %-12s words %5d..%5d (row stride %d, live ops %d..%d)\n", t->name,
              cc_acc_addr(c, i), cc_acc_addr(c, i) + t->words * c->Mb - 1, t->words, t->first,
              t->last);
    else if (t->kind == CC_T_I8)
      fprintf(f, "OUT/ABUF %-12s OUT row stride %d, ABUF row stride %d, DRAM scratch 0x%x\n",
              t->name, t->cols_pad / h->cols, t->cols_pad / h->rows, t->scratch);
  }
  fprintf(f, "WBUF halves [0, %d) and [%d, %d)\n", c->wbuf_half, c->wbuf_half, 2 * c->wbuf_half);
  for (int i = 0; i < c->nmat; i++)
    fprintf(f, "DRAM weights %-10s 0x%08x (%d tiles of %u bytes)\n", c->mat[i].name,
            c->mat[i].dram, c->mat[i].kt * c->mat[i].nt, cc_word_bytes(h, TERN_MEM_WBUF));
  fprintf(f, "DRAM consts 0x%08x, input 0x%08x, output 0x%08x, end 0x%08x\n", c->dram_const,
          c->dram_x, c->dram_y, c->dram_end);
}
