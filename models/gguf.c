/* GGUF v3 reader and writer, ggml tensor decoders and encoders
 * (include/tern/gguf.h; docs/GGUF.md has each layout fact with its source).
 *
 * The reader maps the file and parses it with one cursor that never reads
 * past the map: every fixed-size field goes through need(), every count or
 * length is compared with the bytes that remain before it is multiplied,
 * allocated or skipped.  Values are read byte by byte as little-endian, so
 * nothing depends on the host's byte order or on the alignment of the map. */
#include "tern/gguf.h"
#include "tern/half.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/err.h"

/* ---- little-endian bytes ----------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
/* a byte as a two's-complement int8 without an implementation-defined cast */
static int s8(uint8_t b) { return (int)b - ((b & 0x80) ? 256 : 0); }

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "tern: out of memory (%zu bytes)\n", n);
    abort();
  }
  return q;
}

/* ---- type tables -------------------------------------------------------------------- */

static const char *const VTYPE_NAME[TERN_GGUF_NVTYPES] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                          "int32",  "float32", "bool",   "string", "array",
                                                          "uint64", "int64",   "float64"};
static const uint8_t VTYPE_SIZE[TERN_GGUF_NVTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *tern_gguf_vtype_name(int t) { return t >= 0 && t < TERN_GGUF_NVTYPES ? VTYPE_NAME[t] : "?"; }
size_t tern_gguf_vtype_size(int t) { return t >= 0 && t < TERN_GGUF_NVTYPES ? VTYPE_SIZE[t] : 0; }

static int vtype_is_int(int t) {
  return t == TERN_GGUF_U8 || t == TERN_GGUF_I8 || t == TERN_GGUF_U16 || t == TERN_GGUF_I16 ||
         t == TERN_GGUF_U32 || t == TERN_GGUF_I32 || t == TERN_GGUF_U64 || t == TERN_GGUF_I64;
}
static int vtype_is_signed(int t) {
  return t == TERN_GGUF_I8 || t == TERN_GGUF_I16 || t == TERN_GGUF_I32 || t == TERN_GGUF_I64;
}

/* ggml types with their block: elements per block and bytes per block
 * (docs/GGUF.md "Tensor types": llama.cpp ggml-common.h block structs and
 * gguf-py constants.py GGML_QUANT_SIZES; I2_S from the BitNet fork, sized
 * specially). */
typedef struct {
  uint32_t type;
  const char *name;
  uint32_t blck, bytes;
} ggml_type_info;

/* clang-format off */
static const ggml_type_info GGML_TYPES[] = {
    {0, "f32", 1, 4},        {1, "f16", 1, 2},          {2, "q4_0", 32, 18},
    {3, "q4_1", 32, 20},     {6, "q5_0", 32, 22},       {7, "q5_1", 32, 24},
    {8, "q8_0", 32, 34},     {9, "q8_1", 32, 36},       {10, "q2_K", 256, 84},
    {11, "q3_K", 256, 110},  {12, "q4_K", 256, 144},    {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210},  {15, "q8_K", 256, 292},    {16, "iq2_xxs", 256, 66},
    {17, "iq2_xs", 256, 74}, {18, "iq3_xxs", 256, 98},  {19, "iq1_s", 256, 50},
    {20, "iq4_nl", 32, 18},  {21, "iq3_s", 256, 110},   {22, "iq2_s", 256, 82},
    {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},         {25, "i16", 1, 2},
    {26, "i32", 1, 4},       {27, "i64", 1, 8},         {28, "f64", 1, 8},
    {29, "iq1_m", 256, 56},  {30, "bf16", 1, 2},        {34, "tq1_0", 256, 54},
    {35, "tq2_0", 256, 66},  {36, "i2_s", 4, 1},
};
/* clang-format on */

static const ggml_type_info *ggml_info(uint32_t type) {
  for (size_t i = 0; i < sizeof GGML_TYPES / sizeof GGML_TYPES[0]; i++)
    if (GGML_TYPES[i].type == type) return &GGML_TYPES[i];
  return NULL;
}

const char *tern_ggml_type_name(uint32_t type) {
  const ggml_type_info *ti = ggml_info(type);
  return ti ? ti->name : NULL;
}

static const char *type_str(uint32_t type) {
  const char *n = tern_ggml_type_name(type);
  return n ? n : "unknown";
}

/* why a type number is refused (docs/GGUF.md "What the reader refuses") */
static const char *unknown_type_why(uint32_t type) {
  if (type == 4 || type == 5) return "Q4_2 / Q4_3, removed from ggml";
  if (type >= 31 && type <= 33) return "Q4_0_4_4 / 4_8 / 8_8, removed from GGUF files";
  if (type == 37) return "the BitNet fork's I8_S, an activation type never stored in files";
  if (type == 38 || type == 39)
    return "ambiguous: the BitNet fork's build-specific TL1 / TL2 or upstream ggml's MXFP4 (39)";
  return "not a ggml type tern knows";
}

int tern_ggml_nbytes(uint32_t type, uint64_t n, uint64_t *nbytes, const char *what, char *err,
                     size_t errlen) {
  const ggml_type_info *ti = ggml_info(type);
  if (!ti) return tern_err(err, errlen, "%s: ggml type %" PRIu32 " (%s)", what, type, unknown_type_why(type));
  if (n % ti->blck)
    return tern_err(err, errlen,
                    "%s: %" PRIu64 " elements of type %s: not a multiple of its %" PRIu32 "-element block",
                    what, n, ti->name, ti->blck);
  uint64_t nb = n / ti->blck;
  if (nb > UINT64_MAX / ti->bytes)
    return tern_err(err, errlen, "%s: %" PRIu64 " elements of type %s: the byte size overflows", what, n,
                    ti->name);
  nb *= ti->bytes;
  if (type == TERN_GGML_I2_S) nb += 32; /* the fork's ggml_nbytes: n/4 + 32 (fp32 scale + 28 reserved) */
  *nbytes = nb;
  return 0;
}

/* n = product of ne[0..n_dims-1], at most INT64_MAX (ggml's int64 element
 * counts); ne[0] a whole number of blocks (ggml rows are made of blocks);
 * *nbytes the byte size. */
static int shape_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne, uint64_t *n_out, uint64_t *nbytes,
                       const char *what, char *err, size_t errlen) {
  if (n_dims < 1 || n_dims > TERN_GGUF_MAX_DIMS)
    return tern_err(err, errlen, "%s: n_dims %" PRIu32 " (1..4 expected)", what, n_dims);
  uint64_t n = 1;
  for (uint32_t d = 0; d < n_dims; d++) {
    if (ne[d] < 1 || ne[d] > (uint64_t)INT64_MAX)
      return tern_err(err, errlen, "%s: ne[%" PRIu32 "] = %" PRIu64 " (1..%" PRId64 " expected)", what, d,
                      ne[d], INT64_MAX);
    if (n > (uint64_t)INT64_MAX / ne[d])
      return tern_err(err, errlen, "%s: the element count (ne[0..%" PRIu32 "] multiplied) exceeds %" PRId64,
                      what, d, INT64_MAX);
    n *= ne[d];
  }
  const ggml_type_info *ti = ggml_info(type);
  if (!ti) return tern_err(err, errlen, "%s: ggml type %" PRIu32 " (%s)", what, type, unknown_type_why(type));
  if (type != TERN_GGML_I2_S && ne[0] % ti->blck)
    return tern_err(err, errlen,
                    "%s: ne[0] = %" PRIu64 " is not a multiple of the %" PRIu32 "-element block of type %s",
                    what, ne[0], ti->blck, ti->name);
  if (tern_ggml_nbytes(type, n, nbytes, what, err, errlen)) return -1;
  *n_out = n;
  return 0;
}

/* ---- reader ------------------------------------------------------------------------- */

typedef struct {
  tern_gguf_kv pub;
  uint64_t *str_off; /* string arrays: offset from pub.data of element i's length prefix */
} kv_entry;

struct tern_gguf {
  char *path;
  const uint8_t *map;
  size_t size;
  uint32_t version, alignment;
  uint64_t data_offset;
  kv_entry *kv;
  size_t n_kv;
  tern_gguf_tensor *t;
  size_t n_t;
  size_t *kv_hash, kv_hcap; /* open addressing, index + 1, 0 = empty */
  size_t *t_hash, t_hcap;
};

