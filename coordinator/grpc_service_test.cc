// End-to-end tests of the gRPC service: a real CoordinatorServer over TLS on
// a loopback port, a Federation with a tiny fake model and a FakeClock, and
// a device driven by hand through the generated gRPC stub (StubDevice, so
// the coordinator's tests link nothing from client/).
#include "coordinator/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aggregation/fedavg.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/stub_device.h"
#include "core/device_ca.h"
#include "core/artifact.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/signing.h"
#include "core/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kElements = 1000;  // a 4 KB model: several 1 KiB chunks
constexpr char kDevice[] = "device-1";

std::string FreshDir(std::string_view name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "fedge_grpc_service_test_", ::getpid(), "_",
                                       std::string(name));
  std::filesystem::remove_all(dir);
  return dir;
}

ModelParams InitialModel() {
  ModelParams params;
  params.layout = *ParamLayout::Create({TensorSpec{"w", {kElements}}});
  params.values.resize(kElements);
  for (int64_t i = 0; i < kElements; ++i) params.values[i] = 0.001f * static_cast<float>(i);
  return params;
}

// The serialised EncodedUpdate of an fp32 delta for `task`.
std::string Fp32Update(const proto::Task& task, uint64_t layout_id, const std::vector<float>& delta) {
  proto::EncodedUpdate update;
  update.set_round(task.round());
  update.set_task_id(task.task_id());
  update.set_base_version(task.model_version());
  update.set_layout_id(layout_id);
  update.set_num_elements(delta.size());
  update.set_codec("fp32");
  std::string payload(delta.size() * sizeof(float), '\0');
  std::memcpy(payload.data(), delta.data(), payload.size());  // the host is little-endian, like the wire
  update.set_payload(payload);
  update.set_num_examples(50);
  return update.SerializeAsString();
}

class GrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto files = EnsureDevTlsPair(dir_);
    ASSERT_TRUE(files.ok()) << files.status();
    cert_path_ = files->cert_path;
    auto pair = LoadKeyCertPair(files->cert_path, files->key_path);
    ASSERT_TRUE(pair.ok()) << pair.status();
    tls_ = *pair;
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    verify_key_ = key->verify_key().ToPem();

    FederationOptions options;
    options.model_id = "grpc-test";
    options.architecture = "fake";
    options.max_rounds = 1;
    options.min_devices = 1;
    options.devices_per_round = 1;
    options.over_selection = 1;
    options.round_deadline = absl::Minutes(5);
    options.download_chunk_bytes = 1024;
    options.train.set_codec("fp32");
    auto federation = Federation::Create(options, std::make_unique<FedAvg>(), InitialModel(), *std::move(key),
                                         &clock_, /*evaluator=*/nullptr);
    ASSERT_TRUE(federation.ok()) << federation.status();
    federation_ = *std::move(federation);
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::remove_all(FreshDir("other_pair"));
    std::filesystem::remove_all(FreshDir("other_ca"));
  }

  void StartServer(absl::Duration tick_interval = absl::ZeroDuration(), bool exit_when_finished = false) {
    CoordinatorServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.tls = tls_;
    options.client_ca_pem = client_ca_pem_;
    options.admin_common_name = admin_cn_;
    options.state_dir = state_dir_;
    options.enrolment = enrolment_;
    options.tick_interval = tick_interval;
    options.exit_when_finished = exit_when_finished;
    options.on_round = [this](const proto::RoundRecord& record) {
      absl::MutexLock lock(&mu_);
      driver_records_.push_back(record);
    };
    auto server = CoordinatorServer::Start(options, federation_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  // Turns on mutual TLS for the next StartServer(): devices need a
  // certificate from the dev CA in dir_ (created here), and `admin_cn` may
  // call GetStatus.
  void UseMutualTls(const std::string& admin_cn = "") {
    auto ca = EnsureDevCa(dir_);
    ASSERT_TRUE(ca.ok()) << ca.status();
    auto pem = LoadCaCerts(ca->cert_path);
    ASSERT_TRUE(pem.ok()) << pem.status();
    client_ca_pem_ = *pem;
    admin_cn_ = admin_cn;
  }

  // A client certificate for `id` from the dev CA in `ca_dir` (dir_ by
  // default, the CA the server trusts under UseMutualTls()).
  DevTlsFiles DeviceCert(const std::string& id, const std::string& ca_dir = "") {
    auto files = IssueDevDeviceCert(ca_dir.empty() ? dir_ : ca_dir, id, dir_ + "/devices");
    EXPECT_TRUE(files.ok()) << files.status();
    return files.ok() ? *files : DevTlsFiles();
  }

  std::unique_ptr<StubDevice> ConnectAs(const DevTlsFiles& client) {
    return Connect("127.0.0.1", "", &client);
  }

  // An Admin stub over TLS, presenting `client`'s certificate when given.
  std::unique_ptr<proto::Admin::Stub> AdminStub(const DevTlsFiles* client = nullptr) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls_.cert_chain_pem;
    if (client != nullptr) {
      auto pair = LoadKeyCertPair(client->cert_path, client->key_path);
      EXPECT_TRUE(pair.ok()) << pair.status();
      if (pair.ok()) {
        ssl.pem_cert_chain = pair->cert_chain_pem;
        ssl.pem_private_key = pair->private_key_pem;
      }
    }
    return proto::Admin::NewStub(
        grpc::CreateChannel(absl::StrCat("localhost:", server_->port()), grpc::SslCredentials(ssl)));
  }

  static grpc::Status CallGetStatus(proto::Admin::Stub& admin, proto::StatusResponse* status) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return admin.GetStatus(&context, proto::StatusRequest(), status);
  }

  std::unique_ptr<StubDevice> Connect(const std::string& host = "127.0.0.1",
                                         const std::string& trusted_cert = "", const DevTlsFiles* client = nullptr) {
    StubDeviceOptions options;
    options.target = absl::StrCat(host, ":", server_->port());
    options.root_cert_pem_path = trusted_cert.empty() ? cert_path_ : trusted_cert;
    if (client != nullptr) {
      options.client_cert_pem_path = client->cert_path;
      options.client_key_pem_path = client->key_path;
    }
    options.rpc_timeout = absl::Seconds(10);
    auto transport = StubDevice::Create(options);
    EXPECT_TRUE(transport.ok()) << transport.status();
    return transport.ok() ? *std::move(transport) : nullptr;
  }

  // Registers the device, opens the round and returns the device's task.
  proto::Task RegisterAndGetTask(Transport& transport) {
    proto::RegisterRequest reg;
    reg.mutable_device()->set_device_id(kDevice);
    reg.mutable_device()->set_num_examples(50);
    auto registered = transport.Register(reg);
    EXPECT_TRUE(registered.ok()) << registered.status();
    proto::PollTaskRequest poll;
    poll.set_device_id(kDevice);
    poll.set_eligible(true);
    federation_->Tick();
    auto polled = transport.PollTask(poll);
    EXPECT_TRUE(polled.ok()) << polled.status();
    EXPECT_TRUE(polled.ok() && polled->has_task());
    return polled.ok() ? polled->task() : proto::Task();
  }

  // Downloads the whole artifact in chunks of at most `max_bytes`.
  std::string DownloadModel(Transport& transport, const proto::Task& task, uint32_t max_bytes, int* chunks) {
    std::string artifact;
    *chunks = 0;
    uint64_t total = 1;
    while (artifact.size() < total) {
      proto::DownloadRequest request;
      request.set_device_id(kDevice);
      request.set_model_version(task.model_version());
      request.set_offset(artifact.size());
      request.set_max_bytes(max_bytes);
      auto chunk = transport.Download(request);
      EXPECT_TRUE(chunk.ok()) << chunk.status();
      if (!chunk.ok() || chunk->data().empty()) break;
      EXPECT_EQ(chunk->offset(), artifact.size());
      EXPECT_LE(chunk->data().size(), max_bytes);
      artifact += chunk->data();
      total = chunk->total_size();
      ++*chunks;
    }
    return artifact;
  }

  absl::StatusOr<proto::UploadResponse> UploadChunk(Transport& transport, const proto::Task& task,
                                                    const std::string& bytes, uint64_t offset, uint64_t size) {
    proto::UploadRequest request;
    request.set_device_id(kDevice);
    request.set_task_id(task.task_id());
    request.set_offset(offset);
    request.set_data(bytes.substr(offset, size));
    request.set_total_size(bytes.size());
    request.set_final(offset + size >= bytes.size());
    return transport.Upload(request);
  }

  std::vector<proto::RoundRecord> DriverRecords() {
    absl::MutexLock lock(&mu_);
    return driver_records_;
  }

  std::string dir_;
  std::string cert_path_;
  std::string verify_key_;
  TlsKeyCertPair tls_;
  std::string client_ca_pem_;  // empty: server-only TLS
  std::string admin_cn_;
  std::string state_dir_;  // Admin.Backup's source; empty: none
  Enrolment* enrolment_ = nullptr;  // borrowed from the test; null: enrolment off
  FakeClock clock_;
  std::unique_ptr<Federation> federation_;
  std::unique_ptr<CoordinatorServer> server_;
  absl::Mutex mu_;
  std::vector<proto::RoundRecord> driver_records_ ABSL_GUARDED_BY(mu_);
};

