// Time for a legal engine: timestamps, ISO-8601 durations and deadline arithmetic.
//
// A Timestamp is milliseconds since the Unix epoch, UTC. Durations are ISO-8601
// (PnYnMnWnDTnHnMnS) and keep their calendar parts: "P3M" is three calendar months, not 90 days.
// Deadline ends follow §§187, 188 BGB (with §31 VwVfG): the day of the starting event is not
// counted; a period in days, weeks, months or years ends at the end (24:00, German civil time)
// of its last day; in months/years that is the day with the starting day's number, or the last
// day of the month where there is none; an end on a Saturday or Sunday moves to the end of the
// next Monday (§31 Abs. 3 VwVfG; public holidays are not modelled). Periods with a time part
// (hours, minutes, seconds) are exact.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace amtsweg {

using Timestamp = int64_t;  // milliseconds since 1970-01-01T00:00:00Z

// Parses RFC 3339 ("2026-03-01T10:15:00Z", "2026-03-01T11:15:00.250+01:00").
Result<Timestamp> ParseTimestamp(std::string_view text);
// Formats as RFC 3339 in UTC with millisecond precision when non-zero: "2026-03-01T10:15:00Z".
std::string FormatTimestamp(Timestamp ts);
// Appends FormatTimestamp(ts) to `*out`.
void AppendTimestamp(Timestamp ts, std::string* out);

struct Duration {
  int32_t years = 0, months = 0, weeks = 0, days = 0;
  int64_t hours = 0, minutes = 0, seconds = 0;

  bool has_time_part() const { return hours != 0 || minutes != 0 || seconds != 0; }
  bool is_zero() const {
    return years == 0 && months == 0 && weeks == 0 && days == 0 && !has_time_part();
  }
  // Canonical ISO-8601 text, e.g. "P3M", "P1DT12H".
  std::string ToString() const;
  friend bool operator==(const Duration&, const Duration&) = default;
};

// Parses an ISO-8601 duration. The error says which character is wrong.
Result<Duration> ParseDuration(std::string_view text);

// Exact calendar addition in UTC (months clamp to the month's last day).
Timestamp AddDuration(Timestamp start, const Duration& d);

// The moment a legal period of `d` that starts with an event at `start` ends (see above).
Timestamp DeadlineEnd(Timestamp start, const Duration& d);

// Offset of German civil time (CET/CEST, EU summer-time rule) from UTC at `ts`, in ms.
int64_t BerlinOffset(Timestamp ts);

// Days since the epoch <-> civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

}  // namespace amtsweg
