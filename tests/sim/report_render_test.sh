#!/bin/sh
# Renders the report.html of a tiny fedge-sim run in headless Chromium and
# checks that the page is not blank: enough dark pixels for the charts' axes,
# lines and text. Exits 77 (skipped) when Chromium is not installed.
#
# Usage: report_render_test.sh FEDGE_SIM SCENARIO.toml
set -eu
sim=$1
scenario=$2
here=$(dirname "$0")
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$sim" run "$scenario" --out-dir "$work/runs" --name render
html="$work/runs/render/report.html"
test -s "$html"
# Every chart is inline SVG; no external resource may be referenced.
test "$(grep -c '<svg' "$html")" -ge 4
# tiny.toml deploys once: the deployed-model section must be there.
grep -q "Deployed model" "$html"
if grep -Eq '<script|<link|src=' "$html"; then
  echo "FAIL: report.html references external resources"
  exit 1
fi
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" \
  --screenshot="$work/out.png" --window-size=1200,1600 "file://$html" >"$work/chromium.log" 2>&1 || {
  cat "$work/chromium.log"
  exit 1
}
test -s "$work/out.png"
ink=$(python3 "$here/png_ink.py" "$work/out.png")
echo "non-white pixel fraction: $ink"
# A blank page is 0; text alone is well under 1%. The four charts with their
# frames, grids, lines and legends push it over 2%.
python3 -c "import sys; sys.exit(0 if float('$ink') > 0.02 else 1)" || {
  echo "FAIL: the rendered report looks blank"
  exit 1
}
