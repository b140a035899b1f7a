#include "engine/calendar/holidays.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace amtsweg::calendar {
namespace {

CivilDate D(const char* s) {
  return CivilDate::Parse(s).value();
}

HolidayCalendar Cal(Land land, std::vector<LocalHoliday> local = {}) {
  Result<HolidayCalendar> c = HolidayCalendar::Make(land, local);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : HolidayCalendar(land);
}

// The id of the holiday on `date` in `land`, or "" for none.
std::string IdOn(Land land, const char* date, std::vector<LocalHoliday> local = {}) {
  std::optional<Holiday> h = Cal(land, std::move(local)).On(D(date));
  return h.has_value() ? std::string(h->id) : "";
}

std::set<Land> LaenderWith(const char* date, const std::string& id) {
  std::set<Land> out;
  for (Land l : kAllLaender)
    if (IdOn(l, date) == id) out.insert(l);
  return out;
}

std::set<Land> All() {
  return {kAllLaender.begin(), kAllLaender.end()};
}

using enum Land;

TEST(EasterTest, GregorianComputus) {
  EXPECT_EQ(EasterSunday(1818), D("1818-03-22"));  // the earliest possible date
  EXPECT_EQ(EasterSunday(1943), D("1943-04-25"));  // the latest possible date
  EXPECT_EQ(EasterSunday(2000), D("2000-04-23"));
  EXPECT_EQ(EasterSunday(2008), D("2008-03-23"));
  EXPECT_EQ(EasterSunday(2011), D("2011-04-24"));
  EXPECT_EQ(EasterSunday(2019), D("2019-04-21"));
  EXPECT_EQ(EasterSunday(2024), D("2024-03-31"));
  EXPECT_EQ(EasterSunday(2025), D("2025-04-20"));
  EXPECT_EQ(EasterSunday(2026), D("2026-04-05"));
  EXPECT_EQ(EasterSunday(2027), D("2027-03-28"));
  EXPECT_EQ(EasterSunday(2038), D("2038-04-25"));
  EXPECT_EQ(EasterSunday(2100), D("2100-03-28"));
  EXPECT_EQ(EasterSunday(2285), D("2285-03-22"));
  for (int y = 1583; y <= 9999; ++y) {
    CivilDate e = EasterSunday(y);
    ASSERT_EQ(e.weekday(), Weekday::kSunday) << y;
    ASSERT_GE(e, *CivilDate::FromYmd(y, 3, 22)) << y;
    ASSERT_LE(e, *CivilDate::FromYmd(y, 4, 25)) << y;
  }
}

TEST(HolidaysTest, EasterDependentHolidays2027) {
  HolidayCalendar bb(kBB);
  EXPECT_EQ(bb.On(D("2027-03-26"))->id, "karfreitag");
  EXPECT_EQ(bb.On(D("2027-03-28"))->id, "ostersonntag");
  EXPECT_EQ(bb.On(D("2027-03-29"))->id, "ostermontag");
  EXPECT_EQ(bb.On(D("2027-05-06"))->id, "christi_himmelfahrt");
  EXPECT_EQ(bb.On(D("2027-05-16"))->id, "pfingstsonntag");
  EXPECT_EQ(bb.On(D("2027-05-17"))->name, "Pfingstmontag");
  EXPECT_EQ(IdOn(kNW, "2027-05-27"), "fronleichnam");
  EXPECT_EQ(IdOn(kSH, "2027-03-28"), "");  // Easter Sunday is a Sunday, not a holiday, in SH
}

TEST(HolidaysTest, NationwideHolidays) {
  for (const auto& [date, id] :
       std::vector<std::pair<const char*, std::string>>{{"2027-01-01", "neujahr"},
                                                        {"2027-03-26", "karfreitag"},
                                                        {"2027-03-29", "ostermontag"},
                                                        {"2027-05-01", "erster_mai"},
                                                        {"2027-05-06", "christi_himmelfahrt"},
                                                        {"2027-05-17", "pfingstmontag"},
                                                        {"2027-10-03", "tag_der_deutschen_einheit"},
                                                        {"2027-12-25", "erster_weihnachtstag"},
                                                        {"2027-12-26", "zweiter_weihnachtstag"}}) {
    EXPECT_EQ(LaenderWith(date, id), All()) << date;
  }
  EXPECT_EQ(LaenderWith("2027-12-24", ""), All());  // Heiligabend is no holiday
  EXPECT_EQ(LaenderWith("2027-12-31", ""), All());  // nor Silvester
  EXPECT_EQ(HolidayCalendar(kBE).On(D("2027-10-03"))->source, "Art. 2 Abs. 2 Einigungsvertrag");
}

TEST(HolidaysTest, ReformationstagByLandAndYear) {
  const std::set<Land> east = {kBB, kMV, kSN, kST, kTH};
  const std::set<Land> east_and_north = {kBB, kMV, kSN, kST, kTH, kHB, kHH, kNI, kSH};
  EXPECT_EQ(LaenderWith("2016-10-31", "reformationstag"), east);
  EXPECT_EQ(LaenderWith("2017-10-31", "reformationstag"), All());  // 500 years, once
  EXPECT_EQ(LaenderWith("2018-10-31", "reformationstag"), east_and_north);
  EXPECT_EQ(LaenderWith("2028-10-31", "reformationstag"), east_and_north);
  EXPECT_EQ(LaenderWith("1995-10-31", "reformationstag"), east);
  // 2017 has one entry per Land, with the Land's one-off source.
  std::vector<Holiday> sh = HolidayCalendar(kSH).InYear(2017);
  EXPECT_EQ(std::count_if(sh.begin(), sh.end(),
                          [](const Holiday& h) { return h.id == "reformationstag"; }),
            1);
  EXPECT_NE(HolidayCalendar(kSH).On(D("2017-10-31"))->source.find("Reformationstag 2017"),
            std::string_view::npos);
  std::vector<Holiday> sn = HolidayCalendar(kSN).InYear(2017);
  EXPECT_EQ(std::count_if(sn.begin(), sn.end(),
                          [](const Holiday& h) { return h.id == "reformationstag"; }),
            1);
}

TEST(HolidaysTest, BussUndBettagNationwideUntil1994ThenOnlySachsen) {
  EXPECT_EQ(LaenderWith("1994-11-16", "buss_und_bettag"), All());
  EXPECT_EQ(LaenderWith("1995-11-22", "buss_und_bettag"), std::set<Land>{kSN});
  EXPECT_EQ(LaenderWith("2027-11-17", "buss_und_bettag"), std::set<Land>{kSN});
  // The Wednesday before 23 November, 16..22 November.
  for (int y = 1995; y <= 2100; ++y) {
    std::vector<Holiday> all = HolidayCalendar(kSN).InYear(y);
    auto it = std::find_if(all.begin(), all.end(),
                           [](const Holiday& h) { return h.id == "buss_und_bettag"; });
    ASSERT_NE(it, all.end()) << y;
    EXPECT_EQ(it->date.weekday(), Weekday::kWednesday) << y;
    EXPECT_GE(it->date, *CivilDate::FromYmd(y, 11, 16)) << y;
    EXPECT_LE(it->date, *CivilDate::FromYmd(y, 11, 22)) << y;
  }
}

TEST(HolidaysTest, LandSpecificHolidays) {
  EXPECT_EQ(LaenderWith("2027-01-06", "heilige_drei_koenige"), (std::set<Land>{kBW, kBY, kST}));
  EXPECT_EQ(LaenderWith("2027-05-27", "fronleichnam"),
            (std::set<Land>{kBW, kBY, kHE, kNW, kRP, kSL}));
  EXPECT_EQ(LaenderWith("2027-08-15", "mariae_himmelfahrt"), std::set<Land>{kSL});
  EXPECT_EQ(LaenderWith("2027-11-01", "allerheiligen"), (std::set<Land>{kBW, kBY, kNW, kRP, kSL}));
  EXPECT_EQ(LaenderWith("2027-03-28", "ostersonntag"), std::set<Land>{kBB});
  EXPECT_EQ(LaenderWith("2027-05-16", "pfingstsonntag"), std::set<Land>{kBB});
}

TEST(HolidaysTest, FrauentagAndWeltkindertagFromTheirFirstYear) {
  EXPECT_EQ(LaenderWith("2018-03-08", "frauentag"), std::set<Land>{});
  EXPECT_EQ(LaenderWith("2019-03-08", "frauentag"), std::set<Land>{kBE});
  EXPECT_EQ(LaenderWith("2022-03-08", "frauentag"), std::set<Land>{kBE});
  EXPECT_EQ(LaenderWith("2023-03-08", "frauentag"), (std::set<Land>{kBE, kMV}));
  EXPECT_EQ(LaenderWith("2018-09-20", "weltkindertag"), std::set<Land>{});
  EXPECT_EQ(LaenderWith("2019-09-20", "weltkindertag"), std::set<Land>{kTH});
}

TEST(HolidaysTest, BerlinOneOffDays) {
  EXPECT_EQ(IdOn(kBE, "2020-05-08"), "tag_der_befreiung");
  EXPECT_EQ(IdOn(kBE, "2025-05-08"), "tag_der_befreiung");
  EXPECT_EQ(IdOn(kBE, "2028-06-17"), "jahrestag_17_juni_1953");
  for (const char* not_a_holiday : {"2019-05-08", "2021-05-08", "2024-05-08", "2026-05-08",
                                    "2030-05-08", "2027-06-17", "2029-06-17"})
    EXPECT_EQ(IdOn(kBE, not_a_holiday), "") << not_a_holiday;
  EXPECT_EQ(LaenderWith("2020-05-08", "tag_der_befreiung"), std::set<Land>{kBE});
}

TEST(HolidaysTest, LocalHolidaysOnlyWhereConfigured) {
  EXPECT_EQ(IdOn(kBY, "2027-08-15"), "");
  EXPECT_EQ(IdOn(kBY, "2027-08-15", {LocalHoliday::kMariaeHimmelfahrt}), "mariae_himmelfahrt");
  EXPECT_EQ(IdOn(kBY, "2027-08-08", {LocalHoliday::kAugsburgerFriedensfest}),
            "augsburger_friedensfest");
  EXPECT_EQ(IdOn(kBY, "2027-08-08"), "");
  EXPECT_EQ(IdOn(kSN, "2027-05-27"), "");
  EXPECT_EQ(IdOn(kSN, "2027-05-27", {LocalHoliday::kFronleichnam}), "fronleichnam");
  EXPECT_EQ(IdOn(kTH, "2027-05-27", {LocalHoliday::kFronleichnam}), "fronleichnam");
  EXPECT_NE(
      Cal(kSN, {LocalHoliday::kFronleichnam}).On(D("2027-05-27"))->source.find("FronleichnamsVO"),
      std::string_view::npos);
}

TEST(HolidaysTest, LocalHolidaysThatMakeNoSenseAreRefused) {
  struct Case {
    Land land;
    LocalHoliday local;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {kBW, LocalHoliday::kFronleichnam, "public holiday in all of Baden-Württemberg"},
           {kBY, LocalHoliday::kFronleichnam, "public holiday in all of Bayern"},
           {kSH, LocalHoliday::kFronleichnam, "only in SN, TH, not in Schleswig-Holstein"},
           {kSL, LocalHoliday::kMariaeHimmelfahrt, "public holiday in all of Saarland"},
           {kNW, LocalHoliday::kMariaeHimmelfahrt, "only in BY"},
           {kSH, LocalHoliday::kAugsburgerFriedensfest, "only in BY, not in Schleswig-Holstein"},
       }) {
    Result<HolidayCalendar> cal = HolidayCalendar::Make(c.land, {c.local});
    ASSERT_FALSE(cal.ok()) << LandCode(c.land) << " " << LocalHolidayId(c.local);
    EXPECT_TRUE(cal.status().IsInvalidArgument());
    EXPECT_NE(cal.status().message().find(c.says), std::string::npos) << cal.status().message();
    EXPECT_NE(cal.status().message().find(LocalHolidayId(c.local)), std::string::npos);
  }
}

