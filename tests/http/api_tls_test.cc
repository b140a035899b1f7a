// The HTTP API over https (ApiOptions::tls_cert_file), with certificates the test makes with the
// openssl command line (tests/testing/pki.h): a server CA and the server's certificate for
// 127.0.0.1, a client CA and the client certificates it signs (CN=ihk-kiel, an organisation of
// the directory; CN=nobody, none; CN=ihk-kiel for server use only), and a CA nobody trusts with a
// certificate for CN=ihk-kiel.
// Clients are cpp-httplib's SSLClient (OpenSSL), and a bare OpenSSL client for the protocol
// versions; the store is filled once by the engine from the shipped samples.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/file/file_source.h"
#include "connectors/http/api_server.h"
#include "connectors/http/internal/tls.h"
#include "engine/core/case_index.h"
#include "engine/core/catalog.h"
#include "engine/core/engine.h"
#include "engine/core/inbox.h"
#include "tests/testing/pki.h"
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
constexpr char kHwk[] = "hwk-luebeck-token-0004";

std::string PrincipalsYaml() {
  return testing::PrincipalsYaml({{"root", "admin", "", kAdmin},
                                  {"pruefer", "auditor", "", kAuditor},
                                  {"ihk", "participant", "ihk-kiel", kIhk},
                                  {"hwk", "participant", "hwk-luebeck", kHwk}});
}

// What the tests of a suite share: the certificates and a store the engine filled from the
// samples (read only by the tests).
struct World {
  testing::Pki pki;
  testing::TempDir tmp{"amtsweg-http-tls"};
  std::unique_ptr<dsl::Directory> directory;
  dsl::Registry registry;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Principals> principals;
  std::unique_ptr<core::Catalog> catalog;

  // Empty, or what went wrong.
  std::string Build() {
    for (const char* ca : {"server", "clients", "other"}) {
      if (std::string e = pki.MakeCa(ca); !e.empty()) return e;
    }
    struct Certificate {
      const char* name;
      const char* ca;
      const char* cn;  // empty: the name
      const char* usage;
    };
    const char* both = "serverAuth,clientAuth";
    for (const Certificate& c :
         {Certificate{"server", "server", "", both}, Certificate{"ihk-kiel", "clients", "", both},
          Certificate{"nobody", "clients", "", both},
          Certificate{"forged-ihk-kiel", "other", "ihk-kiel", both},
          Certificate{"server-use-only", "clients", "ihk-kiel", "serverAuth"}}) {
      if (std::string e = pki.MakeCertificate(c.name, c.ca, c.cn, c.usage); !e.empty()) return e;
    }
    Result<testing::Shipped> shipped = testing::LoadShipped();
    if (!shipped.ok()) return shipped.status().ToString();
    directory = std::move(shipped->directory);
    registry = std::move(shipped->registry);
    auto st = store::Store::Open(tmp.path() + "/data");
    if (!st.ok()) return st.status().ToString();
    store = std::move(st).value();
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
      if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    ManualClock clock(0);
    core::Engine engine(*store, registry, *directory, clock);
    if (Status s = engine.Open(); !s.ok()) return s.ToString();
    for (const std::string& f : files) {
      auto src = connectors::FileSource::Open(f, size_t{256} * 1024);
      if (!src.ok()) return src.status().ToString();
      if (Status s = engine.Drain(**src, nullptr, 100); !s.ok()) return s.ToString();
    }
    auto p = Principals::Parse(PrincipalsYaml(), "principals.yaml", *directory);
    if (!p.ok()) return p.status().ToString();
    principals = std::move(p).value();
    catalog = std::make_unique<core::Catalog>(*store, *directory, registry);
    return "";
  }
};

// A TLS client of one protocol version (OpenSSL), what it sent and what it got.
struct TlsAttempt {
  int hello_version = 0;  // the ClientHello's legacy_version (0x0302: TLS 1.1), 0 if none sent
  bool handshake = false;
  std::string version;  // negotiated, e.g. "TLSv1.3"
  std::string error;    // OpenSSL's, when the handshake failed
  std::string answer;   // to GET /healthz, after a handshake
};

void OnTlsMessage(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                  SSL* /*ssl*/, void* arg) {
  const auto* bytes = static_cast<const unsigned char*>(buf);
  // A handshake message: type (1: ClientHello), 3 bytes of length, then legacy_version.
  if (write_p == 1 && content_type == SSL3_RT_HANDSHAKE && len >= 6 && bytes[0] == 1) {
    static_cast<TlsAttempt*>(arg)->hello_version = bytes[4] << 8 | bytes[5];
  }
}

