#include "engine/core/case_query.h"

#include <algorithm>

#include "engine/core/case_index.h"
#include "engine/runtime/projection.h"

namespace amtsweg::core {

namespace {

std::string CaseIdOfIndexKey(std::string_view key) {
  size_t nul = key.find('\0');
  return std::string(nul == std::string_view::npos ? key : key.substr(nul + 1));
}

bool Matches(const runtime::CaseState& s, const CaseFilter& f) {
  if (!f.workflow.empty() && s.workflow != f.workflow) return false;
  if (!f.state.empty() && s.state != f.state) return false;
  if (!f.outcome.empty() && (s.outcome.empty() ? "open" : s.outcome) != f.outcome) return false;
  if (!f.participant.empty() &&
      std::none_of(s.participants.begin(), s.participants.end(),
                   [&](const runtime::Participant& p) { return p.organisation == f.participant; }))
    return false;
  if (f.opened_from.has_value() && s.opened_at < *f.opened_from) return false;
  if (f.opened_to.has_value() && s.opened_at >= *f.opened_to) return false;
  if (f.deadline_before.has_value() &&
      std::none_of(s.deadlines.begin(), s.deadlines.end(), [&](const runtime::DeadlineState& d) {
        return d.active() && d.due < *f.deadline_before;
      }))
    return false;
  return true;
}

}  // namespace

Result<CasePage> ListCases(const store::Store& store, const CaseFilter& filter) {
  std::vector<std::string> ids;
  auto collect = [&](std::string_view key) {
    std::string id = CaseIdOfIndexKey(key);
    if (id > filter.after) ids.push_back(std::move(id));
    return true;
  };
  Status scan;
  if (!filter.participant.empty()) {
    scan = store.ScanIndex(index_key::ParticipantPrefix(filter.participant), collect);
  } else if (!filter.state.empty()) {
    scan = store.ScanIndex(index_key::StatePrefix(filter.state), collect);
  } else if (!filter.workflow.empty()) {
    scan = store.ScanIndex(index_key::WorkflowPrefix(filter.workflow), collect);
  } else if (!filter.outcome.empty()) {
    scan = store.ScanIndex(index_key::OutcomePrefix(filter.outcome), collect);
  } else {
    scan = store.ScanCases([&](std::string_view id, const store::CaseRecord&) {
      if (id > filter.after) ids.emplace_back(id);
      return true;
    });
  }
  RETURN_IF_ERROR(scan);
  CasePage page;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<runtime::CaseState> s,
                     LoadCaseState(store, id, /*with_application=*/false));
    if (!s.has_value() || !Matches(*s, filter)) continue;
    if (page.cases.size() == filter.limit) {
      page.next_cursor = page.cases.back().id;
      break;
    }
    page.cases.push_back(std::move(*s));
  }
  return page;
}

namespace {

// Decodes a stored event and opens its sealed values with the case's key: with `keys`, a case
// without a key reads as erased; without `keys`, sealed values stay null (and named "sealed").
Result<runtime::DomainEvent> ReadEvent(const store::EventRecord& r, const std::string& case_id,
                                       const CaseKeys* keys, const runtime::Sealer* sealer) {
  Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
  if (!e.ok()) return e.status().WithContext("case " + case_id + " event " + std::to_string(r.seq));
  if (keys != nullptr) RETURN_IF_ERROR(runtime::UnsealEvent(case_id, sealer, &*e));
  return e;
}

Result<SealerRef> SealerFor(const CaseKeys* keys, const std::string& case_id) {
  if (keys == nullptr) return SealerRef();
  return keys->SealerOf(case_id);
}

}  // namespace

Result<std::vector<HistoryEntry>> ReadHistory(const store::Store& store, const std::string& case_id,
                                              const CaseKeys* keys) {
  ASSIGN_OR_RETURN(std::optional<store::CaseRecord> rec, store.GetCase(case_id));
  if (!rec.has_value()) return Status::NotFound("no case '" + case_id + "'");
  ASSIGN_OR_RETURN(SealerRef sealer, SealerFor(keys, case_id));
  std::vector<HistoryEntry> out;
  Status decode_error;
  RETURN_IF_ERROR(store.ScanEvents(case_id, 1, UINT64_MAX, [&](const store::EventRecord& r) {
    Result<runtime::DomainEvent> e = ReadEvent(r, case_id, keys, sealer.get());
    if (!e.ok()) {
      decode_error = e.status();
      return false;
    }
    out.push_back({std::move(e).value(), r.hash});
    return true;
  }));
  RETURN_IF_ERROR(decode_error);
  return out;
}

