#!/usr/bin/env bash
# fedge-sim over Open MPI against one process (simulations/README.md, "Over
# MPI"): the loopback workload (10 devices of 6,000 examples, all trained
# every round, 5 rounds) with one training thread per process, run
#   1. by plain fedge-sim --workers 1,
#   2. by mpirun -n 1 fedge-sim --mpi --workers 1 (the MPI overhead alone),
#   3. by mpirun -n R fedge-sim --mpi --workers 1 (R ranks, one thread each),
# timing whole processes (start-up and data loading included) and checking
# that the rounds (without wall time) and the final model are identical.
#
#   bench/sim_mpi_bench.sh [BUILD_DIR] [R]      (defaults: build, 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
ranks=${2:-2}
SIM=$build/bin/fedge-sim
scenario=$root/simulations/scenarios/loopback.toml
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
MPIRUN=(mpirun --oversubscribe --mca btl self,vader --mca oob_tcp_if_include lo)

strip_wall() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_time_s") w = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != w) out = out (out == "" && i == 1 ? "" : ",") $i; print out }' "$1"
}

timed() {  # $1: label, rest: command; prints wall seconds
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  "$@" > "$W/$label.log" 2>&1 || { cat "$W/$label.log"; exit 1; }
  end=$(date +%s.%N)
  printf '%-28s %6.1f s\n' "$label" "$(echo "$end - $start" | bc)"
}

timed "one process" "$SIM" run "$scenario" --workers 1 --out-dir "$W/plain"
timed "mpirun -n 1 --mpi" "${MPIRUN[@]}" -n 1 "$SIM" run "$scenario" --mpi --workers 1 --out-dir "$W/r1"
timed "mpirun -n $ranks --mpi" "${MPIRUN[@]}" -n "$ranks" "$SIM" run "$scenario" --mpi --workers 1 --out-dir "$W/r$ranks"
for run in r1 "r$ranks"; do
  cmp "$W/plain/loopback/final_model.pb" "$W/$run/loopback/final_model.pb"
  cmp <(strip_wall "$W/plain/loopback/rounds.csv") <(strip_wall "$W/$run/loopback/rounds.csv")
done
grep "^MPI:" "$W/mpirun -n $ranks --mpi.log" || true
echo "identical rounds.csv (without wall_time_s) and final_model.pb"
