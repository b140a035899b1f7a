// Backups of the engine's RocksDB databases on rocksdb::BackupEngine: the store (Store's backup
// functions are thin wrappers of these) and any other RocksDB database of the engine, such as
// the key store in `<data-dir>.keys`, open (a rocksdb::DB*) or closed (a directory).
//
// Internal to the engine: other engine modules may include it; it includes RocksDB headers.
//
// A backup directory is BackupEngine's: meta/<id> (the file list with sizes and crc32c
// checksums, and our metadata), private/<id>/ (the MANIFEST, WAL, OPTIONS of one backup) and
// shared_checksum/ (table files, shared by the backups that contain them). Backups are
// incremental: a table file already there is not copied again.
//
// Thread-safety: the functions keep no state. Two operations that write the same backup
// directory (create, purge) must not run at the same time, in one process or several; reading
// operations (list, verify, restore) may run beside each other.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/store/store.h"

namespace amtsweg::store::backup {

// The "format" of the metadata of the engine's backups.
inline constexpr std::string_view kFormat = "amtsweg store backup v1";
// The "kind" of a store's backups, and of the key store's.
inline constexpr std::string_view kKindStore = "store";
inline constexpr std::string_view kKindKeyStore = "key store";

// The metadata stored with a backup: {"format": kFormat, "kind": kind, "created": now (RFC
// 3339), "amtsweg": version, "source": source_dir}.
std::string Metadata(std::string_view kind, std::string_view source_dir);
// The "kind" in `metadata`, or empty when it is not the engine's metadata.
std::string MetadataKind(std::string_view metadata);

// Backs up the open database `db` into `backup_dir` (created if missing; an existing directory
// must be empty or a backup directory, and may not lie inside the database's directory)
// with `metadata`. Consistent while other threads write to `db`: the memtables are flushed and
// the WAL copied up to one moment. `progress` (may be empty) is called at most a few times a
// second from a RocksDB copy thread, never concurrently with itself, and once at the end.
Result<BackupInfo> BackupOpenDatabase(rocksdb::DB& db, const std::string& backup_dir,
                                      const std::string& metadata,
                                      const BackupProgressFn& progress);

// Backs up the closed database in `db_dir`: opens it with all its column families (their
// options from its OPTIONS file when that loads, else RocksDB's defaults), backs it up as
// BackupOpenDatabase, closes it. Unavailable when another process has it open (CheckNotInUse);
// NotFound when `db_dir` holds no RocksDB database.
Result<BackupInfo> BackupClosedDatabase(const std::string& db_dir, const std::string& backup_dir,
                                        const std::string& metadata,
                                        const BackupProgressFn& progress);

// The backups in `backup_dir`, oldest first. NotFound when `backup_dir` does not exist or is no
// backup directory.
Result<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir);
// Backup `id` in `backup_dir`, or the newest for id 0. NotFound naming the directory and the
// ids there when there is no such backup.
Result<BackupInfo> FindBackup(const std::string& backup_dir, uint32_t id);

// Checks the size and crc32c checksum of every file of backup `id` (0: the newest). Corruption
// "backup <id> in <dir>: ..." naming the bad file; NotFound as FindBackup.
Status VerifyBackup(const std::string& backup_dir, uint32_t id);

struct RestoreOptions {
  // Replace an existing database in the target (a directory with a CURRENT file) when no
  // process has it open. Without it, a target that exists and is not empty is refused.
  bool force = false;
  // Called on the restored directory before it becomes the target; a failure aborts the
  // restore (the restored copy is removed) and is returned. May be empty.
  std::function<Status(const std::string& restored_dir)> check;
  BackupProgressFn progress;  // as for BackupOpenDatabase, from a helper thread; may be empty
};

// Restores backup `id` (0: the newest) into `target_dir` (trailing slashes ignored; its parent
// is created if missing): into a fresh directory beside the target, then `options.check`, then
// a rename, so that after any failure the target is as it was (a crash can leave a directory
// "<target>.restore-*" beside it, never a half-written target). InvalidArgument "refusing to
// overwrite ..." when the target is not empty (and not a database replaced with `force`);
// Unavailable when a database to be replaced is open; Corruption when a file's checksum does
// not match. Returns the backup restored.
Result<BackupInfo> RestoreBackup(const std::string& backup_dir, uint32_t id,
                                 const std::string& target_dir, const RestoreOptions& options);

// Unavailable "<db_dir> is in use: ..." when a process (this one included) holds the RocksDB
// LOCK of `db_dir`; OK when nobody does or there is no LOCK file. Changes nothing.
Status CheckNotInUse(const std::string& db_dir);

// Retention. Deletes, oldest first, the backups created before `cutoff` while more than
// `keep_at_least` backups remain (the newest are always kept), and the files only they used.
// Returns the ids deleted. NotFound as ListBackups.
Result<std::vector<uint32_t>> PurgeBackupsOlderThan(const std::string& backup_dir, Timestamp cutoff,
                                                    uint32_t keep_at_least);
// Deletes all but the newest `keep` backups. Returns the ids deleted.
Result<std::vector<uint32_t>> KeepLastBackups(const std::string& backup_dir, uint32_t keep);

}  // namespace amtsweg::store::backup
