// The command line as an operator meets it: errors that name the unknown command, decimal
// integers, the documented exit codes, --log-level after the command, JSON logs with their UTC
// offset, machine-readable results, every option from the environment and from a configuration
// file in the documented precedence, and the error for a store another process holds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "engine/common/value.h"
#include "engine/store/store.h"
#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

const std::string kRepo = AMTSWEG_SOURCE_DIR;
const std::string kWorkflows = kRepo + "/workflows";
const std::string kDirectory = kRepo + "/workflows/directory/schleswig-holstein.yaml";

using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;

Output Amtsweg(const std::string& args, const std::string& env = "") {
  return amtsweg::testing::RunAmtsweg(args, env);
}

// The year in the header of `holidays`: "Public holidays of DE-SH (Schleswig-Holstein), 2027".
std::string HolidaysYear(const Output& o) {
  std::smatch m;
  if (!std::regex_search(o.out, m, std::regex(R"(Public holidays of [^\n]*, (\d{4}))"))) return "";
  return m[1];
}

class CliOptionsTest : public ::testing::Test {
 protected:
  testing::TempDir dir_{"amtsweg-cli-options"};
  std::string data_ = dir_.path() + "/data";

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // A store with the shipped samples' first stream.
  Output RunSamples(const std::string& extra = "", const std::string& env = "") {
    return Amtsweg("run --workflows " + kWorkflows + " --directory " + kDirectory + " --data-dir " +
                       data_ + " --source file:" + kRepo +
                       "/workflows/samples/01-gewerbeanmeldung.jsonl --until-idle" + extra,
                   env);
  }
};

TEST_F(CliOptionsTest, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  Output top = Amtsweg("frobnicate --data-dir x");
  EXPECT_EQ(top.code, 2);
  EXPECT_NE(top.err.find("amtsweg: unknown command 'frobnicate'"), std::string::npos) << top.err;
  EXPECT_NE(top.err.find("run, produce"), std::string::npos) << top.err;
  Output nested = Amtsweg("--log-level info case frob");
  EXPECT_EQ(nested.code, 2);
  EXPECT_NE(nested.err.find("amtsweg case: unknown command 'frob'; the commands are: list, show"),
            std::string::npos)
      << nested.err;
}

