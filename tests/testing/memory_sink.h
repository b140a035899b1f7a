// MemorySink: a core::Sink that keeps what it is sent, for engine and connector tests.
// Header-only; not thread-safe (one engine loop uses it, as any Sink).
//
// By default it acknowledges every message at the next Acknowledged call. With auto_ack off only
// what the test acknowledges (AckOne, AckAll) is reported; with `failure` set, Acknowledged fails
// while anything sent is unacknowledged; with `refuse` set, Send fails and accepts nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/core/source.h"
#include "engine/store/store.h"

namespace amtsweg::testing {

class MemorySink final : public core::Sink {
 public:
  Status Send(std::vector<core::OutboundMessage> entries) override {
    if (!refuse.ok()) return refuse;
    for (core::OutboundMessage& e : entries) {
      unacked.push_back(e.seq);
      sent.push_back(std::move(e));
    }
    return Status::OK();
  }
  Status Acknowledged(std::chrono::milliseconds, std::vector<uint64_t>* seqs) override {
    if (!failure.ok() && !unacked.empty()) return failure;
    if (auto_ack) AckAll();
    seqs->insert(seqs->end(), ready_.begin(), ready_.end());
    ready_.clear();
    return Status::OK();
  }
  // Acknowledges every message sent so far (reported at the next Acknowledged).
  void AckAll() {
    ready_.insert(ready_.end(), unacked.begin(), unacked.end());
    unacked.clear();
  }
  // Acknowledges one message of outbox entry `seq`; false when none is unacknowledged.
  bool AckOne(uint64_t seq) {
    auto it = std::find(unacked.begin(), unacked.end(), seq);
    if (it == unacked.end()) return false;
    unacked.erase(it);
    ready_.push_back(seq);
    return true;
  }
  // The messages sent to `destination`, in order.
  std::vector<const core::OutboundMessage*> To(std::string_view destination) const {
    std::vector<const core::OutboundMessage*> out;
    for (const core::OutboundMessage& e : sent) {
      if (e.destination == destination) out.push_back(&e);
    }
    return out;
  }
  // The ids of every message sent.
  std::set<std::string> Ids() const {
    std::set<std::string> ids;
    for (const core::OutboundMessage& e : sent)
      ids.insert(e.id);
    return ids;
  }

  bool auto_ack = true;
  Status failure;                           // returned by Acknowledged while messages are unacked
  Status refuse;                            // returned by Send, which then accepts nothing
  std::vector<core::OutboundMessage> sent;  // every message handed over, in order
  std::vector<uint64_t> unacked;            // outbox seq per message sent and not acknowledged

 private:
  std::vector<uint64_t> ready_;
};

}  // namespace amtsweg::testing
