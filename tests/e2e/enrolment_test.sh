#!/usr/bin/env bash
# Enrolment and revocation over mutual TLS on 127.0.0.1 (issue #15, item 2):
#   - `fedgectl token create` mints one-time tokens; two devices run
#     `fedge-device enroll`, which makes each key on the device (0600) and
#     saves the certificate the coordinator's device CA signed (CN = id);
#   - a reused token and an expired one are refused;
#   - the two enrolled devices train a round over mutual TLS;
#   - `fedgectl device revoke device-0`: its next RPC is refused
#     (PERMISSION_DENIED, "revoked"), `fedgectl devices --json` shows it
#     revoked, and the CRL the coordinator wrote lists its serial
#     (`openssl crl`, verified against the CA);
#   - restarted with --require-approval on the same state: device-0 is still
#     revoked; a third device is pending (`devices --status pending`) while
#     its `enroll --wait-s` keeps asking, until `fedgectl device approve`;
#     then it gets its certificate.
#
#   enrolment_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib/loopback.sh"
loopback_init "$1"
# Where each device keeps what enroll made: where loopback_start_device
# looks for a device's certificate under mutual TLS.
E=$W/certs/devices

# token N TTL: N tokens (one per line) valid for TTL.
tokens() {
  loopback_ctl token create --count "$1" --expires "$2" --json > "$W/tokens.json" || fail "token create"
  python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["tokens"]))' "$W/tokens.json"
}
# enroll ID TOKEN [FLAGS...]: fedge-device enroll into $E/ID; returns its exit code.
enroll() {
  local id=$1 token=$2
  shift 2
  "$LOOPBACK_BIN/fedge-device" enroll --token "$token" --coordinator "127.0.0.1:$LOOPBACK_PORT" \
    --root-cert "$W/certs/cert.pem" --device-id "$id" --tls-key "$E/$id/key.pem" \
    --tls-cert "$E/$id/cert.pem" "$@" > "$W/enroll-$id.out" 2> "$W/enroll-$id.log"
}
# expect_refused ID TOKEN TEXT: enrolment fails, saying TEXT.
expect_refused() {
  local got=0
  enroll "$1" "$2" || got=$?
  [[ $got -eq 1 ]] || fail "enrolling $1 exited $got, expected 1"
  grep -q "$3" "$W/enroll-$1.log" || fail "enrolling $1: expected '$3' in: $(cat "$W/enroll-$1.log")"
  [[ ! -e $E/$1/cert.pem ]] || fail "$1 got a certificate"
  echo "refused as expected: $(head -c 200 "$W/enroll-$1.log")"
}
# start_coordinator [FLAGS...]: mutual TLS with the dev CA, which also signs enrolments.
start_coordinator() {
  loopback_start_coordinator -- --state "$W/state" --device-ca-key "$W/certs/ca-key.pem" --rounds 1 \
    --min-devices 2 --devices-per-round 2 --over-selection 1 --min-quorum 2 --round-deadline-s 30 \
    --train-max-examples 300 --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --evaluate-every 0 \
    --tick-interval-ms 50 --poll-interval-ms 100 "$@"
}

loopback_keys 0  # the admin certificate only: devices enrol
LOOPBACK_KEEP_SERVING=1
start_coordinator

mapfile -t good < <(tokens 2 1h)
mapfile -t short < <(tokens 1 1s)
expires=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expires_unix_micros"] // 10**6 + 1)' \
          "$W/tokens.json")

# Two devices enrol; the key is made on the device and stays there.
for i in 0 1; do
  enroll "device-$i" "${good[$i]}" || fail "device-$i did not enrol: $(cat "$W/enroll-device-$i.log")"
  key="$E/device-$i/key.pem" cert="$E/device-$i/cert.pem"
  [[ $(stat -c %a "$key") == 600 ]] || fail "device-$i key mode $(stat -c %a "$key")"
  openssl x509 -in "$cert" -noout -subject | grep -q "CN *= *device-$i" || fail "device-$i certificate subject"
  openssl verify -CAfile "$W/certs/ca.pem" -purpose sslclient "$cert" > /dev/null || fail "device-$i cert does not verify"
  [[ $(openssl pkey -in "$key" -pubout) == $(openssl x509 -in "$cert" -noout -pubkey) ]] || fail "device-$i key/cert"
done
! grep -q "BEGIN PRIVATE KEY" "$W/state/state.db" "$W/coordinator.log" || fail "a private key reached the coordinator"

