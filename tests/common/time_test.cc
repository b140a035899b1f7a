#include "engine/common/time.h"

#include <gtest/gtest.h>

namespace amtsweg {
namespace {

Timestamp T(const char* s) {
  Result<Timestamp> t = ParseTimestamp(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status().ToString();
  return t.ok() ? *t : 0;
}

TEST(TimeTest, ParsesAndFormatsRfc3339) {
  EXPECT_EQ(T("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(T("2026-03-01T11:15:00.250+01:00"), T("2026-03-01T10:15:00.250Z"));
  EXPECT_EQ(FormatTimestamp(T("2026-03-01T10:15:00Z")), "2026-03-01T10:15:00Z");
  EXPECT_EQ(FormatTimestamp(T("2026-03-01T10:15:00.250Z")), "2026-03-01T10:15:00.250Z");
  EXPECT_FALSE(ParseTimestamp("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01T10:15:00").ok());
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
}

TEST(TimeTest, ParsesDurations) {
  Result<Duration> d = ParseDuration("P3M");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->months, 3);
  EXPECT_EQ(d->ToString(), "P3M");
  EXPECT_EQ(ParseDuration("P1Y2M3W4DT5H6M7S")->ToString(), "P1Y2M3W4DT5H6M7S");
  EXPECT_FALSE(ParseDuration("3M").ok());
  EXPECT_FALSE(ParseDuration("P").ok());
  EXPECT_FALSE(ParseDuration("PT").ok());
  EXPECT_FALSE(ParseDuration("P3X").ok());
  EXPECT_FALSE(ParseDuration("P1D2M").ok());
  Result<Duration> bad = ParseDuration("P2Q");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("character 3"), std::string::npos);
}

TEST(TimeTest, AddDurationClampsToMonthEnd) {
  EXPECT_EQ(AddDuration(T("2026-01-31T10:00:00Z"), *ParseDuration("P1M")),
            T("2026-02-28T10:00:00Z"));
  EXPECT_EQ(AddDuration(T("2028-01-31T10:00:00Z"), *ParseDuration("P1M")),
            T("2028-02-29T10:00:00Z"));
  EXPECT_EQ(AddDuration(T("2026-01-01T00:00:00Z"), *ParseDuration("PT36H")),
            T("2026-01-02T12:00:00Z"));
}

TEST(TimeTest, FormatsMillisecondsAndEdgesOfTheEpoch) {
  EXPECT_EQ(FormatTimestamp(T("2026-03-01T10:15:00.005Z")), "2026-03-01T10:15:00.005Z");
  EXPECT_EQ(FormatTimestamp(T("2026-12-31T23:59:59.999Z")), "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  std::string out = "at ";
  AppendTimestamp(T("2026-03-01T10:15:00Z"), &out);
  EXPECT_EQ(out, "at 2026-03-01T10:15:00Z");
}

}  // namespace
}  // namespace amtsweg
