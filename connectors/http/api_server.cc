#include "connectors/http/api_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "connectors/http/api_input.h"
#include "connectors/http/case_export.h"
#include "connectors/http/internal/tls.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/key_store_backup.h"
#include "engine/core/migration.h"

namespace amtsweg::http {

namespace {

constexpr char kJson[] = "application/json";
constexpr char kProblemJson[] = "application/problem+json";
constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxTargetBytes = 8192;

// Roles allowed on a route, as a bit set.
using Roles = unsigned;
constexpr Roles Bit(Role r) {
  return 1u << static_cast<unsigned>(r);
}
constexpr Roles kAdmin = Bit(Role::kAdmin);
constexpr Roles kAuditor = Bit(Role::kAuditor);
constexpr Roles kReaders = Bit(Role::kAdmin) | Bit(Role::kAuditor) | Bit(Role::kParticipant);

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// An RFC 9457 problem details body; `extra` are extension members (e.g. a definition's errors).
std::string ProblemBody(int status, std::string_view detail, std::vector<Member> extra = {}) {
  ObjectBuilder b;
  b.Add("type", "about:blank")
      .Add("title", std::string(ReasonPhrase(status)))
      .Add("status", status)
      .Add("detail", std::string(detail));
  for (Member& m : extra)
    b.Add(std::move(m.first), std::move(m.second));
  return b.Build().ToJson();
}

// An answer that is not a success: status, message, and optional extra members.
struct Failure {
  int status = 500;
  std::string message;
  std::vector<Member> extra;
};

Failure FromStatus(const Status& s) {
  if (s.IsNotFound()) return {404, s.message(), {}};
  if (s.IsInvalidArgument()) return {400, s.message(), {}};
  if (s.IsConflict()) return {409, s.message(), {}};
  if (s.code() == Status::Code::kUnavailable) return {503, s.message(), {}};
  spdlog::error("api: {}", s.ToString());
  return {500, "internal error: " + s.ToString(), {}};
}

Result<uint64_t> ParseUint(std::string_view text) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("expected a non-negative integer, got '" + std::string(text) +
                                   "'");
  }
  return v;
}

// Percent-decodes `in` (and '+' to a space when `plus`). nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex(in[i + 1]);
      int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string SafeFileName(std::string_view id) {
  std::string out;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  return out.empty() ? "case" : out;
}

// A request as the handlers see it: the path segments and query parameters percent-decoded
// (each on its own, so an encoded '/' never changes the route), the body whole.
struct Request {
  std::string method;
  std::string target;                                        // as sent: path and query, not decoded
  std::string path;                                          // decoded, for messages
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::string> matches;  // the values of the route's wildcard segments
  std::string body;

  std::string Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return "";
  }
  size_t ParamCount(std::string_view name) const {
    return static_cast<size_t>(std::count_if(params.begin(), params.end(),
                                             [&](const auto& p) { return p.first == name; }));
  }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;

  void SetContent(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

Value CaseSummary(const runtime::CaseState& s) {
  const runtime::DeadlineState* next = nullptr;
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (d.active() && (next == nullptr || d.due < next->due)) next = &d;
  }
  Value next_deadline;
  if (next != nullptr) {
    next_deadline =
        ObjectBuilder().Add("deadline", next->name).Add("due", FormatTimestamp(next->due)).Build();
  }
  return ObjectBuilder()
      .Add("case", s.id)
      .Add("workflow", s.workflow)
      .Add("version", s.version)
      .Add("leika", s.leika)
      .Add("state", s.state)
      .Add("outcome", s.outcome.empty() ? Value("open") : Value(s.outcome))
      .Add("opened_at", FormatTimestamp(s.opened_at))
      .Add("updated_at", FormatTimestamp(s.updated_at))
      .Add("next_deadline", next_deadline)
      .Build();
}

Value DiagnosticsValue(const std::vector<dsl::Diagnostic>& errors) {
  std::vector<Value> out;
  out.reserve(errors.size());
  for (const dsl::Diagnostic& d : errors) {
    out.push_back(ObjectBuilder()
                      .Add("line", d.line)
                      .Add("column", d.column)
                      .Add("message", d.message)
                      .Add("text", d.ToString())
                      .Build());
  }
  return Value::Array(std::move(out));
}

// One authenticated request being served.
struct Call {
  const Request& req;
  const Principal& who;
  std::string case_id;  // of the access record; set by case handlers

  bool participant() const { return who.role == Role::kParticipant; }
  // The single value of a query parameter, if given.
  std::optional<std::string> Param(const std::string& name) const {
    for (const auto& [key, value] : req.params) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
};

// Where a connection is, for the deadlines (the keep-alive wait before a request counts as
// reading headers).
enum class Phase { kHeaders, kBody, kServing };

// One client connection (MHD's socket context).
struct Connection {
  int fd = -1;
  Phase phase = Phase::kHeaders;
  Timestamp since = 0;     // start of the phase
  bool cut = false;        // shut down by the deadline sweep
  std::string raw_target;  // of the request being read, as sent
};

// One request (MHD's request context): set up when the headers are complete.
struct Exchange {
  Request req;
  size_t route = SIZE_MAX;  // index into Impl::routes
  const Principal* who = nullptr;
  bool answered = false;  // a response is queued (perhaps before the body was read)
  bool served = false;    // the handler ran (on the pool); `response` is its answer
  bool input = false;     // an input handed to the engine (counted in Impl::inputs_open)
  Response response;
};

// The threads that run the handlers (store reads, the synced access record), so that the
// polling threads never wait for the store: a slow read delays its own answer, not the
// connections beside it. Thread-safe.
class HandlerPool {
 public:
  explicit HandlerPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { Work(); });
  }
  ~HandlerPool() { Stop(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  bool accepting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return !stopping_;
  }
  // False once stopping (the job is not run).
  bool Submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what was submitted, then joins. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                   // guarded by mu_
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace

Status ParseListen(const std::string& listen, ApiOptions* options) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen '" + listen + "': expected HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  Result<uint64_t> port = ParseUint(std::string_view(listen).substr(colon + 1));
  if (!port.ok() || *port > 65535) {
    return Status::InvalidArgument("--listen '" + listen + "': the port must be 0..65535");
  }
  options->host = host;
  options->port = static_cast<int>(*port);
  return Status::OK();
}

