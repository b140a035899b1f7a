#include "connectors/kafka/kafka_source.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <string_view>

#include "connectors/kafka/internal/kafka_internal.h"
#include "connectors/kafka/kafka_forwarder.h"

namespace amtsweg::connectors {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr size_t kOversizedKeep =
    size_t{64} * 1024;  // what a dead letter keeps of a too large value
constexpr milliseconds kCommittedTimeout{5000};
constexpr milliseconds kMetadataTimeout{5000};
constexpr milliseconds kMetadataRetryTimeout{1000};
constexpr milliseconds kSeekTimeout{5000};
constexpr size_t kKeyInMessage = 200;  // longest key quoted in a misrouting reason

template <typename Int>
bool ParseDecimal(std::string_view s, Int* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && *out >= 0;
}

}  // namespace

struct KafkaSource::Impl {
  struct Partition {
    bool eof = false;           // read to its end since its last message
    int64_t replay_below = 0;   // the group's committed offset when it was assigned
    int64_t committed = -1;     // the latest position given to Committed()
    int64_t commit_sent = -1;   // the latest offset sent to the group (maybe not yet confirmed)
    int64_t commit_acked = -1;  // the latest offset the group confirmed
    steady_clock::time_point sent_at{};  // when commit_sent went out
  };
  // Bounds on waiting for the group (see Poll): a commit unanswered for this long is sent again,
  // and commits waiting for an assignment that does not come (the group stayed in its
  // generation, as after a broker restart that kept it) go out again.
  static constexpr std::chrono::seconds kCommitAnswerLimit{10};
  static constexpr std::chrono::seconds kCommitWaitLimit{10};
  // After a commit failed for want of a coordinator (NOT_COORDINATOR while the broker restarted,
  // a timeout), the latest offsets are committed again this often for a while, also when the
  // group confirmed them: the refused commit may reach the coordinator late, after a newer one,
  // and move the group's offset back, and nothing else would ever move it forward again once the
  // input has ended. Only then: every commit risks landing in a rebalance (see OffsetCommitCb).
  static constexpr std::chrono::seconds kCommitRefresh{5};
  static constexpr std::chrono::seconds kCommitRefreshFor{60};
  enum class Got { kNothing, kInput, kCaughtUp };

  KafkaConfig config;
  std::string name;
  std::string key_prefix;  // "kafka:<topic>:"
  // Stored beside the positions: the partitioner the store's input was read with (see Start).
  std::string partitioner_key;      // "kafka:<topic>:partitioner"
  bool partitioner_stored = false;  // the store has it, and it is config.partitioner
  size_t max_event_bytes = 0;
  rd_kafka_t* rk = nullptr;
  core::PositionLookup lookup;
  steady_clock::time_point last_commit_retry{};
  steady_clock::time_point last_commit_refresh{};
  steady_clock::time_point refresh_until{};  // commits are refreshed until then (kCommitRefresh)
  // The group answered a commit with "rebalance in progress" (or "illegal generation", "unknown
  // member"): commits wait for the next assignment (see OffsetCommitCb).
  bool commits_wait_for_assignment = false;
  steady_clock::time_point waiting_since{};  // when commits_wait_for_assignment was set
  RevokeHandler revoke_handler;
  bool started = false;
  bool closed = false;
  bool paused = false;
  std::map<int32_t, Partition> assigned;
  int32_t partition_count = 0;   // of the topic; 0: not known yet
  uint64_t lane_generation = 1;  // see Source::LaneGeneration
  steady_clock::time_point last_metadata_attempt{};
  // Inputs read by the current Poll, not yet returned, with their offsets.
  std::vector<core::RawInput> pending;
  std::vector<int64_t> pending_offsets;
  std::map<int32_t, int64_t> rewound;  // partitions sought back in the current Poll
  core::Positions last_positions;
  Status error;  // raised inside a librdkafka callback; the next Poll returns it
  internal::LogLimiter limiter;

  std::string PositionKey(int32_t partition) const {
    return key_prefix + std::to_string(partition);
  }
  bool IsOurTopic(const char* topic) const { return topic != nullptr && config.topic == topic; }

  void Warn(const std::string& key, const std::string& message) {
    uint64_t suppressed = 0;
    if (!limiter.Allow(key, &suppressed)) return;
    if (suppressed > 0) {
      spdlog::warn("{} ({} similar warnings suppressed)", message, suppressed);
    } else {
      spdlog::warn("{}", message);
    }
  }
  void Raise(Status status) {
    if (error.ok()) error = std::move(status);
  }

