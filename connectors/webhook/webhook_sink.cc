#include "connectors/webhook/webhook_sink.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "connectors/webhook/signature.h"

namespace amtsweg::connectors {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// "https://host:8443/a/b?c" -> {"https://host:8443", "/a/b?c"}.
struct Url {
  std::string base;
  std::string path;
};

Result<Url> ParseUrl(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return Status::InvalidArgument("no scheme");
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return Status::InvalidArgument("not http(s)");
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find_first_of("/?#", host_start);
  Url out;
  out.base = url.substr(0, path_start);
  out.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out.path[0] == '#') out.path = "/";
  if (out.path[0] == '?') out.path.insert(0, "/");
  if (size_t hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  std::string_view host = std::string_view(out.base).substr(host_start);
  if (host.empty() || host.find('@') != std::string_view::npos)
    return Status::InvalidArgument("no host (or user information, which is not supported)");
  return out;
}

}  // namespace

struct WebhookSink::Impl {
  struct Endpoint {
    std::string destination;
    Url url;
    std::string secret;
  };
  struct Item {
    uint64_t seq;
    std::string id;
    std::string payload;
  };
  // The entries of one case to one destination, delivered one at a time in order.
  struct Lane {
    const Endpoint* endpoint = nullptr;
    std::string key;
    std::deque<Item> items;  // the front one is posted (busy) or waits for its next attempt
    bool busy = false;
    uint32_t failures = 0;  // failed attempts of the front item
  };
  using LaneKey = std::pair<std::string, std::string>;  // {destination, case}

  WebhookOptions options;
  SystemClock system_clock;
  const Clock* clock = nullptr;
  std::map<std::string, Endpoint> endpoints;

  mutable std::mutex mu;
  std::condition_variable work_cv;  // workers: lanes ready, backoff due, stopping
  std::condition_variable ack_cv;   // Acknowledged: deliveries
  bool stopping = false;
  std::map<LaneKey, Lane> lanes;             // lanes with undelivered items
  std::deque<Lane*> ready;                   // lanes whose front item may be posted now
  std::multimap<SteadyTime, Lane*> backoff;  // lanes waiting for their next attempt
  std::vector<uint64_t> acked;               // delivered since the last Acknowledged
  WebhookStats stats;
  webhook::Backoff retry{std::chrono::milliseconds(1), std::chrono::milliseconds(1), 0};
  std::vector<std::thread> workers;

  void Work();
  // One POST; true on a 2xx. `why` says what went wrong otherwise.
  bool Post(std::map<std::string, std::unique_ptr<httplib::Client>>& clients,
            const Endpoint& endpoint, const Item& item, std::string* why);
};

bool WebhookSink::Impl::Post(std::map<std::string, std::unique_ptr<httplib::Client>>& clients,
                             const Endpoint& endpoint, const Item& item, std::string* why) {
  std::unique_ptr<httplib::Client>& client = clients[endpoint.url.base];
  if (client == nullptr) {
    client = options.client_cert_file.empty()
                 ? std::make_unique<httplib::Client>(endpoint.url.base)
                 : std::make_unique<httplib::Client>(endpoint.url.base, options.client_cert_file,
                                                     options.client_key_file);
    if (SSL_CTX* ctx = client->ssl_context(); ctx != nullptr)
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(options.read_timeout);
    client->set_write_timeout(options.read_timeout);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // headers and body leave without waiting for an ACK
    client->enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) client->set_ca_cert_path(options.ca_file);
  }
  std::string timestamp = std::to_string(clock->Now() / 1000);
  httplib::Headers headers = {
      {std::string(webhook::kTimestampHeader), timestamp},
      {std::string(webhook::kAuthenticationHeader),
       webhook::Sign(endpoint.secret, timestamp, item.payload)},
      {"User-Agent", "amtsweg"},
  };
  httplib::Result res =
      client->Post(endpoint.url.path, headers, item.payload, "application/cloudevents+json");
  if (!res) {
    *why = httplib::to_string(res.error());
    // A broken keep-alive connection is not reused.
    client.reset();
    return false;
  }
  if (res->status >= 200 && res->status < 300) return true;
  *why = "HTTP " + std::to_string(res->status);
  return false;
}

void WebhookSink::Impl::Work() {
  // One client per endpoint and worker: an httplib::Client serves one request at a time.
  std::map<std::string, std::unique_ptr<httplib::Client>> clients;
  std::unique_lock lock(mu);
  while (true) {
    if (stopping) return;
    const SteadyTime now = std::chrono::steady_clock::now();
    while (!backoff.empty() && backoff.begin()->first <= now) {
      ready.push_back(backoff.begin()->second);
      backoff.erase(backoff.begin());
    }
    if (ready.empty()) {
      if (backoff.empty()) {
        work_cv.wait(lock);
      } else {
        // A copy: another worker may erase that entry while this one waits.
        const SteadyTime due = backoff.begin()->first;
        work_cv.wait_until(lock, due);
      }
      continue;
    }
    Lane* lane = ready.front();
    ready.pop_front();
    lane->busy = true;
    const Item& item = lane->items.front();  // stays put: only this worker pops the front
    const Endpoint& endpoint = *lane->endpoint;
    stats.attempts++;
    lock.unlock();
    std::string why;
    bool ok = Post(clients, endpoint, item, &why);
    lock.lock();
    lane->busy = false;
    if (ok) {
      stats.delivered++;
      stats.queued--;
      acked.push_back(item.seq);
      lane->items.pop_front();
      lane->failures = 0;
      ack_cv.notify_all();
      if (lane->items.empty()) {
        lanes.erase(LaneKey(endpoint.destination, lane->key));
      } else {
        ready.push_back(lane);
      }
      continue;
    }
    stats.failed++;
    lane->failures++;
    std::chrono::milliseconds delay = retry.Delay(lane->failures);
    // Logged on the 1st, 2nd, 4th, 8th, ... failure of an entry, not on every one.
    if ((lane->failures & (lane->failures - 1)) == 0) {
      spdlog::warn("webhook {}: delivering {} failed {} time(s) ({}); next attempt in {} ms",
                   endpoint.destination, item.id, lane->failures, why, delay.count());
    }
    backoff.emplace(std::chrono::steady_clock::now() + delay, lane);
    // Another worker may be waiting for an earlier due time; it wakes for this one only if it is
    // the earliest.
    work_cv.notify_one();
  }
}

