/* Run report writer (include/tern/report.h). */
#include "../runtime/rt_util.h"
#include "tern/err.h"
#include "tern/report.h"
#include "tern/hwcfg.h"
#include "tern/tfm_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static FILE *open_in(const char *dir, const char *name, char *err, size_t errlen) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) tern_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
  return f;
}

/* ---- a tiny table emitter writing markdown and HTML together ------------- */
typedef struct emit {
  FILE *md, *html;
} emit;

static void html_esc(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}
static void md_cell(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", f);
    else fputc(*s, f);
  }
}

static void e_heading(emit *e, const char *t) {
  fprintf(e->md, "\n## %s\n\n", t);
  fputs("<h2>", e->html);
  html_esc(e->html, t);
  fputs("</h2>\n", e->html);
}
static void e_para(emit *e, const char *t) {
  fprintf(e->md, "%s\n\n", t);
  fputs("<p>", e->html);
  html_esc(e->html, t);
  fputs("</p>\n", e->html);
}
static void e_table_start(emit *e, const char *c1, const char *c2, const char *c3) {
  fprintf(e->md, "| %s | %s | %s |\n|---|---|---|\n", c1, c2, c3);
  fputs("<table><tr><th>", e->html);
  html_esc(e->html, c1);
  fputs("</th><th>", e->html);
  html_esc(e->html, c2);
  fputs("</th><th>", e->html);
  html_esc(e->html, c3);
  fputs("</th></tr>\n", e->html);
}
static void e_row(emit *e, const char *c1, const char *c2, const char *c3) {
  fputs("| ", e->md);
  md_cell(e->md, c1);
  fputs(" | ", e->md);
  md_cell(e->md, c2);
  fputs(" | ", e->md);
  md_cell(e->md, c3);
  fputs(" |\n", e->md);
  fputs("<tr><td>", e->html);
  html_esc(e->html, c1);
  fputs("</td><td class=\"v\">", e->html);
  html_esc(e->html, c2);
  fputs("</td><td>", e->html);
  html_esc(e->html, c3);
  fputs("</td></tr>\n", e->html);
}
static void e_rowf(emit *e, const char *c1, const char *c3, const char *fmt, ...) {
  char v[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v, sizeof v, fmt, ap);
  va_end(ap);
  e_row(e, c1, v, c3);
}
static void e_table_end(emit *e) {
  fputs("\n", e->md);
  fputs("</table>\n", e->html);
}
/* a table with any number of columns (sources stated in the paragraph above it) */
static void e_wide_start(emit *e, const char *const *cols, int n) {
  fputs("|", e->md);
  for (int i = 0; i < n; i++) fprintf(e->md, " %s |", cols[i]);
  fputs("\n|", e->md);
  for (int i = 0; i < n; i++) fputs("---|", e->md);
  fputs("\n", e->md);
  fputs("<table><tr>", e->html);
  for (int i = 0; i < n; i++) {
    fputs("<th>", e->html);
    html_esc(e->html, cols[i]);
    fputs("</th>", e->html);
  }
  fputs("</tr>\n", e->html);
}
static void e_wide_row(emit *e, char cells[][96], int n) {
  fputs("|", e->md);
  for (int i = 0; i < n; i++) {
    fputc(' ', e->md);
    md_cell(e->md, cells[i]);
    fputs(" |", e->md);
  }
  fputs("\n", e->md);
  fputs("<tr>", e->html);
  for (int i = 0; i < n; i++) {
    fputs(i ? "<td class=\"v\">" : "<td>", e->html);
    html_esc(e->html, cells[i]);
    fputs("</td>", e->html);
  }
  fputs("</tr>\n", e->html);
}

static void e_image(emit *e, const char *file, const char *alt) {
  fprintf(e->md, "![%s](%s)\n\n", alt, file);
  fprintf(e->html, "<p><img src=\"%s\" alt=\"", file);
  html_esc(e->html, alt);
  fputs("\"></p>\n", e->html);
}

/* the energy model's assumptions as a section (a bulleted list) */
static void e_assumptions(emit *e) {
  e_heading(e, "Energy model assumptions");
  const char *a = tern_energy_assumptions();
  fputs("<ul>\n", e->html);
  while (*a) {
    const char *nl = strchr(a, '\n');
    size_t n = nl ? (size_t)(nl - a) : strlen(a);
    char line[1024];
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, a, n);
    line[n] = 0;
    fprintf(e->md, "- %s\n", line);
    fputs("<li>", e->html);
    html_esc(e->html, line);
    fputs("</li>\n", e->html);
    a += n;
    if (*a == '\n') a++;
  }
  fputs("\n", e->md);
  fputs("</ul>\n", e->html);
}

static int run_gnuplot(const char *dir, const char *script, char *err, size_t errlen) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' 2>'%s.log'", dir, script, script);
  int rc = system(cmd);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    tern_err(err, errlen, "%s/%s: gnuplot failed (status %d; see %s/%s.log)", dir, script,
            rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128), dir, script);
    return -1;
  }
  return 0;
}

/* Opens DIR/<png stem>.gp, a gnuplot script drawing png (w x h pixels,
 * pngcairo; term_opts e.g. "noenhanced" or ""): the caller adds the rest. */
static FILE *gp_open(const char *dir, const char *png, int w, int h, const char *term_opts,
                     char *err, size_t errlen) {
  char name[128];
  const char *dot = strrchr(png, '.');
  snprintf(name, sizeof name, "%.*s.gp", dot ? (int)(dot - png) : (int)strlen(png), png);
  FILE *f = open_in(dir, name, err, errlen);
  if (f)
    fprintf(f, "set terminal pngcairo size %d,%d%s%s\nset output '%s'\n", w, h,
            *term_opts ? " " : "", term_opts, png);
  return f;
}

/* gp_open, then the preamble of a rowstacked histogram: the caller adds the
 * title, labels and plot. */
static FILE *gp_stacked(const char *dir, const char *png, int w, int h, double boxwidth,
                        char *err, size_t errlen) {
  FILE *f = gp_open(dir, png, w, h, "", err, errlen);
  if (!f) return NULL;
  fprintf(f,
          "set style data histograms\n"
          "set style histogram rowstacked\n"
          "set style fill solid 0.8 border -1\n"
          "set boxwidth %g\n"
          "set yrange [0:*]\n"
          "set key outside right\n",
          boxwidth);
  return f;
}

/* BASE.md + BASE.html with the title as heading */
static int e_open_as(emit *e, const char *dir, const char *base, const char *title, char *err,
                     size_t errlen) {
  char name[128];
  snprintf(name, sizeof name, "%s.md", base);
  e->md = open_in(dir, name, err, errlen);
  if (!e->md) return -1;
  snprintf(name, sizeof name, "%s.html", base);
  e->html = open_in(dir, name, err, errlen);
  if (!e->html) {
    fclose(e->md);
    return -1;
  }
  fprintf(e->md, "# %s\n", title);
  fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", e->html);
  html_esc(e->html, title);
  fputs("</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;}"
        "table{border-collapse:collapse;margin:0.5em 0;}td,th{border:1px solid #999;"
        "padding:3px 8px;text-align:left;}td.v{text-align:right;font-family:monospace;}"
        ".ok{color:#2e7d32;font-weight:bold}.bad{color:#c62828;font-weight:bold}</style>\n"
        "</head><body>\n<h1>",
        e->html);
  html_esc(e->html, title);
  fputs("</h1>\n", e->html);
  return 0;
}

/* report.md + report.html */
static int e_open(emit *e, const char *dir, const char *title, char *err, size_t errlen) {
  return e_open_as(e, dir, "report", title, err, errlen);
}

/* closes both files, then runs the gnuplot scripts (NULL-terminated) */
static int e_close(emit *e, const char *dir, const char *const *scripts, char *err,
                   size_t errlen) {
  fputs("</body></html>\n", e->html);
  int bad = ferror(e->md) || ferror(e->html);
  fclose(e->md);
  fclose(e->html);
  if (bad) return tern_err(err, errlen, "%s: write error in the report's .md / .html", dir);
  for (; *scripts; scripts++)
    if (run_gnuplot(dir, *scripts, err, errlen) != 0) return -1;
  return 0;
}

