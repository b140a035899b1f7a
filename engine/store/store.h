// The durable store of amtsweg, on RocksDB.
//
// The store knows bytes, not workflows: the engine hands it encoded domain events, encoded case
// snapshots and opaque index keys. What the store owns is durability and integrity:
// - one atomic WriteBatch per Commit(), written with sync (group commit: one fsync per batch);
// - the per-case SHA-256 hash chain: each event is stored with
//   hash = SHA-256(previous hash || encoded event), starting from 32 zero bytes;
// - named crash points along the commit path, for crash tests (see CrashPoint).
//
// Column families: events (case id, seq) | cases (case id) | index | timers (due, case, name) |
// outbox (publish seq) | meta (input positions, the engine clock, schema version, deployed
// definitions) |
// dead (dead-letter seq) | seen (input event ids, for idempotence) | access (access log seq).
// Layout: docs/architecture.md.
//
// Thread-safety: reads may run concurrently with each other and with one writer; Commit() and
// the outbox/timer mutators must be called from a single thread. AppendAccess() and
// PutDefinition() touch nothing Commit() writes and may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/hash.h"
#include "engine/common/status.h"
#include "engine/common/time.h"

namespace amtsweg::store {

// Points on the commit path where a crash test can stop the process (see SetCrashHook).
enum class CrashPoint {
  kBeforeBatchBuilt,   // nothing of the batch exists yet
  kAfterEventsStaged,  // events staged in the WriteBatch, nothing written
  kAfterOutboxStaged,  // events, snapshots, indexes, timers, outbox staged
  kBeforeWrite,        // the whole batch incl. input positions staged, not written
  kAfterWrite,         // written and synced, the caller not yet told
  kAfterOutboxDelete,  // an outbox entry was removed after delivery
};
std::string_view CrashPointName(CrashPoint p);
std::optional<CrashPoint> ParseCrashPoint(std::string_view name);

struct Options {
  bool sync = true;  // fsync each Commit (turn off only in benchmarks that say so)
  bool create_if_missing = true;
  size_t block_cache_bytes = 64u << 20;
  // Fault injection for tests: when set, Commit() and DeleteOutbox() call it right before the
  // RocksDB write; a non-OK status is returned (with context) instead of writing, exactly as a
  // failed write would be. Never set by the engine.
  std::function<Status()> fault_before_write_for_test;
};

// A stored domain event.
struct EventRecord {
  uint64_t seq = 0;     // 1-based, consecutive per case
  std::string payload;  // the encoded domain event, as given to Commit
  Digest hash{};        // chain hash after this event
};

// What is stored for a case besides its events.
struct CaseRecord {
  std::string snapshot;  // encoded case state as of last_seq (a cache, rebuildable)
  uint64_t last_seq = 0;
  Digest head{};  // chain hash of event last_seq
};

// A case's position in its chain: the last seq and the hash after it (0 / kGenesisDigest for a
// case without events).
struct ChainHead {
  uint64_t last_seq = 0;
  Digest head{};
  friend bool operator==(const ChainHead&, const ChainHead&) = default;
};

// Changes to one case within a batch.
struct CaseWrite {
  std::string case_id;
  std::vector<std::string> events;  // encoded; get seqs last_seq+1, last_seq+2, ...
  std::string snapshot;             // state after these events
  std::vector<std::string> index_add;
  std::vector<std::string> index_remove;
  // Optional: the case's chain head as the caller knows it (the engine caches heads). When set,
  // Commit() continues the chain from it without reading the case record; the caller vouches
  // that it is current. When empty, Commit() reads the record (one read per distinct case).
  std::optional<ChainHead> known_head;
};

struct Timer {
  Timestamp due = 0;
  std::string case_id;
  std::string name;  // e.g. the deadline's name
  friend bool operator==(const Timer&, const Timer&) = default;
};

struct OutboxEntry {
  uint64_t seq = 0;         // assigned by Commit
  std::string destination;  // e.g. a topic or "org:<id>"
  std::string key;          // e.g. the case id
  std::string id;           // stable event id: case id + "/" + domain event seq
  std::string payload;
  // Metadata for the transport (Kafka headers), e.g. a dead letter's reason.
  std::vector<std::pair<std::string, std::string>> headers;
  // A reference entry (payload empty): the case's (key's) domain events event_from..event_to,
  // built from the event log when published. Keeps the log's bytes out of the outbox.
  uint64_t event_from = 0;
  uint64_t event_to = 0;
  bool is_reference() const { return event_to != 0; }
};

struct DeadLetter {
  uint64_t seq = 0;      // assigned by Commit
  Timestamp at = 0;      // when it was rejected (engine clock)
  std::string source;    // e.g. "file:samples/x.jsonl"
  std::string position;  // e.g. "line 17" or "partition 3 offset 42"
  std::string reason;    // "kind: explanation"
  std::string raw;       // the input as received (possibly truncated to the size limit)
  // The refusal's kind, e.g. "malformed". Empty when read from a record stored before kinds had
  // a field of their own (format 1); its reason still starts with the kind.
  std::string kind;
  // The input's transport headers as read (Kafka), in order; empty for other sources and for
  // records stored before dead letters kept them (formats 1 and 2).
  std::vector<std::pair<std::string, std::string>> headers;
};

// One read of case data through the API (the access log). Never part of a case's events.
struct AccessRecord {
  uint64_t seq = 0;  // assigned by AppendAccess
  Timestamp at = 0;  // when (wall clock of the reader)
  std::string principal;
  std::string role;          // "admin", "auditor", "participant"
  std::string organisation;  // participants only
  std::string method;        // HTTP method
  std::string path;          // request path with its query
  int status = 0;            // HTTP status answered
  std::string case_id;       // empty for reads of no single case (lists)
};

// Everything one input batch causes, committed atomically.
struct Batch {
  std::vector<CaseWrite> cases;
  std::vector<Timer> timers_add;
  std::vector<Timer> timers_remove;
  std::vector<OutboxEntry> outbox;
  std::vector<DeadLetter> dead;
  std::vector<std::string> seen_ids;  // input ids now processed (idempotence)
  // Input positions to store, e.g. {"file:samples/x.jsonl", "128"}.
  std::vector<std::pair<std::string, std::string>> positions;
  // The engine clock after this batch, when it moved. Never earlier than the stored clock.
  std::optional<Timestamp> clock;
  // Outbox entries removed with the batch (not yet delivered entries of an erased case).
  std::vector<uint64_t> outbox_delete;
  // Cases erased by this batch: marked until PurgeErased has physically removed what is left of
  // their personal data (ScanPendingErasures), so that a crash in between is finished on restart.
  std::vector<std::string> erasures;
  bool empty() const {
    return cases.empty() && timers_add.empty() && timers_remove.empty() && outbox.empty() &&
           dead.empty() && seen_ids.empty() && positions.empty() && !clock.has_value() &&
           outbox_delete.empty() && erasures.empty();
  }
};

// Result of committing: the chain heads and seqs written, per CaseWrite in order.
struct CommitResult {
  struct CaseHead {
    uint64_t last_seq = 0;
    Digest head{};
  };
  std::vector<CaseHead> heads;
  uint64_t last_outbox_seq = 0;  // the highest outbox seq assigned so far (by any commit)
};

// One backup in a backup directory (rocksdb::BackupEngine's layout: meta/, private/,
// shared_checksum/; table files are shared between the backups of one directory).
struct BackupInfo {
  uint32_t id = 0;          // 1, 2, ... in the order made
  Timestamp created = 0;    // wall clock when it was made (whole seconds)
  uint64_t size_bytes = 0;  // its files, including those shared with other backups
  uint32_t files = 0;
  // What the engine stored with it: a JSON object, for the engine's own backups with "format":
  // "amtsweg store backup v1", "kind" ("store", "key store"), "created", "amtsweg" (version)
  // and "source" (the directory backed up).
  std::string metadata;
};

// How far a backup or restore is: bytes copied so far of an estimated total. The last call of
// an operation that succeeded has bytes_done == bytes_total.
struct BackupProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};
using BackupProgressFn = std::function<void(const BackupProgress&)>;

