#include "coordinator/store/model_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/strings.h"

namespace fedge {
namespace {

absl::Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  const std::string message = absl::StrCat(AsAbsl(what), " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(absl::StrCat(message, "; free disk space"));
  }
  return absl::UnavailableError(message);
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open directory", dir);
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, "cannot sync directory", dir);
  return absl::OkStatus();
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

std::string ModelFilePath(const std::string& dir, const std::string& sha256) {
  return (std::filesystem::path(dir) / absl::StrCat(sha256, ".fedge")).string();
}

absl::StatusOr<std::string> WriteModelFile(const std::string& dir, std::string_view bytes) {
  const std::string sha = Sha256Hex(bytes);
  const std::string path = ModelFilePath(dir, sha);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return sha;  // same content, already durable
  const std::string tmp = absl::StrCat(path, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", tmp);
  absl::Status written = WriteAll(fd, bytes, tmp);
  if (written.ok() && fsync(fd) != 0) written = ErrnoStatus(errno, "cannot sync", tmp);
  close(fd);
  if (written.ok() && rename(tmp.c_str(), path.c_str()) != 0) written = ErrnoStatus(errno, "cannot rename", tmp);
  if (!written.ok()) {
    unlink(tmp.c_str());
    return written;
  }
  if (absl::Status synced = SyncDir(dir); !synced.ok()) return synced;
  return sha;
}

absl::StatusOr<std::string> ReadModelFile(const std::string& dir, const std::string& sha256, uint64_t version) {
  const std::string path = ModelFilePath(dir, sha256);
  absl::StatusOr<std::string> bytes = ReadFile(path);
  const std::string what_to_do =
      "restore the state directory from a backup (fedge-coordinator --backup), or start a new run with --new-run";
  if (!bytes.ok()) {
    return absl::DataLossError(absl::StrCat("global model version ", version, ": cannot read ", path, " (",
                                            bytes.status().message(), "); ", what_to_do));
  }
  const std::string actual = Sha256Hex(*bytes);
  if (actual != sha256) {
    return absl::DataLossError(absl::StrCat("global model version ", version, ": ", path, " has SHA-256 ", actual,
                                            " but the state database recorded ", sha256,
                                            " (the file was modified or damaged); ", what_to_do));
  }
  return bytes;
}

}  // namespace fedge
