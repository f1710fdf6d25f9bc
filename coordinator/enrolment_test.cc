// Enrolment end to end below gRPC: tokens (reuse, expiry on a fake clock),
// CSR checks, approval, revocation refusing the device's RPCs, the CRL file,
// and what survives a restart over the SQLite store.
#include "coordinator/enrolment.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/federation_fixtures.h"
#include "core/device_ca.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The number of certificates a CRL file lists (-1 if it does not parse).
int RevokedCount(const std::string& crl_pem) {
  BIO* bio = BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (crl == nullptr) return -1;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  const int n = revoked == nullptr ? 0 : sk_X509_REVOKED_num(revoked);
  X509_CRL_free(crl);
  return n;
}

class EnrolmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) /
            absl::StrCat("enrolment_", ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    ca_ = *GenerateDevCa();
    Start();
  }

  void Start(bool require_approval = false) {
    enrolment_.reset();
    federation_.reset();
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir_});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    FederationOptions options;
    options.min_devices = 1;
    options.devices_per_round = 1;
    options.store = store_.get();
    auto f = Federation::Create(options, std::make_unique<FedAvg>(), fedge::testing::TinyModel(), key_, &clock_,
                                nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
    EnrolmentOptions e{.ca = ca_, .require_approval = require_approval, .crl_path = dir_ + "/crl.pem"};
    auto enrolment = Enrolment::Create(e, store_.get(), federation_.get(), &clock_, &random_);
    ASSERT_TRUE(enrolment.ok()) << enrolment.status();
    enrolment_ = *std::move(enrolment);
  }

  std::vector<std::string> Tokens(uint32_t count, int64_t ttl_seconds = 3600) {
    proto::CreateTokensRequest request;
    request.set_count(count);
    request.set_ttl_seconds(ttl_seconds);
    absl::StatusOr<proto::CreateTokensResponse> made = enrolment_->CreateTokens(request);
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? std::vector<std::string>(made->tokens().begin(), made->tokens().end())
                     : std::vector<std::string>();
  }

  // A device's request; its key is made once per id and kept.
  proto::EnrollRequest Request(const std::string& token, const std::string& id) {
    if (!keys_.contains(id)) keys_[id] = *GenerateDeviceKey();
    proto::EnrollRequest r;
    r.set_token(token);
    r.set_device_id(id);
    r.set_csr_pem(*MakeCsr(keys_[id], id));
    return r;
  }

  absl::Status Register(const std::string& id) {
    proto::RegisterRequest r;
    r.mutable_device()->set_device_id(id);
    r.mutable_device()->set_num_examples(10);
    return federation_->Register(r).status();
  }

  std::string dir_;
  TlsKeyCertPair ca_;
  SigningKey key_ = *SigningKey::Generate();
  FakeClock clock_;
  DeterministicRandom random_{7};
  std::map<std::string, std::string> keys_;
  std::unique_ptr<SqliteStateStore> store_;
  std::unique_ptr<Federation> federation_;
  std::unique_ptr<Enrolment> enrolment_;
};

TEST_F(EnrolmentTest, AValidTokenGetsACertificateOnce) {
  const std::vector<std::string> tokens = Tokens(2);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_NE(tokens[0], tokens[1]);
  EXPECT_EQ(tokens[0].size(), 48u);

  absl::StatusOr<proto::EnrollResponse> issued = enrolment_->Enroll(Request(tokens[0], "dev-a"));
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->state(), proto::ENROLL_STATE_ISSUED);
  EXPECT_TRUE(VerifyClientCert(issued->certificate_pem(), ca_.cert_chain_pem).ok());
  EXPECT_EQ(*CertCommonName(issued->certificate_pem()), "dev-a");
  EXPECT_TRUE(CheckKeyCertPair({keys_["dev-a"], issued->certificate_pem()}).ok());
  EXPECT_EQ(issued->ca_certificate_pem(), ca_.cert_chain_pem);

  // The same device asking again (it lost the answer) gets the same one.
  absl::StatusOr<proto::EnrollResponse> again = enrolment_->Enroll(Request(tokens[0], "dev-a"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->certificate_pem(), issued->certificate_pem());

  // Another device with the used token is refused.
  absl::StatusOr<proto::EnrollResponse> reused = enrolment_->Enroll(Request(tokens[0], "dev-b"));
  EXPECT_TRUE(absl::IsPermissionDenied(reused.status())) << reused.status();
  EXPECT_THAT(reused.status().message(), HasSubstr("already used"));
  // A new key under a taken id is refused too.
  keys_.erase("dev-a");
  EXPECT_TRUE(absl::IsAlreadyExists(enrolment_->Enroll(Request(tokens[1], "dev-a")).status()));
  // The device registers with its id like any other.
  EXPECT_TRUE(Register("dev-a").ok());
}

