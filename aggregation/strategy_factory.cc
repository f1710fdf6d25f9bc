#include "aggregation/strategy_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregation/coordinate_median.h"
#include "aggregation/fedadagrad.h"
#include "aggregation/fedadam.h"
#include "aggregation/fedavg.h"
#include "aggregation/fedavgm.h"
#include "aggregation/fedprox.h"
#include "aggregation/fedyogi.h"
#include "aggregation/krum.h"
#include "aggregation/trimmed_mean.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr double kDefaultAdaptiveLearningRate = 0.01;
constexpr double kDefaultLearningRate = 1.0;

// Validates the per-strategy options and wraps the strategy, so every branch
// of CreateStrategy reads the same.
template <typename StrategyT, typename OptionsT>
absl::StatusOr<std::unique_ptr<Strategy>> Make(const OptionsT& options) {
  FEDGE_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<Strategy>(std::make_unique<StrategyT>(options));
}

absl::StatusOr<std::unique_ptr<Strategy>> MakeFedOpt(const StrategyOptions& o) {
  const FedOptOptions options{.server_learning_rate = o.server_learning_rate.value_or(kDefaultAdaptiveLearningRate),
                              .beta1 = o.beta1,
                              .beta2 = o.beta2,
                              .tau = o.tau};
  if (o.name == "fedadam") return Make<FedAdam>(options);
  if (o.name == "fedyogi") return Make<FedYogi>(options);
  return Make<FedAdagrad>(options);
}

absl::StatusOr<std::unique_ptr<Strategy>> MakeKrum(const StrategyOptions& o, double lr) {
  if (o.name == "multikrum" && o.num_selected == 1) {
    return absl::InvalidArgumentError("multikrum with num_selected = 1 is krum; use name = \"krum\" or set m >= 2");
  }
  return Make<Krum>(KrumOptions{.num_byzantine = o.num_byzantine,
                                .num_selected = o.name == "krum" ? 1 : o.num_selected,
                                .server_learning_rate = lr,
                                .max_updates = o.max_updates});
}

}  // namespace

const std::vector<std::string>& KnownStrategyNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "fedavgm", "median", "trimmed_mean", "krum",
      "multikrum"};
  return *kNames;
}

absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyOptions& o) {
  const std::string& name = o.name;
  if (name == "fedadam" || name == "fedyogi" || name == "fedadagrad") return MakeFedOpt(o);
  const double lr = o.server_learning_rate.value_or(kDefaultLearningRate);
  if (name == "fedavg") return Make<FedAvg>(FedAvgOptions{.server_learning_rate = lr});
  if (name == "fedprox") {
    return Make<FedProx>(FedProxOptions{.proximal_mu = o.proximal_mu, .server_learning_rate = lr});
  }
  if (name == "fedavgm") {
    return Make<FedAvgM>(FedAvgMOptions{.server_learning_rate = lr, .server_momentum = o.server_momentum});
  }
  if (name == "median") {
    return Make<CoordinateMedian>(CoordinateMedianOptions{.server_learning_rate = lr, .max_updates = o.max_updates});
  }
  if (name == "trimmed_mean") {
    return Make<TrimmedMean>(TrimmedMeanOptions{
        .trim_fraction = o.trim_fraction, .server_learning_rate = lr, .max_updates = o.max_updates});
  }
  if (name == "krum" || name == "multikrum") return MakeKrum(o, lr);
  return absl::InvalidArgumentError(absl::StrCat("unknown strategy name \"", name, "\"; expected one of: ",
                                                 absl::StrJoin(KnownStrategyNames(), ", ")));
}

}  // namespace fedge
