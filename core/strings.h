// File: core/strings.h
//
// Debian 12's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// `absl::string_view` is a distinct type from `std::string_view`. fedge's
// own APIs use std::string_view; `AsAbsl` adapts one at the calls into
// abseil (StrCat, StrJoin, Status constructors, flat_hash lookups).
#ifndef FEDGE_CORE_STRINGS_H_
#define FEDGE_CORE_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace fedge {

inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace fedge

#endif  // FEDGE_CORE_STRINGS_H_
