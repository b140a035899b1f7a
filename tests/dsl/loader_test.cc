#include "engine/dsl/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/temp_dir.h"

namespace amtsweg::dsl {
namespace {

// Loads `yaml` and returns the diagnostics as "line:column: message".
std::vector<std::string> Errors(std::string_view yaml, const Directory* dir = nullptr) {
  LoadResult r = LoadDefinition(yaml, "wf.yaml", dir);
  std::vector<std::string> out;
  for (const Diagnostic& d : r.errors) {
    EXPECT_EQ(d.file, "wf.yaml");
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  }
  EXPECT_EQ(r.definition == nullptr, !out.empty());
  return out;
}

using Strings = std::vector<std::string>;

// A small valid definition; tests append or replace lines.
constexpr char kHead[] = R"(name: test
version: 1
leika: "99050012104000"
)";

TEST(LoaderTest, LoadsCompleteDefinition) {
  constexpr char kYaml[] = R"(name: sample-flow_2
version: 3
title: Sample
leika: "99050012104000"
roles:
  amt:
    title: Amt
    bind: {function: gewerbeamt, area: application.ags}
  kammer:
    when: application.kammer == true
    bind:
      - {when: application.hw, function: hwk, area: application.ags}
      - {organisation: ihk-kiel}
variables:
  flag: {type: bool, default: false}
  name: {type: string}
  n: {type: number, default: 2.5}
  any: {default: [1, "x"]}
deadlines:
  frist:
    title: Frist
    duration: P3M
    calendar: exact
    extensions: 2
    max_extension: P1M
    extendable_by: amt
    on_expiry:
      actions: [{set: {variable: flag, value: "true"}}]
      to: fiktiv
      effect: gilt als erteilt
start:
  on: custom.opened
  to: a
  actions:
    - request: {task: t, roles: [amt, kammer], join: 2, fields: [x.y], basis: "§1", message: m}
    - start: frist
states:
  a:
    title: A
    on_enter:
      - notify: {role: amt, fields: [x], basis: "§2"}
    transitions:
      - on: custom.event
        from: amt
        when: data.ok == true
        actions:
          - extend: {deadline: frist, reason: schwierig, by: P2W}
          - when: vars.flag
            cancel: frist
        to: b
      - on: {response: t, from: kammer}
        actions: [{set: {variable: name, value: data.name}}]
      - on: {joined: t}
        to: b
  b:
    transitions:
      - when: vars.flag and vars.n > 1
        to: done
  done: {terminal: approved}
  fiktiv: {terminal: deemed_approved}
on_withdrawal:
  - cancel: frist
tasks:
  t:
    title: Stellungnahme
    answer: vote
    answers: {yes: {requires: [reason]}, no: null}
    requires: [name]
)";
  LoadResult r = LoadDefinition(kYaml, "wf.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_NE(r.definition, nullptr);
  const Definition& d = *r.definition;
  EXPECT_EQ(d.name, "sample-flow_2");
  EXPECT_EQ(d.version, 3);
  EXPECT_EQ(d.title, "Sample");
  EXPECT_EQ(d.leika, "99050012104000");
  EXPECT_EQ(d.file, "wf.yaml");
  EXPECT_EQ(d.pos.line, 1);

  ASSERT_EQ(d.roles.size(), 2u);
  const Role* amt = d.FindRole("amt");
  ASSERT_NE(amt, nullptr);
  EXPECT_EQ(amt->title, "Amt");
  ASSERT_EQ(amt->candidates.size(), 1u);
  EXPECT_EQ(amt->candidates[0].function, "gewerbeamt");
  EXPECT_EQ(amt->candidates[0].area->text(), "application.ags");
  const Role* kammer = d.FindRole("kammer");
  ASSERT_NE(kammer, nullptr);
  EXPECT_NE(kammer->when, nullptr);
  ASSERT_EQ(kammer->candidates.size(), 2u);
  EXPECT_NE(kammer->candidates[0].when, nullptr);
  EXPECT_EQ(kammer->candidates[1].organisation, "ihk-kiel");
  EXPECT_EQ(kammer->candidates[1].pos.line, 13);

  EXPECT_EQ(d.FindVariable("flag")->initial, Value(false));
  EXPECT_EQ(d.FindVariable("flag")->type, "bool");
  EXPECT_TRUE(d.FindVariable("name")->initial.is_null());
  EXPECT_EQ(d.FindVariable("n")->initial, Value(2.5));
  EXPECT_EQ(d.FindVariable("any")->type, "any");
  EXPECT_EQ(d.FindVariable("any")->initial, Value::Array({Value(1), Value("x")}));

  const Deadline* f = d.FindDeadline("frist");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->duration.months, 3);
  EXPECT_FALSE(f->legal_calendar);
  EXPECT_EQ(f->max_extensions, 2);
  ASSERT_TRUE(f->max_extension.has_value());
  EXPECT_EQ(f->max_extension->months, 1);
  EXPECT_EQ(f->extendable_by, "amt");
  EXPECT_EQ(f->target, "fiktiv");
  EXPECT_EQ(f->legal_effect, "gilt als erteilt");
  ASSERT_EQ(f->on_expiry.size(), 1u);
  EXPECT_EQ(f->on_expiry[0].kind, ActionKind::kSet);

