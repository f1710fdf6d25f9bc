// The fleet registry through the Federation: what GetStatus, ListDevices,
// GetDevice and ListModels show after registrations, accepted and refused
// updates and reports, how offline is derived, paging, and that the
// registry survives a restart over a real SQLite store.
#include <filesystem>
#include <limits>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "coordinator/federation.h"
#include "coordinator/fleet_view.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/federation_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class FleetRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) /
            absl::StrCat("fleet_", ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    options_.devices_per_round = 2;
    options_.min_devices = 3;
    options_.over_selection = 1.5;  // all 3 selected, 2 accepted close the round
    options_.round_deadline = absl::Minutes(5);
    options_.device_offline_after = absl::Minutes(10);
  }

  void Start(bool durable) {
    federation_.reset();
    store_.reset();
    FederationOptions options = options_;
    if (durable) {
      absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir_});
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
      options.store = store_.get();
    }
    auto f = Federation::Create(options, std::make_unique<FedAvg>(), fedge::testing::TinyModel(), key_, &clock_,
                                nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
  }

  void Register(const std::string& id) {
    proto::RegisterRequest r;
    r.mutable_device()->set_device_id(id);
    r.mutable_device()->set_num_examples(50);
    ASSERT_TRUE(federation_->Register(r).ok());
  }

  absl::StatusOr<proto::UploadResponse> Upload(const std::string& id, float value) {
    proto::PollTaskRequest poll;
    poll.set_device_id(id);
    poll.set_eligible(true);
    absl::StatusOr<proto::PollTaskResponse> p = federation_->PollTask(poll);
    if (!p.ok()) return p.status();
    if (!p->has_task()) return absl::NotFoundError(absl::StrCat(id, " got no task"));
    proto::EncodedUpdate u = fedge::testing::Fp32Update(p->task(), {value, 0, 0, 0});
    (*u.mutable_metrics())["train_loss"] = 0.5;
    proto::UploadRequest r;
    r.set_device_id(id);
    r.set_task_id(p->task().task_id());
    r.set_data(u.SerializeAsString());
    r.set_total_size(r.data().size());
    r.set_final(true);
    return federation_->Upload(r);
  }

  // Round 1: d0 and d2 accepted, d1 refused (non-finite update); d0 reports.
  void RunOneRound() {
    for (const char* id : {"d0", "d1", "d2"}) Register(id);
    ASSERT_TRUE(federation_->Tick().empty());  // opens round 1
    ASSERT_TRUE(Upload("d0", 1).ok());
    absl::StatusOr<proto::UploadResponse> bad = Upload("d1", std::numeric_limits<float>::quiet_NaN());
    ASSERT_FALSE(bad.ok());
    ASSERT_TRUE(Upload("d2", 3).ok());
    ASSERT_EQ(federation_->Tick().size(), 1u);
    proto::DeviceReport report;
    report.set_device_id("d0");
    (*report.mutable_metrics())["local_accuracy"] = 0.75;
    (*report.mutable_metrics())["inference_requests"] = 40;
    report.set_epsilon_spent(0.5);
    ASSERT_TRUE(federation_->Report(report).ok());
  }

  proto::DeviceSummary Device(const std::string& id) {
    absl::StatusOr<proto::DeviceSummary> d = federation_->GetDevice(id);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : proto::DeviceSummary();
  }

  std::string dir_;
  FederationOptions options_;
  SigningKey key_ = *SigningKey::Generate();
  FakeClock clock_;
  std::unique_ptr<SqliteStateStore> store_;
  std::unique_ptr<Federation> federation_;
};

