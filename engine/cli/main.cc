// amtsweg: command-line entry point. Parses arguments (CLI11) and calls the commands.

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/calendar/german_time.h"
#include "engine/cli/backup_commands.h"
#include "engine/cli/calendar_commands.h"
#include "engine/cli/commands.h"
#include "engine/cli/key_commands.h"
#include "engine/cli/logging.h"
#include "engine/cli/migrate_command.h"
#include "engine/cli/options.h"
#include "engine/cli/report_commands.h"
#include "engine/core/cloudevent.h"

namespace {

// A subcommand and what it does when the command line names it.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> action;
};

// Each Add*Command defines a subcommand of `app` with its options, bound to arguments the action
// owns, and appends it to `out`. `data_dir` is the default store directory.
using Commands = std::vector<Command>;

// --tls-cert, --tls-key and --tls-client-ca of the HTTP API; each needs `listen` when that is
// given. The files are checked further before the server starts (connectors/http CheckTls).
void AddTlsOptions(CLI::App* cmd, amtsweg::cli::ApiArgs* api, CLI::Option* listen = nullptr) {
  for (CLI::Option* o : {
           cmd->add_option("--tls-cert", api->tls_cert,
                           "API over https (TLS 1.2, 1.3 only): the server's certificate, PEM, "
                           "perhaps followed by its chain (needs --tls-key)"),
           cmd->add_option("--tls-key", api->tls_key,
                           "API over https: the certificate's private key, PEM, unencrypted"),
           cmd->add_option("--tls-client-ca", api->tls_client_ca,
                           "API over https: CA certificates (PEM) whose client certificates "
                           "authenticate participants, the subject CN naming the organisation"),
       }) {
    o->check(CLI::ExistingFile);
    if (listen != nullptr) o->needs(listen);
  }
}

// --backup-dir and --key-retention of the HTTP API's backups (POST /api/v1/admin/backups); each
// needs `listen` when that is given.
void AddBackupOptions(CLI::App* cmd, amtsweg::cli::ApiArgs* api, CLI::Option* listen = nullptr) {
  for (CLI::Option* o : {
           cmd->add_option("--backup-dir", api->backup_dir,
                           "API: backup directory of POST /api/v1/admin/backups (the key "
                           "store's backups go to DIR.keys)"),
           cmd->add_option("--key-retention", api->key_retention,
                           "API: delete key-store backups older than this many days (ISO 8601, "
                           "e.g. P7D) after each backup, keeping the newest")
               ->capture_default_str(),
       }) {
    if (listen != nullptr) o->needs(listen);
  }
}

// --key-dir and --kek-file: where the cases' data keys are (docs/data-protection.md).
void AddKeyOptions(CLI::App* cmd, amtsweg::cli::KeyArgs* keys) {
  cmd->add_option("--key-dir", keys->key_dir,
                  "Key store of the cases' data keys (default DATA-DIR.keys)");
  cmd->add_option("--kek-file", keys->kek_file,
                  "Key-encryption keys (default: env AMTSWEG_KEK, AMTSWEG_KEK_FILE, KEY-DIR/kek)")
      ->check(CLI::ExistingFile);
}

