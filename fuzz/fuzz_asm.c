/* Assembly text (compiler/asm.c tern_asm_text, docs/ISA.md "Assembly"):
 * every input assembles or fails with "file:line: ..."; what assembles
 * disassembles (tern_disasm_insn) to text that assembles to the same
 * instructions. */
#include "fuzz.h"
#include "tern/program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fz_cstr(data, size);
  tern_insn *v = NULL;
  size_t n = 0;
  char err[FZ_ERRLEN] = "";
  int rc = tern_asm_text(text, "fuzz.s", &v, &n, err, sizeof err);
  free(text);
  fz_expect_rc(rc, err, "tern_asm_text");
  if (rc) {
    if (v) fz_fail("tern_asm_text failed but returned instructions");
    return 0;
  }
  size_t cap = n * 512 + 1, len = 0;
  char *back = malloc(cap);
  if (!back) abort();
  back[0] = 0;
  for (size_t i = 0; i < n; i++) {
    char line[512];
    tern_disasm_insn(&v[i], line, sizeof line);
    len += (size_t)snprintf(back + len, cap - len, "%s\n", line);
  }
  tern_insn *w = NULL;
  size_t m = 0;
  err[0] = 0;
  if (tern_asm_text(back, "back.s", &w, &m, err, sizeof err))
    fz_fail("the disassembly does not assemble: %s\n%s", err, back);
  if (m != n) fz_fail("the disassembly has %zu instructions, the input %zu", m, n);
  for (size_t i = 0; i < n; i++)
    if (memcmp(&v[i], &w[i], sizeof v[i])) fz_fail("instruction %zu differs after the round trip", i);
  free(back);
  free(v);
  free(w);
  return 0;
}
