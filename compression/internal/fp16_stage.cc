// The `fp16` value stage (IEEE-754 binary16, round to nearest): its registration with
// compression/value_stage_registry.h. The codec is in fp16_codec.h; the bit
// layout in compression/README.md.
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "compression/internal/fp16_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge {
namespace {

using compression_internal::MakeFp16Codec;

absl::StatusOr<ValueStage> MakeFp16Stage(std::optional<std::string_view> param) {
  if (param) return absl::InvalidArgumentError("stage 'fp16' takes no parameter");
  return ValueStage{.name = "fp16", .param = "", .biased = false, .codec = MakeFp16Codec()};
}

const bool kRegistered = RegisterValueStage({.name = "fp16", .grammar = "fp16", .make = &MakeFp16Stage});

}  // namespace
}  // namespace fedge
