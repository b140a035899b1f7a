#include "connectors/file/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

namespace amtsweg::connectors {

Result<std::unique_ptr<FileSink>> FileSink::Open(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec)
    return Status::IOError("cannot create output directory '" + directory + "': " + ec.message());
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open '" + directory + "': " + std::strerror(errno));
  return std::unique_ptr<FileSink>(new FileSink(directory, fd));
}

FileSink::~FileSink() {
  for (const auto& [destination, fd] : files_)
    ::close(fd);
  ::close(dir_fd_);
}

Result<int> FileSink::FileFor(const std::string& destination) {
  if (auto it = files_.find(destination); it != files_.end()) return it->second;
  if (destination.empty() || destination.find('/') != std::string::npos || destination[0] == '.') {
    return Status::InvalidArgument("destination '" + destination + "' is not a valid file name");
  }
  std::string path = directory_ + "/" + destination + ".jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open '" + path + "': " + std::strerror(errno));
  files_.emplace(destination, fd);
  return fd;
}

Status FileSink::Send(std::vector<core::OutboundMessage> entries) {
  std::map<std::string, std::string> by_destination;
  for (const core::OutboundMessage& e : entries) {
    std::string& buf = by_destination[e.destination];
    buf.append(e.payload);
    buf.push_back('\n');
  }
  for (const auto& [destination, data] : by_destination) {
    ASSIGN_OR_RETURN(int fd, FileFor(destination));
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write '" + directory_ + "/" + destination +
                               ".jsonl': " + std::strerror(errno));
      }
      written += static_cast<size_t>(n);
    }
  }
  // One flush of the file system for every file written, instead of an fsync per file.
  if (!by_destination.empty() && ::syncfs(dir_fd_) != 0) {
    return Status::IOError("syncfs '" + directory_ + "': " + std::strerror(errno));
  }
  for (const core::OutboundMessage& e : entries)
    delivered_.push_back(e.seq);
  return Status::OK();
}

Status FileSink::Acknowledged(std::chrono::milliseconds wait, std::vector<uint64_t>* seqs) {
  (void)wait;  // Send is synchronous: everything sent is delivered
  seqs->insert(seqs->end(), delivered_.begin(), delivered_.end());
  delivered_.clear();
  return Status::OK();
}

}  // namespace amtsweg::connectors