  EXPECT_EQ(d.start.event_type, "custom.opened");
  EXPECT_EQ(d.start.state, "a");
  ASSERT_EQ(d.start.actions.size(), 2u);
  const Action& req = d.start.actions[0];
  EXPECT_EQ(req.kind, ActionKind::kRequest);
  EXPECT_EQ(req.task, "t");
  EXPECT_EQ(req.roles, (Strings{"amt", "kammer"}));
  EXPECT_EQ(req.join, JoinKind::kCount);
  EXPECT_EQ(req.join_count, 2);
  EXPECT_EQ(req.fields, Strings{"x.y"});
  EXPECT_EQ(req.legal_basis, "§1");
  EXPECT_EQ(req.message, "m");
  EXPECT_EQ(req.pos.line, 35);
  EXPECT_EQ(d.start.actions[1].kind, ActionKind::kStartDeadline);
  EXPECT_EQ(d.start.actions[1].deadline, "frist");

  const State* a = d.FindState("a");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->terminal.has_value());
  ASSERT_EQ(a->on_enter.size(), 1u);
  EXPECT_EQ(a->on_enter[0].kind, ActionKind::kNotify);
  EXPECT_EQ(a->on_enter[0].roles, Strings{"amt"});
  ASSERT_EQ(a->transitions.size(), 3u);
  const Transition& t0 = a->transitions[0];
  EXPECT_EQ(t0.trigger, TriggerKind::kEvent);
  EXPECT_EQ(t0.event_type, "custom.event");
  EXPECT_EQ(t0.from, "amt");
  EXPECT_EQ(t0.target, "b");
  ASSERT_EQ(t0.actions.size(), 2u);
  EXPECT_EQ(t0.actions[0].kind, ActionKind::kExtendDeadline);
  EXPECT_EQ(t0.actions[0].reason, "schwierig");
  EXPECT_EQ(t0.actions[0].extension->weeks, 2);
  EXPECT_EQ(t0.actions[1].kind, ActionKind::kCancelDeadline);
  EXPECT_NE(t0.actions[1].when, nullptr);
  EXPECT_EQ(a->transitions[1].trigger, TriggerKind::kResponse);
  EXPECT_EQ(a->transitions[1].task, "t");
  EXPECT_EQ(a->transitions[1].from, "kammer");
  EXPECT_TRUE(a->transitions[1].target.empty());
  EXPECT_EQ(a->transitions[2].trigger, TriggerKind::kJoined);
  EXPECT_EQ(d.FindState("b")->transitions[0].trigger, TriggerKind::kAuto);
  EXPECT_EQ(d.FindState("done")->terminal, Outcome::kApproved);
  EXPECT_EQ(d.FindState("fiktiv")->terminal, Outcome::kDeemedApproved);
  ASSERT_EQ(d.on_withdrawal.size(), 1u);
  EXPECT_EQ(d.event_types(), (Strings{"custom.opened", "custom.event"}));
  EXPECT_EQ(d.FindState("nope"), nullptr);
  const Task* t = d.FindTask("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->title, "Stellungnahme");
  EXPECT_EQ(t->answer, "vote");
  EXPECT_EQ(t->required, Strings{"name"});
  ASSERT_EQ(t->answers.size(), 2u);
  EXPECT_EQ(t->answers[0].value, Value("yes"));
  EXPECT_EQ(t->answers[0].required, Strings{"reason"});
  EXPECT_TRUE(t->answers[1].required.empty());
  EXPECT_NE(t->FindAnswer(Value("no")), nullptr);
  EXPECT_EQ(t->FindAnswer(Value("maybe")), nullptr);
}

