#include "connectors/webhook/routing_sink.h"

#include <algorithm>

#include "engine/core/destination.h"

namespace amtsweg::connectors {

Status RoutingSink::Send(std::vector<core::OutboundMessage> entries) {
  std::vector<core::OutboundMessage> hooks;
  std::vector<core::OutboundMessage> others;
  for (core::OutboundMessage& e : entries) {
    if (e.destination.starts_with(core::kWebhookDestinationPrefix)) {
      hooks.push_back(std::move(e));
    } else {
      others.push_back(std::move(e));
    }
  }
  // Checked before the other sink takes its part, so that Send fails as a whole or not at all.
  RETURN_IF_ERROR(webhooks_.Check(hooks));
  if (!others.empty()) {
    const size_t n = others.size();
    RETURN_IF_ERROR(other_.Send(std::move(others)));
    other_outstanding_ += n;
  }
  if (!hooks.empty()) {
    const size_t n = hooks.size();
    RETURN_IF_ERROR(webhooks_.Send(std::move(hooks)));
    webhook_outstanding_ += n;
  }
  return Status::OK();
}

Status RoutingSink::Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) {
  const size_t before = seqs->size();
  auto count = [&](size_t from, uint64_t* outstanding) {
    uint64_t got = seqs->size() - from;
    *outstanding -= std::min(*outstanding, got);
  };
  if (other_outstanding_ == 0 || webhook_outstanding_ == 0) {
    // At most one side waits: give it the whole wait.
    size_t mark = seqs->size();
    bool hooks = webhook_outstanding_ > 0;
    Status s = hooks ? webhooks_.Acknowledged(wait, seqs) : other_.Acknowledged(wait, seqs);
    count(mark, hooks ? &webhook_outstanding_ : &other_outstanding_);
    // The idle side may still report late acknowledgements; collect them without waiting.
    mark = seqs->size();
    Status t = hooks ? other_.Acknowledged(std::chrono::milliseconds(0), seqs)
                     : webhooks_.Acknowledged(std::chrono::milliseconds(0), seqs);
    count(mark, hooks ? &other_outstanding_ : &webhook_outstanding_);
    RETURN_IF_ERROR(s);
    return t;
  }
  // Both have entries outstanding: wait in short slices on each until either reports.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  constexpr std::chrono::milliseconds kSlice{5};
  while (true) {
    size_t mark = seqs->size();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::chrono::milliseconds slice = std::clamp(left, std::chrono::milliseconds(0), kSlice);
    Status s = other_.Acknowledged(slice, seqs);
    count(mark, &other_outstanding_);
    RETURN_IF_ERROR(s);
    mark = seqs->size();
    (void)webhooks_.Acknowledged(seqs->size() > before ? std::chrono::milliseconds(0) : slice,
                                 seqs);  // never fails
    count(mark, &webhook_outstanding_);
    if (seqs->size() > before || std::chrono::steady_clock::now() >= deadline) return Status::OK();
  }
}

}  // namespace amtsweg::connectors
