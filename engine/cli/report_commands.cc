#include "engine/cli/report_commands.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/cli/commands.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/report/monitor.h"
#include "engine/report/statistics.h"
#include "engine/report/status_page.h"
#include "engine/store/store.h"

namespace amtsweg::cli {
namespace {

Result<std::vector<report::CaseFacts>> FactsOf(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/CURRENT"))
    return Status::NotFound("no amtsweg store in '" + data_dir + "' (run `amtsweg run` first)");
  store::Options options;
  options.create_if_missing = false;
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> st, store::Store::Open(data_dir, options));
  return report::CollectCaseFacts(*st);
}

int Failed(std::string_view command, const Status& s) {
  std::cerr << "amtsweg " << command << ": " << s.ToString() << "\n";
  return s.IsInvalidArgument() ? kExitUsage : kExitIO;
}

}  // namespace

int Stats(const StatsArgs& args) {
  if (!report::IsMonth(args.month)) {
    std::cerr << "amtsweg stats: --month must be YYYY-MM, not '" << args.month << "'\n";
    return kExitUsage;
  }
  if (args.format != "csv" && args.format != "json") {
    std::cerr << "amtsweg stats: --format must be csv or json\n";
    return kExitUsage;
  }
  Result<std::vector<report::CaseFacts>> facts = FactsOf(args.data_dir);
  if (!facts.ok()) return Failed("stats", facts.status());
  std::vector<report::ExportRow> rows = report::MonthlyExport(*facts, args.month);
  std::cout << (args.format == "csv" ? report::ExportCsv(rows) : report::ExportJson(rows) + "\n");
  std::cout.flush();
  return std::cout.good() ? kExitOk : kExitIO;
}

int StatusPage(const StatusPageArgs& args) {
  report::StatusPageOptions options;
  if (args.as_of.empty()) {
    options.as_of = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  } else {
    Result<Timestamp> t = ParseTimestamp(args.as_of);
    if (!t.ok()) {
      std::cerr << "amtsweg status-page: --as-of: " << t.status().message() << "\n";
      return kExitUsage;
    }
    options.as_of = *t;
  }
  if (!args.workflows.empty()) {
    dsl::RegistryLoadResult loaded = dsl::LoadRegistry(args.workflows);
    if (!loaded.errors.empty()) {
      for (const dsl::Diagnostic& d : loaded.errors)
        std::cerr << d.ToString() << "\n";
      return kExitUsage;
    }
    for (const dsl::Definition* def : loaded.registry.All())
      options.service_names.emplace(def->leika, def->title);
  }
  if (!args.directory.empty()) {
    Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
    if (!directory.ok()) return Failed("status-page", directory.status());
    options.region_names = report::RegionNames(**directory);
  }
  Result<std::vector<report::CaseFacts>> facts = FactsOf(args.data_dir);
  if (!facts.ok()) return Failed("status-page", facts.status());
  std::string page = report::RenderStatusPage(*facts, options);
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  out << page;
  out.close();
  if (!out) {
    std::cerr << "amtsweg status-page: cannot write '" << args.out << "'\n";
    return kExitIO;
  }
  return kExitOk;
}

}  // namespace amtsweg::cli
