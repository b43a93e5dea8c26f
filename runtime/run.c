/* The library behind `tern run` (include/tern/runtime.h): model -> compile
 * -> backend -> compare -> metrics -> energy; plus the CLI argument parser. */
#include "tern/err.h"
#include "tern/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/backend.h"
#include "tern/compiler.h"
#include "tern/generate.h"
#include "tern/numerics.h"
#include "tern/program.h"

void tern_run_config_default(tern_run_config *rc) {
  memset(rc, 0, sizeof *rc);
  rc->backend = "isa";
  rc->hw = tern_hwcfg_default();
  rc->tokens = 8;
  rc->model = tern_mlp_default_config();
  rc->weights_path = NULL;
  rc->input_seed = 1;
  rc->tech = "45nm";
  rc->trace_path = NULL;
}

static int check_tensor(const tern_program *p, const char *name, uint32_t dtype, int rows, int cols,
                        uint64_t dram_bytes, const tern_tensor_ref **out, char *err,
                        size_t errlen) {
  const tern_tensor_ref *t = tern_program_find_tensor(p, name);
  if (!t) {
    tern_err(err, errlen, "program has no tensor '%s' in its tensor map", name);
    return -1;
  }
  uint32_t eb = dtype == TERN_DT_I32 ? 4 : 1;
  if (t->dtype != dtype || (int64_t)t->rows < rows || (int64_t)t->cols < cols ||
      t->row_stride < (uint64_t)cols * eb) {
    tern_err(err, errlen,
            "tensor '%s': dtype %u, %u x %u, row stride %u bytes; expected dtype %u, at least %d x "
            "%d, stride >= %u",
            name, t->dtype, t->rows, t->cols, t->row_stride, dtype, rows, cols, (unsigned)(cols * eb));
    return -1;
  }
  uint64_t end = (uint64_t)t->dram_addr + (uint64_t)(rows - 1) * t->row_stride + (uint64_t)cols * eb;
  if (end > dram_bytes) {
    tern_err(err, errlen, "tensor '%s' ends at byte %" PRIu64 ", beyond DRAM of %" PRIu64 " bytes",
            name, end, dram_bytes);
    return -1;
  }
  *out = t;
  return 0;
}

static void put_i32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)u;
  p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16);
  p[3] = (uint8_t)(u >> 24);
}
static int32_t get_i32(const uint8_t *p) {
  uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  return (int32_t)u;
}

