#include "compression/codec_spec.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr char kGrammar[] =
    "expected [topk:FRACTION>](fp32|fp16|int8[:BLOCK]|int4[:BLOCK]|sign[:BLOCK])[>zstd[:LEVEL]], "
    "e.g. 'topk:0.01>int8>zstd'";

struct Stage {
  std::string name;
  std::optional<std::string> param;
};

absl::Status SpecError(std::string_view spec, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid codec spec '", AsAbsl(spec), "': ", AsAbsl(what), "; ", kGrammar));
}

// Block-size constraints keep every block aligned to a whole byte of packed
// codes, which keeps the decode loops simple: int4 packs 2 codes per byte,
// sign packs 8.
absl::StatusOr<int> ParseBlockSize(const Stage& stage, int multiple_of, std::string_view spec) {
  if (!stage.param) return kDefaultBlockSize;
  int block = 0;
  if (!absl::SimpleAtoi(*stage.param, &block) || block < multiple_of || block > kMaxBlockSize ||
      block % multiple_of != 0) {
    return SpecError(spec, absl::StrCat("block size '", *stage.param, "' of stage '", stage.name,
                                        "' must be an integer in [", multiple_of, ", ", kMaxBlockSize,
                                        "]", multiple_of > 1 ? absl::StrCat(" and a multiple of ", multiple_of) : ""));
  }
  return block;
}

absl::StatusOr<ValueStage> ParseValueStage(const Stage& stage, std::string_view spec) {
  if (stage.name == "fp32" || stage.name == "fp16") {
    if (stage.param) return SpecError(spec, absl::StrCat("stage '", stage.name, "' takes no parameter"));
    return ValueStage{stage.name == "fp32" ? ValueCodecKind::kFp32 : ValueCodecKind::kFp16, 0};
  }
  ValueStage value;
  int multiple_of = 1;
  if (stage.name == "int8") {
    value.kind = ValueCodecKind::kInt8;
  } else if (stage.name == "int4") {
    value.kind = ValueCodecKind::kInt4;
    multiple_of = 2;
  } else {
    value.kind = ValueCodecKind::kSign;
    multiple_of = 8;
  }
  FEDGE_ASSIGN_OR_RETURN(value.block_size, ParseBlockSize(stage, multiple_of, spec));
  return value;
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

bool IsValueStage(std::string_view name) {
  return name == "fp32" || name == "fp16" || name == "int8" || name == "int4" || name == "sign";
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

bool CodecSpec::uses_error_feedback() const {
  return topk_fraction.has_value() || value.kind == ValueCodecKind::kSign;
}

std::string CodecSpec::ToString() const {
  std::string out;
  if (topk_fraction) absl::StrAppend(&out, "topk:", FormatFraction(*topk_fraction), ">");
  switch (value.kind) {
    case ValueCodecKind::kFp32: absl::StrAppend(&out, "fp32"); break;
    case ValueCodecKind::kFp16: absl::StrAppend(&out, "fp16"); break;
    case ValueCodecKind::kInt8: absl::StrAppend(&out, "int8:", value.block_size); break;
    case ValueCodecKind::kInt4: absl::StrAppend(&out, "int4:", value.block_size); break;
    case ValueCodecKind::kSign: absl::StrAppend(&out, "sign:", value.block_size); break;
  }
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
    } else if (IsValueStage(stage.name)) {
      if (value_name) {
        return SpecError(spec, absl::StrCat("only one value stage is allowed, got '", *value_name,
                                            "' and '", stage.name, "'"));
      }
      value_name = stage.name;
      FEDGE_ASSIGN_OR_RETURN(parsed.value, ParseValueStage(stage, spec));
    } else {
      return SpecError(spec, absl::StrCat("unknown stage '", stage.name,
                                          "' (known: topk, fp32, fp16, int8, int4, sign, zstd)"));
    }
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
