// `amtsweg run`: the engine over file or Kafka input, with its sinks, the optional HTTP API and
// the public monitoring beside it.
//
// Run builds the run from small pieces, in this order, each owning what it opens: the
// definitions, the plan (the arguments checked, the input files opened), the store, the sinks, the
// engine, the API with its monitor; then it drives the engine (Kafka or files) and prints the
// summary. Each piece prints its own error and returns the exit code; kExitOk means go on.
// Lifetimes follow the declarations in Run: what borrows is declared after what it borrows, so it
// is destroyed first.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "connectors/file/file_sink.h"
#include "connectors/file/file_source.h"
#include "connectors/http/api_server.h"
#include "connectors/kafka/kafka_admin.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "connectors/webhook/routing_sink.h"
#include "connectors/webhook/webhook_sink.h"
#include "engine/cli/command_util.h"
#include "engine/cli/commands.h"
#include "engine/common/clock.h"
#include "engine/common/value.h"
#include "engine/core/catalog.h"
#include "engine/core/destination.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "engine/dsl/loader.h"
#include "engine/report/monitor.h"
#include "engine/store/store.h"

namespace amtsweg::cli {

namespace {

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

// The run summary as one JSON object (`run --json`): the figures of RunSummary, same names.
std::string RunSummaryJson(const core::EngineStats& s, double seconds, Timestamp clock) {
  auto n = [](uint64_t v) { return static_cast<int64_t>(v); };
  return ObjectBuilder(16)
      .Add("inputs", n(s.inputs))
      .Add("seconds", seconds)
      .Add("accepted", n(s.accepted))
      .Add("refused", n(s.rejected))
      .Add("duplicates", n(s.duplicates))
      .Add("timers_fired", n(s.timers_fired))
      .Add("timers_expired", n(s.timers_expired))
      .Add("timers_stale", n(s.timers_stale))
      .Add("timers_refused", n(s.timers_refused))
      .Add("domain_events", n(s.domain_events))
      .Add("cases_opened", n(s.cases_opened))
      .Add("cases_closed", n(s.cases_closed))
      .Add("published", n(s.published))
      .Add("clock", FormatTimestamp(clock))
      .Build()
      .ToJson();
}

// The input read moved the clock past `--advance-to`: the clock stays (it never moves backwards);
// deadlines due by then that the lanes held back still fire.
void NoteClockPast(const core::Engine& engine, Timestamp advance_to, bool quiet) {
  if (quiet || advance_to >= engine.now()) return;
  std::fprintf(stderr,
               "amtsweg run: the input moved the clock to %s, past --advance-to %s; it stays\n",
               FormatTimestamp(engine.now()).c_str(), FormatTimestamp(advance_to).c_str());
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
  if (args.trust_channel_headers) config.trust_channel_headers = true;
  if (!args.partitioner.empty()) {
    std::optional<connectors::KafkaPartitioner> p = connectors::ParsePartitioner(args.partitioner);
    if (!p.has_value()) {
      return Status::InvalidArgument("--partitioner must be murmur2, crc32 or fnv1a, not '" +
                                     args.partitioner + "'");
    }
    config.partitioner = *p;
  }
  if (!args.group_instance_id.empty()) config.group_instance_id = args.group_instance_id;
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
  options.client_cert_file = args.webhook_client_cert;
  options.client_key_file = args.webhook_client_key;
  options.seed = std::random_device{}();
  return options;
}

// --- The pieces of a run, in the order Run builds them.

// The participant directory and the workflow definitions from files.
struct Definitions {
  std::unique_ptr<dsl::Directory> directory;
  dsl::Registry registry;  // until the store has added its deployed ones; then a LiveRegistry's
};

int LoadDefinitions(const RunArgs& args, Definitions* out) {
  Result<std::unique_ptr<dsl::Directory>> directory = dsl::Directory::Load(args.directory);
  if (!directory.ok()) {
    std::cerr << directory.status().message() << "\n";
    return kExitUsage;
  }
  out->directory = std::move(directory).value();
  dsl::RegistryLoadResult loaded = dsl::LoadRegistry(args.workflows, out->directory.get());
  if (!loaded.errors.empty()) {
    for (const dsl::Diagnostic& d : loaded.errors)
      std::cerr << d.ToString() << "\n";
    std::cerr << "amtsweg run: " << loaded.errors.size() << " error(s) in " << args.workflows
              << "; nothing was processed\n";
    return kExitUsage;
  }
  out->registry = std::move(loaded.registry);
  return kExitOk;
}

// What the arguments ask for, checked before anything is opened but the input files.
struct Plan {
  connectors::WebhookOptions webhooks;           // endpoints empty: no webhook sink
  std::unique_ptr<http::Principals> principals;  // null: no API
  http::ApiOptions api;
  std::optional<Timestamp> advance_to;
  std::vector<std::unique_ptr<connectors::FileSource>> files;
  bool kafka = false;
  connectors::KafkaConfig kafka_config;  // with `kafka`
};

int MakePlan(const RunArgs& args, const dsl::Directory& directory, Plan* plan) {
  if (args.api.listen.empty() && !args.api.principals.empty()) {
    std::cerr << "amtsweg run: --principals needs --listen HOST:PORT\n";
    return kExitUsage;
  }
  Result<connectors::WebhookOptions> webhooks = WebhookOptionsOf(args, directory);
  if (!webhooks.ok()) {
    std::cerr << "amtsweg run: " << webhooks.status().message() << "\n";
    return kExitUsage;
  }
  plan->webhooks = std::move(webhooks).value();
  if (!args.api.listen.empty()) {
    Result<std::unique_ptr<http::Principals>> p = LoadApi(args.api, directory, &plan->api);
    if (!p.ok()) {
      std::cerr << "amtsweg run: " << p.status().message() << "\n";
      return kExitUsage;
    }
    plan->principals = std::move(p).value();
  }
  if (!args.advance_to.empty()) {
    Result<Timestamp> t = ParseTimestamp(args.advance_to);
    if (!t.ok()) return Fail(t.status(), "--advance-to");
    plan->advance_to = *t;
  }
  for (const std::string& spec : args.sources) {
    if (spec == "kafka") {
      plan->kafka = true;
      continue;
    }
    if (spec.rfind("file:", 0) != 0) {
      std::cerr << "amtsweg run: unsupported --source '" << spec << "' (give file:PATH or kafka)\n";
      return kExitUsage;
    }
    auto src = connectors::FileSource::Open(spec.substr(5), args.max_event_bytes);
    if (!src.ok()) return Fail(src.status(), "--source");
    plan->files.push_back(std::move(src).value());
  }
  if (plan->kafka && !plan->files.empty()) {
    std::cerr << "amtsweg run: --source kafka cannot be combined with file sources "
                 "(load files into the topic with `amtsweg produce`)\n";
    return kExitUsage;
  }
  if (plan->kafka) {
    Result<connectors::KafkaConfig> config = KafkaConfigOf(args);
    if (!config.ok()) {
      std::cerr << "amtsweg run: " << config.status().message() << "\n";
      return kExitUsage;
    }
    plan->kafka_config = std::move(config).value();
  } else if (!args.kafka_config.empty() || !args.bootstrap.empty() || !args.topic.empty() ||
             !args.group.empty() || !args.kafka_properties.empty() || args.trust_channel_headers ||
             !args.partitioner.empty() || !args.group_instance_id.empty()) {
    std::cerr << "amtsweg run: Kafka options need --source kafka\n";
    return kExitUsage;
  }
  return kExitOk;
}

// Opens (creating) the store, adds the definitions deployed through the API to `*registry`, and
// installs the crash hook of the crash tests (hidden --crash-at).
int OpenStore(const RunArgs& args, const dsl::Directory& directory, dsl::Registry* registry,
              std::unique_ptr<store::Store>* out) {
  std::error_code ec;
  std::filesystem::create_directories(args.data_dir, ec);
  store::Options store_options;
  store_options.sync = !args.no_sync;
  Result<std::unique_ptr<store::Store>> st = store::Store::Open(args.data_dir, store_options);
  if (!st.ok()) return Fail(st.status(), "opening the store");
  *out = std::move(st).value();
  if (Status s = core::AddDeployedDefinitions(**out, &directory, registry); !s.ok())
    return Fail(s, "definitions deployed through the API");
  if (registry->All().empty()) {
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
    (*out)->SetCrashHook([point, count, after = args.crash_after](store::CrashPoint p) {
      if (p != *point) return;
      if (++*count >= after) _exit(99);
    });
  }
  return kExitOk;
}

// The run's sinks. Organisations with a webhook get their events through the webhook sink, all
// others through Kafka or files; with webhooks a routing sink in front sends each message its
// way. It borrows the two others, so it is declared last (destroyed first).
struct Sinks {
  std::unique_ptr<core::Sink> base;  // Kafka or files
  std::unique_ptr<connectors::WebhookSink> webhooks;
  std::unique_ptr<connectors::RoutingSink> routing;