int tern_run(const tern_run_config *rc, tern_run_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  res->mm_token = res->mm_elem = -1;
  char e2[1024];
  const char *backend = rc->backend ? rc->backend : "isa";
  if (strcmp(backend, "isa") != 0 && strcmp(backend, "rtl") != 0) {
    tern_err(err, errlen, "backend '%s', expected isa or rtl", backend);
    return -1;
  }
  if (rc->tokens < 1 || rc->tokens > 65535) {
    tern_err(err, errlen, "tokens = %d, expected 1..65535", rc->tokens);
    return -1;
  }
  if (tern_hwcfg_check(&rc->hw, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "hardware configuration: %s", e2);
    return -1;
  }
  /* technology table first: a bad table should fail before a long run */
  const char *node = rc->tech ? rc->tech : "45nm";
  char tpath[1024];
  if (tern_tech_path(node, tpath, sizeof tpath, err, errlen) != 0) return -1;
  if (tern_tech_load(tpath, &res->tech, err, errlen) != 0) return -1;
  snprintf(res->tech_node, sizeof res->tech_node, "%s", node);

  snprintf(res->backend, sizeof res->backend, "%s", backend);
  res->hw = rc->hw;
  res->tokens = rc->tokens;
  const int M = rc->tokens;

  tern_mlp_model model;
  memset(&model, 0, sizeof model);
  tern_qmlp q;
  memset(&q, 0, sizeof q);
  tern_program prog;
  tern_program_init(&prog);
  uint8_t *dram = NULL;
  float *xf = NULL, *yf_ref = NULL;
  int32_t *xi = NULL, *yi = NULL, *yi_ref = NULL;
  int rcode = -1, have_model = 0, have_q = 0;

  if (rc->weights_path) {
    if (tern_mlp_load(&model, rc->weights_path, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "%s", e2);
      goto out;
    }
  } else {
    if (tern_mlp_generate(&rc->model, &model, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "model: %s", e2);
      goto out;
    }
  }
  have_model = 1;
  res->model = model.cfg;
  const int d = model.cfg.d;
  if (tern_mlp_quantize(&model, &q, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "quantise: %s", e2);
    goto out;
  }
  have_q = 1;
  tern_compile_opts co;
  memset(&co, 0, sizeof co);
  co.tokens = M;
  if (tern_compile_mlp(&q, &rc->hw, &co, &prog, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "compile: %s", e2);
    goto out;
  }
  res->n_insns = prog.n_insns;
  uint64_t need;
  if (tern_program_dram_need(&prog, &need, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "compiled program: %s", e2);
    goto out;
  }
  if (need > rc->hw.dram_bytes) {
    tern_err(err, errlen, "the program needs %" PRIu64 " bytes of DRAM; dram_bytes = %" PRIu64
                         ", expected >= %" PRIu64 " (--set dram_bytes=...)",
            need, rc->hw.dram_bytes, need);
    goto out;
  }
  res->dram_bytes = need;
  dram = calloc(need, 1);
  xf = malloc(sizeof *xf * (size_t)M * d);
  yf_ref = malloc(sizeof *yf_ref * (size_t)M * d);
  xi = malloc(sizeof *xi * (size_t)M * d);
  yi = malloc(sizeof *yi * (size_t)M * d);
  yi_ref = malloc(sizeof *yi_ref * (size_t)M * d);
  if (!dram || !xf || !yf_ref || !xi || !yi || !yi_ref) {
    tern_err(err, errlen, "out of memory (DRAM %" PRIu64 " bytes, %d x %d activations)", need, M, d);
    goto out;
  }
  if (tern_program_init_dram(&prog, dram, need, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "DRAM image: %s", e2);
    goto out;
  }
  const tern_tensor_ref *tx, *ty;
  if (check_tensor(&prog, "x", TERN_DT_I32, M, d, need, &tx, err, errlen) != 0) goto out;
  if (check_tensor(&prog, "y", TERN_DT_I32, M, d, need, &ty, err, errlen) != 0) goto out;
  tern_mlp_input(&model.cfg, M, rc->input_seed, xf);
  for (int t = 0; t < M; t++)
    for (int i = 0; i < d; i++) {
      xi[(size_t)t * d + i] = tern_to_fx(xf[(size_t)t * d + i]);
      put_i32(dram + tx->dram_addr + (uint64_t)t * tx->row_stride + 4u * i, xi[(size_t)t * d + i]);
    }
  if (tern_validate(&rc->hw, prog.insns, prog.n_insns, need, e2, sizeof e2) != 0) {
    tern_err(err, errlen, "compiled program does not validate: %s", e2);
    goto out;
  }
  tern_run_opts ro = rc->limits;
  ro.trace_path = rc->trace_path;
  if (tern_backend_run(backend, &rc->hw, prog.insns, prog.n_insns, dram, need, &ro, &res->cnt, e2,
                       sizeof e2) != 0) {
    tern_err(err, errlen, "%s backend: %s", backend, e2);
    goto out;
  }
  for (int t = 0; t < M; t++)
    for (int i = 0; i < d; i++)
      yi[(size_t)t * d + i] = get_i32(dram + ty->dram_addr + (uint64_t)t * ty->row_stride + 4u * i);

  /* integer reference, bit for bit */
  tern_mlp_forward_int(&q, xi, M, yi_ref);
  res->n_values = (uint64_t)M * d;
  for (int t = 0; t < M; t++)
    for (int i = 0; i < d; i++) {
      size_t k = (size_t)t * d + i;
      if (yi[k] != yi_ref[k]) {
        if (res->n_mismatch == 0) {
          res->mm_token = t;
          res->mm_elem = i;
          res->mm_got = yi[k];
          res->mm_expected = yi_ref[k];
        }
        res->n_mismatch++;
      }
    }
  res->bit_exact = res->n_mismatch == 0;

  /* float reference */
  tern_mlp_forward_float(&model, xf, M, yf_ref);
  double dot = 0, na = 0, nb = 0, mx = 0;
  for (size_t k = 0; k < (size_t)M * d; k++) {
    double a = tern_from_fx(yi[k]), b = yf_ref[k];
    double e = fabs(a - b);
    if (!(e <= mx)) mx = e; /* NaN propagates */
    dot += a * b;
    na += a * a;
    nb += b * b;
  }
  res->max_abs_err = mx;
  res->cosine = (na > 0 && nb > 0) ? dot / (sqrt(na) * sqrt(nb)) : (na == nb ? 1.0 : 0.0);

  /* metrics */
  const uint64_t cyc = res->cnt.v[TERN_CNT_CYCLES];
  res->macs = tern_mlp_macs(&model.cfg, M);
  res->weights = tern_mlp_weight_count(&model.cfg);
  res->ideal_cycles = (double)res->macs / ((double)rc->hw.rows * rc->hw.cols);
  res->utilisation = cyc ? res->ideal_cycles / (double)cyc : 0.0;
  res->tokens_per_s = cyc ? (double)M * rc->hw.clock_mhz * 1e6 / (double)cyc : 0.0;
  res->dram_bytes_per_token =
      (double)(res->cnt.v[TERN_CNT_DRAM_RD_BYTES] + res->cnt.v[TERN_CNT_DRAM_WR_BYTES]) / M;
  if (tern_energy_compute(&res->tech, &rc->hw, &res->cnt, res->macs, res->weights, M,
                          &res->energy, err, errlen) != 0)
    goto out;
  rcode = 0;
out:
  free(dram);
  free(xf);
  free(yf_ref);
  free(xi);
  free(yi);
  free(yi_ref);
  tern_program_free(&prog);
  if (have_q) tern_qmlp_free(&q);
  if (have_model) tern_mlp_free(&model);
  return rcode;
}

/* ---- printing ------------------------------------------------------------ */

static const char *fmt_pj(double pj, char *buf, size_t len) {
  double a = fabs(pj);
  if (a >= 1e6) snprintf(buf, len, "%.3f uJ", pj / 1e6);
  else if (a >= 1e3) snprintf(buf, len, "%.3f nJ", pj / 1e3);
  else snprintf(buf, len, "%.3f pJ", pj);
  return buf;
}

