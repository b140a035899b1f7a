// Clock: where "now" comes from. Injectable so that tests and file replays drive time.
#pragma once

#include <atomic>
#include <chrono>

#include "engine/common/time.h"

namespace amtsweg {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// Wall-clock time. Thread-safe.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to; never backwards. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = 0) : now_(start) {}
  Timestamp Now() const override { return now_.load(std::memory_order_acquire); }
  // Moves the clock to `t` if that is later than now.
  void AdvanceTo(Timestamp t) {
    Timestamp cur = now_.load(std::memory_order_acquire);
    while (t > cur && !now_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) {
    }
  }

 private:
  std::atomic<Timestamp> now_;
};

}  // namespace amtsweg
