// `amtsweg run` with a directory whose organisations have webhooks: their events are posted,
// signed, to the receiver; a missing secret is a usage error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"
#include "tests/webhook/receiver.h"
#include "tests/webhook/test_util.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using testing::Output;
using testing::Receiver;
using testing::RunAmtsweg;

class WebhookCliTest : public ::testing::Test {
 protected:
  std::string Args(const std::string& directory) const {
    return "run --workflows " AMTSWEG_SOURCE_DIR "/workflows --directory " + directory +
           " --data-dir " + (dir_ / "data").string() +
           " --source file:" AMTSWEG_SOURCE_DIR
           "/workflows/samples/01-gewerbeanmeldung.jsonl"
           " --until-idle --quiet --webhook-read-timeout 2000";
  }
  testing::TempDir tmp_{"amtsweg-webhook-cli"};
  const fs::path dir_{tmp_.path()};
};

TEST_F(WebhookCliTest, RunPostsEveryOrganisationsEventsToItsWebhook) {
  Receiver receiver("cli-secret");
  ASSERT_TRUE(receiver.Start());
  std::string directory = (dir_ / "directory.yaml").string();
  std::ofstream(directory) << testing::DirectoryWithWebhooks(receiver.port(), "HOOK_SECRET");
  Output o = RunAmtsweg(Args(directory), "HOOK_SECRET=cli-secret");
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Receiver::Request> requests = receiver.requests();
  ASSERT_FALSE(requests.empty());
  std::set<std::string> orgs;
  for (const Receiver::Request& r : requests) {
    EXPECT_TRUE(r.signature_ok) << r.path << " " << r.id;
    EXPECT_EQ(r.answer, Receiver::Answer::kAccept);
    orgs.insert(r.path);
  }
  EXPECT_GE(orgs.size(), 3u) << "several organisations receive events";
  EXPECT_EQ(receiver.violations(), std::vector<std::string>{});
  // Nothing went to files: every organisation is on a webhook.
  fs::path out = dir_ / "data" / "out";
  size_t files = 0;
  if (fs::exists(out)) {
    for (const auto& entry : fs::directory_iterator(out))
      files += entry.path().filename().string().starts_with("amtsweg.org.");
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(WebhookCliTest, SecretsMayComeFromAFileNextToTheDirectory) {
  Receiver receiver("file-secret");
  ASSERT_TRUE(receiver.Start());
  std::string directory = (dir_ / "directory.yaml").string();
  std::string text = testing::DirectoryWithWebhooks(receiver.port(), "UNUSED");
  for (size_t at; (at = text.find("webhook_secret_env: UNUSED")) != std::string::npos;)
    text.replace(at, 26, "webhook_secret_file: hook-secret");
  std::ofstream(directory) << text;
  std::ofstream(dir_ / "hook-secret") << "file-secret\n";  // the newline is not part of it
  Output o = RunAmtsweg(Args(directory), "cd / &&");
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Receiver::Request> requests = receiver.requests();
  ASSERT_FALSE(requests.empty());
  for (const Receiver::Request& r : requests)
    EXPECT_TRUE(r.signature_ok) << r.path << " " << r.id;
}

TEST_F(WebhookCliTest, AMissingSecretIsAUsageError) {
  std::string directory = (dir_ / "directory.yaml").string();
  std::ofstream(directory) << testing::DirectoryWithWebhooks(9, "AMTSWEG_UNSET_HOOK_SECRET");
  Output o = RunAmtsweg(Args(directory), "env -u AMTSWEG_UNSET_HOOK_SECRET");
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_NE(o.err.find("environment variable AMTSWEG_UNSET_HOOK_SECRET is not set"),
            std::string::npos)
      << o.err;
}

}  // namespace
}  // namespace amtsweg
