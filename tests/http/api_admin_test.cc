// The administrators' operations of the HTTP API beside a running engine: backups of the live
// store and key store (POST/GET /api/v1/admin/backups), the data keys and their rotation
// (GET /api/v1/admin/keys, POST /api/v1/admin/keys/rotation) and the erasure of a case's personal
// data (POST /api/v1/admin/cases/{id}/erasure). Admins only; every answer is in the access log.
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "connectors/http/api_server.h"
#include "engine/core/case_keys.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "engine/store/internal/backup.h"
#include "tests/testing/fixed_clock.h"
#include "tests/testing/memory_source.h"
#include "tests/testing/principals.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::http {
namespace {

const std::string kRepo = AMTSWEG_SOURCE_DIR;
constexpr char kAdmin[] = "admin-token-0001";
constexpr char kAuditor[] = "auditor-token-0002";
constexpr char kIhk[] = "ihk-kiel-token-0003";

std::vector<std::string> SampleLines(const std::string& file, size_t n = SIZE_MAX) {
  std::ifstream in(kRepo + "/workflows/samples/" + file);
  std::vector<std::string> out;
  std::string line;
  while (out.size() < n && std::getline(in, line))
    out.push_back(line);
  return out;
}

std::unique_ptr<crypto::KeyEncryptionKeys> Keks(const std::string& text) {
  auto keks = crypto::ParseKeks(text, "test KEKs");
  EXPECT_TRUE(keks.ok()) << keks.status().ToString();
  return keks.ok() ? std::move(keks).value() : nullptr;
}

struct ServerSetup {
  bool engine = false;     // an engine thread reads the server's inbox
  bool keys = true;        // ApiOptions::keys
  bool backup_dir = true;  // ApiOptions::backup_dir
};

class ApiAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)spdlog::default_logger_raw();  // before any thread (see api_input_test.cc)
    Result<testing::Shipped> shipped = testing::LoadShipped();
    ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
    directory_ = std::move(shipped->directory);
    registry_ = std::move(shipped->registry);
    auto st = store::Store::Open(data_);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    auto principals =
        Principals::Parse(testing::PrincipalsYaml({{"root", "admin", "", kAdmin},
                                                   {"audit", "auditor", "", kAuditor},
                                                   {"ihk", "participant", "ihk-kiel", kIhk}}),
                          "principals.yaml", *directory_);
    ASSERT_TRUE(principals.ok()) << principals.status().ToString();
    principals_ = std::move(principals).value();
    catalog_ = std::make_unique<core::Catalog>(*store_, *directory_, registry_);

    // The cases get their keys under the KEK "kek-old"; then the key file has a new current KEK
    // before it, as during a rotation.
    const std::string old_line = crypto::NewKekLine("kek-old");
    OpenEngine(old_line);
    // One source (it resumes at its stored position): GA-2026-0001 closes; HR-2026-0001 stays
    // open, the IHK's hearing waits.
    lines_ = SampleLines("01-gewerbeanmeldung.jsonl");
    for (std::string& line : SampleLines("03-handwerksrolle.jsonl", 2))
      lines_.push_back(std::move(line));
    testing::MemorySource samples(lines_);
    ASSERT_TRUE(engine_->Drain(samples, nullptr, 10).ok());
    keks_ = crypto::NewKekLine("kek-new") + "\n" + old_line;
    OpenEngine(keks_);
  }

  // (Re)opens the key store with `keks` and an engine sealing with it.
  void OpenEngine(const std::string& keks) {
    engine_.reset();
    case_keys_.reset();
    key_store_.reset();
    auto ks = crypto::KeyStore::Open(data_ + ".keys", Keks(keks));
    ASSERT_TRUE(ks.ok()) << ks.status().ToString();
    key_store_ = std::move(ks).value();
    case_keys_ = std::make_unique<core::CaseKeys>(*key_store_);
    core::EngineOptions options;
    options.keys = case_keys_.get();
    engine_ = std::make_unique<core::Engine>(*store_, registry_, *directory_, clock_, options);
    ASSERT_TRUE(engine_->Open().ok());
  }

  void TearDown() override {
    stop_ = true;
    if (engine_thread_.joinable()) engine_thread_.join();
    server_.reset();
  }

  void Start(ServerSetup setup = {}) {
    ApiOptions options;
    options.connection_clock = &wall_;
    if (setup.keys) options.keys = case_keys_.get();
    if (setup.backup_dir) options.backup_dir = backups_;
    if (setup.engine) {
      options.inbox = &inbox_;
      engine_thread_ = std::thread([this] {
        core::InboxSource api(nullptr, inbox_);
        core::RunOptions run;
        run.until_caught_up = false;
        run.poll_wait = std::chrono::milliseconds(20);
        run.stop = [this] { return stop_.load(); };
        Status s = engine_->Run(api, nullptr, run);
        EXPECT_TRUE(s.ok()) << s.ToString();
      });
    }
    auto server = ApiServer::Start(options, *store_, *catalog_, *directory_, *principals_, wall_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(std::chrono::seconds(60));
  }

  static httplib::Headers Auth(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  static Value Json(const httplib::Result& r, int status) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return Value();
    EXPECT_EQ(r->status, status) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Value();
  }

  Value Get(const std::string& path, const std::string& token, int status) {
    return Json(client_->Get(path, Auth(token)), status);
  }
  Value Post(const std::string& path, const std::string& token, int status,
             const std::string& body = "", const std::string& key = "") {
    httplib::Headers h = Auth(token);
    if (!key.empty()) h.emplace("Idempotency-Key", key);
    return Json(client_->Post(path, h, body, "application/json"), status);
  }

  // The access records of `path`, as "principal status".
  std::vector<std::string> Logged(const std::string& path) const {
    std::vector<std::string> out;
    Status s = store_->ScanAccess(0, [&](const store::AccessRecord& r) {
      if (r.path == path) out.push_back(r.principal + " " + std::to_string(r.status));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  uint64_t Cases() const {
    uint64_t n = 0;
    Status s = store_->ScanCases([&](std::string_view, const store::CaseRecord&) {
      ++n;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  std::map<std::string, int64_t> KeysByKek() {
    Value v = Get("/api/v1/admin/keys", kAdmin, 200);
    std::map<std::string, int64_t> out;
    for (const Member& m : v["keys_by_kek"].members())
      out[m.first] = m.second.as_int();
    return out;
  }

  testing::TempDir dir_;
  std::vector<std::string> lines_;  // the input of SetUp
  std::string keks_;                // the key file: kek-new (current), kek-old
  const std::string data_ = dir_.path() + "/data";
  const std::string backups_ = dir_.path() + "/backups";
  std::unique_ptr<dsl::Directory> directory_;
  dsl::Registry registry_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Principals> principals_;
  std::unique_ptr<core::Catalog> catalog_;
  ManualClock clock_{0};
  std::unique_ptr<crypto::KeyStore> key_store_;
  std::unique_ptr<core::CaseKeys> case_keys_;
  std::unique_ptr<core::Engine> engine_;
  testing::FixedClock wall_{*ParseTimestamp("2026-07-20T09:00:00Z")};
  core::Inbox inbox_{64, 10'000, wall_};
  std::atomic<bool> stop_{false};
  std::thread engine_thread_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ApiAdminTest, ABackupWhileTheEngineCommitsVerifiesAndRestoresWithItsKeyStore) {
  Start();
  const uint64_t cases_before = Cases();
  // The engine commits new cases (and writes their keys) while the backup runs.
  std::vector<std::string> more = lines_;
  for (std::string& line : SampleLines("02-bauantrag.jsonl"))
    more.push_back(std::move(line));
  std::thread engine([this, more] {
    testing::MemorySource samples(more);  // goes on after the lines of SetUp
    Status s = engine_->Drain(samples, nullptr, 2);
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  Value made = Post("/api/v1/admin/backups", kAdmin, 201);
  engine.join();
  EXPECT_GT(Cases(), cases_before);  // the engine did commit beside the backup
  ASSERT_EQ(made["id"].as_int(), 1) << made.ToJson();
  EXPECT_EQ(made["backup_dir"].as_string(), backups_);
  EXPECT_GT(made["files"].as_int(), 0);
  EXPECT_GT(made["size_bytes"].as_int(), 0);
  EXPECT_EQ(made["metadata"]["kind"].as_string(), "store");
  EXPECT_TRUE(ParseTimestamp(made["created"].as_string()).ok()) << made.ToJson();
  const Value& keys = made["key_store"];
  EXPECT_EQ(keys["id"].as_int(), 1);
  EXPECT_EQ(keys["backup_dir"].as_string(), backups_ + ".keys");
  EXPECT_EQ(keys["metadata"]["kind"].as_string(), "key store");
  EXPECT_EQ(keys["deleted"].size(), 0u);

  ASSERT_TRUE(store::Store::VerifyBackup(backups_, 1).ok());
  auto restored = store::Store::RestoreBackup(backups_, 1, dir_.path() + "/restored", false, {});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();  // every chain verified
  EXPECT_GE(restored->cases, cases_before);
  EXPECT_GT(restored->events, 0u);

  // The key store's backup restores, opens with the KEKs and holds a key for every case of the
  // store's backup (a case's key is written before its first commit).
  const std::string keys_target = dir_.path() + "/restored.keys";
  auto key_restore = store::backup::RestoreBackup(backups_ + ".keys", 1, keys_target, {});
  ASSERT_TRUE(key_restore.ok()) << key_restore.status().ToString();
  {
    auto ks = crypto::KeyStore::Open(keys_target, Keks(keks_));
    ASSERT_TRUE(ks.ok()) << ks.status().ToString();
    auto stats = (*ks)->GetStats();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_GE(stats->keys, restored->cases);
  }

  // A second backup is incremental and listed after the first.
  EXPECT_EQ(Post("/api/v1/admin/backups", kAdmin, 201)["id"].as_int(), 2);
  Value list = Get("/api/v1/admin/backups", kAdmin, 200);
  ASSERT_EQ(list["backups"].size(), 2u) << list.ToJson();
  EXPECT_EQ(list["backups"].items()[0]["id"].as_int(), 1);
  EXPECT_EQ(list["backups"].items()[1]["id"].as_int(), 2);
  EXPECT_EQ(list["key_store_backups"].size(), 2u);
  EXPECT_EQ(list["key_store_backup_dir"].as_string(), backups_ + ".keys");

  EXPECT_EQ(Logged("/api/v1/admin/backups"),
            (std::vector<std::string>{"root 201", "root 201", "root 200"}));
}

TEST_F(ApiAdminTest, OnlyAdminsBackUpOrSeeTheBackups) {
  Start();
  for (const char* token : {kIhk, kAuditor}) {
    Value v = Post("/api/v1/admin/backups", token, 403);
    EXPECT_NE(v["detail"].as_string().find("may not POST"), std::string::npos);
    Get("/api/v1/admin/backups", token, 403);
  }
  EXPECT_FALSE(std::filesystem::exists(backups_));
  EXPECT_EQ(Logged("/api/v1/admin/backups"),
            (std::vector<std::string>{"ihk 403", "ihk 403", "audit 403", "audit 403"}));
  // Before the first backup, the lists are empty.
  Value list = Get("/api/v1/admin/backups", kAdmin, 200);
  EXPECT_EQ(list["backups"].size(), 0u);
  EXPECT_EQ(list["key_store_backups"].size(), 0u);
}

TEST_F(ApiAdminTest, WithoutABackupDirectoryABackupIsRefusedClearly) {
  Start({.engine = false, .keys = true, .backup_dir = false});
  Value v = Post("/api/v1/admin/backups", kAdmin, 503);
  EXPECT_NE(v["detail"].as_string().find("--backup-dir DIR"), std::string::npos) << v.ToJson();
  Get("/api/v1/admin/backups", kAdmin, 503);
  EXPECT_EQ(Logged("/api/v1/admin/backups"), (std::vector<std::string>{"root 503", "root 503"}));
}

TEST_F(ApiAdminTest, ABackupWithoutAKeyStoreBacksUpTheStoreAlone) {
  Start({.engine = false, .keys = false, .backup_dir = true});
  Value made = Post("/api/v1/admin/backups", kAdmin, 201);
  EXPECT_EQ(made["id"].as_int(), 1);
  EXPECT_TRUE(made["key_store"].is_null()) << made.ToJson();
  EXPECT_FALSE(std::filesystem::exists(backups_ + ".keys"));
}

TEST_F(ApiAdminTest, RotationRewrapsTheKeysUnderTheOldKekWhileReadsGoOn) {
  Start();
  const std::map<std::string, int64_t> before = KeysByKek();
  ASSERT_EQ(before.size(), 1u);
  const int64_t n = before.at("kek-old");
  ASSERT_GT(n, 0);
  Value status = Get("/api/v1/admin/keys", kAdmin, 200);
  EXPECT_EQ(status["current_kek"].as_string(), "kek-new");
  EXPECT_EQ(status["keys"].as_int(), n);

  for (const char* token : {kIhk, kAuditor}) {
    Post("/api/v1/admin/keys/rotation", token, 403);
    Get("/api/v1/admin/keys", token, 403);
  }
  EXPECT_EQ(KeysByKek(), before);

  Value rotated = Post("/api/v1/admin/keys/rotation", kAdmin, 200);
  EXPECT_EQ(rotated["rewrapped"].as_int(), n);
  EXPECT_EQ(rotated["current_kek"].as_string(), "kek-new");
  EXPECT_EQ(KeysByKek(), (std::map<std::string, int64_t>{{"kek-new", n}}));
  // The cases still open with their keys.
  Value shown = Get("/api/v1/cases/GA-2026-0001", kAdmin, 200);
  EXPECT_FALSE(shown["application"]["betrieb"]["name"].is_null()) << shown.ToJson();
  // Nothing left to rewrap.
  EXPECT_EQ(Post("/api/v1/admin/keys/rotation", kAdmin, 200)["rewrapped"].as_int(), 0);
  EXPECT_EQ(Logged("/api/v1/admin/keys/rotation"),
            (std::vector<std::string>{"ihk 403", "audit 403", "root 200", "root 200"}));
}

TEST_F(ApiAdminTest, WithoutAKeyStoreTheKeyEndpointsAre503) {
  Start({.engine = false, .keys = false, .backup_dir = true});
  Value v = Get("/api/v1/admin/keys", kAdmin, 503);
  EXPECT_NE(v["detail"].as_string().find("no key store"), std::string::npos) << v.ToJson();
  Post("/api/v1/admin/keys/rotation", kAdmin, 503);
}

TEST_F(ApiAdminTest, AnAdminErasesAClosedCaseThroughTheEngine) {
  Start({.engine = true, .keys = true, .backup_dir = true});
  const std::string path = "/api/v1/admin/cases/GA-2026-0001/erasure";
  const std::string body = R"({"reason":"Antrag der Betroffenen","basis":"Art. 17(1)(a) DSGVO"})";
  Value refused = Post(path, kIhk, 403, body, "erase-1");
  EXPECT_NE(refused["detail"].as_string().find("may not POST"), std::string::npos);
  EXPECT_TRUE(Get("/api/v1/cases/GA-2026-0001", kAdmin, 200)["erased_at"].is_null());

  Value v = Post(path, kAdmin, 200, body, "erase-1");
  EXPECT_EQ(v["outcome"].as_string(), "accepted") << v.ToJson();
  EXPECT_EQ(v["input"]["case"].as_string(), "GA-2026-0001");
  EXPECT_EQ(v["input"]["source"].as_string(), "urn:amtsweg:admin:root");
  // Answered after the commit: the case shows it at once.
  Value shown = Get("/api/v1/cases/GA-2026-0001", kAdmin, 200);
  EXPECT_TRUE(shown["erased_at"].is_string()) << shown.ToJson();
  EXPECT_TRUE(shown["application"]["betrieb"]["name"].is_null()) << shown.ToJson();
  EXPECT_EQ(Post(path, kAdmin, 200, body, "erase-1")["outcome"].as_string(), "duplicate");

  // An open case keeps its data.
  Value open = Post("/api/v1/admin/cases/HR-2026-0001/erasure", kAdmin, 422, body, "erase-2");
  EXPECT_EQ(open["kind"].as_string(), "open-case") << open.ToJson();
  EXPECT_TRUE(Get("/api/v1/cases/HR-2026-0001", kAdmin, 200)["erased_at"].is_null());
  EXPECT_EQ(Logged(path), (std::vector<std::string>{"ihk 403", "root 200", "root 200"}));
}

}  // namespace
}  // namespace amtsweg::http
