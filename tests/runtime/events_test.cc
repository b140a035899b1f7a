// The typed domain events against the untyped encoding they replace: every type encodes to the
// bytes of its data written as a Value (what the engine stored before the types existed, and what
// the hash chains of old stores are made of), decodes from them, and shows them as before.
#include "engine/runtime/events.h"

#include <gtest/gtest.h>

#include <set>

#include "engine/runtime/case_state.h"

namespace amtsweg::runtime {
namespace {

// The encoding of a domain event before the types: the envelope, then the data as a Value.
std::string Untyped(uint64_t seq, Timestamp time, DomainType type, std::string_view cause,
                    const Value& data) {
  std::string out;
  out.push_back(1);
  PutVarint(seq, &out);
  PutVarint(static_cast<uint64_t>(time), &out);
  out.push_back(static_cast<char>(type));
  PutLengthPrefixed(cause, &out);
  data.AppendBinary(&out);
  return out;
}

Value Json(std::string_view text) {
  Result<Value> v = Value::ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString() << " in " << text;
  return v.ok() ? *v : Value();
}

Value Strings(std::vector<std::string> items) {
  return Value::Array(std::vector<Value>(items.begin(), items.end()));
}

struct Sample {
  std::string what;
  EventData typed;
  Value untyped;  // as the runtime built it before the types, member by member
};

std::vector<Sample> Samples() {
  const Value application =
      Json(R"({"leika":"99000000000001","betrieb":{"name":"Jensen GmbH","ags":"01002000",)"
           R"("beschaeftigte":2,"umsatz":1.5e6,"register":null},"tags":["a",true,3]})");
  const Value content = Json(R"({"begruendung":"Gutachten","frist":"2026-11-16T23:00:00Z"})");
  const LegalCalendar legal{.holidays = "DE-SH",
                            .holidays_of = "hwk-luebeck",
                            .skipped = {"2026-11-15 Sonntag", "2026-11-14 Samstag"}};
  std::vector<Sample> s;
  s.push_back({"case.opened",
               CaseOpened{.case_id = "C-1",
                          .workflow = "testflow",
                          .version = 2,
                          .leika = "99000000000001",
                          .source = "urn:portal",
                          .application = application,
                          .variables = Json(R"({"consent":null,"heard":false})")},
               ObjectBuilder()
                   .Add("case", "C-1")
                   .Add("workflow", "testflow")
                   .Add("version", 2)
                   .Add("leika", "99000000000001")
                   .Add("source", "urn:portal")
                   .Add("application", application)
                   .Add("variables", Json(R"({"consent":null,"heard":false})"))
                   .Build()});
  s.push_back(
      {"participant.resolved",
       ParticipantResolved{.role = "kammer", .organisation = "ihk-kiel", .name = "IHK Kiel"},
       ObjectBuilder()
           .Add("role", "kammer")
           .Add("organisation", "ihk-kiel")
           .Add("name", "IHK Kiel")
           .Build()});
  s.push_back({"state.entered", StateEntered{.state = "hearing", .from = "received"},
               ObjectBuilder().Add("state", "hearing").Add("from", "received").Build()});
  s.push_back(
      {"variable.set", VariableSet{.name = "consent", .value = Json(R"({"a":[1,2.5]})")},
       ObjectBuilder().Add("name", "consent").Add("value", Json(R"({"a":[1,2.5]})")).Build()});
  s.push_back({"variable.set null", VariableSet{.name = "consent", .value = Value()},
               ObjectBuilder().Add("name", "consent").Add("value", Value()).Build()});
  s.push_back({"notification.disclosed to the applicant",
               NotificationDisclosed{.role = "antragsteller",
                                     .organisation = "ozg-portal-sh",
                                     .fields = {"betrieb.name", "betrieb"},
                                     .content = content,
                                     .reply_reference = "postfach-7",
                                     .basis = "§42a Abs. 2 Satz 4 VwVfG",
                                     .message = "Frist verlängert"},
               ObjectBuilder()
                   .Add("role", "antragsteller")
                   .Add("organisation", "ozg-portal-sh")
                   .Add("fields", Strings({"betrieb.name", "betrieb"}))
                   .Add("content", content)
                   .Add("reply_reference", "postfach-7")
                   .Add("basis", "§42a Abs. 2 Satz 4 VwVfG")
                   .Add("message", "Frist verlängert")
                   .Build()});
  s.push_back({"notification.disclosed plain",
               NotificationDisclosed{.role = "statistik",
                                     .organisation = "statistikamt-nord",
                                     .fields = {},
                                     .content = std::nullopt,
                                     .reply_reference = std::nullopt,
                                     .basis = "§14 GewO",
                                     .message = ""},
               ObjectBuilder()
                   .Add("role", "statistik")
                   .Add("organisation", "statistikamt-nord")
                   .Add("fields", Value::Array({}))
                   .Add("basis", "§14 GewO")
                   .Add("message", "")
                   .Build()});
  s.push_back({"notification.disclosed with content only",
               NotificationDisclosed{.role = "kammer",
                                     .organisation = "ihk-kiel",
                                     .fields = {"name"},
                                     .content = Json("{}"),
                                     .reply_reference = std::nullopt,
                                     .basis = "b",
                                     .message = "m"},
               ObjectBuilder()
                   .Add("role", "kammer")
                   .Add("organisation", "ihk-kiel")
                   .Add("fields", Strings({"name"}))
                   .Add("content", Json("{}"))
                   .Add("basis", "b")
                   .Add("message", "m")
                   .Build()});
  s.push_back({"task.requested with content",
               TaskRequested{.task = "hearing",
                             .new_request = true,
                             .role = "kammer",
                             .organisation = "ihk-kiel",
                             .join = "all",
                             .need = 2,
                             .fields = {"name", "ags"},
                             .content = content,
                             .basis = "§2 Test"},
               ObjectBuilder()
                   .Add("task", "hearing")
                   .Add("new", true)
                   .Add("role", "kammer")
                   .Add("organisation", "ihk-kiel")
                   .Add("join", "all")
                   .Add("need", 2)
                   .Add("fields", Strings({"name", "ags"}))
                   .Add("content", content)
                   .Add("basis", "§2 Test")
                   .Build()});
  s.push_back({"task.requested to nobody",
               TaskRequested{.task = "hearing",
                             .new_request = false,
                             .role = "",
                             .organisation = "",
                             .join = "any",
                             .need = 0,
                             .fields = {"name"},
                             .content = std::nullopt,
                             .basis = "§2 Test"},
               ObjectBuilder()
                   .Add("task", "hearing")
                   .Add("new", false)
                   .Add("role", "")
                   .Add("organisation", "")
                   .Add("join", "any")
                   .Add("need", 0)
                   .Add("fields", Strings({"name"}))
                   .Add("basis", "§2 Test")
                   .Build()});
  s.push_back({"response.recorded",
               ResponseRecorded{.task = "hearing",
                                .role = "kammer",
                                .organisation = "ihk-kiel",
                                .response = Json(R"({"task":"hearing","objection":true})")},
               ObjectBuilder()
                   .Add("task", "hearing")
                   .Add("role", "kammer")
                   .Add("organisation", "ihk-kiel")
                   .Add("response", Json(R"({"task":"hearing","objection":true})"))
                   .Build()});
  s.push_back({"task.completed", TaskCompleted{.task = "hearing", .responses = 2},
               ObjectBuilder().Add("task", "hearing").Add("responses", 2).Build()});
  s.push_back({"deadline.started legal",
               DeadlineStarted{.deadline = "fiction",
                               .started = "2026-01-15T10:00:00Z",
                               .due = "2026-04-15T22:00:00Z",
                               .duration = "P3M",
                               .calendar = "legal",
                               .legal = legal},
               ObjectBuilder()
                   .Add("deadline", "fiction")
                   .Add("started", "2026-01-15T10:00:00Z")
                   .Add("due", "2026-04-15T22:00:00Z")
                   .Add("duration", "P3M")
                   .Add("calendar", "legal")
                   .Add("holidays", "DE-SH")
                   .Add("holidays_of", "hwk-luebeck")
                   .Add("skipped", Strings({"2026-11-15 Sonntag", "2026-11-14 Samstag"}))
                   .Build()});
  s.push_back({"deadline.started exact",
               DeadlineStarted{.deadline = "reminder",
                               .started = "2026-01-15T10:00:00.250Z",
                               .due = "2026-01-16T10:00:00.250Z",
                               .duration = "PT24H",
                               .calendar = "exact",
                               .legal = std::nullopt},
               ObjectBuilder()
                   .Add("deadline", "reminder")
                   .Add("started", "2026-01-15T10:00:00.250Z")
                   .Add("due", "2026-01-16T10:00:00.250Z")
                   .Add("duration", "PT24H")
                   .Add("calendar", "exact")
                   .Build()});
  s.push_back({"deadline.extended legal, by a participant",
               DeadlineExtended{.deadline = "eintragung",
                                .previous_due = "2026-10-15T22:00:00Z",
                                .due = "2026-11-16T23:00:00Z",
                                .duration = "P1M",
                                .reason = "Gleichwertigkeit wird geprüft",
                                .by = "hwk-luebeck",
                                .legal = LegalCalendar{.holidays = "DE-SH",
                                                       .holidays_of = "hwk-luebeck",
                                                       .skipped = {}}},
               ObjectBuilder()
                   .Add("deadline", "eintragung")
                   .Add("previous_due", "2026-10-15T22:00:00Z")
                   .Add("due", "2026-11-16T23:00:00Z")
                   .Add("duration", "P1M")
                   .Add("reason", "Gleichwertigkeit wird geprüft")
                   .Add("by", "hwk-luebeck")
                   .Add("holidays", "DE-SH")
                   .Add("holidays_of", "hwk-luebeck")
                   .Add("skipped", Value::Array({}))
                   .Build()});
  s.push_back({"deadline.extended exact, by the workflow",
               DeadlineExtended{.deadline = "reminder",
                                .previous_due = "2026-01-16T10:00:00Z",
                                .due = "2026-01-17T10:00:00Z",
                                .duration = "PT24H",
                                .reason = "r",
                                .by = "",
                                .legal = std::nullopt},
               ObjectBuilder()
                   .Add("deadline", "reminder")
                   .Add("previous_due", "2026-01-16T10:00:00Z")
                   .Add("due", "2026-01-17T10:00:00Z")
                   .Add("duration", "PT24H")
                   .Add("reason", "r")
                   .Add("by", "")
                   .Build()});
  s.push_back({"deadline.expired",
               DeadlineExpired{.deadline = "fiction",
                               .due = "2026-04-15T22:00:00Z",
                               .effect = "deemed approved (§42a VwVfG)"},
               ObjectBuilder()
                   .Add("deadline", "fiction")
                   .Add("due", "2026-04-15T22:00:00Z")
                   .Add("effect", "deemed approved (§42a VwVfG)")
                   .Build()});
  s.push_back({"deadline.cancelled",
               DeadlineCancelled{.deadline = "fiction", .reason = "case closed"},
               ObjectBuilder().Add("deadline", "fiction").Add("reason", "case closed").Build()});
  s.push_back({"certificate.issued without an expired deadline",
               CertificateIssued{.basis = "§42a Abs. 3 VwVfG",
                                 .deadline = "",
                                 .due = "",
                                 .effect = "",
                                 .requested_by = "portal-sh"},
               ObjectBuilder()
                   .Add("basis", "§42a Abs. 3 VwVfG")
                   .Add("deadline", "")
                   .Add("due", "")
                   .Add("effect", "")
                   .Add("requested_by", "portal-sh")
                   .Build()});
  s.push_back({"case.closed", CaseClosed{.outcome = "deemed_approved", .state = "deemed"},
               ObjectBuilder().Add("outcome", "deemed_approved").Add("state", "deemed").Build()});
  s.push_back({"input.rejected",
               InputRejected{.input = "d1",
                             .input_type = "de.amtsweg.documents.completed",
                             .participant = "ihk-kiel",
                             .kind = "wrong-role",
                             .reason = "participant 'ihk-kiel' \"quoted\"\n"},
               ObjectBuilder()
                   .Add("input", "d1")
                   .Add("input_type", "de.amtsweg.documents.completed")
                   .Add("participant", "ihk-kiel")
                   .Add("kind", "wrong-role")
                   .Add("reason", "participant 'ihk-kiel' \"quoted\"\n")
                   .Build()});
  s.push_back({"notification.undeliverable",
               NotificationUndeliverable{.role = "antragsteller",
                                         .message = "Eingangsbestätigung",
                                         .basis = "§71b Abs. 3 VwVfG",
                                         .reason = "no reply channel"},
               ObjectBuilder()
                   .Add("role", "antragsteller")
                   .Add("message", "Eingangsbestätigung")
                   .Add("basis", "§71b Abs. 3 VwVfG")
                   .Add("reason", "no reply channel")
                   .Build()});
  s.push_back({"case.erased",
               CaseErased{.by = "local:admin",
                          .reason = "Antrag auf Löschung",
                          .basis = "Art. 17(1)(a) DSGVO",
                          .notified = {"ihk-kiel", "hwk-luebeck"}},
               ObjectBuilder()
                   .Add("by", "local:admin")
                   .Add("reason", "Antrag auf Löschung")
                   .Add("basis", "Art. 17(1)(a) DSGVO")
                   .Add("notified", Value::Array({"ihk-kiel", "hwk-luebeck"}))
                   .Build()});
  s.push_back({"case.migrated",
               CaseMigrated{.workflow = "gewerbeanmeldung",
                            .from_version = 1,
                            .to_version = 2,
                            .from_state = "pruefung",
                            .to_state = "in_pruefung",
                            .tasks_kept = {"stellungnahme"},
                            .tasks_renamed = Value::Object({{"pruefen", "entscheidung"}}),
                            .tasks_cancelled = {},
                            .deadlines_kept = {},
                            .deadlines_renamed = Value::Object({}),
                            .deadlines_cancelled = {"erinnerung"},
                            .by = "local:jensen",
                            .reason = std::nullopt,
                            .mapping = "sha256:00"},
               ObjectBuilder()
                   .Add("workflow", "gewerbeanmeldung")
                   .Add("from_version", 1)
                   .Add("to_version", 2)
                   .Add("from_state", "pruefung")
                   .Add("to_state", "in_pruefung")
                   .Add("tasks_kept", Value::Array({"stellungnahme"}))
                   .Add("tasks_renamed", Value::Object({{"pruefen", "entscheidung"}}))
                   .Add("tasks_cancelled", Value::Array({}))
                   .Add("deadlines_kept", Value::Array({}))
                   .Add("deadlines_renamed", Value::Object({}))
                   .Add("deadlines_cancelled", Value::Array({"erinnerung"}))
                   .Add("by", "local:jensen")
                   .Add("mapping", "sha256:00")
                   .Build()});
  return s;
}

TEST(EventsTest, EveryTypeEncodesToTheBytesOfItsUntypedData) {
  std::set<DomainType> covered;
  uint64_t seq = 1;
  for (const Sample& s : Samples()) {
    SCOPED_TRACE(s.what);
    DomainEvent e;
    e.seq = seq++;
    e.time = 1768471200000 + static_cast<Timestamp>(e.seq);
    e.type = TypeOf(s.typed);
    e.cause = "cause-" + std::to_string(e.seq);
    e.data = s.typed;
    covered.insert(e.type);

    const std::string reference = Untyped(e.seq, e.time, e.type, e.cause, s.untyped);
    std::string bytes;
    EncodeEvent(e, &bytes);
    EXPECT_EQ(bytes, reference);

    Result<DomainEvent> back = DecodeEvent(reference);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->seq, e.seq);
    EXPECT_EQ(back->time, e.time);
    EXPECT_EQ(back->type, e.type);
    EXPECT_EQ(back->cause, e.cause);
    EXPECT_TRUE(back->data == s.typed);
    EXPECT_EQ(DataToValue(back->data).ToJson(), s.untyped.ToJson());
    EXPECT_TRUE(DataToValue(back->data) == s.untyped);
    const Value shown = ObjectBuilder()
                            .Add("seq", static_cast<int64_t>(e.seq))
                            .Add("time", FormatTimestamp(e.time))
                            .Add("type", DomainTypeName(e.type))
                            .Add("cause", e.cause)
                            .Add("data", s.untyped)
                            .Build();
    EXPECT_EQ(EventToValue(*back).ToJson(), shown.ToJson());
    EXPECT_EQ(VersionOf(e.type), 1u);
  }
  EXPECT_EQ(covered.size(), static_cast<size_t>(kDomainTypeCount));
}

TEST(EventsTest, MakeEventSetsTheTypeOfItsData) {
  DomainEvent e = MakeEvent(3, 7, "in", CaseClosed{.outcome = "approved", .state = "done"});
  EXPECT_EQ(e.type, DomainType::kCaseClosed);
  EXPECT_EQ(TypeOf(e.data), DomainType::kCaseClosed);
  ASSERT_NE(e.As<CaseClosed>(), nullptr);
  EXPECT_EQ(e.As<CaseClosed>()->outcome, "approved");
  EXPECT_EQ(e.As<StateEntered>(), nullptr);
}

TEST(EventsTest, KeysComeFromTheSchemas) {
  static_assert(KeyOf<&CaseOpened::case_id>() == "case");
  static_assert(KeyOf<&TaskRequested::new_request>() == "new");
  static_assert(KeyOf<&TaskRequested::fields>() == "fields");
  static_assert(KeyOf<&LegalCalendar::holidays_of>() == "holidays_of");
  DomainEvent e = MakeEvent(1, 0, "c",
                            TaskRequested{.task = "t",
                                          .new_request = true,
                                          .role = "r",
                                          .organisation = "o",
                                          .join = "all",
                                          .need = 1,
                                          .fields = {"a.b"},
                                          .content = std::nullopt,
                                          .basis = "b"});
  Value view = EventToValue(e);
  EXPECT_EQ(ViewMember<&TaskRequested::task>(view).as_string(), "t");
  EXPECT_EQ(ViewMember<&TaskRequested::fields>(view).ToJson(), R"(["a.b"])");
  EXPECT_TRUE(ViewMember<&TaskRequested::content>(view).is_null());
  // A member of another type is not read from this view.
  EXPECT_TRUE(ViewMember<&ResponseRecorded::task>(view).is_null());
}

// Bytes the engine never wrote are no event of their type.
TEST(EventsTest, DataThatDoesNotHaveItsTypesSchemaIsCorrupt) {
  auto decode = [](DomainType type, const Value& data) {
    return DecodeEvent(Untyped(1, 0, type, "c", data)).status();
  };
  auto expect_corrupt = [&](DomainType type, const Value& data, std::string_view what) {
    Status st = decode(type, data);
    EXPECT_TRUE(st.IsCorruption()) << data.ToJson() << ": " << st.ToString();
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  };
  const DomainType state = DomainType::kStateEntered;
  EXPECT_TRUE(decode(state, Json(R"({"state":"a","from":"b"})")).ok());
  expect_corrupt(state, Json(R"({"state":5,"from":"b"})"), "another kind");
  expect_corrupt(state, Json(R"({"state":"a"})"), "expected member 'from'");
  expect_corrupt(state, Json(R"({"from":"b","state":"a"})"), "expected member 'state'");
  expect_corrupt(state, Json(R"({"state":"a","from":"b","x":1})"), "unexpected member 'x'");
  expect_corrupt(state, Json(R"(["state","from"])"), "not an object");
  expect_corrupt(DomainType::kTaskCompleted, Json(R"({"task":"t","responses":1.0})"),
                 "another kind");
  expect_corrupt(
      DomainType::kNotificationDisclosed,
      Json(R"({"role":"r","organisation":"o","fields":["a",1],"basis":"b","message":""})"),
      "another kind");
  // The legal calendar: all of it or nothing.
  expect_corrupt(DomainType::kDeadlineStarted,
                 Json(R"({"deadline":"d","started":"s","due":"d","duration":"P1M",)"
                      R"("calendar":"legal","holidays":"DE-SH"})"),
                 "expected member 'holidays_of'");
  expect_corrupt(DomainType::kDeadlineStarted,
                 Json(R"({"deadline":"d","started":"s","due":"d","duration":"P1M",)"
                      R"("calendar":"legal","skipped":[]})"),
                 "unexpected member 'skipped'");
  expect_corrupt(state, Json(R"({"state":"a","from":"b"})").ToJson(), "not an object");

  std::string bytes = Untyped(1, 0, state, "c", Json(R"({"state":"a","from":"b"})"));
  EXPECT_TRUE(DecodeEvent(bytes + "x").status().IsCorruption());
  std::string unknown = bytes;
  unknown[0] = 3;
  EXPECT_TRUE(DecodeEvent(unknown).status().IsCorruption());
}

// Encoding 2 carries a type's version for types past their first; none is yet.
TEST(EventsTest, TypeVersionsDispatchToTheirDecoder) {
  auto versioned = [](uint64_t version) {
    std::string out;
    out.push_back(2);
    PutVarint(1, &out);
    PutVarint(0, &out);
    out.push_back(static_cast<char>(DomainType::kStateEntered));
    PutVarint(version, &out);
    PutLengthPrefixed("c", &out);
    Json(R"({"state":"a","from":"b"})").AppendBinary(&out);
    return out;
  };
  // Version 1 is written as encoding 1 only: one event, one encoding.
  Status v1 = DecodeEvent(versioned(1)).status();
  EXPECT_TRUE(v1.IsCorruption()) << v1.ToString();
  Status v2 = DecodeEvent(versioned(2)).status();
  EXPECT_TRUE(v2.IsCorruption());
  EXPECT_NE(v2.message().find("no version 2 of type state.entered"), std::string::npos)
      << v2.message();
}

TEST(EventsTest, ApplyRefusesAnEventWhoseTypeIsNotItsDatas) {
  CaseState s;
  DomainEvent e = MakeEvent(1, 0, "c",
                            CaseOpened{.case_id = "C-1",
                                       .workflow = "w",
                                       .version = 1,
                                       .leika = "99000000000001",
                                       .source = "s",
                                       .application = Value::Object({}),
                                       .variables = Value::Object({})});
  ASSERT_TRUE(Apply(&s, e).ok());
  DomainEvent wrong = MakeEvent(2, 0, "c", StateEntered{.state = "a", .from = ""});
  wrong.type = DomainType::kCaseClosed;
  Status st = Apply(&s, wrong);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_EQ(s.seq, 1u);
  EXPECT_TRUE(s.state.empty());
}

}  // namespace
}  // namespace amtsweg::runtime
