// KafkaSource against librdkafka's mock cluster. A consumer group's first join takes the mock
// about 3 s (its initial rebalance delay), so each test here joins as few times as it can.
#include "connectors/kafka/kafka_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "connectors/kafka/internal/kafka_internal.h"
#include "engine/common/value.h"
#include "engine/core/cloudevent.h"
#include "tests/kafka_unit/mock_cluster.h"

namespace amtsweg::connectors {
namespace {

using internal::JavaPartition;
using testing::GroupMember;
using testing::MockCluster;
using testing::PollUntil;
using testing::PollUntilTrue;

core::PositionLookup NoPositions() {
  return [](const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
}

const core::RawInput* FindByWhere(const std::vector<core::RawInput>& inputs,
                                  const std::string& where) {
  for (const core::RawInput& in : inputs) {
    if (in.where == where) return &in;
  }
  return nullptr;
}

std::string Where(int32_t partition, int64_t offset) {
  return "topic in partition " + std::to_string(partition) + " offset " + std::to_string(offset);
}

TEST(KafkaSourceTest, ConvertsEachKindOfMessage) {
  MockCluster cluster;
  cluster.CreateTopic("in", 3);
  const int32_t pa = JavaPartition("case-a", 3);
  const int32_t pb = JavaPartition("case-b", 3);
  const int32_t pc = JavaPartition("case-c", 3);
  const int32_t pd = JavaPartition("case-d", 3);
  const std::string structured =
      R"({"specversion":"1.0","id":"1","source":"/p","type":"t","subject":"case-a"})";
  const int64_t oa = cluster.Produce("in", pa, "case-a", structured);
  const int64_t ob = cluster.Produce("in", pb, "case-b", R"({"antrag":"x"})",
                                     {{"ce_specversion", "1.0"},
                                      {"ce_id", "2"},
                                      {"ce_source", "/portal"},
                                      {"ce_type", "antrag.eingegangen"},
                                      {"ce_subject", "case-b"},
                                      {"ce_time", "2024-05-02T10:00:00Z"},
                                      {"ce_participant", "bauamt \"Nord\""},
                                      {"content-type", "application/json"}});
  const int32_t wrong = (pc + 1) % 3;
  const int64_t oc = cluster.Produce("in", wrong, "case-c", "{}");
  const std::string big(70000, 'x');
  const int64_t od = cluster.Produce("in", pd, "case-d", big);
  const int64_t oe = cluster.Produce("in", 0, std::nullopt, "{}");
  ASSERT_FALSE(::testing::Test::HasFailure());

  auto source = KafkaSource::Open(cluster.Config("in", "g"), 1024);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  KafkaSource& s = **source;
  EXPECT_EQ(s.name(), "kafka:in");
  EXPECT_FALSE(s.CaughtUp());  // nothing assigned yet
  ASSERT_TRUE(s.Start(NoPositions()).ok());

  core::Positions positions;
  std::vector<core::RawInput> inputs = PollUntil(s, 5, &positions);
  ASSERT_EQ(inputs.size(), 5u);

  const core::RawInput* a = FindByWhere(inputs, Where(pa, oa));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->bytes, structured);
  EXPECT_EQ(a->key, "case-a");
  EXPECT_EQ(a->lane, static_cast<uint32_t>(pa));
  EXPECT_EQ(a->size, structured.size());
  EXPECT_FALSE(a->oversized);
  EXPECT_EQ(a->misrouted, "");
  EXPECT_FALSE(a->replay);

  // Binary mode: the value and the headers as they are, for the engine to decode (and a dead
  // letter to keep); where it was read from for the dead letter's error headers.
  const core::RawInput* b = FindByWhere(inputs, Where(pb, ob));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->bytes, R"({"antrag":"x"})");
  ASSERT_EQ(b->headers.size(), 8u);
  EXPECT_EQ(b->headers[0], (std::pair<std::string, std::string>{"ce_specversion", "1.0"}));
  EXPECT_EQ(b->headers[6],
            (std::pair<std::string, std::string>{"ce_participant", "bauamt \"Nord\""}));
  ASSERT_TRUE(b->kafka.has_value());
  EXPECT_EQ(b->kafka->topic, "in");
  EXPECT_EQ(b->kafka->partition, pb);
  EXPECT_EQ(b->kafka->offset, ob);
  EXPECT_GT(b->kafka->timestamp_ms, 0);
  Result<runtime::InputEvent> event = core::DecodeMessage(b->bytes, b->headers);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->id, "2");
  EXPECT_EQ(event->type, "antrag.eingegangen");
  EXPECT_EQ(event->subject, "case-b");
  EXPECT_EQ(event->participant, "bauamt \"Nord\"");
  EXPECT_EQ(event->data["antrag"].as_string(), "x");
  EXPECT_EQ(b->misrouted, "");

