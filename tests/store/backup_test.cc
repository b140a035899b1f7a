// Backups and restore of the store (Store::CreateBackup, ListBackups, VerifyBackup,
// RestoreBackup) and of any RocksDB database of the engine (engine/store/internal/backup.h), on
// the real RocksDB.
#include "engine/store/internal/backup.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <thread>

#include "engine/store/store.h"
#include "tests/store/store_test_util.h"

namespace amtsweg::store {
namespace {

namespace fs = std::filesystem;
using testing::DumpStore;
using testing::Probes;
using testing::TempDir;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  auto st = Store::Open(path);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return std::move(st).value();
}

// Commits `n` events to each of `cases` cases, with a position, a timer, an outbox entry, a dead
// letter and a seen id per batch.
void Fill(Store& st, int cases, int n) {
  static Timestamp clock = 5000;  // never backwards, across calls
  for (int b = 0; b < n; ++b) {
    Batch batch;
    for (int c = 0; c < cases; ++c) {
      CaseWrite cw;
      cw.case_id = "case-" + std::to_string(c);
      cw.events = {"event " + std::to_string(b) + " of case " + std::to_string(c)};
      cw.snapshot = "state after " + std::to_string(b);
      cw.index_add = {"idx/" + std::to_string(c) + "/" + std::to_string(b)};
      batch.cases.push_back(std::move(cw));
    }
    batch.timers_add.push_back({1000 + b, "case-0", "t" + std::to_string(b)});
    OutboxEntry out;
    out.destination = "org:x";
    out.key = "case-0";
    out.id = "case-0/" + std::to_string(b);
    out.payload = "published " + std::to_string(b);
    batch.outbox.push_back(out);
    DeadLetter dead;
    dead.source = "file:x";
    dead.position = "line " + std::to_string(b);
    dead.kind = "malformed";
    dead.reason = "malformed: test";
    dead.raw = "{";
    batch.dead.push_back(dead);
    batch.seen_ids = {"input-" + std::to_string(b)};
    batch.positions = {{"file:x", std::to_string(b + 1)}};
    batch.clock = ++clock;
    auto r = st.Commit(batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

Probes FillProbes(int n) {
  Probes p;
  for (int b = 0; b < n; ++b)
    p.seen_ids.push_back("input-" + std::to_string(b));
  p.sources = {"file:x"};
  return p;
}

std::string AccessDump(const Store& st) {
  std::string out;
  Status s = st.ScanAccess(0, [&](const AccessRecord& r) {
    out += std::to_string(r.seq) + " " + r.principal + " " + r.path + "\n";
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    names.push_back(e.path().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Flips a byte in the middle of `path` (size unchanged).
void FlipByte(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  ASSERT_GT(size, 0) << path;
  f.seekg(size / 2);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(size / 2);
  f.write(&c, 1);
}

TEST(StoreBackupTest, RestoreGivesBackTheSameEventsChainsPositionsAndEverythingElse) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  std::string before;
  std::string access_before;
  std::vector<BackupProgress> progress;
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 5, 40);
    AccessRecord a;
    a.principal = "local:test";
    a.role = "admin";
    a.method = "CLI";
    a.path = "case list";
    ASSERT_TRUE(st->AppendAccess(a).ok());
    before = DumpStore(*st, FillProbes(40));
    access_before = AccessDump(*st);
    auto info = st->CreateBackup(backups, [&](const BackupProgress& p) { progress.push_back(p); });
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->id, 1u);
    EXPECT_GT(info->files, 0u);
    EXPECT_GT(info->size_bytes, 0u);
    EXPECT_EQ(backup::MetadataKind(info->metadata), backup::kKindStore) << info->metadata;
  }
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().bytes_done, progress.back().bytes_total);

  const std::string target = dir.path() + "/restored";
  std::vector<BackupProgress> restore_progress;
  auto restored = Store::RestoreBackup(
      backups, 0, target, false, [&](const BackupProgress& p) { restore_progress.push_back(p); });
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->backup.id, 1u);
  EXPECT_EQ(restored->cases, 5u);
  EXPECT_EQ(restored->events, 200u);
  ASSERT_FALSE(restore_progress.empty());
  EXPECT_EQ(restore_progress.back().bytes_done, restore_progress.back().bytes_total);

  auto st = OpenStore(target);
  EXPECT_EQ(DumpStore(*st, FillProbes(40)), before);
  EXPECT_EQ(AccessDump(*st), access_before);
  auto pos = st->GetPosition("file:x");
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->value_or(""), "40");
  for (int c = 0; c < 5; ++c)
    EXPECT_TRUE(st->VerifyChain("case-" + std::to_string(c)).ok());
  // Nothing of the restore is left beside the target.
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".restore-"), std::string::npos) << e.path();
}

