/* Assembler / disassembler for the text syntax of docs/ISA.md "Assembly",
 * and the raw words (.bin) decoder.  Field ranges come from the table
 * (tern_fields), so the assembler cannot drift from the encoder. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern/err.h"
#include "tern/program.h"

/* Width of a table field by name (0 if unknown). */
static int field_width(const char *name) {
  for (size_t i = 0; i < tern_nfields; i++)
    if (!strcmp(tern_fields[i].name, name)) return tern_fields[i].width;
  return 0;
}

enum kv_kind { K_NUM, K_MEM, K_QUEUE, K_VOP, K_MODE };

typedef struct keydef {
  int op;            /* opcode the key belongs to */
  const char *key;   /* assembly key */
  const char *field; /* table field */
  enum kv_kind kind;
  size_t off;        /* offset of the member in tern_insn */
  int size;          /* member size in bytes */
} keydef;

#define M(member) offsetof(tern_insn, member), (int)sizeof(((tern_insn *)0)->member)
static const keydef keys[] = {
    {TERN_OP_SYNC, "q", "QUEUE", K_QUEUE, M(queue)},
    {TERN_OP_LOAD, "mem", "MEM", K_MEM, M(mem)},
    {TERN_OP_LOAD, "sram", "SRAM_ADDR", K_NUM, M(sram_addr)},
    {TERN_OP_LOAD, "sstride", "SRAM_STRIDE", K_NUM, M(sram_stride)},
    {TERN_OP_LOAD, "y", "Y_SIZE", K_NUM, M(y_size)},
    {TERN_OP_LOAD, "x", "X_SIZE", K_NUM, M(x_size)},
    {TERN_OP_LOAD, "dram", "DRAM_ADDR", K_NUM, M(dram_addr)},
    {TERN_OP_LOAD, "dstride", "DRAM_STRIDE", K_NUM, M(dram_stride)},
    {TERN_OP_GEMM, "w", "WBUF_ADDR", K_NUM, M(wbuf_addr)},
    {TERN_OP_GEMM, "a", "ABUF_ADDR", K_NUM, M(abuf_addr)},
    {TERN_OP_GEMM, "acc", "ACC_ADDR", K_NUM, M(acc_addr)},
    {TERN_OP_GEMM, "m", "M", K_NUM, M(m)},
    {TERN_OP_GEMM, "astride", "ABUF_STRIDE", K_NUM, M(abuf_stride)},
    {TERN_OP_GEMM, "accstride", "ACC_STRIDE", K_NUM, M(acc_stride)},
    {TERN_OP_GEMM, "reset", "RESET", K_NUM, M(reset)},
    {TERN_OP_VEC, "op", "VOP", K_VOP, M(vop)},
    {TERN_OP_VEC, "mode", "MODE", K_MODE, M(mode)},
    {TERN_OP_VEC, "dst", "DST", K_NUM, M(dst)},
    {TERN_OP_VEC, "src1", "SRC1", K_NUM, M(src1)},
    {TERN_OP_VEC, "src2", "SRC2", K_NUM, M(src2)},
    {TERN_OP_VEC, "n", "N", K_NUM, M(n)},
    {TERN_OP_VEC, "rows", "ROWS", K_NUM, M(rows)},
    {TERN_OP_VEC, "dst_rs", "DST_RS", K_NUM, M(dst_rs)},
    {TERN_OP_VEC, "src_rs", "SRC_RS", K_NUM, M(src_rs)},
    {TERN_OP_VEC, "shift", "SHIFT", K_NUM, M(shift)},
    /* token flags: valid for every opcode, also as key=0/1 */
    {-1, "pop_prev", "POP_PREV", K_NUM, M(pop_prev)},
    {-1, "pop_next", "POP_NEXT", K_NUM, M(pop_next)},
    {-1, "push_prev", "PUSH_PREV", K_NUM, M(push_prev)},
    {-1, "push_next", "PUSH_NEXT", K_NUM, M(push_next)},
};
#undef M
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *mnemonics[TERN_OP_COUNT] = {"sync", "load", "store", "gemm", "vec", "end"};
static const char *queues[3] = {"load", "compute", "store"};
static const char *modes[4] = {"vec", "bcastrow", "perrow", "const"};
static const char *mac8_modes[2] = {"set", "acc"}; /* MODE of VEC op=mac8 */
static const char *mems[TERN_MEM_COUNT] = {"wbuf", "abuf", "acc", "out", "out8"};

