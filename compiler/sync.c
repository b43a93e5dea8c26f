/* Pass "sync": tern_insert_sync — dependency tokens from memory footprints.
 *
 * 1. Footprints.  For every instruction the SRAM words it reads and writes
 *    (WBUF tiles, ABUF/ACC/OUT words with strides and the src2 addressing mode,
 *    the LUT as a one-word pseudo-memory) and the DRAM bytes of LOAD/STORE.
 *    OUT is written by the load queue (LOAD OUT / OUT8) and by compute (QUANT)
 *    and read by compute (MAC8) and the store queue; an OUT8 byte range is
 *    mapped to the OUT words holding its bytes (conservative: two byte
 *    accesses to different bytes of one word are ordered).
 *    DRAM is tracked at 16-byte granules, only inside the windows some STORE
 *    writes (a LOAD of bytes no STORE ever writes cannot race).
 * 2. Hazards.  Per word: the last writer and, per queue, the last reader since
 *    that write.  Instruction I in queue q depends on the last writer of every
 *    word it reads or writes (RAW, WAW) and on the last reader in every other
 *    queue of every word it writes (WAR), if that instruction is in another
 *    queue.  Same-queue pairs need nothing: a queue executes in order, a non-GEMM
 *    compute instruction waits for the GEMM pipeline to drain, and a unit is busy
 *    until its instruction (DMA included) is done.  Per producer queue only the
 *    latest producer matters (see 4).  Cost: O(words touched).
 * 3. Tokens.  Direction d of (producer queue -> consumer queue): L2C, C2L, C2S,
 *    S2C.  pushes[d] lists the output positions pushing on d (increasing).  For
 *    a dependency on producer j: take the first instruction at or after j in
 *    j's queue that already pushes on d (sequence number s = its rank in
 *    pushes[d]); if there is none, set the push flag on j itself (every push
 *    already set is earlier than j, so j's push is the last one and s =
 *    |pushes[d]|: sequence numbers never change).  The consumer must have
 *    popped s+1 tokens on d before it starts: it sets its pop flag and SYNCs
 *    with the pop flag are inserted right before it (in its own queue) for any
 *    further pops.  Load<->store dependencies are relayed through a compute
 *    SYNC inserted right before the consumer: it pops from the producer side
 *    (S2C or L2C) and pushes towards the consumer (C2L or C2S).
 * 4. Why this is race-free.  Pops and pushes on one direction each happen in a
 *    single queue, in program order, and a unit finishes its instructions in
 *    order, so the k-th push finishes after pushes 0..k-1.  The consumer (or
 *    its leading SYNCs) starts only after s+1 tokens were pushed, hence after
 *    push s finished, hence after j and everything before j in j's queue
 *    finished: a pushing GEMM finishes only when its ACC writes are done and
 *    every other compute instruction starts only after the GEMM pipeline is
 *    empty, so "finished" means all memory effects are complete.  DMA reads
 *    of a consumer start after it starts.  Relays compose two such edges.
 *    Taking the latest producer per queue suffices because finishing it implies
 *    all earlier instructions of that queue finished.
 * 5. Why this is deadlock-free.  Every push the consumer waits for sits on an
 *    instruction EARLIER in program order (producers precede consumers; relay
 *    SYNCs are placed before their consumer).  By induction over program order:
 *    assume every instruction before I starts and finishes.  I is fetched
 *    (the fetch stalls only on a full FIFO of I's queue, which drains because
 *    the earlier instructions of that queue start), every token I pops was
 *    pushed by an earlier instruction (the pops of a queue on d up to I number
 *    exactly s+1 for the largest s needed so far), and the GEMM pipeline drains
 *    in bounded time; so I starts and finishes.  Every push is eventually popped
 *    (a push at rank s exists only because a consumer pops s+1 tokens), so the
 *    16-bit token counters stay bounded by the pushes in flight. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"

enum { SP_WBUF, SP_ABUF, SP_ACC, SP_OUT, SP_LUT, SP_DRAM, SP_N };

typedef struct rng {
  int sp, write;
  uint64_t base, stride, rows, len; /* words (DRAM: bytes) */
  uint64_t bpw; /* > 1: base/stride/len count bytes of words of bpw bytes (OUT8) */
} rng;