# A reused token and an expired token are refused.
expect_refused device-9 "${good[0]}" "already used"
while (( $(date +%s) <= expires )); do sleep 0.1; done  # the 1 s token's expiry, by the clock
expect_refused device-8 "${short[0]}" "expired"

# The enrolled devices train a round over mutual TLS.
for i in 0 1; do
  loopback_start_device "$i" 20 -- --model cnn_small --max-tasks 1
done
for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || fail "an enrolled device exited with an error"; done
LOOPBACK_DEVICES=()
for _ in $(seq 1 100); do  # the round's record completes on the coordinator's next tick
  loopback_ctl rounds --json > "$W/rounds.json"
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["rounds"] else 1)' "$W/rounds.json" && break
  sleep 0.1
done
check_json "$W/rounds.json" 'assert [(r["round"], r["succeeded"], r["accepted"]) for r in j["rounds"]] == [(1, True, 2)], j'

# Revocation: the next RPC is refused, the registry and the CRL say so.
loopback_ctl device revoke device-0 --json > "$W/revoked.json" || fail "device revoke"
check_json "$W/revoked.json" 'assert j["device_id"] == "device-0" and j["status"] == "revoked", j'
loopback_start_device 0 20 -- --model cnn_small --max-tasks 1
refused=0
wait "${LOOPBACK_DEVICES[0]}" || refused=$?
LOOPBACK_DEVICES=()
[[ $refused -ne 0 ]] || fail "the revoked device was served"
grep -q "revoked" "$W/device-0.log" || fail "the revoked device was not told why: $(tail -n 5 "$W/device-0.log")"
echo "revoked device refused: $(grep -m1 revoked "$W/device-0.log" | head -c 240)"
loopback_ctl devices --json > "$W/devices.json"
check_json "$W/devices.json" '
d = {x["device_id"]: x["status"] for x in j["devices"]}
assert d["device-0"] == "revoked" and d["device-1"] in ("active", "offline"), d'
serial=$(openssl x509 -in "$E/device-0/cert.pem" -noout -serial | cut -d= -f2)
openssl crl -in "$W/state/crl.pem" -CAfile "$W/certs/ca.pem" -noout 2>&1 | grep -q "verify OK" ||
  fail "the CRL does not verify against the device CA"
openssl crl -in "$W/state/crl.pem" -noout -text > "$W/crl.txt"
grep -q "Serial Number: $serial" "$W/crl.txt" || fail "the CRL does not list $serial: $(cat "$W/crl.txt")"
[[ $(grep -c "Serial Number:" "$W/crl.txt") -eq 1 ]] || fail "the CRL lists more than device-0"

# Restart with approval required, on the same state.
kill "$LOOPBACK_COORDINATOR"
wait "$LOOPBACK_COORDINATOR" || true
mv "$W/coordinator.log" "$W/coordinator-1.log"
start_coordinator --require-approval
loopback_ctl device device-0 --json > "$W/device-0.json"
check_json "$W/device-0.json" 'assert j["status"] == "revoked", j'
mapfile -t approval < <(tokens 1 1h)
# The device asks, and keeps asking (bounded) while it is pending.
enroll device-2 "${approval[0]}" --wait-s 30 --poll-interval-s 0.2 &
waiting=$!
LOOPBACK_PIDS+=("$waiting")
pending=0
for _ in $(seq 1 100); do
  loopback_ctl devices --status pending --json > "$W/pending.json"
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["count"] else 1)' "$W/pending.json" &&
    { pending=1; break; }
  sleep 0.1
done
[[ $pending -eq 1 ]] || fail "device-2 never showed as pending: $(cat "$W/pending.json")"
check_json "$W/pending.json" 'assert [x["device_id"] for x in j["devices"]] == ["device-2"], j'
[[ ! -e $E/device-2/cert.pem ]] || fail "device-2 got a certificate before approval"
kill -0 "$waiting" || fail "device-2 stopped waiting"
loopback_ctl device approve device-2 --json > "$W/approved.json" || fail "device approve"
check_json "$W/approved.json" 'assert j["status"] == "active", j'
wait "$waiting" || fail "device-2 did not fetch its certificate after approval: $(cat "$W/enroll-device-2.log")"
openssl verify -CAfile "$W/certs/ca.pem" "$E/device-2/cert.pem" > /dev/null || fail "device-2 certificate"
loopback_ctl devices --status pending --json > "$W/pending.json"
check_json "$W/pending.json" 'assert j["count"] == 0, j'
echo "PASS"
