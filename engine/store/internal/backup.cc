// Backups on rocksdb::BackupEngine. See backup.h.
#include "engine/store/internal/backup.h"

#include <fcntl.h>
#include <rocksdb/convenience.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/options_util.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "engine/common/value.h"
#include "engine/store/internal/rocks_status.h"

#ifndef AMTSWEG_VERSION
#define AMTSWEG_VERSION "unknown"
#endif

namespace amtsweg::store::backup {
namespace {

namespace fs = std::filesystem;
using internal::FromRocks;

constexpr uint64_t kProgressBytes = 1u << 20;  // BackupEngine's progress callback granularity
constexpr auto kProgressInterval = std::chrono::milliseconds(250);

// "dir/" -> "dir" (but "/" stays).
std::string Normalise(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  return dir;
}

bool IsBackupDir(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(fs::path(dir) / "meta", ec);
}

bool IsEmptyOrMissing(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

std::string Ids(const std::vector<BackupInfo>& backups) {
  if (backups.empty()) return "none";
  std::string s;
  for (const BackupInfo& b : backups) {
    if (!s.empty()) s += ", ";
    s += std::to_string(b.id);
  }
  return s;
}

BackupInfo FromEngine(const rocksdb::BackupInfo& in) {
  BackupInfo out;
  out.id = in.backup_id;
  out.created = in.timestamp * 1000;
  out.size_bytes = in.size;
  out.files = in.number_files;
  out.metadata = in.app_metadata;
  return out;
}

// Calls a progress function at most every kProgressInterval, and always for the last call.
class Throttled {
 public:
  explicit Throttled(const BackupProgressFn& fn) : fn_(fn) {}
  void Report(const BackupProgress& p, bool last) {
    if (!fn_) return;
    auto now = std::chrono::steady_clock::now();
    if (!last && now - last_ < kProgressInterval) return;
    last_ = now;
    fn_(p);
  }

 private:
  const BackupProgressFn& fn_;
  std::chrono::steady_clock::time_point last_{};
};

// Bytes of the regular files under `dir` (0 for what cannot be read: only for progress).
uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      uintmax_t size = it->file_size(size_ec);
      if (!size_ec) n += size;
    }
  }
  return n;
}

// Reports the bytes under a directory being written by someone else, from a helper thread,
// until destroyed.
class DirectoryWatcher {
 public:
  DirectoryWatcher(std::string dir, uint64_t total, const BackupProgressFn& fn)
      : dir_(std::move(dir)), total_(total), throttled_(fn) {
    if (!fn) return;
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!done_) {
        cv_.wait_for(lock, kProgressInterval, [this] { return done_; });
        if (done_) break;
        throttled_.Report({std::min(DirBytes(dir_), total_), total_}, false);
      }
    });
  }
  ~DirectoryWatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

 private:
  std::string dir_;
  uint64_t total_;
  Throttled throttled_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

rocksdb::BackupEngineOptions EngineOptions(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions o(backup_dir);
  o.share_table_files = true;
  o.share_files_with_checksum = true;
  o.sync = true;
  o.max_background_operations = 2;
  o.callback_trigger_interval_size = kProgressBytes;
  return o;
}

Result<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenReadOnly(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::NotFound("no backup directory '" + dir + "'");
  if (!IsBackupDir(dir)) {
    return Status::NotFound("'" + dir + "' is no backup directory (it has no meta/)");
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngineReadOnly::Open(rocksdb::Env::Default(), EngineOptions(dir), &raw),
      "opening backup directory " + dir));
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(raw);
}

Result<std::unique_ptr<rocksdb::BackupEngine>> OpenWritable(const std::string& dir) {
  rocksdb::BackupEngine* raw = nullptr;
  RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngine::Open(rocksdb::Env::Default(), EngineOptions(dir), &raw),
                "opening backup directory " + dir));
  return std::unique_ptr<rocksdb::BackupEngine>(raw);
}

