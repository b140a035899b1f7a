#include "engine/dsl/loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "engine/common/identifiers.h"
#include "engine/dsl/yaml_scalar.h"
#include "engine/dsl/yaml_util.h"

namespace amtsweg::dsl {

namespace {

using internal::Errors;
using internal::MapReader;
using internal::MarkOr;
using internal::PosOf;

constexpr std::string_view kDefaultStartEvent = "de.amtsweg.application.submitted";

bool IsLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Workflow names: [a-z0-9_-]+.
bool IsWorkflowName(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_' || c == '-'; });
}

// Names of roles, states, variables, deadlines and tasks: [a-z_][a-z0-9_]* (usable in paths).
bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(IsLower(s[0]) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_'; });
}

// Dotted field paths into the application data: name(.name)*, names [A-Za-z_][A-Za-z0-9_]*.
bool IsFieldPath(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view seg = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (seg.empty()) return false;
    auto alpha = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    };
    if (!alpha(seg[0])) return false;
    if (!std::all_of(seg.begin(), seg.end(), [&](char c) { return alpha(c) || IsDigit(c); })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// CloudEvents `type` values we accept: reverse-DNS-ish, [A-Za-z0-9._-]+.
bool IsEventType(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
  });
}

// A reference to a declared name, checked once everything is declared.
struct Ref {
  std::string name;
  SourcePos pos;
};

constexpr std::string_view kActionKeys[] = {"notify", "request", "set",
                                            "start",  "extend",  "cancel"};

class DefinitionLoader {
 public:
  DefinitionLoader(std::string_view yaml, const std::string& file, const Directory* directory,
                   std::vector<Diagnostic>* out)
      : src_(yaml), directory_(directory), errors_(file, out), error_base_(out->size()) {
    def_ = std::make_shared<Definition>();
    def_->file = file;
  }

  DefinitionPtr Run() {
    std::optional<YAML::Node> doc =
        internal::LoadDocument(src_, internal::kMaxWorkflowNodes, &errors_);
    if (!doc.has_value()) return nullptr;
    YAML::Node root = *doc;
    top_.line = 0;
    top_.column = 0;
    top_.pos = 0;
    if (!root.IsDefined() || root.IsNull()) {
      errors_.Add(top_, "empty workflow definition");
      return nullptr;
    }
    ParseTop(root);
    def_->Index();  // the checks below use the lookups
    CheckReferences();
    CheckGraph();
    CheckTasks();
    CheckAuthority();
    CheckDirectory();
    if (errors_.count() != error_base_) return nullptr;
    return def_;
  }

 private:
  // --- Positions ------------------------------------------------------------------------------

  // Position of byte `offset` inside a scalar: exact when the scalar's text appears verbatim in
  // the source (plain, or quoted without escapes, on one line); otherwise the scalar's position.
  SourcePos ScalarOffsetPos(const YAML::Node& scalar, size_t offset) const {
    SourcePos p = PosOf(scalar.Mark());
    const std::string& v = scalar.Scalar();
    if (v.find('\n') != std::string::npos) return p;
    size_t at = static_cast<size_t>(scalar.Mark().pos);
    if (at < src_.size() && src_.compare(at, v.size(), v) == 0) {
      p.column += static_cast<int>(offset);
    } else if (at < src_.size() && (src_[at] == '"' || src_[at] == '\'') &&
               src_.compare(at + 1, v.size(), v) == 0) {
      p.column += static_cast<int>(offset) + 1;
    }
    return p;
  }

  void Error(const YAML::Mark& m, std::string msg) { errors_.Add(m, std::move(msg)); }
  void Error(SourcePos p, std::string msg) { errors_.Add(p, std::move(msg)); }

  // --- Scalars --------------------------------------------------------------------------------

  bool Str(const MapReader& m, std::string_view key, std::string* out) {
    if (!m.Has(key)) return false;
    return internal::ReadString(m.Get(key), m.ValueMark(key), key, &errors_, out);
  }

  // A non-empty name matching IsIdentifier; reports otherwise.
  // `key_name`: the node is a mapping's key, text whatever it looks like (JSON, and so the
  // schema, has only string keys: a state may be called `null`).
  bool Name(const YAML::Node& node, const YAML::Mark& where, std::string_view what,
            std::string* out, bool key_name = false) {
    if (key_name && node.IsScalar()) {
      *out = node.Scalar();
    } else if (!internal::ReadString(node, where, what, &errors_, out)) {
      return false;
    }
    if (!IsIdentifier(*out)) {
      Error(MarkOr(node, where), std::string(what) + " '" + *out + "' must match [a-z_][a-z0-9_]*");
      return false;
    }
    return true;
  }

  ExprPtr Expr(const YAML::Node& node, const YAML::Mark& where, std::string_view key) {
    if (!node.IsScalar()) {
      Error(MarkOr(node, where), "'" + std::string(key) + "' must be an expression (a string)");
      return nullptr;
    }
    auto parsed = Expression::Parse(node.Scalar());
    if (!parsed.ok()) {
      // The message is "column N: what".
      const std::string& msg = parsed.status().message();
      size_t column = 1;
      std::string what = msg;
      if (msg.starts_with("column ")) {
        size_t colon = msg.find(": ");
        std::from_chars(msg.data() + 7, msg.data() + colon, column);
        what = msg.substr(colon + 2);
      }
      Error(ScalarOffsetPos(node, column - 1),
            "invalid expression in '" + std::string(key) + "': " + what);
      return nullptr;
    }
    ExprPtr expr = std::move(parsed).value();
    for (const std::string& path : expr->paths()) {
      if (!path.starts_with("vars.")) continue;
      std::string var = path.substr(5, path.find('.', 5) - 5);
      size_t at = node.Scalar().find(path);
      var_refs_.push_back({var, ScalarOffsetPos(node, at == std::string::npos ? 0 : at)});
    }
    return expr;
  }

  ExprPtr OptExpr(const MapReader& m, std::string_view key) {
    if (!m.Has(key)) return nullptr;
    return Expr(m.Get(key), m.ValueMark(key), key);
  }

  std::optional<Duration> Dur(const YAML::Node& node, const YAML::Mark& where,
                              std::string_view key) {
    std::string text;
    if (!internal::ReadString(node, where, key, &errors_, &text)) return std::nullopt;
    auto d = ParseDuration(text);
    if (!d.ok()) {
      Error(MarkOr(node, where), "'" + std::string(key) + "': " + d.status().message());
      return std::nullopt;
    }
    if (d->is_zero()) {
      Error(MarkOr(node, where), "'" + std::string(key) + "' must not be zero");
      return std::nullopt;
    }
    return *d;
  }

