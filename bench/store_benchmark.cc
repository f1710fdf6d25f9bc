// The durable coordinator's costs (coordinator/store/README.md):
//
// BM_AcceptedUploadsAsync/MODE/WINDOW: accepted uploads per second with
//   18,000-parameter fp32 updates, served the way the gRPC adapter serves
//   them (Federation::UploadAsync from gRPC's callback API: the serving
//   thread hands the upload over and takes the next one; the store's writer
//   thread answers it once durable). Two submitting threads (one per core)
//   keep up to WINDOW uploads in flight, i.e. devices uploading at once. In
//   memory (MODE 0), with the SQLite state store at [state] durability =
//   "full" (1: every acknowledged update fsynced before the answer) and
//   "process" (2: written to the OS before the answer, survives kill -9 but
//   not a power loss). Concurrent acknowledgements share one write and one
//   fsync (group commit, coordinator/store/group_commit.h), and FedAvg's
//   round stores its progress once per batch rather than every update.
//   Compare the items_per_second within one run.
// BM_AcceptedUploads/MODE/THREADS: the same through the blocking
//   Federation::Upload, THREADS uploaders each asleep until its answer (how
//   the simulator and tests call it).
// cpu_us_per_upload: every thread's CPU over the run, per upload.
// A run of 2,000 uploads takes tens of milliseconds, so each is repeated
// five times: compare the medians.
// BM_Restart: how long a coordinator takes to resume a run with 100,000
//   registered devices and 1,000 round records: open the store (integrity
//   check, migrations) and Federation::Create (load and rebuild).
//
// The state directories go under $FEDGE_BENCH_DIR (default: ./store_benchmark.tmp);
// put it on the disk the coordinator would use, not on tmpfs, or the
// durable figure means nothing.
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "benchmark/benchmark.h"
#include "coordinator/federation.h"
#include "coordinator/store/sqlite_state_store.h"
#include "core/artifact.h"
#include "core/cpu_time.h"
#include "core/logging.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kParameters = 18'000;
constexpr int64_t kUploads = 2'000;

std::string BenchDir(const std::string& name) {
  const char* root = std::getenv("FEDGE_BENCH_DIR");
  const fs::path dir = fs::path(root != nullptr ? root : "store_benchmark.tmp") / name;
  fs::remove_all(dir);
  return dir.string();
}

ModelParams Model() {
  ModelParams m;
  m.layout = *ParamLayout::Create({{"w", {kParameters}}});
  m.values.assign(kParameters, 0.f);
  return m;
}

std::string Encode(const proto::Task& task, uint64_t layout_id) {
  std::vector<float> delta(kParameters, 1e-3f);
  proto::EncodedUpdate u;
  u.set_round(task.round());
  u.set_task_id(task.task_id());
  u.set_base_version(task.model_version());
  u.set_layout_id(layout_id);
  u.set_num_elements(kParameters);
  u.set_codec("fp32");
  u.set_payload(std::string(reinterpret_cast<const char*>(delta.data()), delta.size() * sizeof(float)));
  u.set_num_examples(10);
  return u.SerializeAsString();
}

// A FedAvg round open for kUploads + 1 devices, and kUploads final upload
// chunks ready to send (one per device), in memory (mode 0) or with a
// durable store (mode 1 "full", 2 "process").
struct UploadRun {
  explicit UploadRun(int64_t mode) {
    SetMinLogLevel(LogLevel::kWarning);
    if (mode > 0) store = *SqliteStateStore::Open({.dir = BenchDir("uploads"), .sync_every_commit = mode == 1});
    FederationOptions options;
    options.devices_per_round = kUploads + 1;  // the round stays open for the whole run
    options.min_devices = kUploads + 1;
    options.over_selection = 1;
    options.round_deadline = absl::Hours(1);
    options.store = store.get();
    federation =
        *Federation::Create(options, std::make_unique<FedAvg>(), Model(), *SigningKey::Generate(), &clock, nullptr);
    for (int64_t i = 0; i <= kUploads; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(absl::StrCat("device-", i));
      (void)federation->Register(r);
    }
    federation->Tick();
    for (int64_t i = 0; i < kUploads; ++i) {
      proto::PollTaskRequest poll;
      poll.set_device_id(absl::StrCat("device-", i));
      poll.set_eligible(true);
      const proto::Task task = federation->PollTask(poll)->task();
      proto::UploadRequest u;
      u.set_device_id(poll.device_id());
      u.set_task_id(task.task_id());
      u.set_data(Encode(task, Model().layout.id()));
      u.set_total_size(u.data().size());
      u.set_final(true);
      uploads.push_back(std::move(u));
    }
  }

