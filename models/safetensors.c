/* safetensors reader and writer (include/tern/safetensors.h). */
#define _DEFAULT_SOURCE /* madvise (MADV_DONTNEED): posix_madvise ignores DONTNEED on glibc */
#include "tern/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/err.h"
#include "tern/half.h"

static const struct {
  const char *name;
  size_t size;
} dtypes[TERN_ST_NDTYPES] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
    {"I32", 4},  {"U32", 4}, {"F32", 4}, {"I64", 8}, {"U64", 8}, {"F64", 8},
};

const char *tern_st_dtype_name(tern_st_dtype t) {
  return (unsigned)t < TERN_ST_NDTYPES ? dtypes[t].name : "?";
}

size_t tern_st_dtype_size(tern_st_dtype t) {
  return (unsigned)t < TERN_ST_NDTYPES ? dtypes[t].size : 0;
}

int tern_st_dtype_parse(const char *s) {
  for (int i = 0; i < TERN_ST_NDTYPES; i++)
    if (!strcmp(s, dtypes[i].name)) return i;
  return -1;
}

/* ---- reader -------------------------------------------------------------------- */

typedef struct shard {
  char *path;
  void *map;
  size_t size;
  json_t *header;
} shard;

struct tern_st {
  shard *sh;
  int nsh;
  tern_st_tensor *t; /* sorted by name */
  int nt, cap;
};

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static int map_file(const char *path, shard *s, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
    close(fd);
    return tern_err(err, errlen, "%s: not a regular file", path);
  }
  if (sb.st_size < 8) {
    close(fd);
    return tern_err(err, errlen, "%s: %lld bytes, expected at least the 8-byte header length",
                    path, (long long)sb.st_size);
  }
  void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return tern_err(err, errlen, "%s: mmap: %s", path, strerror(errno));
  /* tensors are read once, mostly in file order: ask for aggressive readahead */
  madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
  s->map = m;
  s->size = (size_t)sb.st_size;
  return 0;
}

static int push_tensor(tern_st *st, const tern_st_tensor *t, char *err, size_t errlen) {
  if (st->nt == st->cap) {
    int nc = st->cap ? 2 * st->cap : 64;
    tern_st_tensor *n = realloc(st->t, (size_t)nc * sizeof *n);
    if (!n) return tern_err(err, errlen, "out of memory (%d tensors)", nc);
    st->t = n;
    st->cap = nc;
  }
  st->t[st->nt++] = *t;
  return 0;
}

static int json_u64(const json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

typedef struct range {
  uint64_t b, e;
  const char *name;
} range;

static int cmp_range(const void *a, const void *b) {
  const range *x = a, *y = b;
  return x->b < y->b ? -1 : (x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e));
}

