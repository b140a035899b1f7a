// Test double for a Kafka cluster: librdkafka's in-process mock cluster, plus a producer and a
// reader for putting messages in and looking at what arrived. Waits are bounded loops of real
// polls (10 s), never sleeps.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_config.h"
#include "engine/core/source.h"

namespace amtsweg::connectors::testing {

inline constexpr std::chrono::seconds kDeadline{10};

struct TestMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

class MockCluster {
 public:
  MockCluster();
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* mock() { return mock_; }
  void CreateTopic(const std::string& topic, int partitions);

  // A connector config for `topic` and `group` on this cluster, with group timings shortened
  // for tests: the mock waits session.timeout.ms - 1 s for members to rejoin after one left, and
  // 3 s on a group's first join, during which the session must not time out.
  KafkaConfig Config(const std::string& topic, const std::string& group) const;

  // Produces one message and waits for its delivery; returns its offset (-1 on failure, which
  // the test reports). `partition` -1: the partition Java's default partitioner picks for key.
  int64_t Produce(const std::string& topic, int32_t partition, std::optional<std::string> key,
                  std::optional<std::string> value,
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Reads `count` messages from all `partitions` of `topic` from the start (fewer when the
  // deadline passes first).
  std::vector<TestMessage> Read(const std::string& topic, int partitions, size_t count);

 private:
  rd_kafka_t* owner_ = nullptr;  // owns the mock cluster
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstrap_;
};

// A bare member of a consumer group on the mock cluster (cooperative-sticky, nothing committed),
// for tests that need another member whose subscription changes while it stays in the group. It
// takes whatever the group gives it and notes, for each partition it is given, the group's
// committed offset at that moment. Not thread-safe.
class GroupMember {
 public:
  using TopicPartition = std::pair<std::string, int32_t>;

  GroupMember(const MockCluster& cluster, const std::string& group);
  ~GroupMember();
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  // Subscribes to `topics`, replacing an earlier subscription (the member stays in the group).
  void Subscribe(const std::vector<std::string>& topics);
  // Serves the group (rebalances) for up to `wait`; messages are dropped.
  void Poll(std::chrono::milliseconds wait);
  // The partitions assigned now.
  const std::set<TopicPartition>& owned() const { return owned_; }
  // The group's committed offset of each partition when it was last assigned (-1: none).
  const std::map<TopicPartition, int64_t>& committed_at_assignment() const {
    return committed_at_assignment_;
  }
  // The group's committed offset of a partition now (-1: none).
  int64_t Committed(const std::string& topic, int32_t partition);

 private:
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);

  rd_kafka_t* rk_ = nullptr;
  std::set<TopicPartition> owned_;
  std::map<TopicPartition, int64_t> committed_at_assignment_;
};

// Polls `source` until it has returned `count` inputs or the deadline has passed. Positions
// after each Poll are merged into *positions (the last token per key wins) when given.
std::vector<core::RawInput> PollUntil(core::Source& source, size_t count,
                                      core::Positions* positions = nullptr);

// Polls (returning inputs into *inputs) until `done` is true or the deadline has passed.
template <typename Pred>
bool PollUntilTrue(core::Source& source, Pred done, std::vector<core::RawInput>* inputs) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    Result<size_t> n = source.Poll(100, std::chrono::milliseconds(100), inputs);
    if (!n.ok()) return false;
  }
  return true;
}

}  // namespace amtsweg::connectors::testing
