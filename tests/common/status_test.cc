#include "engine/common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace amtsweg {
namespace {

TEST(StatusTest, NamesItsCodeAndAddsContext) {
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = Status::NotFound("case C-1").WithContext("loading");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: loading: case C-1");
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<std::string> good = std::string("x");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), "x");
  EXPECT_EQ(good->size(), 1u);
  Result<std::string> bad = Status::Conflict("closed");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsConflict());
}

// ctest runs the Release build (NDEBUG, no asserts): the value of an error aborts there too,
// naming the status and, through value(), the line of the caller.
TEST(ResultDeathTest, ValueOfAnErrorAbortsWithTheStatusAndTheCallersLine) {
  Result<int> r = Status::NotFound("case C-1");
  EXPECT_DEATH((void)r.value(),
               "Result::value\\(\\) called on an error at .*status_test\\.cc:[0-9]+: "
               "NotFound: case C-1");
  const Result<int>& cr = r;
  EXPECT_DEATH((void)cr.value(), "status_test\\.cc:[0-9]+: NotFound: case C-1");
  EXPECT_DEATH((void)std::move(r).value(), "status_test\\.cc:[0-9]+: NotFound: case C-1");
}

TEST(ResultDeathTest, OperatorsOnAnErrorAbortWithTheStatus) {
  Result<std::unique_ptr<int>> r = Status::IOError("disk");
  EXPECT_DEATH((void)*r, "Result::value\\(\\) called on an error: IOError: disk");
  EXPECT_DEATH((void)r->get(), "Result::value\\(\\) called on an error: IOError: disk");
}

}  // namespace
}  // namespace amtsweg
