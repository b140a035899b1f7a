// The cases' data keys as the engine and the readers of cases use them: crypto::KeyStore seen as
// one runtime::Sealer per case (personal.h seals personal values with it).
//
// The engine asks for a new case's key when the case opens (NewKey), seals with it at once, and
// writes the batch's new keys to the key store (PersistNew, one synced write) before it commits
// the batch to the data store, so no stored event is ever sealed under a key that was not kept.
// A crash between the two leaves only a key for a case that does not exist; the case's input is
// processed again and its key is replaced.
//
// Thread-safety: SealerOf may be called from any thread (the HTTP API's readers); NewKey,
// PersistNew and DropNew only from the engine's thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/common/status.h"
#include "engine/crypto/key_store.h"
#include "engine/runtime/personal.h"

namespace amtsweg::core {

// A runtime::Sealer over one data key (AES-256-GCM).
class KeySealer final : public runtime::Sealer {
 public:
  explicit KeySealer(const crypto::DataKey& key) : key_(key) {}
  void Seal(std::string_view aad, std::string_view plaintext, std::string* out) const override;
  Result<std::string> Open(std::string_view aad, std::string_view sealed) const override;

 private:
  crypto::DataKey key_;
};

using SealerRef = std::shared_ptr<const runtime::Sealer>;

class CaseKeys {
 public:
  // Borrows `keys`, which must outlive this.
  explicit CaseKeys(crypto::KeyStore& keys) : keys_(keys) {}
  CaseKeys(const CaseKeys&) = delete;
  CaseKeys& operator=(const CaseKeys&) = delete;

  // The case's sealer: its key not yet persisted, or from the key store; nullptr when the case
  // has no key (erased, or stored before it was encrypted).
  Result<SealerRef> SealerOf(std::string_view case_id) const;
  // A fresh key for a case being opened, kept in memory until PersistNew.
  SealerRef NewKey(const std::string& case_id);
  // Writes the new keys of the cases in `keep` (the others are dropped: they opened nothing),
  // in one synced write.
  Status PersistNew(const std::vector<std::string>& keep);
  // Forgets the new keys (a batch that is not committed).
  void DropNew();

  crypto::KeyStore& store() { return keys_; }
  const crypto::KeyStore& store() const { return keys_; }

 private:
  crypto::KeyStore& keys_;
  mutable std::mutex mu_;  // guards new_
  std::unordered_map<std::string, std::pair<crypto::DataKey, SealerRef>> new_;
};

}  // namespace amtsweg::core