  void RoleRef(const YAML::Node& node, const YAML::Mark& where, std::string* out) {
    if (internal::ReadString(node, where, "role", &errors_, out)) {
      role_refs_.push_back({*out, PosOf(MarkOr(node, where))});
    }
  }

  // --- Sections -------------------------------------------------------------------------------

  void ParseTop(const YAML::Node& root) {
    MapReader m(root, "the workflow",
                {"name", "version", "title", "description", "leika", "authority", "roles",
                 "variables", "deadlines", "tasks", "start", "states", "on_withdrawal",
                 "on_certificate", "personal_data", "retention"},
                top_, &errors_);
    if (!m.ok()) return;
    Definition& d = *def_;

    if (!m.Has("name")) {
      Error(top_, "missing 'name'");
    } else if (Str(m, "name", &d.name)) {
      d.pos = PosOf(m.KeyMark("name"));
      if (!IsWorkflowName(d.name)) {
        Error(m.ValueMark("name"), "name '" + d.name + "' must match [a-z0-9_-]+");
      }
    }
    if (!m.Has("version")) {
      Error(top_, "missing 'version'");
    } else {
      long long v = 0;
      if (internal::ReadInt(m.Get("version"), m.ValueMark("version"), "version", &errors_, &v)) {
        if (v < 1 || v > 1000000) {
          Error(m.ValueMark("version"), "version must be an integer >= 1");
        } else {
          d.version = static_cast<int>(v);
        }
      }
    }
    Str(m, "title", &d.title);
    if (m.Has("description")) {
      std::string ignored;
      Str(m, "description", &ignored);
    }
    if (!m.Has("leika")) {
      Error(top_, "missing 'leika' (the 14-digit LeiKa service key, e.g. \"99050012104000\")");
    } else if (internal::ReadText(m.Get("leika"), m.ValueMark("leika"), "leika", &errors_,
                                  &d.leika)) {
      if (!ids::IsLeika(d.leika)) {
        Error(m.ValueMark("leika"),
              "leika '" + d.leika + "' must be 14 digits starting with 99 (^99\\d{12}$)");
      } else if (!internal::IsQuoted(m.Get("leika"))) {
        Error(m.ValueMark("leika"), "leika must be a quoted string (\"" + d.leika +
                                        "\"), or YAML tools read it as a number");
      }
    }

    if (m.Has("authority")) {
      RoleRef(m.Get("authority"), m.ValueMark("authority"), &d.authority);
      authority_pos_ = PosOf(m.ValueMark("authority"));
    }
    if (m.Has("roles")) ParseRoles(m);
    if (m.Has("variables")) ParseVariables(m);
    if (m.Has("deadlines")) ParseDeadlines(m);
    if (m.Has("tasks")) ParseTasks(m);
    if (!m.Has("start")) {
      Error(top_, "missing 'start'");
    } else {
      ParseStart(m);
    }
    if (!m.Has("states")) {
      Error(top_, "missing 'states'");
    } else {
      ParseStates(m);
    }
    if (m.Has("on_withdrawal")) {
      ParseActions(m.Get("on_withdrawal"), m.ValueMark("on_withdrawal"), &d.on_withdrawal);
    }
    if (m.Has("personal_data")) ParsePersonalData(m);
    if (m.Has("retention")) ParseRetention(m);
    if (m.Has("on_certificate")) {
      ParseActions(m.Get("on_certificate"), m.ValueMark("on_certificate"), &d.on_certificate);
      for (const Action& a : d.on_certificate) {
        if (a.kind != ActionKind::kNotify) {
          Error(a.pos,
                "on_certificate runs on the closed case: only 'notify' actions can run there");
        }
      }
    }
  }

