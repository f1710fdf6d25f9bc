// File: client/device_data_setup.h
//
// fedge-device's data side from its configuration (client/device_config.h),
// in one place: the DataSource that `[data]` names (an IDX shard or index
// file, a CSV file, or a spool directory), the preprocessing defaults of
// the data format with `[data.preprocess]` over them, the store
// (`window`, `reservoir`, `train_examples`) and drift monitoring (`[drift]`,
// scored by a TorchScorer for `[model]`). The result is a DevicePipeline
// (device_pipeline.h) that the binary only has to connect to its Device.
//
// Preprocessing defaults by format:
//   idx  pixels scaled to [0, 1], clamped; one global mean and deviation
//        starting from the Fashion-MNIST prior (preprocess.h defaults);
//   csv  features in an open range (only NaN/Inf are repaired), mean and
//        deviation per feature starting from a weak N(0, 1) prior worth 10
//        examples.
#ifndef FEDGE_CLIENT_DEVICE_DATA_SETUP_H_
#define FEDGE_CLIENT_DEVICE_DATA_SETUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/data/data_source.h"
#include "client/device_config.h"
#include "client/device_pipeline.h"
#include "core/env.h"

namespace fedge {

// Features per example the configured model takes without the zoo:
// model.input_features, or 784 (28x28) for the image models.
int64_t ConfiguredInputWidth(const DeviceConfig& config);

// The source `config.data` names. kNotFound for a missing file or
// directory, kInvalidArgument for a bad shard, index file or CSV format.
absl::StatusOr<std::unique_ptr<DataSource>> OpenDeviceDataSource(const DeviceConfig& config);

// The pipeline options for `config`, with a store sized for `source`
// (window 0: the whole of a finite IDX shard, at least 1024).
DevicePipelineOptions MakeDevicePipelineOptions(const DeviceConfig& config, const DataSource& source);

// Source, options and (with drift on) the scorer, as one pipeline. `clock`
// is borrowed. Errors of the steps above, or of DevicePipeline::Create.
absl::StatusOr<std::unique_ptr<DevicePipeline>> CreateDevicePipeline(const DeviceConfig& config, Clock* clock);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DEVICE_DATA_SETUP_H_
