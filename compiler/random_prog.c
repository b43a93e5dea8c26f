/* tern_random_program: random valid programs for differential testing of the
 * ISA simulator against the RTL and of the sync pass.  A random mix of LOAD
 * (WBUF/ABUF/ACC/OUT/OUT8 from a DRAM window), GEMM, VEC (all 14 VOPs, all
 * modes, shifts from 0 to 62, the overlap rule respected; MAC8 in both modes
 * with any B row stride), STORE (ACC/OUT/OUT8 to an output window that LOADs
 * sometimes read back; OUT8 rows at any byte offset) and no-op SYNCs, then
 * tern_insert_sync and END.  Sizes are small so RTL runs stay fast.
 * DRAM: [0, 8 KiB) input window, [8 KiB, 16 KiB) output window, all random. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"

#define RP_WIN 8192u
#define RP_ALIGN 64u

typedef struct rp {
  uint64_t s;
} rp;

static uint64_t nx(rp *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
/* uniform in [lo, hi] (hi >= lo) */
static int rnd(rp *r, int lo, int hi) { return lo + (int)(nx(r) % (uint64_t)(hi - lo + 1)); }

/* rows x len words with stride inside [lo, lo+size): returns base, adjusts rows/stride */
static int place(rp *r, int lo, int size, int *rows, int *stride, int len) {
  if (len > size) len = size;
  while (*rows > 1 && (*rows - 1) * *stride + len > size) (*rows)--;
  if (*rows <= 1) {
    *rows = 1;
  }
  int span = (*rows - 1) * *stride + len;
  return lo + rnd(r, 0, size - span);
}

static void gen_dma(rp *r, const tern_hwcfg *cfg, tern_insn *in, int load) {
  static const int mems_l[5] = {TERN_MEM_WBUF, TERN_MEM_ABUF, TERN_MEM_ACC, TERN_MEM_OUT,
                                TERN_MEM_OUT8};
  static const int mems_s[3] = {TERN_MEM_ACC, TERN_MEM_OUT, TERN_MEM_OUT8};
  int mem = load ? mems_l[rnd(r, 0, 4)] : mems_s[rnd(r, 0, 2)];
  int depth = (int)tern_mem_depth(cfg, mem);
  int wb = (int)tern_mem_word_bytes(cfg, mem);
  int x = rnd(r, 1, 4), y = rnd(r, 1, 3);
  if (mem == TERN_MEM_OUT8) { /* byte rows, e.g. one K column: x = 1, many rows */
    x = rnd(r, 0, 1) ? 1 : rnd(r, 1, 2 * cfg->cols + 3);
    y = rnd(r, 1, 8);
  }
  while (x * wb > 1024 && x > 1) x--;
  int sstride = x + rnd(r, 0, 2);
  if (rnd(r, 0, 7) == 0) sstride = 0; /* rows overwrite / re-read the same words */
  int sa = place(r, 0, depth, &y, &sstride, x);
  int rowb = x * wb;
  int dstride = (rowb + RP_ALIGN - 1) / RP_ALIGN * RP_ALIGN + RP_ALIGN * rnd(r, 0, 2);
  while (y > 1 && (uint32_t)((y - 1) * dstride + rowb) > RP_WIN) y--;
  uint32_t span = (uint32_t)((y - 1) * dstride + rowb);
  uint32_t win = (!load || rnd(r, 0, 3) == 0) ? RP_WIN : 0; /* loads sometimes read outputs */
  uint32_t slots = (RP_WIN - span) / RP_ALIGN;
  memset(in, 0, sizeof *in);
  in->op = (uint8_t)(load ? TERN_OP_LOAD : TERN_OP_STORE);
  in->mem = (uint8_t)mem;
  in->sram_addr = (uint16_t)sa;
  in->sram_stride = (uint16_t)(y > 1 ? sstride : rnd(r, 0, 3));
  in->y_size = (uint16_t)y;
  in->x_size = (uint16_t)x;
  in->dram_addr = win + RP_ALIGN * (uint32_t)rnd(r, 0, (int)slots);
  if (mem == TERN_MEM_OUT8) { /* single-byte DRAM accesses at any offset and stride */
    uint32_t end = win + RP_WIN;
    uint32_t off = (uint32_t)rnd(r, 0, (int)RP_ALIGN - 1);
    if (in->dram_addr + off + span <= end) in->dram_addr += off;
    if (y > 1 && rnd(r, 0, 1)) { /* a tight stride instead (rows of x bytes) */
      uint32_t ds = (uint32_t)(x + rnd(r, 0, 5));
      if (in->dram_addr + (uint32_t)(y - 1) * ds + (uint32_t)rowb <= end)
        in->dram_stride = (uint16_t)ds;
    }
  }
}

