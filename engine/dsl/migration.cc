#include "engine/dsl/migration.h"

#include <algorithm>
#include <set>

#include "engine/common/hash.h"

namespace amtsweg::dsl {

namespace {

// The message of a diagnostic, appended piece by piece (clang-tidy: no temporaries in loops).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

constexpr std::string_view kKeys = "workflow, from, to, states, tasks, deadlines";

std::string Quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

Value Sorted(std::vector<Member> members) {
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.first < b.first; });
  return Value::Object(std::move(members));
}

Value ItemsToValue(const std::vector<ItemMigration>& items) {
  std::vector<Member> out;
  for (const ItemMigration& i : items) {
    switch (i.action) {
      case MigrationAction::kKeep:
        out.emplace_back(i.name, "keep");
        break;
      case MigrationAction::kCancel:
        out.emplace_back(i.name, "cancel");
        break;
      case MigrationAction::kRename:
        out.emplace_back(i.name, Value::Object({{"rename", i.target}}));
        break;
    }
  }
  return Sorted(std::move(out));
}

std::optional<ItemMigration> Fate(const std::vector<ItemMigration>& items, std::string_view name,
                                  bool target_has) {
  for (const ItemMigration& i : items) {
    if (i.name == name) return i;
  }
  if (!target_has) return std::nullopt;
  return ItemMigration{std::string(name), MigrationAction::kKeep, "", {}};
}

// Reads the mapping's JSON form, reporting each problem at the member it is about.
class Reader {
 public:
  Reader(const Value& v, const std::string& file, const MigrationPositions* positions,
         MigrationParse* out)
      : v_(v), out_(out) {
    m_.file = file;
    if (positions != nullptr) m_.positions = *positions;
  }

  void Run() {
    if (!v_.is_object()) {
      Error("", "a migration mapping must be a mapping with the keys " + std::string(kKeys));
      return;
    }
    for (const Member& member : v_.members()) {
      const std::string& k = member.first;
      if (k != "workflow" && k != "from" && k != "to" && k != "states" && k != "tasks" &&
          k != "deadlines") {
        Error(k, "unknown key " + Quoted(k) + " (expected " + std::string(kKeys) + ")");
      }
    }
    const Value* workflow = v_.Find("workflow");
    if (workflow == nullptr || !workflow->is_string() || workflow->as_string().empty()) {
      Error(workflow == nullptr ? "" : "workflow",
            workflow == nullptr ? "'workflow' is missing: the name of the workflow"
                                : "'workflow' must be the workflow's name");
    } else {
      m_.workflow = workflow->as_string();
    }
    Version("from", &m_.from);
    Version("to", &m_.to);
    const Value* states = v_.Find("states");
    if (states == nullptr) {
      Error("",
            "'states' is missing: the state of version 'to' for each state of version "
            "'from' a running case can be in");
    } else if (!states->is_object()) {
      Error("states", "'states' must be a mapping: state of 'from' -> state of 'to'");
    } else {
      for (const Member& s : states->members()) {
        const std::string path = "states." + s.first;
        if (!s.second.is_string() || s.second.as_string().empty()) {
          Error(path, "state " + Quoted(s.first) + ": the target must be a state's name");
          continue;
        }
        m_.states.push_back({s.first, s.second.as_string(), m_.At(path)});
      }
    }
    Items("tasks", &m_.tasks);
    Items("deadlines", &m_.deadlines);
    if (out_->errors.empty()) out_->migration = std::move(m_);
  }

 private:
  void Error(std::string_view path, std::string message) {
    out_->errors.push_back({m_.file, m_.At(path), std::move(message)});
  }

  void Version(std::string_view key, int* out) {
    const Value* v = v_.Find(key);
    if (v == nullptr) {
      Error("", Quoted(key) + " is missing: a version number of the workflow");
      return;
    }
    if (!v->is_int() || v->as_int() < 1 || v->as_int() > 1000000) {
      Error(key, Quoted(key) + " must be a version number (a whole number, 1 or more)");
      return;
    }
    *out = static_cast<int>(v->as_int());
  }

