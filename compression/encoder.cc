#include "compression/encoder.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "compression/codec.h"
#include "compression/internal/bytes.h"
#include "compression/internal/pipeline.h"
#include "compression/internal/zstd_stage.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

using compression_internal::Load;
using compression_internal::Store;

// State layout (little-endian): magic "FDEF", u32 version, u64 element
// count, u64 residual count (0 or the element count), the residual floats,
// then a u64 FNV-1a hash of everything before it.
constexpr char kStateMagic[4] = {'F', 'D', 'E', 'F'};
constexpr uint32_t kStateVersion = 1;
constexpr size_t kStateHeaderSize = 4 + 4 + 8 + 8;
constexpr size_t kStateHashSize = 8;

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

absl::Status StateError(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("encoder state is corrupt: ", AsAbsl(what)));
}

}  // namespace

UpdateEncoder::UpdateEncoder(CodecSpec spec, int64_t num_elements)
    : spec_(std::move(spec)), num_elements_(num_elements) {
  if (spec_.uses_error_feedback()) residual_.assign(num_elements_, 0.0f);
}

absl::StatusOr<std::unique_ptr<UpdateEncoder>> UpdateEncoder::Create(std::string_view codec_spec,
                                                                      int64_t num_elements) {
  FEDGE_ASSIGN_OR_RETURN(CodecSpec spec, ParseCodecSpec(codec_spec));
  FEDGE_RETURN_IF_ERROR(compression_internal::ValidateElementCount(num_elements));
  return std::unique_ptr<UpdateEncoder>(new UpdateEncoder(std::move(spec), num_elements));
}

absl::Status UpdateEncoder::CheckDelta(absl::Span<const float> delta) const {
  if (static_cast<int64_t>(delta.size()) != num_elements_) {
    return absl::InvalidArgumentError(
        absl::StrCat("delta has ", delta.size(), " values but the encoder was created for ", num_elements_));
  }
  // Checked before the residual changes so a bad delta cannot poison it;
  // the sum is what gets encoded, and it can overflow even for finite inputs.
  for (size_t i = 0; i < delta.size(); ++i) {
    const float corrected = residual_.empty() ? delta[i] : residual_[i] + delta[i];
    if (!std::isfinite(corrected)) {
      return absl::InvalidArgumentError(absl::StrCat("delta value ", i, " is ", delta[i],
                                                     residual_.empty() ? "" : " (plus residual)",
                                                     "; updates must be finite"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> UpdateEncoder::Encode(absl::Span<const float> delta, absl::BitGenRef gen) {
  FEDGE_RETURN_IF_ERROR(CheckDelta(delta));
  std::string raw;
  if (residual_.empty()) {
    raw = compression_internal::EncodeRaw(spec_, delta, gen);
  } else {
    residual_before_ = residual_;  // reuses its capacity: one copy of n floats
    can_revert_ = true;
    for (size_t i = 0; i < delta.size(); ++i) residual_[i] += delta[i];
    raw = compression_internal::EncodeRaw(spec_, residual_, gen);
    // Subtract exactly what the coordinator will decode, by running the
    // coordinator's own decoder on the payload.
    auto sent = compression_internal::ParseRaw(spec_, raw, num_elements_);
    if (!sent.ok()) {
      return absl::InternalError(absl::StrCat("encoder produced an undecodable payload: ", sent.status().message()));
    }
    (*sent)->AccumulateInto(absl::MakeSpan(residual_), -1.0f);
  }
  if (!spec_.zstd_level) return raw;
  return compression_internal::ZstdCompress(raw, *spec_.zstd_level);
}

void UpdateEncoder::RevertLastEncode() {
  if (!can_revert_) return;
  residual_.swap(residual_before_);
  can_revert_ = false;
}

absl::Status UpdateEncoder::ReturnUndelivered(std::string_view payload) {
  if (residual_.empty()) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<UpdateView> sent, DecodeUpdate(spec_.ToString(), payload, num_elements_));
  sent->AccumulateInto(absl::MakeSpan(residual_), 1.0f);
  can_revert_ = false;  // the residual before the last Encode no longer accounts for this mass
  return absl::OkStatus();
}

std::string UpdateEncoder::SaveState() const {
  std::string state(kStateHeaderSize + 4 * residual_.size() + kStateHashSize, '\0');
  char* p = state.data();
  std::memcpy(p, kStateMagic, 4);
  Store<uint32_t>(p + 4, kStateVersion);
  Store<uint64_t>(p + 8, static_cast<uint64_t>(num_elements_));
  Store<uint64_t>(p + 16, residual_.size());
  if (!residual_.empty()) std::memcpy(p + kStateHeaderSize, residual_.data(), 4 * residual_.size());
  const size_t body = state.size() - kStateHashSize;
  Store<uint64_t>(p + body, Fnv1a64(std::string_view(state).substr(0, body)));
  return state;
}

absl::Status UpdateEncoder::RestoreState(std::string_view state) {
  if (state.size() < kStateHeaderSize + kStateHashSize) return StateError("too short");
  if (std::memcmp(state.data(), kStateMagic, 4) != 0) return StateError("bad magic");
  if (Load<uint32_t>(state.data() + 4) != kStateVersion) {
    return StateError(absl::StrCat("unsupported version ", Load<uint32_t>(state.data() + 4)));
  }
  const uint64_t n = Load<uint64_t>(state.data() + 8);
  const uint64_t count = Load<uint64_t>(state.data() + 16);
  if (n > static_cast<uint64_t>(kMaxUpdateElements)) return StateError(absl::StrCat("element count ", n));
  if (count != 0 && count != n) return StateError("residual count differs from element count");
  if (state.size() != kStateHeaderSize + 4 * count + kStateHashSize) {
    return StateError(absl::StrCat("size ", state.size(), " does not match ", count, " residual values"));
  }
  const size_t body = state.size() - kStateHashSize;
  if (Load<uint64_t>(state.data() + body) != Fnv1a64(state.substr(0, body))) return StateError("checksum mismatch");
  if (n != static_cast<uint64_t>(num_elements_)) {
    return absl::FailedPreconditionError(
        absl::StrCat("encoder state is for ", n, " elements but this encoder has ", num_elements_));
  }
  if (count != 0 && residual_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "encoder state holds an error-feedback residual but pipeline '", spec_.ToString(), "' keeps none"));
  }
  std::vector<float> restored(residual_.size(), 0.0f);
  for (uint64_t i = 0; i < count; ++i) {
    restored[i] = Load<float>(state.data() + kStateHeaderSize + 4 * i);
    if (!std::isfinite(restored[i])) return StateError(absl::StrCat("residual value ", i, " is not finite"));
  }
  residual_ = std::move(restored);
  can_revert_ = false;
  return absl::OkStatus();
}

}  // namespace fedge
