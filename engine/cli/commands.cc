#include "engine/cli/commands.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "connectors/file/file_sink.h"
#include "connectors/file/file_source.h"
#include "connectors/http/api_server.h"
#include "connectors/kafka/kafka_admin.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "connectors/webhook/routing_sink.h"
#include "connectors/webhook/webhook_sink.h"
#include "engine/cli/output.h"
#include "engine/common/clock.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/dsl/loader.h"
#include "engine/report/monitor.h"
#include "engine/runtime/case_state.h"
#include "engine/store/store.h"

namespace amtsweg::cli {

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  g_stop.store(true);
}

int Fail(const Status& s, std::string_view context) {
  std::cerr << "amtsweg: " << context << ": " << s.ToString() << "\n";
  return s.IsInvalidArgument() ? kExitUsage : kExitIO;
}

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
                                     bool with_application = true) {
  ASSIGN_OR_RETURN(std::optional<runtime::CaseState> s,
                   core::LoadCaseState(st, id, with_application));
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

struct Progress {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = start;
  bool enabled = true;

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // At most once a second.
  bool Due() {
    if (!enabled) return false;
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1)) return false;
    last = now;
    return true;
  }
};

// The run summary: every input counted once (inputs = accepted + refused + duplicates), fired
// timers apart (fired = expired + stale + refused; refused only when there are any).
std::string RunSummary(const core::EngineStats& s, double seconds) {
  auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  char refused[48] = "";
  if (s.timers_refused > 0)
    std::snprintf(refused, sizeof refused, ", %llu refused", n(s.timers_refused));
  char line[640];
  std::snprintf(
      line, sizeof line,
      "processed %llu inputs in %.2f s (%.0f inputs/s): %llu accepted, %llu refused, %llu "
      "duplicates; %llu deadline timers fired (%llu expired, %llu stale%s); %llu domain "
      "events; %llu cases opened, %llu closed; %llu outbound events published",
      n(s.inputs), seconds, static_cast<double>(s.inputs) / std::max(seconds, 1e-3), n(s.accepted),
      n(s.rejected), n(s.duplicates), n(s.timers_fired), n(s.timers_expired), n(s.timers_stale),
      refused, n(s.domain_events), n(s.cases_opened), n(s.cases_closed), n(s.published));
  return line;
}

// The input read moved the clock past `--advance-to`: the clock stays (it never moves backwards);
// deadlines due by then that the lanes held back still fire.
void NoteClockPast(const core::Engine& engine, Timestamp advance_to, bool quiet) {
  if (quiet || advance_to >= engine.now()) return;
  std::fprintf(stderr,
               "amtsweg run: the input moved the clock to %s, past --advance-to %s; it stays\n",
               FormatTimestamp(engine.now()).c_str(), FormatTimestamp(advance_to).c_str());
}

// Loads the principals of the HTTP API and fills `*options` from `api`.
Result<std::unique_ptr<http::Principals>> LoadApi(const ApiArgs& api,
                                                  const dsl::Directory& directory,
                                                  http::ApiOptions* options) {
  if (api.principals.empty()) return Status::InvalidArgument("--listen needs --principals FILE");
  RETURN_IF_ERROR(http::ParseListen(api.listen, options));
  options->threads = api.threads;
  options->max_body_bytes = api.max_body_bytes;
  return http::Principals::Load(api.principals, directory);
}

}  // namespace

// "name=value" -> {name, value}.
Result<connectors::KafkaProperties> ParseProperties(const std::vector<std::string>& specs) {
  connectors::KafkaProperties out;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("-X '" + spec + "': expected NAME=VALUE");
    }
    out.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  return out;
}

