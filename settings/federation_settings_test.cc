#include "settings/federation_settings.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "settings/renamed_keys.h"

namespace fedge {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Reads `toml` as a federation-only file (every key must be the schema's).
absl::StatusOr<FederationSettings> Read(const std::string& toml, SettingsChecks checks = {}) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(toml, "test.toml");
  if (!file.ok()) return file.status();
  FederationSettings settings;
  ReadFederationSettings(file->root(), checks, &settings);
  if (absl::Status status = file->Finish(); !status.ok()) return status;
  return settings;
}

std::string ErrorOf(const std::string& toml, SettingsChecks checks = {}) {
  absl::StatusOr<FederationSettings> s = Read(toml, std::move(checks));
  return s.ok() ? "OK" : std::string(s.status().message());
}

TEST(FederationSettingsTest, EmptyFileGivesTheDefaults) {
  absl::StatusOr<FederationSettings> s = Read("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(FederationSettingsToJson(*s), FederationSettingsToJson(FederationSettings{}));
  EXPECT_EQ(s->strategy.name, "fedavg");
  EXPECT_FALSE(s->dp.enabled);
  EXPECT_FALSE(s->deploy.enabled());
}

TEST(FederationSettingsTest, ReadsEveryTable) {
  absl::StatusOr<FederationSettings> s = Read(R"(
name = "fleet"
seed = 7
[model]
name = "mlp"
[federation]
rounds = 20
min_devices = 4
fraction = 0.5
over_selection = 1.0
round_deadline_s = 30
poll_interval_ms = 250
download_chunk_bytes = 4096
max_update_norm = 50
favour_drifting = false
extra_round_drift_fraction = 0.25
max_extra_rounds = 3
[training]
learning_rate = 0.1
codec = "topk:0.1>int8>zstd"
max_examples = 500
[strategy]
name = "fedadam"
[dp]
noise_multiplier = 1.1
clip_norm = 1.0
device_epsilon = 8
[client_dp]
clip_norm = 2.0
sampling_rate = 0.2
[deploy]
every_rounds = 5
learning_rate = 0.01
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "fleet");
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->model.name, "mlp");
  EXPECT_EQ(s->model.shape.input_features, 0);  // the image models' own
  EXPECT_EQ(s->model.shape.num_classes, 10);
  EXPECT_EQ(s->federation.rounds, 20);
  EXPECT_EQ(s->federation.fraction, 0.5);
  EXPECT_EQ(s->federation.poll_interval_ms, 250);
  EXPECT_FALSE(s->federation.favour_drifting);
  EXPECT_EQ(s->federation.max_extra_rounds, 3);
  EXPECT_EQ(s->training.learning_rate, 0.1);
  EXPECT_EQ(s->training.codec, "topk:0.1>int8>zstd");
  EXPECT_EQ(s->strategy.name, "fedadam");
  EXPECT_TRUE(s->dp.enabled);
  EXPECT_EQ(s->dp.device_epsilon, 8);
  EXPECT_TRUE(s->client_dp.enabled);
  EXPECT_EQ(DeviceSamplingRate(*s, 100), 0.2);
  EXPECT_EQ(s->deploy.every_rounds, 5);
  EXPECT_EQ(s->deploy.learning_rate, 0.01);
}

TEST(FederationSettingsTest, EveryRenamedKeyNamesItsReplacement) {
  for (const RenamedKey& renamed : RenamedKeys()) {
    const std::string old_key(renamed.old_key);
    const size_t dot = old_key.find('.');
    std::string toml;
    if (old_key == "model") {
      toml = "model = \"cnn_small\"\n";
    } else if (old_key == "selection" || old_key == "train" || old_key == "privacy") {
      toml = absl::StrCat("[", old_key, "]\nx = 1\n");
    } else if (dot == std::string::npos) {
      toml = absl::StrCat(old_key, " = 1\n");
    } else {
      toml = absl::StrCat("[", old_key.substr(0, dot), "]\n", old_key.substr(dot + 1), " = 1\n");
    }
    const std::string error = ErrorOf(toml);
    EXPECT_THAT(error, AllOf(HasSubstr(std::string(renamed.replacement)), HasSubstr("was renamed"),
                             Not(HasSubstr("unknown key"))))
        << "old key " << old_key << " in:\n" << toml;
  }
}

TEST(FederationSettingsTest, TheNewModelTableIsNotMistakenForTheOldKey) {
  EXPECT_EQ(ErrorOf("[model]\nname = \"cnn_small\"\n"), "OK");
}

TEST(FederationSettingsTest, OutOfRangeValuesNameTheirKey) {
  EXPECT_THAT(ErrorOf("[training]\nlearning_rate = 0\n"), HasSubstr("training.learning_rate"));
  EXPECT_THAT(ErrorOf("[federation]\nover_selection = 0.5\n"), HasSubstr("federation.over_selection"));
  EXPECT_THAT(ErrorOf("[training]\ncodec = \"int3\"\n"), HasSubstr("'codec'"));
  EXPECT_THAT(ErrorOf("[model]\nname = \"resnet\"\n", {.known_models = {"cnn_small"}}), HasSubstr("model.name"));
  // TorchScript files are checked when the model is built (models/model_registry.h).
  EXPECT_EQ(ErrorOf("[model]\nname = \"torchscript:my_net.pt\"\n", {.known_models = {"cnn_small"}}), "OK");
  EXPECT_THAT(ErrorOf("[model]\ninput_features = -1\n"), HasSubstr("model.input_features"));
  EXPECT_THAT(ErrorOf("[model]\nnum_classes = 1\n"), HasSubstr("model.num_classes"));
  EXPECT_THAT(ErrorOf("[federation]\nround = 3\n"), HasSubstr("unknown key 'federation.round'"));
}

TEST(FederationSettingsTest, CrossFieldRules) {
  EXPECT_THAT(ErrorOf("[federation]\ndevices_per_round = 3\nfraction = 0.1\n"),
              HasSubstr("either 'devices_per_round' or 'fraction'"));
  EXPECT_THAT(ErrorOf("[training]\noptimizer = \"adam\"\n[dp]\nnoise_multiplier = 1\nclip_norm = 1\n"),
              HasSubstr("DP-SGD trains with the sgd optimizer"));
  EXPECT_THAT(ErrorOf("[dp]\nclip_norm = 1\n"), HasSubstr("'noise_multiplier' is required"));
  EXPECT_EQ(ErrorOf("[dp]\nenabled = false\nclip_norm = 1\n"), "OK");
  EXPECT_THAT(ErrorOf("[federation]\ndevices_per_round = 5\n[strategy]\nname = \"krum\"\n[strategy.krum]\n"
                      "num_byzantine = 2\n"),
              HasSubstr("needs at least 7 updates per round"));
  EXPECT_THAT(ErrorOf("[federation]\nrounds = 3\n[deploy]\nevery_rounds = 5\n"),
              HasSubstr("exceeds federation.rounds"));
  EXPECT_THAT(ErrorOf("[client_dp]\nadaptive = true\n"), HasSubstr("count_noise"));
}

TEST(FederationSettingsTest, RolloutTable) {
  absl::StatusOr<FederationSettings> s = Read(
      "[rollout]\nfractions = [0.2, 0.5, 1.0]\nmin_devices = [1, 2, 1]\nsoak_s = [5]\nmax_failure_share = 0.3\n"
      "min_accuracy = 0.25\n[deploy]\nevery_rounds = 1\ntest_degrade_from_version = 2\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->rollout.enabled);
  EXPECT_EQ(s->rollout.fractions, (std::vector<double>{0.2, 0.5, 1.0}));
  EXPECT_EQ(s->rollout.min_devices, (std::vector<double>{1, 2, 1}));
  EXPECT_EQ(s->rollout.soak_s, (std::vector<double>{5, 5, 5}));  // a one-entry array: every stage
  EXPECT_EQ(s->rollout.max_failure_share, 0.3);
  EXPECT_EQ(s->deploy.test_degrade_from_version, 2);
  EXPECT_FALSE(Read("")->rollout.enabled);
  EXPECT_FALSE(Read("[rollout]\nenabled = false\n")->rollout.enabled);
  EXPECT_THAT(ErrorOf("[rollout]\nfractions = [0.5, 0.2, 1.0]\n"), HasSubstr("non-decreasing"));
  EXPECT_THAT(ErrorOf("[rollout]\nfractions = [0.1, 0.5]\n"), HasSubstr("must be 1"));
  EXPECT_THAT(ErrorOf("[rollout]\nfractions = [0.1, 1.0]\nmin_devices = [1, 2, 3]\n"),
              HasSubstr("one entry per stage"));
  EXPECT_THAT(ErrorOf("[rollout]\nmin_devices = [1.5]\n"), HasSubstr("integers"));
  EXPECT_THAT(ErrorOf("[rollout]\nmax_failure_share = 1\n"), HasSubstr("max_failure_share"));
}

TEST(FederationSettingsTest, SecAggTable) {
  absl::StatusOr<FederationSettings> s = Read(
      "[training]\nupdate_clip_norm = 2\n[secagg]\nneighbours = 8\nthreshold = 5\nstage_timeout_s = 30\n"
      "coordinate_range = 3\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->secagg.enabled);
  EXPECT_EQ(s->secagg.neighbours, 8);
  EXPECT_EQ(s->secagg.threshold, 5);
  EXPECT_EQ(s->secagg.stage_timeout_s, 30);
  EXPECT_EQ(s->secagg.coordinate_range, 3);
  EXPECT_EQ(FederationSettingsToJson(*s)["secagg"]["neighbours"], 8);
  EXPECT_FALSE(Read("")->secagg.enabled);
  EXPECT_FALSE(Read("[secagg]\nenabled = false\n")->secagg.enabled);
  const std::string clip = "[training]\nupdate_clip_norm = 2\n";
  EXPECT_THAT(ErrorOf(clip + "[secagg]\nneighbours = 7\n"), HasSubstr("even"));
  EXPECT_THAT(ErrorOf(clip + "[secagg]\nneighbours = 8\nthreshold = 4\n"), HasSubstr("(4, 8]"));
  EXPECT_THAT(ErrorOf("[secagg]\n"), HasSubstr("update_clip_norm"));
  EXPECT_THAT(ErrorOf(clip + "[strategy]\nname = \"median\"\n[secagg]\n"), HasSubstr("needs each update"));
  EXPECT_THAT(ErrorOf(clip + "codec = \"topk:0.01>int8\"\n[secagg]\n"), HasSubstr("fp32"));
  EXPECT_THAT(ErrorOf("[client_dp]\nadaptive = true\ncount_noise = 5\n[secagg]\n"), HasSubstr("adaptive"));
  // The code width follows training.codec: int4 pipelines give 4-bit codes.
  EXPECT_TRUE(Read(clip + "codec = \"int4\"\n[secagg]\n").ok());
  EXPECT_TRUE(Read(clip + "codec = \"int4:64\"\n[secagg]\n").ok());
  EXPECT_THAT(ErrorOf(clip + "codec = \"sign\"\n[secagg]\n"), HasSubstr("\"int4\""));
  EXPECT_THAT(ErrorOf(clip + "codec = \"int4>zstd\"\n[secagg]\n"), HasSubstr("without top-k or zstd"));
}

TEST(FederationSettingsTest, SecAggCodeBitsFollowTheCodec) {
  EXPECT_EQ(*SecAggCodeBits(""), 8);
  EXPECT_EQ(*SecAggCodeBits("fp32"), 8);
  EXPECT_EQ(*SecAggCodeBits("int8"), 8);
  EXPECT_EQ(*SecAggCodeBits("int8:128"), 8);
  EXPECT_EQ(*SecAggCodeBits("int4"), 4);
  EXPECT_EQ(*SecAggCodeBits("int4:32"), 4);
  for (const char* refused : {"fp16", "sign", "topk:0.1>int4", "int8>zstd", "nonsense"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(SecAggCodeBits(refused).status())) << refused;
  }
}

TEST(FederationSettingsTest, SelectionArithmetic) {
  FederationSettings s;
  s.federation.devices_per_round = 5;
  s.federation.over_selection = 1.3;
  EXPECT_EQ(UpdatesPerRound(s, 100), 5);
  EXPECT_DOUBLE_EQ(DeviceSamplingRate(s, 100), 7.0 / 100);
  // Unknown population: min_devices stands in, overstating the rate.
  s.federation.min_devices = 10;
  EXPECT_DOUBLE_EQ(DeviceSamplingRate(s, 0), 7.0 / 10);
  s.federation.fraction = 0.25;
  EXPECT_EQ(UpdatesPerRound(s, 100), 25);
  EXPECT_EQ(UpdatesPerRound(s, 0), 3);
  EXPECT_DOUBLE_EQ(DeviceSamplingRate(s, 4), 2.0 / 4);  // ceil(ceil(0.25 * 4) * 1.3)
}

TEST(FederationSettingsTest, SeedStreamsDifferAndFollowTheSeed) {
  FederationSettings a, b;
  b.seed = 2;
  EXPECT_NE(SeedFor(a, SeedStream::kModel), SeedFor(a, SeedStream::kSelection));
  EXPECT_NE(SeedFor(a, SeedStream::kModel), SeedFor(b, SeedStream::kModel));
}

TEST(FederationSettingsTest, DeviceKeysUseTheSameRanges) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("[dp]\ndevice_epsilon = -1\n", "device.toml");
  ASSERT_TRUE(file.ok());
  DpSettings dp;
  ReadDeviceBudget(file->root().Section("dp"), &dp);
  EXPECT_THAT(std::string(file->Finish().message()), HasSubstr("dp.device_epsilon"));
}

}  // namespace
}  // namespace fedge

