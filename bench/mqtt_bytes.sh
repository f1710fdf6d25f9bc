#!/usr/bin/env bash
# Bytes on the wire per update, over gRPC and over MQTT (issue #18): one
# fedge-device trains one round of cnn_small (18,378 parameters) with the
# int8 codec and uploads it, once over gRPC to the coordinator and once over
# MQTT through Mosquitto, both with TLS 1.3 and the same certificates. The
# device dials bench/byte_relay.py, which counts every byte it forwards; the
# upload's bytes are those between the device's "trained task" and "update
# ... acknowledged" log lines (the device does nothing else meanwhile). The
# coordinator's own link to the broker is not counted (in a deployment it is
# a LAN hop).
#
#   bench/mqtt_bytes.sh BIN_DIR
# Prints one line per transport; bench/README.md records them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/loopback.sh"
source "$here/../scripts/lib/mosquitto.sh"
loopback_init "$1"

mosquitto_keys 1
mosquitto_start
common=(--rounds 1 --min-devices 1 --devices-per-round 1 --over-selection 1 --train-max-examples 500
        --model cnn_small --codec int8 --evaluate-every 0 --tick-interval-ms 50 --poll-interval-ms 100)

# measure NAME DEVICE_FLAGS...: runs the device through a relay to the
# server at $target and prints the upload's bytes up and down.
measure() {
  local name=$1
  shift
  : > "$W/relay-$name.out"
  python3 -u "$here/byte_relay.py" --target "$target" --log "$W/relay-$name.log" > "$W/relay-$name.out" &
  LOOPBACK_PIDS+=($!)
  until grep -q "listening" "$W/relay-$name.out"; do sleep 0.05; done
  local port
  port=$(sed -n 's/relay listening on port //p' "$W/relay-$name.out")
  local certs="$W/certs/devices/device-0"
  "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$port" --root-cert "$W/certs/cert.pem" \
    --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --coordinator-key "$W/signing.pem.pub" \
    --device-id device-0 --shard 0 --num-shards 1 --threads 1 --model cnn_small --max-tasks 1 "${@//@PORT@/$port}" \
    > "$W/device-$name.out" 2> "$W/device-$name.log"
  python3 - "$W/device-$name.log" "$W/relay-$name.log" "$name" "$W/device-$name.out" << 'PY'
import datetime, re, sys
log, relay, name, out = sys.argv[1:]
def t(pattern):
    for line in open(log):
        if re.search(pattern, line):
            hms = line.split()[1]
            day = datetime.date.today()
            return datetime.datetime.combine(day, datetime.time.fromisoformat(hms)).timestamp()
    sys.exit(f"{name}: no line matching {pattern}")
start, end = t(r": trained task r1-"), t(r"update for task r1-.* acknowledged")
up = down = 0
for line in open(relay):
    ts, direction, n = line.split()
    if start <= float(ts) <= end + 0.001:
        if direction == "up": up += int(n)
        else: down += int(n)
payload = re.search(r"(\d+) bytes up", open(out).read()).group(1)
print(f"{name}: upload of one update: {up} bytes up, {down} bytes down (TLS records included); "
      f"the device's update payload: {payload} bytes")
PY
}

# gRPC: the device dials the relay, which forwards to the coordinator.
loopback_start_coordinator -- "${common[@]}"
target="127.0.0.1:$LOOPBACK_PORT"
measure grpc
wait "$LOOPBACK_COORDINATOR"

# MQTT: the coordinator connects to the broker directly; the device through the relay.
rm -rf "$W/state"
# shellcheck disable=SC2046
loopback_start_coordinator -- "${common[@]}" $(mosquitto_coordinator_flags)
target="127.0.0.1:$MOSQUITTO_PORT"
measure mqtt --transport mqtt --mqtt-broker "ssl://127.0.0.1:@PORT@"
wait "$LOOPBACK_COORDINATOR"