TEST(HolidaysTest, CalendarIdsAreStableAndParse) {
  EXPECT_EQ(HolidayCalendar(kSH).Id(), "DE-SH");
  EXPECT_EQ(Cal(kBY, {LocalHoliday::kMariaeHimmelfahrt}).Id(), "DE-BY+mariae_himmelfahrt");
  // Alphabetical, whatever the order given; duplicates collapse.
  EXPECT_EQ(Cal(kBY, {LocalHoliday::kMariaeHimmelfahrt, LocalHoliday::kAugsburgerFriedensfest,
                      LocalHoliday::kMariaeHimmelfahrt})
                .Id(),
            "DE-BY+augsburger_friedensfest+mariae_himmelfahrt");
  for (Land l : kAllLaender) {
    for (int mask = 0; mask < 8; ++mask) {
      std::vector<LocalHoliday> local;
      for (int i = 0; i < 3; ++i)
        if (mask & (1 << i)) local.push_back(static_cast<LocalHoliday>(i));
      Result<HolidayCalendar> cal = HolidayCalendar::Make(l, local);
      if (!cal.ok()) continue;
      Result<HolidayCalendar> back = HolidayCalendar::Parse(cal->Id());
      ASSERT_TRUE(back.ok()) << cal->Id() << ": " << back.status().ToString();
      EXPECT_EQ(*back, *cal) << cal->Id();
    }
  }
  EXPECT_FALSE(HolidayCalendar::Parse("SH").ok());
  EXPECT_FALSE(HolidayCalendar::Parse("DE-XX").ok());
  EXPECT_FALSE(HolidayCalendar::Parse("DE-SH+fronleichnam").ok());
  EXPECT_FALSE(HolidayCalendar::Parse("DE-BY+").ok());
}

