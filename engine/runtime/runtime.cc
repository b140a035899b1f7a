#include "engine/runtime/runtime.h"

#include <algorithm>

#include "engine/calendar/period.h"
#include "engine/common/identifiers.h"
#include "engine/dsl/migration.h"

namespace amtsweg::runtime {

namespace {

// A definition bug (an auto transition that always holds, in a cycle) must not hang the engine.
constexpr int kMaxAutoSteps = 64;

bool IsEngineType(std::string_view type) {
  return type == input_type::kApplicationSubmitted || type == input_type::kTaskResponded ||
         type == input_type::kDeadlineExtended || type == input_type::kCertificateRequested ||
         type == input_type::kApplicationWithdrawn || type == input_type::kDocumentsCompleted ||
         type == input_type::kTimerFired || type == input_type::kMigrationRequested;
}

// The problems of a mapping, for a refusal's reason: "a; b; c".
std::string Joined(const std::vector<dsl::MigrationError>& errors) {
  std::string out;
  for (const dsl::MigrationError& e : errors)
    out += (out.empty() ? "" : "; ") + e.message;
  return out;
}

std::string_view JoinName(dsl::JoinKind k) {
  switch (k) {
    case dsl::JoinKind::kAll:
      return "all";
    case dsl::JoinKind::kAny:
      return "any";
    case dsl::JoinKind::kCount:
      return "count";
  }
  return "all";
}

// Why `id` cannot be a new case's id, or empty. A case id is a segment of the API's URL paths
// (/cases/{id}): what a path would split, decode, cut or normalise there is refused, so that
// every case that opens can be read.
std::string BadCaseId(std::string_view id) {
  if (id == "." || id == "..") return "is a relative path segment";
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
    if (c == ' ') return "contains a space";
    if (c == '/' || c == '\\' || c == '%' || c == '?' || c == '#') {
      return std::string("contains '") + c + "'";
    }
  }
  return "";
}

bool JoinMet(const TaskState& t) {
  return t.responses() >= t.need;
}

// The paths of the action's fields that the application has: what a recipient is actually
// told (its view: projection.h). The values are not repeated in the event: the application is
// in case.opened and never changes.
std::vector<std::string> Disclosed(const Value& application, const dsl::Action& a) {
  std::vector<std::string> out;
  out.reserve(a.fields.size());
  for (const std::string& path : a.fields) {
    if (application.FindPath(path) != nullptr) out.push_back(path);
  }
  return out;
}

}  // namespace

// One Handle() call: the input, the case being changed and the events produced so far.
class Runtime::Step {
 public:
  Step(const Runtime& rt, const InputEvent& in, CaseState* s, StepResult* r)
      : rt_(rt), in_(in), s_(s), r_(r), time_(std::max(in.time, s->updated_at)) {}

  void Run();
  // Set when an event built here did not fit the case (Apply failed): the step is then void.
  const Status& failure() const { return failure_; }

 private:
  // `data` is the input's, or the facts of an extension / certificate while their actions run.
  dsl::EvalContext Ctx() const {
    return {data_ != nullptr ? data_ : &in_.data, &s_->vars, &s_->application};
  }
  bool Holds(const dsl::ExprPtr& e) const { return e == nullptr || e->Test(Ctx()); }

  // The portal that submits an application: the one whose `sources` list its source, or else
  // the portal whose own channel it came through (a principal of the portal on the HTTP API, the
  // portal's ingress topic); nullptr when neither.
  const dsl::Organisation* SubmittingPortal() const {
    if (const dsl::Organisation* p = rt_.directory_.PortalForSource(in_.source)) return p;
    if (in_.channel_organisation.empty()) return nullptr;
    const dsl::Organisation* channel = rt_.directory_.Find(in_.channel_organisation);
    return channel != nullptr && channel->kind == "portal" ? channel : nullptr;
  }

  // Records an event: applies it to the case and adds it to the step's events. Events built
  // here always fit the state, so a failure is a bug in this file (or a corrupt state): the step
  // stops emitting, and Handle voids it.
  template <typename T>
  void Emit(T data) {
    if (!failure_.ok()) return;
    // Built in place: events are large, and most steps produce several.
    if (r_->events.capacity() == 0) r_->events.reserve(8);
    DomainEvent& e = r_->events.emplace_back();
    e.seq = s_->seq + 1;
    e.time = time_;
    e.type = T::kType;
    e.cause = in_.id;
    e.data.template emplace<T>(std::move(data));
    if (rt_.fault_ != nullptr) rt_.fault_(&e);
    checkpoint_.Save(*s_, e);
    failure_ = Apply(s_, e);
    if (!failure_.ok()) r_->events.pop_back();
  }
  bool failed() const { return !failure_.ok(); }

  void Reject(std::string kind, std::string reason) {
    if (s_->open()) {
      Emit(InputRejected{.input = in_.id,
                         .input_type = in_.type,
                         .participant = in_.participant,
                         .kind = kind,
                         .reason = reason});
    }
    r_->rejection = Rejection{std::move(kind), std::move(reason)};
  }

  void Open();
  // Binds every role; on failure sets the refusal (kind and reason) and returns false.
  bool ResolveRoles(std::vector<Participant>* out, Rejection* error);
  // The refusal kind for an organisation that is not `role` on the case: wrong-role when it
  // takes part in another role, not-a-participant otherwise.
  std::string NotTheRole(std::string_view organisation) const {
    return s_->RolesOf(organisation).empty() ? "not-a-participant" : "wrong-role";
  }
  // Checks a response against its task's declaration (answer value, required members).
  bool CheckAnswer(const dsl::Task& task, std::string* reason) const;
  // The response transition of the current state that handles a response of `role` to
  // `task` now, or nullptr.
  const dsl::Transition* ResponseTransition(std::string_view task, std::string_view role) const;
  void Dispatch();
  void HandleResponse();
  void HandleExtension();
  void HandleCertificate();
  void HandleWithdrawal();
  // Whether the input may withdraw the application (rejects it if not).
  bool MayWithdraw();
  void HandleTimer();
  void HandleEvent();
  // An administrator's migration of the case to another version (docs/workflow-language.md).
  void HandleMigration();

