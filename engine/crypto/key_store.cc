// The key store on RocksDB. Layout and the purge's reasoning: engine/crypto/README.md.
#include "engine/crypto/key_store.h"

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "engine/crypto/internal/key_store_db.h"
#include "engine/store/internal/rocks_status.h"

namespace amtsweg::crypto {
namespace {

namespace fs = std::filesystem;
using rocksdb::Slice;

// Key prefixes (one column family): keys, erasure register, pending purges, KEK check records,
// meta.
constexpr std::string_view kKeyPrefix = "k/";
constexpr std::string_view kErasurePrefix = "e/";
constexpr std::string_view kPendingPrefix = "p/";
constexpr std::string_view kCheckPrefix = "c/";
constexpr std::string_view kFormatKey = "m/format";
constexpr std::string_view kFormat = "1";
constexpr char kValueVersion = 0x01;
// Check records wrap a random key for this case id, which no real case has (ids are not empty).
constexpr std::string_view kCheckCaseId = "";
constexpr size_t kRotateBatch = 1000;
constexpr size_t kMaxCaseIdBytes = 256;

Slice ToSlice(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view ToView(const Slice& s) {
  return {s.data(), s.size()};
}

// RocksDB's statuses are translated as the store translates them (header-only).
using store::internal::FromRocks;

Status ValidateCaseId(std::string_view case_id) {
  if (case_id.empty()) return Status::InvalidArgument("empty case id");
  if (case_id.size() > kMaxCaseIdBytes) {
    return Status::InvalidArgument("case id longer than 256 bytes");
  }
  if (case_id.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("case id contains a NUL byte");
  }
  return Status::OK();
}

std::string Prefixed(std::string_view prefix, std::string_view id) {
  std::string key(prefix);
  key += id;
  return key;
}

// The smallest key greater than every key starting with `prefix` (prefixes end in '/').
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

void PutVarint(uint64_t n, std::string* out) {
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

bool GetVarint(std::string_view* in, uint64_t* n) {
  *n = 0;
  for (unsigned shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *n |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void PutLengthPrefixed(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void PutBE64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

bool GetBE64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i)
    *v = (*v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return true;
}

// Key and check record values: 0x01 lp(kek_id) wrapped.
std::string WrappedValue(std::string_view kek_id, std::string_view wrapped) {
  std::string v(1, kValueVersion);
  PutLengthPrefixed(kek_id, &v);
  v += wrapped;
  return v;
}

bool ParseWrappedValue(std::string_view v, std::string_view* kek_id, std::string_view* wrapped) {
  if (v.empty() || v.front() != kValueVersion) return false;
  v.remove_prefix(1);
  if (!GetLengthPrefixed(&v, kek_id)) return false;
  *wrapped = v;
  return true;
}

// Register values: 0x01 BE64(at, two's complement) lp(by) lp(reason) lp(basis).
std::string ErasureValue(const Erasure& e) {
  std::string v(1, kValueVersion);
  PutBE64(static_cast<uint64_t>(e.at), &v);
  PutLengthPrefixed(e.by, &v);
  PutLengthPrefixed(e.reason, &v);
  PutLengthPrefixed(e.basis, &v);
  return v;
}

bool ParseErasureValue(std::string_view case_id, std::string_view v, Erasure* e) {
  if (v.empty() || v.front() != kValueVersion) return false;
  v.remove_prefix(1);
  uint64_t at = 0;
  std::string_view by, reason, basis;
  if (!GetBE64(&v, &at) || !GetLengthPrefixed(&v, &by) || !GetLengthPrefixed(&v, &reason) ||
      !GetLengthPrefixed(&v, &basis) || !v.empty()) {
    return false;
  }
  *e = Erasure{std::string(case_id), static_cast<Timestamp>(at), std::string(by),
               std::string(reason), std::string(basis)};
  return true;
}

// Flushes and compactions leave obsolete files behind; the store deletes them itself (file
// deletions are disabled, see internal/key_store_db.h). This notes that there is something to
// delete.
class GarbageListener : public rocksdb::EventListener {
 public:
  explicit GarbageListener(std::atomic<bool>* garbage) : garbage_(garbage) {}
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
    garbage_->store(true);
  }
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    garbage_->store(true);
  }

 private:
  std::atomic<bool>* garbage_;
};

// A reader-writer lock that lets a waiting writer in before new readers. (std::shared_mutex
// prefers readers on glibc: a steady stream of Gets would keep Destroy waiting indefinitely.)
class WriterFirstLock {
 public:
  void lock() {
    std::unique_lock l(mu_);
    ++writers_waiting_;
    cv_.wait(l, [&] { return !writer_ && readers_ == 0; });
    --writers_waiting_;
    writer_ = true;
  }
  void unlock() {
    {
      std::lock_guard l(mu_);
      writer_ = false;
    }
    cv_.notify_all();
  }
  void lock_shared() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !writer_ && writers_waiting_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    bool last = false;
    {
      std::lock_guard l(mu_);
      last = --readers_ == 0;
    }
    if (last) cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t readers_ = 0;
  size_t writers_waiting_ = 0;
  bool writer_ = false;
};

// A bounded LRU map of unwrapped keys. Thread-safe.
class KeyCache {
 public:
  explicit KeyCache(size_t capacity) : capacity_(capacity) {}

  std::optional<DataKey> Find(std::string_view case_id) {
    std::lock_guard lock(mu_);
    auto it = index_.find(std::string(case_id));
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void Insert(std::string_view case_id, const DataKey& key) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mu_);
    auto it = index_.find(std::string(case_id));
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(std::string(case_id), key);
    index_.emplace(order_.front().first, order_.begin());
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void Erase(std::string_view case_id) {
    std::lock_guard lock(mu_);
    auto it = index_.find(std::string(case_id));
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

 private:
  using Entry = std::pair<std::string, DataKey>;
  const size_t capacity_;
  std::mutex mu_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

rocksdb::Options DbOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Wrapped keys are random bytes: compression gains nothing, and without it a wrapped key is
  // stored as it is, so the purge test can look for its bytes.
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = rocksdb::kDisableCompressionOption;
  // WAL files are deleted, never kept in an archive nor reused, once obsolete: the WAL holds
  // every key written, and Purge must make the WAL that held erased keys go away.
  o.recycle_log_file_num = 0;
  o.WAL_ttl_seconds = 0;
  o.WAL_size_limit_MB = 0;
  o.max_background_jobs = 2;
  o.keep_log_file_num = 5;
  return o;
}

// The KEK check records of `db`: each must open with its configured KEK. Returns their ids.
Result<std::set<std::string>> CheckKeks(rocksdb::DB* db, const KeyEncryptionKeys& keks,
                                        const std::string& dir) {
  std::set<std::string> ids;
  std::vector<std::string> missing;
  const std::string end = PrefixEnd(kCheckPrefix);
  rocksdb::ReadOptions ro;
  Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(ToSlice(kCheckPrefix)); it->Valid(); it->Next()) {
    std::string_view kek_id, wrapped;
    if (!ParseWrappedValue(ToView(it->value()), &kek_id, &wrapped)) {
      return Status::Corruption("key store " + dir + ": undecodable KEK check record " +
                                it->key().ToString());
    }
    ids.emplace(kek_id);
    if (!keks.Has(kek_id)) {
      missing.emplace_back(kek_id);
      continue;
    }
    if (!keks.Unwrap(kCheckCaseId, kek_id, wrapped).ok()) {
      return Status::InvalidArgument("the KEK '" + std::string(kek_id) + "' in " + keks.where() +
                                     " is not the one this key store was written with");
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "key store " + dir + ": reading KEK check records"));
  if (!missing.empty()) {
    std::string names;
    for (const std::string& id : missing)
      names += (names.empty() ? "'" : ", '") + id + "'";
    return Status::InvalidArgument(
        "key store " + dir + " holds keys wrapped by the KEK" + (missing.size() > 1 ? "s " : " ") +
        names + ", which " + keks.where() + " does not have; add " +
        (missing.size() > 1 ? "them" : "it") + " to the key file (after the current KEK)");
  }
  return ids;
}

Status CheckFormat(rocksdb::DB* db, const std::string& dir) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), ToSlice(kFormatKey), &value);
  if (s.IsNotFound()) return Status::OK();  // new: written after the checks
  RETURN_IF_ERROR(FromRocks(s, "key store " + dir + ": reading its format"));
  if (value != kFormat) {
    return Status::Corruption("key store " + dir + ": unsupported format '" + value +
                              "' (this build reads " + std::string(kFormat) + ")");
  }
  return Status::OK();
}

}  // namespace

