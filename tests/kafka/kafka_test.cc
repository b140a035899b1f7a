// End to end against a real Apache Kafka broker (scripts/kafka): drives the amtsweg binary with
// `--source kafka` and compares what it stores and publishes with a run of the file source over
// the same events: case list, every case's log (byte for byte, with its chain hashes), the
// outbound events on each organisation's topic, the audit stream and the dead letters. Around
// that: random crashes (crash points and SIGKILL), a broker restart, two instances handing
// partitions over, and poison messages.
//
// The broker comes from the environment (AMTSWEG_KAFKA_BOOTSTRAP; scripts/test exports it).
// Every test uses topics, a group and temporary directories of its own (named after the test and
// the pid) and deletes them at the end; AMTSWEG_TEST_KEEP=1 keeps the directories. Randomness is
// seeded; the seed is printed, and AMTSWEG_TEST_SEED=<seed> repeats a run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_admin.h"
#include "engine/common/hash.h"
#include "engine/common/value.h"
#include "engine/dsl/directory.h"
#include "engine/runtime/events.h"
#include "engine/store/store.h"
#include "tests/testing/files.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::string kRepo = AMTSWEG_SOURCE_DIR;
const std::string kBinary = AMTSWEG_BINARY;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

using amtsweg::testing::ReadFile;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string Tail(const std::string& text, size_t bytes = 3000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// Polls `done` until it answers true; on timeout a test failure names `what`. Waits only on
// observable conditions: the pause between polls is not what the test relies on.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               const std::string& what, std::chrono::milliseconds every = 100ms) {
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (SteadyClock::now() >= deadline) {
      ADD_FAILURE() << "timed out after " << timeout.count() / 1000 << " s waiting for " << what;
      return false;
    }
    std::this_thread::sleep_for(every);
  }
}

// --- child processes ---------------------------------------------------------------------------

struct Output {
  int code = -1;  // exit status; 128 + signal when killed; -1 when it did not end in time
  std::string out;
  std::string err;
};

// A child process with stdout and stderr in files. Killed (SIGKILL) and reaped on destruction if
// still running.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& log_base)
      : out_path_(log_base + ".out"), err_path_(log_base + ".err") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << args[0] << ": " << std::strerror(rc);
      pid_ = -1;
      code_ = -1;
    }
  }
  ~Child() {
    if (pid_ > 0 && !code_.has_value()) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // True once the process has ended (reaps it).
  bool Exited() {
    if (code_.has_value()) return true;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    return false;
  }
  // The exit status once ended, else nullopt.
  std::optional<int> code() const { return code_; }

  void Signal(int sig) {
    if (pid_ > 0 && !code_.has_value()) kill(pid_, sig);
  }

  // Waits for the end; after `timeout` kills it and fails the test. Returns the exit status.
  int Wait(std::chrono::milliseconds timeout, const std::string& what) {
    if (pid_ <= 0) return -1;
    if (!WaitUntil(
            [this] { return Exited(); }, timeout,
            what + " (pid " + std::to_string(pid_) + ") to end; killed it. stderr:\n" + Tail(Err()),
            20ms)) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      code_ = -1;
    }
    return *code_;
  }

  std::string Out() const { return ReadFile(out_path_); }
  std::string Err() const { return ReadFile(err_path_); }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  std::optional<int> code_;
};

// --- Kafka clients of the test -----------------------------------------------------------------

struct ClientDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDeleter>;
using Properties = std::vector<std::pair<std::string, std::string>>;

ClientPtr NewClient(rd_kafka_type_t type, const std::string& bootstrap, const Properties& props,
                    const std::function<void(rd_kafka_conf_t*)>& configure = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  Properties all = {{"bootstrap.servers", bootstrap}, {"log_level", "2"}};
  all.insert(all.end(), props.begin(), props.end());
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << "librdkafka property " << name << "=" << value << ": " << errstr;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  if (configure) configure(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    ADD_FAILURE() << "cannot create a Kafka client: " << errstr;
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return ClientPtr(rk);
}

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

// Java's default partitioner (what the engine checks keys against).
int32_t JavaPartition(const std::string& key, int32_t partitions) {
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr,
                                          nullptr);
}

// Partition counts of the existing topics named (absent: not created yet).
std::map<std::string, int32_t> PartitionCounts(rd_kafka_t* rk,
                                               const std::vector<std::string>& topics) {
  std::map<std::string, int32_t> out;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "cluster metadata: " << rd_kafka_err2str(err);
    return out;
  }
  std::set<std::string> wanted(topics.begin(), topics.end());
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (wanted.count(t.topic) != 0 && t.err == RD_KAFKA_RESP_ERR_NO_ERROR)
      out[t.topic] = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

// High watermark of each partition (the offset the next message will get). Empty on failure.
std::map<int32_t, int64_t> HighWatermarks(rd_kafka_t* rk, const std::string& topic,
                                          int32_t partitions) {
  std::map<int32_t, int64_t> out;
  for (int32_t p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
    out[p] = high;
  }
  return out;
}

struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  // The value of the last header `name`, or nullopt.
  std::optional<std::string> Header(std::string_view name) const {
    std::optional<std::string> found;
    for (const auto& [n, v] : headers) {
      if (n == name) found = v;
    }
    return found;
  }
};

// Reads topics from their beginning: a consumer assigned to every partition (no group
// membership, no commits) that CatchUp() reads up to the high watermarks queried at the time.
// Keeps what it read, so that waiting for more reads only what is new. The watermarks are asked
// with a second client: the broker answers a connection's requests in order, and the fetching
// consumer's long polls would hold the queries up.
class TopicReader {
 public:
  TopicReader(const std::string& bootstrap, std::vector<std::string> topics,
              const std::string& group)
      : topics_(std::move(topics)) {
    rk_ = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                    {{"group.id", group},
                     {"enable.auto.commit", "false"},
                     {"enable.auto.offset.store", "false"},
                     {"enable.partition.eof", "false"},
                     {"auto.offset.reset", "error"},
                     {"fetch.wait.max.ms", "50"},
                     {"allow.auto.create.topics", "false"}});
    meta_ = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                      {{"group.id", group}, {"allow.auto.create.topics", "false"}});
  }
  ~TopicReader() {
    if (rk_) rd_kafka_consumer_close(rk_.get());
  }
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // Reads every partition of the topics to its current high watermark (topics that do not exist
  // yet count as empty). False, with a test failure, when it takes longer than `timeout` or a
  // partition cannot be read from its first offset on without gaps.
  bool CatchUp(std::chrono::milliseconds timeout = 60s) {
    if (!rk_ || !meta_) return false;
    auto deadline = SteadyClock::now() + timeout;
    std::map<std::string, int32_t> counts = PartitionCounts(meta_.get(), topics_);
    std::map<std::pair<std::string, int32_t>, int64_t> target;
    bool reassign = false;
    for (const auto& [topic, count] : counts) {
      for (int32_t p = 0; p < count; ++p) {
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(meta_.get(), topic.c_str(), p, &low, &high, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          ADD_FAILURE() << "watermarks of " << topic << "/" << p << ": " << rd_kafka_err2str(err);
          return false;
        }
        target[{topic, p}] = high;
        if (next_.count({topic, p}) == 0) {
          if (low != 0) {
            ADD_FAILURE() << topic << "/" << p << " starts at offset " << low << ", not 0";
            return false;
          }
          next_[{topic, p}] = 0;
          reassign = true;
        }
      }
    }
    if (reassign) {
      // Every partition from the next offset to read, given as an absolute offset.
      ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next_.size())));
      for (const auto& [tp, offset] : next_)
        rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
      rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), list.get());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ADD_FAILURE() << "assigning the partitions to read: " << rd_kafka_err2str(err);
        return false;
      }
    }
    size_t behind = 0;
    for (const auto& [tp, high] : target) {
      if (next_[tp] < high) ++behind;
    }
    while (behind > 0) {
      if (SteadyClock::now() >= deadline) {
        std::string list;
        for (const auto& [tp, high] : target) {
          if (next_[tp] < high)
            list += " " + tp.first + "/" + std::to_string(tp.second) + " at " +
                    std::to_string(next_[tp]) + " of " + std::to_string(high);
        }
        ADD_FAILURE() << "reading topics to their end timed out; behind:" << Tail(list, 1500);
        return false;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
      if (m == nullptr) continue;
      bool ok = true;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto tp = std::make_pair(std::string(rd_kafka_topic_name(m->rkt)), m->partition);
        bool was_behind = next_[tp] < target[tp];
        ok = Keep(m);
        if (was_behind && next_[tp] >= target[tp]) --behind;
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
                 m->err != RD_KAFKA_RESP_ERR__TRANSPORT &&
                 m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        ADD_FAILURE() << "reading " << (m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?")
                      << "/" << m->partition << ": " << rd_kafka_message_errstr(m);
        ok = false;
      }
      rd_kafka_message_destroy(m);
      if (!ok) return false;
    }
    return true;
  }

  // What was read of `topic`, in partition order and offset order within a partition.
  std::vector<Message> Messages(const std::string& topic) const {
    std::vector<Message> out;
    auto it = messages_.find(topic);
    if (it == messages_.end()) return out;
    for (const auto& [p, list] : it->second)
      out.insert(out.end(), list.begin(), list.end());
    return out;
  }
  size_t Count(const std::string& topic) const {
    size_t n = 0;
    auto it = messages_.find(topic);
    if (it == messages_.end()) return 0;
    for (const auto& [p, list] : it->second)
      n += list.size();
    return n;
  }

 private:
  // False (with a test failure) when the message is not the next one of its partition.
  bool Keep(const rd_kafka_message_t* m) {
    Message msg;
    msg.topic = rd_kafka_topic_name(m->rkt);
    msg.partition = m->partition;
    msg.offset = m->offset;
    int64_t& next = next_[{msg.topic, msg.partition}];
    if (m->offset < next) return true;  // fetched again
    if (m->offset > next) {
      ADD_FAILURE() << msg.topic << "/" << msg.partition << ": offset " << m->offset << " follows "
                    << next - 1 << " (the reader skipped messages)";
      return false;
    }
    if (m->key != nullptr) msg.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) msg.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        msg.headers.emplace_back(
            name, value != nullptr ? std::string(static_cast<const char*>(value), size) : "");
      }
    }
    next = m->offset + 1;
    messages_[msg.topic][msg.partition].push_back(std::move(msg));
    return true;
  }

  ClientPtr rk_;
  ClientPtr meta_;
  std::vector<std::string> topics_;
  std::map<std::pair<std::string, int32_t>, int64_t> next_;
  std::map<std::string, std::map<int32_t, std::vector<Message>>> messages_;
};

// A producer of the test: idempotent, acks=all, Java-compatible partitioner. Send() waits for the
// acknowledgement of each message, so that the messages reach the cluster one after the other.
class Producer {
 public:
  explicit Producer(const std::string& bootstrap) {
    rk_ = NewClient(RD_KAFKA_PRODUCER, bootstrap,
                    {{"enable.idempotence", "true"},
                     {"acks", "all"},
                     {"linger.ms", "0"},
                     {"partitioner", "murmur2_random"}},
                    [](rd_kafka_conf_t* conf) { rd_kafka_conf_set_dr_msg_cb(conf, &Delivered); });
  }

  struct Header {
    std::string name;
    std::string value;
  };