/* Parses the header of shard si; appends its tensors. */
static int parse_shard(tern_st *st, int si, char *err, size_t errlen) {
  shard *s = &st->sh[si];
  const uint8_t *base = s->map;
  const char *f = s->path;
  uint64_t n = le64(base);
  if (n > TERN_ST_MAX_HEADER || n > s->size - 8)
    return tern_err(err, errlen,
                    "%s: header length %llu, expected at most %llu (the file has %zu bytes after "
                    "the length; the format's limit is %u)",
                    f, (unsigned long long)n, (unsigned long long)(s->size - 8), s->size - 8,
                    TERN_ST_MAX_HEADER);
  json_error_t je;
  s->header = json_loadb((const char *)base + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
  if (!s->header)
    return tern_err(err, errlen, "%s: header is not valid JSON (byte %d: %s)", f, je.position,
                    je.text);
  if (!json_is_object(s->header)) return tern_err(err, errlen, "%s: header is not a JSON object", f);
  const uint8_t *data = base + 8 + n;
  uint64_t dlen = s->size - 8 - n;
  size_t nobj = json_object_size(s->header);
  range *rg = calloc(nobj ? nobj : 1, sizeof *rg);
  if (!rg) return tern_err(err, errlen, "%s: out of memory", f);
  size_t nr = 0;
  int rc = 0;
  const char *key;
  json_t *val;
  json_object_foreach(s->header, key, val) {
    if (!strcmp(key, "__metadata__")) {
      if (!json_is_object(val)) {
        rc = tern_err(err, errlen, "%s: '__metadata__' is not an object", f);
        break;
      }
      const char *mk;
      json_t *mv;
      json_object_foreach(val, mk, mv) {
        if (!json_is_string(mv)) {
          rc = tern_err(err, errlen, "%s: '__metadata__' entry '%s' is not a string", f, mk);
          break;
        }
      }
      if (rc) break;
      continue;
    }
    if (!json_is_object(val)) {
      rc = tern_err(err, errlen, "%s: tensor '%s': entry is not an object", f, key);
      break;
    }
    tern_st_tensor t;
    memset(&t, 0, sizeof t);
    t.name = key;
    t.shard = si;
    const char *fk;
    json_t *fv;
    json_object_foreach(val, fk, fv) {
      if (strcmp(fk, "dtype") && strcmp(fk, "shape") && strcmp(fk, "data_offsets")) {
        rc = tern_err(err, errlen, "%s: tensor '%s': field '%s' is unknown, expected dtype, shape, "
                      "data_offsets", f, key, fk);
        break;
      }
    }
    if (rc) break;
    json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"),
           *jo = json_object_get(val, "data_offsets");
    int dt = json_is_string(jd) ? tern_st_dtype_parse(json_string_value(jd)) : -1;
    if (dt < 0) {
      rc = tern_err(err, errlen, "%s: tensor '%s': field 'dtype' is %s%s%s, expected one of BOOL U8 "
                    "I8 I16 U16 F16 BF16 I32 U32 F32 I64 U64 F64", f, key,
                    json_is_string(jd) ? "'" : "", json_is_string(jd) ? json_string_value(jd)
                                                                      : "missing or not a string",
                    json_is_string(jd) ? "'" : "");
      break;
    }
    t.dtype = (tern_st_dtype)dt;
    if (!json_is_array(js) || json_array_size(js) > TERN_ST_MAX_DIMS) {
      rc = tern_err(err, errlen, "%s: tensor '%s': field 'shape' is %s, expected an array of at "
                    "most %d non-negative integers", f, key,
                    json_is_array(js) ? "too long" : "missing or not an array", TERN_ST_MAX_DIMS);
      break;
    }
    t.ndim = (int)json_array_size(js);
    t.numel = 1;
    for (int d = 0; d < t.ndim; d++) {
      if (json_u64(json_array_get(js, (size_t)d), &t.shape[d])) {
        rc = tern_err(err, errlen, "%s: tensor '%s': shape[%d] is not a non-negative integer", f,
                      key, d);
        break;
      }
      if (t.shape[d] && t.numel > UINT64_MAX / t.shape[d]) {
        rc = tern_err(err, errlen, "%s: tensor '%s': element count overflows 64 bits", f, key);
        break;
      }
      t.numel *= t.shape[d];
    }
    if (rc) break;
    uint64_t b, e;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || json_u64(json_array_get(jo, 0), &b) ||
        json_u64(json_array_get(jo, 1), &e)) {
      rc = tern_err(err, errlen, "%s: tensor '%s': field 'data_offsets' is not [begin, end] of "
                    "non-negative integers", f, key);
      break;
    }
    size_t es = tern_st_dtype_size(t.dtype);
    if (t.numel > UINT64_MAX / es) {
      rc = tern_err(err, errlen, "%s: tensor '%s': byte size overflows 64 bits", f, key);
      break;
    }
    t.nbytes = t.numel * es;
    if (b > e || e > dlen) {
      rc = tern_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] outside the data area "
                    "of %llu bytes", f, key, (unsigned long long)b, (unsigned long long)e,
                    (unsigned long long)dlen);
      break;
    }
    if (e - b != t.nbytes) {
      rc = tern_err(err, errlen, "%s: tensor '%s': data_offsets span %llu bytes, expected %llu (%llu "
                    "elements of %s)", f, key, (unsigned long long)(e - b),
                    (unsigned long long)t.nbytes, (unsigned long long)t.numel,
                    tern_st_dtype_name(t.dtype));
      break;
    }
    t.data = data + b;
    rg[nr++] = (range){b, e, key};
    if (push_tensor(st, &t, err, errlen)) {
      rc = -1;
      break;
    }
  }
  if (!rc) {
    qsort(rg, nr, sizeof *rg, cmp_range);
    for (size_t i = 1; i < nr; i++)
      if (rg[i].b < rg[i - 1].e && rg[i].e > rg[i].b) {
        rc = tern_err(err, errlen, "%s: tensors '%s' and '%s' overlap (bytes %llu..%llu and %llu..%llu)",
                      f, rg[i - 1].name, rg[i].name, (unsigned long long)rg[i - 1].b,
                      (unsigned long long)rg[i - 1].e, (unsigned long long)rg[i].b,
                      (unsigned long long)rg[i].e);
        break;
      }
  }
  free(rg);
  return rc;
}

