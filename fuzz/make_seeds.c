/* Writes the seed corpora of the libFuzzer harnesses: fuzz/corpus/<harness>/
 * (`make fuzz-seeds`, docs/FUZZING.md).  Seeds are small on purpose (a few
 * KB each: libFuzzer mutates small inputs faster, and the repository stays
 * small): random valid programs and a compiled MLP at 4x4 / 8x8, the MLP's
 * weight file, every transformer and recurrent preset's description,
 * transformer and recurrent checkpoints of minimal shapes in both formats
 * (one GGUF with a SentencePiece and one with a BPE vocabulary), point and
 * synthesis JSON files.  Files copied from tests/ and reports/ (asm text,
 * .tbin, tokenizer.json, the sweep spec) are added by the make target.
 * Built with the normal library (gcc); deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "tern/ckpt.h"
#include "tern/compiler.h"
#include "tern/gguf.h"
#include "tern/isa.h"
#include "tern/mlp.h"
#include "tern/program.h"
#include "tern/rnn.h"
#include "tern/sweep.h"
#include "tern/synth.h"
#include "tern/tfm.h"

static const char *root;
static char err[2048];

static void die(const char *what) {
  fprintf(stderr, "make_seeds: %s: %s\n", what, err[0] ? err : strerror(errno));
  exit(1);
}

static const char *pathf(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = snprintf(buf, n, "%s/", root);
  vsnprintf(buf + k, n - (size_t)k, fmt, ap);
  va_end(ap);
  char d[1024];
  snprintf(d, sizeof d, "%s", buf);
  char *s = strrchr(d, '/');
  if (s) {
    *s = 0;
    for (char *p = d + strlen(root) + 1; *p; p++)
      if (*p == '/') {
        *p = 0;
        mkdir(d, 0755);
        *p = '/';
      }
    mkdir(d, 0755);
  }
  return buf;
}

static void put(const char *path, const void *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f)) die(path);
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *d = malloc((size_t)sz + 1);
  if (!d || fread(d, 1, (size_t)sz, f) != (size_t)sz) die(path);
  fclose(f);
  d[sz] = 0;
  *n = (size_t)sz;
  return d;
}

/* parts joined with fuzz.h's separator */
static void put_parts(const char *path, int np, const char *const *part, const size_t *len) {
  FILE *f = fopen(path, "wb");
  if (!f) die(path);
  for (int i = 0; i < np; i++) {
    if (i) fputs(FZ_SEP, f);
    fwrite(part[i], 1, len[i], f);
  }
  if (fclose(f)) die(path);
}

/* ---- programs ---------------------------------------------------------------------- */

static void program_seeds(const tern_program *p, int sel, const char *name) {
  char path[1024];
  /* exec: the words and the configuration byte */
  size_t n = p->n_insns;
  uint8_t *w = malloc(n * 16 + 1);
  for (size_t i = 0; i < n; i++) {
    tern_word x;
    if (tern_encode(&p->insns[i], &x, err, sizeof err)) die("encode");
    for (int b = 0; b < 16; b++) w[16 * i + (size_t)b] = (uint8_t)(x.w[b / 8] >> (8 * (b % 8)));
  }
  w[n * 16] = (uint8_t)sel;
  put(pathf(path, sizeof path, "fuzz_exec/%s.bin", name), w, n * 16 + (sel ? 1 : 0));
  free(w);
  /* asm: the disassembly */
  FILE *f = fopen(pathf(path, sizeof path, "fuzz_asm/%s.s", name), "w");
  if (!f) die(path);
  for (size_t i = 0; i < n; i++) {
    char line[512];
    tern_disasm_insn(&p->insns[i], line, sizeof line);
    fprintf(f, "%s\n", line);
  }
  fclose(f);
  /* tbin */
  if (tern_program_write(p, pathf(path, sizeof path, "fuzz_tbin/%s.tbin", name), err, sizeof err)) die(path);
}

