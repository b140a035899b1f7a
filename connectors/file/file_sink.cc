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
  if (ec) return Status::IOError("cannot create output directory '" + directory + "': " + ec.message());
  return std::unique_ptr<FileSink>(new FileSink(directory));
}

Status FileSink::Publish(const std::vector<store::OutboxEntry>& entries) {
  std::map<std::string, std::string> by_destination;
  for (const store::OutboxEntry& e : entries) {
    std::string& buf = by_destination[e.destination];
    buf.append(e.payload);
    buf.push_back('\n');
  }
  for (const auto& [destination, data] : by_destination) {
    if (destination.find('/') != std::string::npos || destination.empty() || destination[0] == '.') {
      return Status::InvalidArgument("destination '" + destination + "' is not a valid file name");
    }
    std::string path = directory_ + "/" + destination + ".jsonl";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("open '" + path + "': " + std::strerror(errno));
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Status::IOError("write '" + path + "': " + std::strerror(err));
      }
      written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("fsync '" + path + "': " + std::strerror(err));
    }
    ::close(fd);
  }
  return Status::OK();
}

}  // namespace amtsweg::connectors