  // Produces one message (`partition` -1: the partitioner's choice) and waits for the cluster
  // to acknowledge it. Returns the partition it landed on, or -1 with a test failure.
  int32_t Send(const std::string& topic, const std::optional<std::string>& key,
               const std::string& value, int32_t partition = RD_KAFKA_PARTITION_UA,
               const std::vector<Header>& headers = {}) {
    if (!rk_) return -1;
    Delivery d;
    std::vector<rd_kafka_vu_t> vus;
    auto add = [&vus](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
      rd_kafka_vu_t vu;
      std::memset(&vu, 0, sizeof(vu));
      vu.vtype = type;
      vus.push_back(vu);
      return vus.back();
    };
    add(RD_KAFKA_VTYPE_TOPIC).u.cstr = topic.c_str();
    add(RD_KAFKA_VTYPE_PARTITION).u.i32 = partition;
    add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
    if (key.has_value()) {
      rd_kafka_vu_t& k = add(RD_KAFKA_VTYPE_KEY);
      k.u.mem.ptr = const_cast<char*>(key->data());
      k.u.mem.size = key->size();
    }
    rd_kafka_vu_t& v = add(RD_KAFKA_VTYPE_VALUE);
    v.u.mem.ptr = const_cast<char*>(value.data());
    v.u.mem.size = value.size();
    add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = &d;
    for (const Header& h : headers) {
      add(RD_KAFKA_VTYPE_HEADER).u.header = {h.name.c_str(), h.value.data(),
                                             static_cast<ssize_t>(h.value.size())};
    }
    rd_kafka_error_t* error = rd_kafka_produceva(rk_.get(), vus.data(), vus.size());
    if (error != nullptr) {
      ADD_FAILURE() << "producing to " << topic << ": " << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      return -1;
    }
    rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), 30000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || !d.done) {
      ADD_FAILURE() << "no acknowledgement within 30 s for a message to " << topic;
      return -1;
    }
    if (d.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ADD_FAILURE() << "delivering a message to " << topic
                    << " failed: " << rd_kafka_err2str(d.err);
      return -1;
    }
    return d.partition;
  }

 private:
  struct Delivery {
    bool done = false;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int32_t partition = -1;
  };
  static void Delivered(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* d = static_cast<Delivery*>(m->_private);
    d->done = true;
    d->err = m->err;
    d->partition = m->partition;
  }

  ClientPtr rk_;
};

