#include "compression/codec_spec.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "compression/value_stage_registry.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

// "expected [topk:FRACTION>](fp16|fp32|...)[>zstd[:LEVEL]], e.g. ...", from
// the registered value stages.
std::string Grammar() {
  return absl::StrCat("expected [topk:FRACTION>](", absl::StrJoin(ValueStageGrammars(), "|"),
                      ")[>zstd[:LEVEL]], e.g. 'topk:0.01>int8>zstd'");
}

struct Stage {
  std::string name;
  std::optional<std::string> param;
};

absl::Status SpecError(std::string_view spec, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid codec spec '", AsAbsl(spec), "': ", AsAbsl(what), "; ", Grammar()));
}

absl::StatusOr<ValueStage> MakeValueStage(const ValueStageRegistration& registration,
                                          const std::optional<std::string>& param, std::string_view spec) {
  absl::StatusOr<ValueStage> stage =
      registration.make(param ? std::optional<std::string_view>(*param) : std::nullopt);
  if (!stage.ok()) return SpecError(spec, std::string(stage.status().message()));
  return stage;
}

absl::StatusOr<double> ParseFraction(const Stage& stage, std::string_view spec) {
  double fraction = 0;
  if (!stage.param) return SpecError(spec, "stage 'topk' needs a fraction, e.g. 'topk:0.01'");
  if (!absl::SimpleAtod(*stage.param, &fraction) || !std::isfinite(fraction) || fraction <= 0 ||
      fraction > 1) {
    return SpecError(spec, absl::StrCat("topk fraction '", *stage.param, "' must be a number in (0, 1]"));
  }
  return fraction;
}

absl::StatusOr<int> ParseZstdLevel(const Stage& stage, std::string_view spec) {
  if (!stage.param) return kDefaultZstdLevel;
  int level = 0;
  if (!absl::SimpleAtoi(*stage.param, &level) || level < 1 || level > 19) {
    return SpecError(spec, absl::StrCat("zstd level '", *stage.param, "' must be an integer in [1, 19]"));
  }
  return level;
}

absl::StatusOr<std::vector<Stage>> SplitStages(std::string_view spec) {
  if (absl::StripAsciiWhitespace(AsAbsl(spec)).empty()) return SpecError(spec, "the spec is empty");
  std::vector<Stage> stages;
  for (absl::string_view part : absl::StrSplit(AsAbsl(spec), '>')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) return SpecError(spec, absl::StrCat("stage ", stages.size() + 1, " is empty"));
    Stage stage;
    const size_t colon = part.find(':');
    stage.name = std::string(absl::StripAsciiWhitespace(part.substr(0, colon)));
    if (colon != absl::string_view::npos) {
      stage.param = std::string(absl::StripAsciiWhitespace(part.substr(colon + 1)));
    }
    stages.push_back(std::move(stage));
  }
  return stages;
}

// Shortest decimal that parses back to exactly `x`, so ToString round-trips.
std::string FormatFraction(double x) {
  for (int precision = 1; precision < 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, x);
    double back = 0;
    if (absl::SimpleAtod(s, &back) && back == x) return s;
  }
  return absl::StrFormat("%.17g", x);
}

}  // namespace

bool CodecSpec::uses_error_feedback() const { return topk_fraction.has_value() || value.biased; }

std::string CodecSpec::ToString() const {
  std::string out;
  if (topk_fraction) absl::StrAppend(&out, "topk:", FormatFraction(*topk_fraction), ">");
  absl::StrAppend(&out, value.name, value.param.empty() ? "" : ":", value.param);
  if (zstd_level) absl::StrAppend(&out, ">zstd:", *zstd_level);
  return out;
}

absl::StatusOr<CodecSpec> ParseCodecSpec(std::string_view spec) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<Stage> stages, SplitStages(spec));
  CodecSpec parsed;
  std::optional<std::string> value_name;
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& stage = stages[i];
    if (stage.name == "topk") {
      if (i != 0) return SpecError(spec, "'topk' must be the first stage");
      FEDGE_ASSIGN_OR_RETURN(parsed.topk_fraction, ParseFraction(stage, spec));
    } else if (stage.name == "zstd") {
      if (i + 1 != stages.size()) return SpecError(spec, "'zstd' must be the last stage");
      FEDGE_ASSIGN_OR_RETURN(parsed.zstd_level, ParseZstdLevel(stage, spec));
    } else if (const ValueStageRegistration* registration = FindValueStage(stage.name)) {
      if (value_name) {
        return SpecError(spec, absl::StrCat("only one value stage is allowed, got '", *value_name,
                                            "' and '", stage.name, "'"));
      }
      value_name = stage.name;
      FEDGE_ASSIGN_OR_RETURN(parsed.value, MakeValueStage(*registration, stage.param, spec));
    } else {
      return SpecError(spec, absl::StrCat("unknown stage '", stage.name, "'"));
    }
  }
  if (!value_name) {
    const ValueStageRegistration* fp32 = FindValueStage("fp32");
    if (fp32 == nullptr) return SpecError(spec, "the default value stage 'fp32' is not registered");
    FEDGE_ASSIGN_OR_RETURN(parsed.value, MakeValueStage(*fp32, std::nullopt, spec));
  }
  return parsed;
}

int64_t TopKCount(double fraction, int64_t num_elements) {
  if (num_elements <= 0) return 0;
  const double k = std::ceil(fraction * static_cast<double>(num_elements));
  if (k < 1) return 1;
  if (k >= static_cast<double>(num_elements)) return num_elements;
  return static_cast<int64_t>(k);
}

}  // namespace fedge