struct KeyStore::Impl {
  std::string dir;
  Options options;
  std::unique_ptr<KeyEncryptionKeys> keks;
  std::atomic<bool> garbage{false};
  std::shared_ptr<GarbageListener> listener = std::make_shared<GarbageListener>(&garbage);
  std::unique_ptr<rocksdb::DB> db;
  KeyCache cache;

  // One writer at a time: Create, Destroy, Purge, Rotate. Guards check_ids.
  std::mutex writer_mu;
  std::set<std::string> check_ids;  // KEK ids with a check record
  // Readers of the database hold it shared; Destroy holds it exclusively while it deletes keys
  // and drops them from the cache (so that no reader puts a destroyed key back into the cache),
  // and so does the deletion of obsolete files (so that no reader pins an old version whose
  // files hold erased keys).
  mutable WriterFirstLock files_mu;

  explicit Impl(size_t cache_entries) : cache(cache_entries) {}

  ~Impl() {
    if (!db) return;
    // Deletes what is obsolete now; Close has no one to report to.
    DeleteObsoleteFiles().IgnoreError();
    db->Close().PermitUncheckedError();
  }

  rocksdb::WriteOptions Write() const {
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    return wo;
  }

  // Deletes every obsolete file now, in this thread. File deletions stay disabled otherwise, so
  // background jobs never hold a file half-deleted when this returns.
  Status DeleteObsoleteFiles() {
    std::unique_lock files(files_mu);
    garbage.store(false);
    RETURN_IF_ERROR(FromRocks(db->EnableFileDeletions(/*force=*/false), "deleting obsolete files"));
    return FromRocks(db->DisableFileDeletions(), "deleting obsolete files");
  }

