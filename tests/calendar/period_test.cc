#include "engine/calendar/period.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "engine/calendar/german_time.h"
#include "tests/testing/seed.h"

namespace amtsweg::calendar {
namespace {

using enum Land;

Timestamp T(const char* s) {
  Result<Timestamp> t = ParseTimestamp(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status().ToString();
  return t.ok() ? *t : 0;
}

CivilDate D(const char* s) {
  return CivilDate::Parse(s).value();
}

Duration P(const char* s) {
  return ParseDuration(s).value();
}

PeriodEnd End(const char* start, const char* duration, Land land = kSH,
              std::vector<LocalHoliday> local = {}) {
  return LegalPeriodEnd(T(start), P(duration), HolidayCalendar::Make(land, local).value());
}

using Skipped = std::vector<std::string>;

// ---- Worked examples (docs/legal-calendar.md names each of these tests) ----

// The domain example: documents complete on Wednesday 2027-02-17; three months end on Monday
// 2027-05-17, Whit Monday in every Land, so the period ends at the end of Tuesday 2027-05-18.
TEST(LegalPeriodEndTest, WorkedExampleWhitMonday2027InEveryLand) {
  for (Land land : kAllLaender) {
    PeriodEnd p = End("2027-02-17T10:00:00+01:00", "P3M", land);
    EXPECT_EQ(p.nominal_last_day, D("2027-05-17")) << LandCode(land);
    EXPECT_EQ(p.last_day, D("2027-05-18")) << LandCode(land);
    EXPECT_EQ(p.skipped, Skipped{"2027-05-17 Pfingstmontag"}) << LandCode(land);
    EXPECT_EQ(p.end, T("2027-05-18T22:00:00Z")) << LandCode(land);
  }
}

// §188 Abs. 3 BGB: a month from 31 January ends on the last day of February.
TEST(LegalPeriodEndTest, WorkedExampleEndOfFebruary) {
  PeriodEnd p = End("2029-01-31T10:00:00Z", "P1M");
  EXPECT_EQ(p.nominal_last_day, D("2029-02-28"));
  EXPECT_EQ(p.last_day, D("2029-02-28"));
  EXPECT_TRUE(p.skipped.empty());
  EXPECT_EQ(p.end, T("2029-02-28T23:00:00Z"));
  p = End("2028-01-31T10:00:00Z", "P1M");  // a leap year
  EXPECT_EQ(p.last_day, D("2028-02-29"));
  EXPECT_EQ(p.end, T("2028-02-29T23:00:00Z"));
  p = End("2026-01-31T10:00:00Z", "P1M");  // 28 February 2026 is a Saturday
  EXPECT_EQ(p.nominal_last_day, D("2026-02-28"));
  EXPECT_EQ(p.skipped, (Skipped{"2026-02-28 Samstag", "2026-03-01 Sonntag"}));
  EXPECT_EQ(p.last_day, D("2026-03-02"));
  EXPECT_EQ(p.end, T("2026-03-02T23:00:00Z"));
}

// §187 Abs. 1 BGB on German days: 23:30 UTC on 30 June is 01:30 on 1 July in Berlin.
TEST(LegalPeriodEndTest, WorkedExampleLateEventCountsOnItsGermanDate) {
  PeriodEnd p = End("2026-06-30T23:30:00Z", "P1D");
  EXPECT_EQ(p.nominal_last_day, D("2026-07-02"));
  EXPECT_EQ(p.end, T("2026-07-02T22:00:00Z"));
  p = End("2026-06-30T21:30:00Z", "P1D");  // 23:30 German time: still 30 June
  EXPECT_EQ(p.nominal_last_day, D("2026-07-01"));
  EXPECT_EQ(p.end, T("2026-07-01T22:00:00Z"));
  p = End("2026-06-30T23:30:00Z", "P2M");
  EXPECT_EQ(p.last_day, D("2026-09-01"));
  EXPECT_EQ(p.end, T("2026-09-01T22:00:00Z"));
}

// §188 Abs. 2 BGB: weeks end on the weekday of the event.
TEST(LegalPeriodEndTest, WorkedExampleTwoWeeksFromAWednesday) {
  PeriodEnd p = End("2026-09-02T08:00:00Z", "P2W");
  EXPECT_EQ(p.last_day, D("2026-09-16"));
  EXPECT_EQ(p.last_day.weekday(), Weekday::kWednesday);
  EXPECT_EQ(p.end, T("2026-09-16T22:00:00Z"));
}

TEST(LegalPeriodEndTest, WorkedExampleOneDay) {
  PeriodEnd p = End("2026-01-15T09:30:00Z", "P1D");  // Thursday -> end of Friday
  EXPECT_EQ(p.last_day, D("2026-01-16"));
  EXPECT_EQ(p.end, T("2026-01-16T23:00:00Z"));
  p = End("2026-01-16T09:30:00Z", "P1D");  // Friday -> Saturday -> Monday
  EXPECT_EQ(p.skipped, (Skipped{"2026-01-17 Samstag", "2026-01-18 Sonntag"}));
  EXPECT_EQ(p.last_day, D("2026-01-19"));
  EXPECT_EQ(p.end, T("2026-01-19T23:00:00Z"));
}

// A period ending on the Saturday before Easter Monday runs to Tuesday; the summer time that
// started on Easter Sunday makes its end 22:00 UTC.
TEST(LegalPeriodEndTest, WorkedExampleSaturdayBeforeEasterMonday) {
  PeriodEnd p = End("2027-02-27T09:00:00Z", "P1M");
  EXPECT_EQ(p.nominal_last_day, D("2027-03-27"));
  EXPECT_EQ(p.skipped,
            (Skipped{"2027-03-27 Samstag", "2027-03-28 Sonntag", "2027-03-29 Ostermontag"}));
  EXPECT_EQ(p.last_day, D("2027-03-30"));
  EXPECT_EQ(p.end, T("2027-03-30T22:00:00Z"));
  // In Brandenburg Easter Sunday is a holiday of its own.
  p = End("2027-02-27T09:00:00Z", "P1M", kBB);
  EXPECT_EQ(p.skipped,
            (Skipped{"2027-03-27 Samstag", "2027-03-28 Ostersonntag", "2027-03-29 Ostermontag"}));
  // Ending on Good Friday: four days in a row are passed over.
  p = End("2027-02-26T09:00:00Z", "P1M");
  EXPECT_EQ(p.skipped.size(), 4u);
  EXPECT_EQ(p.skipped.front(), "2027-03-26 Karfreitag");
  EXPECT_EQ(p.last_day, D("2027-03-30"));
}

// 24 December is a working day; 25 and 26 December are not.
TEST(LegalPeriodEndTest, WorkedExampleChristmas2027) {
  PeriodEnd p = End("2027-11-24T12:00:00Z", "P1M");  // Friday 24 December
  EXPECT_EQ(p.last_day, D("2027-12-24"));
  EXPECT_TRUE(p.skipped.empty());
  EXPECT_EQ(p.end, T("2027-12-24T23:00:00Z"));
  p = End("2027-11-25T12:00:00Z", "P1M");  // Saturday 25 December
  EXPECT_EQ(p.skipped, (Skipped{"2027-12-25 1. Weihnachtstag", "2027-12-26 2. Weihnachtstag"}));
  EXPECT_EQ(p.last_day, D("2027-12-27"));
  EXPECT_EQ(p.end, T("2027-12-27T23:00:00Z"));
}

// Reformationstag 2028 is a Tuesday: a holiday in SH, a working day in BW, where the next day,
// Allerheiligen, is a holiday instead. In 2017 BW had both.
TEST(LegalPeriodEndTest, WorkedExampleReformationstagAndAllerheiligen) {
  PeriodEnd sh = End("2028-08-31T10:00:00Z", "P2M", kSH);
  EXPECT_EQ(sh.nominal_last_day, D("2028-10-31"));
  EXPECT_EQ(sh.skipped, Skipped{"2028-10-31 Reformationstag"});
  EXPECT_EQ(sh.last_day, D("2028-11-01"));
  EXPECT_EQ(sh.end, T("2028-11-01T23:00:00Z"));
  PeriodEnd bw = End("2028-08-31T10:00:00Z", "P2M", kBW);
  EXPECT_EQ(bw.last_day, D("2028-10-31"));
  EXPECT_EQ(bw.end, T("2028-10-31T23:00:00Z"));
  bw = End("2028-10-01T10:00:00Z", "P1M", kBW);
  EXPECT_EQ(bw.skipped, Skipped{"2028-11-01 Allerheiligen"});
  EXPECT_EQ(bw.last_day, D("2028-11-02"));
  bw = End("2017-08-31T10:00:00Z", "P2M", kBW);
  EXPECT_EQ(bw.skipped, (Skipped{"2017-10-31 Reformationstag", "2017-11-01 Allerheiligen"}));
  EXPECT_EQ(bw.last_day, D("2017-11-02"));
  EXPECT_EQ(bw.end, T("2017-11-02T23:00:00Z"));
}

// Saturday -> Sunday -> Whit Monday -> Tuesday.
TEST(LegalPeriodEndTest, WorkedExampleWhitWeekend) {
  PeriodEnd p = End("2027-05-01T10:00:00Z", "P2W");
  EXPECT_EQ(p.nominal_last_day, D("2027-05-15"));
  EXPECT_EQ(p.skipped,
            (Skipped{"2027-05-15 Samstag", "2027-05-16 Sonntag", "2027-05-17 Pfingstmontag"}));
  EXPECT_EQ(p.last_day, D("2027-05-18"));
  EXPECT_EQ(p.end, T("2027-05-18T22:00:00Z"));
}

// Local holidays count where they are configured: Mariä Himmelfahrt in Catholic Bavaria.
TEST(LegalPeriodEndTest, WorkedExampleMariaeHimmelfahrtInBavaria) {
  PeriodEnd plain = End("2028-07-15T10:00:00Z", "P1M", kBY);  // Tuesday 15 August 2028
  EXPECT_EQ(plain.last_day, D("2028-08-15"));
  EXPECT_EQ(plain.end, T("2028-08-15T22:00:00Z"));
  PeriodEnd local = End("2028-07-15T10:00:00Z", "P1M", kBY, {LocalHoliday::kMariaeHimmelfahrt});
  EXPECT_EQ(local.skipped, Skipped{"2028-08-15 Mariä Himmelfahrt"});
  EXPECT_EQ(local.last_day, D("2028-08-16"));
  EXPECT_EQ(local.end, T("2028-08-16T22:00:00Z"));
}

// The end is 24:00 German time of the last day, whatever the offset was at the start.
TEST(LegalPeriodEndTest, WorkedExampleAcrossTheEndOfSummerTime) {
  PeriodEnd p = End("2026-10-12T10:00:00Z", "P2W");  // CEST -> Monday 26 October, CET
  EXPECT_EQ(p.last_day, D("2026-10-26"));
  EXPECT_EQ(p.end, T("2026-10-26T23:00:00Z"));
  p = End("2026-01-15T09:30:00Z", "P3M");  // CET -> Wednesday 15 April, CEST
  EXPECT_EQ(p.last_day, D("2026-04-15"));
  EXPECT_EQ(p.end, T("2026-04-15T22:00:00Z"));
}

// ---- Other rules ----

TEST(LegalPeriodEndTest, PeriodsWithATimePartAreExact) {
  PeriodEnd p = End("2027-05-15T10:00:00Z", "PT1H");  // a Saturday: not moved
  EXPECT_EQ(p.end, T("2027-05-15T11:00:00Z"));
  EXPECT_TRUE(p.skipped.empty());
  EXPECT_EQ(p.nominal_last_day, D("2027-05-15"));
  EXPECT_EQ(p.last_day, D("2027-05-15"));
  p = End("2027-05-16T22:30:00Z", "PT30M");  // ends on German 17 May (Pfingstmontag): exact
  EXPECT_EQ(p.end, T("2027-05-16T23:00:00Z"));
  EXPECT_EQ(p.last_day, D("2027-05-17"));
  EXPECT_EQ(End("2027-05-01T10:00:00Z", "P1DT12H").end, T("2027-05-02T22:00:00Z"));
}

TEST(LegalPeriodEndTest, CombinedAndLongPeriods) {
  // Years and months first, then days: 2027-02-17 + 1 year 1 month = 2028-03-17, + 2 days.
  PeriodEnd p = End("2027-02-17T10:00:00Z", "P1Y1M2D");
  EXPECT_EQ(p.nominal_last_day, D("2028-03-19"));  // a Sunday
  EXPECT_EQ(p.last_day, D("2028-03-20"));
  // 29 February + 1 year: 28 February (§188 Abs. 3 BGB).
  EXPECT_EQ(End("2028-02-29T10:00:00Z", "P1Y").nominal_last_day, D("2029-02-28"));
}

// ---- Property test ----

// For random starts, durations and calendars: the last day is a working day, the end is German
// midnight after it, every day from the nominal last day to it is passed over and not a working
// day, and nothing ends before the nominal end.
TEST(LegalPeriodEndPropertyTest, EndsAtTheEndOfTheNextWorkingDay) {
  const uint64_t seed = amtsweg::testing::TestSeed();
  SCOPED_TRACE("AMTSWEG_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const Timestamp from = T("1995-01-01T00:00:00Z");
  const Timestamp to = T("2095-01-01T00:00:00Z");
  std::vector<HolidayCalendar> calendars;
  for (Land l : kAllLaender) {
    for (int mask = 0; mask < 8; ++mask) {
      std::vector<LocalHoliday> local;
      for (int i = 0; i < 3; ++i)
        if (mask & (1 << i)) local.push_back(static_cast<LocalHoliday>(i));
      Result<HolidayCalendar> cal = HolidayCalendar::Make(l, local);
      if (cal.ok()) calendars.push_back(*cal);
    }
  }
  for (int i = 0; i < 20000; ++i) {
    const Timestamp start = from + static_cast<Timestamp>(rng() % static_cast<uint64_t>(to - from));
    Duration d;
    switch (rng() % 5) {
      case 0:
        d.days = static_cast<int32_t>(1 + rng() % 400);
        break;
      case 1:
        d.weeks = static_cast<int32_t>(1 + rng() % 60);
        break;
      case 2:
        d.months = static_cast<int32_t>(1 + rng() % 60);
        break;
      case 3:
        d.years = static_cast<int32_t>(1 + rng() % 5);
        break;
      default:
        d.months = static_cast<int32_t>(rng() % 13);
        d.days = static_cast<int32_t>(1 + rng() % 40);
    }
    const HolidayCalendar& cal = calendars[rng() % calendars.size()];
    const PeriodEnd p = LegalPeriodEnd(start, d, cal);
    const std::string what = FormatTimestamp(start) + " + " + d.ToString() + " in " + cal.Id();
    const CivilDate first = GermanDate(start);

    ASSERT_TRUE(cal.IsWorkingDay(p.last_day)) << what;
    ASSERT_EQ(p.end, GermanStartOfDay(p.last_day.AddDays(1))) << what;
    ASSERT_GE(p.end, GermanStartOfDay(p.nominal_last_day.AddDays(1))) << what;
    ASSERT_GT(p.nominal_last_day, first) << what;
    ASSERT_LE(p.nominal_last_day, p.last_day) << what;
    ASSERT_LE(p.last_day.days_since_epoch() - p.nominal_last_day.days_since_epoch(), 4) << what;
    ASSERT_EQ(p.skipped.size(), static_cast<size_t>(p.last_day.days_since_epoch() -
                                                    p.nominal_last_day.days_since_epoch()))
        << what;
    for (CivilDate day = p.nominal_last_day; day < p.last_day; day = day.AddDays(1)) {
      ASSERT_FALSE(cal.IsWorkingDay(day)) << what << ": " << day.ToString();
      const size_t k =
          static_cast<size_t>(day.days_since_epoch() - p.nominal_last_day.days_since_epoch());
      ASSERT_EQ(p.skipped[k].substr(0, 10), day.ToString()) << what;
    }
    // The nominal last day by §§187, 188 BGB, computed another way.
    if (d.months == 0 && d.years == 0) {
      ASSERT_EQ(p.nominal_last_day, first.AddDays(d.days + 7 * d.weeks)) << what;
    } else {
      const int months = d.years * 12 + d.months;
      const int index = first.year() * 12 + first.month() - 1 + months;
      const int day = std::min(first.day(), DaysInMonth(index / 12, index % 12 + 1));
      ASSERT_EQ(p.nominal_last_day,
                CivilDate::FromYmd(index / 12, index % 12 + 1, day)->AddDays(d.days))
          << what;
    }
  }
}

}  // namespace
}  // namespace amtsweg::calendar
