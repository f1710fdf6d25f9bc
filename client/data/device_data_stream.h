// File: client/data/device_data_stream.h
//
// `DeviceDataStream`: the device's data pipeline in one object. Raw examples
// go through the `Preprocessor` (check, repair, normalise; see
// preprocess.h) into the `ExampleStore` (recent window + replay reservoir;
// see example_store.h), and the trainer asks for a training set.
//
// Drift. After a drift alarm (client/drift) the device calls `NotifyDrift()`:
// for the next `drift_hold_examples` stored (accepted) examples, training sets use
// `drift_recent_fraction` (default 1: recent data only) instead of
// `recent_fraction`, so fine-tuning follows the new regime. The default hold
// is one window's worth, i.e. until the window holds only post-alarm data;
// then replay resumes to limit forgetting.
//
// Usage:
//   DeviceDataStreamOptions options;            // Fashion-MNIST defaults
//   FEDGE_ASSIGN_OR_RETURN(auto stream, DeviceDataStream::Create(options, SeededRandom(seed)));
//   stream->Ingest(RawExample::Bytes(pixels, label, clock->Now())).IgnoreError();  // counted
//   if (alarm) stream->NotifyDrift();
//   FEDGE_ASSIGN_OR_RETURN(ExampleBatch batch, stream->TrainingSet(256, rng));
#ifndef FEDGE_CLIENT_DATA_DEVICE_DATA_STREAM_H_
#define FEDGE_CLIENT_DATA_DEVICE_DATA_STREAM_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/data/example_store.h"
#include "client/data/preprocess.h"
#include "core/random.h"

namespace fedge {

struct DeviceDataStreamOptions {
  // preprocess.dim is the example dimension; store.dim must equal it.
  PreprocessOptions preprocess;
  ExampleStoreOptions store;
  // Share of each training set drawn from the window, in [0, 1].
  double recent_fraction = 0.7;
  // The share used after NotifyDrift(), in [0, 1].
  double drift_recent_fraction = 1.0;
  // Stored examples for which drift_recent_fraction applies after an
  // alarm; 0 = store.window_capacity. >= 0.
  int64_t drift_hold_examples = 0;
  // Only labelled examples enter training sets.
  bool labelled_only = true;
};

// kInvalidArgument naming the offending field (including nested options).
absl::Status ValidateDeviceDataStreamOptions(const DeviceDataStreamOptions& options);

struct DeviceDataStats {
  PreprocessStats preprocess;
  // Accepted examples stored; equals preprocess.accepted.
  uint64_t stored = 0;
  uint64_t evicted_from_window = 0;
  int64_t window_size = 0;
  int64_t reservoir_size = 0;
};

// Ownership: owns its preprocessor and store.
// Thread-safety: thread-compatible; the device's data thread owns it.
class DeviceDataStream {
 public:
  // `rng` drives the store's reservoir. kInvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<DeviceDataStream>> Create(const DeviceDataStreamOptions& options,
                                                                  SeededRandom rng);

  // Preprocesses and stores one example. OK when it was stored (possibly
  // repaired); kInvalidArgument naming the problem when it was rejected.
  // Either way it is counted in stats().
  absl::Status Ingest(const RawExample& raw);

  // Draws up to `max_examples` examples with the current recent fraction.
  // kInvalidArgument when max_examples < 0.
  absl::StatusOr<ExampleBatch> TrainingSet(int64_t max_examples, SeededRandom& rng) const;

  // Prioritises recent data for the next drift_hold_examples stored
  // examples (restarting the hold if one is running).
  void NotifyDrift();
  bool prioritising_recent() const { return drift_hold_remaining_ > 0; }
  double current_recent_fraction() const;

  // Fixes the normalisation statistics (see Preprocessor::Freeze).
  void FreezeStatistics() { preprocessor_.Freeze(); }
  void UnfreezeStatistics() { preprocessor_.Unfreeze(); }

  DeviceDataStats stats() const;
  const Preprocessor& preprocessor() const { return preprocessor_; }
  const ExampleStore& store() const { return store_; }

 private:
  DeviceDataStream(const DeviceDataStreamOptions& options, Preprocessor preprocessor, ExampleStore store)
      : options_(options), preprocessor_(std::move(preprocessor)), store_(std::move(store)) {}

  DeviceDataStreamOptions options_;
  Preprocessor preprocessor_;
  ExampleStore store_;
  int64_t drift_hold_remaining_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_DEVICE_DATA_STREAM_H_