struct ApiServer::Impl {
  using Handler = std::function<std::optional<Failure>(Call&, Response&)>;
  using PublicHandler = std::function<void(const Request&, Response&)>;
  // Makes a participant's request into an input for the engine (api_input.h).
  using IntakeHandler =
      std::function<std::optional<InputRefusal>(const Call&, const InputRequest&, Intake*)>;

  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "*" matches one non-empty segment
    Roles roles = 0;
    std::set<std::string> params;
    bool case_data = false;     // access-logged (case data and administrators' operations)
    bool case_in_path = false;  // the wildcard is a case id
    Handler handler;            // for authenticated principals
    PublicHandler open;         // instead: public, no token
    IntakeHandler intake;       // instead: an input for the engine, answered by its verdict
  };

  ApiOptions options;
  store::Store& store;
  core::Catalog& catalog;
  const dsl::Directory& directory;
  const Principals& principals;
  const Clock& clock;             // stamps access records
  const Clock& connection_clock;  // times the connections' deadlines
  // https when enabled; the PEM text stays here while the daemon runs.
  internal::TlsMaterial tls;
  // With a client CA: the participant of each directory organisation, for the client
  // certificates whose subject CN is its id. Made at Start, never changed after.
  std::map<std::string, Principal, std::less<>> certificate_principals;
  std::vector<Route> routes;
  std::unique_ptr<HandlerPool> pool;
  MHD_Daemon* daemon = nullptr;
  int port = 0;
  bool stopped = false;

  // The connections and their deadlines, swept by `sweeper`.
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;                        // guarded by mu
  std::unordered_set<Connection*> connections;  // guarded by mu, with their phases
  std::thread sweeper;

  // Inputs handed to the engine (Stop waits for them): not yet decided, and not yet through
  // with their request (their answer sent, or the client gone).
  std::mutex inputs_mu;
  std::condition_variable inputs_done;
  size_t inputs_waiting = 0;  // guarded by inputs_mu
  size_t inputs_open = 0;     // guarded by inputs_mu
  std::atomic<uint64_t> input_requests{0};
  std::mutex backup_mu;  // one POST /api/v1/admin/backups at a time

  Impl(const ApiOptions& o, store::Store& st, core::Catalog& c, const dsl::Directory& d,
       const Principals& p, const Clock& cl)
      : options(o),
        store(st),
        catalog(c),
        directory(d),
        principals(p),
        clock(cl),
        connection_clock(o.connection_clock != nullptr ? *o.connection_clock : SystemTime()) {}

  static const Clock& SystemTime() {
    static const SystemClock kSystem;
    return kSystem;
  }

  static std::vector<std::string> Split(std::string_view path) {
    std::vector<std::string> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    size_t start = 0;
    while (true) {
      size_t slash = path.find('/', start);
      out.emplace_back(path.substr(
          start, slash == std::string_view::npos ? path.size() - start : slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    return out;
  }

  // Registers an authenticated route: the role check, the query parameter check and, for
  // reads of case data, the access record, around `handler`. `pattern` has "*" segments.
  void Add(const char* method, const std::string& pattern, Roles roles,
           std::set<std::string> params, bool case_data, Handler handler) {
    Route r;
    r.method = method;
    r.segments = Split(pattern);
    r.roles = roles;
    r.params = std::move(params);
    r.case_data = case_data;
    r.case_in_path =
        pattern.rfind("/api/v1/cases/*", 0) == 0 || pattern.rfind("/api/v1/admin/cases/*", 0) == 0;
    r.handler = std::move(handler);
    routes.push_back(std::move(r));
  }

  void AddPublic(const std::string& path, PublicHandler handler) {
    Route r;
    r.method = "GET";
    r.segments = Split(path);
    r.open = std::move(handler);
    routes.push_back(std::move(r));
  }

  static Response Problem(const Failure& f) {
    Response res;
    res.status = f.status;
    res.SetContent(ProblemBody(f.status, f.message, f.extra), kProblemJson);
    return res;
  }

  // --- the exchange with MHD ---------------------------------------------------------------

  static Connection* ConnectionOf(MHD_Connection* c) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == nullptr ? nullptr : static_cast<Connection*>(info->socket_context);
  }

  void SetPhase(Connection* conn, Phase phase) {
    if (conn == nullptr) return;
    std::lock_guard<std::mutex> lock(mu);
    conn->phase = phase;
    conn->since = connection_clock.Now();
  }

  static void OnConnection(void* cls, MHD_Connection* c, void** socket_context,
                           MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<Impl*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      auto conn = std::make_unique<Connection>();
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      conn->fd = info == nullptr ? -1 : info->connect_fd;
      conn->since = self->connection_clock.Now();
      {
        // Reported under the lock: the polling threads' reports arrive in the order of the counts.
        std::lock_guard<std::mutex> lock(self->mu);
        self->connections.insert(conn.get());
        if (self->options.on_connections) self->options.on_connections(self->connections.size());
      }
      *socket_context = conn.release();
      return;
    }
    // Closed: MHD closes the socket after this, so the sweep never shuts down a reused fd.
    std::unique_ptr<Connection> conn(static_cast<Connection*>(*socket_context));
    *socket_context = nullptr;
    std::lock_guard<std::mutex> lock(self->mu);
    self->connections.erase(conn.get());
    if (self->options.on_connections) self->options.on_connections(self->connections.size());
  }

  // Called with the request line, before the headers: keeps the target as sent.
  static void* OnUri(void* /*cls*/, const char* uri, MHD_Connection* c) {
    if (Connection* conn = ConnectionOf(c)) conn->raw_target = uri;
    return nullptr;
  }

  // MHD would decode the path and query itself; the routing decodes each segment on its own.
  static size_t KeepEscaped(void* /*cls*/, MHD_Connection* /*c*/, char* s) {
    return std::char_traits<char>::length(s);
  }

  static void OnCompleted(void* cls, MHD_Connection* c, void** con_cls,
                          MHD_RequestTerminationCode /*code*/) {
    std::unique_ptr<Exchange> ex(static_cast<Exchange*>(*con_cls));
    *con_cls = nullptr;
    if (ex != nullptr && ex->input) static_cast<Impl*>(cls)->InputClosed();
    // Waiting for the next request on a kept-alive connection counts as reading headers.
    static_cast<Impl*>(cls)->SetPhase(ConnectionOf(c), Phase::kHeaders);
  }

  static MHD_Result CollectHeader(void* cls, MHD_ValueKind /*kind*/, const char* key,
                                  const char* value) {
    auto* req = static_cast<Request*>(cls);
    std::string name(key);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    req->headers.emplace_back(std::move(name), value == nullptr ? "" : value);
    return MHD_YES;
  }

  static void Log(void* /*cls*/, const char* format, va_list args) {
    std::array<char, 512> text{};
    (void)std::vsnprintf(text.data(), text.size(), format, args);  // truncated if longer
    std::string_view line(text.data());
    while (!line.empty() && line.back() == '\n')
      line.remove_suffix(1);
    spdlog::debug("api: microhttpd: {}", line);
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* /*url*/, const char* method,
                              const char* /*version*/, const char* upload_data,
                              size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (ex == nullptr) {
      auto owned = std::make_unique<Exchange>();
      ex = owned.get();
      *con_cls = owned.release();  // deleted in OnCompleted
      return self->Begin(c, method, *ex);
    }
    if (ex->answered) {  // refused early: the rest of the body is not kept
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      const size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (ex->req.body.size() + n > self->options.max_body_bytes) {
        // MHD answers only before or after the body: close the connection, read no more.
        spdlog::info("api: closed a connection whose body went over {} bytes",
                     self->options.max_body_bytes);
        return MHD_NO;
      }
      ex->req.body.append(upload_data, n);
      return MHD_YES;
    }
    if (ex->served) return self->Answer(c, *ex, std::move(ex->response));  // back from the pool
    self->SetPhase(ConnectionOf(c), Phase::kServing);
    // Public routes are cheap and must answer while the handlers are busy: served right here.
    if (self->routes[ex->route].open || !self->pool->accepting()) {
      return self->Answer(c, *ex, self->Serve(*ex));
    }
    // MHD calls again once resumed; the answer is queued then, on this polling thread.
    MHD_suspend_connection(c);
    if (!self->pool->Submit([self, c, ex] {
          if (self->routes[ex->route].intake) {
            std::optional<Response> now = self->OfferInput(c, ex);
            if (!now.has_value()) return;  // the engine's verdict answers it (InputDecided)
            ex->response = std::move(*now);
          } else {
            ex->response = self->Serve(*ex);
          }
          ex->served = true;
          MHD_resume_connection(c);
        })) {
      MHD_resume_connection(c);  // stopping: called again, and served right here then
    }
    return MHD_YES;
  }

  static std::string TooLarge(const ApiOptions& o) {
    return "the request body is too large (over " + std::to_string(o.max_body_bytes) + " bytes)";
  }

  // The headers are complete: everything that can be refused before the body is read is.
  MHD_Result Begin(MHD_Connection* c, const char* method, Exchange& ex) {
    Connection* conn = ConnectionOf(c);
    SetPhase(conn, Phase::kBody);
    ex.req.method = method;
    if (conn != nullptr) ex.req.target = conn->raw_target;
    MHD_get_connection_values(c, MHD_HEADER_KIND, &CollectHeader, &ex.req);
    size_t header_bytes = 0;
    if (const MHD_ConnectionInfo* info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE)) {
      header_bytes = info->header_size;
    }
    std::optional<Response> early = Admit(c, ex, header_bytes);
    if (early.has_value()) return Answer(c, ex, std::move(*early));
    return MHD_YES;
  }

  std::optional<Response> Admit(MHD_Connection* c, Exchange& ex, size_t header_bytes) {
    if (ex.req.headers.size() > options.max_header_fields) {
      return Problem(
          {431, "more than " + std::to_string(options.max_header_fields) + " header fields", {}});
    }
    if (header_bytes > options.max_header_bytes) {
      return Problem({431,
                      "the request line and header fields are larger than " +
                          std::to_string(options.max_header_bytes) + " bytes",
                      {}});
    }
    std::string_view target = ex.req.target;
    if (target.size() > kMaxTargetBytes) {
      return Problem(
          {414,
           "the request target is too long (over " + std::to_string(kMaxTargetBytes) + " bytes)",
           {}});
    }
    std::string_view raw_path = target.substr(0, target.find('?'));
    ex.req.path = std::string(raw_path);
    std::vector<std::string> segments = Split(raw_path);
    for (std::string& s : segments) {
      std::optional<std::string> decoded = PercentDecode(s, /*plus=*/false);
      if (!decoded.has_value()) {
        return Problem({400, "the request path has a malformed percent-encoding", {}});
      }
      if (decoded->find('/') != std::string::npos) {
        return Problem({400, "a path segment must not contain an encoded '/' (%2F)", {}});
      }
      if (!simdjson::validate_utf8(*decoded)) {
        return Problem({400, "the request path is not valid UTF-8 (after percent-decoding)", {}});
      }
      s = std::move(*decoded);
    }
    std::set<std::string> allowed;
    for (size_t i = 0; i < routes.size(); ++i) {
      const Route& r = routes[i];
      if (r.segments.size() != segments.size()) continue;
      bool match = true;
      std::vector<std::string> values;
      for (size_t k = 0; k < segments.size() && match; ++k) {
        if (r.segments[k] == "*") {
          match = !segments[k].empty();
          values.push_back(segments[k]);
        } else {
          match = r.segments[k] == segments[k];
        }
      }
      if (!match) continue;
      if (r.method == ex.req.method || (r.method == "GET" && ex.req.method == "HEAD")) {
        ex.route = i;
        ex.req.matches = std::move(values);
        break;
      }
      allowed.insert(r.method);
      if (r.method == "GET") allowed.insert("HEAD");
    }
    if (ex.route == SIZE_MAX) {
      if (allowed.empty()) {
        return Problem({404, "no such endpoint: " + ex.req.method + " " + ex.req.path, {}});
      }
      std::string allow;
      for (const std::string& m : allowed)
        allow += (allow.empty() ? "" : ", ") + m;
      Response res =
          Problem({405, ex.req.method + " is not allowed here (allowed: " + allow + ")", {}});
      res.SetHeader("Allow", allow);
      return res;
    }
    const Route& route = routes[ex.route];
    if (!route.open) {
      // Nothing of the body is read after a refusal: the connection closes after the answer.
      if (std::optional<Response> refused = Authenticate(c, ex)) return refused;
      if ((route.roles & Bit(ex.who->role)) == 0) {
        return Finish(ex, CaseInPath(ex),
                      Problem({403,
                               "role '" + std::string(RoleName(ex.who->role)) + "' may not " +
                                   ex.req.method + " " + ex.req.path,
                               {}}));
      }
    }
    const std::string length = ex.req.Header("content-length");
    if (!length.empty()) {
      Result<uint64_t> n = ParseUint(length);
      if (n.ok() && *n > options.max_body_bytes) {
        return Finish(ex, CaseInPath(ex), Problem({413, TooLarge(options), {}}));
      }
    }
    return std::nullopt;
  }

  // Sets ex.who: the principal of the bearer token, or with a client CA the participant of
  // the organisation named by a verified client certificate, or the token's when both are sent
  // and agree. Otherwise the refusal, naming no principal (not access-logged): 401 without
  // credentials or with an unknown token, 403 for a client certificate that is not accepted or
  // disagrees with the token. On the polling thread (it reads the connection's TLS session).
  std::optional<Response> Authenticate(MHD_Connection* c, Exchange& ex) const {
    const std::string auth = ex.req.Header("authorization");
    const Principal* by_token = nullptr;
    constexpr std::string_view kBearer = "bearer ";
    if (auth.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), auth.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      by_token = principals.Authenticate(std::string_view(auth).substr(kBearer.size()));
    }
    const Principal* by_certificate = nullptr;
    if (!tls.client_ca_pem.empty()) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
      internal::PeerCertificate peer;
      if (info != nullptr && info->tls_session != nullptr) {
        peer = internal::IdentifyPeer(static_cast<gnutls_session_t>(info->tls_session));
      }
      if (peer.kind == internal::PeerCertificate::Kind::kRefused) {
        spdlog::debug("api: refused a client certificate: {}", peer.reason);
        return Problem({403, "the client certificate is not accepted: " + peer.reason, {}});
      }
      if (peer.kind == internal::PeerCertificate::Kind::kVerified) {
        auto found = certificate_principals.find(peer.common_name);
        if (found == certificate_principals.end()) {
          spdlog::info("api: refused a client certificate for CN={}: not in the directory",
                       peer.common_name);
          return Problem({403,
                          "the client certificate's subject CN=" + peer.common_name +
                              " is not an organisation of the participant directory",
                          {}});
        }
        by_certificate = &found->second;
      }
    }
    if (by_token == nullptr && (by_certificate == nullptr || !auth.empty())) {
      Response res = Problem(
          {401,
           !auth.empty() ? "invalid token"
           : tls.client_ca_pem.empty()
               ? "authentication required: send Authorization: Bearer <token>"
               : "authentication required: send Authorization: Bearer <token>, or (participants) "
                 "a client certificate",
           {}});
      res.SetHeader("WWW-Authenticate", "Bearer");
      return res;
    }
    if (by_token != nullptr && by_certificate != nullptr &&
        (by_token->role != Role::kParticipant ||
         by_token->organisation != by_certificate->organisation)) {
      spdlog::info("api: refused principal {} with a client certificate for CN={}", by_token->name,
                   by_certificate->organisation);
      return Problem({403,
                      "the token's principal '" + by_token->name + "' (" +
                          std::string(RoleName(by_token->role)) +
                          (by_token->organisation.empty() ? "" : " of " + by_token->organisation) +
                          ") and the client certificate (CN=" + by_certificate->organisation +
                          ") disagree: send a token of a participant of " +
                          by_certificate->organisation + ", or none",
                      {}});
    }
    ex.who = by_token != nullptr ? by_token : by_certificate;
    return std::nullopt;
  }

  std::string CaseInPath(const Exchange& ex) const {
    if (ex.route == SIZE_MAX || !routes[ex.route].case_in_path || ex.req.matches.empty()) {
      return "";
    }
    return ex.req.matches[0];
  }

  // Queues `res` (with the headers every answer carries). MHD closes the connection after it
  // when the body has not been read.
  static MHD_Result Answer(MHD_Connection* c, Exchange& ex, Response res) {
    ex.answered = true;
    MHD_Response* r =
        MHD_create_response_from_buffer(res.body.size(), res.body.data(), MHD_RESPMEM_MUST_COPY);
    if (r == nullptr) return MHD_NO;
    // Case data must not stay in caches, and no answer is to be sniffed into something else.
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (!res.content_type.empty()) {
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type.c_str());
    }
    for (const auto& [name, value] : res.headers)
      MHD_add_response_header(r, name.c_str(), value.c_str());
    MHD_Result queued = MHD_queue_response(c, static_cast<unsigned>(res.status), r);
    MHD_destroy_response(r);
    return queued;
  }

  // The whole request is in: checks and runs the handler.
  Response Serve(Exchange& ex) {
    if (std::optional<Response> refused = Prepare(ex)) return std::move(*refused);
    const Route& route = routes[ex.route];
    Request& req = ex.req;
    if (route.open) {
      Response res;
      route.open(req, res);
      return res;
    }
    Call call{req, *ex.who, CaseInPath(ex)};
    if (route.intake) {  // only when stopping (see OnRequest)
      return Finish(ex, call.case_id, Problem({503, "the server is stopping", {}}));
    }
    Response res;
    if (std::optional<Failure> failure = route.handler(call, res)) res = Problem(*failure);
    return Finish(ex, call.case_id, std::move(res));
  }

  // Parses the query parameters and checks the request (Check); the refusal's answer, if any.
  std::optional<Response> Prepare(Exchange& ex) {
    const Route& route = routes[ex.route];
    Request& req = ex.req;
    size_t q = req.target.find('?');
    if (q != std::string::npos) {
      std::string_view query = std::string_view(req.target).substr(q + 1);
      while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
        std::optional<std::string> value = PercentDecode(
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
        if (!key.has_value() || !value.has_value()) {
          return Finish(ex, CaseInPath(ex),
                        Problem({400, "a query parameter has a malformed percent-encoding", {}}));
        }
        req.params.emplace_back(std::move(*key), std::move(*value));
      }
    }
    if (route.open) return std::nullopt;
    if (std::optional<Failure> failure = Check(req, route))
      return Finish(ex, CaseInPath(ex), Problem(*failure));
    return std::nullopt;
  }

  // --- input for the engine ----------------------------------------------------------------

  // On the pool: makes the request an input and hands it to the engine's inbox. nullopt: handed
  // over, and InputDecided answers it; otherwise the answer (a refusal).
  std::optional<Response> OfferInput(MHD_Connection* c, Exchange* ex) {
    if (std::optional<Response> refused = Prepare(*ex)) return refused;
    const Route& route = routes[ex->route];
    Call call{ex->req, *ex->who, CaseInPath(*ex)};
    if (options.inbox == nullptr) {
      return Finish(*ex, call.case_id,
                    Problem({503,
                             "no engine runs in this process (amtsweg serve): send input to "
                             "the amtsweg run --listen that processes this store",
                             {}}));
    }
    InputRequest in;
    in.who = ex->who;
    const std::string content_type = ex->req.Header("content-type");
    in.content_type = content_type;
    in.body = ex->req.body;
    in.received = clock.Now();
    in.number = ++input_requests;
    in.max_event_bytes = options.max_event_bytes;
    Intake intake;
    if (std::optional<InputRefusal> r = route.intake(call, in, &intake)) {
      return Finish(*ex, intake.case_id.empty() ? call.case_id : intake.case_id,
                    Problem({r->status, r->detail, {}}));
    }
    {
      std::lock_guard<std::mutex> lock(inputs_mu);
      ++inputs_waiting;
      ++inputs_open;
    }
    ex->input = true;
    const std::string case_id = intake.case_id;
    Status offered = options.inbox->Offer(
        std::move(intake.raw), case_id,
        [this, c, ex, case_id, echo = intake.echo](const core::InboxVerdict& v) {
          InputDecided(c, ex, case_id, echo, v);
        });
    if (offered.ok()) return std::nullopt;
    InputAnswered();  // refused at once: answered below, and closed like any other input
    Response res = Problem({503, offered.message(), {}});
    res.SetHeader("Retry-After", "1");
    return Finish(*ex, case_id, std::move(res));
  }

  // The engine's verdict on an input (on the engine's thread, or Expire's or Close's): answered
  // on the pool, where the access record is written.
  void InputDecided(MHD_Connection* c, Exchange* ex, const std::string& case_id, const Value& echo,
                    const core::InboxVerdict& verdict) {
    InputAnswer answer = AnswerOf(echo, verdict);
    auto job = [this, c, ex, case_id, answer = std::move(answer)]() mutable {
      Response res;
      if (answer.problem) {
        res = Problem({answer.status, answer.detail, std::move(answer.extra)});
      } else {
        Json(res, Value::Object(std::move(answer.extra)), answer.status);
      }
      for (auto& [name, value] : answer.headers)
        res.SetHeader(std::move(name), std::move(value));
      ex->response = Finish(*ex, case_id, std::move(res));
      ex->served = true;
      MHD_resume_connection(c);
      InputAnswered();
    };
    // Stop waits for these answers before it stops the pool, so the pool takes the job.
    if (!pool->Submit(job)) job();
  }

  void InputAnswered() {
    {
      std::lock_guard<std::mutex> lock(inputs_mu);
      --inputs_waiting;
    }
    inputs_done.notify_all();
  }

  void InputClosed() {
    {
      std::lock_guard<std::mutex> lock(inputs_mu);
      --inputs_open;
    }
    inputs_done.notify_all();
  }

  static std::optional<Failure> Check(const Request& req, const Route& route) {
    // Everything echoed into JSON or used as a key must be text.
    for (const auto& [name, value] : req.params) {
      if (!simdjson::validate_utf8(name) || !simdjson::validate_utf8(value)) {
        return Failure{400, "a query parameter is not valid UTF-8 (after percent-decoding)", {}};
      }
    }
    if (!simdjson::validate_utf8(req.body)) {
      return Failure{400, "the request body is not valid UTF-8", {}};
    }
    if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
    for (const auto& [name, value] : req.params) {
      if (route.params.count(name) == 0) {
        std::string allowed;
        for (const std::string& p : route.params)
          allowed += (allowed.empty() ? "" : ", ") + p;
        return Failure{400,
                       "unknown query parameter '" + name + "'" +
                           (allowed.empty() ? " (this endpoint takes none)"
                                            : " (this endpoint takes " + allowed + ")"),
                       {}};
      }
      if (req.ParamCount(name) > 1) {
        return Failure{400, "query parameter '" + name + "' is given more than once", {}};
      }
    }
    return std::nullopt;
  }

  // Every answer of a principal on a route of case data, also a refusal, is recorded in the
  // access log before it leaves; without the record, nothing but a 503 leaves.
  Response Finish(const Exchange& ex, const std::string& case_id, Response res) {
    if (ex.who == nullptr || ex.route == SIZE_MAX || !routes[ex.route].case_data) return res;
    store::AccessRecord record;
    record.at = clock.Now();
    record.principal = ex.who->name;
    record.role = std::string(RoleName(ex.who->role));
    record.organisation = ex.who->organisation;
    record.method = ex.req.method;
    record.path = ex.req.target;
    record.status = res.status;
    record.case_id = case_id;
    Result<uint64_t> appended = store.AppendAccess(record);
    if (!appended.ok()) {
      // No record, no data: the read must not leave without a trace.
      spdlog::error("api: access log: {}", appended.status().ToString());
      return Problem({503, "the access log cannot be written; nothing is answered", {}});
    }
    return res;
  }

  // Shuts down connections past their deadline for headers or body (totals, not per read).
  void Sweep() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      wake.wait_for(lock, std::chrono::milliseconds(50));
      if (options.inbox != nullptr) {
        lock.unlock();
        options.inbox->Expire();  // inputs the engine did not take in time are answered
        lock.lock();
      }
      const Timestamp now = connection_clock.Now();
      for (Connection* conn : connections) {
        if (conn->cut || conn->fd < 0 || conn->phase == Phase::kServing) continue;
        const int64_t limit =
            conn->phase == Phase::kHeaders ? options.header_timeout_ms : options.body_timeout_ms;
        if (now - conn->since <= limit) continue;
        conn->cut = true;
        // The poller sees the end and closes it; the fd stays open until then.
        ::shutdown(conn->fd, SHUT_RDWR);
        spdlog::info("api: closed a connection that took over {} ms for its {}", limit,
                     conn->phase == Phase::kHeaders ? "headers" : "body");
      }
    }
  }

  // The case `id` as `call`'s principal may see it: nullopt when it does not exist or the
  // principal's organisation takes no part in it (indistinguishable on purpose).
  Result<std::optional<runtime::CaseState>> VisibleCase(const Call& call) const {
    ASSIGN_OR_RETURN(
        std::optional<runtime::CaseState> s,
        core::LoadCaseState(store, call.case_id, /*with_application=*/true, options.keys));
    if (!s.has_value()) return s;
    if (call.participant() && std::none_of(s->participants.begin(), s->participants.end(),
                                           [&](const runtime::Participant& p) {
                                             return p.organisation == call.who.organisation;
                                           })) {
      return std::optional<runtime::CaseState>();
    }
    return s;
  }

  static Failure NoCase(const Call& call) { return {404, "no case '" + call.case_id + "'", {}}; }

  // Parses a limit parameter (default kDefaultLimit).
  std::optional<Failure> Limit(const Call& call, size_t* limit) const {
    *limit = std::min(kDefaultLimit, options.max_list_limit);
    std::optional<std::string> text = call.Param("limit");
    if (!text.has_value()) return std::nullopt;
    Result<uint64_t> v = ParseUint(*text);
    if (!v.ok() || *v == 0 || *v > options.max_list_limit) {
      return Failure{400,
                     "query parameter 'limit': expected an integer from 1 to " +
                         std::to_string(options.max_list_limit) + ", got '" + *text + "'",
                     {}};
    }
    *limit = static_cast<size_t>(*v);
    return std::nullopt;
  }

  static std::optional<Failure> Time(const Call& call, const std::string& name,
                                     std::optional<Timestamp>* out) {
    std::optional<std::string> text = call.Param(name);
    if (!text.has_value()) return std::nullopt;
    Result<Timestamp> t = ParseTimestamp(*text);
    if (!t.ok()) {
      return Failure{400,
                     "query parameter '" + name +
                         "': expected an RFC 3339 time such as "
                         "2026-03-01T10:15:00Z (" +
                         t.status().message() + ")",
                     {}};
    }
    *out = *t;
    return std::nullopt;
  }

  static void Json(Response& res, const Value& v, int status = 200) {
    res.status = status;
    res.SetContent(v.ToJson(), kJson);
  }

  // --- cases -------------------------------------------------------------------------------

  std::optional<Failure> ListCases(Call& call, Response& res) const {
    core::CaseFilter f;
    for (auto [name, field] :
         {std::pair{"workflow", &f.workflow}, std::pair{"state", &f.state},
          std::pair{"participant", &f.participant}, std::pair{"outcome", &f.outcome}}) {
      std::optional<std::string> v = call.Param(name);
      if (!v.has_value()) continue;
      if (v->empty()) {
        return Failure{400, "query parameter '" + std::string(name) + "' must not be empty", {}};
      }
      *field = *v;
    }
    if (auto e = Time(call, "opened_from", &f.opened_from)) return e;
    if (auto e = Time(call, "opened_to", &f.opened_to)) return e;
    if (auto e = Time(call, "deadline_before", &f.deadline_before)) return e;
    if (auto e = Limit(call, &f.limit)) return e;
    f.after = call.Param("cursor").value_or("");
    if (call.participant()) {
      // A participant lists only its own organisation's cases, whatever it asks for.
      if (!f.participant.empty() && f.participant != call.who.organisation) {
        Json(res,
             ObjectBuilder().Add("cases", Value::Array({})).Add("next_cursor", Value()).Build());
        return std::nullopt;
      }
      f.participant = call.who.organisation;
    }
    Result<core::CasePage> page = core::ListCases(store, f);
    if (!page.ok()) return FromStatus(page.status());
    std::vector<Value> cases;
    for (const runtime::CaseState& s : page->cases)
      cases.push_back(CaseSummary(s));
    Json(res,
         ObjectBuilder()
             .Add("cases", Value::Array(std::move(cases)))
             .Add("next_cursor", page->next_cursor.empty() ? Value() : Value(page->next_cursor))
             .Build());
    return std::nullopt;
  }

  // The events `call`'s principal may see, with the full or projected case view of `s`
  // (its state after event s.seq).
  Result<std::pair<Value, std::vector<Value>>> Views(const Call& call,
                                                     const runtime::CaseState& s) const {
    ASSIGN_OR_RETURN(std::vector<core::HistoryEntry> history,
                     core::ReadHistory(store, call.case_id, options.keys));
    std::vector<Value> events;
    if (!call.participant()) {
      for (const core::HistoryEntry& h : history) {
        if (h.event.seq > s.seq) break;
        events.push_back(core::FullEventView(h));
      }
      return std::pair{core::FullCaseView(s), std::move(events)};
    }
    const std::string& org = call.who.organisation;
    for (const core::HistoryEntry& h : history) {
      if (h.event.seq > s.seq) break;
      std::optional<Value> v = core::ParticipantEventView(h.event, s, org);
      if (v.has_value()) events.push_back(std::move(*v));
    }
    return std::pair{core::ParticipantCaseView(s, org, core::DisclosedPaths(history, org, s.seq)),
                     std::move(events)};
  }

  std::optional<Failure> ShowCase(Call& call, Response& res) const {
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    auto views = Views(call, **s);
    if (!views.ok()) return FromStatus(views.status());
    Json(res, views->first);
    return std::nullopt;
  }

  std::optional<Failure> History(Call& call, Response& res) const {
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    auto views = Views(call, **s);
    if (!views.ok()) return FromStatus(views.status());
    Json(res, ObjectBuilder()
                  .Add("case", call.case_id)
                  .Add("events", Value::Array(std::move(views->second)))
                  .Build());
    return std::nullopt;
  }

  std::optional<Failure> StateAt(Call& call, Response& res) const {
    std::optional<std::string> seq_text = call.Param("seq");
    std::optional<Timestamp> at;
    if (auto e = Time(call, "at", &at)) return e;
    if (at.has_value() == seq_text.has_value()) {
      return Failure{400, "give exactly one of the query parameters 'at' (RFC 3339) or 'seq'", {}};
    }
    uint64_t upto = UINT64_MAX;
    if (seq_text.has_value()) {
      Result<uint64_t> v = ParseUint(*seq_text);
      if (!v.ok() || *v == 0) {
        return Failure{
            400, "query parameter 'seq': expected a positive integer, got '" + *seq_text + "'", {}};
      }
      upto = *v;
    }
    Result<std::optional<runtime::CaseState>> visible = VisibleCase(call);
    if (!visible.ok()) return FromStatus(visible.status());
    if (!visible->has_value()) return NoCase(call);
    Result<core::Replay> replay =
        core::ReplayCase(store, call.case_id, upto, at.value_or(INT64_MAX), options.keys);
    if (!replay.ok()) return FromStatus(replay.status());
    auto views = Views(call, replay->state);
    if (!views.ok()) return FromStatus(views.status());
    Json(res, ObjectBuilder()
                  .Add("case", call.case_id)
                  .Add("at", at.has_value() ? Value(FormatTimestamp(*at)) : Value())
                  .Add("seq", static_cast<int64_t>(replay->state.seq))
                  .Add("last_seq", static_cast<int64_t>(replay->last_seq))
                  .Add("state", views->first)
                  .Build());
    return std::nullopt;
  }

  std::optional<Failure> Verify(Call& call, Response& res) const {
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    Result<core::Verification> v = core::VerifyCase(store, call.case_id, options.keys);
    if (!v.ok()) return FromStatus(v.status());
    Json(res, ObjectBuilder()
                  .Add("case", call.case_id)
                  .Add("events", static_cast<int64_t>(v->events))
                  .Add("chain_intact", v->chain_intact)
                  .Add("snapshot_matches", v->snapshot_matches)
                  .Add("ok", v->ok())
                  .Add("error", v->chain_error.empty() ? Value() : Value(v->chain_error))
                  .Build());
    return std::nullopt;
  }

  std::optional<Failure> Export(Call& call, Response& res) const {
    std::string format = call.Param("format").value_or("json");
    if (format != "json" && format != "csv" && format != "html") {
      return Failure{
          400, "query parameter 'format': expected json, csv or html, got '" + format + "'", {}};
    }
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    auto views = Views(call, **s);
    if (!views.ok()) return FromStatus(views.status());
    CaseFile file;
    file.case_view = std::move(views->first);
    file.events = std::move(views->second);
    file.viewer = std::string(RoleName(call.who.role)) + " " + call.who.name +
                  (call.participant() ? " (" + call.who.organisation + ")" : "");
    file.generated_at = clock.Now();
    // The titles and names of the HTML case file; the registry snapshot outlives the rendering.
    std::shared_ptr<const dsl::Registry> registry = catalog.Snapshot();
    file.workflow = registry->Find((*s)->workflow, (*s)->version);
    file.directory = &directory;
    std::string name = SafeFileName(call.case_id) + "." + format;
    res.SetHeader("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.status = 200;
    if (format == "json") {
      res.SetContent(ExportJson(file), kJson);
    } else if (format == "csv") {
      res.SetContent(ExportCsv(file), "text/csv; charset=utf-8");
    } else {
      res.SetHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      res.SetContent(ExportHtml(file), "text/html; charset=utf-8");
    }
    return std::nullopt;
  }

  // --- workflows ---------------------------------------------------------------------------

  std::optional<Failure> ListWorkflows(Call&, Response& res) const {
    std::shared_ptr<const dsl::Registry> registry = catalog.Snapshot();
    std::vector<Value> out;
    for (const dsl::Definition* d : registry->All()) {
      std::vector<Value> states;
      for (const dsl::State& st : d->states)
        states.emplace_back(st.name);
      out.push_back(ObjectBuilder()
                        .Add("name", d->name)
                        .Add("version", d->version)
                        .Add("title", d->title)
                        .Add("leika", d->leika)
                        .Add("source", d->file)
                        .Add("latest", registry->Latest(d->name) == d)
                        .Add("states", Value::Array(std::move(states)))
                        .Build());
    }
    Json(res, ObjectBuilder().Add("workflows", Value::Array(std::move(out))).Build());
    return std::nullopt;
  }

  static std::optional<Failure> NeedBody(const Call& call) {
    if (call.req.body.empty()) {
      return Failure{400, "the request body is empty: send the definition's YAML", {}};
    }
    return std::nullopt;
  }

  std::optional<Failure> ValidateWorkflow(Call& call, Response& res) const {
    if (auto e = NeedBody(call)) return e;
    dsl::LoadResult r = catalog.Validate(call.req.body);
    ObjectBuilder b;
    b.Add("valid", r.definition != nullptr);
    if (r.definition != nullptr) {
      b.Add("name", r.definition->name).Add("version", r.definition->version);
    }
    b.Add("errors", DiagnosticsValue(r.errors));
    Json(res, b.Build());
    return std::nullopt;
  }

  std::optional<Failure> DeployWorkflow(Call& call, Response& res) const {
    if (auto e = NeedBody(call)) return e;
    std::vector<dsl::Diagnostic> errors;
    Result<dsl::DefinitionPtr> def = catalog.Deploy(call.req.body, &errors);
    if (!def.ok()) {
      Failure f = FromStatus(def.status());
      if (!errors.empty()) f.extra.emplace_back("errors", DiagnosticsValue(errors));
      return f;
    }
    spdlog::info("api: {} deployed workflow {} version {}", call.who.name, (*def)->name,
                 (*def)->version);
    Json(res, ObjectBuilder().Add("name", (*def)->name).Add("version", (*def)->version).Build(),
         201);
    return std::nullopt;
  }

  // --- migration of running cases (docs/api.md, "Migrating running cases") ----------------

  std::optional<Failure> Migrate(Call& call, Response& res) const {
    if (auto e = NeedBody(call)) return e;
    Result<Value> body = Value::ParseJson(call.req.body);
    if (!body.ok() || !body->is_object()) {
      return Failure{400, "the body must be a JSON object: workflow, from, to, mapping", {}};
    }
    for (const Member& m : body->members()) {
      static const std::set<std::string> kKeys = {"workflow", "from", "to",    "mapping",
                                                  "dry_run",  "case", "reason"};
      if (kKeys.count(m.first) == 0) {
        return Failure{400,
                       "unknown member '" + m.first +
                           "' (expected workflow, from, to, mapping, dry_run, case, reason)",
                       {}};
      }
    }
    const Value& mapping = (*body)["mapping"];
    if (!mapping.is_object()) return Failure{400, "'mapping' must be the mapping as an object", {}};
    // The mapping may leave workflow, from and to to the body; when it names them, they agree.
    std::vector<Member> members = mapping.members();
    for (std::string_view key : {"workflow", "from", "to"}) {
      const Value& given = (*body)[key];
      const Value* in_mapping = mapping.Find(key);
      if (given.is_null()) continue;
      if (in_mapping == nullptr) {
        members.emplace_back(std::string(key), given);
      } else if (!(*in_mapping == given)) {
        return Failure{422,
                       "'" + std::string(key) + "' is " + given.ToJson() + ", the mapping's " +
                           in_mapping->ToJson(),
                       {}};
      }
    }
    dsl::MigrationParse parsed =
        dsl::MigrationFromValue(Value::Object(std::move(members)), "mapping");
    auto invalid = [](const std::vector<dsl::MigrationError>& errors) {
      std::vector<Value> list;  // as Diagnostic (docs/api.yaml): no lines in a JSON body
      list.reserve(errors.size());
      for (const dsl::MigrationError& e : errors) {
        list.push_back(ObjectBuilder(4)
                           .Add("line", e.pos.line)
                           .Add("column", e.pos.column)
                           .Add("message", e.message)
                           .Add("text", e.ToString())
                           .Build());
      }
      return Failure{422,
                     "the mapping is not valid: " + std::to_string(errors.size()) + " error(s)",
                     {{"errors", Value::Array(std::move(list))}}};
    };
    if (!parsed.migration.has_value()) return invalid(parsed.errors);
    const dsl::Migration& m = *parsed.migration;
    std::shared_ptr<const dsl::Registry> registry = catalog.Snapshot();
    if (registry->Latest(m.workflow) == nullptr)
      return Failure{404, "no workflow '" + m.workflow + "' is deployed", {}};
    if (std::vector<dsl::MigrationError> errors = dsl::ValidateMigration(m, *registry);
        !errors.empty()) {
      return invalid(errors);
    }
    const Value& only = (*body)["case"];
    if (!only.is_null() && (!only.is_string() || only.as_string().empty()))
      return Failure{400, "'case' must be a case id", {}};
    const Value& reason = (*body)["reason"];
    if (!reason.is_null() && !reason.is_string()) return Failure{400, "'reason' must be text", {}};
    const Value& dry_run = (*body)["dry_run"];
    if (!dry_run.is_null() && !dry_run.is_bool())
      return Failure{400, "'dry_run' must be true or false", {}};
    std::vector<std::string> cases;
    if (only.is_string()) {
      call.case_id = only.as_string();
      if (Status s = core::CheckCaseToMigrate(store, m, only.as_string()); !s.ok()) {
        return s.IsInvalidArgument() ? Failure{422, s.message(), {}} : FromStatus(s);
      }
      cases.push_back(only.as_string());
    } else {
      Result<std::vector<std::string>> found = core::CasesToMigrate(store, m);
      if (!found.ok()) return FromStatus(found.status());
      cases = std::move(found).value();
    }
    core::MigrationIssuer by;
    by.admin = "api:" + call.who.name;
    by.source = "urn:amtsweg:admin:api";
    by.reason = reason.is_string() ? reason.as_string() : "";
    by.issued = clock.Now();
    Result<std::optional<Timestamp>> committed = store.GetClock();
    if (!committed.ok()) return FromStatus(committed.status());
    by.time = committed->value_or(by.issued);  // the engine clock: the command moves no time
    ObjectBuilder b;
    b.Add("workflow", m.workflow).Add("from", m.from).Add("to", m.to).Add("mapping", m.Digest());
    if (dry_run.as_bool()) {
      runtime::Runtime rt(*registry, directory);
      std::vector<Value> plans;
      int64_t refused = 0;
      for (const std::string& id : cases) {
        Result<std::optional<runtime::CaseState>> state = core::LoadCaseState(store, id);
        if (!state.ok()) return FromStatus(state.status());
        if (!state->has_value()) continue;
        core::MigrationPreview p =
            core::PreviewMigration(rt, std::move(**state), core::MigrationInput(m, id, by));
        refused += p.refused.has_value() ? 1 : 0;
        plans.push_back(p.ToValue());
      }
      const auto planned = static_cast<int64_t>(plans.size());
      b.Add("dry_run", true)
          .Add("would_migrate", planned - refused)
          .Add("would_refuse", refused)
          .Add("cases", Value::Array(std::move(plans)));
      Json(res, b.Build());
      return std::nullopt;
    }
    if (options.inbox == nullptr) {
      return Failure{503,
                     "no engine runs in this process (amtsweg serve): migrate through the "
                     "amtsweg run --listen that processes this store, or with amtsweg migrate",
                     {}};
    }
    std::vector<Value> queued, not_queued;
    for (const std::string& id : cases) {
      core::RawInput raw = core::MigrationRawInput(m, id, by);
      const std::string input_id = core::MigrationInputId(m, id, by.issued);
      // The verdict is the case's history (case.migrated) or a dead letter; nobody waits here.
      Status offered = options.inbox->Offer(std::move(raw), id, [id](const core::InboxVerdict& v) {
        if (v.outcome != core::InboxVerdict::Outcome::kAccepted)
          spdlog::warn("api: migration of case {} not taken: {} {}", id, v.kind, v.reason);
      });
      if (offered.ok()) {
        queued.push_back(ObjectBuilder(2).Add("case", id).Add("input", input_id).Build());
      } else {
        not_queued.push_back(
            ObjectBuilder(2).Add("case", id).Add("reason", offered.message()).Build());
      }
    }
    spdlog::info("api: {} queued the migration of {} case(s) of {} from version {} to {}",
                 call.who.name, queued.size(), m.workflow, m.from, m.to);
    const auto queued_count = static_cast<int64_t>(queued.size());
    b.Add("dry_run", false)
        .Add("queued", queued_count)
        .Add("inputs", Value::Array(std::move(queued)))
        .Add("not_queued", Value::Array(std::move(not_queued)));
    Json(res, b.Build(), 202);
    return std::nullopt;
  }

  // --- backups and data keys (docs/api.md, "Backups" and "Data keys") ----------------------

  // A failure of the store, the key store or a backup directory: the server's, not the
  // client's (a bad --backup-dir is InvalidArgument, but no request can fix it).
  static Failure ServerFailure(const Status& s, const std::string& context) {
    if (s.code() == Status::Code::kUnavailable) return {503, context + ": " + s.message(), {}};
    spdlog::error("api: {}: {}", context, s.ToString());
    return {500, context + ": " + s.ToString(), {}};
  }

  // Progress lines in the server's log, at most one a second and one at the end. RocksDB calls
  // it from one copy thread at a time.
  static store::BackupProgressFn LogProgress(std::string what) {
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [what = std::move(what), last](const store::BackupProgress& p) {
      const auto now = std::chrono::steady_clock::now();
      if (p.bytes_done < p.bytes_total && now - *last < std::chrono::seconds(1)) return;
      *last = now;
      spdlog::info("api: {}: {} of {} bytes", what, p.bytes_done, p.bytes_total);
    };
  }

  static Value BackupValue(const store::BackupInfo& b, const std::string& dir) {
    Result<Value> meta = Value::ParseJson(b.metadata);
    return ObjectBuilder(6)
        .Add("id", static_cast<int64_t>(b.id))
        .Add("created", FormatTimestamp(b.created))
        .Add("size_bytes", static_cast<int64_t>(b.size_bytes))
        .Add("files", static_cast<int64_t>(b.files))
        .Add("backup_dir", dir)
        .Add("metadata", meta.ok() ? *meta : Value(b.metadata))
        .Build();
  }

  std::optional<Failure> NeedBackupDir() const {
    if (!options.backup_dir.empty()) return std::nullopt;
    return Failure{503,
                   "this server has no backup directory: start it (run --listen, serve) with "
                   "--backup-dir DIR, or back up a stopped engine with amtsweg backup create",
                   {}};
  }

  std::string KeyBackupDir() const { return options.backup_dir + ".keys"; }

  // Runs on the handler thread until both backups are made: a large store holds one handler
  // thread for the time of its copy (the other threads go on serving).
  std::optional<Failure> CreateBackup(Call& call, Response& res) {
    if (auto e = NeedBackupDir()) return e;
    std::unique_lock<std::mutex> one(backup_mu, std::try_to_lock);
    if (!one.owns_lock()) {
      return Failure{409, "a backup is in progress; send the request again when it is done", {}};
    }
    const std::string& dir = options.backup_dir;
    spdlog::info("api: {} backs up the store into {}", call.who.name, dir);
    Result<store::BackupInfo> made = store.CreateBackup(dir, LogProgress("backup of the store"));
    if (!made.ok()) return ServerFailure(made.status(), "backing up the store into " + dir);
    spdlog::info("api: backup {} of the store in {}: {} files, {} bytes", made->id, dir,
                 made->files, made->size_bytes);
    const Value info = BackupValue(*made, dir);
    ObjectBuilder b;
    for (const Member& m : info.members())
      b.Add(m.first, m.second);
    if (options.keys == nullptr) {
      b.Add("key_store", Value());
      Json(res, b.Build(), 201);
      return std::nullopt;
    }
    const std::string keys_dir = KeyBackupDir();
    Result<core::KeyStoreBackup> keys =
        core::BackupKeyStore(options.keys->store(), keys_dir, clock.Now(), options.key_retention_ms,
                             LogProgress("backup of the key store"));
    if (!keys.ok()) {
      Failure f =
          ServerFailure(keys.status(), "store backup " + std::to_string(made->id) +
                                           " was made; backing up the key store into " + keys_dir);
      f.extra.emplace_back("backup", BackupValue(*made, dir));
      return f;
    }
    spdlog::info("api: backup {} of the key store in {}; {} older deleted", keys->backup.id,
                 keys_dir, keys->deleted.size());
    Value key_info = BackupValue(keys->backup, keys_dir);
    std::vector<Value> deleted;
    for (uint32_t id : keys->deleted)
      deleted.emplace_back(static_cast<int64_t>(id));
    std::vector<Member> members = key_info.members();
    members.emplace_back("deleted", Value::Array(std::move(deleted)));
    b.Add("key_store", Value::Object(std::move(members)));
    Json(res, b.Build(), 201);
    return std::nullopt;
  }

  // The backups in `dir`, oldest first; none when the directory does not exist yet.
  static Result<Value> BackupsIn(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return Value::Array({});
    ASSIGN_OR_RETURN(std::vector<store::BackupInfo> list, store::Store::ListBackups(dir));
    std::vector<Value> out;
    out.reserve(list.size());
    for (const store::BackupInfo& b : list)
      out.push_back(BackupValue(b, dir));
    return Value::Array(std::move(out));
  }

  std::optional<Failure> ListBackups(Call&, Response& res) const {
    if (auto e = NeedBackupDir()) return e;
    Result<Value> backups = BackupsIn(options.backup_dir);
    if (!backups.ok()) return ServerFailure(backups.status(), "listing " + options.backup_dir);
    ObjectBuilder b;
    b.Add("backup_dir", options.backup_dir).Add("backups", *backups);
    if (options.keys == nullptr) {
      b.Add("key_store_backup_dir", Value()).Add("key_store_backups", Value::Array({}));
    } else {
      Result<Value> keys = BackupsIn(KeyBackupDir());
      if (!keys.ok()) return ServerFailure(keys.status(), "listing " + KeyBackupDir());
      b.Add("key_store_backup_dir", KeyBackupDir()).Add("key_store_backups", *keys);
    }
    Json(res, b.Build());
    return std::nullopt;
  }

  std::optional<Failure> NeedKeys() const {
    if (options.keys != nullptr) return std::nullopt;
    return Failure{503,
                   "this server has no key store: the store's personal data is not sealed "
                   "(started with --no-encryption, or the store predates encryption)",
                   {}};
  }

  Result<Value> KeysValue() const {
    const crypto::KeyStore& keys = options.keys->store();
    ASSIGN_OR_RETURN(crypto::KeyStore::Stats stats, keys.GetStats());
    std::vector<Member> by_kek;
    for (const auto& [id, n] : stats.keys_by_kek)
      by_kek.emplace_back(id, static_cast<int64_t>(n));
    return ObjectBuilder(4)
        .Add("current_kek", keys.keks().current_id())
        .Add("keys", static_cast<int64_t>(stats.keys))
        .Add("keys_by_kek", Value::Object(std::move(by_kek)))
        .Add("erased", static_cast<int64_t>(stats.erased))
        .Build();
  }

  std::optional<Failure> KeysStatus(Call&, Response& res) const {
    if (auto e = NeedKeys()) return e;
    Result<Value> v = KeysValue();
    if (!v.ok()) return ServerFailure(v.status(), "reading the key store");
    Json(res, *v);
    return std::nullopt;
  }

  // Runs on the handler thread until every key is rewrapped (batches of about 1000 keys; the
  // engine's writes to the key store wait only for the batch in progress, reads go on).
  std::optional<Failure> RotateKeys(Call& call, Response& res) const {
    if (auto e = NeedKeys()) return e;
    crypto::KeyStore& keys = options.keys->store();
    spdlog::info("api: {} rotates the data keys to the KEK '{}'", call.who.name,
                 keys.keks().current_id());
    auto last = std::chrono::steady_clock::now();
    Result<uint64_t> rewrapped = keys.Rotate([&last](uint64_t done, uint64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (done < total && now - last < std::chrono::seconds(1)) return;
      last = now;
      spdlog::info("api: rotation: rewrapped {} of {} keys", done, total);
    });
    if (!rewrapped.ok()) return ServerFailure(rewrapped.status(), "rotating the data keys");
    Result<Value> after = KeysValue();
    if (!after.ok()) return ServerFailure(after.status(), "reading the key store");
    std::vector<Member> members = {{"rewrapped", static_cast<int64_t>(*rewrapped)}};
    for (const Member& m : after->members())
      members.push_back(m);
    Json(res, Value::Object(std::move(members)));
    return std::nullopt;
  }

  // --- dead letters and the access log ------------------------------------------------------

  std::optional<Failure> Cursor(const Call& call, uint64_t* after) const {
    *after = 0;
    std::optional<std::string> text = call.Param("cursor");
    if (!text.has_value()) return std::nullopt;
    Result<uint64_t> v = ParseUint(*text);
    if (!v.ok()) {
      return Failure{400, "query parameter 'cursor': " + v.status().message(), {}};
    }
    *after = *v;
    return std::nullopt;
  }

  std::optional<Failure> DeadLetters(Call& call, Response& res) const {
    size_t limit = 0;
    uint64_t after = 0;
    if (auto e = Limit(call, &limit)) return e;
    if (auto e = Cursor(call, &after)) return e;
    const std::string kind = call.Param("kind").value_or("");
    std::vector<Value> out;
    Value next;
    Status s = store.ScanDeadLetters([&](const store::DeadLetter& d) {
      if (d.seq <= after) return true;
      if (!kind.empty() && core::DeadLetterKind(d) != kind) return true;
      if (out.size() == limit) {
        next = Value(std::to_string(d.seq - 1));
        return false;
      }
      out.push_back(core::DeadLetterView(d));
      return true;
    });
    if (!s.ok()) return FromStatus(s);
    Json(res, ObjectBuilder()
                  .Add("dead_letters", Value::Array(std::move(out)))
                  .Add("next_cursor", next)
                  .Build());
    return std::nullopt;
  }

  std::optional<Failure> DeadLetter(Call& call, Response& res) const {
    const std::string text = call.req.matches.empty() ? "" : call.req.matches[0];
    Result<uint64_t> n = ParseUint(text);
    if (!n.ok() || *n == 0) {
      return Failure{
          400, "dead letter number: expected a positive integer, got '" + text + "'", {}};
    }
    std::optional<Value> found;
    Status s = store.ScanDeadLetters([&](const store::DeadLetter& d) {
      if (d.seq == *n) found = core::DeadLetterView(d);
      return d.seq < *n;
    });
    if (!s.ok()) return FromStatus(s);
    if (!found.has_value()) return Failure{404, "no dead letter " + text, {}};
    Json(res, *found);
    return std::nullopt;
  }

  std::optional<Failure> AccessLog(Call& call, Response& res) const {
    size_t limit = 0;
    uint64_t after = 0;
    if (auto e = Limit(call, &limit)) return e;
    if (auto e = Cursor(call, &after)) return e;
    std::vector<Value> out;
    Value next;
    Status s = store.ScanAccess(after + 1, [&](const store::AccessRecord& r) {
      if (out.size() == limit) {
        next = Value(std::to_string(r.seq - 1));
        return false;
      }
      out.push_back(ObjectBuilder()
                        .Add("seq", static_cast<int64_t>(r.seq))
                        .Add("at", FormatTimestamp(r.at))
                        .Add("principal", r.principal)
                        .Add("role", r.role)
                        .Add("organisation", r.organisation.empty() ? Value() : r.organisation)
                        .Add("method", r.method)
                        .Add("path", r.path)
                        .Add("status", r.status)
                        .Add("case", r.case_id.empty() ? Value() : r.case_id)
                        .Build());
      return true;
    });
    if (!s.ok()) return FromStatus(s);
    Json(res, ObjectBuilder()
                  .Add("records", Value::Array(std::move(out)))
                  .Add("next_cursor", next)
                  .Build());
    return std::nullopt;
  }

  // Public: figures without personal data, for anyone (no token, no access record).
  void PublicRoutes(report::Monitor& monitor) {
    AddPublic("/metrics", [&monitor](const Request&, Response& res) {
      Result<std::string> text = monitor.Metrics();
      if (!text.ok()) {
        spdlog::error("api: /metrics: {}", text.status().ToString());
        res = Problem({500, "metrics are not available: " + text.status().message(), {}});
        return;
      }
      res.SetContent(std::move(text).value(), "text/plain; version=0.0.4; charset=utf-8");
    });
    AddPublic("/status", [this, &monitor](const Request&, Response& res) {
      Result<std::string> page = monitor.StatusPage(clock.Now());
      if (!page.ok()) {
        spdlog::error("api: /status: {}", page.status().ToString());
        res = Problem({500, "the status page is not available: " + page.status().message(), {}});
        return;
      }
      res.SetHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      res.SetContent(std::move(page).value(), "text/html; charset=utf-8");
    });
    AddPublic("/", [](const Request&, Response& res) {
      res.status = 302;
      res.SetHeader("Location", "/status");
    });
  }

  // For orchestrators: live while the process answers; ready while the store can be read.
  void HealthRoutes() {
    AddPublic("/healthz",
              [](const Request&, Response& res) { res.SetContent(R"({"status":"live"})", kJson); });
    AddPublic("/readyz", [this](const Request&, Response& res) {
      Result<std::optional<Timestamp>> read = store.GetClock();
      if (!read.ok()) {
        spdlog::warn("api: /readyz: {}", read.status().ToString());
        res = Problem({503, "the store cannot be read", {}});
        return;
      }
      res.SetContent(R"({"status":"ready"})", kJson);
    });
  }

  // Participants' input: answered once the engine has decided it (api_input.h).
  void InputRoutes() {
    constexpr Roles kParticipant = Bit(Role::kParticipant);
    Add("POST", "/api/v1/inputs", kParticipant, {}, true, nullptr);
    routes.back().intake = [](const Call&, const InputRequest& in, Intake* out) {
      return CloudEventInput(in, out);
    };
    for (const CaseInputKind& kind : CaseInputKinds()) {
      Add("POST", "/api/v1/cases/*/" + std::string(kind.segment), kParticipant, {}, true, nullptr);
      routes.back().intake = [kind](const Call& call, const InputRequest& in, Intake* out) {
        return CaseInput(in, kind, call.case_id, call.req.Header("idempotency-key"), out);
      };
    }
    // Erasure of a case's personal data: administrators only, through the engine like input.
    Add("POST", "/api/v1/admin/cases/*/erasure", kAdmin, {}, true, nullptr);
    routes.back().intake = [](const Call& call, const InputRequest& in, Intake* out) {
      return ErasureInput(in, call.case_id, call.req.Header("idempotency-key"), out);
    };
  }

  void Routes() {
    auto bind = [this](auto method) {
      return [this, method](Call& c, Response& r) { return (this->*method)(c, r); };
    };
    const std::string kCase = "/api/v1/cases/*";
    Add("GET", "/api/v1/cases", kReaders,
        {"workflow", "state", "participant", "outcome", "opened_from", "opened_to",
         "deadline_before", "limit", "cursor"},
        true, bind(&Impl::ListCases));
    Add("GET", kCase, kReaders, {}, true, bind(&Impl::ShowCase));
    Add("GET", kCase + "/history", kReaders, {}, true, bind(&Impl::History));
    Add("GET", kCase + "/state", kReaders, {"at", "seq"}, true, bind(&Impl::StateAt));
    Add("GET", kCase + "/verify", kReaders, {}, true, bind(&Impl::Verify));
    Add("GET", kCase + "/export", kReaders, {"format"}, true, bind(&Impl::Export));
    Add("GET", "/api/v1/workflows", kReaders, {}, false, bind(&Impl::ListWorkflows));
    Add("POST", "/api/v1/workflows/validate", kAdmin, {}, false, bind(&Impl::ValidateWorkflow));
    Add("POST", "/api/v1/workflows", kAdmin, {}, false, bind(&Impl::DeployWorkflow));
    Add("POST", "/api/v1/admin/migrations", kAdmin, {}, true, bind(&Impl::Migrate));
    // Administrators' operations are in the access log like reads of case data.
    Add("POST", "/api/v1/admin/backups", kAdmin, {}, true, bind(&Impl::CreateBackup));
    Add("GET", "/api/v1/admin/backups", kAdmin, {}, true, bind(&Impl::ListBackups));
    Add("GET", "/api/v1/admin/keys", kAdmin, {}, true, bind(&Impl::KeysStatus));
    Add("POST", "/api/v1/admin/keys/rotation", kAdmin, {}, true, bind(&Impl::RotateKeys));
    Add("GET", "/api/v1/dead-letters", kAdmin | kAuditor, {"limit", "cursor", "kind"}, true,
        bind(&Impl::DeadLetters));
    Add("GET", "/api/v1/dead-letters/*", kAdmin | kAuditor, {}, true, bind(&Impl::DeadLetter));
    Add("GET", "/api/v1/access-log", kAuditor, {"limit", "cursor"}, false, bind(&Impl::AccessLog));
    InputRoutes();
    HealthRoutes();
    if (options.monitor != nullptr) PublicRoutes(*options.monitor);
  }
};

