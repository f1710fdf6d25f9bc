#!/usr/bin/env bash
# End-to-end: ONE federation settings file drives a fedge-sim run and a
# loopback fedge-coordinator run (3 fedge-device processes over mutual TLS on
# 127.0.0.1), unchanged. Both binaries must read the same settings from it
# (`fedge-sim validate` against `fedge-coordinator --print-config`, key by
# key) and both must run its rounds.
#
#   same_settings_test.sh BIN_DIR
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/loopback.sh"
[[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }

LOOPBACK_BIN=$1
LOOPBACK_WORK=$(mktemp -d)
trap 'loopback_cleanup; rm -rf "$LOOPBACK_WORK"' EXIT
settings="$LOOPBACK_WORK/federation.toml"
cat > "$settings" <<'TOML'
# Only the shared schema (docs/configuration.md): no simulation or service table.
name = "shared"
seed = 5

[model]
name = "cnn_small"

[federation]
rounds = 2
min_devices = 3
devices_per_round = 3
over_selection = 1.0
round_deadline_s = 120
poll_interval_ms = 100

[training]
local_epochs = 1
batch_size = 32
learning_rate = 0.05
codec = "int8"
max_examples = 600

[strategy]
name = "fedavgm"
[strategy.fedavgm]
server_momentum = 0.5
TOML

# 1. The same settings, read by both binaries.
"$LOOPBACK_BIN/fedge-sim" validate "$settings" > "$LOOPBACK_WORK/sim.json"
"$LOOPBACK_BIN/fedge-coordinator" --config "$settings" --print-config > "$LOOPBACK_WORK/coordinator.json"
python3 - "$LOOPBACK_WORK/sim.json" "$LOOPBACK_WORK/coordinator.json" <<'PY'
import json, sys
sim, coord = (json.load(open(p)) for p in sys.argv[1:3])
def leaves(j, prefix=""):
    for k, v in j.items():
        if isinstance(v, dict): yield from leaves(v, prefix + k + ".")
        else: yield prefix + k, v
sim_leaves = dict(leaves(sim))
diff = [(k, v, sim_leaves.get(k)) for k, v in leaves(coord) if sim_leaves.get(k) != v]
if diff:
    sys.exit("FAIL: the binaries read different settings:\n" + "\n".join(f"  {k}: coordinator {a!r}, fedge-sim {b!r}" for k, a, b in diff))
assert coord["training"]["codec"] == "int8" and coord["strategy"]["name"] == "fedavgm", coord
print(f"both binaries read the same {sum(1 for _ in leaves(coord))} settings")
PY

# 2. fedge-sim runs the file as a scenario (population, data etc. defaulted).
"$LOOPBACK_BIN/fedge-sim" run "$settings" --out-dir "$LOOPBACK_WORK/runs" 2> "$LOOPBACK_WORK/sim.log" ||
  { cat "$LOOPBACK_WORK/sim.log"; exit 1; }
sim_csv="$LOOPBACK_WORK/runs/shared/rounds.csv"
sim_ok=$(csv_column "$sim_csv" succeeded | grep -c '^1$' || true)
[[ $sim_ok -eq 2 ]] || { echo "FAIL: fedge-sim: expected 2 successful rounds"; cat "$sim_csv"; exit 1; }

# 3. fedge-coordinator serves the same file; only server flags are added.
loopback_keys 3
loopback_start_coordinator -- --config "$settings" --eval-threads 1 --tick-interval-ms 50
for i in 0 1 2; do loopback_start_device "$i" 3 -- --model cnn_small --max-tasks 2; done
loopback_wait
grep -q "fedge-coordinator serving shared .*fedavgm, 2 rounds" "$LOOPBACK_WORK/coordinator.log" ||
  { echo "FAIL: the coordinator did not take the file's name, strategy and rounds"; cat "$LOOPBACK_WORK/coordinator.log"; exit 1; }
csv="$LOOPBACK_WORK/rounds.csv"
rows=$(csv_column "$csv" round | wc -l)
ok=$(csv_column "$csv" succeeded | grep -c '^1$' || true)
[[ $rows -eq 2 && $ok -eq 2 ]] || { echo "FAIL: fedge-coordinator: expected 2 successful rounds"; cat "$csv"; exit 1; }
echo "PASS: one settings file ran 2 rounds in fedge-sim and in fedge-coordinator"