Result<connectors::KafkaConfig> KafkaConfigOf(const RunArgs& args) {
  connectors::KafkaConfig config;
  if (!args.kafka_config.empty()) {
    ASSIGN_OR_RETURN(config, connectors::LoadKafkaConfig(args.kafka_config));
  }
  if (!args.bootstrap.empty()) config.bootstrap = args.bootstrap;
  if (!args.topic.empty()) config.topic = args.topic;
  if (!args.group.empty()) config.group = args.group;
  if (!args.audit_topic.empty()) config.audit_topic = args.audit_topic;
  if (!args.dead_letter_topic.empty()) config.dead_letter_topic = args.dead_letter_topic;
  ASSIGN_OR_RETURN(connectors::KafkaProperties extra, ParseProperties(args.kafka_properties));
  config.properties.insert(config.properties.end(), extra.begin(), extra.end());
  std::string missing;
  if (config.bootstrap.empty()) missing += " --bootstrap";
  if (config.topic.empty()) missing += " --topic";
  if (config.group.empty()) missing += " --group";
  if (!missing.empty()) {
    return Status::InvalidArgument("--source kafka needs" + missing +
                                   " (or the same in --kafka-config)");
  }
  for (const std::string* t : {&config.topic, &config.audit_topic, &config.dead_letter_topic}) {
    if (!connectors::IsValidTopicName(*t))
      return Status::InvalidArgument("'" + *t + "' is not a valid Kafka topic name");
  }
  return config;
}

