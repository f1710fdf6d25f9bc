#include "simulations/drift_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "simulations/attack.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

DriftKind KindFromName(const std::string& name) {
  if (name == "rotation") return DriftKind::kRotation;
  if (name == "brightness") return DriftKind::kBrightness;
  if (name == "noise") return DriftKind::kNoise;
  if (name == "label_shift") return DriftKind::kLabelShift;
  if (name == "label_swap") return DriftKind::kLabelSwap;
  return DriftKind::kNone;
}

std::string KindName(DriftKind kind) {
  if (kind == DriftKind::kNone) return "none";
  return DriftKindNames()[static_cast<size_t>(kind) - 1];
}

// Reads an array of integers (TOML arrays arrive as doubles) in [lo, hi].
void ReadIntegers(ConfigSection& section, std::string_view key, int64_t lo, int64_t hi, std::vector<int64_t>* out) {
  if (!section.Has(key)) return;
  std::vector<double> values;
  section.Read(key, &values);
  out->clear();
  for (double v : values) {
    if (!(v == std::floor(v) && v >= static_cast<double>(lo) && v <= static_cast<double>(hi))) {
      section.Error(absl::StrCat("'", AsAbsl(key), "' must hold integers in [", lo, ", ", hi, "], got ", v));
      return;
    }
    out->push_back(static_cast<int64_t>(v));
  }
}

void CheckLabels(ConfigSection& s, DriftSettings* drift) {
  if (drift->kind == DriftKind::kLabelSwap) {
    if (drift->labels.size() != 2 || drift->labels[0] == drift->labels[1]) {
      s.Error("kind = \"label_swap\" needs 'labels = [a, b]' with two different labels");
    }
  } else if (drift->kind == DriftKind::kLabelShift) {
    if (drift->labels.empty()) s.Error("kind = \"label_shift\" needs 'labels', the classes new data favour");
  } else if (!drift->labels.empty()) {
    s.Error("'labels' is only read for kind = \"label_swap\" or \"label_shift\"");
  }
}

}  // namespace

const std::vector<std::string>& DriftKindNames() {
  static const auto* names = new std::vector<std::string>{"rotation", "brightness", "noise", "label_shift", "label_swap"};
  return *names;
}

void ReadDriftTable(ConfigSection s, int64_t num_devices, int64_t rounds, DriftSettings* drift) {
  std::string kind = drift->enabled() ? KindName(drift->kind) : "";
  s.Read("kind", &kind, DriftKindNames());
  drift->kind = KindFromName(kind);
  s.Read("fraction", &drift->fraction, 0, 1);
  ReadIntegers(s, "devices", 0, std::max<int64_t>(num_devices - 1, 0), &drift->devices);
  s.Read("start_round", &drift->start_round, 1, kMaxInt);
  s.Read("ramp_rounds", &drift->ramp_rounds, 0, kMaxInt);
  s.Read("magnitude", &drift->magnitude, -1e6, 1e6);
  s.Read("contrast", &drift->contrast, 0, 100);
  std::vector<int64_t> labels(drift->labels.begin(), drift->labels.end());
  ReadIntegers(s, "labels", 0, 9, &labels);
  drift->labels.assign(labels.begin(), labels.end());
  s.Read("observe_examples", &drift->observe_examples, 1, 1000000);
  s.Read("eval_examples", &drift->eval_examples, 1, 10000);
  // The device's keys, read as fedge-device reads them (client/drift_settings.h).
  ReadDataStoreKeys(s, drift);
  ReadDeviceDriftKeys(s, drift);
  if (!drift->enabled()) {
    if (s.Has("fraction") || s.Has("devices") || s.Has("start_round")) {
      s.Error("set 'kind' (rotation, brightness, noise, label_shift or label_swap) to enable drift");
    }
    return;
  }
  if (s.Has("fraction") && s.Has("devices")) s.Error("set either 'fraction' or 'devices', not both");
  if (drift->start_round > rounds) {
    s.Error(absl::StrCat("'start_round' = ", drift->start_round, " is after the last round (", rounds, ")"));
  }
  const double m = FullMagnitude(*drift);
  const bool share = drift->kind == DriftKind::kLabelShift || drift->kind == DriftKind::kLabelSwap;
  if (share && !(m >= 0 && m <= 1)) s.Error(absl::StrCat("'magnitude' must be a share in [0, 1] for ", kind));
  if (drift->kind == DriftKind::kBrightness && !(m >= -1 && m <= 1)) {
    s.Error("'magnitude' (brightness offset) must be in [-1, 1]");
  }
  if (drift->kind == DriftKind::kNoise && !(m >= 0 && m <= 10)) s.Error("'magnitude' (noise std) must be in [0, 10]");
  if (s.Has("contrast") && drift->kind != DriftKind::kBrightness) s.Error("'contrast' is only read for brightness");
  CheckLabels(s, drift);
}

nlohmann::json DriftToJson(const DriftSettings& d) {
  if (!d.enabled()) return {{"kind", "none"}};
  nlohmann::json j = {{"kind", KindName(d.kind)},
                      {"start_round", d.start_round},
                      {"ramp_rounds", d.ramp_rounds},
                      {"magnitude", FullMagnitude(d)},
                      {"response", d.response},
                      {"report_alarms", d.report_alarms},
                      {"observe_examples", d.observe_examples},
                      {"window", d.window},
                      {"reservoir", d.reservoir},
                      {"train_examples", d.train_examples},
                      {"hold_examples", d.hold_examples},
                      {"eval_examples", d.eval_examples}};
  if (d.devices.empty()) {
    j["fraction"] = d.fraction;
  } else {
    j["devices"] = d.devices;
  }
  if (d.kind == DriftKind::kBrightness) j["contrast"] = d.contrast;
  if (!d.labels.empty()) j["labels"] = d.labels;
  j["detector"] = {{"name", d.detector.name},
                   {"signal", DriftSignalNames()[static_cast<size_t>(d.signal)]},
                   {"warmup_samples", d.warmup_samples},
                   {"cooldown_samples", d.cooldown_samples},
                   {"reference_examples", d.reference_examples}};
  for (const auto& [key, value] : d.detector.options) j["detector"][key] = value;
  return j;
}

double DriftProgress(const DriftSettings& drift, int64_t round) {
  if (!drift.enabled() || round < drift.start_round) return 0;
  if (drift.ramp_rounds == 0) return 1;
  return std::min(1.0, static_cast<double>(round - drift.start_round + 1) / static_cast<double>(drift.ramp_rounds));
}

double FullMagnitude(const DriftSettings& drift) {
  if (drift.magnitude != 0) return drift.magnitude;
  switch (drift.kind) {
    case DriftKind::kRotation: return 90;
    case DriftKind::kBrightness: return 0.5;
    case DriftKind::kNoise: return 0.3;
    case DriftKind::kLabelShift: return 0.8;
    case DriftKind::kLabelSwap: return 1;
    case DriftKind::kNone: return 0;
  }
  return 0;
}

std::vector<bool> SelectDriftingDevices(const DriftSettings& drift, int64_t num_devices, uint64_t seed) {
  if (!drift.enabled()) return std::vector<bool>(std::max<int64_t>(num_devices, 0), false);
  if (drift.devices.empty()) return SelectMaliciousDevices(num_devices, drift.fraction, seed);  // same seeded draw
  std::vector<bool> drifting(std::max<int64_t>(num_devices, 0), false);
  for (int64_t i : drift.devices) {
    if (i >= 0 && i < num_devices) drifting[i] = true;
  }
  return drifting;
}

}  // namespace fedge
