/* tern — the command-line interface (usage: tern --help).
 * Exit status: 0 ok, 1 a run failed or was not bit-exact, 2 bad arguments. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "tern/backend.h"
#include "tern/compare.h"
#include "tern/compiler.h"
#include "tern/ckpt.h"
#include "tern/ckpt_cli.h"
#include "tern/generate.h"
#include "tern/quality.h"
#include "tern/io.h"
#include "tern/isa.h"
#include "tern/mlp.h"
#include "tern/numerics.h"
#include "tern/program.h"
#include "tern/report.h"
#include "tern/rnn.h"
#include "tern/rtl_top.h"
#include "tern/runtime.h"
#include "tern/sweep.h"
#include "tern/synth.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"

#define ERRLEN 2048

static int die(const char *what, const char *msg) {
  fprintf(stderr, "tern %s: %s\n", what, msg);
  return 1;
}

static void print_model_cfg(FILE *f, const tern_mlp_config *c) {
  fprintf(f, "d=%d f=%d layers=%d act=%s seed=%" PRIu64 " eps=%g", c->d, c->f, c->layers,
          c->act == TERN_ACT_SILU ? "silu" : "relu2", c->seed, (double)c->eps);
}

/* Inputs of asm / disasm: the assembler reads at most 64 MiB of text; raw
 * instruction words fill at most the largest IMEM (TERN_HW_DEPTH_MAX words). */
#define ASM_MAX_TEXT ((size_t)64 << 20)
#define WORDS_MAX_FILE ((size_t)TERN_HW_DEPTH_MAX * 16)

/* 1 if path is a regular file that starts with the .tbin magic */
static int is_program_file(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char m[8];
  int yes = fread(m, 1, 8, f) == 8 && memcmp(m, TERN_PROG_MAGIC, 8) == 0;
  fclose(f);
  return yes;
}

static int load_or_generate(const tern_run_config *rc, tern_mlp_model *m, char *err, size_t errlen) {
  char e2[1024];
  if (rc->weights_path) {
    if (tern_mlp_load(m, rc->weights_path, e2, sizeof e2) != 0) {
      snprintf(err, errlen, "%s", e2);
      return -1;
    }
    return 0;
  }
  if (tern_mlp_generate(&rc->model, m, e2, sizeof e2) != 0) {
    snprintf(err, errlen, "model: %s", e2);
    return -1;
  }
  return 0;
}

static int cmd_run(const tern_cli *cli) {
  char err[ERRLEN];
  tern_run_result *res = malloc(sizeof *res);
  if (!res) return die("run", "out of memory");
  if (tern_run(&cli->run, res, err, sizeof err) != 0) {
    free(res);
    return die("run", err);
  }
  tern_run_print(res, stdout);
  int rc = res->bit_exact ? 0 : 1;
  if (cli->report_dir) {
    if (tern_report_write(cli->report_dir, res, err, sizeof err) != 0) {
      fprintf(stderr, "tern run: report: %s\n", err);
      rc = 1;
    } else {
      printf("report: %s/report.md, %s/report.html\n", cli->report_dir, cli->report_dir);
    }
  }
  fflush(stdout);
  free(res);
  return rc;
}

static int cmd_gen_weights(const tern_cli *cli) {
  char err[ERRLEN];
  tern_mlp_model m;
  memset(&m, 0, sizeof m);
  if (tern_mlp_generate(&cli->run.model, &m, err, sizeof err) != 0) return die("gen-weights", err);
  if (tern_mlp_save(&m, cli->out, err, sizeof err) != 0) {
    tern_mlp_free(&m);
    return die("gen-weights", err);
  }
  printf("wrote %s: MLP ", cli->out);
  print_model_cfg(stdout, &m.cfg);
  printf(" (%" PRIu64 " ternary weights)\n", tern_mlp_weight_count(&m.cfg));
  tern_mlp_free(&m);
  return 0;
}

