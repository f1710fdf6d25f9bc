// File: coordinator/testing/federation_fixtures.h
//
// Shared by the Federation's tests (federation_test, hostile_update_test,
// federation_store_test): a 4-parameter model, an evaluator that reports the
// sum of the weights, and the fp32 update a device would upload for a task.
// Test-only.
#ifndef FEDGE_COORDINATOR_TESTING_FEDERATION_FIXTURES_H_
#define FEDGE_COORDINATOR_TESTING_FEDERATION_FIXTURES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/evaluator.h"
#include "core/params.h"
#include "proto/fedge.pb.h"

namespace fedge::testing {

// Layout {"w": [4]}, all zeros.
ModelParams TinyModel();

// Reports {"test_sum": sum of the weights}; counts its calls.
class SumEvaluator final : public ModelEvaluator {
 public:
  absl::StatusOr<std::map<std::string, double>> Evaluate(const ModelParams& params) override;
  int calls = 0;
  // Run once, inside the next evaluation (which the Federation runs without
  // its lock): what devices do while a closed round is being evaluated.
  std::function<void()> during_next;
};

// The fp32 EncodedUpdate of `delta` for `task`, claiming `examples`.
proto::EncodedUpdate Fp32Update(const proto::Task& task, const std::vector<float>& delta, uint64_t examples = 1);

}  // namespace fedge::testing

#endif  // FEDGE_COORDINATOR_TESTING_FEDERATION_FIXTURES_H_
