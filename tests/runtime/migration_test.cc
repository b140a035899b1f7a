// The migration command in the runtime (de.amtsweg.case.migration.requested) and the fold of
// case.migrated: a case of tests/data/migration's migflow version 1 moves to version 2 and goes
// on there.
#include "engine/dsl/migration.h"

#include <gtest/gtest.h>

#include "engine/dsl/loader.h"
#include "engine/runtime/runtime.h"
#include "tests/runtime/test_workflow.h"

namespace amtsweg::runtime {
namespace {

using amtsweg::testing::Input;

const std::string kData = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration";

Value App() {
  return ObjectBuilder()
      .Add("leika", "99000000000077")
      .Add("name", "Jensen GmbH")
      .Add("ags", "01002000")
      .Build();
}

class MigrationRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = dsl::Directory::Load(kData + "/directory.yaml");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    directory = std::move(dir).value();
    for (const char* v : {"v1", "v2"}) {
      dsl::LoadResult r =
          dsl::LoadDefinitionFile(kData + "/workflows/migflow-" + v + ".yaml", directory.get());
      for (const dsl::Diagnostic& d : r.errors)
        ADD_FAILURE() << d.ToString();
      // Version 1 first: the case opens on it, as it did before version 2 was deployed.
      (std::string(v) == "v1" ? v1 : v2) = r.definition;
    }
    ASSERT_TRUE(registry.Add(v1).ok());
    dsl::MigrationParse p = dsl::LoadMigrationFile(kData + "/mapping.yaml");
    ASSERT_TRUE(p.migration.has_value());
    mapping = *p.migration;
    rt = std::make_unique<Runtime>(registry, *directory);
  }

  StepResult Feed(const InputEvent& in) {
    StepResult r = rt->Handle(in, &state);
    log.insert(log.end(), r.events.begin(), r.events.end());
    return r;
  }

