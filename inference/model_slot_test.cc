#include "inference/model_slot.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

constexpr int kNumWeights = 4;  // distinct student CNNs
constexpr int kInputSize = 28 * 28;

// What one model answers on the fixed probe input.
struct Answer {
  std::vector<float> probs;
  int label = -1;
};

Answer Probe(InferenceEngine& engine, const std::vector<float>& input) {
  Answer a;
  a.probs.resize(engine.num_classes());
  EXPECT_TRUE(engine.Classify(input, absl::MakeSpan(a.probs), &a.label).ok());
  return a;
}

class ModelSlotTest : public ::testing::Test {
 protected:
  // Building and calibrating the CNNs dominates; do it once for the suite.
  static void SetUpTestSuite() {
    key_ = new SigningKey(testing::GenerateTestKey());
    bodies_ = new std::vector<proto::ArtifactBody>();
    for (int i = 0; i < kNumWeights; ++i) {
      bodies_->push_back(*testing::BuildCalibrated(testing::StudentCnn(100 + i), 8, 200 + i));
    }
  }
  static void TearDownTestSuite() {
    delete key_;
    delete bodies_;
  }

  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/fedge_model_slot_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    probe_ = testing::RandomNormal(kInputSize, 1.0f, 7);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Model version `version` carrying the weights of CNN `weights`.
  static std::string Artifact(uint64_t version, int weights = 0, const SigningKey* key = nullptr) {
    proto::ArtifactBody body = (*bodies_)[weights];
    body.mutable_header()->set_version(version);
    return *SignArtifact(body, key ? *key : *key_);
  }

  Answer Expected(int weights) {
    auto engine = *InferenceEngine::Load(Artifact(1, weights), key_->verify_key(), {});
    return Probe(*engine, probe_);
  }

  Answer Classify(const ModelHandle& handle) {
    Answer a;
    a.probs.resize(handle.num_classes());
    EXPECT_TRUE(handle.Classify(probe_, absl::MakeSpan(a.probs), &a.label).ok());
    return a;
  }

  std::unique_ptr<ModelSlot> NewSlot(ModelSlotOptions options = {}) {
    return std::make_unique<ModelSlot>(key_->verify_key(), std::move(options));
  }
  std::unique_ptr<ModelSlot> OpenSlot() { return *ModelSlot::Open(dir_, key_->verify_key(), {}); }
  std::string ActiveFile() const { return dir_ + "/active.fedge"; }
  std::string PreviousFile() const { return dir_ + "/previous.fedge"; }

  static SigningKey* key_;
  static std::vector<proto::ArtifactBody>* bodies_;
  std::string dir_;
  std::vector<float> probe_;
};

SigningKey* ModelSlotTest::key_ = nullptr;
std::vector<proto::ArtifactBody>* ModelSlotTest::bodies_ = nullptr;

TEST_F(ModelSlotTest, EmptySlot) {
  auto slot = NewSlot();
  EXPECT_FALSE(slot->Acquire());
  EXPECT_FALSE(slot->active_version().has_value());
  EXPECT_FALSE(slot->previous_version().has_value());
  EXPECT_EQ(slot->Rollback().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ModelSlotTest, InstallKeepsPreviousAsFallback) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
  EXPECT_EQ(slot->active_version(), 1u);
  EXPECT_FALSE(slot->previous_version().has_value());
  ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  EXPECT_EQ(slot->active_version(), 2u);
  EXPECT_EQ(slot->previous_version(), 1u);
  ModelHandle handle = slot->Acquire();
  ASSERT_TRUE(handle);
  EXPECT_EQ(handle.version(), 2u);
  EXPECT_EQ(Classify(handle).probs, Expected(1).probs);
  ASSERT_TRUE(slot->Install(Artifact(3, 2)).ok());
  EXPECT_EQ(slot->previous_version(), 2u);  // v1 dropped
  EXPECT_EQ(slot->stats().installs, 3);
  EXPECT_EQ(slot->stats().failed_installs, 0);
}

TEST_F(ModelSlotTest, TamperedArtifactIsRefusedAndOldModelServes) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
  ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  proto::SignedArtifact signed_artifact;
  ASSERT_TRUE(signed_artifact.ParseFromString(Artifact(3, 2)));
  (*signed_artifact.mutable_body())[signed_artifact.body().size() / 2] ^= 0x04;
  EXPECT_EQ(slot->Install(signed_artifact.SerializeAsString()).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(slot->active_version(), 2u);
  EXPECT_EQ(slot->previous_version(), 1u);
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(1).probs);
  EXPECT_EQ(slot->stats().failed_installs, 1);
  EXPECT_EQ(slot->stats().installs, 2);
}