// The backup directory for a new backup of the database in `db_dir`: refused when inside it,
// or when it exists and holds something else than backups; created otherwise.
Status PrepareBackupDir(const std::string& backup_dir, const std::string& db_dir) {
  std::error_code ec;
  const std::string b = fs::weakly_canonical(backup_dir, ec).string();
  const std::string d = fs::weakly_canonical(db_dir, ec).string();
  if (b == d || b.starts_with(d + "/")) {
    return Status::InvalidArgument("backup directory '" + backup_dir +
                                   "' lies inside the database directory '" + db_dir + "'");
  }
  if (fs::exists(backup_dir, ec)) {
    if (!fs::is_directory(backup_dir, ec)) {
      return Status::InvalidArgument("backup directory '" + backup_dir + "' is not a directory");
    }
    if (!IsEmptyOrMissing(backup_dir) && !IsBackupDir(backup_dir)) {
      return Status::InvalidArgument("refusing to write backups into '" + backup_dir +
                                     "': it is not empty and no backup directory (no meta/)");
    }
  }
  fs::create_directories(backup_dir, ec);
  if (ec) return Status::IOError("creating backup directory " + backup_dir + ": " + ec.message());
  return Status::OK();
}

// What a database's backup will copy at most: its live files plus what the flush adds.
uint64_t EstimateBytes(rocksdb::DB& db) {
  rocksdb::LiveFilesStorageInfoOptions opts;
  opts.wal_size_for_flush = std::numeric_limits<uint64_t>::max();  // no flush, only look
  std::vector<rocksdb::LiveFileStorageInfo> files;
  uint64_t total = 0;
  if (db.GetLiveFilesStorageInfo(opts, &files).ok()) {
    for (const rocksdb::LiveFileStorageInfo& f : files)
      total += f.size;
  }
  uint64_t memtables = 0;
  if (db.GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &memtables)) {
    total += memtables;
  }
  return total;
}

void SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself has happened
  (void)::fsync(fd);
  ::close(fd);
}

// A fresh name beside `target` for a restore in progress or a replaced database.
std::string Beside(const std::string& target, std::string_view what) {
  static std::atomic<uint32_t> counter{0};
  return target + "." + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

// Holds the RocksDB LOCK of a database directory (as an open DB does) while in scope.
class DbLock {
 public:
  static Result<std::unique_ptr<DbLock>> Acquire(const std::string& db_dir) {
    rocksdb::FileLock* lock = nullptr;
    rocksdb::Status s = rocksdb::Env::Default()->LockFile(db_dir + "/LOCK", &lock);
    if (!s.ok()) {
      return Status::Unavailable(db_dir +
                                 " is in use: a process has the database open (its LOCK is "
                                 "held; " +
                                 s.ToString() + ")");
    }
    return std::unique_ptr<DbLock>(new DbLock(lock));
  }
  ~DbLock() { rocksdb::Env::Default()->UnlockFile(lock_).PermitUncheckedError(); }
  DbLock(const DbLock&) = delete;
  DbLock& operator=(const DbLock&) = delete;

 private:
  explicit DbLock(rocksdb::FileLock* lock) : lock_(lock) {}
  rocksdb::FileLock* lock_;
};

}  // namespace

std::string Metadata(std::string_view kind, std::string_view source_dir) {
  return ObjectBuilder()
      .Add("format", kFormat)
      .Add("kind", kind)
      .Add("created", FormatTimestamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()))
      .Add("amtsweg", AMTSWEG_VERSION)
      .Add("source", source_dir)
      .Build()
      .ToJson();
}

std::string MetadataKind(std::string_view metadata) {
  Result<Value> v = Value::ParseJson(metadata);
  if (!v.ok() || !v->is_object()) return "";
  const Value* format = v->Find("format");
  const Value* kind = v->Find("kind");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) return "";
  if (kind == nullptr || !kind->is_string()) return "";
  return kind->as_string();
}

Result<BackupInfo> BackupOpenDatabase(rocksdb::DB& db, const std::string& backup_dir_in,
                                      const std::string& metadata,
                                      const BackupProgressFn& progress) {
  const std::string backup_dir = Normalise(backup_dir_in);
  RETURN_IF_ERROR(PrepareBackupDir(backup_dir, db.GetName()));
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngine> engine, OpenWritable(backup_dir));

  const uint64_t total = EstimateBytes(db);
  Throttled throttled(progress);
  uint64_t done = 0;  // touched only by the callback, which RocksDB serialises
  rocksdb::CreateBackupOptions options;
  options.flush_before_backup = true;
  options.progress_callback = [&] {
    done += kProgressBytes;
    throttled.Report({std::min(done, total), total}, false);
  };
  rocksdb::BackupID id = 0;
  RETURN_IF_ERROR(FromRocks(engine->CreateNewBackupWithMetadata(options, &db, metadata, &id),
                            "backing up " + db.GetName() + " to " + backup_dir));
  rocksdb::BackupInfo info;
  RETURN_IF_ERROR(FromRocks(engine->GetBackupInfo(id, &info),
                            "reading backup " + std::to_string(id) + " in " + backup_dir));
  throttled.Report({info.size, info.size}, true);
  return FromEngine(info);
}