  bool CaughtUp() const {
    if (assigned.empty()) return false;
    for (const auto& [p, st] : assigned) {
      if (!st.eof) return false;
    }
    return true;
  }

  void RefreshPartitionCount(milliseconds timeout) {
    last_metadata_attempt = steady_clock::now();
    Result<int32_t> count = internal::TopicPartitionCount(rk, config.topic, timeout);
    if (count.ok()) {
      if (partition_count != *count) ++lane_generation;
      partition_count = *count;
    } else {
      Warn("metadata", "Kafka source " + name + ": " + count.status().message());
    }
  }

  // True when the partition count is known to cover `partition` (partitions can be added).
  bool KnowsPartition(int32_t partition) {
    if (partition < partition_count) return true;
    if (steady_clock::now() - last_metadata_attempt < std::chrono::seconds(1)) return false;
    RefreshPartitionCount(kMetadataRetryTimeout);
    return partition < partition_count;
  }

  // Positions after the pending inputs, per partition.
  core::Positions PendingPositions() const {
    std::map<int32_t, int64_t> next;
    for (size_t i = 0; i < pending.size(); ++i) {
      int64_t& n = next[static_cast<int32_t>(pending[i].lane)];
      n = std::max(n, pending_offsets[i] + 1);
    }
    core::Positions out;
    for (const auto& [p, offset] : next)
      out.emplace_back(PositionKey(p), std::to_string(offset));
    if (!out.empty())
      out.emplace_back(partitioner_key, std::string(PartitionerName(config.partitioner)));
    return out;
  }

