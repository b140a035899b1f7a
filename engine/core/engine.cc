#include "engine/core/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "engine/core/cloudevent.h"

namespace amtsweg::core {

namespace index_key {
namespace {
std::string Key(char family, std::string_view a, std::string_view case_id) {
  std::string k;
  k.reserve(3 + a.size() + case_id.size());
  k.push_back(family);
  k.push_back('/');
  k.append(a);
  k.push_back('\0');
  k.append(case_id);
  return k;
}
}  // namespace
std::string Workflow(std::string_view w, std::string_view c) {
  return Key('w', w, c);
}
std::string State(std::string_view s, std::string_view c) {
  return Key('s', s, c);
}
std::string Participant(std::string_view o, std::string_view c) {
  return Key('p', o, c);
}
std::string Outcome(std::string_view o, std::string_view c) {
  return Key('o', o, c);
}
std::string WorkflowPrefix(std::string_view w) {
  return Key('w', w, "");
}
std::string StatePrefix(std::string_view s) {
  return Key('s', s, "");
}
std::string ParticipantPrefix(std::string_view o) {
  return Key('p', o, "");
}
std::string OutcomePrefix(std::string_view o) {
  return Key('o', o, "");
}
}  // namespace index_key

std::vector<std::string> IndexKeys(const runtime::CaseState& s) {
  std::vector<std::string> keys;
  keys.reserve(4 + s.participants.size());
  keys.push_back(index_key::Workflow(s.workflow, s.id));
  keys.push_back(index_key::State(s.state, s.id));
  keys.push_back(index_key::Outcome(s.outcome.empty() ? "open" : s.outcome, s.id));
  for (const runtime::Participant& p : s.participants) {
    keys.push_back(index_key::Participant(p.organisation, s.id));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::string OrganisationDestination(const dsl::Organisation& org) {
  if (!org.webhook.empty()) return std::string(kWebhookDestinationPrefix) + org.id;
  return org.topic.empty() ? "amtsweg.org." + org.id : org.topic;
}

namespace {

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

constexpr size_t kMaxDeadLetterRaw = size_t{64} * 1024;
constexpr char kTimerSource[] = "amtsweg:timer";
constexpr size_t kOutboxPublishChunk = 4096;

std::string SeenKey(const std::string& source, const std::string& id) {
  std::string k = source;
  k.push_back('\x1f');
  k.append(id);
  return k;
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

// JSON of runtime::ProjectFields(application, paths), written without building the Value.
void AppendProjectedJson(const Value& application, const Value& paths, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const Value& p : paths.items()) {
    const Value* v = application.FindPath(p.as_string());
    if (v == nullptr) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(p.as_string(), out);
    out->push_back(':');
    v->AppendJson(out);
  }
  out->push_back('}');
}

using ActiveDeadlines = std::vector<std::pair<std::string, Timestamp>>;

ActiveDeadlines Active(const runtime::CaseState& s) {
  ActiveDeadlines out;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active()) out.emplace_back(d.name, d.due);
  }
  return out;
}

}  // namespace

struct Engine::Pending {
  struct CaseWork {
    runtime::CaseState state;
    bool existed = false;
    std::vector<std::string> old_index;
    std::vector<std::string> events;  // encoded
    // The cache entry the state was taken from (its value moved into `state`), reused to put
    // the state back on commit; empty when the state came from the store or is new.
    std::unordered_map<std::string, runtime::CaseState>::node_type cache_node;
  };
  std::unordered_map<std::string, CaseWork> cases;
  std::vector<std::string> order;
  std::unordered_set<std::string> seen;
  std::map<TimerKey, bool> timer_ops;  // final operation per timer in this batch: true = add
  store::Batch batch;
  EngineStats delta;
  Status error;  // first store failure while building the batch
};

Engine::Engine(store::Store& store, const dsl::Registry& registry, const dsl::Directory& directory,
               Clock& clock, EngineOptions options)
    : store_(store),
      registry_(registry),
      directory_(directory),
      clock_(clock),
      manual_clock_(dynamic_cast<ManualClock*>(&clock)),
      options_(std::move(options)),
      runtime_(registry, directory) {}

Engine::~Engine() = default;

Status Engine::Open() {
  // The clock never moves backwards, also not across a restart: it continues from the clock
  // committed last (dead letters read before the first valid input are stamped with it).
  ASSIGN_OR_RETURN(stored_clock_, store_.GetClock());
  if (stored_clock_.has_value()) {
    restored_clock_ = *stored_clock_;
    if (manual_clock_ != nullptr) manual_clock_->AdvanceTo(*stored_clock_);
  }
  RETURN_IF_ERROR(LoadTimers());
  ASSIGN_OR_RETURN(outbox_backlog_, store_.OutboxSize());
  return Status::OK();
}

Status Engine::LoadTimers() {
  timers_.clear();
  return store_.DueTimers(INT64_MAX, [this](const store::Timer& t) {
    if (OwnsCase(t.case_id)) timers_.emplace(t.due, t.case_id, t.name);
    return true;
  });
}

bool Engine::OwnsCase(std::string_view case_id) const {
  if (lanes_ == nullptr) return true;
  std::optional<uint32_t> lane = lanes_->CaseLane(case_id);
  return !lane.has_value() || lanes_->OwnsLane(*lane);
}

Status Engine::FollowLanes(const Source& source) {
  if (lanes_ == &source && lane_generation_ == source.LaneGeneration()) return Status::OK();
  lanes_ = &source;
  lane_generation_ = source.LaneGeneration();
  return LoadTimers();
}

void Engine::Begin() {
  pending_ = std::make_unique<Pending>();
}

Status Engine::Abandon(const Status& error) {
  // Nothing of the batch was stored: forget its effects on the in-memory mirrors (cached states
  // taken out for it, timers added or removed by it).
  pending_.reset();
  cache_.clear();
  suppress_outbox_ = false;
  Status reload = LoadTimers();
  return reload.ok() ? error : reload;
}

Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application) {
  ASSIGN_OR_RETURN(std::optional<store::CaseRecord> rec, store.GetCase(case_id));
  if (!rec.has_value()) return std::optional<runtime::CaseState>();
  Result<runtime::CaseState> state = runtime::DecodeSnapshot(rec->snapshot);
  if (!state.ok()) return state.status().WithContext("case '" + case_id + "'");
  if (with_application) {
    Status restored = Status::Corruption("case '" + case_id + "' has no event 1");
    RETURN_IF_ERROR(store.ScanEvents(case_id, 1, 1, [&](const store::EventRecord& r) {
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
      restored = e.ok() ? runtime::RestoreApplication(&*state, *e) : e.status();
      return false;
    }));
    RETURN_IF_ERROR(restored);
  }
  return std::optional(std::move(state).value());
}

