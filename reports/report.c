/* Run report writer (include/tern/report.h). */
#include "tern/err.h"
#include "tern/report.h"
#include "tern/tfm_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int mkdir_p(const char *dir, char *err, size_t errlen) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
    tern_err(err, errlen, "report directory name too long");
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
      tern_err(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
      return -1;
    }
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
    tern_err(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
    return -1;
  }
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
    tern_err(err, errlen, "%s: exists and is not a directory", buf);
    return -1;
  }
  return 0;
}

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

/* Opens DIR/name (a gnuplot script) and writes the preamble of a rowstacked
 * histogram PNG of w x h pixels: the caller adds the title, labels and plot. */
static FILE *gp_stacked(const char *dir, const char *name, const char *png, int w, int h,
                        double boxwidth, char *err, size_t errlen) {
  FILE *f = open_in(dir, name, err, errlen);
  if (!f) return NULL;
  fprintf(f,
          "set terminal pngcairo size %d,%d\n"
          "set output '%s'\n"
          "set style data histograms\n"
          "set style histogram rowstacked\n"
          "set style fill solid 0.8 border -1\n"
          "set boxwidth %g\n"
          "set yrange [0:*]\n"
          "set key outside right\n",
          w, h, png, boxwidth);
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
  if (mkdir_p(dir, err, errlen) != 0) return -1;
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
  f = gp_stacked(dir, "cycles.gp", "cycles.png", 800, 480, 0.6, err, errlen);
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
  f = gp_stacked(dir, "energy.gp", "energy.png", 900, 500, 0.6, err, errlen);
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
  if (mkdir_p(dir, err, errlen) != 0) return -1;
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
  f = open_in(dir, "context.gp", err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set terminal pngcairo size 800,480\n"
          "set output 'context.png'\n"
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
  f = gp_stacked(dir, "layers.gp", "layers.png", 800, 480, 0.7, err, errlen);
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
  if (mkdir_p(dir, err, errlen) != 0) return -1;
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
  f = open_in(dir, "compare.gp", err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set terminal pngcairo size 1300,520\n"
          "set output 'compare.png'\n"
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
  f = open_in(dir, "bytes.gp", err, errlen);
  if (!f) return -1;
  fprintf(f,
          "set terminal pngcairo size 900,520\n"
          "set output 'bytes.png'\n"
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
