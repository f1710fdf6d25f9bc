#!/usr/bin/env bash
# End-to-end drift through fedge-device processes (issue #16): a coordinator
# and two devices over mutual TLS on 127.0.0.1. device-0 reads a spool
# directory that a producer (fedge-spool-writer) fills with upright
# Fashion-MNIST images and then, after the device has trained, with images
# rotated by 90 degrees; device-1 trains on a fixed IDX shard. Both monitor
# drift. Asserts:
#   - device-0 scores new upright data with its latest model without alarm;
#   - it alarms within its data window (400 examples) of rotated data;
#   - the coordinator records the alarm: its drift map (log line "drift
#     alarm from device-0", and the fleet registry through the Admin
#     service: `fedgectl device device-0 --json` shows the alarm, its
#     detector and time) and rounds.csv (drift_alarms > 0);
#   - device-1, whose data did not change, never alarms.
#
#   device_drift_test.sh BIN_DIR SPOOL_WRITER
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
[[ -f /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
writer=$2
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT
spool="$LOOPBACK_WORK/spool"
mkdir -p "$spool"
log0="$LOOPBACK_WORK/device-0.log"
window=400
next_image=0


# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it
# succeeds; fails the test after SECONDS.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local i
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" && return 0
    for p in "${LOOPBACK_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || fail "a process exited while waiting for $what"; done
    sleep 0.1
  done
  fail "timed out after ${seconds}s waiting for $what"
}

# publish NAME COUNT [--rotate]: the next COUNT train images as one spool file.
publish() {
  "$writer" --spool "$spool" --name "$1" --first "$next_image" --count "$2" "${@:3}"
  next_image=$((next_image + $2))
}

# Lines in which device-0 reports a step with new data.
steps() { grep -c "device-0: [0-9]* new examples from spool" "$log0" || true; }
alarms() { grep -c "device-0: drift alarm" "$log0" || true; }
rounds() { if [[ -f "$LOOPBACK_WORK/rounds.csv" ]]; then csv_column "$LOOPBACK_WORK/rounds.csv" round | wc -l; else echo 0; fi; }
csv_alarms() {
  if [[ -f "$LOOPBACK_WORK/rounds.csv" ]]; then
    csv_column "$LOOPBACK_WORK/rounds.csv" drift_alarms | awk '{ s += $1 } END { print s + 0 }'
  else
    echo 0
  fi
}
# at_least COUNTER N: the counter function's value is >= N (re-evaluated on every poll).
at_least() { [[ $("$1") -ge $2 ]]; }

cat > "$LOOPBACK_WORK/device-0.toml" <<TOML
[data]
source = "spool"
format = "csv"
path = "$spool"
window = $window
reservoir = 100
train_examples = 400
[data.csv]
feature_scale = 0.00392156862745098   # 8-bit pixels to [0, 1]
[data.preprocess]                     # pixels: as the IDX defaults
min_value = 0
max_value = 1
statistics = "global"
prior_mean = 0.286
prior_std = 0.353
prior_examples = 100
[drift.detector]
name = "page_hinkley"
reference_examples = 200
TOML

# Upright data before the device starts: it trains on these.
publish upright-0001 300
publish upright-0002 300

loopback_keys 2
loopback_start_coordinator -- --rounds 200 --min-devices 2 --devices-per-round 2 --over-selection 1 \
  --model mlp --local-epochs 1 --lr 0.05 --batch-size 32 --evaluate-every 0 \
  --tick-interval-ms 50 --poll-interval-ms 100
loopback_start_device 0 20 -- --config "$LOOPBACK_WORK/device-0.toml" --model mlp
loopback_start_device 1 20 -- --model mlp --drift true --train-examples 400

# Two rounds: device-0 has trained from a global model, so it scores from now on.
wait_for 60 "two rounds" at_least rounds 2

# More upright data: scored with the latest model, no alarm.
before=$(steps)
publish upright-0003 200
wait_for 20 "device-0 to read upright-0003" at_least steps $((before + 1))
grep "device-0: 200 new examples" "$log0" | tail -n 1
grep -q "device-0: 200 new examples from spool .* 200 scored" "$log0" || fail "device-0 did not score new upright data"
[[ $(alarms) -eq 0 ]] || fail "device-0 alarmed on upright data"

# The drift: rotated images, 100 per file, until the device alarms; it must
# within one window of them.
rotated=0
while [[ $(alarms) -eq 0 ]]; do
  [[ $rotated -lt $window ]] || fail "no drift alarm after $rotated rotated examples (window $window)"
  before=$(steps)
  publish "rotated-$(printf %04d $rotated)" 100 --rotate
  rotated=$((rotated + 100))
  wait_for 20 "device-0 to read rotated file $rotated" at_least steps $((before + 1))
done
grep "device-0: drift alarm" "$log0" | head -n 1
echo "device-0 alarmed within $rotated rotated examples"
grep -q "device-0: drift alarm (page_hinkley.*reported to the coordinator" "$log0" ||
  fail "device-0's alarm was not reported"

# The coordinator's drift map, and the round record.
wait_for 20 "the coordinator's drift map" grep -q "drift alarm from device-0: page_hinkley" \
  "$LOOPBACK_WORK/coordinator.log"
grep "drift alarm from device-0" "$LOOPBACK_WORK/coordinator.log" | head -n 1 | cut -c1-200
loopback_ctl device device-0 --json > "$LOOPBACK_WORK/device-0.json" || fail "fedgectl device device-0"
loopback_ctl device device-1 --json > "$LOOPBACK_WORK/device-1.json" || fail "fedgectl device device-1"
python3 - "$LOOPBACK_WORK/device-0.json" "$LOOPBACK_WORK/device-1.json" <<'PY' || fail "fedgectl does not show the drift"
import json, sys
d0, d1 = (json.load(open(p)) for p in sys.argv[1:3])
drift = d0["drift"]
assert d0["drift_alarms"] >= 1 and drift["alarms"] == d0["drift_alarms"], d0
assert drift["last_detector"] == "page_hinkley" and drift["last_alarm_unix_micros"] > 0, drift
assert d1["drift_alarms"] == 0 and d1["drift"]["alarms"] == 0, d1
print(f"fedgectl device device-0: {drift['alarms']} alarm(s), last by {drift['last_detector']}, "
      f"statistic {drift['last_statistic']:.3f}, drifting={drift['drifting']}")
PY
wait_for 30 "a round with drift_alarms > 0 in rounds.csv" at_least csv_alarms 1
echo "rounds.csv: $(csv_alarms) drift alarm(s) over $(rounds) rounds"
! grep -q "drift alarm from device-1" "$LOOPBACK_WORK/coordinator.log" || fail "device-1 reported drift"
! grep -q "device-1: drift alarm" "$LOOPBACK_WORK/device-1.log" || fail "device-1 alarmed"
echo "PASS"
