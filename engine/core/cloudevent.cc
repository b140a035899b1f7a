#include "engine/core/cloudevent.h"

#include <optional>

namespace amtsweg::core {

namespace {

constexpr size_t kMaxSubjectBytes = 200;

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Where an attribute was read, for the reasons: the JSON member, or its binary-mode header.
std::string Named(std::string_view name, bool binary) {
  std::string out = "CloudEvents attribute '" + std::string(name) + "'";
  if (binary) {
    out += name == "datacontenttype" ? " (header content-type)"
                                     : " (header ce_" + std::string(name) + ")";
  }
  return out;
}

Status Attr(const Value& ev, std::string_view name, bool required, bool binary, std::string* out) {
  const Value* v = ev.Find(name);
  if (v == nullptr) {
    if (required) return Status::InvalidArgument("missing " + Named(name, binary));
    return Status::OK();
  }
  if (!v->is_string()) return Status::InvalidArgument(Named(name, binary) + " must be a string");
  if (required && v->as_string().empty()) {
    return Status::InvalidArgument(Named(name, binary) + " is empty");
  }
  *out = v->as_string();
  return Status::OK();
}

// The checks shared by both content modes, on the event as a JSON object (binary mode: its
// attributes from the headers, `data` from the value).
Result<runtime::InputEvent> DecodeObject(const Value& ev, bool binary) {
  if (!ev.is_object()) return Status::InvalidArgument("a CloudEvent must be a JSON object");
  runtime::InputEvent in;
  std::string specversion;
  RETURN_IF_ERROR(Attr(ev, "specversion", true, binary, &specversion));
  if (specversion != "1.0") {
    return Status::InvalidArgument("unsupported CloudEvents specversion '" + specversion +
                                   "' (expected 1.0)");
  }
  RETURN_IF_ERROR(Attr(ev, "id", true, binary, &in.id));
  RETURN_IF_ERROR(Attr(ev, "source", true, binary, &in.source));
  RETURN_IF_ERROR(Attr(ev, "type", true, binary, &in.type));
  if (in.type == runtime::input_type::kTimerFired) {
    return Status::InvalidArgument("type '" + in.type + "' is internal to the engine");
  }
  bool needs_case = in.type != runtime::input_type::kClockAdvanced;
  RETURN_IF_ERROR(Attr(ev, "subject", needs_case, binary, &in.subject));
  if (in.subject.size() > kMaxSubjectBytes) {
    return Status::InvalidArgument("subject (case id) longer than 200 bytes");
  }
  for (char c : in.subject) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("subject (case id) contains a control character");
    }
  }
  std::string time;
  RETURN_IF_ERROR(Attr(ev, "time", true, binary, &time));
  Result<Timestamp> ts = ParseTimestamp(time);
  if (!ts.ok()) return ts.status().WithContext(Named("time", binary));
  in.time = *ts;
  if (in.time < 0) return Status::InvalidArgument(Named("time", binary) + " is before 1970");
  std::string content_type;
  RETURN_IF_ERROR(Attr(ev, "datacontenttype", false, binary, &content_type));
  if (!content_type.empty() && !IsMediaType(content_type, kJsonType)) {
    return Status::InvalidArgument("datacontenttype '" + content_type +
                                   "' is not supported (expected application/json)");
  }
  RETURN_IF_ERROR(Attr(ev, "participant", false, binary, &in.participant));
  const Value* data = ev.Find("data");
  if (data == nullptr || data->is_null()) {
    in.data = Value::Object({});
  } else if (!data->is_object()) {
    return Status::InvalidArgument(binary ? "binary-mode data (the message value) must be a JSON "
                                            "object"
                                          : "CloudEvents 'data' must be a JSON object");
  } else {
    in.data = *data;
  }
  return in;
}

Status CheckSize(std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Status::InvalidArgument("event of " + std::to_string(value.size()) +
                                   " bytes exceeds the limit of " + std::to_string(max_bytes) +
                                   " bytes");
  }
  return Status::OK();
}

