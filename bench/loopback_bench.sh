#!/usr/bin/env bash
# The loopback macro-benchmark and its guard: fedge-coordinator and 10
# fedge-device processes on 127.0.0.1 over TLS. Each device holds 6,000 IID
# Fashion-MNIST training examples (normalised with mean 0.2860, std 0.3530)
# and trains the small CNN with SGD (lr 0.05, batch 32, 1 local epoch, one
# LibTorch thread per process, OPENBLAS_NUM_THREADS=1); FedAvg; the
# coordinator evaluates on the 10k test set after each of 5 rounds, on one
# thread in batches of 32 (its peak RSS grows with the batch), beside the
# next round's training.
#
#   bench/loopback_bench.sh [BIN_DIR]      (default: build/bin)
#
# Per round it prints the wall time, the training floor and their ratio, the
# framework share, accuracy and bytes per update; then the end-to-end time
# against 1.2 x the summed floor + 3 s, the CPU seconds of every process and
# the peak RSS of the coordinator and of every device, beside the peak RSS of
# a process that only loads LibTorch (BIN_DIR/../bench/libtorch_rss_floor,
# when built).
#
# The training floor of a round is (the devices' training CPU seconds + the
# coordinator's evaluation CPU seconds) / cores: the wall time the round
# would take if the cores did nothing but train and evaluate. The devices
# and the coordinator log those CPU seconds ("trained task ... s CPU",
# "evaluated in ... s CPU"). The framework share is 1 - floor / wall.
#
# Environment:
#   FEDGE_BENCH_ROUNDS=N             rounds (default 5; 1-2 for a quick memory check)
#   FEDGE_BENCH_CORES=N              cores for the floor (default: nproc)
#   FEDGE_BENCH_MAX_DEVICE_MIB=M     fail (exit 1) if a device's peak RSS exceeds M MiB
#   FEDGE_BENCH_MAX_COORDINATOR_MIB=M  same for the coordinator
#   FEDGE_BENCH_MAX_FLOOR_RATIO=R    fail if a round's wall / floor exceeds R (e.g. 1.10)
# Needs GNU time (/usr/bin/time, Debian package `time`) and bc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/loopback.sh"
LOOPBACK_BIN=$(cd "${1:-$root/build/bin}" && pwd)
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; [[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$LOOPBACK_WORK"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }

devices=10
rounds=${FEDGE_BENCH_ROUNDS:-5}
cores=${FEDGE_BENCH_CORES:-$(nproc)}
W=$LOOPBACK_WORK
# elapsed s, user s, system s, peak RSS KiB, minor page faults of each process
time_format="%e %U %S %M %R"
loopback_keys
start=$(date +%s.%N)
loopback_start_coordinator env OPENBLAS_NUM_THREADS=1 /usr/bin/time -f "$time_format" -o "$W/coordinator.time" -- \
  --rounds "$rounds" --min-devices $devices --devices-per-round $devices --over-selection 1 \
  --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 --eval-batch-size 32 \
  --tick-interval-ms 20 --poll-interval-ms 50
for ((i = 0; i < devices; i++)); do
  loopback_start_device "$i" $devices /usr/bin/time -f "$time_format" -o "$W/device-$i.time" -- \
    --model cnn_small --max-tasks "$rounds"
done
loopback_wait
total=$(echo "$(date +%s.%N) - $start" | bc)

# round -> CPU seconds: the devices' training (summed) and the evaluation.
sed -n 's/.*trained task .* (round \([0-9]*\)) in [0-9.]* s, \([0-9.]*\) s CPU.*/\1 \2/p' "$W"/device-*.log |
  awk '{ s[$1] += $2 } END { for (r in s) print r, s[r] }' | sort -n > "$W/train_cpu"
sed -n 's/.*round \([0-9]*\): evaluated in [0-9.]* s, \([0-9.]*\) s CPU.*/\1 \2/p' "$W/coordinator.log" |
  sort -n > "$W/eval_cpu"

csv="$W/rounds.csv"
paste -d, <(csv_column "$csv" round) <(csv_column "$csv" duration_s) <(csv_column "$csv" test_accuracy) \
          <(csv_column "$csv" bytes_up) <(csv_column "$csv" accepted) > "$W/rounds"
echo "| round | wall (s) | floor (s) | wall / floor | framework share | test accuracy | bytes per update |"
echo "|---|---|---|---|---|---|---|"
awk -F, -v cores="$cores" -v tf="$W/train_cpu" -v ef="$W/eval_cpu" -v out="$W/floor_sum" '
  BEGIN { while ((getline l < tf) > 0) { split(l, a, " "); train[a[1]] = a[2] }
          while ((getline l < ef) > 0) { split(l, a, " "); eval[a[1]] = a[2] } }
  { floor = (train[$1] + eval[$1]) / cores; sum += floor
    ratio = 0; share = 0; per_update = 0
    if (floor > 0) { ratio = $2 / floor; share = 100 * (1 - floor / $2) }
    if ($5 > 0) per_update = $4 / $5
    if (ratio > worst) worst = ratio
    printf "| %d | %.2f | %.2f | %.2f | %.1f%% | %.4f | %d |\n", $1, $2, floor, ratio, share, $3, per_update }
  END { print sum, worst + 0 > out }' "$W/rounds"
read -r floor_sum worst_ratio < "$W/floor_sum"
echo
printf "cores %d; training CPU %.1f s (devices) + evaluation CPU %.1f s (coordinator)\n" "$cores" \
  "$(awk '{ s += $2 } END { print s + 0 }' "$W/train_cpu")" "$(awk '{ s += $2 } END { print s + 0 }' "$W/eval_cpu")"
printf "end to end including start-up: %.1f s; 1.2 x summed floor + 3 s = %.1f s\n" "$total" \
  "$(echo "1.2 * $floor_sum + 3" | bc -l)"

read -r _ cu cs crss cfaults < "$W/coordinator.time"
printf "coordinator: %.1f CPU s (%.1f user, %.1f system), %d page faults, peak RSS %d MiB\n" \
  "$(echo "$cu + $cs" | bc)" "$cu" "$cs" "$cfaults" $((crss / 1024))
cat "$W"/device-*.time | awk '{ cpu += $2 + $3; sys += $3; faults += $5; m = $4 / 1024; if (m > max) max = m
  if (min == 0 || m < min) min = m }
  END { printf "devices: %.1f CPU s (%.1f system), %d page faults, peak RSS %d-%d MiB\n", cpu, sys, faults, min, max }'
device_max=$(cat "$W"/device-*.time | awk '{ if ($4 > m) m = $4 } END { print int(m / 1024) }')
floor_bin="$LOOPBACK_BIN/../bench/libtorch_rss_floor"
if [[ -x $floor_bin ]]; then
  /usr/bin/time -f %M -o "$W/floor.rss" "$floor_bin"
  echo "a process that only loads LibTorch: peak RSS $(($(cat "$W/floor.rss") / 1024)) MiB"
fi

failed=0
check() {  # check NAME VALUE LIMIT
  [[ -z $3 ]] && return 0
  if (($(echo "$2 > $3" | bc -l))); then echo "GUARD FAILED: $1 = $2 > $3" >&2; failed=1; fi
}
check "device peak RSS (MiB)" "$device_max" "${FEDGE_BENCH_MAX_DEVICE_MIB:-}"
check "coordinator peak RSS (MiB)" "$((crss / 1024))" "${FEDGE_BENCH_MAX_COORDINATOR_MIB:-}"
check "worst round wall / floor" "$worst_ratio" "${FEDGE_BENCH_MAX_FLOOR_RATIO:-}"
exit $failed