TEST(StoreBackupTest, BackupsWhileAnotherThreadCommitsAreConsistent) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  auto st = OpenStore(dir.db());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> commits{0};
  Status writer_status;
  // Each commit adds 1 + i % 3 events to case i % 7 and stores the number of events committed
  // so far as its position, in the same batch.
  std::thread writer([&] {
    uint64_t events = 0;
    for (uint64_t i = 0; !stop.load(); ++i) {
      Batch batch;
      CaseWrite cw;
      cw.case_id = "c" + std::to_string(i % 7);
      for (uint64_t e = 0; e < 1 + i % 3; ++e)
        cw.events.push_back("payload " + std::to_string(i) + "/" + std::to_string(e) +
                            std::string(150, 'x'));
      events += cw.events.size();
      cw.snapshot = "s" + std::to_string(i);
      batch.cases.push_back(std::move(cw));
      batch.positions = {{"count", std::to_string(events)}};
      auto r = st->Commit(batch);
      if (!r.ok()) {
        writer_status = r.status();
        return;
      }
      commits.fetch_add(1);
    }
  });
  std::vector<uint64_t> commits_at_start;
  for (int b = 0; b < 3; ++b) {
    const uint64_t wait_for = commits.load() + 50;  // let the writer run between backups
    while (commits.load() < wait_for && writer_status.ok())
      std::this_thread::yield();
    commits_at_start.push_back(commits.load());
    auto info = st->CreateBackup(backups, {});
    ASSERT_TRUE(info.ok()) << info.status().ToString();
  }
  stop.store(true);
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status.ToString();

  for (uint32_t id = 1; id <= 3; ++id) {
    SCOPED_TRACE("backup " + std::to_string(id));
    const std::string target = dir.path() + "/restored-" + std::to_string(id);
    auto restored = Store::RestoreBackup(backups, id, target, false, {});
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    auto copy = OpenStore(target);
    auto pos = copy->GetPosition("count");
    ASSERT_TRUE(pos.ok());
    ASSERT_TRUE(pos->has_value());
    EXPECT_EQ(restored->events, std::stoull(**pos));
    // Each restored case is a prefix of the live one: same events, same hashes.
    Status s = copy->ScanCases([&](std::string_view id_view, const CaseRecord& r) {
      std::string case_id(id_view);
      EXPECT_TRUE(copy->VerifyChain(case_id).ok());
      std::vector<EventRecord> live;
      EXPECT_TRUE(st->ScanEvents(case_id, 1, r.last_seq, [&](const EventRecord& e) {
                      live.push_back(e);
                      return true;
                    }).ok());
      EXPECT_EQ(live.size(), r.last_seq);
      if (!live.empty()) {
        EXPECT_EQ(live.back().hash, r.head) << case_id;
      }
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Later backups hold at least what earlier ones held (the writer never stopped).
  EXPECT_LT(commits_at_start.front(), commits_at_start.back());
}

TEST(StoreBackupTest, VerifyDetectsAFlippedByteAndRestoreRefusesTheBackup) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 3, 30);
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  ASSERT_TRUE(Store::VerifyBackup(backups, 1).ok());
  ASSERT_TRUE(Store::VerifyBackup(backups, 0).ok());

  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(backups + "/shared_checksum")) {
    if (e.path().extension() == ".sst") victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  FlipByte(victim);

  Status s = Store::VerifyBackup(backups, 1);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("backup 1 in " + backups), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fs::path(victim).filename().string()), std::string::npos)
      << s.message();

  const std::string target = dir.path() + "/restored";
  auto restored = Store::RestoreBackup(backups, 1, target, false, {});
  EXPECT_FALSE(restored.ok());
  EXPECT_FALSE(fs::exists(target));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".restore-"), std::string::npos) << e.path();
}