  void DropPending(const std::set<int32_t>& partitions) {
    size_t kept = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (partitions.count(static_cast<int32_t>(pending[i].lane)) != 0) continue;
      if (kept != i) {
        pending[kept] = std::move(pending[i]);
        pending_offsets[kept] = pending_offsets[i];
      }
      ++kept;
    }
    pending.resize(kept);
    pending_offsets.resize(kept);
  }

  // What to commit for the partitions (all, or `only`) whose Committed() position is beyond what
  // the group has been sent (kSent), has confirmed (kAcked), or had when they were assigned
  // (kAll: the latest offsets again, whatever the group confirmed since).
  enum class Have { kSent, kAcked, kAll };
  internal::PartitionListPtr CommitList(const std::set<int32_t>* only, Have what) {
    internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
    for (auto& [p, st] : assigned) {
      if (only != nullptr && only->count(p) == 0) continue;
      int64_t have = st.replay_below;
      if (what == Have::kSent) have = std::max(have, st.commit_sent);
      if (what == Have::kAcked) have = std::max(have, st.commit_acked);
      if (st.committed <= have) continue;
      rd_kafka_topic_partition_list_add(list.get(), config.topic.c_str(), p)->offset = st.committed;
      st.commit_sent = std::max(st.commit_sent, st.committed);
      st.sent_at = steady_clock::now();
    }
    return list;
  }

  void CommitAsync(Have what = Have::kSent) {
    if (commits_wait_for_assignment) return;
    internal::PartitionListPtr list = CommitList(nullptr, what);
    if (list->cnt == 0) return;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, list.get(), 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ForgetSent(list.get());
      refresh_until = steady_clock::now() + kCommitRefreshFor;
      Warn("commit", "Kafka source " + name +
                         ": committing offsets failed (retried within a second): " +
                         internal::ErrorText(err));
    }
  }

  // Before partitions go: the group learns what has been published, synchronously; within a
  // minute of a coordinator failure the latest offsets again, also those it confirmed (see
  // kCommitRefresh). Otherwise no more than it lacks: a commit in a rebalance that comes back
  // ILLEGAL_GENERATION makes librdkafka drop the assignment.
  void CommitSync(const std::set<int32_t>& partitions) {
    const bool refresh = steady_clock::now() < refresh_until;
    internal::PartitionListPtr list = CommitList(&partitions, refresh ? Have::kAll : Have::kAcked);
    if (list->cnt == 0) return;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, list.get(), 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn(
          "Kafka source {}: committing offsets of revoked partitions failed: {}; their next owner "
          "may publish events again (receivers deduplicate by event id)",
          name, internal::ErrorText(err));
    }
  }

  void ForgetSent(const rd_kafka_topic_partition_list_t* offsets) {
    for (int i = 0; i < offsets->cnt; ++i) {
      auto it = assigned.find(offsets->elems[i].partition);
      if (it != assigned.end()) it->second.commit_sent = it->second.commit_acked;
    }
  }

  void OnAssign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
    if (!cooperative) assigned.clear();  // an eager assignment is the whole assignment
    if (parts->cnt > 0) RefreshPartitionCount(kMetadataTimeout);

    // What earlier owners have published: the group's committed offsets.
    internal::PartitionListPtr committed(rd_kafka_topic_partition_list_copy(parts));
    rd_kafka_resp_err_t cerr =
        parts->cnt > 0
            ? rd_kafka_committed(rk, committed.get(), static_cast<int>(kCommittedTimeout.count()))
            : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn(
          "Kafka source {}: cannot read the committed offsets of group '{}': {}; input that an "
          "earlier owner already published may be published again",
          name, config.group, internal::ErrorText(cerr));
    }

    std::string described;
    for (int i = 0; i < parts->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = parts->elems[i];
      Partition st;
      if (cerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_topic_partition_t* c =
            rd_kafka_topic_partition_list_find(committed.get(), tp.topic, tp.partition);
        if (c != nullptr && c->err == RD_KAFKA_RESP_ERR_NO_ERROR && c->offset >= 0) {
          st.replay_below = c->offset;
          st.commit_sent = st.commit_acked = c->offset;
        }
      }
      int64_t start = RD_KAFKA_OFFSET_BEGINNING;
      std::string key = PositionKey(tp.partition);
      if (lookup) {
        Result<std::optional<std::string>> stored = lookup(key);
        if (!stored.ok()) {
          Raise(stored.status().WithContext("reading the stored position '" + key + "'"));
        } else if (stored->has_value()) {
          int64_t offset = 0;
          if (!partitioner_stored) CheckStoredPartitioner();
          if (ParseDecimal(**stored, &offset)) {
            start = offset;
          } else {
            Raise(Status::Corruption("stored position '" + **stored + "' of '" + key +
                                     "' is not a Kafka offset"));
          }
        }
      }
      tp.offset = start;
      ++lane_generation;
      // Everything stored was delivered before the source started (Engine::Run flushes the
      // outbox first, and a revoked partition is settled before it goes; an invariant of
      // engine/core/outbox_publisher.h): a stored position ahead of the group's offset, left by
      // a crash between the store's commit and the group's, is committed now.
      if (start > 0 && start > st.commit_acked) st.committed = start;
      assigned[tp.partition] = st;
      if (!described.empty()) described += ", ";
      described += std::to_string(tp.partition) + " from " +
                   (start >= 0 ? "offset " + std::to_string(start) : std::string("the start"));
      if (st.replay_below > 0)
        described += " (replay below " + std::to_string(st.replay_below) + ")";
    }

    // Commits go out before the assignment is handed back to librdkafka: after an assignment that
    // follows a cooperative revocation librdkafka rejoins the group at once, and a commit queued
    // behind that JoinGroup would carry the old generation (see OffsetCommitCb).
    commits_wait_for_assignment = false;
    CommitAsync();
    if (cooperative) {
      internal::ErrorPtr e(rd_kafka_incremental_assign(rk, parts));
      if (e)
        Raise(Status::IOError(std::string("assigning partitions: ") +
                              rd_kafka_error_string(e.get())));
    } else {
      rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Raise(Status::IOError("assigning partitions: " + internal::ErrorText(err)));
      }
    }
    if (paused && parts->cnt > 0) {
      rd_kafka_resp_err_t err = rd_kafka_pause_partitions(rk, parts);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Raise(Status::IOError("pausing newly assigned partitions: " + internal::ErrorText(err)));
      }
    }
    if (parts->cnt > 0) spdlog::info("Kafka source {}: assigned partitions {}", name, described);
  }

  void OnRevoke(rd_kafka_topic_partition_list_t* parts, bool cooperative, bool lost) {
    std::set<int32_t> gone;
    for (int i = 0; i < parts->cnt; ++i) {
      if (IsOurTopic(parts->elems[i].topic)) gone.insert(parts->elems[i].partition);
    }
    if (lost) {
      // Another member owns them already: nothing may be committed for them any more.
      DropPending(gone);
      if (!gone.empty()) spdlog::warn("Kafka source {}: lost {} partition(s)", name, gone.size());
    } else {
      if (revoke_handler) {
        core::Positions positions = PendingPositions();
        std::vector<core::RawInput> handed = std::move(pending);
        pending.clear();
        pending_offsets.clear();
        revoke_handler(handed, positions);
      } else {
        DropPending(gone);
      }
      CommitSync(gone);
    }
    for (int32_t p : gone)
      assigned.erase(p);
    ++lane_generation;
    if (cooperative) {
      internal::ErrorPtr e(rd_kafka_incremental_unassign(rk, parts));
      if (e)
        Raise(Status::IOError(std::string("unassigning partitions: ") +
                              rd_kafka_error_string(e.get())));
    } else {
      rd_kafka_resp_err_t err = rd_kafka_assign(rk, nullptr);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Raise(Status::IOError("unassigning partitions: " + internal::ErrorText(err)));
      }
    }
    if (!gone.empty()) spdlog::info("Kafka source {}: gave up {} partition(s)", name, gone.size());
  }

  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    switch (err) {
      case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        self->OnAssign(parts, cooperative);
        break;
      case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        self->OnRevoke(parts, cooperative, rd_kafka_assignment_lost(rk) != 0);
        break;
      default:
        spdlog::warn("Kafka source {}: rebalance failed: {}", self->name, internal::ErrorText(err));
        self->assigned.clear();
        self->pending.clear();
        self->pending_offsets.clear();
        (void)rd_kafka_assign(rk, nullptr);  // librdkafka's rule: resynchronise the state
        break;
    }
  }

  static void OffsetCommitCb(rd_kafka_t*, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (offsets == nullptr) return;
    for (int i = 0; i < offsets->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = offsets->elems[i];
      if (!self->IsOurTopic(tp.topic)) continue;
      auto it = self->assigned.find(tp.partition);
      if (it == self->assigned.end()) continue;
      Partition& st = it->second;
      rd_kafka_resp_err_t e = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : tp.err;
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        st.commit_acked = std::max(st.commit_acked, tp.offset);
      } else {
        // Sent again by the next Poll or Committed(); after a group error only once this member
        // has its next assignment. The group is between generations then, and we are about to
        // rejoin (or already waiting for the JoinGroup response): a commit sent now carries the
        // old generation, the coordinator answers it after the join completes with
        // ILLEGAL_GENERATION, and librdkafka 2.0 then resets the generation, fails the SyncGroup
        // and drops the whole assignment as lost (confluentinc/librdkafka#4059), so the
        // partitions this member keeps are revoked without the revoke handler and read again.
        st.commit_sent = st.commit_acked;
        if (e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
            e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
          if (!self->commits_wait_for_assignment) self->waiting_since = steady_clock::now();
          self->commits_wait_for_assignment = true;
        } else {
          self->refresh_until = steady_clock::now() + kCommitRefreshFor;  // see kCommitRefresh
        }
        self->Warn("commit", "Kafka source " + self->name + ": committing offset " +
                                 std::to_string(tp.offset) + " of partition " +
                                 std::to_string(tp.partition) +
                                 " failed: " + internal::ErrorText(e));
      }
    }
  }

  // Seeks a partition back so that the message at `offset` is fetched again later.
  void Rewind(int32_t partition, int64_t offset) {
    internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), config.topic.c_str(), partition)->offset = offset;
    internal::ErrorPtr e(
        rd_kafka_seek_partitions(rk, list.get(), static_cast<int>(kSeekTimeout.count())));
    if (e || list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Raise(Status::IOError(
          "cannot seek partition " + std::to_string(partition) + " of " + config.topic +
          " back to offset " + std::to_string(offset) + ": " +
          (e ? rd_kafka_error_string(e.get()) : internal::ErrorText(list->elems[0].err))));
    }
    rewound[partition] = offset;
    assigned[partition].eof = false;
  }

  // A partition has a stored position: the store's partitioner must be ours. Positions are stored
  // with it (PendingPositions); one without it is older than the setting, from murmur2 days.
  void CheckStoredPartitioner() {
    Result<std::optional<std::string>> stored = lookup(partitioner_key);
    if (!stored.ok()) {
      Raise(stored.status().WithContext("reading the stored position '" + partitioner_key + "'"));
    } else if (!stored->has_value()) {
      if (config.partitioner != KafkaPartitioner::kMurmur2)
        Raise(PartitionerChanged("murmur2 (stored before partitioners were recorded)"));
      partitioner_stored = config.partitioner == KafkaPartitioner::kMurmur2;
    } else if (**stored != PartitionerName(config.partitioner)) {
      Raise(PartitionerChanged(**stored));
    } else {
      partitioner_stored = true;
    }
  }

  // The store's input was read with another partitioner than the configured one.
  Status PartitionerChanged(const std::string& stored) const {
    return Status::InvalidArgument(
        "this data directory read input topic " + config.topic + " with partitioner " + stored +
        ", not " + std::string(PartitionerName(config.partitioner)) +
        ": the topic's input is partitioned that way, and under another partitioner a case's new "
        "input would land on another partition than its history. Keep partitioner " +
        stored.substr(0, stored.find(' ')) +
        " for this topic, or move to a new input topic with a new data directory");
  }

  // Why a keyed message is not where the topic's partitioner puts it, with the fix: the
  // partitioners that would have put it there (a producer with another client's default), else
  // how to produce it right.
  std::string MisroutedReason(std::string_view key, int32_t expected, int32_t p) const {
    std::string shown(key.substr(0, kKeyInMessage));
    if (key.size() > kKeyInMessage) shown += "...";
    const std::string ours(PartitionerName(config.partitioner));
    std::string reason = "message key '" + shown + "' belongs to partition " +
                         std::to_string(expected) + " of " + config.topic + ", not to " +
                         std::to_string(p) + ", under the topic's partitioner " + ours;
    std::string others;
    for (KafkaPartitioner other :
         {KafkaPartitioner::kMurmur2, KafkaPartitioner::kCrc32, KafkaPartitioner::kFnv1a}) {
      if (other == config.partitioner || PartitionOf(other, key, partition_count) != p) continue;
      if (!others.empty()) others += " or ";
      others += PartitionerName(other);
    }
    if (!others.empty()) {
      reason += "; the producer may use " + others +
                " (crc32 is the default of librdkafka's clients: kcat, confluent-kafka): set the "
                "input topic's partitioner (`partitioner:` in the Kafka configuration, `run "
                "--partitioner`) to the one all its producers use";
    }
    reason += "; or produce with the " + ours + " partitioner (librdkafka: -X partitioner=" +
              std::string(LibrdkafkaPartitioner(config.partitioner)) + ")";
    return reason;
  }

  // The channel the forwarder stamped (kafka_forwarder.h); only with trust_channel_headers.
  static void ReadChannel(const std::vector<internal::HeaderView>& headers, core::RawInput* in) {
    for (const internal::HeaderView& h : headers) {
      if (!h.value.has_value()) continue;
      if (strcasecmp(std::string(h.name).c_str(), kChannelOrganisationHeader) == 0) {
        in->channel_organisation.assign(*h.value);
      } else if (strcasecmp(std::string(h.name).c_str(), kChannelHeader) == 0) {
        in->channel.assign(*h.value);
      }
    }
  }

  Result<Got> Handle(const rd_kafka_message_t* m) {
    const char* topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : nullptr;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      auto it = assigned.find(m->partition);
      if (!IsOurTopic(topic) || it == assigned.end() || rewound.count(m->partition) != 0) {
        return Got::kNothing;
      }
      bool was = CaughtUp();
      it->second.eof = true;
      return !was && CaughtUp() ? Got::kCaughtUp : Got::kNothing;
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
      std::optional<std::string> fatal = internal::FatalError(rk);
      return Status::IOError("Kafka consumer of " + config.topic +
                             " failed for good: " + fatal.value_or(rd_kafka_message_errstr(m)));
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      return internal::AuthenticationFailure("consumer of " + config.topic,
                                             rd_kafka_message_errstr(m));
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transient (broker down, network) or outside our control (authorisation, missing topic):
      // librdkafka retries; the engine keeps running.
      std::string where =
          topic != nullptr && m->partition >= 0
              ? " (topic " + std::string(topic) + " partition " + std::to_string(m->partition) + ")"
              : "";
      Warn(rd_kafka_err2name(m->err), "Kafka source " + name + ": " + rd_kafka_message_errstr(m) +
                                          where + " [" + rd_kafka_err2name(m->err) + "]");
      return Got::kNothing;
    }

    const int32_t p = m->partition;
    auto it = assigned.find(p);
    // A message of a partition given up in this Poll, or sought back: it is not ours now.
    if (!IsOurTopic(topic) || it == assigned.end() || rewound.count(p) != 0) return Got::kNothing;
    if (paused) {
      Rewind(p, m->offset);
      return Got::kNothing;
    }
    std::optional<std::string_view> key;
    if (m->key != nullptr) key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    std::string misrouted;
    if (key.has_value()) {
      if (!KnowsPartition(p)) {
        Warn("partitions", "Kafka source " + name + ": partition count of " + config.topic +
                               " unknown; reading partition " + std::to_string(p) + " again later");
        Rewind(p, m->offset);
        return Got::kNothing;
      }
      int32_t expected = PartitionOf(config.partitioner, *key, partition_count);
      if (expected != p) misrouted = MisroutedReason(*key, expected, p);
    }

    core::RawInput in;
    in.lane = static_cast<uint32_t>(p);
    in.where = "topic " + config.topic + " partition " + std::to_string(p) + " offset " +
               std::to_string(m->offset);
    if (key.has_value()) in.key = std::string(*key);
    in.size = m->len;
    in.misrouted = std::move(misrouted);
    in.replay = m->offset < it->second.replay_below;
    std::string_view value(m->payload != nullptr ? static_cast<const char*>(m->payload) : "",
                           m->payload != nullptr ? m->len : 0);
    // The value and headers as they are: the engine decodes the CloudEvent in either content
    // mode (engine/core/cloudevent.h), and a dead letter keeps the original message.
    rd_kafka_timestamp_type_t ts_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    in.kafka =
        core::KafkaOrigin{config.topic, p, m->offset, rd_kafka_message_timestamp(m, &ts_type)};
    std::vector<internal::HeaderView> headers = internal::HeadersOf(m);
    in.headers.reserve(headers.size());
    for (const internal::HeaderView& h : headers)
      in.headers.emplace_back(h.name, h.value.value_or(std::string_view()));
    if (m->len > max_event_bytes) {
      in.oversized = true;
      in.bytes.assign(value.substr(0, kOversizedKeep));
    } else {
      if (config.trust_channel_headers) ReadChannel(headers, &in);
      in.bytes.assign(value);
    }
    it->second.eof = false;
    pending.push_back(std::move(in));
    pending_offsets.push_back(m->offset);
    return Got::kInput;
  }

  Result<size_t> Poll(size_t max, milliseconds wait, std::vector<core::RawInput>* out) {
    if (closed) return Status::InvalidArgument("Kafka source " + name + " is closed");
    if (!started) return Status::InvalidArgument("Kafka source " + name + ": Poll before Start");
    RETURN_IF_ERROR(error);
    // A commit that failed (e.g. while the broker was away) is sent again, at most once a
    // second, also when no new input comes to carry it.
    if (steady_clock::now() - last_commit_retry >= std::chrono::seconds(1)) {
      const steady_clock::time_point now = steady_clock::now();
      last_commit_retry = now;
      if (commits_wait_for_assignment && now - waiting_since >= kCommitWaitLimit) {
        commits_wait_for_assignment = false;
        Warn("commit", "Kafka source " + name +
                           ": no new assignment came after a refused commit; committing again");
      }
      for (auto& [p, st] : assigned) {
        if (st.commit_sent > st.commit_acked && now - st.sent_at >= kCommitAnswerLimit)
          st.commit_sent = st.commit_acked;  // unanswered: sent again below
      }
      const bool refresh = now < refresh_until && now - last_commit_refresh >= kCommitRefresh;
      if (refresh) last_commit_refresh = now;
      CommitAsync(refresh ? Have::kAll : Have::kSent);
    }
    last_positions.clear();
    pending.clear();
    pending_offsets.clear();
    rewound.clear();
    const steady_clock::time_point deadline = steady_clock::now() + wait;
    bool have_input = false;
    while (paused || pending.size() < max) {
      int timeout_ms = 0;
      if (!have_input) {
        auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now());
        timeout_ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, timeout_ms);
      if (!error.ok()) {
        // Raised by a callback inside this poll. Every message must be destroyed: one left
        // behind makes rd_kafka_destroy wait for it forever.
        if (m != nullptr) rd_kafka_message_destroy(m);
        return error;
      }
      if (m == nullptr) {
        // After the first input take only what has arrived: batches form under load only.
        if (have_input || steady_clock::now() >= deadline) break;
        continue;
      }
      Result<Got> got = Handle(m);
      rd_kafka_message_destroy(m);
      if (!got.ok()) return got.status();
      RETURN_IF_ERROR(error);
      if (*got == Got::kInput) have_input = true;
      if (*got == Got::kCaughtUp && !have_input) break;  // let the engine see it at once
    }

    last_positions = PendingPositions();
    size_t n = pending.size();
    for (core::RawInput& in : pending)
      out->push_back(std::move(in));
    pending.clear();
    pending_offsets.clear();
    return n;
  }

  void Committed(const core::Positions& positions) {
    if (rk == nullptr) return;
    bool any = false;
    for (const auto& [key, token] : positions) {
      if (key.size() <= key_prefix.size() || key.compare(0, key_prefix.size(), key_prefix) != 0) {
        continue;
      }
      int32_t partition = 0;
      int64_t offset = 0;
      if (!ParseDecimal(std::string_view(key).substr(key_prefix.size()), &partition) ||
          !ParseDecimal(std::string_view(token), &offset)) {
        continue;  // not one of ours
      }
      auto it = assigned.find(partition);
      if (it == assigned.end()) continue;
      it->second.committed = std::max(it->second.committed, offset);
      any = true;
    }
    if (any) CommitAsync();
  }

  Status Pause(bool pause) {
    if (rk == nullptr) return Status::InvalidArgument("Kafka source " + name + " is closed");
    if (pause == paused) return Status::OK();
    rd_kafka_topic_partition_list_t* list = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_assignment(rk, &list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("Kafka source " + name + ": " + internal::ErrorText(err));
    }
    internal::PartitionListPtr owned(list);
    if (owned->cnt > 0) {
      err = pause ? rd_kafka_pause_partitions(rk, owned.get())
                  : rd_kafka_resume_partitions(rk, owned.get());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::IOError("Kafka source " + name + ": " + (pause ? "pausing" : "resuming") +
                               " partitions: " + internal::ErrorText(err));
      }
    }
    paused = pause;
    return Status::OK();
  }

  // For each assigned partition with a stored position: the group's committed offset (from the
  // coordinator) is behind it. Empty when all have caught up; nullopt with *problem when the
  // coordinator did not answer.
  std::optional<std::string> Behind(std::string* problem) {
    if (assigned.empty()) return std::string();
    internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
    for (const auto& [p, st] : assigned)
      rd_kafka_topic_partition_list_add(list.get(), config.topic.c_str(), p);
    rd_kafka_resp_err_t err =
        rd_kafka_committed(rk, list.get(), static_cast<int>(kCommittedTimeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *problem = internal::ErrorText(err);
      return std::nullopt;
    }
    std::string behind;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *problem = "partition " + std::to_string(tp.partition) + ": " + internal::ErrorText(tp.err);
        return std::nullopt;
      }
      Result<std::optional<std::string>> stored = lookup(PositionKey(tp.partition));
      int64_t want = 0;
      if (!stored.ok()) {
        Raise(stored.status().WithContext("reading the stored position '" +
                                          PositionKey(tp.partition) + "'"));
        return std::string();
      }
      if (!stored->has_value() || !ParseDecimal(**stored, &want)) continue;
      auto it = assigned.find(tp.partition);
      if (it != assigned.end()) {
        // What the store holds is what the group must have (the engine delivered it first).
        it->second.committed = std::max(it->second.committed, want);
        if (tp.offset >= want) it->second.commit_acked = std::max(it->second.commit_acked, want);
      }
      if (tp.offset < want) {
        behind += " " + std::to_string(tp.partition) + ": " +
                  (tp.offset >= 0 ? std::to_string(tp.offset) : std::string("none")) + " of " +
                  std::to_string(want);
      }
    }
    return behind;
  }

  Status AwaitCommitted(milliseconds timeout) {
    if (!started || rk == nullptr)
      return Status::InvalidArgument("Kafka source " + name + " is not running");
    RETURN_IF_ERROR(Pause(true));
    const steady_clock::time_point deadline = steady_clock::now() + timeout;
    std::string state = "not asked yet";
    for (;;) {
      RETURN_IF_ERROR(error);
      std::string problem;
      std::optional<std::string> behind = Behind(&problem);
      RETURN_IF_ERROR(error);
      if (behind.has_value() && behind->empty()) return Status::OK();
      state = behind.has_value() ? "committed offsets behind the store:" + *behind
                                 : "the group coordinator did not answer: " + problem;
      if (steady_clock::now() >= deadline) break;
      Warn("await",
           "Kafka source " + name + ": waiting for group '" + config.group + "': " + state);
      // The offsets again, also those the group confirmed once (it may have lost or overwritten
      // them), then serve the consumer (commit results, rebalances) for a second.
      CommitAsync(Have::kAll);
      std::vector<core::RawInput> none;
      Result<size_t> n = Poll(1, std::chrono::seconds(1), &none);
      RETURN_IF_ERROR(n.status());
    }
    return Status::Unavailable("the group '" + config.group + "' did not confirm the offsets of " +
                               config.topic + " within " + std::to_string(timeout.count() / 1000) +
                               " s (" + state +
                               "); a later owner of those partitions publishes their events again");
  }

  Status Close() {
    if (rk == nullptr) return Status::OK();
    closed = true;
    // Leaving the group revokes the assignment through RebalanceCb (handler, commit).
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rk = nullptr;
    assigned.clear();
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("closing the Kafka consumer of " + config.topic + ": " +
                             internal::ErrorText(err));
    }
    return Status::OK();
  }
};

