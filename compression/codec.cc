#include "compression/codec.h"

#include <string>
#include <utility>

#include "compression/codec_spec.h"
#include "compression/internal/pipeline.h"
#include "compression/internal/zstd_stage.h"
#include "core/status.h"

namespace fedge {
namespace {

using compression_internal::ParseRaw;
using compression_internal::RawSectionSize;
using compression_internal::ValidateElementCount;

// Keeps zstd-decompressed bytes alive for the inner view that points into
// them. Never moved after the inner view is created (it lives behind a
// unique_ptr), so the buffer's address is stable.
class DecompressedView final : public UpdateView {
 public:
  explicit DecompressedView(std::string raw) : raw_(std::move(raw)) {}

  std::string_view raw() const { return raw_; }
  void set_inner(std::unique_ptr<UpdateView> inner) { inner_ = std::move(inner); }

  int64_t size() const override { return inner_->size(); }
  void AccumulateInto(absl::Span<float> acc, float weight) const override { inner_->AccumulateInto(acc, weight); }
  void DecodeInto(absl::Span<float> out) const override { inner_->DecodeInto(out); }
  double SquaredNorm() const override { return inner_->SquaredNorm(); }

 private:
  std::string raw_;
  std::unique_ptr<UpdateView> inner_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UpdateView>> DecodeUpdate(std::string_view codec_spec, std::string_view payload,
                                                         int64_t num_elements) {
  FEDGE_ASSIGN_OR_RETURN(const CodecSpec spec, ParseCodecSpec(codec_spec));
  FEDGE_RETURN_IF_ERROR(ValidateElementCount(num_elements));
  if (!spec.zstd_level) return ParseRaw(spec, payload, num_elements);
  FEDGE_ASSIGN_OR_RETURN(
      std::string raw, compression_internal::ZstdDecompressExact(payload, RawSectionSize(spec, num_elements)));
  auto view = std::make_unique<DecompressedView>(std::move(raw));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<UpdateView> inner, ParseRaw(spec, view->raw(), num_elements));
  view->set_inner(std::move(inner));
  return view;
}

absl::Status ValidateCodecSpec(std::string_view spec) { return ParseCodecSpec(spec).status(); }

absl::StatusOr<size_t> MaxEncodedSize(std::string_view spec, int64_t num_elements) {
  FEDGE_ASSIGN_OR_RETURN(const CodecSpec parsed, ParseCodecSpec(spec));
  FEDGE_RETURN_IF_ERROR(ValidateElementCount(num_elements));
  const size_t raw = RawSectionSize(parsed, num_elements);
  return parsed.zstd_level ? compression_internal::ZstdBound(raw) : raw;
}

double CompressionRatio(size_t payload_bytes, int64_t num_elements) {
  if (payload_bytes == 0) return 0;
  return 4.0 * static_cast<double>(num_elements) / static_cast<double>(payload_bytes);
}

}  // namespace fedge
