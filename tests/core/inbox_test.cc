// Inputs handed in through the Inbox (the HTTP API's way into the engine) and the InboxSource
// that reads them beside a source: each is answered once, after its batch is committed, with
// what the engine decided; nothing is answered "accepted" that is not stored. A binary of its
// own, so that the ThreadSanitizer build runs it (the inbox is used across threads).
#include "engine/core/inbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/engine.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/fixed_clock.h"
#include "tests/testing/memory_source.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::CaseEvent;
using amtsweg::testing::TempDir;
using Outcome = InboxVerdict::Outcome;

std::string Submitted() {
  return CaseEvent("a1", runtime::input_type::kApplicationSubmitted, "2026-01-15T09:00:00Z",
                   Application("01002000"));
}

std::string Complete(std::string participant) {
  return CaseEvent("d1", runtime::input_type::kDocumentsCompleted, "2026-01-16T10:00:00Z",
                   Value::Object({}), std::move(participant));
}

// An input as the HTTP API hands it in: bound to `org`'s principal.
RawInput FromPrincipal(std::string bytes, const std::string& org) {
  RawInput r;
  r.bytes = std::move(bytes);
  r.size = r.bytes.size();
  r.where = "request of principal '" + org + "'";
  r.channel_organisation = org;
  r.channel = "HTTP API principal '" + org + "'";
  r.origin = "api";
  return r;
}

// The verdicts answered, in order.
struct Answers {
  std::vector<InboxVerdict> got;
  InboxCallback Record() {
    return [this](const InboxVerdict& v) { got.push_back(v); };
  }
};

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open(dir_.path() + "/db", {});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    engine_ = std::make_unique<Engine>(*store_, world_.registry, *world_.directory, clock_);
    ASSERT_TRUE(engine_->Open().ok());
    // The case C-1, opened from a file.
    amtsweg::testing::MemorySource file({Submitted()});
    ASSERT_TRUE(engine_->Drain(file, nullptr, 10).ok());
  }

  // Drains the inbox alone through the engine.
  void DrainInbox() {
    InboxSource api(nullptr, inbox_);
    Status s = engine_->Drain(api, nullptr, 100);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> Dead() const {
    return amtsweg::testing::DeadLetterSourcesAndKinds(*store_);
  }

  amtsweg::testing::TestWorld world_;
  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_;
  std::unique_ptr<Engine> engine_;
  amtsweg::testing::FixedClock wall_{*ParseTimestamp("2026-01-16T10:00:00Z")};
  Inbox inbox_{16, 10'000, wall_};
};

TEST_F(InboxTest, AnInputIsAnsweredAcceptedOnceItsBatchIsStoredAndAgainAsADuplicate) {
  Answers answers;
  ASSERT_TRUE(
      inbox_.Offer(FromPrincipal(Complete("amt-kiel"), "amt-kiel"), "C-1", answers.Record()).ok());
  EXPECT_TRUE(answers.got.empty());  // not before the engine has stored it
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kAccepted) << answers.got[0].reason;
  auto state = engine_->LoadCase("C-1");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, "hearing");

  // The same source + id again: a duplicate, and nothing changes.
  const uint64_t seq = (*state)->seq;
  ASSERT_TRUE(
      inbox_.Offer(FromPrincipal(Complete("amt-kiel"), "amt-kiel"), "C-1", answers.Record()).ok());
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 2u);
  EXPECT_EQ(answers.got[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(answers.got[1].kind, "duplicate");
  EXPECT_NE(answers.got[1].reason.find("'d1'"), std::string::npos) << answers.got[1].reason;
  state = engine_->LoadCase("C-1");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->seq, seq);
  EXPECT_EQ(Dead(), std::vector<std::string>{"api duplicate"});
}

TEST_F(InboxTest, AClaimForAnotherOrganisationIsRefusedAsImpersonationWithBothNames) {
  Answers answers;
  ASSERT_TRUE(
      inbox_.Offer(FromPrincipal(Complete("amt-kiel"), "ihk-kiel"), "C-1", answers.Record()).ok());
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kRefused);
  EXPECT_EQ(answers.got[0].kind, "impersonation");
  EXPECT_EQ(answers.got[0].reason,
            "participant 'amt-kiel' claimed, but channel HTTP API principal 'ihk-kiel' speaks "
            "for 'ihk-kiel'");
  EXPECT_EQ(Dead(), std::vector<std::string>{"api impersonation"});
  // The forgery took no id: the Amt's own input with the same source and id is taken.
  ASSERT_TRUE(
      inbox_.Offer(FromPrincipal(Complete("amt-kiel"), "amt-kiel"), "C-1", answers.Record()).ok());
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 2u);
  EXPECT_EQ(answers.got[1].outcome, Outcome::kAccepted) << answers.got[1].reason;
}

TEST_F(InboxTest, WithoutAClaimTheInputSpeaksForThePrincipalsOrganisation) {
  Answers answers;
  ASSERT_TRUE(inbox_.Offer(FromPrincipal(Complete(""), "amt-kiel"), "C-1", answers.Record()).ok());
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kAccepted) << answers.got[0].reason;
}

TEST_F(InboxTest, MalformedInputIsRefusedAndDeadLetteredUnderTheApi) {
  Answers answers;
  ASSERT_TRUE(inbox_.Offer(FromPrincipal("{not json", "amt-kiel"), "", answers.Record()).ok());
  DrainInbox();
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kRefused);
  EXPECT_EQ(answers.got[0].kind, "malformed");
  EXPECT_EQ(Dead(), std::vector<std::string>{"api malformed"});
}

