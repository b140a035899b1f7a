#include "engine/report/statistics.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "engine/core/engine.h"
#include "tests/report/expected.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

using testing::Expected;
using testing::ExpectedFigures;
using testing::Key;
using testing::SampleEvents;
using testing::SampleStore;

const SampleStore& Samples() {
  static const SampleStore* s = new SampleStore();
  return *s;
}

TEST(Statistics, FiguresOfTheSamplesPerMonthServiceAndRegion) {
  auto facts = CollectCaseFacts(Samples().store());
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  std::map<Key, Expected> expected = ExpectedFigures(Samples().store());
  ASSERT_FALSE(expected.empty());
  std::vector<Row> rows = Compute(*facts, Grouping{.month = true, .leika = true, .region = true});
  ASSERT_EQ(rows.size(), expected.size());
  uint64_t deemed = 0, within = 0, with_deadline = 0, decided = 0;
  for (const Row& r : rows) {
    SCOPED_TRACE(r.month + " " + r.leika + " " + r.region);
    auto it = expected.find({r.month, r.leika, r.region});
    ASSERT_NE(it, expected.end());
    const Expected& x = it->second;
    EXPECT_EQ(r.figures.opened, x.opened);
    EXPECT_EQ(r.figures.decided, x.decided);
    EXPECT_EQ(r.figures.decided_with_deadline, x.with_deadline);
    EXPECT_EQ(r.figures.within_deadline, x.within);
    EXPECT_EQ(r.figures.deemed_approvals, x.deemed);
    ASSERT_EQ(r.figures.median_lead_days.has_value(), x.Median().has_value());
    if (x.Median().has_value()) {
      EXPECT_DOUBLE_EQ(*r.figures.median_lead_days, *x.Median());
    }
    deemed += x.deemed;
    within += x.within;
    with_deadline += x.with_deadline;
    decided += x.decided;
  }
  // The samples exercise every figure: deemed approvals, deadlines met and missed.
  EXPECT_GT(deemed, 0u);
  EXPECT_GT(within, 0u);
  EXPECT_GT(with_deadline, within);
  EXPECT_GT(decided, with_deadline);  // the Gewerbeanmeldung has no legal deadline

  Figures total = Total(*facts);
  EXPECT_EQ(total.opened, facts->size());
  EXPECT_EQ(total.decided, decided);
  EXPECT_EQ(total.deemed_approvals, deemed);
}

TEST(Statistics, MonthlyExportOfTheSamples) {
  auto facts = CollectCaseFacts(Samples().store());
  ASSERT_TRUE(facts.ok());
  std::map<Key, Expected> expected = ExpectedFigures(Samples().store());
  std::map<std::string, std::map<std::pair<std::string, std::string>, uint64_t>> by_month;
  for (const auto& [key, x] : expected)
    if (x.opened > 0) by_month[std::get<0>(key)][{std::get<2>(key), std::get<1>(key)}] = x.opened;
  ASSERT_FALSE(by_month.empty());
  for (const auto& [month, counts] : by_month) {
    std::vector<ExportRow> rows = MonthlyExport(*facts, month);
    ASSERT_EQ(rows.size(), counts.size()) << month;
    std::string csv = "month,region_key,leika_key,count\r\n";
    for (const ExportRow& r : rows) {
      EXPECT_EQ(r.month, month);
      auto it = counts.find({r.region, r.leika});
      ASSERT_NE(it, counts.end()) << month << " " << r.region << " " << r.leika;
      EXPECT_EQ(r.count, it->second);
      csv += month + "," + r.region + "," + r.leika + "," + std::to_string(r.count) + "\r\n";
    }
    EXPECT_EQ(ExportCsv(rows), csv);
    Result<Value> json = Value::ParseJson(ExportJson(rows));
    ASSERT_TRUE(json.ok());
    ASSERT_EQ(json->size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const Value& item = json->items()[i];
      EXPECT_EQ(item.size(), 4u);
      EXPECT_EQ(item["month"].as_string(), month);
      EXPECT_EQ(item["region_key"].as_string(), rows[i].region);
      EXPECT_EQ(item["leika_key"].as_string(), rows[i].leika);
      EXPECT_EQ(item["count"].as_int(), static_cast<int64_t>(rows[i].count));
    }
  }
  EXPECT_TRUE(MonthlyExport(*facts, "1999-01").empty());
  EXPECT_EQ(ExportJson({}), "[]");
}

