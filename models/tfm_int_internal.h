/* Internal to models/: the build-time constructors, the LM head and the
 * fidelity driver of models/tfm_int.c, shared with the recurrent integer
 * reference (models/rnn_int.c).  One implementation each; not part of the
 * public API (include/tern/tfm_int.h). */
#ifndef TERN_TFM_INT_INTERNAL_H
#define TERN_TFM_INT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/tfm_int.h"

/* round half away from zero, saturating, NaN -> 0 (build-time constants only) */
int32_t tern_round_sat32(double v);

/* BitLinear constants of the K x N matrix w (borrowed; must outlive ql), packed
 * once for the CPU kernels; ql->kernel = kernel (a resolved tern_cpu_variant or
 * TERN_TFM_KERNEL_SCALAR).  Fails naming `what` (no weights, shape, beta). */
int tern_tfm_qlinear_init(const tern_tpacked *w, int K, int N, int kernel, tern_tfm_qlinear *ql,
                          const char *what, char *err, size_t errlen);
void tern_tfm_qlinear_free(tern_tfm_qlinear *l);

/* Norm constants over n values: gains (and biases if nm->b) of nm, epsilon
 * eps, layer = 1 for LayerNorm (centre first), 0 for RMSNorm. */
int tern_tfm_qnorm_init(const tern_tfm_norm *nm, int n, float eps, int layer, tern_tfm_qnorm *q,
                        const char *what, char *err, size_t errlen);
void tern_tfm_qnorm_free(tern_tfm_qnorm *q);

/* Row constants round(scale_v * 2^28) of vocab x dim int8 rows (embedding,
 * LM head) into a new array *out. */
int tern_tfm_row_consts(const tern_i8rows *r, int vocab, int dim, int32_t **out, const char *what,
                        char *err, size_t errlen);

/* H1-H5: final norm, int8 quantisation and int8 LM head of the Q12 rows x
 * (M x dim) into Q12 logits (of the last row, or of every row with
 * all_logits: M x vocab).  W: vocab x dim int8 rows, row_c their constants,
 * head_dq_c = round(2^30 / 127); h (dim int32) and qb (dim int8) scratch. */
void tern_tfm_lm_head_rows(const tern_tfm_qnorm *final_norm, const int8_t *W,
                           const int32_t *row_c, int32_t head_dq_c, int dim, int vocab,
                           const int32_t *x, int M, int all_logits, int32_t *logits, int32_t *h,
                           int8_t *qb);

/* ---- fidelity driver (tern_tfm_fidelity_model, tern_rnn_fidelity_model) ---- */

/* Decode steps and prompt length (tokens) for a context of ctxlen positions. */
void tern_fid_lengths(int n_prompts, int ctxlen, int *steps, int *maxlen);

/* Residual rows (per pass, float and int) of the current call. */
typedef void (*tern_fid_ftrace_fn)(void *user, int pass, int n, const float *x);
typedef void (*tern_fid_itrace_fn)(void *user, int pass, int n, const int32_t *x);

/* One float model and its integer model, driven through callbacks. */
typedef struct tern_fid_pair {
  const char *name;
  int passes, vocab, dim;
  void *user;
  /* install ft / it (with trace user tr) on the float / integer context */
  void (*set_traces)(void *user, tern_fid_ftrace_fn ft, tern_fid_itrace_fn it, void *tr);
  /* s == 0: reset both contexts and prefill tokens tok[0..n) into both;
   * s > 0: decode token `next` on both.  Float first; 0 or -1 with a message. */
  int (*step)(void *user, int s, const int *tok, int n, int next, float *lf, int32_t *li,
              char *err, size_t errlen);
} tern_fid_pair;

/* The fixed prompts: prefill + steps decodes, logits and residual stream
 * compared; prints the header, one line per prompt and the logit summary to
 * out (may be NULL).  res is filled (freed on error).  0 or -1. */
int tern_fid_run(const tern_fid_pair *fp, int n_prompts, int steps, int maxlen, FILE *out,
                 tern_tfm_fidelity_result *res, char *err, size_t errlen);

#endif
