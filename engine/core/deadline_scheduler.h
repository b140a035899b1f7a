// Deadlines and the engine's notion of time.
//
// EventClock is the engine clock. DeadlineScheduler holds the in-memory mirror of the armed
// deadline timers, the lanes input comes on with the latest time read on each, and which cases
// are owned here (their timers fire here). It decides *which* timers are due and moves the clock;
// the engine turns each due timer into a synthetic input (de.amtsweg.timer.fired) that goes
// through the runtime and the batch like any other, and records its removal in the batch.
//
// Invariants:
//  - The clock never moves backwards, also not across restarts: Open() restores the clock the
//    store committed last (meta key `clock`) as a floor, and every batch that moved the clock
//    commits it (EventClock::ToCommit). A time before it leaves it where it is.
//  - The clock never passes a busy lane: it stays at or below the latest time read on each lane
//    that may still deliver input (Source::BusyLanes, and every lane with inputs still ahead in
//    the batch being processed); a busy lane that has read nothing yet holds it where it is. With
//    no busy lane it follows the latest time read on any lane. So a deadline fires on the clock
//    only when every input of its case up to the due time has been read.
//  - Before an input reaches its case, the case's own armed timers due by the input's time fire
//    first, whatever the clock says (CaseDue), earliest first.
//  - A timer is armed here only for an owned case: no source is followed, or the followed
//    source reads the case's lane (Source::CaseLane, OwnsLane). When the followed source's
//    LaneGeneration changes, the mirror is reloaded from the store; a case on a lane that is away
//    keeps its timers in the store until its lane is read here (and busy) again.
//  - The mirror is the store's timers family (of owned cases) plus the additions and minus the
//    removals of the batch being built; after a batch that was not stored, Reload() restores it.
//  - Timers fire in (due, case id, name) order, each once: TakeDue and Disarm remove a timer from
//    the mirror before its input is handled, so a timer armed again by that input is a new one.
//
// Not thread-safe: the engine's thread owns it. Borrows the store (reads only).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/common/clock.h"
#include "engine/common/status.h"
#include "engine/core/source.h"
#include "engine/runtime/case_state.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// The engine clock, of one of two kinds, chosen by the type the engine is given:
//  - event time (a ManualClock): the engine moves it, by the inputs' times (through the lanes),
//    by AdvanceClock and to the restored clock; others may read the ManualClock meanwhile (it is
//    thread-safe);
//  - a clock the engine cannot move (any other Clock, e.g. a wall clock): inputs do not move it;
//    deadlines fire as far as it has come when AdvanceClock is called.
// Either way now() is never earlier than the clock restored from the store and never goes back.
// Movable, not copyable; borrows the clock, which must outlive it.
class EventClock {
 public:
  // Event time. Implicit, so that an engine is built with a ManualClock as before.
  EventClock(ManualClock& clock)  // NOLINT(google-explicit-constructor)
      : clock_(&clock), driven_(&clock) {}
  // A clock the engine only reads.
  explicit EventClock(const Clock& clock) : clock_(&clock) {}
  EventClock(EventClock&&) = default;
  EventClock& operator=(EventClock&&) = default;
  EventClock(const EventClock&) = delete;
  EventClock& operator=(const EventClock&) = delete;

  // True for event time (the engine moves the clock).
  bool driven() const { return driven_ != nullptr; }
  Timestamp now() const { return std::max(clock_->Now(), restored_); }
  // The clock the store committed last (nullopt: none): now() never reports earlier, and an
  // event-time clock is advanced to it.
  void Restore(std::optional<Timestamp> committed);
  // Moves an event-time clock to `t` if that is later; a no-op for a clock the engine only reads.
  void AdvanceTo(Timestamp t) {
    if (driven_ != nullptr) driven_->AdvanceTo(t);
  }
  // The clock a batch commits: now() when it is past the clock committed last, and the batch
  // stores something anyway or the clock is event time (a clock that moves by itself is not
  // committed on its own). nullopt: the batch carries no clock.
  std::optional<Timestamp> ToCommit(bool batch_stores_something) const;
  // A batch carrying `t` was stored.
  void Committed(Timestamp t) { committed_ = t; }

 private:
  const Clock* clock_;
  ManualClock* driven_ = nullptr;
  Timestamp restored_ = INT64_MIN;      // the clock committed before Open()
  std::optional<Timestamp> committed_;  // the clock as last committed
};

