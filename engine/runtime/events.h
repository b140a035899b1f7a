// Events in and out of the runtime.
//
// InputEvent: a decoded CloudEvent (or a synthetic timer event) addressed to one case.
// DomainEvent: what the engine records for a case; the per-case log of domain events is the
// truth from which every case state is folded (see case_state.h). The catalogue of both, with
// examples, is docs/events.md.
// Plain values; thread-safe to share once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
// Synthetic: a due deadline timer. Never accepted from outside.
inline constexpr std::string_view kTimerFired = "de.amtsweg.timer.fired";
}  // namespace input_type

struct InputEvent {
  std::string id;      // CloudEvents id; with source, identifies the event
  std::string source;  // CloudEvents source
  std::string type;
  std::string subject;      // the case id
  std::string participant;  // extension attribute: the sending organisation's id (responses)
  Timestamp time = 0;
  Value data;  // an object
};

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
};
inline constexpr int kDomainTypeCount = 16;

std::string_view DomainTypeName(DomainType t);  // "case.opened", ...
std::optional<DomainType> ParseDomainType(std::string_view name);

struct DomainEvent {
  uint64_t seq = 0;  // 1-based position in the case's log
  Timestamp time = 0;
  DomainType type = DomainType::kCaseOpened;
  std::string cause;  // id of the input event that caused it
  Value data;         // an object; its members per type are listed in docs/events.md
};

// Binary encoding, stored in the events column family and hashed into the chain. Stable.
void EncodeEvent(const DomainEvent& e, std::string* out);
Result<DomainEvent> DecodeEvent(std::string_view in);

// {"seq":..,"time":"..","type":"..","cause":"..","data":{..}}
Value EventToValue(const DomainEvent& e);

}  // namespace amtsweg::runtime
