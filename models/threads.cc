#include "models/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <atomic>

namespace fedge {
namespace {

using SetBlasThreads = void (*)(int);

// Looked up at run time so the build does not depend on which BLAS
// LibTorch resolves to (update-alternatives may select another one).
SetBlasThreads OpenBlasSetter() {
  static const SetBlasThreads setter =
      reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return setter;
}

}  // namespace

void SetComputeThreads(int n) {
  if (n <= 0) return;
  if (at::get_num_threads() != n) at::set_num_threads(n);
  // OpenBLAS has no getter that is cheap across versions: remember the last value.
  static std::atomic<int> blas_threads{0};
  if (SetBlasThreads set = OpenBlasSetter(); set != nullptr && blas_threads.exchange(n) != n) set(n);
}

}  // namespace fedge
