// Reading cases: listing with filters, a case's history, replay to a moment, verification, and
// the view of a case that one participating organisation may have (data minimisation).
//
// Shared by the command line (`amtsweg case ...`, `replay`) and the HTTP API. Only reads the
// store, so it may run on any thread while the engine writes (see store.h). Pure functions of
// the store's content otherwise; thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/hash.h"
#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/core/case_keys.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/events.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// Which cases ListCases returns. Empty strings and unset bounds do not filter.
struct CaseFilter {
  std::string workflow;
  std::string state;
  std::string participant;                   // organisation id taking part in the case
  std::string outcome;                       // an outcome, or "open"
  std::optional<Timestamp> opened_from;      // opened at or after
  std::optional<Timestamp> opened_to;        // opened before
  std::optional<Timestamp> deadline_before;  // has an active deadline due before
  std::string after;                         // cursor: only case ids greater than this
  size_t limit = std::numeric_limits<size_t>::max();
};

struct CasePage {
  std::vector<runtime::CaseState> cases;  // in case id order, without their application
  std::string next_cursor;                // set when more cases match after this page
};

// Cases matching `filter`, in case id order, at most filter.limit of them. One index prefix scan
// (participant, state, workflow or outcome, in that order of preference) or a scan of all cases;
// the other conditions are checked on each case's snapshot.
Result<CasePage> ListCases(const store::Store& store, const CaseFilter& filter);

// One stored domain event with its chain hash.
struct HistoryEntry {
  runtime::DomainEvent event;
  Digest hash{};
};

// Every domain event of a case, in order. NotFound when there is no such case; Corruption when
// an event does not decode.
// Personal values are opened with `keys` (case_keys.h): erased ones are null and named in the
// event's `erased` list. Without `keys` they stay null too (sealed, not erased).
Result<std::vector<HistoryEntry>> ReadHistory(const store::Store& store, const std::string& case_id,
                                              const CaseKeys* keys = nullptr);

// A case's state rebuilt from its log: the events with seq <= upto_seq and time <= as_of.
struct Replay {
  runtime::CaseState state;
  uint64_t applied = 0;   // events folded
  uint64_t last_seq = 0;  // the case's last stored seq
};
// NotFound when there is no case or no event up to the given point; Corruption when an event
// does not decode or fit.
Result<Replay> ReplayCase(const store::Store& store, const std::string& case_id,
                          uint64_t upto_seq = std::numeric_limits<uint64_t>::max(),
                          Timestamp as_of = std::numeric_limits<Timestamp>::max(),
                          const CaseKeys* keys = nullptr);

// The audit of one case: the hash chain recomputed, and the stored snapshot compared with the
// state replayed from the whole log.
struct Verification {
  bool chain_intact = false;
  std::string chain_error;  // what is wrong when the chain is broken or the log does not replay
  bool snapshot_matches = false;
  uint64_t events = 0;
  bool ok() const { return chain_intact && snapshot_matches; }
};
// NotFound when there is no such case; other errors are read failures, not findings (a broken
// chain or an undecodable event is a finding, reported in the Verification).
Result<Verification> VerifyCase(const store::Store& store, const std::string& case_id,
                                const CaseKeys* keys = nullptr);

// The application paths disclosed to `organisation` by the events with seq <= upto_seq
// (notification.disclosed and task.requested addressed to it), sorted, without duplicates.
std::vector<std::string> DisclosedPaths(const std::vector<HistoryEntry>& history,
                                        const std::string& organisation,
                                        uint64_t upto_seq = std::numeric_limits<uint64_t>::max());

// Full views (admins, auditors): the state as `amtsweg case show --json` prints it; an event as
// `amtsweg case history` prints it, with its hash.
Value FullCaseView(const runtime::CaseState& s);
Value FullEventView(const HistoryEntry& e);
// A dead letter as `amtsweg dead-letters --json` prints it and the API returns it: seq, at,
// source, position, kind, reason ("kind: explanation"), raw.
Value DeadLetterView(const store::DeadLetter& d);
// A dead letter's kind (e.g. "malformed"): its stored field, or, for a record stored before
// kinds had one, the start of its reason up to the first ':'.
std::string DeadLetterKind(const store::DeadLetter& d);

// What `organisation` may see of a case: its identity, workflow, state, outcome and
// deadlines; of the participants and tasks only its own roles; no case variables; of the
// application only the `disclosed` paths (as a flat object path -> value, like the outbound
// events it received).
Value ParticipantCaseView(const runtime::CaseState& s, const std::string& organisation,
                          const std::vector<std::string>& disclosed);

// What `organisation` may see of one event, or nullopt when it sees nothing of it: the events
// addressed to it (its role binding, disclosures and task requests with the disclosed values
// instead of the paths, its own responses and refused inputs, the completion of tasks it was
// asked for), and the procedural events of the case (state changes, deadlines, certificate,
// closing); case.opened only with the case's identity and workflow. No chain hashes (a partial
// log cannot be verified). `s` is the case (its application and tasks) as of the view.
std::optional<Value> ParticipantEventView(const runtime::DomainEvent& e,
                                          const runtime::CaseState& s,
                                          const std::string& organisation);

}  // namespace amtsweg::core
