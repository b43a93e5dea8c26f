/* The golden ISA simulator: data semantics and the cycle model of
 * docs/ISA.md, exactly.
 *
 * Cycle model: a cycle-stepped simulation of fetch, the three instruction
 * FIFOs, the dependency-token counters, the three units' busy countdowns and
 * the GEMM pipeline drain rule.  Every condition of cycle t is evaluated on
 * the state at the start of t; updates (token pushes, FIFO pushes, a unit
 * becoming idle) take effect from t+1.  Token pops and FIFO pops happen at the
 * start: each token counter is popped by exactly one queue and each FIFO by
 * exactly one unit, and fetch looks at the start-of-cycle FIFO counts, so the
 * order in which the units are visited inside one cycle does not matter.
 *
 * Data effects of an instruction are applied when it starts (programs are
 * race-free by construction; tern_validate checks the static rules).
 *
 * Fast-forward: when a cycle t changes no state (no start, no finish, no
 * fetch), every following cycle is identical until the next time-driven
 * event (a busy unit's last cycle, or the GEMM drain point); those
 * cycles are skipped while their stall counters are added.
 *
 * Watchdog (docs/ISA.md "Watchdog"): a cycle makes progress when fetch
 * pushes, a unit starts, is busy or finishes, or GEMM rows are in the array
 * (t < gemm_drain) -- the RTL's progress_o, cycle for cycle.  A cycle
 * without progress is a cycle with no time-driven event ahead: it repeats
 * forever, so the run fails with the report the RTL gives after `watchdog`
 * such cycles (sim/hang.c), or with max_cycles if that comes first. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tern/backend.h"
#include "tern/hang.h"
#include "tern/isasim.h"
#include "tern/numerics.h"

static const char *const tokname[4] = {"L2C", "C2L", "C2S", "S2C"};

typedef struct fifo {
  size_t *pc;   /* instruction index of each entry (ring buffer) */
  uint64_t *at; /* cycle the entry was pushed (visible from at+1) */
  int head, count, cap;
} fifo;

typedef struct unit {
  int busy;            /* an instruction is executing */
  uint64_t last;       /* its last busy cycle */
  size_t pc;           /* the instruction */
} unit;

/* The on-chip memories: they persist across runs of a session. */
struct tern_isasim {
  tern_hwcfg cfg;
  uint8_t *wbuf;  /* wbuf_depth * R*C/4 bytes */
  int8_t *abuf;   /* abuf_depth * R */
  int32_t *acc;   /* acc_depth * C */
  int8_t *out;    /* out_depth * C (OUT8 byte address b = out[b]) */
  int32_t lut[TERN_LUT_ENTRIES];
};

/* One run: the program, DRAM and counters, over a machine's memories. */
typedef struct sim {
  const tern_hwcfg *cfg;
  const tern_insn *prog;
  size_t n;
  uint8_t *dram;
  int R, C;
  uint8_t *wbuf;
  int8_t *abuf;
  int32_t *acc;
  int8_t *out;
  int32_t *lut;
  uint64_t *cnt;  /* counters */
} sim;

/* ---- token routing ---------------------------------------------------- */

/* Token counter popped / pushed by a flag of an instruction in queue q, or -1. */
static int tok_pop_prev(int q) { return q == TERN_Q_COMPUTE ? TERN_TOK_L2C : q == TERN_Q_STORE ? TERN_TOK_C2S : -1; }
static int tok_pop_next(int q) { return q == TERN_Q_LOAD ? TERN_TOK_C2L : q == TERN_Q_COMPUTE ? TERN_TOK_S2C : -1; }
static int tok_push_prev(int q) { return q == TERN_Q_COMPUTE ? TERN_TOK_C2L : q == TERN_Q_STORE ? TERN_TOK_S2C : -1; }
static int tok_push_next(int q) { return q == TERN_Q_LOAD ? TERN_TOK_L2C : q == TERN_Q_COMPUTE ? TERN_TOK_C2S : -1; }

/* ---- durations ---------------------------------------------------------- */

