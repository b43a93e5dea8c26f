/* The JSON readers over Jansson: a sweep's point files
 * (runtime/sweep.c tern_sweep_point_read) and `tern synth`'s result files
 * (runtime/synth.c tern_synth_read_json, the sweep's synthesis cache).  Both
 * take a path: the input goes through one scratch file and is given to
 * both; each reads it or fails with a message naming the file. */
#include "fuzz.h"
#include "tern/sweep.h"
#include "tern/synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600];
  fz_file("in.json", data, size, path, sizeof path);
  static tern_sweep_point p;
  char err[FZ_ERRLEN] = "";
  fz_expect_rc(tern_sweep_point_read(path, &p, err, sizeof err), err, "tern_sweep_point_read");
  static tern_synth_result r;
  err[0] = 0;
  fz_expect_rc(tern_synth_read_json(path, &r, err, sizeof err), err, "tern_synth_read_json");
  return 0;
}
