// In-memory core::Source implementations for engine tests. Header-only; not thread-safe (one
// engine loop polls a source).
//
// - MemorySource: lines read like a file: one lane, never busy, position = index of the next line.
// - LaneSource: inputs on lanes, with the lane-aware parts of the interface (busy and held lanes,
//   case lanes, ownership, pausing) under the test's control, and a record of what the engine
//   asked (Pause, Committed, polls).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/core/source.h"

namespace amtsweg::testing {

// The index stored under `name` (the next input to read), or 0 when none is stored.
inline Status StartAtStoredIndex(const core::PositionLookup& lookup, const std::string& name,
                                 size_t* next) {
  ASSIGN_OR_RETURN(std::optional<std::string> position, lookup(name));
  *next = position.has_value() ? std::stoul(*position) : 0;
  return Status::OK();
}

// Lines in memory, read in order on lane 0. Named "memory"; line i (from 0) is read at
// "line <i+1>"; the position is the index of the next line.
class MemorySource final : public core::Source {
 public:
  explicit MemorySource(std::vector<std::string> lines) : lines_(std::move(lines)) {}
  const std::string& name() const override { return name_; }
  Status Start(const core::PositionLookup& lookup) override {
    return StartAtStoredIndex(lookup, name_, &next_);
  }
  Result<size_t> Poll(size_t max, std::chrono::milliseconds,
                      std::vector<core::RawInput>* out) override {
    size_t n = 0;
    for (; n < max && next_ < lines_.size(); ++n, ++next_) {
      core::RawInput raw;
      raw.bytes = lines_[next_];
      raw.size = raw.bytes.size();
      raw.where = "line " + std::to_string(next_ + 1);
      out->push_back(std::move(raw));
    }
    return n;
  }
  void PositionsAfterPoll(core::Positions* out) const override {
    out->emplace_back(name_, std::to_string(next_));
  }
  bool AtEnd() const override { return next_ >= lines_.size(); }

 private:
  std::string name_ = "memory";
  std::vector<std::string> lines_;
  size_t next_ = 0;
};

// One input of a LaneSource.
struct MemoryInput {
  uint32_t lane = 0;
  std::string bytes;
  bool replay = false;  // RawInput::replay
};

// Inputs in memory, read in the given order; each belongs to a lane. A lane is busy while it has
// unread inputs or is `held` (assigned, may still deliver). Named "lanes"; input i (from 0) is
// read at "lane <lane> input <i+1>"; the position is the index of the next input.
class LaneSource final : public core::Source {
 public:
  explicit LaneSource(std::vector<MemoryInput> inputs = {}) : inputs_(std::move(inputs)) {}

  const std::string& name() const override { return name_; }
  Status Start(const core::PositionLookup& lookup) override {
    return StartAtStoredIndex(lookup, name_, &next_);
  }
  Result<size_t> Poll(size_t max, std::chrono::milliseconds,
                      std::vector<core::RawInput>* out) override {
    ++polls;
    if (paused_) {
      ++polls_while_paused;
      if (on_paused_poll) on_paused_poll();
      return size_t{0};
    }
    if (next_batch_size) max = std::min(max, next_batch_size());
    size_t n = 0;
    for (; n < max && next_ < inputs_.size(); ++n, ++next_) {
      const MemoryInput& input = inputs_[next_];
      core::RawInput raw;
      raw.bytes = input.bytes;
      raw.size = raw.bytes.size();
      raw.where = "lane " + std::to_string(input.lane) + " input " + std::to_string(next_ + 1);
      raw.lane = input.lane;
      raw.replay = input.replay;
      out->push_back(std::move(raw));
    }
    delivered += n;
    return n;
  }
  void PositionsAfterPoll(core::Positions* out) const override {
    out->emplace_back(name_, std::to_string(next_));
  }
  void Committed(const core::Positions& positions) override { committed.push_back(positions); }
  bool AtEnd() const override { return next_ >= inputs_.size() && held.empty(); }
  bool CaughtUp() const override { return next_ >= inputs_.size(); }
  void BusyLanes(std::vector<uint32_t>* out) const override {
    std::set<uint32_t> busy(held.begin(), held.end());
    for (size_t i = next_; i < inputs_.size(); ++i)
      busy.insert(inputs_[i].lane);
    for (uint32_t lane : unowned)
      busy.erase(lane);
    out->assign(busy.begin(), busy.end());
  }
  std::optional<uint32_t> CaseLane(std::string_view case_id) const override {
    auto it = case_lanes.find(std::string(case_id));
    if (it == case_lanes.end()) return std::nullopt;
    return it->second;
  }
  bool OwnsLane(uint32_t lane) const override { return unowned.count(lane) == 0; }
  uint64_t LaneGeneration() const override { return generation; }
  Status Pause(bool paused) override {
    pause_calls.push_back(paused);
    paused_ = paused;
    if (on_pause) on_pause(paused);
    return Status::OK();
  }

  std::set<uint32_t> held;                     // lanes that stay busy after their last input
  std::set<uint32_t> unowned;                  // lanes not read now (never busy)
  std::map<std::string, uint32_t> case_lanes;  // CaseLane; cases not in it: any lane
  uint64_t generation = 0;                     // LaneGeneration; bump after changing `unowned`
  std::function<size_t()> next_batch_size;     // limits each Poll further when set
  std::function<void()> on_paused_poll;
  std::function<void(bool)> on_pause;
  std::vector<core::Positions> committed;
  std::vector<bool> pause_calls;
  size_t polls = 0;
  size_t polls_while_paused = 0;
  size_t delivered = 0;

 private:
  std::string name_ = "lanes";
  std::vector<MemoryInput> inputs_;
  size_t next_ = 0;
  bool paused_ = false;
};

}  // namespace amtsweg::testing
