// End-to-end tests of the protocol: exact sums under dropouts at every
// stage, clean failure below the threshold, uniform-looking masked uploads,
// and clients that refuse hostile servers.
#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "secagg/client_session.h"
#include "secagg/messages.h"
#include "secagg/random.h"
#include "secagg/ring_codes.h"
#include "secagg/server_session.h"
#include "secagg/testing/round_driver.h"

namespace fedge::secagg {
namespace {

using testing::RoundOptions;
using testing::RoundOutcome;
using testing::RunRound;

// k = 2 ceil(log2 n) neighbours, t = ceil(k / 3): a neighbourhood keeps t
// members even when 30% of the clients drop at one stage.
SecAggParams ParamsFor(uint32_t n, uint64_t d, int ring_bits) {
  const uint32_t log = static_cast<uint32_t>(std::ceil(std::log2(n)));
  const uint32_t k = 2 * log;
  return SecAggParams{.round_id = 1000 + n, .num_clients = n, .neighbours = k, .threshold = (k + 2) / 3,
                      .vector_length = d, .ring_bits = ring_bits, .graph_seed = 99};
}

class DropoutTest : public ::testing::TestWithParam<std::tuple<uint32_t, int, double>> {};

TEST_P(DropoutTest, UnmaskedSumEqualsPlainSum) {
  const auto [n, stage, fraction] = GetParam();
  RoundOptions options;
  options.params = ParamsFor(n, 40, 15);
  options.drop_after[stage] = fraction;
  options.seed = n * 31 + static_cast<uint64_t>(stage);
  const auto inputs = testing::RandomInputs(n, 40, (1 << 15) - 1, options.seed);
  const RoundOutcome outcome = RunRound(options, inputs);
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_EQ(outcome.result->sum, outcome.expected_sum);
  // Who is in the sum: everybody who uploaded a masked input.
  const size_t dropped_before_upload =
      stage == 2 ? 0 : static_cast<size_t>(std::llround(fraction * n));
  EXPECT_EQ(outcome.result->contributors.size(), n - dropped_before_upload);
}

INSTANTIATE_TEST_SUITE_P(AllStages, DropoutTest,
                         ::testing::Combine(::testing::Values(20u, 50u, 100u), ::testing::Values(0, 1, 2),
                                            ::testing::Values(0.0, 0.1, 0.3)));

TEST(ProtocolTest, DropoutsAtEveryStageOfOneRound) {
  for (uint32_t n : {20u, 100u}) {
    RoundOptions options;
    options.params = ParamsFor(n, 100, 15);
    options.drop_after[0] = options.drop_after[1] = options.drop_after[2] = 0.1;
    options.seed = 5;
    const RoundOutcome outcome = RunRound(options, testing::RandomInputs(n, 100, 255, 6));
    ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
    EXPECT_EQ(outcome.result->sum, outcome.expected_sum);
  }
}

TEST(ProtocolTest, ThresholdAboveHalfTheNeighbourhood) {
  RoundOptions options;
  options.params = SecAggParams{.round_id = 4, .num_clients = 60, .neighbours = 20, .threshold = 11,
                                .vector_length = 64, .ring_bits = 14, .graph_seed = 8};
  options.drop_after[0] = options.drop_after[1] = options.drop_after[2] = 0.1;
  const RoundOutcome outcome = RunRound(options, testing::RandomInputs(60, 64, 255, 9));
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_EQ(outcome.result->sum, outcome.expected_sum);
}

TEST(ProtocolTest, Int8CodesSumExactlyThroughTheRing) {
  const uint32_t n = 30;
  const int ring_bits = *RingBitsFor(8, n);
  RoundOptions options;
  options.params = ParamsFor(n, 50, ring_bits);
  std::vector<std::vector<int8_t>> codes(n, std::vector<int8_t>(50));
  std::vector<std::vector<uint64_t>> inputs;
  std::vector<int64_t> plain(50, 0);
  for (uint32_t i = 0; i < n; ++i) {
    for (int j = 0; j < 50; ++j) {
      codes[i][j] = static_cast<int8_t>(((i * 53 + j * 17) % 255) - 127);
      plain[j] += codes[i][j];
    }
    inputs.push_back(*CodesToRing(codes[i], 8));
  }
  const RoundOutcome outcome = RunRound(options, inputs);
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  auto sum = RingSumToCodeSum(outcome.result->sum, 8, n);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, plain);
}

TEST(ProtocolTest, FewerThanThresholdSurvivorsFailCleanly) {
  for (int stage = 0; stage < 3; ++stage) {
    RoundOptions options;
    options.params = ParamsFor(20, 16, 12);  // k = 10, t = 4
    options.drop_after[stage] = 0.9;         // 2 clients left
    const RoundOutcome outcome = RunRound(options, testing::RandomInputs(20, 16, 100, 1));
    ASSERT_FALSE(outcome.result.ok()) << "stage " << stage;
    EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kFailedPrecondition) << outcome.result.status();
    // A round that fails before unmasking asks the clients to reveal nothing.
    // (When too few answer the unmask request itself, the two that did
    // answered for survivors the server cannot unmask without t shares.)
    if (stage < 2) {
      for (const SessionCosts& c : outcome.client_costs) EXPECT_EQ(c.at(Stage::kUnmasking).bytes_sent, 0u);
    }
  }
}