  const core::RawInput* c = FindByWhere(inputs, Where(wrong, oc));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->misrouted.rfind("message key 'case-c' belongs to partition " + std::to_string(pc) +
                                   " of in, not to " + std::to_string(wrong) +
                                   ", under the topic's partitioner murmur2",
                               0),
            0u)
      << c->misrouted;
  // The reason names the fix.
  EXPECT_NE(c->misrouted.find("or produce with the murmur2 partitioner (librdkafka: -X "
                              "partitioner=murmur2_random)"),
            std::string::npos)
      << c->misrouted;

  const core::RawInput* d = FindByWhere(inputs, Where(pd, od));
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->oversized);
  EXPECT_EQ(d->size, big.size());
  EXPECT_EQ(d->bytes, big.substr(0, 64 * 1024));

  const core::RawInput* e = FindByWhere(inputs, Where(0, oe));
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->key.has_value());
  EXPECT_EQ(e->misrouted, "");  // without a key the engine checks the case id

  // Positions: the offset after the last input read from each partition.
  std::map<int32_t, int64_t> next;
  for (const core::RawInput& in : inputs) {
    int64_t offset = std::stoll(in.where.substr(in.where.rfind(' ') + 1));
    int64_t& n = next[static_cast<int32_t>(in.lane)];
    n = std::max(n, offset + 1);
  }
  core::Positions expected;
  for (const auto& [p, offset] : next)
    expected.emplace_back("kafka:in:" + std::to_string(p), std::to_string(offset));
  expected.emplace_back("kafka:in:partitioner", "murmur2");  // stored with them (see Start)
  std::sort(positions.begin(), positions.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(positions, expected);

  // Every partition read to its end: caught up, no busy lanes, and an empty Poll has no positions.
  std::vector<core::RawInput> more;
  ASSERT_TRUE(PollUntilTrue(
      s, [&] { return s.CaughtUp(); }, &more));
  EXPECT_TRUE(more.empty());
  std::vector<uint32_t> busy = {99};
  s.BusyLanes(&busy);
  EXPECT_TRUE(busy.empty());
  Result<size_t> n = s.Poll(10, std::chrono::milliseconds(0), &more);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  core::Positions none;
  s.PositionsAfterPoll(&none);
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(s.AtEnd());

  // A new message makes its partition busy again.
  const int64_t oa2 = cluster.Produce("in", pa, "case-a", structured);
  std::vector<core::RawInput> again = PollUntil(s, 1, nullptr);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].where, Where(pa, oa2));
}

class KafkaSourceReplayTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KafkaSourceReplayTest, InputBelowTheGroupsCommittedOffsetIsReplay) {
  MockCluster cluster;
  cluster.CreateTopic("in", 1);
  for (int i = 0; i < 5; ++i)
    cluster.Produce("in", 0, "case-" + std::to_string(i), "{}");
  ASSERT_FALSE(::testing::Test::HasFailure());
  KafkaConfig config = cluster.Config("in", "g");
  config.consumer_properties.emplace_back("partition.assignment.strategy", GetParam());

