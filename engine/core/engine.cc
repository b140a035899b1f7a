#include "engine/core/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/core/cloudevent.h"

namespace amtsweg::core {

namespace {

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

constexpr char kTimerSource[] = "amtsweg:timer";

std::string SeenKey(const std::string& source, const std::string& id) {
  std::string k = source;
  k.push_back('\x1f');
  k.append(id);
  return k;
}

// The counts of a committed batch, added to the process's.
void AddCounts(const EngineStats& d, EngineStats* s) {
  s->inputs += d.inputs;
  s->accepted += d.accepted;
  s->rejected += d.rejected;
  s->duplicates += d.duplicates;
  s->timers_fired += d.timers_fired;
  s->timers_expired += d.timers_expired;
  s->timers_stale += d.timers_stale;
  s->timers_refused += d.timers_refused;
  s->domain_events += d.domain_events;
  s->cases_opened += d.cases_opened;
  s->cases_closed += d.cases_closed;
  s->replayed += d.replayed;
}

}  // namespace

// Run's phase and source for its lifetime: set on entry, reset (and the lanes unfollowed) on
// every way out.
class Engine::RunScope {
 public:
  RunScope(Engine& engine, const Source& source) : engine_(engine) {
    engine_.phase_ = RunPhase::kBusy;
    engine_.running_ = &source;
  }
  ~RunScope() {
    engine_.phase_ = RunPhase::kOutside;
    engine_.running_ = nullptr;
    engine_.scheduler_.Unfollow();
  }
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;

