# FEDGE_DEVICE_ONLY=ON: the LibTorch-free parts a device runs beside its own
# application, with their unit tests, and nothing else:
#   fedge::core (and fedge::proto, messages only: no gRPC services),
#   fedge::inference + fedge-infer + libfedge_infer.so (the C API),
#   fedge::compression (update codecs), fedge::outbox, fedge::drift.
# No LibTorch, gRPC, SQLite, benchmarks or install package. This is what
# scripts/cross-aarch64 cross-builds for aarch64 (README: "Cross-building for
# ARM devices"); it also configures natively. Included from the top-level
# CMakeLists.txt, which returns right after.
set(FEDGE_BUILD_BENCHMARKS OFF CACHE BOOL "Build benchmarks" FORCE)
set(FEDGE_USE_PCH OFF CACHE BOOL "Use a precompiled header for LibTorch targets" FORCE)
if(FEDGE_BUILD_FUZZERS)
  message(FATAL_ERROR "FEDGE_BUILD_FUZZERS needs the full build; configure without FEDGE_DEVICE_ONLY")
endif()

find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
if(FEDGE_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  enable_testing()
endif()

include(cmake/FedgeHelpers.cmake)

add_subdirectory(proto)
add_subdirectory(core)
add_subdirectory(inference)
add_subdirectory(compression)
add_subdirectory(client/drift)
# The outbox is defined in client/ next to the device agent that uses it.
include(client/outbox.cmake)
