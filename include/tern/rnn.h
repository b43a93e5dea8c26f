/* Recurrent LMs (issue 4, model side): Hawk and Griffin (RG-LRU, arXiv
 * 2402.19427) and the MatMul-free LM's MLGRU (HGRN-Bit, arXiv 2406.02528).
 * The model description (INI text like the transformers, docs/MODELS.md
 * "Recurrent models (issue 4)"), the presets, seeded weights (packed 2-bit
 * ternary projections, int8 embedding) and the float32 reference with a
 * recurrent state of fixed size per block.
 *   models/rnn_config.c   parse / print / check / parameter count
 *   models/rnn_presets.c  built-in presets (texts in the same format)
 *   models/rnn_weights.c  PRNG streams, ternary and block-diagonal matrices
 *   models/rnn_float.c    float reference: RG-LRU, Conv1D, local MQA, MLGRU
 * Shared with the transformers (include/tern/tfm.h): tern_tpacked,
 * tern_i8rows, tern_tfm_norm, the sampler and the byte tokenizer. */
#ifndef TERN_RNN_H
#define TERN_RNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/tfm.h"
#include "tern/tfm_int.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- model description --------------------------------------------------- */

typedef enum tern_rnn_arch {
  TERN_RNN_HAWK = 0,    /* RG-LRU recurrent blocks only, gated GeLU MLP */
  TERN_RNN_GRIFFIN = 1, /* RG-LRU blocks and local MQA blocks (pattern), gated GeLU MLP */
  TERN_RNN_MLGRU = 2    /* MatMul-free LM: MLGRU token mixer, SiLU GLU channel mixer */
} tern_rnn_arch;

/* Temporal-mixing block types: the letters of `pattern`. */
#define TERN_RNN_RECURRENT 'r' /* Griffin recurrent block (Conv1D + RG-LRU) */
#define TERN_RNN_ATTENTION 'a' /* Griffin local multi-query attention */
#define TERN_RNN_MLGRU_BLK 'm' /* MatMul-free MLGRU */

#define TERN_RNN_PATTERN_MAX 17 /* 16 letters */
#define TERN_RNN_RGLRU_C 8.0f   /* the constant c of a_t = a^(c r_t) */

typedef struct tern_rnn_config {
  char name[TERN_TFM_NAME_MAX];
  char source[TERN_TFM_SOURCE_MAX];
  tern_rnn_arch arch;
  int vocab;      /* 256 = byte level */
  int dim;        /* model width d */
  int layers;     /* residual blocks; block b's temporal mixer is pattern[b % len] */
  int heads;      /* hawk: RG-LRU gate blocks; griffin: MQA heads (head size dim/heads)
                     and, by default, gate blocks; mlgru: MLGRU heads (elementwise) */
  int lru_width;  /* RG-LRU / MLGRU width (default: hawk/griffin dim*4/3 rounded down to a
                     multiple of heads, mlgru dim) */
  int lru_block;  /* block size of the block-diagonal W_a, W_x (default lru_width/heads) */
  int conv_width; /* causal depthwise Conv1D taps (default 4; mlgru has no Conv1D) */
  int ffn;        /* MLP hidden width (default hawk/griffin 3*dim; mlgru
                     256*ceil(floor(8*dim/3)/256) as the released HGRN-Bit code) */
  int window;     /* local attention window in positions incl. self (griffin, default 1024) */
  char pattern[TERN_RNN_PATTERN_MAX]; /* default hawk "r", griffin "rra", mlgru "m" */
  int tie_embeddings; /* LM head = embedding matrix (default hawk/griffin true, mlgru false) */
  int max_seq;    /* longest context (positions) the reference accepts (default 65536) */
  float eps;      /* RMSNorm epsilon (default 1e-6) */
  uint64_t seed;  /* weight seed (default 1) */
} tern_rnn_config;

/* Defaults that do not depend on arch (the parser applies the per-arch ones). */
void tern_rnn_config_init(tern_rnn_config *c);

