#include "core/signing.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

SigningKey NewKey() {
  auto key = SigningKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

TEST(SigningTest, SignatureVerifiesWithMatchingKey) {
  const SigningKey key = NewKey();
  auto sig = key.Sign("model bytes");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(key.verify_key().Verify("model bytes", *sig).ok());
  EXPECT_EQ(key.verify_key().raw().size(), 32u);
}

TEST(SigningTest, Ed25519IsDeterministic) {
  const SigningKey key = NewKey();
  EXPECT_EQ(*key.Sign("same"), *key.Sign("same"));
  EXPECT_NE(*key.Sign("same"), *key.Sign("different"));
}

TEST(SigningTest, RejectsChangedMessageSignatureOrKey) {
  const SigningKey key = NewKey();
  const std::string sig = *key.Sign("payload");
  const VerifyKey verify = key.verify_key();
  EXPECT_EQ(verify.Verify("payloaD", sig).code(), absl::StatusCode::kPermissionDenied);
  std::string bad_sig = sig;
  bad_sig[10] ^= 0x01;
  EXPECT_EQ(verify.Verify("payload", bad_sig).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(verify.Verify("payload", sig.substr(0, 63)).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(verify.Verify("payload", "").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(NewKey().verify_key().Verify("payload", sig).code(), absl::StatusCode::kPermissionDenied);
}

TEST(SigningTest, PemRoundTripKeepsBothKeys) {
  const SigningKey key = NewKey();
  const std::string private_pem = key.ToPem();
  EXPECT_TRUE(absl::StrContains(private_pem, "BEGIN PRIVATE KEY")) << private_pem;
  auto restored = SigningKey::FromPem(private_pem);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->verify_key().raw(), key.verify_key().raw());
  // Ed25519 signatures are deterministic, so equal signatures mean equal keys.
  EXPECT_EQ(*restored->Sign("m"), *key.Sign("m"));

  const std::string public_pem = key.verify_key().ToPem();
  EXPECT_TRUE(absl::StrContains(public_pem, "BEGIN PUBLIC KEY")) << public_pem;
  auto verify = VerifyKey::FromPem(public_pem);
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_EQ(verify->raw(), key.verify_key().raw());
  EXPECT_EQ(verify->KeyId(), key.verify_key().KeyId());
  EXPECT_TRUE(verify->Verify("m", *key.Sign("m")).ok());
}

TEST(SigningTest, FromPemRejectsWrongKinds) {
  const SigningKey key = NewKey();
  EXPECT_EQ(VerifyKey::FromPem("not a pem").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPem("not a pem").status().code(), absl::StatusCode::kInvalidArgument);
  // A public key is not a private key and vice versa.
  EXPECT_FALSE(SigningKey::FromPem(key.verify_key().ToPem()).ok());
  EXPECT_FALSE(VerifyKey::FromPem(key.ToPem()).ok());
}

TEST(SigningTest, RawPublicKeyRoundTrip) {
  const SigningKey key = NewKey();
  auto verify = VerifyKey::FromRaw(key.verify_key().raw());
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_TRUE(verify->Verify("m", *key.Sign("m")).ok());
  EXPECT_EQ(VerifyKey::FromRaw("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SigningTest, KeyIdIsShortHexAndDiffersBetweenKeys) {
  const std::string id = NewKey().verify_key().KeyId();
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_NE(id, NewKey().verify_key().KeyId());
}

TEST(SigningTest, MissingPemFileIsNotFound) {
  EXPECT_EQ(SigningKey::FromPemFile("/nonexistent/fedge/key.pem").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(VerifyKey::FromPemFile("/nonexistent/fedge/key.pub").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fedge
