#!/bin/bash
# `make bench`: the two GEMM shapes that matter for a BitNet MLP slice on the
# default 16x16 array with dram_bw = 16 bytes/cycle, on the RTL (cycle counts
# from the RTL counters) and on the ISA simulator (must give the same cycles).
#   prefill  M=64 K=N=768: utilisation = ideal / cycles must be >= 90 %
#   decode   M=1  K=N=768: cycles / DRAM bound (weight bytes / dram_bw) must be <= 1.25
# Every figure is a ratio of cycle counts, not wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TERN_BIN:-build/tern}
LOGDIR=build/bench
mkdir -p "$LOGDIR"
[ -x "$T" ] || { echo "bench: $T missing (run make bench, which builds it)" >&2; exit 1; }
R=16; C=16; BW=16
CFG=(--array ${R}x${C} --set dram_bw=$BW)
fail=0

field() { # file, key prefix -> first number after it
  awk -v k="$2" 'index($0, k) == 1 { s = substr($0, length(k) + 1); gsub(/^[ \t]+/, "", s);
       split(s, a, /[ %(]/); print a[1]; exit }' "$1"
}

bench() { # name M K N
  local name=$1 M=$2 K=$3 N=$4
  for be in rtl isa; do
    if ! "$T" bench-gemm --M "$M" --K "$K" --N "$N" --backend $be "${CFG[@]}" >"$LOGDIR/$name-$be.log" 2>&1; then
      echo "bench: FAIL: $name on $be:"; cat "$LOGDIR/$name-$be.log"; fail=1; return
    fi
  done
  local L="$LOGDIR/$name-rtl.log"
  local cyc_rtl cyc_isa ideal util bound ratio
  cyc_rtl=$(field "$L" "cycles:"); cyc_isa=$(field "$LOGDIR/$name-isa.log" "cycles:")
  ideal=$(field "$L" "ideal:"); util=$(field "$L" "utilisation:")
  bound=$(field "$L" "DRAM bound:"); ratio=$(field "$L" "ratio to DRAM bound:")
  local classic=$(( (2*R + C + M - 2) * ((K + R - 1) / R) * ((N + C - 1) / C) ))
  echo "== $name: M=$M K=$K N=$N on ${R}x${C}, dram_bw $BW B/cycle =="
  grep '^result:' "$L" | sed 's/^/  RTL /'
  printf '  %-54s %12s  (%s)\n' "cycles, RTL" "$cyc_rtl" "RTL counters"
  printf '  %-54s %12s  (%s)\n' "cycles, ISA simulator" "$cyc_isa" "ISA simulator cycle model"
  printf '  %-54s %12s  (%s)\n' "ideal M*K*N/(R*C)" "$ideal" "formula"
  printf '  %-54s %11s%%  (%s)\n' "utilisation = ideal / cycles" "$util" "RTL counters + formula"
  printf '  %-54s %12s  (%s)\n' "DRAM bound = K*N/4 weight bytes / dram_bw" "$bound" "formula"
  printf '  %-54s %12s  (%s)\n' "cycles / DRAM bound" "$ratio" "RTL counters + formula"
  printf '  %-54s %12s  (%s)\n' "classic row-by-row WS (2R+C+M-2)*ceil(K/R)*ceil(N/C)" "$classic" \
    "formula, for comparison"
  printf '  %-54s %12s  (%s)\n' "speed-up over the classic estimate" \
    "$(awk -v a="$classic" -v b="$cyc_rtl" 'BEGIN { printf "%.2fx", a / b }')" "ratio of cycles"
  if [ "$cyc_rtl" != "$cyc_isa" ]; then
    echo "  FAIL: RTL ($cyc_rtl) and ISA simulator ($cyc_isa) cycle counts differ"; fail=1
  else
    echo "  ok: RTL == ISA simulator cycle count"
  fi
  grep -q '^result: bit-exact' "$L" || { echo "  FAIL: RTL result not bit-exact"; fail=1; }
  grep -q '^result: bit-exact' "$LOGDIR/$name-isa.log" || { echo "  FAIL: ISA result not bit-exact"; fail=1; }
  case $name in
    prefill)
      if awk -v u="$util" 'BEGIN { exit !(u >= 90) }'; then echo "  ok: utilisation $util% >= 90%"
      else echo "  FAIL: utilisation $util% < 90%"; fail=1; fi ;;
    decode)
      if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.25) }'; then echo "  ok: $ratio x the DRAM bound <= 1.25"
      else echo "  FAIL: $ratio x the DRAM bound > 1.25"; fail=1; fi ;;
  esac
  echo
}

bench prefill 64 768 768
bench decode 1 768 768
# CPU backend: ternary GEMV kernels (portable, AVX2, AVX-VNNI, AVX-512) against
# this machine's measured DRAM read bandwidth at 2 bits per weight.  Wall-clock
# figures from tools/bench_cpu.c, each printed with where it comes from.
CPUB=${TERN_BENCH_CPU:-build/bench_cpu}
if [ -x "$CPUB" ]; then
  if "$CPUB" >"$LOGDIR/cpu-gemv.log" 2>&1; then cat "$LOGDIR/cpu-gemv.log"
  else cat "$LOGDIR/cpu-gemv.log"; echo "bench: FAIL: cpu GEMV kernels (log: $LOGDIR/cpu-gemv.log)"; fail=1; fi
  echo