  // Needs writer_mu.
  Status DeleteObsoleteFilesIfAny() {
    if (!garbage.load()) return Status::OK();
    return DeleteObsoleteFiles();
  }

  // Puts the current KEK's check record into `wb` unless it has one. Needs writer_mu.
  Result<std::optional<std::string>> StageCheckRecord(rocksdb::WriteBatch* wb) {
    const std::string current = keks->current_id();
    if (check_ids.count(current) != 0) return std::optional<std::string>();
    std::string kek_id;
    ASSIGN_OR_RETURN(std::string wrapped, keks->Wrap(kCheckCaseId, DataKey::Generate(), &kek_id));
    wb->Put(Prefixed(kCheckPrefix, kek_id), WrappedValue(kek_id, wrapped));
    return std::optional<std::string>(kek_id);
  }

  // Needs writer_mu.
  Status PurgeLocked() {
    std::vector<std::string> pending;
    {
      const std::string end = PrefixEnd(kPendingPrefix);
      rocksdb::ReadOptions ro;
      Slice upper(end);
      ro.iterate_upper_bound = &upper;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
      for (it->Seek(ToSlice(kPendingPrefix)); it->Valid(); it->Next())
        pending.emplace_back(ToView(it->key()).substr(kPendingPrefix.size()));
      RETURN_IF_ERROR(FromRocks(it->status(), "Purge: reading pending purges"));
    }
    if (pending.empty()) return DeleteObsoleteFilesIfAny();

    // The memtable (and the WAL behind it) holds the deletions and perhaps the keys themselves:
    // a flush writes only the deletions to an SST and makes the WAL obsolete.
    rocksdb::FlushOptions fo;
    fo.wait = true;
    fo.allow_write_stall = true;
    RETURN_IF_ERROR(FromRocks(db->Flush(fo), "Purge: flushing"));
    // pending is sorted (it came from an iterator): one range from the first to the last.
    const std::string begin = Prefixed(kKeyPrefix, pending.front());
    const std::string end = Prefixed(kKeyPrefix, pending.back());
    rocksdb::CompactRangeOptions co;
    // The bottom level too: else an SST there keeps the key under a tombstone from above.
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    co.exclusive_manual_compaction = true;
    Slice b(begin), e(end);
    RETURN_IF_ERROR(FromRocks(db->CompactRange(co, &b, &e), "Purge: compacting erased keys"));
    RETURN_IF_ERROR(DeleteObsoleteFiles().WithContext("Purge"));

    rocksdb::WriteBatch wb;
    for (const std::string& id : pending)
      wb.Delete(Prefixed(kPendingPrefix, id));
    // A lost marker deletion only means one more purge of the same range.
    rocksdb::WriteOptions wo;
    return FromRocks(db->Write(wo, &wb), "Purge: clearing pending purges");
  }

