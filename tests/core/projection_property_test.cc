// Property: every recipient's view of a disclosure holds exactly the fields its disclosure allows:
// the fields of the workflow action that told it which the application has, with the
// application's values (objects whole), and nothing else of the application. Checked on cases
// generated at random (seeded: the seed is printed, AMTSWEG_TEST_SEED repeats it) on the shipped
// workflows and directory, run through the engine, for each of the paths that show a recipient
// its fields: the outbound event in the outbox, the API's participant view of the event, and
// its participant view of the case. The expected fields come from the workflow definition and
// a path lookup of this file's own, not from the engine.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "engine/common/clock.h"
#include "engine/core/case_index.h"
#include "engine/core/case_query.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "engine/runtime/projection.h"
#include "tests/testing/memory_sink.h"
#include "tests/testing/seed.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using runtime::DomainEvent;

// The portal of the shipped directory (its `sources`): the applicant's reply channel.
constexpr char kPortal[] = "https://portal.example.schleswig-holstein.de/ozg";
// Municipalities every function of the shipped directory covers (scripts/gen-events).
const std::vector<std::string> kPlaces = {"01001000", "01002000", "01003000", "01004000",
                                          "01054056", "01056015", "01058043", "01060063"};

// The value at a dotted path, walking objects member by member; nullptr when absent.
const Value* Lookup(const Value& v, const std::string& path) {
  const Value* cur = &v;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string name = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!cur->is_object()) return nullptr;
    const Value* next = nullptr;
    for (const Member& m : cur->members()) {
      if (m.first == name) {
        next = &m.second;
        break;
      }
    }
    if (next == nullptr) return nullptr;
    cur = next;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Every action of a definition, wherever it runs.
std::vector<const dsl::Action*> Actions(const dsl::Definition& def) {
  std::vector<const dsl::Action*> out;
  auto add = [&](const std::vector<dsl::Action>& actions) {
    for (const dsl::Action& a : actions)
      out.push_back(&a);
  };
  add(def.start.actions);
  add(def.on_withdrawal);
  add(def.on_certificate);
  for (const dsl::State& s : def.states) {
    add(s.on_enter);
    for (const dsl::Transition& t : s.transitions)
      add(t.actions);
  }
  for (const dsl::Deadline& d : def.deadlines) {
    add(d.on_expiry);
    add(d.on_extension);
  }
  return out;
}

// What the application of a definition is made of: the paths its actions disclose, route by
// and test, and the literals its conditions compare with.
struct Shape {
  std::vector<std::string> fields;      // disclosed
  std::vector<std::string> areas;       // municipality keys roles are bound by
  std::vector<std::string> conditions;  // tested by `when`
  std::vector<Value> literals;
};