else
  echo "bench: FAIL: $CPUB missing (make bench builds it)"; fail=1
fi

# tern generate on the cpu backend: decode ms/token of mobilellm-125m (integer
# reference, BitLinear on the best SIMD kernel, int8 KV cache), wall clock from
# runtime/generate.c, against the DRAM floor of reading every ternary weight
# once per token at 2 bits (bytes from the model, bandwidth from bench_cpu).
GENLOG="$LOGDIR/generate-mobilellm-125m.log"
echo "== tern generate mobilellm-125m --backend cpu: 16 prompt tokens + 8 decoded (greedy) =="
if "$T" generate mobilellm-125m --prompt "The quick brown " --tokens 8 --backend cpu >"$GENLOG" 2>&1; then
  kern=$(sed -n 's/.*BitLinear kernel \([a-z0-9]*\)).*/\1/p' "$GENLOG" | head -1)
  ms=$(sed -n 's/.*decode \([0-9.]*\) ms\/token.*/\1/p' "$GENLOG" | head -1)
  wbytes=$(sed -n 's/.* = \([0-9]*\) bytes at 2 bits.*/\1/p' "$GENLOG" | head -1)
  agree=$(sed -n 's/^integer vs float top-1: \(.*\) steps agree/\1/p' "$GENLOG" | head -1)
  gbs=$(sed -n 's/.*DRAM *([0-9]* MiB buffer): *\([0-9.]*\) GB\/s.*/\1/p' "$LOGDIR/cpu-gemv.log" 2>/dev/null | head -1)
  printf '  %-54s %12s  (%s)\n' "BitLinear kernel" "$kern" "tern generate, TERN_CPU_KERNEL or the best variant"
  printf '  %-54s %12s  (%s)\n' "decode ms/token" "$ms" "tern generate: wall clock of the integer decode calls"
  printf '  %-54s %12s  (%s)\n' "decode tokens/s" "$(awk -v m="$ms" 'BEGIN { printf "%.1f", 1000 / m }')" "1000 / ms per token"
  printf '  %-54s %12s  (%s)\n' "ternary weight bytes at 2 bits" "$wbytes" "model parameter count / 4"
  printf '  %-54s %12s  (%s)\n' "integer vs float top-1 agreement" "$agree" "float reference in lockstep"
  if [ -n "$gbs" ]; then
    floor=$(awk -v b="$wbytes" -v g="$gbs" 'BEGIN { printf "%.3f", b / (g * 1e9) * 1e3 }')
    printf '  %-54s %12s  (%s)\n' "DRAM floor ms/token = weight bytes / DRAM read GB/s" "$floor" "bench_cpu DRAM bandwidth $gbs GB/s"
    printf '  %-54s %12s  (%s)\n' "decode time / DRAM floor" "$(awk -v m="$ms" -v f="$floor" 'BEGIN { printf "%.2fx", m / f }')" \
      "ratio; the floor ignores the int8 LM head, attention and norms"
  else
    echo "  (no DRAM bandwidth in $LOGDIR/cpu-gemv.log: ratio to the DRAM floor not computed)"
  fi
  [ -n "$ms" ] || { echo "  FAIL: no decode time in $GENLOG"; fail=1; }
else
  cat "$GENLOG"; echo "bench: FAIL: tern generate (log: $GENLOG)"; fail=1
fi
echo