TEST(LoaderTest, Defaults) {
  std::string yaml = std::string(kHead) + R"(authority: amt
roles:
  amt: {bind: {organisation: x}}
deadlines:
  f: {duration: P1D}
start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
)";
  LoadResult r = LoadDefinition(yaml, "wf.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  const Definition& d = *r.definition;
  EXPECT_EQ(d.start.event_type, "de.amtsweg.application.submitted");
  EXPECT_TRUE(d.FindDeadline("f")->legal_calendar);
  EXPECT_EQ(d.FindDeadline("f")->max_extensions, 0);
  EXPECT_FALSE(d.FindDeadline("f")->max_extension.has_value());
  EXPECT_EQ(d.event_types(), (Strings{"de.amtsweg.application.submitted", "x"}));
}

TEST(LoaderTest, Outcomes) {
  for (Outcome o : {Outcome::kApproved, Outcome::kRejected, Outcome::kDeemedApproved,
                    Outcome::kWithdrawn, Outcome::kNotified}) {
    EXPECT_EQ(ParseOutcome(OutcomeName(o)), o);
  }
  EXPECT_EQ(OutcomeName(Outcome::kDeemedApproved), "deemed_approved");
  EXPECT_FALSE(ParseOutcome("maybe").has_value());
}

TEST(LoaderTest, YamlSyntaxError) {
  EXPECT_EQ(Errors("name: x\nroles: [a, b\nversion: 1\n"),
            Strings{"3:8: YAML syntax error: end of sequence flow not found"});
}

TEST(LoaderTest, EmptyDocument) {
  EXPECT_EQ(Errors("# nothing\n"), Strings{"1:1: empty workflow definition"});
}

TEST(LoaderTest, MissingTopLevelKeys) {
  EXPECT_EQ(Errors("title: x\n"), (Strings{"1:1: missing 'name'", "1:1: missing 'version'",
                                           "1:1: missing 'leika' (the 14-digit LeiKa service "
                                           "key, e.g. \"99050012104000\")",
                                           "1:1: missing 'start'", "1:1: missing 'states'"}));
}

constexpr char kTail[] = R"(start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
)";

std::vector<std::string> ErrorsWithHead(std::string_view head, const Directory* dir = nullptr) {
  return Errors(std::string(head) + kTail, dir);
}

TEST(LoaderTest, NameAndVersion) {
  EXPECT_EQ(ErrorsWithHead("name: Bad Name\nversion: 0\nleika: \"99050012104000\"\n"),
            (Strings{"1:7: name 'Bad Name' must match [a-z0-9_-]+",
                     "2:10: version must be an integer >= 1"}));
  EXPECT_EQ(ErrorsWithHead("name: ok\nversion: one\nleika: \"99050012104000\"\n"),
            Strings{"2:10: 'version' must be an integer"});
}

TEST(LoaderTest, Leika) {
  EXPECT_EQ(ErrorsWithHead("name: ok\nversion: 1\nleika: \"12345\"\n"),
            Strings{"3:8: leika '12345' must be 14 digits starting with 99 (^99\\d{12}$)"});
  EXPECT_EQ(ErrorsWithHead("name: ok\nversion: 1\nleika: 99050012104000\n"),
            Strings{"3:8: leika must be a quoted string (\"99050012104000\"), or YAML tools read "
                    "it as a number"});
}

