#include "connectors/file/file_source.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace amtsweg::connectors {

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path, size_t max_line_bytes,
                                                     std::string name) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::IOError("cannot open event file '" + path + "': " + std::strerror(errno));
  }
  if (name.empty()) {
    // The canonical path: the same file named differently keeps one stored position.
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
    name = "file:" + (ec ? path : canonical.string());
  }
  return std::unique_ptr<FileSource>(new FileSource(path, std::move(name), f, max_line_bytes));
}

FileSource::FileSource(std::string path, std::string name, std::FILE* file, size_t max_line_bytes)
    : path_(std::move(path)),
      name_(std::move(name)),
      file_(file),
      max_line_bytes_(max_line_bytes) {}

FileSource::~FileSource() {
  std::fclose(file_);
}

Status FileSource::Seek(const std::optional<std::string>& position) {
  uint64_t offset = 0;
  uint64_t line = 0;
  if (position.has_value()) {
    // Token: "<byte offset>" (line counts are recomputed for messages).
    const std::string& p = *position;
    auto res = std::from_chars(p.data(), p.data() + p.size(), offset);
    if (res.ec != std::errc() || res.ptr != p.data() + p.size()) {
      return Status::InvalidArgument("stored position '" + p + "' of " + name_ +
                                     " is not a byte offset");
    }
  }
  // Count lines up to the offset so dead letters name the right line.
  if (std::fseek(file_, 0, SEEK_SET) != 0) return Status::IOError("seek in '" + path_ + "' failed");
  char buf[1 << 16];
  uint64_t remaining = offset;
  while (remaining > 0) {
    size_t want = remaining < sizeof(buf) ? static_cast<size_t>(remaining) : sizeof(buf);
    size_t got = std::fread(buf, 1, want, file_);
    if (got == 0) {
      return Status::InvalidArgument("stored position " + std::to_string(offset) +
                                     " is beyond the end of '" + path_ +
                                     "'; was the file replaced?");
    }
    for (size_t i = 0; i < got; ++i)
      line += buf[i] == '\n';
    remaining -= got;
  }
  offset_ = offset;
  line_ = line;
  at_end_ = false;
  return Status::OK();
}

Status FileSource::Start(const core::PositionLookup& lookup) {
  ASSIGN_OR_RETURN(std::optional<std::string> position, lookup(name_));
  return Seek(position);
}

Result<size_t> FileSource::Poll(size_t max, std::chrono::milliseconds wait,
                                std::vector<core::RawInput>* out) {
  (void)wait;
  size_t n = 0;
  std::string line;
  while (n < max) {
    line.clear();
    size_t size = 0;
    bool newline = false;
    int c;
    while ((c = getc_unlocked(file_)) != EOF) {
      ++size;
      if (c == '\n') {
        newline = true;
        break;
      }
      if (line.size() <= max_line_bytes_) line.push_back(static_cast<char>(c));
    }
    if (std::ferror(file_)) return Status::IOError("reading '" + path_ + "' failed");
    if (!newline) {
      // At end of file: a last line without newline counts only if the file is complete; we
      // treat it as complete (files are written whole) but keep following for appended lines.
      std::clearerr(file_);
      if (size == 0) {
        at_end_ = true;
        break;
      }
    }
    offset_ += size;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool blank = line.find_first_not_of(" \t") == std::string::npos;
    if (blank && size <= max_line_bytes_) continue;
    core::RawInput raw;
    raw.where = "line " + std::to_string(line_);
    raw.size = newline ? size - 1 : size;
    raw.oversized = raw.size > max_line_bytes_;
    if (raw.oversized) line.resize(std::min<size_t>(line.size(), 1024));
    raw.bytes = std::move(line);
    out->push_back(std::move(raw));
    line = std::string();
    ++n;
  }
  return n;
}

}  // namespace amtsweg::connectors
