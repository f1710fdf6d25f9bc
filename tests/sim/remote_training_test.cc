// Remote training (simulations/remote_training.h) end to end without MPI:
// the simulator's cohort is split over "ranks" that are TrainingServers in
// this process, behind an in-process TrainingChannel. The run must equal a
// run without remote training bit for bit (rounds and final model), with
// the features whose state stays on rank 0 switched on: top-k error
// feedback, DP-SGD (noise stream rebuilt on the worker), a label-flipping
// attack (data rebuilt on the worker) and dropouts.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/mpi_messages.h"
#include "simulations/remote_training.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// Rank r > 0 is servers[r - 1]; counts the calls each rank answers.
class LoopbackChannel final : public TrainingChannel {
 public:
  explicit LoopbackChannel(std::vector<const TrainingServer*> servers)
      : servers_(std::move(servers)), calls_(servers_.size() + 1) {}
  int ranks() const override { return static_cast<int>(servers_.size()) + 1; }
  absl::StatusOr<std::string> Call(int rank, std::string request) override {
    ++calls_[rank];
    if (broken_) return absl::UnavailableError("the link is down");
    return servers_[rank - 1]->Handle(request);
  }
  int calls(int rank) const { return calls_[rank].load(); }
  void Break() { broken_ = true; }

 private:
  std::vector<const TrainingServer*> servers_;
  std::vector<std::atomic<int>> calls_;
  std::atomic<bool> broken_{false};
};

class RemoteTrainingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(3000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  static Scenario Small() {
    Scenario s;
    s.name = "remote";
    s.seed = 19;
    s.federation.rounds = 3;
    s.population.num_devices = 12;
    s.federation.devices_per_round = 5;
    s.federation.over_selection = 1.4;
    s.federation.evaluate_every = 1;
    s.data.partition = "dirichlet";
    s.data.alpha = 0.5;
    s.data.max_examples_per_device = 40;
    s.training.batch_size = 16;
    s.training.codec = "topk:0.1>int8";
    s.dp.enabled = true;
    s.dp.noise_multiplier = 0.8;
    s.dp.clip_norm = 1.0;
    s.attack.fraction = 0.2;
    s.attack.kind = "label_flip";
    s.devices.dropout = 0.1;
    s.run.workers = 2;
    return s;
  }

  struct Outcome {
    std::string csv;  // rounds without the wall-time column
    std::string model;
  };

  // Runs `s` to the end, training remotely through `remote` when not null.
  static absl::StatusOr<Outcome> Run(const Scenario& s, RemoteTraining* remote) {
    FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Simulator> sim, Simulator::Create(s, *data_));
    FEDGE_RETURN_IF_ERROR(sim->TrainOn(remote));
    RunReport report(s);
    while (!sim->finished()) {
      FEDGE_ASSIGN_OR_RETURN(RoundRow row, sim->RunRound());
      report.AddRound(row);
    }
    Outcome out;
    for (absl::string_view line : absl::StrSplit(report.RoundsCsv(), '\n')) {
      out.csv += std::string(line.substr(0, line.rfind(','))) + "\n";
    }
    const std::string path = (std::filesystem::temp_directory_path() / "fedge_remote_training_model.pb").string();
    FEDGE_RETURN_IF_ERROR(sim->WriteModel(path));
    FEDGE_ASSIGN_OR_RETURN(out.model, ReadFile(path));
    std::filesystem::remove(path);
    return out;
  }

  static SimulationData* data_;
};

SimulationData* RemoteTrainingTest::data_ = nullptr;

TEST_F(RemoteTrainingTest, ThreeRanksGiveTheRoundsAndModelOfOneProcess) {
  const Scenario s = Small();
  absl::StatusOr<Outcome> alone = Run(s, nullptr);
  ASSERT_TRUE(alone.ok()) << alone.status();

  TrainingServer one(s, data_->train), two(s, data_->train);
  LoopbackChannel channel({&one, &two});
  RemoteTraining remote(&channel);
  absl::StatusOr<Outcome> split = Run(s, &remote);
  ASSERT_TRUE(split.ok()) << split.status();
  // Both other ranks trained (after the handshake call each).
  EXPECT_GT(channel.calls(1), 1);
  EXPECT_GT(channel.calls(2), 1);
  EXPECT_EQ(alone->csv, split->csv);
  EXPECT_TRUE(alone->model == split->model) << "the final models differ";
  EXPECT_EQ(std::count(alone->csv.begin(), alone->csv.end(), '\n'), 1 + 3 + 1);  // header, 3 rounds, end
}

