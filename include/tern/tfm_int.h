/* Integer reference of the transformer LMs (issue 3, numerics design step):
 * the integer definitions of every transformer operation (docs/NUMERICS.md
 * "Transformer operations (integer, v2)"), an integer model with an int8 KV
 * cache and the same API shape as the float reference (include/tern/tfm.h),
 * and the float-vs-integer fidelity tool.
 *
 * Everything here uses only the vector-unit primitives of
 * include/tern/numerics.h (ADD, SUB, MAX, MULSHR, LUT, QUANT, RSUM, RSUMSQ,
 * RMAXABS, RECIP, RSQRT), the ternary GEMM, and ONE proposed ISA v2 vector
 * op: the int8 x int8 dot product tern_v_dot8 (Q.K^T, P.V, LM head). */
#ifndef TERN_TFM_INT_H
#define TERN_TFM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/cpu_kernels.h"
#include "tern/tfm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- formats and constants ------------------------------------------------ */

#define TERN_TFM_NORM_SS 6      /* norm RSUMSQ shift = 6 + floor(log2 n): mean x^2 in Q18 */
#define TERN_TFM_NORM_R 20      /* norm reciprocal root r in Q20 */
#define TERN_TFM_ROPE_FRAC 14   /* RoPE cos/sin tables in Q14 */
#define TERN_TFM_EXP_FRAC 15    /* softmax e and the fine exp table in Q15 */
#define TERN_TFM_EXP_HI_FRAC 24 /* the coarse exp table in Q24 */
#define TERN_TFM_EMB_FRAC 28    /* embedding / LM head row scales in Q28 */
#define TERN_TFM_MAX_CTX 65504  /* largest context: the softmax sum RSUM(e) <= 65504 * 32784 < 2^31 */
#define TERN_TFM_LOGIT_FRAC 12  /* integer logits are Q12: real = logit / 4096 */

/* BitLinear dequantisation constants of one matrix (docs/NUMERICS.md): the
 * input is a Q12 row h; A = max(RMAXABS(h), 64), q = QUANT(h, RECIP(A,127,30), 30),
 * D = MULSHR(A, beta_c, s_d), y = MULSHR(GEMM(q, W), D, 16). */
typedef struct tern_tfm_qlinear {
  const tern_tpacked *w; /* borrowed from the model */
  int32_t beta_c;        /* round(beta/127 * 2^beta_frac) in [2^29, 2^30) */
  int beta_frac;
  int s_d;               /* beta_frac - 16 */
  tern_cpu_wmat pk;      /* the same weights packed once for the CPU kernels
                            (include/tern/cpu_kernels.h, N x K); owned */
  int kernel;            /* tern_cpu_variant of the GEMV, or TERN_TFM_KERNEL_SCALAR */
} tern_tfm_qlinear;

/* The ternary GEMM of every BitLinear runs on the CPU kernels of
 * include/tern/cpu_kernels.h (exact int32, bit-identical for every variant);
 * TERN_TFM_KERNEL_SCALAR selects the original per-weight loop over the packed
 * 2-bit codes instead (the definition the kernels are tested against). */
#define TERN_TFM_KERNEL_SCALAR (-1)

/* One norm (RMSNorm or LayerNorm, optional bias) over n values of a Q12 row. */
typedef struct tern_tfm_qnorm {
  int n;
  int layer;       /* 1: LayerNorm (centre first) */
  int32_t inv_n;   /* round(2^30 / n): mean = MULSHR(RSUM(x, 0), inv_n, 30) */
  int ss_shift;    /* RSUMSQ shift = 6 + floor(log2 n) */
  int32_t eps_c;   /* max(1, round(eps * 2^18 * n / 2^floor(log2 n))) */
  int32_t rs_num;  /* RSQRT numerator b = n */
  int rs_shift;    /* 58 - floor(log2 n): r = 2^20 / sqrt(mean + eps) */
  int32_t *g_q;    /* n gains, Q14 */
  int32_t *b_q;    /* n biases, Q12 (NULL without bias) */
} tern_tfm_qnorm;