  void RunActions(const std::vector<dsl::Action>& actions);
  // Runs `actions` with `data` as the expressions' data (an extension's or certificate's facts).
  void RunActionsWith(const std::vector<dsl::Action>& actions, const Value& data);
  void RunAction(const dsl::Action& a);
  void Notify(const dsl::Action& a);
  // The action's `content`, evaluated now (nullopt when it has none).
  std::optional<Value> Content(const dsl::Action& a) const;
  void Fire(const dsl::Transition& t);
  void Enter(const std::string& state);
  void CancelDeadlines(std::string_view reason);
  void Settle();
  // When deadline `d` ends if it runs `dur` from `start`, and, for a legal period, the
  // calendar it was computed with: appended to `facts` (the deadline event being built).
  Timestamp DueAfter(const dsl::Deadline& d, Timestamp start, const Duration& dur,
                     std::optional<LegalCalendar>* facts) const;
  // The organisation whose seat's public holidays end `d`'s legal period: the deadline's
  // authority, else the workflow's, else (for a definition not checked against this directory)
  // the first participant with a seat. nullptr when there is none.
  const dsl::Organisation* AuthorityOf(const dsl::Deadline& d) const;

  const Runtime& rt_;
  const InputEvent& in_;
  CaseState* s_;
  StepResult* r_;
  // The step's time: the input's, but never before the case's last event, so that a case's
  // log is ordered in time even when an input arrives late.
  const Timestamp time_;
  const dsl::Definition* def_ = nullptr;
  std::vector<std::string> completed_;  // tasks completed in this step, not yet joined
  const Value* data_ = nullptr;         // see Ctx()
  bool closing_ = false;                // running a terminal state's or a certificate's actions
  Status failure_;                      // see failure()
  Checkpoint checkpoint_;               // what Handle restores when the step fails

  friend class Runtime;
};

void Runtime::Step::Run() {
  if (in_.type == input_type::kMigrationRequested && in_.admin.empty()) {
    // An engine command: only the local command line and the API's admins issue it.
    Reject("forbidden", in_.type +
                            " is an administrator's command; it is taken only from `amtsweg "
                            "migrate` and the API's admins, not from a participant's channel");
    return;
  }
  if (s_->seq == 0) {
    Open();
    return;
  }
  def_ = rt_.DefinitionOf(*s_);
  if (def_ == nullptr) {
    Reject("unknown-workflow", "case '" + s_->id + "' runs on " + s_->workflow + " version " +
                                   std::to_string(s_->version) + ", which is not deployed");
    return;
  }
  if (!rt_.KnownType(in_.type)) {
    Reject("unknown-type",
           "no workflow and no engine function handles event type '" + in_.type + "'");
    return;
  }
  if (!s_->open()) {
    if (in_.type == input_type::kTimerFired) {
      r_->ignored = true;  // a timer left from before the case closed
    } else if (in_.type == input_type::kCertificateRequested) {
      HandleCertificate();
    } else {
      Reject("closed-case", "case '" + s_->id + "' is closed (outcome " + s_->outcome + "); " +
                                in_.type + " is not accepted");
    }
    return;
  }
  Dispatch();
  if (r_->rejection.has_value() || r_->ignored) return;
  Settle();
}

void Runtime::Step::Open() {
  const dsl::Registry& reg = rt_.registry_;
  if (!rt_.KnownType(in_.type)) {
    Reject("unknown-type",
           "no workflow and no engine function handles event type '" + in_.type + "'");
    return;
  }
  bool opens = false;
  for (const dsl::Definition* d : reg.All())
    opens |= d->start.event_type == in_.type;
  if (!opens) {
    Reject("unknown-case", "no case '" + in_.subject + "'; " + in_.type + " does not open one");
    return;
  }
  if (std::string bad = BadCaseId(in_.subject); !bad.empty()) {
    Reject("invalid-application",
           "case id (subject) '" + in_.subject + "' " + bad +
               ": a case id must be usable as a URL path segment (no '/', '\\', '%', '?', "
               "'#', spaces or control characters, not '.' or '..')");
    return;
  }
  const Value* leika = in_.data.Find("leika");
  if (Status st = ids::CheckLeika(leika != nullptr ? *leika : Value(), "data.leika"); !st.ok()) {
    Reject("invalid-application", st.message());
    return;
  }
  def_ = reg.ForLeika(leika->as_string());
  if (def_ == nullptr) {
    Reject("no-workflow", "no workflow is deployed for LeiKa key '" + leika->as_string() + "'");
    return;
  }
  if (def_->start.event_type != in_.type) {
    Reject("unknown-case", "no case '" + in_.subject + "'; workflow " + def_->name +
                               " opens cases on " + def_->start.event_type + ", not " + in_.type);
    return;
  }
  if (const std::vector<std::string>* submitters = rt_.directory_.SubmittersOf(def_->name)) {
    // Only the portals the directory names may open cases of this workflow.
    const dsl::Organisation* portal = SubmittingPortal();
    if (portal == nullptr ||
        std::find(submitters->begin(), submitters->end(), portal->id) == submitters->end()) {
      std::string names;
      for (const std::string& id : *submitters)
        names += (names.empty() ? "'" : ", '") + id + "'";
      Reject("unauthorised-submitter",
             "source '" + in_.source + "'" +
                 (portal != nullptr ? " (portal '" + portal->id + "')" : "") +
                 " may not submit applications of workflow " + def_->name + "; the directory's " +
                 "submitters for it are " + names);
      return;
    }
  }
  std::vector<Member> defaults;
  for (const dsl::Variable& v : def_->variables)
    defaults.emplace_back(v.name, v.initial);
  Value vars = Value::Object(std::move(defaults));

  // Resolve participants before anything is recorded: an application that cannot be routed
  // opens no case.
  CaseState probe;
  probe.vars = vars;
  probe.application = in_.data;
  CaseState* saved = s_;
  s_ = &probe;
  std::vector<Participant> participants;
  Rejection error;
  bool routed = ResolveRoles(&participants, &error);
  s_ = saved;
  if (!routed) {
    Reject(std::move(error.kind), std::move(error.reason));
    return;
  }

  Emit(CaseOpened{.case_id = in_.subject,
                  .workflow = def_->name,
                  .version = def_->version,
                  .leika = def_->leika,
                  .source = in_.source,
                  .application = in_.data,
                  .variables = vars});
  for (Participant& p : participants) {
    const dsl::Organisation* org = rt_.directory_.Find(p.organisation);
    Emit(ParticipantResolved{
        .role = p.role, .organisation = p.organisation, .name = org != nullptr ? org->name : ""});
  }
  RunActions(def_->start.actions);
  Enter(def_->start.state);
  Settle();
}

