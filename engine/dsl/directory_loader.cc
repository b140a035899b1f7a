// Directory::Load and Directory::Parse: the YAML side of the participant directory, in the loader
// target (amtsweg::dsl_loader); the rest of Directory is in directory.cc (the model).
#include <fstream>
#include <sstream>

#include "engine/common/identifiers.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/dsl/yaml_scalar.h"
#include "engine/dsl/yaml_util.h"

namespace amtsweg::dsl {

namespace {

using internal::Errors;
using internal::MapReader;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}
bool IsFunctionChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsWorkflowNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool IsEnvChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
// https, or http to a loopback address (a local relay, tests).
bool IsWebhookUrl(std::string_view url) {
  if (url.starts_with("https://")) return url.size() > 8;
  for (std::string_view loopback : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(loopback)) {
      std::string_view rest = url.substr(loopback.size());
      if (rest.empty() || rest[0] == ':' || rest[0] == '/') return true;
    }
  }
  return false;
}
bool IsTopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
template <typename Pred>
bool AllOf(std::string_view s, Pred p) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!p(c)) return false;
  }
  return true;
}

constexpr std::string_view kKinds[] = {"state", "municipal", "chamber", "federal", "portal"};

// The Land of an organisation's seat: of `seat`, else of its area when every prefix names the
// same Land (a prefix of at least two digits).
std::optional<calendar::Land> LandOfSeat(const Organisation& org) {
  if (!org.seat.empty()) {
    Result<calendar::Land> land = calendar::LandOfAgs(org.seat);
    return land.ok() ? std::optional(*land) : std::nullopt;
  }
  std::optional<calendar::Land> land;
  for (const std::string& prefix : org.area) {
    if (prefix.size() < 2) return std::nullopt;
    Result<calendar::Land> l = calendar::LandOfAgs(prefix.substr(0, 2));
    if (!l.ok() || (land.has_value() && *land != *l)) return std::nullopt;
    land = *l;
  }
  return land;
}

Status JoinErrors(const std::vector<Diagnostic>& errors) {
  std::string msg;
  for (const Diagnostic& d : errors) {
    if (!msg.empty()) msg += '\n';
    msg += d.ToString();
  }
  return Status::InvalidArgument(msg);
}

}  // namespace

Result<std::unique_ptr<Directory>> Directory::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open directory file");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

