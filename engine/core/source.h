// Edges of the engine: where input comes from and where outbound events go.
// Implementations: connectors/file (file source and sink); tests use in-memory ones.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/store/store.h"

namespace amtsweg::core {

// One raw input as read, with where it was read from (for dead letters and positions).
struct RawInput {
  std::string bytes;
  std::string where;       // for people: "line 17"
  bool oversized = false;  // the source cut it at its size limit; bytes hold the start
  size_t size = 0;         // the input's full size in bytes
};

// A source of raw inputs. Not thread-safe: one engine loop polls it.
class Source {
 public:
  virtual ~Source() = default;
  // Stable name, the key of its stored position, e.g. "file:workflows/samples/x.jsonl".
  virtual const std::string& name() const = 0;
  // Positions the source after `position` (a token it returned before), or at the start.
  virtual Status Seek(const std::optional<std::string>& position) = 0;
  // Appends up to `max` inputs. Returns how many; 0 with AtEnd() when a finite source is done.
  virtual Result<size_t> Poll(size_t max, std::vector<RawInput>* out) = 0;
  // Token for the position after the last polled input.
  virtual std::string Position() const = 0;
  virtual bool AtEnd() const = 0;
};

// Where outbox entries are delivered. Publish returns OK only when every entry is delivered.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Publish(const std::vector<store::OutboxEntry>& entries) = 0;
};

}  // namespace amtsweg::core
