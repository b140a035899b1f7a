#include "connectors/http/api_server.h"

#include <httplib.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <functional>
#include <set>
#include <thread>

#include "connectors/http/case_export.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"

namespace amtsweg::http {

namespace {

constexpr char kJson[] = "application/json";
constexpr size_t kDefaultLimit = 100;

// Roles allowed on a route, as a bit set.
using Roles = unsigned;
constexpr Roles Bit(Role r) {
  return 1u << static_cast<unsigned>(r);
}
constexpr Roles kAdmin = Bit(Role::kAdmin);
constexpr Roles kAuditor = Bit(Role::kAuditor);
constexpr Roles kReaders = Bit(Role::kAdmin) | Bit(Role::kAuditor) | Bit(Role::kParticipant);

std::string ErrorBody(int status, std::string_view message, std::vector<Member> extra = {}) {
  ObjectBuilder b;
  b.Add("error", std::string(message)).Add("status", status);
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

std::string SafeFileName(std::string_view id) {
  std::string out;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  return out.empty() ? "case" : out;
}

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
  const httplib::Request& req;
  const Principal& who;
  std::string case_id;  // of the access record; set by case handlers

  bool participant() const { return who.role == Role::kParticipant; }
  // The single value of a query parameter, if given.
  std::optional<std::string> Param(const std::string& name) const {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
  }
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
  ApiOptions options;
  store::Store& store;
  core::Catalog& catalog;
  const dsl::Directory& directory;
  const Principals& principals;
  const Clock& clock;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  int port = 0;
  bool stopped = false;

  Impl(const ApiOptions& o, store::Store& st, core::Catalog& c, const dsl::Directory& d,
       const Principals& p, const Clock& cl)
      : options(o), store(st), catalog(c), directory(d), principals(p), clock(cl) {}

  using Handler = std::function<std::optional<Failure>(Call&, httplib::Response&)>;

  // Registers a route: authentication, the role check, the query parameter check and, for
  // reads of case data, the access record, around `handler`.
  void Route(const char* method, const std::string& pattern, Roles roles,
             std::set<std::string> params, bool case_data, Handler handler) {
    auto wrapped = [this, roles, params = std::move(params), case_data,
                    handler = std::move(handler)](const httplib::Request& req,
                                                  httplib::Response& res) {
      Serve(req, res, roles, params, case_data, handler);
    };
    if (std::string_view(method) == "GET") {
      server.Get(pattern, wrapped);
    } else {
      server.Post(pattern, wrapped);
    }
  }

  static void Send(httplib::Response& res, const Failure& f) {
    res.status = f.status;
    res.set_content(ErrorBody(f.status, f.message, f.extra), kJson);
  }

  void Serve(const httplib::Request& req, httplib::Response& res, Roles roles,
             const std::set<std::string>& params, bool case_data, const Handler& handler) {
    const std::string auth = req.get_header_value("Authorization");
    const Principal* who = nullptr;
    constexpr std::string_view kBearer = "bearer ";
    if (auth.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), auth.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      who = principals.Authenticate(std::string_view(auth).substr(kBearer.size()));
    }
    if (who == nullptr) {
      res.set_header("WWW-Authenticate", "Bearer");
      Send(res, {401,
                 auth.empty() ? "authentication required: send Authorization: Bearer <token>"
                              : "invalid token",
                 {}});
      return;
    }
    if ((roles & Bit(who->role)) == 0) {
      Send(res, {403,
                 "role '" + std::string(RoleName(who->role)) + "' may not " + req.method + " " +
                     req.path,
                 {}});
      return;
    }
    // Everything echoed into JSON or used as a key must be text.
    if (!simdjson::validate_utf8(req.path)) {
      Send(res, {400, "the request path is not valid UTF-8 (after percent-decoding)", {}});
      return;
    }
    for (const auto& [name, value] : req.params) {
      if (!simdjson::validate_utf8(name) || !simdjson::validate_utf8(value)) {
        Send(res, {400, "a query parameter is not valid UTF-8 (after percent-decoding)", {}});
        return;
      }
    }
    if (!simdjson::validate_utf8(req.body)) {
      Send(res, {400, "the request body is not valid UTF-8", {}});
      return;
    }
    if (req.method == "GET") {
      for (const auto& [name, value] : req.params) {
        if (params.count(name) == 0) {
          std::string allowed;
          for (const std::string& p : params)
            allowed += (allowed.empty() ? "" : ", ") + p;
          Send(res, {400,
                     "unknown query parameter '" + name + "'" +
                         (allowed.empty() ? " (this endpoint takes none)"
                                          : " (this endpoint takes " + allowed + ")"),
                     {}});
          return;
        }
        if (req.get_param_value_count(name) > 1) {
          Send(res, {400, "query parameter '" + name + "' is given more than once", {}});
          return;
        }
      }
    }
    Call call{req, *who, {}};
    if (req.matches.size() > 1) call.case_id = req.matches[1];
    std::optional<Failure> failure = handler(call, res);
    if (failure.has_value()) Send(res, *failure);
    if (!case_data) return;
    store::AccessRecord record;
    record.at = clock.Now();
    record.principal = who->name;
    record.role = std::string(RoleName(who->role));
    record.organisation = who->organisation;
    record.method = req.method;
    record.path = req.target;
    record.status = res.status == -1 ? 200 : res.status;
    record.case_id = call.case_id;
    Result<uint64_t> appended = store.AppendAccess(record);
    if (!appended.ok()) {
      // No record, no data: the read must not leave without a trace.
      spdlog::error("api: access log: {}", appended.status().ToString());
      res.headers.clear();
      Send(res, {503, "the access log cannot be written; nothing is answered", {}});
    }
  }