Result<std::optional<runtime::CaseState>> Engine::LoadCase(const std::string& case_id) {
  if (auto it = cache_.find(case_id); it != cache_.end()) return std::optional(it->second);
  return LoadCaseState(store_, case_id);
}

runtime::CaseState* Engine::Working(const std::string& case_id, bool* found) {
  auto it = pending_->cases.find(case_id);
  if (it != pending_->cases.end()) {
    *found = it->second.state.seq > 0;
    return &it->second.state;
  }
  Pending::CaseWork work;
  if (auto cached = cache_.find(case_id); cached != cache_.end()) {
    // Taken out of the cache, not copied: Commit puts it back after a successful write (a
    // failed batch clears the cache anyway).
    work.cache_node = cache_.extract(cached);
    work.state = std::move(work.cache_node.mapped());
    work.existed = true;
  } else {
    Result<std::optional<runtime::CaseState>> loaded = LoadCaseState(store_, case_id);
    if (!loaded.ok()) {
      if (pending_->error.ok()) pending_->error = loaded.status();
      return nullptr;
    }
    if (loaded->has_value()) {
      work.state = std::move(**loaded);
      work.existed = true;
    }
  }
  if (work.existed) work.old_index = IndexKeys(work.state);
  *found = work.existed;
  pending_->order.push_back(case_id);
  return &pending_->cases.emplace(case_id, std::move(work)).first->second.state;
}

void Engine::DeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                        const std::string& reason) {
  store::DeadLetter d;
  d.at = now();
  d.source = source_name;
  d.position = raw.where;
  d.kind = kind;
  d.reason = d.kind + ": " + reason;
  spdlog::info("dead letter: {} {}: {}", source_name, raw.where, d.reason);
  d.raw = raw.bytes.size() > kMaxDeadLetterRaw ? raw.bytes.substr(0, kMaxDeadLetterRaw) : raw.bytes;
  if (!options_.dead_letter_destination.empty() && !raw.replay) {
    store::OutboxEntry entry;
    entry.destination = options_.dead_letter_destination;
    entry.key = raw.key.value_or("");
    entry.id = source_name + " " + raw.where;
    entry.headers = {{"amtsweg-reason", d.reason},
                     {"amtsweg-kind", d.kind},
                     {"amtsweg-source", source_name},
                     {"amtsweg-position", raw.where},
                     {"amtsweg-size", std::to_string(raw.size)}};
    entry.payload = d.raw;
    pending_->batch.outbox.push_back(std::move(entry));
  }
  pending_->batch.dead.push_back(std::move(d));
}