typedef struct tern_tfm_qffn {
  tern_tfm_qlinear gate, up, down; /* gate unused (w NULL) for non-GLU types */
  tern_tfm_qnorm subln;            /* cfg.subln */
} tern_tfm_qffn;

typedef struct tern_tfm_qblock {
  tern_tfm_qnorm attn_norm, attn_subln, ffn_norm;
  tern_tfm_qlinear wq, wk, wv, wo;
  const tern_tfm_qffn *ffn; /* own_ffn or the model's shared one */
  tern_tfm_qffn own_ffn;
} tern_tfm_qblock;

typedef struct tern_tfm_qmodel {
  tern_tfm_config cfg;
  const tern_tfm_model *m;  /* borrowed: packed codes and int8 rows */
  int32_t *embed_c;         /* vocab: round(scale_v * 2^28) of the embedding rows */
  int32_t *head_c;          /* vocab: same for the LM head (== embed_c when tied) */
  tern_tfm_qnorm final_norm;
  tern_tfm_qffn shared_ffn;
  tern_tfm_qblock *block;   /* cfg.layers */
  int32_t att_c;            /* round(2^36 / (127^2 sqrt(head_dim))) */
  int32_t head_dq_c;        /* round(2^30 / 127): LM head dequantisation */
  int32_t pv_c;             /* round(2^30 / 127^2): P.V dequantisation */
  int32_t sigmoid_lut[256]; /* SiLU (SwiGLU) */
  int32_t gelu_lut[256];    /* GELU (tanh form) */
  int32_t exp_hi[256];      /* softmax exp, coarse: exp(-k/4) */
  int32_t exp_lo[256];      /* softmax exp, fine: exp(f), f in [0, 1/4) */
  int kernel;               /* GEMM kernel of every BitLinear (tern_tfm_qmodel_set_kernel) */
  int ffn_lut_interp;       /* 0 for the transformers.  1: the SwiGLU F4 table read is the
                               interpolated one (tern_rnn_lut_interp, docs/NUMERICS.md I1-I6):
                               the recurrent models' gated MLP seen through this struct
                               (tern_rnn_tfm_view, with sigmoid_lut = the GELU table for
                               hawk/griffin) */
} tern_tfm_qmodel;

/* Integer constants of a generated model (the model is borrowed and must
 * outlive q).  Fails naming the tensor if a constant does not fit. */
int tern_tfm_quantize(const tern_tfm_model *m, tern_tfm_qmodel *q, char *err, size_t errlen);
void tern_tfm_qmodel_free(tern_tfm_qmodel *q);
/* tern_tfm_quantize packs every ternary matrix once for the CPU kernels and
 * selects TERN_CPU_AUTO resolved (the environment variable TERN_CPU_KERNEL, or
 * the best variant of this CPU).  This changes the kernel of every BitLinear:
 * a tern_cpu_variant (AUTO resolved the same way) or TERN_TFM_KERNEL_SCALAR.
 * The logits do not depend on it (bit for bit).  Returns 0, or -1 with a
 * message (unknown or unsupported variant); q is unchanged on error. */
int tern_tfm_qmodel_set_kernel(tern_tfm_qmodel *q, int kernel, char *err, size_t errlen);
/* Name of the kernel in use: "scalar" or tern_cpu_variant_name(). */
const char *tern_tfm_kernel_name(int kernel);

/* ---- tables (computed in double at build time, part of the DRAM image) ---- */

/* GELU (tanh form) table: entry i = floor(Phi(x) * 2^15 + 0.5), x = (i - 128 + 0.5)/16,
 * Phi(x) = 0.5 (1 + tanh(0.7978845608028654 (x + 0.044715 x^3))); gelu = x Phi(x). */
void tern_gelu_table(int32_t table[256]);
/* Softmax exp, coarse, Q24: hi[i] = floor(2^24 exp((i-128)/4) + 0.5) for i <= 128,
 * 2^24 for i > 128 (unreachable: the argument is <= 0); then, for k = 127 down
 * to 0, hi[k] = min(hi[k], floor(hi[k+1] * lo[0] / lo[255])) (integer), which
 * makes e monotone (it only lowers entries whose e rounds to 0 anyway,
 * k <= 82).  Indexed LUT(z, 10). */
