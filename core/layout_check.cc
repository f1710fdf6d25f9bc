#include "core/layout_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace fedge {
namespace {

std::string Describe(const std::vector<TensorSpec>& tensors, size_t i, std::string_view side) {
  if (i >= tensors.size()) return absl::StrCat("absent (", tensors.size(), " tensors) in ", AsAbsl(side));
  return absl::StrCat("'", tensors[i].name, "' [", absl::StrJoin(tensors[i].shape, ", "), "] in ", AsAbsl(side));
}

}  // namespace

std::string FirstLayoutDifference(const ParamLayout& expected, const ParamLayout& got, std::string_view expected_name,
                                  std::string_view got_name) {
  if (expected == got) return "";
  const auto& want = expected.tensors();
  const auto& have = got.tensors();
  for (size_t i = 0; i < std::max(want.size(), have.size()); ++i) {
    if (i < want.size() && i < have.size() && want[i] == have[i]) continue;
    return absl::StrCat("tensor #", i, " is ", Describe(have, i, got_name), " but ", Describe(want, i, expected_name));
  }
  // Same tensors, different ids: cannot happen for layouts made by Create.
  return absl::StrCat("layout id ", got.id(), " in ", AsAbsl(got_name), " but ", expected.id(), " in ",
                      AsAbsl(expected_name));
}

absl::Status CheckSameLayout(const ParamLayout& expected, const ParamLayout& got, std::string_view context,
                             std::string_view expected_name, std::string_view got_name) {
  const std::string diff = FirstLayoutDifference(expected, got, expected_name, got_name);
  if (diff.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(context), ": ", diff));
}

}  // namespace fedge
