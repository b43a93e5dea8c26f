/* include/tern/tokenizer.h: special tokens (CONTROL, UNKNOWN, USER_DEFINED)
 * are cut out of the text before the model runs, leftmost-longest
 * (docs/TOKENIZERS.md, "The encode pipeline"). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

static int is_special_type(int ty) {
  return ty == TERN_TOK_TYPE_CONTROL || ty == TERN_TOK_TYPE_UNKNOWN ||
         ty == TERN_TOK_TYPE_USER_DEFINED;
}

/* ---- special tokens: Aho-Corasick over the reversed tokens ---------------------------------
 * Leftmost-longest matching (Hugging Face added_vocabulary.rs: aho-corasick,
 * MatchKind::LeftmostLongest) needs, at each text position, the longest
 * special token starting there.  Scanning the text right to left with an
 * automaton of the reversed tokens gives exactly that at every position: the
 * longest reversed token that is a suffix of the reversed text read so far,
 * i.e. the output of the current state (Aho & Corasick 1975).  A plain trie
 * walk from every position would cost O(n x longest token). */

typedef struct {
  int32_t *term, *first, *sib;
  uint8_t *byte;
  int cap;
} ac_build;

static int ac_child(const tern_tok *t, int node, unsigned char c) {
  if (node == 0) return t->ac_root[c];
  long k = tok_map_get(&t->ac, (uint64_t)node << 8 | c);
  return k < 0 ? -1 : t->ac.a[k];
}

static int ac_grow(ac_build *b, int need) {
  if (need <= b->cap) return 0;
  int nc = b->cap ? b->cap : 64;
  while (nc < need) nc *= 2;
  int32_t *t1 = realloc(b->term, (size_t)nc * sizeof *t1);
  if (t1) b->term = t1;
  int32_t *t2 = realloc(b->first, (size_t)nc * sizeof *t2);
  if (t2) b->first = t2;
  int32_t *t3 = realloc(b->sib, (size_t)nc * sizeof *t3);
  if (t3) b->sib = t3;
  uint8_t *t4 = realloc(b->byte, (size_t)nc);
  if (t4) b->byte = t4;
  if (!t1 || !t2 || !t3 || !t4) return -1;
  b->cap = nc;
  return 0;
}

static int ac_add(tern_tok *t, ac_build *b, const char *s, size_t n, int id) {
  int node = 0;
  for (size_t i = n; i-- > 0;) { /* reversed */
    unsigned char c = (unsigned char)s[i];
    int ch = ac_child(t, node, c);
    if (ch < 0) {
      if (ac_grow(b, t->ac_nodes + 1) != 0) return -1;
      ch = t->ac_nodes++;
      b->term[ch] = -1;
      b->first[ch] = -1;
      b->byte[ch] = c;
      b->sib[ch] = b->first[node];
      b->first[node] = ch;
      if (node == 0) t->ac_root[c] = ch;
      else if (tok_map_put(&t->ac, (uint64_t)node << 8 | c, ch, 0) < 0) return -1;
    }
    node = ch;
  }
  b->term[node] = id;
  return 0;
}

static int ac_links(tern_tok *t, ac_build *b) {
  int n = t->ac_nodes;
  t->ac_fail = malloc((size_t)n * sizeof *t->ac_fail);
  t->ac_all = malloc((size_t)n * sizeof *t->ac_all);
  t->ac_ud = malloc((size_t)n * sizeof *t->ac_ud);
  int32_t *queue = malloc((size_t)n * sizeof *queue);
  if (!t->ac_fail || !t->ac_all || !t->ac_ud || !queue) {
    free(queue);
    return -1;
  }
  t->ac_fail[0] = 0;
  t->ac_all[0] = t->ac_ud[0] = -1;
  int head = 0, tail = 0;
  queue[tail++] = 0;
  while (head < tail) { /* breadth first: a failure link is shallower, so done before */
    int u = queue[head++];
    for (int v = b->first[u]; v >= 0; v = b->sib[v]) {
      int f = 0;
      if (u != 0) {
        f = t->ac_fail[u];
        int g;
        while ((g = ac_child(t, f, b->byte[v])) < 0 && f != 0) f = t->ac_fail[f];
        f = g >= 0 ? g : 0;
      }
      t->ac_fail[v] = f;
      int id = b->term[v];
      t->ac_all[v] = id >= 0 ? id : t->ac_all[f];
      t->ac_ud[v] = id >= 0 && t->type[id] == TERN_TOK_TYPE_USER_DEFINED ? id : t->ac_ud[f];
      queue[tail++] = v;
    }
  }
  free(queue);
  return 0;
}

int tok_build_specials(tern_tok *t) {
  ac_build b = {0};
  int rc = -1;
  for (int c = 0; c < 256; c++) t->ac_root[c] = -1;
  t->ac_nodes = 1;
  if (ac_grow(&b, 1) != 0) goto done;
  b.term[0] = b.first[0] = -1;
  for (int i = 0; i < t->n; i++) {
    if (!t->len[i] || !is_special_type(t->type[i])) continue;
    if (ac_add(t, &b, t->arena + t->off[i], t->len[i], i) != 0) goto done;
    t->n_special++;
    if (t->len[i] > t->special_max) t->special_max = t->len[i];
  }
  rc = ac_links(t, &b);
done:
  free(b.term);
  free(b.first);
  free(b.sib);
  free(b.byte);
  return rc;
}

/* For positions w0 .. w1-1 of text: the longest eligible special token starting
 * there (id, or -1), from a right-to-left run of the automaton that starts
 * special_max - 1 bytes after w1 (a state depends on at most that many bytes). */
void tok_specials_window(const tern_tok *t, const char *text, size_t len, size_t w0,
                            size_t w1, int parse_special, int32_t *best) {
  const int32_t *out = parse_special ? t->ac_all : t->ac_ud;
  size_t from = w1 + (size_t)t->special_max - 1;
  if (from > len) from = len;
  int s = 0;
  for (size_t j = from; j-- > w0;) {
    unsigned char c = (unsigned char)text[j];
    int g;
    while ((g = ac_child(t, s, c)) < 0 && s != 0) s = t->ac_fail[s];
    s = g >= 0 ? g : 0;
    if (j < w1) best[j - w0] = out[s];
  }
}

