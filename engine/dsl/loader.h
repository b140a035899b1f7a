// Loading and validating workflow definitions (target amtsweg::dsl_loader, with yaml-cpp).
//
// Every problem is reported, not just the first, each as a Diagnostic that prints as
// "file:line:column: message". A definition with any error is not returned.
// Thread-safety: the functions share no state; call them from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/migration.h"
#include "engine/dsl/registry.h"
#include "engine/dsl/workflow.h"

namespace amtsweg::dsl {

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string ToString() const;  // "file:line:column: message"
};

struct LoadResult {
  DefinitionPtr definition;  // null if there were errors
  std::vector<Diagnostic> errors;
};

// Parses and validates one definition. `directory` (optional) lets the validator check that
// fixed organisations and functions exist.
LoadResult LoadDefinition(std::string_view yaml, const std::string& file,
                          const Directory* directory = nullptr);
LoadResult LoadDefinitionFile(const std::string& path, const Directory* directory = nullptr);

// Loads every *.yaml / *.yml in a directory (sorted by name); reports every file's errors and
// rejects duplicate name+version across files.
struct RegistryLoadResult {
  Registry registry;
  std::vector<Diagnostic> errors;
};
RegistryLoadResult LoadRegistry(const std::string& dir, const Directory* directory = nullptr);

// Reads a migration mapping (migration.h) from YAML: one document, its keys and kinds, each
// problem with its line. It is then checked against the definitions by ValidateMigration.
MigrationParse LoadMigration(std::string_view yaml, const std::string& file);
MigrationParse LoadMigrationFile(const std::string& path);

}  // namespace amtsweg::dsl