static void gen_gemm(rp *r, const tern_hwcfg *cfg, tern_insn *in) {
  memset(in, 0, sizeof *in);
  in->op = TERN_OP_GEMM;
  int m = rnd(r, 1, 6);
  int as = rnd(r, 0, 3), cs = rnd(r, 0, 7) == 0 ? 0 : rnd(r, 1, 3);
  in->wbuf_addr = (uint16_t)rnd(r, 0, cfg->wbuf_depth - 1);
  int m1 = m, m2 = m;
  int a = place(r, 0, cfg->abuf_depth, &m1, &as, 1);
  int c = place(r, 0, cfg->acc_depth, &m2, &cs, 1);
  m = m1 < m2 ? m1 : m2;
  in->abuf_addr = (uint16_t)a;
  in->acc_addr = (uint16_t)c;
  in->m = (uint16_t)m;
  in->abuf_stride = (uint16_t)as;
  in->acc_stride = (uint16_t)cs;
  in->reset = (uint8_t)rnd(r, 0, 1);
}

static int rshift(rp *r) {
  switch (rnd(r, 0, 3)) {
    case 0: return 0;
    case 1: return rnd(r, 1, 16);
    case 2: return rnd(r, 17, 40);
    default: return rnd(r, 41, 62);
  }
}

/* MAC8: B rows (any row stride, 0 included) and the scalar stream anywhere in
 * OUT (read only, so they may overlap), N result words anywhere in ACC. */
static void gen_mac8(rp *r, const tern_hwcfg *cfg, tern_insn *in) {
  int C = cfg->cols;
  int n = rnd(r, 1, 4), k = rnd(r, 0, 3) == 0 ? rnd(r, 1, 3) : rnd(r, 1, 3 * C + 5);
  int srs = rnd(r, 0, 5) == 0 ? 0 : rnd(r, 1, n + 2);
  int kk = k;
  int b = place(r, 0, cfg->out_depth, &kk, &srs, n);
  k = kk;
  int sw = (k + C - 1) / C, one = 1, z = 0;
  int a = place(r, 0, cfg->out_depth, &one, &z, sw);
  one = 1;
  int d = place(r, 0, cfg->acc_depth, &one, &z, n);
  in->vop = TERN_VOP_MAC8;
  in->mode = (uint8_t)rnd(r, 0, 1);
  in->dst = (uint16_t)d;
  in->src1 = (uint16_t)b;
  in->src2 = (uint16_t)a;
  in->n = (uint16_t)n;
  in->rows = (uint16_t)k;
  in->src_rs = (uint16_t)(k > 1 ? srs : rnd(r, 0, 3));
}