TEST_F(GrpcServiceTest, DeviceRunsARoundOverTlsWithChunkedResumableTransfers) {
  StartServer();
  std::unique_ptr<StubDevice> transport = Connect();
  ASSERT_NE(transport, nullptr);

  proto::PollTaskRequest poll;
  poll.set_device_id(kDevice);
  poll.set_eligible(true);
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);
  ASSERT_TRUE(transport->Register(reg).ok());
  auto idle = transport->PollTask(poll);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_FALSE(idle->has_task()) << "no round is open before Tick()";
  EXPECT_GT(idle->retry_after_millis(), 0);

  const proto::Task task = RegisterAndGetTask(*transport);
  ASSERT_FALSE(task.task_id().empty());
  EXPECT_EQ(task.model_version(), federation_->model_version());

  // Download in 700-byte chunks and verify the signature against the pinned key.
  int chunks = 0;
  const std::string artifact = DownloadModel(*transport, task, 700, &chunks);
  EXPECT_EQ(artifact.size(), task.model_size_bytes());
  EXPECT_GE(chunks, 5);
  auto verify_key = VerifyKey::FromPem(verify_key_);
  ASSERT_TRUE(verify_key.ok());
  auto body = OpenArtifact(artifact, *verify_key);
  ASSERT_TRUE(body.ok()) << body.status();
  auto global = ParamsFromBody(*body);
  ASSERT_TRUE(global.ok()) << global.status();
  EXPECT_EQ(global->values, InitialModel().values);

  // Upload two chunks, "lose the connection", then ask where to resume.
  const std::vector<float> delta(kElements, 0.5f);
  const std::string update = Fp32Update(task, global->layout.id(), delta);
  constexpr uint64_t kChunk = 512;
  ASSERT_GT(update.size(), 4 * kChunk);
  for (uint64_t offset : {uint64_t{0}, kChunk}) {
    auto ack = UploadChunk(*transport, task, update, offset, kChunk);
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack->committed_offset(), offset + kChunk);
    EXPECT_FALSE(ack->accepted());
  }
  const StubDeviceStats first_stats = transport->stats();
  EXPECT_GE(first_stats.bytes_received, artifact.size());
  EXPECT_GE(first_stats.bytes_sent, 2 * kChunk);
  transport.reset();

  std::unique_ptr<StubDevice> reconnected = Connect();
  ASSERT_NE(reconnected, nullptr);
  auto probe = UploadChunk(*reconnected, task, update, 0, 0);
  ASSERT_TRUE(probe.ok()) << probe.status();
  uint64_t offset = probe->committed_offset();
  EXPECT_EQ(offset, 2 * kChunk);
  absl::StatusOr<proto::UploadResponse> ack;
  while (offset < update.size()) {
    ack = UploadChunk(*reconnected, task, update, offset, kChunk);
    ASSERT_TRUE(ack.ok()) << ack.status();
    offset = ack->committed_offset();
  }
  EXPECT_TRUE(ack->accepted());

  // The round closed at its target; the next Tick completes its record.
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded()) << records[0].failure();
  EXPECT_EQ(records[0].accepted(), 1u);
  EXPECT_EQ(records[0].model_version(), task.model_version() + 1);
  EXPECT_EQ(federation_->model_version(), task.model_version() + 1);
  EXPECT_TRUE(federation_->finished());
  const ModelParams next = federation_->global_model();
  ASSERT_EQ(next.values.size(), static_cast<size_t>(kElements));
  for (int64_t i = 0; i < kElements; i += 97) EXPECT_FLOAT_EQ(next.values[i], 0.001f * i + 0.5f) << i;
}