void Engine::HandleRaw(const RawInput& raw, Result<runtime::InputEvent>& in, bool stored_seen,
                       const std::string& source_name) {
  pending_->delta.inputs++;
  if (raw.oversized) {
    pending_->delta.rejected++;
    DeadLetter(raw, source_name, "oversized",
               "event of " + std::to_string(raw.size) + " bytes exceeds the limit of " +
                   std::to_string(options_.max_event_bytes) + " bytes");
    return;
  }
  if (!raw.misrouted.empty()) {
    pending_->delta.rejected++;
    DeadLetter(raw, source_name, "misrouted", raw.misrouted);
    return;
  }
  if (!in.ok()) {
    pending_->delta.rejected++;
    DeadLetter(raw, source_name, "malformed", in.status().message());
    return;
  }
  if (raw.key.has_value() && *raw.key != in->subject &&
      in->type != runtime::input_type::kClockAdvanced) {
    pending_->delta.rejected++;
    DeadLetter(raw, source_name, "misrouted",
               "message key '" + *raw.key + "' is not the event's case id (subject) '" +
                   in->subject + "'");
    return;
  }
  if (!raw.key.has_value() && lanes_ != nullptr && !in->subject.empty() &&
      in->type != runtime::input_type::kClockAdvanced) {
    std::optional<uint32_t> lane = lanes_->CaseLane(in->subject);
    if (lane.has_value() && *lane != raw.lane) {
      pending_->delta.rejected++;
      DeadLetter(raw, source_name, "misrouted",
                 "unkeyed event of case '" + in->subject + "' on lane " + std::to_string(raw.lane) +
                     "; its case belongs to lane " + std::to_string(*lane) +
                     " (key messages by their case id)");
      return;
    }
  }
  if (options_.max_future_ms > 0 && options_.wall_clock != nullptr && !raw.replay) {
    Timestamp wall = options_.wall_clock->Now();
    if (in->time > wall + options_.max_future_ms) {
      pending_->delta.rejected++;
      DeadLetter(raw, source_name, "future",
                 "event time " + FormatTimestamp(in->time) + " is more than " +
                     std::to_string(options_.max_future_ms / 1000) + " s after the wall clock (" +
                     FormatTimestamp(wall) + "); it would move the deadline clock for every case");
      return;
    }
  }
  std::string seen = SeenKey(in->source, in->id);
  if (stored_seen || pending_->seen.count(seen) > 0) {
    pending_->delta.duplicates++;
    DeadLetter(raw, source_name, "duplicate",
               "event id '" + in->id + "' from source '" + in->source +
                   "' was already processed; ignored");
    return;
  }
  pending_->seen.insert(seen);
  pending_->batch.seen_ids.push_back(std::move(seen));
  if (raw.replay) pending_->delta.replayed++;
  suppress_outbox_ = raw.replay;
  Outcome outcome = HandleInput(*in, &raw, source_name);
  suppress_outbox_ = false;
  switch (outcome) {
    case Outcome::kAccepted:
    case Outcome::kIgnored:  // the runtime ignores only timers; an input it did not refuse is taken
      pending_->delta.accepted++;
      break;
    case Outcome::kRefused:
      pending_->delta.rejected++;
      break;
    case Outcome::kFailed:  // the batch is abandoned, its counts with it
      break;
  }
}