Result<Replay> ReplayCase(const store::Store& store, const std::string& case_id, uint64_t upto_seq,
                          Timestamp as_of, const CaseKeys* keys) {
  ASSIGN_OR_RETURN(std::optional<store::CaseRecord> rec, store.GetCase(case_id));
  if (!rec.has_value()) return Status::NotFound("no case '" + case_id + "'");
  ASSIGN_OR_RETURN(SealerRef sealer, SealerFor(keys, case_id));
  Replay out;
  out.last_seq = rec->last_seq;
  Status error;
  RETURN_IF_ERROR(store.ScanEvents(case_id, 1, upto_seq, [&](const store::EventRecord& r) {
    Result<runtime::DomainEvent> e = ReadEvent(r, case_id, keys, sealer.get());
    if (!e.ok()) {
      error = e.status();
      return false;
    }
    if (e->time > as_of) return false;
    error = runtime::Apply(&out.state, *e);
    ++out.applied;
    return error.ok();
  }));
  RETURN_IF_ERROR(error);
  if (out.applied == 0) {
    return Status::NotFound("case '" + case_id + "' has no events up to the given point");
  }
  return out;
}

Result<Verification> VerifyCase(const store::Store& store, const std::string& case_id,
                                const CaseKeys* keys) {
  ASSIGN_OR_RETURN(std::optional<store::CaseRecord> rec, store.GetCase(case_id));
  if (!rec.has_value()) return Status::NotFound("no case '" + case_id + "'");
  Verification v;
  v.events = rec->last_seq;
  Status chain = store.VerifyChain(case_id);
  v.chain_intact = chain.ok();
  if (!chain.ok()) {
    if (!chain.IsCorruption()) return chain;
    v.chain_error = chain.message();
  }
  Result<Replay> replay =
      ReplayCase(store, case_id, UINT64_MAX, std::numeric_limits<Timestamp>::max(), keys);
  if (!replay.ok()) {
    // A log that does not replay is a finding, like a broken chain.
    if (!replay.status().IsCorruption() && !replay.status().IsNotFound()) return replay.status();
    if (v.chain_error.empty()) v.chain_error = replay.status().message();
    return v;
  }
  ASSIGN_OR_RETURN(std::optional<runtime::CaseState> snap,
                   LoadCaseState(store, case_id, /*with_application=*/true, keys));
  v.snapshot_matches = snap.has_value() && replay->state.seq == replay->last_seq &&
                       runtime::StateToValue(*snap) == runtime::StateToValue(replay->state);
  return v;
}

std::vector<std::string> DisclosedPaths(const std::vector<HistoryEntry>& history,
                                        const std::string& organisation, uint64_t upto_seq) {
  std::vector<std::string> out;
  for (const HistoryEntry& h : history) {
    const runtime::DomainEvent& e = h.event;
    if (e.seq > upto_seq) break;
    if (!runtime::IsDisclosure(e) || runtime::RecipientOf(e) != organisation) continue;
    const std::vector<std::string>& fields = runtime::DisclosedFieldsOf(e);
    out.insert(out.end(), fields.begin(), fields.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Value FullCaseView(const runtime::CaseState& s) {
  return runtime::StateToValue(s);
}

Value FullEventView(const HistoryEntry& e) {
  std::vector<Member> members = runtime::EventToValue(e.event).members();
  members.emplace_back("hash", ToHex(e.hash));
  return Value::Object(std::move(members));
}

std::string DeadLetterKind(const store::DeadLetter& d) {
  if (!d.kind.empty()) return d.kind;
  return d.reason.substr(0, d.reason.find(':'));
}

Value DeadLetterView(const store::DeadLetter& d) {
  ObjectBuilder view;
  view.Add("seq", static_cast<int64_t>(d.seq))
      .Add("at", FormatTimestamp(d.at))
      .Add("source", d.source)
      .Add("position", d.position)
      .Add("kind", DeadLetterKind(d))
      .Add("reason", d.reason)
      .Add("raw", d.raw);
  if (!d.headers.empty()) {
    std::vector<Value> headers;
    headers.reserve(d.headers.size());
    for (const auto& [name, value] : d.headers)
      headers.push_back(ObjectBuilder(2).Add("name", name).Add("value", value).Build());
    view.Add("headers", Value::Array(std::move(headers)));
  }
  return view.Build();
}

Value ParticipantCaseView(const runtime::CaseState& s, const std::string& organisation,
                          const std::vector<std::string>& disclosed) {
  const Value full = runtime::StateToValue(s);
  auto own = [&](const Value& entry) { return entry["organisation"].as_string() == organisation; };
  std::vector<Member> out;
  for (const Member& m : full.members()) {
    if (m.first == "variables") continue;
    if (m.first == "participants") {
      std::vector<Value> mine;
      for (const Value& p : m.second.items())
        if (own(p)) mine.push_back(p);
      out.emplace_back(m.first, Value::Array(std::move(mine)));
    } else if (m.first == "tasks") {
      std::vector<Value> tasks;
      for (const Value& t : m.second.items()) {
        std::vector<Value> roles;
        for (const Value& r : t["roles"].items())
          if (own(r)) roles.push_back(r);
        if (roles.empty()) continue;
        std::vector<Member> task;
        for (const Member& tm : t.members())
          task.emplace_back(tm.first, tm.first == "roles" ? Value::Array(roles) : tm.second);
        tasks.push_back(Value::Object(std::move(task)));
      }
      out.emplace_back(m.first, Value::Array(std::move(tasks)));
    } else if (m.first == "application") {
      out.emplace_back(m.first, runtime::ProjectFields(s.application, disclosed));
    } else {
      out.push_back(m);
    }
  }
  return Value::Object(std::move(out));
}

std::optional<Value> ParticipantEventView(const runtime::DomainEvent& e,
                                          const runtime::CaseState& s,
                                          const std::string& organisation) {
  namespace rt = runtime;
  using Opened = rt::CaseOpened;
  struct Visible {
    const rt::DomainEvent& e;
    const rt::CaseState& s;
    const std::string& organisation;
    // nullopt: the organisation sees nothing of the event.
    std::optional<Value> operator()(const Opened& d) const {
      return ObjectBuilder(4)
          .Add(std::string(rt::KeyOf<&Opened::case_id>()), d.case_id)
          .Add(std::string(rt::KeyOf<&Opened::workflow>()), d.workflow)
          .Add(std::string(rt::KeyOf<&Opened::version>()), d.version)
          .Add(std::string(rt::KeyOf<&Opened::leika>()), d.leika)
          .Build();
    }
    std::optional<Value> operator()(const rt::ParticipantResolved& d) const {
      return Own(d.organisation);
    }
    std::optional<Value> operator()(const rt::ResponseRecorded& d) const {
      return Own(d.organisation);
    }
    std::optional<Value> operator()(const rt::NotificationDisclosed& d) const {
      return Disclosure(d.organisation);
    }
    std::optional<Value> operator()(const rt::TaskRequested& d) const {
      return Disclosure(d.organisation);
    }
    std::optional<Value> operator()(const rt::InputRejected& d) const { return Own(d.participant); }
    // Nobody was told of these: a variable is the authority's, an undeliverable message its
    // to-do.
    std::optional<Value> operator()(const rt::VariableSet&) const { return std::nullopt; }
    std::optional<Value> operator()(const rt::NotificationUndeliverable&) const {
      return std::nullopt;
    }
    std::optional<Value> operator()(const rt::TaskCompleted& d) const {
      const rt::TaskState* task = s.FindTask(d.task);
      if (task == nullptr || task->FindOrganisation(organisation) == nullptr) return std::nullopt;
      return All();
    }
    // The procedure: everybody taking part may see it.
    std::optional<Value> operator()(const rt::StateEntered&) const { return All(); }
    std::optional<Value> operator()(const rt::DeadlineStarted&) const { return All(); }
    std::optional<Value> operator()(const rt::DeadlineExtended&) const { return All(); }
    std::optional<Value> operator()(const rt::DeadlineExpired&) const { return All(); }
    std::optional<Value> operator()(const rt::DeadlineCancelled&) const { return All(); }
    std::optional<Value> operator()(const rt::CertificateIssued&) const { return All(); }
    std::optional<Value> operator()(const rt::CaseClosed&) const { return All(); }
    std::optional<Value> operator()(const rt::CaseErased&) const { return All(); }
    // The procedure's version, state and deadlines; not who migrated it and why (the
    // authorities' administration), nor the tasks (some are other organisations').
    std::optional<Value> operator()(const rt::CaseMigrated& d) const {
      using M = rt::CaseMigrated;
      return ObjectBuilder(8)
          .Add(std::string(rt::KeyOf<&M::workflow>()), d.workflow)
          .Add(std::string(rt::KeyOf<&M::from_version>()), d.from_version)
          .Add(std::string(rt::KeyOf<&M::to_version>()), d.to_version)
          .Add(std::string(rt::KeyOf<&M::from_state>()), d.from_state)
          .Add(std::string(rt::KeyOf<&M::to_state>()), d.to_state)
          .Add(std::string(rt::KeyOf<&M::deadlines_kept>()),
               Value::Array({d.deadlines_kept.begin(), d.deadlines_kept.end()}))
          .Add(std::string(rt::KeyOf<&M::deadlines_renamed>()), d.deadlines_renamed)
          .Add(std::string(rt::KeyOf<&M::deadlines_cancelled>()),
               Value::Array({d.deadlines_cancelled.begin(), d.deadlines_cancelled.end()}))
          .Build();
    }

    Value All() const { return rt::DataToValue(e.data); }
    std::optional<Value> Own(const std::string& addressed_to) const {
      if (addressed_to != organisation) return std::nullopt;
      return All();
    }
    // The disclosed values instead of the paths (projection.h).
    std::optional<Value> Disclosure(const std::string& addressed_to) const {
      if (addressed_to != organisation) return std::nullopt;
      return rt::RecipientView(s.application, e);
    }
  };
  std::optional<Value> data = std::visit(Visible{e, s, organisation}, e.data);
  if (!data.has_value()) return std::nullopt;
  return runtime::EventToValue(e, std::move(*data));
}

}  // namespace amtsweg::core