static void gen_vec(rp *r, const tern_hwcfg *cfg, tern_insn *in) {
  memset(in, 0, sizeof *in);
  in->op = TERN_OP_VEC;
  int vop = rnd(r, 0, TERN_VOP_COUNT - 1);
  char k = tern_vop_kind(vop);
  if (k == 'M') {
    gen_mac8(r, cfg, in);
    return;
  }
  int half = cfg->acc_depth / 2, sh = rnd(r, 0, 1);
  int slo = sh * half, dlo = (1 - sh) * half;
  in->vop = (uint8_t)vop;
  in->mode = (uint8_t)rnd(r, 0, 3);
  in->shift = (uint8_t)rshift(r);
  if (k == 'L') {
    int n = TERN_LUT_ENTRIES / cfg->cols, rows = 1, st = 0;
    in->src1 = (uint16_t)place(r, 0, cfg->acc_depth, &rows, &st, n);
    in->src2 = in->src1;
    in->n = (uint16_t)n;
    in->rows = 1;
    in->shift = 0;
    return;
  }
  if (vop == TERN_VOP_LUT && in->shift > 31) in->shift = (uint8_t)rnd(r, 0, 31);
  int n = k == 'S' ? 1 : rnd(r, 1, 4), rows = rnd(r, 1, 4);
  int srs = n + rnd(r, 0, 2), drs = (k == 'R' || k == 'S') ? rnd(r, 1, 2) : n + rnd(r, 0, 2);
  int inplace = k == 'E' && rnd(r, 0, 2) == 0;
  if (inplace) drs = srs;
  int rs1 = rows;
  int s1 = place(r, slo, half, &rs1, &srs, n);
  rows = rs1;
  /* src2 */
  int s2;
  int s2lo = inplace ? dlo : slo;
  switch (in->mode) {
    case TERN_VMODE_VEC: {
      int rr = rows;
      s2 = place(r, s2lo, half, &rr, &srs, n);
      if (rr < rows) rows = rr;
      break;
    }
    case TERN_VMODE_BCASTROW: {
      int rr = 1, z = 0;
      s2 = place(r, s2lo, half, &rr, &z, n);
      break;
    }
    case TERN_VMODE_PERROW: {
      int rr = rows, one = 1;
      s2 = place(r, s2lo, half, &rr, &one, 1);
      if (rr < rows) rows = rr;
      break;
    }
    default: {
      int rr = 1, z = 0;
      s2 = place(r, s2lo, half, &rr, &z, 1);
      break;
    }
  }
  int dst;
  if (inplace) {
    dst = s1;
  } else if (k == 'Q') {
    int rr = rows;
    dst = place(r, 0, cfg->out_depth, &rr, &drs, n);
    rows = rr;
  } else {
    int rr = rows;
    dst = place(r, dlo, half, &rr, &drs, (k == 'R' || k == 'S') ? 1 : n);
    rows = rr;
  }
  if (rows == 1 && !inplace) {
    srs = rnd(r, 0, 1) ? srs : 0;
  }
  in->dst = (uint16_t)dst;
  in->src1 = (uint16_t)s1;
  in->src2 = (uint16_t)s2;
  in->n = (uint16_t)n;
  in->rows = (uint16_t)rows;
  in->dst_rs = (uint16_t)drs;
  in->src_rs = (uint16_t)srs;
}

