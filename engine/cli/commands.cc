#include "engine/cli/commands.h"

#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <thread>

#include "connectors/http/api_server.h"
#include "connectors/kafka/kafka_admin.h"
#include "connectors/kafka/kafka_forwarder.h"
#include "connectors/kafka/kafka_sink.h"
#include "engine/cli/command_util.h"
#include "engine/cli/output.h"
#include "engine/common/clock.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "engine/dsl/loader.h"
#include "engine/report/monitor.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/personal.h"
#include "engine/store/store.h"

namespace amtsweg::cli {

namespace {

Result<std::unique_ptr<store::Store>> OpenExisting(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/CURRENT")) {
    return Status::NotFound("no amtsweg store in '" + data_dir +
                            "' (run `amtsweg run` first or pass --data-dir)");
  }
  store::Options options;
  options.create_if_missing = false;
  return store::Store::Open(data_dir, options);
}

Result<runtime::CaseState> LoadState(const store::Store& st, const std::string& id,
                                     bool with_application = true,
                                     const core::CaseKeys* keys = nullptr) {
  ASSIGN_OR_RETURN(std::optional<runtime::CaseState> s,
                   core::LoadCaseState(st, id, with_application, keys));
  if (!s.has_value()) return Status::NotFound("no case '" + id + "'");
  return std::move(*s);
}

std::string NextDeadline(const runtime::CaseState& s) {
  const runtime::DeadlineState* next = nullptr;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active() && (next == nullptr || d.due < next->due)) next = &d;
  }
  return next == nullptr ? "-" : next->name + " " + FormatTimestamp(next->due);
}

}  // namespace

int Forward(const ForwardArgs& args) {
  Result<connectors::KafkaProperties> properties = ParseProperties(args.kafka_properties);
  if (!properties.ok()) {
    std::cerr << "amtsweg forward: " << properties.status().message() << "\n";
    return kExitUsage;
  }
  connectors::ForwarderConfig config;
  config.bootstrap = args.bootstrap;
  config.topic = args.topic;
  config.ingress_prefix = args.prefix;
  config.group = args.group;
  config.properties = std::move(properties).value();
  auto forwarder = connectors::KafkaForwarder::Open(config);
  if (!forwarder.ok()) {
    std::cerr << "amtsweg forward: " << forwarder.status().message() << "\n";
    return kExitUsage;
  }
  InstallStopSignals();
  Status s = (*forwarder)->Run([] { return StopRequested(); }, args.until_idle);
  const connectors::ForwardStats& stats = (*forwarder)->stats();
  if (!args.quiet) {
    std::printf("forwarded %llu messages from %s* to %s (%llu forged channel headers removed)\n",
                static_cast<unsigned long long>(stats.forwarded), args.prefix.c_str(),
                args.topic.c_str(), static_cast<unsigned long long>(stats.forged_headers));
  }
  if (!s.ok()) return Fail(s, "forwarding");
  return kExitOk;
}