  // C-1 on version 1 in `pruefung`: both tasks asked, both deadlines running.
  void OpenInPruefung() {
    ASSERT_FALSE(
        Feed(Input("a1", input_type::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z", App()))
            .rejection.has_value());
    StepResult r = Feed(Input("d1", input_type::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z",
                              Value::Object({}), "amt-kiel"));
    ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
    ASSERT_EQ(state.state, "pruefung");
    ASSERT_TRUE(registry.Add(v2).ok());  // version 2 is deployed later
  }

  InputEvent Migration(std::string admin = "local:jensen", Value mapping_value = Value()) {
    InputEvent in =
        Input("m1", input_type::kMigrationRequested, "C-1", "2026-02-01T08:00:00Z",
              ObjectBuilder()
                  .Add("to", 2)
                  .Add("mapping", mapping_value.is_null() ? mapping.ToValue() : mapping_value)
                  .Add("reason", "Neufassung der Satzung")
                  .Build());
    in.admin = std::move(admin);
    return in;
  }

  std::vector<std::string> Types(const std::vector<DomainEvent>& events) const {
    std::vector<std::string> out;
    for (const DomainEvent& e : events)
      out.emplace_back(DomainTypeName(e.type));
    return out;
  }

  std::unique_ptr<dsl::Directory> directory;
  dsl::DefinitionPtr v1, v2;
  dsl::Registry registry;
  dsl::Migration mapping;
  std::unique_ptr<Runtime> rt;  // made in SetUp, once the directory is loaded
  CaseState state;
  std::vector<DomainEvent> log;
};

TEST_F(MigrationRuntimeTest, TheCaseMovesToVersionTwoWithItsTasksAndDeadlinesMapped) {
  OpenInPruefung();
  const Timestamp fiktion_due = state.FindDeadline("fiktion")->due;
  StepResult r = Feed(Migration());
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(Types(r.events),
            (std::vector<std::string>{"deadline.cancelled", "case.migrated", "variable.set"}));
  EXPECT_EQ(r.events[0].As<DeadlineCancelled>()->deadline, "erinnerung");
  EXPECT_EQ(r.events[0].As<DeadlineCancelled>()->reason, "migration to version 2");
  const CaseMigrated& m = *r.events[1].As<CaseMigrated>();
  EXPECT_EQ(m.workflow, "migflow");
  EXPECT_EQ(m.from_version, 1);
  EXPECT_EQ(m.to_version, 2);
  EXPECT_EQ(m.from_state, "pruefung");
  EXPECT_EQ(m.to_state, "in_pruefung");
  EXPECT_TRUE(m.tasks_kept.empty());
  EXPECT_EQ(m.tasks_renamed.ToJson(), R"({"pruefen":"entscheidung"})");
  EXPECT_EQ(m.tasks_cancelled, std::vector<std::string>{"anhoerung"});
  EXPECT_EQ(m.deadlines_kept, std::vector<std::string>{"fiktion"});
  EXPECT_EQ(m.deadlines_renamed.ToJson(), "{}");
  EXPECT_EQ(m.deadlines_cancelled, std::vector<std::string>{"erinnerung"});
  EXPECT_EQ(m.by, "local:jensen");
  EXPECT_EQ(m.reason, "Neufassung der Satzung");
  EXPECT_EQ(m.mapping, mapping.Digest());

  EXPECT_EQ(state.version, 2);
  EXPECT_EQ(state.state, "in_pruefung");
  ASSERT_EQ(state.tasks.size(), 1u);
  EXPECT_EQ(state.tasks[0].name, "entscheidung");
  EXPECT_EQ(state.FindTask("anhoerung"), nullptr);
  EXPECT_TRUE(state.FindDeadline("fiktion")->active());
  EXPECT_EQ(state.FindDeadline("fiktion")->due, fiktion_due);
  EXPECT_EQ(state.FindDeadline("erinnerung")->status, "cancelled");
  EXPECT_EQ(state.vars["entschieden"].ToJson(), "false");  // declared by version 2
  EXPECT_EQ(rt->DefinitionOf(state), v2.get());

  // The log replays to the same state, and case.migrated survives its encoding.
  CaseState replayed;
  for (const DomainEvent& e : log) {
    std::string bytes;
    EncodeEvent(e, &bytes);
    Result<DomainEvent> decoded = DecodeEvent(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_TRUE(Apply(&replayed, *decoded).ok());
  }
  EXPECT_EQ(StateToValue(replayed).ToJson(), StateToValue(state).ToJson());
}

TEST_F(MigrationRuntimeTest, AfterTheMigrationTheCaseGoesOnUnderVersionTwo) {
  OpenInPruefung();
  ASSERT_FALSE(Feed(Migration()).rejection.has_value());
  // Version 1's task is refused now; version 2's answers and closes the case.
  StepResult old = Feed(Input(
      "r0", input_type::kTaskResponded, "C-1", "2026-02-02T08:00:00Z",
      ObjectBuilder().Add("task", "pruefen").Add("decision", "approved").Build(), "amt-kiel"));
  ASSERT_TRUE(old.rejection.has_value());
  StepResult r = Feed(Input(
      "r1", input_type::kTaskResponded, "C-1", "2026-02-02T09:00:00Z",
      ObjectBuilder().Add("task", "entscheidung").Add("decision", "approved").Build(), "amt-kiel"));
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(state.state, "genehmigt");
  EXPECT_EQ(state.outcome, "approved");
  EXPECT_EQ(state.vars["entschieden"].ToJson(), "true");  // version 2's action
  EXPECT_FALSE(state.FindDeadline("fiktion")->active());
}

TEST_F(MigrationRuntimeTest, WithoutAnAdministratorTheCommandIsForbidden) {
  OpenInPruefung();
  StepResult r = Feed(Migration(/*admin=*/""));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "forbidden");
  EXPECT_EQ(Types(r.events), std::vector<std::string>{"input.rejected"});
  EXPECT_EQ(state.version, 1);
  EXPECT_EQ(state.state, "pruefung");
}

TEST_F(MigrationRuntimeTest, RefusalsHaveTheirKinds) {
  OpenInPruefung();
  Value bad = mapping.ToValue();
  std::vector<Member> members = bad.members();
  for (Member& m : members) {
    if (m.first == "states") m.second = Value::Object({{"pruefung", "in_pruefung"}});
  }
  StepResult invalid = Feed(Migration("local:jensen", Value::Object(members)));
  ASSERT_TRUE(invalid.rejection.has_value());
  EXPECT_EQ(invalid.rejection->kind, "invalid-mapping");
  EXPECT_NE(invalid.rejection->reason.find("state 'eingegangen' of version 1 is not mapped"),
            std::string::npos)
      << invalid.rejection->reason;

  ASSERT_FALSE(Feed(Migration()).rejection.has_value());
  StepResult again = Feed(Migration());  // the case is on version 2 now
  ASSERT_TRUE(again.rejection.has_value());
  EXPECT_EQ(again.rejection->kind, "wrong-version");
  EXPECT_EQ(state.version, 2);
}

TEST_F(MigrationRuntimeTest, AClosedCaseIsNotMigrated) {
  OpenInPruefung();
  ASSERT_FALSE(
      Feed(Input("r1", input_type::kTaskResponded, "C-1", "2026-01-16T09:00:00Z",
                 ObjectBuilder().Add("task", "pruefen").Add("decision", "rejected").Build(),
                 "amt-kiel"))
          .rejection.has_value());
  ASSERT_FALSE(state.open());
  StepResult r = Feed(Migration());
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "closed-case");
  EXPECT_TRUE(r.events.empty());
}

TEST_F(MigrationRuntimeTest, ApplyRefusesAMigrationThatDoesNotFitTheCase) {
  OpenInPruefung();
  CaseState before = state;
  CaseMigrated m{.workflow = "migflow",
                 .from_version = 3,
                 .to_version = 4,
                 .from_state = "pruefung",
                 .to_state = "x",
                 .tasks_kept = {},
                 .tasks_renamed = Value::Object({}),
                 .tasks_cancelled = {},
                 .deadlines_kept = {},
                 .deadlines_renamed = Value::Object({}),
                 .deadlines_cancelled = {},
                 .by = "local:x",
                 .reason = std::nullopt,
                 .mapping = ""};
  EXPECT_TRUE(Apply(&state, MakeEvent(state.seq + 1, state.updated_at, "x", m)).IsCorruption());
  m.from_version = 1;
  m.deadlines_renamed = Value::Object({{"nicht-da", "fiktion"}});
  EXPECT_TRUE(Apply(&state, MakeEvent(state.seq + 1, state.updated_at, "x", m)).IsCorruption());
  EXPECT_EQ(state, before);
}

}  // namespace
}  // namespace amtsweg::runtime
