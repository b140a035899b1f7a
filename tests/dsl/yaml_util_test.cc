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

}  // namespace
}  // namespace amtsweg::dsl
