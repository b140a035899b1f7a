#include "connectors/kafka/kafka_admin.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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
// producer's may, on clusters with auto.create.topics.enable). It notes whether the broker
// refused its credentials, which librdkafka reports only through the error callback, so that a
// failed request says so instead of "transport failure".
class AdminClient {
 public:
  static Result<AdminClient> Open(const std::string& bootstrap, const KafkaProperties& properties) {
    AdminClient client;
    ASSIGN_OR_RETURN(
        internal::ConfPtr conf,
        internal::NewConf(bootstrap, {{"allow.auto.create.topics", "false"}}, {&properties}));
    rd_kafka_conf_set_error_cb(conf.get(), &AdminClient::ErrorCb);
    rd_kafka_conf_set_opaque(conf.get(), client.refused_.get());
    ASSIGN_OR_RETURN(rd_kafka_t * rk, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
    client.rk_.reset(rk);
    return client;
  }

  rd_kafka_t* get() const { return rk_.get(); }

  // `status`, or the refusal of the credentials when the broker refused them.
  Status Explain(Status status) const {
    if (status.ok()) return status;
    rd_kafka_poll(rk_.get(), 0);  // serves the error callbacks queued meanwhile
    if (refused_->empty()) return status;
    return internal::AuthenticationFailure("admin client", *refused_);
  }

 private:
  AdminClient() : refused_(std::make_unique<std::string>()) {}

  static void ErrorCb(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* refused = static_cast<std::string*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION && refused->empty()) *refused = reason;
  }

  // Declared first: destroyed after the client, whose callbacks write it.
  std::unique_ptr<std::string> refused_;
  ClientPtr rk_;
};

}  // namespace

Status CreateTopics(const std::string& bootstrap, const std::vector<TopicSpec>& topics,
                    const KafkaProperties& properties, std::chrono::milliseconds timeout) {
  if (topics.empty()) return Status::OK();
  ASSIGN_OR_RETURN(AdminClient rk, AdminClient::Open(bootstrap, properties));

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
  if (!event)
    return rk.Explain(Status::Unavailable("creating topics: no answer from " + bootstrap));
  rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string message = std::string("creating topics at ") + bootstrap + ": " +
                          rd_kafka_event_error_string(event.get());
    return rk.Explain(err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
                          ? Status::Unavailable(message)
                          : Status::InvalidArgument(message));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);

  std::string problems;
  bool unavailable = false;
  std::vector<std::string> created;
  created.reserve(count);
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
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR) created.push_back(name);
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
  }
  // The controller has created them; a broker's metadata may not show them yet (KRaft propagates
  // it asynchronously), and a client started right after this would be told they do not exist.
  // Return once the metadata shows every created topic, or after `timeout`.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const std::string& name : created) {
    while (problems.empty()) {
      Result<int32_t> have = internal::TopicPartitionCount(rk.get(), name, timeout, true);
      if (have.ok()) break;
      if (have.status().code() != Status::Code::kNotFound ||
          std::chrono::steady_clock::now() >= deadline) {
        problems = "topic '" + name + "' was created, but the cluster's metadata does not show " +
                   "it: " + have.status().message();
        unavailable = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the next metadata request
      }
    }
  }
  if (problems.empty()) return Status::OK();
  return rk.Explain(unavailable ? Status::Unavailable(problems)
                                : Status::InvalidArgument(problems));
}

Result<int32_t> PartitionCount(const std::string& bootstrap, const std::string& topic,
                               const KafkaProperties& properties,
                               std::chrono::milliseconds timeout) {
  if (!IsValidTopicName(topic)) {
    return Status::InvalidArgument("'" + topic + "' is not a valid topic name");
  }
  ASSIGN_OR_RETURN(AdminClient rk, AdminClient::Open(bootstrap, properties));
  Result<int32_t> count = internal::TopicPartitionCount(rk.get(), topic, timeout, true);
  if (count.ok()) return count;
  return rk.Explain(count.status());
}

}  // namespace amtsweg::connectors