void tern_exp_hi_table(int32_t table[256]);
/* Softmax exp, fine: lo[i] = floor(2^15 exp((i + 0.5)/1024) + 0.5).  Indexed
 * LUT(f - 512, 2) with f = z mod 1024 in [0, 1024) (Q12, i.e. [0, 1/4)). */
void tern_exp_lo_table(int32_t table[256]);
/* RoPE tables, rotate-half: for position p < npos and pair i < head_dim/2,
 * angle = p * theta^(-2i/head_dim) (double), cos/sin = floor(v * 2^14 + 0.5)
 * (round half up).  Arrays of npos * head_dim/2 entries, [p][i]. */
void tern_tfm_rope_table(double theta, int head_dim, int npos, int32_t *cos_q, int32_t *sin_q);

/* ---- the integer definitions (one C implementation each) ------------------ */

/* Norm of one Q12 row x (q->n values) into y (Q12).  Steps in docs/NUMERICS.md. */
void tern_tfm_norm_int(const tern_tfm_qnorm *q, const int32_t *x, int32_t *y);
/* Absmax int8 quantisation of a Q12 row: A = max(RMAXABS(x), 64); q = QUANT(x,
 * RECIP(A,127,30), 30); returns A (the row's scale: real = q * A / (127 * 4096)). */
int32_t tern_tfm_quant_row(const int32_t *x, int n, int8_t *q);
/* BitLinear of a quantised row (q, A from tern_tfm_quant_row): y (Q12, N values);
 * acc is N int32 of scratch. */
void tern_tfm_bitlinear_int(const tern_tfm_qlinear *l, const int8_t *q, int32_t A, int32_t *acc,
                            int32_t *y);
/* RoPE of one head vector v (Q12, head_dim values) with the tables of one position. */
void tern_tfm_rope_int(int32_t *v, int head_dim, const int32_t *cos_q, const int32_t *sin_q);
/* Softmax numerator of n scores s (Q12): z = s - max(s) (via RMAXABS / ADD /
 * RMAXABS / SUB), e = MULSHR(LUT_hi(z), LUT_lo(z mod 1024), 24) in Q15
 * (e = lo[0] = 32784 at the maximum).  Returns E = RSUM(e, 0).  Tables from
 * tern_exp_hi_table / tern_exp_lo_table. */
int32_t tern_tfm_softmax_exp(const int32_t *exp_hi, const int32_t *exp_lo, const int32_t *s, int n,
                             int32_t *e);
/* The normalisation reciprocal G = RECIP(E, 1, 46) = floor(2^46 / E); the
 * probabilities in Q15 are p = MULSHR(e, G, 31) (sum ~ 2^15). */
int32_t tern_tfm_softmax_recip(int32_t E);

/* ---- the FFN half of one block (F0-F10), the compiler's reference --------- */

/* Borrowed view of what the FFN half of one block needs. */
typedef struct tern_tfm_ffn_half {
  const tern_tfm_config *cfg;
  const tern_tfm_qnorm *norm; /* ffn_norm over dim */
  const tern_tfm_qffn *ffn;   /* the block's own FFN or the shared one */
  const int32_t *sigmoid_lut; /* SwiGLU */
  const int32_t *gelu_lut;    /* GELU */
  int lut_interp;             /* SwiGLU F4 as the interpolated read (tern_tfm_qmodel.ffn_lut_interp) */
} tern_tfm_ffn_half;
/* The FFN half of block `block` of q (q must outlive h).  0 or -1 with a message. */
int tern_tfm_ffn_half_of(const tern_tfm_qmodel *q, int block, tern_tfm_ffn_half *h, char *err,
                         size_t errlen);
/* Integer constants of the FFN half of one block generated alone
 * (tern_tfm_generate_block; the block must outlive the result).  Fails for a
 * block without FFN weights (share_ffn). */
