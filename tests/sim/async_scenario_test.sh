#!/bin/sh
# simulations/scenarios/async.toml end to end: the same population run
# synchronously (base "sync") and asynchronously (variant "async"); the async
# run must reach the sync run's final accuracy in at most 60% of the sync
# run's simulated time (issue #18). Prints both runs' figures.
# Exits 77 (skipped) when the Fashion-MNIST package is not installed.
#
# Usage: async_scenario_test.sh FEDGE_SIM SCENARIO.toml
set -eu
sim=$1
scenario=$2
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$sim" run "$scenario" --out-dir "$work/runs"
python3 - "$work/runs/async/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
runs = {v["label"]: v for v in summary["variants"]}
sync, fedbuff = runs["sync"], runs["async"]
for label, v in (("sync", sync), ("async", fedbuff)):
    print(f"{label}: final accuracy {v['final_test_accuracy']:.4f}, simulated {v['sim_time_s']:.1f} s, "
          f"reached {v['target_accuracy']:.4f} after {v['time_to_target_s']} s and {v['updates_to_target']} updates")
share = fedbuff["time_to_target_share_of_base"]
assert share is not None, "the async run never reached the sync run's final accuracy"
print(f"async needs {100 * share:.1f}% of the sync run's simulated time")
assert share <= 0.60, f"async took {100 * share:.1f}% of the sync run's simulated time, more than 60%"
PY
echo PASS
