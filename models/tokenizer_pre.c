/* include/tern/tokenizer.h: UTF-8, the GPT-2 byte alphabet and the regex
 * pre-tokenizers of byte-level BPE, matched with PCRE2 (Debian libpcre2-dev;
 * PCRE2_UTF | PCRE2_UCP so that \p{L}, \p{N} and \s are Unicode classes).
 *
 * A pre-tokenizer is a list of regexes applied in turn (llama.cpp
 * src/unicode.cpp, unicode_regex_split): each one splits every piece the
 * previous one left into its matches and the text between them (Hugging Face
 * Split behaviour "Isolated"), so nothing is dropped.  Text that is not valid
 * UTF-8 is matched as if each invalid byte were U+FFFD (llama.cpp
 * unicode_cpts_from_utf8 does the same) and the pieces handed on are the
 * original bytes, so the encoding stays lossless. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tokenizer_internal.h"

/* ---- UTF-8 --------------------------------------------------------------------------------- */

int tok_utf8_len(const unsigned char *s, size_t avail) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  if (c < 0xc2 || c > 0xf4) return 0;
  if (c < 0xe0) return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (avail < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && s[1] < 0xa0) return 0; /* overlong */
    if (c == 0xed && s[1] > 0x9f) return 0; /* surrogate */
    return 3;
  }
  if (avail < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
    return 0;
  if (c == 0xf0 && s[1] < 0x90) return 0; /* overlong */
  if (c == 0xf4 && s[1] > 0x8f) return 0; /* above U+10FFFF */
  return 4;
}

/* ---- the GPT-2 byte alphabet ---------------------------------------------------------------
 * GPT-2 encoder.py bytes_to_unicode (also Hugging Face tokenizers
 * pre_tokenizers/byte_level.rs bytes_char, llama.cpp unicode_byte_to_utf8_map):
 * the printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for
 * themselves; the other 68 (0x00..0x20, 0x7F..0xA0, 0xAD) get U+0100 + k in
 * byte order: 0x00..0x20 -> U+0100..U+0120 (so ' ' is U+0120 'G-dot'),
 * 0x7F..0xA0 -> U+0121..U+0142, 0xAD -> U+0143. */

uint32_t tok_byte_cp(int b) {
  if (b <= 0x20) return 0x100u + (uint32_t)b;
  if (b >= 0x7f && b <= 0xa0) return 0x121u + (uint32_t)(b - 0x7f);
  if (b == 0xad) return 0x143u;
  return (uint32_t)b;
}

int tok_cp_byte(uint32_t cp) {
  if ((cp >= 0x21 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0xff))
    return (int)cp;
  if (cp >= 0x100 && cp <= 0x120) return (int)(cp - 0x100);
  if (cp >= 0x121 && cp <= 0x142) return (int)(cp - 0x121 + 0x7f);
  if (cp == 0x143) return 0xad;
  return -1;
}

int tok_byte_utf8(int b, char *out) {
  uint32_t cp = tok_byte_cp(b);
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  out[0] = (char)(0xc0 | (cp >> 6));
  out[1] = (char)(0x80 | (cp & 0x3f));
  return 2;
}

/* ---- the pre-tokenizers ---------------------------------------------------------------------
 * Names and regexes: llama.cpp src/llama-vocab.cpp (llama_vocab::impl::load,
 * tokenizer_pre -> pre_type; llm_tokenizer_bpe, pre_type -> regex_exprs).
 * The case-insensitive contractions "(?i:'s|...)" of the LLaMA-3 and Qwen2
 * patterns are spelled "'[sS]|..." as llama.cpp does, so that PCRE2's Unicode
 * caseless matching cannot add U+017F (long s) or U+212A (Kelvin) to them. */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define RE_CONTR "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_CONTR_I "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
#define RE_L3_TAIL                                                                                 \
  "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!"  \
  "\\S)|\\s+"
#define RE_Q2_TAIL                                                                                 \
  "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|"  \
  "\\s+"