TEST_F(EnrolmentTest, AnExpiredTokenIsRefused) {
  const std::vector<std::string> tokens = Tokens(1, 60);
  clock_.Advance(absl::Seconds(61));
  absl::StatusOr<proto::EnrollResponse> late = enrolment_->Enroll(Request(tokens[0], "dev-a"));
  EXPECT_TRUE(absl::IsPermissionDenied(late.status())) << late.status();
  EXPECT_THAT(late.status().message(), HasSubstr("expired"));
  EXPECT_THAT(enrolment_->Enroll(Request("0123", "dev-a")).status().message(), HasSubstr("unknown"));
}

TEST_F(EnrolmentTest, TokenRequestsAreBounded) {
  proto::CreateTokensRequest request;
  request.set_count(0);
  request.set_ttl_seconds(3600);
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->CreateTokens(request).status()));
  request.set_count(101);
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->CreateTokens(request).status()));
  request.set_count(1);
  request.set_ttl_seconds(0);
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->CreateTokens(request).status()));
}

TEST_F(EnrolmentTest, HostileRequestsAreRefusedAndLeaveTheTokenUsable) {
  const std::vector<std::string> tokens = Tokens(1);
  proto::EnrollRequest garbage = Request(tokens[0], "dev-a");
  garbage.set_csr_pem(std::string(5000, '\xff'));
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->Enroll(garbage).status()));
  proto::EnrollRequest other_cn = Request(tokens[0], "dev-a");
  other_cn.set_device_id("dev-b");
  EXPECT_THAT(enrolment_->Enroll(other_cn).status().message(), HasSubstr("differs"));
  proto::EnrollRequest bad_id = Request(tokens[0], "dev-a");
  bad_id.set_device_id("../etc");
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->Enroll(bad_id).status()));
  proto::EnrollRequest long_token = Request(std::string(4096, 'a'), "dev-a");
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->Enroll(long_token).status()));
  proto::EnrollRequest no_token = Request("", "dev-a");
  EXPECT_TRUE(absl::IsInvalidArgument(enrolment_->Enroll(no_token).status()));

  EXPECT_TRUE(enrolment_->Enroll(Request(tokens[0], "dev-a")).ok());
}

TEST_F(EnrolmentTest, ARegisteredIdCannotBeTakenOver) {
  ASSERT_TRUE(Register("dev-x").ok());
  const std::vector<std::string> tokens = Tokens(1);
  absl::StatusOr<proto::EnrollResponse> taken = enrolment_->Enroll(Request(tokens[0], "dev-x"));
  EXPECT_TRUE(absl::IsAlreadyExists(taken.status())) << taken.status();
}

TEST_F(EnrolmentTest, WithApprovalADeviceIsPendingUntilApproved) {
  Start(/*require_approval=*/true);
  const std::vector<std::string> tokens = Tokens(1);
  absl::StatusOr<proto::EnrollResponse> pending = enrolment_->Enroll(Request(tokens[0], "dev-a"));
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->state(), proto::ENROLL_STATE_PENDING);
  EXPECT_TRUE(pending->certificate_pem().empty());
  EXPECT_EQ(federation_->GetDevice("dev-a")->status(), proto::DEVICE_STATUS_PENDING);
  EXPECT_EQ(federation_->GetStatus().devices_by_status().at("pending"), 1u);
  absl::Status early = Register("dev-a");
  EXPECT_TRUE(absl::IsPermissionDenied(early)) << early;
  EXPECT_THAT(early.message(), HasSubstr("awaits approval"));
  EXPECT_EQ(enrolment_->Enroll(Request(tokens[0], "dev-a"))->state(), proto::ENROLL_STATE_PENDING);

  // Pending survives a restart.
  Start(/*require_approval=*/true);
  EXPECT_EQ(federation_->GetDevice("dev-a")->status(), proto::DEVICE_STATUS_PENDING);

  EXPECT_TRUE(absl::IsNotFound(enrolment_->Approve("dev-z").status()));
  absl::StatusOr<proto::DeviceSummary> approved = enrolment_->Approve("dev-a");
  ASSERT_TRUE(approved.ok()) << approved.status();
  EXPECT_EQ(approved->status(), proto::DEVICE_STATUS_ACTIVE);
  absl::StatusOr<proto::EnrollResponse> issued = enrolment_->Enroll(Request(tokens[0], "dev-a"));
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->state(), proto::ENROLL_STATE_ISSUED);
  EXPECT_TRUE(VerifyClientCert(issued->certificate_pem(), ca_.cert_chain_pem).ok());
  EXPECT_TRUE(Register("dev-a").ok());
  EXPECT_TRUE(enrolment_->Approve("dev-a").ok());  // idempotent
}

