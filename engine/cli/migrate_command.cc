#include "engine/cli/migrate_command.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "engine/cli/command_util.h"
#include "engine/cli/commands.h"
#include "engine/common/clock.h"
#include "engine/common/value.h"
#include "engine/core/case_index.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/migration.h"
#include "engine/dsl/loader.h"
#include "engine/store/store.h"

namespace amtsweg::cli {

namespace {

constexpr size_t kBatch = 1000;  // cases per commit, and between progress lines

int Refuse(const std::string& message) {
  std::cerr << "amtsweg migrate: " << message << "\n";
  return kExitFailed;
}

std::string User() {
  const char* user = std::getenv("USER");
  if (user != nullptr && *user != '\0') return user;
  const passwd* pw = getpwuid(geteuid());
  return pw != nullptr && pw->pw_name != nullptr ? pw->pw_name : "uid-" + std::to_string(geteuid());
}

// The command line as the access log records it.
std::string CommandLine(const MigrateArgs& a) {
  std::string line = "migrate --workflow " + a.workflow + " --from " + std::to_string(a.from) +
                     " --to " + std::to_string(a.to) + " --map " + a.map;
  if (a.dry_run) line += " --dry-run";
  if (!a.case_id.empty()) line += " --case " + a.case_id;
  if (!a.reason.empty()) line += " --reason " + a.reason;
  return line;
}

Status RecordAccess(store::Store& store, const MigrateArgs& args, int status, const Clock& clock) {
  store::AccessRecord record;
  record.at = clock.Now();
  record.principal = "local:" + User();
  record.role = "admin";
  record.method = "CLI";
  record.path = CommandLine(args);
  record.status = status;
  record.case_id = args.case_id;
  return store.AppendAccess(record).status();
}

// Prints the mapping's errors; true when there were none.
bool Report(const std::vector<dsl::MigrationError>& errors) {
  for (const dsl::MigrationError& e : errors)
    std::cerr << e.ToString() << "\n";
  return errors.empty();
}

// The definitions from files and, with a store, the deployed ones; nullptr after printing why.
std::unique_ptr<dsl::Registry> LoadDefinitions(const std::string& workflows,
                                               const dsl::Directory* directory) {
  dsl::RegistryLoadResult loaded = dsl::LoadRegistry(workflows, directory);
  if (!loaded.errors.empty()) {
    for (const dsl::Diagnostic& d : loaded.errors)
      std::cerr << d.ToString() << "\n";
    std::cerr << "amtsweg migrate: " << loaded.errors.size() << " error(s) in " << workflows
              << "\n";
    return nullptr;
  }
  return std::make_unique<dsl::Registry>(std::move(loaded.registry));
}

}  // namespace

int ValidateMigrationFile(const std::string& file, const std::string& workflows, bool json) {
  std::unique_ptr<dsl::Registry> registry = LoadDefinitions(workflows, nullptr);
  if (registry == nullptr) return kExitFailed;
  dsl::MigrationParse parsed = dsl::LoadMigrationFile(file);
  std::vector<dsl::MigrationError> errors = parsed.errors;
  if (errors.empty()) errors = dsl::ValidateMigration(*parsed.migration, *registry);
  if (json) {
    ObjectBuilder out(7);
    out.Add("file", file).Add("ok", errors.empty());
    if (errors.empty()) {
      const dsl::Migration& m = *parsed.migration;
      out.Add("workflow", m.workflow)
          .Add("from", m.from)
          .Add("to", m.to)
          .Add("states", static_cast<int64_t>(m.states.size()));
    }
    std::vector<Value> list;
    list.reserve(errors.size());
    for (const dsl::MigrationError& e : errors) {
      list.push_back(ObjectBuilder(4)
                         .Add("file", e.file)
                         .Add("line", e.pos.line)
                         .Add("column", e.pos.column)
                         .Add("message", e.message)
                         .Build());
    }
    out.Add("errors", Value::Array(std::move(list)));
    std::cout << out.Build().ToJson() << "\n";
    return errors.empty() ? kExitOk : kExitFailed;
  }
  if (!Report(errors)) {
    std::cerr << errors.size() << " error(s)\n";
    return kExitFailed;
  }
  const dsl::Migration& m = *parsed.migration;
  std::cout << file << ": ok (" << m.workflow << " version " << m.from << " -> " << m.to << ", "
            << m.states.size() << " states mapped)\n";
  return kExitOk;
}

int Migrate(const MigrateArgs& args) {
  Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
  if (!directory.ok()) return Refuse(directory.status().message());
  std::unique_ptr<dsl::Registry> registry = LoadDefinitions(args.workflows, directory->get());
  if (registry == nullptr) return kExitFailed;
  if (!std::filesystem::exists(args.data_dir + "/CURRENT")) {
    return Refuse("no amtsweg store in '" + args.data_dir + "' (pass --data-dir)");
  }
  store::Options options;
  options.create_if_missing = false;
  Result<std::unique_ptr<store::Store>> opened = store::Store::Open(args.data_dir, options);
  if (!opened.ok()) return Fail(opened.status(), "opening the store (is an engine running on it?)");
  store::Store& store = **opened;
  if (Status s = core::AddDeployedDefinitions(store, directory->get(), registry.get()); !s.ok())
    return Fail(s, "definitions deployed through the API");

  dsl::MigrationParse parsed = dsl::LoadMigrationFile(args.map);
  if (!Report(parsed.errors)) return kExitFailed;
  const dsl::Migration& m = *parsed.migration;
  if (m.workflow != args.workflow || m.from != args.from || m.to != args.to) {
    return Refuse(args.map + " maps " + m.workflow + " version " + std::to_string(m.from) + " -> " +
                  std::to_string(m.to) + ", not " + args.workflow + " version " +
                  std::to_string(args.from) + " -> " + std::to_string(args.to));
  }
  if (!Report(dsl::ValidateMigration(m, *registry))) return kExitFailed;

  std::vector<std::string> cases;
  if (!args.case_id.empty()) {
    if (Status s = core::CheckCaseToMigrate(store, m, args.case_id); !s.ok()) {
      if (s.IsNotFound() || s.IsInvalidArgument()) return Refuse(s.message());
      return Fail(s, "reading the case");
    }
    cases.push_back(args.case_id);
  } else {
    Result<std::vector<std::string>> found = core::CasesToMigrate(store, m);
    if (!found.ok()) return Fail(found.status(), "listing the cases");
    cases = std::move(found).value();
  }

  SystemClock wall;
  ManualClock clock(0);  // event time, restored from the store by Engine::Open
  core::Engine engine(store, *registry, **directory, clock);
  if (Status s = engine.Open(); !s.ok()) return Fail(s, "restoring the clock and timers");
  core::MigrationIssuer by;
  by.admin = "local:" + User();
  by.source = "urn:amtsweg:admin:cli";
  by.reason = args.reason;
  by.time = engine.now();  // the engine clock: the command moves no time
  by.issued = wall.Now();
  if (Status s = RecordAccess(store, args, 200, wall); !s.ok()) return Fail(s, "the access log");

  const bool progress = cases.size() > kBatch;
  if (args.dry_run) {
    size_t refused = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      Result<std::optional<runtime::CaseState>> state = engine.LoadCase(cases[i]);
      if (!state.ok()) return Fail(state.status(), "reading case " + cases[i]);
      if (!state->has_value()) continue;
      core::MigrationPreview p = core::PreviewMigration(engine.runtime(), std::move(**state),
                                                        core::MigrationInput(m, cases[i], by));
      refused += p.refused.has_value();
      std::cout << (args.json ? p.ToValue().ToJson() : p.ToText()) << "\n";
      if (progress && (i + 1) % kBatch == 0)
        std::fprintf(stderr, "amtsweg migrate: %zu of %zu cases\n", i + 1, cases.size());
    }
    std::fprintf(stderr,
                 "amtsweg migrate: dry run: %zu case(s) would be migrated, %zu refused; nothing "
                 "was changed\n",
                 cases.size() - refused, refused);
    return kExitOk;
  }