// Connects to 127.0.0.1:`port` offering only `version` (TLS1_1_VERSION, ...), checks the server's
// certificate against `ca_file`, and on success sends GET /healthz. Reads give up after 10 s.
TlsAttempt TryTls(int port, int version, const std::string& ca_file) {
  TlsAttempt out;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  // OpenSSL 3 speaks TLS 1.1 and older only at security level 0.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_msg_callback(ctx.get(), &OnTlsMessage);
  SSL_CTX_set_msg_callback_arg(ctx.get(), &out);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    out.error = "connect failed";
    return out;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  ERR_clear_error();
  if (SSL_connect(ssl.get()) != 1) {
    unsigned long e = ERR_get_error();
    out.error = e != 0 ? ERR_error_string(e, nullptr) : "the connection ended in the handshake";
    close(fd);
    return out;
  }
  out.handshake = true;
  out.version = SSL_get_version(ssl.get());
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  char buf[4096];
  int n = 0;
  while ((n = SSL_read(ssl.get(), buf, sizeof buf)) > 0)
    out.answer.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

class ApiTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    setup_error_ = world_->Build();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(setup_error_, ""); }
  void TearDown() override { server_.reset(); }

  static std::string Path(const std::string& file) { return world_->pki.Path(file); }

  // Options for https with the server's certificate and, when `client_ca`, the clients' CA.
  static ApiOptions TlsOptions(bool client_ca) {
    ApiOptions o;
    o.tls_cert_file = Path("server.pem");
    o.tls_key_file = Path("server.key");
    if (client_ca) o.tls_client_ca_file = Path("clients.ca.pem");
    return o;
  }

  static Result<std::unique_ptr<ApiServer>> StartWith(const ApiOptions& options) {
    return ApiServer::Start(options, *world_->store, *world_->catalog, *world_->directory,
                            *world_->principals, clock_);
  }

  void StartServer(const ApiOptions& options) {
    auto server = StartWith(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  // An https client that checks the server's certificate, presenting the client certificate
  // `name` (`name`.pem, `name`.key) unless empty.
  std::unique_ptr<httplib::SSLClient> Client(const std::string& name = "") const {
    auto c = name.empty()
                 ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
                 : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                        Path(name + ".pem"), Path(name + ".key"));
    c->set_ca_cert_path(Path("server.ca.pem"));
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(10, 0);
    return c;
  }

  static httplib::Result Get(httplib::SSLClient& c, const std::string& path,
                             const std::string& token = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Get(path, h);
  }

  // The JSON body of a response with `status`.
  static Value Json(const httplib::Result& r, int status) {
    EXPECT_TRUE(r) << "no response: " << httplib::to_string(r.error());
    if (!r) return Value();
    EXPECT_EQ(r->status, status) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Value();
  }

  // Expects a problem details body with `status` whose detail mentions `fragment`.
  static void ExpectError(const httplib::Result& r, int status, const std::string& fragment) {
    Value v = Json(r, status);
    EXPECT_EQ(v["status"].as_int(), status);
    EXPECT_NE(v["detail"].as_string().find(fragment), std::string::npos)
        << "'" << fragment << "' not in " << (r ? r->body : "");
  }

  static std::vector<std::string> CaseIds(const Value& list) {
    std::vector<std::string> ids;
    for (const Value& c : list["cases"].items())
      ids.push_back(c["case"].as_string());
    return ids;
  }

  // The access records after sequence number `after`.
  static std::vector<store::AccessRecord> AccessAfter(uint64_t after) {
    std::vector<store::AccessRecord> out;
    Status s = world_->store->ScanAccess(after + 1, [&](const store::AccessRecord& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  static uint64_t LastAccess() {
    std::vector<store::AccessRecord> all = AccessAfter(0);
    return all.empty() ? 0 : all.back().seq;
  }

  static World* world_;
  static std::string setup_error_;
  static ManualClock clock_;
  std::unique_ptr<ApiServer> server_;
};

World* ApiTlsTest::world_ = nullptr;
std::string ApiTlsTest::setup_error_;
ManualClock ApiTlsTest::clock_{*ParseTimestamp("2029-01-02T03:04:05Z")};

TEST_F(ApiTlsTest, HttpsWithATokenAnswersAsHttpDoes) {
  StartServer(TlsOptions(false));
  auto c = Client();
  std::vector<std::string> all = CaseIds(Json(Get(*c, "/api/v1/cases?limit=1000", kAuditor), 200));
  EXPECT_FALSE(all.empty());
  std::vector<std::string> mine = CaseIds(Json(Get(*c, "/api/v1/cases", kIhk), 200));
  EXPECT_FALSE(mine.empty());
  EXPECT_LT(mine.size(), all.size());
  ExpectError(Get(*c, "/api/v1/cases"), 401, "send Authorization: Bearer <token>");
  ExpectError(Get(*c, "/api/v1/access-log", kIhk), 403, "role 'participant'");
  EXPECT_EQ(Json(Get(*c, "/healthz"), 200)["status"].as_string(), "live");
  // Without a client CA no certificate is asked for: one presented anyway changes nothing.
  auto with_cert = Client("ihk-kiel");
  ExpectError(Get(*with_cert, "/api/v1/cases"), 401, "send Authorization: Bearer <token>");
  EXPECT_FALSE(CaseIds(Json(Get(*with_cert, "/api/v1/cases", kHwk), 200)).empty());
}

TEST_F(ApiTlsTest, OnlyTls12And13AreSpoken) {
  StartServer(TlsOptions(true));
  const std::string ca = Path("server.ca.pem");
  for (auto [version, name] :
       {std::pair{TLS1_3_VERSION, "TLSv1.3"}, std::pair{TLS1_2_VERSION, "TLSv1.2"}}) {
    TlsAttempt a = TryTls(server_->port(), version, ca);
    ASSERT_TRUE(a.handshake) << name << ": " << a.error;
    EXPECT_EQ(a.version, name);
    EXPECT_EQ(a.answer.rfind("HTTP/1.1 200", 0), 0u) << a.answer;
    EXPECT_NE(a.answer.find(R"({"status":"live"})"), std::string::npos) << a.answer;
  }
  for (auto [version, wire] :
       {std::pair{TLS1_1_VERSION, 0x0302}, std::pair{TLS1_VERSION, 0x0301}}) {
    TlsAttempt a = TryTls(server_->port(), version, ca);
    // The client did offer the old version, and the server would not speak it.
    EXPECT_EQ(a.hello_version, wire) << a.error;
    EXPECT_FALSE(a.handshake) << a.version;
    EXPECT_TRUE(a.answer.empty());
  }
}

TEST_F(ApiTlsTest, PlainHttpToTheHttpsPortGetsNoAnswer) {
  StartServer(TlsOptions(false));
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(10, 0);
  auto r = plain.Get("/healthz");
  EXPECT_FALSE(r) << r->status << " " << r->body;
}

TEST_F(ApiTlsTest, TheTlsHandshakeCountsTowardsTheTimeForTheHeaders) {
  ApiOptions options = TlsOptions(true);
  options.header_timeout_ms = 1000;
  options.connection_clock = &clock_;
  std::mutex mu;
  std::condition_variable cv;
  size_t open = 0;
  options.on_connections = [&](size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    open = n;
    cv.notify_all();
  };
  StartServer(options);
  auto wait_open = [&](size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return open == n; });
  };
  // A client that connects and never says hello.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_TRUE(wait_open(1));
  clock_.AdvanceTo(clock_.Now() + 1001);
  char buf[16];
  EXPECT_EQ(recv(fd, buf, sizeof buf, 0), 0);  // closed, not timed out
  close(fd);
  EXPECT_TRUE(wait_open(0));
  // The server goes on.
  auto c = Client("ihk-kiel");
  EXPECT_FALSE(CaseIds(Json(Get(*c, "/api/v1/cases"), 200)).empty());
  server_.reset();  // before `on_connections`'s locals go
}

TEST_F(ApiTlsTest, AClientCertificateMakesAParticipantOfItsCnWithoutAToken) {
  StartServer(TlsOptions(true));
  auto by_token = Client();
  auto by_cert = Client("ihk-kiel");
  std::vector<std::string> all =
      CaseIds(Json(Get(*by_token, "/api/v1/cases?limit=1000", kAuditor), 200));
  std::vector<std::string> expected;
  for (const std::string& id : all) {
    auto s = core::LoadCaseState(*world_->store, id, false);
    ASSERT_TRUE(s.ok() && s->has_value());
    for (const runtime::Participant& p : (*s)->participants) {
      if (p.organisation == "ihk-kiel") {
        expected.push_back(id);
        break;
      }
    }
  }
  ASSERT_FALSE(expected.empty());
  ASSERT_LT(expected.size(), all.size());
  const uint64_t before = LastAccess();
  std::vector<std::string> mine = CaseIds(Json(Get(*by_cert, "/api/v1/cases"), 200));
  EXPECT_EQ(mine, expected);
  EXPECT_EQ(CaseIds(Json(Get(*by_token, "/api/v1/cases", kIhk), 200)), expected);
  EXPECT_TRUE(CaseIds(Json(Get(*by_cert, "/api/v1/cases?participant=hwk-luebeck"), 200)).empty());
  // The same projection as for the organisation's token, and another's case is no case.
  auto projected = Get(*by_cert, "/api/v1/cases/GA-2026-0001");
  auto with_token = Get(*by_token, "/api/v1/cases/GA-2026-0001", kIhk);
  ASSERT_TRUE(projected && with_token);
  EXPECT_EQ(projected->status, 200) << projected->body;
  EXPECT_EQ(projected->body, with_token->body);
  EXPECT_EQ(projected->body.find("geburtsdatum"), std::string::npos);
  ExpectError(Get(*by_cert, "/api/v1/cases/BA-2026-0001"), 404, "no case 'BA-2026-0001'");
  ExpectError(Get(*by_cert, "/api/v1/dead-letters"), 403, "role 'participant'");
  auto validate = by_cert->Post("/api/v1/workflows/validate", "name: x", "application/yaml");
  ExpectError(validate, 403, "role 'participant' may not POST");
  // The access log names the certificate's principal.
  std::vector<store::AccessRecord> records = AccessAfter(before);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].principal, "certificate CN=ihk-kiel");
  EXPECT_EQ(records[0].role, "participant");
  EXPECT_EQ(records[0].organisation, "ihk-kiel");
  EXPECT_EQ(records[0].path, "/api/v1/cases");
  EXPECT_EQ(records[0].status, 200);
}