// The cache, refreshed as the engine goes, ends with the same facts as one full collection; a
// refresh with nothing new reads no events.
TEST(Statistics, CacheRefreshedWhileTheEngineRuns) {
  testing::TempDir dir;
  Result<testing::Shipped> shipped = testing::LoadShipped();
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  auto st = store::Store::Open(dir.path() + "/data");
  ASSERT_TRUE(st.ok());
  ManualClock clock(0);
  core::Engine engine(**st, shipped->registry, *shipped->directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  testing::MemorySink sink;
  FactsCache cache;
  size_t refreshes = 0;
  for (const std::string& file : testing::SampleFiles()) {
    auto src = connectors::FileSource::Open(file, 256 * 1024);
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE(engine
                    .Drain(**src, &sink, 3,
                           [&](const core::EngineStats&) {
                             ASSERT_TRUE(cache.Refresh(**st).ok());
                             ++refreshes;
                           })
                    .ok());
  }
  ASSERT_TRUE(engine.AdvanceClock(*ParseTimestamp("2028-12-31T00:00:00Z")).ok());
  ASSERT_TRUE(cache.Refresh(**st).ok());
  ASSERT_TRUE(cache.Refresh(**st).ok());
  EXPECT_GT(refreshes, 10u);
  auto full = CollectCaseFacts(**st);
  ASSERT_TRUE(full.ok());
  std::vector<CaseFacts> cached = cache.Facts();
  ASSERT_EQ(cached.size(), full->size());
  for (size_t i = 0; i < cached.size(); ++i) {
    EXPECT_EQ(cached[i].workflow, (*full)[i].workflow);
    EXPECT_EQ(cached[i].region, (*full)[i].region);
    EXPECT_EQ(cached[i].opened_at, (*full)[i].opened_at);
    EXPECT_EQ(cached[i].closed_at, (*full)[i].closed_at);
    EXPECT_EQ(cached[i].outcome, (*full)[i].outcome);
    EXPECT_EQ(cached[i].deadlines_started, (*full)[i].deadlines_started);
    EXPECT_EQ(cached[i].deadlines_extended, (*full)[i].deadlines_extended);
    EXPECT_EQ(cached[i].deadlines_expired, (*full)[i].deadlines_expired);
  }
}

TEST(Statistics, FactsOfEventsNeedCaseOpenedFirst) {
  runtime::DomainEvent opened = runtime::MakeEvent(
      1, 1000, "",
      runtime::CaseOpened{.case_id = "",
                          .workflow = "w",
                          .version = 2,
                          .leika = "99000000000000",
                          .source = "",
                          .application = *Value::ParseJson(R"({"x":{"ags":"01002000"}})"),
                          .variables = Value()});
  runtime::DomainEvent closed = runtime::MakeEvent(
      2, 5000, "", runtime::CaseClosed{.outcome = "approved", .state = "fertig"});
  std::string a, b;
  runtime::EncodeEvent(opened, &a);
  runtime::EncodeEvent(closed, &b);
  Result<CaseFacts> f = FactsOfEvents({a, b});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->workflow, "w");
  EXPECT_EQ(f->version, 2);
  EXPECT_EQ(f->region, "01002000");
  EXPECT_EQ(f->opened_at, 1000);
  EXPECT_EQ(f->closed_at, 5000);
  EXPECT_TRUE(f->decided());
  EXPECT_FALSE(f->within_deadline());  // no deadline ran
  EXPECT_TRUE(FactsOfEvents({b}).status().IsCorruption());
  EXPECT_TRUE(FactsOfEvents({}).status().IsCorruption());
  EXPECT_TRUE(FactsOfEvents({"garbage"}).status().IsCorruption() ||
              !FactsOfEvents({"garbage"}).ok());
}

