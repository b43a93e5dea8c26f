#!/bin/bash
# make sanitize: the whole GoogleTest suite and a few CLI commands, built with
# gcc's AddressSanitizer + UndefinedBehaviorSanitizer into build/asan/
# (Makefile SAN_FLAGS: -fsanitize=address,undefined,float-cast-overflow
# -fno-sanitize-recover=all),
# with leak detection.  Any report aborts the process that made it, so a run
# is clean exactly when every test passes and every command exits 0.  Ends
# with "sanitize: N passed, M failed" and the wall time.  Extra arguments go
# to the test binary (e.g. --gtest_filter=...).  docs/FUZZING.md "Sanitizers".
#
# The RTL backend's shared libraries (build/rtl/*/libtern_rtl.so, dlopen'ed by
# runtime/backend.c) are the normal, uninstrumented builds: their allocations
# still go through ASan's malloc (and are leak-checked), their own memory
# accesses are not checked.
cd "$(dirname "$0")/.."
A=build/asan
t0=$(date +%s)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
pass=0; fail=0

cli() { # name, command...: one sanitized CLI run, counted as one test
  local name=$1; shift
  local log="$A/cli-$name.log"
  if "$@" >"$log" 2>&1; then
    echo "[ PASS ] cli $name"; pass=$((pass+1))
  else
    echo "[ FAIL ] cli $name (log: $log)"; tail -30 "$log"; fail=$((fail+1))
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-sanitize-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cli models $A/tern models
cli asm-disasm bash -c "$A/tern asm tests/corpus/all_ops.s -o $tmp/a.bin && $A/tern disasm $tmp/a.bin"
cli compile-run bash -c "$A/tern compile --array 4x4 --d 16 --f 32 --layers 1 -o $tmp/p.tbin && $A/tern run --backend isa --array 4x4 --d 16 --f 32 --layers 1 --tokens 2"
cli generate-isa $A/tern generate --model models/trained/tiny --prompt "The " --tokens 2 --backend isa --array 8x8
cli generate-rtl $A/tern generate griffin-tiny --prompt "Hi" --tokens 2 --backend rtl --array 8x8
cli import-export bash -c "$A/tern import models/trained/hawk-tiny && $A/tern export tiny -o $tmp/t.gguf --format gguf && $A/tern import $tmp/t.gguf"

rm -f $A/gtest.json
$A/tern_tests --gtest_output=json:$A/gtest.json "$@"
rc=$?
if [ -f $A/gtest.json ]; then
  gt_total=$(jq '[.testsuites[].testsuite[]] | length' $A/gtest.json)
  gt_fail=$(jq '[.testsuites[].testsuite[] | select(.failures != null)] | length' $A/gtest.json)
  gt_skip=$(jq '[.testsuites[].testsuite[] | select(.result == "SKIPPED")] | length' $A/gtest.json)
  pass=$((pass + gt_total - gt_fail - gt_skip)); fail=$((fail + gt_fail))
  jq -r '.testsuites[].testsuite[] | select(.failures != null) | "  failed: \(.classname).\(.name)"' $A/gtest.json
else
  echo "tern_tests (sanitized) produced no report: a sanitizer report above aborted it"; fail=$((fail+1))
fi
# LeakSanitizer reports at exit, after the JSON report: its exit status counts
if [ $rc -ne 0 ] && [ -f $A/gtest.json ]; then
  echo "tern_tests (sanitized) exited $rc after its tests (a leak report above?)"; fail=$((fail+1))
fi
echo "sanitize: wall time $(( $(date +%s) - t0 )) s"
echo "sanitize: $pass passed, $fail failed"
[ $fail -eq 0 ]
