#include "engine/calendar/civil_date.h"

#include <gtest/gtest.h>

namespace amtsweg::calendar {
namespace {

CivilDate D(const char* text) {
  Result<CivilDate> d = CivilDate::Parse(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? *d : CivilDate();
}

TEST(CivilDateTest, ParsesAndFormats) {
  CivilDate d = D("2027-02-17");
  EXPECT_EQ(d.year(), 2027);
  EXPECT_EQ(d.month(), 2);
  EXPECT_EQ(d.day(), 17);
  EXPECT_EQ(d.ToString(), "2027-02-17");
  EXPECT_EQ(D("0001-01-01").ToString(), "0001-01-01");
  EXPECT_EQ(CivilDate().ToString(), "1970-01-01");
}

TEST(CivilDateTest, RejectsWhatIsNotADate) {
  for (const char* bad : {"2027-02-29", "2027-13-01", "2027-00-10", "2027-04-31", "2027-2-17",
                          "27-02-17", "2027-02-17T00:00:00Z", "", "yesterday", "2027/02/17"}) {
    Result<CivilDate> d = CivilDate::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find(bad), std::string::npos) << bad;
    }
  }
  EXPECT_TRUE(CivilDate::Parse("2028-02-29").ok());
  EXPECT_FALSE(CivilDate::FromYmd(10000, 1, 1).ok());
  EXPECT_FALSE(CivilDate::FromYmd(2027, 2, 29).ok());
  EXPECT_FALSE(CivilDate::FromYmd(2100, 2, 29).ok());  // not a leap year
  EXPECT_TRUE(CivilDate::FromYmd(2000, 2, 29).ok());   // a leap year
}

TEST(CivilDateTest, DaysSinceEpochRoundTrip) {
  EXPECT_EQ(CivilDate().days_since_epoch(), 0);
  EXPECT_EQ(D("1969-12-31").days_since_epoch(), -1);
  EXPECT_EQ(D("2000-03-01").days_since_epoch(), 11017);
  for (int64_t days = -719528; days <= 2932896; days += 997) {
    CivilDate d = CivilDate::FromDays(days);
    ASSERT_EQ(d.days_since_epoch(), days) << d.ToString();
    ASSERT_EQ(CivilDate::Parse(d.ToString()).value(), d);
  }
}

TEST(CivilDateTest, WeekdaysAndTheirGermanNames) {
  EXPECT_EQ(D("1970-01-01").weekday(), Weekday::kThursday);
  EXPECT_EQ(D("2027-02-17").weekday(), Weekday::kWednesday);
  EXPECT_EQ(D("2027-05-17").weekday(), Weekday::kMonday);
  EXPECT_EQ(D("1969-12-28").weekday(), Weekday::kSunday);
  EXPECT_TRUE(D("2027-05-15").is_weekend());
  EXPECT_FALSE(D("2027-05-14").is_weekend());
  EXPECT_EQ(WeekdayName(Weekday::kSaturday), "Samstag");
  EXPECT_EQ(WeekdayName(Weekday::kSunday), "Sonntag");
  EXPECT_EQ(WeekdayName(D("2027-05-18").weekday()), "Dienstag");
}

TEST(CivilDateTest, ComparesAndAddsDays) {
  EXPECT_LT(D("2026-12-31"), D("2027-01-01"));
  EXPECT_LT(D("2027-01-31"), D("2027-02-01"));
  EXPECT_EQ(D("2027-02-28").AddDays(1), D("2027-03-01"));
  EXPECT_EQ(D("2028-02-28").AddDays(1), D("2028-02-29"));
  EXPECT_EQ(D("2027-01-01").AddDays(-1), D("2026-12-31"));
  EXPECT_EQ(DaysInMonth(2028, 2), 29);
  EXPECT_EQ(DaysInMonth(2027, 2), 28);
  EXPECT_EQ(DaysInMonth(2027, 13), 0);
}

TEST(CivilDateTest, FromDaysClampsToWritableYears) {
  EXPECT_EQ(CivilDate::FromDays(INT64_MAX / 4).ToString(), "9999-12-31");
  EXPECT_EQ(CivilDate::FromDays(INT64_MIN / 4).ToString(), "0000-01-01");
}

}  // namespace
}  // namespace amtsweg::calendar
