// The RocksDB store. Key and value layouts: engine/store/codec.h and README.md.
#include "engine/store/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "engine/store/codec.h"
#include "engine/store/internal/backup.h"
#include "engine/store/internal/rocks_status.h"

namespace amtsweg::store {
namespace {

using rocksdb::ColumnFamilyHandle;
using rocksdb::Slice;

Slice ToSlice(std::string_view s) {
  return Slice(s.data(), s.size());
}
std::string_view ToView(const Slice& s) {
  return std::string_view(s.data(), s.size());
}

using internal::FromRocks;

std::string CaseContext(std::string_view case_id) {
  std::string s("case ");
  s += case_id;
  return s;
}

rocksdb::CompressionType PickCompression(rocksdb::CompressionType preferred) {
  auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), preferred) != supported.end()) {
    return preferred;
  }
  return rocksdb::kNoCompression;
}

// Memtable insert hints: the prefix of a key is all but its last 8 bytes. Event keys (case id,
// NUL, seq) of one case and outbox / dead-letter keys (a seq alone, so one empty prefix) are
// written in ascending order, so each insert lands right after the previous one with the same
// prefix; the hint saves the skiplist search, a large share of the commit path's CPU.
class StripSeqTransform : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "amtsweg.StripSeq"; }
  Slice Transform(const Slice& key) const override { return Slice(key.data(), key.size() - 8); }
  bool InDomain(const Slice& key) const override { return key.size() >= 8; }
};

// Per-family tuning. Events are an append-only log read by range scans of one case, so they get
// big write buffers and blocks and no filter (point lookups go to `cases`). Cases and seen are
// answered by point lookups, so they get bloom filters. Everything shares one block cache.
rocksdb::ColumnFamilyOptions FamilyOptions(std::string_view name,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.compaction_style = rocksdb::kCompactionStyleLevel;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = PickCompression(rocksdb::kLZ4Compression);
  cf.bottommost_compression = PickCompression(rocksdb::kZSTD);
  const bool is_events = name == codec::kEvents;
  cf.write_buffer_size = is_events ? (64u << 20) : (16u << 20);
  cf.max_write_buffer_number = 3;
  cf.target_file_size_base = 64u << 20;
  if (is_events || name == codec::kOutbox || name == codec::kDead) {
    cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<StripSeqTransform>();
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = is_events ? (16u << 10) : (4u << 10);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  if (name == codec::kCases || name == codec::kSeen) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// The smallest string greater than every string starting with `prefix`; empty when none.
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<uint8_t>(s.back()) == 0xff)
    s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
  return s;
}

Status ValidateTimer(const Timer& t, std::string_view what) {
  if (t.due < 0) {
    return Status::InvalidArgument(std::string(what) + ": negative due time for case " + t.case_id);
  }
  return codec::ValidateCaseId(t.case_id).WithContext(what);
}

}  // namespace

std::string_view CrashPointName(CrashPoint p) {
  switch (p) {
    case CrashPoint::kBeforeBatchBuilt:
      return "before_batch_built";
    case CrashPoint::kAfterEventsStaged:
      return "after_events_staged";
    case CrashPoint::kAfterOutboxStaged:
      return "after_outbox_staged";
    case CrashPoint::kBeforeWrite:
      return "before_write";
    case CrashPoint::kAfterWrite:
      return "after_write";
    case CrashPoint::kAfterOutboxDelete:
      return "after_outbox_delete";
  }
  return "unknown";
}

std::optional<CrashPoint> ParseCrashPoint(std::string_view name) {
  for (CrashPoint p : {CrashPoint::kBeforeBatchBuilt, CrashPoint::kAfterEventsStaged,
                       CrashPoint::kAfterOutboxStaged, CrashPoint::kBeforeWrite,
                       CrashPoint::kAfterWrite, CrashPoint::kAfterOutboxDelete}) {
    if (CrashPointName(p) == name) return p;
  }
  return std::nullopt;
}