  {
    auto first = KafkaSource::Open(config, 1 << 20);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    int revokes = 0;
    (*first)->SetRevokeHandler(
        [&revokes](std::vector<core::RawInput>& pending, const core::Positions& positions) {
          ++revokes;
          EXPECT_TRUE(pending.empty());  // outside Poll nothing is pending
          EXPECT_TRUE(positions.empty());
        });
    ASSERT_TRUE((*first)->Start(NoPositions()).ok());
    core::Positions positions;
    std::vector<core::RawInput> inputs = PollUntil(**first, 5, &positions);
    ASSERT_EQ(inputs.size(), 5u);
    for (const core::RawInput& in : inputs)
      EXPECT_FALSE(in.replay) << in.where;
    EXPECT_EQ(positions,
              (core::Positions{{"kafka:in:0", "5"}, {"kafka:in:partitioner", "murmur2"}}));
    // Published up to offset 3; positions of other sources are not this source's business.
    (*first)->Committed({{"kafka:in:0", "3"}, {"kafka:other:0", "9"}, {"file:/x", "1"}});
    ASSERT_TRUE((*first)->Close().ok());
    EXPECT_EQ(revokes, 1);  // leaving the group revoked the partition
  }

  // The next owner has a stored position (offset 1) and learns the committed offset (3).
  auto second = KafkaSource::Open(config, 1 << 20);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::vector<std::string> looked_up;
  ASSERT_TRUE(
      (*second)
          ->Start([&looked_up](const std::string& key) -> Result<std::optional<std::string>> {
            looked_up.push_back(key);
            // A store from before the partitioner was recorded with the positions.
            if (key == "kafka:in:partitioner") return std::optional<std::string>();
            return std::optional<std::string>("1");
          })
          .ok());
  std::vector<core::RawInput> inputs = PollUntil(**second, 4);
  ASSERT_EQ(inputs.size(), 4u);
  EXPECT_EQ(looked_up, (std::vector<std::string>{"kafka:in:partitioner", "kafka:in:0",
                                                 "kafka:in:partitioner"}));
  for (int64_t offset = 1; offset <= 4; ++offset) {
    const core::RawInput* in = FindByWhere(inputs, Where(0, offset));
    ASSERT_NE(in, nullptr) << offset;
    EXPECT_EQ(in->replay, offset < 3) << offset;
  }
}

INSTANTIATE_TEST_SUITE_P(Protocols, KafkaSourceReplayTest,
                         ::testing::Values("cooperative-sticky", "range"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           return std::string(param_info.param) == "range" ? "Eager"
                                                                           : "Cooperative";
                         });

