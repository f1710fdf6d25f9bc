#!/usr/bin/env bash
# The loopback macro-benchmark: fedge-coordinator and 10 fedge-device
# processes on 127.0.0.1 over TLS. Each device holds 6,000 IID Fashion-MNIST
# training examples (normalised with mean 0.2860, std 0.3530) and trains the
# small CNN with SGD (lr 0.05, batch 32, 1 local epoch, one LibTorch thread per
# process); FedAvg; the coordinator evaluates on the 10k test set after each
# of 5 rounds.
#
#   bench/loopback_bench.sh [BIN_DIR]      (default: build/bin)
#
# Prints per-round wall time, accuracy, bytes per update and the share of
# round time spent outside local training (framework overhead), then the
# total time including start-up and the peak memory of the coordinator and
# of one device. Needs GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/loopback.sh"
LOOPBACK_BIN=$(cd "${1:-$root/build/bin}" && pwd)
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }

devices=10
rounds=5
loopback_keys
start=$(date +%s.%N)
loopback_start_coordinator /usr/bin/time -f %M -o "$LOOPBACK_WORK/coordinator.rss" -- \
  --rounds $rounds --min-devices $devices --devices-per-round $devices --over-selection 1 \
  --model cnn_small --local-epochs 1 --lr 0.05 --batch-size 32 --eval-threads 1 \
  --tick-interval-ms 20 --poll-interval-ms 50
for ((i = 0; i < devices; i++)); do
  wrapper=()
  [[ $i -eq 0 ]] && wrapper=(/usr/bin/time -f %M -o "$LOOPBACK_WORK/device.rss")
  loopback_start_device "$i" $devices "${wrapper[@]}" -- --model cnn_small --max-tasks $rounds
done
loopback_wait
total=$(echo "$(date +%s.%N) - $start" | bc)

csv="$LOOPBACK_WORK/rounds.csv"
echo "| round | wall time (s) | test accuracy | bytes per update | outside local training |"
echo "|---|---|---|---|---|"
paste -d, <(csv_column "$csv" round) <(csv_column "$csv" duration_s) <(csv_column "$csv" test_accuracy) \
          <(csv_column "$csv" bytes_up) <(csv_column "$csv" accepted) <(csv_column "$csv" device_train_seconds) |
  awk -F, '{ printf "| %d | %.2f | %.4f | %d | %.1f%% |\n", $1, $2, $3, $4 / $5, 100 * (1 - $6 / $2) }'
echo
printf "total time including start-up: %.1f s\n" "$total"
echo "peak memory: coordinator $(($(cat "$LOOPBACK_WORK/coordinator.rss") / 1024)) MiB, device $(($(cat "$LOOPBACK_WORK/device.rss") / 1024)) MiB"
