// The outbox publisher: delivers what committed batches put in the outbox, and tells the source
// which positions are fully delivered.
//
// It reads committed outbox entries from the store, from where it stopped, expands audit
// reference entries into one message per domain event from the event log, hands the messages to
// a Sink up to a bound of entries in flight, collects acknowledgements, deletes an entry once
// every message it became is acknowledged, and reports the positions of fully delivered batches
// to the Source (Source::Committed; the Kafka source commits them as the group's offsets).
//
// Ownership, so that publishing can run beside processing: the publisher reads the store's
// outbox and events families and deletes delivered outbox entries; it writes nothing else and
// shares no mutable state with the batch writer. Its one input from processing is the hand-over
// Committed(CommittedBatch) after each stored batch, by value. Today both run on the engine's
// thread; to publish on another, that hand-over becomes a queue and nothing else changes hands.
//
// Invariants:
//  - Every outbox seq below the next one to offer has been handed to the sink in this process
//    (or was deleted by an earlier one); none from it on. An entry is offered once per process;
//    a restart offers every entry still in the store again (delivery is at least once).
//  - For each seq handed over, the publisher counts its messages not yet acknowledged; at most
//    `max_in_flight` seqs are in flight. An entry is deleted from the store exactly when its
//    last message is acknowledged; acknowledgements of seqs not in flight are ignored.
//  - A reference entry becomes one message per domain event it names, all with its seq, so a
//    sink never sees a reference; a reference to events the log does not have is Corruption.
//  - A batch's positions are reported to the source only when every entry up to its last outbox
//    seq is acknowledged (each seq below both the lowest seq in flight and the next one to offer,
//    or every seq when all committed entries were offered). Batches are reported in commit
//    order, each once; a report merges positions per key, the latest token winning.
//  - Before a source starts, everything an earlier run committed is delivered (Engine::Run
//    flushes first, and a partition given up is settled first): so a source may take every
//    stored position as delivered (the Kafka source commits a stored position that is ahead of
//    its group's offset on assignment).
//  - backlog() counts the entries committed and not yet acknowledged; when nothing is in flight
//    it is recounted from the store (an earlier run may have deleted entries it counted).
//
// Not thread-safe: one thread drives it. Borrows the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/core/case_keys.h"
#include "engine/core/source.h"
#include "engine/store/store.h"

namespace amtsweg::core {

struct OutboxPublisherOptions {
  size_t max_in_flight = 50000;           // outbox entries handed over and not acknowledged
  std::string outbox_source = "amtsweg";  // CloudEvents source of expanded audit events
  // Opens the personal values of expanded audit events (borrowed; null: none sealed).
  const CaseKeys* keys = nullptr;
};

// What the batch writer hands the publisher after a stored batch.
struct CommittedBatch {
  uint64_t last_outbox_seq = 0;  // the highest outbox seq assigned so far (by any batch)
  size_t outbox_entries = 0;     // entries this batch added
  Positions positions;           // the batch's positions (may be empty)
};

class OutboxPublisher {
 public:
  OutboxPublisher(store::Store& store, OutboxPublisherOptions options);
  OutboxPublisher(const OutboxPublisher&) = delete;
  OutboxPublisher& operator=(const OutboxPublisher&) = delete;

  // Counts what an earlier run left in the outbox. Call once before publishing.
  Status Open();

  // The hand-over: `batch` has been stored.
  void Committed(CommittedBatch batch);

  // Hands waiting entries to `sink` (up to the in-flight bound), waits up to `wait` for
  // acknowledgements (not at all when nothing is in flight), deletes what was delivered and
  // reports fully delivered batches' positions to `source` (may be null: nobody is told). An
  // error is the store's or the sink's; entries not deleted are offered again after a restart.
  Status Publish(Sink& sink, Source* source, std::chrono::milliseconds wait);

  // Publishes until the outbox is empty and acknowledged, `timeout` passes or `stop` answers true
  // (Unavailable, with the number left, in the last two cases).
  Status Flush(Sink& sink, Source* source, std::chrono::milliseconds timeout,
               const std::function<bool()>& stop = nullptr);

  // Without a sink nothing is published: reports every committed batch's positions to `source`
  // as they are.
  void ReleaseWithoutSink(Source& source);

  uint64_t backlog() const { return backlog_; }
  // Messages acknowledged by the sink so far.
  uint64_t published() const { return published_; }

 private:
  // Hands entries from next_offer_ on to the sink while fewer than max_in_flight are in flight;
  // `*drained`: every committed entry has been handed over.
  Status Offer(Sink& sink, bool* drained);
  // Counts acknowledgements and deletes the entries whose last message was acknowledged.
  Status CollectAcknowledgements(Sink& sink, std::chrono::milliseconds wait);
  // Reports the batches every entry of which is acknowledged (see the invariants).
  void ReportDelivered(Source* source, bool drained);
  // Appends the messages of reference entry `ref`, read from the event log.
  Status Expand(const store::OutboxEntry& ref, std::vector<OutboundMessage>* out);

  store::Store& store_;
  const OutboxPublisherOptions options_;
  uint64_t next_offer_ = 0;                 // the next outbox seq to hand over
  std::map<uint64_t, uint32_t> in_flight_;  // seq -> its messages not yet acknowledged
  uint64_t backlog_ = 0;
  uint64_t published_ = 0;
  // Stored batches not yet reported: {last outbox seq, positions}, in commit order.
  std::deque<std::pair<uint64_t, Positions>> undelivered_batches_;
};

}  // namespace amtsweg::core
