// FedAvg with one device and full participation must reproduce centralised
// training on that device's data step for step: the federation adds nothing
// but transport, validation and a server step of exactly the device's delta.
#include "aggregation/fedavg.h"
#include "client/device.h"
#include "client/trainer.h"
#include "coordinator/federation.h"
#include "core/random.h"
#include "gtest/gtest.h"
#include "models/dataset.h"
#include "models/testing/synthetic_data.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

constexpr uint64_t kDeviceSeed = 3;

TEST(FedAvgEquivalenceTest, OneDeviceWithFullParticipationEqualsCentralisedTraining) {
  const ImageDataset data = testing::BrightnessDataset(256, /*num_classes=*/10);
  auto model = CreateModel("cnn_small", /*seed=*/7);
  ASSERT_TRUE(model.ok());
  const ModelParams initial = ToParams(**model);

  FederationOptions options;
  options.architecture = "cnn_small";
  options.devices_per_round = 1;
  options.over_selection = 1;
  options.max_rounds = 1;
  options.train.set_local_epochs(2);
  options.train.set_batch_size(32);
  options.train.set_learning_rate(0.05);
  options.train.set_momentum(0.9);
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const VerifyKey verify_key = key->verify_key();
  FakeClock clock;
  auto federation = Federation::Create(options, std::make_unique<FedAvg>(), initial, *std::move(key), &clock,
                                       /*evaluator=*/nullptr);
  ASSERT_TRUE(federation.ok()) << federation.status();

  std::vector<int64_t> all(data.num_examples);
  for (int64_t i = 0; i < data.num_examples; ++i) all[i] = i;
  auto trainer = TorchTrainer::Create({.architecture = "cnn_small", .evaluate_local = false}, data, all);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  DeviceOptions device_options;
  device_options.device_id = "solo";
  device_options.seed = kDeviceSeed;
  auto device = Device::Create(device_options, federation->get(), &clock, trainer->get(), verify_key);
  ASSERT_TRUE(device.ok()) << device.status();
  ASSERT_TRUE((*device)->Register().ok());
  (*federation)->Tick();  // opens the round
  auto step = (*device)->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->had_task);
  ASSERT_TRUE(step->task_status.ok()) << step->task_status;
  ASSERT_EQ((*federation)->Tick().size(), 1u);
  const ModelParams federated = (*federation)->global_model();

  TrainOptions central{.epochs = 2, .batch_size = 32, .learning_rate = 0.05, .momentum = 0.9,
                       .seed = DeriveSeed(kDeviceSeed, /*round=*/1)};
  ASSERT_TRUE(Train(*model, ToTensors(data), central).ok());
  const ModelParams centralised = ToParams(**model);

  ASSERT_EQ(federated.values.size(), centralised.values.size());
  double moved = 0;
  for (size_t i = 0; i < federated.values.size(); ++i) {
    EXPECT_NEAR(federated.values[i], centralised.values[i], 1e-5) << "parameter " << i;
    moved = std::max<double>(moved, std::abs(centralised.values[i] - initial.values[i]));
  }
  EXPECT_GT(moved, 1e-3);  // training really happened
}

}  // namespace
}  // namespace fedge