typedef struct tern_tfm_qffn_block {
  tern_tfm_config cfg;
  tern_tfm_qnorm norm;
  tern_tfm_qffn ffn;
  int32_t sigmoid_lut[256];
  int32_t gelu_lut[256];
} tern_tfm_qffn_block;
int tern_tfm_quantize_ffn_block(const tern_tfm_config *c, const tern_tfm_block *blk, int b,
                                tern_tfm_qffn_block *out, char *err, size_t errlen);
void tern_tfm_qffn_block_free(tern_tfm_qffn_block *q);
tern_tfm_ffn_half tern_tfm_qffn_block_half(const tern_tfm_qffn_block *q);
/* y = x + FFN(Norm_ffn(x)) for M rows (Q12, M x dim, row stride dim): exactly
 * the steps F0-F10 the integer model runs (same step functions).  0 or -1. */
int tern_tfm_ffn_half_int(const tern_tfm_ffn_half *h, const int32_t *x, int M, int32_t *y,
                          char *err, size_t errlen);

/* ---- integer model with an int8 KV cache ---------------------------------- */

typedef struct tern_tfm_ictx tern_tfm_ictx;

/* KV cache for max_seq positions (0 = cfg.max_seq; at most TERN_TFM_MAX_CTX)
 * per block pass: int8 K (after RoPE) and V, one Q12 scale A per (position,
 * kv head). */
tern_tfm_ictx *tern_tfm_ictx_new(const tern_tfm_qmodel *q, int max_seq, char *err,
                                 size_t errlen);
void tern_tfm_ictx_free(tern_tfm_ictx *ctx);
void tern_tfm_ictx_reset(tern_tfm_ictx *ctx);
int tern_tfm_ictx_pos(const tern_tfm_ictx *ctx);
/* Residual stream (Q12, n x dim) after every block pass. */
typedef void (*tern_tfm_itrace_fn)(void *user, int pass, int n, const int32_t *x);
void tern_tfm_ictx_set_trace(tern_tfm_ictx *ctx, tern_tfm_itrace_fn fn, void *user);
/* The int8 cache of pass p: [position][kv_heads*head_dim] and the scales
 * [position][kv_heads].  NULL if p is out of range. */
const int8_t *tern_tfm_ictx_k(const tern_tfm_ictx *ctx, int pass);
const int8_t *tern_tfm_ictx_v(const tern_tfm_ictx *ctx, int pass);
const int32_t *tern_tfm_ictx_kscale(const tern_tfm_ictx *ctx, int pass);
const int32_t *tern_tfm_ictx_vscale(const tern_tfm_ictx *ctx, int pass);

/* The attention half of block pass `pass` (block = pass / repeat) for M rows
 * at positions pos .. pos+M-1 (the compiler's reference, compiler/tfm_attn.c):
 *   y = x + o_proj(quant(SubLN?(attention(RoPE(Q, K), V))))  over Norm_attn(x)
 * (docs/NUMERICS.md A1-A20, O1-O4; x and y Q12, M x dim, row stride dim; y may
 * be x).  Writes the int8 K/V and scales of those positions into pass's cache
 * of ctx (exactly as tern_tfm_iprefill, which runs this function for every
 * pass); does not move tern_tfm_ictx_pos.  q must be ctx's model.  0 or -1. */
int tern_tfm_attn_half_int(const tern_tfm_qmodel *q, int block, int pass, tern_tfm_ictx *ctx,
                           int pos, const int32_t *x, int M, int32_t *y, char *err,
                           size_t errlen);

/* n tokens at positions pos .. pos+n-1; logits int32 Q12 (vocab of the last
 * position, or n*vocab if all_logits).  Returns 0 or -1 with a message. */
int tern_tfm_iprefill(tern_tfm_ictx *ctx, const int *tokens, int n, int32_t *logits,
                      int all_logits, char *err, size_t errlen);
int tern_tfm_idecode(tern_tfm_ictx *ctx, int token, int32_t *logits, char *err, size_t errlen);
/* Index of the largest logit (lowest on ties). */
int tern_tfm_iargmax(const int32_t *logits, int n);

/* ---- fidelity: integer vs float reference --------------------------------- */

