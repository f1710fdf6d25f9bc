// File: models/threads.h
//
// One knob for the threads a LibTorch computation uses. Debian's LibTorch
// runs its matrix products in OpenBLAS, whose own thread pool
// torch::set_num_threads does not reach; left at OpenBLAS's default (one
// thread per core), two trainers running side by side on 2 cores each start
// 2 BLAS threads that spin and yield against each other. Measured on
// noniid.toml's first 2 rounds: 83.6 s wall and 74 s of system time with the
// default, 27.1 s and 0.7 s with OpenBLAS pinned to the LibTorch count.
//
// Thread-safety: both counts are process-wide settings; call it from the
// thread that sets up or schedules the computation. Safe to call
// concurrently (the last call wins).
#ifndef FEDGE_MODELS_THREADS_H_
#define FEDGE_MODELS_THREADS_H_

namespace fedge {

// Sets LibTorch's intra-op threads and, when the process runs on OpenBLAS,
// OpenBLAS's threads to `n`. No-op for n <= 0 (keep the defaults).
void SetComputeThreads(int n);

}  // namespace fedge

#endif  // FEDGE_MODELS_THREADS_H_
