#include "engine/report/monitor.h"

#include <spdlog/spdlog.h>

#include "engine/common/build_info.h"

namespace amtsweg::report {

Monitor::Monitor(const store::Store& store, StatusPageOptions page,
                 std::chrono::milliseconds min_refresh, ProcessReader process,
                 std::optional<BuildLabels> build)
    : store_(store),
      min_refresh_(min_refresh),
      process_(std::move(process)),
      build_(build.has_value()
                 ? std::move(*build)
                 : BuildLabels{std::string(BuildVersion()), std::string(BuildCommit())}),
      page_(std::move(page)) {}

void Monitor::Update(const core::EngineStats& stats, uint64_t outbox_backlog) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = stats;
  outbox_backlog_ = outbox_backlog;
}

void Monitor::SetWebhookBacklog(uint64_t backlog) {
  std::lock_guard<std::mutex> lock(mu_);
  webhook_backlog_ = backlog;
}

Status Monitor::RefreshLocked() {
  auto now = std::chrono::steady_clock::now();
  if (refreshed_.has_value() && now - *refreshed_ < min_refresh_) return Status::OK();
  RETURN_IF_ERROR(cache_.Refresh(store_));
  ASSIGN_OR_RETURN(dead_letters_, CountDeadLetters(store_));
  facts_ = cache_.Facts();
  refreshed_ = now;
  return Status::OK();
}

Result<std::string> Monitor::Metrics() {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(RefreshLocked());
  StoreTotals totals = TotalsOf(facts_, dead_letters_);
  MetricsInput input;
  input.totals = &totals;
  input.stats = stats_.has_value() ? &*stats_ : nullptr;
  input.outbox_backlog = outbox_backlog_;
  input.webhook_backlog = webhook_backlog_;
  input.latency = stats_.has_value() ? &latency_ : nullptr;
  input.build = &build_;
  std::optional<ProcessFigures> process;
  if (process_) {
    Result<ProcessFigures> read = process_();
    if (read.ok())
      process = std::move(read).value();
    else
      spdlog::debug("process metrics left out: {}", read.status().ToString());
  }
  input.process = process.has_value() ? &*process : nullptr;
  return RenderMetrics(input);
}

Result<std::string> Monitor::StatusPage(Timestamp as_of) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(RefreshLocked());
  StatusPageOptions options = page_;
  options.as_of = as_of;
  return RenderStatusPage(facts_, options);
}

std::map<std::string, std::string> ServiceNames(const dsl::Registry& registry) {
  std::map<std::string, std::string> names;
  for (const dsl::Definition* def : registry.All()) {
    const dsl::Definition* latest = registry.Latest(def->name);
    if (latest != nullptr && !latest->leika.empty()) names[latest->leika] = latest->title;
  }
  return names;
}

std::map<std::string, std::string> RegionNames(const dsl::Directory& directory) {
  return {directory.municipalities().begin(), directory.municipalities().end()};
}

}  // namespace amtsweg::report
