// File: core/random.h
//
// Two kinds of randomness, deliberately separate:
//  * a seeded, reproducible generator (`SeededRandom`, a std::mt19937_64)
//    for client sampling, data partitioning and shuffling: the same seed gives
//    the same run;
//  * cryptographically secure randomness (`SecureRandom`) for DP noise and
//    secure-aggregation masks. Production code uses `SecureRandom::Default()`
//    (OpenSSL RAND_bytes); only tests may substitute a deterministic one.
#ifndef FEDGE_CORE_RANDOM_H_
#define FEDGE_CORE_RANDOM_H_

#include <cstdint>
#include <memory>
#include <random>

#include "absl/types/span.h"

namespace fedge {

using SeededRandom = std::mt19937_64;

// Derives an independent seed for stream `stream` from a base seed
// (SplitMix64), so per-device generators do not depend on scheduling order.
uint64_t DeriveSeed(uint64_t base_seed, uint64_t stream);

// Thread-safety: implementations are safe for concurrent use.
class SecureRandom {
 public:
  virtual ~SecureRandom() = default;
  // Fills `out` with random bytes. Aborts if the system CSPRNG fails, since
  // continuing without it would silently void the privacy guarantee.
  virtual void Fill(absl::Span<uint8_t> out) = 0;

  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Adds N(0, stddev^2) noise to every element (Box-Muller on Uniform()).
  void AddGaussianNoise(absl::Span<float> values, double stddev);

  // OpenSSL's RAND_bytes. Never deleted.
  static SecureRandom* Default();
};

// A deterministic stand-in for tests and reproducible research runs: NOT
// cryptographically secure. Thread-compatible (one thread at a time).
class DeterministicRandom final : public SecureRandom {
 public:
  explicit DeterministicRandom(uint64_t seed) : gen_(seed) {}
  void Fill(absl::Span<uint8_t> out) override;

 private:
  SeededRandom gen_;
};

}  // namespace fedge

#endif  // FEDGE_CORE_RANDOM_H_