TEST_F(ModelSlotTest, WrongKeyAndBadGraphAreRefused) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(1)).ok());
  const SigningKey other = testing::GenerateTestKey();
  EXPECT_EQ(slot->Install(Artifact(2, 0, &other)).code(), absl::StatusCode::kPermissionDenied);
  proto::ArtifactBody broken = (*bodies_)[0];
  broken.mutable_header()->set_version(3);
  broken.mutable_int8_graph()->mutable_ops(0)->set_weights("missing");
  EXPECT_EQ(slot->Install(*SignArtifact(broken, *key_)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(slot->Install("not an artifact").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(slot->active_version(), 1u);
  EXPECT_EQ(slot->stats().failed_installs, 3);
}

TEST_F(ModelSlotTest, OnlyNewerVersionsUnlessForced) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(5, 0)).ok());
  EXPECT_EQ(slot->Install(Artifact(4, 1)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(slot->Install(Artifact(5, 1)).code(), absl::StatusCode::kFailedPrecondition);
  proto::ArtifactBody other_family = (*bodies_)[1];
  other_family.mutable_header()->set_model_id("other");
  other_family.mutable_header()->set_version(9);
  const std::string other_bytes = *SignArtifact(other_family, *key_);
  EXPECT_EQ(slot->Install(other_bytes).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(slot->active_version(), 5u);
  EXPECT_EQ(slot->stats().failed_installs, 3);

  ASSERT_TRUE(slot->Install(Artifact(4, 1), InstallMode::kForce).ok());
  EXPECT_EQ(slot->active_version(), 4u);
  EXPECT_EQ(slot->previous_version(), 5u);
  ASSERT_TRUE(slot->Install(other_bytes, InstallMode::kForce).ok());
  EXPECT_EQ(slot->Acquire().header().model_id(), "other");
}

TEST_F(ModelSlotTest, RollbackReinstatesPreviousOnce) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
  ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  ASSERT_TRUE(slot->Rollback().ok());
  EXPECT_EQ(slot->active_version(), 1u);
  EXPECT_FALSE(slot->previous_version().has_value());
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(0).probs);
  EXPECT_EQ(slot->Rollback().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(slot->stats().rollbacks, 1);
  // The discarded version may be offered again (it is newer than v1).
  ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  EXPECT_EQ(slot->previous_version(), 1u);
}

TEST_F(ModelSlotTest, HandleOutlivesSwap) {
  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
  ModelHandle old = slot->Acquire();
  ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  ASSERT_TRUE(slot->Install(Artifact(3, 2)).ok());  // v1 no longer held by the slot
  EXPECT_EQ(old.version(), 1u);
  EXPECT_EQ(Classify(old).probs, Expected(0).probs);
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(2).probs);
}

// The realistic hook: agreement with labelled held-out examples.
absl::Status HeldOutAccuracy(InferenceEngine& engine, const std::vector<float>& inputs,
                             const std::vector<int>& labels, double threshold) {
  std::vector<float> probs(engine.num_classes() * labels.size());
  std::vector<int> predicted(labels.size());
  if (absl::Status s = engine.ClassifyBatch(inputs, absl::MakeSpan(probs), absl::MakeSpan(predicted)); !s.ok()) {
    return s;
  }
  int correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  const double accuracy = static_cast<double>(correct) / labels.size();
  if (accuracy < threshold) {
    return absl::FailedPreconditionError(absl::StrCat("held-out accuracy ", accuracy, " < ", threshold));
  }
  return absl::OkStatus();
}

TEST_F(ModelSlotTest, FailedHealthCheckKeepsServingModel) {
  // Labels are what CNN 0 predicts, so its weights pass and CNN 3's do not.
  constexpr int kHeldOut = 32;
  const std::vector<float> inputs = testing::RandomNormal(kHeldOut * kInputSize, 1.0f, 11);
  std::vector<int> labels(kHeldOut);
  {
    auto reference = *InferenceEngine::Load(Artifact(1, 0), key_->verify_key(), {});
    std::vector<float> probs(10 * kHeldOut);
    ASSERT_TRUE(reference->ClassifyBatch(inputs, absl::MakeSpan(probs), absl::MakeSpan(labels)).ok());
  }
  std::vector<uint64_t> checked;
  ModelSlotOptions options;
  options.health_check = [&](InferenceEngine& engine) {
    checked.push_back(engine.header().version());
    return HeldOutAccuracy(engine, inputs, labels, 0.9);
  };
  auto slot = NewSlot(options);
  ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
  ASSERT_TRUE(slot->Install(Artifact(2, 0)).ok());
  const absl::Status status = slot->Install(Artifact(3, 3));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("held-out accuracy"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("keeping 'test' v2"), absl::string_view::npos) << status;
  EXPECT_EQ(checked, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(slot->active_version(), 2u);
  EXPECT_EQ(slot->previous_version(), 1u);
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(0).probs);
  const ModelSlotStats stats = slot->stats();
  EXPECT_EQ(stats.installs, 2);
  EXPECT_EQ(stats.failed_installs, 1);
  EXPECT_EQ(stats.health_check_failures, 1);
}