TEST(LoaderTest, UnknownKeysAtEveryLevel) {
  std::string yaml = std::string(kHead) + R"(colour: red
roles:
  r: {bind: {function: f, area: application.a, size: 1}, size: 2}
variables:
  v: {type: bool, size: 3}
deadlines:
  d: {duration: P1D, size: 4, on_expiry: {to: b, size: 5}, calendar: exact}
start: {to: a, size: 6}
states:
  a:
    size: 7
    on_enter: [{notify: {role: r, fields: [x], basis: b, size: 8}}]
    transitions: [{on: x, to: b, size: 9}]
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{
                "4:1: unknown key 'colour' in the workflow; allowed: name, version, title, "
                "description, leika, authority, roles, variables, deadlines, tasks, start, "
                "states, on_withdrawal, on_certificate, personal_data, retention",
                "6:58: unknown key 'size' in role 'r'; allowed: title, when, bind",
                "6:48: unknown key 'size' in binding of role 'r'; allowed: when, organisation, "
                "function, area",
                "8:19: unknown key 'size' in variable 'v'; allowed: type, default, title",
                "10:22: unknown key 'size' in deadline 'd'; allowed: title, duration, calendar, "
                "authority, extensions, max_extension, extendable_by, on_expiry, on_extension",
                "10:50: unknown key 'size' in on_expiry of deadline 'd'; allowed: actions, to, "
                "effect",
                "11:16: unknown key 'size' in start; allowed: on, to, actions",
                "14:5: unknown key 'size' in state 'a'; allowed: title, terminal, on_enter, "
                "transitions",
                "15:58: unknown key 'size' in notify; allowed: roles, role, fields, content, "
                "basis, message",
                "16:34: unknown key 'size' in transition of state 'a'; allowed: on, from, when, "
                "actions, to",
            }));
}

TEST(LoaderTest, UnknownStateTargets) {
  std::string yaml = std::string(kHead) + R"(deadlines:
  d: {duration: P1D, on_expiry: {to: nirgends}, calendar: exact}
start: {to: anfang}
states:
  a:
    transitions: [{on: x, to: b}, {on: y, to: c}]
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"5:38: unknown state 'nirgends' (states: a, b)",
                                   "6:13: unknown state 'anfang' (states: a, b)",
                                   "9:47: unknown state 'c' (states: a, b)"}));
}

TEST(LoaderTest, UnreachableState) {
  std::string yaml = std::string(kHead) + R"(deadlines:
  d: {duration: P1D, on_expiry: {to: fiktiv}, calendar: exact}
start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
  fiktiv: {terminal: deemed_approved}
  insel:
    transitions: [{on: x, to: b}]
)";
  // `fiktiv` is reached by the deadline's expiry.
  EXPECT_EQ(Errors(yaml), Strings{"12:3: state 'insel' is unreachable from start state 'a'"});
}

TEST(LoaderTest, NonTerminalStateWithoutWayOut) {
  std::string yaml = std::string(kHead) + R"(start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}, {on: y}]
  b:
    title: stuck
    transitions: [{on: z}]
  c: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"8:3: state 'b' is not terminal and has no way out",
                                   "11:3: state 'c' is unreachable from start state 'a'"}));
}

TEST(LoaderTest, DeadlineExpiryIsAWayOut) {
  std::string yaml = std::string(kHead) + R"(deadlines:
  d: {duration: P1D, on_expiry: {to: c}, calendar: exact}
start: {to: a, actions: [{start: d}]}
states:
  a: {title: waiting}
  c: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml), Strings{});
}

TEST(LoaderTest, TerminalStateWithTransitions) {
  std::string yaml = std::string(kHead) + R"(start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b:
    terminal: approved
    transitions: [{on: x, to: a}]
)";
  EXPECT_EQ(Errors(yaml), Strings{"10:5: terminal state 'b' must not have transitions"});
}

TEST(LoaderTest, UnknownOutcome) {
  std::string yaml = std::string(kHead) + R"(start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: maybe}
)";
  EXPECT_EQ(Errors(yaml),
            Strings{"8:17: unknown outcome 'maybe'; expected approved, rejected, deemed_approved, "
                    "withdrawn or notified"});
}

TEST(LoaderTest, UndefinedRoles) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
deadlines:
  d: {duration: P1D, extendable_by: chef, calendar: exact}
start:
  to: a
  actions:
    - notify: {roles: [amt, ihk], fields: [x], basis: b}
    - request: {task: t, role: hwk, fields: [x], basis: b}
states:
  a:
    transitions:
      - {on: x, from: buerger, to: b}
      - {on: {response: t, from: kammer}, to: b}
  b: {terminal: notified}
tasks: {t: {}}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"7:37: undefined role 'chef' (roles: amt)",
                                   "11:29: undefined role 'ihk' (roles: amt)",
                                   "12:32: undefined role 'hwk' (roles: amt)",
                                   "16:23: undefined role 'buerger' (roles: amt)",
                                   "17:34: undefined role 'kammer' (roles: amt)"}));
}

