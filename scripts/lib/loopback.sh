# Shared by the loopback end-to-end test and the loopback benchmark: a
# fedge-coordinator and fedge-device processes on 127.0.0.1 over TLS
# (mutual TLS when loopback_keys is given a device count).
# Source it, set LOOPBACK_BIN (the build's bin/) and LOOPBACK_WORK (a scratch
# directory), then call the functions below. Every process started is killed
# by loopback_cleanup.

LOOPBACK_PIDS=()
LOOPBACK_PORT=""
LOOPBACK_COORDINATOR=""
LOOPBACK_MTLS=""  # non-empty: the coordinator requires device certificates
# With mutual TLS, the Admin service answers the certificate of this CN
# (loopback_ctl runs fedgectl with it).
LOOPBACK_ADMIN_CN=fedge-admin
# Non-empty: loopback_start_coordinator omits --exit-when-finished, so the
# coordinator keeps serving (e.g. fedgectl) after its last round.
LOOPBACK_KEEP_SERVING=""

# loopback_init BIN_DIR: LOOPBACK_BIN, a fresh LOOPBACK_WORK (also as W), and
# an exit trap that stops every process started and removes the directory
# (kept with FEDGE_KEEP_WORK=1). Exits 77 (CTest's skip) when the
# Fashion-MNIST package is missing; its directory is then in FMNIST.
FMNIST=/usr/share/datasets/fashion-mnist
loopback_init() {
  [[ -f $FMNIST/t10k-labels-idx1-ubyte.gz ]] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
  LOOPBACK_BIN=$1
  LOOPBACK_WORK=$(mktemp -d)
  W=$LOOPBACK_WORK
  trap 'loopback_cleanup; [[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$LOOPBACK_WORK"' EXIT
}