// What RestoreBackup restored and verified.
struct RestoredBackup {
  BackupInfo backup;
  uint64_t cases = 0;   // cases whose chain was verified
  uint64_t events = 0;  // events in them
};

class Store {
 public:
  // Opens (or creates) the store in directory `path`. IOError / Corruption on failure.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const Options& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes `batch` atomically: events with their chain hashes, snapshots (with last seq and
  // chain head), index changes, timers, outbox entries (assigning seqs), dead letters, seen ids,
  // positions and the clock. Conflict if a case's chain does not continue (never happens with a
  // single writer); InvalidArgument if the clock would move backwards. After an error nothing of
  // the batch is stored.
  Result<CommitResult> Commit(const Batch& batch);

  // Reads.
  Result<std::optional<CaseRecord>> GetCase(std::string_view case_id) const;
  // Events of a case with from_seq <= seq <= to_seq, in order; stops early when fn returns false.
  Status ScanEvents(std::string_view case_id, uint64_t from_seq, uint64_t to_seq,
                    const std::function<bool(const EventRecord&)>& fn) const;
  // Every case id in key order (with its record); stops when fn returns false.
  Status ScanCases(const std::function<bool(std::string_view, const CaseRecord&)>& fn) const;
  // Index keys starting with prefix, in order.
  Status ScanIndex(std::string_view prefix,
                   const std::function<bool(std::string_view key)>& fn) const;
  // Timers due at or before `upto`, earliest first.
  Status DueTimers(Timestamp upto, const std::function<bool(const Timer&)>& fn) const;
  // The earliest timer, if any.
  Result<std::optional<Timer>> NextTimer() const;
  Status ScanOutbox(const std::function<bool(const OutboxEntry&)>& fn) const;
  // Outbox entries with seq >= from_seq. Delivered entries leave tombstones behind; a publisher
  // that remembers where it stopped skips them.
  Status ScanOutbox(uint64_t from_seq, const std::function<bool(const OutboxEntry&)>& fn) const;
  Result<uint64_t> OutboxSize() const;
  Status ScanDeadLetters(const std::function<bool(const DeadLetter&)>& fn) const;
  Result<bool> Seen(std::string_view input_id) const;
  // Seen for many ids with one read: element i answers input_ids[i].
  Result<std::vector<bool>> Seen(const std::vector<std::string>& input_ids) const;
  Result<std::optional<std::string>> GetPosition(std::string_view source) const;
  // The engine clock as last committed (Batch::clock); nullopt before the first commit with one.
  Result<std::optional<Timestamp>> GetClock() const;