struct Store::Impl {
  Options options;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<ColumnFamilyHandle*> handles;  // owned; released in ~Impl
  ColumnFamilyHandle* events = nullptr;
  ColumnFamilyHandle* cases = nullptr;
  ColumnFamilyHandle* index = nullptr;
  ColumnFamilyHandle* timers = nullptr;
  ColumnFamilyHandle* outbox = nullptr;
  ColumnFamilyHandle* meta = nullptr;
  ColumnFamilyHandle* dead = nullptr;
  ColumnFamilyHandle* seen = nullptr;
  ColumnFamilyHandle* access = nullptr;
  std::mutex access_mu;  // serialises AppendAccess; guards access_seq
  std::mutex backup_mu;  // serialises CreateBackup
  uint64_t access_seq = 0;
  // Last assigned seqs; written only by the writer thread, read by StatsSummary.
  std::atomic<uint64_t> outbox_seq{0};
  std::atomic<uint64_t> dead_seq{0};
  // The committed engine clock; written and read only by the writer thread (Commit).
  std::optional<Timestamp> clock;
  std::function<void(CrashPoint)> crash_hook;

  ~Impl() {
    if (!db) return;
    for (ColumnFamilyHandle* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    // Close() flushes nothing we need (the WAL is durable); its status has no one to go to.
    db->Close().PermitUncheckedError();
  }

  void Crash(CrashPoint p) const {
    if (crash_hook) crash_hook(p);
  }

  Status FaultBeforeWrite(std::string_view what) const {
    if (!options.fault_before_write_for_test) return Status::OK();
    return options.fault_before_write_for_test().WithContext(what);
  }

  Status Write(rocksdb::WriteBatch* batch, std::string_view what, bool sync = true) const {
    RETURN_IF_ERROR(FaultBeforeWrite(what));
    rocksdb::WriteOptions wo;
    wo.sync = options.sync && sync;
    return FromRocks(db->Write(wo, batch), what);
  }

  // Last assigned seq: the larger of the persisted counter and the last key of the family (the
  // key check guards against a counter that was lost while entries survived).
  Result<uint64_t> LoadCounter(std::string_view meta_key, ColumnFamilyHandle* cf) const {
    uint64_t counter = 0;
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, ToSlice(meta_key), &value);
    if (s.ok()) {
      std::string_view in(value);
      if (!codec::GetFixed64BE(&in, &counter) || !in.empty()) {
        return Status::Corruption("meta " + std::string(meta_key) + ": bad counter");
      }
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading meta " + std::string(meta_key));
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekToLast();
    if (it->Valid()) {
      std::string_view key = ToView(it->key());
      uint64_t last = 0;
      if (!codec::GetFixed64BE(&key, &last)) {
        return Status::Corruption(std::string(meta_key) + ": bad key in column family");
      }
      counter = std::max(counter, last);
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scanning for " + std::string(meta_key)));
    return counter;
  }

  Result<std::optional<Timestamp>> ReadClock() const {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, ToSlice(codec::kMetaClock), &value);
    if (s.IsNotFound()) return std::optional<Timestamp>();
    RETURN_IF_ERROR(FromRocks(s, "reading the clock"));
    Timestamp stored = 0;
    if (!codec::ParseClockValue(value, &stored)) return Status::Corruption("meta clock: bad value");
    return std::optional<Timestamp>(stored);
  }

  Status CheckSchema() const {
    std::string value;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), meta, ToSlice(codec::kMetaSchemaVersion), &value);
    if (s.ok()) {
      if (value != codec::kSchemaVersion) {
        return Status::Corruption("unsupported schema version '" + value + "' (this build reads " +
                                  std::string(codec::kSchemaVersion) + ")");
      }
      return Status::OK();
    }
    if (!s.IsNotFound()) return FromRocks(s, "reading schema version");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(
        db->Put(wo, meta, ToSlice(codec::kMetaSchemaVersion), ToSlice(codec::kSchemaVersion)),
        "writing schema version");
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const Options& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.avoid_flush_during_shutdown = false;
  db_options.bytes_per_sync = 1u << 20;
  // Quiet families (meta, dead) would otherwise pin old WAL files forever.
  db_options.max_total_wal_size = 256u << 20;
  db_options.keep_log_file_num = 5;

