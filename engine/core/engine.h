// The engine: the imperative shell around the pure runtime.
//
// For each batch of raw inputs it decodes and checks them (bad input -> dead letters), skips
// duplicates, runs the runtime per input, fires due deadline timers as synthetic inputs, and
// commits everything the batch caused (domain events with their hash chain, snapshots, index
// entries, timers, outbox entries, dead letters, seen ids and the source position) in one
// atomic store batch with one fsync. Afterwards the outbox is published through a Sink.
//
// Time: the engine's clock. With `event_time_clock` the inputs' times move it forward, so reading
// the same input again gives the same deadlines every time. Inputs come in lanes (Kafka
// partitions), each read in order; the clock never passes the latest time read on a lane that
// may still deliver input (Source::BusyLanes), and before an input is applied to its case, the
// case's own deadlines due by the input's time expire first. So a case's log does not depend on
// how the lanes interleave. AdvanceClock() moves the clock to a given moment, firing every timer
// due by then. The clock is committed with every batch that moved it and restored by Open(), so
// it never moves backwards, not even across restarts: a time before it (an AdvanceClock target,
// a de.amtsweg.clock.advanced input) leaves it where it is.
//
// Outbound: entries committed to the outbox are sent through a Sink and removed once
// acknowledged; the positions of a batch are reported to its Source (Committed) only when
// everything the batch caused has been delivered. Inputs marked `replay` (already published by an
// earlier owner of their partition) rebuild their effects without publishing them again.
//
// Not thread-safe: one thread drives an Engine. The store, registry and directory are borrowed
// and must outlive it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/common/clock.h"
#include "engine/core/source.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/registry.h"
#include "engine/runtime/runtime.h"
#include "engine/store/store.h"

namespace amtsweg::core {

struct EngineOptions {
  size_t max_event_bytes = size_t{256} * 1024;
  size_t case_cache_entries = 200000;     // committed case states kept in memory
  bool event_time_clock = true;           // inputs' times drive the clock
  std::string outbox_source = "amtsweg";  // CloudEvents source of published events
  // Destination receiving every domain event (audit stream); empty: none.
  std::string audit_destination;
  // Destination receiving every dead letter (raw input, reason in a header); empty: none.
  std::string dead_letter_destination;
  // Input is paused while this many outbox entries wait for delivery.
  size_t outbox_bound = 200000;
  // At most this many outbox entries are handed to the sink and not yet acknowledged.
  size_t max_in_flight = 50000;
  // When set (with `wall_clock`), an input stamped more than this many milliseconds after the
  // wall clock is refused (dead letter "future"): one wrongly stamped input would otherwise move
  // the event-time clock for every case and let deadlines expire early.
  int64_t max_future_ms = 0;
  const Clock* wall_clock = nullptr;  // borrowed; must outlive the engine
};

// What this process did. Every raw input read is counted once:
// inputs == accepted + rejected + duplicates. Fired deadline timers are synthetic inputs,
// counted apart: timers_fired == timers_expired + timers_stale + timers_refused.
struct EngineStats {
  uint64_t inputs = 0;  // raw inputs read
  // Inputs taken: they changed a case, or (de.amtsweg.clock.advanced) moved the clock; a clock
  // event before the clock is taken too, and changes nothing.
  uint64_t accepted = 0;
  uint64_t rejected = 0;    // inputs refused (each is dead-lettered)
  uint64_t duplicates = 0;  // inputs skipped as already processed (dead-lettered too)
  uint64_t timers_fired = 0;
  uint64_t timers_expired = 0;  // the deadline expired (deadline.expired and what follows)
  uint64_t timers_stale = 0;    // changed nothing: the deadline was extended, cancelled or closed
  // The case's workflow version is not deployed: recorded as input.rejected in an open case, not
  // dead-lettered (no input to keep).
  uint64_t timers_refused = 0;
  uint64_t domain_events = 0;
  uint64_t cases_opened = 0;
  uint64_t cases_closed = 0;
  uint64_t batches = 0;
  uint64_t published = 0;  // messages acknowledged by the sink
  uint64_t replayed = 0;   // inputs rebuilt without publishing (see RawInput::replay)
  // Where Run spends its time, in microseconds of wall time.
  uint64_t poll_us = 0;     // waiting for and reading input
  uint64_t process_us = 0;  // decoding, the runtime, building the batch
  uint64_t commit_us = 0;   // the store's write (with its fsync)
  uint64_t publish_us = 0;  // expanding, sending, collecting acknowledgements
};

// How Engine::Run reads a source.
struct RunOptions {
  size_t batch_size = 1000;
  std::chrono::milliseconds poll_wait{100};  // how long one Poll waits for a first input
  // Return once the source is caught up (or, finite, at its end) and the outbox is delivered.
  bool until_caught_up = true;
  uint64_t max_batches = UINT64_MAX;
  std::function<bool()> stop;                        // return soon when it answers true
  std::function<void(const EngineStats&)> progress;  // after each batch
};

// Index key layout (the index column family); every key ends with the case id.
namespace index_key {
std::string Workflow(std::string_view workflow, std::string_view case_id);
std::string State(std::string_view state, std::string_view case_id);
std::string Participant(std::string_view organisation, std::string_view case_id);
std::string Outcome(std::string_view outcome, std::string_view case_id);
// Prefixes to scan.
std::string WorkflowPrefix(std::string_view workflow);
std::string StatePrefix(std::string_view state);
std::string ParticipantPrefix(std::string_view organisation);
std::string OutcomePrefix(std::string_view outcome);
}  // namespace index_key

// Destinations of organisations that receive their events by webhook: this prefix and the id.
inline constexpr std::string_view kWebhookDestinationPrefix = "webhook:";

// Where an organisation's outbound events go: "webhook:<id>" when it has a webhook (delivered by
// connectors/webhook), else its configured topic, else "amtsweg.org.<id>".
std::string OrganisationDestination(const dsl::Organisation& org);

// Index keys describing a case state.
std::vector<std::string> IndexKeys(const runtime::CaseState& s);

// A case's committed state from its snapshot, with the application restored from its first
// event when `with_application`. nullopt when there is no such case.
Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application = true);

