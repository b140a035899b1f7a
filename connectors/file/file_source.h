// A Source reading CloudEvents as JSON lines from a file.
//
// Each non-empty line is one input. The position token is the byte offset after the last line
// read, so a restarted engine continues exactly where its last committed batch ended. Lines
// longer than the size limit are not loaded whole: their first bytes are kept for the dead
// letter and the rest is skipped. A final line without a newline is read only at end of file
// (a writer may still be appending it). Not thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "engine/core/source.h"

namespace amtsweg::connectors {

class FileSource final : public core::Source {
 public:
  // `name` is the source's stable name, by default "file:" + the file's canonical path.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path, size_t max_line_bytes,
                                                  std::string name = "");
  ~FileSource() override;

  const std::string& name() const override { return name_; }
  // Seeks to the position stored under name().
  Status Start(const core::PositionLookup& lookup) override;
  Status Seek(const std::optional<std::string>& position);
  // Never waits: a file has what it has.
  Result<size_t> Poll(size_t max, std::chrono::milliseconds wait,
                      std::vector<core::RawInput>* out) override;
  void PositionsAfterPoll(core::Positions* out) const override {
    out->emplace_back(name_, std::to_string(offset_));
  }
  std::string Position() const { return std::to_string(offset_); }
  bool AtEnd() const override { return at_end_; }

 private:
  FileSource(std::string path, std::string name, std::FILE* file, size_t max_line_bytes);

  std::string path_;
  std::string name_;
  std::FILE* file_;
  size_t max_line_bytes_;
  uint64_t offset_ = 0;  // byte offset after the last complete line returned
  uint64_t line_ = 0;    // line number of the last line returned
  bool at_end_ = false;
};

}  // namespace amtsweg::connectors
