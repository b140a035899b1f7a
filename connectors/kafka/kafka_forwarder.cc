#include "connectors/kafka/kafka_forwarder.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "connectors/kafka/internal/kafka_internal.h"

namespace amtsweg::connectors {

namespace {

constexpr int kPollMs = 100;
constexpr size_t kBatch = 1000;      // messages produced before a flush and a commit
constexpr int kFlushMs = 60 * 1000;  // a flush that takes longer fails the run

// ^<prefix with its dots escaped>.+ : the subscription's pattern (librdkafka's regex syntax).
std::string Pattern(const std::string& prefix) {
  std::string out = "^";
  for (char c : prefix) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out + ".+";
}

bool IsChannelHeader(const char* name) {
  return strcasecmp(name, kChannelOrganisationHeader) == 0 || strcasecmp(name, kChannelHeader) == 0;
}

}  // namespace

struct KafkaForwarder::Impl {
  ForwarderConfig config;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  ForwardStats stats;
  Status failure;  // a delivery or credentials failure, from the callbacks
  // Assigned partitions: {topic, partition} -> read to its end.
  std::map<std::pair<std::string, int32_t>, bool> at_end;
  bool assigned_once = false;
  // Offsets to commit once what was produced is flushed: {topic, partition} -> next offset.
  std::map<std::pair<std::string, int32_t>, int64_t> to_commit;
  size_t unflushed = 0;
  internal::LogLimiter limiter;

  ~Impl() {
    if (consumer != nullptr) {
      rd_kafka_consumer_close(consumer);
      rd_kafka_destroy(consumer);
    }
    if (producer != nullptr) {
      rd_kafka_flush(producer, kFlushMs);
      rd_kafka_destroy(producer);
    }
  }

  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || !self->failure.ok()) return;
    self->failure = Status::IOError("forwarding to topic " + self->config.topic +
                                    " failed: " + internal::ErrorText(m->err));
  }

  static void ErrorCb(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      if (self->failure.ok()) self->failure = internal::AuthenticationFailure("forwarder", reason);
      return;
    }
    uint64_t suppressed = 0;
    const char* name = rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
    if (self->limiter.Allow(name, &suppressed))
      spdlog::warn("Kafka forwarder: {} [{}]", reason, name);
  }

  // Produces what was read, waits for the input topic to take it, then commits the offsets.
  Status FlushAndCommit() {
    if (unflushed > 0) {
      rd_kafka_resp_err_t err = rd_kafka_flush(producer, kFlushMs);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("forwarding to topic " + config.topic +
                                   ": not acknowledged in time (" + internal::ErrorText(err) + ")");
      }
      unflushed = 0;
    }
    RETURN_IF_ERROR(failure);
    if (to_commit.empty()) return Status::OK();
    internal::PartitionListPtr list(
        rd_kafka_topic_partition_list_new(static_cast<int>(to_commit.size())));
    for (const auto& [tp, offset] : to_commit)
      rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_commit(consumer, list.get(), /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("committing the ingress offsets of group " + config.group + ": " +
                                 internal::ErrorText(err));
    }
    to_commit.clear();
    return Status::OK();
  }

  // Partitions given up: what was read of them is forwarded and committed first, so that the
  // next owner starts after it.
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i)
        self->at_end[{parts->elems[i].topic, parts->elems[i].partition}] = false;
      self->assigned_once = true;
      rd_kafka_assign(rk, parts);
      return;
    }
    if (Status s = self->FlushAndCommit(); !s.ok() && self->failure.ok()) self->failure = s;
    for (int i = 0; i < parts->cnt; ++i)
      self->at_end.erase({parts->elems[i].topic, parts->elems[i].partition});
    rd_kafka_assign(rk, nullptr);
  }

  bool Idle() const {
    if (!assigned_once || unflushed > 0 || !to_commit.empty()) return false;
    for (const auto& [tp, end] : at_end) {
      if (!end) return false;
    }
    return true;
  }

  Status Forward(const rd_kafka_message_t* m) {
    const std::string topic = rd_kafka_topic_name(m->rkt);
    const std::string organisation = topic.substr(config.ingress_prefix.size());
    rd_kafka_headers_t* in_headers = nullptr;
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &in_headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers = rd_kafka_headers_new(rd_kafka_header_cnt(in_headers) + 2);
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0; rd_kafka_header_get_all(in_headers, i, &name, &value, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        if (IsChannelHeader(name)) {
          ++stats.forged_headers;
          continue;
        }
        rd_kafka_header_add(headers, name, -1, value, static_cast<ssize_t>(size));
      }
    } else {
      headers = rd_kafka_headers_new(2);
    }
    const std::string channel = "topic " + topic;
    rd_kafka_header_add(headers, kChannelOrganisationHeader, -1, organisation.data(),
                        static_cast<ssize_t>(organisation.size()));
    rd_kafka_header_add(headers, kChannelHeader, -1, channel.data(),
                        static_cast<ssize_t>(channel.size()));
    std::vector<rd_kafka_vu_t> vus(5);
    for (rd_kafka_vu_t& vu : vus)
      std::memset(&vu, 0, sizeof(vu));
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = config.topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[1].u.i = RD_KAFKA_MSG_F_COPY;
    vus[2].vtype = RD_KAFKA_VTYPE_KEY;
    vus[2].u.mem.ptr = m->key;
    vus[2].u.mem.size = m->key_len;
    vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[3].u.mem.ptr = m->payload;
    vus[3].u.mem.size = m->len;
    vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[4].u.headers = headers;
    internal::ErrorPtr error(rd_kafka_produceva(producer, vus.data(), vus.size()));
    if (error) {
      rd_kafka_headers_destroy(headers);  // owned by the message only when it was taken
      return Status::IOError("forwarding " + topic + " partition " + std::to_string(m->partition) +
                             " offset " + std::to_string(m->offset) + " to " + config.topic + ": " +
                             rd_kafka_error_string(error.get()));
    }
    ++unflushed;
    ++stats.forwarded;
    to_commit[{topic, m->partition}] = m->offset + 1;
    return Status::OK();
  }
};

