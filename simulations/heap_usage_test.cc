// HeapBytesInUse under the allocator this binary was linked with. Built twice
// (simulations/CMakeLists.txt): sim_heap_usage_test links mimalloc like
// fedge-sim (FEDGE_EXPECT_MIMALLOC=1 when the build uses it), and
// sim_heap_usage_glibc_test keeps glibc's malloc.
#include "simulations/heap_usage.h"

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

#ifndef FEDGE_EXPECT_MIMALLOC
#error "FEDGE_EXPECT_MIMALLOC must be 0 or 1 (set in simulations/CMakeLists.txt)"
#endif

namespace fedge {
namespace {

constexpr int kBlocks = 1000;
constexpr size_t kBlockSize = 1000;

// Allocates `count` blocks of `size` bytes and touches them, so that the
// compiler cannot drop the allocations.
std::vector<std::unique_ptr<char[]>> Allocate(int count, size_t size) {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < count; ++i) {
    blocks.push_back(std::make_unique<char[]>(size));
    std::memset(blocks.back().get(), i & 0xff, size);
  }
  return blocks;
}

TEST(HeapUsageTest, NamesTheAllocatorThatServesMalloc) {
  if (FEDGE_EXPECT_MIMALLOC) {
    EXPECT_EQ(MallocName().rfind("mimalloc 2.", 0), 0u) << MallocName();
    EXPECT_EQ(HeapUsageScope(), HeapScope::kThread);
  } else {
    EXPECT_EQ(MallocName(), "glibc malloc");
    EXPECT_EQ(HeapUsageScope(), HeapScope::kProcess);
  }
}

TEST(HeapUsageTest, CountsSmallBlocksUntilTheyAreFreed) {
  const int64_t before = HeapBytesInUse();
  auto blocks = Allocate(kBlocks, kBlockSize);
  const int64_t held = HeapBytesInUse() - before;
  // Both allocators round a block up (a size class, a chunk header): at most
  // a few percent here, never less than asked for.
  EXPECT_GE(held, static_cast<int64_t>(kBlocks * kBlockSize));
  EXPECT_LE(held, static_cast<int64_t>(kBlocks * kBlockSize * 11 / 10));
  blocks.clear();
  const int64_t after = HeapBytesInUse() - before;
  EXPECT_LT(after, static_cast<int64_t>(kBlocks * kBlockSize / 10)) << "freed blocks still counted";
}

TEST(HeapUsageTest, CountsLargeBlocks) {
  constexpr size_t kLarge = 48 << 20;  // above glibc's mmap threshold and mimalloc's large-object size
  const int64_t before = HeapBytesInUse();
  auto block = Allocate(1, kLarge);
  const int64_t held = HeapBytesInUse() - before;
  EXPECT_GE(held, static_cast<int64_t>(kLarge));
  EXPECT_LE(held, static_cast<int64_t>(kLarge + (1 << 20)));
}

TEST(HeapUsageTest, SeesOtherThreadsBlocksOnlyWhenProcessWide) {
  const int64_t before = HeapBytesInUse();
  std::vector<std::unique_ptr<char[]>> blocks;
  std::thread([&] { blocks = Allocate(kBlocks, kBlockSize); }).join();
  const int64_t held = HeapBytesInUse() - before;
  if (HeapUsageScope() == HeapScope::kProcess) {
    EXPECT_GE(held, static_cast<int64_t>(kBlocks * kBlockSize));
  } else {
    // The other thread's heap is not this one's (heap_usage.h).
    EXPECT_LT(held, static_cast<int64_t>(kBlocks * kBlockSize / 10));
  }
}

}  // namespace
}  // namespace fedge