TEST(LoaderTest, UndefinedVariables) {
  std::string yaml = std::string(kHead) + R"(variables:
  known: {type: bool}
start:
  to: a
  actions:
    - set: {variable: unbekannt, value: "true"}
states:
  a:
    transitions:
      - when: vars.known and vars.missing.deep == 1
        to: b
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"9:23: undefined variable 'unbekannt'; declare it under "
                                   "'variables:'",
                                   "13:30: undefined variable 'missing'; declare it under "
                                   "'variables:'"}));
}

TEST(LoaderTest, TasksMustBeRequested) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
start:
  to: a
  actions:
    - request: {task: pruefung, role: amt, fields: [x], basis: b}
states:
  a:
    transitions:
      - {on: {response: pruefung}, to: b}
      - {on: {response: anhoerung, from: amt}, to: b}
      - {on: {joined: beteiligung}, to: b}
  b: {terminal: notified}
tasks: {pruefung: {}}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{"14:25: task 'anhoerung' is not requested by any 'request' action",
                     "15:23: task 'beteiligung' is not requested by any 'request' action"}));
}

TEST(LoaderTest, UndefinedDeadlines) {
  std::string yaml = std::string(kHead) + R"(deadlines:
  frist: {duration: P1M, calendar: exact}
start:
  to: a
  actions:
    - start: frist
    - start: fristt
    - extend: {deadline: other, reason: r}
    - cancel: third
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"10:14: undefined deadline 'fristt' (deadlines: frist)",
                                   "11:26: undefined deadline 'other' (deadlines: frist)",
                                   "12:15: undefined deadline 'third' (deadlines: frist)"}));
}

TEST(LoaderTest, InvalidDurations) {
  std::string yaml = std::string(kHead) + R"(deadlines:
  a: {duration: 3M, calendar: exact}
  b: {duration: P3X, max_extension: P0D, calendar: exact}
  c: {title: no duration, calendar: exact}
start:
  to: s
  actions:
    - extend: {deadline: a, reason: r, by: PT}
states:
  s:
    transitions: [{on: x, to: t}]
  t: {terminal: notified}
)";
  EXPECT_EQ(
      Errors(yaml),
      (Strings{"5:17: 'duration': invalid ISO-8601 duration \"3M\" at character 1: must "
               "start with 'P'",
               "6:17: 'duration': invalid ISO-8601 duration \"P3X\" at character 3: unknown "
               "unit 'X' in the date part",
               "6:37: 'max_extension' must not be zero", "7:3: deadline 'c' is missing 'duration'",
               "11:44: 'by': invalid ISO-8601 duration \"PT\" at character 2: 'T' without a "
               "time part"}));
}

TEST(LoaderTest, MalformedExpressionsPointIntoTheScalar) {
  std::string yaml = std::string(kHead) + R"(start: {to: a}
states:
  a:
    transitions:
      - when: data.x == 1 and foo.y
        to: b
      - when: "data.x == (1"
        to: b
      - when: 'data.x =! 1'
        to: b
      - when: >-
          data.x ==
          == 2
        to: b
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{"8:31: invalid expression in 'when': unknown root 'foo'; expected data, vars "
                     "or application",
                     "10:28: invalid expression in 'when': expected ')' but found end of "
                     "expression",
                     "12:23: invalid expression in 'when': unexpected '='; use '==' to compare",
                     // A folded scalar does not map to columns: the scalar's position.
                     "14:15: invalid expression in 'when': unexpected '=='"}));
}

TEST(LoaderTest, DuplicateNames) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
  amt: {bind: {organisation: y}}
variables:
  v: {type: bool}
  v: {type: string}
deadlines:
  d: {duration: P1D, calendar: exact}
  d: {duration: P2D, calendar: exact}
start: {to: a}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
  a: {terminal: approved}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"6:3: duplicate key 'amt' in roles (first at line 5)",
                                   "9:3: duplicate key 'v' in variables (first at line 8)",
                                   "12:3: duplicate key 'd' in deadlines (first at line 11)",
                                   "18:3: duplicate key 'a' in states (first at line 15)"}));
}

