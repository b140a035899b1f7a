// The HTTP API on a real server (127.0.0.1, a free port) over a store filled by the engine from
// the shipped samples, through a real HTTP client: authentication, roles, what a participant
// may see, malformed requests, the read endpoints, workflow deployment and the access log.
#include "connectors/http/api_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "connectors/file/file_source.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "tests/testing/files.h"
#include "tests/testing/principals.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::http {
namespace {

namespace fs = std::filesystem;

const std::string kRepo = AMTSWEG_SOURCE_DIR;
constexpr char kAdmin[] = "admin-token-0001";
constexpr char kAuditor[] = "auditor-token-0002";
constexpr char kIhk[] = "ihk-kiel-token-0003";

using amtsweg::testing::ReadFile;

std::string PrincipalsYaml() {
  return testing::PrincipalsYaml({{"root", "admin", "", kAdmin},
                                  {"pruefer", "auditor", "", kAuditor},
                                  {"ihk", "participant", "ihk-kiel", kIhk}});
}

// The error body the API answers for a case that does not exist (or may not be seen).
std::string NoCase(const std::string& id) {
  return R"({"type":"about:blank","title":"Not Found","status":404,"detail":"no case ')" + id +
         R"('"})";
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<testing::Shipped> shipped = testing::LoadShipped();
    ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
    directory_ = std::move(shipped->directory);
    registry_ = std::move(shipped->registry);
    auto st = store::Store::Open(dir_ + "/data");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    RunSamples();
    auto principals = Principals::Parse(PrincipalsYaml(), "principals.yaml", *directory_);
    ASSERT_TRUE(principals.ok()) << principals.status().ToString();
    principals_ = std::move(principals).value();
    catalog_ = std::make_unique<core::Catalog>(*store_, *directory_, registry_);
    StartServer();
  }

  void TearDown() override {
    server_.reset();
    store_.reset();
  }

  void RunSamples() {
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
      if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    ManualClock clock(0);
    core::Engine engine(*store_, registry_, *directory_, clock);
    ASSERT_TRUE(engine.Open().ok());
    for (const std::string& f : files) {
      auto src = connectors::FileSource::Open(f, size_t{256} * 1024);
      ASSERT_TRUE(src.ok()) << src.status().ToString();
      Status s = engine.Drain(**src, nullptr, 100);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE(engine.AdvanceClock(*ParseTimestamp("2028-12-31T00:00:00Z")).ok());
  }

  void StartServer(ApiOptions options = {}) {
    server_.reset();
    options.connection_clock = &clock_;
    options.on_connections = [this](size_t open) {
      std::lock_guard<std::mutex> lock(open_mu_);
      open_ = open;
      max_open_ = std::max(max_open_, open);
      open_cv_.notify_all();
    };
    auto server = ApiServer::Start(options, *store_, *catalog_, *directory_, *principals_, clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  httplib::Result Get(const std::string& path, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Get(path, h);
  }
  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Post(path, h, body, "application/yaml");
  }

  // The JSON body of a response with `status`.
  Value Json(const httplib::Result& r, int status) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return Value();
    EXPECT_EQ(r->status, status) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Value();
  }

  // Expects an RFC 9457 problem details body with `status` whose detail mentions `fragment`.
  void ExpectError(const httplib::Result& r, int status, const std::string& fragment) {
    Value v = Json(r, status);
    EXPECT_EQ(v["status"].as_int(), status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    EXPECT_EQ(v["type"].as_string(), "about:blank") << r->body;
    EXPECT_FALSE(v["title"].as_string().empty()) << r->body;
    EXPECT_NE(v["detail"].as_string().find(fragment), std::string::npos)
        << "'" << fragment << "' not in " << r->body;
  }

  // Waits until the server holds `n` open connections (10 s at most, then fails).
  void WaitOpen(size_t n) {
    std::unique_lock<std::mutex> lock(open_mu_);
    ASSERT_TRUE(open_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_ == n; }))
        << "open connections: " << open_ << ", expected " << n;
  }

  // The access records from `from_seq` on.
  std::vector<store::AccessRecord> AccessFrom(uint64_t from_seq) {
    std::vector<store::AccessRecord> out;
    Status s = store_->ScanAccess(from_seq, [&](const store::AccessRecord& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> CaseIds(const std::string& query, const std::string& token) {
    Value v = Json(Get("/api/v1/cases" + query, token), 200);
    std::vector<std::string> ids;
    for (const Value& c : v["cases"].items())
      ids.push_back(c["case"].as_string());
    return ids;
  }

  testing::TempDir tmp_{"amtsweg-http"};
  const std::string dir_ = tmp_.path();
  std::unique_ptr<dsl::Directory> directory_;
  dsl::Registry registry_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Principals> principals_;
  std::unique_ptr<core::Catalog> catalog_;
  ManualClock clock_{*ParseTimestamp("2029-01-02T03:04:05Z")};
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex open_mu_;
  std::condition_variable open_cv_;
  size_t open_ = 0;      // guarded by open_mu_
  size_t max_open_ = 0;  // guarded by open_mu_
};

// A raw client connection on loopback from `source` (any 127.x.y.z is this host, so tests can
// be several clients), for what well-behaved clients never send. A read gives up after 10 s,
// so a server that never answers fails the test instead of hanging it.
class Raw {
 public:
  explicit Raw(int port, const char* source = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = 10;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source, &local.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Raw() { Close(); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // False when the server has closed the connection already.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until the server closes the connection (*closed), or `until` has arrived, or 10 s.
  std::string Read(bool* closed, std::string_view until = {}) {
    std::string answer;
    *closed = false;
    char buf[4096];
    while (until.empty() || answer.find(until) == std::string::npos) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        answer.append(buf, static_cast<size_t>(n));
        continue;
      }
      *closed = n == 0 || errno == ECONNRESET;
      break;
    }
    return answer;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST(ParseListenTest, TakesHostAndPort) {
  ApiOptions o;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", &o).ok());
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  ASSERT_TRUE(ParseListen("[::1]:0", &o).ok());
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 0);
  for (const char* bad : {"8080", ":8080", "host:", "host:x", "host:65536", "host:-1"})
    EXPECT_TRUE(ParseListen(bad, &o).IsInvalidArgument()) << bad;
}

TEST_F(ApiTest, NoTokenOrAWrongTokenIs401WithAJsonBody) {
  ExpectError(Get("/api/v1/cases", ""), 401, "authentication required");
  ExpectError(Get("/api/v1/cases", "not-a-token"), 401, "invalid token");
  ExpectError(Get("/api/v1/cases/GA-2026-0001", std::string(kAdmin) + "x"), 401, "invalid token");
  httplib::Headers basic = {{"Authorization", std::string("Basic ") + kAdmin}};
  ExpectError(client_->Get("/api/v1/cases", basic), 401, "invalid token");
  auto r = Get("/api/v1/workflows", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  ExpectError(Post("/api/v1/workflows", "", "name: x"), 401, "authentication");
}

TEST_F(ApiTest, AdminActionsAndAuditorOnlyReadsAreForbiddenToOtherRoles) {
  const std::string yaml = ReadFile(kRepo + "/workflows/gewerbeanmeldung.yaml");
  for (const char* token : {kAuditor, kIhk}) {
    ExpectError(Post("/api/v1/workflows/validate", token, yaml), 403, "may not POST");
    ExpectError(Post("/api/v1/workflows", token, yaml), 403, "may not POST");
  }
  ExpectError(Get("/api/v1/access-log", kAdmin), 403, "role 'admin'");
  ExpectError(Get("/api/v1/access-log", kIhk), 403, "role 'participant'");
  ExpectError(Get("/api/v1/dead-letters", kIhk), 403, "role 'participant'");
  ExpectError(Get("/api/v1/dead-letters/1", kIhk), 403, "role 'participant'");
}

TEST_F(ApiTest, AParticipantListsOnlyCasesOfItsOrganisation) {
  std::vector<std::string> all = CaseIds("?limit=1000", kAuditor);
  std::vector<std::string> mine = CaseIds("", kIhk);
  ASSERT_FALSE(mine.empty());
  EXPECT_LT(mine.size(), all.size());
  std::vector<std::string> expected;
  for (const std::string& id : all) {
    auto s = core::LoadCaseState(*store_, id, false);
    ASSERT_TRUE(s.ok() && s->has_value());
    for (const runtime::Participant& p : (*s)->participants) {
      if (p.organisation == "ihk-kiel") {
        expected.push_back(id);
        break;
      }
    }
  }
  EXPECT_EQ(mine, expected);
  EXPECT_EQ(std::count(mine.begin(), mine.end(), "BA-2026-0001"), 0);
  // Asking for another organisation's cases gives nothing, not an error.
  EXPECT_TRUE(CaseIds("?participant=hwk-luebeck", kIhk).empty());
  EXPECT_EQ(CaseIds("?participant=ihk-kiel", kIhk), expected);
}

TEST_F(ApiTest, AnotherOrganisationsCaseIsIndistinguishableFromNoCase) {
  // BA-2026-0001 exists, but IHK Kiel takes no part in it.
  ASSERT_EQ(Json(Get("/api/v1/cases/BA-2026-0001", kAuditor), 200)["case"].as_string(),
            "BA-2026-0001");
  for (const std::string id : {"BA-2026-0001", "XX-2099-0000"}) {
    for (const std::string suffix :
         {"", "/history", "/state?seq=1", "/state?at=2026-06-01T00:00:00Z", "/verify",
          "/export?format=json", "/export?format=csv", "/export?format=html"}) {
      auto r = Get(std::string("/api/v1/cases/").append(id).append(suffix), kIhk);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 404) << id << suffix;
      EXPECT_EQ(r->body, NoCase(id)) << id << suffix;
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    }
  }
}

TEST_F(ApiTest, AParticipantSeesOnlyTheFieldsDisclosedToItsOrganisation) {
  // Full view: the application holds the owner's birth date and nationality.
  Value full = Json(Get("/api/v1/cases/GA-2026-0001", kAuditor), 200);
  ASSERT_NE(full["application"].FindPath("inhaber.geburtsdatum"), nullptr);
  ASSERT_GT(full["participants"].size(), 1u);

  Value mine = Json(Get("/api/v1/cases/GA-2026-0001", kIhk), 200);
  EXPECT_EQ(mine.Find("variables"), nullptr);
  ASSERT_EQ(mine["participants"].size(), 1u);
  EXPECT_EQ(mine["participants"].items()[0]["organisation"].as_string(), "ihk-kiel");
  // Exactly the paths disclosed to ihk-kiel, with the application's values.
  auto history = core::ReadHistory(*store_, "GA-2026-0001");
  ASSERT_TRUE(history.ok());
  std::vector<std::string> disclosed = core::DisclosedPaths(*history, "ihk-kiel");
  ASSERT_FALSE(disclosed.empty());
  std::vector<std::string> shown;
  for (const Member& m : mine["application"].members()) {
    shown.push_back(m.first);
    const Value* original = full["application"].FindPath(m.first);
    ASSERT_NE(original, nullptr) << m.first;
    EXPECT_EQ(m.second, *original) << m.first;
  }
  EXPECT_EQ(shown, disclosed);

  // Nothing outside the projection in any view of the case.
  for (const std::string suffix : {"", "/history", "/state?seq=1000", "/export?format=json",
                                   "/export?format=csv", "/export?format=html"}) {
    auto r = Get("/api/v1/cases/GA-2026-0001" + suffix, kIhk);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << suffix;
    for (const char* secret : {"geburtsdatum", "1980-01-15", "staatsangehoerigkeit", "finanzamt",
                               "statistikamt", "gewerbeamt-kiel"}) {
      EXPECT_EQ(r->body.find(secret), std::string::npos) << secret << " in " << suffix;
    }
  }
  // The history keeps the disclosure to ihk-kiel, with values, and no hashes.
  Value events = Json(Get("/api/v1/cases/GA-2026-0001/history", kIhk), 200)["events"];
  bool disclosure = false;
  for (const Value& e : events.items()) {
    EXPECT_EQ(e.Find("hash"), nullptr);
    EXPECT_NE(e["type"].as_string(), "task.completed") << "ihk-kiel was asked for no task";
    EXPECT_NE(e["type"].as_string(), "variable.set");
    if (e["type"].as_string() == "notification.disclosed") {
      disclosure = true;
      EXPECT_EQ(e["data"]["fields"]["betrieb.name"].as_string(), "Bäckerei Jensen");
    }
  }
  EXPECT_TRUE(disclosure);
}

TEST_F(ApiTest, MalformedRequestsAre400SayingWhichParameterAndWhy) {
  ExpectError(Get("/api/v1/cases?limit=0", kAuditor), 400, "'limit'");
  ExpectError(Get("/api/v1/cases?limit=abc", kAuditor), 400, "'limit'");
  ExpectError(Get("/api/v1/cases?limit=1000000", kAuditor), 400, "from 1 to 1000");
  ExpectError(Get("/api/v1/cases?opened_from=yesterday", kAuditor), 400, "'opened_from'");
  ExpectError(Get("/api/v1/cases?deadline_before=2026-13-01T00:00:00Z", kAuditor), 400,
              "'deadline_before'");
  ExpectError(Get("/api/v1/cases?colour=blue", kAuditor), 400, "unknown query parameter 'colour'");
  ExpectError(Get("/api/v1/cases?state=a&state=b", kAuditor), 400, "more than once");
  ExpectError(Get("/api/v1/cases?state=", kAuditor), 400, "'state' must not be empty");
  ExpectError(Get("/api/v1/cases/GA-2026-0001/state", kAuditor), 400, "'at'");
  ExpectError(Get("/api/v1/cases/GA-2026-0001/state?seq=1&at=2026-01-01T00:00:00Z", kAuditor), 400,
              "exactly one");
  ExpectError(Get("/api/v1/cases/GA-2026-0001/state?seq=-1", kAuditor), 400, "'seq'");
  ExpectError(Get("/api/v1/cases/GA-2026-0001/state?seq=0", kAuditor), 400, "'seq'");
  ExpectError(Get("/api/v1/cases/GA-2026-0001/export?format=pdf", kAuditor), 400, "'format'");
  ExpectError(Get("/api/v1/cases/GA-2026-0001?x=1", kAuditor), 400, "takes none");
  ExpectError(Get("/api/v1/dead-letters/abc", kAuditor), 400, "dead letter number");
  ExpectError(Get("/api/v1/dead-letters?cursor=x", kAuditor), 400, "'cursor'");
  ExpectError(Post("/api/v1/workflows", kAdmin, ""), 400, "body is empty");
  ExpectError(Get("/api/v1/no-such-thing", kAuditor), 404, "no such endpoint");
  ExpectError(Get("/api/v1/cases?limit=%ff", kAuditor), 400, "not valid UTF-8");
  ExpectError(Get("/api/v1/cases?state=%C3", kAuditor), 400, "not valid UTF-8");
  ExpectError(Get("/api/v1/cases/GA%C3", kAuditor), 400, "not valid UTF-8");
  ExpectError(Post("/api/v1/workflows/validate", kAdmin, "name: \xff\n"), 400, "not valid UTF-8");
  ExpectError(Get("/api/v1/cases?" + std::string(10000, 'a') + "=1", kAuditor), 414, "too long");
}

TEST_F(ApiTest, AGarbledRequestLineIsAnswered400AndTheServerGoesOn) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string garbage = "\x01\x02 GARBAGE\r\n\r\n";
  ASSERT_EQ(write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    answer.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  // The HTTP parser answers this itself (libmicrohttpd's own short body).
  Json(Get("/api/v1/cases", kAuditor), 200);
}

TEST_F(ApiTest, AnOversizedBodyIs413) {
  ApiOptions options;
  options.max_body_bytes = 4096;
  StartServer(options);
  ExpectError(Post("/api/v1/workflows/validate", kAdmin, std::string(5000, 'a')), 413, "too large");
  Json(Post("/api/v1/workflows/validate", kAdmin, "name: x\n"), 200);
}

TEST_F(ApiTest, ListsFilterAndPage) {
  for (const std::string& id : CaseIds("?workflow=handwerksrolle", kAuditor))
    EXPECT_EQ(id.rfind("HR-", 0), 0u) << id;
  EXPECT_EQ(CaseIds("?workflow=handwerksrolle", kAuditor).size(), 5u);
  EXPECT_EQ(CaseIds("?outcome=deemed_approved", kAuditor),
            (std::vector<std::string>{"HR-2026-0002", "HR-2027-0001"}));
  EXPECT_EQ(CaseIds("?state=fiktiv_eingetragen&workflow=handwerksrolle", kAuditor),
            (std::vector<std::string>{"HR-2026-0002", "HR-2027-0001"}));
  EXPECT_TRUE(CaseIds("?state=fiktiv_eingetragen&workflow=bauantrag", kAuditor).empty());
  std::vector<std::string> january =
      CaseIds("?opened_from=2026-01-01T00:00:00Z&opened_to=2026-02-01T00:00:00Z", kAuditor);
  EXPECT_EQ(january.size(), 7u);
  for (const std::string& id : january)
    EXPECT_EQ(id.rfind("GA-2026-", 0), 0u) << id;
  // Running deadlines: one case of the shipped samples still has one.
  Value all = Json(Get("/api/v1/cases?limit=1000", kAuditor), 200);
  size_t with_deadline = 0;
  for (const Value& c : all["cases"].items())
    with_deadline += c["next_deadline"].is_null() ? 0 : 1;
  EXPECT_EQ(CaseIds("?deadline_before=2100-01-01T00:00:00Z", kAuditor).size(), with_deadline);
  EXPECT_TRUE(CaseIds("?deadline_before=2000-01-01T00:00:00Z", kAuditor).empty());

  // Pages of 3 walk every case once, in order.
  std::vector<std::string> walked;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    Value v = Json(
        Get("/api/v1/cases?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), kAuditor), 200);
    for (const Value& c : v["cases"].items())
      walked.push_back(c["case"].as_string());
    if (v["next_cursor"].is_null()) break;
    cursor = v["next_cursor"].as_string();
  }
  std::vector<std::string> expected;
  for (const Value& c : all["cases"].items())
    expected.push_back(c["case"].as_string());
  EXPECT_EQ(walked, expected);
  EXPECT_GT(expected.size(), 3u);
}

TEST_F(ApiTest, ShowHistoryAndVerifyAnswerWhatTheStoreHolds) {
  for (const char* token : {kAdmin, kAuditor}) {
    Value shown = Json(Get("/api/v1/cases/HR-2026-0002", token), 200);
    auto s = core::LoadCaseState(*store_, "HR-2026-0002");
    ASSERT_TRUE(s.ok() && s->has_value());
    EXPECT_EQ(shown, runtime::StateToValue(**s));
  }
  Value history = Json(Get("/api/v1/cases/HR-2026-0002/history", kAuditor), 200);
  auto stored = core::ReadHistory(*store_, "HR-2026-0002");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(history["events"].size(), stored->size());
  for (size_t i = 0; i < stored->size(); ++i) {
    const Value& e = history["events"].items()[i];
    EXPECT_EQ(e["seq"].as_int(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(e["hash"].as_string(), ToHex((*stored)[i].hash));
  }
  Value verify = Json(Get("/api/v1/cases/HR-2026-0002/verify", kAuditor), 200);
  EXPECT_TRUE(verify["ok"].as_bool());
  EXPECT_TRUE(verify["chain_intact"].as_bool());
  EXPECT_EQ(verify["events"].as_int(), static_cast<int64_t>(stored->size()));

  // A tampered event is a finding, not an error.
  ASSERT_TRUE(store_->OverwriteEventPayloadForTest("HR-2026-0002", 3, "tampered").ok());
  Value tampered = Json(Get("/api/v1/cases/HR-2026-0002/verify", kAuditor), 200);
  EXPECT_FALSE(tampered["ok"].as_bool());
  EXPECT_FALSE(tampered["chain_intact"].as_bool());
  EXPECT_NE(tampered["error"].as_string().find("HR-2026-0002"), std::string::npos)
      << tampered.ToJson();
}

TEST_F(ApiTest, StateAtATimeOrSequenceNumberIsReplayedFromTheLog) {
  Value before =
      Json(Get("/api/v1/cases/HR-2026-0002/state?at=2026-10-12T21:59:59Z", kAuditor), 200);
  EXPECT_EQ(before["state"]["state"].as_string(), "pruefung");
  EXPECT_TRUE(before["state"]["outcome"].is_null());
  Value after =
      Json(Get("/api/v1/cases/HR-2026-0002/state?at=2026-10-12T22:00:00Z", kAuditor), 200);
  EXPECT_EQ(after["state"]["outcome"].as_string(), "deemed_approved");
  Value first = Json(Get("/api/v1/cases/HR-2026-0002/state?seq=1", kAuditor), 200);
  EXPECT_EQ(first["seq"].as_int(), 1);
  EXPECT_EQ(first["state"]["state"].as_string(), "");
  ExpectError(Get("/api/v1/cases/HR-2026-0002/state?at=2000-01-01T00:00:00Z", kAuditor), 404,
              "no events");
  // A participant's view at a moment holds only what was disclosed by then.
  Value early = Json(Get("/api/v1/cases/GA-2026-0001/state?seq=1", kIhk), 200);
  EXPECT_EQ(early["state"]["application"].size(), 0u);
}

TEST_F(ApiTest, ExportsAsJsonCsvAndHtml) {
  Value json = Json(Get("/api/v1/cases/GA-2026-0001/export?format=json", kAuditor), 200);
  EXPECT_EQ(json["case"]["case"].as_string(), "GA-2026-0001");
  auto stored = core::ReadHistory(*store_, "GA-2026-0001");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(json["events"].size(), stored->size());
  EXPECT_EQ(json["generated_at"].as_string(), "2029-01-02T03:04:05Z");

  auto csv = Get("/api/v1/cases/GA-2026-0001/export?format=csv", kAuditor);
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->status, 200);
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->body.rfind("seq,time,type,cause,organisation,data\r\n", 0), 0u);
  EXPECT_EQ(static_cast<size_t>(std::count(csv->body.begin(), csv->body.end(), '\n')),
            stored->size() + 1);

  auto html = Get("/api/v1/cases/GA-2026-0001/export?format=html", kAuditor);
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_EQ(html->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(html->body.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* part :
       {"Fallakte GA-2026-0001", "Verlauf", "Mitteilungen", "Fristen", "ihk-kiel",
        // The outcome in German, the organisation by its name in the directory.
        "Anzeige entgegengenommen", "IHK"})
    EXPECT_NE(html->body.find(part), std::string::npos) << part;
  EXPECT_EQ(html->get_header_value("Content-Disposition"),
            "attachment; filename=\"GA-2026-0001.html\"");
}

TEST_F(ApiTest, ValidateNamesLineAndColumn) {
  Value ok = Json(
      Post("/api/v1/workflows/validate", kAdmin, ReadFile(kRepo + "/workflows/bauantrag.yaml")),
      200);
  EXPECT_TRUE(ok["valid"].as_bool()) << ok.ToJson();
  EXPECT_EQ(ok["name"].as_string(), "bauantrag");
  Value bad =
      Json(Post("/api/v1/workflows/validate", kAdmin, "name: x\nversion: one\nstates: [\n"), 200);
  EXPECT_FALSE(bad["valid"].as_bool());
  ASSERT_GT(bad["errors"].size(), 0u);
  const Value& e = bad["errors"].items()[0];
  EXPECT_GT(e["line"].as_int(), 0);
  EXPECT_GT(e["column"].as_int(), 0);
  EXPECT_FALSE(e["message"].as_string().empty());
  // Nothing was deployed.
  EXPECT_EQ(Json(Get("/api/v1/workflows", kAdmin), 200)["workflows"].size(),
            registry_.All().size());
}

// Found by Schemathesis: a valid UTF-8 body whose YAML reads as a string that is not UTF-8
// (yaml-cpp reads the escape \N as the byte 0x85) was echoed in a diagnostic, and the answer was
// not JSON.
TEST_F(ApiTest, DiagnosticsAreUtf8EvenWhenTheYamlReadsAsBytesThatAreNot) {
  for (const char* body : {"name: x\n\"a\\N\": 1\n", "name: \"a\\\xc3\xa9\"\n"}) {
    for (const char* path : {"/api/v1/workflows/validate", "/api/v1/workflows"}) {
      httplib::Result r = Post(path, kAdmin, body);
      ASSERT_TRUE(r);
      Value v = Json(r, std::string_view(path).ends_with("validate") ? 200 : 400);
      ASSERT_EQ(v["errors"].size(), 1u) << r->body;
      EXPECT_FALSE(v["errors"].items()[0]["message"].as_string().empty()) << r->body;
    }
  }
}

TEST_F(ApiTest, ADeployedVersionIsStoredAndOldCasesKeepTheirVersion) {
  std::string yaml = ReadFile(kRepo + "/workflows/gewerbeanmeldung.yaml");
  size_t at = yaml.find("\nversion: 2\n");
  ASSERT_NE(at, std::string::npos);
  std::string v3 = yaml;
  v3.replace(at, 12, "\nversion: 3\n");
  Value deployed = Json(Post("/api/v1/workflows", kAdmin, v3), 201);
  EXPECT_EQ(deployed["version"].as_int(), 3);
  ExpectError(Post("/api/v1/workflows", kAdmin, v3), 409, "not newer");
  ExpectError(Post("/api/v1/workflows", kAdmin, yaml), 409, "not newer");
  Value invalid = Json(Post("/api/v1/workflows", kAdmin, "name: x\n"), 400);
  EXPECT_GT(invalid["errors"].size(), 0u);

  std::set<int> versions;
  Value workflows = Json(Get("/api/v1/workflows", kIhk), 200);
  for (const Value& w : workflows["workflows"].items()) {
    if (w["name"].as_string() == "gewerbeanmeldung")
      versions.insert(static_cast<int>(w["version"].as_int()));
  }
  EXPECT_EQ(versions, (std::set<int>{2, 3}));

  // Stored: a registry built at the next start has version 3.
  dsl::Registry restarted = registry_;
  ASSERT_TRUE(core::AddDeployedDefinitions(*store_, directory_.get(), &restarted).ok());
  ASSERT_NE(restarted.Find("gewerbeanmeldung", 3), nullptr);
  // A running engine takes it up between batches (as `amtsweg run --listen` does), once.
  dsl::Registry live = registry_;
  ManualClock clock(0);
  core::Engine engine(*store_, live, *directory_, clock);
  ASSERT_TRUE(engine.Open().ok());
  size_t taken = 0;
  ASSERT_TRUE(catalog_->TakeDeployed(&live, &taken).ok());
  EXPECT_EQ(taken, 1u);
  ASSERT_NE(live.Find("gewerbeanmeldung", 3), nullptr);
  ASSERT_TRUE(catalog_->TakeDeployed(&live, &taken).ok());
  EXPECT_EQ(taken, 1u);
  // New cases open on version 3; old ones stay on version 2.
  std::string line = ReadFile(kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl");
  line = line.substr(0, line.find('\n'));
  for (auto [from, to] : {std::pair<std::string, std::string>{"GA-2026-0001", "GA-2029-0001"},
                          {"01-gewerbeanmeldung-0001", "api-test-0001"},
                          {"2026-01-05T08:10:00Z", "2029-01-05T08:10:00Z"}}) {
    line.replace(line.find(from), from.size(), to);
  }
  std::string input_path = dir_ + "/new.jsonl";
  std::ofstream(input_path) << line << "\n";
  auto src = connectors::FileSource::Open(input_path, size_t{256} * 1024);
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE(engine.Drain(**src, nullptr, 10).ok());
  EXPECT_EQ(Json(Get("/api/v1/cases/GA-2029-0001", kAuditor), 200)["version"].as_int(), 3);
  EXPECT_EQ(Json(Get("/api/v1/cases/GA-2026-0001", kAuditor), 200)["version"].as_int(), 2);
}

// /metrics and /status are public (no token), carry no personal data and are not case reads.
TEST_F(ApiTest, MetricsAndStatusPageArePublicWhenAMonitorIsGiven) {
  // Without a monitor they are not served.
  EXPECT_EQ(Get("/metrics", "")->status, 404);
  EXPECT_EQ(Get("/status", "")->status, 404);

  report::StatusPageOptions page;
  page.service_names = report::ServiceNames(registry_);
  // No process metrics: they change between the scrape and the render it is compared with.
  report::Monitor monitor(*store_, page, std::chrono::milliseconds(0), report::ProcessReader());
  ApiOptions options;
  options.monitor = &monitor;
  StartServer(options);

  httplib::Result metrics = Get("/metrics", "");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  Result<std::string> expected = monitor.Metrics();
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(metrics->body, *expected);
  EXPECT_NE(metrics->body.find("# TYPE amtsweg_cases_opened_total counter"), std::string::npos);

  httplib::Result status = Get("/status", "");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  Result<std::string> want = monitor.StatusPage(clock_.Now());
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(status->body, *want);
  EXPECT_NE(status->body.find("datetime=\"2029-01-02T03:04:05"), std::string::npos);
  EXPECT_NE(status->body.find("Gewerbeanmeldung"), std::string::npos);

  httplib::Result root = Get("/", "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 302);
  EXPECT_EQ(root->get_header_value("Location"), "/status");

  Value log = Json(Get("/api/v1/access-log", kAuditor), 200);
  EXPECT_EQ(log["records"].size(), 0u) << log.ToJson();
}

TEST_F(ApiTest, ReadsOfCaseDataAreInTheAccessLog) {
  Json(Get("/api/v1/cases/GA-2026-0001", kIhk), 200);
  Get("/api/v1/cases/BA-2026-0001/history", kIhk);
  Json(Get("/api/v1/cases?workflow=bauantrag", kAuditor), 200);
  Json(Get("/api/v1/workflows", kIhk), 200);  // no case data: not recorded
  Get("/api/v1/cases", "wrong");              // not authenticated: not a read

  Value log = Json(Get("/api/v1/access-log", kAuditor), 200);
  ASSERT_EQ(log["records"].size(), 3u) << log.ToJson();
  const Value& first = log["records"].items()[0];
  EXPECT_EQ(first["seq"].as_int(), 1);
  EXPECT_EQ(first["principal"].as_string(), "ihk");
  EXPECT_EQ(first["role"].as_string(), "participant");
  EXPECT_EQ(first["organisation"].as_string(), "ihk-kiel");
  EXPECT_EQ(first["method"].as_string(), "GET");
  EXPECT_EQ(first["path"].as_string(), "/api/v1/cases/GA-2026-0001");
  EXPECT_EQ(first["case"].as_string(), "GA-2026-0001");
  EXPECT_EQ(first["status"].as_int(), 200);
  EXPECT_EQ(first["at"].as_string(), "2029-01-02T03:04:05Z");
  const Value& denied = log["records"].items()[1];
  EXPECT_EQ(denied["case"].as_string(), "BA-2026-0001");
  EXPECT_EQ(denied["status"].as_int(), 404);
  const Value& list = log["records"].items()[2];
  EXPECT_EQ(list["role"].as_string(), "auditor");
  EXPECT_EQ(list["path"].as_string(), "/api/v1/cases?workflow=bauantrag");
  EXPECT_TRUE(list["case"].is_null());

  // Paged, and it survives a restart of the store.
  Value page = Json(Get("/api/v1/access-log?limit=2", kAuditor), 200);
  EXPECT_EQ(page["records"].size(), 2u);
  EXPECT_EQ(page["next_cursor"].as_string(), "2");
  server_.reset();
  catalog_.reset();
  store_.reset();
  auto st = store::Store::Open(dir_ + "/data");
  ASSERT_TRUE(st.ok());
  store_ = std::move(st).value();
  catalog_ = std::make_unique<core::Catalog>(*store_, *directory_, registry_);
  StartServer();
  Value rest = Json(Get("/api/v1/access-log?cursor=2", kAuditor), 200);
  ASSERT_EQ(rest["records"].size(), 1u);
  EXPECT_EQ(rest["records"].items()[0]["seq"].as_int(), 3);
  Json(Get("/api/v1/cases/HR-2026-0001", kAuditor), 200);
  Value after = Json(Get("/api/v1/access-log?cursor=3", kAuditor), 200);
  ASSERT_EQ(after["records"].size(), 1u);
  EXPECT_EQ(after["records"].items()[0]["seq"].as_int(), 4);
}

TEST_F(ApiTest, DeadLettersAreListedAndFetchedByNumber) {
  Value list = Json(Get("/api/v1/dead-letters?limit=1000", kAuditor), 200);
  ASSERT_GT(list["dead_letters"].size(), 1u);
  Value one = Json(Get("/api/v1/dead-letters/2", kAdmin), 200);
  EXPECT_EQ(one, list["dead_letters"].items()[1]);
  ExpectError(Get("/api/v1/dead-letters/999999", kAuditor), 404, "no dead letter");
  Value page = Json(Get("/api/v1/dead-letters?limit=1", kAuditor), 200);
  EXPECT_EQ(page["dead_letters"].size(), 1u);
  EXPECT_EQ(page["next_cursor"].as_string(), "1");
  // Each has its kind as a field; ?kind= keeps one kind, and pages over it alike.
  size_t malformed = 0;
  for (const Value& d : list["dead_letters"].items()) {
    const std::string& kind = d["kind"].as_string();
    EXPECT_FALSE(kind.empty());
    EXPECT_EQ(d["reason"].as_string().substr(0, kind.size() + 2), kind + ": ");
    malformed += kind == "malformed";
  }
  ASSERT_GT(malformed, 1u);
  Value only = Json(Get("/api/v1/dead-letters?kind=malformed&limit=1000", kAuditor), 200);
  ASSERT_EQ(only["dead_letters"].size(), malformed);
  for (const Value& d : only["dead_letters"].items())
    EXPECT_EQ(d["kind"].as_string(), "malformed");
  EXPECT_TRUE(only["next_cursor"].is_null());
  Value first = Json(Get("/api/v1/dead-letters?kind=malformed&limit=1", kAuditor), 200);
  ASSERT_EQ(first["dead_letters"].size(), 1u);
  Value next = Json(Get("/api/v1/dead-letters?kind=malformed&limit=1000&cursor=" +
                            first["next_cursor"].as_string(),
                        kAuditor),
                    200);
  EXPECT_EQ(next["dead_letters"].size(), malformed - 1);
  EXPECT_EQ(
      Json(Get("/api/v1/dead-letters?kind=no-such-kind", kAuditor), 200)["dead_letters"].size(),
      0u);
}

TEST_F(ApiTest, ServesReadsWhileTheEngineWritesTheSameStore) {
  // As in `amtsweg run --listen`: the engine commits new cases on this thread while a client
  // reads on another. Every answer is complete and the case count never goes back.
  std::string line = ReadFile(kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl");
  line = line.substr(0, line.find('\n'));
  std::string input_path = dir_ + "/many.jsonl";
  constexpr int kNew = 300;
  {
    std::ofstream out(input_path);
    for (int i = 0; i < kNew; ++i) {
      std::string l = line;
      std::string id = "GA-2030-" + std::to_string(1000 + i);
      l.replace(l.find("GA-2026-0001"), 12, id);
      l.replace(l.find("01-gewerbeanmeldung-0001"), 24, "concurrent-" + std::to_string(1000 + i));
      out << l << "\n";
    }
  }
  const size_t before = CaseIds("?limit=1000", kAuditor).size();
  std::atomic<bool> done{false};
  std::vector<std::string> problems;
  size_t reads = 0;
  std::thread reader([&] {
    httplib::Client client("127.0.0.1", server_->port());
    httplib::Headers h = {{"Authorization", std::string("Bearer ") + kAuditor}};
    size_t last = 0;
    // At least a few reads, then until the writer is done.
    while (reads < 5 || !done.load()) {
      auto r = client.Get("/api/v1/cases?limit=1000", h);
      auto e = client.Get("/api/v1/cases/GA-2026-0001/history", h);
      ++reads;
      if (!r || r->status != 200 || !e || e->status != 200) {
        problems.push_back("a read failed");
        break;
      }
      Result<Value> v = Value::ParseJson(r->body);
      if (!v.ok()) {
        problems.push_back("not JSON: " + r->body.substr(0, 200));
        break;
      }
      size_t n = (*v)["cases"].size();
      if (n < last) problems.push_back("the case count went back");
      last = n;
    }
  });
  {
    ManualClock clock(0);
    core::Engine engine(*store_, registry_, *directory_, clock);
    ASSERT_TRUE(engine.Open().ok());
    auto src = connectors::FileSource::Open(input_path, size_t{256} * 1024);
    ASSERT_TRUE(src.ok());
    Status s = engine.Drain(**src, nullptr, 10);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  done.store(true);
  reader.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_GE(reads, 5u);
  EXPECT_EQ(CaseIds("?limit=1000", kAuditor).size(), before + kNew);
}

}  // namespace
}  // namespace amtsweg::http

namespace amtsweg::http {
namespace {

// --- hostile clients (issue 10) ------------------------------------------------------------

std::string Head(const std::string& method, const std::string& target, const std::string& token,
                 const std::string& more = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: test\r\n" +
         (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") + more + "\r\n";
}

TEST_F(ApiTest, AChunkedBodyOverTheLimitIsNotRead) {
  ApiOptions options;
  options.max_body_bytes = 4096;
  StartServer(options);
  const std::string chunk = "3e8\r\n" + std::string(1000, 'a') + "\r\n";  // 1000 bytes
  // Over the limit the server stops reading and closes the connection (libmicrohttpd cannot
  // answer in the middle of a body; a Content-Length over the limit gets 413 before the body).
  Raw over(server_->port());
  std::string request =
      Head("POST", "/api/v1/workflows/validate", kAdmin, "Transfer-Encoding: chunked\r\n");
  for (int i = 0; i < 8; ++i)
    request += chunk;
  (void)over.Send(request + "0\r\n\r\n");  // may fail: the server closes it
  bool closed = false;
  std::string answer = over.Read(&closed);
  EXPECT_EQ(answer, "");
  EXPECT_TRUE(closed);
  // Chunked within the limit is read whole.
  Raw within(server_->port());
  ASSERT_TRUE(within.Send(Head("POST", "/api/v1/workflows/validate", kAdmin,
                               "Transfer-Encoding: chunked\r\nConnection: close\r\n") +
                          chunk + chunk + "0\r\n\r\n"));
  answer = within.Read(&closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

TEST_F(ApiTest, ARequestWithoutAValidTokenIsAnsweredBeforeItsBodyIsRead) {
  // Only the headers are sent: the server answers at once and reads nothing of the body.
  for (const std::string& token : {std::string(), std::string("not-a-token")}) {
    for (const char* framing :
         {"Transfer-Encoding: chunked\r\n", "Content-Length: 104857600\r\n"}) {
      Raw c(server_->port());
      ASSERT_TRUE(c.Send(Head("POST", "/api/v1/workflows", token, framing)));
      bool closed = false;
      std::string answer = c.Read(&closed);
      EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << framing << answer;
      EXPECT_TRUE(closed) << framing;
    }
  }
  // An authenticated one over the limit by its Content-Length is refused before the body too.
  Raw c(server_->port());
  ASSERT_TRUE(c.Send(Head("POST", "/api/v1/workflows", kAdmin, "Content-Length: 104857600\r\n")));
  bool closed = false;
  std::string answer = c.Read(&closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_TRUE(closed);
}

TEST_F(ApiTest, TooManyOrTooLargeHeaderFieldsAre431) {
  ApiOptions options;
  options.max_header_fields = 64;
  options.max_header_bytes = size_t{16} * 1024;
  StartServer(options);
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "X-Field-" + std::to_string(i) + ": v\r\n";
  const std::string large = "X-Large: " + std::string(20000, 'v') + "\r\n";
  for (const std::string& fields : {many, large}) {
    Raw c(server_->port());
    ASSERT_TRUE(c.Send(Head("GET", "/api/v1/cases", kAuditor, fields + "Connection: close\r\n")));
    bool closed = false;
    std::string answer = c.Read(&closed);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
    EXPECT_NE(answer.find("application/problem+json"), std::string::npos) << answer;
  }
  // Within both limits it is served.
  std::string fine;
  for (int i = 0; i < 50; ++i)
    fine += "X-Field-" + std::to_string(i) + ": v\r\n";
  Raw c(server_->port());
  ASSERT_TRUE(c.Send(Head("GET", "/api/v1/workflows", kAuditor, fine + "Connection: close\r\n")));
  bool closed = false;
  EXPECT_EQ(c.Read(&closed).rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ApiTest, HeaderFieldsBeyondTheConnectionsMemoryAreRefused) {
  // 200,000 fields (2 MB): libmicrohttpd refuses once its per-connection memory is full (its own
  // 431, or a reset while the client still sends); nothing gets to the handler.
  std::string request = "GET /api/v1/cases HTTP/1.1\r\nHost: test\r\n";
  request.reserve(size_t{2} << 20);
  for (int i = 0; i < 200000; ++i)
    request += "X: v\r\n";
  Raw c(server_->port());
  (void)c.Send(request + "\r\n");  // may fail: the server closes it early
  bool closed = false;
  std::string answer = c.Read(&closed);
  EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 431", 0) == 0) << answer.substr(0, 200);
  EXPECT_TRUE(closed);
  Json(Get("/api/v1/cases", kAuditor), 200);
}

TEST_F(ApiTest, SlowClientsDoNotTakeTheServer) {
  ApiOptions options;
  options.threads = 2;
  StartServer(options);
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<Raw>(server_->port()));
    ASSERT_TRUE(slow.back()->Send("GET /api/v1/cases HTTP/1.1\r\nHost: test\r\n"));  // no end
  }
  WaitOpen(8);
  client_->set_read_timeout(5, 0);
  Json(Get("/readyz", ""), 200);
  Json(Get("/api/v1/cases", kAuditor), 200);
}

TEST_F(ApiTest, HeadersMustArriveWithinTheirTotalTime) {
  ApiOptions options;
  options.header_timeout_ms = 1000;
  StartServer(options);
  Raw c(server_->port());
  WaitOpen(1);
  // Each pause is shorter than the limit, together they are longer: a byte now and then does
  // not keep a connection.
  ASSERT_TRUE(c.Send("GET /api/v1/ca"));
  clock_.AdvanceTo(clock_.Now() + 600);
  ASSERT_TRUE(c.Send("ses HTTP/1.1\r\nHost: test\r\n"));
  clock_.AdvanceTo(clock_.Now() + 600);
  bool closed = false;
  EXPECT_EQ(c.Read(&closed), "");
  EXPECT_TRUE(closed);
  WaitOpen(0);
  Json(Get("/api/v1/cases", kAuditor), 200);
}

TEST_F(ApiTest, ABodyMustArriveWithinItsTotalTime) {
  ApiOptions options;
  options.body_timeout_ms = 1000;
  StartServer(options);
  Raw c(server_->port());
  ASSERT_TRUE(c.Send(Head("POST", "/api/v1/workflows/validate", kAdmin,
                          "Content-Length: 100\r\nExpect: 100-continue\r\n")));
  bool closed = false;
  // The interim answer says the headers are taken: the body's time runs from here.
  ASSERT_NE(c.Read(&closed, "\r\n\r\n").find("100 Continue"), std::string::npos);
  ASSERT_TRUE(c.Send("name: x\n"));
  clock_.AdvanceTo(clock_.Now() + 1001);
  EXPECT_EQ(c.Read(&closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(ApiTest, ConnectionsPerClientAddressAreBounded) {
  ApiOptions options;
  options.max_connections_per_client = 2;
  StartServer(options);
  Raw a(server_->port(), "127.0.0.2");
  Raw b(server_->port(), "127.0.0.2");
  WaitOpen(2);
  Raw third(server_->port(), "127.0.0.2");
  ASSERT_TRUE(third.connected());
  (void)third.Send(Head("GET", "/healthz", ""));  // may fail: the server closes it at once
  bool closed = false;
  EXPECT_EQ(third.Read(&closed), "");
  EXPECT_TRUE(closed);
  // Another address is served.
  Json(Get("/healthz", ""), 200);
}

TEST_F(ApiTest, ConnectionsInTotalAreBounded) {
  ApiOptions options;
  options.threads = 1;  // the total is split across the threads: one makes it exact
  options.max_connections = 2;
  StartServer(options);
  auto a = std::make_unique<Raw>(server_->port(), "127.0.0.2");
  Raw b(server_->port(), "127.0.0.3");
  WaitOpen(2);
  // The third waits in the listen backlog until one of the two goes, and is served then.
  Raw third(server_->port(), "127.0.0.4");
  ASSERT_TRUE(third.Send(Head("GET", "/healthz", "", "Connection: close\r\n")));
  a.reset();
  bool closed = false;
  EXPECT_EQ(third.Read(&closed).rfind("HTTP/1.1 200", 0), 0u);
  std::lock_guard<std::mutex> lock(open_mu_);
  EXPECT_EQ(max_open_, 2u);
}

TEST_F(ApiTest, AWrongMethodIs405WithAllow) {
  auto r = Post("/api/v1/cases", kAdmin, "x");
  ExpectError(r, 405, "POST is not allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
  r = Get("/api/v1/workflows/validate", kAdmin);
  ExpectError(r, 405, "GET is not allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  r = client_->Delete("/api/v1/cases/HR-2026-0002");
  ExpectError(r, 405, "DELETE");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
  ExpectError(Get("/api/v1/nothing", kAdmin), 404, "no such endpoint");
}

TEST_F(ApiTest, AnswersAreNeitherCachedNorSniffed) {
  for (const char* path : {"/api/v1/cases/HR-2026-0002", "/api/v1/cases/NO-SUCH-CASE",
                           "/api/v1/cases/HR-2026-0002/export?format=csv"}) {
    auto r = Get(path, kAuditor);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
}

TEST_F(ApiTest, LivenessAndReadinessArePublicAndNotAccessLogged) {
  const size_t before = AccessFrom(1).size();
  Value live = Json(Get("/healthz", ""), 200);
  EXPECT_EQ(live.ToJson(), R"({"status":"live"})");
  Value ready = Json(Get("/readyz", ""), 200);
  EXPECT_EQ(ready.ToJson(), R"({"status":"ready"})");
  EXPECT_EQ(AccessFrom(1).size(), before);
}

TEST_F(ApiTest, AnEncodedSlashInACaseIdDoesNotChangeTheRoute) {
  ExpectError(Get("/api/v1/cases/HR-2026-0002%2Fhistory", kAuditor), 400, "encoded '/'");
  ExpectError(Get("/api/v1/cases/HR-2026-0002%2fverify", kAuditor), 400, "encoded '/'");
  ExpectError(Get("/api/v1/cases/..%2F..%2Fworkflows", kAuditor), 400, "encoded '/'");
  ExpectError(Get("/api/v1/cases/HR%zz", kAuditor), 400, "percent-encoding");
  // Other escapes decode as before.
  Json(Get("/api/v1/cases/HR%2D2026-0002", kAuditor), 200);
}

TEST_F(ApiTest, RefusedReadsOfCaseDataAreAccessLogged) {
  const uint64_t from = AccessFrom(1).size() + 1;
  ExpectError(Get("/api/v1/dead-letters", kIhk), 403, "role 'participant'");
  ExpectError(Get("/api/v1/cases/HR-2026-0002?bogus=1", kAuditor), 400, "unknown query parameter");
  ExpectError(Get("/api/v1/cases?limit=0", kIhk), 400, "'limit'");
  std::vector<store::AccessRecord> records = AccessFrom(from);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].principal, "ihk");
  EXPECT_EQ(records[0].status, 403);
  EXPECT_EQ(records[0].path, "/api/v1/dead-letters");
  EXPECT_EQ(records[1].principal, "pruefer");
  EXPECT_EQ(records[1].status, 400);
  EXPECT_EQ(records[1].path, "/api/v1/cases/HR-2026-0002?bogus=1");
  EXPECT_EQ(records[1].case_id, "HR-2026-0002");
  EXPECT_EQ(records[2].status, 400);
  // Without a valid token there is no principal to record (and nothing is read).
  ExpectError(Get("/api/v1/cases", "not-a-token"), 401, "invalid token");
  EXPECT_EQ(AccessFrom(from).size(), 3u);
}

}  // namespace
}  // namespace amtsweg::http