TEST_F(ApiTlsTest, ACertificateNoTrustedCaSignedIsRefused) {
  StartServer(TlsOptions(true));
  for (const std::string name : {"forged-ihk-kiel", "server"}) {  // another CA; the server's CA
    auto c = Client(name);
    ExpectError(Get(*c, "/api/v1/cases"), 403, "the client certificate is not accepted");
    ExpectError(Get(*c, "/api/v1/cases", kIhk), 403, "issuer is unknown");
    // Public endpoints stay public.
    EXPECT_EQ(Json(Get(*c, "/healthz"), 200)["status"].as_string(), "live");
  }
}

TEST_F(ApiTlsTest, ACertificateNotForClientUseIsRefused) {
  StartServer(TlsOptions(true));
  auto c = Client("server-use-only");
  ExpectError(Get(*c, "/api/v1/cases"), 403, "the client certificate is not accepted");
  ExpectError(Get(*c, "/api/v1/cases", kIhk), 403, "does not match the intended purpose");
}

TEST_F(ApiTlsTest, ACnThatIsNoOrganisationOfTheDirectoryIsRefused) {
  StartServer(TlsOptions(true));
  auto c = Client("nobody");
  ExpectError(Get(*c, "/api/v1/cases"), 403,
              "the client certificate's subject CN=nobody is not an organisation of the "
              "participant directory");
  ExpectError(Get(*c, "/api/v1/cases", kAuditor), 403, "CN=nobody");
}