typedef struct ival {
  uint64_t g0, g1; /* granules [g0, g1) */
  uint64_t idx;    /* compact index of g0 */
} ival;

typedef struct space {
  int32_t *lw;    /* last writer (output index) or -1 */
  int32_t *lr[3]; /* last reader per queue since the last write */
  uint64_t n;
} space;

typedef struct st {
  const tern_hwcfg *cfg;
  cc_insnbuf out;
  int32_t *push[TERN_TOK_COUNT];
  size_t npush[TERN_TOK_COUNT], cappush[TERN_TOK_COUNT];
  long popped[TERN_TOK_COUNT];
  space sp[SP_N];
  ival *iv;
  size_t niv;
  int dep[3];
  int q; /* queue of the current instruction */
  char *err;
  size_t errlen;
  size_t idx; /* input index (for errors) */
  int bad;
} st;

static int mem_space(int mem) {
  switch (mem) {
    case TERN_MEM_WBUF: return SP_WBUF;
    case TERN_MEM_ABUF: return SP_ABUF;
    case TERN_MEM_ACC: return SP_ACC;
    default: return SP_OUT; /* OUT, OUT8 */
  }
}

/* Memory footprint of one instruction.  Returns the number of ranges. */
static int footprint(const tern_hwcfg *cfg, const tern_insn *in, rng *r) {
  int n = 0;
#define R(s, w, b, st_, rw, l) (r[n++] = (rng){s, w, b, st_, rw, l, 0})
  switch (in->op) {
    case TERN_OP_LOAD:
    case TERN_OP_STORE: {
      int ld = in->op == TERN_OP_LOAD;
      uint64_t wb = tern_mem_word_bytes(cfg, in->mem);
      R(mem_space(in->mem), ld, in->sram_addr, in->sram_stride, in->y_size, in->x_size);
      if (in->mem == TERN_MEM_OUT8) r[n - 1].bpw = (uint64_t)cfg->cols;
      R(SP_DRAM, !ld, in->dram_addr, in->dram_stride, in->y_size, in->x_size * wb);
      break;
    }
    case TERN_OP_GEMM:
      R(SP_WBUF, 0, in->wbuf_addr, 0, 1, 1);
      R(SP_ABUF, 0, in->abuf_addr, in->abuf_stride, in->m, 1);
      if (!in->reset) R(SP_ACC, 0, in->acc_addr, in->acc_stride, in->m, 1);
      R(SP_ACC, 1, in->acc_addr, in->acc_stride, in->m, 1);
      break;
    case TERN_OP_VEC: {
      char k = tern_vop_kind(in->vop);
      if (k == 'L') {
        R(SP_ACC, 0, in->src1, 0, 1, in->n);
        R(SP_LUT, 1, 0, 0, 1, 1);
        break;
      }
      if (k == 'M') { /* MAC8: B rows and the scalar stream in OUT, N words of ACC */
        uint64_t sw = ((uint64_t)in->rows + (uint64_t)cfg->cols - 1) / (uint64_t)cfg->cols;
        R(SP_OUT, 0, in->src1, in->src_rs, in->rows, in->n);
        R(SP_OUT, 0, in->src2, 0, 1, sw);
        if (in->mode == 1) R(SP_ACC, 0, in->dst, 0, 1, in->n);
        R(SP_ACC, 1, in->dst, 0, 1, in->n);
        break;
      }
      uint64_t n1 = k == 'S' ? 1 : in->n;
      R(SP_ACC, 0, in->src1, in->src_rs, in->rows, n1);
      int has_b = k == 'E' || k == 'Q' || k == 'S';
      if (in->vop == TERN_VOP_LUT) {
        has_b = 0;
        R(SP_LUT, 0, 0, 0, 1, 1);
      }
      if (has_b) switch (in->mode) {
          case TERN_VMODE_VEC: R(SP_ACC, 0, in->src2, in->src_rs, in->rows, n1); break;
          case TERN_VMODE_BCASTROW: R(SP_ACC, 0, in->src2, 0, 1, n1); break;
          case TERN_VMODE_PERROW: R(SP_ACC, 0, in->src2, 1, in->rows, 1); break;
          default: R(SP_ACC, 0, in->src2, 0, 1, 1); break;
        }
      if (k == 'Q')
        R(SP_OUT, 1, in->dst, in->dst_rs, in->rows, in->n);
      else if (k == 'E')
        R(SP_ACC, 1, in->dst, in->dst_rs, in->rows, in->n);
      else
        R(SP_ACC, 1, in->dst, in->dst_rs, in->rows, 1);
      break;
    }
    default: break;
  }
#undef R
  return n;
}

