/* safetensors files (models/safetensors.c tern_st_open: header length, JSON
 * header over Jansson, dtypes, shapes, data offsets, overlaps; sharded
 * checkpoints through model.safetensors.index.json).  One part is a
 * .safetensors file; several parts (fuzz.h FZ_SEP) are an index and shards
 * s1.safetensors, s2.safetensors, ...  What opens has every tensor's bytes
 * read and its size checked against its shape and dtype. */
#include "fuzz.h"
#include "tern/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[5];
  size_t len[5];
  int np = fz_split(data, size, part, len, 5);
  char path[600], tmp[600];
  if (np == 1) {
    fz_file("st/model.safetensors", part[0], len[0], path, sizeof path);
  } else {
    fz_file("st/model.safetensors.index.json", part[0], len[0], path, sizeof path);
    for (int i = 1; i < np; i++) {
      char rel[64];
      snprintf(rel, sizeof rel, "st/s%d.safetensors", i);
      fz_file(rel, part[i], len[i], tmp, sizeof tmp);
    }
  }
  char err[FZ_ERRLEN] = "";
  tern_st *st = tern_st_open(path, err, sizeof err);
  fz_expect_ptr(st, err, "tern_st_open");
  if (st) {
    unsigned sum = 0;
    for (int i = 0; i < tern_st_count(st); i++) {
      const tern_st_tensor *t = tern_st_at(st, i);
      if (!t || !t->name) fz_fail("tensor %d missing", i);
      if (t->nbytes != t->numel * tern_st_dtype_size(t->dtype)) fz_fail("tensor %s: %llu bytes", t->name, (unsigned long long)t->nbytes);
      if (tern_st_find(st, t->name) == NULL) fz_fail("tensor %s not found by name", t->name);
      for (uint64_t k = 0; k < t->nbytes; k++) sum += t->data[k];
      (void)tern_st_file(st, t);
    }
    (void)tern_st_metadata(st, "format");
    (void)tern_st_data_bytes(st);
    (void)sum;
    tern_st_close(st);
  }
  fz_clear();
  return 0;
}
