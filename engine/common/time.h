// Time for a legal engine: timestamps, ISO-8601 durations, exact calendar arithmetic in UTC.
//
// A Timestamp is milliseconds since the Unix epoch, UTC. Durations are ISO-8601
// (PnYnMnWnDTnHnMnS) and keep their calendar parts: "P3M" is three calendar months, not 90 days.
// German civil time and legal periods (§§187-193 BGB, §31 VwVfG) are in engine/calendar.
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

// Days since the epoch <-> civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

}  // namespace amtsweg
