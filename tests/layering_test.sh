#!/usr/bin/env bash
# Checks that module dependencies point downwards (docs/architecture.md):
#   (a) no file in a module below client/ and simulations/ includes from
#       them, and no CMake file there names a client/ or simulations/ target;
#   (b) the LibTorch-free modules (inference/, aggregation/, core/,
#       settings/, secagg/, mqtt/, gateway/, compression/ except compression/model/, and the device's
#       client/data/ and client/drift/) include no LibTorch header;
#   (c) the fedge-coordinator link step (build.ninja, or link.txt with the
#       Makefile generators) takes no library or object from client/ or
#       simulations/;
#   (d) fedgectl (ctl/) is a client of the wire contract only: ctl/ includes
#       nothing from coordinator/, and the fedgectl link step takes no
#       LibTorch and nothing from coordinator/, client/ or simulations/;
#   (e) secagg/ depends on absl and OpenSSL only: it includes no fedge
#       header outside secagg/ except the header-only core/status.h, and
#       nothing from gRPC or protobuf.
#
#   layering_test.sh SOURCE_DIR BUILD_DIR   check the tree (CTest: layering_test)
#   layering_test.sh --self-test            prove each check fails on a crafted
#                                           violation and passes on a clean tree
set -euo pipefail

readonly LOWER_MODULES=(compression coordinator ctl aggregation privacy secagg core models inference settings mqtt)
readonly TORCH_FREE=(inference aggregation compression core settings ctl secagg mqtt gateway client/data client/drift)
readonly UPPER='(client|simulations)'

# (a) Prints every offending line; returns 1 if there is one.
check_upward_includes() {
  local src=$1 found=0 dir
  for dir in "${LOWER_MODULES[@]}"; do
    [[ -d "$src/$dir" ]] || continue
    if grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]${UPPER}/" "$src/$dir" \
         --include='*.h' --include='*.cc' --include='*.cpp'; then
      found=1
    fi
    # CMake comments may name upper targets (to explain why they are not used).
    if grep -rnE "fedge::(client|client_grpc|drift|drift_response|device_data|sim[a-z_]*)\b" "$src/$dir" \
         --include='CMakeLists.txt' --include='*.cmake' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#'; then
      found=1
    fi
  done
  return $found
}

# (b) LibTorch headers: torch/, ATen/, c10/.
check_torch_free() {
  local src=$1 found=0 dir
  for dir in "${TORCH_FREE[@]}"; do
    [[ -d "$src/$dir" ]] || continue
    if grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"](torch|ATen|c10)/" "$src/$dir" \
         --include='*.h' --include='*.cc' --include='*.cpp' --exclude-dir=model; then
      found=1
    fi
  done
  # compression/model/ is the one LibTorch part of compression/; everything
  # else named model/ under these modules is not exempt.
  if [[ -d "$src/compression" ]] && find "$src/inference" "$src/aggregation" "$src/core" -type d -name model \
       2>/dev/null | grep -q .; then
    echo "a model/ folder outside compression/ would escape the LibTorch check" >&2
    found=1
  fi
  return $found
}

# A binary's link step: the Ninja build statement with its indented
# variables, or the Makefile generators' link.txt (under MODULE/).
link_step() {
  local build=$1 binary=$2 module=$3
  if [[ -f "$build/build.ninja" ]]; then
    awk -v bin="$binary" '$1 == "build" && $2 ~ ("(^|/)" bin ":$") && $3 ~ /^CXX_EXECUTABLE_LINKER/ { on = 1; print; next }
         on && /^[ \t]/ { print; next }
         on { exit }' "$build/build.ninja"
  elif [[ -f "$build/$module/CMakeFiles/$binary.dir/link.txt" ]]; then
    cat "$build/$module/CMakeFiles/$binary.dir/link.txt"
  fi
}
coordinator_link_step() { link_step "$1" fedge-coordinator coordinator; }

# (c) Any path component client/ or simulations/ on the link line.
check_coordinator_link() {
  local build=$1 step
  step=$(coordinator_link_step "$build")
  if [[ -z "$step" ]]; then
    echo "no fedge-coordinator link step found in $build (configure the build first)" >&2
    return 1
  fi
  if tr ' ' '\n' <<<"$step" | grep -E "(^|/)${UPPER}/"; then
    echo "fedge-coordinator links the objects above" >&2
    return 1
  fi
  return 0
}

