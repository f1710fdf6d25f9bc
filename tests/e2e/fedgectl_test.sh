#!/usr/bin/env bash
# fedgectl against a running coordinator (issue #15, items 1 and 4): a
# coordinator with a state directory and mutual TLS, two honest devices and
# a hostile one (device-2, whose round-1 update overflows the norm bound),
# two rounds. Every subcommand runs against it and its --json output is
# parsed with python3:
#   - status: 3 registered devices, 2 rounds completed, model v3, finished;
#   - devices (also paged one device per call): 2 accepted updates and 2
#     rounds joined for device-0/1, trained on v2, the certificate's SHA-256
#     as openssl computes it; device-2 refused once, with the norm bound as
#     reason; then every device offline once silent past
#     device_offline_after_s (--status offline / active);
#   - device ID (and exit code 4 for an unknown id);
#   - rounds: 2 rounds of 2 accepted, round 1 with 1 rejection ("bounds");
#   - models: global v3 current, its SHA-256 naming a file of the state
#     directory, v2 trained on by 2 devices;
#   - backup PATH: a consistent copy on the coordinator's host whose
#     database holds the 3 devices; a relative path (2), an existing one (6);
#   - exit codes: a device certificate is denied (5), a dead port is
#     unreachable (3), bad flags are usage errors (2); tables and --help.
#
#   fedgectl_test.sh BIN_DIR HOSTILE_DEVICE_BINARY
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
hostile=$2
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; [[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$LOOPBACK_WORK"' EXIT
W=$LOOPBACK_WORK

# expect_exit CODE ARGS...: fedgectl ARGS exits with CODE.
expect_exit() {
  local want=$1 got=0
  shift
  loopback_ctl "$@" > "$W/ctl.out" 2> "$W/ctl.err" || got=$?
  [[ $got -eq $want ]] || fail "fedgectl $* exited $got, expected $want: $(cat "$W/ctl.err")"
  echo "fedgectl $*: exit $got ($(head -c 160 "$W/ctl.err"))"
}

cat > "$W/coordinator.toml" <<TOML
[server]
device_offline_after_s = 3
TOML
loopback_keys 3
LOOPBACK_KEEP_SERVING=1
# Three devices selected every round: a round closes at its 5 s deadline
# with the two honest updates (device-2 is refused in round 1 and gone in 2).
loopback_start_coordinator -- --config "$W/coordinator.toml" --state "$W/state" --rounds 2 --min-devices 3 \
  --devices-per-round 3 --over-selection 1 --min-quorum 2 --round-deadline-s 5 --train-max-examples 500 \
  --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --evaluate-every 0 \
  --tick-interval-ms 50 --poll-interval-ms 100
for i in 0 1; do loopback_start_device "$i" 2 -- --model cnn_small --max-tasks 2; done
certs="$W/certs/devices/device-2"
"$hostile" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$W/certs/cert.pem" \
  --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem" --coordinator-key "$W/signing.pem.pub" \
  --device-id device-2 --attacks overflow > "$W/hostile.log" 2>&1 || fail "the hostile device was not refused"
for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || fail "a device exited with an error"; done

# status: polled until the second round's record is complete.
finished=0
for _ in $(seq 1 200); do
  loopback_ctl status --json > "$W/status.json" || fail "fedgectl status failed"
  if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["finished"] else 1)' "$W/status.json"; then
    finished=1
    break
  fi
  sleep 0.1
done
[[ $finished -eq 1 ]] || fail "the coordinator did not finish its 2 rounds: $(cat "$W/status.json")"
check_json "$W/status.json" '
assert j["registered_devices"] == 3, j
assert j["completed_rounds"] == 2 and j["round_limit"] == 2 and j["model_version"] == 3, j
assert sum(j["devices_by_status"].values()) == 3, j
assert j["device_epsilon"] == {} and j["drift"] == [], "status asks for no per-device maps"'

# devices, in one page and one device per page.
loopback_ctl devices --json > "$W/devices.json"
loopback_ctl devices --page-size 1 --json > "$W/paged.json"
fingerprint=$(openssl x509 -in "$W/certs/devices/device-0/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 |
              tr -d : | tr A-F a-f)
check_json "$W/devices.json" '
assert j["count"] == 3, j
d = {x["device_id"]: x for x in j["devices"]}
assert sorted(d) == ["device-0", "device-1", "device-2"], sorted(d)
for h in ("device-0", "device-1"):
    x = d[h]
    assert x["updates_accepted"] == 2 and x["rounds_joined"] == 2 and x["updates_rejected"] == 0, x
    assert x["training_model_version"] == 2 and x["last_rejection"] == "", x
    assert x["inference_health"] == "none" and x["status"] in ("active", "offline"), x
    assert x["metrics"]["train_loss"] > 0 and x["metrics"]["model_bytes"] > 0, x["metrics"]  # update + report
assert d["device-0"]["certificate_sha256"] == "'"$fingerprint"'", d["device-0"]["certificate_sha256"]
h = d["device-2"]
assert h["updates_accepted"] == 0 and h["updates_rejected"] == 1, h
assert "norm" in h["last_rejection"] and h["last_rejection_unix_micros"] > 0, h["last_rejection"]'
check_json "$W/paged.json" 'assert [x["device_id"] for x in j["devices"]] == ["device-0", "device-1", "device-2"], j'

# device ID; an unknown one is exit code 4.
loopback_ctl device device-2 --json > "$W/device.json"
check_json "$W/device.json" 'assert j["device_id"] == "device-2" and j["updates_rejected"] == 1 and j["info"]["num_examples"] == 1000, j'
expect_exit 4 device nobody

# rounds
loopback_ctl rounds --json > "$W/rounds.json"
check_json "$W/rounds.json" '
r = j["rounds"]
assert [x["round"] for x in r] == [1, 2], r
assert all(x["succeeded"] and x["accepted"] == 2 for x in r), r
assert r[0]["rejected"] == 1 and r[0]["rejections"] == {"bounds": 1}, r[0]
assert r[1]["rejected"] == 0, r[1]'

# models
loopback_ctl models --json > "$W/models.json"
check_json "$W/models.json" '
import os
m = j["models"]
g = m[0]
assert g["kind"] == "global" and g["version"] == 3 and g["current"] and g["parent_version"] == 2, g
assert os.path.exists("'"$W"'/state/models/" + g["sha256"] + ".fedge"), g["sha256"]
older = {x["version"]: x for x in m if not x["current"]}
assert older[2]["devices"] == 2, m'

# backup: on the coordinator's host (the same machine here).
loopback_ctl backup "$W/backup" --json > "$W/backup.json"
check_json "$W/backup.json" '
import sqlite3
assert j["path"] == "'"$W"'/backup" and j["model_files"] >= 1 and j["database_bytes"] > 0, j
db = sqlite3.connect(j["path"] + "/state.db")
rows = dict(db.execute("SELECT device_id, updates_rejected FROM devices"))
assert rows == {"device-0": 0, "device-1": 0, "device-2": 1}, rows'
expect_exit 6 backup "$W/backup"
expect_exit 2 backup relative/path

# Offline: silent for more than device_offline_after_s (3 s).
offline=0
for _ in $(seq 1 100); do
  loopback_ctl devices --status offline --json > "$W/offline.json"
  if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["count"] == 3 else 1)' "$W/offline.json"; then
    offline=1
    break
  fi
  sleep 0.1