/* Parse the text format ([model] section, arch = hawk|griffin|mlgru, ...).
 * Errors: "<what>:<line>: field '<f>' is '<v>', expected <...>" or, for the
 * shape checks, "<what>: field '<f>' ...".  Returns 0 or -1. */
int tern_rnn_parse_string(const char *text, const char *what, tern_rnn_config *c, char *err,
                          size_t errlen);
int tern_rnn_parse_file(const char *path, tern_rnn_config *c, char *err, size_t errlen);
/* Shape / range checks (also run by the parsers); messages name the field. */
int tern_rnn_check(const tern_rnn_config *c, const char *what, char *err, size_t errlen);
/* Every field in the text format; parses back to the same config. */
int tern_rnn_print(FILE *f, const tern_rnn_config *c);
int tern_rnn_print_string(char *buf, size_t n, const tern_rnn_config *c);

const char *tern_rnn_arch_name(tern_rnn_arch a);
/* Temporal-mixer letter of block b ('r', 'a' or 'm'). */
char tern_rnn_block_kind(const tern_rnn_config *c, int b);
/* Attention head size of griffin's local MQA (dim / heads). */
static inline int tern_rnn_head_dim(const tern_rnn_config *c) { return c->dim / c->heads; }
/* Number of blocks of the block-diagonal gates (lru_width / lru_block). */
static inline int tern_rnn_gate_blocks(const tern_rnn_config *c) {
  return c->lru_width / c->lru_block;
}

/* Parameter count (docs/MODELS.md "Recurrent models"): */
typedef struct tern_rnn_params {
  uint64_t ternary;   /* all ternary matrices (projections, block-diagonal gates, MLP) */
  uint64_t other;     /* float: norm gains, Conv1D taps and biases, gate biases, Lambda */
  uint64_t embedding; /* vocab * dim (int8) */
  uint64_t lm_head;   /* vocab * dim if untied, else 0 */
  uint64_t total;
  uint64_t non_embedding; /* ternary + other */
} tern_rnn_params;
tern_rnn_params tern_rnn_param_count(const tern_rnn_config *c);

/* Recurrent state of the whole model in floats (h, conv windows, and the
 * ring K/V of griffin's local attention: min(window, max_seq) positions).
 * Independent of the number of tokens processed. */
uint64_t tern_rnn_state_floats(const tern_rnn_config *c);

/* ---- presets --------------------------------------------------------------- */

int tern_rnn_preset_count(void);
const char *tern_rnn_preset_name(int i);
const char *tern_rnn_preset_text(int i);
int tern_rnn_preset(const char *name, tern_rnn_config *c, char *err, size_t errlen);
const char *tern_rnn_default_preset(void);
/* NAME as a preset, or else as a file path. */
int tern_rnn_load_config(const char *name_or_path, tern_rnn_config *c, char *err, size_t errlen);
/* Table: name, params (total / non-embedding), shape, source.  Returns 0. */
int tern_rnn_list_presets(FILE *f);

/* ---- weights ---------------------------------------------------------------- */

/* Block-diagonal ternary matrix (RG-LRU gates): `blocks` square blocks of
 * size x size, y[h*size + n] = sum_k x[h*size + k] * W_h[k][n] * beta.
 * Codes of block h row-major [k][n] at element offset h*size*size, packed
 * as tern_tpacked (2 bits, same code layout), one absmean beta for the
 * whole matrix. */
typedef struct tern_tblockdiag {
  int blocks, size;
  float beta;
  uint8_t *codes; /* tern_tpacked_bytes(blocks * size, size) bytes */
} tern_tblockdiag;

