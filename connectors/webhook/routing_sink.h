// A Sink sending entries with a "webhook:" destination to a WebhookSink and all others to
// another sink (Kafka or files). Both are borrowed and must outlive it. Not thread-safe: one
// engine loop uses it.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "connectors/webhook/webhook_sink.h"
#include "engine/core/source.h"

namespace amtsweg::connectors {

class RoutingSink final : public core::Sink {
 public:
  RoutingSink(WebhookSink& webhooks, core::Sink& other) : webhooks_(webhooks), other_(other) {}
  RoutingSink(const RoutingSink&) = delete;
  RoutingSink& operator=(const RoutingSink&) = delete;

  // Checks the webhook entries first (WebhookSink::Check), then hands the others to the other
  // sink, then the webhook entries to the WebhookSink. An error means none was accepted.
  Status Send(std::vector<core::OutboundMessage> entries) override;
  // Collects both sinks' acknowledgements, waiting up to `wait` for the first while either has
  // entries outstanding. An error of the other sink is returned (with what was acknowledged).
  Status Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) override;

 private:
  WebhookSink& webhooks_;
  core::Sink& other_;
  uint64_t webhook_outstanding_ = 0;  // entries sent to each and not yet acknowledged
  uint64_t other_outstanding_ = 0;
};

}  // namespace amtsweg::connectors