done
[[ $offline -eq 1 ]] || fail "the devices were not shown offline: $(cat "$W/offline.json")"
loopback_ctl devices --status active --json > "$W/active.json"
check_json "$W/active.json" 'assert j["count"] == 0 and j["devices"] == [], j'
loopback_ctl status --json > "$W/status.json"
check_json "$W/status.json" 'assert j["devices_by_status"] == {"active": 0, "offline": 3, "pending": 0, "revoked": 0}, j'

# Tables.
loopback_ctl devices > "$W/devices.txt"
[[ $(wc -l < "$W/devices.txt") -eq 4 ]] && grep -q "^DEVICE" "$W/devices.txt" && grep -q "^device-2 .*offline" "$W/devices.txt" ||
  fail "devices table: $(cat "$W/devices.txt")"
for c in status "device device-0" rounds models; do
  loopback_ctl $c > "$W/table.txt" || fail "fedgectl $c"
  [[ -s "$W/table.txt" ]] || fail "fedgectl $c printed nothing"
done
cat "$W/devices.txt"

# Exit codes.
expect_exit 2 devices --status gone
expect_exit 2
"$LOOPBACK_BIN/fedgectl" --help | grep -q "Exit codes" || fail "--help has no exit codes"
denied=0
"$LOOPBACK_BIN/fedgectl" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$W/certs/cert.pem" \
  --tls-cert "$W/certs/devices/device-0/cert.pem" --tls-key "$W/certs/devices/device-0/key.pem" status \
  2> "$W/denied.err" || denied=$?
[[ $denied -eq 5 ]] || fail "a device certificate got exit $denied, expected 5: $(cat "$W/denied.err")"
unreachable=0
"$LOOPBACK_BIN/fedgectl" --coordinator 127.0.0.1:1 --root-cert "$W/certs/cert.pem" --timeout-s 3 status \
  2> "$W/unreachable.err" || unreachable=$?
[[ $unreachable -eq 3 ]] || fail "a dead port got exit $unreachable, expected 3: $(cat "$W/unreachable.err")"
echo "PASS"
