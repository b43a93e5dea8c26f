#!/bin/sh
# Installs the Debian packages tern needs, only those missing.  Called by
# `make demo`, `make test` and every target that needs a tool; with the
# argument `fuzz` also the coverage-guided fuzzing toolchain.
set -e
PKGS="build-essential verilator yosys libsystemc-dev googletest libgtest-dev gnuplot-nox \
nextpnr-ice40 fpga-icestorm zlib1g-dev jq libinih-dev libjansson-dev libpcre2-dev python3 python3-yaml time"
# `install-deps.sh fuzz` (make fuzz-cov): clang and its libFuzzer / sanitizer
# runtimes (libclang_rt.fuzzer-x86_64.a is in libclang-rt-*-dev, which clang
# only recommends).  make test / demo / sanitize never need them.
[ "$1" = fuzz ] && PKGS="$PKGS clang libclang-rt-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $missing
