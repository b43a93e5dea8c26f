/* GGUF v3 files (models/gguf.c tern_gguf_open: header, metadata, tensor
 * infos, alignment, data section; memory-mapped).  A file that opens has
 * every key read (strings of string arrays one by one, a u32 getter on each)
 * and every tensor decoded both as floats and as ternary codes; each call
 * succeeds or fails with a message, ternary codes are -1, 0 or +1 with a
 * finite scale. */
#include <math.h>

#include "fuzz.h"
#include "tern/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600];
  fz_file("m.gguf", data, size, path, sizeof path);
  char err[FZ_ERRLEN] = "";
  tern_gguf *g = tern_gguf_open(path, err, sizeof err);
  fz_expect_ptr(g, err, "tern_gguf_open");
  if (!g) return 0;
  unsigned sum = 0;
  for (size_t i = 0; i < tern_gguf_n_kv(g); i++) {
    const tern_gguf_kv *kv = tern_gguf_kv_at(g, i);
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(kv->key.len < 511 ? kv->key.len : 511), kv->key.ptr);
    for (uint64_t j = 0; j < kv->nbytes; j++) sum += kv->data[j];
    if (kv->type == TERN_GGUF_ARRAY && kv->elem_type == TERN_GGUF_STRING && strlen(key) == kv->key.len)
      for (uint64_t j = 0; j < kv->count; j++) {
        tern_gguf_str s;
        err[0] = 0;
        if (tern_gguf_arr_str(g, key, j, &s, err, sizeof err)) fz_fail("arr_str %s[%llu]: %s", key, (unsigned long long)j, err);
        for (size_t k = 0; k < s.len; k++) sum += (uint8_t)s.ptr[k];
      }
    uint32_t u32;
    err[0] = 0;
    fz_expect_rc(tern_gguf_get_u32(g, key, &u32, err, sizeof err), err, "tern_gguf_get_u32");
  }
  for (size_t i = 0; i < tern_gguf_n_tensors(g); i++) {
    const tern_gguf_tensor *t = tern_gguf_tensor_at(g, i);
    if (t->nbytes > tern_gguf_file_size(g)) fz_fail("tensor %zu: %llu bytes in a smaller file", i, (unsigned long long)t->nbytes);
    if (t->n_elements > (1u << 22)) continue;
    float *f = malloc(t->n_elements * sizeof *f + 1);
    int8_t *c = malloc(t->n_elements + 1);
    if (!f || !c) abort();
    float scale = 0;
    err[0] = 0;
    fz_expect_rc(tern_gguf_decode_f32(g, t, f, err, sizeof err), err, "tern_gguf_decode_f32");
    err[0] = 0;
    int rt = tern_gguf_decode_ternary(g, t, c, &scale, err, sizeof err);
    fz_expect_rc(rt, err, "tern_gguf_decode_ternary");
    if (rt == 0) {
      for (uint64_t k = 0; k < t->n_elements; k++)
        if (c[k] < -1 || c[k] > 1) fz_fail("tensor %zu: code %d", i, c[k]);
      if (!isfinite(scale)) fz_fail("tensor %zu: scale %g", i, scale);
    }
    free(f);
    free(c);
  }
  (void)sum;
  tern_gguf_close(g);
  return 0;
}