  // `all` or a list of dotted paths.
  void PersonalPathsOf(const MapReader& m, std::string_view key, bool* all,
                       std::vector<std::string>* paths) {
    if (!m.Has(key)) return;
    const YAML::Node n = m.Get(key);
    if (n.IsScalar() && n.Scalar() == "all") return;
    if (!n.IsSequence()) {
      Error(m.ValueMark(key), "personal_data." + std::string(key) +
                                  " must be 'all' or a list of dotted paths (e.g. [inhaber, "
                                  "betrieb.anschrift])");
      return;
    }
    *all = false;
    for (const YAML::Node& item : n) {
      std::string path;
      if (!internal::ReadString(item, MarkOr(item, m.ValueMark(key)), key, &errors_, &path))
        continue;
      bool ok = !path.empty() && path.front() != '.' && path.back() != '.' &&
                path.find("..") == std::string::npos;
      for (char c : path) {
        ok = ok &&
             (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.');
      }
      if (!ok) {
        Error(MarkOr(item, m.ValueMark(key)),
              "personal_data." + std::string(key) + ": '" + path +
                  "' is not a dotted path of member names ([A-Za-z0-9_-] separated by '.')");
        continue;
      }
      paths->push_back(path);
    }
  }

  void ParsePersonalData(const MapReader& top) {
    MapReader m(top.Get("personal_data"), "personal_data", {"application", "responses"},
                top.ValueMark("personal_data"), &errors_);
    if (!m.ok()) return;
    PersonalData& p = def_->personal;
    PersonalPathsOf(m, "application", &p.all_application, &p.application);
    PersonalPathsOf(m, "responses", &p.all_responses, &p.responses);
  }

  void ParseRetention(const MapReader& top) {
    Retention r;
    r.pos = PosOf(top.KeyMark("retention"));
    const YAML::Node n = top.Get("retention");
    YAML::Mark period_mark = top.ValueMark("retention");
    if (n.IsMap()) {
      MapReader m(n, "retention", {"period", "after", "basis"}, top.ValueMark("retention"),
                  &errors_);
      if (!m.ok()) return;
      if (!m.Has("period")) {
        Error(m.mark(), "retention: missing 'period' (ISO 8601, e.g. P5Y)");
        return;
      }
      if (!Str(m, "period", &r.period_text)) return;
      period_mark = m.ValueMark("period");
      // Both are recorded on a closed case, which is what an erasure needs.
      if (m.Has("after") && Str(m, "after", &r.after) && r.after != "case.closed" &&
          r.after != "certificate.issued") {
        Error(m.ValueMark("after"),
              "retention.after '" + r.after + "' must be case.closed or certificate.issued");
        return;
      }
      if (m.Has("basis")) Str(m, "basis", &r.basis);
    } else if (!internal::ReadString(n, period_mark, "retention", &errors_, &r.period_text)) {
      return;
    }
    Result<Duration> period = ParseDuration(r.period_text);
    if (!period.ok()) {
      Error(period_mark, "retention period '" + r.period_text +
                             "' is not an ISO 8601 duration (e.g. P5Y, P6M, P30D)");
      return;
    }
    if (period->is_zero()) {
      Error(period_mark, "retention period '" + r.period_text + "' must not be zero");
      return;
    }
    r.period = *period;
    if (r.basis.empty()) {
      r.basis = "retention period " + r.period_text + " after " + r.after + " (workflow " +
                def_->name + " version " + std::to_string(def_->version) + ")";
    }
    def_->retention = std::move(r);
  }

  void ParseRoles(const MapReader& top) {
    MapReader roles(top.Get("roles"), "roles", {}, top.ValueMark("roles"), &errors_);
    for (const auto& e : roles.entries()) {
      Role role;
      role.pos = PosOf(e.key_node.Mark());
      if (!Name(e.key_node, e.key_node.Mark(), "role", &role.name, true)) continue;
      MapReader m(e.value, "role '" + role.name + "'", {"title", "when", "bind"}, e.key_node.Mark(),
                  &errors_);
      if (!m.ok()) continue;
      Str(m, "title", &role.title);
      role.when = OptExpr(m, "when");
      if (!m.Has("bind")) {
        Error(e.key_node.Mark(), "role '" + role.name + "' is missing 'bind'");
      } else {
        YAML::Node bind = m.Get("bind");
        if (bind.IsScalar()) {
          if (bind.Scalar() != "applicant") {
            Error(m.ValueMark("bind"),
                  "'bind' is a binding {organisation: ID} or {function: F, "
                  "area: EXPR}, a list of them, or 'applicant'");
          } else {
            role.applicant = true;
            if (role.when != nullptr) {
              Error(m.KeyMark("when"), "role '" + role.name +
                                           "' is the applicant, the main party of every "
                                           "procedure (§13 VwVfG): it cannot have 'when'");
            }
            if (!applicant_role_.empty()) {
              Error(m.ValueMark("bind"),
                    "role '" + applicant_role_ + "' is already bound to the applicant");
            }
            applicant_role_ = role.name;
          }
        } else if (bind.IsSequence()) {
          if (bind.size() == 0) Error(bind.Mark(), "'bind' must list at least one candidate");
          for (const YAML::Node& c : bind)
            ParseCandidate(c, bind.Mark(), &role);
        } else {
          ParseCandidate(bind, m.ValueMark("bind"), &role);
        }
      }
      def_->roles.push_back(std::move(role));
    }
  }

  void ParseCandidate(const YAML::Node& node, const YAML::Mark& where, Role* role) {
    MapReader m(node, "binding of role '" + role->name + "'",
                {"when", "organisation", "function", "area"}, where, &errors_);
    if (!m.ok()) return;
    RoleCandidate c;
    c.pos = PosOf(m.mark());
    c.when = OptExpr(m, "when");
    bool fixed = m.Has("organisation");
    bool by_function = m.Has("function");
    if (fixed == by_function) {
      Error(m.mark(), "a binding needs either 'organisation' or 'function' (with 'area')");
    }
    if (fixed && Str(m, "organisation", &c.organisation)) {
      org_refs_.push_back({c.organisation, PosOf(m.ValueMark("organisation"))});
      if (m.Has("area")) Error(m.KeyMark("area"), "'area' is only used with 'function'");
    }
    if (by_function && Str(m, "function", &c.function)) {
      function_refs_.push_back({c.function, PosOf(m.ValueMark("function"))});
      if (!m.Has("area")) {
        Error(m.mark(), "binding by function '" + c.function +
                            "' needs 'area' (an expression that yields the AGS)");
      }
    }
    c.area = OptExpr(m, "area");
    role->candidates.push_back(std::move(c));
  }

  static Value ToValue(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return Value();
    if (n.IsSequence()) {
      std::vector<Value> items;
      for (const YAML::Node& i : n)
        items.push_back(ToValue(i));
      return Value::Array(std::move(items));
    }
    if (n.IsMap()) {
      ObjectBuilder b;
      for (auto it = n.begin(); it != n.end(); ++it)
        b.Add(it->first.Scalar(), ToValue(it->second));
      return b.Build();
    }
    const std::string& s = n.Scalar();
    // Typed as the schema sees it (the YAML 1.2 core schema).
    switch (ScalarTypeOf(n)) {
      case ScalarType::kString:
        return Value(s);
      case ScalarType::kNull:
        return Value();
      case ScalarType::kBool:
        return Value(s[0] == 't' || s[0] == 'T');
      case ScalarType::kInt:
      case ScalarType::kFloat:
        break;
    }
    int64_t i = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), i);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return Value(i);
    double x = 0;
    auto rd = std::from_chars(s.data(), s.data() + s.size(), x);
    if (rd.ec == std::errc() && rd.ptr == s.data() + s.size() && !s.empty()) return Value(x);
    return Value(s);
  }

  void ParseVariables(const MapReader& top) {
    MapReader vars(top.Get("variables"), "variables", {}, top.ValueMark("variables"), &errors_);
    for (const auto& e : vars.entries()) {
      Variable v;
      v.pos = PosOf(e.key_node.Mark());
      if (!Name(e.key_node, e.key_node.Mark(), "variable", &v.name, true)) continue;
      MapReader m(e.value, "variable '" + v.name + "'", {"type", "default", "title"},
                  e.key_node.Mark(), &errors_);
      if (!m.ok()) continue;
      v.type = "any";
      if (Str(m, "type", &v.type) && v.type != "bool" && v.type != "string" && v.type != "number" &&
          v.type != "any") {
        Error(m.ValueMark("type"),
              "unknown variable type '" + v.type + "'; expected bool, string, number or any");
      }
      std::string ignored;
      Str(m, "title", &ignored);
      if (m.Has("default")) {
        v.initial = ToValue(m.Get("default"));
        bool fits = v.initial.is_null() || v.type == "any" ||
                    (v.type == "bool" && v.initial.is_bool()) ||
                    (v.type == "number" && v.initial.is_number()) ||
                    (v.type == "string" && v.initial.is_string());
        if (!fits) {
          Error(m.ValueMark("default"),
                "default of variable '" + v.name + "' is not of type " + v.type);
        }
      }
      def_->variables.push_back(std::move(v));
    }
  }