TEST(StoreBackupTest, VerifyDetectsAFlippedByteInAPrivateFile) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 2, 10);
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  std::string victim;
  for (const auto& e : fs::directory_iterator(backups + "/private/1")) {
    if (e.path().filename().string().starts_with("MANIFEST")) victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  FlipByte(victim);
  Status s = Store::VerifyBackup(backups, 0);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("backup 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("MANIFEST"), std::string::npos) << s.message();
}

TEST(StoreBackupTest, RestoreRefusesANonEmptyTargetAndLeavesItUnchanged) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 2, 5);
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  const std::string target = dir.path() + "/target";
  fs::create_directories(target);
  { std::ofstream(target + "/precious.txt") << "do not touch"; }
  const std::vector<std::string> listing = Listing(dir.path());

  auto restored = Store::RestoreBackup(backups, 0, target, false, {});
  ASSERT_FALSE(restored.ok());
  EXPECT_TRUE(restored.status().IsInvalidArgument()) << restored.status().ToString();
  EXPECT_NE(restored.status().message().find("refusing to overwrite '" + target + "'"),
            std::string::npos)
      << restored.status().message();
  // Even with force: it holds no database.
  restored = Store::RestoreBackup(backups, 0, target, true, {});
  ASSERT_FALSE(restored.ok());
  EXPECT_TRUE(restored.status().IsInvalidArgument()) << restored.status().ToString();

  EXPECT_EQ(Listing(dir.path()), listing);
  std::ifstream in(target + "/precious.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "do not touch");

  // An empty directory is fine.
  const std::string empty = dir.path() + "/empty";
  fs::create_directories(empty);
  EXPECT_TRUE(Store::RestoreBackup(backups, 0, empty, false, {}).ok());
}

TEST(StoreBackupTest, ForceReplacesAStoreNobodyHasOpenButNotAnOpenOne) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  std::string backed_up;
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 2, 5);
    backed_up = DumpStore(*st, FillProbes(5));
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  const std::string target = dir.path() + "/other";
  auto other = OpenStore(target);
  Fill(*other, 1, 3);
  const std::string other_dump = DumpStore(*other, FillProbes(3));

  auto restored = Store::RestoreBackup(backups, 0, target, true, {});
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), Status::Code::kUnavailable) << restored.status().ToString();
  EXPECT_NE(restored.status().message().find("in use"), std::string::npos);
  EXPECT_EQ(DumpStore(*other, FillProbes(3)), other_dump);
  other.reset();

  restored = Store::RestoreBackup(backups, 0, target, true, {});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(DumpStore(*OpenStore(target), FillProbes(5)), backed_up);
}

TEST(StoreBackupTest, MissingBackupsAndDirectoriesAreNotFoundAndChangeNothing) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  {
    auto st = OpenStore(dir.db());
    Fill(*st, 1, 2);
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  const std::string target = dir.path() + "/target";
  auto restored = Store::RestoreBackup(backups, 7, target, false, {});
  ASSERT_TRUE(restored.status().IsNotFound()) << restored.status().ToString();
  EXPECT_NE(restored.status().message().find("no backup 7 in " + backups + " (backups there: 1)"),
            std::string::npos)
      << restored.status().message();
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(Store::VerifyBackup(backups, 7).IsNotFound());

  auto listed = Store::ListBackups(dir.path() + "/nowhere");
  ASSERT_TRUE(listed.status().IsNotFound());
  EXPECT_NE(listed.status().message().find("nowhere"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() + "/nowhere"));
  EXPECT_TRUE(Store::ListBackups(dir.db()).status().IsNotFound());  // a store, no backups
}

TEST(StoreBackupTest, BackupDirectoryMustNotBeInsideTheStoreOrHoldSomethingElse) {
  TempDir dir;
  auto st = OpenStore(dir.db());
  Fill(*st, 1, 2);
  auto inside = st->CreateBackup(dir.db() + "/backups", {});
  EXPECT_TRUE(inside.status().IsInvalidArgument()) << inside.status().ToString();
  EXPECT_FALSE(fs::exists(dir.db() + "/backups"));

  const std::string busy = dir.path() + "/busy";
  fs::create_directories(busy);
  { std::ofstream(busy + "/notes.txt") << "x"; }
  auto other = st->CreateBackup(busy, {});
  EXPECT_TRUE(other.status().IsInvalidArgument()) << other.status().ToString();
  EXPECT_EQ(Listing(busy).size(), 1u);
}

