#include "client/data/preprocess.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

PreprocessOptions SmallOptions(int64_t dim = 4) {
  PreprocessOptions options;
  options.dim = dim;
  return options;
}

Preprocessor Make(const PreprocessOptions& options) {
  auto p = Preprocessor::Create(options);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

TEST(PreprocessOptionsTest, RejectsInvalidOptions) {
  EXPECT_TRUE(ValidatePreprocessOptions(PreprocessOptions{}).ok());
  auto message = [](auto mutate) {
    PreprocessOptions o;
    mutate(o);
    const absl::Status status = ValidatePreprocessOptions(o);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  EXPECT_THAT(message([](auto& o) { o.dim = 0; }), HasSubstr("dim"));
  EXPECT_THAT(message([](auto& o) { o.num_classes = 0; }), HasSubstr("num_classes"));
  EXPECT_THAT(message([](auto& o) { o.byte_scale = 0; }), HasSubstr("byte_scale"));
  EXPECT_THAT(message([](auto& o) { o.min_value = 2; }), HasSubstr("min_value"));
  EXPECT_THAT(message([](auto& o) { o.max_value = std::nan(""); }), HasSubstr("max_value"));
  EXPECT_THAT(message([](auto& o) { o.max_repaired_fraction = 1.5; }), HasSubstr("max_repaired_fraction"));
  EXPECT_THAT(message([](auto& o) { o.prior_mean = 3; }), HasSubstr("prior_mean"));
  EXPECT_THAT(message([](auto& o) { o.prior_std = 0; }), HasSubstr("prior_std"));
  EXPECT_THAT(message([](auto& o) { o.prior_examples = -1; }), HasSubstr("prior_examples"));
  EXPECT_THAT(message([](auto& o) { o.min_std = 0; }), HasSubstr("min_std"));
  PreprocessOptions open_range;
  open_range.min_value = -std::numeric_limits<double>::infinity();
  open_range.max_value = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(ValidatePreprocessOptions(open_range).ok());
}

TEST(PreprocessorTest, StartsFromThePriorAndNormalisesBytes) {
  PreprocessOptions options = SmallOptions();
  Preprocessor p = Make(options);
  EXPECT_THAT(p.mean(), ::testing::Each(kFashionMnistPixelMean));
  EXPECT_THAT(p.stddev(), ::testing::Each(::testing::DoubleNear(kFashionMnistPixelStd, 1e-12)));

  const std::vector<uint8_t> pixels = {0, 255, 51, 102};
  auto out = p.Process(RawExample::Bytes(pixels, 3));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->label, 3);
  EXPECT_EQ(out->repaired_values, 0);
  ASSERT_EQ(out->features.size(), 4u);
  // One example against a prior of 100: statistics barely move.
  EXPECT_NEAR(p.mean()[0], kFashionMnistPixelMean, 0.01);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(out->features[i], (pixels[i] / 255.0 - p.mean()[i]) / p.stddev()[i], 1e-5);
  }
  EXPECT_EQ(p.stats().accepted, 1);
  EXPECT_EQ(p.stats().examples_seen, 1);
}

TEST(PreprocessorTest, ReplacesNonFiniteValuesWithTheRunningMean) {
  PreprocessOptions options = SmallOptions();
  options.normalize = false;
  Preprocessor p = Make(options);
  const double mean_before = p.mean()[0];
  const std::vector<float> values = {kNaN, kInf, 0.5f, 0.25f};
  auto out = p.Process(RawExample::Floats(values));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ(out->features[0], static_cast<float>(mean_before));
  EXPECT_FLOAT_EQ(out->features[1], static_cast<float>(mean_before));
  EXPECT_EQ(out->features[2], 0.5f);
  EXPECT_EQ(out->repaired_values, 2);
  EXPECT_EQ(p.stats().values_non_finite_replaced, 2);
  EXPECT_EQ(p.stats().repaired_examples, 1);
  // Only the two valid values entered the statistics.
  EXPECT_EQ(p.observed_count(), 2.0);
}

