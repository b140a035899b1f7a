#include "engine/runtime/runtime.h"

#include <gtest/gtest.h>

#include "engine/runtime/projection.h"
#include "tests/runtime/test_workflow.h"

namespace amtsweg::runtime {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::Input;

namespace it = input_type;

class RuntimeTest : public ::testing::Test {
 protected:
  amtsweg::testing::TestWorld world;
  Runtime rt{world.registry, *world.directory};
  CaseState state;
  std::vector<DomainEvent> log;

  StepResult Feed(const InputEvent& in) {
    StepResult r = rt.Handle(in, &state);
    log.insert(log.end(), r.events.begin(), r.events.end());
    return r;
  }

  void OpenKiel(bool craft = false, bool special = false) {
    StepResult r = Feed(Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
                              Application("01002000", craft, special)));
    ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  }

  void Complete(std::string_view time = "2026-01-15T10:00:00Z") {
    StepResult r =
        Feed(Input("d1", it::kDocumentsCompleted, "C-1", time, Value::Object({}), "amt-kiel"));
    ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  }

  StepResult Respond(std::string id, std::string_view task, std::string participant,
                     std::string_view time, std::vector<Member> extra = {}) {
    extra.emplace(extra.begin(), "task", std::string(task));
    return Feed(Input(std::move(id), it::kTaskResponded, "C-1", time,
                      Value::Object(std::move(extra)), std::move(participant)));
  }

  std::vector<std::string> Types(const std::vector<DomainEvent>& events) const {
    std::vector<std::string> out;
    for (const DomainEvent& e : events)
      out.emplace_back(DomainTypeName(e.type));
    return out;
  }
};

TEST_F(RuntimeTest, OpensCaseResolvesRolesAndDisclosesOnlyProjectedFields) {
  OpenKiel();
  EXPECT_EQ(Types(log),
            (std::vector<std::string>{"case.opened", "participant.resolved", "participant.resolved",
                                      "notification.disclosed", "state.entered"}));
  EXPECT_EQ(state.state, "received");
  EXPECT_EQ(*state.OrganisationOf("amt"), "amt-kiel");
  EXPECT_EQ(*state.OrganisationOf("kammer"), "ihk-kiel");
  EXPECT_EQ(state.OrganisationOf("land"), nullptr);  // role condition false
  const Value disclosed = DataToValue(log[3].data);
  EXPECT_EQ(disclosed["organisation"].as_string(), "ihk-kiel");
  EXPECT_EQ(disclosed["basis"].as_string(), "§1 Test");
  EXPECT_EQ(disclosed["fields"].ToJson(), R"(["name","ags"])");
  EXPECT_EQ(ProjectFields(state.application, log[3].As<NotificationDisclosed>()->fields).ToJson(),
            R"({"name":"Jensen GmbH","ags":"01002000"})");
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, i + 1);
    EXPECT_EQ(log[i].cause, "a1");
  }
}

TEST_F(RuntimeTest, ChamberIsChosenByAFactOfTheCase) {
  OpenKiel(/*craft=*/true);
  EXPECT_EQ(*state.OrganisationOf("kammer"), "hwk-nord");
}

TEST_F(RuntimeTest, UnroutableApplicationOpensNoCase) {
  StepResult r = Feed(Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
                            Application("09162000")));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unroutable");
  EXPECT_NE(r.rejection->reason.find("09162000"), std::string::npos);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(state.seq, 0u);
}

