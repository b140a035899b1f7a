// Migrating running cases to another version of their workflow (docs/workflow-language.md,
// "Migration of running cases"): what the command line (`amtsweg migrate`) and the HTTP API
// (POST /api/v1/admin/migrations) share. A migration is one engine command per case
// (runtime::input_type::kMigrationRequested), which the runtime records as case.migrated through
// the engine's usual commit; a dry run runs the same command on a copy of the committed state.
// Pure functions and reads of the store; thread-safe as far as the store's reads are.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/core/source.h"
#include "engine/dsl/migration.h"
#include "engine/runtime/runtime.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// The open cases of m.workflow on version m.from, in case id order (found by the case index).
Result<std::vector<std::string>> CasesToMigrate(const store::Store& store, const dsl::Migration& m);

// Whether `m` may migrate the case: NotFound when there is no such case, InvalidArgument (saying
// why) when it is of another workflow or version or closed. OK: it is open on m.from.
Status CheckCaseToMigrate(const store::Store& store, const dsl::Migration& m,
                          const std::string& case_id);

// Who issues a migration and why.
struct MigrationIssuer {
  std::string admin;     // "local:<user>" or "api:<principal>" (RawInput::admin)
  std::string source;    // the command's CloudEvents source, e.g. "urn:amtsweg:admin:cli"
  std::string reason;    // may be empty
  Timestamp time = 0;    // the command's time: the engine clock, so that it moves nothing
  Timestamp issued = 0;  // wall clock, for the unique input id
};

// The id of the command for one case: "migrate-<workflow>-<from>-<to>-<case>-<issued ms>".
std::string MigrationInputId(const dsl::Migration& m, const std::string& case_id, Timestamp issued);
// The command for one case, as the runtime takes it (admin set) and as a raw input for an
// engine (the CloudEvent with data {"to", "mapping", "reason"}).
runtime::InputEvent MigrationInput(const dsl::Migration& m, const std::string& case_id,
                                   const MigrationIssuer& by);
RawInput MigrationRawInput(const dsl::Migration& m, const std::string& case_id,
                           const MigrationIssuer& by);

// What migrating one case would record (a dry run).
struct MigrationPreview {
  std::string case_id;
  std::optional<runtime::Rejection> refused;      // set when the command would be refused
  std::optional<runtime::CaseMigrated> migrated;  // otherwise: the case.migrated event
  std::vector<std::string> events;                // the types of every event it would record
  // {"case", "from_state", "to_state", "tasks": {"kept", "renamed", "cancelled"}, "deadlines":
  // {...}, "events": [...]}, or {"case", "refused": {"kind", "reason"}}.
  Value ToValue() const;
  // One line: "C-1: pruefung -> in_pruefung; tasks: kept a, renamed b -> c, cancelled d; ...".
  std::string ToText() const;
};
// Runs the command on a copy of `state` (the committed state, with its application).
MigrationPreview PreviewMigration(const runtime::Runtime& runtime, runtime::CaseState state,
                                  const runtime::InputEvent& in);

}  // namespace amtsweg::core
