/* The tern_program container and the .tbin file format (docs/ISA.md
 * "Program files").  The reader never trusts a length field: every count is
 * checked against the bytes actually present before anything is allocated. */
#include "tern/err.h"
#include "tern/io.h"
#include "tern/program.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "tern: out of memory (%zu bytes)\n", n);
    abort();
  }
  return q;
}

void tern_program_init(tern_program *p) {
  memset(p, 0, sizeof *p);
  p->cfg = tern_hwcfg_default();
}

void tern_program_free(tern_program *p) {
  if (!p) return;
  free(p->insns);
  for (size_t i = 0; i < p->n_segs; i++) free(p->segs[i].data);
  free(p->segs);
  free(p->tensors);
  tern_hwcfg cfg = p->cfg;
  memset(p, 0, sizeof *p);
  p->cfg = cfg;
}

/* The struct has no capacity field, so arrays are reallocated on every
 * append (works whoever allocated them; glibc grows large blocks in place). */
size_t tern_program_add_insn(tern_program *p, const tern_insn *in) {
  p->insns = xrealloc(p->insns, (p->n_insns + 1) * sizeof *p->insns);
  p->insns[p->n_insns] = *in;
  return p->n_insns++;
}

void tern_program_add_segment(tern_program *p, uint32_t addr, const void *data, uint32_t len) {
  p->segs = xrealloc(p->segs, (p->n_segs + 1) * sizeof *p->segs);
  tern_segment *s = &p->segs[p->n_segs++];
  s->dram_addr = addr;
  s->len = len;
  s->data = xrealloc(NULL, len);
  if (len) memcpy(s->data, data, len);
  uint64_t end = (uint64_t)addr + len;
  if (end > p->dram_size) p->dram_size = end;
}

void tern_program_add_tensor(tern_program *p, const tern_tensor_ref *t) {
  p->tensors = xrealloc(p->tensors, (p->n_tensors + 1) * sizeof *p->tensors);
  p->tensors[p->n_tensors] = *t;
  p->tensors[p->n_tensors].name[TERN_NAME_LEN - 1] = '\0';
  p->n_tensors++;
}

const tern_tensor_ref *tern_program_find_tensor(const tern_program *p, const char *name) {
  for (size_t i = 0; i < p->n_tensors; i++)
    if (strncmp(p->tensors[i].name, name, TERN_NAME_LEN) == 0) return &p->tensors[i];
  return NULL;
}

void tern_program_dma_bytes(const tern_program *p, const tern_hwcfg *hw, uint64_t lo, uint64_t hi,
                            uint64_t *rd, uint64_t *wr, uint64_t *all_rd, uint64_t *all_wr) {
  for (size_t i = 0; i < p->n_insns; i++) {
    const tern_insn *in = &p->insns[i];
    if (in->op != TERN_OP_LOAD && in->op != TERN_OP_STORE) continue;
    uint64_t wb = tern_mem_word_bytes(hw, in->mem);
    uint64_t beat = (uint64_t)hw->dram_bw < wb ? (uint64_t)hw->dram_bw : wb;
    uint64_t bytes = (uint64_t)in->y_size * in->x_size * wb / beat * beat;
    int ld = in->op == TERN_OP_LOAD, inside = in->dram_addr >= lo && in->dram_addr < hi;
    uint64_t *all = ld ? all_rd : all_wr, *part = ld ? rd : wr;
    if (all) *all += bytes;
    if (inside && part) *part += bytes;
  }
}

uint64_t tern_tensor_row_bytes(uint32_t dtype, uint32_t cols) {
  switch (dtype) {
  case TERN_DT_I32: return 4 * (uint64_t)cols;
  case TERN_DT_W2: return ((uint64_t)cols + 3) / 4;
  default: return cols;
  }
}