  // Access log: appends `record` with the next seq (returned), synced like a Commit.
  // Thread-safe (serialised internally).
  Result<uint64_t> AppendAccess(const AccessRecord& record);
  // Access records with seq >= from_seq, in order; stops when fn returns false.
  Status ScanAccess(uint64_t from_seq, const std::function<bool(const AccessRecord&)>& fn) const;

  // Deployed workflow definitions (their YAML text), kept in meta so that they survive a
  // restart. PutDefinition overwrites the same name and version; thread-safe.
  Status PutDefinition(std::string_view name, uint64_t version, std::string_view yaml);
  // Every stored definition, by name then version.
  Status ScanDefinitions(const std::function<bool(std::string_view name, uint64_t version,
                                                  std::string_view yaml)>& fn) const;

  // Removes delivered outbox entries. Not synced: a deletion lost in a crash only means the
  // entries are published again (delivery is at least once).
  Status DeleteOutbox(const std::vector<uint64_t>& seqs);

  // Erasure (docs/data-protection.md). The cases erased by a committed batch whose purge has not
  // finished, in id order.
  Status ScanPendingErasures(const std::function<bool(std::string_view case_id)>& fn) const;
  // Removes the dead letters `drop` selects, then makes sure no old version of a deleted value
  // survives in any file of the store: flushes every column family (so that the WAL files holding
  // them become obsolete and are deleted) and compacts the outbox and dead-letter families down to
  // the bottommost level (the other families hold personal values only sealed). Then clears the
  // pending marks of `case_ids`. Idempotent; synced.
  Status PurgeErased(const std::vector<std::string>& case_ids,
                     const std::function<bool(const DeadLetter&)>& drop);

