// The workflow definition model: what a YAML definition file means once loaded and validated.
//
// See docs/workflow-language.md for the file format. A Definition is immutable after loading
// and shared (std::shared_ptr<const Definition>) by every case that runs on it; thread-safe for
// reads. The loader (loader.h) produces it; the runtime (engine/runtime) interprets it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/dsl/expression.h"

namespace amtsweg::dsl {

// 1-based position in the definition file, for error messages.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// How a terminal state ends a case.
enum class Outcome { kApproved, kRejected, kDeemedApproved, kWithdrawn, kNotified };
std::string_view OutcomeName(Outcome o);  // "approved", "rejected", "deemed_approved", ...
std::optional<Outcome> ParseOutcome(std::string_view name);

// One way to bind a role to an organisation. A role lists candidates; the first whose `when`
// holds (or that has none) decides. Either `organisation` (fixed) or `function` + `area`.
struct RoleCandidate {
  ExprPtr when;              // optional
  std::string organisation;  // fixed organisation id
  std::string function;      // directory function, e.g. "gewerbeamt", "hwk"
  ExprPtr area;              // yields the AGS whose responsible organisation is meant
  SourcePos pos;
};

struct Role {
  std::string name;
  std::string title;
  ExprPtr when;  // optional: the role takes part only if this holds when the case opens
  std::vector<RoleCandidate> candidates;
  // `bind: applicant`: the applicant (Antragsteller, §13 VwVfG), reached through the reply
  // channel of the application: the portal of the directory that submitted it (matched by the
  // opening event's CloudEvents `source`). No candidates then.
  bool applicant = false;
  SourcePos pos;
};

enum class ActionKind { kNotify, kRequest, kSet, kStartDeadline, kExtendDeadline, kCancelDeadline };

enum class JoinKind { kAll, kAny, kCount };

struct Action {
  ActionKind kind = ActionKind::kSet;
  ExprPtr when;  // optional: the action runs only if this holds
  SourcePos pos;

  // kNotify, kRequest: recipients (several = in parallel), what they see and why.
  std::vector<std::string> roles;
  std::vector<std::string> fields;  // paths into the application data ("betrieb.name")
  std::vector<Value> field_values;  // `fields` as string Values, filled by Definition::Index
  std::string legal_basis;          // e.g. "§14 Abs. 8 Satz 1 Nr. 1 GewO"
  std::string message;              // kNotify: what the notification is about (optional)
  // kNotify: facts of the procedure that the recipients are told besides application fields
  // (a decision, its reasons, a new due date): name -> expression, evaluated when the action
  // runs; the values are recorded in the disclosure.
  std::vector<std::pair<std::string, ExprPtr>> content;

  // kRequest: the task, and when it is complete.
  std::string task;
  JoinKind join = JoinKind::kAll;
  int join_count = 0;  // kCount: responses needed

  // kSet: vars.<variable> = value.
  std::string variable;
  ExprPtr value;

