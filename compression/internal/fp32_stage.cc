// The `fp32` value stage (IEEE-754 binary32, lossless): its registration with
// compression/value_stage_registry.h. The codec is in fp32_codec.h; the bit
// layout in compression/README.md.
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "compression/internal/fp32_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge {
namespace {

using compression_internal::MakeFp32Codec;

absl::StatusOr<ValueStage> MakeFp32Stage(std::optional<std::string_view> param) {
  if (param) return absl::InvalidArgumentError("stage 'fp32' takes no parameter");
  return ValueStage{.name = "fp32", .param = "", .biased = false, .codec = MakeFp32Codec()};
}

const bool kRegistered = RegisterValueStage({.name = "fp32", .grammar = "fp32", .make = &MakeFp32Stage});

}  // namespace
}  // namespace fedge
