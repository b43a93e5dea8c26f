/* include/tern/tokenizer.h: the two merge loops.  Both keep the text as a
 * doubly linked list of symbols and the candidate merges of adjacent symbols
 * in a priority queue (pq below), so a text of n characters costs
 * O(n log n), never a rescan per merge:
 *   - SPM (llama.cpp src/llama-vocab.cpp, llm_tokenizer_spm_session): the
 *     candidates are adjacent pairs whose concatenation is a piece; the
 *     highest score merges first, ties to the leftmost; a popped candidate
 *     whose symbols changed since it was pushed is skipped.  A symbol left
 *     that is no piece is one character: its bytes become <0xXX> pieces,
 *     else one unk.
 *   - BPE (llama.cpp llm_tokenizer_bpe_session; Hugging Face tokenizers
 *     models/bpe/word.rs merge_all): the candidates are adjacent pairs listed
 *     in the merges; the lowest rank merges first, ties to the leftmost. */
#include <stdlib.h>
#include <string.h>

#include "tern/err.h"
#include "tokenizer_internal.h"

/* A candidate merge.  key = priority << 32 | left symbol index, so one integer
 * comparison orders by priority, then leftmost. */
typedef struct {
  uint64_t key;
  int right;
  int a, b, c; /* SPM: a = merged size; BPE: a, b = the pair's ids, c = the merged id */
} hent;

/* A 4-ary min-heap (fewer, more cache-friendly levels than a binary one; Hugging
 * Face tokenizers uses a quaternary heap for the same loop). */
typedef struct {
  hent *v;
  size_t n, cap;
} heap;

static int heap_push(heap *h, hent e) {
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 64;
    hent *p = realloc(h->v, nc * sizeof *p);
    if (!p) return -1;
    h->v = p;
    h->cap = nc;
  }
  size_t i = h->n++;
  while (i > 0) {
    size_t up = (i - 1) / 4;
    if (h->v[up].key <= e.key) break;
    h->v[i] = h->v[up];
    i = up;
  }
  h->v[i] = e;
  return 0;
}

/* Removes the top: the hole left at the root moves down along the smaller
 * children to a leaf, then the last element moves up from there ("bottom-up"
 * deletion: the last element is usually large, so this compares less). */
static hent heap_pop(heap *h) {
  hent top = h->v[0], last = h->v[--h->n];
  size_t i = 0, n = h->n;
  if (!n) return top;
  for (;;) {
    size_t c = 4 * i + 1;
    if (c >= n) break;
    size_t best = c, end = c + 4 < n ? c + 4 : n;
    for (size_t k = c + 1; k < end; k++)
      if (h->v[k].key < h->v[best].key) best = k;
    h->v[i] = h->v[best];
    i = best;
  }
  while (i > 0) {
    size_t up = (i - 1) / 4;
    if (h->v[up].key <= last.key) break;
    h->v[i] = h->v[up];
    i = up;
  }
  h->v[i] = last;
  return top;
}

/* The queue of candidate merges: the initial candidates (one per adjacent
 * pair, generated left to right) sorted once into an array that is read in
 * order, and a heap for the candidates the merges create.  Popping takes the
 * smaller of the two heads.  Same order as one heap, but the big initial set
 * is read sequentially instead of being sifted through a large heap (a 1 MB
 * SPM text has about a million initial candidates). */
typedef struct {
  hent *init;
  size_t ai, an, acap;
  heap h;
} pq;

static int pq_add_initial(pq *q, hent e) {
  if (q->an == q->acap) {
    size_t nc = q->acap ? q->acap * 2 : 64;
    hent *p = realloc(q->init, nc * sizeof *p);
    if (!p) return -1;
    q->init = p;
    q->acap = nc;
  }
  q->init[q->an++] = e;
  return 0;
}

static int key_cmp(const void *x, const void *y) {
  uint64_t a = ((const hent *)x)->key, b = ((const hent *)y)->key;
  return a < b ? -1 : a > b;
}

