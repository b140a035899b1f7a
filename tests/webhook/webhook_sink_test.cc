#include "connectors/webhook/webhook_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/core/cloudevent.h"
#include "tests/testing/seed.h"
#include "tests/webhook/receiver.h"
#include "tests/webhook/test_util.h"

namespace amtsweg::connectors {
namespace {

using testing::Receiver;
using Answer = Receiver::Answer;

constexpr char kSecret[] = "test-secret-0123";

core::OutboundMessage Entry(uint64_t seq, const std::string& org, const std::string& case_id,
                            uint64_t event_seq) {
  core::OutboundMessage e;
  e.seq = seq;
  e.destination = "webhook:" + org;
  e.key = case_id;
  e.id = case_id + "/" + std::to_string(event_seq);
  e.payload = core::EncodeCloudEventJson(e.id, "amtsweg", "de.amtsweg.task.requested", case_id,
                                         1767225600000, R"({"organisation":")" + org + R"("})");
  return e;
}

// `orgs` x `cases` x `events` entries; seqs in the order of the events of each case.
std::vector<core::OutboundMessage> Entries(int orgs, int cases, int events) {
  std::vector<core::OutboundMessage> out;
  uint64_t seq = 1;
  for (int ev = 1; ev <= events; ++ev) {
    for (int c = 0; c < cases; ++c) {
      for (int o = 0; o < orgs; ++o) {
        out.push_back(Entry(seq++, "org-" + std::to_string(o), "CASE-" + std::to_string(c),
                            static_cast<uint64_t>(ev)));
      }
    }
  }
  return out;
}

WebhookOptions Options(const Receiver& receiver, int orgs, uint64_t seed) {
  WebhookOptions o;
  for (int i = 0; i < orgs; ++i) {
    std::string org = "org-" + std::to_string(i);
    o.endpoints["webhook:" + org] = {receiver.Url("/hook/" + org), kSecret};
  }
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.read_timeout = std::chrono::milliseconds(300);
  // Short waits between attempts, so that retries do not slow the tests down.
  o.initial_backoff = std::chrono::milliseconds(1);
  o.max_backoff = std::chrono::milliseconds(20);
  o.seed = seed;
  return o;
}

// Collects acknowledgements until `n` arrived or 30 s passed.
std::vector<uint64_t> CollectAcks(core::Sink& sink, size_t n) {
  std::vector<uint64_t> acks;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acks.size() < n && std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE(sink.Acknowledged(std::chrono::milliseconds(100), &acks).ok());
  }
  return acks;
}

TEST(WebhookSinkTest, PostsSignedStructuredCloudEvents) {
  Receiver receiver(kSecret);
  ASSERT_TRUE(receiver.Start());
  ManualClock clock(1767225600123);  // 2026-01-01T00:00:00.123Z
  WebhookOptions options = Options(receiver, 1, testing::TestSeed());
  options.clock = &clock;
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  core::OutboundMessage e = Entry(7, "org-0", "GA-1", 3);
  ASSERT_TRUE((*sink)->Send({e}).ok());
  EXPECT_EQ(CollectAcks(**sink, 1), std::vector<uint64_t>{7});
  std::vector<Receiver::Request> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/hook/org-0");
  EXPECT_EQ(requests[0].id, "GA-1/3");
  EXPECT_EQ(requests[0].subject, "GA-1");
  EXPECT_EQ(requests[0].content_type, "application/cloudevents+json");
  EXPECT_EQ(requests[0].timestamp, "1767225600");
  EXPECT_TRUE(requests[0].signature_ok);
  EXPECT_EQ((*sink)->stats().delivered, 1u);
  EXPECT_EQ((*sink)->stats().queued, 0u);
}

TEST(WebhookSinkTest, FailuresAndTimeoutsAreRetriedInOrderUntilEverythingArrives) {
  Receiver receiver(kSecret);
  ASSERT_TRUE(receiver.Start());
  // Refused, held past the client's read timeout, refused again; then it recovers.
  receiver.Script({Answer::kFail, Answer::kFail, Answer::kFail, Answer::kFail, Answer::kHold,
                   Answer::kHold, Answer::kFail, Answer::kFail, Answer::kFail});
  const uint64_t seed = testing::TestSeed();
  auto sink = WebhookSink::Open(Options(receiver, 3, seed));
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  std::vector<core::OutboundMessage> entries = Entries(3, 6, 5);
  const size_t n = entries.size();
  // Handed over in two parts, as the engine does as it commits.
  std::vector<core::OutboundMessage> first(entries.begin(), entries.begin() + 40);
  std::vector<core::OutboundMessage> second(entries.begin() + 40, entries.end());
  ASSERT_TRUE((*sink)->Send(first).ok());
  ASSERT_TRUE((*sink)->Send(second).ok());

  std::vector<uint64_t> acks = CollectAcks(**sink, n);
  std::sort(acks.begin(), acks.end());
  std::vector<uint64_t> all;
  for (const auto& e : entries)
    all.push_back(e.seq);
  EXPECT_EQ(acks, all) << "every entry acknowledged once";
  ASSERT_TRUE(receiver.WaitForAccepted(n, std::chrono::seconds(5)));
  std::set<std::string> accepted;
  for (const std::string& id : receiver.accepted())
    accepted.insert(id);
  for (const auto& e : entries)
    EXPECT_TRUE(accepted.contains(e.id)) << e.id << " did not arrive";
  EXPECT_EQ(receiver.violations(), std::vector<std::string>{});
  size_t held = 0;
  for (const Receiver::Request& r : receiver.requests()) {
    EXPECT_TRUE(r.signature_ok) << r.id;
    EXPECT_EQ(r.content_type, "application/cloudevents+json");
    if (r.answer == Answer::kHold) ++held;
  }
  EXPECT_EQ(held, 2u);
  // Each held event was sent again after the client's read timeout.
  for (const Receiver::Request& h : receiver.requests()) {
    if (h.answer != Answer::kHold) continue;
    size_t sent = 0;
    for (const Receiver::Request& r : receiver.requests())
      sent += r.path == h.path && r.id == h.id;
    EXPECT_GE(sent, 2u) << h.path << " " << h.id;
  }
  WebhookStats stats = (*sink)->stats();
  EXPECT_EQ(stats.delivered, n);
  EXPECT_GE(stats.failed, 9u);
  EXPECT_EQ(stats.queued, 0u);
  // Nothing is acknowledged twice.
  std::vector<uint64_t> more;
  ASSERT_TRUE((*sink)->Acknowledged(std::chrono::milliseconds(0), &more).ok());
  EXPECT_TRUE(more.empty());
}

TEST(WebhookSinkTest, ASlowCaseDoesNotHoldUpOtherCases) {
  Receiver receiver(kSecret);
  ASSERT_TRUE(receiver.Start());
  receiver.Script({Answer::kHold});  // the first request: CASE-0's first event
  WebhookOptions options = Options(receiver, 1, testing::TestSeed());
  options.read_timeout = std::chrono::seconds(60);  // the slow case is really slow
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  std::vector<core::OutboundMessage> slow = {Entry(1, "org-0", "CASE-0", 1),
                                             Entry(2, "org-0", "CASE-0", 2)};
  ASSERT_TRUE((*sink)->Send(slow).ok());
  // Wait until the held request is in, so that it is the one held.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (receiver.requests().empty() && std::chrono::steady_clock::now() < deadline) {
    std::vector<uint64_t> none;
    ASSERT_TRUE((*sink)->Acknowledged(std::chrono::milliseconds(10), &none).ok());
    ASSERT_TRUE(none.empty());
  }
  std::vector<core::OutboundMessage> others;
  for (int c = 1; c <= 5; ++c) {
    for (int ev = 1; ev <= 3; ++ev)
      others.push_back(Entry(static_cast<uint64_t>(10 * c + ev), "org-0",
                             "CASE-" + std::to_string(c), static_cast<uint64_t>(ev)));
  }
  ASSERT_TRUE((*sink)->Send(others).ok());
  std::vector<uint64_t> acks = CollectAcks(**sink, others.size());
  EXPECT_EQ(acks.size(), others.size());
  EXPECT_EQ(std::count(acks.begin(), acks.end(), 1u) + std::count(acks.begin(), acks.end(), 2u), 0);
  for (const Receiver::Request& r : receiver.requests())
    EXPECT_NE(r.id, "CASE-0/2") << "sent while CASE-0/1 was not delivered";
  receiver.ReleaseHolds();  // refused now; the sink tries again
  std::vector<uint64_t> rest = CollectAcks(**sink, 2);
  EXPECT_EQ(rest, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(receiver.violations(), std::vector<std::string>{});
}

TEST(WebhookSinkTest, RefusesEntriesItCannotDeliver) {
  WebhookOptions options;
  options.endpoints["webhook:a"] = {"https://a.example/hook", "s"};
  options.workers = 1;
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  core::OutboundMessage known = Entry(1, "a", "C", 1);
  core::OutboundMessage unknown = Entry(2, "b", "C", 1);
  Status s = (*sink)->Send({known, unknown});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("webhook:b"), std::string::npos) << s.message();
  EXPECT_EQ((*sink)->stats().queued, 0u) << "none of them was accepted";
  // A reference entry cannot reach a sink: core::OutboundMessage has no event range (the outbox
  // publisher expands references; tests/core/engine_edges_test.cc checks the expansion).
}

TEST(WebhookSinkTest, OpenChecksEndpoints) {
  WebhookOptions bad_url;
  bad_url.endpoints["webhook:a"] = {"ftp://a.example/", "s"};
  EXPECT_TRUE(WebhookSink::Open(bad_url).status().IsInvalidArgument());
  WebhookOptions no_secret;
  no_secret.endpoints["webhook:a"] = {"https://a.example/", ""};
  EXPECT_TRUE(WebhookSink::Open(no_secret).status().IsInvalidArgument());
}

}  // namespace
}  // namespace amtsweg::connectors
