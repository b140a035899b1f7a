// CivilDate: a day of the (proleptic Gregorian) calendar, without a time zone.
//
// The legal calendar counts in days, and a day of German law is a German civil day
// (german_time.h turns timestamps into civil dates and back). A CivilDate is a small value:
// copy it freely; all functions are pure and thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace amtsweg::calendar {

// ISO 8601 weekday numbers: Monday 1 ... Sunday 7.
enum class Weekday : uint8_t {
  kMonday = 1,
  kTuesday,
  kWednesday,
  kThursday,
  kFriday,
  kSaturday,
  kSunday,
};

// The German name: "Montag" ... "Samstag", "Sonntag".
std::string_view WeekdayName(Weekday w);

class CivilDate {
 public:
  // 1970-01-01.
  constexpr CivilDate() = default;

  // A date from its fields. InvalidArgument unless 1 <= month <= 12, 1 <= day <= the month's
  // length and 0 <= year <= 9999 (the years "YYYY-MM-DD" can write).
  static Result<CivilDate> FromYmd(int64_t year, int month, int day);
  // The date `days` days after 1970-01-01 (negative: before). Years outside 0..9999 are clamped
  // into that range's first or last day.
  static CivilDate FromDays(int64_t days);
  // Parses "YYYY-MM-DD" exactly. The error names the text and what is wrong.
  static Result<CivilDate> Parse(std::string_view text);

  int year() const { return year_; }
  int month() const { return month_; }
  int day() const { return day_; }

  // Days since 1970-01-01 (negative before).
  int64_t days_since_epoch() const;
  Weekday weekday() const;
  bool is_weekend() const {
    return weekday() == Weekday::kSaturday || weekday() == Weekday::kSunday;
  }
  // This date moved by `n` days (n may be negative).
  CivilDate AddDays(int64_t n) const { return FromDays(days_since_epoch() + n); }

  // "YYYY-MM-DD".
  std::string ToString() const;

  // clang-tidy 14 takes the 0 that the defaulted <=> compares with for a null pointer (LLVM
  // issue 53961, fixed in clang-tidy 18).
  friend constexpr auto operator<=>(const CivilDate&,
                                    const CivilDate&) = default;  // NOLINT(modernize-use-nullptr)
  friend constexpr bool operator==(const CivilDate&, const CivilDate&) = default;

 private:
  constexpr CivilDate(int16_t y, uint8_t m, uint8_t d) : year_(y), month_(m), day_(d) {}

  // Member order makes the defaulted comparison chronological.
  int16_t year_ = 1970;
  uint8_t month_ = 1;
  uint8_t day_ = 1;
};

// Days of `month` in `year` (28..31); 0 when month is not 1..12.
int DaysInMonth(int64_t year, int month);

}  // namespace amtsweg::calendar