int Produce(const ProduceArgs& args) {
  Result<connectors::KafkaProperties> properties = ParseProperties(args.kafka_properties);
  if (!properties.ok()) {
    std::cerr << "amtsweg produce: " << properties.status().message() << "\n";
    return kExitUsage;
  }
  if (!connectors::IsValidTopicName(args.topic)) {
    std::cerr << "amtsweg produce: '" << args.topic << "' is not a valid Kafka topic name\n";
    return kExitUsage;
  }
  connectors::KafkaConfig config;
  config.bootstrap = args.bootstrap;
  config.topic = args.topic;
  config.properties = std::move(properties).value();
  if (args.partitions > 0) {
    Result<int32_t> count =
        connectors::PartitionCount(config.bootstrap, config.topic, config.properties);
    if (!count.ok() && count.status().IsNotFound()) {
      connectors::TopicSpec spec;
      spec.name = config.topic;
      spec.partitions = args.partitions;
      if (Status s = connectors::CreateTopics(config.bootstrap, {spec}, config.properties); !s.ok())
        return Fail(s, "creating topic " + config.topic);
    } else if (!count.ok()) {
      return Fail(count.status(), "topic " + config.topic);
    }
  }
  auto sink = connectors::KafkaSink::Open(config);
  if (!sink.ok()) return Fail(sink.status(), "Kafka producer");
  InstallStopSignals();

  simdjson::dom::parser parser;
  uint64_t sent = 0, acked = 0, unkeyed = 0;
  std::vector<uint64_t> seqs;
  for (const std::string& path : args.files) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "amtsweg produce: cannot read '" << path << "'\n";
      return kExitUsage;
    }
    std::vector<core::OutboundMessage> entries;
    std::string line;
    uint64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      core::OutboundMessage entry;
      entry.seq = ++sent;
      entry.destination = args.topic;
      entry.id = path + ":" + std::to_string(line_no);
      simdjson::dom::element event;
      bool parsed = parser.parse(line).get(event) == simdjson::SUCCESS;
      std::string_view subject;
      if (parsed && event["subject"].get_string().get(subject) == simdjson::SUCCESS) {
        entry.key = std::string(subject);
      } else {
        ++unkeyed;  // produced as it is: the engine dead-letters it
      }
      // The Kafka binding of engine/core/cloudevent.h. A line that is no CloudEvent object goes
      // as it is, without a content-type: the engine dead-letters it.
      Result<core::KafkaMessage> binary = Status::InvalidArgument("structured mode");
      if (args.binary && parsed) binary = core::StructuredToBinary(line);
      if (binary.ok()) {
        entry.headers = std::move(binary->headers);
        entry.payload = std::move(binary->value);
      } else {
        if (parsed && event.is_object()) entry.headers = core::StructuredModeHeaders();
        entry.payload = std::move(line);
      }
      entries.push_back(std::move(entry));
      if (entries.size() >= 10000) {
        if (Status s = (*sink)->Send(std::move(entries)); !s.ok()) return Fail(s, "producing");
        entries.clear();
      }
    }
    if (Status s = (*sink)->Send(std::move(entries)); !s.ok()) return Fail(s, "producing");
  }
  while (acked < sent && !StopRequested()) {
    seqs.clear();
    if (Status s = (*sink)->Acknowledged(std::chrono::milliseconds(200), &seqs); !s.ok())
      return Fail(s, "producing");
    acked += seqs.size();
  }
  if (!args.quiet) {
    std::printf("produced %llu events to %s (%llu without a subject, sent unkeyed)\n",
                static_cast<unsigned long long>(acked), args.topic.c_str(),
                static_cast<unsigned long long>(unkeyed));
  }
  return acked == sent ? kExitOk : kExitIO;
}

namespace {

Value DiagnosticValue(const dsl::Diagnostic& d) {
  return ObjectBuilder(4)
      .Add("file", d.file)
      .Add("line", d.line)
      .Add("column", d.column)
      .Add("message", d.message)
      .Build();
}

}  // namespace

int Validate(const std::vector<std::string>& files, const std::string& directory_path, bool json) {
  std::unique_ptr<dsl::Directory> directory;
  if (!directory_path.empty()) {
    Result<std::unique_ptr<dsl::Directory>> d = dsl::Directory::Load(directory_path);
    if (!d.ok()) {  // an unusable input file, not a finding about the definitions
      std::cerr << "amtsweg validate: --directory: " << d.status().message() << "\n";
      return kExitUsage;
    }
    directory = std::move(d).value();
  }
  size_t errors = 0;
  std::map<std::pair<std::string, int>, std::string> seen;
  for (const std::string& file : files) {
    dsl::LoadResult r = dsl::LoadDefinitionFile(file, directory.get());
    if (r.definition != nullptr) {
      auto key = std::make_pair(r.definition->name, r.definition->version);
      if (auto it = seen.find(key); it != seen.end()) {
        r.errors.push_back({file, 1, 1,
                            "duplicate definition " + key.first + " version " +
                                std::to_string(key.second) + " (also in " + it->second + ")"});
      } else {
        seen.emplace(key, file);
      }
    }
    errors += r.errors.size();
    if (json) {
      ObjectBuilder out(6);
      out.Add("file", file).Add("ok", r.errors.empty());
      if (r.definition != nullptr) {
        out.Add("workflow", r.definition->name)
            .Add("version", r.definition->version)
            .Add("states", static_cast<int64_t>(r.definition->states.size()));
      }
      std::vector<Value> list;
      list.reserve(r.errors.size());
      for (const dsl::Diagnostic& d : r.errors)
        list.push_back(DiagnosticValue(d));
      out.Add("errors", Value::Array(std::move(list)));
      std::cout << out.Build().ToJson() << "\n";
      continue;
    }
    for (const dsl::Diagnostic& d : r.errors)
      std::cerr << d.ToString() << "\n";
    if (r.errors.empty()) {
      std::cout << file << ": ok (" << r.definition->name << " version " << r.definition->version
                << ", " << r.definition->states.size() << " states)\n";
    }
  }
  if (errors > 0) {
    if (!json) std::cerr << errors << " error(s)\n";
    return kExitFailed;
  }
  return kExitOk;
}