  void ParseDeadlines(const MapReader& top) {
    MapReader deadlines(top.Get("deadlines"), "deadlines", {}, top.ValueMark("deadlines"),
                        &errors_);
    for (const auto& e : deadlines.entries()) {
      Deadline d;
      d.pos = PosOf(e.key_node.Mark());
      if (!Name(e.key_node, e.key_node.Mark(), "deadline", &d.name, true)) continue;
      MapReader m(e.value, "deadline '" + d.name + "'",
                  {"title", "duration", "calendar", "authority", "extensions", "max_extension",
                   "extendable_by", "on_expiry", "on_extension"},
                  e.key_node.Mark(), &errors_);
      if (!m.ok()) continue;
      Str(m, "title", &d.title);
      if (!m.Has("duration")) {
        Error(e.key_node.Mark(), "deadline '" + d.name + "' is missing 'duration'");
      } else if (auto dur = Dur(m.Get("duration"), m.ValueMark("duration"), "duration")) {
        d.duration = *dur;
      }
      std::string calendar;
      if (Str(m, "calendar", &calendar)) {
        if (calendar == "legal" || calendar == "exact") {
          d.legal_calendar = calendar == "legal";
        } else {
          Error(m.ValueMark("calendar"),
                "unknown calendar '" + calendar + "'; expected legal or exact");
        }
      }
      d.max_extensions = 0;  // no extension unless the definition allows one
      if (m.Has("extensions")) {
        long long n = 0;
        if (internal::ReadInt(m.Get("extensions"), m.ValueMark("extensions"), "extensions",
                              &errors_, &n)) {
          if (n < 0 || n > 100) {
            Error(m.ValueMark("extensions"), "'extensions' must be between 0 and 100");
          } else {
            d.max_extensions = static_cast<int>(n);
          }
        }
      }
      if (m.Has("max_extension")) {
        d.max_extension =
            Dur(m.Get("max_extension"), m.ValueMark("max_extension"), "max_extension");
      }
      if (m.Has("extendable_by")) {
        RoleRef(m.Get("extendable_by"), m.ValueMark("extendable_by"), &d.extendable_by);
      }
      if (m.Has("authority")) {
        RoleRef(m.Get("authority"), m.ValueMark("authority"), &d.authority);
        if (!d.legal_calendar) {
          Error(m.KeyMark("authority"),
                "'authority' chooses the public holidays of a legal period; deadline '" + d.name +
                    "' is exact");
        }
      }
      if (m.Has("on_extension")) {
        ParseActions(m.Get("on_extension"), m.ValueMark("on_extension"), &d.on_extension);
        if (d.max_extensions == 0) {
          Error(m.KeyMark("on_extension"),
                "deadline '" + d.name + "' cannot be extended ('extensions' is 0)");
        }
      }
      if (m.Has("on_expiry")) {
        MapReader x(m.Get("on_expiry"), "on_expiry of deadline '" + d.name + "'",
                    {"actions", "to", "effect"}, m.ValueMark("on_expiry"), &errors_);
        if (x.ok()) {
          if (x.Has("actions"))
            ParseActions(x.Get("actions"), x.ValueMark("actions"), &d.on_expiry);
          if (Str(x, "to", &d.target)) state_refs_.push_back({d.target, PosOf(x.ValueMark("to"))});
          Str(x, "effect", &d.legal_effect);
        }
      }
      def_->deadlines.push_back(std::move(d));
    }
  }

  // Response members a task or an answer requires: names usable as `data.<name>`.
  void Members(const MapReader& m, std::string_view key, std::vector<std::string>* out) {
    if (!m.Has(key)) return;
    std::vector<YAML::Mark> marks;
    if (!internal::ReadStringList(m.Get(key), m.ValueMark(key), key, &errors_, out, &marks)) return;
    for (size_t i = 0; i < out->size(); ++i) {
      if (!IsFieldPath((*out)[i]) || (*out)[i].find('.') != std::string::npos) {
        Error(marks[i], "'" + (*out)[i] + "' must be the name of a response member (e.g. reason)");
      }
    }
  }

  void ParseTasks(const MapReader& top) {
    MapReader tasks(top.Get("tasks"), "tasks", {}, top.ValueMark("tasks"), &errors_);
    for (const auto& e : tasks.entries()) {
      Task t;
      t.pos = PosOf(e.key_node.Mark());
      if (!Name(e.key_node, e.key_node.Mark(), "task", &t.name, true)) continue;
      if (!e.value.IsDefined() || e.value.IsNull()) {  // `task:` with nothing to declare
        def_->tasks.push_back(std::move(t));
        continue;
      }
      MapReader m(e.value, "task '" + t.name + "'", {"title", "answer", "answers", "requires"},
                  e.key_node.Mark(), &errors_);
      if (!m.ok()) {
        def_->tasks.push_back(std::move(t));
        continue;
      }
      Str(m, "title", &t.title);
      Members(m, "requires", &t.required);
      if (Str(m, "answer", &t.answer) &&
          (!IsFieldPath(t.answer) || t.answer.find('.') != std::string::npos)) {
        Error(m.ValueMark("answer"),
              "'answer' must be the name of the response member that carries the answer "
              "(e.g. decision)");
      }
      if (m.Has("answer") != m.Has("answers")) {
        Error(m.mark(), "task '" + t.name +
                            "': 'answer' (the response member) and 'answers' (the values it "
                            "accepts) go together");
      }
      if (m.Has("answers")) {
        MapReader answers(m.Get("answers"), "answers of task '" + t.name + "'", {},
                          m.ValueMark("answers"), &errors_);
        if (answers.ok() && answers.entries().empty()) {
          Error(answers.mark(), "'answers' must list at least one answer");
        }
        for (const auto& a : answers.entries()) {
          Answer answer;
          answer.pos = PosOf(a.key_node.Mark());
          answer.value = ToValue(a.key_node);
          if (!a.value.IsDefined() || a.value.IsNull()) {
            t.answers.push_back(std::move(answer));
            continue;
          }
          MapReader body(a.value, "answer '" + a.key + "' of task '" + t.name + "'", {"requires"},
                         a.key_node.Mark(), &errors_);
          if (body.ok()) Members(body, "requires", &answer.required);
          t.answers.push_back(std::move(answer));
        }
      }
      def_->tasks.push_back(std::move(t));
    }
  }

  void ParseStart(const MapReader& top) {
    MapReader m(top.Get("start"), "start", {"on", "to", "actions"}, top.ValueMark("start"),
                &errors_);
    if (!m.ok()) return;
    Start& s = def_->start;
    s.pos = PosOf(m.mark());
    s.event_type = std::string(kDefaultStartEvent);
    if (Str(m, "on", &s.event_type) && !IsEventType(s.event_type)) {
      Error(m.ValueMark("on"), "invalid event type '" + s.event_type + "'");
    }
    if (!m.Has("to")) {
      Error(m.mark(), "start is missing 'to' (the first state)");
    } else if (Str(m, "to", &s.state)) {
      state_refs_.push_back({s.state, PosOf(m.ValueMark("to"))});
    }
    if (m.Has("actions")) ParseActions(m.Get("actions"), m.ValueMark("actions"), &s.actions);
  }

