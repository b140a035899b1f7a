// Internal to connectors/kafka: message headers and client plumbing shared by the source,
// the sink and the admin helper. Not part of the connector's contract (tests use it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_config.h"
#include "engine/common/status.h"

namespace amtsweg::connectors::internal {

// One Kafka header as read; `value` is nullopt for a null value. Views into the message.
struct HeaderView {
  std::string_view name;
  std::optional<std::string_view> value;
};

// The headers of a message in order (empty when it has none).
std::vector<HeaderView> HeadersOf(const rd_kafka_message_t* message);

// The partition Java's default partitioner picks for a keyed record:
// (murmur2(key) & 0x7fffffff) % partition_count. partition_count must be > 0.
int32_t JavaPartition(std::string_view key, int32_t partition_count);

// Limits how often a repeated warning is logged: at most once per `every` per key.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration every = std::chrono::seconds(10))
      : every_(every) {}
  // True when a message with this key may be logged now; *suppressed is how many were held back
  // since the last one.
  bool Allow(const std::string& key, uint64_t* suppressed);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
    bool logged = false;
  };
  std::chrono::steady_clock::duration every_;
  std::map<std::string, Entry> entries_;
};

// Owning handles for librdkafka objects.
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// A new conf with bootstrap.servers, librdkafka's log routed to spdlog, and then `defaults`
// followed by each of `overrides` applied in order.
Result<ConfPtr> NewConf(const std::string& bootstrap, const KafkaProperties& defaults,
                        const std::vector<const KafkaProperties*>& overrides);

// Creates a client from `conf` (consumed on success and on failure).
Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, ConfPtr conf);

// "librdkafka message (Error_Name)".
std::string ErrorText(rd_kafka_resp_err_t err);

// The status of credentials the broker refused (librdkafka's RD_KAFKA_RESP_ERR__AUTHENTICATION):
// an IOError naming the client ("producer", "consumer of T"), librdkafka's reason and the
// settings to check. Retrying does not help, so the clients fail with it.
Status AuthenticationFailure(const std::string& client, const std::string& reason);

// The client's fatal error, if one was raised.
std::optional<std::string> FatalError(rd_kafka_t* rk);

// Partition count of `topic` from the cluster's metadata; NotFound when the topic does not
// exist, Unavailable when the cluster did not answer within `timeout`. With `all_topics` the
// request asks for every topic, which never creates one (brokers before 0.11, and librdkafka's
// mock cluster, may auto-create a topic asked for by name).
Result<int32_t> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic,
                                    std::chrono::milliseconds timeout, bool all_topics = false);

}  // namespace amtsweg::connectors::internal
