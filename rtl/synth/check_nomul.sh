#!/bin/bash
# rtl/synth/check_nomul.sh R C — Yosys 0.23 checks: tern_top elaborates
# cleanly (no error, no warning, no latch, `check -assert`), and the generic
# synthesis of tern_array (R x C, with its tern_pe cells) contains no
# multiplier cell ($mul, $macc, $__MUL*, SB_MAC16, DSP48*, MULT18X18*).
# Prints the array's cell counts.  Logs in build/synth/r<R>c<C>/.
set -u
R=${1:-4}
C=${2:-4}
cd "$(dirname "$0")/../.."
OUT=build/synth/r${R}c${C}
mkdir -p "$OUT"
LOG=$OUT/yosys.log
SRCS=$(echo rtl/*.sv)
command -v yosys >/dev/null || { echo "check_nomul: yosys not found (apt-get install yosys)"; exit 1; }

# 1. the whole design: elaborate tern_top (small memory depths: they do not
#    change the logic's structure), run the process/FSM/memory front end and
#    `check -assert` (no multiple drivers, no combinational loops, no
#    undriven nets), and refuse latches.  TERN_SYNTH_FULL=1 also runs the full
#    generic `synth -top tern_top` (a minute or more at 4x4).
TOPSYN="proc; opt_clean; check -assert"
[ "${TERN_SYNTH_FULL:-0}" = 1 ] && TOPSYN="synth -top tern_top; check -assert"
yosys -q -l "$LOG" -p "
  read_verilog -sv -Irtl $SRCS;
  chparam -set ROWS $R -set COLS $C -set WBUF_DEPTH 4 -set ABUF_DEPTH 8 -set ACC_DEPTH 8 \
          -set OUT_DEPTH 8 -set QDEPTH 2 -set IMEM_DEPTH 4 -set DRAM_BW $R tern_top;
  hierarchy -check -top tern_top;
  $TOPSYN;
  tee -o $OUT/stat_top.txt stat;
" >"$OUT/yosys.out" 2>&1
rc=$?
# 2. the array: full generic synthesis of tern_array (with its tern_pe cells)
if [ $rc -eq 0 ]; then
  yosys -q -l "$OUT/yosys_array.log" -p "
    read_verilog -sv -Irtl $SRCS;
    chparam -set ROWS $R -set COLS $C tern_array;
    synth -top tern_array -run :fine;
    tee -o $OUT/stat_coarse.txt stat;
    synth -top tern_array -run fine:;
    tee -o $OUT/stat.txt stat;
  " >>"$OUT/yosys.out" 2>&1
  rc=$?
  cat "$OUT/yosys_array.log" >>"$LOG"
fi
if [ $rc -ne 0 ]; then
  echo "check_nomul: yosys failed (exit $rc) at ${R}x${C}; log $LOG"
  grep -iE "error" "$LOG" "$OUT/yosys.out" | head -20
  exit 1
fi
warn=$(grep -E "^Warning:" "$LOG" | sort -u)
if [ -n "$warn" ]; then
  echo "check_nomul: yosys warnings at ${R}x${C} (synthesis must be clean):"
  echo "$warn" | head -20
  exit 1
fi
if grep -qE '\$dlatch|\$_DLATCH' "$OUT/stat_top.txt" "$OUT/stat.txt"; then
  echo "check_nomul: latches inferred:"; grep -E '\$dlatch|\$_DLATCH' "$OUT/stat_top.txt" "$OUT/stat.txt"
  exit 1
fi

# Per-module sections of `stat` ("=== name ===" ... cell list).
MULRE='\$mul|\$macc|\$__MUL|SB_MAC16|DSP48|MULT18X18|\$alumacc'
awk -v re="$MULRE" '
  /^=== / { mod=$2; arr = (mod ~ /tern_array|tern_pe/); next }
  arr && /^ +[$A-Za-z_].* [0-9]+$/ && (!/Number of/ || /Number of cells/) { print mod ": " $0 }
' "$OUT/stat.txt" >"$OUT/array_cells.txt"
narr=$(grep -cE '^===.*(tern_array|tern_pe)' "$OUT/stat.txt")
if [ "$narr" -eq 0 ]; then
  echo "check_nomul: no tern_array / tern_pe module in the synthesised hierarchy (flattened or missing?)"
  exit 1
fi
echo "array modules (${R}x${C}), cell counts:"
sed 's/^/  /' "$OUT/array_cells.txt"
# multipliers are looked for in the coarse netlist (after alumacc, before
# techmap turns a $mul/$macc into gates) and in the mapped one (DSP cells)
muls=$( (awk -v re="$MULRE" '/^=== / { mod=$2; arr = (mod ~ /tern_array|tern_pe/); next }
          arr && $0 ~ re { print mod " (coarse): " $0 }' "$OUT/stat_coarse.txt";
        grep -E "$MULRE" "$OUT/array_cells.txt") )
if [ "${TERN_SYNTH_FULL:-0}" = 1 ]; then
  echo "whole design (tern_top, full generic synth; multipliers are mapped to gates by now):"
else
  echo "whole design (tern_top, elaborated; cells before technology mapping):"
fi
awk '/design hierarchy/ {h=1} h && /Number of cells/ {print "  " $0; exit}' "$OUT/stat_top.txt"
echo "  multiply cells in the whole design: $(grep -E "^ +($MULRE)" "$OUT/stat_top.txt" | awk '{s+=$NF} END {print s+0}') (allowed outside the array, e.g. the vector unit)"
if [ -n "$muls" ]; then
  echo "check_nomul: FAIL: multiplier cells in the array:"
  echo "$muls"
  exit 1
fi
echo "check_nomul: OK: ${R}x${C} synthesis clean, 0 multiplier cells in tern_array/tern_pe"
