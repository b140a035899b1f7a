#include "engine/core/migration.h"

#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/cloudevent.h"

namespace amtsweg::core {

namespace {

Value Data(const dsl::Migration& m, const MigrationIssuer& by) {
  ObjectBuilder b(3);
  b.Add("to", m.to).Add("mapping", m.ToValue());
  if (!by.reason.empty()) b.Add("reason", by.reason);
  return b.Build();
}

Value Names(const std::vector<std::string>& names) {
  return Value::Array(std::vector<Value>(names.begin(), names.end()));
}

std::string Text(const std::vector<std::string>& kept, const Value& renamed,
                 const std::vector<std::string>& cancelled) {
  std::string out;
  auto add = [&out](std::string_view what, const std::string& items) {
    if (items.empty()) return;
    out += (out.empty() ? "" : ", ") + std::string(what) + " " + items;
  };
  auto join = [](const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names)
      s += (s.empty() ? "" : " ") + n;
    return s;
  };
  std::string moved;
  for (const Member& m : renamed.is_object() ? renamed.members() : std::vector<Member>{})
    moved += (moved.empty() ? "" : " ") + m.first + " -> " + m.second.as_string();
  add("kept", join(kept));
  add("renamed", moved);
  add("cancelled", join(cancelled));
  return out.empty() ? "none" : out;
}

}  // namespace

Result<std::vector<std::string>> CasesToMigrate(const store::Store& store,
                                                const dsl::Migration& m) {
  CaseFilter filter;
  filter.workflow = m.workflow;
  filter.outcome = "open";
  ASSIGN_OR_RETURN(CasePage page, ListCases(store, filter));
  std::vector<std::string> out;
  for (const runtime::CaseState& s : page.cases) {
    if (s.version == m.from && s.open()) out.push_back(s.id);
  }
  return out;
}

Status CheckCaseToMigrate(const store::Store& store, const dsl::Migration& m,
                          const std::string& case_id) {
  ASSIGN_OR_RETURN(std::optional<runtime::CaseState> s,
                   LoadCaseState(store, case_id, /*with_application=*/false));
  if (!s.has_value()) return Status::NotFound("no case '" + case_id + "'");
  if (s->workflow != m.workflow || s->version != m.from) {
    return Status::InvalidArgument("case '" + case_id + "' runs on " + s->workflow + " version " +
                                   std::to_string(s->version) + ", not on " + m.workflow +
                                   " version " + std::to_string(m.from));
  }
  if (!s->open()) {
    return Status::InvalidArgument("case '" + case_id + "' is closed (outcome " + s->outcome +
                                   "); a closed case is not migrated");
  }
  return Status::OK();
}

std::string MigrationInputId(const dsl::Migration& m, const std::string& case_id,
                             Timestamp issued) {
  return "migrate-" + m.workflow + "-" + std::to_string(m.from) + "-" + std::to_string(m.to) + "-" +
         case_id + "-" + std::to_string(issued);
}

runtime::InputEvent MigrationInput(const dsl::Migration& m, const std::string& case_id,
                                   const MigrationIssuer& by) {
  runtime::InputEvent in;
  in.id = MigrationInputId(m, case_id, by.issued);
  in.source = by.source;
  in.type = std::string(runtime::input_type::kMigrationRequested);
  in.subject = case_id;
  in.time = by.time;
  in.data = Data(m, by);
  in.admin = by.admin;
  return in;
}

RawInput MigrationRawInput(const dsl::Migration& m, const std::string& case_id,
                           const MigrationIssuer& by) {
  RawInput raw;
  raw.bytes =
      EncodeCloudEvent(MigrationInputId(m, case_id, by.issued), by.source,
                       runtime::input_type::kMigrationRequested, case_id, by.time, Data(m, by));
  raw.size = raw.bytes.size();
  raw.where = "migration of case " + case_id + " by " + by.admin;
  raw.admin = by.admin;
  return raw;
}

MigrationPreview PreviewMigration(const runtime::Runtime& runtime, runtime::CaseState state,
                                  const runtime::InputEvent& in) {
  MigrationPreview p;
  p.case_id = in.subject;
  runtime::StepResult r = runtime.Handle(in, &state);
  p.refused = r.rejection;
  for (const runtime::DomainEvent& e : r.events) {
    p.events.emplace_back(runtime::DomainTypeName(e.type));
    if (const auto* migrated = e.As<runtime::CaseMigrated>()) p.migrated = *migrated;
  }
  return p;
}

Value MigrationPreview::ToValue() const {
  if (refused.has_value() || !migrated.has_value()) {
    runtime::Rejection why = refused.value_or(runtime::Rejection{"internal-error", "no event"});
    return ObjectBuilder(2)
        .Add("case", case_id)
        .Add("refused", ObjectBuilder(2).Add("kind", why.kind).Add("reason", why.reason).Build())
        .Build();
  }
  const runtime::CaseMigrated& m = *migrated;
  return ObjectBuilder(6)
      .Add("case", case_id)
      .Add("from_state", m.from_state)
      .Add("to_state", m.to_state)
      .Add("tasks", ObjectBuilder(3)
                        .Add("kept", Names(m.tasks_kept))
                        .Add("renamed", m.tasks_renamed)
                        .Add("cancelled", Names(m.tasks_cancelled))
                        .Build())
      .Add("deadlines", ObjectBuilder(3)
                            .Add("kept", Names(m.deadlines_kept))
                            .Add("renamed", m.deadlines_renamed)
                            .Add("cancelled", Names(m.deadlines_cancelled))
                            .Build())
      .Add("events", Names(events))
      .Build();
}

std::string MigrationPreview::ToText() const {
  if (refused.has_value() || !migrated.has_value()) {
    return case_id + ": refused (" + (refused.has_value() ? refused->kind : "internal-error") +
           ": " + (refused.has_value() ? refused->reason : "no event") + ")";
  }
  const runtime::CaseMigrated& m = *migrated;
  return case_id + ": " + m.from_state + " -> " + m.to_state +
         "; tasks: " + Text(m.tasks_kept, m.tasks_renamed, m.tasks_cancelled) +
         "; deadlines: " + Text(m.deadlines_kept, m.deadlines_renamed, m.deadlines_cancelled);
}

}  // namespace amtsweg::core
