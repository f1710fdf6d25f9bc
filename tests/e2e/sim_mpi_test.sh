#!/usr/bin/env bash
# fedge-sim over Open MPI (issue #19, item 2): a small scenario run by plain
# fedge-sim, then by `mpirun -n R fedge-sim run ... --mpi` for R = 1, 2, 4,
# must give
#   - a byte-identical final_model.pb (cmp);
#   - a byte-identical rounds.csv except the wall_time_s column (real time,
#     different between any two runs), cut from both before cmp;
# and with R > 1 every worker rank must have trained devices (rank 0 prints
# how many each did). The scenario keeps the state that stays on rank 0 and
# must not drift: top-k error-feedback residuals, DP-SGD ledgers and noise,
# a label-flipping attacker, dropouts. Also: a scenario with variants is
# refused under --mpi, naming --variant.
#
# Loopback only: the shared-memory and self transports (no TCP BTL), the
# out-of-band channel on lo; --oversubscribe lets 4 ranks share 2 cores.
#
#   sim_mpi_test.sh BIN_DIR
# Exits 77 (skipped) when Fashion-MNIST or mpirun is not installed.
set -euo pipefail
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
command -v mpirun > /dev/null || { echo "SKIP: no mpirun (apt-get install openmpi-bin)"; exit 77; }
SIM=$1/fedge-sim
W=$(mktemp -d)
trap '[[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$W"' EXIT
if [[ $(id -u) -eq 0 ]]; then  # containers and CI run as root; Open MPI asks for both
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
MPIRUN=(mpirun --oversubscribe --mca btl self,vader --mca oob_tcp_if_include lo)

cat > "$W/scenario.toml" <<TOML
name = "mpi"
seed = 11
[model]
name = "cnn_small"
[population]
num_devices = 10
[federation]
rounds = 3
devices_per_round = 6
over_selection = 1.3
round_deadline_s = 600
evaluate_every = 3
[training]
local_epochs = 1
batch_size = 32
learning_rate = 0.05
codec = "topk:0.1>int8"
[dp]
noise_multiplier = 0.8
clip_norm = 1.0
[attack]
fraction = 0.2
kind = "label_flip"
[data]
partition = "dirichlet"
alpha = 0.5
max_examples_per_device = 200
[devices]
dropout = 0.1
[run]
workers = 1
TOML

strip_wall() {  # rounds.csv without its wall_time_s column
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_time_s") w = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != w) out = out (out == "" && i == 1 ? "" : ",") $i; print out }' "$1"
}

echo "== one process, no MPI"
"$SIM" run "$W/scenario.toml" --out-dir "$W/ref" > "$W/ref.log" 2>&1 || { cat "$W/ref.log"; exit 1; }
REF=$W/ref/mpi
[[ $(wc -l < "$REF/rounds.csv") -eq 4 ]] || { cat "$REF/rounds.csv"; echo "FAIL: expected 3 rounds"; exit 1; }

for ranks in 1 2 4; do
  echo "== mpirun -n $ranks ... --mpi"
  "${MPIRUN[@]}" -n "$ranks" "$SIM" run "$W/scenario.toml" --mpi --out-dir "$W/r$ranks" > "$W/r$ranks.log" 2>&1 ||
    { cat "$W/r$ranks.log"; echo "FAIL: mpirun -n $ranks failed"; exit 1; }
  OUT=$W/r$ranks/mpi
  cmp "$REF/final_model.pb" "$OUT/final_model.pb" || { echo "FAIL: the final model differs with $ranks ranks"; exit 1; }
  if ! cmp <(strip_wall "$REF/rounds.csv") <(strip_wall "$OUT/rounds.csv"); then
    diff <(strip_wall "$REF/rounds.csv") <(strip_wall "$OUT/rounds.csv") || true
    echo "FAIL: rounds.csv differs with $ranks ranks (wall_time_s excluded)"; exit 1
  fi
  if ((ranks > 1)); then
    line=$(grep "^MPI: $ranks ranks; devices trained by ranks" "$W/r$ranks.log") ||
      { cat "$W/r$ranks.log"; echo "FAIL: rank 0 did not report the split"; exit 1; }
    echo "$line"
    counts=${line##*: }
    for n in ${counts//,/ }; do
      ((n > 0)) || { echo "FAIL: a worker rank trained no device with $ranks ranks: $line"; exit 1; }
    done
  fi
done

echo "== a scenario with variants is refused under --mpi"
cp "$W/scenario.toml" "$W/variants.toml"
printf '\n[[variant]]\nname = "faster"\ntraining.learning_rate = 0.1\n' >> "$W/variants.toml"
if "${MPIRUN[@]}" -n 2 "$SIM" run "$W/variants.toml" --mpi --out-dir "$W/v" > "$W/v.log" 2>&1; then
  cat "$W/v.log"; echo "FAIL: --mpi ran a scenario with variants"; exit 1
fi
grep -q -- "--variant" "$W/v.log" || { cat "$W/v.log"; echo "FAIL: the refusal does not name --variant"; exit 1; }

echo "PASS: 1, 2 and 4 ranks give the final model and rounds.csv (without wall_time_s) of one process"
