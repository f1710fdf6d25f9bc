// File: client/data/example_store.h
//
// The device's bounded-memory store of (preprocessed) training examples.
//
// Data arrive as a stream. The store keeps
//   * a window: the `window_capacity` most recent examples, in a ring buffer;
//   * a replay reservoir: a uniform random sample of `reservoir_capacity`
//     of the examples evicted from the window so far, maintained with
//     Vitter's Algorithm R (J. S. Vitter, "Random sampling with a
//     reservoir", ACM TOMS 11(1), 1985): the t-th evicted example replaces a
//     uniformly chosen slot with probability k/t once the reservoir is full,
//     so after t evictions every evicted example is in it with probability
//     min(1, k/t).
// Local fine-tuning samples from both (`Sample`), so the model adapts to new
// data without forgetting all of the old; after a drift alarm the caller
// raises `recent_fraction` towards 1 to prioritise the new regime.
//
// Memory bound. All storage is allocated once, in Create:
//   (window_capacity + reservoir_capacity) × (4·dim + kSlotOverheadBytes)
// bytes (`memory_bytes()`), and never more than window_capacity +
// reservoir_capacity examples are held; Add never allocates.
//
// Sequence numbers: the store numbers examples 0, 1, 2, ... in arrival
// order; `ExampleRef::sequence` identifies an example across window and
// reservoir.
//
// Determinism: sampling and reservoir replacement draw only from the
// injected generators, with an unbiased bounded draw of our own, so the same
// seeds give the same contents and samples on every platform.
#ifndef FEDGE_CLIENT_DATA_EXAMPLE_STORE_H_
#define FEDGE_CLIENT_DATA_EXAMPLE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/random.h"

namespace fedge {

struct ExampleStoreOptions {
  // Features per example. >= 1.
  int64_t dim = 784;
  // Most recent examples kept. >= 1.
  int64_t window_capacity = 1024;
  // Older examples kept for replay; 0 disables replay. >= 0.
  int64_t reservoir_capacity = 256;
};

// kInvalidArgument naming the offending field, also when the storage
// ((window + reservoir) × dim floats) would exceed 2^31 values.
absl::Status ValidateExampleStoreOptions(const ExampleStoreOptions& options);

// What a training set is drawn from.
struct SamplePolicy {
  // Examples wanted; fewer are returned when the store holds fewer. >= 0.
  int64_t max_examples = 256;
  // Share of the examples taken from the window, in [0, 1]; the rest come
  // from the reservoir. When one pool runs short the other fills the gap.
  double recent_fraction = 0.7;
  // Only labelled examples are eligible (supervised fine-tuning).
  bool labelled_only = true;
};

// kInvalidArgument naming the offending field.
absl::Status ValidateSamplePolicy(const SamplePolicy& policy);

// A read-only view of one stored example; valid until the next Add.
struct ExampleRef {
  absl::Span<const float> features;
  std::optional<int32_t> label;
  uint64_t sequence = 0;
  absl::Time arrival_time;
};

// A training set copied out of the store, in random order.
struct ExampleBatch {
  int64_t dim = 0;
  std::vector<float> features;  // size() × dim, row-major
  std::vector<int32_t> labels;  // kNoLabel for unlabelled examples
  std::vector<uint64_t> sequences;
  int64_t num_recent = 0;  // drawn from the window
  int64_t num_replay = 0;  // drawn from the reservoir

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  absl::Span<const float> example(int64_t i) const {
    return absl::MakeConstSpan(features).subspan(static_cast<size_t>(i * dim), static_cast<size_t>(dim));
  }
};

// Ownership: owns its storage and its reservoir generator; movable.
// Thread-safety: thread-compatible.
class ExampleStore {
 public:
  static constexpr int32_t kNoLabel = -1;
  // Per-slot bytes besides the features: label, sequence, arrival time.
  static constexpr size_t kSlotOverheadBytes = sizeof(int32_t) + sizeof(uint64_t) + sizeof(absl::Time);

  // `rng` drives reservoir replacement. kInvalidArgument for bad options.
  static absl::StatusOr<ExampleStore> Create(const ExampleStoreOptions& options, SeededRandom rng);

  // Appends an example as the newest in the window; when the window is full,
  // its oldest example is evicted and offered to the reservoir.
  // kInvalidArgument when features.size() != dim or label < 0.
  absl::Status Add(absl::Span<const float> features, std::optional<int32_t> label, absl::Time arrival_time);

  // Draws a training set (see SamplePolicy) without replacement within each
  // pool. kInvalidArgument when the policy is invalid.
  absl::StatusOr<ExampleBatch> Sample(const SamplePolicy& policy, SeededRandom& rng) const;

  // Window contents, 0 = oldest. REQUIRES: i < window_size().
  ExampleRef WindowAt(int64_t i) const;
  // Reservoir contents in slot order. REQUIRES: i < reservoir_size().
  ExampleRef ReservoirAt(int64_t i) const;

  int64_t window_size() const { return window_size_; }
  int64_t reservoir_size() const { return reservoir_size_; }
  int64_t size() const { return window_size_ + reservoir_size_; }
  // Examples ever added, and ever evicted from the window.
  uint64_t added_total() const { return added_total_; }
  uint64_t evicted_total() const { return evicted_total_; }
  // Bytes held by the stored examples (fixed at Create; see the header).
  size_t memory_bytes() const;
  const ExampleStoreOptions& options() const { return options_; }

 private:
  ExampleStore(const ExampleStoreOptions& options, SeededRandom rng);
  // Slots [0, window_capacity) form the ring; the reservoir follows.
  size_t WindowSlot(int64_t i) const;
  size_t ReservoirSlot(int64_t i) const { return static_cast<size_t>(options_.window_capacity + i); }
  ExampleRef Ref(size_t slot) const;
  void CopySlot(size_t from, size_t to);
  // Algorithm R step for the example in window slot `slot` being evicted.
  void OfferToReservoir(size_t slot);

  ExampleStoreOptions options_;
  SeededRandom rng_;
  std::vector<float> features_;
  std::vector<int32_t> labels_;
  std::vector<uint64_t> sequences_;
  std::vector<absl::Time> times_;
  int64_t window_head_ = 0;  // slot of the oldest window example
  int64_t window_size_ = 0;
  int64_t reservoir_size_ = 0;
  uint64_t added_total_ = 0;
  uint64_t evicted_total_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_EXAMPLE_STORE_H_
