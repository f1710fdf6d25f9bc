#include "simulations/heap_usage.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <optional>

#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#define FEDGE_HAVE_MIMALLOC_H 1
#endif

namespace fedge {
namespace {

#if defined(FEDGE_HAVE_MIMALLOC_H)
// mimalloc's functions, looked up in the running process rather than linked:
// a program that does not link mimalloc keeps glibc's malloc and gets null.
struct Mimalloc {
  decltype(&mi_version) version = nullptr;
  decltype(&mi_heap_get_default) heap_get_default = nullptr;
  decltype(&mi_heap_visit_blocks) heap_visit_blocks = nullptr;
};

template <typename Fn>
Fn Lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// Null unless mimalloc is loaded *and* serves malloc: linked after libc, or
// loaded with dlopen, it would be present but unused.
const Mimalloc* ServingMimalloc() {
  static const std::optional<Mimalloc> serving = []() -> std::optional<Mimalloc> {
    Mimalloc m{.version = Lookup<decltype(&mi_version)>("mi_version"),
               .heap_get_default = Lookup<decltype(&mi_heap_get_default)>("mi_heap_get_default"),
               .heap_visit_blocks = Lookup<decltype(&mi_heap_visit_blocks)>("mi_heap_visit_blocks")};
    auto in_heap = Lookup<decltype(&mi_is_in_heap_region)>("mi_is_in_heap_region");
    if (m.version == nullptr || m.heap_get_default == nullptr || m.heap_visit_blocks == nullptr ||
        in_heap == nullptr) {
      return std::nullopt;
    }
    void* probe = std::malloc(64);
    const bool serves = probe != nullptr && in_heap(probe);
    std::free(probe);
    return serves ? std::optional<Mimalloc>(m) : std::nullopt;
  }();
  return serving ? &*serving : nullptr;
}

// Called once per page area of the heap (`block` null: only areas are asked for).
bool AddAreaInUse(const mi_heap_t*, const mi_heap_area_t* area, void* block, size_t, void* total) {
  if (block == nullptr) *static_cast<int64_t*>(total) += static_cast<int64_t>(area->used * area->block_size);
  return true;
}
#endif  // FEDGE_HAVE_MIMALLOC_H

}  // namespace

int64_t HeapBytesInUse() {
#if defined(FEDGE_HAVE_MIMALLOC_H)
  if (const Mimalloc* mi = ServingMimalloc()) {
    int64_t total = 0;
    mi->heap_visit_blocks(mi->heap_get_default(), /*visit_all_blocks=*/false, &AddAreaInUse, &total);
    return total;
  }
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
#else
  return 0;
#endif
}

HeapScope HeapUsageScope() {
#if defined(FEDGE_HAVE_MIMALLOC_H)
  if (ServingMimalloc() != nullptr) return HeapScope::kThread;
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  return HeapScope::kProcess;
#else
  return HeapScope::kNone;
#endif
}

std::string MallocName() {
#if defined(FEDGE_HAVE_MIMALLOC_H)
  if (const Mimalloc* mi = ServingMimalloc()) {
    const int v = mi->version();  // e.g. 209 for 2.0.9
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." + std::to_string(v % 10);
  }
#endif
#if defined(__GLIBC__)
  return "glibc malloc";
#else
  return "unknown";
#endif
}

}  // namespace fedge
