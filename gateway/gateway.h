// File: gateway/gateway.h
//
// `Gateway` is the site-level aggregation tier (`fedge-gateway`): it sits
// near a site's devices, serves them the device protocol as a coordinator
// would (it implements `Transport`), and speaks the device side of the same
// protocol upward to the real coordinator, where it is one registered
// device. Per round of the coordinator it forwards ONE combined update, so
// upstream bandwidth and coordinator load scale with sites, not devices.
//
// One site round, driven by `Tick()`:
//   1. Once `min_devices` site devices are registered, the gateway
//      registers with the coordinator (as itself) and polls it. A task opens a site round:
//      the gateway fetches and verifies the signed global model once, and
//      selects every site device registered at that moment.
//   2. Site devices poll the gateway and get a task of the same round,
//      model version and training configuration (the coordinator's TrainConfig
//      unchanged: codec, DP-SGD, clipping). They download the coordinator's
//      signed artifact from the gateway's copy (devices verify it with the
//      coordinator's pinned key as always) and upload their encoded deltas.
//   3. Each update passes the coordinator's own boundary checks
//      (RoundState::UploadCheck: task, layout, codec, finite values, norm
//      bound, example cap) and is folded into a weighted mean, weighted by
//      its example count. With a state directory it is acknowledged only once
//      the site round's progress is durable.
//   4. When every selected device has answered, or at the site deadline with
//      at least `site_quorum` updates, the mean delta is encoded with the
//      task's codec and uploaded upstream as the gateway's update, claiming
//      the sum of the devices' example counts. FedAvg at the coordinator then
//      weights each site by its examples: the weighted mean of the sites'
//      weighted means is the weighted mean over all their devices.
//
// The gateway registers upstream with the attribute `gateway_devices`
// (kGatewayDevicesAttribute, core/transport.h) = its number of site devices, so the
// coordinator caps the combined update's example count at that many times
// the task's per-device cap (coordinator/README.md, "Gateways").
//
// Privacy and trust (gateway/README.md): the gateway sees its devices'
// individual updates, as the coordinator would without it. Sample-level
// DP-SGD and each device's privacy ledger are unchanged (devices train and
// account as before). With client-level DP at the coordinator, a site's
// combined update is one contribution, clipped and noised as one: the
// guarantee then covers a whole site, which implies it for every device in
// it. Secure aggregation tasks are refused (logged) by the gateway.
//
// Device reports are answered by the gateway and forwarded upward under its
// own id: drift alarms as they come, and the largest privacy spend of the site.
//
// Thread-safety: the Transport methods are safe to call concurrently; Tick()
// and Join() must be called from one thread at a time. Upstream calls are made from
// Tick() and Report(), never under the gateway's lock.
#ifndef FEDGE_GATEWAY_GATEWAY_H_
#define FEDGE_GATEWAY_GATEWAY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aggregation/update_checks.h"
#include "core/env.h"
#include "core/signing.h"
#include "core/transport.h"
#include "proto/fedge.pb.h"
#include "settings/gateway_settings.h"

namespace fedge {

struct GatewayOptions {
  // Its device id at the coordinator (the CN of its client certificate).
  std::string gateway_id;
  // Site devices registered before the gateway takes a task upstream.
  int64_t min_devices = 1;
  // Fewest device updates the gateway forwards at the site deadline; with
  // fewer the site round ends without an update (the coordinator's round
  // goes on without the site).
  int64_t site_quorum = 1;
  // The site round closes this long after it opens, or `forward_margin`
  // before the upstream task's deadline, whichever is first.
  absl::Duration site_deadline = absl::Minutes(5);
  absl::Duration forward_margin = absl::Seconds(10);
  // How long devices without a task wait before polling again, and the
  // shortest wait between two upstream polls.
  absl::Duration poll_interval = absl::Seconds(1);
  // Boundary checks on device updates (as [limits] at the coordinator).
  UpdateLimits limits;
  // Where the open site round is kept (gateway/README.md, "Durability");
  // empty: in memory only, so a crash loses the site round's updates.
  std::string state_dir;
  // Seeds the stochastic rounding of the combined update's encoding.
  uint64_t seed = 1;
  // Largest chunk of an upstream upload or download.
  uint32_t chunk_bytes = 1 << 20;
};

// kInvalidArgument naming the first bad field.
absl::Status ValidateGatewayOptions(const GatewayOptions& options);

// The options the [gateway] table describes, for gateway `gateway_id`.
GatewayOptions GatewayOptionsFrom(const GatewaySettings& settings, std::string gateway_id);

// What the gateway has done, for logs, metrics and tests.
struct GatewayCounters {
  int64_t site_rounds_opened = 0;
  int64_t site_rounds_forwarded = 0;  // combined update accepted upstream
  int64_t site_rounds_dropped = 0;    // below quorum, refused upstream, or a secure-aggregation task
  int64_t device_updates_accepted = 0;
  int64_t device_updates_rejected = 0;
  int64_t bytes_from_devices = 0;  // update bytes received from site devices
  int64_t bytes_upstream = 0;      // update bytes sent to the coordinator
  int64_t registered_devices = 0;
};

class Gateway final : public Transport {
 public:
  // `upstream` (how the gateway reaches the coordinator) and `clock` are
  // borrowed and must outlive the gateway. `coordinator_key` verifies the
  // global models it relays. With options.state_dir holding an open site
  // round, that round is resumed. kInvalidArgument for bad options;
  // kDataLoss for a state file that cannot be read back.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(GatewayOptions options, Transport* upstream,
                                                         VerifyKey coordinator_key, Clock* clock);
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // --- Transport: the site devices' RPCs ---------------------------------
  // As the coordinator's (core/transport.h); errors are the coordinator's
  // codes with messages naming the gateway.
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;

  // Drives the upstream side once: registers, polls for a task, fetches the
  // models, forwards a complete site round. Transient upstream errors are
  // returned (and retried by the next Tick); the gateway stays consistent.
  absl::Status Tick();

  // Registers with the coordinator once `min_devices` site devices are
  // registered (Tick() does this first): a driver that opens the
  // coordinator's round itself (the simulator) calls it before.
  absl::Status Join();

  // True while a site round is open (between a task and its forwarding).
  bool site_round_open() const;
  // The open site round's deadline; nullopt without one.
  std::optional<absl::Time> site_deadline() const;
  GatewayCounters counters() const;

 private:
  struct Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_GATEWAY_GATEWAY_H_