typedef struct tern_rnn_block {
  char kind;               /* 'r', 'a' or 'm' */
  tern_tfm_norm mix_norm;  /* RMSNorm before the temporal mixer (dim) */
  tern_tfm_norm mlp_norm;  /* RMSNorm before the MLP (dim) */
  /* 'r' (Griffin recurrent block) */
  tern_tpacked wx, wy;     /* dim -> lru_width (x branch, GeLU gate branch) */
  tern_tpacked wout;       /* lru_width -> dim */
  float *conv_w;           /* [conv_width][lru_width], tap 0 = oldest input */
  float *conv_b;           /* [lru_width] */
  tern_tblockdiag gate_a;  /* W_a: recurrence gate */
  tern_tblockdiag gate_x;  /* W_x: input gate */
  float *b_a, *b_x;        /* [lru_width] gate biases */
  float *lambda;           /* [lru_width] Lambda (a = sigmoid(Lambda)) */
  /* 'a' (Griffin local MQA) */
  tern_tpacked wq;         /* dim -> dim (heads x head_dim) */
  tern_tpacked wk, wv;     /* dim -> head_dim (one KV head) */
  tern_tpacked wo;         /* dim -> dim */
  /* 'm' (MLGRU) */
  tern_tpacked wf, wc, wg; /* dim -> lru_width: forget, candidate, output gate */
  tern_tpacked wmo;        /* lru_width -> dim */
  /* MLP (all): hawk/griffin down(gelu(gate x) * up x), mlgru down(silu(gate x) * up x) */
  tern_tpacked gate, up;   /* dim -> ffn */
  tern_tpacked down;       /* ffn -> dim */
} tern_rnn_block;

typedef struct tern_rnn_model {
  tern_rnn_config cfg;
  tern_i8rows embed;   /* vocab x dim */
  tern_i8rows lm_head; /* q == NULL when tied */
  tern_tfm_norm final_norm;
  tern_rnn_block *block; /* cfg.layers */
} tern_rnn_model;

int tern_rnn_generate(const tern_rnn_config *cfg, tern_rnn_model *m, uint64_t max_bytes,
                      char *err, size_t errlen);
/* Block b alone (own PRNG streams: same tensors as in tern_rnn_generate). */
int tern_rnn_generate_block(const tern_rnn_config *cfg, int b, tern_rnn_block *blk, char *err,
                            size_t errlen);
void tern_rnn_block_free(tern_rnn_block *blk);
void tern_rnn_free(tern_rnn_model *m);
uint64_t tern_rnn_model_bytes(const tern_rnn_config *cfg);
uint64_t tern_rnn_stream_seed(uint64_t seed, uint32_t tensor_id);

/* ---- float reference ------------------------------------------------------- */

/* One RG-LRU step over n channels (the elementwise part; the gate inputs are
 * the block-diagonal BitLinear outputs before the bias):
 *   r = sigmoid(ga + b_a), i = sigmoid(gx + b_x),
 *   log_a = -c * r * softplus(-lambda), a = exp(log_a),
 *   h = a * h + sqrt(1 - a*a) * (i * x).
 * a_out (optional) receives a. */
void tern_rnn_rglru_step(int n, const float *ga, const float *gx, const float *b_a,
                         const float *b_x, const float *lambda, const float *x, float *h,
                         float *a_out);
/* softplus(x) = log(1 + exp(x)) in float, stable for large |x|. */
float tern_rnn_softplus(float x);

typedef struct tern_rnn_ctx tern_rnn_ctx;

/* A context holds the model (borrowed) and the recurrent state of every
 * block, zero at the start. */
tern_rnn_ctx *tern_rnn_ctx_new(const tern_rnn_model *m, char *err, size_t errlen);
void tern_rnn_ctx_free(tern_rnn_ctx *ctx);
void tern_rnn_ctx_reset(tern_rnn_ctx *ctx); /* zero state, position 0 */
int tern_rnn_ctx_pos(const tern_rnn_ctx *ctx);
/* The whole state as floats (tern_rnn_state_floats of the config), in block
 * order: 'r' h[lru_width] then the conv window [(conv_width-1)][lru_width]
 * (oldest first); 'a' the ring K then V [min(window,max_seq)][head_dim]
 * (slot = position % ring); 'm' h[lru_width]. */
uint64_t tern_rnn_ctx_state_floats(const tern_rnn_ctx *ctx);
void tern_rnn_ctx_get_state(const tern_rnn_ctx *ctx, float *out);
/* Multiply-accumulates of the last prefill/decode call (ternary projections
 * count k*n, attention scores and P.V count head_dim per visited position,
 * LM head vocab*dim): a cost measure that must not grow with the context
 * for the recurrent blocks. */
