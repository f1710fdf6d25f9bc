#include "client/inference_server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/artifact.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

// One client connection speaking the wire format of inference_server.h.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void SendHeader(uint32_t n) { ASSERT_EQ(write(fd_, &n, 4), 4); }  // the test hosts are little-endian
  // Sends one example; returns the answer's code, filling label/probabilities or message.
  uint32_t Classify(const std::vector<float>& input, int* label, std::vector<float>* probs, std::string* message) {
    SendHeader(static_cast<uint32_t>(input.size()));
    EXPECT_EQ(write(fd_, input.data(), input.size() * 4), static_cast<ssize_t>(input.size() * 4));
    const uint32_t code = ReadU32();
    if (code != 0) {
      message->resize(ReadU32());
      Read(message->data(), message->size());
      return code;
    }
    *label = static_cast<int>(ReadU32());
    probs->resize(ReadU32());
    Read(probs->data(), probs->size() * 4);
    return code;
  }
  // True when the server closed the connection.
  bool Closed() {
    char byte;
    return read(fd_, &byte, 1) == 0;
  }

 private:
  uint32_t ReadU32() {
    uint32_t v = 0xffffffff;
    Read(&v, 4);
    return v;
  }
  void Read(void* out, size_t size) {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
      const ssize_t n = read(fd_, p, size);
      if (n <= 0) return;
      p += n;
      size -= static_cast<size_t>(n);
    }
  }
  int fd_ = -1;
  bool connected_ = false;
};

class InferenceServerTest : public ::testing::Test {
 protected:
  InferenceServerTest() : key_(fedge::testing::GenerateTestKey()), slot_(key_.verify_key(), {}) {
    path_ = (std::filesystem::path(::testing::TempDir()) / "fedge-infer-test.sock").string();
  }

  void InstallStudent() {
    absl::StatusOr<proto::ArtifactBody> body =
        fedge::testing::BuildCalibrated(fedge::testing::StudentCnn(3), 8, 5);
    ASSERT_TRUE(body.ok()) << body.status();
    body->mutable_header()->set_dtype(proto::DTYPE_INT8);
    ASSERT_TRUE(slot_.Install(*SignArtifact(*body, key_)).ok());
  }

  SigningKey key_;
  ModelSlot slot_;
  std::string path_;
};

TEST_F(InferenceServerTest, AnswersLikeTheSlotAndCountsRequests) {
  auto server = InferenceServer::Start({.socket_path = path_}, &slot_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  Client client(path_);
  ASSERT_TRUE(client.connected());
  const std::vector<float> input = fedge::testing::RandomNormal(784, 1.0f, 9);
  int label = -1;
  std::vector<float> probs;
  std::string message;
  EXPECT_EQ(client.Classify(input, &label, &probs, &message), static_cast<uint32_t>(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(message.find("no deployed model"), std::string::npos) << message;

  InstallStudent();
  ASSERT_EQ(client.Classify(input, &label, &probs, &message), 0u) << message;
  std::vector<float> expected(10);
  int expected_label = -1;
  ASSERT_TRUE(slot_.Acquire().Classify(input, absl::MakeSpan(expected), &expected_label).ok());
  EXPECT_EQ(label, expected_label);
  EXPECT_EQ(probs, expected);
  EXPECT_EQ(client.Classify(std::vector<float>(783, 0.0f), &label, &probs, &message),
            static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));

  const InferenceServerStats stats = (*server)->stats();
  EXPECT_EQ(stats.requests, 3);
  EXPECT_EQ(stats.errors, 2);
  EXPECT_EQ((*server)->ReportMetrics().at("inference_requests"), 3);
  EXPECT_TRUE((*server)->ReportMetrics().contains("inference_latency_ms"));
}

TEST_F(InferenceServerTest, AHugeRequestClosesTheConnectionAndServingGoesOn) {
  InstallStudent();
  auto server = InferenceServer::Start({.socket_path = path_}, &slot_);
  ASSERT_TRUE(server.ok()) << server.status();
  {
    Client hostile(path_);
    hostile.SendHeader(kMaxInferenceFloats + 1);
    EXPECT_TRUE(hostile.Closed());
  }
  Client client(path_);
  int label = -1;
  std::vector<float> probs;
  std::string message;
  EXPECT_EQ(client.Classify(std::vector<float>(784, 0.1f), &label, &probs, &message), 0u) << message;
  (*server)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path_)) << "the socket file is removed";
}

TEST(InferenceServerStartTest, RefusesABadPath) {
  ModelSlot slot(fedge::testing::GenerateTestKey().verify_key(), {});
  EXPECT_EQ(InferenceServer::Start({.socket_path = ""}, &slot).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InferenceServer::Start({.socket_path = std::string(200, 'x')}, &slot).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