TEST(PreprocessorTest, ClampsOrReplacesOutOfRangeValues) {
  PreprocessOptions options = SmallOptions();
  options.normalize = false;
  Preprocessor clamp = Make(options);
  const std::vector<float> values = {-0.5f, 1.7f, 0.5f, 1.0f};
  auto out = clamp.Process(RawExample::Floats(values));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->features, ::testing::ElementsAre(0.0f, 1.0f, 0.5f, 1.0f));
  EXPECT_EQ(clamp.stats().values_out_of_range_clamped, 2);

  options.out_of_range = OutOfRangePolicy::kReplaceWithMean;
  Preprocessor replace = Make(options);
  const float mean = static_cast<float>(replace.mean()[0]);
  out = replace.Process(RawExample::Floats(values));
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->features, ::testing::ElementsAre(mean, mean, 0.5f, 1.0f));
  EXPECT_EQ(replace.stats().values_out_of_range_replaced, 2);
  EXPECT_EQ(replace.stats().values_out_of_range_clamped, 0);
}

TEST(PreprocessorTest, RejectPoliciesRejectAndLeaveStatisticsUnchanged) {
  PreprocessOptions options = SmallOptions();
  options.non_finite = NonFinitePolicy::kReject;
  options.out_of_range = OutOfRangePolicy::kReject;
  Preprocessor p = Make(options);
  const std::vector<double> mean_before = p.mean();
  const std::vector<float> nan_values = {0.1f, kNaN, 0.2f, 0.3f};
  const std::vector<float> big_values = {0.1f, 0.2f, 3.0f, 0.3f};
  EXPECT_THAT(p.Process(RawExample::Floats(nan_values)).status().message(), HasSubstr("feature 1"));
  EXPECT_THAT(p.Process(RawExample::Floats(big_values)).status().message(), HasSubstr("feature 2"));
  EXPECT_EQ(p.stats().rejected_non_finite, 1);
  EXPECT_EQ(p.stats().rejected_out_of_range, 1);
  EXPECT_EQ(p.stats().accepted, 0);
  EXPECT_EQ(p.mean(), mean_before);
  EXPECT_EQ(p.observed_count(), 0.0);
}

TEST(PreprocessorTest, RejectsExamplesThatAreMostlyRepairs) {
  PreprocessOptions options = SmallOptions();
  options.max_repaired_fraction = 0.5;
  Preprocessor p = Make(options);
  const std::vector<float> half = {kNaN, 2.0f, 0.5f, 0.5f};    // 2 of 4: accepted
  const std::vector<float> most = {kNaN, 2.0f, -1.0f, 0.5f};   // 3 of 4: rejected
  EXPECT_TRUE(p.Process(RawExample::Floats(half)).ok());
  EXPECT_THAT(p.Process(RawExample::Floats(most)).status().message(), HasSubstr("3 of 4"));
  EXPECT_EQ(p.stats().rejected_too_many_repairs, 1);
  // Value counters cover accepted examples only.
  EXPECT_EQ(p.stats().values_repaired(), 2);
  EXPECT_EQ(p.observed_count(), 2.0);
}