namespace fedge {
namespace {

TEST(AsyncSettingsTest, ModeAndTableAreReadAndOnlyAsyncRunsNameThem) {
  absl::StatusOr<FederationSettings> s = Read(R"(
[federation]
mode = "async"
[async]
buffer_size = 4
staleness_exponent = 1.5
max_staleness = 3
max_concurrent = 12
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->async_mode());
  EXPECT_EQ(s->async.buffer_size, 4);
  EXPECT_DOUBLE_EQ(s->async.staleness_exponent, 1.5);
  EXPECT_EQ(s->async.max_staleness, 3);
  EXPECT_EQ(s->async.max_concurrent, 12);
  const nlohmann::json j = FederationSettingsToJson(*s);
  EXPECT_EQ(j["federation"]["mode"], "async");
  EXPECT_EQ(j["async"]["buffer_size"], 4);
  // A server step's updates stand in for a round's.
  EXPECT_EQ(UpdatesPerRound(*s, 100), 4);
  EXPECT_DOUBLE_EQ(DeviceSamplingRate(*s, 100), 0.04);
  // A sync run's JSON does not change.
  absl::StatusOr<FederationSettings> sync = Read("");
  ASSERT_TRUE(sync.ok());
  EXPECT_FALSE(FederationSettingsToJson(*sync)["federation"].contains("mode"));
  EXPECT_FALSE(FederationSettingsToJson(*sync).contains("async"));
}

TEST(AsyncSettingsTest, BadValuesAreNamed) {
  EXPECT_THAT(ErrorOf("[federation]\nmode = \"later\"\n"), HasSubstr("mode"));
  EXPECT_THAT(ErrorOf("[federation]\nmode = \"async\"\n[async]\nbuffer_size = 0\n"), HasSubstr("buffer_size"));
  EXPECT_THAT(ErrorOf("[federation]\nmode = \"async\"\n[async]\nbuffer_size = 8\nmax_concurrent = 4\n"),
              HasSubstr("'max_concurrent' = 4 is below 'buffer_size' = 8"));
  EXPECT_THAT(ErrorOf("[federation]\nmode = \"async\"\n[rollout]\nfractions = [1.0]\n"),
              HasSubstr("staged rollout needs rounds"));
  EXPECT_THAT(ErrorOf("[async]\nmax_staleness = -1\n"), HasSubstr("max_staleness"));
}

}  // namespace
}  // namespace fedge
