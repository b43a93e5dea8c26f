// Hostile inputs of issue 12 ("Hardening"), each a regression test that
// failed before its fix: DRAM-size arithmetic and tensor geometry of a
// crafted .tbin (tern exec wrote out of bounds), programs the RTL ran
// without validation, a .tbin header that started an RTL build, hardware
// configurations without upper bounds, wrapping number parsing, model
// descriptions far beyond memory, and endless inputs (/dev/zero).
#include <gtest/gtest.h>

#include "run_cmd.h"
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tern/backend.h"
#include "tern/ckpt.h"
#include "tern/hwcfg.h"
#include "tern/io.h"
#include "tern/isa.h"
#include "tern/program.h"
#include "tern/sweep.h"
#include "tern/tfm.h"

namespace {

struct Cli {
  int status;
  std::string out;
};

// Runs build/tern with the arguments (shell words), stdout+stderr captured.
Cli RunTern(const std::string &args, const std::string &env = "") {
  Cli r{-1, ""};
  r.status = tern_test::RunCmd(env + " " TERN_ROOT "/build/tern " + args, &r.out);
  return r;
}

std::string TmpPath(const char *name) {
  const char *t = getenv("TMPDIR");
  return std::string(t && *t ? t : "/tmp") + "/tern_hardening_" + std::to_string(getpid()) + "_" +
         name;
}

tern_insn End() {
  tern_insn e;
  memset(&e, 0, sizeof e);
  e.op = TERN_OP_END;
  return e;
}

// A one-instruction program (END) on the 4x4 test configuration with one tensor.
void OneTensorProgram(tern_program *p, const char *name, uint32_t dtype, uint32_t rows,
                      uint32_t cols, uint32_t stride, uint64_t dram_size) {
  tern_program_init(p);
  p->cfg = tern_hwcfg_small(4, 4);
  tern_insn e = End();
  tern_program_add_insn(p, &e);
  tern_tensor_ref t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "%s", name);
  t.dtype = dtype;
  t.rows = rows;
  t.cols = cols;
  t.row_stride = stride;
  tern_program_add_tensor(p, &t);
  p->dram_size = dram_size;
}

std::string WriteProgram(const tern_program *p, const char *name) {
  std::string path = TmpPath(name);
  char err[512];
  EXPECT_EQ(tern_program_write(p, path.c_str(), err, sizeof err), 0) << err;
  return path;
}

}  // namespace

// ---- tern exec: DRAM size and tensor geometry --------------------------------

TEST(Hardening, ExecDramSizeNear2To64IsRefused) {
  // dram_size + 63 wrapped to a 64-byte DRAM, then --input-seed wrote the
  // 16 x 64 tensor 'x' far past it (ASan: heap-buffer-overflow in cmd_exec)
  tern_program p;
  OneTensorProgram(&p, "x", TERN_DT_I32, 16, 64, 256, UINT64_MAX - 10);
  std::string f = WriteProgram(&p, "wrap.tbin");
  tern_program_free(&p);
  Cli r = RunTern("exec '" + f + "' --input-seed 1");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dram_size"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected <= 4294967296"), std::string::npos) << r.out;
  unlink(f.c_str());
}

TEST(Hardening, ExecRowStrideBelowRowBytesIsRefused) {
  // row_stride 4 for rows of 64 int32: the input fill and the CRC-32 of the
  // tensor read and wrote beyond the DRAM the stride implied
  tern_program p;
  OneTensorProgram(&p, "x", TERN_DT_I32, 16, 64, 4, 0);
  std::string f = WriteProgram(&p, "stride.tbin");
  tern_program_free(&p);
  Cli r = RunTern("exec '" + f + "' --input-seed 1");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("row_stride = 4, expected >= 256"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(f), std::string::npos) << "names the file: " << r.out;
  unlink(f.c_str());
}

