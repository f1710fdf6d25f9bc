// Validation of untrusted graphs: each inconsistency is refused with
// kInvalidArgument and a message naming the op and the problem.
#include "inference/graph_plan.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class GraphPlanTest : public ::testing::Test {
 protected:
  // Ops: conv+relu(0) maxpool(1) conv+relu(2) maxpool(3) flatten(4) linear(5).
  void SetUp() override { body_ = *testing::BuildCalibrated(testing::StudentCnn(1), 4, 2); }

  void ExpectRejected(const std::string& what) {
    absl::StatusOr<Int8Plan> plan = PlanInt8Graph(body_);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(plan.status().message()), HasSubstr(what));
  }
  proto::Int8Op& op(int i) { return *body_.mutable_int8_graph()->mutable_ops(i); }
  proto::TensorProto& tensor(const std::string& name) {
    for (proto::TensorProto& t : *body_.mutable_tensors()) {
      if (t.name() == name) return t;
    }
    ADD_FAILURE() << "no tensor " << name;
    return *body_.mutable_tensors(0);
  }

  proto::ArtifactBody body_;
};

TEST_F(GraphPlanTest, ValidGraphPlansShapesAndArena) {
  absl::StatusOr<Int8Plan> plan = PlanInt8Graph(body_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->ops.size(), 6u);
  EXPECT_EQ(plan->ops[0].out.size(), 8 * 24 * 24);
  EXPECT_EQ(plan->ops[3].out.size(), 256);
  EXPECT_EQ(plan->max_activation, 8 * 24 * 24);
  EXPECT_EQ(plan->num_classes, 10);
  EXPECT_EQ(plan->ops[0].act_min, plan->ops[0].out_q.zero_point);  // fused ReLU
}

TEST_F(GraphPlanTest, MissingWeightsTensor) {
  op(2).set_weights("nope");
  ExpectRejected("op 2: CONV2D: weights tensor 'nope' is missing");
}

TEST_F(GraphPlanTest, WrongBiasShape) {
  tensor("op5.bias").set_shape(0, 5);
  tensor("op5.bias").set_data(std::string(20, '\0'));
  ExpectRejected("op 5: LINEAR: bias 'op5.bias' must have shape [10]");
}

TEST_F(GraphPlanTest, WeightsDisagreeWithInputChannels) {
  tensor("op2.weight").set_shape(1, 4);
  tensor("op2.weight").set_shape(0, 32);
  ExpectRejected("op 2: CONV2D: weights 'op2.weight' expect 4 input channels, input has 8");
}

TEST_F(GraphPlanTest, WrongWeightDtype) {
  tensor("op0.weight").set_dtype(proto::DTYPE_INT32);
  ExpectRejected("op 0: CONV2D: weights tensor 'op0.weight' has dtype DTYPE_INT32");
}

TEST_F(GraphPlanTest, ZeroOutputScale) {
  op(0).mutable_output()->set_scale(0.0f);
  ExpectRejected("op 0: CONV2D: output scale 0 must be finite and > 0");
}

TEST_F(GraphPlanTest, ZeroWeightScale) {
  op(5).set_weight_scales(3, 0.0f);
  ExpectRejected("op 5: LINEAR: weight scale 3 is 0");
}

TEST_F(GraphPlanTest, WeightScaleCount) {
  op(5).mutable_weight_scales()->RemoveLast();
  ExpectRejected("op 5: LINEAR: has 9 weight scales for 10 output channels");
}

TEST_F(GraphPlanTest, ZeroPointOutOfRange) {
  body_.mutable_int8_graph()->mutable_input()->set_zero_point(200);
  ExpectRejected("input zero point 200 is outside [-128, 127]");
}

TEST_F(GraphPlanTest, MissingFlattenBreaksChain) {
  body_.mutable_int8_graph()->mutable_ops()->DeleteSubrange(4, 1);
  ExpectRejected("op 4: LINEAR: LINEAR needs a flat input");
}

TEST_F(GraphPlanTest, ConvAfterFlatten) {
  *body_.mutable_int8_graph()->add_ops() = op(0);
  ExpectRejected("op 6: CONV2D: CONV2D needs a [C, H, W] input");
}

TEST_F(GraphPlanTest, PoolingCannotRequantise) {
  op(1).mutable_output()->set_zero_point(op(1).output().zero_point() + 1);
  ExpectRejected("op 1: MAX_POOL2D: MAX_POOL2D cannot change quantisation parameters");
}

TEST_F(GraphPlanTest, BadWindow) {
  op(1).set_padding(0, 2);
  op(1).set_padding(1, 2);
  ExpectRejected("op 1: MAX_POOL2D: padding [2, 2] is outside");
  op(1).clear_padding();
  op(1).set_stride(0, 0);
  ExpectRejected("op 1: MAX_POOL2D: stride must be > 0");
  op(1).set_stride(0, 2);
  op(1).set_kernel(0, 100);
  ExpectRejected("op 1: MAX_POOL2D: kernel [100, 2] does not fit input [24, 24]");
}

TEST_F(GraphPlanTest, NumClassesMismatch) {
  body_.mutable_int8_graph()->set_num_classes(12);
  ExpectRejected("expected flat logits of num_classes = 12");
}

TEST_F(GraphPlanTest, UnknownKindAndVersion) {
  op(3).set_kind(static_cast<proto::Int8Op::Kind>(42));
  ExpectRejected("op 3: kind 42: unknown op kind 42");
  body_.mutable_int8_graph()->set_format_version(2);
  ExpectRejected("format_version 2 is not supported");
}

TEST_F(GraphPlanTest, FusedReluOnlyOnWeightedOps) {
  op(1).set_fused_relu(true);
  ExpectRejected("op 1: MAX_POOL2D: fused_relu is only allowed on CONV2D / LINEAR");
}

TEST_F(GraphPlanTest, AccumulatorHeadroom) {
  std::string bias = tensor("op5.bias").data();
  const int32_t huge = 2140000000;
  bias.replace(0, 4, reinterpret_cast<const char*>(&huge), 4);
  tensor("op5.bias").set_data(bias);
  ExpectRejected("could overflow the int32 accumulator");
}

TEST_F(GraphPlanTest, MissingGraph) {
  body_.clear_int8_graph();
  ExpectRejected("artifact has no int8_graph");
}

}  // namespace
}  // namespace fedge