int tern_report_write(const char *dir, const tern_run_result *r, char *err, size_t errlen) {
  if (!dir || !*dir) {
    tern_err(err, errlen, "report: empty directory name");
    return -1;
  }
  if (rt_mkdir_p(dir, err, errlen) != 0) return -1;
  const int M = r->tokens > 0 ? r->tokens : 1;
  const tern_hwcfg *h = &r->hw;
  const uint64_t *v = r->cnt.v;
  const int rtl = strcmp(r->backend, "rtl") == 0;
  const char *csrc = rtl ? "RTL counters (Verilated rtl/tern_top.sv)" : "ISA simulator cycle model (sim/isasim.c)";
  const tern_energy *en = &r->energy;
  char tsrc[1024];
  snprintf(tsrc, sizeof tsrc, "%s: %s", r->tech.path, r->tech.title);

  /* ---- gnuplot data and scripts ---- */
  FILE *f = open_in(dir, "cycles.dat", err, errlen);
  if (!f) return -1;
  const uint64_t cyc = v[TERN_CNT_CYCLES];
  struct {
    const char *name;
    uint64_t busy, stall;
  } units[3] = {{"load", v[TERN_CNT_LOAD_BUSY], v[TERN_CNT_LOAD_STALL]},
                {"compute", v[TERN_CNT_COMPUTE_BUSY], v[TERN_CNT_COMPUTE_STALL]},
                {"store", v[TERN_CNT_STORE_BUSY], v[TERN_CNT_STORE_STALL]}};
  fprintf(f, "# unit busy stall idle (cycles; %s)\n", csrc);
  for (int i = 0; i < 3; i++) {
    uint64_t used = units[i].busy + units[i].stall;
    fprintf(f, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", units[i].name, units[i].busy,
            units[i].stall, cyc > used ? cyc - used : 0);
  }
  fclose(f);
  f = gp_stacked(dir, "cycles.png", 800, 480, 0.6, err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set title 'Cycles by unit (%s, %d tokens, total %" PRIu64 " cycles; %s)'\n"
          "set ylabel 'cycles'\n"
          "plot 'cycles.dat' using 2:xtic(1) title 'busy' lc rgb '#2e7d32', \\\n"
          "     '' using 3 title 'stall' lc rgb '#c62828', \\\n"
          "     '' using 4 title 'idle' lc rgb '#bdbdbd'\n",
          r->backend, M, cyc, rtl ? "RTL counters" : "ISA simulator");
  fclose(f);

  /* energy per token in nJ: arithmetic, SRAM, vector ALU, DRAM */
  double sram = en->pj[TERN_EC_WBUF] + en->pj[TERN_EC_ABUF] + en->pj[TERN_EC_ACC] +
                en->pj[TERN_EC_OUT] + en->pj[TERN_EC_LUT];
  f = open_in(dir, "energy.dat", err, errlen);
  if (!f) return -1;
  fprintf(f, "# system arithmetic SRAM vector_ALU DRAM  (nJ per token; counters x %s)\n",
          r->tech.path);
  fprintf(f, "\"tern measured\" %.6f %.6f %.6f %.6f\n", en->pj[TERN_EC_ARRAY] / M / 1e3,
          sram / M / 1e3, (en->pj[TERN_EC_VALU] + en->pj[TERN_EC_MAC8]) / M / 1e3,
          en->pj[TERN_EC_DRAM] / M / 1e3);
  fprintf(f, "\"tern arith+W2\" %.6f 0 0 %.6f\n", en->tern_arith_pj / M / 1e3,
          en->tern_wdram_pj / M / 1e3);
  fprintf(f, "\"FP16 arith+W16\" %.6f 0 0 %.6f\n", en->fp16_arith_pj / M / 1e3,
          en->fp16_wdram_pj / M / 1e3);
  fprintf(f, "\"INT8 arith+W8\" %.6f 0 0 %.6f\n", en->int8_arith_pj / M / 1e3,
          en->int8_wdram_pj / M / 1e3);
  fclose(f);
  f = gp_stacked(dir, "energy.png", 900, 500, 0.6, err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set title \"Energy per token (%s table, %d tokens)\\nmeasured = all counters; arith+Wb = MAC arithmetic + weights read once at b bits\" noenhanced\n"
          "set ylabel 'nJ per token'\n"
          "set xtics noenhanced font ',9'\n"
          "plot 'energy.dat' using 2:xtic(1) title 'arithmetic' lc rgb '#1565c0', \\\n"
          "     '' using 3 title 'SRAM' lc rgb '#f9a825', \\\n"
          "     '' using 4 title 'vector ALU' lc rgb '#6a1b9a', \\\n"
          "     '' using 5 title 'DRAM' lc rgb '#c62828'\n",
          r->tech_node, M);
  fclose(f);

  /* ---- report.md + report.html ---- */
  emit e;
  char title[256];
  snprintf(title, sizeof title, "tern run report: MLP d=%d f=%d layers=%d, %dx%d array, %s backend",
           r->model.d, r->model.f, r->model.layers, h->rows, h->cols, r->backend);
  if (e_open(&e, dir, title, err, errlen)) return -1;

  e_heading(&e, "Configuration");
  e_table_start(&e, "parameter", "value", "source");
  e_rowf(&e, "model", "tern_mlp_config (models/mlp.c)", "MLP d=%d f=%d layers=%d act=%s seed=%" PRIu64,
         r->model.d, r->model.f, r->model.layers, r->model.act == TERN_ACT_SILU ? "silu" : "relu2",
         r->model.seed);
  e_rowf(&e, "ternary weights", "tern_mlp_weight_count", "%" PRIu64, r->weights);
  e_rowf(&e, "tokens M", "command line", "%d", M);
  e_rowf(&e, "array R x C", "tern_hwcfg", "%d x %d", h->rows, h->cols);
  e_rowf(&e, "WBUF / ABUF / ACC / OUT depth (words)", "tern_hwcfg", "%d / %d / %d / %d",
         h->wbuf_depth, h->abuf_depth, h->acc_depth, h->out_depth);
  e_rowf(&e, "queue depth / IMEM", "tern_hwcfg", "%d / %d", h->qdepth, h->imem_depth);
  e_rowf(&e, "DRAM bandwidth / read latency", "tern_hwcfg", "%d B/cycle per channel / %d cycles",
         h->dram_bw, h->dram_lat);
  e_rowf(&e, "clock", "tern_hwcfg (assumed clock, not a timing result)", "%g MHz", h->clock_mhz);
  e_rowf(&e, "backend", "command line", "%s", rtl ? "rtl (Verilated RTL)" : "isa (golden ISA simulator)");
  e_rowf(&e, "instructions", "compiler (tern_compile_mlp)", "%zu", r->n_insns);
  e_table_end(&e);

  e_heading(&e, "Verdicts");
  e_table_start(&e, "check", "result", "source");
  if (r->bit_exact)
    e_rowf(&e, "bit-exact vs integer reference", "tern_mlp_forward_int (models/mlp.c)",
           "PASS: %s == integer reference (%d x %d values)", rtl ? "RTL" : "ISA simulator", M,
           r->model.d);
  else
    e_rowf(&e, "bit-exact vs integer reference", "tern_mlp_forward_int (models/mlp.c)",
           "FAIL: %" PRIu64 " of %" PRIu64 " differ; first at token %d element %d: got %" PRId32
           " expected %" PRId32,
           r->n_mismatch, r->n_values, r->mm_token, r->mm_elem, r->mm_got, r->mm_expected);
  e_rowf(&e, "float reference: max abs error", "tern_mlp_forward_float (BitNet b1.58 BitLinear)",
         "%.6g", r->max_abs_err);
  e_rowf(&e, "float reference: cosine similarity", "tern_mlp_forward_float", "%.6f", r->cosine);
  e_table_end(&e);

  e_heading(&e, "Cycles");
  e_table_start(&e, "quantity", "value", "source");
  e_rowf(&e, "CYCLES", csrc, "%" PRIu64, cyc);
  for (int i = 0; i < 3; i++) {
    char q[64];
    snprintf(q, sizeof q, "%s busy / stall / idle", units[i].name);
    uint64_t used = units[i].busy + units[i].stall;
    e_rowf(&e, q, csrc, "%" PRIu64 " / %" PRIu64 " / %" PRIu64, units[i].busy, units[i].stall,
           cyc > used ? cyc - used : 0);
  }
  e_rowf(&e, "fetch stall", csrc, "%" PRIu64, v[TERN_CNT_FETCH_STALL]);
  e_rowf(&e, "ideal cycles M*K*N/(R*C)", "formula; M*sum K*N from tern_mlp_macs (unpadded)",
         "%" PRIu64 " / %d = %.1f", r->macs, h->rows * h->cols, r->ideal_cycles);
  e_rowf(&e, "utilisation = ideal / CYCLES", "formula over the two rows above", "%.2f %%",
         100.0 * r->utilisation);
  e_rowf(&e, "tokens/s at the clock", "formula: M * clock / CYCLES", "%.1f", r->tokens_per_s);
  e_rowf(&e, "DRAM bytes/token", csrc, "%.1f (read %" PRIu64 " + written %" PRIu64 ") / %d",
         r->dram_bytes_per_token, v[TERN_CNT_DRAM_RD_BYTES], v[TERN_CNT_DRAM_WR_BYTES], M);
  e_table_end(&e);
  e_image(&e, "cycles.png", "cycles by unit: busy / stall / idle");

  e_heading(&e, "Energy per token");
  e_para(&e, "Energy = event counters x the technology table; the table's header names its "
             "source, every line names the source of its number.");
  e_table_start(&e, "component", "nJ / token", "source");
  for (int i = 0; i < TERN_EC_COUNT; i++) {
    char s[900];
    switch (i) {
      case TERN_EC_ARRAY:
        snprintf(s, sizeof s, "PE_ADDS (%s) x int32_add (%s)", csrc, r->tech.source[TERN_TK_INT32_ADD]);
        break;
      case TERN_EC_SKIP:
        snprintf(s, sizeof s, "PE_SKIPS (%s) x 0 pJ (assumption)", csrc);
        break;
      case TERN_EC_DRAM:
        snprintf(s, sizeof s, "DRAM bytes (%s) x dram_64b / 64 bits (%s)", csrc, r->tech.source[TERN_TK_DRAM]);
        break;
      case TERN_EC_VALU:
        snprintf(s, sizeof s, "VOP_* counters (%s) x int32 add/mul (%s)", csrc, r->tech.path);
        break;
      case TERN_EC_MAC8:
        snprintf(s, sizeof s, "VOP_MAC8 (%s) x C lanes x int8_mac (%s)", csrc, r->tech.source[TERN_TK_INT8_MAC]);
        break;
      default: {
        int cls = i == TERN_EC_WBUF ? en->wbuf_class : i == TERN_EC_ABUF ? en->abuf_class
                : i == TERN_EC_ACC ? en->acc_class : i == TERN_EC_OUT ? en->out_class
                : TERN_TK_SRAM_8KB;
        snprintf(s, sizeof s, "reads + writes (%s) x word bits/64 x %s (%s)", csrc,
                 tern_tech_key_name(cls), r->tech.source[cls]);
      }
    }
    char val[64];
    snprintf(val, sizeof val, "%.4f (%.1f %%)", en->pj[i] / M / 1e3,
             en->total_pj > 0 ? 100.0 * en->pj[i] / en->total_pj : 0.0);
    e_row(&e, tern_energy_component_name(i), val, s);
  }
  e_rowf(&e, "total", tsrc, "%.4f", en->total_pj / M / 1e3);
  e_table_end(&e);

  e_heading(&e, "Baselines (same M*K*N MACs)");
  e_table_start(&e, "system", "nJ / token (ratio to tern)", "source");
  double ta = en->tern_arith_pj / M, tw = (en->tern_arith_pj + en->tern_wdram_pj) / M;
  double fa = en->fp16_arith_pj / M, fw = (en->fp16_arith_pj + en->fp16_wdram_pj) / M;
  double ia = en->int8_arith_pj / M, iw = (en->int8_arith_pj + en->int8_wdram_pj) / M;
  char s[900];
  e_rowf(&e, "tern array, arithmetic only", csrc, "%.4f", ta / 1e3);
  snprintf(s, sizeof s, "formula: MACs x (fp16_mul + fp16_add): %s; %s", r->tech.source[TERN_TK_FP16_MUL],
           r->tech.source[TERN_TK_FP16_ADD]);
  e_rowf(&e, "FP16 MAC array, arithmetic only", s, "%.4f (%.1fx)", fa / 1e3, ta > 0 ? fa / ta : 0.0);
  snprintf(s, sizeof s, "formula: MACs x (int8_mul + int32_add): %s; %s", r->tech.source[TERN_TK_INT8_MUL],
           r->tech.source[TERN_TK_INT32_ADD]);
  e_rowf(&e, "INT8 MAC array, arithmetic only", s, "%.4f (%.1fx)", ia / 1e3, ta > 0 ? ia / ta : 0.0);
  snprintf(s, sizeof s, "formula: + weights x 2 bits x dram_64b/64, read once per forward pass / M (%s)",
           r->tech.source[TERN_TK_DRAM]);
  e_rowf(&e, "tern, arithmetic + 2-bit weight DRAM", s, "%.4f", tw / 1e3);
  e_rowf(&e, "FP16 MAC, arithmetic + 16-bit weight DRAM", "formula, as above at 16 bits/weight",
         "%.4f (%.1fx)", fw / 1e3, tw > 0 ? fw / tw : 0.0);
  e_rowf(&e, "INT8 MAC, arithmetic + 8-bit weight DRAM", "formula, as above at 8 bits/weight",
         "%.4f (%.1fx)", iw / 1e3, tw > 0 ? iw / tw : 0.0);
  e_rowf(&e, "tern measured total (all counters)", tsrc, "%.4f (FP16 %.2fx, INT8 %.2fx)",
         en->total_pj / M / 1e3, en->total_pj > 0 ? fw * M / en->total_pj : 0.0,
         en->total_pj > 0 ? iw * M / en->total_pj : 0.0);
  e_table_end(&e);
  e_para(&e, "The baselines count only arithmetic and weight DRAM traffic; the measured tern "
             "total also includes every SRAM access, the vector unit and activation DRAM traffic, "
             "so its ratio is the conservative one.");
  e_image(&e, "energy.png", "energy per token by component");

  e_assumptions(&e);
  e_heading(&e, "Technology table");
  e_table_start(&e, "key", "pJ", "source");
  for (int k = 0; k < TERN_TK_COUNT; k++) {
    char val[64];
    snprintf(val, sizeof val, "%g %s", r->tech.pj[k], tern_tech_key_unit(k));
    snprintf(s, sizeof s, "%s:%d: %s", r->tech.path, r->tech.line[k], r->tech.source[k]);
    e_row(&e, tern_tech_key_name(k), val, s);
  }
  e_table_end(&e);

  e_heading(&e, "All counters");
  e_table_start(&e, "counter", "value", "source");
  for (int i = 0; i < TERN_NCOUNTERS; i++) e_rowf(&e, tern_counter_name(i), csrc, "%" PRIu64, v[i]);
  e_table_end(&e);
  static const char *const scripts[] = {"cycles.gp", "energy.gp", NULL};
  return e_close(&e, dir, scripts, err, errlen);
}