  void ParseStates(const MapReader& top) {
    MapReader states(top.Get("states"), "states", {}, top.ValueMark("states"), &errors_);
    if (states.ok() && states.entries().empty()) Error(states.mark(), "'states' is empty");
    for (const auto& e : states.entries()) {
      State st;
      st.pos = PosOf(e.key_node.Mark());
      if (!Name(e.key_node, e.key_node.Mark(), "state", &st.name, true)) continue;
      MapReader m(e.value, "state '" + st.name + "'",
                  {"title", "terminal", "on_enter", "transitions"}, e.key_node.Mark(), &errors_);
      if (!m.ok()) {
        def_->states.push_back(std::move(st));
        continue;
      }
      Str(m, "title", &st.title);
      std::string outcome;
      if (Str(m, "terminal", &outcome)) {
        st.terminal = ParseOutcome(outcome);
        if (!st.terminal) {
          Error(m.ValueMark("terminal"),
                "unknown outcome '" + outcome +
                    "'; expected approved, rejected, deemed_approved, withdrawn or notified");
          // Still terminal for the graph checks, to avoid follow-up errors.
          st.terminal = Outcome::kRejected;
        }
      }
      if (m.Has("on_enter")) ParseActions(m.Get("on_enter"), m.ValueMark("on_enter"), &st.on_enter);
      if (m.Has("transitions")) {
        if (st.terminal) {
          Error(m.KeyMark("transitions"),
                "terminal state '" + st.name + "' must not have transitions");
        }
        YAML::Node list = m.Get("transitions");
        if (!list.IsSequence()) {
          Error(m.ValueMark("transitions"), "'transitions' must be a list");
        } else {
          for (const YAML::Node& t : list)
            ParseTransition(t, list.Mark(), &st);
        }
      }
      def_->states.push_back(std::move(st));
    }
  }

  void ParseTransition(const YAML::Node& node, const YAML::Mark& where, State* st) {
    MapReader m(node, "transition of state '" + st->name + "'",
                {"on", "from", "when", "actions", "to"}, where, &errors_);
    if (!m.ok()) return;
    Transition t;
    t.pos = PosOf(m.mark());
    if (!m.Has("on")) {
      t.trigger = TriggerKind::kAuto;
      if (!m.Has("when") || !m.Has("to")) {
        Error(m.mark(), "a transition without 'on' is automatic and needs 'when' and 'to'");
      }
      if (m.Has("from")) Error(m.KeyMark("from"), "'from' needs 'on'");
    } else {
      YAML::Node on = m.Get("on");
      if (on.IsMap()) {
        MapReader o(on, "'on'", {"response", "joined", "from"}, m.ValueMark("on"), &errors_);
        bool response = o.Has("response");
        bool joined = o.Has("joined");
        if (response == joined) {
          Error(o.mark(),
                "'on' needs either 'response: TASK' or 'joined: TASK' "
                "(or an event type string)");
        }
        if (response || joined) {
          std::string_view key = response ? "response" : "joined";
          t.trigger = response ? TriggerKind::kResponse : TriggerKind::kJoined;
          if (Name(o.Get(key), o.ValueMark(key), "task", &t.task)) {
            task_refs_.push_back({t.task, PosOf(o.ValueMark(key))});
          }
        }
        if (o.Has("from")) {
          if (joined) Error(o.KeyMark("from"), "'from' cannot be used with 'joined'");
          if (m.Has("from")) Error(m.KeyMark("from"), "'from' is given twice");
          RoleRef(o.Get("from"), o.ValueMark("from"), &t.from);
        }
      } else if (internal::ReadString(on, m.ValueMark("on"), "on", &errors_, &t.event_type)) {
        t.trigger = TriggerKind::kEvent;
        if (!IsEventType(t.event_type)) {
          Error(m.ValueMark("on"), "invalid event type '" + t.event_type + "'");
        }
      }
      if (m.Has("from")) {
        if (t.trigger == TriggerKind::kJoined) {
          Error(m.KeyMark("from"), "'from' cannot be used with 'joined'");
        }
        RoleRef(m.Get("from"), m.ValueMark("from"), &t.from);
      }
    }
    t.when = OptExpr(m, "when");
    if (m.Has("actions")) ParseActions(m.Get("actions"), m.ValueMark("actions"), &t.actions);
    if (Str(m, "to", &t.target)) {
      state_refs_.push_back({t.target, PosOf(m.ValueMark("to"))});
      // Re-entering its own state would take the same automatic transition again and again.
      if (t.trigger == TriggerKind::kAuto && t.target == st->name) {
        Error(m.ValueMark("to"),
              "an automatic transition cannot lead back to its own state '" + st->name + "'");
      }
    }
    st->transitions.push_back(std::move(t));
  }

  // --- Actions --------------------------------------------------------------------------------

  void ParseActions(const YAML::Node& list, const YAML::Mark& where, std::vector<Action>* out) {
    if (!list.IsSequence()) {
      Error(MarkOr(list, where), "actions must be a list");
      return;
    }
    for (const YAML::Node& item : list) {
      MapReader m(item, "action", {"notify", "request", "set", "start", "extend", "cancel", "when"},
                  MarkOr(item, list.Mark()), &errors_);
      if (!m.ok()) continue;
      std::vector<std::string_view> kinds;
      for (std::string_view k : kActionKeys) {
        if (m.Has(k)) kinds.push_back(k);
      }
      if (kinds.empty()) {
        Error(m.mark(), "action needs one of notify, request, set, start, extend, cancel");
        continue;
      }
      if (kinds.size() > 1) {
        Error(m.KeyMark(kinds[1]),
              "an action item has exactly one of notify, request, set, "
              "start, extend, cancel; write one list item per action");
        continue;
      }
      Action a;
      a.pos = PosOf(m.KeyMark(kinds[0]));
      a.when = OptExpr(m, "when");
      std::string_view kind = kinds[0];
      YAML::Node body = m.Get(kind);
      YAML::Mark body_mark = m.ValueMark(kind);
      if (kind == "notify" || kind == "request") {
        ParseDisclosure(kind, body, body_mark, &a);
      } else if (kind == "set") {
        a.kind = ActionKind::kSet;
        MapReader s(body, "set", {"variable", "value"}, body_mark, &errors_);
        if (!s.ok()) continue;
        if (!s.Has("variable") || !s.Has("value")) {
          Error(s.mark(), "set needs 'variable' and 'value'");
        }
        if (Str(s, "variable", &a.variable)) {
          var_refs_.push_back({a.variable, PosOf(s.ValueMark("variable"))});
        }
        a.value = OptExpr(s, "value");
      } else if (kind == "start" || kind == "cancel") {
        a.kind = kind == "start" ? ActionKind::kStartDeadline : ActionKind::kCancelDeadline;
        if (internal::ReadString(body, body_mark, kind, &errors_, &a.deadline)) {
          deadline_refs_.push_back({a.deadline, PosOf(body_mark)});
        }
      } else {  // extend
        a.kind = ActionKind::kExtendDeadline;
        MapReader x(body, "extend", {"deadline", "reason", "by"}, body_mark, &errors_);
        if (!x.ok()) continue;
        if (!x.Has("deadline")) {
          Error(x.mark(), "extend needs 'deadline'");
        } else if (Str(x, "deadline", &a.deadline)) {
          deadline_refs_.push_back({a.deadline, PosOf(x.ValueMark("deadline"))});
        }
        if (!Str(x, "reason", &a.reason) || a.reason.empty()) {
          Error(x.mark(), "extend needs a 'reason' (an extension must be reasoned)");
        }
        if (x.Has("by")) a.extension = Dur(x.Get("by"), x.ValueMark("by"), "by");
      }
      out->push_back(std::move(a));
    }
  }

