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
  void Open(int n, SecAggOptions options = {.enabled = true, .neighbours = 4, .threshold = 3}) {
    std::vector<std::string> cohort;
    for (int i = 0; i < n; ++i) cohort.push_back(absl::StrCat("dev-", i));
    round_ = std::make_unique<SecAggRound>(options, /*round=*/7, cohort, kLength, kClip, 0, /*graph_seed=*/99, kOpened);
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
      for (uint64_t j = 0; j < kLength; ++j) c.codes.push_back(static_cast<int8_t>((i * 7 + j * 3) % 50 - 25));
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
      if (c.stage == 1) next = c.session->OnShareBundle(r->message(), *secagg::CodesToRing(c.codes, 8));
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
  SecAggRound round({.enabled = true}, 1, {"only"}, kLength, kClip, 0, 1, kOpened);
  EXPECT_TRUE(round.ended());
  EXPECT_TRUE(absl::IsFailedPrecondition(round.TakeAggregate().status()));
}

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