void AddRunCommand(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  auto run = std::make_shared<RunArgs>();
  run->data_dir = data_dir;
  CLI::App* cmd = app.add_subcommand("run", "Consume events, drive the workflows, store the cases");
  cmd->add_option("--workflows", run->workflows, "Directory of workflow definitions (*.yaml)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--directory", run->directory, "Participant directory (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", run->data_dir, "Store directory (RocksDB); env AMTSWEG_DATA_DIR")
      ->capture_default_str();
  cmd->add_option("--source", run->sources,
                  "Event source: file:PATH (JSON lines, repeatable) or kafka");
  cmd->add_option("--kafka-config", run->kafka_config,
                  "Kafka settings (YAML, see docs/operations.md); the options below override")
      ->check(CLI::ExistingFile);
  cmd->add_option("--bootstrap", run->bootstrap, "Kafka bootstrap servers, HOST:PORT[,...]");
  cmd->add_option("--topic", run->topic, "Kafka input topic");
  cmd->add_option("--group", run->group, "Kafka consumer group of the engine's instances");
  cmd->add_option("--audit-topic", run->audit_topic,
                  "Topic receiving every domain event (default amtsweg.audit)");
  cmd->add_option("--dead-letter-topic", run->dead_letter_topic,
                  "Topic receiving refused input (default amtsweg.dead-letters)");
  // A positive flag: CLI11 takes a negated one (!--no-...) from the environment the wrong way.
  auto no_create_topics = std::make_shared<bool>(false);
  cmd->add_flag("--no-create-topics", *no_create_topics,
                "Do not create missing outbound topics (audit, dead letters, organisations)");
  cmd->add_flag("--trust-channel-headers", run->trust_channel_headers,
                "Kafka: pass the channel the forwarder stamped to the engine (only when nobody "
                "but `amtsweg forward` may write to the input topic)");
  cmd->add_option("--partitioner", run->partitioner,
                  "Kafka: the input topic's partitioner, murmur2 (Java's default), crc32 "
                  "(librdkafka's: kcat, confluent-kafka) or fnv1a (default murmur2)")
      ->check(CLI::IsMember({"murmur2", "crc32", "fnv1a"}));
  cmd->add_option("--group-instance-id", run->group_instance_id,
                  "Kafka: static group membership (group.instance.id), unique per instance and "
                  "kept across restarts");
  cmd->add_option("-X", run->kafka_properties,
                  "librdkafka property NAME=VALUE (TLS, SASL, ...), repeatable");
  cmd->add_option("--cloudevents-source", run->cloudevents_source,
                  "CloudEvents source (a URI-reference) of the events this installation "
                  "publishes (default amtsweg); see docs/events.md")
      ->check([](const std::string& s) { return amtsweg::core::CheckEventSource(s).message(); });
  cmd->add_option("--out", run->out_dir, "Directory for outbound events (default DATA-DIR/out)");
  cmd->add_flag("--until-idle", run->until_idle,
                "Stop when every source is exhausted (Kafka: every assigned partition read "
                "to its end and everything published)");
  cmd->add_option("--advance-to", run->advance_to,
                  "After the sources, move the clock to this RFC 3339 time, firing due deadlines");
  cmd->add_option("--batch", run->batch_size, "Inputs per atomic commit")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--max-event-bytes", run->max_event_bytes, "Size limit of one input event")
      ->check(CLI::Range(256, 64 << 20))
      ->capture_default_str();
  cmd->add_option("--max-future", run->max_future,
                  "Refuse inputs stamped more than this ISO 8601 duration (e.g. PT15M) after "
                  "the wall clock");
  cmd->add_option("--webhook-connect-timeout", run->webhook_connect_timeout_ms,
                  "Webhooks: connect timeout in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  cmd->add_option("--webhook-read-timeout", run->webhook_read_timeout_ms,
                  "Webhooks: read (and write) timeout in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  cmd->add_option("--webhook-max-backoff", run->webhook_max_backoff_ms,
                  "Webhooks: longest wait between two attempts of an event, in milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}))
      ->capture_default_str();
  cmd->add_option("--webhook-workers", run->webhook_workers, "Webhooks: concurrent deliveries")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--webhook-client-cert", run->webhook_client_cert,
                  "Webhooks: amtsweg's client certificate (PEM) for endpoints that ask for one")
      ->check(CLI::ExistingFile);
  cmd->add_option("--webhook-client-key", run->webhook_client_key,
                  "Webhooks: the client certificate's private key (PEM)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--webhook-ca-file", run->webhook_ca_file,
                  "Webhooks: CA certificates (PEM) for https (default: the system's)");
  cmd->add_flag("--quiet,-q", run->quiet, "No progress output");
  cmd->add_flag("--json", run->json, "The summary as one JSON object");
  cmd->add_flag("--no-sync", run->no_sync, "Do not fsync commits (benchmarks only; unsafe)");
  cmd->add_flag("--no-encryption", run->no_encryption,
                "Store personal data unsealed (benchmarks only: such cases cannot be erased)");
  AddKeyOptions(cmd, &run->keys);
  CLI::Option* listen =
      cmd->add_option("--listen", run->api.listen,
                      "Serve the HTTP API on HOST:PORT while running (needs --principals)");
  cmd->add_option("--principals", run->api.principals, "API principals (YAML)")
      ->check(CLI::ExistingFile);
  AddTlsOptions(cmd, &run->api, listen);
  AddBackupOptions(cmd, &run->api, listen);
  cmd->add_option("--crash-at", run->crash_at)->group("");  // crash tests only
  cmd->add_option("--crash-after", run->crash_after)->group("");
  out->push_back({cmd, [run, no_create_topics] {
                    run->create_topics = !*no_create_topics;
                    if (run->sources.empty() && run->advance_to.empty()) {
                      std::cerr << "amtsweg run: give at least one --source or --advance-to\n";
                      return kExitUsage;
                    }
                    return Run(*run);
                  }});
}

