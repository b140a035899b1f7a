// The engine: the imperative shell around the pure runtime.
//
// For each batch of raw inputs it decodes and checks them (bad input -> dead letters), skips
// duplicates, runs the runtime per input, fires due deadline timers as synthetic inputs, and
// commits everything the batch caused (domain events with their hash chain, snapshots, index
// entries, timers, outbox entries, dead letters, seen ids and the source position) in one
// atomic store batch with one fsync. Afterwards the outbox is published through a Sink.
//
// Time: the engine's clock. With `event_time_clock` (file sources) each input's time moves it
// forward, so replaying a file gives the same deadlines every time; AdvanceClock() moves it to a
// given moment, firing every timer due by then.
//
// Not thread-safe: one thread drives an Engine. The store, registry and directory are borrowed
// and must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/common/clock.h"
#include "engine/core/source.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/runtime/runtime.h"
#include "engine/store/store.h"

namespace amtsweg::core {

struct EngineOptions {
  size_t max_event_bytes = 256 * 1024;
  size_t case_cache_entries = 200000;     // committed case states kept in memory
  bool event_time_clock = true;           // inputs' times drive the clock (file sources)
  std::string outbox_source = "amtsweg";  // CloudEvents source of published events
};

struct EngineStats {
  uint64_t inputs = 0;      // raw inputs read
  uint64_t accepted = 0;    // inputs that changed a case
  uint64_t rejected = 0;    // inputs refused (all are dead-lettered)
  uint64_t duplicates = 0;  // inputs skipped as already processed (dead-lettered too)
  uint64_t timers_fired = 0;
  uint64_t domain_events = 0;
  uint64_t cases_opened = 0;
  uint64_t cases_closed = 0;
  uint64_t batches = 0;
  uint64_t published = 0;
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

  // Loads pending timers from the store. Call once before processing.
  Status Open();

  // Processes one batch from `source_name` and commits it together with `position` (the
  // source's token after these inputs). Bad inputs are dead-lettered, never an error; an error
  // means the batch was not committed (store failure) and may be retried.
  Status ProcessBatch(const std::vector<RawInput>& inputs, const std::string& source_name,
                      const std::string& position);

  // Reads `source` from its stored position until it is exhausted (or until `max_batches`),
  // in batches of `batch_size`, publishing the outbox through `sink` (may be null) after each
  // batch. `progress` (may be null) is called after each batch.
  Status Drain(Source& source, Sink* sink, size_t batch_size,
               const std::function<void(const EngineStats&)>& progress = nullptr,
               uint64_t max_batches = UINT64_MAX);

  // Moves the clock to `t` (if later) and fires, and commits, every timer due by then.
  Status AdvanceClock(Timestamp t);

  // Publishes the outbox through `sink` and removes what was delivered.
  Status PublishOutbox(Sink& sink);

  // A case's committed state (from the cache or the store's snapshot).
  Result<std::optional<runtime::CaseState>> LoadCase(const std::string& case_id);

  const EngineStats& stats() const { return stats_; }
  Timestamp now() const { return clock_.Now(); }
  const runtime::Runtime& runtime() const { return runtime_; }

 private:
  struct Pending;
  using TimerKey = std::tuple<Timestamp, std::string, std::string>;

  void Begin();
  // Drops a batch that was not stored and returns `error` (or the error reloading timers).
  Status Abandon(Status error);
  // `in` is raw decoded (unused when raw is oversized); `stored_seen`: the store already has
  // its id.
  void HandleRaw(const RawInput& raw, Result<runtime::InputEvent>& in, bool stored_seen,
                 const std::string& source_name);
  void HandleInput(const runtime::InputEvent& in, const RawInput* raw,
                   const std::string& source_name);
  void FireDue(Timestamp upto);
  void DeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                  const std::string& reason);
  runtime::CaseState* Working(const std::string& case_id, bool* found);
  Status Commit(const std::string& source_name, const std::string& position);
  void AddOutbox(const runtime::CaseState& s, const runtime::DomainEvent& e);
  void EvictIfNeeded();

  store::Store& store_;
  const dsl::Registry& registry_;
  const dsl::Directory& directory_;
  Clock& clock_;
  ManualClock* manual_clock_;  // non-null when clock_ is a ManualClock
  EngineOptions options_;
  runtime::Runtime runtime_;
  EngineStats stats_;

  std::unordered_map<std::string, runtime::CaseState> cache_;
  std::set<TimerKey> timers_;  // every active deadline timer, mirror of the timers family
  std::unique_ptr<Pending> pending_;
  uint64_t outbox_floor_ = 0;  // every outbox entry below this seq has been delivered
  std::string outbox_data_;    // scratch buffer of AddOutbox
};

}  // namespace amtsweg::core
