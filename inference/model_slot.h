// File: inference/model_slot.h
//
// `ModelSlot` holds the int8 model a device serves and the one it replaced,
// and swaps between them while inference keeps running:
//
//   Install(bytes)  verify + validate + plan the new artifact with the pinned
//                   coordinator key (InferenceEngine::Load), refuse versions
//                   that are not newer, run the optional health check, then
//                   publish it atomically; the old active model becomes the
//                   fallback. Any failure leaves the slot exactly as it was.
//   Rollback()      reinstates the fallback and discards the current model.
//   Acquire()       a `ModelHandle` that keeps the model it was taken from
//                   alive (even across later installs) and classifies with it.
//
// Persistence (optional, `ModelSlot::Open(dir, ...)`): the active artifact is
// stored as `<dir>/active.fedge` (written with WriteFileAtomically) and the
// fallback as `<dir>/previous.fedge` (the old active file, renamed). Open
// re-verifies both on restart; a stored file that no longer verifies or loads
// is deleted with a logged warning and the other one kept.
//
// Example:
//   ModelSlotOptions options;
//   options.health_check = [&](InferenceEngine& e) { return CheckHeldOut(e, 0.8); };
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelSlot> slot,
//                          ModelSlot::Open("/var/lib/fedge/model", pinned_key, options));
//   absl::Status s = slot->Install(received_bytes);   // old model keeps serving on error
//   ModelHandle model = slot->Acquire();              // on the inference thread
//   if (model) FEDGE_RETURN_IF_ERROR(model.Classify(pixels, absl::MakeSpan(probs), &label));
//
// Thread-safety: `ModelSlot` is thread-safe. Installs and rollbacks are
// serialised with each other; the (slow) load and health check run outside
// the lock that Acquire() takes, so inference threads never wait for a load.
// An `InferenceEngine` is single-threaded (inference mutates its arena), so
// every model carries its own mutex and `ModelHandle::Classify*` holds it for
// the call: handles may be copied and used from any threads, and calls on the
// same model are serialised. Threads that must classify in parallel need
// engines of their own (InferenceEngine::Load on the same bytes).
#ifndef FEDGE_INFERENCE_MODEL_SLOT_H_
#define FEDGE_INFERENCE_MODEL_SLOT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/signing.h"
#include "inference/engine.h"
#include "proto/fedge.pb.h"

namespace fedge {

namespace internal {
// One loaded model: the engine plus the mutex that serialises its inference.
struct SlotModel {
  explicit SlotModel(std::unique_ptr<InferenceEngine> e) : engine(std::move(e)) {}
  mutable absl::Mutex mu;
  const std::unique_ptr<InferenceEngine> engine;  // inference guarded by mu
};
}  // namespace internal

// A shared reference to one installed model. Cheap to copy; keeps the model
// alive after the slot has moved on. Empty (false) if the slot had no model.
// Thread-safety: all methods may be called from any thread; inference calls
// on handles to the same model are serialised by the model's mutex.
class ModelHandle {
 public:
  ModelHandle() = default;

  explicit operator bool() const { return model_ != nullptr; }

  // REQUIRES: the handle is not empty (for all methods below).
  const InferenceEngine& engine() const { return *model_->engine; }
  const proto::ArtifactHeader& header() const { return model_->engine->header(); }
  uint64_t version() const { return header().version(); }
  int num_classes() const { return model_->engine->num_classes(); }
  int64_t input_size() const { return model_->engine->input_size(); }

  // InferenceEngine::Classify / ClassifyBatch under the model's mutex; same
  // arguments and status codes (kInvalidArgument on size mismatches or
  // non-finite inputs).
  absl::Status Classify(absl::Span<const float> input, absl::Span<float> probabilities_out, int* argmax) const;
  absl::Status ClassifyBatch(absl::Span<const float> inputs, absl::Span<float> probabilities_out,
                             absl::Span<int> argmax_out) const;

