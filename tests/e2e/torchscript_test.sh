#!/usr/bin/env bash
# Bring your own model (issue #21): a TorchScript file exported from PyTorch
# (tests/models/cnn_small.pt, made by tests/models/make_torchscript_models.py)
# trains
#   - in fedge-sim (tests/sim/torchscript.toml, in-process transport), and
#   - over gRPC with TLS on 127.0.0.1 (fedge-sim --transport grpc: the
#     coordinator's and the devices' gRPC code),
# each to the final test accuracy of the same scenario on the zoo's cnn_small
# within 0.5 points.
#
#   torchscript_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
W=$(mktemp -d)
trap '[[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$W"' EXIT
cd "$root"  # the scenario names its model relative to the repository root

fail() {
  echo "FAIL: $*"
  exit 1
}
# run NAME SCENARIO [FLAGS...]: a fedge-sim run; prints its final test accuracy (%).
run() {
  local name=$1 scenario=$2
  shift 2
  "$bin/fedge-sim" run "$scenario" --out-dir "$W/runs" --name "$name" "$@" > "$W/$name.log" 2>&1 ||
    { tail -n 20 "$W/$name.log"; fail "fedge-sim run $name"; }
  python3 -c 'import json,sys; print(100 * json.load(open(sys.argv[1]))["final_test_accuracy"])' \
    "$W/runs/$name/summary.json"
}
# close A B: |A - B| <= 0.5 points.
close() { python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 0.5 else 1)' "$1" "$2"; }

sed 's|^name = "torchscript:tests/models/cnn_small.pt"|name = "cnn_small"|' tests/sim/torchscript.toml > "$W/zoo.toml"
grep -q '^name = "cnn_small"' "$W/zoo.toml" || fail "could not derive the zoo scenario"

zoo=$(run zoo "$W/zoo.toml")
script=$(run torchscript tests/sim/torchscript.toml)
echo "final test accuracy: zoo cnn_small $zoo%, TorchScript $script% (in process)"
close "$zoo" "$script" || fail "TorchScript model: $script%, zoo model: $zoo%"

grpc=$(run torchscript-grpc tests/sim/torchscript.toml --transport grpc)
echo "final test accuracy: TorchScript over gRPC $grpc%"
close "$zoo" "$grpc" || fail "TorchScript model over gRPC: $grpc%, zoo model: $zoo%"
echo "PASS"
