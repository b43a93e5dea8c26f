// ISA library tests: encode/decode driven by the table, names, the
// assembler/disassembler, .tbin files, raw words and tern_validate.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tern/counters.h"
#include "tern/hwcfg.h"
#include "tern/isa.h"
#include "tern/program.h"

namespace {

uint64_t rnd(std::mt19937_64 &g, int bits) {
  return bits >= 64 ? g() : (g() & ((uint64_t(1) << bits) - 1));
}

// A random instruction with every field of its format filled with random
// in-range values (not necessarily valid for a configuration).
tern_insn random_insn(std::mt19937_64 &g, int op) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = (uint8_t)op;
  in.pop_prev = rnd(g, 1);
  in.pop_next = rnd(g, 1);
  in.push_prev = rnd(g, 1);
  in.push_next = rnd(g, 1);
  switch (op) {
    case TERN_OP_SYNC: in.queue = (uint8_t)rnd(g, 2); break;
    case TERN_OP_LOAD:
    case TERN_OP_STORE:
      in.mem = (uint8_t)(g() % TERN_MEM_COUNT);
      in.sram_addr = (uint16_t)rnd(g, 16);
      in.sram_stride = (uint16_t)rnd(g, 16);
      in.y_size = (uint16_t)rnd(g, 16);
      in.dram_addr = (uint32_t)rnd(g, 32);
      in.x_size = (uint16_t)rnd(g, 16);
      in.dram_stride = (uint16_t)rnd(g, 16);
      break;
    case TERN_OP_GEMM:
      in.reset = rnd(g, 1);
      in.wbuf_addr = (uint16_t)rnd(g, 16);
      in.abuf_addr = (uint16_t)rnd(g, 16);
      in.acc_addr = (uint16_t)rnd(g, 16);
      in.m = (uint16_t)rnd(g, 16);
      in.abuf_stride = (uint16_t)rnd(g, 16);
      in.acc_stride = (uint16_t)rnd(g, 16);
      break;
    case TERN_OP_VEC:
      in.vop = (uint8_t)(g() % TERN_VOP_COUNT);
      in.mode = (uint8_t)rnd(g, 2);
      in.dst = (uint16_t)rnd(g, 16);
      in.src1 = (uint16_t)rnd(g, 16);
      in.src2 = (uint16_t)rnd(g, 16);
      in.n = (uint16_t)rnd(g, 12);
      in.rows = (uint16_t)rnd(g, 12);
      in.dst_rs = (uint16_t)rnd(g, 12);
      in.src_rs = (uint16_t)rnd(g, 12);
      in.shift = (uint8_t)rnd(g, 6);
      break;
    default: break;
  }
  return in;
}

bool insn_eq(const tern_insn &a, const tern_insn &b) { return memcmp(&a, &b, sizeof a) == 0; }

tern_insn mk(int op) {
  tern_insn in;
  memset(&in, 0, sizeof in);
  in.op = (uint8_t)op;
  return in;
}

std::string tmpfile_path(const char *tag) {
  const char *d = getenv("TMPDIR");
  std::string p = std::string(d ? d : "/tmp") + "/tern_isa_test_" + tag + "_" +
                  std::to_string((long)getpid()) + ".tbin";
  return p;
}

}  // namespace

TEST(Isa, FieldTableMatchesHeader) {
  // every field lies inside 128 bits, no two fields of one format overlap,
  // and OP/flags are where docs/ISA.md says
  ASSERT_GT(tern_nfields, 20u);
  for (size_t i = 0; i < tern_nfields; i++) {
    EXPECT_GE(tern_fields[i].lsb, 0);
    EXPECT_LE(tern_fields[i].lsb + tern_fields[i].width, 128) << tern_fields[i].name;
    for (size_t j = 0; j < tern_nfields; j++) {
      if (i == j) continue;
      bool related = !strcmp(tern_fields[i].format, tern_fields[j].format) ||
                     !strcmp(tern_fields[i].format, "ALL") || !strcmp(tern_fields[j].format, "ALL");
      if (!related) continue;
      bool overlap = tern_fields[i].lsb < tern_fields[j].lsb + tern_fields[j].width &&
                     tern_fields[j].lsb < tern_fields[i].lsb + tern_fields[i].width;
      EXPECT_FALSE(overlap) << tern_fields[i].name << " vs " << tern_fields[j].name;
    }
  }
}

TEST(Isa, RoundTripRandomEveryOp) {
  std::mt19937_64 g(1234);
  char err[256];
  for (int op = 0; op < TERN_OP_COUNT; op++) {
    for (int it = 0; it < 2000; it++) {
      tern_insn in = random_insn(g, op), back;
      tern_word w;
      ASSERT_EQ(tern_encode(&in, &w, err, sizeof err), 0) << err;
      ASSERT_EQ(tern_decode(&w, &back, err, sizeof err), 0) << err;
      ASSERT_TRUE(insn_eq(in, back)) << "op " << op;
      tern_word w2;
      ASSERT_EQ(tern_encode(&back, &w2, err, sizeof err), 0);
      ASSERT_EQ(w.w[0], w2.w[0]);
      ASSERT_EQ(w.w[1], w2.w[1]);
    }
  }
}

TEST(Isa, EncodeBitPositionsFromDoc) {
  // spot checks against the bit table of docs/ISA.md
  tern_insn in = mk(TERN_OP_LOAD);
  in.mem = TERN_MEM_ACC;
  in.sram_addr = 0x1234;
  in.dram_addr = 0xdeadbeef;
  in.x_size = 7;
  in.dram_stride = 0x55aa;
  in.push_next = 1;
  tern_word w;
  char err[256];
  ASSERT_EQ(tern_encode(&in, &w, err, sizeof err), 0);
  EXPECT_EQ(w.w[0], 0x1ull | (1ull << 7) | (2ull << 8) | (0x1234ull << 16));
  EXPECT_EQ(w.w[1], 0xdeadbeefull | (7ull << 32) | (0x55aaull << 48));
  tern_insn v = mk(TERN_OP_VEC);
  v.vop = TERN_VOP_LUTLD;
  v.mode = 3;
  v.n = 0xabc;
  v.rows = 0x123;
  v.shift = 62;
  ASSERT_EQ(tern_encode(&v, &w, err, sizeof err), 0);
  EXPECT_EQ(w.w[0], 4ull | (12ull << 8) | (3ull << 14));
  EXPECT_EQ(w.w[1], 0xabcull | (0x123ull << 12) | (62ull << 48));
}

