# Helpers in the style of abseil's absl_cc_library: one library target per
# module folder, exported as fedge::<name>, with explicit dependencies so the
# linker enforces the dependency direction of docs/architecture.md.

set(FEDGE_WARNINGS -Wall -Wextra)
if(FEDGE_WERROR)
  list(APPEND FEDGE_WARNINGS -Werror)
endif()

set(FEDGE_SANITIZERS "")
if(FEDGE_SANITIZE_ADDRESS)
  list(APPEND FEDGE_SANITIZERS -fsanitize=address -fno-omit-frame-pointer)
endif()
if(FEDGE_SANITIZE_UNDEFINED)
  list(APPEND FEDGE_SANITIZERS -fsanitize=undefined -fno-sanitize-recover=undefined)
endif()
# The fuzz build (fuzz/README.md): every fedge target gets libFuzzer's
# coverage instrumentation plus ASan and UBSan; only the harnesses link the
# libFuzzer driver (fedge_fuzzer in fuzz/CMakeLists.txt). Build just the
# `fuzzers` target so nothing that needs LibTorch is compiled.
if(FEDGE_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FEDGE_BUILD_FUZZERS needs clang (libFuzzer): configure with CC=clang CXX=clang++ "
                        "after installing clang and libclang-rt-14-dev (scripts/setup --deps)")
  endif()
  list(APPEND FEDGE_SANITIZERS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer)
endif()

# Applies the project's warning, sanitizer and include settings to a target.
function(fedge_target_defaults target)
  target_compile_options(${target} PRIVATE ${FEDGE_WARNINGS} ${FEDGE_SANITIZERS})
  target_link_options(${target} PRIVATE ${FEDGE_SANITIZERS})
endfunction()

# LibTorch targets share one precompiled header, compiled once in
# fedge_torch_pch and reused by every target that trains or runs Torch.
if(FEDGE_USE_PCH)
  add_library(fedge_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cc)
  target_link_libraries(fedge_torch_pch PUBLIC ${TORCH_LIBRARIES})
  # GCC reuses a PCH only when the consumer's flags match. Every fedge target
  # gets -pthread (so _REENTRANT) through gRPC's re2 dependency of fedge::core.
  target_compile_options(fedge_torch_pch PRIVATE ${FEDGE_WARNINGS} ${FEDGE_SANITIZERS} -pthread)
  target_precompile_headers(fedge_torch_pch PRIVATE <torch/torch.h>)
endif()

function(fedge_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  if(FEDGE_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM fedge_torch_pch)
  endif()
endfunction()

# fedge_cc_library(NAME core SRCS a.cc HDRS a.h DEPS ... [TORCH] [WHOLE_ARCHIVE])
# Creates target fedge_<NAME> with alias fedge::<NAME>.
#
# WHOLE_ARCHIVE: every executable that links the library links all of its
# objects, referenced or not. For libraries whose files register themselves
# at static initialisation (strategies, codec stages, drift detectors: see
# aggregation/strategy_registry.h), which a plain static link would drop. The
# option group is one SHELL: item so CMake's de-duplication of link options
# keeps each --whole-archive/--no-whole-archive pair intact.
function(fedge_cc_library)
  cmake_parse_arguments(ARG "TORCH;WHOLE_ARCHIVE" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target fedge_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    fedge_target_defaults(${target})
    if(ARG_TORCH)
      fedge_use_torch(${target})
    endif()
    if(ARG_WHOLE_ARCHIVE)
      target_link_options(${target} INTERFACE
        "SHELL:-Wl,--whole-archive $<TARGET_FILE:${target}> -Wl,--no-whole-archive")
    endif()
  else()
    add_library(${target} INTERFACE ${ARG_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(fedge::${ARG_NAME} ALIAS ${target})
endfunction()

# fedge_cc_test(NAME foo_test SRCS foo_test.cc DEPS fedge::core [TORCH] [LABELS ...])
# A GoogleTest binary registered with CTest (one CTest entry per binary keeps
# process start-up, which is costly with LibTorch, to one per file).
function(fedge_cc_test)
  if(NOT FEDGE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "TORCH" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  fedge_target_defaults(${ARG_NAME})
  if(ARG_TORCH)
    fedge_use_torch(${ARG_NAME})
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} --gtest_brief=1
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                       LABELS "${ARG_LABELS}")
endfunction()

# fedge_cc_binary(NAME fedge-sim SRCS main.cc DEPS ... [TORCH])
function(fedge_cc_binary)
  cmake_parse_arguments(ARG "TORCH" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  fedge_target_defaults(${ARG_NAME})
  if(ARG_TORCH)
    fedge_use_torch(${ARG_NAME})
  endif()
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# fedge_cc_benchmark(NAME fedavg_benchmark SRCS ... DEPS ... [TORCH])
function(fedge_cc_benchmark)
  if(NOT FEDGE_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "TORCH" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  fedge_target_defaults(${ARG_NAME})
  if(ARG_TORCH)
    fedge_use_torch(${ARG_NAME})
  endif()
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endfunction()
