#include "privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Orders above this make the integer expansion needlessly slow and add
// nothing in practice (the default grid stops at 63).
constexpr double kMaxOrder = 1024;
// Series terms below e^-30 are dropped: A_α >= 1, so this is a relative
// truncation error of about 1e-13.
constexpr double kLogTermCutoff = -30;
constexpr int64_t kMaxSeriesTerms = 10'000'000;
// Search range of FindNoiseMultiplier.
constexpr double kMinNoiseMultiplier = 1e-3;
constexpr double kMaxNoiseMultiplier = 1e6;

// log(e^a + e^b) without overflow.
double LogAdd(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(-std::abs(a - b)));
}

// log(e^a - e^b); REQUIRES a >= b.
double LogSub(double a, double b) {
  if (b == -kInf) return a;
  if (a == b) return -kInf;
  return a + std::log1p(-std::exp(b - a));
}

// log(erfc(x)), accurate where erfc(x) itself underflows: for large x the
// asymptotic series erfc(x) = e^{-x²}/(x√π) · Σ (-1)^n (2n-1)!!/(2x²)^n.
double LogErfc(double x) {
  if (x < 20) return std::log(std::erfc(x));
  double sum = 1, term = 1;
  for (int n = 1; n <= 6; ++n) {
    term *= -(2.0 * n - 1) / (2 * x * x);
    sum += term;
  }
  return -x * x - std::log(x) - 0.5 * std::log(std::numbers::pi) + std::log(sum);
}

// log A_α for integer α (Mironov et al. 2019):
//   A_α = Σ_{k=0}^{α} C(α,k) (1-q)^{α-k} q^k exp((k² - k)/(2σ²)).
double LogAIntegerOrder(double q, double sigma, int64_t alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double lgamma_alpha = std::lgamma(static_cast<double>(alpha) + 1);
  double log_a = -kInf;
  for (int64_t k = 0; k <= alpha; ++k) {
    const double kd = static_cast<double>(k);
    const double log_binom = lgamma_alpha - std::lgamma(kd + 1) - std::lgamma(static_cast<double>(alpha - k) + 1);
    const double term = log_binom + kd * log_q + static_cast<double>(alpha - k) * log_1mq +
                        (kd * kd - kd) / (2 * sigma * sigma);
    log_a = LogAdd(log_a, term);
  }
  return log_a;
}

// log A_α for fractional α (Mironov et al. 2019): the integral
// is split at z0 = σ² log(1/q - 1) + 1/2 into A_α = A_0 + A_1, each a series
// over i >= 0 of generalised binomials C(α, i), whose sign alternates once
// i > α. Positive and negative terms are summed apart in log space and
// subtracted once, which keeps every intermediate finite.
absl::StatusOr<double> LogAFractionalOrder(double q, double sigma, double alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  const double inv_2s2 = 1 / (2 * sigma * sigma);
  const double erfc_scale = 1 / (std::numbers::sqrt2 * sigma);
  double pos0 = -kInf, neg0 = -kInf, pos1 = -kInf, neg1 = -kInf;
  double log_abs_binom = 0;  // log |C(α, 0)|
  bool binom_positive = true;
  for (int64_t i = 0; i < kMaxSeriesTerms; ++i) {
    const double id = static_cast<double>(i);
    if (i > 0) {
      // C(α, i) = C(α, i-1) · (α - i + 1) / i; α - i + 1 != 0 as α is fractional.
      const double factor = alpha - id + 1;
      log_abs_binom += std::log(std::abs(factor)) - std::log(id);
      if (factor < 0) binom_positive = !binom_positive;
    }
    const double j = alpha - id;
    const double log_t0 = log_abs_binom + id * log_q + j * log_1mq;
    const double log_t1 = log_abs_binom + j * log_q + id * log_1mq;
    const double log_e0 = std::log(0.5) + LogErfc((id - z0) * erfc_scale);
    const double log_e1 = std::log(0.5) + LogErfc((z0 - j) * erfc_scale);
    const double log_s0 = log_t0 + (id * id - id) * inv_2s2 + log_e0;
    const double log_s1 = log_t1 + (j * j - j) * inv_2s2 + log_e1;
    if (binom_positive) {
      pos0 = LogAdd(pos0, log_s0);
      pos1 = LogAdd(pos1, log_s1);
    } else {
      neg0 = LogAdd(neg0, log_s0);
      neg1 = LogAdd(neg1, log_s1);
    }
    if (std::max(log_s0, log_s1) < kLogTermCutoff) {
      if (pos0 < neg0 || pos1 < neg1) {
        return absl::InternalError(absl::StrCat("RDP series lost precision at q=", q, " sigma=", sigma,
                                                " order=", alpha, "; use an integer order"));
      }
      return LogAdd(LogSub(pos0, neg0), LogSub(pos1, neg1));
    }
  }
  return absl::InternalError(
      absl::StrCat("RDP series did not converge at q=", q, " sigma=", sigma, " order=", alpha));
}

