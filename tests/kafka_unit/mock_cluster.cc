#include "tests/kafka_unit/mock_cluster.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "connectors/kafka/internal/kafka_internal.h"

namespace amtsweg::connectors::testing {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, const KafkaProperties& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << name << ": " << errstr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    ADD_FAILURE() << "rd_kafka_new: " << errstr;
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

rd_kafka_vu_t Vu(rd_kafka_vtype_t type) {
  rd_kafka_vu_t vu;
  std::memset(&vu, 0, sizeof(vu));
  vu.vtype = type;
  return vu;
}

}  // namespace

MockCluster::MockCluster() {
  KafkaProperties owner = {{"log_level", "3"}};
  if (std::getenv("AMTSWEG_KAFKA_DEBUG") != nullptr) owner = {{"debug", "mock"}};
  owner_ = NewClient(RD_KAFKA_PRODUCER, owner);
  mock_ = rd_kafka_mock_cluster_new(owner_, 1);
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
  producer_ = NewClient(
      RD_KAFKA_PRODUCER,
      {{"bootstrap.servers", bootstrap_}, {"linger.ms", "0"}, {"enable.idempotence", "true"}});
}

MockCluster::~MockCluster() {
  rd_kafka_destroy(producer_);
  rd_kafka_mock_cluster_destroy(mock_);
  rd_kafka_destroy(owner_);
}

void MockCluster::CreateTopic(const std::string& topic, int partitions) {
  ASSERT_EQ(rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

KafkaConfig MockCluster::Config(const std::string& topic, const std::string& group) const {
  KafkaConfig c;
  c.bootstrap = bootstrap_;
  c.topic = topic;
  c.group = group;
  c.consumer_properties = {{"session.timeout.ms", "4500"},
                           {"heartbeat.interval.ms", "300"},
                           {"topic.metadata.refresh.interval.ms", "1000"}};
  // AMTSWEG_KAFKA_DEBUG=cgrp,consumer,... turns on librdkafka's debug log for the connector.
  if (const char* debug = std::getenv("AMTSWEG_KAFKA_DEBUG")) {
    c.properties = {{"debug", debug}};
    spdlog::set_level(spdlog::level::debug);
  }
  return c;
}

int64_t MockCluster::Produce(const std::string& topic, int32_t partition,
                             std::optional<std::string> key, std::optional<std::string> value,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  if (partition < 0) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_, topic.c_str(), nullptr);
    rd_kafka_resp_err_t err = rd_kafka_metadata(producer_, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || !key) {
      ADD_FAILURE() << "no metadata for " << topic;
      if (md != nullptr) rd_kafka_metadata_destroy(md);
      return -1;
    }
    partition = internal::JavaPartition(*key, md->topics[0].partition_cnt);
    rd_kafka_metadata_destroy(md);
  }
  std::vector<rd_kafka_vu_t> vus;
  vus.push_back(Vu(RD_KAFKA_VTYPE_TOPIC));
  vus.back().u.cstr = topic.c_str();
  vus.push_back(Vu(RD_KAFKA_VTYPE_PARTITION));
  vus.back().u.i32 = partition;
  vus.push_back(Vu(RD_KAFKA_VTYPE_MSGFLAGS));
  vus.back().u.i = RD_KAFKA_MSG_F_COPY;
  if (key) {
    vus.push_back(Vu(RD_KAFKA_VTYPE_KEY));
    vus.back().u.mem.ptr = key->data();
    vus.back().u.mem.size = key->size();
  }
  if (value) {
    vus.push_back(Vu(RD_KAFKA_VTYPE_VALUE));
    vus.back().u.mem.ptr = value->data();
    vus.back().u.mem.size = value->size();
  }
  for (const auto& [name, v] : headers) {
    vus.push_back(Vu(RD_KAFKA_VTYPE_HEADER));
    vus.back().u.header = {name.c_str(), v.data(), static_cast<ssize_t>(v.size())};
  }
  rd_kafka_error_t* error = rd_kafka_produceva(producer_, vus.data(), vus.size());
  if (error != nullptr) {
    ADD_FAILURE() << "produce: " << rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    return -1;
  }
  // Wait until the cluster has it, so that the test's next step sees it.
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (rd_kafka_outq_len(producer_) > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_flush(producer_, 100);
  }
  if (rd_kafka_outq_len(producer_) > 0) {
    ADD_FAILURE() << "message to " << topic << " not delivered in time";
    return -1;
  }
  // One producer, one message at a time: the partition's high watermark is the offset after it.
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(producer_, topic.c_str(), partition, &low, &high, 5000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "watermarks: " << rd_kafka_err2str(err);
    return -1;
  }
  return high - 1;
}

