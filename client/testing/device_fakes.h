// File: client/testing/device_fakes.h
//
// Test doubles for the device agent's tests (client/device*_test.cc): a
// Trainer that adds a known step to every parameter, and an in-test
// coordinator Transport that serves one signed model in chunks, reassembles
// uploads and fails chosen calls on demand. Test-only: not thread-safe.
#ifndef FEDGE_CLIENT_TESTING_DEVICE_FAKES_H_
#define FEDGE_CLIENT_TESTING_DEVICE_FAKES_H_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/trainer.h"
#include "compression/codec.h"
#include "core/artifact.h"
#include "core/env.h"
#include "core/signing.h"
#include "core/transport.h"
#include "gtest/gtest.h"

namespace fedge {

inline ParamLayout TestLayout() {
  return *ParamLayout::Create({{"fc.weight", {4, 8}}, {"fc.bias", {4}}});
}

inline ModelParams TestModel() {
  ModelParams params{TestLayout(), {}};
  for (int64_t i = 0; i < params.layout.num_elements(); ++i) params.values.push_back(0.01f * i);
  return params;
}

// Adds `step` to every parameter: a delta whose value the test knows.
class FakeTrainer : public Trainer {
 public:
  const std::string& architecture() const override { return architecture_; }
  const ParamLayout& layout() const override { return layout_; }
  uint64_t num_examples() const override { return 120; }
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override {
    seeds.push_back(seed);
    configs.push_back(config);
    if (!fail_with.ok()) return fail_with;
    TrainResult result{global, 100, {{"train_loss", 0.25}}, privacy};
    for (float& v : result.local.values) v += step;
    return result;
  }
  absl::StatusOr<std::optional<SgmEvent>> PlanPrivacy(const proto::TrainConfig&) const override { return privacy; }

  // When set, every task is a DP-SGD run spending this.
  std::optional<SgmEvent> privacy;

  float step = 0.5f;
  // When not OK, Train fails with it (e.g. kAborted: interrupted between batches).
  absl::Status fail_with;
  std::vector<uint64_t> seeds;
  std::vector<proto::TrainConfig> configs;

 private:
  std::string architecture_ = "tiny";
  ParamLayout layout_ = TestLayout();
};

// An in-test coordinator: hands out queued tasks, serves one signed model in
// chunks, reassembles uploads, and fails chosen calls on demand.
class FakeCoordinator : public Transport {
 public:
  FakeCoordinator(Clock* clock, const SigningKey& key, const ModelParams& model = TestModel(),
                  std::string architecture = "tiny")
      : clock_(clock), architecture_(std::move(architecture)) {
    proto::ArtifactHeader header;
    header.set_model_id("test");
    header.set_version(7);
    header.set_architecture(architecture_);
    model_ = *SignArtifact(MakeFp32Body(header, model), key);
  }