static void programs(void) {
  static const struct { int r, c, sel, n; uint64_t seed; } rp[] = {
      {4, 4, 0, 12, 1}, {4, 4, 0, 40, 2}, {8, 8, 1, 24, 3}, {8, 8, 2, 24, 4}};
  for (size_t i = 0; i < sizeof rp / sizeof rp[0]; i++) {
    tern_hwcfg cfg = tern_hwcfg_small(rp[i].r, rp[i].c);
    if (rp[i].sel == 2) cfg.psum_bits = -1;
    cfg.dram_bytes = 1u << 20;
    tern_program p;
    if (tern_random_program(&cfg, rp[i].seed, rp[i].n, &p, err, sizeof err)) die("random program");
    char name[64];
    snprintf(name, sizeof name, "random_%dx%d_%zu", rp[i].r, rp[i].c, i);
    program_seeds(&p, rp[i].sel, name);
    tern_program_free(&p);
  }
  /* the MLP at 4x4: its weight file and its program */
  tern_mlp_config mc = {.d = 8, .f = 16, .layers = 1, .act = TERN_ACT_RELU2, .seed = 3, .eps = 1e-5f};
  tern_mlp_model m;
  tern_qmlp q;
  if (tern_mlp_generate(&mc, &m, err, sizeof err) || tern_mlp_quantize(&m, &q, err, sizeof err)) die("mlp");
  char path[1024];
  if (tern_mlp_save(&m, pathf(path, sizeof path, "fuzz_weights/mlp_d8_f16.twt"), err, sizeof err)) die(path);
  tern_mlp_config mc2 = {.d = 4, .f = 8, .layers = 2, .act = TERN_ACT_SILU, .seed = 5, .eps = 1e-5f};
  tern_mlp_model m2;
  if (tern_mlp_generate(&mc2, &m2, err, sizeof err) ||
      tern_mlp_save(&m2, pathf(path, sizeof path, "fuzz_weights/mlp_d4_f8_l2.twt"), err, sizeof err))
    die("mlp 2");
  tern_mlp_free(&m2);
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);
  cfg.dram_bytes = 1u << 20;
  tern_compile_opts o = {.tokens = 2, .dump_after = NULL, .dump_to = NULL};
  tern_program p;
  if (tern_compile_mlp(&q, &cfg, &o, &p, err, sizeof err)) die("compile mlp");
  program_seeds(&p, 0, "mlp_4x4");
  tern_program_free(&p);
  tern_qmlp_free(&q);
  tern_mlp_free(&m);
}

/* ---- descriptions ------------------------------------------------------------------- */

static void descriptions(void) {
  char path[1024];
  for (int i = 0; i < tern_tfm_preset_count(); i++) {
    const char *t = tern_tfm_preset_text(i);
    put(pathf(path, sizeof path, "fuzz_tfm_desc/preset%02d.tern", i), t, strlen(t));
  }
  for (int i = 0; i < tern_rnn_preset_count(); i++) {
    const char *t = tern_rnn_preset_text(i);
    put(pathf(path, sizeof path, "fuzz_rnn_desc/preset%02d.tern", i), t, strlen(t));
  }
}

/* ---- checkpoints -------------------------------------------------------------------- */

static const char *kTfm[] = {
    /* tern's own layout, GQA, SubLN, tied */
    "[model]\nname = seed-a\nvocab = 24\ndim = 8\nlayers = 1\nheads = 2\nkv_heads = 1\nffn = 16\n"
    "ffn_type = relu2_glu\nsubln = true\nmax_seq = 16\nseed = 1\n",
    /* LayerNorm with bias, GELU, untied, a window */
    "[model]\nname = seed-b\nvocab = 20\ndim = 8\nlayers = 2\nheads = 2\nffn = 16\nffn_type = gelu\n"
    "norm = layernorm\nnorm_bias = true\ntie_embeddings = false\nwindow = 8\nmax_seq = 16\nseed = 2\n",
};
static const char *kRnn[] = {
    "[model]\nname = seed-hawk\narch = hawk\nvocab = 20\ndim = 8\nlayers = 1\nheads = 2\nlru_width = 8\n"
    "conv_width = 2\nffn = 16\nmax_seq = 16\nseed = 1\n",
    "[model]\nname = seed-griffin\narch = griffin\nvocab = 20\ndim = 8\nlayers = 2\nheads = 2\n"
    "lru_width = 8\nconv_width = 2\nffn = 16\nwindow = 4\npattern = ra\nmax_seq = 16\nseed = 2\n",
    "[model]\nname = seed-mlgru\narch = mlgru\nvocab = 20\ndim = 8\nlayers = 1\nheads = 1\n"
    "lru_width = 8\nffn = 16\ntie_embeddings = false\nmax_seq = 16\nseed = 3\n",
};