/* Sorts the initial candidates by key (keys are distinct: one candidate per
 * left symbol).  Most pre-tokens are a few bytes: insertion sort; a long SPM
 * text: LSD radix sort on the priority (the high 32 bits, two 16-bit digits,
 * stable, so the left order of generation breaks ties); between: qsort. */
static int pq_seal(pq *q) {
  size_t n = q->an;
  hent *v = q->init;
  if (n < 2) return 0;
  if (n <= 32) {
    for (size_t i = 1; i < n; i++) {
      hent e = v[i];
      size_t j = i;
      for (; j > 0 && v[j - 1].key > e.key; j--) v[j] = v[j - 1];
      v[j] = e;
    }
    return 0;
  }
  if (n < ((size_t)1 << 16)) {
    qsort(v, n, sizeof *v, key_cmp);
    return 0;
  }
  hent *tmp = malloc(n * sizeof *tmp);
  size_t *cnt = malloc(65536 * sizeof *cnt);
  if (!tmp || !cnt) {
    free(tmp);
    free(cnt);
    return -1;
  }
  for (int pass = 0; pass < 2; pass++) {
    int sh = 32 + 16 * pass;
    memset(cnt, 0, 65536 * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(q->init[i].key >> sh) & 0xffff]++;
    size_t sum = 0;
    for (size_t d = 0; d < 65536; d++) {
      size_t c = cnt[d];
      cnt[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) tmp[cnt[(q->init[i].key >> sh) & 0xffff]++] = q->init[i];
    hent *sw = q->init;
    q->init = tmp;
    tmp = sw;
  }
  free(tmp);
  free(cnt);
  return 0;
}

static int pq_empty(const pq *q) { return q->ai == q->an && q->h.n == 0; }

static hent pq_pop(pq *q) {
  if (q->ai < q->an && (q->h.n == 0 || q->init[q->ai].key <= q->h.v[0].key))
    return q->init[q->ai++];
  return heap_pop(&q->h);
}

static void pq_free(pq *q) {
  free(q->init);
  free(q->h.v);
}

/* Order-preserving map of a finite float to uint32 (higher score -> smaller key). */
static uint32_t score_key(float score) {
  float f = -score;
  uint32_t u;
  if (f == 0.0f) f = 0.0f; /* -0 == +0 */
  memcpy(&u, &f, sizeof u);
  return u & 0x80000000u ? ~u : u | 0x80000000u;
}

static int oom(const tern_tok *t, size_t n, char *err, size_t errlen) {
  return tern_err(err, errlen, "%s: out of memory encoding %zu bytes", t->what, n);
}

/* A character with no piece: its bytes as byte pieces if all exist, else unk. */
static int fallback_char(const tern_tok *t, const unsigned char *c, size_t n, tok_out *o,
                         char *err, size_t errlen) {
  size_t i;
  for (i = 0; i < n && t->byte_id[c[i]] >= 0; i++) {
  }
  if (i == n && (t->byte_fallback || t->kind == TERN_TOK_SPM)) {
    for (i = 0; i < n; i++)
      if (tok_out_push(o, t->byte_id[c[i]], err, errlen) != 0) return -1;
    return 0;
  }
  if (t->unk >= 0) return tok_out_push(o, t->unk, err, errlen);
  char e1[64];
  return tern_err(err, errlen,
                  "%s: text character \"%s\" has no piece, no <0xXX> byte pieces and the tokenizer "
                  "has no unk",
                  t->what, tok_esc(e1, sizeof e1, (const char *)c, n));
}

/* ---- SPM --------------------------------------------------------------------------------- */

typedef struct {
  int prev, next;
  uint32_t start, n; /* n == 0: merged into its left neighbour */
} ssym;

static int spm_try(const tern_tok *t, const char *s, ssym *y, pq *q, int initial, int l, int r) {
  if (l < 0 || r < 0) return 0;
  size_t size = (size_t)y[l].n + y[r].n;
  if (size > (size_t)t->max_len) return 0;
  int id = tok_find(t, s + y[l].start, size);
  if (id < 0 || !tok_mergeable(t, id)) return 0;
  hent e = {(uint64_t)score_key(t->score[id]) << 32 | (uint32_t)l, r, (int)size, 0, 0};
  return initial ? pq_add_initial(q, e) : heap_push(&q->h, e);
}

int tok_spm_encode(const tern_tok *t, const char *s, size_t n, tok_out *o, char *err,
                   size_t errlen) {
  if (n == 0) return 0;
  const unsigned char *u = (const unsigned char *)s;
  size_t count = 0;
  for (size_t i = 0; i < n; count++) {
    int l = tok_utf8_len(u + i, n - i);
    i += l ? (size_t)l : 1;
  }
  ssym *y = malloc(count * sizeof *y);
  pq q = {0};
  int rc = -1;
  if (!y) goto done_oom;
  size_t k = 0;
  for (size_t i = 0; i < n; k++) {
    int l = tok_utf8_len(u + i, n - i);
    y[k].start = (uint32_t)i;
    y[k].n = l ? (uint32_t)l : 1;
    y[k].prev = (int)k - 1;
    y[k].next = k + 1 < count ? (int)k + 1 : -1;
    i += y[k].n;
  }
  for (size_t i = 1; i < count; i++)
    if (spm_try(t, s, y, &q, 1, (int)i - 1, (int)i) != 0) goto done_oom;
  if (pq_seal(&q) != 0) goto done_oom;
  while (!pq_empty(&q)) {
    hent e = pq_pop(&q);
    int left = (int)(uint32_t)e.key;
    ssym *L = &y[left], *R = &y[e.right];
    if (L->n == 0 || R->n == 0 || L->next != e.right || (int)(L->n + R->n) != e.a) continue;
    L->n += R->n;
    R->n = 0;
    L->next = R->next;
    if (R->next >= 0) y[R->next].prev = left;
    if (spm_try(t, s, y, &q, 0, L->prev, left) != 0 || spm_try(t, s, y, &q, 0, left, L->next) != 0)
      goto done_oom;
  }
  for (int i = 0; i != -1; i = y[i].next) {
    int id = tok_find(t, s + y[i].start, y[i].n);
    if (id >= 0 && tok_mergeable(t, id)) {
      if (tok_out_push(o, id, err, errlen) != 0) goto done;
      continue;
    }
    /* never merged, so one character (or one invalid byte) */
    if (fallback_char(t, u + y[i].start, y[i].n, o, err, errlen) != 0) goto done;
  }
  rc = 0;
  goto done;
done_oom:
  oom(t, n, err, errlen);
done:
  free(y);
  pq_free(&q);
  return rc;
}

/* ---- BPE --------------------------------------------------------------------------------- */

typedef struct {
  int prev, next;
  int id; /* -1: merged into its left neighbour */
  int unk_run; /* an unk standing for unknown characters (fuse_unk joins the next one) */
} bsym;

static int bpe_try(const tern_tok *t, bsym *y, pq *q, int initial, int l, int r) {
  if (l < 0 || r < 0) return 0;
  long k = tok_map_get(&t->merges, (uint64_t)(uint32_t)y[l].id << 32 | (uint32_t)y[r].id);
  if (k < 0) return 0;
  hent e = {(uint64_t)(uint32_t)t->merges.a[k] << 32 | (uint32_t)l, r, y[l].id, y[r].id,
            t->merges.b[k]};
  return initial ? pq_add_initial(q, e) : heap_push(&q->h, e);
}

static int add_sym(bsym *y, size_t *k, int id, int unk_run) {
  y[*k].id = id;
  y[*k].unk_run = unk_run;
  (*k)++;
  return 0;
}

int tok_bpe_word(const tern_tok *t, const char *s, size_t n, tok_out *o, char *err,
                 size_t errlen) {
  if (n == 0) return 0;
  const unsigned char *u = (const unsigned char *)s;
  char e1[64];
  if (t->ignore_merges) { /* a pre-token that is itself a piece is taken whole */
    int id = -1;
    if (t->byte_level) {
      if (n <= (size_t)t->max_len) {
        char buf[2 * TERN_TOK_MAX_PIECE];
        size_t m = 0;
        for (size_t i = 0; i < n && m + 2 <= sizeof buf; i++) m += (size_t)tok_byte_utf8(u[i], buf + m);
        id = tok_find(t, buf, m);
      }
    } else {
      id = tok_find(t, s, n);
    }
    if (id >= 0 && tok_mergeable(t, id)) return tok_out_push(o, id, err, errlen);
  }
  /* at most one symbol per byte */
  bsym *y = malloc(n * sizeof *y);
  pq q = {0};
  int rc = -1;
  if (!y) goto done_oom;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    if (t->byte_level) {
      int id = t->byte_id[u[i]];
      if (id < 0) {
        if (t->unk < 0) {
          tern_err(err, errlen,
                   "%s: text byte 0x%02x has no piece (GPT-2 character U+%04X) and the tokenizer "
                   "has no unk",
                   t->what, u[i], (unsigned)tok_byte_cp(u[i]));
          goto done;
        }
        if (t->fuse_unk && k > 0 && y[k - 1].unk_run) {
          i++;
          continue;
        }
        add_sym(y, &k, t->unk, 1);
      } else {
        add_sym(y, &k, id, 0);
      }
      i++;
      continue;
    }
    int l = tok_utf8_len(u + i, n - i);
    size_t cl = l ? (size_t)l : 1;
    int id = l ? tok_find(t, s + i, cl) : -1;
    if (id >= 0 && tok_mergeable(t, id)) {
      add_sym(y, &k, id, 0);
    } else {
      size_t j;
      for (j = 0; j < cl && t->byte_id[u[i + j]] >= 0; j++) {
      }
      if (t->byte_fallback && j == cl) {
        for (j = 0; j < cl; j++) add_sym(y, &k, t->byte_id[u[i + j]], 0);
      } else if (t->unk >= 0) {
        if (!(t->fuse_unk && k > 0 && y[k - 1].unk_run)) add_sym(y, &k, t->unk, 1);
      } else {
        tern_err(err, errlen,
                 "%s: text character \"%s\" has no piece%s and the tokenizer has no unk", t->what,
                 tok_esc(e1, sizeof e1, s + i, cl),
                 t->byte_fallback ? " nor <0xXX> byte pieces" : " (byte_fallback off)");
        goto done;
      }
    }
    i += cl;
  }
  for (size_t i = 0; i < k; i++) {
    y[i].prev = (int)i - 1;
    y[i].next = i + 1 < k ? (int)i + 1 : -1;
  }
  for (size_t i = 1; i < k; i++)
    if (bpe_try(t, y, &q, 1, (int)i - 1, (int)i) != 0) goto done_oom;
  if (pq_seal(&q) != 0) goto done_oom;
  while (!pq_empty(&q)) {
    hent e = pq_pop(&q);
    int left = (int)(uint32_t)e.key;
    bsym *L = &y[left], *R = &y[e.right];
    if (L->id != e.a || R->id != e.b || L->next != e.right) continue;
    L->id = e.c;
    L->unk_run = 0;
    R->id = -1;
    L->next = R->next;
    if (R->next >= 0) y[R->next].prev = left;
    if (bpe_try(t, y, &q, 0, L->prev, left) != 0 || bpe_try(t, y, &q, 0, left, L->next) != 0)
      goto done_oom;
  }
  for (int i = 0; i != -1; i = y[i].next)
    if (tok_out_push(o, y[i].id, err, errlen) != 0) goto done;
  rc = 0;
  goto done;
done_oom:
  oom(t, n, err, errlen);
done:
  free(y);
  pq_free(&q);
  return rc;
}
