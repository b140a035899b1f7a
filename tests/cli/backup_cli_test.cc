// End to end: `amtsweg backup create|list|verify|restore` through the binary, on a store made by
// `amtsweg run` over the shipped samples; and `audit verify` and a resumed `run` on the restored
// store.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/store/store.h"
#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;

const std::string kRepo = AMTSWEG_SOURCE_DIR;

Output Amtsweg(const std::string& args) {
  return amtsweg::testing::RunAmtsweg(args);
}

std::string Common() {
  return "--workflows " + kRepo + "/workflows --directory " + kRepo +
         "/workflows/directory/schleswig-holstein.yaml";
}

std::string SampleSources() {
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
    if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  std::string args;
  for (const std::string& f : files)
    args += " --source file:" + f;
  return args;
}

// "processed N inputs ...: A accepted, R refused, D duplicates; ..." of `run`.
struct Summary {
  bool found = false;
  unsigned long long inputs = 0, accepted = 0, refused = 0, duplicates = 0;
};
Summary ParseSummary(const std::string& out) {
  Summary s;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    double secs = 0, rate = 0;
    if (std::sscanf(line.c_str(),
                    "processed %llu inputs in %lf s (%lf inputs/s): %llu accepted, %llu refused, "
                    "%llu duplicates",
                    &s.inputs, &secs, &rate, &s.accepted, &s.refused, &s.duplicates) == 6) {
      s.found = true;
    }
  }
  return s;
}

std::vector<std::string> AccessPaths(const std::string& data_dir) {
  store::Options options;
  options.create_if_missing = false;
  auto st = store::Store::Open(data_dir, options);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  std::vector<std::string> paths;
  if (!st.ok()) return paths;
  Status s = (*st)->ScanAccess(0, [&](const store::AccessRecord& r) {
    EXPECT_EQ(r.role, "admin");
    EXPECT_EQ(r.method, "CLI");
    EXPECT_EQ(r.principal.rfind("local", 0), 0u) << r.principal;
    paths.push_back(r.path + " -> " + std::to_string(r.status));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return paths;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// A stand-in for the key store in <data-dir>.keys: a RocksDB database with a family of its own.
void MakeKeyStore(const std::string& dir, const std::string& value) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "case-key", value).ok());
  ASSERT_TRUE(db->Close().ok());
}

std::string KeyStoreValue(const std::string& dir) {
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, &raw).ok()) return "<no db>";
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string v;
  if (!db->Get(rocksdb::ReadOptions(), "case-key", &v).ok()) return "<no key>";
  return v;
}

class BackupCliTest : public ::testing::Test {
 protected:
  static std::unique_ptr<testing::TempDir> dir_;
  static std::string data_;
  static Output run_;

  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>("amtsweg-backup-cli");
    data_ = dir_->path() + "/data";
    run_ = Amtsweg("run " + Common() + " --data-dir " + data_ + SampleSources() + " --until-idle");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
};

std::unique_ptr<testing::TempDir> BackupCliTest::dir_;
std::string BackupCliTest::data_;
Output BackupCliTest::run_;

