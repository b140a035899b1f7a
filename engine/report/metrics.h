// Prometheus metrics of the engine, in the text exposition format (version 0.0.4).
//
// Two kinds of figures: the process's own counters (core::EngineStats, since this process
// started; Prometheus handles the reset at a restart) and figures of the store (StoreTotals,
// computed from the event log, so they count every case since the store was created and are the
// same after a restart). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/engine_stats.h"
#include "engine/report/latency.h"
#include "engine/report/process_metrics.h"
#include "engine/report/statistics.h"
#include "engine/store/store.h"

namespace amtsweg::report {

// Figures of one workflow (with its LeiKa key), summed over its cases in the store.
struct WorkflowTotals {
  std::string leika;
  uint64_t opened = 0;
  uint64_t open = 0;                       // not closed yet
  std::map<std::string, uint64_t> closed;  // by outcome
  uint64_t deadlines_started = 0;
  uint64_t deadlines_extended = 0;
  uint64_t deadlines_expired = 0;
  uint64_t deemed_approvals = 0;  // Genehmigungsfiktion (§42a VwVfG)
};

struct StoreTotals {
  std::map<std::string, WorkflowTotals> workflows;  // by workflow name
  uint64_t dead_letters = 0;                        // refused inputs stored (all time)
};

// Sums case facts by workflow. A serving process keeps a FactsCache and passes its Facts(), so
// that each scrape reads only what is new.
StoreTotals TotalsOf(const std::vector<CaseFacts>& facts, uint64_t dead_letters);
// The number of dead letters in the store (reads them all).
Result<uint64_t> CountDeadLetters(const store::Store& store);
// Reads every case's events and counts the dead letters: TotalsOf(CollectCaseFacts(store),
// CountDeadLetters(store)). For commands and start-up; it reads the whole event log.
Result<StoreTotals> ScanTotals(const store::Store& store);

// What the binary was built from (amtsweg::BuildVersion, BuildCommit).
struct BuildLabels {
  std::string version;
  std::string commit;
};

struct MetricsInput {
  const StoreTotals* totals = nullptr;        // required
  const core::EngineStats* stats = nullptr;   // optional: process counters left out when null
  uint64_t outbox_backlog = 0;                // Engine::outbox_backlog()
  std::optional<uint64_t> webhook_backlog;    // webhook deliveries waiting; left out when none
  const LatencyHistogram* latency = nullptr;  // optional: histogram left out when null
  const BuildLabels* build = nullptr;         // optional: amtsweg_build_info left out when null
  const ProcessFigures* process = nullptr;    // optional: process_* left out when null
};

// The exposition text: every family with # HELP and # TYPE, label values escaped.
std::string RenderMetrics(const MetricsInput& input);

// A label value escaped for the exposition format: backslash, double quote and line feed.
std::string EscapeLabelValue(std::string_view v);

}  // namespace amtsweg::report
