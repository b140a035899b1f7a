#include "engine/core/batch_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>

#include "engine/core/case_index.h"
#include "engine/core/cloudevent.h"
#include "engine/core/destination.h"
#include "engine/runtime/projection.h"

namespace amtsweg::core {

namespace {

constexpr size_t kMaxDeadLetterRaw = size_t{64} * 1024;

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

}  // namespace

struct BatchWriter::Pending {
  struct CaseWork {
    WorkingCase work;
    bool existed = false;
    std::vector<std::string> old_index;
    // The cache entry the state was taken from (its value moved into `work.state`), reused to put
    // the state back on commit; empty when the state came from the store or is new.
    std::unordered_map<std::string, runtime::CaseState>::node_type cache_node;
  };
  std::unordered_map<std::string, CaseWork> cases;
  std::vector<std::string> order;
  std::unordered_set<std::string> seen;
  TimerChanges timer_changes;
  std::unordered_set<std::string> erased;   // cases erased by this batch
  std::vector<store::OutboxEntry> notices;  // erasure notices, kept when the rest is dropped
  store::Batch batch;
  EngineStats counts;
  Status error;  // first store failure while building the batch
};

BatchWriter::BatchWriter(store::Store& store, const dsl::Directory& directory,
                         BatchWriterOptions options)
    : store_(store), directory_(directory), options_(std::move(options)) {}

BatchWriter::~BatchWriter() = default;

void BatchWriter::Begin() {
  pending_ = std::make_unique<Pending>();
}

void BatchWriter::Abandon() {
  // Nothing of the batch was stored: forget the cached states taken out for it.
  pending_.reset();
  if (options_.keys != nullptr) options_.keys->DropNew();
  cache_.clear();
}

bool BatchWriter::SeenInBatch(const std::string& seen_key) const {
  return pending_->seen.count(seen_key) > 0;
}

void BatchWriter::AddSeen(std::string seen_key) {
  pending_->seen.insert(seen_key);
  pending_->batch.seen_ids.push_back(std::move(seen_key));
}

TimerChanges& BatchWriter::timer_changes() {
  return pending_->timer_changes;
}

EngineStats& BatchWriter::counts() {
  return pending_->counts;
}

void BatchWriter::Fail(Status error) {
  if (pending_->error.ok()) pending_->error = std::move(error);
}

const Status& BatchWriter::error() const {
  return pending_->error;
}

Result<std::optional<runtime::CaseState>> BatchWriter::LoadCase(const std::string& case_id) const {
  if (auto it = cache_.find(case_id); it != cache_.end()) return std::optional(it->second);
  return LoadCaseState(store_, case_id, /*with_application=*/true, options_.keys);
}

BatchWriter::WorkingCase* BatchWriter::Working(const std::string& case_id, bool* found) {
  auto it = pending_->cases.find(case_id);
  if (it != pending_->cases.end()) {
    *found = it->second.work.state.seq > 0;
    return &it->second.work;
  }
  Pending::CaseWork work;
  if (options_.keys != nullptr) {
    Result<SealerRef> sealer = options_.keys->SealerOf(case_id);
    if (!sealer.ok()) {
      Fail(sealer.status());
      return nullptr;
    }
    work.work.sealer = std::move(sealer).value();
  }
  if (auto cached = cache_.find(case_id); cached != cache_.end()) {
    // Taken out of the cache, not copied: Write puts it back after a successful write (a failed
    // batch clears the cache anyway).
    work.cache_node = cache_.extract(cached);
    work.work.state = std::move(work.cache_node.mapped());
    work.existed = true;
  } else {
    Result<std::optional<runtime::CaseState>> loaded =
        LoadCaseState(store_, case_id, /*with_application=*/true, work.work.sealer.get());
    if (!loaded.ok()) {
      Fail(loaded.status());
      return nullptr;
    }
    if (loaded->has_value()) {
      work.work.state = std::move(**loaded);
      work.existed = true;
    }
  }
  if (work.existed) work.old_index = IndexKeys(work.work.state);
  // A case that does not exist yet gets its key now: its first events are sealed as they are
  // encoded. The key is kept only if the case opens (Write).
  if (!work.existed && options_.keys != nullptr && work.work.sealer == nullptr)
    work.work.sealer = options_.keys->NewKey(case_id);
  *found = work.existed;
  pending_->order.push_back(case_id);
  return &pending_->cases.emplace(case_id, std::move(work)).first->second.work;
}

void BatchWriter::AddDeadLetter(const RawInput& raw, const std::string& source_name,
                                std::string_view kind, const std::string& reason, Timestamp at) {
  store::DeadLetter d;
  d.at = at;
  d.source = source_name;
  d.position = raw.where;
  d.kind = kind;
  d.reason = d.kind + ": " + reason;
  spdlog::info("dead letter: {} {}: {}", source_name, raw.where, d.reason);
  d.raw = raw.bytes.size() > kMaxDeadLetterRaw ? raw.bytes.substr(0, kMaxDeadLetterRaw) : raw.bytes;
  d.headers = raw.headers;
  if (!options_.dead_letter_destination.empty() && !raw.replay) {
    // The original message (value and headers as read: binary mode stays binary mode) with the
    // error headers; no content-type the input did not have.
    store::OutboxEntry entry;
    entry.destination = options_.dead_letter_destination;
    entry.key = raw.key.value_or("");
    entry.id = source_name + " " + raw.where;
    entry.headers.reserve(raw.headers.size() + 9);
    for (const auto& h : raw.headers) {
      if (h.first.rfind(error_header::kPrefix, 0) != 0) entry.headers.push_back(h);
    }
    entry.headers.emplace_back(error_header::kKind, d.kind);
    entry.headers.emplace_back(error_header::kReason, d.reason);
    entry.headers.emplace_back(error_header::kSource, source_name);
    entry.headers.emplace_back(error_header::kPosition, raw.where);
    if (raw.kafka.has_value()) {
      entry.headers.emplace_back(error_header::kTopic, raw.kafka->topic);
      entry.headers.emplace_back(error_header::kPartition, std::to_string(raw.kafka->partition));
      entry.headers.emplace_back(error_header::kOffset, std::to_string(raw.kafka->offset));
      if (raw.kafka->timestamp_ms >= 0) {
        entry.headers.emplace_back(error_header::kTimestamp,
                                   std::to_string(raw.kafka->timestamp_ms));
      }
    }
    entry.headers.emplace_back(error_header::kSize, std::to_string(raw.size));
    entry.payload = d.raw;
    pending_->batch.outbox.push_back(std::move(entry));
  }
  pending_->batch.dead.push_back(std::move(d));
}

void BatchWriter::AddAuditReference(const std::string& case_id, uint64_t from, uint64_t to) {
  std::vector<store::OutboxEntry>& outbox = pending_->batch.outbox;
  if (!outbox.empty()) {
    store::OutboxEntry& last = outbox.back();
    if (last.is_reference() && last.key == case_id && last.event_to + 1 == from) {
      last.event_to = to;
      return;
    }
  }
  store::OutboxEntry ref;
  ref.destination = options_.audit_destination;
  ref.key = case_id;
  ref.event_from = from;
  ref.event_to = to;
  outbox.push_back(std::move(ref));
}

void BatchWriter::AddOutbox(const runtime::CaseState& s, const runtime::DomainEvent& e) {
  if (!runtime::IsDisclosure(e)) return;
  const std::string& org_id = runtime::RecipientOf(e);
  if (org_id.empty()) return;
  const dsl::Organisation* org = directory_.Find(org_id);
  store::OutboxEntry entry;
  entry.destination = org != nullptr ? OrganisationDestination(*org) : "amtsweg.org." + org_id;
  entry.key = s.id;
  // The disclosure of event seq to the organisation: not the audit stream's id of the domain
  // event itself (`<case id>/<seq>`), whose data differ (docs/events.md, "Identity").
  entry.id = ParticipantEventId(s.id, e.seq, org_id);
  // The data object, written straight to JSON: the case's workflow and the recipient's view of
  // the disclosure (runtime/projection.h: the values of the disclosed fields).
  std::string& data = outbox_data_;
  data.clear();
  data.append(R"({"workflow":)");
  AppendJsonString(s.workflow, &data);
  data.append(R"(,"version":)");
  AppendInt(s.version, &data);
  data.append(R"(,"leika":)");
  AppendJsonString(s.leika, &data);
  data.append(R"(,"seq":)");
  AppendInt(static_cast<int64_t>(e.seq), &data);
  runtime::AppendRecipientViewJson(s.application, e, &data);
  data.push_back('}');
  std::string type = "de.amtsweg.";
  type += runtime::DomainTypeName(e.type);
  entry.payload = EncodeCloudEventJson(entry.id, options_.outbox_source, type, s.id, e.time, data);
  pending_->batch.outbox.push_back(std::move(entry));
}

void BatchWriter::MarkErased(const std::string& case_id) {
  pending_->erased.insert(case_id);
}

void BatchWriter::AddErasureNotice(const runtime::CaseState& s, const runtime::DomainEvent& e,
                                   const std::string& organisation) {
  const auto* erased = e.As<runtime::CaseErased>();
  if (erased == nullptr) return;
  const dsl::Organisation* org = directory_.Find(organisation);
  store::OutboxEntry entry;
  entry.destination =
      org != nullptr ? OrganisationDestination(*org) : "amtsweg.org." + organisation;
  entry.key = s.id;
  entry.id = ParticipantEventId(s.id, e.seq, organisation);
  std::string data = R"({"workflow":)";
  AppendJsonString(s.workflow, &data);
  data.append(R"(,"version":)");
  AppendInt(s.version, &data);
  data.append(R"(,"leika":)");
  AppendJsonString(s.leika, &data);
  data.append(R"(,"seq":)");
  AppendInt(static_cast<int64_t>(e.seq), &data);
  data.append(R"(,"erased_at":)");
  AppendJsonString(FormatTimestamp(e.time), &data);
  data.append(R"(,"basis":)");
  AppendJsonString(erased->basis, &data);
  data.append(R"(,"message":"The personal data of this case that you received has been erased; )"
              R"(erase your copies as far as you are obliged to (Art. 19 GDPR).")");
  data.push_back('}');
  std::string type = "de.amtsweg.";
  type += runtime::DomainTypeName(e.type);
  entry.payload = EncodeCloudEventJson(entry.id, options_.outbox_source, type, s.id, e.time, data);
  pending_->notices.push_back(std::move(entry));
}

