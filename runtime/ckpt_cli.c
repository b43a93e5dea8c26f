/* `tern import` / `tern export`: include/tern/ckpt_cli.h. */
#include "tern/ckpt_cli.h"

#include <stdio.h>
#include <string.h>

#include "rt_util.h"
#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/rnn.h"
#include "tern/tfm.h"

#define ERRLEN 1024

typedef struct ckpt_args {
  const char *src, *out;
  tern_ckpt_format fmt;
  int help;
} ckpt_args;

static int parse(int argc, char **argv, const char *cmd, ckpt_args *a, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  a->fmt = TERN_CKPT_SAFETENSORS;
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      a->help = 1;
    } else if (!strcmp(s, "-o") || !strcmp(s, "--format")) {
      if (i + 1 >= argc) return tern_err(err, errlen, "flag %s needs a value", s);
      const char *v = argv[++i];
      if (!strcmp(s, "-o")) {
        a->out = v;
      } else if (!strcmp(v, "safetensors")) {
        a->fmt = TERN_CKPT_SAFETENSORS;
      } else if (!strcmp(v, "gguf")) {
        a->fmt = TERN_CKPT_GGUF;
      } else {
        return tern_err(err, errlen, "--format: '%s', expected safetensors or gguf", v);
      }
    } else if (s[0] == '-') {
      return tern_err(err, errlen, "unknown flag '%s' (tern %s --help)", s, cmd);
    } else if (!a->src) {
      a->src = s;
    } else {
      return tern_err(err, errlen, "unexpected argument '%s' (tern %s --help)", s, cmd);
    }
  }
  return 0;
}

static const char *usage_import =
    "usage: tern import SRC [-o OUT] [--format safetensors|gguf]\n"
    "Read a checkpoint into tern's transformer model (docs/MODELS.md \"Checkpoints\"):\n"
    "  SRC   a directory with config.json and model.safetensors (or a sharded\n"
    "        model.safetensors.index.json), one of those files, or a .gguf file\n"
    "Prints the mapped description, the tensors read and what the import changed\n"
    "(float master weights ternarised with absmean; float embeddings quantised to\n"
    "int8 rows).  With -o, writes the model in tern's layout: a directory\n"
    "(safetensors, default) or a .gguf file.  tern generate --model OUT runs it.\n";

static const char *usage_export =
    "usage: tern export MODEL -o OUT [--format safetensors|gguf]\n"
    "Write a model (transformer or recurrent) as a checkpoint: MODEL is a preset (tern models; seeded\n"
    "weights), a description file or a checkpoint.  safetensors (default): OUT is a\n"
    "directory (model.safetensors + config.json, BitNet b1.58 2B4T tensor layout,\n"
    "tern's description in config.json); gguf: OUT is a .gguf file.  Reading the\n"
    "result back gives the identical model, bit for bit.\n";

/* A transformer or a recurrent model (include/tern/rnn.h). */
typedef struct any_model {
  int rnn;
  tern_tfm_model t;
  tern_rnn_model r;
} any_model;

static int load(const char *src, any_model *m, tern_ckpt_info *info, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  if (tern_ckpt_is_path(src)) {
    char fam[16];
    if (tern_ckpt_family(src, fam, sizeof fam, err, errlen)) return -1;
    m->rnn = !strcmp(fam, "recurrent");
    return m->rnn ? tern_rnn_ckpt_load(src, &m->r, info, err, errlen)
                  : tern_tfm_ckpt_load(src, &m->t, info, err, errlen);
  }
  memset(info, 0, sizeof *info);
  snprintf(info->format, sizeof info->format, "seeded");
  tern_tfm_config c;
  tern_rnn_config rc;
  char e2[512];
  if (!tern_tfm_load_config(src, &c, err, errlen)) return tern_tfm_generate(&c, &m->t, 0, err, errlen);
  if (tern_rnn_load_config(src, &rc, e2, sizeof e2)) return -1; /* the transformer's message */
  m->rnn = 1;
  return tern_rnn_generate(&rc, &m->r, 0, err, errlen);
}