static int key_applies(const keydef *k, int op) {
  if (k->op < 0) return 1;
  if (k->op == TERN_OP_LOAD) return op == TERN_OP_LOAD || op == TERN_OP_STORE;
  return k->op == op;
}

static void store_member(tern_insn *in, const keydef *k, uint64_t v) {
  unsigned char *p = (unsigned char *)in + k->off;
  switch (k->size) {
    case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    default: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
  }
}

static uint64_t load_member(const tern_insn *in, const keydef *k) {
  const unsigned char *p = (const unsigned char *)in + k->off;
  switch (k->size) {
    case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    default: { uint32_t x; memcpy(&x, p, 4); return x; }
  }
}

/* Strict unsigned number: decimal or 0x hex, whole token.  -1 if not a number,
 * -2 if it does not fit 64 bits. */
static int parse_num(const char *s, uint64_t *v) {
  if (!*s || !isdigit((unsigned char)*s)) return -1;
  errno = 0;
  char *end;
  unsigned long long x = strtoull(s, &end, 0);
  if (*end) return -1;
  if (errno == ERANGE) return -2;
  *v = x;
  return 0;
}

static int lookup(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcasecmp(s, names[i])) return i;
  return -1;
}

static int vop_lookup(const char *s) {
  for (int v = 0; v < TERN_VOP_COUNT; v++)
    if (!strcasecmp(s, tern_vop_name(v))) return v;
  return -1;
}

typedef struct line_ctx {
  const char *fname;
  size_t line;
  char *err;
  size_t errlen;
} line_ctx;

#define LERR(c, ...)                                                   \
  do {                                                                 \
    char m_[256];                                                      \
    snprintf(m_, sizeof m_, __VA_ARGS__);                              \
    tern_err((c)->err, (c)->errlen, "%s:%zu: %s", (c)->fname, (c)->line, m_); \
    return -1;                                                         \
  } while (0)

/* Assemble one line (already stripped of comments) of tokens; *have = 0 for
 * an empty line. */
