/* MLP weight files (.twt; models/mlp.c tern_mlp_load, docs/NUMERICS.md
 * "Weight files"): magic, version, configuration, tensors, CRC-32.  The
 * reader takes a path, so the input goes through a scratch file; like
 * fuzz_tbin each input is tried as it is and with a correct trailing CRC. */
#include "fuzz.h"
#include "tern/mlp.h"

static void one(const uint8_t *d, size_t n) {
  char path[600];
  fz_file("w.twt", d, n, path, sizeof path);
  tern_mlp_model m;
  char err[FZ_ERRLEN] = "";
  int rc = tern_mlp_load(&m, path, err, sizeof err);
  fz_expect_rc(rc, err, "tern_mlp_load");
  if (rc == 0) tern_mlp_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_with_fixed_crc(data, size, one);
  return 0;
}