TEST(PreprocessorTest, RejectsWrongDimensions) {
  Preprocessor p = Make(SmallOptions(4));
  const std::vector<float> three(3, 0.5f), five(5, 0.5f);
  const std::vector<uint8_t> bytes(784, 7);
  EXPECT_THAT(p.Process(RawExample::Floats(three)).status().message(), HasSubstr("has 3 features"));
  EXPECT_EQ(p.Process(RawExample::Floats(five)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Process(RawExample::Bytes(bytes)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Process(RawExample::Floats({})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.stats().rejected_wrong_dimension, 4);
  EXPECT_EQ(p.stats().examples_seen, 4);
}

TEST(PreprocessorTest, RejectsBadAndMissingLabels) {
  PreprocessOptions options = SmallOptions();
  Preprocessor p = Make(options);
  const std::vector<float> values(4, 0.5f);
  EXPECT_THAT(p.Process(RawExample::Floats(values, -1)).status().message(), HasSubstr("outside [0, 10)"));
  EXPECT_FALSE(p.Process(RawExample::Floats(values, 10)).ok());
  EXPECT_FALSE(p.Process(RawExample::Floats(values, std::numeric_limits<int64_t>::max())).ok());
  EXPECT_TRUE(p.Process(RawExample::Floats(values, 9)).ok());
  EXPECT_TRUE(p.Process(RawExample::Floats(values)).ok());  // unlabelled is fine by default
  EXPECT_EQ(p.stats().rejected_bad_label, 3);

  options.require_label = true;
  Preprocessor strict = Make(options);
  EXPECT_THAT(strict.Process(RawExample::Floats(values)).status().message(), HasSubstr("require_label"));
  EXPECT_EQ(strict.stats().rejected_missing_label, 1);
}

// With no prior, the running moments equal the two-pass mean and population
// variance of the data.
TEST(PreprocessorTest, WelfordMatchesTwoPassStatistics) {
  PreprocessOptions options = SmallOptions(8);
  options.prior_examples = 0;
  Preprocessor p = Make(options);
  SeededRandom rng(9);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<double> all;
  for (int e = 0; e < 200; ++e) {
    std::vector<float> values(8);
    for (float& v : values) {
      v = uniform(rng);
      all.push_back(v);
    }
    ASSERT_TRUE(p.Process(RawExample::Floats(values)).ok());
  }
  double mean = 0;
  for (double v : all) mean += v;
  mean /= static_cast<double>(all.size());
  double var = 0;
  for (double v : all) var += (v - mean) * (v - mean);
  var /= static_cast<double>(all.size());
  EXPECT_NEAR(p.mean()[3], mean, 1e-9);
  EXPECT_NEAR(p.stddev()[3], std::sqrt(var), 1e-9);
  EXPECT_EQ(p.observed_count(), static_cast<double>(all.size()));
}

TEST(PreprocessorTest, PerFeatureStatisticsConvergeFromThePrior) {
  PreprocessOptions options = SmallOptions(3);
  options.statistics = StatisticsMode::kPerFeature;
  options.prior_examples = 20;
  Preprocessor p = Make(options);
  // Feature i is uniform on [0.1 i, 0.1 i + 0.6]: mean 0.1 i + 0.3, std 0.6 / sqrt(12).
  SeededRandom rng(21);
  std::uniform_real_distribution<float> uniform(0.0f, 0.6f);
  std::vector<float> normalised_sum(3, 0.0f);
  for (int e = 0; e < 5000; ++e) {
    std::vector<float> values(3);
    for (size_t i = 0; i < 3; ++i) values[i] = 0.1f * static_cast<float>(i) + uniform(rng);
    auto out = p.Process(RawExample::Floats(values));
    ASSERT_TRUE(out.ok());
    if (e >= 4000) {
      for (size_t i = 0; i < 3; ++i) normalised_sum[i] += out->features[i];
    }
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(p.mean()[i], 0.1 * static_cast<double>(i) + 0.3, 0.01) << i;
    EXPECT_NEAR(p.stddev()[i], 0.6 / std::sqrt(12.0), 0.01) << i;
    EXPECT_NEAR(normalised_sum[i] / 1000.0f, 0.0f, 0.1f) << i;  // normalised data are centred
  }
}

TEST(PreprocessorTest, FreezeFixesTheStatistics) {
  PreprocessOptions options = SmallOptions();
  options.prior_examples = 1;
  Preprocessor p = Make(options);
  const std::vector<float> probe = {0.1f, 0.4f, 0.7f, 0.9f};
  const std::vector<float> bright(4, 0.95f);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p.Process(RawExample::Floats(probe)).ok());
  p.Freeze();
  ASSERT_TRUE(p.frozen());
  const std::vector<double> mean = p.mean(), stddev = p.stddev();
  const double count = p.observed_count();
  auto before = p.Process(RawExample::Floats(probe));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p.Process(RawExample::Floats(bright)).ok());
  auto after = p.Process(RawExample::Floats(probe));
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->features, after->features);
  EXPECT_EQ(p.mean(), mean);
  EXPECT_EQ(p.stddev(), stddev);
  EXPECT_EQ(p.observed_count(), count);
  EXPECT_EQ(p.stats().accepted, 102);  // frozen examples are still counted

  // A copy carries the frozen statistics to the inference path.
  Preprocessor inference = p;
  auto served = inference.Process(RawExample::Floats(probe));
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->features, before->features);

  p.Unfreeze();
  ASSERT_TRUE(p.Process(RawExample::Floats(bright)).ok());
  EXPECT_GT(p.mean()[0], mean[0]);
}

