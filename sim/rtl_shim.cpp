// sim/rtl_shim.cpp — the C API of include/tern/backend.h ("RTL shim") over
// the Verilated tern_top.  Built by sim/rtl.mk into
// build/rtl/<name>/libtern_rtl.so, one library per RTL configuration; only
// the tern_rtl_* functions are exported.
//
// Clocking (docs/ISA.md "Timing"): every cycle the harness
//   1. drives the inputs of the cycle (read data due in this cycle),
//   2. evaluates with clk low: the combinational outputs are those of the
//      cycle, computed from the start-of-cycle state,
//   3. samples them: a read request of cycle c is answered in cycle
//      c + dram_lat (DRAM is read when the request is made), a write is
//      applied at once (posted),
//   4. raises the clock: the edge that ends the cycle.
// The start_i pulse is driven in the cycle before cycle 0.
//
// Sessions (include/tern/backend.h): a handle keeps its Verilated model from
// one tern_rtl_run to the next.  Every run resets the design (rst_ni low for
// three cycles) and reloads IMEM: reset clears the control state (pc, FIFOs,
// token counters, units, counters) but not the memories (WBUF, ABUF, ACC,
// OUT, LUT, IMEM are plain arrays written only by the datapath, never in a
// reset branch), so the SRAM contents carry over.  A fresh handle is a fresh,
// all-zero machine (randReset(0)).
#include <verilated.h>
#include <verilated_fst_c.h>

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <vector>

#include "Vtern_top.h"
#include "tern/backend.h"
#include "tern/hang.h"

#define TERN_API extern "C" __attribute__((visibility("default")))

#ifndef TERN_RTL_ROWS
#error "sim/rtl_shim.cpp is compiled by sim/rtl.mk, which defines the TERN_RTL_* parameters"
#endif

class Harness;  // the Verilated model and its clocking (below)

struct tern_rtl {
  tern_hwcfg cfg;
  std::vector<tern_word> prog;
  std::unique_ptr<Harness> hs;  // created by the first run, kept for the next ones
  ~tern_rtl();
};

namespace {

void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

// ---- port access independent of the port's Verilator type (width depends on DRAM_BW)
template <typename T>
void port_set_bytes(T &port, const uint8_t *b, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n && i < sizeof(T); i++) v |= (uint64_t)b[i] << (8 * i);
  port = (T)v;
}
template <std::size_t W>
void port_set_bytes(VlWide<W> &port, const uint8_t *b, unsigned n) {
  for (std::size_t w = 0; w < W; w++) port[w] = 0;
  for (unsigned i = 0; i < n && i < 4 * W; i++) port[i / 4] |= (uint32_t)b[i] << (8 * (i % 4));
}
template <typename T>
void port_get_bytes(const T &port, uint8_t *b, unsigned n) {
  uint64_t v = (uint64_t)port;
  for (unsigned i = 0; i < n; i++) b[i] = i < sizeof(T) ? (uint8_t)(v >> (8 * i)) : 0;
}
template <std::size_t W>
void port_get_bytes(const VlWide<W> &port, uint8_t *b, unsigned n) {
  for (unsigned i = 0; i < n; i++) b[i] = i < 4 * W ? (uint8_t)(port[i / 4] >> (8 * (i % 4))) : 0;
}

const char *error_code_name(unsigned code) {
  switch (code) {
    case 1: return "token counter overflow (a counter would exceed 65535)";
    case 2: return "token counter underflow (pop of a zero counter)";
    case 3: return "invalid instruction (bad opcode/queue/mem/vop or token flag, or no END before the end of IMEM)";
    default: return "unknown error code";
  }
}