  core::Sink& sink() { return routing != nullptr ? *routing : *base; }
};

int OpenSinks(const RunArgs& args, Plan* plan, Sinks* out) {
  if (plan->kafka) {
    auto kafka_sink = connectors::KafkaSink::Open(plan->kafka_config);
    if (!kafka_sink.ok()) return Fail(kafka_sink.status(), "Kafka producer");
    out->base = std::move(kafka_sink).value();
  } else {
    auto file_sink =
        connectors::FileSink::Open(args.out_dir.empty() ? args.data_dir + "/out" : args.out_dir);
    if (!file_sink.ok()) return Fail(file_sink.status(), "--out");
    out->base = std::move(file_sink).value();
  }
  if (plan->webhooks.endpoints.empty()) return kExitOk;
  spdlog::info("{} organisation(s) receive their events by webhook (backoff seed {})",
               plan->webhooks.endpoints.size(), plan->webhooks.seed);
  auto opened = connectors::WebhookSink::Open(std::move(plan->webhooks));
  if (!opened.ok()) return Fail(opened.status(), "webhooks");
  out->webhooks = std::move(opened).value();
  out->routing = std::make_unique<connectors::RoutingSink>(*out->webhooks, *out->base);
  return kExitOk;
}

int EngineOptionsOf(const RunArgs& args, const Plan& plan, const Clock& wall_clock,
                    core::EngineOptions* options) {
  options->max_event_bytes = args.max_event_bytes;
  options->outbox_source = args.cloudevents_source;
  if (!args.max_future.empty()) {
    Result<Duration> d = ParseDuration(args.max_future);
    if (!d.ok() || d->years != 0 || d->months != 0 || d->is_zero()) {
      std::cerr << "amtsweg run: --max-future '" << args.max_future
                << "': expected a positive duration without years or months, e.g. PT15M or P1D"
                << (d.ok() ? "" : " (" + d.status().message() + ")") << "\n";
      return kExitUsage;
    }
    options->max_future_ms = AddDuration(0, *d);
    options->wall_clock = &wall_clock;
  }
  if (plan.kafka) {
    options->audit_destination = plan.kafka_config.audit_topic;
    options->dead_letter_destination = plan.kafka_config.dead_letter_topic;
  }
  return kExitOk;
}

// Restores the engine's clock and timers; --advance-to may not lie before the restored clock.
int OpenEngine(const RunArgs& args, const Plan& plan, core::Engine& engine) {
  if (Status s = engine.Open(); !s.ok()) return Fail(s, "restoring the clock and timers");
  if (plan.advance_to.has_value() && *plan.advance_to < engine.now()) {
    std::cerr << "amtsweg run: --advance-to " << FormatTimestamp(*plan.advance_to)
              << " is before the engine clock " << FormatTimestamp(engine.now()) << " of "
              << args.data_dir << "; the clock never moves backwards. Nothing was processed\n";
    return kExitUsage;
  }
  return kExitOk;
}

// The HTTP API (its own threads, reading the store beside the engine) and the public /metrics
// and /status beside it, fed by the engine loop after each batch. The server is declared last:
// it stops before the monitor, latency recorder and catalog it uses go.
struct Api {
  std::unique_ptr<report::Monitor> monitor;
  std::unique_ptr<report::BatchLatencyRecorder> latency;
  // Definitions the API deploys are stored here, and taken up by the engine between batches.
  std::unique_ptr<core::Catalog> catalog;
  // Participants' inputs from the API, read by the engine beside its source (InboxSource).
  std::unique_ptr<core::Inbox> inbox;
  std::unique_ptr<http::ApiServer> server;
};

// Inputs sent through the API wait at most this long for the engine, at most this many at once.
constexpr size_t kInboxCapacity = 1000;
constexpr int64_t kInboxWaitMs = 10'000;

int StartApi(const RunArgs& args, Plan* plan, store::Store& store, const dsl::Directory& directory,
             const core::LiveRegistry& registry, const Clock& wall_clock, core::CaseKeys* keys,
             Api* out) {
  if (plan->principals == nullptr) return kExitOk;
  plan->api.keys = keys;
  report::StatusPageOptions page;
  page.service_names = report::ServiceNames(registry.view());
  page.region_names = report::RegionNames(directory);
  out->monitor = std::make_unique<report::Monitor>(store, std::move(page));
  out->latency = std::make_unique<report::BatchLatencyRecorder>(out->monitor->latency());
  plan->api.monitor = out->monitor.get();
  out->catalog = std::make_unique<core::Catalog>(store, directory, registry.view());
  out->inbox = std::make_unique<core::Inbox>(kInboxCapacity, kInboxWaitMs, wall_clock);
  plan->api.inbox = out->inbox.get();
  plan->api.max_event_bytes = args.max_event_bytes;
  Result<std::unique_ptr<http::ApiServer>> server = http::ApiServer::Start(
      plan->api, store, *out->catalog, directory, *plan->principals, wall_clock);
  if (!server.ok()) return Fail(server.status(), "--listen");
  out->server = std::move(server).value();
  if (!args.quiet)
    std::fprintf(stderr, "api: listening on %s%s:%d\n",
                 plan->api.tls_cert_file.empty() ? "" : "https://", plan->api.host.c_str(),
                 out->server->port());
  return kExitOk;
}

// What runs between batches, on the engine's thread: versions deployed through the API join the
// engine's registry (so new cases open on them; running cases keep their version), the monitor
// is fed, and a progress line is printed at most once a second.
class BetweenBatches {
 public:
  BetweenBatches(core::LiveRegistry& registry, const Api& api, const Sinks& sinks,
                 const core::Engine& engine, bool show_progress)
      : registry_(registry), api_(api), sinks_(sinks), engine_(engine) {
    progress_.enabled = show_progress;
  }

