// File: simulations/heap_usage.h
//
// Bytes the heap holds, to measure what a simulated population costs per
// device (the memory it keeps for devices that are not sampled): the
// difference of two readings around building it.
//
// Which allocator serves malloc is found at run time, so the library forces
// none on the programs that link it:
//  - mimalloc (fedge-sim links it: cmake/FedgeMimalloc.cmake; or preloaded):
//    the blocks in use in the calling thread's heap (mi_heap_visit_blocks
//    over its pages, not its blocks: cheap). mimalloc keeps one heap per
//    thread, so blocks other threads allocated are not seen; its process-wide
//    counters in Debian's release build are committed memory only, in whole
//    segments, far too coarse for a few hundred bytes a device.
//  - glibc: mallinfo2, blocks in use on every arena plus mmapped ones, process
//    wide; meaningful only while no other thread allocates.
//
// LibTorch-free. Thread-safe.
#ifndef FEDGE_SIMULATIONS_HEAP_USAGE_H_
#define FEDGE_SIMULATIONS_HEAP_USAGE_H_

#include <cstdint>
#include <string>

namespace fedge {

enum class HeapScope {
  kNone,     // not measurable: HeapBytesInUse() is always 0
  kThread,   // the calling thread's allocations only (mimalloc)
  kProcess,  // every thread's allocations (glibc)
};

// Bytes allocated with malloc (or operator new) and not yet freed, within
// HeapScope(); 0 where not measurable.
int64_t HeapBytesInUse();

// What HeapBytesInUse() counts in this process.
HeapScope HeapUsageScope();

// The allocator that serves malloc in this process: "mimalloc 2.0.9" (its
// version), "glibc malloc", or "unknown". For reports and logs.
std::string MallocName();

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_HEAP_USAGE_H_