// DRAM reads in flight, in request order: at most dram_lat of them (one
// request per cycle), TERN_RTL_BW bytes each.
class PendingReads {
 public:
  bool empty() const { return due_.empty(); }
  size_t size() const { return due_.size(); }
  uint64_t front_due() const { return due_.front(); }
  const uint8_t *front_data() const { return data_.front().data(); }
  void push(uint64_t due, const uint8_t *src, unsigned len) {
    due_.push_back(due);
    data_.emplace_back();
    Beat &b = data_.back();
    for (unsigned i = 0; i < (unsigned)TERN_RTL_BW; i++) b[i] = i < len ? src[i] : 0;
  }
  void pop() {
    due_.pop_front();
    data_.pop_front();
  }

 private:
  using Beat = std::array<uint8_t, TERN_RTL_BW>;
  std::deque<uint64_t> due_;
  std::deque<Beat> data_;
};

}  // namespace

class Harness {
 public:
  explicit Harness(const tern_hwcfg &cfg) : cfg_(cfg) {
    ctx_.reset(new VerilatedContext);
    ctx_->debug(0);
    ctx_->randReset(0);
    ctx_->traceEverOn(true);  // a later run of the same model may ask for a trace
    top_.reset(new Vtern_top(ctx_.get(), "tern_top"));
  }
  ~Harness() {
    close_trace();
    if (top_) top_->final();
  }
  void close_trace() {
    if (fst_) {
      fst_->close();
      fst_.reset();
    }
  }
  bool open_trace(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "wb");
    if (!f) {
      set_err(err, errlen, "trace: cannot write %s: %s", path, strerror(errno));
      return false;
    }
    fclose(f);
    fst_.reset(new VerilatedFstC);
    top_->trace(fst_.get(), 99);
    fst_->open(path);
    if (!fst_->isOpen()) {
      set_err(err, errlen, "trace: cannot open FST file %s", path);
      fst_.reset();
      return false;
    }
    return true;
  }
  // clk low + evaluate (combinational outputs of the cycle are valid afterwards)
  void eval_low() {
    top_->clk_i = 0;
    top_->eval();
    if (fst_) fst_->dump(time_);
    time_ += 5;
  }
  // rising edge: the end of the cycle
  void edge() {
    top_->clk_i = 1;
    top_->eval();
    if (fst_) fst_->dump(time_);
    time_ += 5;
  }
  void cycle() {
    eval_low();
    edge();
  }
  Vtern_top *top() { return top_.get(); }

 private:
  tern_hwcfg cfg_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vtern_top> top_;
  std::unique_ptr<VerilatedFstC> fst_;
  uint64_t time_ = 0;
};

namespace {

// The watchdog's report (include/tern/hang.h, the ISA simulator's wording):
// the head of each FIFO is found from the fetch pc and the FIFO counts, since
// fetch pushes IMEM in order and each unit pops its FIFO in order: FIFO q
// holds the last count(q) instructions of queue q before the fetch pc.
void describe_hang(Vtern_top *t, const std::vector<tern_word> &prog, uint64_t since,
                   uint64_t watchdog, char *buf, size_t len) {
  tern_hang h;
  std::memset(&h, 0, sizeof h);
  h.watchdog = watchdog;
  h.since = since;
  h.qdepth = TERN_RTL_QD;
  const unsigned ff = t->dbg_fifo_o;
  const uint64_t tok = t->dbg_tokens_o;
  const size_t pc = t->dbg_pc_o;
  const tern_word zero = {{0, 0}};  // IMEM beyond the program (reset value)
  auto word = [&](size_t i) -> const tern_word & { return i < prog.size() ? prog[i] : zero; };
  for (int q = 0; q < 3; q++) {
    h.fifo_count[q] = (int)((ff >> (8 * q)) & 0xffu);
    int seen = 0;
    for (size_t i = pc; i-- > 0 && seen < h.fifo_count[q];) {
      tern_hang_insn in = tern_hang_insn_of_word(&word(i), i);
      if (in.queue == q && ++seen == h.fifo_count[q]) h.head[q] = in;
    }
  }
  for (int k = 0; k < 4; k++) h.tok[k] = (uint32_t)((tok >> (16 * k)) & 0xffffu);
  h.end_fetched = (t->dbg_state_o >> 3) & 1u;
  h.pc = pc;
  if (!h.end_fetched) h.fetch = tern_hang_insn_of_word(&word(pc), pc);
  tern_hang_describe(&h, buf, len);
}

void describe_state(Vtern_top *t, char *buf, size_t len) {
  unsigned st = t->dbg_state_o;
  uint64_t tok = t->dbg_tokens_o;
  unsigned ff = t->dbg_fifo_o;
  snprintf(buf, len,
           "load/compute/store busy=%u/%u/%u, compute stalled=%u, FIFO counts load/compute/store="
           "%u/%u/%u, tokens L2C=%u C2L=%u C2S=%u S2C=%u, pc=%u, END fetched=%u",
           st & 1u, (st >> 1) & 1u, (st >> 2) & 1u, (st >> 4) & 1u, ff & 0xffu, (ff >> 8) & 0xffu,
           (ff >> 16) & 0xffu, (unsigned)(tok & 0xffff), (unsigned)((tok >> 16) & 0xffff),
           (unsigned)((tok >> 32) & 0xffff), (unsigned)((tok >> 48) & 0xffff),
           (unsigned)t->dbg_pc_o, (st >> 3) & 1u);
}

}  // namespace

