// The loaders against tests/schema-corpus: what the JSON Schemas accept (accepted, loader-only
// aside) the loaders load, what the schemas refuse the loaders refuse, each with its message.
// tests/dsl/workflow_schema.py checks the schema side of the same documents.
#include "tests/testing/schema_corpus.h"

#include <gtest/gtest.h>

#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"

namespace amtsweg::dsl {
namespace {

const std::string kRepo = AMTSWEG_SOURCE_DIR;

std::string Joined(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const Diagnostic& d : errors)
    out += d.ToString() + "\n";
  return out;
}

// Checks one document's verdict given the loader's errors ("" when it loaded).
void Check(const testing::CorpusDocument& d, const std::string& errors) {
  SCOPED_TRACE(d.path);
  if (d.verdict == "accepted") {
    EXPECT_EQ(errors, "") << d.path << " is accepted by the schema";
  } else {
    EXPECT_NE(errors, "") << d.path << " (" << d.verdict << ") loaded";
    EXPECT_NE(errors.find(d.expect), std::string::npos)
        << d.path << ": expected the message to contain \"" << d.expect << "\"; got\n"
        << errors;
  }
}

TEST(SchemaCorpus, WorkflowLoaderJudgesTheCorpusAsTheSchema) {
  std::vector<testing::CorpusDocument> corpus = testing::SchemaCorpus(kRepo, "workflow");
  ASSERT_GT(corpus.size(), 40u);
  for (const testing::CorpusDocument& d : corpus) {
    LoadResult r = LoadDefinition(d.text, d.path);
    Check(d, Joined(r.errors));
    EXPECT_EQ(r.definition != nullptr, r.errors.empty()) << d.path;
  }
}

TEST(SchemaCorpus, DirectoryLoaderJudgesTheCorpusAsTheSchema) {
  std::vector<testing::CorpusDocument> corpus = testing::SchemaCorpus(kRepo, "directory");
  ASSERT_GT(corpus.size(), 20u);
  for (const testing::CorpusDocument& d : corpus) {
    Result<std::unique_ptr<Directory>> dir = Directory::Parse(d.text, d.path);
    Check(d, dir.ok() ? "" : dir.status().message());
  }
}

TEST(SchemaCorpus, ShippedFilesWithTheirSchemaLineLoad) {
  // The first line names the schema for the YAML language server; it is a comment to the loader.
  std::string workflow = testing::ReadFile(kRepo + "/workflows/gewerbeanmeldung.yaml");
  ASSERT_TRUE(workflow.starts_with("# yaml-language-server: $schema=../docs/workflow.schema.json"));
  auto dir = Directory::Load(kRepo + "/workflows/directory/schleswig-holstein.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  LoadResult r = LoadDefinition(workflow, "gewerbeanmeldung.yaml", dir->get());
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
}

}  // namespace
}  // namespace amtsweg::dsl
