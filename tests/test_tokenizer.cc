// Tokenizers (include/tern/tokenizer.h, docs/TOKENIZERS.md).  Every expected
// id sequence below is derived by hand in the comments from a vocabulary
// written in this file or in tests/tokenizer_data/, so a reader can check
// it step by step:
//   - SPM (GGUF "llama"): highest-score merges first, ties leftmost, byte
//     fallback, unk, invalid UTF-8, empty text, the BOS flag, user-defined and
//     control tokens;
//   - byte-level BPE (GGUF "gpt2"): rank order, ties leftmost, the GPT-2,
//     LLaMA-3, Qwen2 and "default" pre-tokenizer splits (with the expected
//     splits Hugging Face tokenizers publishes in its own tests), digits;
//   - tokenizer.json: the GPT-2, LLaMA-3 and LLaMA-2 shapes, round trips;
//   - decode(encode(x)) == x on random printable, random UTF-8 and random
//     bytes for SPM, byte-level BPE and Metaspace BPE;
//   - hostile vocabularies and files (bad JSON, unknown merge pieces, huge
//     ids, gaps, long pieces, a 65 MiB file), each refused with a message
//     naming the field and value; max_ids; a 1 MB text in well under a second;
//   - TokenizerFuzz.HostileJsonAndText: mutated tokenizer.json files and
//     random texts (~1 s; 100x with TERN_FUZZ_LONG).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tern/tokenizer.h"

#include "fuzz_seed.h"

#ifndef TERN_ROOT
#define TERN_ROOT "."
#endif