int tern_random_program(const tern_hwcfg *cfg, uint64_t seed, int n_insns, tern_program *out,
                        char *err, size_t errlen) {
  char e[256];
  tern_program_init(out);
  if (!cfg || tern_hwcfg_check(cfg, e, sizeof e)) {
    tern_err(err, errlen, "random_program: bad hardware config: %s", cfg ? e : "NULL");
    return -1;
  }
  if (n_insns < 1) {
    tern_err(err, errlen, "random_program: n_insns = %d, expected >= 1", n_insns);
    return -1;
  }
  if (cfg->acc_depth < 16 || cfg->wbuf_depth < 1 || cfg->abuf_depth < 8 || cfg->out_depth < 8) {
    tern_err(err, errlen, "random_program: buffers too small (acc_depth >= 16, abuf/out >= 8)");
    return -1;
  }
  rp r = {seed * 0x2545f4914f6cdd1dull + 1};
  out->cfg = *cfg;
  cc_insnbuf b = {0};
  {
    /* prologue: all of OUT from random DRAM bytes, so MAC8 operands (and OUT
     * stores) see data rather than the zeros of a fresh machine */
    tern_insn in;
    memset(&in, 0, sizeof in);
    in.op = TERN_OP_LOAD;
    in.mem = TERN_MEM_OUT;
    in.y_size = 1;
    in.x_size = (uint16_t)(cfg->out_depth * cfg->cols <= (int)RP_WIN ? cfg->out_depth
                                                                    : (int)RP_WIN / cfg->cols);
    cc_buf_push(&b, &in);
  }
  for (int i = 0; i < n_insns; i++) {
    tern_insn in;
    int p = rnd(&r, 0, 99);
    if (p < 25)
      gen_dma(&r, cfg, &in, 1);
    else if (p < 50)
      gen_gemm(&r, cfg, &in);
    else if (p < 80)
      gen_vec(&r, cfg, &in);
    else if (p < 95)
      gen_dma(&r, cfg, &in, 0);
    else {
      memset(&in, 0, sizeof in);
      in.op = TERN_OP_SYNC;
      in.queue = (uint8_t)rnd(&r, 0, 2);
    }
    cc_buf_push(&b, &in);
    /* Observe a VEC result now and then: a STORE of its destination words
     * (first rows), so differential tests see results before later
     * instructions overwrite them. */
    if (in.op == TERN_OP_VEC && in.vop != TERN_VOP_LUTLD && i + 1 < n_insns && rnd(&r, 0, 2) == 0) {
      char k = tern_vop_kind(in.vop);
      tern_insn s;
      memset(&s, 0, sizeof s);
      s.op = TERN_OP_STORE;
      s.mem = (uint8_t)(k == 'Q' ? TERN_MEM_OUT : TERN_MEM_ACC);
      s.sram_addr = in.dst;
      s.x_size = (uint16_t)(k == 'R' || k == 'S' ? 1 : in.n);
      s.y_size = (uint16_t)(k == 'M' ? 1 : (in.rows < 4 ? in.rows : 4));
      s.sram_stride = (uint16_t)(k == 'M' ? 0 : in.dst_rs);
      uint32_t rowb = s.x_size * tern_mem_word_bytes(cfg, s.mem);
      uint32_t ds = (rowb + RP_ALIGN - 1) / RP_ALIGN * RP_ALIGN;
      uint32_t span = (uint32_t)(s.y_size - 1) * ds + rowb;
      s.dram_stride = (uint16_t)ds;
      s.dram_addr = RP_WIN + RP_ALIGN * (uint32_t)rnd(&r, 0, (int)((RP_WIN - span) / RP_ALIGN));
      cc_buf_push(&b, &s);
      i++;
    }
  }
  tern_insn *o;
  size_t n;
  if (tern_insert_sync(cfg, b.v, b.n, &o, &n, err, errlen)) {
    free(b.v);
    return -1;
  }
  free(b.v);
  uint64_t dram = 2 * (uint64_t)RP_WIN;
  for (size_t i = 0; i < n; i++) tern_program_add_insn(out, &o[i]);
  free(o);
  tern_insn end;
  memset(&end, 0, sizeof end);
  end.op = TERN_OP_END;
  tern_program_add_insn(out, &end);
  if (tern_validate(cfg, out->insns, out->n_insns, dram, e, sizeof e)) {
    tern_err(err, errlen, "random_program: seed %llu: generated program invalid (generator bug): %s",
           (unsigned long long)seed, e);
    tern_program_free(out);
    return -1;
  }
  uint8_t *img = malloc(dram);
  if (!img) abort();
  for (uint64_t i = 0; i < dram; i += 8) {
    uint64_t v = nx(&r);
    memcpy(img + i, &v, 8);
  }
  tern_program_add_segment(out, 0, img, (uint32_t)dram);
  free(img);
  tern_tensor_ref t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "in");
  t.dtype = TERN_DT_RAW;
  t.rows = 1;
  t.cols = RP_WIN;
  t.row_stride = RP_WIN;
  tern_program_add_tensor(out, &t);
  snprintf(t.name, sizeof t.name, "out");
  t.dram_addr = RP_WIN;
  tern_program_add_tensor(out, &t);
  out->dram_size = dram;
  return 0;
}
