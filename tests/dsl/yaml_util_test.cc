// The bounds on reading YAML (engine/dsl/yaml_util.h, LoadDocument) through both loaders: alias
// bombs and multi-document files are refused with their position, quickly.
#include <gtest/gtest.h>

#include <string>

#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"

namespace amtsweg::dsl {
namespace {

// "Billion laughs": nine levels of ten aliases each, about 10^9 nodes once expanded, in well under
// 7 KiB, under `key`.
std::string AliasBomb(std::string_view key) {
  std::string out = std::string(key) + ":\n";
  out += "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 9; ++level) {
    std::string prev = "*a" + std::to_string(level - 1);
    out += "  a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i)
      out += (i == 0 ? "" : ", ") + prev;
    out += "]\n";
  }
  return out;
}

constexpr char kWorkflowHead[] = R"(name: test
version: 1
leika: "99050012104000"
start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
)";

std::string Joined(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const Diagnostic& d : errors)
    out += d.ToString() + "\n";
  return out;
}

TEST(YamlLimitsTest, WorkflowAliasBombIsRefusedAtTheAliasThatPassesTheLimit) {
  std::string yaml = std::string(kWorkflowHead) + AliasBomb("x-bomb");
  ASSERT_LT(yaml.size(), 7u * 1024);
  LoadResult r = LoadDefinition(yaml, "bomb.yaml");
  EXPECT_EQ(r.definition, nullptr);
  ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
  EXPECT_EQ(r.errors[0].file, "bomb.yaml");
  EXPECT_EQ(r.errors[0].line, 14) << Joined(r.errors);  // the level whose aliases pass 100000
  EXPECT_NE(r.errors[0].message.find("expands to more than 100000 nodes"), std::string::npos)
      << r.errors[0].message;
}

TEST(YamlLimitsTest, AliasesWithinTheLimitStillLoad) {
  std::string yaml = std::string(kWorkflowHead) +
                     "x-fields: &fields [name, ags]\n"
                     "x-again: *fields\n";
  LoadResult r = LoadDefinition(yaml, "ok.yaml");
  // Unknown top-level keys are reported, but by the validator: reading itself was not refused.
  for (const Diagnostic& d : r.errors)
    EXPECT_EQ(d.message.find("expands to more than"), std::string::npos) << d.ToString();
}

TEST(YamlLimitsTest, WorkflowWithASecondDocumentIsRefused) {
  std::string yaml = std::string(kWorkflowHead) + "---\nname: other\n";
  LoadResult r = LoadDefinition(yaml, "two.yaml");
  EXPECT_EQ(r.definition, nullptr);
  ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
  EXPECT_EQ(r.errors[0].ToString(),
            "two.yaml:9:1: a second YAML document ('---'): a file holds exactly one");
  // One document with an explicit start marker is fine.
  EXPECT_NE(LoadDefinition("---\n" + std::string(kWorkflowHead), "one.yaml").definition, nullptr);
}

TEST(YamlLimitsTest, DirectoryAliasBombAndSecondDocumentAreRefused) {
  // The directory's limit is higher (1000000 nodes); the bomb passes it all the same.
  std::string yaml = "organisations: []\n" + AliasBomb("x-bomb");
  auto dir = Directory::Parse(yaml, "bomb.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("expands to more than 1000000 nodes"), std::string::npos)
      << dir.status().message();
  EXPECT_TRUE(dir.status().message().starts_with("bomb.yaml:8:")) << dir.status().message();

  auto two = Directory::Parse(
      "organisations: []\n---\norganisations:\n  - {id: x, kind: state, name: X, functions: [a], "
      "area: [\"01\"]}\n",
      "two.yaml");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(),
            "two.yaml:2:1: a second YAML document ('---'): a file holds exactly one");
}

// yaml-cpp 0.7 reads the escapes \N and \_ of double-quoted strings as the single bytes 0x85 and
// 0xA0, which are not UTF-8; every string read ends up in JSON (events, the API's answers), so
// such a string, like a file that is not UTF-8, is refused where it is.
TEST(YamlUtf8Test, AStringThatIsNotUtf8OnceReadIsRefusedAtItsPosition) {
  for (const char* escape : {"\\N", "\\_"}) {
    std::string yaml = std::string(kWorkflowHead) + "title: \"a" + escape + "b\"\n";
    LoadResult r = LoadDefinition(yaml, "escape.yaml");
    EXPECT_EQ(r.definition, nullptr) << escape;
    ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
    EXPECT_EQ(r.errors[0].line, 9) << Joined(r.errors);
    EXPECT_EQ(r.errors[0].column, 8) << Joined(r.errors);
    EXPECT_NE(r.errors[0].message.find("not valid UTF-8"), std::string::npos)
        << r.errors[0].message;
  }
  // A key as well; and a file that is not UTF-8 (Latin-1).
  LoadResult key = LoadDefinition(std::string(kWorkflowHead) + "\"x-\\N\": 1\n", "key.yaml");
  ASSERT_EQ(key.errors.size(), 1u) << Joined(key.errors);
  EXPECT_NE(key.errors[0].message.find("not valid UTF-8"), std::string::npos);
  LoadResult latin1 = LoadDefinition(std::string(kWorkflowHead) +
                                         "title: Gr\xfc\xdf"
                                         "e\n",
                                     "l.yaml");
  ASSERT_EQ(latin1.errors.size(), 1u) << Joined(latin1.errors);
  EXPECT_NE(latin1.errors[0].message.find("not valid UTF-8"), std::string::npos);
  auto dir = Directory::Parse("organisations: []\nx: \"\\_\"\n", "dir.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(dir.status().message().starts_with("dir.yaml:2:4: a string that is not valid UTF-8"))
      << dir.status().message();

  // The same characters written as \u escapes, or as themselves, read as UTF-8.
  LoadResult ok = LoadDefinition(
      std::string(kWorkflowHead) + "title: \"a\\u0085b\\u00a0c \xc3\xa4\"\n", "ok.yaml");
  ASSERT_NE(ok.definition, nullptr) << Joined(ok.errors);
  EXPECT_EQ(ok.definition->title,
            "a\xc2\x85"
            "b\xc2\xa0"
            "c \xc3\xa4");
}

TEST(YamlUtf8Test, ASyntaxErrorQuotingPartOfACharacterIsStillUtf8) {
  // yaml-cpp names the unknown escape by its first byte only (here 0xC3 of 'é').
  LoadResult r = LoadDefinition("name: \"a\\\xc3\xa9\"\n", "e.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
  EXPECT_EQ(r.errors[0].message, "YAML syntax error: unknown escape character: \xef\xbf\xbd");
}

}  // namespace
}  // namespace amtsweg::dsl
