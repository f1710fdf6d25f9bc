#include "coordinator/timed_state_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// A store whose writes take `write_time` on a fake clock, and fail on demand.
class SlowStore final : public StateStore {
 public:
  SlowStore(FakeClock* clock, absl::Duration write_time) : clock_(clock), write_time_(write_time) {}
  absl::Status result = absl::OkStatus();
  int appends = 0;

  absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() override { return std::nullopt; }
  absl::StatusOr<StoredState> Load() override { return StoredState(); }
  absl::Status StartRun(const RunConfig&) override { return Write(); }
  absl::Status SaveInitialModel(const StoredModel&) override { return Write(); }
  absl::Status SaveDevices(const std::vector<StoredDevice>&) override { return Write(); }
  absl::Status OpenRound(const StoredOpenRound&, const RunCounters&) override { return Write(); }
  absl::Status AppendUpdates(const AckBatch&) override {
    ++appends;
    return Write();
  }
  absl::Status CloseRound(const RoundClosure&) override { return Write(); }
  absl::Status CompleteRound(const proto::RoundRecord&, const RunCounters&) override { return Write(); }
  absl::Status SaveDeployment(const StoredDeployment&) override { return Write(); }
  absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t) override { return std::nullopt; }
  absl::Status SaveRollout(const std::string&) override { return Write(); }

 private:
  absl::Status Write() {
    clock_->Advance(write_time_);
    return result;
  }
  FakeClock* clock_;
  absl::Duration write_time_;
};

TEST(TimedStateStoreTest, RecordsEachWriteByOperationAndPassesItsResultOn) {
  FakeClock clock;
  SlowStore inner(&clock, absl::Milliseconds(2));
  metrics::Registry registry;
  TimedStateStore timed(&inner, &registry, &clock);
  ASSERT_TRUE(timed.AppendUpdates(AckBatch{}).ok());
  ASSERT_TRUE(timed.AppendUpdates(AckBatch{}).ok());
  inner.result = absl::ResourceExhaustedError("disk full");
  EXPECT_TRUE(absl::IsResourceExhausted(timed.CloseRound(RoundClosure{})));
  EXPECT_EQ(inner.appends, 2);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("fedge_store_write_seconds_bucket{op=\"append_updates\",le=\"0.001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_store_write_seconds_bucket{op=\"append_updates\",le=\"0.0025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_store_write_seconds_count{op=\"append_updates\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_store_write_seconds_sum{op=\"append_updates\"} 0.004\n"));
  EXPECT_THAT(text, HasSubstr("fedge_store_write_seconds_count{op=\"close_round\"} 1\n"));
}

}  // namespace
}  // namespace fedge