TEST_F(GrpcServiceTest, StatusCodesAndMessagesCrossTheWireUnchanged) {
  StartServer();
  std::unique_ptr<StubDevice> transport = Connect();
  ASSERT_NE(transport, nullptr);

  proto::PollTaskRequest poll;
  poll.set_device_id("nobody");
  poll.set_eligible(true);
  const absl::Status unknown = transport->PollTask(poll).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound) << unknown;
  EXPECT_EQ(unknown, federation_->PollTask(poll).status()) << "same code and message as in-process";

  proto::RegisterRequest no_id;
  EXPECT_EQ(transport->Register(no_id).status().code(), absl::StatusCode::kInvalidArgument);

  const proto::Task task = RegisterAndGetTask(*transport);
  proto::DownloadRequest stale;
  stale.set_device_id(kDevice);
  stale.set_model_version(task.model_version() + 7);
  EXPECT_EQ(transport->Download(stale).status().code(), absl::StatusCode::kFailedPrecondition);
  proto::DownloadRequest past_end;
  past_end.set_device_id(kDevice);
  past_end.set_model_version(task.model_version());
  past_end.set_offset(task.model_size_bytes() + 1);
  EXPECT_EQ(transport->Download(past_end).status().code(), absl::StatusCode::kOutOfRange);

  proto::Task wrong_task = task;
  wrong_task.set_task_id("not-a-task");
  const absl::Status late = UploadChunk(*transport, wrong_task, "abc", 0, 3).status();
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(late.message()), HasSubstr("not-a-task"));

  const StubDeviceStats stats = transport->stats();
  EXPECT_EQ(stats.failed_calls, 5u);
  EXPECT_EQ(stats.calls, 7u);
}

TEST_F(GrpcServiceTest, AdminServiceReportsStatus) {
  StartServer();
  std::unique_ptr<StubDevice> transport = Connect();
  ASSERT_NE(transport, nullptr);
  RegisterAndGetTask(*transport);

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls_.cert_chain_pem;
  auto channel = grpc::CreateChannel(absl::StrCat("localhost:", server_->port()), grpc::SslCredentials(ssl));
  auto admin = proto::Admin::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  proto::StatusResponse status;
  const grpc::Status rpc = admin->GetStatus(&context, proto::StatusRequest(), &status);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(status.registered_devices(), 1u);
  EXPECT_EQ(status.model_version(), federation_->model_version());
}

TEST_F(GrpcServiceTest, HandshakeFailsWhenTheDeviceTrustsAnotherCertificate) {
  StartServer();
  const std::string other_dir = FreshDir("other_pair");
  auto other = EnsureDevTlsPair(other_dir);
  ASSERT_TRUE(other.ok()) << other.status();
  std::unique_ptr<StubDevice> transport = Connect("127.0.0.1", other->cert_path);
  ASSERT_NE(transport, nullptr);
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);
  const absl::Status status = transport->Register(reg).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 0u);

  // The genuine certificate works by either subjectAltName.
  for (const char* host : {"127.0.0.1", "localhost"}) {
    std::unique_ptr<StubDevice> trusted = Connect(host);
    ASSERT_NE(trusted, nullptr);
    EXPECT_TRUE(trusted->Register(reg).ok()) << host;
  }
}