/* The exported GGUF again with a tokenizer vocabulary added (kind "llama":
 * SentencePiece pieces with scores; "gpt2": byte-level BPE with merges). */
static void gguf_add_vocab(const char *in, const char *out, const char *kind) {
  tern_gguf *g = tern_gguf_open(in, err, sizeof err);
  if (!g) die(in);
  tern_gguf_writer *w = tern_gguf_writer_new();
  for (size_t i = 0; i < tern_gguf_n_kv(g); i++) {
    const tern_gguf_kv *kv = tern_gguf_kv_at(g, i);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
    int rc;
    if (kv->type == TERN_GGUF_STRING) {
      rc = tern_gguf_add_str(w, key, (const char *)kv->data, kv->nbytes, err, sizeof err);
    } else if (kv->type == TERN_GGUF_ARRAY && kv->elem_type == TERN_GGUF_STRING) {
      const char **s = calloc(kv->count + 1, sizeof *s);
      size_t *l = calloc(kv->count + 1, sizeof *l);
      for (uint64_t j = 0; j < kv->count; j++) {
        tern_gguf_str x;
        if (tern_gguf_arr_str(g, key, j, &x, err, sizeof err)) die(key);
        s[j] = x.ptr;
        l[j] = x.len;
      }
      rc = tern_gguf_add_arr_str(w, key, s, l, kv->count, err, sizeof err);
      free(s);
      free(l);
    } else if (kv->type == TERN_GGUF_ARRAY) {
      void *v = malloc(kv->nbytes + 1);
      memcpy(v, kv->data, kv->nbytes);
      rc = tern_gguf_add_arr(w, key, kv->elem_type, v, kv->count, err, sizeof err);
      free(v);
    } else {
      uint64_t v = 0;
      memcpy(&v, kv->data, kv->nbytes < 8 ? kv->nbytes : 8);
      rc = tern_gguf_add_scalar(w, key, kv->type, &v, err, sizeof err);
    }
    if (rc) die(key);
  }
  if (!strcmp(kind, "llama")) {
    const char *pieces[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "h", "e", "l", "o",
                            "\xe2\x96\x81h", "ll", "\xe2\x96\x81he", "llo", "\xe2\x96\x81hello", "<0x41>"};
    float scores[] = {0, 0, 0, -10, -10, -10, -10, -10, -1, -2, -3, -4, -5, 0};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6};
    if (tern_gguf_add_str(w, "tokenizer.ggml.model", "llama", 5, err, sizeof err) ||
        tern_gguf_add_arr_str(w, "tokenizer.ggml.tokens", pieces, NULL, 14, err, sizeof err) ||
        tern_gguf_add_arr(w, "tokenizer.ggml.scores", TERN_GGUF_F32, scores, 14, err, sizeof err) ||
        tern_gguf_add_arr(w, "tokenizer.ggml.token_type", TERN_GGUF_I32, types, 14, err, sizeof err) ||
        tern_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1, err, sizeof err) ||
        tern_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2, err, sizeof err) ||
        tern_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0, err, sizeof err))
      die("spm vocab");
  } else {
    /* GPT-2 alphabet: space is \xc4\xa0 */
    const char *pieces[] = {"h", "e", "l", "o", "\xc4\xa0", "he", "ll", "llo", "hello", "\xc4\xa0h",
                            "<|endoftext|>"};
    const char *merges[] = {"h e", "l l", "ll o", "he llo", "\xc4\xa0 h"};
    int32_t types[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3};
    if (tern_gguf_add_str(w, "tokenizer.ggml.model", "gpt2", 4, err, sizeof err) ||
        tern_gguf_add_str(w, "tokenizer.ggml.pre", "gpt-2", 5, err, sizeof err) ||
        tern_gguf_add_arr_str(w, "tokenizer.ggml.tokens", pieces, NULL, 11, err, sizeof err) ||
        tern_gguf_add_arr(w, "tokenizer.ggml.token_type", TERN_GGUF_I32, types, 11, err, sizeof err) ||
        tern_gguf_add_arr_str(w, "tokenizer.ggml.merges", merges, NULL, 5, err, sizeof err) ||
        tern_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 10, err, sizeof err))
      die("bpe vocab");
  }
  for (size_t i = 0; i < tern_gguf_n_tensors(g); i++) {
    const tern_gguf_tensor *t = tern_gguf_tensor_at(g, i);
    if (tern_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, err, sizeof err))
      die(t->name);
  }
  if (tern_gguf_write(w, out, err, sizeof err)) die(out);
  tern_gguf_writer_free(w);
  tern_gguf_close(g);
}

