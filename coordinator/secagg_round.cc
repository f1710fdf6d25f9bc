#include "coordinator/secagg_round.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"
#include "secagg/ring_codes.h"

namespace fedge {
namespace {

constexpr const char* kStageNames[4] = {"advertise keys", "share keys", "masked input", "unmasking"};

uint32_t AutoNeighbours(uint32_t n) {
  uint32_t log2 = 0;
  while ((uint64_t{1} << log2) < n) ++log2;
  return 2 * std::max<uint32_t>(log2, 1);
}

}  // namespace

absl::Status ValidateSecAggOptions(const SecAggOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(absl::StrCat("secagg options: ", what)); };
  if (!o.enabled) return absl::OkStatus();
  if (o.neighbours % 2 != 0) return bad(absl::StrCat("neighbours must be even (got ", o.neighbours, ")"));
  if (o.neighbours > secagg::kMaxNeighbours) return bad(absl::StrCat("neighbours must be <= ", secagg::kMaxNeighbours));
  if (o.threshold > 0 && o.neighbours > 0 && !(2 * o.threshold > o.neighbours && o.threshold <= o.neighbours)) {
    return bad(absl::StrCat("threshold must be in (neighbours / 2, neighbours] = (", o.neighbours / 2, ", ",
                            o.neighbours, "]: a lower one lets a coordinator that lies about dropouts unmask a "
                            "device (secagg/README.md, threat model)"));
  }
  if (o.stage_timeout <= absl::ZeroDuration()) return bad("stage_timeout must be positive");
  if (!(o.coordinate_range > 0 && o.coordinate_range <= 1e6)) return bad("coordinate_range must be in (0, 1e6]");
  return absl::OkStatus();
}

absl::Status CheckSecAggStrategy(std::string_view name) {
  for (std::string_view mean : {"fedavg", "fedavgm", "fedprox", "fedadam", "fedyogi", "fedadagrad"}) {
    if (name == mean) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "secure aggregation reveals only the sum of the updates, but strategy \"", AsAbsl(name),
      "\" needs each update; use fedavg, fedavgm, fedprox, fedadam, fedyogi or fedadagrad"));
}

SecAggRound::SecAggRound(const SecAggOptions& options, uint64_t round, std::vector<std::string> cohort, uint64_t d,
                         int code_bits, double clip_norm, double noise_stddev, uint64_t graph_seed, absl::Time now)
    : options_(options),
      code_bits_(code_bits),
      clip_norm_(clip_norm),
      noise_stddev_(noise_stddev),
      cohort_(std::move(cohort)),
      stage_opened_(now) {
  const uint32_t n = static_cast<uint32_t>(cohort_.size());
  params_.round_id = round;  // for the log, should the round fail here
  clients_.resize(n);
  for (uint32_t i = 0; i < n; ++i) index_[cohort_[i]] = i;
  if (code_bits != 8 && code_bits != 4) {
    Fail(absl::InvalidArgumentError(absl::StrCat("the devices' codes must be 8 or 4 bits wide (int8 or int4), got ",
                                                 code_bits)));
    return;
  }
  if (n < 2) {
    Fail(absl::FailedPreconditionError(absl::StrCat(
        "secure aggregation needs at least 2 devices in the cohort, the round selected ", n)));
    return;
  }
  const uint32_t k = options.neighbours > 0 ? options.neighbours : AutoNeighbours(n);
  const uint32_t effective = std::min(k, n - 1);
  const uint32_t t = std::min(options.threshold > 0 ? options.threshold : effective / 2 + 1, effective);
  absl::StatusOr<int> ring_bits = secagg::RingBitsFor(code_bits_, n);
  if (!ring_bits.ok()) {
    Fail(ring_bits.status());
    return;
  }
  params_ = {.round_id = round,
             .num_clients = n,
             .neighbours = k,
             .threshold = t,
             .vector_length = d,
             .ring_bits = *ring_bits,
             .graph_seed = graph_seed};
  const double max_code = static_cast<double>((1 << (code_bits_ - 1)) - 1);  // 127 or 7
  scale_ = options.coordinate_range * clip_norm / std::sqrt(static_cast<double>(d)) / max_code;
  absl::StatusOr<std::unique_ptr<secagg::ServerSession>> server = secagg::ServerSession::Create(params_);
  if (!server.ok()) {
    Fail(server.status());
    return;
  }
  server_ = *std::move(server);
}

