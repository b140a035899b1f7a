// The key store: every case's data key, wrapped by a KEK, in a RocksDB database of its own.
//
// It lives in its own directory (by default "<data dir>.keys", see DefaultKeyDir), apart from the
// data store, so that backups of the data never hold keys. Besides the keys it keeps the erasure
// register (which cases were erased, when, by whom, why; no personal data), which lets the engine
// apply erasures again after an old data backup is restored, and one check record per KEK id that
// ever wrapped a key, so that a wrong KEK is refused at Open instead of at the first read.
// Layout: engine/crypto/README.md.
//
// Thread-safety: Get, Erased, ScanErasures and GetStats may be called from any thread, also while
// Create, Destroy, Purge or Rotate run. The writers serialise among themselves (internally).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/crypto/data_key.h"
#include "engine/crypto/kek.h"

namespace amtsweg::crypto {

namespace internal {
struct KeyStoreAccess;  // engine/crypto/internal/key_store_db.h
}  // namespace internal

// An erasure as the register records it.
struct Erasure {
  std::string case_id;
  Timestamp at = 0;    // when it was erased
  std::string by;      // who ordered it (an administrator)
  std::string reason;  // e.g. "request of the data subject"
  std::string basis;   // legal basis, e.g. "Art. 17(1)(a) GDPR"
  friend bool operator==(const Erasure&, const Erasure&) = default;
};

class KeyStore {
 public:
  struct Options {
    bool create_if_missing = true;
    bool sync = true;  // fsync every write (turn off only in tests or benchmarks that say so)
    size_t cache_entries = 100000;  // unwrapped keys kept in memory (LRU); 0: none
    // Crash tests only: called by Destroy after its write and before the physical purge (a test
    // hook calls _exit() there). Never set by the engine.
    std::function<void()> after_destroy_write_for_test;
  };

  // Opens (or, with create_if_missing, creates) the key store in `dir`, using `keks`. Before it
  // changes anything it checks that the KEKs fit the store: every KEK id the store has keys under
  // must be configured (else InvalidArgument naming the ids and telling to add them to the key
  // file), and each must open its check record (else InvalidArgument "the KEK '<id>' in <where> is
  // not the one this key store was written with"). NotFound when `dir` does not exist and
  // create_if_missing is false; IOError / Corruption from RocksDB. Nothing is changed on error.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& dir,
                                                std::unique_ptr<KeyEncryptionKeys> keks,
                                                Options options);
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& dir,
                                                std::unique_ptr<KeyEncryptionKeys> keks);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Makes a key (under the current KEK) for each case of `case_ids` that has none, all in one
  // synced write; cases that have one keep it (idempotent). InvalidArgument naming the case when
  // a case id is not 1..256 bytes without NUL, or when a case was erased (an erased case never gets
  // a key again); nothing is written then.
  Status Create(const std::vector<std::string>& case_ids);

  // Stores the given keys (made by the caller, who seals with them before the keys are written:
  // the engine), all in one synced write; a case's key made earlier is replaced (a key kept for a
  // case whose commit a crash then lost). InvalidArgument as Create (bad id, erased case);
  // nothing is written then.
  Status Put(const std::vector<std::pair<std::string, DataKey>>& keys);

  // The case's key; nullopt when it has none (never created, or destroyed). Corruption / NotFound
  // when the stored key does not unwrap (see KeyEncryptionKeys::Unwrap). Unwrapped keys are cached.
  Result<std::optional<DataKey>> Get(std::string_view case_id) const;

  // Erases cases: destroys their keys and records each erasure in the register, in one synced
  // write (a crash leaves either the key, or the record and no key), drops the keys from the
  // cache, then purges the wrapped key bytes physically from every file in the directory (Purge).
  // A case erased before keeps its first register record; a case without a key is recorded all
  // the same. InvalidArgument for a bad case id (nothing written).
  Status Destroy(const std::vector<Erasure>& erasures);

  // The physical purge alone: flushes the memtable, compacts the ranges of every erased key not
  // yet purged with bottommost-level compaction forced, makes the WAL files that held them
  // obsolete and deletes every obsolete file. Afterwards no file in the directory holds the
  // wrapped bytes of an erased key. Cheap when nothing is pending; call it after a restart to
  // finish a Destroy that a crash interrupted. (Deleted files may still linger in unallocated
  // disk blocks; those bytes are wrapped by the KEK.)
  Status Purge();

  // The register record of an erased case; nullopt when the case was not erased.
  Result<std::optional<Erasure>> Erased(std::string_view case_id) const;
  // Every register record, by case id; stops when fn returns false.
  Status ScanErasures(const std::function<bool(const Erasure&)>& fn) const;

  // Rewraps every key that is not under the current KEK, in batches of about 1000 keys (one write
  // each), calling progress(done, total) after each batch. Readers keep working throughout: a key
  // is under the old or the new KEK, and both open while both are configured. Other writers wait
  // only for the batch in progress. Afterwards the check records of KEK ids that wrap no key any
  // more are removed, so that the store opens without those KEKs. Returns the number rewrapped.
  Result<uint64_t> Rotate(const std::function<void(uint64_t done, uint64_t total)>& progress);

  struct Stats {
    uint64_t keys = 0;
    std::map<std::string, uint64_t> keys_by_kek;  // KEK id -> keys it wraps
    uint64_t erased = 0;                          // register records
  };
  // Counts by scanning the store.
  Result<Stats> GetStats() const;

  // The KEKs the store was opened with.
  const KeyEncryptionKeys& keks() const;
  const std::string& dir() const;

 private:
  friend struct internal::KeyStoreAccess;
  struct Impl;
  explicit KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::crypto
