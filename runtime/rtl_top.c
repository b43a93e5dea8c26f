/* `tern rtl-top`: a Verilog-2001 wrapper of tern_top with one
 * configuration's parameters fixed (include/tern/rtl_top.h). */
#include "tern/rtl_top.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/counters.h"
#include "tern/err.h"
#include "tern/isa_table.h"

void tern_rtl_top_config_default(tern_rtl_top_config *c) {
  memset(c, 0, sizeof *c);
  c->hw = tern_hwcfg_default();
}

/* compile order: leaves first (tern_top last) */
static const char *const rtl_sources[] = {
    "rtl/tern_pe.sv",       "rtl/tern_array.sv",     "rtl/tern_vec.sv",
    "rtl/tern_mpram.sv",    "rtl/tern_acc_ram.sv",   "rtl/tern_out_ram.sv",
    "rtl/tern_compute.sv",  "rtl/tern_fifo.sv",      "rtl/tern_dma_load.sv",
    "rtl/tern_dma_store.sv", "rtl/tern_top.sv",      NULL};

const char *const *tern_rtl_top_sources(void) { return rtl_sources; }
const char *tern_rtl_top_include(void) { return "rtl/tern_isa.vh"; }

const char *tern_rtl_top_usage(void) {
  return "usage: tern rtl-top [--array RxC] [--set key=value]... [--name MODULE] [-o FILE.v]\n"
         "Write a Verilog-2001 wrapper module that instantiates tern_top (rtl/tern_top.sv)\n"
         "with one configuration's parameters fixed, for a vendor flow.  Its header comment\n"
         "lists the parameters, the files it needs and the port contract (rtl/README.md\n"
         "\"Using the RTL in your flow\").\n"
         "  --array RxC        array size (default 16x16); 4x4 and 8x8 select the whole RTL\n"
         "                     test configurations (depths, qdepth, imem, dram_bw), any\n"
         "                     other size changes only rows/cols of the default.  Use\n"
         "                     --array before --set: it replaces those fields.\n"
         "  --set key=value    RTL parameter: rows, cols, wbuf_depth, abuf_depth, acc_depth,\n"
         "                     out_depth, qdepth, imem_depth, dram_bw, psum_bits; repeatable\n"
         "  --name MODULE      module name (default tern_top_<configuration>, e.g.\n"
         "                     tern_top_r8c8_w64_a512_c1024_o512_q4_i8192_b8)\n"
         "  -o FILE.v          output file (default MODULE.v)\n";
}

int tern_rtl_top_check(const tern_hwcfg *hw, char *err, size_t errlen) {
  /* the run-time fields do not reach the RTL: check with valid stand-ins */
  tern_hwcfg h = *hw;
  h.dram_lat = 1;
  h.dram_bytes = 1;
  h.clock_mhz = 1.0;
  /* qdepth <= TERN_HW_QDEPTH_MAX (dbg_fifo_o's 8 bits per queue) is part of the check */
  return tern_hwcfg_check(&h, err, errlen);
}

void tern_rtl_top_module_name(const tern_hwcfg *hw, char *buf, size_t len) {
  char n[128];
  tern_hwcfg_rtl_name(hw, n, sizeof n);
  snprintf(buf, len, "tern_top_%s", n);
}

static const char *const rtl_modules[] = {"tern_top",      "tern_pe",        "tern_array",
                                          "tern_vec",      "tern_mpram",     "tern_acc_ram",
                                          "tern_out_ram",  "tern_compute",   "tern_fifo",
                                          "tern_dma_load", "tern_dma_store", NULL};

static int check_module_name(const char *m, char *err, size_t errlen) {
  size_t n = strlen(m);
  int ok = n > 0 && n <= 200 && (m[0] == '_' || (m[0] >= 'A' && m[0] <= 'Z') ||
                                 (m[0] >= 'a' && m[0] <= 'z'));
  for (size_t i = 1; ok && i < n; i++) {
    char ch = m[i];
    ok = ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
  }
  if (!ok)
    return tern_err(err, errlen,
                    "--name: '%s', expected a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*, at most "
                    "200 characters)",
                    m);
  for (int i = 0; rtl_modules[i]; i++)
    if (!strcmp(m, rtl_modules[i]))
      return tern_err(err, errlen, "--name: '%s' is a module of rtl/, expected another name", m);
  return 0;
}