static uint64_t dma_beats(const tern_hwcfg *cfg, const tern_insn *in, uint64_t *beat_bytes) {
  uint64_t wb = tern_mem_word_bytes(cfg, in->mem);
  uint64_t beat = (uint64_t)cfg->dram_bw < wb ? (uint64_t)cfg->dram_bw : wb;
  *beat_bytes = beat;
  return (uint64_t)in->y_size * in->x_size * wb / beat;
}

static uint64_t gemm_lat(const tern_hwcfg *cfg) { return (uint64_t)cfg->rows + TERN_T_GEMM_PIPE_EXTRA; }

static uint64_t duration(const tern_hwcfg *cfg, const tern_insn *in) {
  uint64_t bb;
  switch (in->op) {
    case TERN_OP_LOAD: return 1 + dma_beats(cfg, in, &bb) + (uint64_t)cfg->dram_lat;
    case TERN_OP_STORE: return 2 + dma_beats(cfg, in, &bb);
    case TERN_OP_GEMM:
      if (in->push_prev || in->push_next) return (uint64_t)in->m + gemm_lat(cfg);
      return 1 + (uint64_t)in->m;
    case TERN_OP_VEC:
      switch (tern_vop_kind(in->vop)) {
        case 'S':
          return 1 + (uint64_t)in->rows *
                         (in->vop == TERN_VOP_RECIP ? TERN_T_RECIP_PER_ROW : TERN_T_RSQRT_PER_ROW);
        case 'L': return 1 + (uint64_t)in->n + TERN_T_VEC_PIPE;
        default: return 1 + (uint64_t)in->rows * in->n + TERN_T_VEC_PIPE;
      }
    default: return 1; /* SYNC, END */
  }
}

/* ---- data semantics ------------------------------------------------------ */

static int32_t rd32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}
static void wr32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)u;
  p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16);
  p[3] = (uint8_t)(u >> 24);
}

static void exec_dma(sim *s, const tern_insn *in) {
  const tern_hwcfg *cfg = s->cfg;
  uint64_t wb = tern_mem_word_bytes(cfg, in->mem), bb;
  uint64_t beats = dma_beats(cfg, in, &bb);
  int ld = in->op == TERN_OP_LOAD;
  uint64_t words = (uint64_t)in->y_size * in->x_size;
  for (uint64_t r = 0; r < in->y_size; r++) {
    for (uint64_t i = 0; i < in->x_size; i++) {
      uint64_t w = in->sram_addr + r * in->sram_stride + i;
      uint8_t *d = s->dram + in->dram_addr + r * in->dram_stride + i * wb;
      switch (in->mem) {
        case TERN_MEM_WBUF:
          if (ld) memcpy(s->wbuf + w * wb, d, wb);
          else memcpy(d, s->wbuf + w * wb, wb);
          break;
        case TERN_MEM_ABUF:
          if (ld) memcpy(s->abuf + w * wb, d, wb);
          else memcpy(d, s->abuf + w * wb, wb);
          break;
        case TERN_MEM_ACC:
          for (int l = 0; l < s->C; l++) {
            if (ld) s->acc[w * s->C + l] = rd32(d + 4 * l);
            else wr32(d + 4 * l, s->acc[w * s->C + l]);
          }
          break;
        default: /* OUT (word = C bytes) and OUT8 (word = 1 byte at byte address w) */
          if (ld) memcpy(s->out + w * wb, d, wb);
          else memcpy(d, s->out + w * wb, wb);
          break;
      }
    }
  }
  uint64_t *c = s->cnt;
  int out = in->mem == TERN_MEM_OUT || in->mem == TERN_MEM_OUT8; /* OUT8: one access per byte */
  if (ld) {
    c[TERN_CNT_DRAM_RD_BYTES] += beats * bb;
    if (in->mem == TERN_MEM_WBUF) c[TERN_CNT_WBUF_WR] += words;
    else if (in->mem == TERN_MEM_ABUF) c[TERN_CNT_ABUF_WR] += words;
    else if (in->mem == TERN_MEM_ACC) c[TERN_CNT_ACC_WR] += words;
    else if (out) c[TERN_CNT_OUT_WR] += words;
  } else {
    c[TERN_CNT_DRAM_WR_BYTES] += beats * bb;
    if (in->mem == TERN_MEM_ACC) c[TERN_CNT_ACC_RD] += words;
    else if (out) c[TERN_CNT_OUT_RD] += words;
  }
}

