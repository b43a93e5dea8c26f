/* Transformer model descriptions (models/tfm_config.c tern_tfm_parse_string
 * over models/model_common.c and inih; docs/MODELS.md): every input parses
 * or fails with a message; a description that parses prints
 * (tern_tfm_print_string) to text that parses to a description printing the
 * same text. */
#include "fuzz.h"
#include "tern/tfm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fz_cstr(data, size);
  tern_tfm_config c;
  char err[FZ_ERRLEN] = "";
  int rc = tern_tfm_parse_string(text, "fuzz.tern", &c, err, sizeof err);
  free(text);
  fz_expect_rc(rc, err, "tern_tfm_parse_string");
  if (rc) return 0;
  static char a[1 << 16], b[1 << 16];
  int k = tern_tfm_print_string(a, sizeof a, &c);
  if (k < 0 || (size_t)k >= sizeof a) fz_fail("tern_tfm_print_string gave %d", k);
  tern_tfm_config c2;
  if (tern_tfm_parse_string(a, "printed", &c2, err, sizeof err))
    fz_fail("the printed description does not parse: %s\n%s", err, a);
  if (tern_tfm_print_string(b, sizeof b, &c2) < 0) fz_fail("tern_tfm_print_string failed");
  if (strcmp(a, b)) fz_fail("print -> parse -> print differs:\n%s\n---\n%s", a, b);
  return 0;
}
