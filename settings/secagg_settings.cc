#include "settings/secagg_settings.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "compression/codec_spec.h"
#include "settings/federation_settings.h"

namespace fedge {

absl::StatusOr<int> SecAggCodeBits(std::string_view codec) {
  if (codec.empty()) return 8;
  absl::StatusOr<CodecSpec> spec = ParseCodecSpec(codec);
  if (!spec.ok()) return spec.status();
  const std::string& value = spec->value.name;
  if (!spec->topk_fraction && !spec->zstd_level) {
    if (value == "int4") return 4;
    if (value == "int8" || value == "fp32") return 8;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "with secure aggregation devices send int8 or int4 codes on the round's shared scale, so the codec must be "
      "\"int8\" (or \"fp32\") or \"int4\", without top-k or zstd (got \"", std::string(codec), "\")"));
}

void ReadSecAggTable(ConfigSection root, const FederationSettings& s, SecAggSettings& a) {
  if (!root.Has("secagg")) return;
  ConfigSection t = root.Section("secagg");
  a.enabled = true;
  t.Read("enabled", &a.enabled);
  t.Read("neighbours", &a.neighbours, 0, 1024);
  t.Read("threshold", &a.threshold, 0, 1024);
  t.Read("stage_timeout_s", &a.stage_timeout_s, 1e-3, 1e7);
  t.Read("coordinate_range", &a.coordinate_range, 1e-3, 1e6);
  if (!a.enabled) return;
  if (a.neighbours % 2 != 0) t.Error(absl::StrCat("'neighbours' must be even (got ", a.neighbours, ")"));
  if (a.threshold > 0 && a.neighbours > 0 && !(2 * a.threshold > a.neighbours && a.threshold <= a.neighbours)) {
    t.Error(absl::StrCat("'threshold' must be in (neighbours / 2, neighbours] = (", a.neighbours / 2, ", ",
                         a.neighbours, "]: a lower one lets a coordinator that lies about dropouts unmask a device"));
  }
  if (a.threshold > 0 && a.neighbours == 0) {
    t.Error("'threshold' needs 'neighbours' too (t must exceed neighbours / 2); or leave both 0 to derive them");
  }
  static const char* const kMeans[] = {"fedavg", "fedavgm", "fedprox", "fedadam", "fedyogi", "fedadagrad"};
  bool mean = false;
  for (const char* name : kMeans) mean = mean || s.strategy.name == name;
  if (!mean) {
    t.Error(absl::StrCat("secure aggregation reveals only the sum of the updates, but strategy \"", s.strategy.name,
                         "\" needs each update; use fedavg, fedavgm, fedprox, fedadam, fedyogi or fedadagrad"));
  }
  if (!(s.training.update_clip_norm > 0) && !s.client_dp.enabled) {
    t.Error("secure aggregation needs training.update_clip_norm > 0 (or [client_dp]): the round's shared "
            "quantization scale is derived from the clip norm");
  }
  if (s.client_dp.enabled && s.client_dp.adaptive) {
    t.Error("secure aggregation does not support client_dp.adaptive (it needs each device's clipped bit in the clear)");
  }
  if (absl::StatusOr<int> bits = SecAggCodeBits(s.training.codec); !bits.ok()) {
    t.Error(absl::StrCat("training.codec: ", bits.status().message()));
  }
}

}  // namespace fedge
