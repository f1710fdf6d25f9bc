// File: client/device_conditions.h
//
// When a real device may train: on mains power or with enough battery, not
// while the CPU is busy with its owner's work, not over a metered link unless
// allowed. `DeviceConditions::Check()` answers with an Eligibility that the
// Device sends with every poll (DeviceOptions::eligibility) and that
// fedge-device also checks between training batches
// (TorchTrainerOptions::between_batches), so a device unplugged mid-task
// stops at the next batch: nothing is uploaded and no privacy is charged.
// The minimum separation between participations is the Device's own
// (DeviceOptions::min_participation_interval).
//
// `LinuxDeviceConditions` reads the kernel's power-supply class
// (<power_supply_dir>/*/{type,online,capacity,status}) and /proc/loadavg. A
// machine without a battery entry (a server, a gateway, a VM) counts as on
// mains power.
//
// Thread-safety: Check() may be called from any thread (it only reads files).
#ifndef FEDGE_CLIENT_DEVICE_CONDITIONS_H_
#define FEDGE_CLIENT_DEVICE_CONDITIONS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/device.h"

namespace fedge {

struct DeviceConditionsOptions {
  // On battery, train only when the charge is at least this (percent); 0: any.
  double min_battery_percent = 20;
  // Train only on mains power.
  bool require_mains = false;
  // Train only while the 1-minute load average per core is below this; 0: any.
  double max_load_per_core = 0;
  // The link is metered (the operator says so: Linux cannot tell reliably),
  // and whether training (which downloads a model and uploads an update) is
  // allowed over it.
  bool metered = false;
  bool train_on_metered = false;
  // Where to read from (tests point them at a fake tree).
  std::string power_supply_dir = "/sys/class/power_supply";
  std::string loadavg_path = "/proc/loadavg";
};

// kInvalidArgument naming the bad field.
absl::Status ValidateDeviceConditionsOptions(const DeviceConditionsOptions& options);

class DeviceConditions {
 public:
  virtual ~DeviceConditions() = default;
  // Eligible, or not with a reason the operator can read ("battery at 12%,
  // below 20%").
  virtual Eligibility Check() const = 0;
  // Check() as a status for TorchTrainerOptions::between_batches: kAborted
  // "training interrupted: <reason>" when not eligible.
  absl::Status CheckBetweenBatches() const;
};

// kInvalidArgument for bad options.
absl::StatusOr<std::unique_ptr<DeviceConditions>> LinuxDeviceConditions(const DeviceConditionsOptions& options);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DEVICE_CONDITIONS_H_