Engine::Outcome Engine::HandleInput(const runtime::InputEvent& in, const RawInput* raw,
                                    const std::string& source_name) {
  if (in.type == runtime::input_type::kClockAdvanced) {
    // Time has passed on this lane; the clock follows as far as the other lanes allow, so that
    // input still unread on a lagging partition is not overtaken by the deadlines it may stop.
    // A time before the clock leaves it where it is (it never moves backwards): taken, as a
    // no-op. Refusing it instead would make the dead letters depend on how lanes interleave,
    // since the clock may have followed another lane past it.
    if (raw != nullptr) {
      Timestamp& lane = lane_time_[raw->lane];
      lane = std::max(lane, in.time);
      bool suppress = suppress_outbox_;
      suppress_outbox_ = false;
      AdvanceByLanes(busy_lanes_);
      suppress_outbox_ = suppress;
    }
    return Outcome::kAccepted;
  }
  if (raw != nullptr && options_.event_time_clock) {
    Timestamp& lane = lane_time_[raw->lane];
    lane = std::max(lane, in.time);
    // What the clock fires belongs to other cases: published even when this input is a replay.
    bool suppress = suppress_outbox_;
    suppress_outbox_ = false;
    AdvanceByLanes(busy_lanes_);
    suppress_outbox_ = suppress;
  }
  // Every input, also one of an unknown type, goes to its case: a refusal of input addressed to
  // an open case is recorded in the case's history (input.rejected) by the runtime.
  bool found = false;
  runtime::CaseState* state = Working(in.subject, &found);
  if (state == nullptr) return Outcome::kFailed;  // store failure, reported by Commit
  if (raw != nullptr && found) {
    FireCaseDue(*state, in.time);
    state = Working(in.subject, &found);
    if (state == nullptr) return Outcome::kFailed;
  }
  ActiveDeadlines before = Active(*state);
  bool was_open = state->open();
  runtime::StepResult r = runtime_.Handle(in, state);

  Pending::CaseWork& work = pending_->cases[in.subject];
  for (const runtime::DomainEvent& e : r.events) {
    runtime::EncodeEvent(e, &work.events.emplace_back());
    if (!suppress_outbox_) AddOutbox(*state, e);
  }
  if (!r.events.empty() && !suppress_outbox_ && !options_.audit_destination.empty())
    AddAuditReference(in.subject, r.events.front().seq, r.events.back().seq);
  pending_->delta.domain_events += r.events.size();
  if (!found && state->seq > 0) pending_->delta.cases_opened++;
  if ((was_open || !found) && state->seq > 0 && !state->open()) pending_->delta.cases_closed++;

  ActiveDeadlines after = Active(*state);
  for (const auto& [name, due] : before) {
    if (std::find(after.begin(), after.end(), std::pair(name, due)) == after.end()) {
      TimerKey key(due, in.subject, name);
      timers_.erase(key);
      pending_->timer_ops[key] = false;
    }
  }
  for (const auto& [name, due] : after) {
    if (std::find(before.begin(), before.end(), std::pair(name, due)) == before.end()) {
      TimerKey key(due, in.subject, name);
      timers_.insert(key);
      pending_->timer_ops[key] = true;
    }
  }

  if (r.rejection.has_value()) {
    if (raw != nullptr) DeadLetter(*raw, source_name, r.rejection->kind, r.rejection->reason);
    return Outcome::kRefused;
  }
  return r.ignored ? Outcome::kIgnored : Outcome::kAccepted;
}

void Engine::FireDue(Timestamp upto) {
  while (!timers_.empty() && std::get<0>(*timers_.begin()) <= upto) {
    FireTimer(*timers_.begin());
  }
}

void Engine::FireCaseDue(const runtime::CaseState& s, Timestamp upto) {
  std::vector<TimerKey> due;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active() && d.due <= upto) due.emplace_back(d.due, s.id, d.name);
  }
  std::sort(due.begin(), due.end());
  for (const TimerKey& key : due) {
    if (timers_.count(key) == 0) continue;  // not armed (e.g. just fired)
    FireTimer(key);
  }
}

void Engine::FireTimer(const TimerKey& armed) {
  // A copy: `armed` may be the element erased next.
  const TimerKey key = armed;  // NOLINT(performance-unnecessary-copy-initialization)
  timers_.erase(key);
  pending_->timer_ops[key] = false;
  const auto& [due, case_id, name] = key;
  runtime::InputEvent in;
  in.id = "timer:" + case_id + ":" + name + ":" + FormatTimestamp(due);
  in.source = kTimerSource;
  in.type = runtime::input_type::kTimerFired;
  in.subject = case_id;
  in.time = due;
  in.data = ObjectBuilder().Add("deadline", name).Add("due", FormatTimestamp(due)).Build();
  EngineStats& d = pending_->delta;
  switch (HandleInput(in, nullptr, kTimerSource)) {
    case Outcome::kAccepted:
      d.timers_fired++;
      d.timers_expired++;
      break;
    case Outcome::kIgnored:
      d.timers_fired++;
      d.timers_stale++;
      break;
    case Outcome::kRefused:
      d.timers_fired++;
      d.timers_refused++;
      break;
    case Outcome::kFailed:  // the batch is abandoned, its counts with it
      break;
  }
}

void Engine::AdvanceByLanes(const std::vector<uint32_t>& busy_lanes) {
  if (manual_clock_ == nullptr || lane_time_.empty()) return;
  Timestamp target = 0;
  if (busy_lanes.empty()) {
    for (const auto& [lane, t] : lane_time_)
      target = std::max(target, t);
  } else {
    target = INT64_MAX;
    for (uint32_t lane : busy_lanes) {
      auto it = lane_time_.find(lane);
      // A busy lane read nothing yet: its next input may be of any time.
      target = std::min(target, it == lane_time_.end() ? Timestamp{0} : it->second);
    }
  }
  if (target > now()) manual_clock_->AdvanceTo(target);
  // Also when the clock is already past the target (it followed other lanes before, or was
  // restored from the store): timers armed since, e.g. while a partition taken over is rebuilt,
  // fire once every busy lane is past them.
  FireDue(std::min(target, now()));
}