static void exec_gemm(sim *s, const tern_insn *in) {
  int R = s->R, C = s->C;
  const uint8_t *tile = s->wbuf + (size_t)in->wbuf_addr * (size_t)(R * C / 4);
  /* Weight values from the 2-bit codes (numerics.c decodes the code). */
  int8_t wv[64 * 64];
  uint64_t nnz = 0;
  for (int i = 0; i < R * C; i++) {
    unsigned code = (tile[i / 4] >> (2 * (i % 4))) & 3u;
    wv[i] = (int8_t)tern_wcode_value(code);
    nnz += wv[i] != 0;
  }
  for (uint64_t m = 0; m < in->m; m++) {
    const int8_t *a = s->abuf + (size_t)(in->abuf_addr + m * in->abuf_stride) * (size_t)R;
    int32_t *acc = s->acc + (size_t)(in->acc_addr + m * in->acc_stride) * (size_t)C;
    for (int n = 0; n < C; n++) {
      uint32_t sum = 0; /* int32 wrap-around: add / subtract / skip only */
      for (int k = 0; k < R; k++) {
        int w = wv[k * C + n];
        if (w > 0) sum += (uint32_t)(int32_t)a[k];
        else if (w < 0) sum -= (uint32_t)(int32_t)a[k];
      }
      if (!in->reset) sum += (uint32_t)acc[n];
      acc[n] = (int32_t)sum;
    }
  }
  uint64_t *c = s->cnt;
  c[TERN_CNT_GEMM_ROWS] += in->m;
  c[TERN_CNT_PE_ADDS] += (uint64_t)in->m * nnz;
  c[TERN_CNT_PE_SKIPS] += (uint64_t)in->m * ((uint64_t)R * C - nnz);
  c[TERN_CNT_WBUF_RD] += 1;
  c[TERN_CNT_ABUF_RD] += in->m;
  if (!in->reset) c[TERN_CNT_ACC_RD] += in->m;
  c[TERN_CNT_ACC_WR] += in->m;
}

/* ACC word index of b(r, i) by MODE. */
static uint64_t src2_word(const tern_insn *in, uint64_t r, uint64_t i) {
  switch (in->mode) {
    case TERN_VMODE_VEC: return in->src2 + r * in->src_rs + i;
    case TERN_VMODE_BCASTROW: return in->src2 + i;
    case TERN_VMODE_PERROW: return in->src2 + r;
    default: return in->src2;
  }
}

