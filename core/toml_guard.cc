#include "core/toml_guard.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {
namespace {

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if it is malformed.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return i + k < text.size() ? static_cast<uint8_t>(text[i + k]) : 0; };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  const auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  const auto cont = [&](size_t k) { return in(byte(k), 0x80, 0xbf); };
  if (in(b0, 0xc2, 0xdf)) return cont(1) ? 2 : 0;
  if (in(b0, 0xe0, 0xef)) {
    const uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80, hi = b0 == 0xed ? 0x9f : 0xbf;
    return in(byte(1), lo, hi) && cont(2) ? 3 : 0;
  }
  if (in(b0, 0xf0, 0xf4)) {
    const uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80, hi = b0 == 0xf4 ? 0x8f : 0xbf;
    return in(byte(1), lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

enum class Context { kBare, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

bool AllowsNonAscii(Context c) { return c != Context::kBare && c != Context::kMultiBasic; }

bool StartsWith(std::string_view text, size_t i, std::string_view prefix) {
  return text.substr(i, prefix.size()) == prefix;
}

struct Move {
  Context next;
  size_t consumed;
};

// An escape whose escaped byte is ASCII and not a newline (so line counting
// sees every newline) is consumed whole, so `\"` does not end a string.
bool IsSimpleEscape(std::string_view text, size_t i) {
  return text[i] == '\\' && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) < 0x80 &&
         text[i + 1] != '\n';
}

// What the ASCII byte at text[i] does to the context.
Move Step(std::string_view text, size_t i, Context c) {
  const char ch = text[i];
  switch (c) {
    case Context::kBare:
      if (ch == '#') return {Context::kComment, 1};
      if (StartsWith(text, i, "\"\"\"")) return {Context::kMultiBasic, 3};
      if (StartsWith(text, i, "'''")) return {Context::kMultiLiteral, 3};
      if (ch == '"') return {Context::kBasic, 1};
      if (ch == '\'') return {Context::kLiteral, 1};
      return {c, 1};
    case Context::kComment:
      return {ch == '\n' ? Context::kBare : c, 1};
    case Context::kBasic:
      if (IsSimpleEscape(text, i)) return {c, 2};
      return {(ch == '"' || ch == '\n') ? Context::kBare : c, 1};
    case Context::kLiteral:
      return {(ch == '\'' || ch == '\n') ? Context::kBare : c, 1};
    case Context::kMultiBasic:
      if (IsSimpleEscape(text, i)) return {c, 2};
      if (StartsWith(text, i, "\"\"\"")) return {Context::kBare, 3};
      return {c, 1};
    case Context::kMultiLiteral:
      if (StartsWith(text, i, "'''")) return {Context::kBare, 3};
      return {c, 1};
  }
  return {c, 1};
}

}  // namespace

absl::Status CheckConfigText(std::string_view text, std::string_view source) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": ", text.size(),
                                                   " bytes; a configuration file may have at most ", kMaxConfigBytes));
  }
  Context context = Context::kBare;
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < text.size();) {
    const auto where = [&] { return absl::StrCat(AsAbsl(source), ":", line, ":", i - line_start + 1, ": "); };
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
      const Move move = Step(text, i, context);
      context = move.next;
      i += move.consumed;
      continue;
    }
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return absl::InvalidArgumentError(absl::StrCat(where(), "invalid UTF-8; save the file as UTF-8"));
    if (!AllowsNonAscii(context)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "non-ASCII character outside a comment or a quoted string; configuration files allow non-ASCII "
                   "text only in comments and in \"...\", '...' or '''...''' strings"));
    }
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace fedge
