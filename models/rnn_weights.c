/* Recurrent model weights from a seed (docs/MODELS.md "Recurrent models
 * (issue 4)", "Weights"): one PRNG stream per tensor (as the transformers,
 * with the stream constant "TERNRNNW"), every projection ternary and packed
 * 2 bits per weight with one absmean beta per matrix, the RG-LRU gates
 * block-diagonal ternary, Conv1D taps / biases / Lambda / norms float,
 * embedding and untied LM head int8 with a scale per row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_common.h"
#include "prng.h"
#include "tern/err.h"
#include "tern/numerics.h"
#include "tern/rnn.h"

#define RNN_STREAM_XOR 0x5445524E524E4E57ull /* "TERNRNNW" */

/* tensor ids */
enum { T_EMBED = 0, T_LM_HEAD = 1, T_FINAL_G = 2, T_BLOCK = 64, T_PER_BLOCK = 32 };
/* offsets within block b (base 64 + 32 b) */
enum {
  B_MIX_G = 0, B_MLP_G = 1,
  /* 'r' */
  B_WX = 2, B_WY = 3, B_WOUT = 4, B_CONV_W = 5, B_CONV_B = 6, B_GATE_A = 7, B_GATE_X = 8,
  B_BA = 9, B_BX = 10, B_LAMBDA = 11,
  /* 'a' */
  B_WQ = 2, B_WK = 3, B_WV = 4, B_WO = 5,
  /* 'm' */
  B_WF = 2, B_WC = 3, B_WG = 4, B_WMO = 5,
  /* MLP */
  B_GATE = 16, B_UP = 17, B_DOWN = 18
};

uint64_t tern_rnn_stream_seed(uint64_t seed, uint32_t tensor_id) {
  return tern_mc_stream_seed(seed, RNN_STREAM_XOR, tensor_id);
}

/* ---- sizes --------------------------------------------------------------------- */

uint64_t tern_rnn_model_bytes(const tern_rnn_config *c) {
  tern_rnn_params p = tern_rnn_param_count(c);
  uint64_t d = (uint64_t)c->dim, w = (uint64_t)c->lru_width, lb = (uint64_t)c->lru_block;
  uint64_t hd = (uint64_t)(c->dim / c->heads), f = (uint64_t)c->ffn;
  uint64_t b = 0;
  for (int i = 0; i < c->layers; i++) {
    switch (tern_rnn_block_kind(c, i)) {
      case TERN_RNN_RECURRENT:
        b += 2 * tern_tpacked_bytes((int)d, (int)w) + tern_tpacked_bytes((int)w, (int)d) +
             2 * tern_tpacked_bytes((int)w, (int)lb);
        break;
      case TERN_RNN_ATTENTION:
        b += 2 * tern_tpacked_bytes((int)d, (int)d) + 2 * tern_tpacked_bytes((int)d, (int)hd);
        break;
      case TERN_RNN_MLGRU_BLK:
        b += 3 * tern_tpacked_bytes((int)d, (int)w) + tern_tpacked_bytes((int)w, (int)d);
        break;
      default: break;
    }
    b += 2 * tern_tpacked_bytes((int)d, (int)f) + tern_tpacked_bytes((int)f, (int)d);
  }
  uint64_t emb = (uint64_t)c->vocab * (d + 4);
  return b + 4 * p.other + emb * (c->tie_embeddings ? 1 : 2);
}

/* ---- generators ----------------------------------------------------------------- */

static float *gen_floats(const tern_rnn_config *c, uint32_t id, int n, double mean, double std) {
  return tern_mc_gen_floats(tern_rnn_stream_seed(c->seed, id), n, mean, std);
}

/* master N(0, 1/fan_in) [k][n] (count = rows * n values), absmean-ternarised, packed */
static int gen_codes(const tern_rnn_config *c, uint32_t id, size_t count, int fan_in,
                     float *beta, uint8_t **codes) {
  return tern_mc_gen_codes(tern_rnn_stream_seed(c->seed, id), count, fan_in, beta, codes);
}

static int gen_tern(const tern_rnn_config *c, uint32_t id, int k, int n, tern_tpacked *t) {
  return tern_mc_gen_tern(tern_rnn_stream_seed(c->seed, id), k, n, t);
}

static int gen_blockdiag(const tern_rnn_config *c, uint32_t id, tern_tblockdiag *t) {
  t->blocks = tern_rnn_gate_blocks(c);
  t->size = c->lru_block;
  size_t count = (size_t)t->blocks * (size_t)t->size * (size_t)t->size;
  return gen_codes(c, id, count, t->size, &t->beta, &t->codes);
}

static int gen_gain(const tern_rnn_config *c, uint32_t id, int n, tern_tfm_norm *nm) {
  nm->b = NULL;
  nm->g = gen_floats(c, id, n, 1.0, 0.1);
  return nm->g ? 0 : -1;
}

/* Lambda: a^c uniform in [0.9, 0.999] (De et al. 2024 section 2.4), a = sigmoid(Lambda) */
static float *gen_lambda(const tern_rnn_config *c, uint32_t id, int n) {
  float *v = malloc((size_t)n * sizeof(float));
  if (!v) return NULL;
  tern_rng r = {tern_rnn_stream_seed(c->seed, id)};
  for (int i = 0; i < n; i++) {
    double ac = 0.9 + 0.099 * tern_uniform01(&r);
    double a = pow(ac, 1.0 / (double)TERN_RNN_RGLRU_C);
    v[i] = (float)(log(a) - log1p(-a));
  }
  return v;
}