  const std::vector<std::string_view> ours = {codec::kEvents, codec::kCases,  codec::kIndex,
                                              codec::kTimers, codec::kOutbox, codec::kMeta,
                                              codec::kDead,   codec::kSeen,   codec::kAccess};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           FamilyOptions("default", impl->cache));
  for (std::string_view name : ours) {
    descriptors.emplace_back(std::string(name), FamilyOptions(name, impl->cache));
  }
  // Families from a newer build are opened too (RocksDB refuses to open without them).
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    for (const std::string& name : existing) {
      bool known = std::any_of(descriptors.begin(), descriptors.end(),
                               [&](const auto& d) { return d.name == name; });
      if (!known) descriptors.emplace_back(name, FamilyOptions(name, impl->cache));
    }
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &raw);
  if (!s.ok() && s.IsIOError() && s.ToString().find("lock file") != std::string::npos) {
    // RocksDB's flock on DIR/LOCK: another process (an engine, a server) has the store open.
    return Status::Unavailable("the store " + path +
                               " is in use by another process (its LOCK is held: " + s.ToString() +
                               "); stop that process, or use the HTTP API of the engine that "
                               "runs on it (`run --listen`)");
  }
  if (!s.ok()) return FromRocks(s, "opening store " + path);
  impl->db.reset(raw);
  impl->events = impl->handles[1];
  impl->cases = impl->handles[2];
  impl->index = impl->handles[3];
  impl->timers = impl->handles[4];
  impl->outbox = impl->handles[5];
  impl->meta = impl->handles[6];
  impl->dead = impl->handles[7];
  impl->seen = impl->handles[8];
  impl->access = impl->handles[9];

  RETURN_IF_ERROR(impl->CheckSchema().WithContext("opening store " + path));
  ASSIGN_OR_RETURN(uint64_t outbox_seq, impl->LoadCounter(codec::kMetaOutboxSeq, impl->outbox));
  ASSIGN_OR_RETURN(uint64_t dead_seq, impl->LoadCounter(codec::kMetaDeadSeq, impl->dead));
  impl->outbox_seq = outbox_seq;
  impl->dead_seq = dead_seq;
  ASSIGN_OR_RETURN(impl->clock, impl->ReadClock());
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(rocksdb::ReadOptions(), impl->access));
    it->SeekToLast();
    if (it->Valid()) {
      std::string_view key = ToView(it->key());
      if (!codec::GetFixed64BE(&key, &impl->access_seq)) {
        return Status::Corruption("opening store " + path + ": bad key in access log");
      }
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "opening store " + path + ": access log"));
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<CommitResult> Store::Commit(const Batch& batch) {
  Impl& m = *impl_;
  for (size_t i = 0; i < batch.cases.size(); ++i) {
    RETURN_IF_ERROR(codec::ValidateCaseId(batch.cases[i].case_id)
                        .WithContext("Commit: case write " + std::to_string(i)));
  }
  for (const Timer& t : batch.timers_add)
    RETURN_IF_ERROR(ValidateTimer(t, "Commit: timer"));
  for (const Timer& t : batch.timers_remove)
    RETURN_IF_ERROR(ValidateTimer(t, "Commit: timer"));
  if (batch.clock.has_value() && m.clock.has_value() && *batch.clock < *m.clock) {
    return Status::InvalidArgument("Commit: the clock would move backwards, from " +
                                   FormatTimestamp(*m.clock) + " to " +
                                   FormatTimestamp(*batch.clock));
  }
  if (batch.empty()) return CommitResult{};

  m.Crash(CrashPoint::kBeforeBatchBuilt);

  // Chain heads: from the caller where it knows them, else one MultiGet for the distinct cases.
  std::unordered_map<std::string_view, ChainHead> heads;
  heads.reserve(batch.cases.size());
  std::vector<Slice> to_read;
  for (const CaseWrite& cw : batch.cases) {
    auto [it, inserted] = heads.try_emplace(cw.case_id);
    if (!inserted) continue;
    if (cw.known_head) {
      it->second = *cw.known_head;
    } else {
      to_read.push_back(ToSlice(cw.case_id));
    }
  }
  if (!to_read.empty()) {
    std::vector<rocksdb::PinnableSlice> values(to_read.size());
    std::vector<rocksdb::Status> statuses(to_read.size());
    m.db->MultiGet(rocksdb::ReadOptions(), m.cases, to_read.size(), to_read.data(), values.data(),
                   statuses.data());
    for (size_t i = 0; i < to_read.size(); ++i) {
      std::string_view id = ToView(to_read[i]);
      if (statuses[i].IsNotFound()) continue;  // new case: 0 / genesis
      RETURN_IF_ERROR(FromRocks(statuses[i], "Commit: reading " + CaseContext(id)));
      CaseRecord record;
      if (!codec::ParseCaseValue(ToView(values[i]), &record)) {
        return Status::Corruption("Commit: " + CaseContext(id) + ": undecodable case record");
      }
      heads[id] = ChainHead{record.last_seq, record.head};
    }
  }

  // Reserve the batch's size up front (payloads dominate it), so that it is not regrown.
  size_t reserve = 64;
  for (const CaseWrite& cw : batch.cases) {
    reserve += cw.snapshot.size() + 96;
    for (const std::string& event : cw.events)
      reserve += event.size() + cw.case_id.size() + 64;
  }
  for (const OutboxEntry& e : batch.outbox)
    reserve += e.payload.size() + e.destination.size() + e.key.size() + e.id.size() + 48;
  for (const std::string& id : batch.seen_ids)
    reserve += id.size() + 16;
  rocksdb::WriteBatch wb(reserve);
  CommitResult result;
  result.heads.reserve(batch.cases.size());
  // Values are handed to the batch in parts (header, then the caller's bytes), so that payloads
  // are copied once, into the batch, rather than first into a temporary value string.
  std::string key_buf, head;
  for (const CaseWrite& cw : batch.cases) {
    ChainHead& h = heads[cw.case_id];
    for (const std::string& event : cw.events) {
      ++h.last_seq;
      h.head = ChainHash(h.head, event);
      key_buf = codec::EventKey(cw.case_id, h.last_seq);
      head = codec::EventValue(h.head, {});
      Slice key_slice(key_buf);
      Slice parts[] = {Slice(head), ToSlice(event)};
      wb.Put(m.events, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
    }
    result.heads.push_back({h.last_seq, h.head});
  }
  m.Crash(CrashPoint::kAfterEventsStaged);

  for (size_t i = 0; i < batch.cases.size(); ++i) {
    const CaseWrite& cw = batch.cases[i];
    head = codec::CaseValue(CaseRecord{{}, result.heads[i].last_seq, result.heads[i].head});
    Slice key_slice = ToSlice(cw.case_id);
    Slice parts[] = {Slice(head), Slice(cw.snapshot)};
    wb.Put(m.cases, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
    // Removes before adds, so "remove k, add k" (an unchanged entry) leaves k present.
    for (const std::string& key : cw.index_remove)
      wb.Delete(m.index, key);
    for (const std::string& key : cw.index_add)
      wb.Put(m.index, key, Slice());
  }
  for (const Timer& t : batch.timers_remove)
    wb.Delete(m.timers, codec::TimerKey(t));
  for (const Timer& t : batch.timers_add)
    wb.Put(m.timers, codec::TimerKey(t), Slice());
  uint64_t outbox_seq = m.outbox_seq;
  for (const OutboxEntry& e : batch.outbox) {
    key_buf = codec::SeqKey(++outbox_seq);
    OutboxEntry header{0, e.destination, e.key, e.id, {}, e.headers, e.event_from, e.event_to};
    head = codec::OutboxValue(header);
    Slice key_slice(key_buf);
    Slice parts[] = {Slice(head), Slice(e.payload)};
    wb.Put(m.outbox, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
  }
  m.Crash(CrashPoint::kAfterOutboxStaged);

  uint64_t dead_seq = m.dead_seq;
  for (const DeadLetter& d : batch.dead) {
    wb.Put(m.dead, codec::SeqKey(++dead_seq), codec::DeadValue(d));
  }
  for (const std::string& id : batch.seen_ids)
    wb.Put(m.seen, id, Slice());
  for (const auto& [source, position] : batch.positions) {
    wb.Put(m.meta, codec::PositionKey(source), position);
  }
  if (outbox_seq != m.outbox_seq) {
    wb.Put(m.meta, ToSlice(codec::kMetaOutboxSeq), codec::SeqKey(outbox_seq));
  }
  if (dead_seq != m.dead_seq) {
    wb.Put(m.meta, ToSlice(codec::kMetaDeadSeq), codec::SeqKey(dead_seq));
  }
  const bool clock_moved = batch.clock.has_value() && batch.clock != m.clock;
  if (clock_moved) wb.Put(m.meta, ToSlice(codec::kMetaClock), codec::ClockValue(*batch.clock));
  for (uint64_t seq : batch.outbox_delete)
    wb.Delete(m.outbox, codec::SeqKey(seq));
  for (const std::string& id : batch.erasures)
    wb.Put(m.meta, std::string(codec::kMetaErasurePrefix) + id, Slice());
  m.Crash(CrashPoint::kBeforeWrite);

  RETURN_IF_ERROR(m.Write(&wb, "Commit"));
  // Only now, so that a failed write leaves the counters (and the clock) as they were.
  m.outbox_seq = outbox_seq;
  m.dead_seq = dead_seq;
  if (clock_moved) m.clock = batch.clock;
  result.last_outbox_seq = outbox_seq;
  m.Crash(CrashPoint::kAfterWrite);
  return result;
}

Result<std::optional<CaseRecord>> Store::GetCase(std::string_view case_id) const {
  std::string value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cases, ToSlice(case_id), &value);
  if (s.IsNotFound()) return std::optional<CaseRecord>();
  RETURN_IF_ERROR(FromRocks(s, "reading " + CaseContext(case_id)));
  CaseRecord record;
  if (!codec::ParseCaseValue(value, &record)) {
    return Status::Corruption(CaseContext(case_id) + ": undecodable case record");
  }
  return std::optional<CaseRecord>(std::move(record));
}

Status Store::ScanEvents(std::string_view case_id, uint64_t from_seq, uint64_t to_seq,
                         const std::function<bool(const EventRecord&)>& fn) const {
  RETURN_IF_ERROR(codec::ValidateCaseId(case_id).WithContext("ScanEvents"));
  if (from_seq > to_seq) return Status::OK();
  const std::string lower = codec::EventKey(case_id, from_seq);
  const std::string upper = to_seq == std::numeric_limits<uint64_t>::max()
                                ? codec::EventKeyEnd(case_id)
                                : codec::EventKey(case_id, to_seq + 1);
  Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->events));
  EventRecord record;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    std::string_view id;
    std::string_view payload;
    if (!codec::ParseEventKey(ToView(it->key()), &id, &record.seq) ||
        !codec::ParseEventValue(ToView(it->value()), &record.hash, &payload)) {
      return Status::Corruption(CaseContext(case_id) + ": undecodable event");
    }
    record.payload.assign(payload);
    if (!fn(record)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning events of " + CaseContext(case_id));
}

Status Store::ScanCases(const std::function<bool(std::string_view, const CaseRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cases));
  CaseRecord record;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!codec::ParseCaseValue(ToView(it->value()), &record)) {
      return Status::Corruption(CaseContext(ToView(it->key())) + ": undecodable case record");
    }
    if (!fn(ToView(it->key()), record)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning cases");
}