std::vector<TestMessage> MockCluster::Read(const std::string& topic, int partitions, size_t count) {
  std::vector<TestMessage> out;
  rd_kafka_t* consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap_},
                                                       {"group.id", "test-reader"},
                                                       {"enable.auto.commit", "false"}});
  if (consumer == nullptr) return out;
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  EXPECT_EQ(rd_kafka_assign(consumer, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TestMessage t;
      t.partition = m->partition;
      t.offset = m->offset;
      if (m->key != nullptr) t.key = std::string(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) t.value.assign(static_cast<const char*>(m->payload), m->len);
      for (const internal::HeaderView& h : internal::HeadersOf(m))
        t.headers.emplace_back(std::string(h.name), std::string(h.value.value_or("")));
      out.push_back(std::move(t));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return out;
}

GroupMember::GroupMember(const MockCluster& cluster, const std::string& group) {
  KafkaProperties properties = {{"bootstrap.servers", cluster.bootstrap()},
                                {"group.id", group},
                                {"partition.assignment.strategy", "cooperative-sticky"},
                                {"enable.auto.commit", "false"},
                                {"log_level", "3"}};
  // The same group timings as the connector's (see MockCluster::Config).
  KafkaConfig c = cluster.Config("unused", group);
  properties.insert(properties.end(), c.consumer_properties.begin(), c.consumer_properties.end());
  properties.insert(properties.end(), c.properties.begin(), c.properties.end());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << name << ": " << errstr;
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &GroupMember::RebalanceCb);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk_ == nullptr) {
    ADD_FAILURE() << "rd_kafka_new: " << errstr;
    rd_kafka_conf_destroy(conf);
    return;
  }
  rd_kafka_poll_set_consumer(rk_);
}

GroupMember::~GroupMember() {
  if (rk_ == nullptr) return;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void GroupMember::Subscribe(const std::vector<std::string>& topics) {
  if (rk_ == nullptr) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& topic : topics)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(rk_, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
}

void GroupMember::Poll(std::chrono::milliseconds wait) {
  if (rk_ == nullptr) return;
  auto deadline = std::chrono::steady_clock::now() + wait;
  do {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_message_t* m =
        rd_kafka_consumer_poll(rk_, left.count() > 0 ? static_cast<int>(left.count()) : 0);
    if (m != nullptr) rd_kafka_message_destroy(m);
  } while (std::chrono::steady_clock::now() < deadline);
}

int64_t GroupMember::Committed(const std::string& topic, int32_t partition) {
  if (rk_ == nullptr) return -1;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list, 5000);
  int64_t offset = err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                           list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                           list->elems[0].offset >= 0
                       ? list->elems[0].offset
                       : -1;
  rd_kafka_topic_partition_list_destroy(list);
  return offset;
}

void GroupMember::RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<GroupMember*>(opaque);
  EXPECT_STREQ(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (parts->cnt > 0) {
      rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(parts);
      EXPECT_EQ(rd_kafka_committed(rk, committed, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
      for (int i = 0; i < committed->cnt; ++i) {
        const rd_kafka_topic_partition_t& tp = committed->elems[i];
        self->committed_at_assignment_[{tp.topic, tp.partition}] =
            tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0 ? tp.offset : -1;
        self->owned_.insert({tp.topic, tp.partition});
      }
      rd_kafka_topic_partition_list_destroy(committed);
    }
    rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
    EXPECT_EQ(e, nullptr) << rd_kafka_error_string(e);
    if (e != nullptr) rd_kafka_error_destroy(e);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i)
      self->owned_.erase({parts->elems[i].topic, parts->elems[i].partition});
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
    EXPECT_EQ(e, nullptr) << rd_kafka_error_string(e);
    if (e != nullptr) rd_kafka_error_destroy(e);
  } else {
    self->owned_.clear();
    rd_kafka_assign(rk, nullptr);
  }
}

std::vector<core::RawInput> PollUntil(core::Source& source, size_t count,
                                      core::Positions* positions) {
  std::vector<core::RawInput> out;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    Result<size_t> n = source.Poll(count - out.size(), std::chrono::milliseconds(100), &out);
    if (!n.ok()) {
      ADD_FAILURE() << n.status().ToString();
      break;
    }
    if (positions != nullptr) {
      core::Positions after;
      source.PositionsAfterPoll(&after);
      for (auto& [key, token] : after) {
        bool replaced = false;
        for (auto& [k, t] : *positions) {
          if (k == key) {
            t = token;
            replaced = true;
          }
        }
        if (!replaced) positions->emplace_back(key, token);
      }
    }
  }
  return out;
}

}  // namespace amtsweg::connectors::testing