bool SecAggRound::FillTask(const std::string& device_id, proto::Task& task) {
  auto it = index_.find(device_id);
  if (it == index_.end()) return false;
  clients_[it->second].task_id = task.task_id();
  proto::SecAggTask* s = task.mutable_secagg();
  s->set_client_index(it->second);
  s->set_num_clients(params_.num_clients);
  s->set_neighbours(params_.neighbours);
  s->set_threshold(params_.threshold);
  s->set_ring_bits(static_cast<uint32_t>(params_.ring_bits));
  s->set_graph_seed(params_.graph_seed);
  s->set_scale(scale_);
  s->set_noise_stddev(noise_stddev_);
  s->set_code_bits(static_cast<uint32_t>(code_bits_));
  // Devices clip to the norm the scale was derived from.
  task.mutable_train()->set_update_clip_norm(clip_norm_);
  return true;
}

bool SecAggRound::InStage(const Client& c) const {
  return !c.out && (stage_ == 0 || c.answer[stage_ - 1].has_value());
}

bool SecAggRound::QuorumReached() const {
  for (const Client& c : clients_) {
    if (InStage(c) && c.sent < stage_) return false;
  }
  return true;
}

absl::Status SecAggRound::Take(uint32_t client, absl::string_view bytes) {
  switch (stage_) {
    case 0: return server_->OnAdvertiseKeys(client, bytes);
    case 1: return server_->OnShareKeys(client, bytes);
    case 2: return server_->OnMaskedInput(client, bytes);
    default: return server_->OnUnmaskResponse(client, bytes);
  }
}

absl::StatusOr<proto::SecAggResponse> SecAggRound::Handle(const proto::SecAggRequest& request, absl::Time now,
                                                          absl::Duration retry_after) {
  auto it = index_.find(request.device_id());
  if (it == index_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("device '", request.device_id(), "' is not in this round's secure-aggregation cohort"));
  }
  Client& c = clients_[it->second];
  if (c.task_id.empty() || request.task_id() != c.task_id) {
    return absl::PermissionDeniedError(absl::StrCat("task '", request.task_id(), "' is not the secure-aggregation task of '",
                                                    request.device_id(), "' in this round"));
  }
  if (request.stage() > 3) return absl::InvalidArgumentError("secagg stage must be 0..3");
  if (!failure_.ok()) return absl::FailedPreconditionError(failure_.message());
  const int stage = static_cast<int>(request.stage());
  if (stage == stage_ && !request.message().empty() && c.sent < stage && InStage(c)) {
    if (absl::Status taken = Take(it->second, request.message()); !taken.ok()) {
      c.out = true;  // it counts as dropped; the stage may now be complete
      if (QuorumReached()) CloseStage(now);
      return absl::InvalidArgumentError(absl::StrCat("secure aggregation refused the ", kStageNames[stage],
                                                     " message: ", taken.message()));
    }
    c.sent = stage;
    if (QuorumReached()) CloseStage(now);
  }
  if (!failure_.ok()) return absl::FailedPreconditionError(failure_.message());
  proto::SecAggResponse response;
  if (stage < stage_) {
    if (!c.answer[stage].has_value()) {
      return absl::FailedPreconditionError(absl::StrCat("the ", kStageNames[stage],
                                                        " stage closed without this device: it is out of the round"));
    }
    response.set_ready(true);
    response.set_message(*c.answer[stage]);
    return response;
  }
  if (stage > stage_ || c.out || (stage_ > 0 && !c.answer[stage_ - 1])) {
    return absl::FailedPreconditionError(absl::StrCat("this device is not in the ", kStageNames[stage_ % 4],
                                                      " stage of the round"));
  }
  response.set_retry_after_millis(std::max<int64_t>(1, absl::ToInt64Milliseconds(retry_after)));
  return response;
}

void SecAggRound::Advance(absl::Time now) {
  if (ended()) return;
  if (now >= stage_opened_ + options_.stage_timeout || QuorumReached()) CloseStage(now);
}

