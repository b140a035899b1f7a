// What an engine process did: counters and time spent, for progress output, the run summary and
// /metrics (engine/report). A plain value; copying it takes a snapshot.
#pragma once

#include <cstdint>

namespace amtsweg::core {

// Every raw input read is counted once: inputs == accepted + rejected + duplicates. Fired
// deadline timers are synthetic inputs, counted apart:
// timers_fired == timers_expired + timers_stale + timers_refused.
struct EngineStats {
  uint64_t inputs = 0;  // raw inputs read
  // Inputs taken: they changed a case, or (de.amtsweg.clock.advanced) moved the clock; a clock
  // event before the clock is taken too, and changes nothing.
  uint64_t accepted = 0;
  uint64_t rejected = 0;    // inputs refused (each is dead-lettered)
  uint64_t duplicates = 0;  // inputs skipped as already processed (dead-lettered too)
  uint64_t timers_fired = 0;
  uint64_t timers_expired = 0;  // the deadline expired (deadline.expired and what follows)
  uint64_t timers_stale = 0;    // changed nothing: the deadline was extended, cancelled or closed
  // The case's workflow version is not deployed: recorded as input.rejected in an open case, not
  // dead-lettered (no input to keep).
  uint64_t timers_refused = 0;
  uint64_t domain_events = 0;
  uint64_t cases_opened = 0;
  uint64_t cases_closed = 0;
  uint64_t cases_erased = 0;  // erasures finished (key destroyed, store purged)
  uint64_t batches = 0;       // batches committed that wrote something (not idle polls)
  uint64_t published = 0;     // messages acknowledged by the sink
  uint64_t replayed = 0;      // inputs rebuilt without publishing (see RawInput::replay)
  // Where Run spends its time, in microseconds of wall time.
  uint64_t poll_us = 0;     // waiting for and reading input
  uint64_t process_us = 0;  // decoding, the runtime, building the batch
  uint64_t commit_us = 0;   // the store's write (with its fsync)
  uint64_t publish_us = 0;  // expanding, sending, collecting acknowledgements
  // Finishing erasures after their batch is stored (part of process_us): reading the erasure
  // records and KeyStore::Destroy (its synced write and the key store's purge), then
  // Store::PurgeErased (dead letters, flush, compaction).
  uint64_t erase_keys_us = 0;
  uint64_t erase_purge_us = 0;
};

}  // namespace amtsweg::core