static void exec_vec(sim *s, const tern_insn *in) {
  int C = s->C;
  char kind = tern_vop_kind(in->vop);
  int sh = in->shift;
  uint64_t rows = in->rows, N = in->n;
  uint64_t *c = s->cnt;
  switch (kind) {
    case 'E':
    case 'Q':
      for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t i = 0; i < N; i++) {
          const int32_t *a = s->acc + (size_t)(in->src1 + r * in->src_rs + i) * C;
          const int32_t *b = s->acc + (size_t)src2_word(in, r, i) * C;
          if (kind == 'Q') {
            int8_t *d = s->out + (size_t)(in->dst + r * in->dst_rs + i) * C;
            for (int l = 0; l < C; l++) d[l] = tern_v_quant(a[l], b[l], sh);
            continue;
          }
          int32_t *d = s->acc + (size_t)(in->dst + r * in->dst_rs + i) * C;
          for (int l = 0; l < C; l++) {
            int32_t x = a[l], y = in->vop == TERN_VOP_LUT ? 0 : b[l], v;
            switch (in->vop) {
              case TERN_VOP_ADD: v = tern_v_add(x, y); break;
              case TERN_VOP_SUB: v = tern_v_sub(x, y); break;
              case TERN_VOP_MAX: v = tern_v_max(x, y); break;
              case TERN_VOP_MIN: v = tern_v_min(x, y); break;
              case TERN_VOP_MULSHR: v = tern_v_mulshr(x, y, sh); break;
              default: v = s->lut[tern_lut_index(x, sh)]; break; /* LUT */
            }
            d[l] = v;
          }
        }
      }
      c[TERN_CNT_ACC_RD] += rows * N;
      if (in->vop != TERN_VOP_LUT) {
        switch (in->mode) {
          case TERN_VMODE_VEC:
          case TERN_VMODE_BCASTROW: c[TERN_CNT_ACC_RD] += rows * N; break;
          case TERN_VMODE_PERROW: c[TERN_CNT_ACC_RD] += rows; break;
          default: c[TERN_CNT_ACC_RD] += 1; break;
        }
      }
      if (kind == 'Q') c[TERN_CNT_OUT_WR] += rows * N;
      else c[TERN_CNT_ACC_WR] += rows * N;
      c[TERN_CNT_VOP_ADD + in->vop] += rows * N;
      break;
    case 'R':
      for (uint64_t r = 0; r < rows; r++) {
        /* the N words of a row are contiguous: N*C int32 values */
        const int32_t *a = s->acc + (size_t)(in->src1 + r * in->src_rs) * C;
        size_t nv = (size_t)N * (size_t)C;
        int32_t v;
        if (in->vop == TERN_VOP_RSUM) v = tern_r_sum(a, nv, 1, sh);
        else if (in->vop == TERN_VOP_RSUMSQ) v = tern_r_sumsq(a, nv, 1, sh);
        else v = tern_r_maxabs(a, nv, 1);
        int32_t *d = s->acc + (size_t)(in->dst + r * in->dst_rs) * C;
        for (int l = 0; l < C; l++) d[l] = v;
      }
      c[TERN_CNT_ACC_RD] += rows * N;
      c[TERN_CNT_ACC_WR] += rows;
      c[TERN_CNT_VOP_ADD + in->vop] += rows * N;
      break;
    case 'S':
      for (uint64_t r = 0; r < rows; r++) {
        int32_t a = s->acc[(size_t)(in->src1 + r * in->src_rs) * C];
        int32_t b = s->acc[(size_t)src2_word(in, r, 0) * C];
        int32_t v = in->vop == TERN_VOP_RECIP ? tern_v_recip(a, b, sh) : tern_v_rsqrt(a, b, sh);
        int32_t *d = s->acc + (size_t)(in->dst + r * in->dst_rs) * C;
        for (int l = 0; l < C; l++) d[l] = v;
      }
      c[TERN_CNT_ACC_RD] += 2 * rows;
      c[TERN_CNT_ACC_WR] += rows;
      c[TERN_CNT_VOP_ADD + in->vop] += rows;
      break;
    case 'M': { /* MAC8: B words and the scalar stream from OUT, int32 results to ACC */
      const int8_t *a = s->out + (size_t)in->src2 * C; /* a_k = byte k of the stream */
      for (uint64_t i = 0; i < N; i++) {
        int32_t *d = s->acc + (size_t)(in->dst + i) * C;
        for (int l = 0; l < C; l++) {
          const int8_t *b = s->out + (size_t)(in->src1 + i) * C + l;
          d[l] = tern_v_mac8(in->mode == 1 ? d[l] : 0, a, 1, b, (size_t)in->src_rs * C, rows);
        }
      }
      c[TERN_CNT_OUT_RD] += rows * N + N * ((rows + (uint64_t)C - 1) / (uint64_t)C);
      if (in->mode == 1) c[TERN_CNT_ACC_RD] += N;
      c[TERN_CNT_ACC_WR] += N;
      c[TERN_CNT_VOP_ADD + in->vop] += rows * N;
      break;
    }
    default: /* 'L' */
      for (uint64_t i = 0; i < N; i++)
        for (int l = 0; l < C; l++) s->lut[i * C + l] = s->acc[(size_t)(in->src1 + i) * C + l];
      c[TERN_CNT_ACC_RD] += N;
      c[TERN_CNT_VOP_ADD + in->vop] += N;
      break;
  }
}

static void execute(sim *s, const tern_insn *in) {
  switch (in->op) {
    case TERN_OP_LOAD:
    case TERN_OP_STORE: exec_dma(s, in); break;
    case TERN_OP_GEMM: exec_gemm(s, in); break;
    case TERN_OP_VEC: exec_vec(s, in); break;
    default: break;
  }
}

