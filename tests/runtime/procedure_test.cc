// The procedure rules a legal department relies on: the applicant is a party reached through
// the portal of the application, answers outside a task's declaration cannot wedge a case,
// terminal states act before the case closes, extensions and certificates reach the applicant,
// identifiers are checked where they are read, and every refusal reaches an open case's history.
#include <gtest/gtest.h>

#include "engine/runtime/runtime.h"
#include "tests/runtime/test_workflow.h"

namespace amtsweg::runtime {
namespace {

using amtsweg::testing::Input;
namespace it = input_type;

constexpr char kPortal[] = "https://portal.example/ozg";

constexpr char kDirectory[] = R"yaml(
organisations:
  - {id: amt-kiel, kind: municipal, name: Amt Kiel, functions: [amt], area: ["01002"]}
  - {id: amt-luebeck, kind: municipal, name: Amt Lübeck, functions: [amt], area: ["01003"]}
  - {id: ihk-kiel, kind: chamber, name: IHK Kiel, functions: [ihk], area: ["01"]}
  - {id: amt-wuerzburg, kind: municipal, name: Würzburg, functions: [amt], area: ["09663"]}
  - {id: ihk-bayern, kind: chamber, name: IHK Bayern, functions: [ihk], area: ["09"]}
  - id: portal-sh
    kind: portal
    name: Serviceportal
    functions: [portal]
    sources: ["https://portal.example/ozg"]
)yaml";

constexpr char kWorkflow[] = R"yaml(
name: partyflow
version: 1
leika: "99000000000002"
authority: amt
roles:
  amt: {bind: {function: amt, area: application.ags}}
  antragsteller: {bind: applicant}
  kammer: {bind: {function: ihk, area: application.ags}}
variables:
  consent: {type: string, default: null}
tasks:
  decision:
    answer: decision
    answers: {approved: {}, rejected: {requires: [reason]}}
  consent:
    answer: consent
    answers: {given: {}, refused: {requires: [reason]}}
deadlines:
  fiction:
    duration: P3M
    extensions: 1
    extendable_by: amt
    on_expiry: {to: deemed, effect: "deemed approved"}
    on_extension:
      - notify:
          role: antragsteller
          fields: [name]
          content: {due: data.due, reason: data.reason}
          basis: "§42a Abs. 2 Satz 4 VwVfG"
          message: extended
start:
  to: consulting
  actions:
    - notify: {role: antragsteller, fields: [name], basis: "§71b Abs. 3 VwVfG", message: receipt}
    - request: {task: consent, role: kammer, fields: [name], basis: "§1"}
    - request: {task: decision, role: amt, fields: [name, ags], basis: "§2"}
    - start: fiction
states:
  consulting:
    transitions:
      - on: {response: consent, from: kammer}
        when: data.consent == 'given'
        actions: [{set: {variable: consent, value: "'given'"}}]
        to: deciding
      - on: {response: consent, from: kammer}
        when: data.consent == 'refused'
        actions: [{set: {variable: consent, value: "'refused'"}}]
        to: deciding
      - on: {response: decision, from: amt}
        when: data.decision == 'rejected'
        to: rejected
  deciding:
    transitions:
      - on: {response: decision, from: amt}
        when: data.decision == 'approved' and vars.consent == 'given'
        to: approved
      - on: {response: decision, from: amt}
        when: data.decision == 'rejected'
        to: rejected
  approved:
    terminal: approved
    on_enter:
      - notify: {role: antragsteller, fields: [name], basis: "§41 VwVfG", message: approved}
      - notify: {role: kammer, fields: [name], basis: "§3", message: approved}
  rejected:
    terminal: rejected
    on_enter:
      - notify:
          role: antragsteller
          fields: [name]
          content: {reason: data.reason}
          basis: "§39 VwVfG"
          message: rejected
  deemed:
    terminal: deemed_approved
    on_enter:
      - notify:
          role: antragsteller
          fields: [name]
          content: {due: data.due}
          basis: "§42a Abs. 1 VwVfG"
          message: deemed
on_certificate:
  - notify:
      role: antragsteller
      fields: [name]
      content: {due: data.due, effect: data.effect}
      basis: "§42a Abs. 3 VwVfG"
      message: certificate
)yaml";

