// Inputs handed to the engine by other threads (the HTTP API): the Inbox queues them with a
// callback that learns what became of each, and an InboxSource passes them to the engine loop
// beside the inputs of its own source, on the same durable path: decoded, checked, deduplicated
// by source + id and committed in the engine's atomic batch like any input, dead-lettered when
// refused. The callback of an input runs once, after its batch is committed (or when it is
// certain that nothing of it was stored), so an answer "accepted" means stored.
//
// Threads: Offer, Expire and Close may be called from any thread; Take and Wait belong to the
// engine loop's thread, like the InboxSource. Callbacks run on the thread that decides (the
// engine loop, or the caller of Expire or Close) and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/clock.h"
#include "engine/common/status.h"
#include "engine/core/source.h"

namespace amtsweg::core {

// What became of an input handed in through the Inbox.
struct InboxVerdict {
  enum class Outcome {
    kAccepted,   // stored with its effects
    kDuplicate,  // its source + id was processed before; nothing changed
    kRefused,    // refused and dead-lettered: `kind` and `reason` say why (docs/events.md)
    kElsewhere,  // its case's lane is read by another instance of the group; nothing stored
    kNotStored,  // not taken in time, or the store failed: nothing stored, it may be sent again
  };
  Outcome outcome = Outcome::kAccepted;
  std::string kind;    // a dead letter's kind when refused
  std::string reason;  // for people; empty when accepted
};

using InboxCallback = std::function<void(const InboxVerdict&)>;

class Inbox {
 public:
  // `capacity`: inputs queued at most (more are refused at Offer). `max_wait_ms` on `clock`: an
  // input not taken by the engine by then is answered kNotStored by Expire.
  Inbox(size_t capacity, int64_t max_wait_ms, const Clock& clock);
  ~Inbox();  // Close()
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Queues `input` for the case `case_id` (its lane is found by the engine's source).
  // Unavailable when full or closed (the message says which); `done` is then never called.
  // Otherwise `done` is called exactly once.
  Status Offer(RawInput input, std::string case_id, InboxCallback done);

  // One input taken by the engine.
  struct Taken {
    RawInput input;
    std::string case_id;
    InboxCallback done;
  };
  // Moves up to `max` queued inputs, oldest first, to `out`. Their callbacks are the taker's to
  // call (InboxSource does). Returns how many.
  size_t Take(size_t max, std::vector<Taken>* out);
  // Waits up to `wait` until an input is queued or the inbox is closed; true if one is queued.
  bool Wait(std::chrono::milliseconds wait);
  bool empty() const;

  // Answers kNotStored to inputs queued longer than max_wait_ms.
  void Expire();
  // Refuses every later Offer and answers kNotStored to what is queued. Idempotent.
  void Close(std::string_view why);

 private:
  struct Queued {
    Taken taken;
    Timestamp since = 0;
  };
  const size_t capacity_;
  const int64_t max_wait_ms_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;  // guarded by mu_
  bool closed_ = false;       // guarded by mu_
};

// A Source that reads `inner` (may be null: the inbox alone) and, between its polls, the inputs
// queued in `inbox`. Every other question (positions, lanes, commits) goes to `inner`. An input
// of the inbox takes its case's lane in `inner` (CaseLane); when `inner` does not read that lane
// (OwnsLane false: another instance of the group owns the case), it is answered kElsewhere
// without being processed. A Poll returns either inbox inputs or inner inputs, never both, so
// that positions stay the inner source's. The engine reports the verdicts of each committed
// batch (Decided); inputs taken and not decided when the source goes (a failed batch) are
// answered kNotStored. Not thread-safe, like every Source: one engine loop polls it.
class InboxSource : public Source {
 public:
  // `slice`: how long one poll of `inner` waits at most, so that an input queued meanwhile waits
  // no longer than that for the engine.
  InboxSource(Source* inner, Inbox& inbox,
              std::chrono::milliseconds slice = std::chrono::milliseconds(10));
  ~InboxSource() override;
  InboxSource(const InboxSource&) = delete;
  InboxSource& operator=(const InboxSource&) = delete;

  const std::string& name() const override;
  Status Start(const PositionLookup& lookup) override;
  Result<size_t> Poll(size_t max, std::chrono::milliseconds wait,
                      std::vector<RawInput>* out) override;
  void PositionsAfterPoll(Positions* out) const override;
  void Committed(const Positions& positions) override;
  bool AtEnd() const override;
  bool CaughtUp() const override;
  void BusyLanes(std::vector<uint32_t>* out) const override;
  std::optional<uint32_t> CaseLane(std::string_view case_id) const override;
  bool OwnsLane(uint32_t lane) const override;
  uint64_t LaneGeneration() const override;
  Status Pause(bool paused) override;
  bool WantsVerdicts() const override { return !waiting_.empty(); }
  void Decided(const std::vector<InputVerdict>& verdicts) override;

 private:
  // Takes queued inputs into `out` (answering those of lanes read elsewhere). Returns how many.
  size_t TakeInbox(size_t max, std::vector<RawInput>* out);
  void Abandon(std::string_view why);

  Source* inner_;
  Inbox& inbox_;
  const std::chrono::milliseconds slice_;
  std::string name_;
  bool paused_ = false;
  // The callbacks of the inputs of the last Poll, in order, if it returned the inbox's.
  std::vector<InboxCallback> waiting_;
};

}  // namespace amtsweg::core