TEST(Statistics, RegionKey) {
  auto parse = [](std::string_view json) { return *Value::ParseJson(json); };
  EXPECT_EQ(RegionKeyOf(parse(R"({"betrieb":{"name":"x","ags":"01002000"}})")), "01002000");
  // The shallowest wins; an invalid key is skipped.
  EXPECT_EQ(RegionKeyOf(parse(R"({"a":{"b":{"ags":"01001000"}},"c":{"ags":"01003000"}})")),
            "01003000");
  EXPECT_EQ(RegionKeyOf(parse(R"({"a":{"ags":"1234"},"b":{"c":{"ags":"01004000"}}})")), "01004000");
  // An ARS names its municipality by digits 1-5 and 10-12 (Husum: ARS 010540056056, AGS
  // 01054056), also under the member name "ags".
  EXPECT_EQ(RegionKeyOf(parse(R"({"standort":{"ars":"010540056056"}})")), "01054056");
  EXPECT_EQ(RegionKeyOf(parse(R"({"standort":{"ags":"010540056056"}})")), "01054056");
  EXPECT_EQ(RegionKeyOf(parse(R"({"standort":{"ags":"17054056"}})")), "");  // no Land 17
  EXPECT_EQ(RegionKeyOf(parse(R"({"name":"nothing"})")), "");
  EXPECT_EQ(RegionKeyOf(Value()), "");
}

TEST(Statistics, MonthsAreGermanCivilTime) {
  EXPECT_EQ(MonthOf(*ParseTimestamp("2026-03-31T21:59:59Z")), "2026-03");
  EXPECT_EQ(MonthOf(*ParseTimestamp("2026-03-31T22:00:00Z")), "2026-04");  // CEST
  EXPECT_EQ(MonthOf(*ParseTimestamp("2026-12-31T23:00:00Z")), "2027-01");  // CET
  EXPECT_TRUE(IsMonth("2026-12"));
  EXPECT_FALSE(IsMonth("2026-13"));
  EXPECT_FALSE(IsMonth("2026-1"));
  EXPECT_FALSE(IsMonth("26-01-01"));
}

TEST(Statistics, MedianShareAndDecisions) {
  auto fact = [](Timestamp opened, Timestamp closed, std::string outcome, int started,
                 int expired) {
    CaseFacts f;
    f.workflow = "w";
    f.leika = "99000000000000";
    f.region = "01002000";
    f.opened_at = opened;
    f.closed_at = closed;
    f.outcome = std::move(outcome);
    f.deadlines_started = started;
    f.deadlines_expired = expired;
    return f;
  };
  constexpr Timestamp kDay = 86400000;
  Timestamp t0 = *ParseTimestamp("2026-05-04T10:00:00Z");
  std::vector<CaseFacts> facts = {
      fact(t0, t0 + 2 * kDay, "approved", 1, 0),          // within
      fact(t0, t0 + 4 * kDay, "rejected", 0, 0),          // no deadline
      fact(t0, t0 + 10 * kDay, "deemed_approved", 1, 1),  // missed
      fact(t0, t0 + 20 * kDay, "approved", 2, 0),         // within
      fact(t0, t0 + 1 * kDay, "withdrawn", 1, 0),         // not decided
      fact(t0, 0, "", 1, 0),                              // open
  };
  Figures f = Total(facts);
  EXPECT_EQ(f.opened, 6u);
  EXPECT_EQ(f.decided, 4u);
  ASSERT_TRUE(f.median_lead_days.has_value());
  EXPECT_DOUBLE_EQ(*f.median_lead_days, 7.0);  // (4 + 10) / 2
  EXPECT_EQ(f.decided_with_deadline, 3u);
  EXPECT_EQ(f.within_deadline, 2u);
  EXPECT_DOUBLE_EQ(*f.share_within_deadline(), 2.0 / 3.0);
  EXPECT_EQ(f.deemed_approvals, 1u);
  EXPECT_FALSE(Total({}).median_lead_days.has_value());
  EXPECT_FALSE(Total({}).share_within_deadline().has_value());
}

}  // namespace
}  // namespace amtsweg::report
