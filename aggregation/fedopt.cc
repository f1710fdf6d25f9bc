#include "aggregation/fedopt.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregation/internal/checks.h"
#include "aggregation/weighted_mean.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {

using aggregation_internal::CheckHalfOpen;
using aggregation_internal::CheckPositive;

absl::Status FedOptOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(CheckPositive("server_learning_rate", server_learning_rate));
  FEDGE_RETURN_IF_ERROR(CheckHalfOpen("beta1", beta1, 0, 1));
  FEDGE_RETURN_IF_ERROR(CheckHalfOpen("beta2", beta2, 0, 1));
  return CheckPositive("tau", tau);
}

std::unique_ptr<RoundAggregator> FedOpt::BeginRound(int64_t num_elements) {
  return std::make_unique<WeightedMeanAggregator>(num_elements);
}

absl::Status FedOpt::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  if (delta.size() != global.size()) {
    return absl::InvalidArgumentError(absl::StrCat("delta has ", delta.size(), " elements but the global model has ",
                                                   global.size()));
  }
  const float tau = static_cast<float>(options_.tau);
  if (m_.empty()) {
    m_.assign(delta.size(), 0.0f);
    v_.assign(delta.size(), tau * tau);
  } else if (m_.size() != delta.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(AsAbsl(name()), " state holds ", m_.size(), " elements but the model has ", delta.size(),
                     "; import state saved for this model or reset it with ImportState({})"));
  }
  const float beta1 = static_cast<float>(options_.beta1);
  for (size_t i = 0; i < m_.size(); ++i) m_[i] = beta1 * m_[i] + (1.0f - beta1) * delta[i];
  UpdateSecondMoment(delta, absl::MakeSpan(v_));
  const float lr = static_cast<float>(options_.server_learning_rate);
  for (size_t i = 0; i < global.size(); ++i) global[i] += lr * m_[i] / (std::sqrt(v_[i]) + tau);
  return absl::OkStatus();
}

std::vector<std::vector<float>> FedOpt::ExportState() const {
  if (m_.empty()) return {};
  return {m_, v_};
}

absl::Status FedOpt::ImportState(std::vector<std::vector<float>> state) {
  if (state.empty()) {
    m_.clear();
    v_.clear();
    return absl::OkStatus();
  }
  if (state.size() != 2 || state[0].size() != state[1].size() || state[0].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(name()), " state must be two non-empty vectors {m, v} of equal size; got ", state.size(),
                     " vectors"));
  }
  for (float v : state[1]) {
    if (!(std::isfinite(v) && v > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(AsAbsl(name()), " state: every v entry must be positive and finite"));
    }
  }
  for (float m : state[0]) {
    if (!std::isfinite(m)) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(name()), " state: m has a non-finite entry"));
  }
  m_ = std::move(state[0]);
  v_ = std::move(state[1]);
  return absl::OkStatus();
}

}  // namespace fedge