bool Runtime::Step::ResolveRoles(std::vector<Participant>* out, Rejection* error) {
  // The applicant's reply channel: an optional reference within the portal (its user account,
  // postbox or FIT-Connect reply channel), sent back with every message to the applicant.
  if (const Value* channel = in_.data.Find("reply_channel"); channel != nullptr) {
    const Value* ref = channel->is_object() ? channel->Find("reference") : nullptr;
    if (!channel->is_object() ||
        (ref != nullptr &&
         (!ref->is_string() || ref->as_string().empty() || ref->as_string().size() > 200))) {
      *error = {"invalid-application",
                "data.reply_channel must be an object whose 'reference' (optional) is the "
                "applicant's account or postbox at the submitting portal, 1 to 200 characters"};
      return false;
    }
  }
  for (const dsl::Role& role : def_->roles) {
    if (role.applicant) {
      // Reached through the portal that submitted the application; without one the case still
      // opens, and every message to the applicant records that it could not be sent.
      if (const dsl::Organisation* portal = SubmittingPortal()) {
        out->push_back({role.name, portal->id});
      }
      continue;
    }
    if (!Holds(role.when)) continue;
    for (const dsl::RoleCandidate& c : role.candidates) {
      if (!Holds(c.when)) continue;
      if (!c.organisation.empty()) {
        if (rt_.directory_.Find(c.organisation) == nullptr) {
          *error = {"unroutable", "role '" + role.name + "': organisation '" + c.organisation +
                                      "' is not in the participant directory"};
          return false;
        }
        out->push_back({role.name, c.organisation});
        break;
      }
      Value area = c.area != nullptr ? c.area->Evaluate(Ctx()) : Value();
      Result<std::string> ags =
          ids::MunicipalityKey(area, c.area != nullptr ? c.area->text() : "the area key");
      if (!ags.ok()) {
        *error = {"invalid-application", "role '" + role.name + "': " + ags.status().message()};
        return false;
      }
      const dsl::Organisation* org = rt_.directory_.Responsible(c.function, *ags);
      if (org == nullptr) {
        *error = {"unroutable", "role '" + role.name + "': no organisation with function '" +
                                    c.function + "' covers AGS '" + *ags + "'"};
        return false;
      }
      out->push_back({role.name, org->id});
      break;
    }
  }
  return true;
}

void Runtime::Step::Dispatch() {
  std::string_view type = in_.type;
  if (type == input_type::kTimerFired) {
    HandleTimer();
  } else if (type == input_type::kTaskResponded) {
    HandleResponse();
  } else if (type == input_type::kDeadlineExtended) {
    HandleExtension();
  } else if (type == input_type::kApplicationWithdrawn) {
    HandleWithdrawal();
  } else if (type == input_type::kMigrationRequested) {
    HandleMigration();
  } else if (type == input_type::kCertificateRequested) {
    Reject("no-deemed-approval", "case '" + s_->id + "' is open in state '" + s_->state +
                                     "'; a certificate exists only for a deemed approval");
  } else if (type == def_->start.event_type) {
    Reject("case-exists", "case '" + s_->id + "' already exists");
  } else {
    HandleEvent();
  }
}

void Runtime::Step::HandleEvent() {
  const dsl::State* st = def_->FindState(s_->state);
  std::string mismatch;
  bool type_matched = false;
  for (const dsl::Transition& t : st->transitions) {
    if (t.trigger != dsl::TriggerKind::kEvent || t.event_type != in_.type) continue;
    type_matched = true;
    if (!t.from.empty()) {
      const std::string* org = s_->OrganisationOf(t.from);
      if (org == nullptr || *org != in_.participant) {
        mismatch = "participant '" + in_.participant + "' is not role '" + t.from + "' on case '" +
                   s_->id + "'";
        continue;
      }
    }
    if (!Holds(t.when)) continue;
    Fire(t);
    return;
  }
  if (!mismatch.empty()) {
    Reject(NotTheRole(in_.participant), mismatch);
  } else if (type_matched) {
    Reject("condition-false", "no condition of state '" + s_->state + "' holds for " + in_.type);
  } else {
    Reject("no-transition", "state '" + s_->state + "' of " + def_->name + " v" +
                                std::to_string(def_->version) + " does not accept " + in_.type);
  }
}

