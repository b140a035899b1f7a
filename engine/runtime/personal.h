// Personal data in stored domain events and snapshots: which values are personal, and how they
// are sealed under the case's data key so that destroying the key erases them (crypto-shredding,
// docs/data-protection.md) while the log itself never changes.
//
// What is personal. Per event type, the members that can carry personal data: the application
// (case.opened), the case variables (case.opened, variable.set), the content and reply reference
// of disclosures and requests, the response data (response.recorded) and the reason of an
// extension. Of the application and of responses, the workflow names the personal paths
// (dsl::Definition::personal); by default all of them are, except the municipality keys (members
// named `ags` or `ars`), which name an authority's area, not a person, and which the statistics
// count by, and a response's `task`. Everything else stays readable: ids, types, times, states,
// the names of the sealed fields, legal bases.
//
// How. Every personal leaf (a value that is not an object) is replaced by null (a string member
// by "") and named by a JSON Pointer (RFC 6901) into the event's data; the values, as a binary
// array, are sealed in one piece with the case's key, bound to the case id and the event's seq.
// The chain hashes these stored bytes, so it verifies with the key or without it.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/workflow.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/events.h"

namespace amtsweg::runtime {

// One case's data key as the codecs use it (the engine implements it over crypto::DataKey).
class Sealer {
 public:
  virtual ~Sealer() = default;
  // Appends the sealed form of `plaintext`, bound to `aad`.
  virtual void Seal(std::string_view aad, std::string_view plaintext, std::string* out) const = 0;
  // Corruption when `sealed` does not open with this key and `aad`.
  virtual Result<std::string> Open(std::string_view aad, std::string_view sealed) const = 0;
};

// What a workflow declares personal (dsl/workflow.h).
using PersonalPaths = dsl::PersonalData;

// The default: all application and response data (the municipality keys and `task` aside).
const PersonalPaths& DefaultPersonalPaths();

// EncodeEvent, with `e`'s personal values sealed by `sealer` (null: none sealed, as EncodeEvent).
void EncodeStoredEvent(const DomainEvent& e, std::string_view case_id, const PersonalPaths& paths,
                       const Sealer* sealer, std::string* out);

// Puts the sealed values of a decoded event back (`sealer` set) or, when the case's key is gone
// (`sealer` null), leaves the nulls and marks the event erased. An event without sealed values is
// left as it is. Corruption when the seal does not open (a wrong key, changed bytes).
Status UnsealEvent(std::string_view case_id, const Sealer* sealer, DomainEvent* e);

// Snapshots with the personal parts of the state (variables, responses) sealed:
// 'S' lp(snapshot with null in their places) lp(sealed binary array of them).
std::string EncodeSealedSnapshot(const CaseState& s, const Sealer& sealer);
// Decodes a sealed or plain snapshot. A sealed one without `sealer` decodes with nulls in the
// sealed places and sets *sealed_unread (may be null).
Result<CaseState> DecodeStoredSnapshot(std::string_view in, std::string_view case_id,
                                       const Sealer* sealer, bool* sealed_unread = nullptr);

// The JSON Pointer of a path given as segments, and back (RFC 6901: "~0" is "~", "~1" is "/").
std::string JsonPointer(const std::vector<std::string_view>& segments);
std::vector<std::string> ParseJsonPointer(std::string_view pointer);

// `v` with the value at `segments` (object members, created where missing) replaced by
// `replacement`.
Value WithValueAt(const Value& v, const std::vector<std::string>& segments, size_t from,
                  Value replacement);

}  // namespace amtsweg::runtime
