// Configuration of the Kafka connector: where the cluster is, which topics amtsweg reads and
// writes, and librdkafka properties passed through to the clients.
//
// Topic naming (the engine fills OutboundMessage::destination; the sink publishes to it as is):
// - input: `topic`, the log of record. Keyed by case id, partitioned with one partitioner of the
//   topic's producers (`partitioner`: Java's murmur2 by default), so that all input of a case is
//   in one partition.
// - outbound events of an organisation: the `topic` configured for it in the participant
//   directory, otherwise "amtsweg.org.<organisation-id>".
// - audit events: `audit_topic` ("amtsweg.audit"), with as many partitions as the input topic.
// - dead letters: `dead_letter_topic` ("amtsweg.dead-letters").
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace amtsweg::connectors {

// librdkafka properties in the order they are applied: {name, value}.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// How the producers of the input topic choose a keyed message's partition. All of them must use
// the same one: a case's input is then in one partition, read by one instance, which fires the
// case's timers. The setting belongs to the topic: changed on a topic that has input, a case's new
// input would land beside another partition's history.
enum class KafkaPartitioner {
  kMurmur2,  // Java's default partitioner: (murmur2(key) & 0x7fffffff) % n (librdkafka murmur2)
  kCrc32,    // librdkafka's default (consistent_random: kcat, confluent-kafka): crc32(key) % n
  kFnv1a,    // librdkafka's fnv1a (abs(fnv1a(key)) % n, as Sarama's default hash partitioner)
};

// "murmur2", "crc32", "fnv1a".
std::string_view PartitionerName(KafkaPartitioner partitioner);
// The partitioner named as PartitionerName returns; nullopt for any other name.
std::optional<KafkaPartitioner> ParsePartitioner(std::string_view name);
// The value of librdkafka's producer property `partitioner` that places keyed messages as
// `partitioner` does (unkeyed ones at random): murmur2_random, consistent_random, fnv1a_random.
std::string_view LibrdkafkaPartitioner(KafkaPartitioner partitioner);
// The partition `partitioner` picks for a message keyed `key` among partition_count (> 0).
int32_t PartitionOf(KafkaPartitioner partitioner, std::string_view key, int32_t partition_count);

struct KafkaConfig {
  std::string bootstrap;  // bootstrap.servers, e.g. "127.0.0.1:19092"
  std::string topic;      // the input topic
  std::string group;      // the consumer group of the engine's instances
  std::string dead_letter_topic = "amtsweg.dead-letters";
  std::string audit_topic = "amtsweg.audit";
  // The input topic is written only by the forwarder (kafka_forwarder.h): the source passes the
  // channel headers it stamps to the engine. Without it they are ignored, because anybody who
  // may write to the input topic could set them.
  bool trust_channel_headers = false;
  // The input topic's partitioner: where the source expects a case's keyed input, and the
  // partitioner of the sink (so that a case's audit events land on its input's partition number).
  KafkaPartitioner partitioner = KafkaPartitioner::kMurmur2;
  // The consumer's group.instance.id (static group membership, KIP-345): unique per instance and
  // kept across its restarts, so that a restarted instance gets its partitions back at once
  // instead of after a rebalance. Empty: dynamic membership.
  std::string group_instance_id;
  // Passed through to consumer and producer (security.protocol, ssl.*, sasl.*, ...), applied
  // after the connector's defaults so that they override them.
  KafkaProperties properties;
  KafkaProperties consumer_properties;  // applied after `properties`, to the consumer only
  KafkaProperties producer_properties;  // applied after `properties`, to the producer only
};

// Reads a YAML file with one top-level mapping `kafka:` holding the keys bootstrap, topic,
// group (required), dead_letter_topic, audit_topic, trust_channel_headers, partitioner,
// group_instance_id (optional) and the mappings properties, consumer, producer (name: scalar
// value); docs/kafka-config.schema.json describes the same. Property names are checked against
// librdkafka. InvalidArgument lists every problem as "file:line:column: message", one a line;
// IOError when the file cannot be read.
Result<KafkaConfig> LoadKafkaConfig(const std::string& path);

// Sets each property on `conf` in order. InvalidArgument names the property and carries
// librdkafka's message; properties before it stay set.
Status ApplyKafkaProperties(rd_kafka_conf_t* conf, const KafkaProperties& properties);

// True for a legal Kafka topic name: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
bool IsValidTopicName(const std::string& name);

}  // namespace amtsweg::connectors