Status Store::ScanIndex(std::string_view prefix,
                        const std::function<bool(std::string_view key)>& fn) const {
  const std::string upper = PrefixSuccessor(prefix);
  Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->index));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!key.starts_with(prefix)) break;
    if (!fn(key)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning index");
}

Status Store::DueTimers(Timestamp upto, const std::function<bool(const Timer&)>& fn) const {
  if (upto < 0) return Status::OK();
  const std::string upper = codec::SeqKey(static_cast<uint64_t>(upto) + 1);
  Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->timers));
  Timer timer;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!codec::ParseTimerKey(ToView(it->key()), &timer)) {
      return Status::Corruption("undecodable timer key");
    }
    if (!fn(timer)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning timers");
}

Result<std::optional<Timer>> Store::NextTimer() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->timers));
  it->SeekToFirst();
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocks(it->status(), "reading next timer"));
    return std::optional<Timer>();
  }
  Timer timer;
  if (!codec::ParseTimerKey(ToView(it->key()), &timer)) {
    return Status::Corruption("undecodable timer key");
  }
  return std::optional<Timer>(std::move(timer));
}

Status Store::ScanOutbox(const std::function<bool(const OutboxEntry&)>& fn) const {
  return ScanOutbox(0, fn);
}

Status Store::ScanOutbox(uint64_t from_seq,
                         const std::function<bool(const OutboxEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->outbox));
  OutboxEntry entry;
  std::string start;
  codec::PutFixed64BE(from_seq, &start);
  for (it->Seek(start); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!codec::GetFixed64BE(&key, &entry.seq) ||
        !codec::ParseOutboxValue(ToView(it->value()), &entry)) {
      return Status::Corruption("undecodable outbox entry");
    }
    if (!fn(entry)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning outbox");
}

