// Events in and out of the runtime.
//
// InputEvent: a decoded CloudEvent (or a synthetic timer event) addressed to one case.
// DomainEvent: what the engine records for a case; the per-case log of domain events is the
// truth from which every case state is folded (see case_state.h). Each domain event type is a
// struct below, with exactly the members it records; the catalogue, with examples, is
// docs/events.md.
//
// Types and versions. A stored event is forever: its bytes are hashed into the case's chain. So
// the stored shape of a type (its schema: members, keys, order, kinds) never changes in place;
// each struct has a version, T::kVersion, the version of its schema that EncodeEvent writes.
// Every type is at version 1 today, and events stored with encoding version 1 (the first byte)
// carry version 1 of their type. A change to a type's members is a new version:
//   1. keep the old struct and its schema (e.g. `v1::DeadlineStarted` in events_v1.h),
//   2. change the struct, bump its kVersion,
//   3. specialise Upgrader<T> in events.cc: decode the old schema, return the new struct.
// EncodeEvent then writes encoding version 2 for that type (the type's version follows the type
// byte); DecodeEvent dispatches on (type, version): the current version decodes directly, an
// older one through its upgrader. Old events keep their bytes (their chain still verifies); they
// are read, applied and shown (`case history`) in the current shape.
//
// Plain values; thread-safe to share once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/common/value.h"

