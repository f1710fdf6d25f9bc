#!/usr/bin/env bash
# Asynchronous buffered aggregation (FedBuff, issue #18) end to end over
# gRPC with mutual TLS on 127.0.0.1: a fedge-coordinator in async mode
# (a server step every 3 accepted updates, at most 2 steps stale) and six
# fedge-device processes that join and leave at random (a seeded shuffle:
# after every 3 accepted updates one running device is SIGKILLed and one
# stopped device starts), plus fedge-hostile-device holding back an update until it
# is beyond the staleness bound.
# Checks:
#   - the run completes its 10 server steps, each recorded once in
#     rounds.csv with 3 accepted updates, and the model improves (final test
#     accuracy above 0.6 and above the first step's);
#   - the held-back update is refused, twice, with FAILED_PRECONDITION
#     naming the staleness and [async] max_staleness, and counted as a
#     rejection in rounds.csv, never aggregated;
#   - nothing is counted twice: the coordinator accepted exactly as many
#     updates as rounds.csv counts, each task id once, and every update a
#     device saw acknowledged is among them.
#
#   async_federation_test.sh BIN_DIR HOSTILE_DEVICE_BINARY
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
loopback_init "$1"
hostile=$2
RANDOM=18  # the join/leave schedule is the same on every run

STEPS=10
cat > "$W/coordinator.toml" <<TOML
[federation]
mode = "async"
rounds = $STEPS
min_devices = 3
poll_interval_ms = 100
[async]
buffer_size = 3
staleness_exponent = 0.5
max_staleness = 2
max_concurrent = 8
TOML

NUM=6
loopback_keys $((NUM + 1))  # device-6 is the hostile one
loopback_start_coordinator -- --config "$W/coordinator.toml" --model cnn_small --train-max-examples 600 \
  --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 --tick-interval-ms 50 --seed 18 --log-level debug

# The device processes are appended to logs that outlive them.
declare -A running=()
start_device() {  # start_device INDEX
  local i=$1 certs="$W/certs/devices/device-$1"
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$W/certs/cert.pem" \
    --coordinator-key "$W/signing.pem.pub" --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" \
    --device-id "device-$i" --seed $((i + 1)) --shard "$i" --num-shards "$NUM" --threads 1 \
    --model cnn_small >> "$W/device-$i.out" 2>> "$W/device-$i.log" &
  running[$i]=$!
  LOOPBACK_PIDS+=($!)
}
for i in 0 1 2 3; do start_device "$i"; done
certs="$W/certs/devices/device-$NUM"
"$hostile" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$W/certs/cert.pem" \
  --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --coordinator-key "$W/signing.pem.pub" \
  --device-id "device-$NUM" --attacks stale > "$W/hostile.out" 2>&1 &
hostile_pid=$!
LOOPBACK_PIDS+=("$hostile_pid")

# Join and leave: after every 3 updates the coordinator accepts (a server
# step's worth; its log line, as rounds.csv rows come in bursts after
# evaluation), kill a random running device and start a random stopped one.
accepted_so_far() { grep -c "accepted update of task" "$W/coordinator.log" || true; }
churn=0
next=3
while kill -0 "$LOOPBACK_COORDINATOR" 2>/dev/null; do
  if (($(accepted_so_far) >= next && next <= 3 * (STEPS - 2))); then
    next=$((next + 3))
    ids=("${!running[@]}")
    victim=${ids[$((RANDOM % ${#ids[@]}))]}
    kill -9 "${running[$victim]}" 2>/dev/null || true
    wait "${running[$victim]}" 2>/dev/null || true
    unset "running[$victim]"
    stopped=()
    for ((i = 0; i < NUM; i++)); do [[ -n ${running[$i]:-} || $i == "$victim" ]] || stopped+=("$i"); done
    joiner=${stopped[$((RANDOM % ${#stopped[@]}))]}
    start_device "$joiner"
    churn=$((churn + 1))
    echo "after $((next - 3)) accepted updates: device-$victim left, device-$joiner joined"
  fi
  sleep 0.05  # a polling period, not a wait for a result
done
status=0
wait "$LOOPBACK_COORDINATOR" || status=$?
[[ $status -eq 0 ]] || fail "fedge-coordinator exited with $status"
hostile_status=0
wait "$hostile_pid" || hostile_status=$?
cat "$W/hostile.out"
for pid in "${running[@]}"; do kill "$pid" 2>/dev/null || true; done

csv="$W/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
[[ $rows -eq $STEPS ]] || fail "expected $STEPS server steps in rounds.csv, got $rows"
[[ $(csv_column "$csv" round | sort -u | wc -l) -eq $STEPS ]] || fail "a server step was recorded twice"
[[ $(csv_column "$csv" succeeded | grep -c '^1$') -eq $STEPS ]] || fail "a server step failed"
[[ $(csv_column "$csv" accepted | sort -u) == 3 ]] || fail "a step did not aggregate exactly 3 updates"
((churn >= 5)) || fail "only $churn join/leave events"
first=$(csv_column "$csv" test_accuracy | head -n 1)
last=$(csv_column "$csv" test_accuracy | tail -n 1)
echo "test accuracy: $first after step 1, $last after step $STEPS ($churn devices left and joined)"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b > 0.6 && b > a) }' || fail "the model did not improve"

# The held-back update: refused for its staleness, twice, never aggregated.
[[ $hostile_status -eq 0 ]] || fail "the stale update was not refused for its staleness"
[[ $(grep -c "attack stale .*FAILED_PRECONDITION.*too stale.*max_staleness" "$W/hostile.out") -eq 2 ]] ||
  fail "expected two FAILED_PRECONDITION answers naming the staleness bound"
grep -q "rejected update from device-$NUM: .*too stale" "$W/coordinator.log" ||
  fail "the coordinator did not log the stale refusal"
rejected=$(csv_column "$csv" rejected | paste -sd+ | bc)
((rejected >= 1)) || fail "rounds.csv counts no rejected update"
sed -n 's/.*accepted update of task \([^ ]*\) from .*/\1/p' "$W/coordinator.log" | sort > "$W/accepted.txt"
! grep -q "device-$NUM" "$W/accepted.txt" || fail "the stale update was aggregated"

# Nothing counted twice.
counted=$(csv_column "$csv" accepted | paste -sd+ | bc)
accepted=$(wc -l < "$W/accepted.txt")
distinct=$(sort -u "$W/accepted.txt" | wc -l)
cat "$W"/device-*.log | sed -n 's/.*: update for task \([^ ]*\) acknowledged$/\1/p' | sort -u > "$W/acked.txt"
echo "updates: $counted counted in rounds.csv, $accepted accepted ($distinct distinct tasks), $(wc -l < "$W/acked.txt") acknowledged to devices"
[[ $accepted -eq $counted && $distinct -eq $counted ]] || fail "an update was counted twice or not recorded"
[[ -z $(comm -23 "$W/acked.txt" "$W/accepted.txt") ]] || fail "a device saw an acknowledgement the coordinator did not count"
echo "PASS"
