# Cross-compiling for 64-bit ARM Linux (Raspberry Pi 4/5, Jetson, ...) with
# Debian's cross toolchain (g++-aarch64-linux-gnu) and arm64 libraries from
# Debian multiarch (`dpkg --add-architecture arm64`; libabsl-dev:arm64, ...),
# which install beside the host's under /usr/lib/aarch64-linux-gnu. Used by
# scripts/cross-aarch64 together with -DFEDGE_DEVICE_ONLY=ON.
#
#   cmake -S . -B build-aarch64 -G Ninja -DFEDGE_DEVICE_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FEDGE_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${FEDGE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FEDGE_CROSS_TRIPLE}-g++)

# Multiarch: the target's libraries and CMake packages live in
# /usr/lib/aarch64-linux-gnu, headers in the shared /usr/include, and the
# cross compiler's own runtime in /usr/aarch64-linux-gnu. Searching only
# below these roots keeps the host's x86-64 libraries out; programs (protoc)
# are the host's.
set(CMAKE_LIBRARY_ARCHITECTURE ${FEDGE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${FEDGE_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must read the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${FEDGE_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)

# Tests run through user-mode emulation (Debian's qemu-user). The target's
# loader and libc must be the multiarch libc6:arm64 (/lib/ld-linux-aarch64.so.1,
# /lib/aarch64-linux-gnu), hence `-L /`: with `-L /usr/aarch64-linux-gnu`
# qemu takes the loader of the cross toolchain's libc6-arm64-cross but the
# loader still finds libc6:arm64's libc.so.6, and when the two packages'
# versions differ (2.36-8cross1 vs 2.36-9+deb12u14 on Debian 12) every
# pthread_create hangs. scripts/cross-aarch64 picks the CPU model with
# QEMU_CPU (a Cortex-A72, then `max` for the dot-product kernels).
find_program(FEDGE_QEMU_AARCH64 qemu-aarch64)
if(FEDGE_QEMU_AARCH64 AND NOT CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FEDGE_QEMU_AARCH64} -L /)
endif()