TEST(LoaderTest, JoinCountAboveRoles) {
  std::string yaml = std::string(kHead) + R"(roles:
  a1: {bind: {organisation: x}}
  a2: {bind: {organisation: y}}
start:
  to: a
  actions:
    - request: {task: t, roles: [a1, a2], join: 3, fields: [x], basis: b}
    - request: {task: u, roles: [a1, a2], join: some, fields: [x], basis: b}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
tasks: {t: {}, u: {}}
)";
  EXPECT_EQ(Errors(yaml), (Strings{"10:49: join 3 needs more responses than the 2 roles asked",
                                   "11:49: join must be all, any or a number >= 1"}));
}

TEST(LoaderTest, DisclosuresNeedFieldsAndBasis) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
start:
  to: a
  actions:
    - notify: {role: amt, fields: [], basis: "§1"}
    - notify: {role: amt, basis: "§1"}
    - notify: {role: amt, fields: [name]}
    - request: {task: t, role: amt, fields: [ok, "bad path"], basis: ""}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
tasks: {t: {}}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{"9:35: 'fields' must not be empty (data minimisation: list what the "
                     "recipients may see)",
                     "10:15: notify needs 'fields': the application fields the recipients may see "
                     "(or 'content': the facts they are told)",
                     "11:15: notify needs a legal 'basis' for the disclosure (e.g. \"§14 Abs. 8 "
                     "GewO\")",
                     "12:50: field 'bad path' must be a dotted path like betrieb.name",
                     "12:70: 'basis' must not be empty"}));
}

TEST(LoaderTest, ActionShape) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
variables:
  v: {}
start:
  to: a
  actions:
    - {when: "true"}
    - {set: {variable: v, value: "1"}, cancel: d}
    - {set: {variable: v}}
    - explode: now
    - extend: {deadline: d}
deadlines:
  d: {duration: P1D, calendar: exact}
states:
  a:
    transitions: [{on: x, to: b}]
  b: {terminal: notified}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{"11:7: action needs one of notify, request, set, start, extend, cancel",
                     "12:40: an action item has exactly one of notify, request, set, start, "
                     "extend, cancel; write one list item per action",
                     "13:13: set needs 'variable' and 'value'",
                     "14:7: unknown key 'explode' in action; allowed: notify, request, set, "
                     "start, extend, cancel, when",
                     "14:7: action needs one of notify, request, set, start, extend, cancel",
                     "15:15: extend needs a 'reason' (an extension must be reasoned)"}));
}

TEST(LoaderTest, TransitionShape) {
  std::string yaml = std::string(kHead) + R"(roles:
  amt: {bind: {organisation: x}}
start:
  to: a
  actions:
    - request: {task: t, role: amt, fields: [x], basis: b}
states:
  a:
    transitions:
      - to: b
      - {on: {joined: t, from: amt}, to: b}
      - {on: {}, to: b}
      - {on: "bad type!", to: b}
      - {when: "true", to: a}
  b: {terminal: notified}
tasks: {t: {}}
)";
  EXPECT_EQ(Errors(yaml),
            (Strings{"13:9: a transition without 'on' is automatic and needs 'when' and 'to'",
                     "14:26: 'from' cannot be used with 'joined'",
                     "15:14: 'on' needs either 'response: TASK' or 'joined: TASK' (or an event "
                     "type string)",
                     "16:14: invalid event type 'bad type!'",
                     "17:28: an automatic transition cannot lead back to its own state 'a'"}));
}

TEST(LoaderTest, RoleBindings) {
  std::string yaml = std::string(kHead) + R"(roles:
  a: {title: no binding}
  b: {bind: {function: gewerbeamt}}
  c: {bind: {organisation: x, function: y, area: application.ags}}
  d: {bind: []}
  Bad: {bind: {organisation: x}}
)" + kTail;
  EXPECT_EQ(Errors(yaml),
            (Strings{"5:3: role 'a' is missing 'bind'",
                     "6:13: binding by function 'gewerbeamt' needs 'area' (an expression that "
                     "yields the AGS)",
                     "7:13: a binding needs either 'organisation' or 'function' (with 'area')",
                     "7:44: 'area' is only used with 'function'",
                     "8:13: 'bind' must list at least one candidate",
                     "9:3: role 'Bad' must match [a-z_][a-z0-9_]*"}));
}