/* one exported checkpoint -> seeds of fuzz_gguf / fuzz_ckpt_gguf or
 * fuzz_safetensors / fuzz_ckpt_st */
static void ckpt_seeds(const char *tmp, const char *name, int fmt) {
  char path[1024], src[1024];
  size_t n;
  if (fmt == TERN_CKPT_GGUF) {
    snprintf(src, sizeof src, "%s/%s.gguf", tmp, name);
    char *d = slurp(src, &n);
    put(pathf(path, sizeof path, "fuzz_gguf/%s.gguf", name), d, n);
    put(pathf(path, sizeof path, "fuzz_ckpt_gguf/%s.gguf", name), d, n);
    free(d);
  } else {
    char cj[1024], st[1024];
    snprintf(cj, sizeof cj, "%s/%s/config.json", tmp, name);
    snprintf(st, sizeof st, "%s/%s/model.safetensors", tmp, name);
    size_t lc, ls;
    char *c = slurp(cj, &lc), *s = slurp(st, &ls);
    put(pathf(path, sizeof path, "fuzz_safetensors/%s.safetensors", name), s, ls);
    const char *part[2] = {c, s};
    size_t len[2] = {lc, ls};
    put_parts(pathf(path, sizeof path, "fuzz_ckpt_st/%s", name), 2, part, len);
    free(c);
    free(s);
  }
}

