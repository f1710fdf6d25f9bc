#!/usr/bin/env bash
# The gateway tier end to end (issue #19), over mutual TLS on 127.0.0.1:
# the same federation (10 devices on disjoint Fashion-MNIST shards, FedAvg,
# cnn_small, int8 updates, 4 rounds) run twice:
#   direct:   fedge-coordinator <- 10 fedge-device;
#   two-tier: fedge-coordinator <- 2 fedge-gateway <- 5 fedge-device each.
# Checks:
#   - both runs complete every round; the two-tier run's final test accuracy
#     is within 0.5 point of the direct run's;
#   - the coordinator accepts 2 updates a round from the gateways (one per
#     site) instead of 10, and its upstream bytes per round are at least 4.5x
#     smaller (ideally 5x: devices per gateway);
#   - every gateway combined 5 device updates a round, each device's update
#     acknowledged by its gateway.
#
#   gateway_federation_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
loopback_init "$1"

ROUNDS=4
DEVICES=10
SITES=2
PER_SITE=$((DEVICES / SITES))
TRAIN=(--model cnn_small --codec int8 --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 --train-max-examples 3000
  --tick-interval-ms 50 --poll-interval-ms 100 --seed 19)
ids=()
for ((g = 0; g < SITES; g++)); do ids+=("gateway-$g"); done
loopback_keys $DEVICES  # device-0..9, plus the admin certificate
"$LOOPBACK_BIN/fedge-coordinator" --generate-dev-tls "$W/certs" --issue-device-cert "${ids[@]}" 2> /dev/null

# run_direct: the coordinator and the 10 devices; rounds.csv moves to direct.csv.
run_direct() {
  loopback_start_coordinator -- --rounds $ROUNDS --min-devices $DEVICES --devices-per-round $DEVICES \
    --over-selection 1 "${TRAIN[@]}"
  for ((i = 0; i < DEVICES; i++)); do loopback_start_device "$i" $DEVICES -- --model cnn_small --max-tasks $ROUNDS; done
  loopback_wait || fail "the direct run failed"
  mv "$W/rounds.csv" "$W/direct.csv"
  mv "$W/coordinator.log" "$W/direct-coordinator.log"
  LOOPBACK_DEVICES=()
}

# start_gateway G: gateway-G on a free port, for the coordinator; sets GATEWAY_PORT.
start_gateway() {
  local g=$1 log="$W/gateway-$1.log" certs="$W/certs/devices/gateway-$1"
  : > "$log"
  "$LOOPBACK_BIN/fedge-gateway" --config "$W/gateway.toml" --coordinator "127.0.0.1:$LOOPBACK_PORT" \
    --coordinator-root-cert "$W/certs/cert.pem" --coordinator-key "$W/signing.pem.pub" \
    --gateway-cert "$certs/cert.pem" --gateway-key "$certs/key.pem" --listen 127.0.0.1:0 \
    --generate-dev-tls "$W/gateway-$g-tls" --client-ca "$W/certs/ca.pem" --state "$W/gateway-$g-state" \
    --seed $((g + 1)) --tick-interval-ms 50 2> "$log" &
  LOOPBACK_PIDS+=($!)
  GATEWAY_PORT=""
  for _ in $(seq 1 600); do
    GATEWAY_PORT=$(sed -n 's/.*fedge-gateway .* serving on .*(port \([0-9]*\)).*/\1/p' "$log")
    [[ -n $GATEWAY_PORT ]] && return 0
    sleep 0.1
  done
  fail "fedge-gateway $g did not start"
}

# start_site_device I G: device I behind gateway G (its shard as in the direct run).
start_site_device() {
  local i=$1 g=$2 certs="$W/certs/devices/device-$1"
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:${GATEWAY_PORTS[$g]}" \
    --root-cert "$W/gateway-$g-tls/cert.pem" --coordinator-key "$W/signing.pem.pub" \
    --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --device-id "device-$i" --seed $((i + 1)) \
    --shard "$i" --num-shards $DEVICES --threads 1 --model cnn_small --max-tasks $ROUNDS 2> "$W/device-$i.log" &
  LOOPBACK_DEVICES+=($!)
  LOOPBACK_PIDS+=($!)
}

