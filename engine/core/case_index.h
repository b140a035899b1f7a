// Reading committed cases and the index that finds them: the index key layout (the `index`
// column family), the keys that describe a case state, and a case's state from its snapshot.
// Used by the batch writer (index changes are the difference of IndexKeys before and after a
// batch), the case queries, `amtsweg rebuild` and the HTTP API. Pure functions and reads of the
// store; thread-safe as far as the store's reads are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/personal.h"
#include "engine/store/store.h"

namespace amtsweg::core {

class CaseKeys;

// Index key layout (the index column family); every key ends with the case id:
// "w/<workflow>\0<case>", "s/<state>\0<case>", "p/<organisation>\0<case>",
// "o/<outcome or open>\0<case>". One prefix scan answers one filter.
namespace index_key {
std::string Workflow(std::string_view workflow, std::string_view case_id);
std::string State(std::string_view state, std::string_view case_id);
std::string Participant(std::string_view organisation, std::string_view case_id);
std::string Outcome(std::string_view outcome, std::string_view case_id);
// Prefixes to scan.
std::string WorkflowPrefix(std::string_view workflow);
std::string StatePrefix(std::string_view state);
std::string ParticipantPrefix(std::string_view organisation);
std::string OutcomePrefix(std::string_view outcome);
}  // namespace index_key

// Index keys describing a case state, sorted and without duplicates.
std::vector<std::string> IndexKeys(const runtime::CaseState& s);

// A case's committed state from its snapshot, with the application restored from its first
// event when `with_application`. Personal values sealed under the case's key are opened with
// `keys` (case_keys.h); without `keys`, or once the key is gone, they read as null. nullopt when
// there is no such case; Corruption when the snapshot or the first event does not decode or open.
Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application = true,
                                                        const CaseKeys* keys = nullptr);
// The same with the case's sealer already looked up (nullptr: none).
Result<std::optional<runtime::CaseState>> LoadCaseState(const store::Store& store,
                                                        const std::string& case_id,
                                                        bool with_application,
                                                        const runtime::Sealer* sealer);

}  // namespace amtsweg::core
