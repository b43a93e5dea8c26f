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

#include "tern/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates dir (and parents) if needed.  Returns 0, or -1 with a message
 * (the .md/.html are still written when only the plotting failed). */
int tern_report_write(const char *dir, const tern_run_result *r, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
