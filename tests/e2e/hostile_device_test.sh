#!/usr/bin/env bash
# End-to-end: one hostile device among honest ones, over mutual TLS on
# 127.0.0.1, with the coordinator's default update limits. In round 1 it
# sends an update crafted to overflow the aggregate (0.9 * FLT_MAX claiming
# 2 examples), in round 2 one with garbage metrics. Both must be refused as
# invalid, every round must succeed with the honest devices, and the model
# must stay finite and keep learning.
#
#   hostile_device_test.sh BIN_DIR HOSTILE_DEVICE_BINARY
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
hostile=$2
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT

# Four devices are selected every round (device-3 is the hostile one), so a
# round with the attacker refused closes with the three honest updates as
# soon as all four have answered, long before its deadline.
loopback_keys 4
loopback_start_coordinator -- --rounds 2 --min-devices 4 --devices-per-round 4 --over-selection 1 \
  --min-quorum 3 --round-deadline-s 20 --train-max-examples 2000 \
  --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 \
  --tick-interval-ms 50 --poll-interval-ms 100
for i in 0 1 2; do loopback_start_device "$i" 3 -- --model cnn_small --max-tasks 2; done
certs="$LOOPBACK_WORK/certs/devices/device-3"
"$hostile" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$LOOPBACK_WORK/certs/cert.pem" \
  --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --coordinator-key "$LOOPBACK_WORK/signing.pem.pub" \
  --device-id device-3 --attacks overflow metrics > "$LOOPBACK_WORK/hostile.out" 2>&1 &
hostile_pid=$!
LOOPBACK_PIDS+=("$hostile_pid")
loopback_wait
hostile_status=0
wait "$hostile_pid" || hostile_status=$?
cat "$LOOPBACK_WORK/hostile.out"
grep -E "rejected update|round [0-9]+ (succeeded|failed)" "$LOOPBACK_WORK/coordinator.log" | cut -c1-240 || true
[[ $hostile_status -eq 0 ]] || { echo "FAIL: an attack was not refused as invalid"; exit 1; }
grep -q "attack overflow .*INVALID_ARGUMENT.*norm" "$LOOPBACK_WORK/hostile.out" ||
  { echo "FAIL: the overflow attack was not refused by the norm bound"; exit 1; }
grep -q "attack metrics .*INVALID_ARGUMENT.*metric" "$LOOPBACK_WORK/hostile.out" ||
  { echo "FAIL: the metrics attack was not refused for its metrics"; exit 1; }

csv="$LOOPBACK_WORK/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
succeeded=$(csv_column "$csv" succeeded | grep -c '^1$' || true)
rejected=$(csv_column "$csv" rejected | paste -sd+ | bc)
accuracy=$(csv_column "$csv" test_accuracy | tail -n 1)
echo "rounds: $rows, succeeded: $succeeded, rejected updates: $rejected, final test accuracy: $accuracy"
[[ $rows -eq 2 && $succeeded -eq 2 ]] || { echo "FAIL: expected 2 successful rounds"; cat "$csv"; exit 1; }
# Each round closed once all four had answered, not at its 20 s deadline.
[[ $(grep -c "every selected device answered" "$LOOPBACK_WORK/coordinator.log") -eq 2 ]] ||
  { echo "FAIL: a round with the attack refused waited for its deadline"; exit 1; }
[[ $rejected -eq 2 ]] || { echo "FAIL: expected the 2 attacks rejected"; cat "$csv"; exit 1; }
# A non-finite model would score chance (10%) or fail evaluation.
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.6) }' || { echo "FAIL: accuracy $accuracy is not above 0.6"; exit 1; }
echo "PASS"
