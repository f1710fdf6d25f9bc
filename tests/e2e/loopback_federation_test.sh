#!/usr/bin/env bash
# End-to-end: fedge-coordinator and 5 fedge-device processes on 127.0.0.1
# over mutual TLS (each device presents its own dev certificate, whose CN is
# its device id) run 3 rounds of FedAvg on disjoint Fashion-MNIST shards,
# 4,000 examples each per round (one pass over the training set in all);
# the global test accuracy after round 3 must exceed 75%.
#
#   loopback_federation_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT

loopback_keys 5
loopback_start_coordinator -- --rounds 3 --min-devices 5 --devices-per-round 5 --over-selection 1 \
  --train-max-examples 4000 --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 \
  --tick-interval-ms 50 --poll-interval-ms 100
for i in 0 1 2 3 4; do loopback_start_device "$i" 5 -- --model cnn_small --max-tasks 3; done
loopback_wait
grep -E "round [0-9]+ (succeeded|failed)" "$LOOPBACK_WORK/coordinator.log" || true
grep -q "mutual TLS: clients need a certificate" "$LOOPBACK_WORK/coordinator.log" ||
  { echo "FAIL: the coordinator did not require client certificates"; exit 1; }

csv="$LOOPBACK_WORK/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
succeeded=$(csv_column "$csv" succeeded | grep -c '^1$' || true)
accuracy=$(csv_column "$csv" test_accuracy | tail -n 1)
echo "rounds: $rows, succeeded: $succeeded, final test accuracy: $accuracy"
[[ $rows -eq 3 && $succeeded -eq 3 ]] || { echo "FAIL: expected 3 successful rounds"; cat "$csv"; exit 1; }
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.75) }' || { echo "FAIL: accuracy $accuracy is not above 0.75"; exit 1; }
echo "PASS"