TEST(Isa, EncodeRejectsEveryOutOfRangeField) {
  char err[256];
  struct Case {
    int op;
    const char *field;
    void (*set)(tern_insn *);
  } cases[] = {
      {TERN_OP_SYNC, "QUEUE", [](tern_insn *i) { i->queue = 4; }},
      {TERN_OP_LOAD, "MEM", [](tern_insn *i) { i->mem = 8; }},
      {TERN_OP_GEMM, "RESET", [](tern_insn *i) { i->reset = 2; }},
      {TERN_OP_VEC, "VOP", [](tern_insn *i) { i->vop = 64; }},
      {TERN_OP_VEC, "MODE", [](tern_insn *i) { i->mode = 4; }},
      {TERN_OP_VEC, "N", [](tern_insn *i) { i->n = 4096; }},
      {TERN_OP_VEC, "ROWS", [](tern_insn *i) { i->rows = 5000; }},
      {TERN_OP_VEC, "DST_RS", [](tern_insn *i) { i->dst_rs = 4096; }},
      {TERN_OP_VEC, "SRC_RS", [](tern_insn *i) { i->src_rs = 65535; }},
      {TERN_OP_VEC, "SHIFT", [](tern_insn *i) { i->shift = 64; }},
      {TERN_OP_END, "POP_PREV", [](tern_insn *i) { i->pop_prev = 2; }},
      {TERN_OP_END, "PUSH_NEXT", [](tern_insn *i) { i->push_next = 3; }},
  };
  for (auto &c : cases) {
    tern_insn in = mk(c.op);
    c.set(&in);
    tern_word w;
    err[0] = 0;
    EXPECT_EQ(tern_encode(&in, &w, err, sizeof err), -1) << c.field;
    EXPECT_NE(std::string(err).find(c.field), std::string::npos) << err;
  }
  // op out of range
  tern_insn in = mk(9);
  tern_word w;
  EXPECT_EQ(tern_encode(&in, &w, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("OP"), std::string::npos) << err;
  // a field of another format set
  in = mk(TERN_OP_GEMM);
  in.shift = 3;
  EXPECT_EQ(tern_encode(&in, &w, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("SHIFT"), std::string::npos) << err;
}

TEST(Isa, DecodeRejectsBadWords) {
  char err[256];
  tern_insn out;
  for (uint64_t op = TERN_OP_COUNT; op < 16; op++) {
    tern_word w = {{op, 0}};
    EXPECT_EQ(tern_decode(&w, &out, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("opcode"), std::string::npos) << err;
  }
  for (uint64_t vop = TERN_VOP_COUNT; vop < 64; vop++) {
    tern_word w = {{TERN_OP_VEC | (vop << 8), 0}};
    EXPECT_EQ(tern_decode(&w, &out, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("VOP"), std::string::npos) << err;
  }
  // every reserved bit of every op
  for (int op = 0; op < TERN_OP_COUNT; op++) {
    uint64_t used[2] = {0, 0};
    for (size_t i = 0; i < tern_nfields; i++) {
      const char *f = tern_fields[i].format;
      bool applies = !strcmp(f, "ALL") || (op == TERN_OP_SYNC && !strcmp(f, "SYNC")) ||
                     ((op == TERN_OP_LOAD || op == TERN_OP_STORE) && !strcmp(f, "DMA")) ||
                     (op == TERN_OP_GEMM && !strcmp(f, "GEMM")) || (op == TERN_OP_VEC && !strcmp(f, "VEC"));
      if (!applies) continue;
      for (int b = tern_fields[i].lsb; b < tern_fields[i].lsb + tern_fields[i].width; b++)
        used[b / 64] |= 1ull << (b % 64);
    }
    int nreserved = 0;
    for (int b = 0; b < 128; b++) {
      if (used[b / 64] >> (b % 64) & 1) continue;
      nreserved++;
      tern_word w = {{(uint64_t)op, 0}};
      w.w[b / 64] |= 1ull << (b % 64);
      EXPECT_EQ(tern_decode(&w, &out, err, sizeof err), -1) << "op " << op << " bit " << b;
      EXPECT_NE(std::string(err).find("reserved bit " + std::to_string(b)), std::string::npos) << err;
    }
    EXPECT_GT(nreserved, 0);
  }
  // unknown memory 5..7 (4 is OUT8 since ISA v2)
  for (uint64_t mem = TERN_MEM_COUNT; mem < 8; mem++) {
    tern_word w = {{TERN_OP_LOAD | (mem << 8), 0}};
    EXPECT_EQ(tern_decode(&w, &out, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("MEM"), std::string::npos) << err;
  }
  tern_word w = {{TERN_OP_STORE | ((uint64_t)TERN_MEM_OUT8 << 8), 0}};
  EXPECT_EQ(tern_decode(&w, &out, err, sizeof err), 0) << err;
  EXPECT_EQ(out.mem, TERN_MEM_OUT8);
}

TEST(Isa, NamesQueuesKindsAndSizes) {
  EXPECT_STREQ(tern_op_name(TERN_OP_GEMM), "GEMM");
  EXPECT_STREQ(tern_op_name(TERN_OP_END), "END");
  EXPECT_EQ(tern_op_name(77), nullptr);
  EXPECT_STREQ(tern_vop_name(TERN_VOP_MULSHR), "MULSHR");
  EXPECT_STREQ(tern_vop_name(TERN_VOP_LUTLD), "LUTLD");
  EXPECT_STREQ(tern_vop_name(13), "MAC8");
  EXPECT_EQ(tern_vop_name(14), nullptr);
  EXPECT_EQ(TERN_VOP_COUNT, 14);
  EXPECT_EQ(TERN_ISA_VERSION, 2);
  EXPECT_STREQ(tern_mem_name(TERN_MEM_OUT), "OUT");
  EXPECT_STREQ(tern_mem_name(TERN_MEM_OUT8), "OUT8");
  EXPECT_EQ(tern_mem_name(5), nullptr);
  EXPECT_EQ(tern_vop_kind(TERN_VOP_MAC8), 'M');
  EXPECT_EQ(tern_vop_kind(TERN_VOP_ADD), 'E');
  EXPECT_EQ(tern_vop_kind(TERN_VOP_QUANT), 'Q');
  EXPECT_EQ(tern_vop_kind(TERN_VOP_RSUMSQ), 'R');
  EXPECT_EQ(tern_vop_kind(TERN_VOP_RSQRT), 'S');
  EXPECT_EQ(tern_vop_kind(TERN_VOP_LUTLD), 'L');
  EXPECT_EQ(tern_vop_kind(40), 0);
  tern_insn in = mk(TERN_OP_LOAD);
  EXPECT_EQ(tern_insn_queue(&in), TERN_Q_LOAD);
  in.op = TERN_OP_STORE;
  EXPECT_EQ(tern_insn_queue(&in), TERN_Q_STORE);
  in.op = TERN_OP_VEC;
  EXPECT_EQ(tern_insn_queue(&in), TERN_Q_COMPUTE);
  in.op = TERN_OP_END;
  EXPECT_EQ(tern_insn_queue(&in), TERN_Q_COMPUTE);
  in.op = TERN_OP_SYNC;
  in.queue = 2;
  EXPECT_EQ(tern_insn_queue(&in), TERN_Q_STORE);
  tern_hwcfg c = tern_hwcfg_default();
  EXPECT_EQ(tern_mem_word_bytes(&c, TERN_MEM_WBUF), 64u);
  EXPECT_EQ(tern_mem_word_bytes(&c, TERN_MEM_ABUF), 16u);
  EXPECT_EQ(tern_mem_word_bytes(&c, TERN_MEM_ACC), 64u);
  EXPECT_EQ(tern_mem_word_bytes(&c, TERN_MEM_OUT), 16u);
  EXPECT_EQ(tern_mem_word_bytes(&c, TERN_MEM_OUT8), 1u);
  EXPECT_EQ(tern_mem_depth(&c, TERN_MEM_OUT8), 2048u * 16u);  // bytes of OUT
  tern_hwcfg big = c;
  big.cols = 64;  // 2048 x 64 bytes: the byte view stops at the 16-bit field's reach
  EXPECT_EQ(tern_mem_depth(&big, TERN_MEM_OUT8), 65536u);
  EXPECT_EQ(tern_mem_depth(&c, TERN_MEM_ACC), 4096u);
  EXPECT_EQ(tern_mem_depth(&c, TERN_MEM_WBUF), 256u);
  EXPECT_STREQ(tern_counter_name(TERN_CNT_CYCLES), "CYCLES");
  EXPECT_STREQ(tern_counter_name(TERN_CNT_VOP_ADD + TERN_VOP_LUTLD), "VOP_LUTLD");
  EXPECT_STREQ(tern_counter_name(TERN_CNT_VOP_ADD + TERN_VOP_MAC8), "VOP_MAC8");
  EXPECT_EQ(tern_counter_name(TERN_NCOUNTERS), nullptr);
  EXPECT_EQ(tern_counter_name(-1), nullptr);
}

TEST(Isa, HwcfgValuesAndChecks) {
  char err[256], name[128];
  tern_hwcfg d = tern_hwcfg_default();
  EXPECT_EQ(tern_hwcfg_check(&d, err, sizeof err), 0) << err;
  tern_hwcfg_rtl_name(&d, name, sizeof name);
  EXPECT_STREQ(name, "r16c16_w256_a4096_c4096_o2048_q8_i65536_b16");
  EXPECT_EQ(d.dram_lat, 32);
  EXPECT_EQ(d.dram_bytes, 256ull << 20);
  EXPECT_EQ(d.clock_mhz, 200.0);
  tern_hwcfg s4 = tern_hwcfg_small(4, 4);
  tern_hwcfg_rtl_name(&s4, name, sizeof name);
  EXPECT_STREQ(name, "r4c4_w64_a256_c512_o256_q4_i8192_b4");
  EXPECT_EQ(s4.dram_lat, 8);
  EXPECT_EQ(s4.dram_bytes, 16ull << 20);
  EXPECT_EQ(tern_hwcfg_check(&s4, err, sizeof err), 0) << err;
  tern_hwcfg s8 = tern_hwcfg_small(8, 8);
  tern_hwcfg_rtl_name(&s8, name, sizeof name);
  EXPECT_STREQ(name, "r8c8_w64_a512_c1024_o512_q4_i8192_b8");
  tern_hwcfg s32 = tern_hwcfg_small(32, 16);
  tern_hwcfg_rtl_name(&s32, name, sizeof name);
  EXPECT_STREQ(name, "r32c16_w64_a512_c1024_o512_q4_i8192_b32");
  EXPECT_EQ(tern_hwcfg_check(&s32, err, sizeof err), 0) << err;

  struct {
    const char *key, *val, *expect;
  } bad[] = {{"rows", "3", "rows"},         {"cols", "128", "cols"},       {"rows", "1", "rows"},
             {"wbuf_depth", "0", "wbuf_depth"}, {"acc_depth", "65537", "acc_depth"},
             {"dram_bw", "3", "dram_bw"},   {"dram_bw", "256", "dram_bw"}, {"dram_lat", "0", "dram_lat"},
             {"qdepth", "0", "qdepth"},     {"imem_depth", "70000", "imem_depth"},
             // 16 rows: partial sums need 9 + 4 = 13 bits
             {"psum_bits", "12", "psum_bits = 12, expected 13..32 for 16 rows"},
             {"psum_bits", "33", "psum_bits = 33"}};
  for (auto &b : bad) {
    tern_hwcfg c = tern_hwcfg_default();
    ASSERT_EQ(tern_hwcfg_set(&c, b.key, b.val, err, sizeof err), 0) << err;
    EXPECT_EQ(tern_hwcfg_check(&c, err, sizeof err), -1) << b.key << "=" << b.val;
    EXPECT_NE(std::string(err).find(b.expect), std::string::npos) << err;
  }
  // the array's partial-sum width: 0 and 32 are the full width (no name suffix), others name it
  EXPECT_EQ(d.psum_bits, 32);
  EXPECT_EQ(tern_hwcfg_psum_min(2), 10);
  EXPECT_EQ(tern_hwcfg_psum_min(4), 11);
  EXPECT_EQ(tern_hwcfg_psum_min(64), 15);
  s4.psum_bits = 0;
  EXPECT_EQ(tern_hwcfg_psum_bits(&s4), 32);
  EXPECT_EQ(tern_hwcfg_check(&s4, err, sizeof err), 0) << err;
  s4.psum_bits = 11;
  EXPECT_EQ(tern_hwcfg_check(&s4, err, sizeof err), 0) << err;
  tern_hwcfg_rtl_name(&s4, name, sizeof name);
  EXPECT_STREQ(name, "r4c4_w64_a256_c512_o256_q4_i8192_b4_p11");
  ASSERT_EQ(tern_hwcfg_set(&s4, "psum_bits", "min", err, sizeof err), 0) << err;  // 9 + log2(rows)
  EXPECT_EQ(tern_hwcfg_psum_bits(&s4), 11);
  s4.rows = 8;
  EXPECT_EQ(tern_hwcfg_psum_bits(&s4), 12);
  s4.rows = 4;
  tern_hwcfg c = tern_hwcfg_default();
  EXPECT_EQ(tern_hwcfg_set(&c, "wbuf_depth", "512", err, sizeof err), 0);
  EXPECT_EQ(c.wbuf_depth, 512);
  EXPECT_EQ(tern_hwcfg_set(&c, "dram_bytes", "0x1000", err, sizeof err), 0);
  EXPECT_EQ(c.dram_bytes, 4096u);
  EXPECT_EQ(tern_hwcfg_set(&c, "dram_bytes", "16M", err, sizeof err), 0);
  EXPECT_EQ(c.dram_bytes, 16ull << 20);
  EXPECT_EQ(tern_hwcfg_set(&c, "clock_mhz", "333.5", err, sizeof err), 0);
  EXPECT_EQ(c.clock_mhz, 333.5);
  EXPECT_EQ(tern_hwcfg_set(&c, "bogus", "1", err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("bogus"), std::string::npos) << err;
  EXPECT_EQ(tern_hwcfg_set(&c, "rows", "12abc", err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("rows"), std::string::npos) << err;
  EXPECT_EQ(tern_hwcfg_set(&c, "rows", "-4", err, sizeof err), -1);
  EXPECT_EQ(tern_hwcfg_set(&c, "clock_mhz", "fast", err, sizeof err), -1);
  int r = 0, co = 0;
  EXPECT_EQ(tern_parse_array("8x16", &r, &co, err, sizeof err), 0);
  EXPECT_EQ(r, 8);
  EXPECT_EQ(co, 16);
  EXPECT_EQ(tern_parse_array("8x", &r, &co, err, sizeof err), -1);
  EXPECT_EQ(tern_parse_array("8x8x", &r, &co, err, sizeof err), -1);
}

// ---- assembler --------------------------------------------------------------

static const char *kDocExample =
    "# example of docs/ISA.md\n"
    "load  mem=wbuf sram=0 sstride=0 y=1 x=48 dram=0x1000 dstride=0 push_next\n"
    "gemm  w=0 a=0 acc=0 m=1 astride=1 accstride=1 reset pop_prev\n"
    "vec   op=mulshr mode=const dst=0 src1=0 src2=100 n=48 rows=1 dst_rs=48 src_rs=48 shift=24\n"
    "store mem=out sram=0 sstride=0 y=1 x=48 dram=0x2000 dstride=0 pop_prev push_prev\n"
    "sync  q=compute pop_next push_prev\n"
    "\n"
    "end   # done\n";

TEST(Isa, AsmDocExample) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[256];
  ASSERT_EQ(tern_asm_text(kDocExample, "ex.s", &v, &n, err, sizeof err), 0) << err;
  ASSERT_EQ(n, 6u);
  EXPECT_EQ(v[0].op, TERN_OP_LOAD);
  EXPECT_EQ(v[0].x_size, 48);
  EXPECT_EQ(v[0].dram_addr, 0x1000u);
  EXPECT_EQ(v[0].push_next, 1);
  EXPECT_EQ(v[1].op, TERN_OP_GEMM);
  EXPECT_EQ(v[1].reset, 1);
  EXPECT_EQ(v[1].pop_prev, 1);
  EXPECT_EQ(v[2].vop, TERN_VOP_MULSHR);
  EXPECT_EQ(v[2].mode, TERN_VMODE_CONST);
  EXPECT_EQ(v[2].shift, 24);
  EXPECT_EQ(v[3].mem, TERN_MEM_OUT);
  EXPECT_EQ(v[4].op, TERN_OP_SYNC);
  EXPECT_EQ(v[4].queue, TERN_Q_COMPUTE);
  EXPECT_EQ(v[4].pop_next, 1);
  EXPECT_EQ(v[5].op, TERN_OP_END);
  free(v);
}

TEST(Isa, AsmDisasmAsmIdentityRandom) {
  std::mt19937_64 g(99);
  char err[256], line[512];
  std::string text;
  std::vector<tern_insn> ref;
  for (int it = 0; it < 3000; it++) {
    tern_insn in = random_insn(g, (int)(g() % TERN_OP_COUNT));
    ref.push_back(in);
    tern_disasm_insn(&in, line, sizeof line);
    text += line;
    text += "\n";
  }
  tern_insn *v = nullptr;
  size_t n = 0;
  ASSERT_EQ(tern_asm_text(text.c_str(), "rt.s", &v, &n, err, sizeof err), 0) << err;
  ASSERT_EQ(n, ref.size());
  for (size_t i = 0; i < n; i++) {
    tern_word a, b;
    ASSERT_EQ(tern_encode(&ref[i], &a, err, sizeof err), 0);
    ASSERT_EQ(tern_encode(&v[i], &b, err, sizeof err), 0);
    ASSERT_EQ(a.w[0], b.w[0]) << i;
    ASSERT_EQ(a.w[1], b.w[1]) << i;
    // and disasm is a fixed point
    char l2[512];
    tern_disasm_insn(&v[i], l2, sizeof l2);
    tern_disasm_insn(&ref[i], line, sizeof line);
    ASSERT_STREQ(line, l2);
  }
  free(v);
}

TEST(Isa, AsmErrorsNameFileAndLine) {
  struct {
    const char *text, *expect;
  } cases[] = {
      {"end\nfoo x=1\n", "f.s:2: unknown mnemonic 'foo'"},
      {"\n\ngemm foo=1\n", "f.s:3: unknown key 'foo' for gemm"},
      {"load sram=70000\n", "f.s:1: value 70000 out of range for field SRAM_ADDR (0..65535)"},
      {"vec n=4096\n", "f.s:1: value 4096 out of range for field N (0..4095)"},
      {"vec shift=64\n", "f.s:1: value 64 out of range for field SHIFT (0..63)"},
      {"load dram=0x100000000\n", "f.s:1: value 4294967296 out of range for field DRAM_ADDR"},
      {"load sram=99999999999999999999999\n", "f.s:1: value 99999999999999999999999 out of range"},
      {"load mem=lut\n", "f.s:1: bad value 'lut' for key 'mem'"},
      {"vec op=div\n", "f.s:1: bad value 'div' for key 'op'"},
      {"vec mode=diag\n", "f.s:1: bad value 'diag' for key 'mode'"},
      {"sync q=fetch\n", "f.s:1: bad value 'fetch' for key 'q'"},
      {"load sram=12ab\n", "f.s:1: bad number '12ab' for key 'sram'"},
      {"load sram=\n", "f.s:1: bad number '' for key 'sram'"},
      {"load sram\n", "f.s:1: key 'sram' needs a value"},
      {"gemm m=1 m=2\n", "f.s:1: key 'm' given twice"},
      {"end reset\n", "f.s:1: unknown key 'reset' for end"},
      {"gemm reset=2\n", "f.s:1: value 2 out of range for field RESET (0..1)"},
      {"sync push_prev=5\n", "f.s:1: value 5 out of range for field PUSH_PREV (0..1)"},
      {"vec w=1\n", "f.s:1: unknown key 'w' for vec"},
      {"vec op=mac8 mode=vec\n", "f.s:1: bad value 'vec' for key 'mode' of op=mac8 (expected set or acc)"},
      {"vec mode=acc op=add\n", "f.s:1: bad value 'acc' for key 'mode' (expected vec, bcastrow"},
      {"vec mode=set mode=acc op=mac8\n", "f.s:1: key 'mode' given twice"},
      {"load mem=out9\n", "f.s:1: bad value 'out9' for key 'mem' (expected wbuf, abuf, acc, out or out8)"},
  };
  for (auto &c : cases) {
    tern_insn *v = (tern_insn *)0x1;
    size_t n = 7;
    char err[256] = "";
    EXPECT_EQ(tern_asm_text(c.text, "f.s", &v, &n, err, sizeof err), -1) << c.text;
    EXPECT_EQ(std::string(err).rfind(c.expect, 0), 0u) << "got: " << err << "\nwant: " << c.expect;
    EXPECT_EQ(v, nullptr);
    EXPECT_EQ(n, 0u);
  }
}

// ISA v2 syntax: MAC8 with mode=set|acc (in any key order), LOAD into OUT, OUT8 both ways.
TEST(Isa, AsmV2MacAndOut8RoundTrip) {
  const char *t =
      "vec op=mac8 mode=set dst=3 src1=10 src2=40 n=2 rows=33 src_rs=2\n"
      "vec mode=acc src_rs=0 op=MAC8 dst=0 src1=1 src2=2 n=1 rows=4095\n"
      "load mem=out sram=7 sstride=1 y=2 x=3 dram=0x40 dstride=64\n"
      "load mem=out8 sram=1001 sstride=3 y=4 x=1 dram=0x7 dstride=1\n"
      "store mem=out8 sram=65 sstride=1 y=16 x=1 dram=0x1003 dstride=40 pop_prev\n"
      "end\n";
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[256];
  ASSERT_EQ(tern_asm_text(t, "v2.s", &v, &n, err, sizeof err), 0) << err;
  ASSERT_EQ(n, 6u);
  EXPECT_EQ(v[0].vop, TERN_VOP_MAC8);
  EXPECT_EQ(v[0].mode, 0);
  EXPECT_EQ(v[0].rows, 33);
  EXPECT_EQ(v[1].vop, TERN_VOP_MAC8);
  EXPECT_EQ(v[1].mode, 1);
  EXPECT_EQ(v[1].rows, 4095);
  EXPECT_EQ(v[2].op, TERN_OP_LOAD);
  EXPECT_EQ(v[2].mem, TERN_MEM_OUT);
  EXPECT_EQ(v[3].mem, TERN_MEM_OUT8);
  EXPECT_EQ(v[4].op, TERN_OP_STORE);
  EXPECT_EQ(v[4].mem, TERN_MEM_OUT8);
  tern_hwcfg c = tern_hwcfg_default();
  EXPECT_EQ(tern_validate(&c, v, n, 1 << 20, err, sizeof err), 0) << err;
  const char *want[] = {
      "vec op=mac8 mode=set dst=3 src1=10 src2=40 n=2 rows=33 dst_rs=0 src_rs=2 shift=0",
      "vec op=mac8 mode=acc dst=0 src1=1 src2=2 n=1 rows=4095 dst_rs=0 src_rs=0 shift=0",
      "load mem=out sram=7 sstride=1 y=2 x=3 dram=0x40 dstride=64",
      "load mem=out8 sram=1001 sstride=3 y=4 x=1 dram=0x7 dstride=1",
      "store mem=out8 sram=65 sstride=1 y=16 x=1 dram=0x1003 dstride=40 pop_prev",
  };
  for (int i = 0; i < 5; i++) {
    char line[256];
    tern_disasm_insn(&v[i], line, sizeof line);
    EXPECT_STREQ(line, want[i]);
    // encode -> decode is the identity
    tern_word w;
    tern_insn d;
    ASSERT_EQ(tern_encode(&v[i], &w, err, sizeof err), 0) << err;
    ASSERT_EQ(tern_decode(&w, &d, err, sizeof err), 0) << err;
    EXPECT_TRUE(insn_eq(d, v[i])) << i;
  }
  // the ISA v2 example of docs/ISA.md "Assembly" assembles and validates (16x16)
  const char *doc =
      "load  mem=out sram=0 y=1 x=64 dram=0x4000\n"
      "vec   op=mac8 mode=acc dst=100 src1=0 src2=60 n=4 rows=64 src_rs=4\n"
      "store mem=out8 sram=130 sstride=1 y=64 x=1 dram=0x9007 dstride=128\n"
      "end\n";
  tern_insn *dv = nullptr;
  size_t dn = 0;
  ASSERT_EQ(tern_asm_text(doc, "doc.s", &dv, &dn, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_validate(&c, dv, dn, 1 << 20, err, sizeof err), 0) << err;
  free(dv);
  // VOP 13 sits in bits 13:8 and MODE acc in 15:14
  tern_word w;
  ASSERT_EQ(tern_encode(&v[1], &w, err, sizeof err), 0) << err;
  EXPECT_EQ((w.w[0] >> 8) & 63u, 13u);
  EXPECT_EQ((w.w[0] >> 14) & 3u, 1u);
  free(v);
}

TEST(Isa, AsmAcceptsCommentsCaseAndNumbers) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[256];
  const char *t = "  # only a comment\n\tLOAD mem=ABUF y=0x2 x=3 # trailing\nvec op=RSQRT mode=2 n=1 rows=1\r\nend";
  ASSERT_EQ(tern_asm_text(t, "c.s", &v, &n, err, sizeof err), 0) << err;
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(v[0].mem, TERN_MEM_ABUF);
  EXPECT_EQ(v[0].y_size, 2);
  EXPECT_EQ(v[1].vop, TERN_VOP_RSQRT);
  EXPECT_EQ(v[1].mode, TERN_VMODE_PERROW);
  EXPECT_EQ(v[2].op, TERN_OP_END);
  free(v);
  ASSERT_EQ(tern_asm_text("", "e.s", &v, &n, err, sizeof err), 0);
  EXPECT_EQ(n, 0u);
  free(v);
}

// ---- raw words ----------------------------------------------------------------

TEST(Isa, WordsDecode) {
  char err[256];
  std::vector<uint8_t> bytes;
  std::mt19937_64 g(5);
  std::vector<tern_insn> ref;
  for (int i = 0; i < 50; i++) {
    tern_insn in = random_insn(g, (int)(g() % TERN_OP_COUNT));
    tern_word w;
    ASSERT_EQ(tern_encode(&in, &w, err, sizeof err), 0);
    for (int b = 0; b < 8; b++) bytes.push_back((uint8_t)(w.w[0] >> (8 * b)));
    for (int b = 0; b < 8; b++) bytes.push_back((uint8_t)(w.w[1] >> (8 * b)));
    ref.push_back(in);
  }
  tern_insn *v = nullptr;
  size_t n = 0;
  ASSERT_EQ(tern_words_decode(bytes.data(), bytes.size(), &v, &n, err, sizeof err), 0) << err;
  ASSERT_EQ(n, ref.size());
  for (size_t i = 0; i < n; i++) EXPECT_TRUE(insn_eq(v[i], ref[i])) << i;
  free(v);
  // truncated
  EXPECT_EQ(tern_words_decode(bytes.data(), 16 * 7 + 5, &v, &n, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("byte offset 112"), std::string::npos) << err;
  // undecodable word 3
  bytes[16 * 3] = 0x0f;
  EXPECT_EQ(tern_words_decode(bytes.data(), bytes.size(), &v, &n, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("byte offset 48"), std::string::npos) << err;
  EXPECT_EQ(v, nullptr);
}

// ---- .tbin --------------------------------------------------------------------

namespace {
void make_program(tern_program *p) {
  tern_program_init(p);
  p->cfg = tern_hwcfg_small(4, 4);
  char err[256];
  tern_insn *v = nullptr;
  size_t n = 0;
  const char *t =
      "load mem=wbuf sram=0 sstride=0 y=1 x=1 dram=0 dstride=0 push_next\n"
      "gemm w=0 a=0 acc=0 m=1 astride=1 accstride=1 reset pop_prev\n"
      "end\n";
  if (tern_asm_text(t, "p.s", &v, &n, err, sizeof err) != 0) abort();
  for (size_t i = 0; i < n; i++) tern_program_add_insn(p, &v[i]);
  free(v);
  uint8_t seg[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  tern_program_add_segment(p, 0x40, seg, sizeof seg);
  tern_program_add_segment(p, 0x100, seg, 3);
  tern_tensor_ref tr;
  memset(&tr, 0, sizeof tr);
  snprintf(tr.name, sizeof tr.name, "x");
  tr.dram_addr = 0x40;
  tr.dtype = TERN_DT_I32;
  tr.rows = 1;
  tr.cols = 2;
  tr.row_stride = 8;
  tern_program_add_tensor(p, &tr);
}

std::vector<uint8_t> slurp(const std::string &path) {
  std::vector<uint8_t> d;
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return d;
  int ch;
  while ((ch = fgetc(f)) != EOF) d.push_back((uint8_t)ch);
  fclose(f);
  return d;
}

void spit(const std::string &path, const std::vector<uint8_t> &d, size_t len) {
  FILE *f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (len) fwrite(d.data(), 1, len, f);
  fclose(f);
}
}  // namespace

TEST(Isa, TbinRoundTrip) {
  tern_program p, q;
  make_program(&p);
  std::string path = tmpfile_path("rt");
  char err[512];
  ASSERT_EQ(tern_program_write(&p, path.c_str(), err, sizeof err), 0) << err;
  ASSERT_EQ(tern_program_read(&q, path.c_str(), err, sizeof err), 0) << err;
  EXPECT_EQ(q.cfg.rows, 4);
  EXPECT_EQ(q.cfg.acc_depth, 512);
  EXPECT_EQ(q.cfg.dram_lat, 8);
  EXPECT_EQ(q.dram_size, p.dram_size);
  EXPECT_EQ(p.dram_size, 0x103u);
  ASSERT_EQ(q.n_insns, p.n_insns);
  for (size_t i = 0; i < q.n_insns; i++) EXPECT_TRUE(insn_eq(q.insns[i], p.insns[i]));
  ASSERT_EQ(q.n_segs, 2u);
  EXPECT_EQ(q.segs[0].dram_addr, 0x40u);
  EXPECT_EQ(q.segs[0].len, 10u);
  EXPECT_EQ(memcmp(q.segs[0].data, p.segs[0].data, 10), 0);
  EXPECT_EQ(q.segs[1].len, 3u);
  ASSERT_EQ(q.n_tensors, 1u);
  const tern_tensor_ref *t = tern_program_find_tensor(&q, "x");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->row_stride, 8u);
  EXPECT_EQ(tern_program_find_tensor(&q, "y"), nullptr);
  std::vector<uint8_t> dram(0x200, 0);
  ASSERT_EQ(tern_program_init_dram(&q, dram.data(), dram.size(), err, sizeof err), 0);
  EXPECT_EQ(dram[0x40], 1);
  EXPECT_EQ(dram[0x102], 3);
  EXPECT_EQ(tern_program_init_dram(&q, dram.data(), 0x41, err, sizeof err), -1);
  // file size: header 72 + 3*16 + (8+10) + (8+3) + 52 + 4
  EXPECT_EQ(slurp(path).size(), 72u + 48 + 18 + 11 + 52 + 4);
  tern_program_free(&p);
  tern_program_free(&q);
  remove(path.c_str());
}

TEST(Isa, TbinCorruptFilesGiveErrors) {
  tern_program p, q;
  make_program(&p);
  std::string path = tmpfile_path("bad"), bad = tmpfile_path("bad2");
  char err[512];
  ASSERT_EQ(tern_program_write(&p, path.c_str(), err, sizeof err), 0) << err;
  std::vector<uint8_t> good = slurp(path);
  ASSERT_GT(good.size(), 100u);
  // truncated at every offset
  for (size_t len = 0; len < good.size(); len++) {
    spit(bad, good, len);
    err[0] = 0;
    ASSERT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1) << len;
    EXPECT_NE(std::string(err).find(bad), std::string::npos) << err;
  }
  // wrong magic
  std::vector<uint8_t> d = good;
  d[0] = 'X';
  spit(bad, d, d.size());
  EXPECT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("magic"), std::string::npos) << err;
  // wrong version
  d = good;
  d[8] = 2;
  spit(bad, d, d.size());
  EXPECT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("version"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("expected 1"), std::string::npos) << err;
  // every single flipped byte after the version gives an error (CRC or a
  // size field that no longer matches the file)
  for (size_t off = 12; off < good.size(); off++) {
    d = good;
    d[off] ^= 0x5a;
    spit(bad, d, d.size());
    err[0] = 0;
    ASSERT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1) << off;
    EXPECT_GT(strlen(err), 0u);
  }
  // flipped byte in an instruction -> CRC error named
  d = good;
  d[72 + 20] ^= 1;
  spit(bad, d, d.size());
  EXPECT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("CRC"), std::string::npos) << err;
  // huge instruction count: rejected against the file size, no huge malloc
  d = good;
  d[60] = d[61] = d[62] = d[63] = 0xff;
  spit(bad, d, d.size());
  EXPECT_EQ(tern_program_read(&q, bad.c_str(), err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("n_insns"), std::string::npos) << err;
  // missing file
  EXPECT_EQ(tern_program_read(&q, "/nonexistent/x.tbin", err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("/nonexistent/x.tbin"), std::string::npos);
  tern_program_free(&p);
  remove(path.c_str());
  remove(bad.c_str());
}

// ---- tern_validate -------------------------------------------------------------

namespace {
int validate_text(const tern_hwcfg &cfg, const char *text, std::string *msg, uint64_t dram = 1 << 20) {
  tern_insn *v = nullptr;
  size_t n = 0;
  char err[512];
  if (tern_asm_text(text, "v.s", &v, &n, err, sizeof err) != 0) {
    *msg = std::string("ASM: ") + err;
    return -2;
  }
  err[0] = 0;
  int rc = tern_validate(&cfg, v, n, dram, err, sizeof err);
  *msg = err;
  free(v);
  return rc;
}
}  // namespace

TEST(Isa, ValidateAcceptsGoodProgram) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);
  std::string m;
  const char *t =
      "load mem=wbuf sram=63 sstride=0 y=1 x=1 dram=0 dstride=0 push_next\n"
      "load mem=abuf sram=0 sstride=4 y=64 x=4 dram=0 dstride=16\n"  // last word 255
      "gemm w=63 a=0 acc=0 m=8 astride=1 accstride=64 reset pop_prev\n"  // acc 0..448
      "vec op=add mode=vec dst=0 src1=0 src2=500 n=2 rows=3 dst_rs=2 src_rs=2\n"  // in place
      "vec op=quant mode=perrow dst=255 src1=0 src2=10 n=1 rows=1 shift=30\n"
      "vec op=rsum dst=100 src1=0 n=4 rows=2 dst_rs=1 src_rs=4 shift=3\n"
      "vec op=recip mode=perrow dst=200 src1=0 src2=300 n=1 rows=4 dst_rs=1 src_rs=1 shift=62\n"
      "vec op=lutld src1=448 n=64 rows=1\n"
      "vec op=lut dst=0 src1=0 src2=0 n=4 rows=1\n"  // b unused
      "store mem=out sram=0 sstride=0 y=1 x=256 dram=0xff000 dstride=0\n"
      "sync q=store pop_prev push_prev\n"
      "sync q=load pop_next push_next\n"
      "end\n";
  EXPECT_EQ(validate_text(c, t, &m), 0) << m;
}

TEST(Isa, ValidateCatchesEachRule) {
  tern_hwcfg c = tern_hwcfg_small(4, 4);  // wbuf 64 abuf 256 acc 512 out 256
  struct {
    const char *text, *expect;
  } cases[] = {
      {"store mem=wbuf y=1 x=1\nend\n", "insn 0 (STORE): field MEM = 0, expected ACC (2), OUT (3) or OUT8 (4)"},
      {"store mem=abuf y=1 x=1\nend\n", "insn 0 (STORE): field MEM = 1"},
      {"load mem=out sram=250 sstride=4 y=2 x=3\nend\n", "SRAM range 250..256 exceeds OUT depth 256"},
      // OUT8: byte addresses, OUT depth 256 x 4 bytes
      {"load mem=out8 sram=1020 sstride=2 y=3 x=1\nend\n", "SRAM range 1020..1024 exceeds OUT8 depth 1024"},
      {"store mem=out8 sram=1000 y=1 x=25\nend\n", "SRAM range 1000..1024 exceeds OUT8 depth 1024"},
      {"store mem=out8 y=2 x=1 dram=0xfffff dstride=1\nend\n", "DRAM range 0xfffff..0x100000 exceeds DRAM size"},
      // MAC8
      {"vec op=mac8 mode=2 n=1 rows=1\nend\n", "insn 0 (VEC MAC8): field MODE = 2, expected 0 (set) or 1 (acc)"},
      {"vec op=mac8 n=1 rows=1 shift=3\nend\n", "field SHIFT = 3, expected 0 for MAC8"},
      {"vec op=mac8 n=1 rows=1 dst_rs=1\nend\n", "field DST_RS = 1, expected 0 for MAC8"},
      {"vec op=mac8 n=0 rows=1\nend\n", "field N = 0"},
      {"vec op=mac8 n=1 rows=0\nend\n", "field ROWS = 0"},
      {"vec op=mac8 src1=200 src_rs=20 n=2 rows=4\nend\n", "SRC1 (B rows) range 200..261 exceeds OUT depth 256"},
      {"vec op=mac8 src1=0 src2=250 n=1 rows=25 src_rs=1\nend\n", "SRC2 (scalar stream) range 250..256 exceeds OUT depth 256"},
      {"vec op=mac8 dst=510 n=3 rows=1\nend\n", "DST range 510..512 exceeds ACC depth 512"},
      {"load mem=acc y=0 x=1\nend\n", "Y_SIZE = 0"},
      {"load mem=acc y=1 x=0\nend\n", "X_SIZE = 0"},
      {"load mem=acc sram=500 sstride=3 y=2 x=10\nend\n", "insn 0 (LOAD): SRAM range 500..512 exceeds ACC depth 512"},
      {"load mem=abuf sram=0 sstride=0x8000 y=3 x=1\nend\n", "SRAM range 0..65536 exceeds ABUF depth 256"},
      {"load mem=acc y=2 x=1 dram=0xffff0 dstride=16\nend\n", "DRAM range 0xffff0..0x10000f exceeds DRAM size 0x100000"},
      {"load mem=acc y=1 x=1 pop_prev\nend\n", "load-queue instruction may not set POP_PREV"},
      {"sync q=load push_prev\nend\n", "may not set PUSH_PREV"},
      {"store mem=out y=1 x=1 push_next\nend\n", "store-queue instruction may not set PUSH_NEXT"},
      {"sync q=store pop_next\nend\n", "may not set POP_NEXT"},
      {"sync q=3\nend\n", "insn 0 (SYNC): field QUEUE = 3"},
      {"gemm m=0\nend\n", "field M = 0"},
      {"gemm w=64 m=1\nend\n", "WBUF_ADDR 64 exceeds WBUF depth 64"},
      {"gemm a=250 astride=3 m=3\nend\n", "ABUF range 250..256 exceeds ABUF depth 256"},
      {"gemm acc=511 m=2 accstride=0\nend\ngemm acc=511 m=2 accstride=1\nend\n", "insn 1 (END): END must be the last"},
      {"gemm acc=511 m=2 accstride=1\nend\n", "ACC range 511..512 exceeds ACC depth 512"},
      {"vec op=mulshr dst=0 src1=500 src2=0 n=32 rows=1 shift=24\nend\n",
       "insn 0 (VEC MULSHR): SRC1 range 500..531 exceeds ACC depth 512"},
      {"vec op=add mode=vec dst=0 src1=100 src2=500 n=4 rows=4 src_rs=4\nend\n", "SRC2 range 500..515"},
      {"vec op=add mode=perrow dst=0 src1=100 src2=510 n=4 rows=4 src_rs=4\nend\n", "SRC2 range 510..513"},
      {"vec op=add dst=510 src1=100 src2=200 n=4 rows=1\nend\n", "DST range 510..513 exceeds ACC depth 512"},
      {"vec op=quant dst=250 src1=100 src2=200 n=8 rows=1\nend\n", "DST range 250..257 exceeds OUT depth 256"},
      {"vec op=add n=0 rows=1\nend\n", "field N = 0"},
      {"vec op=add n=1 rows=0\nend\n", "field ROWS = 0"},
      {"vec op=recip dst=10 src1=0 src2=1 n=2 rows=1\nend\n", "field N = 2, expected 1"},
      {"vec op=rsqrt dst=10 src1=0 src2=1 n=1 rows=1 shift=63\nend\n", "SHIFT = 63, expected <= 62"},
      {"vec op=lutld src1=0 n=32 rows=1\nend\n", "expected N*cols = 256"},
      {"vec op=add dst=4 src1=0 src2=100 n=8 rows=1\nend\n", "DST range 4..11 overlaps SRC1 range 0..7"},
      {"vec op=add dst=0 src1=0 src2=100 n=2 rows=2 dst_rs=3 src_rs=2\nend\n", "overlaps SRC1"},
      {"vec op=add dst=0 src1=0 src2=4 n=8 rows=1\nend\n", "DST range 0..7 overlaps SRC2 range 4..11"},
      {"vec op=add mode=const dst=0 src1=0 src2=3 n=8 rows=1\nend\n", "overlaps SRC2 range 3..3"},
      {"vec op=rsum dst=0 src1=0 n=8 rows=1\nend\n", "overlaps SRC1"},  // in place not allowed for R
      {"vec op=recip mode=perrow dst=5 src1=0 src2=4 n=1 rows=3 dst_rs=1 src_rs=1\nend\n", "overlaps SRC2"},
      {"load mem=acc y=1 x=1\n", "the last instruction must be END"},
      {"", "empty program"},
      {"end\nend\n", "insn 0 (END): END must be the last"},
  };
  for (auto &cs : cases) {
    std::string m;
    EXPECT_EQ(validate_text(c, cs.text, &m), -1) << cs.text;
    EXPECT_NE(m.find(cs.expect), std::string::npos) << "text:\n" << cs.text << "got:  " << m << "\nwant: " << cs.expect;
  }
  // strided sets that interleave without sharing a word are accepted
  std::string m;
  EXPECT_EQ(validate_text(c, "vec op=add dst=1 src1=0 src2=100 n=1 rows=8 dst_rs=2 src_rs=2\nend\n", &m), 0) << m;
  // in place with src2 == src1 (x + x) is accepted
  EXPECT_EQ(validate_text(c, "vec op=add dst=0 src1=0 src2=0 n=4 rows=2 dst_rs=4 src_rs=4\nend\n", &m), 0) << m;
  // MAC8 at the edges: B rows and the stream may overlap (OUT is only read), SRC_RS 0
  EXPECT_EQ(validate_text(c, "vec op=mac8 mode=acc dst=509 src1=250 src2=6 n=3 rows=1000 src_rs=0\nend\n", &m), 0) << m;
  EXPECT_EQ(validate_text(c, "vec op=mac8 mode=set dst=0 src1=0 src2=252 n=1 rows=16 src_rs=17\nend\n", &m), 0) << m;
  // LOAD into OUT and OUT8 (ISA v2), up to the last word / byte
  EXPECT_EQ(validate_text(c, "load mem=out sram=255 y=1 x=1\nload mem=out8 sram=1023 y=1 x=1\n"
                             "store mem=out8 sram=0 sstride=1023 y=2 x=1\nend\n", &m), 0) << m;
  // program larger than IMEM
  tern_hwcfg tiny = c;
  tiny.imem_depth = 2;
  EXPECT_EQ(validate_text(tiny, "sync q=load\nsync q=load\nend\n", &m), -1);
  EXPECT_NE(m.find("exceeds IMEM depth 2"), std::string::npos) << m;
  // bad hardware config is reported
  tern_hwcfg badc = c;
  badc.rows = 3;
  EXPECT_EQ(validate_text(badc, "end\n", &m), -1);
  EXPECT_NE(m.find("rows = 3"), std::string::npos) << m;
}
