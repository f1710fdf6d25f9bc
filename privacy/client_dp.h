// File: privacy/client_dp.h
//
// Client-level differential privacy for federated averaging (DP-FedAvg,
// McMahan et al. 2018, "Learning differentially private recurrent language
// models"), applied by the coordinator over flat float buffers so that it
// wraps any streaming aggregation. Per round:
//
//   1. each device's delta Δ_i is clipped to L2 norm S while it is folded into
//      the sum: Σ_i Δ_i · min(1, S/‖Δ_i‖);
//   2. Gaussian noise N(0, (σ_Δ·S)²) is added to every coordinate of the SUM,
//      drawn from an injected `SecureRandom`;
//   3. the noised sum is divided by the EXPECTED number of devices m (fixed
//      denominator), never the number received, so that whether a device
//      took part is not revealed by the scale of the result.
//
// Optional adaptive clipping (Andrew et al. 2021, "Differentially private
// learning with adaptive clipping") tracks a target quantile γ of the update
// norms: with b_i = 1 if ‖Δ_i‖ <= S else 0, the privatised fraction
//   b̄ = (Σ_i (b_i − ½) + N(0, σ_b²)) / m + ½
// drives the geometric update S ← S · exp(−η_C (b̄ − γ)). The count release
// costs privacy too; to keep the round's total noise multiplier at z, the
// sum's noise multiplier becomes σ_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2).
//
// Each finished round is one sampled Gaussian mechanism step with the
// device sampling rate q and multiplier z; `ClientDp::Epsilon` composes them
// with the RDP accountant (privacy/rdp_accountant.h).
//
// Usage (coordinator, one round):
//   FEDGE_ASSIGN_OR_RETURN(auto dp, ClientDp::Create(options, SecureRandom::Default()));
//   auto acc = dp->BeginRound(num_elements);
//   for (each validated update) FEDGE_RETURN_IF_ERROR(acc->Add(update));
//   FEDGE_ASSIGN_OR_RETURN(std::vector<float> delta, acc->Finish(expected_clients));
//   strategy->Apply(delta, global);   // then dp->Epsilon(delta_target)
#ifndef FEDGE_PRIVACY_CLIENT_DP_H_
#define FEDGE_PRIVACY_CLIENT_DP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/random.h"
#include "core/aggregator_state.h"
#include "core/update_view.h"
#include "privacy/rdp_accountant.h"

namespace fedge {

struct ClientDpOptions {
  // S: L2 norm each device's update is clipped to (the starting value when
  // adaptive clipping is on). Finite, > 0.
  double clip_norm = 1.0;
  // z: noise multiplier of the whole per-round mechanism (sum noise std is
  // z·S without adaptive clipping). Finite, > 0.
  double noise_multiplier = 1.0;
  // q: probability that a device is sampled in a round, used by the
  // accountant. In (0, 1].
  double device_sampling_rate = 0;

  // Adaptive clipping (Andrew et al. 2021); the fields below are used only
  // when `adaptive` is true.
  bool adaptive = false;
  // γ: fraction of updates that should end up unclipped. In [0, 1].
  double target_quantile = 0.5;
  // η_C: step size of the geometric clip-norm update. Finite, > 0.
  double clip_learning_rate = 0.2;
  // σ_b: standard deviation of the noise on the unclipped count. Must exceed
  // z/2; the paper suggests m/20 for m expected devices per round.
  double count_noise = 0;
};

class ClientDpAccumulator;

// Clip factor min(1, S/‖Δ‖) for an update of L2 norm `l2_norm`. When it
// clips, the factor is shrunk by a few float ulps so that float rounding in
// the scaled accumulation cannot push the contribution's norm above S.
// REQUIRES: l2_norm finite and >= 0, clip_norm > 0.
double ClipFactor(double l2_norm, double clip_norm);

// Long-lived client-level DP state of one federation: the current clip
// norm and the number of private rounds released.
//
// Thread-compatible (the coordinator serialises rounds). Rounds are meant
// to be sequential: each Finish updates the clip norm for the next
// BeginRound.
class ClientDp {
 public:
  // Validates `options`; kInvalidArgument names the bad field. `rng` is
  // borrowed, must outlive this object and every accumulator, and should be
  // SecureRandom::Default() outside tests.
  static absl::StatusOr<std::unique_ptr<ClientDp>> Create(const ClientDpOptions& options, SecureRandom* rng);