Result<BackupInfo> BackupClosedDatabase(const std::string& db_dir_in, const std::string& backup_dir,
                                        const std::string& metadata,
                                        const BackupProgressFn& progress) {
  const std::string db_dir = Normalise(db_dir_in);
  std::error_code ec;
  if (!fs::exists(fs::path(db_dir) / "CURRENT", ec)) {
    return Status::NotFound("no RocksDB database in '" + db_dir + "'");
  }
  RETURN_IF_ERROR(CheckNotInUse(db_dir));

  // First with the database's own options (its OPTIONS file), else all families with defaults.
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status opened;
  {
    rocksdb::ConfigOptions config;
    config.ignore_unknown_options = true;
    config.env = rocksdb::Env::Default();
    rocksdb::DBOptions db_options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    opened = rocksdb::LoadLatestOptions(config, db_dir, &db_options, &families);
    if (opened.ok()) {
      db_options.create_if_missing = false;
      db_options.create_missing_column_families = false;
      opened = rocksdb::DB::Open(db_options, db_dir, families, &handles, &raw);
    }
  }
  if (!opened.ok()) {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = false;
    std::vector<std::string> names;
    RETURN_IF_ERROR(FromRocks(rocksdb::DB::ListColumnFamilies(db_options, db_dir, &names),
                              "listing the column families of " + db_dir));
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.reserve(names.size());
    for (const std::string& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    handles.clear();
    RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, db_dir, families, &handles, &raw),
                              "opening " + db_dir));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  Result<BackupInfo> result = BackupOpenDatabase(*db, backup_dir, metadata, progress);
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  Status closed = FromRocks(db->Close(), "closing " + db_dir);
  if (result.ok() && !closed.ok()) return closed;
  return result;
}

Result<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir_in) {
  const std::string backup_dir = Normalise(backup_dir_in);
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine, OpenReadOnly(backup_dir));
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  std::vector<BackupInfo> out;
  out.reserve(infos.size());
  for (const rocksdb::BackupInfo& i : infos)
    out.push_back(FromEngine(i));
  std::sort(out.begin(), out.end(),
            [](const BackupInfo& a, const BackupInfo& b) { return a.id < b.id; });
  return out;
}

Result<BackupInfo> FindBackup(const std::string& backup_dir_in, uint32_t id) {
  const std::string backup_dir = Normalise(backup_dir_in);
  ASSIGN_OR_RETURN(std::vector<BackupInfo> backups, ListBackups(backup_dir));
  if (backups.empty()) return Status::NotFound("no backups in " + backup_dir);
  if (id == 0) return backups.back();
  for (const BackupInfo& b : backups) {
    if (b.id == id) return b;
  }
  return Status::NotFound("no backup " + std::to_string(id) + " in " + backup_dir +
                          " (backups there: " + Ids(backups) + ")");
}

Status VerifyBackup(const std::string& backup_dir_in, uint32_t id) {
  const std::string backup_dir = Normalise(backup_dir_in);
  ASSIGN_OR_RETURN(BackupInfo info, FindBackup(backup_dir, id));
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine, OpenReadOnly(backup_dir));
  return FromRocks(engine->VerifyBackup(info.id, /*verify_with_checksum=*/true),
                   "backup " + std::to_string(info.id) + " in " + backup_dir);
}

Status CheckNotInUse(const std::string& db_dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(db_dir) / "LOCK", ec)) return Status::OK();
  ASSIGN_OR_RETURN(std::unique_ptr<DbLock> lock, DbLock::Acquire(db_dir));
  return Status::OK();
}

