// Participants' input through the HTTP API, end to end: a real server and a real HTTP client,
// and an engine running on a thread of its own that reads the server's inbox (as `amtsweg run
// --listen` does). The answer comes once the engine's batch is stored and says what became of
// the input; the organisation is the principal's, whatever the input claims.
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/file/file_source.h"
#include "connectors/http/api_server.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/fixed_clock.h"
#include "tests/testing/memory_source.h"
#include "tests/testing/principals.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::http {
namespace {

const std::string kRepo = AMTSWEG_SOURCE_DIR;
constexpr char kAdmin[] = "admin-token-0001";
constexpr char kIhk[] = "ihk-kiel-token-0003";
constexpr char kPortal[] = "portal-token-0004";
constexpr char kCase[] = "HR-2026-0001";
constexpr char kReceived[] = "2026-07-20T09:00:00Z";  // the server's clock

std::string PrincipalsYaml() {
  return testing::PrincipalsYaml({{"root", "admin", "", kAdmin},
                                  {"ihk", "participant", "ihk-kiel", kIhk},
                                  {"portal", "participant", "ozg-portal-sh", kPortal}});
}

// The first `n` lines of a shipped sample stream.
std::vector<std::string> SampleLines(const std::string& file, size_t n) {
  std::ifstream in(kRepo + "/workflows/samples/" + file);
  std::vector<std::string> out;
  std::string line;
  while (out.size() < n && std::getline(in, line))
    out.push_back(line);
  return out;
}

class ApiInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // spdlog's registry is built on first use inside libspdlog, whose guard ThreadSanitizer does
    // not see: built here, before the engine's thread starts, so that thread creation orders it.
    (void)spdlog::default_logger_raw();
    Result<testing::Shipped> shipped = testing::LoadShipped();
    ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
    directory_ = std::move(shipped->directory);
    registry_ = std::move(shipped->registry);
    auto st = store::Store::Open(dir_.path() + "/data");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    auto principals = Principals::Parse(PrincipalsYaml(), "principals.yaml", *directory_);
    ASSERT_TRUE(principals.ok()) << principals.status().ToString();
    principals_ = std::move(principals).value();
    catalog_ = std::make_unique<core::Catalog>(*store_, *directory_, registry_);
    engine_ = std::make_unique<core::Engine>(*store_, registry_, *directory_, clock_);
    ASSERT_TRUE(engine_->Open().ok());
    // The application and the complete file of HR-2026-0001: the IHK's hearing is open.
    testing::MemorySource file(SampleLines("03-handwerksrolle.jsonl", 2));
    ASSERT_TRUE(engine_->Drain(file, nullptr, 10).ok());
  }

  void TearDown() override {
    StopEngine();
    server_.reset();
  }

  void Start(bool with_engine = true) {
    ApiOptions options;
    options.connection_clock = &wall_;
    if (with_engine) {
      options.inbox = &inbox_;
      stop_ = false;
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
  }

  void StopEngine() {
    stop_ = true;
    if (engine_thread_.joinable()) engine_thread_.join();
  }

  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body,
                       const std::string& content_type = "application/json",
                       const std::string& key = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    if (!key.empty()) h.emplace("Idempotency-Key", key);
    return client_->Post(path, h, body, content_type);
  }

  // The JSON body of a response with `status`.
  static Value Json(const httplib::Result& r, int status) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return Value();
    EXPECT_EQ(r->status, status) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Value();
  }

  std::vector<std::string> DeadLetters() const {
    return testing::DeadLetterSourcesAndKinds(*store_);
  }

  // The case's domain events caused by the input with `id`.
  std::vector<runtime::DomainEvent> CausedBy(const std::string& id) const {
    Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(*store_, kCase);
    EXPECT_TRUE(history.ok()) << history.status().ToString();
    std::vector<runtime::DomainEvent> out;
    if (!history.ok()) return out;
    for (const core::HistoryEntry& h : *history) {
      if (h.event.cause == id) out.push_back(h.event);
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<dsl::Directory> directory_;
  dsl::Registry registry_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Principals> principals_;
  std::unique_ptr<core::Catalog> catalog_;
  ManualClock clock_{0};
  std::unique_ptr<core::Engine> engine_;
  testing::FixedClock wall_{*ParseTimestamp(kReceived)};
  core::Inbox inbox_{64, 10'000, wall_};
  std::atomic<bool> stop_{false};
  std::thread engine_thread_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ApiInputTest, AResponseIsAcceptedAtItsReceiptAndADuplicateWhenSentAgain) {
  Start();
  const std::string path = std::string("/api/v1/cases/") + kCase + "/responses";
  const std::string body = R"({"task":"ihk_anhoerung","objection":false})";
  Value v = Json(Post(path, kIhk, body, "application/json", "ihk-r-1"), 200);
  EXPECT_EQ(v["outcome"].as_string(), "accepted");
  EXPECT_EQ(v["input"]["id"].as_string(), "ihk-r-1");
  EXPECT_EQ(v["input"]["source"].as_string(), "urn:amtsweg:org:ihk-kiel");
  EXPECT_EQ(v["input"]["type"].as_string(), "de.amtsweg.task.responded");
  EXPECT_EQ(v["input"]["case"].as_string(), kCase);
  EXPECT_EQ(v["input"]["received"].as_string(), kReceived);
  // Stored before the answer left, at the time the server received it.
  std::vector<runtime::DomainEvent> caused = CausedBy("ihk-r-1");
  ASSERT_FALSE(caused.empty());
  EXPECT_EQ(caused.front().time, *ParseTimestamp(kReceived));

  v = Json(Post(path, kIhk, body, "application/json", "ihk-r-1"), 200);
  EXPECT_EQ(v["outcome"].as_string(), "duplicate");
  EXPECT_EQ(CausedBy("ihk-r-1").size(), caused.size());
  EXPECT_EQ(DeadLetters(), std::vector<std::string>{"api duplicate"});
}

TEST_F(ApiInputTest, AClaimForAnotherOrganisationIsRefusedAsImpersonation) {
  Start();
  const std::string event =
      R"({"specversion":"1.0","id":"forged-1","source":"urn:amtsweg:org:ihk-kiel",)"
      R"("type":"de.amtsweg.task.responded","subject":"HR-2026-0001",)"
      R"("time":"2026-07-20T09:00:00Z","participant":"hwk-luebeck",)"
      R"("data":{"task":"eintragung","decision":"approved"}})";
  Value v = Json(Post("/api/v1/inputs", kIhk, event, "application/cloudevents+json"), 422);
  EXPECT_EQ(v["type"].as_string(), "about:blank");
  EXPECT_EQ(v["input"]["id"].as_string(), "forged-1");
  EXPECT_EQ(v["outcome"].as_string(), "refused");
  EXPECT_EQ(v["kind"].as_string(), "impersonation");
  EXPECT_EQ(v["detail"].as_string(),
            "impersonation: participant 'hwk-luebeck' claimed, but channel HTTP API principal "
            "'ihk' speaks for 'ihk-kiel'");
  EXPECT_EQ(DeadLetters(), std::vector<std::string>{"api impersonation"});
  EXPECT_TRUE(CausedBy("forged-1").size() == 1u);  // input.rejected in the case's history
}

TEST_F(ApiInputTest, ACloudEventIsStampedWithItsReceiptNotTheTimeItClaims) {
  Start();
  const std::string event =
      R"({"specversion":"1.0","id":"ihk-2","source":"urn:amtsweg:org:ihk-kiel",)"
      R"("type":"de.amtsweg.task.responded","subject":"HR-2026-0001",)"
      R"("time":"2026-07-02T09:00:00Z","data":{"task":"ihk_anhoerung","objection":false}})";
  Value v = Json(Post("/api/v1/inputs", kIhk, event, "application/cloudevents+json"), 200);
  EXPECT_EQ(v["outcome"].as_string(), "accepted") << v.ToJson();
  std::vector<runtime::DomainEvent> caused = CausedBy("ihk-2");
  ASSERT_FALSE(caused.empty());
  EXPECT_EQ(caused.front().time, *ParseTimestamp(kReceived));
}

TEST_F(ApiInputTest, AnApplicationFromAPortalsPrincipalReachesTheApplicantThroughThatPortal) {
  Start();
  // A source the directory does not list for the portal: its channel, the principal, says which
  // portal submits, and so where the applicant is reached.
  std::string application = SampleLines("03-handwerksrolle.jsonl", 1)[0];
  application.replace(application.find("HR-2026-0001"), 12, "HR-2026-0777");
  application.replace(application.find("https://portal.example.schleswig-holstein.de/ozg"), 48,
                      "urn:amtsweg:api:portal");
  Value v = Json(Post("/api/v1/inputs", kPortal, application, "application/cloudevents+json"), 200);
  EXPECT_EQ(v["outcome"].as_string(), "accepted") << v.ToJson();
  Result<std::optional<runtime::CaseState>> s = core::LoadCaseState(*store_, "HR-2026-0777");
  ASSERT_TRUE(s.ok() && s->has_value());
  std::vector<std::string> bound;
  for (const runtime::Participant& p : (*s)->participants)
    bound.push_back(p.role + " " + p.organisation);
  EXPECT_NE(std::find(bound.begin(), bound.end(), "antragsteller ozg-portal-sh"), bound.end())
      << ::testing::PrintToString(bound);
}

TEST_F(ApiInputTest, OnlyTheApplicantsPortalWithdrawsTheApplication) {
  Start();
  auto withdrawal = [](const std::string& id) {
    return R"({"specversion":"1.0","id":")" + id +
           R"(","source":"urn:amtsweg:api:x","type":"de.amtsweg.application.withdrawn",)"
           R"("subject":"HR-2026-0001","time":"2026-07-20T09:00:00Z","data":{}})";
  };
  // The IHK takes part in the case, but the application is not its to withdraw.
  Value v =
      Json(Post("/api/v1/inputs", kIhk, withdrawal("w-ihk"), "application/cloudevents+json"), 422);
  EXPECT_EQ(v["kind"].as_string(), "wrong-role") << v.ToJson();
  // The portal the application came through is the applicant's.
  v = Json(Post("/api/v1/inputs", kPortal, withdrawal("w-portal"), "application/cloudevents+json"),
           200);
  EXPECT_EQ(v["outcome"].as_string(), "accepted") << v.ToJson();
  Result<std::optional<runtime::CaseState>> s = core::LoadCaseState(*store_, kCase);
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->outcome, "withdrawn");
}

