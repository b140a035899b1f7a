#include "engine/calendar/civil_date.h"

#include "engine/common/time.h"

namespace amtsweg::calendar {

namespace {

constexpr int64_t kMinYear = 0;
constexpr int64_t kMaxYear = 9999;

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

std::string_view WeekdayName(Weekday w) {
  switch (w) {
    case Weekday::kMonday:
      return "Montag";
    case Weekday::kTuesday:
      return "Dienstag";
    case Weekday::kWednesday:
      return "Mittwoch";
    case Weekday::kThursday:
      return "Donnerstag";
    case Weekday::kFriday:
      return "Freitag";
    case Weekday::kSaturday:
      return "Samstag";
    case Weekday::kSunday:
      return "Sonntag";
  }
  return "";
}

Result<CivilDate> CivilDate::FromYmd(int64_t year, int month, int day) {
  if (year < kMinYear || year > kMaxYear)
    return Status::InvalidArgument("year " + std::to_string(year) + " is outside 0000..9999");
  if (month < 1 || month > 12)
    return Status::InvalidArgument("month " + std::to_string(month) + " is outside 1..12");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Status::InvalidArgument("day " + std::to_string(day) + " does not exist in " +
                                   std::to_string(year) + "-" + (month < 10 ? "0" : "") +
                                   std::to_string(month));
  }
  return CivilDate(static_cast<int16_t>(year), static_cast<uint8_t>(month),
                   static_cast<uint8_t>(day));
}

CivilDate CivilDate::FromDays(int64_t days) {
  static const int64_t kFirst = DaysFromCivil(kMinYear, 1, 1);
  static const int64_t kLast = DaysFromCivil(kMaxYear, 12, 31);
  if (days < kFirst) days = kFirst;
  if (days > kLast) days = kLast;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  return CivilDate(static_cast<int16_t>(y), static_cast<uint8_t>(m), static_cast<uint8_t>(d));
}

Result<CivilDate> CivilDate::Parse(std::string_view text) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("invalid date \"" + std::string(text) + "\": " + what);
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad("expected YYYY-MM-DD");
  int fields[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (size_t i = starts[f]; i < starts[f] + lengths[f]; ++i) {
      if (text[i] < '0' || text[i] > '9') return bad("expected YYYY-MM-DD");
      fields[f] = fields[f] * 10 + (text[i] - '0');
    }
  }
  Result<CivilDate> date = FromYmd(fields[0], fields[1], fields[2]);
  if (!date.ok()) return bad(date.status().message());
  return date;
}

int64_t CivilDate::days_since_epoch() const {
  return DaysFromCivil(year_, month_, day_);
}

Weekday CivilDate::weekday() const {
  // 1970-01-01 was a Thursday (ISO 4).
  int64_t w = (days_since_epoch() + 3) % 7;
  if (w < 0) w += 7;
  return static_cast<Weekday>(w + 1);
}

std::string CivilDate::ToString() const {
  std::string out(10, '0');
  auto put = [&out](size_t pos, size_t width, int v) {
    for (size_t i = 0; i < width; ++i) {
      out[pos + width - 1 - i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, 4, year_);
  out[4] = '-';
  put(5, 2, month_);
  out[7] = '-';
  put(8, 2, day_);
  return out;
}

}  // namespace amtsweg::calendar
