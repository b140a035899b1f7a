// End to end: `amtsweg holidays` and `amtsweg period` as an administrator or a legal reviewer
// runs them, including their errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/common/value.h"
#include "tests/testing/binary.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;

using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;

Output Amtsweg(const std::string& args, const std::string& env = "") {
  return amtsweg::testing::RunAmtsweg(args, env);
}

TEST(CalendarCliTest, HolidaysAsJsonLines) {
  Output o = Amtsweg("holidays --land SH --year 2027 --json");
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Value> hs = JsonLines(o.out);
  ASSERT_EQ(hs.size(), 10u) << o.out;
  EXPECT_EQ(hs[0]["calendar"].as_string(), "DE-SH");
  EXPECT_EQ(hs[0]["date"].as_string(), "2027-01-01");
  EXPECT_EQ(hs[0]["id"].as_string(), "neujahr");
  EXPECT_EQ(hs[0]["name"].as_string(), "Neujahr");
  EXPECT_EQ(hs[0]["weekday"].as_string(), "Freitag");
  EXPECT_NE(hs[0]["source"].as_string().find("SFTG"), std::string::npos);
  EXPECT_EQ(hs[5]["id"].as_string(), "pfingstmontag");
  EXPECT_EQ(hs[5]["date"].as_string(), "2027-05-17");
  EXPECT_EQ(hs[7]["id"].as_string(), "reformationstag");
}

TEST(CalendarCliTest, HolidaysOfARangeWithLocalHolidays) {
  Output o = Amtsweg(
      "holidays --land DE-BY --local mariae_himmelfahrt --local augsburger_friedensfest "
      "--year 2026 --to-year 2028 --json");
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Value> hs = JsonLines(o.out);
  EXPECT_EQ(hs.size(), 3 * 14u);
  EXPECT_EQ(hs[0]["calendar"].as_string(), "DE-BY+augsburger_friedensfest+mariae_himmelfahrt");
  EXPECT_EQ(hs.back()["date"].as_string(), "2028-12-26");
}

TEST(CalendarCliTest, HolidaysAsATable) {
  Output o = Amtsweg("holidays --land Berlin --year 2028");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("Public holidays of DE-BE (Berlin), 2028"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("DATE"), std::string::npos);
  EXPECT_NE(o.out.find("2028-06-17  Samstag"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("11 holiday(s)"), std::string::npos) << o.out;
}

TEST(CalendarCliTest, PeriodAsJson) {
  Output o = Amtsweg("period --start 2027-02-17T10:00:00+01:00 --duration P3M --land SH --json");
  ASSERT_EQ(o.code, 0) << o.err;
  Result<Value> v = Value::ParseJson(o.out);
  ASSERT_TRUE(v.ok()) << o.out;
  EXPECT_EQ((*v)["calendar"].as_string(), "DE-SH");
  EXPECT_EQ((*v)["start"].as_string(), "2027-02-17T09:00:00Z");
  EXPECT_EQ((*v)["start_german"].as_string(), "2027-02-17T10:00:00+01:00");
  EXPECT_EQ((*v)["start_german_date"].as_string(), "2027-02-17");
  EXPECT_EQ((*v)["duration"].as_string(), "P3M");
  EXPECT_FALSE((*v)["exact"].as_bool());
  EXPECT_EQ((*v)["nominal_last_day"].as_string(), "2027-05-17");
  ASSERT_EQ((*v)["skipped"].size(), 1u);
  EXPECT_EQ((*v)["skipped"].items()[0].as_string(), "2027-05-17 Pfingstmontag");
  EXPECT_EQ((*v)["last_day"].as_string(), "2027-05-18");
  EXPECT_EQ((*v)["end"].as_string(), "2027-05-18T22:00:00Z");
  EXPECT_EQ((*v)["end_german"].as_string(), "2027-05-19T00:00:00+02:00");
}

TEST(CalendarCliTest, PeriodAsText) {
  Output o = Amtsweg("period --start 2027-11-25T12:00:00Z --duration P1M --land 01");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("nominal last day  2027-12-25 (Samstag)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("passed over       2027-12-25 1. Weihnachtstag"), std::string::npos);
  EXPECT_NE(o.out.find("                  2027-12-26 2. Weihnachtstag"), std::string::npos);
  EXPECT_NE(o.out.find("last day          2027-12-27 (Montag)"), std::string::npos);
  EXPECT_NE(o.out.find("end               2027-12-27T23:00:00Z = 2027-12-28T00:00:00+01:00 "
                       "(24:00 German time on 2027-12-27)"),
            std::string::npos)
      << o.out;
}

TEST(CalendarCliTest, BadArgumentsNameTheOption) {
  struct Case {
    const char* args;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"holidays --land XX --year 2027", "amtsweg holidays: --land: unknown Land \"XX\""},
           {"holidays --land SH --local ostern --year 2027", "--local: unknown local holiday"},
           {"holidays --land BW --local fronleichnam --year 2027",
            "--local: fronleichnam is a public holiday in all of Baden-Württemberg"},
           {"holidays --land SH --year 1980", "--year: 1980 is outside 1991..9999"},
           {"holidays --land SH --year 2027 --to-year 2026", "--to-year: 2026 is outside"},
           {"period --start yesterday --duration P3M --land SH", "amtsweg period: --start:"},
           {"period --start 2027-02-17T10:00:00Z --duration 3M --land SH", "--duration:"},
           {"period --start 2027-02-17T10:00:00Z --duration P0D --land SH",
            "--duration: a period must not be zero"},
           {"period --start 2027-02-17T10:00:00Z --duration P3M --land Bavaria", "--land:"},
       }) {
    Output o = Amtsweg(c.args);
    EXPECT_EQ(o.code, 2) << c.args << "\n" << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << c.args << "\n" << o.err;
  }
  Output missing = Amtsweg("period --duration P3M --land SH");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--start"), std::string::npos) << missing.err;
}

TEST(CalendarCliTest, WithoutTzdataEveryCommandStopsCleanly) {
  Output o = Amtsweg("holidays --land SH --year 2027", "TZDIR=/nonexistent/zoneinfo");
  EXPECT_EQ(o.code, 3);
  EXPECT_NE(o.err.find("Europe/Berlin"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("install tzdata"), std::string::npos) << o.err;
  EXPECT_EQ(o.out, "");
  o = Amtsweg("validate " + std::string(AMTSWEG_SOURCE_DIR) + "/workflows/gewerbeanmeldung.yaml",
              "TZDIR=/nonexistent/zoneinfo");
  EXPECT_EQ(o.code, 3) << o.err;
}

}  // namespace
}  // namespace amtsweg
