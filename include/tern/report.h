/* Run reports (reports/report.c): DIR/report.md, DIR/report.html
 * (self-contained; images by relative path) and gnuplot PNGs (pngcairo),
 * with the gnuplot data and scripts written next to them:
 *   cycles.dat / cycles.gp -> cycles.png  busy / stall / idle per unit
 *   energy.dat / energy.gp -> energy.png  energy/token by component, tern vs
 *                                          FP16 and INT8 MAC baselines
 * Every number in the tables names its source. */
#ifndef TERN_REPORT_H
#define TERN_REPORT_H

#include <stddef.h>

#include "tern/compare.h"
#include "tern/generate.h"
#include "tern/runtime.h"
#include "tern/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates dir (and parents) if needed.  Returns 0, or -1 with a message
 * (the .md/.html are still written when only the plotting failed). */
int tern_report_write(const char *dir, const tern_run_result *r, char *err, size_t errlen);

/* Report of `tern generate --backend isa|rtl --report DIR`: report.md/.html with
 * the per-step table (cycles, tokens/s, energy/token, attention share, DRAM
 * weight bytes, verdicts), the per-pass table of the last step, and
 *   steps.dat / context.gp -> context.png  decode energy/token vs context length
 *   layers.dat / layers.gp -> layers.png   cycles per block pass (attention, FFN)
 * and, with fid, the fidelity table (logit cosine and top-1 per fixed prompt,
 * residual-stream error per block pass). */
struct tern_tfm_fidelity_result;
/* fid (may be NULL): the float-vs-integer fidelity of the model (tern fidelity),
 * added as a section. */
int tern_gen_report_write(const char *dir, const tern_gen_config *c, const tern_gen_result *r,
                          const struct tern_tfm_fidelity_result *fid, char *err, size_t errlen);

/* Report of `tern compare --report DIR`: DIR/compare.md and compare.html
 * (method, verdict, one table per model with the source of every column, the
 * contexts that could not be measured and why) and
 *   compare.dat / compare.gp -> compare.png  energy/token and cycles/token
 *                                             against context (log2 x), one
 *                                             line per model
 *   compare.dat / bytes.gp   -> bytes.png    KV-cache and recurrent-state DRAM
 *                                             bytes per token against context */
int tern_compare_report_write(const char *dir, const tern_compare_result *r, char *err,
                              size_t errlen);

/* Report of `tern sweep` / `tern sweep-merge DIR` (include/tern/sweep.h):
 * DIR/report.md and report.html (workload, the points table with the source
 * of every column, RTL validation, missing points and synthesis failures) and
 *   pareto.dat / pareto_front.dat / pareto.gp -> pareto.png  decode tokens/s
 *        against LUTs, Pareto front marked (skipped without synthesis results)
 *   energy.dat / energy.gp -> energy.png  energy/token against array size
 *   util.dat / util.gp -> util.png        array utilisation over rows x cols */
int tern_sweep_report_write(const char *dir, const tern_sweep_result *r, char *err,
                            size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