static int cmd_compile(const tern_cli *cli) {
  char err[ERRLEN];
  tern_mlp_model m;
  memset(&m, 0, sizeof m);
  if (load_or_generate(&cli->run, &m, err, sizeof err) != 0) return die("compile", err);
  tern_qmlp q;
  memset(&q, 0, sizeof q);
  if (tern_mlp_quantize(&m, &q, err, sizeof err) != 0) {
    tern_mlp_free(&m);
    return die("compile", err);
  }
  tern_compile_opts co;
  memset(&co, 0, sizeof co);
  co.tokens = cli->run.tokens;
  co.dump_after = cli->dump_after;
  co.dump_to = stdout;
  tern_program p;
  tern_program_init(&p);
  int rc = 0;
  if (tern_compile_mlp(&q, &cli->run.hw, &co, &p, err, sizeof err) != 0) {
    rc = die("compile", err);
  } else if (tern_program_write(&p, cli->out, err, sizeof err) != 0) {
    rc = die("compile", err);
  } else {
    printf("wrote %s: %zu instructions, %zu segments, %zu tensors, %" PRIu64
           " bytes of DRAM, for %dx%d, %d tokens\n",
           cli->out, p.n_insns, p.n_segs, p.n_tensors, p.dram_size, p.cfg.rows, p.cfg.cols,
           cli->run.tokens);
  }
  tern_program_free(&p);
  tern_qmlp_free(&q);
  tern_mlp_free(&m);
  return rc;
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void print_counters(const tern_counters *c, const char *src) {
  printf("cycles: %" PRIu64 " (%s)\n", c->v[TERN_CNT_CYCLES], src);
  for (int i = 0; i < TERN_NCOUNTERS; i++)
    printf("  %-14s %" PRIu64 "\n", tern_counter_name(i), c->v[i]);
}

static int cmd_exec(const tern_cli *cli) {
  char err[ERRLEN];
  tern_program p;
  tern_program_init(&p);
  if (tern_program_read(&p, cli->in, err, sizeof err) != 0) {
    tern_program_free(&p);
    return die("exec", err);
  }
  int rc = 1;
  uint64_t need;
  uint8_t *dram = NULL;
  if (cli->have_hw) {
    /* --array / --set name the configuration the user expects and allows to be built */
    char a[256], b[256];
    tern_hwcfg_rtl_name(&p.cfg, a, sizeof a);
    tern_hwcfg_rtl_name(&cli->run.hw, b, sizeof b);
    if (strcmp(a, b) != 0) {
      snprintf(err, sizeof err,
               "%s: the program was compiled for configuration %s, --array / --set name %s",
               cli->in, a, b);
      rc = die("exec", err);
      goto out;
    }
    tern_rtl_build_allow(&p.cfg);
  }
  if (tern_program_dram_need(&p, &need, err, sizeof err) != 0) {
    rc = die("exec", err);
    goto out;
  }
  dram = calloc(need, 1);
  if (!dram) {
    rc = die("exec", "out of memory allocating DRAM");
    goto out;
  }
  if (tern_program_init_dram(&p, dram, need, err, sizeof err) != 0) {
    rc = die("exec", err);
    goto out;
  }
  if (cli->have_input_seed) {
    const tern_tensor_ref *x = tern_program_find_tensor(&p, "x");
    const tern_tensor_ref *a = tern_program_find_tensor(&p, "a");
    if (x && x->dtype == TERN_DT_I32) {
      /* the same N(0,1) input tern run uses (tern_mlp_input), in Q12 */
      tern_mlp_config mc = tern_mlp_default_config();
      mc.d = (int)x->cols;
      float *xf = malloc(sizeof *xf * (size_t)x->rows * x->cols);
      if (!xf) {
        rc = die("exec", "out of memory");
        goto out;
      }
      tern_mlp_input(&mc, (int)x->rows, cli->run.input_seed, xf);
      for (uint32_t r = 0; r < x->rows; r++)
        for (uint32_t i = 0; i < x->cols; i++) {
          uint32_t u = (uint32_t)tern_to_fx(xf[(size_t)r * x->cols + i]);
          uint8_t *d = dram + x->dram_addr + (uint64_t)r * x->row_stride + 4u * i;
          d[0] = (uint8_t)u, d[1] = (uint8_t)(u >> 8), d[2] = (uint8_t)(u >> 16), d[3] = (uint8_t)(u >> 24);
        }
      free(xf);
      printf("input: tensor x (%u x %u, Q12) = N(0,1) from seed %" PRIu64 "\n", x->rows, x->cols,
             cli->run.input_seed);
    } else if (a && a->dtype == TERN_DT_I8) {
      uint64_t s = cli->run.input_seed;
      for (uint32_t r = 0; r < a->rows; r++)
        for (uint32_t i = 0; i < a->cols; i++)
          dram[a->dram_addr + (uint64_t)r * a->row_stride + i] =
              (uint8_t)(int8_t)((int)(splitmix64(&s) % 255) - 127);
      printf("input: tensor a (%u x %u, int8) uniform in [-127,127] from seed %" PRIu64 "\n",
             a->rows, a->cols, cli->run.input_seed);
    } else {
      rc = die("exec", "--input-seed: the program has no tensor 'x' (I32) or 'a' (I8) to fill");
      goto out;
    }
  }
  tern_run_opts ro = cli->run.limits;
  ro.trace_path = cli->run.trace_path;
  tern_counters c;
  if (tern_backend_run(cli->run.backend, &p.cfg, p.insns, p.n_insns, dram, need, &ro, &c, err,
                       sizeof err) != 0) {
    rc = die("exec", err);
    goto out;
  }
  printf("program %s: %zu instructions, %dx%d, backend %s\n", cli->in, p.n_insns, p.cfg.rows,
         p.cfg.cols, cli->run.backend);
  print_counters(&c, strcmp(cli->run.backend, "rtl") == 0 ? "RTL counters" : "ISA simulator cycle model");
  for (size_t i = 0; i < p.n_tensors; i++) {
    const tern_tensor_ref *t = &p.tensors[i];
    uint64_t bytes = (uint64_t)t->rows * t->row_stride;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    crc = (uint32_t)crc32(crc, dram + t->dram_addr, (uInt)bytes);
    printf("tensor %-8s at 0x%08x: %u x %u, CRC-32 after the run 0x%08x\n", t->name, t->dram_addr,
           t->rows, t->cols, crc);
  }
  rc = 0;
out:
  free(dram);
  tern_program_free(&p);
  return rc;
}

static int cmd_asm(const tern_cli *cli) {
  char err[ERRLEN];
  uint8_t *text;
  if (tern_read_file(cli->in, ASM_MAX_TEXT, "an assembly text", &text, NULL, err, sizeof err))
    return die("asm", err);
  tern_insn *ins = NULL;
  size_t n = 0;
  if (tern_asm_text((const char *)text, cli->in, &ins, &n, err, sizeof err) != 0) {
    free(text);
    return die("asm", err);
  }
  free(text);
  FILE *f = fopen(cli->out, "wb");
  if (!f) {
    free(ins);
    snprintf(err, sizeof err, "%s: cannot write: %s", cli->out, strerror(errno));
    return die("asm", err);
  }
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    tern_word w;
    char e2[512];
    if (tern_encode(&ins[i], &w, e2, sizeof e2) != 0) {
      snprintf(err, sizeof err, "%s: insn %zu: %s", cli->in, i, e2);
      rc = die("asm", err);
      break;
    }
    uint8_t b[16];
    for (int k = 0; k < 16; k++) b[k] = (uint8_t)(w.w[k / 8] >> (8 * (k % 8)));
    if (fwrite(b, 1, 16, f) != 16) rc = die("asm", "write error");
  }
  if (fclose(f) != 0 && rc == 0) rc = die("asm", "write error");
  free(ins);
  if (rc == 0) printf("wrote %s: %zu instructions (%zu bytes)\n", cli->out, n, n * 16);
  return rc;
}