static int queue_dir(int pq, int cq) {
  if (pq == TERN_Q_LOAD && cq == TERN_Q_COMPUTE) return TERN_TOK_L2C;
  if (pq == TERN_Q_COMPUTE && cq == TERN_Q_LOAD) return TERN_TOK_C2L;
  if (pq == TERN_Q_COMPUTE && cq == TERN_Q_STORE) return TERN_TOK_C2S;
  if (pq == TERN_Q_STORE && cq == TERN_Q_COMPUTE) return TERN_TOK_S2C;
  return -1;
}
static int dir_consumer(int d) {
  return d == TERN_TOK_C2L ? TERN_Q_LOAD : d == TERN_TOK_C2S ? TERN_Q_STORE : TERN_Q_COMPUTE;
}
static void set_push(tern_insn *in, int d) {
  if (d == TERN_TOK_L2C || d == TERN_TOK_C2S)
    in->push_next = 1;
  else
    in->push_prev = 1;
}
static void set_pop(tern_insn *in, int d) {
  if (d == TERN_TOK_L2C || d == TERN_TOK_C2S)
    in->pop_prev = 1;
  else
    in->pop_next = 1;
}

/* The consumer (not yet appended) needs the push covering producer j on d. */
static void require(st *s, int d, int j, tern_insn *consumer) {
  size_t lo = 0, hi = s->npush[d];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->push[d][mid] < j)
      lo = mid + 1;
    else
      hi = mid;
  }
  long seq = (long)lo;
  if (lo == s->npush[d]) {
    set_push(&s->out.v[j], d);
    if (s->npush[d] == s->cappush[d]) {
      s->cappush[d] = s->cappush[d] ? s->cappush[d] * 2 : 256;
      s->push[d] = realloc(s->push[d], s->cappush[d] * sizeof(int32_t));
      if (!s->push[d]) abort();
    }
    s->push[d][s->npush[d]++] = j;
  }
  long need = seq + 1;
  if (need <= s->popped[d]) return;
  for (long k = s->popped[d]; k < need - 1; k++) {
    tern_insn sy;
    memset(&sy, 0, sizeof sy);
    sy.op = TERN_OP_SYNC;
    sy.queue = (uint8_t)dir_consumer(d);
    set_pop(&sy, d);
    cc_buf_push(&s->out, &sy);
  }
  set_pop(consumer, d);
  s->popped[d] = need;
}

static void note_dep(st *s, int32_t j) {
  if (j < 0) return;
  int pq = cc_insn_queue(&s->out.v[j]);
  if (pq != s->q && j > s->dep[pq]) s->dep[pq] = j;
}

/* phase 0: collect dependencies; phase 1: record the instruction at oi */
static void touch(st *s, int spn, uint64_t w, int write, int phase, int32_t oi) {
  space *p = &s->sp[spn];
  if (phase == 0) {
    note_dep(s, p->lw[w]);
    if (write)
      for (int q = 0; q < 3; q++)
        if (q != s->q) note_dep(s, p->lr[q][w]);
  } else if (write) {
    p->lw[w] = oi;
    for (int q = 0; q < 3; q++) p->lr[q][w] = -1;
  } else {
    p->lr[s->q][w] = oi;
  }
}

