// A Sink delivering outbox entries to organisations' webhooks by HTTP POST.
//
// Each entry's payload (a structured-mode CloudEvent) is the body of one POST to the URL of the
// endpoint its destination names ("webhook:<organisation id>"), with `Content-Type:
// application/cloudevents+json` and the FIT-Connect callback signature headers (signature.h),
// signed anew with the wall clock's time at each attempt. Only a 2xx answer delivers an entry;
// anything else (another status, a refused connection, a connect or read timeout) is tried again
// after an exponential backoff with jitter, for ever: nothing is dropped. Entries of one case
// (entry.key) to one destination go one at a time, in the order sent: an entry is not posted
// while an earlier one of its case and destination is undelivered; other cases proceed.
//
// Posting happens on a few worker threads of the sink; Send only queues, so the engine loop is
// not held up by slow receivers. Delivery is at least once: an entry is acknowledged after its
// 2xx; entries not acknowledged when the sink is destroyed stay in the outbox and are posted
// again after a restart, with the same CloudEvent id, which receivers use to deduplicate.
//
// Thread-safe: Send and Acknowledged may be called from any thread (the engine calls them from
// its one loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/clock.h"
#include "engine/core/source.h"

namespace amtsweg::connectors {

struct WebhookEndpoint {
  std::string url;     // http(s)://host[:port][/path]
  std::string secret;  // HMAC key; must not be empty
};

struct WebhookOptions {
  // Endpoints by destination, e.g. "webhook:stadt-kiel".
  std::map<std::string, WebhookEndpoint> endpoints;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};  // also the write timeout
  // Backoff between attempts of one entry (signature.h, Backoff).
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{300000};
  uint64_t seed = 0;   // of the backoff's jitter
  size_t workers = 4;  // concurrent deliveries
  // A file of CA certificates for https; empty: the system's default CA store.
  std::string ca_file;
  // amtsweg's client certificate and its key (PEM files), presented to https endpoints that ask
  // for one (mutual TLS); both or neither. https speaks TLS 1.2 or later, and the endpoint's
  // certificate and host name are always verified.
  std::string client_cert_file;
  std::string client_key_file;
  // Time of the `callback-timestamp` header; nullptr: the system clock. Borrowed.
  const Clock* clock = nullptr;
};

struct WebhookStats {
  uint64_t attempts = 0;   // POSTs started
  uint64_t delivered = 0;  // answered with a 2xx
  uint64_t failed = 0;     // attempts that did not deliver (each is tried again)
  uint64_t queued = 0;     // entries sent and not yet delivered
};

class WebhookSink final : public core::Sink {
 public:
  // Checks the endpoints (URL form, non-empty secret) and starts the workers. InvalidArgument
  // naming the destination when one is wrong.
  static Result<std::unique_ptr<WebhookSink>> Open(WebhookOptions options);
  // Stops the workers, waiting for posts in progress (bounded by the timeouts). Entries not yet
  // acknowledged stay in the outbox.
  ~WebhookSink() override;
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Whether Send would accept the entries: InvalidArgument naming the first entry whose
  // destination has no endpoint.
  Status Check(const std::vector<core::OutboundMessage>& entries) const;
  // Queues every entry for delivery (see the class comment); on an error (as Check) none is.
  Status Send(std::vector<core::OutboundMessage> entries) override;
  // Waits up to `wait` for a delivery and appends the seq of every entry delivered since the
  // last call. Never fails: undeliverable entries are tried again, not given up.
  Status Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) override;

  bool Handles(const std::string& destination) const;
  WebhookStats stats() const;

 private:
  struct Impl;
  explicit WebhookSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::connectors