uint64_t tern_rnn_ctx_last_macs(const tern_rnn_ctx *ctx);

/* Per-block trace of the residual stream after block b (n x dim rows). */
typedef void (*tern_rnn_trace_fn)(void *user, int block, int n, const float *x);
void tern_rnn_ctx_set_trace(tern_rnn_ctx *ctx, tern_rnn_trace_fn fn, void *user);

/* n tokens at positions pos .. pos+n-1, block by block over all n rows (the
 * recurrence runs over the rows in order).  logits: vocab floats of the last
 * position, or n*vocab if all_logits. */
int tern_rnn_prefill(tern_rnn_ctx *ctx, const int *tokens, int n, float *logits, int all_logits,
                     char *err, size_t errlen);
int tern_rnn_decode(tern_rnn_ctx *ctx, int token, float *logits, char *err, size_t errlen);

/* Prefill `prompt` then generate n_new tokens (sampler NULL = greedy; the
 * transformer's tern_tfm_sample otherwise).  Resets the context first. */
int tern_rnn_generate_tokens(tern_rnn_ctx *ctx, const int *prompt, int n_prompt, int n_new,
                             tern_tfm_sampler *sampler, int *out_tokens, char *err,
                             size_t errlen);

/* ==== Integer reference (issue 4 step 2; models/rnn_int.c, docs/NUMERICS.md
 * "Recurrent operations (integer)").  Section owned by helper H7. ==========
 * Every run-time value goes through the vector-unit primitives of
 * include/tern/numerics.h, the ternary GEMM and DOT8/MAC8 (attention, LM
 * head); floating point only builds constants and tables. */

#define TERN_RNN_H_FRAC 18    /* RG-LRU and MLGRU state h: int32 Q18 */
#define TERN_RNN_L_FRAC 24    /* log-decay l = -log a, a, sqrt(1 - a^2): Q24 */
#define TERN_RNN_CONV_FRAC 14 /* Conv1D taps: Q14 */
#define TERN_RNN_L_MAX 4.0    /* 8 softplus(-Lambda) must be < 4 (checked) */

/* Tables (256 entries, computed in double; part of the DRAM image):
 * sqrt-sigmoid, Q15: floor(sqrt(sigmoid(x)) 2^15 + 0.5), x = (i - 128 + 0.5)/16
 *   (indexed like the sigmoid table: LUT(t, 8));
 * exp(-l) coarse, Q24: floor(exp(-i/64) 2^24 + 0.5) (LUT(l - 2^25, 18): i = floor(64 l));
 * psi, Q15: floor(psi((i + 0.5)/64) 2^15 + 0.5), psi(l) = sqrt((1 - exp(-2l)) / (2l))
 *   (same index as exp(-l)). */
void tern_rnn_sqrt_sigmoid_table(int32_t table[256]);
void tern_rnn_expneg_table(int32_t table[256]);
void tern_rnn_psi_table(int32_t table[256]);

/* Per-channel RG-LRU constants of Lambda (double): spc = round(8 softplus(-Lambda) 2^24)
 * (l = spc * r, Q24) and sqc = round(sqrt(16 softplus(-Lambda)) 2^24).  Returns
 * -1 if Lambda is not finite or 8 softplus(-Lambda) >= TERN_RNN_L_MAX. */
int tern_rnn_lambda_consts(float lambda, int32_t *spc, int32_t *sqc);

/* Interpolated read of a 256-entry table indexed like the sigmoid table
 * (midpoints of 1/16 steps over [-8, 8)), t Q12: I1-I6 of docs/NUMERICS.md,
 * linear between the two neighbouring midpoints, clamped outside. */
int32_t tern_rnn_lut_interp(const int32_t *table, int32_t t);


typedef struct tern_rnn_luts {
  int32_t sigmoid[256], gelu[256], sqrt_sigmoid[256], expneg[256], psi[256];
  int32_t exp_hi[256], exp_lo[256]; /* softmax (transformer tables) */
} tern_rnn_luts;
void tern_rnn_luts_init(tern_rnn_luts *t);