static const tok_pre PRES[] = {
    {"gpt-2", "phi-2 mpt olmo", 1, {RE_GPT2}, NULL, NULL, 0, 0},
    {"llama-bpe", "llama3 llama-v3", 1, {RE_CONTR RE_L3_TAIL}, RE_CONTR_I RE_L3_TAIL,
     RE_CONTR RE_L3_TAIL, 1, 1},
    {"dbrx", "smaug-bpe", 1, {RE_CONTR RE_L3_TAIL}, NULL, NULL, 0, 0},
    {"qwen2", "stablelm2 deepseek-r1-qwen", 1, {RE_CONTR RE_Q2_TAIL}, RE_CONTR_I RE_Q2_TAIL,
     RE_CONTR RE_Q2_TAIL, 0, 0},
    {"default", NULL, 4,
     {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, NULL, NULL, 0, 0},
};
#define N_PRES (sizeof PRES / sizeof PRES[0])

static int word_in(const char *list, const char *w) {
  size_t n = strlen(w);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ' ');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && memcmp(p, w, n) == 0) return 1;
    p = e ? e + 1 : p + l;
  }
  return 0;
}

const tok_pre *tok_pre_find(const char *name) {
  for (size_t i = 0; i < N_PRES; i++)
    if (strcmp(PRES[i].name, name) == 0 || word_in(PRES[i].aliases, name)) return &PRES[i];
  return NULL;
}

const tok_pre *tok_pre_find_hf(const char *pattern) {
  for (size_t i = 0; i < N_PRES; i++)
    if ((PRES[i].hf_re && strcmp(PRES[i].hf_re, pattern) == 0) ||
        (PRES[i].hf_re2 && strcmp(PRES[i].hf_re2, pattern) == 0))
      return &PRES[i];
  return NULL;
}

void tok_pre_names(char *dst, size_t cap) {
  size_t o = 0;
  dst[0] = 0;
  for (size_t i = 0; i < N_PRES && o < cap; i++) {
    int w = snprintf(dst + o, cap - o, "%s%s", i ? ", " : "", PRES[i].name);
    if (w < 0) break;
    o += (size_t)w;
    for (const char *p = PRES[i].aliases; p && *p && o < cap;) {
      const char *e = strchr(p, ' ');
      int l = e ? (int)(e - p) : (int)strlen(p);
      w = snprintf(dst + o, cap - o, ", %.*s", l, p);
      if (w < 0) break;
      o += (size_t)w;
      p = e ? e + 1 : p + l;
    }
  }
}

int tok_pre_compile(tern_tok *t, const tok_pre *p, char *err, size_t errlen) {
  for (int i = 0; i < p->n_re; i++) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)p->re[i], PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!c) {
      PCRE2_UCHAR msg[160];
      pcre2_get_error_message(ec, msg, sizeof msg);
      return tern_err(err, errlen, "%s: pre-tokenizer %s regex %d at offset %zu: %s", t->what,
                      p->name, i, (size_t)eo, (const char *)msg);
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* interpreted if the JIT is unavailable */
    t->re[t->n_re++] = c;
  }
  t->pre = p;
  return 0;
}

/* ---- splitting ----------------------------------------------------------------------------- */

typedef struct {
  size_t a, b;
} span;

typedef struct {
  span *v;
  size_t n, cap;
  int oom;
} spans;

typedef int (*span_fn)(void *ctx, size_t a, size_t b);

static int spans_add(void *ctx, size_t a, size_t b) {
  spans *s = ctx;
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    span *p = realloc(s->v, nc * sizeof *p);
    if (!p) {
      s->oom = 1;
      return -1;
    }
    s->v = p;
    s->cap = nc;
  }
  s->v[s->n].a = a;
  s->v[s->n].b = b;
  s->n++;
  return 0;
}