static int cmp_tensor(const void *a, const void *b) {
  return strcmp(((const tern_st_tensor *)a)->name, ((const tern_st_tensor *)b)->name);
}

static int add_shard(tern_st *st, const char *path, char *err, size_t errlen) {
  shard *n = realloc(st->sh, (size_t)(st->nsh + 1) * sizeof *n);
  if (!n) return tern_err(err, errlen, "out of memory");
  st->sh = n;
  shard *s = &st->sh[st->nsh];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  st->nsh++;
  if (!s->path) return tern_err(err, errlen, "out of memory");
  if (map_file(path, s, err, errlen)) return -1;
  return parse_shard(st, st->nsh - 1, err, errlen);
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static int is_file(const char *p) {
  struct stat sb;
  return !stat(p, &sb) && S_ISREG(sb.st_mode);
}

#define ST_MAX_INDEX (64u << 20)

static int open_index(tern_st *st, const char *path, char *err, size_t errlen) {
  shard idx;
  memset(&idx, 0, sizeof idx);
  if (map_file(path, &idx, err, errlen)) return -1;
  int rc = 0;
  json_t *root = NULL;
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash) {
    size_t dl = (size_t)(slash - path);
    if (dl >= sizeof dir - 1) {
      rc = tern_err(err, errlen, "%s: path too long", path);
      goto done;
    }
    memcpy(dir, path, dl);
    dir[dl] = 0;
  } else {
    strcpy(dir, ".");
  }
  if (idx.size > ST_MAX_INDEX) {
    rc = tern_err(err, errlen, "%s: %zu bytes, expected at most %u", path, idx.size, ST_MAX_INDEX);
    goto done;
  }
  json_error_t je;
  root = json_loadb(idx.map, idx.size, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    rc = tern_err(err, errlen, "%s: not valid JSON (line %d: %s)", path, je.line, je.text);
    goto done;
  }
  json_t *wm = json_object_get(root, "weight_map");
  if (!json_is_object(wm) || !json_object_size(wm)) {
    rc = tern_err(err, errlen, "%s: field 'weight_map' is missing or empty, expected an object "
                  "tensor -> shard file", path);
    goto done;
  }
  const char *tn;
  json_t *sv;
  /* open every distinct shard once, in order of first mention */
  json_object_foreach(wm, tn, sv) {
    const char *sn = json_is_string(sv) ? json_string_value(sv) : NULL;
    if (!sn || !*sn || strchr(sn, '/') || !strcmp(sn, ".") || !strcmp(sn, "..")) {
      rc = tern_err(err, errlen, "%s: weight_map['%s'] is %s, expected a file name in the same "
                    "directory", path, tn, sn ? sn : "not a string");
      goto done;
    }
    int have = 0;
    for (int i = 0; i < st->nsh && !have; i++) {
      const char *b = strrchr(st->sh[i].path, '/');
      have = !strcmp(b ? b + 1 : st->sh[i].path, sn);
    }
    if (have) continue;
    if (st->nsh >= TERN_ST_MAX_SHARDS) {
      rc = tern_err(err, errlen, "%s: more than %d shard files", path, TERN_ST_MAX_SHARDS);
      goto done;
    }
    char sp[PATH_MAX];
    if ((size_t)snprintf(sp, sizeof sp, "%s/%s", dir, sn) >= sizeof sp) {
      rc = tern_err(err, errlen, "%s: shard path too long", path);
      goto done;
    }
    if (add_shard(st, sp, err, errlen)) {
      rc = -1;
      goto done;
    }
  }
  /* every tensor of the map is in the shard it names */
  qsort(st->t, (size_t)st->nt, sizeof *st->t, cmp_tensor);
  json_object_foreach(wm, tn, sv) {
    const tern_st_tensor *t = tern_st_find(st, tn);
    const char *sn = json_string_value(sv);
    const char *b = t ? strrchr(st->sh[t->shard].path, '/') : NULL;
    if (!t || strcmp(b ? b + 1 : st->sh[t->shard].path, sn)) {
      rc = tern_err(err, errlen, "%s: tensor '%s' is not in shard '%s' as weight_map says", path, tn,
                    sn);
      goto done;
    }
  }
done:
  json_decref(root);
  munmap(idx.map, idx.size);
  return rc;
}