TEST(ProtocolTest, CostsAreAccounted) {
  RoundOptions options;
  options.params = ParamsFor(20, 1000, 13);
  const RoundOutcome outcome = RunRound(options, testing::RandomInputs(20, 1000, 100, 2));
  ASSERT_TRUE(outcome.result.ok());
  const uint64_t masked_bytes = kHeaderBytes + 4 + (1000 * 13 + 7) / 8;
  EXPECT_EQ(outcome.server_costs.at(Stage::kMaskedInput).bytes_received, 20 * masked_bytes);
  EXPECT_EQ(outcome.client_costs[0].at(Stage::kMaskedInput).bytes_sent, masked_bytes);
  uint64_t client_sent = 0;
  for (const SessionCosts& c : outcome.client_costs) client_sent += c.TotalBytesSent();
  EXPECT_EQ(client_sent, outcome.server_costs.TotalBytesReceived());
  for (int s = 0; s < kNumStages; ++s) {
    EXPECT_GT(outcome.server_costs.stages[s].bytes_sent + outcome.server_costs.stages[s].bytes_received, 0u);
    EXPECT_GT(outcome.server_costs.stages[s].time, absl::ZeroDuration());
    EXPECT_GT(outcome.server_costs.stages[s].cpu_time, absl::ZeroDuration());
  }
}

// Chi-square over the top 8 bits of every element of each masked upload:
// 255 degrees of freedom; 377.2 is the 1 - 1e-6 quantile (Wilson-Hilferty),
// so an honest upload fails with probability 1e-6 per client (2e-5 here).
double ChiSquareTopByte(const std::vector<uint64_t>& values, int ring_bits) {
  std::vector<double> bins(256, 0);
  for (uint64_t v : values) bins[(v >> (ring_bits - 8)) & 0xff] += 1;
  const double expected = static_cast<double>(values.size()) / 256;
  double chi = 0;
  for (double b : bins) chi += (b - expected) * (b - expected) / expected;
  return chi;
}

TEST(ProtocolTest, MaskedUploadsLookUniform) {
  constexpr double kCritical = 377.2;
  RoundOptions options;
  options.params = ParamsFor(20, 8192, 13);
  std::vector<std::vector<uint64_t>> masked(20);
  options.on_masked_input = [&](uint32_t client, absl::string_view bytes) {
    masked[client] = DecodeMaskedInput(bytes, options.params)->masked;
  };
  // The most structured input there is: every element the same small code.
  const std::vector<std::vector<uint64_t>> inputs(20, std::vector<uint64_t>(8192, 129));
  const RoundOutcome outcome = RunRound(options, inputs);
  ASSERT_TRUE(outcome.result.ok());
  EXPECT_GT(ChiSquareTopByte(inputs[0], 13), kCritical);  // the test does see structure
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_EQ(masked[i].size(), 8192u);
    EXPECT_LT(ChiSquareTopByte(masked[i], 13), kCritical) << "client " << i;
  }
}