Result<uint64_t> Store::OutboxSize() const {
  // The outbox is drained continuously, so counting its keys is cheap.
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->outbox));
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    ++n;
  RETURN_IF_ERROR(FromRocks(it->status(), "counting outbox"));
  return n;
}

Status Store::ScanDeadLetters(const std::function<bool(const DeadLetter&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->dead));
  DeadLetter dead;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!codec::GetFixed64BE(&key, &dead.seq) ||
        !codec::ParseDeadValue(ToView(it->value()), &dead)) {
      return Status::Corruption("undecodable dead letter");
    }
    if (!fn(dead)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning dead letters");
}

Result<bool> Store::Seen(std::string_view input_id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->seen, ToSlice(input_id), &value);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, "reading seen id"));
  return true;
}

Result<std::vector<bool>> Store::Seen(const std::vector<std::string>& input_ids) const {
  std::vector<bool> seen(input_ids.size(), false);
  if (input_ids.empty()) return seen;
  std::vector<Slice> keys;
  keys.reserve(input_ids.size());
  for (const std::string& id : input_ids)
    keys.emplace_back(id);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->seen, keys.size(), keys.data(), values.data(),
                      statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(statuses[i], "reading seen ids"));
    seen[i] = true;
  }
  return seen;
}

Result<std::optional<std::string>> Store::GetPosition(std::string_view source) const {
  std::string value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, codec::PositionKey(source), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "reading position of " + std::string(source)));
  return std::optional<std::string>(std::move(value));
}