int CaseList(const ListArgs& args) {
  auto st = OpenExisting(args.data_dir);
  if (!st.ok()) return Fail(st.status(), "case list");
  core::CaseFilter filter;
  filter.workflow = args.workflow;
  filter.state = args.state;
  filter.participant = args.participant;
  filter.outcome = args.outcome;
  Result<core::CasePage> page = core::ListCases(**st, filter);
  if (!page.ok()) return Fail(page.status(), "case list");
  Table table({"CASE", "WORKFLOW", "STATE", "OUTCOME", "OPENED", "UPDATED", "NEXT DEADLINE"});
  for (const runtime::CaseState& s : page->cases) {
    std::string outcome = s.outcome.empty() ? "open" : s.outcome;
    if (args.json) {
      std::cout << ObjectBuilder()
                       .Add("case", s.id)
                       .Add("workflow", s.workflow)
                       .Add("version", s.version)
                       .Add("state", s.state)
                       .Add("outcome", outcome)
                       .Add("opened_at", FormatTimestamp(s.opened_at))
                       .Add("updated_at", FormatTimestamp(s.updated_at))
                       .Add("seq", static_cast<int64_t>(s.seq))
                       .Build()
                       .ToJson()
                << "\n";
    } else {
      table.Add({s.id, s.workflow + " v" + std::to_string(s.version), s.state, outcome,
                 FormatTimestamp(s.opened_at), FormatTimestamp(s.updated_at), NextDeadline(s)});
    }
  }
  if (!args.json) {
    table.Print(std::cout);
    std::cout << table.rows() << " case(s)\n";
  }
  return kExitOk;
}

int CaseShow(const std::string& data_dir, const std::string& id, bool json) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "case show");
  Result<OpenedKeys> keys = OpenKeys(data_dir, {}, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "case show");
  Result<runtime::CaseState> s = LoadState(**st, id, true, keys->get());
  if (!s.ok()) {
    std::cerr << "amtsweg case show: " << s.status().message() << "\n";
    return s.status().IsNotFound() ? kExitFailed : kExitIO;
  }
  if (json) {
    std::cout << runtime::StateToValue(*s).ToJson() << "\n";
    return kExitOk;
  }
  PrintCase(*s, std::cout);
  return kExitOk;
}

int CaseHistory(const std::string& data_dir, const std::string& id) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "case history");
  Result<OpenedKeys> keys = OpenKeys(data_dir, {}, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "case history");
  Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(**st, id, keys->get());
  if (!history.ok()) {
    if (!history.status().IsNotFound()) return Fail(history.status(), "case history");
    std::cerr << "amtsweg case history: " << history.status().message() << "\n";
    return kExitFailed;
  }
  for (const core::HistoryEntry& h : *history)
    std::cout << core::FullEventView(h).ToJson() << "\n";
  return kExitOk;
}

int Replay(const ReplayArgs& args) {
  auto st = OpenExisting(args.data_dir);
  if (!st.ok()) return Fail(st.status(), "replay");
  Result<OpenedKeys> keys = OpenKeys(args.data_dir, {}, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "replay");
  Timestamp as_of = INT64_MAX;
  if (!args.as_of.empty()) {
    Result<Timestamp> t = ParseTimestamp(args.as_of);
    if (!t.ok()) return Fail(t.status(), "--as-of");
    as_of = *t;
  }
  Result<core::Replay> replay =
      core::ReplayCase(**st, args.id, args.upto.value_or(UINT64_MAX), as_of, keys->get());
  if (!replay.ok()) {
    if (!replay.status().IsNotFound() && !replay.status().IsCorruption())
      return Fail(replay.status(), "replay");
    std::cerr << "amtsweg replay: " << replay.status().message()
              << (args.as_of.empty() ? "" : " (as of " + args.as_of + ")") << "\n";
    return kExitFailed;
  }
  std::cout << runtime::StateToValue(replay->state).ToJson() << "\n";
  if (!args.verify) return kExitOk;
  Result<core::Verification> v = core::VerifyCase(**st, args.id, keys->get());
  if (!v.ok()) {
    std::cerr << "amtsweg replay: verification FAILED: " << v.status().message() << "\n";
    return kExitFailed;
  }
  if (!v->chain_intact) {
    std::cerr << "amtsweg replay: verification FAILED: " << v->chain_error << "\n";
    return kExitFailed;
  }
  bool full = replay->state.seq == replay->last_seq;
  if (full && !v->snapshot_matches) {
    std::cerr << "amtsweg replay: verification FAILED: case " << args.id
              << ": the stored snapshot differs from the state replayed from the log\n";
    return kExitFailed;
  }
  std::cerr << "verified: case " << args.id << ", " << replay->applied << " of " << replay->last_seq
            << " events replayed, hash chain intact" << (full ? ", snapshot matches the log" : "")
            << "\n";
  return kExitOk;
}

