// GoogleTest entry point of build/tern_tests.  The project's summary line
// ("tests: N passed, M failed") is printed by scripts/run_tests.sh, which
// also counts the lint / synthesis / generated-file checks.
#include <gtest/gtest.h>

#include "tern/backend.h"

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  /* the tests name their RTL configurations in code: any may be built on
   * demand (the CLI's tern exec does not allow that; TEST(Hardening, ...)) */
  tern_rtl_build_allow_all(1);
  return RUN_ALL_TESTS();
}
