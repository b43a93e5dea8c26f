/* Recurrent checkpoints (include/tern/ckpt.h, docs/MODELS.md "Checkpoints"):
 * Hawk, Griffin and MLGRU models through the same format readers and
 * writers as the transformers (models/ckpt_internal.h).  No public layout
 * exists for tern's recurrent blocks, so the names are tern's own, in the
 * Hugging Face style (safetensors "model.layers.{b}.", GGUF "blk.{b}."):
 *   mix_norm.weight, mlp_norm.weight                      [dim]
 *   'r': rec.linear_x / rec.linear_y (dim -> lru), rec.linear_out (lru -> dim),
 *        rec.conv_1d.weight [conv_width * lru] (tap 0 oldest), rec.conv_1d.bias [lru],
 *        rec.gate_a / rec.gate_x: block-diagonal, stored as a ternary matrix
 *        with in = blocks*size, out = size (element [n][h*size + k] = W_h[k][n]),
 *        rec.gate_a.bias / rec.gate_x.bias, rec.lambda     [lru]
 *   'a': attn.q_proj (dim -> dim), attn.k_proj / attn.v_proj (dim -> head), attn.o_proj
 *   'm': mlgru.f_proj / c_proj / g_proj (dim -> lru), mlgru.o_proj (lru -> dim)
 *   mlp.gate_proj / mlp.up_proj (dim -> ffn), mlp.down_proj (ffn -> dim)
 * plus the embedding, LM head and final norm under the transformers' names.
 * The description is tern's (config.json "tern", GGUF "tern.model", with
 * family "recurrent"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_internal.h"
#include "tern/err.h"
#include "tern/rnn.h"

static const char *bname(const char *blk, int b, const char *suffix, char *buf, size_t n) {
  int k = snprintf(buf, n, blk, b);
  if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, "%s", suffix);
  return buf;
}

/* ---- reading ------------------------------------------------------------------------- */

static float *rd_vec(ck_src *s, int b, const char *suffix, int n, char *err, size_t errlen) {
  char nb[160];
  float *v = ck_malloc((size_t)n * sizeof(float));
  if (!v) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  if (s->vec(s, bname(s->blk, b, suffix, nb, sizeof nb), n, v, err, errlen)) {
    free(v);
    return NULL;
  }
  if (s->release) s->release(s, nb);
  return v;
}

static int rd_lin(ck_src *s, int b, const char *suffix, int in, int out, tern_tpacked *t,
                  tern_ckpt_info *info, char *err, size_t errlen) {
  char nb[160];
  int tz = 0;
  if (s->linear(s, bname(s->blk, b, suffix, nb, sizeof nb), CK_UP, in, out, t, &tz, err, errlen))
    return -1;
  if (s->release) s->release(s, nb);
  info->ternarised += tz;
  info->tensors++;
  return 0;
}

static int rd_gate(ck_src *s, int b, const char *suffix, const tern_rnn_config *c,
                   tern_tblockdiag *g, tern_ckpt_info *info, char *err, size_t errlen) {
  tern_tpacked t;
  memset(&t, 0, sizeof t);
  if (rd_lin(s, b, suffix, c->lru_width, c->lru_block, &t, info, err, errlen)) return -1;
  g->blocks = tern_rnn_gate_blocks(c);
  g->size = c->lru_block;
  g->beta = t.beta;
  g->codes = t.codes;
  return 0;
}

