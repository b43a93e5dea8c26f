#!/bin/bash
# `make demo`: the default model on the default 16x16 configuration, on the
# Verilated RTL and on the golden ISA simulator.  Both must be bit-exact
# against the integer reference (tern run exits 1 otherwise) and must report
# the same cycle count and the same per-unit busy/stall counts.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TERN_BIN:-build/tern}
OUT=reports/out/demo
LOGDIR=build/demo
mkdir -p "$LOGDIR"
[ -x "$T" ] || { echo "demo: $T missing (run make demo, which builds it)" >&2; exit 1; }

echo "== tern demo =="
"$T" models
echo
echo "== RTL backend (Verilated rtl/tern_top.sv) =="
"$T" run --backend rtl --tokens 8 --report "$OUT" | tee "$LOGDIR/rtl.log"
echo
echo "== ISA simulator backend (sim/isasim.c) =="
"$T" run --backend isa --tokens 8 --report "$OUT-isa" | tee "$LOGDIR/isa.log"
echo

cycles_of() { awk '$1 == "cycles:" { print $2; exit }' "$1"; }
units_of()  { grep -m1 '^  load busy' "$1" || true; }
c_rtl=$(cycles_of "$LOGDIR/rtl.log")
c_isa=$(cycles_of "$LOGDIR/isa.log")
if [ -z "$c_rtl" ] || [ -z "$c_isa" ]; then
  echo "demo: FAIL: could not find the cycle count in the output ($LOGDIR/*.log)" >&2
  exit 1
fi
if [ "$c_rtl" != "$c_isa" ]; then
  echo "demo: FAIL: cycle counts differ: RTL $c_rtl, ISA simulator $c_isa" >&2
  exit 1
fi
if [ "$(units_of "$LOGDIR/rtl.log")" != "$(units_of "$LOGDIR/isa.log")" ]; then
  echo "demo: FAIL: per-unit busy/stall counters differ:" >&2
  echo "  RTL: $(units_of "$LOGDIR/rtl.log")" >&2
  echo "  ISA: $(units_of "$LOGDIR/isa.log")" >&2
  exit 1
fi
echo "demo: RTL and ISA simulator are both bit-exact against the integer reference and agree on"
echo "      $c_rtl cycles and on every unit's busy/stall count."
echo "demo: report: $OUT/report.html (also $OUT/report.md, cycles.png, energy.png);"
echo "      ISA-simulator run: $OUT-isa/report.html"
