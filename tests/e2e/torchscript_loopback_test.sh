#!/usr/bin/env bash
# Bring your own model over the loopback federation (issue #21):
# fedge-coordinator and 3 fedge-device processes on 127.0.0.1 over mutual TLS
# train the TorchScript cnn_small (tests/models/cnn_small.pt) for 2 rounds,
# then the same federation trains the zoo's cnn_small; the final test
# accuracies must agree within 0.5 points. Settings: torchscript_loopback.toml.
#
#   torchscript_loopback_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/scripts/lib/loopback.sh"
loopback_init "$1"
loopback_keys 3

# federate NAME MODEL: a 2-round loopback federation (torchscript_loopback.toml)
# on MODEL; sets `accuracy` to its final test accuracy (%) and keeps its
# rounds.csv as NAME.csv.
federate() {
  local name=$1 model=$2
  sed -e "s|^name = \"torchscript\"|name = \"$name\"|" -e "s|^name = \"torchscript:.*\"|name = \"$model\"|" \
    "$root/tests/e2e/torchscript_loopback.toml" > "$W/$name.toml"
  LOOPBACK_DEVICES=()
  loopback_start_coordinator -- --config "$W/$name.toml" --eval-threads 1 --tick-interval-ms 50
  for i in 0 1 2; do loopback_start_device "$i" 3 -- --model "$model" --max-tasks 2; done
  loopback_wait || fail "$name: a process failed"
  mv "$W/rounds.csv" "$W/$name.csv"
  local ok
  ok=$(csv_column "$W/$name.csv" succeeded | grep -c '^1$' || true)
  [[ $ok -eq 2 ]] || { cat "$W/$name.csv"; fail "$name: expected 2 successful rounds"; }
  accuracy=$(python3 -c 'import sys; print(100 * float(sys.argv[1]))' "$(csv_column "$W/$name.csv" test_accuracy | tail -n 1)")
}

federate torchscript "torchscript:$root/tests/models/cnn_small.pt"
script=$accuracy
federate zoo cnn_small
zoo=$accuracy
echo "final test accuracy over loopback: TorchScript $script%, zoo cnn_small $zoo%"
python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 0.5 else 1)' "$script" "$zoo" ||
  fail "TorchScript model: $script%, zoo model: $zoo%"
echo "PASS"
