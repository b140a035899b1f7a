#include "connectors/kafka/kafka_sink.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include "connectors/kafka/internal/kafka_internal.h"

namespace amtsweg::connectors {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kCloseFlushMs = 10000;
constexpr int kQueueFullPollMs = 100;
// librdkafka's per-message framing on top of key, value and headers (MessageV2, generous).
constexpr size_t kMessageOverhead = 64;
constexpr size_t kHeaderOverhead = 12;

static_assert(sizeof(void*) >= sizeof(uint64_t), "outbox seqs travel as message opaques");

void* SeqToOpaque(uint64_t seq) {
  // librdkafka hands the opaque back untouched; it is never dereferenced.
  return reinterpret_cast<void*>(static_cast<uintptr_t>(seq));  // NOLINT(performance-no-int-to-ptr)
}
uint64_t OpaqueToSeq(void* opaque) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(opaque));
}

rd_kafka_vu_t Vu(rd_kafka_vtype_t type) {
  rd_kafka_vu_t vu;
  std::memset(&vu, 0, sizeof(vu));
  vu.vtype = type;
  return vu;
}

}  // namespace

struct KafkaSink::Impl {
  rd_kafka_t* rk = nullptr;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;  // handle cache
  std::vector<uint64_t> delivered;  // acknowledged since the last Acknowledged()
  size_t in_flight = 0;
  Status failure;  // sticky: a delivery failed for good, or the producer failed
  size_t max_message_bytes = 1000000;
  internal::LogLimiter limiter;

  ~Impl() {
    if (rk == nullptr) return;
    rd_kafka_resp_err_t err = rd_kafka_flush(rk, kCloseFlushMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || in_flight > 0) {
      spdlog::warn(
          "Kafka sink: {} message(s) not acknowledged at shutdown; they stay in the outbox and "
          "are published again after a restart",
          in_flight);
    }
    for (const auto& [name, rkt] : topics)
      rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }

  // Delivery reports (served by rd_kafka_poll): the payload is the message, not an error text.
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (self->in_flight > 0) --self->in_flight;
    uint64_t seq = OpaqueToSeq(m->_private);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->delivered.push_back(seq);
      return;
    }
    if (!self->failure.ok()) return;
    std::string key = m->key != nullptr ? std::string(static_cast<const char*>(m->key), m->key_len)
                                        : std::string();
    self->failure =
        Status::IOError("delivering outbox entry " + std::to_string(seq) + " to topic " +
                        (m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?") + " (key '" + key +
                        "') failed: " + internal::ErrorText(m->err));
  }

  static void ErrorCb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      std::optional<std::string> fatal = internal::FatalError(rk);
      if (self->failure.ok()) {
        self->failure =
            Status::IOError("Kafka producer failed for good: " + fatal.value_or(reason));
      }
      return;
    }
    // Refused credentials do not heal by retrying (librdkafka would, without end): fail, naming
    // what to check.
    if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      if (self->failure.ok()) self->failure = internal::AuthenticationFailure("producer", reason);
      return;
    }
    // Transient (brokers down, network): librdkafka reconnects and retries without limit.
    uint64_t suppressed = 0;
    if (self->limiter.Allow(rd_kafka_err2name(code), &suppressed)) {
      spdlog::warn("Kafka sink: {} [{}]{}", reason, rd_kafka_err2name(code),
                   suppressed > 0 ? " (" + std::to_string(suppressed) + " similar suppressed)"
                                  : std::string());
    }
  }

  Result<rd_kafka_topic_t*> Topic(const std::string& name) {
    if (auto it = topics.find(name); it != topics.end()) return it->second;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    if (rkt == nullptr) {
      return Status::InvalidArgument("Kafka topic '" + name +
                                     "': " + internal::ErrorText(rd_kafka_last_error()));
    }
    topics.emplace(name, rkt);
    return rkt;
  }

  void CheckFatal() {
    if (!failure.ok()) return;
    if (std::optional<std::string> fatal = internal::FatalError(rk)) {
      failure = Status::IOError("Kafka producer failed for good: " + *fatal);
    }
  }

  Status Check(const core::OutboundMessage& e) const {
    if (!IsValidTopicName(e.destination)) {
      return Status::InvalidArgument("outbox entry " + std::to_string(e.seq) + ": destination '" +
                                     e.destination + "' is not a Kafka topic name");
    }
    size_t size = kMessageOverhead + e.key.size() + e.payload.size();
    for (const auto& [name, value] : e.headers)
      size += kHeaderOverhead + name.size() + value.size();
    if (size > max_message_bytes) {
      return Status::InvalidArgument("outbox entry " + std::to_string(e.seq) + " for topic " +
                                     e.destination + " is " + std::to_string(size) +
                                     " bytes as a message; message.max.bytes is " +
                                     std::to_string(max_message_bytes));
    }
    return Status::OK();
  }

  Status Produce(const core::OutboundMessage& e, rd_kafka_topic_t* rkt) {
    std::vector<rd_kafka_vu_t> vus;
    vus.reserve(5 + e.headers.size());
    vus.push_back(Vu(RD_KAFKA_VTYPE_RKT));
    vus.back().u.rkt = rkt;
    vus.push_back(Vu(RD_KAFKA_VTYPE_MSGFLAGS));
    vus.back().u.i = RD_KAFKA_MSG_F_COPY;
    vus.push_back(Vu(RD_KAFKA_VTYPE_KEY));
    vus.back().u.mem.ptr = const_cast<char*>(e.key.data());  // copied, never written
    vus.back().u.mem.size = e.key.size();
    vus.push_back(Vu(RD_KAFKA_VTYPE_VALUE));
    vus.back().u.mem.ptr = const_cast<char*>(e.payload.data());
    vus.back().u.mem.size = e.payload.size();
    vus.push_back(Vu(RD_KAFKA_VTYPE_OPAQUE));
    vus.back().u.ptr = SeqToOpaque(e.seq);
    // The headers as the message has them: the outbox gives a CloudEvent its content-type
    // (engine/core/cloudevent.h), a dead letter keeps the original message's.
    for (const auto& [name, value] : e.headers) {
      // Header names are C strings for librdkafka.
      vus.push_back(Vu(RD_KAFKA_VTYPE_HEADER));
      vus.back().u.header = {name.c_str(), value.data(), static_cast<ssize_t>(value.size())};
    }
    while (true) {
      internal::ErrorPtr error(rd_kafka_produceva(rk, vus.data(), vus.size()));
      if (!error) {
        ++in_flight;
        return Status::OK();
      }
      if (rd_kafka_error_code(error.get()) != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Status::IOError("producing outbox entry " + std::to_string(e.seq) + " to topic " +
                               e.destination + " (key '" + e.key +
                               "'): " + rd_kafka_error_string(error.get()) + " (" +
                               rd_kafka_error_name(error.get()) + ")");
      }
      // librdkafka's queue is full: serve deliveries to make room; never drop.
      rd_kafka_poll(rk, kQueueFullPollMs);
      CheckFatal();
      RETURN_IF_ERROR(failure);
    }
  }
};

