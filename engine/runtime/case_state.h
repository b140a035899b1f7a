// CaseState: the state of one case, a fold over its domain events.
//
// Apply() is the only way state changes, so replaying a case's log reproduces its state exactly.
// Apply needs no workflow definition: every fact it folds is in the events. Snapshots are the
// binary encoding of this struct, a cache that can always be rebuilt from the log.
// Plain value; not thread-safe for concurrent mutation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/runtime/events.h"

namespace amtsweg::runtime {

struct Participant {
  std::string role;
  std::string organisation;
};

struct TaskRole {
  std::string role;
  std::string organisation;
  bool responded = false;
  Timestamp responded_at = 0;
  Value response;
};

struct TaskState {
  std::string name;
  std::string join;  // "all", "any" or "count"
  int need = 0;      // responses needed to complete
  bool complete = false;
  Timestamp requested_at = 0;
  std::vector<TaskRole> roles;
  int responses() const;
  TaskRole* FindRole(std::string_view role);
  const TaskRole* FindOrganisation(std::string_view organisation) const;
};

struct DeadlineState {
  std::string name;
  std::string status;  // "active", "expired", "cancelled"
  Timestamp started = 0;
  Timestamp due = 0;
  int extensions = 0;
  bool active() const { return status == "active"; }
};

struct CaseState {
  std::string id;
  std::string workflow;
  int version = 0;
  std::string leika;
  std::string state;
  std::string outcome;  // empty while the case is open
  Timestamp opened_at = 0;
  Timestamp updated_at = 0;
  Timestamp closed_at = 0;
  Timestamp erased_at = 0;  // when its personal data was erased (case.erased); 0: not erased
  uint64_t seq = 0;         // last applied domain event
  Value application;        // data of the opening event
  Value vars;               // object of case variables
  std::vector<Participant> participants;
  std::vector<TaskState> tasks;
  std::vector<DeadlineState> deadlines;

  bool open() const { return seq > 0 && outcome.empty(); }
  bool erased() const { return erased_at != 0; }
  const std::string* OrganisationOf(std::string_view role) const;
  // The roles an organisation holds on this case.
  std::vector<std::string> RolesOf(std::string_view organisation) const;
  TaskState* FindTask(std::string_view name);
  const TaskState* FindTask(std::string_view name) const;
  DeadlineState* FindDeadline(std::string_view name);
  const DeadlineState* FindDeadline(std::string_view name) const;

  friend bool operator==(const CaseState& a, const CaseState& b);
};

// Folds one event into the state. Corruption if the event does not fit (wrong seq, a type that
// is not its data's, a task, role or deadline the case does not have); the state is then
// unchanged.
Status Apply(CaseState* state, const DomainEvent& e);

// Puts a case back as it was before a series of Apply calls (a runtime step) when one of them
// fails. Call Save(state, e) before each Apply(state, e): it keeps what `e` will change, each
// part of the state once; Restore puts those parts back. Cheaper than a copy of the state: a step
// touches few parts (a response: the tasks), and copying every input's whole case cost a tenth of
// the runtime's time. Also covers what the runtime changes in a task after requesting it.
class Checkpoint {
 public:
  void Save(const CaseState& s, const DomainEvent& e);
  void Restore(CaseState* s);

 private:
  bool saved_ = false;
  bool opened_ = false;  // the case did not exist: Restore empties it
  uint64_t seq_ = 0;
  Timestamp updated_at_ = 0;
  size_t participants_ = 0;
  std::optional<int> version_;
  std::optional<std::string> state_;
  std::optional<std::pair<std::string, Timestamp>> outcome_;  // with closed_at
  std::optional<Value> vars_;
  std::optional<std::vector<TaskState>> tasks_;
  std::optional<std::vector<DeadlineState>> deadlines_;
  std::optional<Timestamp> erased_at_;
};

// Full state as a JSON-able value (for `case show`, snapshots and comparisons).
Value StateToValue(const CaseState& s);
Result<CaseState> StateFromValue(const Value& v);

// Snapshot encoding: the binary of StateToValue without the application, which never changes
// and is kept once, in the case.opened event. DecodeSnapshot leaves `application` null; use
// RestoreApplication (or core::LoadCaseState) to fill it in.
std::string EncodeSnapshot(const CaseState& s);
// The same with null in place of the personal values (the variables, then each response in task
// and role order), which are appended to *personal (personal.h seals them).
std::string EncodeSnapshot(const CaseState& s, std::vector<const Value*>* personal);
Result<CaseState> DecodeSnapshot(std::string_view in);
// Sets s->application from the case's first event (case.opened).
Status RestoreApplication(CaseState* s, const DomainEvent& opened);

}  // namespace amtsweg::runtime