TEST_F(BackupCliTest, CreateListVerifyRestoreRoundTripAndTheRestoredStoreResumes) {
  ASSERT_EQ(run_.code, 0) << run_.err;
  const Summary first = ParseSummary(run_.out);
  ASSERT_TRUE(first.found) << run_.out;
  ASSERT_GT(first.accepted, 0u);

  const std::string backups = Path("backups");
  Output created = Amtsweg("backup create -q --data-dir " + data_ + " --to " + backups + "/");
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_NE(created.out.find("backup create: backup 1 of " + data_ + " in " + backups),
            std::string::npos)
      << created.out;
  // The run made a key store beside the data: it is backed up apart, without its KEK file.
  EXPECT_TRUE(fs::exists(backups + ".keys"));
  EXPECT_TRUE(Contains(AccessPaths(data_), "backup create --to " + backups + " -> 0"));

  Output listed = Amtsweg("backup list --from " + backups);
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("1 backup(s) in " + backups), std::string::npos) << listed.out;
  Output json = Amtsweg("backup list --json --from " + backups);
  ASSERT_EQ(json.code, 0) << json.err;
  std::vector<Value> rows = JsonLines(json.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["id"].as_int(), 1);
  EXPECT_EQ(rows[0]["metadata"]["format"].as_string(), "amtsweg store backup v1");
  EXPECT_EQ(rows[0]["metadata"]["kind"].as_string(), "store");
  EXPECT_GT(rows[0]["size_bytes"].as_int(), 0);

  Output verified = Amtsweg("backup verify -q --from " + backups);
  ASSERT_EQ(verified.code, 0) << verified.err;
  EXPECT_NE(verified.out.find("every checksum matches"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("every hash chain intact"), std::string::npos) << verified.out;

  const std::string restored = Path("restored");
  Output restore =
      Amtsweg("backup restore -q --from " + backups + " --id 1 --data-dir " + restored);
  ASSERT_EQ(restore.code, 0) << restore.err;
  EXPECT_NE(restore.out.find("backup restore: backup 1 of " + backups + " into " + restored),
            std::string::npos)
      << restore.out;
  EXPECT_TRUE(Contains(AccessPaths(restored), "backup restore --from " + backups + " --id 1 -> 0"));

  Output audit = Amtsweg("audit verify -q --data-dir " + restored);
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_NE(audit.out.find("every hash chain intact"), std::string::npos);
  EXPECT_EQ(Amtsweg("case list --json --data-dir " + restored).out,
            Amtsweg("case list --json --data-dir " + data_).out);

  // The restored store resumes from its stored positions: nothing is processed twice.
  Output again =
      Amtsweg("run " + Common() + " --data-dir " + restored + SampleSources() + " --until-idle");
  ASSERT_EQ(again.code, 0) << again.err;
  const Summary second = ParseSummary(again.out);
  ASSERT_TRUE(second.found) << again.out;
  EXPECT_EQ(second.accepted, 0u) << again.out;
  EXPECT_EQ(second.duplicates, 0u) << again.out;
  EXPECT_EQ(Amtsweg("case list --json --data-dir " + restored).out,
            Amtsweg("case list --json --data-dir " + data_).out);
}

TEST_F(BackupCliTest, ErrorsAreOneLineNameWhatAndWhereAndChangeNothing) {
  ASSERT_EQ(run_.code, 0) << run_.err;
  const std::string backups = Path("err-backups");
  ASSERT_EQ(Amtsweg("backup create -q --data-dir " + data_ + " --to " + backups).code, 0);

  Output nowhere = Amtsweg("backup list --from " + Path("nowhere"));
  EXPECT_EQ(nowhere.code, 3);
  EXPECT_NE(nowhere.err.find("no backup directory '" + Path("nowhere") + "'"), std::string::npos)
      << nowhere.err;
  EXPECT_EQ(std::count(nowhere.err.begin(), nowhere.err.end(), '\n'), 1) << nowhere.err;
  EXPECT_FALSE(fs::exists(Path("nowhere")));

  Output no_id = Amtsweg("backup verify -q --from " + backups + " --id 9");
  EXPECT_EQ(no_id.code, 3);
  EXPECT_NE(no_id.err.find("no backup 9 in " + backups + " (backups there: 1)"), std::string::npos)
      << no_id.err;

  const std::string busy = Path("busy-target");
  fs::create_directories(busy);
  { std::ofstream(busy + "/notes.txt") << "mine"; }
  Output refused = Amtsweg("backup restore -q --from " + backups + " --data-dir " + busy);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("refusing to overwrite '" + busy + "'"), std::string::npos)
      << refused.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(busy), fs::directory_iterator()), 1);

  Output retention = Amtsweg("backup create -q --data-dir " + data_ + " --to " + Path("never") +
                             " --key-retention P1M");
  EXPECT_EQ(retention.code, 2);
  EXPECT_NE(retention.err.find("--key-retention 'P1M'"), std::string::npos) << retention.err;
  EXPECT_FALSE(fs::exists(Path("never")));

  Output no_store =
      Amtsweg("backup create -q --data-dir " + Path("no-store") + " --to " + Path("never"));
  EXPECT_EQ(no_store.code, 3);
  EXPECT_NE(no_store.err.find("no amtsweg store in '" + Path("no-store") + "'"), std::string::npos)
      << no_store.err;
  EXPECT_FALSE(fs::exists(Path("never")));

  // A store open in another process: one line pointing at the admin API.
  {
    store::Options options;
    options.create_if_missing = false;
    auto open = store::Store::Open(data_, options);
    ASSERT_TRUE(open.ok()) << open.status().ToString();
    Output in_use = Amtsweg("backup create -q --data-dir " + data_ + " --to " + Path("never"));
    EXPECT_EQ(in_use.code, 3);
    EXPECT_NE(in_use.err.find("is in use by a running engine"), std::string::npos) << in_use.err;
    EXPECT_NE(in_use.err.find("POST /api/v1/admin/backups"), std::string::npos) << in_use.err;
    EXPECT_EQ(std::count(in_use.err.begin(), in_use.err.end(), '\n'), 1) << in_use.err;
    EXPECT_FALSE(fs::exists(Path("never")));
  }
}

