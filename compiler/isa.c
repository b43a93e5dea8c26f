/* tern ISA v2: encode / decode / names, all driven by the X-macro table in
 * include/tern/isa_table.h (no bit positions are written here).  The static
 * program validator tern_validate lives here too. */
#include "tern/err.h"
#include "tern/isa.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field table ------------------------------------------------------- */

const tern_field_desc tern_fields[] = {
#define X(fmt, name, lsb, width) {#fmt, #name, lsb, width},
    TERN_FIELDS(X)
#undef X
};
const size_t tern_nfields = sizeof(tern_fields) / sizeof(tern_fields[0]);

/* Struct member of each table field (the struct uses the lower-case names). */
#define TF_OP op
#define TF_POP_PREV pop_prev
#define TF_POP_NEXT pop_next
#define TF_PUSH_PREV push_prev
#define TF_PUSH_NEXT push_next
#define TF_QUEUE queue
#define TF_MEM mem
#define TF_SRAM_ADDR sram_addr
#define TF_SRAM_STRIDE sram_stride
#define TF_Y_SIZE y_size
#define TF_DRAM_ADDR dram_addr
#define TF_X_SIZE x_size
#define TF_DRAM_STRIDE dram_stride
#define TF_RESET reset
#define TF_WBUF_ADDR wbuf_addr
#define TF_ABUF_ADDR abuf_addr
#define TF_ACC_ADDR acc_addr
#define TF_M m
#define TF_ABUF_STRIDE abuf_stride
#define TF_ACC_STRIDE acc_stride
#define TF_VOP vop
#define TF_MODE mode
#define TF_DST dst
#define TF_SRC1 src1
#define TF_SRC2 src2
#define TF_N n
#define TF_ROWS rows
#define TF_DST_RS dst_rs
#define TF_SRC_RS src_rs
#define TF_SHIFT shift
#define TF_MEMBER(name) TF_##name

enum { FMT_ALL, FMT_SYNC, FMT_DMA, FMT_GEMM, FMT_VEC };

static int fmt_applies(int fmt, int op) {
  switch (fmt) {
    case FMT_ALL: return 1;
    case FMT_SYNC: return op == TERN_OP_SYNC;
    case FMT_DMA: return op == TERN_OP_LOAD || op == TERN_OP_STORE;
    case FMT_GEMM: return op == TERN_OP_GEMM;
    case FMT_VEC: return op == TERN_OP_VEC;
    default: return 0;
  }
}

static uint64_t get_bits(const tern_word *w, int lsb, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; i++) {
    int b = lsb + i;
    v |= ((w->w[b >> 6] >> (b & 63)) & 1u) << i;
  }
  return v;
}

static void put_bits(tern_word *w, int lsb, int width, uint64_t v) {
  for (int i = 0; i < width; i++) {
    int b = lsb + i;
    if ((v >> i) & 1u) w->w[b >> 6] |= (uint64_t)1 << (b & 63);
  }
}

static uint64_t field_max(int width) { return width >= 64 ? UINT64_MAX : (((uint64_t)1 << width) - 1); }

/* ---- names --------------------------------------------------------------- */

const char *tern_op_name(int op) {
  switch (op) {
#define X(n, v, q) \
  case v: return #n;
    TERN_OPCODES(X)
#undef X
    default: return NULL;
  }
}

const char *tern_vop_name(int vop) {
  switch (vop) {
#define X(n, v, k) \
  case v: return #n;
    TERN_VOPS(X)
#undef X
    default: return NULL;
  }
}

const char *tern_mem_name(int mem) {
  switch (mem) {
#define X(n, v) \
  case v: return #n;
    TERN_MEMS(X)
#undef X
    default: return NULL;
  }
}

char tern_vop_kind(int vop) {
  switch (vop) {
#define X(n, v, k) \
  case v: return #k[0];
    TERN_VOPS(X)
#undef X
    default: return 0;
  }
}

int tern_insn_queue(const tern_insn *in) {
  switch (in->op) {
#define X(n, v, q) \
  case v: return (q) < 0 ? (int)in->queue : (q);
    TERN_OPCODES(X)
#undef X
    default: return -1;
  }
}

uint32_t tern_mem_word_bytes(const tern_hwcfg *cfg, int mem) {
  switch (mem) {
    case TERN_MEM_WBUF: return (uint32_t)(cfg->rows * cfg->cols / 4);
    case TERN_MEM_ABUF: return (uint32_t)cfg->rows;
    case TERN_MEM_ACC: return (uint32_t)(4 * cfg->cols);
    case TERN_MEM_OUT: return (uint32_t)cfg->cols;
    case TERN_MEM_OUT8: return 1u;
    default: return 0;
  }
}

