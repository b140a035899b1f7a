#include "connectors/http/api_input.h"

#include <algorithm>
#include <cctype>

#include "engine/runtime/events.h"

namespace amtsweg::http {

namespace {

constexpr size_t kOversizedKept = 1024;  // of an oversized body, kept for its dead letter
constexpr size_t kMaxIdempotencyKey = 200;

// The media type of a Content-Type value, lower case, without parameters.
std::string MediaType(std::string_view content_type) {
  std::string_view m = content_type.substr(0, content_type.find(';'));
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t'))
    m.remove_prefix(1);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\t'))
    m.remove_suffix(1);
  std::string out(m);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The input bound to the principal's channel, with the dead letter's position.
core::RawInput Channel(const InputRequest& req) {
  core::RawInput raw;
  raw.where = "request " + std::to_string(req.number) + " of principal '" + req.who->name +
              "' at " + FormatTimestamp(req.received);
  raw.channel_organisation = req.who->organisation;
  raw.channel = "HTTP API principal '" + req.who->name + "'";
  raw.origin = "api";
  return raw;
}

Value StringOr(const Value* v) {
  return v != nullptr && v->is_string() ? *v : Value();
}

Value Echo(const Value& id, const Value& source, const Value& type, const std::string& case_id,
           Timestamp received) {
  return ObjectBuilder()
      .Add("id", id)
      .Add("source", source)
      .Add("type", type)
      .Add("case", case_id.empty() ? Value() : Value(case_id))
      .Add("received", FormatTimestamp(received))
      .Build();
}

}  // namespace

std::optional<InputRefusal> CloudEventInput(const InputRequest& req, Intake* out) {
  const std::string media = MediaType(req.content_type);
  if (media != "application/cloudevents+json" && media != "application/json") {
    return InputRefusal{415,
                        "send one CloudEvent in structured mode with Content-Type "
                        "application/cloudevents+json (or application/json), not '" +
                            std::string(req.content_type) + "'"};
  }
  out->raw = Channel(req);
  out->raw.size = req.body.size();
  if (req.body.size() > req.max_event_bytes) {
    out->raw.oversized = true;
    out->raw.bytes = std::string(req.body.substr(0, kOversizedKept));
    out->echo = Echo(Value(), Value(), Value(), "", req.received);
    return std::nullopt;
  }
  Result<Value> parsed = Value::ParseJson(req.body);
  if (!parsed.ok() || !parsed->is_object()) {
    out->raw.bytes = std::string(req.body);  // the engine says what is wrong with it
    out->echo = Echo(Value(), Value(), Value(), "", req.received);
    return std::nullopt;
  }
  const Value* type = parsed->Find("type");
  if (type != nullptr && type->is_string() &&
      (type->as_string() == runtime::input_type::kClockAdvanced ||
       type->as_string() == runtime::input_type::kTimerFired ||
       type->as_string() == runtime::input_type::kErasureRequested)) {
    return InputRefusal{403, "'" + type->as_string() +
                                 "' is the engine's own input type; it is not taken from "
                                 "participants"};
  }
  if (const Value* subject = parsed->Find("subject"); subject != nullptr && subject->is_string())
    out->case_id = subject->as_string();
  // The time of receipt replaces the client's: an answer counts from when it arrived.
  std::vector<Member> members;
  members.reserve(parsed->size() + 1);
  bool stamped = false;
  for (const Member& m : parsed->members()) {
    if (m.first == "time") {
      members.emplace_back("time", FormatTimestamp(req.received));
      stamped = true;
    } else {
      members.push_back(m);
    }
  }
  if (!stamped) members.emplace_back("time", FormatTimestamp(req.received));
  out->raw.bytes = Value::Object(std::move(members)).ToJson();
  out->raw.size = out->raw.bytes.size();
  out->echo = Echo(StringOr(parsed->Find("id")), StringOr(parsed->Find("source")), StringOr(type),
                   out->case_id, req.received);
  return std::nullopt;
}

const std::vector<CaseInputKind>& CaseInputKinds() {
  static const std::vector<CaseInputKind> kKinds = {
      {"responses", runtime::input_type::kTaskResponded},
      {"extensions", runtime::input_type::kDeadlineExtended},
      {"documents", runtime::input_type::kDocumentsCompleted},
      {"certificate-requests", runtime::input_type::kCertificateRequested},
  };
  return kKinds;
}

std::optional<InputRefusal> CaseInput(const InputRequest& req, const CaseInputKind& kind,
                                      std::string_view case_id, std::string_view idempotency_key,
                                      Intake* out) {
  if (idempotency_key.empty() || idempotency_key.size() > kMaxIdempotencyKey ||
      !std::all_of(idempotency_key.begin(), idempotency_key.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; })) {
    return InputRefusal{
        400, "send an Idempotency-Key header of 1 to " + std::to_string(kMaxIdempotencyKey) +
                 " visible ASCII characters: it becomes the input's id, so that the same request "
                 "sent again is recognised as a duplicate"};
  }
  Value data = Value::Object({});
  if (!req.body.empty()) {
    const std::string media = MediaType(req.content_type);
    if (media != "application/json") {
      return InputRefusal{415, "send the " + std::string(kind.segment) +
                                   " as a JSON object with Content-Type application/json, not '" +
                                   std::string(req.content_type) + "'"};
    }
    if (req.body.size() > req.max_event_bytes) {
      return InputRefusal{413, "the body has " + std::to_string(req.body.size()) +
                                   " bytes; an input is at most " +
                                   std::to_string(req.max_event_bytes) + " bytes"};
    }
    Result<Value> parsed = Value::ParseJson(req.body);
    if (!parsed.ok())
      return InputRefusal{400, "the body is not JSON: " + parsed.status().message()};
    if (!parsed->is_object()) return InputRefusal{400, "the body must be a JSON object"};
    data = std::move(parsed).value();
  }
  const std::string& org = req.who->organisation;
  const std::string source = "urn:amtsweg:org:" + org;
  out->raw = Channel(req);
  out->case_id = std::string(case_id);
  out->raw.bytes = ObjectBuilder()
                       .Add("specversion", "1.0")
                       .Add("id", idempotency_key)
                       .Add("source", source)
                       .Add("type", kind.type)
                       .Add("subject", case_id)
                       .Add("time", FormatTimestamp(req.received))
                       .Add("participant", org)
                       .Add("datacontenttype", "application/json")
                       .Add("data", std::move(data))
                       .Build()
                       .ToJson();
  out->raw.size = out->raw.bytes.size();
  out->echo =
      Echo(Value(idempotency_key), Value(source), Value(kind.type), out->case_id, req.received);
  return std::nullopt;
}

std::optional<InputRefusal> ErasureInput(const InputRequest& req, std::string_view case_id,
                                         std::string_view idempotency_key, Intake* out) {
  static constexpr CaseInputKind kErasure{"erasure", runtime::input_type::kErasureRequested};
  if (std::optional<InputRefusal> r = CaseInput(req, kErasure, case_id, idempotency_key, out))
    return r;
  // An administrator speaks for no organisation: no participant, a source of its own.
  Result<Value> event = Value::ParseJson(out->raw.bytes);
  if (!event.ok()) return InputRefusal{500, "the erasure request could not be built"};
  const std::string source = "urn:amtsweg:admin:" + req.who->name;
  std::vector<Member> members;
  for (const Member& m : event->members()) {
    if (m.first == "participant") continue;
    members.emplace_back(m.first, m.first == "source" ? Value(source) : m.second);
  }
  out->raw.bytes = Value::Object(std::move(members)).ToJson();
  out->raw.size = out->raw.bytes.size();
  out->raw.channel_organisation.clear();
  out->raw.admin = "api:" + req.who->name;
  out->echo =
      Echo(Value(idempotency_key), Value(source), Value(kErasure.type), out->case_id, req.received);
  return std::nullopt;
}

InputAnswer AnswerOf(const Value& echo, const core::InboxVerdict& verdict) {
  using Outcome = core::InboxVerdict::Outcome;
  InputAnswer a;
  auto with_echo = [&](std::string_view outcome) {
    a.extra.emplace_back("outcome", outcome);
    a.extra.emplace_back("input", echo);
  };
  switch (verdict.outcome) {
    case Outcome::kAccepted:
      with_echo("accepted");
      return a;
    case Outcome::kDuplicate:
      with_echo("duplicate");
      a.extra.emplace_back("detail", verdict.reason);
      return a;
    case Outcome::kRefused:
      a.problem = true;
      a.status = verdict.kind == "malformed" ? 400 : verdict.kind == "oversized" ? 413 : 422;
      a.detail = verdict.kind + ": " + verdict.reason;
      with_echo("refused");
      a.extra.emplace_back("kind", verdict.kind);
      return a;
    case Outcome::kElsewhere:
      a.problem = true;
      a.status = 421;
      a.detail = verdict.reason + "; send it to the instance that reads the case's partition";
      with_echo("not-taken");
      return a;
    case Outcome::kNotStored:
      a.problem = true;
      a.status = 503;
      a.detail = verdict.reason;
      with_echo("not-taken");
      a.headers.emplace_back("Retry-After", "1");
      return a;
  }
  return a;
}

}  // namespace amtsweg::http
