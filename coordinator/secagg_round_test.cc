// SecAggRound on its own: client sessions in memory talk to it through
// proto::SecAggRequest, as devices do through the SecAgg RPC.
#include "coordinator/secagg_round.h"

#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "secagg/client_session.h"
#include "secagg/random.h"
#include "secagg/ring_codes.h"

namespace fedge {
namespace {

constexpr uint64_t kLength = 16;
constexpr double kClip = 4;
const absl::Time kOpened = absl::FromUnixSeconds(1000);
const absl::Duration kRetry = absl::Seconds(1);

struct Client {
  std::string id;
  proto::Task task;
  std::unique_ptr<secagg::ClientSession> session;
  std::vector<int8_t> codes;
  std::string outgoing;
  int stage = 0;
  bool out = false;
};

class SecAggRoundTest : public ::testing::Test {
 protected:
  // A round of `n` devices sending `code_bits`-bit codes (int8 or int4).
  void Open(int n, SecAggOptions options = {.enabled = true, .neighbours = 4, .threshold = 3}, int code_bits = 8) {
    std::vector<std::string> cohort;
    for (int i = 0; i < n; ++i) cohort.push_back(absl::StrCat("dev-", i));
    code_bits_ = code_bits;
    round_ = std::make_unique<SecAggRound>(options, /*round=*/7, cohort, kLength, code_bits, kClip, 0,
                                           /*graph_seed=*/99, kOpened);
    clients_.clear();
    for (int i = 0; i < n; ++i) {
      Client c;
      c.id = cohort[i];
      c.task.set_round(7);
      c.task.set_task_id(absl::StrCat("task-", i));
      ASSERT_TRUE(round_->FillTask(c.id, c.task));
      const proto::SecAggTask& s = c.task.secagg();
      EXPECT_EQ(s.client_index(), static_cast<uint32_t>(i));
      EXPECT_EQ(c.task.train().update_clip_norm(), kClip);
      secagg::SecAggParams params{.round_id = 7, .num_clients = s.num_clients(), .neighbours = s.neighbours(),
                                  .threshold = s.threshold(), .vector_length = kLength,
                                  .ring_bits = static_cast<int>(s.ring_bits()), .graph_seed = s.graph_seed()};
      auto session = secagg::ClientSession::Create(params, s.client_index(), drbg_);
      ASSERT_TRUE(session.ok()) << session.status();
      c.session = *std::move(session);
      for (uint64_t j = 0; j < kLength; ++j) {
        // Codes spread over the codec's range: [-25, 24] for int8, [-7, 7] for int4.
        const int code = code_bits == 8 ? static_cast<int>((i * 7 + j * 3) % 50) - 25
                                        : static_cast<int>((i * 5 + j * 3) % 15) - 7;
        c.codes.push_back(static_cast<int8_t>(code));
      }
      c.outgoing = *c.session->Advertise();
      clients_.push_back(std::move(c));
    }
  }

  absl::StatusOr<proto::SecAggResponse> Send(Client& c, bool with_message, absl::Time now) {
    proto::SecAggRequest r;
    r.set_device_id(c.id);
    r.set_task_id(c.task.task_id());
    r.set_stage(c.stage);
    if (with_message) r.set_message(c.outgoing);
    return round_->Handle(r, now, kRetry);
  }

  // Sends every live client's current message; the ones in `silent` stop.
  void SendAll(const std::set<int>& silent, absl::Time now) {
    for (int i = 0; i < static_cast<int>(clients_.size()); ++i) {
      if (clients_[i].out || silent.contains(i)) {
        clients_[i].out = true;
        continue;
      }
      auto r = Send(clients_[i], true, now);
      if (!r.ok()) clients_[i].out = true;
    }
  }

  // Polls every live client and moves those whose stage closed on.
  void Collect(absl::Time now) {
    for (Client& c : clients_) {
      if (c.out) continue;
      auto r = Send(c, false, now);
      if (!r.ok() || !r->ready()) {
        c.out = !r.ok();
        continue;
      }
      absl::StatusOr<std::string> next;
      if (c.stage == 0) next = c.session->OnKeyDirectory(r->message());
      if (c.stage == 1) next = c.session->OnShareBundle(r->message(), *secagg::CodesToRing(c.codes, code_bits_));
      if (c.stage == 2) next = c.session->OnUnmaskRequest(r->message());
      if (c.stage == 3) next = std::string();
      ASSERT_TRUE(next.ok()) << next.status();
      c.outgoing = *next;
      ++c.stage;
    }
  }