loopback_cleanup() {
  for p in "${LOOPBACK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}

# loopback_keys [NUM_DEVICES]: creates the development TLS pair and the
# artifact signing key. With NUM_DEVICES, also issues dev certificates for
# device-0 .. device-(NUM_DEVICES-1) and the admin certificate
# ($LOOPBACK_ADMIN_CN, for loopback_ctl) and turns on mutual TLS: the
# coordinator then requires them (--client-ca) and each device presents its own.
loopback_keys() {
  "$LOOPBACK_BIN/fedge-coordinator" --generate-dev-tls "$LOOPBACK_WORK/certs" \
    --signing-key "$LOOPBACK_WORK/signing.pem" --generate-signing-key --generate-only
  if [[ $# -gt 0 ]]; then
    local ids=("$LOOPBACK_ADMIN_CN") i
    for ((i = 0; i < $1; i++)); do ids+=("device-$i"); done
    "$LOOPBACK_BIN/fedge-coordinator" --generate-dev-tls "$LOOPBACK_WORK/certs" --issue-device-cert "${ids[@]}"
    LOOPBACK_MTLS=1
  fi
}

# loopback_start_coordinator [WRAPPER...] -- [FLAGS...]: starts the coordinator
# on a free port (optionally under a wrapper such as /usr/bin/time) and waits
# until it serves; sets LOOPBACK_PORT and LOOPBACK_COORDINATOR.
loopback_start_coordinator() {
  local wrapper=()
  while [[ $# -gt 0 && $1 != "--" ]]; do wrapper+=("$1"); shift; done
  shift
  local mtls=() finish=(--exit-when-finished)
  [[ -n $LOOPBACK_MTLS ]] && mtls=(--client-ca "$LOOPBACK_WORK/certs/ca.pem" --admin-cn "$LOOPBACK_ADMIN_CN")
  [[ -n $LOOPBACK_KEEP_SERVING ]] && finish=()
  # Created here, not by the background job's redirection, so the first poll
  # below never races it (a failed sed would end a `set -e` script).
  : > "$LOOPBACK_WORK/coordinator.log"
  "${wrapper[@]}" "$LOOPBACK_BIN/fedge-coordinator" --generate-dev-tls "$LOOPBACK_WORK/certs" "${mtls[@]}" \
    --signing-key "$LOOPBACK_WORK/signing.pem" --listen 127.0.0.1:0 --rounds-csv "$LOOPBACK_WORK/rounds.csv" \
    "${finish[@]}" "$@" 2> "$LOOPBACK_WORK/coordinator.log" &
  LOOPBACK_COORDINATOR=$!
  LOOPBACK_PIDS+=("$LOOPBACK_COORDINATOR")
  for _ in $(seq 1 1200); do  # the coordinator logs its port once it serves
    LOOPBACK_PORT=$(sed -n 's/.*fedge-coordinator serving .*(port \([0-9]*\)).*/\1/p' "$LOOPBACK_WORK/coordinator.log")
    [[ -n $LOOPBACK_PORT ]] && return 0
    kill -0 "$LOOPBACK_COORDINATOR" 2>/dev/null || break
    sleep 0.1
  done
  echo "fedge-coordinator did not start:" >&2
  cat "$LOOPBACK_WORK/coordinator.log" >&2
  return 1
}

# loopback_start_device INDEX NUM_SHARDS [WRAPPER...] -- [FLAGS...]: one device
# on IID shard INDEX; its pid is appended to LOOPBACK_DEVICES.
LOOPBACK_DEVICES=()
loopback_start_device() {
  local index=$1 shards=$2
  shift 2
  local wrapper=()
  while [[ $# -gt 0 && $1 != "--" ]]; do wrapper+=("$1"); shift; done
  shift
  local mtls=() certs="$LOOPBACK_WORK/certs/devices/device-$index"
  [[ -n $LOOPBACK_MTLS ]] && mtls=(--tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem")
  # The devices train on one thread (--threads 1): OpenBLAS need not start
  # (and spin) a thread per core when LibTorch loads (client/README.md).
  OPENBLAS_NUM_THREADS=1 "${wrapper[@]}" "$LOOPBACK_BIN/fedge-device" --coordinator "127.0.0.1:$LOOPBACK_PORT" \
    --root-cert "$LOOPBACK_WORK/certs/cert.pem" --coordinator-key "$LOOPBACK_WORK/signing.pem.pub" "${mtls[@]}" \
    --device-id "device-$index" --seed $((index + 1)) --shard "$index" --num-shards "$shards" \
    --threads 1 "$@" 2> "$LOOPBACK_WORK/device-$index.log" &
  LOOPBACK_DEVICES+=($!)
  LOOPBACK_PIDS+=($!)
}

# loopback_ctl ARGS...: fedgectl against the coordinator, as the admin
# (mutual TLS, after loopback_keys NUM_DEVICES); its exit code is returned.
loopback_ctl() {
  local admin="$LOOPBACK_WORK/certs/devices/$LOOPBACK_ADMIN_CN"
  "$LOOPBACK_BIN/fedgectl" --coordinator "127.0.0.1:$LOOPBACK_PORT" --root-cert "$LOOPBACK_WORK/certs/cert.pem" \
    --tls-cert "$admin/cert.pem" --tls-key "$admin/key.pem" "$@"
}

# Waits for the coordinator and every device; fails if any exited non-zero.
loopback_wait() {
  local status=0
  wait "$LOOPBACK_COORDINATOR" || { echo "fedge-coordinator exited with $?" >&2; status=1; }
  for d in "${LOOPBACK_DEVICES[@]}"; do wait "$d" || { echo "a fedge-device exited with $?" >&2; status=1; }; done
  if [[ $status -ne 0 ]]; then tail -n 20 "$LOOPBACK_WORK"/*.log >&2; fi
  return $status
}

# fail MESSAGE...: prints "FAIL: MESSAGE" and the end of every log of the
# run (LOOPBACK_FAIL_LINES lines each, default 20), then exits 1. A test may
# define its own after sourcing this file.
fail() {
  echo "FAIL: $*"
  [[ -n ${LOOPBACK_WORK:-} ]] && tail -n "${LOOPBACK_FAIL_LINES:-20}" "$LOOPBACK_WORK"/*.log 2> /dev/null
  exit 1
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds; fails
# the test naming WHAT after SECONDS (a bound, not a pause: no step sleeps
# for its result).
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "no $what within ${limit}s"
    sleep 0.05
  done
}

# check_json FILE PYTHON: runs the assertions PYTHON with `j` the parsed
# JSON of FILE; fails naming them and showing FILE.
check_json() {
  python3 - "$1" "$2" << 'PY' || fail "assertion on $1 failed: $2 ($(cat "$1"))"
import json, sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[2])
PY
}

# csv_column FILE NAME: the values of column NAME (by header), one per line.
csv_column() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } c { print $c }' "$1"
}
