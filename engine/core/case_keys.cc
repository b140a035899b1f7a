#include "engine/core/case_keys.h"

#include <utility>
#include <vector>

namespace amtsweg::core {

void KeySealer::Seal(std::string_view aad, std::string_view plaintext, std::string* out) const {
  crypto::Seal(key_, aad, plaintext, out);
}

Result<std::string> KeySealer::Open(std::string_view aad, std::string_view sealed) const {
  return crypto::Open(key_, aad, sealed);
}

Result<SealerRef> CaseKeys::SealerOf(std::string_view case_id) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = new_.find(std::string(case_id)); it != new_.end()) return it->second.second;
  }
  ASSIGN_OR_RETURN(std::optional<crypto::DataKey> key, keys_.Get(case_id));
  if (!key.has_value()) return SealerRef();
  return SealerRef(std::make_shared<KeySealer>(*key));
}

SealerRef CaseKeys::NewKey(const std::string& case_id) {
  crypto::DataKey key = crypto::DataKey::Generate();
  auto sealer = std::make_shared<KeySealer>(key);
  std::lock_guard lock(mu_);
  new_.insert_or_assign(case_id, std::pair(std::move(key), sealer));
  return sealer;
}

Status CaseKeys::PersistNew(const std::vector<std::string>& keep) {
  std::vector<std::pair<std::string, crypto::DataKey>> keys;
  {
    std::lock_guard lock(mu_);
    for (const std::string& id : keep) {
      if (auto it = new_.find(id); it != new_.end()) keys.emplace_back(id, it->second.first);
    }
  }
  Status s = keys.empty() ? Status::OK() : keys_.Put(keys);
  std::lock_guard lock(mu_);
  if (s.ok()) new_.clear();
  return s;
}

void CaseKeys::DropNew() {
  std::lock_guard lock(mu_);
  new_.clear();
}

}  // namespace amtsweg::core