  // Reads one key record; nullopt when the case has none.
  Result<std::optional<DataKey>> ReadKey(std::string_view case_id) const {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), Prefixed(kKeyPrefix, case_id), &value);
    if (s.IsNotFound()) return std::optional<DataKey>();
    RETURN_IF_ERROR(FromRocks(s, "reading the key of case '" + std::string(case_id) + "'"));
    std::string_view kek_id, wrapped;
    if (!ParseWrappedValue(value, &kek_id, &wrapped)) {
      return Status::Corruption("undecodable key record of case '" + std::string(case_id) + "'");
    }
    ASSIGN_OR_RETURN(DataKey key, keks->Unwrap(case_id, kek_id, wrapped));
    return std::optional<DataKey>(std::move(key));
  }

  // Scans keys from `from` (inclusive) below the end of prefix `prefix`, calling fn(id, value)
  // until it returns false. The caller holds files_mu or writer_mu.
  Status Scan(std::string_view prefix, std::string_view from,
              const std::function<bool(std::string_view, std::string_view)>& fn) const {
    const std::string end = PrefixEnd(prefix);
    rocksdb::ReadOptions ro;
    Slice upper(end);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    const std::string start = Prefixed(prefix, from);
    for (it->Seek(start); it->Valid(); it->Next()) {
      if (!fn(ToView(it->key()).substr(prefix.size()), ToView(it->value()))) break;
    }
    return FromRocks(it->status(), "scanning the key store");
  }
};