tern_st *tern_st_open(const char *path, char *err, size_t errlen) {
  if (!path) {
    tern_err(err, errlen, "tern_st_open: null path");
    return NULL;
  }
  tern_st *st = calloc(1, sizeof *st);
  if (!st) {
    tern_err(err, errlen, "out of memory");
    return NULL;
  }
  struct stat sb;
  int rc;
  if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/model.safetensors", path);
    if (is_file(p)) {
      rc = add_shard(st, p, err, errlen);
    } else {
      snprintf(p, sizeof p, "%s/model.safetensors.index.json", path);
      if (is_file(p))
        rc = open_index(st, p, err, errlen);
      else
        rc = tern_err(err, errlen, "%s: no model.safetensors or model.safetensors.index.json in "
                      "this directory", path);
    }
  } else if (ends_with(path, ".index.json")) {
    rc = open_index(st, path, err, errlen);
  } else {
    rc = add_shard(st, path, err, errlen);
  }
  if (!rc) {
    qsort(st->t, (size_t)st->nt, sizeof *st->t, cmp_tensor);
    for (int i = 1; i < st->nt && !rc; i++)
      if (!strcmp(st->t[i].name, st->t[i - 1].name))
        rc = tern_err(err, errlen, "%s: tensor '%s' appears in two shards (%s and %s)", path,
                      st->t[i].name, st->sh[st->t[i - 1].shard].path, st->sh[st->t[i].shard].path);
  }
  if (rc) {
    tern_st_close(st);
    return NULL;
  }
  return st;
}

void tern_st_close(tern_st *st) {
  if (!st) return;
  for (int i = 0; i < st->nsh; i++) {
    if (st->sh[i].map) munmap(st->sh[i].map, st->sh[i].size);
    json_decref(st->sh[i].header);
    free(st->sh[i].path);
  }
  free(st->sh);
  free(st->t);
  free(st);
}

int tern_st_count(const tern_st *st) { return st ? st->nt : 0; }

const tern_st_tensor *tern_st_at(const tern_st *st, int i) {
  return st && i >= 0 && i < st->nt ? &st->t[i] : NULL;
}

