// Energy model: technology table parsing and counter arithmetic (runtime/energy.c).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "tern/energy.h"
#include "tern/isa.h"

namespace {

// A valid table with distinct, easy numbers; line 1 is a comment, keys on lines 2..14.
std::string GoodTable() {
  return "# test table\n"
         "int8_add\t1\tpJ/op\tt\n"
         "int32_add\t2\tpJ/op\tt\n"
         "int8_mul\t3\tpJ/op\tt\n"
         "int32_mul\t5\tpJ/op\tt\n"
         "fp16_add\t7\tpJ/op\tt\n"
         "fp16_mul\t11\tpJ/op\tt\n"
         "fp32_add\t0.5\tpJ/op\tt\n"
         "fp32_mul\t0.25\tpJ/op\tt\n"
         "sram_8kb_64b\t13\tpJ/64b\tt\n"
         "sram_32kb_64b\t17\tpJ/64b\tt\n"
         "sram_1mb_64b\t19\tpJ/64b\tsome source with spaces\n"
         "dram_64b\t64\tpJ/64b\tt\n"
         "int8_mac\t23\tpJ/op\tt\n";
}

// Replace line `lineno` (1-based) of text by `repl` (no newline).
std::string ReplaceLine(const std::string &text, int lineno, const std::string &repl) {
  std::string out;
  int ln = 1;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    out += (ln == lineno ? repl : line) + "\n";
    ln++;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

void ExpectParseError(const std::string &text, const std::string &where, const std::string &what) {
  tern_tech t;
  char err[1024] = "";
  ASSERT_NE(tern_tech_parse(text.c_str(), "tab.tsv", &t, err, sizeof err), 0) << text;
  EXPECT_NE(std::string(err).find(where), std::string::npos) << err;
  EXPECT_NE(std::string(err).find(what), std::string::npos) << err;
}

}  // namespace

TEST(EnergyTable, GoodTableParses) {
  tern_tech t;
  char err[1024] = "";
  ASSERT_EQ(tern_tech_parse(GoodTable().c_str(), "tab.tsv", &t, err, sizeof err), 0) << err;
  EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_ADD], 1.0);
  EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP32_MUL], 0.25);
  EXPECT_DOUBLE_EQ(t.pj[TERN_TK_DRAM], 64.0);
  EXPECT_EQ(t.line[TERN_TK_INT8_ADD], 2);
  EXPECT_EQ(t.line[TERN_TK_DRAM], 13);
  EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_MAC], 23.0);
  EXPECT_EQ(t.line[TERN_TK_INT8_MAC], 14);
  EXPECT_STREQ(t.source[TERN_TK_SRAM_1MB], "some source with spaces");
  EXPECT_STREQ(t.title, "test table");
  // CRLF line endings and blank lines are accepted
  std::string crlf;
  for (char c : GoodTable()) {
    if (c == '\n') crlf += "\r\n\r\n";
    else crlf += c;
  }
  ASSERT_EQ(tern_tech_parse(crlf.c_str(), "crlf.tsv", &t, err, sizeof err), 0) << err;
  EXPECT_DOUBLE_EQ(t.pj[TERN_TK_SRAM_32KB], 17.0);
}

TEST(EnergyTable, ShippedTablesLoad) {
  for (const char *node : {"45nm", "7nm"}) {
    char path[1024], err[1024] = "";
    ASSERT_EQ(tern_tech_path(node, path, sizeof path, err, sizeof err), 0) << err;
    tern_tech t;
    ASSERT_EQ(tern_tech_load(path, &t, err, sizeof err), 0) << err;
    // the numbers the brief fixes
    if (std::string(node) == "45nm") {
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_ADD], 0.03);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT32_ADD], 0.1);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_MUL], 0.2);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT32_MUL], 3.1);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP16_ADD], 0.4);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP16_MUL], 1.1);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP32_ADD], 0.9);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP32_MUL], 3.7);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_SRAM_8KB], 10);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_SRAM_32KB], 20);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_SRAM_1MB], 100);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_DRAM], 1300);
      // MAC8 lane: 8b mult + 32b add of the same source
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_MAC], t.pj[TERN_TK_INT8_MUL] + t.pj[TERN_TK_INT32_ADD]);
      EXPECT_NE(std::string(t.source[TERN_TK_INT8_MAC]).find("Horowitz"), std::string::npos);
    } else {
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP16_ADD], 0.16);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_FP16_MUL], 0.34);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_ADD], 0.007);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_MUL], 0.07);
      EXPECT_DOUBLE_EQ(t.pj[TERN_TK_INT8_MAC], t.pj[TERN_TK_INT8_MUL] + t.pj[TERN_TK_INT32_ADD]);
      EXPECT_NE(std::string(t.source[TERN_TK_INT8_MAC]).find("45 nm value reused"), std::string::npos);
      // everything else is the 45 nm value and says so
      for (int k : {TERN_TK_INT32_ADD, TERN_TK_INT32_MUL, TERN_TK_FP32_ADD, TERN_TK_FP32_MUL,
                    TERN_TK_SRAM_8KB, TERN_TK_SRAM_32KB, TERN_TK_SRAM_1MB, TERN_TK_DRAM})
        EXPECT_NE(std::string(t.source[k]).find("not in source; 45 nm value reused"),
                  std::string::npos)
            << tern_tech_key_name(k);
    }
  }
}