TEST_F(BackupCliTest, VerifyOfACorruptBackupFailsWithExitCode1) {
  ASSERT_EQ(run_.code, 0) << run_.err;
  const std::string backups = Path("corrupt-backups");
  ASSERT_EQ(Amtsweg("backup create -q --data-dir " + data_ + " --to " + backups).code, 0);
  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(backups + "/shared_checksum")) {
    if (e.path().extension() == ".sst") victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(victim) / 2));
    f.write("\x01\x02\x03\x04", 4);
  }
  Output verified = Amtsweg("backup verify -q --from " + backups);
  EXPECT_EQ(verified.code, 1) << verified.out << verified.err;
  EXPECT_NE(verified.err.find("Corruption: backup 1 in " + backups), std::string::npos)
      << verified.err;
  EXPECT_NE(verified.err.find(fs::path(victim).filename().string()), std::string::npos)
      << verified.err;
  Output restore =
      Amtsweg("backup restore -q --from " + backups + " --data-dir " + Path("from-corrupt"));
  EXPECT_NE(restore.code, 0);
  EXPECT_FALSE(fs::exists(Path("from-corrupt")));
}

TEST_F(BackupCliTest, TheKeyStoreIsBackedUpApartAndRestoredOnlyWhenLost) {
  ASSERT_EQ(run_.code, 0) << run_.err;
  // A store of its own with a key store beside it.
  const std::string data = Path("keyed");
  ASSERT_EQ(
      Amtsweg("backup restore -q --from " + Path("backups-for-keys") + " --data-dir " + data).code,
      3);  // no such backup directory: nothing made
  const std::string seed = Path("seed-backups");
  ASSERT_EQ(Amtsweg("backup create -q --data-dir " + data_ + " --to " + seed).code, 0);
  ASSERT_EQ(Amtsweg("backup restore -q --from " + seed + " --data-dir " + data).code, 0);
  MakeKeyStore(data + ".keys", "key v1");

  const std::string backups = Path("keyed-backups");
  Output created = Amtsweg("backup create -q --data-dir " + data + "/ --to " + backups);
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_NE(created.out.find("key store backup 1 of " + data + ".keys in " + backups + ".keys"),
            std::string::npos)
      << created.out;
  EXPECT_TRUE(Contains(AccessPaths(data), "backup create --keys-to " + backups + ".keys -> 0"));
  Output keys_listed = Amtsweg("backup list --json --from " + backups + ".keys");
  ASSERT_EQ(keys_listed.code, 0) << keys_listed.err;
  std::vector<Value> rows = JsonLines(keys_listed.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["metadata"]["kind"].as_string(), "key store");

  // The key store was lost: it comes back.
  const std::string lost = Path("lost-keys");
  Output restore = Amtsweg("backup restore -q --from " + backups + " --data-dir " + lost +
                           " --keys-from " + backups + ".keys");
  ASSERT_EQ(restore.code, 0) << restore.err;
  EXPECT_EQ(KeyStoreValue(lost + ".keys"), "key v1");
  EXPECT_TRUE(Contains(AccessPaths(lost), "backup restore --keys-from " + backups + ".keys -> 0"));

  // A key store exists: it is kept (it knows what was erased since the backup).
  const std::string kept = Path("kept-keys");
  MakeKeyStore(kept + ".keys", "key v2");
  restore = Amtsweg("backup restore -q --from " + backups + " --data-dir " + kept +
                    " --keys-from " + backups + ".keys");
  ASSERT_EQ(restore.code, 0) << restore.err;
  EXPECT_NE(restore.out.find("the current key store " + kept + ".keys is kept"), std::string::npos)
      << restore.out;
  EXPECT_EQ(KeyStoreValue(kept + ".keys"), "key v2");

  // A store's backup is no key-store backup.
  Output wrong = Amtsweg("backup restore -q --from " + backups + " --data-dir " + Path("wrong") +
                         " --keys-from " + backups);
  EXPECT_EQ(wrong.code, 2) << wrong.err;
  EXPECT_FALSE(fs::exists(Path("wrong")));
}

}  // namespace
}  // namespace amtsweg
