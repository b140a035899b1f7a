#include "engine/core/outbox_publisher.h"

#include <algorithm>

#include "engine/common/hash.h"
#include "engine/core/cloudevent.h"
#include "engine/runtime/events.h"
#include "engine/runtime/personal.h"

namespace amtsweg::core {

namespace {

constexpr size_t kOutboxPublishChunk = 4096;

}  // namespace

OutboxPublisher::OutboxPublisher(store::Store& store, OutboxPublisherOptions options)
    : store_(store), options_(std::move(options)) {}

Status OutboxPublisher::Open() {
  ASSIGN_OR_RETURN(backlog_, store_.OutboxSize());
  return Status::OK();
}

void OutboxPublisher::Committed(CommittedBatch batch) {
  backlog_ += batch.outbox_entries;
  if (!batch.positions.empty())
    undelivered_batches_.emplace_back(batch.last_outbox_seq, std::move(batch.positions));
}

Status OutboxPublisher::Publish(Sink& sink, Source* source, std::chrono::milliseconds wait) {
  bool drained = false;
  RETURN_IF_ERROR(Offer(sink, &drained));
  RETURN_IF_ERROR(CollectAcknowledgements(sink, wait));
  ReportDelivered(source, drained);
  return Status::OK();
}

Status OutboxPublisher::Offer(Sink& sink, bool* drained) {
  // Hand over what waits, up to the in-flight bound.
  while (in_flight_.size() < options_.max_in_flight) {
    std::vector<OutboundMessage> messages;
    size_t room = std::min(kOutboxPublishChunk, options_.max_in_flight - in_flight_.size());
    Status expanded;
    uint64_t last = 0;
    RETURN_IF_ERROR(store_.ScanOutbox(next_offer_, [&](const store::OutboxEntry& e) {
      last = e.seq;
      if (e.is_reference()) {
        expanded = Expand(e, &messages);
        if (!expanded.ok()) return false;
      } else {
        messages.push_back(
            OutboundMessage{e.seq, e.destination, e.key, e.id, e.payload, e.headers});
        // An entry without headers is a structured-mode CloudEvent (an event for an
        // organisation, an erasure notice); a dead letter always has headers of its own (the
        // original message's and its error headers) and gets no content-type it did not have.
        if (e.headers.empty()) messages.back().headers = StructuredModeHeaders();
      }
      return --room > 0;
    }));
    RETURN_IF_ERROR(expanded);
    if (last == 0) {
      *drained = true;
      return Status::OK();
    }
    for (const OutboundMessage& m : messages)
      in_flight_[m.seq]++;
    RETURN_IF_ERROR(sink.Send(std::move(messages)));
    next_offer_ = last + 1;
  }
  return Status::OK();
}

Status OutboxPublisher::CollectAcknowledgements(Sink& sink, std::chrono::milliseconds wait) {
  // An entry leaves the outbox when all its messages are delivered.
  std::vector<uint64_t> acked;
  RETURN_IF_ERROR(
      sink.Acknowledged(in_flight_.empty() ? std::chrono::milliseconds(0) : wait, &acked));
  std::vector<uint64_t> done;
  for (uint64_t seq : acked) {
    auto it = in_flight_.find(seq);
    if (it == in_flight_.end()) continue;
    published_++;
    if (--it->second == 0) {
      done.push_back(seq);
      in_flight_.erase(it);
    }
  }
  if (!done.empty()) {
    RETURN_IF_ERROR(store_.DeleteOutbox(done));
    backlog_ -= std::min<uint64_t>(backlog_, done.size());
  }
  return Status::OK();
}

void OutboxPublisher::ReportDelivered(Source* source, bool drained) {
  // Every seq below `floor` has been delivered.
  uint64_t floor = drained ? UINT64_MAX : next_offer_;
  if (!in_flight_.empty()) floor = std::min(floor, in_flight_.begin()->first);
  Positions delivered;
  while (!undelivered_batches_.empty() && undelivered_batches_.front().first < floor) {
    for (auto& position : undelivered_batches_.front().second) {
      auto same = std::find_if(delivered.begin(), delivered.end(),
                               [&](const auto& p) { return p.first == position.first; });
      if (same == delivered.end()) {
        delivered.push_back(std::move(position));
      } else {
        same->second = std::move(position.second);
      }
    }
    undelivered_batches_.pop_front();
  }
  if (source != nullptr && !delivered.empty()) source->Committed(delivered);
}

Status OutboxPublisher::Flush(Sink& sink, Source* source, std::chrono::milliseconds timeout,
                              const std::function<bool()>& stop) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    RETURN_IF_ERROR(Publish(sink, source, std::chrono::milliseconds(100)));
    if (in_flight_.empty() && backlog_ == 0) return Status::OK();
    if (in_flight_.empty()) {
      // Entries below next_offer_ may have been removed by an earlier run; look again.
      ASSIGN_OR_RETURN(backlog_, store_.OutboxSize());
      if (backlog_ == 0) return Status::OK();
    }
    if ((stop && stop()) || std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(std::to_string(backlog_) +
                                 " outbound entries are not delivered yet");
    }
  }
}

void OutboxPublisher::ReleaseWithoutSink(Source& source) {
  if (undelivered_batches_.empty()) return;
  Positions all;
  for (auto& [seq, p] : undelivered_batches_)
    all.insert(all.end(), p.begin(), p.end());
  undelivered_batches_.clear();
  if (!all.empty()) source.Committed(all);
}

Status OutboxPublisher::Expand(const store::OutboxEntry& ref, std::vector<OutboundMessage>* out) {
  Status status;
  size_t expected = ref.event_to - ref.event_from + 1;
  size_t first = out->size();
  std::string data;
  SealerRef sealer;
  if (options_.keys != nullptr) {
    ASSIGN_OR_RETURN(sealer, options_.keys->SealerOf(ref.key));
  }
  RETURN_IF_ERROR(
      store_.ScanEvents(ref.key, ref.event_from, ref.event_to, [&](const store::EventRecord& r) {
        Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
        if (e.ok() && options_.keys != nullptr)
          status = runtime::UnsealEvent(ref.key, sealer.get(), &*e);
        if (!e.ok() || !status.ok()) {
          if (!e.ok()) status = e.status();
          status = status.WithContext("case '" + ref.key + "' event " + std::to_string(r.seq));
          return false;
        }
        // The domain event as `case history` shows it, with the chain hash after it, so that
        // a reader of the audit stream can verify the chain.
        Value v = runtime::EventToValue(*e);
        data.clear();
        v.AppendJson(&data);
        data.pop_back();  // '}'
        data.append(R"(,"chain":")");
        data.append(ToHex(r.hash));
        data.append("\"}");
        OutboundMessage m;
        m.seq = ref.seq;
        m.destination = ref.destination;
        m.key = ref.key;
        m.id = AuditEventId(ref.key, r.seq);
        std::string type = "de.amtsweg.";
        type += runtime::DomainTypeName(e->type);
        m.payload =
            EncodeCloudEventJson(m.id, options_.outbox_source, type, ref.key, e->time, data);
        m.headers = StructuredModeHeaders();
        out->push_back(std::move(m));
        return true;
      }));
  RETURN_IF_ERROR(status);
  if (out->size() - first != expected) {
    return Status::Corruption("outbox entry " + std::to_string(ref.seq) + " refers to events " +
                              std::to_string(ref.event_from) + ".." + std::to_string(ref.event_to) +
                              " of case '" + ref.key + "', which are not all in the log");
  }
  return Status::OK();
}

}  // namespace amtsweg::core
