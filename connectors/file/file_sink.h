// A Sink writing each destination's outbound CloudEvents as JSON lines to
// `<directory>/<destination>.jsonl`, made durable (one syncfs for all files) before Send
// returns; Acknowledged then reports them. Delivery is at least once:
// after a crash between writing and removing from the outbox, events are written again with the
// same id, which receivers use to deduplicate. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/source.h"

namespace amtsweg::connectors {

class FileSink final : public core::Sink {
 public:
  // Creates `directory` if needed.
  static Result<std::unique_ptr<FileSink>> Open(const std::string& directory);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  Status Send(std::vector<core::OutboundMessage> entries) override;
  Status Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) override;

 private:
  FileSink(std::string directory, int dir_fd) : directory_(std::move(directory)), dir_fd_(dir_fd) {}
  Result<int> FileFor(const std::string& destination);

  std::string directory_;
  int dir_fd_;
  std::map<std::string, int> files_;  // destination -> open file, appended to
  std::vector<uint64_t> delivered_;   // seqs written since the last Acknowledged
};

}  // namespace amtsweg::connectors