TEST_F(ApiInputTest, MalformedInputIsRefusedWith400AndDeadLettered) {
  Start();
  Value v = Json(Post("/api/v1/inputs", kIhk, "[1,2]", "application/cloudevents+json"), 400);
  EXPECT_EQ(v["kind"].as_string(), "malformed");
  EXPECT_EQ(DeadLetters(), std::vector<std::string>{"api malformed"});
}

TEST_F(ApiInputTest, WhatTheServerRefusesItselfReachesNoEngineAndIsLogged) {
  Start();
  const std::string responses = std::string("/api/v1/cases/") + kCase + "/responses";
  auto expect = [&](const httplib::Result& r, int status, const std::string& fragment) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    EXPECT_NE(r->body.find(fragment), std::string::npos) << r->body;
  };
  expect(Post("/api/v1/inputs", kIhk, "{}", "text/plain"), 415, "structured mode");
  expect(Post("/api/v1/inputs", kIhk,
              R"({"specversion":"1.0","id":"c","source":"s","type":"de.amtsweg.clock.advanced",)"
              R"("time":"2030-01-01T00:00:00Z"})",
              "application/cloudevents+json"),
         403, "the engine's own input type");
  expect(Post(responses, kIhk, R"({"task":"ihk_anhoerung"})"), 400, "Idempotency-Key");
  expect(Post(responses, kIhk, "[]", "application/json", "k-1"), 400, "a JSON object");
  expect(Post(responses, kAdmin, "{}", "application/json", "k-2"), 403, "may not POST");
  EXPECT_TRUE(DeadLetters().empty());
  // Each is in the access log, with its case where it has one.
  std::vector<std::string> records;
  ASSERT_TRUE(store_
                  ->ScanAccess(1,
                               [&](const store::AccessRecord& r) {
                                 records.push_back(r.method + " " + std::to_string(r.status) + " " +
                                                   r.case_id);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(records, (std::vector<std::string>{"POST 415 ", "POST 403 ", "POST 400 HR-2026-0001",
                                               "POST 400 HR-2026-0001", "POST 403 HR-2026-0001"}));
}

TEST_F(ApiInputTest, WithoutAnEngineInTheProcessInputIsAnswered503) {
  Start(/*with_engine=*/false);
  const std::string path = std::string("/api/v1/cases/") + kCase + "/documents";
  httplib::Result r = Post(path, kIhk, "{}", "application/json", "k-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("no engine runs in this process"), std::string::npos) << r->body;
}

TEST_F(ApiInputTest, InputWaitingWhenTheServerStopsIsAnsweredNotStored) {
  Start(/*with_engine=*/false);
  // An inbox that no engine reads: the request waits until the server stops.
  core::Inbox unread(4, 10'000, wall_);
  ApiOptions options;
  options.inbox = &unread;
  auto server = ApiServer::Start(options, *store_, *catalog_, *directory_, *principals_, wall_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  httplib::Client client("127.0.0.1", (*server)->port());
  int status = 0;
  std::string retry_after;
  std::string body;
  std::thread request([&] {
    httplib::Headers h = {{"Authorization", std::string("Bearer ") + kIhk},
                          {"Idempotency-Key", "k-1"}};
    httplib::Result r = client.Post(std::string("/api/v1/cases/") + kCase + "/documents", h, "{}",
                                    "application/json");
    if (!r) return;
    status = r->status;
    retry_after = r->get_header_value("Retry-After");
    body = r->body;
  });
  while (!unread.Wait(std::chrono::milliseconds(1000))) {
  }
  (*server)->Stop();
  request.join();
  EXPECT_EQ(status, 503) << body;
  EXPECT_EQ(retry_after, "1");
  EXPECT_NE(body.find("nothing was stored"), std::string::npos) << body;
}

}  // namespace
}  // namespace amtsweg::http