TEST_F(RemoteTrainingTest, OwnersSplitTheCohortInOrder) {
  TrainingServer one(Small(), data_->train);
  LoopbackChannel channel({&one, &one, &one});
  RemoteTraining remote(&channel);
  std::vector<int> owners;
  for (size_t k = 0; k < 8; ++k) owners.push_back(remote.OwnerOf(k, 8));
  EXPECT_EQ(owners, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(remote.OwnerOf(0, 1), 0);  // fewer devices than ranks: idle ranks
}

TEST_F(RemoteTrainingTest, AWorkerWithAnotherScenarioIsRefusedAtStart) {
  Scenario other = Small();
  other.seed = 20;
  TrainingServer wrong(other, data_->train);
  LoopbackChannel channel({&wrong});
  RemoteTraining remote(&channel);
  absl::StatusOr<std::unique_ptr<Simulator>> sim = Simulator::Create(Small(), *data_);
  ASSERT_TRUE(sim.ok()) << sim.status();
  absl::Status started = (*sim)->TrainOn(&remote);
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(started.message(), HasSubstr("rank 1"));
  EXPECT_THAT(started.message(), HasSubstr("same scenario file"));
}

TEST_F(RemoteTrainingTest, AWorkerWithoutDataIsRefusedAtStart) {
  TrainingServer no_data(Small(), absl::NotFoundError("no /nowhere/train-images-idx3-ubyte"));
  LoopbackChannel channel({&no_data});
  RemoteTraining remote(&channel);
  absl::Status started = remote.Start(Small(), ScenarioFingerprint(Small(), data_->train));
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(started.message(), HasSubstr("/nowhere"));
}

TEST_F(RemoteTrainingTest, DriftScenariosAreRefused) {
  Scenario s = Small();
  s.drift.kind = DriftKind::kRotation;
  absl::Status refused = CheckRemoteTrainable(s);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("[drift]"));
}

TEST_F(RemoteTrainingTest, ALinkFailureStopsTheRoundWithItsStatus) {
  const Scenario s = Small();
  TrainingServer one(s, data_->train);
  LoopbackChannel channel({&one});
  RemoteTraining remote(&channel);
  absl::StatusOr<std::unique_ptr<Simulator>> sim = Simulator::Create(s, *data_);
  ASSERT_TRUE(sim.ok()) << sim.status();
  ASSERT_TRUE((*sim)->TrainOn(&remote).ok());
  channel.Break();
  absl::StatusOr<RoundRow> row = (*sim)->RunRound();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(row.status().message(), HasSubstr("rank 1"));
}

TEST_F(RemoteTrainingTest, AServerAnswersHostileBytesWithAnError) {
  TrainingServer one(Small(), data_->train);
  for (const std::string& bytes : {std::string(), std::string("FGMP"), std::string("garbage bytes here"),
                                   EncodeMpiStop(), EncodeMpiTrainReply({})}) {
    absl::StatusOr<MpiTrainReply> reply = DecodeMpiTrainReply(one.Handle(bytes));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply->status.ok());
  }
  // Device 0 with a model of the wrong size.
  absl::StatusOr<MpiTrainReply> wrong_size =
      DecodeMpiTrainReply(one.Handle(EncodeMpiTrainRequest({.device_index = 0, .global = {1.0f, 2.0f}})));
  ASSERT_TRUE(wrong_size.ok()) << wrong_size.status();
  EXPECT_FALSE(wrong_size->status.ok());
  MpiTrainRequest out_of_range{.device_index = 1000};
  absl::StatusOr<MpiTrainReply> reply = DecodeMpiTrainReply(one.Handle(EncodeMpiTrainRequest(out_of_range)));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply->status.message(), HasSubstr("population"));
}

}  // namespace
}  // namespace fedge
