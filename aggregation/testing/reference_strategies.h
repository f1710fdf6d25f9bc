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

#include <ostream>
#include <string>

#include "Eigen/Core"
#include "aggregation/strategy_factory.h"

namespace fedge::testing {

// Row i of `updates` is update i.
Eigen::VectorXd ReferenceWeightedMean(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights);
Eigen::VectorXd ReferenceMedian(const Eigen::MatrixXd& updates);
Eigen::VectorXd ReferenceTrimmedMean(const Eigen::MatrixXd& updates, double trim_fraction);
// m == 0 means n - f.
Eigen::VectorXd ReferenceMultiKrum(const Eigen::MatrixXd& updates, int64_t f, int64_t m);

// A whole strategy (combiner + server step with state), configured like
// CreateStrategy. REQUIRES: CreateStrategy(options) succeeds.
class ReferenceStrategy {
 public:
  explicit ReferenceStrategy(StrategyOptions options);

  Eigen::VectorXd Combine(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights) const;
  // Updates `global` in place and the optimizer state.
  void Apply(const Eigen::VectorXd& delta, Eigen::VectorXd& global);

 private:
  double LearningRate() const;

  StrategyOptions options_;
  Eigen::VectorXd m_;  // first moment (FedOpt) or momentum (FedAvgM)
  Eigen::VectorXd v_;  // second moment (FedOpt)
};

// A short identifier of the options that matter for options.name, usable
// as a GoogleTest parameter name ([A-Za-z0-9_] only), e.g. "krum_f2".
std::string DescribeStrategyOptions(const StrategyOptions& options);

}  // namespace fedge::testing

namespace fedge {
// Lets GoogleTest print StrategyOptions parameters readably.
void PrintTo(const StrategyOptions& options, std::ostream* os);
}  // namespace fedge

#endif  // FEDGE_AGGREGATION_TESTING_REFERENCE_STRATEGIES_H_