static const char *const rtl_keys[] = {"rows",      "cols",       "wbuf_depth", "abuf_depth",
                                       "acc_depth", "out_depth",  "qdepth",     "imem_depth",
                                       "dram_bw",   "psum_bits",  NULL};

int tern_rtl_top_parse_args(int argc, char **argv, tern_rtl_top_config *c, int *help, char *err,
                            size_t errlen) {
  tern_rtl_top_config_default(c);
  *help = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *help = 1;
      return 0;
    }
    if (strcmp(a, "--array") && strcmp(a, "--set") && strcmp(a, "--name") && strcmp(a, "-o"))
      return tern_err(err, errlen,
                      "unknown argument '%s' for tern rtl-top, expected --array, --set, --name or "
                      "-o (tern rtl-top --help)",
                      a);
    if (i + 1 >= argc) return tern_err(err, errlen, "%s: missing value", a);
    const char *v = argv[++i];
    char e2[512];
    if (!strcmp(a, "--array")) {
      int r, cc;
      if (tern_parse_array(v, &r, &cc, e2, sizeof e2)) return tern_err(err, errlen, "--array: %s", e2);
      if ((r == 4 && cc == 4) || (r == 8 && cc == 8)) {
        c->hw = tern_hwcfg_small(r, cc);
      } else {
        c->hw.rows = r;
        c->hw.cols = cc;
      }
      if (tern_rtl_top_check(&c->hw, e2, sizeof e2))
        return tern_err(err, errlen, "--array %s: %s", v, e2);
    } else if (!strcmp(a, "--set")) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v)
        return tern_err(err, errlen, "--set: '%s', expected key=value (e.g. wbuf_depth=512)", v);
      char key[64];
      size_t kl = (size_t)(eq - v);
      if (kl >= sizeof key) return tern_err(err, errlen, "--set: key of '%s' too long", v);
      memcpy(key, v, kl);
      key[kl] = 0;
      int known = 0;
      for (int k = 0; rtl_keys[k]; k++) known |= !strcmp(key, rtl_keys[k]);
      if (!known) {
        if (!strcmp(key, "dram_lat") || !strcmp(key, "dram_bytes") || !strcmp(key, "clock_mhz"))
          return tern_err(err, errlen,
                          "--set %s: %s is a run-time parameter (DRAM latency, DRAM size and "
                          "clock are not in the RTL); expected rows, cols, "
                          "wbuf_depth, abuf_depth, acc_depth, out_depth, qdepth, imem_depth, "
                          "dram_bw or psum_bits",
                          v, key);
        return tern_err(err, errlen,
                        "--set %s: unknown key '%s', expected rows, cols, wbuf_depth, abuf_depth, "
                        "acc_depth, out_depth, qdepth, imem_depth, dram_bw or psum_bits",
                        v, key);
      }
      if (tern_hwcfg_set(&c->hw, key, eq + 1, e2, sizeof e2))
        return tern_err(err, errlen, "--set %s: %s", v, e2);
    } else if (!strcmp(a, "--name")) {
      if (check_module_name(v, err, errlen)) return -1;
      c->module = v;
    } else {
      if (!*v) return tern_err(err, errlen, "-o: empty, expected an output file name");
      c->out = v;
    }
  }
  char e2[512];
  if (tern_rtl_top_check(&c->hw, e2, sizeof e2))
    return tern_err(err, errlen, "tern rtl-top: configuration: %s", e2);
  return 0;
}

/* ---- writer ---------------------------------------------------------------------- */

typedef struct port {
  const char *name;
  int out;       /* 1 output, 0 input */
  int width;     /* bits; 0: DRAM_BW*8 */
  const char *what;
} port;

