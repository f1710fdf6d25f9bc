// File: core/artifact.h
//
// Model artifacts: a header, named tensors and an Ed25519 signature over the
// exact serialised body (proto/fedge.proto: SignedArtifact). The global fp32
// model and the deployed int8 model both travel this way. `OpenArtifact` is
// the trust boundary: it verifies the signature against the pinned key first,
// then checks every tensor's shape against its byte length, so code after it
// can index tensors without further checks.
//
// Thread-safety: free functions, no shared state.
#ifndef FEDGE_CORE_ARTIFACT_H_
#define FEDGE_CORE_ARTIFACT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/params.h"
#include "core/signing.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Serialises `body`, signs it and returns the SignedArtifact bytes.
absl::StatusOr<std::string> SignArtifact(const proto::ArtifactBody& body, const SigningKey& key);

// Verifies and parses artifact bytes. Returns kPermissionDenied when the
// signature does not verify (tampered, unsigned or signed by another key),
// kInvalidArgument for malformed bytes or inconsistent tensors.
absl::StatusOr<proto::ArtifactBody> OpenArtifact(std::string_view bytes, const VerifyKey& key);

// Checks the structure of a body: known dtypes, positive dimensions, data
// sizes matching shapes, unique names. kInvalidArgument naming the tensor.
absl::Status ValidateArtifactBody(const proto::ArtifactBody& body);

// Builds an fp32 body from flat parameters (one tensor per layout entry).
// REQUIRES: params.Validate().ok().
proto::ArtifactBody MakeFp32Body(proto::ArtifactHeader header, const ModelParams& params);

// Extracts flat parameters from a validated fp32 body. kInvalidArgument if
// the body is not fp32, its layout id disagrees with its tensors, or a value
// is not finite.
absl::StatusOr<ModelParams> ParamsFromBody(const proto::ArtifactBody& body);

}  // namespace fedge

#endif  // FEDGE_CORE_ARTIFACT_H_