TEST_F(GrpcServiceTest, DriverThreadCompletesRoundsAndStopsWhenFinished) {
  StartServer(absl::Milliseconds(1), /*exit_when_finished=*/true);
  std::unique_ptr<StubDevice> transport = Connect();
  ASSERT_NE(transport, nullptr);
  const proto::Task task = RegisterAndGetTask(*transport);
  ASSERT_FALSE(task.task_id().empty());
  const ModelParams initial = InitialModel();
  const std::string update = Fp32Update(task, initial.layout.id(), std::vector<float>(kElements, 1.0f));
  auto ack = UploadChunk(*transport, task, update, 0, update.size());
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_TRUE(ack->accepted());

  server_->Wait();  // returns once the driver saw the federation finish
  EXPECT_TRUE(server_->stop_requested());
  EXPECT_TRUE(federation_->finished());
  const std::vector<proto::RoundRecord> records = DriverRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded());
  EXPECT_EQ(records[0].accepted(), 1u);
  EXPECT_EQ(records[0].model_version(), task.model_version() + 1);
  // After shutdown, calls fail as transient errors.
  EXPECT_TRUE(IsTransient(transport->PollTask(proto::PollTaskRequest()).status()));
}

TEST_F(GrpcServiceTest, StartRejectsBadOptionsAndBusyPorts) {
  CoordinatorServerOptions no_tls;
  no_tls.listen_address = "127.0.0.1:0";
  EXPECT_EQ(CoordinatorServer::Start(no_tls, federation_.get()).status().code(),
            absl::StatusCode::kInvalidArgument);

  StartServer();
  CoordinatorServerOptions same_port;
  same_port.listen_address = absl::StrCat("127.0.0.1:", server_->port());
  same_port.tls = tls_;
  same_port.tick_interval = absl::ZeroDuration();
  EXPECT_EQ(CoordinatorServer::Start(same_port, federation_.get()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(GrpcServiceTest, MutualTlsBindsEveryDeviceCallToTheCertificateName) {
  UseMutualTls();
  StartServer();
  const DevTlsFiles cert = DeviceCert(kDevice);
  const DevTlsFiles victim_cert = DeviceCert("device-2");
  std::unique_ptr<StubDevice> transport = ConnectAs(cert);
  std::unique_ptr<StubDevice> victim = ConnectAs(victim_cert);
  ASSERT_NE(transport, nullptr);
  ASSERT_NE(victim, nullptr);

  // The genuine device-2 registers; then device-1 tries to act in its name.
  proto::RegisterRequest victim_reg;
  victim_reg.mutable_device()->set_device_id("device-2");
  ASSERT_TRUE(victim->Register(victim_reg).ok());
  const uint32_t registered = federation_->GetStatus().registered_devices();

  const absl::Status impostor_reg = transport->Register(victim_reg).status();
  EXPECT_EQ(impostor_reg.code(), absl::StatusCode::kPermissionDenied) << impostor_reg;
  EXPECT_THAT(std::string(impostor_reg.message()), HasSubstr("\"device-2\""));
  EXPECT_THAT(std::string(impostor_reg.message()), HasSubstr("\"device-1\""));
  proto::PollTaskRequest poll;
  poll.set_device_id("device-2");
  poll.set_eligible(false);  // also keeps device-2 out of the round device-1 runs below
  ASSERT_TRUE(federation_->PollTask(poll).ok()) << "the Federation alone would answer this poll";
  EXPECT_EQ(transport->PollTask(poll).status().code(), absl::StatusCode::kPermissionDenied);
  proto::DownloadRequest download;
  download.set_device_id("device-2");
  EXPECT_EQ(transport->Download(download).status().code(), absl::StatusCode::kPermissionDenied);
  proto::UploadRequest upload;
  upload.set_device_id("device-2");
  upload.set_task_id("any");
  EXPECT_EQ(transport->Upload(upload).status().code(), absl::StatusCode::kPermissionDenied);
  proto::DeviceReport report;
  report.set_device_id("device-2");
  EXPECT_EQ(transport->Report(report).status().code(), absl::StatusCode::kPermissionDenied);
  proto::RegisterRequest no_id;
  EXPECT_EQ(transport->Register(no_id).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->GetStatus().registered_devices(), registered) << "denied calls never reach the Federation";

  // As itself, device-1 runs a whole round over mutual TLS.
  const proto::Task task = RegisterAndGetTask(*transport);
  ASSERT_FALSE(task.task_id().empty());
  int chunks = 0;
  const std::string artifact = DownloadModel(*transport, task, 4096, &chunks);
  EXPECT_EQ(artifact.size(), task.model_size_bytes());
  const std::string update = Fp32Update(task, InitialModel().layout.id(), std::vector<float>(kElements, 0.25f));
  auto ack = UploadChunk(*transport, task, update, 0, update.size());
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_TRUE(ack->accepted());
}

TEST_F(GrpcServiceTest, MutualTlsRefusesClientsWithoutACertificateFromTheCa) {
  UseMutualTls();
  StartServer();
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);

  std::unique_ptr<StubDevice> anonymous = Connect();
  ASSERT_NE(anonymous, nullptr);
  const absl::Status no_cert = anonymous->Register(reg).status();
  EXPECT_EQ(no_cert.code(), absl::StatusCode::kUnavailable) << no_cert;

  const DevTlsFiles foreign = DeviceCert(kDevice, FreshDir("other_ca"));
  std::unique_ptr<StubDevice> impostor = ConnectAs(foreign);
  ASSERT_NE(impostor, nullptr);
  const absl::Status wrong_ca = impostor->Register(reg).status();
  EXPECT_EQ(wrong_ca.code(), absl::StatusCode::kUnavailable) << wrong_ca;
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 0u);

  std::unique_ptr<StubDevice> genuine = ConnectAs(DeviceCert(kDevice));
  ASSERT_NE(genuine, nullptr);
  EXPECT_TRUE(genuine->Register(reg).ok());
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 1u);
}

