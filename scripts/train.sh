#!/bin/bash
# `make train`: retrains the shipped models with PyTorch (models/train/,
# models/train/README.md) by running the exact command each trained
# directory records in its COMMAND file, so the result is the committed
# checkpoint (fixed seeds, fixed step counts).  The only target that needs
# Python and PyTorch (Debian's python3-torch); it installs them, with numpy,
# matplotlib and the fortunes corpus, if missing.
#   TRAIN_MODELS="tiny hawk-tiny"   retrain only these (default: every models/trained/*/COMMAND)
#   scripts/train.sh test           the training scripts' unit tests (make train-test)
# Each tiny model takes about 20-30 minutes on one core, small about an hour (its train.log
# says how long it took).
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="python3-torch python3-numpy python3-matplotlib fortunes"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "train: installing:$missing"
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq $missing
fi
if [ "${1:-}" = test ]; then  # make train-test: the training scripts' own tests (seconds)
  exec /usr/bin/python3 -m unittest models/train/test_train.py models/train/test_train_rnn.py
fi
models=${TRAIN_MODELS:-$(for c in models/trained/*/COMMAND; do basename "$(dirname "$c")"; done)}
for m in $models; do
  cmd=models/trained/$m/COMMAND
  [ -f "$cmd" ] || { echo "train: $cmd missing (models with a COMMAND: $(ls models/trained/*/COMMAND))" >&2; exit 1; }
  # the recorded command, run from the repository root (a leading "cd DIR &&" of the
  # machine that trained it is dropped)
  line=$(sed -e 's/^cd [^&]* && //' "$cmd")
  echo "== train $m: $line"
  bash -c "$line"
done
echo "train: done; git diff --stat models/trained shows what changed (nothing, if the run reproduced the committed checkpoints)"