  void Items(std::string_view key, std::vector<ItemMigration>* out) {
    const Value* items = v_.Find(key);
    if (items == nullptr) return;  // every one kept
    const std::string what = key == "tasks" ? "task" : "deadline";
    if (!items->is_object()) {
      Error(key, Quoted(key) + " must be a mapping: " + what +
                     " of 'from' -> keep, cancel or {rename: NAME}");
      return;
    }
    for (const Member& i : items->members()) {
      const std::string path = std::string(key) + "." + i.first;
      ItemMigration item{i.first, MigrationAction::kKeep, "", m_.At(path)};
      const std::string expected =
          what + " " + Quoted(i.first) + ": expected keep, cancel or {rename: NAME}";
      if (i.second.is_string() && i.second.as_string() == "keep") {
        item.action = MigrationAction::kKeep;
      } else if (i.second.is_string() && i.second.as_string() == "cancel") {
        item.action = MigrationAction::kCancel;
      } else if (i.second.is_object()) {
        bool ok = true;
        for (const Member& k : i.second.members()) {
          if (k.first != "rename") {
            Error(path + "." + k.first, what + " " + Quoted(i.first) + ": unknown key " +
                                            Quoted(k.first) + " (expected rename)");
            ok = false;
          }
        }
        const Value* to = i.second.Find("rename");
        if (to == nullptr || !to->is_string() || to->as_string().empty()) {
          if (ok) Error(to == nullptr ? path : path + ".rename", expected);
          continue;
        }
        if (!ok) continue;
        item.action = MigrationAction::kRename;
        item.target = to->as_string();
      } else {
        Error(path, expected);
        continue;
      }
      out->push_back(std::move(item));
    }
  }

  const Value& v_;
  MigrationParse* out_;
  Migration m_;
};

// Checks the tasks (or deadlines) of a mapping: `kind` "task" or "deadline".
template <typename T>
void CheckItems(const Migration& m, std::string_view kind, std::string_view section,
                const std::vector<ItemMigration>& items, const std::vector<T>& from_items,
                const Definition& from, const Definition& to,
                const T* (Definition::*find)(std::string_view) const,
                std::vector<MigrationError>* errors) {
  const std::string k(kind);
  const std::string v1 = "version " + std::to_string(from.version);
  const std::string v2 = "version " + std::to_string(to.version);
  auto error = [&](SourcePos pos, std::string message) {
    errors->push_back({m.file, pos, std::move(message)});
  };
  for (const ItemMigration& i : items) {
    if ((from.*find)(i.name) == nullptr) {
      error(i.pos, Cat(v1, " of ", m.workflow, " has no ", k, " ", Quoted(i.name)));
      continue;
    }
    if (i.action == MigrationAction::kKeep && (to.*find)(i.name) == nullptr) {
      error(i.pos, Cat(k, " ", Quoted(i.name), " is kept, but ", v2, " has no ", k, " ",
                       Quoted(i.name), " (rename or cancel it)"));
    }
    if (i.action == MigrationAction::kRename && (to.*find)(i.target) == nullptr) {
      error(i.pos, Cat(k, " ", Quoted(i.name), " is renamed to ", Quoted(i.target), ", but ", v2,
                       " has no ", k, " ", Quoted(i.target)));
    }
  }
  std::map<std::string, std::string> onto;  // name in `to` -> the name in `from` that takes it
  for (const T& t : from_items) {
    std::optional<ItemMigration> fate = Fate(items, t.name, (to.*find)(t.name) != nullptr);
    if (!fate.has_value()) {
      error(m.At(section),
            Cat(k, " ", Quoted(t.name), " of ", v1, " is not in ", v2, ": say what becomes of it (",
                t.name, ": {rename: NAME} or cancel)"));
      continue;
    }
    if (fate->action == MigrationAction::kCancel) continue;
    const std::string& target = fate->NameInTarget();
    auto [it, added] = onto.emplace(target, t.name);
    if (!added) {
      error(fate->pos.line > 0 ? fate->pos : m.At(section),
            Cat(k, "s ", Quoted(it->second), " and ", Quoted(t.name), " would both become ",
                Quoted(target), " in ", v2));
    }
  }
}

}  // namespace