Result<std::unique_ptr<KafkaSource>> KafkaSource::Open(const KafkaConfig& config,
                                                       size_t max_event_bytes) {
  if (config.bootstrap.empty())
    return Status::InvalidArgument("Kafka source: no bootstrap servers");
  if (!IsValidTopicName(config.topic)) {
    return Status::InvalidArgument("Kafka source: '" + config.topic +
                                   "' is not a valid topic name");
  }
  if (config.group.empty()) return Status::InvalidArgument("Kafka source: no consumer group");

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->name = "kafka:" + config.topic;
  impl->key_prefix = impl->name + ":";
  impl->partitioner_key = impl->key_prefix + "partitioner";
  impl->max_event_bytes = max_event_bytes;

  const KafkaProperties defaults = {
      {"group.id", config.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "cooperative-sticky"},
  };
  KafkaProperties with_instance = defaults;
  if (!config.group_instance_id.empty())
    with_instance.emplace_back("group.instance.id", config.group_instance_id);
  ASSIGN_OR_RETURN(internal::ConfPtr conf,
                   internal::NewConf(config.bootstrap, with_instance,
                                     {&config.properties, &config.consumer_properties}));
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::RebalanceCb);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &Impl::OffsetCommitCb);
  ASSIGN_OR_RETURN(impl->rk, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  // Serve errors, logs and commit results from rd_kafka_consumer_poll as well.
  rd_kafka_resp_err_t err = rd_kafka_poll_set_consumer(impl->rk);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(impl->rk);
    return Status::Internal("rd_kafka_poll_set_consumer: " + internal::ErrorText(err));
  }
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSource::~KafkaSource() {
  impl_->revoke_handler = nullptr;
  Close().IgnoreError();  // a failed leave only delays the next rebalance
}

