#include "engine/runtime/events.h"

#include <array>

namespace amtsweg::runtime {

namespace {

constexpr std::array<std::string_view, kDomainTypeCount> kNames = {
    "case.opened",
    "participant.resolved",
    "state.entered",
    "variable.set",
    "notification.disclosed",
    "task.requested",
    "response.recorded",
    "task.completed",
    "deadline.started",
    "deadline.extended",
    "deadline.expired",
    "deadline.cancelled",
    "certificate.issued",
    "case.closed",
    "input.rejected",
    "notification.undeliverable",
};

constexpr uint8_t kEncodingVersion = 1;

}  // namespace

std::string_view DomainTypeName(DomainType t) {
  auto i = static_cast<size_t>(t) - 1;
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<DomainType> ParseDomainType(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<DomainType>(i + 1);
  }
  return std::nullopt;
}

void EncodeEvent(const DomainEvent& e, std::string* out) {
  out->push_back(static_cast<char>(kEncodingVersion));
  PutVarint(e.seq, out);
  PutVarint(static_cast<uint64_t>(e.time), out);
  out->push_back(static_cast<char>(e.type));
  PutLengthPrefixed(e.cause, out);
  e.data.AppendBinary(out);
}

Result<DomainEvent> DecodeEvent(std::string_view in) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != kEncodingVersion) {
    return Status::Corruption("domain event: unknown encoding version");
  }
  in.remove_prefix(1);
  DomainEvent e;
  uint64_t time = 0;
  std::string_view cause;
  if (!GetVarint(&in, &e.seq) || !GetVarint(&in, &time) || in.empty()) {
    return Status::Corruption("domain event: truncated header");
  }
  e.time = static_cast<Timestamp>(time);
  auto type = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (type < 1 || type > kDomainTypeCount) {
    return Status::Corruption("domain event: unknown type " + std::to_string(type));
  }
  e.type = static_cast<DomainType>(type);
  if (!GetLengthPrefixed(&in, &cause)) return Status::Corruption("domain event: truncated cause");
  e.cause = std::string(cause);
  Result<Value> data = Value::DecodeBinary(&in);
  if (!data.ok()) return data.status().WithContext("domain event data");
  if (!in.empty()) return Status::Corruption("domain event: trailing bytes");
  e.data = std::move(data).value();
  return e;
}

Value EventToValue(const DomainEvent& e) {
  return ObjectBuilder()
      .Add("seq", static_cast<int64_t>(e.seq))
      .Add("time", FormatTimestamp(e.time))
      .Add("type", DomainTypeName(e.type))
      .Add("cause", e.cause)
      .Add("data", e.data)
      .Build();
}

}  // namespace amtsweg::runtime