static void any_free(any_model *m) {
  if (m->rnn) tern_rnn_free(&m->r);
  else tern_tfm_free(&m->t);
}

static int run(int argc, char **argv, int import) {
  const char *cmd = import ? "import" : "export";
  ckpt_args a;
  char err[ERRLEN];
  if (parse(argc, argv, cmd, &a, err, sizeof err)) {
    fprintf(stderr, "tern %s: %s\n", cmd, err);
    return 2;
  }
  if (a.help) {
    fputs(import ? usage_import : usage_export, stdout);
    return 0;
  }
  if (!a.src || (!import && !a.out)) {
    fprintf(stderr, "tern %s: %s is required (tern %s --help)\n", cmd,
            !a.src ? (import ? "SRC" : "MODEL") : "-o OUT", cmd);
    return 2;
  }
  if (import && !tern_ckpt_is_path(a.src)) {
    fprintf(stderr, "tern import: %s: not a checkpoint, expected a directory with config.json, a "
                    ".safetensors / .index.json file or a .gguf file\n", a.src);
    return 2;
  }
  any_model m;
  tern_ckpt_info info;
  double t0 = rt_now_ms();
  if (load(a.src, &m, &info, err, sizeof err)) {
    fprintf(stderr, "tern %s: %s\n", cmd, err);
    return 1;
  }
  double t1 = rt_now_ms();
  const char *name = m.rnn ? m.r.cfg.name : m.t.cfg.name;
  if (import) {
    printf("import %s: %s, architecture %s, %d linear layers, %.1f MB of tensor data, read in "
           "%.0f ms\n", a.src, info.format, info.arch, info.tensors, (double)info.file_bytes / 1e6,
           t1 - t0);
    printf("  description: %s\n", info.config_from_tern ? "tern's own (stored in the checkpoint)"
                                                         : "mapped from the checkpoint's fields");
    if (m.rnn) {
      tern_rnn_params p = tern_rnn_param_count(&m.r.cfg);
      printf("  recurrent model; parameters: %llu (ternary %llu, other %llu, embedding %llu, LM "
             "head %llu)\n", (unsigned long long)p.total, (unsigned long long)p.ternary,
             (unsigned long long)p.other, (unsigned long long)p.embedding,
             (unsigned long long)p.lm_head);
    } else {
      tern_tfm_params p = tern_tfm_param_count(&m.t.cfg);
      printf("  parameters: %llu (ternary %llu, norms %llu, embedding %llu, LM head %llu)\n",
             (unsigned long long)p.total, (unsigned long long)p.ternary, (unsigned long long)p.norm,
             (unsigned long long)p.embedding, (unsigned long long)p.lm_head);
    }
    printf("  linears ternarised at import: %d; embedding tables quantised to int8 rows: %d\n",
           info.ternarised, info.quantised_rows);
    if (info.note[0]) printf("  note: %s\n", info.note);
    printf("--- tern model description ---\n");
    if (m.rnn) tern_rnn_print(stdout, &m.r.cfg);
    else tern_tfm_print(stdout, &m.t.cfg);
  }
  int rc = 0;
  if (a.out) {
    int e = m.rnn ? tern_rnn_ckpt_save(&m.r, a.out, a.fmt, err, sizeof err)
                  : tern_tfm_ckpt_save(&m.t, a.out, a.fmt, err, sizeof err);
    if (e) {
      fprintf(stderr, "tern %s: %s\n", cmd, err);
      rc = 1;
    } else {
      printf("wrote %s (%s) in %.0f ms: '%s'\n", a.out,
             a.fmt == TERN_CKPT_GGUF ? "gguf" : "safetensors: model.safetensors + config.json",
             rt_now_ms() - t1, name);
    }
  }
  any_free(&m);
  return rc;
}

int tern_import_main(int argc, char **argv) { return run(argc, argv, 1); }
int tern_export_main(int argc, char **argv) { return run(argc, argv, 0); }