  void TakeDeployed() {
    if (api_.catalog == nullptr) return;
    if (Status t = registry_.TakeDeployed(*api_.catalog); !t.ok())
      spdlog::warn("taking up deployed definitions: {}", t.ToString());
  }
  // RunOptions::stop: called before each poll.
  bool Stop() {
    TakeDeployed();
    return StopRequested();
  }
  // RunOptions::progress: after each batch with input.
  void Report(const core::EngineStats& s) {
    TakeDeployed();
    if (api_.monitor != nullptr) {
      (*api_.latency)(s);
      api_.monitor->Update(s, engine_.outbox_backlog());
      if (sinks_.webhooks != nullptr)
        api_.monitor->SetWebhookBacklog(sinks_.webhooks->stats().queued);
    }
    if (!progress_.Due()) return;
    std::fprintf(stderr, "\r%llu inputs, %llu cases opened, %llu dead letters, %.0f inputs/s   ",
                 static_cast<unsigned long long>(s.inputs),
                 static_cast<unsigned long long>(s.cases_opened),
                 static_cast<unsigned long long>(s.rejected) + s.duplicates,
                 static_cast<double>(s.inputs) / std::max(progress_.Elapsed(), 1e-3));
  }
  const Progress& progress() const { return progress_; }

 private:
  core::LiveRegistry& registry_;
  const Api& api_;
  const Sinks& sinks_;
  const core::Engine& engine_;
  Progress progress_;
};

// Reads the Kafka topic as a member of the group until stopped (or, with --until-idle, caught
// up), then advances the clock to --advance-to, and leaves the group.
int RunKafka(const RunArgs& args, const Plan& plan, core::Engine& engine, core::Sink& sink,
             BetweenBatches& between, core::Inbox* inbox) {
  auto source = connectors::KafkaSource::Open(plan.kafka_config, args.max_event_bytes);
  if (!source.ok()) return Fail(source.status(), "Kafka consumer");
  connectors::KafkaSource& kafka = **source;
  // With the API, its participants' inputs are read beside the topic, on the cases' partitions.
  std::optional<core::InboxSource> with_inbox;
  if (inbox != nullptr) with_inbox.emplace(&kafka, *inbox);
  core::Source& src = with_inbox.has_value() ? static_cast<core::Source&>(*with_inbox) : kafka;
  // Partitions taken away in a rebalance: what was read of them is stored and published first,
  // so that the group's committed offsets are current when another instance takes over. Called
  // from inside src.Poll() during engine.Run (Engine::Settle's callback contract), or from
  // src.Close() below.
  kafka.SetRevokeHandler([&](std::vector<core::RawInput>& pending, const core::Positions& at) {
    Status s = engine.Settle(src, &sink, pending, at, std::chrono::seconds(30));
    if (!s.ok()) spdlog::warn("settling before a rebalance: {}", s.ToString());
  });
  core::RunOptions run;
  run.batch_size = args.batch_size;
  run.until_caught_up = args.until_idle;
  run.stop = [&between] { return between.Stop(); };
  run.progress = [&between](const core::EngineStats& s) { between.Report(s); };
  if (Status s = engine.Run(src, &sink, run); !s.ok()) return Fail(s, "processing kafka");
  if (plan.advance_to.has_value()) {
    NoteClockPast(engine, *plan.advance_to, args.quiet);
    if (Status s = engine.AdvanceClock(*plan.advance_to); !s.ok())
      return Fail(s, "advancing the clock");
    if (Status s = engine.FlushOutbox(sink, &src, std::chrono::hours(1), StopRequested); !s.ok())
      return Fail(s, "publishing");
  }
  // --until-idle returns only once the group's committed offsets are the store's: a later owner
  // would otherwise publish again what this run published (e.g. after a broker restart).
  if (args.until_idle && !StopRequested()) {
    if (Status s = kafka.AwaitCommitted(std::chrono::minutes(2)); !s.ok())
      return Fail(s, "committing the group's offsets");
  }
  if (Status s = kafka.Close(); !s.ok())
    spdlog::warn("leaving the consumer group: {}", s.ToString());
  return kExitOk;
}

// Drains the files in turn, following them for new lines unless --until-idle, then advances the
// clock to --advance-to.
int RunFiles(const RunArgs& args, const Plan& plan, core::Engine& engine, core::Sink& sink,
             BetweenBatches& between, core::Inbox* inbox) {
  auto report = [&between](const core::EngineStats& s) { between.Report(s); };
  // Each file and, with the API, the participants' inputs sent meanwhile.
  auto drain = [&](core::Source& src) {
    between.TakeDeployed();
    if (inbox == nullptr) return engine.Drain(src, &sink, args.batch_size, report);
    core::InboxSource with_inbox(&src, *inbox);
    return engine.Drain(with_inbox, &sink, args.batch_size, report);
  };
  while (!StopRequested()) {
    uint64_t before = engine.stats().inputs;
    for (const std::unique_ptr<connectors::FileSource>& src : plan.files) {
      if (Status s = drain(*src); !s.ok()) return Fail(s, "processing " + src->name());
    }
    if (inbox != nullptr && !inbox->empty()) {
      core::InboxSource api(nullptr, *inbox);
      between.TakeDeployed();
      if (Status s = engine.Drain(api, &sink, args.batch_size, report); !s.ok())
        return Fail(s, "processing the API's input");
    }
    if (args.until_idle || (plan.files.empty() && inbox == nullptr)) break;
    if (engine.stats().inputs == before) {
      // Following the files for new lines: wait a little before looking again, or until an
      // input comes through the API.
      if (inbox != nullptr) {
        inbox->Wait(std::chrono::milliseconds(200));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
  if (plan.advance_to.has_value()) {
    NoteClockPast(engine, *plan.advance_to, args.quiet);
    if (Status s = engine.AdvanceClock(*plan.advance_to); !s.ok())
      return Fail(s, "advancing the clock");
    if (Status s = engine.FlushOutbox(sink, nullptr, std::chrono::hours(1)); !s.ok())
      return Fail(s, "publishing");
  }
  return kExitOk;
}

}  // namespace

int Run(const RunArgs& args) {
  Definitions definitions;
  if (int rc = LoadDefinitions(args, &definitions); rc != kExitOk) return rc;
  const dsl::Directory& directory = *definitions.directory;
  Plan plan;
  if (int rc = MakePlan(args, directory, &plan); rc != kExitOk) return rc;
  std::unique_ptr<store::Store> store;
  if (int rc = OpenStore(args, directory, &definitions.registry, &store); rc != kExitOk) return rc;
  // From here on the registry changes only between batches (BetweenBatches::TakeDeployed).
  core::LiveRegistry registry(std::move(definitions.registry));
  Sinks sinks;
  if (int rc = OpenSinks(args, &plan, &sinks); rc != kExitOk) return rc;

  OpenedKeys keys;
  if (!args.no_encryption) {
    Result<OpenedKeys> opened = OpenKeys(args.data_dir, args.keys, /*create=*/true);
    if (!opened.ok()) return Fail(opened.status(), "opening the key store");
    keys = std::move(opened).value();
  }

  ManualClock clock(0);  // event time, restored from the store by Engine::Open
  SystemClock wall_clock;
  core::EngineOptions options;
  if (int rc = EngineOptionsOf(args, plan, wall_clock, &options); rc != kExitOk) return rc;
  options.keys = keys.get();
  core::Engine engine(*store, registry.view(), directory, clock, options);
  if (int rc = OpenEngine(args, plan, engine); rc != kExitOk) return rc;
  Api api;
  if (int rc = StartApi(args, &plan, *store, directory, registry, wall_clock, keys.get(), &api);
      rc != kExitOk)
    return rc;
  if (plan.kafka && args.create_topics) {
    if (Status s = EnsureOutboundTopics(plan.kafka_config, directory); !s.ok())
      return Fail(s, "Kafka topics");
  }

  InstallStopSignals();
  BetweenBatches between(registry, api, sinks, engine, !args.quiet && isatty(STDERR_FILENO) != 0);
  int rc = plan.kafka ? RunKafka(args, plan, engine, sinks.sink(), between, api.inbox.get())
                      : RunFiles(args, plan, engine, sinks.sink(), between, api.inbox.get());
  if (rc != kExitOk) return rc;
  if (between.progress().enabled) std::fprintf(stderr, "\n");
  if (args.json) {
    std::printf("%s\n",
                RunSummaryJson(engine.stats(), between.progress().Elapsed(), engine.now()).c_str());
  } else if (!args.quiet) {
    std::printf("%s\n", RunSummary(engine.stats(), between.progress().Elapsed()).c_str());
    std::printf("clock now %s\n", FormatTimestamp(engine.now()).c_str());
  }
  return kExitOk;
}

}  // namespace amtsweg::cli
