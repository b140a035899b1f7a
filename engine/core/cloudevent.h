// CloudEvents 1.0 in one place: the JSON event format (structured mode) and the Kafka protocol
// binding (structured and binary content mode), used by the Kafka source (through the engine's
// decoding of each RawInput), the outbox (the headers of what it publishes) and
// `amtsweg produce`. Header names and media types are compared without regard to ASCII case, as
// the binding and RFC 2045 say; a media type's parameters (after ';') are ignored.
//
// Decoding checks, in this order, and says which one failed: size limit (before parsing), JSON
// syntax, a JSON object, required attributes (specversion "1.0", id, source, type: non-empty
// strings), subject (the case id: 1-200 bytes, no control characters) unless the type needs no
// case, time (RFC 3339, required: the engine's notion of time comes from events),
// datacontenttype (if present: application/json), data (an object; absent = {}), the
// `participant` extension (a string if present). Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/runtime/events.h"

namespace amtsweg::core {

inline constexpr size_t kDefaultMaxEventBytes = size_t{256} * 1024;

// Media types and header names of the binding.
inline constexpr std::string_view kCloudEventsJsonType = "application/cloudevents+json";
inline constexpr std::string_view kCloudEventsTypePrefix = "application/cloudevents";
inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kContentTypeHeader = "content-type";
inline constexpr std::string_view kAttributeHeaderPrefix = "ce_";

// A message's transport headers in order (Kafka headers; a null header value reads as empty).
using MessageHeaders = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Whether `content_type` ("Application/JSON; charset=utf-8") has the media type `media_type`
// (lower case, no parameters).
bool IsMediaType(std::string_view content_type, std::string_view media_type);

// How a Kafka message carries its CloudEvent (Kafka protocol binding, 3.1): structured when its
// content-type names a CloudEvents event format (application/cloudevents...); binary when it has
// a ce_specversion header; otherwise structured too (amtsweg reads a JSON value without headers
// as the JSON event format, as producers without header support send it).
enum class ContentMode { kStructured, kBinary };
ContentMode KafkaContentMode(const MessageHeaders& headers);

// The CloudEvent of a structured-mode JSON value (the JSON event format).
Result<runtime::InputEvent> DecodeCloudEvent(std::string_view json,
                                             size_t max_bytes = kDefaultMaxEventBytes);

// The CloudEvent of a message: `value` with its Kafka headers (none: structured). Structured
// mode: a content-type of another event format than JSON is refused; the value is decoded as
// above. Binary mode: each ce_<name> header is attribute <name> (the name in lower case; a
// repeated attribute is refused as ambiguous), content-type is datacontenttype, and the value is
// `data` (JSON; none or empty: {}), then the checks above. The size limit is the value's.
Result<runtime::InputEvent> DecodeMessage(std::string_view value, const MessageHeaders& headers,
                                          size_t max_bytes = kDefaultMaxEventBytes);

// A CloudEvent in structured JSON mode.
std::string EncodeCloudEvent(std::string_view id, std::string_view source, std::string_view type,
                             std::string_view subject, Timestamp time, const Value& data);
// The same with `data_json`, a JSON object already written (e.g. by Value::AppendJson).
std::string EncodeCloudEventJson(std::string_view id, std::string_view source,
                                 std::string_view type, std::string_view subject, Timestamp time,
                                 std::string_view data_json);

// The identities of the events amtsweg publishes, all with the installation's `source`
// (`amtsweg run --cloudevents-source`): `source` + `id` names one event (CloudEvents 1.0), and
// the same event keeps its id when it is published again (delivery is at least once).
// The audit stream's event of a case's domain event: "<case id>/<seq>".
std::string AuditEventId(std::string_view case_id, uint64_t seq);
// What an organisation receives of that domain event (its projection, an erasure notice):
// "<case id>/<seq>/<organisation id>".
std::string ParticipantEventId(std::string_view case_id, uint64_t seq,
                               std::string_view organisation);
// Whether `source` can be a CloudEvents source: a non-empty URI-reference (RFC 3986) without
// spaces, control characters or characters no URI has; an error names what is wrong.
Status CheckEventSource(std::string_view source);

// The headers of a structured-mode Kafka message in the JSON event format: one content-type.
MessageHeaders StructuredModeHeaders();

// A Kafka message: headers and value.
struct KafkaMessage {
  MessageHeaders headers;
  std::string value;
};
// A structured-mode CloudEvent (JSON) as a binary-mode Kafka message: each attribute a
// ce_<name> header (strings as they are, numbers and booleans as their JSON text),
// datacontenttype the content-type header (application/json when it is absent and there is
// data), data the value (its JSON text). InvalidArgument when `json` is not a JSON object, an
// attribute is an object, an array or null, or it has data_base64 (not supported here).
Result<KafkaMessage> StructuredToBinary(std::string_view json);

}  // namespace amtsweg::core
