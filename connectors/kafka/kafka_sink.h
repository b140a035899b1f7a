// A Sink producing outbox entries to Kafka with an idempotent producer.
//
// Each entry becomes one message on the topic `entry.destination` (as is: the engine names the
// topics, see kafka_config.h), keyed by `entry.key` (the case id), with the entry's payload as
// the value and exactly `entry.headers` as the headers (the outbox publisher gives a
// structured-mode CloudEvent its one `content-type: application/cloudevents+json`; a dead letter
// has the original message's headers and its error headers). Defaults: enable.idempotence=true,
// max.in.flight.requests.per.connection=1,
// acks=all, linger.ms=5, message.timeout.ms=0 (never give up while the cluster is away: the
// engine bounds the outbox), partitioner=murmur2_random (Java-compatible: with equal partition
// counts a case's events land on the partition of its input), compression.type=lz4; then
// config.properties and config.producer_properties, which override them.
//
// Delivery is at least once: an entry is acknowledged when the cluster has it (acks=all); after a
// crash, unacknowledged entries are produced again with the same CloudEvent id, which receivers
// use to deduplicate. Messages of one key stay in order. Not thread-safe: one engine loop uses it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "connectors/kafka/kafka_config.h"
#include "engine/core/source.h"

namespace amtsweg::connectors {

class KafkaSink final : public core::Sink {
 public:
  // Creates the producer (it connects in the background). InvalidArgument for bad properties.
  static Result<std::unique_ptr<KafkaSink>> Open(const KafkaConfig& config);
  // Waits up to 10 s for messages in flight, then destroys the producer; entries not delivered
  // by then stay in the outbox and are produced again after a restart.
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Produces every entry, waiting (while serving deliveries) when librdkafka's queue is full;
  // nothing is dropped. InvalidArgument, before anything is produced, when an entry's destination
  // is not a topic name or the entry is larger than message.max.bytes. Another error
  // (a fatal producer error) names the entry it stopped at; the entries before it were accepted.
  Status Send(std::vector<core::OutboundMessage> entries) override;
  // Serves delivery reports until `wait` has passed or nothing is in flight, and appends the seq
  // of each entry the cluster acknowledged since the last call. An error (a delivery failed for
  // good, naming topic, key and librdkafka's message; or a fatal producer error) is returned
  // every time from then on; the seqs acknowledged before it are still appended.
  Status Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) override;

  // Entries produced and not yet acknowledged or failed.
  size_t InFlight() const;

 private:
  struct Impl;
  explicit KafkaSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::connectors
