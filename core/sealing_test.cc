#include "core/sealing.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(SealingTest, RoundTripsAndHidesThePlaintext) {
  const SealingKey key = *SealingKey::Generate();
  const std::string secret = "error-feedback residual: 0.125 0.25 0.5";
  absl::StatusOr<std::string> sealed = Seal(key, "device-1/encoder", secret);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("residual"), std::string::npos) << "no plaintext in the record";
  EXPECT_EQ(sealed->size(), secret.size() + 4 + 12 + 16);
  EXPECT_NE(*Seal(key, "device-1/encoder", secret), *sealed) << "a fresh nonce every time";
  absl::StatusOr<std::string> opened = Unseal(key, "device-1/encoder", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, secret);
  EXPECT_EQ(*Unseal(key, "", *Seal(key, "", "")), "");
}

TEST(SealingTest, EveryChangeIsCaught) {
  const SealingKey key = *SealingKey::Generate();
  const std::string sealed = *Seal(key, "purpose", "some state");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string flipped = sealed;
    flipped[i] ^= 0x20;
    EXPECT_EQ(Unseal(key, "purpose", flipped).status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
  EXPECT_EQ(Unseal(key, "other purpose", sealed).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Unseal(*SealingKey::Generate(), "purpose", sealed).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Unseal(key, "purpose", sealed.substr(0, 20)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Unseal(key, "purpose", "").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SealingKey::FromBytes("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FileKeyProviderTest, CreatesAPrivateKeyOnceAndRefusesAnExposedOne) {
  const std::string dir = ::testing::TempDir() + "/file_key_provider";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.key";
  FileKeyProvider provider(path);
  absl::StatusOr<SealingKey> created = provider.Key();
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat st = {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(provider.Key()->bytes(), created->bytes()) << "the same key on the next start";

  chmod(path.c_str(), 0644);
  const absl::Status exposed = provider.Key().status();
  EXPECT_EQ(exposed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(exposed.message()), HasSubstr("chmod 600"));
  chmod(path.c_str(), 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "too short").ok());
  EXPECT_EQ(provider.Key().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fedge
