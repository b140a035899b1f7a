#include "connectors/kafka/kafka_sink.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "connectors/kafka/internal/kafka_internal.h"
#include "tests/kafka_unit/mock_cluster.h"

namespace amtsweg::connectors {
namespace {

using testing::kDeadline;
using testing::MockCluster;

core::OutboundMessage Entry(uint64_t seq, std::string destination, std::string key,
                            std::string payload) {
  core::OutboundMessage e;
  e.seq = seq;
  e.destination = std::move(destination);
  e.key = std::move(key);
  e.id = e.key + "/" + std::to_string(seq);
  e.payload = std::move(payload);
  return e;
}

// Acknowledged() until `count` seqs have come or the deadline has passed.
Status AwaitAcks(KafkaSink& sink, size_t count, std::vector<uint64_t>* seqs) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (seqs->size() < count && std::chrono::steady_clock::now() < deadline) {
    RETURN_IF_ERROR(sink.Acknowledged(std::chrono::milliseconds(100), seqs));
  }
  return Status::OK();
}

TEST(KafkaSinkTest, AcknowledgesTheSeqOfEachDeliveredEntry) {
  MockCluster cluster;
  cluster.CreateTopic("amtsweg.org.bauamt", 3);
  cluster.CreateTopic("amtsweg.audit", 1);
  auto sink = KafkaSink::Open(cluster.Config("in", "g"));
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();

  std::vector<core::OutboundMessage> entries;
  entries.push_back(Entry(7, "amtsweg.org.bauamt", "case-1", R"({"id":"case-1/1"})"));
  entries.back().headers = {{"amtsweg-note", "first"}};
  entries.push_back(Entry(8, "amtsweg.audit", "case-1", R"({"id":"case-1/2"})"));
  // One outbox seq, two messages: an expanded reference entry.
  entries.push_back(Entry(9, "amtsweg.org.bauamt", "case-2", R"({"id":"case-2/1"})"));
  entries.push_back(Entry(9, "amtsweg.org.bauamt", "case-2", R"({"id":"case-2/2"})"));
  ASSERT_TRUE((*sink)->Send(entries).ok());

  std::vector<uint64_t> seqs;
  ASSERT_TRUE(AwaitAcks(**sink, 4, &seqs).ok());
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{7, 8, 9, 9}));
  EXPECT_EQ((*sink)->InFlight(), 0u);
  // Nothing is acknowledged twice.
  std::vector<uint64_t> later;
  ASSERT_TRUE((*sink)->Acknowledged(std::chrono::milliseconds(0), &later).ok());
  EXPECT_TRUE(later.empty());

  std::vector<testing::TestMessage> got = cluster.Read("amtsweg.org.bauamt", 3, 3);
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> values;
  for (const testing::TestMessage& m : got) {
    ASSERT_TRUE(m.key.has_value());
    // Java's partitioner: the case's events land where its input would.
    EXPECT_EQ(m.partition, internal::JavaPartition(*m.key, 3)) << *m.key;
    // Exactly the message's headers: the sink adds none (no second content-type).
    if (m.value == R"({"id":"case-1/1"})") {
      EXPECT_EQ(m.headers,
                (std::vector<std::pair<std::string, std::string>>{{"amtsweg-note", "first"}}));
    } else {
      EXPECT_TRUE(m.headers.empty()) << m.value;
    }
    values.push_back(m.value);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{R"({"id":"case-1/1"})", R"({"id":"case-2/1"})",
                                              R"({"id":"case-2/2"})"}));
  // Events of one case keep their order.
  int64_t o1 = -1, o2 = -1;
  for (const testing::TestMessage& m : got) {
    if (m.value == R"({"id":"case-2/1"})") o1 = m.offset;
    if (m.value == R"({"id":"case-2/2"})") o2 = m.offset;
  }
  EXPECT_LT(o1, o2);
}

TEST(KafkaSinkTest, RefusesDestinationsThatAreNotTopicsAndOversizedEntries) {
  MockCluster cluster;
  KafkaConfig config = cluster.Config("in", "g");
  config.producer_properties = {{"message.max.bytes", "2000"}};
  auto sink = KafkaSink::Open(config);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_TRUE((*sink)->Send({Entry(1, "org:bauamt", "case-1", "{}")}).IsInvalidArgument());
  Status s = (*sink)->Send({Entry(1, "t", "case-1", std::string(3000, 'x'))});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("message.max.bytes is 2000"), std::string::npos) << s.message();
  EXPECT_EQ((*sink)->InFlight(), 0u);
}

TEST(KafkaSinkTest, PermanentDeliveryFailureIsAnError) {
  MockCluster cluster;
  cluster.CreateTopic("t", 1);
  auto sink = KafkaSink::Open(cluster.Config("in", "g"));
  ASSERT_TRUE(sink.ok());
  // The cluster refuses the next Produce request (ApiKey 0) for good.
  rd_kafka_mock_push_request_errors(cluster.mock(), 0, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  ASSERT_TRUE((*sink)->Send({Entry(5, "t", "case-1", "{}")}).ok());
  std::vector<uint64_t> seqs;
  Status s = AwaitAcks(**sink, 1, &seqs);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(seqs.empty());
  EXPECT_NE(s.message().find("topic t (key 'case-1')"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos) << s.message();
  // The failure stays: the engine stops and the entry stays in the outbox.
  EXPECT_FALSE((*sink)->Acknowledged(std::chrono::milliseconds(0), &seqs).ok());
  EXPECT_FALSE((*sink)->Send({Entry(6, "t", "case-1", "{}")}).ok());
}

}  // namespace
}  // namespace amtsweg::connectors
