#include "engine/core/cloudevent.h"

namespace amtsweg::core {

namespace {

constexpr size_t kMaxSubjectBytes = 200;

Status Attr(const Value& ev, std::string_view name, bool required, std::string* out) {
  const Value* v = ev.Find(name);
  if (v == nullptr) {
    if (required)
      return Status::InvalidArgument("missing CloudEvents attribute '" + std::string(name) + "'");
    return Status::OK();
  }
  if (!v->is_string()) {
    return Status::InvalidArgument("CloudEvents attribute '" + std::string(name) +
                                   "' must be a string");
  }
  if (required && v->as_string().empty()) {
    return Status::InvalidArgument("CloudEvents attribute '" + std::string(name) + "' is empty");
  }
  *out = v->as_string();
  return Status::OK();
}

}  // namespace

Result<runtime::InputEvent> DecodeCloudEvent(std::string_view json, size_t max_bytes) {
  if (json.size() > max_bytes) {
    return Status::InvalidArgument("event of " + std::to_string(json.size()) +
                                   " bytes exceeds the limit of " + std::to_string(max_bytes) +
                                   " bytes");
  }
  ASSIGN_OR_RETURN(Value ev, Value::ParseJson(json));
  if (!ev.is_object()) return Status::InvalidArgument("a CloudEvent must be a JSON object");
  runtime::InputEvent in;
  std::string specversion;
  RETURN_IF_ERROR(Attr(ev, "specversion", true, &specversion));
  if (specversion != "1.0") {
    return Status::InvalidArgument("unsupported CloudEvents specversion '" + specversion +
                                   "' (expected 1.0)");
  }
  RETURN_IF_ERROR(Attr(ev, "id", true, &in.id));
  RETURN_IF_ERROR(Attr(ev, "source", true, &in.source));
  RETURN_IF_ERROR(Attr(ev, "type", true, &in.type));
  if (in.type == runtime::input_type::kTimerFired) {
    return Status::InvalidArgument("type '" + in.type + "' is internal to the engine");
  }
  bool needs_case = in.type != runtime::input_type::kClockAdvanced;
  RETURN_IF_ERROR(Attr(ev, "subject", needs_case, &in.subject));
  if (in.subject.size() > kMaxSubjectBytes) {
    return Status::InvalidArgument("subject (case id) longer than 200 bytes");
  }
  for (char c : in.subject) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("subject (case id) contains a control character");
    }
  }
  std::string time;
  RETURN_IF_ERROR(Attr(ev, "time", true, &time));
  Result<Timestamp> ts = ParseTimestamp(time);
  if (!ts.ok()) return ts.status().WithContext("CloudEvents attribute 'time'");
  in.time = *ts;
  if (in.time < 0) return Status::InvalidArgument("CloudEvents attribute 'time' is before 1970");
  std::string content_type;
  RETURN_IF_ERROR(Attr(ev, "datacontenttype", false, &content_type));
  if (!content_type.empty() && content_type != "application/json" &&
      content_type.rfind("application/json;", 0) != 0) {
    return Status::InvalidArgument("datacontenttype '" + content_type +
                                   "' is not supported (expected application/json)");
  }
  RETURN_IF_ERROR(Attr(ev, "participant", false, &in.participant));
  const Value* data = ev.Find("data");
  if (data == nullptr || data->is_null()) {
    in.data = Value::Object({});
  } else if (!data->is_object()) {
    return Status::InvalidArgument("CloudEvents 'data' must be a JSON object");
  } else {
    in.data = *data;
  }
  return in;
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

}  // namespace amtsweg::core