void Runtime::Step::HandleResponse() {
  const Value* task_name = in_.data.Find("task");
  if (task_name == nullptr || !task_name->is_string()) {
    Reject("invalid-response", "data.task (the task answered) is missing");
    return;
  }
  TaskState* task = s_->FindTask(task_name->as_string());
  if (task == nullptr) {
    Reject("unknown-task", "no task '" + task_name->as_string() + "' on case '" + s_->id + "'");
    return;
  }
  if (in_.participant.empty()) {
    Reject("invalid-response", "the participant attribute (the answering organisation) is missing");
    return;
  }
  // An organisation may hold several roles in one task (a Kreis as nature conservation and
  // monument authority): data.role says which one answers; without it, the first unanswered.
  const Value* wanted = in_.data.Find("role");
  if (wanted != nullptr && !wanted->is_string()) {
    Reject("invalid-response", "data.role must be the name of a role");
    return;
  }
  TaskRole* role = nullptr;
  bool answered = false;
  for (TaskRole& r : task->roles) {
    if (r.organisation != in_.participant) continue;
    if (wanted != nullptr && r.role != wanted->as_string()) continue;
    if (r.responded) {
      answered = true;
    } else {
      role = &r;
      break;
    }
  }
  if (role == nullptr) {
    if (answered) {
      Reject("duplicate-response", "participant '" + in_.participant +
                                       "' has already answered task '" + task->name + "'");
    } else {
      Reject("not-a-participant",
             "participant '" + in_.participant + "' was not asked for task '" + task->name + "'" +
                 (wanted != nullptr ? " as role '" + wanted->as_string() + "'" : "") +
                 " on case '" + s_->id + "'");
    }
    return;
  }
  // A task that declares its answers takes only those, and only when the current state can act
  // on them: anything else is refused before it is recorded, so the role may still answer
  // properly and the case cannot be wedged by an answer nobody handles.
  const dsl::Transition* handler = ResponseTransition(task->name, role->role);
  if (const dsl::Task* declared = def_->FindTask(task->name); declared != nullptr) {
    std::string reason;
    if (!CheckAnswer(*declared, &reason)) {
      Reject("invalid-answer", reason);
      return;
    }
    bool joins = false;
    for (const dsl::Transition& t : def_->FindState(s_->state)->transitions)
      joins |= t.trigger == dsl::TriggerKind::kJoined && t.task == task->name;
    if (!declared->answer.empty() && handler == nullptr && !joins) {
      const Value* answer = in_.data.Find(declared->answer);
      Reject("unexpected-answer",
             "state '" + s_->state + "' of case '" + s_->id + "' does not act on the answer " +
                 (answer != nullptr ? answer->ToJson() : "null") + " to task '" + task->name +
                 "' now (no transition for it holds); nothing was recorded and role '" +
                 role->role + "' may still answer");
      return;
    }
  }
  const std::string task_id = task->name;
  const std::string role_name = role->role;
  Emit(ResponseRecorded{
      .task = task_id, .role = role_name, .organisation = in_.participant, .response = in_.data});
  task = s_->FindTask(task_id);
  if (failed() || task == nullptr) return;
  if (!task->complete && JoinMet(*task)) {
    Emit(TaskCompleted{.task = task_id, .responses = task->responses()});
    completed_.push_back(task_id);
  }
  if (handler != nullptr) Fire(*handler);
}

const dsl::Transition* Runtime::Step::ResponseTransition(std::string_view task,
                                                         std::string_view role) const {
  for (const dsl::Transition& t : def_->FindState(s_->state)->transitions) {
    if (t.trigger != dsl::TriggerKind::kResponse || t.task != task) continue;
    if (!t.from.empty() && t.from != role) continue;
    if (Holds(t.when)) return &t;
  }
  return nullptr;
}

bool Runtime::Step::CheckAnswer(const dsl::Task& task, std::string* reason) const {
  auto missing = [&](const std::vector<std::string>& members, std::string_view what) {
    for (const std::string& m : members) {
      const Value* v = in_.data.Find(m);
      if (v == nullptr || v->is_null() || (v->is_string() && v->as_string().empty())) {
        *reason = "a response to task '" + task.name + "'" + std::string(what) + " needs data." +
                  m + "; nothing was recorded";
        return true;
      }
    }
    return false;
  };
  if (missing(task.required, "")) return false;
  if (task.answer.empty()) return true;
  const Value* answer = in_.data.Find(task.answer);
  const dsl::Answer* declared = answer != nullptr ? task.FindAnswer(*answer) : nullptr;
  if (declared == nullptr) {
    std::string accepted;
    for (const dsl::Answer& a : task.answers)
      accepted += (accepted.empty() ? "" : ", ") + a.value.ToJson();
    *reason = "data." + task.answer + " " + (answer != nullptr ? answer->ToJson() : "(missing)") +
              " is not an answer task '" + task.name + "' accepts (" + accepted +
              "); nothing was recorded";
    return false;
  }
  return !missing(declared->required, " with " + task.answer + " " + answer->ToJson());
}

