#include "engine/core/inbox.h"

#include <algorithm>
#include <utility>

namespace amtsweg::core {

namespace {

InboxVerdict NotStored(std::string reason) {
  return InboxVerdict{InboxVerdict::Outcome::kNotStored, "", std::move(reason)};
}

}  // namespace

Inbox::Inbox(size_t capacity, int64_t max_wait_ms, const Clock& clock)
    : capacity_(capacity), max_wait_ms_(max_wait_ms), clock_(clock) {}

Inbox::~Inbox() {
  Close("the engine stopped");
}

Status Inbox::Offer(RawInput input, std::string case_id, InboxCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Unavailable("the engine does not take input now (stopping)");
    if (queue_.size() >= capacity_) {
      return Status::Unavailable("the engine's inbox is full (" + std::to_string(capacity_) +
                                 " inputs wait); send it again shortly");
    }
    queue_.push_back(
        Queued{Taken{std::move(input), std::move(case_id), std::move(done)}, clock_.Now()});
  }
  cv_.notify_all();
  return Status::OK();
}

size_t Inbox::Take(size_t max, std::vector<Taken>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  while (n < max && !queue_.empty()) {
    out->push_back(std::move(queue_.front().taken));
    queue_.pop_front();
    ++n;
  }
  return n;
}

bool Inbox::Wait(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [this] { return closed_ || !queue_.empty(); });
  return !queue_.empty();
}

bool Inbox::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty();
}

void Inbox::Expire() {
  std::vector<Taken> late;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Timestamp now = clock_.Now();
    while (!queue_.empty() && now - queue_.front().since > max_wait_ms_) {
      late.push_back(std::move(queue_.front().taken));
      queue_.pop_front();
    }
  }
  for (Taken& t : late) {
    t.done(NotStored("the engine did not take it within " + std::to_string(max_wait_ms_) +
                     " ms; nothing was stored, send it again"));
  }
}

void Inbox::Close(std::string_view why) {
  std::deque<Queued> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (Queued& q : left)
    q.taken.done(NotStored(std::string(why) + "; nothing was stored, send it again"));
}

InboxSource::InboxSource(Source* inner, Inbox& inbox, std::chrono::milliseconds slice)
    : inner_(inner), inbox_(inbox), slice_(slice), name_(inner != nullptr ? "" : "api") {}

InboxSource::~InboxSource() {
  Abandon("the engine stopped before its batch was stored");
}

void InboxSource::Abandon(std::string_view why) {
  for (InboxCallback& done : waiting_)
    done(NotStored(std::string(why) + "; nothing was stored, send it again"));
  waiting_.clear();
}

const std::string& InboxSource::name() const {
  return inner_ != nullptr ? inner_->name() : name_;
}

Status InboxSource::Start(const PositionLookup& lookup) {
  return inner_ != nullptr ? inner_->Start(lookup) : Status::OK();
}

size_t InboxSource::TakeInbox(size_t max, std::vector<RawInput>* out) {
  std::vector<Inbox::Taken> got;
  inbox_.Take(max, &got);
  for (Inbox::Taken& t : got) {
    std::optional<uint32_t> lane = inner_ != nullptr ? inner_->CaseLane(t.case_id) : std::nullopt;
    if (lane.has_value() && !inner_->OwnsLane(*lane)) {
      t.done(InboxVerdict{InboxVerdict::Outcome::kElsewhere, "",
                          "case '" + t.case_id + "' belongs to lane " + std::to_string(*lane) +
                              ", which another instance reads; nothing was stored"});
      continue;
    }
    t.input.lane = lane.value_or(0);
    out->push_back(std::move(t.input));
    waiting_.push_back(std::move(t.done));
  }
  return waiting_.size();
}

Result<size_t> InboxSource::Poll(size_t max, std::chrono::milliseconds wait,
                                 std::vector<RawInput>* out) {
  // Inputs of the last Poll are decided by now (Run reports them before it polls again); any
  // left were in a batch that was not stored.
  Abandon("the engine's batch was not stored");
  const size_t first = out->size();
  auto taken = [&] { return out->size() - first; };
  if (!paused_ && TakeInbox(max, out) > 0) return taken();
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    const auto step = std::clamp(left, std::chrono::milliseconds(0), slice_);
    if (inner_ != nullptr) {
      ASSIGN_OR_RETURN(size_t n, inner_->Poll(max, step, out));
      if (n > 0) return n;
    } else if (!paused_) {
      inbox_.Wait(step);
    }
    if (!paused_ && TakeInbox(max, out) > 0) return taken();
    if (left <= std::chrono::milliseconds(0)) return size_t{0};
    if (inner_ != nullptr && inner_->AtEnd()) return size_t{0};
  }
}

void InboxSource::PositionsAfterPoll(Positions* out) const {
  if (inner_ != nullptr && waiting_.empty()) inner_->PositionsAfterPoll(out);
}

void InboxSource::Committed(const Positions& positions) {
  if (inner_ != nullptr) inner_->Committed(positions);
}

bool InboxSource::AtEnd() const {
  return (inner_ == nullptr || inner_->AtEnd()) && inbox_.empty();
}

bool InboxSource::CaughtUp() const {
  return (inner_ == nullptr || inner_->CaughtUp()) && inbox_.empty();
}

void InboxSource::BusyLanes(std::vector<uint32_t>* out) const {
  if (inner_ != nullptr) {
    inner_->BusyLanes(out);
  } else {
    out->clear();
  }
}

std::optional<uint32_t> InboxSource::CaseLane(std::string_view case_id) const {
  return inner_ != nullptr ? inner_->CaseLane(case_id) : std::nullopt;
}

bool InboxSource::OwnsLane(uint32_t lane) const {
  return inner_ == nullptr || inner_->OwnsLane(lane);
}

uint64_t InboxSource::LaneGeneration() const {
  return inner_ != nullptr ? inner_->LaneGeneration() : 0;
}

Status InboxSource::Pause(bool paused) {
  paused_ = paused;
  return inner_ != nullptr ? inner_->Pause(paused) : Status::OK();
}

void InboxSource::Decided(const std::vector<InputVerdict>& verdicts) {
  for (size_t i = 0; i < waiting_.size(); ++i) {
    InboxVerdict v;
    if (i >= verdicts.size()) {
      v = NotStored("the engine gave no verdict for it (a bug)");
    } else if (verdicts[i].kind.empty()) {
      v.outcome = InboxVerdict::Outcome::kAccepted;
    } else {
      v.outcome = verdicts[i].kind == "duplicate" ? InboxVerdict::Outcome::kDuplicate
                                                  : InboxVerdict::Outcome::kRefused;
      v.kind = verdicts[i].kind;
      v.reason = verdicts[i].reason;
    }
    waiting_[i](v);
  }
  waiting_.clear();
}

}  // namespace amtsweg::core
