// fedge-infer-c-fixture OUT_DIR: writes what the C API test and the RSS
// benchmark load, built with the C++ runtime so the C side can be checked
// against it:
//   key.pub.pem             the pinned Ed25519 public key
//   student_v1.fedge, student_v2.fedge   the student CNN (inference/testing),
//                           signed, versions 1 and 2
//   tampered.fedge          student_v1 with one payload byte flipped
//   input.f32               one [1, 28, 28] example (raw little-endian floats)
//   expected.txt            "<label> <p0> ... <p9>" from InferenceEngine
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "core/status.h"
#include "inference/engine.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

absl::StatusOr<std::string> SignedStudent(uint64_t version, const SigningKey& key) {
  proto::ArtifactHeader header;
  header.set_model_id("c-api");
  header.set_version(version);
  header.set_architecture("cnn_student");
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body,
                         fedge::testing::BuildCalibrated(fedge::testing::StudentCnn(7), 16, 3));
  *body.mutable_header() = header;
  body.mutable_header()->set_dtype(proto::DTYPE_INT8);
  return SignArtifact(body, key);
}

absl::Status Write(const std::string& dir) {
  const SigningKey key = fedge::testing::GenerateTestKey();
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(dir + "/key.pub.pem", key.verify_key().ToPem()));
  FEDGE_ASSIGN_OR_RETURN(std::string v1, SignedStudent(1, key));
  FEDGE_ASSIGN_OR_RETURN(std::string v2, SignedStudent(2, key));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(dir + "/student_v1.fedge", v1));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(dir + "/student_v2.fedge", v2));
  std::string tampered = v1;
  tampered[tampered.size() / 2] ^= 0x01;
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(dir + "/tampered.fedge", tampered));

  const std::vector<float> input = fedge::testing::RandomNormal(28 * 28, 1.0f, 11);
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(
      dir + "/input.f32", std::string(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float))));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<InferenceEngine> engine, InferenceEngine::Load(v1, key.verify_key(), EngineOptions{}));
  std::vector<float> probs(engine->num_classes());
  int label = -1;
  FEDGE_RETURN_IF_ERROR(engine->Classify(input, absl::MakeSpan(probs), &label));
  std::string expected = absl::StrCat(label);
  for (float p : probs) absl::StrAppend(&expected, " ", p);
  return WriteFileAtomically(dir + "/expected.txt", expected + "\n");
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fedge-infer-c-fixture OUT_DIR\n");
    return 2;
  }
  // Made here, not by the test's command line, so CTest can run this binary
  // directly (through the emulator when cross-built). A failure shows below.
  std::error_code ignored;
  std::filesystem::create_directories(argv[1], ignored);
  const absl::Status status = fedge::Write(argv[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "fedge-infer-c-fixture: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
