// File: privacy/rdp_accountant.h
//
// Rényi differential privacy (RDP) accounting for the sampled Gaussian
// mechanism (SGM): each step includes every record independently with
// probability q (Poisson sampling), sums the records' clipped contributions
// and adds N(0, σ²·S²) noise, where S is the clipping norm. This is the
// mechanism of DP-SGD (per example) and of DP-FedAvg (per device).
//
//  * `SampledGaussianRdp` gives the RDP of one step at one order α
//    (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled
//    Gaussian Mechanism"), for integer and fractional α, in log space.
//  * RDP composes additively: T steps cost T times the per-step RDP, and
//    heterogeneous mechanisms add order by order (`RdpAccountant`).
//  * `RdpToEpsilon` converts an RDP curve to (ε, δ)-DP with the conversion of
//    Balle et al. 2020 ("Hypothesis testing interpretations and Rényi DP"),
//    minimised over the orders.
//  * `FindNoiseMultiplier` inverts the map: the smallest σ that meets a
//    target ε.
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(PrivacyGuarantee g,
//                          ComputeEpsilon({.sample_rate = 0.01, .noise_multiplier = 1.0,
//                                          .steps = 1000}, 1e-5));
//   // g.epsilon ≈ 2.1014, g.order == 7.8
//
// Every function validates its arguments and returns kInvalidArgument with a
// message naming the offending value; none of them throws.
#ifndef FEDGE_PRIVACY_RDP_ACCOUNTANT_H_
#define FEDGE_PRIVACY_RDP_ACCOUNTANT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fedge {

// `steps` applications of the sampled Gaussian mechanism with the same
// parameters.
struct SgmEvent {
  // Poisson sampling probability q of each record (example or device) per
  // step, in [0, 1]. q = 0 costs no privacy; q = 1 is the plain Gaussian
  // mechanism.
  double sample_rate = 0;
  // σ: noise standard deviation divided by the clipping norm (sensitivity).
  // Finite and > 0.
  double noise_multiplier = 0;
  // Number of steps, >= 0.
  int64_t steps = 0;
};

// An (ε, δ)-DP guarantee and the RDP order it was derived from.
struct PrivacyGuarantee {
  double epsilon = 0;
  double order = 0;
};

// The default order grid: 1.1, 1.2, ..., 10.9 and the integers 12..63.
const std::vector<double>& DefaultRdpOrders();

// kInvalidArgument unless 0 <= q <= 1, σ is finite and > 0, steps >= 0.
absl::Status ValidateSgmEvent(const SgmEvent& event);

// kInvalidArgument unless 0 < δ < 1.
absl::Status ValidateDelta(double delta);

// RDP at order `order` of ONE step of the SGM with sampling rate q and noise
// multiplier σ. Equals α/(2σ²) for q = 1 and 0 for q = 0.
// kInvalidArgument for invalid q or σ, or order <= 1 or non-finite.
absl::StatusOr<double> SampledGaussianRdp(double sample_rate, double noise_multiplier, double order);

// RDP of `event` (all its steps) at each of `orders`.
// kInvalidArgument for an invalid event or order.
absl::StatusOr<std::vector<double>> ComputeRdp(const SgmEvent& event, absl::Span<const double> orders);

// Converts an RDP curve to (ε, δ)-DP (Balle et al. 2020, Theorem 21):
//   ε(α) = rdp(α) − (log δ + log α)/(α − 1) + log((α − 1)/α),
// and returns the minimum over α (clamped at 0) with its order; ε is 0 when
// the RDP is 0 at some order (the mechanism's outputs do not depend on the
// data).
// kInvalidArgument when sizes differ, the curve is empty, an order is <= 1,
// an RDP value is negative or NaN, or δ is outside (0, 1).
absl::StatusOr<PrivacyGuarantee> RdpToEpsilon(absl::Span<const double> orders, absl::Span<const double> rdp,
                                              double delta);

// ε of one event at δ over DefaultRdpOrders(). kInvalidArgument as above.
absl::StatusOr<PrivacyGuarantee> ComputeEpsilon(const SgmEvent& event, double delta);

// The smallest noise multiplier σ (to relative precision 1e-7, rounded up so
// the guarantee holds) such that `steps` steps at `sample_rate` are
// (target_epsilon, δ)-DP over DefaultRdpOrders().
// Returns kInvalidArgument for invalid arguments, for q = 0 or steps = 0 (no
// noise is needed; there is nothing to solve for) and kOutOfRange when the
// target is unreachable: below the floor that even σ → ∞ cannot beat with
// the finite order grid, or so large that σ < 1e-3 would do (the message
// names the bound).
absl::StatusOr<double> FindNoiseMultiplier(double target_epsilon, double sample_rate, int64_t steps,
                                           double delta);

// Accumulates the RDP of a sequence of possibly different SGM events (rounds
// with varying sampling rates or noise, DP-SGD epochs, ...) over a fixed
// order grid.
//
// Thread-compatible: const methods may run concurrently; Compose needs
// exclusive access. Copyable.
class RdpAccountant {
 public:
  // Accountant over DefaultRdpOrders().
  RdpAccountant();
  // kInvalidArgument unless `orders` is non-empty and every order is finite
  // and > 1.
  static absl::StatusOr<RdpAccountant> Create(std::vector<double> orders);

  // Adds the RDP of `event`. kInvalidArgument for an invalid event (the
  // accountant is left unchanged).
  absl::Status Compose(const SgmEvent& event);
  // ε spent so far at δ. kInvalidArgument for δ outside (0, 1).
  absl::StatusOr<PrivacyGuarantee> GetEpsilon(double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  // Accumulated RDP, one value per order.
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
};

}  // namespace fedge

#endif  // FEDGE_PRIVACY_RDP_ACCOUNTANT_H_