int ck_read_rnn(ck_src *s, const tern_rnn_config *c, tern_rnn_model *m, tern_ckpt_info *info,
                char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->cfg = *c;
  char nb[160];
  int d = c->dim, w = c->lru_width, hd = tern_rnn_head_dim(c), qz = 0;
  if (!(m->block = calloc((size_t)c->layers, sizeof *m->block))) {
    tern_err(err, errlen, "out of memory");
    goto fail;
  }
  if (s->rows(s, s->name(CK_EMBED, 0, nb, sizeof nb), c->vocab, d, &m->embed, &qz, err, errlen))
    goto fail;
  info->quantised_rows += qz;
  if (!c->tie_embeddings) {
    qz = 0;
    if (s->rows(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb), c->vocab, d, &m->lm_head, &qz, err, errlen))
      goto fail;
    info->quantised_rows += qz;
  } else if (s->has(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb))) {
    tern_err(err, errlen, "%s: tensor '%s' is present but the model ties its embeddings; refusing "
             "to ignore it", s->path, nb);
    goto fail;
  }
  if (!(m->final_norm.g = ck_malloc((size_t)d * sizeof(float))) ||
      s->vec(s, s->name(CK_FINAL_G, 0, nb, sizeof nb), d, m->final_norm.g, err, errlen))
    goto fail;
  for (int b = 0; b < c->layers; b++) {
    tern_rnn_block *B = &m->block[b];
    B->kind = tern_rnn_block_kind(c, b);
    if (!(B->mix_norm.g = rd_vec(s, b, "mix_norm.weight", d, err, errlen)) ||
        !(B->mlp_norm.g = rd_vec(s, b, "mlp_norm.weight", d, err, errlen)))
      goto fail;
    int bad = 0;
    switch (B->kind) {
      case TERN_RNN_RECURRENT:
        bad = rd_lin(s, b, "rec.linear_x.weight", d, w, &B->wx, info, err, errlen) ||
              rd_lin(s, b, "rec.linear_y.weight", d, w, &B->wy, info, err, errlen) ||
              rd_lin(s, b, "rec.linear_out.weight", w, d, &B->wout, info, err, errlen) ||
              !(B->conv_w = rd_vec(s, b, "rec.conv_1d.weight", c->conv_width * w, err, errlen)) ||
              !(B->conv_b = rd_vec(s, b, "rec.conv_1d.bias", w, err, errlen)) ||
              rd_gate(s, b, "rec.gate_a.weight", c, &B->gate_a, info, err, errlen) ||
              rd_gate(s, b, "rec.gate_x.weight", c, &B->gate_x, info, err, errlen) ||
              !(B->b_a = rd_vec(s, b, "rec.gate_a.bias", w, err, errlen)) ||
              !(B->b_x = rd_vec(s, b, "rec.gate_x.bias", w, err, errlen)) ||
              !(B->lambda = rd_vec(s, b, "rec.lambda", w, err, errlen));
        break;
      case TERN_RNN_ATTENTION:
        bad = rd_lin(s, b, "attn.q_proj.weight", d, d, &B->wq, info, err, errlen) ||
              rd_lin(s, b, "attn.k_proj.weight", d, hd, &B->wk, info, err, errlen) ||
              rd_lin(s, b, "attn.v_proj.weight", d, hd, &B->wv, info, err, errlen) ||
              rd_lin(s, b, "attn.o_proj.weight", d, d, &B->wo, info, err, errlen);
        break;
      default:
        bad = rd_lin(s, b, "mlgru.f_proj.weight", d, w, &B->wf, info, err, errlen) ||
              rd_lin(s, b, "mlgru.c_proj.weight", d, w, &B->wc, info, err, errlen) ||
              rd_lin(s, b, "mlgru.g_proj.weight", d, w, &B->wg, info, err, errlen) ||
              rd_lin(s, b, "mlgru.o_proj.weight", w, d, &B->wmo, info, err, errlen);
        break;
    }
    if (bad || rd_lin(s, b, "mlp.gate_proj.weight", d, c->ffn, &B->gate, info, err, errlen) ||
        rd_lin(s, b, "mlp.up_proj.weight", d, c->ffn, &B->up, info, err, errlen) ||
        rd_lin(s, b, "mlp.down_proj.weight", c->ffn, d, &B->down, info, err, errlen))
      goto fail;
  }
  if (info->ternarised)
    snprintf(info->note, sizeof info->note,
             "%d linear layers were float master weights and were ternarised at import (absmean)",
             info->ternarised);
  return 0;
fail:
  tern_rnn_free(m);
  return -1;
}

/* ---- writing --------------------------------------------------------------------------- */

static int wr_vec(ck_sink *s, int b, const char *suffix, const float *v, int n, char *err,
                  size_t errlen) {
  char nb[160];
  return s->vec(s, bname(s->blk, b, suffix, nb, sizeof nb), v, n, err, errlen);
}

static int wr_lin(ck_sink *s, int b, const char *suffix, const tern_tpacked *t, char *err,
                  size_t errlen) {
  char nb[160];
  return s->linear(s, bname(s->blk, b, suffix, nb, sizeof nb), CK_UP, t, err, errlen);
}

