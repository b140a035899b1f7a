// Migration mappings: how the running cases of one workflow version move to another (target
// amtsweg::dsl, no YAML; the YAML file is read by LoadMigration in loader.h).
//
// A mapping names the workflow, the two versions, the state of `to` for every state of `from` a
// running case can be in, and what becomes of the open tasks and running deadlines: kept (the
// same name in `to`), renamed or cancelled. The file format and what a migration does are in
// docs/workflow-language.md, "Migration of running cases". The runtime reads the same mapping as
// JSON from the engine command that migrates one case (runtime::input_type::kMigrationRequested).
// Plain values and pure functions; thread-safe to share once built.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/value.h"
#include "engine/dsl/registry.h"
#include "engine/dsl/workflow.h"

namespace amtsweg::dsl {

// One problem of a mapping: where (line 0 when the mapping came as JSON) and what.
struct MigrationError {
  std::string file;
  SourcePos pos;
  std::string message;
  std::string ToString() const;  // "file:line:column: message", or "file: message"
};

enum class MigrationAction { kKeep, kRename, kCancel };

// What becomes of one task or deadline of `from`.
struct ItemMigration {
  std::string name;  // in `from`
  MigrationAction action = MigrationAction::kKeep;
  std::string target;  // kRename: the name in `to`
  SourcePos pos;
  // The name in `to` (kKeep: the same), empty for kCancel.
  const std::string& NameInTarget() const {
    static const std::string kNone;
    return action == MigrationAction::kRename ? target
           : action == MigrationAction::kKeep ? name
                                              : kNone;
  }
};

struct StateMigration {
  std::string from;
  std::string to;
  SourcePos pos;
};

// Where each member of a mapping's JSON form was written: its dotted path ("" for the mapping,
// "tasks.stellungnahme", "tasks.x.rename") -> the position of its key. From the YAML reader.
using MigrationPositions = std::map<std::string, SourcePos, std::less<>>;

struct Migration {
  std::string file;  // where it was read from (for messages); not part of its content
  std::string workflow;
  int from = 0;
  int to = 0;
  std::vector<StateMigration> states;
  std::vector<ItemMigration> tasks;
  std::vector<ItemMigration> deadlines;
  // Where its members were written (empty when it came as JSON), for messages: see At.
  MigrationPositions positions;

  // The position of the member at dotted `path` ("states", "tasks.x"), or of the nearest member
  // around it that has one; {0, 0} when none has.
  SourcePos At(std::string_view path) const;

  const StateMigration* FindState(std::string_view from_state) const;
  // What becomes of the task (deadline) `name` of `from` on `target`: the mapping's entry, else
  // kept when `target` has it; nullopt when neither (a mapping the validator refuses).
  std::optional<ItemMigration> TaskFate(std::string_view name, const Definition& target) const;
  std::optional<ItemMigration> DeadlineFate(std::string_view name, const Definition& target) const;

  // The JSON form: {"workflow","from","to","states":{..},"tasks":{..},"deadlines":{..}}, each
  // task or deadline "keep", "cancel" or {"rename": NAME}. What the engine command carries.
  Value ToValue() const;
  // "sha256:<hex>" of ToValue()'s JSON: the same for the same mapping however it was written.
  std::string Digest() const;
};

struct MigrationParse {
  std::optional<Migration> migration;  // nullopt when there were errors
  std::vector<MigrationError> errors;
};

// Reads a mapping's JSON form (also what the YAML reader makes of the file): its keys and
// kinds, no unknown keys. `file` names it in errors; `positions` (may be null) places them.
MigrationParse MigrationFromValue(const Value& v, const std::string& file,
                                  const MigrationPositions* positions = nullptr);

// Checks a mapping against the two definitions in `registry`: the workflow and both versions
// exist and differ, every state named exists in its version, every state of `from` but the final
// ones is mapped to a state of `to` that is not final, every task and deadline named exists in
// `from`, its target in `to`, two never onto the same name, and every task and deadline of `from`
// that `to` lacks has an entry. Empty: valid.
std::vector<MigrationError> ValidateMigration(const Migration& m, const Registry& registry);

}  // namespace amtsweg::dsl
