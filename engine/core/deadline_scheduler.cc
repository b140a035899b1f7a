#include "engine/core/deadline_scheduler.h"

#include <algorithm>

namespace amtsweg::core {

void EventClock::Restore(std::optional<Timestamp> committed) {
  committed_ = committed;
  if (!committed.has_value()) return;
  restored_ = *committed;
  AdvanceTo(*committed);
}

std::optional<Timestamp> EventClock::ToCommit(bool batch_stores_something) const {
  const Timestamp t = now();
  if ((!committed_.has_value() || t > *committed_) && (driven() || batch_stores_something))
    return t;
  return std::nullopt;
}

DeadlineScheduler::DeadlineScheduler(const store::Store& store, EventClock clock)
    : store_(store), clock_(std::move(clock)) {}

Status DeadlineScheduler::Open() {
  // The clock continues from the clock committed last (dead letters read before the first valid
  // input are stamped with it).
  ASSIGN_OR_RETURN(std::optional<Timestamp> committed, store_.GetClock());
  clock_.Restore(committed);
  return Reload();
}

Status DeadlineScheduler::Reload() {
  timers_.clear();
  return store_.DueTimers(INT64_MAX, [this](const store::Timer& t) {
    if (OwnsCase(t.case_id)) timers_.emplace(t.due, t.case_id, t.name);
    return true;
  });
}

bool DeadlineScheduler::OwnsCase(std::string_view case_id) const {
  if (followed_ == nullptr) return true;
  std::optional<uint32_t> lane = followed_->CaseLane(case_id);
  return !lane.has_value() || followed_->OwnsLane(*lane);
}

Status DeadlineScheduler::Follow(const Source& source) {
  if (followed_ == &source && lane_generation_ == source.LaneGeneration()) return Status::OK();
  followed_ = &source;
  lane_generation_ = source.LaneGeneration();
  return Reload();
}

void DeadlineScheduler::BeginBatch(const std::vector<RawInput>& inputs,
                                   const std::vector<uint32_t>& busy) {
  source_busy_ = busy;
  ahead_.clear();
  for (const RawInput& raw : inputs)
    ahead_[raw.lane]++;
  busy_ = source_busy_;
  for (const auto& [lane, n] : ahead_) {
    if (n > 0 && std::find(busy_.begin(), busy_.end(), lane) == busy_.end()) busy_.push_back(lane);
  }
}

void DeadlineScheduler::InputHandled(uint32_t lane) {
  if (--ahead_[lane] != 0) return;
  busy_ = source_busy_;
  for (const auto& [other, n] : ahead_) {
    if (n > 0 && std::find(busy_.begin(), busy_.end(), other) == busy_.end())
      busy_.push_back(other);
  }
}

std::optional<Timestamp> DeadlineScheduler::AdvanceByLanes() {
  if (!clock_.driven() || lane_time_.empty()) return std::nullopt;
  Timestamp target = 0;
  if (busy_.empty()) {
    for (const auto& [lane, t] : lane_time_)
      target = std::max(target, t);
  } else {
    target = INT64_MAX;
    for (uint32_t lane : busy_) {
      auto it = lane_time_.find(lane);
      // A busy lane read nothing yet: its next input may be of any time.
      target = std::min(target, it == lane_time_.end() ? Timestamp{0} : it->second);
    }
  }
  if (target > clock_.now()) clock_.AdvanceTo(target);
  return std::min(target, clock_.now());
}

std::optional<TimerKey> DeadlineScheduler::TakeDue(Timestamp upto) {
  if (timers_.empty() || std::get<0>(*timers_.begin()) > upto) return std::nullopt;
  return std::move(timers_.extract(timers_.begin()).value());
}

std::vector<TimerKey> DeadlineScheduler::CaseDue(const runtime::CaseState& s, Timestamp upto) {
  std::vector<TimerKey> due;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active() && d.due <= upto) due.emplace_back(d.due, s.id, d.name);
  }
  std::sort(due.begin(), due.end());
  return due;
}

ActiveDeadlines DeadlineScheduler::Active(const runtime::CaseState& s) {
  ActiveDeadlines out;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active()) out.emplace_back(d.name, d.due);
  }
  return out;
}

void DeadlineScheduler::Rearm(const std::string& case_id, const ActiveDeadlines& before,
                              const ActiveDeadlines& after, TimerChanges* changes) {
  for (const auto& [name, due] : before) {
    if (std::find(after.begin(), after.end(), std::pair(name, due)) == after.end()) {
      TimerKey key(due, case_id, name);
      timers_.erase(key);
      (*changes)[std::move(key)] = false;
    }
  }
  for (const auto& [name, due] : after) {
    if (std::find(before.begin(), before.end(), std::pair(name, due)) == before.end()) {
      TimerKey key(due, case_id, name);
      timers_.insert(key);
      (*changes)[std::move(key)] = true;
    }
  }
}

}  // namespace amtsweg::core