// The committed offsets of a consumer group, read with a client that has the group's id but
// never joins it.
class GroupOffsets {
 public:
  GroupOffsets(const std::string& bootstrap, const std::string& group) {
    rk_ = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                    {{"group.id", group}, {"enable.auto.commit", "false"}});
  }
  // Partition -> committed offset (-1: none). Empty when the cluster did not answer.
  std::map<int32_t, int64_t> Committed(const std::string& topic, int32_t partitions) {
    std::map<int32_t, int64_t> out;
    if (!rk_) return out;
    ListPtr list(rd_kafka_topic_partition_list_new(partitions));
    for (int32_t p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    if (rd_kafka_committed(rk_.get(), list.get(), 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      out[tp.partition] =
          tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0 ? tp.offset : int64_t{-1};
    }
    return out;
  }
  // Sum of the committed offsets (none counts 0); -1 when the cluster did not answer.
  int64_t Sum(const std::string& topic, int32_t partitions) {
    std::map<int32_t, int64_t> c = Committed(topic, partitions);
    if (c.empty()) return -1;
    int64_t sum = 0;
    for (const auto& [p, o] : c)
      sum += std::max<int64_t>(o, 0);
    return sum;
  }
  // True when every partition's committed offset is its high watermark; `*state` describes both.
  bool AtEnd(const std::string& topic, int32_t partitions, std::string* state) {
    std::map<int32_t, int64_t> c = Committed(topic, partitions);
    std::map<int32_t, int64_t> h = HighWatermarks(rk_.get(), topic, partitions);
    state->clear();
    bool all = !c.empty() && h.size() == static_cast<size_t>(partitions);
    for (int32_t p = 0; p < partitions; ++p) {
      int64_t committed = c.count(p) != 0 ? c[p] : -1;
      int64_t high = h.count(p) != 0 ? h[p] : -1;
      *state +=
          " " + std::to_string(p) + ":" + std::to_string(committed) + "/" + std::to_string(high);
      if (committed != high) all = false;
    }
    return all;
  }

 private:
  ClientPtr rk_;
};

struct GroupMember {
  std::string client_id;
  std::set<int32_t> partitions;  // of the topic asked about
};
struct GroupView {
  bool ok = false;
  rd_kafka_consumer_group_state_t state = RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN;
  std::vector<GroupMember> members;
};

// The group's state and each member's assignment (partitions of `topic`), from the coordinator.
GroupView DescribeGroup(const std::string& bootstrap, const std::string& group,
                        const std::string& topic) {
  GroupView view;
  ClientPtr rk = NewClient(RD_KAFKA_PRODUCER, bootstrap, {});
  if (!rk) return view;
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options, 10000, errstr, sizeof(errstr));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk.get(), groups, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
  if (event != nullptr && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_DescribeConsumerGroups_result_t* result =
        rd_kafka_event_DescribeConsumerGroups_result(event);
    size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t** descs =
        rd_kafka_DescribeConsumerGroups_result_groups(result, &n);
    if (n == 1 && rd_kafka_ConsumerGroupDescription_error(descs[0]) == nullptr) {
      view.ok = true;
      view.state = rd_kafka_ConsumerGroupDescription_state(descs[0]);
      for (size_t i = 0; i < rd_kafka_ConsumerGroupDescription_member_count(descs[0]); ++i) {
        const rd_kafka_MemberDescription_t* m =
            rd_kafka_ConsumerGroupDescription_member(descs[0], static_cast<int>(i));
        GroupMember member;
        member.client_id = rd_kafka_MemberDescription_client_id(m);
        const rd_kafka_topic_partition_list_t* parts =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
        for (int j = 0; parts != nullptr && j < parts->cnt; ++j) {
          if (topic == parts->elems[j].topic) member.partitions.insert(parts->elems[j].partition);
        }
        view.members.push_back(std::move(member));
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  return view;
}

// Deletes the topics whose names start with `prefix` (clean-up; problems are only reported).
void DeleteTopicsWithPrefix(const std::string& bootstrap, const std::string& prefix) {
  ClientPtr rk = NewClient(RD_KAFKA_PRODUCER, bootstrap, {});
  if (!rk) return;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk.get(), 1, nullptr, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "warning: cannot list topics to delete those of " << prefix << "\n";
    return;
  }
  std::vector<rd_kafka_DeleteTopic_t*> doomed;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (std::string_view(md->topics[i].topic).substr(0, prefix.size()) == prefix)
      doomed.push_back(rd_kafka_DeleteTopic_new(md->topics[i].topic));
  }
  rd_kafka_metadata_destroy(md);
  if (doomed.empty()) return;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_DeleteTopics(rk.get(), doomed.data(), doomed.size(), nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60000);
  if (event == nullptr || rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "warning: deleting the topics of " << prefix << " failed\n";
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_DeleteTopic_destroy_array(doomed.data(), doomed.size());
}

// --- stores ------------------------------------------------------------------------------------

struct CaseDump {
  std::string snapshot;
  std::vector<store::EventRecord> events;
};
using StoreDump = std::map<std::string, CaseDump>;

// Every case of a store (not open elsewhere) with its snapshot and its whole log.
StoreDump DumpStore(const std::string& dir) {
  StoreDump dump;
  store::Options options;
  options.create_if_missing = false;
  auto st = store::Store::Open(dir, options);
  if (!st.ok()) {
    ADD_FAILURE() << "opening the store " << dir << ": " << st.status().ToString();
    return dump;
  }
  Status s = (*st)->ScanCases([&](std::string_view id, const store::CaseRecord& rec) {
    dump[std::string(id)].snapshot = rec.snapshot;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (auto& entry : dump) {
    std::vector<store::EventRecord>& events = entry.second.events;
    s = (*st)->ScanEvents(entry.first, 1, UINT64_MAX, [&events](const store::EventRecord& r) {
      events.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return dump;
}

std::vector<store::DeadLetter> StoredDeadLetters(const std::string& dir) {
  std::vector<store::DeadLetter> out;
  store::Options options;
  options.create_if_missing = false;
  auto st = store::Store::Open(dir, options);
  if (!st.ok()) {
    ADD_FAILURE() << "opening the store " << dir << ": " << st.status().ToString();
    return out;
  }
  Status s = (*st)->ScanDeadLetters([&](const store::DeadLetter& d) {
    out.push_back(d);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string EventJson(const store::EventRecord& r) {
  Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
  return e.ok() ? runtime::EventToValue(*e).ToJson()
                : "(undecodable: " + e.status().message() + ")";
}

// The case ids of a store's `case list --json`, or of a dump.
std::set<std::string> CaseIds(const StoreDump& dump) {
  std::set<std::string> out;
  for (const auto& [id, c] : dump)
    out.insert(id);
  return out;
}

// --- the fixture -------------------------------------------------------------------------------

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    seed_ = testing::TestSeed();
    bootstrap_ = Env("AMTSWEG_KAFKA_BOOTSTRAP");
    if (bootstrap_.empty()) {
      FAIL() << "AMTSWEG_KAFKA_BOOTSTRAP is not set: the tests labelled kafka need a running "
                "Kafka broker. Run them through scripts/test (it starts one), or start one with "
                "`scripts/kafka start` and run ctest with `eval \"$(scripts/kafka env --export)\"` "
                "(see tests/kafka/README.md).";
    }
    prefix_ = name_ + "-" + std::to_string(getpid());
    tmp_ = std::make_unique<testing::TempDir>("amtsweg-kafka");
    dir_ = tmp_->path();
    fs::create_directories(dir_ + "/logs");
    WriteDirectory();
  }

  void TearDown() override {
    children_.clear();  // kills what still runs
    if (!prefix_.empty() && Env("AMTSWEG_TEST_KEEP").empty())
      DeleteTopicsWithPrefix(bootstrap_, prefix_ + ".");
    if (tmp_ == nullptr) return;
    if (!Env("AMTSWEG_TEST_KEEP").empty()) {
      std::cout << "kept " << dir_ << std::endl;
      tmp_->Keep();
    } else if (HasFailure()) {
      std::cout << "(AMTSWEG_TEST_KEEP=1 keeps " << dir_ << ")" << std::endl;
    }
    tmp_.reset();
  }

  // This test's names: topics and the group start with the test's name and the pid.
  std::string Topic(const std::string& what) const { return prefix_ + "." + what; }
  std::string Input() const { return Topic("input"); }
  std::string Audit() const { return Topic("audit"); }
  std::string Dead() const { return Topic("dead-letters"); }
  std::string Group() const { return prefix_ + ".engine"; }

  // A copy of the sample directory where every organisation's topic is this test's.
  void WriteDirectory() {
    std::string text = ReadFile(kRepo + "/workflows/directory/schleswig-holstein.yaml");
    std::istringstream in(text);
    std::ostringstream out;
    std::regex id_line(R"(^(\s*)- id: *([A-Za-z0-9._-]+)\s*$)");
    std::regex topic_line(R"(^\s+topic:.*$)");
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_match(line, topic_line)) continue;
      out << line << "\n";
      if (std::regex_match(line, m, id_line)) {
        out << m[1].str() << "  topic: " << Topic("org." + m[2].str()) << "\n";
      }
    }
    directory_ = dir_ + "/directory.yaml";
    std::ofstream(directory_) << out.str();
    auto loaded = dsl::Directory::Load(directory_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    for (const dsl::Organisation& org : (*loaded)->organisations()) {
      ASSERT_EQ(org.topic, Topic("org." + org.id));
      org_topics_.push_back(org.topic);
    }
    ASSERT_GT(org_topics_.size(), 10u);
  }

  std::string LogBase(const std::string& what) {
    return dir_ + "/logs/" + std::to_string(++runs_) + "-" + what;
  }

  // Runs a program to its end (at most `timeout`).
  Output RunProgram(const std::vector<std::string>& args, const std::string& what,
                    std::chrono::milliseconds timeout = 240s) {
    Child c(args, LogBase(what));
    Output o;
    o.code = c.Wait(timeout, what);
    o.out = c.Out();
    o.err = c.Err();
    return o;
  }
  static std::vector<std::string> WithBinary(const std::vector<std::string>& args) {
    std::vector<std::string> all = {kBinary};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  Output Amtsweg(const std::vector<std::string>& args, const std::string& what,
                 std::chrono::milliseconds timeout = 240s) {
    return RunProgram(WithBinary(args), what, timeout);
  }
  // Starts `amtsweg` in the background; the fixture kills it at the end if it still runs.
  Child& Start(const std::vector<std::string>& args, const std::string& what) {
    children_.push_back(std::make_unique<Child>(WithBinary(args), LogBase(what)));
    return *children_.back();
  }

  // Runs without sealing (--no-encryption): these tests compare the Kafka run's stored bytes and
  // chain hashes with the file run's, and each store would seal with keys of its own. Sealing is
  // tested through the binary in tests/cli (data_protection_test.cc).
  std::vector<std::string> Definitions() const {
    return {"--workflows", kRepo + "/workflows", "--directory", directory_, "--no-encryption"};
  }

  // `run --source kafka` on this test's topics into `data`, plus `extra`.
  std::vector<std::string> KafkaRun(const std::string& data, std::vector<std::string> extra) {
    std::vector<std::string> args = {"run"};
    for (const std::string& a : Definitions())
      args.push_back(a);
    for (const std::string& a :
         {std::string("--data-dir"), data, std::string("--source"), std::string("kafka"),
          std::string("--bootstrap"), bootstrap_, std::string("--topic"), Input(),
          std::string("--group"), Group(), std::string("--audit-topic"), Audit(),
          std::string("--dead-letter-topic"), Dead()}) {
      args.push_back(a);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // The reference: the same events through the file source, into DATA/out/<topic>.jsonl.
  std::string FileReference(const std::vector<std::string>& files, const std::string& name) {
    std::string data = dir_ + "/" + name;
    std::vector<std::string> args = {"run", "-q"};
    for (const std::string& a : Definitions())
      args.push_back(a);
    args.push_back("--data-dir");
    args.push_back(data);
    for (const std::string& f : files)
      args.push_back("--source=file:" + f);
    args.push_back("--until-idle");
    Output o = Amtsweg(args, "file-" + name);
    EXPECT_EQ(o.code, 0) << o.err;
    return data;
  }

  void CreateTopic(const std::string& topic, int32_t partitions) {
    connectors::TopicSpec spec;
    spec.name = topic;
    spec.partitions = partitions;
    Status s = connectors::CreateTopics(bootstrap_, {spec});
    ASSERT_TRUE(s.ok()) << "creating " << topic << " on " << bootstrap_ << ": " << s.ToString();
  }

  // `amtsweg produce` of the files to the input topic.
  void Produce(const std::vector<std::string>& files, bool binary) {
    std::vector<std::string> args = {"produce", "--bootstrap", bootstrap_, "--topic", Input()};
    if (binary) args.push_back("--binary");
    args.insert(args.end(), files.begin(), files.end());
    Output o = Amtsweg(args, "produce");
    ASSERT_EQ(o.code, 0) << o.out << o.err;
    size_t lines = 0;
    for (const std::string& f : files)
      lines += Lines(ReadFile(f)).size();
    EXPECT_NE(o.out.find("produced " + std::to_string(lines) + " events"), std::string::npos)
        << o.out;
  }

  // A generated stream (scripts/gen-events, seeded): the path of its JSON-lines file.
  std::string GenerateEvents(int cases, uint64_t seed) {
    std::string base = LogBase("gen-events");
    Child c({"/usr/bin/env", "python3", kRepo + "/scripts/gen-events", "--cases",
             std::to_string(cases), "--seed", std::to_string(seed)},
            base);
    int code = c.Wait(120s, "scripts/gen-events");
    EXPECT_EQ(code, 0) << c.Err();
    std::string path = dir_ + "/events-" + std::to_string(seed) + ".jsonl";
    fs::copy_file(base + ".out", path);
    std::cout << Tail(c.Err(), 200);
    return path;
  }

  std::vector<std::string> SampleFiles() const {
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
      std::string name = f.path().filename().string();
      if (name.size() > 6 && name[0] == '0' && f.path().extension() == ".jsonl")
        files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  // --- comparisons -----------------------------------------------------------------------------

  std::vector<std::string> CaseList(const std::string& data) {
    Output o = Amtsweg({"case", "list", "--json", "--data-dir", data}, "case-list");
    EXPECT_EQ(o.code, 0) << o.err;
    std::vector<std::string> lines = Lines(o.out);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  // The same cases in the same states with byte-identical logs (and chain hashes) and snapshots;
  // `case history` of up to `cli_sample` cases (seeded choice) compared through the binary.
  void ExpectSameCases(const std::string& data, const std::string& ref, size_t cli_sample,
                       std::mt19937_64& rng) {
    EXPECT_EQ(CaseList(data), CaseList(ref)) << "case list --json differs";
    StoreDump got = DumpStore(data);
    StoreDump want = DumpStore(ref);
    EXPECT_EQ(CaseIds(got), CaseIds(want));
    size_t differing = 0;
    for (const auto& [id, w] : want) {
      auto it = got.find(id);
      if (it == got.end()) continue;
      const CaseDump& g = it->second;
      size_t first = 0;  // the first event that differs (or is missing on one side)
      while (first < g.events.size() && first < w.events.size() &&
             g.events[first].payload == w.events[first].payload &&
             g.events[first].hash == w.events[first].hash && g.events[first].seq == first + 1) {
        ++first;
      }
      bool same = first == g.events.size() && first == w.events.size();
      if (!same) {
        if (++differing <= 5) {
          std::string detail;
          for (size_t i = first; i < std::max(g.events.size(), w.events.size()) && i < first + 3;
               ++i) {
            detail += "\n  kafka seq " + std::to_string(i + 1) + ": " +
                      (i < g.events.size() ? EventJson(g.events[i]) : "(none)");
            detail += "\n  file  seq " + std::to_string(i + 1) + ": " +
                      (i < w.events.size() ? EventJson(w.events[i]) : "(none)");
          }
          ADD_FAILURE() << "case " << id << ": the log differs from the file run's from event "
                        << first + 1 << " (kafka " << g.events.size() << " events, file "
                        << w.events.size() << ")" << detail;
        }
        continue;
      }
      EXPECT_EQ(g.snapshot, w.snapshot) << "case " << id << ": snapshot differs";
    }
    EXPECT_EQ(differing, 0u) << "cases whose log differs from the file run's";
    // Through the binary, byte for byte.
    std::set<std::string> all = CaseIds(want);
    std::vector<std::string> ids(all.begin(), all.end());
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(std::min(ids.size(), cli_sample));
    for (const std::string& id : ids) {
      Output a = Amtsweg({"case", "history", id, "--data-dir", data}, "history");
      Output b = Amtsweg({"case", "history", id, "--data-dir", ref}, "history");
      EXPECT_EQ(a.code, 0) << a.err;
      if (a.out == b.out) continue;
      std::vector<std::string> la = Lines(a.out), lb = Lines(b.out);
      size_t i = 0;
      while (i < la.size() && i < lb.size() && la[i] == lb[i])
        ++i;
      ADD_FAILURE() << "case history " << id << " differs from the file run's at line " << i + 1
                    << ":\n  kafka " << (i < la.size() ? la[i].substr(0, 400) : "(none)")
                    << "\n  file  " << (i < lb.size() ? lb[i].substr(0, 400) : "(none)");
    }
    Output audit = Amtsweg({"audit", "verify", "-q", "--data-dir", data}, "audit-verify");
    EXPECT_EQ(audit.code, 0) << audit.out << audit.err;
  }

  // Every outbound event of the file run (DATA/out/<topic>.jsonl) is on its topic with its id and
  // the same payload, keyed by its case and on its case's partition; nothing else is there. Ids
  // may repeat (delivery is at least once), never with another payload. Returns the number of
  // repeated deliveries.
  size_t ExpectOutboundLikeReference(const std::string& ref, const TopicReader& reader,
                                     int32_t partitions) {
    size_t repeats = 0, total = 0;
    for (const std::string& topic : org_topics_) {
      std::map<std::string, std::string> want;
      for (const std::string& line : Lines(ReadFile(ref + "/out/" + topic + ".jsonl"))) {
        Result<Value> v = Value::ParseJson(line);
        EXPECT_TRUE(v.ok()) << line;
        if (v.ok()) want[(*v)["id"].as_string()] = line;
      }
      std::map<std::string, std::string> got;
      size_t bad = 0;
      for (const Message& m : reader.Messages(topic)) {
        Result<Value> v = Value::ParseJson(m.value);
        if (!v.ok()) {
          ADD_FAILURE() << topic << " offset " << m.offset << ": not JSON: " << m.value;
          continue;
        }
        std::string id = (*v)["id"].as_string();
        std::string subject = (*v)["subject"].as_string();
        if (m.key != subject && ++bad <= 3)
          ADD_FAILURE() << topic << " " << id << ": key '" << m.key.value_or("(none)")
                        << "' is not the case id '" << subject << "'";
        if (m.partition != CasePartition(subject, partitions) && ++bad <= 3)
          ADD_FAILURE() << topic << " " << id << ": on partition " << m.partition
                        << ", not on its case's " << CasePartition(subject, partitions);
        auto [it, fresh] = got.emplace(id, m.value);
        if (!fresh) {
          ++repeats;
          if (it->second != m.value && ++bad <= 3)
            ADD_FAILURE() << topic << ": id " << id << " delivered with two payloads:\n"
                          << it->second << "\n"
                          << m.value;
        }
      }
      std::vector<std::string> missing, extra, changed;
      for (const auto& [id, payload] : want) {
        auto it = got.find(id);
        if (it == got.end()) {
          missing.push_back(id);
        } else if (it->second != payload) {
          changed.push_back(id + ": kafka " + it->second + "\n   file  " + payload);
        }
      }
      for (const auto& [id, payload] : got) {
        if (want.count(id) == 0) extra.push_back(id);
      }
      auto first = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size() && i < 5; ++i)
          s += "\n  " + v[i];
        return s;
      };
      EXPECT_TRUE(missing.empty())
          << topic << ": " << missing.size()
          << " outbound events of the file run never arrived:" << first(missing);
      EXPECT_TRUE(extra.empty()) << topic << ": " << extra.size()
                                 << " events the file run did not publish:" << first(extra);
      EXPECT_TRUE(changed.empty())
          << topic << ": " << changed.size()
          << " events with another payload than the file run's:" << first(changed);
      total += want.size();
    }
    EXPECT_GT(total, 0u) << "the reference published nothing";
    std::cout << "outbound: " << total << " events on " << org_topics_.size() << " topics, "
              << repeats << " repeated deliveries" << std::endl;
    return repeats;
  }

  // The audit stream holds every domain event of every case (id case/seq), as `case history`
  // renders it, with its chain hash; nothing else. Returns the number of repeated deliveries.
  size_t ExpectAuditCoversLog(const StoreDump& ref, const std::vector<Message>& audit,
                              int32_t partitions) {
    std::map<std::string, std::string> expected;  // id -> expected data JSON
    for (const auto& [id, c] : ref) {
      for (const store::EventRecord& r : c.events) {
        Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
        if (!e.ok()) continue;
        std::string data = runtime::EventToValue(*e).ToJson();
        data.pop_back();
        data += R"(,"chain":")" + ToHex(r.hash) + "\"}";
        expected[id + "/" + std::to_string(r.seq)] = data;
      }
    }
    std::set<std::string> seen;
    size_t repeats = 0, bad = 0;
    for (const Message& m : audit) {
      Result<Value> v = Value::ParseJson(m.value);
      if (!v.ok()) {
        if (++bad <= 5) ADD_FAILURE() << "audit offset " << m.offset << ": not JSON: " << m.value;
        continue;
      }
      std::string id = (*v)["id"].as_string();
      if (!seen.insert(id).second) ++repeats;
      auto it = expected.find(id);
      if (it == expected.end()) {
        if (++bad <= 5) ADD_FAILURE() << "audit: event " << id << " is not in the file run's logs";
        continue;
      }
      Result<Value> want = Value::ParseJson(it->second);
      if ((*v)["data"] != *want && ++bad <= 5)
        ADD_FAILURE() << "audit: event " << id << " differs from the file run's log:\n  audit "
                      << (*v)["data"].ToJson() << "\n  file  " << it->second;
      std::string subject = (*v)["subject"].as_string();
      if ((m.key != subject || m.partition != CasePartition(subject, partitions)) && ++bad <= 5)
        ADD_FAILURE() << "audit: event " << id << " keyed '" << m.key.value_or("(none)")
                      << "' on partition " << m.partition;
    }
    std::vector<std::string> missing;
    for (const auto& [id, data] : expected) {
      if (seen.count(id) == 0) missing.push_back(id);
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " of " << expected.size()
                                 << " domain events are not on the audit topic, e.g. "
                                 << (missing.empty() ? "" : missing.front());
    EXPECT_EQ(bad, 0u);
    std::cout << "audit: " << expected.size() << " domain events, " << repeats
              << " repeated deliveries" << std::endl;
    return repeats;
  }

  // The store's dead letters are the file run's (same reasons, same raw input; `raw` false: the
  // kinds only), and each is on the dead-letter topic with its reason, source and position in
  // headers; the topic holds nothing else.
  void ExpectDeadLetters(const std::string& data, const std::string& ref,
                         const std::vector<Message>& topic, bool raw) {
    std::vector<store::DeadLetter> got = StoredDeadLetters(data);
    std::vector<store::DeadLetter> want = StoredDeadLetters(ref);
    // An oversized input keeps only its start, 1 KiB from a file and 64 KiB from Kafka
    // (docs/events.md, connectors/kafka/README.md): compared on the first KiB.
    auto key = [raw](const store::DeadLetter& d) {
      if (!raw) return d.reason.substr(0, d.reason.find(':'));
      bool oversized = d.reason.rfind("oversized:", 0) == 0;
      return d.reason + "\n" + (oversized ? d.raw.substr(0, 1024) : d.raw);
    };
    std::multiset<std::string> g, w;
    for (const store::DeadLetter& d : got)
      g.insert(key(d));
    for (const store::DeadLetter& d : want)
      w.insert(key(d));
    std::vector<std::string> only_kafka, only_file;
    std::set_difference(g.begin(), g.end(), w.begin(), w.end(), std::back_inserter(only_kafka));
    std::set_difference(w.begin(), w.end(), g.begin(), g.end(), std::back_inserter(only_file));
    auto show = [](const std::vector<std::string>& v) {
      std::string out;
      for (size_t i = 0; i < v.size() && i < 5; ++i)
        out += "\n  " + (v[i].size() > 400 ? v[i].substr(0, 400) + "..." : v[i]);
      return out;
    };
    EXPECT_TRUE(only_kafka.empty() && only_file.empty())
        << "dead letters differ from the file run's (" << got.size() << " vs " << want.size()
        << "); only in the Kafka run:" << show(only_kafka)
        << "\nonly in the file run:" << show(only_file);
    std::map<std::string, const store::DeadLetter*> by_position;
    for (const store::DeadLetter& d : got) {
      EXPECT_TRUE(by_position.emplace(d.position, &d).second)
          << "two dead letters of " << d.position;
    }
    std::set<std::string> on_topic;
    for (const Message& m : topic) {
      std::optional<std::string> position = m.Header("__amtsweg.errors.position");
      std::optional<std::string> reason = m.Header("__amtsweg.errors.reason");
      if (!position || !reason) {
        ADD_FAILURE() << "dead letter at offset " << m.offset << " without reason or position";
        continue;
      }
      auto it = by_position.find(*position);
      if (it == by_position.end()) {
        ADD_FAILURE() << "dead letter of " << *position << " on the topic is not in the store";
        continue;
      }
      EXPECT_EQ(*reason, it->second->reason) << *position;
      EXPECT_EQ(m.value, it->second->raw) << *position;
      EXPECT_EQ(m.Header("__amtsweg.errors.source"), "kafka:" + Input()) << *position;
      EXPECT_EQ(m.Header("__amtsweg.errors.kind"), it->second->kind) << *position;
      EXPECT_EQ(m.Header("__amtsweg.errors.topic"), Input()) << *position;
      // The original message's headers first, unchanged and in order, then the error headers.
      const auto& original = it->second->headers;
      EXPECT_TRUE(m.headers.size() >= original.size() &&
                  std::equal(original.begin(), original.end(), m.headers.begin()))
          << *position;
      on_topic.insert(*position);
    }
    for (const auto& [position, d] : by_position) {
      EXPECT_TRUE(on_topic.count(position) != 0)
          << "dead letter of " << position << " (" << d->reason << ") is not on the topic";
    }
  }

  // Waits until the group has committed every partition of the input to its end.
  bool WaitCommittedAtEnd(int32_t partitions, std::chrono::milliseconds timeout,
                          Child* engine = nullptr) {
    GroupOffsets offsets(bootstrap_, Group());
    std::string state;
    bool ok = WaitUntil(
        [&] {
          if (engine != nullptr && engine->Exited()) return true;
          return offsets.AtEnd(Input(), partitions, &state);
        },
        timeout, "the group's committed offsets to reach the end of " + Input());
    if (engine != nullptr && engine->Exited()) {
      ADD_FAILURE() << "the engine ended (status " << *engine->code()
                    << ") before it caught up; stderr:\n"
                    << Tail(engine->Err());
      return false;
    }
    if (!ok) std::cout << "committed/high per partition:" << state << std::endl;
    return ok;
  }

  std::vector<std::string> OutputTopics() const {
    std::vector<std::string> topics = org_topics_;
    topics.push_back(Audit());
    topics.push_back(Dead());
    return topics;
  }

  // Reads the output topics until every outbound event and audit event of the reference is there.
  void WaitDelivered(TopicReader& reader, const std::string& ref, const StoreDump& ref_dump,
                     std::chrono::milliseconds timeout) {
    std::map<std::string, std::set<std::string>> want;
    size_t audit_events = 0;
    for (const std::string& topic : org_topics_) {
      for (const std::string& line : Lines(ReadFile(ref + "/out/" + topic + ".jsonl")))
        want[topic].insert(Value::ParseJson(line).value()["id"].as_string());
    }
    for (const auto& [id, c] : ref_dump)
      audit_events += c.events.size();
    std::string missing;
    WaitUntil(
        [&] {
          if (!reader.CatchUp()) return false;
          missing.clear();
          for (const auto& [topic, ids] : want) {
            std::set<std::string> got;
            for (const Message& m : reader.Messages(topic)) {
              Result<Value> v = Value::ParseJson(m.value);
              if (v.ok()) got.insert((*v)["id"].as_string());
            }
            for (const std::string& id : ids) {
              if (got.count(id) == 0) missing += " " + topic + ":" + id;
            }
          }
          std::set<std::string> audit_ids;
          for (const Message& m : reader.Messages(Audit())) {
            Result<Value> v = Value::ParseJson(m.value);
            if (v.ok()) audit_ids.insert((*v)["id"].as_string());
          }
          if (audit_ids.size() < audit_events)
            missing += " audit: " + std::to_string(audit_ids.size()) + " of " +
                       std::to_string(audit_events);
          return missing.empty();
        },
        timeout, "every outbound and audit event of the reference to arrive", 500ms);
    if (!missing.empty()) std::cout << "still missing:" << Tail(missing, 2000) << std::endl;
  }

  // Sends lines to the input topic one at a time, each acknowledged before the next, keyed by
  // their subject (unkeyed when they have none). So whatever a consumer sees at any moment is a
  // prefix of the stream on every partition: a partition it has read to its end never delivers
  // an event older than one another partition delivered (the condition under which the engine's
  // event-time clock, which does not wait for partitions at their end, is deterministic).
  void ProduceInOrder(const std::vector<std::string>& lines) {
    Producer producer(bootstrap_);
    for (const std::string& line : lines) {
      std::optional<std::string> key;
      Result<Value> v = Value::ParseJson(line);
      if (v.ok() && v->is_object() && (*v)["subject"].is_string())
        key = (*v)["subject"].as_string();
      ASSERT_GE(producer.Send(Input(), key, line), 0);
    }
  }

  // Prints how long the test has run, with what it is about to do or has done.
  void Phase(const std::string& what) const {
    std::cout << "[" << std::fixed << std::setprecision(1)
              << std::chrono::duration<double>(SteadyClock::now() - started_).count() << " s] "
              << what << std::endl;
  }

  std::string WriteLines(const std::vector<std::string>& lines, const std::string& name) {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path);
    for (const std::string& l : lines)
      out << l << "\n";
    return path;
  }

  // The partition of a case's outbound and audit events: the input topic's partitioner's.
  int32_t CasePartition(const std::string& case_id, int32_t partitions) const {
    return connectors::PartitionOf(partitioner_, case_id, partitions);
  }

  std::string name_;
  std::string prefix_;
  std::string bootstrap_;
  connectors::KafkaPartitioner partitioner_ = connectors::KafkaPartitioner::kMurmur2;
  std::unique_ptr<testing::TempDir> tmp_;
  std::string dir_;  // tmp_'s path
  std::string directory_;
  std::vector<std::string> org_topics_;
  uint64_t seed_ = 0;
  int runs_ = 0;
  SteadyClock::time_point started_ = SteadyClock::now();
  std::vector<std::unique_ptr<Child>> children_;
};

// --- the tests ---------------------------------------------------------------------------------

class KafkaE2E : public KafkaTest {
 protected:
  // The shipped samples through Kafka (structured or binary mode) against the file source.
  void Samples(bool binary) {
    std::mt19937_64 rng(seed_);
    std::vector<std::string> files = SampleFiles();
    ASSERT_EQ(files.size(), 5u);
    std::string ref = FileReference(files, "file");
    ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));
    ASSERT_NO_FATAL_FAILURE(Produce(files, binary));
    std::string data = dir_ + "/kafka";
    auto start = SteadyClock::now();
    Output run = Amtsweg(KafkaRun(data, {"--until-idle"}), "kafka-run");
    ASSERT_EQ(run.code, 0) << run.out << run.err;
    std::cout << "kafka run: " << std::chrono::duration<double>(SteadyClock::now() - start).count()
              << " s: " << run.out;
    EXPECT_NE(run.out.find("processed 90 inputs"), std::string::npos) << run.out;
    ExpectSameCases(data, ref, 100, rng);
    WaitCommittedAtEnd(4, 30s);

    TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
    ASSERT_TRUE(reader.CatchUp());
    ExpectOutboundLikeReference(ref, reader, 4);
    ExpectAuditCoversLog(DumpStore(ref), reader.Messages(Audit()), 4);
    ExpectDeadLetters(data, ref, reader.Messages(Dead()), /*raw=*/!binary);
    // The refusals that only the input's form explains, with their reason in a header.
    std::multiset<std::string> kinds;
    for (const Message& m : reader.Messages(Dead())) {
      std::string reason = m.Header("__amtsweg.errors.reason").value_or("");
      kinds.insert(reason.substr(0, reason.find(':')));
    }
    EXPECT_EQ(kinds.count("malformed"), 6u);
    EXPECT_EQ(kinds.count("unknown-type"), 2u);
    EXPECT_EQ(kinds.count("oversized"), 1u);
    EXPECT_EQ(kinds.count("duplicate"), 1u);
    EXPECT_EQ(reader.Count(Dead()), 25u);
    ExpectThirdPartyReaderParses();
  }

  // The CloudEvents Python SDK over confluent-kafka reads every message of the participant,
  // audit and dead-letter topics (tests/kafka/cloudevents_reader.py says what it checks).
  void ExpectThirdPartyReaderParses() {
    std::string python = Env("AMTSWEG_PYTHON");
    ASSERT_FALSE(python.empty())
        << "AMTSWEG_PYTHON must name the test venv's python with the pinned Kafka clients "
           "(tests/kafka/client-requirements.txt; scripts/test sets it)";
    std::vector<std::string> args = {python,           kRepo + "/tests/kafka/cloudevents_reader.py",
                                     "--bootstrap",    bootstrap_,
                                     "--input",        Input(),
                                     "--audit",        Audit(),
                                     "--dead-letters", Dead()};
    for (const std::string& t : org_topics_) {
      args.push_back("--participant");
      args.push_back(t);
    }
    Output o = RunProgram(args, "cloudevents-reader", 300s);
    std::cout << Tail(o.out, 3000);
    EXPECT_EQ(o.code, 0) << Tail(o.out, 6000) << o.err;
    EXPECT_NE(o.out.find("all parse"), std::string::npos) << o.out;
  }
};

TEST_F(KafkaE2E, SamplesMatchFileSource) {
  Samples(/*binary=*/false);
}

TEST_F(KafkaE2E, BinaryModeMatchesStructured) {
  Samples(/*binary=*/true);
}

// librdkafka's clients partition keyed messages by CRC32 by default (consistent_random). The
// samples produced by kcat (half of the files) and confluent-kafka (the other half), both with
// their default partitioners, are processed as the file run does with `--partitioner crc32`;
// outbound and audit events follow the same partitioner. The same input read as murmur2 (the
// default) is dead-lettered as misrouted wherever the partitioners disagree, and the reason
// names the fix.
TEST_F(KafkaE2E, KcatAndConfluentKafkaDefaultsWithTheCrc32Partitioner) {
  std::mt19937_64 rng(seed_);
  std::vector<std::string> files = SampleFiles();
  ASSERT_EQ(files.size(), 5u);
  std::string ref = FileReference(files, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));
  const std::string python = Env("AMTSWEG_PYTHON");
  ASSERT_FALSE(python.empty()) << "AMTSWEG_PYTHON (the test venv with confluent-kafka) is not set";

  // Each producer gets whole files, so that a case's events keep their order (one producer, one
  // partition); keyed by the subject, unkeyed when there is none, blank lines skipped, as
  // `amtsweg produce` does.
  size_t keyed_lines = 0;
  for (const std::string& f : files) {
    for (const std::string& line : Lines(ReadFile(f))) {
      Result<Value> v = Value::ParseJson(line);
      if (v.ok() && v->is_object() && (*v)["subject"].is_string()) ++keyed_lines;
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (i % 2 == 0) {
      std::ostringstream kcat_input;
      for (const std::string& line : Lines(ReadFile(files[i]))) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        Result<Value> v = Value::ParseJson(line);
        if (v.ok() && v->is_object() && (*v)["subject"].is_string())
          kcat_input << (*v)["subject"].as_string() << '\t';
        kcat_input << line << '\n';
      }
      std::string path = WriteLines(Lines(kcat_input.str()), "kcat-" + std::to_string(i));
      Output o = RunProgram(
          {"/usr/bin/kcat", "-P", "-b", bootstrap_, "-t", Input(), "-K", "\t", "-l", path}, "kcat");
      ASSERT_EQ(o.code, 0) << o.out << o.err;
    } else {
      Output o =
          RunProgram({python, "-c",
                      "import json, sys\n"
                      "from confluent_kafka import Producer\n"
                      "p = Producer({'bootstrap.servers': sys.argv[1]})\n"
                      "for line in open(sys.argv[3], encoding='utf-8'):\n"
                      "    line = line.rstrip('\\n')\n"
                      "    if not line.strip(' \\t\\r'):\n"
                      "        continue\n"
                      "    try:\n"
                      "        v = json.loads(line)\n"
                      "    except ValueError:\n"
                      "        v = None\n"
                      "    key = v.get('subject') if isinstance(v, dict) else None\n"
                      "    p.produce(sys.argv[2], value=line.encode('utf-8'),\n"
                      "              key=key.encode('utf-8') if isinstance(key, str) else None)\n"
                      "    p.poll(0)\n"
                      "sys.exit(1 if p.flush(60) else 0)\n",
                      bootstrap_, Input(), files[i]},
                     "confluent-kafka");
      ASSERT_EQ(o.code, 0) << o.out << o.err;
    }
  }

  // With the topic's partitioner: as the file run.
  partitioner_ = connectors::KafkaPartitioner::kCrc32;
  std::string data = dir_ + "/kafka";
  Output run = Amtsweg(KafkaRun(data, {"--until-idle", "--partitioner", "crc32"}), "kafka-run");
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  std::cout << "kafka run: " << run.out;
  EXPECT_NE(run.out.find("processed 90 inputs"), std::string::npos) << run.out;
  ExpectSameCases(data, ref, 20, rng);
  WaitCommittedAtEnd(4, 30s);
  TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
  ASSERT_TRUE(reader.CatchUp());
  ExpectOutboundLikeReference(ref, reader, 4);
  ExpectAuditCoversLog(DumpStore(ref), reader.Messages(Audit()), 4);
  for (const store::DeadLetter& d : StoredDeadLetters(data))
    EXPECT_EQ(d.reason.find("misrouted"), std::string::npos) << d.reason;

  // Read as murmur2 (the default; after the checks above, since it publishes too): misrouted
  // wherever the two partitioners disagree.
  {
    std::vector<std::string> args = KafkaRun(dir_ + "/as-murmur2", {"--until-idle"});
    auto g = std::find(args.begin(), args.end(), "--group");
    ASSERT_NE(g, args.end());
    *(g + 1) = Group() + "-murmur2";
    Output java_run = Amtsweg(args, "kafka-run-murmur2");
    ASSERT_EQ(java_run.code, 0) << java_run.out << java_run.err;
    size_t misrouted = 0, naming_the_fix = 0;
    for (const store::DeadLetter& d : StoredDeadLetters(dir_ + "/as-murmur2")) {
      if (d.reason.rfind("misrouted: message key '", 0) != 0) continue;
      ++misrouted;
      if (d.reason.find("under the topic's partitioner murmur2; the producer may use crc32") !=
              std::string::npos &&
          d.reason.find("`run --partitioner`") != std::string::npos)
        ++naming_the_fix;
    }
    std::cout << "read as murmur2: " << misrouted << " of " << keyed_lines
              << " keyed messages misrouted" << std::endl;
    EXPECT_GT(misrouted, keyed_lines / 2) << "with 4 partitions about 3 in 4 should disagree";
    EXPECT_EQ(naming_the_fix, misrouted);
  }

  // The data directory now belongs to crc32: the default is refused, naming both.
  Output again = Amtsweg(KafkaRun(data, {"--until-idle"}), "kafka-run-again");
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("with partitioner crc32, not murmur2"), std::string::npos) << again.err;
}

// Bad input of every kind, between good events on two partitions: each bad message is a dead
// letter whose reason header names the problem, the good events are processed as if the bad ones
// were not there, and the group's committed offsets move past everything.
TEST_F(KafkaE2E, PoisonMessagesDeadLettered) {
  std::mt19937_64 rng(seed_);
  const std::string gewerbe = kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl";
  std::vector<std::string> good = Lines(ReadFile(gewerbe));
  ASSERT_EQ(good.size(), 16u);
  ASSERT_NE(good[0].find(R"("subject":"GA-2026-0001")"), std::string::npos);
  std::string ref = FileReference({gewerbe}, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 2));

  // A valid application for a new case (which must not exist afterwards).
  auto application = [&](const std::string& case_id, const std::string& id) {
    std::string e = good[0];
    e.replace(e.find("GA-2026-0001"), 12, case_id);
    e.replace(e.find("01-gewerbeanmeldung-0001"), 24, id);
    return e;
  };
  struct Poison {
    std::string marker;  // in the value (or the binary-mode id) of the message
    std::optional<std::string> key;
    std::string value;
    int32_t partition = RD_KAFKA_PARTITION_UA;
    std::vector<Producer::Header> headers;
    std::vector<std::string> reason;  // the reason header starts with [0] and contains the rest
    int32_t landed = -1;
  };
  const std::string first = "GA-2026-0001";
  const int32_t home = JavaPartition(first, 2);
  std::string padded = application("GA-2026-0091", "poison-4");
  padded.insert(padded.find(R"("leika")"), R"("padding":")" + std::string(5000, 'x') + R"(",)");
  std::vector<Poison> poison = {
      {"poison-1",
       first,
       R"({"specversion":"1.0","id":"poison-1","type":)",
       -1,
       {},
       {"malformed: malformed JSON"}},
      {"poison-2",
       std::nullopt,
       R"(["poison-2"])",
       1 - home,
       {},
       {"malformed: a CloudEvent must be a JSON object"}},
      // To no case: an unknown type addressed to an open case would also be recorded in that
      // case's history (input.rejected), and the cases are compared with a run without poison.
      {"poison-3",
       "GA-2026-0090",
       R"({"specversion":"1.0","id":"poison-3","source":"urn:test","type":"de.example.poison",)"
       R"("subject":"GA-2026-0090","time":"2026-01-05T09:00:00Z","data":{}})",
       -1,
       {},
       {"unknown-type:", "de.example.poison"}},
      {"poison-4",
       "GA-2026-0091",
       padded,
       -1,
       {},
       {"oversized:", "exceeds the limit of 4096 bytes"}},
      {"poison-5",
       "GA-2026-0092",
       application("GA-2026-0092", "poison-5"),
       1 - JavaPartition("GA-2026-0092", 2),
       {},
       {"misrouted: message key 'GA-2026-0092' belongs to partition " +
        std::to_string(JavaPartition("GA-2026-0092", 2)) + " of " + Input() + ", not to " +
        std::to_string(1 - JavaPartition("GA-2026-0092", 2))}},
      {"poison-6",
       first,
       application("GA-2026-0093", "poison-6"),
       -1,
       {},
       {"misrouted: message key 'GA-2026-0001' is not the event's case id (subject) "
        "'GA-2026-0093'"}},
      {"poison-7",
       "GA-2026-0094",
       "this is not JSON (poison-7)",
       -1,
       {{"ce_specversion", "1.0"},
        {"ce_id", "poison-7"},
        {"ce_source", "urn:test"},
        {"ce_type", "de.amtsweg.application.submitted"},
        {"ce_subject", "GA-2026-0094"},
        {"ce_time", "2026-01-05T09:30:00Z"},
        {"content-type", "application/json"}},
       {"malformed:", "binary-mode data (the message value) is not JSON"}},
      // Header names in any case (the binding compares them without case), but one attribute
      // twice: which one holds is ambiguous.
      {"poison-8",
       "GA-2026-0095",
       R"({"poison":"poison-8"})",
       -1,
       {{"CE_SPECVERSION", "1.0"},
        {"Ce_Id", "poison-8"},
        {"ce_source", "urn:test"},
        {"ce_type", "de.amtsweg.application.submitted"},
        {"ce_subject", "GA-2026-0095"},
        {"ce_time", "2026-01-05T09:30:00Z"},
        {"ce_id", "poison-8b"},
        {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
       {"malformed:", "header 'ce_id' is repeated"}},
      // Structured mode in an event format other than JSON.
      {"poison-9",
       "GA-2026-0096",
       application("GA-2026-0096", "poison-9"),
       -1,
       {{"Content-Type", "application/cloudevents+avro"}},
       {"malformed:", "content-type 'application/cloudevents+avro' is not supported"}},
  };
  // The good events in their order, each bad one after a random good one.
  std::vector<std::pair<size_t, size_t>> order;  // {good index, poison index + 1 or 0}
  std::vector<size_t> after(poison.size());
  for (size_t& a : after)
    a = rng() % good.size();
  for (size_t g = 0; g < good.size(); ++g) {
    order.emplace_back(g, 0);
    for (size_t p = 0; p < poison.size(); ++p) {
      if (after[p] == g) order.emplace_back(g, p + 1);
    }
  }
  Producer producer(bootstrap_);
  std::set<int32_t> bad_partitions;
  for (const auto& [g, p] : order) {
    if (p == 0) {
      Result<Value> v = Value::ParseJson(good[g]);
      ASSERT_TRUE(v.ok());
      ASSERT_GE(producer.Send(Input(), (*v)["subject"].as_string(), good[g]), 0);
    } else {
      Poison& bad = poison[p - 1];
      bad.landed = producer.Send(Input(), bad.key, bad.value, bad.partition, bad.headers);
      ASSERT_GE(bad.landed, 0);
      bad_partitions.insert(bad.landed);
    }
  }
  EXPECT_EQ(bad_partitions.size(), 2u) << "the bad messages should be on both partitions";

  std::string data = dir_ + "/kafka";
  Output run = Amtsweg(KafkaRun(data, {"--until-idle", "--max-event-bytes", "4096"}), "kafka-run");
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  std::cout << "kafka run: " << run.out;
  EXPECT_NE(run.out.find("processed " + std::to_string(good.size() + poison.size()) + " inputs"),
            std::string::npos)
      << run.out;
  ExpectSameCases(data, ref, 10, rng);
  WaitCommittedAtEnd(2, 30s);

  TopicReader reader(bootstrap_, {Dead()}, prefix_ + ".reader");
  ASSERT_TRUE(reader.CatchUp());
  std::vector<Message> dead = reader.Messages(Dead());
  EXPECT_EQ(dead.size(), poison.size());
  for (const Poison& bad : poison) {
    const Message* found = nullptr;
    for (const Message& m : dead) {
      if (m.value.find(bad.marker) != std::string::npos) found = &m;
    }
    if (found == nullptr) {
      ADD_FAILURE() << bad.marker << " is not on the dead-letter topic";
      continue;
    }
    std::string reason = found->Header("__amtsweg.errors.reason").value_or("(no reason header)");
    EXPECT_EQ(reason.rfind(bad.reason[0], 0), 0u) << bad.marker << ": " << reason;
    for (size_t i = 1; i < bad.reason.size(); ++i)
      EXPECT_NE(reason.find(bad.reason[i]), std::string::npos) << bad.marker << ": " << reason;
    EXPECT_NE(found->Header("__amtsweg.errors.position")
                  .value_or("")
                  .find("topic " + Input() + " partition " + std::to_string(bad.landed) + " "),
              std::string::npos)
        << bad.marker << ": " << found->Header("__amtsweg.errors.position").value_or("(none)");
    EXPECT_EQ(found->key.value_or(""), bad.key.value_or("")) << bad.marker;
  }
  std::vector<store::DeadLetter> stored = StoredDeadLetters(data);
  EXPECT_EQ(stored.size(), poison.size());
  ExpectThirdPartyReaderParses();
}

// The engine dies again and again at random moments: at a named commit point (the hidden
// --crash-at option) or by SIGKILL once the group's committed offsets have grown by a random
// amount. Each run resumes from the store's positions. In the end every case's log equals the
// file run's (nothing lost, nothing doubled), and every outbound and audit event arrived.
TEST_F(KafkaE2E, CrashAtRandomMoments) {
  std::mt19937_64 rng(seed_);
  std::string events = GenerateEvents(600, rng() % 1000000);
  std::string ref = FileReference({events}, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));
  ASSERT_NO_FATAL_FAILURE(Produce({events}, false));
  const int64_t total = static_cast<int64_t>(Lines(ReadFile(events)).size());

  std::string data = dir_ + "/kafka";
  // A killed member stays in the group until its session times out: keep that short.
  const std::vector<std::string> options = {"--batch",
                                            "50",
                                            "--until-idle",
                                            "-X",
                                            "session.timeout.ms=6000",
                                            "-X",
                                            "heartbeat.interval.ms=1000"};
  const std::vector<std::string> points = {"before_batch_built",  "after_events_staged",
                                           "after_outbox_staged", "before_write",
                                           "after_write",         "after_outbox_delete"};
  GroupOffsets offsets(bootstrap_, Group());
  int crashes = 0;
  for (int round = 0; crashes < 5 && round < 10; ++round) {
    int64_t before = offsets.Sum(Input(), 4);
    ASSERT_GE(before, 0) << "cannot read the committed offsets of " << Group();
    std::string what;
    int code = 0;
    auto start = SteadyClock::now();
    if (round % 2 == 0) {
      std::string point = points[rng() % points.size()];
      std::string after = std::to_string(1 + rng() % 4);
      what = "--crash-at " + point + " --crash-after " + after;
      std::vector<std::string> args = KafkaRun(data, options);
      for (const std::string& a :
           {std::string("--crash-at"), point, std::string("--crash-after"), after}) {
        args.push_back(a);
      }
      Output o = Amtsweg(args, "crash-at-" + point);
      code = o.code;
      EXPECT_TRUE(code == 99 || code == 0) << what << ": status " << code << "\n" << Tail(o.err);
    } else {
      int64_t threshold = std::min(total, before + 40 + static_cast<int64_t>(rng() % 160));
      what = "SIGKILL once committed >= " + std::to_string(threshold);
      Child& engine = Start(KafkaRun(data, options), "sigkill");
      WaitUntil([&] { return engine.Exited() || offsets.Sum(Input(), 4) >= threshold; }, 180s,
                "progress of the engine to " + what, 5ms);
      if (!engine.Exited()) engine.Signal(SIGKILL);
      code = engine.Wait(30s, "the killed engine");
      EXPECT_TRUE(code == 128 + SIGKILL || code == 0) << what << ": status " << code << "\n"
                                                      << Tail(engine.Err());
    }
    if (code != 0) ++crashes;
    std::cout << "round " << round << ": " << what << ": status " << code << " after "
              << std::chrono::duration<double>(SteadyClock::now() - start).count()
              << " s; committed " << before << " -> " << offsets.Sum(Input(), 4) << " of " << total
              << std::endl;
    if (HasFatalFailure()) return;
  }
  EXPECT_GE(crashes, 5) << "the engine finished before it could be crashed five times";

  Output final_run = Amtsweg(KafkaRun(data, options), "final");
  ASSERT_EQ(final_run.code, 0) << final_run.out << final_run.err;
  std::cout << "final run: " << final_run.out;
  ExpectSameCases(data, ref, 12, rng);
  // (Whether the group's offsets reach the end after such a run: CommittedOffsetsReachTheEnd...)
  TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
  ASSERT_TRUE(reader.CatchUp());
  ExpectOutboundLikeReference(ref, reader, 4);
  ExpectAuditCoversLog(DumpStore(ref), reader.Messages(Audit()), 4);
  ExpectDeadLetters(data, ref, reader.Messages(Dead()), /*raw=*/true);
}

// The broker restarts (keeping its data) while the engine is in the middle of a stream: the
// engine rides it out, processes everything, commits its offsets to the end and delivers every
// outbound event; the result equals the file run's.
TEST_F(KafkaE2E, BrokerRestartMidStream) {
  const std::string script = Env("AMTSWEG_KAFKA_SCRIPT");
  if (script.empty() || Env("AMTSWEG_KAFKA_HOME").empty()) {
    FAIL() << "AMTSWEG_KAFKA_SCRIPT and AMTSWEG_KAFKA_HOME are not set: this test restarts the "
              "broker with `$AMTSWEG_KAFKA_SCRIPT restart`, which finds it through "
              "AMTSWEG_KAFKA_HOME (and AMTSWEG_KAFKA_PORT). scripts/test exports them; see "
              "tests/kafka/README.md.";
  }
  std::mt19937_64 rng(seed_);
  std::string events = GenerateEvents(600, rng() % 1000000);
  std::string ref = FileReference({events}, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));
  ASSERT_NO_FATAL_FAILURE(Produce({events}, false));
  const int64_t total = static_cast<int64_t>(Lines(ReadFile(events)).size());

  std::string data = dir_ + "/kafka";
  // Small batches and a small prefetch keep the engine busy for a while and fetching from the
  // broker as it goes.
  Child& engine = Start(KafkaRun(data, {"--batch", "5", "-X", "queued.max.messages.kbytes=64", "-X",
                                        "fetch.message.max.bytes=16384"}),
                        "engine");
  // Progress shows first on the audit topic (every domain event goes there; the group's offsets
  // follow once a batch's events are all delivered): restart the broker once a random part of
  // it arrived, while the engine still has input to read and events to deliver.
  GroupOffsets offsets(bootstrap_, Group());
  StoreDump ref_dump = DumpStore(ref);
  int64_t audit_events = 0;
  for (const auto& [id, c] : ref_dump)
    audit_events += static_cast<int64_t>(c.events.size());
  ClientPtr meta = NewClient(RD_KAFKA_CONSUMER, bootstrap_, {{"group.id", prefix_ + ".meta"}});
  ASSERT_TRUE(meta);
  auto audited = [&] {
    int64_t sum = 0;
    for (const auto& [p, high] : HighWatermarks(meta.get(), Audit(), 4))
      sum += high;
    return sum;
  };
  const int64_t threshold = 100 + static_cast<int64_t>(rng() % 1000);
  ASSERT_TRUE(WaitUntil([&] { return engine.Exited() || audited() >= threshold; }, 120s,
                        "the engine to publish " + std::to_string(threshold) + " audit events",
                        10ms));
  ASSERT_FALSE(engine.Exited()) << "status " << *engine.code() << "\n" << Tail(engine.Err());
  const int64_t at = audited();
  const int64_t committed = offsets.Sum(Input(), 4);
  auto start = SteadyClock::now();
  Output restart = RunProgram({script, "restart"}, "kafka-restart", 240s);
  ASSERT_EQ(restart.code, 0) << restart.out << restart.err;
  std::cout << "broker restarted in "
            << std::chrono::duration<double>(SteadyClock::now() - start).count() << " s with " << at
            << " of " << audit_events << " audit events published and " << committed << " of "
            << total << " inputs committed" << std::endl;
  EXPECT_LT(at, audit_events) << "the engine was done before the restart: nothing was tested";
  Phase("broker back");

  // The committed offsets mean "processed and published": once they are at the end, everything
  // outbound is on its topic.
  const bool at_end = WaitCommittedAtEnd(4, 120s, &engine);
  ASSERT_FALSE(engine.Exited()) << Tail(engine.Err());
  Phase(at_end ? "the group's offsets are at the end" : "the group's offsets are behind");
  TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
  WaitDelivered(reader, ref, ref_dump, 30s);
  Phase("waited for the outbound events");
  engine.Signal(SIGTERM);
  EXPECT_EQ(engine.Wait(60s, "the engine after SIGTERM"), 0) << Tail(engine.Err());
  Phase("engine stopped");
  if (!at_end) {
    std::string state;
    bool after = offsets.AtEnd(Input(), 4, &state);
    ADD_FAILURE() << "while the engine ran, the group's offsets stayed behind (see above); after "
                  << "it left the group they are " << (after ? "at the end" : "behind:" + state);
  }
  ASSERT_TRUE(reader.CatchUp());
  ExpectSameCases(data, ref, 12, rng);
  ExpectOutboundLikeReference(ref, reader, 4);
  ExpectAuditCoversLog(ref_dump, reader.Messages(Audit()), 4);
  ExpectDeadLetters(data, ref, reader.Messages(Dead()), /*raw=*/true);
}

// Two instances share the input's four partitions; each case lives in exactly one of them. When
// one leaves the group (SIGTERM), the other takes its partitions over, rebuilds their cases from
// the input topic (the log of record) without publishing them again, and goes on with the second
// half of the stream: the result equals the file run's.
TEST_F(KafkaE2E, TwoInstancesSplitAndHandOver) {
  std::mt19937_64 rng(seed_);
  std::vector<std::string> lines = Lines(ReadFile(GenerateEvents(600, rng() % 1000000)));
  const size_t half = lines.size() / 2;
  std::vector<std::string> wave1(lines.begin(), lines.begin() + static_cast<ptrdiff_t>(half));
  std::vector<std::string> wave2(lines.begin() + static_cast<ptrdiff_t>(half), lines.end());
  // After wave 1, a clock tick to its last time on every partition: an instance's clock follows
  // only its own partitions, the file run's all of them; the ticks bring both to the same moment.
  std::string t1;
  for (const std::string& l : wave1) {
    Result<Value> v = Value::ParseJson(l);
    if (v.ok() && v->is_object() && (*v)["time"].is_string())
      t1 = std::max(t1, (*v)["time"].as_string());
  }
  ASSERT_FALSE(t1.empty());
  std::vector<std::string> ticks;
  for (int p = 0; p < 4; ++p) {
    ticks.push_back(R"({"specversion":"1.0","id":"wave1-tick-)" + std::to_string(p) +
                    R"(","source":"urn:amtsweg:test","type":"de.amtsweg.clock.advanced","time":")" +
                    t1 + "\"}");
  }
  std::vector<std::string> all = wave1;
  all.insert(all.end(), ticks.begin(), ticks.end());
  std::string ref1 = FileReference({WriteLines(all, "wave1.jsonl")}, "file-wave1");
  all.insert(all.end(), wave2.begin(), wave2.end());
  std::string ref = FileReference({WriteLines(all, "all.jsonl")}, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));

  const std::string id_a = prefix_ + "-A", id_b = prefix_ + "-B";
  std::string data_a = dir_ + "/kafka-a", data_b = dir_ + "/kafka-b";
  Child& a = Start(KafkaRun(data_a, {"-X", "client.id=" + id_a}), "instance-a");
  Child& b = Start(KafkaRun(data_b, {"-X", "client.id=" + id_b}), "instance-b");
  // The coordinator's view: a stable group, each member with partitions, together all four.
  std::map<std::string, std::set<int32_t>> owned;
  auto settled = [&](size_t members) {
    GroupView g = DescribeGroup(bootstrap_, Group(), Input());
    if (!g.ok || g.state != RD_KAFKA_CONSUMER_GROUP_STATE_STABLE || g.members.size() != members)
      return false;
    owned.clear();
    std::set<int32_t> covered;
    for (const GroupMember& m : g.members) {
      if (m.partitions.empty()) return false;
      owned[m.client_id] = m.partitions;
      covered.insert(m.partitions.begin(), m.partitions.end());
    }
    return covered.size() == 4;
  };
  ASSERT_TRUE(WaitUntil([&] { return a.Exited() || b.Exited() || settled(2); }, 90s,
                        "both instances to have partitions"));
  ASSERT_FALSE(a.Exited()) << Tail(a.Err());
  ASSERT_FALSE(b.Exited()) << Tail(b.Err());
  ASSERT_EQ(owned.count(id_a) + owned.count(id_b), 2u);
  const std::set<int32_t> parts_a = owned[id_a];
  std::cout << "A owns " << parts_a.size() << " partitions, B " << owned[id_b].size() << std::endl;

  // Wave 1: each case in exactly one instance.
  ASSERT_NO_FATAL_FAILURE(ProduceInOrder(wave1));
  ASSERT_TRUE(WaitCommittedAtEnd(4, 120s, &a));
  {
    Producer producer(bootstrap_);
    for (int p = 0; p < 4; ++p)
      ASSERT_GE(producer.Send(Input(), std::nullopt, ticks[static_cast<size_t>(p)], p), 0);
  }
  ASSERT_TRUE(WaitCommittedAtEnd(4, 60s, &a));
  ASSERT_TRUE(WaitCommittedAtEnd(4, 10s, &b));
  TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
  StoreDump ref1_dump = DumpStore(ref1);
  WaitDelivered(reader, ref1, ref1_dump, 30s);
  EXPECT_EQ(ExpectAuditCoversLog(ref1_dump, reader.Messages(Audit()), 4), 0u)
      << "domain events of wave 1 were published twice: a case was in both instances";
  EXPECT_EQ(ExpectOutboundLikeReference(ref1, reader, 4), 0u);

  a.Signal(SIGTERM);
  ASSERT_EQ(a.Wait(60s, "instance A after SIGTERM"), 0) << Tail(a.Err());
  // A's store (readable now that A is gone) holds exactly the cases of its partitions.
  StoreDump dump_a = DumpStore(data_a);
  std::set<std::string> expected_a;
  for (const auto& [id, c] : ref1_dump) {
    if (parts_a.count(JavaPartition(id, 4)) != 0) expected_a.insert(id);
  }
  EXPECT_FALSE(expected_a.empty());
  EXPECT_EQ(CaseIds(dump_a), expected_a) << "instance A's cases are not those of its partitions";
  for (const auto& [id, c] : dump_a) {
    auto it = ref1_dump.find(id);
    if (it == ref1_dump.end()) continue;
    EXPECT_TRUE(c.events.size() == it->second.events.size() &&
                std::equal(c.events.begin(), c.events.end(), it->second.events.begin(),
                           [](const store::EventRecord& x, const store::EventRecord& y) {
                             return x.payload == y.payload && x.hash == y.hash;
                           }))
        << "instance A: case " << id << " differs from the file run over wave 1";
  }

  // B takes every partition over; then wave 2.
  ASSERT_TRUE(WaitUntil([&] { return b.Exited() || settled(1); }, 90s,
                        "instance B to own every partition"));
  ASSERT_FALSE(b.Exited()) << Tail(b.Err());
  EXPECT_EQ(owned.count(id_b), 1u);
  ASSERT_NO_FATAL_FAILURE(ProduceInOrder(wave2));
  ASSERT_TRUE(WaitCommittedAtEnd(4, 120s, &b));
  StoreDump ref_dump = DumpStore(ref);
  WaitDelivered(reader, ref, ref_dump, 30s);
  b.Signal(SIGTERM);
  EXPECT_EQ(b.Wait(60s, "instance B after SIGTERM"), 0) << Tail(b.Err());
  ASSERT_TRUE(reader.CatchUp());
  ExpectSameCases(data_b, ref, 12, rng);
  ExpectOutboundLikeReference(ref, reader, 4);
  ExpectAuditCoversLog(ref_dump, reader.Messages(Audit()), 4);
  ExpectDeadLetters(data_b, ref, reader.Messages(Dead()), /*raw=*/true);
}

// An engine that stored a batch and crashed before its offsets reached the group: the next run
// finds nothing new to read (the store's position is at the end), publishes what was left, and
// must still commit the group's offsets to the end ("processed and published"), or the group
// shows lag forever and a later owner of the partition publishes the events again.
TEST_F(KafkaE2E, CommittedOffsetsReachTheEndAfterACrashBeforeTheCommit) {
  const std::string gewerbe = kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl";
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 1));
  ASSERT_NO_FATAL_FAILURE(Produce({gewerbe}, false));
  const int64_t total = static_cast<int64_t>(Lines(ReadFile(gewerbe)).size());
  std::string data = dir_ + "/kafka";
  // Each run stores at least one batch and stops right after writing it: before publishing it
  // and before committing its offsets. Until the stored position is the end of the partition.
  const std::string key = "kafka:" + Input() + ":0";
  auto stored = [&]() -> int64_t {
    store::Options options;
    options.create_if_missing = false;
    auto st = store::Store::Open(data, options);
    if (!st.ok()) return 0;
    Result<std::optional<std::string>> p = (*st)->GetPosition(key);
    return p.ok() && p->has_value() ? std::stoll(**p) : 0;
  };
  for (int run = 0; stored() < total; ++run) {
    ASSERT_LT(run, total) << "a crashed run stored nothing";
    Output o = Amtsweg(KafkaRun(data, {"--until-idle", "--crash-at", "after_write", "--crash-after",
                                       "1", "-X", "session.timeout.ms=6000"}),
                       "crash-after-write");
    ASSERT_EQ(o.code, 99) << o.out << o.err;
  }
  GroupOffsets offsets(bootstrap_, Group());
  std::map<int32_t, int64_t> before = offsets.Committed(Input(), 1);
  ASSERT_EQ(before.size(), 1u);
  ASSERT_LT(before[0], total) << "precondition: the group's offset is behind the store's";

  Output o = Amtsweg(KafkaRun(data, {"--until-idle", "-X", "session.timeout.ms=6000"}), "final");
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  std::cout << "final run: " << o.out;
  std::string state;
  EXPECT_TRUE(offsets.AtEnd(Input(), 1, &state))
      << "after a complete --until-idle run the group's offset (committed/high:" << state
      << ") is not at the end of the partition, though every input is stored and published";
  // Everything was published nonetheless.
  std::string ref = FileReference({gewerbe}, "file");
  TopicReader reader(bootstrap_, OutputTopics(), prefix_ + ".reader");
  ASSERT_TRUE(reader.CatchUp());
  ExpectOutboundLikeReference(ref, reader, 1);
}

