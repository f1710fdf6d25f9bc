// Unit tests of GrpcTransport's option checks and of its traffic counters
// when nothing answers. Its behaviour against a live coordinator is covered
// end to end by tests/e2e (loopback runs of fedge-device against
// fedge-coordinator).
#include "client/grpc_transport.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

std::string FreshDir(std::string_view name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "fedge_grpc_transport_test_", ::getpid(), "_",
                                       std::string(name));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(GrpcTransportTest, CreateValidatesOptions) {
  GrpcTransportOptions options;
  EXPECT_EQ(CreateGrpcTransport(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.target = "127.0.0.1:1";
  options.root_cert_pem_path = "/nonexistent/cert.pem";
  EXPECT_EQ(CreateGrpcTransport(options).status().code(), absl::StatusCode::kNotFound);
  options.root_cert_pem_path = "";
  options.rpc_timeout = absl::ZeroDuration();
  EXPECT_EQ(CreateGrpcTransport(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.rpc_timeout = absl::Seconds(1);
  options.connect_wait = absl::Seconds(-1);
  EXPECT_EQ(CreateGrpcTransport(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrpcTransportTest, CreateChecksTheClientCertificatePair) {
  const std::string dir = FreshDir("client_pair");
  auto a = IssueDevDeviceCert(dir, "a", dir);
  auto b = IssueDevDeviceCert(dir, "b", dir);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  GrpcTransportOptions options;
  options.target = "127.0.0.1:1";
  options.client_cert_pem_path = a->cert_path;
  const absl::Status half = CreateGrpcTransport(options).status();
  EXPECT_EQ(half.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(half.message()), HasSubstr("both"));
  options.client_key_pem_path = b->key_path;
  const absl::Status mismatch = CreateGrpcTransport(options).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("does not belong"));
  options.client_key_pem_path = dir + "/missing.pem";
  EXPECT_EQ(CreateGrpcTransport(options).status().code(), absl::StatusCode::kNotFound);
  options.client_key_pem_path = a->key_path;
  EXPECT_TRUE(CreateGrpcTransport(options).ok());
  std::filesystem::remove_all(dir);
}

// During an outage every call fails without reaching the coordinator: that
// is no traffic (a device once showed 4.4 MB sent for a 74 KB update).
TEST(GrpcTransportTest, CallsThatReachNobodyCountNoBytes) {
  GrpcTransportOptions options;
  options.target = "127.0.0.1:1";  // nothing listens on port 1
  options.rpc_timeout = absl::Seconds(5);
  options.connect_wait = absl::Milliseconds(100);  // each call waits this long for the connection first
  auto transport = GrpcTransport::Create(options);
  ASSERT_TRUE(transport.ok()) << transport.status();
  proto::UploadRequest request;
  request.set_device_id("device-0");
  request.set_task_id("r1-device-0");
  request.set_data(std::string(70'000, 'u'));
  request.set_total_size(70'000);
  request.set_final(true);
  for (int i = 0; i < 3; ++i) {
    const absl::Status status = (*transport)->Upload(request).status();
    EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  }
  const TransportStats stats = (*transport)->stats();
  EXPECT_EQ(stats.calls, 3u);
  EXPECT_EQ(stats.failed_calls, 3u);
  EXPECT_EQ(stats.bytes_sent, 0u);
  EXPECT_EQ(stats.bytes_received, 0u);
}

}  // namespace
}  // namespace fedge
