#include "core/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c(0, "123456789"), 0xE3069283u);  // RFC 3720, the CRC-32C check value
  EXPECT_EQ(Crc32c(0, ""), 0u);
  EXPECT_EQ(Crc32c(0, std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
}

TEST(Crc32cTest, ExtendsAcrossPieces) {
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>(i * 7));
  const uint32_t whole = Crc32c(0, bytes);
  for (size_t cut : {0u, 1u, 7u, 8u, 13u, 999u, 1000u}) {
    EXPECT_EQ(Crc32c(Crc32c(0, std::string_view(bytes).substr(0, cut)), std::string_view(bytes).substr(cut)), whole)
        << cut;
  }
}

TEST(Crc32cTest, DetectsAFlippedBit) {
  std::string bytes(4096, 'x');
  const uint32_t before = Crc32c(0, bytes);
  bytes[2000] ^= 4;
  EXPECT_NE(Crc32c(0, bytes), before);
}

}  // namespace
}  // namespace fedge
