#!/usr/bin/env bash
# End-to-end: fedge-coordinator and 5 fedge-device processes on 127.0.0.1
# over TLS run 3 rounds of FedAvg on disjoint Fashion-MNIST shards; the
# global test accuracy after round 3 must exceed 75%.
#
#   loopback_federation_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
bin=$1
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: $data not installed"; exit 77; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/fedge-coordinator" --generate-dev-tls "$work/certs" --signing-key "$work/signing.pem" \
  --generate-signing-key --generate-only

"$bin/fedge-coordinator" --generate-dev-tls "$work/certs" --signing-key "$work/signing.pem" \
  --listen 127.0.0.1:0 --rounds 3 --min-devices 5 --devices-per-round 5 --over-selection 1 \
  --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 \
  --round-deadline-s 600 --tick-interval-ms 50 --poll-interval-ms 100 \
  --exit-when-finished --rounds-csv "$work/rounds.csv" 2> "$work/coordinator.log" &
coordinator=$!
pids+=("$coordinator")

port=""
for _ in $(seq 1 600); do  # the coordinator logs its port once it serves
  port=$(sed -n 's/.*fedge-coordinator serving .*(port \([0-9]*\)).*/\1/p' "$work/coordinator.log")
  [[ -n $port ]] && break
  kill -0 "$coordinator" 2>/dev/null || { cat "$work/coordinator.log"; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { echo "coordinator did not start"; cat "$work/coordinator.log"; exit 1; }

devices=()
for i in 0 1 2 3 4; do
  "$bin/fedge-device" --coordinator "127.0.0.1:$port" --root-cert "$work/certs/cert.pem" \
    --coordinator-key "$work/signing.pem.pub" --device-id "device-$i" --seed $((i + 1)) \
    --shard "$i" --num-shards 5 --model cnn_small --threads 1 --max-tasks 3 \
    2> "$work/device-$i.log" &
  devices+=($!)
  pids+=($!)
done

status=0
wait "$coordinator" || status=$?
for d in "${devices[@]}"; do wait "$d" || { echo "device exited with $?"; status=1; }; done
cat "$work/coordinator.log" | grep -E "round [0-9]+ (succeeded|failed)" || true
[[ $status -eq 0 ]] || { echo "FAIL: a process exited with an error"; tail -20 "$work"/*.log; exit 1; }

# rounds.csv: header + 3 rows; find the test_accuracy column by name.
accuracy=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_accuracy") c = i; next }
                    { last = $c } END { print last }' "$work/rounds.csv")
rows=$(($(wc -l < "$work/rounds.csv") - 1))
succeeded=$(awk -F, 'NR > 1 && $2 == "1"' "$work/rounds.csv" | wc -l)
echo "rounds: $rows, succeeded: $succeeded, final test accuracy: $accuracy"
[[ $rows -eq 3 && $succeeded -eq 3 ]] || { echo "FAIL: expected 3 successful rounds"; cat "$work/rounds.csv"; exit 1; }
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.75) }' || { echo "FAIL: accuracy $accuracy <= 0.75"; exit 1; }
echo "PASS"
