// The `int4` value stage (blocked stochastic 4-bit quantiser, two codes a byte): its registration with
// compression/value_stage_registry.h. The codec is in int4_codec.h; the bit
// layout in compression/README.md.
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "compression/internal/int4_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge {
namespace {

using compression_internal::MakeInt4Codec;

absl::StatusOr<ValueStage> MakeInt4Stage(std::optional<std::string_view> param) {
  absl::StatusOr<int> block = ParseBlockSizeParam("int4", param, 2);
  if (!block.ok()) return block.status();
  return ValueStage{
      .name = "int4", .param = absl::StrCat(*block), .biased = false, .codec = MakeInt4Codec(*block)};
}

const bool kRegistered =
    RegisterValueStage({.name = "int4", .grammar = "int4[:BLOCK]", .make = &MakeInt4Stage});

}  // namespace
}  // namespace fedge
