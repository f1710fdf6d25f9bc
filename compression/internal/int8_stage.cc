// The `int8` value stage (blocked stochastic 8-bit quantiser): its registration with
// compression/value_stage_registry.h. The codec is in int8_codec.h; the bit
// layout in compression/README.md.
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "compression/internal/int8_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge {
namespace {

using compression_internal::MakeInt8Codec;

absl::StatusOr<ValueStage> MakeInt8Stage(std::optional<std::string_view> param) {
  absl::StatusOr<int> block = ParseBlockSizeParam("int8", param, 1);
  if (!block.ok()) return block.status();
  return ValueStage{
      .name = "int8", .param = absl::StrCat(*block), .biased = false, .codec = MakeInt8Codec(*block)};
}

const bool kRegistered =
    RegisterValueStage({.name = "int8", .grammar = "int8[:BLOCK]", .make = &MakeInt8Stage});

}  // namespace
}  // namespace fedge
