#include "core/artifact.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

ModelParams SmallParams() {
  ModelParams params;
  params.layout = *ParamLayout::Create({{"conv.weight", {2, 1, 2}}, {"conv.bias", {2}}, {"scale", {}}});
  params.values = {0.5f, -1.25f, 3.0f, 4.0f, -0.0f, 1e-7f, 7.5f};
  return params;
}

proto::ArtifactHeader Header() {
  proto::ArtifactHeader header;
  header.set_model_id("fmnist");
  header.set_version(3);
  header.set_architecture("cnn_small");
  return header;
}

class ArtifactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<SigningKey>(*std::move(key));
  }

  std::string Signed(const proto::ArtifactBody& body) {
    auto bytes = SignArtifact(body, *key_);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }

  // Re-encodes `bytes` after applying `edit` to the SignedArtifact.
  template <typename F>
  static std::string Edited(const std::string& bytes, F edit) {
    proto::SignedArtifact signed_artifact;
    EXPECT_TRUE(signed_artifact.ParseFromString(bytes));
    edit(signed_artifact);
    return signed_artifact.SerializeAsString();
  }

  std::unique_ptr<SigningKey> key_;
};

TEST_F(ArtifactTest, RoundTripKeepsParamsAndHeader) {
  const ModelParams params = SmallParams();
  const std::string bytes = Signed(MakeFp32Body(Header(), params));
  auto body = OpenArtifact(bytes, key_->verify_key());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->header().model_id(), "fmnist");
  EXPECT_EQ(body->header().version(), 3u);
  EXPECT_EQ(body->header().dtype(), proto::DTYPE_FLOAT32);
  EXPECT_EQ(body->header().layout_id(), params.layout.id());
  auto restored = ParamsFromBody(*body);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->layout, params.layout);
  ASSERT_EQ(restored->values.size(), params.values.size());
  // Bitwise equality: -0.0 and denormal-adjacent values must survive.
  EXPECT_EQ(std::memcmp(restored->values.data(), params.values.data(), params.values.size() * sizeof(float)), 0);

  proto::SignedArtifact signed_artifact;
  ASSERT_TRUE(signed_artifact.ParseFromString(bytes));
  EXPECT_EQ(signed_artifact.key_id(), key_->verify_key().KeyId());
}

TEST_F(ArtifactTest, TamperedBodyByteIsPermissionDenied) {
  const std::string bytes = Signed(MakeFp32Body(Header(), SmallParams()));
  const std::string tampered = Edited(bytes, [](proto::SignedArtifact& a) {
    std::string& body = *a.mutable_body();
    body[body.size() - 1] ^= 0x40;  // inside the last tensor's float data
  });
  EXPECT_EQ(OpenArtifact(tampered, key_->verify_key()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ArtifactTest, TamperedSignatureIsPermissionDenied) {
  const std::string bytes = Signed(MakeFp32Body(Header(), SmallParams()));
  const std::string tampered =
      Edited(bytes, [](proto::SignedArtifact& a) { (*a.mutable_signature())[0] ^= 0x01; });
  EXPECT_EQ(OpenArtifact(tampered, key_->verify_key()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ArtifactTest, OtherKeyIsPermissionDenied) {
  const std::string bytes = Signed(MakeFp32Body(Header(), SmallParams()));
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OpenArtifact(bytes, other->verify_key()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ArtifactTest, UnsignedIsPermissionDenied) {
  const std::string bytes = Signed(MakeFp32Body(Header(), SmallParams()));
  const std::string unsigned_bytes = Edited(bytes, [](proto::SignedArtifact& a) { a.clear_signature(); });
  EXPECT_EQ(OpenArtifact(unsigned_bytes, key_->verify_key()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ArtifactTest, GarbageBytesAreInvalidArgument) {
  // 0xff.. is not a valid protobuf tag/varint sequence.
  const std::string garbage(32, '\xff');
  EXPECT_EQ(OpenArtifact(garbage, key_->verify_key()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ArtifactTest, InconsistentTensorIsInvalidArgumentEvenWhenSigned) {
  proto::ArtifactBody body = MakeFp32Body(Header(), SmallParams());
  body.mutable_tensors(0)->mutable_data()->append(4, '\0');  // one float too many
  EXPECT_EQ(ValidateArtifactBody(body).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenArtifact(Signed(body), key_->verify_key()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ArtifactTest, ValidateRejectsBadShapesDtypesAndDuplicates) {
  const proto::ArtifactBody good = MakeFp32Body(Header(), SmallParams());
  ASSERT_TRUE(ValidateArtifactBody(good).ok());

  proto::ArtifactBody zero_dim = good;
  zero_dim.mutable_tensors(1)->set_shape(0, 0);
  EXPECT_EQ(ValidateArtifactBody(zero_dim).code(), absl::StatusCode::kInvalidArgument);

  proto::ArtifactBody no_dtype = good;
  no_dtype.mutable_tensors(1)->set_dtype(proto::DTYPE_UNSPECIFIED);
  EXPECT_EQ(ValidateArtifactBody(no_dtype).code(), absl::StatusCode::kInvalidArgument);

  proto::ArtifactBody duplicate = good;
  duplicate.mutable_tensors(1)->set_name("conv.weight");
  EXPECT_EQ(ValidateArtifactBody(duplicate).code(), absl::StatusCode::kInvalidArgument);

  proto::ArtifactBody huge = good;
  huge.mutable_tensors(2)->add_shape(int64_t{1} << 31);
  huge.mutable_tensors(2)->add_shape(int64_t{1} << 31);
  EXPECT_EQ(ValidateArtifactBody(huge).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParamsFromBodyTest, RejectsNonFiniteValues) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    ModelParams params = SmallParams();
    params.values[2] = bad;
    EXPECT_EQ(ParamsFromBody(MakeFp32Body(Header(), params)).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParamsFromBodyTest, RejectsLayoutIdMismatchAndNonFp32) {
  proto::ArtifactBody body = MakeFp32Body(Header(), SmallParams());
  body.mutable_header()->set_layout_id(body.header().layout_id() + 1);
  EXPECT_EQ(ParamsFromBody(body).status().code(), absl::StatusCode::kInvalidArgument);

  proto::ArtifactBody int8 = MakeFp32Body(Header(), SmallParams());
  int8.mutable_header()->set_dtype(proto::DTYPE_INT8);
  EXPECT_EQ(ParamsFromBody(int8).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
