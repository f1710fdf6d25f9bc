#!/usr/bin/env bash
# Network partition (issue #16): three fedge-device processes over mutual TLS
# lose the link to the coordinator for part of a round while the coordinator
# stays up, keep training, seal their updates in the outbox and deliver them
# when the link returns.
#
# The devices dial a relay (partition_relay.py) on 127.0.0.1 instead of the
# coordinator; TLS passes through it untouched, and the devices still check
# the coordinator's certificate against 127.0.0.1, the address they dial.
#
#   1. Once every device logged that it trains its round-1 task (it holds the
#      model), the relay is cut: open connections are reset, new ones refused.
#   2. The devices finish training, fail to upload and seal their updates in
#      <state_dir>/outbox. The test waits for the three record files, checks
#      that no upload reached the coordinator, which is still running, copies
#      the records and flips one byte of one of them, and waits for that
#      device to find it altered (it rereads its outbox at every step).
#   3. The link is restored. Checks:
#        - round 1 succeeds with 3 updates; the devices saw 3 acknowledgements
#          (one per device, none twice) and the coordinator stored 3 updates;
#        - two kept updates were delivered later; the altered one was
#          discarded (logged and counted) and its device trained again;
#        - the relay refused connections while cut (the devices really tried),
#          and each device's bytes_up is exactly its stored update's size;
#        - the outbox files held none of the update bytes the coordinator
#          stored (every 64-byte window searched), although their clear
#          header names the task;
#        - the outboxes are empty at the end, and the coordinator never
#          restarted.
#
#   device_partition_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
loopback_init "$1"
started=$SECONDS

say() { echo "[$((SECONDS - started)) s] $*"; }
lines() { cat "$@" 2>/dev/null | wc -l; }
count() { grep -h -- "$1" "${@:2}" 2>/dev/null | wc -l; }  # count PATTERN FILE...
outbox_records() { find "$W"/dev-* -name '*.outbox' 2>/dev/null | wc -l; }

cat > "$W/coordinator.toml" <<TOML
[federation]
rounds = 1
min_devices = 3
devices_per_round = 3
over_selection = 1.0
round_deadline_s = 120
poll_interval_ms = 100
# A strategy that keeps every update: the coordinator then stores each one's
# bytes, which the plaintext search below looks for (a streaming strategy
# such as FedAvg may checkpoint its aggregate instead).
[strategy]
name = "median"
TOML
# Few quick retries: an upload gives up within about a second and goes to
# the outbox. Outages do not end a device that has an outbox.
cat > "$W/device.toml" <<TOML
[retry]
initial_backoff_ms = 100
max_backoff_ms = 400
max_attempts = 3
TOML

loopback_keys 3
loopback_start_coordinator -- --config "$W/coordinator.toml" --state "$W/state" --model cnn_small \
  --train-max-examples 1500 --local-epochs 1 --lr 0.05 --batch-size 32 --evaluate-every 0 \
  --tick-interval-ms 50 --seed 7 --log-level debug
COORD=$LOOPBACK_COORDINATOR

: > "$W/relay.log"
python3 -u "$here/partition_relay.py" --target "127.0.0.1:$LOOPBACK_PORT" > "$W/relay.log" 2> "$W/relay-trace.log" &
RELAY=$!
LOOPBACK_PIDS+=("$RELAY")
relay_port() { sed -n 's/^relay listening on port \([0-9]*\)$/\1/p' "$W/relay.log" | grep -q .; }
wait_for 20 "relay port" relay_port
RELAY_PORT=$(sed -n 's/^relay listening on port \([0-9]*\)$/\1/p' "$W/relay.log")
say "coordinator on port $LOOPBACK_PORT, devices dial the relay on port $RELAY_PORT"

for i in 0 1 2; do  # by hand, to keep each one's closing summary (stdout)
  certs="$W/certs/devices/device-$i"
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$RELAY_PORT" --root-cert "$W/certs/cert.pem" \
    --coordinator-key "$W/signing.pem.pub" --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" \
    --device-id "device-$i" --seed $((i + 1)) --shard "$i" --num-shards 3 --threads 1 --config "$W/device.toml" \
    --model cnn_small --max-tasks 1 --state-dir "$W/dev-$i" > "$W/device-$i.out" 2> "$W/device-$i.log" &
  LOOPBACK_DEVICES+=($!)
  LOOPBACK_PIDS+=($!)
done

# 1. Every device holds the round-1 model and trains: cut the link.
all_training() { [[ $(count ": training task r1-" "$W"/device-*.log) -ge 3 ]]; }
wait_for 60 "three devices training round 1" all_training
[[ $(count "upload of task" "$W/coordinator.log") -eq 0 ]] || fail "an upload reached the coordinator before the cut"
kill -USR1 "$RELAY"
is_cut() { grep -q "^relay cut:" "$W/relay.log"; }
wait_for 10 "cut confirmed by the relay" is_cut
say "link cut while 3 devices train ($(sed -n 's/^relay cut: //p' "$W/relay.log"))"

