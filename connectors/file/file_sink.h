// A Sink writing each destination's outbound CloudEvents as JSON lines to
// `<directory>/<destination>.jsonl`, fsynced before Publish returns. Delivery is at least once:
// after a crash between writing and removing from the outbox, events are written again with the
// same id, which receivers use to deduplicate. Not thread-safe.
#pragma once

#include <string>

#include "engine/core/source.h"

namespace amtsweg::connectors {

class FileSink final : public core::Sink {
 public:
  // Creates `directory` if needed.
  static Result<std::unique_ptr<FileSink>> Open(const std::string& directory);
  Status Publish(const std::vector<store::OutboxEntry>& entries) override;

 private:
  explicit FileSink(std::string directory) : directory_(std::move(directory)) {}
  std::string directory_;
};

}  // namespace amtsweg::connectors
