// File: ctl/format.h
//
// Cell formatting for fedgectl's tables: times as UTC timestamps and ages
// relative to now, byte counts, fixed-precision numbers, metric maps.
//
// Thread-safety: pure functions.
#ifndef FEDGE_CTL_FORMAT_H_
#define FEDGE_CTL_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/map.h"

namespace fedge::ctl {

// "2026-12-06 07:42:13Z"; "-" for 0 (never).
std::string FormatTime(int64_t unix_micros);
// "12s ago", "3m ago", "2h ago", "4d ago"; "-" for 0 (never).
std::string FormatAge(int64_t unix_micros, absl::Time now);
// "812 B", "6.8 KiB", "1.2 MiB".
std::string FormatBytes(uint64_t bytes);
// `value` with `digits` decimals.
std::string FormatFixed(double value, int digits);
// "a=1.5 b=2" in key order, numbers with up to 4 significant decimals; "-" when empty.
std::string FormatMetrics(const google::protobuf::Map<std::string, double>& metrics);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_FORMAT_H_