void tern_run_print(const tern_run_result *r, void *file) {
  FILE *f = file ? (FILE *)file : stdout;
  const tern_hwcfg *h = &r->hw;
  const int M = r->tokens;
  const char *who = strcmp(r->backend, "rtl") == 0 ? "RTL" : "ISA simulator";
  const char *src = strcmp(r->backend, "rtl") == 0 ? "RTL counters" : "ISA simulator cycle model";
  char b1[64], b2[64], b3[64];
  fprintf(f, "model: MLP d=%d f=%d layers=%d act=%s seed=%" PRIu64 " (%" PRIu64
             " ternary weights)\n",
          r->model.d, r->model.f, r->model.layers, r->model.act == TERN_ACT_SILU ? "silu" : "relu2",
          r->model.seed, r->weights);
  fprintf(f,
          "config: %dx%d array, wbuf %d tiles, abuf %d, acc %d, out %d words, qdepth %d, imem %d, "
          "dram_bw %d B/cycle, dram_lat %d, clock %g MHz\n",
          h->rows, h->cols, h->wbuf_depth, h->abuf_depth, h->acc_depth, h->out_depth, h->qdepth,
          h->imem_depth, h->dram_bw, h->dram_lat, h->clock_mhz);
  fprintf(f, "run: backend %s, %d tokens, %zu instructions, %" PRIu64 " bytes of DRAM\n",
          r->backend, M, r->n_insns, r->dram_bytes);
  if (r->bit_exact)
    fprintf(f, "bit-exact: %s == integer reference (%d x %d values)\n", who, M, r->model.d);
  else
    fprintf(f,
            "NOT bit-exact: %s != integer reference: %" PRIu64 " of %" PRIu64
            " values differ; first mismatch at token %d, element %d: got %" PRId32
            ", expected %" PRId32 "\n",
            who, r->n_mismatch, r->n_values, r->mm_token, r->mm_elem, r->mm_got, r->mm_expected);
  fprintf(f, "float reference: max abs error %.6g, cosine similarity %.6f\n", r->max_abs_err,
          r->cosine);
  const uint64_t *v = r->cnt.v;
  fprintf(f, "cycles: %" PRIu64 " (%s)\n", v[TERN_CNT_CYCLES], src);
  fprintf(f,
          "  load busy %" PRIu64 " stall %" PRIu64 " | compute busy %" PRIu64 " stall %" PRIu64
          " | store busy %" PRIu64 " stall %" PRIu64 " | fetch stall %" PRIu64 "\n",
          v[TERN_CNT_LOAD_BUSY], v[TERN_CNT_LOAD_STALL], v[TERN_CNT_COMPUTE_BUSY],
          v[TERN_CNT_COMPUTE_STALL], v[TERN_CNT_STORE_BUSY], v[TERN_CNT_STORE_STALL],
          v[TERN_CNT_FETCH_STALL]);
  fprintf(f,
          "utilisation: %.2f%% (ideal M*K*N/(R*C) = %" PRIu64 "/%d = %.1f cycles; M*K*N summed over "
          "the %d matrices, unpadded)\n",
          100.0 * r->utilisation, r->macs, h->rows * h->cols, r->ideal_cycles,
          2 * r->model.layers);
  fprintf(f, "tokens/s at %g MHz: %.1f (= M * clock / cycles)\n", h->clock_mhz, r->tokens_per_s);
  fprintf(f, "DRAM bytes/token: %.1f (read %" PRIu64 " + written %" PRIu64 " bytes / %d tokens; %s)\n",
          r->dram_bytes_per_token, v[TERN_CNT_DRAM_RD_BYTES], v[TERN_CNT_DRAM_WR_BYTES], M, src);
  const tern_energy *e = &r->energy;
  fprintf(f, "energy/token (%s, %s x counters): %s\n", r->tech_node, r->tech.path,
          fmt_pj(e->total_pj / M, b1, sizeof b1));
  for (int i = 0; i < TERN_EC_COUNT; i++)
    fprintf(f, "  %-17s %s (%.1f%%)\n", tern_energy_component_name(i),
            fmt_pj(e->pj[i] / M, b1, sizeof b1), e->total_pj > 0 ? 100.0 * e->pj[i] / e->total_pj : 0.0);
  fprintf(f, "baselines per token, same %" PRIu64 " MACs/token (formula x %s):\n", r->macs / M,
          r->tech.path);
  double ta = e->tern_arith_pj / M, tw = (e->tern_arith_pj + e->tern_wdram_pj) / M;
  double fa = e->fp16_arith_pj / M, fw = (e->fp16_arith_pj + e->fp16_wdram_pj) / M;
  double ia = e->int8_arith_pj / M, iw = (e->int8_arith_pj + e->int8_wdram_pj) / M;
  fprintf(f, "  arithmetic only: tern array %s | FP16 MAC %s (%.1fx) | INT8 MAC %s (%.1fx)\n",
          fmt_pj(ta, b1, sizeof b1), fmt_pj(fa, b2, sizeof b2), ta > 0 ? fa / ta : 0.0,
          fmt_pj(ia, b3, sizeof b3), ta > 0 ? ia / ta : 0.0);
  fprintf(f,
          "  + weights read once from DRAM (2/16/8 bits, / %d tokens): tern %s | FP16 %s (%.1fx) | "
          "INT8 %s (%.1fx)\n",
          M, fmt_pj(tw, b1, sizeof b1), fmt_pj(fw, b2, sizeof b2), tw > 0 ? fw / tw : 0.0,
          fmt_pj(iw, b3, sizeof b3), tw > 0 ? iw / tw : 0.0);
  fprintf(f, "  measured tern total (all counters) %s vs FP16 arith+weights %s (%.2fx), INT8 %s (%.2fx)\n",
          fmt_pj(e->total_pj / M, b1, sizeof b1), fmt_pj(fw, b2, sizeof b2),
          e->total_pj > 0 ? fw * M / e->total_pj : 0.0, fmt_pj(iw, b3, sizeof b3),
          e->total_pj > 0 ? iw * M / e->total_pj : 0.0);
}

