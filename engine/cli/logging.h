// The operational log on standard error (spdlog), as text or as JSON lines. Internal to the cli.
#pragma once

#include <string>

namespace amtsweg::cli {

// Makes the default spdlog logger write to standard error at `level` (trace, debug, info, warn,
// error, off) in `format`:
// - "text": `2026-12-01T21:03:24.123+01:00 info message` (local time with its UTC offset);
// - "json": one object a line, {"time":"2026-12-01T21:03:24.123+01:00","level":"info",
//   "logger":"amtsweg","message":"..."}, the time RFC 3339 in local time with its offset.
// Call once, from the main thread, before other threads log.
void SetUpLog(const std::string& level, const std::string& format);

}  // namespace amtsweg::cli
