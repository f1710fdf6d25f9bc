#!/usr/bin/env bash
# End-to-end over MQTT (issue #18): a Mosquitto broker on 127.0.0.1 with TLS,
# client certificates and the shipped ACL (deploy/mosquitto/), a
# fedge-coordinator with its MQTT bridge (and a durable --state), and 5
# fedge-device processes with --transport mqtt, each presenting its own dev
# certificate to the broker. Checks:
#   1. the ACL: device-0's certificate publishing on device-1's request
#      topic is refused by the broker (mosquitto_pub reports it) and never
#      reaches the coordinator, while the same client's message on its own
#      topic does (the bridge logs it as dropped: it is not an envelope);
#   2. 3 rounds of FedAvg on disjoint Fashion-MNIST shards reach > 75% test
#      accuracy;
#   3. the broker is SIGKILLed mid-round 2, just after the round's first
#      update was acknowledged, and started again on the same port: every
#      round still succeeds with exactly 5 accepted updates (none lost,
#      none counted twice) and every device saw each of its updates
#      acknowledged exactly once;
#   4. the retained model announcement names the final global version.
#
#   mqtt_federation_test.sh BIN_DIR
# Exits 77 (skipped) without the Fashion-MNIST package or mosquitto.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
source "$here/../../scripts/lib/mosquitto.sh"
loopback_init "$1"
started=$SECONDS
say() { echo "[$((SECONDS - started)) s] $*"; }
count() { grep -h -- "$1" "${@:2}" 2> /dev/null | wc -l; }  # count PATTERN FILE...
csv_rows() { csv_column "$W/rounds.csv" round 2> /dev/null | wc -l; }

mosquitto_keys 5
mosquitto_start
say "broker on port $MOSQUITTO_PORT"
# shellcheck disable=SC2046  # the helpers print flag lists
loopback_start_coordinator -- --rounds 3 --min-devices 5 --devices-per-round 5 --over-selection 1 \
  --round-deadline-s 90 --train-max-examples 4000 --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 \
  --eval-threads 1 --tick-interval-ms 50 --poll-interval-ms 100 --state "$W/state" $(mosquitto_coordinator_flags)
grep -q "MQTT: serving devices through" "$W/coordinator.log" || fail "the coordinator did not start its MQTT bridge"

# 1. The ACL. Both messages come from one client, in order: once the second
# reached the coordinator, the first would have too.
# shellcheck disable=SC2046
mosquitto_pub $(mosquitto_client_args device-0) -i acl-probe -q 1 -t fedge/device-1/req/upload -m forbidden \
  > "$W/acl-probe.log" 2>&1 || true
grep -q "Not authorized" "$W/acl-probe.log" || fail "the broker did not refuse device-0 on device-1's topic: $(cat "$W/acl-probe.log")"
# shellcheck disable=SC2046
mosquitto_pub $(mosquitto_client_args device-0) -i acl-probe -q 1 -t fedge/device-0/req/upload -m control
seen() { grep -q "dropped a message on fedge/device-0/req/upload" "$W/coordinator.log"; }
wait_for 10 "control message at the coordinator" seen
[[ $(count "fedge/device-1/req" "$W/coordinator.log") -eq 0 ]] || fail "device-0's message on device-1's topic reached the coordinator"
say "ACL: device-0 refused on fedge/device-1/req/upload; its own topic reaches the coordinator"

cat > "$W/device.toml" << 'TOML'
[coordinator]
transport = "mqtt"
rpc_timeout_seconds = 5
[retry]
initial_backoff_ms = 100
max_backoff_ms = 1000
max_attempts = 30
TOML
for i in 0 1 2 3 4; do
  loopback_start_device "$i" 5 -- --config "$W/device.toml" --mqtt-broker "ssl://127.0.0.1:$MOSQUITTO_PORT" \
    --model cnn_small --max-tasks 3
done

# 3. Kill the broker once round 2 has its first acknowledged update.
# tail -F reacts within milliseconds (inotify), so the round is still open:
# the other devices' uploads are in flight or about to start.
timeout 60 bash -c 'tail -q -n +1 -F "$@" 2> /dev/null | grep -m 1 -q "update for task r2-.* acknowledged"' \
  _ "$W"/device-*.log || fail "no acknowledged round-2 update within 60s"
disown "$MOSQUITTO_PID"  # no "Killed" notice from bash
kill -KILL "$MOSQUITTO_PID"
acks_before=$(count "update for task r2-.* acknowledged" "$W"/device-*.log)
rows_before=$(csv_rows)
say "broker killed with $acks_before of round 2's updates acknowledged ($rows_before rounds done)"
# Round 1's row is written once its evaluation ends, which may be after
# round 2's first acknowledgement (round 2 opens before that evaluation).
[[ $rows_before -le 1 ]] || fail "round 2 ended before the broker was killed: not a mid-round outage"
gone() { ! kill -0 "$MOSQUITTO_PID" 2> /dev/null; }
wait_for 10 "broker exit" gone
restart_mark=$(wc -l < "$W/broker.log")
mosquitto_start "$MOSQUITTO_PORT"
say "broker restarted on port $MOSQUITTO_PORT"

loopback_wait || fail "a process failed"
say "federation finished"
grep -E "round [0-9]+ (succeeded|failed)" "$W/coordinator.log" || true

# 2. and 3.
rows=$(csv_rows)
succeeded=$(csv_column "$W/rounds.csv" succeeded | grep -c '^1$' || true)
accepted=$(csv_column "$W/rounds.csv" accepted | tr '\n' ' ')
accuracy=$(csv_column "$W/rounds.csv" test_accuracy | tail -n 1)
echo "rounds: $rows, succeeded: $succeeded, accepted per round: $accepted, final test accuracy: $accuracy"
[[ $rows -eq 3 && $succeeded -eq 3 ]] || fail "expected 3 successful rounds: $(cat "$W/rounds.csv")"
[[ $accepted == "5 5 5 " ]] || fail "expected 5 accepted updates per round, got $accepted"
for i in 0 1 2 3 4; do
  for r in 1 2 3; do
    n=$(count "update for task r$r-device-$i acknowledged" "$W/device-$i.log")
    [[ $n -eq 1 ]] || fail "device-$i saw its round-$r update acknowledged $n times"
  done
done
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.75) }' || fail "accuracy $accuracy is not above 0.75"
# Everybody really went through the outage: each client connected again to
# the restarted broker, resuming its persistent session (c0: clean start off).
for id in fedge-coordinator device-0 device-1 device-2 device-3 device-4; do
  tail -n +"$restart_mark" "$W/broker.log" | grep -q "New client connected .* as $id (p5, c0" ||
    fail "$id did not reconnect to the restarted broker"
done

# 4. The retained announcement, read as a device (the ACL lets it read fedge/model/#).
# shellcheck disable=SC2046
announce=$(mosquitto_sub $(mosquitto_client_args device-3) -i announce-probe -t fedge/model/announce -C 1 -W 5)
echo "announcement: $announce"
[[ $announce == '{"global_version":4,"deployed_version":0}' ]] || fail "unexpected announcement: $announce"
say "PASS"
