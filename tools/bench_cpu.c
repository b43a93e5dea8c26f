/* bench_cpu: the CPU backend's ternary GEMV against this machine's
 * DRAM-bandwidth floor (2 bits per weight).  Built as build/bench_cpu,
 * run by `make bench` (scripts/bench.sh).
 *
 *   (a) read bandwidth: one thread sums the 64-bit words of a buffer
 *       (4 independent accumulators), best of R passes after one warm-up
 *       pass that also faults the pages in:  DRAM = 1 GiB buffer (far larger
 *       than any cache), cache = 4 MiB buffer (the 4096x4096 packed size).
 *   (b) GEMV y = W x, W ternary N x K packed at 2 bits/weight, for each kernel
 *       variant this CPU runs: best of R calls (one warm-up call first), for
 *       4096x4096 (4 MiB packed: may sit in L2/L3) and 16384x16384 (64 MiB
 *       packed: does not fit in cache).  Printed per variant: time, packed
 *       bytes / time, and time / floor where floor = packed bytes / DRAM read
 *       bandwidth from (a) (the time just to stream the weights once).
 *   (c) prefill-shaped GEMM, M = 64 vectors, 4096x4096: time and
 *       multiply-adds per ns.
 * Every variant's output is compared bit for bit with the portable kernel's
 * (and the 4096x4096 GEMV with a naive int64 reference on all rows).
 * Exit status 1 if any comparison fails or a kernel reports an error.
 * Options: --quick (fewer repetitions, 256 MiB DRAM buffer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/cpu_kernels.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static volatile uint64_t sink;

/* Best-of-reps streaming read bandwidth over bytes (bytes/s). */
static double read_bw(size_t bytes, int reps) {
  size_t nw = bytes / 8;
  uint64_t *buf = aligned_alloc(64, nw * 8);
  if (!buf) {
    fprintf(stderr, "bench_cpu: out of memory for a %zu-byte read buffer\n", bytes);
    exit(1);
  }
  for (size_t i = 0; i < nw; i++) buf[i] = i * 0x9E3779B97F4A7C15ull;
  double best = 1e30;
  for (int r = 0; r <= reps; r++) {
    double t0 = now_s();
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = 0; i + 4 <= nw; i += 4) {
      a0 += buf[i];
      a1 += buf[i + 1];
      a2 += buf[i + 2];
      a3 += buf[i + 3];
    }
    sink = a0 + a1 + a2 + a3;
    double t = now_s() - t0;
    if (r > 0 && t < best) best = t; /* pass 0 is the warm-up */
  }
  free(buf);
  return (double)bytes / best;
}

static const char *vname(int v) { return tern_cpu_variant_name((tern_cpu_variant)v); }

static int fail = 0;

/* Runs the GEMV (m == 1) or GEMM for every supported variant; returns nothing,
 * sets fail on disagreement.  ref (optional) is the expected output. */
static void bench_shape(const char *title, const tern_cpu_wmat *w, const int8_t *x, size_t m,
                        const int32_t *ref, int reps, double dram_bw) {
  char err[256];
  size_t n = w->n, packed = w->n * w->row_bytes;
  int32_t *y0 = malloc(m * n * sizeof *y0), *y = malloc(m * n * sizeof *y);
  if (!y0 || !y) {
    fprintf(stderr, "bench_cpu: out of memory\n");
    exit(1);
  }
  double floor_s = (double)packed / dram_bw;
  printf("== %s: N=%zu K=%zu M=%zu, %zu packed weight bytes (2 bits/weight, rows padded to %d) ==\n",
         title, n, w->k, m, packed, TERN_CPU_KBLOCK);
  printf("  DRAM floor = packed bytes / DRAM read bandwidth = %.3f ms\n", floor_s * 1e3);
  printf("  %-11s %11s %12s %14s %14s  %s\n", "variant", "best ms", "weight GB/s",
         "time / floor", "MAC per ns", "bits vs portable");
  for (int v = TERN_CPU_PORTABLE; v < TERN_CPU_NVARIANTS; v++) {
    if (!tern_cpu_variant_supported((tern_cpu_variant)v)) {
      printf("  %-11s (not supported by this CPU)\n", vname(v));
      continue;
    }
    int32_t *out = v == TERN_CPU_PORTABLE ? y0 : y;
    int r_this = v == TERN_CPU_PORTABLE && m > 1 ? 1 : reps;
    double best = 1e30;
    for (int r = 0; r <= r_this; r++) {
      memset(out, 0x5a, m * n * sizeof *out);
      double t0 = now_s();
      if (tern_cpu_gemm((tern_cpu_variant)v, w, x, m, w->k, out, n, err, sizeof err)) {
        printf("  %-11s ERROR: %s\n", vname(v), err);
        fail = 1;
        break;
      }
      double t = now_s() - t0;
      if (r > 0 && t < best) best = t;
    }
    const char *agree;
    if (v == TERN_CPU_PORTABLE)
      agree = ref ? (memcmp(y0, ref, m * n * sizeof *y0) ? "MISMATCH vs naive reference"
                                                          : "(reference; == naive int64)")
                  : "(reference)";
    else
      agree = memcmp(y0, y, m * n * sizeof *y) ? "MISMATCH" : "identical";
    if (strstr(agree, "MISMATCH")) fail = 1;
    printf("  %-11s %11.3f %12.2f %13.2fx %14.2f  %s\n", vname(v), best * 1e3,
           (double)packed / best / 1e9, best / floor_s, (double)m * (double)n * (double)w->k / best / 1e9,
           agree);
  }
  printf("  (best ms: best of %d timed calls%s after a warm-up, CLOCK_MONOTONIC; weight GB/s = packed\n"
         "   bytes / best time; time / floor = best time / DRAM floor: 1.00x would mean streaming the\n"
         "   weights at the measured DRAM read bandwidth; below 1 means they came from cache)\n\n",
         reps, m > 1 ? " (portable: 1)" : "");
  free(y0);
  free(y);
}