# (d) ctl/ stays a client of proto/ and core/ only.
check_ctl() {
  local src=$1 build=$2 found=0 step
  if [[ -d "$src/ctl" ]] && grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]coordinator/" "$src/ctl" \
       --include='*.h' --include='*.cc'; then
    found=1
  fi
  step=$(link_step "$build" fedgectl ctl)
  if [[ -n "$step" ]] && tr ' ' '\n' <<<"$step" | grep -E "((^|/)(coordinator|client|simulations)/|torch|libc10)"; then
    echo "fedgectl links the objects above" >&2
    found=1
  fi
  return $found
}

# (e) secagg/ stays free of gRPC, protobuf and the rest of fedge.
check_secagg() {
  local src=$1
  [[ -d "$src/secagg" ]] || return 0
  if grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]" "$src/secagg" --include='*.h' --include='*.cc' |
       grep -E "[<\"](grpc|grpcpp|google/protobuf|proto|aggregation|client|compression|coordinator|ctl|inference|metrics|models|privacy|settings|simulations)/|[<\"]core/[^\"]*\"" |
       grep -v '"core/status.h"'; then
    return 1
  fi
  return 0
}

run_checks() {
  local src=$1 build=$2 status=0
  check_upward_includes "$src" || { echo "FAIL (a): lower modules reach up into client/ or simulations/" >&2; status=1; }
  check_torch_free "$src" || { echo "FAIL (b): LibTorch in a LibTorch-free module" >&2; status=1; }
  check_coordinator_link "$build" || { echo "FAIL (c): the coordinator binary links device or simulator code" >&2; status=1; }
  check_ctl "$src" "$build" || { echo "FAIL (d): fedgectl reaches into the coordinator or links LibTorch" >&2; status=1; }
  check_secagg "$src" || { echo "FAIL (e): secagg/ includes more than absl, OpenSSL and core/status.h" >&2; status=1; }
  return $status
}

# Expects `run_checks` on the crafted tree to fail (or pass) with a message.
expect() {
  local want=$1 label=$2 src=$3 build=$4 got=0
  run_checks "$src" "$build" >/dev/null 2>"$scratch/err" || got=1
  if [[ $want == fail && $got == 0 ]]; then echo "self-test: '$label' was not detected" >&2; exit 1; fi
  if [[ $want == pass && $got == 1 ]]; then echo "self-test: '$label' failed:" >&2; cat "$scratch/err" >&2; exit 1; fi
  echo "self-test ok: $label ($want)"
}

