#!/usr/bin/env bash
# Store and forward (issue #16): four fedge-device processes over mutual TLS
# on 127.0.0.1 lose the coordinator in the middle of a round and deliver
# their sealed updates when it returns.
#
#   1. fedge-coordinator (with --state) SIGKILLs itself as it serves the 4th
#      global-model download of round 1 (FEDGE_FAULT_INJECTION=
#      download-complete:4): three devices hold the model and train without
#      it, the fourth has to fetch it again later.
#   2. The three finish training, fail to upload and seal their updates into
#      <state_dir>/outbox. The test waits for the three record files, copies
#      them, and flips one byte of one of them.
#   3. The coordinator restarts on the same state directory and port.
#      Checks:
#        - the run completes: round 1 succeeds with 4 updates, and the
#          devices saw exactly 4 distinct updates acknowledged (each counted
#          once, nothing counted that was not acknowledged);
#        - two kept updates were delivered later; the altered one was
#          discarded (logged and counted) and its device trained again;
#        - the outbox files held none of the update bytes the coordinator
#          stored (searched in 64-byte windows), although their clear header
#          names the task;
#        - the outboxes are empty at the end.
#
#   device_outbox_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
loopback_init "$1"

cat > "$W/coordinator.toml" <<TOML
[federation]
rounds = 1
min_devices = 4
devices_per_round = 4
over_selection = 1.0
round_deadline_s = 300
poll_interval_ms = 100
# A strategy that keeps every update: the coordinator then stores each one's
# bytes, which the plaintext search below looks for (a streaming strategy
# such as FedAvg may checkpoint its aggregate instead).
[strategy]
name = "median"
[state]
resume_grace_s = 120
TOML
# Few quick retries: an upload gives up within about a second and goes to
# the outbox. Outages do not end a device that has an outbox.
cat > "$W/device.toml" <<TOML
[retry]
initial_backoff_ms = 100
max_backoff_ms = 400
max_attempts = 3
TOML

loopback_keys 4
PORT=0
start_coordinator() {  # start_coordinator LOG [FAULT]
  : > "$1"
  FEDGE_FAULT_INJECTION="${2:-}" "$LOOPBACK_BIN/fedge-coordinator" --config "$W/coordinator.toml" \
    --generate-dev-tls "$W/certs" --client-ca "$W/certs/ca.pem" --signing-key "$W/signing.pem" \
    --listen "127.0.0.1:$PORT" --rounds-csv "$W/rounds.csv" --exit-when-finished --state "$W/state" \
    --model cnn_small --train-max-examples 3000 --local-epochs 2 --lr 0.05 --batch-size 32 --eval-threads 1 \
    --tick-interval-ms 50 --seed 7 --log-level debug 2> "$1" &
  COORD=$!
  LOOPBACK_COORDINATOR=$COORD
  LOOPBACK_PIDS+=("$COORD")
  for _ in $(seq 1 1200); do
    local port
    port=$(sed -n 's/.*fedge-coordinator serving .*(port \([0-9]*\)).*/\1/p' "$1")
    if [[ -n $port ]]; then PORT=$port; return 0; fi
    kill -0 "$COORD" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: fedge-coordinator did not start:"; cat "$1"; exit 1
}
outbox_records() { find "$W"/dev-* -name '*.outbox' 2>/dev/null | wc -l; }

start_coordinator "$W/coordinator-1.log" download-complete:4
LOOPBACK_DEVICES=()
for i in 0 1 2 3; do  # by hand, to keep each one's closing summary (stdout)
  certs="$W/certs/devices/device-$i"
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$PORT" --root-cert "$W/certs/cert.pem" \
    --coordinator-key "$W/signing.pem.pub" --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" \
    --device-id "device-$i" --seed $((i + 1)) --shard "$i" --num-shards 4 --threads 1 --config "$W/device.toml" \
    --model cnn_small --max-tasks 1 --state-dir "$W/dev-$i" > "$W/device-$i.out" 2> "$W/device-$i.log" &
  LOOPBACK_DEVICES+=($!)
  LOOPBACK_PIDS+=($!)