KeyStore::KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& dir,
                                                 std::unique_ptr<KeyEncryptionKeys> keks) {
  return Open(dir, std::move(keks), Options());
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& dir,
                                                 std::unique_ptr<KeyEncryptionKeys> keks,
                                                 Options options) {
  if (!keks) return Status::InvalidArgument("opening key store " + dir + ": no KEKs given");
  const std::string context = "opening key store " + dir;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(dir) / "CURRENT", ec);
  rocksdb::Options db_options = DbOptions();
  if (exists) {
    // The checks first on a read-only instance, which writes nothing: a wrong KEK changes nothing.
    rocksdb::DB* raw = nullptr;
    RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenForReadOnly(db_options, dir, &raw), context));
    std::unique_ptr<rocksdb::DB> ro(raw);
    RETURN_IF_ERROR(CheckFormat(ro.get(), dir));
    RETURN_IF_ERROR(CheckKeks(ro.get(), *keks, dir).status());
    RETURN_IF_ERROR(FromRocks(ro->Close(), context));
  } else {
    if (!options.create_if_missing) {
      return Status::NotFound("key store " + dir + " does not exist");
    }
    // Only the owner may look into the directory of the keys.
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) return Status::IOError(context + ": " + ec.message());
      fs::permissions(dir, fs::perms::owner_all, ec);
      if (ec) return Status::IOError(context + ": chmod 700: " + ec.message());
    }
  }

  auto impl = std::make_unique<Impl>(options.cache_entries);
  impl->dir = dir;
  impl->options = std::move(options);
  impl->keks = std::move(keks);
  db_options.listeners.push_back(impl->listener);
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, dir, &raw), context));
  impl->db.reset(raw);
  RETURN_IF_ERROR(CheckFormat(impl->db.get(), dir));
  ASSIGN_OR_RETURN(impl->check_ids, CheckKeks(impl->db.get(), *impl->keks, dir));
  if (!exists) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(FromRocks(impl->db->Put(wo, ToSlice(kFormatKey), ToSlice(kFormat)), context));
  }
  // From now on only DeleteObsoleteFiles deletes files (see internal/key_store_db.h).
  RETURN_IF_ERROR(FromRocks(impl->db->DisableFileDeletions(), context));
  return std::unique_ptr<KeyStore>(new KeyStore(std::move(impl)));
}

Status KeyStore::Create(const std::vector<std::string>& case_ids) {
  Impl& m = *impl_;
  for (const std::string& id : case_ids)
    RETURN_IF_ERROR(ValidateCaseId(id).WithContext("Create"));
  std::vector<std::string> ids(case_ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) return Status::OK();

  std::lock_guard writer(m.writer_mu);
  // Erasure records and key records of every case with one MultiGet.
  std::vector<std::string> keys;
  keys.reserve(2 * ids.size());
  for (const std::string& id : ids) {
    keys.push_back(Prefixed(kErasurePrefix, id));
    keys.push_back(Prefixed(kKeyPrefix, id));
  }
  std::vector<Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses = m.db->MultiGet(rocksdb::ReadOptions(), slices, &values);

  rocksdb::WriteBatch wb;
  std::vector<std::pair<std::string, DataKey>> made;
  for (size_t i = 0; i < ids.size(); ++i) {
    const rocksdb::Status& erased = statuses[2 * i];
    const rocksdb::Status& key = statuses[2 * i + 1];
    if (erased.ok()) {
      Erasure e;
      std::string when = ParseErasureValue(ids[i], values[2 * i], &e) ? FormatTimestamp(e.at) : "?";
      return Status::InvalidArgument("Create: case '" + ids[i] + "' was erased at " + when +
                                     "; an erased case never gets a key again");
    }
    if (!erased.IsNotFound()) return FromRocks(erased, "Create: reading the erasure register");
    if (key.ok()) continue;  // has one
    if (!key.IsNotFound()) return FromRocks(key, "Create: reading keys");
    DataKey dek = DataKey::Generate();
    std::string kek_id;
    ASSIGN_OR_RETURN(std::string wrapped, m.keks->Wrap(ids[i], dek, &kek_id));
    wb.Put(keys[2 * i + 1], WrappedValue(kek_id, wrapped));
    made.emplace_back(ids[i], std::move(dek));
  }
  if (made.empty()) return Status::OK();
  ASSIGN_OR_RETURN(std::optional<std::string> checked, m.StageCheckRecord(&wb));
  RETURN_IF_ERROR(FromRocks(m.db->Write(m.Write(), &wb), "Create: writing keys"));
  if (checked) m.check_ids.insert(*checked);
  // The engine seals the new cases' events next: their keys are wanted at once.
  for (const auto& [id, dek] : made)
    m.cache.Insert(id, dek);
  return m.DeleteObsoleteFilesIfAny();
}

