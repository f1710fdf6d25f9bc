// File: core/file_util.h
//
// Whole-file reads and crash-safe writes. `WriteFileAtomically` writes to a
// temporary file in the same directory, fsyncs it and renames it over the
// target, then fsyncs the directory, so a crash or power cut leaves either
// the old or the new contents, never a mix, and a reported write is durable.
#ifndef FEDGE_CORE_FILE_UTIL_H_
#define FEDGE_CORE_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge {

// kNotFound if the file does not exist; kUnavailable for other I/O errors.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Creates missing parent directories.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace fedge

#endif  // FEDGE_CORE_FILE_UTIL_H_
