// Internal to amtsweg: the key store's RocksDB database, for the module that backs it up. Not a
// public header; RocksDB stays out of key_store.h.
//
// While a KeyStore is open, RocksDB's file deletions are disabled (DisableFileDeletions once at
// Open): obsolete files are deleted only by the store itself (Purge and the other writers), in the
// calling thread, so that Purge can promise that the wrapped bytes of erased keys are gone when it
// returns. A backup may nest DisableFileDeletions() / EnableFileDeletions(/*force=*/false) pairs
// around its copy (as BackupEngine and Checkpoint do), but must never call
// EnableFileDeletions(true), which would let background jobs delete files behind Purge's back.
#pragma once

#include <rocksdb/db.h>

#include <functional>

#include "engine/common/status.h"
#include "engine/crypto/key_store.h"

namespace amtsweg::crypto::internal {

struct KeyStoreAccess {
  // The database; owned by `store`, valid while it lives.
  static rocksdb::DB* Db(KeyStore& store);

  // Runs `fn` on the database while no writer of `store` runs (Create, Put, Destroy, Purge and
  // Rotate wait; readers go on), then deletes the files that became obsolete meanwhile. For a
  // backup of an open key store: a Purge cannot run while the backup's DisableFileDeletions
  // keeps obsolete files (it could not promise that the erased keys' bytes are gone), and the
  // files the backup's flush made obsolete are deleted before this returns. Returns fn's status,
  // or the deletion's when fn succeeded. Thread-safe.
  static Status WithWritersPaused(KeyStore& store, const std::function<Status(rocksdb::DB&)>& fn);
};

}  // namespace amtsweg::crypto::internal