TERN_API void tern_rtl_built_config(tern_hwcfg *cfg) {
  if (!cfg) return;
  std::memset(cfg, 0, sizeof *cfg);
  cfg->rows = TERN_RTL_ROWS;
  cfg->cols = TERN_RTL_COLS;
  cfg->wbuf_depth = TERN_RTL_WBUF;
  cfg->abuf_depth = TERN_RTL_ABUF;
  cfg->acc_depth = TERN_RTL_ACC;
  cfg->out_depth = TERN_RTL_OUT;
  cfg->qdepth = TERN_RTL_QD;
  cfg->imem_depth = TERN_RTL_IMEM;
  cfg->dram_bw = TERN_RTL_BW;
  cfg->psum_bits = TERN_RTL_PSUM;
  cfg->dram_lat = 0;  // run-time
}

TERN_API tern_rtl *tern_rtl_create(const tern_hwcfg *cfg, char *err, size_t errlen) {
  if (!cfg) {
    set_err(err, errlen, "tern_rtl_create: cfg is NULL");
    return nullptr;
  }
  tern_hwcfg b;
  tern_rtl_built_config(&b);
#define CHECK_FIELD(f)                                                                         \
  if (cfg->f != b.f) {                                                                         \
    set_err(err, errlen, "RTL library %s was built with " #f " = %d, the configuration has %d", \
            TERN_RTL_NAME, b.f, cfg->f);                                                       \
    return nullptr;                                                                            \
  }
  CHECK_FIELD(rows)
  CHECK_FIELD(cols)
  CHECK_FIELD(wbuf_depth)
  CHECK_FIELD(abuf_depth)
  CHECK_FIELD(acc_depth)
  CHECK_FIELD(out_depth)
  CHECK_FIELD(qdepth)
  CHECK_FIELD(imem_depth)
  CHECK_FIELD(dram_bw)
#undef CHECK_FIELD
  if (cfg->dram_lat < 1 || cfg->dram_lat > TERN_HW_DRAM_LAT_MAX) {
    set_err(err, errlen, "dram_lat = %d, expected 1..%d", cfg->dram_lat, TERN_HW_DRAM_LAT_MAX);
    return nullptr;
  }
  tern_rtl *h = new (std::nothrow) tern_rtl;
  if (!h) {
    set_err(err, errlen, "tern_rtl_create: out of memory");
    return nullptr;
  }
  h->cfg = *cfg;
  return h;
}