/* One integer RG-LRU step over n channels (docs/NUMERICS.md R1-R14): ga, gx the
 * block-diagonal BitLinear outputs (Q12), b_a, b_x Q12, spc, sqc from
 * tern_rnn_lambda_consts, x the Conv1D output (Q12), h the state (Q18,
 * updated).  a_out, m_out (optional): a and sqrt(1 - a^2) in Q24. */
void tern_rnn_rglru_step_int(const tern_rnn_luts *T, int n, const int32_t *ga, const int32_t *gx,
                             const int32_t *b_a, const int32_t *b_x, const int32_t *spc,
                             const int32_t *sqc, const int32_t *x, int32_t *h, int32_t *a_out,
                             int32_t *m_out);
/* Causal depthwise Conv1D of one row (C1-C3): y_j = sum_k MULSHR(w_q[k][j], in_k, 14)
 * + b_q[j] with in_0 .. in_{cw-2} the window (oldest first, Q12) and in_{cw-1}
 * = x; then the window shifts and takes x.  w_q Q14 [cw][n], b_q Q12. */
void tern_rnn_conv1d_int(int n, int cw, const int32_t *w_q, const int32_t *b_q, int32_t *win,
                         const int32_t *x, int32_t *y);
/* MLGRU elementwise step (G1-G7): f, c, g the BitLinear outputs (Q12); h Q18
 * (updated); o = sigmoid(g) * h in Q12. */
void tern_rnn_mlgru_step_int(const tern_rnn_luts *T, int n, const int32_t *f, const int32_t *c,
                             const int32_t *g, int32_t *h, int32_t *o);
/* Block-diagonal BitLinear (one quantisation of the whole row): x Q12 (blocks*size),
 * y Q12; beta_c / s_d as BitLinear's. */
void tern_rnn_bdlinear_int(const tern_tblockdiag *t, int32_t beta_c, int s_d, const int32_t *x,
                           int8_t *qb, int32_t *acc, int32_t *y);

/* Integer constants of a block-diagonal BitLinear. */
typedef struct tern_rnn_qbd {
  const tern_tblockdiag *t; /* borrowed codes */
  int32_t beta_c;
  int s_d;
} tern_rnn_qbd;

/* Integer constants of one block (the compiler reads them too). */
typedef struct tern_rnn_qblock {
  char kind;
  tern_tfm_qnorm mix_norm, mlp_norm;
  tern_tfm_qlinear wx, wy, wout, wq, wk, wv, wo, wf, wc, wg, wmo, gate, up, down;
  tern_rnn_qbd ga, gx;
  int32_t *conv_w; /* 'r': Q14 [conv_width][lru_width] */
  int32_t *conv_b, *b_a, *b_x; /* 'r': Q12 [lru_width] */
  int32_t *spc, *sqc;          /* 'r': Q24 [lru_width] (tern_rnn_lambda_consts) */
} tern_rnn_qblock;

/* The integer model.  `view` presents the parts the recurrent models share
 * with the transformers as a tern_tfm_qmodel, so the transformer step programs
 * (include/tern/compiler_tfm.h: EMBED, HEAD, ATTN for griffin's local MQA
 * blocks, FFN for every block's gated MLP) compile from it unchanged: cfg
 * with the same vocab, dim, layers, ffn, tie_embeddings, max_seq, RMSNorm,
 * ffn_type swiglu with sigmoid_lut = the MLP's table (GELU for hawk/griffin,
 * sigmoid for mlgru) read interpolated (ffn_lut_interp = 1), heads / kv_heads
 * 1 / head_dim = dim/heads, rope_theta 10000 and window for griffin (heads =
 * kv_heads = 1, head_dim 2 otherwise: no attention); block[b] with attn_norm =
 * mix_norm, wq..wo, ffn_norm = mlp_norm, ffn -> {gate, up, down}.  Shallow
 * copies: nothing in the view is freed or written through it. */
