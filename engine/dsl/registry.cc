#include "engine/dsl/registry.h"

#include <utility>

namespace amtsweg::dsl {

Status Registry::Add(DefinitionPtr def) {
  if (def == nullptr) return Status::InvalidArgument("null definition");
  auto& versions = defs_[def->name];
  if (versions.count(def->version) != 0) {
    return Status::Conflict("workflow '" + def->name + "' version " + std::to_string(def->version) +
                            " is already registered (from " + versions[def->version]->file + ")");
  }
  for (const std::string& t : def->event_types())
    types_.insert(t);
  versions.emplace(def->version, std::move(def));
  return Status::OK();
}

const Definition* Registry::Find(std::string_view name, int version) const {
  auto it = defs_.find(name);
  if (it == defs_.end()) return nullptr;
  auto v = it->second.find(version);
  return v == it->second.end() ? nullptr : v->second.get();
}

const Definition* Registry::Latest(std::string_view name) const {
  auto it = defs_.find(name);
  if (it == defs_.end() || it->second.empty()) return nullptr;
  return it->second.rbegin()->second.get();
}

const Definition* Registry::ForLeika(std::string_view leika) const {
  const Definition* best = nullptr;
  for (const auto& [name, versions] : defs_) {  // names ascending: ties go to the smaller name
    for (const auto& [version, def] : versions) {
      if (def->leika != leika) continue;
      if (best == nullptr || def->version > best->version) best = def.get();
    }
  }
  return best;
}

bool Registry::HandlesType(std::string_view type) const {
  return types_.count(type) != 0;
}

std::vector<const Definition*> Registry::All() const {
  std::vector<const Definition*> out;
  for (const auto& [name, versions] : defs_) {
    for (const auto& [version, def] : versions)
      out.push_back(def.get());
  }
  return out;
}

}  // namespace amtsweg::dsl
