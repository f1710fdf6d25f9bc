#!/usr/bin/env bash
# Fault injection (issue #14): fedge-coordinator with --state and 5
# fedge-device processes over TLS on 127.0.0.1 run 4 rounds of FedAvg,
# evaluating and deploying an int8 model every round. The
# coordinator is killed with SIGKILL at 10 points spread over the run and
# restarted on the same port and state directory each time:
#   idle before any device, a round just opened, just after a device saw an
#   acknowledgement, during evaluation, during a deployment (from outside,
#   on the coordinator's log lines), and mid-download / mid-upload (the
#   coordinator SIGKILLs itself between two chunks: FEDGE_FAULT_INJECTION).
# Checks:
#   - the run completes: rounds 1..4 each exactly once in rounds.csv, every
#     one succeeded;
#   - for every round, the accepted count in rounds.csv equals the number of
#     distinct updates devices saw acknowledged for that round: every
#     acknowledged update counted once, nothing counted unacknowledged;
#   - deployments are numbered 1..4 across restarts and every device
#     installs a deployment made after a restart (the counter continued);
#   - the final test accuracy is within 0.5 points of an uninterrupted run
#     with the same seeds (run first, without kills).
#
#   durable_coordinator_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; [[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$LOOPBACK_WORK"' EXIT
W=$LOOPBACK_WORK
ROUNDS=4

cat > "$W/coordinator.toml" <<TOML
[federation]
rounds = $ROUNDS
min_devices = 5
devices_per_round = 5
over_selection = 1.0
round_deadline_s = 120
poll_interval_ms = 100
[deploy]
every_rounds = 1
epochs = 1
proxy_data = "$data"
proxy_examples = 1000
threads = 1
[state]
resume_grace_s = 60
TOML
# Devices outlast the coordinator's downtime: many quick retries.
cat > "$W/device.toml" <<TOML
[transfer]
download_chunk_bytes = 16384
upload_chunk_bytes = 16384
[retry]
initial_backoff_ms = 50
max_backoff_ms = 300
max_attempts = 400
[run]
max_consecutive_failures = 1000
TOML

loopback_keys

PORT=""
COORD=""
NEXT_FAULT=""  # FEDGE_FAULT_INJECTION of the next coordinator started
START_COUNT=0
# start_coordinator STATE_DIR CSV: (re)starts on $PORT (a free one the first time).
start_coordinator() {
  START_COUNT=$((START_COUNT + 1))
  [[ -n $NEXT_FAULT ]] && echo "  (restarted with FEDGE_FAULT_INJECTION=$NEXT_FAULT)"
  LOG="$W/coordinator-$START_COUNT.log"
  : > "$LOG"
  FEDGE_FAULT_INJECTION="$NEXT_FAULT" "$LOOPBACK_BIN/fedge-coordinator" --config "$W/coordinator.toml" --generate-dev-tls "$W/certs" \
    --signing-key "$W/signing.pem" --listen "127.0.0.1:${PORT:-0}" --rounds-csv "$2" --exit-when-finished \
    --state "$1" --model cnn_small --train-max-examples 1000 --local-epochs 1 --lr 0.05 --batch-size 32 \
    --eval-threads 1 --tick-interval-ms 50 --seed 7 --log-level debug 2> "$LOG" &
  COORD=$!
  LOOPBACK_COORDINATOR=$COORD
  NEXT_FAULT=""
  LOOPBACK_PIDS+=("$COORD")
  for _ in $(seq 1 1200); do
    local port
    port=$(sed -n 's/.*fedge-coordinator serving .*(port \([0-9]*\)).*/\1/p' "$LOG")
    if [[ -n $port ]]; then PORT=$port; return 0; fi
    kill -0 "$COORD" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: fedge-coordinator did not start:"; cat "$LOG"; exit 1
}

acks() {  # total acknowledgements devices logged so far in this run
  cat "$W"/device-kill-*.log 2>/dev/null | grep -c ' acknowledged$' || true
}

KILLS=0
# kill_when DESCRIPTION COMMAND...: waits (bounded) until COMMAND succeeds,
# then SIGKILLs the coordinator and restarts it.
kill_when() {
  local what=$1
  shift
  for _ in $(seq 1 2400); do
    if "$@"; then
      kill -9 "$COORD" 2>/dev/null || true
      wait "$COORD" 2>/dev/null || true
      KILLS=$((KILLS + 1))
      echo "kill $KILLS: $what"
      start_coordinator "$W/state" "$W/rounds.csv"
      return 0
    fi
    kill -0 "$COORD" 2>/dev/null || { echo "FAIL: the coordinator exited before: $what"; tail -n 30 "$LOG"; exit 1; }
    sleep 0.05
  done
  echo "FAIL: timed out waiting for: $what"; tail -n 30 "$LOG"; exit 1
}
# crash_at DESCRIPTION: the coordinator was started with FEDGE_FAULT_INJECTION
# and SIGKILLs itself at that point; waits (bounded) for it, checks it died
# of SIGKILL, restarts it.
crash_at() {
  local status=0
  for _ in $(seq 1 2400); do
    kill -0 "$COORD" 2>/dev/null || break
    sleep 0.05
  done
  wait "$COORD" || status=$?
  [[ $status -eq 137 ]] || { echo "FAIL: expected a SIGKILL at: $1, the coordinator exited with $status"; tail -n 30 "$LOG"; exit 1; }
  grep -q "fault injection: killing the process" "$LOG" || { echo "FAIL: no fault injection log"; exit 1; }
  KILLS=$((KILLS + 1))
  echo "kill $KILLS: $1"
  start_coordinator "$W/state" "$W/rounds.csv"
}
logged() { grep -q -- "$1" "$LOG"; }
acked_more_than() { [[ $(acks) -gt $1 ]]; }

