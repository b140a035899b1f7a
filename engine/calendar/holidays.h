// Statutory public holidays (gesetzliche Feiertage) of the German Länder.
//
// Public holidays are law of each Land (its Feiertagsgesetz); only 3 October is federal
// (Einigungsvertrag). A HolidayCalendar is the calendar of one place: a Land plus the local
// holidays that hold there (days that are holidays only in some municipalities of the Land).
// The rules, with their legal sources and the years they apply, are one table in holidays.cc;
// docs/legal-calendar.md lists them. Rules before 1991 are not modelled (a date before then
// gets today's rules, not the historical ones).
//
// Everything here is a pure function over that constant table, or a small value: thread-safe,
// copy freely. Strings returned as string_view point into static storage.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/calendar/civil_date.h"
#include "engine/common/status.h"

namespace amtsweg::calendar {

// A German Land; the value is its key in the official municipality key (AGS), "01".."16".
enum class Land : uint8_t {
  kSH = 1,   // Schleswig-Holstein
  kHH = 2,   // Hamburg
  kNI = 3,   // Niedersachsen
  kHB = 4,   // Bremen
  kNW = 5,   // Nordrhein-Westfalen
  kHE = 6,   // Hessen
  kRP = 7,   // Rheinland-Pfalz
  kBW = 8,   // Baden-Württemberg
  kBY = 9,   // Bayern
  kSL = 10,  // Saarland
  kBE = 11,  // Berlin
  kBB = 12,  // Brandenburg
  kMV = 13,  // Mecklenburg-Vorpommern
  kSN = 14,  // Sachsen
  kST = 15,  // Sachsen-Anhalt
  kTH = 16,  // Thüringen
};

// The sixteen Länder in AGS order.
extern const std::array<Land, 16> kAllLaender;

// Accepts the code ("SH", any case), the ISO 3166-2 code ("DE-SH"), the AGS key ("01" or "1")
// and the German name ("Schleswig-Holstein", any case; "ue" for "ü" is accepted). InvalidArgument
// otherwise, listing the accepted forms.
Result<Land> ParseLand(std::string_view text);
// The Land of an official municipality key (AGS, 8 digits) or regional key (ARS, 12 digits):
// its first two digits. InvalidArgument when the text is not digits or the key is not 01..16.
Result<Land> LandOfAgs(std::string_view ags);
// "SH".
std::string_view LandCode(Land land);
// "Schleswig-Holstein".
std::string_view LandName(Land land);

// Holidays that hold only in parts of a Land. Which municipalities they hold in is not modelled:
// the organisation's configuration says whether its seat has one (docs/legal-calendar.md).
enum class LocalHoliday : uint8_t {
  kFronleichnam,            // SN, TH: certain (Catholic) municipalities named by ordinance
  kMariaeHimmelfahrt,       // BY: municipalities with a predominantly Catholic population
  kAugsburgerFriedensfest,  // BY: the city of Augsburg, 8 August
};

// Parses the id: "fronleichnam", "mariae_himmelfahrt", "augsburger_friedensfest".
Result<LocalHoliday> ParseLocalHoliday(std::string_view id);
// The id, as above.
std::string_view LocalHolidayId(LocalHoliday h);
// The German name: "Fronleichnam", "Mariä Himmelfahrt", "Augsburger Hohes Friedensfest".
std::string_view LocalHolidayName(LocalHoliday h);

// One public holiday on one date.
struct Holiday {
  CivilDate date;
  std::string_view id;      // stable, e.g. "pfingstmontag"
  std::string_view name;    // German, e.g. "Pfingstmontag"
  std::string_view source;  // the legal source: the Land's LandLaw() or the rule's own

  friend bool operator==(const Holiday&, const Holiday&) = default;
};

// The public holidays of one place: a Land and the local holidays configured for it.
class HolidayCalendar {
 public:
  // The Land-wide holidays of `land`, no local ones.
  explicit HolidayCalendar(Land land) : land_(land) {}

  // A Land with local holidays (duplicates are ignored). InvalidArgument, naming the holiday and
  // the Land, when a local holiday has no legal basis in that Land as a local holiday: it is
  // Land-wide there (Fronleichnam in BW), or the Land has no such local holiday (Augsburger
  // Friedensfest outside Bayern).
  static Result<HolidayCalendar> Make(Land land, const std::vector<LocalHoliday>& local);
  // Parses what Id() writes ("DE-SH", "DE-BY+mariae_himmelfahrt"); errors as Make().
  static Result<HolidayCalendar> Parse(std::string_view id);

  Land land() const { return land_; }
  // The local holidays, in the order of their ids.
  std::vector<LocalHoliday> local() const;
  bool has_local(LocalHoliday h) const { return (local_ & Bit(h)) != 0; }

  // Stable text for domain events and logs: "DE-" + Land code, then "+" and each local
  // holiday's id in alphabetical order: "DE-BY+augsburger_friedensfest+mariae_himmelfahrt".
  std::string Id() const;

  // The holidays of `year`, sorted by date (two holidays on one date, e.g. Christi Himmelfahrt
  // on 1 May 2008, are both listed, in the order of the rule table).
  std::vector<Holiday> InYear(int year) const;
  // The holiday on `date`, if any (the first by the rule table when there are two).
  std::optional<Holiday> On(CivilDate date) const;
  // Not a Saturday, not a Sunday and not a holiday of this calendar: a Werktag in the sense of
  // §31 Abs. 3 VwVfG and §193 BGB.
  bool IsWorkingDay(CivilDate date) const;

  friend bool operator==(const HolidayCalendar&, const HolidayCalendar&) = default;

 private:
  HolidayCalendar(Land land, uint8_t local) : land_(land), local_(local) {}
  static uint8_t Bit(LocalHoliday h) { return static_cast<uint8_t>(1u << static_cast<int>(h)); }

  Land land_;
  uint8_t local_ = 0;  // bit per LocalHoliday
};

// Easter Sunday of `year` (Gregorian computus, valid from 1583).
CivilDate EasterSunday(int year);

// The Land's Feiertagsgesetz and the paragraph that lists its holidays, e.g. "§ 2 Abs. 1 Gesetz
// über Sonn- und Feiertage (SFTG), Schleswig-Holstein": the source of every rule naming no other.
std::string_view LandLaw(Land land);

// One row of the rule table, in words: for docs/legal-calendar.md and the tests that keep it
// in step with the code.
struct HolidayRuleInfo {
  std::string id;
  std::string name;
  std::string date;     // "31 October", "Easter Sunday + 50 days", "Wednesday before 23 November"
  std::string laender;  // "all" or codes: "BB MV SN ST TH"
  std::string years;    // "always", "since 2018", "until 1994", "2017 only"
  std::optional<LocalHoliday> local;  // set: only where configured as a local holiday
  std::string source;                 // empty: each Land's LandLaw()
};
// The rule table, in its order.
std::vector<HolidayRuleInfo> HolidayRules();

}  // namespace amtsweg::calendar