Shape ShapeOf(const dsl::Definition& def) {
  Shape shape;
  std::set<std::string> fields, areas, conditions;
  std::set<std::string> literals;
  const std::regex path(R"(application\.([A-Za-z0-9_.]+))"), quoted(R"('([^']*)')");
  auto scan = [&](const dsl::ExprPtr& e, std::set<std::string>* into) {
    if (e == nullptr) return;
    const std::string& text = e->text();
    for (std::sregex_iterator it(text.begin(), text.end(), path), end; it != end; ++it)
      into->insert((*it)[1]);
    for (std::sregex_iterator it(text.begin(), text.end(), quoted), end; it != end; ++it)
      literals.insert((*it)[1]);
  };
  for (const dsl::Role& r : def.roles) {
    scan(r.when, &conditions);
    for (const dsl::RoleCandidate& c : r.candidates) {
      scan(c.when, &conditions);
      scan(c.area, &areas);
    }
  }
  for (const dsl::State& s : def.states)
    for (const dsl::Transition& t : s.transitions)
      scan(t.when, &conditions);
  for (const dsl::Action* a : Actions(def)) {
    scan(a->when, &conditions);
    fields.insert(a->fields.begin(), a->fields.end());
  }
  shape.fields.assign(fields.begin(), fields.end());
  shape.areas.assign(areas.begin(), areas.end());
  shape.conditions.assign(conditions.begin(), conditions.end());
  for (const std::string& l : literals)
    shape.literals.emplace_back(l);
  return shape;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

  Value Scalar() {
    switch (Below(6)) {
      case 0:
        return Value(static_cast<int64_t>(Below(100000)) - 500);
      case 1:
        return Value(static_cast<double>(Below(1000)) / 8.0);
      case 2:
        return Value(Chance(0.5));
      case 3:
        return Value();
      default:
        return Value(Pick(words_) + " " + std::to_string(Below(100)));
    }
  }
  // Any value, objects and arrays included (a disclosed object is shown whole).
  Value Any(int depth = 0) {
    size_t kind = depth >= 2 ? 0 : Below(5);
    if (kind == 3) {
      std::vector<Value> items;
      for (size_t i = Below(4); i > 0; --i)
        items.push_back(Any(depth + 1));
      return Value::Array(std::move(items));
    }
    if (kind == 4) return Object(depth + 1);
    return Scalar();
  }
  Value Object(int depth) {
    std::vector<Member> members;
    for (size_t i = Below(4); i > 0; --i)
      members.emplace_back("x" + std::to_string(Below(50)), Any(depth));
    Dedupe(&members);
    return Value::Object(std::move(members));
  }
  // A random application of `shape`: most paths set, some missing, some blocked by a value
  // that is no object, values of every kind, and members no action names.
  Value Application(const Shape& shape, const std::string& leika) {
    Value app = ObjectBuilder().Add("leika", leika).Build();
    std::vector<std::string> paths = shape.fields;
    paths.insert(paths.end(), shape.conditions.begin(), shape.conditions.end());
    std::shuffle(paths.begin(), paths.end(), rng_);
    for (const std::string& p : paths) {
      if (Chance(0.15)) continue;  // missing
      bool condition =
          std::find(shape.conditions.begin(), shape.conditions.end(), p) != shape.conditions.end();
      Value v = condition && !shape.literals.empty() && Chance(0.8)
                    ? (Chance(0.8) ? Pick(shape.literals) : Value(Chance(0.5)))
                    : Any();
      app = Set(app, p, std::move(v), /*overwrite=*/false);
    }
    for (const std::string& p : shape.areas)
      if (!Chance(0.03)) app = Set(app, p, Value(Pick(kPlaces)), /*overwrite=*/true);
    for (size_t i = Below(4); i > 0; --i)
      app = Set(app, Pick(paths) + ".secret" + std::to_string(i), Any(), false);
    if (Chance(0.7))
      app = Set(app, "reply_channel",
                ObjectBuilder().Add("reference", "postfach-" + std::to_string(Below(9999))).Build(),
                true);
    return app;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  static void Dedupe(std::vector<Member>* members) {
    std::set<std::string> seen;
    std::vector<Member> out;
    for (Member& m : *members)
      if (seen.insert(m.first).second) out.push_back(std::move(m));
    *members = std::move(out);
  }
  // `object` with `value` at the dotted path, creating objects on the way; a member on the way
  // that is no object blocks the path (left as is) unless `overwrite`.
  static Value Set(const Value& object, std::string_view path, Value value, bool overwrite) {
    size_t dot = path.find('.');
    std::string head(path.substr(0, dot));
    std::vector<Member> members = object.members();
    Member* m = nullptr;
    for (Member& existing : members)
      if (existing.first == head) m = &existing;
    if (m == nullptr) m = &members.emplace_back(head, Value::Object({}));
    if (dot == std::string_view::npos) {
      if (overwrite || m->second.is_object() == false || m->second.size() == 0) m->second = value;
    } else if (m->second.is_object()) {
      m->second = Set(m->second, path.substr(dot + 1), std::move(value), overwrite);
    } else if (overwrite) {
      m->second = Set(Value::Object({}), path.substr(dot + 1), std::move(value), overwrite);
    }
    return Value::Object(std::move(members));
  }

  std::mt19937_64 rng_;
  std::vector<std::string> words_ = {
      "Jensen", "Müller GmbH", "Hauptstraße 5", "\"zitiert\"", "Zeile\nneu", "§14 GewO", "", "Ærø"};
};

std::string CloudEvent(const std::string& id, std::string_view type, const std::string& subject,
                       Timestamp time, const Value& data, const std::string& participant,
                       const std::string& source) {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", id).Add("source", source).Add("type", type);
  if (!subject.empty()) b.Add("subject", subject);
  b.Add("time", FormatTimestamp(time));
  if (!participant.empty()) b.Add("participant", participant);
  b.Add("data", data);
  return b.Build().ToJson();
}

// The candidates for the next input of a case: responses to open tasks, the events its state
// waits for, extensions, time passing, withdrawal, a certificate.
std::vector<std::string> NextInputs(Generator& g, const dsl::Definition& def,
                                    const runtime::CaseState& s, Timestamp t, int n) {
  std::vector<std::string> out;
  const std::string id = s.id + "-" + std::to_string(n);
  auto org_of = [&](const std::string& role) {
    const std::string* o = s.OrganisationOf(role);
    return o != nullptr ? *o : (s.participants.empty() ? "" : g.Pick(s.participants).organisation);
  };
  if (!s.open()) {
    if (s.outcome == "deemed_approved" && !s.participants.empty())
      out.push_back(CloudEvent(id, runtime::input_type::kCertificateRequested, s.id, t,
                               Value::Object({}), g.Pick(s.participants).organisation, kPortal));
    return out;
  }
  for (const runtime::TaskState& task : s.tasks) {
    const dsl::Task* declared = def.FindTask(task.name);
    for (const runtime::TaskRole& r : task.roles) {
      if (r.responded || r.organisation.empty()) continue;
      std::vector<Member> data;
      auto add = [&](const std::string& key, Value v) {
        for (const Member& m : data)
          if (m.first == key) return;
        data.emplace_back(key, std::move(v));
      };
      add("task", task.name);
      if (g.Chance(0.3)) add("role", r.role);
      if (declared != nullptr) {
        if (!declared->answer.empty() && !declared->answers.empty()) {
          const dsl::Answer& a = g.Pick(declared->answers);
          add(declared->answer, a.value);
          for (const std::string& m : a.required)
            add(m, "Begründung");
        }
        for (const std::string& m : declared->required)
          add(m, g.Chance(0.5));
      }
      add("objection", g.Chance(0.3));
      const Value response = Value::Object(std::move(data));
      for (int i = 0; i < 3; ++i)  // responses weigh more: they move a case on
        out.push_back(CloudEvent(id, runtime::input_type::kTaskResponded, s.id, t, response,
                                 r.organisation, "urn:amtsweg:org:" + r.organisation));
    }
  }
  if (const dsl::State* st = def.FindState(s.state); st != nullptr) {
    for (const dsl::Transition& tr : st->transitions) {
      if (tr.trigger != dsl::TriggerKind::kEvent) continue;
      std::string from = org_of(tr.from);
      out.push_back(CloudEvent(id, tr.event_type, s.id, t,
                               ObjectBuilder().Add("complete", true).Build(), from,
                               "urn:amtsweg:org:" + from));
    }
  }
  for (const runtime::DeadlineState& d : s.deadlines) {
    if (!d.active()) continue;
    const dsl::Deadline* declared = def.FindDeadline(d.name);
    if (declared != nullptr && !declared->extendable_by.empty()) {
      std::string by = org_of(declared->extendable_by);
      out.push_back(CloudEvent(
          id, runtime::input_type::kDeadlineExtended, s.id, t,
          ObjectBuilder().Add("deadline", d.name).Add("reason", "Gutachten ausstehend").Build(), by,
          "urn:amtsweg:org:" + by));
    }
    // Time passes beyond the deadline: it expires.
    out.push_back(CloudEvent(id, "de.amtsweg.clock.advanced", "", d.due + 1, Value::Object({}), "",
                             "urn:amtsweg:clock"));
  }
  if (g.Chance(0.05))
    out.push_back(CloudEvent(id, runtime::input_type::kApplicationWithdrawn, s.id, t,
                             Value::Object({}), "", kPortal));
  return out;
}

struct Figures {
  size_t cases = 0, opened = 0, inputs = 0, events = 0, disclosures = 0, outbound = 0;
  size_t fields = 0, objects = 0, absent = 0, case_views = 0;
};

TEST(ProjectionProperty, EveryRecipientSeesExactlyTheFieldsItsDisclosureAllows) {
  const uint64_t seed = testing::TestSeed();
  // Refused inputs are many here (random ones): not worth a log line each.
  const spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  struct RestoreLevel {
    spdlog::level::level_enum level;
    ~RestoreLevel() { spdlog::set_level(level); }
  } restore_level{level};
  SCOPED_TRACE("seed " + std::to_string(seed));
  Result<testing::Shipped> shipped = testing::LoadShipped();
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  const dsl::Registry& registry = shipped->registry;
  const dsl::Directory& directory = *shipped->directory;
  std::vector<const dsl::Definition*> defs = registry.All();
  std::map<const dsl::Definition*, Shape> shapes;
  for (const dsl::Definition* d : defs)
    shapes[d] = ShapeOf(*d);

  testing::TempDir temp("amtsweg-projection");
  const std::string dir = temp.path();
  store::Options options;
  options.sync = false;
  auto st = store::Store::Open(dir + "/data", options);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ManualClock clock(0);
  Engine engine(**st, registry, directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  ::amtsweg::testing::MemorySink sink;

  Generator g(seed);
  Figures n;
  size_t position = 0;
  Timestamp t = *ParseTimestamp("2026-01-05T08:00:00Z");
  auto process = [&](const std::string& line) {
    RawInput raw;
    raw.bytes = line;
    raw.size = line.size();
    raw.where = "line " + std::to_string(++position);
    ASSERT_TRUE(
        engine.ProcessBatch({raw}, "generated", {{"generated", std::to_string(position)}}).ok());
    ASSERT_TRUE(engine.PublishOutbox(sink).ok());
    ++n.inputs;
  };
  std::map<std::string, const dsl::Definition*> case_defs;
  const size_t kCases = 300;
  for (size_t c = 0; c < kCases; ++c) {
    const dsl::Definition* def = g.Pick(defs);
    const std::string id = "P-" + std::to_string(c);
    case_defs[id] = def;
    Value app = g.Application(shapes[def], def->leika);
    t += 60000 * static_cast<Timestamp>(1 + g.Below(600));
    process(CloudEvent(id + "-0", runtime::input_type::kApplicationSubmitted, id, t, app, "",
                       g.Chance(0.85) ? kPortal : "urn:elsewhere"));
    ++n.cases;
    for (int step = 1; step <= 25; ++step) {
      Result<std::optional<runtime::CaseState>> s = engine.LoadCase(id);
      ASSERT_TRUE(s.ok());
      if (!s->has_value()) break;  // not opened (unroutable or invalid)
      if (step == 1) ++n.opened;
      t += 60000 * static_cast<Timestamp>(1 + g.Below(60 * 24 * 5));
      t = std::max(t, engine.now());
      std::vector<std::string> next = NextInputs(g, *def, **s, t, step);
      if (next.empty()) break;
      process(g.Pick(next));
    }
  }

  // The outbound events, by case/seq; each has the id of the disclosure to its organisation.
  std::map<std::string, Value> outbound;
  for (const OutboundMessage& e : sink.sent) {
    Result<Value> ce = Value::ParseJson(e.payload);
    ASSERT_TRUE(ce.ok()) << e.payload;
    const Value& data = (*ce)["data"];
    const std::string& subject = (*ce)["subject"].as_string();
    const auto seq = static_cast<uint64_t>(data["seq"].as_int());
    EXPECT_EQ(e.id, ParticipantEventId(subject, seq, data["organisation"].as_string()));
    EXPECT_TRUE(outbound.emplace(subject + "/" + std::to_string(seq), data).second)
        << "published twice: " << e.id;
  }

  for (const auto& [id, def] : case_defs) {
    Result<std::vector<HistoryEntry>> history = ReadHistory(**st, id);
    if (!history.ok()) continue;  // never opened
    Result<std::optional<runtime::CaseState>> state = LoadCaseState(**st, id);
    ASSERT_TRUE(state.ok() && state->has_value());
    const runtime::CaseState& s = **state;
    const Value& app = s.application;
    const std::vector<const dsl::Action*> actions = Actions(*def);
    std::map<std::string, std::set<std::string>> allowed;  // organisation -> paths it was told
    for (const HistoryEntry& h : *history) {
      const DomainEvent& e = h.event;
      ++n.events;
      if (!runtime::IsDisclosure(e)) continue;
      ++n.disclosures;
      const auto* told = e.As<runtime::NotificationDisclosed>();
      const auto* asked = e.As<runtime::TaskRequested>();
      const std::string& role = told != nullptr ? told->role : asked->role;
      const std::string& org = runtime::RecipientOf(e);
      // The action that disclosed: same kind, role, legal basis, message or task.
      std::vector<std::vector<std::string>> expected_paths;
      std::vector<size_t> named;  // how many fields each of those actions names
      for (const dsl::Action* a : actions) {
        bool same = told != nullptr
                        ? a->kind == dsl::ActionKind::kNotify && a->message == told->message &&
                              a->legal_basis == told->basis
                        : a->kind == dsl::ActionKind::kRequest && a->task == asked->task &&
                              a->legal_basis == asked->basis;
        if (!same) continue;
        if (!role.empty() && std::find(a->roles.begin(), a->roles.end(), role) == a->roles.end())
          continue;
        std::vector<std::string> present;
        for (const std::string& p : a->fields) {
          if (Lookup(app, p) != nullptr) present.push_back(p);
        }
        expected_paths.push_back(std::move(present));
        named.push_back(a->fields.size());
      }
      ASSERT_FALSE(expected_paths.empty()) << "no action discloses " << h.event.seq << " of " << id;
      const std::vector<std::string>& fields = runtime::DisclosedFieldsOf(e);
      auto match = std::find(expected_paths.begin(), expected_paths.end(), fields);
      ASSERT_NE(match, expected_paths.end())
          << id << " event " << e.seq << " names fields no action allows";
      n.absent += named[static_cast<size_t>(match - expected_paths.begin())] - fields.size();
      // The values the recipient must see: exactly those, whole, in the disclosure's order.
      ObjectBuilder values;
      for (const std::string& p : fields) {
        values.Add(p, *Lookup(app, p));
        ++n.fields;
        n.objects += Lookup(app, p)->is_object();
        allowed[org].insert(p);
      }
      const std::string expected_fields = values.Build().ToJson();
      // Everything else of the disclosure, as recorded, without `new`.
      std::vector<Member> rest;
      const Value recorded = runtime::DataToValue(e.data);
      for (const Member& m : recorded.members())
        if (m.first != "new" && m.first != "fields") rest.push_back(m);
      // (The case id is passed in: clang 14 does not capture structured bindings.)
      auto check = [&](const Value& data, const std::string& where, const std::string& case_id) {
        EXPECT_EQ(data["fields"].ToJson(), expected_fields)
            << where << " " << case_id << "/" << e.seq;
        std::vector<std::string> keys;
        for (const Member& m : data.members())
          if (m.first != "fields") keys.push_back(m.first);
        std::vector<std::string> want;
        for (const Member& m : rest) {
          want.push_back(m.first);
          EXPECT_EQ(data[m.first].ToJson(), m.second.ToJson()) << where << " " << m.first;
        }
        EXPECT_EQ(keys, want) << where << " " << case_id << "/" << e.seq;
      };
      if (org.empty()) {
        EXPECT_EQ(outbound.count(id + "/" + std::to_string(e.seq)), 0u);
        continue;
      }
      // 1. The outbound event.
      auto out = outbound.find(id + "/" + std::to_string(e.seq));
      ASSERT_NE(out, outbound.end()) << "not published: " << id << "/" << e.seq;
      Value data = out->second;
      EXPECT_EQ(data["workflow"].as_string(), s.workflow);
      EXPECT_EQ(data["version"].as_int(), s.version);
      EXPECT_EQ(data["leika"].as_string(), s.leika);
      EXPECT_EQ(data["seq"].as_int(), static_cast<int64_t>(e.seq));
      std::vector<Member> members;
      for (const Member& m : data.members())
        if (m.first != "workflow" && m.first != "version" && m.first != "leika" && m.first != "seq")
          members.push_back(m);
      check(Value::Object(std::move(members)), "outbox", id);
      ++n.outbound;
      // 2. The recipient's view of the event; nobody else sees it.
      std::optional<Value> view = ParticipantEventView(e, s, org);
      ASSERT_TRUE(view.has_value());
      check((*view)["data"], "participant view", id);
      for (const runtime::Participant& p : s.participants) {
        if (p.organisation == org) continue;
        EXPECT_FALSE(ParticipantEventView(e, s, p.organisation).has_value());
      }
    }
    // 3. Each organisation's view of the case: the union of what it was told, nothing else.
    std::set<std::string> orgs;
    for (const runtime::Participant& p : s.participants)
      orgs.insert(p.organisation);
    for (const std::string& org : orgs) {
      Value view = ParticipantCaseView(s, org, DisclosedPaths(*history, org));
      ObjectBuilder want;
      for (const std::string& p : allowed[org])
        want.Add(p, *Lookup(app, p));
      EXPECT_EQ(view["application"].ToJson(), want.Build().ToJson()) << id << " for " << org;
      ++n.case_views;
    }
  }
  EXPECT_EQ(n.outbound, outbound.size()) << "published what is no disclosure to an organisation";
  std::cout << "projection property: " << n.cases << " cases (" << n.opened << " opened), "
            << n.inputs << " inputs, " << n.events << " events, " << n.disclosures
            << " disclosures, " << n.outbound << " outbound events, " << n.fields
            << " disclosed values (" << n.objects << " objects, " << n.absent
            << " fields the application lacked), " << n.case_views << " participant case views\n";
  EXPECT_GT(n.opened, kCases / 2);
  EXPECT_GT(n.outbound, kCases);
  EXPECT_GT(n.objects, 0u);
}

}  // namespace
}  // namespace amtsweg::core
