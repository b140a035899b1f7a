// Internal: the binary key and value layouts of the store's column families.
// Not part of the store's contract; used by store.cc and by tests that inspect or damage the
// raw database. The layouts are described in engine/store/README.md.
//
// events  key: case_id ++ 0x00 ++ seq (u64 BE)      value: 0x01 ++ hash[32] ++ payload
// cases   key: case_id                               value: 0x01 ++ varint last_seq ++ head[32]
//                                                             ++ snapshot
// index   key: opaque (from the engine)              value: empty
// timers  key: due (u64 BE) ++ case_id ++ 0x00 ++ name  value: empty
// outbox  key: seq (u64 BE)                          value: 0x01 ++ lp(destination) ++ lp(key)
//                                                             ++ lp(id) ++ payload
// dead    key: seq (u64 BE)                          value: 0x03 ++ at (u64 BE, two's complement)
//                                                             ++ lp(source) ++ lp(position)
//                                                             ++ lp(kind) ++ lp(reason)
//                                                             ++ varint n ++ n x (lp(name)
//                                                             ++ lp(value)) ++ raw
//                                                      (still read: format 0x02 without the
//                                                      headers, 0x01 also without lp(kind))
// seen    key: input id                              value: empty
// access  key: seq (u64 BE)                          value: 0x01 ++ at (u64 BE, two's complement)
//                                                             ++ lp(principal) ++ lp(role)
//                                                             ++ lp(organisation) ++ lp(method)
//                                                             ++ lp(path) ++ varint status
//                                                             ++ case_id
// meta    "pos/<source>" -> position bytes; "outbox_seq", "dead_seq" -> u64 BE (last assigned);
//         "clock" -> the engine clock (u64 BE, two's complement);
//         "schema_version" -> "1"; "def/<name>" 0x00 version (u64 BE) -> definition YAML
// (lp = varint length prefix; the trailing field of a value runs to its end, so payloads are
// stored without a copy-and-length step and can be any size.)
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/status.h"
#include "engine/store/store.h"

namespace amtsweg::store::codec {

inline constexpr char kFormatV1 = 0x01;
inline constexpr char kDeadFormatV2 = 0x02;  // dead letters with their kind
inline constexpr char kDeadFormatV3 = 0x03;  // ... and the input's transport headers
inline constexpr size_t kMaxCaseIdBytes = 256;
inline constexpr std::string_view kSchemaVersion = "1";

// Column family names, in the order the store opens them (after "default").
inline constexpr std::string_view kEvents = "events";
inline constexpr std::string_view kCases = "cases";
inline constexpr std::string_view kIndex = "index";
inline constexpr std::string_view kTimers = "timers";
inline constexpr std::string_view kOutbox = "outbox";
inline constexpr std::string_view kMeta = "meta";
inline constexpr std::string_view kDead = "dead";
inline constexpr std::string_view kSeen = "seen";
inline constexpr std::string_view kAccess = "access";

inline constexpr std::string_view kMetaOutboxSeq = "outbox_seq";
inline constexpr std::string_view kMetaDeadSeq = "dead_seq";
inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
// Not under kMetaPositionPrefix, so no source name can collide with it.
inline constexpr std::string_view kMetaClock = "clock";
inline constexpr std::string_view kMetaPositionPrefix = "pos/";
inline constexpr std::string_view kMetaDefinitionPrefix = "def/";
// "erase/<case id>" -> empty: the case's erasure is committed, its purge not finished.
inline constexpr std::string_view kMetaErasurePrefix = "erase/";

void PutFixed64BE(uint64_t v, std::string* out);
// Reads 8 bytes big-endian from the front of `*in` and advances it.
bool GetFixed64BE(std::string_view* in, uint64_t* v);

// InvalidArgument unless 1..256 bytes without NUL.
Status ValidateCaseId(std::string_view case_id);

std::string EventKey(std::string_view case_id, uint64_t seq);
// The smallest key after every event key of `case_id` (case_id ++ 0x01).
std::string EventKeyEnd(std::string_view case_id);
bool ParseEventKey(std::string_view key, std::string_view* case_id, uint64_t* seq);
std::string EventValue(const Digest& hash, std::string_view payload);
bool ParseEventValue(std::string_view value, Digest* hash, std::string_view* payload);

std::string CaseValue(const CaseRecord& record);
bool ParseCaseValue(std::string_view value, CaseRecord* record);

std::string TimerKey(const Timer& timer);
bool ParseTimerKey(std::string_view key, Timer* timer);

std::string SeqKey(uint64_t seq);  // outbox and dead keys
std::string OutboxValue(const OutboxEntry& entry);
bool ParseOutboxValue(std::string_view value, OutboxEntry* entry);
std::string DeadValue(const DeadLetter& dead);
// Reads every format; a format 1 record leaves dead->kind empty, formats 1 and 2 dead->headers.
bool ParseDeadValue(std::string_view value, DeadLetter* dead);
// The format 1 value (no kind), for tests that check old records are still read.
std::string DeadValueV1ForTest(const DeadLetter& dead);
std::string DeadValueV2ForTest(const DeadLetter& dead);

std::string ClockValue(Timestamp clock);
bool ParseClockValue(std::string_view value, Timestamp* clock);

std::string PositionKey(std::string_view source);

std::string AccessValue(const AccessRecord& record);
bool ParseAccessValue(std::string_view value, AccessRecord* record);

std::string DefinitionKey(std::string_view name, uint64_t version);
bool ParseDefinitionKey(std::string_view key, std::string_view* name, uint64_t* version);

}  // namespace amtsweg::store::codec