  void ParseDisclosure(std::string_view kind, const YAML::Node& body, const YAML::Mark& body_mark,
                       Action* a) {
    bool request = kind == "request";
    a->kind = request ? ActionKind::kRequest : ActionKind::kNotify;
    std::string k(kind);
    MapReader m(
        body, k,
        request ? std::initializer_list<std::string_view>{"task", "roles", "role", "join", "fields",
                                                          "content", "basis", "message"}
                : std::initializer_list<std::string_view>{"roles", "role", "fields", "content",
                                                          "basis", "message"},
        body_mark, &errors_);
    if (!m.ok()) return;
    // Recipients.
    if (m.Has("role") && m.Has("roles")) {
      Error(m.KeyMark("role"), k + " takes 'role' or 'roles', not both");
    } else if (m.Has("role")) {
      a->roles.emplace_back();
      RoleRef(m.Get("role"), m.ValueMark("role"), &a->roles.back());
    } else if (m.Has("roles")) {
      std::vector<YAML::Mark> marks;
      if (internal::ReadStringList(m.Get("roles"), m.ValueMark("roles"), "roles", &errors_,
                                   &a->roles, &marks)) {
        if (a->roles.empty()) Error(m.ValueMark("roles"), "'roles' must not be empty");
        for (size_t i = 0; i < a->roles.size(); ++i) {
          role_refs_.push_back({a->roles[i], PosOf(marks[i])});
          for (size_t j = 0; j < i; ++j) {
            if (a->roles[j] == a->roles[i]) {
              Error(marks[i], "role '" + a->roles[i] + "' is listed twice");
            }
          }
        }
      }
    } else {
      Error(m.mark(), k + " needs 'roles' (or 'role')");
    }
    // What else a notification tells: named values of the procedure (decision, reasons, dates).
    if (m.Has("content")) {
      MapReader c(m.Get("content"), "content", {}, m.ValueMark("content"), &errors_);
      if (c.ok() && c.entries().empty()) Error(c.mark(), "'content' must not be empty");
      for (const auto& e : c.entries()) {
        if (!IsFieldPath(e.key) || e.key.find('.') != std::string::npos) {
          Error(e.key_node.Mark(),
                "content name '" + e.key + "' must match [A-Za-z_][A-Za-z0-9_]*");
          continue;
        }
        ExprPtr value = Expr(e.value, e.key_node.Mark(), e.key);
        if (value != nullptr) a->content.emplace_back(e.key, std::move(value));
      }
    }
    // Data minimisation: every disclosure names its fields and its legal basis.
    if (!m.Has("fields")) {
      if (request || !m.Has("content")) {
        Error(m.mark(), k + " needs 'fields': the application fields the recipients may see" +
                            (request ? "" : " (or 'content': the facts they are told)"));
      }
    } else {
      std::vector<YAML::Mark> marks;
      if (internal::ReadStringList(m.Get("fields"), m.ValueMark("fields"), "fields", &errors_,
                                   &a->fields, &marks)) {
        if (a->fields.empty()) {
          Error(m.ValueMark("fields"),
                "'fields' must not be empty (data minimisation: list what the recipients may see)");
        }
        for (size_t i = 0; i < a->fields.size(); ++i) {
          if (!IsFieldPath(a->fields[i])) {
            Error(marks[i], "field '" + a->fields[i] + "' must be a dotted path like betrieb.name");
          }
        }
      }
    }
    if (!m.Has("basis")) {
      Error(m.mark(), k + " needs a legal 'basis' for the disclosure (e.g. \"§14 Abs. 8 GewO\")");
    } else if (Str(m, "basis", &a->legal_basis) && a->legal_basis.empty()) {
      Error(m.ValueMark("basis"), "'basis' must not be empty");
    }
    Str(m, "message", &a->message);
    if (!request) return;
    if (!m.Has("task")) {
      Error(m.mark(), "request needs 'task'");
    } else if (Name(m.Get("task"), m.ValueMark("task"), "task", &a->task)) {
      declared_tasks_.insert(a->task);
      request_refs_.push_back({a->task, PosOf(m.ValueMark("task"))});
    }
    a->join = JoinKind::kAll;
    if (m.Has("join")) {
      // all, any, or a count: an integer (as the schema says; "2" quoted is a string).
      const YAML::Node join = m.Get("join");
      long long n = 0;
      if (join.IsScalar() && ScalarTypeOf(join) == ScalarType::kString) {
        if (join.Scalar() == "all") {
          a->join = JoinKind::kAll;
        } else if (join.Scalar() == "any") {
          a->join = JoinKind::kAny;
        } else {
          Error(m.ValueMark("join"), "join must be all, any or a number >= 1");
        }
      } else if (internal::ReadInt(join, m.ValueMark("join"), "join", &errors_, &n)) {
        if (n < 1) {
          Error(m.ValueMark("join"), "join must be all, any or a number >= 1");
        } else if (static_cast<size_t>(n) > a->roles.size()) {
          Error(m.ValueMark("join"), "join " + std::to_string(n) +
                                         " needs more responses than the " +
                                         std::to_string(a->roles.size()) + " roles asked");
        } else {
          a->join = JoinKind::kCount;
          a->join_count = static_cast<int>(n);
        }
      }
    }
  }

  // --- Checks ---------------------------------------------------------------------------------

  template <typename T>
  static std::string Names(const std::vector<T>& v) {
    std::string out;
    for (const T& x : v) {
      if (!out.empty()) out += ", ";
      out += x.name;
    }
    return out.empty() ? "none" : out;
  }

