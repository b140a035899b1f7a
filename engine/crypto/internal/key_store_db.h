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

#include "engine/crypto/key_store.h"

namespace amtsweg::crypto::internal {

struct KeyStoreAccess {
  // The database; owned by `store`, valid while it lives.
  static rocksdb::DB* Db(KeyStore& store);
};

}  // namespace amtsweg::crypto::internal