TEST(LoaderTest, VariableTypes) {
  std::string yaml = std::string(kHead) + R"(variables:
  a: {type: bool, default: "yes"}
  b: {type: number, default: x}
  c: {type: text}
  d: {type: string, default: null}
)" + kTail;
  EXPECT_EQ(Errors(yaml), (Strings{"5:28: default of variable 'a' is not of type bool",
                                   "6:30: default of variable 'b' is not of type number",
                                   "7:13: unknown variable type 'text'; expected bool, string, "
                                   "number or any"}));
}

TEST(LoaderTest, DirectoryChecks) {
  auto dir = Directory::Parse(R"(organisations:
  - {id: lfu-sh, kind: state, name: LfU, functions: [immissionsschutz], area: ["01"]}
)",
                              "dir.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  std::string yaml = std::string(kHead) + R"(roles:
  lfu: {bind: {organisation: lfu-sh}}
  alt: {bind: {organisation: lfu-nrw}}
  gem: {bind: [{function: immissionsschutz, area: application.ags}, {function: gemeinde, area: application.ags}]}
)" + kTail;
  EXPECT_EQ(Errors(yaml, dir->get()),
            (Strings{"6:30: organisation 'lfu-nrw' is not in the directory",
                     "7:80: no organisation in the directory performs function 'gemeinde'"}));
  EXPECT_EQ(Errors(yaml), Strings{});  // without a directory these are not checked
}

TEST(LoaderTest, EveryErrorIsReported) {
  // Several independent problems in one file: all are reported, in one pass.
  std::string yaml = R"(name: X
version: 0
leika: "1"
start: {to: nowhere}
states:
  a: {transitions: [{on: x, to: a}]}
)";
  EXPECT_EQ(Errors(yaml).size(), 5u);
}

TEST(LoaderTest, DiagnosticToString) {
  EXPECT_EQ((Diagnostic{"f.yaml", 3, 7, "bad"}).ToString(), "f.yaml:3:7: bad");
  EXPECT_EQ((Diagnostic{"f.yaml", 0, 0, "cannot open file"}).ToString(),
            "f.yaml: cannot open file");
  LoadResult r = LoadDefinitionFile("/nonexistent/x.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "/nonexistent/x.yaml: cannot open file");
}

// --- Registry ------------------------------------------------------------------------------------

DefinitionPtr Def(std::string name, int version, std::string leika,
                  std::string event = "de.amtsweg.application.submitted") {
  auto d = std::make_shared<Definition>();
  d->name = std::move(name);
  d->version = version;
  d->leika = std::move(leika);
  d->start.event_type = std::move(event);
  d->start.state = "a";
  d->Index();
  return d;
}

TEST(RegistryTest, FindLatestForLeika) {
  Registry reg;
  ASSERT_TRUE(reg.Add(Def("gewerbe", 1, "99050012104000")).ok());
  ASSERT_TRUE(reg.Add(Def("gewerbe", 2, "99050012104000")).ok());
  ASSERT_TRUE(reg.Add(Def("bau", 1, "99066002000000", "custom.bau")).ok());
  ASSERT_TRUE(reg.Add(Def("alt", 2, "99050012104000")).ok());
  Status dup = reg.Add(Def("gewerbe", 2, "99050012104000"));
  EXPECT_TRUE(dup.IsConflict());

  EXPECT_EQ(reg.Find("gewerbe", 1)->version, 1);
  EXPECT_EQ(reg.Find("gewerbe", 3), nullptr);
  EXPECT_EQ(reg.Find("none", 1), nullptr);
  EXPECT_EQ(reg.Latest("gewerbe")->version, 2);
  EXPECT_EQ(reg.Latest("none"), nullptr);
  // Highest version for the key; ties go to the smaller name.
  EXPECT_EQ(reg.ForLeika("99050012104000")->name, "alt");
  EXPECT_EQ(reg.ForLeika("99066002000000")->name, "bau");
  EXPECT_EQ(reg.ForLeika("99000000000000"), nullptr);
  EXPECT_TRUE(reg.HandlesType("custom.bau"));
  EXPECT_TRUE(reg.HandlesType("de.amtsweg.application.submitted"));
  EXPECT_FALSE(reg.HandlesType("de.amtsweg.other"));
  EXPECT_EQ(reg.All().size(), 4u);
}

TEST(RegistryTest, LoadRegistryReportsDuplicatesAcrossFiles) {
  namespace fs = std::filesystem;
  amtsweg::testing::TempDir tmp("amtsweg-dsl-registry");
  const fs::path dir = tmp.path();
  fs::create_directories(dir / "sub");
  std::string body = std::string(kHead) + kTail;
  auto write = [&](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "a.yaml", body);
  write(dir / "b.yml", "\n" + body);  // same name and version, one line lower
  write(dir / "c.yaml", "name: broken\n");
  write(dir / "notes.txt", "ignored");
  write(dir / "sub" / "d.yaml", "ignored: not recursive");
  RegistryLoadResult r = LoadRegistry(dir.string());
  std::vector<std::string> errors;
  for (const Diagnostic& d : r.errors)
    errors.push_back(d.ToString());
  std::string a = (dir / "a.yaml").string(), b = (dir / "b.yml").string(),
              c = (dir / "c.yaml").string();
  EXPECT_EQ(errors, (Strings{b + ":2:1: workflow 'test' version 1 is also defined in " + a + ":1:1",
                             c + ":1:1: missing 'version'",
                             c + ":1:1: missing 'leika' (the 14-digit LeiKa service key, e.g. "
                                 "\"99050012104000\")",
                             c + ":1:1: missing 'start'", c + ":1:1: missing 'states'"}));
  EXPECT_EQ(r.registry.All().size(), 1u);
  EXPECT_EQ(r.registry.Find("test", 1)->file, a);
}

}  // namespace
}  // namespace amtsweg::dsl