Result<std::optional<Timestamp>> Store::GetClock() const {
  return impl_->ReadClock();
}

Result<uint64_t> Store::AppendAccess(const AccessRecord& record) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.access_mu);
  uint64_t seq = m.access_seq + 1;
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(m.access, codec::SeqKey(seq), codec::AccessValue(record)),
                            "staging access"));
  RETURN_IF_ERROR(m.Write(&batch, "writing access log"));
  m.access_seq = seq;
  return seq;
}

Status Store::ScanAccess(uint64_t from_seq,
                         const std::function<bool(const AccessRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->access));
  AccessRecord record;
  for (it->Seek(codec::SeqKey(from_seq)); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!codec::GetFixed64BE(&key, &record.seq) ||
        !codec::ParseAccessValue(ToView(it->value()), &record)) {
      return Status::Corruption("undecodable access record");
    }
    if (!fn(record)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning access log");
}

Status Store::PutDefinition(std::string_view name, uint64_t version, std::string_view yaml) {
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("definition name must be non-empty and without NUL");
  }
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(
      batch.Put(impl_->meta, codec::DefinitionKey(name, version), ToSlice(yaml)), "staging"));
  return impl_->Write(&batch, "writing definition " + std::string(name));
}

Status Store::ScanDefinitions(
    const std::function<bool(std::string_view, uint64_t, std::string_view)>& fn) const {
  const std::string prefix(codec::kMetaDefinitionPrefix);
  const std::string upper = PrefixSuccessor(prefix);
  Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->meta));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view name;
    uint64_t version = 0;
    if (!codec::ParseDefinitionKey(ToView(it->key()), &name, &version)) {
      return Status::Corruption("undecodable definition key in meta");
    }
    if (!fn(name, version, ToView(it->value()))) return Status::OK();
  }
  return FromRocks(it->status(), "scanning definitions");
}

Status Store::DeleteOutbox(const std::vector<uint64_t>& seqs) {
  if (seqs.empty()) return Status::OK();
  rocksdb::WriteBatch wb;
  for (uint64_t seq : seqs)
    wb.Delete(impl_->outbox, codec::SeqKey(seq));
  // Not synced: losing a deletion in a crash only publishes the entries again (at least once,
  // with stable ids); the next synced commit makes it durable.
  RETURN_IF_ERROR(impl_->Write(&wb, "DeleteOutbox", /*sync=*/false));
  impl_->Crash(CrashPoint::kAfterOutboxDelete);
  return Status::OK();
}

Status Store::ScanPendingErasures(const std::function<bool(std::string_view)>& fn) const {
  const std::string prefix(codec::kMetaErasurePrefix);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->meta));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view key = ToView(it->key());
    key.remove_prefix(prefix.size());
    if (!fn(key)) return Status::OK();
  }
  return FromRocks(it->status(), "scanning pending erasures");
}