static int asm_line(char *s, line_ctx *c, tern_insn *out, int *have) {
  char *tok[64];
  int nt = 0;
  char *p = s;
  while (*p) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) break;
    if (nt == 64) LERR(c, "too many fields on one line (max 63)");
    tok[nt++] = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    if (*p) *p++ = '\0';
  }
  *have = 0;
  if (nt == 0) return 0;
  int op = lookup(tok[0], mnemonics, TERN_OP_COUNT);
  if (op < 0) {
    char t[40];
    snprintf(t, sizeof t, "%.32s", tok[0]);
    LERR(c, "unknown mnemonic '%s' (expected sync, load, store, gemm, vec or end)", t);
  }
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = (uint8_t)op;
  unsigned char seen[NKEYS];
  memset(seen, 0, sizeof seen);
  const char *mode_name = NULL; /* resolved after op= is known (mac8: set/acc) */
  for (int i = 1; i < nt; i++) {
    char *key = tok[i], *val = strchr(tok[i], '=');
    if (val) *val++ = '\0';
    char kb[40];
    snprintf(kb, sizeof kb, "%.32s", key);
    const keydef *k = NULL;
    size_t ki = 0;
    for (ki = 0; ki < NKEYS; ki++)
      if (!strcmp(keys[ki].key, key) && key_applies(&keys[ki], op)) {
        k = &keys[ki];
        break;
      }
    if (!k) LERR(c, "unknown key '%s' for %s", kb, mnemonics[op]);
    if (seen[ki]) LERR(c, "key '%s' given twice", kb);
    seen[ki] = 1;
    uint64_t v = 0;
    if (!val) {
      /* bare word: a flag (token flags, reset) */
      if (k->kind != K_NUM || field_width(k->field) != 1)
        LERR(c, "key '%s' needs a value (%s=...)", kb, kb);
      v = 1;
    } else {
      char vb[40];
      snprintf(vb, sizeof vb, "%.32s", val);
      int e = 0, idx = -1;
      switch (k->kind) {
        case K_MEM: idx = lookup(val, mems, TERN_MEM_COUNT); break;
        case K_QUEUE: idx = lookup(val, queues, 3); break;
        case K_VOP: idx = vop_lookup(val); break;
        case K_MODE:
          if (lookup(val, modes, 4) >= 0 || lookup(val, mac8_modes, 2) >= 0) {
            mode_name = val;
            continue;
          }
          break;
        default: break;
      }
      if (idx >= 0) {
        v = (uint64_t)idx;
      } else if ((e = parse_num(val, &v)) != 0) {
        if (e == -2)
          LERR(c, "value %s out of range for field %s (0..%" PRIu64 ")", vb, k->field,
               (((uint64_t)1 << field_width(k->field)) - 1));
        switch (k->kind) {
          case K_MEM:
            LERR(c, "bad value '%s' for key 'mem' (expected wbuf, abuf, acc, out or out8)", vb);
          case K_QUEUE: LERR(c, "bad value '%s' for key 'q' (expected load, compute or store)", vb);
          case K_VOP:
            LERR(c, "bad value '%s' for key 'op' (expected add, sub, max, min, mulshr, lut, quant, "
                    "rsum, rsumsq, rmaxabs, recip, rsqrt, lutld or mac8)", vb);
          case K_MODE:
            LERR(c, "bad value '%s' for key 'mode' (expected vec, bcastrow, perrow or const; "
                    "set or acc for op=mac8)", vb);
          default: LERR(c, "bad number '%s' for key '%s' (expected decimal or 0x hex)", vb, kb);
        }
      }
    }
    int w = field_width(k->field);
    uint64_t max = w >= 64 ? UINT64_MAX : (((uint64_t)1 << w) - 1);
    if (v > max) LERR(c, "value %" PRIu64 " out of range for field %s (0..%" PRIu64 ")", v, k->field, max);
    store_member(&in, k, v);
  }
  if (mode_name) {
    char vb[40];
    snprintf(vb, sizeof vb, "%.32s", mode_name);
    int idx;
    if (in.vop == TERN_VOP_MAC8) {
      idx = lookup(mode_name, mac8_modes, 2);
      if (idx < 0) LERR(c, "bad value '%s' for key 'mode' of op=mac8 (expected set or acc)", vb);
    } else {
      idx = lookup(mode_name, modes, 4);
      if (idx < 0)
        LERR(c, "bad value '%s' for key 'mode' (expected vec, bcastrow, perrow or const; set and "
                "acc are for op=mac8)", vb);
    }
    in.mode = (uint8_t)idx;
  }
  *out = in;
  *have = 1;
  return 0;
}

int tern_asm_text(const char *text, const char *fname, tern_insn **out, size_t *n, char *err,
                  size_t errlen) {
  if (!fname) fname = "<text>";
  *out = NULL;
  *n = 0;
  size_t cap = 0, cnt = 0;
  tern_insn *v = NULL;
  line_ctx c = {fname, 0, err, errlen};
  const char *p = text;
  while (*p) {
    c.line++;
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *ln = malloc(len + 1);
    if (!ln) {
      free(v);
      tern_err(err, errlen, "%s:%zu: out of memory", fname, c.line);
      return -1;
    }
    memcpy(ln, p, len);
    ln[len] = '\0';
    char *hash = strchr(ln, '#');
    if (hash) *hash = '\0';
    tern_insn in;
    int have = 0;
    int rc = asm_line(ln, &c, &in, &have);
    free(ln);
    if (rc != 0) {
      free(v);
      return -1;
    }
    if (have) {
      if (cnt == cap) {
        cap = cap ? cap * 2 : 64;
        tern_insn *nv = realloc(v, cap * sizeof *v);
        if (!nv) {
          free(v);
          tern_err(err, errlen, "%s:%zu: out of memory", fname, c.line);
          return -1;
        }
        v = nv;
      }
      v[cnt++] = in;
    }
    p += len;
    if (*p == '\n') p++;
  }
  *out = v;
  *n = cnt;
  return 0;
}

