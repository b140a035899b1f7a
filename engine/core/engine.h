// The engine loop: the imperative shell around the pure runtime.
//
// For each batch of raw inputs it decodes and checks them (bad input -> dead letters), checks who
// speaks (runtime::CheckSpeaker, before duplicates: a forgery takes no id), skips duplicates,
// fires due deadline timers as synthetic inputs, runs the runtime per input, and commits
// everything the batch caused in one atomic store batch; afterwards the outbox is published
// through a Sink. The work is done by three rooms that the engine wires together:
//  - DeadlineScheduler (deadline_scheduler.h): the event-time clock, the lanes and which cases
//    are owned, the timers mirror and what is due;
//  - BatchWriter (batch_writer.h): the pending batch, working case states and the case cache,
//    index changes, the commit;
//  - OutboxPublisher (outbox_publisher.h): delivery of committed outbox entries, and reporting
//    fully delivered positions to the source.
// The engine itself decides what becomes of each input (the checks, the runtime, which outbound
// entries it causes) and runs the loop (Run).
//
// Time is event time (see deadline_scheduler.h): inputs' times move the clock, never past a lane
// that may still deliver input, and a case's own deadlines expire before a later input reaches
// it; so a case's log does not depend on how lanes interleave. AdvanceClock() moves it to a given
// moment. The clock is committed with every batch that moved it and restored by Open(), so it
// never moves backwards, not even across restarts.
//
// A source may learn what became of each input it delivered (Source::WantsVerdicts, Decided):
// Run tells it once the batch is committed (the HTTP API's inputs answer their callers then).
//
// Outbound: the positions of a batch are reported to its Source (Committed) only when everything
// the batch caused has been delivered (see outbox_publisher.h). Inputs marked `replay` (already
// published by an earlier owner of their partition) rebuild their effects without publishing
// them again; the replay flag is passed along with each input, never kept in the engine.
//
// Not thread-safe: one thread drives an Engine. The store, registry and directory are borrowed
// and must outlive it; the registry may change only as LiveRegistry (catalog.h) allows.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/clock.h"
#include "engine/core/batch_writer.h"
#include "engine/core/deadline_scheduler.h"
#include "engine/core/engine_stats.h"
#include "engine/core/outbox_publisher.h"
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
  // The cases' data keys (borrowed; must outlive the engine). When set, the personal values of
  // new cases are sealed under their own keys (runtime/personal.h), and cases can be erased
  // (crypto-shredding, docs/data-protection.md). Null: nothing is sealed, erasure is refused.
  CaseKeys* keys = nullptr;
};

// The timer name of a case's retention period (dsl::Retention); no deadline can be named so.
inline constexpr std::string_view kRetentionTimer = "~retention";

// How Engine::Run reads a source.
struct RunOptions {
  size_t batch_size = 1000;
  std::chrono::milliseconds poll_wait{100};  // how long one Poll waits for a first input
  // Return once the source is caught up (or, finite, at its end) and the outbox is delivered.
  bool until_caught_up = true;
  uint64_t max_batches = UINT64_MAX;
  // Return soon when it answers true. Called between batches (a LiveRegistry may change then).
  std::function<bool()> stop;
  // After each poll, with input or not (idle polls too, so that published and backlog figures fed
  // from here stay current while no input arrives), between batches.
  std::function<void(const EngineStats&)> progress;
};

