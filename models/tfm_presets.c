/* Built-in transformer presets.  Each preset is a text in the model
 * description format (docs/MODELS.md) and goes through the same parser and
 * checks as a user's file: one code path, and `tern_tfm_preset_text` prints
 * exactly what a user would write.  They are C strings rather than files
 * under models/presets/ so that the library needs no data directory at run
 * time (the CLI and the tests work from any working directory). */
#include "tern/ckpt.h"
#include "tern/err.h"
#include "tern/tfm.h"

#include <string.h>

#include "model_common.h"

typedef tern_mc_preset preset;

#define P(name, body) {name, "[model]\nname = " name "\n" body}

static const preset presets[] = {
    P("tiny",
      "source = tern: byte-level (bGPT-style vocab 256) BitNet b1.58 2B4T layout in miniature, "
      "default of make demo\n"
      "vocab = 256\ndim = 64\nlayers = 4\nheads = 4\nkv_heads = 2\nffn = 192\n"
      "ffn_type = relu2_glu\nnorm = rmsnorm\nsubln = true\nrope_theta = 10000\n"
      "tie_embeddings = true\nmax_seq = 256\nseed = 1\n"),
    P("bitnet-b1.58-700m",
      "source = Ma et al. 2024 The Era of 1-bit LLMs arXiv:2402.17764 Table 1 (shapes: "
      "1bitLLM/bitnet_b1_58-large config)\n"
      "vocab = 32002\ndim = 1536\nlayers = 24\nheads = 16\nffn = 4096\nffn_type = swiglu\n"
      "rope_theta = 10000\ntie_embeddings = true\nmax_seq = 2048\n"),
    P("bitnet-b1.58-1.3b",
      "source = Ma et al. 2024 The Era of 1-bit LLMs arXiv:2402.17764 Table 1 (shapes: "
      "1bitLLM/bitnet_b1_58-xl config)\n"
      "vocab = 32002\ndim = 2048\nlayers = 24\nheads = 32\nffn = 5460\nffn_type = swiglu\n"
      "rope_theta = 10000\ntie_embeddings = true\nmax_seq = 2048\n"),
    P("bitnet-b1.58-3b",
      "source = Ma et al. 2024 The Era of 1-bit LLMs arXiv:2402.17764 Table 1 (shapes: "
      "1bitLLM/bitnet_b1_58-3B config)\n"
      "vocab = 32002\ndim = 3200\nlayers = 26\nheads = 32\nffn = 8640\nffn_type = swiglu\n"
      "rope_theta = 10000\ntie_embeddings = true\nmax_seq = 2048\n"),
    P("bitnet-b1.58-2b4t",
      "source = Ma et al. 2025 BitNet b1.58 2B4T Technical Report arXiv:2504.12285 "
      "(microsoft/bitnet-b1.58-2B-4T config)\n"
      "vocab = 128256\ndim = 2560\nlayers = 30\nheads = 20\nkv_heads = 5\nffn = 6912\n"
      "ffn_type = relu2_glu\nsubln = true\nrope_theta = 500000\ntie_embeddings = true\n"
      "max_seq = 4096\n"),
    P("mobilellm-125m",
      "source = Liu et al. 2024 MobileLLM arXiv:2402.14905 (model configuration table)\n"
      "vocab = 32000\ndim = 576\nlayers = 30\nheads = 9\nkv_heads = 3\nffn = 1536\n"
      "ffn_type = swiglu\nrope_theta = 10000\ntie_embeddings = true\nmax_seq = 2048\n"),
    P("mobilellm-125m-ls",
      "source = Liu et al. 2024 MobileLLM arXiv:2402.14905 (LS: immediate block-wise weight "
      "sharing, every block runs twice)\n"
      "vocab = 32000\ndim = 576\nlayers = 30\nheads = 9\nkv_heads = 3\nffn = 1536\n"
      "ffn_type = swiglu\nrope_theta = 10000\ntie_embeddings = true\nrepeat = 2\n"
      "max_seq = 2048\n"),
    P("mobilellm-350m",
      "source = Liu et al. 2024 MobileLLM arXiv:2402.14905 (model configuration table)\n"
      "vocab = 32000\ndim = 960\nlayers = 32\nheads = 15\nkv_heads = 5\nffn = 2560\n"
      "ffn_type = swiglu\nrope_theta = 10000\ntie_embeddings = true\nmax_seq = 2048\n"),
    P("mobilellm-350m-ls",
      "source = Liu et al. 2024 MobileLLM arXiv:2402.14905 (LS: immediate block-wise weight "
      "sharing, every block runs twice)\n"
      "vocab = 32000\ndim = 960\nlayers = 32\nheads = 15\nkv_heads = 5\nffn = 2560\n"
      "ffn_type = swiglu\nrope_theta = 10000\ntie_embeddings = true\nrepeat = 2\n"
      "max_seq = 2048\n"),
    P("mobillama-0.5b",
      "source = Thawakar et al. 2024 MobiLlama arXiv:2402.16840 (MBZUAI/MobiLlama-05B config, "
      "one FFN shared by all blocks)\n"
      "vocab = 32000\ndim = 2048\nlayers = 22\nheads = 32\nkv_heads = 4\nffn = 5632\n"
      "ffn_type = swiglu\nshare_ffn = true\nrope_theta = 10000\ntie_embeddings = false\n"
      "max_seq = 2048\n"),
    P("nemotron4-style-tiny",
      "source = Parmar et al. 2024 Nemotron-4 15B arXiv:2402.16819 block (squared ReLU GQA "
      "untied embeddings no biases) at byte-level tiny size\n"
      "vocab = 256\ndim = 128\nlayers = 4\nheads = 8\nkv_heads = 2\nffn = 512\n"
      "ffn_type = relu2\nnorm = layernorm\nnorm_bias = false\nrope_theta = 10000\n"
      "tie_embeddings = false\nmax_seq = 256\n"),
    P("starcoder2-style-tiny",
      "source = Lozhkov et al. 2024 StarCoder 2 arXiv:2402.19173 block (sliding-window GQA "
      "LayerNorm with bias GELU) at byte-level tiny size\n"
      "vocab = 256\ndim = 128\nlayers = 4\nheads = 8\nkv_heads = 2\nffn = 512\n"
      "ffn_type = gelu\nnorm = layernorm\nnorm_bias = true\nrope_theta = 100000\nwindow = 64\n"
      "tie_embeddings = true\nmax_seq = 256\n"),
};

