// The memory floor of a process that links Debian's LibTorch: one tiny
// tensor operation and nothing else. Its peak RSS (GNU time %M) is what
// loading libtorch_cpu and its ~330 shared libraries costs before any of
// fedge's own memory (bench/loopback_bench.sh prints it beside the
// coordinator's and the devices' peaks).
//
//   /usr/bin/time -f %M build/bench/libtorch_rss_floor
#include <torch/torch.h>

int main() { return torch::ones({1}).sum().item<float>() == 1.0f ? 0 : 1; }
