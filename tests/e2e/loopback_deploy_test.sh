#!/usr/bin/env bash
# End-to-end deployed model: fedge-coordinator with [deploy] every_rounds = 1
# and 5 fedge-device processes with --inference-dir on 127.0.0.1 over TLS
# run 3 rounds of FedAvg. After each round the coordinator distils the
# global model into cnn_student, quantises it to int8, signs it and serves
# it; devices install each newer one into their persisted inference slot.
# Checks: every round deployed a model (rounds CSV), the int8 accuracy the
# coordinator measured is reasonable, and every device's active.fedge
# verifies with the pinned key in fedge-infer, is one of the deployed
# versions and classifies the test set as well as the coordinator measured.
#
#   loopback_deploy_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT

# Small enough to stay fast on 2 cores: one distillation epoch on 3000
# proxy images per deployment, 2000 examples per training task.
cat > "$LOOPBACK_WORK/coordinator.toml" <<TOML
[deploy]
every_rounds = 1
student = "cnn_student"
epochs = 1
proxy_data = "$data"
proxy_examples = 3000
threads = 1
TOML

loopback_keys
loopback_start_coordinator -- --config "$LOOPBACK_WORK/coordinator.toml" --rounds 3 --min-devices 5 \
  --devices-per-round 5 --over-selection 1 --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 \
  --train-max-examples 2000 --eval-threads 1 --tick-interval-ms 50 --poll-interval-ms 100
for i in 0 1 2 3 4; do
  loopback_start_device "$i" 5 -- --model cnn_small --max-tasks 3 --inference-dir "$LOOPBACK_WORK/inference-$i"
done
loopback_wait
grep -E "round [0-9]+ (succeeded|failed)|deployed INT8 model|deploying every" "$LOOPBACK_WORK/coordinator.log" || true

csv="$LOOPBACK_WORK/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
succeeded=$(csv_column "$csv" succeeded | grep -c '^1$' || true)
deployed=$(csv_column "$csv" deployed_model_version | tail -n 1)
int8=$(csv_column "$csv" deploy_int8_accuracy | tail -n 1)
echo "rounds: $rows, succeeded: $succeeded, deployed model v$deployed"
paste -d, <(csv_column "$csv" round) <(csv_column "$csv" deployed_model_version) \
  <(csv_column "$csv" deploy_teacher_accuracy) <(csv_column "$csv" deploy_fp32_accuracy) \
  <(csv_column "$csv" deploy_int8_accuracy) <(csv_column "$csv" deploy_artifact_bytes) \
  <(csv_column "$csv" devices_serving_deployed) |
  sed '1i round,deployed_version,teacher_acc,student_fp32_acc,student_int8_acc,artifact_bytes,devices_serving'
[[ $rows -eq 3 && $succeeded -eq 3 ]] || { echo "FAIL: expected 3 successful rounds"; cat "$csv"; exit 1; }
[[ $deployed -eq 3 ]] || { echo "FAIL: expected deployed model v3 after 3 rounds, got v$deployed"; cat "$csv"; exit 1; }
awk -v a="$int8" 'BEGIN { exit !(a > 0.5) }' || { echo "FAIL: int8 accuracy $int8 is not above 0.5"; exit 1; }

# int8 accuracy the coordinator measured for deployed version $1.
coordinator_int8() {
  paste -d, <(csv_column "$csv" deployed_model_version) <(csv_column "$csv" deploy_int8_accuracy) |
    awk -F, -v v="$1" '$1 == v { print $2 }' | tail -n 1
}

for i in 0 1 2 3 4; do
  model="$LOOPBACK_WORK/inference-$i/active.fedge"
  [[ -f $model ]] || { echo "FAIL: device-$i has no $model"; tail -n 20 "$LOOPBACK_WORK/device-$i.log"; exit 1; }
  out=$("$LOOPBACK_BIN/fedge-infer" --model "$model" --key "$LOOPBACK_WORK/signing.pem.pub" \
    --images "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz")
  version=$(sed -n 's/^model .* v\([0-9]*\) .*/\1/p' <<< "$out")
  accuracy=$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' <<< "$out")
  expected=$(coordinator_int8 "$version")
  echo "device-$i serves deployed model v$version: int8 accuracy $accuracy (coordinator measured $expected)"
  [[ $version -ge 1 && $version -le $deployed ]] || { echo "FAIL: device-$i serves v$version"; exit 1; }
  awk -v a="$accuracy" 'BEGIN { exit !(a > 0.5) }' || { echo "FAIL: device-$i int8 accuracy $accuracy"; exit 1; }
  awk -v a="$accuracy" -v b="$expected" 'BEGIN { d = a - b; exit !(b != "" && d < 0.005 && d > -0.005) }' ||
    { echo "FAIL: device-$i's model scores $accuracy, the coordinator measured $expected for v$version"; exit 1; }
done
echo "PASS"
