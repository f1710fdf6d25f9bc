// int8_graph_fuzzer: the int8 runtime's loader and one inference
// (inference/engine.h), as a device installs a deployed model and classifies with it.
//
// Input (fuzz/fuzz_input.h):
//   U8  mode   even: the rest is an ArtifactBody loaded with
//              InferenceEngine::LoadBody (no signature: mutations reach the
//              graph validation, planning and kernels directly);
//              odd: the rest is SignedArtifact bytes for Load with the
//              fuzzing key (fuzz/fuzz_key.h), the device's real entry point.
//   ... rest
//
// Invariants beyond "no crash, no sanitizer report, no timeout, no OOM":
//   - errors are kInvalidArgument (kPermissionDenied too when signed);
//   - the optimised and the reference kernels accept the same graphs and
//     produce bit-identical int8 logits on the same quantised input;
//   - Classify on a finite input succeeds with finite probabilities in
//     [0, 1] that sum to 1, and an argmax that is the first maximal logit.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inference/engine.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_key.h"
#include "proto/fedge.pb.h"

namespace fedge::fuzz {
namespace {

absl::StatusOr<std::unique_ptr<InferenceEngine>> LoadWith(bool signed_mode, const std::string& bytes,
                                                          const proto::ArtifactBody* body, KernelSet kernels) {
  const EngineOptions options{.kernels = kernels};
  if (signed_mode) return InferenceEngine::Load(bytes, FuzzVerifyKey(), options);
  return InferenceEngine::LoadBody(*body, options);
}

// A fixed input with values on both sides of zero and a range wider than
// typical calibrations, so clamping paths run too.
std::vector<float> TestInput(int64_t size) {
  std::vector<float> x(size);
  for (int64_t i = 0; i < size; ++i) x[i] = 3.0f * std::sin(0.37f * static_cast<float>(i));
  return x;
}

void CheckClassify(InferenceEngine& engine) {
  const std::vector<float> input = TestInput(engine.input_size());
  std::vector<float> probs(engine.num_classes());
  int argmax = -1;
  const absl::Status s = engine.Classify(input, absl::MakeSpan(probs), &argmax);
  FEDGE_FUZZ_CHECK(s.ok(), absl::StrCat("Classify failed on a loaded model: ", s.ToString()));
  double sum = 0;
  for (float p : probs) {
    FEDGE_FUZZ_CHECK(std::isfinite(p) && p >= 0 && p <= 1, absl::StrCat("probability ", p));
    sum += p;
  }
  FEDGE_FUZZ_CHECK(std::fabs(sum - 1) < 1e-3, absl::StrCat("probabilities sum to ", sum));
  std::vector<int8_t> quantized(engine.input_size());
  FEDGE_FUZZ_CHECK(engine.QuantizeInput(input, absl::MakeSpan(quantized)).ok(), "QuantizeInput failed");
  std::vector<int8_t> classified_logits(engine.num_classes());
  FEDGE_FUZZ_CHECK(engine.RunQuantized(quantized, absl::MakeSpan(classified_logits)).ok(), "RunQuantized failed");
  int first_max = 0;
  for (int c = 1; c < engine.num_classes(); ++c) {
    if (classified_logits[c] > classified_logits[first_max]) first_max = c;
  }
  FEDGE_FUZZ_CHECK(argmax == first_max, absl::StrCat("argmax ", argmax, ", first maximal logit ", first_max));
}

void FuzzOne(FuzzInput& in) {
  const bool signed_mode = (in.U8() & 1) != 0;
  const std::string bytes(in.Rest());
  proto::ArtifactBody body;
  if (!signed_mode && !body.ParseFromString(bytes)) return;

  auto fast = LoadWith(signed_mode, bytes, &body, KernelSet::kOptimized);
  auto slow = LoadWith(signed_mode, bytes, &body, KernelSet::kReference);
  FEDGE_FUZZ_CHECK(fast.status().code() == slow.status().code(),
                   absl::StrCat("kernel sets disagree on loading: ", fast.status().ToString(), " vs ",
                                slow.status().ToString()));
  if (!fast.ok()) {
    const absl::StatusCode code = fast.status().code();
    FEDGE_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                         (signed_mode && code == absl::StatusCode::kPermissionDenied),
                     fast.status().ToString());
    return;
  }
  InferenceEngine& f = **fast;
  InferenceEngine& r = **slow;
  std::vector<int8_t> input(f.input_size());
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<int8_t>((i * 37 + 11) & 0xff);
  std::vector<int8_t> fast_logits(f.num_classes()), slow_logits(r.num_classes());
  FEDGE_FUZZ_CHECK(f.RunQuantized(input, absl::MakeSpan(fast_logits)).ok(), "optimised RunQuantized failed");
  FEDGE_FUZZ_CHECK(r.RunQuantized(input, absl::MakeSpan(slow_logits)).ok(), "reference RunQuantized failed");
  FEDGE_FUZZ_CHECK(fast_logits == slow_logits, "optimised and reference kernels disagree");
  CheckClassify(f);
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  fedge::fuzz::FuzzOne(in);
  return 0;
}
