#!/usr/bin/env bash
# Issue 20's round figures: `fedge-sim run simulations/scenarios/secagg.toml`
# (100 devices per round, ~10% lost over the four SecAgg stages) and its
# "plain" variant (no secure aggregation, 10% dropping before the upload).
# Prints, per variant, the final test accuracy and the mean participants per
# round; for the secure run the bytes one device sent and received per round
# (rounds.csv: secagg_bytes_up_per_device, secagg_bytes_down_per_device)
# against a plain int8 upload of the same model, and the coordinator's thread
# CPU per round for the protocol (the "secure aggregation of N devices used X
# ms of coordinator CPU" log line of coordinator/federation_secagg.cc).
#
#   bench/secagg_round_bench.sh [BUILD_DIR]      (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bin/fedge-sim" run "$root/simulations/scenarios/secagg.toml" -v --out-dir "$work/out" \
  > "$work/sim.out" 2> "$work/sim.log"

column() {  # column CSV NAME -> the column's values, one per line
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } c { print $c }' "$1"
}
mean() { awk '$1 != "" { s += $1; n++ } END { if (n) printf "%.1f", s / n; else print "n/a" }'; }
for csv in $(find "$work/out" -name rounds.csv | sort); do
  label=$(basename "$(dirname "$csv")")
  printf "%-8s final accuracy %s  mean participants %s\n" "$label" \
    "$(column "$csv" test_accuracy | tail -n 1)" "$(column "$csv" participants | mean)"
  up=$(column "$csv" secagg_bytes_up_per_device | mean)
  [[ "$up" == n/a ]] && continue
  printf "%-8s bytes per device per round: up %s, down %s\n" "$label" "$up" \
    "$(column "$csv" secagg_bytes_down_per_device | mean)"
done
# mlp: 101,770 parameters; a plain int8 upload is d + 4 * ceil(d / 256) bytes of payload.
echo "plain int8 payload for the mlp: $((101770 + 4 * ((101770 + 255) / 256))) bytes"
grep -o "secure aggregation of [0-9.]* devices used [0-9.]* ms of coordinator CPU" "$work/sim.log" |
  awk '{ s += $(NF - 4); n++ } END { if (n) printf "coordinator CPU per round: %.1f ms (mean of %d rounds)\n", s / n, n }'