typedef struct tern_rnn_qmodel {
  tern_rnn_config cfg;
  const tern_rnn_model *m;
  int32_t *embed_c, *head_c;
  tern_tfm_qnorm final_norm;
  tern_rnn_qblock *block;
  int32_t att_c, head_dq_c, pv_c;
  tern_rnn_luts T;
  tern_tfm_model view_m;   /* cfg, embed, lm_head (block NULL) */
  tern_tfm_qmodel view;    /* see above; view.block = view_b */
  tern_tfm_qblock *view_b; /* cfg.layers */
} tern_rnn_qmodel;
/* Integer constants of a generated model (borrowed; must outlive the result).
 * NULL with a message naming the block and tensor if a constant does not fit. */
tern_rnn_qmodel *tern_rnn_quantize(const tern_rnn_model *m, char *err, size_t errlen);
void tern_rnn_qmodel_free(tern_rnn_qmodel *q);

typedef struct tern_rnn_ictx tern_rnn_ictx;
tern_rnn_ictx *tern_rnn_ictx_new(const tern_rnn_qmodel *q, char *err, size_t errlen);
void tern_rnn_ictx_free(tern_rnn_ictx *ctx);
void tern_rnn_ictx_reset(tern_rnn_ictx *ctx);
int tern_rnn_ictx_pos(const tern_rnn_ictx *ctx);
/* The whole integer state, in block order: 'r' int32 h[lru_width] (Q18), int32
 * window[(conv_width-1)][lru_width] (Q12, oldest first); 'a' int32 KS[ring],
 * VS[ring] (Q12 scales), int8 K[ring][head_dim], V[ring][head_dim] (slot =
 * position % ring), zero bytes to a multiple of 4; 'm' int32 h[lru_width] (Q18).
 * Its size does not depend on the number of tokens processed. */
size_t tern_rnn_ictx_state_bytes(const tern_rnn_ictx *ctx);
void tern_rnn_ictx_get_state(const tern_rnn_ictx *ctx, void *out);
/* Offset of block b's section in that state, and its size. */
size_t tern_rnn_ictx_state_off(const tern_rnn_ictx *ctx, int b);
size_t tern_rnn_block_state_bytes(const tern_rnn_qmodel *q, int b);
/* The temporal-mixing half of block b alone (the compiler's reference): for
 * rows i = 0 .. M-1 in order, x_i += mixer(RMSNorm_mix(x_i)) at position
 * pos + i (B1-B2), reading and updating `state` (block b's section of the
 * state above).  x: M x dim, Q12.  The MLP half (B3-B4) is the transformer
 * FFN half of the view: tern_tfm_ffn_half_of(&q->view, b, ...) with
 * tern_tfm_ffn_half_int.  0 or -1 with a message. */
int tern_rnn_mix_int(const tern_rnn_qmodel *q, int b, void *state, int pos, int32_t *x, int M,
                     char *err, size_t errlen);
typedef void (*tern_rnn_itrace_fn)(void *user, int block, int n, const int32_t *x);
void tern_rnn_ictx_set_trace(tern_rnn_ictx *ctx, tern_rnn_itrace_fn fn, void *user);
/* As tern_rnn_prefill; logits int32 Q12. */
int tern_rnn_iprefill(tern_rnn_ictx *ctx, const int *tokens, int n, int32_t *logits,
                      int all_logits, char *err, size_t errlen);
int tern_rnn_idecode(tern_rnn_ictx *ctx, int token, int32_t *logits, char *err, size_t errlen);

/* Fidelity, as tern_tfm_fidelity_model (same prompts, prefill + 4 decode
 * steps fed the float model's greedy token; passes = layers). */
int tern_rnn_fidelity_model(const tern_rnn_model *m, int n_prompts, FILE *out,
                            tern_tfm_fidelity_result *res, char *err, size_t errlen);
int tern_rnn_fidelity(const char *preset_or_file, int n_prompts, FILE *out,
                      tern_tfm_fidelity_result *res, char *err, size_t errlen);
/* ==== end of the integer reference section (H7) ============================ */

#ifdef __cplusplus
}
#endif
#endif
