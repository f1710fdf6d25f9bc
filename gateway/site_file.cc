// The Gateway's durability (gateway/README.md, "Durability"): the open site
// round is one record, rewritten atomically after every acknowledged device
// update, beside the global model it trains; a restarted gateway resumes it.
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "gateway/gateway_impl.h"

namespace fedge {

std::string Gateway::Impl::SiteFile() const { return absl::StrCat(options.state_dir, "/site_round.pb"); }
std::string Gateway::Impl::ModelFile() const { return absl::StrCat(options.state_dir, "/global_model.artifact"); }

absl::Status Gateway::Impl::SaveModel(const RelayedArtifact& artifact) const {
  return WriteFileAtomically(ModelFile(), artifact.bytes);
}

absl::Status Gateway::Impl::SaveSiteRound() {
  site->record.set_progress(site->state->SaveProgress());
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(SiteFile(), site->record.SerializeAsString()));
  site->state->ProgressStored(site->record.progress());
  return absl::OkStatus();
}

void Gateway::Impl::RemoveSiteFiles() const {
  std::error_code ignored;
  std::filesystem::remove(SiteFile(), ignored);
  std::filesystem::remove(ModelFile(), ignored);
}

absl::Status Gateway::Impl::ResumeSiteRound() {
  absl::StatusOr<std::string> bytes = ReadFile(SiteFile());
  if (absl::IsNotFound(bytes.status())) return absl::OkStatus();
  FEDGE_RETURN_IF_ERROR(bytes.status());
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("cannot resume the gateway's site round from ", SiteFile(), ": ", what,
                                            "; move the state directory aside to start without it (its "
                                            "acknowledged updates are then lost)"));
  };
  proto::GatewaySiteRound record;
  if (!record.ParseFromString(*bytes)) return corrupt("not a site round record");
  absl::StatusOr<std::string> model_bytes = ReadFile(ModelFile());
  if (!model_bytes.ok()) return corrupt(model_bytes.status().message());
  absl::StatusOr<SiteModel> model = VerifyModel(
      RelayedArtifact{.version = record.upstream_task().model_version(), .bytes = *std::move(model_bytes)});
  if (!model.ok()) return corrupt(model.status().message());
  OpenSiteRoundFrom(record, *std::move(model));
  RoundState& round = *site->state;
  if (absl::Status resumed = round.ResumeFrom(record.progress()); !resumed.ok()) return corrupt(resumed.message());
  for (const proto::GatewaySiteRound::Acknowledged& ack : record.acknowledged()) {
    if (absl::Status marked = round.MarkAcknowledged(ack.device_id(), ack.size()); !marked.ok()) {
      return corrupt(marked.message());
    }
  }
  counters.device_updates_accepted += record.acknowledged_size();
  FEDGE_LOG(INFO) << options.gateway_id << ": resumed site round " << round.round() << " with "
                  << record.acknowledged_size() << " acknowledged updates of " << record.selected_size()
                  << " devices";
  return absl::OkStatus();
}

}  // namespace fedge
