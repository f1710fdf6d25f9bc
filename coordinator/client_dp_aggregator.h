// File: coordinator/client_dp_aggregator.h
//
// Adapts client-level differential privacy (privacy/client_dp.h, DP-FedAvg)
// to the `RoundAggregator` seam, so a Federation with client DP runs the
// same round logic: each accepted update is clipped to the current norm S
// and summed with weight 1 (example counts would leak and unbound the
// sensitivity), and the round releases the noised sum divided by the
// expected number of devices. The strategy then takes its server step with
// that privatised delta.
//
// Thread-safety: not thread-safe; the Federation serialises access.
#ifndef FEDGE_COORDINATOR_CLIENT_DP_AGGREGATOR_H_
#define FEDGE_COORDINATOR_CLIENT_DP_AGGREGATOR_H_

#include <memory>

#include "aggregation/strategy.h"
#include "privacy/client_dp.h"

namespace fedge {

class ClientDpAggregator final : public RoundAggregator {
 public:
  // `expected_clients` (>= 1) is the fixed denominator: the round's target.
  ClientDpAggregator(std::unique_ptr<ClientDpAccumulator> accumulator, int64_t expected_clients)
      : accumulator_(std::move(accumulator)), expected_clients_(expected_clients) {}

  absl::Status Add(const UpdateView& update, double /*weight: ignored, see above*/) override {
    return accumulator_->Add(update);
  }
  int64_t num_updates() const override { return accumulator_->num_updates(); }
  std::optional<AggregatorState> SaveState() const override { return accumulator_->SaveState(); }
  absl::Status RestoreState(const AggregatorState& state) override { return accumulator_->RestoreState(state); }
  absl::StatusOr<std::vector<float>> Finish() override { return accumulator_->Finish(expected_clients_); }

 private:
  std::unique_ptr<ClientDpAccumulator> accumulator_;
  int64_t expected_clients_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_CLIENT_DP_AGGREGATOR_H_