TEST_F(ApiTlsTest, ATokenBesideACertificateMustBeAParticipantOfTheSameOrganisation) {
  StartServer(TlsOptions(true));
  auto c = Client("ihk-kiel");
  const uint64_t before = LastAccess();
  // Agreeing: the token's principal.
  EXPECT_FALSE(CaseIds(Json(Get(*c, "/api/v1/cases", kIhk), 200)).empty());
  std::vector<store::AccessRecord> records = AccessAfter(before);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].principal, "ihk");
  ExpectError(Get(*c, "/api/v1/cases", kHwk), 403,
              "the token's principal 'hwk' (participant of hwk-luebeck) and the client "
              "certificate (CN=ihk-kiel) disagree");
  ExpectError(Get(*c, "/api/v1/cases", kAdmin), 403,
              "the token's principal 'root' (admin) and the client certificate (CN=ihk-kiel) "
              "disagree");
  ExpectError(Get(*c, "/api/v1/access-log", kAuditor), 403, "disagree");
  ExpectError(Get(*c, "/api/v1/cases", "not-a-token"), 401, "invalid token");
  // Refusals name no principal: not in the access log.
  EXPECT_EQ(AccessAfter(before).size(), 1u);
}

TEST_F(ApiTlsTest, WithoutACertificateTokensWorkAsBefore) {
  StartServer(TlsOptions(true));
  auto c = Client();
  EXPECT_FALSE(CaseIds(Json(Get(*c, "/api/v1/cases", kAuditor), 200)).empty());
  EXPECT_FALSE(Json(Get(*c, "/api/v1/access-log", kAuditor), 200)["records"].items().empty());
  ExpectError(Get(*c, "/api/v1/cases"), 401, "or (participants) a client certificate");
}

