// File: simulations/deploy_setup.h
//
// The `[deploy]` table of a scenario: the coordinator's deployment step
// (coordinator/federation.h, compression/model/distilling_deployer.h). Every
// `every_rounds` rounds the global model (teacher) is distilled into
// `student` on an unlabelled proxy set — the last `proxy_examples` images of
// the Fashion-MNIST training split, which are then held out of every
// device's shard — quantised to int8, signed, and published; sampled
// virtual devices install it into their inference ModelSlot.
//
//   [deploy]
//   every_rounds = 5        # required to enable; 0 = off
//   student = "cnn_student"
//   temperature = 2.0
//   epochs = 3              # distillation passes over the proxy set per deployment
//   batch_size = 64
//   lr = 0.002              # Adam
//   proxy_examples = 10000
//   prune_fraction = 0.0    # magnitude pruning before quantisation
//   warm_start = true       # continue from the previous deployment's student
//
// LibTorch-free. Thread-safety: plain data and free functions.
#ifndef FEDGE_SIMULATIONS_DEPLOY_SETUP_H_
#define FEDGE_SIMULATIONS_DEPLOY_SETUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

struct DeploySettings {
  int64_t every_rounds = 0;  // 0: no deployment
  std::string student = "cnn_student";
  double temperature = 2.0;
  int epochs = 3;
  int64_t batch_size = 64;
  double lr = 2e-3;
  int64_t proxy_examples = 10000;
  double prune_fraction = 0;
  bool warm_start = true;

  bool enabled() const { return every_rounds > 0; }
};

// Reads `table` (absent: deployment off) into `out`, recording errors on the
// table: `student` must be one of `known_models` (when non-empty) and
// every_rounds at most `rounds` (a deployment that never happens is a typo).
void ReadDeployTable(ConfigSection table, int64_t rounds, const std::vector<std::string>& known_models,
                     DeploySettings* out);

nlohmann::json DeployToJson(const DeploySettings& settings);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DEPLOY_SETUP_H_
