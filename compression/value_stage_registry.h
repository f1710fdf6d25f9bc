// File: compression/value_stage_registry.h
//
// Value stages by name. A value stage turns (possibly top-k sparsified)
// floats into bytes: fp32, fp16, int8, int4, sign. Each registers itself, in
// its own file (compression/internal/*_stage.cc), with the name it has in a
// codec spec ("int8:256"), the grammar of its parameter, and a factory that
// validates the parameter and builds the stage's codec. ParseCodecSpec
// (codec_spec.h) looks stages up here, so adding one touches only its own
// files, its test and compression/README.md (its bit layout). The framing
// stages `topk` (first) and `zstd` (last) are the pipeline's own, not
// registered.
//
//   // my_stage.cc
//   namespace {
//   absl::StatusOr<ValueStage> MakeMine(std::optional<std::string_view> param) {
//     if (param) return absl::InvalidArgumentError("stage 'mine' takes no parameter");
//     return ValueStage{.name = "mine", .codec = std::make_shared<MyCodec>()};
//   }
//   const bool kRegistered = RegisterValueStage({.name = "mine", .grammar = "mine", .make = &MakeMine});
//   }  // namespace
//
// Linking: fedge::compression is a whole archive (fedge_cc_library
// WHOLE_ARCHIVE), so the built-in stages' static registrations are always
// linked; a stage in a test's or binary's own sources is linked anyway.
//
// Thread-safety: register only during static initialisation; afterwards the
// registry is read-only and safe to use concurrently.
#ifndef FEDGE_COMPRESSION_VALUE_STAGE_REGISTRY_H_
#define FEDGE_COMPRESSION_VALUE_STAGE_REGISTRY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "compression/codec_spec.h"

namespace fedge {

// Validates a stage's parameter (the text after ':' in the spec, nullopt
// when absent) and builds the stage. kInvalidArgument saying what is wrong
// with the parameter; ParseCodecSpec adds the spec and the grammar.
using ValueStageFactory = absl::StatusOr<ValueStage> (*)(std::optional<std::string_view> param);

struct ValueStageRegistration {
  // Stage name in a spec, e.g. "int8".
  std::string name;
  // How to write it, for error messages, e.g. "int8[:BLOCK]".
  std::string grammar;
  ValueStageFactory make = nullptr;
};

// Adds a stage. Returns true, for a namespace-scope initialiser. A duplicate
// name or a missing factory is a programming error and aborts.
bool RegisterValueStage(ValueStageRegistration registration);

// The registration named `name`, or null.
const ValueStageRegistration* FindValueStage(std::string_view name);

// Every registered stage's grammar, sorted by name.
std::vector<std::string> ValueStageGrammars();

// The block-size parameter of the blocked quantisers: the default when
// absent, else an integer in [multiple_of, kMaxBlockSize] divisible by
// `multiple_of` (so every block fills whole bytes of packed codes).
absl::StatusOr<int> ParseBlockSizeParam(std::string_view stage, std::optional<std::string_view> param,
                                        int multiple_of);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_VALUE_STAGE_REGISTRY_H_
