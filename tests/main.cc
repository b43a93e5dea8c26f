// GoogleTest entry point of build/tern_tests.  The project's summary line
// ("tests: N passed, M failed") is printed by scripts/run_tests.sh, which
// also counts the lint / synthesis / generated-file checks.
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