namespace amtsweg::runtime {

// CloudEvents `type` values the engine itself understands.
namespace input_type {
inline constexpr std::string_view kApplicationSubmitted = "de.amtsweg.application.submitted";
inline constexpr std::string_view kTaskResponded = "de.amtsweg.task.responded";
inline constexpr std::string_view kDocumentsCompleted = "de.amtsweg.documents.completed";
inline constexpr std::string_view kDeadlineExtended = "de.amtsweg.deadline.extended";
inline constexpr std::string_view kCertificateRequested = "de.amtsweg.certificate.requested";
inline constexpr std::string_view kApplicationWithdrawn = "de.amtsweg.application.withdrawn";
// Moves the engine clock to the event's `time` (file sources); has no case.
inline constexpr std::string_view kClockAdvanced = "de.amtsweg.clock.advanced";
// An administrator moves a case to another version of its workflow (data: to, mapping, reason;
// docs/workflow-language.md, "Migration of running cases"). Only with InputEvent::admin.
inline constexpr std::string_view kMigrationRequested = "de.amtsweg.case.migration.requested";
// Synthetic: a due deadline timer. Never accepted from outside.
inline constexpr std::string_view kTimerFired = "de.amtsweg.timer.fired";
// Engine command: erase the personal data of a closed case (crypto-shredding). Only from an
// administrator (InputEvent::admin); data {"reason": "..", "basis": ".."}.
inline constexpr std::string_view kErasureRequested = "de.amtsweg.case.erasure.requested";
}  // namespace input_type

struct InputEvent {
  std::string id;      // CloudEvents id; with source, identifies the event
  std::string source;  // CloudEvents source
  std::string type;
  std::string subject;      // the case id
  std::string participant;  // extension attribute: the sending organisation's id (responses)
  Timestamp time = 0;
  Value data;  // an object
  // Not from the event: the organisation the channel it came through speaks for, and the channel
  // for people (core::RawInput, set by the engine); empty: a shared channel. See CheckSpeaker.
  std::string channel_organisation;
  std::string channel;
  // Not from the event: the administrator who issued an engine command (core::RawInput::admin);
  // empty for every other input.
  std::string admin;
};

// Stored as one byte: the numbers are part of the stored format.
enum class DomainType : uint8_t {
  kCaseOpened = 1,
  kParticipantResolved,
  kStateEntered,
  kVariableSet,
  kNotificationDisclosed,
  kTaskRequested,
  kResponseRecorded,
  kTaskCompleted,
  kDeadlineStarted,
  kDeadlineExtended,
  kDeadlineExpired,
  kDeadlineCancelled,
  kCertificateIssued,
  kCaseClosed,
  kInputRejected,
  kNotificationUndeliverable,
  kCaseErased,
  kCaseMigrated,
};
inline constexpr int kDomainTypeCount = 18;

std::string_view DomainTypeName(DomainType t);  // "case.opened", ...
std::optional<DomainType> ParseDomainType(std::string_view name);

// --- The domain event types ---------------------------------------------------------------
//
// Members are stored under their own name unless the schema below the struct says otherwise
// (`case`, `new`), in the order of the schema. Times are RFC 3339 text exactly as recorded
// (FormatTimestamp; parse with ParseTimestamp). std::optional members are left out of the stored
// data when empty.

struct CaseOpened {
  static constexpr DomainType kType = DomainType::kCaseOpened;
  static constexpr uint32_t kVersion = 1;
  std::string case_id;  // "case"
  std::string workflow;
  int64_t version = 0;  // of the workflow: the case runs on it for its whole life
  std::string leika;
  std::string source;  // CloudEvents source of the application
  Value application;   // the whole application data (an object)
  Value variables;     // the case variables' initial values (an object)
  bool operator==(const CaseOpened&) const = default;
};

struct ParticipantResolved {
  static constexpr DomainType kType = DomainType::kParticipantResolved;
  static constexpr uint32_t kVersion = 1;
  std::string role;
  std::string organisation;
  std::string name;  // the organisation's name in the directory; empty when unknown
  bool operator==(const ParticipantResolved&) const = default;
};

struct StateEntered {
  static constexpr DomainType kType = DomainType::kStateEntered;
  static constexpr uint32_t kVersion = 1;
  std::string state;
  std::string from;
  bool operator==(const StateEntered&) const = default;
};

struct VariableSet {
  static constexpr DomainType kType = DomainType::kVariableSet;
  static constexpr uint32_t kVersion = 1;
  std::string name;
  Value value;
  bool operator==(const VariableSet&) const = default;
};

// The organisation was told the application's values at `fields` (see projection.h) and the
// content, for this reason.
struct NotificationDisclosed {
  static constexpr DomainType kType = DomainType::kNotificationDisclosed;
  static constexpr uint32_t kVersion = 1;
  std::string role;
  std::string organisation;
  std::vector<std::string> fields;             // the action's paths that the application has
  std::optional<Value> content;                // only when the action has content: name -> value
  std::optional<std::string> reply_reference;  // only to the applicant, when the application
                                               // names one (reply_channel.reference)
  std::string basis;                           // legal basis
  std::string message;
  bool operator==(const NotificationDisclosed&) const = default;
};

// A response was asked of the organisation (one event per role; a request to nobody has an
// empty role and organisation).
struct TaskRequested {
  static constexpr DomainType kType = DomainType::kTaskRequested;
  static constexpr uint32_t kVersion = 1;
  std::string task;
  bool new_request = false;  // "new": the first role of a new request of the task
  std::string role;
  std::string organisation;
  std::string join;                 // "all", "any" or "count"
  int64_t need = 0;                 // responses needed
  std::vector<std::string> fields;  // as NotificationDisclosed::fields
  std::optional<Value> content;
  std::string basis;
  bool operator==(const TaskRequested&) const = default;
};

struct ResponseRecorded {
  static constexpr DomainType kType = DomainType::kResponseRecorded;
  static constexpr uint32_t kVersion = 1;
  std::string task;
  std::string role;
  std::string organisation;
  Value response;  // the input's data
  bool operator==(const ResponseRecorded&) const = default;
};

struct TaskCompleted {
  static constexpr DomainType kType = DomainType::kTaskCompleted;
  static constexpr uint32_t kVersion = 1;
  std::string task;
  int64_t responses = 0;
  bool operator==(const TaskCompleted&) const = default;
};

// What a legal period's end was computed with (docs/legal-calendar.md). Stored flattened into
// the deadline event's data, after its other members.
struct LegalCalendar {
  std::string holidays;              // the calendar's id, e.g. "DE-SH"
  std::string holidays_of;           // the organisation whose seat it is
  std::vector<std::string> skipped;  // the days the end passed over ("2027-05-17 Pfingstmontag")
  bool operator==(const LegalCalendar&) const = default;
};

struct DeadlineStarted {
  static constexpr DomainType kType = DomainType::kDeadlineStarted;
  static constexpr uint32_t kVersion = 1;
  std::string deadline;
  std::string started;                 // time
  std::string due;                     // time: the moment the period ends
  std::string duration;                // ISO 8601
  std::string calendar;                // "legal" or "exact"
  std::optional<LegalCalendar> legal;  // for a legal period
  bool operator==(const DeadlineStarted&) const = default;
};

struct DeadlineExtended {
  static constexpr DomainType kType = DomainType::kDeadlineExtended;
  static constexpr uint32_t kVersion = 1;
  std::string deadline;
  std::string previous_due;  // time
  std::string due;           // time
  std::string duration;
  std::string reason;
  std::string by;                      // organisation; empty when a workflow action extended it
  std::optional<LegalCalendar> legal;  // for a legal period: of the new end
  bool operator==(const DeadlineExtended&) const = default;
};

struct DeadlineExpired {
  static constexpr DomainType kType = DomainType::kDeadlineExpired;
  static constexpr uint32_t kVersion = 1;
  std::string deadline;
  std::string due;     // time
  std::string effect;  // the legal consequence
  bool operator==(const DeadlineExpired&) const = default;
};

struct DeadlineCancelled {
  static constexpr DomainType kType = DomainType::kDeadlineCancelled;
  static constexpr uint32_t kVersion = 1;
  std::string deadline;
  std::string reason;
  bool operator==(const DeadlineCancelled&) const = default;
};

struct CertificateIssued {
  static constexpr DomainType kType = DomainType::kCertificateIssued;
  static constexpr uint32_t kVersion = 1;
  std::string basis;
  std::string deadline;  // the expired deadline; empty when none expired
  std::string due;       // its time; empty when none expired
  std::string effect;
  std::string requested_by;  // organisation
  bool operator==(const CertificateIssued&) const = default;
};

struct CaseClosed {
  static constexpr DomainType kType = DomainType::kCaseClosed;
  static constexpr uint32_t kVersion = 1;
  std::string outcome;  // approved, rejected, deemed_approved, withdrawn, notified
  std::string state;
  bool operator==(const CaseClosed&) const = default;
};

struct InputRejected {
  static constexpr DomainType kType = DomainType::kInputRejected;
  static constexpr uint32_t kVersion = 1;
  std::string input;  // the input's id
  std::string input_type;
  std::string participant;
  std::string kind;
  std::string reason;
  bool operator==(const InputRejected&) const = default;
};

struct NotificationUndeliverable {
  static constexpr DomainType kType = DomainType::kNotificationUndeliverable;
  static constexpr uint32_t kVersion = 1;
  std::string role;
  std::string message;
  std::string basis;
  std::string reason;
  bool operator==(const NotificationUndeliverable&) const = default;
};

// The case's personal data was erased: its data key destroyed (crypto-shredding, see
// docs/data-protection.md). Every sealed value of the case's events is unreadable from now on.
struct CaseErased {
  static constexpr DomainType kType = DomainType::kCaseErased;
  static constexpr uint32_t kVersion = 1;
  std::string by;      // who erased it: an administrator ("local:<user>", "api:<principal>") or
                       // "retention" when the workflow's retention period ran out
  std::string reason;  // why, for people
  std::string basis;   // the legal basis, e.g. "Art. 17(1)(a) DSGVO" or the retention rule
  std::vector<std::string> notified;  // organisations told of the erasure (Art. 19 GDPR)
  bool operator==(const CaseErased&) const = default;
};

// An administrator moved the open case to another version of its workflow (an explicit
// migration, docs/workflow-language.md). The case continues on `to_version`, in `to_state`. Of
// its open tasks and running deadlines, each is kept, renamed (old name -> new name; a deadline
// keeps its due time) or cancelled (a cancelled task is dropped; each cancelled deadline has its
// deadline.cancelled event just before this one).
struct CaseMigrated {
  static constexpr DomainType kType = DomainType::kCaseMigrated;
  static constexpr uint32_t kVersion = 1;
  std::string workflow;
  int64_t from_version = 0;
  int64_t to_version = 0;
  std::string from_state;
  std::string to_state;
  std::vector<std::string> tasks_kept;
  Value tasks_renamed;  // object: old name -> new name
  std::vector<std::string> tasks_cancelled;
  std::vector<std::string> deadlines_kept;
  Value deadlines_renamed;  // object: old name -> new name
  std::vector<std::string> deadlines_cancelled;
  std::string by;  // the administrator (InputEvent::admin), e.g. "local:jensen"
  std::optional<std::string> reason;
  std::string mapping;  // "sha256:<hex>" of the mapping's JSON form (dsl::Migration::Digest)
  bool operator==(const CaseMigrated&) const = default;
};

// One of the types above; the alternatives are in DomainType order (index = type - 1).
using EventData =
    std::variant<CaseOpened, ParticipantResolved, StateEntered, VariableSet, NotificationDisclosed,
                 TaskRequested, ResponseRecorded, TaskCompleted, DeadlineStarted, DeadlineExtended,
                 DeadlineExpired, DeadlineCancelled, CertificateIssued, CaseClosed, InputRejected,
                 NotificationUndeliverable, CaseErased, CaseMigrated>;
static_assert(std::variant_size_v<EventData> == kDomainTypeCount);

inline DomainType TypeOf(const EventData& d) {
  return static_cast<DomainType>(d.index() + 1);
}
// The schema version EncodeEvent writes for type `t` (its struct's kVersion).
uint32_t VersionOf(DomainType t);

struct DomainEvent {
  uint64_t seq = 0;  // 1-based position in the case's log
  Timestamp time = 0;
  // The type of `data`. MakeEvent and DecodeEvent set both; Apply refuses an event whose type
  // and data disagree.
  DomainType type = DomainType::kCaseOpened;
  std::string cause;  // id of the input event that caused it
  EventData data;
  // Personal values stored sealed under the case's data key (personal.h): `data` holds null
  // (strings: "") where they were. `sealed_paths` names them (JSON Pointers into the data, e.g.
  // "/application/inhaber/name"); `sealed` holds the ciphertext until Unseal puts the values back.
  // After the key is gone, Unseal leaves the nulls and sets `erased`.
  std::vector<std::string> sealed_paths;
  std::string sealed;
  bool erased = false;

