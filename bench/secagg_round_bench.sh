#!/usr/bin/env bash
# Issue 20's round figures: `fedge-sim run simulations/scenarios/secagg.toml`
# (100 devices per round, ~10% lost over the four SecAgg stages, int8 codes),
# its "secure-int4" variant (the same with int4 codes) and its "plain" variant
# (no secure aggregation, 10% dropping before the upload). Prints, per
# variant, the final test accuracy and the mean participants per round; for
# the secure runs the bytes one device sent and received per round
# (rounds.csv: secagg_bytes_up_per_device, secagg_bytes_down_per_device) and
# what a device that completes the round uploads, against plain int8 and int4
# uploads of the same model, and the coordinator's thread CPU per round for
# the protocol (the "secure aggregation of N devices used X ms of coordinator
# CPU" log line of coordinator/federation_secagg.cc, one mean over the secure
# runs' rounds).
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
# mlp: 101,770 parameters; plain int8 and int4 uploads are d and ceil(d / 2) bytes plus
# 4 * ceil(d / 256) of block scales (compression/README.md).
d=101770
blocks=$(( 4 * ((d + 255) / 256) ))
echo "plain int8 payload for the mlp: $((d + blocks)) bytes; plain int4: $(((d + 1) / 2 + blocks)) bytes"
# A device that completes a round of n = 100 with k = 14 neighbours uploads its
# masked vector (16 + ceil(d * ring_bits / 8) bytes, ring_bits = code bits + 7)
# and 120 + 133 * k bytes of keys, sealed shares and its unmasking answer
# (secagg/README.md, "Costs").
for bits in 8 4; do
  echo "a completing device uploads with int$bits codes: $((16 + (d * (bits + 7) + 7) / 8 + 120 + 133 * 14)) bytes"
done
grep -o "secure aggregation of [0-9.]* devices used [0-9.]* ms of coordinator CPU" "$work/sim.log" |
  awk '{ s += $(NF - 4); n++ } END { if (n) printf "coordinator CPU per round: %.1f ms (mean of the %d rounds of the secure runs)\n", s / n, n }'