static int cmd_disasm(const tern_cli *cli) {
  char err[ERRLEN];
  size_t len;
  uint8_t *b;
  tern_insn *ins = NULL;
  size_t n = 0;
  tern_program p;
  tern_program_init(&p);
  int is_prog = is_program_file(cli->in);
  if (is_prog) {
    if (tern_program_read(&p, cli->in, err, sizeof err) != 0) {
      tern_program_free(&p);
      return die("disasm", err);
    }
    printf("# %s: program for %dx%d, %zu instructions, %zu tensors\n", cli->in, p.cfg.rows,
           p.cfg.cols, p.n_insns, p.n_tensors);
    for (size_t i = 0; i < p.n_tensors; i++)
      printf("# tensor %s at 0x%08x dtype %u %u x %u stride %u\n", p.tensors[i].name,
             p.tensors[i].dram_addr, p.tensors[i].dtype, p.tensors[i].rows, p.tensors[i].cols,
             p.tensors[i].row_stride);
    ins = p.insns;
    n = p.n_insns;
  } else {
    if (tern_read_file(cli->in, WORDS_MAX_FILE,
                       "raw 16-byte instruction words (or a .tbin program file)", &b, &len, err,
                       sizeof err))
      return die("disasm", err);
    if (tern_words_decode(b, len, &ins, &n, err, sizeof err) != 0) {
      free(b);
      char e3[ERRLEN + 64];
      snprintf(e3, sizeof e3, "%s: %s", cli->in, err);
      return die("disasm", e3);
    }
    free(b);
  }
  for (size_t i = 0; i < n; i++) {
    char line[512];
    tern_disasm_insn(&ins[i], line, sizeof line);
    printf("%s\n", line);
  }
  if (is_prog) tern_program_free(&p);
  else free(ins);
  return 0;
}

