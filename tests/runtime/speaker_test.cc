// Who speaks for an input (CheckSpeaker, engine/runtime/speaker.cc) and the checks at intake of an
// application: case ids usable in URL paths, the submitters of a workflow.
#include <gtest/gtest.h>

#include <string>

#include "engine/runtime/runtime.h"
#include "tests/runtime/test_workflow.h"

namespace amtsweg::runtime {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::Input;

namespace it = input_type;

// The test directory with a portal, a source mapped to IHK Kiel and, optionally, more top-level
// keys (`head`).
std::unique_ptr<dsl::Directory> SpeakerDirectory(const std::string& head = "") {
  std::string yaml = head + "sources:\n  \"urn:ihk-kiel:kammersystem\": ihk-kiel\n" +
                     amtsweg::testing::kDirectoryYaml +
                     "  - {id: portal, kind: portal, name: Portal, functions: [portal], "
                     "sources: [\"urn:portal\"]}\n"
                     "  - {id: portal-2, kind: portal, name: Portal 2, functions: [portal], "
                     "sources: [\"urn:portal-2\"]}\n";
  auto dir = dsl::Directory::Parse(yaml, "directory.yaml");
  EXPECT_TRUE(dir.ok()) << dir.status().ToString();
  return dir.ok() ? std::move(dir).value() : nullptr;
}

InputEvent From(std::string source, std::string participant, std::string channel_org = "") {
  InputEvent in = Input("r1", it::kTaskResponded, "C-1", "2026-01-15T09:00:00Z", Value::Object({}),
                        std::move(participant));
  in.source = std::move(source);
  if (!channel_org.empty()) {
    in.channel = "topic amtsweg.in." + channel_org;
    in.channel_organisation = std::move(channel_org);
  }
  return in;
}

TEST(CheckSpeakerTest, AClaimMustAgreeWithTheChannelAndTheSource) {
  std::unique_ptr<dsl::Directory> dir = SpeakerDirectory();
  ASSERT_NE(dir, nullptr);
  auto check = [&](const InputEvent& in) { return CheckSpeaker(in, *dir); };

  // A shared channel and an unmapped source prove nothing: the claim is taken (as before).
  EXPECT_FALSE(check(From("test", "amt-kiel")).has_value());
  EXPECT_FALSE(check(From("test", "")).has_value());
  // A bound channel: the claim must be its organisation.
  EXPECT_FALSE(check(From("test", "amt-kiel", "amt-kiel")).has_value());
  EXPECT_FALSE(check(From("test", "", "amt-kiel")).has_value());
  std::optional<Rejection> r = check(From("test", "ihk-kiel", "amt-kiel"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, "impersonation");
  EXPECT_EQ(r->reason,
            "participant 'ihk-kiel' claimed, but channel topic amtsweg.in.amt-kiel speaks for "
            "'amt-kiel'");
  // A mapped source: the claim must be the organisation it is mapped to.
  EXPECT_FALSE(check(From("urn:ihk-kiel:kammersystem", "ihk-kiel")).has_value());
  EXPECT_FALSE(check(From("urn:ihk-kiel:kammersystem", "")).has_value());
  r = check(From("urn:ihk-kiel:kammersystem", "amt-kiel"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, "impersonation");
  EXPECT_EQ(r->reason,
            "participant 'amt-kiel' claimed, but source 'urn:ihk-kiel:kammersystem' speaks for "
            "'ihk-kiel'");
  // A portal's sources speak for the portal.
  EXPECT_EQ(check(From("urn:portal", "amt-kiel"))->kind, "impersonation");
  // On a bound channel, a source mapped to another organisation is refused, claim or none: it
  // would otherwise take that organisation's event ids.
  r = check(From("urn:ihk-kiel:kammersystem", "", "amt-kiel"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, "impersonation");
  EXPECT_EQ(r->reason,
            "source 'urn:ihk-kiel:kammersystem' belongs to 'ihk-kiel', but channel topic "
            "amtsweg.in.amt-kiel speaks for 'amt-kiel'");
  EXPECT_FALSE(check(From("urn:ihk-kiel:kammersystem", "ihk-kiel", "ihk-kiel")).has_value());
  // A channel without a name for people still names its organisation.
  InputEvent unnamed = From("test", "ihk-kiel", "amt-kiel");
  unnamed.channel.clear();
  EXPECT_EQ(check(unnamed)->reason,
            "participant 'ihk-kiel' claimed, but its channel speaks for 'amt-kiel'");
  // Clock events speak for nobody.
  InputEvent clock = From("test", "ihk-kiel", "amt-kiel");
  clock.type = std::string(it::kClockAdvanced);
  EXPECT_FALSE(check(clock).has_value());
}

TEST(CheckSpeakerTest, AnInstallationMayRequireEveryClaimToBeBound) {
  std::unique_ptr<dsl::Directory> dir = SpeakerDirectory("participants_must_be_bound: true\n");
  ASSERT_NE(dir, nullptr);
  std::optional<Rejection> r = CheckSpeaker(From("test", "amt-kiel"), *dir);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, "unbound-participant");
  EXPECT_NE(r->reason.find("participant 'amt-kiel' claimed on a channel bound to no "
                           "organisation, from source 'test'"),
            std::string::npos)
      << r->reason;
  EXPECT_FALSE(CheckSpeaker(From("test", ""), *dir).has_value());  // no claim, nothing to bind
  EXPECT_FALSE(CheckSpeaker(From("test", "amt-kiel", "amt-kiel"), *dir).has_value());
  EXPECT_FALSE(CheckSpeaker(From("urn:ihk-kiel:kammersystem", "ihk-kiel"), *dir).has_value());
}

class SpeakerRuntimeTest : public ::testing::Test {
 protected:
  std::unique_ptr<dsl::Directory> directory = SpeakerDirectory();
  dsl::Registry registry;
  CaseState state;

  void SetUp() override {
    ASSERT_NE(directory, nullptr);
    dsl::LoadResult r =
        dsl::LoadDefinition(amtsweg::testing::kWorkflowYaml, "testflow.yaml", directory.get());
    ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
    ASSERT_TRUE(registry.Add(r.definition).ok());
  }

  StepResult Open(const Runtime& rt, std::string case_id = "C-1", std::string source = "test") {
    InputEvent in = Input("a1", it::kApplicationSubmitted, std::move(case_id),
                          "2026-01-15T09:00:00Z", Application("01002000"));
    in.source = std::move(source);
    return rt.Handle(in, &state);
  }
};

TEST_F(SpeakerRuntimeTest, ABoundChannelSpeaksForItsOrganisationAndRefusalsAreRecorded) {
  Runtime rt(registry, *directory);
  // An application through a bound channel opens its case: it is the applicant's, not the
  // channel's.
  InputEvent submit = Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
                            Application("01002000"));
  submit.channel_organisation = "amt-kiel";
  submit.channel = "topic amtsweg.in.amt-kiel";
  StepResult r = rt.Handle(submit, &state);
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;

  // IHK Kiel, on its own channel, claims to be the Amt.
  InputEvent forged = Input("d1", it::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z",
                            Value::Object({}), "amt-kiel");
  forged.channel_organisation = "ihk-kiel";
  forged.channel = "topic amtsweg.in.ihk-kiel";
  r = rt.Handle(forged, &state);
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "impersonation");
  ASSERT_EQ(r.events.size(), 1u);
  const auto& rejected = std::get<InputRejected>(r.events[0].data);
  EXPECT_EQ(rejected.kind, "impersonation");
  EXPECT_EQ(rejected.participant, "amt-kiel");
  EXPECT_EQ(rejected.reason,
            "participant 'amt-kiel' claimed, but channel topic amtsweg.in.ihk-kiel speaks for "
            "'ihk-kiel'");
  EXPECT_EQ(state.state, "received");

  // The Amt's own channel, no claim: the channel's organisation speaks.
  InputEvent own = Input("d2", it::kDocumentsCompleted, "C-1", "2026-01-15T10:05:00Z");
  own.channel_organisation = "amt-kiel";
  own.channel = "topic amtsweg.in.amt-kiel";
  r = rt.Handle(own, &state);
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(state.state, "hearing");
}

TEST_F(SpeakerRuntimeTest, CaseIdsThatBreakUrlPathsAreRefusedAtIntake) {
  Runtime rt(registry, *directory);
  for (std::string id : {"C/1", "C%2F1", "C?1", "C#1", "C 1", "C\\1", ".", "..", "C\x7f"}) {
    state = CaseState();
    StepResult r = Open(rt, id);
    ASSERT_TRUE(r.rejection.has_value()) << id;
    EXPECT_EQ(r.rejection->kind, "invalid-application") << id;
    EXPECT_NE(r.rejection->reason.find("case id (subject) '" + id + "'"), std::string::npos)
        << r.rejection->reason;
    EXPECT_NE(r.rejection->reason.find("must be usable as a URL path segment"), std::string::npos)
        << r.rejection->reason;
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(state.seq, 0u);
  }
  state = CaseState();
  StepResult r = Open(rt, "C-1.2_ä:x");
  EXPECT_FALSE(r.rejection.has_value()) << r.rejection->reason;
}

TEST_F(SpeakerRuntimeTest, OnlyTheNamedPortalsSubmitAWorkflowThatHasSubmitters) {
  std::unique_ptr<dsl::Directory> restricted =
      SpeakerDirectory("submitters:\n  testflow: [portal]\n");
  ASSERT_NE(restricted, nullptr);
  Runtime rt(registry, *restricted);
  StepResult r = Open(rt, "C-1", "test");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unauthorised-submitter");
  EXPECT_EQ(r.rejection->reason,
            "source 'test' may not submit applications of workflow testflow; the directory's "
            "submitters for it are 'portal'");
  EXPECT_TRUE(r.events.empty());
  r = Open(rt, "C-1", "urn:portal-2");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->reason,
            "source 'urn:portal-2' (portal 'portal-2') may not submit applications of workflow "
            "testflow; the directory's submitters for it are 'portal'");
  r = Open(rt, "C-1", "urn:portal");
  EXPECT_FALSE(r.rejection.has_value()) << r.rejection->reason;

  // Without submitters for the workflow, any source opens cases (as before).
  state = CaseState();
  Runtime open(registry, *directory);
  EXPECT_FALSE(Open(open, "C-2", "test").rejection.has_value());
}

}  // namespace
}  // namespace amtsweg::runtime