void Engine::AddAuditReference(const std::string& case_id, uint64_t from, uint64_t to) {
  std::vector<store::OutboxEntry>& outbox = pending_->batch.outbox;
  if (!outbox.empty()) {
    store::OutboxEntry& last = outbox.back();
    if (last.is_reference() && last.key == case_id && last.event_to + 1 == from) {
      last.event_to = to;
      return;
    }
  }
  store::OutboxEntry ref;
  ref.destination = options_.audit_destination;
  ref.key = case_id;
  ref.event_from = from;
  ref.event_to = to;
  outbox.push_back(std::move(ref));
}

Status Engine::Expand(const store::OutboxEntry& ref, std::vector<store::OutboxEntry>* out) {
  Status status;
  size_t expected = ref.event_to - ref.event_from + 1;
  size_t first = out->size();
  std::string data;
  RETURN_IF_ERROR(
      store_.ScanEvents(ref.key, ref.event_from, ref.event_to, [&](const store::EventRecord& r) {
        Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
        if (!e.ok()) {
          status = e.status().WithContext("case '" + ref.key + "' event " + std::to_string(r.seq));
          return false;
        }
        // The domain event as `case history` shows it, with the chain hash after it, so that
        // a reader of the audit stream can verify the chain.
        Value v = runtime::EventToValue(*e);
        data.clear();
        v.AppendJson(&data);
        data.pop_back();  // '}'
        data.append(R"(,"chain":")");
        data.append(ToHex(r.hash));
        data.append("\"}");
        store::OutboxEntry entry;
        entry.seq = ref.seq;
        entry.destination = ref.destination;
        entry.key = ref.key;
        entry.id = ref.key + "/" + std::to_string(r.seq);
        std::string type = "de.amtsweg.";
        type += runtime::DomainTypeName(e->type);
        entry.payload =
            EncodeCloudEventJson(entry.id, options_.outbox_source, type, ref.key, e->time, data);
        out->push_back(std::move(entry));
        return true;
      }));
  RETURN_IF_ERROR(status);
  if (out->size() - first != expected) {
    return Status::Corruption("outbox entry " + std::to_string(ref.seq) + " refers to events " +
                              std::to_string(ref.event_from) + ".." + std::to_string(ref.event_to) +
                              " of case '" + ref.key + "', which are not all in the log");
  }
  return Status::OK();
}

void Engine::AddOutbox(const runtime::CaseState& s, const runtime::DomainEvent& e) {
  if (e.type != runtime::DomainType::kNotificationDisclosed &&
      e.type != runtime::DomainType::kTaskRequested) {
    return;
  }
  const std::string& org_id = e.data["organisation"].as_string();
  if (org_id.empty()) return;
  const dsl::Organisation* org = directory_.Find(org_id);
  store::OutboxEntry entry;
  entry.destination = org != nullptr ? OrganisationDestination(*org) : "amtsweg.org." + org_id;
  entry.key = s.id;
  entry.id = s.id + "/" + std::to_string(e.seq);
  // The data object, written straight to JSON (the same bytes as building it as a Value first):
  // the case's workflow and the event's members except "new"; the domain event names the
  // disclosed fields, the recipient gets their values.
  std::string& data = outbox_data_;
  data.clear();
  data.append(R"({"workflow":)");
  AppendJsonString(s.workflow, &data);
  data.append(R"(,"version":)");
  AppendInt(s.version, &data);
  data.append(R"(,"leika":)");
  AppendJsonString(s.leika, &data);
  data.append(R"(,"seq":)");
  AppendInt(static_cast<int64_t>(e.seq), &data);
  for (const Member& m : e.data.members()) {
    if (m.first == "new") continue;
    data.push_back(',');
    AppendJsonString(m.first, &data);
    data.push_back(':');
    if (m.first == "fields") {
      AppendProjectedJson(s.application, m.second, &data);
    } else {
      m.second.AppendJson(&data);
    }
  }
  data.push_back('}');
  std::string type = "de.amtsweg.";
  type += runtime::DomainTypeName(e.type);
  entry.payload = EncodeCloudEventJson(entry.id, options_.outbox_source, type, s.id, e.time, data);
  pending_->batch.outbox.push_back(std::move(entry));
}

