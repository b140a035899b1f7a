#include "engine/cli/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "engine/common/value.h"

namespace amtsweg::cli {

namespace {

// RFC 3339 in local time with milliseconds and the UTC offset, e.g. 2026-12-01T22:03:24.123+01:00.
std::string LocalRfc3339(spdlog::log_clock::time_point at) {
  const auto since_epoch = at.time_since_epoch();
  const std::time_t seconds = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  const long offset_minutes = local.tm_gmtoff / 60;
  const long abs_minutes = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(stamp + n, sizeof stamp - n, ".%03d%c%02ld:%02ld", static_cast<int>(millis),
                offset_minutes < 0 ? '-' : '+', abs_minutes / 60, abs_minutes % 60);
  return stamp;
}

// One JSON object a line: time, level, logger, message.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":";
    AppendJsonString(LocalRfc3339(msg.time), &line);
    line += ",\"level\":";
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(std::string_view(level.data(), level.size()), &line);
    line += ",\"logger\":";
    AppendJsonString(std::string_view(msg.logger_name.data(), msg.logger_name.size()), &line);
    line += ",\"message\":";
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), &line);
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void SetUpLog(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("amtsweg");
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace amtsweg::cli
