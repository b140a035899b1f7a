#include "engine/calendar/holidays.h"

#include <algorithm>
#include <initializer_list>

namespace amtsweg::calendar {

namespace {

// ---------------------------------------------------------------------------------------------
// The legal table. Every holiday of every Land is one row of kRules; a row that names no source
// has the source of its Land's Feiertagsgesetz in kLandLaws. docs/legal-calendar.md lists both
// (tests/calendar/holidays_test.cc checks that it does).
// ---------------------------------------------------------------------------------------------

struct LandInfo {
  Land land;
  std::string_view code;
  std::string_view name;
  std::string_view law;  // the Land's Feiertagsgesetz, paragraph listing its holidays
};

constexpr LandInfo kLandInfo[] = {
    {Land::kSH, "SH", "Schleswig-Holstein",
     "§ 2 Abs. 1 Gesetz über Sonn- und Feiertage (SFTG), Schleswig-Holstein"},
    {Land::kHH, "HH", "Hamburg", "§ 1 Feiertagsgesetz, Hamburg"},
    {Land::kNI, "NI", "Niedersachsen",
     "§ 2 Abs. 1 Niedersächsisches Gesetz über die Feiertage (NFeiertagsG)"},
    {Land::kHB, "HB", "Bremen", "§ 2 Abs. 1 Gesetz über die Sonn-, Gedenk- und Feiertage, Bremen"},
    {Land::kNW, "NW", "Nordrhein-Westfalen",
     "§ 2 Abs. 1 Gesetz über die Sonn- und Feiertage (Feiertagsgesetz NW)"},
    {Land::kHE, "HE", "Hessen", "§ 1 Abs. 1 Hessisches Feiertagsgesetz (HFeiertagsG)"},
    {Land::kRP, "RP", "Rheinland-Pfalz",
     "§ 2 Abs. 1 Landesgesetz über den Schutz der Sonn- und Feiertage (LFtG), Rheinland-Pfalz"},
    {Land::kBW, "BW", "Baden-Württemberg",
     "§ 1 Gesetz über die Sonntage und Feiertage (FTG), Baden-Württemberg"},
    {Land::kBY, "BY", "Bayern",
     "Art. 1 Abs. 1 Nr. 1 Gesetz über den Schutz der Sonn- und Feiertage (FTG), Bayern"},
    {Land::kSL, "SL", "Saarland",
     "§ 2 Abs. 1 Gesetz Nr. 1040 über die Sonn- und Feiertage (SFG), "
     "Saarland"},
    {Land::kBE, "BE", "Berlin", "§ 1 Abs. 1 Gesetz über die Sonn- und Feiertage (FTG), Berlin"},
    {Land::kBB, "BB", "Brandenburg",
     "§ 2 Abs. 1 Gesetz über die Sonn- und Feiertage (FTG), Brandenburg"},
    {Land::kMV, "MV", "Mecklenburg-Vorpommern",
     "§ 2 Abs. 1 Feiertagsgesetz Mecklenburg-Vorpommern (FTG M-V)"},
    {Land::kSN, "SN", "Sachsen",
     "§ 1 Gesetz über Sonn- und Feiertage im Freistaat Sachsen (SächsSFG)"},
    {Land::kST, "ST", "Sachsen-Anhalt",
     "§ 2 Abs. 1 Gesetz über die Sonn- und Feiertage (FeiertG LSA), Sachsen-Anhalt"},
    {Land::kTH, "TH", "Thüringen", "§ 2 Abs. 1 Thüringer Feier- und Gedenktagsgesetz (ThürFGtG)"},
};

enum class When : uint8_t {
  kFixed,          // month, day
  kEaster,         // Easter Sunday + offset days
  kBussUndBettag,  // the Wednesday before 23 November
};

constexpr int kAlways = -1;  // for first_year/last_year: no bound
constexpr int kNoLocal = -1;

struct Rule {
  std::string_view id;
  std::string_view name;
  When when;
  int month;  // kFixed
  int day;    // kFixed; for kEaster: the offset from Easter Sunday in days
  uint32_t laender;
  int first_year;           // inclusive, or kAlways
  int last_year;            // inclusive, or kAlways
  int local;                // a LocalHoliday: the rule holds only where configured; or kNoLocal
  std::string_view source;  // empty: the Land's law (kLandInfo)
};

constexpr uint32_t L(std::initializer_list<Land> laender) {
  uint32_t bits = 0;
  for (Land l : laender)
    bits |= 1u << static_cast<int>(l);
  return bits;
}

constexpr uint32_t kAll =
    L({Land::kSH, Land::kHH, Land::kNI, Land::kHB, Land::kNW, Land::kHE, Land::kRP, Land::kBW,
       Land::kBY, Land::kSL, Land::kBE, Land::kBB, Land::kMV, Land::kSN, Land::kST, Land::kTH});
// The Länder where 31 October is not a holiday every year.
constexpr uint32_t kWithoutReformationstag2017 =
    L({Land::kHH, Land::kNI, Land::kHB, Land::kNW, Land::kHE, Land::kRP, Land::kBW, Land::kBY,
       Land::kSL});

constexpr int kFronleichnamLocal = static_cast<int>(LocalHoliday::kFronleichnam);
constexpr int kMariaeHimmelfahrtLocal = static_cast<int>(LocalHoliday::kMariaeHimmelfahrt);
constexpr int kAugsburgLocal = static_cast<int>(LocalHoliday::kAugsburgerFriedensfest);

// In order of the year; rules on one date in the order their Land's law lists them.
constexpr Rule kRules[] = {
    {"neujahr", "Neujahr", When::kFixed, 1, 1, kAll, kAlways, kAlways, kNoLocal, {}},
    {"heilige_drei_koenige",
     "Heilige Drei Könige",
     When::kFixed,
     1,
     6,
     L({Land::kBW, Land::kBY, Land::kST}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"frauentag",
     "Internationaler Frauentag",
     When::kFixed,
     3,
     8,
     L({Land::kBE}),
     2019,
     kAlways,
     kNoLocal,
     {}},
    {"frauentag",
     "Internationaler Frauentag",
     When::kFixed,
     3,
     8,
     L({Land::kMV}),
     2023,
     kAlways,
     kNoLocal,
     {}},
    {"karfreitag", "Karfreitag", When::kEaster, 0, -2, kAll, kAlways, kAlways, kNoLocal, {}},
    {"ostersonntag",
     "Ostersonntag",
     When::kEaster,
     0,
     0,
     L({Land::kBB}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"ostermontag", "Ostermontag", When::kEaster, 0, 1, kAll, kAlways, kAlways, kNoLocal, {}},
    {"erster_mai", "1. Mai", When::kFixed, 5, 1, kAll, kAlways, kAlways, kNoLocal, {}},
    {"tag_der_befreiung",
     "Tag der Befreiung (75. Jahrestag)",
     When::kFixed,
     5,
     8,
     L({Land::kBE}),
     2020,
     2020,
     kNoLocal,
     {}},
    {"tag_der_befreiung",
     "Tag der Befreiung (80. Jahrestag)",
     When::kFixed,
     5,
     8,
     L({Land::kBE}),
     2025,
     2025,
     kNoLocal,
     {}},
    {"christi_himmelfahrt",
     "Christi Himmelfahrt",
     When::kEaster,
     0,
     39,
     kAll,
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"pfingstsonntag",
     "Pfingstsonntag",
     When::kEaster,
     0,
     49,
     L({Land::kBB}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"pfingstmontag", "Pfingstmontag", When::kEaster, 0, 50, kAll, kAlways, kAlways, kNoLocal, {}},
    {"fronleichnam",
     "Fronleichnam",
     When::kEaster,
     0,
     60,
     L({Land::kBW, Land::kBY, Land::kHE, Land::kNW, Land::kRP, Land::kSL}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"fronleichnam", "Fronleichnam", When::kEaster, 0, 60, L({Land::kSN}), kAlways, kAlways,
     kFronleichnamLocal,
     "§ 1 SächsSFG with the Verordnung über den regionalen Feiertag Fronleichnam "
     "(FronleichnamsVO) of 4 May 1993, Sachsen"},
    {"fronleichnam", "Fronleichnam", When::kEaster, 0, 60, L({Land::kTH}), kAlways, kAlways,
     kFronleichnamLocal,
     "§ 2 Abs. 2 ThürFGtG with the ordinance naming the municipalities with a predominantly "
     "Catholic population, Thüringen"},
    {"jahrestag_17_juni_1953",
     "75. Jahrestag des Volksaufstands vom 17. Juni 1953",
     When::kFixed,
     6,
     17,
     L({Land::kBE}),
     2028,
     2028,
     kNoLocal,
     {}},
    {"augsburger_friedensfest", "Augsburger Hohes Friedensfest", When::kFixed, 8, 8, L({Land::kBY}),
     kAlways, kAlways, kAugsburgLocal,
     "Art. 1 Abs. 2 Gesetz über den Schutz der Sonn- und Feiertage (FTG), Bayern"},
    {"mariae_himmelfahrt",
     "Mariä Himmelfahrt",
     When::kFixed,
     8,
     15,
     L({Land::kSL}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"mariae_himmelfahrt", "Mariä Himmelfahrt", When::kFixed, 8, 15, L({Land::kBY}), kAlways,
     kAlways, kMariaeHimmelfahrtLocal,
     "Art. 1 Abs. 1 Nr. 2 and Abs. 3 Gesetz über den Schutz der Sonn- und Feiertage (FTG), "
     "Bayern"},
    {"weltkindertag",
     "Weltkindertag",
     When::kFixed,
     9,
     20,
     L({Land::kTH}),
     2019,
     kAlways,
     kNoLocal,
     {}},
    {"tag_der_deutschen_einheit", "Tag der Deutschen Einheit", When::kFixed, 10, 3, kAll, 1990,
     kAlways, kNoLocal, "Art. 2 Abs. 2 Einigungsvertrag"},
    {"reformationstag",
     "Reformationstag",
     When::kFixed,
     10,
     31,
     L({Land::kBB, Land::kMV, Land::kSN, Land::kST, Land::kTH}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"reformationstag",
     "Reformationstag",
     When::kFixed,
     10,
     31,
     L({Land::kHB, Land::kHH, Land::kNI, Land::kSH}),
     2018,
     kAlways,
     kNoLocal,
     {}},
    {"reformationstag", "Reformationstag", When::kFixed, 10, 31, L({Land::kSH}), 2017, 2017,
     kNoLocal,
     "§ 1 Landesverordnung über den Reformationstag 2017 of 24 November 2014 (GVOBl. Schl.-H. "
     "S. 380), under § 2 Abs. 2 SFTG, Schleswig-Holstein"},
    {"reformationstag", "Reformationstag", When::kFixed, 10, 31, L({Land::kBE}), 2017, 2017,
     kNoLocal, "§ 1 Abs. 1 Nr. 10 Gesetz über die Sonn- und Feiertage (FTG), Berlin"},
    {"reformationstag", "Reformationstag", When::kFixed, 10, 31, kWithoutReformationstag2017, 2017,
     2017, kNoLocal,
     "the Land's one-off law or ordinance making 31 October 2017 (500 years of the Reformation) "
     "a public holiday"},
    {"allerheiligen",
     "Allerheiligen",
     When::kFixed,
     11,
     1,
     L({Land::kBW, Land::kBY, Land::kNW, Land::kRP, Land::kSL}),
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"buss_und_bettag", "Buß- und Bettag", When::kBussUndBettag, 0, 0, kAll, kAlways, 1994,
     kNoLocal,
     "the Länder's Feiertagsgesetze until 1994; abolished from 1995 outside Sachsen to fund the "
     "Pflegeversicherung (§ 58 SGB XI)"},
    {"buss_und_bettag",
     "Buß- und Bettag",
     When::kBussUndBettag,
     0,
     0,
     L({Land::kSN}),
     1995,
     kAlways,
     kNoLocal,
     {}},
    {"erster_weihnachtstag",
     "1. Weihnachtstag",
     When::kFixed,
     12,
     25,
     kAll,
     kAlways,
     kAlways,
     kNoLocal,
     {}},
    {"zweiter_weihnachtstag",
     "2. Weihnachtstag",
     When::kFixed,
     12,
     26,
     kAll,
     kAlways,
     kAlways,
     kNoLocal,
     {}},
};

struct LocalInfo {
  LocalHoliday holiday;
  std::string_view id;
  std::string_view name;
};

constexpr LocalInfo kLocalInfo[] = {
    {LocalHoliday::kFronleichnam, "fronleichnam", "Fronleichnam"},
    {LocalHoliday::kMariaeHimmelfahrt, "mariae_himmelfahrt", "Mariä Himmelfahrt"},
    {LocalHoliday::kAugsburgerFriedensfest, "augsburger_friedensfest",
     "Augsburger Hohes Friedensfest"},
};

// ---------------------------------------------------------------------------------------------

const LandInfo& InfoOf(Land land) {
  return kLandInfo[static_cast<int>(land) - 1];
}

bool InLand(const Rule& r, Land land) {
  return (r.laender & (1u << static_cast<int>(land))) != 0;
}

bool InYears(const Rule& r, int year) {
  return (r.first_year == kAlways || year >= r.first_year) &&
         (r.last_year == kAlways || year <= r.last_year);
}

CivilDate DateIn(const Rule& r, int year) {
  switch (r.when) {
    case When::kFixed:
      return *CivilDate::FromYmd(year, r.month, r.day);
    case When::kEaster:
      return EasterSunday(year).AddDays(r.day);
    case When::kBussUndBettag: {
      CivilDate nov22 = *CivilDate::FromYmd(year, 11, 22);
      int back =
          (static_cast<int>(nov22.weekday()) - static_cast<int>(Weekday::kWednesday) + 7) % 7;
      return nov22.AddDays(-back);
    }
  }
  return CivilDate();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string WithoutUmlauts(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 2) == "ü") {
      out += "ue";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<Land> LandOfKey(int key) {
  if (key < 1 || key > 16) return std::nullopt;
  return static_cast<Land>(key);
}

}  // namespace

const std::array<Land, 16> kAllLaender = {
    Land::kSH, Land::kHH, Land::kNI, Land::kHB, Land::kNW, Land::kHE, Land::kRP, Land::kBW,
    Land::kBY, Land::kSL, Land::kBE, Land::kBB, Land::kMV, Land::kSN, Land::kST, Land::kTH};

std::string_view LandCode(Land land) {
  return InfoOf(land).code;
}

std::string_view LandName(Land land) {
  return InfoOf(land).name;
}

std::string_view LandLaw(Land land) {
  return InfoOf(land).law;
}

Result<Land> ParseLand(std::string_view text) {
  std::string s = Lower(text);
  if (s.size() > 3 && s.compare(0, 3, "de-") == 0) s = s.substr(3);
  if (AllDigits(s) && s.size() <= 2) {
    if (std::optional<Land> land = LandOfKey(std::stoi(s))) return *land;
  }
  for (const LandInfo& info : kLandInfo) {
    if (s == Lower(info.code) || s == Lower(info.name) || s == Lower(WithoutUmlauts(info.name)))
      return info.land;
  }
  return Status::InvalidArgument(
      "unknown Land \"" + std::string(text) +
      "\": expected a code (SH, HH, NI, HB, NW, HE, RP, BW, BY, SL, BE, BB, MV, SN, ST, TH), "
      "the same with \"DE-\", the AGS key 01..16 or the German name");
}

Result<Land> LandOfAgs(std::string_view ags) {
  if (!AllDigits(ags) || ags.size() < 2 || ags.size() > 12) {
    return Status::InvalidArgument("invalid municipality key \"" + std::string(ags) +
                                   "\": expected the digits of an AGS (8) or ARS (12)");
  }
  std::optional<Land> land = LandOfKey((ags[0] - '0') * 10 + (ags[1] - '0'));
  if (!land.has_value()) {
    return Status::InvalidArgument("invalid municipality key \"" + std::string(ags) +
                                   "\": its Land key " + std::string(ags.substr(0, 2)) +
                                   " is not 01..16");
  }
  return *land;
}

Result<LocalHoliday> ParseLocalHoliday(std::string_view id) {
  for (const LocalInfo& info : kLocalInfo)
    if (id == info.id) return info.holiday;
  return Status::InvalidArgument("unknown local holiday \"" + std::string(id) +
                                 "\": expected fronleichnam, mariae_himmelfahrt or "
                                 "augsburger_friedensfest");
}

std::string_view LocalHolidayId(LocalHoliday h) {
  return kLocalInfo[static_cast<int>(h)].id;
}

std::string_view LocalHolidayName(LocalHoliday h) {
  return kLocalInfo[static_cast<int>(h)].name;
}

CivilDate EasterSunday(int year) {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const int a = year % 19;
  const int b = year / 100;
  const int c = year % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return *CivilDate::FromYmd(year, month, day);
}

Result<HolidayCalendar> HolidayCalendar::Make(Land land, const std::vector<LocalHoliday>& local) {
  uint8_t bits = 0;
  for (LocalHoliday h : local) {
    bool allowed = false;
    bool land_wide = false;
    std::string where;
    for (const Rule& r : kRules) {
      if (r.local == static_cast<int>(h)) {
        allowed = allowed || InLand(r, land);
        for (Land l : kAllLaender) {
          if (InLand(r, l)) where += (where.empty() ? "" : ", ") + std::string(LandCode(l));
        }
      } else if (r.local == kNoLocal && r.id == LocalHolidayId(h) && InLand(r, land) &&
                 r.last_year == kAlways) {
        land_wide = true;
      }
    }
    if (land_wide) {
      return Status::InvalidArgument(
          std::string(LocalHolidayId(h)) + " is a public holiday in all of " +
          std::string(LandName(land)) + " (" + std::string(LandCode(land)) +
          "); it cannot be configured as a local holiday there");
    }
    if (!allowed) {
      return Status::InvalidArgument(
          std::string(LocalHolidayId(h)) + " is a local holiday only in " + where + ", not in " +
          std::string(LandName(land)) + " (" + std::string(LandCode(land)) + ")");
    }
    bits |= Bit(h);
  }
  return HolidayCalendar(land, bits);
}

Result<HolidayCalendar> HolidayCalendar::Parse(std::string_view id) {
  size_t plus = id.find('+');
  std::string_view land_text = id.substr(0, plus);
  if (land_text.size() < 3 || Lower(land_text.substr(0, 3)) != "de-") {
    return Status::InvalidArgument("invalid holiday calendar \"" + std::string(id) +
                                   "\": expected DE-<Land>[+<local holiday>...], e.g. DE-SH");
  }
  ASSIGN_OR_RETURN(Land land, ParseLand(land_text));
  std::vector<LocalHoliday> local;
  while (plus != std::string_view::npos) {
    size_t next = id.find('+', plus + 1);
    std::string_view part =
        id.substr(plus + 1, next == std::string_view::npos ? next : next - plus - 1);
    ASSIGN_OR_RETURN(LocalHoliday h, ParseLocalHoliday(part));
    local.push_back(h);
    plus = next;
  }
  return Make(land, local);
}

std::vector<LocalHoliday> HolidayCalendar::local() const {
  std::vector<LocalHoliday> out;
  for (const LocalInfo& info : kLocalInfo)
    if (has_local(info.holiday)) out.push_back(info.holiday);
  std::sort(out.begin(), out.end(),
            [](LocalHoliday a, LocalHoliday b) { return LocalHolidayId(a) < LocalHolidayId(b); });
  return out;
}

std::string HolidayCalendar::Id() const {
  std::string out = "DE-" + std::string(LandCode(land_));
  for (LocalHoliday h : local()) {
    out += '+';
    out += LocalHolidayId(h);
  }
  return out;
}

std::vector<Holiday> HolidayCalendar::InYear(int year) const {
  std::vector<Holiday> out;
  if (year < 0 || year > 9999) return out;
  for (const Rule& r : kRules) {
    if (!InLand(r, land_) || !InYears(r, year)) continue;
    if (r.local != kNoLocal && !has_local(static_cast<LocalHoliday>(r.local))) continue;
    out.push_back({DateIn(r, year), r.id, r.name, r.source.empty() ? LandLaw(land_) : r.source});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  return out;
}

std::optional<Holiday> HolidayCalendar::On(CivilDate date) const {
  for (const Rule& r : kRules) {
    if (!InLand(r, land_) || !InYears(r, date.year())) continue;
    if (r.local != kNoLocal && !has_local(static_cast<LocalHoliday>(r.local))) continue;
    if (DateIn(r, date.year()) == date)
      return Holiday{date, r.id, r.name, r.source.empty() ? LandLaw(land_) : r.source};
  }
  return std::nullopt;
}

bool HolidayCalendar::IsWorkingDay(CivilDate date) const {
  return !date.is_weekend() && !On(date).has_value();
}

std::vector<HolidayRuleInfo> HolidayRules() {
  static constexpr std::string_view kMonths[] = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
  std::vector<HolidayRuleInfo> out;
  for (const Rule& r : kRules) {
    HolidayRuleInfo info;
    info.id = r.id;
    info.name = r.name;
    switch (r.when) {
      case When::kFixed:
        info.date = std::to_string(r.day) + " " + std::string(kMonths[r.month - 1]);
        break;
      case When::kEaster:
        if (r.day == 0) {
          info.date = "Easter Sunday";
        } else {
          const int n = r.day < 0 ? -r.day : r.day;
          info.date = std::string("Easter Sunday ") + (r.day < 0 ? "- " : "+ ") +
                      std::to_string(n) + (n == 1 ? " day" : " days");
        }
        break;
      case When::kBussUndBettag:
        info.date = "Wednesday before 23 November";
        break;
    }
    if (r.laender == kAll) {
      info.laender = "all";
    } else {
      for (Land l : kAllLaender) {
        if (!InLand(r, l)) continue;
        if (!info.laender.empty()) info.laender += ' ';
        info.laender += LandCode(l);
      }
    }
    if (r.first_year == kAlways && r.last_year == kAlways) {
      info.years = "always";
    } else if (r.first_year == r.last_year) {
      info.years = std::to_string(r.first_year) + " only";
    } else if (r.last_year == kAlways) {
      info.years = "since " + std::to_string(r.first_year);
    } else if (r.first_year == kAlways) {
      info.years = "until " + std::to_string(r.last_year);
    } else {
      info.years = std::to_string(r.first_year) + "-" + std::to_string(r.last_year);
    }
    if (r.local != kNoLocal) info.local = static_cast<LocalHoliday>(r.local);
    info.source = r.source;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace amtsweg::calendar