/* ---- the cycle loop -------------------------------------------------------- */

/* The hang report of a machine whose cycle t made no progress (include/tern/hang.h). */
static void describe_hang(const sim *s, const fifo *fq, const uint32_t *tok, int end_fetched,
                          size_t pc, uint64_t since, uint64_t watchdog, char *buf, size_t len) {
  tern_hang h;
  memset(&h, 0, sizeof h);
  h.watchdog = watchdog;
  h.since = since;
  h.qdepth = s->cfg->qdepth;
  for (int q = 0; q < 3; q++) {
    h.fifo_count[q] = fq[q].count;
    if (fq[q].count > 0) {
      const size_t hp = fq[q].pc[fq[q].head];
      const tern_insn *in = &s->prog[hp];
      h.head[q].pc = hp;
      h.head[q].op = in->op;
      h.head[q].queue = q;
      h.head[q].pop_prev = in->pop_prev;
      h.head[q].pop_next = in->pop_next;
    }
  }
  for (int k = 0; k < 4; k++) h.tok[k] = tok[k];
  h.end_fetched = end_fetched;
  h.pc = pc;
  if (!end_fetched) {
    const tern_insn *in = &s->prog[pc];
    h.fetch.pc = pc;
    h.fetch.op = in->op;
    h.fetch.queue = tern_insn_queue(in);
    h.fetch.pop_prev = in->pop_prev;
    h.fetch.pop_next = in->pop_next;
  }
  tern_hang_describe(&h, buf, len);
}

tern_isasim *tern_isasim_new(const tern_hwcfg *cfg, char *err, size_t errlen) {
  char e2[300];
  if (!cfg) {
    tern_err(err, errlen, "isasim: NULL configuration");
    return NULL;
  }
  if (tern_hwcfg_check(cfg, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "isasim: hardware configuration: %s", e2);
    return NULL;
  }
  tern_isasim *m = calloc(1, sizeof *m);
  if (!m) goto oom;
  m->cfg = *cfg;
  m->wbuf = calloc((size_t)cfg->wbuf_depth, tern_mem_word_bytes(cfg, TERN_MEM_WBUF));
  m->abuf = calloc((size_t)cfg->abuf_depth, (size_t)cfg->rows);
  m->acc = calloc((size_t)cfg->acc_depth * (size_t)cfg->cols, sizeof(int32_t));
  m->out = calloc((size_t)cfg->out_depth, (size_t)cfg->cols);
  if (!m->wbuf || !m->abuf || !m->acc || !m->out) goto oom;
  return m;
oom:
  tern_isasim_free(m);
  tern_err(err, errlen, "isasim: out of memory for the scratchpads");
  return NULL;
}

void tern_isasim_free(tern_isasim *m) {
  if (!m) return;
  free(m->wbuf);
  free(m->abuf);
  free(m->acc);
  free(m->out);
  free(m);
}

int tern_isasim_run(const tern_hwcfg *cfg, const tern_insn *prog, size_t n, uint8_t *dram,
                    uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out, char *err,
                    size_t errlen) {
  if (!cfg || !prog || !out || (!dram && dram_bytes)) {
    tern_err(err, errlen, "isasim: NULL argument");
    return -1;
  }
  tern_isasim *m = tern_isasim_new(cfg, err, errlen);
  if (!m) return -1;
  int rc = tern_isasim_exec(m, prog, n, dram, dram_bytes, opts, out, err, errlen);
  tern_isasim_free(m);
  return rc;
}