/* ---- CLI parsing ------------------------------------------------------------ */

static const char *const cmd_names[TERN_CMD_COUNT] = {
    "", "run", "gen-weights", "compile", "exec", "asm", "disasm", "bench-gemm", "models",
    "fidelity", "generate"};

const char *tern_cli_cmd_name(tern_cli_cmd c) {
  return c >= 0 && c < TERN_CMD_COUNT ? cmd_names[c] : "?";
}

#define MODEL_FLAGS_HELP                                                              \
  "  --d N              model width (default from `tern models`)\n"                  \
  "  --f N              hidden width\n"                                               \
  "  --layers N         number of MLP blocks\n"                                       \
  "  --act relu2|silu   activation\n"                                                 \
  "  --seed N           weight generation seed\n"
#define HW_FLAGS_HELP                                                                 \
  "  --array RxC        array rows x columns (powers of two, 2..64; default 16x16).\n" \
  "                     4x4 and 8x8 select the whole RTL test configurations\n"    \
  "                     (tern_hwcfg_small: depths, qdepth, imem, dram_bw); any other\n" \
  "                     size changes only rows/cols of the default configuration.\n" \
  "                     Use --array before --set: it replaces those fields.\n"     \
  "  --set key=value    hardware config override (rows, cols, wbuf_depth, abuf_depth,\n" \
  "                     acc_depth, out_depth, qdepth, imem_depth, dram_bw, dram_lat,\n" \
  "                     dram_bytes, clock_mhz); repeatable, applied in order\n"