TEST(EnergyTable, WrongFieldCount) {
  ExpectParseError(ReplaceLine(GoodTable(), 3, "int32_add\t2\tpJ/op"), "tab.tsv:3:", "4 TAB-separated");
  ExpectParseError(ReplaceLine(GoodTable(), 3, "int32_add 2 pJ/op src"), "tab.tsv:3:", "4 TAB-separated");
  ExpectParseError(ReplaceLine(GoodTable(), 4, "int8_mul\t3\tpJ/op\ta\tb"), "tab.tsv:4:", "4 TAB-separated");
}

TEST(EnergyTable, UnknownKey) {
  ExpectParseError(ReplaceLine(GoodTable(), 5, "int16_mul\t5\tpJ/op\tt"), "tab.tsv:5:",
                   "unknown key 'int16_mul'");
}

TEST(EnergyTable, DuplicateKey) {
  ExpectParseError(ReplaceLine(GoodTable(), 5, "int8_add\t5\tpJ/op\tt"), "tab.tsv:5:",
                   "duplicate key 'int8_add' (first on line 2)");
}

TEST(EnergyTable, BadValue) {
  for (const char *v : {"abc", "", "-1", "1.5x", "nan", "inf", "1e999"})
    ExpectParseError(ReplaceLine(GoodTable(), 6, std::string("fp16_add\t") + v + "\tpJ/op\tt"),
                     "tab.tsv:6:", "expected a finite number >= 0");
}

TEST(EnergyTable, BadUnit) {
  ExpectParseError(ReplaceLine(GoodTable(), 10, "sram_8kb_64b\t13\tpJ/op\tt"), "tab.tsv:10:",
                   "unit 'pJ/op', expected 'pJ/64b'");
  ExpectParseError(ReplaceLine(GoodTable(), 2, "int8_add\t1\tnJ\tt"), "tab.tsv:2:",
                   "expected 'pJ/op'");
}

TEST(EnergyTable, EmptySource) {
  ExpectParseError(ReplaceLine(GoodTable(), 7, "fp16_mul\t11\tpJ/op\t  "), "tab.tsv:7:",
                   "empty source");
}

TEST(EnergyTable, MissingKey) {
  ExpectParseError(ReplaceLine(GoodTable(), 13, "# dram removed"), "tab.tsv:15:",
                   "missing key 'dram_64b'");
  // a table without the ISA v2 key is refused, naming it
  ExpectParseError(ReplaceLine(GoodTable(), 14, ""), "tab.tsv:15:", "missing key 'int8_mac' (unit pJ/op)");
}