  // Records the first answer that is not an acceptance.
  void Check(const absl::StatusOr<proto::UploadResponse>& answer) {
    if (answer.ok() && answer->accepted()) return;
    absl::MutexLock lock(&error_mu);
    if (error.empty()) error = answer.ok() ? "not accepted" : std::string(answer.status().message());
  }

  void Report(benchmark::State& state, int64_t mode, double cpu_seconds, const std::string& how) {
    // Every thread's CPU (the uploaders' and the store's), per upload.
    state.counters["cpu_us_per_upload"] = cpu_seconds * 1e6 / kUploads;
    absl::MutexLock lock(&error_mu);
    if (!error.empty()) state.SkipWithError(error.c_str());
    state.SetItemsProcessed(kUploads);
    state.SetLabel(absl::StrCat(mode == 0   ? "in memory"
                                : mode == 1 ? "durability full (fsync per batch)"
                                            : "durability process (survives kill -9, not power loss)",
                                ", ", how));
  }

  std::unique_ptr<SqliteStateStore> store;
  FakeClock clock;
  std::unique_ptr<Federation> federation;
  std::vector<proto::UploadRequest> uploads;
  absl::Mutex error_mu;
  std::string error ABSL_GUARDED_BY(error_mu);
};

// Uploaders that each wait for their answer (Federation::Upload): one
// thread asleep per upload in flight.
void BM_AcceptedUploads(benchmark::State& state) {
  const int64_t mode = state.range(0);
  const int64_t threads = state.range(1);
  UploadRun run(mode);
  const double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    // Every upload once, shared out to `threads` uploaders as they go.
    std::atomic<int64_t> next{0};
    std::vector<std::thread> uploaders;
    for (int64_t t = 0; t < threads; ++t) {
      uploaders.emplace_back([&] {
        pthread_setname_np(pthread_self(), "uploader");  // tells them apart in perf
        for (int64_t i = next++; i < kUploads; i = next++) run.Check(run.federation->Upload(run.uploads[i]));
      });
    }
    for (std::thread& u : uploaders) u.join();
  }
  run.Report(state, mode, ProcessCpuSeconds() - cpu_before, absl::StrCat(threads, " blocking uploaders"));
}
BENCHMARK(BM_AcceptedUploads)
    ->ArgNames({"mode", "threads"})
    ->Args({0, 1})
    ->Args({0, 16})
    ->Args({0, 64})
    ->Args({1, 1})
    ->Args({1, 16})
    ->Args({1, 64})
    ->Args({2, 16})
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// How the gRPC adapter serves uploads (Federation::UploadAsync from gRPC's
// callback API): one submitting thread per core, each keeping up to
// window / 2 uploads in flight, answered by the store's writer thread.
void BM_AcceptedUploadsAsync(benchmark::State& state) {
  const int64_t mode = state.range(0);
  const int64_t window = state.range(1);
  constexpr int kSubmitters = 2;
  UploadRun run(mode);
  absl::Mutex mu;
  int64_t in_flight = 0;
  struct AtMost {
    const int64_t* n;
    int64_t limit;
    bool operator()() const { return *n <= limit; }
  };
  const AtMost refill{&in_flight, window / 2};
  const AtMost drained{&in_flight, 0};
  const double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    std::atomic<int64_t> next{0};
    std::vector<std::thread> submitters;
    for (int t = 0; t < kSubmitters; ++t) {
      submitters.emplace_back([&] {
        pthread_setname_np(pthread_self(), "submitter");
        for (int64_t i = next++; i < kUploads; i = next++) {
          {
            // Refilled once half the window is answered: a submitter sleeps
            // once per half window, not once per upload.
            absl::MutexLock lock(&mu);
            if (in_flight >= window) {
              mu.Await(absl::Condition(&refill));
            }
            ++in_flight;
          }
          run.federation->UploadAsync(run.uploads[i], [&](absl::StatusOr<proto::UploadResponse> answer) {
            run.Check(answer);
            absl::MutexLock lock(&mu);
            --in_flight;
          });
        }
      });
    }
    for (std::thread& s : submitters) s.join();
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&drained));
  }
  run.Report(state, mode, ProcessCpuSeconds() - cpu_before,
             absl::StrCat(kSubmitters, " submitters, up to ", window, " uploads in flight"));
}
BENCHMARK(BM_AcceptedUploadsAsync)
    ->ArgNames({"mode", "window"})
    ->Args({0, 64})
    ->Args({1, 16})
    ->Args({1, 64})
    ->Args({1, 256})
    ->Args({2, 64})
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