namespace {

const std::string SP = "\xe2\x96\x81";  // U+2581, SentencePiece's space

std::string data_path(const char *name) {
  return std::string(TERN_ROOT) + "/tests/tokenizer_data/" + name;
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A vocabulary under construction: pieces, scores, types.
struct Vocab {
  std::vector<std::string> piece;
  std::vector<float> score;
  std::vector<int32_t> type;
  int add(const std::string &p, float s = 0.0f, int ty = TERN_TOK_TYPE_NORMAL) {
    piece.push_back(p);
    score.push_back(s);
    type.push_back(ty);
    return (int)piece.size() - 1;
  }
  std::vector<const char *> ptrs() const {
    std::vector<const char *> v;
    for (auto &p : piece) v.push_back(p.data());
    return v;
  }
  std::vector<size_t> lens() const {
    std::vector<size_t> v;
    for (auto &p : piece) v.push_back(p.size());
    return v;
  }
};

struct Tok {
  tern_tok *t = nullptr;
  char err[1024] = "";
  Tok() = default;
  explicit Tok(tern_tok *p) : t(p) {}
  Tok(const Tok &) = delete;
  Tok &operator=(const Tok &) = delete;
  ~Tok() { tern_tok_free(t); }
};

tern_tok *make_spm(const Vocab &v, int bos, int eos, int unk, char *err, size_t errlen,
                   bool types = true) {
  auto p = v.ptrs();
  auto l = v.lens();
  return tern_tok_new_spm((int)v.piece.size(), p.data(), l.data(), v.score.data(),
                          types ? v.type.data() : nullptr, bos, eos, unk, "test.gguf", err, errlen);
}

tern_tok *make_bpe(const Vocab &v, const std::vector<std::string> &merges, const char *pre,
                   int bos, int eos, char *err, size_t errlen) {
  auto p = v.ptrs();
  auto l = v.lens();
  std::vector<const char *> mp;
  std::vector<size_t> ml;
  for (auto &m : merges) {
    mp.push_back(m.data());
    ml.push_back(m.size());
  }
  return tern_tok_new_bpe((int)v.piece.size(), p.data(), l.data(), v.type.data(),
                          (int)merges.size(), mp.data(), ml.data(), pre, bos, eos, "test.gguf", err,
                          errlen);
}

std::vector<int> enc(const tern_tok *t, const std::string &s, int flags = 0) {
  char err[512] = "";
  int n = tern_tok_encode(t, s.data(), s.size(), flags, nullptr, 0, err, sizeof err);
  EXPECT_GE(n, 0) << err;
  if (n < 0) return {-1};
  std::vector<int> ids((size_t)n + 1);
  int m = tern_tok_encode(t, s.data(), s.size(), flags, ids.data(), n, err, sizeof err);
  EXPECT_EQ(m, n) << err;
  ids.resize((size_t)n);
  return ids;
}

std::string enc_err(const tern_tok *t, const std::string &s, int flags = 0) {
  char err[512] = "";
  int ids[4096];
  int n = tern_tok_encode(t, s.data(), s.size(), flags, ids, 4096, err, sizeof err);
  EXPECT_EQ(n, -1);
  return err;
}

std::string dec(const tern_tok *t, const std::vector<int> &ids) {
  char err[512] = "";
  int n = tern_tok_decode(t, ids.data(), (int)ids.size(), nullptr, 0, err, sizeof err);
  EXPECT_GE(n, 0) << err;
  if (n < 0) return "<error>";
  std::string out((size_t)n + 1, '\0');
  int m = tern_tok_decode(t, ids.data(), (int)ids.size(), &out[0], out.size(), err, sizeof err);
  EXPECT_EQ(m, n);
  out.resize((size_t)n);
  return out;
}

int collect(void *ctx, const char *p, size_t n, int id) {
  auto *v = static_cast<std::vector<std::string> *>(ctx);
  v->push_back(id >= 0 ? "#" + std::to_string(id) : std::string(p, n));
  return 0;
}

std::vector<std::string> split(const tern_tok *t, const std::string &s, int flags = 0) {
  std::vector<std::string> v;
  char err[512] = "";
  int n = tern_tok_split(t, s.data(), s.size(), flags, collect, &v, err, sizeof err);
  EXPECT_EQ(n, (int)v.size()) << err;
  return v;
}

using V = std::vector<int>;
using S = std::vector<std::string>;

// GPT-2 bytes_to_unicode, written again here (not the library's table): the
// printable bytes stand for themselves, the other 68 become U+0100 + k in
// byte order.
std::string gpt2_char(int b) {
  static int cp[256];
  static bool init = false;
  if (!init) {
    int k = 0;
    for (int c = 0; c < 256; c++) {
      bool direct = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
      cp[c] = direct ? c : 256 + k++;
    }
    init = true;
  }
  int c = cp[b];
  std::string s;
  if (c < 0x80) {
    s += (char)c;
  } else {
    s += (char)(0xC0 | (c >> 6));
    s += (char)(0x80 | (c & 0x3F));
  }
  return s;
}

std::string bl(const std::string &raw) {  // raw bytes -> GPT-2 alphabet
  std::string s;
  for (unsigned char c : raw) s += gpt2_char(c);
  return s;
}

// ---- SPM ------------------------------------------------------------------------------------

// ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the pieces below.
struct SpmFixture {
  Vocab v;
  int sp, h, e, l, o, w, r, d, ll, he, hell, hello, sp_hello, orr, wor, sp_w, ld, euro, sep;
  SpmFixture() {
    v.add("<unk>", 0, TERN_TOK_TYPE_UNKNOWN);
    v.add("<s>", 0, TERN_TOK_TYPE_CONTROL);
    v.add("</s>", 0, TERN_TOK_TYPE_CONTROL);
    for (int b = 0; b < 256; b++) {
      char buf[8];
      snprintf(buf, sizeof buf, "<0x%02X>", b);
      v.add(buf, 0, TERN_TOK_TYPE_BYTE);
    }
    sp = v.add(SP, -1);           // 259
    h = v.add("h", -2);           // 260
    e = v.add("e", -2);           // 261
    l = v.add("l", -2);           // 262
    o = v.add("o", -2);           // 263
    w = v.add("w", -2);           // 264
    r = v.add("r", -2);           // 265
    d = v.add("d", -2);           // 266
    ll = v.add("ll", -3);         // 267
    he = v.add("he", -4);         // 268
    hell = v.add("hell", -5);     // 269
    hello = v.add("hello", -6);   // 270
    sp_hello = v.add(SP + "hello", -7);  // 271
    orr = v.add("or", -3.5f);     // 272
    wor = v.add("wor", -4.5f);    // 273
    sp_w = v.add(SP + "w", -8);   // 274
    ld = v.add("ld", -9);         // 275
    euro = v.add("\xe2\x82\xac", -2);  // 276 (U+20AC)
    sep = v.add("<|sep|>", 0, TERN_TOK_TYPE_USER_DEFINED);  // 277
  }
  static int byte(int b) { return 3 + b; }
};

TEST(TokSpm, HandDerivedMerges) {
  SpmFixture f;
  Tok t(make_spm(f.v, 1, 2, 0, nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  EXPECT_EQ(tern_tok_kind_of(t.t), TERN_TOK_SPM);
  EXPECT_EQ(tern_tok_vocab(t.t), 278);
  EXPECT_EQ(tern_tok_bos(t.t), 1);
  EXPECT_EQ(tern_tok_eos(t.t), 2);
  EXPECT_EQ(tern_tok_add_bos(t.t), 1);
  // "hello world" -> "▁hello▁world" (prefix, spaces -> ▁); symbols
  //   ▁ h e l l o ▁ w o r l d
  // pairs that are pieces: he -4, ll -3, ▁w -8, or -3.5, ld -9.
  //   ll (-3)     -> ▁ h e [ll] o ▁ w o r l d      new pairs ell, llo: not pieces
  //   or (-3.5)   -> ... ▁ w [or] l d               new: wor -4.5 (orl: no)
  //   he (-4)     -> ▁ [he] ll o ...                new: hell -5 (▁he: no)
  //   wor (-4.5)  -> ... ▁ [wor] l d                new: none (▁wor, worl)
  //   hell (-5)   -> ▁ [hell] o ...                 new: hello -6
  //   hello (-6)  -> ▁ [hello] ▁ wor l d            new: ▁hello -7
  //   ▁hello (-7) -> [▁hello] ▁ wor l d
  //   ▁w (-8)     stale (w is inside wor now)
  //   ld (-9)     -> [▁hello] ▁ wor [ld]            (world: not a piece)
  EXPECT_EQ(enc(t.t, "hello world"), (V{f.sp_hello, f.sp, f.wor, f.ld}));
  EXPECT_EQ(enc(t.t, "hello world"), (V{271, 259, 273, 275}));
  EXPECT_EQ(enc(t.t, "hello world", TERN_TOK_ADD_BOS), (V{1, 271, 259, 273, 275}));
  EXPECT_EQ(dec(t.t, {1, 271, 259, 273, 275, 2}), "hello world");
  // ties go to the leftmost pair: "▁lll" has ll at 1-2 and 2-3 (both -3) -> ▁ [ll] l
  EXPECT_EQ(enc(t.t, "lll"), (V{f.sp, f.ll, f.l}));
  // spaces: "  h" -> "▁▁▁h" (▁▁ and ▁h are no pieces); decode drops the prefix only
  EXPECT_EQ(enc(t.t, "  h"), (V{f.sp, f.sp, f.sp, f.h}));
  EXPECT_EQ(dec(t.t, enc(t.t, "  h")), "  h");
}

TEST(TokSpm, ByteFallbackUtf8AndEmpty) {
  SpmFixture f;
  Tok t(make_spm(f.v, 1, 2, 0, nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  // "hé": é = C3 A9 is no piece -> <0xC3> <0xA9>
  EXPECT_EQ(enc(t.t, "h\xc3\xa9"), (V{f.sp, f.h, SpmFixture::byte(0xC3), SpmFixture::byte(0xA9)}));
  // "€" (E2 82 AC) is a piece: one id, however many bytes
  EXPECT_EQ(enc(t.t, "\xe2\x82\xac"), (V{f.sp, f.euro}));
  // a 4-byte character (U+1F600) with no piece: its four bytes
  EXPECT_EQ(enc(t.t, "\xf0\x9f\x98\x80"), (V{f.sp, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80}));
  // invalid UTF-8: a lone continuation byte and a truncated sequence, byte by byte
  EXPECT_EQ(enc(t.t, "h\xff\xe2\x82"), (V{f.sp, f.h, 3 + 0xFF, 3 + 0xE2, 3 + 0x82}));
  EXPECT_EQ(dec(t.t, enc(t.t, "h\xff\xe2\x82")), "h\xff\xe2\x82");
  // "a" has no piece: <0x61>
  EXPECT_EQ(enc(t.t, "a"), (V{f.sp, 3 + 'a'}));
  // a NUL byte inside the text is just a byte
  EXPECT_EQ(enc(t.t, std::string("h\0h", 3)), (V{f.sp, f.h, 3 + 0, f.h}));
  EXPECT_EQ(dec(t.t, enc(t.t, std::string("h\0h", 3))), std::string("h\0h", 3));
  // empty text: nothing, or only BOS (llama.cpp: tokenize("", add_special) = [bos])
  EXPECT_EQ(enc(t.t, ""), V{});
  EXPECT_EQ(enc(t.t, "", TERN_TOK_ADD_BOS), V{1});
  EXPECT_EQ(dec(t.t, {}), "");
  // tern_tok_piece: the piece's own text, prefix space kept (streaming)
  char buf[32];
  EXPECT_EQ(tern_tok_piece(t.t, f.sp_hello, buf, sizeof buf, nullptr, 0), 6);
  EXPECT_STREQ(buf, " hello");
  EXPECT_EQ(tern_tok_piece(t.t, 1, buf, sizeof buf, nullptr, 0), 0);  // control: nothing
  EXPECT_EQ(tern_tok_piece(t.t, 3 + 0x0A, buf, sizeof buf, nullptr, 0), 1);
  EXPECT_STREQ(buf, "\n");
  // decode is snprintf-style: a short buffer gets a prefix and the full length
  std::vector<int> ids = enc(t.t, "hello world");
  char small[5];
  EXPECT_EQ(tern_tok_decode(t.t, ids.data(), (int)ids.size(), small, sizeof small, nullptr, 0), 11);
  EXPECT_STREQ(small, "hell");
}

TEST(TokSpm, NoBytePiecesUnkAndMissingUnk) {
  Vocab v;
  v.add("<unk>", 0, TERN_TOK_TYPE_UNKNOWN);  // 0
  v.add(SP, -1);                             // 1
  v.add("a", -1);                            // 2
  Tok t(make_spm(v, -1, -1, 0, nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  // "aé€" -> ▁ a, then é and € have no pieces and no byte pieces: one unk per character
  EXPECT_EQ(enc(t.t, "a\xc3\xa9\xe2\x82\xac"), (V{1, 2, 0, 0}));
  EXPECT_EQ(dec(t.t, {1, 2, 0, 0}), "a");  // unk decodes to nothing
  // no BOS: the flag is an error with a message
  EXPECT_NE(enc_err(t.t, "a", TERN_TOK_ADD_BOS).find("BOS"), std::string::npos);
  // without unk: the character is named
  Tok t2(make_spm(v, -1, -1, -1, nullptr, 0));
  ASSERT_NE(t2.t, nullptr);
  std::string m = enc_err(t2.t, "a\xc3\xa9");
  EXPECT_NE(m.find("\\xc3\\xa9"), std::string::npos) << m;
  EXPECT_NE(m.find("no unk"), std::string::npos) << m;
}

TEST(TokSpm, SpecialTokensAndTypesFromNull) {
  SpmFixture f;
  Tok t(make_spm(f.v, 1, 2, 0, nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  // a user-defined token is always matched; the text after it gets its own prefix
  // (llama.cpp: a space prefix after every special token):  "h<|sep|>h" ->
  //   [▁ h] [<|sep|>] [▁ h]
  EXPECT_EQ(enc(t.t, "h<|sep|>h"), (V{f.sp, f.h, f.sep, f.sp, f.h}));
  // a control token only with TERN_TOK_PARSE_SPECIAL; else its characters are text
  // ("<", "s", ">" have no pieces: bytes)
  EXPECT_EQ(enc(t.t, "h</s>", TERN_TOK_PARSE_SPECIAL), (V{f.sp, f.h, 2}));
  EXPECT_EQ(enc(t.t, "h</s>"), (V{f.sp, f.h, 3 + '<', 3 + '/', 3 + 's', 3 + '>'}));
  EXPECT_EQ(dec(t.t, enc(t.t, "h</s>")), "h</s>");
  // types NULL: <0xXX> pieces become BYTE, bos/eos CONTROL, unk UNKNOWN
  Tok u(make_spm(f.v, 1, 2, 0, nullptr, 0, false));
  ASSERT_NE(u.t, nullptr);
  EXPECT_EQ(tern_tok_type(u.t, 3 + 0x41), TERN_TOK_TYPE_BYTE);
  EXPECT_EQ(tern_tok_type(u.t, 1), TERN_TOK_TYPE_CONTROL);
  EXPECT_EQ(tern_tok_type(u.t, 0), TERN_TOK_TYPE_UNKNOWN);
  EXPECT_EQ(tern_tok_type(u.t, f.hello), TERN_TOK_TYPE_NORMAL);
  EXPECT_EQ(enc(u.t, "hello world"), (V{271, 259, 273, 275}));
  EXPECT_EQ(tern_tok_find(u.t, "hello", 5), f.hello);
  EXPECT_EQ(tern_tok_find(u.t, "nope", 4), -1);
  // no space prefix (GGUF tokenizer.ggml.add_space_prefix = false)
  tern_tok_set_add_space_prefix(u.t, 0);
  EXPECT_EQ(enc(u.t, "hello"), (V{f.hello}));
  EXPECT_EQ(dec(u.t, {f.sp_hello}), " hello");
}

TEST(TokSpm, LeftmostLongestSpecialTokens) {
  Vocab v;
  v.add(SP, -1);  // 0
  for (const char *c : {"a", "b", "c", "d", "x"}) v.add(c, -2);  // 1..5
  int ab = v.add("ab", 0, TERN_TOK_TYPE_USER_DEFINED);    // 6
  int abc = v.add("abc", 0, TERN_TOK_TYPE_USER_DEFINED);  // 7
  int bcd = v.add("bcd", 0, TERN_TOK_TYPE_USER_DEFINED);  // 8
  int aab = v.add("aab", 0, TERN_TOK_TYPE_USER_DEFINED);  // 9
  int ctl = v.add("cd", 0, TERN_TOK_TYPE_CONTROL);        // 10
  Tok t(make_spm(v, -1, -1, -1, t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  auto id = [](int i) { return "#" + std::to_string(i); };
  // at position 0 "ab" and "abc" both match: the longest wins, then "d" is text
  EXPECT_EQ(split(t.t, "abcd"), (S{id(abc), SP + "d"}));
  // the leftmost start wins: "x" then "bcd" (not "cd", a control token, not parsed anyway)
  EXPECT_EQ(split(t.t, "xbcd"), (S{SP + "x", id(bcd)}));
  // "aab" starts at 1, not 0 ("aaa" is no token): the automaton's failure links
  EXPECT_EQ(split(t.t, "aaab"), (S{SP + "a", id(aab)}));
  EXPECT_EQ(split(t.t, "abab"), (S{id(ab), id(ab)}));
  // control tokens join with TERN_TOK_PARSE_SPECIAL: "xcd" -> x, <cd>
  EXPECT_EQ(split(t.t, "xcd", TERN_TOK_PARSE_SPECIAL), (S{SP + "x", id(ctl)}));
  EXPECT_EQ(split(t.t, "xcd"), (S{SP + "xcd"}));
  // and a user-defined token inside a longer control one: "abcd" with both parsed ->
  // "abc" (longest at 0), then "d"
  EXPECT_EQ(split(t.t, "abcd", TERN_TOK_PARSE_SPECIAL), (S{id(abc), SP + "d"}));
}

// ---- byte-level BPE -------------------------------------------------------------------------

// ids 0..255: the GPT-2 character of byte id; then the merges' results.
struct BpeFixture {
  Vocab v;
  std::vector<std::string> merges;
  BpeFixture() {
    for (int b = 0; b < 256; b++) v.add(gpt2_char(b));
    const char *m[][2] = {{"l", "l"},      {"H", "e"},   {"He", "ll"}, {"Hell", "o"},
                          {"\xc4\xa0", "w"}, {"o", "r"},   {"\xc4\xa0w", "or"},
                          {"l", "d"},      {"\xc4\xa0wor", "ld"},      {"'", "s"},
                          {"1", "2"}};
    for (auto &p : m) {
      merges.push_back(std::string(p[0]) + " " + p[1]);
      v.add(std::string(p[0]) + p[1]);  // ids 256..266 in rank order
    }
    v.add("<|endoftext|>", 0, TERN_TOK_TYPE_CONTROL);  // 267
  }
};

TEST(TokBpe, HandDerivedMergesGpt2) {
  BpeFixture f;
  Tok t(make_bpe(f.v, f.merges, "gpt-2", 267, 267, t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  EXPECT_EQ(tern_tok_kind_of(t.t), TERN_TOK_BPE);
  EXPECT_EQ(tern_tok_add_bos(t.t), 0);
  // GPT-2 pre-tokenization: "Hello" | " world" | "'s" | " 123"
  EXPECT_EQ(split(t.t, "Hello world's 123"), (S{"Hello", " world", "'s", " 123"}));
  // merges (ids 256 + rank):
  //   Hello:  H e l l o -> r0 ll -> r1 He -> r2 Hell -> r3 Hello          = [259]
  //   Ġworld: Ġ w o r l d -> r4 Ġw -> r5 or -> r6 Ġwor -> r7 ld -> r8     = [264]
  //   's:     ' s -> r9                                                   = [265]
  //   Ġ123:   Ġ 1 2 3 -> r10 12  -> Ġ(byte 0x20 = 32) 12(266) 3(byte 0x33 = 51)
  EXPECT_EQ(enc(t.t, "Hello world's 123"), (V{259, 264, 265, 32, 266, 51}));
  EXPECT_EQ(dec(t.t, {259, 264, 265, 32, 266, 51}), "Hello world's 123");
  EXPECT_EQ(tern_tok_find(t.t, bl(" world").data(), bl(" world").size()), 264);
  // BOS flag, control token parsed only on request, decoded as nothing
  EXPECT_EQ(enc(t.t, "Hello", TERN_TOK_ADD_BOS), (V{267, 259}));
  EXPECT_EQ(enc(t.t, "Hello<|endoftext|>", TERN_TOK_PARSE_SPECIAL), (V{259, 267}));
  EXPECT_EQ(dec(t.t, {259, 267}), "Hello");
  // every byte has a piece: invalid UTF-8 and NUL round-trip
  std::string raw("a\xff\x00\xe2\x82 b", 7);
  EXPECT_EQ(dec(t.t, enc(t.t, raw)), raw);
  // "aaa" with no a-merges: three byte ids
  EXPECT_EQ(enc(t.t, "aaa"), (V{'a', 'a', 'a'}));
  // piece: the bytes of one token
  char buf[16];
  EXPECT_EQ(tern_tok_piece(t.t, 264, buf, sizeof buf, nullptr, 0), 6);
  EXPECT_STREQ(buf, " world");
}

TEST(TokBpe, RankOrderAndLeftmostTies) {
  Vocab v;
  for (int b = 0; b < 256; b++) v.add(gpt2_char(b));
  int aa = v.add("aa"), bc = v.add("bc"), ab = v.add("ab");
  // rank 0: "a a", rank 1: "b c", rank 2: "a b"
  Tok t(make_bpe(v, {"a a", "b c", "a b"}, "gpt-2", -1, -1, t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  // "aaa": pairs (a,a)@0 and (a,a)@1, same rank -> leftmost: [aa] a
  EXPECT_EQ(enc(t.t, "aaa"), (V{aa, 'a'}));
  // "abc": (a,b) rank 2, (b,c) rank 1 -> b c first -> a [bc]; (a,bc) is no merge
  EXPECT_EQ(enc(t.t, "abc"), (V{'a', bc}));
  // "abd": only (a,b) -> [ab] d
  EXPECT_EQ(enc(t.t, "abd"), (V{ab, 'd'}));
  EXPECT_EQ(tern_tok_add_bos(t.t), 0);
  EXPECT_EQ(enc_err(t.t, "a", 1).find("BOS") != std::string::npos, true);
}

TEST(TokBpe, PreTokenizerSplits) {
  BpeFixture f;
  Tok g(make_bpe(f.v, f.merges, "gpt-2", -1, -1, g.err, sizeof g.err));
  Tok l3(make_bpe(f.v, f.merges, "llama-bpe", -1, -1, l3.err, sizeof l3.err));
  Tok q2(make_bpe(f.v, f.merges, "qwen2", -1, -1, q2.err, sizeof q2.err));
  Tok df(make_bpe(f.v, f.merges, "default", -1, -1, df.err, sizeof df.err));
  ASSERT_TRUE(g.t && l3.t && q2.t && df.t) << g.err << l3.err << q2.err << df.err;
  // Hugging Face tokenizers, pre_tokenizers/byte_level.rs tests (pre_tokenization,
  // handling_of_newlines, handling_of_multiple_whitespaces, offsets_when_char_split_up):
  EXPECT_EQ(split(g.t, "Hello my friend, how is your day going?"),
            (S{"Hello", " my", " friend", ",", " how", " is", " your", " day", " going", "?"}));
  EXPECT_EQ(split(g.t, "Hello there\nHello there"),
            (S{"Hello", " there", "\n", "Hello", " there"}));
  EXPECT_EQ(split(g.t, "Hello there       dear"), (S{"Hello", " there", "      ", " dear"}));
  EXPECT_EQ(split(g.t, "i\xe2\xad\xa2j"), (S{"i", "\xe2\xad\xa2", "j"}));
  // GPT-2 vs LLaMA-3 on the same text: LLaMA-3 keeps the space apart from digits
  EXPECT_EQ(split(g.t, "Hello world's 123"), (S{"Hello", " world", "'s", " 123"}));
  EXPECT_EQ(split(l3.t, "Hello world's 123"), (S{"Hello", " world", "'s", " ", "123"}));
  // digits: LLaMA-3 \p{N}{1,3} groups of three from the left, Qwen2 one by one, GPT-2 all
  EXPECT_EQ(split(l3.t, "1234567"), (S{"123", "456", "7"}));
  EXPECT_EQ(split(l3.t, "x 12345"), (S{"x", " ", "123", "45"}));
  EXPECT_EQ(split(q2.t, "1234"), (S{"1", "2", "3", "4"}));
  EXPECT_EQ(split(g.t, "1234567"), (S{"1234567"}));
  // contractions: GPT-2 lower case only; LLaMA-3 either case
  EXPECT_EQ(split(g.t, "I'M"), (S{"I", "'", "M"}));
  EXPECT_EQ(split(l3.t, "I'M"), (S{"I", "'M"}));
  EXPECT_EQ(split(g.t, "don't"), (S{"don", "'t"}));
  // newlines: GPT-2 \s+(?!\S) then \s+; LLaMA-3 \s*[\r\n]+ keeps a run together
  EXPECT_EQ(split(g.t, "a\n\nb"), (S{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split(l3.t, "a\n\nb"), (S{"a", "\n\n", "b"}));
  // LLaMA-3 letters may take one leading non-letter, non-digit: "(hi" is one piece
  EXPECT_EQ(split(l3.t, "(hi)"), (S{"(hi", ")"}));
  EXPECT_EQ(split(g.t, "(hi)"), (S{"(", "hi", ")"}));
  // Unicode classes: \p{L} takes é and 日本, \p{N} takes Arabic-Indic digits
  EXPECT_EQ(split(g.t, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"),
            (S{"caf\xc3\xa9", " \xe6\x97\xa5\xe6\x9c\xac"}));
  EXPECT_EQ(split(l3.t, "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"),
            (S{"\xd9\xa1\xd9\xa2\xd9\xa3", "\xd9\xa4"}));
  // invalid UTF-8 is matched as U+FFFD (a symbol) and handed on as the original byte
  EXPECT_EQ(split(g.t, "ab\xff" "cd"), (S{"ab", "\xff", "cd"}));
  EXPECT_EQ(split(g.t, "ab \xff\xfe!"), (S{"ab", " \xff\xfe!"}));
  // llama.cpp's "default", four regexes in turn, each splitting what the previous left:
  //   [\p{P}$+<=>^~|]+  -> "hi" | "," | " 12345" | "!"
  //   GPT-2              -> " 12345" stays one piece (" ?\p{N}+")
  //   \p{N}+            -> " " | "12345"
  //   [0-9]{3}           -> "123" | "45"
  EXPECT_EQ(split(df.t, "hi, 12345!"), (S{"hi", ",", " ", "123", "45", "!"}));
  // empty text: no pieces
  EXPECT_EQ(split(g.t, ""), S{});
}

TEST(TokBpe, UnknownPreTokenizerAndMergeErrors) {
  BpeFixture f;
  char err[1024];
  EXPECT_EQ(make_bpe(f.v, f.merges, "gpt-5", -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.pre = \"gpt-5\""), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("llama-bpe"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("gpt-2"), std::string::npos) << err;
  // NULL / "" pre = "default" (llama.cpp)
  Tok d(make_bpe(f.v, f.merges, nullptr, -1, -1, d.err, sizeof d.err));
  ASSERT_NE(d.t, nullptr) << d.err;
  // a merge naming an unknown piece: index and piece in the message
  auto m = f.merges;
  m[3] = "Hell zz";
  EXPECT_EQ(make_bpe(f.v, m, "gpt-2", -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.merges[3] \"Hell zz\": \"zz\""), std::string::npos)
      << err;
  // a merge whose concatenation is no piece
  m = f.merges;
  m.push_back("H o");
  EXPECT_EQ(make_bpe(f.v, m, "gpt-2", -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("merges[11] \"H o\": the merged piece"), std::string::npos)
      << err;
  // no space
  m = f.merges;
  m[0] = "ll";
  EXPECT_EQ(make_bpe(f.v, m, "gpt-2", -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("merges[0] = \"ll\"; expected \"left right\""), std::string::npos)
      << err;
  // bos out of range
  EXPECT_EQ(make_bpe(f.v, f.merges, "gpt-2", 999, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("bos_token_id = 999; expected -1 (none) or 0 to 267"),
            std::string::npos)
      << err;
  // a byte with no piece and no unk
  Vocab v;
  v.add("a");
  Tok t(make_bpe(v, {}, "gpt-2", -1, -1, t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  EXPECT_EQ(enc(t.t, "aa"), (V{0, 0}));
  std::string e = enc_err(t.t, "a b");
  EXPECT_NE(e.find("byte 0x20"), std::string::npos) << e;
  EXPECT_NE(e.find("U+0120"), std::string::npos) << e;
}

// ---- hostile vocabularies -------------------------------------------------------------------

TEST(TokHostile, VocabularyLimits) {
  char err[1024];
  Vocab v;
  v.add("a");
  v.add("a");
  EXPECT_EQ(make_spm(v, -1, -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.tokens[0] and tokenizer.ggml.tokens[1] are both \"a\""),
            std::string::npos)
      << err;
  Vocab big;
  big.add(std::string(TERN_TOK_MAX_PIECE + 1, 'x'));
  EXPECT_EQ(make_spm(big, -1, -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.tokens[0] is 1025 bytes long; expected at most 1024"),
            std::string::npos)
      << err;
  EXPECT_EQ(tern_tok_new_spm(0, nullptr, nullptr, nullptr, nullptr, -1, -1, -1, "x.gguf", err,
                             sizeof err),
            nullptr);
  EXPECT_NE(std::string(err).find("x.gguf: tokenizer.ggml.tokens has 0 pieces; expected 1 to 4194304"),
            std::string::npos)
      << err;
  EXPECT_EQ(tern_tok_new_spm(TERN_TOK_MAX_VOCAB + 1, nullptr, nullptr, nullptr, nullptr, -1, -1,
                             -1, "x.gguf", err, sizeof err),
            nullptr);
  EXPECT_NE(std::string(err).find("4194305 pieces"), std::string::npos) << err;
  Vocab s;
  s.add("a", NAN);
  EXPECT_EQ(make_spm(s, -1, -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.scores[0] = nan; expected a finite number"),
            std::string::npos)
      << err;
  Vocab ty;
  ty.add("a", 0, 9);
  EXPECT_EQ(make_spm(ty, -1, -1, -1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("tokenizer.ggml.token_type[0] = 9; expected 0 to 6"),
            std::string::npos)
      << err;
  Vocab ok;
  ok.add("a");
  EXPECT_EQ(make_spm(ok, -1, -1, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("unknown_token_id = 1; expected -1 (none) or 0 to 0"),
            std::string::npos)
      << err;
}

TEST(TokHostile, MaxIdsTextAndDecode) {
  SpmFixture f;
  Tok t(make_spm(f.v, 1, 2, 0, nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  int ids[3];
  char err[256];
  // "hello world" needs 4 ids (+1 with BOS)
  EXPECT_EQ(tern_tok_encode(t.t, "hello world", 11, 0, ids, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("more than max_ids = 3"), std::string::npos) << err;
  EXPECT_EQ(tern_tok_encode(t.t, "hello world", 11, 0, nullptr, 0, err, sizeof err), 4);
  EXPECT_EQ(tern_tok_encode(t.t, "hello world", 11, 1, nullptr, 0, err, sizeof err), 5);
  EXPECT_EQ(tern_tok_encode(t.t, "hello world", 11, 0, nullptr, 5, err, sizeof err), -1);
  EXPECT_EQ(tern_tok_encode(t.t, "x", TERN_TOK_MAX_TEXT + 1, 0, ids, 3, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("expected at most 268435456"), std::string::npos) << err;
  int bad[] = {271, 278};
  EXPECT_EQ(tern_tok_decode(t.t, bad, 2, nullptr, 0, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("id 278 at position 1; expected 0 to 277"), std::string::npos)
      << err;
  EXPECT_EQ(tern_tok_piece(t.t, -1, nullptr, 0, err, sizeof err), -1);
  EXPECT_EQ(tern_tok_set_special(t.t, 5, 400, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("eos = 400"), std::string::npos) << err;
}

TEST(TokBytes, TokenIsByte) {
  Tok t(tern_tok_new_bytes());
  ASSERT_NE(t.t, nullptr);
  EXPECT_EQ(tern_tok_vocab(t.t), 256);
  EXPECT_EQ(tern_tok_bos(t.t), -1);
  EXPECT_EQ(enc(t.t, std::string("A\0\xff", 3)), (V{65, 0, 255}));
  EXPECT_EQ(dec(t.t, {104, 105}), "hi");
  EXPECT_NE(enc_err(t.t, "x", TERN_TOK_ADD_BOS).find("BOS"), std::string::npos);
}

// ---- tokenizer.json -------------------------------------------------------------------------

TEST(TokHf, Gpt2TinyFile) {
  Tok t(tern_tok_load_hf(data_path("gpt2_tiny.json").c_str(), nullptr, 0));
  ASSERT_NE(t.t, nullptr);
  EXPECT_EQ(tern_tok_vocab(t.t), 25);
  EXPECT_EQ(tern_tok_bos(t.t), -1);  // post_processor ByteLevel: no template, no BOS
  EXPECT_EQ(tern_tok_eos(t.t), 24);  // <|endoftext|>, a special added token
  EXPECT_EQ(tern_tok_type(t.t, 24), TERN_TOK_TYPE_CONTROL);
  // the same merges as TokBpe.HandDerivedMergesGpt2 with the file's ids:
  //   Hello = 16, Ġworld = 21, 's = 22, Ġ = 4, 12 = 23, 3 = 12
  EXPECT_EQ(enc(t.t, "Hello world's 123"), (V{16, 21, 22, 4, 23, 12}));
  EXPECT_EQ(dec(t.t, {16, 21, 22, 4, 23, 12}), "Hello world's 123");
  EXPECT_EQ(enc(t.t, "Hello<|endoftext|>", TERN_TOK_PARSE_SPECIAL), (V{16, 24}));
  // without the flag "<" is text, and this vocabulary has no piece for it, nor an unk
  std::string e = enc_err(t.t, "Hello<|endoftext|>");
  EXPECT_NE(e.find("byte 0x3c"), std::string::npos) << e;
  EXPECT_NE(std::string(tern_tok_describe(t.t)).find("pre-tokenizer gpt-2"), std::string::npos)
      << tern_tok_describe(t.t);
}

TEST(TokHf, Llama3TinyFile) {
  Tok t(tern_tok_load_hf(data_path("llama3_tiny.json").c_str(), t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  EXPECT_EQ(tern_tok_bos(t.t), 26);  // TemplateProcessing puts <|begin_of_text|> first
  EXPECT_EQ(tern_tok_eos(t.t), 27);  // <|end_of_text|>
  EXPECT_EQ(tern_tok_add_bos(t.t), 1);
  // pre-tokens (LLaMA-3 Split): "Hello" | " world" | "'s" | " " | "123" | "45"
  // ignore_merges: a pre-token that is a piece is taken whole, so "Hello" -> 16 although
  // no merge builds it (only "l l" touches it); Ġworld -> 21 directly;
  // "123": 1 2 3 -> r7 12 -> r8 123 = 24; "45": r9 = 25; " " = Ġ = 4
  EXPECT_EQ(enc(t.t, "Hello world's 12345"), (V{16, 21, 22, 4, 24, 25}));
  EXPECT_EQ(enc(t.t, "Hello world's 12345", TERN_TOK_ADD_BOS), (V{26, 16, 21, 22, 4, 24, 25}));
  EXPECT_EQ(dec(t.t, {26, 16, 21, 22, 4, 24, 25, 28}), "Hello world's 12345");
  // "Hell" is no piece: merges only -> H e [ll] = 0 1 15
  EXPECT_EQ(enc(t.t, "Hell"), (V{0, 1, 15}));
  EXPECT_EQ(enc(t.t, "<|eot_id|>Hello", TERN_TOK_PARSE_SPECIAL), (V{28, 16}));
}

TEST(TokHf, Llama2TinyFile) {
  Tok t(tern_tok_load_hf(data_path("llama2_tiny.json").c_str(), t.err, sizeof t.err));
  ASSERT_NE(t.t, nullptr) << t.err;
  EXPECT_EQ(tern_tok_bos(t.t), 1);
  EXPECT_EQ(tern_tok_eos(t.t), 2);
  EXPECT_EQ(tern_tok_unk(t.t), 0);
  EXPECT_EQ(tern_tok_kind_of(t.t), TERN_TOK_BPE);
  // "Hello world" -> (Prepend ▁, Replace ' ' -> ▁) "▁Hello▁world", one word; symbols
  //   ▁ H e l l o ▁ w o r l d ; candidate merges: (l,l) r0, (▁,H) r1, (o,r) r5,
  //   (▁,w) r6, (l,d) r8.
  //   r0 ll; r1 ▁H -> (▁H,e) r2; r2 ▁He -> (▁He,ll) r3; r3 ▁Hell -> (▁Hell,o) r4;
  //   r4 ▁Hello; r5 or; r6 ▁w -> (▁w,or) r7; r7 ▁wor; r8 ld -> (▁wor,ld) r9; r9 ▁world
  EXPECT_EQ(enc(t.t, "Hello world"), (V{18, 23}));
  EXPECT_EQ(enc(t.t, "Hello world", TERN_TOK_ADD_BOS), (V{1, 18, 23}));
  EXPECT_EQ(dec(t.t, {1, 18, 23, 2}), "Hello world");
  // byte_fallback: é = <0xC3> <0xA9>, \n = <0x0A>
  EXPECT_EQ(enc(t.t, "\xc3\xa9\n"), (V{6, 4, 5, 3}));
  EXPECT_EQ(dec(t.t, {6, 4, 5, 3}), "\xc3\xa9\n");
  // ü = C3 BC: <0xBC> missing -> unk; fuse_unk joins the second ü into the same unk
  EXPECT_EQ(enc(t.t, "\xc3\xbc\xc3\xbc"), (V{6, 0}));
  EXPECT_EQ(enc(t.t, "\xc3\xbc" "H\xc3\xbc"), (V{6, 0, 7, 0}));
  // the Metaspace pre-tokenizer form of the same (transformers' newer conversion):
  // prepend_scheme "first", split false; a text already starting with a space gets no
  // second ▁ (HF Metaspace prepends only if the text does not start with one)
  std::string js = read_file(data_path("llama2_tiny.json"));
  size_t a = js.find("\"normalizer\"");
  size_t b = js.find("\"post_processor\"");
  ASSERT_TRUE(a != std::string::npos && b != std::string::npos);
  std::string meta = js.substr(0, a) +
                     "\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", "
                     "\"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\", \"split\": false},\n  " +
                     js.substr(b);
  Tok m(tern_tok_parse_hf(meta.data(), meta.size(), "meta.json", m.err, sizeof m.err));
  ASSERT_NE(m.t, nullptr) << m.err;
  EXPECT_EQ(enc(m.t, "Hello world"), (V{18, 23}));
  EXPECT_EQ(enc(m.t, " Hello"), (V{18}));
  EXPECT_EQ(enc(t.t, " Hello"), (V{6, 18}));  // the legacy normaliser prepends anyway
  // split true: words start at each ▁, merges do not cross them
  std::string msplit = meta;
  msplit.replace(msplit.find("\"split\": false"), 14, "\"split\": true");
  Tok ms(tern_tok_parse_hf(msplit.data(), msplit.size(), "meta.json", ms.err, sizeof ms.err));
  ASSERT_NE(ms.t, nullptr) << ms.err;
  EXPECT_EQ(split(ms.t, "Hello world"), (S{SP + "Hello", SP + "world"}));
  EXPECT_EQ(enc(ms.t, "Hello world"), (V{18, 23}));
  // prepend_scheme "never": no prefix, the first word has no ▁ (H e ll o = 7 8 14 10)
  std::string mnever = msplit;
  mnever.replace(mnever.find("\"first\""), 7, "\"never\"");
  Tok mn(tern_tok_parse_hf(mnever.data(), mnever.size(), "meta.json", mn.err, sizeof mn.err));
  ASSERT_NE(mn.t, nullptr) << mn.err;
  EXPECT_EQ(split(mn.t, "Hello world"), (S{"Hello", SP + "world"}));
  EXPECT_EQ(enc(mn.t, "Hello world"), (V{7, 8, 14, 10, 23}));
  EXPECT_EQ(dec(mn.t, {7, 8, 14, 10, 23}), "Hello world");
}

// A complete LLaMA-2 style tokenizer.json (all 256 byte pieces), built here.
std::string llama2_full_json() {
  std::string v = "\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2";
  int id = 3;
  for (int b = 0; b < 256; b++) {
    char buf[32];
    snprintf(buf, sizeof buf, ", \"<0x%02X>\": %d", b, id++);
    v += buf;
  }
  const char *extra[] = {"\\u2581", "t", "h", "e", "\\u2581t", "he", "\\u2581the", "a", "n",
                         "an", "d", "and", "\\u2581and"};
  for (auto *x : extra) v += ", \"" + std::string(x) + "\": " + std::to_string(id++);
  return std::string("{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
                     "{\"id\": 1, \"content\": \"<s>\", \"special\": true},"
                     "{\"id\": 2, \"content\": \"</s>\", \"special\": true}],"
                     "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": ["
                     "{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
                     "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": "
                     "\"\\u2581\"}]},"
                     "\"pre_tokenizer\": null, \"decoder\": null,"
                     "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true,"
                     "\"byte_fallback\": true, \"vocab\": {") +
         v +
         "}, \"merges\": [\"\\u2581 t\", \"h e\", \"\\u2581t he\", \"a n\", \"an d\", "
         "\"\\u2581 and\"]}}";
}

TEST(TokHf, HostileFiles) {
  std::string good = read_file(data_path("gpt2_tiny.json"));
  ASSERT_FALSE(good.empty());
  char err[1024];
  auto refuse = [&](const std::string &js, const char *needle) {
    tern_tok *t = tern_tok_parse_hf(js.data(), js.size(), "bad.json", err, sizeof err);
    EXPECT_EQ(t, nullptr) << needle;
    tern_tok_free(t);
    EXPECT_NE(std::string(err).find(needle), std::string::npos) << err;
  };
  auto sub = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
  };
  refuse("{\"model\": ", "bad.json: line 1 column 10");
  refuse(good.substr(0, good.size() / 2), "expected valid JSON");
  refuse("[]", "the top level is an array; expected an object");
  refuse("{}", "model is missing");
  refuse(sub("\"type\": \"BPE\"", "\"type\": \"WordPiece\""),
         "model.type = \"WordPiece\"; expected \"BPE\"");
  // a merge naming an unknown piece: its index
  refuse(sub("\"1 2\"", "\"1 9\""), "model.merges[10] \"1 9\": \"9\" is not in model.vocab");
  refuse(sub("\"1 2\"", "\"12\""), "model.merges[10] = \"12\"; expected \"left right\"");
  refuse(sub("\"1 2\"", "42"), "model.merges[10] is an integer");
  // huge and bad numbers
  refuse(sub("\"12\": 23", "\"12\": 99999999999999"), "model.vocab \"12\": id 99999999999999; expected 0 to 4194303");
  refuse(sub("\"12\": 23", "\"12\": -1"), "id -1; expected 0 to 4194303");
  refuse(sub("\"12\": 23", "\"12\": 2.5"), "id is a real number");
  refuse(sub("\"12\": 23", "\"12\": 4000000"), "ids go up to 4000000 but model.vocab and added_tokens hold 25 pieces");
  refuse(sub("\"12\": 23", "\"12\": 22"), "\"'s\" and \"12\" both have id 22");
  refuse(sub("\"12\": 23", "\"12\": 25"), "ids go up to 25 but model.vocab and added_tokens hold 25 pieces; expected ids 0 to 24 without gaps");
  // an added token repeating a vocabulary piece hides a gap from the count
  {
    std::string g2 = sub("\"12\": 23", "\"12\": 25");
    g2.insert(g2.find("{\"id\": 24"), "{\"id\": 0, \"content\": \"H\", \"special\": false}, ");
    refuse(g2, "id 23 has no piece in model.vocab or added_tokens");
  }
  refuse(sub("\"12\": 23", "\"12\": 23, \"12\": 23"), "duplicate object key");
  refuse(sub("\"id\": 24", "\"id\": 3"), "added_tokens[0] \"<|endoftext|>\" has id 3, which model.vocab gives to \"o\"");
  refuse(sub("\"single_word\": false", "\"single_word\": true"), "single_word = true is not supported");
  refuse(sub("\"dropout\": null", "\"dropout\": 0.1"), "model.dropout is a real number");
  refuse(sub("\"unk_token\": null", "\"unk_token\": \"<unk>\""), "model.unk_token \"<unk>\" is not in model.vocab");
  refuse(sub("\"use_regex\": true}", "\"use_regex\": 7}"), "pre_tokenizer.use_regex is an integer; expected true or false");
  refuse(sub("\"type\": \"ByteLevel\", \"add_prefix_space\": false", "\"type\": \"Whitespace\", \"add_prefix_space\": false"),
         "pre_tokenizer.type = \"Whitespace\" is not supported");
  refuse(sub("\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}"), "normalizer.type = \"NFC\" is not supported");
  refuse(sub("\"decoder\": {\"type\": \"ByteLevel\"", "\"decoder\": {\"type\": \"WordPiece\""),
         "decoder.type = \"WordPiece\" is not supported");
  // an unknown Split regex: refused with the known ones (never compiled)
  std::string l3 = read_file(data_path("llama3_tiny.json"));
  size_t p = l3.find("\\\\p{N}{1,3}");
  ASSERT_NE(p, std::string::npos);
  std::string l3bad = l3;
  l3bad.replace(p, 11, "\\\\p{N}{1,4}");
  refuse(l3bad, "is not a known pre-tokenizer pattern");
  // a piece over 1 KiB
  refuse(sub("\"12\": 23", "\"" + std::string(1100, 'x') + "\": 23"), "is 1100 bytes long; expected at most 1024");
  // neither byte-level nor metaspace
  refuse(sub("\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}",
             "\"pre_tokenizer\": null"),
         "neither a ByteLevel pre_tokenizer nor a Metaspace");
  // files: missing, a directory, over 64 MiB (sparse; refused before reading)
  EXPECT_EQ(tern_tok_load_hf("/nonexistent/tokenizer.json", err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("/nonexistent/tokenizer.json: cannot open"), std::string::npos) << err;
  EXPECT_EQ(tern_tok_load_hf("/tmp", err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("not a regular file"), std::string::npos) << err;
  char path[] = "/tmp/tern_tok_big_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, (off_t)65 << 20), 0);
  close(fd);
  EXPECT_EQ(tern_tok_load_hf(path, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("68157440 bytes; expected at most 67108864"), std::string::npos) << err;
  unlink(path);
}

// ---- round trips ----------------------------------------------------------------------------

std::string random_printable(std::mt19937_64 &g, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) s += (char)(0x20 + g() % 95);
  return s;
}

void put_utf8(std::string &s, uint32_t c) {
  if (c < 0x80) {
    s += (char)c;
  } else if (c < 0x800) {
    s += (char)(0xC0 | (c >> 6));
    s += (char)(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += (char)(0xE0 | (c >> 12));
    s += (char)(0x80 | ((c >> 6) & 0x3F));
    s += (char)(0x80 | (c & 0x3F));
  } else {
    s += (char)(0xF0 | (c >> 18));
    s += (char)(0x80 | ((c >> 12) & 0x3F));
    s += (char)(0x80 | ((c >> 6) & 0x3F));
    s += (char)(0x80 | (c & 0x3F));
  }
}

std::string random_utf8(std::mt19937_64 &g, size_t n) {
  static const uint32_t ranges[][2] = {{0x20, 0x7E},     {0x09, 0x0D},     {0xA0, 0x2FF},
                                       {0x370, 0x52F},   {0x600, 0x6FF},   {0x2000, 0x206F},
                                       {0x2581, 0x2581}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF},
                                       {0xAC00, 0xD7A3}, {0xE000, 0xFFFD}, {0x1F300, 0x1FAFF},
                                       {0x10000, 0x10FFFF}};
  std::string s;
  for (size_t i = 0; i < n; i++) {
    auto &r = ranges[g() % (sizeof ranges / sizeof ranges[0])];
    put_utf8(s, r[0] + (uint32_t)(g() % (r[1] - r[0] + 1)));
  }
  return s;
}

std::string random_bytes(std::mt19937_64 &g, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) s += (char)(g() & 0xFF);
  return s;
}

// SPM and Metaspace write a space as U+2581, so a U+2581 in the text decodes as a
// space (as in SentencePiece): the round trip holds for text without it.
std::string drop_mark(std::string s) {
  for (size_t p; (p = s.find(SP)) != std::string::npos;) s.erase(p, 3);
  return s;
}

void roundtrip(const tern_tok *t, const char *name, int iters) {
  std::mt19937_64 g(12345);
  for (int i = 0; i < iters; i++) {
    size_t n = g() % 120;
    std::string s = i % 3 == 0 ? random_printable(g, n) : i % 3 == 1 ? random_utf8(g, n)
                                                                      : random_bytes(g, n);
    if (tern_tok_kind_of(t) == TERN_TOK_SPM || tern_tok_find(t, SP.data(), 3) >= 0) s = drop_mark(s);
    std::vector<int> ids = enc(t, s, i % 2 ? TERN_TOK_ADD_BOS * (tern_tok_bos(t) >= 0) : 0);
    ASSERT_EQ(dec(t, ids), s) << name << " iteration " << i;
  }
}

TEST(TokRoundTrip, RandomPrintableUtf8AndBytes) {
  // SPM with all byte pieces and a few merges
  Vocab sv;
  sv.add("<unk>", 0, TERN_TOK_TYPE_UNKNOWN);
  sv.add("<s>", 0, TERN_TOK_TYPE_CONTROL);
  sv.add("</s>", 0, TERN_TOK_TYPE_CONTROL);
  for (int b = 0; b < 256; b++) {
    char buf[8];
    snprintf(buf, sizeof buf, "<0x%02X>", b);
    sv.add(buf, 0, TERN_TOK_TYPE_BYTE);
  }
  sv.add(SP, -1);
  for (char c = 'a'; c <= 'z'; c++) sv.add(std::string(1, c), -2);
  const char *more[] = {"th", "he", "the", "in", "er", "an", "and", "on", "or", "es"};
  float sc = -3;
  for (auto *m : more) sv.add(m, sc -= 0.5f);
  sv.add(SP + "the", -4);
  sv.add(SP + SP, -4.5f);
  sv.add("\xe6\x97\xa5", -2);
  Tok spm(make_spm(sv, 1, 2, 0, nullptr, 0));
  ASSERT_NE(spm.t, nullptr);
  roundtrip(spm.t, "spm", 600);

  // byte-level BPE with all 256 bytes, for each pre-tokenizer
  BpeFixture f;
  for (const char *pre : {"gpt-2", "llama-bpe", "qwen2", "default"}) {
    Tok t(make_bpe(f.v, f.merges, pre, 267, 267, t.err, sizeof t.err));
    ASSERT_NE(t.t, nullptr) << t.err;
    roundtrip(t.t, pre, 300);
  }

  // Metaspace BPE (LLaMA-2 legacy tokenizer.json) with all byte pieces
  std::string js = llama2_full_json();
  Tok m(tern_tok_parse_hf(js.data(), js.size(), "llama2_full.json", m.err, sizeof m.err));
  ASSERT_NE(m.t, nullptr) << m.err;
  // "the and": ▁the (r0 ▁t, r1 he, r2 ▁the) ▁and (r3 an, r4 and, r5 ▁and)
  int the = tern_tok_find(m.t, (SP + "the").data(), 6), nd = tern_tok_find(m.t, (SP + "and").data(), 6);
  EXPECT_EQ(enc(m.t, "the and"), (V{the, nd}));
  roundtrip(m.t, "metaspace", 600);
}

// ---- speed ----------------------------------------------------------------------------------

#if defined(__SANITIZE_ADDRESS__)
const double kSlow = 20.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
const double kSlow = 20.0;
#else
const double kSlow = 1.0;
#endif
#else
const double kSlow = 1.0;
#endif

// Seconds to encode s; a second try when the first is over the limit, since the
// machine is shared (a blow-up would be over it both times).
double seconds_to_encode(const tern_tok *t, const std::string &s) {
  double best = 1e9;
  for (int k = 0; k < 2 && best >= 1.0 * kSlow; k++) {
    auto a = std::chrono::steady_clock::now();
    char err[256];
    int n = tern_tok_encode(t, s.data(), s.size(), 0, nullptr, 0, err, sizeof err);
    auto b = std::chrono::steady_clock::now();
    EXPECT_GT(n, 0) << err;
    best = std::min(best, std::chrono::duration<double>(b - a).count());
  }
  return best;
}

TEST(TokSpeed, OneMegabyteWellUnderASecond) {
  std::mt19937_64 g(7);
  std::string words;
  while (words.size() < (1u << 20)) {
    size_t n = 1 + g() % 9;
    for (size_t i = 0; i < n; i++) words += (char)('a' + g() % 26);
    words += g() % 10 ? " " : ".\n";
  }
  std::string same(1u << 20, 'a'), spaces(1u << 20, ' '), digits(1u << 20, '7');
  std::string utf = random_utf8(g, 300000), bytes = random_bytes(g, 1u << 20);
  std::string punct(1u << 20, '!');

  Vocab sv;
  sv.add("<unk>", 0, TERN_TOK_TYPE_UNKNOWN);
  for (int b = 0; b < 256; b++) {
    char buf[8];
    snprintf(buf, sizeof buf, "<0x%02X>", b);
    sv.add(buf, 0, TERN_TOK_TYPE_BYTE);
  }
  sv.add(SP, -1);
  for (char c = 'a'; c <= 'z'; c++) sv.add(std::string(1, c), -2);
  sv.add("aa", -3);
  sv.add("aaaa", -4);
  sv.add("aaaaaaaa", -5);
  // every letter pair and ▁ + letter is a piece, as in a real vocabulary
  for (char a = 'a'; a <= 'z'; a++) {
    for (char b = 'a'; b <= 'z'; b++)
      if (a != 'a' || b != 'a') sv.add(std::string(1, a) + b, -3.0f - (float)((a * 31 + b) % 17) / 8);
    sv.add(SP + a, -2.5f);
  }
  Tok spm(make_spm(sv, -1, -1, 0, nullptr, 0));
  ASSERT_NE(spm.t, nullptr);
  BpeFixture f;
  Vocab bv = f.v;
  std::vector<std::string> bm = f.merges;
  bm.push_back("a a");
  bv.add("aa");
  bm.push_back("aa aa");
  bv.add("aaaa");
  // a hostile vocabulary: a 1 KiB user-defined token that the text almost matches at
  // every position (a trie walk from each position would cost 1024 steps per byte)
  sv.add(std::string(TERN_TOK_MAX_PIECE - 1, 'a') + "b", 0, TERN_TOK_TYPE_USER_DEFINED);
  Tok spm2(make_spm(sv, -1, -1, 0, nullptr, 0));
  ASSERT_NE(spm2.t, nullptr);
  double h = seconds_to_encode(spm2.t, same);
  printf("  hostile special token, 'a' x 1M: spm %.3f s\n", h);
  EXPECT_LT(h, 1.0 * kSlow);
  // every pair of lower-case letters and of space + letter is a merge, as in a real
  // vocabulary, so every pre-token has candidates
  auto add_merge = [&](const std::string &l, const std::string &r) {
    for (auto &p : bv.piece)
      if (p == l + r) return;  // already there (ll, or, ld, Ġw, aa)
    bm.push_back(l + " " + r);
    bv.add(l + r);
  };
  for (char a = 'a'; a <= 'z'; a++) {
    for (char b = 'a'; b <= 'z'; b++) add_merge(std::string(1, a), std::string(1, b));
    add_merge("\xc4\xa0", std::string(1, a));
  }
  Tok g2(make_bpe(bv, bm, "gpt-2", -1, -1, g2.err, sizeof g2.err));
  Tok l3(make_bpe(bv, bm, "llama-bpe", -1, -1, l3.err, sizeof l3.err));
  ASSERT_TRUE(g2.t && l3.t);
  const char *names[] = {"words", "'a' x 1M", "spaces", "digits", "'!' x 1M", "random UTF-8",
                         "random bytes"};
  const std::string *texts[] = {&words, &same, &spaces, &digits, &punct, &utf, &bytes};
  for (int i = 0; i < 7; i++) {
    double a = seconds_to_encode(spm.t, *texts[i]), b = seconds_to_encode(g2.t, *texts[i]),
           c = seconds_to_encode(l3.t, *texts[i]);
    printf("  %-13s %7zu bytes: spm %.3f s, gpt-2 %.3f s, llama-bpe %.3f s\n", names[i],
           texts[i]->size(), a, b, c);
    EXPECT_LT(a, 1.0 * kSlow) << names[i];
    EXPECT_LT(b, 1.0 * kSlow) << names[i];
    EXPECT_LT(c, 1.0 * kSlow) << names[i];
  }
}

// ---- fuzz -----------------------------------------------------------------------------------

std::string mutate(std::mt19937_64 &g, std::string d) {
  static const char *snippets[] = {"\"",   "{",   "}",       "[",         "]",          ",",
                                   ":",    "null", "true",   "-1",        "1e999",      "\\u2581",
                                   "\\u0000", "99999999999", "\"type\"", "\"merges\"", "\"vocab\"",
                                   "\"Sequence\"", "[[", "\"a b\""};
  int nmut = 1 + (int)(g() % 4);
  for (int m = 0; m < nmut; m++) {
    size_t pos = d.empty() ? 0 : g() % d.size();
    switch (g() % 6) {
      case 0:
        if (!d.empty()) d[pos] = (char)(d[pos] ^ (1 << (g() % 8)));
        break;
      case 1:
        d.resize(pos);
        break;
      case 2:
        d.insert(pos, snippets[g() % (sizeof snippets / sizeof snippets[0])]);
        break;
      case 3:
        if (!d.empty()) {
          size_t len = 1 + g() % 64;
          d.erase(pos, len);
        }
        break;
      case 4:
        if (!d.empty()) {
          size_t len = 1 + g() % 64;
          std::string piece = d.substr(pos, len);
          d.insert(g() % (d.size() + 1), piece);
        }
        break;
      case 5:
        if (!d.empty()) d[pos] = (char)(g() & 0xFF);
        break;
    }
  }
  return d;
}

// Mutations that mostly keep the JSON valid, to reach the checks behind the
// parser: swap string literals, put hostile numbers and other keywords in,
// delete a list element.
std::string mutate_values(std::mt19937_64 &g, std::string d) {
  struct Span {
    size_t a, b;
    char kind;  // 's' string, 'n' number, 'k' keyword
  };
  std::vector<Span> sp;
  for (size_t i = 0; i < d.size(); i++) {
    char c = d[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < d.size() && d[j] != '"') j += d[j] == '\\' ? 2 : 1;
      if (j >= d.size()) break;
      sp.push_back({i, j + 1, 's'});
      i = j;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < d.size() && strchr("-+.eE0123456789", d[j])) j++;
      sp.push_back({i, j, 'n'});
      i = j - 1;
    } else if (d.compare(i, 4, "true") == 0 || d.compare(i, 4, "null") == 0 ||
               d.compare(i, 5, "false") == 0) {
      size_t j = i + (d[i] == 'f' ? 5 : 4);
      sp.push_back({i, j, 'k'});
      i = j - 1;
    }
  }
  if (sp.empty()) return d;
  static const char *nums[] = {"-1", "0", "4194303", "4194304", "2147483648", "99999999999999999999",
                               "1e308", "2.5", "-0", "25", "24", "3"};
  static const char *kws[] = {"true", "false", "null", "[]", "{}", "\"\"", "\"\\u2581\""};
  Span s = sp[g() % sp.size()];
  switch (g() % 4) {
    case 0:
      d.replace(s.a, s.b - s.a, nums[g() % (sizeof nums / sizeof nums[0])]);
      break;
    case 1: {
      Span o = sp[g() % sp.size()];
      d.replace(s.a, s.b - s.a, d.substr(o.a, o.b - o.a));
      break;
    }
    case 2:
      d.replace(s.a, s.b - s.a, kws[g() % (sizeof kws / sizeof kws[0])]);
      break;
    case 3: {
      size_t b = s.b;
      while (b < d.size() && d[b] == ' ') b++;
      if (b < d.size() && d[b] == ',') b++;
      d.erase(s.a, b - s.a);
      break;
    }
  }
  return d;
}

// One tokenizer.json: refused with a message naming the input (nullptr), or
// the tokenizer.
tern_tok *TokFuzzParse(const std::string &js) {
  char err[512] = "";
  tern_tok *t = tern_tok_parse_hf(js.data(), js.size(), "fuzz.json", err, sizeof err);
  if (!t) {
    EXPECT_NE(err[0], 0) << "refused without a message";
    EXPECT_EQ(std::string(err).rfind("fuzz.json", 0), 0u) << err;
  }
  return t;
}

// Every text encoded with its flags (all four when flags < 0) and decoded:
// ids in range, no crash.
void TokFuzzTexts(tern_tok *t, const std::vector<std::pair<std::string, int>> &texts) {
  char err[512] = "";
  for (const auto &tf : texts) {
    const int f0 = tf.second < 0 ? 0 : tf.second, f1 = tf.second < 0 ? 3 : tf.second;
    for (int flags = f0; flags <= f1; flags++) {
      const std::string &text = tf.first;
      int ids[512];
      int c = tern_tok_encode(t, text.data(), text.size(), flags, ids, 512, err, sizeof err);
      if (c < 0) {
        EXPECT_NE(err[0], 0);
        continue;
      }
      ASSERT_LE(c, 512);
      for (int i = 0; i < c; i++) ASSERT_TRUE(ids[i] >= 0 && ids[i] < tern_tok_vocab(t));
      char out[4096];
      ASSERT_GE(tern_tok_decode(t, ids, c, out, sizeof out, err, sizeof err), 0) << err;
    }
  }
}

TEST(TokenizerFuzz, HostileJsonAndText) {
  std::vector<std::string> seeds = {read_file(data_path("gpt2_tiny.json")),
                                    read_file(data_path("llama3_tiny.json")),
                                    read_file(data_path("llama2_tiny.json")), llama2_full_json()};
  for (auto &s : seeds) ASSERT_FALSE(s.empty());
  tern_test::FuzzCase fc(2024, 10000, 1000000);
  // regression cases: tokenizer.json and any text* parts, every text with all flags
  for (const tern_test::RegressCase &c : fc.Regressions()) {
    SCOPED_TRACE(c.dir);
    const std::string *js = c.Part("tokenizer.json");
    ASSERT_NE(js, nullptr) << "a case holds tokenizer.json (and text files)";
    std::vector<std::pair<std::string, int>> texts;
    for (const auto &part : c.parts)
      if (part.first.rfind("text", 0) == 0) texts.emplace_back(part.second, -1);
    tern_tok *t = TokFuzzParse(*js);
    if (t) TokFuzzTexts(t, texts);
    tern_tok_free(t);
  }
  const int iters = (int)fc.count();
  std::mt19937_64 g(fc.seed());
  int parsed = 0, refused = 0;
  static const char *text_names[3] = {"text0", "text1", "text2"};
  for (int it = 0; it < iters; it++) {
    const std::string &seed = seeds[g() % seeds.size()];
    std::string js = it % 2 ? mutate(g, seed) : mutate_values(g, seed);
    fc.Input(it, {tern_test::Bytes("tokenizer.json", js)});
    tern_tok *t = TokFuzzParse(js);
    std::vector<std::pair<std::string, int>> texts;
    if (t) {
      parsed++;
      for (int k = 0; k < 3; k++) {
        size_t n = g() % 64;
        std::string text = k == 0 ? random_printable(g, n) : k == 1 ? random_utf8(g, n)
                                                                    : random_bytes(g, n);
        texts.emplace_back(text, (int)(g() % 4));
      }
      for (size_t k = 0; k < texts.size(); k++)
        fc.SetPart(tern_test::Bytes(text_names[k], texts[k].first));
      TokFuzzTexts(t, texts);
      tern_tok_free(t);
    } else {
      refused++;
    }
    if (fc.Failed()) return;
  }
  printf("  %d mutated files: %d parsed (then encoded and decoded), %d refused with a message\n",
         iters, parsed, refused);
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
  // random texts through the unmutated files (whose vocabularies are incomplete)
  long n = iters;  // the reproducer's number
  for (auto &s : seeds) {
    Tok t(tern_tok_parse_hf(s.data(), s.size(), "seed.json", t.err, sizeof t.err));
    ASSERT_NE(t.t, nullptr) << t.err;
    for (int it = 0; it < iters / 4; it++, n++) {
      std::string text = it % 2 ? random_utf8(g, g() % 200) : random_bytes(g, g() % 200);
      fc.Input(n, {tern_test::Bytes("tokenizer.json", s), tern_test::Bytes("text0", text)});
      char err[512] = "";
      int c = tern_tok_encode(t.t, text.data(), text.size(), (int)(g() % 4), nullptr, 0, err,
                              sizeof err);
      if (c < 0) {
        EXPECT_NE(err[0], 0);
      }
      if (fc.Failed("an unmutated tokenizer.json, random text")) return;
    }
  }
}

}  // namespace