Result<std::unique_ptr<Directory>> Directory::Parse(std::string_view yaml,
                                                    const std::string& name) {
  std::vector<Diagnostic> diags;
  Errors errors(name, &diags);
  std::optional<YAML::Node> doc =
      internal::LoadDocument(yaml, internal::kMaxDirectoryNodes, &errors);
  if (!doc.has_value()) return JoinErrors(diags);
  YAML::Node root = *doc;
  YAML::Mark top;
  top.line = 0;
  top.column = 0;
  MapReader file(
      root, "the directory",
      {"organisations", "participants_must_be_bound", "sources", "submitters", "municipalities"},
      top, &errors);
  auto dir = std::make_unique<Directory>();
  if (file.ok() && file.Has("participants_must_be_bound")) {
    YAML::Node flag = file.Get("participants_must_be_bound");
    if (!flag.IsScalar() || ScalarTypeOf(flag) != ScalarType::kBool) {
      errors.Add(file.ValueMark("participants_must_be_bound"),
                 "participants_must_be_bound must be true or false");
    } else {
      dir->participants_must_be_bound_ = flag.Scalar()[0] == 't' || flag.Scalar()[0] == 'T';
    }
  }
  if (file.ok()) {
    YAML::Node list = file.Get("organisations");
    if (!list.IsDefined()) {
      errors.Add(top, "missing 'organisations'");
    } else if (!list.IsSequence()) {
      errors.Add(file.ValueMark("organisations"), "'organisations' must be a list");
    } else {
      std::map<std::string, SourcePos, std::less<>> seen;
      for (const YAML::Node& item : list) {
        MapReader m(item, "organisation",
                    {"id", "kind", "name", "functions", "area", "seat", "holidays", "sources",
                     "topic", "webhook", "webhook_secret_env", "webhook_secret_file"},
                    internal::MarkOr(item, list.Mark()), &errors);
        if (!m.ok()) continue;
        Organisation org;
        bool ok = true;
        auto required = [&](std::string_view key, std::string* out) {
          if (!m.Has(key) || m.Get(key).IsNull()) {
            errors.Add(m.mark(), "organisation is missing '" + std::string(key) + "'");
            ok = false;
            return false;
          }
          if (!internal::ReadString(m.Get(key), m.ValueMark(key), key, &errors, out)) {
            ok = false;
            return false;
          }
          return true;
        };
        if (required("id", &org.id) && !AllOf(org.id, IsIdChar)) {
          errors.Add(m.ValueMark("id"), "organisation id '" + org.id + "' must match [a-z0-9-]+");
          ok = false;
        }
        if (required("kind", &org.kind)) {
          bool known = false;
          for (std::string_view k : kKinds)
            known = known || k == org.kind;
          if (!known) {
            errors.Add(m.ValueMark("kind"),
                       "unknown organisation kind '" + org.kind +
                           "'; expected state, municipal, chamber, federal or portal");
            ok = false;
          }
        }
        required("name", &org.name);
        if (!m.Has("functions")) {
          errors.Add(m.mark(), "organisation is missing 'functions'");
          ok = false;
        } else {
          std::vector<YAML::Mark> marks;
          if (internal::ReadStringList(m.Get("functions"), m.ValueMark("functions"), "functions",
                                       &errors, &org.functions, &marks)) {
            if (org.functions.empty()) {
              errors.Add(m.ValueMark("functions"), "'functions' must not be empty");
              ok = false;
            }
            for (size_t i = 0; i < org.functions.size(); ++i) {
              if (!AllOf(org.functions[i], IsFunctionChar)) {
                errors.Add(marks[i], "function '" + org.functions[i] + "' must match [a-z0-9_]+");
                ok = false;
              }
            }
          } else {
            ok = false;
          }
        }
        if (m.Has("area")) {
          std::vector<YAML::Mark> marks;
          YAML::Node area = m.Get("area");
          if (internal::ReadStringList(area, m.ValueMark("area"), "area", &errors, &org.area,
                                       &marks, /*text=*/true)) {
            size_t i = 0;
            for (const YAML::Node& a : area) {
              const std::string& p = org.area[i];
              if (!ids::IsAgsPrefix(p)) {
                errors.Add(marks[i], "area '" + p +
                                         "' must be an AGS prefix of 1 to 8 digits (from two "
                                         "digits on starting with a Land code 01 to 16)");
                ok = false;
              } else if (!internal::IsQuoted(a)) {
                // YAML 1.2 tools read 01002 as the number 1002: insist on quotes.
                std::string msg = "area '" + p + "' must be quoted (\"";
                errors.Add(marks[i], msg.append(p).append("\")"));
                ok = false;
              }
              ++i;
            }
          } else {
            ok = false;
          }
        }
        if (m.Has("seat") &&
            internal::ReadText(m.Get("seat"), m.ValueMark("seat"), "seat", &errors, &org.seat)) {
          if (!ids::IsAgs(org.seat)) {
            errors.Add(m.ValueMark("seat"), "seat '" + org.seat +
                                                "' must be the AGS of the municipality where the "
                                                "organisation has its seat (8 digits, quoted)");
            ok = false;
          } else if (!internal::IsQuoted(m.Get("seat"))) {
            errors.Add(m.ValueMark("seat"),
                       "seat '" + org.seat + "' must be quoted (\"" + org.seat + "\")");
            ok = false;
          }
        }
        std::vector<calendar::LocalHoliday> local;
        if (m.Has("holidays")) {
          std::vector<YAML::Mark> marks;
          if (internal::ReadStringList(m.Get("holidays"), m.ValueMark("holidays"), "holidays",
                                       &errors, &org.local_holidays, &marks)) {
            for (size_t i = 0; i < org.local_holidays.size(); ++i) {
              Result<calendar::LocalHoliday> h = calendar::ParseLocalHoliday(org.local_holidays[i]);
              if (h.ok()) {
                local.push_back(*h);
              } else {
                errors.Add(marks[i], h.status().message());
                ok = false;
              }
            }
          } else {
            ok = false;
          }
        }
        if (m.Has("sources")) {
          std::vector<YAML::Mark> marks;
          if (internal::ReadStringList(m.Get("sources"), m.ValueMark("sources"), "sources", &errors,
                                       &org.sources, &marks)) {
            for (size_t i = 0; i < org.sources.size(); ++i) {
              if (org.sources[i].empty()) {
                errors.Add(marks[i], "a source must not be empty");
                ok = false;
              }
            }
          } else {
            ok = false;
          }
          if (org.kind != "portal") {
            errors.Add(m.KeyMark("sources"),
                       "'sources' (the CloudEvents sources an online service submits "
                       "applications from) belong to organisations of kind portal");
            ok = false;
          }
        } else if (org.kind == "portal") {
          errors.Add(m.mark(), "portal '" + org.id +
                                   "' needs 'sources': the CloudEvents sources its applications "
                                   "come from, so that replies to the applicant find it");
          ok = false;
        }
        if (m.Has("topic") &&
            internal::ReadString(m.Get("topic"), m.ValueMark("topic"), "topic", &errors,
                                 &org.topic) &&
            (!AllOf(org.topic, IsTopicChar) || org.topic.size() > 249)) {
          errors.Add(m.ValueMark("topic"),
                     "topic '" + org.topic + "' is not a valid Kafka topic name");
          ok = false;
        }
        if (m.Has("webhook") &&
            internal::ReadString(m.Get("webhook"), m.ValueMark("webhook"), "webhook", &errors,
                                 &org.webhook) &&
            !IsWebhookUrl(org.webhook)) {
          errors.Add(
              m.ValueMark("webhook"),
              "webhook must be an https:// URL (http:// only to 127.0.0.1, localhost, [::1])");
          ok = false;
        }
        if (m.Has("webhook_secret_env") &&
            internal::ReadString(m.Get("webhook_secret_env"), m.ValueMark("webhook_secret_env"),
                                 "webhook_secret_env", &errors, &org.webhook_secret_env) &&
            (!AllOf(org.webhook_secret_env, IsEnvChar) ||
             (org.webhook_secret_env[0] >= '0' && org.webhook_secret_env[0] <= '9'))) {
          errors.Add(m.ValueMark("webhook_secret_env"),
                     "webhook_secret_env '" + org.webhook_secret_env +
                         "' must be an environment variable name [A-Z_][A-Z0-9_]*");
          ok = false;
        }
        if (m.Has("webhook_secret_file") &&
            internal::ReadString(m.Get("webhook_secret_file"), m.ValueMark("webhook_secret_file"),
                                 "webhook_secret_file", &errors, &org.webhook_secret_file) &&
            org.webhook_secret_file.empty()) {
          errors.Add(m.ValueMark("webhook_secret_file"), "webhook_secret_file must not be empty");
          ok = false;
        }
        const bool has_secret = !org.webhook_secret_env.empty() || !org.webhook_secret_file.empty();
        if (!org.webhook_secret_env.empty() && !org.webhook_secret_file.empty()) {
          errors.Add(m.ValueMark("webhook_secret_file"),
                     "give either webhook_secret_env or webhook_secret_file, not both");
          ok = false;
        } else if (!org.webhook.empty() && !has_secret) {
          // Every delivery is signed (docs/webhooks.md); the secret is never in this file.
          errors.Add(m.ValueMark("webhook"),
                     "webhook needs webhook_secret_env or webhook_secret_file (the signing "
                     "secret's environment variable or file)");
          ok = false;
        } else if (org.webhook.empty() && has_secret) {
          errors.Add(m.ValueMark(!org.webhook_secret_env.empty() ? "webhook_secret_env"
                                                                 : "webhook_secret_file"),
                     "a webhook secret without a webhook");
          ok = false;
        }
        if (!org.id.empty()) {
          SourcePos pos = internal::PosOf(m.ValueMark("id"));
          auto [it, inserted] = seen.emplace(org.id, pos);
          if (!inserted) {
            errors.Add(pos, "duplicate organisation id '" + org.id + "' (first at line " +
                                std::to_string(it->second.line) + ")");
            ok = false;
          }
        }
        // The public holidays at its seat decide when the legal periods it runs end.
        if (ok && org.kind != "portal") {
          std::optional<calendar::Land> land = LandOfSeat(org);
          if (!land.has_value()) {
            errors.Add(m.mark(), "organisation '" + org.id +
                                     "': no 'seat', and its area does not lie in one Land; give "
                                     "'seat' (the AGS of its seat), whose public holidays end the "
                                     "legal periods it runs");
            ok = false;
          } else {
            Result<calendar::HolidayCalendar> cal = calendar::HolidayCalendar::Make(*land, local);
            if (cal.ok()) {
              org.holidays = *cal;
            } else {
              errors.Add(m.ValueMark("holidays"), cal.status().message());
              ok = false;
            }
          }
        } else if (ok && !local.empty()) {
          errors.Add(m.KeyMark("holidays"),
                     "a portal runs no legal periods: 'holidays' has no use");
          ok = false;
        }
        if (org.topic.empty() && !org.id.empty()) org.topic = "amtsweg.org." + org.id;
        if (ok) dir->orgs_.push_back(std::move(org));
      }
    }
  }
  if (!diags.empty()) return JoinErrors(diags);
  for (size_t i = 0; i < dir->orgs_.size(); ++i) {
    dir->by_id_.emplace(dir->orgs_[i].id, i);
    for (const std::string& f : dir->orgs_[i].functions)
      dir->by_function_[f].push_back(i);
    for (const std::string& source : dir->orgs_[i].sources) {
      auto [it, inserted] = dir->by_source_.emplace(source, i);
      if (!inserted) {
        diags.push_back(Diagnostic{name, 0, 0,
                                   "source '" + source + "' is listed by portals '" +
                                       dir->orgs_[it->second].id + "' and '" + dir->orgs_[i].id +
                                       "'"});
      }
    }
  }
  if (!diags.empty()) return JoinErrors(diags);
  dir->speaks_for_ = dir->by_source_;
  ReadSourcesAndSubmitters(file, dir.get(), &errors);
  ReadMunicipalities(file, dir.get(), &errors);
  if (!diags.empty()) return JoinErrors(diags);
  return dir;
}