TEST_F(CliOptionsTest, IntegerOptionsTakeDecimalDigitsOnly) {
  for (const char* bad : {"010", "0x10", "1e3", "-1", "' 5'", "1.5"}) {
    Output o = Amtsweg(std::string("holidays --land SH --year 2027 --to-year ") + bad);
    EXPECT_EQ(o.code, 2) << bad << ": " << o.out;
    EXPECT_NE(o.err.find("--to-year"), std::string::npos) << bad << ": " << o.err;
  }
  Output octal = Amtsweg("run --workflows " + kWorkflows + " --directory " + kDirectory +
                         " --data-dir " + data_ + " --advance-to 2026-01-01T00:00:00Z --batch 010");
  EXPECT_EQ(octal.code, 2);
  EXPECT_NE(octal.err.find("'010' is not a decimal number"), std::string::npos) << octal.err;
  EXPECT_FALSE(std::filesystem::exists(data_)) << "refused before the store was created";
  Output ok = Amtsweg("holidays --land SH --year 2027 --to-year 2028");
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST_F(CliOptionsTest, UnreadableFilesAreUsageErrorsEverywhere) {
  const std::string missing = dir_.path() + "/missing.yaml";
  std::string bauantrag = kWorkflows + "/bauantrag.yaml";
  Output a = Amtsweg("validate " + missing);
  EXPECT_EQ(a.code, 2) << a.err;
  EXPECT_NE(a.err.find(missing), std::string::npos) << a.err;
  Output b = Amtsweg("validate --directory " + missing + " " + bauantrag);
  EXPECT_EQ(b.code, 2) << b.err;
  const std::string not_a_directory = Write("directory.yaml", "organisations: [oops\n");
  Output c = Amtsweg("validate --directory " + not_a_directory + " " + bauantrag);
  EXPECT_EQ(c.code, 2) << c.err;
  EXPECT_NE(c.err.find("--directory"), std::string::npos) << c.err;
  Output d = Amtsweg("migrate --workflow bauantrag --from 1 --to 2 --map " + missing +
                     " --workflows " + kWorkflows + " --directory " + kDirectory);
  EXPECT_EQ(d.code, 2) << d.err;
  Output e = Amtsweg("serve --directory " + kDirectory + " --principals " + missing);
  EXPECT_EQ(e.code, 2) << e.err;
  Output f = Amtsweg("case list --config " + missing);
  EXPECT_EQ(f.code, 2) << f.err;
  // A finding about the definitions stays 1.
  const std::string broken = Write("broken.yaml", "name: x\nversion: 1\n");
  EXPECT_EQ(Amtsweg("validate " + broken).code, 1);
}

// The first run on a fresh store warns that it generated a KEK (spdlog, level warn).
TEST_F(CliOptionsTest, LogOptionsWorkAfterTheCommandAndLogsCanBeJsonWithTheirOffset) {
  auto fresh = [this] {
    std::filesystem::remove_all(data_);
    std::filesystem::remove_all(data_ + ".keys");
  };
  Output text = RunSamples();
  ASSERT_EQ(text.code, 0) << text.err;
  std::regex stamped(
      R"((^|\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d warning generated a new KEK)");
  EXPECT_TRUE(std::regex_search(text.err, stamped)) << text.err;

  fresh();
  Output off = RunSamples(" --log-level off");
  ASSERT_EQ(off.code, 0) << off.err;
  EXPECT_EQ(off.err.find("generated a new KEK"), std::string::npos) << off.err;

  fresh();
  Output json = RunSamples(" --log-format json", "TZ=Europe/Berlin");
  ASSERT_EQ(json.code, 0) << json.err;
  std::vector<Value> logs = JsonLines(json.err);
  ASSERT_FALSE(logs.empty()) << json.err;
  std::regex rfc3339(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0[12]:00$)");  // CET or CEST
  bool kek = false;
  for (const Value& line : logs) {
    EXPECT_TRUE(std::regex_match(line["time"].as_string(), rfc3339)) << line.ToJson();
    EXPECT_EQ(line["logger"].as_string(), "amtsweg");
    kek = kek || (line["level"].as_string() == "warning" &&
                  line["message"].as_string().find("generated a new KEK") != std::string::npos);
  }
  EXPECT_TRUE(kek) << json.err;
}

TEST_F(CliOptionsTest, ABadKindInAFilterIsAnErrorNotAnEmptyAnswer) {
  ASSERT_EQ(RunSamples(" -q").code, 0);
  Output bad = Amtsweg("dead-letters --kind malformd --data-dir " + data_);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("malformd"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

// Every kind of the table in docs/events.md is a kind that `dead-letters --kind` takes.
TEST_F(CliOptionsTest, DeadLetterKindsAreTheDocumentedOnes) {
  ASSERT_EQ(RunSamples(" -q").code, 0);
  std::ifstream in(kRepo + "/docs/events.md");
  std::string line;
  bool in_table = false;
  std::set<std::string> kinds;
  while (std::getline(in, line)) {
    if (line == "| kind | when |") in_table = true;
    if (in_table && line.rfind("| `", 0) != 0 && line.rfind("| kind", 0) != 0 &&
        line.rfind("|---", 0) != 0)
      in_table = false;
    if (!in_table || line.rfind("| `", 0) != 0) continue;
    std::string first = line.substr(1, line.find('|', 1) - 1);
    std::regex code("`([a-z-]+)`");
    for (std::sregex_iterator it(first.begin(), first.end(), code), end; it != end; ++it)
      kinds.insert((*it)[1]);
  }
  ASSERT_GT(kinds.size(), 20u) << "the table of kinds in docs/events.md was not found";
  for (const std::string& kind : kinds) {
    Output o = Amtsweg("dead-letters --json --kind " + kind + " --data-dir " + data_);
    EXPECT_EQ(o.code, 0) << kind << ": " << o.err;
  }
}

TEST_F(CliOptionsTest, ResultsAreMachineReadable) {
  Output run = RunSamples(" --json");
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<Value> summary = JsonLines(run.out);
  ASSERT_EQ(summary.size(), 1u) << run.out;
  const Value& s = summary[0];
  EXPECT_GT(s["inputs"].as_int(), 0);
  EXPECT_EQ(s["inputs"].as_int(),
            s["accepted"].as_int() + s["refused"].as_int() + s["duplicates"].as_int());
  EXPECT_EQ(s["timers_fired"].as_int(), s["timers_expired"].as_int() + s["timers_stale"].as_int() +
                                            s["timers_refused"].as_int());
  EXPECT_GT(s["cases_opened"].as_int(), 0);
  EXPECT_FALSE(s["clock"].as_string().empty());

  Output audit = Amtsweg("audit verify --json --data-dir " + data_);
  ASSERT_EQ(audit.code, 0) << audit.err;
  std::vector<Value> verified = JsonLines(audit.out);
  ASSERT_EQ(verified.size(), 1u) << audit.out;
  EXPECT_EQ(verified[0]["cases"].as_int(), s["cases_opened"].as_int());
  EXPECT_TRUE(verified[0]["intact"].as_bool());
  EXPECT_EQ(verified[0]["tampered"].items().size(), 0u);

  const std::string broken = Write("broken.yaml", "name: x\nversion: 1\nstart: {to: nowhere}\n");
  Output validate = Amtsweg("validate --json --directory " + kDirectory + " " + kWorkflows +
                            "/bauantrag.yaml " + broken);
  EXPECT_EQ(validate.code, 1);
  std::vector<Value> files = JsonLines(validate.out);
  ASSERT_EQ(files.size(), 2u) << validate.out;
  EXPECT_TRUE(files[0]["ok"].as_bool());
  EXPECT_EQ(files[0]["workflow"].as_string(), "bauantrag");
  EXPECT_FALSE(files[1]["ok"].as_bool());
  ASSERT_FALSE(files[1]["errors"].items().empty());
  const Value& error = files[1]["errors"].items()[0];
  EXPECT_EQ(error["file"].as_string(), broken);
  EXPECT_GT(error["line"].as_int(), 0);
  EXPECT_FALSE(error["message"].as_string().empty());
}

// command line > AMTSWEG_<COMMAND>_<OPTION> > AMTSWEG_<OPTION> > configuration file > default.
TEST_F(CliOptionsTest, EveryOptionComesFromTheCommandLineTheEnvironmentOrTheFileInThatOrder) {
  const std::string config =
      Write("amtsweg.toml", "log-level = \"warn\"\n\n[holidays]\nland = \"SH\"\nyear = 2025\n");
  const std::string with = "--config " + config + " ";
  EXPECT_EQ(HolidaysYear(Amtsweg(with + "holidays")), "2025");
  EXPECT_EQ(HolidaysYear(Amtsweg("holidays", "AMTSWEG_CONFIG=" + config)), "2025");
  EXPECT_EQ(HolidaysYear(Amtsweg(with + "holidays", "AMTSWEG_YEAR=2024")), "2024");
  EXPECT_EQ(
      HolidaysYear(Amtsweg(with + "holidays", "AMTSWEG_YEAR=2024 AMTSWEG_HOLIDAYS_YEAR=2026")),
      "2026");
  EXPECT_EQ(HolidaysYear(Amtsweg(with + "holidays --year 2027", "AMTSWEG_HOLIDAYS_YEAR=2026")),
            "2027");
  EXPECT_EQ(HolidaysYear(Amtsweg(with + "holidays", "AMTSWEG_HOLIDAYS_YEAR=")), "2025")
      << "an empty variable counts as unset";
  // A flag from the environment, a required option from it, an integer checked from it.
  Output json =
      Amtsweg("holidays --year 2027", "AMTSWEG_HOLIDAYS_LAND=BY AMTSWEG_HOLIDAYS_JSON=true");
  ASSERT_EQ(json.code, 0) << json.err;
  std::vector<Value> days = JsonLines(json.out);
  ASSERT_FALSE(days.empty());
  EXPECT_EQ(days[0]["calendar"].as_string().rfind("DE-BY", 0), 0u) << days[0].ToJson();
  Output octal = Amtsweg("holidays --land SH", "AMTSWEG_HOLIDAYS_YEAR=0x7eb");
  EXPECT_EQ(octal.code, 2) << octal.out;

  // The same for a store's --data-dir, whose shared variable AMTSWEG_DATA_DIR is the old one.
  ASSERT_EQ(RunSamples(" -q").code, 0);
  const std::string other = dir_.path() + "/other";
  for (const std::string& env :
       {"AMTSWEG_DATA_DIR=" + data_, "AMTSWEG_CASE_LIST_DATA_DIR=" + data_,
        "AMTSWEG_DATA_DIR=" + other + " AMTSWEG_CASE_LIST_DATA_DIR=" + data_}) {
    Output list = Amtsweg("case list --json", env);
    EXPECT_EQ(list.code, 0) << env << ": " << list.err;
    EXPECT_FALSE(JsonLines(list.out).empty()) << env;
  }
  const std::string lists = Write("list.toml", "[case.list]\ndata-dir = \"" + data_ + "\"\n");
  Output from_file = Amtsweg("case list --json --config " + lists);
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  EXPECT_FALSE(JsonLines(from_file.out).empty());
  Output env_over_file = Amtsweg("case list --config " + lists, "AMTSWEG_DATA_DIR=" + other);
  EXPECT_NE(env_over_file.code, 0);
  EXPECT_NE(env_over_file.err.find(other), std::string::npos) << env_over_file.err;
}

TEST_F(CliOptionsTest, AConfigurationFileWithAnUnknownKeyOrTableIsRefused) {
  const std::string key = Write("key.toml", "[holidays]\nland = \"SH\"\nyera = 2025\n");
  Output a = Amtsweg("--config " + key + " holidays --year 2027");
  EXPECT_EQ(a.code, 2);
  EXPECT_NE(a.err.find("--config: [holidays] has no option 'yera'"), std::string::npos) << a.err;
  const std::string table = Write("table.toml", "[holiday]\nland = \"SH\"\n");
  Output b = Amtsweg("holidays --land SH --year 2027 --config " + table);
  EXPECT_EQ(b.code, 2);
  EXPECT_NE(b.err.find("--config: [holiday] is no command"), std::string::npos) << b.err;
}

TEST_F(CliOptionsTest, TheHelpNamesEachOptionsVariable) {
  Output help = Amtsweg("run --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("AMTSWEG_RUN_BOOTSTRAP"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("AMTSWEG_RUN_DATA_DIR"), std::string::npos) << help.out;
}

TEST_F(CliOptionsTest, AStoreThatAnotherProcessHoldsGivesTheLockError) {
  ASSERT_EQ(RunSamples(" -q").code, 0);
  store::Options options;
  options.create_if_missing = false;
  Result<std::unique_ptr<store::Store>> held = store::Store::Open(data_, options);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  Output list = Amtsweg("case list --data-dir " + data_);
  EXPECT_EQ(list.code, 3);
  EXPECT_NE(list.err.find("the store " + data_ + " is in use by another process"),
            std::string::npos)
      << list.err;
  Output run = RunSamples();
  EXPECT_EQ(run.code, 3);
  EXPECT_NE(run.err.find("is in use by another process"), std::string::npos) << run.err;
}

TEST_F(CliOptionsTest, TokenAddsItsLineToThePrincipalsFile) {
  const std::string principals = dir_.path() + "/principals.yaml";
  Output first = Amtsweg("token --name pruefer --role auditor --add-to " + principals);
  ASSERT_EQ(first.code, 0) << first.err;
  Output second =
      Amtsweg("token --name ihk --role participant --organisation ihk-kiel --add-to " + principals);
  ASSERT_EQ(second.code, 0) << second.err;
  std::ifstream in(principals);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("principals:\n  - {name: pruefer, role: auditor, token_sha256: ", 0), 0u)
      << text;
  EXPECT_NE(text.find("\n  - {name: ihk, role: participant, organisation: ihk-kiel, "),
            std::string::npos)
      << text;
  EXPECT_EQ(Amtsweg("token --add-to " + principals).code, 2) << "a line needs a --name";
}

}  // namespace
}  // namespace amtsweg