TEST_F(EnrolmentTest, ARevokedDeviceIsRefusedListedInTheCrlAndStaysRevoked) {
  EXPECT_EQ(RevokedCount(*ReadFile(dir_ + "/crl.pem")), 0);  // written at start
  const std::vector<std::string> tokens = Tokens(1);
  ASSERT_TRUE(enrolment_->Enroll(Request(tokens[0], "dev-a")).ok());
  ASSERT_TRUE(Register("dev-a").ok());
  ASSERT_TRUE(Register("dev-cert-only").ok());

  absl::StatusOr<proto::DeviceSummary> revoked = enrolment_->Revoke("dev-a");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->status(), proto::DEVICE_STATUS_REVOKED);
  proto::PollTaskRequest poll;
  poll.set_device_id("dev-a");
  absl::Status refused = federation_->PollTask(poll).status();
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("revoked"));
  EXPECT_EQ(RevokedCount(*ReadFile(dir_ + "/crl.pem")), 1);
  // Revoking again changes nothing; a device without an enrolment is
  // refused too, though no serial of it is known for the CRL.
  EXPECT_TRUE(enrolment_->Revoke("dev-a").ok());
  EXPECT_TRUE(enrolment_->Revoke("dev-cert-only").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Register("dev-cert-only")));
  EXPECT_EQ(RevokedCount(*ReadFile(dir_ + "/crl.pem")), 1);
  EXPECT_TRUE(absl::IsNotFound(enrolment_->Revoke("nobody").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(enrolment_->Approve("dev-a").status()));
  EXPECT_TRUE(absl::IsPermissionDenied(enrolment_->Enroll(Request(tokens[0], "dev-a")).status()));

  // After a restart, and even a new run (which forgets the registry), the
  // enrolled device is still revoked.
  ASSERT_TRUE(store_->StartRun({{"fresh", "run"}}).ok());
  Start();
  EXPECT_EQ(federation_->GetDevice("dev-a")->status(), proto::DEVICE_STATUS_REVOKED);
  EXPECT_TRUE(absl::IsPermissionDenied(Register("dev-a")));
  EXPECT_EQ(RevokedCount(*ReadFile(dir_ + "/crl.pem")), 1);
}

TEST_F(EnrolmentTest, RevokedAndPendingDevicesAreNeverSelected) {
  Start(/*require_approval=*/true);
  const std::vector<std::string> tokens = Tokens(1);
  ASSERT_TRUE(enrolment_->Enroll(Request(tokens[0], "dev-p")).ok());
  federation_->Tick();
  EXPECT_TRUE(federation_->selected_devices().empty());  // the pending device does not count
  ASSERT_TRUE(Register("dev-r").ok());
  ASSERT_TRUE(enrolment_->Revoke("dev-r").ok());
  federation_->Tick();
  EXPECT_TRUE(federation_->selected_devices().empty());
}

TEST_F(EnrolmentTest, ACaThatCannotSignIsRefused) {
  EnrolmentOptions e{.ca = {GenerateDevCa()->private_key_pem, ca_.cert_chain_pem}, .crl_path = dir_ + "/x.pem"};
  absl::StatusOr<std::unique_ptr<Enrolment>> bad =
      Enrolment::Create(e, store_.get(), federation_.get(), &clock_, &random_);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(bad.status().message(), HasSubstr("ca_key"));
}

}  // namespace
}  // namespace fedge