static int cmd_bench_gemm(const tern_cli *cli) {
  char err[ERRLEN];
  const int M = cli->gemm_m, K = cli->gemm_k, N = cli->gemm_n;
  const tern_hwcfg *hw = &cli->run.hw;
  int8_t *codes = malloc((size_t)K * N);
  int8_t *act = malloc((size_t)M * K);
  int32_t *ref = calloc((size_t)M * N, sizeof *ref);
  uint8_t *dram = NULL;
  tern_program p;
  tern_program_init(&p);
  int rc = 1;
  if (!codes || !act || !ref) {
    rc = die("bench-gemm", "out of memory");
    goto out;
  }
  uint64_t s = cli->run.model.seed;
  for (size_t i = 0; i < (size_t)K * N; i++) codes[i] = (int8_t)((int)(splitmix64(&s) % 3) - 1);
  for (size_t i = 0; i < (size_t)M * K; i++) act[i] = (int8_t)((int)(splitmix64(&s) % 255) - 127);
  for (int m = 0; m < M; m++)
    for (int k = 0; k < K; k++) {
      int a = act[(size_t)m * K + k];
      if (!a) continue;
      const int8_t *w = codes + (size_t)k * N;
      int32_t *r = ref + (size_t)m * N;
      for (int n = 0; n < N; n++) r[n] += a * w[n];
    }
  tern_compile_opts co;
  memset(&co, 0, sizeof co);
  co.tokens = M;
  if (tern_compile_gemm(codes, K, N, hw, &co, &p, err, sizeof err) != 0) {
    rc = die("bench-gemm", err);
    goto out;
  }
  uint64_t need;
  if (tern_program_dram_need(&p, &need, err, sizeof err) != 0) {
    rc = die("bench-gemm", err);
    goto out;
  }
  dram = calloc(need, 1);
  if (!dram) {
    rc = die("bench-gemm", "out of memory allocating DRAM");
    goto out;
  }
  if (tern_program_init_dram(&p, dram, need, err, sizeof err) != 0) {
    rc = die("bench-gemm", err);
    goto out;
  }
  const tern_tensor_ref *ta = tern_program_find_tensor(&p, "a");
  const tern_tensor_ref *tc = tern_program_find_tensor(&p, "acc");
  if (!ta || !tc || ta->dtype != TERN_DT_I8 || tc->dtype != TERN_DT_I32 || ta->rows < (uint32_t)M ||
      ta->cols < (uint32_t)K || tc->rows < (uint32_t)M || tc->cols < (uint32_t)N) {
    rc = die("bench-gemm", "compiled GEMM lacks tensor 'a' (I8, M x K) or 'acc' (I32, M x N)");
    goto out;
  }
  for (int m = 0; m < M; m++)
    memcpy(dram + ta->dram_addr + (uint64_t)m * ta->row_stride, act + (size_t)m * K, (size_t)K);
  tern_run_opts ro = cli->run.limits;
  tern_counters c;
  if (tern_backend_run(cli->run.backend, hw, p.insns, p.n_insns, dram, need, &ro, &c, err,
                       sizeof err) != 0) {
    rc = die("bench-gemm", err);
    goto out;
  }
  uint64_t bad = 0;
  int bm = -1, bn = -1;
  int32_t got = 0, exp = 0;
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      const uint8_t *q = dram + tc->dram_addr + (uint64_t)m * tc->row_stride + 4u * n;
      int32_t v = (int32_t)((uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) |
                            ((uint32_t)q[3] << 24));
      if (v != ref[(size_t)m * N + n]) {
        if (!bad) bm = m, bn = n, got = v, exp = ref[(size_t)m * N + n];
        bad++;
      }
    }
  const char *src = strcmp(cli->run.backend, "rtl") == 0 ? "RTL counters" : "ISA simulator cycle model";
  const uint64_t cyc = c.v[TERN_CNT_CYCLES];
  const double ideal = (double)M * K * N / ((double)hw->rows * hw->cols);
  const double wbytes = (double)K * N * 2.0 / 8.0;
  const double bound = wbytes / hw->dram_bw;
  printf("bench-gemm M=%d K=%d N=%d on %dx%d, dram_bw %d B/cycle, backend %s, %zu instructions\n", M,
         K, N, hw->rows, hw->cols, hw->dram_bw, cli->run.backend, p.n_insns);
  if (bad)
    printf("result: WRONG: %" PRIu64 " of %" PRIu64 " values differ from the host reference; first "
           "at (%d, %d): got %" PRId32 ", expected %" PRId32 "\n",
           bad, (uint64_t)M * N, bm, bn, got, exp);
  else
    printf("result: bit-exact vs host reference (%d x %d int32)\n", M, N);
  printf("cycles: %" PRIu64 " (%s)\n", cyc, src);
  printf("ideal: %.1f cycles (formula M*K*N/(R*C))\n", ideal);
  printf("utilisation: %.2f%% (ideal / cycles)\n", cyc ? 100.0 * ideal / cyc : 0.0);
  printf("weight bytes: %.0f (K*N 2-bit codes, formula)\n", wbytes);
  printf("DRAM bound: %.1f cycles (formula weight bytes / dram_bw)\n", bound);
  printf("ratio to DRAM bound: %.3f (cycles / bound)\n", bound > 0 ? cyc / bound : 0.0);
  printf("DRAM bytes read: %" PRIu64 ", written: %" PRIu64 " (%s)\n", c.v[TERN_CNT_DRAM_RD_BYTES],
         c.v[TERN_CNT_DRAM_WR_BYTES], src);
  rc = bad ? 1 : 0;
