// Monitor: the figures a serving process shows the public, kept current while an engine writes.
//
// Holds a FactsCache over the store and the engine's latest process counters. Metrics() and
// StatusPage() refresh the facts (reading only events added since) at most once per
// `min_refresh`, then render; both are thread-safe and may be called from HTTP worker threads
// while the engine thread calls Update() and feeds latency().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/core/engine_stats.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/registry.h"
#include "engine/report/latency.h"
#include "engine/report/metrics.h"
#include "engine/report/process_metrics.h"
#include "engine/report/statistics.h"
#include "engine/report/status_page.h"
#include "engine/store/store.h"

namespace amtsweg::report {

// Reads the process's figures at each scrape (ReadProcessFigures; a test passes fixed ones).
using ProcessReader = std::function<Result<ProcessFigures>()>;

class Monitor {
 public:
  // Borrows `store`, which must outlive the monitor. `page` gives the page's names; its as_of is
  // replaced by the time passed to StatusPage(). The metrics carry `build` (default: this
  // binary's BuildVersion and BuildCommit) and what `process` reads (left out when it fails).
  Monitor(const store::Store& store, StatusPageOptions page,
          std::chrono::milliseconds min_refresh = std::chrono::seconds(1),
          ProcessReader process = ReadProcessFigures, std::optional<BuildLabels> build = {});
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // The engine's counters after a batch (from the engine thread). Without any Update the
  // process counters are left out of the metrics (a serving process without an engine).
  void Update(const core::EngineStats& stats, uint64_t outbox_backlog);
  // Webhook deliveries waiting (left out of the metrics until set).
  void SetWebhookBacklog(uint64_t backlog);
  // Processing latency per batch, fed by the engine thread (see BatchLatencyRecorder).
  LatencyHistogram& latency() { return latency_; }

  // The Prometheus exposition text.
  Result<std::string> Metrics();
  // The public status page with "Stand" `as_of`.
  Result<std::string> StatusPage(Timestamp as_of);

 private:
  Status RefreshLocked();

  const store::Store& store_;
  const std::chrono::milliseconds min_refresh_;
  const ProcessReader process_;
  const BuildLabels build_;
  StatusPageOptions page_;
  LatencyHistogram latency_;

  std::mutex mu_;
  FactsCache cache_;                                                // guarded by mu_
  std::vector<CaseFacts> facts_;                                    // guarded by mu_
  uint64_t dead_letters_ = 0;                                       // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> refreshed_;  // guarded by mu_
  std::optional<core::EngineStats> stats_;                          // guarded by mu_
  uint64_t outbox_backlog_ = 0;                                     // guarded by mu_
  std::optional<uint64_t> webhook_backlog_;                         // guarded by mu_
};

// Names of services for the page: each definition's title by its LeiKa key (latest version).
std::map<std::string, std::string> ServiceNames(const dsl::Registry& registry);
// Names of municipalities for the page: the directory's `municipalities` by AGS.
std::map<std::string, std::string> RegionNames(const dsl::Directory& directory);

}  // namespace amtsweg::report