# 2. The uploads fail and go to the outboxes; the coordinator stays up.
three_kept() { [[ $(outbox_records) -ge 3 && $(count "kept the update for task" "$W"/device-*.log) -ge 3 ]]; }
wait_for 60 "three sealed outbox records" three_kept
[[ $(outbox_records) -eq 3 ]] || fail "$(outbox_records) outbox records, expected 3"
kill -0 "$COORD" 2>/dev/null || fail "the coordinator exited during the partition"
[[ $(count "upload of task" "$W/coordinator.log") -eq 0 ]] || fail "an upload reached the coordinator through the cut link"
say "3 devices kept their updates sealed; the coordinator (pid $COORD) is up and received none"
mkdir "$W/kept"
for f in $(find "$W"/dev-* -name '*.outbox'); do cp "$f" "$W/kept/$(basename "$(dirname "$(dirname "$f")")").outbox"; done
altered=$(find "$W"/dev-* -name '*.outbox' | sort | head -n 1)
altered_device=$(basename "$(dirname "$(dirname "$altered")")")
# Replaced in one rename: the device may read its outbox at any moment.
python3 - "$altered" "$W/altered.tmp" <<'PY'
import os, sys
path, temporary = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
data[-20] ^= 0x01  # inside the sealed body
open(temporary, "wb").write(bytes(data))
os.replace(temporary, path)
PY
say "flipped one byte of $altered_device's record"
# The device reads its outbox at every step; the step under way when the
# byte flipped may hold the intact record, so the link stays cut until the
# device has read the altered file (else it could deliver that copy).
altered_log="$W/device-${altered_device#dev-}.log"
caught() { grep -q "discarding outbox record" "$altered_log"; }
wait_for 30 "$altered_device discarding its altered record" caught

# 3. The link returns.
kill -USR2 "$RELAY"
is_restored() { grep -q "^relay restored:" "$W/relay.log"; }
wait_for 10 "restore confirmed by the relay" is_restored
refused=$(sed -n 's/^relay restored: \([0-9]*\) connections refused while cut$/\1/p' "$W/relay.log")
say "link restored after $refused connection attempts were refused"
[[ $refused -ge 1 ]] || fail "no device tried to connect while the link was cut"
loopback_wait || fail "a process failed"

csv="$W/rounds.csv"
[[ $(csv_column "$csv" round | tr '\n' ' ') == "1 " ]] || { cat "$csv"; fail "rounds.csv is not round 1 once"; }
[[ $(csv_column "$csv" succeeded) == 1 ]] || { cat "$csv"; fail "round 1 failed"; }
accepted=$(csv_column "$csv" accepted)
acks=$(grep -h ": update for task r1-device-[0-9]* acknowledged$" "$W"/device-*.log | sort || true)
say "round 1: $accepted updates counted; acknowledged to devices: $(echo "$acks" | wc -l) ($(echo "$acks" | sort -u | wc -l) distinct)"
[[ $accepted -eq 3 && $(echo "$acks" | wc -l) -eq 3 && $(echo "$acks" | sort -u | wc -l) -eq 3 ]] ||
  fail "expected 3 counted and 3 distinct acknowledgements"
[[ $(count "fedge-coordinator serving" "$W/coordinator.log") -eq 1 ]] || fail "the coordinator restarted"

# What the devices say of their outboxes (the summary line of each).
sum_field() { sed -n "s/.*outbox: \([0-9]*\) kept, \([0-9]*\) delivered later, \([0-9]*\) refused, \([0-9]*\) evicted, \([0-9]*\) discarded.*/\\$1/p" "$W"/device-*.out | paste -sd+ | bc; }
kept=$(sum_field 1); delivered=$(sum_field 2); refused_kept=$(sum_field 3); discarded=$(sum_field 5)
say "outboxes: $kept kept, $delivered delivered later, $refused_kept refused, $discarded discarded"
[[ $kept -eq 3 && $delivered -eq 2 && $refused_kept -eq 0 && $discarded -eq 1 ]] ||
  fail "expected 3 kept, 2 delivered, 0 refused, 1 discarded"
[[ $(count ": training task r1-" "$altered_log") -eq 2 ]] || fail "$altered_device did not train again"
[[ $(outbox_records) -eq 0 ]] || fail "records left in the outboxes"

# No update byte in the clear: every 64-byte window of each stored update
# (the coordinator keeps the last round's acknowledged uploads, byte for
# byte) is searched in every kept record file.
sqlite3 "$W/state/state.db" "SELECT device_id, hex(bytes) FROM updates WHERE round = 1" > "$W/stored.txt"
[[ $(lines "$W/stored.txt") -eq 3 && $(cut -d'|' -f1 "$W/stored.txt" | sort -u | wc -l) -eq 3 ]] ||
  { cat "$W/stored.txt"; fail "expected 3 stored updates from 3 devices"; }
# Traffic counts what reached the coordinator: each device sent its one
# update once it got through, whatever it tried during the cut.
for i in 0 1 2; do
  up=$(sed -n "s/^device-$i: .* \([0-9]*\) bytes up$/\1/p" "$W/device-$i.out")
  size=$(sqlite3 "$W/state/state.db" "SELECT length(bytes) FROM updates WHERE round = 1 AND device_id = 'device-$i'")
  [[ -n $up && $up -eq $size ]] || fail "device-$i counted ${up:-no} bytes up for its $size-byte update"
done
say "bytes up: each device counted exactly its stored update"
python3 "$here/no_plaintext.py" "$W/stored.txt" "$W"/kept/*.outbox
echo "PASS ($((SECONDS - started)) s)"
