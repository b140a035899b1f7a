// Registry: the deployed workflow definitions, by name and version (target amtsweg::dsl, the
// model: no YAML). Filled from loaded definitions (loader.h: LoadRegistry) or one by one (Add).
// Thread-safety: const methods may run concurrently; Add needs exclusive access. Adding never
// moves the definitions already there, so pointers returned by Find and the like stay valid.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/workflow.h"

namespace amtsweg::dsl {

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

}  // namespace amtsweg::dsl