  // The case `id` as `call`'s principal may see it: nullopt when it does not exist or the
  // principal's organisation takes no part in it (indistinguishable on purpose).
  Result<std::optional<runtime::CaseState>> VisibleCase(const Call& call) const {
    ASSIGN_OR_RETURN(std::optional<runtime::CaseState> s,
                     core::LoadCaseState(store, call.case_id, /*with_application=*/true));
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

  static void Json(httplib::Response& res, const Value& v, int status = 200) {
    res.status = status;
    res.set_content(v.ToJson(), kJson);
  }

  // --- cases -------------------------------------------------------------------------------

  std::optional<Failure> ListCases(Call& call, httplib::Response& res) const {
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
                     core::ReadHistory(store, call.case_id));
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

  std::optional<Failure> ShowCase(Call& call, httplib::Response& res) const {
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    auto views = Views(call, **s);
    if (!views.ok()) return FromStatus(views.status());
    Json(res, views->first);
    return std::nullopt;
  }

  std::optional<Failure> History(Call& call, httplib::Response& res) const {
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

  std::optional<Failure> StateAt(Call& call, httplib::Response& res) const {
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
        core::ReplayCase(store, call.case_id, upto, at.value_or(INT64_MAX));
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

  std::optional<Failure> Verify(Call& call, httplib::Response& res) const {
    Result<std::optional<runtime::CaseState>> s = VisibleCase(call);
    if (!s.ok()) return FromStatus(s.status());
    if (!s->has_value()) return NoCase(call);
    Result<core::Verification> v = core::VerifyCase(store, call.case_id);
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

  std::optional<Failure> Export(Call& call, httplib::Response& res) const {
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
    std::string name = SafeFileName(call.case_id) + "." + format;
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.status = 200;
    if (format == "json") {
      res.set_content(ExportJson(file), kJson);
    } else if (format == "csv") {
      res.set_content(ExportCsv(file), "text/csv; charset=utf-8");
    } else {
      res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      res.set_content(ExportHtml(file), "text/html; charset=utf-8");
    }
    return std::nullopt;
  }

  // --- workflows ---------------------------------------------------------------------------

  std::optional<Failure> ListWorkflows(Call&, httplib::Response& res) const {
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

  std::optional<Failure> ValidateWorkflow(Call& call, httplib::Response& res) const {
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

  std::optional<Failure> DeployWorkflow(Call& call, httplib::Response& res) const {
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

  std::optional<Failure> DeadLetters(Call& call, httplib::Response& res) const {
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

  std::optional<Failure> DeadLetter(Call& call, httplib::Response& res) const {
    const std::string text = call.case_id;
    call.case_id.clear();  // not a case
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

  std::optional<Failure> AccessLog(Call& call, httplib::Response& res) const {
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
    server.Get("/metrics", [&monitor](const httplib::Request&, httplib::Response& res) {
      Result<std::string> text = monitor.Metrics();
      if (!text.ok()) {
        spdlog::error("api: /metrics: {}", text.status().ToString());
        Send(res, {500, "metrics are not available: " + text.status().message(), {}});
        return;
      }
      res.set_content(std::move(text).value(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server.Get("/status", [this, &monitor](const httplib::Request&, httplib::Response& res) {
      Result<std::string> page = monitor.StatusPage(clock.Now());
      if (!page.ok()) {
        spdlog::error("api: /status: {}", page.status().ToString());
        Send(res, {500, "the status page is not available: " + page.status().message(), {}});
        return;
      }
      res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      res.set_content(std::move(page).value(), "text/html; charset=utf-8");
    });
    server.Get(
        "/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/status"); });
  }

  void Routes() {
    auto bind = [this](auto method) {
      return [this, method](Call& c, httplib::Response& r) { return (this->*method)(c, r); };
    };
    const std::string kCase = R"(/api/v1/cases/([^/]+))";
    Route("GET", "/api/v1/cases", kReaders,
          {"workflow", "state", "participant", "outcome", "opened_from", "opened_to",
           "deadline_before", "limit", "cursor"},
          true, bind(&Impl::ListCases));
    Route("GET", kCase, kReaders, {}, true, bind(&Impl::ShowCase));
    Route("GET", kCase + "/history", kReaders, {}, true, bind(&Impl::History));
    Route("GET", kCase + "/state", kReaders, {"at", "seq"}, true, bind(&Impl::StateAt));
    Route("GET", kCase + "/verify", kReaders, {}, true, bind(&Impl::Verify));
    Route("GET", kCase + "/export", kReaders, {"format"}, true, bind(&Impl::Export));
    Route("GET", "/api/v1/workflows", kReaders, {}, false, bind(&Impl::ListWorkflows));
    Route("POST", "/api/v1/workflows/validate", kAdmin, {}, false, bind(&Impl::ValidateWorkflow));
    Route("POST", "/api/v1/workflows", kAdmin, {}, false, bind(&Impl::DeployWorkflow));
    Route("GET", "/api/v1/dead-letters", kAdmin | kAuditor, {"limit", "cursor", "kind"}, true,
          bind(&Impl::DeadLetters));
    Route("GET", R"(/api/v1/dead-letters/([^/]+))", kAdmin | kAuditor, {}, true,
          bind(&Impl::DeadLetter));
    Route("GET", "/api/v1/access-log", kAuditor, {"limit", "cursor"}, false,
          bind(&Impl::AccessLog));
    if (options.monitor != nullptr) PublicRoutes(*options.monitor);

    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          std::string message;
          switch (res.status) {
            case 404:
              message = "no such endpoint: " + req.method + " " + req.path;
              break;
            case 413:
              message = "the request body is too large";
              break;
            case 414:
              message = "the request target is too long";
              break;
            case 400:
              message = "malformed request";
              break;
            default:
              message = "the request failed";
          }
          res.set_content(ErrorBody(res.status, message), kJson);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, const std::exception_ptr& ep) {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          spdlog::error("api: exception: {}", what);
          res.status = 500;
          res.set_content(ErrorBody(500, "internal error"), kJson);
        });
  }
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() {
  Stop();
}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options, store::Store& store,
                                                    core::Catalog& catalog,
                                                    const dsl::Directory& directory,
                                                    const Principals& principals,
                                                    const Clock& clock) {
  if (options.threads == 0 || options.max_body_bytes == 0 || options.max_list_limit == 0) {
    return Status::InvalidArgument("api: threads, max_body_bytes and max_list_limit must be > 0");
  }
  auto impl = std::make_unique<Impl>(options, store, catalog, directory, principals, clock);
  const size_t threads = options.threads;
  // httplib owns and deletes the task queue it gets from this factory.
  impl->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl->server.set_payload_max_length(options.max_body_bytes);
  // Headers and body are written separately: without TCP_NODELAY, Nagle's algorithm holds the
  // body until the client's delayed ACK (40 ms on Linux) on every keep-alive request.
  impl->server.set_tcp_nodelay(true);
  impl->Routes();
  int port = -1;
  if (options.port == 0) {
    port = impl->server.bind_to_any_port(options.host);
  } else if (impl->server.bind_to_port(options.host, options.port)) {
    port = options.port;
  }
  if (port <= 0) {
    return Status::IOError("api: cannot listen on " + options.host + ":" +
                           std::to_string(options.port));
  }
  impl->port = port;
  Impl* raw = impl.get();
  // The socket is listening already: connections made before the accept loop runs wait in
  // the backlog, so callers need not wait for the thread.
  impl->thread = std::thread([raw] {
    if (!raw->server.listen_after_bind()) spdlog::error("api: the listener stopped on an error");
    raw->listen_returned.store(true);
  });
  spdlog::info("api: listening on {}:{}", options.host, port);
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const {
  return impl_->port;
}

void ApiServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // httplib's stop() only acts on a running listener: let the thread get there first.
  while (!impl_->server.is_running() && !impl_->listen_returned.load())
    std::this_thread::yield();
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace amtsweg::http