out:
  free(codes);
  free(act);
  free(ref);
  free(dram);
  tern_program_free(&p);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The shipped trained checkpoints (models/trained/, issue 11). */
static int list_trained(FILE *f) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/models/trained", TERN_ROOT);
  DIR *d = opendir(dir);
  if (!d) return 0;
  char *names[64];
  int n = 0;
  for (struct dirent *e; n < 64 && (e = readdir(d));)
    if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name))) n++;
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  fprintf(f, "\ntrained checkpoints (models/trained/, docs/MODELS.md \"Trained models\"; "
             "tern generate --model PATH):\n");
  for (int i = 0; i < n; i++) {
    char p[4400], fam[16], err[512];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    if (tern_ckpt_is_path(p) && !tern_ckpt_family(p, fam, sizeof fam, err, sizeof err)) {
      tern_tfm_config tc;
      tern_rnn_config rc;
      int rnn = !strcmp(fam, "recurrent");
      int ok = rnn ? !tern_rnn_ckpt_config(p, &rc, NULL, err, sizeof err)
                   : !tern_tfm_ckpt_config(p, &tc, NULL, err, sizeof err);
      if (ok)
        fprintf(f, "  %-28s %-12s %s\n", p + strlen(TERN_ROOT) + 1, fam, rnn ? rc.source : tc.source);
    }
    free(names[i]);
  }
  return 0;
}

