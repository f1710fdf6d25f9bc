// File: compression/internal/bytes.h
//
// Little-endian loads and stores for codec payloads. Payload bytes come from
// the network with no alignment guarantee, so every multi-byte read goes
// through memcpy (a single unaligned load on x86/ARM) instead of a cast.
#ifndef FEDGE_COMPRESSION_INTERNAL_BYTES_H_
#define FEDGE_COMPRESSION_INTERNAL_BYTES_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace fedge::compression_internal {

static_assert(std::endian::native == std::endian::little,
              "fedge's codec payloads are little-endian and this host is not");

template <typename T>
inline T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
inline void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Number of blocks of `block` elements covering `m` elements.
inline int64_t NumBlocks(int64_t m, int block) { return (m + block - 1) / block; }

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_BYTES_H_
