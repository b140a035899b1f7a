// `amtsweg holidays` and `amtsweg period`: the legal calendar (engine/calendar) for
// administrators and legal reviewers (docs/cli.md, docs/legal-calendar.md). Exit codes as in
// commands.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace amtsweg::cli {

// Prints the public holidays of a Land (with local holidays) for `year` .. `to_year`
// (to_year 0: only `year`): a table, or JSON lines with --json.
struct HolidaysArgs {
  std::string land;
  std::vector<std::string> local;  // local holiday ids
  int year = 0;
  int to_year = 0;
  bool json = false;
};
int Holidays(const HolidaysArgs& args);

// Prints when a legal period of `duration` that starts with an event at `start` (RFC 3339) ends
// with the holidays of `land` (and `local`): start, nominal last day, days passed over, last day
// and end. A table, or one JSON object with --json.
struct PeriodArgs {
  std::string start;
  std::string duration;
  std::string land;
  std::vector<std::string> local;
  bool json = false;
};
int Period(const PeriodArgs& args);

// Registers `holidays` and `period` on `app`, which must outlive this object; after
// app.parse(), Run() runs the one selected, if any. Not copyable: CLI11 keeps pointers into it.
class CalendarCommands {
 public:
  explicit CalendarCommands(CLI::App& app);
  CalendarCommands(const CalendarCommands&) = delete;
  CalendarCommands& operator=(const CalendarCommands&) = delete;

  // The exit code of the selected calendar command, or nullopt when another one was selected.
  std::optional<int> Run() const;

 private:
  HolidaysArgs holidays_;
  PeriodArgs period_;
  CLI::App* holidays_cmd_ = nullptr;
  CLI::App* period_cmd_ = nullptr;
};

}  // namespace amtsweg::cli
