/* Transformer weights from a seed (docs/MODELS.md "Weights"): one PRNG
 * stream per tensor, ternary matrices packed 2 bits per weight, embeddings /
 * LM head int8 with a float scale per row, norms float. */
#include <stdlib.h>
#include <string.h>

#include "model_common.h"
#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/tfm.h"

#define TFM_STREAM_XOR 0x5445524E54464D57ull /* "TERNTFMW" */

/* tensor ids (docs/MODELS.md) */
enum { T_EMBED = 0, T_LM_HEAD = 1, T_FINAL_G = 2, T_FINAL_B = 3, T_SHARED_FFN = 4, T_BLOCK = 64,
       T_PER_BLOCK = 16 };
/* offsets within a block (and, for the FFN part, within the shared FFN at T_SHARED_FFN - 10) */
enum { B_ATTN_G = 0, B_ATTN_B, B_WQ, B_WK, B_WV, B_WO, B_ASUB_G, B_ASUB_B, B_FFN_G, B_FFN_B,
       B_GATE, B_UP, B_DOWN, B_FSUB_G, B_FSUB_B };

uint64_t tern_tfm_stream_seed(uint64_t seed, uint32_t tensor_id) {
  return tern_mc_stream_seed(seed, TFM_STREAM_XOR, tensor_id);
}

/* ---- packed ternary ------------------------------------------------------- */

size_t tern_tpacked_bytes(int k, int n) {
  return ((size_t)(k > 0 ? k : 0) * (size_t)(n > 0 ? n : 0) + 3) / 4;
}

void tern_tpack(const int8_t *w, size_t count, uint8_t *codes) {
  memset(codes, 0, (count + 3) / 4);
  for (size_t i = 0; i < count; i++)
    codes[i >> 2] |= (uint8_t)(tern_wcode_of(w[i]) << (2 * (i & 3)));
}

int tern_tunpack(const uint8_t *codes, size_t count, int8_t *w) {
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    unsigned c = (codes[i >> 2] >> (2 * (i & 3))) & 3u;
    if (c == 2u) rc = -1;
    w[i] = (int8_t)(c == 1u ? 1 : (c == 3u ? -1 : 0));
  }
  return rc;
}

/* ---- sizes ------------------------------------------------------------------ */

static uint64_t ffn_bytes(const tern_tfm_config *c) {
  uint64_t b = 2 * (uint64_t)tern_tpacked_bytes(c->dim, c->ffn);
  if (tern_ffn_is_glu(c->ffn_type)) b += tern_tpacked_bytes(c->dim, c->ffn);
  if (c->subln) b += (c->norm_bias ? 2u : 1u) * 4ull * (uint64_t)c->ffn;
  return b;
}

uint64_t tern_tfm_model_bytes(const tern_tfm_config *c) {
  uint64_t qd = (uint64_t)c->heads * (uint64_t)c->head_dim;
  uint64_t kvd = (uint64_t)c->kv_heads * (uint64_t)c->head_dim;
  uint64_t nb = c->norm_bias ? 2u : 1u;
  uint64_t blk = 2 * (uint64_t)tern_tpacked_bytes(c->dim, (int)qd) +
                 2 * (uint64_t)tern_tpacked_bytes(c->dim, (int)kvd) +
                 nb * 4ull * (2ull * (uint64_t)c->dim + (c->subln ? qd : 0));
  uint64_t nffn = c->share_ffn ? 1 : (uint64_t)c->layers;
  uint64_t emb = (uint64_t)c->vocab * ((uint64_t)c->dim + 4);
  return (uint64_t)c->layers * blk + nffn * ffn_bytes(c) + emb * (c->tie_embeddings ? 1 : 2) +
         nb * 4ull * (uint64_t)c->dim;
}

/* ---- generators --------------------------------------------------------------- */

/* gains N(1, 0.1^2), biases N(0, 0.1^2) (cfg.norm_bias) */
static int gen_norm(const tern_tfm_config *c, uint32_t id_g, uint32_t id_b, int n,
                    tern_tfm_norm *nm) {
  nm->b = NULL;
  nm->g = tern_mc_gen_floats(tern_tfm_stream_seed(c->seed, id_g), n, 1.0, 0.1);
  if (!nm->g) return -1;
  if (c->norm_bias &&
      !(nm->b = tern_mc_gen_floats(tern_tfm_stream_seed(c->seed, id_b), n, 0.0, 0.1)))
    return -1;
  return 0;
}

static void free_norm(tern_tfm_norm *nm) {
  free(nm->g);
  free(nm->b);
  nm->g = nm->b = NULL;
}

/* master weights N(0, 1/fan_in) row-major [k][n], absmean-ternarised (tern_ternarize), packed */
static int gen_tern(const tern_tfm_config *c, uint32_t id, int k, int n, tern_tpacked *t) {
  return tern_mc_gen_tern(tern_tfm_stream_seed(c->seed, id), k, n, t);
}

static void free_tern(tern_tpacked *t) {
  free(t->codes);
  t->codes = NULL;
}

static void free_ffn(tern_tfm_ffn *f) {
  free_tern(&f->gate);
  free_tern(&f->up);
  free_tern(&f->down);
  free_norm(&f->subln);
}

