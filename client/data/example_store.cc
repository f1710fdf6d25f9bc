#include "client/data/example_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// Uniform in [0, n) for n >= 1, by rejection: std::uniform_int_distribution
// differs between standard libraries, and the store's contents must be
// reproducible from the seed everywhere. Values below 2^64 mod n are
// rejected so that the remaining range is a multiple of n.
uint64_t UniformBelow(SeededRandom& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}

// Moves a uniform random subset of size k to the front of `items`, in
// random order (the first k steps of a Fisher-Yates shuffle).
void PartialShuffle(std::vector<size_t>& items, size_t k, SeededRandom& rng) {
  for (size_t i = 0; i < k && i + 1 < items.size(); ++i) {
    const size_t j = i + static_cast<size_t>(UniformBelow(rng, items.size() - i));
    std::swap(items[i], items[j]);
  }
}

}  // namespace

absl::Status ValidateExampleStoreOptions(const ExampleStoreOptions& o) {
  if (o.dim < 1) return absl::InvalidArgumentError(absl::StrCat("ExampleStoreOptions.dim must be >= 1, got ", o.dim));
  if (o.window_capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ExampleStoreOptions.window_capacity must be >= 1, got ", o.window_capacity));
  }
  if (o.reservoir_capacity < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ExampleStoreOptions.reservoir_capacity must be >= 0 (0 disables replay), got ", o.reservoir_capacity));
  }
  constexpr int64_t kMaxValues = int64_t{1} << 31;
  const int64_t slots = o.window_capacity + o.reservoir_capacity;
  if (slots > kMaxValues / o.dim) {
    return absl::InvalidArgumentError(absl::StrCat("ExampleStoreOptions: (window_capacity + reservoir_capacity) * dim = ",
                                                   slots, " * ", o.dim,
                                                   " exceeds 2^31 stored values; lower the capacities"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSamplePolicy(const SamplePolicy& p) {
  if (p.max_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat("SamplePolicy.max_examples must be >= 0, got ", p.max_examples));
  }
  if (!(p.recent_fraction >= 0 && p.recent_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SamplePolicy.recent_fraction must be in [0, 1], got ", p.recent_fraction));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExampleStore> ExampleStore::Create(const ExampleStoreOptions& options, SeededRandom rng) {
  FEDGE_RETURN_IF_ERROR(ValidateExampleStoreOptions(options));
  return ExampleStore(options, std::move(rng));
}

ExampleStore::ExampleStore(const ExampleStoreOptions& options, SeededRandom rng)
    : options_(options), rng_(std::move(rng)) {
  const size_t slots = static_cast<size_t>(options.window_capacity + options.reservoir_capacity);
  features_.assign(slots * static_cast<size_t>(options.dim), 0.0f);
  labels_.assign(slots, kNoLabel);
  sequences_.assign(slots, 0);
  times_.assign(slots, absl::UnixEpoch());
}

size_t ExampleStore::WindowSlot(int64_t i) const {
  return static_cast<size_t>((window_head_ + i) % options_.window_capacity);
}

ExampleRef ExampleStore::Ref(size_t slot) const {
  const size_t dim = static_cast<size_t>(options_.dim);
  ExampleRef ref;
  ref.features = absl::MakeConstSpan(features_).subspan(slot * dim, dim);
  if (labels_[slot] != kNoLabel) ref.label = labels_[slot];
  ref.sequence = sequences_[slot];
  ref.arrival_time = times_[slot];
  return ref;
}

ExampleRef ExampleStore::WindowAt(int64_t i) const { return Ref(WindowSlot(i)); }

ExampleRef ExampleStore::ReservoirAt(int64_t i) const { return Ref(ReservoirSlot(i)); }

size_t ExampleStore::memory_bytes() const {
  return features_.capacity() * sizeof(float) + labels_.capacity() * sizeof(int32_t) +
         sequences_.capacity() * sizeof(uint64_t) + times_.capacity() * sizeof(absl::Time);
}

void ExampleStore::CopySlot(size_t from, size_t to) {
  const size_t dim = static_cast<size_t>(options_.dim);
  std::copy_n(features_.begin() + static_cast<std::ptrdiff_t>(from * dim), dim,
              features_.begin() + static_cast<std::ptrdiff_t>(to * dim));
  labels_[to] = labels_[from];
  sequences_[to] = sequences_[from];
  times_[to] = times_[from];
}

void ExampleStore::OfferToReservoir(size_t slot) {
  ++evicted_total_;
  if (options_.reservoir_capacity == 0) return;
  if (reservoir_size_ < options_.reservoir_capacity) {
    CopySlot(slot, ReservoirSlot(reservoir_size_++));
    return;
  }
  const uint64_t j = UniformBelow(rng_, evicted_total_);
  if (j < static_cast<uint64_t>(options_.reservoir_capacity)) CopySlot(slot, ReservoirSlot(static_cast<int64_t>(j)));
}

absl::Status ExampleStore::Add(absl::Span<const float> features, std::optional<int32_t> label,
                               absl::Time arrival_time) {
  if (features.size() != static_cast<size_t>(options_.dim)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ExampleStore::Add got ", features.size(), " features, expected dim = ", options_.dim));
  }
  if (label.has_value() && *label < 0) {
    return absl::InvalidArgumentError(absl::StrCat("ExampleStore::Add got negative label ", *label));
  }
  size_t slot;
  if (window_size_ == options_.window_capacity) {
    slot = WindowSlot(0);
    OfferToReservoir(slot);
    window_head_ = (window_head_ + 1) % options_.window_capacity;
  } else {
    slot = WindowSlot(window_size_++);
  }
  const size_t dim = static_cast<size_t>(options_.dim);
  std::copy(features.begin(), features.end(), features_.begin() + static_cast<std::ptrdiff_t>(slot * dim));
  labels_[slot] = label.value_or(kNoLabel);
  sequences_[slot] = added_total_++;
  times_[slot] = arrival_time;
  return absl::OkStatus();
}

absl::StatusOr<ExampleBatch> ExampleStore::Sample(const SamplePolicy& policy, SeededRandom& rng) const {
  FEDGE_RETURN_IF_ERROR(ValidateSamplePolicy(policy));
  auto eligible = [&](size_t slot) { return !policy.labelled_only || labels_[slot] != kNoLabel; };
  std::vector<size_t> recent;
  std::vector<size_t> replay;
  for (int64_t i = 0; i < window_size_; ++i) {
    if (eligible(WindowSlot(i))) recent.push_back(WindowSlot(i));
  }
  for (int64_t i = 0; i < reservoir_size_; ++i) {
    if (eligible(ReservoirSlot(i))) replay.push_back(ReservoirSlot(i));
  }

  const size_t n = std::min(static_cast<size_t>(policy.max_examples), recent.size() + replay.size());
  size_t want_recent = std::min(recent.size(), static_cast<size_t>(std::llround(policy.recent_fraction * n)));
  const size_t want_replay = std::min(replay.size(), n - want_recent);
  want_recent = n - want_replay;  // the window fills what the reservoir lacks
  PartialShuffle(recent, want_recent, rng);
  PartialShuffle(replay, want_replay, rng);

  std::vector<size_t> chosen(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(want_recent));
  chosen.insert(chosen.end(), replay.begin(), replay.begin() + static_cast<std::ptrdiff_t>(want_replay));
  // Interleave the pools so that every minibatch mixes recent and replay.
  PartialShuffle(chosen, chosen.size(), rng);

  ExampleBatch batch;
  batch.dim = options_.dim;
  batch.num_recent = static_cast<int64_t>(want_recent);
  batch.num_replay = static_cast<int64_t>(want_replay);
  const size_t dim = static_cast<size_t>(options_.dim);
  batch.features.reserve(n * dim);
  batch.labels.reserve(n);
  batch.sequences.reserve(n);
  for (size_t slot : chosen) {
    const auto begin = features_.begin() + static_cast<std::ptrdiff_t>(slot * dim);
    batch.features.insert(batch.features.end(), begin, begin + static_cast<std::ptrdiff_t>(dim));
    batch.labels.push_back(labels_[slot]);
    batch.sequences.push_back(sequences_[slot]);
  }
  return batch;
}

}  // namespace fedge