  // The data as T, or nullptr when the event is of another type.
  template <typename T>
  const T* As() const {
    return std::get_if<T>(&data);
  }
};

template <typename T>
DomainEvent MakeEvent(uint64_t seq, Timestamp time, std::string cause, T data) {
  DomainEvent e;
  e.seq = seq;
  e.time = time;
  e.type = T::kType;
  e.cause = std::move(cause);
  e.data = std::move(data);
  return e;
}

// Binary encoding, stored in the events column family and hashed into the chain. Stable: the
// envelope (encoding version, varint seq and time, type byte, cause) and the data as the binary
// of DataToValue (engine/common/value.h), written straight from the struct.
void EncodeEvent(const DomainEvent& e, std::string* out);
// Corruption when the bytes are no event, or the data does not have its type's schema.
Result<DomainEvent> DecodeEvent(std::string_view in);

// The data as an untyped object, members in stored order: what `case history` shows, and the
// `data` of expressions run on an extension or certificate.
Value DataToValue(const EventData& d);
// {"seq":..,"time":"..","type":"..","cause":"..","data":{..}}, and "erased": [JSON Pointers]
// when the event's personal values were erased (null in `data`).
Value EventToValue(const DomainEvent& e);
// The same with `data` shown instead of the event's (a reader's view of it).
Value EventToValue(const DomainEvent& e, Value data);

// --- Schemas --------------------------------------------------------------------------------
//
// Each type's stored data: its members in order, each a key and the struct member holding it.
// EncodeEvent, DecodeEvent and DataToValue are generated from these tables (events.cc), so a
// struct member renamed or retyped fails to compile; a key changed here changes the stored
// format (a new version, see above), which the encoding tests catch.
namespace schema {

template <typename S, typename M>
struct Field {
  std::string_view key;
  M S::*member;
};
// The members of G, flattened into S's data after the members before it: all or none.
template <typename S, typename G>
struct Flattened {
  std::optional<G> S::*member;
};

template <typename S, typename M>
constexpr Field<S, M> F(std::string_view key, M S::*member) {
  return {key, member};
}
template <typename S, typename G>
constexpr Flattened<S, G> Flat(std::optional<G> S::*member) {
  return {member};
}

// Of<T>::kFields: a tuple of Field and Flattened, in stored order.
template <typename T>
struct Of;

}  // namespace schema

// The schemas, one stored member per line.
// clang-format off
template <>
struct schema::Of<CaseOpened> {
  using T = CaseOpened;
  static constexpr auto kFields = std::tuple{
      F("case", &T::case_id),
      F("workflow", &T::workflow),
      F("version", &T::version),
      F("leika", &T::leika),
      F("source", &T::source),
      F("application", &T::application),
      F("variables", &T::variables)
  };
};
template <>
struct schema::Of<ParticipantResolved> {
  using T = ParticipantResolved;
  static constexpr auto kFields = std::tuple{
      F("role", &T::role),
      F("organisation", &T::organisation),
      F("name", &T::name)
  };
};
template <>
struct schema::Of<StateEntered> {
  using T = StateEntered;
  static constexpr auto kFields = std::tuple{
      F("state", &T::state),
      F("from", &T::from)
  };
};
template <>
struct schema::Of<VariableSet> {
  using T = VariableSet;
  static constexpr auto kFields = std::tuple{
      F("name", &T::name),
      F("value", &T::value)
  };
};
template <>
struct schema::Of<NotificationDisclosed> {
  using T = NotificationDisclosed;
  static constexpr auto kFields = std::tuple{
      F("role", &T::role),
      F("organisation", &T::organisation),
      F("fields", &T::fields),
      F("content", &T::content),
      F("reply_reference", &T::reply_reference),
      F("basis", &T::basis),
      F("message", &T::message)
  };
};
template <>
struct schema::Of<TaskRequested> {
  using T = TaskRequested;
  static constexpr auto kFields = std::tuple{
      F("task", &T::task),
      F("new", &T::new_request),
      F("role", &T::role),
      F("organisation", &T::organisation),
      F("join", &T::join),
      F("need", &T::need),
      F("fields", &T::fields),
      F("content", &T::content),
      F("basis", &T::basis)
  };
};
template <>
struct schema::Of<ResponseRecorded> {
  using T = ResponseRecorded;
  static constexpr auto kFields = std::tuple{
      F("task", &T::task),
      F("role", &T::role),
      F("organisation", &T::organisation),
      F("response", &T::response)
  };
};
template <>
struct schema::Of<TaskCompleted> {
  using T = TaskCompleted;
  static constexpr auto kFields = std::tuple{
      F("task", &T::task),
      F("responses", &T::responses)
  };
};
template <>
struct schema::Of<LegalCalendar> {
  using T = LegalCalendar;
  static constexpr auto kFields = std::tuple{
      F("holidays", &T::holidays),
      F("holidays_of", &T::holidays_of),
      F("skipped", &T::skipped)
  };
};
template <>
struct schema::Of<DeadlineStarted> {
  using T = DeadlineStarted;
  static constexpr auto kFields = std::tuple{
      F("deadline", &T::deadline),
      F("started", &T::started),
      F("due", &T::due),
      F("duration", &T::duration),
      F("calendar", &T::calendar),
      Flat(&T::legal)
  };
};
template <>
struct schema::Of<DeadlineExtended> {
  using T = DeadlineExtended;
  static constexpr auto kFields = std::tuple{
      F("deadline", &T::deadline),
      F("previous_due", &T::previous_due),
      F("due", &T::due),
      F("duration", &T::duration),
      F("reason", &T::reason),
      F("by", &T::by),
      Flat(&T::legal)
  };
};
template <>
struct schema::Of<DeadlineExpired> {
  using T = DeadlineExpired;
  static constexpr auto kFields = std::tuple{
      F("deadline", &T::deadline),
      F("due", &T::due),
      F("effect", &T::effect)
  };
};
template <>
struct schema::Of<DeadlineCancelled> {
  using T = DeadlineCancelled;
  static constexpr auto kFields = std::tuple{
      F("deadline", &T::deadline),
      F("reason", &T::reason)
  };
};
template <>
struct schema::Of<CertificateIssued> {
  using T = CertificateIssued;
  static constexpr auto kFields = std::tuple{
      F("basis", &T::basis),
      F("deadline", &T::deadline),
      F("due", &T::due),
      F("effect", &T::effect),
      F("requested_by", &T::requested_by)
  };
};
template <>
struct schema::Of<CaseClosed> {
  using T = CaseClosed;
  static constexpr auto kFields = std::tuple{
      F("outcome", &T::outcome),
      F("state", &T::state)
  };
};
template <>
struct schema::Of<InputRejected> {
  using T = InputRejected;
  static constexpr auto kFields = std::tuple{
      F("input", &T::input),
      F("input_type", &T::input_type),
      F("participant", &T::participant),
      F("kind", &T::kind),
      F("reason", &T::reason)
  };
};
template <>
struct schema::Of<CaseErased> {
  using T = CaseErased;
  static constexpr auto kFields = std::tuple{
      F("by", &T::by),
      F("reason", &T::reason),
      F("basis", &T::basis),
      F("notified", &T::notified)
  };
};
template <>
struct schema::Of<NotificationUndeliverable> {
  using T = NotificationUndeliverable;
  static constexpr auto kFields = std::tuple{
      F("role", &T::role),
      F("message", &T::message),
      F("basis", &T::basis),
      F("reason", &T::reason)
  };
};
template <>
struct schema::Of<CaseMigrated> {
  using T = CaseMigrated;
  static constexpr auto kFields = std::tuple{
      F("workflow", &T::workflow),
      F("from_version", &T::from_version),
      F("to_version", &T::to_version),
      F("from_state", &T::from_state),
      F("to_state", &T::to_state),
      F("tasks_kept", &T::tasks_kept),
      F("tasks_renamed", &T::tasks_renamed),
      F("tasks_cancelled", &T::tasks_cancelled),
      F("deadlines_kept", &T::deadlines_kept),
      F("deadlines_renamed", &T::deadlines_renamed),
      F("deadlines_cancelled", &T::deadlines_cancelled),
      F("by", &T::by),
      F("reason", &T::reason),
      F("mapping", &T::mapping)
  };
};
// clang-format on

namespace schema {

template <typename P>
struct MemberOf;
template <typename S, typename M>
struct MemberOf<M S::*> {
  using Class = S;
};

template <typename S, typename FM, typename M>
constexpr void MatchKey(const Field<S, FM>& f, M S::*m, std::string_view* key) {
  if constexpr (std::is_same_v<FM, M>) {
    if (f.member == m) *key = f.key;
  }
}
template <typename S, typename G, typename M>
constexpr void MatchKey(const Flattened<S, G>&, M S::*, std::string_view*) {}

}  // namespace schema

// The stored key of a struct member, e.g. KeyOf<&CaseOpened::case_id>() == "case" (for the
// members of LegalCalendar: the key they have flattened into a deadline event). Compile-time.
template <auto M>
consteval std::string_view KeyOf() {
  using S = typename schema::MemberOf<decltype(M)>::Class;
  std::string_view key;
  std::apply([&](const auto&... f) { (schema::MatchKey(f, M, &key), ...); },
             schema::Of<S>::kFields);
  if (key.empty()) throw "member not in its type's schema";  // a compile error in consteval
  return key;
}

// Member M (e.g. &TaskRequested::task) of an event's JSON view (EventToValue and the views built
// on it: core::FullEventView, core::ParticipantEventView), or null when the view is of another
// type or lacks the member. For readers of views (the exports) that must not reach past them.
template <auto M>
Value ViewMember(const Value& event_view) {
  using S = typename schema::MemberOf<decltype(M)>::Class;
  if (event_view["type"].as_string() != DomainTypeName(S::kType)) return Value();
  const Value* v = event_view["data"].Find(KeyOf<M>());
  return v != nullptr ? *v : Value();
}

}  // namespace amtsweg::runtime
