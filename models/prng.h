/* Internal: the documented PRNG of docs/NUMERICS.md "Weight generation"
 * (splitmix64 -> uniform doubles -> Box-Muller, cosine branch), shared by
 * the MLP (models/mlp.c) and the transformer models (models/tfm_*.c). */
#ifndef TERN_MODELS_PRNG_H
#define TERN_MODELS_PRNG_H

#include <math.h>
#include <stdint.h>

typedef struct tern_rng { uint64_t s; } tern_rng;

#define TERN_SPLITMIX_GAMMA 0x9E3779B97F4A7C15ull

static inline uint64_t tern_splitmix_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t tern_splitmix64(tern_rng *r) {
  return tern_splitmix_mix(r->s += TERN_SPLITMIX_GAMMA);
}

/* uniform in [0, 1): top 53 bits */
static inline double tern_uniform01(tern_rng *r) {
  return (double)(tern_splitmix64(r) >> 11) * 0x1p-53;
}

/* One N(0,1) sample from two consecutive uniforms (cosine branch only). */
static inline double tern_normal01(tern_rng *r) {
  double u1 = 1.0 - tern_uniform01(r); /* (0, 1] */
  double u2 = tern_uniform01(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