int tern_tensor_check(const tern_tensor_ref *t, char *err, size_t errlen) {
  static const char *dt[] = {"I8", "I32", "W2", "RAW"};
  if (t->dtype > TERN_DT_RAW) {
    tern_err(err, errlen, "tensor '%s': field dtype = %" PRIu32 ", expected 0..%d", t->name,
             t->dtype, TERN_DT_RAW);
    return -1;
  }
  uint64_t rb = tern_tensor_row_bytes(t->dtype, t->cols);
  if (t->rows > 1 && t->row_stride < rb) {
    tern_err(err, errlen,
             "tensor '%s': field row_stride = %" PRIu32 ", expected >= %" PRIu64
             " (one row of %" PRIu32 " %s elements)",
             t->name, t->row_stride, rb, t->cols, dt[t->dtype]);
    return -1;
  }
  uint64_t end = tern_tensor_end(t);
  if (end > TERN_DRAM_MAX) {
    tern_err(err, errlen,
             "tensor '%s' (DRAM 0x%08" PRIx32 ", %" PRIu32 " rows x %" PRIu32
             " bytes of stride) ends at byte %" PRIu64 ", expected <= %" PRIu64
             " (32-bit DRAM addresses)",
             t->name, t->dram_addr, t->rows, t->row_stride, end, (uint64_t)TERN_DRAM_MAX);
    return -1;
  }
  return 0;
}

uint64_t tern_tensor_end(const tern_tensor_ref *t) {
  if (t->rows == 0) return t->dram_addr;
  return (uint64_t)t->dram_addr + (uint64_t)(t->rows - 1) * t->row_stride +
         tern_tensor_row_bytes(t->dtype, t->cols);
}

int tern_program_dram_need(const tern_program *p, uint64_t *need, char *err, size_t errlen) {
  if (p->dram_size > TERN_DRAM_MAX) {
    tern_err(err, errlen, "program field dram_size = %" PRIu64 ", expected <= %" PRIu64
                          " (32-bit DRAM addresses)",
             p->dram_size, (uint64_t)TERN_DRAM_MAX);
    return -1;
  }
  uint64_t n = p->dram_size;
  for (size_t i = 0; i < p->n_segs; i++) {
    uint64_t e = (uint64_t)p->segs[i].dram_addr + p->segs[i].len;
    if (e > TERN_DRAM_MAX) {
      tern_err(err, errlen,
               "segment %zu (DRAM 0x%08" PRIx32 ", %" PRIu32 " bytes) ends at byte %" PRIu64
               ", expected <= %" PRIu64 " (32-bit DRAM addresses)",
               i, p->segs[i].dram_addr, p->segs[i].len, e, (uint64_t)TERN_DRAM_MAX);
      return -1;
    }
    if (e > n) n = e;
  }
  for (size_t i = 0; i < p->n_tensors; i++) {
    if (tern_tensor_check(&p->tensors[i], err, errlen) != 0) return -1;
    uint64_t e = tern_tensor_end(&p->tensors[i]);
    if (e > n) n = e;
  }
  /* n <= 2^32: rounding up to 64 cannot wrap */
  *need = n ? (n + 63) & ~(uint64_t)63 : 64;
  return 0;
}

int tern_program_init_dram(const tern_program *p, uint8_t *dram, uint64_t dram_bytes, char *err,
                           size_t errlen) {
  for (size_t i = 0; i < p->n_segs; i++) {
    const tern_segment *s = &p->segs[i];
    if ((uint64_t)s->dram_addr + s->len > dram_bytes) {
      tern_err(err, errlen,
              "segment %zu (DRAM 0x%" PRIx32 "..+%" PRIu32 ") does not fit in DRAM of %" PRIu64
              " bytes",
              i, s->dram_addr, s->len, dram_bytes);
      return -1;
    }
    if (s->len) memcpy(dram + s->dram_addr, s->data, s->len);
  }
  return 0;
}

/* ---- byte buffer helpers ----------------------------------------------- */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < b->n + n) c *= 2;
    b->p = xrealloc(b->p, c);
    b->cap = c;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

static void put_u32(buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, x, 4);
}