/* ---- generation report (tern generate --report DIR) ------------------------ */

int tern_gen_report_write(const char *dir, const tern_gen_config *c, const tern_gen_result *r,
                          const tern_tfm_fidelity_result *fid, char *err, size_t errlen) {
  if (!dir || !*dir) return tern_err(err, errlen, "report: empty directory name");
  if (!r->accel)
    return tern_err(err, errlen, "--report: only for --backend isa or rtl (the cpu backend has "
                                 "no counters)");
  if (rt_mkdir_p(dir, err, errlen) != 0) return -1;
  const char *be = c->backend ? c->backend : "isa";
  const int rtl = !strcmp(be, "rtl");
  const char *csrc = rtl ? "RTL counters (Verilated rtl/tern_top.sv)"
                         : "ISA simulator cycle model (sim/isasim.c)";
  char esrc[700];
  snprintf(esrc, sizeof esrc, "counters x %s", r->tech_path);
  const double mhz = c->hw.clock_mhz;

  /* per-step data: decode steps give energy/token against the context length */
  FILE *f = open_in(dir, "steps.dat", err, errlen);
  if (!f) return -1;
  fprintf(f, "# step pos M cycles attn_cycles ffn_cycles energy_uJ_per_token attn_uJ ffn_uJ "
             "weight_bytes dram_bytes  (%s; energy %s)\n",
          csrc, esrc);
  for (int s = 0; s < r->n_steps; s++) {
    const tern_gen_step *st = &r->step[s];
    int M = st->M > 0 ? st->M : 1;
    fprintf(f, "%d %d %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %.6f %.6f %.6f %" PRIu64 " %" PRIu64
               "\n",
            s, st->pos, st->M, st->cycles, st->attn_cycles, st->ffn_cycles,
            st->energy_pj / 1e6 / M, st->attn_pj / 1e6 / M, st->ffn_pj / 1e6 / M,
            st->weight_bytes, st->dram_bytes);
  }
  fclose(f);
  f = gp_open(dir, "context.png", 800, 480, "", err, errlen);
  if (!f) return -1;
  fprintf(f,
                    "set title 'Decode energy per token against context (%s, %s; %s)'\n"
          "set xlabel 'context length (position of the decoded token)'\n"
          "set ylabel 'uJ per token'\n"
          "set yrange [0:*]\n"
          "set key top left\n"
          "plot 'steps.dat' every ::1 using ($2+1):7 with linespoints title 'total', \\\n"
          "     '' every ::1 using ($2+1):8 with linespoints title '%s', \\\n"
          "     '' every ::1 using ($2+1):9 with linespoints title '%s'\n",
          r->model, be, rtl ? "RTL counters" : "ISA simulator",
          r->recurrent ? "temporal mixers" : "attention halves", r->recurrent ? "MLPs" : "FFN halves");
  fclose(f);
  f = open_in(dir, "layers.dat", err, errlen);
  if (!f) return -1;
  fprintf(f, "# pass block attn_cycles ffn_cycles attn_uJ ffn_uJ weight_bytes (last step; %s)\n",
          csrc);
  for (int i = 0; i < r->n_layer; i++) {
    const tern_gen_layer *l = &r->layer[i];
    fprintf(f, "%d %d %" PRIu64 " %" PRIu64 " %.6f %.6f %" PRIu64 "\n", l->pass, l->block,
            l->attn_cycles, l->ffn_cycles, l->attn_pj / 1e6, l->ffn_pj / 1e6, l->weight_bytes);
  }
  fclose(f);
  f = gp_stacked(dir, "layers.png", 800, 480, 0.7, err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set title 'Cycles per block pass, last step (%s, %s; %s)'\n"
          "set xlabel 'block pass'\n"
          "set ylabel 'cycles'\n"
          "plot 'layers.dat' using 3:xtic(1) title 'attention half' lc rgb '#1565c0', \\\n"
          "     '' using 4 title 'FFN half' lc rgb '#ef6c00'\n",
          r->model, be, rtl ? "RTL counters" : "ISA simulator");
  fclose(f);

  emit e;
  char title[256];
  snprintf(title, sizeof title, "tern generate: %s on %s", r->model, be);
  if (e_open(&e, dir, title, err, errlen)) return -1;
  char buf[512];
  snprintf(buf, sizeof buf,
           "%d prompt tokens, %d steps (one prefill, then one decode per token) on a %dx%d "
           "array, WBUF %d tiles, DRAM %d bytes/cycle, clock %.0f MHz. Every step's logits "
           "are compared bit for bit with the integer reference (%s): %d/%d "
           "bit-exact.",
           r->n_prompt, r->n_steps, c->hw.rows, c->hw.cols, c->hw.wbuf_depth, c->hw.dram_bw, mhz,
           r->recurrent ? "models/rnn_int.c" : "models/tfm_int.c", r->bit_exact_steps, r->n_steps);
  e_para(&e, buf);

  e_heading(&e, "Steps");
  char para[2048];
  snprintf(para, sizeof para,
           "Cycles, the attention share and the DRAM bytes: %s.  Energy: %s.  tokens/s = rows x "
           "clock / cycles.  Weight bytes = WBUF_WR x tile bytes (ternary weights fetched from "
           "DRAM), per token.  Verdict: the accelerator's logits against the integer reference "
           "(bit for bit), its top-1 against the float reference.  Data: steps.dat.",
           csrc, esrc);
  e_para(&e, para);
  {
    static const char *const cols[] = {"step", "positions", "cycles", "tokens/s",
                                       "uJ/token", "attention %", "weight B/token",
                                       "DRAM B/token", "token", "verdict"};
    enum { NC = (int)(sizeof cols / sizeof cols[0]) };
    e_wide_start(&e, cols, NC);
    for (int st_i = 0; st_i < r->n_steps; st_i++) {
      const tern_gen_step *st = &r->step[st_i];
      int M = st->M > 0 ? st->M : 1;
      char cell[NC][96], tb[32];
      tern_gen_escape(&st->token, 1, tb, sizeof tb);
      snprintf(cell[0], 96, "%d%s", st_i, st_i == 0 ? " (prefill)" : "");
      snprintf(cell[1], 96, "%d..%d", st->pos, st->pos + M - 1);
      snprintf(cell[2], 96, "%" PRIu64, st->cycles);
      snprintf(cell[3], 96, "%.1f", st->cycles ? M * mhz * 1e6 / (double)st->cycles : 0.0);
      snprintf(cell[4], 96, "%.3f", st->energy_pj / 1e6 / M);
      snprintf(cell[5], 96, "%.1f",
               st->cycles ? 100.0 * (double)st->attn_cycles / (double)st->cycles : 0.0);
      snprintf(cell[6], 96, "%.0f", (double)st->weight_bytes / M);
      snprintf(cell[7], 96, "%.0f", (double)st->dram_bytes / M);
      snprintf(cell[8], 96, "%d '%s'", st->token, tb);
      snprintf(cell[9], 96, "%s, float %s", st->bit_exact ? "bit-exact" : "MISMATCH",
               st->float_top1 < 0 ? "not run" : st->agree ? "agrees" : "differs");
      e_wide_row(&e, cell, NC);
    }
    e_table_end(&e);
  }
  e_heading(&e, "Energy per token against context");
  e_para(&e, r->recurrent
                 ? "Decode steps only; the temporal mixers of the recurrent blocks have a state of "
                   "fixed size, a local attention block reads at most its window, the MLPs do not "
                   "depend on the context.  Data: steps.dat."
                 : "Decode steps only; the attention halves grow with the context (the KV cache "
                   "read per token), the FFN halves do not.  Data: steps.dat.");
  e_image(&e, "context.png", "energy per token against context length");
  e_heading(&e, "Block passes of the last step");
  e_table_start(&e, "pass (block)", "attention / FFN cycles, uJ, weight bytes", "source");
  for (int i = 0; i < r->n_layer; i++) {
    const tern_gen_layer *l = &r->layer[i];
    char k[64];
    snprintf(k, sizeof k, "%d (block %d)", l->pass, l->block);
    e_rowf(&e, k, csrc, "%" PRIu64 " / %" PRIu64 " cycles, %.3f / %.3f uJ, %" PRIu64 " B",
           l->attn_cycles, l->ffn_cycles, l->attn_pj / 1e6, l->ffn_pj / 1e6, l->weight_bytes);
  }
  e_table_end(&e);
  e_image(&e, "layers.png", "cycles per block pass");
  if (fid) {
    e_heading(&e, "Fidelity: integer reference against float reference");
    e_para(&e, r->recurrent ? "tern fidelity (models/rnn_int.c): each fixed byte prompt is prefilled and "
               "decoded for 4 steps with both references fed the float model's greedy tokens; "
               "cosine of the logits at the last position, its minimum over the steps, top-1 "
               "agreement; then the max abs error of the residual stream per block."
               : "tern fidelity (models/tfm_int.c): each fixed byte prompt is prefilled and "
               "decoded for 4 steps with both references fed the float model's greedy tokens; "
               "cosine of the logits at the last position, its minimum over the steps, top-1 "
               "agreement; then the max abs error of the residual stream per block pass.");
    e_table_start(&e, "prompt", "logit cosine (min over steps), top-1", "source");
    for (int i = 0; i < fid->n_prompts; i++) {
      char k[96];
      snprintf(k, sizeof k, "%d: \"%s\"", i, tern_tfm_fidelity_prompt(i));
      e_rowf(&e, k, "integer vs float reference", "%.5f (%.5f), %s", fid->cosine[i],
             fid->min_step_cosine[i], fid->top1[i] ? "agree" : "differ");
    }
    e_rowf(&e, "all prompts", "integer vs float reference", "min %.5f, mean %.5f, top-1 %d/%d",
           fid->min_cosine, fid->mean_cosine, fid->top1_agree, fid->n_prompts);
    for (int p = 0; p < fid->passes; p++) {
      char k[64];
      snprintf(k, sizeof k, "pass %d: residual max abs error", p);
      e_rowf(&e, k, "|x_int/4096 - x_float| over all rows and prompts", "%.4f (float RMS %.3f)",
             fid->layer_max_err[p], fid->layer_rms[p]);
    }
    e_table_end(&e);
  }
  static const char *const scripts[] = {"context.gp", "layers.gp", NULL};
  return e_close(&e, dir, scripts, err, errlen);
}

