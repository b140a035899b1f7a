// `amtsweg migrate` and `amtsweg validate --migration` through the binary, on a store whose
// cases of tests/data/migration's migflow opened on version 1 before version 2 was deployed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/common/value.h"
#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/migration";

using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;
using amtsweg::testing::RunAmtsweg;

class MigrateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workflows_ = dir_.path() + "/workflows";
    data_ = dir_.path() + "/data";
    fs::create_directories(workflows_);
    fs::copy_file(kData + "/workflows/migflow-v1.yaml", workflows_ + "/migflow-v1.yaml");
    // C-1 in pruefung, C-2 in eingegangen, C-3 approved (closed), all on version 1.
    Output run = RunAmtsweg("run --workflows " + workflows_ + " --directory " + kData +
                            "/directory.yaml --data-dir " + data_ + " --source file:" + kData +
                            "/cases.jsonl --until-idle -q");
    ASSERT_EQ(run.code, 0) << run.err;
    fs::copy_file(kData + "/workflows/migflow-v2.yaml", workflows_ + "/migflow-v2.yaml");
  }

  Output Migrate(const std::string& extra, const std::string& map = kData + "/mapping.yaml") {
    return RunAmtsweg("migrate --workflow migflow --from 1 --to 2 --map " + map + " --workflows " +
                      workflows_ + " --directory " + kData + "/directory.yaml --data-dir " + data_ +
                      " " + extra);
  }

  std::string Show(const std::string& id) {
    Output o = RunAmtsweg("case show " + id + " --json --data-dir " + data_);
    EXPECT_EQ(o.code, 0) << o.err;
    return o.out;
  }

  testing::TempDir dir_{"amtsweg-migrate"};
  std::string workflows_, data_;
};

TEST_F(MigrateCliTest, ValidateChecksAMappingAgainstTheDefinitions) {
  Output ok =
      RunAmtsweg("validate --migration " + kData + "/mapping.yaml --workflows " + workflows_);
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok (migflow version 1 -> 2, 2 states mapped)"), std::string::npos);
  const std::string bad = dir_.path() + "/bad.yaml";
  {
    std::ofstream f(bad);
    f << "workflow: migflow\nfrom: 1\nto: 2\nstates:\n  pruefung: in_pruefung\n  eingegangen: "
         "weg\n";
  }
  Output o = RunAmtsweg("validate --migration " + bad + " --workflows " + workflows_);
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find(bad + ":6:3: state 'eingegangen' is mapped to 'weg', but version 2 has no "
                             "state 'weg'"),
            std::string::npos)
      << o.err;
}

TEST_F(MigrateCliTest, ADryRunPrintsThePlanAndChangesNothing) {
  const std::string before1 = Show("C-1"), before2 = Show("C-2");
  Output o = Migrate("--dry-run");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("C-1: pruefung -> in_pruefung; tasks: renamed pruefen -> entscheidung, "
                       "cancelled anhoerung; deadlines: kept fiktion, cancelled erinnerung"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("C-2: eingegangen -> eingegangen"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("C-3"), std::string::npos) << o.out;  // closed: not a running case
  EXPECT_EQ(Show("C-1"), before1);
  EXPECT_EQ(Show("C-2"), before2);
}

TEST_F(MigrateCliTest, ARealRunRecordsCaseMigratedAndTheAccessLog) {
  Output o = Migrate("--reason Satzungsaenderung");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("migrated 2 case(s) of migflow from version 1 to 2, refused 0"),
            std::string::npos)
      << o.out;
  Output history = RunAmtsweg("case history C-1 --data-dir " + data_);
  ASSERT_EQ(history.code, 0) << history.err;
  bool found = false;
  for (const Value& e : JsonLines(history.out)) {
    if (e["type"].as_string() != "case.migrated") continue;
    found = true;
    EXPECT_EQ(e["data"]["to_state"].as_string(), "in_pruefung");
    EXPECT_EQ(e["data"]["by"].as_string().rfind("local:", 0), 0u);
    EXPECT_EQ(e["data"]["reason"].as_string(), "Satzungsaenderung");
  }
  EXPECT_TRUE(found) << history.out;
  Result<Value> shown = Value::ParseJson(Show("C-1"));
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["version"].as_int(), 2);
  // A second run finds nothing left on version 1.
  Output again = Migrate("");
  EXPECT_NE(again.out.find("migrated 0 case(s)"), std::string::npos) << again.out;
  Output audit = RunAmtsweg("audit verify -q --data-dir " + data_);
  EXPECT_EQ(audit.code, 0) << audit.out << audit.err;
}

TEST_F(MigrateCliTest, BadRequestsChangeNothing) {
  const std::string before = Show("C-1");
  Output closed = Migrate("--case C-3");
  EXPECT_EQ(closed.code, 1);
  EXPECT_NE(closed.err.find("case 'C-3' is closed"), std::string::npos) << closed.err;
  Output missing = Migrate("--case C-9");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no case 'C-9'"), std::string::npos) << missing.err;
  const std::string bad = dir_.path() + "/bad.yaml";
  {
    std::ofstream f(bad);
    f << "workflow: migflow\nfrom: 1\nto: 2\nstate:\n  pruefung: in_pruefung\n";
  }
  Output invalid = Migrate("", bad);
  EXPECT_EQ(invalid.code, 1);
  EXPECT_NE(invalid.err.find(bad + ":4:1: unknown key 'state'"), std::string::npos) << invalid.err;
  Output other = RunAmtsweg("migrate --workflow migflow --from 2 --to 1 --map " + kData +
                            "/mapping.yaml --workflows " + workflows_ + " --directory " + kData +
                            "/directory.yaml --data-dir " + data_);
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("maps migflow version 1 -> 2, not migflow version 2 -> 1"),
            std::string::npos)
      << other.err;
  EXPECT_EQ(Show("C-1"), before);
}

}  // namespace
}  // namespace amtsweg