const char *tern_cli_usage(tern_cli_cmd c) {
  switch (c) {
    case TERN_CMD_RUN:
      return "usage: tern run [options]\n"
             "Compile the MLP for M tokens, run it on a backend, check it bit for bit against the\n"
             "integer reference and against the float reference, print cycles, utilisation,\n"
             "tokens/s and energy/token.  Exits 1 when the output is not bit-exact.\n"
             "  --backend isa|rtl  ISA simulator (default) or Verilated RTL\n"
             "  --tokens M         tokens (1..65535, default 8)\n"
             "  --weights FILE     .twt weight file (default: generate from the model flags)\n" MODEL_FLAGS_HELP
             HW_FLAGS_HELP
             "  --tech NODE        energy table reports/tech/NODE.tsv: 45nm (default) or 7nm\n"
             "  --trace FILE.fst   RTL waveform (rtl backend only)\n"
             "  --report DIR       write DIR/report.md, report.html and plots\n"
             "  --input-seed N     seed of the N(0,1) input (default 1)\n" TERN_RUN_OPTS_HELP;
    case TERN_CMD_GEN_WEIGHTS:
      return "usage: tern gen-weights [model flags] -o FILE.twt\n"
             "Generate the seeded ternary MLP and save it.\n" MODEL_FLAGS_HELP
             "  -o FILE            output weight file (required)\n";
    case TERN_CMD_COMPILE:
      return "usage: tern compile [model flags] [--weights FILE] [--array RxC] [--tokens M]\n"
             "                    [--set key=value]... [--dump-after PASS] -o prog.tbin\n"
             "Compile the MLP into a program file.\n" MODEL_FLAGS_HELP
             "  --weights FILE     .twt weight file instead of generating\n" HW_FLAGS_HELP
             "  --tokens M         tokens (default 8)\n"
             "  --dump-after PASS  print the IR after compiler pass PASS to stdout\n"
             "  -o FILE            output program (required)\n";
    case TERN_CMD_EXEC:
      return "usage: tern exec prog.tbin [--backend isa|rtl] [--input-seed N] [--trace FILE.fst]\n"
             "                 [--array RxC] [--set key=value ...] [--watchdog N] [--max-cycles N]\n"
             "Run a program file with its own DRAM image; tensor 'x' (I32) or 'a' (I8) is filled\n"
             "with seeded input when --input-seed is given (zero/as-compiled otherwise).  Prints\n"
             "cycles and every counter.  The hardware configuration is the one in the file's\n"
             "header; --array / --set, if given, must name the same one.  With --backend rtl a\n"
             "missing RTL library is built only for a configuration named so (a file never\n"
             "starts a build by itself).\n" TERN_RUN_OPTS_HELP;
    case TERN_CMD_ASM:
      return "usage: tern asm in.s -o out.bin\n"
             "Assemble text (docs/ISA.md \"Assembly\") into raw 16-byte instruction words.\n";
    case TERN_CMD_DISASM:
      return "usage: tern disasm in.bin|in.tbin\n"
             "Disassemble raw instruction words or a program file.\n";
    case TERN_CMD_BENCH_GEMM:
      return "usage: tern bench-gemm --M m --K k --N n [--backend isa|rtl] [--array RxC]\n"
             "                       [--set key=value]... [--seed N]\n"
             "One ternary GEMM (random codes and int8 activations from --seed), checked against\n"
             "a host reference; prints cycles, ideal M*K*N/(R*C), utilisation, the DRAM bound\n"
             "(weight bytes / dram_bw) and the ratio of cycles to it.\n"
             "  --M m --K k --N n  dimensions (>= 1)\n" HW_FLAGS_HELP TERN_RUN_OPTS_HELP;
    case TERN_CMD_MODELS:
      return "usage: tern models\nList the built-in MLP and the transformer presets with their parameters.\n";
    case TERN_CMD_FIDELITY:
      return "usage: tern fidelity MODEL [--prompts N]\n"
             "       tern fidelity MODEL --text FILE [--bytes N] [--window W]\n"
             "                     [--backend isa|rtl [--accel-bytes N] [--array RxC] [--set k=v]\n"
             "                      [--watchdog N] [--max-cycles N]]\n"
             "Integer reference vs float reference of a transformer or recurrent preset (or a\n"
             "model description file): per fixed byte prompt, logit cosine similarity and top-1\n"
             "agreement after prefill + decode steps, and the max abs error of the residual\n"
             "stream per block pass (docs/NUMERICS.md).  Seeded weights.\n"
             "  MODEL              a preset name (tern models) or a .tern file\n"
             "  --prompts N        how many of the 8 fixed prompts (default 8)\n"
             "With --text (fidelity as model quality, docs/NUMERICS.md): bits per byte of the\n"
             "float reference, the integer reference and (with --backend) the accelerator on\n"
             "the text (windows of W+1 bytes, W = max_seq, stride W: every byte predicted once), top-1\n"
             "agreement of integer and float; the accelerator's logits must equal the integer\n"
             "reference's at every position.  MODEL may be a checkpoint (--model PATH).\n"
             "  --text FILE        e.g. models/trained/fortunes-valid.txt\n"
             "  --bytes N          use the first N bytes (default all)\n"
             "  --accel-bytes N    the accelerator runs the first N bytes (default --bytes)\n"
             "(with --backend:)\n" TERN_RUN_OPTS_HELP;
    case TERN_CMD_GENERATE:
      return "usage: tern generate MODEL --prompt TEXT [--tokens N] [--backend cpu|isa|rtl]\n"
             "                     [--temperature T] [--top-k K] [--seed S] [--array RxC]\n"
             "                     [--set key=value] [--residency on|off] [--tech NODE] [--report DIR]\n"
             "                     [--watchdog N] [--max-cycles N]\n"
             "Prefill the prompt (bytes -> token ids) and generate N tokens on the integer\n"
             "reference (backend cpu; BitLinear on the SIMD kernels, TERN_CPU_KERNEL picks one),\n"
             "with the float reference in lockstep (fed the same tokens).  Prints, per token, the\n"
             "token, the integer top-1 and its logit, and agree / differs against the float\n"
             "top-1; then the text (non-printable bytes escaped) and the ms per decoded token.\n"
             "  MODEL              a preset name (tern models) or a model description file;\n"
             "                     recurrent models (issue 4: hawk, griffin, matmulfree) too\n"
             "  --prompt TEXT      the prompt (required, at least one byte)\n"
             "  --tokens N         tokens to generate (1..65504, default 16)\n"
             "  --backend B        cpu (default, the integer reference); isa (ISA simulator)\n"
             "                     or rtl (Verilated RTL): the compiled programs, checked bit\n"
             "                     for bit against the integer reference at every step, with\n"
             "                     cycles, tokens/s, energy and DRAM bytes per token\n"
             "  --array RxC        accelerator array (isa/rtl; default 16x16; 4x4 and 8x8 are\n"
             "                     the small test configurations)\n"
             "  --set key=value    accelerator parameter, e.g. wbuf_depth=16384 (isa/rtl)\n"
             "  --residency on|off keep repeated / shared weights in WBUF (default on)\n"
             "  --tech NODE        energy table reports/tech/NODE.tsv: 45nm (default) or 7nm\n"
             "  --report DIR       (isa/rtl) write DIR/report.md, report.html, context.png\n"
             "                     (energy/token against context), layers.png and the\n"
             "                     fidelity table of tern fidelity (minutes on large presets)\n"
             "  --temperature T    0 (default) = greedy; > 0 samples the integer logits / 4096\n"
             "  --top-k K          sample among the K largest logits (default 0 = all)\n"
             "  --seed S           sampler seed (default 0)\n"
             "(isa/rtl only:)\n" TERN_RUN_OPTS_HELP;
    default:
      return "usage: tern COMMAND [options]     (tern COMMAND --help for details)\n"
             "commands:\n"
             "  run          compile + run + check + metrics (+ report)\n"
             "  gen-weights  write a seeded ternary weight file (.twt)\n"
             "  compile      compile the MLP to a program file (.tbin)\n"
             "  exec         run a program file\n"
             "  asm          assemble text to instruction words\n"
             "  disasm       disassemble instruction words or a program file\n"
             "  bench-gemm   one GEMM: cycles vs ideal and the DRAM bound\n"
             "  models       list the built-in MLP, transformer and recurrent presets\n"
             "  fidelity     integer vs float reference of a transformer or recurrent preset\n"
             "  generate     generate text (cpu, isa or rtl backend)\n"
             "  compare      decode cost per token against context: transformer vs recurrent\n"
             "  rtl-top      write a Verilog top with fixed parameters for a vendor flow\n"
             "  synth        FPGA synthesis: resources per unit, no-multiplier check, iCE40 Fmax\n"
             "  sweep        design-space sweep over accelerator configurations (cycle model,\n"
             "               RTL validation, synthesis; make / Slurm / GNU parallel job lists)\n"
             "  sweep-merge  merge a sweep's point files into CSV / JSON and the Pareto report\n"
             "options of every command:\n"
             "  --max-mem BYTES  memory budget of a model (weights + KV cache or state), checked\n"
             "                   before loading it (default 4G; 0 = no limit)\n";
  }
}

