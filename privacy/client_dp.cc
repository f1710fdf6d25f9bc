#include "privacy/client_dp.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// Shrinks a clipping factor by 8 float ulps: rounding the factor to float
// and each product weight·value (a relative error of 2^-24 each, a few more
// for codecs that decode with a scale) then cannot lift a clipped
// contribution above S.
constexpr double kClipSafety = 1.0 - 8.0 * 0x1.0p-24;

absl::Status CheckPositive(double value, const char* name) {
  if (!(value > 0 && std::isfinite(value))) {
    return absl::InvalidArgumentError(absl::StrCat("client DP option ", name, " must be finite and > 0, got ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const ClientDpOptions& o) {
  FEDGE_RETURN_IF_ERROR(CheckPositive(o.clip_norm, "clip_norm"));
  FEDGE_RETURN_IF_ERROR(CheckPositive(o.noise_multiplier, "noise_multiplier"));
  if (!(o.device_sampling_rate > 0 && o.device_sampling_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client DP option device_sampling_rate must be in (0, 1], got ", o.device_sampling_rate));
  }
  if (!o.adaptive) return absl::OkStatus();
  if (!(o.target_quantile >= 0 && o.target_quantile <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client DP option target_quantile must be in [0, 1], got ", o.target_quantile));
  }
  FEDGE_RETURN_IF_ERROR(CheckPositive(o.clip_learning_rate, "clip_learning_rate"));
  if (!(o.count_noise > o.noise_multiplier / 2 && std::isfinite(o.count_noise))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client DP option count_noise must be finite and > noise_multiplier / 2 = ", o.noise_multiplier / 2,
        " (otherwise the count alone exceeds the privacy of noise_multiplier), got ", o.count_noise,
        "; Andrew et al. suggest expected_clients / 20"));
  }
  return absl::OkStatus();
}

// σ_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2): the sum's share of the round's noise
// multiplier z once the count release is paid for.
double SumNoiseMultiplier(const ClientDpOptions& o) {
  if (!o.adaptive) return o.noise_multiplier;
  const double z = o.noise_multiplier, b = 2 * o.count_noise;
  return 1 / std::sqrt(1 / (z * z) - 1 / (b * b));
}

}  // namespace

double ClipFactor(double l2_norm, double clip_norm) {
  if (l2_norm <= clip_norm) return 1.0;
  return clip_norm / l2_norm * kClipSafety;
}

absl::StatusOr<std::unique_ptr<ClientDp>> ClientDp::Create(const ClientDpOptions& options, SecureRandom* rng) {
  FEDGE_RETURN_IF_ERROR(ValidateOptions(options));
  if (rng == nullptr) return absl::InvalidArgumentError("client DP needs a SecureRandom for its noise");
  return std::unique_ptr<ClientDp>(new ClientDp(options, rng, SumNoiseMultiplier(options)));
}

ClientDp::ClientDp(const ClientDpOptions& options, SecureRandom* rng, double sum_noise_multiplier)
    : options_(options), rng_(rng), sum_noise_multiplier_(sum_noise_multiplier), clip_norm_(options.clip_norm) {}

std::unique_ptr<ClientDpAccumulator> ClientDp::BeginRound(int64_t num_elements) {
  return std::unique_ptr<ClientDpAccumulator>(new ClientDpAccumulator(this, num_elements));
}

absl::StatusOr<PrivacyGuarantee> ClientDp::Epsilon(double delta) const {
  return ComputeEpsilon(
      {.sample_rate = options_.device_sampling_rate, .noise_multiplier = options_.noise_multiplier, .steps = rounds_},
      delta);
}

double ClientDp::CompleteRound(int64_t num_unclipped, int64_t num_updates, int64_t expected_clients) {
  ++rounds_;
  if (!options_.adaptive) return std::numeric_limits<double>::quiet_NaN();
  // Centring each b_i at ½ halves the count's sensitivity (a device moves the
  // centred sum by ±½), which is why its multiplier is 2σ_b; the ½ per
  // expected device is added back after normalising.
  const double m = static_cast<double>(expected_clients);
  float noise = 0;
  rng_->AddGaussianNoise(absl::Span<float>(&noise, 1), options_.count_noise);
  const double centred_sum = static_cast<double>(num_unclipped) - 0.5 * static_cast<double>(num_updates);
  const double fraction = (centred_sum + noise) / m + 0.5;
  clip_norm_ *= std::exp(-options_.clip_learning_rate * (fraction - options_.target_quantile));
  return fraction;
}

absl::Status ClientDp::Restore(double clip_norm, int64_t rounds) {
  if (!(std::isfinite(clip_norm) && clip_norm > 0) || rounds < 0) {
    return absl::DataLossError(absl::StrCat("stored client-level DP state (clip norm ", clip_norm, ", ", rounds,
                                            " rounds) is not valid"));
  }
  clip_norm_ = clip_norm;
  rounds_ = rounds;
  return absl::OkStatus();
}

ClientDpAccumulator::ClientDpAccumulator(ClientDp* owner, int64_t num_elements)
    : owner_(owner),
      clip_norm_(owner->clip_norm()),
      sum_(static_cast<size_t>(num_elements), 0.0f),
      noised_fraction_(std::numeric_limits<double>::quiet_NaN()) {}

absl::Status ClientDpAccumulator::Add(const UpdateView& update) {
  if (finished_) return absl::FailedPreconditionError("client DP round already finished");
  if (update.size() != static_cast<int64_t>(sum_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("update has ", update.size(), " elements, the round expects ", sum_.size()));
  }
  const double norm = std::sqrt(update.SquaredNorm());
  if (!std::isfinite(norm)) return absl::InvalidArgumentError("update contains NaN or infinite values");
  update.AccumulateInto(absl::MakeSpan(sum_), static_cast<float>(ClipFactor(norm, clip_norm_)));
  norms_.push_back(norm);
  if (norm <= clip_norm_) ++num_unclipped_;
  return absl::OkStatus();
}

absl::Status ClientDpAccumulator::Add(absl::Span<const float> update) { return Add(DenseUpdateView(update)); }

AggregatorState ClientDpAccumulator::SaveState() const {
  AggregatorState state{sum_, {clip_norm_, static_cast<double>(num_unclipped_)}};
  state.values.insert(state.values.end(), norms_.begin(), norms_.end());
  return state;
}

absl::Status ClientDpAccumulator::RestoreState(const AggregatorState& state) {
  if (finished_) return absl::FailedPreconditionError("client DP round already finished");
  const std::vector<double>& v = state.values;
  if (state.sum.size() != sum_.size() || v.size() < 2 || v[0] != clip_norm_ || !(v[1] >= 0) ||
      v[1] > static_cast<double>(v.size() - 2)) {
    return absl::DataLossError(absl::StrCat("a client-DP round state of ", state.sum.size(), " elements, clip norm ",
                                            v.empty() ? 0.0 : v[0], " does not fit this round (", sum_.size(),
                                            " elements, clip norm ", clip_norm_, ")"));
  }
  sum_ = state.sum;
  num_unclipped_ = static_cast<int64_t>(v[1]);
  norms_.assign(v.begin() + 2, v.end());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> ClientDpAccumulator::Finish(int64_t expected_clients) {
  if (finished_) return absl::FailedPreconditionError("client DP round already finished");
  if (expected_clients < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected number of clients per round must be >= 1, got ", expected_clients));
  }
  finished_ = true;
  owner_->rng_->AddGaussianNoise(absl::MakeSpan(sum_), owner_->sum_noise_multiplier_ * clip_norm_);
  const float inv_m = static_cast<float>(1.0 / static_cast<double>(expected_clients));
  for (float& v : sum_) v *= inv_m;
  noised_fraction_ = owner_->CompleteRound(num_unclipped_, num_updates(), expected_clients);
  return std::move(sum_);
}

}  // namespace fedge