// A round on the complete graph of 6 clients, stepped by hand to the point
// where the server asks for unmasking.
class ManualRoundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    params_ = SecAggParams{.round_id = 9, .num_clients = 6, .neighbours = 6, .threshold = 3, .vector_length = 8,
                           .ring_bits = 10, .graph_seed = 1};
    server_ = *ServerSession::Create(params_);
    for (uint32_t i = 0; i < 6; ++i) {
      randoms_.push_back(std::make_unique<SeededDrbg>(100 + i));
      clients_.push_back(*ClientSession::Create(params_, i, *randoms_.back()));
      ASSERT_TRUE(server_->OnAdvertiseKeys(i, *clients_[i]->Advertise()).ok());
    }
    auto directories = server_->CloseAdvertise();
    ASSERT_TRUE(directories.ok());
    for (const OutgoingMessage& m : *directories) {
      directories_.push_back(m.bytes);
      ASSERT_TRUE(server_->OnShareKeys(m.client, *clients_[m.client]->OnKeyDirectory(m.bytes)).ok());
    }
    auto bundles = server_->CloseShares();
    ASSERT_TRUE(bundles.ok());
    for (const OutgoingMessage& m : *bundles) {
      bundles_.push_back(m.bytes);
      if (m.client == 5) continue;  // client 5 drops before uploading
      ASSERT_TRUE(
          server_->OnMaskedInput(m.client, *clients_[m.client]->OnShareBundle(m.bytes, std::vector<uint64_t>(8, 1)))
              .ok());
    }
    auto requests = server_->CloseMaskedInput();
    ASSERT_TRUE(requests.ok());
    requests_ = *std::move(requests);
  }

  SecAggParams params_;
  std::unique_ptr<ServerSession> server_;
  std::vector<std::unique_ptr<SeededDrbg>> randoms_;
  std::vector<std::unique_ptr<ClientSession>> clients_;
  std::vector<std::string> directories_, bundles_;
  std::vector<OutgoingMessage> requests_;
};

TEST_F(ManualRoundTest, HonestRequestsUnmaskTheSum) {
  for (const OutgoingMessage& m : requests_) {
    ASSERT_TRUE(server_->OnUnmaskResponse(m.client, *clients_[m.client]->OnUnmaskRequest(m.bytes)).ok());
  }
  auto result = server_->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->sum, std::vector<uint64_t>(8, 5));
  EXPECT_EQ(result->contributors, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
}