static const port ports[] = {
    {"clk_i", 0, 1, "clock (every register on its rising edge)"},
    {"rst_ni", 0, 1, "reset, active low, asynchronous assert"},
    {"imem_we_i", 0, 1, "IMEM write enable (ignored while running_o)"},
    {"imem_addr_i", 0, 32, "IMEM instruction index"},
    {"imem_wdata_i", 0, 128, "instruction word"},
    {"start_i", 0, 1, "one-cycle start pulse"},
    {"running_o", 1, 1, "between start and done/error"},
    {"done_o", 1, 1, "level: END executed, the units idle"},
    {"error_o", 1, 1, "level: the run stopped on an error"},
    {"error_code_o", 1, 8, "1 token overflow, 2 token underflow, 3 invalid instruction"},
    {"progress_o", 1, 1, "some unit is active (fetch, a unit busy, GEMM rows in the array)"},
    {"rd_req_o", 1, 1, "DRAM read request (one beat)"},
    {"rd_addr_o", 1, 32, "its byte address"},
    {"rd_len_o", 1, 8, "its length in bytes (the beat)"},
    {"rd_valid_i", 0, 1, "a requested beat arrives"},
    {"rd_data_i", 0, 0, "its bytes, byte k at [8k+7:8k]"},
    {"wr_req_o", 1, 1, "DRAM write (posted)"},
    {"wr_addr_o", 1, 32, "its byte address"},
    {"wr_len_o", 1, 8, "its length in bytes"},
    {"wr_data_o", 1, 0, "its bytes, byte k at [8k+7:8k]"},
    {"cnt_sel_i", 0, 6, "counter index"},
    {"cnt_value_o", 1, 64, "that counter (combinational)"},
    {"dbg_pc_o", 1, 32, "fetch pc"},
    {"dbg_tokens_o", 1, 64, "token counters L2C, C2L, C2S, S2C (16 bits each, L2C low)"},
    {"dbg_fifo_o", 1, 24, "load, compute, store FIFO counts (8 bits each)"},
    {"dbg_state_o", 1, 5, "{compute stall, END fetched, store busy, compute busy, load busy}"},
};
#define NPORTS (sizeof ports / sizeof ports[0])

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* base name without its last extension equals m? */
static int stem_is(const char *path, const char *m) {
  const char *b = base_name(path);
  const char *dot = strrchr(b, '.');
  size_t n = dot ? (size_t)(dot - b) : strlen(b);
  return n == strlen(m) && !strncmp(b, m, n);
}