const tern_st_tensor *tern_st_find(const tern_st *st, const char *name) {
  if (!st || !name || !st->nt) return NULL;
  tern_st_tensor key;
  key.name = name;
  return bsearch(&key, st->t, (size_t)st->nt, sizeof *st->t, cmp_tensor);
}

const char *tern_st_metadata(const tern_st *st, const char *key) {
  if (!st || !st->nsh || !st->sh[0].header) return NULL;
  json_t *m = json_object_get(st->sh[0].header, "__metadata__");
  json_t *v = m ? json_object_get(m, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *tern_st_file(const tern_st *st, const tern_st_tensor *t) {
  return st && t && t->shard >= 0 && t->shard < st->nsh ? st->sh[t->shard].path : "?";
}

uint64_t tern_st_data_bytes(const tern_st *st) {
  uint64_t s = 0;
  for (int i = 0; st && i < st->nt; i++) s += st->t[i].nbytes;
  return s;
}

/* ---- writer -------------------------------------------------------------------- */

typedef struct wtensor {
  char *name;
  tern_st_dtype dtype;
  int ndim;
  uint64_t shape[TERN_ST_MAX_DIMS];
  void *data;
  uint64_t nbytes;
} wtensor;

struct tern_st_writer {
  wtensor *t;
  int nt, cap;
  json_t *meta;
};

tern_st_writer *tern_st_writer_new(void) { return calloc(1, sizeof(tern_st_writer)); }

void tern_st_writer_free(tern_st_writer *w) {
  if (!w) return;
  for (int i = 0; i < w->nt; i++) {
    free(w->t[i].name);
    free(w->t[i].data);
  }
  free(w->t);
  json_decref(w->meta);
  free(w);
}

int tern_st_writer_add(tern_st_writer *w, const char *name, tern_st_dtype dtype, int ndim,
                       const uint64_t *shape, const void *data, uint64_t nbytes, char *err,
                       size_t errlen) {
  if (!w || !name || !*name || (unsigned)dtype >= TERN_ST_NDTYPES || ndim < 0 ||
      ndim > TERN_ST_MAX_DIMS || (ndim && !shape))
    return tern_err(err, errlen, "tern_st_writer_add: bad argument for tensor '%s'",
                    name ? name : "(null)");
  if (!strcmp(name, "__metadata__"))
    return tern_err(err, errlen, "tensor name '__metadata__' is reserved");
  for (int i = 0; i < w->nt; i++)
    if (!strcmp(w->t[i].name, name))
      return tern_err(err, errlen, "tensor '%s' added twice", name);
  uint64_t numel = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] && numel > UINT64_MAX / shape[d])
      return tern_err(err, errlen, "tensor '%s': element count overflows", name);
    numel *= shape[d];
  }
  if (numel > UINT64_MAX / tern_st_dtype_size(dtype) || numel * tern_st_dtype_size(dtype) != nbytes)
    return tern_err(err, errlen, "tensor '%s': %llu bytes given, expected %llu elements of %s",
                    name, (unsigned long long)nbytes, (unsigned long long)numel,
                    tern_st_dtype_name(dtype));
  if (nbytes > SIZE_MAX) return tern_err(err, errlen, "tensor '%s': too large", name);
  if (w->nt == w->cap) {
    int nc = w->cap ? 2 * w->cap : 64;
    wtensor *n = realloc(w->t, (size_t)nc * sizeof *n);
    if (!n) return tern_err(err, errlen, "out of memory");
    w->t = n;
    w->cap = nc;
  }
  wtensor *t = &w->t[w->nt];
  memset(t, 0, sizeof *t);
  t->name = strdup(name);
  t->data = malloc(nbytes ? (size_t)nbytes : 1);
  if (!t->name || !t->data) {
    free(t->name);
    free(t->data);
    return tern_err(err, errlen, "out of memory (tensor '%s', %llu bytes)", name,
                    (unsigned long long)nbytes);
  }
  if (nbytes) memcpy(t->data, data, (size_t)nbytes);
  t->dtype = dtype;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
  t->nbytes = nbytes;
  w->nt++;
  return 0;
}

