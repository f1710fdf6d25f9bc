#include "client/drift_settings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace fedge {
namespace {
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
}  // namespace

const std::vector<std::string>& DriftSignalNames() {
  static const auto* names = new std::vector<std::string>{"error_prob", "loss", "error"};
  return *names;
}

float DriftSignalValue(DriftSignalKind kind, float loss, bool correct) {
  switch (kind) {
    case DriftSignalKind::kErrorProb: return 1.0f - std::exp(-loss);
    case DriftSignalKind::kLoss: return loss;
    case DriftSignalKind::kError: return correct ? 0.0f : 1.0f;
  }
  return loss;
}

void ReadDataStoreKeys(ConfigSection s, DataStoreSettings* store) {
  s.Read("window", &store->window, 1, 1000000);
  s.Read("reservoir", &store->reservoir, 0, 1000000);
  s.Read("train_examples", &store->train_examples, 1, 1000000);
}

void ReadDeviceDriftKeys(ConfigSection s, DeviceDriftSettings* d) {
  s.Read("response", &d->response);
  s.Read("report_alarms", &d->report_alarms);
  s.Read("hold_examples", &d->hold_examples, 0, kMaxInt);
  ConfigSection detector = s.Section("detector");
  if (std::optional<DetectorSpec> spec = ReadDetectorTable(detector)) d->detector = *std::move(spec);
  std::string signal = DriftSignalNames()[static_cast<size_t>(d->signal)];
  detector.Read("signal", &signal, DriftSignalNames());
  d->signal = static_cast<DriftSignalKind>(
      std::find(DriftSignalNames().begin(), DriftSignalNames().end(), signal) - DriftSignalNames().begin());
  detector.Read("warmup_samples", &d->warmup_samples, 0, kMaxInt);
  detector.Read("cooldown_samples", &d->cooldown_samples, 0, kMaxInt);
  detector.Read("reference_examples", &d->reference_examples, 0, 1000000);
}

DriftResponseOptions MakeDriftResponseOptions(const DeviceDriftSettings& d) {
  DriftResponseOptions options;
  options.monitor.detector = d.detector;
  options.monitor.warmup_samples = d.warmup_samples;
  options.monitor.cooldown_samples = d.cooldown_samples;
  options.prioritise_recent = d.response;
  options.report = d.report_alarms;
  return options;
}

}  // namespace fedge