done

# 1-2. The coordinator dies serving the 4th download; three updates are kept.
status=0
wait "$COORD" || status=$?
[[ $status -eq 137 ]] || { echo "FAIL: expected the injected SIGKILL, got exit $status"; cat "$W/coordinator-1.log"; exit 1; }
for _ in $(seq 1 1200); do
  [[ $(outbox_records) -ge 3 ]] && break
  sleep 0.1
done
[[ $(outbox_records) -eq 3 ]] || { echo "FAIL: $(outbox_records) outbox records, expected 3"; tail -n 5 "$W"/device-*.log; exit 1; }
echo "coordinator killed at the 4th download; 3 devices kept their updates sealed"
mkdir "$W/kept"
for f in $(find "$W"/dev-* -name '*.outbox'); do cp "$f" "$W/kept/$(basename "$(dirname "$(dirname "$f")")").outbox"; done
altered=$(find "$W"/dev-* -name '*.outbox' | sort | head -n 1)
altered_device=$(basename "$(dirname "$(dirname "$altered")")")
python3 - "$altered" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[-20] ^= 0x01  # inside the sealed body
open(path, "wb").write(bytes(data))
PY
echo "flipped one byte of $altered_device's record"

# 3. The coordinator returns on the same state and port.
start_coordinator "$W/coordinator-2.log"
loopback_wait

csv="$W/rounds.csv"
[[ $(csv_column "$csv" round | tr '\n' ' ') == "1 " ]] || { echo "FAIL: rounds.csv is not round 1 once"; cat "$csv"; exit 1; }
[[ $(csv_column "$csv" succeeded) == 1 ]] || { echo "FAIL: round 1 failed"; cat "$csv"; exit 1; }
accepted=$(csv_column "$csv" accepted)
acked=$(cat "$W"/device-*.log | sed -n 's/.*: update for task \(r1-device-[0-9]*\) acknowledged$/\1/p' | sort -u | wc -l)
echo "round 1: $accepted updates counted, $acked acknowledged to devices"
[[ $accepted -eq 4 && $acked -eq 4 ]] || { echo "FAIL: expected 4 counted and 4 acknowledged"; exit 1; }

# What the devices say of their outboxes (the summary line of each).
sum_field() { sed -n "s/.*outbox: \([0-9]*\) kept, \([0-9]*\) delivered later, \([0-9]*\) refused, \([0-9]*\) evicted, \([0-9]*\) discarded.*/\\$1/p" "$W"/device-*.out | paste -sd+ | bc; }
kept=$(sum_field 1); delivered=$(sum_field 2); discarded=$(sum_field 5)
echo "outboxes: $kept kept, $delivered delivered later, $discarded discarded"
[[ $kept -eq 3 && $delivered -eq 2 && $discarded -eq 1 ]] || { echo "FAIL: expected 3 kept, 2 delivered, 1 discarded"; exit 1; }
grep -q "discarding outbox record" "$W/device-${altered_device#dev-}.log" ||
  { echo "FAIL: $altered_device did not log the discarded record"; exit 1; }
[[ $(outbox_records) -eq 0 ]] || { echo "FAIL: records left in the outboxes"; exit 1; }

# No update byte in the clear: every 64-byte window of each stored update
# (the coordinator keeps the last round's acknowledged uploads, byte for
# byte) is searched in every kept record file.
sqlite3 "$W/state/state.db" "SELECT device_id, hex(bytes) FROM updates WHERE round = 1" > "$W/stored.txt"
[[ $(wc -l < "$W/stored.txt") -eq 4 ]] || { echo "FAIL: expected 4 stored updates"; cat "$W/stored.txt"; exit 1; }
python3 "$here/no_plaintext.py" "$W/stored.txt" "$W"/kept/*.outbox
echo "PASS"