TERN_API int tern_rtl_load(tern_rtl *h, const tern_word *words, size_t n, char *err,
                           size_t errlen) {
  if (!h) {
    set_err(err, errlen, "tern_rtl_load: handle is NULL");
    return -1;
  }
  if (n == 0 || !words) {
    set_err(err, errlen, "tern_rtl_load: empty program (expected at least END)");
    return -1;
  }
  if (n > (size_t)TERN_RTL_IMEM) {
    set_err(err, errlen, "tern_rtl_load: program has %zu instructions, IMEM holds %d", n,
            TERN_RTL_IMEM);
    return -1;
  }
  h->prog.assign(words, words + n);
  return 0;
}

TERN_API int tern_rtl_run(tern_rtl *h, uint8_t *dram, uint64_t dram_bytes,
                          const tern_run_opts *opts, tern_counters *out, char *err,
                          size_t errlen) {
  if (!h) {
    set_err(err, errlen, "tern_rtl_run: handle is NULL");
    return -1;
  }
  if (h->prog.empty()) {
    set_err(err, errlen, "tern_rtl_run: no program loaded (call tern_rtl_load first)");
    return -1;
  }
  if (!dram && dram_bytes) {
    set_err(err, errlen, "tern_rtl_run: dram is NULL");
    return -1;
  }
  const uint64_t max_cycles =
      (opts && opts->max_cycles) ? opts->max_cycles : (uint64_t)TERN_MAX_CYCLES_DEFAULT;
  const uint64_t watchdog =
      (opts && opts->watchdog) ? opts->watchdog : (uint64_t)TERN_WATCHDOG_DEFAULT;
  const char *trace_path = opts ? opts->trace_path : nullptr;
  const uint64_t lat = (uint64_t)h->cfg.dram_lat;

  if (!h->hs) {
    h->hs.reset(new (std::nothrow) Harness(h->cfg));
    if (!h->hs) {
      set_err(err, errlen, "tern_rtl_run: out of memory for the model");
      return -1;
    }
  }
  Harness &hs = *h->hs;
  if (trace_path && !hs.open_trace(trace_path, err, errlen)) return -1;
  Vtern_top *t = hs.top();

  // reset: control state only; the memories keep their contents (IMEM is
  // written afterwards)
  t->rst_ni = 0;
  t->start_i = 0;
  t->imem_we_i = 0;
  t->rd_valid_i = 0;
  port_set_bytes(t->rd_data_i, nullptr, 0);
  t->cnt_sel_i = 0;
  for (int i = 0; i < 3; i++) hs.cycle();
  t->rst_ni = 1;
  hs.cycle();

  // program IMEM through the host port
  t->imem_we_i = 1;
  for (size_t i = 0; i < h->prog.size(); i++) {
    uint8_t b[16];
    for (int k = 0; k < 8; k++) {
      b[k] = (uint8_t)(h->prog[i].w[0] >> (8 * k));
      b[8 + k] = (uint8_t)(h->prog[i].w[1] >> (8 * k));
    }
    t->imem_addr_i = (uint32_t)i;
    port_set_bytes(t->imem_wdata_i, b, 16);
    hs.cycle();
  }
  t->imem_we_i = 0;

  // start pulse: the cycle before cycle 0
  t->start_i = 1;
  hs.cycle();
  t->start_i = 0;

  PendingReads pending;
  uint64_t idle = 0, idle_since = 0;  // consecutive cycles without progress_o, the first of them
  int rc = 0;
  uint64_t cyc = 0;
  char st[512];
  for (;; cyc++) {
    // 1. inputs of cycle cyc
    if (!pending.empty() && pending.front_due() == cyc) {
      t->rd_valid_i = 1;
      port_set_bytes(t->rd_data_i, pending.front_data(), (unsigned)TERN_RTL_BW);
      pending.pop();
    } else {
      t->rd_valid_i = 0;
    }
    // 2. evaluate the cycle
    hs.eval_low();
    if (t->done_o) break;
    if (t->error_o) {
      describe_state(t, st, sizeof st);
      set_err(err, errlen, "RTL error %u at cycle %" PRIu64 ": %s (%s)", (unsigned)t->error_code_o,
              cyc ? cyc - 1 : 0, error_code_name(t->error_code_o), st);
      rc = -1;
      break;
    }
    if (!t->running_o) {
      set_err(err, errlen, "RTL stopped running at cycle %" PRIu64 " without done or error",
              cyc);
      rc = -1;
      break;
    }
    // not done when cycle max_cycles starts (the ISA simulator's rule): done in cycle
    // max_cycles shows as done_o in the next one, so the check is one cycle later
    if (cyc > max_cycles) {
      describe_state(t, st, sizeof st);
      set_err(err, errlen, "max_cycles: not done after %" PRIu64 " cycles (%s)", max_cycles, st);
      rc = -1;
      break;
    }
    // 3. DRAM channels
    if (t->rd_req_o) {
      uint64_t a = t->rd_addr_o, len = t->rd_len_o;
      if (len == 0 || len > (uint64_t)TERN_RTL_BW || a + len > dram_bytes) {
        set_err(err, errlen,
                "DRAM read out of range at cycle %" PRIu64 ": address 0x%" PRIx64 " length %" PRIu64
                ", DRAM is %" PRIu64 " bytes (beat <= %d)",
                cyc, a, len, dram_bytes, TERN_RTL_BW);
        rc = -1;
        break;
      }
      try {
        pending.push(cyc + lat, dram + a, (unsigned)len);
      } catch (const std::bad_alloc &) {
        set_err(err, errlen, "out of memory for %zu DRAM reads in flight (dram_lat = %" PRIu64 ")",
                pending.size(), lat);
        rc = -1;
        break;
      }
    }
    if (t->wr_req_o) {
      uint64_t a = t->wr_addr_o, len = t->wr_len_o;
      if (len == 0 || len > (uint64_t)TERN_RTL_BW || a + len > dram_bytes) {
        set_err(err, errlen,
                "DRAM write out of range at cycle %" PRIu64 ": address 0x%" PRIx64
                " length %" PRIu64 ", DRAM is %" PRIu64 " bytes (beat <= %d)",
                cyc, a, len, dram_bytes, TERN_RTL_BW);
        rc = -1;
        break;
      }
      uint8_t b[256];
      port_get_bytes(t->wr_data_o, b, (unsigned)len);
      std::memcpy(dram + a, b, len);
    }
    // 4. watchdog: `watchdog` consecutive cycles in which no unit is active
    if (t->progress_o) {
      idle = 0;
    } else {
      if (idle++ == 0) idle_since = cyc;
      if (idle >= watchdog && cyc < max_cycles) {  // at max_cycles, max_cycles reports it
        describe_hang(t, h->prog, idle_since, watchdog, err, errlen);
        rc = -1;
        break;
      }
    }
    // 5. the edge that ends cycle cyc
    hs.edge();
  }

  if (out) {
    std::memset(out, 0, sizeof *out);
    for (int i = 0; i < TERN_NCOUNTERS; i++) {
      t->cnt_sel_i = (uint8_t)i;
      t->eval();
      out->v[i] = t->cnt_value_o;
    }
  }
  if (rc == 0) {
    // done_o rises at the edge that ends the done cycle (CYCLES = that cycle's number)
    uint64_t cycles = out ? out->v[TERN_CNT_CYCLES] : cyc - 1;
    if (cycles + 1 != cyc) {
      set_err(err, errlen,
              "internal: CYCLES counter %" PRIu64 " disagrees with the harness (done seen in cycle %" PRIu64 ")",
              cycles, cyc);
      rc = -1;
    } else if (!pending.empty()) {
      set_err(err, errlen, "internal: done with %zu DRAM reads in flight", pending.size());
      rc = -1;
    }
  }
  hs.close_trace();
  return rc;
}

tern_rtl::~tern_rtl() = default;

TERN_API void tern_rtl_destroy(tern_rtl *h) { delete h; }
