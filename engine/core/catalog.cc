#include "engine/core/catalog.h"

namespace amtsweg::core {

namespace {

std::string StoredName(std::string_view name, uint64_t version) {
  return "store:" + std::string(name) + "@" + std::to_string(version);
}

}  // namespace

Status AddDeployedDefinitions(const store::Store& store, const dsl::Directory* directory,
                              dsl::Registry* registry) {
  Status error;
  RETURN_IF_ERROR(
      store.ScanDefinitions([&](std::string_view name, uint64_t version, std::string_view yaml) {
        if (registry->Find(name, static_cast<int>(version)) != nullptr) return true;
        dsl::LoadResult r = dsl::LoadDefinition(yaml, StoredName(name, version), directory);
        if (r.definition == nullptr) {
          error = Status::Corruption(
              "stored definition " + StoredName(name, version) +
              " no longer validates: " + (r.errors.empty() ? "" : r.errors.front().ToString()));
          return false;
        }
        error = registry->Add(r.definition);
        return error.ok();
      }));
  return error;
}

Catalog::Catalog(store::Store& store, const dsl::Directory& directory, dsl::Registry registry)
    : store_(store),
      directory_(directory),
      registry_(std::make_shared<const dsl::Registry>(std::move(registry))) {}

std::shared_ptr<const dsl::Registry> Catalog::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return registry_;
}

dsl::LoadResult Catalog::Validate(std::string_view yaml) const {
  return dsl::LoadDefinition(yaml, "request", &directory_);
}

Result<dsl::DefinitionPtr> Catalog::Deploy(std::string_view yaml,
                                           std::vector<dsl::Diagnostic>* errors) {
  dsl::LoadResult r = Validate(yaml);
  if (r.definition == nullptr) {
    *errors = std::move(r.errors);
    return Status::InvalidArgument("the definition does not validate");
  }
  const dsl::Definition& def = *r.definition;
  std::lock_guard<std::mutex> lock(mu_);
  if (const dsl::Definition* latest = registry_->Latest(def.name);
      latest != nullptr && latest->version >= def.version) {
    return Status::Conflict("workflow '" + def.name + "' version " + std::to_string(def.version) +
                            " is not newer than deployed version " +
                            std::to_string(latest->version));
  }
  RETURN_IF_ERROR(store_.PutDefinition(def.name, static_cast<uint64_t>(def.version), yaml));
  auto next = std::make_shared<dsl::Registry>(*registry_);
  RETURN_IF_ERROR(next->Add(r.definition));
  registry_ = std::move(next);
  deployed_.push_back(r.definition);
  return r.definition;
}

Status Catalog::TakeDeployed(dsl::Registry* registry, size_t* taken) const {
  std::vector<dsl::DefinitionPtr> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (*taken >= deployed_.size()) return Status::OK();
    fresh.assign(deployed_.begin() + static_cast<std::ptrdiff_t>(*taken), deployed_.end());
    *taken = deployed_.size();
  }
  for (dsl::DefinitionPtr& def : fresh)
    RETURN_IF_ERROR(registry->Add(std::move(def)));
  return Status::OK();
}

}  // namespace amtsweg::core
