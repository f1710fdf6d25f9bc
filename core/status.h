// File: core/status.h
//
// Status helpers shared by every fedge module. Debian 12's abseil (20220623)
// predates absl/status/status_macros.h, so fedge defines the two macros it
// needs. Errors are always absl::Status / absl::StatusOr<T>; exceptions never
// cross a module's public API.
#ifndef FEDGE_CORE_STATUS_H_
#define FEDGE_CORE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FEDGE_STATUS_CONCAT_INNER_(a, b) a##b
#define FEDGE_STATUS_CONCAT_(a, b) FEDGE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define FEDGE_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::absl::Status fedge_status_ = (expr);           \
    if (!fedge_status_.ok()) return fedge_status_;   \
  } while (false)

// `FEDGE_ASSIGN_OR_RETURN(auto x, Foo());` evaluates Foo() (an
// absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into the declaration or lvalue on the left.
#define FEDGE_ASSIGN_OR_RETURN(lhs, expr) \
  FEDGE_ASSIGN_OR_RETURN_IMPL_(FEDGE_STATUS_CONCAT_(fedge_statusor_, __LINE__), lhs, expr)

#define FEDGE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FEDGE_CORE_STATUS_H_
