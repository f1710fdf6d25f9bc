// File: coordinator/store/blob_encoding.h
//
// Compact binary encodings of the few non-protobuf values the state store
// keeps in BLOB columns: the strategy's server state (a list of float
// vectors), a list of strings (a round's cohort), a metric map and a list of
// acknowledged updates (progress_file.h). Layout:
// little-endian u64 counts and lengths followed by the raw elements. The
// decoders check every length against the remaining bytes and return
// kDataLoss naming `what` when the blob is truncated or has trailing bytes.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_COORDINATOR_STORE_BLOB_ENCODING_H_
#define FEDGE_COORDINATOR_STORE_BLOB_ENCODING_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/state_store.h"

namespace fedge {

std::string EncodeFloatVectors(const std::vector<std::vector<float>>& vectors);
absl::StatusOr<std::vector<std::vector<float>>> DecodeFloatVectors(std::string_view blob, std::string_view what);

std::string EncodeStrings(const std::vector<std::string>& strings);
absl::StatusOr<std::vector<std::string>> DecodeStrings(std::string_view blob, std::string_view what);

std::string EncodeMetrics(const std::map<std::string, double>& metrics);
absl::StatusOr<std::map<std::string, double>> DecodeMetrics(std::string_view blob, std::string_view what);

// An acknowledged update without its bytes (task, device, size), appended
// to `out`: a list of them is the concatenation, so it grows by appending.
void AppendAckedEntry(const AckedUpdate& update, std::string& out);
// The entries of such a list, each given `round`.
absl::StatusOr<std::vector<AckedUpdate>> DecodeAckedEntries(std::string_view blob, uint64_t round,
                                                           std::string_view what);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_BLOB_ENCODING_H_