Status KeyStore::Put(const std::vector<std::pair<std::string, DataKey>>& keys) {
  Impl& m = *impl_;
  for (const auto& entry : keys)
    RETURN_IF_ERROR(ValidateCaseId(entry.first).WithContext("Put"));
  if (keys.empty()) return Status::OK();
  std::lock_guard writer(m.writer_mu);
  std::vector<std::string> erasure_keys;
  erasure_keys.reserve(keys.size());
  for (const auto& entry : keys)
    erasure_keys.push_back(Prefixed(kErasurePrefix, entry.first));
  std::vector<Slice> slices(erasure_keys.begin(), erasure_keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses = m.db->MultiGet(rocksdb::ReadOptions(), slices, &values);
  rocksdb::WriteBatch wb;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      return Status::InvalidArgument("Put: case '" + keys[i].first +
                                     "' was erased; an erased case never gets a key again");
    }
    if (!statuses[i].IsNotFound()) return FromRocks(statuses[i], "Put: reading the register");
    std::string kek_id;
    ASSIGN_OR_RETURN(std::string wrapped, m.keks->Wrap(keys[i].first, keys[i].second, &kek_id));
    wb.Put(Prefixed(kKeyPrefix, keys[i].first), WrappedValue(kek_id, wrapped));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> checked, m.StageCheckRecord(&wb));
  RETURN_IF_ERROR(FromRocks(m.db->Write(m.Write(), &wb), "Put: writing keys"));
  if (checked) m.check_ids.insert(*checked);
  for (const auto& entry : keys)
    m.cache.Insert(entry.first, entry.second);
  return m.DeleteObsoleteFilesIfAny();
}

Result<std::optional<DataKey>> KeyStore::Get(std::string_view case_id) const {
  Impl& m = *impl_;
  RETURN_IF_ERROR(ValidateCaseId(case_id).WithContext("Get"));
  if (std::optional<DataKey> hit = m.cache.Find(case_id)) return hit;
  std::shared_lock files(m.files_mu);
  ASSIGN_OR_RETURN(std::optional<DataKey> key, m.ReadKey(case_id));
  if (key) m.cache.Insert(case_id, *key);
  return key;
}

Status KeyStore::Destroy(const std::vector<Erasure>& erasures) {
  Impl& m = *impl_;
  for (const Erasure& e : erasures)
    RETURN_IF_ERROR(ValidateCaseId(e.case_id).WithContext("Destroy"));
  std::lock_guard writer(m.writer_mu);
  if (!erasures.empty()) {
    // The first erasure of a case counts, in the register as in this call.
    std::vector<const Erasure*> todo;
    std::set<std::string_view> seen;
    for (const Erasure& e : erasures) {
      if (seen.insert(e.case_id).second) todo.push_back(&e);
    }
    std::vector<std::string> keys;
    keys.reserve(todo.size());
    for (const Erasure* e : todo)
      keys.push_back(Prefixed(kErasurePrefix, e->case_id));
    std::vector<Slice> slices(keys.begin(), keys.end());
    std::vector<std::string> values;
    std::vector<rocksdb::Status> statuses = m.db->MultiGet(rocksdb::ReadOptions(), slices, &values);

    rocksdb::WriteBatch wb;
    for (size_t i = 0; i < todo.size(); ++i) {
      const std::string& id = todo[i]->case_id;
      if (statuses[i].IsNotFound()) {
        wb.Put(keys[i], ErasureValue(*todo[i]));
      } else if (!statuses[i].ok()) {
        return FromRocks(statuses[i], "Destroy: reading the erasure register");
      }
      wb.Delete(Prefixed(kKeyPrefix, id));
      wb.Put(Prefixed(kPendingPrefix, id), Slice());
    }
    {
      std::unique_lock files(m.files_mu);
      rocksdb::WriteOptions wo;
      wo.sync = true;  // an erasure is never unsynced: it is what the register promises
      RETURN_IF_ERROR(FromRocks(m.db->Write(wo, &wb), "Destroy: writing"));
      for (const Erasure* e : todo)
        m.cache.Erase(e->case_id);
    }
    if (m.options.after_destroy_write_for_test) m.options.after_destroy_write_for_test();
  }
  return m.PurgeLocked().WithContext("Destroy");
}

