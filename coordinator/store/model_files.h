// File: coordinator/store/model_files.h
//
// Content-addressed model files beside the state database: each global
// model artifact is written once to `<dir>/<sha256 hex>.fedge` (temporary
// file, fsync, rename, fsync of the directory), and the database records
// only its hash. Reading re-hashes the bytes, so a file that was modified,
// truncated or swapped is caught at start-up instead of being served.
//
// Thread-safety: the functions are independent; concurrent writers of the
// same content are harmless (same bytes, atomic rename).
#ifndef FEDGE_COORDINATOR_STORE_MODEL_FILES_H_
#define FEDGE_COORDINATOR_STORE_MODEL_FILES_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fedge {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// The path of the file holding content `sha256` in `dir`.
std::string ModelFilePath(const std::string& dir, const std::string& sha256);

// Writes `bytes` durably under its hash and returns the hash.
// kResourceExhausted when the disk is full.
absl::StatusOr<std::string> WriteModelFile(const std::string& dir, std::string_view bytes);

// Reads the file of `sha256` and checks its hash. kDataLoss naming the file,
// the global `version` it holds and what to do when it is missing or does
// not match.
absl::StatusOr<std::string> ReadModelFile(const std::string& dir, const std::string& sha256, uint64_t version);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_MODEL_FILES_H_
