#include "tests/sim/test_registrations.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "aggregation/strategy_registry.h"
#include "aggregation/weighted_mean.h"
#include "client/drift/detector_registry.h"
#include "compression/internal/fp32_codec.h"
#include "compression/internal/value_codec.h"
#include "compression/value_stage_registry.h"

namespace fedge::testing {

std::atomic<int64_t>& TestStrategyApplies() {
  static std::atomic<int64_t> count{0};
  return count;
}
std::atomic<int64_t>& TestStageEncodes() {
  static std::atomic<int64_t> count{0};
  return count;
}
std::atomic<int64_t>& TestStageParses() {
  static std::atomic<int64_t> count{0};
  return count;
}
std::atomic<int64_t>& TestDetectorUpdates() {
  static std::atomic<int64_t> count{0};
  return count;
}

namespace {

// --- Strategy ------------------------------------------------------------------

struct HalvingMeanOptions {
  double server_learning_rate = 1.0;
  absl::Status Validate() const {
    if (!(server_learning_rate > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("test_halving_mean: server_learning_rate must be > 0, got ", server_learning_rate));
    }
    return absl::OkStatus();
  }
};

class HalvingMean final : public Strategy {
 public:
  explicit HalvingMean(HalvingMeanOptions options) : options_(options) {}
  std::string_view name() const override { return kTestStrategy; }
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override {
    return std::make_unique<WeightedMeanAggregator>(num_elements);
  }
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override {
    if (delta.size() != global.size()) return absl::InvalidArgumentError("test_halving_mean: size mismatch");
    const float step = static_cast<float>(options_.server_learning_rate / 2);
    for (size_t i = 0; i < delta.size(); ++i) global[i] += step * delta[i];
    ++TestStrategyApplies();
    return absl::OkStatus();
  }

 private:
  HalvingMeanOptions options_;
};

std::optional<StrategySpec> ReadHalvingMean(ConfigSection table) {
  HalvingMeanOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  return MakeStrategySpec<HalvingMean>(table, kTestStrategy, o, {{"server_learning_rate", o.server_learning_rate}});
}

const bool kStrategyRegistered = RegisterStrategy({.name = kTestStrategy, .read = &ReadHalvingMean});

// --- Value stage ---------------------------------------------------------------

class CountedFp32 final : public compression_internal::ValueCodec {
 public:
  size_t EncodedSize(int64_t m) const override { return inner_->EncodedSize(m); }
  void Encode(absl::Span<const float> values, absl::BitGenRef gen, char* out) const override {
    ++TestStageEncodes();
    inner_->Encode(values, gen, out);
  }
  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    ++TestStageParses();
    return inner_->Parse(bytes, m);
  }

 private:
  std::unique_ptr<compression_internal::ValueCodec> inner_ = compression_internal::MakeFp32Codec();
};

absl::StatusOr<ValueStage> MakeCountedFp32(std::optional<std::string_view> param) {
  if (param) return absl::InvalidArgumentError("stage 'test_counted_fp32' takes no parameter");
  return ValueStage{.name = kTestValueStage, .param = "", .biased = false, .codec = std::make_shared<CountedFp32>()};
}

const bool kStageRegistered =
    RegisterValueStage({.name = kTestValueStage, .grammar = kTestValueStage, .make = &MakeCountedFp32});

// --- Drift detector ------------------------------------------------------------

struct AlwaysOptions {
  int64_t after = 50;
};

class Always final : public DriftDetector {
 public:
  static constexpr std::string_view kName = kTestDetector;
  static absl::StatusOr<std::unique_ptr<Always>> Create(const AlwaysOptions& options) {
    if (options.after < 0) return absl::InvalidArgumentError("test_always: after must be >= 0");
    return std::make_unique<Always>(options);
  }
  explicit Always(AlwaysOptions options) : options_(options) {}
  DriftSignal Update(double value) override {
    (void)value;
    ++TestDetectorUpdates();
    ++seen_;
    const bool fire = static_cast<int64_t>(seen_) > options_.after;
    return {fire ? DriftState::kDrift : DriftState::kNone, static_cast<double>(seen_), seen_};
  }
  void Reset() override { seen_ = 0; }
  std::string_view name() const override { return kName; }
  uint64_t samples_seen() const override { return seen_; }

 private:
  AlwaysOptions options_;
  uint64_t seen_ = 0;
};

std::optional<DetectorSpec> ReadAlways(ConfigSection table) {
  AlwaysOptions o;
  ReadDetectorOption(table, "after", &o.after);
  return MakeDetectorSpec<Always>(table, o, {{"after", static_cast<double>(o.after)}});
}

const bool kDetectorRegistered = RegisterDetector({.name = kTestDetector, .read = &ReadAlways});

}  // namespace
}  // namespace fedge::testing
