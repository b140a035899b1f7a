#include "engine/crypto/key_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/crypto/crypto_test_util.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::crypto {
namespace {

using amtsweg::testing::TempDir;
using testing::CaseId;
using testing::FilesContaining;
using testing::Keks;
using testing::RawKeyRecord;
using testing::ReadFiles;
using testing::WrappedPart;

class KeyStoreTest : public ::testing::Test {
 protected:
  KeyStoreTest() : dir_("amtsweg-keys"), kek_a_(NewKekLine("kek-a")), kek_b_(NewKekLine("kek-b")) {}

  std::string Dir() const { return dir_.path() + "/keys"; }

  std::unique_ptr<KeyStore> OpenWith(const std::string& kek_text, KeyStore::Options options = {}) {
    Result<std::unique_ptr<KeyStore>> store = KeyStore::Open(Dir(), Keks(kek_text), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static std::vector<std::string> Ids(int from, int to) {
    std::vector<std::string> ids;
    for (int i = from; i < to; ++i)
      ids.push_back(CaseId(i));
    return ids;
  }

  static std::map<std::string, std::string> KeysOf(KeyStore& store,
                                                   const std::vector<std::string>& ids) {
    std::map<std::string, std::string> keys;
    for (const std::string& id : ids) {
      Result<std::optional<DataKey>> key = store.Get(id);
      EXPECT_TRUE(key.ok()) << key.status().ToString();
      if (key.ok() && key->has_value()) keys[id] = std::string((*key)->bytes());
    }
    return keys;
  }

  static KeyStore::Options CacheOf(size_t entries) {
    KeyStore::Options options;
    options.cache_entries = entries;
    return options;
  }

  static Erasure ErasureOf(const std::string& id, Timestamp at = 1767225600000) {
    return Erasure{id, at, "admin:meier", "request of the data subject", "Art. 17(1)(a) GDPR"};
  }

  TempDir dir_;
  const std::string kek_a_, kek_b_;
};

TEST_F(KeyStoreTest, CreateGetAndIdempotentCreate) {
  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  Result<std::optional<DataKey>> none = store->Get("case-1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store->Create({"case-1", "case-2", "case-1"}).ok());
  auto keys = KeysOf(*store, {"case-1", "case-2"});
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys["case-1"], keys["case-2"]);

  // Again, with one new case: the old keys stay.
  ASSERT_TRUE(store->Create({"case-2", "case-3"}).ok());
  EXPECT_EQ(KeysOf(*store, {"case-1", "case-2"}), keys);
  EXPECT_EQ(KeysOf(*store, {"case-3"}).size(), 1u);

  // Reopened, without the cache: the same keys.
  store.reset();
  store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(KeysOf(*store, {"case-1", "case-2"}), keys);
  EXPECT_EQ(store->dir(), Dir());
  EXPECT_EQ(store->keks().current_id(), "kek-a");
}

TEST_F(KeyStoreTest, BadCaseIdsAreRefused) {
  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Create({"ok", ""}).IsInvalidArgument());
  EXPECT_TRUE(store->Create({std::string(257, 'x')}).IsInvalidArgument());
  EXPECT_TRUE(store->Create({std::string("a\0b", 3)}).IsInvalidArgument());
  EXPECT_FALSE(store->Get("ok")->has_value());  // nothing of the refused call was written
  EXPECT_FALSE(store->Get("").ok());
}

TEST_F(KeyStoreTest, StatsCountKeysPerKekAndErasures) {
  {
    auto store = OpenWith(kek_a_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create(Ids(0, 5)).ok());
  }
  auto store = OpenWith(kek_b_ + "\n" + kek_a_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(Ids(5, 8)).ok());
  ASSERT_TRUE(store->Destroy({ErasureOf(CaseId(0)), ErasureOf("never-had-a-key")}).ok());
  Result<KeyStore::Stats> stats = store->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->keys, 7u);
  EXPECT_EQ(stats->keys_by_kek, (std::map<std::string, uint64_t>{{"kek-a", 4}, {"kek-b", 3}}));
  EXPECT_EQ(stats->erased, 2u);
}

TEST_F(KeyStoreTest, OpenWithAWrongKekFailsAndChangesNothing) {
  std::map<std::string, std::string> keys;
  {
    auto store = OpenWith(kek_a_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create(Ids(0, 10)).ok());
    keys = KeysOf(*store, Ids(0, 10));
  }
  auto data_files = [&] {
    std::map<std::string, std::string> files = ReadFiles(Dir());
    std::erase_if(files, [](const auto& f) {
      return std::filesystem::path(f.first).filename().string().rfind("LOG", 0) == 0;
    });
    return files;
  };
  const auto before = data_files();

  const std::string impostor = NewKekLine("kek-a");  // the same id, other bytes
  Result<std::unique_ptr<KeyStore>> wrong = KeyStore::Open(Dir(), Keks(impostor));
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_EQ(wrong.status().message(),
            "the KEK 'kek-a' in test keks is not the one this key store was written with");
  // Also as a later (unwrapping) KEK.
  Result<std::unique_ptr<KeyStore>> later = KeyStore::Open(Dir(), Keks(kek_b_ + "\n" + impostor));
  ASSERT_FALSE(later.ok());
  EXPECT_TRUE(later.status().IsInvalidArgument());
  EXPECT_EQ(data_files(), before);

  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(KeysOf(*store, Ids(0, 10)), keys);
}

TEST_F(KeyStoreTest, OpenWithoutAKekTheStoreNeedsFailsNamingIt) {
  {
    auto store = OpenWith(kek_a_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create({"case-1"}).ok());
  }
  Result<std::unique_ptr<KeyStore>> store = KeyStore::Open(Dir(), Keks(kek_b_));
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsInvalidArgument());
  const std::string& msg = store.status().message();
  EXPECT_NE(msg.find("'kek-a'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("add it to the key file"), std::string::npos) << msg;
  // With both, it opens; the new current KEK wraps new keys.
  auto both = OpenWith(kek_b_ + "\n" + kek_a_);
  ASSERT_NE(both, nullptr);
  EXPECT_TRUE((*both->Get("case-1")).has_value());
}

TEST_F(KeyStoreTest, OpenOfAMissingStoreWithoutCreateIsNotFound) {
  KeyStore::Options options;
  options.create_if_missing = false;
  Result<std::unique_ptr<KeyStore>> store = KeyStore::Open(Dir(), Keks(kek_a_), options);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsNotFound());
  EXPECT_NE(store.status().message().find(Dir()), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(Dir()));
}

TEST_F(KeyStoreTest, DestroyedKeysAreGoneRecordedAndNeverMadeAgain) {
  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create({"case-1", "case-2"}).ok());
  ASSERT_TRUE(store->Get("case-1")->has_value());  // now cached