TEST(EnergyTable, LoadErrors) {
  tern_tech t;
  char err[1024] = "";
  EXPECT_NE(tern_tech_load("/nonexistent/dir/x.tsv", &t, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("/nonexistent/dir/x.tsv"), std::string::npos) << err;
  // a file on disk: errors carry its path and line
  char tmpl[] = "/tmp/tern_energy_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::string bad = ReplaceLine(GoodTable(), 8, "fp32_add\tx\tpJ/op\tt");
  ASSERT_EQ(write(fd, bad.data(), bad.size()), (ssize_t)bad.size());
  close(fd);
  EXPECT_NE(tern_tech_load(tmpl, &t, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find(std::string(tmpl) + ":8:"), std::string::npos) << err;
  unlink(tmpl);
  char path[256];
  EXPECT_NE(tern_tech_path("../etc", path, sizeof path, err, sizeof err), 0);
  EXPECT_NE(tern_tech_path("", path, sizeof path, err, sizeof err), 0);
}

TEST(EnergyModel, HandMadeCounters) {
  tern_tech t;
  char err[1024] = "";
  ASSERT_EQ(tern_tech_parse(GoodTable().c_str(), "tab.tsv", &t, err, sizeof err), 0) << err;
  tern_hwcfg cfg = tern_hwcfg_small(4, 4);
  // all four buffers of the 4x4 configuration are <= 8 KB
  ASSERT_LE(tern_energy_buffer_bytes(&cfg, TERN_MEM_ACC), 8192u);
  tern_counters c = {};
  c.v[TERN_CNT_CYCLES] = 12345;  // not energy
  c.v[TERN_CNT_PE_ADDS] = 100;
  c.v[TERN_CNT_PE_SKIPS] = 50;
  c.v[TERN_CNT_WBUF_RD] = 3;
  c.v[TERN_CNT_WBUF_WR] = 5;
  c.v[TERN_CNT_ABUF_RD] = 10;
  c.v[TERN_CNT_ABUF_WR] = 6;
  c.v[TERN_CNT_ACC_RD] = 7;
  c.v[TERN_CNT_ACC_WR] = 9;
  c.v[TERN_CNT_OUT_RD] = 2;
  c.v[TERN_CNT_OUT_WR] = 2;
  c.v[TERN_CNT_VOP_LUT] = 3;
  c.v[TERN_CNT_VOP_LUTLD] = 4;
  c.v[TERN_CNT_VOP_ADD] = 1;
  c.v[TERN_CNT_VOP_SUB] = 1;
  c.v[TERN_CNT_VOP_MAX] = 1;
  c.v[TERN_CNT_VOP_MIN] = 1;
  c.v[TERN_CNT_VOP_MULSHR] = 2;
  c.v[TERN_CNT_VOP_QUANT] = 1;
  c.v[TERN_CNT_VOP_RSUM] = 1;
  c.v[TERN_CNT_VOP_RMAXABS] = 1;
  c.v[TERN_CNT_VOP_RSUMSQ] = 1;
  c.v[TERN_CNT_VOP_RECIP] = 1;
  c.v[TERN_CNT_VOP_RSQRT] = 2;
  c.v[TERN_CNT_DRAM_RD_BYTES] = 100;
  c.v[TERN_CNT_DRAM_WR_BYTES] = 28;
  c.v[TERN_CNT_VOP_MAC8] = 3;
  tern_energy e;
  ASSERT_EQ(tern_energy_compute(&t, &cfg, &c, 1000, 64, 2, &e, err, sizeof err), 0) << err;
  // 4x4: WBUF word 32 bits (0.5 x 64), ABUF 32 bits, ACC 128 bits (2 x 64), OUT 32 bits
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_ARRAY], 100 * 2.0);           // PE_ADDS x int32_add
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_SKIP], 0.0);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_WBUF], 8 * 0.5 * 13);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_ABUF], 16 * 0.5 * 13);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_ACC], 16 * 2.0 * 13);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_OUT], 4 * 0.5 * 13);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_LUT], 7 * 4 * 0.5 * 13);     // per lane 32-bit access
  // 4 lanes: add-class 4+2 words x 4 x 2; mul-class 3 x 4 x 5; rsumsq 4 x 7; recip/rsqrt 3 x 64 x 2
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_VALU], 6 * 4 * 2.0 + 3 * 4 * 5.0 + 4 * 7.0 + 3 * 64 * 2.0);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_DRAM], 128 * 8 / 64.0 * 64);
  EXPECT_DOUBLE_EQ(e.pj[TERN_EC_MAC8], 3 * 4 * 23.0);          // events x C lanes x int8_mac
  EXPECT_STREQ(tern_energy_component_name(TERN_EC_MAC8), "vector int8 MACs");
  EXPECT_DOUBLE_EQ(e.total_pj, 200 + 52 + 104 + 416 + 26 + 182 + 520 + 1024 + 276);
  EXPECT_DOUBLE_EQ(e.tern_arith_pj, 200);
  EXPECT_DOUBLE_EQ(e.fp16_arith_pj, 1000 * (11 + 7.0));
  EXPECT_DOUBLE_EQ(e.int8_arith_pj, 1000 * (3 + 2.0));
  EXPECT_DOUBLE_EQ(e.tern_wdram_pj, 64 * 2.0);   // 1 pJ/bit
  EXPECT_DOUBLE_EQ(e.fp16_wdram_pj, 64 * 16.0);
  EXPECT_DOUBLE_EQ(e.int8_wdram_pj, 64 * 8.0);
  EXPECT_EQ(e.tokens, 2);
  // zero counters -> zero energy; bad tokens -> error
  tern_counters z = {};
  ASSERT_EQ(tern_energy_compute(&t, &cfg, &z, 0, 0, 1, &e, err, sizeof err), 0);
  EXPECT_DOUBLE_EQ(e.total_pj, 0.0);
  EXPECT_NE(tern_energy_compute(&t, &cfg, &z, 0, 0, 0, &e, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("tokens"), std::string::npos);
}

TEST(EnergyModel, SramClassesOfDefaultConfig) {
  tern_hwcfg cfg = tern_hwcfg_default();  // 16x16
  EXPECT_EQ(tern_energy_buffer_bytes(&cfg, TERN_MEM_WBUF), 256u * 64);
  EXPECT_EQ(tern_energy_sram_class(tern_energy_buffer_bytes(&cfg, TERN_MEM_WBUF)), TERN_TK_SRAM_32KB);
  EXPECT_EQ(tern_energy_sram_class(tern_energy_buffer_bytes(&cfg, TERN_MEM_ABUF)), TERN_TK_SRAM_1MB);
  EXPECT_EQ(tern_energy_sram_class(tern_energy_buffer_bytes(&cfg, TERN_MEM_ACC)), TERN_TK_SRAM_1MB);
  EXPECT_EQ(tern_energy_sram_class(tern_energy_buffer_bytes(&cfg, TERN_MEM_OUT)), TERN_TK_SRAM_32KB);
  EXPECT_EQ(tern_energy_sram_class(8192), TERN_TK_SRAM_8KB);
  EXPECT_EQ(tern_energy_sram_class(8193), TERN_TK_SRAM_32KB);
}
