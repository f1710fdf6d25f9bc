#include "ctl/exit_codes.h"

#include <set>

#include "gtest/gtest.h"

namespace fedge::ctl {
namespace {

TEST(ExitCodesTest, EachClassOfFailureHasItsOwnCode) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), kExitDenied);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), kExitError);
  EXPECT_EQ(ExitCodeFor(absl::UnimplementedError("")), kExitError);
  const std::set<int> distinct = {kExitOk,       kExitError,  kExitUsage, kExitUnreachable,
                                  kExitNotFound, kExitDenied, kExitRefused};
  EXPECT_EQ(distinct.size(), 7u);
}

}  // namespace
}  // namespace fedge::ctl
