// The Federation's durability (coordinator/store/README.md): what is stored
// as the run goes, and resuming a stored run at Create().
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coordinator/federation_impl.h"
#include "core/artifact.h"
#include "core/layout_check.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {

using federation_internal::ToMicros;

StoredDevice Federation::Impl::ToStored(const std::string& id, const DeviceEntry& e) const {
  StoredDevice d;
  d.device_id = id;
  d.info = e.info;
  d.first_seen_unix_micros = e.first_seen_unix_micros;
  d.last_seen_unix_micros = e.last_seen_unix_micros;
  d.rounds_joined = e.rounds_joined;
  d.epsilon_spent = e.epsilon_spent;
  d.inference_version = e.inference_version;
  d.drift = e.drift;
  d.status = e.status;
  d.certificate_sha256 = e.certificate_sha256;
  d.updates_accepted = e.updates_accepted;
  d.updates_rejected = e.updates_rejected;
  d.last_rejection = e.last_rejection;
  d.last_rejection_unix_micros = e.last_rejection_unix_micros;
  d.training_version = e.training_version;
  d.metrics = e.metrics;
  d.last_report_unix_micros = e.last_report_unix_micros;
  d.training_metrics = e.training_metrics;
  return d;
}

std::vector<StoredDevice> Federation::Impl::TakeDirtyDevices() {
  std::vector<StoredDevice> out;
  for (const std::string& id : dirty_devices) {
    auto it = devices.find(id);
    if (it != devices.end()) out.push_back(ToStored(id, it->second));
  }
  dirty_devices.clear();
  return out;
}

absl::Status Federation::Impl::StoreFailure(const absl::Status& stored) {
  if (absl::IsResourceExhausted(stored)) return stored;
  return absl::UnavailableError(absl::StrCat("the coordinator could not store the update (", stored.message(),
                                             "); it was not counted: send it again"));
}

absl::Status Federation::Impl::LoadOrInitialize(const ModelParams& initial) {
  FEDGE_ASSIGN_OR_RETURN(StoredState state, options.store->Load());
  if (state.model) return Resume(std::move(state), initial);
  return options.store->SaveInitialModel(StoredModel{version, signed_model, strategy->ExportState()});
}

absl::Status Federation::Impl::Resume(StoredState state, const ModelParams& initial) {
  const std::string what_to_do =
      "start it with the settings and --signing-key of the stored run, or add --new-run to start over";
  absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(state.model->artifact, signing_key.verify_key());
  if (!body.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the stored global model version ", state.model->version,
                                                      " does not open with this coordinator's signing key (",
                                                      body.status().message(), "): ", what_to_do));
  }
  FEDGE_ASSIGN_OR_RETURN(ModelParams params, ParamsFromBody(*body));
  if (params.layout.id() != initial.layout.id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the stored global model has another layout than ", options.architecture, " (",
        FirstLayoutDifference(initial.layout, params.layout, options.architecture, "the stored model"),
        "): ", what_to_do));
  }
  if (absl::Status imported = strategy->ImportState(std::move(state.model->strategy_state)); !imported.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the stored ", AsAbsl(strategy->name()),
                                                      " state does not fit: ", imported.message(), "; ", what_to_do));
  }
  global = std::move(params);
  version = state.model->version;
  signed_model = std::move(state.model->artifact);
  rounds_started = state.counters.rounds_started;
  extra_rounds = state.counters.extra_rounds;
  if (client_dp != nullptr && state.counters.client_clip_norm > 0) {
    FEDGE_RETURN_IF_ERROR(client_dp->Restore(state.counters.client_clip_norm, state.counters.client_dp_rounds));
  }
  latest_metrics = std::move(state.counters.latest_metrics);
  completed = std::move(state.completed);
  for (StoredDevice& d : state.devices) {
    DeviceEntry& e = devices[d.device_id];
    e.info = std::move(d.info);
    e.first_seen_unix_micros = d.first_seen_unix_micros;
    e.last_seen_unix_micros = d.last_seen_unix_micros;
    e.rounds_joined = d.rounds_joined;
    e.epsilon_spent = d.epsilon_spent;
    e.inference_version = d.inference_version;
    e.drift = std::move(d.drift);
    e.status = d.status;
    e.certificate_sha256 = std::move(d.certificate_sha256);
    e.updates_accepted = d.updates_accepted;
    e.updates_rejected = d.updates_rejected;
    e.last_rejection = std::move(d.last_rejection);
    e.last_rejection_unix_micros = d.last_rejection_unix_micros;
    e.training_version = d.training_version;
    e.metrics = std::move(d.metrics);
    e.last_report_unix_micros = d.last_report_unix_micros;
    e.training_metrics = std::move(d.training_metrics);
  }
  if (state.deployed) {
    if (absl::Status published = deployed.Publish(state.deployed->artifact); !published.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the stored deployed model version ", state.deployed->version,
                                                        " is refused (", published.message(), "): ", what_to_do));
    }
    deployed_parent = state.deployed->parent_version;
  }
  FEDGE_RETURN_IF_ERROR(ResumeRollout(state.rollout));
  for (const AckedUpdate& u : state.last_closed_updates) {
    proto::UploadResponse reply;
    reply.set_committed_offset(u.size);
    reply.set_accepted(true);
    last_round_replies.emplace(u.task_id, RoundState::CommittedReply{u.device_id, reply});
  }
  for (PendingRound& stored : state.pending) FEDGE_RETURN_IF_ERROR(ResumePending(std::move(stored)));
  if (state.open) {
    FEDGE_RETURN_IF_ERROR(options.restart_open_round ? RestartOpenRound(*state.open)
                                                     : ResumeOpenRound(*state.open, state.open_updates,
                                                                       std::move(state.open_progress)));
  }
  FEDGE_LOG(INFO) << "resumed: global model v" << version << ", " << completed.size() << " completed rounds, "
                  << devices.size() << " devices, deployed model v" << deployed.version()
                  << (open ? absl::StrCat(", round ", open->round(), " open with ", open->accepted(),
                                          " acknowledged updates")
                           : std::string());
  return absl::OkStatus();
}