int tern_rtl_top_write(const tern_rtl_top_config *c, FILE *f, char *err, size_t errlen) {
  const tern_hwcfg *h = &c->hw;
  char e2[512];
  if (tern_rtl_top_check(h, e2, sizeof e2)) return tern_err(err, errlen, "configuration: %s", e2);
  char def[256];
  tern_rtl_top_module_name(h, def, sizeof def);
  const char *m = c->module ? c->module : def;
  if (check_module_name(m, err, errlen)) return -1;
  char deffile[272];
  snprintf(deffile, sizeof deffile, "%s.v", m);
  const char *file = c->out ? c->out : deffile;
  const int R = h->rows, C = h->cols, BW = h->dram_bw;
  const int bw_bits = 8 * BW;

  fprintf(f, "// %s -- GENERATED by `tern rtl-top`; do not edit, regenerate with\n", base_name(file));
  fprintf(f,
          "//   tern rtl-top --array %dx%d --set wbuf_depth=%d --set abuf_depth=%d --set acc_depth=%d\n"
          "//                --set out_depth=%d --set qdepth=%d --set imem_depth=%d --set dram_bw=%d\n"
          "//                --set psum_bits=%d --name %s -o %s\n",
          R, C, h->wbuf_depth, h->abuf_depth, h->acc_depth, h->out_depth, h->qdepth,
          h->imem_depth, BW, tern_hwcfg_psum_bits(h), m, base_name(file));
  fprintf(f,
          "//\n"
          "// The tern ternary accelerator (ISA version %d) with the parameters below\n"
          "// fixed: a Verilog-2001 wrapper of tern_top (rtl/tern_top.sv) for a vendor\n"
          "// flow.  Ports: tern_top's, same names, directions and meaning.\n"
          "//\n",
          TERN_ISA_VERSION);
  fprintf(f, "// Parameters (rtl/README.md \"Parameters\", docs/ARCHITECTURE.md):\n");
  fprintf(f, "//   ROWS       = %-6d array rows; an ABUF word is ROWS int8\n", R);
  fprintf(f, "//   COLS       = %-6d array columns = vector lanes\n", C);
  fprintf(f, "//   WBUF_DEPTH = %-6d weight tiles of ROWS*COLS 2-bit codes (%llu bits, one read + one write port)\n",
          h->wbuf_depth, (unsigned long long)h->wbuf_depth * R * C * 2);
  fprintf(f, "//   ABUF_DEPTH = %-6d activation words of ROWS int8 (%llu bits, one read + one write port)\n",
          h->abuf_depth, (unsigned long long)h->abuf_depth * R * 8);
  fprintf(f, "//   ACC_DEPTH  = %-6d accumulator words of COLS int32 (%llu bits; 2 writes + 3 reads\n"
             "//                     per cycle: 6 one-write one-read banks + a live-value table)\n",
          h->acc_depth, (unsigned long long)h->acc_depth * C * 32);
  fprintf(f, "//   OUT_DEPTH  = %-6d output words of COLS int8 (%llu bits; built like ACC)\n",
          h->out_depth, (unsigned long long)h->out_depth * C * 8);
  fprintf(f, "//   QDEPTH     = %-6d entries of each of the 3 instruction FIFOs (128 bits each)\n",
          h->qdepth);
  fprintf(f, "//   IMEM_DEPTH = %-6d instructions of 128 bits (%llu bits)\n", h->imem_depth,
          (unsigned long long)h->imem_depth * 128);
  fprintf(f, "//   DRAM_BW    = %-6d bytes per cycle per DRAM channel (read and write)\n", BW);
  fprintf(f, "//   PSUM_W     = %-6d bits of the partial sums inside the array (%d..32 for %d rows:\n"
             "//                     every value gives the same results)\n",
          tern_hwcfg_psum_bits(h), tern_hwcfg_psum_min(R), R);
  fprintf(f,
          "//   Not in the RTL: the DRAM read latency (the memory system's), the DRAM\n"
          "//   size and the clock.  The tern cycle model (docs/ISA.md \"Timing\") for\n"
          "//   this configuration: tern --array / --set with the values above and\n"
          "//   --set dram_lat=L for your memory's latency L.\n"
          "//\n");
  fprintf(f,
          "// Files (paths in the tern repository; read the .sv files as SystemVerilog,\n"
          "// this file as Verilog-2001 or SystemVerilog):\n");
  for (int i = 0; rtl_sources[i]; i++) fprintf(f, "//   %s\n", rtl_sources[i]);
  fprintf(f,
          "//   include directory rtl/ for %s (`included inside module bodies)\n"
          "//   FuseSoC: the core tern:accel:tern_top in rtl/tern.core lists the same files.\n"
          "//   Lint (clean with -Wall; TERN = the tern repository):\n"
          "//     $ verilator --lint-only -Wall --top-module %s -I$TERN/rtl $TERN/rtl/*.sv %s\n"
          "//\n",
          tern_rtl_top_include(), m, base_name(file));
  fprintf(f,
          "// Port contract (rtl/README.md \"tern_top ports\", docs/ISA.md \"Timing\"):\n"
          "// * Reset: hold rst_ni low for at least one clock edge before each run (the\n"
          "//   tern harness holds it 3 cycles).  It clears the control state and the\n"
          "//   counters, not the memories (IMEM, WBUF, ABUF, ACC, OUT, LUT keep their\n"
          "//   contents from one run to the next: docs/ISA.md \"Sessions\").\n"
          "// * Program: while idle, one instruction per cycle with imem_we_i = 1,\n"
          "//   imem_addr_i = instruction index 0..%d, imem_wdata_i = its 16 bytes\n"
          "//   (byte k of the encoding of docs/ISA.md at [8k+7:8k]).\n"
          "// * start_i: a one-cycle pulse; the cycle after it is cycle 0.  running_o is\n"
          "//   high until done_o or error_o (levels, until the next reset); then the\n"
          "//   CYCLES counter holds the cycle count.  error_code_o: 1 token counter\n"
          "//   overflow, 2 token pop underflow, 3 invalid instruction at fetch.\n"
          "//   progress_o: some unit is active this cycle (fetch pushes, a unit starts,\n"
          "//   is busy or finishes, GEMM rows in the array; a LOAD also while its beats\n"
          "//   are in DRAM latency).  A watchdog may report a deadlock after N cycles\n"
          "//   without it: a valid program has none (docs/ISA.md \"Watchdog\").\n",
          h->imem_depth - 1);
  fprintf(f,
          "// * DRAM read channel, no backpressure: the memory accepts a request every\n"
          "//   cycle (rd_req_o, byte address rd_addr_o, rd_len_o = min(%d, word bytes\n"
          "//   of the memory loaded) bytes, 1 for OUT8) and returns each\n"
          "//   request's beat, in request order, as one cycle of rd_valid_i with\n"
          "//   rd_data_i[8k+7:8k] = DRAM[rd_addr_o + k], a fixed L >= 1 cycles after\n"
          "//   the request (the cycle model's dram_lat = L; the RTL is verified against\n"
          "//   the ISA simulator with a fixed latency only).\n"
          "// * DRAM write channel, posted, no backpressure: in a cycle with wr_req_o,\n"
          "//   write wr_len_o bytes wr_data_o[8k+7:8k] to DRAM[wr_addr_o + k].\n"
          "// * Counters: cnt_value_o = counter cnt_sel_i (64 bits, combinational),\n"
          "//   docs/ISA.md \"Counters\":\n",
          BW);
  for (int i = 0; i < TERN_NCOUNTERS; i += 4) {
    char line[128];
    int n = snprintf(line, sizeof line, "//    ");
    for (int k = i; k < i + 4 && k < TERN_NCOUNTERS; k++)
      n += snprintf(line + n, sizeof line - (size_t)n, " %2d %-14s", k, tern_counter_name(k));
    while (n > 0 && line[n - 1] == ' ') line[--n] = 0;
    fprintf(f, "%s\n", line);
  }
  fprintf(f, "// * dbg_*: state for a watchdog message; may be left unconnected.\n//\n");

  /* the module */
  if (c->out && !stem_is(c->out, m))
    fprintf(f, "// The file name differs from the module name (-o %s):\n"
               "/* verilator lint_off DECLFILENAME */\n",
            base_name(c->out));
  fprintf(f, "`default_nettype none\n\nmodule %s (\n", m);
  for (size_t i = 0; i < NPORTS; i++) {
    const port *p = &ports[i];
    int w = p->width ? p->width : bw_bits;
    char range[32] = "";
    if (w > 1) snprintf(range, sizeof range, "[%d:0]", w - 1);
    char decl[96];
    snprintf(decl, sizeof decl, "%s wire %-8s %s%s", p->out ? "output" : "input ", range, p->name,
             i + 1 < NPORTS ? "," : "");
    fprintf(f, "    %-44s // %s\n", decl, p->what);
  }
  fprintf(f, ");\n\n");
  fprintf(f,
          "  tern_top #(\n"
          "      .ROWS      (%d),\n"
          "      .COLS      (%d),\n"
          "      .WBUF_DEPTH(%d),\n"
          "      .ABUF_DEPTH(%d),\n"
          "      .ACC_DEPTH (%d),\n"
          "      .OUT_DEPTH (%d),\n"
          "      .QDEPTH    (%d),\n"
          "      .IMEM_DEPTH(%d),\n"
          "      .DRAM_BW   (%d),\n"
          "      .PSUM_W    (%d)\n"
          "  ) u_tern_top (\n",
          R, C, h->wbuf_depth, h->abuf_depth, h->acc_depth, h->out_depth, h->qdepth, h->imem_depth,
          BW, tern_hwcfg_psum_bits(h));
  for (size_t i = 0; i < NPORTS; i++)
    fprintf(f, "      .%-13s(%s)%s\n", ports[i].name, ports[i].name, i + 1 < NPORTS ? "," : "");
  fprintf(f, "  );\n\nendmodule\n\n`default_nettype wire\n");
  if (c->out && !stem_is(c->out, m)) fprintf(f, "/* verilator lint_on DECLFILENAME */\n");
  if (ferror(f)) return tern_err(err, errlen, "%s: write error", file);
  return 0;
}

int tern_rtl_top_write_file(const tern_rtl_top_config *c, char *path_out, size_t path_len,
                            char *err, size_t errlen) {
  char def[256], deffile[272];
  tern_rtl_top_module_name(&c->hw, def, sizeof def);
  snprintf(deffile, sizeof deffile, "%s.v", c->module ? c->module : def);
  const char *path = c->out ? c->out : deffile;
  if (path_out && path_len) snprintf(path_out, path_len, "%s", path);
  /* check before creating the file, so a bad configuration leaves nothing behind */
  char e2[512];
  if (tern_rtl_top_check(&c->hw, e2, sizeof e2)) return tern_err(err, errlen, "configuration: %s", e2);
  if (c->module && check_module_name(c->module, err, errlen)) return -1;
  FILE *f = fopen(path, "w");
  if (!f) return tern_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
  int rc = tern_rtl_top_write(c, f, e2, sizeof e2);
  if (fclose(f) != 0 && rc == 0) {
    snprintf(e2, sizeof e2, "%s: write error", path);
    rc = -1;
  }
  if (rc != 0) {
    remove(path);
    return tern_err(err, errlen, "%s", e2);
  }
  return 0;
}