#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

int tern_tfm_preset_count(void) { return NPRESETS; }

const char *tern_tfm_preset_name(int i) { return tern_mc_preset_name(presets, NPRESETS, i); }

const char *tern_tfm_preset_text(int i) { return tern_mc_preset_text(presets, NPRESETS, i); }

const char *tern_tfm_default_preset(void) { return "tiny"; }

static int parse_text(const char *text, const char *what, void *cfg, char *err,
                      size_t errlen) {
  return tern_tfm_parse_string(text, what, cfg, err, errlen);
}

int tern_tfm_preset(const char *name, tern_tfm_config *c, char *err, size_t errlen) {
  if (!name || !c) return tern_err(err, errlen, "tern_tfm_preset: null argument");
  return tern_mc_preset_parse(presets, NPRESETS, "model", name, parse_text, c, err, errlen);
}

int tern_tfm_load_config(const char *name_or_path, tern_tfm_config *c, char *err,
                         size_t errlen) {
  if (!name_or_path || !c) return tern_err(err, errlen, "tern_tfm_load_config: null argument");
  if (tern_ckpt_is_path(name_or_path)) return tern_tfm_ckpt_config(name_or_path, c, NULL, err, errlen);
  if (tern_mc_is_file_name(presets, NPRESETS, name_or_path))
    return tern_tfm_parse_file(name_or_path, c, err, errlen);
  return tern_tfm_preset(name_or_path, c, err, errlen); /* a preset or the unknown-model message */
}

int tern_tfm_list_presets(FILE *f) {
  fprintf(f, "transformer presets (params: total = ternary blocks + norms + embedding + "
             "untied LM head; repeated/shared weights once)\n");
  fprintf(f, "%-22s %9s %9s  %-44s %s\n", "name", "params", "non-emb", "shape", "source");
  for (int i = 0; i < NPRESETS; i++) {
    tern_tfm_config c;
    char err[256];
    if (tern_tfm_preset(presets[i].name, &c, err, sizeof err)) {
      fprintf(f, "%-22s  (invalid: %s)\n", presets[i].name, err);
      continue;
    }
    tern_tfm_params p = tern_tfm_param_count(&c);
    char tot[32], ne[32], shape[128];
    tern_mc_human(tot, sizeof tot, p.total);
    tern_mc_human(ne, sizeof ne, p.non_embedding);
    snprintf(shape, sizeof shape, "L%d%s d%d h%d/kv%d ffn%d %s%s%s%s v%d", c.layers,
             c.repeat > 1 ? "x2" : "", c.dim, c.heads, c.kv_heads, c.ffn,
             tern_ffn_type_name(c.ffn_type), c.subln ? " subln" : "",
             c.share_ffn ? " shared-ffn" : "", c.window ? " swa" : "", c.vocab);
    if (c.repeat > 2) snprintf(shape, sizeof shape, "L%dx%d d%d", c.layers, c.repeat, c.dim);
    fprintf(f, "%-22s %9s %9s  %-44s %s%s\n", c.name, tot, ne, shape, c.source,
            !strcmp(c.name, tern_tfm_default_preset()) ? " [default]" : "");
  }
  return 0;
}
