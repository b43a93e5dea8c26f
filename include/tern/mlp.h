/* The slice's model: x -> [RMSNorm -> BitLinear(d->f) -> act -> BitLinear(f->d) -> +x] x L
 * (models/mlp.c).  Float32 reference as BitNet b1.58 defines it, the
 * integer quantisation constants, and the bit-exact integer reference.
 * The integer op sequence is spelled out in docs/NUMERICS.md; the compiler
 * emits exactly that sequence. */
#ifndef TERN_MLP_H
#define TERN_MLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_act { TERN_ACT_RELU2 = 0, TERN_ACT_SILU = 1 } tern_act;

typedef struct tern_mlp_config {
  int d;          /* model width */
  int f;          /* hidden width */
  int layers;     /* L */
  tern_act act;
  uint64_t seed;  /* weights are generated from it */
  float eps;      /* RMSNorm epsilon (1e-5) */
} tern_mlp_config;

/* The built-in default model of `make demo`. */
tern_mlp_config tern_mlp_default_config(void);

/* A ternary weight matrix, BitLinear(K -> N): y[n] = sum_k x[k] * w[k*N + n] * beta */
typedef struct tern_tmatrix {
  int k, n;
  float beta;  /* absmean scale: mean |W| of the float master weights */
  int8_t *w;   /* k*n codes in {-1, 0, 1}, row-major [k][n] */
} tern_tmatrix;

typedef struct tern_mlp_layer {
  float *g;         /* d RMSNorm gains */
  tern_tmatrix w1;  /* d -> f */
  tern_tmatrix w2;  /* f -> d */
} tern_mlp_layer;

typedef struct tern_mlp_model {
  tern_mlp_config cfg;
  tern_mlp_layer *layer; /* cfg.layers entries */
} tern_mlp_model;

/* Generate weights from cfg.seed (documented PRNG: splitmix64 + Box-Muller;
 * master weights N(0, 1/sqrt(fan_in)), ternarised by absmean; gains 1 + 0.1 N(0,1)). */
int tern_mlp_generate(const tern_mlp_config *cfg, tern_mlp_model *m, char *err, size_t errlen);
void tern_mlp_free(tern_mlp_model *m);

/* Native weight file (.twt), format in docs/NUMERICS.md "Weight files": magic, version,
 * config, tensors with name/shape/dtype, CRC-32.  Errors name the file, the field and the
 * expected value. */
int tern_mlp_save(const tern_mlp_model *m, const char *path, char *err, size_t errlen);
int tern_mlp_load(tern_mlp_model *m, const char *path, char *err, size_t errlen);

/* Seeded test input: M x d floats, N(0,1). */
void tern_mlp_input(const tern_mlp_config *cfg, int M, uint64_t seed, float *x);

/* Float32 reference (fake-quantised exactly as BitNet b1.58's BitLinear):
 * x (M x d) in, out (M x d). */
void tern_mlp_forward_float(const tern_mlp_model *m, const float *x, int M, float *out);

/* ---- integer pipeline ------------------------------------------------- */

/* Constants of one BitLinear's dequantisation (docs/NUMERICS.md). */
typedef struct tern_qlinear {
  const tern_tmatrix *w; /* ternary codes (borrowed from the model) */
  int32_t beta_c;        /* round(beta / 127 * 2^beta_frac) */
  int beta_frac;
  int s_d;               /* D = mulshr(T, beta_c, s_d) */
  int s_out;             /* y = mulshr(acc, D, s_out) = 16 */
} tern_qlinear;

/* Constants of one RMSNorm + activation quantisation. */
typedef struct tern_qnorm {
  int32_t *g_q;      /* d gains in Q(g_frac) */
  int g_frac;        /* 14 */
  int ss_shift;      /* RSUMSQ shift = 12 + floor(log2 d) */
  int32_t eps_c;     /* added to the sum of squares */
  int32_t rs_num;    /* RSQRT numerator b = d */
  int rs_shift;      /* RSQRT shift = 44 - floor(log2 d) */
  int t1_shift;      /* T1 = mulshr(A, r, 8) */
} tern_qnorm;

typedef struct tern_qlayer {
  tern_qnorm norm;
  tern_qlinear l1, l2;
} tern_qlayer;

typedef struct tern_qmlp {
  tern_mlp_config cfg;
  tern_qlayer *layer;
  int32_t sigmoid_lut[256]; /* used when cfg.act == TERN_ACT_SILU */
} tern_qmlp;

int tern_mlp_quantize(const tern_mlp_model *m, tern_qmlp *q, char *err, size_t errlen);
void tern_qmlp_free(tern_qmlp *q);

/* Bit-exact integer reference: x (M x d, Q12) in, out (M x d, Q12). */
void tern_mlp_forward_int(const tern_qmlp *q, const int32_t *x, int M, int32_t *out);

/* Work counts of one forward pass (for utilisation and baselines):
 * MACs of the ternary matmuls (M * sum K*N). */
uint64_t tern_mlp_macs(const tern_mlp_config *cfg, int M);
uint64_t tern_mlp_weight_count(const tern_mlp_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