Result<std::unique_ptr<KafkaSink>> KafkaSink::Open(const KafkaConfig& config) {
  if (config.bootstrap.empty()) return Status::InvalidArgument("Kafka sink: no bootstrap servers");
  auto impl = std::make_unique<Impl>();
  // One request in flight per broker connection: with several, librdkafka's idempotent producer
  // (2.0) may take a request that failed during a broker restart as acknowledged because a later
  // one succeeded under a bumped epoch (librdkafka #4953): two messages went missing that way in
  // a test that restarts the broker. Batches of every partition still share each request.
  const KafkaProperties defaults = {
      {"enable.idempotence", "true"},
      {"max.in.flight.requests.per.connection", "1"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"message.timeout.ms", "0"},
      {"partitioner", std::string(LibrdkafkaPartitioner(config.partitioner))},
      {"compression.type", "lz4"},
  };
  ASSIGN_OR_RETURN(internal::ConfPtr conf,
                   internal::NewConf(config.bootstrap, defaults,
                                     {&config.properties, &config.producer_properties}));
  char buf[64];
  size_t size = sizeof(buf);
  if (rd_kafka_conf_get(conf.get(), "message.max.bytes", buf, &size) == RD_KAFKA_CONF_OK) {
    size_t max = 0;
    std::string_view s(buf);
    auto r = std::from_chars(s.data(), s.data() + s.size(), max);
    if (r.ec == std::errc() && max > 0) impl->max_message_bytes = max;
  }
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Impl::DeliveryCb);
  rd_kafka_conf_set_error_cb(conf.get(), &Impl::ErrorCb);
  ASSIGN_OR_RETURN(impl->rk, internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  return std::unique_ptr<KafkaSink>(new KafkaSink(std::move(impl)));
}

KafkaSink::KafkaSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSink::~KafkaSink() = default;

Status KafkaSink::Send(std::vector<core::OutboundMessage> entries) {
  // Everything that can be refused is refused before anything is produced.
  for (const core::OutboundMessage& e : entries)
    RETURN_IF_ERROR(impl_->Check(e));
  impl_->CheckFatal();
  RETURN_IF_ERROR(impl_->failure);
  for (size_t i = 0; i < entries.size(); ++i) {
    const core::OutboundMessage& e = entries[i];
    ASSIGN_OR_RETURN(rd_kafka_topic_t * rkt, impl_->Topic(e.destination));
    Status s = impl_->Produce(e, rkt);
    if (!s.ok() && i > 0) {
      return Status::IOError(s.message() + "; the " + std::to_string(i) +
                             " entries before it were accepted");
    }
    RETURN_IF_ERROR(s);
  }
  // Serve delivery reports that are ready without waiting.
  rd_kafka_poll(impl_->rk, 0);
  return Status::OK();
}

Status KafkaSink::Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) {
  Impl& s = *impl_;
  const steady_clock::time_point deadline = steady_clock::now() + wait;
  rd_kafka_poll(s.rk, 0);
  s.CheckFatal();
  while (s.failure.ok() && s.in_flight > 0) {
    auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) break;
    rd_kafka_poll(s.rk, static_cast<int>(left.count()));
    s.CheckFatal();
  }
  seqs->insert(seqs->end(), s.delivered.begin(), s.delivered.end());
  s.delivered.clear();
  return s.failure;
}

size_t KafkaSink::InFlight() const {
  return impl_->in_flight;
}

}  // namespace amtsweg::connectors