void Directory::ReadSourcesAndSubmitters(const internal::MapReader& file, Directory* dir,
                                         internal::Errors* errors) {
  if (!file.ok()) return;
  if (file.Has("sources")) {
    // source: organisation. The CloudEvents sources an organisation sends from on a shared
    // channel; an input from one speaks for it.
    YAML::Node map = file.Get("sources");
    MapReader m(map, "'sources' (CloudEvents source: organisation id)", {},
                file.ValueMark("sources"), errors);
    for (const MapReader::Entry& e : m.entries()) {
      std::string id;
      YAML::Mark at = internal::MarkOr(e.value, e.key_node.Mark());
      if (!internal::ReadString(e.value, at, e.key, errors, &id)) continue;
      auto org = dir->by_id_.find(id);
      if (e.key.empty()) {
        errors->Add(e.key_node.Mark(), "a source must not be empty");
      } else if (org == dir->by_id_.end()) {
        errors->Add(at, "source '" + e.key + "': no organisation '" + id + "' in the directory");
      } else if (auto [it, inserted] = dir->speaks_for_.emplace(e.key, org->second);
                 !inserted && it->second != org->second) {
        // A source speaks for one organisation.
        errors->Add(at, "source '" + e.key + "' is mapped to '" + id +
                            "', but it is a source of portal '" + dir->orgs_[it->second].id + "'");
      }
    }
  }
  if (file.Has("submitters")) {
    // workflow: [portal, ...]. Only these portals' sources may open cases of the workflow.
    YAML::Node map = file.Get("submitters");
    MapReader m(map, "'submitters' (workflow name: the portals that may submit its applications)",
                {}, file.ValueMark("submitters"), errors);
    for (const MapReader::Entry& e : m.entries()) {
      std::vector<std::string> portals;
      std::vector<YAML::Mark> marks;
      YAML::Mark at = internal::MarkOr(e.value, e.key_node.Mark());
      if (!AllOf(e.key, IsWorkflowNameChar)) {
        errors->Add(e.key_node.Mark(),
                    "submitters: '" + e.key + "' must be a workflow name ([a-z0-9_-]+)");
        continue;
      }
      if (!internal::ReadStringList(e.value, at, e.key, errors, &portals, &marks)) continue;
      if (portals.empty()) {
        errors->Add(at, "submitters of workflow " + e.key +
                            ": name at least one portal (leave the workflow out to let any "
                            "source submit)");
        continue;
      }
      bool ok = true;
      for (size_t i = 0; i < portals.size(); ++i) {
        auto org = dir->by_id_.find(portals[i]);
        if (org == dir->by_id_.end() || dir->orgs_[org->second].kind != "portal") {
          errors->Add(marks[i], "submitters of workflow " + e.key + ": '" + portals[i] +
                                    "' is no portal of the directory");
          ok = false;
        }
      }
      if (ok) dir->submitters_.emplace(e.key, std::move(portals));
    }
  }
}