 private:
  Engine& engine_;
};

Engine::Engine(store::Store& store, const dsl::Registry& registry, const dsl::Directory& directory,
               EventClock clock, EngineOptions options)
    : store_(store),
      options_(std::move(options)),
      runtime_(registry, directory),
      scheduler_(store, std::move(clock)),
      writer_(store, directory,
              BatchWriterOptions{options_.case_cache_entries, options_.outbox_source,
                                 options_.audit_destination, options_.dead_letter_destination,
                                 options_.keys}),
      publisher_(store, OutboxPublisherOptions{options_.max_in_flight, options_.outbox_source,
                                               options_.keys}) {}

Engine::~Engine() = default;

Status Engine::Open() {
  RETURN_IF_ERROR(scheduler_.Open());
  RETURN_IF_ERROR(publisher_.Open());
  // Erasures a crash interrupted between their commit and their purge are finished first.
  std::vector<std::string> pending;
  RETURN_IF_ERROR(store_.ScanPendingErasures([&](std::string_view id) {
    pending.emplace_back(id);
    return true;
  }));
  if (!pending.empty()) {
    spdlog::info("finishing {} interrupted erasure(s)", pending.size());
    RETURN_IF_ERROR(FinishErasures(pending));
  }
  return options_.keys != nullptr ? ReapplyErasures() : Status::OK();
}

Status Engine::Abandon(const Status& error) {
  // Nothing of the batch was stored: forget its effects on the in-memory mirrors (cached states
  // taken out for it, timers added or removed by it).
  writer_.Abandon();
  Status reload = scheduler_.Reload();
  return reload.ok() ? error : reload;
}

void Engine::DeadLetter(const RawInput& raw, const std::string& source_name, std::string_view kind,
                        const std::string& reason) {
  if (verdicts_ != nullptr && &raw == deciding_) verdicts_->back() = {std::string(kind), reason};
  writer_.AddDeadLetter(raw, raw.origin.empty() ? source_name : raw.origin, kind, reason, now());
}

std::optional<Engine::Refusal> Engine::Refuse(const RawInput& raw,
                                              const Result<runtime::InputEvent>& in) const {
  if (raw.oversized) {
    return Refusal{"oversized", "event of " + std::to_string(raw.size) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(options_.max_event_bytes) + " bytes"};
  }
  if (!raw.misrouted.empty()) return Refusal{"misrouted", raw.misrouted};
  if (!in.ok()) return Refusal{"malformed", in.status().message()};
  if (raw.key.has_value() && *raw.key != in->subject &&
      in->type != runtime::input_type::kClockAdvanced) {
    return Refusal{"misrouted", "message key '" + *raw.key +
                                    "' is not the event's case id (subject) '" + in->subject + "'"};
  }
  if (!raw.key.has_value() && !in->subject.empty() &&
      in->type != runtime::input_type::kClockAdvanced) {
    std::optional<uint32_t> lane = scheduler_.CaseLane(in->subject);
    if (lane.has_value() && *lane != raw.lane) {
      return Refusal{"misrouted", "unkeyed event of case '" + in->subject + "' on lane " +
                                      std::to_string(raw.lane) + "; its case belongs to lane " +
                                      std::to_string(*lane) + " (key messages by their case id)"};
    }
  }
  if (options_.max_future_ms > 0 && options_.wall_clock != nullptr && !raw.replay) {
    Timestamp wall = options_.wall_clock->Now();
    if (in->time > wall + options_.max_future_ms) {
      return Refusal{"future", "event time " + FormatTimestamp(in->time) + " is more than " +
                                   std::to_string(options_.max_future_ms / 1000) +
                                   " s after the wall clock (" + FormatTimestamp(wall) +
                                   "); it would move the deadline clock for every case"};
    }
  }
  return std::nullopt;
}

void Engine::HandleRaw(const RawInput& raw, Result<runtime::InputEvent>& in, bool stored_seen,
                       const std::string& source_name) {
  EngineStats& counts = writer_.counts();
  counts.inputs++;
  if (std::optional<Refusal> refusal = Refuse(raw, in)) {
    counts.rejected++;
    DeadLetter(raw, source_name, refusal->kind, refusal->reason);
    return;
  }
  in->channel_organisation = raw.channel_organisation;
  in->channel = raw.channel;
  in->admin = raw.admin;
  // Who speaks is checked before the duplicate check and the id is not marked seen: an input
  // that speaks for another organisation must not take the id of that organisation's own input.
  // Unlike the refusals above, it reaches its case (input.rejected while the case is open).
  if (std::optional<runtime::Rejection> speaker = runtime_.CheckSpeaker(*in)) {
    if (raw.replay) counts.replayed++;
    if (HandleInput(*in, &raw, source_name, raw.replay, &*speaker) != Outcome::kFailed)
      counts.rejected++;
    return;
  }
  std::string seen = SeenKey(in->source, in->id);
  if (stored_seen || writer_.SeenInBatch(seen)) {
    counts.duplicates++;
    DeadLetter(raw, source_name, "duplicate",
               "event id '" + in->id + "' from source '" + in->source +
                   "' was already processed; ignored");
    return;
  }
  writer_.AddSeen(std::move(seen));
  if (raw.replay) counts.replayed++;
  switch (HandleInput(*in, &raw, source_name, raw.replay)) {
    case Outcome::kAccepted:
    case Outcome::kIgnored:  // the runtime ignores only timers; an input it did not refuse is taken
      counts.accepted++;
      break;
    case Outcome::kRefused:
      counts.rejected++;
      break;
    case Outcome::kFailed:  // the batch is abandoned, its counts with it
      break;
  }
}

Engine::Outcome Engine::HandleInput(const runtime::InputEvent& in, const RawInput* raw,
                                    const std::string& source_name, bool replay,
                                    const runtime::Rejection* refused) {
  if (in.type == runtime::input_type::kErasureRequested && refused == nullptr)
    return HandleErasure(in, raw, source_name, replay);
  if (in.type == runtime::input_type::kClockAdvanced) {
    // Time has passed on this lane; the clock follows as far as the other lanes allow, so that
    // input still unread on a lagging partition is not overtaken by the deadlines it may stop.
    // A time before the clock leaves it where it is (it never moves backwards): taken, as a
    // no-op. Refusing it instead would make the dead letters depend on how lanes interleave,
    // since the clock may have followed another lane past it.
    if (raw != nullptr) {
      scheduler_.NoteLaneTime(raw->lane, in.time);
      AdvanceByLanes();
    }
    return Outcome::kAccepted;
  }
  if (raw != nullptr && options_.event_time_clock) {
    scheduler_.NoteLaneTime(raw->lane, in.time);
    // What the clock fires belongs to other cases: published even when this input is a replay.
    AdvanceByLanes();
  }
  // Every input, also one of an unknown type, goes to its case: a refusal of input addressed to
  // an open case is recorded in the case's history (input.rejected) by the runtime.
  bool found = false;
  BatchWriter::WorkingCase* work = writer_.Working(in.subject, &found);
  if (work == nullptr) return Outcome::kFailed;  // store failure, reported by Commit
  if (raw != nullptr && found) {
    FireCaseDue(work->state, in.time, replay);
    work = writer_.Working(in.subject, &found);
    if (work == nullptr) return Outcome::kFailed;
  }
  runtime::CaseState& state = work->state;
  ActiveDeadlines before = DeadlineScheduler::Active(state);
  bool was_open = state.open();
  runtime::StepResult r =
      refused != nullptr ? runtime_.Refuse(in, *refused, &state) : runtime_.Handle(in, &state);

  const dsl::Definition* def = r.events.empty() ? nullptr : runtime_.DefinitionOf(state);
  const runtime::PersonalPaths& personal =
      def != nullptr ? def->personal : runtime::DefaultPersonalPaths();
  for (const runtime::DomainEvent& e : r.events) {
    runtime::EncodeStoredEvent(e, in.subject, personal, work->sealer.get(),
                               &work->events.emplace_back());
    if (!replay) writer_.AddOutbox(state, e);
  }
  if (def != nullptr && def->retention.has_value()) ArmRetention(state, r);
  if (!r.events.empty() && !replay && !options_.audit_destination.empty())
    writer_.AddAuditReference(in.subject, r.events.front().seq, r.events.back().seq);
  EngineStats& counts = writer_.counts();
  counts.domain_events += r.events.size();
  if (!found && state.seq > 0) counts.cases_opened++;
  if ((was_open || !found) && state.seq > 0 && !state.open()) counts.cases_closed++;

  scheduler_.Rearm(in.subject, before, DeadlineScheduler::Active(state), &writer_.timer_changes());

  if (r.rejection.has_value()) {
    if (raw != nullptr) DeadLetter(*raw, source_name, r.rejection->kind, r.rejection->reason);
    return Outcome::kRefused;
  }
  return r.ignored ? Outcome::kIgnored : Outcome::kAccepted;
}

void Engine::FireDue(Timestamp upto) {
  while (std::optional<TimerKey> key = scheduler_.TakeDue(upto))
    FireTimer(*key, /*replay=*/false);
}

void Engine::FireCaseDue(const runtime::CaseState& s, Timestamp upto, bool replay) {
  for (const TimerKey& key : DeadlineScheduler::CaseDue(s, upto)) {
    if (!scheduler_.Disarm(key)) continue;  // not armed (e.g. just fired)
    FireTimer(key, replay);
  }
}

void Engine::FireTimer(const TimerKey& key, bool replay) {
  writer_.timer_changes()[key] = false;
  const auto& [due, case_id, name] = key;
  if (name == kRetentionTimer) {
    runtime::InputEvent in;
    in.id = "retention:" + case_id + ":" + FormatTimestamp(due);
    in.source = kTimerSource;
    in.type = runtime::input_type::kErasureRequested;
    in.subject = case_id;
    in.time = due;
    Outcome outcome = HandleErasure(in, nullptr, kTimerSource, replay);
    if (outcome != Outcome::kFailed) writer_.counts().timers_fired++;
    return;
  }
  runtime::InputEvent in;
  in.id = "timer:" + case_id + ":" + name + ":" + FormatTimestamp(due);
  in.source = kTimerSource;
  in.type = runtime::input_type::kTimerFired;
  in.subject = case_id;
  in.time = due;
  in.data = ObjectBuilder().Add("deadline", name).Add("due", FormatTimestamp(due)).Build();
  Outcome outcome = HandleInput(in, nullptr, kTimerSource, replay);
  EngineStats& d = writer_.counts();
  switch (outcome) {
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

void Engine::AdvanceByLanes() {
  if (std::optional<Timestamp> upto = scheduler_.AdvanceByLanes()) FireDue(*upto);
}

Status Engine::Commit(const Positions& positions) {
  if (!writer_.error().ok()) return Abandon(writer_.error());
  writer_.Stage(positions);
  // The clock goes with the batch whenever it moved, so that a restart continues from it.
  std::optional<Timestamp> clock = scheduler_.clock().ToCommit(!writer_.StagedEmpty());
  Result<BatchWriter::Written> written = writer_.Write(clock);
  stats_.commit_us = writer_.commit_us();
  if (!written.ok()) return Abandon(written.status());
  if (written->stored) {
    if (clock.has_value()) scheduler_.clock().Committed(*clock);
    publisher_.Committed(
        CommittedBatch{written->last_outbox_seq, written->outbox_entries, positions});
  }
  AddCounts(written->counts, &stats_);
  // Only a batch that wrote something counts: an idle poll commits an empty batch.
  if (written->stored) stats_.batches++;
  // The batch is stored whatever happens now: an erasure whose purge fails stays marked in the
  // store and is finished after the next batch, or by the next Open.
  std::vector<std::string> erasures = writer_.written_erasures();
  erasures.insert(erasures.end(), unfinished_erasures_.begin(), unfinished_erasures_.end());
  unfinished_erasures_.clear();
  if (!erasures.empty()) {
    if (Status finished = FinishErasures(erasures); !finished.ok()) {
      spdlog::error(
          "erasure of {} case(s) committed, its purge failed (retried after the next "
          "batch and on restart): {}",
          erasures.size(), finished.ToString());
      unfinished_erasures_ = std::move(erasures);
    }
  }
  return Status::OK();
}

Status Engine::ProcessBatch(const std::vector<RawInput>& inputs, const std::string& source_name,
                            const Positions& positions, const std::vector<uint32_t>& busy_lanes,
                            std::vector<InputVerdict>* verdicts) {
  if (verdicts != nullptr) verdicts->clear();
  writer_.Begin();
  // A lane with inputs still ahead in this batch is busy until its last one is handled: the clock
  // must not pass them on the strength of another lane's later time.
  scheduler_.BeginBatch(inputs, busy_lanes);
  if (options_.event_time_clock) AdvanceByLanes();
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
    decoded.push_back(DecodeMessage(raw.bytes, raw.headers, options_.max_event_bytes));
    if (decoded.back().ok())
      seen_keys.push_back(SeenKey(decoded.back()->source, decoded.back()->id));
  }
  Result<std::vector<bool>> stored_seen = store_.Seen(seen_keys);
  if (!stored_seen.ok()) {
    writer_.Fail(stored_seen.status());
    return Commit(positions);
  }
  size_t next_seen = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool seen = !inputs[i].oversized && decoded[i].ok() && (*stored_seen)[next_seen++];
    if (verdicts != nullptr) {
      verdicts->emplace_back();
      verdicts_ = verdicts;
      deciding_ = &inputs[i];
    }
    HandleRaw(inputs[i], decoded[i], seen, source_name);
    verdicts_ = nullptr;
    deciding_ = nullptr;
    if (!writer_.error().ok()) break;
    scheduler_.InputHandled(inputs[i].lane);
  }
  scheduler_.EndBatch();
  if (options_.event_time_clock && writer_.error().ok()) AdvanceByLanes();
  return Commit(positions);
}

Status Engine::AdvanceClock(Timestamp t) {
  writer_.Begin();
  scheduler_.clock().AdvanceTo(t);
  FireDue(std::min(t, now()));
  return Commit({});
}

Status Engine::PublishOutbox(Sink& sink, Source* source, std::chrono::milliseconds wait) {
  Status s = publisher_.Publish(sink, source, wait);
  stats_.published = publisher_.published();
  return s;
}

Status Engine::FlushOutbox(Sink& sink, Source* source, std::chrono::milliseconds timeout,
                           const std::function<bool()>& stop) {
  Status s = publisher_.Flush(sink, source, timeout, stop);
  stats_.published = publisher_.published();
  return s;
}

Status Engine::Settle(Source& source, Sink* sink, const std::vector<RawInput>& pending,
                      const Positions& positions, std::chrono::milliseconds timeout) {
  const bool from_poll = phase_ == RunPhase::kPolling && running_ == &source;
  if (phase_ != RunPhase::kOutside && !from_poll) {
    return Status::Internal(
        "Engine::Settle called during Run but not from inside the polled source's Poll");
  }
  // From inside Poll the lanes may have changed in that Poll.
  RETURN_IF_ERROR(scheduler_.Follow(source));
  std::vector<uint32_t> busy;
  source.BusyLanes(&busy);
  Status processed;
  if (!pending.empty() || !positions.empty())
    processed = ProcessBatch(pending, source.name(), positions, busy);
  if (!from_poll) scheduler_.Unfollow();
  RETURN_IF_ERROR(processed);
  if (sink == nullptr) {
    publisher_.ReleaseWithoutSink(source);
    return Status::OK();
  }
  return FlushOutbox(*sink, &source, timeout);
}

Status Engine::Backpressure(Source& source, const Sink* sink, bool* paused) {
  bool over = sink != nullptr && publisher_.backlog() >= options_.outbox_bound;
  if (over == *paused) return Status::OK();
  if (over)
    spdlog::warn("outbox over its bound ({} entries): input paused", publisher_.backlog());
  else
    spdlog::info("outbox below its bound again: input resumed");
  RETURN_IF_ERROR(source.Pause(over));
  *paused = over;
  return Status::OK();
}

Status Engine::PublishAfterBatch(Source& source, Sink* sink) {
  if (sink == nullptr) {
    publisher_.ReleaseWithoutSink(source);
    return Status::OK();
  }
  auto start = std::chrono::steady_clock::now();
  Status published = PublishOutbox(*sink, &source);
  stats_.publish_us += MicrosSince(start);
  return published;
}

Status Engine::Run(Source& source, Sink* sink, const RunOptions& options) {
  auto stopped = [&] { return options.stop && options.stop(); };
  // What an earlier run committed but did not get to publish goes out first, before the source
  // starts: a source may then take every stored position as delivered (the Kafka source commits
  // stored positions ahead of its group's offsets on assignment).
  if (sink != nullptr) {
    Status flushed = FlushOutbox(*sink, &source, std::chrono::hours(24 * 365), options.stop);
    if (!flushed.ok() && !stopped()) return flushed;
    if (stopped()) return Status::OK();
  }
  RETURN_IF_ERROR(source.Start([this](const std::string& key) { return store_.GetPosition(key); }));
  // The source's lanes decide whose timers fire here while it runs (see Source::OwnsLane).
  RunScope scope(*this, source);
  RETURN_IF_ERROR(scheduler_.Follow(source));
  std::vector<RawInput> inputs;
  std::vector<uint32_t> busy;
  std::vector<InputVerdict> verdicts;
  Positions positions;
  bool paused = false;
  for (uint64_t n = 0; n < options.max_batches;) {
    if (stopped()) break;
    RETURN_IF_ERROR(Backpressure(source, sink, &paused));
    inputs.clear();
    auto start = std::chrono::steady_clock::now();
    phase_ = RunPhase::kPolling;  // the source may call Settle from inside Poll
    Result<size_t> got = source.Poll(options.batch_size, options.poll_wait, &inputs);
    phase_ = RunPhase::kBusy;
    RETURN_IF_ERROR(got.status());
    stats_.poll_us += MicrosSince(start);
    RETURN_IF_ERROR(scheduler_.Follow(source));
    source.BusyLanes(&busy);
    positions.clear();
    if (*got > 0) source.PositionsAfterPoll(&positions);
    start = std::chrono::steady_clock::now();
    uint64_t commit_before = stats_.commit_us;
    const bool wants_verdicts = source.WantsVerdicts();
    RETURN_IF_ERROR(
        ProcessBatch(inputs, source.name(), positions, busy, wants_verdicts ? &verdicts : nullptr));
    stats_.process_us += MicrosSince(start) - (stats_.commit_us - commit_before);
    if (wants_verdicts) source.Decided(verdicts);
    if (*got > 0) ++n;
    RETURN_IF_ERROR(PublishAfterBatch(source, sink));
    // After idle polls too: acknowledgements arrive while no input does, and a monitor fed from
    // here would otherwise show a stale backlog until the next input.
    if (options.progress) options.progress(stats_);
    if (*got == 0 && options.until_caught_up && (source.AtEnd() || source.CaughtUp()) && !paused) {
      if (sink == nullptr) break;
      start = std::chrono::steady_clock::now();
      Status flushed = FlushOutbox(*sink, &source, std::chrono::hours(24 * 365), options.stop);
      stats_.publish_us += MicrosSince(start);
      if (flushed.ok() || stopped()) break;
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