int AuditVerify(const std::string& data_dir, bool quiet, bool json) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "audit verify");
  std::vector<std::pair<std::string, uint64_t>> cases;
  Status s = (*st)->ScanCases([&](std::string_view id, const store::CaseRecord& r) {
    cases.emplace_back(std::string(id), r.last_seq);
    return true;
  });
  if (!s.ok()) return Fail(s, "audit verify");
  Progress progress;
  progress.enabled = !quiet && isatty(STDERR_FILENO) != 0;
  uint64_t events = 0;
  size_t failures = 0;
  std::vector<Value> tampered;
  for (size_t i = 0; i < cases.size(); ++i) {
    Status v = (*st)->VerifyChain(cases[i].first);
    if (!v.ok()) {
      std::cerr << "TAMPERED: " << v.message() << "\n";
      tampered.push_back(
          ObjectBuilder(2).Add("case", cases[i].first).Add("error", v.message()).Build());
      ++failures;
    }
    events += cases[i].second;
    if (progress.Due()) std::fprintf(stderr, "\r%zu of %zu cases verified", i + 1, cases.size());
  }
  if (progress.enabled) std::fprintf(stderr, "\n");
  if (json) {
    std::cout << ObjectBuilder(4)
                     .Add("cases", static_cast<int64_t>(cases.size()))
                     .Add("events", static_cast<int64_t>(events))
                     .Add("intact", failures == 0)
                     .Add("tampered", Value::Array(std::move(tampered)))
                     .Build()
                     .ToJson()
              << "\n";
    return failures == 0 ? kExitOk : kExitFailed;
  }
  if (failures > 0) {
    std::cerr << "audit verify: " << failures << " of " << cases.size()
              << " case(s) failed verification\n";
    return kExitFailed;
  }
  std::cout << "audit verify: " << cases.size() << " cases, " << events
            << " events: every hash chain intact\n";
  return kExitOk;
}

const std::vector<std::string>& DeadLetterKinds() {
  // docs/events.md, "Dead letters" (the test DeadLetterKindsAreTheDocumentedOnes compares them),
  // and the refusals of an erasure command (open-case, not-encrypted).
  static const std::vector<std::string> kinds = {"oversized",
                                                 "malformed",
                                                 "duplicate",
                                                 "misrouted",
                                                 "future",
                                                 "impersonation",
                                                 "unbound-participant",
                                                 "unknown-type",
                                                 "unknown-case",
                                                 "no-workflow",
                                                 "invalid-application",
                                                 "unauthorised-submitter",
                                                 "unroutable",
                                                 "case-exists",
                                                 "closed-case",
                                                 "not-a-participant",
                                                 "wrong-role",
                                                 "unknown-task",
                                                 "duplicate-response",
                                                 "invalid-response",
                                                 "invalid-answer",
                                                 "unexpected-answer",
                                                 "invalid-extension",
                                                 "invalid-request",
                                                 "no-deemed-approval",
                                                 "no-transition",
                                                 "condition-false",
                                                 "unknown-workflow",
                                                 "forbidden",
                                                 "invalid-mapping",
                                                 "wrong-version",
                                                 "internal-error",
                                                 "open-case",
                                                 "not-encrypted"};
  return kinds;
}