class ProcedureTest : public ::testing::Test {
 protected:
  ProcedureTest() {
    auto dir = dsl::Directory::Parse(kDirectory, "directory.yaml");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    directory_ = std::move(dir).value();
    dsl::LoadResult r = dsl::LoadDefinition(kWorkflow, "partyflow.yaml", directory_.get());
    for (const auto& e : r.errors)
      ADD_FAILURE() << e.ToString();
    EXPECT_TRUE(registry_.Add(r.definition).ok());
    runtime_ = std::make_unique<Runtime>(registry_, *directory_);
  }

  static Value Application(Value ags, Value reply_channel = Value()) {
    ObjectBuilder b;
    b.Add("leika", "99000000000002").Add("name", "Jensen GmbH").Add("ags", std::move(ags));
    if (!reply_channel.is_null()) b.Add("reply_channel", std::move(reply_channel));
    return b.Build();
  }

  StepResult Feed(InputEvent in, std::string source = "") {
    if (!source.empty()) in.source = std::move(source);
    StepResult r = runtime_->Handle(in, &state_);
    log_.insert(log_.end(), r.events.begin(), r.events.end());
    return r;
  }

  void Open(std::string source = kPortal) {
    StepResult r = Feed(Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
                              Application(Value("01002000"),
                                          ObjectBuilder().Add("reference", "postfach-7").Build())),
                        std::move(source));
    ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  }

  StepResult Respond(std::string id, std::string_view task, std::string participant,
                     std::vector<Member> answer, std::string_view time = "2026-01-20T09:00:00Z") {
    answer.emplace(answer.begin(), "task", std::string(task));
    return Feed(Input(std::move(id), it::kTaskResponded, "C-1", time,
                      Value::Object(std::move(answer)), std::move(participant)));
  }

  // The disclosures (organisation, message) in `events`.
  static std::vector<std::string> Told(const std::vector<DomainEvent>& events) {
    std::vector<std::string> out;
    for (const DomainEvent& e : events) {
      if (e.type == DomainType::kNotificationDisclosed)
        out.push_back(DataToValue(e.data)["organisation"].as_string() + ": " +
                      DataToValue(e.data)["message"].as_string());
      if (e.type == DomainType::kNotificationUndeliverable)
        out.push_back("(nobody) " + DataToValue(e.data)["role"].as_string() + ": " +
                      DataToValue(e.data)["message"].as_string());
    }
    return out;
  }

  static std::vector<std::string> Types(const std::vector<DomainEvent>& events) {
    std::vector<std::string> out;
    for (const DomainEvent& e : events)
      out.emplace_back(DomainTypeName(e.type));
    return out;
  }

  std::unique_ptr<dsl::Directory> directory_;
  dsl::Registry registry_;
  std::unique_ptr<Runtime> runtime_;
  CaseState state_;
  std::vector<DomainEvent> log_;
};

TEST_F(ProcedureTest, TheApplicantIsReachedThroughThePortalTheApplicationCameFrom) {
  Open();
  EXPECT_EQ(*state_.OrganisationOf("antragsteller"), "portal-sh");
  ASSERT_EQ(Told(log_), std::vector<std::string>{"portal-sh: receipt"});
  const DomainEvent* receipt = nullptr;
  for (const DomainEvent& e : log_)
    if (e.type == DomainType::kNotificationDisclosed) receipt = &e;
  EXPECT_EQ(DataToValue(receipt->data)["role"].as_string(), "antragsteller");
  EXPECT_EQ(DataToValue(receipt->data)["basis"].as_string(), "§71b Abs. 3 VwVfG");
  EXPECT_EQ(DataToValue(receipt->data)["fields"].ToJson(), R"(["name"])");
  // The portal delivers to the applicant's postbox named in the application.
  EXPECT_EQ(DataToValue(receipt->data)["reply_reference"].as_string(), "postfach-7");
}

TEST_F(ProcedureTest, WithoutAReplyChannelTheCaseRecordsThatTheApplicantWasNotTold) {
  Open("urn:amtsweg:scan:poststelle");
  EXPECT_EQ(state_.OrganisationOf("antragsteller"), nullptr);
  EXPECT_TRUE(state_.open());
  ASSERT_EQ(Told(log_), std::vector<std::string>{"(nobody) antragsteller: receipt"});
  const DomainEvent& e = *std::find_if(log_.begin(), log_.end(), [](const DomainEvent& d) {
    return d.type == DomainType::kNotificationUndeliverable;
  });
  EXPECT_EQ(DataToValue(e.data)["basis"].as_string(), "§71b Abs. 3 VwVfG");
  EXPECT_NE(DataToValue(e.data)["reason"].as_string().find("no reply channel"), std::string::npos);
}

