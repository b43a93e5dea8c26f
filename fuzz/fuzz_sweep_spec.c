/* Sweep specs (runtime/sweep.c tern_sweep_spec_parse over inih; docs/SWEEP.md):
 * [workload], [hw], [grid] / [points], [rtl], [synth].  Every input parses or
 * fails with "what:line: ..."; a spec that parses has npoints configurations,
 * each of which passes tern_hwcfg_check. */
#include "fuzz.h"
#include "tern/hwcfg.h"
#include "tern/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fz_cstr(data, size);
  tern_sweep_spec s;
  char err[FZ_ERRLEN] = "";
  int rc = tern_sweep_spec_parse(text, "fuzz.ini", NULL, &s, err, sizeof err);
  free(text);
  fz_expect_rc(rc, err, "tern_sweep_spec_parse");
  if (rc) return 0;
  if (s.npoints < 1) fz_fail("a spec with %d points parsed", s.npoints);
  for (int k = 0; k < s.npoints; k++)
    if (tern_hwcfg_check(&s.hw[k], err, sizeof err)) fz_fail("point %d: %s", k, err);
  tern_sweep_spec_free(&s);
  return 0;
}