Status Store::PurgeErased(const std::vector<std::string>& case_ids,
                          const std::function<bool(const DeadLetter&)>& drop) {
  Impl& m = *impl_;
  rocksdb::WriteBatch wb;
  RETURN_IF_ERROR(ScanDeadLetters([&](const DeadLetter& d) {
    if (drop(d)) wb.Delete(m.dead, codec::SeqKey(d.seq));
    return true;
  }));
  if (wb.Count() > 0) RETURN_IF_ERROR(m.Write(&wb, "PurgeErased"));
  // Everything in memtables goes to files, so that no WAL file holds a deleted value any more.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  RETURN_IF_ERROR(FromRocks(m.db->Flush(fo, m.handles), "PurgeErased: flush"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.exclusive_manual_compaction = false;
  for (ColumnFamilyHandle* cf : {m.outbox, m.dead}) {
    RETURN_IF_ERROR(
        FromRocks(m.db->CompactRange(co, cf, nullptr, nullptr), "PurgeErased: compaction"));
  }
  rocksdb::WriteBatch done;
  for (const std::string& id : case_ids)
    done.Delete(m.meta, std::string(codec::kMetaErasurePrefix) + id);
  if (done.Count() > 0) RETURN_IF_ERROR(m.Write(&done, "PurgeErased: marks"));
  return Status::OK();
}

Status Store::VerifyChain(std::string_view case_id) const {
  RETURN_IF_ERROR(codec::ValidateCaseId(case_id).WithContext("VerifyChain"));
  const std::string ctx = CaseContext(case_id);
  ASSIGN_OR_RETURN(std::optional<CaseRecord> record, GetCase(case_id));

  const std::string upper = codec::EventKeyEnd(case_id);
  Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->events));
  uint64_t expected = 1;
  Digest head = kGenesisDigest;
  for (it->Seek(codec::EventKey(case_id, 0)); it->Valid(); it->Next(), ++expected) {
    std::string_view id;
    uint64_t seq = 0;
    Digest stored{};
    std::string_view payload;
    if (!codec::ParseEventKey(ToView(it->key()), &id, &seq)) {
      return Status::Corruption(ctx + ": event " + std::to_string(expected) + ": bad key");
    }
    if (seq != expected) {
      return Status::Corruption(ctx + ": event " + std::to_string(expected) +
                                ": missing (next stored event is " + std::to_string(seq) + ")");
    }
    if (!codec::ParseEventValue(ToView(it->value()), &stored, &payload)) {
      return Status::Corruption(ctx + ": event " + std::to_string(seq) + ": undecodable");
    }
    head = ChainHash(head, payload);
    if (head != stored) {
      return Status::Corruption(ctx + ": event " + std::to_string(seq) + ": hash mismatch");
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "VerifyChain: scanning events of " + ctx));
  const uint64_t last = expected - 1;
  if (!record) {
    if (last == 0) return Status::NotFound(ctx);
    return Status::Corruption(ctx + ": events 1.." + std::to_string(last) +
                              " stored but no case record");
  }
  if (record->last_seq != last) {
    return Status::Corruption(ctx + ": event " +
                              std::to_string(std::min(last, record->last_seq) + 1) +
                              ": case record says last seq " + std::to_string(record->last_seq) +
                              ", the log ends at " + std::to_string(last));
  }
  if (record->head != head) {
    return Status::Corruption(ctx + ": event " + std::to_string(last) +
                              ": case record head does not match the chain");
  }
  return Status::OK();
}

Status Store::ClearIndex() {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->index));
  rocksdb::WriteBatch wb;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    wb.Delete(impl_->index, it->key());
    if (wb.Count() >= 10000) {
      RETURN_IF_ERROR(impl_->Write(&wb, "ClearIndex"));
      wb.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "ClearIndex: scanning index"));
  if (wb.Count() > 0) RETURN_IF_ERROR(impl_->Write(&wb, "ClearIndex"));
  return Status::OK();
}

Status Store::PutSnapshot(std::string_view case_id, const CaseRecord& record) {
  RETURN_IF_ERROR(codec::ValidateCaseId(case_id).WithContext("PutSnapshot"));
  rocksdb::WriteBatch wb;
  wb.Put(impl_->cases, ToSlice(case_id), codec::CaseValue(record));
  return impl_->Write(&wb, "PutSnapshot of " + CaseContext(case_id));
}