// The binary-mode event as a JSON object: attributes from the ce_ headers and content-type,
// `data` from the value.
Result<Value> BinaryObject(std::string_view value, const MessageHeaders& headers) {
  std::vector<Member> members;
  members.reserve(headers.size() + 1);
  std::optional<std::string> content_type;
  for (const auto& [header, text] : headers) {
    std::string name;
    if (StartsWithIgnoreCase(header, kAttributeHeaderPrefix) &&
        header.size() > kAttributeHeaderPrefix.size()) {
      name.reserve(header.size() - kAttributeHeaderPrefix.size());
      for (char c : std::string_view(header).substr(kAttributeHeaderPrefix.size()))
        name.push_back(Lower(c));
      // `data` is the message value; a header cannot stand in for it.
      if (name == "data" || name == "data_base64") {
        return Status::InvalidArgument("header '" + header +
                                       "': in binary mode the data is the message value");
      }
    } else if (EqualsIgnoreCase(header, kContentTypeHeader)) {
      name = "datacontenttype";
    } else {
      continue;  // not the event's (tracing, the forwarder's channel stamps, ...)
    }
    for (const Member& m : members) {
      if (m.first == name) {
        return Status::InvalidArgument("header '" + header +
                                       "' is repeated: which value holds is ambiguous");
      }
    }
    members.emplace_back(name, Value(text));
  }
  if (!value.empty()) {
    Result<Value> data = Value::ParseJson(value);
    if (!data.ok()) {
      // A declared content type that is not JSON says more than the parse error.
      for (const Member& m : members) {
        if (m.first == "datacontenttype" && !IsMediaType(m.second.as_string(), kJsonType)) {
          return Status::InvalidArgument("datacontenttype '" + m.second.as_string() +
                                         "' (header content-type) is not supported (expected "
                                         "application/json)");
        }
      }
      return data.status().WithContext("binary-mode data (the message value) is not JSON");
    }
    members.emplace_back("data", std::move(data).value());
  }
  return Value::Object(std::move(members));
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsMediaType(std::string_view content_type, std::string_view media_type) {
  return EqualsIgnoreCase(Trim(content_type.substr(0, content_type.find(';'))), media_type);
}

ContentMode KafkaContentMode(const MessageHeaders& headers) {
  bool specversion = false;
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, kContentTypeHeader) &&
        StartsWithIgnoreCase(Trim(value), kCloudEventsTypePrefix)) {
      return ContentMode::kStructured;
    }
    if (EqualsIgnoreCase(name, "ce_specversion")) specversion = true;
  }
  return specversion ? ContentMode::kBinary : ContentMode::kStructured;
}

Result<runtime::InputEvent> DecodeCloudEvent(std::string_view json, size_t max_bytes) {
  RETURN_IF_ERROR(CheckSize(json, max_bytes));
  ASSIGN_OR_RETURN(Value ev, Value::ParseJson(json));
  return DecodeObject(ev, /*binary=*/false);
}

Result<runtime::InputEvent> DecodeMessage(std::string_view value, const MessageHeaders& headers,
                                          size_t max_bytes) {
  if (KafkaContentMode(headers) == ContentMode::kStructured) {
    for (const auto& [name, type] : headers) {
      if (!EqualsIgnoreCase(name, kContentTypeHeader)) continue;
      if (StartsWithIgnoreCase(Trim(type), kCloudEventsTypePrefix) &&
          !IsMediaType(type, kCloudEventsJsonType)) {
        return Status::InvalidArgument("content-type '" + type + "' is not supported (expected " +
                                       std::string(kCloudEventsJsonType) +
                                       ", the JSON event format, or binary mode)");
      }
    }
    return DecodeCloudEvent(value, max_bytes);
  }
  RETURN_IF_ERROR(CheckSize(value, max_bytes));
  ASSIGN_OR_RETURN(Value ev, BinaryObject(value, headers));
  return DecodeObject(ev, /*binary=*/true);
}
namespace {

// Everything up to and including `"data":`.
void AppendHead(std::string_view id, std::string_view source, std::string_view type,
                std::string_view subject, Timestamp time, std::string* out) {
  out->append(R"({"specversion":"1.0","id":)");
  AppendJsonString(id, out);
  out->append(R"(,"source":)");
  AppendJsonString(source, out);
  out->append(R"(,"type":)");
  AppendJsonString(type, out);
  out->append(R"(,"subject":)");
  AppendJsonString(subject, out);
  out->append(R"(,"time":")");
  AppendTimestamp(time, out);  // RFC 3339 text needs no escaping
  out->append(R"(","datacontenttype":"application/json","data":)");
}

}  // namespace

