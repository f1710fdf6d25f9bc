#include "core/tls.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
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

// extendedKeyUsage and CA bits of a PEM certificate, read with OpenSSL
// directly so the test does not trust the code under test.
struct CertBits {
  uint32_t extended_key_usage = 0;
  bool is_ca = false;
};
CertBits ReadCertBits(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_NE(cert, nullptr);
  if (cert == nullptr) return {};
  CertBits bits{X509_get_extended_key_usage(cert), X509_check_ca(cert) != 0};
  X509_free(cert);
  return bits;
}

TEST(TlsTest, DevCaIssuesClientCertificatesThatVerifyOnlyAgainstIt) {
  auto ca = GenerateDevCa();
  auto other_ca = GenerateDevCa("another CA");
  ASSERT_TRUE(ca.ok() && other_ca.ok()) << ca.status() << other_ca.status();
  EXPECT_TRUE(ReadCertBits(ca->cert_chain_pem).is_ca);
  auto device = IssueClientCert(*ca, "dev-1");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE(CheckKeyCertPair(*device).ok()) << CheckKeyCertPair(*device);
  EXPECT_NE(device->private_key_pem, ca->private_key_pem);

  EXPECT_TRUE(VerifyClientCert(device->cert_chain_pem, ca->cert_chain_pem).ok())
      << VerifyClientCert(device->cert_chain_pem, ca->cert_chain_pem);
  EXPECT_EQ(*CertCommonName(device->cert_chain_pem), "dev-1");
  const CertBits bits = ReadCertBits(device->cert_chain_pem);
  EXPECT_TRUE(bits.extended_key_usage & XKU_SSL_CLIENT) << "extendedKeyUsage clientAuth";
  EXPECT_FALSE(bits.extended_key_usage & XKU_SSL_SERVER);
  EXPECT_FALSE(bits.is_ca);

  const absl::Status foreign = VerifyClientCert(device->cert_chain_pem, other_ca->cert_chain_pem);
  EXPECT_EQ(foreign.code(), absl::StatusCode::kPermissionDenied) << foreign;
  // A bundle of trusted CAs works when any of them issued the certificate.
  EXPECT_TRUE(VerifyClientCert(device->cert_chain_pem, other_ca->cert_chain_pem + ca->cert_chain_pem).ok());
  // A CA that did not sign this certificate, even under the same name, fails.
  auto impostor = GenerateDevCa();
  ASSERT_TRUE(impostor.ok());
  EXPECT_EQ(VerifyClientCert(device->cert_chain_pem, impostor->cert_chain_pem).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(TlsTest, ServerCertificateIsNotAClientCertificate) {
  auto server = GenerateSelfSignedCert();
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(*CertCommonName(server->cert_chain_pem), SelfSignedCertOptions().common_name);
  // Trusted as its own root, it still lacks clientAuth.
  EXPECT_EQ(VerifyClientCert(server->cert_chain_pem, server->cert_chain_pem).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(IssueClientCert(*server, "dev-1").status().code(), absl::StatusCode::kInvalidArgument)
      << "a leaf certificate cannot act as a CA";
}

TEST(TlsTest, IssueClientCertRejectsBadInput) {
  auto ca = GenerateDevCa();
  auto other = GenerateDevCa();
  ASSERT_TRUE(ca.ok() && other.ok());
  EXPECT_EQ(IssueClientCert(*ca, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueClientCert(*ca, std::string(65, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IssueClientCert(*ca, std::string(64, 'x')).ok());
  EXPECT_EQ(IssueClientCert(*ca, "dev-1", absl::ZeroDuration()).status().code(), absl::StatusCode::kInvalidArgument);
  const TlsKeyCertPair mismatched{other->private_key_pem, ca->cert_chain_pem};
  EXPECT_EQ(IssueClientCert(mismatched, "dev-1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateDevCa("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CertCommonName("garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyClientCert("garbage", ca->cert_chain_pem).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsTest, CertSha256HexIsTheDigestOfTheDerEncoding) {
  auto ca = GenerateDevCa();
  ASSERT_TRUE(ca.ok());
  auto a = IssueClientCert(*ca, "dev-1");
  auto b = IssueClientCert(*ca, "dev-1");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::string> fingerprint = CertSha256Hex(a->cert_chain_pem);
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.status();
  // Recomputed with OpenSSL directly: SHA-256 over i2d_X509.
  BIO* bio = BIO_new_mem_buf(a->cert_chain_pem.data(), static_cast<int>(a->cert_chain_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert, &der);
  X509_free(cert);
  ASSERT_GT(der_len, 0);
  unsigned char digest[32];
  SHA256(der, static_cast<size_t>(der_len), digest);
  OPENSSL_free(der);
  std::string expected;
  for (unsigned char byte : digest) absl::StrAppend(&expected, absl::Hex(byte, absl::kZeroPad2));
  EXPECT_EQ(*fingerprint, expected);
  // Another certificate for the same name has another fingerprint.
  EXPECT_NE(*CertSha256Hex(b->cert_chain_pem), *fingerprint);
  EXPECT_EQ(CertSha256Hex("garbage").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsTest, LoadCaCertsChecksEveryCertificate) {
  const std::string dir = FreshDir("load_ca");
  auto ca = GenerateDevCa();
  ASSERT_TRUE(ca.ok());
  const std::string path = dir + "/ca.pem";
  EXPECT_EQ(LoadCaCerts(path).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(WritePublicFile(path, ca->cert_chain_pem).ok());
  auto loaded = LoadCaCerts(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, ca->cert_chain_pem);
  ASSERT_TRUE(WritePublicFile(path, "not a certificate").ok());
  EXPECT_EQ(LoadCaCerts(path).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string broken_block = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  ASSERT_TRUE(WritePublicFile(path, ca->cert_chain_pem + broken_block).ok());
  const absl::Status broken = LoadCaCerts(path).status();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(broken.message()), HasSubstr("certificate 2 of 2"));
  std::filesystem::remove_all(dir);
}

TEST(TlsTest, IssueDevDeviceCertKeepsTheCaAndWritesAVerifiablePair) {
  const std::string dir = FreshDir("dev_ca");
  auto first = IssueDevDeviceCert(dir, "device-0", dir + "/devices");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->cert_path, dir + "/devices/device-0/cert.pem");
  EXPECT_EQ(Mode(first->key_path), 0600);
  EXPECT_EQ(Mode(dir + "/ca-key.pem"), 0600);
  const std::string ca_pem = *ReadFile(dir + "/ca.pem");

  auto second = IssueDevDeviceCert(dir, "device-1", dir + "/devices");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*ReadFile(dir + "/ca.pem"), ca_pem) << "the CA is kept, so earlier certificates stay valid";
  for (const auto& [files, id] : {std::pair{*first, "device-0"}, std::pair{*second, "device-1"}}) {
    auto pair = LoadKeyCertPair(files.cert_path, files.key_path);
    ASSERT_TRUE(pair.ok()) << pair.status();
    EXPECT_TRUE(VerifyClientCert(pair->cert_chain_pem, ca_pem).ok()) << id;
    EXPECT_EQ(*CertCommonName(pair->cert_chain_pem), id);
  }

  for (const char* bad : {"", "../escape", ".hidden", "a/b", "dev 1"}) {
    EXPECT_EQ(IssueDevDeviceCert(dir, bad, dir + "/devices").status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "'";
  }
  std::filesystem::remove(dir + "/ca-key.pem");
  EXPECT_EQ(IssueDevDeviceCert(dir, "device-2", dir + "/devices").status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "half a CA is refused, not silently replaced";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fedge
