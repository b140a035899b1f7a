#include "engine/core/case_index.h"

#include <algorithm>

#include "engine/core/case_keys.h"
#include "engine/runtime/events.h"
#include "engine/runtime/personal.h"

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

Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application,
                                                        const CaseKeys* keys) {
  SealerRef sealer;
  if (keys != nullptr) {
    ASSIGN_OR_RETURN(sealer, keys->SealerOf(case_id));
  }
  return LoadCaseState(store, case_id, with_application, sealer.get());
}

Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application,
                                                        const runtime::Sealer* sealer) {
  ASSIGN_OR_RETURN(std::optional<store::CaseRecord> rec, store.GetCase(case_id));
  if (!rec.has_value()) return std::optional<runtime::CaseState>();
  Result<runtime::CaseState> state = runtime::DecodeStoredSnapshot(rec->snapshot, case_id, sealer);
  if (!state.ok()) return state.status().WithContext("case '" + case_id + "'");
  if (with_application) {
    Status restored = Status::Corruption("case '" + case_id + "' has no event 1");
    RETURN_IF_ERROR(store.ScanEvents(case_id, 1, 1, [&](const store::EventRecord& r) {
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
      if (!e.ok()) {
        restored = e.status();
        return false;
      }
      restored = runtime::UnsealEvent(case_id, sealer, &*e);
      if (restored.ok()) restored = runtime::RestoreApplication(&*state, *e);
      return false;
    }));
    RETURN_IF_ERROR(restored);
  }
  return std::optional(std::move(state).value());
}

}  // namespace amtsweg::core