uint32_t tern_mem_depth(const tern_hwcfg *cfg, int mem) {
  switch (mem) {
    case TERN_MEM_WBUF: return (uint32_t)cfg->wbuf_depth;
    case TERN_MEM_ABUF: return (uint32_t)cfg->abuf_depth;
    case TERN_MEM_ACC: return (uint32_t)cfg->acc_depth;
    case TERN_MEM_OUT: return (uint32_t)cfg->out_depth;
    case TERN_MEM_OUT8: {
      /* byte view of OUT; the 16-bit SRAM fields address the first 64 KiB */
      uint64_t b = (uint64_t)cfg->out_depth * (uint64_t)cfg->cols;
      return (uint32_t)(b < TERN_OUT8_MAX_BYTES ? b : TERN_OUT8_MAX_BYTES);
    }
    default: return 0;
  }
}

/* ---- encode / decode ------------------------------------------------------ */

int tern_encode(const tern_insn *in, tern_word *out, char *err, size_t errlen) {
  tern_word w = {{0, 0}};
  if (in->op >= TERN_OP_COUNT) {
    tern_err(err, errlen, "field OP = %u out of range: expected an opcode 0..%d", in->op,
            TERN_OP_COUNT - 1);
    return -1;
  }
  if (in->op == TERN_OP_VEC && in->vop >= TERN_VOP_COUNT) {
    tern_err(err, errlen, "field VOP = %u: unknown vector sub-opcode (expected 0..%d)", in->vop,
            TERN_VOP_COUNT - 1);
    return -1;
  }
  const char *opn = tern_op_name(in->op);
#define X(fmt, name, lsb, width)                                                                \
  {                                                                                             \
    uint64_t v = (uint64_t)in->TF_MEMBER(name);                                                 \
    if (fmt_applies(FMT_##fmt, in->op)) {                                                       \
      if (v > field_max(width)) {                                                               \
        tern_err(err, errlen, "%s: value %" PRIu64 " out of range for field %s (0..%" PRIu64 ")", \
                opn, v, #name, field_max(width));                                               \
        return -1;                                                                              \
      }                                                                                         \
      put_bits(&w, lsb, width, v);                                                              \
    }                                                                                           \
  }
  TERN_FIELDS(X)
#undef X
  /* Fields of other formats must be zero (the decoded form keeps them zero,
   * so encode(decode(x)) == x and no information is silently dropped).
   * Every field name appears in exactly one format of the table. */
#define X(fmt, name, lsb, width)                                                            \
  if (!fmt_applies(FMT_##fmt, in->op) && in->TF_MEMBER(name) != 0) {                        \
    tern_err(err, errlen, "%s: field %s = %" PRIu64 " is not used by %s and must be 0", opn, \
            #name, (uint64_t)in->TF_MEMBER(name), opn);                                     \
    return -1;                                                                              \
  }
  TERN_FIELDS(X)
#undef X
  *out = w;
  return 0;
}

int tern_decode(const tern_word *in, tern_insn *out, char *err, size_t errlen) {
  tern_insn d;
  memset(&d, 0, sizeof d);
  tern_word used = {{0, 0}};
  uint64_t op = get_bits(in, 0, 4);
  if (op >= TERN_OP_COUNT) {
    tern_err(err, errlen, "unknown opcode %" PRIu64 " (expected 0..%d)", op, TERN_OP_COUNT - 1);
    return -1;
  }
#define X(fmt, name, lsb, width)                                \
  if (fmt_applies(FMT_##fmt, (int)op)) {                        \
    d.TF_MEMBER(name) = get_bits(in, lsb, width);                \
    put_bits(&used, lsb, width, field_max(width));              \
  }
  TERN_FIELDS(X)
#undef X
  uint64_t r0 = in->w[0] & ~used.w[0], r1 = in->w[1] & ~used.w[1];
  if (r0 || r1) {
    int bit = r0 ? __builtin_ctzll(r0) : 64 + __builtin_ctzll(r1);
    tern_err(err, errlen, "%s: reserved bit %d is set (must be 0)", tern_op_name((int)op), bit);
    return -1;
  }
  if (d.op == TERN_OP_VEC && d.vop >= TERN_VOP_COUNT) {
    tern_err(err, errlen, "VEC: unknown sub-opcode VOP = %u (expected 0..%d)", d.vop,
            TERN_VOP_COUNT - 1);
    return -1;
  }
  if ((d.op == TERN_OP_LOAD || d.op == TERN_OP_STORE) && d.mem >= TERN_MEM_COUNT) {
    tern_err(err, errlen, "%s: unknown memory MEM = %u (expected 0..%d)", tern_op_name(d.op), d.mem,
            TERN_MEM_COUNT - 1);
    return -1;
  }
  *out = d;
  return 0;
}

/* ---- static validation ---------------------------------------------------- */

/* A strided word set: rows of `n` consecutive words starting at base + r*rs. */
typedef struct wset {
  uint64_t base, rs, n, rows;
} wset;

static uint64_t wset_first(const wset *s) { return s->base; }
static uint64_t wset_last(const wset *s) { return s->base + (s->rows - 1) * s->rs + s->n - 1; }

static int wset_same(const wset *a, const wset *b) {
  if (a->base != b->base || a->n != b->n || a->rows != b->rows) return 0;
  return a->rows == 1 || a->rs == b->rs;
}

/* Do two strided word sets share a word?  Exact: marks one set over the
 * common span with a difference array (O(rows + span)). */
static int wset_overlap(const wset *a, const wset *b) {
  uint64_t lo = wset_first(a) > wset_first(b) ? wset_first(a) : wset_first(b);
  uint64_t hi = wset_last(a) < wset_last(b) ? wset_last(a) : wset_last(b);
  if (lo > hi) return 0;
  uint64_t span = hi - lo + 1;
  /* span <= 65536 because every range was already checked against a depth */
  int32_t *diff = calloc((size_t)span + 1, sizeof *diff);
  uint32_t *prefix = malloc(((size_t)span + 1) * sizeof *prefix);
  if (!diff || !prefix) {
    free(diff);
    free(prefix);
    return 1; /* out of memory: report a conflict rather than accept */
  }
  uint64_t rows = a->rs == 0 ? 1 : a->rows;
  for (uint64_t r = 0; r < rows; r++) {
    uint64_t s = a->base + r * a->rs, e = s + a->n - 1;
    if (e < lo || s > hi) continue;
    if (s < lo) s = lo;
    if (e > hi) e = hi;
    diff[s - lo]++;
    diff[e - lo + 1]--;
  }
  /* prefix[i] = number of marked words in lo .. lo+i-1 */
  int32_t run = 0;
  prefix[0] = 0;
  for (uint64_t i = 0; i < span; i++) {
    run += diff[i];
    prefix[i + 1] = prefix[i] + (run > 0);
  }
  rows = b->rs == 0 ? 1 : b->rows;
  for (uint64_t r = 0; r < rows; r++) {
    uint64_t s = b->base + r * b->rs, e = s + b->n - 1;
    if (e < lo || s > hi) continue;
    if (s < lo) s = lo;
    if (e > hi) e = hi;
    if (prefix[e - lo + 1] - prefix[s - lo] > 0) {
      free(diff);
      free(prefix);
      return 1;
    }
  }
  free(diff);
  free(prefix);
  return 0;
}

static const char *insn_label(const tern_insn *in, char *buf, size_t len) {
  const char *on = tern_op_name(in->op);
  if (!on) {
    snprintf(buf, len, "op %u", in->op);
  } else if (in->op == TERN_OP_VEC && tern_vop_name(in->vop)) {
    snprintf(buf, len, "VEC %s", tern_vop_name(in->vop));
  } else {
    snprintf(buf, len, "%s", on);
  }
  return buf;
}

#define VFAIL(...)                                                       \
  do {                                                                   \
    char msg_[256];                                                      \
    char lab_[32];                                                       \
    snprintf(msg_, sizeof msg_, __VA_ARGS__);                            \
    tern_err(err, errlen, "insn %zu (%s): %s", idx, insn_label(in, lab_, sizeof lab_), msg_); \
    return -1;                                                           \
  } while (0)

static int check_range(const char *what, const wset *s, uint64_t depth, const char *mem,
                       size_t idx, const tern_insn *in, char *err, size_t errlen) {
  uint64_t last = wset_last(s);
  if (last >= depth)
    VFAIL("%s range %" PRIu64 "..%" PRIu64 " exceeds %s depth %" PRIu64, what, wset_first(s), last,
          mem, depth);
  return 0;
}

static int validate_one(const tern_hwcfg *cfg, const tern_insn *in, size_t idx, uint64_t dram_bytes,
                        char *err, size_t errlen) {
  if (in->op >= TERN_OP_COUNT) VFAIL("unknown opcode %u", in->op);
  if (in->pop_prev > 1 || in->pop_next > 1 || in->push_prev > 1 || in->push_next > 1)
    VFAIL("token flags must be 0 or 1");
  if (in->op == TERN_OP_SYNC && in->queue >= TERN_Q_COUNT)
    VFAIL("field QUEUE = %u, expected 0 (load), 1 (compute) or 2 (store)", in->queue);
  int q = tern_insn_queue(in);
  if (q == TERN_Q_LOAD && (in->pop_prev || in->push_prev))
    VFAIL("a load-queue instruction may not set %s (there is no previous queue)",
          in->pop_prev ? "POP_PREV" : "PUSH_PREV");
  if (q == TERN_Q_STORE && (in->pop_next || in->push_next))
    VFAIL("a store-queue instruction may not set %s (there is no next queue)",
          in->pop_next ? "POP_NEXT" : "PUSH_NEXT");
  /* encodability: every field fits */
  {
    tern_word w;
    char e2[160];
    if (tern_encode(in, &w, e2, sizeof e2) != 0) VFAIL("%s", e2);
  }
  switch (in->op) {
    case TERN_OP_LOAD:
    case TERN_OP_STORE: {
      int ld = in->op == TERN_OP_LOAD;
      if (in->mem >= TERN_MEM_COUNT)
        VFAIL("field MEM = %u, expected WBUF (0), ABUF (1), ACC (2), OUT (3) or OUT8 (4)", in->mem);
      if (!ld && !(in->mem == TERN_MEM_ACC || in->mem == TERN_MEM_OUT || in->mem == TERN_MEM_OUT8))
        VFAIL("field MEM = %u, expected ACC (2), OUT (3) or OUT8 (4) for STORE", in->mem);
      if (in->y_size < 1) VFAIL("field Y_SIZE = 0, expected >= 1");
      if (in->x_size < 1) VFAIL("field X_SIZE = 0, expected >= 1");
      wset s = {in->sram_addr, in->sram_stride, in->x_size, in->y_size};
      if (check_range("SRAM", &s, tern_mem_depth(cfg, in->mem), tern_mem_name(in->mem), idx, in, err,
                      errlen))
        return -1;
      uint64_t wb = tern_mem_word_bytes(cfg, in->mem);
      uint64_t end = (uint64_t)in->dram_addr + (uint64_t)(in->y_size - 1) * in->dram_stride +
                     (uint64_t)in->x_size * wb;
      if (dram_bytes && end > dram_bytes)
        VFAIL("DRAM range 0x%" PRIx64 "..0x%" PRIx64 " exceeds DRAM size 0x%" PRIx64,
              (uint64_t)in->dram_addr, end - 1, dram_bytes);
      break;
    }
    case TERN_OP_GEMM: {
      if (in->m < 1) VFAIL("field M = 0, expected >= 1");
      if (in->wbuf_addr >= (uint64_t)cfg->wbuf_depth)
        VFAIL("WBUF_ADDR %u exceeds WBUF depth %d", in->wbuf_addr, cfg->wbuf_depth);
      wset a = {in->abuf_addr, in->abuf_stride, 1, in->m};
      wset c = {in->acc_addr, in->acc_stride, 1, in->m};
      if (check_range("ABUF", &a, (uint64_t)cfg->abuf_depth, "ABUF", idx, in, err, errlen)) return -1;
      if (check_range("ACC", &c, (uint64_t)cfg->acc_depth, "ACC", idx, in, err, errlen)) return -1;
      break;
    }
    case TERN_OP_VEC: {
      char kind = tern_vop_kind(in->vop);
      if (!kind) VFAIL("field VOP = %u, expected 0..%d", in->vop, TERN_VOP_COUNT - 1);
      if (in->mode > 3) VFAIL("field MODE = %u, expected 0..3", in->mode);
      if (in->n < 1) VFAIL("field N = 0, expected >= 1");
      if (in->rows < 1) VFAIL("field ROWS = 0, expected >= 1");
      if (in->shift > 62) VFAIL("field SHIFT = %u, expected <= 62", in->shift);
      uint64_t acc = (uint64_t)cfg->acc_depth;
      if (kind == 'L') {
        if ((uint64_t)in->n * (uint64_t)cfg->cols != TERN_LUT_ENTRIES)
          VFAIL("field N = %u, expected N*cols = %d (cols = %d)", in->n, TERN_LUT_ENTRIES, cfg->cols);
        wset s1 = {in->src1, 0, in->n, 1};
        if (check_range("SRC1", &s1, acc, "ACC", idx, in, err, errlen)) return -1;
        break;
      }
      if (kind == 'M') {
        /* MAC8: B rows and the scalar stream in OUT, results in ACC; OUT is
         * only read and ACC only written, so only bounds matter. */
        if (in->mode > 1)
          VFAIL("field MODE = %u, expected 0 (set) or 1 (acc) for MAC8", in->mode);
        if (in->shift != 0) VFAIL("field SHIFT = %u, expected 0 for MAC8", in->shift);
        if (in->dst_rs != 0) VFAIL("field DST_RS = %u, expected 0 for MAC8", in->dst_rs);
        uint64_t od = (uint64_t)cfg->out_depth;
        wset b = {in->src1, in->src_rs, in->n, in->rows};
        if (check_range("SRC1 (B rows)", &b, od, "OUT", idx, in, err, errlen)) return -1;
        uint64_t sw = ((uint64_t)in->rows + (uint64_t)cfg->cols - 1) / (uint64_t)cfg->cols;
        wset a = {in->src2, 0, sw, 1};
        if (check_range("SRC2 (scalar stream)", &a, od, "OUT", idx, in, err, errlen)) return -1;
        wset d = {in->dst, 0, in->n, 1};
        if (check_range("DST", &d, acc, "ACC", idx, in, err, errlen)) return -1;
        break;
      }
      if (kind == 'S' && in->n != 1) VFAIL("field N = %u, expected 1 for a scalar op", in->n);
      wset s1 = {in->src1, in->src_rs, in->n, in->rows};
      if (check_range("SRC1", &s1, acc, "ACC", idx, in, err, errlen)) return -1;
      int has_b = (kind == 'E' && in->vop != TERN_VOP_LUT) || kind == 'Q' || kind == 'S';
      wset s2 = {in->src2, 0, in->n, in->rows};
      switch (in->mode) {
        case TERN_VMODE_VEC: s2.rs = in->src_rs; break;
        case TERN_VMODE_BCASTROW: s2.rows = 1; break;
        case TERN_VMODE_PERROW: s2.n = 1; s2.rs = 1; break;
        default: s2.n = 1; s2.rows = 1; break;
      }
      if (has_b && check_range("SRC2", &s2, acc, "ACC", idx, in, err, errlen)) return -1;
      wset d;
      if (kind == 'E' || kind == 'Q') {
        d = (wset){in->dst, in->dst_rs, in->n, in->rows};
      } else {
        d = (wset){in->dst, in->dst_rs, 1, in->rows};
      }
      if (kind == 'Q') {
        if (check_range("DST", &d, (uint64_t)cfg->out_depth, "OUT", idx, in, err, errlen)) return -1;
        break; /* writes OUT: no ACC overlap possible */
      }
      if (check_range("DST", &d, acc, "ACC", idx, in, err, errlen)) return -1;
      /* overlap rule */
      int inplace = kind == 'E' && wset_same(&d, &s1);
      if (!inplace && wset_overlap(&d, &s1))
        VFAIL("DST range %" PRIu64 "..%" PRIu64 " overlaps SRC1 range %" PRIu64 "..%" PRIu64
              " (must be disjoint or exactly in place)",
              wset_first(&d), wset_last(&d), wset_first(&s1), wset_last(&s1));
      if (has_b && !(inplace && wset_same(&s2, &s1)) && wset_overlap(&d, &s2))
        VFAIL("DST range %" PRIu64 "..%" PRIu64 " overlaps SRC2 range %" PRIu64 "..%" PRIu64
              " (must be disjoint)",
              wset_first(&d), wset_last(&d), wset_first(&s2), wset_last(&s2));
      break;
    }
    default: break;
  }
  return 0;
}

int tern_validate(const tern_hwcfg *cfg, const tern_insn *prog, size_t n, uint64_t dram_bytes,
                  char *err, size_t errlen) {
  if (tern_hwcfg_check(cfg, err, errlen) != 0) return -1;
  if (n == 0) {
    tern_err(err, errlen, "empty program: expected at least an END instruction");
    return -1;
  }
  if (n > (size_t)cfg->imem_depth) {
    tern_err(err, errlen, "program has %zu instructions, exceeds IMEM depth %d", n, cfg->imem_depth);
    return -1;
  }
  for (size_t idx = 0; idx < n; idx++) {
    const tern_insn *in = &prog[idx];
    if (validate_one(cfg, in, idx, dram_bytes, err, errlen) != 0) return -1;
    if (in->op == TERN_OP_END && idx != n - 1)
      VFAIL("END must be the last instruction (program has %zu instructions)", n);
  }
  if (prog[n - 1].op != TERN_OP_END) {
    tern_err(err, errlen, "insn %zu (%s): the last instruction must be END", n - 1,
            tern_op_name(prog[n - 1].op) ? tern_op_name(prog[n - 1].op) : "?");
    return -1;
  }
  return 0;
}