  const Erasure first = ErasureOf("case-1", 1000);
  ASSERT_TRUE(store->Destroy({first}).ok());
  Result<std::optional<DataKey>> key = store->Get("case-1");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  Result<std::optional<Erasure>> erased = store->Erased("case-1");
  ASSERT_TRUE(erased.ok());
  ASSERT_TRUE(erased->has_value());
  EXPECT_EQ(**erased, first);
  EXPECT_FALSE(store->Erased("case-2")->has_value());
  EXPECT_TRUE(store->Get("case-2")->has_value());

  // Creating it again is refused, and the whole call writes nothing.
  Status again = store->Create({"case-3", "case-1"});
  EXPECT_TRUE(again.IsInvalidArgument());
  EXPECT_NE(again.message().find("'case-1' was erased"), std::string::npos) << again.message();
  EXPECT_FALSE(store->Get("case-3")->has_value());

  // Destroying again keeps the first record.
  Erasure second = ErasureOf("case-1", 2000);
  second.reason = "other";
  ASSERT_TRUE(store->Destroy({second, ErasureOf("case-4", 3000)}).ok());
  EXPECT_EQ(**store->Erased("case-1"), first);

  std::vector<Erasure> all;
  ASSERT_TRUE(store
                  ->ScanErasures([&](const Erasure& e) {
                    all.push_back(e);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(all, (std::vector<Erasure>{first, ErasureOf("case-4", 3000)}));

  // The register survives a reopen.
  store.reset();
  store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->Erased("case-1"), first);
  EXPECT_FALSE(store->Get("case-1")->has_value());
  EXPECT_TRUE(store->Create({"case-1"}).IsInvalidArgument());
}

TEST_F(KeyStoreTest, ScanErasuresGoesThroughManyInOrderAndStops) {
  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  std::vector<Erasure> erasures;
  for (int i = 0; i < 2500; ++i)
    erasures.push_back(ErasureOf(CaseId(i), i));
  ASSERT_TRUE(store->Destroy(erasures).ok());
  std::vector<Erasure> seen;
  ASSERT_TRUE(store
                  ->ScanErasures([&](const Erasure& e) {
                    seen.push_back(e);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen, erasures);
  size_t calls = 0;
  ASSERT_TRUE(store->ScanErasures([&](const Erasure&) { return ++calls < 1500; }).ok());
  EXPECT_EQ(calls, 1500u);
}

// After Destroy no file of the key directory holds the erased keys, wrapped or plain; the other
// keys still open.
void ExpectPurged(KeyStore& store, const std::string& dir, const std::vector<std::string>& erased,
                  const std::map<std::string, std::string>& records,
                  const std::map<std::string, std::string>& plain) {
  for (const std::string& id : erased) {
    EXPECT_EQ(FilesContaining(dir, WrappedPart(records.at(id))), std::vector<std::string>())
        << "wrapped key of " << id;
    EXPECT_EQ(FilesContaining(dir, plain.at(id)), std::vector<std::string>())
        << "plain key of " << id;
    EXPECT_FALSE(store.Get(id)->has_value());
  }
}

TEST_F(KeyStoreTest, DestroyPurgesTheKeyBytesFromEveryFile) {
  auto store = OpenWith(kek_a_);
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> ids = Ids(0, 2000);
  ASSERT_TRUE(store->Create(ids).ok());
  testing::Flush(*store);
  // More keys, left in the memtable and the WAL.
  const std::vector<std::string> fresh = Ids(2000, 2100);
  ASSERT_TRUE(store->Create(fresh).ok());

  std::map<std::string, std::string> records, plain;
  for (const std::string& id : ids)
    records[id] = RawKeyRecord(*store, id);
  for (const std::string& id : fresh)
    records[id] = RawKeyRecord(*store, id);
  plain = KeysOf(*store, ids);
  plain.merge(KeysOf(*store, fresh));

  // Erased: some from the SST (first, middle, last), some still in the WAL only.
  const std::vector<std::string> erased = {CaseId(0),    CaseId(777),  CaseId(1999),
                                           CaseId(2000), CaseId(2050), CaseId(2099)};
  for (const std::string& id : erased) {
    // The search finds what is there: the wrapped key is on disk before (no compression), the
    // plain key never is.
    EXPECT_FALSE(FilesContaining(Dir(), WrappedPart(records[id])).empty()) << id;
    EXPECT_TRUE(FilesContaining(Dir(), plain[id]).empty()) << id;
  }
  std::vector<Erasure> erasures;
  for (const std::string& id : erased)
    erasures.push_back(ErasureOf(id));
  ASSERT_TRUE(store->Destroy(erasures).ok());
  ExpectPurged(*store, Dir(), erased, records, plain);

  // Every other key still opens, and is still on disk.
  std::vector<std::string> kept;
  for (const auto& [id, key] : plain) {
    if (std::find(erased.begin(), erased.end(), id) == erased.end()) kept.push_back(id);
  }
  std::map<std::string, std::string> kept_keys = KeysOf(*store, kept);
  ASSERT_EQ(kept_keys.size(), kept.size());
  for (const std::string& id : kept)
    EXPECT_EQ(kept_keys[id], plain[id]);
  EXPECT_FALSE(FilesContaining(Dir(), WrappedPart(records[CaseId(1)])).empty());

  // Still so after a reopen (which reads the directory afresh).
  store.reset();
  store = OpenWith(kek_a_, CacheOf(0));
  ASSERT_NE(store, nullptr);
  ExpectPurged(*store, Dir(), erased, records, plain);
  EXPECT_EQ(KeysOf(*store, kept), kept_keys);
}

TEST_F(KeyStoreTest, RotateRewrapsWhileReadersRead) {
  const std::vector<std::string> ids = Ids(0, 2500);
  std::map<std::string, std::string> keys;
  {
    auto store = OpenWith(kek_a_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create(ids).ok());
    keys = KeysOf(*store, ids);
  }
  // Without a cache every Get reads and unwraps the stored key.
  auto store = OpenWith(kek_b_ + "\n" + kek_a_, CacheOf(0));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create({"new-case"}).ok());  // under kek-b already

  std::mutex mu;
  std::condition_variable cv;
  uint64_t reads = 0;
  bool stop = false;
  std::atomic<uint64_t> failures{0};
  std::thread reader([&] {
    for (size_t i = 0;; ++i) {
      {
        std::lock_guard lock(mu);
        if (stop) return;
      }
      const std::string& id = ids[(i * 7919) % ids.size()];
      Result<std::optional<DataKey>> key = store->Get(id);
      if (!key.ok() || !key->has_value() || std::string((*key)->bytes()) != keys.at(id)) {
        failures.fetch_add(1);
      }
      std::lock_guard lock(mu);
      ++reads;
      cv.notify_all();
    }
  });

  std::vector<std::pair<uint64_t, uint64_t>> calls;
  Result<uint64_t> rotated = store->Rotate([&](uint64_t done, uint64_t total) {
    calls.emplace_back(done, total);
    // Lets the reader read between the batches, so that reads and rewrapping interleave.
    std::unique_lock lock(mu);
    const uint64_t seen = reads;
    cv.wait(lock, [&] { return reads >= seen + 3; });
  });
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  reader.join();
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(*rotated, 2500u);
  EXPECT_EQ(calls,
            (std::vector<std::pair<uint64_t, uint64_t>>{{1000, 2500}, {2000, 2500}, {2500, 2500}}));
  EXPECT_EQ(failures.load(), 0u);

  Result<KeyStore::Stats> stats = store->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->keys_by_kek, (std::map<std::string, uint64_t>{{"kek-b", 2501}}));
  // Nothing left to do.
  Result<uint64_t> again = store->Rotate(nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);

  // Only the new KEK is needed now; the old one alone no longer opens the store.
  store.reset();
  store = OpenWith(kek_b_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(KeysOf(*store, ids), keys);
  store.reset();
  Result<std::unique_ptr<KeyStore>> old_only = KeyStore::Open(Dir(), Keks(kek_a_));
  ASSERT_FALSE(old_only.ok());
  EXPECT_NE(old_only.status().message().find("'kek-b'"), std::string::npos);
}

TEST_F(KeyStoreTest, ReadersRunConcurrentlyWithCreateAndDestroy) {
  auto store = OpenWith(kek_a_, CacheOf(64));
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> ids = Ids(0, 200);
  ASSERT_TRUE(store->Create(ids).ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); !stop.load(); ++i) {
        const std::string& id = ids[i % ids.size()];
        if (!store->Get(id).ok() || !store->Erased(id).ok()) failures.fetch_add(1);
        if (i % 50 == 0 && !store->GetStats().ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store->Create(Ids(1000 + 10 * i, 1010 + 10 * i)).ok());
    ASSERT_TRUE(store->Destroy({ErasureOf(ids[static_cast<size_t>(i) * 3])}).ok());
  }
  stop.store(true);
  for (std::thread& r : readers)
    r.join();
  EXPECT_EQ(failures.load(), 0u);
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(store->Get(ids[static_cast<size_t>(i) * 3])->has_value());
}

}  // namespace
}  // namespace amtsweg::crypto
