#include "core/toml_guard.h"

#include <string>

#include "core/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(TomlGuardTest, AcceptsAsciiAndNonAsciiInCommentsAndStrings) {
  EXPECT_TRUE(CheckConfigText("a = 1\n# caf\xc3\xa9 \xc2\xa7\nb = \"S\xc3\xa3o Paulo\"\nc = 'd\xc3\xa9j\xc3\xa0'\n"
                              "d = '''\n\xe2\x82\xac\n'''\ne = \"\\\"\xc2\xa7\"\n",
                              "ok.toml")
                  .ok());
}

// Regressions for the inputs that drive Debian's toml++ 3.3.0 into
// __builtin_unreachable: each must be refused before toml++ sees it.
TEST(TomlGuardTest, RefusesNonAsciiWhereTomlppWouldReachUnreachable) {
  for (std::string text : {std::string("s = \"\"\"\\\n\xc2\xa7\"\"\"\n"),  // upstream reproducer (U+00A7)
                           std::string("a = \xc2\xa7\n"),                  // bare value
                           std::string("\xe3\x80\x81 = 1\n"),              // bare key (U+3001)
                           std::string("a = 1 \xe1\x9a\x81\n")}) {         // after a value (U+1681)
    absl::Status s = CheckConfigText(text, "bad.toml");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(s.message()), HasSubstr("non-ASCII")) << text;
    EXPECT_THAT(std::string(s.message()), HasSubstr("bad.toml:")) << text;
    // The parser entry point applies the guard.
    EXPECT_EQ(ConfigFile::Parse(text, "bad.toml").status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(TomlGuardTest, RefusesInvalidUtf8WithLineAndColumn) {
  for (std::string bad : {std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("\xe2\x82"), std::string("\xff")}) {
    absl::Status s = CheckConfigText("a = 1\n# " + bad + "\n", "x.toml");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("x.toml:2:3: invalid UTF-8"));
  }
}

TEST(TomlGuardTest, RefusesHugeText) {
  EXPECT_EQ(CheckConfigText(std::string(kMaxConfigBytes + 1, '#'), "big.toml").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
