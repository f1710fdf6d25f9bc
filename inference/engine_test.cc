#include "inference/engine.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/artifact.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    builder_ = std::make_unique<Int8ModelBuilder>(testing::StudentCnn(3));
    body_ = *testing::BuildCalibrated(*builder_, 64, 4);
    bytes_ = *SignArtifact(body_, key_);
  }

  absl::StatusCode LoadCode(const std::string& bytes) {
    return InferenceEngine::Load(bytes, key_.verify_key(), {}).status().code();
  }

  SigningKey key_ = testing::GenerateTestKey();
  std::unique_ptr<Int8ModelBuilder> builder_;
  proto::ArtifactBody body_;
  std::string bytes_;
};

TEST_F(EngineTest, LoadsSignedModel) {
  absl::StatusOr<std::unique_ptr<InferenceEngine>> engine = InferenceEngine::Load(bytes_, key_.verify_key(), {});
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->num_classes(), 10);
  EXPECT_EQ((*engine)->input_size(), 28 * 28);
  EXPECT_EQ((*engine)->header().model_id(), "test");
  // Ping-pong arena of the largest activation (8x24x24) plus im2col rows.
  EXPECT_EQ((*engine)->arena_bytes(), 2u * 8 * 24 * 24 + 2u * 24 * 24 * 32);
}

TEST_F(EngineTest, TamperedBodyIsRefused) {
  proto::SignedArtifact signed_artifact;
  ASSERT_TRUE(signed_artifact.ParseFromString(bytes_));
  for (size_t pos : {size_t{3}, signed_artifact.body().size() / 2, signed_artifact.body().size() - 1}) {
    proto::SignedArtifact tampered = signed_artifact;
    (*tampered.mutable_body())[pos] ^= 0x01;
    EXPECT_EQ(LoadCode(tampered.SerializeAsString()), absl::StatusCode::kPermissionDenied) << pos;
  }
}

TEST_F(EngineTest, TamperedSignatureIsRefused) {
  proto::SignedArtifact signed_artifact;
  ASSERT_TRUE(signed_artifact.ParseFromString(bytes_));
  (*signed_artifact.mutable_signature())[10] ^= 0x80;
  EXPECT_EQ(LoadCode(signed_artifact.SerializeAsString()), absl::StatusCode::kPermissionDenied);
  signed_artifact.clear_signature();
  EXPECT_EQ(LoadCode(signed_artifact.SerializeAsString()), absl::StatusCode::kPermissionDenied);
}

TEST_F(EngineTest, OtherKeyIsRefused) {
  const SigningKey other = testing::GenerateTestKey();
  EXPECT_EQ(LoadCode(*SignArtifact(body_, other)), absl::StatusCode::kPermissionDenied);
}

TEST_F(EngineTest, TruncatedArtifactIsRefused) {
  for (size_t len : {size_t{0}, size_t{5}, bytes_.size() / 2, bytes_.size() - 1}) {
    const absl::StatusCode code = LoadCode(bytes_.substr(0, len));
    EXPECT_TRUE(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kPermissionDenied)
        << len << ": " << code;
  }
}

TEST_F(EngineTest, SignedButInconsistentIsInvalid) {
  body_.mutable_int8_graph()->mutable_ops(0)->set_weights("missing");
  absl::Status status = InferenceEngine::Load(*SignArtifact(body_, key_), key_.verify_key(), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("op 0"), absl::string_view::npos) << status;
}

