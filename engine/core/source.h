// Edges of the engine: where input comes from and where outbound events go.
// Implementations: connectors/file (file source and sink), connectors/kafka (consumer group
// source, idempotent producer sink), connectors/webhook (webhook and routing sinks); tests use
// in-memory ones. Neither side depends on the store: a sink gets OutboundMessages, which the
// outbox publisher builds from the store's entries.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"

namespace amtsweg::core {

// Where a Kafka message was read: its dead letter names it in its error headers.
struct KafkaOrigin {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // the record's timestamp; -1: none
};

// One raw input as read, with where it was read from (for dead letters and positions).
struct RawInput {
  std::string bytes;  // the message value (a file's line, a request's body) exactly as read
  // The message's transport headers in order, as read (Kafka headers; none for a file or the
  // API). They say the CloudEvents content mode (cloudevent.h, DecodeMessage) and go with the
  // input's dead letter unchanged. A null header value reads as empty.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<KafkaOrigin> kafka;  // set by the Kafka source
  std::string where;                 // for people: "line 17", "partition 3 offset 42"
  bool oversized = false;            // the source cut it at its size limit; bytes hold the start
  size_t size = 0;                   // the input's full size in bytes
  // Event-time lane (a Kafka partition; 0 for a file). Each lane is read in order; the engine's
  // event-time clock never passes a lane that may still deliver input (see Source::BusyLanes).
  uint32_t lane = 0;
  // The message key, when the transport has one: it must be the case id (the event's subject).
  std::optional<std::string> key;
  // Set by the source when it already knows the input is in the wrong place (e.g. a Kafka
  // message whose key belongs to another partition); the engine dead-letters it with this reason.
  std::string misrouted;
  // Already processed and published by an earlier owner of its partition (a Kafka offset below
  // the group's committed one): the engine rebuilds its effects but does not publish them again.
  bool replay = false;
  // The organisation the channel it came through speaks for, set by the source when the channel
  // is bound to one (a per-organisation Kafka topic, an authenticated principal); empty: a shared
  // channel that proves nothing by itself. `channel` names the channel for people (e.g. "topic
  // amtsweg.in.bauamt-kiel"), for the reasons of refusals. The engine holds the input's
  // `participant` claim to it (runtime::CheckSpeaker: "impersonation"), and an input to an
  // existing case without a claim speaks for it.
  std::string channel_organisation;
  std::string channel;
  // The source it came from, for dead letters, when not the polled source itself (an input of
  // the HTTP API that an InboxSource passes on: "api"); empty: the polled source.
  std::string origin;
  // The administrator who issued it, for the engine's own commands (erasure, migration): set only
  // by a local CLI command ("local:<user>") and by the HTTP API for an admin principal; empty for
  // every other input. Such commands from any other channel are refused ("forbidden").
  std::string admin;
};

// What the engine decided for one input of a committed batch (Source::Decided).
struct InputVerdict {
  std::string kind;  // empty: accepted; else its dead letter's kind ("duplicate", "malformed", ...)
  std::string reason;  // the dead letter's explanation; empty when accepted
};

// Input positions to store with the effects of a batch: {position key, token}.
using Positions = std::vector<std::pair<std::string, std::string>>;

// Reads a stored position (nullopt: none stored).
using PositionLookup = std::function<Result<std::optional<std::string>>(const std::string& key)>;

// A source of raw inputs. Not thread-safe: one engine loop polls it.
class Source {
 public:
  virtual ~Source() = default;
  // Stable name, e.g. "file:/abs/path/x.jsonl" or "kafka:applications".
  virtual const std::string& name() const = 0;
  // Positions the source after its stored positions (read through `lookup`), or at the start.
  // Sources with dynamic assignments (Kafka) keep `lookup` and use it on every assignment.
  virtual Status Start(const PositionLookup& lookup) = 0;
  // Appends up to `max` inputs, waiting at most `wait` for the first. Returns how many; 0 with
  // AtEnd() when a finite source is done.
  // The one call that may re-enter the engine: a source may, from inside Poll, call a handler its
  // owner installed (the Kafka source's revoke handler), and that handler may call
  // Engine::Settle for this source (see there). No other method of a Source calls back.
  virtual Result<size_t> Poll(size_t max, std::chrono::milliseconds wait,
                              std::vector<RawInput>* out) = 0;
  // Positions after the inputs returned by the last Poll, to store atomically with their effects.
  virtual void PositionsAfterPoll(Positions* out) const = 0;
  // Called when batches with these positions are stored and everything they caused has been
  // delivered (Kafka: commit the offsets to the broker, so that consumer lag shows in the usual
  // tools and a later owner of a partition knows what was published).
  virtual void Committed(const Positions& positions) { (void)positions; }
  // True when a finite source has nothing more to read.
  virtual bool AtEnd() const = 0;
  // True when every lane has been read to its current end (a Kafka consumer has reached the end
  // of each assigned partition); a finite source: AtEnd().
  virtual bool CaughtUp() const { return AtEnd(); }
  // Lanes that may still deliver input now (assigned partitions not yet read to their end). The
  // event-time clock stays at or below the latest time read on each of them. Empty: the clock
  // follows the latest input time.
  virtual void BusyLanes(std::vector<uint32_t>* out) const { out->clear(); }
  // The lane a case's input comes on (a Kafka source: the partition of the case id as key);
  // nullopt when any lane may carry it (a file).
  virtual std::optional<uint32_t> CaseLane(std::string_view case_id) const {
    (void)case_id;
    return std::nullopt;
  }
  // Whether this source reads `lane` now (a Kafka consumer: the partition is assigned to it).
  // Timers of cases on lanes it does not read do not fire here: another owner fires them, or
  // this one once it has the lane back and has read the input they may be waiting for.
  virtual bool OwnsLane(uint32_t lane) const {
    (void)lane;
    return true;
  }
  // Changes whenever the set of lanes read changes (a Kafka rebalance).
  virtual uint64_t LaneGeneration() const { return 0; }
  // Stops (true) or resumes (false) reading, e.g. while the outbox is over its bound. Poll keeps
  // serving the transport (group membership) but returns no input while paused.
  virtual Status Pause(bool paused) {
    (void)paused;
    return Status::OK();
  }
  // Whether the source wants to learn what became of each input of its last Poll (Decided).
  virtual bool WantsVerdicts() const { return false; }
  // Called once the batch of the last Poll's inputs is committed, with a verdict per input, in
  // their order (only when WantsVerdicts() was true before the batch).
  virtual void Decided(const std::vector<InputVerdict>& verdicts) { (void)verdicts; }
};

// One message for a sink to deliver: what a transport needs, nothing of the store. Built by the
// outbox publisher from an outbox entry (an audit reference entry becomes one message per domain
// event, all with the entry's seq), so a sink never sees a reference.
struct OutboundMessage {
  uint64_t seq = 0;         // the outbox entry it comes from; acknowledged by this seq
  std::string destination;  // a topic, a file name, or "webhook:<organisation>"
  std::string key;          // the case id (partitioning key); empty for some dead letters
  std::string id;           // stable event id, e.g. "<case id>/<seq>"; receivers deduplicate by it
  std::string payload;      // the CloudEvent (JSON), or a dead letter's raw input
  // Metadata for the transport (Kafka headers), e.g. a dead letter's reason.
  std::vector<std::pair<std::string, std::string>> headers;
};

// A dead letter's error headers, after Kafka Connect's `__connect.errors.*`: added to the
// original message's headers (which stay as they were, but for any with this prefix, which the
// dead letter's own replace), so that a reader sees the original message and why it was refused
// (docs/operations.md, "Dead letters").
namespace error_header {
inline constexpr std::string_view kPrefix = "__amtsweg.errors.";
inline constexpr const char* kKind = "__amtsweg.errors.kind";          // e.g. "malformed"
inline constexpr const char* kReason = "__amtsweg.errors.reason";      // "kind: explanation"
inline constexpr const char* kSource = "__amtsweg.errors.source";      // the engine's source name
inline constexpr const char* kPosition = "__amtsweg.errors.position";  // for people
inline constexpr const char* kTopic = "__amtsweg.errors.topic";        // Kafka input only
inline constexpr const char* kPartition = "__amtsweg.errors.partition";
inline constexpr const char* kOffset = "__amtsweg.errors.offset";
inline constexpr const char* kTimestamp = "__amtsweg.errors.timestamp";  // ms since 1970
inline constexpr const char* kSize = "__amtsweg.errors.size";  // the value's size in bytes
}  // namespace error_header

// Where outbound messages are delivered. Delivery is asynchronous: Send hands messages over,
// Acknowledged reports the ones delivered. Several messages may share an outbox seq (a reference
// entry expanded into one message per event); each is acknowledged on its own. Not thread-safe:
// one engine loop uses it (implementations may deliver on threads of their own).
class Sink {
 public:
  virtual ~Sink() = default;
  // Hands messages over for delivery. An error means none of them was accepted.
  virtual Status Send(std::vector<OutboundMessage> messages) = 0;
  // Waits up to `wait` for deliveries and appends the seq of every message delivered since the
  // last call (once per message sent). An error means a delivery failed for good (the entries stay
  // in the outbox and are sent again after a restart).
  virtual Status Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) = 0;
};

}  // namespace amtsweg::core