TEST(Hardening, DramNeedIsOverflowChecked) {
  tern_program p;
  char err[512];
  uint64_t need = 0;
  OneTensorProgram(&p, "t", TERN_DT_I8, 2, 100, 100, 0);
  ASSERT_EQ(tern_program_dram_need(&p, &need, err, sizeof err), 0) << err;
  EXPECT_EQ(need, 256u);  // 200 bytes rounded up to 64
  p.tensors[0].dram_addr = 0xffffff80u;  // 2^32 - 128 + 200 bytes: ends past 2^32
  EXPECT_NE(tern_program_dram_need(&p, &need, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("32-bit DRAM addresses"), std::string::npos) << err;
  p.tensors[0].dram_addr = 0;
  p.dram_size = UINT64_MAX - 10;
  EXPECT_NE(tern_program_dram_need(&p, &need, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("dram_size"), std::string::npos) << err;
  p.dram_size = 0;
  p.tensors[0].row_stride = 99;  // one row of 100 int8 does not fit
  EXPECT_NE(tern_program_dram_need(&p, &need, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("row_stride = 99, expected >= 100"), std::string::npos) << err;
  tern_program_free(&p);
  tern_tensor_ref w = {};
  w.dtype = TERN_DT_W2;
  w.rows = 3;
  w.cols = 17;  // 17 2-bit codes: 5 bytes
  EXPECT_EQ(tern_tensor_row_bytes(TERN_DT_W2, 17), 5u);
  w.row_stride = 5;
  EXPECT_EQ(tern_tensor_check(&w, err, sizeof err), 0) << err;
  EXPECT_EQ(tern_tensor_end(&w), 15u);
}

// ---- every backend validates ------------------------------------------------

TEST(Hardening, RtlRefusesWhatTheIsaSimulatorRefuses) {
  // a GEMM reading WBUF address 1000 of a 64-deep WBUF: rejected by the ISA
  // simulator, "succeeded" with exit 0 on the RTL
  tern_hwcfg hw = tern_hwcfg_small(4, 4);
  tern_insn prog[2];
  memset(prog, 0, sizeof prog);
  prog[0].op = TERN_OP_GEMM;
  prog[0].wbuf_addr = 1000;
  prog[0].m = 1;
  prog[1] = End();
  uint8_t dram[256] = {};
  tern_counters c;
  for (const char *be : {"isa", "rtl"}) {
    char err[1024] = "";
    EXPECT_NE(tern_backend_run(be, &hw, prog, 2, dram, sizeof dram, nullptr, &c, err, sizeof err), 0)
        << be;
    EXPECT_NE(std::string(err).find("WBUF_ADDR 1000 exceeds WBUF depth 64"), std::string::npos) << be << ": " << err;
    tern_session *s = tern_session_open(be, &hw, err, sizeof err);
    ASSERT_NE(s, nullptr) << err;
    err[0] = 0;
    EXPECT_NE(tern_session_run(s, prog, 2, dram, sizeof dram, nullptr, &c, err, sizeof err), 0) << be;
    EXPECT_NE(std::string(err).find("WBUF_ADDR 1000 exceeds WBUF depth 64"), std::string::npos) << be << " session: " << err;
    tern_session_close(s);
  }
}

TEST(Hardening, ExecHeaderNeverStartsAnRtlBuild) {
  // a header naming 64x64 with 65536-deep buffers silently started a
  // Verilator build of that configuration
  tern_program p;
  OneTensorProgram(&p, "x", TERN_DT_I8, 1, 4, 4, 0);
  p.cfg.rows = p.cfg.cols = 64;
  p.cfg.wbuf_depth = p.cfg.abuf_depth = p.cfg.acc_depth = p.cfg.out_depth = 65536;
  p.cfg.dram_bw = 64;
  std::string f = WriteProgram(&p, "big.tbin");
  tern_program_free(&p);
  char dir[] = "/tmp/tern_nobuild_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto t0 = std::chrono::steady_clock::now();
  Cli r = RunTern("exec '" + f + "' --backend rtl", std::string("TERN_RTL_DIR=") + dir);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("not named on the command line"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--array 64x64"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("building it"), std::string::npos) << r.out;
  EXPECT_LT(s, 10.0) << "no build ran";
  // --array / --set naming another configuration than the header's: refused
  r = RunTern("exec '" + f + "' --backend rtl --array 4x4", std::string("TERN_RTL_DIR=") + dir);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("was compiled for configuration r64c64"), std::string::npos) << r.out;
  rmdir(dir);
  unlink(f.c_str());
}

// ---- configuration bounds and number parsing ------------------------------

TEST(Hardening, HwcfgUpperBounds) {
  char err[512];
  struct {
    const char *key, *value, *msg;
  } bad[] = {
      {"qdepth", "256", "qdepth = 256, expected 1..255"},
      {"qdepth", "2147483647", "qdepth = 2147483647, expected 1..255"},
      {"dram_lat", "16777217", "dram_lat = 16777217, expected 1..16777216"},
      {"dram_bytes", "4294967297", "dram_bytes = 4294967297, expected 1..4294967296"},
      {"wbuf_depth", "65537", "wbuf_depth = 65537, expected 1..65536"},
  };
  for (auto &b : bad) {
    tern_hwcfg h = tern_hwcfg_default();
    ASSERT_EQ(tern_hwcfg_set(&h, b.key, b.value, err, sizeof err), 0) << err;
    EXPECT_NE(tern_hwcfg_check(&h, err, sizeof err), 0) << b.key;
    EXPECT_NE(std::string(err).find(b.msg), std::string::npos) << err;
  }
  tern_hwcfg h = tern_hwcfg_default();
  EXPECT_NE(tern_hwcfg_set(&h, "dram_lat", "99999999999999999999", err, sizeof err), 0);
  EXPECT_NE(tern_hwcfg_set(&h, "clock_mhz", "1e7", err, sizeof err), 0);
  h.dram_lat = TERN_HW_DRAM_LAT_MAX;
  h.qdepth = TERN_HW_QDEPTH_MAX;
  EXPECT_EQ(tern_hwcfg_check(&h, err, sizeof err), 0) << err;
  // the CLI says the same, before any work
  Cli r = RunTern("run --set qdepth=100000");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("qdepth = 100000, expected 1..255"), std::string::npos) << r.out;
  // and a .tbin header carrying the value is refused by the reader
  tern_program p;
  OneTensorProgram(&p, "x", TERN_DT_I8, 1, 4, 4, 0);
  p.cfg.qdepth = 100000;
  std::string f = WriteProgram(&p, "qdepth.tbin");
  tern_program_free(&p);
  r = RunTern("exec '" + f + "'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("qdepth = 100000, expected 1..255"), std::string::npos) << r.out;
  unlink(f.c_str());
}

TEST(Hardening, ArrayParsingDoesNotWrap) {
  int r = 0, c = 0;
  char err[256];
  // 4294967300 = 2^32 + 4 was accepted as 4x4
  EXPECT_NE(tern_parse_array("4294967300x4", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array("4x4294967300", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array("-4x4", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array(" 4x4", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array("4x4 ", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array("4x+4", &r, &c, err, sizeof err), 0);
  EXPECT_NE(tern_parse_array("4097x4", &r, &c, err, sizeof err), 0);
  ASSERT_EQ(tern_parse_array("16x8", &r, &c, err, sizeof err), 0) << err;
  EXPECT_EQ(r, 16);
  EXPECT_EQ(c, 8);
  Cli cl = RunTern("run --array 4294967300x4");
  EXPECT_NE(cl.status, 0);
  EXPECT_NE(cl.out.find("4294967300x4"), std::string::npos) << cl.out;
  uint64_t v;
  EXPECT_NE(tern_parse_size("18446744073709551616", &v), 0);
  EXPECT_NE(tern_parse_size("17179869184G", &v), 0);
  ASSERT_EQ(tern_parse_size("16M", &v), 0);
  EXPECT_EQ(v, 16u << 20);
}

TEST(Hardening, SweepRtlValidateCountDoesNotOverflow) {
  const char *spec =
      "[workload]\nmodel = tiny\nrtl_validate = first 99999999999999999999\n[grid]\narray = 4x4\n";
  tern_sweep_spec s;
  char err[512];
  EXPECT_NE(tern_sweep_spec_parse(spec, "spec.ini", ".", &s, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("rtl_validate"), std::string::npos) << err;
  tern_sweep_spec_free(&s);
}

// ---- model size budget -------------------------------------------------------

TEST(Hardening, ModelBudgetRefusesHugeDescriptionsUpFront) {
  struct {
    const char *name, *text;
  } huge[] = {
      {"wide.tern",
       "[model]\nname = wide\nvocab = 256\ndim = 65536\nlayers = 2\nheads = 64\nffn = 256\n"
       "ffn_type = relu2\nmax_seq = 16\n"},
      {"deep.tern",
       "[model]\nname = deep\nvocab = 256\ndim = 64\nlayers = 1024\nheads = 4\nffn = 262144\n"
       "ffn_type = swiglu\nmax_seq = 16\n"},
  };
  for (auto &h : huge) {
    std::string f = TmpPath(h.name);
    FILE *fp = fopen(f.c_str(), "w");
    ASSERT_NE(fp, nullptr);
    fputs(h.text, fp);
    fclose(fp);
    auto t0 = std::chrono::steady_clock::now();
    Cli r = RunTern("generate '" + f + "' --prompt hi --tokens 1");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("memory budget of 4.00 GiB"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(f), std::string::npos) << "names the file: " << r.out;
    EXPECT_LT(s, 5.0) << "refused before allocating";
    unlink(f.c_str());
  }
  // the budget is a flag; a tiny budget refuses the small preset, 0 lifts it
  Cli r = RunTern("generate tiny --prompt hi --tokens 1 --max-mem 1K");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("memory budget"), std::string::npos) << r.out;
  r = RunTern("--max-mem=0 generate tiny --prompt hi --tokens 1");
  EXPECT_EQ(r.status, 0) << r.out;
  r = RunTern("generate tiny --prompt hi --max-mem 12345678901234567890123");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("--max-mem"), std::string::npos) << r.out;
  // the library entry
  tern_tfm_config c;
  char err[512];
  ASSERT_EQ(tern_tfm_parse_string(huge[0].text, "wide", &c, err, sizeof err), 0) << err;
  tern_tfm_model m;
  EXPECT_NE(tern_tfm_load_model("wide", &c, &m, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("memory budget"), std::string::npos) << err;
}

// ---- endless and oversized inputs ------------------------------------------

TEST(Hardening, EndlessInputsAreCapped) {
  // tern disasm /dev/zero and tern asm /dev/zero read until memory ran out
  for (const char *cmd : {"disasm /dev/zero", "asm /dev/zero -o /dev/null"}) {
    auto t0 = std::chrono::steady_clock::now();
    Cli r = RunTern(cmd);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.status, 0) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("/dev/zero: file is larger than"), std::string::npos) << cmd << ": " << r.out;
    EXPECT_LT(s, 10.0) << cmd;
  }
  Cli r = RunTern("exec /dev/zero");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("not a regular file"), std::string::npos) << r.out;
  // the reader itself: exact limit, one byte over, a directory
  std::string f = TmpPath("cap.txt");
  FILE *fp = fopen(f.c_str(), "w");
  ASSERT_NE(fp, nullptr);
  fputs("0123456789", fp);
  fclose(fp);
  uint8_t *b = nullptr;
  size_t n = 0;
  char err[512];
  ASSERT_EQ(tern_read_file(f.c_str(), 10, "ten bytes", &b, &n, err, sizeof err), 0) << err;
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(b[10], 0);
  free(b);
  EXPECT_NE(tern_read_file(f.c_str(), 9, "nine bytes", &b, &n, err, sizeof err), 0);
  EXPECT_EQ(b, nullptr);
  EXPECT_NE(std::string(err).find("expected nine bytes"), std::string::npos) << err;
  EXPECT_NE(tern_read_file("/tmp", 9, "a file", &b, &n, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("is a directory"), std::string::npos) << err;
  // a pipe-like input larger than the first chunk: grows and still stops at the cap
  EXPECT_NE(tern_read_file("/dev/zero", 200000, "a small file", &b, &n, err, sizeof err), 0);
  ASSERT_EQ(tern_read_file("/dev/null", 200000, "a small file", &b, &n, err, sizeof err), 0) << err;
  EXPECT_EQ(n, 0u);
  free(b);
  unlink(f.c_str());
}
