// The engine with organisations on webhooks: their events go through the outbox to the
// WebhookSink, and what is pending when the engine stops arrives after a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "connectors/file/file_source.h"
#include "connectors/webhook/routing_sink.h"
#include "connectors/webhook/webhook_sink.h"
#include "engine/core/destination.h"
#include "engine/core/engine.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/store/store.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"
#include "tests/webhook/receiver.h"
#include "tests/webhook/test_util.h"

namespace amtsweg {
namespace {

using testing::Receiver;

constexpr char kSecret[] = "engine-test-secret";

using testing::DirectoryWithWebhooks;
using testing::ReadFile;

// Every sample stream in one file.
std::string SampleInput(const std::string& dir) {
  std::string path = dir + "/input.jsonl";
  std::ofstream out(path);
  for (const char* name : {"01-gewerbeanmeldung.jsonl", "02-bauantrag.jsonl",
                           "03-handwerksrolle.jsonl", "04-bimschg.jsonl"}) {
    out << ReadFile(std::string(AMTSWEG_SOURCE_DIR "/workflows/samples/") + name);
  }
  return path;
}

connectors::WebhookOptions OptionsFor(const dsl::Directory& directory, uint64_t seed) {
  connectors::WebhookOptions o;
  for (const dsl::Organisation& org : directory.organisations()) {
    if (!org.webhook.empty())
      o.endpoints[core::OrganisationDestination(org)] = {org.webhook, kSecret};
  }
  o.connect_timeout = std::chrono::milliseconds(500);
  o.read_timeout = std::chrono::milliseconds(2000);
  o.initial_backoff = std::chrono::milliseconds(1);
  o.max_backoff = std::chrono::milliseconds(20);
  o.seed = seed;
  return o;
}

// Never acknowledges anything: no entry may go there in this test.
class NoSink final : public core::Sink {
 public:
  Status Send(std::vector<core::OutboundMessage> entries) override {
    return Status::InvalidArgument("unexpected destination " + entries.front().destination);
  }
  Status Acknowledged(std::chrono::milliseconds, std::vector<uint64_t>*) override {
    return Status::OK();
  }
};

class WebhookEngineTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"amtsweg-webhook"};
  const std::filesystem::path dir_{tmp_.path()};
};

TEST_F(WebhookEngineTest, PendingDeliveriesArriveAfterARestart) {
  const uint64_t seed = testing::TestSeed();
  // A port with nobody listening: the receiver is down during the first run.
  int port = 0;
  {
    Receiver probe(kSecret);
    ASSERT_TRUE(probe.Start());
    port = probe.port();
  }
  auto directory = dsl::Directory::Parse(DirectoryWithWebhooks(port, "AMTSWEG_TEST_WEBHOOK_SECRET"),
                                         "directory.yaml");
  ASSERT_TRUE(directory.ok()) << directory.status().ToString();
  dsl::RegistryLoadResult loaded =
      dsl::LoadRegistry(AMTSWEG_SOURCE_DIR "/workflows", directory->get());
  ASSERT_TRUE(loaded.errors.empty());
  const std::string input = SampleInput(dir_.string());
  const std::string data = (dir_ / "data").string();

  std::set<std::string> pending;  // "<path> <event id>" of what the first run left
  {
    auto st = store::Store::Open(data);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    ManualClock clock(0);
    core::Engine engine(**st, loaded.registry, **directory, clock);
    ASSERT_TRUE(engine.Open().ok());
    auto hooks = connectors::WebhookSink::Open(OptionsFor(**directory, seed));
    ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
    NoSink other;
    connectors::RoutingSink sink(**hooks, other);
    auto source = connectors::FileSource::Open(input, 256 * 1024);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    core::RunOptions run;
    run.poll_wait = std::chrono::milliseconds(0);
    // Stop once everything is read and the receiver has been tried a few times.
    run.stop = [&] { return (*source)->AtEnd() && (*hooks)->stats().failed >= 5; };
    ASSERT_TRUE(engine.Run(**source, &sink, run).ok());
    EXPECT_EQ((*hooks)->stats().delivered, 0u);
    EXPECT_GT(engine.outbox_backlog(), 0u);
    ASSERT_TRUE((*st)
                    ->ScanOutbox([&](const store::OutboxEntry& e) {
                      EXPECT_TRUE(e.destination.starts_with("webhook:")) << e.destination;
                      pending.insert("/hook/" + e.destination.substr(8) + " " + e.id);
                      return true;
                    })
                    .ok());
    EXPECT_EQ(pending.size(), engine.outbox_backlog());
  }  // the sink, the engine and the store stop here, deliveries pending
  ASSERT_FALSE(pending.empty());

  Receiver receiver(kSecret);
  ASSERT_TRUE(receiver.Start(port)) << "port " << port << " taken meanwhile";
  {
    auto st = store::Store::Open(data);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    ManualClock clock(0);
    core::Engine engine(**st, loaded.registry, **directory, clock);
    ASSERT_TRUE(engine.Open().ok());
    auto hooks = connectors::WebhookSink::Open(OptionsFor(**directory, seed + 1));
    ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
    NoSink other;
    connectors::RoutingSink sink(**hooks, other);
    auto source = connectors::FileSource::Open(input, 256 * 1024);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    core::RunOptions run;
    run.poll_wait = std::chrono::milliseconds(0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    run.stop = [&] { return std::chrono::steady_clock::now() > deadline; };
    ASSERT_TRUE(engine.Run(**source, &sink, run).ok());
    EXPECT_EQ(engine.stats().inputs, 0u) << "the input was all processed in the first run";
    EXPECT_EQ(engine.outbox_backlog(), 0u);
    auto size = (*st)->OutboxSize();
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, 0u);
  }
  std::set<std::string> arrived;
  for (const Receiver::Request& r : receiver.requests()) {
    EXPECT_TRUE(r.signature_ok) << r.id;
    if (r.answer == Receiver::Answer::kAccept) arrived.insert(r.path + " " + r.id);
  }
  EXPECT_EQ(arrived, pending);
  EXPECT_EQ(receiver.violations(), std::vector<std::string>{});
}

}  // namespace
}  // namespace amtsweg