void Runtime::Step::HandleExtension() {
  const std::string& name = in_.data["deadline"].as_string();
  const dsl::Deadline* d = def_->FindDeadline(name);
  DeadlineState* dl = s_->FindDeadline(name);
  const std::string& reason = in_.data["reason"].as_string();
  if (d == nullptr) {
    Reject("invalid-extension", "no deadline '" + name + "' in workflow " + def_->name);
    return;
  }
  // Who may extend is checked first: a wrong sender learns nothing about the deadline's state.
  const std::string* org =
      d->extendable_by.empty() ? nullptr : s_->OrganisationOf(d->extendable_by);
  if (org == nullptr || *org != in_.participant) {
    Reject(NotTheRole(in_.participant),
           "participant '" + in_.participant + "' may not extend deadline '" + name + "'" +
               (d->extendable_by.empty() ? std::string(" (it cannot be extended by an event)")
                                         : " (only role '" + d->extendable_by + "' may)"));
    return;
  }
  if (dl == nullptr) {
    Reject("invalid-extension",
           "deadline '" + name + "' has not been started on case '" + s_->id + "'");
    return;
  }
  if (!dl->active()) {
    Reject("invalid-extension", "deadline '" + name + "' is " + dl->status + " (due " +
                                    FormatTimestamp(dl->due) +
                                    "); only a running deadline can be extended");
    return;
  }
  if (dl->extensions >= d->max_extensions) {
    Reject("invalid-extension", "deadline '" + name + "' was already extended " +
                                    std::to_string(dl->extensions) + " time(s); the limit is " +
                                    std::to_string(d->max_extensions));
    return;
  }
  if (reason.empty()) {
    Reject("invalid-extension", "an extension needs a reason (data.reason)");
    return;
  }
  if (time_ >= dl->due) {
    Reject("invalid-extension", "deadline '" + name + "' ended at " + FormatTimestamp(dl->due) +
                                    "; an extension must be made in time");
    return;
  }
  Duration max = d->max_extension.value_or(d->duration);
  Duration dur = max;
  if (const Value* text = in_.data.Find("duration"); text != nullptr) {
    Result<Duration> parsed = ParseDuration(text->as_string());
    if (!parsed.ok()) {
      Reject("invalid-extension", parsed.status().message());
      return;
    }
    dur = *parsed;
  }
  if (AddDuration(dl->due, dur) > AddDuration(dl->due, max)) {
    Reject("invalid-extension",
           "an extension of " + dur.ToString() + " exceeds the maximum of " + max.ToString());
    return;
  }
  // §190 BGB: the extension is computed from the end of the previous period.
  std::optional<LegalCalendar> legal;
  Timestamp due = DueAfter(*d, dl->due - 1, dur, &legal);
  DeadlineExtended extension{.deadline = name,
                             .previous_due = FormatTimestamp(dl->due),
                             .due = FormatTimestamp(due),
                             .duration = dur.ToString(),
                             .reason = reason,
                             .by = in_.participant,
                             .legal = std::move(legal)};
  Value facts = DataToValue(extension);  // the on_extension actions' data
  Emit(std::move(extension));
  RunActionsWith(d->on_extension, facts);
}

void Runtime::Step::HandleCertificate() {
  if (s_->outcome != "deemed_approved") {
    Reject("closed-case", "case '" + s_->id + "' is closed with outcome " + s_->outcome +
                              "; a certificate exists only for a deemed approval");
    return;
  }
  const DeadlineState* expired = nullptr;
  for (const DeadlineState& d : s_->deadlines) {
    if (d.status == "expired") expired = &d;
  }
  // §42a Abs. 3 VwVfG: on request of a party. The applicant asks through the portal its
  // application came from; an authority of the case may record a request made otherwise.
  if (in_.participant.empty()) {
    Reject("invalid-request",
           "a certificate request needs the participant attribute: the applicant's portal or an "
           "organisation of the case");
    return;
  }
  if (s_->RolesOf(in_.participant).empty()) {
    Reject("not-a-participant", "participant '" + in_.participant + "' takes no part in case '" +
                                    s_->id + "' and may not request its certificate");
    return;
  }
  const dsl::Deadline* d = expired != nullptr ? def_->FindDeadline(expired->name) : nullptr;
  CertificateIssued certificate{.basis = "§42a Abs. 3 VwVfG",
                                .deadline = expired != nullptr ? expired->name : "",
                                .due = expired != nullptr ? FormatTimestamp(expired->due) : "",
                                .effect = d != nullptr ? d->legal_effect : "",
                                .requested_by = in_.participant};
  Value facts = DataToValue(certificate);  // the on_certificate actions' data
  Emit(std::move(certificate));
  closing_ = true;
  RunActionsWith(def_->on_certificate, facts);
  closing_ = false;
}

// Withdrawing an application is the applicant's declaration (Rücknahme des Antrags; the
// procedure ends, §22 VwVfG): it comes through the portal the applicant is reached through (its
// `participant` claim, or else its source or channel, as for the application), or the deciding
// authority records a withdrawal it received otherwise (by letter, in person). Nobody else may
// end someone's procedure.
bool Runtime::Step::MayWithdraw() {
  std::string speaker = in_.participant;
  if (speaker.empty()) {
    if (const dsl::Organisation* portal = SubmittingPortal()) speaker = portal->id;
  }
  std::vector<std::string> allowed;
  bool takes_part = false;
  for (const Participant& p : s_->participants) {
    takes_part = takes_part || p.organisation == speaker;
    const bool applicant =
        std::any_of(def_->roles.begin(), def_->roles.end(),
                    [&](const dsl::Role& r) { return r.name == p.role && r.applicant; });
    if (applicant || p.role == def_->authority) {
      if (p.organisation == speaker) return true;
      allowed.push_back("'" + p.organisation + "' (" + p.role + ")");
    }
  }
  std::string who;
  for (const std::string& a : allowed)
    who += (who.empty() ? "" : " or ") + a;
  const std::string may = who.empty() ? "" : "; only " + who + " may (§22 VwVfG)";
  if (speaker.empty()) {
    Reject("invalid-request",
           "a withdrawal of case '" + s_->id +
               "' must come from the applicant's portal or name the participant recording it" +
               may);
  } else {
    Reject(takes_part ? "wrong-role" : "not-a-participant",
           "'" + speaker + "' may not withdraw the application of case '" + s_->id + "'" + may);
  }
  return false;
}

void Runtime::Step::HandleWithdrawal() {
  if (!MayWithdraw()) return;
  RunActions(def_->on_withdrawal);
  CancelDeadlines("application withdrawn");
  Emit(StateEntered{.state = "withdrawn", .from = s_->state});
  Emit(CaseClosed{.outcome = "withdrawn", .state = "withdrawn"});
}

