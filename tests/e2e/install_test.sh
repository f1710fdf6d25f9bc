#!/usr/bin/env bash
# fedge used from another project (issue #21): installs this build into a
# temporary prefix, checks what was installed, then builds and runs the two
# out-of-tree consumers of examples/ against that prefix:
#   - examples/device_app: find_package(fedge), links fedge::client, trains;
#   - examples/infer_app: pkg-config fedge-infer, classifies a signed int8
#     model (written by the build's fedge-infer-c-fixture) and must give the
#     C++ runtime's answer; `ldd` of it shows no LibTorch.
# Checked in the prefix: the CMake package and pkg-config file, binaries,
# every quoted fedge include of an installed header resolves inside the
# prefix, and no internal or test-only header, library or binary is there.
#
#   install_test.sh BUILD_DIR C_API_FIXTURE_BINARY
# The install reuses the build; the examples are one file each.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
fixture_bin=$2
W=$(mktemp -d)
trap '[[ -n ${FEDGE_KEEP_WORK:-} ]] || rm -rf "$W"' EXIT
P=$W/prefix

fail() {
  echo "FAIL: $*"
  exit 1
}

cmake --install "$build" --prefix "$P" > "$W/install.log" || { cat "$W/install.log"; fail "cmake --install"; }
inc=$P/include/fedge
lib=$P/lib

# --- What was installed ------------------------------------------------------
for f in lib/cmake/fedge/fedgeConfig.cmake lib/cmake/fedge/fedgeConfigVersion.cmake \
         lib/cmake/fedge/fedgeTargets.cmake lib/pkgconfig/fedge-infer.pc \
         lib/libfedge_client.a lib/libfedge_inference.a lib/libfedge_coordinator.a lib/libfedge_infer.so \
         include/fedge/client/trainer.h include/fedge/inference/engine.h \
         include/fedge/inference/c_api/fedge_infer.h include/fedge/proto/fedge.pb.h \
         bin/fedge-sim bin/fedge-coordinator bin/fedge-device bin/fedgectl bin/fedge-infer; do
  [[ -e $P/$f ]] || fail "not installed: $f"
done
for f in include/fedge/inference/reference_kernels.h include/fedge/coordinator/federation_impl.h \
         bin/fedge-hostile-device bin/fedge-spool-writer bin/fedge-infer-c-fixture; do
  [[ ! -e $P/$f ]] || fail "installed but internal or test-only: $f"
done
leaked=$(cd "$P" && find . \( -path '*/internal/*' -o -path '*/testing/*' -o -name '*_test*' -o -name '*.cc' \
                              -o -name '*testing*.a' -o -name '*pch*' \) -print)
[[ -z $leaked ]] || fail "installed but internal or test-only: $leaked"

# Every quoted include naming a file of this repository (source or generated)
# must be installed too, or a consumer cannot compile the header.
missing=""
while IFS= read -r hdr; do
  while IFS= read -r dep; do
    if [[ -e $root/$dep || -e $build/$dep ]] && [[ ! -e $inc/$dep ]]; then
      missing+=" ${hdr#$inc/} -> $dep"
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$hdr")
done < <(find "$inc" -name '*.h')
[[ -z $missing ]] || fail "installed headers include headers that are not installed:$missing"
echo "install: $(find "$inc" -name '*.h' | wc -l) headers, $(ls "$lib"/*.a | wc -l) static libraries, $(ls "$P/bin" | wc -l) binaries"

# --- A device application: find_package(fedge), fedge::client -----------------
cmake -S "$root/examples/device_app" -B "$W/device_app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$P" > "$W/device_app.log" 2>&1 || { cat "$W/device_app.log"; fail "configure device_app"; }
cmake --build "$W/device_app" >> "$W/device_app.log" 2>&1 || { cat "$W/device_app.log"; fail "build device_app"; }
"$W/device_app/device_app" > "$W/device_app.out" || { cat "$W/device_app.out"; fail "device_app failed"; }
cat "$W/device_app.out"

# --- An inference-only application: pkg-config fedge-infer -------------------
PKG_CONFIG_PATH="$lib/pkgconfig" cmake -S "$root/examples/infer_app" -B "$W/infer_app" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release > "$W/infer_app.log" 2>&1 || { cat "$W/infer_app.log"; fail "configure infer_app"; }
cmake --build "$W/infer_app" >> "$W/infer_app.log" 2>&1 || { cat "$W/infer_app.log"; fail "build infer_app"; }
app=$W/infer_app/infer_app
mkdir "$W/fixture"
"$fixture_bin" "$W/fixture"
out=$("$app" "$W/fixture/key.pub.pem" "$W/fixture/student_v1.fedge" "$W/fixture/input.f32") || fail "infer_app failed"
echo "infer_app: $out"
read -r expected_label _ < "$W/fixture/expected.txt"
[[ $out == "version 1 label $expected_label p "* ]] || fail "infer_app answered '$out', expected label $expected_label"
# A tampered model is refused through the installed library too.
if "$app" "$W/fixture/key.pub.pem" "$W/fixture/tampered.fedge" "$W/fixture/input.f32" 2> "$W/tampered.err"; then
  fail "infer_app accepted a tampered model"
fi

ldd "$app" > "$W/ldd.txt"
grep -q "libfedge_infer.so.* => $lib/" "$W/ldd.txt" || { cat "$W/ldd.txt"; fail "infer_app does not use the installed libfedge_infer"; }
# By library name (the first field; addresses may contain "c10").
if awk '{print $1}' "$W/ldd.txt" | grep -Eq '^lib(torch|c10|caffe2|shm)'; then
  cat "$W/ldd.txt"
  fail "the inference-only application loads LibTorch"
fi
echo "ldd infer_app: $(wc -l < "$W/ldd.txt") libraries, no LibTorch"
echo "PASS"
