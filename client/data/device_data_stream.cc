#include "client/data/device_data_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

absl::Status ValidateDeviceDataStreamOptions(const DeviceDataStreamOptions& o) {
  FEDGE_RETURN_IF_ERROR(ValidatePreprocessOptions(o.preprocess));
  FEDGE_RETURN_IF_ERROR(ValidateExampleStoreOptions(o.store));
  if (o.store.dim != o.preprocess.dim) {
    return absl::InvalidArgumentError(absl::StrCat("DeviceDataStreamOptions: store.dim = ", o.store.dim,
                                                   " must equal preprocess.dim = ", o.preprocess.dim));
  }
  if (!(o.recent_fraction >= 0 && o.recent_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("DeviceDataStreamOptions.recent_fraction must be in [0, 1], got ", o.recent_fraction));
  }
  if (!(o.drift_recent_fraction >= 0 && o.drift_recent_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DeviceDataStreamOptions.drift_recent_fraction must be in [0, 1], got ", o.drift_recent_fraction));
  }
  if (o.drift_hold_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DeviceDataStreamOptions.drift_hold_examples must be >= 0 (0 = one window), got ", o.drift_hold_examples));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DeviceDataStream>> DeviceDataStream::Create(const DeviceDataStreamOptions& options,
                                                                           SeededRandom rng) {
  FEDGE_RETURN_IF_ERROR(ValidateDeviceDataStreamOptions(options));
  FEDGE_ASSIGN_OR_RETURN(Preprocessor preprocessor, Preprocessor::Create(options.preprocess));
  FEDGE_ASSIGN_OR_RETURN(ExampleStore store, ExampleStore::Create(options.store, std::move(rng)));
  return std::unique_ptr<DeviceDataStream>(
      new DeviceDataStream(options, std::move(preprocessor), std::move(store)));
}

absl::Status DeviceDataStream::Ingest(const RawExample& raw) {
  FEDGE_ASSIGN_OR_RETURN(ProcessedExample example, preprocessor_.Process(raw));
  FEDGE_RETURN_IF_ERROR(store_.Add(example.features, example.label, example.arrival_time));
  if (drift_hold_remaining_ > 0) --drift_hold_remaining_;
  return absl::OkStatus();
}

void DeviceDataStream::NotifyDrift() {
  drift_hold_remaining_ =
      options_.drift_hold_examples > 0 ? options_.drift_hold_examples : options_.store.window_capacity;
}

double DeviceDataStream::current_recent_fraction() const {
  return prioritising_recent() ? options_.drift_recent_fraction : options_.recent_fraction;
}

absl::StatusOr<ExampleBatch> DeviceDataStream::TrainingSet(int64_t max_examples, SeededRandom& rng) const {
  SamplePolicy policy;
  policy.max_examples = max_examples;
  policy.recent_fraction = current_recent_fraction();
  policy.labelled_only = options_.labelled_only;
  return store_.Sample(policy, rng);
}

DeviceDataStats DeviceDataStream::stats() const {
  DeviceDataStats stats;
  stats.preprocess = preprocessor_.stats();
  stats.stored = store_.added_total();
  stats.evicted_from_window = store_.evicted_total();
  stats.window_size = store_.window_size();
  stats.reservoir_size = store_.reservoir_size();
  return stats;
}

}  // namespace fedge