  void CheckReferences() {
    const Definition& d = *def_;
    for (const Ref& r : role_refs_) {
      if (!d.FindRole(r.name)) {
        Error(r.pos, "undefined role '" + r.name + "' (roles: " + Names(d.roles) + ")");
      }
    }
    for (const Ref& r : var_refs_) {
      if (!d.FindVariable(r.name)) {
        Error(r.pos, "undefined variable '" + r.name + "'; declare it under 'variables:'");
      }
    }
    for (const Ref& r : deadline_refs_) {
      if (!d.FindDeadline(r.name)) {
        Error(r.pos, "undefined deadline '" + r.name + "' (deadlines: " + Names(d.deadlines) + ")");
      }
    }
    for (const Ref& r : state_refs_) {
      if (!d.FindState(r.name)) {
        Error(r.pos, "unknown state '" + r.name + "' (states: " + Names(d.states) + ")");
      }
    }
    for (const Ref& r : task_refs_) {
      if (declared_tasks_.count(r.name) == 0) {
        Error(r.pos, "task '" + r.name + "' is not requested by any 'request' action");
      }
    }
  }

  void CheckGraph() {
    const Definition& d = *def_;
    // Reachability from the start state, following transition targets; deadline expiry targets
    // count as reachable (a deadline may be running in any state).
    std::set<std::string> reached;
    std::deque<std::string> queue;
    auto visit = [&](const std::string& name) {
      if (!name.empty() && d.FindState(name) && reached.insert(name).second) {
        queue.push_back(name);
      }
    };
    visit(d.start.state);
    bool any_expiry_target = false;
    for (const Deadline& dl : d.deadlines) {
      visit(dl.target);
      any_expiry_target = any_expiry_target || !dl.target.empty();
    }
    while (!queue.empty()) {
      const State* s = d.FindState(queue.front());
      queue.pop_front();
      for (const Transition& t : s->transitions)
        visit(t.target);
    }
    bool start_ok = !d.start.state.empty() && d.FindState(d.start.state) != nullptr;
    for (const State& s : d.states) {
      if (start_ok && reached.count(s.name) == 0) {
        Error(s.pos,
              "state '" + s.name + "' is unreachable from start state '" + d.start.state + "'");
      }
      if (s.terminal) continue;
      bool way_out = any_expiry_target;
      for (const Transition& t : s.transitions)
        way_out = way_out || !t.target.empty();
      if (!way_out) {
        Error(s.pos, "state '" + s.name + "' is not terminal and has no way out");
        stuck_state_ = true;
      }
    }
    if (!d.states.empty() &&
        std::none_of(d.states.begin(), d.states.end(), [](const State& s) { return s.terminal; })) {
      Error(d.states.front().pos, "the workflow has no terminal state");
      return;
    }
    // States that lead only into a state without a way out are not reported again.
    if (!stuck_state_) CheckTermination(reached);
    CheckAutomaticCycles();
    CheckTerminalActions();
  }

  // Every reachable non-terminal state can still reach a terminal one (following transitions,
  // and deadline expiries, which may run in any state): a case there could otherwise never
  // close.
  void CheckTermination(const std::set<std::string>& reached) {
    const Definition& d = *def_;
    std::map<std::string, std::vector<std::string>> into;  // target -> sources
    for (const State& s : d.states) {
      if (s.terminal) continue;
      for (const Transition& t : s.transitions) {
        if (!t.target.empty()) into[t.target].push_back(s.name);
      }
      for (const Deadline& dl : d.deadlines) {
        if (!dl.target.empty()) into[dl.target].push_back(s.name);
      }
    }
    std::set<std::string> finishes;
    std::deque<std::string> queue;
    for (const State& s : d.states) {
      if (s.terminal && finishes.insert(s.name).second) queue.push_back(s.name);
    }
    while (!queue.empty()) {
      std::string name = queue.front();
      queue.pop_front();
      for (const std::string& from : into[name]) {
        if (finishes.insert(from).second) queue.push_back(from);
      }
    }
    for (const State& s : d.states) {
      if (s.terminal || reached.count(s.name) == 0 || finishes.count(s.name) != 0) continue;
      bool way_out = std::any_of(s.transitions.begin(), s.transitions.end(),
                                 [](const Transition& t) { return !t.target.empty(); });
      if (!way_out) continue;  // reported as "no way out"
      Error(s.pos, "state '" + s.name +
                       "' cannot reach a terminal state: a case that enters it can never close");
    }
  }

  // Automatic transitions must not form a cycle (over one state or several): the case would
  // move round it as long as the conditions hold.
  void CheckAutomaticCycles() {
    const Definition& d = *def_;
    std::map<std::string, int> color;  // 0 new, 1 on the path, 2 done
    std::vector<std::string> path;
    std::function<void(const State&)> visit = [&](const State& s) {
      color[s.name] = 1;
      path.push_back(s.name);
      for (const Transition& t : s.transitions) {
        if (t.trigger != TriggerKind::kAuto || t.target.empty() || t.target == s.name) continue;
        const State* next = d.FindState(t.target);
        if (next == nullptr) continue;
        if (color[next->name] == 1) {
          std::string cycle;
          for (auto it = std::find(path.begin(), path.end(), next->name); it != path.end(); ++it)
            cycle += *it + " -> ";
          Error(t.pos, "automatic transitions form a cycle: " + cycle + next->name +
                           " (the case would move round it as long as the conditions hold)");
        } else if (color[next->name] == 0) {
          visit(*next);
        }
      }
      path.pop_back();
      color[s.name] = 2;
    };
    for (const State& s : d.states) {
      if (color[s.name] == 0) visit(s);
    }
  }

  // A terminal state's on_enter runs while the case closes: nothing there may wait for later.
  void CheckTerminalActions() {
    for (const State& s : def_->states) {
      if (!s.terminal) continue;
      for (const Action& a : s.on_enter) {
        std::string_view kind = a.kind == ActionKind::kRequest          ? "request"
                                : a.kind == ActionKind::kStartDeadline  ? "start"
                                : a.kind == ActionKind::kExtendDeadline ? "extend"
                                                                        : "";
        if (kind.empty()) continue;
        Error(a.pos, "'" + std::string(kind) + "' cannot run in on_enter of terminal state '" +
                         s.name +
                         "': the case closes when it enters it (allowed: notify, set, cancel)");
      }
    }
  }

