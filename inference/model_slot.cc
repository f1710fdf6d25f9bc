#include "inference/model_slot.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {
namespace {

// Stored file names. New bytes are first written beside the others so a
// failed write never touches the files a restart would restore.
constexpr char kActiveFile[] = "active.fedge";
constexpr char kPreviousFile[] = "previous.fedge";
constexpr char kIncomingFile[] = "incoming.fedge";

std::string Describe(const proto::ArtifactHeader& header) {
  return absl::StrCat("'", header.model_id(), "' v", header.version());
}

absl::Status RenameFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", from, " to ", to, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status RemoveFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot delete ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status ModelHandle::Classify(absl::Span<const float> input, absl::Span<float> probabilities_out,
                                   int* argmax) const {
  absl::MutexLock lock(&model_->mu);
  return model_->engine->Classify(input, probabilities_out, argmax);
}

absl::Status ModelHandle::ClassifyBatch(absl::Span<const float> inputs, absl::Span<float> probabilities_out,
                                        absl::Span<int> argmax_out) const {
  absl::MutexLock lock(&model_->mu);
  return model_->engine->ClassifyBatch(inputs, probabilities_out, argmax_out);
}

ModelSlot::ModelSlot(VerifyKey pinned_key, ModelSlotOptions options)
    : ModelSlot(std::string(), std::move(pinned_key), std::move(options)) {}

ModelSlot::ModelSlot(std::string dir, VerifyKey pinned_key, ModelSlotOptions options)
    : dir_(std::move(dir)), pinned_key_(std::move(pinned_key)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ModelSlot>> ModelSlot::Open(const std::string& dir, VerifyKey pinned_key,
                                                           ModelSlotOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("ModelSlot::Open: empty directory");
  std::unique_ptr<ModelSlot> slot(new ModelSlot(dir, std::move(pinned_key), std::move(options)));
  FEDGE_RETURN_IF_ERROR(slot->Restore());
  return slot;
}

std::string ModelSlot::ActivePath() const { return (std::filesystem::path(dir_) / kActiveFile).string(); }
std::string ModelSlot::PreviousPath() const { return (std::filesystem::path(dir_) / kPreviousFile).string(); }

absl::StatusOr<ModelSlot::ModelPtr> ModelSlot::LoadModel(std::string_view bytes) const {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<InferenceEngine> engine,
                         InferenceEngine::Load(bytes, pinned_key_, options_.engine));
  return std::make_shared<const internal::SlotModel>(std::move(engine));
}

absl::Status ModelSlot::Restore() {
  // Loads one stored file; a file that no longer verifies or loads (bit rot,
  // a key rotation, a runtime that dropped support) is deleted so that it is
  // never restored later.
  auto restore_file = [this](const std::string& path) -> absl::StatusOr<ModelPtr> {
    absl::StatusOr<std::string> bytes = ReadFile(path);
    if (absl::IsNotFound(bytes.status())) return ModelPtr();
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<ModelPtr> model = LoadModel(*bytes);
    if (model.ok()) return model;
    FEDGE_LOG(WARNING) << path << ": discarding stored model: " << model.status();
    FEDGE_RETURN_IF_ERROR(RemoveFile(path));
    return ModelPtr();
  };
  // An install interrupted before its final rename leaves this behind.
  FEDGE_RETURN_IF_ERROR(RemoveFile((std::filesystem::path(dir_) / kIncomingFile).string()));
  FEDGE_ASSIGN_OR_RETURN(ModelPtr active, restore_file(ActivePath()));
  FEDGE_ASSIGN_OR_RETURN(ModelPtr previous, restore_file(PreviousPath()));
  if (active == nullptr && previous != nullptr) {
    FEDGE_LOG(WARNING) << dir_ << ": no usable active model; restoring the previous one ("
                       << Describe(previous->engine->header()) << ")";
    FEDGE_RETURN_IF_ERROR(RenameFile(PreviousPath(), ActivePath()));
    active = std::move(previous);
  }
  if (active != nullptr) {
    FEDGE_LOG(INFO) << dir_ << ": restored model " << Describe(active->engine->header())
                    << (previous ? absl::StrCat(", fallback ", Describe(previous->engine->header())) : "");
  }
  absl::MutexLock lock(&mu_);
  active_ = std::move(active);
  previous_ = std::move(previous);
  return absl::OkStatus();
}

absl::Status ModelSlot::CheckSuccession(const ModelPtr& active, const InferenceEngine& candidate,
                                        InstallMode mode) {
  if (mode == InstallMode::kForce || active == nullptr) return absl::OkStatus();
  const proto::ArtifactHeader& current = active->engine->header();
  const proto::ArtifactHeader& next = candidate.header();
  if (next.model_id() != current.model_id()) {
    return absl::FailedPreconditionError(absl::StrCat("artifact is model ", Describe(next), " but the device serves ",
                                                      Describe(current),
                                                      "; install with InstallMode::kForce to switch models"));
  }
  if (next.version() <= current.version()) {
    return absl::FailedPreconditionError(absl::StrCat("artifact ", Describe(next),
                                                      " is not newer than the active ", Describe(current),
                                                      "; install with InstallMode::kForce to downgrade"));
  }
  return absl::OkStatus();
}