Result<std::unique_ptr<KafkaForwarder>> KafkaForwarder::Open(const ForwarderConfig& config) {
  if (!IsValidTopicName(config.topic))
    return Status::InvalidArgument("'" + config.topic + "' is not a valid Kafka topic name");
  if (config.ingress_prefix.empty() || !IsValidTopicName(config.ingress_prefix))
    return Status::InvalidArgument("ingress prefix '" + config.ingress_prefix +
                                   "' is not the start of a valid Kafka topic name");
  if (config.topic.rfind(config.ingress_prefix, 0) == 0) {
    return Status::InvalidArgument("the input topic '" + config.topic +
                                   "' starts with the ingress prefix '" + config.ingress_prefix +
                                   "': it would be forwarded into itself");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const KafkaProperties consumer_defaults = {
      {"group.id", config.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"topic.metadata.refresh.interval.ms", "5000"},  // new ingress topics join within seconds
      {"partition.assignment.strategy", "range"},
  };
  ASSIGN_OR_RETURN(internal::ConfPtr cconf,
                   internal::NewConf(config.bootstrap, consumer_defaults, {&config.properties}));
  rd_kafka_conf_set_opaque(cconf.get(), impl.get());
  rd_kafka_conf_set_error_cb(cconf.get(), &Impl::ErrorCb);
  rd_kafka_conf_set_rebalance_cb(cconf.get(), &Impl::RebalanceCb);
  ASSIGN_OR_RETURN(impl->consumer, internal::NewClient(RD_KAFKA_CONSUMER, std::move(cconf)));
  rd_kafka_poll_set_consumer(impl->consumer);

  // The same producer settings as the sink's: idempotent, all replicas, Java's partitioner (the
  // engine checks that a key is on its partition).
  const KafkaProperties producer_defaults = {
      {"enable.idempotence", "true"},
      {"max.in.flight.requests.per.connection", "1"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"partitioner", "murmur2_random"},
      {"compression.type", "lz4"},
  };
  ASSIGN_OR_RETURN(internal::ConfPtr pconf,
                   internal::NewConf(config.bootstrap, producer_defaults, {&config.properties}));
  rd_kafka_conf_set_opaque(pconf.get(), impl.get());
  rd_kafka_conf_set_error_cb(pconf.get(), &Impl::ErrorCb);
  rd_kafka_conf_set_dr_msg_cb(pconf.get(), &Impl::DeliveryCb);
  ASSIGN_OR_RETURN(impl->producer, internal::NewClient(RD_KAFKA_PRODUCER, std::move(pconf)));

  internal::PartitionListPtr subscription(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(subscription.get(), Pattern(config.ingress_prefix).c_str(),
                                    RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(impl->consumer, subscription.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::InvalidArgument("subscribing to the topics " + config.ingress_prefix +
                                   "*: " + internal::ErrorText(err));
  }
  return std::unique_ptr<KafkaForwarder>(new KafkaForwarder(std::move(impl)));
}

KafkaForwarder::KafkaForwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaForwarder::~KafkaForwarder() = default;

const ForwardStats& KafkaForwarder::stats() const {
  return impl_->stats;
}

Status KafkaForwarder::Run(const std::function<bool()>& stop, bool until_idle) {
  Impl& f = *impl_;
  while (!stop()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(f.consumer, kPollMs);
    rd_kafka_poll(f.producer, 0);  // delivery reports
    RETURN_IF_ERROR(f.failure);
    if (m == nullptr) {
      RETURN_IF_ERROR(f.FlushAndCommit());
      if (until_idle && f.Idle()) return Status::OK();
      continue;
    }
    Status s;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->rkt != nullptr) f.at_end[{rd_kafka_topic_name(m->rkt), m->partition}] = true;
    } else if (m->err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      s = internal::AuthenticationFailure("forwarder", rd_kafka_message_errstr(m));
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      uint64_t suppressed = 0;
      if (f.limiter.Allow(rd_kafka_err2name(m->err), &suppressed)) {
        spdlog::warn("Kafka forwarder: {} [{}]", rd_kafka_message_errstr(m),
                     rd_kafka_err2name(m->err));
      }
    } else {
      f.at_end[{rd_kafka_topic_name(m->rkt), m->partition}] = false;
      s = f.Forward(m);
    }
    rd_kafka_message_destroy(m);
    RETURN_IF_ERROR(s);
    if (f.unflushed >= kBatch) RETURN_IF_ERROR(f.FlushAndCommit());
  }
  return f.FlushAndCommit();
}

}  // namespace amtsweg::connectors
