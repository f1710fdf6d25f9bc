#include "coordinator/report_checks.h"

#include <limits>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

proto::DeviceReport WithMetrics(std::map<std::string, double> metrics) {
  proto::DeviceReport r;
  r.set_device_id("d0");
  for (const auto& [k, v] : metrics) (*r.mutable_metrics())[k] = v;
  return r;
}

TEST(ReportChecksTest, AcceptsWhatADeviceReports) {
  EXPECT_TRUE(CheckDeviceReport(WithMetrics({{"train_loss", 0.4},
                                             {"local_accuracy", 0.8},
                                             {"inference_requests", 120},
                                             {"inference_errors", 1},
                                             {"inference_latency_ms", 0.7}}))
                  .ok());
}

TEST(ReportChecksTest, RefusesOutOfRangeMetricsNamingThem) {
  auto refused = [](std::map<std::string, double> metrics, const std::string& what) {
    absl::Status s = CheckDeviceReport(WithMetrics(std::move(metrics)));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_THAT(s.message(), HasSubstr(what));
  };
  refused({{"train_loss", std::numeric_limits<double>::infinity()}}, "must be finite");
  refused({{"train_loss", 1e13}}, "magnitude must be at most");
  refused({{"inference_latency_ms", -1}}, "'inference_latency_ms' is -1");
  refused({{"inference_requests", -5}}, "inference_requests");
  refused({{"local_accuracy", 1.5}}, "must be in [0, 1]");
  refused({{"inference_requests", 3}, {"inference_errors", 4}}, "exceeds inference_requests");
  refused({{"inference_errors", 1}}, "exceeds inference_requests");
}

TEST(ReportChecksTest, RefusesBadNamesAndEpsilon) {
  EXPECT_EQ(CheckDeviceReport(WithMetrics({{"bad name", 1}})).code(), absl::StatusCode::kInvalidArgument);
  proto::DeviceReport r = WithMetrics({});
  r.set_epsilon_spent(-1);
  EXPECT_EQ(CheckDeviceReport(r).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReportChecksTest, ModelHealthIsChecked) {
  proto::DeviceReport r = WithMetrics({});
  r.mutable_model_health()->set_version(3);
  r.mutable_model_health()->set_outcome(proto::MODEL_HEALTH_CHECK_FAILED);
  r.mutable_model_health()->set_has_accuracy(true);
  r.mutable_model_health()->set_accuracy(0.1);
  EXPECT_TRUE(CheckDeviceReport(r).ok());
  r.mutable_model_health()->set_accuracy(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(CheckDeviceReport(r).message(), HasSubstr("model_health.accuracy"));
  r.mutable_model_health()->set_accuracy(0.5);
  r.mutable_model_health()->set_detail(std::string(201, 'x'));
  EXPECT_THAT(CheckDeviceReport(r).message(), HasSubstr("model_health.detail"));
  r.mutable_model_health()->clear_detail();
  r.mutable_model_health()->set_outcome(static_cast<proto::ModelHealthOutcome>(42));
  EXPECT_THAT(CheckDeviceReport(r).message(), HasSubstr("model_health.outcome"));
}

TEST(ReportChecksTest, DeviceInfoAttributesAreBounded) {
  proto::DeviceInfo info;
  info.set_device_id("d0");
  (*info.mutable_attributes())["os"] = "linux";
  EXPECT_TRUE(CheckDeviceInfo(info).ok());
  (*info.mutable_attributes())["blob"] = std::string(kMaxAttributeValueBytes + 1, 'x');
  EXPECT_THAT(CheckDeviceInfo(info).message(), HasSubstr("attribute 'blob' has 257 bytes"));
  info.mutable_attributes()->erase("blob");
  (*info.mutable_attributes())["bad key"] = "v";
  EXPECT_EQ(CheckDeviceInfo(info).code(), absl::StatusCode::kInvalidArgument);
  info.mutable_attributes()->clear();
  for (int i = 0; i <= kMaxDeviceAttributes; ++i) (*info.mutable_attributes())[absl::StrCat("k", i)] = std::string(1, 'v');
  EXPECT_THAT(CheckDeviceInfo(info).message(), HasSubstr("33 attributes"));
}

}  // namespace
}  // namespace fedge
