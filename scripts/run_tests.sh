#!/bin/bash
# Runs every test of `make test` and ends with the one summary line
#   tests: N passed, M failed
# Shell checks count as one test each; GoogleTest cases are counted from its
# JSON report (build/gtest.json).
cd "$(dirname "$0")/.."
B=build
pass=0; fail=0; failed_names=()

check() { # name, command...
  local name=$1; shift
  local log="$B/check-$name.log"
  if "$@" >"$log" 2>&1; then
    echo "[ PASS ] check $name"; pass=$((pass+1))
  else
    echo "[ FAIL ] check $name (log: $log)"; tail -20 "$log"; fail=$((fail+1)); failed_names+=("$name")
  fi
}

check isa-vh-up-to-date make --no-print-directory isa-vh-check
check verilator-lint-wall make --no-print-directory lint
check yosys-synth-clean-no-multiplier env TERN_SYNTH_FULL=1 ./rtl/synth/check_nomul.sh 4 4
# The sanitizer subset (docs/FUZZING.md): parsers, their fuzz tests, the ISA
# simulator, the hostile inputs of tests/test_hardening.cc and the fuzz regression inputs under gcc's ASan + UBSan (built by
# make asan-fast into build/asan/); a report aborts the binary, failing the check.
ASAN_FAST_FILTER='*Fuzz*:Hardening.*:Isa.*:IsaSim.*:Sync.*:GgufErrors.*:TokHostile.*:TokHf.HostileFiles:Mlp.WeightFile*:TfmConfig.*:RnnConfig.*:RuntimeCli.*:RnnMix.OddShapes-Sync.ScalesToLongPrograms'
check asan-fast-subset env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  $B/asan/tern_tests_fast --gtest_filter="$ASAN_FAST_FILTER" --gtest_brief=1

rm -f $B/gtest.json
$B/tern_tests --gtest_output=json:$B/gtest.json "$@"
if [ -f $B/gtest.json ]; then
  gt_total=$(jq '[.testsuites[].testsuite[]] | length' $B/gtest.json)
  gt_fail=$(jq '[.testsuites[].testsuite[] | select(.failures != null)] | length' $B/gtest.json)
  gt_skip=$(jq '[.testsuites[].testsuite[] | select(.result == "SKIPPED")] | length' $B/gtest.json)
  pass=$((pass + gt_total - gt_fail - gt_skip)); fail=$((fail + gt_fail))
  jq -r '.testsuites[].testsuite[] | select(.failures != null) | "  failed: \(.classname).\(.name)"' $B/gtest.json
else
  echo "tern_tests produced no report (crashed?)"; fail=$((fail+1))
fi
[ ${#failed_names[@]} -gt 0 ] && echo "  failed checks: ${failed_names[*]}"
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
