#include "core/artifact.h"

#include <cmath>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

size_t DTypeSize(proto::DType dtype) {
  switch (dtype) {
    case proto::DTYPE_FLOAT32: return 4;
    case proto::DTYPE_INT8: return 1;
    case proto::DTYPE_INT32: return 4;
    default: return 0;
  }
}

}  // namespace

absl::StatusOr<std::string> SignArtifact(const proto::ArtifactBody& body, const SigningKey& key) {
  proto::SignedArtifact signed_artifact;
  if (!body.SerializeToString(signed_artifact.mutable_body())) {
    return absl::InternalError("could not serialise artifact body");
  }
  FEDGE_ASSIGN_OR_RETURN(*signed_artifact.mutable_signature(), key.Sign(signed_artifact.body()));
  signed_artifact.set_key_id(key.verify_key().KeyId());
  return signed_artifact.SerializeAsString();
}

absl::StatusOr<proto::ArtifactBody> OpenArtifact(std::string_view bytes, const VerifyKey& key) {
  proto::SignedArtifact signed_artifact;
  if (!signed_artifact.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("artifact: not a SignedArtifact message (truncated or corrupt)");
  }
  if (signed_artifact.signature().empty()) {
    return absl::PermissionDeniedError("artifact is unsigned: refusing it");
  }
  FEDGE_RETURN_IF_ERROR(key.Verify(signed_artifact.body(), signed_artifact.signature()));
  proto::ArtifactBody body;
  if (!body.ParseFromString(signed_artifact.body())) {
    return absl::InvalidArgumentError("artifact: signed body does not parse");
  }
  FEDGE_RETURN_IF_ERROR(ValidateArtifactBody(body));
  return body;
}

absl::Status ValidateArtifactBody(const proto::ArtifactBody& body) {
  const proto::DType dtype = body.header().dtype();
  if (dtype != proto::DTYPE_FLOAT32 && dtype != proto::DTYPE_INT8) {
    return absl::InvalidArgumentError("artifact: header dtype must be FLOAT32 or INT8");
  }
  absl::flat_hash_set<std::string> names;
  for (const proto::TensorProto& t : body.tensors()) {
    if (!names.insert(t.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("artifact: duplicate tensor '", t.name(), "'"));
    }
    const size_t elem = DTypeSize(t.dtype());
    if (elem == 0) return absl::InvalidArgumentError(absl::StrCat("artifact: tensor '", t.name(), "' has no dtype"));
    uint64_t n = 1;
    for (int64_t d : t.shape()) {
      if (d <= 0 || d > (int64_t{1} << 32)) {
        return absl::InvalidArgumentError(absl::StrCat("artifact: tensor '", t.name(), "' has dimension ", d));
      }
      n *= static_cast<uint64_t>(d);
      if (n > (uint64_t{1} << 34)) {
        return absl::InvalidArgumentError(absl::StrCat("artifact: tensor '", t.name(), "' is too large"));
      }
    }
    if (t.data().size() != n * elem) {
      return absl::InvalidArgumentError(absl::StrCat("artifact: tensor '", t.name(), "' has ", t.data().size(),
                                                     " bytes, its shape needs ", n * elem));
    }
  }
  return absl::OkStatus();
}

proto::ArtifactBody MakeFp32Body(proto::ArtifactHeader header, const ModelParams& params) {
  proto::ArtifactBody body;
  header.set_dtype(proto::DTYPE_FLOAT32);
  header.set_layout_id(params.layout.id());
  *body.mutable_header() = std::move(header);
  const auto& specs = params.layout.tensors();
  for (size_t i = 0; i < specs.size(); ++i) {
    proto::TensorProto* t = body.add_tensors();
    t->set_name(specs[i].name);
    for (int64_t d : specs[i].shape) t->add_shape(d);
    t->set_dtype(proto::DTYPE_FLOAT32);
    t->set_data(reinterpret_cast<const char*>(params.values.data() + params.layout.offset(i)),
                specs[i].num_elements() * sizeof(float));
  }
  return body;
}

absl::StatusOr<ModelParams> ParamsFromBody(const proto::ArtifactBody& body) {
  if (body.header().dtype() != proto::DTYPE_FLOAT32) {
    return absl::InvalidArgumentError("artifact: expected an fp32 model");
  }
  std::vector<TensorSpec> specs;
  for (const proto::TensorProto& t : body.tensors()) {
    if (t.dtype() != proto::DTYPE_FLOAT32) {
      return absl::InvalidArgumentError(absl::StrCat("artifact: tensor '", t.name(), "' is not fp32"));
    }
    specs.push_back({t.name(), {t.shape().begin(), t.shape().end()}});
  }
  ModelParams params;
  FEDGE_ASSIGN_OR_RETURN(params.layout, ParamLayout::Create(std::move(specs)));
  if (params.layout.id() != body.header().layout_id()) {
    return absl::InvalidArgumentError("artifact: header layout id does not match its tensors");
  }
  params.values.resize(params.layout.num_elements());
  for (int i = 0; i < body.tensors_size(); ++i) {
    const std::string& data = body.tensors(i).data();
    std::memcpy(params.values.data() + params.layout.offset(i), data.data(), data.size());
  }
  for (float v : params.values) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("artifact: model contains a non-finite value");
  }
  return params;
}

}  // namespace fedge
