// File: simulations/testing/small_data.h
//
// For simulator tests that need real images but must stay fast: the first
// few thousand examples of the real Fashion-MNIST splits, and a runner of
// every round of a scenario.
#ifndef FEDGE_SIMULATIONS_TESTING_SMALL_DATA_H_
#define FEDGE_SIMULATIONS_TESTING_SMALL_DATA_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/idx.h"
#include "core/status.h"
#include "simulations/simulator.h"

namespace fedge::testing {

// The first `n` examples of `data`. REQUIRES: n <= data.num_examples.
inline ImageDataset Head(const ImageDataset& data, int64_t n) {
  ImageDataset head = data;
  head.num_examples = n;
  head.images.resize(n * data.rows * data.cols);
  head.labels.resize(n);
  return head;
}

// The first `train_examples` / `test_examples` of the installed Fashion-MNIST.
inline absl::StatusOr<SimulationData> SmallFashionMnist(int64_t train_examples, int64_t test_examples) {
  FEDGE_ASSIGN_OR_RETURN(ImageDataset train, LoadFashionMnist(kDefaultFashionMnistDir, "train"));
  FEDGE_ASSIGN_OR_RETURN(ImageDataset test, LoadFashionMnist(kDefaultFashionMnistDir, "test"));
  return SimulationData{Head(train, train_examples), Head(test, test_examples)};
}

// Creates a simulator for `scenario` on `data` and runs every round; the
// rows in order, or the first error.
inline absl::StatusOr<std::vector<RoundRow>> RunAllRounds(const Scenario& scenario, const SimulationData& data,
                                                          TransportKind transport = TransportKind::kInProcess) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Simulator> sim, Simulator::Create(scenario, data, transport));
  std::vector<RoundRow> rows;
  while (!sim->finished()) {
    FEDGE_ASSIGN_OR_RETURN(RoundRow row, sim->RunRound());
    rows.push_back(row);
  }
  return rows;
}

}  // namespace fedge::testing

#endif  // FEDGE_SIMULATIONS_TESTING_SMALL_DATA_H_