TEST_F(ApiTlsTest, StartRefusesTlsFilesThatAreMissingHalfOrDoNotMatch) {
  struct Case {
    std::string cert, key, ca;
    std::string message;  // in the error
  };
  const std::string missing = Path("missing.pem");
  const std::vector<Case> cases = {
      {Path("server.pem"), "", "", "--tls-cert " + Path("server.pem") + " needs --tls-key"},
      {"", Path("server.key"), "", "--tls-key " + Path("server.key") + " needs --tls-cert"},
      {"", "", Path("clients.ca.pem"), "--tls-client-ca " + Path("clients.ca.pem") + " needs"},
      {missing, Path("server.key"), "", "--tls-cert " + missing + ": cannot be read"},
      {Path("server.pem"), missing, "", "--tls-key " + missing + ": cannot be read"},
      {Path("server.pem"), Path("server.key"), missing,
       "--tls-client-ca " + missing + ": cannot be read"},
      {Path("server.pem"), Path("ihk-kiel.key"), "",
       "the key --tls-key " + Path("ihk-kiel.key") + " does not belong to the certificate " +
           "--tls-cert " + Path("server.pem")},
      {Path("server.key"), Path("server.key"), "",
       "--tls-cert " + Path("server.key") + ": expected PEM certificates"},
      {Path("server.pem"), Path("server.pem"), "",
       "--tls-key " + Path("server.pem") + ": expected an unencrypted PEM private key"},
      {Path("server.pem"), Path("server.key"), Path("server.key"),
       "--tls-client-ca " + Path("server.key") + ": expected PEM certificates"},
  };
  for (const Case& c : cases) {
    ApiOptions o;
    o.tls_cert_file = c.cert;
    o.tls_key_file = c.key;
    o.tls_client_ca_file = c.ca;
    Status checked = CheckTls(o);
    EXPECT_TRUE(checked.IsInvalidArgument()) << checked.ToString();
    EXPECT_NE(checked.message().find(c.message), std::string::npos)
        << "'" << c.message << "' not in " << checked.message();
    auto started = StartWith(o);
    ASSERT_FALSE(started.ok()) << c.message;
    EXPECT_EQ(started.status().message(), checked.message());
  }
  EXPECT_TRUE(CheckTls(TlsOptions(true)).ok());
  EXPECT_TRUE(CheckTls(ApiOptions()).ok());
}

TEST(TlsPrioritiesTest, AllowTls13And12AndNothingElse) {
  gnutls_priority_t p = nullptr;
  ASSERT_EQ(gnutls_priority_init(&p, internal::kTlsPriorities, nullptr), GNUTLS_E_SUCCESS);
  const unsigned* list = nullptr;
  const int n = gnutls_priority_protocol_list(p, &list);
  std::vector<unsigned> versions(list, list + std::max(n, 0));
  gnutls_priority_deinit(p);
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(versions, (std::vector<unsigned>{GNUTLS_TLS1_2, GNUTLS_TLS1_3}));
}

// Input from a participant by certificate speaks for the certificate's organisation: the engine
// gets it on that organisation's channel (here the test takes it from the inbox and answers).
TEST_F(ApiTlsTest, InputByClientCertificateSpeaksForTheCertificatesOrganisation) {
  core::Inbox inbox(4, 10'000, clock_);
  ApiOptions options = TlsOptions(true);
  options.inbox = &inbox;
  StartServer(options);
  auto by_cert = Client("ihk-kiel");
  int status = 0;
  std::string body;
  std::thread request([&] {
    httplib::Result r =
        by_cert->Post("/api/v1/cases/HR-2026-0001/responses", {{"Idempotency-Key", "tls-1"}},
                      R"({"task":"ihk_anhoerung","objection":false})", "application/json");
    if (!r) return;
    status = r->status;
    body = r->body;
  });
  while (!inbox.Wait(std::chrono::milliseconds(1000))) {
  }
  std::vector<core::Inbox::Taken> taken;
  ASSERT_EQ(inbox.Take(4, &taken), 1u);
  EXPECT_EQ(taken[0].input.channel_organisation, "ihk-kiel");
  EXPECT_EQ(taken[0].input.channel, "HTTP API principal 'certificate CN=ihk-kiel'");
  EXPECT_NE(taken[0].input.bytes.find(R"("participant":"ihk-kiel")"), std::string::npos)
      << taken[0].input.bytes;
  taken[0].done(core::InboxVerdict{});
  request.join();
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find(R"("outcome":"accepted")"), std::string::npos) << body;
  server_.reset();  // before the inbox it borrows goes
}

}  // namespace
}  // namespace amtsweg::http
