#!/usr/bin/env bash
# Issue 17's fedge-sim figure: the loopback workload (bench/loopback_bench.sh)
# in one process, `fedge-sim run simulations/scenarios/loopback.toml` with
# `workers = 2`, against build/bench/sequential_fedavg, a plain LibTorch loop
# that trains the same devices one after another. Prints each one's wall
# time, CPU seconds and CPU / wall, the wall ratio, and each one's final
# test accuracy. Whole processes are timed (start-up and data loading
# included in both). Then, unless FEDGE_BENCH_CEILING=0, it runs two copies of
# the loop at once: their wall time over one copy's is what the machine gives
# two independent single-threaded jobs (1.00 when the two cores are real and
# nothing is shared; more when they share a physical core, caches or memory
# bandwidth), so half of it is the best fedge-sim / sequential this machine
# allows.
#
#   bench/sim_bench.sh [BUILD_DIR]      (default: build)
#
# Environment: FEDGE_BENCH_WORKERS=N (default 2) for fedge-sim.
# Needs GNU time (/usr/bin/time, Debian package `time`) and bc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }
workers=${FEDGE_BENCH_WORKERS:-2}

# elapsed s, user s, system s
/usr/bin/time -f "%e %U %S" -o "$work/seq.time" "$build/bench/sequential_fedavg" > "$work/seq.out"
/usr/bin/time -f "%e %U %S" -o "$work/sim.time" "$build/bin/fedge-sim" run "$root/simulations/scenarios/loopback.toml" \
  --workers "$workers" --out-dir "$work/sim" > "$work/sim.out" 2> "$work/sim.log"

read -r seq_wall seq_user seq_sys < "$work/seq.time"
read -r sim_wall sim_user sim_sys < "$work/sim.time"
seq_acc=$(tail -n 1 "$work/seq.out" | awk '{ print $NF }')
sim_acc=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_accuracy") c = i; next } c { a = $c } END { print a }' \
  "$(find "$work/sim" -name rounds.csv | head -n 1)")
line() {  # line NAME WALL USER SYS ACCURACY
  printf "%-38s wall %6.1f s  CPU %6.1f s  CPU/wall %.2f  final accuracy %s\n" "$1" "$2" \
    "$(echo "$3 + $4" | bc)" "$(echo "($3 + $4) / $2" | bc -l)" "$5"
}
line "sequential LibTorch loop (1 thread)" "$seq_wall" "$seq_user" "$seq_sys" "$seq_acc"
line "fedge-sim (workers = $workers)" "$sim_wall" "$sim_user" "$sim_sys" "$sim_acc"
printf "fedge-sim wall / sequential wall: %.2f (issue 17: <= 0.55; CPU/wall >= 1.9)\n" \
  "$(echo "$sim_wall / $seq_wall" | bc -l)"

[[ "${FEDGE_BENCH_CEILING:-1}" == 0 ]] && exit 0
for copy in 1 2; do
  /usr/bin/time -f "%e" -o "$work/pair$copy.time" "$build/bench/sequential_fedavg" > /dev/null &
done
wait
pair_wall=$(sort -n "$work/pair1.time" "$work/pair2.time" | tail -n 1)
printf "two sequential loops at once: wall %.1f s, %.2f x one loop (the best fedge-sim / sequential here: %.2f)\n" \
  "$pair_wall" "$(echo "$pair_wall / $seq_wall" | bc -l)" "$(echo "$pair_wall / $seq_wall / 2" | bc -l)"
