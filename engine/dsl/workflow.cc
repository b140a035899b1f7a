#include "engine/dsl/workflow.h"

#include <algorithm>

namespace amtsweg::dsl {

namespace {

constexpr std::pair<Outcome, std::string_view> kOutcomes[] = {
    {Outcome::kApproved, "approved"},
    {Outcome::kRejected, "rejected"},
    {Outcome::kDeemedApproved, "deemed_approved"},
    {Outcome::kWithdrawn, "withdrawn"},
    {Outcome::kNotified, "notified"},
};

template <typename T>
const T* FindIn(const std::map<std::string, size_t, std::less<>>& index, const std::vector<T>& v,
                std::string_view name) {
  auto it = index.find(name);
  if (it == index.end() || it->second >= v.size()) return nullptr;
  return &v[it->second];
}

template <typename T>
void Build(const std::vector<T>& v, std::map<std::string, size_t, std::less<>>* index) {
  index->clear();
  for (size_t i = 0; i < v.size(); ++i)
    index->emplace(v[i].name, i);  // first one wins
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  for (const auto& [outcome, name] : kOutcomes) {
    if (outcome == o) return name;
  }
  return "unknown";
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (const auto& [outcome, n] : kOutcomes) {
    if (n == name) return outcome;
  }
  return std::nullopt;
}

const Role* Definition::FindRole(std::string_view n) const {
  return FindIn(roles_, roles, n);
}
const State* Definition::FindState(std::string_view n) const {
  return FindIn(states_, states, n);
}
const Deadline* Definition::FindDeadline(std::string_view n) const {
  return FindIn(deadlines_, deadlines, n);
}
const Variable* Definition::FindVariable(std::string_view n) const {
  return FindIn(variables_, variables, n);
}

const Task* Definition::FindTask(std::string_view n) const {
  return FindIn(tasks_, tasks, n);
}

const Answer* Task::FindAnswer(const Value& v) const {
  for (const Answer& a : answers) {
    if (a.value == v) return &a;
  }
  return nullptr;
}

void Definition::Index() {
  Build(roles, &roles_);
  Build(tasks, &tasks_);
  Build(states, &states_);
  Build(deadlines, &deadlines_);
  Build(variables, &variables_);
  event_types_.clear();
  auto add = [this](const std::string& type) {
    if (!type.empty() &&
        std::find(event_types_.begin(), event_types_.end(), type) == event_types_.end()) {
      event_types_.push_back(type);
    }
  };
  add(start.event_type);
  for (const State& s : states) {
    for (const Transition& t : s.transitions) {
      if (t.trigger == TriggerKind::kEvent) add(t.event_type);
    }
  }
  // Disclosures copy these into every event by reference count instead of building strings.
  auto values = [](std::vector<Action>& actions) {
    for (Action& a : actions)
      a.field_values.assign(a.fields.begin(), a.fields.end());
  };
  values(start.actions);
  values(on_withdrawal);
  values(on_certificate);
  for (State& s : states) {
    values(s.on_enter);
    for (Transition& t : s.transitions)
      values(t.actions);
  }
  for (Deadline& d : deadlines) {
    values(d.on_expiry);
    values(d.on_extension);
  }
}

}  // namespace amtsweg::dsl