void Directory::ReadMunicipalities(const internal::MapReader& file, Directory* dir,
                                   internal::Errors* errors) {
  if (!file.ok() || !file.Has("municipalities")) return;
  // AGS: name. Names for readers (the status page shows "Kiel", not "01002000").
  YAML::Node map = file.Get("municipalities");
  MapReader m(map, "'municipalities' (AGS: name of the municipality)", {},
              file.ValueMark("municipalities"), errors);
  for (const MapReader::Entry& e : m.entries()) {
    YAML::Mark at = internal::MarkOr(e.value, e.key_node.Mark());
    if (!ids::IsAgs(e.key)) {
      errors->Add(e.key_node.Mark(), "municipalities: '" + e.key +
                                         "' must be an AGS (Amtlicher Gemeindeschlüssel: 8 "
                                         "digits, Land 01 to 16), quoted");
      continue;
    }
    if (!internal::IsQuoted(e.key_node)) {
      // YAML 1.2 tools read 01002000 as the number 1002000: insist on quotes.
      errors->Add(e.key_node.Mark(),
                  "municipalities: '" + e.key + "' must be quoted (\"" + e.key + "\")");
      continue;
    }
    std::string name;
    if (!internal::ReadString(e.value, at, e.key, errors, &name)) continue;
    if (name.empty()) {
      errors->Add(at, "municipalities: the name of '" + e.key + "' must not be empty");
      continue;
    }
    dir->municipalities_.emplace(e.key, std::move(name));
  }
}

}  // namespace amtsweg::dsl