Status KeyStore::Purge() {
  std::lock_guard writer(impl_->writer_mu);
  return impl_->PurgeLocked();
}

Result<std::optional<Erasure>> KeyStore::Erased(std::string_view case_id) const {
  Impl& m = *impl_;
  RETURN_IF_ERROR(ValidateCaseId(case_id).WithContext("Erased"));
  std::shared_lock files(m.files_mu);
  std::string value;
  rocksdb::Status s = m.db->Get(rocksdb::ReadOptions(), Prefixed(kErasurePrefix, case_id), &value);
  if (s.IsNotFound()) return std::optional<Erasure>();
  RETURN_IF_ERROR(FromRocks(s, "reading the erasure register"));
  Erasure e;
  if (!ParseErasureValue(case_id, value, &e)) {
    return Status::Corruption("undecodable erasure record of case '" + std::string(case_id) + "'");
  }
  return std::optional<Erasure>(std::move(e));
}

Status KeyStore::ScanErasures(const std::function<bool(const Erasure&)>& fn) const {
  Impl& m = *impl_;
  // In chunks, and fn outside the lock: fn may call back into the store.
  std::string from;
  while (true) {
    std::vector<Erasure> chunk;
    Status bad;
    {
      std::shared_lock files(m.files_mu);
      RETURN_IF_ERROR(m.Scan(kErasurePrefix, from, [&](std::string_view id, std::string_view v) {
        Erasure e;
        if (!ParseErasureValue(id, v, &e)) {
          bad = Status::Corruption("undecodable erasure record of case '" + std::string(id) + "'");
          return false;
        }
        chunk.push_back(std::move(e));
        return chunk.size() < kRotateBatch;
      }));
    }
    RETURN_IF_ERROR(bad);
    for (const Erasure& e : chunk) {
      if (!fn(e)) return Status::OK();
    }
    if (chunk.size() < kRotateBatch) return Status::OK();
    from = chunk.back().case_id;
    from.push_back('\0');  // the next id after it
  }
}

