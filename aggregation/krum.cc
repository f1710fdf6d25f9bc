#include "aggregation/krum.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "aggregation/internal/buffered_aggregator.h"
#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "core/status.h"

namespace fedge {
namespace {

using aggregation_internal::UpdateRows;

// Squared pairwise distances, accumulated over column blocks so the block of
// every row stays in cache while all pairs use it; each block's partial sum
// is float (vectorisable), the total is double.
std::vector<double> PairwiseSquaredDistances(const UpdateRows& rows, int64_t num_elements) {
  constexpr int64_t kBlock = 1024;
  const size_t n = rows.size();
  std::vector<double> dist(n * n, 0.0);
  for (int64_t begin = 0; begin < num_elements; begin += kBlock) {
    const int64_t count = std::min(kBlock, num_elements - begin);
    for (size_t i = 0; i < n; ++i) {
      const float* a = rows[i].data() + begin;
      for (size_t j = i + 1; j < n; ++j) {
        const float* b = rows[j].data() + begin;
        float partial = 0;
        for (int64_t k = 0; k < count; ++k) {
          const float diff = a[k] - b[k];
          partial += diff * diff;
        }
        dist[i * n + j] += partial;
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < i; ++j) dist[i * n + j] = dist[j * n + i];
  }
  return dist;
}

// s(i): the sum of the `neighbours` smallest distances from i to the others.
std::vector<double> KrumScores(const std::vector<double>& dist, size_t n, size_t neighbours) {
  std::vector<double> scores(n);
  std::vector<double> others;
  for (size_t i = 0; i < n; ++i) {
    others.clear();
    for (size_t j = 0; j < n; ++j) {
      if (j != i) others.push_back(dist[i * n + j]);
    }
    std::nth_element(others.begin(), others.begin() + (neighbours - 1), others.end());
    scores[i] = std::accumulate(others.begin(), others.begin() + neighbours, 0.0);
  }
  return scores;
}

class KrumAggregator final : public aggregation_internal::BufferedAggregator {
 public:
  KrumAggregator(std::string_view name, int64_t num_elements, const KrumOptions& options)
      : BufferedAggregator(name, num_elements, options.MinUpdates(), options.max_updates), options_(options) {}

 private:
  std::vector<float> Combine(const UpdateRows& rows) const override {
    const size_t n = rows.size();
    const size_t f = static_cast<size_t>(options_.num_byzantine);
    const size_t m = options_.num_selected == 0 ? n - f : static_cast<size_t>(options_.num_selected);
    const std::vector<double> scores = KrumScores(PairwiseSquaredDistances(rows, num_elements()), n, n - f - 2);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    std::vector<float> out(static_cast<size_t>(num_elements()), 0.0f);
    for (size_t s = 0; s < m; ++s) {
      const std::vector<float>& row = rows[order[s]];
      for (size_t k = 0; k < out.size(); ++k) out[k] += row[k];
    }
    const float inv = 1.0f / static_cast<float>(m);
    for (float& v : out) v *= inv;
    return out;
  }

  KrumOptions options_;
};

}  // namespace

absl::Status KrumOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckAtLeast("num_byzantine", num_byzantine, 0));
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckAtLeast("num_selected", num_selected, 0));
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate));
  if (max_updates < MinUpdates()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_updates (", max_updates, ") must be >= ", MinUpdates(),
        ", the fewest updates Krum can use with num_byzantine = ", num_byzantine, " and num_selected = ",
        num_selected, " (n >= 2f + 3 and n >= m)"));
  }
  return absl::OkStatus();
}

int64_t KrumOptions::MinUpdates() const { return std::max<int64_t>(2 * num_byzantine + 3, num_selected); }

std::string_view Krum::name() const { return options_.num_selected == 1 ? "krum" : "multikrum"; }

std::unique_ptr<RoundAggregator> Krum::BeginRound(int64_t num_elements) {
  return std::make_unique<KrumAggregator>(name(), num_elements, options_);
}

absl::Status Krum::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  return aggregation_internal::ApplyScaledDelta(delta, options_.server_learning_rate, global);
}

// Registration (aggregation/strategy_registry.h): options from [strategy.krum] / [strategy.multikrum].
namespace {

// krum and multikrum share KrumOptions; krum always selects one update,
// multikrum averages num_selected (0, its default: n - f).
std::optional<StrategySpec> ReadKrumFamily(ConfigSection table, bool multi) {
  KrumOptions o;
  if (multi) o.num_selected = 0;
  ReadStrategyOption(table, "num_byzantine", &o.num_byzantine);
  if (multi) ReadStrategyOption(table, "num_selected", &o.num_selected);
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "max_updates", &o.max_updates);
  if (multi && o.num_selected == 1) {
    table.Error("multikrum with num_selected = 1 is krum; use name = \"krum\" or set num_selected >= 2");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, double>> shown = {{"num_byzantine", static_cast<double>(o.num_byzantine)}};
  if (multi) shown.emplace_back("num_selected", static_cast<double>(o.num_selected));
  shown.emplace_back("server_learning_rate", o.server_learning_rate);
  shown.emplace_back("max_updates", static_cast<double>(o.max_updates));
  return MakeStrategySpec<Krum>(table, multi ? "multikrum" : "krum", o, std::move(shown), o.max_updates);
}

std::optional<StrategySpec> ReadKrum(ConfigSection table) { return ReadKrumFamily(table, false); }
std::optional<StrategySpec> ReadMultiKrum(ConfigSection table) { return ReadKrumFamily(table, true); }

const bool kKrumRegistered = RegisterStrategy({.name = "krum", .read = &ReadKrum});
const bool kMultiKrumRegistered = RegisterStrategy({.name = "multikrum", .read = &ReadMultiKrum});

}  // namespace

}  // namespace fedge