absl::Status ValidateOrder(double order) {
  if (!(order > 1 && order <= kMaxOrder)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RDP order must be in (1, ", kMaxOrder, "], got ", order));
  }
  return absl::OkStatus();
}

// RDP of one SGM step, arguments already validated.
absl::StatusOr<double> StepRdp(double q, double sigma, double order) {
  if (q == 0) return 0.0;
  if (q == 1) return order / (2 * sigma * sigma);
  if (order == std::floor(order)) {
    return LogAIntegerOrder(q, sigma, static_cast<int64_t>(order)) / (order - 1);
  }
  FEDGE_ASSIGN_OR_RETURN(const double log_a, LogAFractionalOrder(q, sigma, order));
  return log_a / (order - 1);
}

// Balle et al. 2020 conversion at one order.
double EpsilonAtOrder(double rdp, double order, double log_delta) {
  return rdp - (log_delta + std::log(order)) / (order - 1) + std::log((order - 1) / order);
}

// The smallest ε the default grid can certify at δ for any RDP curve that is
// not identically zero: the limit σ → ∞.
double EpsilonFloor(double delta) {
  double min_eps = kInf;
  for (const double order : DefaultRdpOrders()) min_eps = std::min(min_eps, EpsilonAtOrder(0, order, std::log(delta)));
  return std::max(min_eps, 0.0);
}

}  // namespace

const std::vector<double>& DefaultRdpOrders() {
  static const std::vector<double>* orders = [] {
    auto* v = new std::vector<double>;
    for (int x = 1; x < 100; ++x) v->push_back(1 + x / 10.0);
    for (int a = 12; a < 64; ++a) v->push_back(a);
    return v;
  }();
  return *orders;
}

absl::Status ValidateSgmEvent(const SgmEvent& event) {
  if (!(event.sample_rate >= 0 && event.sample_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("sample rate q must be in [0, 1], got ", event.sample_rate));
  }
  if (!(event.noise_multiplier > 0 && std::isfinite(event.noise_multiplier))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "noise multiplier sigma must be finite and > 0 (sigma = 0 gives no privacy), got ", event.noise_multiplier));
  }
  if (event.steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("number of steps must be >= 0, got ", event.steps));
  }
  return absl::OkStatus();
}

absl::Status ValidateDelta(double delta) {
  if (!(delta > 0 && delta < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in (0, 1), got ", delta));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> SampledGaussianRdp(double sample_rate, double noise_multiplier, double order) {
  FEDGE_RETURN_IF_ERROR(ValidateSgmEvent({.sample_rate = sample_rate, .noise_multiplier = noise_multiplier}));
  FEDGE_RETURN_IF_ERROR(ValidateOrder(order));
  return StepRdp(sample_rate, noise_multiplier, order);
}

absl::StatusOr<std::vector<double>> ComputeRdp(const SgmEvent& event, absl::Span<const double> orders) {
  FEDGE_RETURN_IF_ERROR(ValidateSgmEvent(event));
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (const double order : orders) {
    FEDGE_RETURN_IF_ERROR(ValidateOrder(order));
    if (event.steps == 0) {
      rdp.push_back(0);
      continue;
    }
    FEDGE_ASSIGN_OR_RETURN(const double step_rdp, StepRdp(event.sample_rate, event.noise_multiplier, order));
    rdp.push_back(step_rdp * static_cast<double>(event.steps));
  }
  return rdp;
}

absl::StatusOr<PrivacyGuarantee> RdpToEpsilon(absl::Span<const double> orders, absl::Span<const double> rdp,
                                              double delta) {
  FEDGE_RETURN_IF_ERROR(ValidateDelta(delta));
  if (orders.empty() || orders.size() != rdp.size()) {
    return absl::InvalidArgumentError(absl::StrCat("need one RDP value per order, got ", orders.size(),
                                                   " orders and ", rdp.size(), " values"));
  }
  PrivacyGuarantee best{.epsilon = kInf, .order = orders[0]};
  const double log_delta = std::log(delta);
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i];
    FEDGE_RETURN_IF_ERROR(ValidateOrder(a));
    if (!(rdp[i] >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat("RDP at order ", a, " must be >= 0, got ", rdp[i]));
    }
    // Zero divergence at any order means the outputs are identically
    // distributed: (0, 0)-DP, which the conversion bound would miss.
    const double eps = rdp[i] == 0 ? 0.0 : EpsilonAtOrder(rdp[i], a, log_delta);
    if (eps < best.epsilon) best = {.epsilon = eps, .order = a};
  }
  best.epsilon = std::max(best.epsilon, 0.0);
  return best;
}