void tern_disasm_insn(const tern_insn *in, char *buf, size_t len) {
  size_t o = 0;
#define OUT(...)                                                          \
  do {                                                                    \
    if (o < len) {                                                        \
      int k_ = snprintf(buf + o, len - o, __VA_ARGS__);                   \
      if (k_ > 0) o += (size_t)k_;                                        \
    }                                                                     \
  } while (0)
  if (len == 0) return;
  buf[0] = '\0';
  if (in->op >= TERN_OP_COUNT) {
    OUT("# bad opcode %u", in->op);
    return;
  }
  OUT("%s", mnemonics[in->op]);
  for (size_t i = 0; i < NKEYS; i++) {
    const keydef *k = &keys[i];
    if (k->op < 0 || !key_applies(k, in->op)) continue;
    uint64_t v = load_member(in, k);
    if (!strcmp(k->key, "reset")) {
      if (v == 1) OUT(" reset");
      else if (v) OUT(" reset=%" PRIu64, v);
      continue;
    }
    switch (k->kind) {
      case K_MEM:
        if (tern_mem_name((int)v)) {
          char m[8];
          snprintf(m, sizeof m, "%s", tern_mem_name((int)v));
          for (char *q = m; *q; q++) *q = (char)tolower((unsigned char)*q);
          OUT(" mem=%s", m);
        } else {
          OUT(" mem=%" PRIu64, v);
        }
        break;
      case K_QUEUE:
        if (v < 3) OUT(" q=%s", queues[v]);
        else OUT(" q=%" PRIu64, v);
        break;
      case K_VOP:
        if (tern_vop_name((int)v)) {
          char m[16];
          snprintf(m, sizeof m, "%s", tern_vop_name((int)v));
          for (char *q = m; *q; q++) *q = (char)tolower((unsigned char)*q);
          OUT(" op=%s", m);
        } else {
          OUT(" op=%" PRIu64, v);
        }
        break;
      case K_MODE:
        if (in->vop == TERN_VOP_MAC8 && v < 2) OUT(" mode=%s", mac8_modes[v]);
        else if (in->vop != TERN_VOP_MAC8 && v < 4) OUT(" mode=%s", modes[v]);
        else OUT(" mode=%" PRIu64, v);
        break;
      default:
        if (!strcmp(k->key, "dram")) OUT(" %s=0x%" PRIx64, k->key, v);
        else OUT(" %s=%" PRIu64, k->key, v);
        break;
    }
  }
  for (size_t i = 0; i < NKEYS; i++) {
    const keydef *k = &keys[i];
    if (k->op >= 0) continue;
    uint64_t v = load_member(in, k);
    if (v == 1) OUT(" %s", k->key);
    else if (v) OUT(" %s=%" PRIu64, k->key, v);
  }
#undef OUT
}

int tern_words_decode(const uint8_t *bytes, size_t len, tern_insn **out, size_t *n, char *err,
                      size_t errlen) {
  *out = NULL;
  *n = 0;
  if (len % 16 != 0) {
    tern_err(err, errlen,
            "truncated instruction at byte offset %zu: %zu bytes is not a multiple of 16 (%zu bytes "
            "left over)",
            len - len % 16, len, len % 16);
    return -1;
  }
  size_t cnt = len / 16;
  tern_insn *v = malloc((cnt ? cnt : 1) * sizeof *v);
  if (!v) {
    tern_err(err, errlen, "out of memory for %zu instructions", cnt);
    return -1;
  }
  for (size_t i = 0; i < cnt; i++) {
    tern_word w = {{0, 0}};
    for (int b = 0; b < 8; b++) {
      w.w[0] |= (uint64_t)bytes[16 * i + b] << (8 * b);
      w.w[1] |= (uint64_t)bytes[16 * i + 8 + b] << (8 * b);
    }
    char e2[200];
    if (tern_decode(&w, &v[i], e2, sizeof e2) != 0) {
      tern_err(err, errlen, "byte offset %zu (instruction %zu): %s", 16 * i, i, e2);
      free(v);
      return -1;
    }
  }
  *out = v;
  *n = cnt;
  return 0;
}