int DeadLetters(const std::string& data_dir, bool json, const std::string& kind) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "dead-letters");
  Table table({"SEQ", "AT", "SOURCE", "POSITION", "REASON"});
  Status s = (*st)->ScanDeadLetters([&](const store::DeadLetter& d) {
    if (!kind.empty() && core::DeadLetterKind(d) != kind) return true;
    if (json) {
      std::cout << core::DeadLetterView(d).ToJson() << "\n";
    } else {
      table.Add({std::to_string(d.seq), FormatTimestamp(d.at), d.source, d.position, d.reason});
    }
    return true;
  });
  if (!s.ok()) return Fail(s, "dead-letters");
  if (!json) {
    table.Print(std::cout);
    std::cout << table.rows() << " dead letter(s)\n";
  }
  return kExitOk;
}

int Deadlines(const std::string& data_dir, const std::string& due_before, bool json) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "deadlines");
  Timestamp upto = INT64_MAX;
  if (!due_before.empty()) {
    Result<Timestamp> t = ParseTimestamp(due_before);
    if (!t.ok()) return Fail(t.status(), "--due-before");
    upto = *t - 1;
  }
  Table table({"DUE", "CASE", "DEADLINE", "WORKFLOW", "STATE"});
  Status error;
  Status s = (*st)->DueTimers(upto, [&](const store::Timer& t) {
    // A retention period is no deadline of the procedure: `amtsweg retention --dry-run`.
    if (t.name == core::kRetentionTimer) return true;
    Result<runtime::CaseState> c = LoadState(**st, t.case_id, /*with_application=*/false);
    if (!c.ok()) {
      error = c.status();
      return false;
    }
    if (json) {
      std::cout << ObjectBuilder()
                       .Add("due", FormatTimestamp(t.due))
                       .Add("case", t.case_id)
                       .Add("deadline", t.name)
                       .Add("workflow", c->workflow)
                       .Add("state", c->state)
                       .Build()
                       .ToJson()
                << "\n";
    } else {
      table.Add({FormatTimestamp(t.due), t.case_id, t.name, c->workflow, c->state});
    }
    return true;
  });
  if (!s.ok()) return Fail(s, "deadlines");
  if (!error.ok()) return Fail(error, "deadlines");
  if (!json) {
    table.Print(std::cout);
    std::cout << table.rows() << " running deadline(s)\n";
  }
  return kExitOk;
}

int Rebuild(const std::string& data_dir, bool quiet) {
  auto st = OpenExisting(data_dir);
  if (!st.ok()) return Fail(st.status(), "rebuild");
  Result<OpenedKeys> keys = OpenKeys(data_dir, {}, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "rebuild");
  std::vector<std::string> ids;
  Status s = (*st)->ScanCases([&](std::string_view id, const store::CaseRecord&) {
    ids.emplace_back(id);
    return true;
  });
  if (!s.ok()) return Fail(s, "rebuild");
  if (Status c = (*st)->ClearIndex(); !c.ok()) return Fail(c, "rebuild");
  Progress progress;
  progress.enabled = !quiet && isatty(STDERR_FILENO) != 0;
  uint64_t events = 0;
  constexpr size_t kCasesPerCommit = 1000;
  store::Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) {
    runtime::CaseState state;
    Status error;
    core::SealerRef sealer;
    if (keys->get() != nullptr) {
      Result<core::SealerRef> found = keys->get()->SealerOf(ids[i]);
      if (!found.ok()) return Fail(found.status(), "rebuild");
      sealer = std::move(found).value();
    }
    Status scan = (*st)->ScanEvents(ids[i], 1, UINT64_MAX, [&](const store::EventRecord& r) {
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
      error = e.status();
      if (error.ok() && !e->sealed_paths.empty() && keys->get() == nullptr) {
        // Snapshots rebuilt without the values would wipe them from the running cases.
        error = Status::InvalidArgument("its events are sealed, and there is no key store at " +
                                        crypto::DefaultKeyDir(data_dir));
      }
      if (error.ok() && keys->get() != nullptr)
        error = runtime::UnsealEvent(ids[i], sealer.get(), &*e);
      if (error.ok()) error = runtime::Apply(&state, *e);
      ++events;
      return error.ok();
    });
    if (!scan.ok()) return Fail(scan, "rebuild");
    if (!error.ok()) return Fail(error.WithContext("case " + ids[i]), "rebuild");
    store::CaseWrite w;
    w.case_id = ids[i];
    w.snapshot = sealer != nullptr ? runtime::EncodeSealedSnapshot(state, *sealer)
                                   : runtime::EncodeSnapshot(state);
    w.index_add = core::IndexKeys(state);
    batch.cases.push_back(std::move(w));
    if (batch.cases.size() == kCasesPerCommit || i + 1 == ids.size()) {
      Result<store::CommitResult> c = (*st)->Commit(batch);
      if (!c.ok()) return Fail(c.status(), "rebuild");
      batch = store::Batch();
    }
    if (progress.Due()) std::fprintf(stderr, "\r%zu of %zu cases rebuilt", i + 1, ids.size());
  }
  if (progress.enabled) std::fprintf(stderr, "\n");
  if (!quiet) {
    std::cout << "rebuilt snapshots and indexes of " << ids.size() << " cases from " << events
              << " events\n";
  }
  return kExitOk;
}

