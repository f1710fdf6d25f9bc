// File: core/malloc_tuning.h
//
// glibc malloc settings for a process that trains step after step on
// glibc's allocator: fedge-device, and fedge-sim when built with
// -DFEDGE_USE_MIMALLOC=OFF. fedge-sim normally allocates with mimalloc
// (cmake/FedgeMimalloc.cmake), where these mallopt calls change nothing.
//
// Why: every training step allocates and frees a few MB of activations and
// gradients. With glibc's defaults the freed memory at the top of the heap
// is handed back to the kernel (trimmed) as soon as it exceeds twice the
// last large allocation, and taken again by the next step, so each page is
// faulted in and zeroed by the kernel again, step after step: the page
// faults, `clear_page_erms` and `unmap_page_range` that issue 17's profile
// shows as a third of a device's CPU. Keeping a bounded amount of freed
// memory for reuse ends that churn: on the loopback benchmark
// (bench/loopback_bench.sh, 2 rounds) the devices' page faults fell from
// 1.67 M to 0.37 M and their CPU from 62 s (15 s system) to 39 s (4 s
// system), at the same peak RSS. Blocks of 16 MiB and more (a device's
// example store and training draw) are still mapped and unmapped whole, so
// what is kept is the steps' small blocks, not the big ones.
//
// In fedge-sim (bench/sim_bench.sh's workload, 2 rounds, `--workers 1`)
// the page faults fell from 1.92 M to 0.37 M; with two workers they stayed
// near 1.5 M, the worker threads' arenas still trimming: mimalloc ended that
// (bench/README.md, "Simulator at scale"). A device process has one training
// thread, and there mimalloc did not help (bench/README.md, "Allocator").
//
// Not for the coordinator: it allocates little per request, and keeping
// memory there raised its peak by 14 MiB for no CPU gain.
//
// Thread-safety: call once, first thing in main, before other threads
// allocate. A no-op outside glibc.
#ifndef FEDGE_CORE_MALLOC_TUNING_H_
#define FEDGE_CORE_MALLOC_TUNING_H_

namespace fedge {

// Keeps up to 64 MiB of freed heap for reuse instead of trimming it, grows
// the heap 16 MiB at a time, and serves blocks below 16 MiB from the heap
// (a fixed mmap threshold also turns off glibc's moving one).
void KeepFreedMemoryForReuse();

}  // namespace fedge

#endif  // FEDGE_CORE_MALLOC_TUNING_H_
