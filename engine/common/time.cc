#include "engine/common/time.h"

#include <charconv>
#include <cstdio>

namespace amtsweg {

namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Adds whole calendar years, months and days to a civil date, clamping to the month's end.
int64_t AddCalendar(int64_t days, const Duration& d) {
  int64_t y;
  unsigned m, day;
  CivilFromDays(days, &y, &m, &day);
  int64_t month_index = y * 12 + (m - 1) + int64_t{d.years} * 12 + d.months;
  y = FloorDiv(month_index, 12);
  m = static_cast<unsigned>(month_index - y * 12) + 1;
  if (day > DaysInMonth(y, m)) day = DaysInMonth(y, m);
  return DaysFromCivil(y, m, day) + int64_t{d.weeks} * 7 + d.days;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

Result<Timestamp> ParseTimestamp(std::string_view s) {
  int year, month, day, hour, minute, second;
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("invalid RFC 3339 timestamp \"" + std::string(s) +
                                   "\": " + what);
  };
  if (!ParseDigits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !ParseDigits(s, 11, 2, &hour) ||
      s[13] != ':' || !ParseDigits(s, 14, 2, &minute) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad("field out of range");
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (int i = digits; i < 3; ++i)
      millis *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("invalid UTC offset");
    }
    offset = (oh * 60 + om) * kMsPerMinute * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing UTC offset (Z or +hh:mm)");
  }
  if (pos != s.size()) return bad("trailing characters");
  if (second == 60) second = 59;  // leap second: clamp
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * kMsPerDay + hour * kMsPerHour + minute * kMsPerMinute + second * kMsPerSecond +
         millis - offset;
}

void AppendTimestamp(Timestamp ts, std::string* out) {
  int64_t days = FloorDiv(ts, kMsPerDay);
  int64_t rem = ts - days * kMsPerDay;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    // Outside four-digit years: the general (slow) path.
    char buf[40];
    int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                          static_cast<long long>(y), m, d, static_cast<long long>(rem / kMsPerHour),
                          static_cast<long long>(rem / kMsPerMinute % 60),
                          static_cast<long long>(rem / kMsPerSecond % 60));
    out->append(buf, static_cast<size_t>(n));
  } else {
    // "YYYY-MM-DDTHH:MM:SS" by hand: snprintf was a visible share of the engine's profile.
    auto two = [](char* p, unsigned v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    char buf[19];
    auto year = static_cast<unsigned>(y);
    two(buf, year / 100);
    two(buf + 2, year % 100);
    buf[4] = '-';
    two(buf + 5, m);
    buf[7] = '-';
    two(buf + 8, d);
    buf[10] = 'T';
    two(buf + 11, static_cast<unsigned>(rem / kMsPerHour));
    buf[13] = ':';
    two(buf + 14, static_cast<unsigned>(rem / kMsPerMinute % 60));
    buf[16] = ':';
    two(buf + 17, static_cast<unsigned>(rem / kMsPerSecond % 60));
    out->append(buf, sizeof(buf));
  }
  if (int64_t ms = rem % kMsPerSecond; ms != 0) {
    char frac[4] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                    static_cast<char>('0' + ms % 10)};
    out->append(frac, sizeof(frac));
  }
  out->push_back('Z');
}

std::string FormatTimestamp(Timestamp ts) {
  std::string out;
  AppendTimestamp(ts, &out);
  return out;
}

std::string Duration::ToString() const {
  if (is_zero()) return "PT0S";
  std::string out = "P";
  auto add = [&out](int64_t v, char unit) {
    if (v != 0) {
      out += std::to_string(v);
      out += unit;
    }
  };
  add(years, 'Y');
  add(months, 'M');
  add(weeks, 'W');
  add(days, 'D');
  if (has_time_part()) {
    out += 'T';
    add(hours, 'H');
    add(minutes, 'M');
    add(seconds, 'S');
  }
  return out;
}

Result<Duration> ParseDuration(std::string_view s) {
  auto bad = [&](size_t pos, const std::string& what) {
    return Status::InvalidArgument("invalid ISO-8601 duration \"" + std::string(s) +
                                   "\" at character " + std::to_string(pos + 1) + ": " + what);
  };
  if (s.empty() || s[0] != 'P') return bad(0, "must start with 'P'");
  Duration d;
  bool in_time = false;
  bool any = false;
  char last_unit = 0;
  size_t pos = 1;
  static constexpr std::string_view kDateOrder = "YMWD";
  static constexpr std::string_view kTimeOrder = "HMS";
  while (pos < s.size()) {
    if (s[pos] == 'T') {
      if (in_time) return bad(pos, "second 'T'");
      in_time = true;
      last_unit = 0;
      ++pos;
      if (pos == s.size()) return bad(pos - 1, "'T' without a time part");
      continue;
    }
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
      ++pos;
    if (pos == start) return bad(pos, "expected a number");
    if (pos - start > 6) return bad(start, "number too large");
    if (pos == s.size()) return bad(pos - 1, "number without a unit");
    int64_t v = 0;
    std::from_chars(s.data() + start, s.data() + pos, v);
    char unit = s[pos];
    std::string_view order = in_time ? kTimeOrder : kDateOrder;
    size_t idx = order.find(unit);
    if (idx == std::string_view::npos) {
      return bad(pos, std::string("unknown unit '") + unit + "'" +
                          (in_time ? " in the time part" : " in the date part"));
    }
    if (last_unit != 0 && idx <= order.find(last_unit)) return bad(pos, "units out of order");
    last_unit = unit;
    any = true;
    if (!in_time) {
      switch (unit) {
        case 'Y':
          d.years = static_cast<int32_t>(v);
          break;
        case 'M':
          d.months = static_cast<int32_t>(v);
          break;
        case 'W':
          d.weeks = static_cast<int32_t>(v);
          break;
        default:
          d.days = static_cast<int32_t>(v);
      }
    } else {
      switch (unit) {
        case 'H':
          d.hours = v;
          break;
        case 'M':
          d.minutes = v;
          break;
        default:
          d.seconds = v;
      }
    }
    ++pos;
  }
  if (!any) return bad(0, "no duration components");
  return d;
}

Timestamp AddDuration(Timestamp start, const Duration& d) {
  int64_t days = FloorDiv(start, kMsPerDay);
  int64_t rem = start - days * kMsPerDay;
  int64_t new_days = AddCalendar(days, d);
  return new_days * kMsPerDay + rem + d.hours * kMsPerHour + d.minutes * kMsPerMinute +
         d.seconds * kMsPerSecond;
}

}  // namespace amtsweg