static int cmd_models(void) {
  tern_mlp_config c = tern_mlp_default_config();
  printf("built-in models:\n");
  printf("  mlp (default of tern run): x -> [RMSNorm -> BitLinear(d->f) -> act -> BitLinear(f->d) -> +x] x layers\n");
  printf("    ");
  print_model_cfg(stdout, &c);
  printf("\n    %" PRIu64 " ternary weights, %" PRIu64 " MACs per token\n", tern_mlp_weight_count(&c),
         tern_mlp_macs(&c, 1));
  printf("  change it with --d --f --layers --act --seed, or load a .twt with --weights\n");
  printf("\n(transformers: tern generate MODEL --backend cpu|isa|rtl, tern fidelity MODEL;\n"
         " docs/MODELS.md)\n");
  if (tern_tfm_list_presets(stdout) != 0) return 1;
  printf("\n(recurrent models: tern generate MODEL --backend cpu|isa|rtl, tern fidelity MODEL,\n"
         " tern compare; docs/MODELS.md \"Recurrent models\")\n");
  if (tern_rnn_list_presets(stdout) != 0) return 1;
  return list_trained(stdout);
}

/* tern fidelity of a transformer or, when its description parses as one and
 * not as a transformer, a recurrent model (otherwise the transformer path
 * reports the error) */
static int fidelity_of(const char *model, int prompts, FILE *out, tern_tfm_fidelity_result *res,
                       char *err, size_t errlen) {
  tern_tfm_config tc;
  tern_rnn_config rc;
  char e2[ERRLEN];
  int rnn = tern_tfm_load_config(model, &tc, e2, sizeof e2) != 0 &&
            tern_rnn_load_config(model, &rc, e2, sizeof e2) == 0;
  return rnn ? tern_rnn_fidelity(model, prompts, out, res, err, errlen)
             : tern_tfm_fidelity(model, prompts, out, res, err, errlen);
}

static int cmd_quality(const tern_cli *cli) {
  tern_quality_config qc;
  tern_quality_result res;
  char err[ERRLEN];
  tern_quality_config_default(&qc);
  qc.model = cli->in;
  qc.text = cli->text;
  qc.max_bytes = (size_t)cli->text_bytes;
  qc.window = cli->window;
  qc.backend = cli->fid_backend;
  qc.accel_bytes = (size_t)cli->accel_bytes;
  qc.hw = cli->run.hw;
  qc.run = cli->run.limits;
  if (!qc.backend && (qc.run.watchdog || qc.run.max_cycles)) {
    fprintf(stderr, "tern fidelity: --watchdog and --max-cycles need --backend isa|rtl (the "
                    "references run no programs)\n");
    return 2;
  }
  int rc = tern_quality(&qc, &res, stdout, err, sizeof err);
  if (rc) {
    fflush(stdout);
    fprintf(stderr, "tern fidelity: %s\n", err);
    return rc == -2 ? 2 : 1;
  }
  return 0;
}

static int cmd_fidelity(const tern_cli *cli) {
  tern_tfm_fidelity_result res;
  char err[ERRLEN];
  if (cli->text) return cmd_quality(cli);
  if (cli->fid_backend || cli->text_bytes || cli->window || cli->accel_bytes ||
      cli->run.limits.watchdog || cli->run.limits.max_cycles) {
    fprintf(stderr, "tern fidelity: --backend, --bytes, --window, --accel-bytes, --watchdog and "
                    "--max-cycles need --text FILE\n");
    return 2;
  }
  memset(&res, 0, sizeof res);
  if (fidelity_of(cli->in, cli->prompts, stdout, &res, err, sizeof err) != 0) {
    fprintf(stderr, "tern fidelity: %s\n", err);
    tern_tfm_fidelity_result_free(&res);
    return 1;
  }
  tern_tfm_fidelity_result_free(&res);
  return 0;
}

