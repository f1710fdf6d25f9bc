// artifact_fuzzer: the signed model artifact boundary (core/artifact.h
// OpenArtifact, ParamsFromBody; core/signing.h VerifyKey::Verify), as a
// device opens a downloaded global model.
//
// Input (fuzz/fuzz_input.h):
//   U8  mode   even: the rest is SignedArtifact bytes, verified as they are
//              (the signature path: forgeries, truncation, key ids);
//              odd: the rest is an ArtifactBody, which the harness signs
//              with the fuzzing key (fuzz/fuzz_key.h) first, so mutations
//              reach the body parser and validator behind the signature.
//   ... rest
//
// Invariants beyond "no crash, no sanitizer report":
//   - errors are kPermissionDenied or kInvalidArgument only;
//   - an opened artifact's signature is exactly the one the key makes for
//     its body (Ed25519 is deterministic: no malleable signature accepted);
//   - an opened body passes ValidateArtifactBody;
//   - fp32 parameters read from it are finite, valid, and round-trip:
//     MakeFp32Body + SignArtifact + OpenArtifact + ParamsFromBody gives the
//     same layout and bit-identical values.
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_key.h"
#include "proto/fedge.pb.h"

namespace fedge::fuzz {
namespace {

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void CheckFp32RoundTrip(const proto::ArtifactBody& body) {
  absl::StatusOr<ModelParams> params = ParamsFromBody(body);
  if (!params.ok()) {
    FEDGE_FUZZ_CHECK(params.status().code() == absl::StatusCode::kInvalidArgument, params.status().ToString());
    return;
  }
  FEDGE_FUZZ_CHECK(params->Validate().ok(), params->Validate().ToString());
  for (float v : params->values) FEDGE_FUZZ_CHECK(std::isfinite(v), "ParamsFromBody returned a non-finite value");

  const proto::ArtifactBody rebuilt = MakeFp32Body(body.header(), *params);
  absl::StatusOr<std::string> signed_bytes = SignArtifact(rebuilt, FuzzSigningKey());
  FEDGE_FUZZ_CHECK(signed_bytes.ok(), signed_bytes.status().ToString());
  absl::StatusOr<proto::ArtifactBody> reopened = OpenArtifact(*signed_bytes, FuzzVerifyKey());
  FEDGE_FUZZ_CHECK(reopened.ok(), absl::StrCat("a re-signed model does not open: ", reopened.status().ToString()));
  absl::StatusOr<ModelParams> again = ParamsFromBody(*reopened);
  FEDGE_FUZZ_CHECK(again.ok(), again.status().ToString());
  FEDGE_FUZZ_CHECK(again->layout.id() == params->layout.id(), "layout id changed in the round trip");
  FEDGE_FUZZ_CHECK(SameBits(again->values, params->values), "values changed in the round trip");
}

void FuzzOne(FuzzInput& in) {
  const bool sign_body = (in.U8() & 1) != 0;
  std::string bytes(in.Rest());
  if (sign_body) {
    proto::SignedArtifact signed_artifact;
    signed_artifact.set_body(bytes);
    absl::StatusOr<std::string> signature = FuzzSigningKey().Sign(bytes);
    FEDGE_FUZZ_CHECK(signature.ok(), signature.status().ToString());
    signed_artifact.set_signature(*signature);
    bytes = signed_artifact.SerializeAsString();
  }
  absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(bytes, FuzzVerifyKey());
  if (!body.ok()) {
    const absl::StatusCode code = body.status().code();
    FEDGE_FUZZ_CHECK(code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kInvalidArgument,
                     body.status().ToString());
    return;
  }
  proto::SignedArtifact outer;
  FEDGE_FUZZ_CHECK(outer.ParseFromString(bytes), "an opened artifact does not parse as SignedArtifact");
  absl::StatusOr<std::string> expected = FuzzSigningKey().Sign(outer.body());
  FEDGE_FUZZ_CHECK(expected.ok() && *expected == outer.signature(),
                   "accepted a signature the key would not have made (malleable signature)");
  FEDGE_FUZZ_CHECK(ValidateArtifactBody(*body).ok(), "an opened body fails ValidateArtifactBody");
  if (body->header().dtype() == proto::DTYPE_FLOAT32) CheckFp32RoundTrip(*body);
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  fedge::fuzz::FuzzOne(in);
  return 0;
}