static int wr_gate(ck_sink *s, int b, const char *suffix, const tern_tblockdiag *g, char *err,
                   size_t errlen) {
  tern_tpacked t = {g->blocks * g->size, g->size, g->beta, g->codes};
  return wr_lin(s, b, suffix, &t, err, errlen);
}

int ck_write_rnn(ck_sink *s, const tern_rnn_model *m, char *err, size_t errlen) {
  const tern_rnn_config *c = &m->cfg;
  char nb[160];
  int w = c->lru_width;
  if (s->rows(s, s->name(CK_EMBED, 0, nb, sizeof nb), &m->embed, err, errlen) ||
      (!c->tie_embeddings && s->rows(s, s->name(CK_LM_HEAD, 0, nb, sizeof nb), &m->lm_head, err, errlen)) ||
      s->vec(s, s->name(CK_FINAL_G, 0, nb, sizeof nb), m->final_norm.g, c->dim, err, errlen))
    return -1;
  for (int b = 0; b < c->layers; b++) {
    const tern_rnn_block *B = &m->block[b];
    int bad = wr_vec(s, b, "mix_norm.weight", B->mix_norm.g, c->dim, err, errlen) ||
              wr_vec(s, b, "mlp_norm.weight", B->mlp_norm.g, c->dim, err, errlen);
    switch (B->kind) {
      case TERN_RNN_RECURRENT:
        bad = bad || wr_lin(s, b, "rec.linear_x.weight", &B->wx, err, errlen) ||
              wr_lin(s, b, "rec.linear_y.weight", &B->wy, err, errlen) ||
              wr_lin(s, b, "rec.linear_out.weight", &B->wout, err, errlen) ||
              wr_vec(s, b, "rec.conv_1d.weight", B->conv_w, c->conv_width * w, err, errlen) ||
              wr_vec(s, b, "rec.conv_1d.bias", B->conv_b, w, err, errlen) ||
              wr_gate(s, b, "rec.gate_a.weight", &B->gate_a, err, errlen) ||
              wr_gate(s, b, "rec.gate_x.weight", &B->gate_x, err, errlen) ||
              wr_vec(s, b, "rec.gate_a.bias", B->b_a, w, err, errlen) ||
              wr_vec(s, b, "rec.gate_x.bias", B->b_x, w, err, errlen) ||
              wr_vec(s, b, "rec.lambda", B->lambda, w, err, errlen);
        break;
      case TERN_RNN_ATTENTION:
        bad = bad || wr_lin(s, b, "attn.q_proj.weight", &B->wq, err, errlen) ||
              wr_lin(s, b, "attn.k_proj.weight", &B->wk, err, errlen) ||
              wr_lin(s, b, "attn.v_proj.weight", &B->wv, err, errlen) ||
              wr_lin(s, b, "attn.o_proj.weight", &B->wo, err, errlen);
        break;
      default:
        bad = bad || wr_lin(s, b, "mlgru.f_proj.weight", &B->wf, err, errlen) ||
              wr_lin(s, b, "mlgru.c_proj.weight", &B->wc, err, errlen) ||
              wr_lin(s, b, "mlgru.g_proj.weight", &B->wg, err, errlen) ||
              wr_lin(s, b, "mlgru.o_proj.weight", &B->wmo, err, errlen);
        break;
    }
    if (bad || wr_lin(s, b, "mlp.gate_proj.weight", &B->gate, err, errlen) ||
        wr_lin(s, b, "mlp.up_proj.weight", &B->up, err, errlen) ||
        wr_lin(s, b, "mlp.down_proj.weight", &B->down, err, errlen))
      return -1;
  }
  return 0;
}

/* ---- public --------------------------------------------------------------------------- */

static int is_gguf(const char *path) { return ck_ends_with(path, ".gguf"); }

int tern_ckpt_family(const char *path, char *family, size_t n, char *err, size_t errlen) {
  char *ini = NULL, fam[16];
  int rc = is_gguf(path) ? ck_gguf_tern_desc(path, &ini, fam, err, errlen)
                         : ck_st_tern_desc(path, &ini, fam, err, errlen);
  free(ini);
  if (!rc) snprintf(family, n, "%s", fam);
  return rc;
}

