// File: client/inference_health.h
//
// The device's health check of a newly installed deployed model: accuracy
// on labelled examples the device holds back from the network (its own
// stored examples, drawn with a fixed seed), so a validly signed model that
// predicts badly is caught before it serves for long. The Device runs it
// after each install and rolls the slot back when it fails
// (client/device.h, DeviceOptions::inference_health_check).
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_CLIENT_INFERENCE_HEALTH_H_
#define FEDGE_CLIENT_INFERENCE_HEALTH_H_

#include <optional>

#include "absl/status/statusor.h"
#include "client/data/example_store.h"
#include "inference/model_slot.h"

namespace fedge {

// Share of the labelled examples of `batch` that `model` classifies right;
// nullopt when `batch` has none. kInvalidArgument when the examples do not
// fit the model's input (the device trains another shape), or inference's
// own errors. REQUIRES: `model` is not empty.
absl::StatusOr<std::optional<double>> HeldBackAccuracy(const ModelHandle& model, const ExampleBatch& batch);

}  // namespace fedge

#endif  // FEDGE_CLIENT_INFERENCE_HEALTH_H_
