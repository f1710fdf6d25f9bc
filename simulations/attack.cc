#include "simulations/attack.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "simulations/partition.h"

namespace fedge {
namespace {

constexpr uint8_t kMaxLabel = 9;

}  // namespace

const std::vector<std::string>& AttackKinds() {
  static const auto* const kKinds = new std::vector<std::string>{"sign_flip", "scale", "noise", "label_flip"};
  return *kKinds;
}

bool IsUpdateAttack(const AttackOptions& attack) { return attack.kind != "label_flip"; }

void ReadAttackTable(ConfigSection section, AttackOptions* attack) {
  section.Read("fraction", &attack->fraction, 0, 1);
  section.Read("kind", &attack->kind, AttackKinds());
  section.Read("scale", &attack->scale, 1e-9, 1e9);
  section.Read("noise_std", &attack->noise_std, 0, 1e9);
}

nlohmann::json AttackToJson(const AttackOptions& attack) {
  return {{"fraction", attack.fraction},
          {"kind", attack.kind},
          {"scale", attack.scale},
          {"noise_std", attack.noise_std}};
}

std::vector<bool> SelectMaliciousDevices(int64_t num_devices, double fraction, uint64_t seed) {
  std::vector<bool> malicious(std::max<int64_t>(num_devices, 0), false);
  const auto count = std::min<int64_t>(std::llround(fraction * num_devices), num_devices);
  if (count <= 0) return malicious;
  std::vector<int64_t> order(malicious.size());
  std::iota(order.begin(), order.end(), 0);
  SeededRandom rng(seed);
  // Partial Fisher-Yates: the first `count` slots are a uniform sample.
  for (int64_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, num_devices - 1);
    std::swap(order[i], order[pick(rng)]);
    malicious[order[i]] = true;
  }
  return malicious;
}

absl::Status AttackUpdate(const AttackOptions& attack, absl::Span<const float> global, absl::Span<float> local,
                          uint64_t seed) {
  if (global.size() != local.size()) {
    return absl::InvalidArgumentError(absl::StrCat("attack: the local model has ", local.size(),
                                                   " parameters but the global one ", global.size()));
  }
  if (attack.kind == "sign_flip" || attack.kind == "scale") {
    const float factor = static_cast<float>(attack.kind == "sign_flip" ? -attack.scale : attack.scale);
    for (size_t i = 0; i < local.size(); ++i) local[i] = global[i] + factor * (local[i] - global[i]);
    return absl::OkStatus();
  }
  if (attack.kind == "noise") {
    double stddev = attack.noise_std;
    if (stddev == 0 && !local.empty()) {
      double squared = 0;
      for (size_t i = 0; i < local.size(); ++i) {
        const double d = static_cast<double>(local[i]) - global[i];
        squared += d * d;
      }
      stddev = std::sqrt(squared / static_cast<double>(local.size()));
    }
    SeededRandom rng(seed);
    std::normal_distribution<double> z(0, 1);
    for (size_t i = 0; i < local.size(); ++i) local[i] = static_cast<float>(global[i] + stddev * z(rng));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("attack: '", attack.kind, "' is not an update attack (sign_flip, scale or noise)"));
}

ImageDataset FlippedLabelShard(const ImageDataset& data, absl::Span<const int64_t> indices) {
  ImageDataset shard = SelectExamples(data, indices);
  for (uint8_t& label : shard.labels) label = static_cast<uint8_t>(kMaxLabel - label);
  return shard;
}

}  // namespace fedge