TEST(HolidaysTest, InYearIsSortedAndCountsAreRight) {
  // 2026: the holidays per Land, those on a Sunday included (SH: 9 nationwide + Reformationstag).
  const std::map<Land, size_t> expected = {
      {kSH, 10}, {kHH, 10}, {kNI, 10}, {kHB, 10}, {kNW, 11}, {kHE, 10}, {kRP, 11}, {kBW, 12},
      {kBY, 12}, {kSL, 12}, {kBE, 10}, {kBB, 12}, {kMV, 11}, {kSN, 11}, {kST, 11}, {kTH, 11}};
  for (Land l : kAllLaender) {
    std::vector<Holiday> hs = HolidayCalendar(l).InYear(2026);
    EXPECT_EQ(hs.size(), expected.at(l)) << LandCode(l);
    EXPECT_TRUE(std::is_sorted(hs.begin(), hs.end(),
                               [](const Holiday& a, const Holiday& b) { return a.date < b.date; }));
    for (const Holiday& h : hs) {
      EXPECT_EQ(h.date.year(), 2026);
      EXPECT_FALSE(h.source.empty()) << h.id;
      EXPECT_EQ(HolidayCalendar(l).On(h.date)->date, h.date);
    }
  }
  EXPECT_EQ(Cal(kBY, {LocalHoliday::kMariaeHimmelfahrt, LocalHoliday::kAugsburgerFriedensfest})
                .InYear(2026)
                .size(),
            14u);
}

