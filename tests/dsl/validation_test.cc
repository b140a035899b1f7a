// The validator's rules that keep a case from wedging and its periods legally computable: tasks
// declare the answers they accept and every answer is handled, every reachable state can still
// close, automatic transitions do not cycle, terminal states run only what needs no later step,
// legal deadlines name the authority whose public holidays count, and the applicant is a role.
#include <gtest/gtest.h>

#include "engine/dsl/loader.h"

namespace amtsweg::dsl {
namespace {

using Strings = std::vector<std::string>;

// Loads `yaml` and returns the diagnostics as "line:column: message".
Strings Errors(std::string_view yaml) {
  LoadResult r = LoadDefinition(yaml, "wf.yaml");
  Strings out;
  for (const Diagnostic& d : r.errors)
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  EXPECT_EQ(r.definition == nullptr, !out.empty());
  return out;
}

constexpr char kHead[] = R"yaml(name: test
version: 1
leika: "99050012104000"
authority: amt
roles:
  amt: {bind: {organisation: x}}
)yaml";

std::string With(std::string_view body) {
  return std::string(kHead) + std::string(body);
}

TEST(ValidationTest, EveryRequestedTaskIsDeclaredAndEveryDeclaredTaskRequested) {
  EXPECT_EQ(Errors(With(R"yaml(start:
  to: a
  actions: [{request: {task: pruefung, role: amt, fields: [x], basis: b}}]
states:
  a:
    transitions: [{on: {response: pruefung}, to: b}]
  b: {terminal: notified}
tasks:
  anhoerung: {}
)yaml")),
            (Strings{"9:30: task 'pruefung' is not declared under 'tasks:' (declare the answers it "
                     "accepts)",
                     "15:3: task 'anhoerung' is declared but no 'request' action asks for it"}));
}

TEST(ValidationTest, EveryAnswerMustBeHandledByATransition) {
  // 'rejected' is declared but no transition can take it: such a response would be refused in
  // every state. A typo in a guard ('aproved') leaves 'approved' unhandled as well.
  EXPECT_EQ(Errors(With(R"yaml(start:
  to: a
  actions: [{request: {task: t, role: amt, fields: [x], basis: b}}]
states:
  a:
    transitions:
      - {on: {response: t}, when: "data.decision == 'aproved'", to: b}
      - {on: {response: t}, when: "data.decision == 'withdrawn' and vars.x", to: b}
  b: {terminal: notified}
variables: {x: {type: bool}}
tasks:
  t:
    answer: decision
    answers: {approved: {}, rejected: {requires: [reason]}, withdrawn: {}}
)yaml")),
            (Strings{"20:15: answer \"approved\" of task 't' is handled by no transition (no 'on: "
                     "{response: t}' whose 'when' can hold for it): such a response would be "
                     "refused in every state",
                     "20:29: answer \"rejected\" of task 't' is handled by no transition (no 'on: "
                     "{response: t}' whose 'when' can hold for it): such a response would be "
                     "refused in every state"}));
}

TEST(ValidationTest, AnswersAreHandledByGuardsOnOtherFactsOrByAJoin) {
  // A guard that also reads variables may hold; a join takes every response.
  EXPECT_EQ(Errors(With(R"yaml(variables: {x: {type: bool}}
start:
  to: a
  actions:
    - request: {task: t, role: amt, fields: [x], basis: b}
    - request: {task: u, role: amt, fields: [x], basis: b}
states:
  a:
    transitions:
      - {on: {response: t}, when: "data.ok == true and vars.x", to: b}
      - {on: {response: t}, when: "not (data.ok == true)", to: b}
      - {on: {joined: u}, to: b}
  b: {terminal: notified}
tasks:
  t: {answer: ok, answers: {true: {}, false: {}}}
  u: {answer: vote, answers: {yes: {}, no: {}}}
)yaml")),
            Strings{});
}

TEST(ValidationTest, AnswerShape) {
  EXPECT_EQ(Errors(With(R"yaml(start:
  to: a
  actions: [{request: {task: t, role: amt, fields: [x], basis: b}}]
states:
  a:
    transitions: [{on: {response: t}, to: b}]
  b: {terminal: notified}
tasks:
  t:
    answer: decision
    requires: [a.b]
  u:
    answers: {x: {}, x: {}}
)yaml")),
            (Strings{"17:16: 'a.b' must be the name of a response member (e.g. reason)",
                     "16:5: task 't': 'answer' (the response member) and 'answers' (the values it "
                     "accepts) go together",
                     "19:5: task 'u': 'answer' (the response member) and 'answers' (the values it "
                     "accepts) go together",
                     "19:22: duplicate key 'x' in answers of task 'u' (first at line 19)",
                     "18:3: task 'u' is declared but no 'request' action asks for it"}));
}

TEST(ValidationTest, AReachableStateMustBeAbleToClose) {
  // a <-> b forever: neither reaches a terminal state.
  EXPECT_EQ(Errors(With(R"yaml(start: {to: s}
states:
  s:
    transitions: [{on: go, to: a}, {on: done, to: z}]
  a:
    transitions: [{on: x, to: b}]
  b:
    transitions: [{on: y, to: a}]
  z: {terminal: notified}
)yaml")),
            (Strings{"11:3: state 'a' cannot reach a terminal state: a case that enters it can "
                     "never close",
                     "13:3: state 'b' cannot reach a terminal state: a case that enters it can "
                     "never close"}));
}

TEST(ValidationTest, AutomaticTransitionsMustNotCycleAcrossStates) {
  EXPECT_EQ(Errors(With(R"yaml(variables: {x: {type: bool}}
start: {to: a}
states:
  a:
    transitions: [{when: vars.x, to: b}, {on: done, to: z}]
  b:
    transitions: [{when: vars.x, to: c}]
  c:
    transitions: [{when: "not vars.x", to: a}]
  z: {terminal: notified}
)yaml")),
            Strings{"15:19: automatic transitions form a cycle: a -> b -> c -> a (the case would "
                    "move round it as long as the conditions hold)"});
}

TEST(ValidationTest, TerminalStatesRunOnlyWhatNeedsNoLaterStep) {
  EXPECT_EQ(Errors(With(R"yaml(variables: {x: {type: bool}}
deadlines:
  d: {duration: P1M}
start: {to: a}
states:
  a:
    transitions: [{on: done, to: z}]
  z:
    terminal: approved
    on_enter:
      - notify: {role: amt, fields: [x], basis: b}
      - set: {variable: x, value: "true"}
      - cancel: d
      - start: d
      - request: {task: t, role: amt, fields: [x], basis: b}
      - extend: {deadline: d, reason: r}
tasks: {t: {}}
)yaml")),
            (Strings{"20:9: 'start' cannot run in on_enter of terminal state 'z': the case closes "
                     "when it enters it (allowed: notify, set, cancel)",
                     "21:9: 'request' cannot run in on_enter of terminal state 'z': the case "
                     "closes when it enters it (allowed: notify, set, cancel)",
                     "22:9: 'extend' cannot run in on_enter of terminal state 'z': the case closes "
                     "when it enters it (allowed: notify, set, cancel)"}));
}

TEST(ValidationTest, LegalDeadlinesNameTheAuthorityWhoseHolidaysCount) {
  constexpr char kNoAuthority[] = R"yaml(name: test
version: 1
leika: "99050012104000"
roles:
  amt: {bind: {organisation: x}}
  kammer: {when: application.k, bind: {organisation: y}}
  antragsteller: {bind: applicant}
deadlines:
  legal: {duration: P1M}
  own: {duration: P1M, authority: amt}
  exact: {duration: P1M, calendar: exact}
  wrong: {duration: P1M, calendar: exact, authority: amt}
  party: {duration: P1M, authority: antragsteller}
start: {to: a}
states:
  a:
    transitions: [{on: done, to: z}]
  z: {terminal: approved}
)yaml";
  EXPECT_EQ(Errors(kNoAuthority),
            (Strings{"12:43: 'authority' chooses the public holidays of a legal period; deadline "
                     "'wrong' is exact",
                     "9:3: legal deadline 'legal' needs the authority whose seat's public "
                     "holidays count: set 'authority: ROLE' on the workflow (the deciding "
                     "authority) or on the deadline",
                     "13:3: deadline 'party': the applicant is not an authority"}));
  // The deciding authority must be bound in every case.
  std::string conditional = kNoAuthority;
  conditional.insert(conditional.find("roles:"), "authority: kammer\n");
  Strings errors = Errors(conditional);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[1],
            "4:12: the deciding authority 'kammer' must be bound in every case: a role without "
            "'when', not the applicant, whose last binding has no 'when'");
}

TEST(ValidationTest, TheApplicantIsARoleBoundToTheReplyChannel) {
  LoadResult r = LoadDefinition(With(R"yaml(  antragsteller: {title: Antragsteller, bind: applicant}
start:
  to: a
  actions: [{notify: {role: antragsteller, fields: [x], basis: "§41 VwVfG"}}]
states:
  a:
    transitions: [{on: done, to: z}]
  z: {terminal: notified}
)yaml"),
                                "wf.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  const Role* role = r.definition->FindRole("antragsteller");
  ASSERT_NE(role, nullptr);
  EXPECT_TRUE(role->applicant);
  EXPECT_TRUE(role->candidates.empty());

  EXPECT_EQ(Errors(With(R"yaml(  a1: {bind: applicant, when: application.x}
  a2: {bind: applicant}
  a3: {bind: portal}
start: {to: a}
states:
  a:
    transitions: [{on: done, to: z}]
  z: {terminal: notified}
)yaml")),
            (Strings{"7:25: role 'a1' is the applicant, the main party of every procedure (§13 "
                     "VwVfG): it cannot have 'when'",
                     "8:14: role 'a1' is already bound to the applicant",
                     "9:14: 'bind' is a binding {organisation: ID} or {function: F, area: EXPR}, "
                     "a list of them, or 'applicant'"}));
}

TEST(ValidationTest, CertificateAndExtensionActions) {
  EXPECT_EQ(Errors(With(R"yaml(variables: {x: {type: bool}}
deadlines:
  fixed:
    duration: P1M
    on_extension: [{notify: {role: amt, fields: [x], basis: b}}]
start: {to: a}
states:
  a:
    transitions: [{on: done, to: z}]
  z: {terminal: deemed_approved}
on_certificate:
  - notify: {role: amt, content: {due: data.due}, basis: "§42a Abs. 3 VwVfG"}
  - set: {variable: x, value: "true"}
)yaml")),
            (Strings{"11:5: deadline 'fixed' cannot be extended ('extensions' is 0)",
                     "19:5: on_certificate runs on the closed case: only 'notify' actions can run "
                     "there"}));
}

TEST(ValidationTest, NotifyContentIsNamedExpressions) {
  EXPECT_EQ(Errors(With(R"yaml(start:
  to: a
  actions:
    - notify: {role: amt, content: {grund: data.reason, "bad name": "1", n: vars.nope}, basis: b}
    - notify: {role: amt, content: {}, basis: b}
states:
  a:
    transitions: [{on: done, to: z}]
  z: {terminal: notified}
)yaml")),
            (Strings{"10:57: content name 'bad name' must match [A-Za-z_][A-Za-z0-9_]*",
                     "11:36: 'content' must not be empty",
                     "10:77: undefined variable 'nope'; declare it under 'variables:'"}));
}

}  // namespace
}  // namespace amtsweg::dsl
