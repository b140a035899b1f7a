// /metrics as a serving process renders it (every optional part present: the engine's counters,
// the latency histogram, the webhook backlog, this binary's build and this process's figures)
// passes the Prometheus text-format check of tests/report/exposition_check.py (the Prometheus
// Python client's parser and promtool's lint rules).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "engine/report/monitor.h"
#include "tests/report/sample_store.h"
#include "tests/testing/shell.h"

namespace amtsweg::report {
namespace {

TEST(MetricsExposition, PassesThePrometheusTextFormatCheck) {
  testing::SampleStore samples;
  Monitor monitor(samples.store(), {}, std::chrono::milliseconds(0));
  monitor.Update(samples.stats(), 3);
  monitor.SetWebhookBacklog(2);
  monitor.latency().Observe(1500);
  monitor.latency().Observe(7000000);
  Result<std::string> metrics = monitor.Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  std::string path = samples.dir() + "/metrics.txt";
  std::ofstream(path) << *metrics;
  const char* python = std::getenv("AMTSWEG_PYTHON");
  amtsweg::testing::ShellResult r = amtsweg::testing::Shell(
      amtsweg::testing::ShellQuote(python != nullptr ? python : "python3") + " " +
      amtsweg::testing::ShellQuote(testing::kRepo + "/tests/report/exposition_check.py") + " " +
      amtsweg::testing::ShellQuote(path) +
      " amtsweg_build_info process_cpu_seconds_total process_resident_memory_bytes"
      " process_virtual_memory_bytes process_start_time_seconds process_open_fds"
      " process_max_fds amtsweg_batches_total amtsweg_outbox_backlog amtsweg_webhook_backlog"
      " amtsweg_batch_processing_seconds_bucket");
  EXPECT_EQ(r.code, 0) << r.output << "\n" << *metrics;
}

}  // namespace
}  // namespace amtsweg::report