TEST_F(ManualRoundTest, ClientRefusesToRevealBothSharesOfOnePeer) {
  // Client 0 is asked to treat client 3 as surviving and dropped at once.
  const std::string both = Encode(UnmaskRequest{.survivors = {1, 2, 3, 4}, .dropped = {3, 5}}, params_);
  auto refused = clients_[0]->OnUnmaskRequest(both);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_TRUE(clients_[0]->aborted());
  // The honest request afterwards gets nothing either.
  EXPECT_EQ(clients_[0]->OnUnmaskRequest(requests_[0].bytes).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ManualRoundTest, ClientAnswersOnlyOnce) {
  ASSERT_TRUE(clients_[1]->OnUnmaskRequest(requests_[1].bytes).ok());
  // Asking again with client 2 now "dropped" would reveal its mask key too.
  const std::string flipped = Encode(UnmaskRequest{.survivors = {0, 3, 4}, .dropped = {2, 5}}, params_);
  EXPECT_EQ(clients_[1]->OnUnmaskRequest(flipped).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ManualRoundTest, ClientRejectsIncompleteOrForeignRequests) {
  // Leaves out client 5, whose shares client 0 holds.
  const std::string incomplete = Encode(UnmaskRequest{.survivors = {1, 2, 3, 4}, .dropped = {}}, params_);
  EXPECT_FALSE(clients_[0]->OnUnmaskRequest(incomplete).ok());
  EXPECT_FALSE(clients_[2]->OnUnmaskRequest(Encode(UnmaskRequest{.survivors = {0, 1, 2, 3, 4}, .dropped = {5}},
                                                   params_))
                   .ok());  // names itself
  EXPECT_FALSE(clients_[3]->OnUnmaskRequest("garbage").ok());
  EXPECT_TRUE(clients_[3]->aborted());
}

TEST_F(ManualRoundTest, ServerRejectsHostileMessagesAndCarriesOn) {
  EXPECT_FALSE(server_->OnUnmaskResponse(0, "").ok());
  EXPECT_FALSE(server_->OnUnmaskResponse(0, std::string(200, '\xff')).ok());
  EXPECT_FALSE(server_->OnUnmaskResponse(7, requests_[0].bytes).ok());  // not a client
  EXPECT_FALSE(server_->OnMaskedInput(0, "x").ok());                    // wrong stage
  // A response that reveals a share nobody asked for.
  UnmaskResponse extra{.client = 0,
                       .shares = {RevealedShare{.about = 1, .kind = ShareKind::kMaskKey, .values = {1, 2, 3, 4, 5}}}};
  EXPECT_FALSE(server_->OnUnmaskResponse(0, Encode(extra, params_)).ok());
  // Client 1 pretending to be client 0.
  const std::string from_zero = *clients_[0]->OnUnmaskRequest(requests_[0].bytes);
  EXPECT_FALSE(server_->OnUnmaskResponse(1, from_zero).ok());
  ASSERT_TRUE(server_->OnUnmaskResponse(0, from_zero).ok());
  EXPECT_FALSE(server_->OnUnmaskResponse(0, from_zero).ok());  // replayed
  for (size_t i = 1; i < requests_.size(); ++i) {
    const OutgoingMessage& m = requests_[i];
    ASSERT_TRUE(server_->OnUnmaskResponse(m.client, *clients_[m.client]->OnUnmaskRequest(m.bytes)).ok());
  }
  auto result = server_->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->sum, std::vector<uint64_t>(8, 5));
}

TEST_F(ManualRoundTest, CorruptedRevealedSharesAreDetected) {
  for (const OutgoingMessage& m : requests_) {
    auto response = DecodeUnmaskResponse(*clients_[m.client]->OnUnmaskRequest(m.bytes), params_);
    ASSERT_TRUE(response.ok());
    if (m.client == 0) response->shares[0].values[0] ^= 1;  // one lying holder
    ASSERT_TRUE(server_->OnUnmaskResponse(m.client, Encode(*response, params_)).ok());
  }
  EXPECT_EQ(server_->Finish().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(server_->failed());
}

TEST(ClientSessionTest, RejectsHostileServerMessages) {
  const SecAggParams params{.round_id = 2, .num_clients = 30, .neighbours = 4, .threshold = 2, .vector_length = 4,
                            .ring_bits = 8, .graph_seed = 3};
  SeededDrbg random(1);
  const NeighbourGraph graph(params);
  uint32_t stranger = 0;
  while (stranger == 0 || graph.AreNeighbours(0, stranger)) ++stranger;
  {
    auto client = *ClientSession::Create(params, 0, random);
    ASSERT_TRUE(client->Advertise().ok());
    KeyDirectory directory;  // names a client that is not a neighbour
    directory.neighbours = {NeighbourKeys{.client = stranger, .mask_key = {1}, .encryption_key = {2}}};
    EXPECT_EQ(client->OnKeyDirectory(Encode(directory, params)).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(client->aborted());
  }
  {
    auto client = *ClientSession::Create(params, 0, random);
    ASSERT_TRUE(client->Advertise().ok());
    KeyDirectory directory;  // two neighbours sharing one key
    for (uint32_t v : graph.Neighbours(0)) {
      directory.neighbours.push_back(NeighbourKeys{.client = v, .mask_key = {9}, .encryption_key = {9}});
    }
    EXPECT_FALSE(client->OnKeyDirectory(Encode(directory, params)).ok());
  }
  {
    auto client = *ClientSession::Create(params, 0, random);
    ASSERT_TRUE(client->Advertise().ok());
    EXPECT_FALSE(client->OnKeyDirectory(Encode(KeyDirectory{}, params)).ok());  // fewer than t neighbours
    EXPECT_EQ(client->OnShareBundle("", std::vector<uint64_t>(4)).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  {
    auto client = *ClientSession::Create(params, 0, random);
    EXPECT_EQ(client->OnKeyDirectory("").status().code(), absl::StatusCode::kFailedPrecondition);  // out of order
  }
  EXPECT_FALSE(ClientSession::Create(params, 30, random).ok());
}

TEST(ServerSessionTest, RejectsTamperedShareKeys) {
  const SecAggParams params{.round_id = 2, .num_clients = 8, .neighbours = 4, .threshold = 2, .vector_length = 4,
                            .ring_bits = 8, .graph_seed = 3};
  auto server = *ServerSession::Create(params);
  std::vector<std::unique_ptr<SeededDrbg>> randoms;
  std::vector<std::unique_ptr<ClientSession>> clients;
  for (uint32_t i = 0; i < 8; ++i) {
    randoms.push_back(std::make_unique<SeededDrbg>(i));
    clients.push_back(*ClientSession::Create(params, i, *randoms.back()));
    const std::string keys = *clients[i]->Advertise();
    ASSERT_TRUE(server->OnAdvertiseKeys(i, keys).ok());
    EXPECT_EQ(server->OnAdvertiseKeys(i, keys).code(), absl::StatusCode::kFailedPrecondition);  // twice
  }
  auto directories = *server->CloseAdvertise();
  auto shares = DecodeShareKeys(*clients[0]->OnKeyDirectory(directories[0].bytes), params);
  ASSERT_TRUE(shares.ok());
  ShareKeys missing = *shares;
  missing.shares.pop_back();  // would make the pairwise masks asymmetric
  EXPECT_EQ(server->OnShareKeys(0, Encode(missing, params)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server->OnShareKeys(1, Encode(*shares, params)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(server->OnShareKeys(0, Encode(*shares, params)).ok());
}

}  // namespace
}  // namespace fedge::secagg
