#!/usr/bin/env bash
# The binaries linked with mimalloc (cmake/FedgeMimalloc.cmake) really
# allocate with it, in every library: the dynamic linker's own record
# (LD_DEBUG=bindings, every symbol bound at start with LD_BIND_NOW) must bind
# each reference to malloc, free, posix_memalign, operator new and the rest —
# from the program, LibTorch, gRPC, glibc itself — to libmimalloc, and none
# to glibc's or libstdc++'s definitions. A binary linked after libc, or not
# at all, fails here.
#
#   allocator_test.sh BINARY...
set -euo pipefail
(($# > 0)) || { echo "usage: $0 BINARY..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The C allocation functions and the plain and sized forms of operator
# new/delete (mimalloc exports them all).
symbols='malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|_Znwm|_Znam|_ZdlPv|_ZdaPv|_ZdlPvm|_ZdaPvm'

status=0
for bin in "$@"; do
  name=$(basename "$bin")
  # --help only: the process starts, binds every symbol and exits.
  LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/$name" "$bin" --help > /dev/null
  cat "$work/$name".* > "$work/$name.bindings"
  grep -E "normal symbol \`($symbols)'" "$work/$name.bindings" |
    sed -E 's/.*binding file ([^ ]+) \[[0-9]+\] to ([^ ]+) \[[0-9]+\]: normal symbol `([^'"'"']+)'"'"'.*/\3 \1 \2/' \
    > "$work/$name.alloc"
  total=$(wc -l < "$work/$name.alloc")
  elsewhere=$(grep -cv ' [^ ]*/libmimalloc\.so\.[0-9][^ ]*$' "$work/$name.alloc" || true)
  torch=$(grep -cE '^malloc [^ ]*/libtorch_cpu\.so[^ ]* [^ ]*/libmimalloc\.so' "$work/$name.alloc" || true)
  libc=$(grep -cE '^malloc [^ ]*/libc\.so\.6 [^ ]*/libmimalloc\.so' "$work/$name.alloc" || true)
  echo "$name: $total allocator bindings, $elsewhere not to mimalloc; LibTorch's malloc: $torch, glibc's own: $libc"
  if ((total == 0 || elsewhere > 0 || libc == 0)); then
    echo "FAIL: $name does not allocate with mimalloc everywhere:" >&2
    grep -v ' [^ ]*/libmimalloc\.so\.[0-9][^ ]*$' "$work/$name.alloc" | sort | uniq -c | head -20 >&2 || true
    status=1
  fi
  # A binary that trains must have LibTorch's allocations on mimalloc too.
  if grep -q 'libtorch_cpu' "$work/$name.bindings" && ((torch == 0)); then
    echo "FAIL: $name: LibTorch's malloc is not bound to mimalloc" >&2
    status=1
  fi
done
exit $status
