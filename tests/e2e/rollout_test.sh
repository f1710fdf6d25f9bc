#!/usr/bin/env bash
# Staged rollout of the deployed model end to end (issue #15, items 5 and 6):
# fedge-coordinator with [deploy] every_rounds = 1 and a [rollout] of three
# stages (20% -> 50% -> 100%), 6 fedge-device processes with inference
# slots, mutual TLS on 127.0.0.1, two rounds. The TEST-ONLY
# [deploy] test_degrade_from_version = 2 zeroes the weights of deployed
# model v2 after building it: validly signed, loads everywhere, predicts one
# class. Checks:
#   - the good model v1 reaches every device through all three stages
#     (fedgectl rollout pause / resume / promote exercised on it);
#   - v2 is installed only by the devices of its canary stage, which fail
#     their health check (held-back accuracy below 0.25), roll back locally
#     and report it; the rollout aborts and rolls back by itself, every
#     device ends serving v1 (its active.fedge verified with fedge-infer);
#   - fedgectl rollout status --json shows the abort and why; rollback of an
#     aborted rollout is refused (exit 6).
#
#   rollout_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib/loopback.sh"
loopback_init "$1"
data=$FMNIST
N=6

fail() {
  echo "FAIL: $*"
  grep -h "rollout\|health check\|serving deployed\|rolled back" "$W"/*.log | tail -n 40 || true
  exit 1
}
# rollout_is VERSION STATE: fedgectl rollout status says so (into $W/rollout.json).
rollout_is() {
  loopback_ctl --json rollout status > "$W/rollout.json" || fail "fedgectl rollout status failed"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["version"]==int(sys.argv[2]) and j["state"]==sys.argv[3] else 1)' \
    "$W/rollout.json" "$1" "$2"
}
# wait_rollout VERSION STATE: polls (bounded) until rollout_is VERSION STATE.
wait_rollout() {
  for _ in $(seq 1 600); do
    rollout_is "$1" "$2" && return 0
    sleep 0.1
  done
  fail "the rollout never reached v$1 $2: $(cat "$W/rollout.json")"
}

# Small and fast: 300 examples per task, one distillation epoch on 1000
# proxy images. Stage minimums of 1, 2 and all 6 devices (so v1 completes
# only once every device serves it), soaks of at most 1 s.
cat > "$W/coordinator.toml" <<TOML
[deploy]
every_rounds = 1
student = "cnn_student"
epochs = 1
proxy_data = "$data"
proxy_examples = 1000
threads = 1
test_degrade_from_version = 2   # TEST-ONLY: v2 is broken

[rollout]
fractions = [0.2, 0.5, 1.0]
min_devices = [1, 2, 6]   # completes only once every device serves it
soak_s = [1, 0, 0]
max_failure_share = 0.3
min_accuracy = 0.25
TOML

loopback_keys $N
LOOPBACK_KEEP_SERVING=1
loopback_start_coordinator -- --config "$W/coordinator.toml" --rounds 2 --min-devices $N --devices-per-round $N \
  --over-selection 1 --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --train-max-examples 300 \
  --evaluate-every 0 --tick-interval-ms 50 --poll-interval-ms 100
for ((i = 0; i < N; i++)); do
  loopback_start_device "$i" $N -- --model cnn_small --inference-dir "$W/inference-$i" --inference-min-accuracy 0.25
done

# v1, the good model: caught in its first stage, paused, resumed, promoted.
wait_rollout 1 rollout_running
loopback_ctl rollout pause > "$W/ctl.out" || fail "fedgectl rollout pause failed"
grep -q "state      paused" "$W/ctl.out" || fail "pause: $(cat "$W/ctl.out")"
got=0
loopback_ctl rollout pause > /dev/null 2> "$W/ctl.err" || got=$?
[[ $got -eq 6 ]] || fail "pausing a paused rollout exited $got, expected 6: $(cat "$W/ctl.err")"
loopback_ctl --json rollout resume > "$W/resume.json" || fail "fedgectl rollout resume failed"
check_json "$W/resume.json" 'assert j["state"] == "rollout_running", j'
loopback_ctl --json rollout promote > "$W/promote.json" || fail "fedgectl rollout promote failed"
check_json "$W/promote.json" 'assert j["version"] == 1 and j["stage"] >= 1, j'
# v1 completes, then v2 (built meanwhile) starts in the same tick: checked in
# the coordinator's log below.

# v2, the broken model: aborted at its canary stage.
wait_rollout 2 rollout_aborted
cp "$W/rollout.json" "$W/aborted.json"
check_json "$W/aborted.json" '
assert j["stage"] == 0, j                     # never left the canary stage
assert j["failed"] >= 1 and j["failed"] <= j["cohort_devices"] < '"$N"', j
assert j["previous_version"] == 1, j
assert "health check failed" in j["reason"], j["reason"]'
got=0
loopback_ctl rollout rollback > /dev/null 2> "$W/ctl.err" || got=$?
[[ $got -eq 6 ]] || fail "rolling back an aborted rollout exited $got, expected 6: $(cat "$W/ctl.err")"
for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || fail "a device exited with an error"; done
grep -E "rollout|deployed INT8 model" "$W/coordinator.log" | sed 's/^[^]]*] //'

# Every stage of v1 was passed, and every device installed it.
for event in "version 1 advanced to stage 2/3" "version 1 advanced to stage 3/3" "version 1 completed"; do
  grep -q "rollout of $event" "$W/coordinator.log" || fail "the rollout log lacks: $event"
done
canary=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cohort_devices"])' "$W/aborted.json")
installed_v2=0
for ((i = 0; i < N; i++)); do
  log="$W/device-$i.log"
  grep -q "now serving deployed model 1$" "$log" || fail "device-$i never served v1"
  if grep -q "now serving deployed model 2$" "$log"; then
    installed_v2=$((installed_v2 + 1))
    grep -q "deployed model 2 failed its health check" "$log" || fail "device-$i kept the broken v2"
  fi
  out=$("$LOOPBACK_BIN/fedge-infer" --model "$W/inference-$i/active.fedge" --key "$W/signing.pem.pub" \
    --images "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz")
  version=$(sed -n 's/^model .* v\([0-9]*\) .*/\1/p' <<< "$out")
  [[ $version -eq 1 ]] || fail "device-$i ends on v$version, expected v1"
done
echo "v2 installed by $installed_v2 device(s), canary cohort $canary of $N; every device ends on v1"
[[ $installed_v2 -ge 1 && $installed_v2 -le $canary ]] ||
  fail "$installed_v2 devices installed the broken v2, the canary stage has $canary"
echo "PASS"
