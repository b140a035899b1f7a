#include "connectors/webhook/routing_sink.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/testing/memory_sink.h"
#include "tests/testing/seed.h"
#include "tests/webhook/receiver.h"
#include "tests/webhook/test_util.h"

namespace amtsweg::connectors {
namespace {

using testing::Receiver;

using testing::MemorySink;

core::OutboundMessage Entry(uint64_t seq, std::string destination, std::string key) {
  core::OutboundMessage e;
  e.seq = seq;
  e.destination = std::move(destination);
  e.key = key;
  e.id = key + "/" + std::to_string(seq);
  e.payload = R"({"specversion":"1.0","id":")" + e.id + R"(","subject":")" + key + R"("})";
  return e;
}

TEST(RoutingSinkTest, WebhookDestinationsGoToTheWebhookSinkOthersToTheOtherSink) {
  Receiver receiver("k");
  ASSERT_TRUE(receiver.Start());
  WebhookOptions options;
  options.endpoints["webhook:a"] = {receiver.Url("/a"), "k"};
  options.seed = testing::TestSeed();
  auto hooks = WebhookSink::Open(options);
  ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
  MemorySink other;
  RoutingSink sink(**hooks, other);
  ASSERT_TRUE(sink.Send({Entry(1, "webhook:a", "C1"), Entry(2, "amtsweg.org.b", "C1"),
                         Entry(3, "webhook:a", "C2"), Entry(4, "amtsweg.org.c", "C2")})
                  .ok());
  std::vector<uint64_t> acks;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acks.size() < 4 && std::chrono::steady_clock::now() < deadline)
    ASSERT_TRUE(sink.Acknowledged(std::chrono::milliseconds(100), &acks).ok());
  std::sort(acks.begin(), acks.end());
  EXPECT_EQ(acks, (std::vector<uint64_t>{1, 2, 3, 4}));
  ASSERT_EQ(other.sent.size(), 2u);
  EXPECT_EQ(other.sent[0].destination, "amtsweg.org.b");
  EXPECT_EQ(other.sent[1].destination, "amtsweg.org.c");
  std::vector<std::string> accepted = receiver.accepted();
  std::sort(accepted.begin(), accepted.end());
  EXPECT_EQ(accepted, (std::vector<std::string>{"C1/1", "C2/3"}));
}

TEST(RoutingSinkTest, AFailedSendAcceptsNothing) {
  WebhookOptions options;
  options.endpoints["webhook:a"] = {"https://a.example/", "k"};
  options.workers = 1;
  auto hooks = WebhookSink::Open(options);
  ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
  MemorySink other;
  RoutingSink sink(**hooks, other);
  // A webhook destination without an endpoint: the other sink gets nothing either.
  EXPECT_TRUE(sink.Send({Entry(1, "amtsweg.org.b", "C"), Entry(2, "webhook:zzz", "C")})
                  .IsInvalidArgument());
  EXPECT_TRUE(other.sent.empty());
  // The other sink refuses: the webhook entries are not queued.
  other.refuse = Status::Unavailable("refused");
  EXPECT_FALSE(sink.Send({Entry(3, "amtsweg.org.b", "C"), Entry(4, "webhook:a", "C")}).ok());
  EXPECT_EQ((*hooks)->stats().queued, 0u);
}

}  // namespace
}  // namespace amtsweg::connectors