 private:
  friend class ModelSlot;
  explicit ModelHandle(std::shared_ptr<const internal::SlotModel> model) : model_(std::move(model)) {}
  std::shared_ptr<const internal::SlotModel> model_;
};

// Decides whether a verified, loaded model may serve. Receives the candidate
// engine before any request sees it (exclusively: it may run inference), and
// returns OK to accept or an error (e.g. kFailedPrecondition "held-out
// accuracy 0.41 < 0.80") to reject it.
using ModelHealthCheck = std::function<absl::Status(InferenceEngine&)>;

struct ModelSlotOptions {
  EngineOptions engine;
  // Optional; run on every Install (not on models restored by Open, which
  // passed it when they were installed).
  ModelHealthCheck health_check;
};

enum class InstallMode {
  kRequireNewer,  // refuse a version <= the active one, or another model_id
  kForce,         // accept any verified model (e.g. an operator downgrade)
};

// Monotonic counters since the slot was created or opened.
struct ModelSlotStats {
  int64_t installs = 0;               // models that became active through Install
  int64_t failed_installs = 0;        // Install calls that left the slot unchanged
  int64_t health_check_failures = 0;  // of failed_installs: rejected by the health check
  int64_t rollbacks = 0;              // successful Rollback calls
};

class ModelSlot {
 public:
  // An empty, memory-only slot (nothing is persisted).
  ModelSlot(VerifyKey pinned_key, ModelSlotOptions options);

  // A slot persisted in `dir` (created on the first install if missing),
  // restoring the models stored there by a previous run. Stored files that do
  // not verify or load are deleted with a warning; if the active file is bad
  // and the previous one good, the previous one becomes active.
  // kUnavailable if a stored file exists but cannot be read or cleaned up.
  static absl::StatusOr<std::unique_ptr<ModelSlot>> Open(const std::string& dir, VerifyKey pinned_key,
                                                         ModelSlotOptions options);

  ModelSlot(const ModelSlot&) = delete;
  ModelSlot& operator=(const ModelSlot&) = delete;

  // Verifies, loads, checks and activates `artifact_bytes`; on success the
  // old active model becomes the fallback (the older fallback is dropped).
  // On any error the slot, its files and the handles already acquired are
  // unchanged. Returns:
  //   kPermissionDenied   unsigned, tampered or signed by another key;
  //   kInvalidArgument    bytes that do not parse or an invalid int8 graph;
  //   kFailedPrecondition (kRequireNewer) version not newer than the active
  //                       one, or a different model_id;
  //   the health check's own error, prefixed with the version it rejected;
  //   kUnavailable        the new files could not be written.
  absl::Status Install(std::string_view artifact_bytes, InstallMode mode = InstallMode::kRequireNewer);

  // Makes the fallback active again and discards the current model (so a
  // second Rollback fails). kFailedPrecondition if there is no fallback;
  // kUnavailable if the stored files could not be updated (slot unchanged).
  absl::Status Rollback();

  // The active model, or an empty handle before the first install.
  ModelHandle Acquire() const;

  std::optional<uint64_t> active_version() const;
  std::optional<uint64_t> previous_version() const;
  ModelSlotStats stats() const;
  // The persistence directory, or empty for a memory-only slot.
  const std::string& dir() const { return dir_; }

 private:
  using ModelPtr = std::shared_ptr<const internal::SlotModel>;

  ModelSlot(std::string dir, VerifyKey pinned_key, ModelSlotOptions options);

  absl::StatusOr<ModelPtr> LoadModel(std::string_view bytes) const;
  // Refuses a candidate that may not replace `active` under `mode`.
  static absl::Status CheckSuccession(const ModelPtr& active, const InferenceEngine& candidate, InstallMode mode);
  // Updates the stored files for an install of `bytes` (active -> previous).
  absl::Status PersistInstall(std::string_view bytes, bool had_active) const;
  // Restores stored models during Open.
  absl::Status Restore();
  void CountFailure(bool health_check) ABSL_LOCKS_EXCLUDED(mu_);
  std::string ActivePath() const;
  std::string PreviousPath() const;

  const std::string dir_;  // empty: memory only
  const VerifyKey pinned_key_;
  const ModelSlotOptions options_;

  // Serialises Install/Rollback (and their file updates); held across loads.
  absl::Mutex install_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Guards the published state; held only for pointer swaps and reads.
  mutable absl::Mutex mu_;
  ModelPtr active_ ABSL_GUARDED_BY(mu_);
  ModelPtr previous_ ABSL_GUARDED_BY(mu_);
  ModelSlotStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedge

#endif  // FEDGE_INFERENCE_MODEL_SLOT_H_
