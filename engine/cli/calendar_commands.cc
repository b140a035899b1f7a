#include "engine/cli/calendar_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "engine/calendar/german_time.h"
#include "engine/calendar/holidays.h"
#include "engine/calendar/period.h"
#include "engine/cli/commands.h"
#include "engine/cli/output.h"
#include "engine/common/value.h"

namespace amtsweg::cli {
namespace {

// The first year whose rules the calendar models (German reunification, 3 October 1990).
constexpr int kFirstYear = 1991;
constexpr int kLastYear = 9999;

int Usage(std::string_view command, std::string_view option, std::string_view message) {
  std::cerr << "amtsweg " << command << ": " << option << ": " << message << "\n";
  return kExitUsage;
}

// The calendar from --land and --local, or the exit code of the error printed.
Result<calendar::HolidayCalendar> CalendarOf(std::string_view command, const std::string& land,
                                             const std::vector<std::string>& local, int* exit) {
  Result<calendar::Land> l = calendar::ParseLand(land);
  if (!l.ok()) {
    *exit = Usage(command, "--land", l.status().message());
    return l.status();
  }
  std::vector<calendar::LocalHoliday> holidays;
  for (const std::string& id : local) {
    Result<calendar::LocalHoliday> h = calendar::ParseLocalHoliday(id);
    if (!h.ok()) {
      *exit = Usage(command, "--local", h.status().message());
      return h.status();
    }
    holidays.push_back(*h);
  }
  Result<calendar::HolidayCalendar> cal = calendar::HolidayCalendar::Make(*l, holidays);
  if (!cal.ok()) *exit = Usage(command, "--local", cal.status().message());
  return cal;
}

std::string Described(const calendar::HolidayCalendar& cal) {
  return cal.Id() + " (" + std::string(calendar::LandName(cal.land())) + ")";
}

std::string WithWeekday(calendar::CivilDate d) {
  return d.ToString() + " (" + std::string(calendar::WeekdayName(d.weekday())) + ")";
}

int Flushed() {
  std::cout.flush();
  return std::cout.good() ? kExitOk : kExitIO;
}

}  // namespace

int Holidays(const HolidaysArgs& args) {
  int exit = kExitUsage;
  Result<calendar::HolidayCalendar> cal = CalendarOf("holidays", args.land, args.local, &exit);
  if (!cal.ok()) return exit;
  if (args.year < kFirstYear || args.year > kLastYear) {
    return Usage("holidays", "--year",
                 std::to_string(args.year) + " is outside " + std::to_string(kFirstYear) + ".." +
                     std::to_string(kLastYear) +
                     " (the rules before German reunification are not modelled)");
  }
  const int to_year = args.to_year == 0 ? args.year : args.to_year;
  if (to_year < args.year || to_year > kLastYear) {
    return Usage("holidays", "--to-year",
                 std::to_string(to_year) + " is outside " + std::to_string(args.year) + ".." +
                     std::to_string(kLastYear) + " (it must not be before --year)");
  }
  Table table({"DATE", "WEEKDAY", "ID", "NAME", "SOURCE"});
  const std::string id = cal->Id();
  for (int year = args.year; year <= to_year; ++year) {
    for (const calendar::Holiday& h : cal->InYear(year)) {
      std::string_view weekday = calendar::WeekdayName(h.date.weekday());
      if (args.json) {
        std::cout << ObjectBuilder()
                         .Add("calendar", id)
                         .Add("date", h.date.ToString())
                         .Add("weekday", weekday)
                         .Add("id", h.id)
                         .Add("name", h.name)
                         .Add("source", h.source)
                         .Build()
                         .ToJson()
                  << "\n";
      } else {
        table.Add({h.date.ToString(), std::string(weekday), std::string(h.id), std::string(h.name),
                   std::string(h.source)});
      }
    }
  }
  if (!args.json) {
    std::cout << "Public holidays of " << Described(*cal) << ", " << args.year
              << (to_year != args.year ? ".." + std::to_string(to_year) : "") << "\n\n";
    table.Print(std::cout);
    std::cout << table.rows() << " holiday(s)\n";
  }
  return Flushed();
}

int Period(const PeriodArgs& args) {
  Result<Timestamp> start = ParseTimestamp(args.start);
  if (!start.ok()) return Usage("period", "--start", start.status().message());
  Result<Duration> duration = ParseDuration(args.duration);
  if (!duration.ok()) return Usage("period", "--duration", duration.status().message());
  if (duration->is_zero()) return Usage("period", "--duration", "a period must not be zero");
  int exit = kExitUsage;
  Result<calendar::HolidayCalendar> cal = CalendarOf("period", args.land, args.local, &exit);
  if (!cal.ok()) return exit;

  const calendar::PeriodEnd p = calendar::LegalPeriodEnd(*start, *duration, *cal);
  const calendar::CivilDate start_day = calendar::GermanDate(*start);
  const bool exact = duration->has_time_part();
  if (args.json) {
    std::vector<Value> skipped;
    for (const std::string& s : p.skipped)
      skipped.emplace_back(s);
    std::cout << ObjectBuilder()
                     .Add("calendar", cal->Id())
                     .Add("start", FormatTimestamp(*start))
                     .Add("start_german", calendar::FormatGermanTime(*start))
                     .Add("start_german_date", start_day.ToString())
                     .Add("duration", duration->ToString())
                     .Add("exact", exact)
                     .Add("nominal_last_day", p.nominal_last_day.ToString())
                     .Add("skipped", Value::Array(std::move(skipped)))
                     .Add("last_day", p.last_day.ToString())
                     .Add("end", FormatTimestamp(p.end))
                     .Add("end_german", calendar::FormatGermanTime(p.end))
                     .Build()
                     .ToJson()
              << "\n";
    return Flushed();
  }
  auto line = [](std::string_view key, const std::string& value) {
    std::cout << key << std::string(key.size() < 18 ? 18 - key.size() : 1, ' ') << value << "\n";
  };
  line("calendar", Described(*cal));
  line("start", FormatTimestamp(*start) + " = " + calendar::FormatGermanTime(*start) +
                    ", German date " + WithWeekday(start_day));
  line("duration", duration->ToString() + (exact ? " (exact: start plus the duration)"
                                                 : " (§§187, 188 BGB, §31 Abs. 3 VwVfG)"));
  line("nominal last day", WithWeekday(p.nominal_last_day));
  if (p.skipped.empty()) {
    line("passed over", "none");
  } else {
    for (size_t i = 0; i < p.skipped.size(); ++i)
      line(i == 0 ? "passed over" : "", p.skipped[i]);
  }
  line("last day", WithWeekday(p.last_day));
  std::string end = FormatTimestamp(p.end) + " = " + calendar::FormatGermanTime(p.end);
  if (!exact) end += " (24:00 German time on " + p.last_day.ToString() + ")";
  line("end", end);
  return Flushed();
}

CalendarCommands::CalendarCommands(CLI::App& app) {
  holidays_cmd_ = app.add_subcommand(
      "holidays", "Public holidays of a Land, with their legal sources (docs/legal-calendar.md)");
  holidays_cmd_
      ->add_option("--land", holidays_.land, "Land: code (SH), DE-SH, AGS Land key (01) or name")
      ->required();
  holidays_cmd_->add_option(
      "--local", holidays_.local,
      "Local holiday at the place: fronleichnam, mariae_himmelfahrt, augsburger_friedensfest "
      "(repeatable)");
  holidays_cmd_->add_option("--year", holidays_.year, "Year, 1991..9999")->required();
  holidays_cmd_->add_option("--to-year", holidays_.to_year, "Last year of a range of years");
  holidays_cmd_->add_flag("--json", holidays_.json, "JSON lines instead of a table");

  period_cmd_ = app.add_subcommand(
      "period", "When a legal period ends (§§187-193 BGB, §31 VwVfG; docs/legal-calendar.md)");
  period_cmd_
      ->add_option("--start", period_.start,
                   "The starting event, RFC 3339 (e.g. 2027-02-17T10:00:00+01:00)")
      ->required();
  period_cmd_->add_option("--duration", period_.duration, "ISO 8601 duration, e.g. P3M, P2W")
      ->required();
  period_cmd_
      ->add_option("--land", period_.land, "Land of the calendar: code (SH), DE-SH, 01 or name")
      ->required();
  period_cmd_->add_option("--local", period_.local, "Local holiday at the place (repeatable)");
  period_cmd_->add_flag("--json", period_.json, "One JSON object instead of text");
}

std::optional<int> CalendarCommands::Run() const {
  if (*holidays_cmd_) return Holidays(holidays_);
  if (*period_cmd_) return Period(period_);
  return std::nullopt;
}

}  // namespace amtsweg::cli