static void walk(st *s, const rng *r, int phase, int32_t oi) {
  if (!r->rows || !r->len) return;
  if (r->sp != SP_DRAM && r->bpw > 1) { /* bytes -> the words holding them */
    uint64_t lastb = r->base + (r->rows - 1) * r->stride + r->len - 1;
    if (lastb / r->bpw >= s->sp[r->sp].n) {
      if (!s->bad)
        tern_err(s->err, s->errlen, "sync: insn %zu: byte %llu beyond the memory (%llu words of %llu bytes)",
                 s->idx, (unsigned long long)lastb, (unsigned long long)s->sp[r->sp].n,
                 (unsigned long long)r->bpw);
      s->bad = 1;
      return;
    }
    for (uint64_t y = 0; y < r->rows; y++) {
      uint64_t a = r->base + y * r->stride;
      for (uint64_t w = a / r->bpw; w <= (a + r->len - 1) / r->bpw; w++)
        touch(s, r->sp, w, r->write, phase, oi);
    }
    return;
  }
  if (r->sp != SP_DRAM) {
    uint64_t last = r->base + (r->rows - 1) * r->stride + r->len - 1;
    if (last >= s->sp[r->sp].n) {
      if (!s->bad)
        tern_err(s->err, s->errlen, "sync: insn %zu: word %llu beyond the memory (%llu words)",
               s->idx, (unsigned long long)last, (unsigned long long)s->sp[r->sp].n);
      s->bad = 1;
      return;
    }
    for (uint64_t y = 0; y < r->rows; y++)
      for (uint64_t x = 0; x < r->len; x++) touch(s, r->sp, r->base + y * r->stride + x, r->write, phase, oi);
    return;
  }
  for (uint64_t y = 0; y < r->rows; y++) {
    uint64_t a = r->base + y * r->stride;
    uint64_t g0 = a / 16, g1 = (a + r->len - 1) / 16 + 1;
    size_t lo = 0, hi = s->niv; /* first interval with g1 > g0 */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (s->iv[mid].g1 <= g0)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (size_t i = lo; i < s->niv && s->iv[i].g0 < g1; i++) {
      uint64_t a0 = g0 > s->iv[i].g0 ? g0 : s->iv[i].g0;
      uint64_t a1 = g1 < s->iv[i].g1 ? g1 : s->iv[i].g1;
      for (uint64_t g = a0; g < a1; g++) touch(s, SP_DRAM, s->iv[i].idx + (g - s->iv[i].g0), r->write, phase, oi);
    }
  }
}

static int cmp_ival(const void *a, const void *b) {
  const ival *x = a, *y = b;
  return x->g0 < y->g0 ? -1 : x->g0 > y->g0;
}

static void st_free(st *s) {
  for (int d = 0; d < TERN_TOK_COUNT; d++) free(s->push[d]);
  for (int i = 0; i < SP_N; i++) {
    free(s->sp[i].lw);
    for (int q = 0; q < 3; q++) free(s->sp[i].lr[q]);
  }
  free(s->iv);
}

