// Loading and validating workflow definitions.
//
// Every problem is reported, not just the first, each as a Diagnostic that prints as
// "file:line:column: message". A definition with any error is not returned.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/directory.h"
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

// A set of deployed definitions, by name and version.
class Registry {
 public:
  // Adds a definition; Conflict if the same name and version is already there.
  Status Add(DefinitionPtr def);
  const Definition* Find(std::string_view name, int version) const;
  // Highest version of `name`.
  const Definition* Latest(std::string_view name) const;
  // Highest version of the newest-named definition for a LeiKa key (ties: smallest name).
  const Definition* ForLeika(std::string_view leika) const;
  // True if any definition reacts to this input event type.
  bool HandlesType(std::string_view type) const;
  std::vector<const Definition*> All() const;

 private:
  std::map<std::string, std::map<int, DefinitionPtr>, std::less<>> defs_;
  std::set<std::string, std::less<>> types_;  // union of every definition's event_types()
};

// Loads every *.yaml / *.yml in a directory (sorted by name); reports every file's errors and
// rejects duplicate name+version across files.
struct RegistryLoadResult {
  Registry registry;
  std::vector<Diagnostic> errors;
};
RegistryLoadResult LoadRegistry(const std::string& dir, const Directory* directory = nullptr);

}  // namespace amtsweg::dsl
