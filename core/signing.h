// File: core/signing.h
//
// Ed25519 signatures (OpenSSL EVP) for model artifacts. The coordinator holds
// a `SigningKey`; devices pin the matching `VerifyKey` and refuse anything
// that does not verify. Keys are stored as PEM (PKCS#8 private, SPKI public).
//
// Thread-safety: both classes are immutable after creation and safe to share.
#ifndef FEDGE_CORE_SIGNING_H_
#define FEDGE_CORE_SIGNING_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge {

class VerifyKey {
 public:
  // Parses a PEM public key; kInvalidArgument unless it is an Ed25519 key.
  static absl::StatusOr<VerifyKey> FromPem(std::string_view pem);
  // Parses the 32 raw public-key bytes.
  static absl::StatusOr<VerifyKey> FromRaw(std::string_view raw);
  static absl::StatusOr<VerifyKey> FromPemFile(const std::string& path);

  // OK if `signature` is a valid signature of `message`; otherwise
  // kPermissionDenied (the artifact must be refused).
  absl::Status Verify(std::string_view message, std::string_view signature) const;

  const std::string& raw() const { return raw_; }
  // Hex of the first 8 bytes of SHA-256(raw()): names the key in artifacts.
  std::string KeyId() const;
  std::string ToPem() const;

 private:
  friend class SigningKey;
  explicit VerifyKey(std::string raw) : raw_(std::move(raw)) {}
  std::string raw_;  // 32 bytes
};

class SigningKey {
 public:
  static absl::StatusOr<SigningKey> Generate();
  static absl::StatusOr<SigningKey> FromPem(std::string_view pem);
  static absl::StatusOr<SigningKey> FromPemFile(const std::string& path);

  // Returns the 64-byte signature of `message`.
  absl::StatusOr<std::string> Sign(std::string_view message) const;
  VerifyKey verify_key() const;
  std::string ToPem() const;

 private:
  explicit SigningKey(std::string raw_private, std::string raw_public)
      : private_(std::move(raw_private)), public_(std::move(raw_public)) {}
  std::string private_;  // 32-byte seed
  std::string public_;   // 32 bytes
};

}  // namespace fedge

#endif  // FEDGE_CORE_SIGNING_H_
