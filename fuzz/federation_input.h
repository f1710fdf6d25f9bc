// File: fuzz/federation_input.h
//
// The parts of federation_submit_fuzzer's input format that the seed maker
// also needs: operation kinds, upload flags, the strategies, the tiny model
// and the identity patch. The format itself is documented in
// fuzz/federation_submit_fuzzer.cc.
#ifndef FEDGE_FUZZ_FEDERATION_INPUT_H_
#define FEDGE_FUZZ_FEDERATION_INPUT_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/params.h"
#include "proto/fedge.pb.h"

namespace fedge::fuzz {

enum FederationOp : uint8_t { kUpload = 0, kTick = 1, kPoll = 2, kReport = 3, kDownload = 4, kNumOps = 5 };

// Upload flags.
inline constexpr uint8_t kPatchIdentity = 1;
inline constexpr uint8_t kOtherTask = 2;
inline constexpr uint8_t kLieAboutSize = 4;

inline constexpr std::string_view kStrategies[] = {"fedavg",     "fedprox", "fedavgm",      "fedadam",
                                                   "fedyogi",    "fedadagrad", "median",    "trimmed_mean",
                                                   "krum"};
inline constexpr size_t kNumStrategies = sizeof(kStrategies) / sizeof(kStrategies[0]);

// A model of 278 floats in four tensors, with small deterministic values.
inline ModelParams TinyModel() {
  ModelParams m;
  m.layout = *ParamLayout::Create({{"conv.weight", {4, 4, 3, 3}},
                                   {"conv.bias", {4}},
                                   {"fc.weight", {10, 12}},
                                   {"fc.bias", {10}}});
  m.values.resize(m.layout.num_elements());
  for (size_t i = 0; i < m.values.size(); ++i) m.values[i] = 0.01f * std::sin(static_cast<float>(i));
  return m;
}

// `bytes` as an EncodedUpdate for `task` (round, task id, base version,
// layout id, element count and codec set to what the coordinator expects).
// Bytes that do not parse become the payload of an update claiming one
// example.
inline std::string PatchIdentity(std::string_view bytes, const proto::Task& task) {
  static const ModelParams model = TinyModel();
  proto::EncodedUpdate u;
  if (!u.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    u.Clear();
    u.set_payload(std::string(bytes));
    u.set_num_examples(1);
  }
  u.set_round(task.round());
  u.set_task_id(task.task_id());
  u.set_base_version(task.model_version());
  u.set_layout_id(model.layout.id());
  u.set_num_elements(static_cast<uint64_t>(model.layout.num_elements()));
  u.set_codec(task.train().codec());
  return u.SerializeAsString();
}

}  // namespace fedge::fuzz

#endif  // FEDGE_FUZZ_FEDERATION_INPUT_H_
