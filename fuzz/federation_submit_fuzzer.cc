// federation_submit_fuzzer: the coordinator's `Federation`
// (coordinator/federation.h) driven in-process, without gRPC, by devices
// that send whatever the fuzzer chooses: chunked uploads at any offsets and
// sizes with any final flags and update bytes (including num_examples and
// metrics), polls, reports and downloads, with time moving on a FakeClock.
//
// The Federation is built with the default FederationOptions (what
// fedge-coordinator and fedge-sim start from; no norm bound, no example
// cap) except `train.codec`, which the first byte picks, and a tiny model of
// 278 floats.
//
// Input (fuzz/fuzz_input.h):
//   U8 codec      0: the default codec (fp32); k: kUpdateCodecs[k - 1]
//   U8 strategy   index into kStrategies
//   U8 devices    1 + devices % 3 devices register; round 1 opens
//   then up to kMaxOps operations, each a U8 kind followed by its fields:
//   0 upload    U8 device, U8 flags, Bytes update, U8 chunks, then per
//               chunk U16 size, U8 offset mode, U32 offset, U8 final.
//               flags bit 0: patch round, task id, base version, layout
//               id, element count and codec from the device's task into
//               the update (so mutations of the payload, num_examples and
//               metrics reach the decoder and the aggregate); bit 1: use
//               another device's task id; bit 2: lie about total_size.
//   1 tick      U8 seconds*10 the clock advances first
//   2 poll      U8 device, U8 eligible
//   3 report    U8 device, Bytes metric name, U64 metric value bits,
//               U8 drift alarms
//   4 download  U8 device, U32 offset, U16 max_bytes
//   Finally the clock moves past the deadline and the Federation ticks.
//   FEDGE_FUZZ_VERBOSE=1 in the environment keeps the Federation's logs.
//
// gateway_submit_fuzzer is this harness built with FEDGE_FUZZ_THROUGH_GATEWAY:
// the devices talk to a `Gateway` (gateway/gateway.h) in front of the same
// Federation, which sees only the gateway's combined updates; every tick
// ticks the gateway around the Federation.
//
// Invariants beyond "no crash, no sanitizer report":
//   - after every tick the global model is finite and the signed model
//     devices download verifies, parses and holds exactly that model (a
//     device would refuse anything else, ending the federation);
//   - the served model's header metrics are finite and at most
//     kMaxHeaderMetrics (devices cannot grow the signed header);
//   - version numbers never go backwards.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregation/strategy_registry.h"
#include "coordinator/federation.h"
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
#include "gateway/gateway.h"
#endif
#include "core/artifact.h"
#include "core/env.h"
#include "core/logging.h"
#include "core/strings.h"
#include "fuzz/federation_input.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_key.h"
#include "fuzz/update_codecs.h"

namespace fedge::fuzz {
namespace {

constexpr int kMaxOps = 64;
// Far more than the coordinator's own round metrics; a device adding keys
// would go past it.
constexpr size_t kMaxHeaderMetrics = 64;

class Harness {
 public:
  Harness(std::unique_ptr<Federation> federation, FakeClock* clock, int devices)
      : federation_(std::move(federation)), front_(federation_.get()), clock_(clock), devices_(devices) {}

  Federation* federation() const { return federation_.get(); }

#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
  // The devices talk to `gateway`, in front of the Federation.
  void PutGatewayInFront(std::unique_ptr<Gateway> gateway) {
    gateway_ = std::move(gateway);
    front_ = gateway_.get();
  }
#endif

  void Run(FuzzInput& in) {
    for (int i = 0; i < devices_; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(DeviceId(i));
      FEDGE_FUZZ_CHECK(front_->Register(r).ok(), "Register failed");
    }
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
    FEDGE_FUZZ_CHECK(gateway_->Join().ok(), "the gateway could not join");
#endif
    Tick();  // opens round 1
    for (int i = 0; i < devices_; ++i) Poll(i, true);
    for (int op = 0; op < kMaxOps && !in.empty(); ++op) {
      switch (in.U8() % kNumOps) {
        case kUpload: Upload(in); break;
        case kTick: clock_->Advance(absl::Seconds(10 * in.U8())); Tick(); break;
        case kPoll: { const int d = Device(in); Poll(d, in.Bool()); break; }
        case kReport: Report(in); break;
        case kDownload: Download(in); break;
      }
    }
    clock_->Advance(FederationOptions().round_deadline + absl::Seconds(1));
    Tick();
  }

 private:
  static std::string DeviceId(int i) { return absl::StrCat("d", i); }
  int Device(FuzzInput& in) const { return in.U8() % devices_; }

  void Poll(int device, bool eligible) {
    proto::PollTaskRequest r;
    r.set_device_id(DeviceId(device));
    r.set_eligible(eligible);
    absl::StatusOr<proto::PollTaskResponse> response = front_->PollTask(r);
    if (response.ok() && response->has_task()) tasks_[device] = response->task();
  }