static int gen_ffn(const tern_tfm_config *c, uint32_t base, tern_tfm_ffn *f) {
  memset(f, 0, sizeof *f);
  if (tern_ffn_is_glu(c->ffn_type) && gen_tern(c, base + B_GATE, c->dim, c->ffn, &f->gate))
    return -1;
  if (gen_tern(c, base + B_UP, c->dim, c->ffn, &f->up)) return -1;
  if (gen_tern(c, base + B_DOWN, c->ffn, c->dim, &f->down)) return -1;
  if (c->subln && gen_norm(c, base + B_FSUB_G, base + B_FSUB_B, c->ffn, &f->subln)) return -1;
  return 0;
}

void tern_tfm_block_free(tern_tfm_block *b) {
  if (!b) return;
  free_norm(&b->attn_norm);
  free_tern(&b->wq);
  free_tern(&b->wk);
  free_tern(&b->wv);
  free_tern(&b->wo);
  free_norm(&b->attn_subln);
  free_norm(&b->ffn_norm);
  free_ffn(&b->own_ffn);
  b->ffn = NULL;
}

int tern_tfm_generate_block(const tern_tfm_config *c, int bi, tern_tfm_block *b, char *err,
                            size_t errlen) {
  if (!c || !b) return tern_err(err, errlen, "tern_tfm_generate_block: null argument");
  memset(b, 0, sizeof *b);
  if (tern_tfm_check(c, "config", err, errlen)) return -1;
  if (tern_mc_check_block(bi, c->layers, err, errlen)) return -1;
  uint32_t base = T_BLOCK + (uint32_t)T_PER_BLOCK * (uint32_t)bi;
  int qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
  int bad = gen_norm(c, base + B_ATTN_G, base + B_ATTN_B, c->dim, &b->attn_norm) ||
            gen_tern(c, base + B_WQ, c->dim, qd, &b->wq) ||
            gen_tern(c, base + B_WK, c->dim, kvd, &b->wk) ||
            gen_tern(c, base + B_WV, c->dim, kvd, &b->wv) ||
            gen_tern(c, base + B_WO, qd, c->dim, &b->wo) ||
            (c->subln && gen_norm(c, base + B_ASUB_G, base + B_ASUB_B, qd, &b->attn_subln)) ||
            gen_norm(c, base + B_FFN_G, base + B_FFN_B, c->dim, &b->ffn_norm);
  if (!bad && !c->share_ffn) {
    bad = gen_ffn(c, base, &b->own_ffn);
    b->ffn = &b->own_ffn;
  }
  if (bad) {
    tern_tfm_block_free(b);
    return tern_err(err, errlen, "out of memory generating block %d of '%s'", bi, c->name);
  }
  return 0;
}

void tern_tfm_free(tern_tfm_model *m) {
  if (!m) return;
  tern_mc_free_i8rows(&m->embed);
  tern_mc_free_i8rows(&m->lm_head);
  free_norm(&m->final_norm);
  free_ffn(&m->shared_ffn);
  if (m->block)
    for (int i = 0; i < m->cfg.layers; i++) tern_tfm_block_free(&m->block[i]);
  free(m->block);
  memset(m, 0, sizeof *m);
}

typedef struct gen_job {
  const tern_tfm_config *c;
  tern_tfm_model *m;
  int *rc; /* per block */
} gen_job;

static void gen_range(void *ctx, size_t lo, size_t hi) {
  gen_job *j = ctx;
  for (size_t b = lo; b < hi; b++)
    j->rc[b] = tern_tfm_generate_block(j->c, (int)b, &j->m->block[b], NULL, 0);
}

int tern_tfm_generate(const tern_tfm_config *c, tern_tfm_model *m, uint64_t max_bytes, char *err,
                      size_t errlen) {
  if (!c || !m) return tern_err(err, errlen, "tern_tfm_generate: null argument");
  memset(m, 0, sizeof *m);
  if (tern_tfm_check(c, "config", err, errlen)) return -1;
  uint64_t bytes = tern_tfm_model_bytes(c);
  if (tern_mc_check_bytes(c->name, bytes, max_bytes, "tern_tfm_generate_block", err, errlen))
    return -1;
  m->cfg = *c;
  m->block = calloc((size_t)c->layers, sizeof *m->block);
  if (!m->block) goto oom;
  if (tern_mc_gen_embeddings(tern_tfm_stream_seed(c->seed, T_EMBED),
                             tern_tfm_stream_seed(c->seed, T_LM_HEAD), c->vocab, c->dim,
                             c->tie_embeddings, &m->embed, &m->lm_head))
    goto oom;
  if (gen_norm(c, T_FINAL_G, T_FINAL_B, c->dim, &m->final_norm)) goto oom;
  if (c->share_ffn && gen_ffn(c, (uint32_t)T_SHARED_FFN - (uint32_t)B_GATE, &m->shared_ffn)) goto oom;
  /* blocks have their own PRNG streams: generated in parallel (the 2B4T-sized
     presets draw 2 billion normals) */
  gen_job job = {c, m, calloc((size_t)c->layers, sizeof(int))};
  if (!job.rc) goto oom;
  tern_mc_parallel_for((size_t)c->layers, gen_range, &job);
  for (int b = 0; b < c->layers; b++) {
    if (job.rc[b]) {
      free(job.rc);
      tern_tfm_free(m);
      return tern_err(err, errlen, "out of memory generating block %d of '%s'", b, c->name);
    }
    m->block[b].ffn = c->share_ffn ? &m->shared_ffn : &m->block[b].own_ffn;
  }
  free(job.rc);
  return 0;
oom:
  tern_tfm_free(m);
  return tern_err(err, errlen, "out of memory generating '%s' (%llu bytes)", c->name,
              (unsigned long long)bytes);
}
