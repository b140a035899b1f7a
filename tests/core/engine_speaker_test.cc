// The engine and who speaks for an input (runtime::CheckSpeaker): inputs on channels bound to an
// organisation (RawInput::channel_organisation), refused before the duplicate check.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/engine.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::CaseEvent;
using amtsweg::testing::TempDir;

// `bytes` as read on a channel bound to `org` (none: a shared channel).
RawInput On(std::string bytes, int line, std::string org = "") {
  RawInput r;
  r.bytes = std::move(bytes);
  r.size = r.bytes.size();
  r.where = "line " + std::to_string(line);
  if (!org.empty()) {
    r.channel = "topic amtsweg.in." + org;
    r.channel_organisation = std::move(org);
  }
  return r;
}

std::vector<std::string> Dead(const store::Store& st) {
  std::vector<std::string> out;
  EXPECT_TRUE(st.ScanDeadLetters([&](const store::DeadLetter& d) {
                  out.push_back(d.position + " " + d.kind + " " + d.reason);
                  return true;
                }).ok());
  return out;
}

TEST(EngineSpeakerTest, AnInputSpeakingForAnotherOrganisationIsRefusedAndRecorded) {
  amtsweg::testing::TestWorld world;
  TempDir dir;
  auto st = store::Store::Open(dir.path() + "/db", {});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ManualClock clock;
  Engine engine(**st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  const std::string complete = CaseEvent("d1", runtime::input_type::kDocumentsCompleted,
                                         "2026-01-15T10:00:00Z", Value::Object({}), "amt-kiel");
  std::vector<RawInput> inputs = {
      On(CaseEvent("a1", runtime::input_type::kApplicationSubmitted, "2026-01-15T09:00:00Z",
                   Application("01002000")),
         1),
      // IHK Kiel's channel sends the Amt's documents.completed.
      On(complete, 2, "ihk-kiel"),
      // The Amt's own, with the same source and id: not a duplicate of the forgery.
      On(complete, 3, "amt-kiel"),
  };
  ASSERT_TRUE(engine.ProcessBatch(inputs, "memory", {{"memory", "3"}}).ok());
  EXPECT_EQ(Dead(**st),
            std::vector<std::string>{
                "line 2 impersonation impersonation: participant 'amt-kiel' claimed, but channel "
                "topic amtsweg.in.ihk-kiel speaks for 'ihk-kiel'"});
  EXPECT_EQ(engine.stats().rejected, 1u);
  EXPECT_EQ(engine.stats().duplicates, 0u);
  EXPECT_EQ(engine.stats().accepted, 2u);
  auto state = engine.LoadCase("C-1");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, "hearing");
  // The refusal is in the case's history, before the Amt's input.
  std::vector<std::string> rejected;
  ASSERT_TRUE((*st)
                  ->ScanEvents("C-1", 1, UINT64_MAX,
                               [&](const store::EventRecord& r) {
                                 Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
                                 EXPECT_TRUE(e.ok());
                                 if (e->type == runtime::DomainType::kInputRejected) {
                                   const auto& data = std::get<runtime::InputRejected>(e->data);
                                   rejected.push_back(data.kind + " " + data.participant + " " +
                                                      data.input);
                                 }
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(rejected, std::vector<std::string>{"impersonation amt-kiel d1"});
}

TEST(EngineSpeakerTest, WithoutAClaimABoundChannelSpeaksForItsOrganisation) {
  amtsweg::testing::TestWorld world;
  TempDir dir;
  auto st = store::Store::Open(dir.path() + "/db", {});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ManualClock clock;
  Engine engine(**st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  std::vector<RawInput> inputs = {
      On(CaseEvent("a1", runtime::input_type::kApplicationSubmitted, "2026-01-15T09:00:00Z",
                   Application("01002000")),
         1, "amt-kiel"),
      On(CaseEvent("d1", runtime::input_type::kDocumentsCompleted, "2026-01-15T10:00:00Z",
                   Value::Object({})),
         2, "ihk-kiel"),  // IHK Kiel is no `from: amt`
      On(CaseEvent("d2", runtime::input_type::kDocumentsCompleted, "2026-01-15T10:01:00Z",
                   Value::Object({})),
         3, "amt-kiel"),
  };
  ASSERT_TRUE(engine.ProcessBatch(inputs, "memory", {{"memory", "3"}}).ok());
  std::vector<std::string> dead = Dead(**st);
  ASSERT_EQ(dead.size(), 1u) << ::testing::PrintToString(dead);
  EXPECT_EQ(
      dead[0].rfind("line 2 wrong-role wrong-role: participant 'ihk-kiel' is not role 'amt'", 0),
      0u)
      << dead[0];
  auto state = engine.LoadCase("C-1");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, "hearing");
}

}  // namespace
}  // namespace amtsweg::core