void Runtime::Step::HandleTimer() {
  const std::string& name = in_.data["deadline"].as_string();
  DeadlineState* dl = s_->FindDeadline(name);
  const dsl::Deadline* d = def_->FindDeadline(name);
  Result<Timestamp> due = ParseTimestamp(in_.data["due"].as_string());
  if (dl == nullptr || d == nullptr || !dl->active() || !due.ok() || *due != dl->due) {
    r_->ignored = true;  // extended or cancelled since the timer was set
    return;
  }
  Emit(DeadlineExpired{
      .deadline = name, .due = FormatTimestamp(dl->due), .effect = d->legal_effect});
  RunActions(d->on_expiry);
  if (!d->target.empty() && s_->open()) Enter(d->target);
}

void Runtime::Step::HandleMigration() {
  const Value* mapping = in_.data.Find("mapping");
  dsl::MigrationParse parsed =
      dsl::MigrationFromValue(mapping != nullptr ? *mapping : Value(), "data.mapping");
  if (mapping == nullptr) {
    Reject("invalid-mapping", "data.mapping is missing: the migration mapping as a JSON object");
    return;
  }
  if (!parsed.migration.has_value()) {
    Reject("invalid-mapping", Joined(parsed.errors));
    return;
  }
  const dsl::Migration& m = *parsed.migration;
  const Value* to = in_.data.Find("to");
  if (to != nullptr && (!to->is_int() || to->as_int() != m.to)) {
    Reject("invalid-mapping", "data.to (" + to->ToJson() + ") is not the mapping's 'to' (" +
                                  std::to_string(m.to) + ")");
    return;
  }
  if (std::vector<dsl::MigrationError> errors = dsl::ValidateMigration(m, rt_.registry_);
      !errors.empty()) {
    Reject("invalid-mapping", Joined(errors));
    return;
  }
  if (s_->workflow != m.workflow || s_->version != m.from) {
    Reject("wrong-version", "case '" + s_->id + "' runs on " + s_->workflow + " version " +
                                std::to_string(s_->version) + ", not on " + m.workflow +
                                " version " + std::to_string(m.from));
    return;
  }
  const dsl::Definition* target = rt_.registry_.Find(m.workflow, m.to);
  const dsl::StateMigration* state = m.FindState(s_->state);
  if (state == nullptr) {  // a final state; a case in one is closed
    Reject("invalid-mapping", "the mapping has no state for '" + s_->state + "'");
    return;
  }
  const std::string reason = "migration to version " + std::to_string(m.to);
  CaseMigrated event{.workflow = m.workflow,
                     .from_version = m.from,
                     .to_version = m.to,
                     .from_state = s_->state,
                     .to_state = state->to,
                     .tasks_kept = {},
                     .tasks_renamed = Value(),
                     .tasks_cancelled = {},
                     .deadlines_kept = {},
                     .deadlines_renamed = Value(),
                     .deadlines_cancelled = {},
                     .by = in_.admin,
                     .reason = std::nullopt,
                     .mapping = m.Digest()};
  if (const Value* why = in_.data.Find("reason");
      why != nullptr && why->is_string() && !why->as_string().empty()) {
    event.reason = why->as_string();
  }
  std::vector<Member> tasks_renamed, deadlines_renamed;
  for (const TaskState& t : s_->tasks) {
    if (t.complete) continue;
    std::optional<dsl::ItemMigration> fate = m.TaskFate(t.name, *target);
    if (!fate.has_value()) {  // a task the definition no longer has: nothing can answer it
      event.tasks_cancelled.push_back(t.name);
      continue;
    }
    switch (fate->action) {
      case dsl::MigrationAction::kKeep:
        event.tasks_kept.push_back(t.name);
        break;
      case dsl::MigrationAction::kRename:
        tasks_renamed.emplace_back(t.name, fate->target);
        break;
      case dsl::MigrationAction::kCancel:
        event.tasks_cancelled.push_back(t.name);
        break;
    }
  }
  for (const DeadlineState& d : s_->deadlines) {
    if (!d.active()) continue;
    std::optional<dsl::ItemMigration> fate = m.DeadlineFate(d.name, *target);
    const dsl::MigrationAction action =
        fate.has_value() ? fate->action : dsl::MigrationAction::kCancel;
    switch (action) {
      case dsl::MigrationAction::kKeep:
        event.deadlines_kept.push_back(d.name);
        break;
      case dsl::MigrationAction::kRename:
        deadlines_renamed.emplace_back(d.name, fate->target);
        break;
      case dsl::MigrationAction::kCancel:
        event.deadlines_cancelled.push_back(d.name);
        break;
    }
  }
  event.tasks_renamed = Value::Object(std::move(tasks_renamed));
  event.deadlines_renamed = Value::Object(std::move(deadlines_renamed));
  // A cancelled deadline ends as every cancelled deadline does (its timer goes with it).
  for (const std::string& name : event.deadlines_cancelled)
    Emit(DeadlineCancelled{.deadline = name, .reason = reason});
  Emit(std::move(event));
  if (failed()) return;
  def_ = target;
  // Variables the new version declares and the case lacks start at their declared values.
  for (const dsl::Variable& v : def_->variables) {
    if (s_->vars.Find(v.name) == nullptr) Emit(VariableSet{.name = v.name, .value = v.initial});
  }
  // Settle (after Dispatch) then takes the new state's automatic transitions that hold.
}

void Runtime::Step::RunActions(const std::vector<dsl::Action>& actions) {
  for (const dsl::Action& a : actions) {
    if (failed() || (!s_->open() && s_->seq != 0 && !closing_)) return;
    if (Holds(a.when)) RunAction(a);
  }
}

void Runtime::Step::RunActionsWith(const std::vector<dsl::Action>& actions, const Value& data) {
  const Value* saved = data_;
  data_ = &data;
  RunActions(actions);
  data_ = saved;
}