  // Checks one case's chain: every event's hash recomputed from the previous one, seqs
  // consecutive from 1, and the head in the case record equal to the last hash. Corruption
  // names the case and the first bad seq.
  Status VerifyChain(std::string_view case_id) const;

  // Rebuilding caches: drops every index entry / snapshot; the engine then rewrites them.
  Status ClearIndex();
  // Replaces a case's snapshot without touching events (used by cache rebuilds).
  Status PutSnapshot(std::string_view case_id, const CaseRecord& record);

  // For tamper tests only: overwrites the stored payload of one event, leaving hashes as they
  // are. Never used by the engine.
  Status OverwriteEventPayloadForTest(std::string_view case_id, uint64_t seq,
                                      std::string_view payload);

  // Crash tests: called at each CrashPoint; a test hook typically calls _exit() for one point.
  void SetCrashHook(std::function<void(CrashPoint)> hook);

  // Backups, on rocksdb::BackupEngine (shared with the engine's other RocksDB databases:
  // engine/store/internal/backup.h).
  //
  // Backs up the store into `backup_dir`, created if missing (an existing directory must be
  // empty or a backup directory, and outside the store's). Incremental: table files already in
  // `backup_dir` are not copied again. Consistent while Commit() and AppendAccess() run on
  // other threads: the memtables are flushed and the WAL is copied up to one moment, so the
  // backup holds exactly the batches committed before it. `progress` (may be empty) is called
  // at most a few times a second from a RocksDB copy thread, never concurrently with itself.
  // Thread-safe; backups of one Store run one at a time. No other process may write to
  // `backup_dir` meanwhile. IOError / Unavailable on failure; a failed backup is not listed.
  Result<BackupInfo> CreateBackup(const std::string& backup_dir, const BackupProgressFn& progress);

  // The backups in `backup_dir`, oldest first. NotFound when it is no backup directory.
  static Result<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir);
  // Checks the size and checksum of every file of backup `id` (0: the newest) against those
  // recorded when it was made. Corruption names the backup and the bad file; NotFound when the
  // directory or the backup does not exist.
  static Status VerifyBackup(const std::string& backup_dir, uint32_t id);
  // Restores backup `id` (0: the newest) of a store into `target_dir`, which must not exist or
  // be empty (InvalidArgument "refusing to overwrite ..." otherwise). With `force`, an existing
  // store there is replaced, but only when no process has it open (Unavailable otherwise: its
  // LOCK is held). The backup is restored into a directory beside the target, opened, every
  // case's chain verified (as VerifyChain), and only then renamed to `target_dir`: after any
  // failure the target is as it was. InvalidArgument when the backup is not a store's;
  // Corruption when a file or a chain does not verify. `progress` as for CreateBackup, called
  // from a helper thread.
  static Result<RestoredBackup> RestoreBackup(const std::string& backup_dir, uint32_t id,
                                              const std::string& target_dir, bool force,
                                              const BackupProgressFn& progress);

  // RocksDB statistics line for progress output (e.g. bytes written, compactions).
  std::string StatsSummary() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::store
