#include "engine/store/codec.h"

#include <cstring>

#include "engine/common/value.h"

namespace amtsweg::store::codec {
namespace {

void PutDigest(const Digest& d, std::string* out) {
  out->append(reinterpret_cast<const char*>(d.data()), d.size());
}

bool GetDigest(std::string_view* in, Digest* d) {
  if (in->size() < d->size()) return false;
  std::memcpy(d->data(), in->data(), d->size());
  in->remove_prefix(d->size());
  return true;
}

bool GetVersion(std::string_view* in) {
  if (in->empty() || in->front() != kFormatV1) return false;
  in->remove_prefix(1);
  return true;
}

}  // namespace

void PutFixed64BE(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

bool GetFixed64BE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t result = 0;
  for (int i = 0; i < 8; ++i)
    result = (result << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = result;
  return true;
}

Status ValidateCaseId(std::string_view case_id) {
  if (case_id.empty()) return Status::InvalidArgument("empty case id");
  if (case_id.size() > kMaxCaseIdBytes) {
    return Status::InvalidArgument("case id longer than 256 bytes");
  }
  if (case_id.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("case id contains a NUL byte");
  }
  return Status::OK();
}

std::string EventKey(std::string_view case_id, uint64_t seq) {
  std::string key;
  key.reserve(case_id.size() + 9);
  key.append(case_id);
  key.push_back('\0');
  PutFixed64BE(seq, &key);
  return key;
}

std::string EventKeyEnd(std::string_view case_id) {
  std::string key(case_id);
  key.push_back('\x01');
  return key;
}

bool ParseEventKey(std::string_view key, std::string_view* case_id, uint64_t* seq) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  *case_id = key.substr(0, key.size() - 9);
  std::string_view rest = key.substr(key.size() - 8);
  return GetFixed64BE(&rest, seq);
}

std::string EventValue(const Digest& hash, std::string_view payload) {
  std::string value;
  value.reserve(1 + hash.size() + payload.size());
  value.push_back(kFormatV1);
  PutDigest(hash, &value);
  value.append(payload);
  return value;
}

bool ParseEventValue(std::string_view value, Digest* hash, std::string_view* payload) {
  if (!GetVersion(&value) || !GetDigest(&value, hash)) return false;
  *payload = value;
  return true;
}

std::string CaseValue(const CaseRecord& record) {
  std::string value;
  value.reserve(1 + 10 + record.head.size() + record.snapshot.size());
  value.push_back(kFormatV1);
  PutVarint(record.last_seq, &value);
  PutDigest(record.head, &value);
  value.append(record.snapshot);
  return value;
}

bool ParseCaseValue(std::string_view value, CaseRecord* record) {
  if (!GetVersion(&value) || !GetVarint(&value, &record->last_seq) ||
      !GetDigest(&value, &record->head)) {
    return false;
  }
  record->snapshot.assign(value);
  return true;
}

std::string TimerKey(const Timer& timer) {
  std::string key;
  key.reserve(8 + timer.case_id.size() + 1 + timer.name.size());
  PutFixed64BE(static_cast<uint64_t>(timer.due), &key);
  key.append(timer.case_id);
  key.push_back('\0');
  key.append(timer.name);
  return key;
}

bool ParseTimerKey(std::string_view key, Timer* timer) {
  uint64_t due = 0;
  if (!GetFixed64BE(&key, &due)) return false;
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return false;
  timer->due = static_cast<Timestamp>(due);
  timer->case_id.assign(key.substr(0, nul));
  timer->name.assign(key.substr(nul + 1));
  return true;
}

std::string SeqKey(uint64_t seq) {
  std::string key;
  PutFixed64BE(seq, &key);
  return key;
}

// Outbox values have their own format version: 2 added headers and event references.
constexpr char kOutboxFormatV2 = 2;

std::string OutboxValue(const OutboxEntry& entry) {
  std::string value;
  size_t size =
      32 + entry.destination.size() + entry.key.size() + entry.id.size() + entry.payload.size();
  for (const auto& [name, v] : entry.headers)
    size += 10 + name.size() + v.size();
  value.reserve(size);
  value.push_back(kOutboxFormatV2);
  PutLengthPrefixed(entry.destination, &value);
  PutLengthPrefixed(entry.key, &value);
  PutLengthPrefixed(entry.id, &value);
  PutVarint(entry.event_from, &value);
  PutVarint(entry.event_to, &value);
  PutVarint(entry.headers.size(), &value);
  for (const auto& [name, v] : entry.headers) {
    PutLengthPrefixed(name, &value);
    PutLengthPrefixed(v, &value);
  }
  value.append(entry.payload);
  return value;
}

bool ParseOutboxValue(std::string_view value, OutboxEntry* entry) {
  std::string_view destination, key, id;
  if (value.empty()) return false;
  char version = value.front();
  value.remove_prefix(1);
  if ((version != kFormatV1 && version != kOutboxFormatV2) ||
      !GetLengthPrefixed(&value, &destination) || !GetLengthPrefixed(&value, &key) ||
      !GetLengthPrefixed(&value, &id)) {
    return false;
  }
  entry->destination.assign(destination);
  entry->key.assign(key);
  entry->id.assign(id);
  entry->headers.clear();
  entry->event_from = entry->event_to = 0;
  if (version == kOutboxFormatV2) {
    uint64_t headers = 0;
    if (!GetVarint(&value, &entry->event_from) || !GetVarint(&value, &entry->event_to) ||
        !GetVarint(&value, &headers) || headers > value.size()) {
      return false;
    }
    for (uint64_t i = 0; i < headers; ++i) {
      std::string_view name, v;
      if (!GetLengthPrefixed(&value, &name) || !GetLengthPrefixed(&value, &v)) return false;
      entry->headers.emplace_back(name, v);
    }
  }
  entry->payload.assign(value);
  return true;
}

namespace {
std::string DeadValueOf(const DeadLetter& dead, char format) {
  std::string value;
  size_t size = 32 + dead.source.size() + dead.position.size() + dead.kind.size() +
                dead.reason.size() + dead.raw.size();
  for (const auto& [name, v] : dead.headers)
    size += 10 + name.size() + v.size();
  value.reserve(size);
  value.push_back(format);
  PutFixed64BE(static_cast<uint64_t>(dead.at), &value);
  PutLengthPrefixed(dead.source, &value);
  PutLengthPrefixed(dead.position, &value);
  if (format != kFormatV1) PutLengthPrefixed(dead.kind, &value);
  PutLengthPrefixed(dead.reason, &value);
  if (format == kDeadFormatV3) {
    PutVarint(dead.headers.size(), &value);
    for (const auto& [name, v] : dead.headers) {
      PutLengthPrefixed(name, &value);
      PutLengthPrefixed(v, &value);
    }
  }
  value.append(dead.raw);
  return value;
}
}  // namespace

std::string DeadValue(const DeadLetter& dead) {
  return DeadValueOf(dead, kDeadFormatV3);
}

std::string DeadValueV1ForTest(const DeadLetter& dead) {
  return DeadValueOf(dead, kFormatV1);
}

std::string DeadValueV2ForTest(const DeadLetter& dead) {
  return DeadValueOf(dead, kDeadFormatV2);
}

bool ParseDeadValue(std::string_view value, DeadLetter* dead) {
  uint64_t at = 0;
  std::string_view source, position, kind, reason;
  if (value.empty()) return false;
  const char version = value.front();
  value.remove_prefix(1);
  if ((version != kFormatV1 && version != kDeadFormatV2 && version != kDeadFormatV3) ||
      !GetFixed64BE(&value, &at) || !GetLengthPrefixed(&value, &source) ||
      !GetLengthPrefixed(&value, &position) ||
      (version != kFormatV1 && !GetLengthPrefixed(&value, &kind)) ||
      !GetLengthPrefixed(&value, &reason)) {
    return false;
  }
  dead->headers.clear();
  if (version == kDeadFormatV3) {
    uint64_t headers = 0;
    if (!GetVarint(&value, &headers) || headers > value.size()) return false;
    dead->headers.reserve(headers);
    for (uint64_t i = 0; i < headers; ++i) {
      std::string_view name, v;
      if (!GetLengthPrefixed(&value, &name) || !GetLengthPrefixed(&value, &v)) return false;
      dead->headers.emplace_back(name, v);
    }
  }
  dead->at = static_cast<Timestamp>(at);
  dead->source.assign(source);
  dead->position.assign(position);
  dead->kind.assign(kind);
  dead->reason.assign(reason);
  dead->raw.assign(value);
  return true;
}

std::string ClockValue(Timestamp clock) {
  std::string value;
  PutFixed64BE(static_cast<uint64_t>(clock), &value);
  return value;
}

bool ParseClockValue(std::string_view value, Timestamp* clock) {
  uint64_t v = 0;
  if (!GetFixed64BE(&value, &v) || !value.empty()) return false;
  *clock = static_cast<Timestamp>(v);
  return true;
}

std::string PositionKey(std::string_view source) {
  std::string key(kMetaPositionPrefix);
  key.append(source);
  return key;
}

std::string AccessValue(const AccessRecord& r) {
  std::string value;
  value.push_back(kFormatV1);
  PutFixed64BE(static_cast<uint64_t>(r.at), &value);
  PutLengthPrefixed(r.principal, &value);
  PutLengthPrefixed(r.role, &value);
  PutLengthPrefixed(r.organisation, &value);
  PutLengthPrefixed(r.method, &value);
  PutLengthPrefixed(r.path, &value);
  PutVarint(static_cast<uint64_t>(r.status), &value);
  value.append(r.case_id);
  return value;
}

bool ParseAccessValue(std::string_view value, AccessRecord* r) {
  uint64_t at = 0;
  uint64_t status = 0;
  std::string_view principal, role, organisation, method, path;
  if (!GetVersion(&value) || !GetFixed64BE(&value, &at) || !GetLengthPrefixed(&value, &principal) ||
      !GetLengthPrefixed(&value, &role) || !GetLengthPrefixed(&value, &organisation) ||
      !GetLengthPrefixed(&value, &method) || !GetLengthPrefixed(&value, &path) ||
      !GetVarint(&value, &status) || status > 999) {
    return false;
  }
  r->at = static_cast<Timestamp>(at);
  r->principal.assign(principal);
  r->role.assign(role);
  r->organisation.assign(organisation);
  r->method.assign(method);
  r->path.assign(path);
  r->status = static_cast<int>(status);
  r->case_id.assign(value);
  return true;
}

std::string DefinitionKey(std::string_view name, uint64_t version) {
  std::string key(kMetaDefinitionPrefix);
  key.append(name);
  key.push_back('\0');
  PutFixed64BE(version, &key);
  return key;
}

bool ParseDefinitionKey(std::string_view key, std::string_view* name, uint64_t* version) {
  if (!key.starts_with(kMetaDefinitionPrefix)) return false;
  key.remove_prefix(kMetaDefinitionPrefix.size());
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos || nul == 0) return false;
  *name = key.substr(0, nul);
  key.remove_prefix(nul + 1);
  return GetFixed64BE(&key, version) && key.empty();
}

}  // namespace amtsweg::store::codec