#define TERN_TFM_FID_PROMPTS 8  /* the fixed prompt set */
#define TERN_TFM_FID_DECODE 4   /* decode steps after each prompt */

/* The i-th fixed prompt (ASCII), NULL if out of range. */
const char *tern_tfm_fidelity_prompt(int i);
/* Bytes to token ids: vocab >= 256: token = byte; otherwise byte % vocab. */
int tern_tfm_fidelity_tokens(const char *text, int vocab, int *tokens, int max_tokens);

typedef struct tern_tfm_fidelity_result {
  int n_prompts;
  int passes;                              /* layers * repeat */
  double cosine[TERN_TFM_FID_PROMPTS];     /* logit cosine, last position */
  double min_step_cosine[TERN_TFM_FID_PROMPTS]; /* minimum over prefill + decode steps */
  int top1[TERN_TFM_FID_PROMPTS];          /* argmax equal at the last position */
  double top1_gap[TERN_TFM_FID_PROMPTS];   /* float logit of the float argmax minus the float
                                              logit of the integer argmax (0 if they agree) */
  int top1_agree;                          /* count over prompts */
  double min_cosine, mean_cosine;
  double *layer_max_err; /* passes: max |x_int - x_float| of the residual stream */
  double *layer_rms;     /* passes: RMS of the float residual stream (context) */
} tern_tfm_fidelity_result;
void tern_tfm_fidelity_result_free(tern_tfm_fidelity_result *r);

/* Runs n_prompts (1..8) fixed prompts: prefill + TERN_TFM_FID_DECODE decode
 * steps (both models fed the float model's greedy tokens), compares logits and
 * the residual stream after every block pass.  Prints a report to out (may be
 * NULL).  Returns 0 or -1 with a message. */
int tern_tfm_fidelity(const char *preset_or_file, int n_prompts, FILE *out,
                      tern_tfm_fidelity_result *res, char *err, size_t errlen);
/* Same on an already generated model. */
int tern_tfm_fidelity_model(const tern_tfm_model *m, int n_prompts, FILE *out,
                            tern_tfm_fidelity_result *res, char *err, size_t errlen);

/* ==== Block-alone models and the EMBED / HEAD references (models/tfm_block.c;
 * the compiler's step programs, include/tern/compiler_tfm.h) ================ */

/* x (M x dim, Q12) = the embedding rows of tokens (E1), exactly as
 * tern_tfm_iprefill computes them.  0 or -1 with a message (bad token). */
int tern_tfm_embed_int(const tern_tfm_qmodel *q, const int *tokens, int M, int32_t *x, char *err,
                       size_t errlen);
/* Logits (Q12) of the final norm + int8 LM head (H1-H5) of x (M x dim): of the
 * last row (vocab values) or, with all_logits, of every row (M x vocab). */
int tern_tfm_head_int(const tern_tfm_qmodel *q, const int32_t *x, int M, int all_logits,
                      int32_t *logits, char *err, size_t errlen);

/* A model holding only block b of cfg, for running one block of a large
 * preset (the compiler tests: ATTN + FFN of one block of every preset) without
 * generating the whole model.  m has cfg.layers = 1, repeat = 1 and vocab =
 * min(cfg.vocab, 256); m.block[0] = tern_tfm_generate_block(cfg, b) (the same
 * weights as block b of the whole model); with share_ffn the shared FFN is the
 * whole model's; embedding, LM head and final norm are seeded like a
 * vocab-limited model (not the whole model's).  q = tern_tfm_quantize(m) (q.m
 * points into this struct: do not copy it). */
typedef struct tern_tfm_block_model {
  int block;            /* b */
  tern_tfm_config full; /* cfg as given */
  tern_tfm_model m;
  tern_tfm_qmodel q;
} tern_tfm_block_model;
int tern_tfm_block_model_new(const tern_tfm_config *cfg, int b, tern_tfm_block_model *out,
                             char *err, size_t errlen);
void tern_tfm_block_model_free(tern_tfm_block_model *bm);

#ifdef __cplusplus
}
#endif
#endif