void BatchWriter::Stage(const Positions& positions) {
  Pending& p = *pending_;
  if (!p.erased.empty()) {
    // Nothing of an erased case's personal data is sent after its erasure: its waiting entries
    // go (references to its events stay: they are read from the log, now sealed for good).
    auto carries_data = [&p](const store::OutboxEntry& e) {
      return !e.is_reference() && p.erased.count(e.key) > 0;
    };
    std::erase_if(p.batch.outbox, carries_data);
    Status scanned = store_.ScanOutbox([&](const store::OutboxEntry& e) {
      if (carries_data(e)) p.batch.outbox_delete.push_back(e.seq);
      return true;
    });
    if (!scanned.ok()) Fail(scanned);
    p.batch.erasures.assign(p.erased.begin(), p.erased.end());
    std::sort(p.batch.erasures.begin(), p.batch.erasures.end());
  }
  for (store::OutboxEntry& notice : p.notices)
    p.batch.outbox.push_back(std::move(notice));
  p.notices.clear();
  for (const std::string& id : p.order) {
    Pending::CaseWork& work = p.cases[id];
    if (work.work.events.empty()) continue;
    store::CaseWrite w;
    w.case_id = id;
    w.events = std::move(work.work.events);
    w.snapshot = work.work.sealer != nullptr
                     ? runtime::EncodeSealedSnapshot(work.work.state, *work.work.sealer)
                     : runtime::EncodeSnapshot(work.work.state);
    std::vector<std::string> now = IndexKeys(work.work.state);
    std::set_difference(now.begin(), now.end(), work.old_index.begin(), work.old_index.end(),
                        std::back_inserter(w.index_add));
    std::set_difference(work.old_index.begin(), work.old_index.end(), now.begin(), now.end(),
                        std::back_inserter(w.index_remove));
    p.batch.cases.push_back(std::move(w));
  }
  for (const auto& [key, add] : p.timer_changes) {
    store::Timer t{std::get<0>(key), std::get<1>(key), std::get<2>(key)};
    (add ? p.batch.timers_add : p.batch.timers_remove).push_back(std::move(t));
  }
  for (const auto& position : positions)
    p.batch.positions.push_back(position);
}

