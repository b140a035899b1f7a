// `amtsweg stats` and `amtsweg status-page`: public monitoring from a stopped engine's store
// (see docs/monitoring.md). Exit codes as in commands.h.
#pragma once

#include <string>

namespace amtsweg::cli {

// Prints the monthly statistics export (month, region key, LeiKa key, count) for `month`
// ("YYYY-MM") as "csv" or "json" to standard output.
struct StatsArgs {
  std::string data_dir;
  std::string month;
  std::string format = "csv";
};
int Stats(const StatsArgs& args);

// Writes the public status page (HTML) to `out`. `workflows` (optional): a directory of
// definitions whose titles name the services; `directory` (optional): a participant directory
// whose `municipalities` name the municipalities; `as_of` (optional, RFC 3339): the "Stand" shown,
// default now.
struct StatusPageArgs {
  std::string data_dir;
  std::string out;
  std::string workflows;
  std::string directory;
  std::string as_of;
};
int StatusPage(const StatusPageArgs& args);

}  // namespace amtsweg::cli