void Runtime::Step::RunAction(const dsl::Action& a) {
  switch (a.kind) {
    case dsl::ActionKind::kNotify:
      Notify(a);
      return;
    case dsl::ActionKind::kRequest: {
      std::vector<Participant> roles;
      for (const std::string& role : a.roles) {
        const std::string* org = s_->OrganisationOf(role);
        if (org == nullptr) continue;
        roles.push_back({role, *org});
      }
      auto n = static_cast<int>(roles.size());
      int need = a.join == dsl::JoinKind::kAll   ? n
                 : a.join == dsl::JoinKind::kAny ? std::min(1, n)
                                                 : std::min(a.join_count, n);
      TaskRequested request{.task = a.task,
                            .new_request = true,
                            .role = "",
                            .organisation = "",
                            .join = std::string(JoinName(a.join)),
                            .need = need,
                            .fields = Disclosed(s_->application, a),
                            .content = Content(a),
                            .basis = a.legal_basis};
      // One event per role (the first one new), or one without a role when nobody is asked; the
      // last takes `request` itself.
      auto emit_for = [&](size_t i, TaskRequested e) {
        e.new_request = i == 0;
        if (!roles.empty()) {
          e.role = roles[i].role;
          e.organisation = roles[i].organisation;
        }
        Emit(std::move(e));
      };
      const size_t events = std::max<size_t>(roles.size(), 1);
      for (size_t i = 0; i + 1 < events; ++i)
        emit_for(i, request);
      emit_for(events - 1, std::move(request));
      if (roles.empty() && !failed()) {
        // Nobody to ask (every role was left out): the task is complete at once.
        s_->FindTask(a.task)->roles.clear();
        Emit(TaskCompleted{.task = a.task, .responses = 0});
        completed_.push_back(a.task);
      }
      return;
    }
    case dsl::ActionKind::kSet:
      Emit(VariableSet{.name = a.variable, .value = a.value->Evaluate(Ctx())});
      return;
    case dsl::ActionKind::kStartDeadline: {
      const dsl::Deadline* d = def_->FindDeadline(a.deadline);
      std::optional<LegalCalendar> legal;
      Timestamp due = DueAfter(*d, time_, d->duration, &legal);
      Emit(DeadlineStarted{.deadline = a.deadline,
                           .started = FormatTimestamp(time_),
                           .due = FormatTimestamp(due),
                           .duration = d->duration.ToString(),
                           .calendar = d->legal_calendar ? "legal" : "exact",
                           .legal = std::move(legal)});
      return;
    }
    case dsl::ActionKind::kExtendDeadline: {
      const dsl::Deadline* d = def_->FindDeadline(a.deadline);
      DeadlineState* dl = s_->FindDeadline(a.deadline);
      if (dl == nullptr || !dl->active() || dl->extensions >= d->max_extensions) return;
      Duration dur = a.extension.value_or(d->max_extension.value_or(d->duration));
      std::optional<LegalCalendar> legal;
      Timestamp due = DueAfter(*d, dl->due - 1, dur, &legal);
      DeadlineExtended extension{.deadline = a.deadline,
                                 .previous_due = FormatTimestamp(dl->due),
                                 .due = FormatTimestamp(due),
                                 .duration = dur.ToString(),
                                 .reason = a.reason,
                                 .by = "",
                                 .legal = std::move(legal)};
      Value facts = DataToValue(extension);  // the on_extension actions' data
      Emit(std::move(extension));
      RunActionsWith(d->on_extension, facts);
      return;
    }
    case dsl::ActionKind::kCancelDeadline: {
      DeadlineState* dl = s_->FindDeadline(a.deadline);
      if (dl == nullptr || !dl->active()) return;
      Emit(DeadlineCancelled{.deadline = a.deadline, .reason = "cancelled by the workflow"});
      return;
    }
  }
}

std::optional<Value> Runtime::Step::Content(const dsl::Action& a) const {
  if (a.content.empty()) return std::nullopt;
  std::vector<Member> values;
  for (const auto& [name, expr] : a.content)
    values.emplace_back(name, expr->Evaluate(Ctx()));
  return Value::Object(std::move(values));
}

void Runtime::Step::Notify(const dsl::Action& a) {
  std::optional<std::vector<std::string>> fields;
  std::optional<Value> content = Content(a);
  for (const std::string& role : a.roles) {
    const std::string* org = s_->OrganisationOf(role);
    const dsl::Role* declared = def_->FindRole(role);
    const bool applicant = declared != nullptr && declared->applicant;
    if (org == nullptr && applicant) {
      // The applicant must be told, and cannot be: record it, so that the authority informs
      // them by other means (and the record shows it did not happen here).
      Emit(NotificationUndeliverable{
          .role = role,
          .message = a.message,
          .basis = a.legal_basis,
          .reason = "no reply channel to the applicant: the application's source (see "
                    "case.opened) is no portal of the participant directory"});
      continue;
    }
    if (org == nullptr) continue;  // the role does not take part in this case
    if (!fields.has_value()) fields = Disclosed(s_->application, a);
    std::optional<std::string> reply_reference;
    if (applicant) {
      const Value* ref = s_->application.FindPath("reply_channel.reference");
      if (ref != nullptr && ref->is_string()) reply_reference = ref->as_string();
    }
    Emit(NotificationDisclosed{.role = role,
                               .organisation = *org,
                               .fields = *fields,
                               .content = content,
                               .reply_reference = std::move(reply_reference),
                               .basis = a.legal_basis,
                               .message = a.message});
  }
}

const dsl::Organisation* Runtime::Step::AuthorityOf(const dsl::Deadline& d) const {
  for (const std::string* role : {&d.authority, &def_->authority}) {
    if (role->empty()) continue;
    const std::string* org = s_->OrganisationOf(*role);
    const dsl::Organisation* o = org != nullptr ? rt_.directory_.Find(*org) : nullptr;
    if (o != nullptr && o->holidays.has_value()) return o;
  }
  for (const Participant& p : s_->participants) {
    const dsl::Organisation* o = rt_.directory_.Find(p.organisation);
    if (o != nullptr && o->holidays.has_value()) return o;
  }
  return nullptr;
}