self_test() {
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  local src=$scratch/src build=$scratch/build
  mkdir -p "$src"/{core,inference,compression/model,coordinator,client} "$build"
  echo '#include "core/status.h"' >"$src/inference/engine.cc"
  echo '#include <torch/torch.h>' >"$src/compression/model/distillation.cc"
  echo 'fedge_cc_library(NAME coordinator DEPS fedge::core fedge::inference)' >"$src/coordinator/CMakeLists.txt"
  cat >"$build/build.ninja" <<'NINJA'
build bin/fedge-coordinator: CXX_EXECUTABLE_LINKER__fedge-coordinator_Release coordinator/CMakeFiles/fedge-coordinator.dir/coordinator_main.cc.o | inference/libfedge_inference.a /usr/lib/libtorch.so || inference/libfedge_inference.a
  LINK_LIBRARIES = inference/libfedge_inference.a  /usr/lib/x86_64-linux-gnu/libtorch.so
  TARGET_FILE = bin/fedge-coordinator

build bin/fedge-device: CXX_EXECUTABLE_LINKER__fedge-device_Release client/device_main.cc.o | client/libfedge_client.a
NINJA
  expect pass "clean tree (torch only in compression/model, fedge-device may link client/)" "$src" "$build"

  echo '#include "client/inference/engine.h"' >"$src/compression/model/bad.h"
  expect fail "compression/ includes client/" "$src" "$build"
  rm "$src/compression/model/bad.h"
  echo '  #  include <simulations/scenario.h>' >"$src/core/bad.cc"
  expect fail "core/ includes simulations/ (spaced directive)" "$src" "$build"
  rm "$src/core/bad.cc"
  echo '# not fedge::client_grpc: it sits above' >"$src/coordinator/grpc.cmake"
  expect pass "a CMake comment naming fedge::client_grpc" "$src" "$build"
  echo 'fedge_cc_test(NAME t DEPS fedge::client_grpc)' >>"$src/coordinator/grpc.cmake"
  expect fail "coordinator/ CMake links fedge::client_grpc" "$src" "$build"
  rm "$src/coordinator/grpc.cmake"

  echo '#include "torch/script.h"' >"$src/inference/bad.cc"
  expect fail "inference/ includes torch" "$src" "$build"
  rm "$src/inference/bad.cc"
  echo '#include <ATen/ATen.h>' >"$src/compression/codec.cc"
  expect fail "compression/ outside model/ includes ATen" "$src" "$build"
  rm "$src/compression/codec.cc"

  mkdir -p "$src/ctl"
  echo '#include "proto/fedge.pb.h"' >"$src/ctl/commands.cc"
  cat >>"$build/build.ninja" <<'NINJA'

build bin/fedgectl: CXX_EXECUTABLE_LINKER__fedgectl_Release ctl/CMakeFiles/fedgectl.dir/fedgectl_main.cc.o | ctl/libfedge_ctl.a
  LINK_LIBRARIES = ctl/libfedge_ctl.a  core/libfedge_core.a
NINJA
  expect pass "fedgectl links ctl and core" "$src" "$build"
  echo '#include "coordinator/federation.h"' >"$src/ctl/bad.cc"
  expect fail "ctl/ includes coordinator/" "$src" "$build"
  rm "$src/ctl/bad.cc"
  echo '#include <torch/torch.h>' >"$src/ctl/bad.cc"
  expect fail "ctl/ includes torch" "$src" "$build"
  rm "$src/ctl/bad.cc"
  cp "$build/build.ninja" "$scratch/with_ctl.ninja"
  sed -i 's#ctl/libfedge_ctl.a  core#ctl/libfedge_ctl.a /usr/lib/x86_64-linux-gnu/libtorch_cpu.so core#' "$build/build.ninja"
  expect fail "fedgectl links LibTorch" "$src" "$build"
  cp "$scratch/with_ctl.ninja" "$build/build.ninja"
  sed -i 's#ctl/libfedge_ctl.a  core#ctl/libfedge_ctl.a coordinator/libfedge_coordinator.a core#' "$build/build.ninja"
  expect fail "fedgectl links the coordinator library" "$src" "$build"
  cp "$scratch/with_ctl.ninja" "$build/build.ninja"

  mkdir -p "$src/secagg"
  printf '#include "core/status.h"\n#include <openssl/evp.h>\n#include "secagg/params.h"\n' >"$src/secagg/session.cc"
  expect pass "secagg/ includes core/status.h, OpenSSL and itself" "$src" "$build"
  echo '#include <grpcpp/grpcpp.h>' >"$src/secagg/bad.cc"
  expect fail "secagg/ includes gRPC" "$src" "$build"
  echo '#include "core/random.h"' >"$src/secagg/bad.cc"
  expect fail "secagg/ includes core/random.h" "$src" "$build"
  echo '#include "proto/fedge.pb.h"' >"$src/secagg/bad.cc"
  expect fail "secagg/ includes proto/" "$src" "$build"
  rm "$src/secagg/bad.cc"

  cp "$build/build.ninja" "$scratch/good.ninja"
  sed -i 's#  LINK_LIBRARIES = #  LINK_LIBRARIES = client/libfedge_client_grpc.a #' "$build/build.ninja"
  expect fail "fedge-coordinator links client/libfedge_client_grpc.a" "$src" "$build"
  cp "$scratch/good.ninja" "$build/build.ninja"
  sed -i 's#| inference/#| /work/build/client/inference/libfedge_inference.a inference/#' "$build/build.ninja"
  expect fail "fedge-coordinator depends on an absolute client/ path" "$src" "$build"
  rm "$build/build.ninja"
  expect fail "no link step to inspect" "$src" "$build"
  mkdir -p "$build/coordinator/CMakeFiles/fedge-coordinator.dir"
  echo 'c++ main.o -o fedge-coordinator ../inference/libfedge_inference.a' \
    >"$build/coordinator/CMakeFiles/fedge-coordinator.dir/link.txt"
  expect pass "Makefile link.txt, clean" "$src" "$build"
  echo 'c++ main.o -o fedge-coordinator ../client/drift/libfedge_drift.a' \
    >"$build/coordinator/CMakeFiles/fedge-coordinator.dir/link.txt"
  expect fail "Makefile link.txt links client/drift" "$src" "$build"
}

if [[ ${1:-} == --self-test ]]; then
  self_test
  exit 0
fi
if [[ $# -ne 2 ]]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR | --self-test" >&2
  exit 2
fi
run_checks "$1" "$2"
echo "layering ok: lower modules do not include client/ or simulations/, LibTorch-free modules include no torch," \
     "fedge-coordinator links nothing from client/ or simulations/, fedgectl nothing from the coordinator or LibTorch," \
     "secagg/ only absl, OpenSSL and core/status.h"