void AddProduceCommand(CLI::App& app, Commands* out) {
  using namespace amtsweg::cli;
  auto produce = std::make_shared<ProduceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "produce", "Send CloudEvents from JSON-lines files to a Kafka topic, keyed by case id");
  cmd->add_option("files", produce->files, "JSON-lines files, sent in order")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--bootstrap", produce->bootstrap, "Kafka bootstrap servers")->required();
  cmd->add_option("--topic", produce->topic, "Topic to send to")->required();
  cmd->add_flag("--binary", produce->binary,
                "CloudEvents binary mode (ce_ headers, data as the value)");
  cmd->add_option("--partitions", produce->partitions,
                  "Create the topic with this many partitions if it does not exist")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("-X", produce->kafka_properties, "librdkafka property NAME=VALUE");
  cmd->add_flag("--quiet,-q", produce->quiet, "No summary");
  out->push_back({cmd, [produce] { return Produce(*produce); }});
}

void AddForwardCommand(CLI::App& app, Commands* out) {
  using namespace amtsweg::cli;
  auto forward = std::make_shared<ForwardArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forward",
      "Forward the organisations' ingress topics into the input topic, stamped with "
      "their channel (see docs/operations.md)");
  cmd->add_option("--bootstrap", forward->bootstrap, "Kafka bootstrap servers")->required();
  cmd->add_option("--topic", forward->topic, "The engine's input topic")->required();
  cmd->add_option("--prefix", forward->prefix,
                  "Ingress topic of organisation X: PREFIX followed by X")
      ->capture_default_str();
  cmd->add_option("--group", forward->group, "Consumer group of the ingress topics")
      ->capture_default_str();
  cmd->add_option("-X", forward->kafka_properties, "librdkafka property NAME=VALUE, repeatable");
  cmd->add_flag("--until-idle", forward->until_idle,
                "Stop when every ingress partition is read to its end and forwarded");
  cmd->add_flag("--quiet,-q", forward->quiet, "No summary");
  out->push_back({cmd, [forward] { return Forward(*forward); }});
}

void AddValidateCommand(CLI::App& app, Commands* out) {
  struct Args {
    std::vector<std::string> files;
    std::string directory;
    std::string migration, workflows;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check workflow definitions (or a migration mapping) before deployment");
  CLI::Option* files =
      cmd->add_option("files", args->files, "Definition files")->check(CLI::ExistingFile);
  cmd->add_option("--directory", args->directory,
                  "Participant directory to check organisations and functions against")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "One JSON object per file (and per error)");
  CLI::Option* migration =
      cmd->add_option("--migration", args->migration,
                      "A migration mapping (YAML) to check against --workflows instead")
          ->check(CLI::ExistingFile);
  CLI::Option* workflows =
      cmd->add_option("--workflows", args->workflows, "Directory of the mapping's definitions")
          ->check(CLI::ExistingDirectory);
  migration->needs(workflows)->excludes(files);
  workflows->needs(migration);
  out->push_back({cmd, [args] {
                    if (!args->migration.empty())
                      return amtsweg::cli::ValidateMigrationFile(args->migration, args->workflows,
                                                                 args->json);
                    if (args->files.empty()) {
                      std::cerr << "amtsweg validate: give definition files or --migration\n";
                      return amtsweg::cli::kExitUsage;
                    }
                    return amtsweg::cli::Validate(args->files, args->directory, args->json);
                  }});
}