TEST_F(GrpcServiceTest, MutualTlsAdminStatusOnlyForTheAdminCertificate) {
  UseMutualTls("ops");
  StartServer();
  const DevTlsFiles ops = DeviceCert("ops");
  const DevTlsFiles device = DeviceCert(kDevice);
  proto::StatusResponse status;
  const grpc::Status admin = CallGetStatus(*AdminStub(&ops), &status);
  EXPECT_TRUE(admin.ok()) << admin.error_message();
  EXPECT_EQ(status.model_version(), federation_->model_version());
  const grpc::Status as_device = CallGetStatus(*AdminStub(&device), &status);
  EXPECT_EQ(as_device.error_code(), grpc::StatusCode::PERMISSION_DENIED) << as_device.error_message();
  EXPECT_THAT(as_device.error_message(), HasSubstr("\"device-1\""));
  EXPECT_EQ(CallGetStatus(*AdminStub(), &status).error_code(), grpc::StatusCode::UNAVAILABLE) << "no certificate";

  // Without an admin name, nobody may read the per-device status.
  server_.reset();
  UseMutualTls("");
  StartServer();
  const grpc::Status disabled = CallGetStatus(*AdminStub(&ops), &status);
  EXPECT_EQ(disabled.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(disabled.error_message(), HasSubstr("admin_cn"));
}

TEST_F(GrpcServiceTest, MutualTlsAdminServesTheRegistryAndBackups) {
  state_dir_ = dir_ + "/state";
  {
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = state_dir_});
    ASSERT_TRUE(store.ok()) << store.status();
  }
  UseMutualTls("ops");
  StartServer();
  const DevTlsFiles ops = DeviceCert("ops");
  const DevTlsFiles cert = DeviceCert(kDevice);
  std::unique_ptr<StubDevice> device = ConnectAs(cert);
  ASSERT_NE(device, nullptr);
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);
  ASSERT_TRUE(device->Register(reg).ok());
  std::unique_ptr<proto::Admin::Stub> admin = AdminStub(&ops);
  auto deadline = [](grpc::ClientContext& c) {
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  };

  // The registry, with the certificate the device registered with.
  {
    grpc::ClientContext c;
    deadline(c);
    proto::GetDeviceRequest request;
    request.set_device_id(kDevice);
    proto::DeviceSummary summary;
    ASSERT_TRUE(admin->GetDevice(&c, request, &summary).ok());
    absl::StatusOr<std::string> pem = ReadFile(cert.cert_path);
    ASSERT_TRUE(pem.ok());
    EXPECT_EQ(summary.certificate_sha256(), *CertSha256Hex(*pem));
    EXPECT_EQ(summary.status(), proto::DEVICE_STATUS_ACTIVE);
  }
  {
    grpc::ClientContext c;
    deadline(c);
    proto::GetDeviceRequest request;
    request.set_device_id("nobody");
    proto::DeviceSummary summary;
    EXPECT_EQ(admin->GetDevice(&c, request, &summary).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext c;
    deadline(c);
    proto::ListDevicesResponse page;
    ASSERT_TRUE(admin->ListDevices(&c, proto::ListDevicesRequest(), &page).ok());
    ASSERT_EQ(page.devices_size(), 1);
    EXPECT_EQ(page.devices(0).device_id(), kDevice);
  }
  {
    grpc::ClientContext c;
    deadline(c);
    proto::ListModelsResponse models;
    ASSERT_TRUE(admin->ListModels(&c, proto::ListModelsRequest(), &models).ok());
    ASSERT_GE(models.models_size(), 1);
    EXPECT_EQ(models.models(0).version(), federation_->model_version());
    EXPECT_EQ(models.models(0).size_bytes(), federation_->signed_model().size());
  }
  // Backups: only the admin, only to an absolute new path on this host.
  auto backup = [&](proto::Admin::Stub& stub, const std::string& path, proto::BackupResponse* out) {
    grpc::ClientContext c;
    deadline(c);
    proto::BackupRequest request;
    request.set_path(path);
    return stub.Backup(&c, request, out);
  };
  proto::BackupResponse done;
  EXPECT_EQ(backup(*AdminStub(&cert), dir_ + "/copy", &done).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(backup(*admin, "relative/copy", &done).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status copied = backup(*admin, dir_ + "/copy", &done);
  ASSERT_TRUE(copied.ok()) << copied.error_message();
  EXPECT_EQ(done.path(), dir_ + "/copy");
  EXPECT_GT(done.database_bytes(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/copy/state.db"));
  EXPECT_EQ(backup(*admin, dir_ + "/copy", &done).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // Without a state directory there is nothing to back up.
  server_.reset();
  state_dir_.clear();
  StartServer();
  const grpc::Status in_memory = backup(*AdminStub(&ops), dir_ + "/copy2", &done);
  EXPECT_EQ(in_memory.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(in_memory.error_message(), HasSubstr("--state"));
}

TEST_F(GrpcServiceTest, BackupIsRefusedWithoutMutualTls) {
  state_dir_ = dir_;
  StartServer();
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  proto::BackupRequest request;
  request.set_path(dir_ + "/copy");
  proto::BackupResponse done;
  const grpc::Status refused = AdminStub()->Backup(&c, request, &done);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), HasSubstr("mutual TLS"));
}

TEST_F(GrpcServiceTest, ServerOnlyTlsAcceptsADeviceThatPresentsACertificate) {
  StartServer();  // no client CA: the certificate is not requested, any device_id goes
  std::unique_ptr<StubDevice> transport = ConnectAs(DeviceCert("someone-else"));
  ASSERT_NE(transport, nullptr);
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);
  EXPECT_TRUE(transport->Register(reg).ok());
}

TEST_F(GrpcServiceTest, StartRejectsInconsistentMutualTlsOptions) {
  CoordinatorServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = tls_;
  options.tick_interval = absl::ZeroDuration();
  options.admin_common_name = "ops";
  EXPECT_EQ(CoordinatorServer::Start(options, federation_.get()).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "an admin name needs client certificates";
  options.admin_common_name.clear();
  options.client_ca_pem = "not a certificate";
  EXPECT_EQ(CoordinatorServer::Start(options, federation_.get()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge

namespace fedge {
namespace {

// Enrolment on the same port: a client without a certificate reaches
// Enrollment.Enroll and nothing else; with the certificate it got, it is a
// device; revoked, it is refused.
TEST_F(GrpcServiceTest, EnrolmentServesOnlyEnrollToClientsWithoutACertificate) {
  UseMutualTls("ops");
  auto store = SqliteStateStore::Open({.dir = dir_ + "/enrol_state"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto ca = LoadKeyCertPair(dir_ + "/ca.pem", dir_ + "/ca-key.pem");
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto enrolment = Enrolment::Create({.ca = *ca, .crl_path = dir_ + "/crl.pem"}, store->get(), federation_.get(),
                                     &clock_, SecureRandom::Default());
  ASSERT_TRUE(enrolment.ok()) << enrolment.status();
  enrolment_ = enrolment->get();
  StartServer();
  const std::string target = absl::StrCat("localhost:", server_->port());
  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = tls_.cert_chain_pem;
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };

  // Without a certificate: every device and Admin RPC is refused.
  std::unique_ptr<StubDevice> anonymous = Connect();
  ASSERT_NE(anonymous, nullptr);
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id(kDevice);
  reg.mutable_device()->set_num_examples(5);
  absl::Status refused = anonymous->Register(reg).status();
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("no client certificate"));
  proto::PollTaskRequest poll;
  poll.set_device_id(kDevice);
  EXPECT_TRUE(absl::IsPermissionDenied(anonymous->PollTask(poll).status()));
  proto::StatusResponse status;
  EXPECT_EQ(CallGetStatus(*AdminStub(), &status).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    proto::CreateTokensRequest request;
    request.set_count(1);
    request.set_ttl_seconds(60);
    proto::CreateTokensResponse tokens;
    EXPECT_EQ(AdminStub()->CreateTokens(&context, request, &tokens).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }

  // The admin mints a token; the device enrols without a certificate.
  const DevTlsFiles admin = DeviceCert("ops");
  proto::CreateTokensResponse tokens;
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    proto::CreateTokensRequest request;
    request.set_count(1);
    request.set_ttl_seconds(60);
    ASSERT_TRUE(AdminStub(&admin)->CreateTokens(&context, request, &tokens).ok());
  }
  const std::string key = *GenerateDeviceKey();
  proto::EnrollRequest enroll;
  enroll.set_token(tokens.tokens(0));
  enroll.set_device_id(kDevice);
  enroll.set_csr_pem(*MakeCsr(key, kDevice));
  proto::EnrollResponse issued;
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    auto stub = proto::Enrollment::NewStub(grpc::CreateChannel(target, grpc::SslCredentials(no_cert)));
    const grpc::Status enrolled = stub->Enroll(&context, enroll, &issued);
    ASSERT_TRUE(enrolled.ok()) << enrolled.error_message();
  }
  ASSERT_EQ(issued.state(), proto::ENROLL_STATE_ISSUED);
  DevTlsFiles mine{dir_ + "/enrolled-cert.pem", dir_ + "/enrolled-key.pem", false};
  ASSERT_TRUE(WritePublicFile(mine.cert_path, issued.certificate_pem()).ok());
  ASSERT_TRUE(WritePrivateFile(mine.key_path, key).ok());

  // With it, the device is served; revoked, it is refused.
  std::unique_ptr<StubDevice> device = ConnectAs(mine);
  ASSERT_NE(device, nullptr);
  ASSERT_TRUE(device->Register(reg).ok());
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    proto::DeviceActionRequest request;
    request.set_device_id(kDevice);
    proto::DeviceSummary revoked;
    ASSERT_TRUE(AdminStub(&admin)->RevokeDevice(&context, request, &revoked).ok());
    EXPECT_EQ(revoked.status(), proto::DEVICE_STATUS_REVOKED);
  }
  absl::Status after = device->PollTask(poll).status();
  EXPECT_TRUE(absl::IsPermissionDenied(after)) << after;
  EXPECT_THAT(after.message(), HasSubstr("revoked"));
  server_.reset();
}

TEST_F(GrpcServiceTest, EnrollIsRefusedWhenEnrolmentIsOff) {
  StartServer();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls_.cert_chain_pem;
  auto stub = proto::Enrollment::NewStub(
      grpc::CreateChannel(absl::StrCat("localhost:", server_->port()), grpc::SslCredentials(ssl)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  proto::EnrollResponse response;
  const grpc::Status status = stub->Enroll(&context, proto::EnrollRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("does not enrol"));
}

}  // namespace
}  // namespace fedge
