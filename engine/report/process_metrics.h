// The standard process metrics of Prometheus clients (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from Linux's /proc for this process. Thread-safe
// (reads files, keeps no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace amtsweg::report {

struct ProcessFigures {
  double cpu_seconds = 0;         // user + system CPU time
  uint64_t resident_bytes = 0;    // resident set size
  uint64_t virtual_bytes = 0;     // virtual memory size
  double start_time_seconds = 0;  // start of the process, seconds since the Unix epoch
  std::optional<uint64_t> open_fds;
  std::optional<uint64_t> max_fds;  // the soft limit; absent when unlimited
};

// Fills the figures of /proc/<pid>/stat's text `stat` (as proc(5) describes it), with the clock
// ticks per second, the page size and the boot time (seconds since the epoch, /proc/stat btime).
// InvalidArgument, naming the field, when the text is not such a line.
Status ParseProcStat(std::string_view stat, long ticks_per_second, long page_size,
                     uint64_t boot_time, ProcessFigures* out);

// This process's figures: /proc/self/stat, /proc/stat, /proc/self/fd and RLIMIT_NOFILE.
// IOError when /proc cannot be read (not Linux), InvalidArgument when a file is not as expected.
Result<ProcessFigures> ReadProcessFigures();

}  // namespace amtsweg::report