TEST_F(ProcedureTest, AMalformedReplyChannelIsRefused) {
  StepResult r = Feed(Input("a1", it::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
                            Application(Value("01002000"), Value("postfach-7"))),
                      kPortal);
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "invalid-application");
  EXPECT_NE(r.rejection->reason.find("data.reply_channel"), std::string::npos);
  EXPECT_EQ(state_.seq, 0u);
}

TEST_F(ProcedureTest, AnAnswerOutsideTheDeclarationIsRefusedAndTheRoleMayStillAnswer) {
  Open();
  size_t before = log_.size();
  StepResult r = Respond("r1", "consent", "ihk-kiel", {{"consent", "maybe"}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "invalid-answer");
  EXPECT_EQ(r.rejection->reason,
            "data.consent \"maybe\" is not an answer task 'consent' accepts (\"given\", "
            "\"refused\"); nothing was recorded");
  // Recorded as a refusal in the history, not as a response.
  EXPECT_EQ(Types({log_.begin() + static_cast<ptrdiff_t>(before), log_.end()}),
            std::vector<std::string>{"input.rejected"});
  EXPECT_FALSE(state_.FindTask("consent")->roles[0].responded);

  r = Respond("r2", "consent", "ihk-kiel", {{"consent", "refused"}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "invalid-answer");
  EXPECT_EQ(r.rejection->reason,
            "a response to task 'consent' with consent \"refused\" needs data.reason; nothing "
            "was recorded");

  r = Respond("r3", "consent", "ihk-kiel", {{"consent", "refused"}, {"reason", "Belange"}});
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(state_.state, "deciding");
  EXPECT_EQ(state_.vars["consent"].as_string(), "refused");
}

TEST_F(ProcedureTest, AnAnswerNoTransitionTakesNowIsRefusedAndTheCaseCanStillClose) {
  Open();
  // Approval before the chamber's consent: this state takes only a rejection.
  StepResult r = Respond("r1", "decision", "amt-kiel", {{"decision", "approved"}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unexpected-answer");
  EXPECT_EQ(r.rejection->reason,
            "state 'consulting' of case 'C-1' does not act on the answer \"approved\" to task "
            "'decision' now (no transition for it holds); nothing was recorded and role 'amt' "
            "may still answer");
  ASSERT_FALSE(Respond("r2", "consent", "ihk-kiel", {{"consent", "refused"}, {"reason", "x"}})
                   .rejection.has_value());
  // Without the consent the approval cannot be given (its condition is false) ...
  r = Respond("r3", "decision", "amt-kiel", {{"decision", "approved"}});
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unexpected-answer");
  EXPECT_FALSE(state_.FindTask("decision")->roles[0].responded);
  // ... and the authority can still decide: the case closes.
  r = Respond("r4", "decision", "amt-kiel", {{"decision", "rejected"}, {"reason", "Belange"}});
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(state_.outcome, "rejected");
}

TEST_F(ProcedureTest, ATerminalStateActsBeforeTheCaseCloses) {
  Open();
  ASSERT_FALSE(Respond("r1", "consent", "ihk-kiel", {{"consent", "given"}}).rejection.has_value());
  StepResult r = Respond("r2", "decision", "amt-kiel", {{"decision", "approved"}});
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(Types(r.events),
            (std::vector<std::string>{"response.recorded", "task.completed", "state.entered",
                                      "notification.disclosed", "notification.disclosed",
                                      "deadline.cancelled", "case.closed"}));
  EXPECT_EQ(Told(r.events),
            (std::vector<std::string>{"portal-sh: approved", "ihk-kiel: approved"}));
}

TEST_F(ProcedureTest, TheDecisionReachesTheApplicantWithItsReasons) {
  Open();
  StepResult r = Respond("r1", "decision", "amt-kiel",
                         {{"decision", "rejected"}, {"reason", "Bebauungsplan"}});
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  const DomainEvent& told = r.events[3];
  ASSERT_EQ(told.type, DomainType::kNotificationDisclosed);
  EXPECT_EQ(DataToValue(told.data)["message"].as_string(), "rejected");
  EXPECT_EQ(DataToValue(told.data)["content"].ToJson(), R"({"reason":"Bebauungsplan"})");
}

TEST_F(ProcedureTest, AnExtensionIsToldToTheApplicantWithItsReasons) {
  Open();
  StepResult r = Feed(Input("x1", it::kDeadlineExtended, "C-1", "2026-02-01T10:00:00Z",
                            ObjectBuilder()
                                .Add("deadline", "fiction")
                                .Add("reason", "Gutachten")
                                .Add("duration", "P1M")
                                .Build(),
                            "amt-kiel"));
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  ASSERT_EQ(Types(r.events),
            (std::vector<std::string>{"deadline.extended", "notification.disclosed"}));
  EXPECT_EQ(DataToValue(r.events[1].data)["organisation"].as_string(), "portal-sh");
  EXPECT_EQ(DataToValue(r.events[1].data)["basis"].as_string(), "§42a Abs. 2 Satz 4 VwVfG");
  EXPECT_EQ(DataToValue(r.events[1].data)["content"]["reason"].as_string(), "Gutachten");
  EXPECT_EQ(DataToValue(r.events[1].data)["content"]["due"], DataToValue(r.events[0].data)["due"]);
}

TEST_F(ProcedureTest, TheDeemedApprovalAndItsCertificateReachTheApplicant) {
  Open();
  Timestamp due = state_.FindDeadline("fiction")->due;
  Value timer = ObjectBuilder().Add("deadline", "fiction").Add("due", FormatTimestamp(due)).Build();
  StepResult r = Feed(Input("t1", it::kTimerFired, "C-1", FormatTimestamp(due), timer));
  ASSERT_FALSE(r.rejection.has_value());
  EXPECT_EQ(Told(r.events), std::vector<std::string>{"portal-sh: deemed"});
  EXPECT_EQ(state_.outcome, "deemed_approved");
  // The applicant asks through its portal; the certificate goes back the same way.
  r = Feed(Input("c1", it::kCertificateRequested, "C-1", "2026-06-01T08:00:00Z", Value::Object({}),
                 "portal-sh"));
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  ASSERT_EQ(Types(r.events),
            (std::vector<std::string>{"certificate.issued", "notification.disclosed"}));
  EXPECT_EQ(DataToValue(r.events[0].data)["requested_by"].as_string(), "portal-sh");
  EXPECT_EQ(DataToValue(r.events[1].data)["content"]["due"].as_string(), FormatTimestamp(due));
  EXPECT_EQ(DataToValue(r.events[1].data)["content"]["effect"].as_string(), "deemed approved");
  EXPECT_FALSE(state_.open());
}

TEST_F(ProcedureTest, APeriodEndsByThePublicHolidaysAtTheAuthoritysSeat) {
  // Three months from Wednesday 4 March 2026 end on Thursday 4 June, Fronleichnam: a public
  // holiday in Bavaria, not in Schleswig-Holstein (§31 Abs. 3 VwVfG, §193 BGB).
  auto started = [&](std::string ags) {
    CaseState s;
    StepResult r = runtime_->Handle(Input("a-" + ags, it::kApplicationSubmitted, "C-" + ags,
                                          "2026-03-04T10:00:00Z", Application(Value(ags))),
                                    &s);
    EXPECT_FALSE(r.rejection.has_value()) << r.rejection->reason;
    for (const DomainEvent& e : r.events)
      if (e.type == DomainType::kDeadlineStarted) return DataToValue(e.data);
    return Value();
  };
  Value kiel = started("01002000");
  EXPECT_EQ(kiel["holidays"].as_string(), "DE-SH");
  EXPECT_EQ(kiel["holidays_of"].as_string(), "amt-kiel");
  EXPECT_EQ(kiel["skipped"].ToJson(), "[]");
  EXPECT_EQ(kiel["due"].as_string(), "2026-06-04T22:00:00Z");
  Value wuerzburg = started("09663000");
  EXPECT_EQ(wuerzburg["holidays"].as_string(), "DE-BY");
  EXPECT_EQ(wuerzburg["holidays_of"].as_string(), "amt-wuerzburg");
  EXPECT_EQ(wuerzburg["skipped"].ToJson(), R"(["2026-06-04 Fronleichnam"])");
  EXPECT_EQ(wuerzburg["due"].as_string(), "2026-06-05T22:00:00Z");
}

TEST_F(ProcedureTest, IdentifiersAreCheckedWhereTheyAreRead) {
  auto refusal = [&](Value app) {
    StepResult r = runtime_->Handle(
        Input("a", it::kApplicationSubmitted, "C-9", "2026-01-15T09:00:00Z", app), &state_);
    EXPECT_TRUE(r.rejection.has_value());
    EXPECT_TRUE(r.events.empty());
    return r.rejection.has_value() ? r.rejection->kind + ": " + r.rejection->reason : "";
  };
  EXPECT_EQ(refusal(Application(Value(int64_t{1002000}))),
            "invalid-application: role 'amt': application.ags is the number 1002000; an AGS is "
            "a string of 8 digits (\"01002000\", the leading zero is part of the key), an ARS a "
            "string of 12");
  // A malformed key must not open a case routed by its prefix.
  EXPECT_EQ(refusal(Application(Value("0100200"))),
            "invalid-application: role 'amt': application.ags '0100200' is not an AGS (8 "
            "digits) or an ARS (12 digits)");
  EXPECT_EQ(refusal(Application(Value("01002000x"))),
            "invalid-application: role 'amt': application.ags '01002000x' is not an AGS (8 "
            "digits) or an ARS (12 digits)");
  EXPECT_EQ(refusal(ObjectBuilder().Add("leika", "9900000000002").Add("ags", "01002000").Build()),
            "invalid-application: data.leika '9900000000002' is not a LeiKa key (14 digits "
            "starting with 99, ^99\\d{12}$)");
  EXPECT_EQ(refusal(ObjectBuilder().Add("ags", "01002000").Build()),
            "invalid-application: data.leika (the LeiKa service key) is missing");
  // An ARS routes by its AGS part.
  StepResult r = runtime_->Handle(Input("a", it::kApplicationSubmitted, "C-9",
                                        "2026-01-15T09:00:00Z", Application(Value("010020000000"))),
                                  &state_);
  ASSERT_FALSE(r.rejection.has_value()) << r.rejection->reason;
  EXPECT_EQ(*state_.OrganisationOf("amt"), "amt-kiel");
}

TEST_F(ProcedureTest, EveryRefusalOfInputToAnOpenCaseIsInItsHistory) {
  Open();
  size_t before = log_.size();
  StepResult r = Feed(Input("u1", "de.example.unknown", "C-1", "2026-01-16T09:00:00Z"));
  ASSERT_TRUE(r.rejection.has_value());
  EXPECT_EQ(r.rejection->kind, "unknown-type");
  ASSERT_EQ(log_.size(), before + 1);
  EXPECT_EQ(log_.back().type, DomainType::kInputRejected);
  EXPECT_EQ(DataToValue(log_.back().data)["kind"].as_string(), "unknown-type");
  EXPECT_EQ(DataToValue(log_.back().data)["input_type"].as_string(), "de.example.unknown");
  // No case: refused without events.
  CaseState none;
  r = runtime_->Handle(Input("u2", "de.example.unknown", "C-404", "2026-01-16T09:00:00Z"), &none);
  EXPECT_EQ(r.rejection->kind, "unknown-type");
  EXPECT_TRUE(r.events.empty());
}

TEST_F(ProcedureTest, AWrongRoleAndANonParticipantAreToldApart) {
  Open();
  // The chamber takes part, but may not decide; Lübeck takes no part at all.
  StepResult r = Respond("r1", "decision", "ihk-kiel", {{"decision", "rejected"}, {"reason", "x"}});
  EXPECT_EQ(r.rejection->kind, "not-a-participant");  // not asked for this task
  r = Feed(Input("x1", it::kDeadlineExtended, "C-1", "2026-02-01T10:00:00Z",
                 ObjectBuilder().Add("deadline", "fiction").Add("reason", "r").Build(),
                 "ihk-kiel"));
  EXPECT_EQ(r.rejection->kind, "wrong-role");
  r = Feed(Input("x2", it::kDeadlineExtended, "C-1", "2026-02-01T10:00:00Z",
                 ObjectBuilder().Add("deadline", "fiction").Add("reason", "r").Build(),
                 "amt-luebeck"));
  EXPECT_EQ(r.rejection->kind, "not-a-participant");
}

}  // namespace
}  // namespace amtsweg::runtime