Status Engine::Commit(const Positions& positions) {
  Pending& p = *pending_;
  if (!p.error.ok()) return Abandon(p.error);
  for (const std::string& id : p.order) {
    Pending::CaseWork& work = p.cases[id];
    if (work.events.empty()) continue;
    store::CaseWrite w;
    w.case_id = id;
    w.events = std::move(work.events);
    w.snapshot = runtime::EncodeSnapshot(work.state);
    std::vector<std::string> now = IndexKeys(work.state);
    std::set_difference(now.begin(), now.end(), work.old_index.begin(), work.old_index.end(),
                        std::back_inserter(w.index_add));
    std::set_difference(work.old_index.begin(), work.old_index.end(), now.begin(), now.end(),
                        std::back_inserter(w.index_remove));
    p.batch.cases.push_back(std::move(w));
  }
  for (const auto& [key, add] : p.timer_ops) {
    store::Timer t{std::get<0>(key), std::get<1>(key), std::get<2>(key)};
    (add ? p.batch.timers_add : p.batch.timers_remove).push_back(std::move(t));
  }
  for (const auto& position : positions)
    p.batch.positions.push_back(position);
  // The clock goes with the batch whenever it moved, so that a restart continues from it. A clock
  // that moves by itself (not a ManualClock) is stored only with a batch that stores something.
  const Timestamp clock = now();
  if ((!stored_clock_.has_value() || clock > *stored_clock_) &&
      (manual_clock_ != nullptr || !p.batch.empty())) {
    p.batch.clock = clock;
  }
  if (!p.batch.empty()) {
    auto start = std::chrono::steady_clock::now();
    Result<store::CommitResult> committed = store_.Commit(p.batch);
    stats_.commit_us += MicrosSince(start);
    if (!committed.ok()) {
      spdlog::error("commit of {} case(s) failed, nothing stored: {}", p.batch.cases.size(),
                    committed.status().ToString());
      return Abandon(committed.status());
    }
    outbox_backlog_ += p.batch.outbox.size();
    if (p.batch.clock.has_value()) stored_clock_ = p.batch.clock;
    if (!positions.empty())
      undelivered_batches_.emplace_back(committed->last_outbox_seq, positions);
  }
  if (cache_.size() + p.cases.size() > options_.case_cache_entries) cache_.clear();
  for (auto& [id, work] : p.cases) {
    if (work.state.seq == 0) continue;
    if (work.cache_node) {
      work.cache_node.mapped() = std::move(work.state);
      cache_.insert(std::move(work.cache_node));
    } else {
      cache_[id] = std::move(work.state);
    }
  }
  const EngineStats& d = p.delta;
  stats_.inputs += d.inputs;
  stats_.accepted += d.accepted;
  stats_.rejected += d.rejected;
  stats_.duplicates += d.duplicates;
  stats_.timers_fired += d.timers_fired;
  stats_.timers_expired += d.timers_expired;
  stats_.timers_stale += d.timers_stale;
  stats_.timers_refused += d.timers_refused;
  stats_.domain_events += d.domain_events;
  stats_.cases_opened += d.cases_opened;
  stats_.cases_closed += d.cases_closed;
  stats_.replayed += d.replayed;
  stats_.batches++;
  pending_.reset();
  return Status::OK();
}

Status Engine::ProcessBatch(const std::vector<RawInput>& inputs, const std::string& source_name,
                            const Positions& positions, const std::vector<uint32_t>& busy_lanes) {
  Begin();
  // A lane with inputs still ahead in this batch is busy until its last one is handled: the clock
  // must not pass them on the strength of another lane's later time.
  std::unordered_map<uint32_t, size_t> ahead;
  for (const RawInput& raw : inputs)
    ahead[raw.lane]++;
  auto set_busy = [&] {
    busy_lanes_ = busy_lanes;
    for (const auto& [lane, n] : ahead) {
      if (n > 0 && std::find(busy_lanes_.begin(), busy_lanes_.end(), lane) == busy_lanes_.end())
        busy_lanes_.push_back(lane);
    }
  };
  set_busy();
  if (options_.event_time_clock) AdvanceByLanes(busy_lanes_);
  // Decode the whole batch first, so that the store answers for its input ids in one read.
  std::vector<Result<runtime::InputEvent>> decoded;
  decoded.reserve(inputs.size());
  std::vector<std::string> seen_keys;
  seen_keys.reserve(inputs.size());
  for (const RawInput& raw : inputs) {
    if (raw.oversized) {
      decoded.emplace_back(Status::InvalidArgument("oversized"));  // never read
      continue;
    }
    decoded.push_back(DecodeCloudEvent(raw.bytes, options_.max_event_bytes));
    if (decoded.back().ok())
      seen_keys.push_back(SeenKey(decoded.back()->source, decoded.back()->id));
  }
  Result<std::vector<bool>> stored_seen = store_.Seen(seen_keys);
  if (!stored_seen.ok()) {
    pending_->error = stored_seen.status();
    return Commit(positions);
  }
  size_t next_seen = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool seen = !inputs[i].oversized && decoded[i].ok() && (*stored_seen)[next_seen++];
    HandleRaw(inputs[i], decoded[i], seen, source_name);
    if (!pending_->error.ok()) break;
    if (--ahead[inputs[i].lane] == 0) set_busy();
  }
  busy_lanes_ = busy_lanes;
  if (options_.event_time_clock && pending_->error.ok()) AdvanceByLanes(busy_lanes_);
  return Commit(positions);
}

