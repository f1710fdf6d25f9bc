// File: gateway/gateway_impl.h
//
// Internal to gateway/ (gateway.cc: the site devices' side; upstream.cc:
// Tick and the coordinator's side; site_file.cc: durability). Not installed.
#ifndef FEDGE_GATEWAY_GATEWAY_IMPL_H_
#define FEDGE_GATEWAY_GATEWAY_IMPL_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "compression/encoder.h"
#include "coordinator/round_state.h"
#include "core/random.h"
#include "gateway/gateway.h"
#include "proto/gateway_state.pb.h"

namespace fedge {

// A signed artifact the gateway relays as the coordinator sent it.
struct RelayedArtifact {
  uint64_t version = 0;
  std::string bytes;
};

// The global model of a site round, verified.
struct SiteModel {
  RelayedArtifact artifact;
  uint64_t layout_id = 0;
  int64_t num_elements = 0;
};

// The open site round.
struct SiteRound {
  SiteModel model;
  std::unique_ptr<RoundState> state;
  // The coordinator's task and everything to resume the round (written
  // after every acknowledgement when the gateway has a state directory).
  proto::GatewaySiteRound record;
  // The combined update once encoded, kept until the coordinator answers,
  // so a transient failure resends the same bytes.
  std::string encoded;
  proto::UpdateHeader header;  // of `encoded`
};

struct Gateway::Impl {
  Impl(GatewayOptions o, Transport* up, VerifyKey key, Clock* c)
      : options(std::move(o)), upstream(up), coordinator_key(std::move(key)), clock(c), random(options.seed) {}

  // --- The site devices' side (gateway.cc) ---
  // The task's state for an upload of `device_id`, or kFailedPrecondition.
  absl::StatusOr<RoundState::TaskState*> TaskFor(const proto::UploadRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Checks and folds a complete upload, makes it durable, answers it.
  absl::StatusOr<proto::UploadResponse> Commit(RoundState::TaskState& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // --- The coordinator's side (upstream.cc) ---
  absl::Status RegisterUpstream();
  absl::Status PollUpstream();
  absl::StatusOr<RelayedArtifact> FetchArtifact(proto::ArtifactKind kind, uint64_t version);
  absl::StatusOr<SiteModel> VerifyModel(RelayedArtifact artifact) const;
  void OpenSiteRound(const proto::Task& task, SiteModel model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Opens the site round `record` describes (a new one, or one resumed).
  void OpenSiteRoundFrom(proto::GatewaySiteRound record, SiteModel model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Whether the open site round is ready to forward (or to drop).
  bool SiteRoundDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Encodes the combined update (once) and returns its bytes; nullopt when
  // the round ended without one (below quorum), having dropped it.
  absl::StatusOr<std::optional<std::string>> CombinedUpdate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status ForwardSiteRound();
  absl::Status UploadUpstream(const proto::UpdateHeader& header, const std::string& bytes);
  void EndSiteRound(bool forwarded, std::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // --- Durability (site_file.cc) ---
  std::string SiteFile() const;
  std::string ModelFile() const;
  absl::Status SaveSiteRound() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status SaveModel(const RelayedArtifact& artifact) const;
  absl::Status ResumeSiteRound() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void RemoveSiteFiles() const;

  const GatewayOptions options;
  Transport* const upstream;
  const VerifyKey coordinator_key;
  Clock* const clock;

  mutable absl::Mutex mu;
  std::map<std::string, uint64_t> devices ABSL_GUARDED_BY(mu);  // id -> declared examples
  std::optional<SiteRound> site ABSL_GUARDED_BY(mu);
  std::optional<RelayedArtifact> deployed ABSL_GUARDED_BY(mu);
  uint64_t advertised_deployed ABSL_GUARDED_BY(mu) = 0;  // from the coordinator's last answer
  std::string model_id ABSL_GUARDED_BY(mu);
  double site_epsilon ABSL_GUARDED_BY(mu) = 0;  // largest a device reported
  // The final answers of the last site round, replayed to resubmissions.
  std::map<std::string, RoundState::CommittedReply> last_replies ABSL_GUARDED_BY(mu);
  GatewayCounters counters ABSL_GUARDED_BY(mu);

  // Tick()'s own state (one thread).
  int64_t registered_upstream_with = -1;  // device count of the last upstream Register
  absl::Time next_poll = absl::InfinitePast();
  uint64_t refused_task_round = 0;  // a secure-aggregation round it refused
  std::unique_ptr<UpdateEncoder> encoder;
  std::string encoder_codec;
  SeededRandom random;
};

}  // namespace fedge

#endif  // FEDGE_GATEWAY_GATEWAY_IMPL_H_