bool BatchWriter::StagedEmpty() const {
  return pending_->batch.empty();
}

Result<BatchWriter::Written> BatchWriter::Write(std::optional<Timestamp> clock) {
  Pending& p = *pending_;
  Written written;
  written_erasures_.clear();
  if (!p.error.ok()) return p.error;
  p.batch.clock = clock;
  if (options_.keys != nullptr) {
    // The keys of the cases this batch opens are kept before anything is sealed under them in
    // the store (case_keys.h).
    std::vector<std::string> opened;
    for (const auto& [id, work] : p.cases) {
      if (!work.existed && work.work.state.seq > 0) opened.push_back(id);
    }
    if (Status kept = options_.keys->PersistNew(opened); !kept.ok()) {
      spdlog::error("keeping the data keys of {} new case(s) failed, nothing stored: {}",
                    opened.size(), kept.ToString());
      return kept;
    }
  }
  if (!p.batch.empty()) {
    auto start = std::chrono::steady_clock::now();
    Result<store::CommitResult> committed = store_.Commit(p.batch);
    commit_us_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::steady_clock::now() - start)
                                            .count());
    if (!committed.ok()) {
      spdlog::error("commit of {} case(s) failed, nothing stored: {}", p.batch.cases.size(),
                    committed.status().ToString());
      return committed.status();
    }
    written.stored = true;
    written_erasures_ = p.batch.erasures;
    written.last_outbox_seq = committed->last_outbox_seq;
    written.outbox_entries = p.batch.outbox.size();
  }
  if (cache_.size() + p.cases.size() > options_.case_cache_entries) cache_.clear();
  for (auto& [id, work] : p.cases) {
    if (work.work.state.seq == 0) continue;
    if (work.cache_node) {
      work.cache_node.mapped() = std::move(work.work.state);
      cache_.insert(std::move(work.cache_node));
    } else {
      cache_[id] = std::move(work.work.state);
    }
  }
  written.counts = p.counts;
  pending_.reset();
  return written;
}

}  // namespace amtsweg::core
