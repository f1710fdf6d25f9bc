// update_fuzzer: an encoded model update, decoded and accumulated the way
// the coordinator does it (compression/codec.h DecodeUpdate → UpdateView).
//
// Input (fuzz/fuzz_input.h):
//   U8  codec      index into kUpdateCodecs (wraps around)
//   U16 elements   element count the update must decode to (mod 4097)
//   ... payload    the rest: the untrusted payload bytes
//
// Invariants beyond "no crash, no sanitizer report":
//   - an accepted payload is no larger than MaxEncodedSize(spec, n);
//   - the view has n elements, a finite SquaredNorm() that matches the
//     decoded values, and AccumulateInto(0, 1) == DecodeInto (the fused path
//     and the plain decode agree);
//   - re-encoding the decoded values with the device encoder gives a payload
//     the decoder accepts (encoder and decoder agree), bit-exact for fp32.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compression/codec.h"
#include "compression/encoder.h"
#include "core/random.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/update_codecs.h"

namespace fedge::fuzz {
namespace {

constexpr int64_t kMaxElements = 4096;

void CheckReencode(std::string_view spec, const std::vector<float>& decoded) {
  const int64_t n = static_cast<int64_t>(decoded.size());
  absl::StatusOr<std::unique_ptr<UpdateEncoder>> encoder = UpdateEncoder::Create(spec, n);
  FEDGE_FUZZ_CHECK(encoder.ok(), encoder.status().ToString());
  SeededRandom rng(7);
  absl::StatusOr<std::string> payload = (*encoder)->Encode(decoded, rng);
  FEDGE_FUZZ_CHECK(payload.ok(), absl::StrCat("the encoder refuses values its decoder produced: ",
                                              payload.status().ToString()));
  absl::StatusOr<std::unique_ptr<UpdateView>> again = DecodeUpdate(spec, *payload, n);
  FEDGE_FUZZ_CHECK(again.ok(), absl::StrCat("the decoder refuses what the encoder wrote for decoded values: ",
                                            again.status().ToString()));
  if (spec == "fp32") {
    std::vector<float> round_trip(decoded.size());
    (*again)->DecodeInto(absl::MakeSpan(round_trip));
    FEDGE_FUZZ_CHECK(round_trip == decoded, "fp32 does not round-trip");
  }
}

void FuzzOne(FuzzInput& in) {
  const std::string_view spec = kUpdateCodecs[in.U8() % kNumUpdateCodecs];
  const int64_t n = in.U16() % (kMaxElements + 1);
  const std::string payload(in.Rest());  // own copy: the view may point into it

  absl::StatusOr<std::unique_ptr<UpdateView>> view = DecodeUpdate(spec, payload, n);
  if (!view.ok()) {
    FEDGE_FUZZ_CHECK(view.status().code() == absl::StatusCode::kInvalidArgument, view.status().ToString());
    return;
  }
  absl::StatusOr<size_t> max_size = MaxEncodedSize(spec, n);
  FEDGE_FUZZ_CHECK(max_size.ok(), max_size.status().ToString());
  FEDGE_FUZZ_CHECK(payload.size() <= *max_size,
                   absl::StrCat(std::string(spec), ": accepted a ", payload.size(), "-byte payload, MaxEncodedSize says ",
                                *max_size));
  FEDGE_FUZZ_CHECK((*view)->size() == n, "view size differs from the requested element count");

  const double norm2 = (*view)->SquaredNorm();
  FEDGE_FUZZ_CHECK(std::isfinite(norm2) && norm2 >= 0, absl::StrCat("SquaredNorm() = ", norm2));
  std::vector<float> decoded(n);
  (*view)->DecodeInto(absl::MakeSpan(decoded));
  double sum = 0;
  for (float v : decoded) {
    FEDGE_FUZZ_CHECK(std::isfinite(v), "a valid view decoded a non-finite value");
    sum += double{v} * v;
  }
  FEDGE_FUZZ_CHECK(std::fabs(sum - norm2) <= 1e-6 * std::max(sum, norm2) + 1e-30,
                   absl::StrCat("SquaredNorm() ", norm2, " but the decoded values give ", sum));
  std::vector<float> acc(n, 0.0f);
  (*view)->AccumulateInto(absl::MakeSpan(acc), 1.0f);
  FEDGE_FUZZ_CHECK(acc == decoded, "AccumulateInto(0, 1) differs from DecodeInto");

  CheckReencode(spec, decoded);
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  fedge::fuzz::FuzzOne(in);
  return 0;
}