absl::Status ModelSlot::PersistInstall(std::string_view bytes, bool had_active) const {
  const std::string incoming = (std::filesystem::path(dir_) / kIncomingFile).string();
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(incoming, bytes));
  // A crash between the renames leaves no active file and the old active as
  // previous.fedge, which Restore() promotes: the device restarts on the
  // model it was serving.
  std::error_code ec;
  if (had_active && std::filesystem::exists(ActivePath(), ec)) {
    if (absl::Status s = RenameFile(ActivePath(), PreviousPath()); !s.ok()) {
      RemoveFile(incoming).IgnoreError();
      return s;
    }
  } else {
    // Without a stored active file there is no fallback on disk either.
    FEDGE_RETURN_IF_ERROR(RemoveFile(PreviousPath()));
  }
  if (absl::Status s = RenameFile(incoming, ActivePath()); !s.ok()) {
    if (had_active) RenameFile(PreviousPath(), ActivePath()).IgnoreError();
    RemoveFile(incoming).IgnoreError();
    return s;
  }
  return absl::OkStatus();
}

void ModelSlot::CountFailure(bool health_check) {
  absl::MutexLock lock(&mu_);
  ++stats_.failed_installs;
  if (health_check) ++stats_.health_check_failures;
}

absl::Status ModelSlot::Install(std::string_view artifact_bytes, InstallMode mode) {
  absl::MutexLock install_lock(&install_mu_);
  absl::StatusOr<ModelPtr> candidate = LoadModel(artifact_bytes);
  if (!candidate.ok()) {
    FEDGE_LOG(WARNING) << "refusing model artifact: " << candidate.status();
    CountFailure(false);
    return candidate.status();
  }
  InferenceEngine& engine = *(*candidate)->engine;
  ModelPtr active;
  {
    absl::ReaderMutexLock lock(&mu_);
    active = active_;
  }
  if (absl::Status s = CheckSuccession(active, engine, mode); !s.ok()) {
    FEDGE_LOG(WARNING) << "refusing model artifact: " << s;
    CountFailure(false);
    return s;
  }
  // The check runs before publication, so a rejected model never serves a
  // request: rolling back is simply not switching. The candidate is not
  // shared yet, so the hook may run inference on it without locking.
  if (options_.health_check) {
    if (absl::Status s = options_.health_check(engine); !s.ok()) {
      const std::string kept = active ? absl::StrCat("; keeping ", Describe(active->engine->header())) : "";
      absl::Status error(s.code(), absl::StrCat("model ", Describe(engine.header()),
                                                " failed its health check: ", s.message(), kept));
      FEDGE_LOG(WARNING) << error;
      CountFailure(true);
      return error;
    }
  }
  if (!dir_.empty()) {
    if (absl::Status s = PersistInstall(artifact_bytes, active != nullptr); !s.ok()) {
      FEDGE_LOG(ERROR) << "cannot store model " << Describe(engine.header()) << ": " << s;
      CountFailure(false);
      return s;
    }
  }
  FEDGE_LOG(INFO) << "installed model " << Describe(engine.header())
                  << (active ? absl::StrCat(" (fallback ", Describe(active->engine->header()), ")") : "");
  ModelPtr dropped;  // released after the lock: destroying an engine frees its arena
  absl::MutexLock lock(&mu_);
  dropped = std::move(previous_);
  previous_ = std::move(active_);
  active_ = *std::move(candidate);
  ++stats_.installs;
  return absl::OkStatus();
}

absl::Status ModelSlot::Rollback() {
  absl::MutexLock install_lock(&install_mu_);
  ModelPtr active;
  ModelPtr previous;
  {
    absl::ReaderMutexLock lock(&mu_);
    active = active_;
    previous = previous_;
  }
  if (previous == nullptr) {
    return absl::FailedPreconditionError(
        active ? absl::StrCat("no previous model to roll back to from ", Describe(active->engine->header()))
               : "no model installed, nothing to roll back");
  }
  if (!dir_.empty()) FEDGE_RETURN_IF_ERROR(RenameFile(PreviousPath(), ActivePath()));
  FEDGE_LOG(WARNING) << "rolled back from model " << Describe(active->engine->header()) << " to "
                     << Describe(previous->engine->header());
  absl::MutexLock lock(&mu_);
  active_ = std::move(previous_);
  ++stats_.rollbacks;
  // `active` still holds the discarded model, released after the lock.
  return absl::OkStatus();
}

ModelHandle ModelSlot::Acquire() const {
  absl::ReaderMutexLock lock(&mu_);
  return ModelHandle(active_);
}

std::optional<uint64_t> ModelSlot::active_version() const {
  absl::ReaderMutexLock lock(&mu_);
  if (active_ == nullptr) return std::nullopt;
  return active_->engine->header().version();
}

std::optional<uint64_t> ModelSlot::previous_version() const {
  absl::ReaderMutexLock lock(&mu_);
  if (previous_ == nullptr) return std::nullopt;
  return previous_->engine->header().version();
}

ModelSlotStats ModelSlot::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

}  // namespace fedge
