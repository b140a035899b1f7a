#include "connectors/kafka/kafka_admin.h"

#include <memory>

#include "connectors/kafka/internal/kafka_internal.h"

namespace amtsweg::connectors {
namespace {

struct ClientDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDeleter>;

// A consumer-type client without a group: its metadata requests never create topics (a
// producer's may, on clusters with auto.create.topics.enable).
Result<ClientPtr> AdminClient(const std::string& bootstrap, const KafkaProperties& properties) {
  ASSIGN_OR_RETURN(
      internal::ConfPtr conf,
      internal::NewConf(bootstrap, {{"allow.auto.create.topics", "false"}}, {&properties}));
  ASSIGN_OR_RETURN(rd_kafka_t * rk, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  return ClientPtr(rk);
}

}  // namespace

Status CreateTopics(const std::string& bootstrap, const std::vector<TopicSpec>& topics,
                    const KafkaProperties& properties, std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::OK();
  ASSIGN_OR_RETURN(ClientPtr rk, AdminClient(bootstrap, properties));

  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>> owned;
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const TopicSpec& spec : topics) {
    char errstr[512];
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                                   spec.replication_factor, errstr, sizeof(errstr));
    if (t == nullptr) return Status::InvalidArgument("topic '" + spec.name + "': " + errstr);
    owned.emplace_back(t);
    new_topics.push_back(t);
    for (const auto& [name, value] : spec.configs) {
      rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(t, name.c_str(), value.c_str());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::InvalidArgument("topic '" + spec.name + "' config '" + name +
                                       "': " + internal::ErrorText(err));
      }
    }
  }

  const int timeout_ms = static_cast<int>(timeout.count());
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  char errstr[512];
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr,
                                                sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, errstr,
                                                  sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::InvalidArgument(std::string("CreateTopics timeout: ") + errstr);
  }
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options.get(), queue.get());
  // The request's own timeout answers first; the margin only guards against a lost reply.
  std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
      rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (!event) return Status::Unavailable("creating topics: no answer from " + bootstrap);
  rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string message = std::string("creating topics at ") + bootstrap + ": " +
                          rd_kafka_event_error_string(event.get());
    return err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
               ? Status::Unavailable(message)
               : Status::InvalidArgument(message);
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);

  std::string problems;
  bool unavailable = false;
  for (size_t i = 0; i < count; ++i) {
    std::string name = rd_kafka_topic_result_name(results[i]);
    rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[i]);
    std::string problem;
    if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      int32_t wanted = 0;
      for (const TopicSpec& spec : topics) {
        if (spec.name == name) wanted = spec.partitions;
      }
      Result<int32_t> have = internal::TopicPartitionCount(rk.get(), name, timeout, true);
      if (!have.ok()) {
        problem = have.status().message();
        unavailable = unavailable || have.status().code() == Status::Code::kUnavailable;
      } else if (wanted > 0 && *have != wanted) {
        problem = "topic '" + name + "' exists with " + std::to_string(*have) +
                  " partitions, not " + std::to_string(wanted);
      }
    } else if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      problem = "creating topic '" + name + "': " +
                (message != nullptr ? std::string(message) + " (" + rd_kafka_err2name(terr) + ")"
                                    : internal::ErrorText(terr));
      unavailable = unavailable || terr == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                    terr == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
    }
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
  }
  if (problems.empty()) return Status::OK();
  return unavailable ? Status::Unavailable(problems) : Status::InvalidArgument(problems);
}

Result<int32_t> PartitionCount(const std::string& bootstrap, const std::string& topic,
                               const KafkaProperties& properties,
                               std::chrono::milliseconds timeout) {
  if (!IsValidTopicName(topic)) {
    return Status::InvalidArgument("'" + topic + "' is not a valid topic name");
  }
  ASSIGN_OR_RETURN(ClientPtr rk, AdminClient(bootstrap, properties));
  return internal::TopicPartitionCount(rk.get(), topic, timeout, /*all_topics=*/true);
}

}  // namespace amtsweg::connectors