  ClientDp(const ClientDp&) = delete;
  ClientDp& operator=(const ClientDp&) = delete;

  // Starts a round over `num_elements`-sized updates, clipping at the current
  // clip_norm(). The accumulator keeps a pointer to this object, which must
  // outlive it. REQUIRES: num_elements >= 0.
  std::unique_ptr<ClientDpAccumulator> BeginRound(int64_t num_elements);

  // Current clip norm S (changes after each round when adaptive).
  double clip_norm() const { return clip_norm_; }
  // σ_Δ: noise multiplier applied to the sum (z when not adaptive).
  double sum_noise_multiplier() const { return sum_noise_multiplier_; }
  // Rounds finished (each one released a noised result).
  int64_t rounds() const { return rounds_; }
  const ClientDpOptions& options() const { return options_; }
  // (ε, δ) spent by the rounds so far. kInvalidArgument for δ outside (0, 1).
  absl::StatusOr<PrivacyGuarantee> Epsilon(double delta) const;
  // Resumes a stored run: its clip norm and rounds released (a durable
  // coordinator stores them with each round). kDataLoss when they cannot
  // be (clip norm not finite and > 0, rounds < 0).
  absl::Status Restore(double clip_norm, int64_t rounds);

 private:
  friend class ClientDpAccumulator;
  ClientDp(const ClientDpOptions& options, SecureRandom* rng, double sum_noise_multiplier);
  // Records a finished round and, when adaptive, updates S from the
  // unclipped count. Returns the noised fraction b̄ (NaN when not adaptive).
  double CompleteRound(int64_t num_unclipped, int64_t num_updates, int64_t expected_clients);

  const ClientDpOptions options_;
  SecureRandom* const rng_;
  const double sum_noise_multiplier_;
  double clip_norm_;
  int64_t rounds_ = 0;
};

// Clips, sums and noises the updates of one round; created by
// ClientDp::BeginRound. Memory: one float per element plus one double per
// update for the norm bookkeeping. Thread-compatible.
class ClientDpAccumulator {
 public:
  // Clips `update` to the round's clip norm and adds it to the sum.
  // kInvalidArgument when its size differs from the round's or it holds a
  // non-finite value; kFailedPrecondition after Finish.
  absl::Status Add(const UpdateView& update);
  absl::Status Add(absl::Span<const float> update);

  // Adds the noise to the sum, divides by `expected_clients` (the expected
  // number of sampled devices m, not the number received) and returns the
  // privatised mean delta; updates the owner's clip norm and round count.
  // Releases a result even with zero updates (that is what DP requires).
  // Draws the sum noise, then (adaptive only) the count noise, from the
  // owner's SecureRandom.
  // kInvalidArgument if expected_clients < 1; kFailedPrecondition if called
  // twice.
  absl::StatusOr<std::vector<float>> Finish(int64_t expected_clients);

  int64_t num_updates() const { return static_cast<int64_t>(norms_.size()); }

  // Checkpoints (RoundAggregator::SaveState): the clipped sum; values =
  // {clip norm, unclipped count, then each update's norm}. Restoring needs
  // an accumulator of the same size and clip norm (kDataLoss otherwise);
  // kFailedPrecondition after Finish.
  AggregatorState SaveState() const;
  absl::Status RestoreState(const AggregatorState& state);

  // Updates whose norm was <= clip_norm() (they were not scaled).
  int64_t num_unclipped() const { return num_unclipped_; }
  // The clip norm S this round uses.
  double clip_norm() const { return clip_norm_; }
  // Unclipped L2 norms of the updates in arrival order. NOT privatised: for
  // simulations and diagnostics, never for release.
  const std::vector<double>& norms() const { return norms_; }
  // The privatised unclipped fraction b̄ computed by Finish (adaptive only;
  // NaN before Finish or when not adaptive).
  double noised_unclipped_fraction() const { return noised_fraction_; }

 private:
  friend class ClientDp;
  ClientDpAccumulator(ClientDp* owner, int64_t num_elements);

  ClientDp* const owner_;
  const double clip_norm_;
  std::vector<float> sum_;
  std::vector<double> norms_;
  int64_t num_unclipped_ = 0;
  double noised_fraction_;
  bool finished_ = false;
};

}  // namespace fedge

#endif  // FEDGE_PRIVACY_CLIENT_DP_H_
