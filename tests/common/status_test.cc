#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace recorder {
namespace {

Status FailsWith(StatusCode code) { return {code, "because"}; }

Status PropagatesFirstError() {
  RETURN_IF_ERROR(Status::Ok());
  RETURN_IF_ERROR(FailsWith(StatusCode::kConflict));
  return Internal("not reached");
}

TEST(StatusTest, DefaultIsOk) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = InvalidArgument("frame is 320x240, expected 640x480");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "InvalidArgument: frame is 320x240, expected 640x480");
}

TEST(StatusTest, ReturnIfErrorStopsAtFirstError) { EXPECT_EQ(PropagatesFirstError().code(), StatusCode::kConflict); }

TEST(ResultTest, HoldsValueOrStatus) {
  Result<std::unique_ptr<int>> good(std::make_unique<int>(7));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(**good, 7);
  Result<int> bad(NotFound("no such upload"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace recorder