  proto::Task MakeTask(uint64_t round) const {
    proto::Task task;
    task.set_round(round);
    task.set_task_id("task-" + std::to_string(round));
    task.set_model_version(7);
    task.set_model_size_bytes(model_.size());
    task.set_architecture(architecture_);
    task.mutable_train()->set_local_epochs(1);
    return task;
  }

  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override {
    if (link_down) return absl::UnavailableError("link down");
    registrations.push_back(request);
    return proto::RegisterResponse();
  }

  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override {
    if (link_down) return absl::UnavailableError("link down");
    poll_times.push_back(clock_->Now());
    polls.push_back(request);
    if (auto it = poll_failures.find(polls.size()); it != poll_failures.end()) return it->second;
    proto::PollTaskResponse response;
    response.set_deployed_model_version(deployed_version);
    if (tasks.empty()) {
      response.set_retry_after_millis(retry_after_millis);
    } else {
      *response.mutable_task() = tasks.front();
      tasks.pop_front();
    }
    return response;
  }

  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override {
    if (link_down) return absl::UnavailableError("link down");
    if (request.artifact() == proto::ARTIFACT_DEPLOYED_MODEL) {
      deployed_downloads.push_back(request.model_version());
      auto it = deployed.find(request.model_version());
      if (it == deployed.end()) return absl::FailedPreconditionError("not deployed");
      return Chunk(it->second, request);
    }
    download_offsets.push_back(request.offset());
    if (auto it = download_failures.find(download_offsets.size()); it != download_failures.end()) return it->second;
    return Chunk(model_, request);
  }

  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override {
    upload_offsets.push_back(request.offset());
    if (request.has_header()) upload_headers.emplace_back(request.offset(), request.header());
    const size_t call = upload_offsets.size();
    if (auto it = upload_failures.find(call); it != upload_failures.end()) return it->second;
    if (link_down || uploads_fail) return absl::UnavailableError("link down");
    if (refused_tasks.contains(request.task_id())) return absl::FailedPreconditionError("not a task of this round");
    // A "lost" chunk is acknowledged without being stored.
    if (!lost_uploads.contains(call) && request.offset() <= received_.size()) {
      received_.resize(request.offset());
      received_ += request.data();
    }
    proto::UploadResponse response;
    response.set_committed_offset(received_.size());
    if (request.final() && received_.size() == request.total_size()) {
      EXPECT_TRUE(update.ParseFromString(received_));
      response.set_accepted(true);
      received_.clear();
      ++accepted;
    }
    return response;
  }

  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override {
    if (link_down) return absl::UnavailableError("link down");
    reports.push_back(report);
    return proto::ReportResponse();
  }

  std::string& model() { return model_; }

  std::deque<proto::Task> tasks;
  int64_t retry_after_millis = 1000;
  // Deployed INT8 models by version, and the version polls advertise.
  std::map<uint64_t, std::string> deployed;
  uint64_t deployed_version = 0;
  std::vector<uint64_t> deployed_downloads;  // version of every deployed-model chunk request
  // Call number (1-based, per RPC) -> error returned instead of serving it.
  std::map<size_t, absl::Status> poll_failures, download_failures, upload_failures;
  std::set<size_t> lost_uploads;
  // While set, every call (link_down) or every upload (uploads_fail: a link
  // too poor for large messages) fails with kUnavailable.
  bool link_down = false;
  bool uploads_fail = false;
  // Uploads for these tasks are answered kFailedPrecondition (a past round).
  std::set<std::string> refused_tasks;

  std::vector<proto::RegisterRequest> registrations;
  std::vector<proto::PollTaskRequest> polls;
  std::vector<absl::Time> poll_times;
  std::vector<uint64_t> download_offsets, upload_offsets;
  std::vector<std::pair<uint64_t, proto::UpdateHeader>> upload_headers;  // (offset, header) of chunks with one
  std::vector<proto::DeviceReport> reports;
  proto::EncodedUpdate update;
  int accepted = 0;

 private:
  static absl::StatusOr<proto::DownloadResponse> Chunk(const std::string& bytes, const proto::DownloadRequest& request) {
    if (request.offset() >= bytes.size()) return absl::OutOfRangeError("past the end");
    proto::DownloadResponse response;
    response.set_offset(request.offset());
    response.set_total_size(bytes.size());
    response.set_data(bytes.substr(request.offset(), request.max_bytes()));
    return response;
  }

  Clock* clock_;
  std::string architecture_;
  std::string model_;
  std::string received_;
};

inline std::vector<float> Decode(const proto::EncodedUpdate& update) {
  auto view = DecodeUpdate(update.codec(), update.payload(), static_cast<int64_t>(update.num_elements()));
  EXPECT_TRUE(view.ok()) << view.status();
  if (!view.ok()) return {};
  std::vector<float> out((*view)->size());
  (*view)->DecodeInto(absl::MakeSpan(out));
  return out;
}

}  // namespace fedge

#endif  // FEDGE_CLIENT_TESTING_DEVICE_FAKES_H_