int tern_insert_sync(const tern_hwcfg *cfg, const tern_insn *in, size_t n, tern_insn **out,
                     size_t *nout, char *err, size_t errlen) {
  st s;
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.err = err;
  s.errlen = errlen;
  *out = NULL;
  *nout = 0;
  /* DRAM windows written by STOREs */
  size_t cap = 0;
  for (size_t i = 0; i < n; i++) {
    const tern_insn *x = &in[i];
    if (x->pop_prev || x->pop_next || x->push_prev || x->push_next) {
      tern_err(err, errlen, "sync: insn %zu (%s) already has token flags, expected none", i,
             tern_op_name(x->op));
      st_free(&s);
      return -1;
    }
    if (x->op == TERN_OP_END && i + 1 != n) {
      tern_err(err, errlen, "sync: insn %zu is END but not the last instruction", i);
      st_free(&s);
      return -1;
    }
    if (x->op != TERN_OP_STORE) continue;
    uint64_t len = (uint64_t)x->x_size * tern_mem_word_bytes(cfg, x->mem);
    for (uint64_t y = 0; y < x->y_size && len; y++) {
      uint64_t a = x->dram_addr + y * x->dram_stride;
      if (s.niv == cap) {
        cap = cap ? cap * 2 : 64;
        s.iv = realloc(s.iv, cap * sizeof *s.iv);
        if (!s.iv) abort();
      }
      s.iv[s.niv++] = (ival){a / 16, (a + len - 1) / 16 + 1, 0};
    }
  }
  /* s.iv is NULL in a program without STOREs, and qsort's base must be a
   * valid pointer even for 0 elements (C11 7.22.5) */
  if (s.niv > 1) qsort(s.iv, s.niv, sizeof *s.iv, cmp_ival);
  size_t m = 0;
  for (size_t i = 0; i < s.niv; i++) {
    if (m && s.iv[i].g0 <= s.iv[m - 1].g1) {
      if (s.iv[i].g1 > s.iv[m - 1].g1) s.iv[m - 1].g1 = s.iv[i].g1;
    } else {
      s.iv[m++] = s.iv[i];
    }
  }
  s.niv = m;
  uint64_t ng = 0;
  for (size_t i = 0; i < m; i++) {
    s.iv[i].idx = ng;
    ng += s.iv[i].g1 - s.iv[i].g0;
  }
  uint64_t sizes[SP_N] = {(uint64_t)cfg->wbuf_depth, (uint64_t)cfg->abuf_depth,
                          (uint64_t)cfg->acc_depth,  (uint64_t)cfg->out_depth, 1, ng};
  for (int i = 0; i < SP_N; i++) {
    s.sp[i].n = sizes[i];
    size_t b = (sizes[i] ? sizes[i] : 1) * sizeof(int32_t);
    s.sp[i].lw = malloc(b);
    if (!s.sp[i].lw) abort();
    memset(s.sp[i].lw, 0xff, b);
    for (int q = 0; q < 3; q++) {
      s.sp[i].lr[q] = malloc(b);
      if (!s.sp[i].lr[q]) abort();
      memset(s.sp[i].lr[q], 0xff, b);
    }
  }
  for (size_t i = 0; i < n; i++) {
    tern_insn I = in[i];
    rng r[8];
    int nr = footprint(cfg, &I, r);
    s.idx = i;
    s.q = cc_insn_queue(&I);
    s.dep[0] = s.dep[1] = s.dep[2] = -1;
    for (int k = 0; k < nr; k++) walk(&s, &r[k], 0, 0);
    if (s.bad) break;
    if (s.q == TERN_Q_COMPUTE) {
      if (s.dep[TERN_Q_LOAD] >= 0) require(&s, TERN_TOK_L2C, s.dep[TERN_Q_LOAD], &I);
      if (s.dep[TERN_Q_STORE] >= 0) require(&s, TERN_TOK_S2C, s.dep[TERN_Q_STORE], &I);
    } else {
      int other = s.q == TERN_Q_LOAD ? TERN_Q_STORE : TERN_Q_LOAD;
      if (s.dep[other] >= 0) { /* relay through a compute SYNC */
        tern_insn X;
        memset(&X, 0, sizeof X);
        X.op = TERN_OP_SYNC;
        X.queue = TERN_Q_COMPUTE;
        require(&s, queue_dir(other, TERN_Q_COMPUTE), s.dep[other], &X);
        cc_buf_push(&s.out, &X);
        s.dep[TERN_Q_COMPUTE] = (int)s.out.n - 1;
      }
      if (s.dep[TERN_Q_COMPUTE] >= 0)
        require(&s, queue_dir(TERN_Q_COMPUTE, s.q), s.dep[TERN_Q_COMPUTE], &I);
    }
    if (s.out.n >= 0x7fffffff) {
      tern_err(err, errlen, "sync: program too long");
      s.bad = 1;
      break;
    }
    cc_buf_push(&s.out, &I);
    int32_t oi = (int32_t)s.out.n - 1;
    for (int k = 0; k < nr; k++)
      if (!r[k].write) walk(&s, &r[k], 1, oi);
    for (int k = 0; k < nr; k++)
      if (r[k].write) walk(&s, &r[k], 1, oi);
  }
  st_free(&s);
  if (s.bad) {
    free(s.out.v);
    return -1;
  }
  *out = s.out.v;
  *nout = s.out.n;
  return 0;
}
