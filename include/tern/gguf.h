/* GGUF v3 reader and writer (issue 11, checkpoint import): models/gguf.c.
 * docs/GGUF.md has every layout fact with its source and what the reader
 * refuses and why.
 *
 * Reader.  tern_gguf_open memory-maps the file read-only; nothing of the
 * tensor data or of the metadata values is copied: strings are (pointer,
 * length) views into the map (not NUL-terminated), numeric arrays are
 * pointers to their raw little-endian bytes, tensors are `const void *`
 * into the data section.  Everything stays valid until tern_gguf_close.
 * The file is untrusted: every count and length is checked against the
 * bytes that remain before anything is allocated, sizes are overflow-checked,
 * tensors must lie inside the data section at aligned, non-overlapping
 * offsets, names and keys are unique.  Versions 2 and 3 (same little-endian
 * layout) are read; version 1 (32-bit counts) and big-endian files are
 * refused.  Every error message names the file and the field.
 *
 * Decoders turn tensor bytes into float32 (F32, F16, BF16, Q8_0, I8) or into
 * ternary codes {-1, 0, +1} plus one scale per tensor (TQ1_0, TQ2_0, I2_S),
 * always in memory order: ne[0] (the innermost, contiguous dimension)
 * fastest.
 *
 * Writer.  Key/values and tensors are collected (their bytes copied) and
 * written by tern_gguf_write through a temporary file and rename(2), with the
 * spec's alignment padding; encoders give F16 / BF16 / Q8_0 from float32 and
 * TQ1_0 / TQ2_0 / I2_S from ternary codes and one scale. */
#ifndef TERN_GGUF_H
#define TERN_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "tern/half.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ------------------------------------------------------------------------- */

/* Metadata value types (the GGUF spec's gguf_metadata_value_type). */
typedef enum tern_gguf_vtype {
  TERN_GGUF_U8 = 0,
  TERN_GGUF_I8 = 1,
  TERN_GGUF_U16 = 2,
  TERN_GGUF_I16 = 3,
  TERN_GGUF_U32 = 4,
  TERN_GGUF_I32 = 5,
  TERN_GGUF_F32 = 6,
  TERN_GGUF_BOOL = 7,
  TERN_GGUF_STRING = 8,
  TERN_GGUF_ARRAY = 9,
  TERN_GGUF_U64 = 10,
  TERN_GGUF_I64 = 11,
  TERN_GGUF_F64 = 12,
  TERN_GGUF_NVTYPES = 13
} tern_gguf_vtype;

/* ggml tensor types tern decodes or encodes (numbers from llama.cpp
 * ggml/include/ggml.h; I2_S from the BitNet fork).  The reader also accepts
 * the other ggml types whose block size it knows (tern_ggml_type_name lists
 * them); their bytes are reachable, they have no decoder. */
enum {
  TERN_GGML_F32 = 0,
  TERN_GGML_F16 = 1,
  TERN_GGML_Q8_0 = 8,
  TERN_GGML_I8 = 24,
  TERN_GGML_BF16 = 30,
  TERN_GGML_TQ1_0 = 34,
  TERN_GGML_TQ2_0 = 35,
  TERN_GGML_I2_S = 36
};

#define TERN_GGUF_MAX_DIMS 4
#define TERN_GGUF_NAME_MAX 64   /* tensor names are 1..63 bytes (llama.cpp GGML_MAX_NAME) */
#define TERN_GGUF_KEY_MAX 65535 /* key bytes (the GGUF spec) */
#define TERN_GGUF_DEFAULT_ALIGNMENT 32

/* A string in the map: `len` bytes at `ptr`, not NUL-terminated. */
typedef struct tern_gguf_str {
  const char *ptr;
  size_t len;
} tern_gguf_str;

/* "uint32", "string", "array", ... or "?" */
const char *tern_gguf_vtype_name(int t);
/* Bytes of one value of a fixed-size type (0 for STRING, ARRAY, unknown). */
size_t tern_gguf_vtype_size(int t);
/* "f32", "tq2_0", "i2_s", ... or NULL for a type the reader does not know. */
const char *tern_ggml_type_name(uint32_t type);
/* Bytes of a tensor of `type` with n elements (I2_S: n/4 packed bytes + the
 * 32 the fork reserves for its scale).  -1 with a message (`what` names the
 * tensor) if the type is unknown, n is not a whole number of blocks, or the
 * size overflows. */
int tern_ggml_nbytes(uint32_t type, uint64_t n, uint64_t *nbytes, const char *what, char *err, size_t errlen);

/* ---- reader ------------------------------------------------------------------------ */

typedef struct tern_gguf tern_gguf;