static void checkpoints(const char *tmp) {
  char out[1024];
  for (size_t i = 0; i < sizeof kTfm / sizeof kTfm[0]; i++) {
    tern_tfm_config c;
    tern_tfm_model m;
    if (tern_tfm_parse_string(kTfm[i], "seed", &c, err, sizeof err) || tern_tfm_generate(&c, &m, 0, err, sizeof err))
      die("tfm seed");
    for (int fmt = 0; fmt < 2; fmt++) {
      snprintf(out, sizeof out, "%s/%s%s", tmp, c.name, fmt ? ".gguf" : "");
      if (tern_tfm_ckpt_save(&m, out, (tern_ckpt_format)fmt, err, sizeof err)) die(out);
      ckpt_seeds(tmp, c.name, fmt);
    }
    tern_tfm_free(&m);
  }
  for (size_t i = 0; i < sizeof kRnn / sizeof kRnn[0]; i++) {
    tern_rnn_config c;
    tern_rnn_model m;
    if (tern_rnn_parse_string(kRnn[i], "seed", &c, err, sizeof err) || tern_rnn_generate(&c, &m, 0, err, sizeof err))
      die("rnn seed");
    for (int fmt = 0; fmt < 2; fmt++) {
      snprintf(out, sizeof out, "%s/%s%s", tmp, c.name, fmt ? ".gguf" : "");
      if (tern_rnn_ckpt_save(&m, out, (tern_ckpt_format)fmt, err, sizeof err)) die(out);
      ckpt_seeds(tmp, c.name, fmt);
    }
    tern_rnn_free(&m);
  }
  /* GGUFs with a vocabulary (the tokenizer of a checkpoint) */
  char in[1024], path[1024];
  snprintf(in, sizeof in, "%s/seed-a.gguf", tmp);
  snprintf(out, sizeof out, "%s/seed-a-spm.gguf", tmp);
  gguf_add_vocab(in, out, "llama");
  ckpt_seeds(tmp, "seed-a-spm", TERN_CKPT_GGUF);
  snprintf(out, sizeof out, "%s/seed-a-bpe.gguf", tmp);
  gguf_add_vocab(in, out, "gpt2");
  ckpt_seeds(tmp, "seed-a-bpe", TERN_CKPT_GGUF);
  /* a safetensors checkpoint with a tokenizer.json (parts: config, model, tokenizer) */
  char cj[1024], st[1024], tj[1024];
  snprintf(cj, sizeof cj, "%s/seed-a/config.json", tmp);
  snprintf(st, sizeof st, "%s/seed-a/model.safetensors", tmp);
  snprintf(tj, sizeof tj, "%s/tests/tokenizer_data/gpt2_tiny.json", TERN_ROOT);
  size_t lc, ls, lt;
  char *c = slurp(cj, &lc), *s = slurp(st, &ls), *t = slurp(tj, &lt);
  const char *part[3] = {c, s, t};
  size_t len[3] = {lc, ls, lt};
  (void)path;
  put_parts(pathf(path, sizeof path, "fuzz_ckpt_st/seed-a-tokenizer"), 3, part, len);
  /* a sharded safetensors: an index naming two shards (fuzz_safetensors' parts) */
  static const char idx[] =
      "{\"metadata\": {\"total_size\": 8}, \"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}";
  static const char s1[] = "\x30\x00\x00\x00\x00\x00\x00\x00"
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}  "
                           "\x00\x00\x80\x3f";
  static const char s2[] = "\x30\x00\x00\x00\x00\x00\x00\x00"
                           "{\"b\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]}}  "
                           "\x01\xff\x00\x01";
  const char *sp[3] = {idx, s1, s2};
  size_t sl[3] = {sizeof idx - 1, sizeof s1 - 1, sizeof s2 - 1};
  put_parts(pathf(path, sizeof path, "fuzz_safetensors/sharded"), 3, sp, sl);
  free(c);
  free(s);
  free(t);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void json(void) {
  char path[1024];
  tern_sweep_point p;
  memset(&p, 0, sizeof p);
  p.index = 3;
  snprintf(p.label, sizeof p.label, "array=4x4 dram_bw=4");
  p.rows = 4;
  p.cols = 4;
  p.decode_cycles = 12345;
  p.decode_tokens_per_s = 1.5e4;
  snprintf(p.synth_target, sizeof p.synth_target, "ice40");
  p.synth_luts = 2635;
  p.rtl_validated = 1;
  snprintf(p.rtl_note, sizeof p.rtl_note, "every counter equal");
  FILE *f = fopen(pathf(path, sizeof path, "fuzz_json/point.json"), "w");
  if (!f || tern_sweep_point_write(f, &p) || fclose(f)) die(path);
  tern_synth_result r;
  memset(&r, 0, sizeof r);
  r.target = TERN_SYNTH_ICE40;
  snprintf(r.device, sizeof r.device, "hx8k");
  r.hw = tern_hwcfg_small(4, 4);
  r.unit[TERN_SYNTH_U_TOTAL].luts = 4000;
  r.unit[0].luts = 2635;
  r.unit[0].carries = 1984;
  r.mem[TERN_SYNTH_M_ACC].brams = 8;
  r.luts_per_pe = 41.2;
  r.array_mul_free = 1;
  r.fmax_mhz = 113.5;
  snprintf(r.timing_source, sizeof r.timing_source, "icetime after nextpnr-ice40 --hx8k");
  snprintf(r.critical_path, sizeof r.critical_path, "weight register -> psum register");
  r.logic_depth = -1;
  r.fits = 1;
  r.seconds = 4.5;
  f = fopen(pathf(path, sizeof path, "fuzz_json/synth.json"), "w");
  if (!f || tern_synth_write_json(f, &r) || fclose(f)) die(path);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_seeds CORPUS_DIR SCRATCH_DIR\n");
    return 2;
  }
  root = argv[1];
  mkdir(root, 0755);
  mkdir(argv[2], 0755);
  programs();
  descriptions();
  checkpoints(argv[2]);
  json();
  return 0;
}
