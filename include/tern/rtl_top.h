/* `tern rtl-top` (runtime/rtl_top.c; issue 5 item 5): a Verilog-2001
 * wrapper module that instantiates rtl/tern_top.sv with one configuration's
 * parameters fixed, for a user's vendor flow.  The file's header comment
 * lists the parameters (with the memory sizes they imply), the files the
 * wrapper needs and the port contract of rtl/README.md with the widths of
 * that configuration.  Its ports are tern_top's, same names and directions,
 * with literal widths.  rtl/README.md "Using the RTL in your flow". */
#ifndef TERN_RTL_TOP_H
#define TERN_RTL_TOP_H

#include <stddef.h>
#include <stdio.h>

#include "tern/hwcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_rtl_top_config {
  tern_hwcfg hw;      /* default tern_hwcfg_default() (16x16); only the RTL fields are used */
  const char *module; /* --name; NULL: tern_rtl_top_module_name(&hw) */
  const char *out;    /* -o FILE; NULL: "<module>.v" in the current directory */
} tern_rtl_top_config;

void tern_rtl_top_config_default(tern_rtl_top_config *c);

/* `tern rtl-top [--array RxC] [--set key=value]... [--name MODULE] [-o FILE.v]`
 * (argv[1] is "rtl-top").  --array as in tern compare (4x4 and 8x8 select
 * the RTL test configurations, other sizes change rows/cols of the
 * default); --set takes the RTL keys of tern_hwcfg_set (rows, cols,
 * wbuf_depth, abuf_depth, acc_depth, out_depth, qdepth, imem_depth,
 * dram_bw).  *help = 1 for --help / -h.  0, or -1 with a message naming the
 * flag / field and the expected value. */
int tern_rtl_top_parse_args(int argc, char **argv, tern_rtl_top_config *c, int *help, char *err,
                            size_t errlen);
const char *tern_rtl_top_usage(void);

/* The configuration checks of tern_hwcfg_check on the fields the RTL takes
 * (plus qdepth <= 255: dbg_fifo_o has 8 bits per queue).  0 or -1. */
int tern_rtl_top_check(const tern_hwcfg *hw, char *err, size_t errlen);

/* "tern_top_" + tern_hwcfg_rtl_name(hw), e.g. tern_top_r8c8_w64_a512_c1024_o512_q4_i8192_b8 */
void tern_rtl_top_module_name(const tern_hwcfg *hw, char *buf, size_t len);

/* The RTL sources the wrapper needs, relative to the repository root, in
 * compile order (leaves first), NULL-terminated; tern_rtl_top_include() is
 * the include file (`include "tern_isa.vh" inside module bodies; its
 * directory must be on the include path).  rtl/tern.core lists the same. */
const char *const *tern_rtl_top_sources(void);
const char *tern_rtl_top_include(void);

/* Write the wrapper to f.  c->out only decides whether the file carries a
 * DECLFILENAME lint waiver (when its base name differs from the module).
 * 0, or -1 with a message. */
int tern_rtl_top_write(const tern_rtl_top_config *c, FILE *f, char *err, size_t errlen);

/* Write the wrapper to c->out (or <module>.v); path_out (if not NULL)
 * receives the path written.  0, or -1 with a message naming the file. */
int tern_rtl_top_write_file(const tern_rtl_top_config *c, char *path_out, size_t path_len,
                            char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