  // kStartDeadline, kExtendDeadline, kCancelDeadline.
  std::string deadline;
  std::string reason;                 // kExtendDeadline
  std::optional<Duration> extension;  // kExtendDeadline; default: the deadline's max_extension
};

// What a transition waits for.
enum class TriggerKind {
  kEvent,     // an input event of `event_type`
  kResponse,  // a response to `task` (optionally only from role `from`)
  kJoined,    // `task`'s join condition has been met
  kAuto,      // no event: taken as soon as `when` holds (checked after every step)
};

struct Transition {
  TriggerKind trigger = TriggerKind::kEvent;
  std::string event_type;  // kEvent
  std::string task;        // kResponse, kJoined
  std::string from;        // kEvent, kResponse: only from the organisation bound to this role
  ExprPtr when;            // optional guard
  std::vector<Action> actions;
  std::string target;  // next state; empty = stay (actions only)
  SourcePos pos;
};

struct State {
  std::string name;
  std::string title;
  std::optional<Outcome> terminal;  // set for terminal states
  std::vector<Action> on_enter;
  std::vector<Transition> transitions;
  SourcePos pos;
};

struct Deadline {
  std::string name;
  std::string title;
  Duration duration;
  // §§187-193 BGB with §31 VwVfG: end of the last day, moved past Saturdays, Sundays and the
  // public holidays at the seat of `authority` (engine/calendar); false = exact arithmetic.
  bool legal_calendar = true;
  // The role whose seat's public holidays count (`authority:`); empty: the workflow's.
  std::string authority;
  int max_extensions = 0;                 // `extensions:`; 0 = the deadline cannot be extended
  std::optional<Duration> max_extension;  // longest single extension; default: duration
  std::string extendable_by;              // role allowed to extend by input event; empty = none
  // On expiry: actions, then the transition to `target` (empty = stay), with its legal effect.
  std::vector<Action> on_expiry;
  std::string target;
  std::string legal_effect;  // e.g. "Genehmigung gilt als erteilt (§42a VwVfG)"
  // Run after each extension (e.g. telling the applicant the reasons, §42a Abs. 2 Satz 4
  // VwVfG); `data` is then the extension: deadline, previous_due, due, duration, reason, by.
  std::vector<Action> on_extension;
  SourcePos pos;
};

// One answer a task accepts: the value of the task's answer member and what it must carry.
struct Answer {
  Value value;                        // e.g. "approved", true
  std::vector<std::string> required;  // response members this answer needs (e.g. "reason")
  SourcePos pos;
};

// A task: what a `request` asks for, and which responses it accepts. A response outside the
// declaration is refused before anything is recorded, so the role can still answer properly.
struct Task {
  std::string name;
  std::string title;
  std::string answer;                 // the response member carrying the answer; empty: none
  std::vector<Answer> answers;        // with `answer`: the accepted values
  std::vector<std::string> required;  // members every response needs
  SourcePos pos;
  // The declared answer equal to `v`, or nullptr.
  const Answer* FindAnswer(const Value& v) const;
};

struct Variable {
  std::string name;
  std::string type;  // "bool", "string", "number", "any"
  Value initial;
  SourcePos pos;
};

struct Start {
  std::string event_type = "de.amtsweg.application.submitted";
  std::string state;
  std::vector<Action> actions;  // run before entering `state`
  SourcePos pos;
};

// Which values of a case are personal data, sealed under the case's key and erased with it
// (`personal_data:`, docs/data-protection.md). Paths are dotted, below the application or the
// response data, and cover everything beneath them.
struct PersonalData {
  bool all_application = true;  // default: all application data (the municipality keys aside)
  std::vector<std::string> application;
  bool all_responses = true;  // default: all response data (its `task` aside)
  std::vector<std::string> responses;
};

// How long a closed case's personal data is kept (`retention:`): `period` after the case's
// closing or after the first domain event of type `after`; then it is erased with `basis`.
struct Retention {
  Duration period;
  std::string period_text;            // as written, e.g. "P5Y"
  std::string after = "case.closed";  // or "certificate.issued"
  std::string basis;                  // the legal basis named in the erasure
  SourcePos pos;
};

struct Definition {
  std::string name;  // [a-z0-9_-]+
  int version = 0;   // >= 1
  std::string title;
  std::string leika;  // 14 digits, ^99\d{12}$
  std::string file;   // where it was loaded from
  SourcePos pos;      // of the `name` key (for messages that point at the definition)
  // The deciding authority (`authority:`, a role bound whenever a case opens): its seat's
  // public holidays count for the legal deadlines that name no authority of their own.
  std::string authority;
  std::vector<Role> roles;
  std::vector<Variable> variables;
  std::vector<Deadline> deadlines;
  std::vector<Task> tasks;
  Start start;
  std::vector<State> states;
  std::vector<Action> on_withdrawal;  // run when the applicant withdraws
  // Run when a certificate of a deemed approval is issued (§42a Abs. 3 VwVfG), on the closed
  // case: notifications only. `data` is the certificate.
  std::vector<Action> on_certificate;
  PersonalData personal;
  std::optional<Retention> retention;

  // Lookups; nullptr when absent. Built by the loader.
  const Role* FindRole(std::string_view n) const;
  const State* FindState(std::string_view n) const;
  const Deadline* FindDeadline(std::string_view n) const;
  const Variable* FindVariable(std::string_view n) const;
  const Task* FindTask(std::string_view n) const;
  // Input event types this definition reacts to (start type and every kEvent trigger).
  const std::vector<std::string>& event_types() const { return event_types_; }

  // Fills the lookup tables and every action's `field_values`; called by the loader once the
  // vectors are complete.
  void Index();

 private:
  std::map<std::string, size_t, std::less<>> roles_, states_, deadlines_, variables_, tasks_;
  std::vector<std::string> event_types_;
};

using DefinitionPtr = std::shared_ptr<const Definition>;

}  // namespace amtsweg::dsl