/* Splits subj[a..b) with re into matches and the gaps between them. */
static int split_span(const tern_tok *t, const pcre2_code *re, pcre2_match_data *md,
                      const char *subj, size_t a, size_t b, span_fn fn, void *ctx, char *err,
                      size_t errlen) {
  size_t gap = a, pos = a;
  while (pos < b) {
    int rc = pcre2_match(re, (PCRE2_SPTR)subj, b, pos, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[160];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return tern_err(err, errlen, "%s: pre-tokenizer %s at text byte %zu: %s", t->what,
                      t->pre ? t->pre->name : "?", pos, (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (me <= ms) { /* an empty match (none of the built-in patterns has one): step a character */
      int l = tok_utf8_len((const unsigned char *)subj + ms, b - ms);
      pos = ms + (l ? (size_t)l : 1);
      continue;
    }
    if (ms > gap && fn(ctx, gap, ms) != 0) return -1;
    if (fn(ctx, ms, me) != 0) return -1;
    gap = pos = me;
  }
  if (b > gap && fn(ctx, gap, b) != 0) return -1;
  return 0;
}

typedef struct {
  const char *orig;
  const uint32_t *map; /* sanitised offset -> original offset, or NULL */
  tok_piece_fn fn;
  void *ctx;
} emit_ctx;

static int emit(void *ctx, size_t a, size_t b) {
  emit_ctx *e = ctx;
  if (e->map) {
    a = e->map[a];
    b = e->map[b];
  }
  return e->fn(e->ctx, e->orig + a, b - a);
}

int tok_pre_split(const tern_tok *t, const char *s, size_t n, tok_piece_fn fn, void *ctx,
                  char *err, size_t errlen) {
  const unsigned char *u = (const unsigned char *)s;
  char *san = NULL;
  uint32_t *map = NULL;
  const char *subj = s;
  size_t slen = n;
  spans cur = {0}, nxt = {0};
  pcre2_match_data *md = NULL;
  int rc = -1;
  size_t i = 0;
  while (i < n) {
    int l = tok_utf8_len(u + i, n - i);
    if (!l) break;
    i += (size_t)l;
  }
  if (i < n) { /* invalid UTF-8: match a copy with U+FFFD for each invalid byte */
    san = malloc(n * 3 + 1);
    map = malloc((n * 3 + 1) * sizeof *map);
    if (!san || !map) goto oom;
    size_t o = 0;
    for (i = 0; i < n;) {
      int l = tok_utf8_len(u + i, n - i);
      if (l) {
        for (int k = 0; k < l; k++) {
          map[o] = (uint32_t)i;
          san[o++] = s[i + (size_t)k];
        }
        i += (size_t)l;
      } else {
        map[o] = map[o + 1] = map[o + 2] = (uint32_t)i;
        memcpy(san + o, "\xef\xbf\xbd", 3);
        o += 3;
        i++;
      }
    }
    map[o] = (uint32_t)n;
    subj = san;
    slen = o;
  }
  md = pcre2_match_data_create(2, NULL);
  if (!md || spans_add(&cur, 0, slen) != 0) goto oom;
  emit_ctx ec = {s, map, fn, ctx};
  for (int r = 0; r < t->n_re; r++) {
    int last = r == t->n_re - 1;
    nxt.n = 0;
    for (size_t k = 0; k < cur.n; k++) {
      int e = split_span(t, t->re[r], md, subj, cur.v[k].a, cur.v[k].b, last ? emit : spans_add,
                         last ? (void *)&ec : (void *)&nxt, err, errlen);
      if (e != 0) {
        if (nxt.oom) goto oom;
        goto done; /* the message is set (a regex error or the consumer's) */
      }
    }
    spans tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
  rc = 0;
  goto done;
oom:
  rc = tern_err(err, errlen, "%s: out of memory pre-tokenizing %zu bytes", t->what, n);
done:
  pcre2_match_data_free(md);
  free(cur.v);
  free(nxt.v);
  free(san);
  free(map);
  return rc;
}