Status Engine::AdvanceClock(Timestamp t) {
  Begin();
  if (manual_clock_ != nullptr) manual_clock_->AdvanceTo(t);
  FireDue(std::min(t, now()));
  return Commit({});
}

Status Engine::PublishOutbox(Sink& sink, Source* source, std::chrono::milliseconds wait) {
  // Hand over what waits, up to the in-flight bound.
  bool drained = false;  // nothing committed waits to be handed over
  while (in_flight_.size() < options_.max_in_flight) {
    std::vector<store::OutboxEntry> entries;
    size_t room = std::min(kOutboxPublishChunk, options_.max_in_flight - in_flight_.size());
    Status expanded;
    uint64_t last = 0;
    RETURN_IF_ERROR(store_.ScanOutbox(next_offer_, [&](const store::OutboxEntry& e) {
      last = e.seq;
      if (e.is_reference()) {
        expanded = Expand(e, &entries);
        if (!expanded.ok()) return false;
      } else {
        entries.push_back(e);
      }
      return --room > 0;
    }));
    RETURN_IF_ERROR(expanded);
    if (last == 0) {
      drained = true;
      break;
    }
    for (const store::OutboxEntry& e : entries)
      in_flight_[e.seq]++;
    RETURN_IF_ERROR(sink.Send(std::move(entries)));
    next_offer_ = last + 1;
  }
  // Collect acknowledgements; an entry leaves the outbox when all its messages are delivered.
  std::vector<uint64_t> acked;
  RETURN_IF_ERROR(
      sink.Acknowledged(in_flight_.empty() ? std::chrono::milliseconds(0) : wait, &acked));
  std::vector<uint64_t> done;
  for (uint64_t seq : acked) {
    auto it = in_flight_.find(seq);
    if (it == in_flight_.end()) continue;
    stats_.published++;
    if (--it->second == 0) {
      done.push_back(seq);
      in_flight_.erase(it);
    }
  }
  if (!done.empty()) {
    RETURN_IF_ERROR(store_.DeleteOutbox(done));
    outbox_backlog_ -= std::min<uint64_t>(outbox_backlog_, done.size());
  }
  // Every seq below `floor` has been delivered.
  uint64_t floor = drained ? UINT64_MAX : next_offer_;
  if (!in_flight_.empty()) floor = std::min(floor, in_flight_.begin()->first);
  Positions delivered;
  while (!undelivered_batches_.empty() && undelivered_batches_.front().first < floor) {
    for (auto& position : undelivered_batches_.front().second) {
      auto same = std::find_if(delivered.begin(), delivered.end(),
                               [&](const auto& p) { return p.first == position.first; });
      if (same == delivered.end()) {
        delivered.push_back(std::move(position));
      } else {
        same->second = std::move(position.second);
      }
    }
    undelivered_batches_.pop_front();
  }
  if (source != nullptr && !delivered.empty()) source->Committed(delivered);
  return Status::OK();
}

Status Engine::FlushOutbox(Sink& sink, Source* source, std::chrono::milliseconds timeout,
                           const std::function<bool()>& stop) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    RETURN_IF_ERROR(PublishOutbox(sink, source, std::chrono::milliseconds(100)));
    if (in_flight_.empty() && outbox_backlog_ == 0) return Status::OK();
    if (in_flight_.empty()) {
      // Entries below next_offer_ may have been removed by an earlier run; look again.
      ASSIGN_OR_RETURN(outbox_backlog_, store_.OutboxSize());
      if (outbox_backlog_ == 0) return Status::OK();
    }
    if ((stop && stop()) || std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(std::to_string(outbox_backlog_) +
                                 " outbound entries are not delivered yet");
    }
  }
}

