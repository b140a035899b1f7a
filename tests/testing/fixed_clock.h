// A clock that always says the same time and that nobody can move: an injected wall clock, or a
// clock the engine only reads (not a ManualClock it drives by event time). Header-only.
#pragma once

#include "engine/common/clock.h"

namespace amtsweg::testing {

class FixedClock final : public Clock {
 public:
  explicit FixedClock(Timestamp t) : t_(t) {}
  Timestamp Now() const override { return t_; }

 private:
  Timestamp t_;
};

}  // namespace amtsweg::testing