TEST(HolidaysTest, TwoHolidaysOnOneDate) {
  // Easter 2008 was 23 March: Christi Himmelfahrt fell on 1 May.
  std::vector<Holiday> hs = HolidayCalendar(kSH).InYear(2008);
  std::vector<std::string> on_may_first;
  for (const Holiday& h : hs)
    if (h.date == D("2008-05-01")) on_may_first.emplace_back(h.id);
  EXPECT_EQ(on_may_first, (std::vector<std::string>{"erster_mai", "christi_himmelfahrt"}));
  EXPECT_EQ(HolidayCalendar(kSH).On(D("2008-05-01"))->id, "erster_mai");
}

TEST(HolidaysTest, WorkingDays) {
  HolidayCalendar sh(kSH);
  EXPECT_TRUE(sh.IsWorkingDay(D("2027-05-18")));
  EXPECT_FALSE(sh.IsWorkingDay(D("2027-05-17")));  // Pfingstmontag
  EXPECT_FALSE(sh.IsWorkingDay(D("2027-05-15")));  // Saturday
  EXPECT_FALSE(sh.IsWorkingDay(D("2027-05-16")));  // Sunday
  EXPECT_TRUE(sh.IsWorkingDay(D("2027-11-01")));
  EXPECT_FALSE(HolidayCalendar(kBW).IsWorkingDay(D("2027-11-01")));
}

