// Topic administration for tests, the benchmark and `amtsweg run` (which checks that the audit
// topic has as many partitions as the input topic, so that a case's audit events land on the
// partition of its input). Each call creates a short-lived client. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_config.h"

namespace amtsweg::connectors {

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
  int32_t replication_factor = -1;  // -1: the broker's default.replication.factor
  KafkaProperties configs;          // topic configs, e.g. {"retention.ms", "-1"}
};

// Creates the topics that do not exist. A topic that exists already is fine if it has the
// partition count asked for; otherwise InvalidArgument names it and both counts. `properties`
// are client properties (security.protocol, ssl.*, ...). Unavailable when the cluster does not
// answer within `timeout`; InvalidArgument (with librdkafka's message) when the cluster refuses.
Status CreateTopics(const std::string& bootstrap, const std::vector<TopicSpec>& topics,
                    const KafkaProperties& properties = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The number of partitions of `topic`. NotFound when it does not exist; Unavailable when the
// cluster does not answer within `timeout`.
Result<int32_t> PartitionCount(const std::string& bootstrap, const std::string& topic,
                               const KafkaProperties& properties = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace amtsweg::connectors
