#include "compression/internal/pipeline.h"

#include "absl/strings/str_cat.h"
#include "compression/internal/topk_codec.h"
#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

absl::Status ValidateElementCount(int64_t n) {
  if (n < 0 || n > kMaxUpdateElements) {
    return absl::InvalidArgumentError(
        absl::StrCat("update element count ", n, " is outside [0, ", kMaxUpdateElements, "]"));
  }
  return absl::OkStatus();
}

size_t RawSectionSize(const CodecSpec& spec, int64_t n) {
  const ValueCodec& values = *spec.value.codec;
  if (spec.topk_fraction) return TopKEncodedSize(TopKCount(*spec.topk_fraction, n), n, values);
  return values.EncodedSize(n);
}

std::string EncodeRaw(const CodecSpec& spec, absl::Span<const float> x, absl::BitGenRef gen) {
  const int64_t n = static_cast<int64_t>(x.size());
  const ValueCodec& values = *spec.value.codec;
  std::string raw(RawSectionSize(spec, n), '\0');
  if (spec.topk_fraction) {
    EncodeTopK(x, TopKCount(*spec.topk_fraction, n), values, gen, raw.data());
  } else {
    values.Encode(x, gen, raw.data());
  }
  return raw;
}

absl::StatusOr<std::unique_ptr<UpdateView>> ParseRaw(const CodecSpec& spec, std::string_view raw, int64_t n) {
  const ValueCodec& values = *spec.value.codec;
  if (spec.topk_fraction) return ParseTopK(raw, n, TopKCount(*spec.topk_fraction, n), values);
  return values.Parse(raw, n);
}

}  // namespace fedge::compression_internal
