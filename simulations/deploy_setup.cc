#include "simulations/deploy_setup.h"

#include "absl/strings/str_cat.h"

namespace fedge {

void ReadDeployTable(ConfigSection table, int64_t rounds, const std::vector<std::string>& known_models,
                     DeploySettings* out) {
  table.Read("every_rounds", &out->every_rounds, 0, 1000000);
  table.Read("student", &out->student, known_models);
  table.Read("temperature", &out->temperature, 1e-3, 1000);
  table.Read("epochs", &out->epochs, 1, 1000);
  table.Read("batch_size", &out->batch_size, 1, 1 << 20);
  table.Read("lr", &out->lr, 1e-9, 10);
  table.Read("proxy_examples", &out->proxy_examples, 1, 1000000);
  table.Read("prune_fraction", &out->prune_fraction, 0, 0.99);
  table.Read("warm_start", &out->warm_start);
  if (out->every_rounds > rounds) {
    table.Error(absl::StrCat("'every_rounds' = ", out->every_rounds, " exceeds the scenario's ", rounds,
                             " rounds: no model would ever be deployed"));
  }
  if (out->student.empty()) table.Error("'student' must name a model of the zoo");
}

nlohmann::json DeployToJson(const DeploySettings& s) {
  return {{"every_rounds", s.every_rounds}, {"student", s.student},
          {"temperature", s.temperature},   {"epochs", s.epochs},
          {"batch_size", s.batch_size},     {"lr", s.lr},
          {"proxy_examples", s.proxy_examples}, {"prune_fraction", s.prune_fraction},
          {"warm_start", s.warm_start}};
}

}  // namespace fedge