Status Engine::Settle(Source& source, Sink* sink, const std::vector<RawInput>& pending,
                      const Positions& positions, std::chrono::milliseconds timeout) {
  // Called from inside a source's Poll (a rebalance): the lanes may have changed in that Poll.
  const bool outside_run = lanes_ == nullptr;
  RETURN_IF_ERROR(FollowLanes(source));
  std::vector<uint32_t> busy;
  source.BusyLanes(&busy);
  Status processed;
  if (!pending.empty() || !positions.empty())
    processed = ProcessBatch(pending, source.name(), positions, busy);
  if (outside_run) lanes_ = nullptr;
  RETURN_IF_ERROR(processed);
  if (sink == nullptr) {
    Positions all;
    for (auto& [seq, p] : undelivered_batches_)
      all.insert(all.end(), p.begin(), p.end());
    undelivered_batches_.clear();
    if (!all.empty()) source.Committed(all);
    return Status::OK();
  }
  return FlushOutbox(*sink, &source, timeout);
}

Status Engine::Run(Source& source, Sink* sink, const RunOptions& options) {
  // What an earlier run committed but did not get to publish goes out first, before the source
  // starts: a source may then take every stored position as delivered (the Kafka source commits
  // stored positions ahead of its group's offsets on assignment).
  if (sink != nullptr) {
    Status flushed = FlushOutbox(*sink, &source, std::chrono::hours(24 * 365), options.stop);
    if (!flushed.ok() && !(options.stop && options.stop())) return flushed;
    if (options.stop && options.stop()) return Status::OK();
  }
  RETURN_IF_ERROR(source.Start([this](const std::string& key) { return store_.GetPosition(key); }));
  // The source's lanes decide whose timers fire here while it runs (see Source::OwnsLane).
  struct Unfollow {
    const Source** lanes;
    ~Unfollow() { *lanes = nullptr; }
  } unfollow{&lanes_};
  RETURN_IF_ERROR(FollowLanes(source));
  std::vector<RawInput> inputs;
  std::vector<uint32_t> busy;
  Positions positions;
  bool paused = false;
  for (uint64_t n = 0; n < options.max_batches;) {
    if (options.stop && options.stop()) break;
    bool over = sink != nullptr && outbox_backlog_ >= options_.outbox_bound;
    if (over != paused) {
      if (over)
        spdlog::warn("outbox over its bound ({} entries): input paused", outbox_backlog_);
      else
        spdlog::info("outbox below its bound again: input resumed");
      RETURN_IF_ERROR(source.Pause(over));
      paused = over;
    }
    inputs.clear();
    auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(size_t got, source.Poll(options.batch_size, options.poll_wait, &inputs));
    stats_.poll_us += MicrosSince(start);
    RETURN_IF_ERROR(FollowLanes(source));
    source.BusyLanes(&busy);
    positions.clear();
    if (got > 0) source.PositionsAfterPoll(&positions);
    start = std::chrono::steady_clock::now();
    uint64_t commit_before = stats_.commit_us;
    RETURN_IF_ERROR(ProcessBatch(inputs, source.name(), positions, busy));
    stats_.process_us += MicrosSince(start) - (stats_.commit_us - commit_before);
    if (got > 0) ++n;
    if (sink != nullptr) {
      start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(PublishOutbox(*sink, &source));
      stats_.publish_us += MicrosSince(start);
    } else if (!undelivered_batches_.empty()) {
      Positions all;
      for (auto& [seq, p] : undelivered_batches_)
        all.insert(all.end(), p.begin(), p.end());
      undelivered_batches_.clear();
      source.Committed(all);
    }
    if (got > 0 && options.progress) options.progress(stats_);
    if (got == 0 && options.until_caught_up && (source.AtEnd() || source.CaughtUp()) && !paused) {
      if (sink == nullptr) break;
      start = std::chrono::steady_clock::now();
      Status flushed = FlushOutbox(*sink, &source, std::chrono::hours(24 * 365), options.stop);
      stats_.publish_us += MicrosSince(start);
      if (flushed.ok() || (options.stop && options.stop())) break;
      return flushed;
    }
  }
  return Status::OK();
}

Status Engine::Drain(Source& source, Sink* sink, size_t batch_size,
                     const std::function<void(const EngineStats&)>& progress,
                     uint64_t max_batches) {
  RunOptions options;
  options.batch_size = batch_size;
  options.poll_wait = std::chrono::milliseconds(0);
  options.progress = progress;
  options.max_batches = max_batches;
  return Run(source, sink, options);
}

}  // namespace amtsweg::core