int tern_isasim_exec(tern_isasim *m, const tern_insn *prog, size_t n, uint8_t *dram,
                     uint64_t dram_bytes, const tern_run_opts *opts, tern_counters *out,
                     char *err, size_t errlen) {
  char e2[300];
  if (!m || !prog || !out || (!dram && dram_bytes)) {
    tern_err(err, errlen, "isasim: NULL argument");
    return -1;
  }
  const tern_hwcfg *cfg = &m->cfg;
  if (tern_validate(cfg, prog, n, dram_bytes, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "isasim: invalid program: %s", e2);
    return -1;
  }
  uint64_t max_cycles = opts && opts->max_cycles ? opts->max_cycles : TERN_MAX_CYCLES_DEFAULT;
  uint64_t watchdog = opts && opts->watchdog ? opts->watchdog : TERN_WATCHDOG_DEFAULT;
  /* TERN_ISASIM_NOSKIP=1 steps every cycle (the tests compare both modes). */
  const char *ns = getenv("TERN_ISASIM_NOSKIP");
  int noskip = ns && ns[0] == '1';

  memset(out, 0, sizeof *out);
  sim s;
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.prog = prog;
  s.n = n;
  s.dram = dram;
  s.R = cfg->rows;
  s.C = cfg->cols;
  s.cnt = out->v;
  s.wbuf = m->wbuf;
  s.abuf = m->abuf;
  s.acc = m->acc;
  s.out = m->out;
  s.lut = m->lut;
  fifo fq[3];
  memset(fq, 0, sizeof fq);
  int rc = -1;
  for (int q = 0; q < 3; q++) {
    fq[q].cap = cfg->qdepth;
    fq[q].pc = calloc((size_t)cfg->qdepth, sizeof(size_t));
    fq[q].at = calloc((size_t)cfg->qdepth, sizeof(uint64_t));
    if (!fq[q].pc || !fq[q].at) goto oom;
  }

  unit u[3];
  memset(u, 0, sizeof u);
  uint32_t tok[4] = {0, 0, 0, 0};
  uint64_t gemm_drain = 0;
  size_t pc = 0;
  int end_fetched = 0, end_done = 0;
  uint64_t t = 0;
  uint64_t *c = out->v;
  static const int busy_cnt[3] = {TERN_CNT_LOAD_BUSY, TERN_CNT_COMPUTE_BUSY, TERN_CNT_STORE_BUSY};
  static const int stall_cnt[3] = {TERN_CNT_LOAD_STALL, TERN_CNT_COMPUTE_STALL, TERN_CNT_STORE_STALL};
  static const int insn_cnt[3] = {TERN_CNT_INSN_LOAD, TERN_CNT_INSN_COMPUTE, TERN_CNT_INSN_STORE};

  for (;;) {
    /* 1. done */
    if (end_done && fq[0].count == 0 && fq[1].count == 0 && fq[2].count == 0 && !u[0].busy &&
        !u[1].busy && !u[2].busy && t >= gemm_drain) {
      c[TERN_CNT_CYCLES] = t;
      rc = 0;
      break;
    }
    if (t >= max_cycles) {
      tern_err(err, errlen, "isasim: not done after max_cycles = %" PRIu64 " cycles (pc %zu)",
              max_cycles, pc);
      goto fail;
    }
    int event = 0;
    int stalled[3] = {0, 0, 0};
    int fcount[3] = {fq[0].count, fq[1].count, fq[2].count}; /* start-of-cycle */
    uint32_t push_add[4] = {0, 0, 0, 0};
    int end_finish = 0;
    /* 2. units */
    for (int q = 0; q < 3; q++) {
      unit *un = &u[q];
      if (!un->busy) {
        fifo *f = &fq[q];
        if (f->count == 0 || f->at[f->head] >= t) continue; /* nothing visible */
        size_t ipc = f->pc[f->head];
        const tern_insn *in = &prog[ipc];
        int tp = in->pop_prev ? tok_pop_prev(q) : -1, tn = in->pop_next ? tok_pop_next(q) : -1;
        int ok = (tp < 0 || tok[tp] > 0) && (tn < 0 || tok[tn] > 0);
        if (q == TERN_Q_COMPUTE && in->op != TERN_OP_GEMM && t < gemm_drain) ok = 0;
        if (!ok) {
          c[stall_cnt[q]]++;
          stalled[q] = 1;
          continue;
        }
        /* start */
        f->head = (f->head + 1) % f->cap;
        f->count--;
        if (tp >= 0) tok[tp]--;
        if (tn >= 0) tok[tn]--;
        uint64_t d = duration(cfg, in);
        un->busy = 1;
        un->pc = ipc;
        un->last = t + d - 1;
        c[busy_cnt[q]] += d;
        c[insn_cnt[q]]++;
        if (in->op == TERN_OP_GEMM) gemm_drain = t + in->m + gemm_lat(cfg);
        execute(&s, in);
        event = 1;
      }
      if (un->busy && un->last == t) {
        /* last busy cycle: push tokens (visible from t+1), idle from t+1 */
        const tern_insn *in = &prog[un->pc];
        int pp = in->push_prev ? tok_push_prev(q) : -1, pn = in->push_next ? tok_push_next(q) : -1;
        if (pp >= 0) push_add[pp]++; /* validated: never -1 when the flag is set */
        if (pn >= 0) push_add[pn]++;
        if (in->op == TERN_OP_END) end_finish = 1;
        un->busy = 0;
        event = 1;
      }
    }
    /* 3. fetch */
    int fetched = 0, fetch_stalled = 0;
    if (!end_fetched) {
      const tern_insn *in = &prog[pc];
      int q = tern_insn_queue(in);
      if (fcount[q] < fq[q].cap) {
        fifo *f = &fq[q];
        int slot = (f->head + f->count) % f->cap;
        f->pc[slot] = pc;
        f->at[slot] = t;
        f->count++;
        if (in->op == TERN_OP_END) end_fetched = 1;
        pc++;
        fetched = 1;
      } else {
        c[TERN_CNT_FETCH_STALL]++;
        fetch_stalled = 1;
      }
    }
    /* end of cycle: apply pushes */
    for (int k = 0; k < 4; k++) {
      if (!push_add[k]) continue;
      if ((uint64_t)tok[k] + push_add[k] > 65535) {
        tern_err(err, errlen, "isasim: token counter %s overflow (> 65535) at cycle %" PRIu64, tokname[k], t);
        goto fail;
      }
      tok[k] += push_add[k];
    }
    if (end_finish) end_done = 1;
    if (event || fetched) {
      t++;
      continue;
    }
    /* Nothing changed in cycle t: cycles t+1 .. T-1 are identical to t,
     * where T is the next cycle in which something can happen: a busy
     * unit's last cycle (it pushes its tokens and goes idle at its end) or
     * the GEMM drain point (a non-GEMM compute instruction may start). */
    uint64_t T = UINT64_MAX;
    for (int q = 0; q < 3; q++)
      if (u[q].busy && u[q].last < T) T = u[q].last;
    if (gemm_drain > t && gemm_drain < T) T = gemm_drain;
    if (T == UINT64_MAX) {
      /* No progress in cycle t (nothing in flight, no unit busy, nothing
       * fetched) and nothing time-driven ahead: cycles t, t+1, ... are all
       * alike.  The watchdog fires in its last cycle t + watchdog - 1 unless
       * max_cycles is reached first, as on the RTL. */
      uint64_t fire = watchdog - 1 > UINT64_MAX - t ? UINT64_MAX : t + (watchdog - 1);
      if (fire >= max_cycles) {
        tern_err(err, errlen, "isasim: not done after max_cycles = %" PRIu64 " cycles (pc %zu)",
                 max_cycles, pc);
        goto fail;
      }
      char w[768];
      describe_hang(&s, fq, tok, end_fetched, pc, t, watchdog, w, sizeof w);
      tern_err(err, errlen, "isasim: %s", w);
      goto fail;
    }
    if (T <= t) { /* cannot happen: a unit whose last cycle is t made an event */
      tern_err(err, errlen, "isasim: internal error: no event ahead of cycle %" PRIu64, t);
      goto fail;
    }
    if (noskip) {
      t++;
      continue;
    }
    if (T > max_cycles) T = max_cycles;
    uint64_t k = T - 1 - t; /* skipped cycles */
    for (int q = 0; q < 3; q++)
      if (stalled[q]) c[stall_cnt[q]] += k;
    if (fetch_stalled) c[TERN_CNT_FETCH_STALL] += k;
    t = T;
  }
  goto done;
oom:
  tern_err(err, errlen, "isasim: out of memory for the instruction FIFOs");
fail:
  rc = -1;
done:
  for (int q = 0; q < 3; q++) {
    free(fq[q].pc);
    free(fq[q].at);
  }
  return rc;
}