  // Tasks: each requested task is declared with the answers it accepts, and each declared
  // answer is handled by some transition.
  void CheckTasks() {
    const Definition& d = *def_;
    std::set<std::string> reported;
    for (const Ref& r : request_refs_) {
      if (d.FindTask(r.name) == nullptr && reported.insert(r.name).second) {
        Error(r.pos, "task '" + r.name +
                         "' is not declared under 'tasks:' (declare the answers it accepts)");
      }
    }
    for (const Task& t : d.tasks) {
      if (declared_tasks_.count(t.name) == 0) {
        Error(t.pos, "task '" + t.name + "' is declared but no 'request' action asks for it");
        continue;
      }
      if (t.answer.empty()) continue;
      bool joined = false;
      for (const State& s : d.states) {
        for (const Transition& tr : s.transitions)
          joined |= tr.trigger == TriggerKind::kJoined && tr.task == t.name;
      }
      const std::string known = "data." + t.answer;
      for (size_t i = 0; i < t.answers.size(); ++i) {
        const Answer& a = t.answers[i];
        for (size_t j = 0; j < i; ++j) {
          if (t.answers[j].value == a.value) {
            Error(a.pos,
                  "answer " + a.value.ToJson() + " of task '" + t.name + "' is listed twice");
          }
        }
        if (joined) continue;  // responses count towards the join
        Value data = ObjectBuilder().Add(t.answer, a.value).Build();
        dsl::EvalContext ctx{&data, nullptr, nullptr};
        bool handled = false;
        for (const State& s : d.states) {
          for (const Transition& tr : s.transitions) {
            if (tr.trigger != TriggerKind::kResponse || tr.task != t.name) continue;
            handled |= tr.when == nullptr || tr.when->TestPartially(ctx, [&](std::string_view p) {
              return p == known;
            }) != Truth::kFalse;
          }
        }
        if (!handled) {
          Error(a.pos, "answer " + a.value.ToJson() + " of task '" + t.name +
                           "' is handled by no transition (no 'on: {response: " + t.name +
                           "}' whose 'when' can hold for it): such a response would be refused in "
                           "every state");
        }
      }
    }
  }

  // Legal periods end by the public holidays at the seat of the deciding authority.
  void CheckAuthority() {
    const Definition& d = *def_;
    auto always_bound = [](const Role& r) {
      return !r.applicant && r.when == nullptr && !r.candidates.empty() &&
             r.candidates.back().when == nullptr;
    };
    if (!d.authority.empty()) {
      const Role* r = d.FindRole(d.authority);
      if (r != nullptr && !always_bound(*r)) {
        Error(authority_pos_, "the deciding authority '" + d.authority +
                                  "' must be bound in every case: a role without 'when', not "
                                  "the applicant, whose last binding has no 'when'");
      }
    }
    for (const Deadline& dl : d.deadlines) {
      if (!dl.authority.empty()) {
        const Role* r = d.FindRole(dl.authority);
        if (r != nullptr && r->applicant) {
          Error(dl.pos, "deadline '" + dl.name + "': the applicant is not an authority");
        }
      }
      if (dl.legal_calendar && dl.authority.empty() && d.authority.empty()) {
        Error(dl.pos, "legal deadline '" + dl.name +
                          "' needs the authority whose seat's public holidays count: set "
                          "'authority: ROLE' on the workflow (the deciding authority) or on the "
                          "deadline");
      }
    }
  }

  void CheckDirectory() {
    if (directory_ == nullptr) return;
    // The authority of a legal period has a seat whose public holidays count: not a portal.
    std::set<std::string> authorities;
    for (const Deadline& dl : def_->deadlines) {
      if (!dl.legal_calendar) continue;
      if (!dl.authority.empty()) authorities.insert(dl.authority);
      if (!def_->authority.empty()) authorities.insert(def_->authority);
    }
    for (const std::string& name : authorities) {
      const Role* role = def_->FindRole(name);
      if (role == nullptr) continue;
      for (const RoleCandidate& c : role->candidates) {
        std::vector<const Organisation*> orgs;
        if (!c.organisation.empty()) {
          if (const Organisation* o = directory_->Find(c.organisation)) orgs.push_back(o);
        } else {
          for (const Organisation& o : directory_->organisations()) {
            if (std::find(o.functions.begin(), o.functions.end(), c.function) != o.functions.end())
              orgs.push_back(&o);
          }
        }
        for (const Organisation* o : orgs) {
          if (o->holidays.has_value()) continue;
          Error(c.pos, "role '" + name + "' is the authority of a legal period, but '" + o->id +
                           "' (a portal) has no seat whose public holidays could count");
        }
      }
    }
    for (const Ref& r : org_refs_) {
      if (directory_->Find(r.name) == nullptr) {
        Error(r.pos, "organisation '" + r.name + "' is not in the directory");
      }
    }
    for (const Ref& r : function_refs_) {
      if (!directory_->HasFunction(r.name)) {
        Error(r.pos, "no organisation in the directory performs function '" + r.name + "'");
      }
    }
  }

  std::string_view src_;
  const Directory* directory_;
  Errors errors_;
  size_t error_base_ = 0;
  std::shared_ptr<Definition> def_;
  YAML::Mark top_;

  std::vector<Ref> role_refs_, var_refs_, deadline_refs_, state_refs_, task_refs_, request_refs_;
  std::string applicant_role_;  // the role bound to the applicant, if any
  bool stuck_state_ = false;    // a state without a way out was reported
  SourcePos authority_pos_;
  std::vector<Ref> org_refs_, function_refs_;
  std::set<std::string> declared_tasks_;
};

}  // namespace

std::string Diagnostic::ToString() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult LoadDefinition(std::string_view yaml, const std::string& file,
                          const Directory* directory) {
  LoadResult result;
  DefinitionLoader loader(yaml, file, directory, &result.errors);
  result.definition = loader.Run();
  return result;
}

LoadResult LoadDefinitionFile(const std::string& path, const Directory* directory) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back(Diagnostic{path, 0, 0, "cannot open file"});
    return result;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadDefinition(ss.str(), path, directory);
}

RegistryLoadResult LoadRegistry(const std::string& dir, const Directory* directory) {
  RegistryLoadResult result;
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml") files.push_back(it->path());
  }
  if (ec) {
    result.errors.push_back(Diagnostic{dir, 0, 0, "cannot read directory: " + ec.message()});
    return result;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    LoadResult r = LoadDefinitionFile(p.string(), directory);
    for (Diagnostic& d : r.errors)
      result.errors.push_back(std::move(d));
    if (r.definition == nullptr) continue;
    if (const Definition* prev = result.registry.Find(r.definition->name, r.definition->version)) {
      result.errors.push_back(Diagnostic{
          r.definition->file, r.definition->pos.line, r.definition->pos.column,
          "workflow '" + r.definition->name + "' version " + std::to_string(r.definition->version) +
              " is also defined in " + prev->file + ":" + std::to_string(prev->pos.line) + ":" +
              std::to_string(prev->pos.column)});
      continue;
    }
    result.registry.Add(r.definition).IgnoreError();  // cannot conflict: checked above
  }
  return result;
}

}  // namespace amtsweg::dsl
