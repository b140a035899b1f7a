#include "engine/report/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace amtsweg::report {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ToU64(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

Status ParseProcStat(std::string_view stat, long ticks_per_second, long page_size,
                     uint64_t boot_time, ProcessFigures* out) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields start after
  // the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos)
    return Status::InvalidArgument("/proc stat: no ')' after the command name");
  std::vector<std::string_view> fields;  // fields[0] is field 3 of proc(5), the state
  fields.reserve(50);
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) break;
    size_t end = rest.find_first_of(" \n", begin);
    fields.push_back(rest.substr(begin, end == std::string_view::npos ? rest.npos : end - begin));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  // proc(5) numbers the fields from 1: utime 14, stime 15, starttime 22, vsize 23, rss 24.
  auto field = [&](size_t number, const char* name, uint64_t* value) -> Status {
    if (fields.size() < number - 2 || !ToU64(fields[number - 3], value))
      return Status::InvalidArgument(std::string("/proc stat: field ") + std::to_string(number) +
                                     " (" + name + ") is not a number");
    return Status::OK();
  };
  uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  RETURN_IF_ERROR(field(14, "utime", &utime));
  RETURN_IF_ERROR(field(15, "stime", &stime));
  RETURN_IF_ERROR(field(22, "starttime", &start));
  RETURN_IF_ERROR(field(23, "vsize", &vsize));
  RETURN_IF_ERROR(field(24, "rss", &rss));
  if (ticks_per_second <= 0 || page_size <= 0)
    return Status::InvalidArgument("/proc stat: no clock ticks or page size");
  const auto ticks = static_cast<double>(ticks_per_second);
  out->cpu_seconds = static_cast<double>(utime + stime) / ticks;
  out->start_time_seconds = static_cast<double>(boot_time) + static_cast<double>(start) / ticks;
  out->virtual_bytes = vsize;
  out->resident_bytes = rss * static_cast<uint64_t>(page_size);
  return Status::OK();
}

Result<ProcessFigures> ReadProcessFigures() {
  ProcessFigures f;
  ASSIGN_OR_RETURN(std::string stat, ReadFile("/proc/self/stat"));
  ASSIGN_OR_RETURN(std::string system, ReadFile("/proc/stat"));
  uint64_t boot_time = 0;
  size_t at = system.find("\nbtime ");
  size_t end = at == std::string::npos ? at : system.find('\n', at + 1);
  if (at == std::string::npos ||
      !ToU64(std::string_view(system).substr(at + 7, end - (at + 7)), &boot_time))
    return Status::InvalidArgument("/proc/stat: no btime");
  RETURN_IF_ERROR(ParseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time, &f));
  std::error_code ec;
  uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), last; !ec && it != last;
       it.increment(ec))
    ++fds;
  if (!ec) f.open_fds = fds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    f.max_fds = limit.rlim_cur;
  return f;
}

}  // namespace amtsweg::report