TEST(LandTest, ParsesEveryForm) {
  for (Land l : kAllLaender) {
    std::string code(LandCode(l));
    std::string lower = code;
    for (char& c : lower)
      c = static_cast<char>(c - 'A' + 'a');
    char key[8];
    std::snprintf(key, sizeof key, "%02d", static_cast<int>(l));
    for (const std::string& form :
         {code, lower, "DE-" + code, "de-" + lower, std::string(key), std::string(LandName(l))}) {
      Result<Land> parsed = ParseLand(form);
      ASSERT_TRUE(parsed.ok()) << form << ": " << parsed.status().ToString();
      EXPECT_EQ(*parsed, l) << form;
    }
  }
  EXPECT_EQ(ParseLand("Baden-Wuerttemberg").value(), kBW);
  EXPECT_EQ(ParseLand("thueringen").value(), kTH);
  EXPECT_EQ(ParseLand("9").value(), kBY);
  for (const char* bad : {"", "XX", "DE-", "17", "00", "DE-17", "Bavaria", "Schleswig"}) {
    Result<Land> parsed = ParseLand(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.status().message().find("unknown Land"), std::string::npos);
    }
  }
  EXPECT_EQ(LandCode(kSH), "SH");
  EXPECT_EQ(LandName(kSH), "Schleswig-Holstein");
  EXPECT_EQ(LandName(kTH), "Thüringen");
  EXPECT_EQ(static_cast<int>(kTH), 16);
}

TEST(LandTest, LandOfAgs) {
  EXPECT_EQ(LandOfAgs("01001000").value(), kSH);      // Flensburg
  EXPECT_EQ(LandOfAgs("09761000").value(), kBY);      // Augsburg
  EXPECT_EQ(LandOfAgs("11000000").value(), kBE);      // Berlin
  EXPECT_EQ(LandOfAgs("160510000000").value(), kTH);  // a regional key (ARS)
  for (const char* bad : {"", "1", "17000000", "00000000", "0100100A", "1234567890123"})
    EXPECT_FALSE(LandOfAgs(bad).ok()) << bad;
}

TEST(LocalHolidayTest, IdsAndNames) {
  for (LocalHoliday h : {LocalHoliday::kFronleichnam, LocalHoliday::kMariaeHimmelfahrt,
                         LocalHoliday::kAugsburgerFriedensfest}) {
    EXPECT_EQ(ParseLocalHoliday(LocalHolidayId(h)).value(), h);
  }
  EXPECT_EQ(LocalHolidayId(LocalHoliday::kMariaeHimmelfahrt), "mariae_himmelfahrt");
  EXPECT_EQ(LocalHolidayName(LocalHoliday::kMariaeHimmelfahrt), "Mariä Himmelfahrt");
  EXPECT_EQ(LocalHolidayId(LocalHoliday::kAugsburgerFriedensfest), "augsburger_friedensfest");
  EXPECT_EQ(LocalHolidayId(LocalHoliday::kFronleichnam), "fronleichnam");
  Result<LocalHoliday> bad = ParseLocalHoliday("Fronleichnam");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mariae_himmelfahrt"), std::string::npos);
}

// docs/legal-calendar.md lists every rule of the table with its source, and every Land's law.
TEST(HolidayRulesTest, TheDocumentListsEveryRuleAndSource) {
  std::ifstream in(std::string(AMTSWEG_SOURCE_DIR) + "/docs/legal-calendar.md");
  ASSERT_TRUE(in) << "docs/legal-calendar.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  for (Land l : kAllLaender)
    EXPECT_NE(doc.find(LandLaw(l)), std::string::npos) << "missing: " << LandLaw(l);
  for (const HolidayRuleInfo& r : HolidayRules()) {
    // One table row per rule: "| id | name | date | Länder | years | local | source |".
    std::string row = "| `" + r.id + "` | " + r.name + " | " + r.date + " | " + r.laender + " | " +
                      r.years + " | " +
                      (r.local ? std::string(LocalHolidayId(*r.local)) : std::string("no")) +
                      " | " + (r.source.empty() ? std::string("the Land's law") : r.source) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/legal-calendar.md lacks the row\n" << row;
  }
}

}  // namespace
}  // namespace amtsweg::calendar
