// File: core/toml_guard.h
//
// A pre-parse check of configuration text, run before it reaches toml++.
// Debian's toml++ 3.3.0 reaches `__builtin_unreachable` (undefined
// behaviour) when its whitespace test meets certain non-ASCII code points,
// for example a bare `§` where a key or value belongs, or `§` after a
// line-ending backslash in a multi-line basic string (toml++ issue #295,
// fixed upstream after 3.3.0). fedge's config files need non-ASCII text
// only in comments and in quoted strings (names, paths), so the guard
// allows exactly that: the text must be valid UTF-8, and non-ASCII bytes
// may appear only in comments, in "..." and '...' strings and in '''...'''
// strings, never in bare positions or in """...""" strings.
//
// Thread-safety: a free function without shared state.
#ifndef FEDGE_CORE_TOML_GUARD_H_
#define FEDGE_CORE_TOML_GUARD_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace fedge {

// Larger files are refused: a configuration is a few kilobytes.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// kInvalidArgument naming `source`, the line and the column for text over
// kMaxConfigBytes, invalid UTF-8, or non-ASCII text outside the places
// listed above. OK otherwise (the text may still be invalid TOML).
absl::Status CheckConfigText(std::string_view text, std::string_view source);

}  // namespace fedge

#endif  // FEDGE_CORE_TOML_GUARD_H_
