// The batch writer: everything one input batch causes, gathered and committed as one atomic store
// batch (store::Batch, one fsync).
//
// It owns the pending batch (encoded domain events per case, outbox entries, dead letters, seen
// ids, timer changes, the batch's counts), the working case states of the batch, and the cache of
// committed case states. A working state is taken out of the cache (moved, not copied) or loaded
// from its snapshot, and put back after the write. Staging adds per touched case the new snapshot
// and the index changes (the difference of IndexKeys before and after the batch), then the timer
// changes and the positions; Write adds the clock and writes it.
//
// What it hands on after a write (Written) is what the outbox publisher needs to know of the
// batch: the last outbox seq, the number of entries and that the batch is stored; the publisher
// reads the entries themselves from the store.
//
// Invariants: between Begin() and Write() or Abandon() a case has at most one working state,
// which is not in the cache; nothing reaches the store before Write; after a failed write nothing
// of the batch is stored, and Abandon drops the cache with the batch.
//
// Not thread-safe: the engine's thread owns it. Borrows the store and the directory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/common/status.h"
#include "engine/core/case_keys.h"
#include "engine/core/deadline_scheduler.h"
#include "engine/core/engine_stats.h"
#include "engine/core/source.h"
#include "engine/dsl/directory.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/events.h"
#include "engine/store/store.h"

namespace amtsweg::core {

struct BatchWriterOptions {
  size_t case_cache_entries = 200000;     // committed case states kept in memory
  std::string outbox_source = "amtsweg";  // CloudEvents source of outbound events
  std::string audit_destination;          // audit references go there; empty: none
  std::string dead_letter_destination;    // dead letters go there too; empty: none
  // The cases' data keys (borrowed); null: nothing is sealed (personal.h).
  CaseKeys* keys = nullptr;
};

class BatchWriter {
 public:
  // A case's state in the batch being built, and the domain events the batch adds to its log.
  struct WorkingCase {
    runtime::CaseState state;
    std::vector<std::string> events;  // encoded; the caller appends
    // The case's data key (null: its values are stored as they are): a new case's fresh key, or
    // the stored one.
    SealerRef sealer;
  };

  // What a write did.
  struct Written {
    bool stored = false;           // something was written (the batch was not empty)
    uint64_t last_outbox_seq = 0;  // the highest outbox seq assigned so far (stored only)
    size_t outbox_entries = 0;     // outbox entries the batch added
    EngineStats counts;            // the batch's counts (see counts())
  };

  BatchWriter(store::Store& store, const dsl::Directory& directory, BatchWriterOptions options);
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Starts a new batch (dropping one not committed).
  void Begin();

  // The case's working state in this batch: from the batch, the cache, its snapshot, or new
  // (state.seq == 0). `*found`: the case has events (committed or in this batch). nullptr on a
  // store failure, which is recorded (error()); the batch then cannot be committed.
  WorkingCase* Working(const std::string& case_id, bool* found);

  // A case's committed state (from the cache or the store's snapshot); not the batch's.
  Result<std::optional<runtime::CaseState>> LoadCase(const std::string& case_id) const;

  // --- What the batch writes besides the cases' events.
  // Whether `seen_key` (source + id) is among the batch's seen ids; AddSeen records one.
  bool SeenInBatch(const std::string& seen_key) const;
  void AddSeen(std::string seen_key);
  // A dead letter for `raw`, stamped `at`; with a dead-letter destination and unless `raw` is a
  // replay, also an outbox entry with the raw input and the reason as a header.
  void AddDeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                     const std::string& reason, Timestamp at);
  // The outbound event of `e` (a disclosure or task request to an organisation; others add
  // nothing), projected from the case state `s`.
  void AddOutbox(const runtime::CaseState& s, const runtime::DomainEvent& e);
  // An audit reference entry for the case's domain events from..to (merged with the previous
  // entry when that one ends just before); the publisher expands it from the log.
  void AddAuditReference(const std::string& case_id, uint64_t from, uint64_t to);
  // The case's personal data is erased by this batch: its outbox entries that are not delivered
  // yet (stored or of this batch) are dropped when the batch is staged, except the erasure
  // notices, and the store marks it for PurgeErased.
  void MarkErased(const std::string& case_id);
  // Tells `organisation` that the case's data it received was erased (`e`: the case.erased
  // event; Art. 19 GDPR).
  void AddErasureNotice(const runtime::CaseState& s, const runtime::DomainEvent& e,
                        const std::string& organisation);
  // The cases MarkErased named in the batch last written (Write), for the purge after it.
  const std::vector<std::string>& written_erasures() const { return written_erasures_; }
  // The batch's timer writes (kept by DeadlineScheduler::Rearm and the firing of timers).
  TimerChanges& timer_changes();
  // The batch's counts, added to the engine's when the batch is committed.
  EngineStats& counts();
  // Records the first store failure while building; the batch is then abandoned.
  void Fail(Status error);
  const Status& error() const;

  // Committing, in two steps so that the clock (committed with a batch that stores something,
  // see EventClock::ToCommit) is decided in between. Stage adds the working cases (events,
  // snapshots, index changes), the timer changes and `positions` to the store batch;
  // StagedEmpty tells whether that stores anything.
  void Stage(const Positions& positions);
  bool StagedEmpty() const;
  // Writes the staged batch with `clock` (when set) atomically, unless it is empty; the working
  // states go back to the cache and the batch is done. On an error nothing of the batch is
  // stored; the caller then calls Abandon.
  Result<Written> Write(std::optional<Timestamp> clock);
  // Drops the batch and the cache (a batch that was not stored may have taken states from it).
  void Abandon();
  // Microseconds spent in the store's writes so far (failed ones too).
  uint64_t commit_us() const { return commit_us_; }

 private:
  struct Pending;

  store::Store& store_;
  const dsl::Directory& directory_;
  const BatchWriterOptions options_;
  std::unordered_map<std::string, runtime::CaseState> cache_;
  std::unique_ptr<Pending> pending_;
  std::string outbox_data_;  // scratch buffer of AddOutbox
  std::vector<std::string> written_erasures_;
  uint64_t commit_us_ = 0;
};

}  // namespace amtsweg::core
