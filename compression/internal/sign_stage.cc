// The `sign` value stage (signSGD with one scale per block, eight codes a byte; biased, so error feedback): its registration with
// compression/value_stage_registry.h. The codec is in sign_codec.h; the bit
// layout in compression/README.md.
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "compression/internal/sign_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge {
namespace {

using compression_internal::MakeSignCodec;

absl::StatusOr<ValueStage> MakeSignStage(std::optional<std::string_view> param) {
  absl::StatusOr<int> block = ParseBlockSizeParam("sign", param, 8);
  if (!block.ok()) return block.status();
  return ValueStage{
      .name = "sign", .param = absl::StrCat(*block), .biased = true, .codec = MakeSignCodec(*block)};
}

const bool kRegistered =
    RegisterValueStage({.name = "sign", .grammar = "sign[:BLOCK]", .make = &MakeSignStage});

}  // namespace
}  // namespace fedge
