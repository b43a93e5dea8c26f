/* Private interface between runtime/cpu_kernels.c (driver, portable kernel)
 * and runtime/cpu_kernels_x86.c (SIMD kernels).  Not part of the public API. */
#ifndef TERN_CPU_KERNELS_IMPL_H
#define TERN_CPU_KERNELS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "tern/cpu_kernels.h"

/* 1 if the CPU (and this build) can run SIMD variant v (a tern_cpu_variant). */
int tern_cpu_x86_supported(int v);
/* Runs SIMD variant v: xp holds m rows of w->kp zero-padded, 64-byte aligned
 * activations, sumx[i] = sum of row i; y[i*ldy + n] = sum_k u*x - sumx[i]. */
void tern_cpu_x86_gemm(int v, const tern_cpu_wmat *w, const int8_t *xp, size_t m,
                       const int32_t *sumx, int32_t *y, size_t ldy);

#endif