/* One metadata key/value. */
typedef struct tern_gguf_kv {
  tern_gguf_str key;
  int type;            /* tern_gguf_vtype of the value; TERN_GGUF_ARRAY for arrays */
  int elem_type;       /* arrays: the element type; scalars: == type */
  uint64_t count;      /* arrays: element count; scalars: 1 */
  const uint8_t *data; /* the value's bytes in the map: a number (little-endian), a
                          string's characters, an array's first element */
  uint64_t nbytes;     /* bytes at data (a string array: all its length-prefixed elements) */
} tern_gguf_kv;

/* One tensor.  ne[] in GGUF order: ne[0] is the innermost, contiguous
 * dimension; ne[n_dims..3] are 1. */
typedef struct tern_gguf_tensor {
  char name[TERN_GGUF_NAME_MAX]; /* NUL-terminated copy */
  uint32_t type;                 /* ggml type number */
  uint32_t n_dims;               /* 1..4 */
  uint64_t ne[TERN_GGUF_MAX_DIMS];
  uint64_t n_elements;
  uint64_t offset; /* relative to the data section */
  uint64_t nbytes;
  const void *data; /* in the map; aligned to the file's alignment within the file */
} tern_gguf_tensor;

tern_gguf *tern_gguf_open(const char *path, char *err, size_t errlen);
void tern_gguf_close(tern_gguf *g);

const char *tern_gguf_path(const tern_gguf *g);
uint32_t tern_gguf_version(const tern_gguf *g);
uint32_t tern_gguf_alignment(const tern_gguf *g);
uint64_t tern_gguf_data_offset(const tern_gguf *g); /* file offset of the data section */
uint64_t tern_gguf_file_size(const tern_gguf *g);

/* Metadata: by index (0 <= i < n_kv) or by key (NULL / -1 if absent). */
size_t tern_gguf_n_kv(const tern_gguf *g);
const tern_gguf_kv *tern_gguf_kv_at(const tern_gguf *g, size_t i);
const tern_gguf_kv *tern_gguf_find_kv(const tern_gguf *g, const char *key);

/* Typed getters: 0, or -1 with a message naming the file and key when the
 * key is absent or its value does not fit.  Integers convert between any
 * integer types when the value is in range (a uint64 block count of 30 reads
 * as uint32); a float32 widens to float64, a float64 narrows to float32 only
 * when exact; nothing converts between integers, floats, bools and strings. */
int tern_gguf_get_u32(const tern_gguf *g, const char *key, uint32_t *v, char *err, size_t errlen);
int tern_gguf_get_i32(const tern_gguf *g, const char *key, int32_t *v, char *err, size_t errlen);
int tern_gguf_get_u64(const tern_gguf *g, const char *key, uint64_t *v, char *err, size_t errlen);
int tern_gguf_get_i64(const tern_gguf *g, const char *key, int64_t *v, char *err, size_t errlen);
int tern_gguf_get_f32(const tern_gguf *g, const char *key, float *v, char *err, size_t errlen);
int tern_gguf_get_f64(const tern_gguf *g, const char *key, double *v, char *err, size_t errlen);
int tern_gguf_get_bool(const tern_gguf *g, const char *key, int *v, char *err, size_t errlen);
int tern_gguf_get_str(const tern_gguf *g, const char *key, tern_gguf_str *v, char *err, size_t errlen);

/* Arrays: element type and count (-1 if the key is absent or not an array). */
int tern_gguf_get_arr(const tern_gguf *g, const char *key, int *elem_type, uint64_t *count, char *err,
                      size_t errlen);
/* The i-th string of a string array. */
int tern_gguf_arr_str(const tern_gguf *g, const char *key, uint64_t i, tern_gguf_str *v, char *err,
                      size_t errlen);
/* The raw little-endian elements of a numeric (or bool) array whose element
 * type is `elem_type` (e.g. TERN_GGUF_F32 scores, TERN_GGUF_I32 token types);
 * *count gets the element count.  The pointer is into the map and may be
 * unaligned: read elements with memcpy.  NULL with a message otherwise. */
const void *tern_gguf_arr_data(const tern_gguf *g, const char *key, int elem_type, uint64_t *count, char *err,
                               size_t errlen);

/* Tensors: by index (0 <= i < n_tensors) or by name (NULL if absent). */
size_t tern_gguf_n_tensors(const tern_gguf *g);
const tern_gguf_tensor *tern_gguf_tensor_at(const tern_gguf *g, size_t i);
const tern_gguf_tensor *tern_gguf_find_tensor(const tern_gguf *g, const char *name);
/* Same, -1 with "<file>: no tensor 'name'" when absent. */
int tern_gguf_get_tensor(const tern_gguf *g, const char *name, const tern_gguf_tensor **t, char *err,
                         size_t errlen);

/* Tensor t of g to float32 (out: t->n_elements floats): F32, F16, BF16,
 * Q8_0, I8. */