enum {
  F_RUN = 1 << TERN_CMD_RUN,
  F_GEN = 1 << TERN_CMD_GEN_WEIGHTS,
  F_COMPILE = 1 << TERN_CMD_COMPILE,
  F_EXEC = 1 << TERN_CMD_EXEC,
  F_ASM = 1 << TERN_CMD_ASM,
  F_DISASM = 1 << TERN_CMD_DISASM,
  F_BENCH = 1 << TERN_CMD_BENCH_GEMM,
  F_MODELS = 1 << TERN_CMD_MODELS,
  F_FID = 1 << TERN_CMD_FIDELITY,
  F_GENR = 1 << TERN_CMD_GENERATE,
};

typedef struct flag_spec {
  const char *name;
  int cmds; /* mask of commands that accept it */
} flag_spec;

static const flag_spec flags[] = {
    {"--backend", F_RUN | F_EXEC | F_BENCH | F_GENR | F_FID},
    {"--array", F_RUN | F_EXEC | F_COMPILE | F_BENCH | F_GENR | F_FID},
    {"--tokens", F_RUN | F_COMPILE | F_GENR},
    {"--weights", F_RUN | F_COMPILE},
    {"--d", F_RUN | F_GEN | F_COMPILE},
    {"--f", F_RUN | F_GEN | F_COMPILE},
    {"--layers", F_RUN | F_GEN | F_COMPILE},
    {"--act", F_RUN | F_GEN | F_COMPILE},
    {"--seed", F_RUN | F_GEN | F_COMPILE | F_BENCH | F_GENR},
    {"--set", F_RUN | F_EXEC | F_COMPILE | F_BENCH | F_GENR | F_FID},
    {"--tech", F_RUN | F_GENR},
    {"--residency", F_GENR},
    {"--trace", F_RUN | F_EXEC},
    {"--report", F_RUN | F_GENR},
    {"--input-seed", F_RUN | F_EXEC},
    {"--watchdog", F_RUN | F_EXEC | F_BENCH | F_GENR | F_FID},
    {"--max-cycles", F_RUN | F_EXEC | F_BENCH | F_GENR | F_FID},
    {"--dump-after", F_COMPILE},
    {"-o", F_GEN | F_COMPILE | F_ASM},
    {"--M", F_BENCH},
    {"--K", F_BENCH},
    {"--N", F_BENCH},
    {"--prompts", F_FID},
    {"--text", F_FID},
    {"--bytes", F_FID},
    {"--window", F_FID},
    {"--accel-bytes", F_FID},
    {"--prompt", F_GENR},
    {"--model", F_FID | F_GENR},
    {"--temperature", F_GENR},
    {"--top-k", F_GENR},
};

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out, char *err,
                     size_t errlen) {
  char *end = NULL;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || end == s || *end || errno || v < lo || v > hi) {
    tern_err(err, errlen, "%s: '%s', expected an integer in %ld..%ld", flag, s ? s : "", lo, hi);
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int parse_u64(const char *flag, const char *s, uint64_t *out, char *err, size_t errlen) {
  char *end = NULL;
  errno = 0;
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
    tern_err(err, errlen, "%s: '%s', expected an unsigned integer", flag, s ? s : "");
    return -1;
  }
  unsigned long long v = strtoull(s, &end, 0);
  if (end == s || *end || errno) {
    tern_err(err, errlen, "%s: '%s', expected an unsigned integer", flag, s);
    return -1;
  }
  *out = (uint64_t)v;
  return 0;
}