const std::string& KafkaSource::name() const {
  return impl_->name;
}

Status KafkaSource::Start(const core::PositionLookup& lookup) {
  if (impl_->rk == nullptr)
    return Status::InvalidArgument("Kafka source " + impl_->name + " is closed");
  if (impl_->started)
    return Status::InvalidArgument("Kafka source " + impl_->name + " already started");
  // The partitioner is the topic's: a store that read it with another one refuses to go on.
  if (lookup) {
    Result<std::optional<std::string>> stored = lookup(impl_->partitioner_key);
    if (!stored.ok()) {
      return stored.status().WithContext("reading the stored position '" + impl_->partitioner_key +
                                         "'");
    }
    if (stored->has_value()) {
      if (**stored != PartitionerName(impl_->config.partitioner))
        return impl_->PartitionerChanged(**stored);
      impl_->partitioner_stored = true;
    }
  }
  impl_->lookup = lookup;
  internal::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), impl_->config.topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(impl_->rk, topics.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("subscribing to " + impl_->config.topic + ": " +
                           internal::ErrorText(err));
  }
  impl_->started = true;
  return Status::OK();
}

Result<size_t> KafkaSource::Poll(size_t max, std::chrono::milliseconds wait,
                                 std::vector<core::RawInput>* out) {
  return impl_->Poll(max, wait, out);
}

