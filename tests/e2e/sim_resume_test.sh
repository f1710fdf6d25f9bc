#!/usr/bin/env bash
# fedge-sim --resume (issue #14, item 6): a small scenario with durable state
# ([run] state_dir) is SIGKILLed three times in seeded random rounds, once
# at each kind of point — before a round's devices train, after the k-th
# update the coordinator acknowledged (k random), and once the coordinator
# closed a round but before the simulator saved its row
# (FEDGE_FAULT_INJECTION, simulations/simulator.h) — and resumed with
# --resume each time. Checks, against an uninterrupted run of the same
# scenario without a state directory:
#   - final_model.pb is byte-identical (cmp);
#   - rounds.csv is byte-identical except the wall_time_s column (real
#     time, which depends on the machine and differs between any two runs):
#     it is cut from both files before cmp;
#   - a state directory that holds a run is refused without --resume,
#     naming --resume and --new-run.
# The scenario keeps state that must be put back exactly: top-k error
# feedback residuals, DP-SGD ledgers and noise, device dropout.
#
#   sim_resume_test.sh BIN_DIR [SEED]
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
data=/usr/share/datasets/fashion-mnist
[[ -f $data/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
SIM=$1/fedge-sim
RANDOM=${2:-${FEDGE_TEST_SEED:-14}}
W=$(mktemp -d)
trap '[[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$W"' EXIT
ROUNDS=5

# quickstart.toml, smaller: 8 devices of 300 examples, 3 per round.
cat > "$W/scenario.toml" <<TOML
name = "resume"
seed = 7
[model]
name = "cnn_small"
[population]
num_devices = 8
[federation]
rounds = $ROUNDS
devices_per_round = 3
over_selection = 1.4
round_deadline_s = 600
evaluate_every = 5  # the last round: evaluation is not what resumes
[training]
local_epochs = 1
batch_size = 32
learning_rate = 0.05
codec = "topk:0.1>int8"
[dp]
noise_multiplier = 0.8
clip_norm = 1.0
[data]
partition = "iid"
max_examples_per_device = 300
[devices]
dropout = 0.1
[run]
workers = 2
TOML

strip_wall() {  # rounds.csv without its wall_time_s column
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_time_s") w = i }
           { out = ""; for (i = 1; i <= NF; i++) if (i != w) out = out (out == "" && i == 1 ? "" : ",") $i; print out }' "$1"
}

echo "== uninterrupted run"
"$SIM" run "$W/scenario.toml" --out-dir "$W/ref" > "$W/ref.log" 2>&1 || { cat "$W/ref.log"; exit 1; }
REF=$W/ref/resume
grep -q wall_time_s "$REF/rounds.csv"

# Acknowledged updates before each round, from the reference run: a
# "delivered" kill lands inside the chosen round.
mapfile -t participants < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "participants") p = i; next } { print $p }' "$REF/rounds.csv")

# Picks a seeded random round >= $1 for kill point $2; sets EVENT, COUNT
# (the point's occurrence in a process that starts at round $1) and ROUND.
pick_kill() {
  local from=$1 r
  EVENT=$2
  ROUND=$((from + RANDOM % (ROUNDS - from + 1)))
  if [[ $EVENT == delivered ]] && ((participants[ROUND - 1] == 0)); then EVENT=round-start; fi
  case $EVENT in
    round-start | round-closed) COUNT=$((ROUND - from + 1)) ;;
    delivered)
      COUNT=$((1 + RANDOM % participants[ROUND - 1]))
      for ((r = from; r < ROUND; r++)); do COUNT=$((COUNT + participants[r - 1])); done ;;
  esac
}

STATE=$W/state
run_killed() {  # $1: extra flags; expects SIGKILL (exit 137)
  local rc=0
  FEDGE_FAULT_INJECTION="$EVENT:$COUNT" "$SIM" run "$W/scenario.toml" --out-dir "$W/out" --state-dir "$STATE" $1 \
    > "$W/killed.log" 2>&1 || rc=$?
  if ((rc != 137)); then cat "$W/killed.log"; echo "FAIL: expected a SIGKILL at $EVENT:$COUNT, exit $rc"; exit 1; fi
}

# Three kills, one at each kind of point, in seeded random rounds; each
# resumed process starts at the interrupted round, or at the next one when
# the coordinator had closed it (its row is rebuilt from the store).
first=1
flags=""
for event in round-start delivered round-closed; do
  ((first <= ROUNDS)) || break
  pick_kill "$first" "$event"
  echo "== kill at $EVENT:$COUNT (round $ROUND), from round $first"
  run_killed "$flags"
  if [[ -z $flags ]]; then
    echo "== a stored run is not overwritten without --resume"
    if "$SIM" run "$W/scenario.toml" --out-dir "$W/out" --state-dir "$STATE" > "$W/refused.log" 2>&1; then
      echo "FAIL: a state directory holding a run was reused without --resume"; exit 1
    fi
    grep -q -- "--resume" "$W/refused.log" && grep -q -- "--new-run" "$W/refused.log" ||
      { cat "$W/refused.log"; echo "FAIL: the refusal does not say what to do"; exit 1; }
  fi
  flags=--resume
  first=$([[ $EVENT == round-closed ]] && echo $((ROUND + 1)) || echo "$ROUND")
done

echo "== resume to the end"
"$SIM" run "$W/scenario.toml" --out-dir "$W/out" --state-dir "$STATE" --resume > "$W/resumed.log" 2>&1 ||
  { cat "$W/resumed.log"; exit 1; }

OUT=$W/out/resume
cmp "$REF/final_model.pb" "$OUT/final_model.pb" || { echo "FAIL: the final model differs"; exit 1; }
if ! cmp <(strip_wall "$REF/rounds.csv") <(strip_wall "$OUT/rounds.csv"); then
  diff <(strip_wall "$REF/rounds.csv") <(strip_wall "$OUT/rounds.csv") || true
  echo "FAIL: rounds.csv differs (wall_time_s excluded)"; exit 1
fi
echo "PASS: final_model.pb and rounds.csv (without wall_time_s) identical to the uninterrupted run"
