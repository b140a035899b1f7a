// Catalog: definitions deployed on one thread (the HTTP API's) reach a running engine's registry
// on another (its loop, between batches), each once and in order, while deploys go on; the
// ThreadSanitizer stage of scripts/test runs this.
#include "engine/core/catalog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/store/store.h"
#include "tests/testing/files.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

const std::string kRepo = AMTSWEG_SOURCE_DIR;

// The shipped gewerbeanmeldung (version 2) as version `version`.
std::string GewerbeanmeldungVersion(const std::string& yaml, int version) {
  std::string out = yaml;
  size_t at = out.find("\nversion: 2\n");
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) out.replace(at, 12, "\nversion: " + std::to_string(version) + "\n");
  return out;
}

TEST(CatalogTest, DeployedVersionsReachARunningRegistryOnceEachWhileDeploysGoOn) {
  testing::TempDir tmp("amtsweg-catalog");
  Result<testing::Shipped> shipped = testing::LoadShipped();
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  auto st = store::Store::Open(tmp.path() + "/data");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  Catalog catalog(**st, *shipped->directory, shipped->registry);
  const std::string yaml = testing::ReadFile(kRepo + "/workflows/gewerbeanmeldung.yaml");

  constexpr int kDeploys = 12;
  std::atomic<bool> deployed_all{false};
  std::thread api([&] {
    for (int version = 3; version < 3 + kDeploys; ++version) {
      std::vector<dsl::Diagnostic> errors;
      Result<dsl::DefinitionPtr> d =
          catalog.Deploy(GewerbeanmeldungVersion(yaml, version), &errors);
      EXPECT_TRUE(d.ok()) << d.status().ToString();
    }
    deployed_all = true;
  });

  // The engine thread: its own registry, which only it reads and changes.
  dsl::Registry live = shipped->registry;
  size_t taken = 0;
  for (bool last = false; !last;) {
    last = deployed_all.load();  // read before taking: a last round sees every deploy
    Status s = catalog.TakeDeployed(&live, &taken);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const dsl::Definition* latest = live.Latest("gewerbeanmeldung");
    ASSERT_NE(latest, nullptr);
    EXPECT_EQ(latest->version, 2 + static_cast<int>(taken));  // in order, each version once
    EXPECT_TRUE(live.HandlesType("de.amtsweg.application.submitted"));
    std::shared_ptr<const dsl::Registry> snapshot = catalog.Snapshot();
    EXPECT_GE(snapshot->Latest("gewerbeanmeldung")->version, latest->version);
    std::this_thread::yield();
  }
  api.join();

  EXPECT_EQ(taken, static_cast<size_t>(kDeploys));
  for (int version = 2; version < 3 + kDeploys; ++version)
    EXPECT_NE(live.Find("gewerbeanmeldung", version), nullptr) << version;
  // Stored as well: the registry of a restarted engine has every version.
  dsl::Registry restarted = shipped->registry;
  ASSERT_TRUE(AddDeployedDefinitions(**st, shipped->directory.get(), &restarted).ok());
  EXPECT_EQ(restarted.Latest("gewerbeanmeldung")->version, 2 + kDeploys);
}

}  // namespace
}  // namespace amtsweg::core
