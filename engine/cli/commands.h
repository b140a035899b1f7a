// The `amtsweg` command line: one function per command, each returning the process exit code.
// Exit codes: 0 success, 1 failure found (validation errors, tampering, mismatch),
// 2 bad arguments or unusable input files, 3 store or I/O error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amtsweg::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitIO = 3;

// The HTTP API (connectors/http): where it listens and who may use it.
// Where the cases' data keys are (docs/data-protection.md): the key store directory (default
// DATA-DIR.keys) and the KEK file (default: env AMTSWEG_KEK, AMTSWEG_KEK_FILE, KEY-DIR/kek).
struct KeyArgs {
  std::string key_dir;
  std::string kek_file;
};

struct ApiArgs {
  std::string listen;      // HOST:PORT; empty: no API
  std::string principals;  // principals file (YAML)
  size_t threads = 4;
  size_t max_body_bytes = 1 << 20;
  size_t max_connections = 256;            // in total
  size_t max_connections_per_client = 32;  // per client IP address
  // https: the server's certificate and key (PEM), and the CA of participants' client
  // certificates (see connectors/http/api_server.h). Empty: plain http.
  std::string tls_cert, tls_key, tls_client_ca;
  // POST /api/v1/admin/backups: the backup directory of the store (the key store's is
  // <backup_dir>.keys), and how long key-store backups are kept (ISO 8601 days). Empty: none.
  std::string backup_dir;
  std::string key_retention = "P7D";
};

struct RunArgs {
  std::string workflows;
  std::string directory;
  std::string data_dir;
  std::vector<std::string> sources;  // "file:PATH" or "kafka"
  // Kafka (with --source kafka): a config file, then these, which override it.
  std::string kafka_config;
  std::string bootstrap, topic, group, audit_topic, dead_letter_topic;
  std::vector<std::string> kafka_properties;   // "name=value", passed to librdkafka
  bool create_topics = true;                   // create missing outbound topics at start
  bool trust_channel_headers = false;          // see connectors/kafka/kafka_forwarder.h
  std::string partitioner;                     // murmur2, crc32, fnv1a; empty: the config's
  std::string group_instance_id;               // static group membership; empty: the config's
  std::string cloudevents_source = "amtsweg";  // the CloudEvents `source` of published events
  std::string max_future;  // ISO 8601 duration (time part): refuse inputs stamped further ahead
  std::string out_dir;     // outbound events; default <data-dir>/out
  bool until_idle = false;
  std::string advance_to;  // RFC 3339; fire every timer due by then
  size_t batch_size = 1000;
  size_t max_event_bytes = size_t{256} * 1024;
  bool quiet = false;
  bool json = false;  // the summary as one JSON object (docs/cli.md, "run")
  bool no_sync = false;
  // Webhook delivery (organisations with a webhook in the directory; docs/webhooks.md).
  int64_t webhook_connect_timeout_ms = 5000;
  int64_t webhook_read_timeout_ms = 10000;
  int64_t webhook_max_backoff_ms = 300000;
  size_t webhook_workers = 4;
  std::string webhook_ca_file;  // CA certificates for https; default: the system's
  std::string webhook_client_cert, webhook_client_key;  // mutual TLS: amtsweg's certificate
  std::string crash_at;                                 // hidden, crash tests: crash point name
  uint64_t crash_after = 0;                             // hidden: crash in this commit (1-based)
  ApiArgs api;                                          // serve the HTTP API while running
  KeyArgs keys;                                         // the cases' data keys
  bool no_encryption = false;  // benchmarks only: store personal data unsealed (no erasure)
};
int Run(const RunArgs& args);

// Produces CloudEvents from JSON-lines files to a Kafka topic, keyed by each event's subject
// (the case id), for loading input (tests, the demo, moving a file's events into Kafka).
struct ProduceArgs {
  std::string bootstrap, topic;
  std::vector<std::string> files;
  std::vector<std::string> kafka_properties;
  bool binary = false;  // CloudEvents binary mode: attributes as ce_ headers, data as the value
  int partitions = 0;   // > 0: create the topic with this many partitions if it does not exist
  bool quiet = false;
};
int Produce(const ProduceArgs& args);

// amtsweg forward: the organisations' ingress topics into the input topic, each message stamped
// with its channel (connectors/kafka/kafka_forwarder.h).
struct ForwardArgs {
  std::string bootstrap, topic, prefix = "amtsweg.in.", group = "amtsweg-forwarder";
  std::vector<std::string> kafka_properties;
  bool until_idle = false;
  bool quiet = false;
};
int Forward(const ForwardArgs& args);

// Validates definition files (with `directory`, against it): 0 when all are valid, 1 with errors,
// 2 when the directory cannot be loaded. `json`: one object per file on standard output.
int Validate(const std::vector<std::string>& files, const std::string& directory,
             bool json = false);

struct ListArgs {
  std::string data_dir;
  std::string workflow, state, participant, outcome;
  bool json = false;
};
int CaseList(const ListArgs& args);
int CaseShow(const std::string& data_dir, const std::string& id, bool json);
int CaseHistory(const std::string& data_dir, const std::string& id);

struct ReplayArgs {
  std::string data_dir;
  std::string id;
  std::optional<uint64_t> upto;
  std::string as_of;
  bool verify = false;
};
int Replay(const ReplayArgs& args);
// Verifies every case's hash chain: 0 when all are intact, 1 when one is not; `json`: the result
// as one object on standard output.
int AuditVerify(const std::string& data_dir, bool quiet, bool json = false);
// The kinds of dead letters (docs/events.md), for `dead-letters --kind`.
const std::vector<std::string>& DeadLetterKinds();
// Every dead letter (a table, or JSON lines with `json`); with `kind`, only those of that kind.
int DeadLetters(const std::string& data_dir, bool json, const std::string& kind = "");
// Running deadlines, soonest first; with `due_before`, only those due before it.
int Deadlines(const std::string& data_dir, const std::string& due_before, bool json);
int Rebuild(const std::string& data_dir, bool quiet);

// Erases the personal data of a closed case (crypto-shredding: its key is destroyed; the log
// keeps its bytes), recording case.erased, through an engine on the store (which must not be
// running: use the admin API then). docs/data-protection.md.
struct EraseArgs {
  std::string data_dir;
  KeyArgs keys;
  std::string directory;  // participant directory: where the erasure notices go
  std::string workflows;  // optional: definitions from files, besides the deployed ones
  std::string id, reason, basis;
};
int CaseErase(const EraseArgs& args);

// Lists the cases whose retention period ends by `until` (all with an empty one): what the
// engine's retention timers will erase. Only with `dry_run`.
struct RetentionArgs {
  std::string data_dir;
  std::string until;  // RFC 3339
  bool dry_run = false;
  bool json = false;
};
int Retention(const RetentionArgs& args);

// Serves the HTTP API on an existing store until SIGINT or SIGTERM.
struct ServeArgs {
  std::string data_dir;
  std::string workflows;  // optional: definitions from files, besides the deployed ones
  std::string directory;
  ApiArgs api;
  KeyArgs keys;
};
int Serve(const ServeArgs& args);
// Prints a new API token and the principals-file line with its SHA-256; with `add_to`, also
// appends the line to that principals file (created with its `principals:` key when missing).
int Token(const std::string& name, const std::string& role, const std::string& organisation,
          const std::string& add_to = "");

}  // namespace amtsweg::cli
