// Helpers of the crypto tests: KEKs from text, the raw files of a key store directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/crypto/internal/key_store_db.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "tests/testing/files.h"

namespace amtsweg::crypto::testing {

using amtsweg::testing::FilesContaining;

// KEKs parsed from `text` (lines made by NewKekLine); fails the test on an error.
inline std::unique_ptr<KeyEncryptionKeys> Keks(const std::string& text) {
  Result<std::unique_ptr<KeyEncryptionKeys>> keks = ParseKeks(text, "test keks");
  EXPECT_TRUE(keks.ok()) << keks.status().ToString();
  return keks.ok() ? std::move(keks).value() : nullptr;
}

// Every regular file under `dir` (recursively), path -> raw content.
inline std::map<std::string, std::string> ReadFiles(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files[entry.path().string()].assign(std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>());
  }
  return files;
}

// The stored value of a case's key record ("k/<case id>"), read from RocksDB; empty when none.
inline std::string RawKeyRecord(KeyStore& store, const std::string& case_id) {
  std::string value;
  rocksdb::Status s =
      internal::KeyStoreAccess::Db(store)->Get(rocksdb::ReadOptions(), "k/" + case_id, &value);
  EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
  return value;
}

// The wrapped key inside a key record: the last 32 + 28 bytes (see engine/crypto/README.md).
inline std::string WrappedPart(const std::string& record) {
  constexpr size_t kWrapped = DataKey::kBytes + kSealOverhead;
  return record.size() >= kWrapped ? record.substr(record.size() - kWrapped) : record;
}

// Flushes the memtable into an SST file.
inline void Flush(KeyStore& store) {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  rocksdb::Status s = internal::KeyStoreAccess::Db(store)->Flush(fo);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

inline std::string CaseId(int i) {
  return "case-" + std::to_string(100000 + i);
}

}  // namespace amtsweg::crypto::testing