void KafkaSource::PositionsAfterPoll(core::Positions* out) const {
  out->insert(out->end(), impl_->last_positions.begin(), impl_->last_positions.end());
}

void KafkaSource::Committed(const core::Positions& positions) {
  impl_->Committed(positions);
}

bool KafkaSource::CaughtUp() const {
  return impl_->CaughtUp();
}

std::optional<uint32_t> KafkaSource::CaseLane(std::string_view case_id) const {
  if (impl_->partition_count <= 0) return std::nullopt;
  return static_cast<uint32_t>(
      PartitionOf(impl_->config.partitioner, case_id, impl_->partition_count));
}

bool KafkaSource::OwnsLane(uint32_t lane) const {
  return impl_->assigned.count(static_cast<int32_t>(lane)) != 0;
}

uint64_t KafkaSource::LaneGeneration() const {
  return impl_->lane_generation;
}

void KafkaSource::BusyLanes(std::vector<uint32_t>* out) const {
  out->clear();
  for (const auto& [p, st] : impl_->assigned) {
    if (!st.eof) out->push_back(static_cast<uint32_t>(p));
  }
}

Status KafkaSource::Pause(bool paused) {
  return impl_->Pause(paused);
}

void KafkaSource::SetRevokeHandler(RevokeHandler handler) {
  impl_->revoke_handler = std::move(handler);
}

Status KafkaSource::AwaitCommitted(std::chrono::milliseconds timeout) {
  return impl_->AwaitCommitted(timeout);
}

Status KafkaSource::Close() {
  return impl_->Close();
}

std::string KafkaSource::PositionKey(int32_t partition) const {
  return impl_->PositionKey(partition);
}

}  // namespace amtsweg::connectors