class Engine {
 public:
  // `clock`: a ManualClock makes the engine clock event time (the engine moves it); any other
  // clock, wrapped as EventClock(clock), is one the engine only reads (see EventClock).
  Engine(store::Store& store, const dsl::Registry& registry, const dsl::Directory& directory,
         EventClock clock, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Restores the clock from the store (an event-time clock is advanced to the committed clock;
  // any other clock is never reported earlier than it), loads pending timers and counts the
  // outbox. Call once before processing.
  Status Open();

  // Processes one batch from `source_name` and commits it together with `positions` (the
  // source's tokens after these inputs). `busy_lanes`: see Source::BusyLanes. Bad inputs are
  // dead-lettered, never an error; an error means the batch was not committed (store failure)
  // and may be retried. `verdicts` (may be null) gets what became of each input, in order, when
  // the batch is committed.
  Status ProcessBatch(const std::vector<RawInput>& inputs, const std::string& source_name,
                      const Positions& positions, const std::vector<uint32_t>& busy_lanes = {},
                      std::vector<InputVerdict>* verdicts = nullptr);

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
  // rebalance) with `positions`, and publishes the outbox through `sink` (without a sink: reports
  // the committed positions at once), waiting up to `timeout` for its delivery.
  //
  // Callback contract. Settle may be called in two ways only:
  //  - outside Run: it follows `source`'s lanes for its own duration;
  //  - from inside `source.Poll()` while Run(source, ...) polls it, i.e. from a handler the
  //    source calls in Poll (KafkaSource's revoke handler). Run polls only between batches: no
  //    batch is being built and the publisher is idle, so Settle processes, commits and
  //    publishes on the calling thread as it would outside Run. It follows the source's lanes
  //    (they may have changed in that Poll) and leaves them followed; Run checks them again when
  //    Poll returns.
  // Any other re-entry (during a batch, during publishing, or for another source than the one Run
  // polls) is refused with Internal, and nothing is processed.
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
  uint64_t outbox_backlog() const { return publisher_.backlog(); }

  // A case's committed state (from the cache or the store's snapshot).
  Result<std::optional<runtime::CaseState>> LoadCase(const std::string& case_id) {
    return writer_.LoadCase(case_id);
  }

  const EngineStats& stats() const { return stats_; }
  // The engine clock: never earlier than the clock committed before (restored by Open()).
  Timestamp now() const { return scheduler_.clock().now(); }
  const runtime::Runtime& runtime() const { return runtime_; }

 private:
  // What became of one input or fired timer in HandleInput.
  enum class Outcome {
    kAccepted,  // taken (a timer: the deadline expired)
    kRefused,   // refused by the engine or the runtime
    kIgnored,   // dropped by design: a stale timer
    kFailed,    // a store failure; the batch will not be committed
  };
  // Where Run is, so that Settle knows whether it is called from inside Source::Poll.
  enum class RunPhase {
    kOutside,  // not in Run
    kPolling,  // in Run, inside source.Poll(): Settle may be called (between batches)
    kBusy,     // in Run, processing or publishing a batch
  };
  class RunScope;

  // Drops a batch that was not stored and returns `error` (or the error reloading timers).
  Status Abandon(const Status& error);
  // Why an input is refused before it reaches its case: a dead letter's kind and reason.
  struct Refusal {
    std::string_view kind;
    std::string reason;
  };
  // The refusal of `raw` (`in` is raw decoded; unused when raw is oversized); nullopt: none.
  std::optional<Refusal> Refuse(const RawInput& raw, const Result<runtime::InputEvent>& in) const;
  // Refuses, skips as a duplicate or handles one raw input; `stored_seen`: the store already has
  // its id.
  void HandleRaw(const RawInput& raw, Result<runtime::InputEvent>& in, bool stored_seen,
                 const std::string& source_name);
  // `raw` is null for a fired timer. `replay`: the input was published by an earlier owner, so
  // what it causes is stored, not published again (what the clock fires on its way is).
  // `refused`: refused with this before the runtime's checks (runtime::Runtime::Refuse).
  Outcome HandleInput(const runtime::InputEvent& in, const RawInput* raw,
                      const std::string& source_name, bool replay,
                      const runtime::Rejection* refused = nullptr);
  // An erasure request (runtime::input_type::kErasureRequested) from `raw`, or the expiry of
  // the case's retention period (`raw` null): checks it, records case.erased with the case's
  // state folded from its erased events, tells the recipients and drops what waits for them.
  // `restored`: an erasure the key store recorded that the store lacks (a store restored from a
  // backup older than the erasure), recorded again from the key store's register.
  Outcome HandleErasure(const runtime::InputEvent& in, const RawInput* raw,
                        const std::string& source_name, bool replay,
                        const crypto::Erasure* restored = nullptr);
  // Records case.erased for every case the key store's register names as erased that the store
  // does not show erased (Open, after a restore).
  Status ReapplyErasures();
  // Arms the case's retention timer when the event its retention counts from was just recorded.
  void ArmRetention(const runtime::CaseState& state, const runtime::StepResult& step);
  // After a batch with erasures is stored (and on Open, for those a crash interrupted): destroys
  // the cases' keys (with their erasure records) and purges the store.
  Status FinishErasures(const std::vector<std::string>& case_ids);
  // Fires every timer due on the clock by `upto` (published: they belong to no replayed input).
  void FireDue(Timestamp upto);
  // Fires the case's own timers due by `upto` (before an input of that time reaches the case).
  void FireCaseDue(const runtime::CaseState& s, Timestamp upto, bool replay);
  // Hands the synthetic input of a timer just disarmed to HandleInput, and removes it in the
  // batch.
  void FireTimer(const TimerKey& key, bool replay);
  // Moves the clock by the lanes' times and fires what is due.
  void AdvanceByLanes();
  void DeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                  const std::string& reason);
  Status Commit(const Positions& positions);
  // Publishes after a batch; without a sink, the source learns at once what was committed.
  Status PublishAfterBatch(Source& source, Sink* sink);
  // Pauses or resumes the source by the outbox backlog; `*paused` is the current state.
  Status Backpressure(Source& source, const Sink* sink, bool* paused);

  store::Store& store_;
  const EngineOptions options_;
  runtime::Runtime runtime_;
  DeadlineScheduler scheduler_;
  BatchWriter writer_;
  OutboxPublisher publisher_;
  EngineStats stats_;
  // While ProcessBatch collects verdicts: theirs, and the input being handled (DeadLetter
  // records its refusal there).
  std::vector<InputVerdict>* verdicts_ = nullptr;
  const RawInput* deciding_ = nullptr;
  RunPhase phase_ = RunPhase::kOutside;
  const Source* running_ = nullptr;               // the source Run reads (phase_ != kOutside)
  std::vector<std::string> unfinished_erasures_;  // committed, purge failed: retried
};

}  // namespace amtsweg::core