TEST_F(FleetRegistryTest, RecordsAcceptedAndRefusedUpdatesAndReports) {
  Start(/*durable=*/false);
  RunOneRound();
  const proto::DeviceSummary d0 = Device("d0");
  EXPECT_EQ(d0.status(), proto::DEVICE_STATUS_ACTIVE);
  EXPECT_EQ(d0.updates_accepted(), 1u);
  EXPECT_EQ(d0.updates_rejected(), 0u);
  EXPECT_EQ(d0.rounds_joined(), 1u);
  EXPECT_EQ(d0.training_model_version(), 1u);
  EXPECT_EQ(d0.info().num_examples(), 50u);
  EXPECT_EQ(d0.epsilon_spent(), 0.5);
  // Its update's training metrics and its report's.
  EXPECT_THAT(d0.metrics(), UnorderedElementsAre(Pair("train_loss", 0.5), Pair("local_accuracy", 0.75),
                                                 Pair("inference_requests", 40)));
  EXPECT_GT(d0.last_report_unix_micros(), 0);
  EXPECT_EQ(d0.inference_health(), "none");

  const proto::DeviceSummary d1 = Device("d1");
  EXPECT_EQ(d1.updates_accepted(), 0u);
  EXPECT_EQ(d1.updates_rejected(), 1u);
  EXPECT_THAT(d1.last_rejection(), HasSubstr("nan"));
  EXPECT_GT(d1.last_rejection_unix_micros(), 0);
  EXPECT_EQ(d1.training_model_version(), 0u);

  EXPECT_EQ(federation_->GetDevice("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(federation_->NoteDeviceCertificate("nobody", "ab").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(federation_->NoteDeviceCertificate("d0", "ab12").ok());
  EXPECT_EQ(Device("d0").certificate_sha256(), "ab12");
}

TEST_F(FleetRegistryTest, SilentDevicesAreOfflineInEveryView) {
  Start(/*durable=*/false);
  RunOneRound();
  clock_.Advance(absl::Minutes(11));
  Register("d2");  // heard from again
  EXPECT_EQ(Device("d0").status(), proto::DEVICE_STATUS_OFFLINE);
  EXPECT_EQ(Device("d2").status(), proto::DEVICE_STATUS_ACTIVE);

  proto::StatusRequest request;
  request.set_omit_device_maps(true);
  const proto::StatusResponse status = federation_->GetStatus(request);
  EXPECT_EQ(status.devices_by_status().at("offline"), 2u);
  EXPECT_EQ(status.devices_by_status().at("active"), 1u);
  EXPECT_EQ(status.devices_by_status().at("pending"), 0u);
  EXPECT_EQ(status.devices_by_status().at("revoked"), 0u);
  EXPECT_TRUE(status.device_epsilon().empty()) << "omit_device_maps";
  EXPECT_EQ(status.completed_rounds(), 1u);
  EXPECT_EQ(federation_->GetStatus(false).device_epsilon().size(), 1u);

  proto::ListDevicesRequest offline;
  offline.set_status(proto::DEVICE_STATUS_OFFLINE);
  absl::StatusOr<proto::ListDevicesResponse> page = federation_->ListDevices(offline);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->devices_size(), 2);
  EXPECT_EQ(page->devices(0).device_id(), "d0");
  EXPECT_EQ(page->devices(1).device_id(), "d1");
  EXPECT_TRUE(page->next_page_token().empty());
}

TEST_F(FleetRegistryTest, ListDevicesPagesInIdOrder) {
  Start(/*durable=*/false);
  for (int i = 0; i < 7; ++i) Register(absl::StrCat("dev-", i));
  proto::ListDevicesRequest request;
  request.set_page_size(3);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    absl::StatusOr<proto::ListDevicesResponse> page = federation_->ListDevices(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LE(page->devices_size(), 3);
    for (const proto::DeviceSummary& d : page->devices()) seen.push_back(d.device_id());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6"}));
  request.set_page_token("not-a-token");
  EXPECT_EQ(federation_->ListDevices(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_status(proto::DEVICE_STATUS_REVOKED);
  request.clear_page_token();
  EXPECT_EQ(federation_->ListDevices(request)->devices_size(), 0);
}

TEST_F(FleetRegistryTest, APageEndsAtItsByteBudget) {
  Start(/*durable=*/false);
  // 32 attributes of 256 bytes: ~9 KiB per device, so 1 MiB holds ~115.
  for (int i = 0; i < 300; ++i) {
    proto::RegisterRequest r;
    r.mutable_device()->set_device_id(absl::StrCat("dev-", 1000 + i));
    for (int k = 0; k < 32; ++k) (*r.mutable_device()->mutable_attributes())[absl::StrCat("k", k)] = std::string(256, 'v');
    ASSERT_TRUE(federation_->Register(r).ok());
  }
  proto::ListDevicesRequest request;
  request.set_page_size(1000);
  int pages = 0, seen = 0;
  do {
    absl::StatusOr<proto::ListDevicesResponse> page = federation_->ListDevices(request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LT(page->ByteSizeLong(), kMaxDevicePageBytes + 16 * 1024);
    seen += page->devices_size();
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 20);
  EXPECT_EQ(seen, 300);
  EXPECT_GE(pages, 3);
}

TEST_F(FleetRegistryTest, RegistrationAttributesAreChecked) {
  Start(/*durable=*/false);
  proto::RegisterRequest r;
  r.mutable_device()->set_device_id("d0");
  (*r.mutable_device()->mutable_attributes())["blob"] = std::string(100000, 'x');
  EXPECT_EQ(federation_->Register(r).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(federation_->GetDevice("d0").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FleetRegistryTest, ListModelsShowsTheServedVersionAndWhoTrainedOnIt) {
  Start(/*durable=*/false);
  RunOneRound();
  const proto::ListModelsResponse models = federation_->ListModels();
  ASSERT_GE(models.models_size(), 2);
  const proto::ModelSummary& current = models.models(0);
  EXPECT_EQ(current.kind(), "global");
  EXPECT_EQ(current.version(), 2u);
  EXPECT_TRUE(current.current());
  EXPECT_EQ(current.parent_version(), 1u);
  EXPECT_EQ(current.sha256().size(), 64u);
  EXPECT_EQ(current.size_bytes(), federation_->signed_model().size());
  EXPECT_EQ(current.devices(), 0u);  // nobody trained on v2 yet
  const proto::ModelSummary& older = models.models(1);
  EXPECT_EQ(older.kind(), "global");
  EXPECT_EQ(older.version(), 1u);
  EXPECT_FALSE(older.current());
  EXPECT_EQ(older.devices(), 2u);  // d0 and d2
}

TEST_F(FleetRegistryTest, GetStatusHoldsAsManyRoundsAsAsked) {
  Start(/*durable=*/false);
  RunOneRound();
  proto::StatusRequest request;
  request.set_max_rounds(1);
  EXPECT_EQ(federation_->GetStatus(request).recent_rounds_size(), 1);
  request.set_max_rounds(100000);
  EXPECT_EQ(federation_->GetStatus(request).recent_rounds_size(), 1);
}

TEST_F(FleetRegistryTest, TheRegistrySurvivesARestart) {
  Start(/*durable=*/true);
  RunOneRound();
  ASSERT_TRUE(federation_->NoteDeviceCertificate("d0", "cafe").ok());
  federation_->Tick();  // stores the devices changed since the round closed
  Start(/*durable=*/true);
  const proto::DeviceSummary d0 = Device("d0");
  EXPECT_EQ(d0.updates_accepted(), 1u);
  EXPECT_EQ(d0.training_model_version(), 1u);
  EXPECT_EQ(d0.certificate_sha256(), "cafe");
  EXPECT_EQ(d0.metrics().at("local_accuracy"), 0.75);
  EXPECT_EQ(d0.metrics().at("train_loss"), 0.5);
  const proto::DeviceSummary d1 = Device("d1");
  EXPECT_EQ(d1.updates_rejected(), 1u);
  EXPECT_THAT(d1.last_rejection(), HasSubstr("nan"));
}

}  // namespace
}  // namespace fedge
