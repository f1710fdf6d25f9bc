// File: fuzz/fuzz_key.h
//
// The Ed25519 key the harnesses and the seed maker sign artifacts with. It
// is PUBLIC and for fuzzing only: it lets the seed maker write artifacts the
// harnesses' verifier accepts, and lets a harness sign fuzzer-made bodies so
// mutations get past the signature to the parsers behind it. Nothing outside
// fuzz/ may trust it.
#ifndef FEDGE_FUZZ_FUZZ_KEY_H_
#define FEDGE_FUZZ_FUZZ_KEY_H_

#include <cstdio>
#include <cstdlib>

#include "core/sealing.h"
#include "core/signing.h"

namespace fedge::fuzz {

inline constexpr char kFuzzSigningKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFaKIEGSZHd9VA0EboVArmnkrQVg9qKAxYMRx+NigrgZ\n"
    "-----END PRIVATE KEY-----\n";

// The fuzzing key, parsed once. Aborts if it does not parse (a build bug).
inline const SigningKey& FuzzSigningKey() {
  static const SigningKey* key = [] {
    absl::StatusOr<SigningKey> k = SigningKey::FromPem(kFuzzSigningKeyPem);
    if (!k.ok()) {
      std::fprintf(stderr, "fuzz key does not parse: %s\n", std::string(k.status().message()).c_str());
      std::abort();
    }
    return new SigningKey(*std::move(k));
  }();
  return *key;
}

// The AES-256 key the outbox harness and its seeds are sealed with, and the
// device they are sealed for. PUBLIC, fuzzing only, like the signing key.
inline constexpr char kFuzzOutboxDevice[] = "fuzz-device";
inline const SealingKey& FuzzSealingKey() {
  static const SealingKey* key = new SealingKey(*SealingKey::FromBytes("fedge public outbox fuzzing key!"));
  return *key;
}

inline const VerifyKey& FuzzVerifyKey() {
  static const VerifyKey* key = new VerifyKey(FuzzSigningKey().verify_key());
  return *key;
}

}  // namespace fedge::fuzz

#endif  // FEDGE_FUZZ_FUZZ_KEY_H_
