#include "core/random.h"

#include <openssl/rand.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <vector>

#include "core/logging.h"

namespace fedge {
namespace {

class OpenSslRandom final : public SecureRandom {
 public:
  void Fill(absl::Span<uint8_t> out) override {
    if (out.empty()) return;
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      FEDGE_LOG(FATAL) << "OpenSSL RAND_bytes failed: no secure randomness available";
    }
  }
};

}  // namespace

uint64_t DeriveSeed(uint64_t base_seed, uint64_t stream) {
  uint64_t z = base_seed + 0x9e3779b97f4a7c15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SecureRandom::Uniform() {
  uint64_t bits;
  Fill(absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(&bits), sizeof(bits)));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

void SecureRandom::AddGaussianNoise(absl::Span<float> values, double stddev) {
  if (stddev == 0 || values.empty()) return;
  // Draw all uniforms in one call: RAND_bytes per element would dominate.
  const size_t pairs = (values.size() + 1) / 2;
  std::vector<uint64_t> bits(2 * pairs);
  Fill(absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(bits.data()), bits.size() * sizeof(uint64_t)));
  for (size_t p = 0; p < pairs; ++p) {
    // u1 in (0, 1] so log(u1) is finite.
    const double u1 = (static_cast<double>(bits[2 * p] >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(bits[2 * p + 1] >> 11) * 0x1.0p-53;
    const double r = stddev * std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    values[2 * p] += static_cast<float>(r * std::cos(theta));
    if (2 * p + 1 < values.size()) values[2 * p + 1] += static_cast<float>(r * std::sin(theta));
  }
}

SecureRandom* SecureRandom::Default() {
  static auto* rng = new OpenSslRandom();
  return rng;
}

void DeterministicRandom::Fill(absl::Span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t v = gen_();
    const size_t n = std::min(sizeof(v), out.size() - i);
    std::memcpy(out.data() + i, &v, n);
    i += n;
  }
}

}  // namespace fedge
