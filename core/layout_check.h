// File: core/layout_check.h
//
// Says how two parameter layouts differ, for the errors that refuse a model
// of another architecture: a device handed a global model its trainer cannot
// take, a coordinator resuming a run with another model, parameters poured
// into a module of another shape. Naming the first tensor that differs
// (name and shape on both sides) tells the user which layer to fix.
//
// Thread-safety: pure functions.
#ifndef FEDGE_CORE_LAYOUT_CHECK_H_
#define FEDGE_CORE_LAYOUT_CHECK_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "core/params.h"

namespace fedge {

// "" when the layouts are equal; otherwise e.g. "tensor #0 is '0.weight'
// [6, 1, 5, 5] in the model received but '0.weight' [16, 1, 5, 5] in the
// model expected" (`got_name` / `expected_name` name the two sides), or
// that one side has no tensor #i.
std::string FirstLayoutDifference(const ParamLayout& expected, const ParamLayout& got,
                                  std::string_view expected_name = "the model expected",
                                  std::string_view got_name = "the model received");

// OK when equal, else kInvalidArgument "<context>: <FirstLayoutDifference>".
absl::Status CheckSameLayout(const ParamLayout& expected, const ParamLayout& got, std::string_view context,
                             std::string_view expected_name = "the model expected",
                             std::string_view got_name = "the model received");

}  // namespace fedge

#endif  // FEDGE_CORE_LAYOUT_CHECK_H_
