#include "compression/internal/value_codec.h"

#include "absl/strings/str_cat.h"
#include "compression/internal/fp16_codec.h"
#include "compression/internal/fp32_codec.h"
#include "compression/internal/int4_codec.h"
#include "compression/internal/int8_codec.h"
#include "compression/internal/sign_codec.h"
#include "core/strings.h"

namespace fedge::compression_internal {

std::unique_ptr<ValueCodec> MakeValueCodec(const ValueStage& stage) {
  switch (stage.kind) {
    case ValueCodecKind::kFp32: return MakeFp32Codec();
    case ValueCodecKind::kFp16: return MakeFp16Codec();
    case ValueCodecKind::kInt8: return MakeInt8Codec(stage.block_size);
    case ValueCodecKind::kInt4: return MakeInt4Codec(stage.block_size);
    case ValueCodecKind::kSign: return MakeSignCodec(stage.block_size);
  }
  return MakeFp32Codec();  // unreachable: the switch covers every kind
}

absl::Status SectionSizeError(std::string_view codec, size_t got, size_t expected, int64_t m) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(codec), " payload has ", got, " bytes but ", m,
                                                 " values take exactly ", expected, " bytes"));
}

}  // namespace fedge::compression_internal
