// amtsweg case erase and amtsweg retention (docs/data-protection.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "engine/cli/command_util.h"
#include "engine/cli/commands.h"
#include "engine/cli/output.h"
#include "engine/common/clock.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/dsl/loader.h"
#include "engine/store/store.h"

namespace amtsweg::cli {

namespace {

Result<std::unique_ptr<store::Store>> OpenStoreOf(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/CURRENT")) {
    return Status::NotFound("no amtsweg store in '" + data_dir + "' (pass --data-dir)");
  }
  store::Options options;
  options.create_if_missing = false;
  return store::Store::Open(data_dir, options);
}

void RecordLocal(store::Store& st, const std::string& path, int status,
                 const std::string& case_id) {
  SystemClock wall;
  store::AccessRecord r;
  r.at = wall.Now();
  r.principal = LocalAdmin();
  r.role = "admin";
  r.method = "CLI";
  r.path = path;
  r.status = status;
  r.case_id = case_id;
  if (Result<uint64_t> s = st.AppendAccess(r); !s.ok())
    std::cerr << "amtsweg: recording the operation in the access log failed: "
              << s.status().message() << "\n";
}

}  // namespace

int CaseErase(const EraseArgs& args) {
  if (args.reason.empty() || args.basis.empty()) {
    std::cerr << "amtsweg case erase: give --reason (why) and --basis (the legal basis, e.g. "
                 "\"Art. 17(1)(a) DSGVO\")\n";
    return kExitUsage;
  }
  Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
  if (!directory.ok()) {
    std::cerr << directory.status().message() << "\n";
    return kExitUsage;
  }
  auto st = OpenStoreOf(args.data_dir);
  if (!st.ok()) return Fail(st.status(), "case erase");
  Result<OpenedKeys> keys = OpenKeys(args.data_dir, args.keys, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "case erase");
  if (keys->get() == nullptr) {
    std::cerr << "amtsweg case erase: no key store at "
              << (args.keys.key_dir.empty() ? crypto::DefaultKeyDir(args.data_dir)
                                            : args.keys.key_dir)
              << ": the store's data is not encrypted, so it cannot be erased\n";
    return kExitFailed;
  }
  dsl::Registry registry;
  if (!args.workflows.empty()) {
    dsl::RegistryLoadResult loaded = dsl::LoadRegistry(args.workflows, directory->get());
    for (const dsl::Diagnostic& d : loaded.errors)
      std::cerr << d.ToString() << "\n";
    if (!loaded.errors.empty()) return kExitUsage;
    registry = std::move(loaded.registry);
  }
  if (Status s = core::AddDeployedDefinitions(**st, directory->get(), &registry); !s.ok())
    return Fail(s, "definitions deployed through the API");
  Result<std::optional<runtime::CaseState>> before =
      core::LoadCaseState(**st, args.id, /*with_application=*/false, keys->get());
  if (!before.ok()) return Fail(before.status(), "case erase");
  const std::string path = "case erase " + args.id;
  if (!before->has_value()) {
    std::cerr << "amtsweg case erase: no case '" << args.id << "'\n";
    return kExitFailed;
  }
  if ((*before)->erased()) {
    std::cout << "case " << args.id << " was erased at " << FormatTimestamp((*before)->erased_at)
              << "; nothing to do\n";
    return kExitOk;
  }

  ManualClock clock(0);
  SystemClock wall;
  core::EngineOptions options;
  options.keys = keys->get();
  core::Engine engine(**st, registry, **directory, clock, options);
  if (Status s = engine.Open(); !s.ok()) return Fail(s, "case erase");
  const Timestamp now = wall.Now();
  core::RawInput raw;
  raw.bytes =
      ObjectBuilder()
          .Add("specversion", "1.0")
          .Add("id", "erasure:" + args.id + ":" + FormatTimestamp(now))
          .Add("source", "urn:amtsweg:cli")
          .Add("type", runtime::input_type::kErasureRequested)
          .Add("subject", args.id)
          .Add("time", FormatTimestamp(now))
          .Add("data", ObjectBuilder().Add("reason", args.reason).Add("basis", args.basis).Build())
          .Build()
          .ToJson();
  raw.size = raw.bytes.size();
  raw.where = "command line";
  raw.channel = "the command line of " + LocalAdmin();
  raw.origin = "cli";
  raw.admin = LocalAdmin();
  std::vector<core::InputVerdict> verdicts;
  if (Status s = engine.ProcessBatch({raw}, "cli", {}, {}, &verdicts); !s.ok()) {
    RecordLocal(**st, path, 1, args.id);
    return Fail(s, "case erase");
  }
  if (!verdicts.empty() && !verdicts.front().kind.empty()) {
    RecordLocal(**st, path, 1, args.id);
    std::cerr << "amtsweg case erase: " << verdicts.front().kind << ": " << verdicts.front().reason
              << "\n";
    return kExitFailed;
  }
  RecordLocal(**st, path, 0, args.id);
  Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(**st, args.id, keys->get());
  std::string notified;
  if (history.ok() && !history->empty()) {
    if (const auto* e = history->back().event.As<runtime::CaseErased>()) {
      for (const std::string& org : e->notified)
        notified += (notified.empty() ? "" : ", ") + org;
    }
  }
  std::cout << "erased the personal data of case " << args.id
            << ": its key is destroyed; erasure notices wait in the outbox for "
            << (notified.empty() ? std::string("nobody (no organisation received personal data)")
                                 : notified)
            << "\n";
  return kExitOk;
}