class Engine {
 public:
  Engine(store::Store& store, const dsl::Registry& registry, const dsl::Directory& directory,
         Clock& clock, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Restores the clock from the store (a ManualClock is advanced to the committed clock; any
  // other clock is never reported earlier than it) and loads pending timers. Call once before
  // processing.
  Status Open();

  // Processes one batch from `source_name` and commits it together with `positions` (the
  // source's tokens after these inputs). `busy_lanes`: see Source::BusyLanes. Bad inputs are
  // dead-lettered, never an error; an error means the batch was not committed (store failure)
  // and may be retried.
  Status ProcessBatch(const std::vector<RawInput>& inputs, const std::string& source_name,
                      const Positions& positions, const std::vector<uint32_t>& busy_lanes = {});

  // Delivers what an earlier run left in the outbox, then reads `source` from its stored
  // positions in batches, committing each and publishing the outbox through `sink` (may be null)
  // as it goes; pauses the source while the outbox is over its bound. Returns when the options say
  // so (caught up, max_batches, stop) or on a store or delivery failure.
  Status Run(Source& source, Sink* sink, const RunOptions& options);

  // Run until the source is at its end or caught up, in batches of `batch_size`.
  Status Drain(Source& source, Sink* sink, size_t batch_size,
               const std::function<void(const EngineStats&)>& progress = nullptr,
               uint64_t max_batches = UINT64_MAX);

  // Processes and commits `pending` (inputs a source read but has to give up, e.g. on a Kafka
  // rebalance) and publishes the outbox, waiting up to `timeout` for its delivery.
  Status Settle(Source& source, Sink* sink, const std::vector<RawInput>& pending,
                const Positions& positions, std::chrono::milliseconds timeout);

  // Moves the clock to `t` (if later: it never moves backwards) and fires, and commits, every
  // timer due by then.
  Status AdvanceClock(Timestamp t);

  // Hands waiting outbox entries to `sink`, waits up to `wait` for acknowledgements, removes
  // what was delivered and reports fully delivered batches' positions to `source` (may be null).
  Status PublishOutbox(Sink& sink, Source* source = nullptr,
                       std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // Publishes until the outbox is empty and acknowledged, `timeout` passes or `stop` answers
  // true. Returns Unavailable (with the number left) when time ran out.
  Status FlushOutbox(Sink& sink, Source* source, std::chrono::milliseconds timeout,
                     const std::function<bool()>& stop = nullptr);

  // Outbox entries committed and not yet acknowledged.
  uint64_t outbox_backlog() const { return outbox_backlog_; }

  // A case's committed state (from the cache or the store's snapshot).
  Result<std::optional<runtime::CaseState>> LoadCase(const std::string& case_id);

  const EngineStats& stats() const { return stats_; }
  // The engine clock: never earlier than the clock committed before (restored by Open()).
  Timestamp now() const { return std::max(clock_.Now(), restored_clock_); }
  const runtime::Runtime& runtime() const { return runtime_; }

 private:
  struct Pending;
  using TimerKey = std::tuple<Timestamp, std::string, std::string>;

  // What became of one input or fired timer in HandleInput.
  enum class Outcome {
    kAccepted,  // taken (a timer: the deadline expired)
    kRefused,   // refused by the engine or the runtime
    kIgnored,   // dropped by design: a stale timer
    kFailed,    // a store failure; the batch will not be committed
  };

  void Begin();
  // Drops a batch that was not stored and returns `error` (or the error reloading timers).
  Status Abandon(const Status& error);
  // `in` is raw decoded (unused when raw is oversized); `stored_seen`: the store already has
  // its id.
  void HandleRaw(const RawInput& raw, Result<runtime::InputEvent>& in, bool stored_seen,
                 const std::string& source_name);
  Outcome HandleInput(const runtime::InputEvent& in, const RawInput* raw,
                      const std::string& source_name);
  void FireDue(Timestamp upto);
  // Fires one armed timer: disarms it and hands its synthetic input to HandleInput.
  void FireTimer(const TimerKey& key);
  // Whether the case's timers fire here: its lane is read by the current source.
  bool OwnsCase(std::string_view case_id) const;
  // Follows the current source's lanes: on a change, the timers mirror is reloaded with the
  // timers of owned cases only. Between batches only.
  Status FollowLanes(const Source& source);
  // Reloads the timers mirror from the store (owned cases only, when a source is followed).
  Status LoadTimers();
  // Fires the case's own timers due by `upto` (before an input of that time reaches the case).
  void FireCaseDue(const runtime::CaseState& s, Timestamp upto);
  // Moves the clock by the lanes' times (see the class comment) and fires what is due.
  void AdvanceByLanes(const std::vector<uint32_t>& busy_lanes);
  void AddAuditReference(const std::string& case_id, uint64_t from, uint64_t to);
  // Expands reference entries into one entry per domain event, read from the log.
  Status Expand(const store::OutboxEntry& ref, std::vector<store::OutboxEntry>* out);
  void DeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                  const std::string& reason);
  runtime::CaseState* Working(const std::string& case_id, bool* found);
  Status Commit(const Positions& positions);
  void AddOutbox(const runtime::CaseState& s, const runtime::DomainEvent& e);
  void EvictIfNeeded();

  store::Store& store_;
  const dsl::Registry& registry_;
  const dsl::Directory& directory_;
  Clock& clock_;
  ManualClock* manual_clock_;              // non-null when clock_ is a ManualClock
  Timestamp restored_clock_ = INT64_MIN;   // the clock committed before Open()
  std::optional<Timestamp> stored_clock_;  // the clock as last committed
  EngineOptions options_;
  runtime::Runtime runtime_;
  EngineStats stats_;

  std::unordered_map<std::string, runtime::CaseState> cache_;
  // Active deadline timers of owned cases (see Source::OwnsLane), mirror of the timers family.
  std::set<TimerKey> timers_;
  // The source whose lanes decide which cases are owned (during Run and Settle), and the lane
  // generation the timers mirror was loaded for.
  const Source* lanes_ = nullptr;
  uint64_t lane_generation_ = 0;
  std::unique_ptr<Pending> pending_;
  std::string outbox_data_;  // scratch buffer of AddOutbox

  // Event-time lanes: the latest input time read on each.
  std::unordered_map<uint32_t, Timestamp> lane_time_;
  std::vector<uint32_t> busy_lanes_;  // of the batch being processed
  bool suppress_outbox_ = false;      // handling a replayed input

  // Delivery. Outbox entries from next_offer_ on have not been handed to the sink yet; in_flight_
  // counts the messages of each handed-over seq still unacknowledged.
  uint64_t next_offer_ = 0;
  std::map<uint64_t, uint32_t> in_flight_;
  uint64_t outbox_backlog_ = 0;
  // Committed batches whose outbound entries are not all delivered: {last outbox seq, positions}.
  std::deque<std::pair<uint64_t, Positions>> undelivered_batches_;
};

}  // namespace amtsweg::core