void tern_rnn_block_free(tern_rnn_block *b) {
  if (!b) return;
  tern_tpacked *t[] = {&b->wx, &b->wy, &b->wout, &b->wq, &b->wk, &b->wv, &b->wo,
                       &b->wf, &b->wc, &b->wg, &b->wmo, &b->gate, &b->up, &b->down};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) free(t[i]->codes);
  free(b->gate_a.codes);
  free(b->gate_x.codes);
  free(b->mix_norm.g);
  free(b->mlp_norm.g);
  free(b->conv_w);
  free(b->conv_b);
  free(b->b_a);
  free(b->b_x);
  free(b->lambda);
  memset(b, 0, sizeof *b);
}

int tern_rnn_generate_block(const tern_rnn_config *c, int bi, tern_rnn_block *b, char *err,
                            size_t errlen) {
  if (!c || !b) return tern_err(err, errlen, "tern_rnn_generate_block: null argument");
  memset(b, 0, sizeof *b);
  if (tern_rnn_check(c, "config", err, errlen)) return -1;
  if (tern_mc_check_block(bi, c->layers, err, errlen)) return -1;
  uint32_t base = T_BLOCK + (uint32_t)T_PER_BLOCK * (uint32_t)bi;
  int d = c->dim, w = c->lru_width, hd = tern_rnn_head_dim(c), cw = c->conv_width;
  b->kind = tern_rnn_block_kind(c, bi);
  int bad = gen_gain(c, base + B_MIX_G, d, &b->mix_norm) ||
            gen_gain(c, base + B_MLP_G, d, &b->mlp_norm);
  switch (b->kind) {
    case TERN_RNN_RECURRENT:
      bad = bad || gen_tern(c, base + B_WX, d, w, &b->wx) ||
            gen_tern(c, base + B_WY, d, w, &b->wy) || gen_tern(c, base + B_WOUT, w, d, &b->wout) ||
            !(b->conv_w = gen_floats(c, base + B_CONV_W, cw * w, 0.0, 1.0 / sqrt((double)cw))) ||
            !(b->conv_b = gen_floats(c, base + B_CONV_B, w, 0.0, 0.1)) ||
            gen_blockdiag(c, base + B_GATE_A, &b->gate_a) ||
            gen_blockdiag(c, base + B_GATE_X, &b->gate_x) ||
            !(b->b_a = gen_floats(c, base + B_BA, w, 0.0, 0.1)) ||
            !(b->b_x = gen_floats(c, base + B_BX, w, 0.0, 0.1)) ||
            !(b->lambda = gen_lambda(c, base + B_LAMBDA, w));
      break;
    case TERN_RNN_ATTENTION:
      bad = bad || gen_tern(c, base + B_WQ, d, d, &b->wq) ||
            gen_tern(c, base + B_WK, d, hd, &b->wk) || gen_tern(c, base + B_WV, d, hd, &b->wv) ||
            gen_tern(c, base + B_WO, d, d, &b->wo);
      break;
    case TERN_RNN_MLGRU_BLK:
      bad = bad || gen_tern(c, base + B_WF, d, w, &b->wf) ||
            gen_tern(c, base + B_WC, d, w, &b->wc) || gen_tern(c, base + B_WG, d, w, &b->wg) ||
            gen_tern(c, base + B_WMO, w, d, &b->wmo);
      break;
    default: bad = 1; break;
  }
  bad = bad || gen_tern(c, base + B_GATE, d, c->ffn, &b->gate) ||
        gen_tern(c, base + B_UP, d, c->ffn, &b->up) ||
        gen_tern(c, base + B_DOWN, c->ffn, d, &b->down);
  if (bad) {
    tern_rnn_block_free(b);
    return tern_err(err, errlen, "out of memory generating block %d of '%s'", bi, c->name);
  }
  return 0;
}

void tern_rnn_free(tern_rnn_model *m) {
  if (!m) return;
  tern_mc_free_i8rows(&m->embed);
  tern_mc_free_i8rows(&m->lm_head);
  free(m->final_norm.g);
  free(m->final_norm.b);
  if (m->block)
    for (int i = 0; i < m->cfg.layers; i++) tern_rnn_block_free(&m->block[i]);
  free(m->block);
  memset(m, 0, sizeof *m);
}

int tern_rnn_generate(const tern_rnn_config *c, tern_rnn_model *m, uint64_t max_bytes, char *err,
                      size_t errlen) {
  if (!c || !m) return tern_err(err, errlen, "tern_rnn_generate: null argument");
  memset(m, 0, sizeof *m);
  if (tern_rnn_check(c, "config", err, errlen)) return -1;
  uint64_t bytes = tern_rnn_model_bytes(c);
  if (tern_mc_check_bytes(c->name, bytes, max_bytes, "tern_rnn_generate_block", err, errlen))
    return -1;
  m->cfg = *c;
  m->block = calloc((size_t)c->layers, sizeof *m->block);
  if (!m->block) goto oom;
  if (tern_mc_gen_embeddings(tern_rnn_stream_seed(c->seed, T_EMBED),
                             tern_rnn_stream_seed(c->seed, T_LM_HEAD), c->vocab, c->dim,
                             c->tie_embeddings, &m->embed, &m->lm_head))
    goto oom;
  if (gen_gain(c, T_FINAL_G, c->dim, &m->final_norm)) goto oom;
  for (int b = 0; b < c->layers; b++)
    if (tern_rnn_generate_block(c, b, &m->block[b], err, errlen)) {
      tern_rnn_free(m);
      return -1;
    }
  return 0;
oom:
  tern_rnn_free(m);
  return tern_err(err, errlen, "out of memory generating '%s' (%llu bytes)", c->name,
                  (unsigned long long)bytes);
}
