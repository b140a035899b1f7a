// Migration through the engine (engine/core/migration.h): the command commits case.migrated like
// any input, and the deadline timers follow the migrated deadlines: a cancelled one never fires,
// a renamed one fires under its new name at its old time. Without an administrator the command
// is a dead letter.
#include <gtest/gtest.h>

#include "engine/core/case_query.h"
#include "engine/core/engine.h"
#include "engine/core/migration.h"
#include "engine/dsl/loader.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

const std::string kData = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration";

RawInput Line(const std::string& id, std::string_view type, std::string_view time, Value data,
              const std::string& participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", id).Add("source", "test").Add("type", type);
  b.Add("subject", "C-1").Add("time", time);
  if (!participant.empty()) b.Add("participant", participant);
  b.Add("data", std::move(data));
  RawInput raw;
  raw.bytes = b.Build().ToJson();
  raw.size = raw.bytes.size();
  raw.where = id;
  return raw;
}

class MigrationEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = dsl::Directory::Load(kData + "/directory.yaml");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    directory = std::move(dir).value();
    for (const char* v : {"v1", "v2"}) {
      dsl::LoadResult r =
          dsl::LoadDefinitionFile(kData + "/workflows/migflow-" + v + ".yaml", directory.get());
      ASSERT_TRUE(r.definition != nullptr);
      defs.push_back(r.definition);
    }
    ASSERT_TRUE(registry.Add(defs[0]).ok());
    auto st = store::Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store = std::move(st).value();
    engine = std::make_unique<Engine>(*store, registry, *directory, clock);
    ASSERT_TRUE(engine->Open().ok());
    // C-1 in `pruefung` on version 1: fiktion (3 months) and erinnerung (1 month) running.
    Value app = ObjectBuilder()
                    .Add("leika", "99000000000077")
                    .Add("name", "Jensen GmbH")
                    .Add("ags", "01002000")
                    .Build();
    ASSERT_TRUE(engine
                    ->ProcessBatch({Line("a1", runtime::input_type::kApplicationSubmitted,
                                         "2026-01-15T09:00:00Z", app),
                                    Line("d1", runtime::input_type::kDocumentsCompleted,
                                         "2026-01-15T10:00:00Z", Value::Object({}), "amt-kiel")},
                                   "memory", {})
                    .ok());
    ASSERT_TRUE(registry.Add(defs[1]).ok());  // version 2 deployed
  }

  dsl::Migration Mapping(const std::string& yaml) {
    dsl::MigrationParse p = dsl::LoadMigration(yaml, "test");
    EXPECT_TRUE(p.migration.has_value());
    EXPECT_TRUE(dsl::ValidateMigration(*p.migration, registry).empty());
    return *p.migration;
  }

  std::string Migrate(const dsl::Migration& m, const std::string& admin) {
    MigrationIssuer by{admin, "urn:test", "", engine->now(), 1};
    std::vector<InputVerdict> verdicts;
    EXPECT_TRUE(
        engine->ProcessBatch({MigrationRawInput(m, "C-1", by)}, "memory", {}, {}, &verdicts).ok());
    return verdicts.empty() ? "none" : verdicts[0].kind;
  }

  runtime::CaseState Case() {
    auto s = engine->LoadCase("C-1");
    EXPECT_TRUE(s.ok() && s->has_value());
    return **s;
  }

  // The deadline.expired events of the case: "name due".
  std::vector<std::string> Expired() {
    auto history = ReadHistory(*store, "C-1");
    EXPECT_TRUE(history.ok());
    std::vector<std::string> out;
    for (const HistoryEntry& h : *history) {
      if (const auto* e = h.event.As<runtime::DeadlineExpired>())
        out.push_back(e->deadline + " " + e->due);
    }
    return out;
  }

  testing::TempDir dir_{"amtsweg-migration"};
  std::unique_ptr<dsl::Directory> directory;
  std::vector<dsl::DefinitionPtr> defs;
  dsl::Registry registry;
  ManualClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Engine> engine;
};

constexpr char kMapping[] = R"yaml(
workflow: migflow
from: 1
to: 2
states: {eingegangen: eingegangen, pruefung: in_pruefung}
tasks: {pruefen: {rename: entscheidung}, anhoerung: cancel}
)yaml";

TEST_F(MigrationEngineTest, ACancelledDeadlineNeverFires) {
  const std::string erinnerung = FormatTimestamp(Case().FindDeadline("erinnerung")->due);
  ASSERT_EQ(
      Migrate(Mapping(std::string(kMapping) + "deadlines: {erinnerung: cancel}\n"), "local:test"),
      "");
  EXPECT_EQ(Case().version, 2);
  EXPECT_EQ(Case().FindDeadline("erinnerung")->status, "cancelled");
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-03-01T00:00:00Z")).ok());
  EXPECT_TRUE(Expired().empty()) << erinnerung;
  EXPECT_TRUE(Case().open());
  // The kept fiktion fires at its time, under version 2 (its target there: fingiert).
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-06-01T00:00:00Z")).ok());
  ASSERT_EQ(Expired().size(), 1u);
  EXPECT_EQ(Expired()[0].rfind("fiktion ", 0), 0u);
  EXPECT_EQ(Case().outcome, "deemed_approved");
}

TEST_F(MigrationEngineTest, ARenamedDeadlineFiresUnderItsNewNameAtItsTime) {
  const std::string erinnerung = FormatTimestamp(Case().FindDeadline("erinnerung")->due);
  ASSERT_EQ(Migrate(Mapping(std::string(kMapping) +
                            "deadlines: {fiktion: cancel, erinnerung: {rename: fiktion}}\n"),
                    "local:test"),
            "");
  EXPECT_EQ(FormatTimestamp(Case().FindDeadline("fiktion")->due), erinnerung);
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-03-01T00:00:00Z")).ok());
  EXPECT_EQ(Expired(), std::vector<std::string>{"fiktion " + erinnerung});
  EXPECT_EQ(Case().outcome, "deemed_approved");
  EXPECT_EQ(Case().state, "fingiert");
  // Nothing of the old timers is left.
  size_t timers = 0;
  ASSERT_TRUE(store
                  ->DueTimers(INT64_MAX,
                              [&](const store::Timer&) {
                                ++timers;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(timers, 0u);
}

TEST_F(MigrationEngineTest, WithoutAnAdministratorTheCommandIsADeadLetter) {
  EXPECT_EQ(Migrate(Mapping(std::string(kMapping) + "deadlines: {erinnerung: cancel}\n"), ""),
            "forbidden");
  EXPECT_EQ(Case().version, 1);
  EXPECT_EQ(testing::DeadLetterSourcesAndKinds(*store),
            std::vector<std::string>{"memory forbidden"});
}

}  // namespace
}  // namespace amtsweg::core