constexpr int64_t kDevices = 100'000;
constexpr int64_t kRounds = 1'000;

// A state directory holding a run of kRounds rounds over kDevices devices.
struct StoredRun {
  std::string dir;
  SigningKey key = *SigningKey::Generate();
};

const StoredRun& PrepareRun() {
  static const StoredRun* run = [] {
    auto* r = new StoredRun{BenchDir("restart")};
    std::unique_ptr<SqliteStateStore> store = *SqliteStateStore::Open({.dir = r->dir});
    (void)store->StartRun({{"model.name", "bench"}});
    proto::ArtifactHeader header;
    header.set_model_id("fedge");
    header.set_version(kRounds + 1);
    header.set_architecture("cnn_small");
    const std::string artifact = *SignArtifact(MakeFp32Body(header, Model()), r->key);
    std::vector<StoredDevice> devices(kDevices);
    for (int64_t i = 0; i < kDevices; ++i) {
      devices[i].device_id = absl::StrCat("device-", i);
      devices[i].info.set_device_id(devices[i].device_id);
      devices[i].rounds_joined = i % 50;
      devices[i].first_seen_unix_micros = devices[i].last_seen_unix_micros = 1;
    }
    (void)store->SaveDevices(devices);
    for (int64_t round = 1; round <= kRounds; ++round) {
      proto::RoundRecord record;
      record.set_round(round);
      record.set_succeeded(true);
      record.set_selected(13);
      record.set_accepted(10);
      record.set_model_version(round + 1);
      for (const char* m : {"test_accuracy", "test_loss", "device_train_loss", "drifting_devices"}) {
        (*record.mutable_metrics())[m] = 0.5;
      }
      RoundClosure closure;
      closure.round = round;
      if (round == kRounds) closure.model = StoredModel{static_cast<uint64_t>(round + 1), artifact, {}};
      closure.pending = PendingRound{record, false, false, {}};
      closure.counters.rounds_started = round;
      (void)store->CloseRound(closure);
      (void)store->CompleteRound(record, closure.counters);
    }
    return r;
  }();
  return *run;
}

void BM_Restart(benchmark::State& state) {
  SetMinLogLevel(LogLevel::kWarning);
  const StoredRun& run = PrepareRun();
  FakeClock clock;
  for (auto _ : state) {
    std::unique_ptr<SqliteStateStore> store = *SqliteStateStore::Open({.dir = run.dir});
    FederationOptions options;
    options.store = store.get();
    absl::StatusOr<std::unique_ptr<Federation>> federation =
        Federation::Create(options, std::make_unique<FedAvg>(), Model(), run.key, &clock, nullptr);
    if (!federation.ok()) {
      state.SkipWithError(std::string(federation.status().message()).c_str());
      break;
    }
    if ((*federation)->rounds().size() != kRounds || (*federation)->GetStatus().registered_devices() != kDevices) {
      state.SkipWithError("the resumed run is not the stored one");
      break;
    }
  }
  state.SetLabel(absl::StrCat(kDevices, " devices, ", kRounds, " rounds"));
}
BENCHMARK(BM_Restart)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