Status Store::OverwriteEventPayloadForTest(std::string_view case_id, uint64_t seq,
                                           std::string_view payload) {
  const std::string key = codec::EventKey(case_id, seq);
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->events, key, &value);
  RETURN_IF_ERROR(FromRocks(s, CaseContext(case_id) + ": event " + std::to_string(seq)));
  Digest hash{};
  std::string_view old_payload;
  if (!codec::ParseEventValue(value, &hash, &old_payload)) {
    return Status::Corruption(CaseContext(case_id) + ": undecodable event");
  }
  rocksdb::WriteBatch wb;
  wb.Put(impl_->events, key, codec::EventValue(hash, payload));
  return impl_->Write(&wb, "OverwriteEventPayloadForTest");
}

Result<BackupInfo> Store::CreateBackup(const std::string& backup_dir,
                                       const BackupProgressFn& progress) {
  std::lock_guard<std::mutex> lock(impl_->backup_mu);
  return backup::BackupOpenDatabase(
      *impl_->db, backup_dir, backup::Metadata(backup::kKindStore, impl_->db->GetName()), progress);
}

Result<std::vector<BackupInfo>> Store::ListBackups(const std::string& backup_dir) {
  return backup::ListBackups(backup_dir);
}

Status Store::VerifyBackup(const std::string& backup_dir, uint32_t id) {
  return backup::VerifyBackup(backup_dir, id);
}

Result<RestoredBackup> Store::RestoreBackup(const std::string& backup_dir, uint32_t id,
                                            const std::string& target_dir, bool force,
                                            const BackupProgressFn& progress) {
  ASSIGN_OR_RETURN(BackupInfo found, backup::FindBackup(backup_dir, id));
  if (backup::MetadataKind(found.metadata) != backup::kKindStore) {
    return Status::InvalidArgument(
        "backup " + std::to_string(found.id) + " in " + backup_dir +
        " is not a backup of an amtsweg store (metadata: " + found.metadata + ")");
  }
  RestoredBackup restored;
  backup::RestoreOptions options;
  options.force = force;
  options.progress = progress;
  // Before the restored copy becomes the target: it opens as a store and every chain verifies.
  options.check = [&restored](const std::string& dir) -> Status {
    Options open_options;
    open_options.create_if_missing = false;
    ASSIGN_OR_RETURN(std::unique_ptr<Store> st, Store::Open(dir, open_options));
    std::vector<std::string> ids;
    RETURN_IF_ERROR(st->ScanCases([&](std::string_view case_id, const CaseRecord& r) {
      ids.emplace_back(case_id);
      restored.events += r.last_seq;
      return true;
    }));
    for (const std::string& case_id : ids)
      RETURN_IF_ERROR(st->VerifyChain(case_id));
    restored.cases = ids.size();
    return Status::OK();
  };
  ASSIGN_OR_RETURN(restored.backup,
                   backup::RestoreBackup(backup_dir, found.id, target_dir, options));
  return restored;
}

void Store::SetCrashHook(std::function<void(CrashPoint)> hook) {
  impl_->crash_hook = std::move(hook);
}

std::string Store::StatsSummary() const {
  auto prop = [&](ColumnFamilyHandle* cf, const std::string& name) -> uint64_t {
    uint64_t v = 0;
    if (!impl_->db->GetIntProperty(cf, name, &v)) return 0;
    return v;
  };
  auto aggregated = [&](const std::string& name) -> uint64_t {
    uint64_t v = 0;
    if (!impl_->db->GetAggregatedIntProperty(name, &v)) return 0;
    return v;
  };
  constexpr double kMiB = 1024.0 * 1024.0;
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "events~%llu cases~%llu live=%.1fMiB sst=%.1fMiB memtables=%.1fMiB compactions=%llu "
      "outbox_seq=%llu dead_seq=%llu",
      static_cast<unsigned long long>(prop(impl_->events, "rocksdb.estimate-num-keys")),
      static_cast<unsigned long long>(prop(impl_->cases, "rocksdb.estimate-num-keys")),
      static_cast<double>(aggregated("rocksdb.estimate-live-data-size")) / kMiB,
      static_cast<double>(aggregated("rocksdb.total-sst-files-size")) / kMiB,
      static_cast<double>(aggregated("rocksdb.cur-size-all-mem-tables")) / kMiB,
      static_cast<unsigned long long>(aggregated("rocksdb.num-running-compactions")),
      static_cast<unsigned long long>(impl_->outbox_seq.load()),
      static_cast<unsigned long long>(impl_->dead_seq.load()));
  return buf;
}

}  // namespace amtsweg::store