int tern_st_writer_meta(tern_st_writer *w, const char *key, const char *value, char *err,
                        size_t errlen) {
  if (!w || !key || !value) return tern_err(err, errlen, "tern_st_writer_meta: null argument");
  if (!w->meta && !(w->meta = json_object())) return tern_err(err, errlen, "out of memory");
  if (json_object_set_new(w->meta, key, json_string(value)))
    return tern_err(err, errlen, "metadata '%s': value is not valid UTF-8", key);
  return 0;
}

int tern_st_writer_write(const tern_st_writer *w, const char *path, char *err, size_t errlen) {
  if (!w || !path) return tern_err(err, errlen, "tern_st_writer_write: null argument");
  json_t *h = json_object();
  if (!h) return tern_err(err, errlen, "out of memory");
  int rc = 0;
  if (w->meta) json_object_set(h, "__metadata__", w->meta);
  uint64_t off = 0;
  for (int i = 0; i < w->nt && !rc; i++) {
    const wtensor *t = &w->t[i];
    json_t *sh = json_array();
    for (int d = 0; d < t->ndim; d++) json_array_append_new(sh, json_integer((json_int_t)t->shape[d]));
    json_t *o = json_pack("{s:s, s:o, s:[I, I]}", "dtype", tern_st_dtype_name(t->dtype), "shape", sh,
                          "data_offsets", (json_int_t)off, (json_int_t)(off + t->nbytes));
    if (!o || json_object_set_new(h, t->name, o)) rc = tern_err(err, errlen, "out of memory");
    off += t->nbytes;
  }
  char *txt = rc ? NULL : json_dumps(h, JSON_COMPACT);
  json_decref(h);
  if (rc) return rc;
  if (!txt) return tern_err(err, errlen, "%s: cannot format the header", path);
  size_t hl = strlen(txt), pad = (8 - hl % 8) % 8;
  char tmp[PATH_MAX];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
    free(txt);
    return tern_err(err, errlen, "%s: path too long", path);
  }
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    free(txt);
    return tern_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
  }
  uint8_t len8[8];
  uint64_t n = hl + pad;
  for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(n >> (8 * i));
  int bad = fwrite(len8, 1, 8, f) != 8 || fwrite(txt, 1, hl, f) != hl;
  for (size_t i = 0; i < pad && !bad; i++) bad = fputc(' ', f) == EOF;
  free(txt);
  for (int i = 0; i < w->nt && !bad; i++)
    bad = w->t[i].nbytes && fwrite(w->t[i].data, 1, (size_t)w->t[i].nbytes, f) != w->t[i].nbytes;
  if (fclose(f)) bad = 1;
  if (bad || rename(tmp, path)) {
    int e = errno;
    remove(tmp);
    return tern_err(err, errlen, "%s: write error: %s", path, strerror(e));
  }
  return 0;
}

/* ---- float conversions ----------------------------------------------------------- */

int tern_st_is_float(tern_st_dtype t) {
  return t == TERN_ST_F16 || t == TERN_ST_BF16 || t == TERN_ST_F32 || t == TERN_ST_F64;
}

double tern_st_get_double(const tern_st_tensor *t, uint64_t i) {
  const uint8_t *p = t->data + i * tern_st_dtype_size(t->dtype);
  switch (t->dtype) {
    case TERN_ST_F16: return tern_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
    case TERN_ST_BF16: return tern_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
    case TERN_ST_F32: {
      uint32_t b = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      float f;
      memcpy(&f, &b, 4);
      return f;
    }
    case TERN_ST_F64: {
      uint64_t b = le64(p);
      double d;
      memcpy(&d, &b, 8);
      return d;
    }
    default: return 0.0;
  }
}
