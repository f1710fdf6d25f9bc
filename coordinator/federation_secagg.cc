// Secure aggregation in the Federation's synchronous round
// (coordinator/secagg_round.h): opening a SecAggRound with each round, the
// SecAgg RPC, and the round's aggregate from the unmasked sum.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "coordinator/federation.h"
#include "coordinator/federation_impl.h"
#include "core/logging.h"
#include "core/status.h"
#include "settings/secagg_settings.h"

namespace fedge {

double Federation::Impl::SecAggClipNorm() const {
  // With client DP the devices clip to its norm: the sensitivity the
  // distributed noise is calibrated for.
  if (client_dp != nullptr) return client_dp->clip_norm();
  return options.train.update_clip_norm();
}

void Federation::Impl::OpenSecAgg() {
  uint64_t graph_seed = 0;
  SecureRandom* rng = options.dp_random ? options.dp_random : SecureRandom::Default();
  rng->Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(&graph_seed), sizeof(graph_seed)));
  // Distributed DP: the sum of the survivors' noise has the standard
  // deviation z * S the central mechanism would add, as long as at least
  // min_quorum devices survive (the round fails below that).
  double noise_stddev = 0;
  if (client_dp != nullptr) {
    noise_stddev = client_dp->sum_noise_multiplier() * client_dp->clip_norm() /
                   std::sqrt(static_cast<double>(std::max<int64_t>(options.min_quorum, 1)));
  }
  // The codec says how wide the codes are (checked by ValidateFederationOptions;
  // an unsupported width fails the round inside SecAggRound, saying why).
  const int code_bits = SecAggCodeBits(options.train.codec()).value_or(0);
  secagg = std::make_unique<SecAggRound>(options.secagg, open->round(), open->selected(),
                                         static_cast<uint64_t>(global.layout.num_elements()), code_bits,
                                         SecAggClipNorm(), noise_stddev, graph_seed, clock->Now());
}

absl::StatusOr<SecAggAggregate> Federation::Impl::FinishSecAgg(proto::RoundRecord& record, int64_t expected) {
  if (secagg == nullptr) {
    record.set_accepted(0);
    return absl::AbortedError(
        "the round's secure aggregation was lost when the coordinator restarted; the next round starts afresh");
  }
  secagg->AddToRecord(record);
  {
    // bench/secagg_round_bench.sh reads this line: the coordinator's CPU for the round's protocol.
    auto metric = [&](const char* name) {
      auto it = record.metrics().find(name);
      return it == record.metrics().end() ? 0.0 : it->second;
    };
    FEDGE_LOG(INFO) << "round " << record.round() << ": secure aggregation of " << metric("secagg_clients")
                    << " devices used " << metric("secagg_cpu_ms") << " ms of coordinator CPU; per device "
                    << metric("secagg_bytes_in_per_client") << " bytes up, " << metric("secagg_bytes_out_per_client")
                    << " bytes down";
  }
  absl::StatusOr<SecAggAggregate> aggregate = secagg->TakeAggregate();
  secagg_done_tasks.clear();
  if (aggregate.ok()) {
    for (const std::string& task_id : aggregate->contributor_task_ids) secagg_done_tasks.insert(task_id);
    for (const std::string& id : aggregate->contributor_ids) {
      auto it = devices.find(id);
      if (it == devices.end()) continue;
      ++it->second.rounds_joined;
      ++it->second.updates_accepted;
      it->second.drift.set_drifting(false);  // its data is in the model now
      it->second.training_version = version;
      MarkDirty(id);
    }
  }
  secagg.reset();
  record.set_accepted(aggregate.ok() ? static_cast<uint32_t>(aggregate->contributors) : 0);
  if (!aggregate.ok() || client_dp == nullptr) return aggregate;
  // DP-FedAvg divides the noised sum by the expected number of devices
  // (the round's target), not by how many survived: that count is private.
  const double to_expected =
      static_cast<double>(aggregate->contributors) / static_cast<double>(std::max<int64_t>(expected, 1));
  for (float& v : aggregate->mean) v = static_cast<float>(v * to_expected);
  // The round released one noised sum: account it like a central one.
  FEDGE_RETURN_IF_ERROR(client_dp->Restore(client_dp->clip_norm(), client_dp->rounds() + 1));
  return aggregate;
}

void Federation::Impl::CloseIfSecAggEnded() {
  if (!open || secagg == nullptr || !secagg->ended()) return;
  CloseRound(secagg->stage() > 3 ? "secure aggregation finished" : "secure aggregation failed");
}

absl::StatusOr<proto::SecAggResponse> Federation::SecAgg(const proto::SecAggRequest& request) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  FEDGE_RETURN_IF_ERROR(s.CheckAdmitted(request.device_id()));
  auto device = s.devices.find(request.device_id());
  if (device == s.devices.end() || !Impl::Registered(device->second)) {
    return absl::NotFoundError(absl::StrCat("device '", request.device_id(), "' is not registered; call Register first"));
  }
  if (request.stage() == 3 && s.secagg_done_tasks.contains(request.task_id())) {
    proto::SecAggResponse done;
    done.set_ready(true);
    return done;  // its round closed with its input in the sum
  }
  if (!s.open || s.secagg == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("task '", request.task_id(),
                                                      "' has no open secure-aggregation round: it closed or failed"));
  }
  RoundState::TaskState* task = s.open->FindTask(request.task_id());
  if (task == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task '", request.task_id(), "' is not open: its round has closed (or failed) or it was never issued"));
  }
  if (task->device_id != request.device_id()) {
    return absl::PermissionDeniedError(absl::StrCat("task '", request.task_id(), "' is not device '",
                                                    request.device_id(), "''s"));
  }
  const absl::Time now = s.clock->Now();
  device->second.last_seen_unix_micros = federation_internal::ToMicros(now);
  s.secagg->Advance(now);  // a stage past its deadline closes before this message
  absl::StatusOr<proto::SecAggResponse> response =
      s.secagg->Handle(request, now, std::min(s.options.poll_interval, s.options.secagg.stage_timeout));
  proto::RoundRecord& record = s.open->record();
  record.set_bytes_up(record.bytes_up() + request.message().size());
  if (response.ok()) record.set_bytes_down(record.bytes_down() + response->message().size());
  s.CloseIfSecAggEnded();
  return response;
}

}  // namespace fedge
