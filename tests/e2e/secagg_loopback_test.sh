#!/usr/bin/env bash
# End-to-end: secure aggregation over gRPC with mutual TLS (issue 20): a
# fedge-coordinator whose settings have [secagg] and 4 fedge-device
# processes. device-3 is killed mid-round, once it has trained and joined
# the protocol; the stage it misses closes at its deadline, and both rounds
# succeed with the 3 survivors' masked updates (round 2 selects the dead
# device again and goes on without it). The model must learn.
#
#   secagg_loopback_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
loopback_init "$1"

settings="$W/federation.toml"
cat > "$settings" <<'TOML'
name = "secure"
seed = 3

[model]
name = "cnn_small"

[federation]
rounds = 2
min_devices = 4
devices_per_round = 4
over_selection = 1.0
min_quorum = 3
round_deadline_s = 300
poll_interval_ms = 100

[training]
local_epochs = 1
batch_size = 32
learning_rate = 0.05
max_examples = 1500
update_clip_norm = 5

[secagg]
stage_timeout_s = 15
TOML

loopback_keys 4
loopback_start_coordinator -- --config "$settings" --eval-threads 1 --tick-interval-ms 50
for i in 0 1 2 3; do loopback_start_device "$i" 4 -- --model cnn_small --max-tasks 2; done
victim=${LOOPBACK_DEVICES[3]}
LOOPBACK_DEVICES=("${LOOPBACK_DEVICES[@]:0:3}")  # loopback_wait waits for the survivors only
wait_for 240 "device-3 joining secure aggregation" grep -q "joining secure aggregation" "$W/device-3.log"
kill -9 "$victim"
loopback_wait || fail "the coordinator or a surviving device failed"

csv="$W/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
succeeded=$(csv_column "$csv" succeeded | grep -c '^1$' || true)
contributors=$(csv_column "$csv" secagg_contributors | sort -u | tr '\n' ' ')
accuracy=$(csv_column "$csv" test_accuracy | tail -n 1)
echo "rounds: $rows, succeeded: $succeeded, contributors per round: $contributors, accuracy: $accuracy"
[[ $rows -eq 2 && $succeeded -eq 2 ]] || { cat "$csv"; fail "expected 2 successful rounds"; }
[[ $contributors == "3 " ]] || { cat "$csv"; fail "expected the 3 survivors' sum in each round"; }
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.4) }' || fail "accuracy $accuracy is not above 0.4"
grep -q "secure aggregation stage 'advertise keys' closed with 3 of 4 devices\|secure aggregation stage '[a-z ]*' closed with 3 of 4" \
  "$W/coordinator.log" || fail "no stage closed without the killed device"
for i in 0 1 2; do
  grep -q "secure aggregation of task .* done" "$W/device-$i.log" || fail "device-$i did not finish its exchange"
done
echo "PASS"
