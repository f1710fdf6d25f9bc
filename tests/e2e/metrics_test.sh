#!/usr/bin/env bash
# Prometheus metrics (issue #15): fedge-coordinator --metrics-listen with two
# fedge-device processes over TLS on 127.0.0.1 runs 2 rounds; the test then
# scrapes GET /metrics and checks:
#   - `promtool check metrics` accepts the exposition (format and naming);
#   - the values describe the run: 2 rounds succeeded, 4 updates accepted,
#     2 active devices serving no INT8 model, the test accuracy of the last
#     round, round 2 current, the state store's writes timed (2 round
#     closes, at least one batch of acknowledgements);
#   - every fedge_* metric the alert rules and the Grafana dashboard in
#     deploy/ use is one the coordinator exports (no typo can hide there);
#   - the alert rules pass `promtool check rules` and their unit tests
#     (`promtool test rules`), and the dashboard is valid JSON.
#
#   metrics_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/scripts/lib/loopback.sh"
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
command -v promtool > /dev/null || { echo "FAIL: promtool not found (scripts/setup installs prometheus)"; exit 1; }

LOOPBACK_BIN=$1
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; [[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$LOOPBACK_WORK"' EXIT
W=$LOOPBACK_WORK

cat > "$W/coordinator.toml" <<TOML
[federation]
rounds = 2
min_devices = 2
devices_per_round = 2
over_selection = 1.0
poll_interval_ms = 100
[server]
metrics_listen = "127.0.0.1:0"
TOML
loopback_keys
: > "$W/coordinator.log"
# Not --exit-when-finished: the test scrapes after the last round.
"$LOOPBACK_BIN/fedge-coordinator" --config "$W/coordinator.toml" --generate-dev-tls "$W/certs" \
  --signing-key "$W/signing.pem" --listen 127.0.0.1:0 --rounds-csv "$W/rounds.csv" --model cnn_small \
  --state "$W/state" --train-max-examples 500 --local-epochs 1 --eval-threads 1 --tick-interval-ms 50 --seed 3 2> "$W/coordinator.log" &
LOOPBACK_COORDINATOR=$!
LOOPBACK_PIDS+=("$LOOPBACK_COORDINATOR")
for _ in $(seq 1 1200); do
  LOOPBACK_PORT=$(sed -n 's/.*fedge-coordinator serving .*(port \([0-9]*\)).*/\1/p' "$W/coordinator.log")
  [[ -n $LOOPBACK_PORT ]] && break
  kill -0 "$LOOPBACK_COORDINATOR" 2>/dev/null || { cat "$W/coordinator.log"; exit 1; }
  sleep 0.05
done
metrics_port=$(sed -n 's/.*(metrics port \([0-9]*\)).*/\1/p' "$W/coordinator.log")
[[ -n $metrics_port ]] || { echo "FAIL: no metrics port logged"; cat "$W/coordinator.log"; exit 1; }
for i in 0 1; do loopback_start_device "$i" 2 -- --model cnn_small --max-tasks 2; done
for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || { echo "FAIL: a device exited with $?"; tail "$W"/*.log; exit 1; }; done
for _ in $(seq 1 600); do  # the second round's record (evaluation included)
  [[ $(csv_column "$W/rounds.csv" round 2>/dev/null | wc -l) -ge 2 ]] && break
  sleep 0.1
done

curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$W/metrics.txt" || { echo "FAIL: scrape failed"; exit 1; }
promtool check metrics < "$W/metrics.txt" || { echo "FAIL: promtool check metrics"; cat "$W/metrics.txt"; exit 1; }
value() { awk -v s="$1" '$1 == s { print $2 }' "$W/metrics.txt"; }
expect() {
  local got
  got=$(value "$1")
  [[ $got == "$2" ]] || { echo "FAIL: $1 is '$got', expected $2"; grep '^fedge_' "$W/metrics.txt"; exit 1; }
}
expect 'fedge_rounds_total{outcome="succeeded"}' 2
expect 'fedge_rounds_total{outcome="failed"}' 0
expect 'fedge_updates_accepted_total' 4
expect 'fedge_round_current' 2
expect 'fedge_model_version' 3
expect 'fedge_devices{status="active"}' 2
expect 'fedge_devices{status="offline"}' 0
expect 'fedge_devices_serving{version="0"}' 2
expect 'fedge_round_duration_seconds_count{outcome="succeeded"}' 2
expect 'fedge_store_write_seconds_count{op="close_round"}' 2
[[ $(value 'fedge_store_write_seconds_count{op="append_updates"}') -ge 1 ]] || { echo "FAIL: no timed append"; exit 1; }
accuracy=$(value 'fedge_global_metric{name="test_accuracy"}')
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.4 && a <= 1) }' || { echo "FAIL: test accuracy '$accuracy'"; exit 1; }
[[ $(value 'fedge_transfer_bytes_total{direction="up"}') -gt 0 ]] || { echo "FAIL: no upload bytes"; exit 1; }

# Every metric the alert rules and the dashboard name is exported.
exported=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$W/metrics.txt")
for used in $(grep -ohE 'fedge_[a-z_]+' "$repo/deploy/prometheus/fedge-alerts.yml" "$repo/deploy/grafana/fedge-coordinator.json" | sort -u); do
  base=${used%_bucket}
  grep -qx "$base" <<< "$exported" || { echo "FAIL: deploy/ uses $used, which the coordinator does not export"; exit 1; }
done
promtool check rules "$repo/deploy/prometheus/fedge-alerts.yml"
(cd "$repo/deploy/prometheus" && promtool test rules fedge-alerts_test.yml)
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$repo/deploy/grafana/fedge-coordinator.json"
echo "PASS: $(grep -c '^fedge_' "$W/metrics.txt") fedge samples; promtool accepts metrics and rules"