TEST(PreprocessorTest, IsDeterministic) {
  PreprocessOptions options = SmallOptions(16);
  options.statistics = StatisticsMode::kPerFeature;
  Preprocessor a = Make(options), b = Make(options);
  SeededRandom rng(4);
  std::uniform_real_distribution<float> uniform(-0.5f, 1.5f);
  for (int e = 0; e < 100; ++e) {
    std::vector<float> values(16);
    for (float& v : values) v = uniform(rng);
    if (e % 7 == 0) values[3] = kNaN;
    auto x = a.Process(RawExample::Floats(values, e % 10));
    auto y = b.Process(RawExample::Floats(values, e % 10));
    ASSERT_EQ(x.ok(), y.ok());
    if (x.ok()) {
      EXPECT_EQ(x->features, y->features);
    }
  }
}

// Garbage in every form (random lengths, bit patterns including NaN, Inf
// and denormals, bytes, absurd labels) under every policy: no crash, the
// counters add up, and every accepted example is finite and in range.
TEST(PreprocessorTest, FuzzedGarbageNeverCrashesAndStatsAddUp) {
  SeededRandom rng(2024);
  for (int config = 0; config < 12; ++config) {
    PreprocessOptions options = SmallOptions(12);
    options.non_finite = config % 2 ? NonFinitePolicy::kReject : NonFinitePolicy::kReplaceWithMean;
    options.out_of_range = static_cast<OutOfRangePolicy>(config % 3);
    options.statistics = config % 4 < 2 ? StatisticsMode::kGlobal : StatisticsMode::kPerFeature;
    options.normalize = config >= 6;
    options.require_label = config % 5 == 0;
    options.max_repaired_fraction = (config % 4) / 3.0;
    Preprocessor p = Make(options);
    int64_t ok_count = 0;
    for (int e = 0; e < 800; ++e) {
      const size_t len = rng() % 5 == 0 ? rng() % 30 : 12;
      std::optional<int64_t> label;
      if (rng() % 3) label = static_cast<int64_t>(rng() % 2 ? rng() % 12 : rng());
      absl::StatusOr<ProcessedExample> out;
      if (rng() % 2) {
        std::vector<float> values(len);
        for (float& v : values) {
          if (rng() % 2) {
            const uint32_t bits = static_cast<uint32_t>(rng());
            std::memcpy(&v, &bits, sizeof(v));
          } else {
            v = static_cast<float>(rng() % 1000) / 800.0f;
          }
        }
        out = p.Process(RawExample::Floats(values, label));
      } else {
        std::vector<uint8_t> values(len);
        for (uint8_t& v : values) v = static_cast<uint8_t>(rng());
        out = p.Process(RawExample::Bytes(values, label));
      }
      if (!out.ok()) {
        ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++ok_count;
      ASSERT_EQ(out->features.size(), 12u);
      for (float v : out->features) {
        ASSERT_TRUE(std::isfinite(v));
        if (!options.normalize) {
          ASSERT_GE(v, options.min_value);
          ASSERT_LE(v, options.max_value);
        }
      }
    }
    const PreprocessStats& s = p.stats();
    EXPECT_EQ(s.examples_seen, 800);
    EXPECT_EQ(s.accepted + s.rejected(), s.examples_seen) << "config " << config;
    EXPECT_EQ(s.accepted, ok_count);
    EXPECT_GT(s.rejected_wrong_dimension, 0);
    EXPECT_GT(s.rejected_bad_label, 0);
    EXPECT_LE(s.repaired_examples, s.accepted);
    for (double sd : p.stddev()) EXPECT_TRUE(std::isfinite(sd));
  }
}

}  // namespace
}  // namespace fedge
