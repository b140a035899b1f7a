// Configuration of the Kafka connector: where the cluster is, which topics amtsweg reads and
// writes, and librdkafka properties passed through to the clients.
//
// Topic naming (the engine fills OutboundMessage::destination; the sink publishes to it as is):
// - input: `topic`, the log of record. Keyed by case id, partitioned with the Java default
//   partitioner (murmur2), so that all input of a case is in one partition.
// - outbound events of an organisation: the `topic` configured for it in the participant
//   directory, otherwise "amtsweg.org.<organisation-id>".
// - audit events: `audit_topic` ("amtsweg.audit"), with as many partitions as the input topic.
// - dead letters: `dead_letter_topic` ("amtsweg.dead-letters").
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/common/status.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace amtsweg::connectors {

// librdkafka properties in the order they are applied: {name, value}.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

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
  // Passed through to consumer and producer (security.protocol, ssl.*, sasl.*, ...), applied
  // after the connector's defaults so that they override them.
  KafkaProperties properties;
  KafkaProperties consumer_properties;  // applied after `properties`, to the consumer only
  KafkaProperties producer_properties;  // applied after `properties`, to the producer only
};

// Reads a YAML file with one top-level mapping `kafka:` holding the keys bootstrap, topic,
// group (required), dead_letter_topic, audit_topic, trust_channel_headers (optional) and the
// mappings properties,
// consumer, producer (name: scalar value). Property names are checked against librdkafka.
// InvalidArgument lists every problem as "file:line:column: message", one a line; IOError when
// the file cannot be read.
Result<KafkaConfig> LoadKafkaConfig(const std::string& path);

// Sets each property on `conf` in order. InvalidArgument names the property and carries
// librdkafka's message; properties before it stay set.
Status ApplyKafkaProperties(rd_kafka_conf_t* conf, const KafkaProperties& properties);

// True for a legal Kafka topic name: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
bool IsValidTopicName(const std::string& name);

}  // namespace amtsweg::connectors
