// File: client/drift_settings.h
//
// The keys a device's drift monitoring and data store share between
// fedge-device (client/device_config.h) and the simulator's `[drift]` table
// (simulations/drift_schedule.h): one struct per group and ONE reader each,
// so a key means the same, with the same range and message, in both files.
//
//   store keys (fedge-device: [data]; fedge-sim: [drift])
//     window = 400, reservoir = 200   # DeviceDataStream: recent window, replay reservoir
//     train_examples = 256            # examples per training set
//   response keys (fedge-device and fedge-sim: [drift])
//     response = true                 # prioritise recent data after an alarm
//     report_alarms = true            # report alarms to the coordinator
//     hold_examples = 0               # recent-only training lasts this many new examples (0 = window)
//   [drift.detector]
//     name = "page_hinkley"           # client/drift/detector_registry.h, with its sub-table
//     signal = "error_prob"           # error_prob (1 - p(true label)) | loss | error (0/1)
//     warmup_samples = 0, cooldown_samples = 1000
//     reference_examples = 200        # re-baseline on every new model (0 = never restart)
//
// The defaults are the simulator's; fedge-device starts from its own before
// reading (DefaultDeviceConfig). LibTorch-free.
#ifndef FEDGE_CLIENT_DRIFT_SETTINGS_H_
#define FEDGE_CLIENT_DRIFT_SETTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client/drift/detector_registry.h"
#include "client/drift_response.h"
#include "core/config.h"

namespace fedge {

// What the monitor is fed per scored example.
enum class DriftSignalKind {
  kErrorProb,  // 1 - p(true label) = 1 - exp(-loss), in [0, 1]
  kLoss,       // the cross-entropy itself
  kError,      // 0/1 misclassification (DDM's stream)
};

// "error_prob", "loss", "error".
const std::vector<std::string>& DriftSignalNames();

// The monitor's input for one example with cross-entropy `loss` that the
// model classified correctly or not.
float DriftSignalValue(DriftSignalKind kind, float loss, bool correct);

// The device's data store.
struct DataStoreSettings {
  int64_t window = 400;
  int64_t reservoir = 200;
  int64_t train_examples = 256;
};

// The device's monitor and response.
struct DeviceDriftSettings {
  bool response = true;
  bool report_alarms = true;
  int64_t hold_examples = 0;
  DetectorSpec detector = DefaultDetectorSpec();
  DriftSignalKind signal = DriftSignalKind::kErrorProb;
  int64_t warmup_samples = 0;
  int64_t cooldown_samples = 1000;
  int64_t reference_examples = 200;
};

// Read over the current values (absent keys keep them); problems are
// recorded on the section with their key path.
void ReadDataStoreKeys(ConfigSection section, DataStoreSettings* store);
void ReadDeviceDriftKeys(ConfigSection drift, DeviceDriftSettings* settings);

// The responder's options for these settings.
DriftResponseOptions MakeDriftResponseOptions(const DeviceDriftSettings& settings);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_SETTINGS_H_