Result<uint64_t> KeyStore::Rotate(
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  Impl& m = *impl_;
  const std::string current = m.keks->current_id();
  uint64_t total = 0;
  {
    std::shared_lock files(m.files_mu);
    Status bad;
    RETURN_IF_ERROR(m.Scan(kKeyPrefix, "", [&](std::string_view id, std::string_view v) {
      std::string_view kek_id, wrapped;
      if (!ParseWrappedValue(v, &kek_id, &wrapped)) {
        bad = Status::Corruption("undecodable key record of case '" + std::string(id) + "'");
        return false;
      }
      total += kek_id != current;
      return true;
    }));
    RETURN_IF_ERROR(bad.WithContext("Rotate"));
  }

  uint64_t done = 0;
  std::string from;
  bool at_end = total == 0;
  while (!at_end) {
    uint64_t n = 0;
    {
      std::lock_guard writer(m.writer_mu);
      rocksdb::WriteBatch wb;
      Status bad;
      at_end = true;
      std::string last;
      RETURN_IF_ERROR(m.Scan(kKeyPrefix, from, [&](std::string_view id, std::string_view v) {
        last = id;
        std::string_view kek_id, wrapped;
        if (!ParseWrappedValue(v, &kek_id, &wrapped)) {
          bad = Status::Corruption("undecodable key record of case '" + std::string(id) + "'");
          return false;
        }
        if (kek_id == current) return true;
        Result<DataKey> dek = m.keks->Unwrap(id, kek_id, wrapped);
        if (!dek.ok()) {
          bad = dek.status();
          return false;
        }
        std::string new_id;
        Result<std::string> rewrapped = m.keks->Wrap(id, *dek, &new_id);
        if (!rewrapped.ok()) {
          bad = rewrapped.status();
          return false;
        }
        wb.Put(Prefixed(kKeyPrefix, id), WrappedValue(new_id, *rewrapped));
        if (++n < kRotateBatch) return true;
        at_end = false;
        return false;
      }));
      RETURN_IF_ERROR(bad.WithContext("Rotate"));
      if (n == 0) break;
      ASSIGN_OR_RETURN(std::optional<std::string> checked, m.StageCheckRecord(&wb));
      RETURN_IF_ERROR(FromRocks(m.db->Write(m.Write(), &wb), "Rotate: writing rewrapped keys"));
      if (checked) m.check_ids.insert(*checked);
      from = last;
      from.push_back('\0');
    }
    done += n;
    if (progress) progress(done, std::max(done, total));
  }

  // Check records of KEKs that wrap nothing any more go, so that the store opens without them.
  std::lock_guard writer(m.writer_mu);
  std::set<std::string> in_use;
  RETURN_IF_ERROR(m.Scan(kKeyPrefix, "", [&](std::string_view, std::string_view v) {
    std::string_view kek_id, wrapped;
    if (ParseWrappedValue(v, &kek_id, &wrapped) && in_use.count(std::string(kek_id)) == 0) {
      in_use.emplace(kek_id);
    }
    return true;
  }));
  rocksdb::WriteBatch wb;
  std::vector<std::string> dropped;
  for (const std::string& id : m.check_ids) {
    if (id != current && in_use.count(id) == 0) {
      wb.Delete(Prefixed(kCheckPrefix, id));
      dropped.push_back(id);
    }
  }
  if (!dropped.empty()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(FromRocks(m.db->Write(wo, &wb), "Rotate: updating KEK check records"));
    for (const std::string& id : dropped)
      m.check_ids.erase(id);
  }
  RETURN_IF_ERROR(m.DeleteObsoleteFilesIfAny().WithContext("Rotate"));
  return done;
}

Result<KeyStore::Stats> KeyStore::GetStats() const {
  Impl& m = *impl_;
  Stats stats;
  std::shared_lock files(m.files_mu);
  Status bad;
  RETURN_IF_ERROR(m.Scan(kKeyPrefix, "", [&](std::string_view id, std::string_view v) {
    std::string_view kek_id, wrapped;
    if (!ParseWrappedValue(v, &kek_id, &wrapped)) {
      bad = Status::Corruption("undecodable key record of case '" + std::string(id) + "'");
      return false;
    }
    ++stats.keys;
    ++stats.keys_by_kek[std::string(kek_id)];
    return true;
  }));
  RETURN_IF_ERROR(bad);
  RETURN_IF_ERROR(m.Scan(kErasurePrefix, "", [&](std::string_view, std::string_view) {
    ++stats.erased;
    return true;
  }));
  return stats;
}

const KeyEncryptionKeys& KeyStore::keks() const {
  return *impl_->keks;
}

const std::string& KeyStore::dir() const {
  return impl_->dir;
}

rocksdb::DB* internal::KeyStoreAccess::Db(KeyStore& store) {
  return store.impl_->db.get();
}

Status internal::KeyStoreAccess::WithWritersPaused(KeyStore& store,
                                                   const std::function<Status(rocksdb::DB&)>& fn) {
  KeyStore::Impl& m = *store.impl_;
  std::lock_guard writer(m.writer_mu);
  Status s = fn(*m.db);
  // The backup's flush left a WAL (perhaps more) obsolete; it goes now, as after any writer.
  Status deleted = m.DeleteObsoleteFilesIfAny();
  return s.ok() ? deleted : s;
}

}  // namespace amtsweg::crypto