Result<BackupInfo> RestoreBackup(const std::string& backup_dir_in, uint32_t id,
                                 const std::string& target_in, const RestoreOptions& options) {
  const std::string backup_dir = Normalise(backup_dir_in);
  const std::string target = Normalise(target_in);
  std::error_code ec;

  // The target first: nothing is copied for a restore that would be refused.
  bool replace = false;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      return Status::InvalidArgument("refusing to overwrite '" + target +
                                     "': it is not a directory");
    }
    if (!fs::is_empty(target, ec)) {
      if (!options.force) {
        return Status::InvalidArgument("refusing to overwrite '" + target +
                                       "': it is not empty (force replaces a store that is "
                                       "not open)");
      }
      if (!fs::exists(fs::path(target) / "CURRENT", ec)) {
        return Status::InvalidArgument("refusing to replace '" + target +
                                       "': it is not empty and holds no RocksDB database");
      }
      replace = true;
    }
  }
  if (replace) RETURN_IF_ERROR(CheckNotInUse(target));
  ASSIGN_OR_RETURN(BackupInfo info, FindBackup(backup_dir, id));

  const fs::path parent = fs::absolute(fs::path(target), ec).parent_path();
  fs::create_directories(parent, ec);
  if (ec) return Status::IOError("creating " + parent.string() + ": " + ec.message());
  const std::string staging = Beside(target, "restore");
  // Whatever happens below, the staging directory does not outlive this function.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{staging};
  // Declared after `cleanup`, so gone (its copy threads joined) before the staging is removed.
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine, OpenReadOnly(backup_dir));

  {
    DirectoryWatcher watcher(staging, info.size_bytes, options.progress);
    RETURN_IF_ERROR(
        FromRocks(engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), info.id, staging, staging),
                  "restoring backup " + std::to_string(info.id) + " of " + backup_dir));
  }
  if (options.check) {
    RETURN_IF_ERROR(options.check(staging).WithContext(
        "restored backup " + std::to_string(info.id) + " of " + backup_dir));
  }

  if (replace) {
    // Hold the old database's LOCK across the swap, so that no process opens it meanwhile.
    ASSIGN_OR_RETURN(std::unique_ptr<DbLock> lock, DbLock::Acquire(target));
    const std::string aside = Beside(target, "replaced");
    fs::rename(target, aside, ec);
    if (ec) return Status::IOError("moving " + target + " aside: " + ec.message());
    fs::rename(staging, target, ec);
    if (ec) {
      std::error_code back;
      fs::rename(aside, target, back);
      return Status::IOError("renaming the restored copy to " + target + ": " + ec.message() +
                             (back ? "; the old store is in " + aside : ""));
    }
    lock.reset();
    fs::remove_all(aside, ec);  // the old store; a leftover only costs space
  } else {
    if (fs::exists(target, ec)) fs::remove(target, ec);  // an empty directory
    fs::rename(staging, target, ec);
    if (ec) {
      return Status::IOError("renaming the restored copy to " + target + ": " + ec.message());
    }
  }
  SyncDirectory(parent.string());
  if (options.progress) options.progress({info.size_bytes, info.size_bytes});
  return info;
}

Result<std::vector<uint32_t>> PurgeBackupsOlderThan(const std::string& backup_dir_in,
                                                    Timestamp cutoff, uint32_t keep_at_least) {
  const std::string backup_dir = Normalise(backup_dir_in);
  ASSIGN_OR_RETURN(std::vector<BackupInfo> backups, ListBackups(backup_dir));
  std::vector<uint32_t> doomed;
  size_t remaining = backups.size();
  for (const BackupInfo& b : backups) {  // oldest first
    if (remaining <= keep_at_least || b.created >= cutoff) break;
    doomed.push_back(b.id);
    --remaining;
  }
  if (doomed.empty()) return doomed;
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngine> engine, OpenWritable(backup_dir));
  for (uint32_t id : doomed) {
    RETURN_IF_ERROR(FromRocks(engine->DeleteBackup(id),
                              "deleting backup " + std::to_string(id) + " in " + backup_dir));
  }
  return doomed;
}

Result<std::vector<uint32_t>> KeepLastBackups(const std::string& backup_dir_in, uint32_t keep) {
  const std::string backup_dir = Normalise(backup_dir_in);
  ASSIGN_OR_RETURN(std::vector<BackupInfo> backups, ListBackups(backup_dir));
  std::vector<uint32_t> doomed;
  for (size_t i = 0; i + keep < backups.size(); ++i)
    doomed.push_back(backups[i].id);
  if (doomed.empty()) return doomed;
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngine> engine, OpenWritable(backup_dir));
  RETURN_IF_ERROR(FromRocks(engine->PurgeOldBackups(keep), "purging backups in " + backup_dir));
  return doomed;
}

}  // namespace amtsweg::store::backup