/* ---- comparison report (tern compare --report DIR) -------------------------- */

int tern_compare_report_write(const char *dir, const tern_compare_result *r, char *err,
                              size_t errlen) {
  if (!dir || !*dir) return tern_err(err, errlen, "report: empty directory name");
  if (!r || r->nmodels < 1) return tern_err(err, errlen, "report: no models were measured");
  if (rt_mkdir_p(dir, err, errlen) != 0) return -1;
  const int rtl = !strcmp(r->backend, "rtl");
  const char *csrc = rtl ? "RTL counters (Verilated rtl/tern_top.sv)"
                         : "ISA simulator cycle model (sim/isasim.c, equal to the RTL's)";
  /* data: one gnuplot index per model (blocks separated by two blank lines) */
  FILE *f = open_in(dir, "compare.dat", err, errlen);
  if (!f) return -1;
  fprintf(f, "# context cycles_per_token uJ_per_token weight_B KV_B state_B other_B DRAM_B "
             "mixer_cycles  (one decode step at position context-1; %s; energy = counters x %s)\n",
          csrc, r->tech.path);
  for (int i = 0; i < r->nmodels; i++) {
    const tern_compare_model_result *mr = &r->model[i];
    fprintf(f, "%s# model %s\n", i ? "\n\n" : "", mr->name);
    for (int k = 0; k < mr->npoints; k++) {
      const tern_compare_point *p = &mr->pt[k];
      if (!p->measured) continue;
      uint64_t all = p->dram_rd + p->dram_wr, kv = p->kv_rd + p->kv_wr,
               st = p->state_rd + p->state_wr, known = p->weight_bytes + kv + st;
      fprintf(f, "%d %" PRIu64 " %.6f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64 "\n",
              p->context, p->cycles, p->energy_pj / 1e6, p->weight_bytes, kv, st,
              all > known ? all - known : 0, all, p->mixer_cycles);
    }
  }
  fclose(f);
  static const char *const colors[] = {"#c62828", "#1565c0", "#2e7d32", "#ef6c00",
                                       "#6a1b9a", "#00838f", "#5d4037", "#616161"};
  f = gp_open(dir, "compare.png", 1300, 520, "", err, errlen);
  if (!f) return -1;
  fprintf(f,
                    "set multiplot layout 1,2 title 'Decode cost per token against context (%s backend, "
          "%dx%d; %s)' noenhanced\n"
          "set logscale x 2\n"
          "set xlabel 'context length (position of the decoded token + 1)'\n"
          "set key top left noenhanced\n"
          "set grid\n"
          "set yrange [0:*]\n",
          r->backend, r->hw.rows, r->hw.cols, rtl ? "RTL counters" : "ISA simulator");
  for (int panel = 0; panel < 2; panel++) {
    fprintf(f, "set title '%s'\nset ylabel '%s'\nplot ",
            panel ? "cycles per token" : "energy per token (counters x technology table)",
            panel ? "cycles / token" : "uJ / token");
    for (int i = 0; i < r->nmodels; i++)
      fprintf(f, "%s'compare.dat' index %d using 1:%d with linespoints lw 2 pt 7 lc rgb '%s' "
                 "title '%s'",
              i ? ", \\\n     " : "", i, panel ? 2 : 3, colors[i % 8], r->model[i].name);
    fputs("\n", f);
  }
  fputs("unset multiplot\n", f);
  fclose(f);
  f = gp_open(dir, "bytes.png", 900, 520, "", err, errlen);
  if (!f) return -1;
  fprintf(f,
                    "set title 'KV-cache and recurrent-state DRAM bytes per decoded token (%s)' "
          "noenhanced\n"
          "set logscale x 2\n"
          "set logscale y 10\n"
          "set xlabel 'context length'\n"
          "set ylabel 'DRAM bytes / token (read + written)'\n"
          "set key top left noenhanced\n"
          "set grid\n"
          "plot ",
          rtl ? "RTL counters" : "ISA simulator");
  int nplot = 0;
  for (int i = 0; i < r->nmodels; i++) {
    const tern_compare_model_result *mr = &r->model[i];
    uint64_t kv = 0, st = 0;
    for (int k = 0; k < mr->npoints; k++)
      if (mr->pt[k].measured) {
        kv += mr->pt[k].kv_rd + mr->pt[k].kv_wr;
        st += mr->pt[k].state_rd + mr->pt[k].state_wr;
      }
    if (kv)
      fprintf(f, "%s'compare.dat' index %d using 1:($5>0?$5:1/0) with linespoints lw 2 pt 7 "
                 "lc rgb '%s' title '%s: KV cache'",
              nplot++ ? ", \\\n     " : "", i, colors[i % 8], mr->name);
    if (st)
      fprintf(f, "%s'compare.dat' index %d using 1:($6>0?$6:1/0) with linespoints lw 2 dt 2 "
                 "pt 5 lc rgb '%s' title '%s: recurrent state'",
              nplot++ ? ", \\\n     " : "", i, colors[i % 8], mr->name);
  }
  if (!nplot) fputs("1/0 title 'no KV-cache or state traffic'", f);
  fputs("\n", f);
  fclose(f);

  emit e;
  char title[256];
  snprintf(title, sizeof title, "tern compare: transformer vs recurrent decode cost (%s backend)",
           r->backend);
  if (e_open_as(&e, dir, "compare", title, err, errlen)) return -1;
  char buf[2048];
  snprintf(buf, sizeof buf,
           "%dx%d array, WBUF %d tiles, ACC %d words, DRAM %d bytes/cycle, clock %.0f MHz; "
           "cycles from the %s, energy = counters x %s.",
           r->hw.rows, r->hw.cols, r->hw.wbuf_depth, r->hw.acc_depth, r->hw.dram_bw,
           r->hw.clock_mhz, csrc, r->tech.path);
  e_para(&e, buf);
  e_heading(&e, "Verdict");
  e_para(&e, r->verdict);
  e_heading(&e, "Method");
  snprintf(buf, sizeof buf,
           "Every point is one decode step measured on the accelerator model: the token at "
           "position L-1, which attends to (transformer) or has been summarised into (recurrent "
           "state) L positions.  A fresh step runner prefills %d real tokens, seeks to position "
           "L-1 (tern_tfm_exec_seek / tern_rnn_exec_seek; positions no step wrote hold zeros in "
           "the KV cache) and runs the decode step.  This measures the same cost as a real "
           "(L-1)-token prefill followed by the decode, because the accelerator's cycles and "
           "event counters do not depend on data values: tests/test_compare.cc checks that all "
           "counters of every program of the decode step are identical both ways, for the "
           "transformer and each recurrent kind.",
           r->prefill);
  e_para(&e, buf);
  e_image(&e, "compare.png", "energy and cycles per token against context");
  e_image(&e, "bytes.png", "KV-cache and recurrent-state DRAM bytes per token against context");
  e_heading(&e, "Where each number comes from");
  e_table_start(&e, "column", "how", "measured by");
  e_row(&e, "cycles/token", "CYCLES counter summed over the step's programs", csrc);
  e_row(&e, "uJ/token", "every event counter x the technology table (runtime/energy.c)",
        r->tech.path);
  e_row(&e, "weight B/token", "WBUF_WR x tile bytes: ternary weights loaded from DRAM", csrc);
  e_row(&e, "KV B/token",
        "DRAM bytes of the step's LOAD/STORE instructions whose address is in the KV-cache "
        "region; per program the classified bytes sum to its DRAM_RD/WR_BYTES counters (checked)",
        "executed instructions + memory plan (region bounds)");
  e_row(&e, "state B/token",
        "as KV, for the recurrent-state region (h and the Conv1D window of every 'r' / 'm' "
        "block)",
        "executed instructions + memory plan (region bounds)");
  e_row(&e, "other B/token",
        "DRAM B - weight - KV - state: residual stream x, constants, the int8 embedding row and "
        "LM head",
        csrc);
  e_row(&e, "DRAM B/token", "DRAM_RD_BYTES + DRAM_WR_BYTES counters", csrc);
  e_row(&e, "mixer cycles", "cycles of the token-mixer programs (ATTN, MIX)", csrc);
  e_table_end(&e);
  for (int i = 0; i < r->nmodels; i++) {
    const tern_compare_model_result *mr = &r->model[i];
    char h[192];
    snprintf(h, sizeof h, "%s (%s)", mr->name, mr->family);
    e_heading(&e, h);
    snprintf(buf, sizeof buf,
             "%.1fK parameters (%.1fK ternary).%s%s%s  Cycles/token at context %d / at %d = "
             "%.2f; energy/token %.2f.",
             mr->params_total / 1e3, mr->params_ternary / 1e3, mr->note[0] ? " " : "", mr->note,
             mr->note[0] ? "." : "",
             mr->pt[mr->last].context, mr->pt[mr->first].context, mr->cycles_ratio,
             mr->energy_ratio);
    e_para(&e, buf);
    static const char *const cols[] = {"context", "cycles/token", "uJ/token", "weight B/token",
                                       "KV B/token", "state B/token", "other B/token",
                                       "DRAM B/token", "mixer cycles"};
    enum { NC = (int)(sizeof cols / sizeof cols[0]) };
    e_wide_start(&e, cols, NC);
    for (int k = 0; k < mr->npoints; k++) {
      const tern_compare_point *p = &mr->pt[k];
      if (!p->measured) continue;
      char cell[NC][96];
      uint64_t all = p->dram_rd + p->dram_wr, kv = p->kv_rd + p->kv_wr,
               st = p->state_rd + p->state_wr, known = p->weight_bytes + kv + st;
      snprintf(cell[0], 96, "%d", p->context);
      snprintf(cell[1], 96, "%" PRIu64, p->cycles);
      snprintf(cell[2], 96, "%.3f", p->energy_pj / 1e6);
      snprintf(cell[3], 96, "%" PRIu64, p->weight_bytes);
      snprintf(cell[4], 96, "%" PRIu64, kv);
      snprintf(cell[5], 96, "%" PRIu64, st);
      snprintf(cell[6], 96, "%" PRIu64, all > known ? all - known : 0);
      snprintf(cell[7], 96, "%" PRIu64, all);
      snprintf(cell[8], 96, "%" PRIu64, p->mixer_cycles);
      e_wide_row(&e, cell, NC);
    }
    e_table_end(&e);
    for (int k = 0; k < mr->npoints; k++) {
      const tern_compare_point *p = &mr->pt[k];
      if (p->measured) continue;
      snprintf(buf, sizeof buf, "Context %d not measured: %s", p->context, p->note);
      e_para(&e, buf);
    }
  }
  e_assumptions(&e);
  static const char *const scripts[] = {"compare.gp", "bytes.gp", NULL};
  return e_close(&e, dir, scripts, err, errlen);
}

