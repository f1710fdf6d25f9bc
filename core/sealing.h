// File: core/sealing.h
//
// Authenticated encryption of device state at rest: AES-256-GCM (OpenSSL
// EVP) with a fresh random 96-bit nonce per record, and associated data that
// binds a record to its purpose (e.g. device id and codec), so a record
// cannot be moved to another slot unnoticed. What a device keeps on disk
// that derives from its data (the error-feedback residual) is sealed, so a
// stolen disk without the key reveals nothing and a changed byte is caught.
//
// Record layout: "FSL1" | nonce (12) | ciphertext | tag (16).
//
// Keys come from a `KeyProvider`: `FileKeyProvider` keeps 32 random bytes in
// a file only its owner may read (created 0600 if missing); a TPM or PKCS#11
// provider can implement the same interface later.
//
// Thread-safety: SealingKey is immutable; Seal/Unseal are thread-safe.
#ifndef FEDGE_CORE_SEALING_H_
#define FEDGE_CORE_SEALING_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge {

class SealingKey {
 public:
  static constexpr size_t kSize = 32;
  // kInvalidArgument unless `bytes` is exactly kSize bytes.
  static absl::StatusOr<SealingKey> FromBytes(std::string_view bytes);
  // A fresh random key (for state that must not outlive the process).
  static absl::StatusOr<SealingKey> Generate();
  const std::string& bytes() const { return bytes_; }

 private:
  explicit SealingKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

// Encrypts and authenticates `plaintext` together with `associated_data`
// (authenticated, not stored). kInternal if OpenSSL fails.
absl::StatusOr<std::string> Seal(const SealingKey& key, std::string_view associated_data,
                                 std::string_view plaintext);
// The plaintext of a sealed record. kDataLoss when the record is truncated,
// not a sealed record, or does not authenticate (altered, another key, or
// other associated data).
absl::StatusOr<std::string> Unseal(const SealingKey& key, std::string_view associated_data,
                                   std::string_view sealed);

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual absl::StatusOr<SealingKey> Key() = 0;
};

// The key in `path`: exactly 32 bytes, readable and writable by its owner
// only. Missing, it is created with a random key (mode 0600). kFailedPrecondition
// for a file group or others may access (with the chmod to fix it);
// kDataLoss for a file of the wrong size.
class FileKeyProvider final : public KeyProvider {
 public:
  explicit FileKeyProvider(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<SealingKey> Key() override;
  // Whether the last Key() created the file: a new key seals nothing yet, so
  // a state file that should exist beside an older key cannot be missing by
  // accident (PrivacyLedger::Open's must_exist).
  bool created() const { return created_; }

 private:
  const std::string path_;
  bool created_ = false;
};

}  // namespace fedge

#endif  // FEDGE_CORE_SEALING_H_
