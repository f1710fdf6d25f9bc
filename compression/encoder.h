// File: compression/encoder.h
//
// The device side of update compression. An `UpdateEncoder` turns each
// round's float model delta into payload bytes for a codec pipeline (see
// compression/codec_spec.h; layouts in compression/README.md).
//
// Pipelines with a biased stage (topk, sign) run with error feedback: the
// encoder keeps the residual e (what the coordinator will not see) and
// encodes delta + e next time, so over rounds every bit of the deltas is
// eventually sent: sum(decoded payloads) + e == sum(deltas). For such
// pipelines the residual includes the error of every stage, including any
// stochastic quantizer after top-k. Pipelines of unbiased stages only (fp32,
// fp16, int8, int4, zstd) are stateless.
//
// The residual survives device restarts through SaveState()/RestoreState().
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(auto encoder, UpdateEncoder::Create("topk:0.01>int8>zstd", n));
//   SeededRandom rng(seed);
//   FEDGE_ASSIGN_OR_RETURN(std::string payload, encoder->Encode(delta, rng));
//   WriteFile(state_path, encoder->SaveState());
//
// Thread-compatible: one thread at a time per encoder.
#ifndef FEDGE_COMPRESSION_ENCODER_H_
#define FEDGE_COMPRESSION_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "compression/codec_spec.h"

namespace fedge {

class UpdateEncoder {
 public:
  // An encoder for `num_elements`-float deltas with pipeline `codec_spec`,
  // starting from a zero residual. kInvalidArgument for a bad spec or a
  // count outside [0, kMaxUpdateElements].
  static absl::StatusOr<std::unique_ptr<UpdateEncoder>> Create(std::string_view codec_spec,
                                                                int64_t num_elements);

  // Encodes `delta` (plus the residual, with error feedback) and updates
  // the residual. `gen` supplies the stochastic-rounding randomness (e.g. a
  // SeededRandom for reproducible runs); it is borrowed for the call only.
  // kInvalidArgument when delta.size() != num_elements() or delta + residual
  // has a non-finite value; the residual is then left unchanged.
  absl::StatusOr<std::string> Encode(absl::Span<const float> delta, absl::BitGenRef gen);

  // Puts the residual back to what it was before the last Encode, so the
  // mass of an update that was never delivered returns to the residual (and
  // is sent with the next one). The previous residual is kept in memory,
  // nothing is serialised. No-op when nothing was encoded since the last
  // revert or restore.
  void RevertLastEncode();

  // Adds an earlier payload of this encoder back into the residual: an
  // update that was kept (e.g. in the device's outbox) and then could not be
  // delivered, so its mass is sent with a later update instead of being
  // lost. No-op for stateless pipelines (they keep no residual).
  // kInvalidArgument when `payload` does not decode with this pipeline and
  // size; the residual is then unchanged.
  absl::Status ReturnUndelivered(std::string_view payload);

  // Serialises the residual (empty for stateless pipelines) with a checksum.
  std::string SaveState() const;

  // Replaces the residual with one saved by SaveState(). kInvalidArgument
  // for a truncated or corrupt state (bad magic, version, size, checksum or
  // non-finite values); kFailedPrecondition when it was saved for a
  // different element count, or holds a residual this (stateless) pipeline
  // cannot use. On error the current residual is kept.
  absl::Status RestoreState(std::string_view state);

  const CodecSpec& spec() const { return spec_; }
  int64_t num_elements() const { return num_elements_; }
  bool uses_error_feedback() const { return spec_.uses_error_feedback(); }
  // The error-feedback residual; empty for stateless pipelines.
  absl::Span<const float> residual() const { return residual_; }

 private:
  UpdateEncoder(CodecSpec spec, int64_t num_elements);

  absl::Status CheckDelta(absl::Span<const float> delta) const;

  CodecSpec spec_;
  int64_t num_elements_;
  std::vector<float> residual_;
  std::vector<float> residual_before_;  // for RevertLastEncode
  bool can_revert_ = false;
};

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_ENCODER_H_
