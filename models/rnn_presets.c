/* Built-in recurrent presets (issue 4): texts in the model description
 * format, parsed by the same code as a user's file (docs/MODELS.md
 * "Recurrent models (issue 4)" lists the numbers and where they come from). */
#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/rnn.h"

#include <string.h>

#include "model_common.h"

typedef tern_mc_preset preset;

#define P(name, body) {name, "[model]\nname = " name "\n" body}

static const preset presets[] = {
    P("hawk-tiny",
      "source = tern: byte-level Hawk (De et al. 2024 arXiv:2402.19427) in miniature for tests "
      "and demos\n"
      "arch = hawk\nvocab = 256\ndim = 64\nlayers = 3\nheads = 4\nlru_width = 96\n"
      "conv_width = 4\nffn = 192\nmax_seq = 65536\nseed = 1\n"),
    P("griffin-tiny",
      "source = tern: byte-level Griffin (De et al. 2024 arXiv:2402.19427) in miniature for "
      "tests and demos\n"
      "arch = griffin\nvocab = 256\ndim = 64\nlayers = 3\nheads = 4\nlru_width = 96\n"
      "conv_width = 4\nffn = 192\nwindow = 32\npattern = rra\nmax_seq = 65536\nseed = 1\n"),
    P("matmulfree-tiny",
      "source = tern: byte-level MatMul-free LM (Zhu et al. 2024 arXiv:2406.02528 HGRN-Bit "
      "MLGRU + GLU) in miniature\n"
      "arch = mlgru\nvocab = 256\ndim = 64\nlayers = 3\nheads = 1\nlru_width = 64\nffn = 192\n"
      "tie_embeddings = false\nmax_seq = 65536\nseed = 1\n"),
    P("hawk-100m",
      "source = De et al. 2024 Griffin arXiv:2402.19427 Appendix C Table 2 (100M: width 768 "
      "RNN width 1024 depth 12 MLP x3) vocab of RecurrentGemma\n"
      "arch = hawk\nvocab = 256000\ndim = 768\nlayers = 12\nheads = 8\nlru_width = 1024\n"
      "conv_width = 4\nffn = 2304\n"),
    P("griffin-100m",
      "source = De et al. 2024 Griffin arXiv:2402.19427 Appendix C Table 2 (100M: width 768 "
      "RNN width 1024 depth 12 MLP x3 6 heads window 1024)\n"
      "arch = griffin\nvocab = 256000\ndim = 768\nlayers = 12\nheads = 6\nlru_width = 1024\n"
      "lru_block = 128\nconv_width = 4\nffn = 2304\nwindow = 1024\npattern = rra\n"),
    P("hawk-1b",
      "source = De et al. 2024 Griffin arXiv:2402.19427 Appendix C Table 2 (1B: width 2048 RNN "
      "width 2560 depth 18 MLP x3) vocab of RecurrentGemma\n"
      "arch = hawk\nvocab = 256000\ndim = 2048\nlayers = 18\nheads = 20\nlru_width = 2560\n"
      "conv_width = 4\nffn = 6144\n"),
    P("griffin-1b",
      "source = De et al. 2024 Griffin arXiv:2402.19427 Appendix C Table 2 (1B: width 2048 RNN "
      "width 2560 depth 18 MLP x3 16 heads window 1024)\n"
      "arch = griffin\nvocab = 256000\ndim = 2048\nlayers = 18\nheads = 16\nlru_width = 2560\n"
      "lru_block = 128\nconv_width = 4\nffn = 6144\nwindow = 1024\npattern = rra\n"),
    P("matmulfree-370m",
      "source = Zhu et al. 2024 Scalable MatMul-free Language Modeling arXiv:2406.02528 "
      "(ridger/MMfreeLM-370M config: HGRN-Bit)\n"
      "arch = mlgru\nvocab = 32000\ndim = 1024\nlayers = 24\nheads = 1\nlru_width = 1024\n"
      "ffn = 2816\ntie_embeddings = false\nmax_seq = 65536\neps = 1e-6\n"),
};

#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

int tern_rnn_preset_count(void) { return NPRESETS; }

const char *tern_rnn_preset_name(int i) { return tern_mc_preset_name(presets, NPRESETS, i); }

const char *tern_rnn_preset_text(int i) { return tern_mc_preset_text(presets, NPRESETS, i); }

const char *tern_rnn_default_preset(void) { return "griffin-tiny"; }

static int parse_text(const char *text, const char *what, void *cfg, char *err,
                      size_t errlen) {
  return tern_rnn_parse_string(text, what, cfg, err, errlen);
}

int tern_rnn_preset(const char *name, tern_rnn_config *c, char *err, size_t errlen) {
  if (!name || !c) return tern_err(err, errlen, "tern_rnn_preset: null argument");
  return tern_mc_preset_parse(presets, NPRESETS, "recurrent model", name, parse_text, c, err, errlen);
}

int tern_rnn_load_config(const char *name_or_path, tern_rnn_config *c, char *err,
                         size_t errlen) {
  if (name_or_path && c && tern_ckpt_is_path(name_or_path))
    return tern_rnn_ckpt_config(name_or_path, c, NULL, err, errlen);
  if (!name_or_path || !c) return tern_err(err, errlen, "tern_rnn_load_config: null argument");
  if (tern_mc_is_file_name(presets, NPRESETS, name_or_path))
    return tern_rnn_parse_file(name_or_path, c, err, errlen);
  return tern_rnn_preset(name_or_path, c, err, errlen); /* a preset or the unknown-model message */
}

int tern_rnn_list_presets(FILE *f) {
  fprintf(f, "recurrent presets (params: total = ternary + float (norms, conv, gate biases, "
             "Lambda) + embedding + untied LM head)\n");
  fprintf(f, "%-18s %9s %9s %9s  %-58s %s\n", "name", "params", "non-emb", "state", "shape",
          "source");
  for (int i = 0; i < NPRESETS; i++) {
    tern_rnn_config c;
    char err[256];
    if (tern_rnn_preset(presets[i].name, &c, err, sizeof err)) {
      fprintf(f, "%-18s  (invalid: %s)\n", presets[i].name, err);
      continue;
    }
    tern_rnn_params p = tern_rnn_param_count(&c);
    char tot[32], ne[32], st[32], shape[128];
    tern_mc_human(tot, sizeof tot, p.total);
    tern_mc_human(ne, sizeof ne, p.non_embedding);
    tern_mc_human(st, sizeof st, tern_rnn_state_floats(&c));
    char win[24] = "";
    if (c.arch == TERN_RNN_GRIFFIN) snprintf(win, sizeof win, " win%d", c.window);
    if (c.arch == TERN_RNN_MLGRU)
      snprintf(shape, sizeof shape, "mlgru L%d d%d w%d ffn%d v%d", c.layers, c.dim, c.lru_width,
               c.ffn, c.vocab);
    else
      snprintf(shape, sizeof shape, "%s %s L%d d%d lru%d/%d h%d ffn%d%s v%d",
               tern_rnn_arch_name(c.arch), c.pattern, c.layers, c.dim, c.lru_width, c.lru_block,
               c.heads, c.ffn, win, c.vocab);
    fprintf(f, "%-18s %9s %9s %9s  %-58s %s%s\n", c.name, tot, ne, st, shape, c.source,
            !strcmp(c.name, tern_rnn_default_preset()) ? " [default]" : "");
  }
  fprintf(f, "(state: recurrent state in floats, constant in the context)\n");
  return 0;
}
