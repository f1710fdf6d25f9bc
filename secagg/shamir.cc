#include "secagg/shamir.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace fedge::secagg {
namespace {

uint64_t Reduce(unsigned __int128 v) {
  // 2^61 = 1 (mod p): fold the high bits onto the low ones twice.
  uint64_t lo = static_cast<uint64_t>(v & kFieldPrime);
  uint64_t hi = static_cast<uint64_t>(v >> 61);
  uint64_t r = lo + hi;  // products of field elements are < 2^122, so hi < 2^61 and r < 2^62
  r = (r & kFieldPrime) + (r >> 61);
  return r >= kFieldPrime ? r - kFieldPrime : r;
}

uint64_t Add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= kFieldPrime ? r - kFieldPrime : r;
}
uint64_t Sub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kFieldPrime - b; }
uint64_t Mul(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) * b); }

uint64_t Pow(uint64_t base, uint64_t exp) {
  uint64_t r = 1;
  for (; exp != 0; exp >>= 1, base = Mul(base, base)) {
    if (exp & 1) r = Mul(r, base);
  }
  return r;
}
uint64_t Inverse(uint64_t a) { return Pow(a, kFieldPrime - 2); }

uint64_t RandomElement(Randomness& random) {
  for (;;) {  // rejection sampling: uniform over [0, p)
    uint64_t v = 0;
    random.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), sizeof(v)));
    v &= kFieldPrime;
    if (v < kFieldPrime) return v;
  }
}

uint64_t Evaluate(absl::Span<const uint64_t> coefficients, uint64_t x) {
  uint64_t r = 0;
  for (size_t i = coefficients.size(); i-- > 0;) r = Add(Mul(r, x), coefficients[i]);
  return r;
}

// Lagrange basis values at `at` for the points xs: l_j(at).
std::vector<uint64_t> LagrangeAt(absl::Span<const uint64_t> xs, uint64_t at) {
  std::vector<uint64_t> basis(xs.size());
  for (size_t j = 0; j < xs.size(); ++j) {
    uint64_t num = 1, den = 1;
    for (size_t m = 0; m < xs.size(); ++m) {
      if (m == j) continue;
      num = Mul(num, Sub(at, xs[m]));
      den = Mul(den, Sub(xs[j], xs[m]));
    }
    basis[j] = Mul(num, Inverse(den));
  }
  return basis;
}

absl::Status CheckShares(absl::Span<const ShamirShare> shares, uint32_t threshold, size_t elements) {
  if (threshold < 1) return absl::InvalidArgumentError("secagg: Shamir threshold must be at least 1");
  if (shares.size() < threshold) {
    return absl::FailedPreconditionError(
        absl::StrCat("secagg: ", shares.size(), " shares cannot reconstruct a secret of threshold ", threshold));
  }
  absl::flat_hash_set<uint64_t> seen;
  for (const ShamirShare& share : shares) {
    if (share.x == 0 || share.x >= kFieldPrime || !seen.insert(share.x).second) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: share point ", share.x, " is zero or repeated"));
    }
    if (share.values.size() != elements) {
      return absl::InvalidArgumentError(
          absl::StrCat("secagg: a share has ", share.values.size(), " elements, expected ", elements));
    }
    for (uint64_t v : share.values) {
      if (v >= kFieldPrime) return absl::InvalidArgumentError("secagg: a share value lies outside the field");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(absl::string_view secret, uint32_t threshold,
                                                     absl::Span<const uint32_t> holder_ids, Randomness& random) {
  if (secret.empty()) return absl::InvalidArgumentError("secagg: cannot share an empty secret");
  if (threshold < 1 || threshold > holder_ids.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg: threshold ", threshold, " needs between 1 and ", holder_ids.size(), " holders"));
  }
  const size_t elements = ElementsFor(secret.size());
  std::vector<ShamirShare> shares(holder_ids.size());
  for (size_t h = 0; h < holder_ids.size(); ++h) {
    shares[h].x = uint64_t{holder_ids[h]} + 1;
    shares[h].values.resize(elements);
  }
  std::vector<uint64_t> coefficients(threshold);
  for (size_t e = 0; e < elements; ++e) {
    uint64_t chunk = 0;
    for (size_t b = 0; b < kBytesPerElement && e * kBytesPerElement + b < secret.size(); ++b) {
      chunk |= uint64_t{static_cast<uint8_t>(secret[e * kBytesPerElement + b])} << (8 * b);
    }
    coefficients[0] = chunk;
    for (size_t c = 1; c < threshold; ++c) coefficients[c] = RandomElement(random);
    for (ShamirShare& share : shares) share.values[e] = Evaluate(coefficients, share.x);
  }
  OPENSSL_cleanse(coefficients.data(), coefficients.size() * sizeof(uint64_t));  // they determine the secret
  return shares;
}

absl::StatusOr<std::string> ShamirReconstruct(absl::Span<const ShamirShare> shares, uint32_t threshold,
                                              size_t secret_bytes) {
  const size_t elements = ElementsFor(secret_bytes);
  if (absl::Status s = CheckShares(shares, threshold, elements); !s.ok()) return s;
  std::vector<uint64_t> xs;
  for (size_t j = 0; j < threshold; ++j) xs.push_back(shares[j].x);
  const std::vector<uint64_t> at_zero = LagrangeAt(xs, 0);
  // Every extra share must lie on the polynomial the first t define.
  std::vector<std::vector<uint64_t>> at_extra;
  for (size_t j = threshold; j < shares.size(); ++j) at_extra.push_back(LagrangeAt(xs, shares[j].x));

  std::string secret(secret_bytes, '\0');
  for (size_t e = 0; e < elements; ++e) {
    uint64_t chunk = 0;
    for (size_t j = 0; j < threshold; ++j) chunk = Add(chunk, Mul(at_zero[j], shares[j].values[e]));
    for (size_t k = 0; k < at_extra.size(); ++k) {
      uint64_t predicted = 0;
      for (size_t j = 0; j < threshold; ++j) predicted = Add(predicted, Mul(at_extra[k][j], shares[j].values[e]));
      if (predicted != shares[threshold + k].values[e]) {
        return absl::DataLossError("secagg: Shamir shares are inconsistent (a holder sent a corrupted share)");
      }
    }
    const size_t begin = e * kBytesPerElement;
    const size_t width = std::min(kBytesPerElement, secret_bytes - begin);
    if ((chunk >> (8 * width)) != 0) return absl::DataLossError("secagg: a reconstructed chunk is out of range");
    for (size_t b = 0; b < width; ++b) secret[begin + b] = static_cast<char>(chunk >> (8 * b));
  }
  return secret;
}

}  // namespace fedge::secagg
