// Decoding CloudEvents 1.0 (structured JSON mode) into runtime input events.
//
// Checks, in this order, and says which one failed: size limit (before parsing), JSON syntax,
// a JSON object, required attributes (specversion "1.0", id, source, type: non-empty strings),
// subject (the case id: 1-200 bytes, no control characters) unless the type needs no case,
// time (RFC 3339, required: the engine's notion of time comes from events), datacontenttype
// (if present: application/json), data (an object; absent = {}), the `participant` extension
// (a string if present). Pure and thread-safe.
#pragma once

#include <string_view>

#include "engine/common/status.h"
#include "engine/runtime/events.h"

namespace amtsweg::core {

inline constexpr size_t kDefaultMaxEventBytes = size_t{256} * 1024;

Result<runtime::InputEvent> DecodeCloudEvent(std::string_view json,
                                             size_t max_bytes = kDefaultMaxEventBytes);

// A CloudEvent in structured JSON mode.
std::string EncodeCloudEvent(std::string_view id, std::string_view source, std::string_view type,
                             std::string_view subject, Timestamp time, const Value& data);
// The same with `data_json`, a JSON object already written (e.g. by Value::AppendJson).
std::string EncodeCloudEventJson(std::string_view id, std::string_view source,
                                 std::string_view type, std::string_view subject, Timestamp time,
                                 std::string_view data_json);

}  // namespace amtsweg::core
