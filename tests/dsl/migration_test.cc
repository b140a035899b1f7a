// Migration mappings (engine/dsl/migration.h): reading the YAML and checking it against the two
// versions of tests/data/migration/workflows; each error names the file, its line and the problem.
#include "engine/dsl/migration.h"

#include <gtest/gtest.h>

#include "engine/dsl/loader.h"

namespace amtsweg::dsl {
namespace {

const std::string kWorkflows = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration/workflows";

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegistryLoadResult loaded = LoadRegistry(kWorkflows);
    for (const Diagnostic& d : loaded.errors)
      ADD_FAILURE() << d.ToString();
    registry = std::move(loaded.registry);
  }

  // The errors of reading and then (if it read) validating `yaml`, as "line: message".
  std::vector<std::string> Errors(const std::string& yaml) {
    MigrationParse p = LoadMigration(yaml, "map.yaml");
    std::vector<MigrationError> errors = p.errors;
    if (p.migration.has_value()) errors = ValidateMigration(*p.migration, registry);
    std::vector<std::string> out;
    for (const MigrationError& e : errors) {
      EXPECT_EQ(e.file, "map.yaml");
      out.push_back(std::to_string(e.pos.line) + ": " + e.message);
    }
    return out;
  }

  Registry registry;
};

constexpr char kValid[] = R"yaml(workflow: migflow
from: 1
to: 2
states:
  eingegangen: eingegangen
  pruefung: in_pruefung
tasks:
  pruefen: {rename: entscheidung}
  anhoerung: cancel
deadlines:
  fiktion: keep
  erinnerung: cancel
)yaml";

// `kValid` with line `line` (1-based) replaced by `text` (several lines, or none).
std::string With(int line, const std::string& text) {
  std::string out;
  int n = 0;
  size_t start = 0;
  std::string_view v = kValid;
  while (start < v.size()) {
    size_t end = v.find('\n', start);
    ++n;
    if (n == line) {
      out += text;
    } else {
      out += std::string(v.substr(start, end - start + 1));
    }
    start = end + 1;
  }
  return out;
}

TEST_F(MigrationTest, TheTestMappingIsValid) {
  EXPECT_TRUE(Errors(kValid).empty()) << ::testing::PrintToString(Errors(kValid));
  MigrationParse p =
      LoadMigrationFile(std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration/mapping.yaml");
  ASSERT_TRUE(p.migration.has_value());
  EXPECT_TRUE(ValidateMigration(*p.migration, registry).empty());
  const Migration& m = *p.migration;
  EXPECT_EQ(m.workflow, "migflow");
  EXPECT_EQ(m.FindState("pruefung")->to, "in_pruefung");
  const Definition& v2 = *registry.Find("migflow", 2);
  EXPECT_EQ(m.TaskFate("pruefen", v2)->NameInTarget(), "entscheidung");
  EXPECT_EQ(m.TaskFate("anhoerung", v2)->action, MigrationAction::kCancel);
  EXPECT_EQ(m.DeadlineFate("fiktion", v2)->action, MigrationAction::kKeep);
}

TEST_F(MigrationTest, TheDigestDoesNotDependOnHowTheMappingIsWritten) {
  MigrationParse a = LoadMigration(kValid, "a.yaml");
  MigrationParse b = LoadMigration(R"yaml(
deadlines: {erinnerung: cancel, fiktion: keep}
tasks: {anhoerung: cancel, pruefen: {rename: entscheidung}}
states: {pruefung: in_pruefung, eingegangen: eingegangen}
to: 2
from: 1
workflow: migflow
)yaml",
                                   "b.yaml");
  ASSERT_TRUE(a.migration.has_value() && b.migration.has_value());
  EXPECT_EQ(a.migration->Digest(), b.migration->Digest());
  EXPECT_EQ(a.migration->Digest().rfind("sha256:", 0), 0u);
  // The JSON form reads back to the same mapping.
  MigrationParse c = MigrationFromValue(a.migration->ToValue(), "json");
  ASSERT_TRUE(c.migration.has_value());
  EXPECT_EQ(c.migration->Digest(), a.migration->Digest());
  EXPECT_TRUE(ValidateMigration(*c.migration, registry).empty());
}

TEST_F(MigrationTest, KeysAndKindsAreCheckedWithTheirLines) {
  EXPECT_EQ(
      Errors(With(3, "to: 2\nversion: 3\n")),
      (std::vector<std::string>{
          "4: unknown key 'version' (expected workflow, from, to, states, tasks, deadlines)"}));
  EXPECT_EQ(Errors(With(2, "")),
            (std::vector<std::string>{"1: 'from' is missing: a version number of the workflow"}));
  EXPECT_EQ(
      Errors(With(2, "from: eins\n")),
      (std::vector<std::string>{"2: 'from' must be a version number (a whole number, 1 or more)"}));
  EXPECT_EQ(
      Errors(With(9, "  anhoerung: drop\n")),
      (std::vector<std::string>{"9: task 'anhoerung': expected keep, cancel or {rename: NAME}"}));
  EXPECT_EQ(Errors(With(8, "  pruefen: {rename: entscheidung, to: x}\n")),
            (std::vector<std::string>{"8: task 'pruefen': unknown key 'to' (expected rename)"}));
  EXPECT_EQ(Errors(With(6, "  pruefung: in_pruefung\n  pruefung: eingegangen\n")),
            (std::vector<std::string>{"7: duplicate key 'pruefung'"}));
  EXPECT_EQ(Errors("- a\n- b\n"),
            (std::vector<std::string>{
                "1: a migration mapping must be a mapping with the keys workflow, from, to, "
                "states, tasks, deadlines"}));
  std::vector<std::string> syntax = Errors("workflow: [migflow\n");
  ASSERT_EQ(syntax.size(), 1u);
}

