// Legal periods (Fristen): when a period that starts with an event ends.
//
// One function for every path that needs it (the runtime's deadlines, `amtsweg period`): a legal
// rule lives once. The rules, from §31 Abs. 1 VwVfG with §§187, 188 BGB and from §31 Abs. 3
// VwVfG (and §193 BGB):
// - the day of the starting event is not counted (§187 Abs. 1 BGB); that day is the German civil
//   date of the event (an event at 23:30 UTC in summer happened on the next German day);
// - a period in days ends at the end of its last day; in weeks, on the weekday of the event;
//   in months or years, on the day with the event day's number, or on the last day of a shorter
//   month (§188 Abs. 2, 3 BGB); combined periods add years and months first, then weeks, days;
// - if that last day is a Saturday, a Sunday or a public holiday of the calendar, the period ends
//   at the end of the next working day (§31 Abs. 3 VwVfG, §193 BGB), passing over as many
//   non-working days as there are in a row;
// - the end is 24:00 German civil time of the last day, i.e. the start of the next German day.
// Periods with a time part (hours, minutes, seconds) are exact: start plus the duration, nothing
// moved. Pure and thread-safe (see german_time.h for the one-time zone load).
#pragma once

#include <string>
#include <vector>

#include "engine/calendar/civil_date.h"
#include "engine/calendar/holidays.h"
#include "engine/common/time.h"

namespace amtsweg::calendar {

struct PeriodEnd {
  // The instant the period ends (exclusive: an act at `end - 1 ms` is in time).
  Timestamp end = 0;
  // The last day by §§187, 188 BGB alone; for exact periods, the German date of `end`.
  CivilDate nominal_last_day;
  // The last day after §31 Abs. 3 VwVfG; equal to nominal_last_day when nothing moved it.
  CivilDate last_day;
  // Each day passed over, in order: "2027-05-17 Pfingstmontag", "2027-05-15 Samstag" (the
  // holiday's name where the day is a holiday, else the German weekday).
  std::vector<std::string> skipped;
};

// The end of a legal period of `d` that starts with an event at `start`, with the public holidays
// of `cal` (the calendar at the seat of the deciding authority).
PeriodEnd LegalPeriodEnd(Timestamp start, const Duration& d, const HolidayCalendar& cal);

}  // namespace amtsweg::calendar
