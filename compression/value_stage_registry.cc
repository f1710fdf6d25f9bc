#include "compression/value_stage_registry.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {
namespace {

// Function-local so registrations from any file's static initialisers find
// it constructed.
std::map<std::string, ValueStageRegistration, std::less<>>& Registry() {
  static auto* registry = new std::map<std::string, ValueStageRegistration, std::less<>>();
  return *registry;
}

}  // namespace

bool RegisterValueStage(ValueStageRegistration registration) {
  if (registration.name.empty() || registration.make == nullptr) {
    std::fprintf(stderr, "RegisterValueStage: a value stage needs a name and a factory\n");
    std::abort();
  }
  const std::string name = registration.name;
  if (!Registry().emplace(name, std::move(registration)).second) {
    std::fprintf(stderr, "RegisterValueStage: stage \"%s\" is registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

const ValueStageRegistration* FindValueStage(std::string_view name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : &it->second;
}

std::vector<std::string> ValueStageGrammars() {
  std::vector<std::string> grammars;
  for (const auto& [name, registration] : Registry()) grammars.push_back(registration.grammar);
  return grammars;
}

absl::StatusOr<int> ParseBlockSizeParam(std::string_view stage, std::optional<std::string_view> param,
                                        int multiple_of) {
  if (!param) return kDefaultBlockSize;
  int block = 0;
  if (!absl::SimpleAtoi(AsAbsl(*param), &block) || block < multiple_of || block > kMaxBlockSize ||
      block % multiple_of != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("block size '", AsAbsl(*param), "' of stage '", AsAbsl(stage), "' must be an integer in [",
                     multiple_of, ", ", kMaxBlockSize, "]",
                     multiple_of > 1 ? absl::StrCat(" and a multiple of ", multiple_of) : ""));
  }
  return block;
}

}  // namespace fedge