// An instance takes over a partition whose events are older than its own clock (its other
// partition has moved on): the rebuilt cases' deadlines that fell due meanwhile must expire as in
// the file run, where the clock passed them. Here: a crafts-register application (HR-2026-0002)
// whose three-month deadline ends on 12 October 2026 is on the partition of instance A; an
// application of 1 December 2026 on B's partition moves B's clock past that deadline. A leaves,
// B rebuilds HR-2026-0002 from the input topic: the deemed entry (fiktiv_eingetragen) is due.
TEST_F(KafkaE2E, TakeOverAfterTheClockPassedFiresOverdueDeadlines) {
  std::mt19937_64 rng(seed_);
  const std::string hr = "HR-2026-0002";
  const int32_t p_hr = JavaPartition(hr, 2);
  std::vector<std::string> lines;
  for (const std::string& l :
       Lines(ReadFile(kRepo + "/workflows/samples/03-handwerksrolle.jsonl"))) {
    if (l.find("\"subject\":\"" + hr + "\"") != std::string::npos &&
        l.find("certificate.requested") == std::string::npos)
      lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 3u);
  // A later application on the other partition.
  std::string other;
  for (int i = 9000; other.empty(); ++i) {
    std::string id = "GA-2026-" + std::to_string(i);
    if (JavaPartition(id, 2) != p_hr) other = id;
  }
  std::string later = Lines(ReadFile(kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl"))[0];
  later.replace(later.find("GA-2026-0001"), 12, other);
  later.replace(later.find("2026-01-05T08:10:00Z"), 20, "2026-12-01T08:00:00Z");
  later.replace(later.find("01-gewerbeanmeldung-0001"), 24, "takeover-later");
  const std::string marker_line = lines[0];  // sent again at the end: a duplicate
  std::vector<std::string> all = lines;
  all.push_back(later);
  all.push_back(marker_line);
  std::string ref = FileReference({WriteLines(all, "all.jsonl")}, "file");
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 2));

  const std::string id1 = prefix_ + "-1", id2 = prefix_ + "-2";
  std::string data1 = dir_ + "/kafka-1", data2 = dir_ + "/kafka-2";
  Child& c1 = Start(KafkaRun(data1, {"-X", "client.id=" + id1}), "instance-1");
  Child& c2 = Start(KafkaRun(data2, {"-X", "client.id=" + id2}), "instance-2");
  std::map<std::string, std::set<int32_t>> owned;
  auto settled = [&](size_t members) {
    GroupView g = DescribeGroup(bootstrap_, Group(), Input());
    if (!g.ok || g.state != RD_KAFKA_CONSUMER_GROUP_STATE_STABLE || g.members.size() != members)
      return false;
    owned.clear();
    size_t total = 0;
    for (const GroupMember& m : g.members) {
      if (m.partitions.empty()) return false;
      owned[m.client_id] = m.partitions;
      total += m.partitions.size();
    }
    return total == 2;
  };
  ASSERT_TRUE(WaitUntil([&] { return c1.Exited() || c2.Exited() || settled(2); }, 90s,
                        "both instances to have a partition"));
  ASSERT_FALSE(c1.Exited() || c2.Exited()) << Tail(c1.Err()) << Tail(c2.Err());
  const bool one_has_hr = owned[id1].count(p_hr) != 0;
  Child& a = one_has_hr ? c1 : c2;  // owns HR-2026-0002's partition, leaves
  Child& b = one_has_hr ? c2 : c1;  // moves on, takes over
  const std::string data_b = one_has_hr ? data2 : data1;
  const std::string id_b = one_has_hr ? id2 : id1;

  ASSERT_NO_FATAL_FAILURE(ProduceInOrder(lines));
  ASSERT_NO_FATAL_FAILURE(ProduceInOrder({later}));
  ASSERT_TRUE(WaitCommittedAtEnd(2, 60s, &a));
  Phase("both partitions processed; instance A leaves");
  a.Signal(SIGTERM);
  ASSERT_EQ(a.Wait(60s, "instance A after SIGTERM"), 0) << Tail(a.Err());
  ASSERT_TRUE(WaitUntil([&] { return b.Exited() || (settled(1) && owned.count(id_b) != 0); }, 90s,
                        "instance B to own both partitions"));
  ASSERT_FALSE(b.Exited()) << Tail(b.Err());
  // A duplicate behind the rebuilt input: once the group's offset is past it, B has rebuilt the
  // partition.
  ASSERT_NO_FATAL_FAILURE(ProduceInOrder({marker_line}));
  ASSERT_TRUE(WaitCommittedAtEnd(2, 60s, &b));
  // The expiry fires once B has seen the rebuilt partition's end, which may be a poll after the
  // offsets reached it: wait for its audit events (the case closing) before stopping B.
  // The closing event's seq, from the file run.
  std::string closing;
  for (const std::string& line :
       Lines(Amtsweg({"case", "history", hr, "--data-dir", ref}, "history").out)) {
    Result<Value> e = Value::ParseJson(line);
    if (e.ok() && (*e)["type"].as_string() == "case.closed")
      closing = hr + "/" + std::to_string((*e)["seq"].as_int());
  }
  ASSERT_FALSE(closing.empty());
  TopicReader audit(bootstrap_, {Audit()}, prefix_ + ".audit-reader");
  auto closed = [&] {
    if (!audit.CatchUp()) return false;
    for (const Message& m : audit.Messages(Audit())) {
      if (m.value.find("\"id\":\"" + closing + "\"") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitUntil([&] { return b.Exited() || closed(); }, 60s,
                        "B to publish the expiry of " + hr + "'s deadline"));
  b.Signal(SIGTERM);
  ASSERT_EQ(b.Wait(60s, "instance B after SIGTERM"), 0) << Tail(b.Err());

  Output show = Amtsweg({"case", "show", "--json", hr, "--data-dir", data_b}, "show");
  Output want = Amtsweg({"case", "show", "--json", hr, "--data-dir", ref}, "show");
  ASSERT_EQ(want.code, 0) << want.err;
  EXPECT_EQ(Value::ParseJson(want.out).value()["state"].as_string(), "fiktiv_eingetragen");
  ASSERT_EQ(show.code, 0) << show.err;
  Result<Value> got = Value::ParseJson(show.out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["state"].as_string(), "fiktiv_eingetragen")
      << "B rebuilt " << hr << " but its deadline, due 2026-10-12T22:00:00Z, did not expire "
      << "although B's clock is at 2026-12-01; deadlines:\n"
      << (*got)["deadlines"].ToJson();
  ExpectSameCases(data_b, ref, 10, rng);
}

// A participant's answer through the HTTP API of a Kafka run: stored on its case's partition in
// the engine's batch, answered once stored, a duplicate when sent again, and the partitions'
// committed offsets still reach the end (API input carries no offsets).
TEST_F(KafkaE2E, InputThroughTheApiOfAKafkaRunIsStoredAndAnsweredOnce) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic(Input(), 4));
  // HR-2026-0001's application and complete file, an hour ago: the IHK's hearing is open (its
  // deadline is months away from the receipt of the answer, the wall clock).
  const std::string now = FormatTimestamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count() -
                                          3'600'000);
  std::vector<std::string> lines;
  {
    std::ifstream in(kRepo + "/workflows/samples/03-handwerksrolle.jsonl");
    std::string line;
    std::regex time(R"("time":"[^"]*")");
    while (lines.size() < 2 && std::getline(in, line))
      lines.push_back(std::regex_replace(line, time, "\"time\":\"" + now + "\""));
  }
  const std::string token = "ihk-kiel-token-kafka";
  const std::string principals = dir_ + "/principals.yaml";
  std::ofstream(principals) << "principals:\n  - {name: ihk, role: participant, organisation: "
                               "ihk-kiel, token_sha256: "
                            << ToHex(Sha256(token)) << "}\n";
  const std::string data = dir_ + "/kafka";
  Child& run = Start(KafkaRun(data, {"--listen", "127.0.0.1:0", "--principals", principals}),
                     "kafka-run-api");
  int port = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::smatch m;
        std::string err = run.Err();
        static const std::regex kListening(R"(api: listening on 127\.0\.0\.1:(\d+))");
        if (std::regex_search(err, m, kListening)) port = std::stoi(m[1].str());
        return port > 0 || run.Exited();
      },
      60s, "the API to listen"));
  ASSERT_GT(port, 0) << Tail(run.Err());
  ASSERT_NO_FATAL_FAILURE(ProduceInOrder(lines));
  {
    // A clock tick on every partition, at the same time, so that each has an offset to commit.
    Producer producer(bootstrap_);
    for (int p = 0; p < 4; ++p) {
      ASSERT_GE(producer.Send(Input(), std::nullopt,
                              R"({"specversion":"1.0","id":"tick-)" + std::to_string(p) +
                                  R"(","source":"urn:amtsweg:test","type":"de.amtsweg.clock.)"
                                  R"(advanced","time":")" +
                                  now + "\"}",
                              p),
                0);
    }
  }
  ASSERT_TRUE(WaitCommittedAtEnd(4, 120s, &run));

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  const httplib::Headers headers = {{"Authorization", "Bearer " + token},
                                    {"Idempotency-Key", "ihk-kafka-1"}};
  const std::string path = "/api/v1/cases/HR-2026-0001/responses";
  const std::string body = R"({"task":"ihk_anhoerung","objection":false})";
  httplib::Result first = client.Post(path, headers, body, "application/json");
  ASSERT_TRUE(first) << Tail(run.Err());
  EXPECT_EQ(first->status, 200) << first->body;
  EXPECT_NE(first->body.find(R"("outcome":"accepted")"), std::string::npos) << first->body;
  httplib::Result again = client.Post(path, headers, body, "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_NE(again->body.find(R"("outcome":"duplicate")"), std::string::npos) << again->body;

  run.Signal(SIGTERM);
  ASSERT_EQ(run.Wait(60s, "the run to stop"), 0) << Tail(run.Err());
  Output history = Amtsweg({"case", "history", "HR-2026-0001", "--data-dir", data}, "history");
  ASSERT_EQ(history.code, 0) << history.err;
  size_t caused = 0;
  for (const std::string& l : Lines(history.out)) {
    if (l.find(R"("cause":"ihk-kafka-1")") != std::string::npos) ++caused;
  }
  EXPECT_GT(caused, 0u) << history.out;
  EXPECT_EQ(history.out.find("input.rejected"), std::string::npos) << history.out;
  // API input carries no offsets: the group's stay at the end of the topic.
  EXPECT_TRUE(WaitCommittedAtEnd(4, 30s));
}

}  // namespace
}  // namespace amtsweg
