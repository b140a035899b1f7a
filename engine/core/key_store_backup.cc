#include "engine/core/key_store_backup.h"

#include <filesystem>
#include <optional>

#include "engine/crypto/internal/key_store_db.h"
#include "engine/store/internal/backup.h"

namespace amtsweg::core {

Result<int64_t> ParseKeyRetention(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  const bool days_only = d.ok() && d->years == 0 && d->months == 0 && d->weeks == 0 &&
                         !d->has_time_part() && d->days > 0;
  if (!days_only) {
    return Status::InvalidArgument("--key-retention '" + std::string(text) +
                                   "': give whole days as an ISO 8601 duration, e.g. P7D");
  }
  return int64_t{d->days} * 86400 * 1000;
}

Result<KeyStoreBackup> BackupKeyStore(crypto::KeyStore& keys, const std::string& backup_dir,
                                      Timestamp now, int64_t retention_ms,
                                      const store::BackupProgressFn& progress) {
  const std::string metadata = store::backup::Metadata(
      store::backup::kKindKeyStore, std::filesystem::absolute(keys.dir()).string());
  std::optional<store::BackupInfo> made;
  RETURN_IF_ERROR(
      crypto::internal::KeyStoreAccess::WithWritersPaused(keys, [&](rocksdb::DB& db) -> Status {
        ASSIGN_OR_RETURN(store::BackupInfo info,
                         store::backup::BackupOpenDatabase(db, backup_dir, metadata, progress));
        made = info;
        return Status::OK();
      }));
  KeyStoreBackup out;
  out.backup = *made;
  Result<std::vector<uint32_t>> deleted =
      store::backup::PurgeBackupsOlderThan(backup_dir, now - retention_ms, 1);
  if (!deleted.ok()) {
    return deleted.status().WithContext("key-store backup " + std::to_string(made->id) +
                                        " was made, but deleting older ones");
  }
  out.deleted = std::move(deleted).value();
  return out;
}

}  // namespace amtsweg::core