namespace {

// The client certificate and key load and belong together; InvalidArgument naming the file
// otherwise (instead of failing every delivery later).
Status CheckClientCertificate(const WebhookOptions& options) {
  if (options.client_cert_file.empty() && options.client_key_file.empty()) return Status::OK();
  if (options.client_cert_file.empty() || options.client_key_file.empty())
    return Status::InvalidArgument("a webhook client certificate needs both its file and its key");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  if (ctx == nullptr) return Status::Internal("SSL_CTX_new failed");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.client_cert_file.c_str()) != 1) {
    return Status::InvalidArgument("webhook client certificate " + options.client_cert_file +
                                   " cannot be read as PEM");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(options.client_key_file.c_str(), "r"),
                                                 &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      file != nullptr ? PEM_read_bio_PrivateKey(file.get(), nullptr, nullptr, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (key == nullptr) {
    return Status::InvalidArgument("webhook client key " + options.client_key_file +
                                   " cannot be read as PEM");
  }
  ERR_clear_error();
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("webhook client key " + options.client_key_file +
                                   " does not belong to the certificate " +
                                   options.client_cert_file);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<WebhookSink>> WebhookSink::Open(WebhookOptions options) {
  auto impl = std::make_unique<Impl>();
  for (const auto& [destination, endpoint] : options.endpoints) {
    Result<Url> url = ParseUrl(endpoint.url);
    if (!url.ok()) {
      return Status::InvalidArgument("webhook of '" + destination + "': URL '" + endpoint.url +
                                     "': " + url.status().message());
    }
    if (endpoint.secret.empty())
      return Status::InvalidArgument("webhook of '" + destination + "': empty secret");
    Impl::Endpoint& e = impl->endpoints[destination];
    e.destination = destination;
    e.url = std::move(url).value();
    e.secret = endpoint.secret;
  }
  RETURN_IF_ERROR(CheckClientCertificate(options));
  impl->retry = webhook::Backoff(options.initial_backoff, options.max_backoff, options.seed);
  impl->clock = options.clock != nullptr ? options.clock : &impl->system_clock;
  impl->options = std::move(options);
  size_t n = std::max<size_t>(1, impl->options.workers);
  for (size_t i = 0; i < n; ++i)
    impl->workers.emplace_back([p = impl.get()] { p->Work(); });
  return std::unique_ptr<WebhookSink>(new WebhookSink(std::move(impl)));
}

WebhookSink::WebhookSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebhookSink::~WebhookSink() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  for (std::thread& t : impl_->workers)
    t.join();
}

bool WebhookSink::Handles(const std::string& destination) const {
  return impl_->endpoints.contains(destination);
}

Status WebhookSink::Check(const std::vector<core::OutboundMessage>& entries) const {
  for (const core::OutboundMessage& e : entries) {
    if (!Handles(e.destination)) {
      return Status::InvalidArgument("no webhook for destination '" + e.destination +
                                     "' (outbox entry " + std::to_string(e.seq) +
                                     "); its events wait in the outbox");
    }
  }
  return Status::OK();
}

Status WebhookSink::Send(std::vector<core::OutboundMessage> entries) {
  RETURN_IF_ERROR(Check(entries));
  std::lock_guard lock(impl_->mu);
  for (core::OutboundMessage& e : entries) {
    Impl::Lane& lane = impl_->lanes[Impl::LaneKey(e.destination, e.key)];
    if (lane.endpoint == nullptr) {
      lane.endpoint = &impl_->endpoints.at(e.destination);
      lane.key = e.key;
    }
    const bool idle = lane.items.empty();
    lane.items.push_back(Impl::Item{e.seq, std::move(e.id), std::move(e.payload)});
    impl_->stats.queued++;
    if (idle) impl_->ready.push_back(&lane);
  }
  impl_->work_cv.notify_all();
  return Status::OK();
}

Status WebhookSink::Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) {
  std::unique_lock lock(impl_->mu);
  impl_->ack_cv.wait_for(lock, wait, [&] { return !impl_->acked.empty(); });
  seqs->insert(seqs->end(), impl_->acked.begin(), impl_->acked.end());
  impl_->acked.clear();
  return Status::OK();
}

WebhookStats WebhookSink::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace amtsweg::connectors
