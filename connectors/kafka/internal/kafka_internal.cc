#include "connectors/kafka/internal/kafka_internal.h"

#include <spdlog/spdlog.h>

namespace amtsweg::connectors::internal {

std::vector<HeaderView> HeadersOf(const rd_kafka_message_t* message) {
  std::vector<HeaderView> out;
  rd_kafka_headers_t* headers = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    HeaderView h;
    h.name = name;
    if (value != nullptr) h.value = std::string_view(static_cast<const char*>(value), size);
    out.push_back(h);
  }
  return out;
}

int32_t JavaPartition(std::string_view key, int32_t partition_count) {
  // librdkafka's murmur2 partitioner is Java's: (murmur2(key) & 0x7fffffff) % count. It does not
  // use the topic handle or the opaques.
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partition_count, nullptr,
                                          nullptr);
}

bool LogLimiter::Allow(const std::string& key, uint64_t* suppressed) {
  auto now = std::chrono::steady_clock::now();
  Entry& e = entries_[key];
  if (e.logged && now - e.last < every_) {
    ++e.suppressed;
    return false;
  }
  *suppressed = e.suppressed;
  e.suppressed = 0;
  e.last = now;
  e.logged = true;
  return true;
}

namespace {

// librdkafka logs from its own threads; spdlog's default logger is thread-safe.
void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  spdlog::level::level_enum l = level <= 3   ? spdlog::level::err
                                : level == 4 ? spdlog::level::warn
                                : level <= 6 ? spdlog::level::info
                                             : spdlog::level::debug;
  spdlog::log(l, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, message);
}

}  // namespace

Result<ConfPtr> NewConf(const std::string& bootstrap, const KafkaProperties& defaults,
                        const std::vector<const KafkaProperties*>& overrides) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToSpdlog);
  RETURN_IF_ERROR(ApplyKafkaProperties(conf.get(), {{"bootstrap.servers", bootstrap}}));
  RETURN_IF_ERROR(ApplyKafkaProperties(conf.get(), defaults));
  for (const KafkaProperties* p : overrides)
    RETURN_IF_ERROR(ApplyKafkaProperties(conf.get(), *p));
  return conf;
}

Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return Status::InvalidArgument(std::string("cannot create Kafka ") +
                                   (type == RD_KAFKA_CONSUMER ? "consumer" : "producer") + ": " +
                                   errstr);
  }
  (void)conf.release();  // rd_kafka_new took it
  return rk;
}

std::string ErrorText(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2str(err)) + " (" + rd_kafka_err2name(err) + ")";
}

Status AuthenticationFailure(const std::string& client, const std::string& reason) {
  return Status::IOError("Kafka " + client + ": the broker refused the credentials: " + reason +
                         " (check security.protocol, sasl.mechanisms, sasl.username and "
                         "sasl.password, see docs/operations.md)");
}

std::optional<std::string> FatalError(rd_kafka_t* rk) {
  char errstr[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, errstr, sizeof(errstr));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string(errstr) + " (" + rd_kafka_err2name(err) + ")";
}

Result<int32_t> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic,
                                    std::chrono::milliseconds timeout, bool all_topics) {
  rd_kafka_topic_t* rkt = nullptr;
  if (!all_topics) {
    rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    if (rkt == nullptr) {
      return Status::InvalidArgument("topic '" + topic + "': " + ErrorText(rd_kafka_last_error()));
    }
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, all_topics ? 1 : 0, rkt, &md, static_cast<int>(timeout.count()));
  if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("metadata of topic '" + topic + "': " + ErrorText(err));
  }
  Result<int32_t> result = Status::NotFound("topic '" + topic + "' does not exist");
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) {
      result = t.partition_cnt;
    } else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
               t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = Status::Unavailable("metadata of topic '" + topic + "': " + ErrorText(t.err));
    }
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

}  // namespace amtsweg::connectors::internal