// The member that gives up a partition must be the group's only follower and the member that
// takes it over the group's leader. The mock's group coordinator ends a sync round as soon as
// the leader's SyncGroup has brought every member's assignment; a follower whose SyncGroup comes
// later is answered INVALID_REQUEST and rejoins at once, and while the group is joining again
// the mock refuses every OffsetCommit with REBALANCE_IN_PROGRESS. Which SyncGroup comes first is
// up to thread scheduling: with the giving member as leader and a second follower, a follower
// that lost the race made the group refuse the revoke handler's commit now and then (more often
// under load), and the next owner read the partition without knowing it had been published.
// Here the only follower that can be late is the one giving the partition up: it then rejoins
// with everything it owns, nothing is revoked, and the round is simply repeated. A real broker
// keeps accepting commits of the current generation while members rejoin.
TEST(KafkaSourceTest, ARevokedPartitionIsCommittedForItsNextOwner) {
  MockCluster cluster;
  cluster.CreateTopic("side", 1);
  cluster.CreateTopic("in", 3);
  for (int32_t p = 0; p < 3; ++p) {
    for (int i = 0; i < 3; ++i)
      cluster.Produce("in", p, std::nullopt, "{}");
  }
  ASSERT_FALSE(::testing::Test::HasFailure());
  const KafkaConfig config = cluster.Config("in", "g");

  // The next owner joins first (so it leads the group), on another topic only.
  GroupMember next(cluster, "g");
  next.Subscribe({"side"});
  const GroupMember::TopicPartition side = {"side", 0};
  auto deadline = std::chrono::steady_clock::now() + 2 * testing::kDeadline;
  while (next.owned().count(side) == 0 && std::chrono::steady_clock::now() < deadline)
    next.Poll(std::chrono::milliseconds(100));
  ASSERT_EQ(next.owned(), std::set<GroupMember::TopicPartition>{side});

  auto first = KafkaSource::Open(config, 1 << 20);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  KafkaSource& a = **first;
  core::Positions stored;  // what the engine would have stored with its batches
  int revokes = 0;
  // Like the engine: process what is pending, then report everything as published.
  a.SetRevokeHandler([&](std::vector<core::RawInput>& pending, const core::Positions& positions) {
    ++revokes;
    EXPECT_TRUE(pending.empty());  // nothing new arrived in the Poll that revoked
    stored.insert(stored.end(), positions.begin(), positions.end());
    a.Committed(stored);
  });
  ASSERT_TRUE(a.Start(NoPositions()).ok());
  std::vector<core::RawInput> a_inputs;
  // Serves both members (each one's rebalances wait for the other) until `done`. Generous: each
  // round takes the mock 3.5 s, and a round in which the first member syncs late is repeated.
  auto serve = [&](auto done) {
    auto until = std::chrono::steady_clock::now() + 6 * testing::kDeadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      next.Poll(std::chrono::milliseconds(50));
      Result<size_t> n = a.Poll(10, std::chrono::milliseconds(50), &a_inputs);
      if (!n.ok()) {
        ADD_FAILURE() << n.status().ToString();
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(serve([&] { return a_inputs.size() >= 9 && a.CaughtUp(); }));
  ASSERT_EQ(a_inputs.size(), 9u);
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_TRUE(a.OwnsLane(static_cast<uint32_t>(p))) << p;
    stored.emplace_back(a.PositionKey(p), "3");
  }
  a_inputs.clear();

  // The revoke handler's asynchronous commit (of all three partitions) is refused as if the group
  // were rebalancing; the synchronous one of the revoked partition that follows it goes through.
  // The refused offsets must wait for the first member's next assignment: sent at once they would
  // queue behind its JoinGroup, come back ILLEGAL_GENERATION, and librdkafka would drop the two
  // partitions it keeps as lost (they would be read again from the start).
  rd_kafka_mock_push_request_errors(cluster.mock(), /*OffsetCommit*/ 8, 1,
                                    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
  // The next owner subscribes to the input topic as well: cooperative-sticky takes one of the
  // first member's partitions, revokes it in one round and gives it in the next.
  next.Subscribe({"side", "in"});
  auto taken = [&]() -> std::optional<int32_t> {
    for (const auto& [topic, p] : next.owned()) {
      if (topic == "in") return p;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(serve([&] { return taken().has_value(); }));
  const int32_t moved = *taken();
  EXPECT_EQ(revokes, 1);
  // The first member committed it before it went: its next owner finds it published.
  EXPECT_EQ(next.committed_at_assignment().at({"in", moved}), 3);
  EXPECT_FALSE(a.OwnsLane(static_cast<uint32_t>(moved)));

  // The refused commits of the partitions the first member kept went out with its next
  // assignment; it kept them all along, so nothing was read again.
  auto kept = [&] {
    for (int32_t p = 0; p < 3; ++p) {
      if (p != moved && !a.OwnsLane(static_cast<uint32_t>(p))) return false;
    }
    return true;
  };
  ASSERT_TRUE(serve([&] {
    if (!kept()) return true;  // reported below
    for (int32_t p = 0; p < 3; ++p) {
      if (next.Committed("in", p) != 3) return false;
    }
    return true;
  }));
  ASSERT_TRUE(kept()) << "the first member lost the partitions it kept";
  for (int32_t p = 0; p < 3; ++p)
    EXPECT_EQ(next.Committed("in", p), 3) << p;
  EXPECT_EQ(next.owned().size(), 2u);
  EXPECT_EQ(revokes, 1);
  EXPECT_TRUE(a_inputs.empty());
  ASSERT_TRUE(serve([&] { return a.CaughtUp(); }));
  std::vector<uint32_t> a_busy;
  a.BusyLanes(&a_busy);
  EXPECT_TRUE(a_busy.empty());
  EXPECT_TRUE(a_inputs.empty());
}

// With the input topic's partitioner set to crc32 (librdkafka's default), input where librdkafka's
// clients put it is accepted and a case's lane is its key's crc32 partition; input where only
// Java's partitioner would put it is misrouted, and the reason names both partitioners. The store
// records the partitioner with the positions, and a store that read the topic with another one
// (or before partitioners were recorded, i.e. with murmur2) refuses the setting.
TEST(KafkaSourceTest, TheTopicsPartitionerDecidesWhereAKeyBelongs) {
  MockCluster cluster;
  cluster.CreateTopic("in", 4);
  // Keys whose partitions differ under the two partitioners.
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 3 && i < 1000; ++i) {
    std::string k = "GA-2026-" + std::to_string(1000 + i);
    if (PartitionOf(KafkaPartitioner::kCrc32, k, 4) != JavaPartition(k, 4)) keys.push_back(k);
  }
  ASSERT_EQ(keys.size(), 3u);
  std::map<std::string, int64_t> at_crc, at_java;
  for (const std::string& k : keys) {
    at_crc[k] = cluster.Produce("in", PartitionOf(KafkaPartitioner::kCrc32, k, 4), k, "{}");
    at_java[k] = cluster.Produce("in", JavaPartition(k, 4), k, "{}");
  }
  ASSERT_FALSE(::testing::Test::HasFailure());

  KafkaConfig config = cluster.Config("in", "g");
  config.partitioner = KafkaPartitioner::kCrc32;
  std::map<std::string, std::string> store;  // what the engine would have stored
  auto lookup = [&store](const std::string& key) -> Result<std::optional<std::string>> {
    auto it = store.find(key);
    if (it == store.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  };
  {
    auto source = KafkaSource::Open(config, 1 << 20);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    KafkaSource& s = **source;
    ASSERT_TRUE(s.Start(lookup).ok());
    core::Positions positions;
    std::vector<core::RawInput> inputs = PollUntil(s, 2 * keys.size(), &positions);
    ASSERT_EQ(inputs.size(), 2 * keys.size());
    for (const std::string& k : keys) {
      const int32_t crc = PartitionOf(KafkaPartitioner::kCrc32, k, 4);
      const int32_t java = JavaPartition(k, 4);
      EXPECT_EQ(s.CaseLane(k), static_cast<uint32_t>(crc)) << k;
      const core::RawInput* good = FindByWhere(inputs, Where(crc, at_crc[k]));
      ASSERT_NE(good, nullptr) << k;
      EXPECT_EQ(good->misrouted, "") << k;
      const core::RawInput* bad = FindByWhere(inputs, Where(java, at_java[k]));
      ASSERT_NE(bad, nullptr) << k;
      EXPECT_EQ(
          bad->misrouted.rfind("message key '" + k + "' belongs to partition " +
                                   std::to_string(crc) + " of in, not to " + std::to_string(java) +
                                   ", under the topic's partitioner crc32; the producer "
                                   "may use murmur2",
                               0),
          0u)
          << bad->misrouted;
      EXPECT_NE(bad->misrouted.find("partitioner=consistent_random"), std::string::npos)
          << bad->misrouted;
    }
    for (const auto& [key, token] : positions)
      store[key] = token;
    EXPECT_EQ(store["kafka:in:partitioner"], "crc32");
  }

  // The same store with murmur2: refused at Start, naming what the store holds.
  KafkaConfig java = config;
  java.partitioner = KafkaPartitioner::kMurmur2;
  {
    auto source = KafkaSource::Open(java, 1 << 20);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    Status started = (*source)->Start(lookup);
    EXPECT_TRUE(started.IsInvalidArgument()) << started.ToString();
    EXPECT_NE(started.message().find("read input topic in with partitioner crc32, not murmur2"),
              std::string::npos)
        << started.message();
  }

  // A store from before partitioners were recorded (positions only) read the topic as murmur2:
  // crc32 is refused when a partition with a stored position is assigned.
  store.erase("kafka:in:partitioner");
  {
    auto source = KafkaSource::Open(config, 1 << 20);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    ASSERT_TRUE((*source)->Start(lookup).ok());
    std::vector<core::RawInput> out;
    Status error;
    auto deadline = std::chrono::steady_clock::now() + 2 * testing::kDeadline;
    while (error.ok() && std::chrono::steady_clock::now() < deadline) {
      Result<size_t> n = (*source)->Poll(10, std::chrono::milliseconds(100), &out);
      if (!n.ok()) error = n.status();
    }
    EXPECT_TRUE(error.IsInvalidArgument()) << error.ToString();
    EXPECT_NE(error.message().find("with partitioner murmur2 (stored before partitioners were "
                                   "recorded), not crc32"),
              std::string::npos)
        << error.message();
    EXPECT_TRUE(out.empty());
  }
}

// `run --until-idle` waits with AwaitCommitted until the coordinator holds the store's positions
// as the group's offsets: commits the coordinator refuses are sent again until it takes them, and
// a coordinator that keeps refusing makes it fail, naming the partition behind.
TEST(KafkaSourceTest, AwaitCommittedWaitsForTheCoordinatorToHoldTheStoredPositions) {
  MockCluster cluster;
  cluster.CreateTopic("in", 1);
  for (int i = 0; i < 3; ++i)
    cluster.Produce("in", 0, std::nullopt, "{}");
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::map<std::string, std::string> store;
  auto lookup = [&store](const std::string& key) -> Result<std::optional<std::string>> {
    auto it = store.find(key);
    if (it == store.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  };
  auto source = KafkaSource::Open(cluster.Config("in", "g"), 1 << 20);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  KafkaSource& s = **source;
  ASSERT_TRUE(s.Start(lookup).ok());
  ASSERT_EQ(PollUntil(s, 3).size(), 3u);
  GroupMember observer(cluster, "g");

  // Stored, and Committed() told, but the coordinator refuses the commits for a while.
  store[s.PositionKey(0)] = "2";
  rd_kafka_mock_push_request_errors(
      cluster.mock(), /*OffsetCommit*/ 8, 3, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
      RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
  s.Committed({{s.PositionKey(0), "2"}});
  Status awaited = s.AwaitCommitted(testing::kDeadline);
  EXPECT_TRUE(awaited.ok()) << awaited.ToString();
  EXPECT_EQ(observer.Committed("in", 0), 2);

  // Stored but never given to Committed() (e.g. the commit was lost with a broker restart): it
  // is committed all the same. A coordinator that refuses every commit: Unavailable.
  store[s.PositionKey(0)] = "3";
  const std::vector<rd_kafka_resp_err_t> refusals(1000, RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  rd_kafka_mock_push_request_errors_array(cluster.mock(), /*OffsetCommit*/ 8, refusals.size(),
                                          refusals.data());
  Status refused = s.AwaitCommitted(std::chrono::seconds(3));
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable) << refused.ToString();
  EXPECT_NE(refused.message().find("committed offsets behind the store: 0: 2 of 3"),
            std::string::npos)
      << refused.message();
  // Once the coordinator takes commits again, the stored position goes through.
  rd_kafka_mock_clear_request_errors(cluster.mock(), 8);
  Status later = s.AwaitCommitted(testing::kDeadline);
  EXPECT_TRUE(later.ok()) << later.ToString();
  EXPECT_EQ(observer.Committed("in", 0), 3);
  std::vector<core::RawInput> none;
  Result<size_t> n = s.Poll(10, std::chrono::milliseconds(0), &none);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);  // paused for good
}

TEST(KafkaSourceTest, AStoredPositionThatCannotBeReadStopsThePoll) {
  MockCluster cluster;
  cluster.CreateTopic("in", 1);
  cluster.Produce("in", 0, std::nullopt, "{}");
  auto source = KafkaSource::Open(cluster.Config("in", "g"), 1 << 20);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_TRUE((*source)
                  ->Start([](const std::string& key) -> Result<std::optional<std::string>> {
                    if (key == "kafka:in:partitioner") return std::optional<std::string>();
                    return Status::IOError("disk on fire");
                  })
                  .ok());
  std::vector<core::RawInput> out;
  Status error;
  auto deadline = std::chrono::steady_clock::now() + testing::kDeadline;
  while (error.ok() && std::chrono::steady_clock::now() < deadline) {
    Result<size_t> n = (*source)->Poll(10, std::chrono::milliseconds(100), &out);
    if (!n.ok()) error = n.status();
  }
  EXPECT_EQ(error.code(), Status::Code::kIOError);
  EXPECT_NE(error.message().find("reading the stored position 'kafka:in:0': disk on fire"),
            std::string::npos)
      << error.message();
  EXPECT_TRUE(out.empty());
}

TEST(KafkaSourceTest, PausedSourceReturnsNothingUntilResumed) {
  MockCluster cluster;
  cluster.CreateTopic("in", 1);
  for (int i = 0; i < 3; ++i)
    cluster.Produce("in", 0, "case-" + std::to_string(i), "{}");
  ASSERT_FALSE(::testing::Test::HasFailure());
  auto source = KafkaSource::Open(cluster.Config("in", "g"), 1 << 20);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  KafkaSource& s = **source;
  ASSERT_TRUE(s.Pause(true).ok());  // before the assignment: it is paused when it arrives
  ASSERT_TRUE(s.Start(NoPositions()).ok());

  std::vector<core::RawInput> got;
  std::vector<uint32_t> busy;
  ASSERT_TRUE(PollUntilTrue(
      s,
      [&] {
        s.BusyLanes(&busy);
        return !busy.empty();
      },
      &got));
  EXPECT_EQ(busy, std::vector<uint32_t>{0});
  for (int i = 0; i < 3; ++i) {
    Result<size_t> n = s.Poll(100, std::chrono::milliseconds(200), &got);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  }
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(s.CaughtUp());

  ASSERT_TRUE(s.Pause(false).ok());
  std::vector<core::RawInput> inputs = PollUntil(s, 3);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].where, Where(0, 0));
  EXPECT_EQ(inputs[2].where, Where(0, 2));

  // Paused again after reading: new input waits for the resume.
  ASSERT_TRUE(s.Pause(true).ok());
  cluster.Produce("in", 0, "case-3", "{}");
  for (int i = 0; i < 3; ++i) {
    Result<size_t> n = s.Poll(100, std::chrono::milliseconds(200), &got);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  }
  ASSERT_TRUE(s.Pause(false).ok());
  inputs = PollUntil(s, 1);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].where, Where(0, 3));
}

TEST(KafkaSourceTest, LifecycleMistakesAreErrors) {
  MockCluster cluster;
  auto source = KafkaSource::Open(cluster.Config("in", "g"), 1024);
  ASSERT_TRUE(source.ok());
  std::vector<core::RawInput> out;
  EXPECT_TRUE((*source)->Poll(1, std::chrono::milliseconds(0), &out).status().IsInvalidArgument());
  std::vector<uint32_t> busy = {1};
  (*source)->BusyLanes(&busy);
  EXPECT_TRUE(busy.empty());
  EXPECT_EQ((*source)->PositionKey(7), "kafka:in:7");
  ASSERT_TRUE((*source)->Close().ok());
  ASSERT_TRUE((*source)->Close().ok());
  EXPECT_FALSE((*source)->Start(NoPositions()).ok());
  EXPECT_FALSE((*source)->Poll(1, std::chrono::milliseconds(0), &out).ok());
}

TEST(KafkaSourceTest, BadConfigurationIsRefusedAtOpen) {
  MockCluster cluster;
  KafkaConfig config = cluster.Config("in", "g");
  config.consumer_properties.emplace_back("fetch.min.bytes", "lots");
  auto source = KafkaSource::Open(config, 1024);
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("'fetch.min.bytes'"), std::string::npos)
      << source.status().message();
  config = cluster.Config("org:bauamt", "g");
  EXPECT_TRUE(KafkaSource::Open(config, 1024).status().IsInvalidArgument());
}

}  // namespace
}  // namespace amtsweg::connectors
