#!/bin/bash
# make fuzz-cov SECONDS=N: runs every libFuzzer harness of fuzz/ (built by
# make fuzz-build into build/fuzz/bin/) for N seconds each and prints one line
# per harness: executions, coverage (edges) and features, corpus size, findings.
#   scripts/fuzz_cov.sh SECONDS HARNESS...
# Seeds are read from fuzz/corpus/<harness>/ and the inputs of fixed bugs
# from fuzz/regress/<harness>/ (both never written); new corpus
# entries go to build/fuzz/corpus/<harness>/ (kept between runs, so a long
# run continues where the last one stopped); crashes, leaks, timeouts and
# out-of-memory inputs to build/fuzz/crashes/<harness>/; the whole libFuzzer
# log to build/fuzz/logs/<harness>.log.  Readers that take a path get their
# input through files in a private directory under /dev/shm (or
# build/fuzz/tmp/, or $FUZZ_TMPDIR), removed when the harness exits.
# Exit status 1 if any harness had a finding.  docs/FUZZING.md.
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz_cov.sh SECONDS HARNESS...}; shift
B=build/fuzz
mkdir -p $B/logs
# scratch files of the path-only readers: tmpfs when there is one (twice the
# executions per second of a disk), each harness in its own mkdtemp directory
tmp=${FUZZ_TMPDIR:-}
[ -z "$tmp" ] && { [ -w /dev/shm ] && tmp=/dev/shm || tmp=$PWD/$B/tmp; }
mkdir -p "$tmp"

# -max_len per harness: text formats are small, binary checkpoints larger.
max_len() {
  case $1 in
    fuzz_ckpt_st|fuzz_ckpt_gguf|fuzz_safetensors|fuzz_gguf) echo 131072 ;;
    fuzz_weights|fuzz_tbin) echo 32768 ;;
    fuzz_tokenizer) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

# the dictionary of a harness (fuzz/dict/NAME.dict): its own, or a related one
dict_of() {
  case $1 in
    fuzz_ckpt_st) echo fuzz_safetensors ;;
    *) echo "$1" ;;
  esac
}

printf '%-18s %6s %11s %8s %6s %7s %7s %9s\n' harness secs execs exec/s cov ft corpus findings
total_findings=0
for h in "$@"; do
  bin=$B/bin/$h seeds=fuzz/corpus/$h new=$B/corpus/$h crashes=$B/crashes/$h log=$B/logs/$h.log
  mkdir -p "$new" "$crashes" "$seeds"
  dict=(); [ -f fuzz/dict/$(dict_of "$h").dict ] && dict=(-dict=fuzz/dict/$(dict_of "$h").dict)
  regress=(); [ -d fuzz/regress/$h ] && regress=(fuzz/regress/$h)   # inputs of fixed bugs
  before=$(ls "$crashes" | wc -l)
  scratch_before=$(ls -d "$tmp"/tern-fuzz-* 2>/dev/null)
  t0=$(date +%s)
  TMPDIR=$tmp ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" -max_total_time="$secs" -max_len="$(max_len "$h")" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" \
      "$new" "$seeds" "${regress[@]}" >"$log" 2>&1
  rc=$?
  t1=$(date +%s)
  after=$(ls "$crashes" | wc -l)
  # a harness that crashed did not remove its scratch directory (atexit)
  for d in $(ls -d "$tmp"/tern-fuzz-* 2>/dev/null); do
    grep -qxF "$d" <<<"$scratch_before" || rm -rf "$d"
  done
  found=$((after - before))
  [ $rc -ne 0 ] && [ $found -eq 0 ] && found=1   # e.g. the harness did not start: count it
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  el=$((t1 - t0)); [ $el -lt 1 ] && el=1
  printf '%-18s %6s %11s %8s %6s %7s %7s %9s\n' "$h" "$el" "${execs:-?}" "$(( ${execs:-0} / el ))" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found"
  if [ $found -gt 0 ]; then
    ls -t "$crashes" | head -$found | sed "s|^|    $crashes/|"
    grep -m3 -E 'ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer|ERROR: LeakSanitizer|^fuzz: ' "$log" | sed 's/^/    /'
  fi
  total_findings=$((total_findings + found))
done
echo "fuzz-cov: $# harnesses, ${secs} s each, $total_findings findings (logs: $B/logs/, crashes: $B/crashes/)"
[ $total_findings -eq 0 ]