// Creates the topics amtsweg writes to that do not exist yet: the audit and dead-letter topics
// and one per organisation of the directory, with the input topic's partition count.
Status EnsureOutboundTopics(const connectors::KafkaConfig& config,
                            const dsl::Directory& directory) {
  Result<int32_t> input =
      connectors::PartitionCount(config.bootstrap, config.topic, config.properties);
  if (!input.ok()) {
    if (!input.status().IsNotFound())
      return input.status().WithContext("input topic '" + config.topic + "'");
    return Status::NotFound("input topic '" + config.topic + "' does not exist on " +
                            config.bootstrap + " (create it first, see docs/operations.md)");
  }
  int32_t partitions = *input;
  std::vector<std::string> names = {config.audit_topic, config.dead_letter_topic};
  for (const dsl::Organisation& org : directory.organisations()) {
    if (!org.webhook.empty()) continue;  // delivered by webhook, not to a topic
    names.push_back(core::OrganisationDestination(org));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<connectors::TopicSpec> missing;
  for (const std::string& name : names) {
    Result<int32_t> count = connectors::PartitionCount(config.bootstrap, name, config.properties);
    if (count.ok()) continue;
    if (!count.status().IsNotFound()) return count.status().WithContext("topic '" + name + "'");
    connectors::TopicSpec spec;
    spec.name = name;
    spec.partitions = partitions;
    missing.push_back(std::move(spec));
  }
  if (missing.empty()) return Status::OK();
  spdlog::info("creating {} outbound topic(s) with {} partitions", missing.size(), partitions);
  return connectors::CreateTopics(config.bootstrap, missing, config.properties);
}

// The webhook endpoints of the directory's organisations, with their secrets read from the
// environment or from files (relative to the directory file). InvalidArgument naming the
// organisation when a secret is missing or empty.
Result<connectors::WebhookOptions> WebhookOptionsOf(const RunArgs& args,
                                                    const dsl::Directory& directory) {
  connectors::WebhookOptions options;
  for (const dsl::Organisation& org : directory.organisations()) {
    if (org.webhook.empty()) continue;
    std::string secret;
    if (!org.webhook_secret_env.empty()) {
      const char* value = std::getenv(org.webhook_secret_env.c_str());
      if (value == nullptr || *value == '\0') {
        return Status::InvalidArgument("the webhook secret of '" + org.id +
                                       "': environment variable " + org.webhook_secret_env +
                                       " is not set or empty");
      }
      secret = value;
    } else {
      std::filesystem::path path = org.webhook_secret_file;
      if (path.is_relative()) path = std::filesystem::path(args.directory).parent_path() / path;
      std::ifstream in(path, std::ios::binary);
      std::stringstream content;
      content << in.rdbuf();
      secret = content.str();
      // A trailing newline (as editors and `echo` leave it) is not part of the secret.
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
        secret.pop_back();
      if (!in || secret.empty()) {
        return Status::InvalidArgument("the webhook secret of '" + org.id + "': file " +
                                       path.string() + " cannot be read or is empty");
      }
    }
    options.endpoints[core::OrganisationDestination(org)] = {org.webhook, std::move(secret)};
  }
  options.connect_timeout = std::chrono::milliseconds(args.webhook_connect_timeout_ms);
  options.read_timeout = std::chrono::milliseconds(args.webhook_read_timeout_ms);
  options.max_backoff = std::chrono::milliseconds(args.webhook_max_backoff_ms);
  options.initial_backoff =
      std::min(options.initial_backoff, std::chrono::milliseconds(args.webhook_max_backoff_ms));
  options.workers = args.webhook_workers;
  options.ca_file = args.webhook_ca_file;
  options.seed = std::random_device{}();
  return options;
}

int Run(const RunArgs& args) {
  Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
  if (!directory.ok()) {
    std::cerr << directory.status().message() << "\n";
    return kExitUsage;
  }
  dsl::RegistryLoadResult loaded = dsl::LoadRegistry(args.workflows, directory->get());
  if (!loaded.errors.empty()) {
    for (const dsl::Diagnostic& d : loaded.errors)
      std::cerr << d.ToString() << "\n";
    std::cerr << "amtsweg run: " << loaded.errors.size() << " error(s) in " << args.workflows
              << "; nothing was processed\n";
    return kExitUsage;
  }
  std::unique_ptr<http::Principals> principals;
  http::ApiOptions api_options;
  if (args.api.listen.empty() && !args.api.principals.empty()) {
    std::cerr << "amtsweg run: --principals needs --listen HOST:PORT\n";
    return kExitUsage;
  }
  Result<connectors::WebhookOptions> webhook_config = WebhookOptionsOf(args, **directory);
  if (!webhook_config.ok()) {
    std::cerr << "amtsweg run: " << webhook_config.status().message() << "\n";
    return kExitUsage;
  }
  connectors::WebhookOptions webhook_options = std::move(webhook_config).value();
  if (!args.api.listen.empty()) {
    Result<std::unique_ptr<http::Principals>> p = LoadApi(args.api, **directory, &api_options);
    if (!p.ok()) {
      std::cerr << "amtsweg run: " << p.status().message() << "\n";
      return kExitUsage;
    }
    principals = std::move(p).value();
  }
  Timestamp advance_to = 0;
  if (!args.advance_to.empty()) {
    Result<Timestamp> t = ParseTimestamp(args.advance_to);
    if (!t.ok()) return Fail(t.status(), "--advance-to");
    advance_to = *t;
  }
  std::vector<std::unique_ptr<connectors::FileSource>> sources;
  bool kafka = false;
  for (const std::string& spec : args.sources) {
    if (spec == "kafka") {
      kafka = true;
      continue;
    }
    if (spec.rfind("file:", 0) != 0) {
      std::cerr << "amtsweg run: unsupported --source '" << spec << "' (give file:PATH or kafka)\n";
      return kExitUsage;
    }
    auto src = connectors::FileSource::Open(spec.substr(5), args.max_event_bytes);
    if (!src.ok()) return Fail(src.status(), "--source");
    sources.push_back(std::move(src).value());
  }
  if (kafka && !sources.empty()) {
    std::cerr << "amtsweg run: --source kafka cannot be combined with file sources "
                 "(load files into the topic with `amtsweg produce`)\n";
    return kExitUsage;
  }
  connectors::KafkaConfig kafka_config;
  if (kafka) {
    Result<connectors::KafkaConfig> config = KafkaConfigOf(args);
    if (!config.ok()) {
      std::cerr << "amtsweg run: " << config.status().message() << "\n";
      return kExitUsage;
    }
    kafka_config = std::move(config).value();
  } else if (!args.kafka_config.empty() || !args.bootstrap.empty() || !args.topic.empty() ||
             !args.group.empty() || !args.kafka_properties.empty()) {
    std::cerr << "amtsweg run: Kafka options need --source kafka\n";
    return kExitUsage;
  }

  std::error_code ec;
  std::filesystem::create_directories(args.data_dir, ec);
  store::Options store_options;
  store_options.sync = !args.no_sync;
  Result<std::unique_ptr<store::Store>> st = store::Store::Open(args.data_dir, store_options);
  if (!st.ok()) return Fail(st.status(), "opening the store");
  if (Status s = core::AddDeployedDefinitions(**st, directory->get(), &loaded.registry); !s.ok())
    return Fail(s, "definitions deployed through the API");
  if (loaded.registry.All().empty()) {
    std::cerr << "amtsweg run: no workflow definitions (*.yaml) in " << args.workflows << "\n";
    return kExitUsage;
  }
  if (!args.crash_at.empty()) {
    std::optional<store::CrashPoint> point = store::ParseCrashPoint(args.crash_at);
    if (!point.has_value()) {
      std::cerr << "amtsweg run: unknown crash point '" << args.crash_at << "'\n";
      return kExitUsage;
    }
    auto count = std::make_shared<uint64_t>(0);
    (*st)->SetCrashHook([point, count, after = args.crash_after](store::CrashPoint p) {
      if (p != *point) return;
      if (++*count >= after) _exit(99);
    });
  }
  // Organisations with a webhook get their events through a WebhookSink, all others through
  // Kafka or files; a RoutingSink in front sends each entry its way.
  std::unique_ptr<core::Sink> base_sink;
  std::unique_ptr<connectors::WebhookSink> webhook_sink;
  std::unique_ptr<core::Sink> sink;  // declared last: it borrows the two above
  if (kafka) {
    auto kafka_sink = connectors::KafkaSink::Open(kafka_config);
    if (!kafka_sink.ok()) return Fail(kafka_sink.status(), "Kafka producer");
    base_sink = std::move(kafka_sink).value();
  } else {
    auto file_sink =
        connectors::FileSink::Open(args.out_dir.empty() ? args.data_dir + "/out" : args.out_dir);
    if (!file_sink.ok()) return Fail(file_sink.status(), "--out");
    base_sink = std::move(file_sink).value();
  }
  if (!webhook_options.endpoints.empty()) {
    spdlog::info("{} organisation(s) receive their events by webhook (backoff seed {})",
                 webhook_options.endpoints.size(), webhook_options.seed);
    auto opened = connectors::WebhookSink::Open(std::move(webhook_options));
    if (!opened.ok()) return Fail(opened.status(), "webhooks");
    webhook_sink = std::move(opened).value();
    sink = std::make_unique<connectors::RoutingSink>(*webhook_sink, *base_sink);
  } else {
    sink = std::move(base_sink);
  }

  ManualClock clock(0);
  SystemClock wall_clock;
  core::EngineOptions options;
  options.max_event_bytes = args.max_event_bytes;
  if (!args.max_future.empty()) {
    Result<Duration> d = ParseDuration(args.max_future);
    if (!d.ok() || d->years != 0 || d->months != 0 || d->is_zero()) {
      std::cerr << "amtsweg run: --max-future '" << args.max_future
                << "': expected a positive duration without years or months, e.g. PT15M or P1D"
                << (d.ok() ? "" : " (" + d.status().message() + ")") << "\n";
      return kExitUsage;
    }
    options.max_future_ms = AddDuration(0, *d);
    options.wall_clock = &wall_clock;
  }
  if (kafka) {
    options.audit_destination = kafka_config.audit_topic;
    options.dead_letter_destination = kafka_config.dead_letter_topic;
  }
  core::Engine engine(**st, loaded.registry, **directory, clock, options);
  if (Status s = engine.Open(); !s.ok()) return Fail(s, "restoring the clock and timers");
  if (!args.advance_to.empty() && advance_to < engine.now()) {
    std::cerr << "amtsweg run: --advance-to " << FormatTimestamp(advance_to)
              << " is before the engine clock " << FormatTimestamp(engine.now()) << " of "
              << args.data_dir << "; the clock never moves backwards. Nothing was processed\n";
    return kExitUsage;
  }
  // The HTTP API reads the store beside the engine (its own threads; the engine loop stays on
  // this one). Definitions it deploys are stored, and taken up between batches (take_deployed).
  std::unique_ptr<core::Catalog> catalog;
  std::unique_ptr<http::ApiServer> api;
  // Public /metrics and /status beside the API, fed by the engine loop after each batch.
  std::unique_ptr<report::Monitor> monitor;
  std::unique_ptr<report::BatchLatencyRecorder> latency;
  if (principals != nullptr) {
    report::StatusPageOptions page;
    page.service_names = report::ServiceNames(loaded.registry);
    monitor = std::make_unique<report::Monitor>(**st, std::move(page));
    latency = std::make_unique<report::BatchLatencyRecorder>(monitor->latency());
    api_options.monitor = monitor.get();
    catalog = std::make_unique<core::Catalog>(**st, **directory, loaded.registry);
    Result<std::unique_ptr<http::ApiServer>> server =
        http::ApiServer::Start(api_options, **st, *catalog, **directory, *principals, wall_clock);
    if (!server.ok()) return Fail(server.status(), "--listen");
    api = std::move(server).value();
    if (!args.quiet)
      std::fprintf(stderr, "api: listening on %s:%d\n", api_options.host.c_str(), api->port());
  }
  if (kafka && args.create_topics) {
    if (Status s = EnsureOutboundTopics(kafka_config, **directory); !s.ok())
      return Fail(s, "Kafka topics");
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  Progress progress;
  progress.enabled = !args.quiet && isatty(STDERR_FILENO) != 0;
  // Between batches, on the engine's thread: versions deployed through the API join the
  // engine's registry, so new cases open on them (running cases keep their version).
  size_t deployed_taken = 0;
  auto take_deployed = [&] {
    if (catalog == nullptr) return;
    if (Status t = catalog->TakeDeployed(&loaded.registry, &deployed_taken); !t.ok())
      spdlog::warn("taking up deployed definitions: {}", t.ToString());
  };
  auto report = [&](const core::EngineStats& s) {
    take_deployed();
    if (monitor != nullptr) {
      (*latency)(s);
      monitor->Update(s, engine.outbox_backlog());
      if (webhook_sink != nullptr) monitor->SetWebhookBacklog(webhook_sink->stats().queued);
    }
    if (!progress.Due()) return;
    std::fprintf(stderr, "\r%llu inputs, %llu cases opened, %llu dead letters, %.0f inputs/s   ",
                 static_cast<unsigned long long>(s.inputs),
                 static_cast<unsigned long long>(s.cases_opened),
                 static_cast<unsigned long long>(s.rejected) + s.duplicates,
                 static_cast<double>(s.inputs) / std::max(progress.Elapsed(), 1e-3));
  };
  if (kafka) {
    auto source = connectors::KafkaSource::Open(kafka_config, args.max_event_bytes);
    if (!source.ok()) return Fail(source.status(), "Kafka consumer");
    connectors::KafkaSource& src = **source;
    // Partitions taken away in a rebalance: what was read of them is stored and published first,
    // so that the group's committed offsets are current when another instance takes over.
    src.SetRevokeHandler([&](std::vector<core::RawInput>& pending, const core::Positions& at) {
      Status s = engine.Settle(src, sink.get(), pending, at, std::chrono::seconds(30));
      if (!s.ok()) spdlog::warn("settling before a rebalance: {}", s.ToString());
    });
    core::RunOptions run;
    run.batch_size = args.batch_size;
    run.until_caught_up = args.until_idle;
    run.stop = [&take_deployed] {
      take_deployed();  // called before each poll
      return g_stop.load();
    };
    run.progress = report;
    if (Status s = engine.Run(src, sink.get(), run); !s.ok()) return Fail(s, "processing kafka");
    if (!args.advance_to.empty()) {
      NoteClockPast(engine, advance_to, args.quiet);
      if (Status s = engine.AdvanceClock(advance_to); !s.ok())
        return Fail(s, "advancing the clock");
      if (Status s =
              engine.FlushOutbox(*sink, &src, std::chrono::hours(1), [] { return g_stop.load(); });
          !s.ok())
        return Fail(s, "publishing");
    }
    if (Status s = src.Close(); !s.ok())
      spdlog::warn("leaving the consumer group: {}", s.ToString());
  }
  while (!kafka && !g_stop.load()) {
    uint64_t before = engine.stats().inputs;
    for (auto& src : sources) {
      take_deployed();
      Status s = engine.Drain(*src, sink.get(), args.batch_size, report);
      if (!s.ok()) return Fail(s, "processing " + src->name());
    }
    if (args.until_idle || sources.empty()) break;
    if (engine.stats().inputs == before) {
      // Following the files for new lines: wait a little before looking again.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (!kafka && !args.advance_to.empty()) {
    NoteClockPast(engine, advance_to, args.quiet);
    if (Status s = engine.AdvanceClock(advance_to); !s.ok()) return Fail(s, "advancing the clock");
    if (Status s = engine.FlushOutbox(*sink, nullptr, std::chrono::hours(1)); !s.ok())
      return Fail(s, "publishing");
  }
  if (progress.enabled) std::fprintf(stderr, "\n");
  const core::EngineStats& s = engine.stats();
  double secs = progress.Elapsed();
  if (!args.quiet) {
    std::printf("%s\n", RunSummary(s, secs).c_str());
    std::printf("clock now %s\n", FormatTimestamp(engine.now()).c_str());
  }
  return kExitOk;
}

namespace {

// The attributes of a CloudEvents JSON line as binary-mode headers ("ce_" + name; string values
// as they are, others as JSON) and its data as the value. False when the line is not an object.
bool ToBinaryMode(simdjson::dom::element event, store::OutboxEntry* entry) {
  simdjson::dom::object object;
  if (event.get_object().get(object) != simdjson::SUCCESS) return false;
  for (auto [name, value] : object) {
    if (name == "data") {
      entry->payload = simdjson::minify(value);
      continue;
    }
    std::string header = name == "datacontenttype" ? "content-type" : "ce_" + std::string(name);
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      entry->headers.emplace_back(std::move(header), std::string(text));
    } else {
      entry->headers.emplace_back(std::move(header), simdjson::minify(value));
    }
  }
  return true;
}

}  // namespace

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
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  simdjson::dom::parser parser;
  uint64_t sent = 0, acked = 0, unkeyed = 0;
  std::vector<uint64_t> seqs;
  for (const std::string& path : args.files) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "amtsweg produce: cannot read '" << path << "'\n";
      return kExitUsage;
    }
    std::vector<store::OutboxEntry> entries;
    std::string line;
    uint64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      store::OutboxEntry entry;
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
      if (!(args.binary && parsed && ToBinaryMode(event, &entry))) {
        entry.headers.clear();
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
  while (acked < sent && !g_stop.load()) {
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

int Validate(const std::vector<std::string>& files, const std::string& directory_path) {
  std::unique_ptr<dsl::Directory> directory;
  if (!directory_path.empty()) {
    Result<std::unique_ptr<dsl::Directory>> d = dsl::Directory::Load(directory_path);
    if (!d.ok()) {
      std::cerr << d.status().message() << "\n";
      return kExitFailed;
    }
    directory = std::move(d).value();
  }
  size_t errors = 0;
  std::map<std::pair<std::string, int>, std::string> seen;
  for (const std::string& file : files) {
    dsl::LoadResult r = dsl::LoadDefinitionFile(file, directory.get());
    for (const dsl::Diagnostic& d : r.errors)
      std::cerr << d.ToString() << "\n";
    errors += r.errors.size();
    if (r.definition == nullptr) continue;
    auto key = std::make_pair(r.definition->name, r.definition->version);
    if (auto it = seen.find(key); it != seen.end()) {
      std::cerr << file << ":1:1: duplicate definition " << key.first << " version " << key.second
                << " (also in " << it->second << ")\n";
      ++errors;
      continue;
    }
    seen.emplace(key, file);
    std::cout << file << ": ok (" << r.definition->name << " version " << r.definition->version
              << ", " << r.definition->states.size() << " states)\n";
  }
  if (errors > 0) {
    std::cerr << errors << " error(s)\n";
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
  Result<runtime::CaseState> s = LoadState(**st, id);
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
  Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(**st, id);
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
  Timestamp as_of = INT64_MAX;
  if (!args.as_of.empty()) {
    Result<Timestamp> t = ParseTimestamp(args.as_of);
    if (!t.ok()) return Fail(t.status(), "--as-of");
    as_of = *t;
  }
  Result<core::Replay> replay =
      core::ReplayCase(**st, args.id, args.upto.value_or(UINT64_MAX), as_of);
  if (!replay.ok()) {
    if (!replay.status().IsNotFound() && !replay.status().IsCorruption())
      return Fail(replay.status(), "replay");
    std::cerr << "amtsweg replay: " << replay.status().message()
              << (args.as_of.empty() ? "" : " (as of " + args.as_of + ")") << "\n";
    return kExitFailed;
  }
  std::cout << runtime::StateToValue(replay->state).ToJson() << "\n";
  if (!args.verify) return kExitOk;
  Result<core::Verification> v = core::VerifyCase(**st, args.id);
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

int AuditVerify(const std::string& data_dir, bool quiet) {
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
  for (size_t i = 0; i < cases.size(); ++i) {
    Status v = (*st)->VerifyChain(cases[i].first);
    if (!v.ok()) {
      std::cerr << "TAMPERED: " << v.message() << "\n";
      ++failures;
    }
    events += cases[i].second;
    if (progress.Due()) std::fprintf(stderr, "\r%zu of %zu cases verified", i + 1, cases.size());
  }
  if (progress.enabled) std::fprintf(stderr, "\n");
  if (failures > 0) {
    std::cerr << "audit verify: " << failures << " of " << cases.size()
              << " case(s) failed verification\n";
    return kExitFailed;
  }
  std::cout << "audit verify: " << cases.size() << " cases, " << events
            << " events: every hash chain intact\n";
  return kExitOk;
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
    Status scan = (*st)->ScanEvents(ids[i], 1, UINT64_MAX, [&](const store::EventRecord& r) {
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
      error = e.ok() ? runtime::Apply(&state, *e) : e.status();
      ++events;
      return error.ok();
    });
    if (!scan.ok()) return Fail(scan, "rebuild");
    if (!error.ok()) return Fail(error.WithContext("case " + ids[i]), "rebuild");
    store::CaseWrite w;
    w.case_id = ids[i];
    w.snapshot = runtime::EncodeSnapshot(state);
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
  if (Status s = core::AddDeployedDefinitions(**st, directory->get(), &registry); !s.ok())
    return Fail(s, "definitions deployed through the API");
  report::StatusPageOptions page;
  page.service_names = report::ServiceNames(registry);
  report::Monitor monitor(**st, std::move(page));
  api_options.monitor = &monitor;
  core::Catalog catalog(**st, **directory, std::move(registry));
  SystemClock clock;
  Result<std::unique_ptr<http::ApiServer>> server =
      http::ApiServer::Start(api_options, **st, catalog, **directory, **principals, clock);
  if (!server.ok()) return Fail(server.status(), "--listen");
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("amtsweg serve: listening on %s:%d\n", api_options.host.c_str(), (*server)->port());
  std::fflush(stdout);
  while (!g_stop.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  (*server)->Stop();
  return kExitOk;
}

int Token(const std::string& name, const std::string& role, const std::string& organisation) {
  Result<http::NewToken> t = http::GenerateToken();
  if (!t.ok()) return Fail(t.status(), "token");
  std::cout << "token: " << t->token << "\n";
  std::cout << "  - {name: " << (name.empty() ? "NAME" : name)
            << ", role: " << (role.empty() ? "auditor" : role);
  if (!organisation.empty()) std::cout << ", organisation: " << organisation;
  std::cout << ", token_sha256: " << t->sha256 << "}\n";
  return kExitOk;
}

}  // namespace amtsweg::cli
