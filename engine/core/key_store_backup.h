// Backups of the key store (crypto::KeyStore, in `<data-dir>.keys`) while the engine runs, apart
// from the store's backups, with a retention of their own (docs/data-protection.md, "Backups"):
// a key-store backup holds the keys of cases erased after it was made, so it is kept only as long
// as it is needed to restore a recent backup of the data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/crypto/key_store.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// The retention of key-store backups when none is given (`--key-retention`).
inline constexpr std::string_view kDefaultKeyRetention = "P7D";

// "P7D" -> 7 days in milliseconds. Only whole days (an ISO 8601 duration of days, > 0);
// InvalidArgument "--key-retention '<text>': ..." otherwise.
Result<int64_t> ParseKeyRetention(std::string_view text);

struct KeyStoreBackup {
  store::BackupInfo backup;       // the backup made
  std::vector<uint32_t> deleted;  // the ids of older backups deleted by the retention
};

// Backs up the open key store `keys` into `backup_dir` (created if missing; empty or a backup
// directory) while the engine uses it: the key store's writers wait meanwhile (the engine's
// first commit of a new case waits for it; readers do not), and its rule that only it deletes
// its files is kept (crypto/internal/key_store_db.h). Then deletes the backups in `backup_dir`
// created before `now - retention_ms`, keeping the newest. `progress` as for
// Store::CreateBackup. Errors as store::Store::CreateBackup; a failed retention is returned with
// the context "key-store backup <id> was made, but deleting older ones".
// Thread-safe, but no two calls (nor any other process) may write `backup_dir` at the same time.
Result<KeyStoreBackup> BackupKeyStore(crypto::KeyStore& keys, const std::string& backup_dir,
                                      Timestamp now, int64_t retention_ms,
                                      const store::BackupProgressFn& progress);

}  // namespace amtsweg::core
