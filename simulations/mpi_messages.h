// File: simulations/mpi_messages.h
//
// The messages rank 0 and the worker ranks of `fedge-sim run --mpi` exchange
// (simulations/README.md, "Over MPI"): a handshake that checks every rank
// loaded the same scenario, a request to train one device, its reply, and the
// order to stop. The encoding is a small fixed little-endian layout (below),
// not protobuf: the messages never leave one simulation job and never touch
// the device protocol in proto/fedge.proto.
//
// Every message starts with the magic "FGMP", a version byte and a kind byte.
// Fields then follow in declaration order: integers as fixed-width
// little-endian, doubles as their IEEE-754 bits, strings as a u32 length and
// the bytes, float vectors as a u64 count and count * 4 bytes of the exact
// float bits (training results must round-trip bit for bit).
//
// Decoding treats the bytes as untrusted: truncated or oversized fields, an
// unknown kind or version, trailing bytes and non-finite parameters are
// refused with kInvalidArgument / kDataLoss naming the field.
//
// LibTorch-free, MPI-free. Thread-safety: free functions, no shared state.
#ifndef FEDGE_SIMULATIONS_MPI_MESSAGES_H_
#define FEDGE_SIMULATIONS_MPI_MESSAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/trainer.h"

namespace fedge {

enum class MpiMessageKind : uint8_t {
  kHello = 1,       // rank 0 -> worker: MpiHello
  kTrain = 2,       // rank 0 -> worker: MpiTrainRequest
  kStop = 3,        // rank 0 -> worker: no body; the worker finishes its jobs and exits
  kHelloReply = 4,  // worker -> rank 0: a status (the worker's setup)
  kTrainReply = 5,  // worker -> rank 0: MpiTrainReply
};

// The handshake: the worker compares `fingerprint` with its own
// (ScenarioFingerprint, simulations/remote_training.h).
struct MpiHello {
  std::string fingerprint = {};
};

// The worker's answer to the handshake: OK, or why it cannot serve (its
// setup failed, or it loaded another scenario).
struct MpiHelloReply {
  absl::Status setup = {};
};

// Train population device `device_index` on `global` (values only: both
// sides know the model's layout) with `config` and `seed`, as Trainer::Train
// does; DP-SGD noise comes from DeterministicRandom(`noise_seed`).
struct MpiTrainRequest {
  uint64_t device_index = 0;
  uint64_t seed = 0;
  uint64_t noise_seed = 0;
  proto::TrainConfig config = {};
  std::vector<float> global = {};
};

// The trainer's answer: its status, and when OK its TrainResult with
// `result.local.values` only (the layout is rank 0's).
struct MpiTrainReply {
  absl::Status status = {};
  TrainResult result = {};
};

// The kind of an encoded message, checking magic and version.
absl::StatusOr<MpiMessageKind> PeekMpiMessageKind(absl::string_view bytes);

std::string EncodeMpiHello(const MpiHello& hello);
absl::StatusOr<MpiHello> DecodeMpiHello(absl::string_view bytes);

std::string EncodeMpiStop();

std::string EncodeMpiHelloReply(const MpiHelloReply& reply);
absl::StatusOr<MpiHelloReply> DecodeMpiHelloReply(absl::string_view bytes);

std::string EncodeMpiTrainRequest(const MpiTrainRequest& request);
absl::StatusOr<MpiTrainRequest> DecodeMpiTrainRequest(absl::string_view bytes);

std::string EncodeMpiTrainReply(const MpiTrainReply& reply);
absl::StatusOr<MpiTrainReply> DecodeMpiTrainReply(absl::string_view bytes);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_MPI_MESSAGES_H_
