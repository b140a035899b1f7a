#include "engine/calendar/period.h"

#include <algorithm>
#include <optional>

#include "engine/calendar/german_time.h"
#include "engine/common/time.h"

namespace amtsweg::calendar {

namespace {

// Adds whole years and months (clamping the day to the month's last day, §188 Abs. 3 BGB), then
// weeks and days.
CivilDate AddCalendar(CivilDate from, const Duration& d) {
  const int64_t month_index = static_cast<int64_t>(from.year()) * 12 + (from.month() - 1) +
                              static_cast<int64_t>(d.years) * 12 + d.months;
  int64_t year = month_index / 12;
  int month = static_cast<int>(month_index % 12) + 1;
  if (year > 9999) return *CivilDate::FromYmd(9999, 12, 31);  // beyond what a date can write
  int day = std::min(from.day(), DaysInMonth(year, month));
  CivilDate moved = *CivilDate::FromYmd(year, month, day);
  return moved.AddDays(static_cast<int64_t>(d.weeks) * 7 + d.days);
}

std::string Skipped(CivilDate day, const HolidayCalendar& cal) {
  std::optional<Holiday> h = cal.On(day);
  return day.ToString() + " " + std::string(h.has_value() ? h->name : WeekdayName(day.weekday()));
}

}  // namespace

PeriodEnd LegalPeriodEnd(Timestamp start, const Duration& d, const HolidayCalendar& cal) {
  PeriodEnd out;
  if (d.has_time_part()) {
    out.end = AddDuration(start, d);
    out.nominal_last_day = out.last_day = GermanDate(out.end);
    return out;
  }
  // §187 Abs. 1 BGB: the event's day is not counted, so adding the period to the event's German
  // date yields the last day (P1D: the next day).
  out.nominal_last_day = AddCalendar(GermanDate(start), d);
  out.last_day = out.nominal_last_day;
  while (!cal.IsWorkingDay(out.last_day) && out.last_day.year() < 9999) {
    out.skipped.push_back(Skipped(out.last_day, cal));
    out.last_day = out.last_day.AddDays(1);
  }
  out.end = GermanStartOfDay(out.last_day.AddDays(1));
  return out;
}

}  // namespace amtsweg::calendar