// One deadline timer: due time, case id, deadline name. Ordered by due time first.
using TimerKey = std::tuple<Timestamp, std::string, std::string>;
// A batch's timer writes: the final operation per timer (true: add, false: remove).
using TimerChanges = std::map<TimerKey, bool>;
// A case's active deadlines: {name, due}.
using ActiveDeadlines = std::vector<std::pair<std::string, Timestamp>>;

class DeadlineScheduler {
 public:
  DeadlineScheduler(const store::Store& store, EventClock clock);
  DeadlineScheduler(const DeadlineScheduler&) = delete;
  DeadlineScheduler& operator=(const DeadlineScheduler&) = delete;

  // Restores the clock from the store and loads the timers. Call once, before anything else.
  Status Open();

  EventClock& clock() { return clock_; }
  const EventClock& clock() const { return clock_; }

  // --- Lanes and ownership.
  // Follows `source`: from now on only cases on lanes it reads are owned. Reloads the mirror when
  // the source or its LaneGeneration changed since the last call. Between batches only; an error
  // is the store's.
  Status Follow(const Source& source);
  // Stops following: every case is owned again. The mirror is not reloaded (it keeps the timers
  // of the cases owned so far); the next Follow reloads it.
  void Unfollow() { followed_ = nullptr; }
  // The lane the followed source carries the case's input on; nullopt when no source is followed
  // or any lane may carry it.
  std::optional<uint32_t> CaseLane(std::string_view case_id) const {
    return followed_ == nullptr ? std::nullopt : followed_->CaseLane(case_id);
  }

  // --- Busy lanes of a batch and the lanes' times.
  // A batch of `inputs` begins; `busy` are the source's busy lanes (Source::BusyLanes). Every
  // lane with inputs in the batch is busy too, until its last one is handled (InputHandled).
  void BeginBatch(const std::vector<RawInput>& inputs, const std::vector<uint32_t>& busy);
  // The input at hand of `lane` has been handled.
  void InputHandled(uint32_t lane);
  // Every input of the batch has been handled: only the source's busy lanes are busy.
  void EndBatch() { busy_ = source_busy_; }
  // `lane` read an input of time `t`.
  void NoteLaneTime(uint32_t lane, Timestamp t) {
    Timestamp& latest = lane_time_[lane];
    latest = std::max(latest, t);
  }
  // Moves an event-time clock as far as the lanes allow and returns the moment up to which timers
  // are due on the clock (never past it; also when the clock was already past the lanes, so that
  // timers armed since fire once every busy lane is past them). nullopt when the clock is not
  // event time or no lane has read anything.
  std::optional<Timestamp> AdvanceByLanes();

  // --- Timers.
  // The earliest armed timer due at or before `upto`, disarmed; nullopt when there is none.
  std::optional<TimerKey> TakeDue(Timestamp upto);
  // Arms a timer that is no deadline of the case's state (a retention period), in the batch.
  void Arm(const TimerKey& key, TimerChanges* changes) {
    timers_.insert(key);
    (*changes)[key] = true;
  }
  // Disarms `key`; false when it was not armed (e.g. it just fired).
  bool Disarm(const TimerKey& key) { return timers_.erase(key) > 0; }
  // The timers of the case's active deadlines due by `upto`, earliest first, armed or not.
  static std::vector<TimerKey> CaseDue(const runtime::CaseState& s, Timestamp upto);
  static ActiveDeadlines Active(const runtime::CaseState& s);
  // A case's active deadlines went from `before` to `after`: disarms the timers of the ones gone,
  // arms the new ones, and records each change in `*changes` (the batch's timer writes).
  void Rearm(const std::string& case_id, const ActiveDeadlines& before,
             const ActiveDeadlines& after, TimerChanges* changes);
  // Reloads the mirror from the store: the timers of owned cases.
  Status Reload();

 private:
  bool OwnsCase(std::string_view case_id) const;

  const store::Store& store_;
  EventClock clock_;
  // Armed timers of owned cases: the mirror of the timers family (see the invariants).
  std::set<TimerKey> timers_;
  // The source whose lanes decide which cases are owned (null: every case), and the lane
  // generation the mirror was loaded for.
  const Source* followed_ = nullptr;
  uint64_t lane_generation_ = 0;
  // The latest input time read on each lane.
  std::unordered_map<uint32_t, Timestamp> lane_time_;
  std::vector<uint32_t> busy_;         // busy lanes now
  std::vector<uint32_t> source_busy_;  // the source's busy lanes for the batch being processed
  std::unordered_map<uint32_t, size_t> ahead_;  // inputs of each lane not yet handled
};

}  // namespace amtsweg::core