static int cmd_generate(const tern_cli *cli) {
  tern_gen_config gc;
  tern_gen_result res;
  char err[ERRLEN];
  tern_gen_config_default(&gc);
  gc.model = cli->in;
  gc.prompt = cli->prompt;
  gc.tokens = cli->gen_tokens;
  gc.backend = cli->gen_backend;
  gc.temperature = cli->temperature;
  gc.top_k = cli->top_k;
  gc.seed = cli->gen_seed;
  gc.hw = cli->run.hw;
  gc.residency = cli->gen_residency;
  gc.tech = cli->run.tech;
  gc.run = cli->run.limits;
  if ((gc.run.watchdog || gc.run.max_cycles) && !strcmp(gc.backend, "cpu")) {
    fprintf(stderr, "tern generate: --watchdog and --max-cycles: only with --backend isa or rtl "
                    "(the cpu backend runs no programs)\n");
    return 2;
  }
  if (cli->report_dir && !strcmp(gc.backend, "cpu")) {
    fprintf(stderr, "tern generate: --report: only with --backend isa or rtl (the cpu backend "
                    "has no counters)\n");
    return 2;
  }
  int rc = tern_generate(&gc, &res, stdout, err, sizeof err);
  /* the report is written even when a step was not bit-exact: it shows which */
  if (cli->report_dir && res.n_steps > 0) {
    char e2[ERRLEN];
    tern_tfm_fidelity_result fid;
    memset(&fid, 0, sizeof fid);
    int have_fid = fidelity_of(gc.model, TERN_TFM_FID_PROMPTS, NULL, &fid, e2, sizeof e2) == 0;
    if (!have_fid) fprintf(stderr, "tern generate: report: fidelity not run: %s\n", e2);
    int wr = tern_gen_report_write(cli->report_dir, &gc, &res, have_fid ? &fid : NULL, e2,
                                   sizeof e2);
    tern_tfm_fidelity_result_free(&fid);
    if (wr != 0) {
      fprintf(stderr, "tern generate: report: %s\n", e2);
      if (!rc) rc = -1;
    } else {
      printf("report: %s/report.md, %s/report.html (context.png, layers.png)\n",
             cli->report_dir, cli->report_dir);
    }
  }
  tern_gen_result_free(&res);
  if (rc != 0) {
    fflush(stdout);
    fprintf(stderr, "tern generate: %s\n", err);
    return rc == -2 ? 2 : 1;
  }
  return 0;
}

/* tern compare: its own flags (runtime/compare.c tern_compare_parse_args). */
static int cmd_compare(int argc, char **argv) {
  tern_compare_config cc;
  tern_compare_result res;
  char err[ERRLEN];
  int help = 0;
  if (tern_compare_parse_args(argc, argv, &cc, &help, err, sizeof err) != 0) {
    fprintf(stderr, "tern compare: %s\n", err);
    return 2;
  }
  if (help) {
    fputs(tern_compare_usage(), stdout);
    return 0;
  }
  int rc = tern_compare_run(&cc, &res, stdout, err, sizeof err);
  if (rc != 0) {
    fflush(stdout);
    fprintf(stderr, "tern compare: %s\n", err);
    tern_compare_result_free(&res);
    return rc == -2 ? 2 : 1;
  }
  if (cc.report_dir) {
    if (tern_compare_report_write(cc.report_dir, &res, err, sizeof err) != 0) {
      fprintf(stderr, "tern compare: report: %s\n", err);
      rc = 1;
    } else {
      printf("report: %s/compare.html, %s/compare.md (compare.png, bytes.png)\n", cc.report_dir,
             cc.report_dir);
    }
  }
  tern_compare_result_free(&res);
  return rc;
}

/* tern rtl-top: its own flags (runtime/rtl_top.c tern_rtl_top_parse_args). */
static int cmd_rtl_top(int argc, char **argv) {
  tern_rtl_top_config rc;
  char err[ERRLEN], path[1024];
  int help = 0;
  if (tern_rtl_top_parse_args(argc, argv, &rc, &help, err, sizeof err) != 0) {
    fprintf(stderr, "tern rtl-top: %s\n", err);
    return 2;
  }
  if (help) {
    fputs(tern_rtl_top_usage(), stdout);
    return 0;
  }
  if (tern_rtl_top_write_file(&rc, path, sizeof path, err, sizeof err) != 0) {
    fprintf(stderr, "tern rtl-top: %s\n", err);
    return 1;
  }
  char name[256];
  tern_rtl_top_module_name(&rc.hw, name, sizeof name);
  printf("wrote %s: module %s (tern_top %dx%d; lint: verilator --lint-only -Wall --top-module %s "
         "-Irtl rtl/*.sv %s)\n",
         path, rc.module ? rc.module : name, rc.hw.rows, rc.hw.cols, rc.module ? rc.module : name,
         path);
  return 0;
}

