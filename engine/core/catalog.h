// The deployed workflow definitions as the HTTP API reads and changes them.
//
// A catalog starts from the definitions loaded from files (`--workflows`) plus every definition
// deployed earlier through the API, which the store keeps (Store::PutDefinition) so that it
// survives a restart. Deploying adds a new version of a definition; existing versions never
// change, so a running case stays on the version it started with.
//
// Thread-safe: readers take an immutable snapshot of the registry; Deploy is serialised.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// Adds the definitions stored in `store` to `registry` (skipping name+version pairs it already
// has from files). Errors name the stored definition; `amtsweg run` and `serve` call it at start.
Status AddDeployedDefinitions(const store::Store& store, const dsl::Directory* directory,
                              dsl::Registry* registry);

class Catalog {
 public:
  // Borrows `store` and `directory`; both must outlive the catalog. `registry` should already
  // contain the stored definitions (AddDeployedDefinitions).
  Catalog(store::Store& store, const dsl::Directory& directory, dsl::Registry registry);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // The definitions deployed now; never changes after it is returned.
  std::shared_ptr<const dsl::Registry> Snapshot() const;

  // Parses and validates a definition against the directory, without deploying it.
  dsl::LoadResult Validate(std::string_view yaml) const;

  // Validates and deploys: stores the YAML, then makes the definition visible. InvalidArgument
  // (with `*errors` filled) when it does not validate; Conflict when its version is not higher
  // than every deployed version of the same name; IOError when it could not be stored.
  Result<dsl::DefinitionPtr> Deploy(std::string_view yaml, std::vector<dsl::Diagnostic>* errors);

  // Adds to `registry` the definitions deployed through this catalog since the last call with
  // the same `*taken` (start with 0), advancing it. How a running engine takes up new versions
  // (see LiveRegistry): its thread calls this between batches on the registry only it reads.
  // Adding never moves existing definitions, so the engine's pointers into the registry stay
  // valid.
  Status TakeDeployed(dsl::Registry* registry, size_t* taken) const;

 private:
  store::Store& store_;
  const dsl::Directory& directory_;
  mutable std::mutex mu_;
  std::shared_ptr<const dsl::Registry> registry_;  // guarded by mu_
  std::vector<dsl::DefinitionPtr> deployed_;       // by Deploy, in order; guarded by mu_
};

// The workflow definitions of a running engine, and the one way they change.
//
// Owns the registry; the engine (and its runtime) borrow view() for their whole life and only
// read it. It changes only through TakeDeployed, which adds the versions deployed through a
// Catalog since the last call; adding never changes or moves a definition, so the engine's
// pointers into the registry stay valid. Who and when: only the thread that drives the engine,
// and only between batches: before Run/Drain, or from RunOptions::stop or ::progress (Run calls
// them between batches). Not thread-safe: the API's threads never touch it, they deploy into the
// Catalog, which keeps its own copy.
class LiveRegistry {
 public:
  explicit LiveRegistry(dsl::Registry registry) : registry_(std::move(registry)) {}
  LiveRegistry(const LiveRegistry&) = delete;
  LiveRegistry& operator=(const LiveRegistry&) = delete;

  const dsl::Registry& view() const { return registry_; }

  // Adds the versions `catalog` deployed since the last call (see Catalog::TakeDeployed). An
  // error names a definition that could not be added; the ones before it were.
  Status TakeDeployed(const Catalog& catalog) { return catalog.TakeDeployed(&registry_, &taken_); }

 private:
  dsl::Registry registry_;
  size_t taken_ = 0;  // of the catalog's deployed definitions, how many were added
};

}  // namespace amtsweg::core
