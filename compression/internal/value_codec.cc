#include "compression/internal/value_codec.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge::compression_internal {

absl::Status SectionSizeError(std::string_view codec, size_t got, size_t expected, int64_t m) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(codec), " payload has ", got, " bytes but ", m,
                                                 " values take exactly ", expected, " bytes"));
}

}  // namespace fedge::compression_internal
