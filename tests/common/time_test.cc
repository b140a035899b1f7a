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

TEST(TimeTest, DeadlineEndFollowsBgb188) {
  // Complete on Thursday 15 January 2026: three months end at the end of Wednesday 15 April
  // (CEST, UTC+2), i.e. 2026-04-15T22:00:00Z.
  EXPECT_EQ(DeadlineEnd(T("2026-01-15T09:30:00Z"), *ParseDuration("P3M")),
            T("2026-04-15T22:00:00Z"));
  // 30 November + 3 months: 28 February 2027 is a Sunday -> Monday 1 March, end of day CET.
  EXPECT_EQ(DeadlineEnd(T("2026-11-30T12:00:00Z"), *ParseDuration("P3M")),
            T("2027-03-01T23:00:00Z"));
  // An event late in the evening, German time, counts on its German date.
  EXPECT_EQ(DeadlineEnd(T("2026-06-30T23:30:00Z"), *ParseDuration("P2M")),
            T("2026-09-01T22:00:00Z"));
  // Time parts are exact.
  EXPECT_EQ(DeadlineEnd(T("2026-06-30T10:00:00Z"), *ParseDuration("PT1H")),
            T("2026-06-30T11:00:00Z"));
}

TEST(TimeTest, BerlinOffsetSwitchesOnLastSundays) {
  EXPECT_EQ(BerlinOffset(T("2026-03-29T00:59:59Z")), 3600000);
  EXPECT_EQ(BerlinOffset(T("2026-03-29T01:00:00Z")), 7200000);
  EXPECT_EQ(BerlinOffset(T("2026-10-25T00:59:59Z")), 7200000);
  EXPECT_EQ(BerlinOffset(T("2026-10-25T01:00:00Z")), 3600000);
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
