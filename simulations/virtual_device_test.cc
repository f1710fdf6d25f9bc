#include "simulations/virtual_device.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

// Serves a 1000-byte model in chunks and records what reaches it.
class FakeCoordinator final : public Transport {
 public:
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest&) override {
    return proto::RegisterResponse();
  }
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest&) override {
    return proto::PollTaskResponse();
  }
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& r) override {
    proto::DownloadResponse response;
    response.set_offset(r.offset());
    response.set_data(std::string(std::min<uint64_t>(r.max_bytes(), 1000 - r.offset()), 'm'));
    response.set_total_size(1000);
    return response;
  }
  // Answers with the offset reached and the time the chunk arrived at.
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& r) override {
    ++uploads;
    arrivals.push_back(clock->Now());
    proto::UploadResponse response;
    response.set_committed_offset(r.offset() + r.data().size());
    response.set_accepted(r.final());
    return response;
  }
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport&) override { return proto::ReportResponse(); }
  FakeClock* clock = nullptr;  // the coordinator's
  int uploads = 0;
  std::vector<absl::Time> arrivals;
};

class CountingTrainer final : public Trainer {
 public:
  const std::string& architecture() const override { return arch_; }
  const ParamLayout& layout() const override { return layout_; }
  uint64_t num_examples() const override { return 100; }
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig&, uint64_t) override {
    ++calls;
    return TrainResult{.local = global, .num_examples = 100, .metrics = {}, .privacy = std::nullopt};
  }
  int calls = 0;

 private:
  std::string arch_ = "fake";
  ParamLayout layout_;
};

DeviceProfile Profile() {
  DeviceProfile p;
  p.id = "dev-1";
  p.bytes_per_s_down = 500;  // 1000 bytes: 2 s
  p.bytes_per_s_up = 100;
  p.latency = absl::Milliseconds(250);
  return p;
}

TEST(SimLinkTest, ChargesLatencyOncePlusBandwidthPerChunk) {
  FakeCoordinator coordinator;
  FakeClock coordinator_clock;
  FakeClock clock;
  const absl::Time start = clock.Now();
  const DeviceProfile profile = Profile();
  SimLink link(&coordinator, &coordinator_clock, &clock, profile, start + absl::Hours(1));
  proto::DownloadRequest request;
  request.set_max_bytes(400);
  for (uint64_t offset = 0; offset < 1000; offset += 400) {
    request.set_offset(offset);
    ASSERT_TRUE(link.Download(request).ok());
  }
  EXPECT_EQ(clock.Now() - start, absl::Milliseconds(250) + absl::Seconds(2));
}

TEST(SimLinkTest, UploadsReachTheCoordinatorAtTheirArrivalTime) {
  FakeClock coordinator_clock;
  FakeCoordinator coordinator;
  coordinator.clock = &coordinator_clock;
  FakeClock clock;
  const absl::Time start = clock.Now();
  const DeviceProfile profile = Profile();
  SimLink link(&coordinator, &coordinator_clock, &clock, profile, start + absl::Hours(1));
  const absl::Time predicted = link.ArrivalIfSentNow(100, 50);
  EXPECT_EQ(predicted, start + absl::Milliseconds(250) + absl::Seconds(1));
  proto::UploadRequest chunk;
  chunk.set_data(std::string(50, 'u'));
  chunk.set_total_size(100);
  auto first = link.Upload(chunk);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->committed_offset(), 50u);
  EXPECT_FALSE(first->accepted());
  chunk.set_offset(50);
  chunk.set_final(true);
  auto last = link.Upload(chunk);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->accepted());  // the coordinator's verdict, not the link's
  EXPECT_THAT(coordinator.arrivals, ::testing::ElementsAre(start + absl::Milliseconds(750), predicted));
  EXPECT_FALSE(link.refused_late());
}

TEST(SimLinkTest, NeverMovesTheCoordinatorClockBack) {
  FakeClock coordinator_clock;
  coordinator_clock.Advance(absl::Hours(2));
  const absl::Time later = coordinator_clock.Now();
  FakeCoordinator coordinator;
  coordinator.clock = &coordinator_clock;
  FakeClock clock;
  const DeviceProfile profile = Profile();
  SimLink link(&coordinator, &coordinator_clock, &clock, profile, clock.Now() + absl::Hours(1));
  proto::UploadRequest chunk;
  chunk.set_data("u");
  chunk.set_total_size(1);
  chunk.set_final(true);
  ASSERT_TRUE(link.Upload(chunk).ok());
  EXPECT_EQ(coordinator_clock.Now(), later);
}

TEST(SimLinkTest, RefusesUploadsThatWouldArriveAfterTheDeadline) {
  FakeClock coordinator_clock;
  FakeCoordinator coordinator;
  coordinator.clock = &coordinator_clock;
  FakeClock clock;
  const DeviceProfile profile = Profile();
  SimLink link(&coordinator, &coordinator_clock, &clock, profile, clock.Now() + absl::Seconds(1));
  proto::UploadRequest chunk;
  chunk.set_data(std::string(100, 'u'));  // 0.25 s latency + 1 s
  chunk.set_total_size(100);
  chunk.set_final(true);
  EXPECT_EQ(link.Upload(chunk).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(link.refused_late());
  EXPECT_EQ(coordinator.uploads, 0);
}

TEST(SimTrainerTest, ChargesComputeTimeAndSkipsDoomedWork) {
  CountingTrainer inner;
  FakeClock clock;
  const absl::Time start = clock.Now();
  proto::TrainConfig config;
  config.set_local_epochs(2);
  SimTrainer ok(&inner, &clock, /*compute_speed=*/50, /*drops_out=*/false, start + absl::Seconds(10));
  ASSERT_TRUE(ok.Train(ModelParams(), config, 1).ok());
  EXPECT_EQ(clock.Now() - start, absl::Seconds(4));  // 100 examples x 2 epochs / 50 per s
  EXPECT_FALSE(ok.simulated_failure());

  SimTrainer late(&inner, &clock, 50, false, start + absl::Seconds(7));
  EXPECT_EQ(late.Train(ModelParams(), config, 1).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(late.simulated_failure());
  SimTrainer gone(&inner, &clock, 50, /*drops_out=*/true, start + absl::Hours(1));
  EXPECT_EQ(gone.Train(ModelParams(), config, 1).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(inner.calls, 1);  // neither doomed task trained
}

TEST(PopulationTest, ProfilesAreDeterministicHeterogeneousAndSorted) {
  Scenario s;
  s.devices.compute_speed = {.mean = 100, .sigma = 1};
  Partition shards(120, std::vector<int64_t>{1, 2});
  const auto a = MakePopulation(s, shards);
  const auto b = MakePopulation(s, shards);
  ASSERT_EQ(a.size(), 120u);
  EXPECT_EQ(a[7].id, "dev-007");
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end(), [](auto& x, auto& y) { return x.id < y.id; }));
  std::set<double> speeds;
  double mean = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].compute_speed, b[i].compute_speed);
    EXPECT_EQ(a[i].examples.size(), 2u);
    speeds.insert(a[i].compute_speed);
    mean += a[i].compute_speed / a.size();
  }
  EXPECT_EQ(speeds.size(), 120u);
  EXPECT_NEAR(mean, 100, 30);
  s.devices.availability = 0.5;
  int online = 0;
  for (int r = 1; r <= 200; ++r) online += DrawFate(s, r, "dev-1").online;
  EXPECT_NEAR(online, 100, 25);
  EXPECT_EQ(DrawFate(s, 3, "dev-1").online, DrawFate(s, 3, "dev-1").online);
}

}  // namespace
}  // namespace fedge