TEST_F(MigrationTest, WorkflowAndVersionsMustBeDeployedAndDiffer) {
  EXPECT_EQ(Errors(With(1, "workflow: anders\n")),
            (std::vector<std::string>{"1: no workflow 'anders' is deployed"}));
  EXPECT_EQ(Errors(With(3, "to: 7\n")),
            (std::vector<std::string>{"3: workflow 'migflow' has no version 7 (deployed: 1, 2)"}));
  EXPECT_EQ(Errors(With(3, "to: 1\n")),
            (std::vector<std::string>{
                "3: 'from' and 'to' are both version 1: a migration moves cases to another "
                "version"}));
}

TEST_F(MigrationTest, StatesMustExistAndEveryRunningStateMustBeMapped) {
  EXPECT_EQ(Errors(With(6, "  pruefung: in_pruefung\n  pruefen: in_pruefung\n")),
            (std::vector<std::string>{"7: version 1 of migflow has no state 'pruefen'"}));
  EXPECT_EQ(Errors(With(6, "  pruefung: pruefung\n")),
            (std::vector<std::string>{
                "6: state 'pruefung' is mapped to 'pruefung', but version 2 has no state "
                "'pruefung'"}));
  EXPECT_EQ(Errors(With(6, "  pruefung: genehmigt\n")),
            (std::vector<std::string>{
                "6: state 'pruefung' is mapped to 'genehmigt', a final state of version 2: a "
                "running case cannot rest in it"}));
  EXPECT_EQ(Errors(With(6, "")),
            (std::vector<std::string>{
                "4: state 'pruefung' of version 1 is not mapped: a running case may be in it "
                "(give pruefung: <a state of version 2>)"}));
  // Final states may be left out, or mapped.
  EXPECT_TRUE(Errors(With(6, "  pruefung: in_pruefung\n  genehmigt: genehmigt\n")).empty());
}

TEST_F(MigrationTest, TasksAndDeadlinesMustExistInTheirVersions) {
  EXPECT_EQ(Errors(With(9, "  anhoerung: cancel\n  beteiligung: cancel\n")),
            (std::vector<std::string>{"10: version 1 of migflow has no task 'beteiligung'"}));
  EXPECT_EQ(Errors(With(9, "  anhoerung: keep\n")),
            (std::vector<std::string>{
                "9: task 'anhoerung' is kept, but version 2 has no task 'anhoerung' (rename or "
                "cancel it)"}));
  EXPECT_EQ(Errors(With(8, "  pruefen: {rename: pruefung}\n")),
            (std::vector<std::string>{
                "8: task 'pruefen' is renamed to 'pruefung', but version 2 has no task "
                "'pruefung'"}));
  EXPECT_EQ(Errors(With(9, "")),
            (std::vector<std::string>{
                "7: task 'anhoerung' of version 1 is not in version 2: say what becomes of it "
                "(anhoerung: {rename: NAME} or cancel)"}));
  EXPECT_EQ(Errors(With(9, "  anhoerung: {rename: entscheidung}\n")),
            (std::vector<std::string>{
                "9: tasks 'pruefen' and 'anhoerung' would both become 'entscheidung' in version "
                "2"}));
  EXPECT_EQ(Errors(With(12, "")),
            (std::vector<std::string>{
                "10: deadline 'erinnerung' of version 1 is not in version 2: say what becomes of "
                "it (erinnerung: {rename: NAME} or cancel)"}));
  EXPECT_EQ(Errors(With(12, "  erinnerung: {rename: fiktion}\n")),
            (std::vector<std::string>{
                "12: deadlines 'fiktion' and 'erinnerung' would both become 'fiktion' in version "
                "2"}));
  // A deadline that version 2 has is kept when the mapping does not name it.
  EXPECT_TRUE(Errors(With(11, "")).empty());
  EXPECT_TRUE(Errors(With(11, "  fiktion: cancel\n")).empty());
}

TEST_F(MigrationTest, JsonMappingsReportTheirProblemsWithoutLines) {
  Result<Value> v = Value::ParseJson(
      R"({"workflow":"migflow","from":1,"to":2,"states":{"pruefung":5},"extra":true})");
  ASSERT_TRUE(v.ok());
  MigrationParse p = MigrationFromValue(*v, "data.mapping");
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].ToString(),
            "data.mapping: unknown key 'extra' (expected workflow, from, to, states, tasks, "
            "deadlines)");
  EXPECT_EQ(p.errors[1].ToString(),
            "data.mapping: state 'pruefung': the target must be a state's name");
}

}  // namespace
}  // namespace amtsweg::dsl
