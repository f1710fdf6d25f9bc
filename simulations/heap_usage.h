// File: simulations/heap_usage.h
//
// Bytes the process's heap holds, to measure what a simulated population
// costs per device (the memory it keeps for devices that are not sampled).
// glibc's mallinfo2: blocks in use on the heap plus mmapped ones. Process
// wide, so a measurement is only meaningful while no other thread allocates.
//
// LibTorch-free. Thread-safe.
#ifndef FEDGE_SIMULATIONS_HEAP_USAGE_H_
#define FEDGE_SIMULATIONS_HEAP_USAGE_H_

#include <cstdint>

namespace fedge {

// Bytes allocated with malloc and not yet freed; 0 where not measurable.
int64_t HeapBytesInUse();

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_HEAP_USAGE_H_