Timestamp Runtime::Step::DueAfter(const dsl::Deadline& d, Timestamp start, const Duration& dur,
                                  std::optional<LegalCalendar>* facts) const {
  if (!d.legal_calendar) return AddDuration(start, dur);
  // §31 Abs. 3 VwVfG: the public holidays at the seat of the authority. The events record which
  // calendar that was and the days the end passed over, so that the end can be checked.
  const dsl::Organisation* authority = AuthorityOf(d);
  calendar::HolidayCalendar holidays =
      authority != nullptr ? *authority->holidays : calendar::HolidayCalendar(calendar::Land::kSH);
  calendar::PeriodEnd end = calendar::LegalPeriodEnd(start, dur, holidays);
  *facts = LegalCalendar{holidays.Id(), authority != nullptr ? authority->id : "",
                         std::vector<std::string>(end.skipped.begin(), end.skipped.end())};
  return end.end;
}

void Runtime::Step::Fire(const dsl::Transition& t) {
  RunActions(t.actions);
  if (!t.target.empty() && s_->open()) Enter(t.target);
}

void Runtime::Step::Enter(const std::string& name) {
  const dsl::State* st = def_->FindState(name);
  Emit(StateEntered{.state = name, .from = s_->state});
  if (st->terminal.has_value()) {
    // What the terminal state does on entry (telling the chambers of a deemed entry, the
    // applicant of the decision) happens before the case closes; the validator allows only
    // actions that need no later step there.
    RunActions(st->on_enter);
    CancelDeadlines("case closed");
    Emit(CaseClosed{.outcome = std::string(dsl::OutcomeName(*st->terminal)), .state = name});
    return;
  }
  RunActions(st->on_enter);
}

void Runtime::Step::CancelDeadlines(std::string_view reason) {
  for (size_t i = 0; i < s_->deadlines.size(); ++i) {
    if (!s_->deadlines[i].active()) continue;
    Emit(DeadlineCancelled{.deadline = s_->deadlines[i].name, .reason = std::string(reason)});
  }
}

void Runtime::Step::Settle() {
  // Joined triggers for tasks completed in this step, then automatic transitions, until the
  // case rests.
  for (int step = 0; step < kMaxAutoSteps && s_->open() && !failed(); ++step) {
    const dsl::State* st = def_->FindState(s_->state);
    const dsl::Transition* next = nullptr;
    for (const dsl::Transition& t : st->transitions) {
      if (t.trigger == dsl::TriggerKind::kJoined &&
          std::find(completed_.begin(), completed_.end(), t.task) != completed_.end() &&
          Holds(t.when)) {
        completed_.erase(std::find(completed_.begin(), completed_.end(), t.task));
        next = &t;
        break;
      }
    }
    if (next == nullptr) {
      for (const dsl::Transition& t : st->transitions) {
        if (t.trigger == dsl::TriggerKind::kAuto && Holds(t.when)) {
          next = &t;
          break;
        }
      }
    }
    if (next == nullptr) return;
    Fire(*next);
  }
}

Runtime::Runtime(const dsl::Registry& registry, const dsl::Directory& directory, EventFault fault)
    : registry_(registry), directory_(directory), fault_(std::move(fault)) {}

StepResult Runtime::Handle(const InputEvent& in, CaseState* state) const {
  if (std::optional<Rejection> refusal = CheckSpeaker(in)) return Run(in, state, refusal);
  if (in.participant.empty() && !in.channel_organisation.empty() && state->seq > 0) {
    // The bound channel is the proof of who speaks; the attribute is only a claim of it.
    InputEvent bound = in;
    bound.participant = in.channel_organisation;
    return Run(bound, state, std::nullopt);
  }
  return Run(in, state, std::nullopt);
}

StepResult Runtime::Refuse(const InputEvent& in, Rejection why, CaseState* state) const {
  return Run(in, state, std::move(why));
}

StepResult Runtime::Run(const InputEvent& in, CaseState* state,
                        std::optional<Rejection> refusal) const {
  StepResult r;
  Step step(*this, in, state, &r);
  if (refusal.has_value()) {
    step.Reject(std::move(refusal->kind), std::move(refusal->reason));
  } else {
    step.Run();
  }
  if (step.failure().ok()) return r;
  // An event did not fit: nothing of the step is kept. The case is as before, and the input is
  // refused like any other (recorded as input.rejected while the case is open).
  const Status& why = step.failure();
  step.checkpoint_.Restore(state);
  r = StepResult();
  std::string reason = "the runtime built an event that does not fit case '" + in.subject + "' (" +
                       why.message() + "); nothing of " + in.type + " was recorded";
  if (state->open()) {
    DomainEvent e = MakeEvent(state->seq + 1, std::max(in.time, state->updated_at), in.id,
                              InputRejected{.input = in.id,
                                            .input_type = in.type,
                                            .participant = in.participant,
                                            .kind = "internal-error",
                                            .reason = reason});
    if (Status recorded = Apply(state, e); recorded.ok()) {
      r.events.push_back(std::move(e));
    } else {
      reason += "; nor could the refusal be recorded (" + recorded.message() + ")";
    }
  }
  r.rejection = Rejection{"internal-error", std::move(reason)};
  return r;
}

const dsl::Definition* Runtime::DefinitionOf(const CaseState& state) const {
  return registry_.Find(state.workflow, state.version);
}

bool Runtime::KnownType(std::string_view type) const {
  return IsEngineType(type) || registry_.HandlesType(type);
}

}  // namespace amtsweg::runtime
