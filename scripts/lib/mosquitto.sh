# shellcheck shell=bash
# Shared by the MQTT tests and the MQTT benchmark: a Mosquitto broker on
# 127.0.0.1 started with scripts/mqtt-broker (deploy/mosquitto/: TLS, client
# certificates, the ACL). Source it after scripts/lib/loopback.sh and call
# loopback_keys first (the broker uses its certificates). Every broker
# started is stopped by loopback_cleanup.

MOSQUITTO_PORT=""
MOSQUITTO_PID=""

# mosquitto_free_port: prints a TCP port that was free a moment ago.
mosquitto_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# mosquitto_start [PORT]: starts the broker (on a free port without PORT)
# and waits until it accepts connections; sets MOSQUITTO_PORT and
# MOSQUITTO_PID. Its state lives in $LOOPBACK_WORK/broker, so a broker
# started again on the same port resumes the persisted sessions.
mosquitto_start() {
  command -v mosquitto > /dev/null || { echo "SKIP: mosquitto is not installed (scripts/setup --deps)"; exit 77; }
  MOSQUITTO_PORT=${1:-$(mosquitto_free_port)}
  local log="$LOOPBACK_WORK/broker.log"
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  echo "--- broker start on port $MOSQUITTO_PORT" >> "$log"
  local mark
  mark=$(wc -l < "$log")
  "$here/scripts/mqtt-broker" "$LOOPBACK_WORK/certs" "$MOSQUITTO_PORT" "$LOOPBACK_WORK/broker" >> "$log" 2>&1 &
  MOSQUITTO_PID=$!
  LOOPBACK_PIDS+=("$MOSQUITTO_PID")
  for _ in $(seq 1 200); do
    tail -n +"$mark" "$log" | grep -q "mosquitto version .* running" && return 0
    kill -0 "$MOSQUITTO_PID" 2> /dev/null || break
    sleep 0.05
  done
  echo "mosquitto did not start:" >&2
  cat "$log" >&2
  return 1
}

# mosquitto_client_args ID: the TLS flags of mosquitto_pub/mosquitto_sub
# acting with the dev certificate of ID (a device, or fedge-coordinator).
mosquitto_client_args() {
  local certs="$LOOPBACK_WORK/certs/devices/$1"
  echo -V mqttv5 -h 127.0.0.1 -p "$MOSQUITTO_PORT" --cafile "$LOOPBACK_WORK/certs/cert.pem" \
    --cert "$certs/cert.pem" --key "$certs/key.pem"
}

# mosquitto_coordinator_flags: the fedge-coordinator flags that start its
# MQTT bridge against this broker (needs the fedge-coordinator dev
# certificate: loopback_keys, then --issue-device-cert fedge-coordinator).
mosquitto_coordinator_flags() {
  local certs="$LOOPBACK_WORK/certs/devices/fedge-coordinator"
  echo --mqtt-broker "ssl://127.0.0.1:$MOSQUITTO_PORT" --mqtt-ca "$LOOPBACK_WORK/certs/cert.pem" \
    --mqtt-cert "$certs/cert.pem" --mqtt-key "$certs/key.pem"
}

# mosquitto_keys NUM_DEVICES: loopback_keys NUM_DEVICES plus the
# coordinator's client certificate for the broker (CN fedge-coordinator,
# which the ACL lets read and write every fedge/ topic).
mosquitto_keys() {
  loopback_keys "$1"
  "$LOOPBACK_BIN/fedge-coordinator" --generate-dev-tls "$LOOPBACK_WORK/certs" --issue-device-cert fedge-coordinator \
    2> /dev/null
}