TEST_F(ModelSlotTest, PersistsAcrossReopen) {
  {
    auto slot = OpenSlot();
    EXPECT_FALSE(slot->active_version().has_value());
    ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
    ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
    const std::string stored = *ReadFile(ActiveFile());
    // A refused install leaves the files alone.
    EXPECT_FALSE(slot->Install(Artifact(1, 2)).ok());
    EXPECT_EQ(*ReadFile(ActiveFile()), stored);
  }
  EXPECT_EQ(*ReadFile(ActiveFile()), Artifact(2, 1));
  EXPECT_EQ(*ReadFile(PreviousFile()), Artifact(1, 0));
  {
    auto slot = OpenSlot();
    EXPECT_EQ(slot->active_version(), 2u);
    EXPECT_EQ(slot->previous_version(), 1u);
    EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(1).probs);
    ASSERT_TRUE(slot->Rollback().ok());
  }
  auto slot = OpenSlot();
  EXPECT_EQ(slot->active_version(), 1u);
  EXPECT_FALSE(slot->previous_version().has_value());
  EXPECT_FALSE(std::filesystem::exists(PreviousFile()));
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(0).probs);
}

TEST_F(ModelSlotTest, CorruptedActiveFileFallsBackToPrevious) {
  {
    auto slot = OpenSlot();
    ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
    ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  }
  std::string bytes = *ReadFile(ActiveFile());
  bytes[bytes.size() / 2] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomically(ActiveFile(), bytes).ok());
  auto slot = OpenSlot();
  EXPECT_EQ(slot->active_version(), 1u);
  EXPECT_FALSE(slot->previous_version().has_value());
  EXPECT_EQ(*ReadFile(ActiveFile()), Artifact(1, 0));
  EXPECT_FALSE(std::filesystem::exists(PreviousFile()));
  EXPECT_EQ(Classify(slot->Acquire()).probs, Expected(0).probs);
}

TEST_F(ModelSlotTest, CorruptedPreviousFileIsDiscarded) {
  {
    auto slot = OpenSlot();
    ASSERT_TRUE(slot->Install(Artifact(1, 0)).ok());
    ASSERT_TRUE(slot->Install(Artifact(2, 1)).ok());
  }
  ASSERT_TRUE(WriteFileAtomically(PreviousFile(), "garbage").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/incoming.fedge", Artifact(3, 2)).ok());  // interrupted install
  auto slot = OpenSlot();
  EXPECT_EQ(slot->active_version(), 2u);
  EXPECT_FALSE(slot->previous_version().has_value());
  EXPECT_FALSE(std::filesystem::exists(PreviousFile()));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/incoming.fedge"));
  EXPECT_EQ(slot->Rollback().code(), absl::StatusCode::kFailedPrecondition);
}

// One thread classifies in a loop while this one installs and rolls back,
// waiting after each swap until the reader has used the new model. Every
// answer must be exactly what that version's model computes alone: never a
// mix of two models or a half-loaded one.
TEST_F(ModelSlotTest, ConcurrentInferenceDuringInstalls) {
  constexpr int kInstalls = 40;
  std::vector<Answer> expected;
  for (int w = 0; w < kNumWeights; ++w) expected.push_back(Expected(w));
  for (int w = 1; w < kNumWeights; ++w) ASSERT_NE(expected[w].probs, expected[0].probs);
  std::vector<std::string> artifacts;  // version v carries weights (v - 1) % kNumWeights
  for (int v = 1; v <= kInstalls; ++v) artifacts.push_back(Artifact(v, (v - 1) % kNumWeights));

  auto slot = NewSlot();
  ASSERT_TRUE(slot->Install(artifacts[0]).ok());
  std::atomic<bool> done{false};
  int mismatches = 0;
  std::atomic<int> classified{0};
  std::vector<uint64_t> seen;  // versions in the order the reader met them
  std::thread reader([&] {
    while (!done.load() || classified.load() < 200) {
      const ModelHandle handle = slot->Acquire();
      Answer a;
      a.probs.resize(handle.num_classes());
      if (!handle.Classify(probe_, absl::MakeSpan(a.probs), &a.label).ok()) ++mismatches;
      const Answer& want = expected[(handle.version() - 1) % kNumWeights];
      if (a.probs != want.probs || a.label != want.label) ++mismatches;
      if (seen.empty() || seen.back() != handle.version()) seen.push_back(handle.version());
      classified.fetch_add(1);
    }
  });
  // Waits (spinning, not sleeping) until a classification has started after
  // the last swap: the one in flight may predate it, the next cannot.
  auto wait_for_reader = [&] {
    const int mark = classified.load();
    while (classified.load() < mark + 2) std::this_thread::yield();
  };
  wait_for_reader();
  std::vector<uint64_t> published = {1};
  int rollbacks = 0;
  for (int v = 2; v <= kInstalls; ++v) {
    EXPECT_TRUE(slot->Install(artifacts[v - 1]).ok()) << v;
    published.push_back(v);
    wait_for_reader();
    if (v % 7 == 0) {
      EXPECT_TRUE(slot->Rollback().ok());
      published.push_back(v - 1);
      ++rollbacks;
      wait_for_reader();
    }
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_GE(classified.load(), 200);
  // The reader served every model in publication order, and only those.
  EXPECT_EQ(seen, published);
  EXPECT_EQ(slot->active_version(), static_cast<uint64_t>(kInstalls));
  EXPECT_EQ(slot->stats().installs, kInstalls);
  EXPECT_EQ(slot->stats().rollbacks, rollbacks);
}

}  // namespace
}  // namespace fedge