  // The expected mean of `who`'s codes times the scale.
  std::vector<double> MeanOf(const std::vector<int>& who) const {
    const double scale = clients_[0].task.secagg().scale();
    std::vector<double> mean(kLength, 0);
    for (int i : who) {
      for (uint64_t j = 0; j < kLength; ++j) mean[j] += clients_[i].codes[j] * scale / who.size();
    }
    return mean;
  }

  // The plain sum of `who`'s codes.
  std::vector<int64_t> CodeSumOf(const std::vector<int>& who) const {
    std::vector<int64_t> sum(kLength, 0);
    for (int i : who) {
      for (uint64_t j = 0; j < kLength; ++j) sum[j] += clients_[i].codes[j];
    }
    return sum;
  }

  int code_bits_ = 8;
  secagg::SeededDrbg drbg_{5};
  std::unique_ptr<SecAggRound> round_;
  std::vector<Client> clients_;
};

TEST_F(SecAggRoundTest, AllClientsGiveTheExactMeanOfTheirCodes) {
  Open(6);
  for (int stage = 0; stage < 4; ++stage) {
    SendAll({}, kOpened);
    EXPECT_EQ(round_->stage(), stage + 1) << "closes by quorum, without waiting for the deadline";
    Collect(kOpened);
  }
  ASSERT_TRUE(round_->ended());
  auto aggregate = round_->TakeAggregate();
  ASSERT_TRUE(aggregate.ok()) << aggregate.status();
  EXPECT_EQ(aggregate->contributors, 6);
  const std::vector<double> expected = MeanOf({0, 1, 2, 3, 4, 5});
  for (uint64_t j = 0; j < kLength; ++j) EXPECT_NEAR(aggregate->mean[j], expected[j], 1e-6) << j;
  proto::RoundRecord record;
  round_->AddToRecord(record);
  EXPECT_EQ(record.metrics().at("secagg_contributors"), 6);
  EXPECT_GT(record.metrics().at("secagg_stage2_bytes_in"), 6 * kLength);
}

TEST_F(SecAggRoundTest, AStageClosesAtItsDeadlineWithoutTheSilentClients) {
  Open(8, {.enabled = true, .neighbours = 6, .threshold = 4, .stage_timeout = absl::Seconds(10)});
  SendAll({7}, kOpened);  // client 7 never advertises
  EXPECT_EQ(round_->stage(), 0);
  round_->Advance(kOpened + absl::Seconds(9));
  EXPECT_EQ(round_->stage(), 0) << "not before the deadline";
  round_->Advance(kOpened + absl::Seconds(10));
  EXPECT_EQ(round_->stage(), 1);
  Collect(kOpened + absl::Seconds(10));
  // The silent client is told it is out.
  auto late = Send(clients_[7], true, kOpened + absl::Seconds(10));
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
  absl::Time now = kOpened + absl::Seconds(10);
  for (int stage = 1; stage < 4; ++stage) {
    SendAll({6}, now);  // client 6 stops after advertising: dropped after stage 0
    if (round_->stage() == stage) {  // waiting for client 6 (stage 1 only)
      now += absl::Seconds(10);
      round_->Advance(now);
    }
    EXPECT_EQ(round_->stage(), stage + 1);
    Collect(now);
  }
  auto aggregate = round_->TakeAggregate();
  ASSERT_TRUE(aggregate.ok()) << aggregate.status();
  EXPECT_EQ(aggregate->contributors, 6);
  const std::vector<double> expected = MeanOf({0, 1, 2, 3, 4, 5});
  for (uint64_t j = 0; j < kLength; ++j) EXPECT_NEAR(aggregate->mean[j], expected[j], 1e-6) << j;
}

TEST_F(SecAggRoundTest, FewerThanTClientsFailTheRound) {
  Open(5);
  SendAll({2, 3, 4}, kOpened);
  round_->Advance(kOpened + absl::Minutes(5));
  EXPECT_TRUE(round_->ended());
  auto aggregate = round_->TakeAggregate();
  EXPECT_TRUE(absl::IsFailedPrecondition(aggregate.status())) << aggregate.status();
  EXPECT_NE(aggregate.status().message().find("advertise keys"), absl::string_view::npos);
  auto poll = Send(clients_[0], false, kOpened + absl::Minutes(5));
  EXPECT_TRUE(absl::IsFailedPrecondition(poll.status()));
}

TEST_F(SecAggRoundTest, RefusesStrangersAndMalformedMessages) {
  Open(4);
  proto::SecAggRequest r;
  r.set_device_id("intruder");
  r.set_task_id("task-0");
  EXPECT_TRUE(absl::IsPermissionDenied(round_->Handle(r, kOpened, kRetry).status()));
  r.set_device_id("dev-0");
  r.set_task_id("task-1");  // another device's task
  EXPECT_TRUE(absl::IsPermissionDenied(round_->Handle(r, kOpened, kRetry).status()));
  r.set_task_id("task-0");
  r.set_stage(9);
  EXPECT_TRUE(absl::IsInvalidArgument(round_->Handle(r, kOpened, kRetry).status()));
  r.set_stage(0);
  r.set_message("not a secagg message");
  EXPECT_TRUE(absl::IsInvalidArgument(round_->Handle(r, kOpened, kRetry).status()));
  // dev-0 is out now: the others close the stage without it.
  clients_[0].out = true;
  SendAll({}, kOpened);
  EXPECT_EQ(round_->stage(), 1);
}

TEST_F(SecAggRoundTest, ACohortOfOneCannotRunIt) {
  SecAggRound round({.enabled = true}, 1, {"only"}, kLength, 8, kClip, 0, 1, kOpened);
  EXPECT_TRUE(round.ended());
  EXPECT_TRUE(absl::IsFailedPrecondition(round.TakeAggregate().status()));
}

TEST_F(SecAggRoundTest, Int4TasksCarryTheWidthTheirRingAndA4BitScale) {
  Open(6, {.enabled = true, .neighbours = 4, .threshold = 3, .coordinate_range = 2}, /*code_bits=*/4);
  const proto::SecAggTask& s = clients_[0].task.secagg();
  EXPECT_EQ(s.code_bits(), 4u);
  EXPECT_EQ(s.ring_bits(), 4u + 3u) << "4 bits + ceil(log2 6)";
  EXPECT_DOUBLE_EQ(s.scale(), 2 * kClip / std::sqrt(static_cast<double>(kLength)) / 7);
  Open(6);
  EXPECT_EQ(clients_[0].task.secagg().code_bits(), 8u);
  EXPECT_EQ(clients_[0].task.secagg().ring_bits(), 8u + 3u);
  EXPECT_DOUBLE_EQ(clients_[0].task.secagg().scale(), 4 * kClip / std::sqrt(static_cast<double>(kLength)) / 127);
}

TEST_F(SecAggRoundTest, AnUnsupportedCodeWidthFailsTheRoundSayingWhy) {
  for (int bits : {0, 2, 5, 16}) {
    SecAggRound round({.enabled = true}, 1, {"a", "b", "c"}, kLength, bits, kClip, 0, 1, kOpened);
    EXPECT_TRUE(round.ended()) << bits;
    const absl::Status failed = round.TakeAggregate().status();
    EXPECT_TRUE(absl::IsFailedPrecondition(failed)) << failed;
    EXPECT_NE(failed.message().find("must be 8 or 4 bits wide"), absl::string_view::npos) << failed;
  }
}

TEST_F(SecAggRoundTest, Int4FewerThanTSurvivorsOfTheMaskedInputFailTheRound) {
  Open(5, {.enabled = true, .neighbours = 4, .threshold = 3}, /*code_bits=*/4);
  for (int stage = 0; stage < 2; ++stage) {
    SendAll({}, kOpened);
    Collect(kOpened);
  }
  SendAll({0, 2, 4}, kOpened);  // 2 of 5 masked inputs: fewer than t = 3
  round_->Advance(kOpened + absl::Minutes(5));
  ASSERT_TRUE(round_->ended());
  const absl::Status failed = round_->TakeAggregate().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(failed)) << failed;
  EXPECT_NE(failed.message().find("masked input"), absl::string_view::npos) << failed;
}

// 20 devices on the complete graph (k = 19 effective, t = 11 > k/2), a
// share of them going silent at one stage: the unmasked sum is exactly the
// plain sum of the survivors' codes (int8 and int4 alike). Silent at stage
// 3 (unmasking) still counts: their masked input had arrived.
struct DropoutCase {
  int code_bits;
  double rate;
  int stage;
};

class SecAggRoundDropoutTest : public SecAggRoundTest, public ::testing::WithParamInterface<DropoutCase> {};

TEST_P(SecAggRoundDropoutTest, TheUnmaskedSumIsThePlainSumOfTheSurvivorsCodes) {
  const DropoutCase p = GetParam();
  constexpr int kClients = 20;
  Open(kClients, {.enabled = true, .neighbours = 20, .threshold = 11}, p.code_bits);
  const int silent_count = static_cast<int>(std::lround(p.rate * kClients));
  std::set<int> silent;
  for (int i = 0; i < silent_count; ++i) silent.insert((3 * i + 1) % kClients);  // spread over the cohort
  absl::Time now = kOpened;
  for (int stage = 0; stage < 4; ++stage) {
    SendAll(stage == p.stage ? silent : std::set<int>(), now);
    if (round_->stage() == stage) {  // waiting for the silent devices
      now += absl::Seconds(60);
      round_->Advance(now);
    }
    ASSERT_EQ(round_->stage(), stage + 1) << "stage " << stage;
    Collect(now);
  }
  ASSERT_TRUE(round_->ended());
  auto aggregate = round_->TakeAggregate();
  ASSERT_TRUE(aggregate.ok()) << aggregate.status();
  std::vector<int> survivors;
  for (int i = 0; i < kClients; ++i) {
    if (p.stage == 3 || !silent.contains(i)) survivors.push_back(i);
  }
  ASSERT_EQ(aggregate->contributors, static_cast<int64_t>(survivors.size()));
  std::vector<std::string> expected_ids;
  for (int i : survivors) expected_ids.push_back(clients_[i].id);
  EXPECT_EQ(aggregate->contributor_ids, expected_ids);
  // The aggregate is sum * scale / contributors: recover the integer sum.
  const double scale = clients_[0].task.secagg().scale();
  const std::vector<int64_t> expected = CodeSumOf(survivors);
  for (uint64_t j = 0; j < kLength; ++j) {
    const double sum = static_cast<double>(aggregate->mean[j]) * static_cast<double>(survivors.size()) / scale;
    EXPECT_EQ(std::llround(sum), expected[j]) << "element " << j;
    EXPECT_NEAR(sum, static_cast<double>(expected[j]), 1e-3) << "element " << j;
  }
}

std::vector<DropoutCase> DropoutCases() {
  std::vector<DropoutCase> cases;
  for (int bits : {4, 8}) {
    for (double rate : {0.0, 0.1, 0.3}) {
      for (int stage = 0; stage < 4; ++stage) cases.push_back({bits, rate, stage});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(RatesAndStages, SecAggRoundDropoutTest, ::testing::ValuesIn(DropoutCases()),
                         [](const ::testing::TestParamInfo<DropoutCase>& info) {
                           return absl::StrCat("int", info.param.code_bits, "_", std::lround(info.param.rate * 100),
                                               "pct_stage", info.param.stage);
                         });

TEST(SecAggOptionsTest, Validation) {
  EXPECT_TRUE(ValidateSecAggOptions({.enabled = true}).ok());
  EXPECT_FALSE(ValidateSecAggOptions({.enabled = true, .neighbours = 3}).ok());
  EXPECT_FALSE(ValidateSecAggOptions({.enabled = true, .neighbours = 8, .threshold = 4}).ok());
  EXPECT_TRUE(ValidateSecAggOptions({.enabled = true, .neighbours = 8, .threshold = 5}).ok());
  EXPECT_FALSE(ValidateSecAggOptions({.enabled = true, .stage_timeout = absl::ZeroDuration()}).ok());
  EXPECT_TRUE(CheckSecAggStrategy("fedadam").ok());
  EXPECT_FALSE(CheckSecAggStrategy("krum").ok());
}

}  // namespace
}  // namespace fedge