int Retention(const RetentionArgs& args) {
  if (!args.dry_run) {
    std::cerr << "amtsweg retention: the engine erases cases when their retention period ends "
                 "(a timer like every deadline); this command only lists them: add --dry-run\n";
    return kExitUsage;
  }
  Timestamp until = INT64_MAX;
  if (!args.until.empty()) {
    Result<Timestamp> t = ParseTimestamp(args.until);
    if (!t.ok()) return Fail(t.status(), "--until");
    until = *t;
  }
  auto st = OpenStoreOf(args.data_dir);
  if (!st.ok()) return Fail(st.status(), "retention");
  Progress progress;
  progress.enabled = isatty(STDERR_FILENO) != 0;
  Table table({"case", "workflow", "closed", "erased at"});
  uint64_t seen = 0, listed = 0;
  Status failed;
  Status s = (*st)->DueTimers(until, [&](const store::Timer& t) {
    ++seen;
    if (progress.Due())
      std::fprintf(stderr, "\r%llu timers read", static_cast<unsigned long long>(seen));
    if (t.name != core::kRetentionTimer) return true;
    Result<std::optional<runtime::CaseState>> c = core::LoadCaseState(
        **st, t.case_id, /*with_application=*/false, static_cast<const runtime::Sealer*>(nullptr));
    if (!c.ok()) {
      failed = c.status();
      return false;
    }
    if (!c->has_value() || (*c)->erased()) return true;
    ++listed;
    const runtime::CaseState& cs = **c;
    if (args.json) {
      std::cout << ObjectBuilder()
                       .Add("case", cs.id)
                       .Add("workflow", cs.workflow)
                       .Add("version", cs.version)
                       .Add("closed_at", FormatTimestamp(cs.closed_at))
                       .Add("erase_at", FormatTimestamp(t.due))
                       .Build()
                       .ToJson()
                << "\n";
    } else {
      table.Add({cs.id, cs.workflow + " v" + std::to_string(cs.version),
                 FormatTimestamp(cs.closed_at), FormatTimestamp(t.due)});
    }
    return true;
  });
  if (progress.enabled && seen > 0) std::fprintf(stderr, "\n");
  if (!s.ok()) return Fail(s, "retention");
  if (!failed.ok()) return Fail(failed, "retention");
  if (!args.json) {
    table.Print(std::cout);
    std::cout << listed << " case(s) would be erased"
              << (args.until.empty() ? "" : " by " + args.until) << " (dry run: nothing changed)\n";
  }
  return kExitOk;
}

}  // namespace amtsweg::cli
