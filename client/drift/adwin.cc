#include "client/drift/adwin.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "client/drift/detector_registry.h"
#include "core/status.h"

namespace fedge {
namespace {

// Bucket sizes are powers of two; levels stay far below 64 for any stream a
// device can produce.
double BucketCount(size_t level) { return std::ldexp(1.0, static_cast<int>(level)); }

}  // namespace

absl::Status ValidateAdwinOptions(const AdwinOptions& options) {
  if (!(options.delta > 0 && options.delta < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("adwin: delta must be in (0, 1), got ", options.delta));
  }
  if (options.max_buckets < 2 || options.max_buckets > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("adwin: max_buckets (M) must be in [2, 1024], got ", options.max_buckets));
  }
  if (options.clock < 1) {
    return absl::InvalidArgumentError(absl::StrCat("adwin: clock must be >= 1, got ", options.clock));
  }
  if (options.min_subwindow < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("adwin: min_subwindow must be >= 1, got ", options.min_subwindow));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adwin>> Adwin::Create(const AdwinOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateAdwinOptions(options));
  return std::unique_ptr<Adwin>(new Adwin(options));
}

void Adwin::Reset() {
  samples_seen_ = 0;
  rows_.clear();
  width_ = 0;
  sum_ = 0;
  m2_ = 0;
}

size_t Adwin::num_buckets() const {
  size_t total = 0;
  for (const auto& row : rows_) total += row.size();
  return total;
}

DriftSignal Adwin::Update(double value) {
  if (!std::isfinite(value)) return {DriftState::kNone, 0.0, samples_seen_};
  ++samples_seen_;
  Insert(value);
  const auto min_width = static_cast<uint64_t>(2 * options_.min_subwindow);
  if (samples_seen_ % static_cast<uint64_t>(options_.clock) != 0 || width_ < min_width) {
    return {DriftState::kNone, 0.0, samples_seen_};
  }
  double change = FindCut();
  if (change < 0) return {DriftState::kNone, 0.0, samples_seen_};
  const double first_change = change;
  // The paper drops from the tail until no cut passes the test; dropping one
  // bucket at a time keeps as much of the new regime as possible.
  while (change >= 0 && width_ >= min_width) {
    DropOldest();
    change = FindCut();
  }
  return {DriftState::kDrift, first_change, samples_seen_};
}

void Adwin::Insert(double value) {
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_front(Bucket{value, 0.0});
  // Welford's update of the window's sum of squared deviations.
  const double n = static_cast<double>(width_);
  if (width_ > 0) {
    const double delta = value - sum_ / n;
    m2_ += delta * delta * n / (n + 1);
  }
  ++width_;
  sum_ += value;
  Compress();
}

void Adwin::Compress() {
  for (size_t level = 0; level < rows_.size(); ++level) {
    auto& row = rows_[level];
    if (row.size() <= static_cast<size_t>(options_.max_buckets)) break;
    const Bucket older = row.back();
    row.pop_back();
    const Bucket newer = row.back();
    row.pop_back();
    // Chan et al.'s pairwise combination for two equal-sized groups of c
    // values: M2 = M2a + M2b + (c/2)(μa − μb)².
    const double c = BucketCount(level);
    const double mean_gap = (older.sum - newer.sum) / c;
    const Bucket merged{older.sum + newer.sum, older.m2 + newer.m2 + 0.5 * c * mean_gap * mean_gap};
    if (level + 1 == rows_.size()) rows_.emplace_back();
    rows_[level + 1].push_front(merged);
  }
}

void Adwin::DropOldest() {
  while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
  if (rows_.empty()) return;
  const size_t level = rows_.size() - 1;
  const Bucket oldest = rows_[level].back();
  rows_[level].pop_back();
  const double c = BucketCount(level);
  const double n = static_cast<double>(width_);
  const double rest = n - c;
  width_ -= static_cast<uint64_t>(c);
  if (width_ == 0) {
    sum_ = m2_ = 0;
  } else {
    // Inverse of the pairwise combination: remove the bucket's own spread
    // and its between-group term.
    const double rest_mean = (sum_ - oldest.sum) / rest;
    const double gap = oldest.sum / c - rest_mean;
    m2_ = std::max(0.0, m2_ - oldest.m2 - c * rest / n * gap * gap);
    sum_ -= oldest.sum;
  }
  while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
}

double Adwin::FindCut() const {
  const double n = static_cast<double>(width_);
  const double variance = m2_ / n;
  const double log_term = std::log(2.0 * n / options_.delta);  // ln(2/δ'), δ' = δ/n
  const double min_side = static_cast<double>(options_.min_subwindow);
  double n0 = 0;
  double sum0 = 0;
  // Walk the boundaries from the oldest bucket to the newest: W0 grows.
  for (size_t level = rows_.size(); level-- > 0;) {
    const auto& row = rows_[level];
    const double c = BucketCount(level);
    for (auto it = row.rbegin(); it != row.rend(); ++it) {
      n0 += c;
      sum0 += it->sum;
      const double n1 = n - n0;
      if (n1 < min_side) return -1;
      if (n0 < min_side) continue;
      const double gap = std::abs(sum0 / n0 - (sum_ - sum0) / n1);
      const double m = 1.0 / (1.0 / n0 + 1.0 / n1);
      const double epsilon = std::sqrt(2.0 / m * variance * log_term) + 2.0 / (3.0 * m) * log_term;
      if (gap > epsilon) return gap;
    }
  }
  return -1;
}

// Registration (client/drift/detector_registry.h): options from [drift.detector.adwin].
namespace {

std::optional<DetectorSpec> ReadAdwin(ConfigSection table) {
  AdwinOptions o;
  ReadDetectorOption(table, "delta", &o.delta);
  ReadDetectorOption(table, "max_buckets", &o.max_buckets);
  ReadDetectorOption(table, "clock", &o.clock);
  ReadDetectorOption(table, "min_subwindow", &o.min_subwindow);
  return MakeDetectorSpec<Adwin>(table, o,
                                 {{"delta", o.delta},
                                  {"max_buckets", static_cast<double>(o.max_buckets)},
                                  {"clock", static_cast<double>(o.clock)},
                                  {"min_subwindow", static_cast<double>(o.min_subwindow)}});
}

const bool kRegistered = RegisterDetector({.name = std::string(Adwin::kName), .read = &ReadAdwin});

}  // namespace

}  // namespace fedge
