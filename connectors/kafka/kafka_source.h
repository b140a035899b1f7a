// A Source reading CloudEvents from a Kafka topic as a member of a consumer group.
//
// Lanes are partitions. Positions are stored by the engine with its batches, one per partition:
// key "kafka:<topic>:<partition>", token the decimal offset of the next message to read. On each
// assignment a partition starts at its stored position or, without one, at the beginning: the
// input topic is the log of record, and an instance that takes a partition over rebuilds the
// partition's cases by reading it from the start. The group's committed offsets mean "processed
// and published": they are written from the positions given to Committed() (asynchronously, and
// synchronously before a partition is given up) and read on assignment; input below them is
// marked RawInput::replay, so that its effects are rebuilt but not published a second time. A
// stored position ahead of the group's offset (a crash between the two commits) is committed on
// assignment: the engine delivers everything stored before it starts the source.
//
// Each message becomes one RawInput: the value and the headers as they are, and where it was
// read (RawInput::kafka); the engine decodes the CloudEvent in either content mode
// (engine/core/cloudevent.h) and a dead letter keeps the original message. A value over the
// size limit is cut to its first 64 KiB and marked oversized. A keyed message whose key belongs to
// another partition under the topic's partitioner (config.partitioner; stored beside the
// positions, see Start) is marked misrouted. Transient cluster problems are logged and retried by
// librdkafka; Poll then returns what it has. Not thread-safe: one engine loop uses it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_config.h"
#include "engine/core/source.h"

namespace amtsweg::connectors {

class KafkaSource final : public core::Source {
 public:
  // Called before partitions are given up (revoked in a rebalance, or at Close) with the inputs
  // read by the current Poll and not yet returned (possibly none; of any partition) and the
  // positions after them. The handler processes and stores them, publishes the outbox and calls
  // Committed(), so that the group's committed offsets are current when the partitions go
  // (core::Engine::Settle, whose callback contract allows exactly this call from inside Poll). It
  // may move from `pending`; it must not call Poll. Not called for partitions that were lost
  // (already owned by another member): their pending inputs are dropped.
  using RevokeHandler =
      std::function<void(std::vector<core::RawInput>& pending, const core::Positions& positions)>;

  // Creates the consumer (not yet subscribed; see Start). Defaults: enable.auto.commit=false,
  // enable.auto.offset.store=false, enable.partition.eof=true, auto.offset.reset=earliest,
  // partition.assignment.strategy=cooperative-sticky; then config.properties and
  // config.consumer_properties, which override them. InvalidArgument for bad properties.
  static Result<std::unique_ptr<KafkaSource>> Open(const KafkaConfig& config,
                                                   size_t max_event_bytes);
  // Closes (see Close) without calling the revoke handler: whatever it refers to may be gone.
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // "kafka:" + topic.
  const std::string& name() const override;
  // Keeps `lookup` for every later assignment and subscribes to the topic. InvalidArgument when
  // called twice, or when the store read the topic with another partitioner (the position key
  // "kafka:<topic>:partitioner", which PositionsAfterPoll adds to every non-empty batch).
  Status Start(const core::PositionLookup& lookup) override;
  // Waits up to `wait` for the first message, then takes only what has already arrived, up to
  // `max` (> 0). Serves rebalances (which may call the revoke handler) and group membership.
  // Returns no input while paused. Errors: a fatal client error, or a stored position that cannot
  // be read (from `lookup`); transient problems are not errors.
  Result<size_t> Poll(size_t max, std::chrono::milliseconds wait,
                      std::vector<core::RawInput>* out) override;
  // Appends {"kafka:<topic>:<partition>", next offset} for each partition the last Poll returned
  // input from, and then {"kafka:<topic>:partitioner", its name}.
  void PositionsAfterPoll(core::Positions* out) const override;
  // Remembers the positions of this topic (others are ignored) and commits them to the group
  // asynchronously for partitions still assigned; once the group has refused a commit as
  // rebalancing, only with this consumer's next assignment.
  void Committed(const core::Positions& positions) override;
  // Kafka never ends.
  bool AtEnd() const override { return false; }
  // At least one partition is assigned and every assigned partition has been read to its end.
  bool CaughtUp() const override;
  // The assigned partitions not read to their end.
  void BusyLanes(std::vector<uint32_t>* out) const override;
  // The partition of the case id as message key under the topic's partitioner; nullopt while the
  // topic's partition count is unknown.
  std::optional<uint32_t> CaseLane(std::string_view case_id) const override;
  // The partition is assigned to this consumer.
  bool OwnsLane(uint32_t lane) const override;
  // Changes with every assignment, revocation or partition count seen.
  uint64_t LaneGeneration() const override;
  // Pauses or resumes fetching of the current assignment and of later assignments.
  Status Pause(bool paused) override;

  // Sets the handler called before partitions are given up (nullptr: none; pending input of the
  // revoked partitions is then dropped and read again by their next owner).
  void SetRevokeHandler(RevokeHandler handler);

  // Waits until the group's committed offset of every assigned partition, as the coordinator
  // answers it, has reached the position the store holds for it (through the lookup given to
  // Start): what `run --until-idle` must see before it returns, so that no later owner publishes
  // again what this one published. Pauses fetching for good (Poll returns no more input) and keeps
  // committing, at most once a second. Unavailable after `timeout`, naming the partitions behind;
  // other errors as Poll's.
  Status AwaitCommitted(std::chrono::milliseconds timeout);

  // Leaves the group: revokes the assignment (calling the revoke handler and committing), then
  // destroys the consumer. Idempotent; Poll fails afterwards.
  Status Close();

  // The position key of a partition: "kafka:<topic>:<partition>".
  std::string PositionKey(int32_t partition) const;

 private:
  struct Impl;
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::connectors