void SecAggRound::CloseStage(absl::Time now) {
  absl::StatusOr<std::vector<secagg::OutgoingMessage>> answers;
  switch (stage_) {
    case 0: answers = server_->CloseAdvertise(); break;
    case 1: answers = server_->CloseShares(); break;
    case 2: answers = server_->CloseMaskedInput(); break;
    default: {
      absl::StatusOr<secagg::SecAggResult> result = server_->Finish();
      if (!result.ok()) {
        answers = result.status();
        break;
      }
      answers = std::vector<secagg::OutgoingMessage>();
      for (uint32_t c : result->contributors) answers->push_back({c, ""});
      contributors_ = static_cast<int64_t>(result->contributors.size());
      result_ = *std::move(result);
    }
  }
  stage_time_[stage_] = now - stage_opened_;
  if (!answers.ok()) {
    Fail(answers.status());
    return;
  }
  for (secagg::OutgoingMessage& m : *answers) clients_[m.client].answer[stage_] = std::move(m.bytes);
  if (stage_ == 3) {
    // Unmasking needs no answer beyond "done": survivors that responded are told so.
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i].sent == 3) clients_[i].answer[3] = "";
    }
  }
  FEDGE_LOG(INFO) << "round " << params_.round_id << ": secure aggregation stage '" << kStageNames[stage_]
                  << "' closed with " << answers->size() << " of " << clients_.size() << " devices";
  ++stage_;
  stage_opened_ = now;
}

void SecAggRound::Fail(absl::Status why) {
  if (!failure_.ok()) return;
  failure_ = absl::FailedPreconditionError(absl::StrCat("secure aggregation failed at the ", kStageNames[stage_ % 4],
                                                        " stage: ", why.message()));
  FEDGE_LOG(WARNING) << "round " << params_.round_id << ": " << failure_.message();
}

absl::StatusOr<SecAggAggregate> SecAggRound::TakeAggregate() {
  if (!failure_.ok()) return failure_;
  if (!result_) {
    return absl::DeadlineExceededError(absl::StrCat("secure aggregation did not finish by the round deadline (stuck in "
                                                    "the ", kStageNames[stage_ % 4], " stage)"));
  }
  const uint32_t contributors = static_cast<uint32_t>(result_->contributors.size());
  FEDGE_ASSIGN_OR_RETURN(std::vector<int64_t> codes,
                         secagg::RingSumToCodeSum(result_->sum, code_bits_, contributors));
  SecAggAggregate aggregate;
  aggregate.contributors = contributors;
  for (uint32_t c : result_->contributors) {
    aggregate.contributor_ids.push_back(cohort_[c]);
    aggregate.contributor_task_ids.push_back(clients_[c].task_id);
  }
  aggregate.mean.resize(codes.size());
  const double step = scale_ / contributors;
  for (size_t i = 0; i < codes.size(); ++i) aggregate.mean[i] = static_cast<float>(static_cast<double>(codes[i]) * step);
  result_.reset();
  return aggregate;
}

void SecAggRound::AddToRecord(proto::RoundRecord& record) const {
  auto& m = *record.mutable_metrics();
  m["secagg_clients"] = params_.num_clients;
  m["secagg_neighbours"] = std::min<uint32_t>(params_.neighbours, params_.num_clients > 0 ? params_.num_clients - 1 : 0);
  m["secagg_threshold"] = params_.threshold;
  m["secagg_code_bits"] = code_bits_;
  m["secagg_ring_bits"] = params_.ring_bits;
  m["secagg_stages_closed"] = stage_;
  m["secagg_contributors"] = static_cast<double>(contributors_);
  if (server_ == nullptr) return;
  const secagg::SessionCosts& costs = server_->costs();
  for (int s = 0; s < secagg::kNumStages; ++s) {
    const secagg::StageCost& c = costs.stages[s];
    m[absl::StrCat("secagg_stage", s, "_bytes_in")] = static_cast<double>(c.bytes_received);
    m[absl::StrCat("secagg_stage", s, "_bytes_out")] = static_cast<double>(c.bytes_sent);
    m[absl::StrCat("secagg_stage", s, "_cpu_ms")] = absl::ToDoubleMilliseconds(c.cpu_time);
    m[absl::StrCat("secagg_stage", s, "_seconds")] = absl::ToDoubleSeconds(stage_time_[s]);
  }
  m["secagg_cpu_ms"] = absl::ToDoubleMilliseconds(costs.TotalCpuTime());
  m["secagg_bytes_in_per_client"] =
      static_cast<double>(costs.TotalBytesReceived()) / std::max<uint32_t>(params_.num_clients, 1);
  m["secagg_bytes_out_per_client"] =
      static_cast<double>(costs.TotalBytesSent()) / std::max<uint32_t>(params_.num_clients, 1);
}

}  // namespace fedge