/* tern synth: its own flags (runtime/synth.c tern_synth_parse_args). */
static int cmd_synth(int argc, char **argv) {
  tern_synth_opts so;
  tern_synth_result res;
  const char *json = NULL;
  char err[ERRLEN];
  int help = 0;
  if (tern_synth_parse_args(argc, argv, &so, &json, &help, err, sizeof err) != 0) {
    fprintf(stderr, "tern synth: %s\n", err);
    return 2;
  }
  if (help) {
    fputs(tern_synth_usage(), stdout);
    return 0;
  }
  if (tern_synth_run(&so, &res, stderr, err, sizeof err) != 0) {
    fprintf(stderr, "tern synth: %s\n", err);
    return 1;
  }
  tern_synth_print(stdout, &res);
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f || tern_synth_write_json(f, &res) != 0) {
      fprintf(stderr, "tern synth: --json %s: cannot write: %s\n", json, strerror(errno));
      if (f) fclose(f);
      return 1;
    }
    fclose(f);
    printf("json: %s\n", json);
  }
  return res.array_mul_free ? 0 : 1;
}

/* --max-mem BYTES (any command, any position): the model memory budget
 * (tern_model_set_budget); removed from argv before the command parses it.
 * 0 on success, 2 after printing an error. */
static int take_max_mem(int *argc, char **argv) {
  int o = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (!strcmp(a, "--max-mem")) {
      if (i + 1 >= *argc) {
        fprintf(stderr, "tern: --max-mem: missing value, expected a byte count (e.g. 8G)\n");
        return 2;
      }
      v = argv[++i];
    } else if (!strncmp(a, "--max-mem=", 10)) {
      v = a + 10;
    } else {
      argv[o++] = argv[i];
      continue;
    }
    uint64_t b;
    if (tern_parse_size(v, &b) != 0) {
      fprintf(stderr, "tern: --max-mem: '%s', expected a byte count (e.g. 8589934592, 8G; 0 = no "
                      "limit)\n", v);
      return 2;
    }
    tern_model_set_budget(b);
  }
  argv[o] = NULL;
  *argc = o;
  return 0;
}

int main(int argc, char **argv) {
  tern_cli cli;
  char err[ERRLEN];
  if (take_max_mem(&argc, argv)) return 2;
  /* the commands with their own parsers name their configurations on the command line */
  if (argc >= 2 && strcmp(argv[1], "exec") != 0) tern_rtl_build_allow_all(1);
  if (argc >= 2 && !strcmp(argv[1], "compare")) return cmd_compare(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "sweep")) return tern_sweep_main(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "sweep-merge")) return tern_sweep_merge_main(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "synth")) return cmd_synth(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "rtl-top")) return cmd_rtl_top(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "import")) return tern_import_main(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "export")) return tern_export_main(argc, argv);
  if (tern_cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
    fprintf(stderr, "tern: %s\n", err);
    return 2;
  }
  if (cli.cmd == TERN_CMD_NONE) {
    fputs(tern_cli_usage(TERN_CMD_NONE), cli.help ? stdout : stderr);
    return cli.help ? 0 : 2;
  }
  if (cli.help) {
    fputs(tern_cli_usage(cli.cmd), stdout);
    return 0;
  }
  switch (cli.cmd) {
    case TERN_CMD_RUN: return cmd_run(&cli);
    case TERN_CMD_GEN_WEIGHTS: return cmd_gen_weights(&cli);
    case TERN_CMD_COMPILE: return cmd_compile(&cli);
    case TERN_CMD_EXEC: return cmd_exec(&cli);
    case TERN_CMD_ASM: return cmd_asm(&cli);
    case TERN_CMD_DISASM: return cmd_disasm(&cli);
    case TERN_CMD_BENCH_GEMM: return cmd_bench_gemm(&cli);
    case TERN_CMD_MODELS: return cmd_models();
    case TERN_CMD_FIDELITY: return cmd_fidelity(&cli);
    case TERN_CMD_GENERATE: return cmd_generate(&cli);
    default: break;
  }
  fputs(tern_cli_usage(TERN_CMD_NONE), stderr);
  return 2;
}
