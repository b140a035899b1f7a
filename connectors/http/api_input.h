// Inputs that participants send through the HTTP API: each request becomes a core::RawInput for
// the engine's Inbox, bound to the principal's organisation (the channel: runtime::CheckSpeaker
// refuses a claim of another organisation as `impersonation`), and the engine's verdict becomes
// the answer. Two forms (docs/api.md, "Sending input"):
//  - POST /api/v1/inputs: a CloudEvent in structured mode, as on Kafka;
//  - POST /api/v1/cases/{id}/responses|extensions|documents|certificate-requests: the event's
//    `data` as the body, its id from the Idempotency-Key header; the server writes the rest.
// The server stamps the event's `time` with the moment it received the request (the receipt of
// the declaration, which counts for its deadline), whatever the client sent. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/principals.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/core/cloudevent.h"
#include "engine/core/inbox.h"
#include "engine/core/source.h"

namespace amtsweg::http {

// A request refused before it reaches the engine: its HTTP status and why.
struct InputRefusal {
  int status = 400;
  std::string detail;
};

// A request made into an input for the engine.
struct Intake {
  core::RawInput raw;
  std::string case_id;  // its subject, when it has one (its lane, the access record)
  Value echo;           // id, source, type, case and received, for the answer
};

// What one request of a participant is: where it came from, and when.
struct InputRequest {
  const Principal* who = nullptr;
  std::string_view content_type;  // the Content-Type header as sent
  std::string_view body;
  Timestamp received = 0;
  uint64_t number = 0;  // of the request in this process, for the dead letter's position
  size_t max_event_bytes = core::kDefaultMaxEventBytes;
};

// POST /api/v1/inputs. A body that is not a JSON object goes to the engine as it is (it is
// dead-lettered as `malformed` and answered 400), an oversized one is cut (dead-lettered as
// `oversized`, 413). Refused here: another media type or a binary-mode event (415), and the
// engine's own input types (`de.amtsweg.clock.advanced`, `de.amtsweg.timer.fired`, 403).
std::optional<InputRefusal> CloudEventInput(const InputRequest& req, Intake* out);

// The endpoints of one input type on a case: the path's last segment and the event type.
struct CaseInputKind {
  std::string_view segment;  // "responses"
  std::string_view type;     // "de.amtsweg.task.responded"
};
const std::vector<CaseInputKind>& CaseInputKinds();

// POST /api/v1/cases/{case_id}/<kind.segment>: `idempotency_key` (the Idempotency-Key header)
// becomes the event id, `urn:amtsweg:org:<organisation>` its source, the principal's
// organisation its `participant`, and the body (a JSON object; empty: {}) its data.
std::optional<InputRefusal> CaseInput(const InputRequest& req, const CaseInputKind& kind,
                                      std::string_view case_id, std::string_view idempotency_key,
                                      Intake* out);

// POST /api/v1/admin/cases/{case_id}/erasure (administrators): the body {"reason", "basis"}
// becomes the data of an erasure request (runtime::input_type::kErasureRequested) issued by
// the principal (RawInput::admin "api:<name>"), its id from the Idempotency-Key header.
std::optional<InputRefusal> ErasureInput(const InputRequest& req, std::string_view case_id,
                                         std::string_view idempotency_key, Intake* out);

// The answer to an input: status, body (JSON, or problem details when `problem`), headers. The
// body has `outcome` (accepted, duplicate, refused, not-taken) and `input` (the echo); a
// refusal also `kind`, the dead letter's kind.
struct InputAnswer {
  int status = 200;
  bool problem = false;
  std::string detail;         // of a problem
  std::vector<Member> extra;  // a problem's extension members, or the JSON body's members
  std::vector<std::pair<std::string, std::string>> headers;
};
InputAnswer AnswerOf(const Value& echo, const core::InboxVerdict& verdict);

}  // namespace amtsweg::http