TEST_F(InboxTest, AnInputOfACaseOnALaneReadElsewhereIsNotProcessed) {
  amtsweg::testing::LaneSource lanes;
  lanes.case_lanes["C-1"] = 3;
  lanes.unowned = {3};
  InboxSource source(&lanes, inbox_);
  Answers answers;
  ASSERT_TRUE(
      inbox_.Offer(FromPrincipal(Complete("amt-kiel"), "amt-kiel"), "C-1", answers.Record()).ok());
  std::vector<RawInput> got;
  Result<size_t> n = source.Poll(10, std::chrono::milliseconds(0), &got);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kElsewhere);
  EXPECT_NE(answers.got[0].reason.find("lane 3"), std::string::npos) << answers.got[0].reason;
}

TEST_F(InboxTest, InboxInputsTakeTheirCasesLaneAndCarryNoPositions) {
  amtsweg::testing::LaneSource lanes({{2, CaseEvent("x", "t", "2026-01-16T10:00:00Z", Value())}});
  lanes.case_lanes["C-1"] = 2;
  InboxSource source(&lanes, inbox_);
  Answers answers;
  ASSERT_TRUE(inbox_.Offer(FromPrincipal(Complete(""), "amt-kiel"), "C-1", answers.Record()).ok());
  std::vector<RawInput> got;
  ASSERT_TRUE(source.Poll(10, std::chrono::milliseconds(0), &got).ok());
  ASSERT_EQ(got.size(), 1u);  // the inbox's alone, never mixed with the lanes' input
  EXPECT_EQ(got[0].lane, 2u);
  EXPECT_EQ(got[0].origin, "api");
  EXPECT_TRUE(source.WantsVerdicts());
  Positions positions;
  source.PositionsAfterPoll(&positions);
  EXPECT_TRUE(positions.empty());
  source.Decided({InputVerdict{}});
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kAccepted);

  got.clear();
  ASSERT_TRUE(source.Poll(10, std::chrono::milliseconds(0), &got).ok());
  ASSERT_EQ(got.size(), 1u);  // now the lanes' input, with their positions
  EXPECT_FALSE(source.WantsVerdicts());
  source.PositionsAfterPoll(&positions);
  EXPECT_EQ(positions, (Positions{{"lanes", "1"}}));
}

TEST_F(InboxTest, InputsOfABatchThatIsNotStoredAreAnsweredNotStored) {
  Answers answers;
  {
    InboxSource source(nullptr, inbox_);
    ASSERT_TRUE(
        inbox_.Offer(FromPrincipal(Complete(""), "amt-kiel"), "C-1", answers.Record()).ok());
    std::vector<RawInput> got;
    ASSERT_TRUE(source.Poll(10, std::chrono::milliseconds(0), &got).ok());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(answers.got.empty());
  }  // gone without a verdict: its batch was never stored
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kNotStored);
  EXPECT_NE(answers.got[0].reason.find("nothing was stored"), std::string::npos);
}

TEST(InboxLimitsTest, AFullOrClosedInboxRefusesAndQueuedInputsAreAnsweredOnClose) {
  amtsweg::testing::FixedClock wall(0);
  Inbox inbox(2, 1000, wall);
  Answers answers;
  ASSERT_TRUE(inbox.Offer(RawInput{}, "C-1", answers.Record()).ok());
  ASSERT_TRUE(inbox.Offer(RawInput{}, "C-2", answers.Record()).ok());
  Status full = inbox.Offer(RawInput{}, "C-3", answers.Record());
  EXPECT_EQ(full.code(), Status::Code::kUnavailable);
  EXPECT_NE(full.message().find("full"), std::string::npos) << full.message();
  inbox.Close("the engine stopped");
  ASSERT_EQ(answers.got.size(), 2u);
  for (const InboxVerdict& v : answers.got) {
    EXPECT_EQ(v.outcome, Outcome::kNotStored);
    EXPECT_EQ(v.reason, "the engine stopped; nothing was stored, send it again");
  }
  EXPECT_EQ(inbox.Offer(RawInput{}, "C-4", answers.Record()).code(), Status::Code::kUnavailable);
  EXPECT_EQ(answers.got.size(), 2u);  // a refused offer is never answered
}

// A clock the test moves.
class SteppedClock final : public Clock {
 public:
  Timestamp Now() const override { return now.load(); }
  std::atomic<Timestamp> now{0};
};

TEST(InboxLimitsTest, AnInputNotTakenInTimeIsAnsweredNotStored) {
  SteppedClock wall;
  Inbox inbox(8, 1000, wall);
  Answers answers;
  ASSERT_TRUE(inbox.Offer(RawInput{}, "C-1", answers.Record()).ok());
  wall.now = 1000;
  inbox.Expire();
  EXPECT_TRUE(answers.got.empty());  // exactly the limit: still waiting
  wall.now = 1001;
  inbox.Expire();
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].outcome, Outcome::kNotStored);
  EXPECT_TRUE(inbox.empty());
}

TEST(InboxLimitsTest, AnOfferFromAnotherThreadWakesAWaitingEngine) {
  amtsweg::testing::FixedClock wall(0);
  Inbox inbox(8, 1000, wall);
  std::atomic<int> answered{0};
  std::thread client([&] {
    ASSERT_TRUE(inbox.Offer(RawInput{}, "C-1", [&](const InboxVerdict&) { ++answered; }).ok());
  });
  // Waits until the offer is queued (bounded by the test's timeout, never by a sleep).
  while (!inbox.Wait(std::chrono::milliseconds(1000))) {
  }
  client.join();
  std::vector<Inbox::Taken> taken;
  EXPECT_EQ(inbox.Take(10, &taken), 1u);
  taken[0].done(InboxVerdict{});
  EXPECT_EQ(answered.load(), 1);
}

}  // namespace
}  // namespace amtsweg::core
