// The table of worked examples in docs/workflow-language.md ("Legal periods: worked examples"),
// recomputed row by row: the documentation cannot say what the code does not do.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/calendar/german_time.h"
#include "engine/calendar/period.h"
#include "tests/testing/files.h"

namespace amtsweg::calendar {
namespace {

std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream in(row.substr(1));
  std::string cell;
  while (std::getline(in, cell, '|')) {
    size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

// The first whitespace-separated word of `cell` that looks like a date or timestamp.
std::string DateIn(const std::string& cell) {
  std::stringstream in(cell);
  std::string word;
  while (in >> word) {
    if (word.size() >= 10 && word[4] == '-' && word[7] == '-') return word;
  }
  return "";
}

// "2027-05-15 Samstag, 2027-05-16 Sonntag" -> {"2027-05-15 Samstag", "2027-05-16 Sonntag"};
// "–" and remarks in brackets ("(2017 only)", "– (no holiday in BW)") are no days.
std::vector<std::string> Days(std::string cell) {
  for (size_t open; (open = cell.find(" (")) != std::string::npos;) {
    size_t close = cell.find(')', open);
    cell.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
  }
  std::vector<std::string> out;
  std::stringstream in(cell);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    if (item == "–" || item == "-") continue;
    out.push_back(item);
  }
  return out;
}

using amtsweg::testing::ReadFile;

TEST(WorkedExamplesTest, EveryRowOfTheDocumentedTable) {
  const std::string tests =
      ReadFile(std::string(AMTSWEG_SOURCE_DIR) + "/tests/calendar/period_test.cc");
  std::ifstream file(std::string(AMTSWEG_SOURCE_DIR) + "/docs/workflow-language.md");
  ASSERT_TRUE(file.good());
  std::string line;
  bool in_section = false, in_table = false;
  int rows = 0;
  while (std::getline(file, line)) {
    if (line.starts_with("#### Legal periods: worked examples")) in_section = true;
    if (!in_section) continue;
    if (line.starts_with("| start (UTC)")) {
      in_table = true;
      continue;
    }
    if (!in_table || line.starts_with("|---")) continue;
    if (!line.starts_with("|")) break;
    std::vector<std::string> c = Cells(line);
    ASSERT_EQ(c.size(), 8u) << line;
    SCOPED_TRACE(line);
    Result<Timestamp> start = ParseTimestamp(DateIn(c[0]));
    ASSERT_TRUE(start.ok()) << start.status().ToString();
    Result<Duration> period = ParseDuration(c[2].substr(0, c[2].find(' ')));
    ASSERT_TRUE(period.ok()) << period.status().ToString();
    std::vector<HolidayCalendar> calendars;
    if (c[3] == "every Land") {
      for (Land land : kAllLaender)
        calendars.emplace_back(land);
    } else {
      Result<HolidayCalendar> cal = HolidayCalendar::Parse(c[3]);
      ASSERT_TRUE(cal.ok()) << cal.status().ToString();
      calendars.push_back(*cal);
    }
    Result<Timestamp> end = ParseTimestamp(DateIn(c[6]));
    ASSERT_TRUE(end.ok()) << end.status().ToString();
    // The German date of the start, as the table says.
    EXPECT_EQ(GermanDate(*start).ToString(), DateIn(c[1]));
    for (const HolidayCalendar& cal : calendars) {
      PeriodEnd p = LegalPeriodEnd(*start, *period, cal);
      EXPECT_EQ(p.end, *end) << cal.Id() << ": " << FormatTimestamp(p.end);
      EXPECT_EQ(p.skipped, Days(c[5])) << cal.Id();
      if (!period->has_time_part()) {
        EXPECT_EQ(p.nominal_last_day.ToString(), DateIn(c[4])) << cal.Id();
      }
    }
    // The test the row names exists in period_test.cc.
    std::string test = c[7];
    test.erase(std::remove(test.begin(), test.end(), '`'), test.end());
    EXPECT_NE(tests.find("LegalPeriodEndTest, " + test + ")"), std::string::npos) << test;
    ++rows;
  }
  EXPECT_GE(rows, 20) << "the table of worked examples was not found";
}

}  // namespace
}  // namespace amtsweg::calendar