static void put_u64(buf *b, uint64_t v) {
  put_u32(b, (uint32_t)v);
  put_u32(b, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

#define HDR_CFG_FIELDS 10
/* magic 8 + version 4 + cfg 40 + dram_size 8 + 3 counts 12 */
#define HDR_BYTES (8 + 4 + 4 * HDR_CFG_FIELDS + 8 + 12)
#define TENSOR_BYTES (TERN_NAME_LEN + 5 * 4)

static const char *cfg_field_names[HDR_CFG_FIELDS] = {"rows",       "cols",      "wbuf_depth",
                                                      "abuf_depth", "acc_depth", "out_depth",
                                                      "qdepth",     "imem_depth", "dram_bw",
                                                      "dram_lat"};

int tern_program_write(const tern_program *p, const char *path, char *err, size_t errlen) {
  buf b = {0};
  put(&b, TERN_PROG_MAGIC, 8);
  put_u32(&b, TERN_PROG_VERSION);
  const int cf[HDR_CFG_FIELDS] = {p->cfg.rows,       p->cfg.cols,      p->cfg.wbuf_depth,
                                  p->cfg.abuf_depth, p->cfg.acc_depth, p->cfg.out_depth,
                                  p->cfg.qdepth,     p->cfg.imem_depth, p->cfg.dram_bw,
                                  p->cfg.dram_lat};
  for (int i = 0; i < HDR_CFG_FIELDS; i++) put_u32(&b, (uint32_t)cf[i]);
  put_u64(&b, p->dram_size);
  if (p->n_insns > UINT32_MAX || p->n_segs > UINT32_MAX || p->n_tensors > UINT32_MAX) {
    tern_err(err, errlen, "%s: too many instructions/segments/tensors for the format", path);
    free(b.p);
    return -1;
  }
  put_u32(&b, (uint32_t)p->n_insns);
  put_u32(&b, (uint32_t)p->n_segs);
  put_u32(&b, (uint32_t)p->n_tensors);
  for (size_t i = 0; i < p->n_insns; i++) {
    tern_word w;
    char e2[200];
    if (tern_encode(&p->insns[i], &w, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "%s: cannot encode insn %zu: %s", path, i, e2);
      free(b.p);
      return -1;
    }
    put_u64(&b, w.w[0]);
    put_u64(&b, w.w[1]);
  }
  for (size_t i = 0; i < p->n_segs; i++) {
    put_u32(&b, p->segs[i].dram_addr);
    put_u32(&b, p->segs[i].len);
    if (p->segs[i].len) put(&b, p->segs[i].data, p->segs[i].len);
  }
  for (size_t i = 0; i < p->n_tensors; i++) {
    const tern_tensor_ref *t = &p->tensors[i];
    char name[TERN_NAME_LEN];
    memset(name, 0, sizeof name);
    size_t nl = strnlen(t->name, TERN_NAME_LEN - 1);
    memcpy(name, t->name, nl);
    put(&b, name, TERN_NAME_LEN);
    put_u32(&b, t->dram_addr);
    put_u32(&b, t->dtype);
    put_u32(&b, t->rows);
    put_u32(&b, t->cols);
    put_u32(&b, t->row_stride);
  }
  uint32_t crc = 0;
  {
    /* zlib's crc32 takes a uInt length: feed in chunks */
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < b.n;) {
      size_t chunk = b.n - off > (1u << 30) ? (1u << 30) : b.n - off;
      c = crc32(c, b.p + off, (uInt)chunk);
      off += chunk;
    }
    crc = (uint32_t)c;
  }
  put_u32(&b, crc);
  FILE *f = fopen(path, "wb");
  if (!f) {
    tern_err(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
    free(b.p);
    return -1;
  }
  size_t wr = fwrite(b.p, 1, b.n, f);
  int cl = fclose(f);
  free(b.p);
  if (wr != b.n || cl != 0) {
    tern_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Parse a complete in-memory .tbin image. */
int tern_program_parse(tern_program *p, const uint8_t *d, size_t len, const char *path, char *err,
                       size_t errlen) {
  if (len < 8 || memcmp(d, TERN_PROG_MAGIC, 8) != 0) {
    tern_err(err, errlen, "%s: bad magic at byte offset 0: expected \"%s\"%s", path, TERN_PROG_MAGIC,
            len < 8 ? " (file shorter than 8 bytes)" : "");
    return -1;
  }
  if (len < 12) {
    tern_err(err, errlen, "%s: truncated at byte offset %zu: version (u32 at offset 8) missing", path,
            len);
    return -1;
  }
  uint32_t ver = get_u32(d + 8);
  if (ver != TERN_PROG_VERSION) {
    tern_err(err, errlen, "%s: field version (byte offset 8) = %" PRIu32 ", expected %d", path, ver,
            TERN_PROG_VERSION);
    return -1;
  }
  if (len < HDR_BYTES + 4) {
    tern_err(err, errlen, "%s: truncated: file has %zu bytes, header and CRC need %d", path, len,
            HDR_BYTES + 4);
    return -1;
  }
  size_t body = len - 4; /* bytes before the CRC */
  tern_hwcfg cfg = tern_hwcfg_default();
  int *cf[HDR_CFG_FIELDS] = {&cfg.rows,       &cfg.cols,      &cfg.wbuf_depth, &cfg.abuf_depth,
                             &cfg.acc_depth,  &cfg.out_depth, &cfg.qdepth,     &cfg.imem_depth,
                             &cfg.dram_bw,    &cfg.dram_lat};
  for (int i = 0; i < HDR_CFG_FIELDS; i++) {
    uint32_t v = get_u32(d + 12 + 4 * i);
    if (v > 0x7fffffffu) {
      tern_err(err, errlen, "%s: field %s (byte offset %d) = %" PRIu32 " out of range", path,
              cfg_field_names[i], 12 + 4 * i, v);
      return -1;
    }
    *cf[i] = (int)v;
  }
  size_t off = 12 + 4 * HDR_CFG_FIELDS;
  uint64_t dram_size = get_u64(d + off);
  off += 8;
  uint32_t ni = get_u32(d + off), ns = get_u32(d + off + 4), nt = get_u32(d + off + 8);
  off += 12;
  if (ni > TERN_HW_DEPTH_MAX) {
    tern_err(err, errlen, "%s: field n_insns (byte offset %d) = %" PRIu32
                          ", expected at most %d (the largest IMEM)",
             path, HDR_BYTES - 12, ni, TERN_HW_DEPTH_MAX);
    return -1;
  }
  /* counts against the file length */
  if ((uint64_t)ni * 16 > body - off) {
    tern_err(err, errlen,
            "%s: field n_insns (byte offset %d) = %" PRIu32 " needs %" PRIu64
            " bytes of instructions but only %zu remain before the CRC",
            path, HDR_BYTES - 12, ni, (uint64_t)ni * 16, body - off);
    return -1;
  }
  size_t insn_off = off;
  off += (size_t)ni * 16;
  /* walk the segments without allocating */
  size_t seg_off = off;
  for (uint32_t i = 0; i < ns; i++) {
    if (body - off < 8) {
      tern_err(err, errlen,
              "%s: truncated: segment %" PRIu32 " header at byte offset %zu needs 8 bytes, %zu "
              "remain (field n_segs = %" PRIu32 ")",
              path, i, off, body - off, ns);
      return -1;
    }
    uint32_t sl = get_u32(d + off + 4);
    if ((uint64_t)sl > body - off - 8) {
      tern_err(err, errlen,
              "%s: segment %" PRIu32 " length field (byte offset %zu) = %" PRIu32
              " exceeds the %zu bytes that remain before the CRC",
              path, i, off + 4, sl, body - off - 8);
      return -1;
    }
    off += 8 + (size_t)sl;
  }
  size_t ten_off = off;
  if ((uint64_t)nt * TENSOR_BYTES != body - off) {
    tern_err(err, errlen,
            "%s: field n_tensors (byte offset %d) = %" PRIu32 " needs %" PRIu64
            " bytes of tensor records, but %zu bytes remain before the CRC",
            path, HDR_BYTES - 4, nt, (uint64_t)nt * TENSOR_BYTES, body - off);
    return -1;
  }
  uint32_t want = get_u32(d + body);
  uLong c = crc32(0L, Z_NULL, 0);
  for (size_t o = 0; o < body;) {
    size_t chunk = body - o > (1u << 30) ? (1u << 30) : body - o;
    c = crc32(c, d + o, (uInt)chunk);
    o += chunk;
  }
  if ((uint32_t)c != want) {
    tern_err(err, errlen, "%s: CRC mismatch (byte offset %zu): file says 0x%08" PRIx32
            ", contents give 0x%08" PRIx32,
            path, body, want, (uint32_t)c);
    return -1;
  }
  char e2[200];
  if (tern_hwcfg_check(&cfg, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "%s: bad hardware config in header: %s", path, e2);
    return -1;
  }
  if (dram_size > TERN_DRAM_MAX) {
    tern_err(err, errlen,
             "%s: field dram_size (byte offset %d) = %" PRIu64 ", expected <= %" PRIu64
             " (32-bit DRAM addresses)",
             path, 12 + 4 * HDR_CFG_FIELDS, dram_size, (uint64_t)TERN_DRAM_MAX);
    return -1;
  }
  cfg.dram_bytes = dram_size ? dram_size : tern_hwcfg_default().dram_bytes;
  /* decode */
  tern_program q;
  tern_program_init(&q);
  q.cfg = cfg;
  q.dram_size = dram_size;
  if (ni) {
    q.insns = malloc((size_t)ni * sizeof *q.insns);
    if (!q.insns) {
      tern_err(err, errlen, "%s: out of memory for %" PRIu32 " instructions", path, ni);
      return -1;
    }
  }
  for (uint32_t i = 0; i < ni; i++) {
    tern_word w;
    const uint8_t *src = d + insn_off + 16 * (size_t)i;
    w.w[0] = get_u64(src);
    w.w[1] = get_u64(src + 8);
    if (tern_decode(&w, &q.insns[i], e2, sizeof e2) != 0) {
      tern_err(err, errlen, "%s: instruction %" PRIu32 " (byte offset %zu): %s", path, i,
              insn_off + 16 * (size_t)i, e2);
      free(q.insns);
      return -1;
    }
    q.n_insns = i + 1;
  }
  if (ns) {
    q.segs = calloc(ns, sizeof *q.segs);
    if (!q.segs) {
      tern_program_free(&q);
      tern_err(err, errlen, "%s: out of memory for %" PRIu32 " segments", path, ns);
      return -1;
    }
  }
  off = seg_off;
  for (uint32_t i = 0; i < ns; i++) {
    tern_segment *s = &q.segs[i];
    s->dram_addr = get_u32(d + off);
    s->len = get_u32(d + off + 4);
    s->data = malloc(s->len ? s->len : 1);
    if (!s->data) {
      tern_program_free(&q);
      tern_err(err, errlen, "%s: out of memory for segment %" PRIu32, path, i);
      return -1;
    }
    q.n_segs = i + 1;
    if (s->len) memcpy(s->data, d + off + 8, s->len);
    off += 8 + (size_t)s->len;
  }
  if (nt) {
    q.tensors = calloc(nt, sizeof *q.tensors);
    if (!q.tensors) {
      tern_program_free(&q);
      tern_err(err, errlen, "%s: out of memory for %" PRIu32 " tensors", path, nt);
      return -1;
    }
  }
  off = ten_off;
  for (uint32_t i = 0; i < nt; i++, off += TENSOR_BYTES) {
    tern_tensor_ref *t = &q.tensors[i];
    if (memchr(d + off, 0, TERN_NAME_LEN) == NULL) {
      tern_err(err, errlen, "%s: tensor %" PRIu32 " name (byte offset %zu) is not NUL-terminated within %d bytes",
              path, i, off, TERN_NAME_LEN);
      tern_program_free(&q);
      return -1;
    }
    const uint8_t *nul = memchr(d + off, 0, TERN_NAME_LEN);
    for (const uint8_t *z = nul; z < d + off + TERN_NAME_LEN; z++) {
      if (*z != 0) {
        tern_err(err, errlen,
                "%s: tensor %" PRIu32 " name (byte offset %zu): byte %zu after the terminating NUL "
                "is 0x%02x, expected 0 padding",
                path, i, off, (size_t)(z - (d + off)), *z);
        tern_program_free(&q);
        return -1;
      }
    }
    memcpy(t->name, d + off, TERN_NAME_LEN);
    t->dram_addr = get_u32(d + off + 32);
    t->dtype = get_u32(d + off + 36);
    t->rows = get_u32(d + off + 40);
    t->cols = get_u32(d + off + 44);
    t->row_stride = get_u32(d + off + 48);
    if (tern_tensor_check(t, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "%s: tensor record %" PRIu32 " (byte offset %zu): %s", path, i, off, e2);
      tern_program_free(&q);
      return -1;
    }
    q.n_tensors = i + 1;
  }
  *p = q;
  return 0;
}

int tern_program_read(tern_program *p, const char *path, char *err, size_t errlen) {
  /* a program file is a regular file: its size bounds the read (a device or a
   * pipe such as /dev/zero is refused before anything is read) */
  struct stat st;
  if (stat(path, &st) != 0) {
    tern_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    tern_err(err, errlen, "%s: not a regular file, expected a .tbin program file", path);
    return -1;
  }
  uint8_t *d;
  size_t sz;
  if (tern_read_file(path, TERN_PROG_MAX_FILE, "a .tbin program file", &d, &sz, err, errlen))
    return -1;
  int rc = tern_program_parse(p, d, sz, path, err, errlen);
  free(d);
  return rc;
}