/* ---- tern sweep ------------------------------------------------------------------------ */

/* the hardware fields of a point other than rows / cols that differ between
 * points: they make the groups (lines) of the energy plot */
static void psum_spec(const tern_sweep_point *p, char *out, size_t n) {
  if (p->psum_bits == tern_hwcfg_psum_min((int)p->rows) && p->psum_bits != 32)
    snprintf(out, n, "min");
  else snprintf(out, n, "%d", (int)(p->psum_bits ? p->psum_bits : 32));
}

static void sweep_group(const tern_sweep_result *r, int k, char *out, size_t n) {
  const tern_sweep_point *p = &r->pt[k], *q0 = &r->pt[0];
  size_t at = 0;
  out[0] = 0;
#define SWEEP_GRP(field, fmt, cast)                                                           \
  do {                                                                                        \
    int varies = 0;                                                                           \
    for (int i = 1; i < r->n; i++)                                                            \
      if (r->pt[i].field != q0->field) varies = 1;                                            \
    if (varies && at < n)                                                                     \
      at += (size_t)snprintf(out + at, n - at, "%s" #field "=" fmt, at ? " " : "",            \
                             (cast)p->field);                                                 \
  } while (0)
  SWEEP_GRP(dram_bw, "%d", int);
  SWEEP_GRP(wbuf_depth, "%d", int);
  SWEEP_GRP(abuf_depth, "%d", int);
  SWEEP_GRP(acc_depth, "%d", int);
  SWEEP_GRP(out_depth, "%d", int);
  SWEEP_GRP(qdepth, "%d", int);
  SWEEP_GRP(imem_depth, "%d", int);
  SWEEP_GRP(dram_lat, "%d", int);
  SWEEP_GRP(clock_mhz, "%g", double);
#undef SWEEP_GRP
  /* the partial-sum width: "min" (9 + log2(rows)) is one group across array sizes */
  char ps[16], ps0[16];
  psum_spec(p, ps, sizeof ps);
  int psum_varies = 0;
  psum_spec(q0, ps0, sizeof ps0);
  for (int i = 1; i < r->n; i++) {
    char pi[16];
    psum_spec(&r->pt[i], pi, sizeof pi);
    if (strcmp(pi, ps0)) psum_varies = 1;
  }
  if (psum_varies && at < n) snprintf(out + at, n - at, "%spsum_bits=%s", at ? " " : "", ps);
  if (!out[0]) snprintf(out, n, "all points");
}