TEST_F(EngineTest, Fp32ArtifactIsInvalid) {
  body_.mutable_header()->set_dtype(proto::DTYPE_FLOAT32);
  EXPECT_EQ(LoadCode(*SignArtifact(body_, key_)), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, LoadBodySkipsOnlyTheSignature) {
  auto signed_engine = *InferenceEngine::Load(bytes_, key_.verify_key(), {});
  absl::StatusOr<std::unique_ptr<InferenceEngine>> body_engine = InferenceEngine::LoadBody(body_, {});
  ASSERT_TRUE(body_engine.ok()) << body_engine.status();
  const std::vector<int8_t> input(28 * 28, 3);
  std::vector<int8_t> a(10), b(10);
  ASSERT_TRUE(signed_engine->RunQuantized(input, absl::MakeSpan(a)).ok());
  ASSERT_TRUE((*body_engine)->RunQuantized(input, absl::MakeSpan(b)).ok());
  EXPECT_EQ(a, b);
  // Tensor sizes are still checked, as OpenArtifact does for Load.
  body_.mutable_tensors(0)->mutable_data()->pop_back();
  EXPECT_EQ(InferenceEngine::LoadBody(body_, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, ArgumentChecks) {
  auto engine = *InferenceEngine::Load(bytes_, key_.verify_key(), {});
  std::vector<float> input(28 * 28, 0.1f);
  std::vector<float> probs(10);
  int label = -1;
  EXPECT_EQ(engine->Classify(absl::MakeSpan(input).subspan(1), absl::MakeSpan(probs), &label).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Classify(input, absl::MakeSpan(probs).subspan(1), &label).code(),
            absl::StatusCode::kInvalidArgument);
  input[17] = std::nanf("");
  EXPECT_EQ(engine->Classify(input, absl::MakeSpan(probs), &label).code(), absl::StatusCode::kInvalidArgument);
  std::vector<int8_t> logits(9);
  EXPECT_EQ(engine->RunQuantized(std::vector<int8_t>(784), absl::MakeSpan(logits)).code(),
            absl::StatusCode::kInvalidArgument);
}

struct FloatComparison {
  int agree = 0;        // examples whose argmax matches the float model's
  double max_err = 0;   // max |dequantised int8 logit - float logit|
  double mean_err = 0;
};

// Classifies `num` examples of `inputs` with the engine and the float model.
FloatComparison CompareWithFloat(InferenceEngine& engine, const FloatModel& model, const std::vector<float>& inputs,
                                 int num) {
  FloatComparison result;
  std::vector<float> probs(10 * num);
  std::vector<int> labels(num);
  EXPECT_TRUE(engine.ClassifyBatch(inputs, absl::MakeSpan(probs), absl::MakeSpan(labels)).ok());
  const ActivationQuant out_q = engine.output_quant();
  for (int n = 0; n < num; ++n) {
    const absl::Span<const float> x = absl::MakeConstSpan(inputs).subspan(784 * n, 784);
    const std::vector<float> reference = *RunFloatModel(model, x);
    result.agree += std::max_element(reference.begin(), reference.end()) - reference.begin() == labels[n];
    std::vector<int8_t> q(784);
    std::vector<int8_t> logits(10);
    EXPECT_TRUE(engine.QuantizeInput(x, absl::MakeSpan(q)).ok());
    EXPECT_TRUE(engine.RunQuantized(q, absl::MakeSpan(logits)).ok());
    double total = 0;
    for (int c = 0; c < 10; ++c) {
      const double err = std::fabs(DequantizeValue(logits[c], out_q) - reference[c]);
      result.max_err = std::max(result.max_err, err);
      result.mean_err += err / (10.0 * num);
      total += probs[10 * n + c];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  return result;
}

// The int8 model built from float weights must classify like the float
// model on inputs it was not calibrated on. Rare inputs beyond the
// calibrated ranges saturate, so the max error is only loosely bounded.
TEST_F(EngineTest, MatchesFloatReferenceOnHeldOutInputs) {
  auto engine = *InferenceEngine::Load(bytes_, key_.verify_key(), {});
  constexpr int kExamples = 300;
  const FloatComparison r =
      CompareWithFloat(*engine, builder_->float_model(), testing::RandomNormal(784 * kExamples, 1.0f, 99), kExamples);
  const float step = engine->output_quant().scale;
  EXPECT_GE(r.agree, kExamples * 95 / 100) << "argmax agreement " << r.agree << "/" << kExamples;
  EXPECT_LE(r.mean_err, step) << "mean logit error in output steps: " << r.mean_err / step;
  EXPECT_LE(r.max_err, 25 * step) << "max logit error in output steps: " << r.max_err / step;
}

// Within the calibrated ranges every logit is within a few output steps.
TEST_F(EngineTest, MatchesFloatReferenceWithinCalibratedRange) {
  constexpr int kExamples = 100;
  const std::string bytes = *SignArtifact(*testing::BuildCalibrated(*builder_, kExamples, 77), key_);
  auto engine = *InferenceEngine::Load(bytes, key_.verify_key(), {});
  const FloatComparison r =
      CompareWithFloat(*engine, builder_->float_model(), testing::RandomNormal(784 * kExamples, 1.0f, 77), kExamples);
  const float step = engine->output_quant().scale;
  EXPECT_GE(r.agree, kExamples * 95 / 100);
  EXPECT_LE(r.max_err, 4 * step) << "max logit error in output steps: " << r.max_err / step;
  EXPECT_LE(r.mean_err, step);
}

TEST_F(EngineTest, BatchEqualsSingleAndReferenceKernels) {
  auto fast = *InferenceEngine::Load(bytes_, key_.verify_key(), EngineOptions{KernelSet::kOptimized, {}});
  auto slow = *InferenceEngine::Load(bytes_, key_.verify_key(), EngineOptions{KernelSet::kReference, {}});
  const std::vector<float> inputs = testing::RandomNormal(784 * 4, 1.0f, 5);
  std::vector<float> batch_probs(40);
  std::vector<int> batch_labels(4);
  ASSERT_TRUE(fast->ClassifyBatch(inputs, absl::MakeSpan(batch_probs), absl::MakeSpan(batch_labels)).ok());
  for (int n = 0; n < 4; ++n) {
    std::vector<float> probs(10);
    int label = -1;
    ASSERT_TRUE(slow->Classify(absl::MakeConstSpan(inputs).subspan(784 * n, 784), absl::MakeSpan(probs), &label).ok());
    EXPECT_EQ(label, batch_labels[n]);
    for (int c = 0; c < 10; ++c) EXPECT_EQ(probs[c], batch_probs[10 * n + c]);
  }
}

}  // namespace
}  // namespace fedge