absl::Status Federation::Impl::ResumePending(PendingRound stored) {
  PendingRecord p;
  p.record = std::move(stored.record);
  const uint64_t model_version = p.record.model_version();
  // An older pending round (it closed before a newer one, then the process
  // died) is evaluated and deployed with its own model, when still kept.
  std::optional<ModelParams> model;
  if (model_version == version) {
    model = global;
  } else if (!stored.model_artifact.empty()) {
    absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(stored.model_artifact, signing_key.verify_key());
    if (!body.ok()) {
      return absl::DataLossError(absl::StrCat("the stored global model version ", model_version,
                                              " of pending round ", p.record.round(),
                                              " does not open: ", body.status().message()));
    }
    FEDGE_ASSIGN_OR_RETURN(model, ParamsFromBody(*body));
  } else if (stored.evaluate || stored.deploy) {
    FEDGE_LOG(WARNING) << "round " << p.record.round() << " is completed without its evaluation or deployment: "
                       << "its model v" << model_version << " is no longer kept ([state] keep_models)";
  }
  if (model && stored.evaluate && evaluator != nullptr) p.model_to_evaluate = model;
  if (model && stored.deploy && options.deployer != nullptr && deployed_parent < model_version) {
    p.model_to_deploy = model;
  }
  pending.push_back(std::move(p));
  return absl::OkStatus();
}

absl::Status Federation::Impl::ResumeOpenRound(const StoredOpenRound& r, const std::vector<AckedUpdate>& updates,
                                               std::string progress) {
  const absl::Time now = clock->Now();
  const absl::Time deadline = std::max(absl::FromUnixMicros(r.deadline_unix_micros), now + options.resume_grace);
  FEDGE_RETURN_IF_ERROR(ReopenRound(r, deadline));
  if (!progress.empty()) {
    // The stored progress counts every acknowledged update already.
    if (absl::Status resumed = open->ResumeFrom(std::move(progress)); !resumed.ok()) {
      return absl::DataLossError(absl::StrCat(resumed.message(), ": restore the state directory from a backup, or "
                                                                 "add --new-run to start over"));
    }
    for (const AckedUpdate& u : updates) {
      FEDGE_RETURN_IF_ERROR(open->MarkAcknowledged(u.device_id, u.size, u.task_id));
    }
    if (open->accepted() != static_cast<int64_t>(updates.size())) {
      return absl::DataLossError(absl::StrCat("the stored progress of round ", r.round, " counts ", open->accepted(),
                                              " updates but ", updates.size(), " were acknowledged: restore the "
                                              "state directory from a backup, or add --new-run to start over"));
    }
  } else {
    for (const AckedUpdate& u : updates) {
      if (absl::Status replayed = open->Replay(u.device_id, u.bytes, options.limits, u.task_id); !replayed.ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the update of device '", u.device_id, "' acknowledged in round ", r.round,
            " cannot be counted again (", replayed.message(),
            "): restore the update limits of the stored run, or add --new-run to start over"));
      }
    }
  }
  FEDGE_LOG(INFO) << "round " << r.round << ": resumed with " << updates.size()
                  << " acknowledged updates"
                  << (open->async() ? std::string() : absl::StrCat("; deadline in ", absl::FormatDuration(deadline - now)));
  if (open->accepted() >= open->target()) CloseRound("target reached before the restart");
  return absl::OkStatus();
}

absl::Status Federation::Impl::ReopenRound(const StoredOpenRound& r, absl::Time deadline) {
  if (r.model_version != version) {
    return absl::DataLossError(absl::StrCat("the stored open round ", r.round, " trains model version ",
                                            r.model_version, " but the stored global model is version ", version));
  }
  open.emplace(RoundOptions(r.round, r.target, r.train, absl::FromUnixMicros(r.opened_unix_micros), deadline),
               r.selected, BeginAggregation(r.target));
  return absl::OkStatus();
}

absl::Status Federation::Impl::RestartOpenRound(const StoredOpenRound& r) {
  FEDGE_RETURN_IF_ERROR(ReopenRound(r, absl::FromUnixMicros(r.deadline_unix_micros)));
  // Storing the round again drops its acknowledged updates (StateStore::OpenRound).
  FEDGE_RETURN_IF_ERROR(options.store->OpenRound(r, Counters()));
  FEDGE_LOG(INFO) << "round " << r.round << ": opened again from its start";
  return absl::OkStatus();
}

}  // namespace fedge