static int ilog2(int64_t v) {
  int l = 0;
  while (v > 1) v >>= 1, l++;
  return l;
}

int tern_sweep_report_write(const char *dir, const tern_sweep_result *r, char *err,
                            size_t errlen) {
  if (!dir || !*dir) return tern_err(err, errlen, "report: empty directory name");
  if (!r || r->n < 1) return tern_err(err, errlen, "report: no points");
  if (rt_mkdir_p(dir, err, errlen) != 0) return -1;
  const tern_sweep_point *p0 = &r->pt[0];
  const int rtl = !strcmp(p0->backend, "rtl");
  const char *csrc = rtl ? "RTL counters (Verilated rtl/tern_top.sv)"
                         : "ISA simulator cycle model (sim/isasim.c, equal to the RTL's)";
  /* synth_scope = array: the LUTs are the PE array's alone (tern synth --array-only) */
  const int arr_only = !strcmp(p0->synth_scope, "array");
  const char *scope = arr_only ? "the PE array alone (rows x cols tern_pe; the vector unit, DMA, "
                                 "scratchpads and control are not included)"
                               : "the whole accelerator";
  char ssrc[400];
  snprintf(ssrc, sizeof ssrc, "Yosys synth_%.32s via tern synth%s (runtime/synth.c), DIR/synth/, "
           "%s",
           p0->synth_target[0] ? p0->synth_target : "?", arr_only ? " --array-only" : "", scope);
  static const char *const colors[] = {"#c62828", "#1565c0", "#2e7d32", "#ef6c00",
                                       "#6a1b9a", "#00838f", "#5d4037", "#616161"};
  const char *scripts[4];
  int ns = 0;
  FILE *f;
  /* 1. tokens/s against LUTs with the Pareto front */
  if (r->has_synth) {
    f = open_in(dir, "pareto.dat", err, errlen);
    if (!f) return -1;
    fprintf(f, "# index LUTs decode_tokens_per_s \"label\" pareto  (LUTs: %s; tokens/s: %s at "
               "the spec's clock)\n",
            ssrc, csrc);
    for (int k = 0; k < r->n; k++)
      if (r->pareto[k] >= 0)
        fprintf(f, "%" PRId64 " %" PRIu64 " %.6g \"%s\" %d\n", r->pt[k].index, r->pt[k].synth_luts,
                r->pt[k].decode_tokens_per_s, r->pt[k].label, r->pareto[k]);
    fclose(f);
    f = open_in(dir, "pareto_front.dat", err, errlen);
    if (!f) return -1;
    fputs("# the Pareto front (max decode tokens/s, min LUTs), by LUTs\n", f);
    int *ord = malloc((size_t)r->n * sizeof *ord), no = 0;
    if (!ord) {
      fclose(f);
      return tern_err(err, errlen, "out of memory");
    }
    for (int k = 0; k < r->n; k++)
      if (r->pareto[k] == 1) ord[no++] = k;
    for (int i = 1; i < no; i++) /* insertion sort by LUTs */
      for (int j = i; j > 0 && r->pt[ord[j]].synth_luts < r->pt[ord[j - 1]].synth_luts; j--) {
        int t = ord[j];
        ord[j] = ord[j - 1];
        ord[j - 1] = t;
      }
    for (int i = 0; i < no; i++)
      fprintf(f, "%" PRId64 " %" PRIu64 " %.6g \"%s\"\n", r->pt[ord[i]].index,
              r->pt[ord[i]].synth_luts, r->pt[ord[i]].decode_tokens_per_s, r->pt[ord[i]].label);
    free(ord);
    fclose(f);
    f = gp_open(dir, "pareto.png", 1000, 620, "noenhanced", err, errlen);
    if (!f) return -1;
    fprintf(f,
                        "set title 'Decode tokens/s against LUTs (%s, %s): Pareto front = max tokens/s, min "
            "LUTs' noenhanced\n"
            "set xlabel 'LUTs (Yosys synth_%s, %s)'\n"
            "set ylabel 'decode tokens/s at %.0f MHz (%s)'\n"
            "set logscale x 2\n"
            "set format x '%%.0f'\n"
            "set grid\n"
            "set key below\n"
            "set offsets graph 0.05, graph 0.05, graph 0.08, graph 0.05\n"
            "plot 'pareto.dat' using 2:3 with points pt 7 ps 1.3 lc rgb '#90a4ae' title 'points', "
            "\\\n"
            "     'pareto_front.dat' using 2:3 with linespoints lw 2 pt 7 ps 1.8 lc rgb '#c62828' "
            "title 'Pareto front', \\\n"
            "     'pareto_front.dat' using 2:3:4 with labels offset 0,1.1 font ',8' noenhanced "
            "notitle, \\\n"
            "     'pareto.dat' using 2:3:(sprintf('%%d', $1)) with labels offset 0.9,-0.6 "
            "font ',7' tc rgb '#546e7a' notitle\n",
            p0->model, p0->synth_target, p0->synth_target,
            arr_only ? "PE array alone" : "whole accelerator", p0->clock_mhz,
            rtl ? "RTL" : "cycle model");
    fclose(f);
    scripts[ns++] = "pareto.gp";
  }
  /* 2. energy/token against the array size, one line per group */
  char (*grp)[128] = calloc((size_t)r->n, sizeof *grp);
  int *gid = calloc((size_t)r->n, sizeof *gid);
  if (!grp || !gid) {
    free(grp);
    free(gid);
    return tern_err(err, errlen, "out of memory");
  }
  int ngrp = 0;
  for (int k = 0; k < r->n; k++) {
    char g[128];
    sweep_group(r, k, g, sizeof g);
    gid[k] = -1;
    for (int i = 0; i < ngrp; i++)
      if (!strcmp(grp[i], g)) gid[k] = i;
    if (gid[k] < 0) {
      snprintf(grp[ngrp], sizeof grp[0], "%s", g);
      gid[k] = ngrp++;
    }
  }
  f = open_in(dir, "energy.dat", err, errlen);
  if (!f) {
    free(grp);
    free(gid);
    return -1;
  }
  fprintf(f, "# PEs decode_uJ_per_token prefill_uJ_per_token \"RxC\"  (energy = counters x %s; "
             "one block per group)\n",
          p0->tech);
  for (int g = 0; g < ngrp; g++) {
    fprintf(f, "%s# %s\n", g ? "\n\n" : "", grp[g]);
    /* by PEs (selection: the points are few) */
    int last = -1;
    for (;;) {
      int best = -1;
      for (int k = 0; k < r->n; k++) {
        if (gid[k] != g) continue;
        int after = last < 0 || r->pt[k].pes > r->pt[last].pes ||
                    (r->pt[k].pes == r->pt[last].pes && k > last);
        if (after && (best < 0 || r->pt[k].pes < r->pt[best].pes)) best = k;
      }
      if (best < 0) break;
      fprintf(f, "%" PRId64 " %.6g %.6g \"%" PRId64 "x%" PRId64 "\"\n", r->pt[best].pes,
              r->pt[best].decode_uj_per_token, r->pt[best].prefill_uj_per_token, r->pt[best].rows,
              r->pt[best].cols);
      last = best;
    }
  }
  fclose(f);
  f = gp_open(dir, "energy.png", 1000, 560, "noenhanced", err, errlen);
  if (!f) {
    free(grp);
    free(gid);
    return -1;
  }
  /* x tics: one per distinct PE count, labelled with its array sizes */
  int64_t minpe = INT64_MAX, maxpe = 0;
  char tics[2048];
  size_t ta = (size_t)snprintf(tics, sizeof tics, "set xtics (");
  int ntic = 0;
  for (int k = 0; k < r->n; k++) {
    const int64_t pe = r->pt[k].pes;
    if (pe < minpe) minpe = pe;
    if (pe > maxpe) maxpe = pe;
    int seen = 0;
    for (int j = 0; j < k; j++) seen |= r->pt[j].pes == pe;
    if (seen) continue;
    char lab[256];
    size_t la = 0;
    lab[0] = 0;
    for (int j = k; j < r->n; j++) {
      if (r->pt[j].pes != pe) continue;
      int dup = 0;
      for (int i = k; i < j; i++)
        dup |= r->pt[i].pes == pe && r->pt[i].rows == r->pt[j].rows;
      if (!dup && la < sizeof lab)
        la += (size_t)snprintf(lab + la, sizeof lab - la, "%s%" PRId64 "x%" PRId64, la ? "\\n" : "",
                               r->pt[j].rows, r->pt[j].cols);
    }
    if (ta < sizeof tics)
      ta += (size_t)snprintf(tics + ta, sizeof tics - ta, "%s\"%s\" %" PRId64, ntic++ ? ", " : "",
                             lab, pe);
  }
  if (ta < sizeof tics) snprintf(tics + ta, sizeof tics - ta, ")");
  fprintf(f,
          "%s\n"
          "set xrange [%g:%g]\n",
          tics, (double)minpe / 1.6, (double)maxpe * 1.6);
  fprintf(f,
          "set title 'Energy per token against array size (%s; counters x %s table)' noenhanced\n"
          "set xlabel 'array size (PEs = rows x cols)'\n"
          "set ylabel 'uJ / token'\n"
          "set logscale x 2\n"
          "set yrange [0:*]\n"
          "set grid\n"
          "set key outside right noenhanced\n"
          "plot ",
          p0->model, p0->tech);
  for (int g = 0; g < ngrp; g++)
    fprintf(f, "%s'energy.dat' index %d using 1:2 with linespoints lw 2 pt %d ps 1.3 lc rgb '%s' "
               "title 'decode, %s', \\\n     'energy.dat' index %d using 1:3 with linespoints lw 1 "
               "dt 2 pt %d lc rgb '%s' title 'prefill, %s'",
            g ? ", \\\n     " : "", g, 5 + 2 * (g % 4), colors[g % 8], grp[g], g,
            4 + 2 * (g % 4), colors[g % 8], grp[g]);
  fputs("\n", f);
  fclose(f);
  scripts[ns++] = "energy.gp";
  free(grp);
  free(gid);
  /* 3. utilisation heatmap over rows x cols (mean over the points of a cell) */
  f = open_in(dir, "util.dat", err, errlen);
  if (!f) return -1;
  fputs("# log2(cols) log2(rows) decode_array_util_% prefill_array_util_% points  (GEMM_ROWS / "
        "CYCLES counters, mean over the points with this array)\n",
        f);
  int minr = 99, maxr = 0, minc = 99, maxc = 0;
  for (int k = 0; k < r->n; k++) {
    int first = 1;
    for (int j = 0; j < k; j++)
      if (r->pt[j].rows == r->pt[k].rows && r->pt[j].cols == r->pt[k].cols) first = 0;
    if (!first) continue;
    double du = 0, pu = 0;
    int c = 0;
    for (int j = k; j < r->n; j++)
      if (r->pt[j].rows == r->pt[k].rows && r->pt[j].cols == r->pt[k].cols) {
        du += r->pt[j].decode_array_util;
        pu += r->pt[j].prefill_array_util;
        c++;
      }
    int lr = ilog2(r->pt[k].rows), lc = ilog2(r->pt[k].cols);
    if (lr < minr) minr = lr;
    if (lr > maxr) maxr = lr;
    if (lc < minc) minc = lc;
    if (lc > maxc) maxc = lc;
    fprintf(f, "%d %d %.4f %.4f %d\n", lc, lr, 100.0 * du / c, 100.0 * pu / c, c);
  }
  fclose(f);
  f = gp_open(dir, "util.png", 1100, 500, "noenhanced", err, errlen);
  if (!f) return -1;
  fprintf(f,
                    "set multiplot layout 1,2 title 'Array utilisation = GEMM_ROWS / CYCLES (%s counters), "
          "mean over the points of each array size' noenhanced\n"
          "set xrange [%g:%g]\nset yrange [%g:%g]\n"
          "set xlabel 'cols'\nset ylabel 'rows'\n"
          "set palette defined (0 '#fff3e0', 50 '#ff9800', 100 '#b71c1c')\n"
          "set cblabel '%%'\nset cbrange [0:*]\nset size ratio -1\n",
          rtl ? "RTL" : "ISA simulator", minc - 0.5, maxc + 0.5, minr - 0.5, maxr + 0.5);
  fputs("set xtics (", f);
  for (int l = minc; l <= maxc; l++) fprintf(f, "%s\"%d\" %d", l > minc ? ", " : "", 1 << l, l);
  fputs(")\nset ytics (", f);
  for (int l = minr; l <= maxr; l++) fprintf(f, "%s\"%d\" %d", l > minr ? ", " : "", 1 << l, l);
  fputs(")\n", f);
  for (int ph = 0; ph < 2; ph++)
    fprintf(f,
            "set title '%s'\n"
            "plot 'util.dat' using 1:2:($1-0.5):($1+0.5):($2-0.5):($2+0.5):%d with boxxy fc "
            "palette fs solid notitle, \\\n"
            "     'util.dat' using 1:2:(sprintf('%%.1f %%%%', $%d)) with labels notitle\n",
            ph ? "prefill" : "decode", ph ? 4 : 3, ph ? 4 : 3);
  fputs("unset multiplot\n", f);
  fclose(f);
  scripts[ns++] = "util.gp";
  scripts[ns] = NULL;

  emit e;
  char title[256];
  snprintf(title, sizeof title, "tern sweep '%.64s': %.64s on %d configurations", p0->sweep, p0->model,
           r->n_expected);
  if (e_open(&e, dir, title, err, errlen)) return -1;
  char buf[2048];
  uint64_t ok = 0, rtlv = 0, rtleq = 0, serr = 0;
  double secs = 0;
  for (int k = 0; k < r->n; k++) {
    ok++;
    rtlv += r->pt[k].rtl_validated;
    rtleq += r->pt[k].rtl_validated && r->pt[k].rtl_equal;
    serr += r->pt[k].synth_error[0] != 0;
    secs += r->pt[k].run_seconds;
  }
  snprintf(buf, sizeof buf,
           "Workload: %s (%s, %.1fK parameters, %.1fK ternary): a prefill of %" PRId64
           " tokens, then %" PRId64 " decode steps of one token, on the %s backend (%s). "
           "%" PRIu64 " of %d points merged%s; %" PRIu64 " validated on the RTL (%" PRIu64
           " equal to the cycle); synthesis: %s%s. Sum of the points' run times %.1f s (the wall "
           "clock depends on how many ran at once).",
           p0->model, p0->family, p0->params_total / 1e3, p0->params_ternary / 1e3,
           p0->prefill_tokens, p0->decode_tokens, p0->backend, csrc, ok, r->n_expected,
           r->n_missing ? " (the others are missing, listed below)" : "", rtlv, rtleq,
           p0->synth_target[0] ? p0->synth_target : "none",
           serr ? " (some points failed, listed below)" : "", secs);
  e_para(&e, buf);
  e_heading(&e, "Tokens/s against LUTs (Pareto front)");
  if (r->has_synth) {
    int nf = 0;
    for (int k = 0; k < r->n; k++) nf += r->pareto[k] == 1;
    snprintf(buf, sizeof buf,
             "%d of the points with synthesis numbers are on the Pareto front (no other point "
             "has at least their decode tokens/s with at most their LUTs, one strictly). "
             "LUTs: %s; tokens/s: %s at the spec's clock (%.0f MHz).",
             nf, ssrc, csrc, p0->clock_mhz);
    e_para(&e, buf);
    if (p0->synth_set[0]) {
      snprintf(buf, sizeof buf,
               "Synthesised configuration: each point's, changed by the spec's synth_set = '%s' "
               "(column synth_rtl_name of sweep.csv, e.g. %s for point 0): the LUT, FF and block "
               "RAM numbers are those of that variant, not of the measured configuration %s.",
               p0->synth_set, p0->synth_rtl_name, p0->rtl_name);
      e_para(&e, buf);
    }
    e_image(&e, "pareto.png", "decode tokens/s against LUTs with the Pareto front (front points "
                              "labelled; every point numbered by its index, the # column below)");
  } else {
    e_para(&e, "Skipped: no point has synthesis results (the spec's [workload] synth = none, or "
               "every synthesis failed). Set synth = generic|ice40|ecp5|xilinx to get LUTs.");
  }
  e_heading(&e, "Energy per token against array size");
  snprintf(buf, sizeof buf,
           "Decode (solid) and prefill (dashed) energy per token = every event counter x the %s "
           "technology table (runtime/energy.c), one line per value of the other parameters "
           "that vary.",
           p0->tech);
  e_para(&e, buf);
  e_image(&e, "energy.png", "energy per token against array size");
  e_heading(&e, "Array utilisation over rows x cols");
  e_para(&e, "Utilisation = GEMM_ROWS / CYCLES from the counters: the fraction of the cycles in "
             "which the array takes an activation row.  Cells hold the mean over the points with "
             "that array size (the table has every point).");
  e_image(&e, "util.png", "array utilisation heatmap over rows x cols");
  e_heading(&e, "Points");
  static const char *const cols[] = {"#",          "point",      "decode cycles/token",
                                     "tokens/s",   "uJ/token",   "DRAM B/token",
                                     "util dec %", "util pre %", "roofline %",
                                     "LUTs",       "FFs",        "BRAMs",
                                     "DSPs",       "LUTs/PE",    "Fmax MHz",
                                     "Pareto",     "RTL"};
  enum { NC = (int)(sizeof cols / sizeof cols[0]) };
  e_wide_start(&e, cols, NC);
  for (int k = 0; k < r->n; k++) {
    const tern_sweep_point *p = &r->pt[k];
    char c[NC][96];
    int syn = p->synth_target[0] && !p->synth_error[0];
    snprintf(c[0], 96, "%" PRId64, p->index);
    snprintf(c[1], 96, "%.95s", p->label);
    snprintf(c[2], 96, "%.1f", p->decode_cycles_per_token);
    snprintf(c[3], 96, "%.1f", p->decode_tokens_per_s);
    snprintf(c[4], 96, "%.3f", p->decode_uj_per_token);
    snprintf(c[5], 96, "%.0f", p->decode_dram_rd_bytes_per_token + p->decode_dram_wr_bytes_per_token);
    snprintf(c[6], 96, "%.2f", 100.0 * p->decode_array_util);
    snprintf(c[7], 96, "%.2f", 100.0 * p->prefill_array_util);
    snprintf(c[8], 96, "%.1f", 100.0 * p->decode_dram_roofline);
    if (syn) {
      snprintf(c[9], 96, "%" PRIu64, p->synth_luts);
      snprintf(c[10], 96, "%" PRIu64, p->synth_ffs);
      snprintf(c[11], 96, "%" PRIu64, p->synth_brams);
      snprintf(c[12], 96, "%" PRIu64 "%s", p->synth_dsps,
               p->synth_array_mul_free ? " (array 0)" : " (array has some)");
      snprintf(c[13], 96, "%.1f", p->synth_luts_per_pe);
      if (p->synth_fmax_mhz > 0) snprintf(c[14], 96, "%.1f", p->synth_fmax_mhz);
      else snprintf(c[14], 96, "-");
    } else {
      for (int i = 9; i <= 14; i++) snprintf(c[i], 96, "%s", p->synth_error[0] ? "failed" : "-");
    }
    snprintf(c[15], 96, "%s", r->pareto[k] == 1 ? "yes" : r->pareto[k] == 0 ? "no" : "-");
    snprintf(c[16], 96, "%s",
             !p->rtl_validated ? "-" : p->rtl_equal ? "equal" : "DIFFERS");
    e_wide_row(&e, c, NC);
  }
  e_table_end(&e);
  e_heading(&e, "Where each number comes from");
  e_table_start(&e, "column", "how", "measured by");
  e_row(&e, "decode cycles/token", "CYCLES counter summed over the decode steps' programs / "
        "decode tokens", csrc);
  e_row(&e, "tokens/s", "clock_mhz x 1e6 x tokens / cycles (the spec's clock, not an Fmax)",
        "formula over the counters");
  e_row(&e, "uJ/token", "every event counter x the technology table / tokens", p0->tech);
  e_row(&e, "DRAM B/token", "(DRAM_RD_BYTES + DRAM_WR_BYTES) / decode tokens", csrc);
  e_row(&e, "util dec / pre", "GEMM_ROWS / CYCLES of the decode steps / of the prefill", csrc);
  e_row(&e, "roofline", "(DRAM_RD_BYTES / dram_bw) / CYCLES: how close the decode is to the "
        "DRAM-bandwidth bound", csrc);
  e_row(&e, "LUTs, FFs, BRAMs, DSPs, LUTs/PE",
        arr_only ? "the PE array alone after synthesis (synth_scope = array); LUTs/PE = the "
                   "array's LUTs / (rows x cols); DSPs: whether the array has none"
                 : "whole accelerator after synthesis; LUTs/PE = the array's LUTs / (rows x "
                   "cols); DSPs: total, and whether the array has none",
        ssrc);
  snprintf(buf, sizeof buf, "%s", p0->synth_timing_source[0] ? p0->synth_timing_source : "-");
  e_row(&e, "Fmax", "place and route + timing where the target has an open flow", buf);
  e_row(&e, "Pareto", "on the front of (max decode tokens/s, min LUTs) among the points with "
        "synthesis numbers", "sweep.json");
  e_row(&e, "RTL", "the same run on the Verilated RTL: every counter of every program equal to "
        "the cycle model's", "RTL counters");
  e_table_end(&e);
  int any = 0;
  for (int k = 0; k < r->n; k++) {
    const tern_sweep_point *p = &r->pt[k];
    if (!p->synth_error[0] && !(p->rtl_validated && !p->rtl_equal) && !p->rtl_validated) continue;
    if (!any++) e_heading(&e, "Notes per point");
    if (p->rtl_validated) {
      snprintf(buf, sizeof buf, "Point %" PRId64 " (%s): RTL %s: prefill %" PRIu64
               " cycles, decode %" PRIu64 " cycles on the RTL; %s (%.1f s).",
               p->index, p->label, p->rtl_equal ? "equal" : "DIFFERS", p->rtl_prefill_cycles,
               p->rtl_decode_cycles, p->rtl_note, p->rtl_seconds);
      e_para(&e, buf);
    }
    if (p->synth_error[0]) {
      snprintf(buf, sizeof buf, "Point %" PRId64 " (%s): synthesis failed: %s", p->index,
               p->label, p->synth_error);
      e_para(&e, buf);
    }
  }
  if (r->n_missing) {
    size_t at = (size_t)snprintf(buf, sizeof buf, "%d point files are missing:", r->n_missing);
    int shown = r->n_missing < 16 ? r->n_missing : 16;
    for (int i = 0; i < shown && at < sizeof buf; i++)
      at += (size_t)snprintf(buf + at, sizeof buf - at, " %d", r->missing[i]);
    if (at < sizeof buf)
      snprintf(buf + at, sizeof buf - at, "%s (their runs failed or have not finished; see "
               "logs/).", r->n_missing > shown ? " ..." : "");
    e_heading(&e, "Missing points");
    e_para(&e, buf);
  }
  e_para(&e, "Data: sweep.csv and sweep.json (every field of every point), points/*.json; "
             "plots: *.gp and *.dat next to the PNGs.");
  e_assumptions(&e);
  return e_close(&e, dir, scripts, err, errlen);
}
