// File: aggregation/testing/reference_strategies.h
//
// Slow, obviously-correct reference implementations of every strategy of
// aggregation/, written with Eigen in double precision straight from the
// papers' formulas (full sorts instead of selections, no blocking, no
// streaming). The conformance test runs each real strategy and its
// reference over the same random rounds and compares them, as ggml's
// test-backend-ops compares every backend with the CPU one. Test-only.
//
// Thread-safety: not thread-safe.
#ifndef FEDGE_AGGREGATION_TESTING_REFERENCE_STRATEGIES_H_
#define FEDGE_AGGREGATION_TESTING_REFERENCE_STRATEGIES_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "Eigen/Core"
#include "aggregation/strategy_registry.h"

namespace fedge::testing {

// Every strategy's options in one struct, for the references below and for
// parameterised tests over all strategies. The library has no such union:
// each strategy reads its own [strategy.<name>] table
// (aggregation/strategy_registry.h); ToStrategyToml bridges the two.
struct ReferenceOptions {
  std::string name = "fedavg";
  // Unset: the strategy's default (0.01 for the FedOpt family, else 1).
  std::optional<double> server_learning_rate = std::nullopt;
  double proximal_mu = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double tau = 1e-3;
  double server_momentum = 0.9;
  double trim_fraction = 0.1;
  int64_t num_byzantine = 0;
  // multikrum: 0 means n - f.
  int64_t num_selected = 0;
  int64_t max_updates = 512;
};

// The [strategy] table contents that configure the real strategy like
// `options` (only the keys options.name reads), for CreateStrategy.
std::string ToStrategyToml(const ReferenceOptions& options);

// Row i of `updates` is update i.
Eigen::VectorXd ReferenceWeightedMean(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights);
Eigen::VectorXd ReferenceMedian(const Eigen::MatrixXd& updates);
Eigen::VectorXd ReferenceTrimmedMean(const Eigen::MatrixXd& updates, double trim_fraction);
// m == 0 means n - f.
Eigen::VectorXd ReferenceMultiKrum(const Eigen::MatrixXd& updates, int64_t f, int64_t m);

// A whole strategy (combiner + server step with state), configured like
// the real one. REQUIRES: CreateStrategy(ToStrategyToml(options)) succeeds.
class ReferenceStrategy {
 public:
  explicit ReferenceStrategy(ReferenceOptions options);

  Eigen::VectorXd Combine(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights) const;
  // Updates `global` in place and the optimizer state.
  void Apply(const Eigen::VectorXd& delta, Eigen::VectorXd& global);

 private:
  double LearningRate() const;

  ReferenceOptions options_;
  Eigen::VectorXd m_;  // first moment (FedOpt) or momentum (FedAvgM)
  Eigen::VectorXd v_;  // second moment (FedOpt)
};

// A short identifier of the options that matter for options.name, usable
// as a GoogleTest parameter name ([A-Za-z0-9_] only), e.g. "krum_f2".
std::string DescribeReferenceOptions(const ReferenceOptions& options);

}  // namespace fedge::testing

namespace fedge::testing {
// Lets GoogleTest print ReferenceOptions parameters readably.
void PrintTo(const ReferenceOptions& options, std::ostream* os);
}  // namespace fedge::testing

#endif  // FEDGE_AGGREGATION_TESTING_REFERENCE_STRATEGIES_H_