  size_t migrated = 0;
  std::map<std::string, size_t> refusals;  // "kind: reason" -> cases
  std::vector<std::string> examples;
  for (size_t start = 0; start < cases.size(); start += kBatch) {
    std::vector<core::RawInput> batch;
    for (size_t i = start; i < cases.size() && i < start + kBatch; ++i)
      batch.push_back(core::MigrationRawInput(m, cases[i], by));
    std::vector<core::InputVerdict> verdicts;
    if (Status s = engine.ProcessBatch(batch, "cli:migrate", {}, {}, &verdicts); !s.ok())
      return Fail(s, "committing the migration");
    for (size_t i = 0; i < verdicts.size(); ++i) {
      if (verdicts[i].kind.empty()) {
        ++migrated;
        continue;
      }
      refusals[verdicts[i].kind + ": " + verdicts[i].reason]++;
    }
    if (progress) {
      std::fprintf(stderr, "amtsweg migrate: %zu of %zu cases\n",
                   std::min(start + kBatch, cases.size()), cases.size());
    }
  }
  size_t refused = 0;
  for (const auto& [why, n] : refusals)
    refused += n;
  std::printf("migrated %zu case(s) of %s from version %d to %d, refused %zu\n", migrated,
              m.workflow.c_str(), m.from, m.to, refused);
  for (const auto& [why, n] : refusals)
    std::printf("  refused %zu: %s\n", n, why.c_str());
  return kExitOk;
}

}  // namespace amtsweg::cli