TEST_F(RuntimeTest, UnknownLeikaAndUnknownCaseAreRejectedWithoutEvents) {
  Value app = ObjectBuilder().Add("leika", "99999999999999").Build();
  StepResult r = Feed(Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z", app));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "no-workflow");
  r = Feed(Input("d1", it::kDocumentsCompleted, "C-404", "2026-01-15T09:00:00Z"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unknown-case");
  EXPECT_TRUE(log.empty());
}

TEST_F(RuntimeTest, EventFromWrongParticipantIsRejectedAndRecorded) {
  OpenKiel();
  size_t before = log.size();
  // ihk-kiel takes part (as kammer), but not in the role the transition needs.
  StepResult r = Feed(Input("d1", it::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z",
                            Value::Object({}), "ihk-kiel"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "wrong-role");
  ASSERT_EQ(log.size(), before + 1);
  EXPECT_EQ(log.back().type, DomainType::kInputRejected);
  EXPECT_EQ(DataToValue(log.back().data)["input"].as_string(), "d1");
  EXPECT_EQ(state.state, "received");
}

TEST_F(RuntimeTest, ParallelRequestJoinsOnAllThenAutoTransition) {
  OpenKiel(false, /*special=*/true);
  Complete();
  EXPECT_EQ(state.state, "hearing");
  const DeadlineState* dl = state.FindDeadline("fiction");
  ASSERT_NE(dl, nullptr);
  EXPECT_TRUE(dl->active());
  // 15 January + 3 months: end of 15 April 2026, German summer time.
  EXPECT_EQ(FormatTimestamp(dl->due), "2026-04-15T22:00:00Z");
  const TaskState* hearing = state.FindTask("hearing");
  ASSERT_NE(hearing, nullptr);
  EXPECT_EQ(hearing->roles.size(), 2u);
  EXPECT_EQ(hearing->need, 2);

  StepResult r =
      Respond("r1", "hearing", "ihk-kiel", "2026-01-20T10:00:00Z", {{"objection", Value(true)}});
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(state.vars["consent"].as_string(), "refused");
  EXPECT_FALSE(state.FindTask("hearing")->complete);
  EXPECT_EQ(state.state, "hearing");

  r = Respond("r2", "hearing", "land", "2026-01-21T10:00:00Z");
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_TRUE(state.FindTask("hearing")->complete);
  EXPECT_TRUE(state.vars["heard"].as_bool());
  EXPECT_EQ(state.state, "deciding");
  EXPECT_EQ(Types(r.events),
            (std::vector<std::string>{"response.recorded", "task.completed", "variable.set",
                                      "state.entered", "task.requested"}));
}

TEST_F(RuntimeTest, DuplicateAndUnaskedResponsesAreRejected) {
  OpenKiel(false, true);
  Complete();
  ASSERT_FALSE(Respond("r1", "hearing", "ihk-kiel", "2026-01-20T10:00:00Z").rejection);
  StepResult dup = Respond("r2", "hearing", "ihk-kiel", "2026-01-20T11:00:00Z");
  ASSERT_TRUE(dup.rejection.has_value());
  EXPECT_EQ(dup.rejection->kind, "duplicate-response");
  StepResult stranger = Respond("r3", "hearing", "ihk-luebeck", "2026-01-20T11:00:00Z");
  ASSERT_TRUE(stranger.rejection.has_value());
  EXPECT_EQ(stranger.rejection->kind, "not-a-participant");
  StepResult no_task = Respond("r4", "nosuchtask", "ihk-kiel", "2026-01-20T11:00:00Z");
  ASSERT_TRUE(no_task.rejection.has_value());
  EXPECT_EQ(no_task.rejection->kind, "unknown-task");
}

TEST_F(RuntimeTest, AnOrganisationWithTwoRolesSaysWhichOneAnswers) {
  OpenKiel(false, true);
  // Bind the land role to the chamber's organisation too, as a Kreis holds several roles.
  for (Participant& p : state.participants) {
    if (p.role == "land") p.organisation = "ihk-kiel";
  }
  Complete();
  StepResult r =
      Respond("r1", "hearing", "ihk-kiel", "2026-01-20T10:00:00Z", {{"role", Value("land")}});
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(DataToValue(r.events[0].data)["role"].as_string(), "land");
  r = Respond("r2", "hearing", "ihk-kiel", "2026-01-20T11:00:00Z", {{"role", Value("land")}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "duplicate-response");
  r = Respond("r3", "hearing", "ihk-kiel", "2026-01-20T12:00:00Z", {{"role", Value("amt")}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_NE(r.rejection->reason.find("as role 'amt'"), std::string::npos);
  r = Respond("r4", "hearing", "ihk-kiel", "2026-01-20T13:00:00Z");  // the remaining role
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(DataToValue(r.events[0].data)["role"].as_string(), "kammer");
  EXPECT_TRUE(state.FindTask("hearing")->complete);
}

TEST_F(RuntimeTest, DeadlineExpiryGivesDeemedApprovalAndCertificate) {
  OpenKiel();
  Complete();
  Timestamp due = state.FindDeadline("fiction")->due;
  Value timer = ObjectBuilder().Add("deadline", "fiction").Add("due", FormatTimestamp(due)).Build();
  StepResult r = Feed(Input("t1", it::kTimerFired, "C-1", FormatTimestamp(due), timer));
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(Types(r.events),
            (std::vector<std::string>{"deadline.expired", "state.entered", "case.closed"}));
  EXPECT_EQ(DataToValue(r.events[0].data)["effect"].as_string(), "deemed approved (§42a VwVfG)");
  EXPECT_EQ(state.outcome, "deemed_approved");
  EXPECT_EQ(state.closed_at, due);

  // A party asks for it (§42a Abs. 3 VwVfG): a request naming nobody, or somebody who takes no
  // part in the case, is refused.
  r = Feed(Input("c0", it::kCertificateRequested, "C-1", "2026-05-01T08:00:00Z"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "invalid-request");
  r = Feed(Input("c0b", it::kCertificateRequested, "C-1", "2026-05-01T08:00:00Z", Value::Object({}),
                 "amt-luebeck"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "not-a-participant");
  r = Feed(Input("c1", it::kCertificateRequested, "C-1", "2026-05-01T08:00:00Z", Value::Object({}),
                 "amt-kiel"));
  ASSERT_FALSE(r.rejection.has_value());
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, DomainType::kCertificateIssued);
  EXPECT_EQ(DataToValue(r.events[0].data)["basis"].as_string(), "§42a Abs. 3 VwVfG");

  size_t before = log.size();
  r = Respond("late", "hearing", "ihk-kiel", "2026-05-02T08:00:00Z");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "closed-case");
  EXPECT_EQ(log.size(), before);  // a closed history stays closed
}

TEST_F(RuntimeTest, ExtensionFollowsTheRules) {
  OpenKiel();
  Complete();
  auto extend = [&](std::string id, std::string participant, std::string_view time,
                    std::string reason, std::string duration) {
    ObjectBuilder b;
    b.Add("deadline", "fiction").Add("reason", reason);
    if (!duration.empty()) b.Add("duration", duration);
    return Feed(Input(std::move(id), it::kDeadlineExtended, "C-1", time, b.Build(),
                      std::move(participant)));
  };
  // Who may extend is checked first: a participant in another role, and an organisation that
  // takes no part in the case, get different kinds.
  StepResult r = extend("x1", "ihk-kiel", "2026-02-01T10:00:00Z", "busy", "P1M");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "wrong-role");
  r = extend("x1b", "amt-luebeck", "2026-02-01T10:00:00Z", "busy", "P1M");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "not-a-participant");
  r = extend("x2", "amt-kiel", "2026-02-01T10:00:00Z", "", "P1M");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_NE(r.rejection->reason.find("reason"), std::string::npos);
  r = extend("x3", "amt-kiel", "2026-02-01T10:00:00Z", "expert opinion needed", "P2M");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_NE(r.rejection->reason.find("exceeds"), std::string::npos);
  r = extend("x4", "amt-kiel", "2026-02-01T10:00:00Z", "expert opinion needed", "P1M");
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  // §190 BGB: one month from the end of 15 April is the end of 15 May (summer time).
  EXPECT_EQ(FormatTimestamp(state.FindDeadline("fiction")->due), "2026-05-15T22:00:00Z");
  EXPECT_EQ(DataToValue(r.events[0].data)["previous_due"].as_string(), "2026-04-15T22:00:00Z");
  r = extend("x5", "amt-kiel", "2026-02-02T10:00:00Z", "again", "P1M");
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_NE(r.rejection->reason.find("already extended"), std::string::npos);

  // The timer of the original due date is stale now and changes nothing.
  Value stale =
      ObjectBuilder().Add("deadline", "fiction").Add("due", "2026-04-15T22:00:00Z").Build();
  size_t before = log.size();
  r = Feed(Input("t1", it::kTimerFired, "C-1", "2026-04-15T22:00:00Z", stale));
  EXPECT_TRUE(r.ignored);
  EXPECT_EQ(log.size(), before);
  EXPECT_TRUE(state.open());
}

TEST_F(RuntimeTest, LateExtensionIsRefused) {
  OpenKiel();
  Complete();
  Value data = ObjectBuilder().Add("deadline", "fiction").Add("reason", "late").Build();
  StepResult r =
      Feed(Input("x1", it::kDeadlineExtended, "C-1", "2026-04-16T10:00:00Z", data, "amt-kiel"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_NE(r.rejection->reason.find("in time"), std::string::npos);
}

TEST_F(RuntimeTest, WithdrawalClosesTheCaseAndCancelsDeadlines) {
  OpenKiel();
  Complete();
  // Recorded by the deciding authority (the workflow has no applicant's portal).
  StepResult r = Feed(Input("w1", it::kApplicationWithdrawn, "C-1", "2026-02-01T10:00:00Z",
                            Value::Object({}), "amt-kiel"));
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(Types(r.events),
            (std::vector<std::string>{"deadline.cancelled", "state.entered", "case.closed"}));
  EXPECT_EQ(state.outcome, "withdrawn");
  EXPECT_FALSE(state.FindDeadline("fiction")->active());
}

TEST_F(RuntimeTest, OnlyTheApplicantOrTheDecidingAuthorityMayWithdrawTheApplication) {
  OpenKiel();
  Complete();
  struct Attempt {
    std::string participant;
    std::string kind;
  };
  for (const Attempt& a :
       {Attempt{"ihk-kiel", "wrong-role"}, Attempt{"ihk-luebeck", "not-a-participant"},
        Attempt{"", "invalid-request"}}) {
    StepResult r = Feed(Input("w-" + a.participant, it::kApplicationWithdrawn, "C-1",
                              "2026-02-01T10:00:00Z", Value::Object({}), a.participant));
    ASSERT_TRUE(r.rejection.has_value()) << a.participant;
    EXPECT_EQ(r.rejection->kind, a.kind) << r.rejection->reason;
    EXPECT_NE(r.rejection->reason.find("only 'amt-kiel' (amt) may (§22 VwVfG)"), std::string::npos)
        << r.rejection->reason;
    EXPECT_TRUE(state.open());
  }
}

TEST_F(RuntimeTest, DecisionCancelsTheDeadlineAndCloses) {
  OpenKiel();
  Complete();
  ASSERT_FALSE(Respond("r1", "hearing", "ihk-kiel", "2026-01-20T10:00:00Z").rejection);
  EXPECT_EQ(state.state, "deciding");  // land did not take part: join over one role
  StepResult r = Respond("r2", "decision", "amt-kiel", "2026-02-20T10:00:00Z",
                         {{"decision", Value("approved")}});
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(state.outcome, "approved");
  EXPECT_EQ(state.FindDeadline("fiction")->status, "cancelled");
}

TEST_F(RuntimeTest, NoTransitionForEventIsRejected) {
  OpenKiel();
  StepResult r = Feed(Input("c1", it::kCertificateRequested, "C-1", "2026-01-16T10:00:00Z"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "no-deemed-approval");
  r = Feed(Input("a2", it::kApplicationSubmitted, "C-1", "2026-01-16T10:00:00Z",
                 Application("01002000")));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "case-exists");
}

TEST_F(RuntimeTest, ReplayOfTheLogEqualsLiveStateAndEncodingIsExact) {
  OpenKiel(false, true);
  Complete();
  ASSERT_FALSE(Respond("r1", "hearing", "ihk-kiel", "2026-01-20T10:00:00Z").rejection);
  ASSERT_FALSE(Respond("r2", "hearing", "land", "2026-01-21T10:00:00Z").rejection);
  CaseState replayed;
  for (const DomainEvent& e : log) {
    std::string bytes;
    EncodeEvent(e, &bytes);
    Result<DomainEvent> back = DecodeEvent(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    std::string again;
    EncodeEvent(*back, &again);
    EXPECT_EQ(bytes, again);
    ASSERT_TRUE(Apply(&replayed, *back).ok());
  }
  EXPECT_EQ(StateToValue(replayed).ToJson(), StateToValue(state).ToJson());
  Result<CaseState> snap = DecodeSnapshot(EncodeSnapshot(state));
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->application.is_null());  // kept once, in case.opened
  ASSERT_TRUE(RestoreApplication(&*snap, log.front()).ok());
  EXPECT_EQ(StateToValue(*snap).ToJson(), StateToValue(state).ToJson());
  // The direct snapshot encoder writes exactly the bytes of the state's Value without the
  // application (the stored format).
  std::vector<Member> members = StateToValue(state).members();
  ASSERT_EQ(members.back().first, "application");
  members.pop_back();
  std::string reference;
  Value::Object(std::move(members)).AppendBinary(&reference);
  EXPECT_EQ(EncodeSnapshot(state), reference);
}

TEST_F(RuntimeTest, SameInputsGiveIdenticalEvents) {
  OpenKiel(false, true);
  Complete();
  std::vector<DomainEvent> first = log;
  state = CaseState();
  log.clear();
  OpenKiel(false, true);
  Complete();
  ASSERT_EQ(first.size(), log.size());
  for (size_t i = 0; i < log.size(); ++i) {
    std::string a, b;
    EncodeEvent(first[i], &a);
    EncodeEvent(log[i], &b);
    EXPECT_EQ(a, b) << "event " << i + 1;
  }
}

TEST_F(RuntimeTest, RunningCasesStayOnTheirVersionWhenANewOneIsDeployed) {
  OpenKiel();
  // Version 2 renames the first state; cases opened on version 1 must not notice.
  std::string v2 = amtsweg::testing::kWorkflowYaml;
  v2.replace(v2.find("version: 1"), 10, "version: 2");
  for (size_t at; (at = v2.find("received")) != std::string::npos;)
    v2.replace(at, 8, "eingang");
  dsl::LoadResult loaded = dsl::LoadDefinition(v2, "testflow-v2.yaml", world.directory.get());
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors[0].ToString();
  dsl::Registry both;
  ASSERT_TRUE(both.Add(dsl::LoadDefinition(amtsweg::testing::kWorkflowYaml, "testflow.yaml",
                                           world.directory.get())
                           .definition)
                  .ok());
  ASSERT_TRUE(both.Add(loaded.definition).ok());
  Runtime upgraded(both, *world.directory);

  StepResult r = upgraded.Handle(Input("d1", it::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z",
                                       Value::Object({}), "amt-kiel"),
                                 &state);
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(state.version, 1);
  EXPECT_EQ(state.state, "hearing");

  CaseState fresh;
  r = upgraded.Handle(Input("a2", it::kApplicationSubmitted, "C-2", "2026-01-15T09:00:00Z",
                            Application("01003000")),
                      &fresh);
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(fresh.version, 2);
  EXPECT_EQ(fresh.state, "eingang");
}

TEST_F(RuntimeTest, ApplyRefusesEventsOutOfSequence) {
  OpenKiel();
  DomainEvent e = log.back();
  CaseState copy = state;
  EXPECT_TRUE(Apply(&copy, e).IsCorruption());
  EXPECT_EQ(copy.seq, state.seq);
}

// An event the runtime built that does not fit the case (a bug, injected here) voids the step:
// the input is refused as internal-error, recorded as input.rejected, and nothing else of it
// is kept, in the events or in the state.
TEST_F(RuntimeTest, AnEventThatDoesNotFitVoidsTheStep) {
  OpenKiel(false, true);
  Complete();
  Runtime faulty(world.registry, *world.directory, [](DomainEvent* e) {
    if (auto* r = std::get_if<ResponseRecorded>(&e->data)) r->task = "no-such-task";
  });
  const CaseState before = state;
  StepResult r = faulty.Handle(Input("r1", it::kTaskResponded, "C-1", "2026-01-20T10:00:00Z",
                                     ObjectBuilder().Add("task", "hearing").Build(), "ihk-kiel"),
                               &state);
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "internal-error");
  EXPECT_NE(r.rejection->reason.find("unknown task"), std::string::npos) << r.rejection->reason;
  ASSERT_EQ(r.events.size(), 1u);
  const InputRejected* refused = r.events[0].As<InputRejected>();
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->kind, "internal-error");
  EXPECT_EQ(refused->input, "r1");
  CaseState expected = before;
  ASSERT_TRUE(Apply(&expected, r.events[0]).ok());
  EXPECT_EQ(StateToValue(state).ToJson(), StateToValue(expected).ToJson());
  EXPECT_FALSE(state.FindTask("hearing")->roles[0].responded);
}

// The same for every event of every step of a case's life: whichever event does not fit, the
// case is as it was before the input (plus the refusal), so nothing half-done is ever kept.
TEST_F(RuntimeTest, WhicheverEventDoesNotFitTheCaseIsAsBefore) {
  std::vector<InputEvent> inputs = {
      Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
            Application("01002000", false, true)),
      Input("d1", it::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z", Value::Object({}),
            "amt-kiel"),
      Input("x1", it::kDeadlineExtended, "C-1", "2026-01-16T10:00:00Z",
            ObjectBuilder().Add("deadline", "fiction").Add("reason", "Gutachten").Build(),
            "amt-kiel"),
      Input("r1", it::kTaskResponded, "C-1", "2026-01-20T10:00:00Z",
            ObjectBuilder().Add("task", "hearing").Add("objection", true).Build(), "ihk-kiel"),
      Input("r2", it::kTaskResponded, "C-1", "2026-01-21T10:00:00Z",
            ObjectBuilder().Add("task", "hearing").Build(), "land"),
      Input("r3", it::kTaskResponded, "C-1", "2026-01-22T10:00:00Z",
            ObjectBuilder().Add("task", "decision").Add("decision", "approved").Build(),
            "amt-kiel"),
  };
  int target = 0, seen = 0;
  Runtime faulty(world.registry, *world.directory, [&](DomainEvent* e) {
    // A type that is not its data's: Apply refuses it, whatever the type.
    if (++seen == target)
      e->type =
          e->type == DomainType::kCaseOpened ? DomainType::kCaseClosed : DomainType::kCaseOpened;
  });
  size_t voided = 0;
  for (const InputEvent& in : inputs) {
    CaseState probe = state;
    const size_t produced = rt.Handle(in, &probe).events.size();
    ASSERT_GT(produced, 0u) << in.id;
    for (size_t k = 1; k <= produced; ++k) {
      SCOPED_TRACE(in.id + " event " + std::to_string(k));
      CaseState s = state;
      seen = 0;
      target = static_cast<int>(k);
      StepResult r = faulty.Handle(in, &s);
      ASSERT_TRUE(r.rejection.has_value());
      EXPECT_EQ(r.rejection->kind, "internal-error");
      CaseState expected = state;
      if (state.open()) {
        ASSERT_EQ(r.events.size(), 1u);
        ASSERT_NE(r.events[0].As<InputRejected>(), nullptr);
        ASSERT_TRUE(Apply(&expected, r.events[0]).ok());
      } else {
        EXPECT_TRUE(r.events.empty());  // no case to record it in
      }
      EXPECT_EQ(StateToValue(s).ToJson(), StateToValue(expected).ToJson());
      ++voided;
    }
    StepResult ok = rt.Handle(in, &state);
    ASSERT_FALSE(ok.rejection.has_value()) << in.id << ": " << ok.rejection->reason;
  }
  EXPECT_EQ(state.outcome, "approved");
  EXPECT_GT(voided, 20u);
}

}  // namespace
}  // namespace amtsweg::runtime