namespace amtsweg::dsl {
namespace {

constexpr char kDataProtectionTail[] = R"(start: {to: done}
states:
  done: {terminal: approved}
)";

TEST(LoaderDataProtectionTest, PersonalDataAndRetentionAreRead) {
  std::string yaml = std::string(R"(name: test
version: 1
leika: "99050012104000"
personal_data:
  application: [inhaber, betrieb.anschrift]
  responses: all
retention: {period: P5Y, after: certificate.issued, basis: "Aktenordnung"}
)") + kDataProtectionTail;
  LoadResult r = LoadDefinition(yaml, "wf.yaml", nullptr);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  EXPECT_FALSE(r.definition->personal.all_application);
  EXPECT_EQ(r.definition->personal.application,
            (std::vector<std::string>{"inhaber", "betrieb.anschrift"}));
  EXPECT_TRUE(r.definition->personal.all_responses);
  ASSERT_TRUE(r.definition->retention.has_value());
  EXPECT_EQ(r.definition->retention->period_text, "P5Y");
  EXPECT_EQ(r.definition->retention->after, "certificate.issued");
  EXPECT_EQ(r.definition->retention->basis, "Aktenordnung");

  LoadResult plain = LoadDefinition(std::string(R"(name: test
version: 2
leika: "99050012104000"
retention: P6M
)") + kDataProtectionTail,
                                    "wf.yaml", nullptr);
  ASSERT_TRUE(plain.errors.empty());
  EXPECT_TRUE(plain.definition->personal.all_application);  // the default
  EXPECT_EQ(plain.definition->retention->after, "case.closed");
  EXPECT_EQ(plain.definition->retention->basis,
            "retention period P6M after case.closed (workflow test version 2)");
}

TEST(LoaderDataProtectionTest, BadDeclarationsAreErrorsThatSayWhere) {
  auto errors = [](std::string_view lines) {
    LoadResult r = LoadDefinition(std::string(R"(name: test
version: 1
leika: "99050012104000"
)") + std::string(lines) + kDataProtectionTail,
                                  "wf.yaml", nullptr);
    std::vector<std::string> out;
    for (const Diagnostic& d : r.errors)
      out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
    return out;
  };
  std::vector<std::string> e = errors("personal_data: {application: [\"a..b\"], other: x}\n");
  ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("unknown key 'other' in personal_data"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("'a..b' is not a dotted path"), std::string::npos) << e[1];
  e = errors("personal_data: {application: some}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("must be 'all' or a list"), std::string::npos) << e[0];
  e = errors("retention: five years\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("4:", 0), 0u) << e[0];
  EXPECT_NE(e[0].find("not an ISO 8601 duration"), std::string::npos) << e[0];
  e = errors("retention: {period: P1Y, after: deadline.expired}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("must be case.closed or certificate.issued"), std::string::npos) << e[0];
  e = errors("retention: {after: case.closed}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("missing 'period'"), std::string::npos) << e[0];
}

}  // namespace
}  // namespace amtsweg::dsl