static uint64_t fnv1a(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

static size_t hash_cap(size_t n) {
  size_t c = 8;
  while (c < 2 * n) c *= 2;
  return c;
}

/* the slot holding (p, n) or the empty slot where it would go */
static size_t *kv_slot(const tern_gguf *g, const char *p, size_t n) {
  size_t mask = g->kv_hcap - 1, i = (size_t)fnv1a(p, n) & mask;
  for (;; i = (i + 1) & mask) {
    size_t *s = &g->kv_hash[i];
    if (!*s) return s;
    const tern_gguf_str *k = &g->kv[*s - 1].pub.key;
    if (k->len == n && memcmp(k->ptr, p, n) == 0) return s;
  }
}
static size_t *t_slot(const tern_gguf *g, const char *p, size_t n) {
  size_t mask = g->t_hcap - 1, i = (size_t)fnv1a(p, n) & mask;
  for (;; i = (i + 1) & mask) {
    size_t *s = &g->t_hash[i];
    if (!*s) return s;
    const char *name = g->t[*s - 1].name;
    if (strlen(name) == n && memcmp(name, p, n) == 0) return s;
  }
}

/* A key or name from the file, printable and bounded, for messages. */
static const char *show(const char *p, size_t n, char *buf, size_t bufn) {
  size_t o = 0, lim = n < 80 ? n : 80;
  for (size_t i = 0; i < lim && o + 1 < bufn; i++) {
    unsigned char c = (unsigned char)p[i];
    buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  if (n > lim && o + 4 < bufn) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
  return buf;
}

typedef struct {
  tern_gguf *g;
  size_t pos;
  char *err;
  size_t errlen;
} cursor;

static size_t remain(const cursor *c) { return c->g->size - c->pos; }

/* n bytes must remain for `field` of `ctx` */
static int need(cursor *c, uint64_t n, const char *ctx, const char *field) {
  if (n <= remain(c)) return 0;
  return tern_err(c->err, c->errlen,
                  "%s: %s: %s at byte offset %zu needs %" PRIu64 " bytes, the file has %zu left (truncated?)",
                  c->g->path, ctx, field, c->pos, n, remain(c));
}
static int get32(cursor *c, uint32_t *v, const char *ctx, const char *field) {
  if (need(c, 4, ctx, field)) return -1;
  *v = rd32(c->g->map + c->pos);
  c->pos += 4;
  return 0;
}
static int get64(cursor *c, uint64_t *v, const char *ctx, const char *field) {
  if (need(c, 8, ctx, field)) return -1;
  *v = rd64(c->g->map + c->pos);
  c->pos += 8;
  return 0;
}
/* a gguf_string: uint64 length + bytes (not NUL-terminated) */
static int get_str(cursor *c, tern_gguf_str *s, const char *ctx, const char *field) {
  uint64_t len;
  char f[96];
  snprintf(f, sizeof f, "%s length", field);
  if (get64(c, &len, ctx, f)) return -1;
  if (len > remain(c))
    return tern_err(c->err, c->errlen,
                    "%s: %s: %s of %" PRIu64
                    " bytes at byte offset %zu exceeds the %zu bytes left in the file",
                    c->g->path, ctx, field, len, c->pos, remain(c));
  s->ptr = (const char *)c->g->map + c->pos;
  s->len = (size_t)len;
  c->pos += (size_t)len;
  return 0;
}

/* bool values are one byte, 0 or 1 (the GGUF spec: anything else is invalid) */
static int check_bools(cursor *c, const uint8_t *p, uint64_t n, const char *ctx) {
  for (uint64_t i = 0; i < n; i++)
    if (p[i] > 1)
      return tern_err(c->err, c->errlen, "%s: %s: bool value %u at byte offset %zu (0 or 1 expected)",
                      c->g->path, ctx, p[i], (size_t)(p + i - c->g->map));
  return 0;
}

/* minimum bytes of one key/value (8-byte length, 1-byte key, type, 1-byte
 * value) and of one tensor info (8-byte length, 1-byte name, n_dims, one
 * dimension, type, offset): header counts are checked against these */
#define MIN_KV_BYTES 14u
#define MIN_TINFO_BYTES 33u

static int parse_kv(cursor *c, size_t i, kv_entry *e) {
  tern_gguf *g = c->g;
  char ctx[160], sb[100];
  snprintf(ctx, sizeof ctx, "key %zu", i);
  if (get_str(c, &e->pub.key, ctx, "key")) return -1;
  tern_gguf_str k = e->pub.key;
  if (k.len == 0) return tern_err(c->err, c->errlen, "%s: key %zu is empty", g->path, i);
  if (k.len > TERN_GGUF_KEY_MAX)
    return tern_err(c->err, c->errlen, "%s: key %zu ('%s') is %zu bytes long (at most %d)", g->path, i,
                    show(k.ptr, k.len, sb, sizeof sb), k.len, TERN_GGUF_KEY_MAX);
  if (memchr(k.ptr, 0, k.len))
    return tern_err(c->err, c->errlen, "%s: key %zu ('%s') contains a NUL byte", g->path, i,
                    show(k.ptr, k.len, sb, sizeof sb));
  snprintf(ctx, sizeof ctx, "key '%s'", show(k.ptr, k.len, sb, sizeof sb));
  size_t *slot = kv_slot(g, k.ptr, k.len);
  if (*slot)
    return tern_err(c->err, c->errlen, "%s: %s appears twice (key %zu and key %zu)", g->path, ctx, *slot - 1,
                    i);
  uint32_t type, elem;
  if (get32(c, &type, ctx, "value type")) return -1;
  if (type >= TERN_GGUF_NVTYPES)
    return tern_err(c->err, c->errlen, "%s: %s: value type %" PRIu32 " (0..12 expected)", g->path, ctx, type);
  uint64_t count = 1;
  elem = type;
  if (type == TERN_GGUF_ARRAY) {
    if (get32(c, &elem, ctx, "array element type")) return -1;
    if (elem == TERN_GGUF_ARRAY)
      return tern_err(c->err, c->errlen,
                      "%s: %s: array of arrays (nested arrays are refused: no standard key uses them)",
                      g->path, ctx);
    if (elem >= TERN_GGUF_NVTYPES)
      return tern_err(c->err, c->errlen, "%s: %s: array element type %" PRIu32 " (0..12 expected)", g->path,
                      ctx, elem);
    if (get64(c, &count, ctx, "array length")) return -1;
  }
  e->pub.type = (int)type;
  e->pub.elem_type = (int)elem;
  e->pub.count = count;
  e->pub.data = g->map + c->pos;
  size_t start = c->pos;
  if (elem == TERN_GGUF_STRING && type == TERN_GGUF_ARRAY) {
    /* every element takes at least its 8-byte length */
    if (count > remain(c) / 8)
      return tern_err(c->err, c->errlen,
                      "%s: %s: array of %" PRIu64 " strings cannot fit in the %zu bytes left in the file",
                      g->path, ctx, count, remain(c));
    if (count) {
      e->str_off = malloc((size_t)count * sizeof *e->str_off);
      if (!e->str_off)
        return tern_err(c->err, c->errlen, "%s: %s: out of memory for %" PRIu64 " strings", g->path, ctx,
                        count);
    }
    for (uint64_t j = 0; j < count; j++) {
      e->str_off[j] = c->pos - start;
      uint64_t len = remain(c) >= 8 ? rd64(g->map + c->pos) : 0;
      if (remain(c) < 8 || len > remain(c) - 8) { /* the message only now (vocabularies are long) */
        tern_gguf_str s;
        char f[48];
        snprintf(f, sizeof f, "string %" PRIu64, j);
        return get_str(c, &s, ctx, f);
      }
      c->pos += 8 + (size_t)len;
    }
  } else if (elem == TERN_GGUF_STRING) {
    tern_gguf_str s;
    if (get_str(c, &s, ctx, "string value")) return -1;
    e->pub.data = (const uint8_t *)s.ptr;
    start = c->pos - s.len; /* nbytes: the characters only */
  } else {
    uint64_t sz = VTYPE_SIZE[elem];
    if (count > remain(c) / sz)
      return tern_err(c->err, c->errlen,
                      "%s: %s: %s of %" PRIu64 " %s values (%" PRIu64
                      " bytes each) exceeds the %zu bytes left in the file",
                      g->path, ctx, type == TERN_GGUF_ARRAY ? "array" : "value", count, VTYPE_NAME[elem], sz,
                      remain(c));
    if (need(c, count * sz, ctx, "value")) return -1;
    if (elem == TERN_GGUF_BOOL && check_bools(c, g->map + c->pos, count, ctx)) return -1;
    c->pos += (size_t)(count * sz);
  }
  e->pub.nbytes = (uint64_t)(c->pos - start);
  *slot = i + 1;
  return 0;
}

static int parse_tensor_info(cursor *c, size_t i, tern_gguf_tensor *t) {
  tern_gguf *g = c->g;
  char ctx[160], sb[100];
  snprintf(ctx, sizeof ctx, "tensor %zu", i);
  tern_gguf_str name;
  if (get_str(c, &name, ctx, "name")) return -1;
  if (name.len == 0) return tern_err(c->err, c->errlen, "%s: tensor %zu has an empty name", g->path, i);
  if (name.len >= TERN_GGUF_NAME_MAX)
    return tern_err(c->err, c->errlen,
                    "%s: tensor %zu: name '%s' is %zu bytes long (at most %d: ggml's GGML_MAX_NAME)", g->path,
                    i, show(name.ptr, name.len, sb, sizeof sb), name.len, TERN_GGUF_NAME_MAX - 1);
  if (memchr(name.ptr, 0, name.len))
    return tern_err(c->err, c->errlen, "%s: tensor %zu: name '%s' contains a NUL byte", g->path, i,
                    show(name.ptr, name.len, sb, sizeof sb));
  memcpy(t->name, name.ptr, name.len);
  t->name[name.len] = 0;
  snprintf(ctx, sizeof ctx, "tensor '%s'", show(name.ptr, name.len, sb, sizeof sb));
  size_t *slot = t_slot(g, name.ptr, name.len);
  if (*slot)
    return tern_err(c->err, c->errlen, "%s: %s appears twice (tensor %zu and tensor %zu)", g->path, ctx,
                    *slot - 1, i);
  if (get32(c, &t->n_dims, ctx, "n_dims")) return -1;
  if (t->n_dims < 1 || t->n_dims > TERN_GGUF_MAX_DIMS)
    return tern_err(c->err, c->errlen, "%s: %s: n_dims %" PRIu32 " (1..4 expected)", g->path, ctx, t->n_dims);
  for (uint32_t d = 0; d < TERN_GGUF_MAX_DIMS; d++) {
    t->ne[d] = 1;
    if (d < t->n_dims && get64(c, &t->ne[d], ctx, "ne")) return -1;
  }
  if (get32(c, &t->type, ctx, "type")) return -1;
  char what[300];
  snprintf(what, sizeof what, "%s: %s", g->path, ctx);
  if (shape_bytes(t->type, t->n_dims, t->ne, &t->n_elements, &t->nbytes, what, c->err, c->errlen)) return -1;
  if (get64(c, &t->offset, ctx, "offset")) return -1;
  if (t->offset % g->alignment)
    return tern_err(c->err, c->errlen,
                    "%s: %s: offset %" PRIu64 " is not a multiple of the alignment %" PRIu32, g->path, ctx,
                    t->offset, g->alignment);
  *slot = i + 1;
  return 0;
}

typedef struct {
  uint64_t off, end;
  size_t i;
} span;

static int span_cmp(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off ? 1 : (x->i > y->i) - (x->i < y->i);
}

static int parse(tern_gguf *g, char *err, size_t errlen) {
  cursor c = {g, 0, err, errlen};
  const uint8_t *m = g->map;
  if (need(&c, 4, "header", "magic")) return -1;
  if (memcmp(m, "GGUF", 4) != 0) {
    char sb[8];
    return tern_err(
        err, errlen,
        "%s: bad magic '%s' (bytes %02x %02x %02x %02x; a GGUF file starts with 47 47 55 46 \"GGUF\")",
        g->path, show((const char *)m, 4, sb, sizeof sb), m[0], m[1], m[2], m[3]);
  }
  c.pos = 4;
  if (get32(&c, &g->version, "header", "version")) return -1;
  if (g->version == 1)
    return tern_err(
        err, errlen,
        "%s: GGUF version 1 is not supported (its counts and lengths are 32-bit; versions 2 and 3 are read)",
        g->path);
  if (g->version != 2 && g->version != 3) {
    if (g->version && !(g->version & 0xffff))
      return tern_err(err, errlen,
                      "%s: GGUF version 0x%08" PRIx32
                      " reads byte-swapped: a big-endian file? (only little-endian "
                      "versions 2 and 3 are read)",
                      g->path, g->version);
    return tern_err(err, errlen, "%s: GGUF version %" PRIu32 " (2 or 3 expected)", g->path, g->version);
  }
  uint64_t n_t, n_kv;
  if (get64(&c, &n_t, "header", "tensor count")) return -1;
  if (get64(&c, &n_kv, "header", "key/value count")) return -1;
  if (n_kv > remain(&c) / MIN_KV_BYTES)
    return tern_err(err, errlen,
                    "%s: key/value count %" PRIu64
                    " cannot fit in the %zu bytes after the header (each takes at least %u)",
                    g->path, n_kv, remain(&c), MIN_KV_BYTES);
  if (n_t > remain(&c) / MIN_TINFO_BYTES || n_kv * MIN_KV_BYTES + n_t * MIN_TINFO_BYTES > remain(&c))
    return tern_err(err, errlen,
                    "%s: tensor count %" PRIu64 " cannot fit in the %zu bytes after the header and %" PRIu64
                    " key/values (each tensor info takes at least %u)",
                    g->path, n_t, remain(&c), n_kv, MIN_TINFO_BYTES);

  /* key/values */
  g->kv_hcap = hash_cap((size_t)n_kv);
  g->kv_hash = calloc(g->kv_hcap, sizeof *g->kv_hash);
  g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
  if (!g->kv_hash || !g->kv)
    return tern_err(err, errlen, "%s: out of memory for %" PRIu64 " key/values", g->path, n_kv);
  for (size_t i = 0; i < (size_t)n_kv; i++) {
    g->n_kv = i + 1; /* so close() frees a partly parsed entry */
    if (parse_kv(&c, i, &g->kv[i])) return -1;
  }

  /* general.alignment: uint32, a power of two (default 32) */
  g->alignment = TERN_GGUF_DEFAULT_ALIGNMENT;
  const tern_gguf_kv *al = tern_gguf_find_kv(g, "general.alignment");
  if (al) {
    if (al->type != TERN_GGUF_U32)
      return tern_err(err, errlen, "%s: key 'general.alignment': type %s, expected uint32", g->path,
                      tern_gguf_vtype_name(al->type));
    uint32_t a = rd32(al->data);
    if (a == 0 || (a & (a - 1)))
      return tern_err(err, errlen, "%s: key 'general.alignment': %" PRIu32 " is not a power of two", g->path,
                      a);
    g->alignment = a;
  }

  /* tensor infos */
  g->t_hcap = hash_cap((size_t)n_t);
  g->t_hash = calloc(g->t_hcap, sizeof *g->t_hash);
  g->t = calloc(n_t ? (size_t)n_t : 1, sizeof *g->t);
  if (!g->t_hash || !g->t)
    return tern_err(err, errlen, "%s: out of memory for %" PRIu64 " tensors", g->path, n_t);
  for (size_t i = 0; i < (size_t)n_t; i++)
    if (parse_tensor_info(&c, i, &g->t[i])) return -1;
  g->n_t = (size_t)n_t;

  /* the data section starts at the next multiple of the alignment */
  size_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
  if (n_t && pad > remain(&c))
    return tern_err(err, errlen,
                    "%s: the data section would start at byte %" PRIu64
                    " (tensor infos end at %zu, alignment %" PRIu32 "), past the end of the file (%zu bytes)",
                    g->path, (uint64_t)c.pos + pad, c.pos, g->alignment, g->size);
  g->data_offset = pad > remain(&c) ? g->size : c.pos + pad;
  uint64_t data_size = g->size - g->data_offset;
  for (size_t i = 0; i < g->n_t; i++) {
    tern_gguf_tensor *t = &g->t[i];
    char sb[100];
    if (t->offset > data_size || t->nbytes > data_size - t->offset)
      return tern_err(err, errlen,
                      "%s: tensor '%s': offset %" PRIu64 " + %" PRIu64
                      " bytes exceeds the data section (%" PRIu64 " bytes)",
                      g->path, show(t->name, strlen(t->name), sb, sizeof sb), t->offset, t->nbytes,
                      data_size);
    t->data = m + g->data_offset + t->offset;
  }
  /* no two tensors share bytes */
  if (g->n_t > 1) {
    span *s = malloc(g->n_t * sizeof *s);
    if (!s) return tern_err(err, errlen, "%s: out of memory", g->path);
    for (size_t i = 0; i < g->n_t; i++) s[i] = (span){g->t[i].offset, g->t[i].offset + g->t[i].nbytes, i};
    qsort(s, g->n_t, sizeof *s, span_cmp);
    for (size_t i = 0; i + 1 < g->n_t; i++)
      if (s[i].end > s[i + 1].off) {
        const tern_gguf_tensor *a = &g->t[s[i].i], *b = &g->t[s[i + 1].i];
        char sa[100], sb[100];
        tern_err(err, errlen,
                 "%s: tensors '%s' (offset %" PRIu64 ", %" PRIu64 " bytes) and '%s' (offset %" PRIu64
                 ") overlap",
                 g->path, show(a->name, strlen(a->name), sa, sizeof sa), a->offset, a->nbytes,
                 show(b->name, strlen(b->name), sb, sizeof sb), b->offset);
        free(s);
        return -1;
      }
    free(s);
  }
  return 0;
}

void tern_gguf_close(tern_gguf *g) {
  if (!g) return;
  if (g->map) munmap((void *)g->map, g->size);
  for (size_t i = 0; i < g->n_kv; i++) free(g->kv[i].str_off);
  free(g->kv);
  free(g->kv_hash);
  free(g->t);
  free(g->t_hash);
  free(g->path);
  free(g);
}

tern_gguf *tern_gguf_open(const char *path, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  tern_gguf *g = calloc(1, sizeof *g);
  size_t pl = strlen(path);
  char *pc = malloc(pl + 1);
  if (!g || !pc) {
    free(g);
    free(pc);
    tern_err(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  memcpy(pc, path, pl + 1);
  g->path = pc;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    tern_gguf_close(g);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    tern_err(err, errlen, "%s: not a regular file", path);
    close(fd);
    tern_gguf_close(g);
    return NULL;
  }
  if (st.st_size < 24) {
    tern_err(err, errlen, "%s: %lld bytes, shorter than the 24-byte GGUF header (magic, version, counts)",
             path, (long long)st.st_size);
    close(fd);
    tern_gguf_close(g);
    return NULL;
  }
  if ((uint64_t)st.st_size > SIZE_MAX) {
    tern_err(err, errlen, "%s: %lld bytes do not fit the address space", path, (long long)st.st_size);
    close(fd);
    tern_gguf_close(g);
    return NULL;
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int mmap_errno = errno;
  close(fd);
  if (m == MAP_FAILED) {
    tern_err(err, errlen, "%s: cannot map %lld bytes: %s", path, (long long)st.st_size, strerror(mmap_errno));
    tern_gguf_close(g);
    return NULL;
  }
  g->map = m;
  g->size = (size_t)st.st_size;
  if (parse(g, err, errlen)) {
    tern_gguf_close(g);
    return NULL;
  }
  return g;
}

const char *tern_gguf_path(const tern_gguf *g) { return g->path; }
uint32_t tern_gguf_version(const tern_gguf *g) { return g->version; }
uint32_t tern_gguf_alignment(const tern_gguf *g) { return g->alignment; }
uint64_t tern_gguf_data_offset(const tern_gguf *g) { return g->data_offset; }
uint64_t tern_gguf_file_size(const tern_gguf *g) { return g->size; }
size_t tern_gguf_n_kv(const tern_gguf *g) { return g->n_kv; }
size_t tern_gguf_n_tensors(const tern_gguf *g) { return g->n_t; }

const tern_gguf_kv *tern_gguf_kv_at(const tern_gguf *g, size_t i) {
  return i < g->n_kv ? &g->kv[i].pub : NULL;
}

const tern_gguf_kv *tern_gguf_find_kv(const tern_gguf *g, const char *key) {
  if (!g->kv_hcap) return NULL;
  size_t *s = kv_slot(g, key, strlen(key));
  return *s ? &g->kv[*s - 1].pub : NULL;
}

const tern_gguf_tensor *tern_gguf_tensor_at(const tern_gguf *g, size_t i) {
  return i < g->n_t ? &g->t[i] : NULL;
}

const tern_gguf_tensor *tern_gguf_find_tensor(const tern_gguf *g, const char *name) {
  if (!g->t_hcap) return NULL;
  size_t *s = t_slot(g, name, strlen(name));
  return *s ? &g->t[*s - 1] : NULL;
}

int tern_gguf_get_tensor(const tern_gguf *g, const char *name, const tern_gguf_tensor **t, char *err,
                         size_t errlen) {
  *t = tern_gguf_find_tensor(g, name);
  if (!*t) return tern_err(err, errlen, "%s: no tensor '%s' (%zu tensors)", g->path, name, g->n_t);
  return 0;
}

/* ---- typed getters ------------------------------------------------------------------ */

static const tern_gguf_kv *find_or_err(const tern_gguf *g, const char *key, char *err, size_t errlen) {
  const tern_gguf_kv *kv = tern_gguf_find_kv(g, key);
  if (!kv) tern_err(err, errlen, "%s: key '%s' not found", g->path, key);
  return kv;
}

static int type_err(const tern_gguf *g, const char *key, const tern_gguf_kv *kv, const char *want, char *err,
                    size_t errlen) {
  if (kv->type == TERN_GGUF_ARRAY)
    return tern_err(err, errlen, "%s: key '%s': type array of %s, expected %s", g->path, key,
                    tern_gguf_vtype_name(kv->elem_type), want);
  return tern_err(err, errlen, "%s: key '%s': type %s, expected %s", g->path, key,
                  tern_gguf_vtype_name(kv->type), want);
}

/* an integer value in [lo, hi]: *neg and *mag give it (value = neg ? -mag : mag) */
static int get_int(const tern_gguf *g, const char *key, const char *want, int64_t lo, uint64_t hi, int *neg,
                   uint64_t *mag, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (!kv) return -1;
  if (!vtype_is_int(kv->type)) return type_err(g, key, kv, want, err, errlen);
  const uint8_t *p = kv->data;
  uint64_t u;
  switch (VTYPE_SIZE[kv->type]) {
    case 1: u = p[0]; break;
    case 2: u = rd16(p); break;
    case 4: u = rd32(p); break;
    default: u = rd64(p); break;
  }
  int bits = 8 * VTYPE_SIZE[kv->type];
  *neg = vtype_is_signed(kv->type) && (u >> (bits - 1)) & 1;
  if (*neg) /* two's complement magnitude, in unsigned arithmetic */
    *mag = (bits == 64 ? 0 - u : ((uint64_t)1 << bits) - u);
  else
    *mag = u;
  int ok = *neg ? (lo < 0 && *mag <= (uint64_t)(-(lo + 1)) + 1) : *mag <= hi;
  if (!ok) {
    if (*neg)
      return tern_err(err, errlen,
                      "%s: key '%s': value -%" PRIu64 " (%s) is out of range for %s [%" PRId64 ", %" PRIu64
                      "]",
                      g->path, key, *mag, VTYPE_NAME[kv->type], want, lo, hi);
    return tern_err(err, errlen,
                    "%s: key '%s': value %" PRIu64 " (%s) is out of range for %s [%" PRId64 ", %" PRIu64 "]",
                    g->path, key, *mag, VTYPE_NAME[kv->type], want, lo, hi);
  }
  return 0;
}

int tern_gguf_get_u32(const tern_gguf *g, const char *key, uint32_t *v, char *err, size_t errlen) {
  int neg = 0;
  uint64_t mag = 0;
  if (get_int(g, key, "uint32", 0, UINT32_MAX, &neg, &mag, err, errlen)) return -1;
  *v = (uint32_t)mag;
  return 0;
}
int tern_gguf_get_u64(const tern_gguf *g, const char *key, uint64_t *v, char *err, size_t errlen) {
  int neg = 0;
  uint64_t mag = 0;
  if (get_int(g, key, "uint64", 0, UINT64_MAX, &neg, &mag, err, errlen)) return -1;
  *v = mag;
  return 0;
}
static int64_t signed_of(int neg, uint64_t mag) {
  return neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
}
int tern_gguf_get_i32(const tern_gguf *g, const char *key, int32_t *v, char *err, size_t errlen) {
  int neg = 0;
  uint64_t mag = 0;
  if (get_int(g, key, "int32", INT32_MIN, INT32_MAX, &neg, &mag, err, errlen)) return -1;
  *v = (int32_t)signed_of(neg, mag);
  return 0;
}
int tern_gguf_get_i64(const tern_gguf *g, const char *key, int64_t *v, char *err, size_t errlen) {
  int neg = 0;
  uint64_t mag = 0;
  if (get_int(g, key, "int64", INT64_MIN, INT64_MAX, &neg, &mag, err, errlen)) return -1;
  *v = signed_of(neg, mag);
  return 0;
}

int tern_gguf_get_f64(const tern_gguf *g, const char *key, double *v, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (!kv) return -1;
  if (kv->type == TERN_GGUF_F32) {
    *v = bits_f32(rd32(kv->data));
    return 0;
  }
  if (kv->type != TERN_GGUF_F64) return type_err(g, key, kv, "float64 (or float32)", err, errlen);
  uint64_t u = rd64(kv->data);
  memcpy(v, &u, sizeof *v);
  return 0;
}

int tern_gguf_get_f32(const tern_gguf *g, const char *key, float *v, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (!kv) return -1;
  if (kv->type == TERN_GGUF_F32) {
    *v = bits_f32(rd32(kv->data));
    return 0;
  }
  if (kv->type != TERN_GGUF_F64) return type_err(g, key, kv, "float32", err, errlen);
  double d;
  uint64_t u = rd64(kv->data);
  memcpy(&d, &u, sizeof d);
  if (isnan(d)) {
    *v = (float)d;
    return 0;
  }
  if (isinf(d) || (fabs(d) <= 3.4028234663852886e38 && (double)(float)d == d)) {
    *v = (float)d;
    return 0;
  }
  return tern_err(err, errlen, "%s: key '%s': float64 value %.17g is not exactly a float32", g->path, key, d);
}

int tern_gguf_get_bool(const tern_gguf *g, const char *key, int *v, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (!kv) return -1;
  if (kv->type != TERN_GGUF_BOOL) return type_err(g, key, kv, "bool", err, errlen);
  *v = kv->data[0];
  return 0;
}

int tern_gguf_get_str(const tern_gguf *g, const char *key, tern_gguf_str *v, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (!kv) return -1;
  if (kv->type != TERN_GGUF_STRING) return type_err(g, key, kv, "string", err, errlen);
  v->ptr = (const char *)kv->data;
  v->len = (size_t)kv->nbytes;
  return 0;
}

static const tern_gguf_kv *find_arr(const tern_gguf *g, const char *key, char *err, size_t errlen) {
  const tern_gguf_kv *kv = find_or_err(g, key, err, errlen);
  if (kv && kv->type != TERN_GGUF_ARRAY) {
    type_err(g, key, kv, "array", err, errlen);
    return NULL;
  }
  return kv;
}

int tern_gguf_get_arr(const tern_gguf *g, const char *key, int *elem_type, uint64_t *count, char *err,
                      size_t errlen) {
  const tern_gguf_kv *kv = find_arr(g, key, err, errlen);
  if (!kv) return -1;
  *elem_type = kv->elem_type;
  *count = kv->count;
  return 0;
}

int tern_gguf_arr_str(const tern_gguf *g, const char *key, uint64_t i, tern_gguf_str *v, char *err,
                      size_t errlen) {
  const tern_gguf_kv *kv = find_arr(g, key, err, errlen);
  if (!kv) return -1;
  if (kv->elem_type != TERN_GGUF_STRING)
    return tern_err(err, errlen, "%s: key '%s': array of %s, expected array of string", g->path, key,
                    tern_gguf_vtype_name(kv->elem_type));
  if (i >= kv->count)
    return tern_err(err, errlen, "%s: key '%s': index %" PRIu64 " out of range (%" PRIu64 " strings)",
                    g->path, key, i, kv->count);
  const kv_entry *e = (const kv_entry *)kv; /* pub is the first member */
  const uint8_t *p = kv->data + e->str_off[i];
  v->len = (size_t)rd64(p);
  v->ptr = (const char *)p + 8;
  return 0;
}

const void *tern_gguf_arr_data(const tern_gguf *g, const char *key, int elem_type, uint64_t *count, char *err,
                               size_t errlen) {
  const tern_gguf_kv *kv = find_arr(g, key, err, errlen);
  if (!kv) return NULL;
  if (kv->elem_type != elem_type || !tern_gguf_vtype_size(elem_type)) {
    tern_err(err, errlen, "%s: key '%s': array of %s, expected array of %s", g->path, key,
             tern_gguf_vtype_name(kv->elem_type), tern_gguf_vtype_name(elem_type));
    return NULL;
  }
  *count = kv->count;
  return kv->data;
}

/* ---- decoders ----------------------------------------------------------------------- */

static int check_len(uint32_t type, uint64_t nbytes, uint64_t n, const char *what, char *err, size_t errlen) {
  uint64_t want;
  if (tern_ggml_nbytes(type, n, &want, what, err, errlen)) return -1;
  if (nbytes != want)
    return tern_err(err, errlen, "%s: %" PRIu64 " bytes, but %" PRIu64 " elements of type %s take %" PRIu64,
                    what, nbytes, n, type_str(type), want);
  return 0;
}

int tern_ggml_to_f32(uint32_t type, const void *src, uint64_t nbytes, uint64_t n, float *out,
                     const char *what, char *err, size_t errlen) {
  if (type != TERN_GGML_F32 && type != TERN_GGML_F16 && type != TERN_GGML_BF16 && type != TERN_GGML_Q8_0 &&
      type != TERN_GGML_I8)
    return tern_err(err, errlen, "%s: type %s has no float32 decoder (F32, F16, BF16, Q8_0 and I8 have)",
                    what, type_str(type));
  if (check_len(type, nbytes, n, what, err, errlen)) return -1;
  const uint8_t *p = src;
  switch (type) {
    case TERN_GGML_F32:
      for (uint64_t i = 0; i < n; i++) out[i] = bits_f32(rd32(p + 4 * i));
      break;
    case TERN_GGML_F16:
      for (uint64_t i = 0; i < n; i++) out[i] = tern_f16_to_f32(rd16(p + 2 * i));
      break;
    case TERN_GGML_BF16:
      for (uint64_t i = 0; i < n; i++) out[i] = tern_bf16_to_f32(rd16(p + 2 * i));
      break;
    case TERN_GGML_I8:
      for (uint64_t i = 0; i < n; i++) out[i] = (float)s8(p[i]);
      break;
    default: /* Q8_0: blocks of fp16 d + 32 int8, value = q * d */
      for (uint64_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = p + 34 * b;
        float d = tern_f16_to_f32(rd16(blk));
        for (int j = 0; j < 32; j++) out[32 * b + (uint64_t)j] = (float)s8(blk[2 + j]) * d;
      }
      break;
  }
  return 0;
}

/* trit n (0 = most significant) of a TQ1_0 byte holding ceil(q * 256 / 243) */
static int tq1_trit(uint8_t b, int n) {
  static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
  uint8_t q = (uint8_t)(b * pow3[n]); /* drops the higher trits (mod 256) */
  return (int)(((unsigned)q * 3u) >> 8);
}

/* one scale per matrix: all blocks that are not all zero share d */
typedef struct {
  int have;
  uint64_t block;
  uint16_t bits;
  float d;
  uint16_t first_bits;
} scale_check;

static int block_scale(scale_check *s, const char *fmt_name, uint64_t b, uint16_t bits, int nonzero,
                       const char *what, char *err, size_t errlen) {
  if (b == 0) s->first_bits = bits;
  if (!nonzero) return 0;
  float d = tern_f16_to_f32(bits);
  if (!isfinite(d))
    return tern_err(err, errlen, "%s: %s block %" PRIu64 " has a non-finite scale d (fp16 0x%04x)", what,
                    fmt_name, b, bits);
  if (!s->have) {
    s->have = 1;
    s->block = b;
    s->bits = bits;
    s->d = d;
  } else if (d != s->d) {
    return tern_err(err, errlen,
                    "%s: %s block %" PRIu64 " has scale d %.9g (fp16 0x%04x) but block %" PRIu64
                    " has %.9g (0x%04x): tern needs one scale per matrix",
                    what, fmt_name, b, (double)d, bits, s->block, (double)s->d, s->bits);
  }
  return 0;
}

static float final_scale(const scale_check *s) {
  if (s->have) return s->d;
  float d = tern_f16_to_f32(s->first_bits); /* all zero: any finite d will do */
  return isfinite(d) ? d : 0.0f;
}

int tern_ggml_to_ternary(uint32_t type, const void *src, uint64_t nbytes, uint64_t n, int8_t *out,
                         float *scale, const char *what, char *err, size_t errlen) {
  if (type != TERN_GGML_TQ1_0 && type != TERN_GGML_TQ2_0 && type != TERN_GGML_I2_S)
    return tern_err(err, errlen, "%s: type %s has no ternary decoder (TQ1_0, TQ2_0 and I2_S have)", what,
                    type_str(type));
  if (type == TERN_GGML_I2_S && n % 128)
    return tern_err(err, errlen,
                    "%s: I2_S with %" PRIu64
                    " elements: the fork's quantize_i2_s packs whole 128-element blocks",
                    what, n);
  if (check_len(type, nbytes, n, what, err, errlen)) return -1;
  const uint8_t *p = src;
  if (type == TERN_GGML_I2_S) {
    /* 32-byte blocks of 128 codes: element 32 g + j of a block in bits
     * 7-6 (g 0), 5-4, 3-2, 1-0 (g 3) of byte j; code 0, 1, 2 = -1, 0, +1 */
    for (uint64_t b = 0; b < n / 128; b++)
      for (int j = 0; j < 32; j++) {
        uint8_t byte = p[32 * b + (uint64_t)j];
        for (int gi = 0; gi < 4; gi++) {
          int code = (byte >> (6 - 2 * gi)) & 3;
          uint64_t e = 128 * b + 32 * (uint64_t)gi + (uint64_t)j;
          if (code == 3)
            return tern_err(err, errlen,
                            "%s: I2_S code 3 at element %" PRIu64 " (byte %" PRIu64
                            "): quantize_i2_s writes only 0, 1, 2",
                            what, e, 32 * b + (uint64_t)j);
          out[e] = (int8_t)(code - 1);
        }
      }
    float s = bits_f32(rd32(p + n / 4));
    if (!isfinite(s)) return tern_err(err, errlen, "%s: I2_S scale %g is not finite", what, (double)s);
    *scale = s;
    return 0;
  }
  scale_check sc = {0, 0, 0, 0.0f, 0};
  if (type == TERN_GGML_TQ2_0) {
    /* 66-byte blocks: qs[64], fp16 d.  Element 128 h + 32 l + m in bits
     * 2l..2l+1 of qs[32 h + m]; code 0, 1, 2 = -1, 0, +1 */
    for (uint64_t b = 0; b < n / 256; b++) {
      const uint8_t *blk = p + 66 * b;
      int8_t *o = out + 256 * b;
      int nonzero = 0;
      for (int h = 0; h < 2; h++)
        for (int l = 0; l < 4; l++)
          for (int m = 0; m < 32; m++) {
            int code = (blk[32 * h + m] >> (2 * l)) & 3;
            if (code == 3)
              return tern_err(err, errlen,
                              "%s: TQ2_0 block %" PRIu64 " holds code 3 at element %" PRIu64
                              " (0, 1, 2 = -1, 0, +1)",
                              what, b, 256 * b + (uint64_t)(128 * h + 32 * l + m));
            o[128 * h + 32 * l + m] = (int8_t)(code - 1);
            nonzero |= code != 1;
          }
      if (block_scale(&sc, "TQ2_0", b, rd16(blk + 64), nonzero, what, err, errlen)) return -1;
    }
  } else {
    /* 54-byte blocks: qs[48], qh[4], fp16 d.  Five trits per qs byte,
     * four per qh byte, most significant first (docs/GGUF.md "TQ1_0") */
    for (uint64_t b = 0; b < n / 256; b++) {
      const uint8_t *blk = p + 54 * b;
      int8_t *o = out + 256 * b;
      for (int t = 0; t < 5; t++) {
        for (int m = 0; m < 32; m++) o[32 * t + m] = (int8_t)(tq1_trit(blk[m], t) - 1);
        for (int m = 0; m < 16; m++) o[160 + 16 * t + m] = (int8_t)(tq1_trit(blk[32 + m], t) - 1);
      }
      for (int t = 0; t < 4; t++)
        for (int j = 0; j < 4; j++) o[240 + 4 * t + j] = (int8_t)(tq1_trit(blk[48 + j], t) - 1);
      int nonzero = 0;
      for (int k = 0; k < 256; k++) nonzero |= o[k] != 0;
      if (block_scale(&sc, "TQ1_0", b, rd16(blk + 52), nonzero, what, err, errlen)) return -1;
    }
  }
  *scale = final_scale(&sc);
  return 0;
}

static void tensor_what(const tern_gguf *g, const tern_gguf_tensor *t, char *buf, size_t n) {
  char sb[100];
  snprintf(buf, n, "%s: tensor '%s'", g->path, show(t->name, strlen(t->name), sb, sizeof sb));
}

int tern_gguf_decode_f32(const tern_gguf *g, const tern_gguf_tensor *t, float *out, char *err,
                         size_t errlen) {
  char what[700];
  tensor_what(g, t, what, sizeof what);
  return tern_ggml_to_f32(t->type, t->data, t->nbytes, t->n_elements, out, what, err, errlen);
}

int tern_gguf_decode_ternary(const tern_gguf *g, const tern_gguf_tensor *t, int8_t *out, float *scale,
                             char *err, size_t errlen) {
  char what[700];
  tensor_what(g, t, what, sizeof what);
  return tern_ggml_to_ternary(t->type, t->data, t->nbytes, t->n_elements, out, scale, what, err, errlen);
}

/* ---- encoders ----------------------------------------------------------------------- */

static int check_dst(uint32_t type, uint64_t n, uint64_t dst_bytes, const char *what, char *err,
                     size_t errlen) {
  uint64_t want;
  if (tern_ggml_nbytes(type, n, &want, what, err, errlen)) return -1;
  if (dst_bytes != want)
    return tern_err(err, errlen,
                    "%s: %" PRIu64 " elements of type %s take %" PRIu64 " bytes, the buffer has %" PRIu64,
                    what, n, type_str(type), want, dst_bytes);
  return 0;
}

int tern_ggml_from_f32(uint32_t type, const float *src, uint64_t n, void *dst, uint64_t dst_bytes, char *err,
                       size_t errlen) {
  const char *what = "float32 encoder";
  if (type != TERN_GGML_F32 && type != TERN_GGML_F16 && type != TERN_GGML_BF16 && type != TERN_GGML_Q8_0)
    return tern_err(err, errlen, "%s: type %s (F32, F16, BF16 and Q8_0 are encoded from float32)", what,
                    type_str(type));
  if (check_dst(type, n, dst_bytes, what, err, errlen)) return -1;
  if (n && (!src || !dst)) return tern_err(err, errlen, "%s: NULL buffer", what);
  uint8_t *p = dst;
  switch (type) {
    case TERN_GGML_F32:
      for (uint64_t i = 0; i < n; i++) wr32(p + 4 * i, f32_bits(src[i]));
      break;
    case TERN_GGML_F16:
      for (uint64_t i = 0; i < n; i++) wr16(p + 2 * i, tern_f32_to_f16(src[i]));
      break;
    case TERN_GGML_BF16:
      for (uint64_t i = 0; i < n; i++) wr16(p + 2 * i, tern_f32_to_bf16(src[i]));
      break;
    default: /* Q8_0 as llama.cpp's quantize_row_q8_0_ref: d = absmax / 127, q = round(x / d) */
      for (uint64_t b = 0; b < n / 32; b++) {
        const float *x = src + 32 * b;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) {
          if (!isfinite(x[j]))
            return tern_err(err, errlen, "%s: Q8_0 element %" PRIu64 " is %g (not finite)", what,
                            32 * b + (uint64_t)j, (double)x[j]);
          if (fabsf(x[j]) > amax) amax = fabsf(x[j]);
        }
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t *blk = p + 34 * b;
        wr16(blk, tern_f32_to_f16(d));
        for (int j = 0; j < 32; j++) {
          /* a subnormal d makes 1/d overflow: divide instead (|x / d| <= 127) */
          float q = isfinite(id) ? roundf(x[j] * id) : roundf(x[j] / d);
          if (!(q <= 127.0f)) q = q != q ? 0.0f : 127.0f;
          if (q < -127.0f) q = -127.0f;
          int qi = (int)q;
          blk[2 + j] = (uint8_t)(qi & 0xff);
        }
      }
      break;
  }
  return 0;
}

int tern_ggml_from_ternary(uint32_t type, const int8_t *codes, uint64_t n, float scale, void *dst,
                           uint64_t dst_bytes, char *err, size_t errlen) {
  const char *what = "ternary encoder";
  if (type != TERN_GGML_TQ1_0 && type != TERN_GGML_TQ2_0 && type != TERN_GGML_I2_S)
    return tern_err(err, errlen, "%s: type %s (TQ1_0, TQ2_0 and I2_S are encoded from ternary codes)", what,
                    type_str(type));
  if (type == TERN_GGML_I2_S && n % 128)
    return tern_err(err, errlen,
                    "%s: I2_S needs a multiple of 128 elements (quantize_i2_s's block), got %" PRIu64, what,
                    n);
  if (check_dst(type, n, dst_bytes, what, err, errlen)) return -1;
  if (!dst || (n && !codes)) return tern_err(err, errlen, "%s: NULL buffer", what);
  for (uint64_t i = 0; i < n; i++)
    if (codes[i] < -1 || codes[i] > 1)
      return tern_err(err, errlen, "%s: code %d at element %" PRIu64 " (-1, 0 or +1 expected)", what,
                      codes[i], i);
  if (!isfinite(scale)) return tern_err(err, errlen, "%s: scale %g is not finite", what, (double)scale);
  uint8_t *p = dst;
  memset(p, 0, (size_t)dst_bytes);
  if (type == TERN_GGML_I2_S) {
    for (uint64_t b = 0; b < n / 128; b++)
      for (int gi = 0; gi < 4; gi++)
        for (int j = 0; j < 32; j++)
          p[32 * b + (uint64_t)j] |=
              (uint8_t)((codes[128 * b + 32 * (uint64_t)gi + (uint64_t)j] + 1) << (6 - 2 * gi));
    wr32(p + n / 4, f32_bits(scale)); /* then 28 reserved bytes, zero */
    return 0;
  }
  uint16_t d = tern_f32_to_f16(scale);
  if (!isfinite(tern_f16_to_f32(d)))
    return tern_err(err, errlen, "%s: scale %g overflows the fp16 block scale of %s", what, (double)scale,
                    type_str(type));
  for (uint64_t b = 0; b < n / 256; b++) {
    const int8_t *x = codes + 256 * b;
    if (type == TERN_GGML_TQ2_0) {
      uint8_t *blk = p + 66 * b;
      for (int h = 0; h < 2; h++)
        for (int l = 0; l < 4; l++)
          for (int m = 0; m < 32; m++) blk[32 * h + m] |= (uint8_t)((x[128 * h + 32 * l + m] + 1) << (2 * l));
      wr16(blk + 64, d);
    } else {
      uint8_t *blk = p + 54 * b;
      for (int m = 0; m < 48; m++) { /* 5 trits: elements m + 32 t (m < 32), 160 + (m - 32) + 16 t */
        unsigned q = 0;
        for (int t = 0; t < 5; t++)
          q = 3 * q + (unsigned)(x[m < 32 ? 32 * t + m : 160 + 16 * t + (m - 32)] + 1);
        blk[m] = (uint8_t)((q * 256 + 242) / 243); /* ceil(q * 256 / 243) */
      }
      for (int j = 0; j < 4; j++) { /* 4 trits: elements 240 + 4 t + j, then a zero trit */
        unsigned q = 0;
        for (int t = 0; t < 4; t++) q = 3 * q + (unsigned)(x[240 + 4 * t + j] + 1);
        q *= 3;
        blk[48 + j] = (uint8_t)((q * 256 + 242) / 243);
      }
      wr16(blk + 52, d);
    }
  }
  return 0;
}

/* ---- writer ------------------------------------------------------------------------- */

typedef struct {
  char name[TERN_GGUF_NAME_MAX];
  uint32_t type, n_dims;
  uint64_t ne[TERN_GGUF_MAX_DIMS];
  uint8_t *data;
  uint64_t nbytes;
} wtensor;

struct tern_gguf_writer {
  uint8_t *kv; /* serialized key/values */
  size_t kv_n, kv_cap;
  uint64_t n_kv;
  char **keys;
  uint32_t alignment;
  wtensor *t;
  size_t n_t;
};

tern_gguf_writer *tern_gguf_writer_new(void) {
  tern_gguf_writer *w = xrealloc(NULL, sizeof *w);
  memset(w, 0, sizeof *w);
  w->alignment = TERN_GGUF_DEFAULT_ALIGNMENT;
  return w;
}

void tern_gguf_writer_free(tern_gguf_writer *w) {
  if (!w) return;
  for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
  free(w->keys);
  for (size_t i = 0; i < w->n_t; i++) free(w->t[i].data);
  free(w->t);
  free(w->kv);
  free(w);
}

static uint8_t *kv_grow(tern_gguf_writer *w, size_t n) {
  if (w->kv_cap - w->kv_n < n) {
    size_t cap = w->kv_cap ? w->kv_cap : 256;
    while (cap - w->kv_n < n) cap *= 2;
    w->kv = xrealloc(w->kv, cap);
    w->kv_cap = cap;
  }
  uint8_t *p = w->kv + w->kv_n;
  w->kv_n += n;
  return p;
}

/* starts a key/value: validates the key, writes it and the type */
static int kv_begin(tern_gguf_writer *w, const char *key, uint32_t type, char *err, size_t errlen) {
  size_t kl = key ? strlen(key) : 0;
  if (!kl) return tern_err(err, errlen, "gguf writer: empty key");
  if (kl > TERN_GGUF_KEY_MAX)
    return tern_err(err, errlen, "gguf writer: key of %zu bytes (at most %d)", kl, TERN_GGUF_KEY_MAX);
  for (uint64_t i = 0; i < w->n_kv; i++)
    if (strcmp(w->keys[i], key) == 0)
      return tern_err(err, errlen, "gguf writer: key '%s' is already set", key);
  w->keys = xrealloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *w->keys);
  w->keys[w->n_kv] = xrealloc(NULL, kl + 1);
  memcpy(w->keys[w->n_kv], key, kl + 1);
  w->n_kv++;
  uint8_t *p = kv_grow(w, 8 + kl + 4);
  wr64(p, kl);
  memcpy(p + 8, key, kl);
  wr32(p + 8 + kl, type);
  return 0;
}

/* host values of a fixed-size type to little-endian bytes */
static void put_values(uint8_t *p, int type, const void *v, uint64_t n) {
  size_t sz = VTYPE_SIZE[type];
  const uint8_t *s = v;
  for (uint64_t i = 0; i < n; i++, p += sz, s += sz) {
    if (sz == 1) {
      p[0] = s[0];
    } else if (sz == 2) {
      uint16_t x;
      memcpy(&x, s, 2);
      wr16(p, x);
    } else if (sz == 4) {
      uint32_t x;
      memcpy(&x, s, 4);
      wr32(p, x);
    } else {
      uint64_t x;
      memcpy(&x, s, 8);
      wr64(p, x);
    }
  }
}

static int check_fixed(const char *key, int type, const void *v, uint64_t n, char *err, size_t errlen) {
  if (type < 0 || type >= TERN_GGUF_NVTYPES || !VTYPE_SIZE[type])
    return tern_err(err, errlen, "gguf writer: key '%s': type %d is not a fixed-size value type",
                    key ? key : "", type);
  if (n && !v) return tern_err(err, errlen, "gguf writer: key '%s': NULL values", key ? key : "");
  if (type == TERN_GGUF_BOOL)
    for (uint64_t i = 0; i < n; i++)
      if (((const uint8_t *)v)[i] > 1)
        return tern_err(err, errlen, "gguf writer: key '%s': bool %u at %" PRIu64 " (0 or 1 expected)",
                        key ? key : "", ((const uint8_t *)v)[i], i);
  return 0;
}

int tern_gguf_add_scalar(tern_gguf_writer *w, const char *key, int type, const void *v, char *err,
                         size_t errlen) {
  if (check_fixed(key, type, v, 1, err, errlen)) return -1;
  if (key && strcmp(key, "general.alignment") == 0) {
    if (type != TERN_GGUF_U32)
      return tern_err(err, errlen,
                      "gguf writer: key 'general.alignment' must be a uint32 (readers refuse %s)",
                      tern_gguf_vtype_name(type));
    uint32_t a;
    memcpy(&a, v, 4);
    if (a == 0 || (a & (a - 1)))
      return tern_err(err, errlen, "gguf writer: general.alignment %" PRIu32 " is not a power of two", a);
    if (kv_begin(w, key, (uint32_t)type, err, errlen)) return -1;
    w->alignment = a;
  } else if (kv_begin(w, key, (uint32_t)type, err, errlen)) {
    return -1;
  }
  put_values(kv_grow(w, VTYPE_SIZE[type]), type, v, 1);
  return 0;
}

int tern_gguf_add_u32(tern_gguf_writer *w, const char *key, uint32_t v, char *err, size_t errlen) {
  return tern_gguf_add_scalar(w, key, TERN_GGUF_U32, &v, err, errlen);
}
int tern_gguf_add_i32(tern_gguf_writer *w, const char *key, int32_t v, char *err, size_t errlen) {
  return tern_gguf_add_scalar(w, key, TERN_GGUF_I32, &v, err, errlen);
}
int tern_gguf_add_u64(tern_gguf_writer *w, const char *key, uint64_t v, char *err, size_t errlen) {
  return tern_gguf_add_scalar(w, key, TERN_GGUF_U64, &v, err, errlen);
}
int tern_gguf_add_f32(tern_gguf_writer *w, const char *key, float v, char *err, size_t errlen) {
  return tern_gguf_add_scalar(w, key, TERN_GGUF_F32, &v, err, errlen);
}
int tern_gguf_add_bool(tern_gguf_writer *w, const char *key, int v, char *err, size_t errlen) {
  uint8_t b = v ? 1 : 0;
  return tern_gguf_add_scalar(w, key, TERN_GGUF_BOOL, &b, err, errlen);
}

int tern_gguf_add_str(tern_gguf_writer *w, const char *key, const char *s, size_t len, char *err,
                      size_t errlen) {
  if (len && !s) return tern_err(err, errlen, "gguf writer: key '%s': NULL string", key ? key : "");
  if (kv_begin(w, key, TERN_GGUF_STRING, err, errlen)) return -1;
  uint8_t *p = kv_grow(w, 8 + len);
  wr64(p, len);
  if (len) memcpy(p + 8, s, len);
  return 0;
}

int tern_gguf_add_arr(tern_gguf_writer *w, const char *key, int elem_type, const void *values, uint64_t n,
                      char *err, size_t errlen) {
  if (check_fixed(key, elem_type, values, n, err, errlen)) return -1;
  size_t sz = VTYPE_SIZE[elem_type];
  if (n > (SIZE_MAX - 16) / sz)
    return tern_err(err, errlen, "gguf writer: key '%s': array too large", key ? key : "");
  if (kv_begin(w, key, TERN_GGUF_ARRAY, err, errlen)) return -1;
  uint8_t *p = kv_grow(w, 12 + (size_t)n * sz);
  wr32(p, (uint32_t)elem_type);
  wr64(p + 4, n);
  put_values(p + 12, elem_type, values, n);
  return 0;
}

int tern_gguf_add_arr_str(tern_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                          uint64_t n, char *err, size_t errlen) {
  for (uint64_t i = 0; i < n; i++)
    if (!strs[i] && (!lens || lens[i]))
      return tern_err(err, errlen, "gguf writer: key '%s': string %" PRIu64 " is NULL", key ? key : "", i);
  if (kv_begin(w, key, TERN_GGUF_ARRAY, err, errlen)) return -1;
  uint8_t *p = kv_grow(w, 12);
  wr32(p, TERN_GGUF_STRING);
  wr64(p + 4, n);
  for (uint64_t i = 0; i < n; i++) {
    size_t l = lens ? lens[i] : strlen(strs[i]);
    p = kv_grow(w, 8 + l);
    wr64(p, l);
    if (l) memcpy(p + 8, strs[i], l);
  }
  return 0;
}

int tern_gguf_add_tensor(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                         const uint64_t *ne, const void *data, uint64_t nbytes, char *err, size_t errlen) {
  size_t nl = name ? strlen(name) : 0;
  if (!nl) return tern_err(err, errlen, "gguf writer: tensor with an empty name");
  if (nl >= TERN_GGUF_NAME_MAX)
    return tern_err(err, errlen, "gguf writer: tensor '%s': name of %zu bytes (at most %d)", name, nl,
                    TERN_GGUF_NAME_MAX - 1);
  for (size_t i = 0; i < w->n_t; i++)
    if (strcmp(w->t[i].name, name) == 0)
      return tern_err(err, errlen, "gguf writer: tensor '%s' is already added", name);
  char what[120];
  snprintf(what, sizeof what, "gguf writer: tensor '%s'", name);
  uint64_t ne4[TERN_GGUF_MAX_DIMS] = {1, 1, 1, 1}, n, want;
  if (n_dims < 1 || n_dims > TERN_GGUF_MAX_DIMS)
    return tern_err(err, errlen, "%s: n_dims %" PRIu32 " (1..4 expected)", what, n_dims);
  memcpy(ne4, ne, n_dims * sizeof *ne);
  if (shape_bytes(type, n_dims, ne4, &n, &want, what, err, errlen)) return -1;
  if (nbytes != want)
    return tern_err(err, errlen,
                    "%s: %" PRIu64 " bytes of data, %" PRIu64 " elements of type %s take %" PRIu64, what,
                    nbytes, n, type_str(type), want);
  if (!data) return tern_err(err, errlen, "%s: NULL data", what);
  if (want > SIZE_MAX) return tern_err(err, errlen, "%s: %" PRIu64 " bytes do not fit in memory", what, want);
  w->t = xrealloc(w->t, (w->n_t + 1) * sizeof *w->t);
  wtensor *t = &w->t[w->n_t];
  memset(t, 0, sizeof *t);
  memcpy(t->name, name, nl + 1);
  t->type = type;
  t->n_dims = n_dims;
  memcpy(t->ne, ne4, sizeof ne4);
  t->nbytes = nbytes;
  t->data = xrealloc(NULL, (size_t)nbytes);
  memcpy(t->data, data, (size_t)nbytes);
  w->n_t++;
  return 0;
}

/* element count of a shape for the encode-and-add helpers (fully checked by add_tensor) */
static int shape_n(const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne, uint64_t *n,
                   uint64_t *nbytes, char *err, size_t errlen) {
  char what[120];
  snprintf(what, sizeof what, "gguf writer: tensor '%s'", name ? name : "");
  uint64_t ne4[TERN_GGUF_MAX_DIMS] = {1, 1, 1, 1};
  if (n_dims < 1 || n_dims > TERN_GGUF_MAX_DIMS)
    return tern_err(err, errlen, "%s: n_dims %" PRIu32 " (1..4 expected)", what, n_dims);
  memcpy(ne4, ne, n_dims * sizeof *ne);
  if (shape_bytes(type, n_dims, ne4, n, nbytes, what, err, errlen)) return -1;
  if (*nbytes > SIZE_MAX) return tern_err(err, errlen, "%s: too large", what);
  return 0;
}

int tern_gguf_add_tensor_f32(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                             const uint64_t *ne, const float *src, char *err, size_t errlen) {
  uint64_t n, nb;
  if (shape_n(name, type, n_dims, ne, &n, &nb, err, errlen)) return -1;
  uint8_t *buf = xrealloc(NULL, (size_t)nb);
  int rc = tern_ggml_from_f32(type, src, n, buf, nb, err, errlen);
  if (!rc) rc = tern_gguf_add_tensor(w, name, type, n_dims, ne, buf, nb, err, errlen);
  free(buf);
  return rc;
}

int tern_gguf_add_tensor_ternary(tern_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                 const uint64_t *ne, const int8_t *codes, float scale, char *err,
                                 size_t errlen) {
  uint64_t n, nb;
  if (shape_n(name, type, n_dims, ne, &n, &nb, err, errlen)) return -1;
  uint8_t *buf = xrealloc(NULL, (size_t)nb);
  int rc = tern_ggml_from_ternary(type, codes, n, scale, buf, nb, err, errlen);
  if (!rc) rc = tern_gguf_add_tensor(w, name, type, n_dims, ne, buf, nb, err, errlen);
  free(buf);
  return rc;
}

typedef struct {
  FILE *f;
  int failed;
} wfile;

static void put(wfile *o, const void *p, size_t n) {
  if (!o->failed && n && fwrite(p, 1, n, o->f) != n) o->failed = 1;
}
static void put_zeros(wfile *o, size_t n) {
  static const uint8_t z[64];
  while (n) {
    size_t k = n < sizeof z ? n : sizeof z;
    put(o, z, k);
    n -= k;
  }
}

int tern_gguf_write(const tern_gguf_writer *w, const char *path, char *err, size_t errlen) {
  uint64_t a = w->alignment;
  /* tensor offsets: each padded to the alignment */
  uint64_t *off = xrealloc(NULL, (w->n_t ? w->n_t : 1) * sizeof *off), o = 0;
  for (size_t i = 0; i < w->n_t; i++) {
    off[i] = o;
    o += (w->t[i].nbytes + a - 1) / a * a;
  }
  size_t tl = strlen(path) + 32;
  char *tmp = xrealloc(NULL, tl);
  snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
  errno = 0;
  wfile out = {fopen(tmp, "wb"), 0};
  if (!out.f) {
    int e = errno;
    free(off);
    tern_err(err, errlen, "%s: cannot create %s: %s", path, tmp, strerror(e));
    free(tmp);
    return -1;
  }
  uint8_t h[24];
  memcpy(h, "GGUF", 4);
  wr32(h + 4, 3);
  wr64(h + 8, w->n_t);
  wr64(h + 16, w->n_kv);
  put(&out, h, sizeof h);
  put(&out, w->kv, w->kv_n);
  uint64_t pos = sizeof h + w->kv_n;
  for (size_t i = 0; i < w->n_t; i++) {
    const wtensor *t = &w->t[i];
    uint8_t b[8 + TERN_GGUF_NAME_MAX + 4 + 8 * TERN_GGUF_MAX_DIMS + 4 + 8];
    size_t nl = strlen(t->name), k = 0;
    wr64(b, nl);
    memcpy(b + 8, t->name, nl);
    k = 8 + nl;
    wr32(b + k, t->n_dims);
    k += 4;
    for (uint32_t d = 0; d < t->n_dims; d++, k += 8) wr64(b + k, t->ne[d]);
    wr32(b + k, t->type);
    wr64(b + k + 4, off[i]);
    k += 12;
    put(&out, b, k);
    pos += k;
  }
  put_zeros(&out, (size_t)((a - pos % a) % a));
  for (size_t i = 0; i < w->n_t; i++) {
    put(&out, w->t[i].data, (size_t)w->t[i].nbytes);
    put_zeros(&out, (size_t)((a - w->t[i].nbytes % a) % a));
  }
  free(off);
  int e = 0;
  if (out.failed || fflush(out.f) != 0) e = errno ? errno : EIO;
  if (!e && fsync(fileno(out.f)) != 0) e = errno;
  if (fclose(out.f) != 0 && !e) e = errno ? errno : EIO;
  if (e) {
    remove(tmp);
    tern_err(err, errlen, "%s: write failed (%s): %s", path, tmp, strerror(e));
    free(tmp);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    remove(tmp);
    tern_err(err, errlen, "%s: cannot rename %s to it: %s", path, tmp, strerror(e));
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}