/* Random ternary matrix written straight in the packed layout (offset codes
 * 0, 1, 2 = -1, 0, +1, uniformly; K a multiple of 256 so there is no padding). */
static int random_packed(tern_cpu_wmat *w, size_t n, size_t k) {
  memset(w, 0, sizeof *w);
  w->n = n;
  w->k = k;
  w->kp = k;
  w->row_bytes = k / 4;
  w->data = aligned_alloc(64, n * w->row_bytes);
  if (!w->data) return -1;
  for (size_t i = 0; i < n * w->row_bytes; i++) {
    uint64_t r = rng();
    unsigned b = 0;
    for (int f = 0; f < 4; f++) b |= (unsigned)((r >> (16 * f)) % 3u) << (2 * f);
    w->data[i] = (uint8_t)b;
  }
  return 0;
}

int main(int argc, char **argv) {
  int quick = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else {
      fprintf(stderr, "bench_cpu: unknown option '%s' (expected --quick)\n", argv[i]);
      return 2;
    }
  }
  char err[256];
  int best = tern_cpu_variant_best();
  printf("bench_cpu: ternary GEMV kernels of the cpu backend (single thread)\n");
  printf("  variants supported here:");
  for (int v = TERN_CPU_PORTABLE; v < TERN_CPU_NVARIANTS; v++)
    if (tern_cpu_variant_supported((tern_cpu_variant)v)) printf(" %s", vname(v));
  printf("; default (auto) = %s\n\n", vname(best));

  size_t dram_bytes = quick ? ((size_t)256 << 20) : ((size_t)1 << 30);
  int reps_bw = quick ? 3 : 5;
  double dram = read_bw(dram_bytes, reps_bw);
  double cache = read_bw((size_t)4 << 20, 50);
  printf("== read bandwidth (one thread, sum of 64-bit words, best of %d after a warm-up) ==\n",
         reps_bw);
  printf("  DRAM  (%4zu MiB buffer): %7.2f GB/s = %.3f ns per byte = %.4f ns per packed weight\n",
         dram_bytes >> 20, dram / 1e9, 1e9 / dram, 0.25e9 / dram);
  printf("  cache (   4 MiB buffer): %7.2f GB/s (best of 50; the 4096x4096 packed size)\n\n",
         cache / 1e9);

  /* 4096 x 4096 through the public packer, checked against a naive reference. */
  size_t n = 4096, k = 4096;
  int8_t *codes = malloc(n * k), *x = malloc(64 * k);
  int32_t *ref = malloc(n * sizeof *ref);
  if (!codes || !x || !ref) {
    fprintf(stderr, "bench_cpu: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < n * k; i++) codes[i] = (int8_t)((int)(rng() % 3u) - 1);
  for (size_t i = 0; i < 64 * k; i++) x[i] = (int8_t)(rng() & 0xff);
  for (size_t i = 0; i < n; i++) {
    int64_t s = 0;
    for (size_t j = 0; j < k; j++) s += (int64_t)codes[i * k + j] * x[j];
    ref[i] = (int32_t)s;
  }
  tern_cpu_wmat w;
  if (tern_cpu_wmat_pack(&w, codes, n, k, err, sizeof err)) {
    fprintf(stderr, "bench_cpu: %s\n", err);
    return 1;
  }
  free(codes);
  bench_shape("GEMV 4096x4096", &w, x, 1, ref, quick ? 5 : 20, dram);

  tern_cpu_wmat big;
  size_t nb = 16384;
  if (random_packed(&big, nb, nb)) {
    fprintf(stderr, "bench_cpu: out of memory for the 16384x16384 matrix\n");
    return 1;
  }
  int8_t *xb = malloc(nb);
  if (!xb) return 1;
  for (size_t i = 0; i < nb; i++) xb[i] = (int8_t)(rng() & 0xff);
  bench_shape("GEMV 16384x16384 (does not fit in cache)", &big, xb, 1, NULL, quick ? 2 : 5, dram);
  tern_cpu_wmat_free(&big);
  free(xb);

  bench_shape("GEMM M=64 (prefill) 4096x4096", &w, x, 64, NULL, quick ? 1 : 3, dram);
  tern_cpu_wmat_free(&w);
  free(x);
  free(ref);
  if (fail) {
    printf("bench_cpu: FAIL: a kernel variant disagreed or reported an error\n");
    return 1;
  }
  printf("bench_cpu: all variants bit-identical\n");
  return 0;
}