namespace {

// A listening TCP socket on host:port (port 0: any free one). -1 with `error` set on failure.
int Listen(const std::string& host, int port, int* bound_port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    *error = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // best effort
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      *error = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

// The TLS material of `options` (empty without TLS), from a libmicrohttpd that speaks TLS.
Result<internal::TlsMaterial> LoadTls(const ApiOptions& options) {
  ASSIGN_OR_RETURN(internal::TlsMaterial material,
                   internal::LoadTlsMaterial(options.tls_cert_file, options.tls_key_file,
                                             options.tls_client_ca_file));
  if (material.enabled() && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return Status::Unavailable(
        "api: --tls-cert: this libmicrohttpd was built without TLS (MHD_FEATURE_TLS); install "
        "one built with GnuTLS, as Debian's libmicrohttpd12 is");
  }
  return material;
}

}  // namespace

Status CheckTls(const ApiOptions& options) {
  return LoadTls(options).status();
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() {
  Stop();
}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options, store::Store& store,
                                                    core::Catalog& catalog,
                                                    const dsl::Directory& directory,
                                                    const Principals& principals,
                                                    const Clock& clock) {
  if (options.threads == 0 || options.max_body_bytes == 0 || options.max_list_limit == 0 ||
      options.max_connections == 0 || options.max_connections_per_client == 0 ||
      options.max_header_fields == 0 || options.max_header_bytes == 0 ||
      options.header_timeout_ms <= 0 || options.body_timeout_ms <= 0 ||
      options.idle_timeout_s == 0) {
    return Status::InvalidArgument("api: every limit and timeout must be > 0");
  }
  if (options.max_connections < std::min<size_t>(options.threads, 2)) {
    return Status::InvalidArgument("api: max_connections must be at least 2 (or threads)");
  }
  Result<internal::TlsMaterial> tls = LoadTls(options);
  if (!tls.ok()) return tls.status();
  auto impl = std::make_unique<Impl>(options, store, catalog, directory, principals, clock);
  impl->tls = std::move(tls).value();
  if (!impl->tls.client_ca_pem.empty()) {
    for (const dsl::Organisation& org : directory.organisations()) {
      Principal p;
      p.name = "certificate CN=" + org.id;
      p.role = Role::kParticipant;
      p.organisation = org.id;
      impl->certificate_principals.emplace(org.id, std::move(p));
    }
  }
  impl->Routes();
  std::string error;
  int port = 0;
  const int fd = Listen(options.host, options.port, &port, &error);
  if (fd < 0) {
    return Status::IOError("api: cannot listen on " + options.host + ":" +
                           std::to_string(options.port) + ": " + error);
  }
  impl->port = port;
  Impl* raw = impl.get();
  impl->pool = std::make_unique<HandlerPool>(options.threads);
  // Polling is cheap: at most two threads poll the connections; `threads` run the handlers.
  const size_t polling = std::min<size_t>(options.threads, 2);
  // Each worker polls its share of the connections with epoll: a slow or idle client holds a
  // connection, never a thread. MHD owns `fd` from here and closes it at stop.
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_SUSPEND_RESUME;
  // https: the certificate and key, TLS 1.2 and 1.3 only, and with a client CA a request for a
  // client certificate (optional; MHD asks whenever it has a trust list). MHD reads the PEM
  // text at start; it stays in `impl->tls` all the same.
  std::vector<MHD_OptionItem> tls_options;
  auto text = [](const std::string& pem) {
    return const_cast<char*>(pem.c_str());  // MHD takes `const char*` through a `void*`
  };
  if (impl->tls.enabled()) {
    flags |= MHD_USE_TLS;
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, text(impl->tls.cert_pem)});
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, text(impl->tls.key_pem)});
    tls_options.push_back(
        {MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(internal::kTlsPriorities)});
    if (!impl->tls.client_ca_pem.empty()) {
      tls_options.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, text(impl->tls.client_ca_pem)});
    }
  }
  tls_options.push_back({MHD_OPTION_END, 0, nullptr});
  // The pool holds the request line and headers besides the read buffer.
  const size_t memory = options.max_header_bytes + size_t{32} * 1024;
  impl->daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Impl::OnRequest, raw,  //
      MHD_OPTION_EXTERNAL_LOGGER, &Impl::Log, raw,        //
      MHD_OPTION_LISTEN_SOCKET, fd,                       //
      MHD_OPTION_ARRAY, tls_options.data(),               //
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(polling), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned>(options.max_connections), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      static_cast<unsigned>(options.max_connections_per_client), MHD_OPTION_CONNECTION_TIMEOUT,
      options.idle_timeout_s,                      //
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,  //
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::OnConnection, raw, MHD_OPTION_NOTIFY_COMPLETED,
      &Impl::OnCompleted, raw,                         //
      MHD_OPTION_URI_LOG_CALLBACK, &Impl::OnUri, raw,  //
      MHD_OPTION_UNESCAPE_CALLBACK, &Impl::KeepEscaped, raw, MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    ::close(fd);
    return Status::IOError("api: the HTTP server (libmicrohttpd) did not start on " + options.host +
                           ":" + std::to_string(port));
  }
  impl->sweeper = std::thread([raw] { raw->Sweep(); });
  spdlog::info("api: listening on {}{}:{}", impl->tls.enabled() ? "https://" : "", options.host,
               port);
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const {
  return impl_->port;
}

void ApiServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Input first: no more is taken, and what the engine has taken is answered while the pool
  // still runs the answers.
  if (impl_->options.inbox != nullptr) {
    impl_->options.inbox->Close("the API server stops");
    std::unique_lock<std::mutex> lock(impl_->inputs_mu);
    impl_->inputs_done.wait(lock, [this] { return impl_->inputs_waiting == 0; });
    // Resumed is not sent: MHD stopping now would close those connections unanswered. Bounded,
    // for a client that does not read its answer.
    if (!impl_->inputs_done.wait_for(lock, std::chrono::seconds(10),
                                     [this] { return impl_->inputs_open == 0; })) {
      spdlog::warn("api: stopping with {} answers to inputs not yet sent", impl_->inputs_open);
    }
  }
  // The pool first: what it runs resumes its connections, and a request that comes after is
  // served on the polling thread, so no connection is suspended when MHD stops.
  impl_->pool->Stop();
  MHD_stop_daemon(impl_->daemon);  // closes the connections and joins the polling threads
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->sweeper.join();
}

}  // namespace amtsweg::http