std::string EncodeCloudEvent(std::string_view id, std::string_view source, std::string_view type,
                             std::string_view subject, Timestamp time, const Value& data) {
  std::string out;
  out.reserve(256);
  AppendHead(id, source, type, subject, time, &out);
  data.AppendJson(&out);
  out.push_back('}');
  return out;
}

std::string EncodeCloudEventJson(std::string_view id, std::string_view source,
                                 std::string_view type, std::string_view subject, Timestamp time,
                                 std::string_view data_json) {
  std::string out;
  out.reserve(160 + id.size() + source.size() + type.size() + subject.size() + data_json.size());
  AppendHead(id, source, type, subject, time, &out);
  out.append(data_json);
  out.push_back('}');
  return out;
}

MessageHeaders StructuredModeHeaders() {
  return {{std::string(kContentTypeHeader), std::string(kCloudEventsJsonType)}};
}

Result<KafkaMessage> StructuredToBinary(std::string_view json) {
  ASSIGN_OR_RETURN(Value ev, Value::ParseJson(json));
  if (!ev.is_object()) return Status::InvalidArgument("a CloudEvent must be a JSON object");
  KafkaMessage out;
  out.headers.reserve(ev.size() + 1);
  bool has_content_type = false;
  const Value* data = nullptr;
  for (const Member& m : ev.members()) {
    if (m.first == "data") {
      data = &m.second;
      continue;
    }
    if (m.first == "data_base64") {
      return Status::InvalidArgument("data_base64 is not supported in binary mode here");
    }
    if (m.second.is_object() || m.second.is_array() || m.second.is_null()) {
      return Status::InvalidArgument("CloudEvents attribute '" + m.first +
                                     "' must be a string, a number or a boolean");
    }
    std::string header;
    if (m.first == "datacontenttype") {
      header = kContentTypeHeader;
      has_content_type = true;
    } else {
      header = std::string(kAttributeHeaderPrefix) + m.first;
    }
    out.headers.emplace_back(std::move(header),
                             m.second.is_string() ? m.second.as_string() : m.second.ToJson());
  }
  if (data != nullptr && !data->is_null()) {
    out.value = data->ToJson();
    if (!has_content_type) out.headers.emplace_back(kContentTypeHeader, kJsonType);
  }
  return out;
}

std::string AuditEventId(std::string_view case_id, uint64_t seq) {
  std::string id(case_id);
  id.push_back('/');
  id.append(std::to_string(seq));
  return id;
}

std::string ParticipantEventId(std::string_view case_id, uint64_t seq,
                               std::string_view organisation) {
  std::string id = AuditEventId(case_id, seq);
  id.push_back('/');
  id.append(organisation);
  return id;
}

Status CheckEventSource(std::string_view source) {
  if (source.empty()) return Status::InvalidArgument("a CloudEvents source must not be empty");
  // RFC 3986: unreserved, reserved and '%' (percent-encoding) are all a URI-reference has.
  constexpr std::string_view kAllowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%";
  size_t bad = source.find_first_not_of(kAllowed);
  if (bad != std::string_view::npos) {
    unsigned char c = static_cast<unsigned char>(source[bad]);
    std::string shown = c >= 0x21 && c < 0x7f ? "'" + std::string(1, source[bad]) + "'"
                                              : "byte " + std::to_string(c);
    return Status::InvalidArgument("CloudEvents source '" + std::string(source) + "' has " + shown +
                                   " at " + std::to_string(bad) +
                                   ", which no URI-reference has (percent-encode it)");
  }
  return Status::OK();
}

}  // namespace amtsweg::core