int tern_rnn_ckpt_config(const char *path, tern_rnn_config *c, tern_ckpt_info *info, char *err,
                         size_t errlen) {
  tern_ckpt_info local;
  if (!info) info = &local;
  if (!path || !c) return tern_err(err, errlen, "tern_rnn_ckpt_config: null argument");
  memset(info, 0, sizeof *info);
  snprintf(info->path, sizeof info->path, "%s", path);
  snprintf(info->format, sizeof info->format, "%s", is_gguf(path) ? "gguf" : "safetensors");
  snprintf(info->arch, sizeof info->arch, "tern-recurrent");
  char *ini = NULL, fam[16];
  int rc = is_gguf(path) ? ck_gguf_tern_desc(path, &ini, fam, err, errlen)
                         : ck_st_tern_desc(path, &ini, fam, err, errlen);
  if (!rc && (strcmp(fam, "recurrent") || !ini))
    rc = tern_err(err, errlen, "%s: not a recurrent checkpoint (tern.family '%s'%s)", path, fam,
                  ini ? "" : ", no tern description");
  if (!rc) {
    char what[600];
    snprintf(what, sizeof what, "%s (tern.model)", path);
    rc = tern_rnn_parse_string(ini, what, c, err, errlen);
    info->config_from_tern = 1;
  }
  free(ini);
  return rc;
}

static int read_rnn(ck_src *s, const void *cfg, void *model, tern_ckpt_info *info, char *err,
                    size_t errlen) {
  return ck_read_rnn(s, cfg, model, info, err, errlen);
}

int tern_rnn_ckpt_load(const char *path, tern_rnn_model *m, tern_ckpt_info *info, char *err,
                       size_t errlen) {
  tern_ckpt_info local;
  if (!info) info = &local;
  if (!path || !m) return tern_err(err, errlen, "tern_rnn_ckpt_load: null argument");
  memset(m, 0, sizeof *m);
  tern_rnn_config c;
  if (tern_rnn_ckpt_config(path, &c, info, err, errlen)) return -1;
  return is_gguf(path) ? ck_gguf_read(path, NULL, read_rnn, &c, m, info, err, errlen)
                       : ck_st_read(path, read_rnn, &c, m, info, err, errlen);
}

int tern_rnn_ckpt_save(const tern_rnn_model *m, const char *out, tern_ckpt_format fmt, char *err,
                       size_t errlen) {
  if (!m || !out || !m->block) return tern_err(err, errlen, "tern_rnn_ckpt_save: null argument");
  char ini[4096];
  if (tern_rnn_print_string(ini, sizeof ini, &m->cfg) >= (int)sizeof ini)
    return tern_err(err, errlen, "model description longer than %zu bytes", sizeof ini);
  return fmt == TERN_CKPT_GGUF ? ck_gguf_rnn_save(m, ini, out, err, errlen)
                               : ck_st_rnn_save(m, ini, out, err, errlen);
}

int tern_rnn_load_model(const char *name_or_path, const tern_rnn_config *cfg, tern_rnn_model *m,
                        char *err, size_t errlen) {
  if (!name_or_path || !m) return tern_err(err, errlen, "tern_rnn_load_model: null argument");
  tern_rnn_config c;
  if (!tern_ckpt_is_path(name_or_path)) {
    if (!cfg) return tern_err(err, errlen, "tern_rnn_load_model: '%s' needs a config", name_or_path);
    c = *cfg;
  } else if (tern_rnn_ckpt_config(name_or_path, &c, NULL, err, errlen)) {
    return -1;
  } else if (cfg) {
    c.max_seq = cfg->max_seq;
  }
  if (tern_rnn_check(&c, name_or_path, err, errlen)) return -1;
  if (tern_mc_check_budget(c.name, name_or_path, tern_rnn_model_bytes(&c),
                           tern_rnn_state_floats(&c) * sizeof(float), "recurrent state", err,
                           errlen))
    return -1;
  if (!tern_ckpt_is_path(name_or_path)) return tern_rnn_generate(cfg, m, 0, err, errlen);
  if (tern_rnn_ckpt_load(name_or_path, m, NULL, err, errlen)) return -1;
  if (cfg) m->cfg.max_seq = cfg->max_seq;
  return 0;
}
