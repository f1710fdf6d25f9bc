#include "coordinator/tls.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

std::string FreshDir(std::string_view name) {
  const std::string dir =
      absl::StrCat(::testing::TempDir(), "fedge_tls_test_", ::getpid(), "_", std::string(name));
  std::filesystem::remove_all(dir);
  return dir;
}

int Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 0777);
}

TEST(TlsTest, GeneratedPairIsConsistentAndPem) {
  auto pair = GenerateSelfSignedCert();
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->private_key_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(pair->cert_chain_pem, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_TRUE(CheckKeyCertPair(*pair).ok());
}

TEST(TlsTest, KeyFromAnotherPairIsRejected) {
  auto a = GenerateSelfSignedCert();
  auto b = GenerateSelfSignedCert();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->private_key_pem, b->private_key_pem);
  TlsKeyCertPair mixed{b->private_key_pem, a->cert_chain_pem};
  const absl::Status status = CheckKeyCertPair(mixed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not belong"));
  EXPECT_EQ(CheckKeyCertPair({a->private_key_pem, "garbage"}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsTest, RejectsBadOptions) {
  SelfSignedCertOptions no_names;
  no_names.dns_names.clear();
  no_names.ip_addresses.clear();
  EXPECT_EQ(GenerateSelfSignedCert(no_names).status().code(), absl::StatusCode::kInvalidArgument);
  SelfSignedCertOptions bad_ip;
  bad_ip.ip_addresses = {"300.1.1.1"};
  EXPECT_EQ(GenerateSelfSignedCert(bad_ip).status().code(), absl::StatusCode::kInvalidArgument);
  SelfSignedCertOptions no_time;
  no_time.validity = absl::ZeroDuration();
  EXPECT_EQ(GenerateSelfSignedCert(no_time).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsTest, EnsureDevTlsPairWritesOnceWithPrivateKeyMode) {
  const std::string dir = FreshDir("ensure");
  auto first = EnsureDevTlsPair(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(Mode(first->key_path), 0600);
  EXPECT_EQ(Mode(first->cert_path), 0644);
  auto loaded = LoadKeyCertPair(first->cert_path, first->key_path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  auto second = EnsureDevTlsPair(dir);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(*ReadFile(second->cert_path), loaded->cert_chain_pem) << "an existing pair is kept";

  std::filesystem::remove(first->key_path);
  EXPECT_EQ(EnsureDevTlsPair(dir).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(LoadKeyCertPair(first->cert_path, first->key_path).status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedge
