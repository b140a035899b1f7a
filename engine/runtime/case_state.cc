#include "engine/runtime/case_state.h"

#include <algorithm>
#include <tuple>

namespace amtsweg::runtime {

namespace {

Status Malformed(const DomainEvent& e, std::string_view what) {
  return Status::Corruption("event " + std::to_string(e.seq) + " (" +
                            std::string(DomainTypeName(e.type)) + "): " + std::string(what));
}

const std::string& Str(const Value& data, std::string_view key) {
  return data[key].as_string();
}

// A recorded time; 0 when it is not one (as every reader of the events has always taken it).
Timestamp TimeOf(std::string_view text) {
  Result<Timestamp> t = ParseTimestamp(text);
  return t.ok() ? *t : 0;
}

Timestamp TimeField(const Value& data, std::string_view key) {
  return TimeOf(data[key].as_string());
}

Value WithMember(const Value& object, const std::string& key, Value value) {
  std::vector<Member> members = object.members();
  for (Member& m : members) {
    if (m.first == key) {
      m.second = std::move(value);
      return Value::Object(std::move(members));
    }
  }
  members.emplace_back(key, std::move(value));
  return Value::Object(std::move(members));
}

}  // namespace

int TaskState::responses() const {
  return static_cast<int>(
      std::count_if(roles.begin(), roles.end(), [](const TaskRole& r) { return r.responded; }));
}

TaskRole* TaskState::FindRole(std::string_view role) {
  for (TaskRole& r : roles) {
    if (r.role == role) return &r;
  }
  return nullptr;
}

const TaskRole* TaskState::FindOrganisation(std::string_view organisation) const {
  for (const TaskRole& r : roles) {
    if (r.organisation == organisation) return &r;
  }
  return nullptr;
}

const std::string* CaseState::OrganisationOf(std::string_view role) const {
  for (const Participant& p : participants) {
    if (p.role == role) return &p.organisation;
  }
  return nullptr;
}

std::vector<std::string> CaseState::RolesOf(std::string_view organisation) const {
  std::vector<std::string> roles;
  for (const Participant& p : participants) {
    if (p.organisation == organisation) roles.push_back(p.role);
  }
  return roles;
}

TaskState* CaseState::FindTask(std::string_view name) {
  for (TaskState& t : tasks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}
const TaskState* CaseState::FindTask(std::string_view name) const {
  return const_cast<CaseState*>(this)->FindTask(name);
}
DeadlineState* CaseState::FindDeadline(std::string_view name) {
  for (DeadlineState& d : deadlines) {
    if (d.name == name) return &d;
  }
  return nullptr;
}
const DeadlineState* CaseState::FindDeadline(std::string_view name) const {
  return const_cast<CaseState*>(this)->FindDeadline(name);
}

bool operator==(const CaseState& a, const CaseState& b) {
  return StateToValue(a) == StateToValue(b);
}

namespace {

Status Fold(CaseState* s, const DomainEvent& e, const CaseOpened& d) {
  if (s->seq != 0) return Malformed(e, "case already opened");
  s->id = d.case_id;
  s->workflow = d.workflow;
  s->version = static_cast<int>(d.version);
  s->leika = d.leika;
  s->application = d.application;
  s->vars = d.variables.is_object() ? d.variables : Value::Object({});
  s->opened_at = e.time;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent&, const ParticipantResolved& d) {
  s->participants.push_back({d.role, d.organisation});
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent&, const StateEntered& d) {
  s->state = d.state;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent&, const VariableSet& d) {
  s->vars = WithMember(s->vars, d.name, d.value);
  return Status::OK();
}

// History only.
Status Fold(CaseState*, const DomainEvent&, const NotificationDisclosed&) {
  return Status::OK();
}
Status Fold(CaseState*, const DomainEvent&, const CertificateIssued&) {
  return Status::OK();
}
Status Fold(CaseState*, const DomainEvent&, const InputRejected&) {
  return Status::OK();
}
Status Fold(CaseState*, const DomainEvent&, const NotificationUndeliverable&) {
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const TaskRequested& d) {
  TaskState* task = s->FindTask(d.task);
  if (task != nullptr && d.new_request) {
    *task = TaskState();
  } else if (task == nullptr) {
    s->tasks.emplace_back();
    task = &s->tasks.back();
  }
  task->name = d.task;
  task->join = d.join;
  task->need = static_cast<int>(d.need);
  task->requested_at = e.time;
  task->roles.push_back({d.role, d.organisation, false, 0, Value()});
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const ResponseRecorded& d) {
  TaskState* task = s->FindTask(d.task);
  if (task == nullptr) return Malformed(e, "unknown task");
  TaskRole* role = task->FindRole(d.role);
  if (role == nullptr) return Malformed(e, "role not on task");
  role->responded = true;
  role->responded_at = e.time;
  role->response = d.response;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const TaskCompleted& d) {
  TaskState* task = s->FindTask(d.task);
  if (task == nullptr) return Malformed(e, "unknown task");
  task->complete = true;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent&, const DeadlineStarted& d) {
  DeadlineState* dl = s->FindDeadline(d.deadline);
  if (dl == nullptr) {
    s->deadlines.emplace_back();
    dl = &s->deadlines.back();
  }
  dl->name = d.deadline;
  dl->status = "active";
  dl->started = TimeOf(d.started);
  dl->due = TimeOf(d.due);
  dl->extensions = 0;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const DeadlineExtended& d) {
  DeadlineState* dl = s->FindDeadline(d.deadline);
  if (dl == nullptr) return Malformed(e, "unknown deadline");
  dl->due = TimeOf(d.due);
  dl->extensions++;
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const DeadlineExpired& d) {
  DeadlineState* dl = s->FindDeadline(d.deadline);
  if (dl == nullptr) return Malformed(e, "unknown deadline");
  dl->status = "expired";
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const DeadlineCancelled& d) {
  DeadlineState* dl = s->FindDeadline(d.deadline);
  if (dl == nullptr) return Malformed(e, "unknown deadline");
  dl->status = "cancelled";
  return Status::OK();
}

// The new name of `name` in a renamed object (old name -> new name), or nullptr.
const std::string* RenamedTo(const Value& renamed, std::string_view name) {
  const Value* to = renamed.is_object() ? renamed.Find(name) : nullptr;
  return to != nullptr && to->is_string() ? &to->as_string() : nullptr;
}

bool Listed(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether something is renamed to `name`.
bool RenamedOnto(const Value& renamed, std::string_view name) {
  if (!renamed.is_object()) return false;
  return std::any_of(renamed.members().begin(), renamed.members().end(), [&](const Member& m) {
    return m.second.is_string() && m.second.as_string() == name;
  });
}

// What a migration applies to: open tasks and running deadlines. A finished task or deadline
// stays as its record, unless one is renamed onto its name (the running one replaces it).
Status Fold(CaseState* s, const DomainEvent& e, const CaseMigrated& d) {
  if (s->workflow != d.workflow || s->version != d.from_version) {
    return Malformed(
        e, "the case is not on " + d.workflow + " version " + std::to_string(d.from_version));
  }
  if (!s->open()) return Malformed(e, "the case is closed");
  // Checked before anything changes: Apply leaves the state as it was when it fails.
  if (!d.tasks_renamed.is_object() || !d.deadlines_renamed.is_object())
    return Malformed(e, "renamed tasks and deadlines must be objects");
  for (const std::string& name : d.tasks_cancelled) {
    if (s->FindTask(name) == nullptr) return Malformed(e, "unknown task '" + name + "'");
  }
  for (const Member& m : d.tasks_renamed.members()) {
    if (s->FindTask(m.first) == nullptr || !m.second.is_string())
      return Malformed(e, "unknown task '" + m.first + "'");
  }
  for (const Member& m : d.deadlines_renamed.members()) {
    const DeadlineState* dl = s->FindDeadline(m.first);
    if (dl == nullptr || !dl->active() || !m.second.is_string())
      return Malformed(e, "no running deadline '" + m.first + "'");
  }
  for (const std::string& name : d.deadlines_cancelled) {
    if (s->FindDeadline(name) == nullptr) return Malformed(e, "unknown deadline '" + name + "'");
  }
  s->version = static_cast<int>(d.to_version);
  s->state = d.to_state;
  std::vector<TaskState> tasks;
  for (TaskState& t : s->tasks) {
    if (t.complete) {
      if (!RenamedOnto(d.tasks_renamed, t.name)) tasks.push_back(std::move(t));
      continue;
    }
    if (Listed(d.tasks_cancelled, t.name)) continue;  // dropped: nobody is asked any more
    if (const std::string* to = RenamedTo(d.tasks_renamed, t.name)) t.name = *to;
    tasks.push_back(std::move(t));
  }
  s->tasks = std::move(tasks);
  std::vector<DeadlineState> deadlines;
  for (DeadlineState& dl : s->deadlines) {
    if (!dl.active()) {
      if (!RenamedOnto(d.deadlines_renamed, dl.name)) deadlines.push_back(std::move(dl));
      continue;
    }
    if (Listed(d.deadlines_cancelled, dl.name)) {
      dl.status = "cancelled";
    } else if (const std::string* to = RenamedTo(d.deadlines_renamed, dl.name)) {
      dl.name = *to;  // keeps its due time
    }
    deadlines.push_back(std::move(dl));
  }
  s->deadlines = std::move(deadlines);
  return Status::OK();
}

Status Fold(CaseState* s, const DomainEvent& e, const CaseClosed& d) {
  s->outcome = d.outcome;
  s->closed_at = e.time;
  return Status::OK();
}

// The personal values themselves are gone with the key: a state folded from the erased events
// holds null in their places (personal.h).
Status Fold(CaseState* s, const DomainEvent& e, const CaseErased&) {
  if (s->open()) return Malformed(e, "the case is open");
  s->erased_at = e.time;
  return Status::OK();
}

}  // namespace

Status Apply(CaseState* s, const DomainEvent& e) {
  if (e.seq != s->seq + 1) {
    return Malformed(e, "expected seq " + std::to_string(s->seq + 1));
  }
  if (e.type != TypeOf(e.data)) {
    return Malformed(e, "its data is of type " + std::string(DomainTypeName(TypeOf(e.data))));
  }
  RETURN_IF_ERROR(std::visit([&](const auto& d) { return Fold(s, e, d); }, e.data));
  s->seq = e.seq;
  s->updated_at = e.time;
  return Status::OK();
}

// Keep in step with the Fold functions above: what each type changes.
void Checkpoint::Save(const CaseState& s, const DomainEvent& e) {
  if (!saved_) {
    saved_ = true;
    opened_ = s.seq == 0;
    seq_ = s.seq;
    updated_at_ = s.updated_at;
    participants_ = s.participants.size();
  }
  if (opened_) return;  // everything goes
  switch (e.type) {
    case DomainType::kStateEntered:
      if (!state_.has_value()) state_ = s.state;
      break;
    case DomainType::kVariableSet:
      if (!vars_.has_value()) vars_ = s.vars;
      break;
    case DomainType::kTaskRequested:
    case DomainType::kResponseRecorded:
    case DomainType::kTaskCompleted:
      if (!tasks_.has_value()) tasks_ = s.tasks;
      break;
    case DomainType::kDeadlineStarted:
    case DomainType::kDeadlineExtended:
    case DomainType::kDeadlineExpired:
    case DomainType::kDeadlineCancelled:
      if (!deadlines_.has_value()) deadlines_ = s.deadlines;
      break;
    case DomainType::kCaseClosed:
      if (!outcome_.has_value()) outcome_.emplace(s.outcome, s.closed_at);
      break;
    case DomainType::kCaseErased:
      if (!erased_at_.has_value()) erased_at_ = s.erased_at;
      break;
    case DomainType::kCaseMigrated:
      if (!version_.has_value()) version_ = s.version;
      if (!state_.has_value()) state_ = s.state;
      if (!tasks_.has_value()) tasks_ = s.tasks;
      if (!deadlines_.has_value()) deadlines_ = s.deadlines;
      break;
    case DomainType::kCaseOpened:           // refused by Apply on an existing case
    case DomainType::kParticipantResolved:  // appends: participants_
    case DomainType::kNotificationDisclosed:
    case DomainType::kCertificateIssued:
    case DomainType::kInputRejected:
    case DomainType::kNotificationUndeliverable:
      break;
  }
}

void Checkpoint::Restore(CaseState* s) {
  if (!saved_) return;
  if (opened_) {
    *s = CaseState();
    return;
  }
  s->seq = seq_;
  s->updated_at = updated_at_;
  s->participants.resize(participants_);
  if (version_.has_value()) s->version = *version_;
  if (state_.has_value()) s->state = std::move(*state_);
  if (outcome_.has_value()) std::tie(s->outcome, s->closed_at) = std::move(*outcome_);
  if (vars_.has_value()) s->vars = std::move(*vars_);
  if (tasks_.has_value()) s->tasks = std::move(*tasks_);
  if (deadlines_.has_value()) s->deadlines = std::move(*deadlines_);
  if (erased_at_.has_value()) s->erased_at = *erased_at_;
  *this = Checkpoint();
}

Value StateToValue(const CaseState& s) {
  std::vector<Value> participants;
  participants.reserve(s.participants.size());
  for (const Participant& p : s.participants) {
    participants.push_back(
        ObjectBuilder().Add("role", p.role).Add("organisation", p.organisation).Build());
  }
  std::vector<Value> tasks;
  for (const TaskState& t : s.tasks) {
    std::vector<Value> roles;
    for (const TaskRole& r : t.roles) {
      ObjectBuilder b;
      b.Add("role", r.role).Add("organisation", r.organisation).Add("responded", r.responded);
      if (r.responded) {
        b.Add("responded_at", FormatTimestamp(r.responded_at)).Add("response", r.response);
      }
      roles.push_back(b.Build());
    }
    tasks.push_back(ObjectBuilder()
                        .Add("task", t.name)
                        .Add("join", t.join)
                        .Add("need", t.need)
                        .Add("complete", t.complete)
                        .Add("requested_at", FormatTimestamp(t.requested_at))
                        .Add("roles", Value::Array(std::move(roles)))
                        .Build());
  }
  std::vector<Value> deadlines;
  for (const DeadlineState& d : s.deadlines) {
    deadlines.push_back(ObjectBuilder()
                            .Add("deadline", d.name)
                            .Add("status", d.status)
                            .Add("started", FormatTimestamp(d.started))
                            .Add("due", FormatTimestamp(d.due))
                            .Add("extensions", d.extensions)
                            .Build());
  }
  ObjectBuilder b;
  b.Add("case", s.id)
      .Add("workflow", s.workflow)
      .Add("version", s.version)
      .Add("leika", s.leika)
      .Add("state", s.state)
      .Add("outcome", s.outcome.empty() ? Value() : Value(s.outcome))
      .Add("opened_at", FormatTimestamp(s.opened_at))
      .Add("updated_at", FormatTimestamp(s.updated_at))
      .Add("closed_at", s.outcome.empty() ? Value() : Value(FormatTimestamp(s.closed_at)))
      .Add("seq", static_cast<int64_t>(s.seq));
  if (s.erased_at != 0) b.Add("erased_at", FormatTimestamp(s.erased_at));
  b.Add("variables", s.vars)
      .Add("participants", Value::Array(std::move(participants)))
      .Add("tasks", Value::Array(std::move(tasks)))
      .Add("deadlines", Value::Array(std::move(deadlines)))
      .Add("application", s.application);
  return b.Build();
}

Result<CaseState> StateFromValue(const Value& v) {
  if (!v.is_object() || !v["case"].is_string()) {
    return Status::Corruption("case snapshot is not a case object");
  }
  CaseState s;
  s.id = Str(v, "case");
  s.workflow = Str(v, "workflow");
  s.version = static_cast<int>(v["version"].as_int());
  s.leika = Str(v, "leika");
  s.state = Str(v, "state");
  s.outcome = Str(v, "outcome");
  s.opened_at = TimeField(v, "opened_at");
  s.updated_at = TimeField(v, "updated_at");
  s.closed_at = s.outcome.empty() ? 0 : TimeField(v, "closed_at");
  if (v.Find("erased_at") != nullptr) s.erased_at = TimeField(v, "erased_at");
  s.seq = static_cast<uint64_t>(v["seq"].as_int());
  s.vars = v["variables"];
  s.application = v["application"];
  for (const Value& p : v["participants"].items()) {
    s.participants.push_back({Str(p, "role"), Str(p, "organisation")});
  }
  for (const Value& t : v["tasks"].items()) {
    TaskState task;
    task.name = Str(t, "task");
    task.join = Str(t, "join");
    task.need = static_cast<int>(t["need"].as_int());
    task.complete = t["complete"].as_bool();
    task.requested_at = TimeField(t, "requested_at");
    for (const Value& r : t["roles"].items()) {
      TaskRole role{Str(r, "role"), Str(r, "organisation"), r["responded"].as_bool(), 0, Value()};
      if (role.responded) {
        role.responded_at = TimeField(r, "responded_at");
        role.response = r["response"];
      }
      task.roles.push_back(std::move(role));
    }
    s.tasks.push_back(std::move(task));
  }
  for (const Value& d : v["deadlines"].items()) {
    s.deadlines.push_back({Str(d, "deadline"), Str(d, "status"), TimeField(d, "started"),
                           TimeField(d, "due"), static_cast<int>(d["extensions"].as_int())});
  }
  return s;
}

std::string EncodeSnapshot(const CaseState& s) {
  return EncodeSnapshot(s, nullptr);
}

std::string EncodeSnapshot(const CaseState& s, std::vector<const Value*>* personal) {
  // The binary of StateToValue(s) without "application", written directly: building the Value
  // tree first cost an allocation per member on every commit. The bytes are identical (a test
  // compares both ways).
  using namespace binary;  // NOLINT(google-build-using-namespace)
  std::string out;
  out.reserve(512);
  auto str = [&out](std::string_view key, std::string_view v) {
    PutKey(key, &out);
    PutString(v, &out);
  };
  auto time = [&out](std::string_view key, Timestamp t) {
    PutKey(key, &out);
    std::string text;
    AppendTimestamp(t, &text);
    PutString(text, &out);
  };
  auto integer = [&out](std::string_view key, int64_t v) {
    PutKey(key, &out);
    PutInt(v, &out);
  };
  PutObjectHeader(s.erased_at != 0 ? 15 : 14, &out);
  str("case", s.id);
  str("workflow", s.workflow);
  integer("version", s.version);
  str("leika", s.leika);
  str("state", s.state);
  if (s.outcome.empty()) {
    PutKey("outcome", &out);
    PutNull(&out);
  } else {
    str("outcome", s.outcome);
  }
  time("opened_at", s.opened_at);
  time("updated_at", s.updated_at);
  if (s.outcome.empty()) {
    PutKey("closed_at", &out);
    PutNull(&out);
  } else {
    time("closed_at", s.closed_at);
  }
  integer("seq", static_cast<int64_t>(s.seq));
  if (s.erased_at != 0) time("erased_at", s.erased_at);
  auto personal_value = [&out, personal](const Value& v) {
    if (personal == nullptr) {
      v.AppendBinary(&out);
    } else {
      PutNull(&out);
      personal->push_back(&v);
    }
  };
  PutKey("variables", &out);
  personal_value(s.vars);
  PutKey("participants", &out);
  PutArrayHeader(s.participants.size(), &out);
  for (const Participant& p : s.participants) {
    PutObjectHeader(2, &out);
    str("role", p.role);
    str("organisation", p.organisation);
  }
  PutKey("tasks", &out);
  PutArrayHeader(s.tasks.size(), &out);
  for (const TaskState& t : s.tasks) {
    PutObjectHeader(6, &out);
    str("task", t.name);
    str("join", t.join);
    integer("need", t.need);
    PutKey("complete", &out);
    PutBool(t.complete, &out);
    time("requested_at", t.requested_at);
    PutKey("roles", &out);
    PutArrayHeader(t.roles.size(), &out);
    for (const TaskRole& r : t.roles) {
      PutObjectHeader(r.responded ? 5 : 3, &out);
      str("role", r.role);
      str("organisation", r.organisation);
      PutKey("responded", &out);
      PutBool(r.responded, &out);
      if (r.responded) {
        time("responded_at", r.responded_at);
        PutKey("response", &out);
        personal_value(r.response);
      }
    }
  }
  PutKey("deadlines", &out);
  PutArrayHeader(s.deadlines.size(), &out);
  for (const DeadlineState& d : s.deadlines) {
    PutObjectHeader(5, &out);
    str("deadline", d.name);
    str("status", d.status);
    time("started", d.started);
    time("due", d.due);
    integer("extensions", d.extensions);
  }
  return out;
}

Result<CaseState> DecodeSnapshot(std::string_view in) {
  Result<Value> v = Value::DecodeBinary(&in);
  if (!v.ok()) return v.status().WithContext("case snapshot");
  return StateFromValue(*v);
}

Status RestoreApplication(CaseState* s, const DomainEvent& opened) {
  const CaseOpened* d = opened.As<CaseOpened>();
  if (d == nullptr || opened.seq != 1) {
    return Status::Corruption("case " + s->id + ": event 1 is not case.opened");
  }
  s->application = d->application;
  return Status::OK();
}

}  // namespace amtsweg::runtime