int tern_gguf_decode_f32(const tern_gguf *g, const tern_gguf_tensor *t, float *out, char *err, size_t errlen);
/* Tensor t of g to ternary codes (out: t->n_elements values in {-1, 0, +1})
 * and the tensor's one scale (value = code * scale): TQ1_0, TQ2_0, I2_S.
 * TQ1_0 / TQ2_0 carry an fp16 scale per 256-element block: every block that
 * is not all zero must have the same one (all-zero blocks may have any), else
 * -1 naming the block and both values. */
int tern_gguf_decode_ternary(const tern_gguf *g, const tern_gguf_tensor *t, int8_t *out, float *scale,
                             char *err, size_t errlen);

/* The same on raw bytes: n elements of `type` in `nbytes` bytes at src;
 * `what` names the data in messages (e.g. "model.gguf: tensor 'x'"). */
int tern_ggml_to_f32(uint32_t type, const void *src, uint64_t nbytes, uint64_t n, float *out,
                     const char *what, char *err, size_t errlen);
int tern_ggml_to_ternary(uint32_t type, const void *src, uint64_t nbytes, uint64_t n, int8_t *out,
                         float *scale, const char *what, char *err, size_t errlen);

/* ---- encoders ---------------------------------------------------------------------- */

/* fp16 / bf16 conversions: include/tern/half.h. */

/* n floats -> `type` (F32, F16, BF16, Q8_0) into dst, which holds exactly
 * tern_ggml_nbytes(type, n) bytes (dst_bytes). */
int tern_ggml_from_f32(uint32_t type, const float *src, uint64_t n, void *dst, uint64_t dst_bytes, char *err,
                       size_t errlen);
/* n ternary codes (each -1, 0 or +1) and one scale -> TQ1_0 / TQ2_0 (every
 * block's fp16 d = the scale rounded to fp16) or I2_S (the float32 scale
 * after the packed codes).  dst holds exactly tern_ggml_nbytes(type, n). */
int tern_ggml_from_ternary(uint32_t type, const int8_t *codes, uint64_t n, float scale, void *dst,
                           uint64_t dst_bytes, char *err, size_t errlen);

/* ---- writer ------------------------------------------------------------------------ */

typedef struct tern_gguf_writer tern_gguf_writer;

tern_gguf_writer *tern_gguf_writer_new(void);
void tern_gguf_writer_free(tern_gguf_writer *w);

/* Key/values, written in the order added.  Keys: 1..65535 bytes, unique.
 * "general.alignment" (uint32, a power of two) also sets the alignment the
 * writer uses (default 32). */
int tern_gguf_add_u32(tern_gguf_writer *w, const char *key, uint32_t v, char *err, size_t errlen);
int tern_gguf_add_i32(tern_gguf_writer *w, const char *key, int32_t v, char *err, size_t errlen);
int tern_gguf_add_u64(tern_gguf_writer *w, const char *key, uint64_t v, char *err, size_t errlen);
int tern_gguf_add_f32(tern_gguf_writer *w, const char *key, float v, char *err, size_t errlen);
int tern_gguf_add_bool(tern_gguf_writer *w, const char *key, int v, char *err, size_t errlen);
int tern_gguf_add_str(tern_gguf_writer *w, const char *key, const char *s, size_t len, char *err,
                      size_t errlen);
/* Any fixed-size scalar type: *v is a host value of that type (int8_t,
 * uint16_t, ..., double; a bool as one uint8_t 0 or 1). */
int tern_gguf_add_scalar(tern_gguf_writer *w, const char *key, int type, const void *v, char *err,
                         size_t errlen);
/* Array of n host values of fixed-size element type elem_type (e.g. n
 * floats for TERN_GGUF_F32, int32_t for TERN_GGUF_I32). */
int tern_gguf_add_arr(tern_gguf_writer *w, const char *key, int elem_type, const void *values, uint64_t n,
                      char *err, size_t errlen);
/* Array of n strings; lens may be NULL (then each string is NUL-terminated). */
int tern_gguf_add_arr_str(tern_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                          uint64_t n, char *err, size_t errlen);

/* A tensor of `type`, n_dims (1..4) dimensions ne[0..n_dims-1] (ne[0]
 * innermost), and exactly tern_ggml_nbytes bytes of data (copied).  Names:
 * 1..63 bytes, unique.  Tensors are laid out in the order added. */
int tern_gguf_add_tensor(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                         const uint64_t *ne, const void *data, uint64_t nbytes, char *err, size_t errlen);
/* Encode and add: floats as F32 / F16 / BF16 / Q8_0; ternary codes + one
 * scale as TQ1_0 / TQ2_0 / I2_S. */
int tern_gguf_add_tensor_f32(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                             const uint64_t *ne, const float *src, char *err, size_t errlen);
int tern_gguf_add_tensor_ternary(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                 const uint64_t *ne, const int8_t *codes, float scale, char *err,
                                 size_t errlen);

/* Writes GGUF v3 to path (through path.tmp.<pid> and rename).  I/O errors
 * name the file and carry strerror. */
int tern_gguf_write(const tern_gguf_writer *w, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
