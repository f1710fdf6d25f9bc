// File: secagg/random.h
//
// The randomness a secure-aggregation session draws its keys, seeds, Shamir
// coefficients and nonces from. Production sessions use `SystemRandom()`
// (OpenSSL RAND_bytes); tests inject a `SeededDrbg` for reproducible runs.
//
// Thread-safety: `SystemRandom()` is safe for concurrent use; a SeededDrbg
// is thread-compatible (one thread at a time).
#ifndef FEDGE_SECAGG_RANDOM_H_
#define FEDGE_SECAGG_RANDOM_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace fedge::secagg {

class Randomness {
 public:
  virtual ~Randomness() = default;
  // Fills `out`. Aborts if the system CSPRNG fails: a session must never go
  // on with predictable secrets.
  virtual void Fill(absl::Span<uint8_t> out) = 0;
};

// OpenSSL's RAND_bytes. Never deleted.
Randomness* SystemRandom();

// AES-128-CTR keystream under a key derived from `seed`: deterministic and
// only as secret as the seed. For tests and benchmarks, never production.
class SeededDrbg final : public Randomness {
 public:
  explicit SeededDrbg(uint64_t seed);
  void Fill(absl::Span<uint8_t> out) override;

 private:
  uint8_t key_[16] = {};
  uint64_t counter_ = 0;  // keystream blocks already used
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_RANDOM_H_