# 1. The uninterrupted reference run.
start_coordinator "$W/state-ref" "$W/rounds-ref.csv"
LOOPBACK_DEVICES=()
LOOPBACK_PORT=$PORT
for i in 0 1 2 3 4; do
  loopback_start_device "$i" 5 -- --config "$W/device.toml" --model cnn_small --max-tasks $ROUNDS \
    --inference-dir "$W/inference-ref-$i"
done
loopback_wait
for i in 0 1 2 3 4; do mv "$W/device-$i.log" "$W/device-ref-$i.log"; done
ref_accuracy=$(csv_column "$W/rounds-ref.csv" test_accuracy | tail -n 1)
echo "uninterrupted run: final test accuracy $ref_accuracy"

# 2. The same run, killed at 10 points.
PORT=""
start_coordinator "$W/state" "$W/rounds.csv"
kill_when "idle, no device yet" true
LOOPBACK_DEVICES=()
LOOPBACK_PORT=$PORT
# Started by hand (not loopback_start_device) so their logs have their own names.
for i in 0 1 2 3 4; do
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$PORT" --root-cert "$W/certs/cert.pem" \
    --coordinator-key "$W/signing.pem.pub" --device-id "device-$i" --seed $((i + 1)) --shard "$i" --num-shards 5 \
    --threads 1 --config "$W/device.toml" --model cnn_small --max-tasks $ROUNDS --inference-dir "$W/inference-kill-$i" \
    2> "$W/device-kill-$i.log" &
  LOOPBACK_DEVICES+=($!)
  LOOPBACK_PIDS+=($!)
done
kill_when "round 1 just opened (devices downloading)" logged "round 1: opened"
NEXT_FAULT=upload-partial:1
kill_when "just after the first acknowledgement" acked_more_than 0
crash_at "mid-upload in round 1 (a middle chunk buffered)"
kill_when "during evaluation of round 1" logged "round 1: evaluating"
kill_when "just after an acknowledgement in round 2" acked_more_than 6
NEXT_FAULT=download-partial:1
kill_when "during the deployment after round 2" logged "round 2: deploying"
NEXT_FAULT=upload-partial:2
crash_at "mid-download in round 3 (a middle chunk served)"
crash_at "mid-upload in round 3 (a middle chunk buffered)"
kill_when "during the deployment after round 3" logged "round 3: deploying"
wait "$COORD" || { echo "FAIL: the last coordinator exited with $?"; tail -n 30 "$LOG"; exit 1; }
for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || { echo "FAIL: a device exited with $?"; exit 1; }; done

csv="$W/rounds.csv"
echo "--- rounds.csv of the killed run ($KILLS kills)"
paste -d, <(csv_column "$csv" round) <(csv_column "$csv" succeeded) <(csv_column "$csv" accepted) \
  <(csv_column "$csv" model_version) <(csv_column "$csv" deployed_model_version) <(csv_column "$csv" test_accuracy) |
  sed '1i round,succeeded,accepted,model_version,deployed_model_version,test_accuracy'
[[ $KILLS -ge 10 ]] || { echo "FAIL: only $KILLS kills"; exit 1; }
[[ $(csv_column "$csv" round | tr '\n' ' ') == "$(seq 1 $ROUNDS | tr '\n' ' ')" ]] ||
  { echo "FAIL: rounds are not 1..$ROUNDS exactly once"; cat "$csv"; exit 1; }
[[ $(csv_column "$csv" succeeded | grep -c '^1$') -eq $ROUNDS ]] || { echo "FAIL: a round failed"; exit 1; }

# Acknowledged updates per round, from the devices' side (distinct tasks).
for r in $(seq 1 $ROUNDS); do
  seen=$(cat "$W"/device-kill-*.log | sed -n "s/.*: update for task \(r$r-device-[0-9]*\) acknowledged$/\1/p" |
    sort -u | wc -l)
  counted=$(paste -d, <(csv_column "$csv" round) <(csv_column "$csv" accepted) | awk -F, -v r="$r" '$1 == r { print $2 }')
  echo "round $r: $seen updates acknowledged to devices, $counted counted"
  [[ $seen -eq $counted ]] || { echo "FAIL: round $r counted $counted updates, devices saw $seen acknowledged"; exit 1; }
done

# Deployments 1..4 (one after each round), the counter continuing across restarts.
deployed=$(csv_column "$csv" deployed_model_version | tr '\n' ' ')
[[ $deployed == "1 2 3 4 " ]] || { echo "FAIL: deployed versions by round are '$deployed'"; exit 1; }
for i in 0 1 2 3 4; do
  served=$(sed -n 's/.*: now serving deployed model \([0-9]*\)$/\1/p' "$W/device-kill-$i.log" | tr '\n' ' ')
  echo "device-$i installed deployed models: $served"
  # Deployment 2 was made after several restarts; a device that ignored it
  # (a counter restarted at 1) would never install it.
  grep -q ' now serving deployed model [23]$' "$W/device-kill-$i.log" ||
    { echo "FAIL: device-$i never installed a deployment made after a restart"; exit 1; }
done

accuracy=$(csv_column "$csv" test_accuracy | tail -n 1)
echo "final test accuracy: $accuracy killed $KILLS times, $ref_accuracy uninterrupted"
awk -v a="$accuracy" -v b="$ref_accuracy" 'BEGIN { d = a - b; exit !(d < 0.005 && d > -0.005) }' ||
  { echo "FAIL: accuracy differs by more than 0.5 points from the uninterrupted run"; exit 1; }
echo "PASS"
