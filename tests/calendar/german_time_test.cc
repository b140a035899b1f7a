#include "engine/calendar/german_time.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>
#include <vector>

namespace amtsweg::calendar {
namespace {

constexpr int64_t kHour = 3600000;

Timestamp T(const char* s) {
  Result<Timestamp> t = ParseTimestamp(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status().ToString();
  return t.ok() ? *t : 0;
}

CivilDate D(const char* s) {
  return CivilDate::Parse(s).value();
}

TEST(GermanTimeTest, LoadsTheZoneOnceAndAgain) {
  ASSERT_TRUE(LoadGermanTime().ok());
  ASSERT_TRUE(LoadGermanTime().ok());
}

TEST(GermanTimeTest, SummerTimeStartsOnTheLastSundayOfMarch) {
  EXPECT_EQ(GermanOffset(T("2026-03-29T00:59:59Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("2026-03-29T01:00:00Z")), 2 * kHour);
  EXPECT_EQ(GermanOffset(T("2027-03-28T00:59:59Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("2027-03-28T01:00:00Z")), 2 * kHour);
}

TEST(GermanTimeTest, SummerTimeEndsOnTheLastSundayOfOctober) {
  EXPECT_EQ(GermanOffset(T("2026-10-25T00:59:59Z")), 2 * kHour);
  EXPECT_EQ(GermanOffset(T("2026-10-25T01:00:00Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("2027-10-31T00:59:59Z")), 2 * kHour);
  EXPECT_EQ(GermanOffset(T("2027-10-31T01:00:00Z")), 1 * kHour);
}

// The rules of the past come from the tz database, not from today's EU rule: until 1995 summer
// time ended on the last Sunday of September, and there was none from 1950 to 1979.
TEST(GermanTimeTest, PastRulesComeFromTheTzDatabase) {
  EXPECT_EQ(GermanOffset(T("1995-09-24T00:59:59Z")), 2 * kHour);
  EXPECT_EQ(GermanOffset(T("1995-09-24T01:00:00Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("1995-10-15T12:00:00Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("1979-07-01T12:00:00Z")), 1 * kHour);
  EXPECT_EQ(GermanOffset(T("1980-07-01T12:00:00Z")), 2 * kHour);
}

TEST(GermanTimeTest, GermanDateIsTheCivilDayInBerlin) {
  EXPECT_EQ(GermanDate(T("2026-06-30T21:59:59Z")), D("2026-06-30"));
  EXPECT_EQ(GermanDate(T("2026-06-30T22:00:00Z")), D("2026-07-01"));
  EXPECT_EQ(GermanDate(T("2026-06-30T23:30:00Z")), D("2026-07-01"));
  EXPECT_EQ(GermanDate(T("2026-12-31T22:59:59Z")), D("2026-12-31"));
  EXPECT_EQ(GermanDate(T("2026-12-31T23:00:00Z")), D("2027-01-01"));
  EXPECT_EQ(GermanDate(T("1969-12-31T23:30:00Z")), D("1970-01-01"));
}

TEST(GermanTimeTest, StartOfDayFollowsTheOffsetOfThatDay) {
  EXPECT_EQ(GermanStartOfDay(D("2026-03-29")), T("2026-03-28T23:00:00Z"));
  EXPECT_EQ(GermanStartOfDay(D("2026-03-30")), T("2026-03-29T22:00:00Z"));
  EXPECT_EQ(GermanStartOfDay(D("2026-10-25")), T("2026-10-24T22:00:00Z"));
  EXPECT_EQ(GermanStartOfDay(D("2026-10-26")), T("2026-10-25T23:00:00Z"));
  // The days of the change have 23 and 25 hours.
  EXPECT_EQ(GermanStartOfDay(D("2026-03-30")) - GermanStartOfDay(D("2026-03-29")), 23 * kHour);
  EXPECT_EQ(GermanStartOfDay(D("2026-10-26")) - GermanStartOfDay(D("2026-10-25")), 25 * kHour);
  for (int64_t day = DaysFromCivil(2020, 1, 1); day < DaysFromCivil(2031, 1, 1); ++day) {
    CivilDate d = CivilDate::FromDays(day);
    ASSERT_EQ(GermanDate(GermanStartOfDay(d)), d) << d.ToString();
    ASSERT_EQ(GermanDate(GermanStartOfDay(d) - 1), d.AddDays(-1)) << d.ToString();
  }
}

TEST(GermanTimeTest, FormatsWithTheOffset) {
  EXPECT_EQ(FormatGermanTime(T("2027-05-18T22:00:00Z")), "2027-05-19T00:00:00+02:00");
  EXPECT_EQ(FormatGermanTime(T("2027-02-17T09:00:00Z")), "2027-02-17T10:00:00+01:00");
  EXPECT_EQ(FormatGermanTime(T("2027-02-17T09:00:00.250Z")), "2027-02-17T10:00:00.250+01:00");
}

TEST(GermanTimeTest, TextForReaders) {
  EXPECT_EQ(GermanDateTimeText(T("2026-10-12T12:05:09Z")), "12.10.2026, 14:05 Uhr");  // CEST
  EXPECT_EQ(GermanDateTimeText(T("2026-10-12T12:05:09Z"), true), "12.10.2026, 14:05:09 Uhr");
  EXPECT_EQ(GermanDateTimeText(T("2026-12-31T23:30:00Z")), "01.01.2027, 00:30 Uhr");  // CET
  EXPECT_EQ(GermanDateText(*CivilDate::FromYmd(2026, 10, 12)), "12.10.2026 (Montag)");
  // A period that ends at the end of 12 October: stored as the first instant of the 13th.
  ASSERT_TRUE(LegalDayEndingAt(T("2026-10-12T22:00:00Z")).has_value());
  EXPECT_EQ(LegalDayEndingAt(T("2026-10-12T22:00:00Z"))->ToString(), "2026-10-12");
  EXPECT_EQ(LegalDayEndingAt(T("2027-02-17T23:00:00Z"))->ToString(), "2027-02-17");  // CET
  // The day after the change back to CET (25 October 2026 has 25 hours).
  EXPECT_EQ(LegalDayEndingAt(T("2026-10-25T23:00:00Z"))->ToString(), "2026-10-25");
  EXPECT_FALSE(LegalDayEndingAt(T("2026-10-12T21:00:00Z")).has_value());  // 23:00 CEST
  EXPECT_FALSE(LegalDayEndingAt(T("2026-10-12T22:00:00.001Z")).has_value());
}

TEST(GermanTimeTest, IsSafeToUseFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int64_t> sums(4, 0);
  for (size_t i = 0; i < sums.size(); ++i) {
    threads.emplace_back([&sums, i] {
      for (int64_t t = T("2026-01-01T00:00:00Z"); t < T("2027-01-01T00:00:00Z"); t += 3 * kHour)
        sums[i] += GermanOffset(t) + GermanDate(t).day();
    });
  }
  for (std::thread& t : threads)
    t.join();
  for (int64_t s : sums)
    EXPECT_EQ(s, sums[0]);
}

// Each of these runs in a fresh process (death test, "threadsafe" style: the binary re-executes
// itself), where the zone has not been loaded yet, with a tz directory that does not exist.
TEST(GermanTimeDeathTest, LoadFailsWithAClearErrorWithoutTzdata) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("TZDIR", "/nonexistent/zoneinfo", 1);
        Status s = LoadGermanTime();
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        std::exit(s.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0),
      "Unavailable: .*Europe/Berlin.*/nonexistent/zoneinfo.*install tzdata");
}

TEST(GermanTimeDeathTest, UseWithoutTzdataAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        setenv("TZDIR", "/nonexistent/zoneinfo", 1);
        (void)GermanDate(0);
      },
      "fatal: .*Europe/Berlin.*install tzdata");
}

}  // namespace
}  // namespace amtsweg::calendar