int tern_cli_parse(int argc, char **argv, tern_cli *cli, char *err, size_t errlen) {
  memset(cli, 0, sizeof *cli);
  tern_run_config_default(&cli->run);
  cli->gemm_m = cli->gemm_k = cli->gemm_n = 0;
  cli->prompts = 8;
  cli->gen_tokens = 16;
  cli->gen_backend = "cpu";
  cli->gen_residency = 1;
  if (argc < 2) return 0; /* no command: top-level usage */
  const char *c = argv[1];
  if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
    cli->help = 1;
    return 0;
  }
  for (int i = 1; i < TERN_CMD_COUNT; i++)
    if (!strcmp(c, cmd_names[i])) cli->cmd = (tern_cli_cmd)i;
  if (cli->cmd == TERN_CMD_NONE) {
    tern_err(err, errlen,
            "unknown command '%s', expected one of: run, gen-weights, compile, exec, asm, disasm, "
            "bench-gemm, models, fidelity, generate (tern --help)",
            c);
    return -1;
  }
  const char *cmd = cmd_names[cli->cmd];
  const int mask = 1 << cli->cmd;
  int have_m = 0, have_k = 0, have_n = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      cli->help = 1;
      continue;
    }
    if (a[0] != '-' || a[1] == 0) {
      /* positional */
      if ((cli->cmd == TERN_CMD_EXEC || cli->cmd == TERN_CMD_ASM || cli->cmd == TERN_CMD_DISASM ||
           cli->cmd == TERN_CMD_FIDELITY || cli->cmd == TERN_CMD_GENERATE) &&
          !cli->in) {
        cli->in = a;
        continue;
      }
      tern_err(err, errlen, "tern %s: unexpected argument '%s' (tern %s --help)", cmd, a, cmd);
      return -1;
    }
    /* --flag=value or --flag value */
    char name[64];
    const char *val = NULL;
    const char *eq = strchr(a, '=');
    if (eq && a[1] == '-') {
      size_t n = (size_t)(eq - a);
      if (n >= sizeof name) n = sizeof name - 1;
      memcpy(name, a, n);
      name[n] = 0;
      val = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
    }
    const flag_spec *fs = NULL;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
      if (!strcmp(name, flags[k].name)) fs = &flags[k];
    if (!fs || !(fs->cmds & mask)) {
      tern_err(err, errlen, "tern %s: unknown flag '%s' (tern %s --help lists the flags)", cmd, name,
              cmd);
      return -1;
    }
    if (!val) {
      if (i + 1 >= argc) {
        tern_err(err, errlen, "tern %s: flag %s needs a value", cmd, name);
        return -1;
      }
      val = argv[++i];
    }
    char e2[512];
    tern_run_config *rc = &cli->run;
    if (tern_run_opts_is_flag(name)) {
      if (tern_run_opts_flag(&rc->limits, name, val, err, errlen)) return -1;
    } else if (cli->cmd == TERN_CMD_GENERATE && !strcmp(name, "--backend")) {
      if (strcmp(val, "cpu") && strcmp(val, "isa") && strcmp(val, "rtl")) {
        tern_err(err, errlen, "--backend: '%s', expected cpu, isa or rtl", val);
        return -1;
      }
      cli->gen_backend = val;
    } else if (cli->cmd == TERN_CMD_GENERATE && !strcmp(name, "--tokens")) {
      if (parse_int(name, val, 1, TERN_GEN_MAX_TOKENS, &cli->gen_tokens, err, errlen)) return -1;
    } else if (cli->cmd == TERN_CMD_GENERATE && !strcmp(name, "--seed")) {
      if (parse_u64(name, val, &cli->gen_seed, err, errlen)) return -1;
    } else if (!strcmp(name, "--residency")) {
      if (strcmp(val, "on") && strcmp(val, "off")) {
        tern_err(err, errlen, "--residency: '%s', expected on or off", val);
        return -1;
      }
      cli->gen_residency = !strcmp(val, "on");
    } else if (!strcmp(name, "--prompt")) {
      if (!*val) {
        tern_err(err, errlen, "--prompt: empty, expected at least one byte of text");
        return -1;
      }
      cli->prompt = val;
    } else if (!strcmp(name, "--text")) {
      cli->text = val;
    } else if (!strcmp(name, "--bytes") || !strcmp(name, "--accel-bytes")) {
      int v;
      if (parse_int(name, val, 1, INT_MAX, &v, err, errlen)) return -1;
      if (name[2] == 'b') cli->text_bytes = v;
      else cli->accel_bytes = v;
    } else if (!strcmp(name, "--window")) {
      if (parse_int(name, val, 1, 65504, &cli->window, err, errlen)) return -1;
    } else if (!strcmp(name, "--model")) {
      if (cli->in) {
        tern_err(err, errlen, "tern %s: --model '%s' and MODEL '%s' both given, expected one", cmd,
                 val, cli->in);
        return -1;
      }
      cli->in = val;
    } else if (!strcmp(name, "--temperature")) {
      char *end = NULL;
      errno = 0;
      double t = strtod(val, &end);
      if (!*val || end == val || *end || errno || !(t >= 0.0) || !isfinite(t)) {
        tern_err(err, errlen, "--temperature: '%s', expected a finite number >= 0 (0 = greedy)", val);
        return -1;
      }
      cli->temperature = t;
    } else if (!strcmp(name, "--top-k")) {
      if (parse_int(name, val, 0, INT_MAX, &cli->top_k, err, errlen)) return -1;
    } else if (!strcmp(name, "--backend")) {
      if (strcmp(val, "isa") && strcmp(val, "rtl")) {
        tern_err(err, errlen, "--backend: '%s', expected isa or rtl", val);
        return -1;
      }
      rc->backend = val;
      if (cli->cmd == TERN_CMD_FIDELITY) cli->fid_backend = val;
    } else if (!strcmp(name, "--array")) {
      int r, cc;
      if (tern_parse_array(val, &r, &cc, e2, sizeof e2) != 0) {
        tern_err(err, errlen, "--array: %s", e2);
        return -1;
      }
      if ((r == 4 && cc == 4) || (r == 8 && cc == 8)) {
        /* the RTL test configurations (make rtl-test-libs) */
        rc->hw = tern_hwcfg_small(r, cc);
      } else {
        rc->hw.rows = r;
        rc->hw.cols = cc;
      }
      if (tern_hwcfg_check(&rc->hw, e2, sizeof e2) != 0) {
        tern_err(err, errlen, "--array %s: %s", val, e2);
        return -1;
      }
      cli->have_hw = 1;
    } else if (!strcmp(name, "--tokens")) {
      if (parse_int(name, val, 1, 65535, &rc->tokens, err, errlen)) return -1;
    } else if (!strcmp(name, "--weights")) {
      rc->weights_path = val;
    } else if (!strcmp(name, "--d")) {
      if (parse_int(name, val, 1, 65536, &rc->model.d, err, errlen)) return -1;
    } else if (!strcmp(name, "--f")) {
      if (parse_int(name, val, 1, 65536, &rc->model.f, err, errlen)) return -1;
    } else if (!strcmp(name, "--layers")) {
      if (parse_int(name, val, 1, 4096, &rc->model.layers, err, errlen)) return -1;
    } else if (!strcmp(name, "--act")) {
      if (!strcmp(val, "relu2")) rc->model.act = TERN_ACT_RELU2;
      else if (!strcmp(val, "silu")) rc->model.act = TERN_ACT_SILU;
      else {
        tern_err(err, errlen, "--act: '%s', expected relu2 or silu", val);
        return -1;
      }
    } else if (!strcmp(name, "--seed")) {
      if (parse_u64(name, val, &rc->model.seed, err, errlen)) return -1;
    } else if (!strcmp(name, "--input-seed")) {
      if (parse_u64(name, val, &rc->input_seed, err, errlen)) return -1;
      cli->have_input_seed = 1;
    } else if (!strcmp(name, "--set")) {
      const char *e = strchr(val, '=');
      if (!e || e == val) {
        tern_err(err, errlen, "--set: '%s', expected key=value (e.g. dram_bw=16)", val);
        return -1;
      }
      char key[64];
      size_t n = (size_t)(e - val);
      if (n >= sizeof key) n = sizeof key - 1;
      memcpy(key, val, n);
      key[n] = 0;
      if (tern_hwcfg_set(&rc->hw, key, e + 1, e2, sizeof e2) != 0) {
        tern_err(err, errlen, "--set %s: %s", val, e2);
        return -1;
      }
      cli->have_hw = 1;
    } else if (!strcmp(name, "--tech")) {
      char path[1024];
      if (tern_tech_path(val, path, sizeof path, e2, sizeof e2) != 0) {
        tern_err(err, errlen, "%s", e2);
        return -1;
      }
      if (access(path, R_OK) != 0) {
        tern_err(err, errlen, "--tech: '%s', expected 45nm or 7nm (no table %s)", val, path);
        return -1;
      }
      rc->tech = val;
    } else if (!strcmp(name, "--trace")) {
      if (!*val) {
        tern_err(err, errlen, "--trace: empty, expected a file name (out.fst)");
        return -1;
      }
      rc->trace_path = val;
    } else if (!strcmp(name, "--report")) {
      if (!*val) {
        tern_err(err, errlen, "--report: empty, expected a directory");
        return -1;
      }
      cli->report_dir = val;
    } else if (!strcmp(name, "--dump-after")) {
      /* the pass list of compiler/compile.c (docs/ARCHITECTURE.md) */
      static const char *const passes[] = {"build", "pad", "tile", "alloc", "emit", "sync", "validate"};
      int ok = 0;
      for (size_t k = 0; k < sizeof passes / sizeof passes[0]; k++) ok |= !strcmp(val, passes[k]);
      if (!ok) {
        tern_err(err, errlen,
                "--dump-after: '%s', expected build, pad, tile, alloc, emit, sync or validate", val);
        return -1;
      }
      cli->dump_after = val;
    } else if (!strcmp(name, "-o")) {
      if (!*val) {
        tern_err(err, errlen, "-o: empty, expected an output file name");
        return -1;
      }
      cli->out = val;
    } else if (!strcmp(name, "--M")) {
      if (parse_int(name, val, 1, 65535, &cli->gemm_m, err, errlen)) return -1;
      have_m = 1;
    } else if (!strcmp(name, "--K")) {
      if (parse_int(name, val, 1, 1 << 20, &cli->gemm_k, err, errlen)) return -1;
      have_k = 1;
    } else if (!strcmp(name, "--prompts")) {
      if (parse_int(name, val, 1, 8, &cli->prompts, err, errlen)) return -1;
    } else if (!strcmp(name, "--N")) {
      if (parse_int(name, val, 1, 1 << 20, &cli->gemm_n, err, errlen)) return -1;
      have_n = 1;
    }
  }
  if (cli->help) return 0;
  /* whole-configuration check after every --array / --set */
  if ((mask & (F_RUN | F_COMPILE | F_BENCH)) || cli->have_hw) {
    char e2[512];
    if (tern_hwcfg_check(&cli->run.hw, e2, sizeof e2) != 0) {
      tern_err(err, errlen, "tern %s: hardware configuration: %s", cmd, e2);
      return -1;
    }
  }
  if ((mask & (F_GEN | F_COMPILE | F_ASM)) && !cli->out) {
    tern_err(err, errlen, "tern %s: -o FILE is required", cmd);
    return -1;
  }
  if (cli->cmd == TERN_CMD_FIDELITY && !cli->in) {
    tern_err(err, errlen, "tern fidelity: MODEL is required (a preset name from tern models, or a file)");
    return -1;
  }
  if (cli->cmd == TERN_CMD_GENERATE && !cli->in) {
    tern_err(err, errlen, "tern generate: MODEL is required (a preset name from tern models, or a file)");
    return -1;
  }
  if (cli->cmd == TERN_CMD_GENERATE && !cli->prompt) {
    tern_err(err, errlen, "tern generate: --prompt TEXT is required (at least one byte)");
    return -1;
  }
  if ((mask & (F_EXEC | F_ASM | F_DISASM)) && !cli->in) {
    tern_err(err, errlen, "tern %s: input file is required (tern %s --help)", cmd, cmd);
    return -1;
  }
  if (cli->cmd == TERN_CMD_BENCH_GEMM && !(have_m && have_k && have_n)) {
    tern_err(err, errlen, "tern bench-gemm: %s is required (an integer >= 1)",
            !have_m ? "--M" : !have_k ? "--K" : "--N");
    return -1;
  }
  if (cli->run.trace_path && strcmp(cli->run.backend, "rtl") != 0) {
    tern_err(err, errlen, "--trace: needs --backend rtl (the ISA simulator has no waveform)");
    return -1;
  }
  return 0;
}
