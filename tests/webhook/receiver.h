// A webhook receiver for tests: an httplib::Server on 127.0.0.1 in a thread that checks each
// request's signature, answers from a script (fail, hold past the client's read timeout, or
// accept) and checks that the events of one case to one path arrive one at a time in order.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/webhook/signature.h"
#include "engine/common/value.h"

namespace amtsweg::testing {

class Receiver {
 public:
  enum class Answer { kAccept, kFail, kHold };

  struct Request {
    std::string path;
    std::string id;       // the CloudEvent id, "<case>/<seq>"
    std::string subject;  // the case
    std::string content_type;
    std::string timestamp;
    bool signature_ok = false;
    Answer answer = Answer::kAccept;
  };

  // https instead of http: the server's certificate and key, and (when set) the CA whose client
  // certificates it requires (mutual TLS). PEM files.
  struct Tls {
    std::string cert_file, key_file, client_ca_file;
  };

  explicit Receiver(std::string secret, const Tls* tls = nullptr) : secret_(std::move(secret)) {
    if (tls != nullptr) {
      server_ = std::make_unique<httplib::SSLServer>(
          tls->cert_file.c_str(), tls->key_file.c_str(),
          tls->client_ca_file.empty() ? nullptr : tls->client_ca_file.c_str());
      https_ = true;
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    server_->Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    });
  }
  // False when the https server could not load its certificate, key or client CA.
  bool valid() const { return server_->is_valid(); }
  ~Receiver() { Stop(); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Listens on 127.0.0.1:`port` (0: any free port). False when it cannot bind.
  bool Start(int port = 0) {
    Stop();
    {
      std::lock_guard lock(mu_);
      stopping_ = false;
    }
    if (port == 0) {
      port_ = server_->bind_to_any_port("127.0.0.1");
      if (port_ <= 0) return false;
    } else {
      if (!server_->bind_to_port("127.0.0.1", port)) return false;
      port_ = port;
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // Until the server runs, stop() would not stop it: wait for that (a condition, not a time).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_->is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    return server_->is_running();
  }
  // Stops listening (held requests are answered first).
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }
  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const {
    return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + path;
  }

  // The answers to the next requests, in order; after them every request is accepted.
  void Script(std::vector<Answer> answers) {
    std::lock_guard lock(mu_);
    script_.assign(answers.begin(), answers.end());
  }

  // Lets held requests go (they are refused) without waiting for the client to send again.
  void ReleaseHolds() {
    {
      std::lock_guard lock(mu_);
      release_ = true;
    }
    cv_.notify_all();
  }

  // Waits until `n` distinct events were accepted or `deadline` passed; true when they were.
  bool WaitForAccepted(size_t n, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return accepted_ids_.size() >= n; });
  }

  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Events accepted (2xx), in the order they were accepted.
  std::vector<std::string> accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  // Broken rules of per-case order, one line each (empty: none).
  std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }

 private:
  struct Lane {
    uint64_t last_accepted = 0;
    uint64_t outstanding = 0;  // arrived, not yet accepted (0: none)
  };

  // A participant event's id is "<case>/<seq>/<organisation>" (docs/events.md); a case id has
  // no '/'.
  static uint64_t SeqOf(const std::string& id) {
    size_t slash = id.find('/');
    if (slash == std::string::npos) return 0;
    size_t end = id.find('/', slash + 1);
    return std::stoull(id.substr(slash + 1, end == std::string::npos ? end : end - slash - 1));
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    Request r;
    r.path = req.path;
    r.content_type = req.get_header_value("Content-Type");
    r.timestamp = req.get_header_value(std::string(connectors::webhook::kTimestampHeader));
    r.signature_ok = connectors::webhook::Verify(
        secret_, r.timestamp, req.body,
        req.get_header_value(std::string(connectors::webhook::kAuthenticationHeader)));
    Result<Value> parsed = Value::ParseJson(req.body);
    if (parsed.ok()) {
      r.id = (*parsed)["id"].as_string();
      r.subject = (*parsed)["subject"].as_string();
    }
    const uint64_t seq = SeqOf(r.id);
    std::unique_lock lock(mu_);
    if (!script_.empty()) {
      r.answer = script_.front();
      script_.pop_front();
    }
    if (!r.signature_ok) r.answer = Answer::kFail;  // as FIT-Connect says: ignore it
    Lane& lane = lanes_[{r.path, r.subject}];
    if (lane.outstanding != 0 && lane.outstanding != seq) {
      violations_.push_back(r.path + " " + r.id + " arrived while " + r.subject + "/" +
                            std::to_string(lane.outstanding) + " was not accepted");
    }
    if (seq > lane.last_accepted) lane.outstanding = seq;
    const std::string event = r.path + " " + r.id;
    const size_t arrival = ++arrivals_[event];
    requests_.push_back(r);
    cv_.notify_all();
    if (r.answer == Answer::kHold) {
      // Held until the client gave up and sent the event again (or ReleaseHolds, or 10 s), then
      // refused.
      cv_.wait_for(lock, std::chrono::seconds(10),
                   [&] { return stopping_ || release_ || arrivals_[event] > arrival; });
      res.status = 503;
      return;
    }
    if (r.answer == Answer::kFail) {
      res.status = 500;
      return;
    }
    if (seq <= lane.last_accepted) {
      violations_.push_back(r.path + " " + r.id + " accepted after " + r.subject + "/" +
                            std::to_string(lane.last_accepted));
    } else {
      lane.last_accepted = seq;
    }
    lane.outstanding = 0;
    accepted_.push_back(r.id);
    accepted_ids_.insert(event);
    cv_.notify_all();
    res.status = 204;
  }

  const std::string secret_;
  std::unique_ptr<httplib::Server> server_;
  bool https_ = false;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool release_ = false;
  std::deque<Answer> script_;
  std::vector<Request> requests_;
  std::vector<std::string> accepted_;
  std::set<std::string> accepted_ids_;
  std::map<std::string, size_t> arrivals_;  // by "<path> <id>"
  std::map<std::pair<std::string, std::string>, Lane> lanes_;
  std::vector<std::string> violations_;
};

}  // namespace amtsweg::testing
