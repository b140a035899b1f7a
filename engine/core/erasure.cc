// Erasure of a case's personal data (crypto-shredding) and retention periods: the parts of the
// engine loop that handle them (engine.h). docs/data-protection.md describes the whole.
//
// Order, so that a crash anywhere leaves a case either untouched or erased for good:
//   1. the batch commits case.erased, the state folded from the erased events (its snapshot in
//      the clear: nothing personal is left in it), the notices, the removal of waiting outbox
//      entries and a pending mark (store::Batch::erasures) atomically;
//   2. the key store destroys the key with an erasure record (crypto::KeyStore::Destroy);
//   3. the store purges dead letters and old versions (store::Store::PurgeErased) and clears the
//      mark.
// A crash before 1 leaves the case as it was; after 1, Open finishes 2 and 3 (both idempotent).
// Between 1 and 2 readers already see the case erased: its state and snapshot are the erased
// fold, and readers look at case.erased, not at the key.
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "engine/core/case_index.h"
#include "engine/core/engine.h"
#include "engine/runtime/personal.h"

namespace amtsweg::core {

namespace {

// The organisations that received personal data of the case: told or asked with fields or
// content (their disclosures are recorded: notification.disclosed, task.requested).
void AddRecipient(const runtime::DomainEvent& e, std::set<std::string>* out) {
  if (const auto* d = e.As<runtime::NotificationDisclosed>()) {
    if (!d->organisation.empty() &&
        (!d->fields.empty() || d->content.has_value() || d->reply_reference.has_value()))
      out->insert(d->organisation);
  } else if (const auto* t = e.As<runtime::TaskRequested>()) {
    if (!t->organisation.empty() && (!t->fields.empty() || t->content.has_value()))
      out->insert(t->organisation);
  }
}

std::string DataString(const Value& data, std::string_view key) {
  const Value* v = data.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

}  // namespace

Engine::Outcome Engine::HandleErasure(const runtime::InputEvent& in, const RawInput* raw,
                                      const std::string& source_name, bool replay,
                                      const crypto::Erasure* restored) {
  auto refuse = [&](std::string_view kind, const std::string& reason) {
    if (raw != nullptr) {
      DeadLetter(*raw, source_name, kind, reason);
    } else {
      spdlog::warn("retention of case {} not applied: {}: {}", in.subject, kind, reason);
    }
    return Outcome::kRefused;
  };
  const bool retention = raw == nullptr && restored == nullptr;
  if (raw != nullptr && in.admin.empty()) {
    return refuse("forbidden",
                  "only an administrator may erase a case (amtsweg case erase, or the admin "
                  "API's POST /api/v1/admin/cases/{id}/erasure); this came through " +
                      (raw->channel.empty() ? std::string("a shared channel") : raw->channel));
  }
  if (options_.keys == nullptr) {
    return refuse("not-encrypted",
                  "this engine runs without a key store, so personal data cannot be erased");
  }
  bool found = false;
  BatchWriter::WorkingCase* work = writer_.Working(in.subject, &found);
  if (work == nullptr) return Outcome::kFailed;
  if (!found) return refuse("unknown-case", "no case '" + in.subject + "'");
  runtime::CaseState& state = work->state;
  if (state.erased()) return Outcome::kIgnored;  // erased before: nothing more to do
  if (work->sealer == nullptr && restored == nullptr) {
    // Its values were stored as they are (before encryption, or with --no-encryption): there is
    // no key whose destruction would erase them.
    return refuse("not-encrypted", "case '" + in.subject +
                                       "' was stored without a data key, so its personal data "
                                       "cannot be erased by destroying one");
  }
  if (state.open()) {
    return refuse("open-case", "case '" + in.subject + "' is open (state " + state.state +
                                   "): its data is needed for the procedure; it can be erased "
                                   "once closed (decided or withdrawn)");
  }
  const dsl::Definition* def = runtime_.DefinitionOf(state);
  runtime::CaseErased erased;
  if (restored != nullptr) {
    erased.by = restored->by;
    erased.reason = restored->reason + " (recorded again: the key store erased the case at " +
                    FormatTimestamp(restored->at) +
                    ", after the backup this store was restored from)";
    erased.basis = restored->basis;
  } else if (retention) {
    if (def == nullptr || !def->retention.has_value()) {
      return refuse("no-retention", "workflow " + state.workflow + " version " +
                                        std::to_string(state.version) +
                                        " declares no retention period");
    }
    erased.by = "retention";
    erased.reason = "retention period " + def->retention->period_text + " after " +
                    def->retention->after + " ended";
    erased.basis = def->retention->basis;
  } else {
    erased.by = in.admin;
    erased.reason = DataString(in.data, "reason");
    erased.basis = DataString(in.data, "basis");
    if (erased.reason.empty() || erased.basis.empty()) {
      return refuse("malformed",
                    "an erasure needs data.reason (why) and data.basis (the legal basis, e.g. "
                    "\"Art. 17(1)(a) DSGVO\")");
    }
  }

  // The state as the erased events give it: folded from the log (and this batch's events of the
  // case) read without the key, so that it equals what a replay shows from now on.
  std::vector<std::string> encoded;
  Status read = store_.ScanEvents(in.subject, 1, UINT64_MAX, [&](const store::EventRecord& r) {
    encoded.push_back(r.payload);
    return true;
  });
  if (!read.ok()) {
    writer_.Fail(read.WithContext("erasing case " + in.subject));
    return Outcome::kFailed;
  }
  encoded.insert(encoded.end(), work->events.begin(), work->events.end());
  runtime::CaseState fold;
  std::set<std::string> recipients;
  for (const std::string& bytes : encoded) {
    Result<runtime::DomainEvent> e = runtime::DecodeEvent(bytes);
    Status applied = e.ok() ? runtime::UnsealEvent(in.subject, nullptr, &*e) : e.status();
    if (applied.ok()) applied = runtime::Apply(&fold, *e);
    if (!applied.ok()) {
      writer_.Fail(applied.WithContext("erasing case " + in.subject));
      return Outcome::kFailed;
    }
    AddRecipient(*e, &recipients);
  }
  if (fold.seq != state.seq) {
    writer_.Fail(Status::Internal("erasing case " + in.subject + ": the log ends at seq " +
                                  std::to_string(fold.seq) + ", the state at " +
                                  std::to_string(state.seq)));
    return Outcome::kFailed;
  }
  erased.notified.assign(recipients.begin(), recipients.end());
  runtime::DomainEvent e = runtime::MakeEvent(state.seq + 1, std::max(in.time, state.updated_at),
                                              in.id, std::move(erased));
  if (Status applied = runtime::Apply(&fold, e); !applied.ok()) {
    writer_.Fail(applied.WithContext("erasing case " + in.subject));
    return Outcome::kFailed;
  }
  state = std::move(fold);
  work->sealer = nullptr;  // the key goes with the batch; what follows is stored in the clear
  runtime::EncodeEvent(e, &work->events.emplace_back());
  writer_.MarkErased(in.subject);
  if (!replay) {
    for (const std::string& org : e.As<runtime::CaseErased>()->notified)
      writer_.AddErasureNotice(state, e, org);
    if (!options_.audit_destination.empty()) writer_.AddAuditReference(in.subject, e.seq, e.seq);
  }
  writer_.counts().domain_events++;
  // A retention timer still armed finds the case erased and does nothing.
  return Outcome::kAccepted;
}

Status Engine::ReapplyErasures() {
  std::vector<crypto::Erasure> missing;
  Status failed;
  RETURN_IF_ERROR(options_.keys->store().ScanErasures([&](const crypto::Erasure& r) {
    Result<std::optional<runtime::CaseState>> s =
        LoadCaseState(store_, r.case_id, /*with_application=*/false,
                      static_cast<const runtime::Sealer*>(nullptr));
    if (!s.ok()) {
      failed = s.status();
      return false;
    }
    if (s->has_value() && !(*s)->erased()) missing.push_back(r);
    return true;
  }));
  RETURN_IF_ERROR(failed);
  if (missing.empty()) return Status::OK();
  spdlog::warn("{} case(s) were erased after the state of this store: recording case.erased again",
               missing.size());
  writer_.Begin();
  for (const crypto::Erasure& r : missing) {
    runtime::InputEvent in;
    in.id = "erasure-register:" + r.case_id;
    in.source = "amtsweg:key-store";
    in.type = runtime::input_type::kErasureRequested;
    in.subject = r.case_id;
    in.time = std::max(now(), r.at);
    // Replay: the recipients were told when the case was erased.
    HandleErasure(in, nullptr, "amtsweg:key-store", /*replay=*/true, &r);
  }
  return Commit({});
}

void Engine::ArmRetention(const runtime::CaseState& state, const runtime::StepResult& step) {
  const dsl::Definition* def = runtime_.DefinitionOf(state);
  if (def == nullptr || !def->retention.has_value() || state.erased()) return;
  const dsl::Retention& r = *def->retention;
  for (const runtime::DomainEvent& e : step.events) {
    if (runtime::DomainTypeName(e.type) != r.after) continue;
    // A second such event arms a second timer; the first to expire erases the case, and the
    // later one then finds it erased.
    TimerKey key(AddDuration(e.time, r.period), state.id, std::string(kRetentionTimer));
    scheduler_.Arm(key, &writer_.timer_changes());
    return;
  }
}

Status Engine::FinishErasures(const std::vector<std::string>& case_ids) {
  if (options_.keys == nullptr) {
    return Status::InvalidArgument("erasures are pending but no key store is configured");
  }
  auto micros_since = [](std::chrono::steady_clock::time_point start) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<crypto::Erasure> records;
  records.reserve(case_ids.size());
  for (const std::string& id : case_ids) {
    crypto::Erasure r;
    r.case_id = id;
    RETURN_IF_ERROR(store_.ScanEvents(id, 1, UINT64_MAX, [&](const store::EventRecord& rec) {
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(rec.payload);
      if (e.ok()) {
        if (const auto* d = e->As<runtime::CaseErased>()) {
          r.at = e->time;
          r.by = d->by;
          r.reason = d->reason;
          r.basis = d->basis;
        }
      }
      return true;
    }));
    records.push_back(std::move(r));
  }
  Status destroyed = options_.keys->store().Destroy(records);
  stats_.erase_keys_us += micros_since(start);
  RETURN_IF_ERROR(destroyed);
  start = std::chrono::steady_clock::now();
  std::set<std::string, std::less<>> ids(case_ids.begin(), case_ids.end());
  // A dead letter names its case in its subject: it holds the refused input as received.
  auto of_erased_case = [&ids](const store::DeadLetter& d) {
    Result<Value> v = Value::ParseJson(d.raw);
    return v.ok() && ids.count((*v)["subject"].as_string()) > 0;
  };
  Status purged = store_.PurgeErased(case_ids, of_erased_case);
  stats_.erase_purge_us += micros_since(start);
  RETURN_IF_ERROR(purged);
  stats_.cases_erased += case_ids.size();
  return Status::OK();
}

}  // namespace amtsweg::core
