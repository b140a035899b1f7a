// The shipped workflows and the sample directory: all load cleanly, and every role resolves.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"

namespace amtsweg::dsl {
namespace {

const std::string kWorkflows = std::string(AMTSWEG_SOURCE_DIR) + "/workflows";
const std::string kDirectoryFile = kWorkflows + "/directory/schleswig-holstein.yaml";

// The sample municipalities of docs/domain.md.
const std::vector<std::string> kSampleAgs = {"01001000", "01002000", "01003000", "01004000",
                                             "01054056", "01056015", "01056039", "01058043",
                                             "01058135", "01059075", "01060063"};

std::unique_ptr<Directory> LoadDirectory() {
  auto dir = Directory::Load(kDirectoryFile);
  EXPECT_TRUE(dir.ok()) << dir.status().ToString();
  return dir.ok() ? std::move(dir).value() : nullptr;
}

std::string Join(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const Diagnostic& d : errors)
    out += d.ToString() + "\n";
  return out;
}

// An application object with `value` at the dotted `path` ("betrieb.ags").
Value Nest(std::string_view path, Value value) {
  size_t dot = path.rfind('.');
  std::string_view last = dot == std::string_view::npos ? path : path.substr(dot + 1);
  Value v = ObjectBuilder().Add(std::string(last), std::move(value)).Build();
  return dot == std::string_view::npos ? v : Nest(path.substr(0, dot), std::move(v));
}

TEST(WorkflowsTest, DirectoryLoads) {
  auto dir = LoadDirectory();
  ASSERT_NE(dir, nullptr);
  EXPECT_GT(dir->organisations().size(), 40u);
}

TEST(WorkflowsTest, AllShippedWorkflowsLoadWithoutErrors) {
  auto dir = LoadDirectory();
  ASSERT_NE(dir, nullptr);
  RegistryLoadResult r = LoadRegistry(kWorkflows, dir.get());
  EXPECT_TRUE(r.errors.empty()) << Join(r.errors);
  std::vector<std::string> names;
  for (const Definition* d : r.registry.All())
    names.push_back(d->name);
  EXPECT_EQ(names, (std::vector<std::string>{"bauantrag", "bimschg-windenergie", "gewerbeanmeldung",
                                             "handwerksrolle"}));
  const Definition* gewerbe = r.registry.ForLeika("99050012104000");
  ASSERT_NE(gewerbe, nullptr);
  EXPECT_EQ(gewerbe->name, "gewerbeanmeldung");
  EXPECT_TRUE(r.registry.HandlesType("de.amtsweg.application.submitted"));
  EXPECT_TRUE(r.registry.HandlesType("de.amtsweg.documents.completed"));
}

TEST(WorkflowsTest, EveryRoleResolvesForEverySampleMunicipality) {
  auto dir = LoadDirectory();
  ASSERT_NE(dir, nullptr);
  RegistryLoadResult r = LoadRegistry(kWorkflows, dir.get());
  ASSERT_TRUE(r.errors.empty()) << Join(r.errors);
  for (const Definition* def : r.registry.All()) {
    for (const Role& role : def->roles) {
      for (const RoleCandidate& c : role.candidates) {
        if (!c.organisation.empty()) {
          EXPECT_NE(dir->Find(c.organisation), nullptr) << def->name << "/" << role.name;
          continue;
        }
        ASSERT_NE(c.area, nullptr);
        ASSERT_EQ(c.area->paths().size(), 1u) << c.area->text();
        const std::string& path = c.area->paths()[0];
        ASSERT_TRUE(path.starts_with("application.")) << path;
        for (const std::string& ags : kSampleAgs) {
          Value app = Nest(path.substr(12), Value(ags));
          EvalContext ctx{&app, nullptr, &app};
          Value area = c.area->Evaluate(ctx);
          ASSERT_TRUE(area.is_string()) << c.area->text();
          const Organisation* org = dir->Responsible(c.function, area.as_string());
          EXPECT_NE(org, nullptr) << def->name << ": role " << role.name << " (function "
                                  << c.function << ") has no organisation for AGS " << ags;
        }
      }
    }
  }
}

TEST(WorkflowsTest, RoutingExamples) {
  auto dir = LoadDirectory();
  ASSERT_NE(dir, nullptr);
  auto id = [&](std::string_view f, std::string_view ags) -> std::string {
    const Organisation* o = dir->Responsible(f, ags);
    return o ? o->id : "-";
  };
  EXPECT_EQ(id("gewerbeamt", "01002000"), "gewerbeamt-kiel");
  EXPECT_EQ(id("ihk", "01003000"), "ihk-luebeck");
  EXPECT_EQ(id("ihk", "01059075"), "ihk-flensburg");
  EXPECT_EQ(id("hwk", "01056039"), "hwk-luebeck");
  EXPECT_EQ(id("bauaufsicht", "01056015"), "gemeinde-elmshorn");  // delegated to the town
  EXPECT_EQ(id("bauaufsicht", "01056039"), "kreis-pinneberg");
  EXPECT_EQ(id("bauaufsicht", "01002000"), "stadt-kiel");
  EXPECT_EQ(id("kommunalaufsicht", "01002000"), "innenministerium-sh");
  EXPECT_EQ(id("kommunalaufsicht", "01058135"), "kreis-rendsburg-eckernfoerde");
  EXPECT_EQ(id("dguv", "01054056"), "dguv");
}

// The example in docs/workflow-language.md must stay valid.
TEST(WorkflowsTest, DocumentedExampleLoads) {
  std::ifstream in(std::string(AMTSWEG_SOURCE_DIR) + "/docs/workflow-language.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  size_t section = doc.find("## A complete example");
  ASSERT_NE(section, std::string::npos);
  size_t begin = doc.find("```yaml\n", section);
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  size_t end = doc.find("```", begin);
  ASSERT_NE(end, std::string::npos);
  auto dir = LoadDirectory();
  ASSERT_NE(dir, nullptr);
  LoadResult r = LoadDefinition(doc.substr(begin, end - begin), "workflow-language.md", dir.get());
  EXPECT_TRUE(r.errors.empty()) << Join(r.errors);
}

}  // namespace
}  // namespace amtsweg::dsl