void AddMigrateCommand(CLI::App& app, const std::string& data_dir, Commands* out) {
  auto args = std::make_shared<amtsweg::cli::MigrateArgs>();
  args->data_dir = data_dir;
  CLI::App* cmd = app.add_subcommand(
      "migrate", "Move the open cases of a workflow version to another version by a mapping");
  cmd->add_option("--workflow", args->workflow, "Workflow name")->required();
  cmd->add_option("--from", args->from, "The cases' version")->required();
  cmd->add_option("--to", args->to, "The version they move to")->required();
  cmd->add_option("--map", args->map, "Migration mapping (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", args->dry_run, "Show what each case would record; change nothing");
  cmd->add_option("--case", args->case_id, "Only this case");
  cmd->add_option("--reason", args->reason, "Why (recorded in case.migrated)");
  cmd->add_flag("--json", args->json, "--dry-run: JSON lines instead of text");
  cmd->add_option("--data-dir", args->data_dir, "Store directory")->capture_default_str();
  cmd->add_option("--workflows", args->workflows, "Directory of workflow definitions (*.yaml)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--directory", args->directory, "Participant directory (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  out->push_back({cmd, [args] { return amtsweg::cli::Migrate(*args); }});
}

// case list, case show, case history.
void AddCaseCommands(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  CLI::App* case_cmd = app.add_subcommand("case", "Inspect cases");
  case_cmd->require_subcommand(1);
  auto list = std::make_shared<ListArgs>();
  list->data_dir = data_dir;
  CLI::App* list_cmd = case_cmd->add_subcommand("list", "List cases, optionally filtered");
  list_cmd->add_option("--data-dir", list->data_dir)->capture_default_str();
  list_cmd->add_option("--workflow", list->workflow, "Only cases of this workflow");
  list_cmd->add_option("--state", list->state, "Only cases in this state");
  list_cmd->add_option("--participant", list->participant,
                       "Only cases this organisation takes part in");
  list_cmd->add_option("--outcome", list->outcome, "Only cases with this outcome (or 'open')");
  list_cmd->add_flag("--json", list->json, "JSON lines instead of a table");
  out->push_back({list_cmd, [list] { return CaseList(*list); }});

  struct Args {
    std::string id;
    std::string data_dir;
    bool json = false;
  };
  auto show = std::make_shared<Args>();
  show->data_dir = data_dir;
  CLI::App* show_cmd = case_cmd->add_subcommand("show", "Show one case's current state");
  show_cmd->add_option("id", show->id, "Case id")->required();
  show_cmd->add_option("--data-dir", show->data_dir)->capture_default_str();
  show_cmd->add_flag("--json", show->json, "JSON instead of text");
  out->push_back({show_cmd, [show] { return CaseShow(show->data_dir, show->id, show->json); }});

  auto history = std::make_shared<Args>();
  history->data_dir = data_dir;
  CLI::App* history_cmd =
      case_cmd->add_subcommand("history", "A case's domain events as JSON lines");
  history_cmd->add_option("id", history->id, "Case id")->required();
  history_cmd->add_option("--data-dir", history->data_dir)->capture_default_str();
  out->push_back({history_cmd, [history] { return CaseHistory(history->data_dir, history->id); }});

  auto erase = std::make_shared<EraseArgs>();
  erase->data_dir = data_dir;
  CLI::App* erase_cmd = case_cmd->add_subcommand(
      "erase", "Erase a closed case's personal data (its key is destroyed; the log stays)");
  erase_cmd->add_option("id", erase->id, "Case id")->required();
  erase_cmd->add_option("--reason", erase->reason, "Why (recorded in case.erased)")->required();
  erase_cmd->add_option("--basis", erase->basis, "Legal basis, e.g. \"Art. 17(1)(a) DSGVO\"")
      ->required();
  erase_cmd
      ->add_option("--directory", erase->directory,
                   "Participant directory (YAML): where the erasure notices go")
      ->required()
      ->check(CLI::ExistingFile);
  erase_cmd
      ->add_option("--workflows", erase->workflows,
                   "Directory of workflow definitions, besides the deployed ones")
      ->check(CLI::ExistingDirectory);
  erase_cmd->add_option("--data-dir", erase->data_dir)->capture_default_str();
  AddKeyOptions(erase_cmd, &erase->keys);
  out->push_back({erase_cmd, [erase] { return CaseErase(*erase); }});
}

void AddRetentionCommand(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  auto args = std::make_shared<RetentionArgs>();
  args->data_dir = data_dir;
  CLI::App* cmd = app.add_subcommand(
      "retention", "Cases whose retention period ends by a date (what the engine will erase)");
  cmd->add_option("--data-dir", args->data_dir)->capture_default_str();
  cmd->add_option("--until", args->until, "RFC 3339 time; default: every retention timer");
  cmd->add_flag("--dry-run", args->dry_run, "List only (required: the engine does the erasing)");
  cmd->add_flag("--json", args->json, "JSON lines instead of a table");
  out->push_back({cmd, [args] { return Retention(*args); }});
}

void AddReplayCommand(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  struct Args {
    ReplayArgs replay;
    uint64_t upto = 0;
    CLI::Option* upto_opt = nullptr;
  };
  auto args = std::make_shared<Args>();
  args->replay.data_dir = data_dir;
  CLI::App* cmd = app.add_subcommand("replay", "Rebuild a case's state from its event log");
  cmd->add_option("id", args->replay.id, "Case id")->required();
  cmd->add_option("--data-dir", args->replay.data_dir)->capture_default_str();
  args->upto_opt = cmd->add_option("--upto", args->upto, "Replay events up to this sequence number")
                       ->check(CLI::PositiveNumber);
  CLI::Option* as_of =
      cmd->add_option("--as-of", args->replay.as_of, "Replay events up to this RFC 3339 time");
  args->upto_opt->excludes(as_of);
  cmd->add_flag("--verify", args->replay.verify,
                "Check the hash chain and, for a full replay, the stored snapshot");
  out->push_back({cmd, [args] {
                    if (*args->upto_opt) args->replay.upto = args->upto;
                    return Replay(args->replay);
                  }});
}

// The arguments of a command on a store: its directory, a flag and a filter.
struct StoreArgs {
  explicit StoreArgs(std::string dir) : data_dir(std::move(dir)) {}
  std::string data_dir;
  bool flag = false;   // --quiet or --json
  bool json = false;   // --json besides --quiet
  std::string filter;  // --kind or --due-before
};

// audit verify, dead-letters, deadlines, rebuild: the store's operator commands.
void AddStoreCommands(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  CLI::App* audit_cmd = app.add_subcommand("audit", "Auditing");
  audit_cmd->require_subcommand(1);
  auto verify = std::make_shared<StoreArgs>(data_dir);
  CLI::App* verify_cmd = audit_cmd->add_subcommand("verify", "Verify every case's hash chain");
  verify_cmd->add_option("--data-dir", verify->data_dir)->capture_default_str();
  verify_cmd->add_flag("--quiet,-q", verify->flag, "No progress output");
  verify_cmd->add_flag("--json", verify->json, "The result as one JSON object");
  out->push_back(
      {verify_cmd, [verify] { return AuditVerify(verify->data_dir, verify->flag, verify->json); }});

  auto dead = std::make_shared<StoreArgs>(data_dir);
  CLI::App* dead_cmd =
      app.add_subcommand("dead-letters", "Inputs that were refused, with the reason");
  dead_cmd->add_option("--data-dir", dead->data_dir)->capture_default_str();
  dead_cmd->add_flag("--json", dead->flag, "JSON lines instead of a table");
  dead_cmd->add_option("--kind", dead->filter, "Only dead letters of this kind (e.g. malformed)")
      ->check(CLI::IsMember(DeadLetterKinds()));
  out->push_back(
      {dead_cmd, [dead] { return DeadLetters(dead->data_dir, dead->flag, dead->filter); }});

  auto deadlines = std::make_shared<StoreArgs>(data_dir);
  CLI::App* deadlines_cmd = app.add_subcommand("deadlines", "Running deadlines, soonest first");
  deadlines_cmd->add_option("--data-dir", deadlines->data_dir)->capture_default_str();
  deadlines_cmd->add_option("--due-before", deadlines->filter,
                            "Only deadlines due before this RFC 3339 time");
  deadlines_cmd->add_flag("--json", deadlines->flag, "JSON lines instead of a table");
  out->push_back({deadlines_cmd, [deadlines] {
                    return Deadlines(deadlines->data_dir, deadlines->filter, deadlines->flag);
                  }});

  auto rebuild = std::make_shared<StoreArgs>(data_dir);
  CLI::App* rebuild_cmd =
      app.add_subcommand("rebuild", "Rebuild snapshots and indexes from the event logs");
  rebuild_cmd->add_option("--data-dir", rebuild->data_dir)->capture_default_str();
  rebuild_cmd->add_flag("--quiet,-q", rebuild->flag, "No progress output");
  out->push_back({rebuild_cmd, [rebuild] { return Rebuild(rebuild->data_dir, rebuild->flag); }});
}

// Public monitoring (engine/report, docs/monitoring.md): stats, status-page.
void AddReportCommands(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  auto stats = std::make_shared<StatsArgs>();
  stats->data_dir = data_dir;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Monthly statistics export: month, region key, LeiKa key, count (no personal data)");
  stats_cmd->add_option("--data-dir,--data", stats->data_dir, "Store directory")
      ->capture_default_str();
  stats_cmd->add_option("--month", stats->month, "Month, YYYY-MM (German civil time)")->required();
  stats_cmd->add_option("--format", stats->format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  out->push_back({stats_cmd, [stats] { return Stats(*stats); }});

  auto page = std::make_shared<StatusPageArgs>();
  page->data_dir = data_dir;
  CLI::App* page_cmd =
      app.add_subcommand("status-page", "Write the public status page (self-contained HTML)");
  page_cmd->add_option("--data-dir,--data", page->data_dir, "Store directory")
      ->capture_default_str();
  page_cmd->add_option("--out", page->out, "HTML file to write")->required();
  page_cmd
      ->add_option("--workflows", page->workflows,
                   "Directory of workflow definitions whose titles name the services")
      ->check(CLI::ExistingDirectory);
  page_cmd
      ->add_option("--directory", page->directory,
                   "Participant directory (YAML) whose `municipalities` name the municipalities")
      ->check(CLI::ExistingFile);
  page_cmd->add_option("--as-of", page->as_of, "The \"Stand\" shown, RFC 3339 (default: now)");
  out->push_back({page_cmd, [page] { return StatusPage(*page); }});
}

// serve, token: the HTTP API on a store and its principals.
void AddApiCommands(CLI::App& app, const std::string& data_dir, Commands* out) {
  using namespace amtsweg::cli;
  auto serve = std::make_shared<ServeArgs>();
  serve->data_dir = data_dir;
  serve->api.listen = "127.0.0.1:8080";
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the HTTP API on a store");
  serve_cmd->add_option("--data-dir,--data", serve->data_dir, "Store directory")
      ->capture_default_str();
  serve_cmd->add_option("--directory", serve->directory, "Participant directory (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--principals", serve->api.principals, "API principals (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  AddKeyOptions(serve_cmd, &serve->keys);
  serve_cmd->add_option("--listen", serve->api.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  AddBackupOptions(serve_cmd, &serve->api);
  serve_cmd
      ->add_option("--workflows", serve->workflows,
                   "Directory of workflow definitions (*.yaml), besides the deployed ones")
      ->check(CLI::ExistingDirectory);
  serve_cmd->add_option("--threads", serve->api.threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", serve->api.max_body_bytes, "Request body limit")
      ->check(CLI::Range(1024, 64 << 20))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-connections", serve->api.max_connections,
                   "Open connections in total (split across the threads; more wait)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-connections-per-client", serve->api.max_connections_per_client,
                   "Open connections per client IP address (more are closed)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  AddTlsOptions(serve_cmd, &serve->api);
  out->push_back({serve_cmd, [serve] { return Serve(*serve); }});

  struct TokenArgs {
    std::string name, role, organisation, add_to;
  };
  auto token = std::make_shared<TokenArgs>();
  CLI::App* token_cmd =
      app.add_subcommand("token", "Make a new API token and its principals-file line");
  token_cmd->add_option("--name", token->name, "Principal name for the printed line");
  token_cmd->add_option("--role", token->role, "admin, auditor or participant")
      ->check(CLI::IsMember({"admin", "auditor", "participant"}));
  token_cmd->add_option("--organisation", token->organisation, "Participants: the organisation id");
  token_cmd
      ->add_option("--add-to", token->add_to,
                   "Also append the line to this principals file (created when missing)")
      ->needs(token_cmd->get_option("--name"));
  out->push_back({token_cmd, [token] {
                    return Token(token->name, token->role, token->organisation, token->add_to);
                  }});
}

}  // namespace

// An exception escaping main is a bug: std::terminate reports it and aborts, as it should.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  using namespace amtsweg::cli;
  CLI::App app{"amtsweg: event-sourced workflow engine for inter-agency public administration"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level and the other top-level options also after the command
  app.set_version_flag("--version", "amtsweg 0.1.0");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level,
                 "Operational log on standard error: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "Operational log: text, or json (one object a line; times RFC 3339 with offset)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  const std::string data_dir = "var/data";
  Commands commands;
  AddRunCommand(app, data_dir, &commands);
  AddProduceCommand(app, &commands);
  AddForwardCommand(app, &commands);
  AddValidateCommand(app, &commands);
  AddMigrateCommand(app, data_dir, &commands);
  AddCaseCommands(app, data_dir, &commands);
  AddReplayCommand(app, data_dir, &commands);
  AddRetentionCommand(app, data_dir, &commands);
  AddStoreCommands(app, data_dir, &commands);
  AddReportCommands(app, data_dir, &commands);
  AddApiCommands(app, data_dir, &commands);
  CalendarCommands calendar_commands(app);        // holidays, period
  KeyCommands key_commands(app, data_dir);        // keys new-kek, status, rotate
  BackupCommands backup_commands(app, data_dir);  // backup create, list, verify, restore
  AddConfigurationSources(app);                   // env AMTSWEG_..., --config FILE

  if (std::optional<std::string> unknown = UnknownCommand(app, argc, argv)) {
    std::cerr << *unknown << "\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  SetUpLog(log_level, log_format);
  if (amtsweg::Status tz = amtsweg::calendar::LoadGermanTime(); !tz.ok()) {
    std::cerr << "amtsweg: " << tz.message() << "\n";
    return kExitIO;
  }
  if (std::optional<int> code = calendar_commands.Run()) return *code;
  if (std::optional<int> code = key_commands.Run()) return *code;
  if (std::optional<int> code = backup_commands.Run()) return *code;
  for (const Command& c : commands) {
    if (*c.app) return c.action();
  }
  return kExitUsage;
}
