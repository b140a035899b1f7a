// The workflow runtime: a pure, deterministic function from (definitions, directory, case
// state, input event) to new domain events.
//
// No clock, no randomness, no I/O: time is the input event's time (or the case's last event's,
// if the input is older: a case's log never goes back in time), ids are derived from the case id
// and sequence numbers. Thread-safe: a Runtime is immutable after construction and
// Handle() may run concurrently for different cases.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/registry.h"
#include "engine/runtime/case_state.h"
#include "engine/runtime/events.h"

namespace amtsweg::runtime {

// A fault injected into the runtime (tests): called with every event the runtime builds, before
// it is applied to the case; it may change the event, e.g. into one that does not fit.
using EventFault = std::function<void(DomainEvent*)>;

// Why an input was not taken. kind is a short stable word for counting and filtering.
struct Rejection {
  std::string kind;    // e.g. "unknown-case", "closed-case", "not-a-participant"
  std::string reason;  // for people: what and where
};

// Who speaks for an input (docs/events.md, "Who speaks for an organisation"). The `participant`
// claim must name the organisation the input's channel is bound to (`channel_organisation`) and
// the organisation the directory maps its CloudEvents `source` to (`sources`, `sends_from`); on a
// bound channel, a mapped source must belong to the channel's organisation. Otherwise kind
// "impersonation", the reason naming both identities. With the directory's
// `participants_must_be_bound`, a claim that neither proves is refused as "unbound-participant".
// Clock events speak for nobody and pass. nullopt: the input may speak as it claims. Pure.
std::optional<Rejection> CheckSpeaker(const InputEvent& in, const dsl::Directory& directory);

struct StepResult {
  // The domain events produced, seqs continuing the case's log; already applied to `state`.
  std::vector<DomainEvent> events;
  // Set when the input was refused. If the case exists and is open, `events` then holds one
  // input.rejected event recording the refusal in the case's history; otherwise it is empty.
  // Kind "internal-error": an event the runtime built did not fit the case (Apply refused it, a
  // bug); the step was voided, the case left as it was before the input.
  std::optional<Rejection> rejection;
  // True for inputs that are dropped silently by design (a timer made stale by an extension).
  bool ignored = false;
};

class Runtime {
 public:
  // Borrows `registry` and `directory`; both must outlive the Runtime. `fault`: see EventFault;
  // it must be thread-safe when Handle runs on several threads.
  Runtime(const dsl::Registry& registry, const dsl::Directory& directory,
          EventFault fault = nullptr);

  // Handles `in` for the case in `*state` (a default-constructed state, seq 0, when the case
  // does not exist yet). On return `*state` is the state after the produced events.
  // An input CheckSpeaker refuses is refused (as by Refuse). An input to an existing case on a
  // bound channel without a `participant` claim speaks for the channel's organisation; one that
  // opens a case does not (an application is the applicant's, not the transmitting channel's).
  StepResult Handle(const InputEvent& in, CaseState* state) const;

  // Refuses `in` with `why` without looking further: while the case in `*state` is open, the
  // refusal is recorded as its input.rejected event. For refusals decided outside the runtime's
  // own checks (CheckSpeaker, before the engine's duplicate check).
  StepResult Refuse(const InputEvent& in, Rejection why, CaseState* state) const;

  // CheckSpeaker with this runtime's directory.
  std::optional<Rejection> CheckSpeaker(const InputEvent& in) const {
    return runtime::CheckSpeaker(in, directory_);
  }

  // The definition a case runs on, or nullptr.
  const dsl::Definition* DefinitionOf(const CaseState& state) const;

  // The input types the engine accepts: the engine's own and every definition's.
  bool KnownType(std::string_view type) const;

 private:
  class Step;
  // Runs one step (`refusal`: Refuse's, instead of the checks) and voids it if it failed.
  StepResult Run(const InputEvent& in, CaseState* state, std::optional<Rejection> refusal) const;

  const dsl::Registry& registry_;
  const dsl::Directory& directory_;
  const EventFault fault_;
};

}  // namespace amtsweg::runtime