  void Upload(FuzzInput& in) {
    const int device = Device(in);
    const uint8_t flags = in.U8();
    std::string bytes(in.Bytes());
    const proto::Task& task = tasks_[device];
    if (flags & kPatchIdentity) bytes = PatchIdentity(bytes, task);
    std::string task_id = task.task_id();
    if (flags & kOtherTask) task_id = tasks_[(device + 1) % devices_].task_id();
    const int chunks = 1 + in.U8() % 4;
    uint64_t committed = 0;
    for (int c = 0; c < chunks; ++c) {
      const uint16_t size = in.U16();
      const bool absolute = in.Bool();
      const uint32_t offset = in.U32();
      const bool final = in.Bool() || c == chunks - 1;
      proto::UploadRequest r;
      r.set_device_id(DeviceId(device));
      r.set_task_id(task_id);
      r.set_offset(absolute ? offset : committed);
      const uint64_t from = std::min<uint64_t>(r.offset(), bytes.size());
      const uint64_t len = (size == 0 || c == chunks - 1) ? bytes.size() - from : size;
      r.set_data(bytes.substr(from, len));
      r.set_total_size((flags & kLieAboutSize) ? offset : bytes.size());
      r.set_final(final);
      absl::StatusOr<proto::UploadResponse> response = front_->Upload(r);
      if (!response.ok()) return;
      committed = response->committed_offset();
      if (response->accepted()) return;
    }
  }

  void Report(FuzzInput& in) {
    proto::DeviceReport r;
    r.set_device_id(DeviceId(Device(in)));
    const std::string name(in.Bytes());
    const uint64_t bits = in.U64();
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    (*r.mutable_metrics())[name] = value;
    const int alarms = in.U8() % 3;
    for (int i = 0; i < alarms; ++i) r.add_alarms()->set_detector("page_hinkley");
    (void)front_->Report(r);
  }

  void Download(FuzzInput& in) {
    proto::DownloadRequest r;
    r.set_device_id(DeviceId(Device(in)));
    r.set_model_version(federation_->model_version());
    r.set_offset(in.U32());
    r.set_max_bytes(in.U16());
    absl::StatusOr<proto::DownloadResponse> response = front_->Download(r);
    if (response.ok()) FEDGE_FUZZ_CHECK(response->data().size() <= r.max_bytes() || r.max_bytes() == 0, "chunk too big");
  }

  void Tick() {
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
    (void)gateway_->Tick();  // forwards a complete site round
#endif
    (void)federation_->Tick();
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
    (void)gateway_->Tick();  // takes the next round's task
#endif
    CheckServedModel();
  }

  // What every device does with the model it downloads: verify, parse, use.
  void CheckServedModel() {
    const uint64_t version = federation_->model_version();
    FEDGE_FUZZ_CHECK(version >= last_version_, "model version went backwards");
    last_version_ = version;
    const ModelParams global = federation_->global_model();
    for (float v : global.values) {
      FEDGE_FUZZ_CHECK(std::isfinite(v), absl::StrCat("global model version ", version, " has a non-finite value"));
    }
    absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(federation_->signed_model(), FuzzVerifyKey());
    FEDGE_FUZZ_CHECK(body.ok(), absl::StrCat("served model does not open: ", body.status().ToString()));
    absl::StatusOr<ModelParams> served = ParamsFromBody(*body);
    FEDGE_FUZZ_CHECK(served.ok(), absl::StrCat("devices refuse the served model: ", served.status().ToString()));
    FEDGE_FUZZ_CHECK(served->values == global.values, "the served model is not the global model");
    // Device-supplied metrics must not reach the signed header unchecked.
    const auto& metrics = body->header().metrics();
    FEDGE_FUZZ_CHECK(metrics.size() <= kMaxHeaderMetrics,
                     absl::StrCat("the served model's header carries ", metrics.size(), " metrics"));
    for (const auto& [name, value] : metrics) {
      FEDGE_FUZZ_CHECK(std::isfinite(value), absl::StrCat("header metric '", name, "' is ", value));
    }
  }

  std::unique_ptr<Federation> federation_;
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
  std::unique_ptr<Gateway> gateway_;  // declared after the Federation it calls
#endif
  Transport* front_;  // what the devices talk to
  FakeClock* clock_;
  const int devices_;
  std::map<int, proto::Task> tasks_;
  uint64_t last_version_ = 0;
};

void FuzzOne(FuzzInput& in) {
  FederationOptions options;
  const uint8_t codec = in.U8() % (kNumUpdateCodecs + 1);
  if (codec > 0) options.train.set_codec(std::string(kUpdateCodecs[codec - 1]));
  const std::string_view name = kStrategies[in.U8() % kNumStrategies];
  absl::StatusOr<std::unique_ptr<Strategy>> strategy =
      CreateStrategy(absl::StrCat("name = \"", AsAbsl(name), "\""));
  FEDGE_FUZZ_CHECK(strategy.ok(), strategy.status().ToString());
  const int devices = 1 + in.U8() % 3;

  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Federation>> federation = Federation::Create(
      options, *std::move(strategy), TinyModel(), FuzzSigningKey(), &clock, /*evaluator=*/nullptr);
  FEDGE_FUZZ_CHECK(federation.ok(), federation.status().ToString());
  Harness harness(*std::move(federation), &clock, devices);
#ifdef FEDGE_FUZZ_THROUGH_GATEWAY
  GatewayOptions gateway_options;
  gateway_options.gateway_id = "gateway";
  gateway_options.min_devices = devices;
  absl::StatusOr<std::unique_ptr<Gateway>> gateway =
      Gateway::Create(gateway_options, harness.federation(), FuzzVerifyKey(), &clock);
  FEDGE_FUZZ_CHECK(gateway.ok(), gateway.status().ToString());
  harness.PutGatewayInFront(*std::move(gateway));
#endif
  harness.Run(in);
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every rejected update logs a warning; at fuzzing speed that is noise.
  // FEDGE_FUZZ_VERBOSE=1 keeps the logs, to see what one input does.
  if (std::getenv("FEDGE_FUZZ_VERBOSE") == nullptr) fedge::SetMinLogLevel(fedge::LogLevel::kFatal);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  fedge::fuzz::FuzzOne(in);
  return 0;
}
