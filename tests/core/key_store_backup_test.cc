// core::BackupKeyStore: a backup of the open key store beside its writers keeps the key store's
// rule that only it deletes its files (a Purge after the backup leaves no erased key's bytes in
// the key directory), restores with every key, and applies the key-store retention;
// ParseKeyRetention takes whole days only.
#include "engine/core/key_store_backup.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/crypto/kek.h"
#include "engine/store/internal/backup.h"
#include "tests/crypto/crypto_test_util.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using crypto::testing::CaseId;
using crypto::testing::FilesContaining;
using crypto::testing::RawKeyRecord;
using crypto::testing::WrappedPart;

constexpr int64_t kDay = int64_t{86400} * 1000;

class KeyStoreBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = crypto::KeyStore::Open(keys_dir_, crypto::testing::Keks(kek_));
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = std::move(keys).value();
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i)
      ids.push_back(CaseId(i));
    ASSERT_TRUE(keys_->Create(ids).ok());
  }

  testing::TempDir dir_{"amtsweg-key-backup"};
  const std::string keys_dir_ = dir_.path() + "/data.keys";
  const std::string backup_dir_ = dir_.path() + "/backups.keys";
  const std::string kek_ = crypto::NewKekLine("kek-a");
  std::unique_ptr<crypto::KeyStore> keys_;
};

TEST_F(KeyStoreBackupTest, ABackupBesideWritersRestoresAndAPurgeAfterItLeavesNoErasedKey) {
  // A writer beside the backup: it waits for the backup, or the backup for it.
  std::thread writer([this] {
    std::vector<std::string> more;
    for (int i = 100; i < 200; ++i)
      more.push_back(CaseId(i));
    EXPECT_TRUE(keys_->Create(more).ok());
  });
  Result<KeyStoreBackup> made = BackupKeyStore(*keys_, backup_dir_, 0, kDay, {});
  writer.join();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->backup.id, 1u);
  EXPECT_TRUE(made->deleted.empty());
  EXPECT_EQ(store::backup::MetadataKind(made->backup.metadata), store::backup::kKindKeyStore);

  // Erased after the backup: gone from every file of the key directory (the backup keeps it).
  const std::string wrapped = WrappedPart(RawKeyRecord(*keys_, CaseId(7)));
  ASSERT_FALSE(wrapped.empty());
  ASSERT_TRUE(keys_->Destroy({crypto::Erasure{CaseId(7), 1, "admin", "test", "test"}}).ok());
  EXPECT_EQ(FilesContaining(keys_dir_, wrapped), std::vector<std::string>());

  const std::string target = dir_.path() + "/restored.keys";
  ASSERT_TRUE(store::backup::RestoreBackup(backup_dir_, 1, target, {}).ok());
  auto restored = crypto::KeyStore::Open(target, crypto::testing::Keks(kek_));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Result<crypto::KeyStore::Stats> stats = (*restored)->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->keys, 100u);
  EXPECT_TRUE((*(*restored)->Get(CaseId(7))).has_value());
}

TEST_F(KeyStoreBackupTest, TheRetentionDeletesOlderBackupsAndKeepsTheNewest) {
  ASSERT_TRUE(BackupKeyStore(*keys_, backup_dir_, 0, kDay, {}).ok());
  ASSERT_TRUE(keys_->Create({"case-new"}).ok());
  ASSERT_TRUE(BackupKeyStore(*keys_, backup_dir_, 0, kDay, {}).ok());
  // Eight days on, both are older than P7D: the first goes, the new third is kept.
  Result<std::vector<store::BackupInfo>> list = store::backup::ListBackups(backup_dir_);
  ASSERT_TRUE(list.ok());
  const Timestamp later = list->back().created + 8 * kDay;
  Result<KeyStoreBackup> third = BackupKeyStore(*keys_, backup_dir_, later, 7 * kDay, {});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->backup.id, 3u);
  EXPECT_EQ(third->deleted, (std::vector<uint32_t>{1, 2}));
  list = store::backup::ListBackups(backup_dir_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, 3u);
}

TEST(ParseKeyRetentionTest, WholeDaysOnly) {
  EXPECT_EQ(*ParseKeyRetention("P7D"), 7 * kDay);
  EXPECT_EQ(*ParseKeyRetention(kDefaultKeyRetention), 7 * kDay);
  for (const char* bad : {"P1W", "PT12H", "P0D", "P1M", "7", ""}) {
    Result<int64_t> r = ParseKeyRetention(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find("--key-retention '" + std::string(bad) + "'"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace amtsweg::core
