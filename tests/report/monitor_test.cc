// Monitor: what a serving process renders equals what the pure functions render for the store.
#include "engine/report/monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/common/build_info.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

using testing::SampleStore;

// Fixed figures for the process metrics, so that a render can be compared with another.
ProcessFigures FixedProcess() {
  ProcessFigures p;
  p.cpu_seconds = 1.25;
  p.resident_bytes = 4096;
  p.virtual_bytes = 8192;
  p.start_time_seconds = 1767225600;
  p.open_fds = 9;
  p.max_fds = 1024;
  return p;
}
const BuildLabels kBuild{"0.1.0", "0123456789ab"};

TEST(MonitorTest, MetricsEqualTheStoreTotalsAndAddTheEngineCountersOnceUpdated) {
  SampleStore samples;
  Monitor monitor(samples.store(), {}, std::chrono::milliseconds(0), FixedProcess, kBuild);
  Result<StoreTotals> totals = ScanTotals(samples.store());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  MetricsInput input;
  input.totals = &*totals;
  ProcessFigures process = FixedProcess();
  input.process = &process;
  input.build = &kBuild;
  Result<std::string> metrics = monitor.Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(*metrics, RenderMetrics(input));
  EXPECT_EQ(metrics->find("amtsweg_events_consumed_total"), std::string::npos);

  monitor.Update(samples.stats(), 7);
  monitor.latency().Observe(1500);
  metrics = monitor.Metrics();
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(
      metrics->find("amtsweg_events_consumed_total " + std::to_string(samples.stats().inputs)),
      std::string::npos)
      << *metrics;
  EXPECT_NE(metrics->find("amtsweg_outbox_backlog 7"), std::string::npos);
  EXPECT_NE(metrics->find("amtsweg_batch_processing_seconds_count 1"), std::string::npos);
}

TEST(MonitorTest, MetricsCarryThisBinarysBuildAndThisProcesssFigures) {
  SampleStore samples;
  Monitor monitor(samples.store(), {}, std::chrono::milliseconds(0));
  Result<std::string> metrics = monitor.Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  std::string build = "amtsweg_build_info{version=\"" + std::string(BuildVersion()) +
                      "\",commit=\"" + std::string(BuildCommit()) + "\"} 1\n";
  EXPECT_NE(metrics->find(build), std::string::npos) << *metrics;
  EXPECT_FALSE(BuildCommit().empty());
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_start_time_seconds ",
                           "process_open_fds ", "process_max_fds "})
    EXPECT_NE(metrics->find(std::string("\n") + name), std::string::npos) << name;

  // A reader that fails leaves the process metrics out, nothing else.
  Monitor without(
      samples.store(), {}, std::chrono::milliseconds(0),
      [] { return Result<ProcessFigures>(Status::IOError("no /proc")); }, kBuild);
  metrics = without.Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(metrics->find("process_"), std::string::npos);
  EXPECT_NE(metrics->find("amtsweg_build_info{version=\"0.1.0\",commit=\"0123456789ab\"} 1"),
            std::string::npos);
}

TEST(MonitorTest, StatusPageEqualsTheRenderedFactsWithTheGivenStand) {
  SampleStore samples;
  StatusPageOptions options;
  options.service_names = {{"99050012104000", "Gewerbeanmeldung"}};
  Monitor monitor(samples.store(), options, std::chrono::milliseconds(0));
  Result<std::string> page = monitor.StatusPage(samples.advanced_to());
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  Result<std::vector<CaseFacts>> facts = CollectCaseFacts(samples.store());
  ASSERT_TRUE(facts.ok());
  options.as_of = samples.advanced_to();
  EXPECT_EQ(*page, RenderStatusPage(*facts, options));
  EXPECT_NE(page->find("Gewerbeanmeldung"), std::string::npos);
}

// While an engine writes the samples and reports its counters and batch latencies after each
// batch (its thread), the metrics and the status page are rendered on another thread (an HTTP
// worker's, in `amtsweg run --listen`); once the engine is done, the metrics are the store's
// figures with the last counters. The ThreadSanitizer stage of scripts/test runs this.
TEST(MonitorTest, RendersWhileAnEngineWritesAndUpdatesIt) {
  spdlog::set_level(spdlog::level::warn);  // the bad samples' dead letters are expected
  testing::TempDir tmp("amtsweg-monitor");
  Result<testing::Shipped> shipped = testing::LoadShipped();
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  auto st = store::Store::Open(tmp.path() + "/data");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  Monitor monitor(**st, {}, std::chrono::milliseconds(0), FixedProcess, kBuild);

  std::atomic<bool> engine_done{false};
  std::thread http([&] {
    for (int renders = 0; !engine_done.load() || renders < 2; ++renders) {
      Result<std::string> metrics = monitor.Metrics();
      EXPECT_TRUE(metrics.ok()) << metrics.status().ToString();
      Result<std::string> page = monitor.StatusPage(0);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
    }
  });
  core::EngineStats last_stats;
  uint64_t last_backlog = 0;
  {
    ManualClock clock(0);
    core::Engine engine(**st, shipped->registry, *shipped->directory, clock);
    Status opened = engine.Open();
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    BatchLatencyRecorder recorder(monitor.latency());
    testing::MemorySink sink;
    core::RunOptions run;
    run.batch_size = 5;  // many batches, many updates
    run.poll_wait = std::chrono::milliseconds(0);
    run.progress = [&](const core::EngineStats& stats) {
      last_stats = stats;
      last_backlog = engine.outbox_backlog();
      monitor.Update(stats, last_backlog);
      recorder(stats);
    };
    for (const std::string& file : testing::SampleFiles()) {
      auto source = connectors::FileSource::Open(file, 256 * 1024);
      EXPECT_TRUE(source.ok()) << source.status().ToString();
      if (!opened.ok() || !source.ok()) break;
      Status s = engine.Run(**source, &sink, run);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  engine_done = true;
  http.join();

  Result<StoreTotals> totals = ScanTotals(**st);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_FALSE(totals->workflows.empty());
  MetricsInput input;
  input.totals = &*totals;
  input.stats = &last_stats;
  input.outbox_backlog = last_backlog;
  input.latency = &monitor.latency();
  ProcessFigures process = FixedProcess();
  input.process = &process;
  input.build = &kBuild;
  Result<std::string> metrics = monitor.Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(*metrics, RenderMetrics(input));
}

}  // namespace
}  // namespace amtsweg::report
