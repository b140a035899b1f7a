#include "engine/dsl/directory.h"

namespace amtsweg::dsl {

const Organisation* Directory::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &orgs_[it->second];
}

const Organisation* Directory::Responsible(std::string_view function, std::string_view ags) const {
  auto it = by_function_.find(function);
  if (it == by_function_.end()) return nullptr;
  const Organisation* best = nullptr;
  size_t best_len = 0;
  for (size_t idx : it->second) {
    const Organisation& org = orgs_[idx];
    bool covers = org.area.empty();
    size_t len = 0;
    for (const std::string& prefix : org.area) {
      if (ags.starts_with(prefix) && (!covers || prefix.size() > len)) {
        covers = true;
        len = prefix.size();
      }
    }
    if (!covers) continue;
    if (best == nullptr || len > best_len || (len == best_len && org.id < best->id)) {
      best = &org;
      best_len = len;
    }
  }
  return best;
}

const Organisation* Directory::PortalForSource(std::string_view source) const {
  auto it = by_source_.find(source);
  return it == by_source_.end() ? nullptr : &orgs_[it->second];
}

const Organisation* Directory::OrganisationForSource(std::string_view source) const {
  auto it = speaks_for_.find(source);
  return it == speaks_for_.end() ? nullptr : &orgs_[it->second];
}

const std::vector<std::string>* Directory::SubmittersOf(std::string_view workflow) const {
  auto it = submitters_.find(workflow);
  return it == submitters_.end() ? nullptr : &it->second;
}

const std::string* Directory::MunicipalityName(std::string_view ags) const {
  auto it = municipalities_.find(ags);
  return it == municipalities_.end() ? nullptr : &it->second;
}

bool Directory::HasFunction(std::string_view function) const {
  return by_function_.find(function) != by_function_.end();
}

}  // namespace amtsweg::dsl