std::string MigrationError::ToString() const {
  if (pos.line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
}

SourcePos Migration::At(std::string_view path) const {
  std::string p(path);
  while (true) {
    if (auto it = positions.find(p); it != positions.end()) return it->second;
    if (p.empty()) return {};
    size_t dot = p.rfind('.');
    p = dot == std::string::npos ? "" : p.substr(0, dot);
  }
}

const StateMigration* Migration::FindState(std::string_view from_state) const {
  for (const StateMigration& s : states) {
    if (s.from == from_state) return &s;
  }
  return nullptr;
}

std::optional<ItemMigration> Migration::TaskFate(std::string_view name,
                                                 const Definition& target) const {
  return Fate(tasks, name, target.FindTask(name) != nullptr);
}

std::optional<ItemMigration> Migration::DeadlineFate(std::string_view name,
                                                     const Definition& target) const {
  return Fate(deadlines, name, target.FindDeadline(name) != nullptr);
}

Value Migration::ToValue() const {
  std::vector<Member> mapped;
  for (const StateMigration& s : states)
    mapped.emplace_back(s.from, s.to);
  return ObjectBuilder(6)
      .Add("workflow", workflow)
      .Add("from", from)
      .Add("to", to)
      .Add("states", Sorted(std::move(mapped)))
      .Add("tasks", ItemsToValue(tasks))
      .Add("deadlines", ItemsToValue(deadlines))
      .Build();
}

std::string Migration::Digest() const {
  return "sha256:" + ToHex(Sha256(ToValue().ToJson()));
}

MigrationParse MigrationFromValue(const Value& v, const std::string& file,
                                  const MigrationPositions* positions) {
  MigrationParse out;
  Reader(v, file, positions, &out).Run();
  return out;
}

std::vector<MigrationError> ValidateMigration(const Migration& m, const Registry& registry) {
  std::vector<MigrationError> errors;
  auto error = [&](SourcePos pos, std::string message) {
    errors.push_back({m.file, pos, std::move(message)});
  };
  if (registry.Latest(m.workflow) == nullptr) {
    error(m.At("workflow"), "no workflow " + Quoted(m.workflow) + " is deployed");
    return errors;
  }
  std::string deployed;
  for (const Definition* d : registry.All()) {
    if (d->name == m.workflow)
      deployed += (deployed.empty() ? "" : ", ") + std::to_string(d->version);
  }
  const Definition* from = registry.Find(m.workflow, m.from);
  const Definition* to = registry.Find(m.workflow, m.to);
  auto missing = [&](std::string_view key, int version) {
    error(m.At(key), "workflow " + Quoted(m.workflow) + " has no version " +
                         std::to_string(version) + " (deployed: " + deployed + ")");
  };
  if (from == nullptr) missing("from", m.from);
  if (to == nullptr) missing("to", m.to);
  if (m.from == m.to) {
    error(m.At("to"), "'from' and 'to' are both version " + std::to_string(m.to) +
                          ": a migration moves cases to another version");
  }
  if (from == nullptr || to == nullptr || m.from == m.to) return errors;
  const std::string v1 = "version " + std::to_string(m.from);
  const std::string v2 = "version " + std::to_string(m.to);
  std::set<std::string> seen;
  for (const StateMigration& s : m.states) {
    const State* source = from->FindState(s.from);
    if (source == nullptr) {
      error(s.pos, v1 + " of " + m.workflow + " has no state " + Quoted(s.from));
    }
    const State* target = to->FindState(s.to);
    if (target == nullptr) {
      error(s.pos, "state " + Quoted(s.from) + " is mapped to " + Quoted(s.to) + ", but " + v2 +
                       " has no state " + Quoted(s.to));
    } else if (target->terminal.has_value() && source != nullptr && !source->terminal.has_value()) {
      error(s.pos, "state " + Quoted(s.from) + " is mapped to " + Quoted(s.to) +
                       ", a final state of " + v2 + ": a running case cannot rest in it");
    }
  }
  for (const State& s : from->states) {
    if (s.terminal.has_value() || m.FindState(s.name) != nullptr) continue;
    error(m.At("states"), Cat("state ", Quoted(s.name), " of ", v1,
                              " is not mapped: a running case may be in it (give ", s.name,
                              ": <a state of ", v2, ">)"));
  }
  CheckItems(m, "task", "tasks", m.tasks, from->tasks, *from, *to, &Definition::FindTask, &errors);
  CheckItems(m, "deadline", "deadlines", m.deadlines, from->deadlines, *from, *to,
             &Definition::FindDeadline, &errors);
  return errors;
}

}  // namespace amtsweg::dsl
