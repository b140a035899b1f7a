// Monitor: what a serving process renders equals what the pure functions render for the store.
#include "engine/report/monitor.h"

#include <gtest/gtest.h>

#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

using testing::SampleStore;

TEST(MonitorTest, MetricsEqualTheStoreTotalsAndAddTheEngineCountersOnceUpdated) {
  SampleStore samples;
  Monitor monitor(samples.store(), {}, std::chrono::milliseconds(0));
  Result<StoreTotals> totals = ScanTotals(samples.store());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  MetricsInput input;
  input.totals = &*totals;
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

}  // namespace
}  // namespace amtsweg::report