absl::StatusOr<PrivacyGuarantee> ComputeEpsilon(const SgmEvent& event, double delta) {
  FEDGE_RETURN_IF_ERROR(ValidateDelta(delta));
  const std::vector<double>& orders = DefaultRdpOrders();
  FEDGE_ASSIGN_OR_RETURN(const std::vector<double> rdp, ComputeRdp(event, orders));
  return RdpToEpsilon(orders, rdp, delta);
}

absl::StatusOr<double> FindNoiseMultiplier(double target_epsilon, double sample_rate, int64_t steps,
                                           double delta) {
  if (!(target_epsilon > 0 && std::isfinite(target_epsilon))) {
    return absl::InvalidArgumentError(absl::StrCat("target epsilon must be finite and > 0, got ", target_epsilon));
  }
  SgmEvent event{.sample_rate = sample_rate, .noise_multiplier = 1, .steps = steps};
  FEDGE_RETURN_IF_ERROR(ValidateSgmEvent(event));
  FEDGE_RETURN_IF_ERROR(ValidateDelta(delta));
  if (sample_rate == 0 || steps == 0) {
    return absl::InvalidArgumentError(
        "with sample rate 0 or 0 steps no privacy is spent: any noise multiplier meets the target");
  }
  auto epsilon_at = [&](double sigma) -> absl::StatusOr<double> {
    event.noise_multiplier = sigma;
    FEDGE_ASSIGN_OR_RETURN(const PrivacyGuarantee g, ComputeEpsilon(event, delta));
    return g.epsilon;
  };
  const double min_eps = EpsilonFloor(delta);
  const auto unreachable = [&] {
    return absl::OutOfRangeError(absl::StrCat("target epsilon ", target_epsilon, " is unreachable at delta ", delta,
                                              ": the RDP order grid cannot certify epsilon <= ", min_eps,
                                              " with any noise, and the search stops at noise multiplier ",
                                              kMaxNoiseMultiplier));
  };
  if (target_epsilon <= min_eps) return unreachable();
  // ε decreases with σ, so bracket [lo, hi] with ε(lo) > target >= ε(hi).
  double hi = 1;
  FEDGE_ASSIGN_OR_RETURN(double eps_hi, epsilon_at(hi));
  while (eps_hi > target_epsilon) {
    hi *= 2;
    if (hi > kMaxNoiseMultiplier) return unreachable();
    FEDGE_ASSIGN_OR_RETURN(eps_hi, epsilon_at(hi));
  }
  double lo = hi / 2;
  FEDGE_ASSIGN_OR_RETURN(double eps_lo, epsilon_at(lo));
  while (eps_lo <= target_epsilon) {
    hi = lo;
    lo /= 2;
    if (lo < kMinNoiseMultiplier) {
      return absl::OutOfRangeError(absl::StrCat("target epsilon ", target_epsilon,
                                                " is so large that any noise multiplier below ",
                                                kMinNoiseMultiplier, " meets it"));
    }
    FEDGE_ASSIGN_OR_RETURN(eps_lo, epsilon_at(lo));
  }
  while (hi / lo > 1 + 1e-7) {
    const double mid = std::sqrt(lo * hi);
    FEDGE_ASSIGN_OR_RETURN(const double eps_mid, epsilon_at(mid));
    (eps_mid > target_epsilon ? lo : hi) = mid;
  }
  return hi;
}

RdpAccountant::RdpAccountant() : orders_(DefaultRdpOrders()), rdp_(orders_.size(), 0.0) {}

absl::StatusOr<RdpAccountant> RdpAccountant::Create(std::vector<double> orders) {
  if (orders.empty()) return absl::InvalidArgumentError("RDP accountant needs at least one order");
  for (const double order : orders) FEDGE_RETURN_IF_ERROR(ValidateOrder(order));
  RdpAccountant accountant;
  accountant.rdp_.assign(orders.size(), 0.0);
  accountant.orders_ = std::move(orders);
  return accountant;
}

absl::Status RdpAccountant::Compose(const SgmEvent& event) {
  FEDGE_ASSIGN_OR_RETURN(const std::vector<double> rdp, ComputeRdp(event, orders_));
  for (size_t i = 0; i < rdp_.size(); ++i) rdp_[i] += rdp[i];
  return absl::OkStatus();
}

absl::StatusOr<PrivacyGuarantee> RdpAccountant::GetEpsilon(double delta) const {
  return RdpToEpsilon(orders_, rdp_, delta);
}

}  // namespace fedge