run_two_tier() {
  cat > "$W/gateway.toml" << TOML
[gateway]
min_devices = $PER_SITE
site_quorum = $PER_SITE
site_deadline_s = 600
forward_margin_s = 5
TOML
  loopback_start_coordinator -- --rounds $ROUNDS --min-devices $SITES --devices-per-round $SITES \
    --over-selection 1 "${TRAIN[@]}"
  GATEWAY_PORTS=()
  for ((g = 0; g < SITES; g++)); do
    start_gateway "$g"
    GATEWAY_PORTS+=("$GATEWAY_PORT")
  done
  for ((i = 0; i < DEVICES; i++)); do start_site_device "$i" $((i / PER_SITE)); done
  loopback_wait || fail "the two-tier run failed"
  mv "$W/rounds.csv" "$W/two_tier.csv"
}

run_direct
run_two_tier

rounds_ok() {  # rounds_ok CSV: every round succeeded
  [[ $(csv_column "$1" round | wc -l) -eq $ROUNDS && $(csv_column "$1" succeeded | grep -c '^1$') -eq $ROUNDS ]]
}
rounds_ok "$W/direct.csv" || fail "the direct run did not complete $ROUNDS rounds: $(cat "$W/direct.csv")"
rounds_ok "$W/two_tier.csv" || fail "the two-tier run did not complete $ROUNDS rounds: $(cat "$W/two_tier.csv")"
[[ $(csv_column "$W/two_tier.csv" accepted | sort -u) == "$SITES" ]] || fail "a round did not take one update per site"
[[ $(csv_column "$W/direct.csv" accepted | sort -u) == "$DEVICES" ]] || fail "a direct round did not take every device"

direct=$(csv_column "$W/direct.csv" test_accuracy | tail -n 1)
tiered=$(csv_column "$W/two_tier.csv" test_accuracy | tail -n 1)
mean() { paste -sd+ | sed 's/^/(/; s/$/)/' | bc -l | awk -v n=$ROUNDS '{ printf "%.0f", $1 / n }'; }
up_direct=$(csv_column "$W/direct.csv" bytes_up | mean)
up_tiered=$(csv_column "$W/two_tier.csv" bytes_up | mean)
echo "final test accuracy: direct $direct, two-tier $tiered"
echo "coordinator upload bytes per round: direct $up_direct, two-tier $up_tiered" \
  "($(echo "scale=2; $up_direct / $up_tiered" | bc)x fewer)"
awk -v a="$direct" -v b="$tiered" 'BEGIN { d = a - b; exit !(d <= 0.005 && d >= -0.005) }' ||
  fail "the two-tier accuracy $tiered is not within 0.5 point of the direct $direct"
awk -v a="$direct" 'BEGIN { exit !(a > 0.7) }' || fail "the direct run did not learn ($direct)"
awk -v d="$up_direct" -v t="$up_tiered" 'BEGIN { exit !(d >= 4.5 * t) }' ||
  fail "upstream bytes did not shrink by the devices per gateway"

for ((g = 0; g < SITES; g++)); do
  forwarded=$(grep -c "gateway-$g: site round [0-9]* forwarded ($PER_SITE of $PER_SITE devices" "$W/gateway-$g.log" || true)
  [[ $forwarded -eq $ROUNDS ]] || fail "gateway-$g forwarded $forwarded complete site rounds, not $ROUNDS"
done
acked=$(cat "$W"/device-*.log | grep -c "acknowledged$" || true)
[[ $acked -eq $((DEVICES * ROUNDS)) ]] || fail "$acked device updates acknowledged, expected $((DEVICES * ROUNDS))"
echo "PASS"
