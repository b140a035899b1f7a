#include "connectors/http/principals.h"

#include <gtest/gtest.h>

#include "tests/testing/schema_corpus.h"

namespace amtsweg::http {
namespace {

std::unique_ptr<dsl::Directory> Dir() {
  auto d = dsl::Directory::Parse(R"(organisations:
  - id: ihk-kiel
    kind: chamber
    name: IHK Kiel
    functions: [ihk]
    seat: "01002000"
)",
                                 "directory.yaml");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return std::move(d).value();
}

std::string Hash(const std::string& token) {
  return ToHex(Sha256(token));
}

TEST(PrincipalsTest, AuthenticatesByTheHashOfTheToken) {
  auto dir = Dir();
  auto p = Principals::Parse("principals:\n  - {name: a, role: admin, token_sha256: " + Hash("t1") +
                                 "}\n  - {name: i, role: participant, " +
                                 "organisation: ihk-kiel, token_sha256: " + Hash("t2") + "}\n",
                             "p.yaml", *dir);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Principal* a = (*p)->Authenticate("t1");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->role, Role::kAdmin);
  const Principal* i = (*p)->Authenticate("t2");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->organisation, "ihk-kiel");
  EXPECT_EQ((*p)->Authenticate("t3"), nullptr);
  EXPECT_EQ((*p)->Authenticate(""), nullptr);
  EXPECT_EQ((*p)->Authenticate(Hash("t1")), nullptr);  // the hash is not the token
}

TEST(PrincipalsTest, RejectsBadFilesWithLineAndColumn) {
  auto dir = Dir();
  struct Case {
    std::string yaml, message;
  };
  for (const Case& c : std::vector<Case>{
           {"- {name: a, role: root, token_sha256: " + Hash("x") + "}", "p.yaml:1:19: role 'root'"},
           {"- {name: a, role: participant, token_sha256: " + Hash("x") + "}",
            "needs an `organisation`"},
           {"- {name: a, role: participant, organisation: nowhere, token_sha256: " + Hash("x") +
                "}",
            "not in the directory"},
           {"- {name: a, role: admin, organisation: ihk-kiel, token_sha256: " + Hash("x") + "}",
            "only participants"},
           {"- {name: a, role: admin, token_sha256: abc}", "64 hex digits"},
           {"- {name: a, role: admin, token_sha256: " + Hash("x") + "}\n- {name: b, role: admin, " +
                "token_sha256: " + Hash("x") + "}",
            "p.yaml:2:"},
           {"- {name: a, role: admin, token: x}", "unknown key 'token'"},
           {"principals: 3", "expected a list"},
           {"- [unclosed", "p.yaml:"},
       }) {
    auto p = Principals::Parse(c.yaml, "p.yaml", *dir);
    ASSERT_FALSE(p.ok()) << c.yaml;
    EXPECT_TRUE(p.status().IsInvalidArgument());
    EXPECT_NE(p.status().message().find(c.message), std::string::npos)
        << p.status().message() << " lacks " << c.message;
  }
}

TEST(PrincipalsTest, GeneratedTokensAreRandomAndMatchTheirHash) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->token.size(), 64u);
  EXPECT_NE(a->token, b->token);
  EXPECT_EQ(a->sha256, Hash(a->token));
}

// The corpus of tests/schema-corpus/principals, judged as docs/principals.schema.json judges it
// (tests/dsl/workflow_schema.py), with the shipped directory for the participants' organisations.
TEST(PrincipalsTest, JudgesTheSchemaCorpusAsTheSchema) {
  const std::string repo = AMTSWEG_SOURCE_DIR;
  auto dir = dsl::Directory::Load(repo + "/workflows/directory/schleswig-holstein.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  std::vector<testing::CorpusDocument> corpus = testing::SchemaCorpus(repo, "principals");
  ASSERT_GT(corpus.size(), 10u);
  for (const testing::CorpusDocument& d : corpus) {
    auto p = Principals::Parse(d.text, d.path, **dir);
    if (d.verdict == "accepted") {
      EXPECT_TRUE(p.ok()) << d.path << ": " << p.status().ToString();
    } else {
      ASSERT_FALSE(p.ok()) << d.path << " (" << d.verdict << ") loaded";
      EXPECT_NE(p.status().message().find(d.expect), std::string::npos)
          << d.path << ": expected \"" << d.expect << "\" in " << p.status().ToString();
    }
  }
}

}  // namespace
}  // namespace amtsweg::http
