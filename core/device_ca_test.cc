#include "core/device_ca.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// A CSR built by hand, so a test can break one property at a time.
struct CsrParts {
  EVP_PKEY* subject_key = nullptr;  // the key the CSR carries
  EVP_PKEY* signing_key = nullptr;  // the key that signs it
  std::vector<std::pair<std::string, std::string>> subject;
};

std::string HandMadeCsr(const CsrParts& parts) {
  X509_REQ* req = X509_REQ_new();
  for (const auto& [field, value] : parts.subject) {
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req, parts.subject_key);
  X509_REQ_sign(req, parts.signing_key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_REQ_free(req);
  return pem;
}

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

class DeviceCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = GenerateDevCa();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    auto key = GenerateDeviceKey();
    ASSERT_TRUE(key.ok()) << key.status();
    key_pem_ = *key;
  }
  TlsKeyCertPair ca_;
  std::string key_pem_;
};

TEST_F(DeviceCaTest, SignedCsrVerifiesAsClientOfTheCa) {
  auto csr = MakeCsr(key_pem_, "dev-1");
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto checked = CheckCsr(*csr, "dev-1");
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->public_key_sha256.size(), 64u);
  // A second CSR of the same key has the same key fingerprint.
  auto again = CheckCsr(*MakeCsr(key_pem_, "dev-1"), "dev-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key_sha256, checked->public_key_sha256);

  auto issued = SignCsr(ca_, *csr, "dev-1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_FALSE(issued->serial_hex.empty());
  EXPECT_TRUE(VerifyClientCert(issued->certificate_pem, ca_.cert_chain_pem).ok());
  EXPECT_EQ(*CertCommonName(issued->certificate_pem), "dev-1");
  // The device's own key goes with the certificate.
  EXPECT_TRUE(CheckKeyCertPair({key_pem_, issued->certificate_pem}).ok());
}

TEST_F(DeviceCaTest, RefusesGarbageAndOversizedInput) {
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string(1000, '\0'),
                                 std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                                             "REQUEST-----\n"),
                                 ca_.cert_chain_pem}) {
    auto checked = CheckCsr(bad, "dev-1");
    EXPECT_TRUE(absl::IsInvalidArgument(checked.status())) << checked.status();
  }
  auto huge = CheckCsr(std::string(kMaxCsrBytes + 1, 'A'), "dev-1");
  EXPECT_THAT(huge.status().message(), HasSubstr("limit"));
}

TEST_F(DeviceCaTest, RefusesWrongKeyTypeAndCurve) {
  Key rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  Key p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_TRUE(rsa && p384);
  for (EVP_PKEY* key : {rsa.get(), p384.get()}) {
    const std::string csr = HandMadeCsr({key, key, {{"CN", "dev-1"}}});
    auto checked = CheckCsr(csr, "dev-1");
    EXPECT_THAT(checked.status().message(), HasSubstr("P-256")) << checked.status();
  }
}

TEST_F(DeviceCaTest, RefusesABadSignature) {
  Key mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Key other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const std::string csr = HandMadeCsr({mine.get(), other.get(), {{"CN", "dev-1"}}});
  auto checked = CheckCsr(csr, "dev-1");
  EXPECT_THAT(checked.status().message(), HasSubstr("signature")) << checked.status();
  EXPECT_FALSE(SignCsr(ca_, csr, "dev-1").ok());
}

TEST_F(DeviceCaTest, RefusesASubjectThatIsNotJustTheDeviceId) {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const std::string two = HandMadeCsr({key.get(), key.get(), {{"CN", "dev-1"}, {"O", "evil"}}});
  EXPECT_THAT(CheckCsr(two, "dev-1").status().message(), HasSubstr("exactly one entry"));
  const std::string org = HandMadeCsr({key.get(), key.get(), {{"O", "dev-1"}}});
  EXPECT_THAT(CheckCsr(org, "dev-1").status().message(), HasSubstr("common name"));
  const std::string other = HandMadeCsr({key.get(), key.get(), {{"CN", "admin"}}});
  EXPECT_THAT(CheckCsr(other, "dev-1").status().message(), HasSubstr("differs"));
  const std::string none = HandMadeCsr({key.get(), key.get(), {}});
  EXPECT_FALSE(CheckCsr(none, "dev-1").ok());
  // A huge subject: either over the size limit or not the device id.
  const std::string huge = HandMadeCsr({key.get(), key.get(), {{"CN", std::string(3000, 'x')}}});
  EXPECT_TRUE(absl::IsInvalidArgument(CheckCsr(huge, "dev-1").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckCsr(huge, std::string(3000, 'x')).status()));
}

TEST_F(DeviceCaTest, RefusesUnsafeDeviceIds) {
  for (const std::string& id : std::vector<std::string>{"", ".hidden", "a/b", "dev 1", std::string(65, 'a')}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CheckDeviceId(id))) << id;
    EXPECT_FALSE(MakeCsr(key_pem_, id).ok()) << id;
  }
  EXPECT_TRUE(CheckDeviceId("Dev_1.a-b").ok());
}

TEST_F(DeviceCaTest, CrlListsTheRevokedSerialsAndIsSignedByTheCa) {
  auto issued = SignCsr(ca_, *MakeCsr(key_pem_, "dev-1"), "dev-1");
  ASSERT_TRUE(issued.ok());
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto crl_pem = MakeCrl(ca_, {{issued->serial_hex, now}, {"0A", now}}, now);
  ASSERT_TRUE(crl_pem.ok()) << crl_pem.status();

  BIO* bio = BIO_new_mem_buf(crl_pem->data(), static_cast<int>(crl_pem->size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(crl, nullptr);
  bio = BIO_new_mem_buf(ca_.cert_chain_pem.data(), static_cast<int>(ca_.cert_chain_pem.size()));
  X509* ca_cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_EQ(X509_CRL_verify(crl, X509_get0_pubkey(ca_cert)), 1);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
  X509_REVOKED* found = nullptr;
  bio = BIO_new_mem_buf(issued->certificate_pem.data(), static_cast<int>(issued->certificate_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_EQ(X509_CRL_get0_by_cert(crl, &found, cert), 1);
  X509_free(cert);
  X509_free(ca_cert);
  X509_CRL_free(crl);

  EXPECT_TRUE(absl::IsInvalidArgument(MakeCrl(ca_, {{"not-hex", now}}, now).status()));
  auto empty = MakeCrl(ca_, {}, now);
  EXPECT_TRUE(empty.ok()) << empty.status();
}

}  // namespace
}  // namespace fedge