TEST(StoreBackupTest, ListShowsBackupsOldestFirstWithTheirMetadata) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups/";  // trailing slash is ignored
  auto st = OpenStore(dir.db());
  Fill(*st, 2, 5);
  ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  Fill(*st, 2, 5);
  ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  auto listed = Store::ListBackups(backups);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, 1u);
  EXPECT_EQ((*listed)[1].id, 2u);
  for (const BackupInfo& b : *listed) {
    EXPECT_GT(b.files, 0u);
    EXPECT_GT(b.size_bytes, 0u);
    EXPECT_GT(b.created, 0);
    EXPECT_NE(b.metadata.find("\"format\":\"amtsweg store backup v1\""), std::string::npos)
        << b.metadata;
    EXPECT_NE(b.metadata.find(dir.db()), std::string::npos) << b.metadata;
  }
}

TEST(StoreBackupTest, PurgeByAgeKeepsTheNewestAndWhatTheyNeed) {
  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  auto st = OpenStore(dir.db());
  for (int i = 0; i < 3; ++i) {
    Fill(*st, 2, 3);
    ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  }
  auto listed = Store::ListBackups(backups);
  ASSERT_TRUE(listed.ok());
  const Timestamp oldest = listed->front().created;
  const Timestamp newest = listed->back().created;

  auto purged = backup::PurgeBackupsOlderThan(backups, oldest, 1);  // none is older
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_TRUE(purged->empty());

  purged = backup::PurgeBackupsOlderThan(backups, newest + 1000, 1);  // all are older
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, (std::vector<uint32_t>{1, 2}));
  listed = Store::ListBackups(backups);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, 3u);
  EXPECT_TRUE(Store::VerifyBackup(backups, 3).ok());
  EXPECT_TRUE(Store::RestoreBackup(backups, 3, dir.path() + "/r", false, {}).ok());

  ASSERT_TRUE(st->CreateBackup(backups, {}).ok());
  auto kept = backup::KeepLastBackups(backups, 1);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, (std::vector<uint32_t>{3}));
  purged = backup::PurgeBackupsOlderThan(backups, std::numeric_limits<Timestamp>::max(), 0);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, (std::vector<uint32_t>{4}));
  EXPECT_TRUE(Store::ListBackups(backups)->empty());
}

// Another RocksDB database of the engine (as the key store in <data-dir>.keys): backed up
// closed, by path, with all its column families.
TEST(StoreBackupTest, AClosedDatabaseWithItsOwnFamiliesIsBackedUpAndRestored) {
  TempDir dir;
  const std::string keys = dir.path() + "/data.keys";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, keys, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* cf = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "case_keys", &cf).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, "case-1", "key material").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "default-key", "v").ok());
    // Open: another process (here this one) holds the LOCK.
    Status in_use = backup::CheckNotInUse(keys);
    EXPECT_EQ(in_use.code(), Status::Code::kUnavailable) << in_use.ToString();
    auto refused = backup::BackupClosedDatabase(keys, dir.path() + "/kb", "{}", {});
    EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(cf).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  ASSERT_TRUE(backup::CheckNotInUse(keys).ok());
  const std::string kb = dir.path() + "/kb";
  auto info =
      backup::BackupClosedDatabase(keys, kb, backup::Metadata(backup::kKindKeyStore, keys), {});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(backup::MetadataKind(info->metadata), backup::kKindKeyStore);
  ASSERT_TRUE(backup::VerifyBackup(kb, 0).ok());

  // A key-store backup is not a store's.
  auto wrong = Store::RestoreBackup(kb, 0, dir.path() + "/not-a-store", false, {});
  EXPECT_TRUE(wrong.status().IsInvalidArgument()) << wrong.status().ToString();
  EXPECT_FALSE(fs::exists(dir.path() + "/not-a-store"));

  const std::string target = dir.path() + "/restored.keys";
  ASSERT_TRUE(backup::RestoreBackup(kb, 0, target, {}).ok());
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), target, &families).ok());
  ASSERT_EQ(families.size(), 2u);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& f : families)
    descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), target, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handles[1], "case-1", &value).ok());
  EXPECT_EQ(value, "key material");
  for (auto* h : handles)
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

}  // namespace
}  // namespace amtsweg::store