# Transformer decode on the RTL (issue 3): one decode step of every block of
# MobileLLM-125M (30 blocks) and of MobileLLM-125M-LS (60 block passes), after
# a one-token prefill, on a 16x16 array whose WBUF holds one block
# (wbuf_depth 16384 tiles = 1 MiB: 13,824 tiles of a block + 256 streaming);
# then -LS with smaller weight buffers.  Every figure is read from the RTL
# counters through `tern generate --backend rtl` (which also checks every
# step's logits bit for bit against the integer reference).
TFM_BIG=(--set wbuf_depth=16384 --set out_depth=4096)
tfm_decode() { # label model extra-args...
  local label=$1 model=$2; shift 2
  local L="$LOGDIR/decode-$label.log"
  if ! "$T" generate "$model" --prompt "H" --tokens 2 --backend rtl "$@" >"$L" 2>&1; then
    cat "$L"; echo "bench: FAIL: $label decode on the RTL (log: $L)"; fail=1; return
  fi
  local line cyc tps uj wb
  line=$(grep '^decode (rtl counters' "$L" | head -1)
  cyc=$(sed -n 's/.*: \([0-9]*\) cycles\/token.*/\1/p' <<<"$line")
  tps=$(sed -n 's/.* = \([0-9.]*\) tokens\/s.*/\1/p' <<<"$line")
  uj=$(sed -n 's/.*, \([0-9.]*\) uJ\/token.*/\1/p' <<<"$line")
  wb=$(sed -n 's/.*DRAM weight bytes\/token \([0-9]*\).*/\1/p' <<<"$line")
  roof=$(sed -n 's/.*runs at \([0-9.]*\) % of the DRAM.*/\1/p' "$L" | head -1)
  exact=$(sed -n 's/^rtl vs integer reference: \(.*\) steps bit-exact.*/\1/p' "$L" | head -1)
  printf '  %-40s %12s cycles %10s tok/s %9s uJ/token %11s weight B/token %6s%% roofline  bit-exact %s\n' \
    "$label" "$cyc" "$tps" "$uj" "$wb" "$roof" "$exact"
  eval "DEC_${label//[-.]/_}_WB=$wb; DEC_${label//[-.]/_}_CYC=$cyc"
}
echo "== transformer decode on the RTL: one token after a one-token prefill (16x16, dram_bw 16, 200 MHz) =="
echo "  (cycles, tok/s at 200 MHz, uJ/token (45 nm table) and DRAM weight bytes/token: RTL counters via tern generate)"
tfm_decode "125m" mobilellm-125m "${TFM_BIG[@]}"
tfm_decode "125m-ls" mobilellm-125m-ls "${TFM_BIG[@]}"
tfm_decode "125m-ls-wbuf8192" mobilellm-125m-ls --set wbuf_depth=8192 --set out_depth=4096
tfm_decode "125m-ls-noresidency" mobilellm-125m-ls "${TFM_BIG[@]}" --residency off
if [ -n "${DEC_125m_WB:-}" ] && [ -n "${DEC_125m_ls_WB:-}" ]; then
  if [ "$DEC_125m_WB" = "$DEC_125m_ls_WB" ]; then
    echo "  ok: -LS with a one-block WBUF fetches the same weight bytes/token as 125M ($DEC_125m_WB), not twice"
  else
    echo "  FAIL: -LS weight bytes/token $DEC_125m_ls_WB != 125M's $DEC_125m_WB"; fail=1
  fi
  if [ -n "${DEC_125m_ls_wbuf8192_WB:-}" ]; then
    echo "  -LS with WBUF 8192 tiles keeps $(awk -v a="$DEC_125m_ls_noresidency_WB" -v b="$DEC_125m_ls_wbuf8192_WB" -v c="$DEC_125m_WB" \
      'BEGIN { if (a > c) printf "%.1f", 100 * (a - b) / (a - c); else print "n/a" }') % of the saving (weight bytes: no residency $DEC_125m_ls_noresidency_WB, one-block WBUF $DEC_125m_ls_WB)"
  fi
fi
echo

# Transformer vs recurrent at the 100M scale (issue 4): one decode step per
# context on the ISA simulator (cycle model = the RTL's, tested), after a
# 4-token prefill and a seek (counters proven equal to a real prefill's in
# tests/test_compare.cc).  The Hawk/Griffin presets carry RecurrentGemma's
# 256000-token vocabulary: their tied int8 LM head (196 MB) dominates a decode
# step, which the 'other B' column shows.
echo "== tern compare mobilellm-125m hawk-100m griffin-100m (ISA simulator, 16x16, acc_depth 8192) =="
CL="$LOGDIR/compare-100m.log"
if "$T" compare mobilellm-125m hawk-100m griffin-100m --contexts 64,1024,8192 \
     --set acc_depth=8192 --report reports/out/bench-compare >"$CL" 2>&1; then
  sed -n '/^model /,/^sources:/p' "$CL" | grep -v '^sources:' | sed 's/^/  /'
  v=$(sed -n 's/^verdict: //p' "$CL")
  echo "  verdict: $v"
  flat=$(sed -n 's/.*hawk-100m 8192\/64 = \([0-9.]*\).*/\1/p' "$CL" | head -1)
  grow=$(sed -n 's/.*mobilellm-125m 8192\/64 = \([0-9.]*\).*/\1/p' "$CL" | head -1)
  if [ -n "$flat" ] && [ -n "$grow" ] &&
     awk -v f="$flat" -v g="$grow" 'BEGIN { exit !(f <= 1.05 && g > 2) }'; then
    echo "  ok: hawk-100m decode cycles flat in the context ($flat x), mobilellm-125m grows ($grow x);"
    echo "      report: reports/out/bench-compare/compare.html"
  else
    echo "  FAIL: expected hawk-100m flat (<= 1.05 x) and mobilellm-125m growing (> 2 x): '$flat' '$grow'"; fail=1
  fi
else
  cat "$CL"; echo "bench: FAIL: tern compare (log: $CL)"; fail=1
fi
echo

# Real models (issue 11): quality of the shipped trained models, and the
# full-size checkpoint path (scripts/bench_models.sh).
LOGDIR=$LOGDIR TERN_BIN=$T ./scripts/bench_models.sh || fail=1
echo

if [ $fail -ne 0 ]; then echo "bench: FAIL (logs in $LOGDIR/)"; exit 1; fi
echo "bench: all targets met (logs in $LOGDIR/)"
