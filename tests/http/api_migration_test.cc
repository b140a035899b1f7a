// POST /api/v1/admin/migrations: admins only; a dry run answers the plan; a real run queues one
// command per case into the engine's inbox (202) and the engine records case.migrated; an invalid
// mapping is 422 with its errors, an unknown workflow 404.
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "connectors/http/api_server.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "engine/dsl/loader.h"
#include "tests/testing/fixed_clock.h"
#include "tests/testing/principals.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::http {
namespace {

const std::string kData = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration";
constexpr char kAdmin[] = "admin-token-0001";
constexpr char kAmt[] = "amt-kiel-token-0002";

core::RawInput Line(const std::string& id, std::string_view type, std::string_view time, Value data,
                    const std::string& participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", id).Add("source", "test").Add("type", type);
  b.Add("subject", "C-1").Add("time", time);
  if (!participant.empty()) b.Add("participant", participant);
  b.Add("data", std::move(data));
  core::RawInput raw;
  raw.bytes = b.Build().ToJson();
  raw.size = raw.bytes.size();
  return raw;
}

class ApiMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // spdlog's registry is built on first use inside libspdlog, whose guard ThreadSanitizer does
    // not see: built here, before the server's threads start (as in api_input_test.cc).
    (void)spdlog::default_logger_raw();
    auto dir = dsl::Directory::Load(kData + "/directory.yaml");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    directory_ = std::move(dir).value();
    std::vector<dsl::DefinitionPtr> defs;
    for (const char* v : {"v1", "v2"}) {
      dsl::LoadResult r =
          dsl::LoadDefinitionFile(kData + "/workflows/migflow-" + v + ".yaml", directory_.get());
      ASSERT_TRUE(r.definition != nullptr);
      defs.push_back(r.definition);
    }
    ASSERT_TRUE(registry_.Add(defs[0]).ok());
    auto st = store::Store::Open(dir_.path() + "/data");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    engine_ = std::make_unique<core::Engine>(*store_, registry_, *directory_, clock_);
    ASSERT_TRUE(engine_->Open().ok());
    Value app = ObjectBuilder()
                    .Add("leika", "99000000000077")
                    .Add("name", "Jensen GmbH")
                    .Add("ags", "01002000")
                    .Build();
    ASSERT_TRUE(engine_
                    ->ProcessBatch({Line("a1", runtime::input_type::kApplicationSubmitted,
                                         "2026-01-15T09:00:00Z", app),
                                    Line("d1", runtime::input_type::kDocumentsCompleted,
                                         "2026-01-15T10:00:00Z", Value::Object({}), "amt-kiel")},
                                   "memory", {})
                    .ok());
    ASSERT_TRUE(registry_.Add(defs[1]).ok());
    auto principals =
        Principals::Parse(testing::PrincipalsYaml({{"root", "admin", "", kAdmin},
                                                   {"amt", "participant", "amt-kiel", kAmt}}),
                          "principals.yaml", *directory_);
    ASSERT_TRUE(principals.ok()) << principals.status().ToString();
    principals_ = std::move(principals).value();
    catalog_ = std::make_unique<core::Catalog>(*store_, *directory_, registry_);
    ApiOptions options;
    options.connection_clock = &wall_;
    options.inbox = &inbox_;  // the engine reads it in the test's thread (Drain)
    auto server = ApiServer::Start(options, *store_, *catalog_, *directory_, *principals_, wall_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override { server_.reset(); }

  Value Post(const std::string& token, const std::string& body, int status) {
    httplib::Headers h{{"Authorization", "Bearer " + token}};
    httplib::Result r = client_->Post("/api/v1/admin/migrations", h, body, "application/json");
    EXPECT_TRUE(r) << "no response";
    if (!r) return Value();
    EXPECT_EQ(r->status, status) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Value();
  }

  static std::string Body(bool dry_run, const std::string& states = "") {
    return R"({"workflow":"migflow","from":1,"to":2,"dry_run":)" +
           std::string(dry_run ? "true" : "false") + R"(,"reason":"Neufassung","mapping":{)" +
           R"("states":{)" +
           (states.empty() ? R"("eingegangen":"eingegangen","pruefung":"in_pruefung")" : states) +
           R"(},"tasks":{"pruefen":{"rename":"entscheidung"},"anhoerung":"cancel"},)" +
           R"("deadlines":{"erinnerung":"cancel"}}})";
  }

  runtime::CaseState Case() {
    auto s = core::LoadCaseState(*store_, "C-1");
    EXPECT_TRUE(s.ok() && s->has_value());
    return **s;
  }

  testing::TempDir dir_;
  std::unique_ptr<dsl::Directory> directory_;
  dsl::Registry registry_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_{0};
  std::unique_ptr<core::Engine> engine_;
  std::unique_ptr<Principals> principals_;
  std::unique_ptr<core::Catalog> catalog_;
  testing::FixedClock wall_{*ParseTimestamp("2026-02-01T08:00:00Z")};
  core::Inbox inbox_{64, 10'000, wall_};
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ApiMigrationTest, ADryRunAnswersThePlanAndChangesNothing) {
  const uint64_t seq = Case().seq;
  Value v = Post(kAdmin, Body(true), 200);
  EXPECT_EQ(v["would_migrate"].as_int(), 1);
  ASSERT_EQ(v["cases"].size(), 1u);
  const Value& plan = v["cases"].items()[0];
  EXPECT_EQ(plan["case"].as_string(), "C-1");
  EXPECT_EQ(plan["to_state"].as_string(), "in_pruefung");
  EXPECT_EQ(plan["tasks"]["renamed"].ToJson(), R"({"pruefen":"entscheidung"})");
  EXPECT_EQ(plan["deadlines"]["cancelled"].ToJson(), R"(["erinnerung"])");
  EXPECT_EQ(Case().seq, seq);
  EXPECT_EQ(Case().version, 1);
  EXPECT_TRUE(inbox_.empty());
}

TEST_F(ApiMigrationTest, ARealRunQueuesTheCommandsAndTheEngineMigrates) {
  Value v = Post(kAdmin, Body(false), 202);
  EXPECT_EQ(v["queued"].as_int(), 1);
  ASSERT_EQ(v["inputs"].size(), 1u);
  EXPECT_EQ(v["inputs"].items()[0]["case"].as_string(), "C-1");
  core::InboxSource source(nullptr, inbox_);
  ASSERT_TRUE(engine_->Drain(source, nullptr, 10).ok());
  runtime::CaseState s = Case();
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.state, "in_pruefung");
  Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(*store_, "C-1");
  ASSERT_TRUE(history.ok());
  const runtime::CaseMigrated* migrated = nullptr;
  for (const core::HistoryEntry& h : *history) {
    if (const auto* m = h.event.As<runtime::CaseMigrated>()) migrated = m;
  }
  ASSERT_NE(migrated, nullptr);
  EXPECT_EQ(migrated->by, "api:root");
  EXPECT_EQ(migrated->reason, "Neufassung");
  // Nothing is left to migrate.
  EXPECT_EQ(Post(kAdmin, Body(false), 202)["queued"].as_int(), 0);
}

TEST_F(ApiMigrationTest, OnlyAdminsMigrate) {
  Value v = Post(kAmt, Body(true), 403);
  EXPECT_NE(v["detail"].as_string().find("may not POST"), std::string::npos);
}

TEST_F(ApiMigrationTest, AnInvalidMappingIs422WithItsErrors) {
  Value v = Post(kAdmin, Body(true, R"("pruefung":"nirgends")"), 422);
  ASSERT_EQ(v["errors"].size(), 2u) << v.ToJson();
  EXPECT_NE(v["errors"].items()[0]["message"].as_string().find("has no state 'nirgends'"),
            std::string::npos);
  EXPECT_NE(v["errors"].items()[1]["message"].as_string().find(
                "'eingegangen' of version 1 is not mapped"),
            std::string::npos);
  Post(kAdmin, R"({"workflow":"anders","from":1,"to":2,"mapping":{"states":{}}})", 404);
  Post(kAdmin, R"({"workflow":"migflow","from":1,"to":9,"mapping":{"states":{}}})", 422);
  Post(kAdmin, R"({"workflow":"migflow","from":1,"to":2,"mapping":{"from":2,"states":{}}})", 422);
  Post(kAdmin, R"({"workflow":"migflow","from":1,"to":2})", 400);
  EXPECT_EQ(Case().version, 1);
}

}  // namespace
}  // namespace amtsweg::http
