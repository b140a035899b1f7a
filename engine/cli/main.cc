// amtsweg: command-line entry point. Parses arguments (CLI11) and calls the commands.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "engine/calendar/german_time.h"
#include "engine/cli/calendar_commands.h"
#include "engine/cli/commands.h"
#include "engine/cli/report_commands.h"

namespace {

std::string DefaultDataDir() {
  const char* env = std::getenv("AMTSWEG_DATA_DIR");
  return env != nullptr && *env != '\0' ? env : "var/data";
}

}  // namespace

// An exception escaping main is a bug: std::terminate reports it and aborts, as it should.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  using namespace amtsweg::cli;
  CLI::App app{"amtsweg: event-sourced workflow engine for inter-agency public administration"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "amtsweg 0.1.0");
  std::string data_dir = DefaultDataDir();
  std::string log_level = "warn";
  app.add_option("--log-level", log_level,
                 "Operational log on standard error: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  RunArgs run;
  run.data_dir = data_dir;
  CLI::App* run_cmd =
      app.add_subcommand("run", "Consume events, drive the workflows, store the cases");
  run_cmd->add_option("--workflows", run.workflows, "Directory of workflow definitions (*.yaml)")
      ->required()
      ->check(CLI::ExistingDirectory);
  run_cmd->add_option("--directory", run.directory, "Participant directory (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--data-dir", run.data_dir, "Store directory (RocksDB); env AMTSWEG_DATA_DIR")
      ->capture_default_str();
  run_cmd->add_option("--source", run.sources,
                      "Event source: file:PATH (JSON lines, repeatable) or kafka");
  run_cmd
      ->add_option("--kafka-config", run.kafka_config,
                   "Kafka settings (YAML, see docs/operations.md); the options below override")
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--bootstrap", run.bootstrap, "Kafka bootstrap servers, HOST:PORT[,...]");
  run_cmd->add_option("--topic", run.topic, "Kafka input topic");
  run_cmd->add_option("--group", run.group, "Kafka consumer group of the engine's instances");
  run_cmd->add_option("--audit-topic", run.audit_topic,
                      "Topic receiving every domain event (default amtsweg.audit)");
  run_cmd->add_option("--dead-letter-topic", run.dead_letter_topic,
                      "Topic receiving refused input (default amtsweg.dead-letters)");
  run_cmd->add_flag("!--no-create-topics", run.create_topics,
                    "Do not create missing outbound topics (audit, dead letters, organisations)");
  run_cmd->add_option("-X", run.kafka_properties,
                      "librdkafka property NAME=VALUE (TLS, SASL, ...), repeatable");
  run_cmd->add_option("--out", run.out_dir, "Directory for outbound events (default DATA-DIR/out)");
  run_cmd->add_flag("--until-idle", run.until_idle,
                    "Stop when every source is exhausted (Kafka: every assigned partition read "
                    "to its end and everything published)");
  run_cmd->add_option(
      "--advance-to", run.advance_to,
      "After the sources, move the clock to this RFC 3339 time, firing due deadlines");
  run_cmd->add_option("--batch", run.batch_size, "Inputs per atomic commit")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run_cmd->add_option("--max-event-bytes", run.max_event_bytes, "Size limit of one input event")
      ->check(CLI::Range(256, 64 << 20))
      ->capture_default_str();
  run_cmd->add_option("--max-future", run.max_future,
                      "Refuse inputs stamped more than this ISO 8601 duration (e.g. PT15M) after "
                      "the wall clock");
  run_cmd
      ->add_option("--webhook-connect-timeout", run.webhook_connect_timeout_ms,
                   "Webhooks: connect timeout in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  run_cmd
      ->add_option("--webhook-read-timeout", run.webhook_read_timeout_ms,
                   "Webhooks: read (and write) timeout in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  run_cmd
      ->add_option("--webhook-max-backoff", run.webhook_max_backoff_ms,
                   "Webhooks: longest wait between two attempts of an event, in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}))
      ->capture_default_str();
  run_cmd->add_option("--webhook-workers", run.webhook_workers, "Webhooks: concurrent deliveries")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run_cmd->add_option("--webhook-ca-file", run.webhook_ca_file,
                      "Webhooks: CA certificates (PEM) for https (default: the system's)");
  run_cmd->add_flag("--quiet,-q", run.quiet, "No progress output");
  run_cmd->add_flag("--no-sync", run.no_sync, "Do not fsync commits (benchmarks only; unsafe)");
  run_cmd->add_option("--listen", run.api.listen,
                      "Serve the HTTP API on HOST:PORT while running (needs --principals)");
  run_cmd->add_option("--principals", run.api.principals, "API principals (YAML)")
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--crash-at", run.crash_at)->group("");  // crash tests only
  run_cmd->add_option("--crash-after", run.crash_after)->group("");

  ProduceArgs produce;
  CLI::App* produce_cmd = app.add_subcommand(
      "produce", "Send CloudEvents from JSON-lines files to a Kafka topic, keyed by case id");
  produce_cmd->add_option("files", produce.files, "JSON-lines files, sent in order")
      ->required()
      ->check(CLI::ExistingFile);
  produce_cmd->add_option("--bootstrap", produce.bootstrap, "Kafka bootstrap servers")->required();
  produce_cmd->add_option("--topic", produce.topic, "Topic to send to")->required();
  produce_cmd->add_flag("--binary", produce.binary,
                        "CloudEvents binary mode (ce_ headers, data as the value)");
  produce_cmd
      ->add_option("--partitions", produce.partitions,
                   "Create the topic with this many partitions if it does not exist")
      ->check(CLI::Range(1, 10000));
  produce_cmd->add_option("-X", produce.kafka_properties, "librdkafka property NAME=VALUE");
  produce_cmd->add_flag("--quiet,-q", produce.quiet, "No summary");

  std::vector<std::string> validate_files;
  std::string validate_directory;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check workflow definitions before deployment");
  validate_cmd->add_option("files", validate_files, "Definition files")->required();
  validate_cmd->add_option("--directory", validate_directory,
                           "Participant directory to check organisations and functions against");

  CLI::App* case_cmd = app.add_subcommand("case", "Inspect cases");
  case_cmd->require_subcommand(1);
  ListArgs list;
  list.data_dir = data_dir;
  CLI::App* list_cmd = case_cmd->add_subcommand("list", "List cases, optionally filtered");
  list_cmd->add_option("--data-dir", list.data_dir)->capture_default_str();
  list_cmd->add_option("--workflow", list.workflow, "Only cases of this workflow");
  list_cmd->add_option("--state", list.state, "Only cases in this state");
  list_cmd->add_option("--participant", list.participant,
                       "Only cases this organisation takes part in");
  list_cmd->add_option("--outcome", list.outcome, "Only cases with this outcome (or 'open')");
  list_cmd->add_flag("--json", list.json, "JSON lines instead of a table");
  std::string show_id;
  bool show_json = false;
  std::string case_data_dir = data_dir;
  CLI::App* show_cmd = case_cmd->add_subcommand("show", "Show one case's current state");
  show_cmd->add_option("id", show_id, "Case id")->required();
  show_cmd->add_option("--data-dir", case_data_dir)->capture_default_str();
  show_cmd->add_flag("--json", show_json, "JSON instead of text");
  std::string history_id;
  CLI::App* history_cmd =
      case_cmd->add_subcommand("history", "A case's domain events as JSON lines");
  history_cmd->add_option("id", history_id, "Case id")->required();
  history_cmd->add_option("--data-dir", case_data_dir)->capture_default_str();

  ReplayArgs replay;
  replay.data_dir = data_dir;
  uint64_t upto = 0;
  CLI::App* replay_cmd = app.add_subcommand("replay", "Rebuild a case's state from its event log");
  replay_cmd->add_option("id", replay.id, "Case id")->required();
  replay_cmd->add_option("--data-dir", replay.data_dir)->capture_default_str();
  auto* upto_opt =
      replay_cmd->add_option("--upto", upto, "Replay events up to this sequence number")
          ->check(CLI::PositiveNumber);
  auto* asof_opt =
      replay_cmd->add_option("--as-of", replay.as_of, "Replay events up to this RFC 3339 time");
  upto_opt->excludes(asof_opt);
  replay_cmd->add_flag("--verify", replay.verify,
                       "Check the hash chain and, for a full replay, the stored snapshot");

  CLI::App* audit_cmd = app.add_subcommand("audit", "Auditing");
  audit_cmd->require_subcommand(1);
  bool audit_quiet = false;
  std::string audit_data_dir = data_dir;
  CLI::App* verify_cmd = audit_cmd->add_subcommand("verify", "Verify every case's hash chain");
  verify_cmd->add_option("--data-dir", audit_data_dir)->capture_default_str();
  verify_cmd->add_flag("--quiet,-q", audit_quiet, "No progress output");

  bool dead_json = false;
  std::string dead_data_dir = data_dir;
  CLI::App* dead_cmd =
      app.add_subcommand("dead-letters", "Inputs that were refused, with the reason");
  dead_cmd->add_option("--data-dir", dead_data_dir)->capture_default_str();
  dead_cmd->add_flag("--json", dead_json, "JSON lines instead of a table");
  std::string dead_kind;
  dead_cmd->add_option("--kind", dead_kind, "Only dead letters of this kind (e.g. malformed)");

  bool deadlines_json = false;
  std::string deadlines_data_dir = data_dir;
  std::string due_before;
  CLI::App* deadlines_cmd = app.add_subcommand("deadlines", "Running deadlines, soonest first");
  deadlines_cmd->add_option("--data-dir", deadlines_data_dir)->capture_default_str();
  deadlines_cmd->add_option("--due-before", due_before,
                            "Only deadlines due before this RFC 3339 time");
  deadlines_cmd->add_flag("--json", deadlines_json, "JSON lines instead of a table");

  bool rebuild_quiet = false;
  std::string rebuild_data_dir = data_dir;
  CLI::App* rebuild_cmd =
      app.add_subcommand("rebuild", "Rebuild snapshots and indexes from the event logs");
  rebuild_cmd->add_option("--data-dir", rebuild_data_dir)->capture_default_str();
  rebuild_cmd->add_flag("--quiet,-q", rebuild_quiet, "No progress output");

  // Public monitoring (engine/report, docs/monitoring.md).
  StatsArgs stats;
  stats.data_dir = data_dir;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Monthly statistics export: month, region key, LeiKa key, count (no personal data)");
  stats_cmd->add_option("--data,--data-dir", stats.data_dir, "Store directory")
      ->capture_default_str();
  stats_cmd->add_option("--month", stats.month, "Month, YYYY-MM (German civil time)")->required();
  stats_cmd->add_option("--format", stats.format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  StatusPageArgs page;
  page.data_dir = data_dir;
  CLI::App* page_cmd =
      app.add_subcommand("status-page", "Write the public status page (self-contained HTML)");
  page_cmd->add_option("--data,--data-dir", page.data_dir, "Store directory")
      ->capture_default_str();
  page_cmd->add_option("--out", page.out, "HTML file to write")->required();
  page_cmd
      ->add_option("--workflows", page.workflows,
                   "Directory of workflow definitions whose titles name the services")
      ->check(CLI::ExistingDirectory);
  page_cmd->add_option("--as-of", page.as_of, "The \"Stand\" shown, RFC 3339 (default: now)");
  ServeArgs serve;
  serve.data_dir = data_dir;
  serve.api.listen = "127.0.0.1:8080";
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the HTTP API on a store");
  serve_cmd->add_option("--data-dir,--data", serve.data_dir, "Store directory")
      ->capture_default_str();
  serve_cmd->add_option("--directory", serve.directory, "Participant directory (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--principals", serve.api.principals, "API principals (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--listen", serve.api.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--workflows", serve.workflows,
                   "Directory of workflow definitions (*.yaml), besides the deployed ones")
      ->check(CLI::ExistingDirectory);
  serve_cmd->add_option("--threads", serve.api.threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", serve.api.max_body_bytes, "Request body limit")
      ->check(CLI::Range(1024, 64 << 20))
      ->capture_default_str();

  std::string token_name, token_role, token_org;
  CLI::App* token_cmd =
      app.add_subcommand("token", "Make a new API token and its principals-file line");
  token_cmd->add_option("--name", token_name, "Principal name for the printed line");
  token_cmd->add_option("--role", token_role, "admin, auditor or participant")
      ->check(CLI::IsMember({"admin", "auditor", "participant"}));
  token_cmd->add_option("--organisation", token_org, "Participants: the organisation id");

  CalendarCommands calendar_commands(app);  // holidays, period

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  auto logger = spdlog::stderr_color_mt("amtsweg");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (amtsweg::Status tz = amtsweg::calendar::LoadGermanTime(); !tz.ok()) {
    std::cerr << "amtsweg: " << tz.message() << "\n";
    return kExitIO;
  }
  if (std::optional<int> code = calendar_commands.Run()) return *code;

  if (*run_cmd) {
    if (run.sources.empty() && run.advance_to.empty()) {
      std::cerr << "amtsweg run: give at least one --source or --advance-to\n";
      return kExitUsage;
    }
    return Run(run);
  }
  if (*produce_cmd) return Produce(produce);
  if (*validate_cmd) return Validate(validate_files, validate_directory);
  if (*list_cmd) return CaseList(list);
  if (*show_cmd) return CaseShow(case_data_dir, show_id, show_json);
  if (*history_cmd) return CaseHistory(case_data_dir, history_id);
  if (*replay_cmd) {
    if (*upto_opt) replay.upto = upto;
    return Replay(replay);
  }
  if (*verify_cmd) return AuditVerify(audit_data_dir, audit_quiet);
  if (*dead_cmd) return DeadLetters(dead_data_dir, dead_json, dead_kind);
  if (*rebuild_cmd) return Rebuild(rebuild_data_dir, rebuild_quiet);
  if (*serve_cmd) return Serve(serve);
  if (*token_cmd) return Token(token_name, token_role, token_org);
  if (*deadlines_cmd) return Deadlines(deadlines_data_dir, due_before, deadlines_json);
  if (*stats_cmd) return Stats(stats);
  if (*page_cmd) return StatusPage(page);
  return kExitUsage;
}
