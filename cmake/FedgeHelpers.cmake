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

# Installation (cmake/FedgeInstall.cmake writes the package around it): every
# library made here joins the export set `fedgeTargets` as fedge::<NAME>, with
# its public headers under include/fedge/<folder>/ (the include paths the code
# uses, e.g. "inference/engine.h"). Not installed: test-only libraries
# (TESTONLY, or sources under a testing/ folder) and, of the HDRS, headers
# under internal/ or testing/, *_impl.h and those listed in INTERNAL_HDRS.
include(GNUInstallDirs)
set(FEDGE_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/fedge)
set(FEDGE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/fedge)

# Installs `target` into the export set as fedge::<name>.
function(fedge_install_target target name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  install(TARGETS ${target} EXPORT fedgeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()

# Installs headers (paths relative to the current source dir, or absolute
# below PROJECT_SOURCE_DIR or PROJECT_BINARY_DIR) at their repository path
# under include/fedge/.
function(fedge_install_headers)
  foreach(hdr ${ARGN})
    if(NOT IS_ABSOLUTE ${hdr})
      set(hdr ${CMAKE_CURRENT_SOURCE_DIR}/${hdr})
    endif()
    cmake_path(IS_PREFIX PROJECT_BINARY_DIR ${hdr} NORMALIZE in_build)
    if(in_build)
      file(RELATIVE_PATH rel ${PROJECT_BINARY_DIR} ${hdr})
    else()
      file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${hdr})
    endif()
    get_filename_component(dir ${rel} DIRECTORY)
    install(FILES ${hdr} DESTINATION ${FEDGE_INSTALL_INCLUDEDIR}/${dir})
  endforeach()
endfunction()

# The include directories of a fedge target: the repository and build roots
# in the tree, include/fedge once installed.
function(fedge_target_includes target scope)
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}>
    $<INSTALL_INTERFACE:${FEDGE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
endfunction()

# fedge_cc_library(NAME core SRCS a.cc HDRS a.h [INTERNAL_HDRS b.h] DEPS ...
#                  [TORCH] [WHOLE_ARCHIVE] [TESTONLY])
# Creates target fedge_<NAME> with alias fedge::<NAME>.
#
# WHOLE_ARCHIVE: every executable that links the library links all of its
# objects, referenced or not. For libraries whose files register themselves
# at static initialisation (strategies, codec stages, drift detectors: see
# aggregation/strategy_registry.h), which a plain static link would drop. The
# option group is one SHELL: item so CMake's de-duplication of link options
# keeps each --whole-archive/--no-whole-archive pair intact; installed, it
# names the archive under the install prefix.
function(fedge_cc_library)
  cmake_parse_arguments(ARG "TORCH;WHOLE_ARCHIVE;TESTONLY" "NAME" "SRCS;HDRS;INTERNAL_HDRS;DEPS" ${ARGN})
  set(target fedge_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS} ${ARG_INTERNAL_HDRS})
    fedge_target_includes(${target} PUBLIC)
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    fedge_target_defaults(${target})
    if(ARG_TORCH)
      fedge_use_torch(${target})
    endif()
    if(ARG_WHOLE_ARCHIVE)
      set(archive ${CMAKE_STATIC_LIBRARY_PREFIX}${target}${CMAKE_STATIC_LIBRARY_SUFFIX})
      target_link_options(${target} INTERFACE
        "$<BUILD_INTERFACE:SHELL:-Wl,--whole-archive $<TARGET_FILE:${target}> -Wl,--no-whole-archive>"
        "$<INSTALL_INTERFACE:SHELL:-Wl,--whole-archive $<INSTALL_PREFIX>/${CMAKE_INSTALL_LIBDIR}/${archive} -Wl,--no-whole-archive>")
    endif()
  else()
    add_library(${target} INTERFACE ${ARG_HDRS} ${ARG_INTERNAL_HDRS})
    fedge_target_includes(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(fedge::${ARG_NAME} ALIAS ${target})

  if(NOT ARG_TESTONLY)
    foreach(src ${ARG_SRCS})
      if(src MATCHES "(^|/)testing/")
        set(ARG_TESTONLY TRUE)
      endif()
    endforeach()
  endif()
  if(ARG_TESTONLY)
    return()
  endif()
  fedge_install_target(${target} ${ARG_NAME})
  set(public_hdrs "")
  foreach(hdr ${ARG_HDRS})
    if(NOT hdr MATCHES "(^|/)(internal|testing)/" AND NOT hdr MATCHES "_impl\\.h$")
      list(APPEND public_hdrs ${hdr})
    endif()
  endforeach()
  fedge_install_headers(${public_hdrs})
endfunction()

# fedge_cc_test(NAME foo_test SRCS foo_test.cc DEPS fedge::core [TORCH] [MIMALLOC] [LABELS ...])
# A GoogleTest binary registered with CTest (one CTest entry per binary keeps
# process start-up, which is costly with LibTorch, to one per file).
# MIMALLOC: the test runs on mimalloc, like the binary whose code it tests
# (cmake/FedgeMimalloc.cmake).
function(fedge_cc_test)
  if(NOT FEDGE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "TORCH;MIMALLOC" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  fedge_target_defaults(${ARG_NAME})
  if(ARG_TORCH)
    fedge_use_torch(${ARG_NAME})
  endif()
  if(ARG_MIMALLOC)
    fedge_use_mimalloc(${ARG_NAME})
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} --gtest_brief=1
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                       LABELS "${ARG_LABELS}")
endfunction()

# fedge_cc_binary(NAME fedge-sim SRCS main.cc DEPS ... [TORCH] [MIMALLOC] [TESTONLY])
# Installed into bin/ unless TESTONLY (helpers of the tests). MIMALLOC: the
# process allocates with mimalloc (cmake/FedgeMimalloc.cmake).
function(fedge_cc_binary)
  cmake_parse_arguments(ARG "TORCH;MIMALLOC;TESTONLY" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  fedge_target_defaults(${ARG_NAME})
  if(ARG_TORCH)
    fedge_use_torch(${ARG_NAME})
  endif()
  if(ARG_MIMALLOC)
    fedge_use_mimalloc(${ARG_NAME})
  endif()
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  if(NOT ARG_TESTONLY)
    install(TARGETS ${ARG_NAME} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
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
