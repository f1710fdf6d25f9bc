#include "core/status.h"

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace fedge {
namespace {

absl::Status FailIf(bool fail) { return fail ? absl::NotFoundError("missing thing") : absl::OkStatus(); }

absl::StatusOr<int> IntOrError(bool fail) {
  if (fail) return absl::InvalidArgumentError("bad int");
  return 42;
}

absl::StatusOr<std::unique_ptr<std::string>> BoxOrError(bool fail) {
  if (fail) return absl::ResourceExhaustedError("no box");
  return std::make_unique<std::string>("boxed");
}

// Counts how far a function got, so the tests can see that an error really
// returned early rather than falling through.
absl::Status TwoChecks(bool fail_first, bool fail_second, int* reached) {
  *reached = 0;
  FEDGE_RETURN_IF_ERROR(FailIf(fail_first));
  *reached = 1;
  FEDGE_RETURN_IF_ERROR(FailIf(fail_second));
  *reached = 2;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkThrough) {
  int reached = -1;
  EXPECT_TRUE(TwoChecks(false, false, &reached).ok());
  EXPECT_EQ(reached, 2);
}

TEST(StatusMacrosTest, ReturnIfErrorPropagatesTheFirstError) {
  int reached = -1;
  const absl::Status s = TwoChecks(true, false, &reached);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "missing thing");
  EXPECT_EQ(reached, 0);
  EXPECT_EQ(TwoChecks(false, true, &reached).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorEvaluatesItsArgumentOnce) {
  int calls = 0;
  auto f = [&]() -> absl::Status {
    FEDGE_RETURN_IF_ERROR((++calls, absl::OkStatus()));
    return absl::OkStatus();
  };
  EXPECT_TRUE(f().ok());
  EXPECT_EQ(calls, 1);
}

absl::StatusOr<int> AddOne(bool fail) {
  FEDGE_ASSIGN_OR_RETURN(auto v, IntOrError(fail));
  return v + 1;
}

TEST(StatusMacrosTest, AssignOrReturnDeclaresWithAuto) {
  auto ok = AddOne(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 43);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesError) {
  auto err = AddOne(true);
  EXPECT_EQ(err.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(err.status().message(), "bad int");
}

absl::Status AssignToExisting(bool fail, int* out) {
  int value = -1;
  FEDGE_ASSIGN_OR_RETURN(value, IntOrError(fail));
  *out = value;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnAssignsToAnExistingLvalue) {
  int out = 0;
  ASSERT_TRUE(AssignToExisting(false, &out).ok());
  EXPECT_EQ(out, 42);
  out = 7;
  EXPECT_EQ(AssignToExisting(true, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, 7);
}

absl::StatusOr<std::string> Unbox(bool fail) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<std::string> box, BoxOrError(fail));
  return *box;
}

absl::StatusOr<size_t> UnboxTwiceWithAuto() {
  // Two uses in one function must not clash (the temporary is named per line).
  FEDGE_ASSIGN_OR_RETURN(auto a, BoxOrError(false));
  FEDGE_ASSIGN_OR_RETURN(auto b, BoxOrError(false));
  return a->size() + b->size();
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  auto ok = Unbox(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "boxed");
  EXPECT_EQ(Unbox(true).status().code(), absl::StatusCode::kResourceExhausted);
  auto twice = UnboxTwiceWithAuto();
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*twice, 10u);
}

TEST(StatusMacrosTest, AssignOrReturnWorksInStatusReturningFunction) {
  auto f = [](bool fail, std::unique_ptr<std::string>* out) -> absl::Status {
    FEDGE_ASSIGN_OR_RETURN(*out, BoxOrError(fail));
    return absl::OkStatus();
  };
  std::unique_ptr<std::string> out;
  ASSERT_TRUE(f(false, &out).ok());
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, "boxed");
  EXPECT_EQ(f(true, &out).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace fedge
