/* safetensors (issue 11, checkpoint import): reader and writer
 * (models/safetensors.c, docs/MODELS.md "Checkpoint formats").
 *
 * File layout (huggingface/safetensors, docs/ "Format"): an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end)} (offsets relative
 * to the byte after the header) plus an optional "__metadata__" object of
 * string values, then the tensor bytes, little-endian, row-major.
 *
 * The reader memory-maps the file (tensor data is never copied) and trusts
 * nothing: N <= 100 MiB and inside the file, every tensor's byte range inside
 * the data area and equal to its element count times the dtype size (both
 * overflow-checked), no two tensors overlapping, known dtypes only.  A
 * sharded checkpoint is opened through its `model.safetensors.index.json`
 * ({"weight_map": {tensor: shard file}}): each shard (a plain file name in
 * the same directory) is mapped once and every tensor of the map must be in
 * the shard it names.  Errors name the file, the tensor and the field. */
#ifndef TERN_SAFETENSORS_H
#define TERN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_st_dtype {
  TERN_ST_BOOL = 0,
  TERN_ST_U8,
  TERN_ST_I8,
  TERN_ST_I16,
  TERN_ST_U16,
  TERN_ST_F16,
  TERN_ST_BF16,
  TERN_ST_I32,
  TERN_ST_U32,
  TERN_ST_F32,
  TERN_ST_I64,
  TERN_ST_U64,
  TERN_ST_F64,
  TERN_ST_NDTYPES
} tern_st_dtype;

#define TERN_ST_MAX_DIMS 8
#define TERN_ST_MAX_HEADER (100u << 20) /* bytes of JSON header (the reference reader's limit) */
#define TERN_ST_MAX_SHARDS 4096

const char *tern_st_dtype_name(tern_st_dtype t);
size_t tern_st_dtype_size(tern_st_dtype t);
/* "F32" -> TERN_ST_F32; -1 if unknown. */
int tern_st_dtype_parse(const char *s);

typedef struct tern_st_tensor {
  const char *name;
  tern_st_dtype dtype;
  int ndim;                         /* 0 = scalar */
  uint64_t shape[TERN_ST_MAX_DIMS]; /* outermost first */
  uint64_t numel;
  const uint8_t *data;              /* inside the mapped file */
  uint64_t nbytes;
  int shard;                        /* index of the file it came from */
} tern_st_tensor;

typedef struct tern_st tern_st;

/* Opens a .safetensors file, a model.safetensors.index.json, or a directory
 * holding either (model.safetensors first).  NULL with a message on error. */
tern_st *tern_st_open(const char *path, char *err, size_t errlen);
void tern_st_close(tern_st *st);

int tern_st_count(const tern_st *st);
const tern_st_tensor *tern_st_at(const tern_st *st, int i);
const tern_st_tensor *tern_st_find(const tern_st *st, const char *name);
/* The value of "__metadata__"[key] of the first file (NULL if absent). */
const char *tern_st_metadata(const tern_st *st, const char *key);
/* The file a tensor came from (for messages). */
const char *tern_st_file(const tern_st *st, const tern_st_tensor *t);
/* Total bytes of tensor data over all shards. */
uint64_t tern_st_data_bytes(const tern_st *st);

/* ---- writer ---------------------------------------------------------------- */

typedef struct tern_st_writer tern_st_writer;

tern_st_writer *tern_st_writer_new(void);
void tern_st_writer_free(tern_st_writer *w);
/* Adds a tensor; data (nbytes = numel * dtype size, checked) is copied.
 * Names must be unique.  0 or -1 with a message. */
int tern_st_writer_add(tern_st_writer *w, const char *name, tern_st_dtype dtype, int ndim,
                       const uint64_t *shape, const void *data, uint64_t nbytes, char *err,
                       size_t errlen);
/* A "__metadata__" entry (string values only, as the format requires). */
int tern_st_writer_meta(tern_st_writer *w, const char *key, const char *value, char *err,
                        size_t errlen);
/* Writes the file (header padded with spaces to a multiple of 8 bytes, data
 * in the order the tensors were added) through a temporary file + rename. */
int tern_st_writer_write(const tern_st_writer *w, const char *path, char *err, size_t errlen);

/* ---- float elements (fp16 / bf16 through include/tern/half.h) --------------- */

/* Element i of a float tensor (F16, BF16, F32, F64), exactly, as a double;
 * the caller checked the dtype with tern_st_is_float. */
int tern_st_is_float(tern_st_dtype t);
double tern_st_get_double(const tern_st_tensor *t, uint64_t i);

#ifdef __cplusplus
}
#endif
#endif
