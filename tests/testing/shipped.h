// The shipped definitions, loaded as `amtsweg run --workflows workflows --directory
// workflows/directory/schleswig-holstein.yaml` loads them, for tests that run the engine over the
// shipped workflows and samples. Header-only; each test binary defines AMTSWEG_SOURCE_DIR.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "engine/common/status.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/dsl/registry.h"

namespace amtsweg::testing {

struct Shipped {
  std::unique_ptr<dsl::Directory> directory;
  dsl::Registry registry;  // every workflow of workflows/, checked against the directory
};

// InvalidArgument with the directory's errors, or every workflow's diagnostics, one per line.
inline Result<Shipped> LoadShipped() {
  const std::string repo = AMTSWEG_SOURCE_DIR;
  Shipped out;
  ASSIGN_OR_RETURN(out.directory,
                   dsl::Directory::Load(repo + "/workflows/directory/schleswig-holstein.yaml"));
  dsl::RegistryLoadResult loaded = dsl::LoadRegistry(repo + "/workflows", out.directory.get());
  if (!loaded.errors.empty()) {
    std::string msg;
    for (const dsl::Diagnostic& d : loaded.errors)
      msg += (msg.empty() ? "" : "\n") + d.ToString();
    return Status::InvalidArgument(msg);
  }
  out.registry = std::move(loaded.registry);
  return out;
}

}  // namespace amtsweg::testing
