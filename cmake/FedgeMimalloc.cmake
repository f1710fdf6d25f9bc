# mimalloc (Debian's libmimalloc-dev) as the allocator of fedge-sim and of
# the simulator's tests (issue 17). Only executables link it, never a fedge
# library, so a program linking the installed fedge::* libraries keeps its own
# allocator. fedge-device and fedge-coordinator stay on glibc's malloc: with
# mimalloc a device faulted in 18 times more pages and the coordinator peaked
# higher (bench/README.md, "Allocator").
#
# Linked as a shared library, mimalloc replaces malloc, free, posix_memalign,
# operator new/delete and the rest for the whole process: the executable
# lists libmimalloc.so.2 among its needed libraries before libc.so.6 (which
# the compiler driver always adds last), so the dynamic linker binds every
# library's malloc (LibTorch's, gRPC's, glibc's own strdup) to mimalloc.
# tests/e2e/allocator_test.sh checks those bindings in the built fedge-sim.
#
# -DFEDGE_USE_MIMALLOC=OFF builds the same binaries on glibc's malloc (to
# compare); the sanitizer builds always do (ASan must own malloc).
option(FEDGE_USE_MIMALLOC "Link fedge-sim with mimalloc (libmimalloc-dev)" ON)

set(FEDGE_MIMALLOC_ACTIVE OFF)
if(FEDGE_USE_MIMALLOC AND (FEDGE_SANITIZE_ADDRESS OR FEDGE_SANITIZE_UNDEFINED OR FEDGE_BUILD_FUZZERS))
  message(STATUS "fedge: sanitizer build, binaries keep glibc's malloc (not mimalloc)")
elseif(FEDGE_USE_MIMALLOC)
  find_package(mimalloc 2.0 CONFIG QUIET)
  if(NOT mimalloc_FOUND)
    message(FATAL_ERROR
      "mimalloc was not found: fedge-sim links it as its allocator. "
      "Install Debian's libmimalloc-dev (`scripts/setup --deps` installs every dependency), "
      "or configure with -DFEDGE_USE_MIMALLOC=OFF to build fedge-sim on glibc's malloc.")
  endif()
  set(FEDGE_MIMALLOC_ACTIVE ON)
  message(STATUS "fedge: fedge-sim allocates with mimalloc ${mimalloc_VERSION}")
endif()

# fedge_use_mimalloc(target): makes mimalloc the allocator of the executable
# `target` (a no-op when FEDGE_MIMALLOC_ACTIVE is OFF). The fedge_cc_binary
# and fedge_cc_test option MIMALLOC calls it.
function(fedge_use_mimalloc target)
  if(NOT FEDGE_MIMALLOC_ACTIVE)
    return()
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "EXECUTABLE")
    message(FATAL_ERROR "fedge_use_mimalloc(${target}): only executables choose the allocator")
  endif()
  target_link_libraries(${target} PRIVATE mimalloc)
endfunction()
