#!/bin/bash
# `make fuzz`: the long runs, with fresh seeds (tests/fuzz_seed.h), in
# FUZZ_JOBS processes (default 2, one per core):
#   - RtlRandom.*: random programs RTL vs ISA simulator (DRAM bit for bit,
#     every counter, CYCLES included) on every RTL configuration: 4x4, 8x8,
#     both at the narrowest exact partial sums, and the default 16x16; and
#     session pairs at 4x4 and 8x8;
#   - the mutation fuzzers (*Fuzz*: parsers, checkpoints, GGUF, sweep specs
#     and JSON, model descriptions, tokenizers);
#   - the sync pass on random programs (Sync.Random*: race-free by an
#     independent checker, no deadlock on the ISA simulator).
# Every test prints its seed and the command that replays it; a mismatch or a
# crash leaves its input in build/fuzz-repro/ (README there: the replay and how
# to make it a regression test).  Logs: build/fuzz/<job>.log.  Ends with
#   fuzz: N random programs RTL vs ISA ..., M failed tests
# and exits 1 if any test failed or crashed.
#
# TERN_FUZZ_SEED / TERN_FUZZ_COUNT given here apply to every test (replay one
# test with the line it printed instead).  FUZZ_FILTER restricts the jobs to
# those whose name matches a bash pattern (e.g. FUZZ_FILTER='rtl-*').
set -uo pipefail
cd "$(dirname "$0")/.."
B=build
OUT=$B/fuzz
T=$B/tern_tests
JOBS=${FUZZ_JOBS:-2}
[ -x "$T" ] || { echo "fuzz: $T missing (make fuzz builds it)" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.json "$OUT"/*.rc "$OUT"/*.time
export TERN_FUZZ_LONG=1

# name and gtest filter, the longest first (measured: docs/ARCHITECTURE.md "Testing")
ALL_JOBS=(
  "rtl-8x8 RtlRandom.Programs8x8"
  "rtl-16x16 RtlRandom.Programs16x16"
  "mutation *Fuzz*:-CkptFuzz.*"
  "rtl-4x4 RtlRandom.Programs4x4"
  "rtl-8x8-narrow RtlRandom.Programs8x8NarrowPartialSums"
  "mutation-ckpt CkptFuzz.*"
  "rtl-4x4-narrow RtlRandom.Programs4x4NarrowPartialSums"
  "sync Sync.Random*"
  "rtl-sessions RtlRandom.SessionPairs"
)
JOB_LIST=()
for j in "${ALL_JOBS[@]}"; do
  # shellcheck disable=SC2053
  [[ -z "${FUZZ_FILTER:-}" || ${j%% *} == ${FUZZ_FILTER} ]] && JOB_LIST+=("$j")
done

run_job() { # name filter
  local name=$1 filter=$2 t0 t1 rc
  t0=$(date +%s.%N)
  "$T" --gtest_filter="$filter" --gtest_output="json:$OUT/$name.json" >"$OUT/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  echo "$rc" >"$OUT/$name.rc"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' >"$OUT/$name.time"
  printf 'fuzz: %-15s done in %6.1f s%s\n' "$name" "$(cat "$OUT/$name.time")" \
    "$([ "$rc" = 0 ] || echo " (exit $rc: see $OUT/$name.log)")"
}

echo "fuzz: ${#JOB_LIST[@]} jobs in $JOBS processes, fresh seeds (replay lines in $OUT/*.log)"
start=$(date +%s.%N)
running=0
for j in "${JOB_LIST[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_job ${j%% *} "${j#* }" &
  running=$((running + 1))
done
wait
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

echo
echo "fuzz: seeds (each line replays its test)"
grep -h '^\[ seed     \]' "$OUT"/*.log | sed 's/^\[ seed     \] /  /'
echo
echo "fuzz: random programs, RTL vs ISA simulator (DRAM and every counter)"
for j in "${JOB_LIST[@]}"; do
  grep -h '^\[ rtl      \]' "$OUT/${j%% *}.log" 2>/dev/null | sed 's/^\[ rtl      \] /  /'
done
sessions=$(grep -h '^\[ seed     \] RtlRandom.SessionPairs' "$OUT"/*.log | sed -n 's/.*, \([0-9]*\) session pairs.*/\1/p')
progs=$(grep -h '^\[ rtl      \]' "$OUT"/*.log | awk '{ for (i = 1; i <= NF; i++) if ($i == "random") s += $(i - 1) } END { print s + 0 }')
mism=$(grep -h '^\[ rtl      \]' "$OUT"/*.log | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mismatches/) s += $(i - 1) } END { print s + 0 }')
cfgs=$(grep -ch '^\[ rtl      \]' "$OUT"/*.log | awk '{ s += $1 } END { print s + 0 }')
repros=$(grep -h '^\[ repro    \]' "$OUT"/*.log | sed 's/^\[ repro    \] /  /')

# tests that failed, or jobs that produced no report (a crash)
failed=0
for j in "${JOB_LIST[@]}"; do
  name=${j%% *}
  if [ ! -s "$OUT/$name.json" ]; then
    echo "fuzz: job $name produced no report (crashed? exit $(cat "$OUT/$name.rc" 2>/dev/null)): tail of $OUT/$name.log"
    tail -15 "$OUT/$name.log"
    failed=$((failed + 1))
    continue
  fi
  n=$(jq '[.testsuites[].testsuite[] | select(.failures != null)] | length' "$OUT/$name.json")
  jq -r '.testsuites[].testsuite[] | select(.failures != null) | "fuzz: FAILED \(.classname).\(.name)"' "$OUT/$name.json"
  failed=$((failed + n))
done
if [ -n "$repros" ]; then
  echo "fuzz: reproducers (build/fuzz-repro/*/README: replay, and how to keep one as a regression test)"
  echo "$repros"
fi
echo
printf 'fuzz: %d random programs RTL vs ISA on %d configurations (+ %d session pairs x 2 configurations x 3 programs), %d mismatches; %d failed tests; wall %d s (%dm%02ds) in %d processes\n' \
  "$progs" "$cfgs" "${sessions:-0}" "$mism" "$failed" "$wall" $((wall / 60)) $((wall % 60)) "$JOBS"
[ "$failed" -eq 0 ]