int Serve(const ServeArgs& args) {
  Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
  if (!directory.ok()) {
    std::cerr << directory.status().message() << "\n";
    return kExitUsage;
  }
  http::ApiOptions api_options;
  Result<std::unique_ptr<http::Principals>> principals =
      LoadApi(args.api, **directory, &api_options);
  if (!principals.ok()) {
    std::cerr << "amtsweg serve: " << principals.status().message() << "\n";
    return kExitUsage;
  }
  dsl::Registry registry;
  if (!args.workflows.empty()) {
    dsl::RegistryLoadResult loaded = dsl::LoadRegistry(args.workflows, directory->get());
    if (!loaded.errors.empty()) {
      for (const dsl::Diagnostic& d : loaded.errors)
        std::cerr << d.ToString() << "\n";
      std::cerr << "amtsweg serve: " << loaded.errors.size() << " error(s) in " << args.workflows
                << "\n";
      return kExitUsage;
    }
    registry = std::move(loaded.registry);
  }
  auto st = OpenExisting(args.data_dir);
  if (!st.ok()) return Fail(st.status(), "serve");
  Result<OpenedKeys> keys = OpenKeys(args.data_dir, args.keys, /*create=*/false);
  if (!keys.ok()) return Fail(keys.status(), "serve");
  api_options.keys = keys->get();
  if (Status s = core::AddDeployedDefinitions(**st, directory->get(), &registry); !s.ok())
    return Fail(s, "definitions deployed through the API");
  report::StatusPageOptions page;
  page.service_names = report::ServiceNames(registry);
  page.region_names = report::RegionNames(**directory);
  report::Monitor monitor(**st, std::move(page));
  api_options.monitor = &monitor;
  core::Catalog catalog(**st, **directory, std::move(registry));
  SystemClock clock;
  Result<std::unique_ptr<http::ApiServer>> server =
      http::ApiServer::Start(api_options, **st, catalog, **directory, **principals, clock);
  if (!server.ok()) return Fail(server.status(), "--listen");
  InstallStopSignals();
  std::printf("amtsweg serve: listening on %s%s:%d\n",
              api_options.tls_cert_file.empty() ? "" : "https://", api_options.host.c_str(),
              (*server)->port());
  std::fflush(stdout);
  while (!StopRequested())
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  (*server)->Stop();
  return kExitOk;
}

int Token(const std::string& name, const std::string& role, const std::string& organisation,
          const std::string& add_to) {
  Result<http::NewToken> t = http::GenerateToken();
  if (!t.ok()) return Fail(t.status(), "token");
  std::string line = "  - {name: " + (name.empty() ? std::string("NAME") : name) +
                     ", role: " + (role.empty() ? std::string("auditor") : role);
  if (!organisation.empty()) line += ", organisation: " + organisation;
  line += ", token_sha256: " + t->sha256 + "}\n";
  if (!add_to.empty()) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(add_to, ec);
    std::string before;
    if (exists) {
      std::ifstream in(add_to);
      if (!in) return Fail(Status::InvalidArgument("cannot read '" + add_to + "'"), "token");
      before.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::ofstream out(add_to, std::ios::app);
    if (!exists) out << "principals:\n";
    if (!before.empty() && before.back() != '\n') out << "\n";
    out << line;
    out.close();
    if (!out) return Fail(Status::IOError("cannot write '" + add_to + "'"), "token");
  }
  std::cout << "token: " << t->token << "\n" << line;
  if (!add_to.empty()) std::cout << "(the line is added to " << add_to << ")\n";
  return kExitOk;
}

}  // namespace amtsweg::cli
