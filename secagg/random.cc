#include "secagg/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "secagg/internal/crypto.h"

namespace fedge::secagg {
namespace {

class OpenSslRandom final : public Randomness {
 public:
  void Fill(absl::Span<uint8_t> out) override {
    if (out.empty()) return;
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
  }
};

}  // namespace

Randomness* SystemRandom() {
  static OpenSslRandom* random = new OpenSslRandom();
  return random;
}

SeededDrbg::SeededDrbg(uint64_t seed) {
  for (int i = 0; i < 8; ++i) key_[i] = static_cast<uint8_t>(seed >> (8 * i));
  key_[8] = 0x5e;  // domain-separates the DRBG from other uses of a 64-bit seed
}

void SeededDrbg::Fill(absl::Span<uint8_t> out) {
  // Each call starts on a fresh 16-byte block so calls never share keystream.
  internal::AesCtrKeystream(key_, counter_, out);
  counter_ += (out.size() + 15) / 16;
}

}  // namespace fedge::secagg
